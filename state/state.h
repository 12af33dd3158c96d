/*
 * state.h: the one header of state/, flotilla's state file (SQLite).
 *
 * It holds the cache of the live fleet (projects from list refreshes;
 * branches, endpoints, databases and roles from deep reads; never a
 * password), the tenant <-> project map, a refresh watermark per project,
 * the journal of writes, leases, and run history. The file is created
 * 0600, in WAL mode, and its schema is versioned with PRAGMA user_version
 * and migrated forward on open (docs/state.md).
 *
 * Writes are transactions: a list refresh commits page by page, so a crash
 * leaves every row whole and the previous complete refresh's watermark in
 * place; readers (another process running `flotilla status`) see a
 * consistent snapshot. state/ never calls the API and knows nothing of
 * neon/: the reconciler converts between the two. Nor does it log: what
 * the user should hear of (a mode narrowed, a migration, a lease taken
 * over) comes back to the caller as data (state_open_report,
 * state_lease_takeover), and the caller decides.
 */
#ifndef FLOTILLA_STATE_H
#define FLOTILLA_STATE_H

#include "util/util.h"

#define STATE_SCHEMA_VERSION 12
#define STATE_DEFAULT_PATH ".flotilla/state.db"
/* The environment variable that names the state when --state does not. */
#define STATE_ENV "FLOTILLA_STATE"

typedef struct state state;

/*
 * A state lives in an SQLite file (a path: the default) or in a schema of
 * a PostgreSQL database (a libpq URI, postgres://… or postgresql://…, with
 * schema=NAME, default "flotilla", and anything libpq takes: sslmode, …).
 * Everything below behaves the same on both (docs/state.md, "Backends").
 */
/* True when location names PostgreSQL rather than a file. */
bool state_location_is_pg(const char *location);
/* What names the state in messages and logs: the file's path, or the URI
 * without its password. Valid while s is open. */
const char *state_name(const state *s);

/*
 * Open (and create, with its directory, when absent) the state file, and
 * migrate it to STATE_SCHEMA_VERSION. ERR_IO when it cannot be opened or
 * created; ERR_INVALID when it is not a flotilla state file or was written
 * by a newer flotilla (a schema version above ours).
 */
int state_open(state **out, const char *path) WUR;

/* One file of the state (the file, its -wal or its -shm) that group or
 * others could read when state_open_ex found it. */
typedef struct state_mode_fix {
	const char *suffix;                  /* appended to the state file's path: "", "-wal" or "-shm" (static) */
	unsigned mode;                       /* its permission bits as found (e.g. 0644) */
	int error;                           /* 0: narrowed to the owner's bits; else the errno of the failed chmod */
} state_mode_fix;

/*
 * What opening did to the file besides opening it, for the caller to tell
 * the user: state/ never logs. Each part is filled as it happens, so after
 * a failed open the report still says what was done before the failure.
 */
typedef struct state_open_report {
	state_mode_fix mode_fixes[3];        /* files readable by others, in the order above */
	size_t nmode_fixes;
	/* the file stayed out of WAL mode (a file system without shared
	 * memory): still correct, but readers wait for writers */
	bool not_wal;
	char journal_mode[16];               /* when not_wal: the mode it kept ("delete", …) */
	/* an existing file was migrated from schema migrated_from to
	 * migrated_to (STATE_SCHEMA_VERSION); both 0 when it was current
	 * already, or empty (a new state file is not a migration) */
	int migrated_from, migrated_to;
} state_open_report;

/* state_open, and what it did in *report (may be NULL), which is zeroed
 * on entry and filled on success and failure alike. */
int state_open_ex(state **out, const char *path, state_open_report *report) WUR;
/* state_open_ex of a state that is there already: nothing is created (a
 * file, or a schema); ERR_NOTFOUND when there is none yet. For commands
 * that only read (status). An existing older one is still migrated. */
int state_open_existing(state **out, const char *location, state_open_report *report) WUR;
/* A second connection to the file `of` has open, for another thread (each
 * connection is one thread's): the file must still be there, and be
 * `of`'s schema version; nothing is created or migrated. */
int state_open_again(state **out, const state *of) WUR;
/* How long a transaction's start waits for a lost connection to the state
 * to come back (PostgreSQL restarting): STATE_PATIENCE_MS unless set. A
 * lost connection found with 0 is made again once, without waiting (the
 * daemon's lease renewer: its deadline is the lease's TTL). */
