/*
 * cmd_refresh.c: `flotilla refresh`: bring the state file's cache of the
 * live fleet up to date, list first (DESIGN.md "Refresh: list first").
 *
 * GET /projects?limit=400 pages the whole account into the cache, one
 * transaction a page: ceil(N/400) calls, plus at most one for an empty
 * last page. Projects the list no longer shows are dropped only when the
 * list completed. --full then reads the deep state (branches, endpoints,
 * databases, roles) of every managed project; --rebuild recovers the
 * tenant map of an empty state file from project names (the fleet's
 * namePrefix) and the annotations on each default branch, and never
 * claims a project annotated for another fleet.
 */
#include <getopt.h>
#include <string.h>
#include <time.h>

#include "reconciler/reconciler.h"

const char CMD_REFRESH_USAGE[] =
	"usage: flotilla refresh [--full] [--rebuild] [--dir DIR] [--state FILE]\n"
	"                        [--api-url URL] [--api-key-file FILE] [--rate R]\n"
	"\n"
	"Read the live fleet into the state file, list first: GET /projects 400 at a\n"
	"time (300,000 projects = 750 calls). Projects that are gone from Neon leave\n"
	"the cache once a list completes.\n"
	"\n"
	"options:\n"
	"  --full               also read every managed project's branches, endpoints,\n"
	"                       databases and roles (2 + 2 per branch calls a project)\n"
	"  --rebuild            recover the tenant map of an empty state file from\n"
	"                       project names (the fleet's namePrefix) and the\n"
	"                       flotilla.fleet / flotilla.tenant annotations of each\n"
	"                       default branch; a project annotated for another fleet\n"
	"                       is never claimed\n"
	"  --dir DIR            the manifest directory, for the fleet's name and prefix\n"
	"                       (default: .)\n"
	"  --state FILE         the state file (default: .flotilla/state.db)\n"
	"  --api-url URL        the API (default: $NEON_API_HOST, else\n"
	"                       https://console.neon.tech/api/v2)\n"
	"  --api-key-file FILE  read the API key from FILE (default: $NEON_API_KEY)\n"
	"  --rate R             requests per second (default 10)\n"
	"  -h, --help           this help\n"
	"\n"
	"A page of the list can be cut short: Neon names the projects whose details\n"
	"did not arrive in time as unavailable. Those are read one by one; when some\n"
	"still cannot be read, the refresh is incomplete: nothing leaves the cache,\n"
	"plans create nothing, and the exit code is 1.\n"
	"\n"
	"exit: 0 done; 1 an error or an incomplete list (the cache keeps every page\n"
	"that completed, and nothing is dropped from it).\n";

typedef struct refresh {
	state *st;
	neon_client *c;
	const char *fleet;
	const char *prefix;
	bool rebuild;
	refresh_stats stats;
	/* --rebuild: tenant -> project id, or AMBIGUOUS when two claim it */
	strmap *claims;
	char **claim_keys;
	size_t nclaim_keys, capclaim_keys;
	int64_t other_fleet, unannotated;
	char **left;        /* --rebuild: one line per project left alone, and why */
	size_t nleft;
} refresh;

static void left_alone(refresh *r, char *line)
{
	r->left = xrealloc(r->left, (r->nleft + 1) * sizeof(char *));
	r->left[r->nleft++] = line;
}

static char AMBIGUOUS[] = "(ambiguous)";

/* ------------------------------------------------------------ deep pass */

static void claim(refresh *r, const char *tenant, const char *project_id)
{
	const char *prev = strmap_get(r->claims, tenant);
	if (prev) {
		if (prev != AMBIGUOUS) {
			left_alone(r, xasprintf("%s: claims tenant '%s' as %s does; neither is mapped (keep one: "
						"flotilla adopt %s PROJECT_ID)", project_id, tenant, prev, tenant));
			free((char *)prev);
		} else {
			left_alone(r, xasprintf("%s: claims tenant '%s' as others do; none is mapped", project_id, tenant));
		}
		strmap_put(r->claims, tenant, AMBIGUOUS);
		return;
	}
	char *key = xstrdup(tenant);
	if (r->nclaim_keys == r->capclaim_keys)
		r->claim_keys = xgrow(r->claim_keys, &r->capclaim_keys, r->nclaim_keys + 1, sizeof(char *));
	r->claim_keys[r->nclaim_keys++] = key;
	strmap_put(r->claims, key, xstrdup(project_id));
}

