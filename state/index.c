/*
 * index.c: the manifest index of one commit (schema version 3): tenant ->
 * the file that defines it, and the files that hold the Fleet or a
 * Profile. meta manifest_index_commit names the commit. Every change is one
 * transaction, the commit with the rows, so a reader never sees rows of
 * one commit under the name of another.
 */
#include "state/internal.h"

#include <string.h>

#define META_KEY "manifest_index_commit"

int state_index_commit(state *s, char **out)
{
	return state__meta_get(s, META_KEY, out);
}

static int insert_rows(state *s, const state_index_row *rows, size_t n)
{
	db_stmt *st;
	int rc;

	if (n == 0)
		return 0;
	if ((rc = state__stmt(s, "INSERT INTO manifest_index (tenant, path) VALUES (?1, ?2) "
			  "ON CONFLICT (tenant) DO UPDATE SET path = excluded.path", &st)) != 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++) {
		db_bind_text(st, 1, rows[i].tenant);
		db_bind_text(st, 2, rows[i].path);
		rc = state__step_deferred(s, st, "writing the manifest index");
	}
	return rc;
}

/* One statement with one text parameter, run for each value. */
static int exec_each(state *s, const char *sql, const char *const *v, size_t n)
{
	db_stmt *st;
	int rc;

	if (n == 0)
		return 0;
	if ((rc = state__stmt(s, sql, &st)) != 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++) {
		db_bind_text(st, 1, v[i]);
		rc = state__step_deferred(s, st, "writing the manifest index");
	}
	return rc;
}

static int finish(state *s, int rc)
{
	if (rc == 0)
		return state__commit(s);
	state__rollback(s);
	return rc;
}

static int replace_extra(state *s, const char *const *extra, size_t nextra)
{
	int rc = state__exec(s, "DELETE FROM manifest_extra");
	if (rc == 0)
		rc = exec_each(s, "INSERT INTO manifest_extra (path) VALUES (?1) ON CONFLICT DO NOTHING", extra, nextra);
	return rc;
}

int state_index_replace(state *s, const char *commit, const state_index_row *rows, size_t n,
			const char *const *extra, size_t nextra)
{
	int rc;

	if ((rc = state__begin(s, true)) != 0)
		return rc;
	if ((rc = state__exec(s, "DELETE FROM manifest_index")) == 0 && (rc = insert_rows(s, rows, n)) == 0 &&
	    (rc = replace_extra(s, extra, nextra)) == 0)
		rc = state__meta_set(s, META_KEY, commit);
	return finish(s, rc);
}

int state_index_update(state *s, const char *commit, const char *const *paths, size_t npaths,
		       const state_index_row *rows, size_t n, const char *const *extra, size_t nextra)
{
	int rc;

	if ((rc = state__begin(s, true)) != 0)
		return rc;
	if ((rc = exec_each(s, "DELETE FROM manifest_index WHERE path = ?1", paths, npaths)) == 0 &&
	    (rc = insert_rows(s, rows, n)) == 0 && (!extra || (rc = replace_extra(s, extra, nextra)) == 0))
		rc = state__meta_set(s, META_KEY, commit);
	return finish(s, rc);
}

int state_index_path(state *s, const char *tenant, char **path)
{
	db_stmt *st;
	int rc;

	*path = NULL;
	if ((rc = state__stmt(s, "SELECT path FROM manifest_index WHERE tenant = ?1", &st)) != 0)
		return rc;
	db_bind_text(st, 1, tenant);
	rc = db_step(st);
	if (rc == DB_ROW) {
		*path = state__col_str(st, 0);
		rc = 0;
	} else {
		rc = rc == DB_DONE ? ERR_NOTFOUND : state__fail(s, rc, "reading the manifest index");
	}
	state__reset(st);
	return rc;
}

typedef struct walk {
	state_index_fn fn;
	void *arg;
} walk;

static int one_value(walk *w, db_stmt *st)
{
	const char *v = state__col_text(st, 0, false);
	return w->fn(w->arg, v ? v : "");
}

static int value_row(db_stmt *st, void *arg)
{
	return one_value(arg, st);
}

int state_index_tenants_at(state *s, const char *path, state_index_fn fn, void *arg)
{
	db_stmt *st;
	walk w = {fn, arg};
	int rc;

	if ((rc = state__stmt(s, "SELECT tenant FROM manifest_index WHERE path = ?1 ORDER BY tenant", &st)) != 0)
		return rc;
	db_bind_text(st, 1, path);
	int frc = 0;
	while ((rc = db_step(st)) == DB_ROW)
		if ((frc = one_value(&w, st)) != 0)
			break;
	if (frc)
		rc = frc;
	else
		rc = rc == DB_DONE ? 0 : state__fail(s, rc, "reading the manifest index");
	state__reset(st);
	return rc;
}

int state_index_extra_foreach(state *s, state_index_fn fn, void *arg)
{
	walk w = {fn, arg};
	return state__foreach(s, "SELECT path FROM manifest_extra ORDER BY path", "reading the manifest index",
			  value_row, &w);
}
