/*
 * pg.c: the PostgreSQL backend, a state in one schema of a PostgreSQL
 * database (docs/state.md, "Backends"): its driver (internal.h, db_driver)
 * and its connection.
 *
 * The location is a libpq connection URI, postgres://… or
 * postgresql://…, with one parameter of ours, schema=NAME (default
 * "flotilla"), removed before libpq sees it: each fleet keeps its state in
 * a schema of its own. The location may carry a password; it is never
 * printed: the handle's path, which every message names, is the location
 * without it.
 *
 * The statements of state/ are written in SQL both backends read with
 * SQLite's numbered parameters; they are rewritten here once ($1 for ?1)
 * and prepared on the server the first time they run, with the types of
 * that first run's values (a text value is left for the server to type
 * from its context). Results come back as text and are parsed here.
 *
 * Locking follows SQLite's, so that the rest of state/ reads the same on
 * both: a write transaction takes a transaction-level advisory lock keyed
 * by the schema before its first statement (one writer at a time, like
 * BEGIN IMMEDIATE; lock_timeout turns a long wait into ERR_LOCKED), and a
 * read transaction is REPEATABLE READ (one snapshot). A SELECT that walks
 * a table (a statement of state__prepare inside a transaction) reads
 * through a cursor, FETCH_ROWS rows at a time, so that walking 300,000
 * projects never holds them all in memory and the walk's callback may run
 * other statements on the same connection.
 *
 * A lost connection fails the statement that found it (ERR_IO); the next
 * transaction that begins reconnects, and statements prepare again.
 */
#include "state/internal.h"

#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


/* Rows per FETCH of a walk. */
#define FETCH_ROWS 2000
/* libpq's type ids for the parameters we type (pg_type.h). */
#define OID_INT8 20
#define OID_FLOAT8 701
#define OID_BYTEA 17

/* ---------------------------------------------------------- statements */



int pg__lost(pg_link *c)
{
	str_copy(c->sqlstate, "08003", sizeof(c->sqlstate));
	c->failed = NULL;
	free(c->message);
	c->message = xstrdup("the connection was lost");
	return PG_FAILED;
}


/* ?N as $N outside quotes; a bare ? is numbered in order. *max: the
 * highest parameter. */
static char *rewrite(const char *sql, int *max)
{
	buf b = BUF_INIT(0);
	int next = 0, rc = 0;
	char q = 0;

	*max = 0;
	for (const char *p = sql; *p && rc == 0; p++) {
		if (q || *p != '?') {
			if (q && *p == q)
				q = 0;
			else if (!q && (*p == '\'' || *p == '"'))
				q = *p;
			rc = buf_addc(&b, *p);
			continue;
		}
		int n = 0;
		while (isdigit((unsigned char)p[1]))
			n = n * 10 + (*++p - '0');
		if (n == 0)
			n = ++next;
		if (n > *max)
			*max = n;
		rc = buf_printf(&b, "$%d", n);
	}
	if (rc != 0) /* a buffer without a maximum fails only out of memory, which aborts first */
		abort();
	return b.data ? buf_detach(&b, NULL) : xstrdup("");
}

static bool starts_with_select(const char *sql)
{
	while (isspace((unsigned char)*sql))
		sql++;
	return strncasecmp(sql, "SELECT", 6) == 0 || strncasecmp(sql, "WITH", 4) == 0;
}

static int pgd_prepare(state *s, const char *sql, bool persistent, db_stmt **out)
{
	pg_stmt *st = xcalloc(1, sizeof(*st));

	st->sql = rewrite(sql, &st->nparams);
	st->walk = !persistent && starts_with_select(sql);
	st->params = xcalloc((size_t)st->nparams + 1, sizeof(*st->params));
	st->vals = xcalloc((size_t)st->nparams + 1, sizeof(*st->vals));
	st->lens = xcalloc((size_t)st->nparams + 1, sizeof(*st->lens));
	st->fmts = xcalloc((size_t)st->nparams + 1, sizeof(*st->fmts));
	st->types = xcalloc((size_t)st->nparams + 1, sizeof(*st->types));
	(void)s;
	*out = &st->base;
	return 0;
}

static void drop_result(pg_stmt *st)
{
	PQclear(st->res);
	st->res = NULL;
	st->row = st->nrows = 0;
}

/* Close a walk's cursor when its transaction is still there to close it in. */
static void close_cursor(pg_stmt *st)
{
	pg_link *c = pg__link(st->base.s);

	if (!st->cursor)
		return;
	st->cursor = false;
	(void)pg__flush(c);
	if (c->conn && PQstatus(c->conn) == CONNECTION_OK && PQtransactionStatus(c->conn) == PQTRANS_INTRANS) {
		char sql[48];
		snprintf(sql, sizeof(sql), "CLOSE %sc", st->name);
		PQclear(PQexec(c->conn, sql));
	}
}