/* The rebuild rule for one project: the marks on its default branch, or
 * on the owner branch `flotilla adopt` added. */
static void judge(refresh *r, const char *project_id, const neon_project_deep *d)
{
	const neon_branch *marked = NULL;
	for (size_t i = 0; i < d->nbranches && !marked; i++) {
		const neon_branch *b = &d->branches[i];
		bool owner = b->name && strcmp(b->name, OWNER_BRANCH) == 0 && json_object_get(b->annotations, "flotilla.owner");
		if ((b->is_default || owner) && json_string_value(json_object_get(b->annotations, "flotilla.fleet")))
			marked = b;
	}
	const char *fleet = marked ? json_string_value(json_object_get(marked->annotations, "flotilla.fleet")) : NULL;
	const char *tenant = marked ? json_string_value(json_object_get(marked->annotations, "flotilla.tenant")) : NULL;
	state_project p;
	char *name = state_project_get(r->st, project_id, &p) == 0 ? xstrdup(p.name) : xstrdup("?");
	if (strcmp(name, "?") != 0)
		state_project_release(&p);
	if (!fleet || !tenant) {
		r->unannotated++;
		const char *t = name + (strncmp(name, r->prefix, strlen(r->prefix)) == 0 ? strlen(r->prefix) : 0);
		left_alone(r, xasprintf("%s (named '%s'): no flotilla marks; if it is tenant '%s''s, flotilla adopt %s %s",
					project_id, name, t, t, project_id));
	} else if (strcmp(fleet, r->fleet) != 0) {
		r->other_fleet++;
		left_alone(r, xasprintf("%s (named '%s'): fleet '%s''s project; flotilla never touches it", project_id,
					name, fleet));
	} else {
		claim(r, tenant, project_id);
	}
	free(name);
}

static void on_deep(void *arg, const char *project_id, const neon_project_deep *deep)
{
	refresh *r = arg;
	if (r->rebuild)
		judge(r, project_id, deep);
}

typedef struct id_list {
	char **ids;
	size_t n, cap;
	const char *prefix;
} id_list;

static void id_add(id_list *l, const char *id)
{
	if (l->n == l->cap)
		l->ids = xgrow(l->ids, &l->cap, l->n + 1, sizeof(char *));
	l->ids[l->n++] = xstrdup(id);
}

static int collect_managed(void *arg, const state_tenant *t)
{
	id_add(arg, t->project_id);
	return 0;
}

/* --rebuild candidates: a name that is the prefix and a valid tenant name. */
static int collect_named(void *arg, const state_project *p)
{
	id_list *l = arg;
	size_t plen = strlen(l->prefix);
	if (strncmp(p->name, l->prefix, plen) == 0 && spec_tenant_name_valid(p->name + plen))
		id_add(l, p->id);
	return 0;
}

/* ----------------------------------------------------------------- main */

