/*
 * tenants.c: the tenant <-> project map.
 *
 * One row a tenant; a project belongs to at most one tenant (project_id is
 * UNIQUE), so that two tenants can never converge one project. The map is
 * the one thing in the state file that cannot be read back from the live
 * fleet by a list refresh (`flotilla refresh --rebuild` recovers it from
 * names and annotations), which is why a project leaving the cache does
 * not remove its tenant row: the summary counts such tenants instead.
 */
#include "state/internal.h"

#include <string.h>

#define TENANT_COLUMNS "tenant, project_id, fleet, source, mapped_at"

static bool known_source(const char *source)
{
	return strcmp(source, "create") == 0 || strcmp(source, "rebuild") == 0 || strcmp(source, "adopt") == 0 ||
	       strcmp(source, "recover") == 0;
}

/* Fill *t from a SELECT TENANT_COLUMNS row: heap copies when copy, else
 * borrowed from the statement. */
static void read_tenant(db_stmt *st, state_tenant *t, bool copy)
{
	memset(t, 0, sizeof(*t));
	t->tenant = state__col_text(st, 0, copy);
	t->project_id = state__col_text(st, 1, copy);
	t->fleet = state__col_text(st, 2, copy);
	t->source = state__col_text(st, 3, copy);
	t->mapped_at = db_col_i64(st, 4);
}

void state_tenant_release(state_tenant *t)
{
	if (!t)
		return;
	free(t->tenant);
	free(t->project_id);
	free(t->fleet);
	free(t->source);
	memset(t, 0, sizeof(*t));
}

int state_tenant_put(state *s, const char *tenant, const char *project_id, const char *fleet,
		     const char *source)
{
	db_stmt *st;
	char *owner = NULL;
	int rc;

	if (!tenant || !*tenant || !project_id || !*project_id || !fleet || !source)
		return err_set(ERR_INVALID, "state: a tenant mapping needs a tenant, a project id, a fleet and a "
			       "source");
	if (!known_source(source))
		return err_set(ERR_INVALID, "state: tenant '%s': unknown mapping source '%s' (create, rebuild, recover or "
			       "adopt)", tenant, source);
	if ((rc = state__begin(s, true)) != 0)
		return rc;
	if ((rc = state__stmt(s, "SELECT tenant FROM tenants WHERE project_id = ?1", &st)) != 0)
		goto done;
	db_bind_text(st, 1, project_id);
	if ((rc = state__step_str(s, st, "reading the tenant map", &owner)) != 0)
		goto done;
	if (owner && strcmp(owner, tenant) != 0) {
		rc = err_set(ERR_CONFLICT, "project '%s' is already mapped to tenant '%s', not '%s'", project_id,
			     owner, tenant);
		goto done;
	}
	/* mapped_at is when the tenant got this project: a put that repeats
	 * the mapping keeps it */
	if ((rc = state__stmt(s, "INSERT INTO tenants(" TENANT_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5) "
			  "ON CONFLICT(tenant) DO UPDATE SET project_id = excluded.project_id, "
			  "fleet = excluded.fleet, source = excluded.source, "
			  "mapped_at = CASE WHEN tenants.project_id = excluded.project_id THEN tenants.mapped_at "
			  "ELSE excluded.mapped_at END", &st)) != 0)
		goto done;
	db_bind_text(st, 1, tenant);
	db_bind_text(st, 2, project_id);
	db_bind_text(st, 3, fleet);
	db_bind_text(st, 4, source);
	db_bind_i64(st, 5, db_now());
	rc = state__step_done(s, st, "writing the tenant map");
	/* mapped again: no longer forgotten (forgotten.c) */
	if (rc == 0)
		rc = state__forgotten_clear(s, project_id);
done:
	free(owner);
	if (rc == 0)
		return state__commit(s);
	state__rollback(s);
	return rc;
}

/* The one tenant that `sql` selects with `key` as its parameter. */
static int tenant_lookup(state *s, const char *sql, const char *key, const char *what, state_tenant *out)
{
	db_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!key)
		return err_set(ERR_INVALID, "state: %s is missing", what);
	if ((rc = state__stmt(s, sql, &st)) != 0)
		return rc;
	db_bind_text(st, 1, key);
	rc = db_step(st);
	if (rc == DB_ROW) {
		read_tenant(st, out, true);
		rc = 0;
	} else if (rc == DB_DONE) {
		rc = err_set(ERR_NOTFOUND, "no tenant is mapped to %s '%s'", what, key);
	} else {
		rc = state__fail(s, rc, "reading the tenant map");
	}
	state__reset(st);
	return rc;
}