static void pgd_reset(db_stmt *dst)
{
	pg_stmt *st = pg__stmt(dst);

	close_cursor(st);
	drop_result(st);
	st->started = st->done = false;
}

static void clear_param(pg_param *p)
{
	free(p->owned);
	memset(p, 0, sizeof(*p));
}

static void pgd_clear(db_stmt *dst)
{
	pg_stmt *st = pg__stmt(dst);

	for (int i = 0; i <= st->nparams; i++)
		clear_param(&st->params[i]);
}

void pg__deallocate(pg_stmt *st)
{
	pg_link *c = pg__link(st->base.s);
	const char *names[] = {st->name, st->multi_name};
	unsigned gens[] = {st->gen, st->multi_gen};

	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		/* a statement of this connection is deallocated; one of a lost
		 * connection went with it */
		if (names[i][0] && gens[i] == c->gen && c->conn && PQstatus(c->conn) == CONNECTION_OK &&
		    pg__flush(c) == 0 && PQtransactionStatus(c->conn) != PQTRANS_INERROR) {
			char sql[48];
			snprintf(sql, sizeof(sql), "DEALLOCATE %s", names[i]);
			PQclear(PQexec(c->conn, sql));
		}
	}
}

static void pgd_finalize(db_stmt *dst)
{
	pg_stmt *st = pg__stmt(dst);

	pgd_reset(dst);
	pgd_clear(dst);
	pg__deallocate(st);
	free(st->params);
	free(st->vals);
	free(st->lens);
	free(st->fmts);
	free(st->types);
	free(st->sql);
	free(st->blob);
	free(st);
}

static pg_param *param(pg_stmt *st, int i)
{
	if (i < 1 || i > st->nparams)
		return NULL;
	clear_param(&st->params[i]);
	return &st->params[i];
}

static int pgd_bind_null(db_stmt *st, int i)
{
	return param(pg__stmt(st), i) ? 0 : PG_FAILED;
}

static int pgd_bind_i64(db_stmt *st, int i, int64_t v)
{
	pg_param *p = param(pg__stmt(st), i);

	if (!p)
		return PG_FAILED;
	p->len = snprintf(p->num, sizeof(p->num), "%lld", (long long)v);
	p->val = p->num;
	p->oid = OID_INT8;
	return 0;
}

static int pgd_bind_double(db_stmt *st, int i, double v)
{
	pg_param *p = param(pg__stmt(st), i);

	if (!p)
		return PG_FAILED;
	p->len = snprintf(p->num, sizeof(p->num), "%.17g", v);
	p->val = p->num;
	p->oid = OID_FLOAT8;
	return 0;
}

static int pgd_bind_text(db_stmt *st, int i, const char *v, bool copy)
{
	pg_param *p = param(pg__stmt(st), i);

	if (!p)
		return PG_FAILED;
	p->val = copy ? (p->owned = xstrdup(v)) : (char *)v;
	p->len = (int)strlen(v);
	return 0;
}

static int pgd_bind_blob(db_stmt *st, int i, const void *v, size_t len, bool copy)
{
	pg_param *p = param(pg__stmt(st), i);

	if (!p || len > INT32_MAX)
		return PG_FAILED;
	if (copy) {
		p->owned = xmalloc(len ? len : 1);
		memcpy(p->owned, v, len);
	}
	/* a zero-length blob is not NULL: point at something */
	p->val = copy ? p->owned : len ? (char *)v : (char *)"";
	p->len = (int)len;
	p->fmt = 1;
	p->oid = OID_BYTEA;
	return 0;
}

static int pgd_param_count(db_stmt *st)
{
	return pg__stmt(st)->nparams;
}

/* ------------------------------------------------------------- running */

void pg__keep_error(pg_link *c, const PGresult *res)
{
	const char *code = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (!msg || !*msg)
		msg = c->conn ? PQerrorMessage(c->conn) : "no connection";
	str_copy(c->sqlstate, code ? code : "", sizeof(c->sqlstate));
	c->failed = NULL;
	free(c->message);
	c->message = xstrdup(msg);
	/* libpq's messages end in a newline */
	for (size_t n = strlen(c->message); n > 0 && isspace((unsigned char)c->message[n - 1]); n--)
		c->message[n - 1] = '\0';
}