int cmd_refresh(int argc, char **argv)
{
	static const struct option opts[] = {
		{"full", no_argument, NULL, 'F'},
		{"rebuild", no_argument, NULL, 'R'},
		{"dir", required_argument, NULL, 'd'},
		{"state", required_argument, NULL, 's'},
		{"api-url", required_argument, NULL, 'u'},
		{"api-key-file", required_argument, NULL, 'k'},
		{"rate", required_argument, NULL, 'r'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = ".", *state_path = NULL;
	cli_api api = {0};
	bool full = false, rebuild = false;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'F': full = true; break;
		case 'R': rebuild = true; break;
		case 'd': dir = optarg; break;
		case 's': state_path = optarg; break;
		case 'u': api.url = optarg; break;
		case 'k': api.key_file = optarg; break;
		case 'r': {
			char *end;
			api.rate = strtod(optarg, &end);
			if (*end || api.rate <= 0 || api.rate > 10000)
				return cli_fail("refresh", "--rate wants requests per second above 0, like 10, not '%s'",
						optarg);
			break;
		}
		default:
			return cli_fail("refresh", "unknown option '%s' (see flotilla refresh --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_fail("refresh", "unexpected argument '%s'", argv[optind]);

	refresh r;
	memset(&r, 0, sizeof(r));
	r.rebuild = rebuild;
	spec_fleet *fleet = NULL;
	spec_diags *diags = spec_diags_new();
	id_list targets = {0};
	int64_t run_id = 0;
	bool leased = false;
	int rc = cli_load_dir("refresh", dir, &fleet, diags);
	if (rc != EXIT_OK)
		goto done;
	rc = EXIT_ERROR;
	if (spec_diags_count(diags)) {
		buf d = BUF_INIT(0);
		if (spec_diags_render_text(diags, &d) == 0)
			fwrite(d.data, 1, d.len, stderr);
		buf_release(&d);
		cli_fail("refresh", "the manifests in '%s' have problems (above); fix them first", dir);
		goto done;
	}
	r.fleet = spec_fleet_name(fleet);
	r.prefix = spec_fleet_name_prefix(fleet);
	if (cli_state_open("refresh", state_path, &r.st) != EXIT_OK)
		goto done;
	state_lease held;
	memset(&held, 0, sizeof(held));
	int lrc = cli_lease_acquire(r.st, "fleet", 300, &held);
	if (lrc == ERR_LOCKED) {
		char since[32];
		cli_age(held.acquired_at, since);
		cli_fail("refresh", "the state file is in use by pid %lld on %s (for %s); wait, or break a dead "
			 "holder's lease with flotilla unlock --force", (long long)held.pid, held.host, since);
		state_lease_release(&held);
		goto done;
	}
	if (lrc != 0) {
		cli_fail("refresh", "%s", err_msg());
		goto done;
	}
	leased = true;
	if (rebuild && state_tenant_count(r.st) > 0) {
		cli_fail("refresh", "--rebuild recovers the tenant map of an empty state file, and this one maps %lld "
			 "tenants; move it aside first", (long long)state_tenant_count(r.st));
		goto done;
	}
	char *owner = NULL;
	if (state_meta_get(r.st, "fleet", &owner) == 0 && owner && strcmp(owner, r.fleet) != 0) {
		cli_fail("refresh", "the state file belongs to fleet '%s', and the manifests in '%s' are fleet '%s'; a "
			 "state file serves one fleet: give this one its own (--state)", owner, dir, r.fleet);
		free(owner);
		goto done;
	}
	free(owner);
	if (state_meta_set(r.st, "fleet", r.fleet) != 0 || state_run_begin(r.st, "refresh", &run_id) != 0) {
		cli_fail("refresh", "%s", err_msg());
		goto done;
	}
	if (cli_client_open("refresh", &api, &r.c) != EXIT_OK)
		goto done;
	neon_client_set_org(r.c, spec_fleet_org_id(fleet));

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (refresh_list(r.st, r.c, &r.stats) != 0) {
		cli_fail("refresh", "%s", err_msg());
		goto done;
	}
	int64_t projects = r.stats.projects, calls = r.stats.list_calls;
	size_t removed = r.stats.gone;

	/* deep reads: --rebuild candidates by name, --full every managed project */
	if (rebuild) {
		targets.prefix = r.prefix;
		if (state_projects_foreach(r.st, collect_named, &targets) != 0) {
			cli_fail("refresh", "%s", err_msg());
			goto done;
		}
		r.claims = strmap_new();
	} else if (full) {
		if (state_tenants_foreach(r.st, collect_managed, &targets) != 0) {
			cli_fail("refresh", "%s", err_msg());
			goto done;
		}
	}
	if (refresh_deep(r.st, r.c, targets.ids, targets.n, on_deep, &r, &r.stats) != 0) {
		cli_fail("refresh", "%s", err_msg());
		goto done;
	}
	int64_t mapped = 0;
	for (size_t i = 0; rebuild && i < r.nclaim_keys; i++) {
		char *pid = strmap_get(r.claims, r.claim_keys[i]);
		if (pid == AMBIGUOUS)
			continue;
		if (state_tenant_put(r.st, r.claim_keys[i], pid, r.fleet, "rebuild") != 0) {
			cli_fail("refresh", "%s", err_msg());
			goto done;
		}
		mapped++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("refreshed %lld projects in %.1fs: %lld list call%s, %zu gone from Neon", (long long)projects, secs,
	       (long long)calls, calls == 1 ? "" : "s", removed);
	if (r.stats.unavailable)
		printf("; %lld named unavailable by the list, %lld of them read one by one",
		       (long long)r.stats.unavailable, (long long)r.stats.unavailable_read);
	if (targets.n)
		printf("; %lld read deep", (long long)r.stats.deep_done);
	printf("\n");
	if (rebuild) {
		printf("rebuild: %lld tenants mapped; %lld projects of other fleets left alone; %lld projects "
		       "without flotilla marks left alone\n", (long long)mapped, (long long)r.other_fleet,
		       (long long)r.unannotated);
		for (size_t i = 0; i < r.nleft; i++)
			printf("  left alone: %s\n", r.left[i]);
		int64_t others = (int64_t)state_project_count(r.st) - (int64_t)targets.n;
		if (others > 0)
			printf("  %lld other project%s %s not looked at: %s name%s not namePrefix ('%s') + a tenant name\n",
			       (long long)others, others == 1 ? "" : "s", others == 1 ? "was" : "were",
			       others == 1 ? "its" : "their", others == 1 ? " is" : "s are", r.prefix);
	}
	if (r.stats.incomplete) {
		cli_fail("refresh", "the list is incomplete: %lld project%s that Neon named unavailable could not be "
			 "read (first: %s); nothing was removed from the cache, and plans create nothing until a "
			 "refresh completes: run flotilla refresh again", (long long)r.stats.incomplete,
			 r.stats.incomplete == 1 ? "" : "s", r.stats.first_error);
		goto done;
	}
	if (r.stats.deep_failed) {
		cli_fail("refresh", "%lld deep read%s failed; first: %s", (long long)r.stats.deep_failed,
			 r.stats.deep_failed == 1 ? "" : "s", r.stats.first_error);
		goto done;
	}
	char summary[256];
	snprintf(summary, sizeof(summary),
		 "{\"projects\":%lld,\"list_calls\":%lld,\"gone\":%zu,\"deep\":%lld,\"mapped\":%lld}",
		 (long long)projects, (long long)calls, removed, (long long)r.stats.deep_done, (long long)mapped);
	if (state_run_finish(r.st, run_id, "ok", summary) != 0)
		log_warn("refresh: cannot record the run", "error", err_msg());
	run_id = 0;
	rc = EXIT_OK;
done:
	if (run_id && state_run_finish(r.st, run_id, "failed", NULL) != 0)
		log_warn("refresh: cannot record the run", "error", err_msg());
	if (leased && state_lease_drop(r.st, "fleet") != 0)
		log_warn("refresh: cannot release the lease", "error", err_msg());
	for (size_t i = 0; i < targets.n; i++)
		free(targets.ids[i]);
	free(targets.ids);
	/* values first, then the map, then the keys it borrows: a lookup
	 * probes past other keys, so none may be freed while the map is used */
	for (size_t i = 0; r.claims && i < r.nclaim_keys; i++) {
		char *pid = strmap_get(r.claims, r.claim_keys[i]);
		if (pid != AMBIGUOUS)
			free(pid);
	}
	strmap_free(r.claims);
	for (size_t i = 0; i < r.nleft; i++)
		free(r.left[i]);
	free(r.left);
	for (size_t i = 0; i < r.nclaim_keys; i++)
		free(r.claim_keys[i]);
	free(r.claim_keys);
	neon_client_free(r.c);
	state_close(r.st);
	spec_fleet_free(fleet);
	spec_diags_free(diags);
	return rc;
}
