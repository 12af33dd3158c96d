/*
 * test-state-open.c: unit tests for opening the state file (state/db.c)
 * and its schema and migrations (state/schema.c), on real SQLite files in
 * fresh temporary directories.
 *
 * Besides each function's results, these pin down what the rest of
 * flotilla relies on: the file is 0600 and marked as flotilla's; a file
 * others can read is narrowed and the open reports it (state/ never
 * logs); foreign and newer files are refused untouched; older ones are
 * migrated, and the open reports from and to which version; no column
 * could hold a secret. Forked children never call cmocka asserts (a
 * failure would unwind into the child's copy of the test runner); they
 * report through their exit status, and _exit() so that no atexit
 * handler runs twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "state-fixture.h"

/* -------------------------------------------------------------- opening */

static void test_open_creates_0600(void **st)
{
	fixture *fx = *st;
	char *dir = xasprintf("%s/sub", fx->dir);
	char *wal = xasprintf("%s-wal", fx->path);
	mode_t old = umask(0);
	sqlite3 *db;
	char *mode;

	/* umask 0 would give SQLite's default 0644: the file must still be 0600 */
	fx->s = open_ok(fx);
	umask(old);
	assert_int_equal(ut_file_mode(fx->path), 0600);
	assert_int_equal(ut_file_mode(dir), 0700);
	assert_int_equal(state_schema_version(fx->s), STATE_SCHEMA_VERSION);
	assert_int_equal(state_schema_version(fx->s), STATE_SCHEMA_VERSION);
	assert_int_equal(state_meta_set(fx->s, "fleet", "prod"), 0);
	/* the WAL file exists while the handle is open, with the same mode */
	assert_int_equal(ut_file_mode(wal), 0600);

	db = raw_open(fx->path);
	assert_int_equal(raw_i64(db, "PRAGMA application_id"), APP_ID);
	assert_int_equal(raw_i64(db, "PRAGMA user_version"), STATE_SCHEMA_VERSION);
	mode = raw_text(db, "PRAGMA journal_mode");
	assert_string_equal(mode, "wal");
	free(mode);
	sqlite3_close(db);
	free(dir);
	free(wal);
}

/* A state file and a WAL that others can read are narrowed, and the
 * report says which and from what mode; state/ itself logs nothing (the
 * caller does, from the report). */
static void test_open_fixes_mode(void **st)
{
	fixture *fx = *st;
	char *wal = xasprintf("%s-wal", fx->path);
	char *shm = xasprintf("%s-shm", fx->path);
	char *logpath = xasprintf("%s/log", fx->dir);
	FILE *log = fopen(logpath, "w+");
	state_open_report rep;
	size_t logged = 0;
	char *text;

	fx->s = open_ok(fx);
	state_close(fx->s);
	fx->s = NULL;
	assert_int_equal(chmod(fx->path, 0644), 0);
	ut_write_file(wal, "", 0); /* an empty WAL, left readable */
	assert_int_equal(ut_file_mode(wal), 0644);

	log_setup(LOG_DEBUG, LOG_HUMAN, log);
	assert_int_equal(state_open_ex(&fx->s, fx->path, &rep), 0);
	log_setup(LOG_INFO, LOG_HUMAN, NULL);
	fclose(log);
	assert_int_equal(ut_file_mode(fx->path), 0600);
	assert_int_equal(ut_file_mode(wal), 0600);
	assert_int_equal(ut_file_mode(shm), 0600);
	/* the file, its WAL and the -shm that SQLite made with the file's mode
	 * while it checked the header, in that order */
	assert_int_equal(rep.nmode_fixes, 3);
	assert_string_equal(rep.mode_fixes[0].suffix, "");
	assert_int_equal(rep.mode_fixes[0].mode, 0644);
	assert_string_equal(rep.mode_fixes[1].suffix, "-wal");
	assert_string_equal(rep.mode_fixes[2].suffix, "-shm");
	for (size_t i = 0; i < rep.nmode_fixes; i++) {
		assert_int_equal(rep.mode_fixes[i].error, 0);
		assert_int_not_equal(rep.mode_fixes[i].mode & 077, 0);
	}
	assert_false(rep.not_wal);
	assert_int_equal(rep.migrated_from, 0);
	text = ut_read_file(logpath, &logged);
	if (logged)
		fail_msg("state/ logged: %s", text);
	free(text);

	/* narrowed once: the next open has nothing to report */
	state_close(fx->s);
	fx->s = NULL;
	memset(&rep, 0xff, sizeof(rep));
	assert_int_equal(state_open_ex(&fx->s, fx->path, &rep), 0);
	assert_int_equal(rep.nmode_fixes, 0);
	assert_false(rep.not_wal);
	assert_int_equal(rep.migrated_from, 0);
	assert_int_equal(rep.migrated_to, 0);
	free(logpath);
	free(shm);
	free(wal);
}