/* A command's outcome: 0, or PG_FAILED with the error kept. */
static int check(pg_link *c, PGresult *res, bool rows)
{
	ExecStatusType es = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	if (es == PGRES_COMMAND_OK || (rows && es == PGRES_TUPLES_OK))
		return 0;
	pg__keep_error(c, res);
	return PG_FAILED;
}

int pg__exec(pg_link *c, const char *sql)
{
	int rc = pg__flush(c);

	if (rc != 0)
		return rc;
	PGresult *res = PQexec(c->conn, sql);
	rc = check(c, res, true);

	PQclear(res);
	return rc;
}

/* The bound values into the arrays libpq takes. */
void pg__param_arrays(pg_stmt *st)
{
	for (int i = 0; i < st->nparams; i++) {
		st->vals[i] = st->params[i + 1].val;
		st->lens[i] = st->params[i + 1].len;
		st->fmts[i] = st->params[i + 1].fmt;
		st->types[i] = st->params[i + 1].oid;
	}
}

/* Prepare st on the current connection, typed by its bound values. */
int pg__ensure_prepared(pg_stmt *st)
{
	pg_link *c = pg__link(st->base.s);
	PGresult *res;
	int rc;

	if (st->name[0] && st->gen == c->gen)
		return 0;
	if ((rc = pg__flush(c)) != 0)
		return rc;
	snprintf(st->name, sizeof(st->name), "f%llu", (unsigned long long)++c->nstatements);
	res = PQprepare(c->conn, st->name, st->sql, st->nparams, st->types);
	rc = check(c, res, false);
	PQclear(res);
	if (rc != 0)
		st->name[0] = '\0';
	else
		st->gen = c->gen;
	return rc;
}

/* A walk: DECLARE a cursor for the query with its values. */
static int open_cursor(pg_stmt *st)
{
	pg_link *c = pg__link(st->base.s);
	char *sql;
	PGresult *res;
	int rc;

	if ((rc = pg__flush(c)) != 0)
		return rc;
	if (!st->name[0])
		snprintf(st->name, sizeof(st->name), "w%llu", (unsigned long long)++c->nstatements);
	sql = xasprintf("DECLARE %sc NO SCROLL CURSOR FOR %s", st->name, st->sql);
	res = PQexecParams(c->conn, sql, st->nparams, st->types, st->vals, st->lens, st->fmts, 0);
	free(sql);
	rc = check(c, res, false);
	PQclear(res);
	if (rc == 0)
		st->cursor = true;
	return rc;
}

static int fetch(pg_stmt *st)
{
	pg_link *c = pg__link(st->base.s);
	char sql[64];
	int rc;

	drop_result(st);
	if ((rc = pg__flush(c)) != 0)
		return rc;
	snprintf(sql, sizeof(sql), "FETCH %d FROM %sc", FETCH_ROWS, st->name);
	st->res = PQexec(c->conn, sql);
	if ((rc = check(c, st->res, true)) != 0) {
		drop_result(st);
		return rc;
	}
	st->nrows = PQntuples(st->res);
	return 0;
}

/* The first step: run the statement (or open its cursor and fetch). */
static int start(pg_stmt *st)
{
	state *s = st->base.s;
	pg_link *c = pg__link(s);
	int rc;

	st->started = true;
	/* outside a transaction a lost connection is made again here (inside
	 * one, the transaction is lost: it fails, and the next begin reconnects) */
	if (s->depth == 0 && pg__reconnect(s) != 0)
		return PG_FAILED;
	if (!c->conn || PQstatus(c->conn) != CONNECTION_OK) {
		return pg__lost(c);
	}
	pg__param_arrays(st);
	if (st->walk && s->depth > 0) {
		if ((rc = open_cursor(st)) != 0 || (rc = fetch(st)) != 0)
			return rc;
		return 0;
	}
	if ((rc = pg__ensure_prepared(st)) != 0 || (rc = pg__flush(c)) != 0)
		return rc;
	st->res = PQexecPrepared(c->conn, st->name, st->nparams, st->vals, st->lens, st->fmts, 0);
	if ((rc = check(c, st->res, true)) != 0) {
		drop_result(st);
		return rc;
	}
	if (PQresultStatus(st->res) == PGRES_COMMAND_OK) {
		const char *n = PQcmdTuples(st->res);
		c->changes = n && *n ? strtoll(n, NULL, 10) : 0;
	} else {
		st->nrows = PQntuples(st->res);
		/* INSERT … RETURNING and the like changed the rows they return */
		const char *n = PQcmdTuples(st->res);
		if (n && *n)
			c->changes = strtoll(n, NULL, 10);
	}
	return 0;
}

