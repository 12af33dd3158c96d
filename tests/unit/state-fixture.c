/*
 * state-fixture.c: the shared fixture, raw SQLite inspection and project
 * generators of state/'s unit tests (state-fixture.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state-fixture.h"

/* ------------------------------------------------------------- fixture */

bool fx_pg(void)
{
	const char *b = getenv("FLOTILLA_TEST_STATE");

	return b && strcmp(b, "postgres") == 0;
}

/* The server the PostgreSQL runs use (tests/pg/pg.sh run sets it). */
static const char *pg_url(void)
{
	const char *url = getenv("FLOTILLA_TEST_PG");

	if (!url || !*url)
		fail_msg("FLOTILLA_TEST_STATE=postgres needs FLOTILLA_TEST_PG (run under tests/pg/pg.sh run)");
	return url;
}

int fx_setup(void **st)
{
	static int serial;
	fixture *fx = xcalloc(1, sizeof(*fx));

	fx->dir = ut_tmpdir("state");
	if (fx_pg()) {
		/* a schema of its own for each test: tests never see each other */
		fx->schema = xasprintf("t%ld_%d", (long)getpid(), ++serial);
		fx->path = xasprintf("%s?schema=%s", pg_url(), fx->schema);
	} else {
		fx->path = xasprintf("%s/sub/state.db", fx->dir);
	}
	fx->a = arena_new();
	*st = fx;
	return 0;
}

int fx_teardown(void **st)
{
	fixture *fx = *st;

	state_close(fx->s);
	if (fx->schema) {
		char *sql = xasprintf("DROP SCHEMA IF EXISTS %s CASCADE", fx->schema);
		pg_exec_raw(pg_url(), NULL, sql);
		free(sql);
		free(fx->schema);
	}
	ut_rm_rf(fx->dir);
	arena_free(fx->a);
	free(fx->path);
	free(fx->dir);
	free(fx);
	return 0;
}

state *open_ok(fixture *fx)
{
	state *s = NULL;
	int rc = state_open(&s, fx->path);

	if (rc != 0)
		fail_msg("state_open: %s", err_msg());
	assert_non_null(s);
	return s;
}

/* ------------------------------------------------------ raw inspection */

sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

