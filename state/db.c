/*
 * db.c: the state handle, whichever backend holds it, and the small
 * helpers every other file of state/ builds on (errors, statements,
 * transactions, meta). A backend is a db_driver (internal.h): sqlite.c for
 * a state file, the default.
 */
#include "state/internal.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- errors */

int state__fail(state *s, int rc, const char *what)
{
	return s->drv->fail(s, rc, what);
}

/* ------------------------------------------------------------ statements */

int state__exec(state *s, const char *sql)
{
	int rc = s->drv->exec(s, sql);

	return rc == 0 ? 0 : state__fail(s, rc, "executing a statement");
}

static int prepare(state *s, const char *sql, bool persistent, db_stmt **out)
{
	int rc = s->drv->prepare(s, sql, persistent, out);

	if (rc != 0)
		return rc;
	(*out)->s = s;
	(*out)->drv = s->drv;
	(*out)->prev = NULL;
	(*out)->next = s->live;
	if (s->live)
		s->live->prev = *out;
	s->live = *out;
	return 0;
}

void db_finalize(db_stmt *st)
{
	if (!st)
		return;
	if (st->prev)
		st->prev->next = st->next;
	else
		st->s->live = st->next;
	if (st->next)
		st->next->prev = st->prev;
	st->drv->finalize(st);
}

int state__stmt(state *s, const char *sql, db_stmt **out)
{
	db_stmt *st = strmap_get(s->stmts, sql);
	int rc;

	*out = NULL;
	if (st) {
		st->drv->reset(st);
		st->drv->clear(st);
		*out = st;
		return 0;
	}
	if ((rc = prepare(s, sql, true, &st)) != 0)
		return rc;
	strmap_put(s->stmts, sql, st);
	*out = st;
	return 0;
}

int state__prepare(state *s, const char *sql, db_stmt **out)
{
	*out = NULL;
	return prepare(s, sql, false, out);
}

void state__reset(db_stmt *st)
{
	if (st)
		st->drv->reset(st);
}

int state__step_done(state *s, db_stmt *st, const char *what)
{
	int rc = db_step(st);

	rc = rc == DB_DONE ? 0 : state__fail(s, rc, what);
	state__reset(st);
	return rc;
}

int state__step_deferred(state *s, db_stmt *st, const char *what)
{
	int rc;

	if (s->depth == 0 || !st->drv->step_deferred)
		return state__step_done(s, st, what);
	rc = st->drv->step_deferred(st);
	state__reset(st);
	return rc == 0 ? 0 : state__fail(s, rc, what);
}

int state__flush(state *s, const char *what)
{
	int rc = s->drv->flush ? s->drv->flush(s) : 0;

	return rc == 0 ? 0 : state__fail(s, rc, what);
}

int state__run_batch(state *s, db_stmt *st, size_t n, int (*bind)(db_stmt *st, size_t i, void *arg), void *arg,
		     const char *what)
{
	int rc = n ? st->drv->run_batch(st, n, bind, arg) : 0;

	state__reset(st);
	return rc == 0 ? 0 : state__fail(s, rc, what);
}

int state__write_batch(state *s, db_stmt *st, size_t n, int (*bind)(db_stmt *st, size_t i, void *arg), void *arg,
		       const char *what)
{
	int rc;

	if (s->depth == 0 && st->drv->write_batch && n) {
		state__snap_drop(s);
		rc = st->drv->write_batch(st, n, bind, arg, what);
		state__reset(st);
		return rc == 0 ? 0 : state__fail(s, rc, what);
	}
	if ((rc = state__begin(s, true)) != 0)
		return rc;
	if ((rc = state__run_batch(s, st, n, bind, arg, what)) != 0) {
		state__rollback(s);
		return rc;
	}
	return state__commit(s);
}

int state__step_insert(state *s, db_stmt *st, const char *what, int64_t *id)
{
	int rc = db_step(st);

	if (rc == DB_ROW) {
		*id = db_col_i64(st, 0);
		rc = db_step(st);
	} else if (rc == DB_DONE) {
		rc = -1; /* no id came back: never for an INSERT … RETURNING */
	}
	rc = rc == DB_DONE ? 0 : rc == -1 ? err_set(ERR_FAIL, "state '%s': %s: no id returned", s->path, what)
					  : state__fail(s, rc, what);
	state__reset(st);
	return rc;
}

int state__step_str(state *s, db_stmt *st, const char *what, char **out)
{
	int rc = db_step(st);

	*out = rc == DB_ROW ? state__col_str(st, 0) : NULL;
	rc = rc == DB_ROW || rc == DB_DONE ? 0 : state__fail(s, rc, what);
	state__reset(st);
	return rc;
}

