/*
 * journal.c: the write-ahead journal of API writes (DESIGN.md "Journal and
 * locks"; the table is schema version 1's).
 *
 * The executor writes a row's intent before it sends a write, the ids the
 * response named once it arrives, and the outcome once the write's
 * operations end. A crash between any two of those leaves an unfinished
 * row (intent, sent or unknown) that the next run finds and resolves:
 * without the journal a create whose response was lost would be repeated.
 * Each function is one statement or one transaction, so a row is never
 * half written. A row's outcome, once written, is kept: sent and finish
 * refuse a finished row (ERR_CONFLICT) rather than overwrite it.
 */
#include "state/internal.h"

#include <string.h>

#define JOURNAL_COLUMNS "id, run_id, tenant, project_id, action, intent_json, state, resource_id, " \
	"operation_ids_json, request_id, error, created_at, updated_at"
#define UNFINISHED "('" STATE_JOURNAL_INTENT "', '" STATE_JOURNAL_SENT "', '" STATE_JOURNAL_UNKNOWN "')"
#define FINISHED "('" STATE_JOURNAL_DONE "', '" STATE_JOURNAL_FAILED "', '" STATE_JOURNAL_RESOLVED "')"

void state_journal_entry_release(state_journal_entry *e)
{
	if (!e)
		return;
	free(e->tenant);
	free(e->project_id);
	free(e->action);
	free(e->intent_json);
	free(e->state);
	free(e->resource_id);
	free(e->operation_ids_json);
	free(e->request_id);
	free(e->error);
	memset(e, 0, sizeof(*e));
}

/* Fill *e from a SELECT JOURNAL_COLUMNS row (heap copies). */
static void read_entry(db_stmt *st, state_journal_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->id = db_col_i64(st, 0);
	e->run_id = db_col_i64(st, 1); /* NULL reads as 0: no run */
	e->tenant = state__col_str(st, 2);
	e->project_id = state__col_str(st, 3);
	e->action = state__col_str(st, 4);
	e->intent_json = state__col_str(st, 5);
	e->state = state__col_str(st, 6);
	e->resource_id = state__col_str(st, 7);
	e->operation_ids_json = state__col_str(st, 8);
	e->request_id = state__col_str(st, 9);
	e->error = state__col_str(st, 10);
	e->created_at = db_col_i64(st, 11);
	e->updated_at = db_col_i64(st, 12);
}

int state_journal_intent(state *s, int64_t run_id, const char *tenant, const char *project_id,
			 const char *action, const char *intent_json, int64_t *id)
{
	db_stmt *st;
	int64_t now = db_now();
	int rc;

	*id = 0;
	if (!action || !*action || !intent_json || !*intent_json)
		return err_set(ERR_INVALID, "state: a journal intent needs an action and the intended call");
	if ((rc = state__stmt(s, "INSERT INTO journal(run_id, tenant, project_id, action, intent_json, state, "
			  "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, '" STATE_JOURNAL_INTENT "', ?6, ?6) RETURNING id",
			  &st)) != 0)
		return rc;
	/* run 0 is no run: the foreign key takes NULL, never a made-up id */
	if (run_id > 0)
		db_bind_i64(st, 1, run_id);
	db_bind_text(st, 2, tenant);
	db_bind_text(st, 3, project_id);
	db_bind_text(st, 4, action);
	db_bind_text(st, 5, intent_json);
	db_bind_i64(st, 6, now);
	return state__step_insert(s, st, "writing the journal", id);
}

/*
 * The tail of sent and finish, inside their transaction, after an UPDATE
 * guarded by the row's state changed nothing: tell a missing row
 * (ERR_NOTFOUND) from one in a state that refuses `to` (ERR_CONFLICT).
 */
static int explain_no_change(state *s, int64_t id, const char *to)
{
	db_stmt *st;
	char *cur = NULL;
	int rc;

	if ((rc = state__stmt(s, "SELECT state FROM journal WHERE id = ?1", &st)) != 0)
		return rc;
	db_bind_i64(st, 1, id);
	rc = state__step_str(s, st, "reading the journal", &cur);
	if (rc == 0)
		rc = cur ? err_set(ERR_CONFLICT, "journal entry %lld is already '%s': it cannot become '%s'",
				   (long long)id, cur, to)
			 : err_set(ERR_NOTFOUND, "journal entry %lld does not exist", (long long)id);
	free(cur);
	return rc;
}

/* Step one guarded UPDATE (bound by the caller) within the caller's
 * transaction; no row changed is explained by explain_no_change. */
static int update_row(state *s, db_stmt *st, int64_t id, const char *to)
{
	int rc = state__step_done(s, st, "writing the journal");

	if (rc == 0 && db_changes(s) == 0)
		rc = explain_no_change(s, id, to);
	if (rc == 0)
		return state__commit(s);
	state__rollback(s);
	return rc;
}

int state_journal_sent(state *s, int64_t id, const char *project_id, const char *resource_id,
		       const char *operation_ids_json, const char *request_id)
{
	db_stmt *st;
	int rc;

	if ((rc = state__begin(s, true)) != 0)
		return rc;
	/* from intent, or sent again (a retried record of the same response) */
	if ((rc = state__stmt(s, "UPDATE journal SET state = '" STATE_JOURNAL_SENT "', "
			  "project_id = coalesce(?2, project_id), resource_id = ?3, operation_ids_json = ?4, "
			  "request_id = ?5, updated_at = ?6 WHERE id = ?1 AND state IN ('" STATE_JOURNAL_INTENT
			  "', '" STATE_JOURNAL_SENT "')", &st)) != 0) {
		state__rollback(s);
		return rc;
	}
	db_bind_i64(st, 1, id);
	db_bind_text(st, 2, project_id);
	db_bind_text(st, 3, resource_id);
	db_bind_text(st, 4, operation_ids_json);
	db_bind_text(st, 5, request_id);
	db_bind_i64(st, 6, db_now());
	return update_row(s, st, id, STATE_JOURNAL_SENT);
}

