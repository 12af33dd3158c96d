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
	"exit: 0 done; 1 an error (the cache keeps every page that completed, and\n"
	"nothing is dropped from it).\n";

typedef struct refresh {
	state *st;
	neon_client *c;
	const char *fleet;
	const char *prefix;
	bool rebuild;
	progress prog;
	int64_t deep_done, deep_failed;
	char first_error[600];
	/* --rebuild: tenant -> project id, or AMBIGUOUS when two claim it */
	strmap *claims;
	char **claim_keys;
	size_t nclaim_keys, capclaim_keys;
	int64_t other_fleet, unannotated;
} refresh;

static char AMBIGUOUS[] = "(ambiguous)";

/* --------------------------------------------------------- conversions */

static char *dump(const json_t *j)
{
	return j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
}

/* A page of neon projects as state rows; JSON texts are heap copies that
 * free_rows releases, other strings are borrowed from the page. */
static state_project *to_rows(const neon_project_page *page)
{
	state_project *rows = xcalloc(page->n ? page->n : 1, sizeof(*rows));
	for (size_t i = 0; i < page->n; i++) {
		const neon_project *p = &page->items[i];
		state_project *r = &rows[i];
		r->id = p->id;
		r->name = p->name;
		r->region_id = p->region_id;
		r->org_id = p->org_id;
		r->pg_version = p->pg_version;
		r->history_retention_seconds = p->history_retention_seconds;
		r->created_at = p->created_at;
		r->updated_at = p->updated_at;
		r->quota_active_time = p->quota.active_time_seconds;
		r->quota_compute_time = p->quota.compute_time_seconds;
		r->quota_written_data = p->quota.written_data_bytes;
		r->quota_data_transfer = p->quota.data_transfer_bytes;
		r->quota_logical_size = p->quota.logical_size_bytes;
		r->min_cu = p->min_cu;
		r->max_cu = p->max_cu;
		r->suspend_timeout_seconds = p->suspend_timeout_seconds;
		r->pg_settings_json = dump(p->pg_settings);
		r->allowed_ips_json = dump(p->allowed_ips);
		r->protected_branches_only = p->protected_branches_only;
		r->logical_replication = p->logical_replication;
		r->block_public_connections = p->block_public_connections;
		r->maintenance_window_json = dump(p->maintenance_window);
	}
	return rows;
}

static void free_rows(state_project *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].pg_settings_json);
		free(rows[i].allowed_ips_json);
		free(rows[i].maintenance_window_json);
	}
	free(rows);
}

static void to_deep(const neon_project_deep *nd, state_deep *sd, char ***owned, size_t *nowned)
{
	memset(sd, 0, sizeof(*sd));
	sd->branches = xcalloc(nd->nbranches ? nd->nbranches : 1, sizeof(*sd->branches));
	sd->endpoints = xcalloc(nd->nendpoints ? nd->nendpoints : 1, sizeof(*sd->endpoints));
	sd->databases = xcalloc(nd->ndatabases ? nd->ndatabases : 1, sizeof(*sd->databases));
	sd->roles = xcalloc(nd->nroles ? nd->nroles : 1, sizeof(*sd->roles));
	*owned = xcalloc(nd->nbranches ? nd->nbranches : 1, sizeof(char *));
	*nowned = 0;
	for (size_t i = 0; i < nd->nbranches; i++) {
		const neon_branch *b = &nd->branches[i];
		state_branch *s = &sd->branches[sd->nbranches++];
		s->id = b->id;
		s->name = b->name;
		s->parent_id = b->parent_id;
		s->is_default = b->is_default;
		s->protected_ = b->protected_;
		s->annotations_json = dump(b->annotations);
		(*owned)[(*nowned)++] = s->annotations_json;
		s->created_at = b->created_at;
		s->updated_at = b->updated_at;
	}
	for (size_t i = 0; i < nd->nendpoints; i++) {
		const neon_endpoint *e = &nd->endpoints[i];
		state_endpoint *s = &sd->endpoints[sd->nendpoints++];
		s->id = e->id;
		s->branch_id = e->branch_id;
		s->read_write = e->read_write;
		s->min_cu = e->min_cu;
		s->max_cu = e->max_cu;
		s->suspend_timeout_seconds = e->suspend_timeout_seconds;
		s->disabled = e->disabled;
		s->current_state = e->current_state;
		s->last_active = e->last_active;
	}
	for (size_t i = 0; i < nd->ndatabases; i++) {
		sd->databases[i].branch_id = nd->databases[i].branch_id;
		sd->databases[i].name = nd->databases[i].name;
		sd->databases[i].owner = nd->databases[i].owner_name;
	}
	sd->ndatabases = nd->ndatabases;
	for (size_t i = 0; i < nd->nroles; i++) {
		sd->roles[i].branch_id = nd->roles[i].branch_id;
		sd->roles[i].name = nd->roles[i].name;
	}
	sd->nroles = nd->nroles;
}

