/*
 * schema.c: the schema of the SQLite state file and its migrations.
 *
 * The schema version is PRAGMA user_version; PRAGMA application_id marks
 * the file as flotilla's. Migrations only go forward: step N takes a file
 * from version N-1 to N, and opening a file runs every step it lacks, all
 * in one write transaction with the new user_version, so a file is either
 * wholly at its old version or wholly at the new one. A change to the
 * schema is a new step appended here (and STATE_SCHEMA_VERSION bumped);
 * a released step is never edited. docs/state.md describes every column.
 *
 * What the schema never holds: role passwords, connection URIs, the API
 * key. There is no column for any of them (tests/unit/test-state-open.c
 * checks that no column is named like one).
 */
#include "state/internal.h"

#include <sqlite3.h>
#include <string.h>

typedef struct migration {
	int version;
	const char *what;
	const char *sql;
	/* or NULL: a step SQL alone cannot express, run after `sql` in the
	 * same transaction */
	int (*after)(state *s);
} migration;

/* Version 1: everything. Deep rows belong to their project and go with it
 * (ON DELETE CASCADE); their primary keys start with project_id, so that
 * the cascade and "this project's rows" are index range scans. Tenants
 * have no foreign key to projects: the map outlives a project that left
 * the cache, and the summary counts those tenants. */
static const char schema_v1[] =
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL"
	") STRICT, WITHOUT ROWID;"

	"CREATE TABLE projects ("
	"  id TEXT NOT NULL UNIQUE,"
	"  name TEXT NOT NULL,"
	"  region_id TEXT NOT NULL,"
	"  org_id TEXT,"
	"  pg_version INTEGER NOT NULL,"
	"  history_retention_seconds INTEGER NOT NULL,"
	"  created_at TEXT,"
	"  updated_at TEXT,"
	"  quota_active_time INTEGER NOT NULL,"
	"  quota_compute_time INTEGER NOT NULL,"
	"  quota_written_data INTEGER NOT NULL,"
	"  quota_data_transfer INTEGER NOT NULL,"
	"  quota_logical_size INTEGER NOT NULL,"
	"  min_cu REAL NOT NULL,"
	"  max_cu REAL NOT NULL,"
	"  suspend_timeout_seconds INTEGER NOT NULL,"
	"  pg_settings_json TEXT,"
	"  allowed_ips_json TEXT,"
	"  protected_branches_only INTEGER NOT NULL,"
	"  logical_replication INTEGER NOT NULL,"
	"  block_public_connections INTEGER NOT NULL,"
	"  maintenance_window_json TEXT,"
	"  listed_at INTEGER NOT NULL,"
	"  refresh_gen INTEGER NOT NULL,"
	"  deep_at INTEGER NOT NULL DEFAULT 0,"
	"  deep_updated_at TEXT"
	") STRICT;"
	"CREATE INDEX projects_region ON projects(region_id);"

	"CREATE TABLE branches ("
	"  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
	"  id TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  parent_id TEXT,"
	"  is_default INTEGER NOT NULL,"
	"  protected INTEGER NOT NULL,"
	"  annotations_json TEXT,"
	"  created_at TEXT,"
	"  updated_at TEXT,"
	"  PRIMARY KEY (project_id, id)"
	") STRICT, WITHOUT ROWID;"

	"CREATE TABLE endpoints ("
	"  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
	"  id TEXT NOT NULL,"
	"  branch_id TEXT NOT NULL,"
	"  read_write INTEGER NOT NULL,"
	"  min_cu REAL NOT NULL,"
	"  max_cu REAL NOT NULL,"
	"  suspend_timeout_seconds INTEGER NOT NULL,"
	"  disabled INTEGER NOT NULL,"
	"  current_state TEXT,"
	"  last_active TEXT,"
	"  PRIMARY KEY (project_id, id)"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX endpoints_state ON endpoints(current_state);"

	"CREATE TABLE databases ("
	"  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
	"  branch_id TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  owner TEXT NOT NULL,"
	"  PRIMARY KEY (project_id, branch_id, name)"
	") STRICT, WITHOUT ROWID;"

	"CREATE TABLE roles ("
	"  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
	"  branch_id TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  PRIMARY KEY (project_id, branch_id, name)"
	") STRICT, WITHOUT ROWID;"

	"CREATE TABLE tenants ("
	"  tenant TEXT PRIMARY KEY,"
	"  project_id TEXT NOT NULL UNIQUE,"
	"  fleet TEXT NOT NULL,"
	"  source TEXT NOT NULL,"
	"  mapped_at INTEGER NOT NULL"
	") STRICT;"

	"CREATE TABLE runs ("
	"  id INTEGER PRIMARY KEY,"
	"  command TEXT NOT NULL,"
	"  pid INTEGER NOT NULL,"
	"  host TEXT NOT NULL,"
	"  started_at INTEGER NOT NULL,"
	"  finished_at INTEGER,"
	"  outcome TEXT,"
	"  summary_json TEXT"
	") STRICT;"

	"CREATE TABLE journal ("
	"  id INTEGER PRIMARY KEY,"
	"  run_id INTEGER REFERENCES runs(id),"
	"  tenant TEXT,"
	"  project_id TEXT,"
	"  action TEXT NOT NULL,"
	"  intent_json TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  resource_id TEXT,"
	"  operation_ids_json TEXT,"
	"  request_id TEXT,"
	"  error TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL"
	") STRICT;"
	"CREATE INDEX journal_state ON journal(state, id);"
	"CREATE INDEX journal_project ON journal(project_id, id);"
	"CREATE INDEX journal_tenant ON journal(tenant, id);"
	"CREATE INDEX journal_run ON journal(run_id);"

	"CREATE TABLE leases ("
	"  name TEXT PRIMARY KEY,"
	"  holder TEXT NOT NULL,"
	"  pid INTEGER NOT NULL,"
	"  host TEXT NOT NULL,"
	"  acquired_at INTEGER NOT NULL,"
	"  renewed_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL"
	") STRICT, WITHOUT ROWID;";

