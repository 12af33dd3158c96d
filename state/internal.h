/*
 * internal.h: what the files of state/ share and nothing outside state/
 * sees: the handle's fields, the backends behind it, the migration entry
 * points, transaction and statement helpers. Only the .c files of state/
 * include it.
 *
 * Two backends hold a state (docs/state.md, "Backends"): an SQLite file
 * (sqlite.c, the default) and a PostgreSQL schema (pg.c). Every other file
 * of state/ is written once, against the statements below (db_stmt,
 * db_bind_*, db_step, db_col_*), in the SQL both backends read: numbered
 * parameters (?1), ON CONFLICT upserts, RETURNING, no backend-only
 * function. A backend supplies a db_driver.
 */
#ifndef FLOTILLA_STATE_INTERNAL_H
#define FLOTILLA_STATE_INTERNAL_H

#include "state/state.h"

/* "FLT1": written by the first migration, checked on every open so that
 * flotilla never migrates (writes to) another program's SQLite file. */
#define STATE_APPLICATION_ID 0x464c5431

/* ------------------------------------------------------------- backends */

/* What db_step returns besides a backend's failure code (the values are
 * SQLite's, so that its driver passes codes through). */
#define DB_ROW 100
#define DB_DONE 101

/* A prepared statement of either backend; each driver's own struct starts
 * with this one. */
typedef struct db_stmt {
	const struct db_driver *drv;
	state *s;
	struct db_stmt *prev, *next; /* in s->live: every statement not finalized */
} db_stmt;

typedef struct db_driver {
	const char *name; /* "sqlite", "postgres" */
	/* Whether many lookups in one read transaction are better served by
	 * reading the tables once (snapshot.c): true where a statement costs
	 * a network round trip. */
	bool snapshots;
	/* A statement of sql; persistent: kept for the handle's life (the
	 * statement cache). 0, or state__fail's code. */
	int (*prepare)(state *s, const char *sql, bool persistent, db_stmt **out);
	void (*finalize)(db_stmt *st);
	/* Back to before its first step; bindings are kept until clear. */
	void (*reset)(db_stmt *st);
	void (*clear)(db_stmt *st);
	/* Parameters count from 1. Text and blobs are the caller's until the
	 * statement is reset, unless copy. 0, or a backend failure code. */
	int (*bind_null)(db_stmt *st, int i);
	int (*bind_i64)(db_stmt *st, int i, int64_t v);
	int (*bind_double)(db_stmt *st, int i, double v);
	int (*bind_text)(db_stmt *st, int i, const char *v, bool copy);
	int (*bind_blob)(db_stmt *st, int i, const void *v, size_t len, bool copy);
	int (*param_count)(db_stmt *st);
	/* DB_ROW, DB_DONE, or a failure code for fail(). */
	int (*step)(db_stmt *st);
	/* Run a statement that returns no rows inside a transaction, its
	 * answer read later (PostgreSQL: sent in a pipeline, read before the
	 * connection's next other use, at the latest the commit, which fails
	 * if it failed); or NULL: stepped at once. 0, or a failure code. */
	int (*step_deferred)(db_stmt *st);
	/* Read the answers of the statements sent deferred now: 0, or a
	 * failure code (NULL: nothing is ever deferred). */
	int (*flush)(state *s);
	/* Run a statement that returns no rows n times, bind(st, i, arg)
	 * binding run i: 0, or a failure code (bind's own code, or the
	 * backend's). PostgreSQL sends them all before it reads an answer (a
	 * pipeline): one round trip, not n. */
	int (*run_batch)(db_stmt *st, size_t n, int (*bind)(db_stmt *st, size_t i, void *arg), void *arg);
	/* run_batch in a write transaction of its own, outside any other,
	 * its answers read later (PostgreSQL: the transaction is sent whole
	 * and the server writes it while the caller goes on; the next use of
	 * the connection reads the answers and fails, naming `what`, if it
	 * failed, which rolled it back); or NULL: begin, run_batch, commit. */
	int (*write_batch)(db_stmt *st, size_t n, int (*bind)(db_stmt *st, size_t i, void *arg), void *arg,
			   const char *what);
	/* Columns of the current row, from 0; text and blobs are valid until
	 * the next step or reset. A NULL reads as 0 or NULL. */
	bool (*col_null)(db_stmt *st, int i);
	int64_t (*col_i64)(db_stmt *st, int i);
	double (*col_double)(db_stmt *st, int i);
	const char *(*col_text)(db_stmt *st, int i);
	const void *(*col_blob)(db_stmt *st, int i, size_t *len);
	/* Rows the handle's last INSERT, UPDATE or DELETE changed. */
	int64_t (*changes)(state *s);
	/* SQL without results, several statements allowed: 0 or a failure code. */
	int (*exec)(state *s, const char *sql);
	/* A failure code (and what the backend knows of it) as an ERR_ code
	 * and the last error "state …: what: detail". */
	int (*fail)(state *s, int rc, const char *what);
	/* True when no transaction is open on the connection (the backend may
	 * end one by itself after an error). */
	bool (*idle)(state *s);
	/* Start a transaction level (depth: the levels open now; above 0 a
	 * savepoint). A write level takes the state's write lock at once
	 * (SQLite's BEGIN IMMEDIATE), so that writers never fail half way; a
	 * read transaction sees one snapshot. 0, or state__fail's code. */
	int (*begin)(state *s, bool write, int depth);
	/* End the innermost level (depth: the levels open, counting it):
	 * 0, or a failure code. */
	int (*end)(state *s, bool commit, int depth);
	void (*close)(state *s);
	/* SQL run after a copy into this backend (ids given explicitly leave
	 * PostgreSQL's identity sequences behind), or NULL. */
	const char *after_copy;
} db_driver;

