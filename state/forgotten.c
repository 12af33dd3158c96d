/*
 * forgotten.c: tenants unmapped by `flotilla state forget`, and the rows
 * that remember their projects (docs/operations.md, "Forgetting an
 * orphan").
 *
 * Forgetting takes a tenant out of the map (and its sync state with it)
 * without a call to Neon: its project lives on, still carrying the
 * flotilla.fleet and flotilla.tenant annotations. Those marks are what
 * `refresh --rebuild` maps projects by, so the project's id is kept in
 * the forgotten table, which rebuild reads before it maps anything. A new
 * mapping of the project (state_tenant_put: a plan that adopts it once its
 * manifest is back, or `flotilla adopt`) deletes the row in the same
 * transaction.
 */
#include "state/internal.h"

#include <string.h>

#define FORGOTTEN_COLUMNS "project_id, tenant, fleet, forgotten_at, run_id"

static void read_forgotten(db_stmt *st, state_forgotten *f, bool copy)
{
	memset(f, 0, sizeof(*f));
	f->project_id = state__col_text(st, 0, copy);
	f->tenant = state__col_text(st, 1, copy);
	f->fleet = state__col_text(st, 2, copy);
	f->forgotten_at = db_col_i64(st, 3);
	f->run_id = db_col_i64(st, 4);
}

void state_forgotten_release(state_forgotten *f)
{
	if (!f)
		return;
	free(f->project_id);
	free(f->tenant);
	free(f->fleet);
	memset(f, 0, sizeof(*f));
}

/* One statement of a key, in the caller's transaction. */
static int delete_by(state *s, const char *sql, const char *key, const char *what)
{
	db_stmt *st;
	int rc = state__stmt(s, sql, &st);

	if (rc != 0)
		return rc;
	db_bind_text(st, 1, key);
	return state__step_done(s, st, what);
}

int state_tenant_forget(state *s, const char *tenant, int64_t run_id, state_tenant *was)
{
	state_tenant t;
	db_stmt *st;
	int rc;

	if (was)
		memset(was, 0, sizeof(*was));
	if (!tenant || !*tenant)
		return err_set(ERR_INVALID, "state: forgetting a tenant needs its name");
	if ((rc = state__begin(s, true)) != 0)
		return rc;
	if ((rc = state_tenant_get(s, tenant, &t)) != 0) {
		state__rollback(s);
		return rc;
	}
	if ((rc = state__stmt(s, "INSERT INTO forgotten (" FORGOTTEN_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5) "
			      "ON CONFLICT (project_id) DO UPDATE SET tenant = excluded.tenant, fleet = excluded.fleet, "
			      "forgotten_at = excluded.forgotten_at, run_id = excluded.run_id", &st)) == 0) {
		db_bind_text(st, 1, t.project_id);
		db_bind_text(st, 2, t.tenant);
		db_bind_text(st, 3, t.fleet);
		db_bind_i64(st, 4, db_now());
		db_bind_i64(st, 5, run_id);
		rc = state__step_done(s, st, "remembering a forgotten project");
	}
	if (rc == 0)
		rc = delete_by(s, "DELETE FROM tenants WHERE tenant = ?1", tenant, "writing the tenant map");
	if (rc == 0)
		rc = delete_by(s, "DELETE FROM tenant_sync WHERE tenant = ?1", tenant, "writing a tenant's sync state");
	if (rc == 0)
		rc = state__commit(s);
	else
		state__rollback(s);
	if (rc == 0 && was)
		*was = t;
	else
		state_tenant_release(&t);
	return rc;
}

int state__forgotten_clear(state *s, const char *project_id)
{
	return delete_by(s, "DELETE FROM forgotten WHERE project_id = ?1", project_id, "clearing a forgotten project");
}

int state_forgotten_get(state *s, const char *project_id, state_forgotten *out)
{
	db_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!project_id)
		return err_set(ERR_INVALID, "state: a project id is missing");
	if ((rc = state__stmt(s, "SELECT " FORGOTTEN_COLUMNS " FROM forgotten WHERE project_id = ?1", &st)) != 0)
		return rc;
	db_bind_text(st, 1, project_id);
	rc = db_step(st);
	if (rc == DB_ROW) {
		read_forgotten(st, out, true);
		rc = 0;
	} else if (rc == DB_DONE) {
		rc = err_set(ERR_NOTFOUND, "project '%s' was not forgotten", project_id);
	} else {
		rc = state__fail(s, rc, "reading the forgotten projects");
	}
	state__reset(st);
	return rc;
}

typedef struct forgotten_walk {
	state_forgotten_fn fn;
	void *arg;
} forgotten_walk;

static int forgotten_row(db_stmt *st, void *arg)
{
	forgotten_walk *w = arg;
	state_forgotten f;

	read_forgotten(st, &f, false);
	return w->fn(w->arg, &f);
}

int state_forgotten_foreach(state *s, state_forgotten_fn fn, void *arg)
{
	forgotten_walk w = {fn, arg};

	return state__foreach(s, "SELECT " FORGOTTEN_COLUMNS " FROM forgotten ORDER BY tenant, project_id",
			      "reading the forgotten projects", forgotten_row, &w);
}