/* Version 2 (issue 5): the parse cache, blob id -> a manifest file's
 * decoded records (spec/'s private encoding), so that unchanged blobs are
 * never parsed again; and each tenant's protect flag as of its last
 * manifest, so a delete is refused for a protected tenant even after its
 * manifest is gone. */
static const char schema_v2[] =
	"CREATE TABLE parse_cache ("
	"  blob_id TEXT PRIMARY KEY,"
	"  data BLOB NOT NULL,"
	"  used_at INTEGER NOT NULL"
	") STRICT, WITHOUT ROWID;"
	"ALTER TABLE tenants ADD COLUMN protect INTEGER NOT NULL DEFAULT 0;";

/* Version 3 (issue 5): the manifest index of one commit (meta
 * manifest_index_commit): which file defines each tenant, and which files
 * hold the Fleet or a Profile, so that a plan of the tenants changed since
 * that commit loads only the changed files (engine/incremental.c). */
static const char schema_v3[] =
	"CREATE TABLE manifest_index ("
	"  tenant TEXT PRIMARY KEY,"
	"  path TEXT NOT NULL"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX manifest_index_path ON manifest_index (path);"
	"CREATE TABLE manifest_extra ("
	"  path TEXT PRIMARY KEY"
	") STRICT, WITHOUT ROWID;";

/* Version 4 (issue 11): deep reads are due when the managed fields moved,
 * not when updated_at did (Neon moves it on compute activity): each row
 * keeps the fingerprint of those fields (state_project_fingerprint) and
 * the one its last deep read saw. */
static const char schema_v4[] =
	"ALTER TABLE projects ADD COLUMN fingerprint TEXT;"
	"ALTER TABLE projects ADD COLUMN deep_fingerprint TEXT;";

/* Fill the new columns of a file from schema 3: a deep read that was
 * current by the old rule (same updated_at) is current by the new one, so
 * a migrated fleet is not read deep all over again. */
static int fingerprint_rows(state *s)
{
	db_stmt *sel = NULL, *upd = NULL;
	int rc;

	/* the columns later steps add are not there yet: NULL here */
	if ((rc = state__prepare(s, "SELECT " STATE_PROJECT_COLUMNS " FROM (SELECT *, NULL AS compute_last_active_at, "
				 "NULL AS synthetic_storage_size, NULL AS active_time FROM projects)", &sel)) != 0 ||
	    (rc = state__prepare(s, "UPDATE projects SET fingerprint = ?2, deep_fingerprint = CASE WHEN "
				 "deep_at > 0 AND deep_updated_at IS updated_at THEN ?2 END WHERE id = ?1", &upd)) != 0)
		goto done;
	while ((rc = db_step(sel)) == DB_ROW) {
		state_project p;
		char fp[STATE_FINGERPRINT_LEN + 1];
		state__read_project(sel, &p, false);
		state_project_fingerprint(&p, fp);
		db_bind_text_copy(upd, 1, p.id);
		db_bind_text_copy(upd, 2, fp);
		if ((rc = state__step_done(s, upd, "writing a fingerprint")) != 0)
			goto done;
	}
	rc = rc == DB_DONE ? 0 : state__fail(s, rc, "reading projects");
done:
	db_finalize(sel);
	db_finalize(upd);
	return rc;
}