struct state {
	const db_driver *drv;
	void *db;          /* the backend's connection: sqlite3 *, or pg.c's */
	char *path;        /* the location as given; for postgres:// without its password */
	int version;       /* schema version after open (STATE_SCHEMA_VERSION) */
	int depth;         /* transaction nesting: 0 none, 1 BEGIN, >1 savepoints */
	strmap *stmts;     /* SQL text -> cached db_stmt (keys are literals) */
	db_stmt *live;     /* every statement not yet finalized */
	char host[256];    /* gethostname(), for leases and runs */
	int64_t patience_ms; /* state_set_patience */
	struct state_refresh *refreshes; /* open ones, detached by state_close */
	bool read_txn;     /* the outermost open transaction is a read one that has not written */
	struct state_snap *snap; /* snapshot.c's, while read_txn; NULL: none yet */
};

static inline int db_bind_null(db_stmt *st, int i) { return st->drv->bind_null(st, i); }
static inline int db_bind_i64(db_stmt *st, int i, int64_t v) { return st->drv->bind_i64(st, i, v); }
static inline int db_bind_double(db_stmt *st, int i, double v) { return st->drv->bind_double(st, i, v); }
/* NULL binds NULL; v must live until the statement is reset. */
static inline int db_bind_text(db_stmt *st, int i, const char *v)
{
	return v ? st->drv->bind_text(st, i, v, false) : st->drv->bind_null(st, i);
}
/* The same for a value that dies before the step (a local buffer). */
static inline int db_bind_text_copy(db_stmt *st, int i, const char *v)
{
	return v ? st->drv->bind_text(st, i, v, true) : st->drv->bind_null(st, i);
}
static inline int db_bind_blob(db_stmt *st, int i, const void *v, size_t len)
{
	return st->drv->bind_blob(st, i, v, len, false);
}
static inline int db_param_count(db_stmt *st) { return st->drv->param_count(st); }
static inline int db_step(db_stmt *st) { return st->drv->step(st); }
static inline bool db_col_null(db_stmt *st, int i) { return st->drv->col_null(st, i); }
static inline int64_t db_col_i64(db_stmt *st, int i) { return st->drv->col_i64(st, i); }
static inline int db_col_int(db_stmt *st, int i) { return (int)st->drv->col_i64(st, i); }
static inline double db_col_double(db_stmt *st, int i) { return st->drv->col_double(st, i); }
static inline const void *db_col_blob(db_stmt *st, int i, size_t *len) { return st->drv->col_blob(st, i, len); }
static inline int64_t db_changes(state *s) { return s->drv->changes(s); }
/* Finalize a statement of state__prepare's (NULL: nothing). */
void db_finalize(db_stmt *st);