int state_tenant_get(state *s, const char *tenant, state_tenant *out)
{
	int rc = tenant_lookup(s, "SELECT " TENANT_COLUMNS " FROM tenants WHERE tenant = ?1", tenant, "tenant", out);

	if (rc == ERR_NOTFOUND)
		rc = err_set(ERR_NOTFOUND, "tenant '%s' is not mapped to a project", tenant);
	return rc;
}

int state_tenant_by_project(state *s, const char *project_id, state_tenant *out)
{
	return tenant_lookup(s, "SELECT " TENANT_COLUMNS " FROM tenants WHERE project_id = ?1", project_id,
			     "project", out);
}

int state_tenant_delete(state *s, const char *tenant)
{
	db_stmt *st;
	int rc;

	if (!tenant)
		return err_set(ERR_INVALID, "state: tenant is missing");
	if ((rc = state__stmt(s, "DELETE FROM tenants WHERE tenant = ?1", &st)) != 0)
		return rc;
	db_bind_text(st, 1, tenant);
	if ((rc = state__step_done(s, st, "writing the tenant map")) == 0 && db_changes(s) == 0)
		rc = err_set(ERR_NOTFOUND, "tenant '%s' is not mapped to a project", tenant);
	return rc;
}

typedef struct tenant_walk {
	state_tenant_fn fn;
	void *arg;
} tenant_walk;

static int tenant_row(db_stmt *st, void *arg)
{
	tenant_walk *w = arg;
	state_tenant t;
	read_tenant(st, &t, false);
	return w->fn(w->arg, &t);
}

int state_tenants_foreach(state *s, state_tenant_fn fn, void *arg)
{
	tenant_walk w = {fn, arg};
	return state__foreach(s, "SELECT " TENANT_COLUMNS " FROM tenants ORDER BY tenant", "reading the tenant map",
			  tenant_row, &w);
}

int64_t state_tenant_count(state *s)
{
	int64_t n;

	return state__query_i64(s, "SELECT count(*) FROM tenants", &n) == 0 ? n : -1;
}

int state_tenant_set_protect(state *s, const char *tenant, bool protect)
{
	db_stmt *st;
	int rc;

	if ((rc = state__stmt(s, "UPDATE tenants SET protect = ?2 WHERE tenant = ?1", &st)) != 0)
		return rc;
	db_bind_text(st, 1, tenant);
	db_bind_i64(st, 2, protect ? 1 : 0);
	if ((rc = state__step_done(s, st, "writing the tenant map")) == 0 && db_changes(s) == 0)
		rc = err_set(ERR_NOTFOUND, "tenant '%s' is not mapped to a project", tenant);
	return rc;
}

int state_tenant_get_protect(state *s, const char *tenant, bool *protect)
{
	db_stmt *st;
	int rc;

	*protect = false;
	if ((rc = state__stmt(s, "SELECT protect FROM tenants WHERE tenant = ?1", &st)) != 0)
		return rc;
	db_bind_text(st, 1, tenant);
	rc = db_step(st);
	if (rc == DB_ROW) {
		*protect = db_col_int(st, 0) != 0;
		rc = 0;
	} else if (rc == DB_DONE) {
		rc = err_set(ERR_NOTFOUND, "tenant '%s' is not mapped to a project", tenant);
	} else {
		rc = state__fail(s, rc, "reading the tenant map");
	}
	state__reset(st);
	return rc;
}

/* The rows of a page query (?1 after, ?2 limit), each handed to row(st,
 * arg) while the statement stands on it; row's nonzero stops the walk. */
static int walk_page(state *s, const char *sql, const char *after, size_t limit, int (*row)(db_stmt *st, void *arg),
		     void *arg)
{
	db_stmt *st;
	int rc, frc = 0;

	if ((rc = state__stmt(s, sql, &st)) != 0)
		return rc;
	db_bind_text(st, 1, after ? after : "");
	db_bind_i64(st, 2, (int64_t)limit);
	while ((rc = db_step(st)) == DB_ROW && (frc = row(st, arg)) == 0)
		;
	if (frc)
		rc = frc;
	else
		rc = rc == DB_DONE ? 0 : state__fail(s, rc, "reading the tenant map");
	state__reset(st);
	return rc;
}