#define STATE_PATIENCE_MS 2000
void state_set_patience(state *s, int64_t ms);
void state_close(state *s);
int state_schema_version(state *s);

/* Group many small writes and reads (a whole load's parse cache entries)
 * in one write transaction: begin, then commit (or rollback). Calls made
 * in between that open their own transactions nest inside it. */
int state_batch_begin(state *s) WUR;
int state_batch_commit(state *s) WUR;
void state_batch_rollback(state *s);
/* One read transaction for many reads: a consistent view of the file, and
 * no lock taken and dropped per query (plan_build's 100,000 lookups). End
 * with state_read_end. */
int state_read_begin(state *s) WUR;
void state_read_end(state *s);

/* The state file's generation (meta "generation", 0 before any): every
 * apply that acts takes the next one before its first write, so a plan
 * file made at one generation is refused at another (a plan is applied
 * once, and never after another apply changed the fleet behind it). bump
 * returns the new value in *out (may be NULL). */
int state_generation(state *s, int64_t *out) WUR;
int state_generation_bump(state *s, int64_t *out) WUR;

/* Small settings: "fleet", "list_refreshed_at", "last_applied_commit", … */
int state_meta_set(state *s, const char *key, const char *value) WUR;
/* *out is a heap copy or NULL when absent. */
int state_meta_get(state *s, const char *key, char **out) WUR;

/* -------------------------------------------------------------- projects */

/*
 * A project as the list endpoint shows it (the fields flotilla plans
 * against). JSON-valued settings are kept as compact JSON text. Strings are
 * borrowed when writing; state_project_get returns heap copies that
 * state_project_release frees.
 */
typedef struct state_project {
	char *id, *name, *region_id, *org_id;
	int pg_version;
	int64_t history_retention_seconds;
	char *created_at, *updated_at;       /* as Neon sent them (RFC 3339) */
	int64_t quota_active_time, quota_compute_time;
	int64_t quota_written_data, quota_data_transfer, quota_logical_size; /* 0: unlimited */
	double min_cu, max_cu;               /* default_endpoint_settings; 0 when unset */
	int64_t suspend_timeout_seconds;
	char *pg_settings_json;              /* object, or NULL */
	char *allowed_ips_json;              /* array, or NULL */
	bool protected_branches_only, logical_replication, block_public_connections;
	char *maintenance_window_json;       /* object, or NULL */
	/* activity and size as the list shows them (schema 9): when a compute
	 * of the project was last active (RFC 3339; NULL: never, Neon omits
	 * it), and its synthetic storage size in bytes (-1: not sent). Not
	 * managed fields: they are in no fingerprint. */
	char *compute_last_active_at;
	int64_t synthetic_storage_size;
	/* the project's active time in the current billing period, seconds,
	 * as the list shows it (schema 12; -1: not sent) */
	int64_t active_time;
	/* bookkeeping, filled by reads only */
	int64_t listed_at;                   /* unix seconds of the list page that last had it */
	int64_t deep_at;                     /* last deep read, 0: never */
	char *deep_updated_at;               /* updated_at seen at that deep read */
	/* the managed fields' fingerprint (state_project_fingerprint) as now,
	 * and as it was at the last deep read (NULL: none since schema 4) */
	char *fingerprint, *deep_fingerprint;
} state_project;

/*
 * A fingerprint of the fields of a project that flotilla manages and the
 * list shows: name, region, pg version, history retention, quota, default
 * endpoint settings and settings; not updated_at, which Neon moves when a
 * compute starts or suspends. A deep read is due when it moved since the
 * last one (a change made outside flotilla), never for activity alone
 * (docs/state.md). 16 hex characters.
 */
#define STATE_FINGERPRINT_LEN 16
void state_project_fingerprint(const state_project *p, char out[STATE_FINGERPRINT_LEN + 1]);

void state_project_release(state_project *p);

/* ERR_NOTFOUND when the project is not in the cache. */
int state_project_get(state *s, const char *id, state_project *out) WUR;

/*
 * A list refresh: begin, one page at a time (each its own transaction,
 * stamped with the refresh's start time), then finish. On PostgreSQL a
 * page is written while the caller fetches the next: a page that failed
 * to write fails the next page or finish. finish(complete)
 * removes the projects this refresh never saw (deleted in Neon) with their
 * deep rows, and sets meta "list_refreshed_at"; abort (or a crash) leaves
 * both alone, so an interrupted refresh never removes anything.
 */