static void free_deep_rows(state_deep *sd, char **owned, size_t nowned)
{
	for (size_t i = 0; i < nowned; i++)
		free(owned[i]);
	free(owned);
	free(sd->branches);
	free(sd->endpoints);
	free(sd->databases);
	free(sd->roles);
}

/* ------------------------------------------------------------ list pass */

static void note_error(refresh *r, const char *fmt, const char *a, const char *b)
{
	if (!r->first_error[0])
		snprintf(r->first_error, sizeof(r->first_error), fmt, a, b);
}

/* Page the whole account into the cache. Returns 0, or -1 after a message. */
static int list_pass(refresh *r, int64_t *projects, int64_t *calls, size_t *removed)
{
	state_refresh *sr = NULL;
	if (state_refresh_begin(r->st, &sr) != 0)
		return cli_fail("refresh", "%s", err_msg()), -1;
	progress_start(&r->prog, "refresh: projects listed", state_project_count(r->st));
	char *cursor = NULL;
	int rc = 0;
	for (;;) {
		neon_project_page page;
		neon_result res;
		memset(&page, 0, sizeof(page));
		memset(&res, 0, sizeof(res));
		int prc = neon_projects_page(r->c, cursor, 400, NULL, false, &page, &res);
		(*calls)++;
		if (prc != 0) {
			cli_fail("refresh", "listing projects failed after %d attempt%s: %s (status %d, request %s)",
				 res.attempts, res.attempts == 1 ? "" : "s", res.message[0] ? res.message : err_msg(),
				 res.status, res.request_id[0] ? res.request_id : "-");
			neon_result_release(&res);
			rc = -1;
			break;
		}
		state_project *rows = to_rows(&page);
		int wrc = state_refresh_page(sr, rows, page.n);
		free_rows(rows, page.n);
		neon_result_release(&res);
		if (wrc != 0) {
			cli_fail("refresh", "writing the cache failed: %s", err_msg());
			neon_project_page_release(&page);
			rc = -1;
			break;
		}
		*projects += (int64_t)page.n;
		progress_update(&r->prog, *projects);
		free(cursor);
		cursor = page.next ? xstrdup(page.next) : NULL;
		neon_project_page_release(&page);
		if (!cursor)
			break;
		/* keep the lease alive through a long refresh */
		if (state_lease_renew(r->st, "fleet", 300) != 0)
			log_warn("refresh: cannot renew the lease", "error", err_msg());
	}
	free(cursor);
	progress_end(&r->prog);
	if (rc != 0) {
		state_refresh_abort(sr);
		return -1;
	}
	if (state_refresh_finish(sr, removed) != 0)
		return cli_fail("refresh", "finishing the refresh failed: %s", err_msg()), -1;
	return 0;
}

/* ------------------------------------------------------------ deep pass */