int state_tenants_page(state *s, const char *after, size_t limit, state_tenant_fn fn, void *arg)
{
	tenant_walk w = {fn, arg};

	return walk_page(s, "SELECT " TENANT_COLUMNS " FROM tenants WHERE tenant > ?1 ORDER BY tenant LIMIT ?2", after,
			 limit, tenant_row, &w);
}

/* The listing's columns: the map's, then the cached project's (NULL when
 * it is not cached) and the sync row's (NULL: synced). */
#define ROW_COLUMNS "t.tenant, t.project_id, t.fleet, t.source, t.mapped_at, t.protect, " \
	"CASE WHEN p.id IS NULL THEN 0 ELSE 1 END, p.name, p.region_id, p.pg_version, y.state, y.reason, y.since, " \
	"p.created_at, p.compute_last_active_at, p.synthetic_storage_size, p.active_time"

typedef struct listing_walk {
	state_tenant_row_fn fn;
	void *arg;
} listing_walk;

static int listing_row(db_stmt *st, void *arg)
{
	listing_walk *w = arg;
	state_tenant_row r;

	memset(&r, 0, sizeof(r));
	read_tenant(st, &r.t, false);
	r.protect = db_col_int(st, 5) != 0;
	r.cached = db_col_int(st, 6) != 0;
	r.project_name = state__col_text(st, 7, false);
	r.region_id = state__col_text(st, 8, false);
	r.pg_version = db_col_int(st, 9);
	r.sync_state = db_col_null(st, 10) ? STATE_SYNC_STATES[STATE_SYNC_SYNCED] : state__col_text(st, 10, false);
	r.sync_reason = db_col_null(st, 11) ? "" : state__col_text(st, 11, false);
	r.sync_since = db_col_i64(st, 12);
	r.created_at = state__col_text(st, 13, false);
	r.compute_last_active_at = state__col_text(st, 14, false);
	r.synthetic_storage_size = db_col_null(st, 15) ? -1 : db_col_i64(st, 15);
	r.active_time = db_col_null(st, 16) ? -1 : db_col_i64(st, 16);
	return w->fn(w->arg, &r);
}

int state_tenant_rows_page(state *s, const char *after, size_t limit, state_tenant_row_fn fn, void *arg)
{
	listing_walk w = {fn, arg};

	return walk_page(s, "SELECT " ROW_COLUMNS " FROM tenants t LEFT JOIN projects p ON p.id = t.project_id "
			 "LEFT JOIN tenant_sync y ON y.tenant = t.tenant WHERE t.tenant > ?1 ORDER BY t.tenant LIMIT ?2",
			 after, limit, listing_row, &w);
}

typedef struct name_walk {
	int (*fn)(void *arg, const char *tenant);
	void *arg;
} name_walk;

static int name_row(db_stmt *st, void *arg)
{
	name_walk *w = arg;
	const char *t = state__col_text(st, 0, false);
	return w->fn(w->arg, t ? t : "");
}

typedef struct pair_walk {
	int (*fn)(void *arg, const char *tenant, const char *project_id);
	void *arg;
} pair_walk;

static int pair_row(db_stmt *st, void *arg)
{
	pair_walk *w = arg;
	const char *t = state__col_text(st, 0, false);
	const char *p = state__col_text(st, 1, false);
	return w->fn(w->arg, t ? t : "", p ? p : "");
}

int state_tenants_uncached(state *s, int (*fn)(void *arg, const char *tenant, const char *project_id), void *arg)
{
	pair_walk w = {fn, arg};
	return state__foreach(s,
			  "SELECT t.tenant, t.project_id FROM tenants t WHERE NOT EXISTS "
			  "(SELECT 1 FROM projects p WHERE p.id = t.project_id) ORDER BY t.tenant",
			  "reading the tenant map", pair_row, &w);
}

typedef struct unmapped_walk {
	int (*fn)(void *arg, const state_unmapped *u);
	void *arg;
	strmap *ann;       /* project id -> its annotated branches' JSON, a heap list (n, then strings) */
	char **keys;       /* the map's keys, owned here */
	size_t nkeys, capkeys;
} unmapped_walk;