int state__step_one(state *s, db_stmt *st, const char *what)
{
	int rc = db_step(st);

	return rc == DB_ROW ? 0 : state__fail(s, rc, what);
}

char *state__col_text(db_stmt *st, int i, bool copy)
{
	const char *v = st->drv->col_text(st, i);

	if (!v || !copy)
		return (char *)v; /* borrowed: valid until the next step or reset */
	return xstrdup(v);
}

char *state__col_str(db_stmt *st, int i)
{
	return state__col_text(st, i, true);
}

int state__query_i64(state *s, const char *sql, int64_t *out)
{
	db_stmt *st;
	int rc;

	*out = 0;
	if ((rc = state__stmt(s, sql, &st)) != 0)
		return rc;
	if ((rc = state__step_one(s, st, "reading a count")) == 0)
		*out = db_col_i64(st, 0);
	state__reset(st);
	return rc;
}

int64_t db_now(void)
{
	return (int64_t)time(NULL);
}

/* ---------------------------------------------------------- transactions */

/* A backend may end a transaction by itself after some errors (SQLite
 * after a full disk or an I/O error, PostgreSQL when the connection is
 * lost): forget our levels then, so that the next begin starts afresh. */
static void sync_depth(state *s)
{
	if (s->depth && s->drv->idle(s)) {
		s->depth = 0;
		state__snap_drop(s);
		s->read_txn = false;
	}
}

int state__begin(state *s, bool write)
{
	int rc;

	sync_depth(s);
	if (s->depth == 0 || write) {
		/* a new transaction's snapshot, or one that starts writing:
		 * what was read into memory is no longer the database's */
		state__snap_drop(s);
		s->read_txn = s->depth == 0 && !write;
	}
	if ((rc = s->drv->begin(s, write, s->depth)) != 0)
		return rc;
	s->depth++;
	return 0;
}

int state__commit(state *s)
{
	int rc;

	sync_depth(s);
	if (s->depth == 0)
		return err_set(ERR_FAIL, "state '%s': the transaction was rolled back", s->path);
	rc = s->drv->end(s, true, s->depth);
	if (rc != 0) {
		/* a failed commit leaves the transaction open: end it here, so that
		 * callers handle one outcome (nothing of it was written) */
		rc = state__fail(s, rc, "committing");
		state__rollback(s);
		return rc;
	}
	s->depth--;
	if (s->depth == 0) {
		state__snap_drop(s);
		s->read_txn = false;
	}
	return 0;
}

void state__rollback(state *s)
{
	sync_depth(s);
	if (s->depth == 0)
		return;
	/* errors here are ignored on purpose: the caller is already failing
	 * and its message is the one worth keeping */
	(void)s->drv->end(s, false, s->depth);
	s->depth--;
	sync_depth(s);
	if (s->depth == 0) {
		state__snap_drop(s);
		s->read_txn = false;
	}
}

/* ------------------------------------------------------------------ meta */

int state__meta_get(state *s, const char *key, char **out)
{
	db_stmt *st;
	int rc;

	*out = NULL;
	if ((rc = state__stmt(s, "SELECT value FROM meta WHERE key = ?1", &st)) != 0)
		return rc;
	db_bind_text(st, 1, key);
	return state__step_str(s, st, "reading meta", out);
}

int state_generation(state *s, int64_t *out)
{
	char *v = NULL;
	int rc = state__meta_get(s, "generation", &v);
	*out = 0;
	if (rc == 0 && v && (str_to_i64(v, out) != 0 || *out < 0))
		rc = err_set(ERR_INVALID, "state file '%s': meta generation is not a number: '%s'", s->path, v);
	free(v);
	return rc;
}

int state_generation_bump(state *s, int64_t *out)
{
	int64_t g = 0;
	char num[24];
	int rc;

	/* read and write in one write transaction: two processes never take
	 * the same generation */
	if ((rc = state__begin(s, true)) != 0)
		return rc;
	if ((rc = state_generation(s, &g)) == 0) {
		snprintf(num, sizeof(num), "%lld", (long long)(g + 1));
		rc = state__meta_set(s, "generation", num);
	}
	if (rc != 0) {
		state__rollback(s);
		return rc;
	}
	if ((rc = state__commit(s)) == 0 && out)
		*out = g + 1;
	return rc;
}

int state__meta_set(state *s, const char *key, const char *value)
{
	db_stmt *st;
	int rc;

	if (value)
		rc = state__stmt(s, "INSERT INTO meta(key, value) VALUES (?1, ?2) "
			     "ON CONFLICT(key) DO UPDATE SET value = excluded.value", &st);
	else
		rc = state__stmt(s, "DELETE FROM meta WHERE key = ?1", &st);
	if (rc != 0)
		return rc;
	db_bind_text(st, 1, key);
	if (value)
		db_bind_text(st, 2, value);
	return state__step_done(s, st, "writing meta");
}