static void test_open_reopen_keeps_data(void **st)
{
	fixture *fx = *st;
	char *v = NULL;

	fx->s = open_ok(fx);
	assert_int_equal(state_meta_set(fx->s, "last_applied_commit", "abc123"), 0);
	state_close(fx->s);
	fx->s = open_ok(fx);
	assert_int_equal(state_schema_version(fx->s), STATE_SCHEMA_VERSION);
	assert_int_equal(state_meta_get(fx->s, "last_applied_commit", &v), 0);
	assert_string_equal(v, "abc123");
	free(v);
}

/* Schema version 0: a zero-byte file, and an SQLite file without tables
 * (as `sqlite3 state.db 'PRAGMA page_size=8192; VACUUM'` leaves it). */
static void test_open_migrates_v0(void **st)
{
	fixture *fx = *st;
	char *dir = xasprintf("%s/sub", fx->dir);

	assert_int_equal(mkdir(dir, 0700), 0);
	ut_write_file(fx->path, "", 0);
	fx->s = open_ok(fx);
	assert_int_equal(state_schema_version(fx->s), STATE_SCHEMA_VERSION);
	assert_int_equal(state_project_count(fx->s), 0);
	state_close(fx->s);
	fx->s = NULL;
	assert_int_equal(file_i64(fx->path, "PRAGMA user_version"), STATE_SCHEMA_VERSION);

	assert_int_equal(unlink(fx->path), 0);
	file_exec(fx->path, "PRAGMA page_size = 8192; VACUUM");
	assert_int_equal(file_i64(fx->path, "PRAGMA user_version"), 0);
	fx->s = open_ok(fx);
	assert_int_equal(state_tenant_count(fx->s), 0);
	state_close(fx->s);
	fx->s = NULL;
	assert_int_equal(file_i64(fx->path, "PRAGMA user_version"), STATE_SCHEMA_VERSION);
	assert_int_equal(file_i64(fx->path, "PRAGMA application_id"), APP_ID);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"), 17);
	free(dir);
}

/* Several processes opening one new file at once: one migrates, the others
 * find it migrated under the write lock. */
static void test_open_concurrent_first_open(void **st)
{
	fixture *fx = *st;
	pid_t kids[4];

	for (size_t i = 0; i < ARRAY_LEN(kids); i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0) {
			state *s = NULL;
			int ok = state_open(&s, fx->path) == 0 && state_schema_version(s) == STATE_SCHEMA_VERSION &&
				 state_meta_set(s, "fleet", "prod") == 0;
			if (!ok)
				fprintf(stderr, "child %zu: %s\n", i, err_msg());
			state_close(s);
			_exit(ok ? 0 : 1);
		}
	}
	/* reap them all before asserting: a failure must not remove the
	 * directory under the others */
	int status[ARRAY_LEN(kids)];
	for (size_t i = 0; i < ARRAY_LEN(kids); i++)
		assert_int_equal(waitpid(kids[i], &status[i], 0), kids[i]);
	for (size_t i = 0; i < ARRAY_LEN(kids); i++) {
		assert_true(WIFEXITED(status[i]));
		assert_int_equal(WEXITSTATUS(status[i]), 0);
	}
	assert_integrity(fx->path);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM projects"), 0);
}

/* An older file's migration is reported with its versions; a new file, a
 * zero-byte one and a current one report none. */
