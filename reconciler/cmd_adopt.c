/*
 * cmd_adopt.c: `flotilla adopt TENANT [PROJECT_ID]` and `flotilla adopt
 * --all-matching`: take over projects that exist already, made by hand, by
 * a script, or by flotilla with a state file that was lost.
 *
 * It reads what claims the tenants from Neon (their names searched, or the
 * whole fleet listed for --all-matching, then the claimants' branches),
 * shows which project each tenant takes and why others are refused
 * (diff/adopt.c), asks, and then writes the owner branch that marks each
 * unmarked project (journaled like any write) and maps it. It ends with
 * the plan that would follow, offline. Nothing else is changed: the next
 * apply brings the adopted projects to their manifests.
 */
#include <getopt.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "reconciler/reconciler.h"

const char CMD_ADOPT_USAGE[] =
	"usage: flotilla adopt TENANT [PROJECT_ID] [options]\n"
	"       flotilla adopt --all-matching [--select EXPR] [options]\n"
	"       flotilla adopt --match PATTERN [options]\n"
	"\n"
	"Take over Neon projects that exist already, so that apply manages them\n"
	"instead of creating a second project for the tenant. A project is the\n"
	"tenant's when it carries its name (namePrefix + tenant) or flotilla's marks\n"
	"for it; with PROJECT_ID, that project, whatever its name (apply renames it).\n"
	"Projects marked by another fleet or for another tenant are never taken.\n"
	"Each project that carries no marks gets a branch 'flotilla-owner' (no\n"
	"compute) annotated for the fleet and tenant: Neon sets annotations only\n"
	"when a branch is made. Then the tenant is mapped, and the plan that follows\n"
	"is shown; apply makes it.\n"
	"\n"
	"options:\n"
	"  --all-matching        every tenant of the manifests with no project mapped\n"
	"                        whose name or marks one project carries (the whole\n"
	"                        fleet is listed); tenants nothing claims are left\n"
	"                        for apply to create\n"
	"  --select EXPR         with --all-matching: only these tenants (as for plan)\n"
	"  --match PATTERN       --all-matching --select name=PATTERN\n"
	"  --auto-approve        act without asking (needed when stdin is not a terminal)\n"
	"  --repo DIR, --ref REF the manifests (default: the current directory, HEAD)\n"
	"  --state FILE|URL      the state: a file (default: .flotilla/state.db) or a\n"
	"                        postgres:// URL; FLOTILLA_STATE sets it too\n"
	"  --parallel N          projects marked at once (default 8)\n"
	"  --rate R              requests per second (default 10)\n"
	"  --api-url URL, --api-key-file FILE   as for flotilla refresh\n"
	"  --color WHEN          the marks in colour: auto (default: on a terminal,\n"
	"                        unless NO_COLOR is set), always or never\n"
	"  -h, --help            this help\n"
	"\n"
	"exit: 0 adopted (or nothing to adopt); 1 error; 3 some marks failed (those\n"
	"tenants are not mapped); 4 a tenant could not be adopted (the reason is\n"
	"printed) and nothing else failed.\n";

typedef struct adopt_opts {
	cli_opts o;
	const char *tenant, *project_id, *match;
	char *select_buf;
	bool all, color;
} adopt_opts;

static int adopt_opt(void *arg, int c, const char *value)
{
	adopt_opts *a = arg;
	if (c != 'A' && c != 'M')
		return 0;
	/* --match: DESIGN.md's form, --all-matching over the names that match */
	a->all = true;
	if (c == 'M')
		a->match = value;
	return 1;
}