/* Phase one: the annotated branches of unmapped projects, by project. */
static int annotated_row(db_stmt *st, void *arg)
{
	unmapped_walk *w = arg;
	const char *pid = state__col_text(st, 0, false), *json = state__col_text(st, 1, false);
	if (!pid || !json)
		return 0;
	char **l = strmap_get(w->ann, pid);
	size_t n = l ? (size_t)(uintptr_t)l[0] : 0;
	l = xrealloc(l, (n + 2) * sizeof(char *));
	l[0] = (char *)(uintptr_t)(n + 1);
	l[n + 1] = xstrdup(json);
	if (n == 0) {
		if (w->nkeys == w->capkeys)
			w->keys = xgrow(w->keys, &w->capkeys, w->nkeys + 1, sizeof(char *));
		w->keys[w->nkeys] = xstrdup(pid);
		strmap_put(w->ann, w->keys[w->nkeys++], l);
	} else {
		strmap_put(w->ann, pid, l);
	}
	return 0;
}

/* Phase two: each project, once per annotated branch (or once with none). */
static int unmapped_row(db_stmt *st, void *arg)
{
	unmapped_walk *w = arg;
	state_unmapped u = {
		.project_id = state__col_text(st, 0, false),
		.name = state__col_text(st, 1, false),
		.deep_known = db_col_i64(st, 2) > 0,
	};
	if (!u.project_id)
		u.project_id = "";
	if (!u.name)
		u.name = "";
	char **l = w->nkeys ? strmap_get(w->ann, u.project_id) : NULL;
	if (!l)
		return w->fn(w->arg, &u);
	int rc = 0;
	for (size_t i = 1; rc == 0 && i <= (size_t)(uintptr_t)l[0]; i++) {
		u.annotations_json = l[i];
		rc = w->fn(w->arg, &u);
	}
	return rc;
}

#define UNMAPPED_ANNOTATED                                                                                   \
	"SELECT b.project_id, b.annotations_json FROM branches b WHERE b.annotations_json IS NOT NULL AND "   \
	"b.annotations_json != '{}' AND NOT EXISTS (SELECT 1 FROM tenants t WHERE t.project_id = b.project_id)"
#define UNMAPPED_WHAT "reading the projects no tenant is mapped to"

static void walk_release(unmapped_walk *w)
{
	for (size_t i = 0; i < w->nkeys; i++) {
		char **l = strmap_get(w->ann, w->keys[i]);
		for (size_t k = 1; k <= (size_t)(uintptr_t)l[0]; k++)
			free(l[k]);
		free(l);
	}
	strmap_free(w->ann);
	for (size_t i = 0; i < w->nkeys; i++)
		free(w->keys[i]);
	free(w->keys);
}

int state_unmapped_foreach(state *s, int (*fn)(void *arg, const state_unmapped *u), void *arg)
{
	/* two plain scans, not a join in id order: at 100,000 unmapped
	 * projects the join with its index lookups took 13 times as long */
	unmapped_walk w = {fn, arg, strmap_new(), NULL, 0, 0};
	int rc = state__foreach(s, UNMAPPED_ANNOTATED, "reading the branches of the projects no tenant is mapped to",
				annotated_row, &w);
	if (rc == 0)
		rc = state__foreach(s,
				    "SELECT p.id, p.name, p.deep_at FROM projects p WHERE NOT EXISTS "
				    "(SELECT 1 FROM tenants t WHERE t.project_id = p.id)",
				    UNMAPPED_WHAT, unmapped_row, &w);
	walk_release(&w);
	return rc;
}

/* The rows of one lookup (sql, with key as ?1), each project once: `seen`
 * holds the ids handed out (keys in `a`). */
static int unmapped_lookup(state *s, unmapped_walk *w, const char *sql, const char *key, strmap *seen, arena *a)
{
	db_stmt *st;
	int rc = state__stmt(s, sql, &st);
	if (rc != 0)
		return rc;
	db_bind_text(st, 1, key);
	int step;
	while (rc == 0 && (step = db_step(st)) == DB_ROW) {
		const char *id = state__col_text(st, 0, false);
		if (!id || strmap_get(seen, id))
			continue;
		strmap_put(seen, arena_strdup(a, id), seen);
		rc = unmapped_row(st, w);
	}
	if (rc == 0 && step != DB_DONE)
		rc = state__fail(s, step, UNMAPPED_WHAT);
	state__reset(st);
	return rc;
}