static void test_open_reports_migration(void **st)
{
	fixture *fx = *st;
	char *dir = xasprintf("%s/sub", fx->dir);
	state_open_report rep;

	memset(&rep, 0xff, sizeof(rep));
	assert_int_equal(state_open_ex(&fx->s, fx->path, &rep), 0); /* new */
	assert_int_equal(rep.migrated_from, 0);
	assert_int_equal(rep.migrated_to, 0);
	assert_int_equal(rep.nmode_fixes, 0);
	state_close(fx->s);
	fx->s = NULL;

	/* schema 3, as issue 5's flotilla wrote it */
	file_exec(fx->path, "ALTER TABLE projects DROP COLUMN fingerprint; ALTER TABLE endpoints DROP COLUMN name; "
			    "ALTER TABLE projects DROP COLUMN deep_fingerprint; DROP INDEX projects_name; DROP INDEX projects_deep_at; DROP TABLE tenant_sync; DROP TABLE forgotten; ALTER TABLE projects DROP COLUMN compute_last_active_at; ALTER TABLE projects DROP COLUMN synthetic_storage_size; ALTER TABLE projects DROP COLUMN active_time; DROP TABLE tenant_usage; DROP TABLE backup_schedules; "
			    "PRAGMA user_version = 3");
	assert_int_equal(state_open_ex(&fx->s, fx->path, &rep), 0);
	assert_int_equal(rep.migrated_from, 3);
	assert_int_equal(rep.migrated_to, STATE_SCHEMA_VERSION);
	assert_int_equal(state_schema_version(fx->s), STATE_SCHEMA_VERSION);
	/* version 6's indexes, for the identity lookups of small plans */
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name IN "
					    "('projects_name', 'projects_deep_at')"), 2);
	state_close(fx->s);
	fx->s = NULL;

	assert_int_equal(state_open_ex(&fx->s, fx->path, &rep), 0); /* current now */
	assert_int_equal(rep.migrated_from, 0);
	assert_int_equal(rep.migrated_to, 0);
	state_close(fx->s);
	fx->s = NULL;

	/* a zero-byte file is a new state file, not a migration */
	assert_int_equal(unlink(fx->path), 0);
	ut_write_file(fx->path, "", 0);
	assert_int_equal(chmod(fx->path, 0600), 0);
	assert_int_equal(state_open_ex(&fx->s, fx->path, &rep), 0);
	assert_int_equal(rep.migrated_from, 0);
	assert_int_equal(rep.migrated_to, 0);
	assert_int_equal(rep.nmode_fixes, 0);
	state_close(fx->s);
	fx->s = NULL;

	/* a refused file: the report is still zeroed */
	file_exec(fx->path, "PRAGMA user_version = 99");
	memset(&rep, 0xff, sizeof(rep));
	assert_int_equal(state_open_ex(&fx->s, fx->path, &rep), ERR_INVALID);
	assert_null(fx->s);
	assert_int_equal(rep.nmode_fixes, 0);
	assert_false(rep.not_wal);
	assert_int_equal(rep.migrated_from, 0);
	/* and NULL is no report */
	assert_int_equal(state_open_ex(&fx->s, "", NULL), ERR_INVALID);
	free(dir);
}

static void test_open_refuses_newer(void **st)
{
	fixture *fx = *st;
	state *s = (state *)fx; /* must be reset to NULL */

	fx->s = open_ok(fx);
	state_close(fx->s);
	fx->s = NULL;
	set_schema_version(fx->path, STATE_SCHEMA_VERSION + 1);

	assert_int_equal(state_open(&s, fx->path), ERR_INVALID);
	assert_null(s);
	char want[96];
	snprintf(want, sizeof(want), "written by a newer flotilla (schema %d, this one reads up to %d)",
		 STATE_SCHEMA_VERSION + 1, STATE_SCHEMA_VERSION);
	ut_assert_err_contains(want);
	assert_int_equal(file_i64(fx->path, fx_pg() ? "SELECT version FROM flotilla_version" : "PRAGMA user_version"),
			 STATE_SCHEMA_VERSION + 1);
}