/* sqlite.c: open (and create) the SQLite state file at s->path: modes,
 * WAL, identification and migration; again: a second connection to a file
 * already open, neither created nor migrated. */
extern const db_driver state__sqlite;
int state__sqlite_open(state *s, bool again, state_open_report *report) WUR;

/* pg.c, pg_open.c: the PostgreSQL backend. */
struct pg_conn;   /* libpq's PGconn */
struct pg_result; /* libpq's PGresult */
extern const db_driver state__pg;
/* How long a write waits for another writer's lock (lock_timeout). */
#define PG_LOCK_TIMEOUT_S 5
typedef struct pg_link {
	struct pg_conn *conn;            /* libpq's PGconn */
	char *conninfo;                  /* what libpq is given: a secret (it may hold a password) */
	char *schema;                    /* the fleet's schema */
	char lock_sql[96];               /* takes the write lock: pg_advisory_xact_lock(key of the schema) */
	unsigned gen;                    /* bumped at each (re)connect: statements prepare again */
	unsigned long long nstatements;  /* names prepared statements */
	int lock_depth;                  /* the level that holds the write lock, 0: none */
	int64_t changes;
	size_t deferred;                 /* statements sent in a pipeline, their answers not read yet */
	bool synced;                     /* ... and the pipeline's sync: a write_batch's transaction */
	const char *ahead;               /* that transaction's `what` */
	const char *failed;              /* ... kept when it failed, for the error that reports it */
	bool gave_up;                    /* a lost connection outlasted the state's patience */
	char sqlstate[6];                /* the last error */
	char *message;
} pg_link;
/* A statement's parameter and the statement, as pg.c and pg_pipe.c see
 * them. */
typedef struct pg_param {
	char *val;    /* NULL: SQL NULL */
	int len, fmt; /* fmt 1: binary (a blob) */
	unsigned oid;
	char num[32]; /* a number's text */
	char *owned;  /* a copy made for bind(copy) */
} pg_param;

typedef struct pg_stmt {
	db_stmt base;
	char *sql;            /* with $n parameters */
	bool walk;            /* a SELECT read through a cursor when in a transaction */
	char name[24];        /* the prepared statement's name, "" until prepared */
	unsigned gen;         /* the connection it was prepared on */
	int nparams;
	pg_param *params;     /* [1..nparams] */
	/* what libpq is handed, [0..nparams) */
	const char **vals;
	int *lens, *fmts;
	unsigned *types;      /* libpq's Oid */
	/* the result being stepped through */
	struct pg_result *res;
	int row, nrows;
	bool started, done;
	bool cursor;          /* a cursor named name + "c" is open */
	unsigned char *blob;  /* the last blob column read, decoded */
	size_t blob_len;
	/* an INSERT … VALUES of one row as one of many rows (pg_pipe.c) */
	char multi_name[24];  /* prepared, "" until then */
	unsigned multi_gen;   /* the connection it was prepared on */
	size_t multi_rows;    /* its rows */
} pg_stmt;
static inline pg_stmt *pg__stmt(db_stmt *st)
{
	return (pg_stmt *)st;
}
static inline pg_link *pg__link(state *s)
{
	return s->db;
}
/* The bound values into the arrays libpq takes. */
void pg__param_arrays(pg_stmt *st);
/* Prepare the statement on this connection unless it is: 0, or PG_FAILED. */
int pg__ensure_prepared(pg_stmt *st);
/* pg_pipe.c: db_driver's run_batch, write_batch, flush and step_deferred. */
int pg__run_batch(db_stmt *dst, size_t n, int (*bind)(db_stmt *st, size_t i, void *arg), void *arg);
int pg__write_batch(db_stmt *dst, size_t n, int (*bind)(db_stmt *st, size_t i, void *arg), void *arg,
		    const char *what);
int pg__flush_state(state *s);
int pg__step_deferred(db_stmt *dst);
/* DEALLOCATE st's statements prepared on this connection. */
void pg__deallocate(pg_stmt *st);
/* True when a state location names PostgreSQL (postgres:// or postgresql://). */
bool state__is_pg(const char *location);
/* Connect, then identify and migrate the schema, making it when create
 * (else ERR_NOTFOUND when it holds no state); again: connect only, to a
 * schema at our version. s->path is set to the location without its
 * password. */
