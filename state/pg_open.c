/*
 * pg_open.c: opening a PostgreSQL state: the location, the connection and
 * its settings, and the schema (identified, created and migrated).
 *
 * A fleet's state is one schema (default "flotilla"; schema=NAME in the
 * location). Its table flotilla_version holds flotilla's mark and the
 * schema version, like the SQLite file's application_id and user_version:
 * a schema that holds tables but no mark is another program's and is
 * refused, as is one written by a newer flotilla. Creating and migrating
 * run in one transaction under the schema's write lock, so that two
 * processes opening a new state at once make it once.
 *
 * PostgreSQL's schema starts at version 7, the SQLite file's version when
 * this backend came; a later version is a step appended to both.
 */
#include "state/internal.h"

#include <ctype.h>
#include <libpq-fe.h>
#include <string.h>

#define DEFAULT_SCHEMA "flotilla"
/* The version this backend's first schema is. */
#define PG_FIRST_VERSION 7

/* ------------------------------------------------------------- location */

bool state__is_pg(const char *location)
{
	return location && (strncmp(location, "postgres://", 11) == 0 || strncmp(location, "postgresql://", 13) == 0);
}

/* Does the query parameter at p (up to '&' or the end) have this name? */
static bool param_is(const char *p, const char *name)
{
	size_t n = strlen(name);

	return strncmp(p, name, n) == 0 && p[n] == '=';
}

/* Append n bytes of p to the heap string *s. */
static void cat(char **s, const char *p, size_t n)
{
	size_t have = *s ? strlen(*s) : 0;

	*s = xrealloc(*s, have + n + 1);
	memcpy(*s + have, p, n);
	(*s)[have + n] = '\0';
}

/*
 * Split a location into what libpq is given (schema=… removed), the
 * schema, and what messages show (the password removed, from the user
 * part and from a password=… parameter). ERR_INVALID for a bad schema name.
 */
static int parse_location(const char *location, char **conninfo, char **schema, char **shown)
{
	const char *q = strchr(location, '?');
	const char *auth = strstr(location, "://") + 3;
	const char *slash = strchr(auth, '/'), *at = strchr(auth, '@');
	size_t base = q ? (size_t)(q - location) : strlen(location);
	char *info = NULL, *show = NULL;
	bool info_q = false, show_q = false;

	*schema = xstrdup(DEFAULT_SCHEMA);
	cat(&info, location, base);
	/* user:password@ in the part before the path */
	if (at && (!slash || at < slash) && (!q || at < q)) {
		const char *colon = memchr(auth, ':', (size_t)(at - auth));
		cat(&show, location, (size_t)((colon ? colon : at) - location));
		cat(&show, at, base - (size_t)(at - location));
	} else {
		cat(&show, location, base);
	}
	for (const char *p = q ? q + 1 : NULL; p && *p;) {
		const char *end = strchr(p, '&');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (param_is(p, "schema")) {
			free(*schema);
			*schema = xstrndup(p + 7, n - 7);
			cat(&show, show_q ? "&" : "?", 1);
			cat(&show, p, n);
			show_q = true;
		} else {
			cat(&info, info_q ? "&" : "?", 1);
			cat(&info, p, n);
			info_q = true;
			if (!param_is(p, "password")) {
				cat(&show, show_q ? "&" : "?", 1);
				cat(&show, p, n);
				show_q = true;
			}
		}
		p = end ? end + 1 : p + n;
	}
	*conninfo = info;
	*shown = show;
	/* a schema name goes into SQL as an identifier: keep it plain */
	bool ok = (*schema)[0] && strlen(*schema) <= 63 && !isdigit((unsigned char)(*schema)[0]);
	for (const char *c = *schema; ok && *c; c++)
		ok = islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '_';
	if (!ok)
		return err_set(ERR_INVALID, "state '%s': schema '%s' is not a plain name (lowercase letters, digits "
					    "and _, at most 63, not starting with a digit)", *shown, *schema);
	return 0;
}

/* ----------------------------------------------------------- connection */