typedef struct state_refresh state_refresh;
int state_refresh_begin(state *s, state_refresh **out) WUR;
int state_refresh_page(state_refresh *r, const state_project *items, size_t n) WUR;
/* On success: the number of projects removed as gone. A complete list
 * also clears the incomplete mark below. */
int state_refresh_finish(state_refresh *r, size_t *removed) WUR;
void state_refresh_abort(state_refresh *r);
/* End a list that could not see every project (Neon named some
 * unavailable and reading them one by one failed): like abort, nothing is
 * removed and list_refreshed_at stays, and meta "list_incomplete" holds how
 * many projects were missed until a list completes (state_list_incomplete). */
int state_refresh_incomplete(state_refresh *r, int64_t missing) WUR;
/* Projects the last list could not see (0: it was complete). */
int64_t state_list_incomplete(state *s);

/* One project into the cache outside a list refresh (after apply wrote
 * it): its own fields; its deep rows and deep read stamps are kept, but
 * with deep_current the deep read counts as made at this updated_at (a
 * PATCH of the project's own fields left branches and endpoints as they
 * were), so the next refresh does not read it deep again. */
int state_project_put(state *s, const state_project *p, bool deep_current) WUR;

/* Visit every cached project in id order (in one read transaction). A
 * nonzero return from fn stops the walk and is returned. */
typedef int (*state_project_fn)(void *arg, const state_project *p);
int state_projects_foreach(state *s, state_project_fn fn, void *arg) WUR;
int64_t state_project_count(state *s);

/* ------------------------------------------------------------ deep state */

typedef struct state_branch {
	char *id, *name, *parent_id;
	bool is_default, protected_;
	char *annotations_json;              /* object, or NULL */
	char *created_at, *updated_at;
} state_branch;

typedef struct state_endpoint {
	char *id, *branch_id;
	bool read_write;
	double min_cu, max_cu;
	int64_t suspend_timeout_seconds;
	bool disabled;
	char *current_state;                 /* init | active | idle */
	char *last_active;
	char *name;                          /* Endpoint.name, or NULL */
} state_endpoint;

typedef struct state_database {
	char *branch_id, *name, *owner;
} state_database;

typedef struct state_role {
	char *branch_id, *name;              /* never a password: the schema has no column for one */
} state_role;

typedef struct state_deep {
	state_branch *branches;
	size_t nbranches;
	state_endpoint *endpoints;
	size_t nendpoints;
	state_database *databases;
	size_t ndatabases;
	state_role *roles;
	size_t nroles;
} state_deep;

/* Replace a project's deep rows in one transaction, and record the deep
 * read (deep_at = now, deep_updated_at = updated_at, deep_fingerprint = the
 * project's fingerprint now). ERR_NOTFOUND when the project is not cached. */
int state_deep_put(state *s, const char *project_id, const char *updated_at, const state_deep *d) WUR;
/* The cached deep state of a project is about to go stale (a write to its
 * branches, endpoints, roles or databases): forget its deep fingerprint, so
 * that the next plan reads it deep again unless a read-back after the
 * write records a fresh one. A process that dies between the write and the
 * read-back then leaves a project that is read again, never one whose
 * stale children the plan trusts. 0 also when the project is not cached. */
int state_deep_stale(state *s, const char *project_id) WUR;
/* Drop a cached project (and its deep rows) that Neon says is deleted,
 * found by a read between two lists; as a list would drop it. 0 also
 * when it is not cached. */
int state_project_gone(state *s, const char *project_id) WUR;
/* Heap copies; state_deep_release frees them. */
int state_deep_get(state *s, const char *project_id, state_deep *out) WUR;
void state_deep_release(state_deep *d);

/* The branches `flotilla restore` preserved, from deep reads: the
 * non-default branches of mapped projects whose name starts with prefix
 * (no % _ or \ in it). *total counts them all; out[0..*n) are the oldest
 * max (by created_at), heap copies for state_preserved_release. */
typedef struct state_preserved {
	char *tenant, *project_id, *branch_id, *name, *created_at; /* created_at may be NULL */
} state_preserved;
int state_preserved_list(state *s, const char *prefix, size_t max, int64_t *total, state_preserved **out,
			 size_t *n) WUR;
void state_preserved_release(state_preserved *v, size_t n);