int state__pg_open(state *s, const char *location, const state *again, bool create,
		   state_open_report *report) WUR;
/* db_step's failure code on PostgreSQL: the detail is in the pg_link's
 * last error. */
#define PG_FAILED 1
/* A statement found no connection: the error kept as such. PG_FAILED. */
int pg__lost(pg_link *c);
/* Connect again when the connection was lost (at a transaction's start). */
int pg__reconnect(state *s) WUR;
void pg__disconnect(pg_link *c);
void pg__free(pg_link *c);
/* Keep a failed result's SQLSTATE and message as c's last error. */
void pg__keep_error(pg_link *c, const struct pg_result *res);
/* Run SQL on the connection: 0, or 1 with the error kept in c. */
int pg__exec(pg_link *c, const char *sql);
/* Read the answers of the statements sent deferred: 0, or 1 with the
 * first error kept. Called before any other use of the connection. */
int pg__flush(pg_link *c);

/* schema.c: bring an open, identified SQLite file (at version `seen`,
 * from state__identify) up to STATE_SCHEMA_VERSION in one write
 * transaction, and set s->version. A current file is left alone without
 * taking the write lock; otherwise the version is read again under the
 * lock, as another process may have migrated meanwhile. *was: the version
 * the migration started from (0: an empty file), STATE_SCHEMA_VERSION when
 * none ran; set once the migration is committed. */
int state__migrate(state *s, int seen, int *was) WUR;

/* Check that the open file is empty, or a flotilla state file no newer than
 * ours, without writing. Sets *version. ERR_INVALID otherwise. */
int state__identify(state *s, int *version) WUR;

/*
 * Map a backend's failure code to an error code and set the last error to
 * "state file 'path': <what>: <the backend's message>" (the driver's
 * fail): waiting too long for a lock is ERR_LOCKED, I/O and a full disk
 * ERR_IO, a corrupt or foreign store ERR_INVALID, a constraint
 * ERR_CONFLICT, anything else ERR_FAIL.
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
 * state__prepare.
 */
int state__stmt(state *s, const char *sql, db_stmt **out) WUR;
/* Step a statement that returns no rows (an INSERT, UPDATE or DELETE),
 * then reset it: 0 when it ran to the end, else state__fail(s, rc, what).
 * db_changes still tells about it. */
int state__step_done(state *s, db_stmt *st, const char *what) WUR;
/* Step an INSERT of one row … RETURNING id to its end: *id is the new id. */
int state__step_insert(state *s, db_stmt *st, const char *what, int64_t *id) WUR;
/* Step a query of one text column that returns at most one row, then reset
 * it: *out is a heap copy of the value, NULL when there is no row (or the
 * value is NULL). 0, or state__fail(s, rc, what). */
int state__step_str(state *s, db_stmt *st, const char *what, char **out) WUR;
/* Step a statement that returns exactly one row (an aggregate such as
 * count(*)): 0 with the row there to read, else state__fail(s, rc, what),
 * no row at all included. The caller resets st either way. */
int state__step_one(state *s, db_stmt *st, const char *what) WUR;
/* A write whose answer the caller does not need at once (an upsert in a
 * batch of them): inside a transaction, db_driver.step_deferred; else
 * state__step_done. A failure may be reported by a later statement or the
 * commit instead. 0, or state__fail(s, rc, what). */
int state__step_deferred(state *s, db_stmt *st, const char *what) WUR;
/* The deferred writes' answers read now, so that a failure among them is
 * reported here (as `what`) and not by a later statement. */
int state__flush(state *s, const char *what) WUR;
/* db_driver.run_batch, then reset: 0, or state__fail(s, rc, what). */
int state__run_batch(state *s, db_stmt *st, size_t n, int (*bind)(db_stmt *st, size_t i, void *arg), void *arg,
		     const char *what) WUR;
/* state__run_batch in a write transaction of its own (no transaction may
 * be open): db_driver.write_batch. A failure may come from the state's
 * next use instead. */
int state__write_batch(state *s, db_stmt *st, size_t n, int (*bind)(db_stmt *st, size_t i, void *arg), void *arg,
		       const char *what) WUR;
