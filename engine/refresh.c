/*
 * refresh.c: the two passes that bring the state file's cache up to date,
 * shared by `flotilla refresh` and `flotilla plan --refresh`:
 *   - the list pass pages GET /projects 400 at a time into the cache, one
 *     transaction a page, reads one by one the projects a page named
 *     unavailable, and drops projects Neon no longer lists only once the
 *     list completed: a list that stayed incomplete removes nothing;
 *   - the deep pass reads chosen projects' branches, endpoints, databases
 *     and roles, many at once through the client's multi loop.
 * Both return an error code with err_msg; the caller says it.
 */
#include <string.h>

#include "engine/internal.h"

/* --------------------------------------------------------- conversions */

static char *dump(const json_t *j)
{
	return j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
}

/* A neon project as a state row: the field table's members from the
 * project's JSON by their API paths (diff_fields_from_json), the rest
 * here. JSON texts are heap copies (free_row, also after a failure),
 * other strings are borrowed. ERR_INVALID: a member of the wrong type. */
static int to_row(const neon_project *p, state_project *r)
{
	memset(r, 0, sizeof(*r));
	r->id = p->id;
	r->name = p->name;
	r->org_id = p->org_id;
	r->created_at = p->created_at;
	r->updated_at = p->updated_at;
	r->pg_settings_json = dump(p->pg_settings);
	r->allowed_ips_json = dump(p->allowed_ips);
	r->maintenance_window_json = dump(p->maintenance_window);
	/* activity and size, shown by the list, managed by no one */
	r->compute_last_active_at = (char *)json_string_value(json_object_get(p->json, "compute_last_active_at"));
	const json_t *size = json_object_get(p->json, "synthetic_storage_size");
	r->synthetic_storage_size = json_is_integer(size) ? json_integer_value(size) : -1;
	const json_t *active = json_object_get(p->json, "active_time");
	r->active_time = json_is_integer(active) ? json_integer_value(active) : -1;
	char where[160];
	snprintf(where, sizeof(where), "project %s", p->id);
	return diff_fields_from_json(r, p->json, where);
}

static void free_row(state_project *r)
{
	free(r->pg_settings_json);
	free(r->allowed_ips_json);
	free(r->maintenance_window_json);
}

static void free_rows(state_project *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free_row(&rows[i]);
	free(rows);
}

/* A page of neon projects as state rows (free_rows). */
static int to_rows(state_project **out, const neon_project_page *page)
{
	*out = NULL;
	state_project *rows = xcalloc(page->n ? page->n : 1, sizeof(*rows));
	for (size_t i = 0; i < page->n; i++) {
		int rc = to_row(&page->items[i], &rows[i]);
		if (rc != 0) {
			free_rows(rows, page->n);
			return rc;
		}
	}
	*out = rows;
	return 0;
}

static void endpoint_row(const neon_endpoint *e, state_endpoint *s)
{
	s->id = e->id;
	s->branch_id = e->branch_id;
	s->read_write = e->read_write;
	s->min_cu = e->min_cu;
	s->max_cu = e->max_cu;
	s->suspend_timeout_seconds = e->suspend_timeout_seconds;
	s->disabled = e->disabled;
	s->current_state = e->current_state;
	s->last_active = e->last_active;
	s->name = e->name;
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
	for (size_t i = 0; i < nd->nendpoints; i++)
		endpoint_row(&nd->endpoints[i], &sd->endpoints[sd->nendpoints++]);
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

/* The projects pages named unavailable, read one by one by id into the
 * refresh (they exist: a page only could not describe them in time). */
typedef struct unavailable_read {
	state_refresh *sr;
	refresh_stats *out;
	int64_t missing;
} unavailable_read;

static void on_unavailable(void *arg, neon_result *res)
{
	unavailable_read *u = arg;
	neon_project np;
	memset(&np, 0, sizeof(np));
	if (res->outcome == NEON_HTTP_ERROR && res->status == 404) {
		/* deleted since the page named it: gone, as a finished list says */
		u->out->unavailable_read++;
		return;
	}
	int rc = res->outcome == NEON_OK ? neon_project_parse(json_object_get(res->body, "project"),
							       "GET /projects/{id}: project", &np)
					 : ERR_FAIL;
	if (rc == 0) {
		state_project row;
		rc = to_row(&np, &row);
		if (rc == 0)
			rc = state_refresh_page(u->sr, &row, 1);
		free_row(&row);
	}
	if (rc == 0) {
		u->out->unavailable_read++;
	} else {
		u->missing++;
		if (!u->out->first_error[0])
			snprintf(u->out->first_error, sizeof(u->out->first_error), "%s",
				 res->outcome != NEON_OK ? res->message : err_msg());
	}
	neon_project_release(&np);
}

static int read_unavailable(neon_client *c, state_refresh *sr, char **ids, size_t n, refresh_stats *out,
			    int64_t *missing)
{
	unavailable_read u = {sr, out, 0};
	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("/projects/%s", ids[i]);
		neon_submit(c, "GET", path, NULL, false, on_unavailable, &u);
		free(path);
	}
	int rc = neon_run(c);
	*missing = u.missing;
	return rc;
}