int state_unmapped_named(state *s, const char *const *names, size_t n,
			 int (*fn)(void *arg, const state_unmapped *u), void *arg, int64_t *unread)
{
	unmapped_walk w = {fn, arg, strmap_new(), NULL, 0, 0};
	strmap *seen = strmap_new();
	arena *a = arena_new();
	*unread = 0;
	int rc = state__begin(s, false);
	if (rc != 0)
		goto out;
	rc = state__foreach(s, UNMAPPED_ANNOTATED, "reading the branches of the projects no tenant is mapped to",
			    annotated_row, &w);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = unmapped_lookup(s, &w,
				     "SELECT p.id, p.name, p.deep_at FROM projects p WHERE p.name = ?1 AND NOT EXISTS "
				     "(SELECT 1 FROM tenants t WHERE t.project_id = p.id)",
				     names[i], seen, a);
	for (size_t i = 0; rc == 0 && i < w.nkeys; i++)
		rc = unmapped_lookup(s, &w, "SELECT p.id, p.name, p.deep_at FROM projects p WHERE p.id = ?1", w.keys[i],
				     seen, a);
	if (rc == 0)
		rc = state__query_i64(s,
				      "SELECT count(*) FROM projects p WHERE p.deep_at = 0 AND NOT EXISTS "
				      "(SELECT 1 FROM tenants t WHERE t.project_id = p.id)",
				      unread);
	if (rc == 0)
		rc = state__commit(s);
	else
		state__rollback(s);
out:
	walk_release(&w);
	strmap_free(seen);
	arena_free(a);
	return rc;
}

int state_tenants_protected(state *s, int (*fn)(void *arg, const char *tenant), void *arg)
{
	name_walk w = {fn, arg};
	return state__foreach(s, "SELECT tenant FROM tenants WHERE protect = 1 ORDER BY tenant", "reading the tenant map",
			  name_row, &w);
}

/* ----------------------------------------------------------- parse cache */

int state_parse_cache_get(state *s, const char *blob_id, buf *out)
{
	db_stmt *st;
	int rc;

	if ((rc = state__stmt(s, "SELECT data FROM parse_cache WHERE blob_id = ?1", &st)) != 0)
		return rc;
	db_bind_text(st, 1, blob_id);
	rc = db_step(st);
	if (rc == DB_ROW) {
		size_t len;
		const void *data = db_col_blob(st, 0, &len);
		rc = len > 0 ? buf_add(out, data, len) : 0;
	} else if (rc == DB_DONE) {
		rc = ERR_NOTFOUND; /* expected on a miss: no message */
	} else {
		rc = state__fail(s, rc, "reading the parse cache");
	}
	state__reset(st);
	return rc;
}

typedef struct pc_walk {
	state_parse_cache_fn fn;
	void *arg;
} pc_walk;

static int pc_row(db_stmt *st, void *arg)
{
	pc_walk *w = arg;
	const char *id = state__col_text(st, 0, false);
	size_t len;
	const void *data = db_col_blob(st, 1, &len);
	return w->fn(w->arg, id ? id : "", data, len);
}

int state_parse_cache_foreach(state *s, state_parse_cache_fn fn, void *arg)
{
	pc_walk w = {fn, arg};
	return state__foreach(s, "SELECT blob_id, data FROM parse_cache", "reading the parse cache", pc_row, &w);
}

int state_parse_cache_put(state *s, const char *blob_id, const void *data, size_t len)
{
	db_stmt *st;
	int rc;

	if ((rc = state__stmt(s, "INSERT INTO parse_cache (blob_id, data, used_at) VALUES (?1, ?2, ?3) "
			  "ON CONFLICT (blob_id) DO UPDATE SET data = excluded.data, used_at = excluded.used_at",
			  &st)) != 0)
		return rc;
	db_bind_text(st, 1, blob_id);
	db_bind_blob(st, 2, data, len);
	db_bind_i64(st, 3, db_now());
	return state__step_deferred(s, st, "writing the parse cache");
}

int state_parse_cache_prune(state *s, int64_t older_than, int64_t *removed)
{
	db_stmt *st;
	int rc;

	*removed = 0;
	if ((rc = state__stmt(s, "DELETE FROM parse_cache WHERE used_at < ?1", &st)) != 0)
		return rc;
	db_bind_i64(st, 1, db_now() - older_than);
	if ((rc = state__step_done(s, st, "pruning the parse cache")) == 0)
		*removed = db_changes(s);
	return rc;
}