/* A fresh statement that the caller finalizes. */
int state__prepare(state *s, const char *sql, db_stmt **out) WUR;
void state__reset(db_stmt *st);

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

/* Reading helpers. */
char *state__col_str(db_stmt *st, int i); /* heap copy, or NULL */
/* A heap copy when copy, else the statement's own text, valid until the
 * next step or reset (for rows handed to a foreach callback). */
char *state__col_text(db_stmt *st, int i, bool copy);

/*
 * Walk the rows of `sql` (no parameters) in one read transaction, on a
 * statement of its own so that `row` may call back into state/. `row`
 * returning nonzero stops the walk and is returned; `what` names the read
 * in error messages.
 */
int state__foreach(state *s, const char *sql, const char *what, int (*row)(db_stmt *st, void *arg),
	       void *arg) WUR;

/* Read one integer-valued query ("SELECT count(*) …") without parameters. */
int state__query_i64(state *s, const char *sql, int64_t *out) WUR;

int64_t db_now(void);

/*
 * snapshot.c: a read transaction's snapshot in memory. On a backend whose
 * every statement is a round trip (PostgreSQL: db_driver.snapshots), a
 * read transaction that looks up many projects one by one (a plan of
 * 100,000 tenants) has the tables read once, whole, through cursors, after
 * STATE__SNAP_AFTER lookups, and its other lookups served from memory: the
 * same answers, from the same snapshot (REPEATABLE READ), without a round
 * trip each. It is dropped when the transaction ends or starts writing.
 */
#define STATE__SNAP_AFTER 64
#define STATE__SNAP_MISS 1 /* not served: look it up in the database */
/* 0 with *out a copy, ERR_NOTFOUND, another error, or STATE__SNAP_MISS. */
int state__snap_project(state *s, const char *id, state_project *out);
int state__snap_deep(state *s, const char *project_id, state_deep *out);
/* The transaction that held the snapshot ended or began to write. */
void state__snap_drop(state *s);
/* deep.c and projects.c, for the snapshot: a row of each deep set into
 * out (cap: the capacity of out's array), and heap copies. */
void state__fill_branch(db_stmt *st, state_deep *out, size_t *cap);
void state__fill_endpoint(db_stmt *st, state_deep *out, size_t *cap);
void state__fill_database(db_stmt *st, state_deep *out, size_t *cap);
void state__fill_role(db_stmt *st, state_deep *out, size_t *cap);
void state__deep_copy(const state_deep *from, state_deep *to);
void state__project_copy(const state_project *from, state_project *to);

/* projects.c: forget the open refreshes of a handle being closed (their
 * statements are finalized with the others). */
void state__detach_refreshes(state *s);

/* meta, within the caller's transaction: get (heap copy or NULL) and set */
int state__meta_get(state *s, const char *key, char **out) WUR;
/*
 * The columns of a project row after its id, in order, each a state_project
 * field of the same name: X(field, kind), kind TEXT, INT, I64, REAL,
 * BOOL or I64N (an I64 whose NULL column is -1 in the struct). The list refresh's upsert writes the LISTED ones; the others are
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
	X(maintenance_window_json, TEXT) X(compute_last_active_at, TEXT) X(synthetic_storage_size, I64N) \
	X(active_time, I64N)
#define STATE_PROJECT_FIELDS(X)                                                                        \
	STATE_PROJECT_LISTED(X)                                                                        \
	X(listed_at, I64) X(deep_at, I64) X(deep_updated_at, TEXT) X(fingerprint, TEXT) X(deep_fingerprint, TEXT)
#define STATE__COLUMN(field, kind) ", " #field
#define STATE_PROJECT_COLUMNS "id" STATE_PROJECT_FIELDS(STATE__COLUMN)

/* Fill *p from the current row of a SELECT STATE_PROJECT_COLUMNS; strings
 * are heap copies when copy, else borrowed from the statement. */
void state__read_project(db_stmt *st, state_project *p, bool copy);

int state__meta_set(state *s, const char *key, const char *value) WUR;

/* forgotten.c: the project is mapped again (state_tenant_put, in its
 * transaction): its forgotten row, if any, goes. */
int state__forgotten_clear(state *s, const char *project_id) WUR;

#endif