static int pgd_step(db_stmt *dst)
{
	pg_stmt *st = pg__stmt(dst);
	int rc;

	if (st->done)
		return DB_DONE;
	if (!st->started) {
		if ((rc = start(st)) != 0) {
			st->done = true;
			return rc;
		}
		st->row = -1;
	}
	if (++st->row < st->nrows)
		return DB_ROW;
	/* a cursor's batch ran out: the next one, unless this one was short */
	if (st->cursor && st->nrows == FETCH_ROWS) {
		if ((rc = fetch(st)) != 0) {
			st->done = true;
			return rc;
		}
		st->row = 0;
		if (st->nrows > 0)
			return DB_ROW;
	}
	st->done = true;
	return DB_DONE;
}

static bool pgd_col_null(db_stmt *st, int i)
{
	pg_stmt *p = pg__stmt(st);

	return !p->res || p->row >= p->nrows || PQgetisnull(p->res, p->row, i);
}

static const char *pgd_col_text(db_stmt *st, int i)
{
	pg_stmt *p = pg__stmt(st);

	if (pgd_col_null(st, i))
		return NULL;
	return PQgetvalue(p->res, p->row, i);
}

static int64_t pgd_col_i64(db_stmt *st, int i)
{
	const char *v = pgd_col_text(st, i);

	if (!v)
		return 0;
	if (v[0] == 't' || v[0] == 'f') /* a boolean expression */
		return v[0] == 't';
	return strtoll(v, NULL, 10);
}

static double pgd_col_double(db_stmt *st, int i)
{
	const char *v = pgd_col_text(st, i);

	return v ? strtod(v, NULL) : 0;
}

static int hexval(char ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : ch - 'A' + 10;
}

/* bytea's text form is "\x" and two hex digits a byte (bytea_output hex,
 * set at connect). */
static const void *pgd_col_blob(db_stmt *st, int i, size_t *len)
{
	pg_stmt *p = pg__stmt(st);
	const char *v = pgd_col_text(st, i);
	size_t n;

	*len = 0;
	if (!v || v[0] != '\\' || v[1] != 'x')
		return NULL;
	n = strlen(v + 2) / 2;
	free(p->blob);
	p->blob = xmalloc(n ? n : 1);
	for (size_t k = 0; k < n; k++)
		p->blob[k] = (unsigned char)(hexval(v[2 + 2 * k]) << 4 | hexval(v[3 + 2 * k]));
	*len = n;
	return p->blob;
}

static int64_t pgd_changes(state *s)
{
	return pg__link(s)->changes;
}

static int pgd_exec(state *s, const char *sql)
{
	pg_link *c = pg__link(s);

	if (!c->conn || PQstatus(c->conn) != CONNECTION_OK) {
		return pg__lost(c);
	}
	return pg__exec(c, sql);
}

static bool pgd_idle(state *s)
{
	pg_link *c = pg__link(s);

	/* a lost connection took its transaction with it */
	return !c->conn || PQstatus(c->conn) != CONNECTION_OK || PQtransactionStatus(c->conn) == PQTRANS_IDLE;
}

static int pgd_fail(state *s, int rc, const char *what)
{
	pg_link *c = pg__link(s);
	const char *st = c->sqlstate;
	int code = ERR_FAIL;

	(void)rc;
	if (c->failed) /* the kept error is that of a write sent ahead */
		what = c->failed;
	if (strncmp(st, "08", 2) == 0 || (c->conn && PQstatus(c->conn) != CONNECTION_OK) ||
	    strncmp(st, "57P", 3) == 0 || strncmp(st, "53", 2) == 0 || strncmp(st, "58", 2) == 0)
		code = ERR_IO; /* the connection, the server shutting down, disk full, I/O */
	else if (strncmp(st, "23", 2) == 0)
		code = ERR_CONFLICT;
	else if (strcmp(st, "55P03") == 0 || strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0)
		code = ERR_LOCKED;
	if (strcmp(st, "55P03") == 0)
		return err_set(code, "state '%s': %s: another process has held its write lock for %d seconds", s->path,
			       what, PG_LOCK_TIMEOUT_S);
	return err_set(code, "state '%s': %s: %s%s%s%s", s->path, what, c->message ? c->message : "failed",
		       st[0] ? " (SQLSTATE " : "", st, st[0] ? ")" : "");
}

/* BEGIN a transaction on a connection made again if it was lost. A
 * connection that died since its last use (the server restarted, our
 * backend terminated) is found by the BEGIN itself, before anything of the
 * transaction ran: so it is made again and the BEGIN tried anew, at once,
 * then after waits of 100 ms, 500 ms, 1.5 s, ... while s->patience_ms
 * lasts (a server restarting). Patience is spent once an outage: after it
 * ran out, transactions fail at once until a connection is made again (a
 * daemon's many writes do not each wait while the server is down). A
 * failure of a write sent ahead (pg__flush) is never retried. 0, or an
 * err_set code. */
