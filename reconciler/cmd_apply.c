/*
 * cmd_apply.c: `flotilla apply`: make the live fleet what the manifests
 * say, with the calls a plan lists and no other writes.
 *
 * With a plan file, exactly that plan: each tenant it would change is read
 * again first, and one whose live fingerprint moved since the plan is
 * skipped and reported (exit 3). Without one, apply plans (as flotilla
 * plan does, same options) and asks before it acts, unless
 * --auto-approve. Either way it first holds the state file's lease, then
 * settles what an earlier run left unfinished (resume.c), then runs the
 * executor (executor.c).
 *
 * Exit: 0 converged (or nothing to do); 1 an error before anything ran; 3
 * some tenants failed or were skipped, the rest converged; 4 the plan had
 * blocked changes and nothing else failed.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "reconciler/reconciler.h"

const char CMD_APPLY_USAGE[] =
	"usage: flotilla apply [PLANFILE] [--auto-approve] [--parallel N] [--rate R]\n"
	"                      [--max-deletes N] [--continue-on-error] [--secrets-dir DIR]\n"
	"                      [--lock-timeout DURATION] [--op-timeout DURATION]\n"
	"                      [--format text|json] [--state FILE|URL] [--api-url URL]\n"
	"                      [--api-key-file FILE]\n"
	"                      [--repo DIR] [--ref REF] [--refresh MODE] [--select EXPR]\n"
	"                      [--changed-since SHA|last-applied] [--verbose]\n"
	"                      [--color auto|always|never]\n"
	"\n"
	"Make the live fleet what the manifests say. With PLANFILE (from flotilla plan\n"
	"--out), exactly that plan: a tenant whose live state changed since the plan is\n"
	"skipped and reported. Without it, plan first (the plan options are those of\n"
	"flotilla plan) and ask before acting.\n"
	"\n"
	"options:\n"
	"  --auto-approve        act without asking (needed when stdin is not a terminal)\n"
	"  --parallel N          tenants changed at once (default 8); writes to one project\n"
	"                        never overlap, and each waits for its operations\n"
	"  --rate R              requests per second for the whole run (default 10)\n"
	"  --max-deletes N       at most N project deletes (default: the fleet's\n"
	"                        maxDeletesPerRun); more are blocked\n"
	"  --continue-on-error   go on past a failed tenant (default: stop starting new\n"
	"                        ones; those in flight finish)\n"
	"  --secrets-dir DIR     write new role passwords and connection URIs there, one\n"
	"                        0600 file per tenant (docs/operations.md); without it\n"
	"                        they are dropped, and counted\n"
	"  --lock-timeout DUR    wait this long for another run's lease (default 0: fail\n"
	"                        at once, naming the holder)\n"
	"  --op-timeout DUR      how long one call's operations may run, counting the\n"
	"                        retries Neon makes of a failed one, and how long a\n"
	"                        project locked by operations (423) is waited out\n"
	"                        (default 10m)\n"
	"  --format FORMAT       text (default), or json: JSON-lines events on stdout\n"
	"  --color WHEN          text: the plan's and the summary's marks in colour: auto\n"
	"                        (default: on a terminal, unless NO_COLOR is set), always\n"
	"                        or never\n"
	"  --state FILE|URL      the state: a file (default: .flotilla/state.db) or a\n"
	"                        postgres:// URL; FLOTILLA_STATE sets it too\n"
	"  --api-url URL, --api-key-file FILE   as for flotilla refresh\n"
	"  --repo, --ref, --refresh, --select, --changed-since, --verbose   as for\n"
	"                        flotilla plan (without PLANFILE)\n"
	"  -h, --help            this help\n"
	"\n"
	"exit: 0 converged or nothing to do; 1 error; 3 some tenants failed or were\n"
	"skipped (the rest converged); 4 blocked changes and nothing else failed.\n";

typedef struct apply_opts {
	cli_opts o;
	const char *planfile;
	bool json, continue_on_error, color;
	int64_t op_timeout_s;
} apply_opts;

static int apply_opt(void *arg, int c, const char *value)
{
	apply_opts *a = arg;
	char *end = NULL;
	switch (c) {
	case 'c':
		a->continue_on_error = true;
		return 1;
	case 'D':
		/* 0 blocks every delete: the plan takes "above 0" as given */
		a->o.rq.max_deletes = strtoll(value, &end, 10);
		if (*end || a->o.rq.max_deletes < 0)
			return cli_fail("apply", "--max-deletes wants a count of 0 or more, not '%s'", value), -1;
		return 1;
	case 'O':
		if (unit_duration_parse(value, false, &a->op_timeout_s) != 0)
			return cli_fail("apply", "--op-timeout wants a duration like 30s or 5m, not '%s'", value), -1;
		return 1;
	default:
		return 0;
	}
}

