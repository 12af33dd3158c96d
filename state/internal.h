/*
 * internal.h: what the files of state/ share and nothing outside state/
 * sees: the handle's fields, the migration entry point, transaction and
 * statement helpers, and the mapping from SQLite result codes to flotilla's
 * error codes. Only the .c files of state/ include it (and sqlite3.h with
 * it).
 */
#ifndef FLOTILLA_STATE_INTERNAL_H
#define FLOTILLA_STATE_INTERNAL_H

#include <sqlite3.h>

#include "state/state.h"

/* "FLT1": written by the first migration, checked on every open so that
 * flotilla never migrates (writes to) another program's SQLite file. */
#define STATE_APPLICATION_ID 0x464c5431

struct state {
	sqlite3 *db;
	char *path;
	int version;       /* schema version after open (STATE_SCHEMA_VERSION) */
	int depth;         /* transaction nesting: 0 none, 1 BEGIN, >1 savepoints */
	strmap *stmts;     /* SQL text -> cached sqlite3_stmt (keys are literals) */
	char host[256];    /* gethostname(), for leases and runs */
	struct state_refresh *refreshes; /* open ones, detached by state_close */
};

/* schema.c: bring an open, identified file (at version `seen`, from
 * db_identify) up to STATE_SCHEMA_VERSION in one write transaction, and
 * set s->version. A current file is left alone without taking the write
 * lock; otherwise the version is read again under the lock, as another
 * process may have migrated meanwhile. *was: the version the migration
 * started from (0: an empty file), STATE_SCHEMA_VERSION when none ran;
 * set once the migration is committed. */
int state__migrate(state *s, int seen, int *was) WUR;

/* Check that the open file is empty, or a flotilla state file no newer than
 * ours, without writing. Sets *version. ERR_INVALID otherwise. */
int state__identify(state *s, int *version) WUR;

/*
 * Map a SQLite failure to an error code and set the last error to
 * "state file 'path': <what>: <sqlite message>". SQLITE_BUSY/LOCKED become
 * ERR_LOCKED, I/O and full disk ERR_IO, a corrupt or foreign file
 * ERR_INVALID, a constraint ERR_CONFLICT, anything else ERR_FAIL.
 */
int state__fail(state *s, int rc, const char *what);

/* Run SQL without results (several statements allowed). */
int state__exec(state *s, const char *sql) WUR;

/*
 * A statement prepared once per handle and kept, found by its SQL text:
 * `sql` must outlive the handle (a string literal). It comes back reset,
 * with no bindings. Callers reset it when done (db_reset), so that it does
 * not keep a read snapshot open. Not for a statement that stays open
 * across a user callback, where a nested call could reset it: those use
 * db_prepare.
 */
int state__stmt(state *s, const char *sql, sqlite3_stmt **out) WUR;
/* Step a statement that returns no rows (an INSERT, UPDATE or DELETE),
 * then reset it: 0 when it ran to the end, else state__fail(s, rc, what).
 * sqlite3_changes and sqlite3_last_insert_rowid still tell about it. */
int state__step_done(state *s, sqlite3_stmt *st, const char *what) WUR;
/* state__step_done for an INSERT of one row: *id is its rowid once it ran. */
int state__step_insert(state *s, sqlite3_stmt *st, const char *what, int64_t *id) WUR;
/* Step a query of one text column that returns at most one row, then reset
 * it: *out is a heap copy of the value, NULL when there is no row (or the
 * value is NULL). 0, or state__fail(s, rc, what). */
int state__step_str(state *s, sqlite3_stmt *st, const char *what, char **out) WUR;
/* Step a statement that returns exactly one row (an aggregate such as
 * count(*)): 0 with the row there to read, else state__fail(s, rc, what),
 * no row at all included. The caller resets st either way. */
int state__step_one(state *s, sqlite3_stmt *st, const char *what) WUR;
/* A fresh statement that the caller finalizes. */
int state__prepare(state *s, const char *sql, sqlite3_stmt **out) WUR;
void state__reset(sqlite3_stmt *st);