static int parse(int argc, char **argv, adopt_opts *a)
{
	static const struct option opts[] = {
		{"all-matching", no_argument, NULL, 'A'},
		{"match", required_argument, NULL, 'M'},
		{"select", required_argument, NULL, OPT_SELECT},
		{"auto-approve", no_argument, NULL, OPT_AUTO_APPROVE},
		{"parallel", required_argument, NULL, OPT_PARALLEL},
		{NULL, 0, NULL, 0},
	};
	memset(a, 0, sizeof(*a));
	cli_opts *o = &a->o;
	cli_opts_init(o);
	o->rq.ref = "HEAD";
	o->rq.mode = "none";
	if (cli_opts_parse("adopt", argc, argv, opts, CLI_API | CLI_COMMIT | CLI_COLOR, o, adopt_opt, a) != EXIT_OK)
		return EXIT_ERROR;
	a->color = cli_color(o);
	if (optind < argc)
		a->tenant = argv[optind++];
	if (optind < argc)
		a->project_id = argv[optind++];
	if (cli_opts_extra("adopt", argc, argv) != EXIT_OK)
		return EXIT_ERROR;
	if (a->all && a->tenant)
		return cli_fail("adopt", "give a TENANT or --all-matching, not both");
	if (!a->all && !a->tenant)
		return cli_fail("adopt", "which tenant? flotilla adopt TENANT [PROJECT_ID], or --all-matching");
	if (o->rq.select && !a->all)
		return cli_fail("adopt", "--select goes with --all-matching");
	if (a->match && o->rq.select)
		return cli_fail("adopt", "--match is --select name=PATTERN; give one of them");
	if (a->match)
		o->rq.select = a->select_buf = xasprintf("name=%s", a->match);
	return EXIT_OK;
}

/* Read what claims the tenants: by name (one tenant) or by a full list. */
static int read_claimants(const adopt_opts *o, state *st, neon_client *c, const spec_fleet *f)
{
	refresh_stats rs;
	memset(&rs, 0, sizeof(rs));
	if (o->all) {
		if (refresh_list(st, c, &rs) != 0)
			return cli_fail("adopt", "%s", err_msg());
		if (rs.incomplete)
			return cli_fail("adopt", "the list of the live fleet is incomplete (%s project%s Neon named "
					"unavailable could not be read; first: %s); run flotilla adopt again",
					CLI_N(rs.incomplete), rs.incomplete == 1 ? "" : "s", rs.first_error);
	} else {
		char *name = xasprintf("%s%s", spec_fleet_name_prefix(f), o->tenant);
		verify_found v;
		int rc = verify_fetch(st, c, &name, 1, o->project_id, &v);
		free(name);
		if (rc != 0)
			return cli_fail("adopt", "%s", err_msg());
		if (v.cut_short)
			return cli_fail("adopt", "a search for the tenant's name was cut short by Neon (projects it named "
					"unavailable could not be read); run flotilla adopt again");
	}
	size_t nread = 0;
	if (verify_read_unmapped(st, c, &rs, &nread) != 0)
		return cli_fail("adopt", "%s", err_msg());
	if (rs.deep_failed)
		fprintf(stderr, "adopt: %s project%s could not be read (first: %s); a tenant %s may claim is not "
			"adopted\n", CLI_N(rs.deep_failed), rs.deep_failed == 1 ? "" : "s", rs.first_error,
			rs.deep_failed == 1 ? "it" : "they");
	return EXIT_OK;
}

/* What adopt will do, one line per tenant that has something to say. */
static void show(const plan *p, bool color)
{
	for (size_t i = 0; i < p->nactions; i++) {
		const plan_action *a = &p->actions[i];
		char mark = a->kind == PLAN_ADOPT ? '=' : a->kind == PLAN_BLOCKED ? '!' : ' ';
		printf("%s %s: %s\n", cli_mark(mark, color).s, a->tenant, a->reason ? a->reason : "");
	}
	printf("Adopt: %s to adopt (%s call%s), %s refused, %s mapped already\n", CLI_N(p->nadopt),
	       CLI_N(p->ncalls), p->ncalls == 1 ? "" : "s", CLI_N(p->nblocked),
	       CLI_N(p->nnoop));
}