static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static int connect_now(state *s)
{
	pg_link *c = s->db;
	char *setup;
	int rc;

	pg__disconnect(c);
	c->conn = PQconnectdb(c->conninfo);
	if (!c->conn)
		return err_set(ERR_IO, "state '%s': cannot connect: out of memory", s->path);
	if (PQstatus(c->conn) != CONNECTION_OK) {
		char *msg = xstrdup(PQerrorMessage(c->conn));
		for (size_t n = strlen(msg); n > 0 && isspace((unsigned char)msg[n - 1]); n--)
			msg[n - 1] = '\0';
		rc = err_set(ERR_IO, "state '%s': cannot connect: %s", s->path, msg);
		/* kept for a statement that found the connection gone */
		str_copy(c->sqlstate, "08001", sizeof(c->sqlstate));
		free(c->message);
		c->message = xasprintf("cannot connect: %s", msg);
		free(msg);
		pg__disconnect(c);
		return rc;
	}
	PQsetNoticeProcessor(c->conn, ignore_notice, NULL);
	c->gen++;
	c->lock_depth = 0;
	c->deferred = 0;
	c->synced = false;
	c->ahead = NULL;
	/* the schema name is checked plain (parse_location): quoting it is enough */
	/* application_name names the fleet's schema: pg_stat_activity tells
	 * one fleet's connections from another's */
	setup = xasprintf("SET application_name = 'flotilla:%s'; SET client_min_messages = warning; "
			  "SET lock_timeout = '%ds'; SET bytea_output = 'hex'; SET search_path = \"%s\"",
			  c->schema, PG_LOCK_TIMEOUT_S, c->schema);
	rc = pg__exec(c, setup);
	free(setup);
	return rc == 0 ? 0 : s->drv->fail(s, rc, "setting up the connection");
}

int pg__reconnect(state *s)
{
	pg_link *c = s->db;

	if (c->conn && PQstatus(c->conn) == CONNECTION_OK)
		return 0;
	/* the answers of a write sent ahead went with the connection: that
	 * write failed, whatever the server did with it */
	if (c->deferred) {
		const char *what = c->ahead;
		(void)pg__flush(c);
		pg__lost(c);
		c->failed = what;
		return s->drv->fail(s, PG_FAILED, "writing");
	}
	return connect_now(s);
}

void pg__disconnect(pg_link *c)
{
	if (c && c->conn) {
		PQfinish(c->conn);
		c->conn = NULL;
	}
}

/* --------------------------------------------------------------- schema */

/* Everything of SQLite's schema 7 (schema.c), in PostgreSQL's types:
 * ctext is text compared and sorted byte by byte, as SQLite does, whatever
 * the database's collation (tenant pages and merges rely on that order). */