/* --------------------------------------------------------------- tenants */

typedef struct state_tenant {
	char *tenant, *project_id, *fleet;
	char *source;                        /* "create" | "rebuild" | "adopt" | "recover" */
	int64_t mapped_at;
} state_tenant;

void state_tenant_release(state_tenant *t);
/* Map a tenant to a project (insert or replace). ERR_CONFLICT when the
 * project is already mapped to another tenant. */
int state_tenant_put(state *s, const char *tenant, const char *project_id, const char *fleet,
		     const char *source) WUR;
int state_tenant_get(state *s, const char *tenant, state_tenant *out) WUR;       /* ERR_NOTFOUND */
int state_tenant_by_project(state *s, const char *project_id, state_tenant *out) WUR;
int state_tenant_delete(state *s, const char *tenant) WUR;
typedef int (*state_tenant_fn)(void *arg, const state_tenant *t);
int state_tenants_foreach(state *s, state_tenant_fn fn, void *arg) WUR;
/* Up to `limit` tenants whose names sort after `after` ("" from the
 * start), in name order: the daemon's drift sweep goes round the map a
 * page at a time instead of reading all of it each loop. */
int state_tenants_page(state *s, const char *after, size_t limit, state_tenant_fn fn, void *arg) WUR;
int64_t state_tenant_count(state *s);
/* One row of `flotilla state list`: a mapped tenant with what the state
 * holds about it, read in one query a page. Strings are borrowed for the
 * call; project_name and region_id are NULL when the project is not
 * cached (cached false). */
typedef struct state_tenant_row {
	state_tenant t;
	bool protect;                        /* the manifest's protect, as last seen */
	bool cached;
	const char *project_name, *region_id;
	int pg_version;                      /* 0 when not cached */
	const char *sync_state;              /* STATE_SYNC_STATES' name; "synced" without a row */
	const char *sync_reason;             /* "" when synced */
	int64_t sync_since;                  /* 0 when synced */
	/* the cached project's creation, last compute activity (NULL: never,
	 * or not cached) and storage (-1: not known) */
	const char *created_at, *compute_last_active_at;
	int64_t synthetic_storage_size;
	int64_t active_time;                 /* this billing period's, -1: not known */
} state_tenant_row;
typedef int (*state_tenant_row_fn)(void *arg, const state_tenant_row *r);
/* Up to `limit` rows whose tenants sort after `after` ("" from the start),
 * in name order, as state_tenants_page: fn must not call into the state.
 * fn returning nonzero stops with that code. */
int state_tenant_rows_page(state *s, const char *after, size_t limit, state_tenant_row_fn fn, void *arg) WUR;
/* Remember whether the tenant's manifest says protect: true (refreshed by
 * plan/apply), for when the manifest is gone. ERR_NOTFOUND when unmapped. */
int state_tenant_set_protect(state *s, const char *tenant, bool protect) WUR;
int state_tenant_get_protect(state *s, const char *tenant, bool *protect) WUR;

/* ------------------------------------------------------- backup schedule */

/*
 * backups.c: the cached backup schedule of a project's default branch
 * (schema 9): the BackupScheduleItem array as compact JSON, written by
 * the deep read's schedule GET and after apply's PUT. *schedule_json is a
 * heap copy, or NULL when it was never read (0 either way). The put
 * writes nothing for a project not in the cache.
 */
int state_backup_schedule_put(state *s, const char *project_id, const char *branch_id,
			      const char *schedule_json) WUR;
int state_backup_schedule_get(state *s, const char *project_id, char **schedule_json) WUR;
/* Neon refused a PUT of the project's schedule (422: the account's plan
 * has no automated backups): its message is kept, the schedule left as it
 * was (a new project's: []), until the next put (a read, or a PUT that
 * succeeded) clears it. *message: heap, or NULL when not refused. */
int state_backup_schedule_refuse(state *s, const char *project_id, const char *branch_id, const char *message) WUR;
int state_backup_schedule_refused(state *s, const char *project_id, char **message) WUR;

/* ------------------------------------------------------------- forgotten */

/*
 * forgotten.c: projects `flotilla state forget` unmapped. Their tenants
 * are out of the map, their projects untouched in Neon; the row keeps
 * `refresh --rebuild` from mapping one again by its annotations, and
 * goes when the project is mapped again (state_tenant_put).
 */
