/*
 * cmd_plan.c: `flotilla plan`: what apply would change, and the exact API
 * calls it would make.
 *
 * The manifests come from a commit (libgit2, no checkout), through the
 * parse cache in the state file so unchanged blobs are never parsed again.
 * The live side is the cache: --refresh auto lists the fleet again when
 * the cache is older than the fleet's refreshInterval, and reads deep the
 * managed projects that were never read deep or whose updated_at moved;
 * full does both for everything; none makes no API call at all. Planning
 * itself (diff/) is a pure function of the two.
 */
#include <getopt.h>
#include <string.h>
#include <time.h>

#include "diff/diff.h"
#include "reconciler/reconciler.h"

const char CMD_PLAN_USAGE[] =
	"usage: flotilla plan [--repo DIR] [--ref REF] [--refresh auto|full|none]\n"
	"                     [--select EXPR] [--out PLANFILE] [--format text|json|markdown]\n"
	"                     [--detailed-exitcode] [--state FILE|URL] [--api-url URL]\n"
	"                     [--api-key-file FILE] [--rate R] [--verbose]\n"
	"                     [--changed-since SHA|last-applied] [--color auto|always|never]\n"
	"                     [--full-plan-url URL]\n"
	"\n"
	"Compare the manifests at a commit with the live fleet (the state file's cache)\n"
	"and print what apply would do: creates, updates, deletes, blocked changes and\n"
	"orphans, each with the exact API calls it makes. Nothing is changed.\n"
	"\n"
	"options:\n"
	"  --repo DIR            the manifest repository (default: .)\n"
	"  --ref REF             branch, tag or sha to plan (default: HEAD); the working\n"
	"                        tree is ignored (uncommitted manifest changes get a\n"
	"                        note on stderr), and the plan names the commit\n"
	"  --refresh MODE        auto (default): list the fleet again when the cache is\n"
	"                        older than the fleet's refreshInterval, and read deep the\n"
	"                        managed projects never read deep or changed since (with\n"
	"                        --changed-since: the changed tenants' projects);\n"
	"                        full: list and read every managed project deep;\n"
	"                        none: no API call, plan from the cache as it is\n"
	"  --select EXPR         only some tenants: name=GLOB, label.KEY=VALUE,\n"
	"                        region=REGION, changed-since=SHA, joined by commas\n"
	"                        (all must hold)\n"
	"  --changed-since SHA   only the tenants changed since SHA (their files, their\n"
	"                        profiles; all when flotilla.yaml changed), loading only\n"
	"                        the changed files when the state file's manifest index\n"
	"                        is of SHA; last-applied: the commit the last apply\n"
	"                        converged\n"
	"  --out PLANFILE        also save the plan, checksummed, for flotilla apply\n"
	"  --format FORMAT       text (default), json (docs/plan-json.md) or markdown\n"
	"                        (a pull-request comment, at most 60,000 characters:\n"
	"                        update lines are cut first, then creates; blocked,\n"
	"                        delete and orphan sections are kept)\n"
	"  --full-plan-url URL   markdown: where the whole plan is (a CI run's page),\n"
	"                        named when the comment is cut (default: the CI log)\n"
	"  --color WHEN          text: the marks + ~ - ! in colour: auto (default: on a\n"
	"                        terminal, unless NO_COLOR is set), always or never\n"
	"  --detailed-exitcode   exit 0 no changes, 2 changes, 4 blocked changes, 1 error\n"
	"  --state FILE|URL      the state: a file (default: .flotilla/state.db) or a\n"
	"                        postgres:// URL; FLOTILLA_STATE sets it too\n"
	"  --api-url URL, --api-key-file FILE, --rate R   as for flotilla refresh\n"
	"  --verbose             also print what the load parsed and took from the cache\n"
	"  -h, --help            this help\n"
	"\n"
	"exit: 0 (without --detailed-exitcode, whatever the plan holds); 1 an error.\n";

typedef struct plan_opts {
	const char *out_path;
	const char *url; /* --full-plan-url */
	bool detailed;
} plan_opts;

/* A URL goes into the comment as it is: one line of printable ASCII,
 * http(s), and short enough to leave the plan room. */
#define PLAN_URL_MAX 2048
static bool url_ok(const char *u)
{
	if (!str_has_prefix(u, "https://") && !str_has_prefix(u, "http://"))
		return false;
	size_t n = 0;
	for (; u[n]; n++)
		if (u[n] <= ' ' || u[n] > '~')
			return false;
	return n <= PLAN_URL_MAX;
}