static int parse(int argc, char **argv, apply_opts *a)
{
	static const struct option opts[] = {
		{"auto-approve", no_argument, NULL, OPT_AUTO_APPROVE},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"max-deletes", required_argument, NULL, 'D'},
		{"continue-on-error", no_argument, NULL, 'c'},
		{"op-timeout", required_argument, NULL, 'O'},
		{NULL, 0, NULL, 0},
	};
	memset(a, 0, sizeof(*a));
	cli_opts *o = &a->o;
	cli_opts_init(o);
	a->op_timeout_s = 600;
	const unsigned groups = CLI_API | CLI_COMMIT | CLI_PLAN | CLI_WRITE | CLI_COLOR;
	if (cli_opts_parse("apply", argc, argv, opts, groups, o, apply_opt, a) != EXIT_OK)
		return EXIT_ERROR;
	if (optind < argc)
		a->planfile = argv[optind++];
	if (cli_opts_extra("apply", argc, argv) != EXIT_OK)
		return EXIT_ERROR;
	if (a->planfile && o->planning)
		return cli_fail("apply", "a plan file is applied as it is: --repo, --ref, --refresh, --select and "
					 "--changed-since belong to planning");
	if (strcmp(o->format, "text") != 0 && strcmp(o->format, "json") != 0)
		return cli_fail("apply", "unknown format '%s': use text or json", o->format);
	a->json = strcmp(o->format, "json") == 0;
	a->color = !a->json && cli_color(o);
	return EXIT_OK;
}

static void print_summary(const exec_summary *s, const plan *p, int64_t elapsed_ms, bool color)
{
	exec_counts c;
	exec_summary_counts(s, &c);
	for (size_t i = 0; i < s->n; i++) {
		const exec_outcome *o = &s->v[i];
		if (o->status == EXEC_FAILED)
			printf("%s %s failed: %s%s%s%s\n", cli_mark('!', color).s, o->tenant, o->error ? o->error : "", o->request_id[0] ? " (request " : "",
			       o->request_id, o->request_id[0] ? ")" : "");
		else if (o->status == EXEC_SKIPPED)
			printf("%s %s skipped: %s\n", cli_mark('~', color).s, o->tenant, o->error ? o->error : "");
	}
	printf("Apply: %s created, %s updated, %s deleted, %s failed, %s skipped, %s blocked; "
	       "%s write calls (plan listed %s), %s polls, %s read-backs; %.1f s\n",
	       CLI_N(c.created), CLI_N(c.updated), CLI_N(c.deleted), CLI_N(s->failed), CLI_N(s->skipped), CLI_N(s->blocked), CLI_N(s->writes),
	       CLI_N(p->ncalls), CLI_N(s->polls), CLI_N(s->readbacks), (double)elapsed_ms / 1000.0);
	if (s->adopted)
		printf("Adopted: %s tenant%s whose project existed already (mapped to it, not created again)\n",
		       CLI_N(s->adopted), s->adopted == 1 ? "" : "s");
	if (c.provisioned)
		printf("Provisioning (request sent -> operations finished), %s tenants: p50 %s ms, p99 %s ms, "
		       "max %s ms\n", CLI_N(c.provisioned), CLI_N(c.p50_ms), CLI_N(c.p99_ms), CLI_N(c.max_ms));
	if (s->secrets_dropped)
		printf("Note: %s new secret%s (role passwords, connection URIs) %s not saved: no --secrets-dir; "
		       "reset a role's password in Neon when you need it\n",
		       CLI_N(s->secrets_dropped), s->secrets_dropped == 1 ? "" : "s",
		       s->secrets_dropped == 1 ? "was" : "were");
	if (s->stopped)
		printf("Stopped after the first failure; --continue-on-error goes on past one\n");
}