/* How often a list refresh renews the lease it runs under. */
#define REFRESH_RENEW_MS 30000

int refresh_list(state *st, neon_client *c, refresh_stats *out)
{
	state_refresh *sr = NULL;
	engine__progress prog;
	int rc = state_refresh_begin(st, &sr);
	if (rc != 0)
		return rc;
	engine__progress_start(&prog, "refresh: projects listed", state_project_count(st));
	char *cursor = NULL;
	strmap *seen = strmap_new(); /* unavailable ids, each read once */
	char **unavailable = NULL;
	size_t nunavailable = 0, capunavailable = 0;
	int64_t renewed_ms = mono_ms();
	for (;;) {
		neon_project_page page;
		neon_result res;
		memset(&page, 0, sizeof(page));
		memset(&res, 0, sizeof(res));
		int prc = neon_projects_page(c, cursor, 400, NULL, false, &page, &res);
		out->list_calls++;
		if (prc != 0) {
			rc = err_set(prc, "listing projects failed after %d attempt%s: %s (status %d, request %s)",
				     res.attempts, res.attempts == 1 ? "" : "s", res.message[0] ? res.message : err_msg(),
				     res.status, res.request_id[0] ? res.request_id : "-");
			neon_result_release(&res);
			break;
		}
		state_project *rows;
		int wrc = to_rows(&rows, &page);
		neon_result_release(&res);
		if (wrc != 0) {
			rc = err_set(wrc, "listing projects failed: %s", err_msg());
			neon_project_page_release(&page);
			break;
		}
		wrc = state_refresh_page(sr, rows, page.n);
		free_rows(rows, page.n);
		if (wrc != 0) {
			rc = err_set(wrc, "writing the cache failed: %s", err_msg());
			neon_project_page_release(&page);
			break;
		}
		for (size_t i = 0; i < page.nunavailable; i++) {
			if (strmap_get(seen, page.unavailable[i]))
				continue;
			if (nunavailable == capunavailable)
				unavailable = xgrow(unavailable, &capunavailable, nunavailable + 1, sizeof(char *));
			unavailable[nunavailable] = page.unavailable[i];
			page.unavailable[i] = NULL;
			strmap_put(seen, unavailable[nunavailable], unavailable);
			nunavailable++;
		}
		out->projects += (int64_t)page.n;
		engine__progress_update(&prog, out->projects);
		free(cursor);
		cursor = page.next ? xstrdup(page.next) : NULL;
		neon_project_page_release(&page);
		if (!cursor)
			break;
		/* keep the lease alive through a long refresh, by the TTL its
		 * holder chose (a daemon's is short: one killed mid-refresh
		 * must not leave a long one), and not at every page: a renewal
		 * between pages waits for the page PostgreSQL writes meanwhile */
		if (mono_ms() - renewed_ms >= REFRESH_RENEW_MS) {
			if (state_lease_extend(st, "fleet") != 0)
				engine__warn("refresh: cannot renew the lease", "error", err_msg());
			renewed_ms = mono_ms();
		}
	}
	free(cursor);
	engine__progress_end(&prog);
	int64_t missing = 0;
	if (rc == 0 && nunavailable) {
		out->unavailable += (int64_t)nunavailable;
		rc = read_unavailable(c, sr, unavailable, nunavailable, out, &missing);
		out->projects += out->unavailable_read;
	}
	strmap_free(seen);
	for (size_t i = 0; i < nunavailable; i++)
		free(unavailable[i]);
	free(unavailable);
	if (rc != 0) {
		/* the abort must not hide why */
		char why[600];
		str_copy(why, err_msg(), sizeof(why));
		state_refresh_abort(sr);
		return err_set(rc, "%s", why);
	}
	if (missing) {
		/* nothing leaves the cache on the strength of a list that could
		 * not see everything, and plans create nothing until one does */
		out->incomplete = missing;
		return state_refresh_incomplete(sr, missing);
	}
	rc = state_refresh_finish(sr, &out->gone);
	if (rc != 0)
		return err_set(rc, "finishing the refresh failed: %s", err_msg());
	return 0;
}