int cmd_adopt(int argc, char **argv)
{
	adopt_opts o;
	if (parse(argc, argv, &o) != EXIT_OK)
		return EXIT_ERROR;
	if (!o.o.auto_approve && !isatty(STDIN_FILENO)) {
		free(o.select_buf);
		return cli_fail("adopt", "stdin is not a terminal, so adopt cannot ask; pass --auto-approve");
	}
	state *st = NULL;
	neon_client *client = NULL;
	planning pl;
	memset(&pl, 0, sizeof(pl));
	plan *p = NULL;
	exec_summary sum;
	memset(&sum, 0, sizeof(sum));
	cli_run run = CLI_RUN_INIT;
	int rc = EXIT_ERROR;
	char summary[160];

	if (cli_state_open("adopt", o.o.state_path, &st) != EXIT_OK)
		goto done;
	if (cli_lease_take("adopt", st, 0, "wait for it, then adopt again") != EXIT_OK)
		goto done;
	run.leased = true;
	if (planning_load(&o.o.rq, st, &pl) != 0) {
		cli_planning_fail("adopt", &pl);
		goto done;
	}
	const spec_fleet *f = pl.fl.fleet;
	if (cli_client_open("adopt", &o.o.api, &client) != EXIT_OK)
		goto done;
	neon_client_set_org(client, spec_fleet_org_id(f));
	if (state_meta_set(st, "fleet", spec_fleet_name(f)) != 0 || state_run_begin(st, "adopt", &run.id) != 0) {
		cli_fail("adopt", "%s", err_msg());
		goto done;
	}
	/* an earlier run's unfinished writes first, as apply does */
	resume_stats rstats;
	if (resume_run(st, client, spec_fleet_name(f), &rstats) != 0) {
		cli_fail("adopt", "settling what an earlier run left unfinished: %s", err_msg());
		goto done;
	}
	if (read_claimants(&o, st, client, f) != EXIT_OK)
		goto done;
	adopt_input in = {.fleet = f, .st = st, .commit = source_commit(pl.g), .now = (int64_t)time(NULL),
			  .tenant = o.tenant, .project_id = o.project_id, .sel = pl.sel};
	if (plan_adopt(&p, &in) != 0) {
		cli_fail("adopt", "%s", err_msg());
		goto done;
	}
	show(p, o.color);
	if (p->nadopt && !o.o.auto_approve && !cli_confirm("Adopt these projects?")) {
		fprintf(stderr, "adopt: not confirmed; nothing was changed\n");
		run.outcome = "cancelled";
		goto done;
	}
	if (p->nadopt) {
		exec_opts eo = {.parallel = o.o.parallel, .op_timeout_ms = 600000, .continue_on_error = true,
				.run_id = run.id, .fleet = spec_fleet_name(f), .lease = "fleet"};
		if (exec_apply(client, st, p, &eo, &sum) != 0) {
			cli_fail("adopt", "%s", err_msg());
			goto done;
		}
		for (size_t i = 0; i < sum.n; i++)
			if (sum.v[i].status == EXEC_FAILED)
				printf("%s %s failed: %s%s%s%s\n", cli_mark('!', o.color).s, sum.v[i].tenant, sum.v[i].error ? sum.v[i].error : "",
				       sum.v[i].request_id[0] ? " (request " : "", sum.v[i].request_id,
				       sum.v[i].request_id[0] ? ")" : "");
		printf("Adopted: %s tenant%s mapped to %s project%s, %s mark%s written, %s failed\n",
		       CLI_N(sum.adopted), sum.adopted == 1 ? "" : "s", sum.adopted == 1 ? "its" : "their",
		       sum.adopted == 1 ? "" : "s", CLI_N(sum.writes), sum.writes == 1 ? "" : "s",
		       CLI_N(sum.failed));
	}
	/* what apply would do next: the cache as the marks left it, its
	 * creates checked against Neon as apply checks them */
	planning_release(&pl);
	if (planning_run(&o.o.rq, st, client, &pl) != 0) {
		cli_planning_fail("adopt", &pl);
		goto done;
	}
	buf text = BUF_INIT(0);
	plan_render_opts ro = PLAN_RENDER_OPTS_INIT;
	ro.color = o.color;
	if (plan_render_text(pl.p, &ro, &text) == 0) {
		printf("\nThe plan that follows (flotilla apply makes it):\n");
		fwrite(text.data ? text.data : "", 1, text.len, stdout);
	}
	buf_release(&text);
	if (sum.failed) {
		rc = EXIT_PARTIAL;
		run.outcome = "partial";
	} else {
		rc = p->nblocked ? EXIT_BLOCKED : EXIT_OK;
		run.outcome = p->nblocked ? "blocked" : "ok";
	}
done:
	snprintf(summary, sizeof(summary), "{\"adopted\":%lld,\"write_calls\":%lld,\"failed\":%zu,\"refused\":%zu}",
		 (long long)sum.adopted, (long long)sum.writes, sum.failed, p ? p->nblocked : 0);
	cli_run_end("adopt", st, &run, summary);
	exec_summary_release(&sum);
	plan_free(p);
	planning_release(&pl);
	neon_client_free(client);
	state_close(st);
	free(o.select_buf);
	return rc;
}