int64_t raw_i64(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("prepare '%s': %s", sql, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

char *raw_text(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	char *v;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("prepare '%s': %s", sql, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = xstrdup(sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "(null)");
	sqlite3_finalize(st);
	return v;
}

void raw_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("exec '%s': %s", sql, msg);
}

/* A connection to a PostgreSQL state location (url?schema=NAME), its
 * search_path set to the schema. */
static PGconn *pg_open_raw(const char *location, char **schema)
{
	char *url = xstrdup(location), *q = strstr(url, "?schema=");
	PGconn *c;

	*schema = NULL;
	if (q) {
		*schema = xstrdup(q + 8);
		*q = '\0';
	}
	c = PQconnectdb(url);
	free(url);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("connect: %s", PQerrorMessage(c));
	return c;
}

static PGresult *pg_run(PGconn *c, const char *schema, const char *sql)
{
	PGresult *res;

	PQclear(PQexec(c, "SET client_min_messages = warning"));
	if (schema) {
		char *set = xasprintf("SET search_path = %s", schema);
		PQclear(PQexec(c, set));
		free(set);
	}
	res = PQexec(c, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("'%s': %s", sql, PQresultErrorMessage(res));
	return res;
}

void pg_exec_raw(const char *location, const char *schema, const char *sql)
{
	char *sch;
	PGconn *c = pg_open_raw(location, &sch);

	PQclear(pg_run(c, schema ? schema : sch, sql));
	free(sch);
	PQfinish(c);
}

void *pg_hold(const char *location, const char *sql)
{
	char *sch;
	PGconn *c = pg_open_raw(location, &sch);

	PQclear(pg_run(c, sch, sql));
	free(sch);
	return c;
}

void pg_release(void *conn)
{
	PQfinish(conn);
}

int64_t file_i64(const char *path, const char *sql)
{
	if (strncmp(path, "postgres", 8) == 0) {
		char *sch;
		PGconn *c = pg_open_raw(path, &sch);
		PGresult *res = pg_run(c, sch, sql);
		int64_t v;
		assert_true(PQntuples(res) > 0);
		v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		free(sch);
		PQfinish(c);
		return v;
	}
	sqlite3 *db = raw_open(path);
	int64_t v = raw_i64(db, sql);

	sqlite3_close(db);
	return v;
}

char *file_text(const char *path, const char *sql)
{
	if (strncmp(path, "postgres", 8) == 0) {
		char *sch;
		PGconn *c = pg_open_raw(path, &sch);
		PGresult *res = pg_run(c, sch, sql);
		char *v;
		assert_true(PQntuples(res) > 0);
		v = xstrdup(PQgetisnull(res, 0, 0) ? "(null)" : PQgetvalue(res, 0, 0));
		PQclear(res);
		free(sch);
		PQfinish(c);
		return v;
	}
	sqlite3 *db = raw_open(path);
	char *v = raw_text(db, sql);

	sqlite3_close(db);
	return v;
}

void set_schema_version(const char *path, int version)
{
	char *sql = strncmp(path, "postgres", 8) == 0 ? xasprintf("UPDATE flotilla_version SET version = %d", version)
						       : xasprintf("PRAGMA user_version = %d", version);

	file_exec(path, sql);
	free(sql);
}

char *columns_of(const char *path, const char *table)
{
	char *sql = fx_pg() ? xasprintf("SELECT string_agg(lower(column_name), ',' ORDER BY ordinal_position) FROM "
					"information_schema.columns WHERE table_schema = current_schema() AND "
					"table_name = '%s'", table)
			    : xasprintf("SELECT group_concat(lower(name), ',') FROM pragma_table_info('%s')", table);
	char *v = file_text(path, sql);

	free(sql);
	return v;
}

void file_exec(const char *path, const char *sql)
{
	if (strncmp(path, "postgres", 8) == 0) {
		pg_exec_raw(path, NULL, sql);
		return;
	}
	sqlite3 *db = raw_open(path);

	raw_exec(db, sql);
	sqlite3_close(db);
}

void assert_integrity(const char *path)
{
	/* PostgreSQL checks its pages and foreign keys itself, on every write */
	if (strncmp(path, "postgres", 8) == 0)
		return;
	sqlite3 *db = raw_open(path);
	char *ok = raw_text(db, "PRAGMA integrity_check");

	assert_string_equal(ok, "ok");
	assert_int_equal(raw_i64(db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
	free(ok);
	sqlite3_close(db);
}

/* ---------------------------------------------------------- generators */

static const char *const regions[] = { "aws-eu-central-1", "aws-us-east-2", "aws-us-west-2" };

state_project *make_page(fixture *fx, const char *prefix, int from, int n)
{
	state_project *p = arena_alloc(fx->a, (size_t)n * sizeof(*p));

	for (int i = 0; i < n; i++) {
		p[i].id = arena_printf(fx->a, "%s-%06d", prefix, from + i);
		p[i].name = arena_printf(fx->a, "tenant-%s-%06d", prefix, from + i);
		p[i].region_id = arena_strdup(fx->a, regions[(from + i) % 3]);
		p[i].pg_version = 17;
		p[i].updated_at = arena_strdup(fx->a, "2026-11-01T00:00:00Z");
	}
	return p;
}

state_project full_project(fixture *fx, const char *id)
{
	state_project p;

	memset(&p, 0, sizeof(p));
	p.id = arena_strdup(fx->a, id);
	p.name = arena_printf(fx->a, "acme-%s", id);
	p.region_id = arena_strdup(fx->a, "aws-eu-central-1");
	p.org_id = arena_strdup(fx->a, "org-quiet-42");
	p.pg_version = 16;
	p.history_retention_seconds = 604800;
	p.created_at = arena_strdup(fx->a, "2026-01-02T03:04:05Z");
	p.updated_at = arena_strdup(fx->a, "2026-11-20T10:00:00Z");
	p.quota_active_time = 360000;
	p.quota_compute_time = 180000;
	p.quota_written_data = 10737418240LL;
	p.quota_data_transfer = 5368709120LL;
	p.quota_logical_size = 1073741824LL;
	p.min_cu = 0.25;
	p.max_cu = 2.75;
	p.suspend_timeout_seconds = -1;
	p.pg_settings_json = arena_strdup(fx->a, "{\"work_mem\":\"8MB\"}");
	p.allowed_ips_json = arena_strdup(fx->a, "[\"10.0.0.0/8\",\"192.0.2.1\"]");
	p.protected_branches_only = true;
	p.logical_replication = true;
	p.block_public_connections = true;
	p.maintenance_window_json = arena_strdup(fx->a, "{\"weekdays\":[6,7],\"start_time\":\"01:00\"}");
	p.compute_last_active_at = arena_strdup(fx->a, "2026-11-19T22:15:00Z");
	p.synthetic_storage_size = 3221225472LL;
	p.active_time = 7260;
	return p;
}

size_t refresh_all(state *s, const state_project *items, size_t n, size_t per)
{
	state_refresh *r = NULL;
	size_t removed = 99999;

	assert_int_equal(state_refresh_begin(s, &r), 0);
	for (size_t i = 0; i < n; i += per) {
		if (state_refresh_page(r, items + i, n - i < per ? n - i : per) != 0)
			fail_msg("page: %s", err_msg());
	}
	if (state_refresh_finish(r, &removed) != 0)
		fail_msg("finish: %s", err_msg());
	return removed;
}

void assert_project_equal(const state_project *got, const state_project *want)
{
	assert_string_equal(got->id, want->id);
	assert_string_equal(got->name, want->name);
	assert_string_equal(got->region_id, want->region_id);
	if (want->org_id)
		assert_string_equal(got->org_id, want->org_id);
	else
		assert_null(got->org_id);
	assert_int_equal(got->pg_version, want->pg_version);
	assert_int_equal(got->history_retention_seconds, want->history_retention_seconds);
	assert_string_equal(got->updated_at, want->updated_at);
	assert_int_equal(got->quota_active_time, want->quota_active_time);
	assert_int_equal(got->quota_compute_time, want->quota_compute_time);
	assert_int_equal(got->quota_written_data, want->quota_written_data);
	assert_int_equal(got->quota_data_transfer, want->quota_data_transfer);
	assert_int_equal(got->quota_logical_size, want->quota_logical_size);
	assert_true(got->min_cu == want->min_cu);
	assert_true(got->max_cu == want->max_cu);
	assert_int_equal(got->suspend_timeout_seconds, want->suspend_timeout_seconds);
	assert_int_equal(got->protected_branches_only, want->protected_branches_only);
	assert_int_equal(got->logical_replication, want->logical_replication);
	assert_int_equal(got->block_public_connections, want->block_public_connections);
	if (want->compute_last_active_at)
		assert_string_equal(got->compute_last_active_at, want->compute_last_active_at);
	else
		assert_null(got->compute_last_active_at);
	assert_int_equal(got->synthetic_storage_size, want->synthetic_storage_size);
	assert_int_equal(got->active_time, want->active_time);
}

/* ------------------------------------------------------------- walks */

int collect_value(void *arg, const char *value)
{
	collected *c = arg;
	if (c->n == 8)
		return 7; /* a nonzero code stops the walk and comes back */
	snprintf(c->v[c->n++], 64, "%s", value);
	return 0;
}

void jwalk_add(jwalk *w, const char *fmt, ...)
{
	size_t len = strlen(w->seen);
	va_list ap;

	if (len && len < sizeof(w->seen) - 1)
		w->seen[len++] = ' ';
	va_start(ap, fmt);
	vsnprintf(w->seen + len, sizeof(w->seen) - len, fmt, ap);
	va_end(ap);
	w->n++;
}

void expect_seen(jwalk *w, const char *fmt, ...)
{
	char want[sizeof(w->seen)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	assert_string_equal(w->seen, want);
	memset(w, 0, sizeof(*w));
}