/* Version 5 (issue 12): endpoint names. flotilla names the read replicas
 * it makes, so a create whose outcome was lost can be found again. */
static const char schema_v5[] =
	"ALTER TABLE endpoints ADD COLUMN name TEXT;";

/* Version 6 (issue 13): an incremental plan's identity check looks its
 * few names up instead of reading every unmapped project, and counts the
 * never-read ones (deep_at 0) from an index. (Not a partial index: one
 * that holds no row gets no statistics, and the PRAGMA optimize run at
 * each close then analyzed the whole table again, every time.) */
static const char schema_v6[] =
	"CREATE INDEX projects_name ON projects (name);"
	"CREATE INDEX projects_deep_at ON projects (deep_at);";

/* Version 7 (issue 14): each tenant's sync state (sync.c). Only tenants
 * that are not synced have a row. */
static const char schema_v7[] =
	"CREATE TABLE tenant_sync ("
	"  tenant TEXT PRIMARY KEY,"
	"  state TEXT NOT NULL,"
	"  reason TEXT NOT NULL,"
	"  fields TEXT,"
	"  since INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE INDEX tenant_sync_state ON tenant_sync (state);";

/* Version 8 (issue 16): the projects `flotilla state forget` unmapped,
 * by project id, so that `refresh --rebuild` never maps one again from
 * its annotations; a mapping of the project (a plan that adopts it when
 * its manifest comes back, `flotilla adopt`) removes its row. */
static const char schema_v8[] =
	"CREATE TABLE forgotten ("
	"  project_id TEXT PRIMARY KEY,"
	"  tenant TEXT NOT NULL,"
	"  fleet TEXT NOT NULL,"
	"  forgotten_at INTEGER NOT NULL,"
	"  run_id INTEGER NOT NULL"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX forgotten_tenant ON forgotten (tenant);";

/* Version 9 (issue 17, idle tenants): when a project's computes were
 * last active and its storage, as the list shows them, for `flotilla
 * status --idle` and the daemon's idle metric. NULL until a list fills
 * them. compute_last_active_at NULL is Neon's "never active", so the rows
 * there are get '' (not known yet: no idle time is read from it). */
static const char schema_v9[] =
	"ALTER TABLE projects ADD COLUMN compute_last_active_at TEXT;"
	"ALTER TABLE projects ADD COLUMN synthetic_storage_size INTEGER;"
	"UPDATE projects SET compute_last_active_at = '';";

/* Version 10 (issue 17): what each tenant used per period (usage.c), for
 * `flotilla status`'s tenants near their quotas. */
static const char schema_v10[] =
	"CREATE TABLE tenant_usage ("
	"  tenant TEXT NOT NULL,"
	"  period_start INTEGER NOT NULL,"
	"  period_end INTEGER NOT NULL,"
	"  project_id TEXT NOT NULL,"
	"  compute_unit_seconds INTEGER NOT NULL,"
	"  active_seconds INTEGER NOT NULL,"
	"  storage_bytes_month INTEGER NOT NULL,"
	"  storage_bytes INTEGER NOT NULL,"
	"  transfer_bytes INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  PRIMARY KEY (tenant, period_start)"
	") STRICT, WITHOUT ROWID;";

/* Version 11 (issue 17): the backup schedule of each project's default
 * branch as last read or written (backups.c); no row: never read;
 * refused: Neon's message when it refused a PUT (the account's plan). */
static const char schema_v11[] =
	"CREATE TABLE backup_schedules ("
	"  project_id TEXT PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,"
	"  branch_id TEXT NOT NULL,"
	"  schedule_json TEXT NOT NULL,"
	"  read_at INTEGER NOT NULL,"
	"  refused TEXT"
	") STRICT, WITHOUT ROWID;";

/* Version 12 (issue 17): each project's active time in the current
 * billing period as the list shows it, so the daemon's usage tier has the
 * figure the activeTime quota is checked against without a list of its
 * own. NULL until a list fills it. */
static const char schema_v12[] = "ALTER TABLE projects ADD COLUMN active_time INTEGER;";

/* Step N brings version N-1 to N. Append only. */
static const migration migrations[] = {
	{ 1, "the first schema", schema_v1, NULL },
	{ 2, "parse cache and tenant protect flag", schema_v2, NULL },
	{ 3, "manifest index", schema_v3, NULL },
	{ 4, "managed-field fingerprints", schema_v4, fingerprint_rows },
	{ 5, "endpoint names", schema_v5, NULL },
	{ 6, "name and unread indexes", schema_v6, NULL },
	{ 7, "tenant sync states", schema_v7, NULL },
	{ 8, "forgotten projects", schema_v8, NULL },
	{ 9, "compute activity and storage of projects", schema_v9, NULL },
	{ 10, "tenant usage", schema_v10, NULL },
	{ 11, "backup schedules", schema_v11, NULL },
	{ 12, "active time of projects", schema_v12, NULL },
};