static void test_open_refuses_garbage(void **st)
{
	fixture *fx = *st;
	char *dir = xasprintf("%s/sub", fx->dir);
	char junk[4096];
	state *s = NULL;

	assert_int_equal(mkdir(dir, 0700), 0);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)('a' + i % 26);
	ut_write_file(fx->path, junk, sizeof(junk));
	assert_int_equal(state_open(&s, fx->path), ERR_INVALID);
	assert_null(s);
	ut_assert_err_contains("is not a flotilla state file: not an SQLite database");

	ut_write_file(fx->path, "hello, world\n", 13);
	assert_int_equal(state_open(&s, fx->path), ERR_INVALID);
	ut_assert_err_contains("not an SQLite database");
	free(dir);
}

static void test_open_refuses_foreign_sqlite(void **st)
{
	fixture *fx = *st;
	char *dir = xasprintf("%s/sub", fx->dir);
	state *s = NULL;
	sqlite3 *db;
	char *mode;

	assert_int_equal(mkdir(dir, 0700), 0);
	file_exec(fx->path, "CREATE TABLE notes(x TEXT); INSERT INTO notes VALUES ('keep me')");
	assert_int_equal(state_open(&s, fx->path), ERR_INVALID);
	assert_null(s);
	ut_assert_err_contains("an SQLite database of another program (no flotilla application id)");

	file_exec(fx->path, "PRAGMA application_id = 305419896"); /* 0x12345678 */
	assert_int_equal(state_open(&s, fx->path), ERR_INVALID);
	ut_assert_err_contains("application id 0x12345678, flotilla's is 0x464c5431");

	/* refused before anything was written: not even WAL mode */
	db = raw_open(fx->path);
	mode = raw_text(db, "PRAGMA journal_mode");
	assert_string_equal(mode, "delete");
	assert_int_equal(raw_i64(db, "SELECT count(*) FROM sqlite_master"), 1);
	assert_int_equal(raw_i64(db, "PRAGMA user_version"), 0);
	free(mode);
	sqlite3_close(db);
	free(dir);
}

static void test_open_errors(void **st)
{
	fixture *fx = *st;
	char *file = xasprintf("%s/plain", fx->dir);
	char *under = xasprintf("%s/plain/state.db", fx->dir);
	state *s = NULL;

	assert_int_equal(state_open(&s, ""), ERR_INVALID);
	state_close(NULL);
	ut_write_file(file, "x", 1);
	assert_int_equal(state_open(&s, under), ERR_IO);
	assert_null(s);
	ut_assert_err_contains("plain");
	/* a directory where the file should be */
	assert_int_equal(state_open(&s, fx->dir), ERR_IO);
	assert_null(s);
	free(file);
	free(under);
}

/* --------------------------------------------------------------- schema */

static void test_schema_tables_and_no_secrets(void **st)
{
	fixture *fx = *st;
	static const char *const want[] = { "backup_schedules", "branches", "databases", "endpoints", "forgotten",
					    "journal", "leases", "manifest_extra", "manifest_index", "meta", "parse_cache",
					    "projects", "roles", "runs", "tenant_sync", "tenant_usage", "tenants" };
	static const char *const banned[] = { "password", "secret", "uri", "api_key", "token" };
	sqlite3_stmt *q = NULL;
	sqlite3 *db;
	size_t i = 0;
	int columns = 0;

	fx->s = open_ok(fx);
	db = raw_open(fx->path);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT m.name, lower(c.name) FROM sqlite_master m, "
					    "pragma_table_info(m.name) c WHERE m.type = 'table' ORDER BY m.name",
					    -1, &q, NULL), SQLITE_OK);
	while (sqlite3_step(q) == SQLITE_ROW) {
		const char *table = (const char *)sqlite3_column_text(q, 0);
		const char *col = (const char *)sqlite3_column_text(q, 1);
		for (size_t b = 0; b < ARRAY_LEN(banned); b++) {
			if (strstr(col, banned[b]))
				fail_msg("column %s.%s could hold a secret", table, col);
		}
		columns++;
	}
	sqlite3_finalize(q);
	assert_true(columns > 50);

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
					    -1, &q, NULL), SQLITE_OK);
	while (sqlite3_step(q) == SQLITE_ROW) {
		assert_true(i < ARRAY_LEN(want));
		assert_string_equal((const char *)sqlite3_column_text(q, 0), want[i]);
		i++;
	}
	sqlite3_finalize(q);
	assert_int_equal(i, ARRAY_LEN(want));

	/* roles: names only */
	assert_int_equal(raw_i64(db, "SELECT count(*) FROM pragma_table_info('roles')"), 3);
	/* the journal's columns (state_journal_entry mirrors them) */
	assert_int_equal(raw_i64(db, "SELECT count(*) FROM pragma_table_info('journal') WHERE name IN ('id', "
				 "'run_id', 'tenant', 'project_id', 'action', 'intent_json', 'state', 'resource_id', "
				 "'operation_ids_json', 'request_id', 'error', 'created_at', 'updated_at')"), 13);
	/* deep rows cascade from their project */
	assert_int_equal(raw_i64(db, "SELECT count(*) FROM sqlite_master m, pragma_foreign_key_list(m.name) f "
				 "WHERE m.name IN ('branches', 'endpoints', 'databases', 'roles') AND f.\"table\" = "
				 "'projects' AND f.on_delete = 'CASCADE'"), 4);
	/* indexes the queries need */
	assert_int_equal(raw_i64(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN "
				 "('projects_region', 'journal_state', 'journal_project', 'journal_run')"), 4);
	assert_int_equal(raw_i64(db, "SELECT count(*) FROM pragma_index_list('tenants') WHERE \"unique\" = 1 "
				 "AND origin = 'u'"), 1);
	assert_int_equal(raw_i64(db, "SELECT count(*) FROM pragma_index_list('projects') WHERE \"unique\" = 1"), 1);
	sqlite3_close(db);
}