static const char schema_v7[] =
	"CREATE DOMAIN ctext AS text COLLATE \"C\";"
	"CREATE TABLE meta (key ctext PRIMARY KEY, value ctext NOT NULL);"
	"CREATE TABLE projects ("
	"  id ctext PRIMARY KEY, name ctext NOT NULL, region_id ctext NOT NULL, org_id ctext,"
	"  pg_version bigint NOT NULL, history_retention_seconds bigint NOT NULL,"
	"  created_at ctext, updated_at ctext,"
	"  quota_active_time bigint NOT NULL, quota_compute_time bigint NOT NULL,"
	"  quota_written_data bigint NOT NULL, quota_data_transfer bigint NOT NULL,"
	"  quota_logical_size bigint NOT NULL, min_cu double precision NOT NULL,"
	"  max_cu double precision NOT NULL, suspend_timeout_seconds bigint NOT NULL,"
	"  pg_settings_json ctext, allowed_ips_json ctext, protected_branches_only bigint NOT NULL,"
	"  logical_replication bigint NOT NULL, block_public_connections bigint NOT NULL,"
	"  maintenance_window_json ctext, listed_at bigint NOT NULL, refresh_gen bigint NOT NULL,"
	"  deep_at bigint NOT NULL DEFAULT 0, deep_updated_at ctext, fingerprint ctext, deep_fingerprint ctext);"
	"CREATE INDEX projects_region ON projects (region_id);"
	"CREATE INDEX projects_name ON projects (name);"
	"CREATE INDEX projects_deep_at ON projects (deep_at);"
	"CREATE TABLE branches ("
	"  project_id ctext NOT NULL REFERENCES projects(id) ON DELETE CASCADE, id ctext NOT NULL,"
	"  name ctext NOT NULL, parent_id ctext, is_default bigint NOT NULL, protected bigint NOT NULL,"
	"  annotations_json ctext, created_at ctext, updated_at ctext, PRIMARY KEY (project_id, id));"
	"CREATE TABLE endpoints ("
	"  project_id ctext NOT NULL REFERENCES projects(id) ON DELETE CASCADE, id ctext NOT NULL,"
	"  branch_id ctext NOT NULL, read_write bigint NOT NULL, min_cu double precision NOT NULL,"
	"  max_cu double precision NOT NULL, suspend_timeout_seconds bigint NOT NULL, disabled bigint NOT NULL,"
	"  current_state ctext, last_active ctext, name ctext, PRIMARY KEY (project_id, id));"
	"CREATE INDEX endpoints_state ON endpoints (current_state);"
	"CREATE TABLE databases ("
	"  project_id ctext NOT NULL REFERENCES projects(id) ON DELETE CASCADE, branch_id ctext NOT NULL,"
	"  name ctext NOT NULL, owner ctext NOT NULL, PRIMARY KEY (project_id, branch_id, name));"
	"CREATE TABLE roles ("
	"  project_id ctext NOT NULL REFERENCES projects(id) ON DELETE CASCADE, branch_id ctext NOT NULL,"
	"  name ctext NOT NULL, PRIMARY KEY (project_id, branch_id, name));"
	"CREATE TABLE tenants ("
	"  tenant ctext PRIMARY KEY, project_id ctext NOT NULL UNIQUE, fleet ctext NOT NULL,"
	"  source ctext NOT NULL, mapped_at bigint NOT NULL, protect bigint NOT NULL DEFAULT 0);"
	"CREATE TABLE runs ("
	"  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, command ctext NOT NULL, pid bigint NOT NULL,"
	"  host ctext NOT NULL, started_at bigint NOT NULL, finished_at bigint, outcome ctext, summary_json ctext);"
	"CREATE TABLE journal ("
	"  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, run_id bigint REFERENCES runs(id),"
	"  tenant ctext, project_id ctext, action ctext NOT NULL, intent_json ctext NOT NULL, state ctext NOT NULL,"
	"  resource_id ctext, operation_ids_json ctext, request_id ctext, error ctext,"
	"  created_at bigint NOT NULL, updated_at bigint NOT NULL);"
	"CREATE INDEX journal_state ON journal (state, id);"
	"CREATE INDEX journal_project ON journal (project_id, id);"
	"CREATE INDEX journal_tenant ON journal (tenant, id);"
	"CREATE INDEX journal_run ON journal (run_id);"
	"CREATE TABLE leases ("
	"  name ctext PRIMARY KEY, holder ctext NOT NULL, pid bigint NOT NULL, host ctext NOT NULL,"
	"  acquired_at bigint NOT NULL, renewed_at bigint NOT NULL, expires_at bigint NOT NULL);"
	"CREATE TABLE parse_cache (blob_id ctext PRIMARY KEY, data bytea NOT NULL, used_at bigint NOT NULL);"
	"CREATE TABLE manifest_index (tenant ctext PRIMARY KEY, path ctext NOT NULL);"
	"CREATE INDEX manifest_index_path ON manifest_index (path);"
	"CREATE TABLE manifest_extra (path ctext PRIMARY KEY);"
	"CREATE TABLE tenant_sync ("
	"  tenant ctext PRIMARY KEY, state ctext NOT NULL, reason ctext NOT NULL, fields ctext,"
	"  since bigint NOT NULL, updated_at bigint NOT NULL);"
	"CREATE INDEX tenant_sync_state ON tenant_sync (state);";

/* Version 8: schema.c's schema_v8. */
static const char schema_v8[] =
	"CREATE TABLE forgotten ("
	"  project_id ctext PRIMARY KEY, tenant ctext NOT NULL, fleet ctext NOT NULL,"
	"  forgotten_at bigint NOT NULL, run_id bigint NOT NULL);"
	"CREATE INDEX forgotten_tenant ON forgotten (tenant);";

/* Version 9: schema.c's schema_v9. */
static const char schema_v9[] =
	"ALTER TABLE projects ADD COLUMN compute_last_active_at ctext;"
	"ALTER TABLE projects ADD COLUMN synthetic_storage_size bigint;"
	"UPDATE projects SET compute_last_active_at = '';";

