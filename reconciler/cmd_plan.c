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
	"                     [--detailed-exitcode] [--state FILE] [--api-url URL]\n"
	"                     [--api-key-file FILE] [--rate R] [--verbose]\n"
	"                     [--changed-since SHA|last-applied]\n"
	"\n"
	"Compare the manifests at a commit with the live fleet (the state file's cache)\n"
	"and print what apply would do: creates, updates, deletes, blocked changes and\n"
	"orphans, each with the exact API calls it makes. Nothing is changed.\n"
	"\n"
	"options:\n"
	"  --repo DIR            the manifest repository (default: .)\n"
	"  --ref REF             branch, tag or sha to plan (default: HEAD); the working\n"
	"                        tree is ignored, and the plan names the commit\n"
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
	"                        (a pull-request comment, at most 60,000 characters)\n"
	"  --detailed-exitcode   exit 0 no changes, 2 changes, 4 blocked changes, 1 error\n"
	"  --state FILE          the state file (default: .flotilla/state.db)\n"
	"  --api-url URL, --api-key-file FILE, --rate R   as for flotilla refresh\n"
	"  --verbose             also print what the load parsed and took from the cache\n"
	"  -h, --help            this help\n"
	"\n"
	"exit: 0 (without --detailed-exitcode, whatever the plan holds); 1 an error.\n";

typedef struct id_set {
	char **ids;
	size_t n, cap;
} id_set;

static void id_push(id_set *s, const char *id)
{
	if (s->n == s->cap)
		s->ids = xgrow(s->ids, &s->cap, s->n + 1, sizeof(char *));
	s->ids[s->n++] = xstrdup(id);
}

static void id_clear(id_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->ids[i]);
	free(s->ids);
	memset(s, 0, sizeof(*s));
}

typedef struct deep_pick {
	state *st;
	id_set *out;
	bool all;
} deep_pick;

/* auto: a managed project never read deep, or changed since its deep read */
static int pick_deep(void *arg, const state_tenant *t)
{
	deep_pick *d = arg;
	state_project p;
	if (state_project_get(d->st, t->project_id, &p) != 0)
		return 0; /* not in the cache: gone from Neon, or the cache is older */
	bool stale = d->all || p.deep_at == 0 || !p.deep_updated_at ||
		     strcmp(p.deep_updated_at, p.updated_at ? p.updated_at : "") != 0;
	if (stale)
		id_push(d->out, p.id);
	state_project_release(&p);
	return 0;
}