/* A version 1 file (as the first release wrote it) goes through every
 * step on open: it gains the parse cache, the protect column and the
 * manifest index (and the later columns), keeps its tenant map, and the
 * open reports the migration. */
static void test_migrate_v1_to_v2(void **st)
{
	fixture *fx = *st;

	fx->s = open_ok(fx);
	assert_int_equal(state_tenant_put(fx->s, "acme", "p-1", "prod", "create"), 0);
	state_close(fx->s);
	fx->s = NULL;
	file_exec(fx->path, "DROP TABLE manifest_index; DROP TABLE manifest_extra; DROP TABLE parse_cache; "
			    "ALTER TABLE tenants DROP COLUMN protect; ALTER TABLE projects DROP COLUMN fingerprint; "
			    "ALTER TABLE projects DROP COLUMN deep_fingerprint; ALTER TABLE endpoints DROP COLUMN name; "
			    "DROP INDEX projects_name; DROP INDEX projects_deep_at; DROP TABLE tenant_sync; DROP TABLE forgotten; ALTER TABLE projects DROP COLUMN compute_last_active_at; ALTER TABLE projects DROP COLUMN synthetic_storage_size; ALTER TABLE projects DROP COLUMN active_time; DROP TABLE tenant_usage; DROP TABLE backup_schedules; PRAGMA user_version = 1");
	assert_int_equal(file_i64(fx->path, "PRAGMA user_version"), 1);

	state_open_report rep;
	assert_int_equal(state_open_ex(&fx->s, fx->path, &rep), 0);
	assert_int_equal(rep.migrated_from, 1);
	assert_int_equal(rep.migrated_to, STATE_SCHEMA_VERSION);
	assert_int_equal(state_schema_version(fx->s), STATE_SCHEMA_VERSION);
	char *commit = (char *)"x";
	assert_int_equal(state_index_commit(fx->s, &commit), 0);
	assert_null(commit);
	state_tenant t;
	assert_int_equal(state_tenant_get(fx->s, "acme", &t), 0);
	assert_string_equal(t.project_id, "p-1");
	state_tenant_release(&t);
	bool protect = true;
	assert_int_equal(state_tenant_get_protect(fx->s, "acme", &protect), 0);
	assert_false(protect);
	buf b = BUF_INIT(0);
	assert_int_equal(state_parse_cache_get(fx->s, "0123abcd", &b), ERR_NOTFOUND);
	buf_release(&b);
}

/* Schema 3 to 4: fingerprints filled in; a deep read that was current by
 * updated_at stays current, so a migrated fleet is not read deep again. */
