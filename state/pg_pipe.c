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
#include <stdlib.h>

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
	if ((rc = pipeline_start(dst, 0, bind, arg)) != 0)
		return rc;
	rc = send_plain(c, "BEGIN");
	sent += rc == 0;
	if (rc == 0 && (rc = send_plain(c, c->lock_sql)) == 0)
		sent++;
	if (rc == 0)
		rc = send_rows(dst, 0, n, bind, arg, &sent);
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