static void claim(refresh *r, const char *tenant, const char *project_id)
{
	const char *prev = strmap_get(r->claims, tenant);
	if (prev) {
		if (prev != AMBIGUOUS) {
			log_warn("rebuild: two projects claim one tenant; neither is mapped", "tenant", tenant,
				 "project", prev, "project", project_id);
			free((char *)prev);
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

/* The rebuild rule for one project's default branch annotations. */
static void judge(refresh *r, const char *project_id, const neon_project_deep *d)
{
	const neon_branch *def = NULL;
	for (size_t i = 0; i < d->nbranches && !def; i++)
		if (d->branches[i].is_default)
			def = &d->branches[i];
	const char *fleet = def ? json_string_value(json_object_get(def->annotations, "flotilla.fleet")) : NULL;
	const char *tenant = def ? json_string_value(json_object_get(def->annotations, "flotilla.tenant")) : NULL;
	if (!fleet || !tenant) {
		r->unannotated++;
		return;
	}
	if (strcmp(fleet, r->fleet) != 0) {
		r->other_fleet++;
		log_info("rebuild: project belongs to another fleet; left alone", "project", project_id, "fleet",
			 fleet);
		return;
	}
	claim(r, tenant, project_id);
}

static void on_deep(void *arg, const char *project_id, int rc, neon_project_deep *deep, const char *error)
{
	refresh *r = arg;
	if (rc != 0) {
		r->deep_failed++;
		note_error(r, "reading project '%s' failed: %s", project_id, error ? error : "unknown error");
		return;
	}
	state_deep sd;
	char **owned;
	size_t nowned;
	to_deep(deep, &sd, &owned, &nowned);
	state_project row;
	const char *updated = NULL;
	if (state_project_get(r->st, project_id, &row) == 0)
		updated = row.updated_at;
	if (state_deep_put(r->st, project_id, updated ? updated : "", &sd) != 0) {
		r->deep_failed++;
		note_error(r, "caching project '%s' failed: %s", project_id, err_msg());
	} else {
		r->deep_done++;
		if (r->rebuild)
			judge(r, project_id, deep);
	}
	if (updated)
		state_project_release(&row);
	free_deep_rows(&sd, owned, nowned);
	progress_update(&r->prog, r->deep_done + r->deep_failed);
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
	int lrc = state_lease_acquire(r.st, "fleet", 300, &held);
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
	if (state_meta_set(r.st, "fleet", r.fleet) != 0 || state_run_begin(r.st, "refresh", &run_id) != 0) {
		cli_fail("refresh", "%s", err_msg());
		goto done;
	}
	if (cli_client_open("refresh", &api, &r.c) != EXIT_OK)
		goto done;

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int64_t projects = 0, calls = 0;
	size_t removed = 0;
	if (list_pass(&r, &projects, &calls, &removed) != 0)
		goto done;

	/* deep reads: --rebuild candidates by name, --full every managed project */
	if (rebuild) {
		targets.prefix = r.prefix;
		if (state_projects_foreach(r.st, collect_named, &targets) != 0)
			goto done;
		r.claims = strmap_new();
	} else if (full) {
		if (state_tenants_foreach(r.st, collect_managed, &targets) != 0)
			goto done;
	}
	if (targets.n) {
		progress_start(&r.prog, "refresh: projects read deep", (int64_t)targets.n);
		for (size_t i = 0; i < targets.n; i++)
			neon_project_deep_submit(r.c, targets.ids[i], on_deep, &r);
		if (neon_run(r.c) != 0) {
			cli_fail("refresh", "%s", err_msg());
			goto done;
		}
		progress_end(&r.prog);
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
	if (targets.n)
		printf("; %lld read deep", (long long)r.deep_done);
	printf("\n");
	if (rebuild)
		printf("rebuild: %lld tenants mapped; %lld projects of other fleets left alone; %lld projects "
		       "without flotilla annotations left alone\n", (long long)mapped, (long long)r.other_fleet,
		       (long long)r.unannotated);
	if (r.deep_failed) {
		cli_fail("refresh", "%lld deep read%s failed; first: %s", (long long)r.deep_failed,
			 r.deep_failed == 1 ? "" : "s", r.first_error);
		goto done;
	}
	char summary[256];
	snprintf(summary, sizeof(summary),
		 "{\"projects\":%lld,\"list_calls\":%lld,\"gone\":%zu,\"deep\":%lld,\"mapped\":%lld}",
		 (long long)projects, (long long)calls, removed, (long long)r.deep_done, (long long)mapped);
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
	for (size_t i = 0; i < r.nclaim_keys; i++) {
		char *pid = strmap_get(r.claims, r.claim_keys[i]);
		if (pid != AMBIGUOUS)
			free(pid);
		free(r.claim_keys[i]);
	}
	free(r.claim_keys);
	strmap_free(r.claims);
	neon_client_free(r.c);
	state_close(r.st);
	spec_fleet_free(fleet);
	spec_diags_free(diags);
	return rc;
}