/* ------------------------------------------------------------ deep pass */

typedef struct deep_ctx {
	state *st;
	refresh_stats *out;
	refresh_deep_fn fn;
	void *arg;
	engine__progress prog;
	char **missing;      /* projects a part of whose read was not found */
	size_t nmissing;
} deep_ctx;

static void deep_failed(deep_ctx *d, const char *project_id, const char *error)
{
	d->out->deep_failed++;
	if (!d->out->first_error[0])
		snprintf(d->out->first_error, sizeof(d->out->first_error), "reading project '%s' failed: %s", project_id,
			 error ? error : "unknown error");
}

static void on_deep(void *arg, const char *project_id, int rc, neon_project_deep *deep, const char *error)
{
	deep_ctx *d = arg;
	if (rc == ERR_NOTFOUND) { /* the project, or a branch of it, is gone: see below */
		d->missing = xrealloc(d->missing, (d->nmissing + 1) * sizeof(*d->missing));
		d->missing[d->nmissing++] = xstrdup(project_id);
		return;
	}
	if (rc != 0) {
		deep_failed(d, project_id, error);
		return;
	}
	state_deep sd;
	char **owned;
	size_t nowned;
	to_deep(deep, &sd, &owned, &nowned);
	state_project row;
	bool have_row = state_project_get(d->st, project_id, &row) == 0;
	if (state_deep_put(d->st, project_id, have_row ? row.updated_at : "", &sd) != 0) {
		d->out->deep_failed++;
		if (!d->out->first_error[0])
			snprintf(d->out->first_error, sizeof(d->out->first_error), "caching project '%s' failed: %s",
				 project_id, err_msg());
	} else {
		d->out->deep_done++;
		if (d->fn)
			d->fn(d->arg, project_id, deep);
	}
	if (have_row)
		state_project_release(&row);
	free_deep_rows(&sd, owned, nowned);
	engine__progress_update(&d->prog, d->out->deep_done + d->out->deep_failed);
}

int refresh_deep(state *st, neon_client *c, char *const *ids, size_t n, refresh_deep_fn fn,
		 void *arg, refresh_stats *out)
{
	if (!n)
		return 0;
	deep_ctx d = {.st = st, .out = out, .fn = fn, .arg = arg};
	engine__progress_start(&d.prog, "refresh: projects read deep", (int64_t)n);
	for (size_t i = 0; i < n; i++)
		neon_project_deep_submit(c, ids[i], on_deep, &d);
	int rc = neon_run(c);
	engine__progress_end(&d.prog);
	/* a 404 within a deep read: the project deleted since the list (drop
	 * it, as the next list would), or only a branch (a failed read) */
	for (size_t i = 0; i < d.nmissing; i++) {
		char path[160];
		neon_result r;
		memset(&r, 0, sizeof(r));
		snprintf(path, sizeof(path), "/projects/%s", d.missing[i]);
		int grc = rc == 0 ? neon_call(c, "GET", path, NULL, false, &r) : rc;
		if (grc == 0 && r.outcome == NEON_HTTP_ERROR && r.status == 404 && state_project_gone(st, d.missing[i]) == 0)
			out->deep_gone++;
		else
			deep_failed(&d, d.missing[i], "a part of it was not found (404), though the project is there; read "
				    "it again");
		neon_result_release(&r);
		free(d.missing[i]);
	}
	free(d.missing);
	return rc;
}

/* ----------------------------------------------- one project, after apply */

