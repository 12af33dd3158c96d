/*
 * pg_pipe.c: the PostgreSQL backend's pipelines (libpq's pipeline mode):
 * statements sent without waiting for each answer, so that many rows cost
 * one round trip (docs/state.md, "Backends").
 *
 * - run_batch: n rows of one statement, their answers read at once;
 * - write_batch: a whole write transaction (BEGIN, the write lock, the
 *   rows, COMMIT) sent and synced, its answers read by the connection's
 *   next use (pg__flush): the server writes a list page while the caller
 *   fetches the next;
 * - step_deferred: writes inside a transaction, answered at the next
 *   other use of the connection, at the latest the commit.
 *
 * Every other use of the connection calls pg__flush first, so answers are
 * always read in order, and an error among them is kept (pg__keep_error),
 * reported by the statement that read it, naming the write it came from.
 */
#include "state/internal.h"

#include <libpq-fe.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Rows a pipeline sends before it reads their answers: enough to make a
 * list page one round trip, few enough that the answers (a command tag
 * each) never fill the socket while we are still sending. */
#define PIPELINE_MAX 1000

/* Read the answers of `sent` pipelined commands and the sync: 0, or
 * PG_FAILED with the first error kept. */
static int pipeline_results(pg_link *c, size_t sent)
{
	int rc = 0;
	PGresult *r;

	c->changes = 0;
	for (size_t i = 0; i < sent; i++) {
		while ((r = PQgetResult(c->conn)) != NULL) {
			ExecStatusType es = PQresultStatus(r);
			if (es == PGRES_COMMAND_OK) {
				c->changes += strtoll(PQcmdTuples(r), NULL, 10);
			} else if (es != PGRES_TUPLES_OK && es != PGRES_PIPELINE_ABORTED && rc == 0) {
				pg__keep_error(c, r);
				rc = PG_FAILED;
			}
			PQclear(r);
		}
	}
	/* the sync's own result, then out of pipeline mode (a lost
	 * connection leaves it; nothing more can be read) */
	while (!PQexitPipelineMode(c->conn) && (r = PQgetResult(c->conn)) != NULL)
		PQclear(r);
	if (PQpipelineStatus(c->conn) != PQ_PIPELINE_OFF && rc == 0) {
		pg__keep_error(c, NULL);
		rc = PG_FAILED;
	}
	return rc;
}

/* Bind row `from` and prepare the statement (typed by that row's values),
 * answers of earlier deferred statements read, then enter pipeline mode. */
static int pipeline_start(db_stmt *dst, size_t from, int (*bind)(db_stmt *st, size_t i, void *arg), void *arg)
{
	pg_stmt *st = pg__stmt(dst);
	pg_link *c = pg__link(dst->s);
	int rc;

	if ((rc = bind(dst, from, arg)) != 0)
		return rc;
	pg__param_arrays(st);
	if ((rc = pg__ensure_prepared(st)) != 0 || (rc = pg__flush(c)) != 0)
		return rc;
	if (!PQenterPipelineMode(c->conn)) {
		pg__keep_error(c, NULL);
		return PG_FAILED;
	}
	return 0;
}

/* Send rows from..to-1 into the pipeline (row `from` is bound already);
 * *sent counts those sent. 0, or the first failure. */
static int send_rows(db_stmt *dst, size_t from, size_t to, int (*bind)(db_stmt *st, size_t i, void *arg), void *arg,
		     size_t *sent)
{
	pg_stmt *st = pg__stmt(dst);
	pg_link *c = pg__link(dst->s);
	int rc;

	for (size_t i = from; i < to; i++) {
		if (i > from) {
			if ((rc = bind(dst, i, arg)) != 0)
				return rc;
			pg__param_arrays(st);
		}
		if (!PQsendQueryPrepared(c->conn, st->name, st->nparams, st->vals, st->lens, st->fmts, 0)) {
			pg__keep_error(c, NULL);
			return PG_FAILED;
		}
		(*sent)++;
	}
	return 0;
}