static int begin_anew(state *s, bool write)
{
	pg_link *c = pg__link(s);
	int64_t waited = 0, wait = 0, patience = c->gave_up ? 0 : s->patience_ms;
	int rc;

	for (;;) {
		if ((rc = pg__reconnect(s)) != 0) {
			/* err_set by the connect, or by a write sent ahead */
		} else if ((rc = pgd_exec(s, write ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ")) == 0) {
			c->gave_up = false;
			return 0;
		} else {
			rc = pgd_fail(s, rc, write ? "starting a write transaction" : "starting a read transaction");
		}
		bool lost = !c->conn || PQstatus(c->conn) != CONNECTION_OK;
		if (c->failed || !lost)
			return rc;
		if (wait > 0 && waited >= patience) {
			c->gave_up = true;
			return rc;
		}
		if (wait > 0) {
			if (wait > patience - waited)
				wait = patience - waited;
			struct timespec ts = {(time_t)(wait / 1000), (long)(wait % 1000) * 1000000L};
			nanosleep(&ts, NULL);
			waited += wait;
		}
		wait = wait == 0 ? 100 : wait * 3 + 200; /* 100, 500, 1700, ... ms */
	}
}

static int pgd_begin(state *s, bool write, int depth)
{
	pg_link *c = pg__link(s);
	int rc;

	if (depth == 0) {
		if ((rc = begin_anew(s, write)) != 0)
			return rc;
		c->lock_depth = 0;
	} else {
		rc = pgd_exec(s, "SAVEPOINT nest");
	}
	if (rc == 0 && write && c->lock_depth == 0) {
		/* one writer at a time, as SQLite's BEGIN IMMEDIATE: a read
		 * transaction that starts writing takes the lock then */
		rc = pgd_exec(s, c->lock_sql);
		if (rc == 0)
			c->lock_depth = depth + 1;
	}
	if (rc != 0)
		return pgd_fail(s, rc, write ? "starting a write transaction" : "starting a read transaction");
	return 0;
}

static int pgd_end(state *s, bool commit, int depth)
{
	pg_link *c = pg__link(s);
	int rc;

	if (depth > 1)
		rc = pgd_exec(s, commit ? "RELEASE nest" : "ROLLBACK TO nest; RELEASE nest");
	else
		rc = pgd_exec(s, commit ? "COMMIT" : "ROLLBACK");
	/* the lock goes with the level that took it (a savepoint rolled back
	 * releases it) or with the transaction */
	if (depth == 1 || (!commit && c->lock_depth == depth))
		c->lock_depth = 0;
	return rc;
}

static void pgd_close(state *s)
{
	pg_link *c = pg__link(s);

	/* a write sent ahead is finished, not cut off mid-answer */
	if (c->conn && PQstatus(c->conn) == CONNECTION_OK)
		(void)pg__flush(c);
	pg__free(c);
	s->db = NULL;
}

const db_driver state__pg = {
	.name = "postgres",
	.snapshots = true,
	.after_copy = "SELECT setval(pg_get_serial_sequence('runs', 'id'), coalesce((SELECT max(id) FROM runs), 0) + 1, "
		      "false); SELECT setval(pg_get_serial_sequence('journal', 'id'), coalesce((SELECT max(id) FROM "
		      "journal), 0) + 1, false)",
	.prepare = pgd_prepare,
	.finalize = pgd_finalize,
	.reset = pgd_reset,
	.clear = pgd_clear,
	.bind_null = pgd_bind_null,
	.bind_i64 = pgd_bind_i64,
	.bind_double = pgd_bind_double,
	.bind_text = pgd_bind_text,
	.bind_blob = pgd_bind_blob,
	.param_count = pgd_param_count,
	.step = pgd_step,
	.run_batch = pg__run_batch,
	.write_batch = pg__write_batch,
	.step_deferred = pg__step_deferred,
	.flush = pg__flush_state,
	.col_null = pgd_col_null,
	.col_i64 = pgd_col_i64,
	.col_double = pgd_col_double,
	.col_text = pgd_col_text,
	.col_blob = pgd_col_blob,
	.changes = pgd_changes,
	.exec = pgd_exec,
	.fail = pgd_fail,
	.idle = pgd_idle,
	.begin = pgd_begin,
	.end = pgd_end,
	.close = pgd_close,
};