typedef struct resume_ctx {
	state *st;
	neon_client *c;
} resume_ctx;

static int settle_earlier(resume_ctx *r, const char *fleet)
{
	resume_stats rs;
	int rc = resume_run(r->st, r->c, fleet, &rs);
	if (rc != 0)
		return err_set(rc, "settling what an earlier run left unfinished: %s", err_msg());
	if (rs.resolved)
		fprintf(stderr, "apply: settled %s unfinished journal row%s of an earlier run (%s adopted, %s "
				"mapped, %s not run)\n",
			CLI_N(rs.resolved), rs.resolved == 1 ? "" : "s", CLI_N(rs.adopted), CLI_N(rs.mapped), CLI_N(rs.absent));
	return 0;
}

static int settle_hook(void *arg, const spec_fleet *f)
{
	return settle_earlier(arg, spec_fleet_name(f));
}

/* The plan made now, an earlier run's leftovers settled between loading
 * the fleet and planning (so the plan sees what it did); shown unless the
 * output is JSON. EXIT_OK, or EXIT_ERROR after printing why. */
static int plan_now(apply_opts *o, state *st, neon_client *client, planning *pl)
{
	resume_ctx rc0 = {st, client};
	o->o.rq.before_refresh = settle_hook;
	o->o.rq.hook_arg = &rc0;
	if (planning_run(&o->o.rq, st, client, pl) != 0) {
		cli_planning_fail("apply", pl);
		cli_note_uncommitted("apply", pl, o->o.rq.ref);
		return EXIT_ERROR;
	}
	cli_note_uncommitted("apply", pl, o->o.rq.ref);
	if (state_meta_set(st, "fleet", spec_fleet_name(pl->fl.fleet)) != 0)
		log_warn("apply: cannot record the fleet's name", "error", err_msg());
	if (!o->json) {
		buf text = BUF_INIT(0);
		plan_render_opts ro = PLAN_RENDER_OPTS_INIT;
		ro.color = o->color;
		if (plan_render_text(pl->p, &ro, &text) == 0)
			fwrite(text.data ? text.data : "", 1, text.len, stdout);
		buf_release(&text);
		fflush(stdout);
	}
	return EXIT_OK;
}

/*
 * A saved plan, checked before it acts: made at this state generation (a
 * plan is applied once, and never after another apply or an adopt changed
 * what it was made against), an earlier run's leftovers settled, each
 * tenant it changes read again and each create's name searched (stale:
 * tenant -> why it is skipped). EXIT_OK, or EXIT_ERROR after printing why.
 */
static int read_planfile(const char *path, state *st, neon_client *client, strmap *stale, plan **out)
{
	int64_t gen = 0;
	if (plan_file_read(out, path) != 0 || state_generation(st, &gen) != 0)
		return cli_fail("apply", "%s", err_msg());
	const plan *p = *out;
	if (gen != p->state_generation)
		return cli_fail("apply", "'%s' was made at state generation %lld, and the state is at %lld: it was "
					 "applied already, or another apply ran since; nothing was done. Plan again",
				path, (long long)p->state_generation, (long long)gen);
	neon_client_set_org(client, p->org_id); /* searches must name it */
	resume_ctx rc0 = {st, client};
	if (settle_earlier(&rc0, p->fleet) != 0 || planfile_check(st, client, p, stale) != 0)
		return cli_fail("apply", "%s", err_msg());
	return EXIT_OK;
}