static void test_migrate_v3_to_v4(void **st)
{
	fixture *fx = *st;
	state_project a = full_project(fx, "old-a"), b = full_project(fx, "old-b"), got;
	state_project both[2] = {a, b};
	state_deep none;
	char fp[STATE_FINGERPRINT_LEN + 1];

	memset(&none, 0, sizeof(none));
	fx->s = open_ok(fx);
	assert_int_equal(refresh_all(fx->s, both, 2, 2), 0);
	assert_int_equal(state_deep_put(fx->s, "old-a", a.updated_at, &none), 0);
	assert_int_equal(state_deep_put(fx->s, "old-b", "an older updated_at", &none), 0);
	state_close(fx->s);
	fx->s = NULL;
	file_exec(fx->path, "ALTER TABLE projects DROP COLUMN fingerprint; ALTER TABLE endpoints DROP COLUMN name; "
			    "ALTER TABLE projects DROP COLUMN deep_fingerprint; DROP INDEX projects_name; DROP INDEX projects_deep_at; DROP TABLE tenant_sync; DROP TABLE forgotten; ALTER TABLE projects DROP COLUMN compute_last_active_at; ALTER TABLE projects DROP COLUMN synthetic_storage_size; ALTER TABLE projects DROP COLUMN active_time; DROP TABLE tenant_usage; DROP TABLE backup_schedules; "
			    "PRAGMA user_version = 3");

	fx->s = open_ok(fx);
	assert_int_equal(state_schema_version(fx->s), STATE_SCHEMA_VERSION);
	state_project_fingerprint(&a, fp);
	assert_int_equal(state_project_get(fx->s, "old-a", &got), 0);
	assert_string_equal(got.fingerprint, fp);
	assert_string_equal(got.deep_fingerprint, fp);
	state_project_release(&got);
	state_project_fingerprint(&b, fp);
	assert_int_equal(state_project_get(fx->s, "old-b", &got), 0);
	assert_string_equal(got.fingerprint, fp);
	assert_null(got.deep_fingerprint); /* its deep read was stale already */
	state_project_release(&got);
}

/* ----------------------------------------------------------------- meta */

static void test_meta(void **st)
{
	fixture *fx = *st;
	char *v = (char *)fx;

	fx->s = open_ok(fx);
	assert_int_equal(state_meta_get(fx->s, "fleet", &v), 0);
	assert_null(v);
	assert_int_equal(state_meta_set(fx->s, "fleet", "prod"), 0);
	assert_int_equal(state_meta_get(fx->s, "fleet", &v), 0);
	assert_string_equal(v, "prod");
	free(v);
	assert_int_equal(state_meta_set(fx->s, "fleet", "prod-eu"), 0);
	assert_int_equal(state_meta_get(fx->s, "fleet", &v), 0);
	assert_string_equal(v, "prod-eu");
	free(v);
	assert_int_equal(state_meta_set(fx->s, "fleet", NULL), 0); /* NULL deletes */
	assert_int_equal(state_meta_get(fx->s, "fleet", &v), 0);
	assert_null(v);
	assert_int_equal(state_meta_set(fx->s, NULL, "x"), ERR_INVALID);
	assert_int_equal(state_meta_get(fx->s, NULL, &v), ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX(test_open_reopen_keeps_data),
		FX(test_open_concurrent_first_open),
		FX(test_open_refuses_newer),
		FX(test_open_errors),
		FX(test_meta),
		/* from here, the SQLite file itself: its mode, WAL, header and
		 * migrations (test-state-pg.c has PostgreSQL's schema) */
		FX(test_migrate_v1_to_v2),
		FX(test_open_creates_0600),
		FX(test_open_fixes_mode),
		FX(test_open_migrates_v0),
		FX(test_open_reports_migration),
		FX(test_open_refuses_garbage),
		FX(test_open_refuses_foreign_sqlite),
		FX(test_schema_tables_and_no_secrets),
		FX(test_migrate_v3_to_v4),
	};
	enum { FILE_TESTS = 9 };
	return _cmocka_run_group_tests("state-open", tests, ARRAY_LEN(tests) - (fx_pg() ? FILE_TESTS : 0), NULL, NULL);
}