int cache_add_branch(state *st, const char *project_id, const json_t *branch, const json_t *annotations)
{
	state_deep d;
	int rc = state_deep_get(st, project_id, &d);
	if (rc != 0)
		return rc;
	neon_branch nb;
	memset(&nb, 0, sizeof(nb));
	char *ann = NULL;
	state_branch *v = NULL;
	if ((rc = neon_branch_parse(branch, "the branch create's branch", &nb)) == 0) {
		v = xcalloc(d.nbranches + 1, sizeof(*v));
		memcpy(v, d.branches, d.nbranches * sizeof(*v));
		state_branch *s = &v[d.nbranches];
		s->id = nb.id;
		s->name = nb.name;
		s->parent_id = nb.parent_id;
		s->is_default = nb.is_default;
		s->protected_ = nb.protected_;
		ann = dump(nb.annotations ? nb.annotations : annotations);
		s->annotations_json = ann;
		s->created_at = nb.created_at;
		s->updated_at = nb.updated_at;
		state_deep with = d;
		with.branches = v;
		with.nbranches = d.nbranches + 1;
		state_project row;
		bool have_row = state_project_get(st, project_id, &row) == 0;
		rc = state_deep_put(st, project_id, have_row ? row.updated_at : "", &with);
		if (have_row)
			state_project_release(&row);
	}
	free(v);
	free(ann);
	neon_branch_release(&nb);
	state_deep_release(&d);
	return rc;
}

/* What a tenant's write is, for what its response can tell the cache. */
typedef enum { W_PROJECT, W_ENDPOINT, W_ROLE, W_DATABASE, W_SCHEDULE, W_OTHER } write_kind;

static write_kind write_kind_of(const plan_call *c)
{
	if (strncmp(c->path, "/projects/", 10) != 0)
		return W_OTHER;
	const char *rest = strchr(c->path + 10, '/');
	bool patch = strcmp(c->method, "PATCH") == 0, post = strcmp(c->method, "POST") == 0;
	if (!rest)
		return patch ? W_PROJECT : W_OTHER;
	size_t n = strlen(rest);
	if (strcmp(c->method, "PUT") == 0 && n > 16 && strcmp(rest + n - 16, "/backup_schedule") == 0)
		return W_SCHEDULE; /* cached when its PUT answered (executor.c) */
	if (patch && strncmp(rest, "/endpoints/", 11) == 0 && !strchr(rest + 11, '/'))
		return W_ENDPOINT;
	const char *tail = post && strncmp(rest, "/branches/", 10) == 0 ? strchr(rest + 10, '/') : NULL;
	if (tail && strcmp(tail, "/roles") == 0)
		return W_ROLE;
	if (tail && strcmp(tail, "/databases") == 0)
		return W_DATABASE;
	return W_OTHER;
}

/* The writes' objects, parsed (their strings back the rows of `with`). */
typedef struct folded {
	neon_endpoint *endpoints;
	neon_role *roles;
	neon_database *databases;
	size_t nendpoints, nroles, ndatabases;
} folded;

static void folded_release(folded *f)
{
	for (size_t i = 0; i < f->nendpoints; i++)
		neon_endpoint_release(&f->endpoints[i]);
	for (size_t i = 0; i < f->nroles; i++)
		neon_role_release(&f->roles[i]);
	for (size_t i = 0; i < f->ndatabases; i++)
		neon_database_release(&f->databases[i]);
	free(f->endpoints);
	free(f->roles);
	free(f->databases);
}

/* Parse each write's object into f; ERR_INVALID when one is not a kind
 * this folds or its response lacks the object. */