_Static_assert(ARRAY_LEN(migrations) == STATE_SCHEMA_VERSION,
	       "one migration step per schema version");

/* One integer pragma (application_id, user_version). */
static int pragma_int(state *s, const char *sql, int *out, int *sqlite_rc)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*out = 0;
	*sqlite_rc = sqlite3_prepare_v2((sqlite3 *)s->db, sql, -1, &st, NULL);
	if (*sqlite_rc == SQLITE_OK)
		*sqlite_rc = sqlite3_step(st);
	if (*sqlite_rc == SQLITE_ROW) {
		*out = sqlite3_column_int(st, 0);
		*sqlite_rc = SQLITE_OK;
	}
	rc = *sqlite_rc == SQLITE_OK ? 0 : state__fail(s, *sqlite_rc, "reading the file header");
	sqlite3_finalize(st);
	return rc;
}

int state__identify(state *s, int *version)
{
	int app = 0, ver = 0, objects = 0, src = SQLITE_OK, rc;

	*version = 0;
	/* one snapshot: read apart, the three could straddle another
	 * process's first migration and look like a foreign file */
	if ((rc = state__begin(s, false)) != 0)
		return rc;
	if ((rc = pragma_int(s, "PRAGMA application_id", &app, &src)) == 0 &&
	    (rc = pragma_int(s, "PRAGMA user_version", &ver, &src)) == 0)
		rc = pragma_int(s, "SELECT count(*) FROM sqlite_master", &objects, &src);
	if (rc == 0)
		rc = state__commit(s);
	else
		state__rollback(s);
	if (rc != 0) {
		if ((src & 0xff) == SQLITE_NOTADB)
			return err_set(ERR_INVALID, "'%s' is not a flotilla state file: not an SQLite database",
				       s->path);
		return rc;
	}
	if (app == 0 && ver == 0 && objects == 0)
		return 0; /* empty: a new state file */
	if (app == 0)
		return err_set(ERR_INVALID, "'%s' is not a flotilla state file: an SQLite database of "
			       "another program (no flotilla application id)", s->path);
	if ((unsigned)app != STATE_APPLICATION_ID)
		return err_set(ERR_INVALID, "'%s' is not a flotilla state file: an SQLite database of "
			       "another program (application id 0x%08x, flotilla's is 0x%08x)", s->path,
			       (unsigned)app, (unsigned)STATE_APPLICATION_ID);
	if (ver > STATE_SCHEMA_VERSION)
		return err_set(ERR_INVALID, "state file '%s' was written by a newer flotilla (schema %d, "
			       "this one reads up to %d)", s->path, ver, STATE_SCHEMA_VERSION);
	if (ver < 1)
		return err_set(ERR_INVALID, "state file '%s' is damaged: flotilla's application id with "
			       "schema version %d", s->path, ver);
	*version = ver;
	return 0;
}

int state__migrate(state *s, int seen, int *was)
{
	char sql[96];
	int rc, from = 0;
	size_t i;

	*was = STATE_SCHEMA_VERSION;
	/* the common case takes no write lock: `flotilla status` must not wait
	 * for a refresh that is writing */
	if (seen == STATE_SCHEMA_VERSION) {
		s->version = seen;
		return 0;
	}
	if ((rc = state__begin(s, true)) != 0)
		return rc;
	if ((rc = state__identify(s, &from)) != 0)
		goto done;
	for (i = 0; i < ARRAY_LEN(migrations); i++) {
		const migration *m = &migrations[i];
		if (m->version <= from)
			continue;
		rc = sqlite3_exec((sqlite3 *)s->db, m->sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			char what[128];
			snprintf(what, sizeof(what), "migrating to schema %d (%s)", m->version, m->what);
			rc = state__fail(s, rc, what);
			goto done;
		}
		if (m->after && (rc = m->after(s)) != 0)
			goto done;
	}
	if (from < STATE_SCHEMA_VERSION) {
		snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; PRAGMA user_version = %d",
			 STATE_APPLICATION_ID, STATE_SCHEMA_VERSION);
		rc = state__exec(s, sql);
	}
done:
	if (rc != 0) {
		state__rollback(s);
		return rc;
	}
	if ((rc = state__commit(s)) != 0)
		return rc;
	*was = from;
	s->version = STATE_SCHEMA_VERSION;
	return 0;
}