int cmd_plan(int argc, char **argv)
{
	static const struct option opts[] = {
		{"repo", required_argument, NULL, 'R'},
		{"ref", required_argument, NULL, 'r'},
		{"refresh", required_argument, NULL, 'f'},
		{"select", required_argument, NULL, 'S'},
		{"changed-since", required_argument, NULL, 'C'},
		{"out", required_argument, NULL, 'o'},
		{"format", required_argument, NULL, 'F'},
		{"detailed-exitcode", no_argument, NULL, 'x'},
		{"state", required_argument, NULL, 's'},
		{"api-url", required_argument, NULL, 'u'},
		{"api-key-file", required_argument, NULL, 'k'},
		{"rate", required_argument, NULL, 'a'},
		{"verbose", no_argument, NULL, 'v'},
		{NULL, 0, NULL, 0},
	};
	const char *repo = ".", *ref = NULL, *mode = "auto", *select = NULL, *out_path = NULL;
	const char *format = "text", *state_path = NULL, *since = NULL;
	bool detailed = false, verbose = false;
	cli_api api = {0};
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'R': repo = optarg; break;
		case 'r': ref = optarg; break;
		case 'f': mode = optarg; break;
		case 'S': select = optarg; break;
		case 'C': since = optarg; break;
		case 'o': out_path = optarg; break;
		case 'F': format = optarg; break;
		case 'x': detailed = true; break;
		case 's': state_path = optarg; break;
		case 'u': api.url = optarg; break;
		case 'k': api.key_file = optarg; break;
		case 'v': verbose = true; break;
		case 'a': {
			char *end;
			api.rate = strtod(optarg, &end);
			if (*end || api.rate <= 0 || api.rate > 10000)
				return cli_fail("plan", "--rate wants requests per second above 0, like 10, not '%s'",
						optarg);
			break;
		}
		default:
			return cli_fail("plan", "unknown option '%s' (see flotilla plan --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_fail("plan", "unexpected argument '%s' (see flotilla plan --help)", argv[optind]);
	if (strcmp(mode, "auto") != 0 && strcmp(mode, "full") != 0 && strcmp(mode, "none") != 0)
		return cli_fail("plan", "--refresh must be auto, full or none, not '%s'", mode);
	if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0 && strcmp(format, "markdown") != 0)
		return cli_fail("plan", "unknown format '%s': use text, json or markdown", format);

	git_src *g = NULL;
	state *st = NULL;
	neon_client *client = NULL;
	fleet_load fl;
	memset(&fl, 0, sizeof(fl));
	char *last_applied = NULL;
	spec_diags *diags = spec_diags_new();
	plan_selector *sel = NULL;
	plan *p = NULL;
	buf out = BUF_INIT(0);
	id_set deep = {0};
	bool leased = false;
	int rc = EXIT_ERROR;

	if (select && plan_selector_parse(&sel, select) != 0) {
		cli_fail("plan", "%s", err_msg());
		goto done;
	}
	if (sel && plan_selector_changed_since(sel)) {
		if (since) {
			cli_fail("plan", "--changed-since and --select changed-since= both given; keep one");
			goto done;
		}
		since = plan_selector_changed_since(sel);
	}
	if (git_src_open(&g, repo, ref) != 0) {
		cli_fail("plan", "%s", err_msg());
		goto done;
	}
	if (cli_state_open("plan", state_path, &st) != EXIT_OK)
		goto done;
	if (since && strcmp(since, "last-applied") == 0) {
		if (state_meta_get(st, "last_applied_commit", &last_applied) != 0) {
			cli_fail("plan", "%s", err_msg());
			goto done;
		}
		if (!last_applied) {
			cli_fail("plan", "--changed-since last-applied: nothing has been applied from this state file yet; "
					 "plan without it");
			goto done;
		}
		since = last_applied;
	}
	if (fleet_load_commit(&fl, g, st, since, diags) != 0) {
		cli_fail("plan", "%s", err_msg());
		goto done;
	}
	const spec_fleet *fleet = fl.fleet;
	spec_load_stats stats = fl.stats;
	if (spec_diags_count(diags)) {
		buf d = BUF_INIT(0);
		if (spec_diags_render_text(diags, &d) == 0)
			fwrite(d.data, 1, d.len, stderr);
		buf_release(&d);
		cli_fail("plan", "the manifests at %.7s have %zu problem%s (above); nothing was planned",
			 git_src_commit(g), spec_diags_count(diags), spec_diags_count(diags) == 1 ? "" : "s");
		goto done;
	}
	if (sel && plan_selector_changed_since(sel))
		plan_select_changed(sel, (const char *const *)fl.only, fl.nonly);
	if (since && verbose)
		fprintf(stderr, "plan: %zu path%s changed since %.12s; %zu tenant%s considered (%s load)\n",
			fl.changed_files, fl.changed_files == 1 ? "" : "s", since, fl.nonly, fl.nonly == 1 ? "" : "s",
			fl.partial ? "partial" : "full");

	/* the live side */
	if (strcmp(mode, "none") != 0) {
		char *ts = NULL;
		int64_t refreshed = 0;
		if (state_meta_get(st, "list_refreshed_at", &ts) == 0 && ts && str_to_i64(ts, &refreshed) != 0)
			refreshed = 0;
		free(ts);
		int64_t age = (int64_t)time(NULL) - refreshed;
		bool list = strcmp(mode, "full") == 0 || refreshed == 0 || age >= spec_fleet_refresh_interval(fleet);
		state_lease held;
		memset(&held, 0, sizeof(held));
		int lrc = state_lease_acquire(st, "fleet", 300, &held);
		if (lrc == ERR_LOCKED) {
			cli_fail("plan", "the state file is in use by pid %lld on %s; wait, or plan with --refresh=none",
				 (long long)held.pid, held.host);
			state_lease_release(&held);
			goto done;
		}
		if (lrc != 0) {
			cli_fail("plan", "%s", err_msg());
			goto done;
		}
		leased = true;
		if (cli_client_open("plan", &api, &client) != EXIT_OK)
			goto done;
		refresh_stats rs;
		memset(&rs, 0, sizeof(rs));
		if (list && refresh_list(st, client, "plan", &rs) != 0)
			goto done;
		deep_pick pick = {.st = st, .out = &deep, .all = strcmp(mode, "full") == 0};
		int prc = 0;
		if (fl.only) {
			/* an incremental plan compares only the tenants whose desired
			 * spec changed: read each of those deep, and nothing else */
			pick.all = true;
			for (size_t i = 0; i < fl.nonly && prc == 0; i++) {
				state_tenant t;
				prc = state_tenant_get(st, fl.only[i], &t);
				if (prc == ERR_NOTFOUND) {
					prc = 0;
					continue;
				}
				if (prc == 0) {
					prc = pick_deep(&pick, &t);
					state_tenant_release(&t);
				}
			}
		} else {
			prc = state_tenants_foreach(st, pick_deep, &pick);
		}
		if (prc != 0) {
			cli_fail("plan", "%s", err_msg());
			goto done;
		}
		if (refresh_deep(st, client, "plan", deep.ids, deep.n, NULL, NULL, &rs) != 0)
			goto done;
		if (rs.deep_failed) {
			cli_fail("plan", "%lld deep read%s failed; first: %s", (long long)rs.deep_failed,
				 rs.deep_failed == 1 ? "" : "s", rs.first_error);
			goto done;
		}
		if (verbose)
			fprintf(stderr, "plan: refresh made %lld list call%s and %zu deep read%s\n",
				(long long)rs.list_calls, rs.list_calls == 1 ? "" : "s", deep.n, deep.n == 1 ? "" : "s");
	}

	plan_input in = {.fleet = fleet, .st = st, .commit = git_src_commit(g), .sel = sel,
			 .now = (int64_t)time(NULL), .only = (const char *const *)fl.only, .nonly = fl.nonly};
	/* one consistent view of the cache for the whole comparison */
	bool snap = state_read_begin(st) == 0;
	int brc = plan_build(&p, &in);
	if (snap)
		state_read_end(st);
	if (brc != 0) {
		cli_fail("plan", "%s", err_msg());
		goto done;
	}
	p->blobs_parsed = stats.parsed;
	p->blobs_cached = stats.cached;
	if (verbose)
		fprintf(stderr, "plan: %lld manifest files, %lld parsed, %lld from the parse cache\n",
			(long long)stats.files, (long long)stats.parsed, (long long)stats.cached);
	int r2;
	if (strcmp(format, "json") == 0)
		r2 = plan_render_json(p, &out);
	else if (strcmp(format, "markdown") == 0)
		r2 = plan_render_markdown(p, 60000, &out);
	else
		r2 = plan_render_text(p, &out);
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
		else if (p->ncreate || p->nupdate || p->ndelete)
			rc = EXIT_CHANGES;
	}
done:
	if (leased && state_lease_drop(st, "fleet") != 0)
		log_warn("plan: cannot release the lease", "error", err_msg());
	id_clear(&deep);
	buf_release(&out);
	plan_free(p);
	plan_selector_free(sel);
	neon_client_free(client);
	fleet_load_release(&fl);
	free(last_applied);
	spec_diags_free(diags);
	state_close(st);
	git_src_free(g);
	return rc;
}