static int plan_opt(void *arg, int c, const char *value)
{
	plan_opts *po = arg;
	if (c == 'u' && !url_ok(value))
		return cli_fail("plan", "--full-plan-url wants an http:// or https:// URL of at most %d characters, "
				"without spaces, not '%.80s'", PLAN_URL_MAX, value), -1;
	if (c == 'o')
		po->out_path = value;
	else if (c == 'x')
		po->detailed = true;
	else if (c == 'u')
		po->url = value;
	return c == 'o' || c == 'x' || c == 'u';
}

int cmd_plan(int argc, char **argv)
{
	static const struct option opts[] = {
		{"out", required_argument, NULL, 'o'},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"detailed-exitcode", no_argument, NULL, 'x'},
		{"full-plan-url", required_argument, NULL, 'u'},
		{NULL, 0, NULL, 0},
	};
	plan_opts po = {.out_path = NULL, .url = NULL};
	cli_opts o;
	cli_opts_init(&o);
	if (cli_opts_parse("plan", argc, argv, opts, CLI_API | CLI_COMMIT | CLI_PLAN | CLI_COLOR, &o, plan_opt, &po) != EXIT_OK ||
	    cli_opts_extra("plan", argc, argv) != EXIT_OK)
		return EXIT_ERROR;
	const char *out_path = po.out_path;
	bool detailed = po.detailed;
	const char *format = o.format, *mode = o.rq.mode;
	if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0 && strcmp(format, "markdown") != 0)
		return cli_fail("plan", "unknown format '%s': use text, json or markdown", format);
	if (po.url && strcmp(format, "markdown") != 0)
		return cli_fail("plan", "--full-plan-url names where the whole plan is in a markdown comment: use it "
				"with --format markdown");
	plan_render_opts ro = PLAN_RENDER_OPTS_INIT;
	ro.color = strcmp(format, "text") == 0 && cli_color(&o);
	ro.full_plan_url = po.url;

	state *st = NULL;
	neon_client *client = NULL;
	planning pl;
	memset(&pl, 0, sizeof(pl));
	buf out = BUF_INIT(0);
	bool leased = false;
	int rc = EXIT_ERROR;

	if (cli_state_open("plan", o.state_path, &st) != EXIT_OK)
		goto done;
	if (strcmp(mode, "none") != 0) {
		if (cli_lease_take("plan", st, 0, "plan with --refresh=none to plan without it") != EXIT_OK)
			goto done;
		leased = true;
		if (cli_client_open("plan", &o.api, &client) != EXIT_OK)
			goto done;
	}
	if (planning_run(&o.rq, st, client, &pl) != 0) {
		cli_planning_fail("plan", &pl);
		cli_note_uncommitted("plan", &pl, o.rq.ref);
		goto done;
	}
	cli_note_uncommitted("plan", &pl, o.rq.ref);
	plan *p = pl.p;
	int r2;
	if (strcmp(format, "json") == 0)
		r2 = plan_render_json(p, &out);
	else if (strcmp(format, "markdown") == 0)
		r2 = plan_render_markdown(p, &ro, &out);
	else
		r2 = plan_render_text(p, &ro, &out);
	if (r2 != 0) {
		cli_fail("plan", "%s", err_msg());
		goto done;
	}
	fwrite(out.data ? out.data : "", 1, out.len, stdout);
	fflush(stdout); /* the plan first, then what was saved */
	if (out_path) {
		if (plan_file_write(p, out_path) != 0) {
			cli_fail("plan", "%s", err_msg());
			goto done;
		}
		fprintf(stderr, "plan saved to %s; apply it with: flotilla apply %s\n", out_path, out_path);
	}
	rc = EXIT_OK;
	if (detailed) {
		if (p->nblocked)
			rc = EXIT_BLOCKED;
		else if (p->ncreate || p->nupdate || p->ndelete || p->nadopt)
			rc = EXIT_CHANGES;
	}
done:
	if (leased && state_lease_drop(st, "fleet") != 0)
		log_warn("plan: cannot release the lease", "error", err_msg());
	buf_release(&out);
	planning_release(&pl);
	neon_client_free(client);
	state_close(st);
	return rc;
}