int pg__run_batch(db_stmt *dst, size_t n, int (*bind)(db_stmt *st, size_t i, void *arg), void *arg)
{
	state *s = dst->s;
	pg_link *c = pg__link(s);
	int rc;

	for (size_t from = 0; from < n; from += PIPELINE_MAX) {
		size_t to = n - from < PIPELINE_MAX ? n : from + PIPELINE_MAX, sent = 0;
		if (s->depth == 0 && pg__reconnect(s) != 0)
			return PG_FAILED;
		if ((rc = pipeline_start(dst, from, bind, arg)) != 0)
			return rc;
		rc = send_rows(dst, from, to, bind, arg, &sent);
		if (!PQpipelineSync(c->conn) && rc == 0) {
			pg__keep_error(c, NULL);
			rc = PG_FAILED;
		}
		int got = pipeline_results(c, sent);
		if (rc == 0)
			rc = got;
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------ many rows a statement */

/* A write_batch of state/'s one-row INSERT … VALUES (…) ON CONFLICT … is
 * sent as one statement of many rows (the VALUES tuple repeated, its
 * parameters renumbered): the server then runs one statement a list page,
 * not 400, a third of the time. At most MULTI_ROWS rows, and 65,535
 * parameters (the protocol's limit), a statement. */
#define MULTI_ROWS 1000
#define MULTI_PARAMS 65535

/* The VALUES tuple of a one-row INSERT, "($1, $2, …)": its first and last
 * character in *open and *close; false when sql is not such a statement. */
static bool values_tuple(const char *sql, const char **open, const char **close)
{
	const char *v = strncmp(sql, "INSERT INTO ", 12) == 0 ? strstr(sql, " VALUES (") : NULL;

	if (!v)
		return false;
	*open = v + 8;
	for (const char *p = *open + 1; *p; p++) {
		if (*p == ')') {
			*close = p;
			return true;
		}
		if (!strchr("$0123456789, ", *p))
			return false;
	}
	return false;
}

/* Rows a statement of st for a batch of n: 0 when st is not a one-row
 * INSERT … VALUES or n < 2 (one statement a row). */
static size_t multi_rows(pg_stmt *st, size_t n)
{
	const char *open, *close;
	size_t cap;

	if (n < 2 || st->nparams < 1 || !values_tuple(st->sql, &open, &close))
		return 0;
	cap = MULTI_PARAMS / (size_t)st->nparams;
	if (cap > MULTI_ROWS)
		cap = MULTI_ROWS;
	return n < cap ? n : cap;
}

/* st's SQL with its VALUES tuple repeated `rows` times, row r's $j as
 * $(r * nparams + j). */
static char *multi_sql(const pg_stmt *st, size_t rows)
{
	const char *open, *close;
	buf b = BUF_INIT(0);
	int rc = 0;

	if (!values_tuple(st->sql, &open, &close))
		return NULL;
	rc |= buf_add(&b, st->sql, (size_t)(open - st->sql));
	for (size_t r = 0; r < rows; r++) {
		rc |= r ? buf_adds(&b, ", ") : 0;
		for (const char *p = open; p <= close; p++) {
			if (*p != '$') {
				rc |= buf_addc(&b, *p);
				continue;
			}
			char *end;
			long j = strtol(p + 1, &end, 10);
			rc |= buf_printf(&b, "$%zu", r * (size_t)st->nparams + (size_t)j);
			p = end - 1;
		}
	}
	rc |= buf_adds(&b, close + 1);
	if (rc != 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

/* Prepare st's statement of `rows` rows on this connection (unless it
 * is), typed by row 0's values; an earlier one of other rows goes. */
static int multi_prepare(db_stmt *dst, size_t rows, int (*bind)(db_stmt *st, size_t i, void *arg), void *arg)
{
	pg_stmt *st = pg__stmt(dst);
	pg_link *c = pg__link(dst->s);
	int k = st->nparams, rc;

	if (st->multi_name[0] && st->multi_gen == c->gen && st->multi_rows == rows)
		return 0;
	if ((rc = bind(dst, 0, arg)) != 0)
		return rc;
	pg__param_arrays(st);
	if ((rc = pg__flush(c)) != 0)
		return rc;
	if (st->multi_name[0] && st->multi_gen == c->gen) {
		char sql[48];
		snprintf(sql, sizeof(sql), "DEALLOCATE %s", st->multi_name);
		PQclear(PQexec(c->conn, sql));
	}
	st->multi_name[0] = '\0';
	char *sql = multi_sql(st, rows);
	Oid *types = xcalloc(rows * (size_t)k, sizeof(*types));
	for (size_t r = 0; r < rows; r++)
		memcpy(types + r * (size_t)k, st->types, (size_t)k * sizeof(*types));
	char name[24];
	snprintf(name, sizeof(name), "m%llu", ++c->nstatements);
	PGresult *res = sql ? PQprepare(c->conn, name, sql, (int)(rows * (size_t)k), types) : NULL;
	rc = res && PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : PG_FAILED;
	if (rc != 0)
		pg__keep_error(c, res);
	PQclear(res);
	free(types);
	free(sql);
	if (rc == 0) {
		str_copy(st->multi_name, name, sizeof(st->multi_name));
		st->multi_gen = c->gen;
		st->multi_rows = rows;
	}
	return rc;
}

/* Rows from..from+rows-1 bound one by one, their values copied into one
 * parameter list, and sent as st's statement of `rows` rows. */
static int send_many(db_stmt *dst, size_t from, size_t rows, int (*bind)(db_stmt *st, size_t i, void *arg),
		     void *arg)
{
	pg_stmt *st = pg__stmt(dst);
	pg_link *c = pg__link(dst->s);
	size_t k = (size_t)st->nparams, total = rows * k;
	size_t *at = xcalloc(total, sizeof(*at));
	const char **vals = xcalloc(total, sizeof(*vals));
	int *lens = xcalloc(total, sizeof(*lens)), *fmts = xcalloc(total, sizeof(*fmts));
	buf store = BUF_INIT(0);
	int rc = 0;

	for (size_t r = 0; r < rows && rc == 0; r++) {
		if ((rc = bind(dst, from + r, arg)) != 0)
			break;
		pg__param_arrays(st);
		for (size_t j = 0; j < k && rc == 0; j++) {
			size_t i = r * k + j;
			lens[i] = st->lens[j];
			fmts[i] = st->fmts[j];
			at[i] = SIZE_MAX;
			if (!st->vals[j])
				continue;
			at[i] = store.len;
			/* text with its NUL; a blob by its length */
			rc = buf_add(&store, st->vals[j], fmts[i] ? (size_t)lens[i] : strlen(st->vals[j]) + 1);
		}
	}
	for (size_t i = 0; rc == 0 && i < total; i++)
		vals[i] = at[i] == SIZE_MAX ? NULL : store.data + at[i];
	if (rc == 0 && !PQsendQueryPrepared(c->conn, st->multi_name, (int)total, vals, lens, fmts, 0)) {
		pg__keep_error(c, NULL);
		rc = PG_FAILED;
	}
	buf_release(&store);
	free(at);
	free(vals);
	free(lens);
	free(fmts);
	return rc;
}

/* n rows as statements of `per` rows, the rest one statement a row. */
static int send_multi(db_stmt *dst, size_t n, size_t per, int (*bind)(db_stmt *st, size_t i, void *arg), void *arg,
		      size_t *sent)
{
	size_t from = 0;
	int rc = 0;

	for (; rc == 0 && n - from >= per; from += per)
		if ((rc = send_many(dst, from, per, bind, arg)) == 0)
			(*sent)++;
	if (rc == 0 && from < n && (rc = bind(dst, from, arg)) == 0) {
		pg__param_arrays(pg__stmt(dst));
		rc = send_rows(dst, from, n, bind, arg, sent);
	}
	return rc;
}

/* Send one statement without parameters into the pipeline. */
static int send_plain(pg_link *c, const char *sql)
{
	if (PQsendQueryParams(c->conn, sql, 0, NULL, NULL, NULL, NULL, 0))
		return 0;
	pg__keep_error(c, NULL);
	return PG_FAILED;
}

/* write_batch: BEGIN, the write lock, the n rows and COMMIT in one
 * pipeline, synced and left for pg__flush to read. A batch too large for
 * one pipeline is run at once instead. */
int pg__write_batch(db_stmt *dst, size_t n, int (*bind)(db_stmt *st, size_t i, void *arg), void *arg,
		    const char *what)
{
	state *s = dst->s;
	pg_link *c = pg__link(s);
	size_t sent = 0;
	int rc;

	if (n + 3 > PIPELINE_MAX) {
		if ((rc = state__pg.begin(s, true, 0)) != 0)
			return rc;
		if ((rc = pg__run_batch(dst, n, bind, arg)) != 0) {
			(void)state__pg.end(s, false, 1);
			return rc;
		}
		return state__pg.end(s, true, 1);
	}
	if (pg__reconnect(s) != 0)
		return PG_FAILED;
	size_t per = multi_rows(pg__stmt(dst), n);
	if (per && (rc = multi_prepare(dst, per, bind, arg)) != 0)
		return rc;
	if ((rc = pipeline_start(dst, 0, bind, arg)) != 0)
		return rc;
	rc = send_plain(c, "BEGIN");
	sent += rc == 0;
	if (rc == 0 && (rc = send_plain(c, c->lock_sql)) == 0)
		sent++;
	if (rc == 0)
		rc = per ? send_multi(dst, n, per, bind, arg, &sent) : send_rows(dst, 0, n, bind, arg, &sent);
	if (rc == 0 && (rc = send_plain(c, "COMMIT")) == 0)
		sent++;
	/* the sync sends it all; without it (a failure above) the server
	 * never started the transaction's end: flush rolls it back */
	if (rc == 0 && !PQpipelineSync(c->conn)) {
		pg__keep_error(c, NULL);
		rc = PG_FAILED;
	}
	c->deferred = sent;
	c->synced = rc == 0;
	c->ahead = what;
	if (rc != 0) {
		if (sent == 0)
			(void)PQexitPipelineMode(c->conn);
		int kept = pg__flush(c);
		return kept ? kept : rc;
	}
	return 0;
}

int pg__flush(pg_link *c)
{
	size_t n = c->deferred;
	bool whole = c->ahead != NULL, complete = c->synced;
	const char *what = c->ahead;
	int rc;

	if (n == 0)
		return 0;
	c->deferred = 0;
	c->ahead = NULL;
	if (!c->synced && !PQpipelineSync(c->conn)) {
		pg__keep_error(c, NULL);
		(void)pipeline_results(c, n);
		rc = PG_FAILED;
	} else {
		rc = pipeline_results(c, n);
	}
	c->synced = false;
	if (whole && (rc != 0 || !complete)) {
		/* a write_batch's transaction that failed (its error left it
		 * open) or was never sent whole: end it; say which write it was */
		if (c->conn && PQstatus(c->conn) == CONNECTION_OK &&
		    PQtransactionStatus(c->conn) != PQTRANS_IDLE)
			PQclear(PQexec(c->conn, "ROLLBACK"));
		if (rc != 0)
			c->failed = what;
	}
	return rc;
}

int pg__flush_state(state *s)
{
	return pg__flush(pg__link(s));
}

int pg__step_deferred(db_stmt *dst)
{
	pg_stmt *st = pg__stmt(dst);
	pg_link *c = pg__link(dst->s);
	int rc;

	pg__param_arrays(st);
	if ((rc = pg__ensure_prepared(st)) != 0) /* flushes first when it prepares */
		return rc;
	if (c->deferred == 0 && !PQenterPipelineMode(c->conn)) {
		pg__keep_error(c, NULL);
		return PG_FAILED;
	}
	if (!PQsendQueryPrepared(c->conn, st->name, st->nparams, st->vals, st->lens, st->fmts, 0)) {
		pg__keep_error(c, NULL);
		(void)pg__flush(c);
		return PG_FAILED;
	}
	/* a bounded pipeline: its answers never fill the socket while we send */
	return ++c->deferred >= PIPELINE_MAX ? pg__flush(c) : 0;
}