typedef struct state_forgotten {
	char *project_id, *tenant, *fleet;
	int64_t forgotten_at;                /* unix seconds */
	int64_t run_id;                      /* the forget's run (state_run_begin), 0: none */
} state_forgotten;
void state_forgotten_release(state_forgotten *f);
/* Unmap tenant in one transaction: its map row and sync row go, and its
 * project is remembered as forgotten (by run_id). *was (may be NULL) gets
 * the mapping as it was (release it). ERR_NOTFOUND when not mapped. */
int state_tenant_forget(state *s, const char *tenant, int64_t run_id, state_tenant *was) WUR;
/* ERR_NOTFOUND when the project was not forgotten (or mapped since). */
int state_forgotten_get(state *s, const char *project_id, state_forgotten *out) WUR;
/* Every row, by tenant; borrowed for the call. fn returning nonzero
 * stops the walk with that code. */
typedef int (*state_forgotten_fn)(void *arg, const state_forgotten *f);
int state_forgotten_foreach(state *s, state_forgotten_fn fn, void *arg) WUR;

/* ----------------------------------------------------- usage (issue 17) */

/*
 * usage.c: what each tenant used in a period (`flotilla usage`), one row
 * per tenant and period start; a later run over the same start replaces
 * it. Figures as the consumption API and the project list give them.
 */
typedef struct state_usage {
	const char *tenant, *project_id;     /* borrowed */
	int64_t period_start, period_end;    /* unix seconds, [start, end) */
	int64_t compute_unit_seconds, active_seconds, storage_bytes_month, storage_bytes, transfer_bytes;
	int64_t updated_at;                  /* set by state_usage_put */
} state_usage;
/* Write the rows in one transaction. */
int state_usage_put(state *s, const state_usage *rows, size_t n) WUR;
/* Each tenant's latest period, by tenant; borrowed for the call. fn
 * returning nonzero stops the walk with that code. */
typedef int (*state_usage_fn)(void *arg, const state_usage *u);
int state_usage_foreach(state *s, state_usage_fn fn, void *arg) WUR;
/* The quotas checked against usage, in this order: activeTime (seconds),
 * computeTime (CU-seconds), dataTransfer (bytes), logicalSize (bytes,
 * against the list's synthetic storage size). writtenData has no figure in
 * the consumption API's metrics. */
enum { STATE_USAGE_NQUOTAS = 4 };
extern const char *const STATE_USAGE_QUOTAS[STATE_USAGE_NQUOTAS];
typedef struct state_usage_quota {
	const char *tenant;
	int64_t period_start;
	int64_t used[STATE_USAGE_NQUOTAS];
	int64_t limit[STATE_USAGE_NQUOTAS]; /* the project's quota as last read; 0: unlimited */
} state_usage_quota;
typedef int (*state_usage_quota_fn)(void *arg, const state_usage_quota *q);
/* Each tenant whose latest period reaches 80% of at least one quota its
 * project has, by tenant; borrowed for the call. */
int state_usage_near_quota(state *s, state_usage_quota_fn fn, void *arg) WUR;

/* ------------------------------------------------------ tenant sync state */

/*
 * sync.c: each tenant's sync state, as the last plan, apply or drift sweep
 * left it, with its reason and since when. Only tenants that are not
 * synced have a row; a mapped tenant without one is synced.
 */
enum {
	STATE_SYNC_SYNCED, STATE_SYNC_OUT_OF_SYNC, STATE_SYNC_DRIFTED,
	STATE_SYNC_BLOCKED, STATE_SYNC_FAILED, STATE_SYNC_APPLYING,
	STATE_SYNC_NSTATES
};
/* "synced", "out-of-sync", "drifted", "blocked", "failed", "applying" */
extern const char *const STATE_SYNC_STATES[STATE_SYNC_NSTATES];
/* The index of a state's name, -1 for none. */
int state_sync_index(const char *name);

typedef struct state_sync {
	char *tenant, *state, *reason;
	char *fields_json;                   /* JSON array of the fields concerned, or NULL */
	int64_t since, updated_at;           /* unix seconds: entered the state, last written */
} state_sync;
void state_sync_release(state_sync *r);
/* Set a tenant's state: "synced" removes its row; the same state again
 * keeps its since. ERR_INVALID for an unknown state. */
int state_sync_put(state *s, const char *tenant, const char *sync_state, const char *reason,
		   const char *fields_json) WUR;