static int fold_parse(const plan_calls *calls, json_t *const *bodies, folded *f)
{
	size_t n = calls->n ? calls->n : 1;
	f->endpoints = xcalloc(n, sizeof(*f->endpoints));
	f->roles = xcalloc(n, sizeof(*f->roles));
	f->databases = xcalloc(n, sizeof(*f->databases));
	for (size_t i = 0; i < calls->n; i++) {
		write_kind k = write_kind_of(&calls->v[i]);
		const json_t *b = bodies ? bodies[i] : NULL;
		int rc = 0;
		if (k == W_SCHEDULE)
			continue;
		if (k == W_OTHER || !b)
			return err_set(ERR_INVALID, "%s %s: its response does not hold what the cache keeps",
				       calls->v[i].method, calls->v[i].path);
		if (k == W_ENDPOINT &&
		    (rc = neon_endpoint_parse(json_object_get(b, "endpoint"), "the endpoint update's endpoint",
					      &f->endpoints[f->nendpoints])) == 0)
			f->nendpoints++;
		else if (k == W_ROLE && (rc = neon_role_parse(json_object_get(b, "role"), "the role create's role",
								&f->roles[f->nroles])) == 0)
			f->nroles++;
		else if (k == W_DATABASE &&
			 (rc = neon_database_parse(json_object_get(b, "database"), "the database create's database",
						   &f->databases[f->ndatabases])) == 0)
			f->ndatabases++;
		else if (k == W_PROJECT && !json_is_object(json_object_get(b, "project")))
			rc = err_set(ERR_INVALID, "the project update's response holds no project");
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* d's rows with f's objects put in: an updated endpoint replaces its own
 * row, a new role or database is added. ERR_INVALID when an updated
 * endpoint is not in the cache (nothing to replace: read it back). */
static int fold_rows(const state_deep *d, const folded *f, state_deep *with)
{
	*with = *d;
	with->endpoints = xcalloc(d->nendpoints ? d->nendpoints : 1, sizeof(state_endpoint));
	memcpy(with->endpoints, d->endpoints, d->nendpoints * sizeof(state_endpoint));
	with->roles = xcalloc(d->nroles + f->nroles + 1, sizeof(state_role));
	memcpy(with->roles, d->roles, d->nroles * sizeof(state_role));
	with->databases = xcalloc(d->ndatabases + f->ndatabases + 1, sizeof(state_database));
	memcpy(with->databases, d->databases, d->ndatabases * sizeof(state_database));
	for (size_t i = 0; i < f->nendpoints; i++) {
		size_t k = 0;
		while (k < d->nendpoints && strcmp(d->endpoints[k].id, f->endpoints[i].id) != 0)
			k++;
		if (k == d->nendpoints)
			return err_set(ERR_INVALID, "endpoint %s is not in the cache", f->endpoints[i].id);
		endpoint_row(&f->endpoints[i], &with->endpoints[k]);
	}
	for (size_t i = 0; i < f->nroles; i++)
		with->roles[with->nroles++] = (state_role){f->roles[i].branch_id, f->roles[i].name};
	for (size_t i = 0; i < f->ndatabases; i++)
		with->databases[with->ndatabases++] =
			(state_database){f->databases[i].branch_id, f->databases[i].name, f->databases[i].owner_name};
	return 0;
}

/* Only the project's own fields changed: they are stored, and its deep
 * read (if any) stays current, without rewriting the deep rows. */
static bool project_only(const plan_calls *calls)
{
	for (size_t i = 0; i < calls->n; i++)
		if (write_kind_of(&calls->v[i]) != W_PROJECT)
			return false;
	return calls->n > 0;
}

int cache_apply_writes(state *st, const char *project_id, const plan_calls *calls, json_t *const *bodies)
{
	folded f;
	memset(&f, 0, sizeof(f));
	state_deep d, with;
	memset(&d, 0, sizeof(d));
	memset(&with, 0, sizeof(with));
	int rc = fold_parse(calls, bodies, &f);
	if (rc == 0 && project_only(calls)) {
		rc = cache_store_project(st, json_object_get(bodies[calls->n - 1], "project"), true);
		folded_release(&f);
		return rc;
	}
	/* children folded into a deep state never read would be taken for
	 * the whole of it */
	state_project known;
	if (rc == 0 && (rc = state_project_get(st, project_id, &known)) == 0) {
		if (known.deep_at == 0)
			rc = err_set(ERR_INVALID, "project %s was never read deep", project_id);
		state_project_release(&known);
	}
	if (rc == 0)
		rc = state_deep_get(st, project_id, &d);
	if (rc == 0)
		rc = fold_rows(&d, &f, &with);
	/* the project's own fields first: the deep read is then recorded
	 * against the updated_at the last update gave it */
	for (size_t i = 0; rc == 0 && i < calls->n; i++)
		if (write_kind_of(&calls->v[i]) == W_PROJECT)
			rc = cache_store_project(st, json_object_get(bodies[i], "project"), false);
	if (rc == 0) {
		state_project row;
		bool have_row = state_project_get(st, project_id, &row) == 0;
		rc = state_deep_put(st, project_id, have_row ? row.updated_at : "", &with);
		if (have_row)
			state_project_release(&row);
	}
	free(with.endpoints);
	free(with.roles);
	free(with.databases);
	state_deep_release(&d);
	folded_release(&f);
	return rc;
}

int cache_store_project(state *st, const json_t *project, bool deep_current)
{
	neon_project np;
	memset(&np, 0, sizeof(np));
	int rc = neon_project_parse(project, "the response's project", &np);
	if (rc == 0) {
		state_project row;
		rc = to_row(&np, &row);
		if (rc == 0)
			rc = state_project_put(st, &row, deep_current);
		free_row(&row);
	}
	neon_project_release(&np);
	return rc;
}

/* The deep state a create's response describes: its branch (annotated as
 * the request asked), endpoints, databases and roles. */
static int created_deep(const json_t *resp, const json_t *request, neon_project_deep *d)
{
	memset(d, 0, sizeof(*d));
	const json_t *eps = json_object_get(resp, "endpoints");
	const json_t *dbs = json_object_get(resp, "databases");
	const json_t *roles = json_object_get(resp, "roles");
	d->branches = xcalloc(1, sizeof(*d->branches));
	d->endpoints = xcalloc(json_array_size(eps) + 1, sizeof(*d->endpoints));
	d->databases = xcalloc(json_array_size(dbs) + 1, sizeof(*d->databases));
	d->roles = xcalloc(json_array_size(roles) + 1, sizeof(*d->roles));
	int rc = neon_branch_parse(json_object_get(resp, "branch"), "the create's branch", &d->branches[0]);
	if (rc != 0)
		return rc;
	d->nbranches = 1;
	const json_t *ann = json_object_get(json_object_get(json_object_get(request, "project"), "branch"),
					    "annotations");
	if (!d->branches[0].annotations && json_is_object(ann))
		d->branches[0].annotations = json_deep_copy(ann);
	size_t i;
	json_t *m;
	json_array_foreach(eps, i, m) {
		if ((rc = neon_endpoint_parse(m, "the create's endpoints", &d->endpoints[d->nendpoints])) != 0)
			return rc;
		d->nendpoints++;
	}
	json_array_foreach(dbs, i, m) {
		if ((rc = neon_database_parse(m, "the create's databases", &d->databases[d->ndatabases])) != 0)
			return rc;
		d->ndatabases++;
	}
	json_array_foreach(roles, i, m) {
		if ((rc = neon_role_parse(m, "the create's roles", &d->roles[d->nroles])) != 0)
			return rc;
		d->nroles++;
	}
	return 0;
}

int cache_store_created(state *st, const json_t *response, const json_t *request)
{
	const json_t *project = json_object_get(response, "project");
	int rc = cache_store_project(st, project, false);
	if (rc != 0)
		return rc;
	neon_project_deep d;
	rc = created_deep(response, request, &d);
	if (rc == 0) {
		state_deep sd;
		char **owned;
		size_t nowned;
		to_deep(&d, &sd, &owned, &nowned);
		rc = state_deep_put(st, json_string_value(json_object_get(project, "id")),
				    json_string_value(json_object_get(project, "updated_at")), &sd);
		free_deep_rows(&sd, owned, nowned);
	}
	neon_project_deep_release(&d);
	return rc;
}

typedef struct one_ctx {
	state *st;
	neon_client *c;
	char *id;
	void (*done)(void *arg, int rc, const char *error);
	void *arg;
} one_ctx;

static void one_end(one_ctx *o, int rc, const char *error)
{
	o->done(o->arg, rc, error);
	free(o->id);
	free(o);
}

static void on_one_deep(void *arg, const char *project_id, int rc, neon_project_deep *deep, const char *error)
{
	one_ctx *o = arg;
	if (rc != 0) {
		one_end(o, rc, error);
		return;
	}
	state_project row;
	bool have = state_project_get(o->st, project_id, &row) == 0;
	state_deep sd;
	char **owned;
	size_t nowned;
	to_deep(deep, &sd, &owned, &nowned);
	rc = state_deep_put(o->st, project_id, have ? row.updated_at : "", &sd);
	free_deep_rows(&sd, owned, nowned);
	if (have)
		state_project_release(&row);
	one_end(o, rc, rc ? err_msg() : NULL);
}

static void on_one_project(void *arg, neon_result *res)
{
	one_ctx *o = arg;
	if (res->outcome != NEON_OK) {
		one_end(o, ERR_FAIL, res->message);
		return;
	}
	if (cache_store_project(o->st, json_object_get(res->body, "project"), false) != 0) {
		one_end(o, ERR_FAIL, err_msg());
		return;
	}
	neon_project_deep_submit(o->c, o->id, on_one_deep, o);
}

void refresh_one_submit(state *st, neon_client *c, const char *project_id,
			void (*done)(void *arg, int rc, const char *error), void *arg)
{
	one_ctx *o = xcalloc(1, sizeof(*o));
	*o = (one_ctx){st, c, xstrdup(project_id), done, arg};
	char *path = xasprintf("/projects/%s", project_id);
	neon_submit(c, "GET", path, NULL, false, on_one_project, o);
	free(path);
}