/* Version 10: schema.c's schema_v10. */
static const char schema_v10[] =
	"CREATE TABLE tenant_usage ("
	"  tenant ctext NOT NULL, period_start bigint NOT NULL, period_end bigint NOT NULL,"
	"  project_id ctext NOT NULL, compute_unit_seconds bigint NOT NULL, active_seconds bigint NOT NULL,"
	"  storage_bytes_month bigint NOT NULL, storage_bytes bigint NOT NULL, transfer_bytes bigint NOT NULL,"
	"  updated_at bigint NOT NULL, PRIMARY KEY (tenant, period_start));";

/* Version 11: schema.c's schema_v11. */
static const char schema_v11[] =
	"CREATE TABLE backup_schedules ("
	"  project_id ctext PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE, branch_id ctext NOT NULL,"
	"  schedule_json ctext NOT NULL, read_at bigint NOT NULL, refused ctext);";

/* Version 12: schema.c's schema_v12. */
static const char schema_v12[] = "ALTER TABLE projects ADD COLUMN active_time bigint;";

typedef struct pg_migration {
	int version;
	const char *what;
	const char *sql;
} pg_migration;

/* Step N brings version N-1 to N; the first one makes the schema. Append only. */
static const pg_migration migrations[] = {
	{ PG_FIRST_VERSION, "the first PostgreSQL schema", schema_v7 },
	{ 8, "forgotten projects", schema_v8 },
	{ 9, "compute activity and storage of projects", schema_v9 },
	{ 10, "tenant usage", schema_v10 },
	{ 11, "backup schedules", schema_v11 },
	{ 12, "active time of projects", schema_v12 },
};

_Static_assert(PG_FIRST_VERSION + (int)ARRAY_LEN(migrations) - 1 == STATE_SCHEMA_VERSION,
	       "one PostgreSQL migration step per schema version from the first");

/* One integer (or -1 for none) from a query with no parameters. */
static int query_int(state *s, const char *sql, const char *what, int64_t *out)
{
	pg_link *c = s->db;
	PGresult *res = PQexec(c->conn, sql);
	int rc = 0;

	*out = -1;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pg__keep_error(c, res);
		PQclear(res);
		return s->drv->fail(s, 1, what);
	}
	if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
		*out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return rc;
}

/* The schema's version: 0 when the schema is absent or empty; ERR_INVALID
 * when it is another program's or newer than ours. Inside a transaction. */
static int identify(state *s, int *version)
{
	pg_link *c = s->db;
	char sql[256];
	int64_t tables, mark, v;
	int rc;

	*version = 0;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_tables WHERE schemaname = '%s'", c->schema);
	if ((rc = query_int(s, sql, "reading the schema", &tables)) != 0)
		return rc;
	if (tables == 0)
		return 0;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_tables WHERE schemaname = '%s' AND "
		 "tablename = 'flotilla_version'", c->schema);
	if ((rc = query_int(s, sql, "reading the schema", &mark)) != 0)
		return rc;
	if (mark == 0)
		return err_set(ERR_INVALID, "state '%s': schema '%s' holds tables of another program (no "
					    "flotilla_version table); give flotilla a schema of its own (schema=NAME)",
			       s->path, c->schema);
	if ((rc = query_int(s, "SELECT max(version) FROM flotilla_version WHERE application = 'flotilla'",
			    "reading the schema version", &v)) != 0)
		return rc;
	if (v > STATE_SCHEMA_VERSION)
		return err_set(ERR_INVALID, "state '%s' was written by a newer flotilla (schema %lld, this one "
					    "reads up to %d)", s->path, (long long)v, STATE_SCHEMA_VERSION);
	if (v < PG_FIRST_VERSION)
		return err_set(ERR_INVALID, "state '%s' is damaged: schema '%s' has flotilla_version without a "
					    "version", s->path, c->schema);
	*version = (int)v;
	return 0;
}