int state_sync_get(state *s, const char *tenant, state_sync *out) WUR; /* ERR_NOTFOUND: no row */
/* Rows handed to fn are borrowed for the call. In tenant order: */
typedef int (*state_sync_fn)(void *arg, const state_sync *r);
int state_sync_foreach(state *s, state_sync_fn fn, void *arg) WUR;
/* Up to limit rows, worst first (failed, blocked, drifted, applying,
 * out-of-sync), then by tenant. */
int state_sync_worst(state *s, size_t limit, state_sync_fn fn, void *arg) WUR;
/* Tenants by state, in one read: synced counts mapped tenants without a
 * row; total is the sum. */
typedef struct state_sync_counts {
	int64_t n[STATE_SYNC_NSTATES];
	int64_t total;
} state_sync_counts;
int state_sync_counts_get(state *s, state_sync_counts *out) WUR;
/* Every mapped tenant whose project is not in the cache: tenant, project id. */
int state_tenants_uncached(state *s, int (*fn)(void *arg, const char *tenant, const char *project_id),
			   void *arg) WUR;
/*
 * The cached projects no tenant is mapped to, for the identity check that
 * comes before every create (diff/): one row for each of their branches
 * that carries annotations, and one row (annotations_json NULL) for a
 * project with none. deep_known: the project's branches were read (else
 * its annotations are unknown). Strings are borrowed for the call; a
 * project's rows come one after the other, projects in no set order.
 */
typedef struct state_unmapped {
	const char *project_id, *name;
	bool deep_known;
	const char *annotations_json;
} state_unmapped;
int state_unmapped_foreach(state *s, int (*fn)(void *arg, const state_unmapped *u), void *arg) WUR;
/* The same for a few names (an incremental plan's creates): the unmapped
 * projects named one of `names` (an index lookup each) and every unmapped
 * project with annotations; *unread counts all the unmapped projects
 * whose branches were never read, named or not. */
int state_unmapped_named(state *s, const char *const *names, size_t n,
			 int (*fn)(void *arg, const state_unmapped *u), void *arg, int64_t *unread) WUR;

/* Every mapped tenant whose remembered protect flag is on, by name. */
int state_tenants_protected(state *s, int (*fn)(void *arg, const char *tenant), void *arg) WUR;

/* ----------------------------------------------------------- parse cache */

/* A manifest blob's decoded form, by git blob id (spec/ encodes it).
 * get: ERR_NOTFOUND when absent; *out is filled (its max applies). */
int state_parse_cache_get(state *s, const char *blob_id, buf *out) WUR;
int state_parse_cache_put(state *s, const char *blob_id, const void *data, size_t len) WUR;
/* Every entry, in one read transaction: one scan is much cheaper than
 * 60,000 lookups (a warm load of a 100k fleet). fn returning nonzero stops
 * the walk with that code; data is valid during the call only. */
typedef int (*state_parse_cache_fn)(void *arg, const char *blob_id, const void *data, size_t len);
int state_parse_cache_foreach(state *s, state_parse_cache_fn fn, void *arg) WUR;
/* Drop entries not used for `older_than` seconds; *removed how many. */
int state_parse_cache_prune(state *s, int64_t older_than, int64_t *removed) WUR;

/* -------------------------------------------------------- manifest index */

/*
 * The manifest index of one commit (index.c): the file that defines each
 * tenant, and the files that hold the Fleet or a Profile. It lets a plan of
 * the tenants changed since that commit load only the changed files, and
 * still catch a tenant defined twice and notice removed tenants.
 */
typedef struct state_index_row {
	const char *tenant;
	const char *path;
} state_index_row;

/* The commit the index describes (heap), or NULL when there is none. */
int state_index_commit(state *s, char **out) WUR;
/* Replace the whole index with `commit`'s, in one transaction. */
int state_index_replace(state *s, const char *commit, const state_index_row *rows, size_t n,
			const char *const *extra, size_t nextra) WUR;
/* Move the index to `commit` by dropping the rows of `paths` (the changed
 * files) and adding `rows` (what those files define now); extra, when not
 * NULL, replaces the Fleet/Profile files. */
int state_index_update(state *s, const char *commit, const char *const *paths, size_t npaths,
		       const state_index_row *rows, size_t n, const char *const *extra, size_t nextra) WUR;