static bool finish_state(const char *st)
{
	return strcmp(st, STATE_JOURNAL_DONE) == 0 || strcmp(st, STATE_JOURNAL_FAILED) == 0 ||
	       strcmp(st, STATE_JOURNAL_UNKNOWN) == 0 || strcmp(st, STATE_JOURNAL_RESOLVED) == 0;
}

int state_journal_finish(state *s, int64_t id, const char *st_name, const char *error)
{
	db_stmt *st;
	int rc;

	if (!st_name || !finish_state(st_name))
		return err_set(ERR_INVALID, "state: journal entry %lld: cannot finish as '%s' (done, failed, "
			       "unknown or resolved)", (long long)id, st_name ? st_name : "(null)");
	if ((rc = state__begin(s, true)) != 0)
		return rc;
	/* only an unfinished row ends: a recorded outcome is never rewritten */
	if ((rc = state__stmt(s, "UPDATE journal SET state = ?2, error = ?3, updated_at = ?4 "
			  "WHERE id = ?1 AND state IN " UNFINISHED, &st)) != 0) {
		state__rollback(s);
		return rc;
	}
	db_bind_i64(st, 1, id);
	db_bind_text(st, 2, st_name);
	db_bind_text(st, 3, error);
	db_bind_i64(st, 4, db_now());
	return update_row(s, st, id, st_name);
}

/* ------------------------------------------------------------ reading */

/*
 * Hand the rows of `sql` (SELECT JOURNAL_COLUMNS; ?1, when it has one, is
 * `param`; with text, ?1 is text and ?2 param) to fn. They are read in one read transaction and handed out
 * after it ends: fn typically finishes the row it is handed (a recovery
 * pass), and a write from inside a read transaction fails with
 * SQLITE_BUSY_SNAPSHOT, not waited for, when another process wrote since
 * the read began. The rows are few (the unfinished ones, or one run's).
 */
static int journal_walk(state *s, const char *sql, int64_t param, const char *text, state_journal_fn fn, void *arg)
{
	db_stmt *st = NULL;
	state_journal_entry *rows = NULL;
	size_t n = 0, cap = 0, i;
	int rc;

	if ((rc = state__begin(s, false)) != 0)
		return rc;
	if ((rc = state__stmt(s, sql, &st)) == 0) {
		if (text) { /* ?1 text, ?2 param */
			db_bind_text(st, 1, text);
			db_bind_i64(st, 2, param);
		} else if (db_param_count(st) >= 1) {
			db_bind_i64(st, 1, param);
		}
		while ((rc = db_step(st)) == DB_ROW) {
			if (n == cap) {
				cap = cap ? 2 * cap : 16;
				rows = xrealloc(rows, cap * sizeof(*rows));
			}
			read_entry(st, &rows[n++]);
		}
		rc = rc == DB_DONE ? 0 : state__fail(s, rc, "reading the journal");
		state__reset(st);
	}
	if (rc == 0)
		rc = state__commit(s);
	else
		state__rollback(s);
	for (i = 0; i < n && rc == 0; i++)
		rc = fn(arg, &rows[i]);
	for (i = 0; i < n; i++)
		state_journal_entry_release(&rows[i]);
	free(rows);
	return rc;
}

int state_journal_unfinished(state *s, state_journal_fn fn, void *arg)
{
	return journal_walk(s, "SELECT " JOURNAL_COLUMNS " FROM journal WHERE state IN " UNFINISHED " ORDER BY id",
			    0, NULL, fn, arg);
}

int state_journal_run(state *s, int64_t run_id, state_journal_fn fn, void *arg)
{
	return journal_walk(s, "SELECT " JOURNAL_COLUMNS " FROM journal WHERE run_id = ?1 ORDER BY id", run_id,
			    NULL, fn, arg);
}

int state_journal_tenant(state *s, const char *tenant, size_t n, state_journal_fn fn, void *arg)
{
	if (!tenant)
		return err_set(ERR_INVALID, "state: tenant is missing");
	return journal_walk(s, "SELECT * FROM (SELECT " JOURNAL_COLUMNS " FROM journal WHERE tenant = ?1 ORDER BY id "
			    "DESC LIMIT ?2) AS last ORDER BY id", (int64_t)n, tenant, fn, arg);
}

int state_journal_backlog(state *s, int64_t *n)
{
	return state__query_i64(s, "SELECT count(*) FROM journal WHERE state IN " UNFINISHED, n);
}

int state_journal_prune(state *s, int64_t older_than, int64_t *removed)
{
	db_stmt *st;
	int rc;

	*removed = 0;
	/* updated_at of a finished row is when it finished */
	if ((rc = state__stmt(s, "DELETE FROM journal WHERE state IN " FINISHED " AND updated_at < ?1", &st)) != 0)
		return rc;
	db_bind_i64(st, 1, db_now() - older_than);
	if ((rc = state__step_done(s, st, "pruning the journal")) == 0)
		*removed = db_changes(s);
	return rc;
}