int cmd_apply(int argc, char **argv)
{
	apply_opts o;
	if (parse(argc, argv, &o) != EXIT_OK)
		return EXIT_ERROR;
	if (!o.planfile && !o.o.auto_approve && !isatty(STDIN_FILENO))
		return cli_fail("apply", "stdin is not a terminal, so apply cannot ask; pass --auto-approve, or apply a "
					 "plan file");
	if (o.o.secrets_dir && secrets_check_dir(o.o.secrets_dir) != 0)
		return cli_fail("apply", "%s", err_msg());

	state *st = NULL;
	neon_client *client = NULL;
	planning pl;
	memset(&pl, 0, sizeof(pl));
	plan *filed = NULL;
	strmap *stale = strmap_new();
	exec_summary sum;
	memset(&sum, 0, sizeof(sum));
	cli_run run = CLI_RUN_INIT;
	int rc = EXIT_ERROR;
	char *summary = NULL;
	int64_t t0 = mono_ms();

	if (cli_state_open("apply", o.o.state_path, &st) != EXIT_OK)
		goto done;
	if (cli_lease_take("apply", st, o.o.lock_timeout_s, "--lock-timeout waits for it") != EXIT_OK)
		goto done;
	run.leased = true;
	/* a project locked by Neon's own operations (a compute starting for an
	 * application) is waited out as long as our own operations are */
	o.o.api.lock_wait_ms = o.op_timeout_s * 1000;
	if (cli_client_open("apply", &o.o.api, &client) != EXIT_OK)
		goto done;
	if (state_run_begin(st, "apply", &run.id) != 0) {
		cli_fail("apply", "%s", err_msg());
		goto done;
	}

	/* the plan: from the file, or made now */
	const plan *p;
	const char *fleet;
	if (o.planfile) {
		if (read_planfile(o.planfile, st, client, stale, &filed) != EXIT_OK)
			goto done;
		p = filed;
		fleet = filed->fleet;
	} else {
		if (plan_now(&o, st, client, &pl) != EXIT_OK)
			goto done;
		p = pl.p;
		fleet = spec_fleet_name(pl.fl.fleet);
		if (p->ncreate + p->nupdate + p->ndelete + p->nadopt == 0) {
			sum.blocked = p->nblocked;
			summary = exec_summary_json(&sum, p);
			if (o.json)
				printf("%s\n", summary); /* a run always ends with its summary */
			else
				printf("No changes to apply.\n");
			run.outcome = p->nblocked ? "blocked" : "ok";
			rc = p->nblocked ? EXIT_BLOCKED : EXIT_OK;
			if (!p->nblocked)
				apply_record_commit(st, p);
			goto done;
		}
		if (!o.o.auto_approve && !cli_confirm("Apply these changes?")) {
			fprintf(stderr, "apply: not confirmed; nothing was changed\n");
			run.outcome = "cancelled";
			goto done;
		}
	}

	exec_opts eo = {.parallel = o.o.parallel, .op_timeout_ms = o.op_timeout_s * 1000,
			.continue_on_error = o.continue_on_error, .secrets_dir = o.o.secrets_dir, .run_id = run.id,
			.fleet = fleet, .json_events = o.json, .lease = "fleet", .skip = planfile_skip,
			.skip_arg = stale};
	if (sync_record_applying(st, p) != 0)
		log_warn("apply: cannot record the tenants' sync states", "error", err_msg());
	if (exec_apply(client, st, p, &eo, &sum) != 0) {
		cli_fail("apply", "%s", err_msg());
		goto done;
	}
	if (sync_record_applied(st, p, &sum) != 0)
		log_warn("apply: cannot record the tenants' sync states", "error", err_msg());
	if (!o.planfile)
		apply_record_protect(st, pl.fl.fleet);
	summary = exec_summary_json(&sum, p);
	if (o.json)
		printf("%s\n", summary);
	else
		print_summary(&sum, p, mono_ms() - t0, o.color);
	if (sum.failed || sum.skipped || sum.stopped) {
		rc = EXIT_PARTIAL;
		run.outcome = "partial";
	} else {
		rc = sum.blocked ? EXIT_BLOCKED : EXIT_OK;
		run.outcome = sum.blocked ? "blocked" : "ok";
		apply_record_commit(st, p);
	}
done:
	cli_run_end("apply", st, &run, summary ? summary : "{}");
	free(summary);
	exec_summary_release(&sum);
	strmap_free(stale);
	plan_free(filed);
	planning_release(&pl);
	neon_client_free(client);
	state_close(st);
	return rc;
}