/* The file that defines `tenant` (heap). ERR_NOTFOUND. */
int state_index_path(state *s, const char *tenant, char **path) WUR;
/* The tenants `path` defines, and every Fleet/Profile file. fn returning
 * nonzero stops with that code. */
typedef int (*state_index_fn)(void *arg, const char *value);
int state_index_tenants_at(state *s, const char *path, state_index_fn fn, void *arg) WUR;
int state_index_extra_foreach(state *s, state_index_fn fn, void *arg) WUR;

/* ------------------------------------------------------------- summaries */

typedef struct state_count {
	char *key;
	int64_t n;
} state_count;

typedef struct state_summary {
	int64_t projects, tenants_mapped, projects_unmapped, tenants_without_project;
	int64_t endpoints_active, endpoints_idle, endpoints_other;
	/* non-default branches of mapped projects without flotilla's mark
	 * (flotilla.fleet): made outside flotilla, from deep reads */
	int64_t branches_unmarked;
	int64_t list_refreshed_at;           /* 0: never */
	state_count *by_region;              /* projects per region, region order */
	size_t nby_region;
} state_summary;

/* All in one read transaction, so the figures agree with each other. */
int state_summary_get(state *s, state_summary *out) WUR;
void state_summary_release(state_summary *sum);

/* --------------------------------------------------------------- journal */

/* The write-ahead journal of API writes (DESIGN.md "Journal and locks"):
 * intent before a write, ids after its response, outcome after its
 * operations. Rows never hold secrets: intent_json is a call's method,
 * path and body, and bodies never carry passwords. */
typedef struct state_journal_entry {
	int64_t id, run_id;                  /* run_id 0: written outside a run */
	char *tenant, *project_id, *action, *intent_json, *state;
	char *resource_id, *operation_ids_json, *request_id, *error;
	int64_t created_at, updated_at;      /* unix seconds */
} state_journal_entry;
void state_journal_entry_release(state_journal_entry *e);

/* States: "intent" (written before the request), "sent" (the response
 * arrived: ids known, operations may still run), "done", "failed",
 * "unknown" (the write may or may not have run), "resolved" (a later run
 * found out what became of an unfinished row; error holds how). intent,
 * sent and unknown are unfinished; done, failed and resolved are final. */
#define STATE_JOURNAL_INTENT "intent"
#define STATE_JOURNAL_SENT "sent"
#define STATE_JOURNAL_DONE "done"
#define STATE_JOURNAL_FAILED "failed"
#define STATE_JOURNAL_UNKNOWN "unknown"
#define STATE_JOURNAL_RESOLVED "resolved"

/* Before a write. action: "create", "update", "delete", or a call label
 * like "POST /projects". project_id may be NULL (a create). *id is the new
 * row. run_id 0 records no run; another id must name a run (ERR_CONFLICT
 * otherwise). ERR_INVALID without an action or intent_json. */
int state_journal_intent(state *s, int64_t run_id, const char *tenant, const char *project_id,
			 const char *action, const char *intent_json, int64_t *id) WUR;
/* After the response: project_id (set it when a create learned it; NULL
 * keeps the row's), resource_id (the id the call made, or NULL),
 * operation ids as a JSON array text (or NULL), request id (or NULL).
 * Only from intent (or sent again). ERR_NOTFOUND when the row does not
 * exist, ERR_CONFLICT when it is already unknown or finished. */
int state_journal_sent(state *s, int64_t id, const char *project_id, const char *resource_id,
		       const char *operation_ids_json, const char *request_id) WUR;
/* The end of a row: state done, failed, unknown or resolved (ERR_INVALID
 * for any other); error (NULL when none). Only an unfinished row (intent,
 * sent, unknown) changes: ERR_NOTFOUND when the row does not exist,
 * ERR_CONFLICT when it is already done, failed or resolved. */
int state_journal_finish(state *s, int64_t id, const char *st, const char *error) WUR;
/* Rows left unfinished (intent, sent, unknown), oldest first. They are
 * read in one read transaction, then handed out after it ended, so fn may
 * write (finish the row it is handed); the entry is valid during the call.
 * fn returning nonzero stops the walk with that code. */