static int migrate(state *s, state_open_report *report)
{
	pg_link *c = s->db;
	int rc, from = 0;

	/* under the write lock: another process may be making it too */
	if ((rc = state__begin(s, true)) != 0)
		return rc;
	if ((rc = identify(s, &from)) != 0)
		goto done;
	if (from == STATE_SCHEMA_VERSION)
		goto done;
	if (from == 0) {
		/* search_path names it already: what is created next goes there */
		char *sql = xasprintf("CREATE SCHEMA IF NOT EXISTS \"%s\"", c->schema);
		rc = pg__exec(c, sql);
		free(sql);
		if (rc != 0) {
			rc = s->drv->fail(s, rc, "creating the schema");
			goto done;
		}
	}
	for (size_t i = 0; i < ARRAY_LEN(migrations) && rc == 0; i++) {
		const pg_migration *m = &migrations[i];
		if (m->version <= from)
			continue;
		if ((rc = pg__exec(c, m->sql)) != 0) {
			char what[128];
			snprintf(what, sizeof(what), "migrating to schema %d (%s)", m->version, m->what);
			rc = s->drv->fail(s, rc, what);
		}
	}
	if (rc == 0 && from == 0 &&
	    (rc = pg__exec(c, "CREATE TABLE flotilla_version (application ctext NOT NULL, version bigint NOT NULL);"
			      "INSERT INTO flotilla_version VALUES ('flotilla', 0)")) != 0)
		rc = s->drv->fail(s, rc, "marking the schema");
	if (rc == 0) {
		char sql[96];
		snprintf(sql, sizeof(sql), "UPDATE flotilla_version SET version = %d", STATE_SCHEMA_VERSION);
		if ((rc = pg__exec(c, sql)) != 0)
			rc = s->drv->fail(s, rc, "recording the schema version");
	}
	if (rc == 0 && from > 0) {
		report->migrated_from = from;
		report->migrated_to = STATE_SCHEMA_VERSION;
	}
done:
	if (rc != 0) {
		state__rollback(s);
		return rc;
	}
	return state__commit(s);
}

/* A 64-bit key for the schema's advisory lock (FNV-1a of "flotilla:" and
 * its name): each fleet's writers exclude each other only. */
static int64_t lock_key(const char *schema)
{
	uint64_t h = 1469598103934665603ULL;

	for (const char *p = "flotilla:"; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	for (const char *p = schema; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return (int64_t)(h >> 1);
}

int state__pg_open(state *s, const char *location, const state *again, bool create, state_open_report *report)
{
	state_open_report scratch;
	pg_link *c = xcalloc(1, sizeof(*c));
	char *shown = NULL;
	int rc, version = 0;

	if (!report)
		report = &scratch;
	s->db = c;
	if (again) {
		const pg_link *of = again->db;
		c->conninfo = xstrdup(of->conninfo);
		c->schema = xstrdup(of->schema);
		shown = xstrdup(again->path);
		rc = 0;
	} else {
		rc = parse_location(location, &c->conninfo, &c->schema, &shown);
	}
	free(s->path);
	s->path = shown;
	if (rc != 0)
		return rc;
	snprintf(c->lock_sql, sizeof(c->lock_sql), "SELECT pg_advisory_xact_lock(%lld)",
		 (long long)lock_key(c->schema));
	if ((rc = connect_now(s)) != 0)
		return rc;
	if (!again && !create) {
		/* only a state that is there already (status reads, never makes) */
		if ((rc = state__begin(s, false)) != 0)
			return rc;
		rc = identify(s, &version);
		state__rollback(s);
		if (rc == 0 && version == 0)
			rc = err_set(ERR_NOTFOUND, "no state at '%s' yet (schema '%s' does not hold one)", s->path,
				     c->schema);
		if (rc != 0)
			return rc;
	}
	if (!again) {
		if ((rc = migrate(s, report)) != 0)
			return rc;
	} else {
		if ((rc = state__begin(s, false)) != 0)
			return rc;
		rc = identify(s, &version);
		state__rollback(s);
		if (rc == 0 && version != STATE_SCHEMA_VERSION)
			rc = err_set(ERR_INVALID, "state '%s' changed since it was opened (schema version %d)", s->path,
				     version);
		if (rc != 0)
			return rc;
	}
	s->version = STATE_SCHEMA_VERSION;
	return 0;
}

void pg__free(pg_link *c)
{
	if (!c)
		return;
	pg__disconnect(c);
	free(c->conninfo);
	free(c->schema);
	free(c->message);
	free(c);
}