int state_meta_get(state *s, const char *key, char **out)
{
	*out = NULL;
	if (!key)
		return err_set(ERR_INVALID, "state: meta key is missing");
	return state__meta_get(s, key, out);
}

int state_meta_set(state *s, const char *key, const char *value)
{
	if (!key)
		return err_set(ERR_INVALID, "state: meta key is missing");
	/* one statement: the backend makes it its own transaction */
	return state__meta_set(s, key, value);
}

/* ------------------------------------------------------------ open/close */

static state *handle_new(const char *path)
{
	state *s = xcalloc(1, sizeof(*s));

	s->path = xstrdup(path);
	s->stmts = strmap_new();
	if (gethostname(s->host, sizeof(s->host) - 1) != 0 || !s->host[0])
		str_copy(s->host, "localhost", sizeof(s->host));
	s->patience_ms = STATE_PATIENCE_MS;
	return s;
}

void state_set_patience(state *s, int64_t ms)
{
	s->patience_ms = ms > 0 ? ms : 0;
}

int state_open(state **out, const char *path)
{
	return state_open_ex(out, path, NULL);
}

static int open_at(state **out, const char *path, bool create, state_open_report *report);

int state_open_ex(state **out, const char *path, state_open_report *report)
{
	return open_at(out, path, true, report);
}

int state_open_existing(state **out, const char *location, state_open_report *report)
{
	*out = NULL;
	if (location && *location && !state__is_pg(location) && access(location, F_OK) != 0)
		return err_set(ERR_NOTFOUND, "no state file at '%s'", location);
	return open_at(out, location, false, report);
}

static int open_at(state **out, const char *path, bool create, state_open_report *report)
{
	state_open_report scratch;
	state *s;
	int rc;

	*out = NULL;
	if (!report)
		report = &scratch;
	memset(report, 0, sizeof(*report));
	if (!path || !*path)
		return err_set(ERR_INVALID, "state file path is empty");
	s = handle_new(path);
	if (state__is_pg(path)) {
		s->drv = &state__pg;
		rc = state__pg_open(s, path, NULL, create, report);
	} else {
		s->drv = &state__sqlite;
		rc = state__sqlite_open(s, false, report);
	}
	if (rc != 0) {
		state_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

int state_open_again(state **out, const state *of)
{
	state *s = handle_new(of->path);
	int rc;

	*out = NULL;
	str_copy(s->host, of->host, sizeof(s->host));
	s->drv = of->drv;
	rc = of->drv == &state__pg ? state__pg_open(s, NULL, of, false, NULL) : state__sqlite_open(s, true, NULL);
	if (rc != 0) {
		state_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

void state_close(state *s)
{
	if (!s)
		return;
	if (s->db) {
		sync_depth(s);
		while (s->depth)
			state__rollback(s);
		/* the cache, and the statements of refreshes left open (they are
		 * detached first, so that a late abort only frees memory) */
		state__detach_refreshes(s);
		state__snap_drop(s);
		while (s->live)
			db_finalize(s->live);
		s->drv->close(s);
	}
	strmap_free(s->stmts);
	free(s->path);
	free(s);
}

bool state_location_is_pg(const char *location)
{
	return state__is_pg(location);
}

const char *state_name(const state *s)
{
	return s->path;
}

int state_schema_version(state *s)
{
	return s->version;
}

int state_batch_begin(state *s)
{
	return state__begin(s, true);
}

int state_batch_commit(state *s)
{
	return state__commit(s);
}

void state_batch_rollback(state *s)
{
	state__rollback(s);
}

int state_read_begin(state *s)
{
	return state__begin(s, false);
}

void state_read_end(state *s)
{
	state__rollback(s); /* nothing was written: ending it is all there is */
}

int state__foreach(state *s, const char *sql, const char *what, int (*row)(db_stmt *st, void *arg), void *arg)
{
	db_stmt *st = NULL;
	int rc;

	if ((rc = state__begin(s, false)) != 0)
		return rc;
	if ((rc = state__prepare(s, sql, &st)) != 0)
		goto done;
	while ((rc = db_step(st)) == DB_ROW) {
		if ((rc = row(st, arg)) != 0)
			goto done;
	}
	rc = rc == DB_DONE ? 0 : state__fail(s, rc, what);
done:
	db_finalize(st);
	if (rc == 0)
		rc = state__commit(s);
	else
		state__rollback(s);
	return rc;
}