/*
 * Transactions. db_begin(s, true) takes the write lock at once (BEGIN
 * IMMEDIATE), so a transaction never fails half way because another
 * writer came first; the busy timeout waits for it instead. Inside an
 * open transaction, begin makes a savepoint, so functions that open their
 * own transaction can be called from one another.
 */
int state__begin(state *s, bool write) WUR;
int state__commit(state *s) WUR;
/* Roll back the innermost level; keeps the current last error. */
void state__rollback(state *s);

/* Binding and reading helpers; text is bound SQLITE_STATIC (the caller
 * keeps it alive until the statement is reset). NULL binds NULL. */
int state__bind_text(sqlite3_stmt *st, int i, const char *v);
char *state__col_str(sqlite3_stmt *st, int i); /* heap copy, or NULL */
/* A heap copy when copy, else the statement's own text, valid until the
 * next step or reset (for rows handed to a foreach callback). */
char *state__col_text(sqlite3_stmt *st, int i, bool copy);

/*
 * Walk the rows of `sql` (no parameters) in one read transaction, on a
 * statement of its own so that `row` may call back into state/. `row`
 * returning nonzero stops the walk and is returned; `what` names the read
 * in error messages.
 */
int state__foreach(state *s, const char *sql, const char *what, int (*row)(sqlite3_stmt *st, void *arg),
	       void *arg) WUR;

/* Read one integer-valued query ("SELECT count(*) …") without parameters. */
int state__query_i64(state *s, const char *sql, int64_t *out) WUR;

int64_t db_now(void);

/* projects.c: forget the open refreshes of a handle being closed (their
 * statements are finalized with the others). */
void state__detach_refreshes(state *s);

/* meta, within the caller's transaction: get (heap copy or NULL) and set */
int state__meta_get(state *s, const char *key, char **out) WUR;
/*
 * The columns of a project row after its id, in order, each a state_project
 * field of the same name: X(field, kind), kind TEXT, INT, I64, REAL or
 * BOOL. The list refresh's upsert writes the LISTED ones; the others are
 * bookkeeping. Every SELECT's column list, reading a row, writing one and
 * releasing one come from these lists, so a new cached field is a column
 * (a migration in schema.c), a field of state_project and a row here.
 */
#define STATE_PROJECT_LISTED(X)                                                                        \
	X(name, TEXT) X(region_id, TEXT) X(org_id, TEXT) X(pg_version, INT)                                \
	X(history_retention_seconds, I64) X(created_at, TEXT) X(updated_at, TEXT)                          \
	X(quota_active_time, I64) X(quota_compute_time, I64) X(quota_written_data, I64)                    \
	X(quota_data_transfer, I64) X(quota_logical_size, I64) X(min_cu, REAL) X(max_cu, REAL)             \
	X(suspend_timeout_seconds, I64) X(pg_settings_json, TEXT) X(allowed_ips_json, TEXT)                \
	X(protected_branches_only, BOOL) X(logical_replication, BOOL) X(block_public_connections, BOOL)    \
	X(maintenance_window_json, TEXT)
#define STATE_PROJECT_FIELDS(X)                                                                        \
	STATE_PROJECT_LISTED(X)                                                                        \
	X(listed_at, I64) X(deep_at, I64) X(deep_updated_at, TEXT) X(fingerprint, TEXT) X(deep_fingerprint, TEXT)
#define STATE__COLUMN(field, kind) ", " #field
#define STATE_PROJECT_COLUMNS "id" STATE_PROJECT_FIELDS(STATE__COLUMN)

/* Fill *p from the current row of a SELECT STATE_PROJECT_COLUMNS; strings
 * are heap copies when copy, else borrowed from the statement. */
void state__read_project(sqlite3_stmt *st, state_project *p, bool copy);

int state__meta_set(state *s, const char *key, const char *value) WUR;

#endif