typedef int (*state_journal_fn)(void *arg, const state_journal_entry *e);
int state_journal_unfinished(state *s, state_journal_fn fn, void *arg) WUR;
/* Rows of one run, oldest first (for summaries and tests). */
int state_journal_run(state *s, int64_t run_id, state_journal_fn fn, void *arg) WUR;
/* The last n rows of one tenant, oldest first (state show). */
int state_journal_tenant(state *s, const char *tenant, size_t n, state_journal_fn fn, void *arg) WUR;
/* How many rows are unfinished (the daemon's "journal backlog" metric). */
int state_journal_backlog(state *s, int64_t *n) WUR;
/* Delete finished rows (done, failed, resolved) that finished more than
 * `older_than` seconds ago (by updated_at); *removed how many. Unfinished
 * rows are kept, however old. */
int state_journal_prune(state *s, int64_t older_than, int64_t *removed) WUR;

/* ------------------------------------------------------- leases and runs */

typedef struct state_lease {
	char *holder;                        /* "pid@host" */
	int64_t pid;
	char *host;
	int64_t acquired_at, expires_at;
} state_lease;

void state_lease_release(state_lease *l);

/*
 * Take the named lease for ttl seconds. ERR_LOCKED when another live holder
 * has it, with that holder in *held (release it). An expired lease, or one
 * whose holder process is gone (same host, pid not running), is taken over.
 */
int state_lease_acquire(state *s, const char *name, int64_t ttl, state_lease *held) WUR;

/* Why a lease could be taken from its holder (state_lease_takeover.reason). */
#define STATE_LEASE_EXPIRED "expired"
#define STATE_LEASE_HOLDER_GONE "holder process is gone"

/* A lease that state_lease_acquire_ex took from another holder. */
typedef struct state_lease_takeover {
	/* NULL: no takeover (the lease was free, or already ours); else
	 * STATE_LEASE_EXPIRED or STATE_LEASE_HOLDER_GONE (static text) */
	const char *reason;
	state_lease from;                    /* the previous holder's row when reason is set (release it) */
} state_lease_takeover;

/* state_lease_acquire, and on success whether it took the lease over from
 * another holder, from whom and why, in *took (may be NULL; zeroed on
 * entry, set only when 0 is returned). */
int state_lease_acquire_ex(state *s, const char *name, int64_t ttl, state_lease *held,
			   state_lease_takeover *took) WUR;
int state_lease_renew(state *s, const char *name, int64_t ttl) WUR;
/* Renew a lease this process holds by the TTL it was last given (its
 * holder chose it: a daemon's --lease-ttl, an apply's ENGINE_LEASE_TTL). */
int state_lease_extend(state *s, const char *name) WUR;
int state_lease_drop(state *s, const char *name) WUR;
/* Remove a lease whoever holds it; recorded in the run history. */
int state_lease_break(state *s, const char *name, const char *reason) WUR;

/* A run of a command: begin returns its id; finish records the outcome
 * ("ok", "failed", "partial", …) and a JSON summary. */
int state_run_begin(state *s, const char *command, int64_t *run_id) WUR;
int state_run_finish(state *s, int64_t run_id, const char *outcome, const char *summary_json) WUR;

/* A run as recorded: outcome, summary_json and finished_at (0) are unset
 * while it runs or after a crash. */
typedef struct state_run {
	int64_t id;
	char *command, *host, *outcome, *summary_json;
	int64_t pid, started_at, finished_at;
} state_run;
void state_run_release(state_run *r);
/* The last n runs, newest first (status, the unlock audit), in one read
 * transaction, so fn should only read; strings are borrowed for the call.
 * fn returning nonzero stops the walk with that code. */
typedef int (*state_run_fn)(void *arg, const state_run *r);
int state_runs_recent(state *s, size_t n, state_run_fn fn, void *arg) WUR;

/* ------------------------------------------------------------------ copy */

typedef struct state_copy_report {
	int64_t rows;                        /* rows copied */
	int tables;                          /* tables verified the same on both sides */
} state_copy_report;

/*
 * Copy the whole state `from` into `to`, which must be empty (a new file or
 * schema: ERR_CONFLICT otherwise), from either backend to either: one read
 * snapshot of from, one write transaction of to (all or nothing). Leases
 * are not copied (they are the running processes'; the caller holds
 * from's). Then state_verify_same.
 */
int state_copy(state *from, state *to, state_copy_report *out) WUR;
/* Every table of a and b (but leases) has the same rows: counted and
 * hashed in key order. ERR_FAIL naming the first table that differs. */
int state_verify_same(state *a, state *b, state_copy_report *out) WUR;

#endif
