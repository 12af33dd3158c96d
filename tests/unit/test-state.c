/*
 * test-state.c: unit tests for state/, on real SQLite files in fresh
 * temporary directories.
 *
 * Besides each function's results, these pin down what the rest of
 * flotilla relies on: the file is 0600 and marked as flotilla's; foreign
 * and newer files are refused untouched; no column could hold a secret;
 * an interrupted refresh (aborted, _exit()ed or killed with SIGKILL in the
 * middle of its writes) removes nothing and leaves whole pages; a second
 * process reading while another writes sees whole pages only; a lease
 * held by a live process blocks, one whose process is gone is taken over.
 * The raw SQLite connection here only inspects and prepares files: every
 * behaviour under test goes through state.h.
 *
 * Forked children never call cmocka asserts (a failure would unwind into
 * the child's copy of the test runner); they report through their exit
 * status, and _exit() so that no atexit handler runs twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "state/state.h"
#include "util/util.h"

#define APP_ID 0x464c5431
#define PAGE 50
/* state.h's row structs hold `char *` both ways; these literals are only
 * read (bound to statements), never written */
#define S(lit) ((char *)(lit))

/* ----------------------------------------------------------- fixture */

typedef struct fixture {
	char *dir;
	char *path;  /* dir/sub/state.db: open must create "sub" */
	arena *a;    /* strings of generated projects */
	state *s;
} fixture;

static void rm_rf(const char *path)
{
	struct stat st;
	struct dirent *e;
	DIR *d;

	if (lstat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	if ((d = opendir(path)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			char *child = xasprintf("%s/%s", path, e->d_name);
			rm_rf(child);
			free(child);
		}
		closedir(d);
	}
	rmdir(path);
}

static int fx_setup(void **st)
{
	fixture *fx = xcalloc(1, sizeof(*fx));
	const char *tmp = getenv("TMPDIR");

	fx->dir = xasprintf("%s/flotilla-state-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fx->dir))
		return -1;
	fx->path = xasprintf("%s/sub/state.db", fx->dir);
	fx->a = arena_new();
	*st = fx;
	return 0;
}

static int fx_teardown(void **st)
{
	fixture *fx = *st;

	state_close(fx->s);
	rm_rf(fx->dir);
	arena_free(fx->a);
	free(fx->path);
	free(fx->dir);
	free(fx);
	return 0;
}

static state *open_ok(fixture *fx)
{
	state *s = NULL;
	int rc = state_open(&s, fx->path);

	if (rc != 0)
		fail_msg("state_open: %s", err_msg());
	assert_non_null(s);
	return s;
}

/* ------------------------------------------------------ raw inspection */

static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static int64_t raw_i64(sqlite3 *db, const char *sql)
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

/* The first column of the first row as a heap string ("(null)" for NULL). */
static char *raw_text(sqlite3 *db, const char *sql)
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

static void raw_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("exec '%s': %s", sql, msg);
}

static int64_t file_i64(const char *path, const char *sql)
{
	sqlite3 *db = raw_open(path);
	int64_t v = raw_i64(db, sql);

	sqlite3_close(db);
	return v;
}

static void file_exec(const char *path, const char *sql)
{
	sqlite3 *db = raw_open(path);

	raw_exec(db, sql);
	sqlite3_close(db);
}

static void assert_integrity(const char *path)
{
	sqlite3 *db = raw_open(path);
	char *ok = raw_text(db, "PRAGMA integrity_check");

	assert_string_equal(ok, "ok");
	assert_int_equal(raw_i64(db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
	free(ok);
	sqlite3_close(db);
}

static unsigned file_mode(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (unsigned)(st.st_mode & 07777);
}

static void write_file(const char *path, const void *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
}

static void assert_msg_contains(const char *needle)
{
	if (!strstr(err_msg(), needle))
		fail_msg("error message '%s' lacks '%s'", err_msg(), needle);
}

/* --------------------------------------------------------- generators */

static const char *const regions[] = { "aws-eu-central-1", "aws-us-east-2", "aws-us-west-2" };

/* n minimal projects "<prefix>-<from..from+n-1>", regions in rotation. */
static state_project *make_page(fixture *fx, const char *prefix, int from, int n)
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

/* A project with every field set to a distinct value. */
static state_project full_project(fixture *fx, const char *id)
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
	return p;
}

/* A whole refresh of the given pages (each `per` long). */
static size_t refresh_all(state *s, const state_project *items, size_t n, size_t per)
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

static void assert_project_equal(const state_project *got, const state_project *want)
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
}

/* ------------------------------------------------------------- opening */

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
	assert_int_equal(file_mode(fx->path), 0600);
	assert_int_equal(file_mode(dir), 0700);
	assert_int_equal(state_schema_version(fx->s), STATE_SCHEMA_VERSION);
	assert_int_equal(state_schema_version(fx->s), 5);
	assert_int_equal(state_meta_set(fx->s, "fleet", "prod"), 0);
	/* the WAL file exists while the handle is open, with the same mode */
	assert_int_equal(file_mode(wal), 0600);

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
	buf text = BUF_INIT(0);
	state_open_report rep;

	fx->s = open_ok(fx);
	state_close(fx->s);
	fx->s = NULL;
	assert_int_equal(chmod(fx->path, 0644), 0);
	write_file(wal, "", 0); /* an empty WAL, left readable */
	assert_int_equal(file_mode(wal), 0644);

	log_setup(LOG_DEBUG, LOG_HUMAN, log);
	assert_int_equal(state_open_ex(&fx->s, fx->path, &rep), 0);
	log_setup(LOG_INFO, LOG_HUMAN, NULL);
	fclose(log);
	assert_int_equal(file_mode(fx->path), 0600);
	assert_int_equal(file_mode(wal), 0600);
	assert_int_equal(file_mode(shm), 0600);
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
	assert_int_equal(buf_read_file(&text, logpath), 0);
	if (text.len)
		fail_msg("state/ logged: %.*s", (int)text.len, text.data);
	buf_release(&text);

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
	write_file(fx->path, "", 0);
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
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"), 13);
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

static void test_open_refuses_newer(void **st)
{
	fixture *fx = *st;
	state *s = (state *)fx; /* must be reset to NULL */

	fx->s = open_ok(fx);
	state_close(fx->s);
	fx->s = NULL;
	file_exec(fx->path, "PRAGMA user_version = 6");

	assert_int_equal(state_open(&s, fx->path), ERR_INVALID);
	assert_null(s);
	assert_msg_contains("written by a newer flotilla (schema 6, this one reads up to 5)");
	assert_int_equal(file_i64(fx->path, "PRAGMA user_version"), 6);
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
	write_file(fx->path, junk, sizeof(junk));
	assert_int_equal(state_open(&s, fx->path), ERR_INVALID);
	assert_null(s);
	assert_msg_contains("is not a flotilla state file: not an SQLite database");

	write_file(fx->path, "hello, world\n", 13);
	assert_int_equal(state_open(&s, fx->path), ERR_INVALID);
	assert_msg_contains("not an SQLite database");
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
	assert_msg_contains("an SQLite database of another program (no flotilla application id)");

	file_exec(fx->path, "PRAGMA application_id = 305419896"); /* 0x12345678 */
	assert_int_equal(state_open(&s, fx->path), ERR_INVALID);
	assert_msg_contains("application id 0x12345678, flotilla's is 0x464c5431");

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
	write_file(file, "x", 1);
	assert_int_equal(state_open(&s, under), ERR_IO);
	assert_null(s);
	assert_msg_contains("plain");
	/* a directory where the file should be */
	assert_int_equal(state_open(&s, fx->dir), ERR_IO);
	assert_null(s);
	free(file);
	free(under);
}

/* ------------------------------------------------------------- schema */

static void test_schema_tables_and_no_secrets(void **st)
{
	fixture *fx = *st;
	static const char *const want[] = { "branches", "databases", "endpoints", "journal", "leases",
					    "manifest_extra", "manifest_index", "meta", "parse_cache", "projects", "roles", "runs", "tenants" };
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

/* --------------------------------------------------------------- meta */

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

/* ------------------------------------------------------------ refresh */

static void test_refresh_roundtrip(void **st)
{
	fixture *fx = *st;
	state_project items[2], got;
	int64_t before = (int64_t)time(NULL), after;
	char *when = NULL;

	items[0] = full_project(fx, "quiet-sun-1");
	items[1] = *make_page(fx, "bare", 0, 1); /* NULL org, JSON fields, timestamps */
	fx->s = open_ok(fx);
	assert_int_equal(refresh_all(fx->s, items, 2, 400), 0);
	after = (int64_t)time(NULL);

	assert_int_equal(state_project_get(fx->s, "quiet-sun-1", &got), 0);
	assert_project_equal(&got, &items[0]);
	assert_string_equal(got.created_at, "2026-01-02T03:04:05Z");
	assert_string_equal(got.pg_settings_json, "{\"work_mem\":\"8MB\"}");
	assert_string_equal(got.allowed_ips_json, "[\"10.0.0.0/8\",\"192.0.2.1\"]");
	assert_string_equal(got.maintenance_window_json, "{\"weekdays\":[6,7],\"start_time\":\"01:00\"}");
	assert_true(got.listed_at >= before && got.listed_at <= after);
	assert_int_equal(got.deep_at, 0);
	assert_null(got.deep_updated_at);
	assert_int_equal(state_meta_get(fx->s, "list_refreshed_at", &when), 0);
	assert_non_null(when);
	assert_int_equal(strtoll(when, NULL, 10), got.listed_at);
	free(when);
	state_project_release(&got);
	state_project_release(&got); /* released twice: harmless */

	assert_int_equal(state_project_get(fx->s, "bare-000000", &got), 0);
	assert_project_equal(&got, &items[1]);
	assert_null(got.created_at);
	assert_null(got.pg_settings_json);
	assert_null(got.allowed_ips_json);
	assert_null(got.maintenance_window_json);
	state_project_release(&got);

	assert_int_equal(state_project_get(fx->s, "nope", &got), ERR_NOTFOUND);
	assert_msg_contains("'nope'");
	assert_null(got.id);
	assert_int_equal(state_project_count(fx->s), 2);
}

static void test_refresh_removes_gone_with_deep_rows(void **st)
{
	fixture *fx = *st;
	state_project *all = make_page(fx, "p", 0, 5);
	state_branch br = { .id = S("br-1"), .name = S("main"), .is_default = true };
	state_endpoint ep = { .id = S("ep-1"), .branch_id = S("br-1"), .read_write = true, .current_state = S("idle") };
	state_database dbs = { .branch_id = S("br-1"), .name = S("app"), .owner = S("app_owner") };
	state_role role = { .branch_id = S("br-1"), .name = S("app_owner") };
	state_deep d = { &br, 1, &ep, 1, &dbs, 1, &role, 1 };
	state_project kept[3];
	state_deep got;
	state_summary sum;
	char *when1 = NULL, *when2 = NULL;

	fx->s = open_ok(fx);
	assert_int_equal(refresh_all(fx->s, all, 5, 2), 0);
	assert_int_equal(state_deep_put(fx->s, "p-000001", "2026-11-01T00:00:00Z", &d), 0);
	assert_int_equal(state_deep_put(fx->s, "p-000002", "2026-11-01T00:00:00Z", &d), 0);
	assert_int_equal(state_tenant_put(fx->s, "acme", "p-000001", "prod", "create"), 0);
	assert_int_equal(state_meta_get(fx->s, "list_refreshed_at", &when1), 0);

	/* the next list lacks p-000001 and p-000003 */
	kept[0] = all[0];
	kept[1] = all[2];
	kept[2] = all[4];
	assert_int_equal(refresh_all(fx->s, kept, 3, 2), 2);
	assert_int_equal(state_project_count(fx->s), 3);
	assert_int_equal(state_deep_get(fx->s, "p-000001", &got), ERR_NOTFOUND);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM branches WHERE project_id = 'p-000001'"), 0);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM endpoints WHERE project_id = 'p-000001'"), 0);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM databases WHERE project_id = 'p-000001'"), 0);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM roles WHERE project_id = 'p-000001'"), 0);
	/* p-000002's deep rows stay */
	assert_int_equal(state_deep_get(fx->s, "p-000002", &got), 0);
	assert_int_equal(got.nbranches, 1);
	assert_int_equal(got.nroles, 1);
	state_deep_release(&got);
	/* the tenant map outlives the project */
	assert_int_equal(state_summary_get(fx->s, &sum), 0);
	assert_int_equal(sum.projects, 3);
	assert_int_equal(sum.tenants_mapped, 1);
	assert_int_equal(sum.tenants_without_project, 1);
	assert_int_equal(sum.projects_unmapped, 3);
	state_summary_release(&sum);
	assert_int_equal(state_meta_get(fx->s, "list_refreshed_at", &when2), 0);
	assert_true(strtoll(when2, NULL, 10) >= strtoll(when1, NULL, 10));
	free(when1);
	free(when2);

	/* an empty list removes everything (Neon has no projects) */
	assert_int_equal(refresh_all(fx->s, NULL, 0, 1), 3);
	assert_int_equal(state_project_count(fx->s), 0);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM branches"), 0);
	assert_integrity(fx->path);
}

static void test_refresh_abort_removes_nothing(void **st)
{
	fixture *fx = *st;
	state_project *first = make_page(fx, "p", 0, 4);
	state_project *next = make_page(fx, "p", 3, 3); /* p-3 again, new p-4 and p-5 */
	state_refresh *r = NULL;
	state_project got;
	char *when1 = NULL, *when2 = NULL;

	fx->s = open_ok(fx);
	assert_int_equal(refresh_all(fx->s, first, 4, 4), 0);
	assert_int_equal(state_meta_get(fx->s, "list_refreshed_at", &when1), 0);
	assert_int_equal(state_meta_set(fx->s, "list_refreshed_at", "1000"), 0);

	next[0].name = arena_strdup(fx->a, "renamed");
	assert_int_equal(state_refresh_begin(fx->s, &r), 0);
	assert_int_equal(state_refresh_page(r, next, 3), 0);
	state_refresh_abort(r);
	state_refresh_abort(NULL);

	assert_int_equal(state_project_count(fx->s), 6);
	assert_int_equal(state_project_get(fx->s, "p-000003", &got), 0);
	assert_string_equal(got.name, "renamed"); /* the committed page stays */
	state_project_release(&got);
	assert_int_equal(state_project_get(fx->s, "p-000000", &got), 0);
	state_project_release(&got);
	assert_int_equal(state_meta_get(fx->s, "list_refreshed_at", &when2), 0);
	assert_string_equal(when2, "1000");
	free(when1);
	free(when2);
}

static void test_refresh_bad_page_writes_nothing(void **st)
{
	fixture *fx = *st;
	state_project *page = make_page(fx, "p", 0, 3);
	state_refresh *r = NULL;
	size_t removed = 7;

	fx->s = open_ok(fx);
	page[2].region_id = NULL;
	assert_int_equal(state_refresh_begin(fx->s, &r), 0);
	assert_int_equal(state_refresh_page(r, page, 3), ERR_INVALID);
	assert_msg_contains("project 2 of the page ('p-000002') lacks a region");
	page[2].region_id = arena_strdup(fx->a, "aws-us-east-2");
	page[1].id = NULL;
	assert_int_equal(state_refresh_page(r, page, 3), ERR_INVALID);
	assert_msg_contains("lacks an id");
	assert_int_equal(state_project_count(fx->s), 0);
	assert_int_equal(state_refresh_page(r, page, 1), 0);
	assert_int_equal(state_refresh_finish(r, &removed), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(state_project_count(fx->s), 1);
}

/* A list page updates the listed fields and keeps the deep-read ones. */
static void test_refresh_keeps_deep_bookkeeping(void **st)
{
	fixture *fx = *st;
	state_project p = full_project(fx, "quiet-sun-1"), got;
	state_deep none;

	memset(&none, 0, sizeof(none));
	fx->s = open_ok(fx);
	assert_int_equal(refresh_all(fx->s, &p, 1, 1), 0);
	assert_int_equal(state_deep_put(fx->s, "quiet-sun-1", "2026-11-20T10:00:00Z", &none), 0);
	p.max_cu = 4;
	p.updated_at = arena_strdup(fx->a, "2026-11-21T00:00:00Z");
	assert_int_equal(refresh_all(fx->s, &p, 1, 1), 0);
	assert_int_equal(state_project_get(fx->s, "quiet-sun-1", &got), 0);
	assert_true(got.max_cu == 4);
	assert_string_equal(got.updated_at, "2026-11-21T00:00:00Z");
	assert_true(got.deep_at > 0);
	assert_string_equal(got.deep_updated_at, "2026-11-20T10:00:00Z");
	state_project_release(&got);
}

/* Deep reads are due when the managed fields move, not when updated_at
 * does: Neon moves updated_at whenever a compute starts or suspends. */
static void test_fingerprint_rules(void **st)
{
	fixture *fx = *st;
	state_project p = full_project(fx, "busy-sun-1"), got;
	state_deep none;
	char fp0[STATE_FINGERPRINT_LEN + 1], fp1[STATE_FINGERPRINT_LEN + 1];

	memset(&none, 0, sizeof(none));
	fx->s = open_ok(fx);
	assert_int_equal(refresh_all(fx->s, &p, 1, 1), 0);
	assert_int_equal(state_project_get(fx->s, "busy-sun-1", &got), 0);
	state_project_fingerprint(&p, fp0);
	assert_int_equal(strlen(fp0), STATE_FINGERPRINT_LEN);
	assert_string_equal(got.fingerprint, fp0);
	assert_null(got.deep_fingerprint); /* never read deep */
	state_project_release(&got);

	assert_int_equal(state_deep_put(fx->s, "busy-sun-1", p.updated_at, &none), 0);
	assert_int_equal(state_project_get(fx->s, "busy-sun-1", &got), 0);
	assert_string_equal(got.deep_fingerprint, fp0);
	state_project_release(&got);

	/* activity: updated_at, created_at and org_id are not managed fields */
	p.updated_at = arena_strdup(fx->a, "2026-11-21T08:00:00Z");
	assert_int_equal(refresh_all(fx->s, &p, 1, 1), 0);
	assert_int_equal(state_project_get(fx->s, "busy-sun-1", &got), 0);
	assert_string_equal(got.fingerprint, fp0);
	assert_string_equal(got.deep_fingerprint, fp0);
	state_project_release(&got);

	/* every managed field moves it, each on its own */
	state_project q = p;
	const char *moved[] = {"name", "region", "pg", "retention", "quota", "min", "max", "suspend", "pgset", "ips",
			       "pbo", "lr", "bpc", "mw"};
	for (size_t i = 0; i < ARRAY_LEN(moved); i++) {
		q = p;
		switch (i) {
		case 0: q.name = arena_strdup(fx->a, "other"); break;
		case 1: q.region_id = arena_strdup(fx->a, "aws-us-east-1"); break;
		case 2: q.pg_version = 17; break;
		case 3: q.history_retention_seconds = 1; break;
		case 4: q.quota_logical_size = 2; break;
		case 5: q.min_cu = 0.5; break;
		case 6: q.max_cu = 3; break;
		case 7: q.suspend_timeout_seconds = 300; break;
		case 8: q.pg_settings_json = arena_strdup(fx->a, "{}"); break;
		case 9: q.allowed_ips_json = NULL; break;
		case 10: q.protected_branches_only = false; break;
		case 11: q.logical_replication = false; break;
		case 12: q.block_public_connections = false; break;
		case 13: q.maintenance_window_json = NULL; break;
		}
		state_project_fingerprint(&q, fp1);
		if (strcmp(fp0, fp1) == 0)
			fail_msg("changing %s left the fingerprint as it was", moved[i]);
	}

	/* a quota raised in the console: the row's moves, the deep read's not */
	p.quota_compute_time = 1;
	assert_int_equal(refresh_all(fx->s, &p, 1, 1), 0);
	assert_int_equal(state_project_get(fx->s, "busy-sun-1", &got), 0);
	state_project_fingerprint(&p, fp1);
	assert_string_equal(got.fingerprint, fp1);
	assert_string_equal(got.deep_fingerprint, fp0);
	state_project_release(&got);

	/* apply's PATCH of the project's own fields: deep still current */
	assert_int_equal(state_project_put(fx->s, &p, true), 0);
	assert_int_equal(state_project_get(fx->s, "busy-sun-1", &got), 0);
	assert_string_equal(got.deep_fingerprint, fp1);
	state_project_release(&got);

	/* a write to its children: due for a deep read until one is recorded */
	assert_int_equal(state_deep_stale(fx->s, "busy-sun-1"), 0);
	assert_int_equal(state_deep_stale(fx->s, "not-cached"), 0);
	assert_int_equal(state_project_get(fx->s, "busy-sun-1", &got), 0);
	assert_null(got.deep_fingerprint);
	assert_true(got.deep_at > 0); /* the rows stay, for the plan to show */
	state_project_release(&got);
	assert_int_equal(state_deep_put(fx->s, "busy-sun-1", p.updated_at, &none), 0);
	assert_int_equal(state_project_get(fx->s, "busy-sun-1", &got), 0);
	assert_string_equal(got.deep_fingerprint, fp1);
	state_project_release(&got);
}

/* A list that Neon cut short and that could not be completed removes
 * nothing, and says so until a complete one. */
static void test_refresh_incomplete(void **st)
{
	fixture *fx = *st;
	state_project *all = make_page(fx, "p", 0, 4);
	state_refresh *r = NULL;
	size_t removed = 9;
	char *when = NULL;

	fx->s = open_ok(fx);
	assert_int_equal(state_list_incomplete(fx->s), 0);
	assert_int_equal(refresh_all(fx->s, all, 4, 4), 0);
	assert_int_equal(state_meta_set(fx->s, "list_refreshed_at", "1000"), 0);

	assert_int_equal(state_refresh_begin(fx->s, &r), 0);
	assert_int_equal(state_refresh_page(r, all, 2), 0); /* two listed, two unavailable */
	assert_int_equal(state_refresh_incomplete(r, 2), 0);
	assert_int_equal(state_project_count(fx->s), 4);
	assert_int_equal(state_list_incomplete(fx->s), 2);
	assert_int_equal(state_meta_get(fx->s, "list_refreshed_at", &when), 0);
	assert_string_equal(when, "1000");
	free(when);

	/* a complete list ends it, and then removes what is gone */
	assert_int_equal(state_refresh_begin(fx->s, &r), 0);
	assert_int_equal(state_refresh_page(r, all, 3), 0);
	assert_int_equal(state_refresh_finish(r, &removed), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(state_list_incomplete(fx->s), 0);
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
			    "ALTER TABLE projects DROP COLUMN deep_fingerprint; PRAGMA user_version = 3");

	fx->s = open_ok(fx);
	assert_int_equal(state_schema_version(fx->s), 5);
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

static void test_refresh_outlives_close(void **st)
{
	fixture *fx = *st;
	state_project *page = make_page(fx, "p", 0, 2);
	state_refresh *r = NULL, *r2 = NULL;
	size_t removed = 5;

	fx->s = open_ok(fx);
	assert_int_equal(state_refresh_begin(fx->s, &r), 0);
	assert_int_equal(state_refresh_begin(fx->s, &r2), 0);
	assert_int_equal(state_refresh_page(r, page, 2), 0);
	state_close(fx->s);
	fx->s = NULL;
	assert_int_equal(state_refresh_page(r, page, 2), ERR_INVALID);
	assert_int_equal(state_refresh_finish(r2, &removed), ERR_INVALID);
	assert_int_equal(removed, 0);
	state_refresh_abort(r);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM projects"), 2);
}

/* ------------------------------------------------------------ foreach */

typedef struct walk {
	state *s;
	char ids[8][32];
	int n, stop_after;
	int64_t inner_count;
} walk;

static int walk_project(void *arg, const state_project *p)
{
	walk *w = arg;
	state_project again;

	str_copy(w->ids[w->n++], p->id, sizeof(w->ids[0]));
	/* reads through the same handle work inside the walk */
	if (state_project_get(w->s, p->id, &again) != 0)
		return -100;
	state_project_release(&again);
	w->inner_count = state_project_count(w->s);
	return w->n == w->stop_after ? 42 : 0;
}

static void test_projects_foreach(void **st)
{
	fixture *fx = *st;
	state_project *page = make_page(fx, "p", 0, 5);
	state_project shuffled[5] = { page[3], page[0], page[4], page[2], page[1] };
	walk w = { 0 };

	fx->s = open_ok(fx);
	w.s = fx->s;
	assert_int_equal(state_projects_foreach(fx->s, walk_project, &w), 0); /* empty */
	assert_int_equal(w.n, 0);
	assert_int_equal(refresh_all(fx->s, shuffled, 5, 2), 0);
	assert_int_equal(state_projects_foreach(fx->s, walk_project, &w), 0);
	assert_int_equal(w.n, 5);
	for (int i = 0; i < 5; i++) {
		char want[32];
		snprintf(want, sizeof(want), "p-%06d", i);
		assert_string_equal(w.ids[i], want);
	}
	assert_int_equal(w.inner_count, 5);
	memset(&w, 0, sizeof(w));
	w.s = fx->s;
	w.stop_after = 2;
	assert_int_equal(state_projects_foreach(fx->s, walk_project, &w), 42);
	assert_int_equal(w.n, 2);
	/* the walk's transaction ended: writes work again */
	assert_int_equal(state_meta_set(fx->s, "k", "v"), 0);
}

/* --------------------------------------------------------------- deep */

static void test_deep_put_get(void **st)
{
	fixture *fx = *st;
	state_project *page = make_page(fx, "p", 0, 1);
	state_branch br[2] = {
		{ .id = S("br-main"), .name = S("main"), .is_default = true, .protected_ = true,
		  .annotations_json = S("{\"flotilla.fleet\":\"prod\"}"), .created_at = S("2026-01-01T00:00:00Z"),
		  .updated_at = S("2026-01-02T00:00:00Z") },
		{ .id = S("br-dev"), .name = S("dev"), .parent_id = S("br-main") },
	};
	state_endpoint ep[2] = {
		{ .id = S("ep-b"), .branch_id = S("br-main"), .read_write = true, .min_cu = 0.25, .max_cu = 2,
		  .suspend_timeout_seconds = 300, .current_state = S("active"), .last_active = S("2026-11-25T00:00:00Z") },
		{ .id = S("ep-a"), .branch_id = S("br-dev"), .disabled = true, .min_cu = 1, .max_cu = 1, .name = S("replica-1"),
		  .suspend_timeout_seconds = -1 },
	};
	state_database dbs[2] = { { S("br-main"), S("app"), S("app_owner") }, { S("br-dev"), S("app"), S("app_owner") } };
	state_role roles[2] = { { S("br-main"), S("app_owner") }, { S("br-main"), S("reader") } };
	state_deep d = { br, 2, ep, 2, dbs, 2, roles, 2 };
	state_deep got = { 0 };
	state_project p;
	int64_t before = (int64_t)time(NULL);

	fx->s = open_ok(fx);
	assert_int_equal(state_deep_put(fx->s, "p-000000", "u1", &d), ERR_NOTFOUND);
	assert_msg_contains("'p-000000' is not in the cache");
	assert_int_equal(refresh_all(fx->s, page, 1, 1), 0);
	assert_int_equal(state_deep_get(fx->s, "p-000000", &got), 0); /* cached, never read deep */
	assert_int_equal(got.nbranches + got.nendpoints + got.ndatabases + got.nroles, 0);
	state_deep_release(&got);

	assert_int_equal(state_deep_put(fx->s, "p-000000", "u1", &d), 0);
	assert_int_equal(state_deep_get(fx->s, "p-000000", &got), 0);
	assert_int_equal(got.nbranches, 2);
	assert_string_equal(got.branches[0].id, "br-dev"); /* id order */
	assert_string_equal(got.branches[0].parent_id, "br-main");
	assert_false(got.branches[0].is_default);
	assert_null(got.branches[0].annotations_json);
	assert_string_equal(got.branches[1].id, "br-main");
	assert_string_equal(got.branches[1].name, "main");
	assert_null(got.branches[1].parent_id);
	assert_true(got.branches[1].is_default);
	assert_true(got.branches[1].protected_);
	assert_string_equal(got.branches[1].annotations_json, "{\"flotilla.fleet\":\"prod\"}");
	assert_string_equal(got.branches[1].created_at, "2026-01-01T00:00:00Z");
	assert_string_equal(got.branches[1].updated_at, "2026-01-02T00:00:00Z");
	assert_int_equal(got.nendpoints, 2);
	assert_string_equal(got.endpoints[0].id, "ep-a");
	assert_true(got.endpoints[0].disabled);
	assert_false(got.endpoints[0].read_write);
	assert_int_equal(got.endpoints[0].suspend_timeout_seconds, -1);
	assert_null(got.endpoints[0].current_state);
	assert_string_equal(got.endpoints[0].name, "replica-1");
	assert_null(got.endpoints[1].name);
	assert_string_equal(got.endpoints[1].id, "ep-b");
	assert_string_equal(got.endpoints[1].branch_id, "br-main");
	assert_true(got.endpoints[1].read_write);
	assert_true(got.endpoints[1].min_cu == 0.25 && got.endpoints[1].max_cu == 2);
	assert_int_equal(got.endpoints[1].suspend_timeout_seconds, 300);
	assert_string_equal(got.endpoints[1].current_state, "active");
	assert_string_equal(got.endpoints[1].last_active, "2026-11-25T00:00:00Z");
	assert_int_equal(got.ndatabases, 2);
	assert_string_equal(got.databases[0].branch_id, "br-dev");
	assert_string_equal(got.databases[1].branch_id, "br-main");
	assert_string_equal(got.databases[1].name, "app");
	assert_string_equal(got.databases[1].owner, "app_owner");
	assert_int_equal(got.nroles, 2);
	assert_string_equal(got.roles[0].name, "app_owner");
	assert_string_equal(got.roles[1].name, "reader");
	state_deep_release(&got);
	assert_int_equal(state_project_get(fx->s, "p-000000", &p), 0);
	assert_true(p.deep_at >= before);
	assert_string_equal(p.deep_updated_at, "u1");
	state_project_release(&p);

	/* a second read replaces the first whole */
	d.nbranches = 1;
	d.nendpoints = 1;
	d.ndatabases = 0;
	d.nroles = 1;
	assert_int_equal(state_deep_put(fx->s, "p-000000", "u2", &d), 0);
	assert_int_equal(state_deep_get(fx->s, "p-000000", &got), 0);
	assert_int_equal(got.nbranches, 1);
	assert_string_equal(got.branches[0].id, "br-main");
	assert_int_equal(got.nendpoints, 1);
	assert_int_equal(got.ndatabases, 0);
	assert_int_equal(got.nroles, 1);
	state_deep_release(&got);

	/* bad input changes nothing */
	br[1].id = S("br-main"); /* a duplicate */
	d.nbranches = 2;
	assert_int_equal(state_deep_put(fx->s, "p-000000", "u3", &d), ERR_INVALID);
	assert_msg_contains("repeats a row");
	br[1].id = NULL;
	assert_int_equal(state_deep_put(fx->s, "p-000000", "u3", &d), ERR_INVALID);
	assert_msg_contains("branch 1 lacks an id");
	assert_int_equal(state_project_get(fx->s, "p-000000", &p), 0);
	assert_string_equal(p.deep_updated_at, "u2");
	state_project_release(&p);
	assert_int_equal(state_deep_get(fx->s, "p-000000", &got), 0);
	assert_int_equal(got.nbranches, 1);
	assert_int_equal(got.nendpoints, 1);
	state_deep_release(&got);
	state_deep_release(NULL);
	assert_int_equal(state_deep_get(fx->s, "nope", &got), ERR_NOTFOUND);
	assert_null(got.branches);
}

/* ------------------------------------------------------------ tenants */

typedef struct tenant_walk {
	char names[8][32];
	int n, stop_after;
} tenant_walk;

static int walk_tenant(void *arg, const state_tenant *t)
{
	tenant_walk *w = arg;

	str_copy(w->names[w->n++], t->tenant, sizeof(w->names[0]));
	return w->n == w->stop_after ? 7 : 0;
}

static void test_tenants(void **st)
{
	fixture *fx = *st;
	state_tenant t;
	tenant_walk w = { 0 };
	int64_t before = (int64_t)time(NULL);

	fx->s = open_ok(fx);
	assert_int_equal(state_tenant_count(fx->s), 0);
	assert_int_equal(state_tenant_put(fx->s, "acme", "proj-a", "prod", "create"), 0);
	assert_int_equal(state_tenant_get(fx->s, "acme", &t), 0);
	assert_string_equal(t.tenant, "acme");
	assert_string_equal(t.project_id, "proj-a");
	assert_string_equal(t.fleet, "prod");
	assert_string_equal(t.source, "create");
	assert_true(t.mapped_at >= before && t.mapped_at <= (int64_t)time(NULL));
	state_tenant_release(&t);

	/* the same mapping again keeps mapped_at; the source is updated */
	file_exec(fx->path, "UPDATE tenants SET mapped_at = 1234");
	assert_int_equal(state_tenant_put(fx->s, "acme", "proj-a", "prod", "adopt"), 0);
	assert_int_equal(state_tenant_by_project(fx->s, "proj-a", &t), 0);
	assert_string_equal(t.tenant, "acme");
	assert_string_equal(t.source, "adopt");
	assert_int_equal(t.mapped_at, 1234);
	state_tenant_release(&t);

	/* one project, one tenant */
	assert_int_equal(state_tenant_put(fx->s, "globex", "proj-a", "prod", "create"), ERR_CONFLICT);
	assert_msg_contains("project 'proj-a' is already mapped to tenant 'acme', not 'globex'");
	assert_int_equal(state_tenant_get(fx->s, "globex", &t), ERR_NOTFOUND);
	assert_msg_contains("tenant 'globex' is not mapped");
	assert_null(t.tenant);

	/* remapping acme frees proj-a */
	assert_int_equal(state_tenant_put(fx->s, "acme", "proj-b", "prod", "rebuild"), 0);
	assert_int_equal(state_tenant_get(fx->s, "acme", &t), 0);
	assert_string_equal(t.project_id, "proj-b");
	assert_true(t.mapped_at >= before);
	state_tenant_release(&t);
	assert_int_equal(state_tenant_by_project(fx->s, "proj-a", &t), ERR_NOTFOUND);
	assert_int_equal(state_tenant_put(fx->s, "globex", "proj-a", "prod", "create"), 0);
	assert_int_equal(state_tenant_put(fx->s, "initech", "proj-c", "prod", "create"), 0);

	assert_int_equal(state_tenant_put(fx->s, "x", "proj-x", "prod", "guess"), ERR_INVALID);
	assert_msg_contains("unknown mapping source 'guess'");
	assert_int_equal(state_tenant_put(fx->s, "x", NULL, "prod", "create"), ERR_INVALID);
	assert_int_equal(state_tenant_put(fx->s, "", "proj-x", "prod", "create"), ERR_INVALID);
	assert_int_equal(state_tenant_count(fx->s), 3);

	assert_int_equal(state_tenants_foreach(fx->s, walk_tenant, &w), 0);
	assert_int_equal(w.n, 3);
	assert_string_equal(w.names[0], "acme");
	assert_string_equal(w.names[1], "globex");
	assert_string_equal(w.names[2], "initech");
	memset(&w, 0, sizeof(w));
	w.stop_after = 1;
	assert_int_equal(state_tenants_foreach(fx->s, walk_tenant, &w), 7);
	assert_int_equal(w.n, 1);

	assert_int_equal(state_tenant_delete(fx->s, "globex"), 0);
	assert_int_equal(state_tenant_delete(fx->s, "globex"), ERR_NOTFOUND);
	assert_int_equal(state_tenant_get(fx->s, "globex", &t), ERR_NOTFOUND);
	assert_int_equal(state_tenant_count(fx->s), 2);
	state_tenant_release(NULL);
}

/* ------------------------------------------------------------ summary */

static void test_summary(void **st)
{
	fixture *fx = *st;
	state_project *page = make_page(fx, "p", 0, 7); /* regions 0,1,2,0,1,2,0 */
	state_endpoint ep[4] = {
		{ .id = S("e1"), .branch_id = S("b"), .current_state = S("active") },
		{ .id = S("e2"), .branch_id = S("b"), .current_state = S("idle") },
		{ .id = S("e3"), .branch_id = S("b"), .current_state = S("init") },
		{ .id = S("e4"), .branch_id = S("b"), .current_state = S("idle") },
	};
	state_deep d = { NULL, 0, ep, 4, NULL, 0, NULL, 0 };
	state_deep d2 = { NULL, 0, ep, 2, NULL, 0, NULL, 0 };
	state_summary sum;

	fx->s = open_ok(fx);
	assert_int_equal(state_summary_get(fx->s, &sum), 0);
	assert_int_equal(sum.projects, 0);
	assert_int_equal(sum.list_refreshed_at, 0);
	assert_int_equal(sum.nby_region, 0);
	state_summary_release(&sum);

	assert_int_equal(refresh_all(fx->s, page, 7, 3), 0);
	assert_int_equal(state_deep_put(fx->s, "p-000000", "u", &d), 0);
	assert_int_equal(state_deep_put(fx->s, "p-000001", "u", &d2), 0);
	assert_int_equal(state_tenant_put(fx->s, "a", "p-000000", "prod", "create"), 0);
	assert_int_equal(state_tenant_put(fx->s, "b", "p-000001", "prod", "create"), 0);
	assert_int_equal(state_tenant_put(fx->s, "gone", "p-999999", "prod", "create"), 0);
	assert_int_equal(state_meta_set(fx->s, "list_refreshed_at", "1764130000"), 0);

	assert_int_equal(state_summary_get(fx->s, &sum), 0);
	assert_int_equal(sum.projects, 7);
	assert_int_equal(sum.tenants_mapped, 3);
	assert_int_equal(sum.projects_unmapped, 5);
	assert_int_equal(sum.tenants_without_project, 1);
	assert_int_equal(sum.endpoints_active, 2);
	assert_int_equal(sum.endpoints_idle, 3);
	assert_int_equal(sum.endpoints_other, 1);
	assert_int_equal(sum.list_refreshed_at, 1764130000);
	assert_int_equal(sum.nby_region, 3);
	assert_string_equal(sum.by_region[0].key, "aws-eu-central-1");
	assert_int_equal(sum.by_region[0].n, 3);
	assert_string_equal(sum.by_region[1].key, "aws-us-east-2");
	assert_int_equal(sum.by_region[1].n, 2);
	assert_string_equal(sum.by_region[2].key, "aws-us-west-2");
	assert_int_equal(sum.by_region[2].n, 2);
	state_summary_release(&sum);
	assert_null(sum.by_region);
	state_summary_release(NULL);
}

/* -------------------------------------------------------- concurrency */

typedef struct snap {
	state *reader, *writer;
	state_project *page;
	int64_t inside, writer_saw;
} snap;

/* Inside a walk (a read transaction) on one handle, another handle commits
 * a page: the walk's handle keeps its snapshot until the walk ends. */
static int snap_walk(void *arg, const state_project *p)
{
	snap *sn = arg;
	state_refresh *r = NULL;

	(void)p;
	if (sn->writer_saw)
		return 0;
	if (state_refresh_begin(sn->writer, &r) != 0 || state_refresh_page(r, sn->page, PAGE) != 0)
		return -1;
	state_refresh_abort(r);
	sn->writer_saw = state_project_count(sn->writer);
	sn->inside = state_project_count(sn->reader);
	return 0;
}

static void test_reader_sees_snapshot(void **st)
{
	fixture *fx = *st;
	snap sn = { 0 };
	state_summary sum;

	fx->s = open_ok(fx);
	assert_int_equal(state_open(&sn.reader, fx->path), 0);
	assert_int_equal(refresh_all(fx->s, make_page(fx, "a", 0, 3), 3, 3), 0);
	sn.writer = fx->s;
	sn.page = make_page(fx, "b", 0, PAGE);
	assert_int_equal(state_projects_foreach(sn.reader, snap_walk, &sn), 0);
	assert_int_equal(sn.writer_saw, 3 + PAGE);
	assert_int_equal(sn.inside, 3);
	/* after the walk the reader sees the page */
	assert_int_equal(state_summary_get(sn.reader, &sum), 0);
	assert_int_equal(sum.projects, 3 + PAGE);
	state_summary_release(&sum);
	state_close(sn.reader);
}

/* A child writes pages (with a pause between them) while the parent reads
 * summaries from its own handle: every summary shows whole pages, and its
 * per-region counts add up to its project count. */
static void test_summary_consistent_under_writer(void **st)
{
	fixture *fx = *st;
	enum { PAGES = 30 };
	state_project *pages = make_page(fx, "w", 0, PAGES * PAGE);
	int64_t last = 0, reads = 0;
	pid_t kid;
	int status = -1;
	bool done = false;

	/* no connection may cross a fork: create the file, close, fork, open */
	fx->s = open_ok(fx);
	state_close(fx->s);
	fx->s = NULL;
	kid = fork();
	assert_true(kid >= 0);
	if (kid == 0) {
		state *w = NULL;
		state_refresh *r = NULL;
		int ok = state_open(&w, fx->path) == 0 && state_refresh_begin(w, &r) == 0;
		for (int i = 0; ok && i < PAGES; i++) {
			ok = state_refresh_page(r, pages + i * PAGE, PAGE) == 0;
			usleep(2000);
		}
		ok = ok && state_refresh_finish(r, NULL) == 0;
		state_close(w);
		_exit(ok ? 0 : 1);
	}
	fx->s = open_ok(fx);
	while (!done) {
		state_summary sum;
		int64_t total = 0;
		done = waitpid(kid, &status, WNOHANG) == kid;
		assert_int_equal(state_summary_get(fx->s, &sum), 0);
		for (size_t i = 0; i < sum.nby_region; i++)
			total += sum.by_region[i].n;
		assert_int_equal(total, sum.projects);
		assert_int_equal(sum.projects % PAGE, 0);
		assert_true(sum.projects >= last);
		assert_int_equal(sum.projects_unmapped, sum.projects);
		last = sum.projects;
		reads++;
		state_summary_release(&sum);
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(last, PAGES * PAGE);
	assert_true(reads > 1);
}

/* ------------------------------------------------------- crash safety */

/* The previous complete refresh, then a child that begins another, writes
 * pages and dies without finishing: by _exit, or by SIGKILL in the middle
 * of writing. Nothing is removed, pages are whole, the watermark stays. */
static void crash_case(fixture *fx, bool kill9)
{
	enum { OLD = 120, PAGES = 400 };
	state_project *old = make_page(fx, "old", 0, OLD);
	state_project *fresh = make_page(fx, "new", 0, PAGES * PAGE);
	int pipefd[2];
	char *when1 = NULL, *when2 = NULL;
	char c;
	pid_t kid;
	int status = -1;
	int64_t n;

	fx->s = open_ok(fx);
	assert_int_equal(refresh_all(fx->s, old, OLD, PAGE), 0);
	assert_int_equal(state_meta_get(fx->s, "list_refreshed_at", &when1), 0);
	state_close(fx->s);
	fx->s = NULL;

	assert_int_equal(pipe(pipefd), 0);
	kid = fork();
	assert_true(kid >= 0);
	if (kid == 0) {
		state *w = NULL;
		state_refresh *r = NULL;
		close(pipefd[0]);
		if (state_open(&w, fx->path) != 0 || state_refresh_begin(w, &r) != 0)
			_exit(1);
		/* the second half of the old projects: the first half is "gone" */
		if (state_refresh_page(r, old + OLD / 2, OLD / 2) != 0)
			_exit(1);
		for (int i = 0; i < PAGES; i++) {
			if (state_refresh_page(r, fresh + i * PAGE, PAGE) != 0)
				_exit(1);
			if (i == 3 && write(pipefd[1], "x", 1) != 1)
				_exit(1);
			if (!kill9 && i == 5)
				_exit(0); /* no finish, no close */
		}
		_exit(0);
	}
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], &c, 1), 1);
	if (kill9)
		kill(kid, SIGKILL);
	close(pipefd[0]);
	assert_int_equal(waitpid(kid, &status, 0), kid);
	if (kill9) {
		/* the child may have finished all its pages first on a fast machine;
		 * either way it never finished the refresh */
		assert_true(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0));
	} else {
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}

	assert_integrity(fx->path);
	fx->s = open_ok(fx);
	n = state_project_count(fx->s);
	assert_true(n >= OLD + 4 * PAGE);
	assert_int_equal((n - OLD) % PAGE, 0);
	if (!kill9)
		assert_int_equal(n, OLD + 6 * PAGE);
	for (int i = 0; i < OLD; i++) {
		state_project p;
		assert_int_equal(state_project_get(fx->s, old[i].id, &p), 0);
		state_project_release(&p);
	}
	assert_int_equal(state_meta_get(fx->s, "list_refreshed_at", &when2), 0);
	assert_string_equal(when1, when2);
	free(when1);
	free(when2);

	/* the next complete refresh removes what the list lacks */
	assert_int_equal(refresh_all(fx->s, old + OLD / 2, OLD / 2, PAGE), (size_t)(n - OLD / 2));
	assert_int_equal(state_project_count(fx->s), OLD / 2);
}

static void test_crash_exit_mid_refresh(void **st)
{
	crash_case(*st, false);
}

static void test_crash_kill9_mid_refresh(void **st)
{
	crash_case(*st, true);
}

/* ------------------------------------------------------------- leases */

static void test_lease_basics(void **st)
{
	fixture *fx = *st;
	state_lease held;
	char host[256] = "";
	char *holder;
	int64_t now = (int64_t)time(NULL);

	fx->s = open_ok(fx);
	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	assert_int_equal(state_lease_acquire(fx->s, "fleet", 300, &held), 0);
	assert_null(held.holder);
	holder = xasprintf("%lld@%s", (long long)getpid(), host);
	{
		sqlite3 *db = raw_open(fx->path);
		char *h = raw_text(db, "SELECT holder FROM leases WHERE name = 'fleet'");
		assert_string_equal(h, holder);
		assert_int_equal(raw_i64(db, "SELECT pid FROM leases"), getpid());
		assert_int_equal(raw_i64(db, "SELECT expires_at - acquired_at FROM leases"), 300);
		assert_true(raw_i64(db, "SELECT acquired_at FROM leases") >= now);
		free(h);
		sqlite3_close(db);
	}
	/* taking it again extends it */
	assert_int_equal(state_lease_acquire(fx->s, "fleet", 600, NULL), 0);
	assert_true(file_i64(fx->path, "SELECT expires_at FROM leases") >= now + 600);
	assert_int_equal(state_lease_renew(fx->s, "fleet", 900), 0);
	assert_true(file_i64(fx->path, "SELECT expires_at FROM leases") >= now + 900);
	/* another name is another lease */
	assert_int_equal(state_lease_acquire(fx->s, "daemon", 60, NULL), 0);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM leases"), 2);
	assert_int_equal(state_lease_drop(fx->s, "fleet"), 0);
	assert_int_equal(state_lease_drop(fx->s, "fleet"), ERR_NOTFOUND);
	assert_int_equal(state_lease_renew(fx->s, "fleet", 60), ERR_NOTFOUND);
	assert_msg_contains("nobody holds it");
	assert_int_equal(state_lease_acquire(fx->s, "fleet", 0, NULL), ERR_INVALID);
	assert_int_equal(state_lease_renew(fx->s, "daemon", -5), ERR_INVALID);
	assert_int_equal(state_lease_acquire(fx->s, "", 10, NULL), ERR_INVALID);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM leases"), 1);
	state_lease_release(NULL);
	free(holder);
}

/* A child process that takes the lease and holds it until told to go.
 * Called with no handle open: no connection may cross a fork. */
static pid_t spawn_holder(fixture *fx, int *tell)
{
	int up[2], down[2];
	char c;
	pid_t kid;

	assert_null(fx->s);
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	kid = fork();
	assert_true(kid >= 0);
	if (kid == 0) {
		state *s = NULL;
		close(up[0]);
		close(down[1]);
		if (state_open(&s, fx->path) != 0 || state_lease_acquire(s, "fleet", 300, NULL) != 0)
			_exit(1);
		state_close(s);
		if (write(up[1], "x", 1) != 1)
			_exit(1);
		(void)!read(down[0], &c, 1); /* until the parent writes or exits */
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	assert_int_equal(read(up[0], &c, 1), 1);
	close(up[0]);
	*tell = down[1];
	return kid;
}

static void reap(pid_t kid, int tell)
{
	int status = -1;

	assert_int_equal(write(tell, "x", 1), 1);
	close(tell);
	assert_int_equal(waitpid(kid, &status, 0), kid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_lease_live_then_dead_holder(void **st)
{
	fixture *fx = *st;
	state_lease held;
	char host[256] = "";
	char *want;
	int tell;
	pid_t kid;

	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	kid = spawn_holder(fx, &tell);
	fx->s = open_ok(fx);

	assert_int_equal(state_lease_acquire(fx->s, "fleet", 300, &held), ERR_LOCKED);
	want = xasprintf("%lld@%s", (long long)kid, host);
	assert_string_equal(held.holder, want);
	assert_msg_contains(want);
	assert_int_equal(held.pid, kid);
	assert_string_equal(held.host, host);
	assert_int_equal(held.expires_at - held.acquired_at, 300);
	state_lease_release(&held);
	assert_null(held.holder);
	assert_int_equal(state_lease_renew(fx->s, "fleet", 300), ERR_LOCKED);
	assert_int_equal(state_lease_drop(fx->s, "fleet"), ERR_LOCKED);
	assert_int_equal(file_i64(fx->path, "SELECT pid FROM leases"), kid);

	/* the holder exits without dropping it: taken over at once */
	reap(kid, tell);
	assert_int_equal(state_lease_acquire(fx->s, "fleet", 300, &held), 0);
	assert_null(held.holder);
	assert_int_equal(file_i64(fx->path, "SELECT pid FROM leases"), getpid());
	free(want);
}

static void test_lease_expired_and_remote(void **st)
{
	fixture *fx = *st;
	state_lease held;
	char *sql;

	fx->s = open_ok(fx);
	/* another host: its pid means nothing here, so it holds until expiry,
	 * even with a pid that no process here has */
	sql = xasprintf("INSERT INTO leases VALUES ('fleet', '999999@elsewhere', 999999, 'elsewhere', %lld, %lld, "
			"%lld)", (long long)time(NULL), (long long)time(NULL), (long long)time(NULL) + 3600);
	file_exec(fx->path, sql);
	assert_int_equal(state_lease_acquire(fx->s, "fleet", 60, &held), ERR_LOCKED);
	assert_string_equal(held.host, "elsewhere");
	assert_int_equal(held.pid, 999999);
	state_lease_release(&held);
	file_exec(fx->path, "UPDATE leases SET expires_at = 1000");
	assert_int_equal(state_lease_acquire(fx->s, "fleet", 60, &held), 0);
	assert_int_equal(file_i64(fx->path, "SELECT pid FROM leases"), getpid());
	assert_true(file_i64(fx->path, "SELECT expires_at FROM leases") > 1000);
	free(sql);
}

/* A lease taken over says from whom and why; one that was free or ours
 * already, or that a live holder keeps, says nothing. */
static void test_lease_takeover_report(void **st)
{
	fixture *fx = *st;
	state_lease_takeover took;
	state_lease held;
	char host[256] = "";
	char *want, *sql;
	int tell;
	pid_t kid;

	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	kid = spawn_holder(fx, &tell);
	want = xasprintf("%lld@%s", (long long)kid, host);
	fx->s = open_ok(fx);

	/* a live holder: no takeover */
	memset(&took, 0xff, sizeof(took));
	assert_int_equal(state_lease_acquire_ex(fx->s, "fleet", 300, &held, &took), ERR_LOCKED);
	assert_null(took.reason);
	assert_null(took.from.holder);
	state_lease_release(&held);

	/* its process gone */
	reap(kid, tell);
	assert_int_equal(state_lease_acquire_ex(fx->s, "fleet", 300, &held, &took), 0);
	assert_null(held.holder);
	assert_non_null(took.reason);
	assert_string_equal(took.reason, STATE_LEASE_HOLDER_GONE);
	assert_string_equal(took.reason, "holder process is gone");
	assert_string_equal(took.from.holder, want);
	assert_int_equal(took.from.pid, kid);
	assert_string_equal(took.from.host, host);
	assert_int_equal(took.from.expires_at - took.from.acquired_at, 300);
	state_lease_release(&took.from);

	/* ours already: extended, nobody's taken */
	memset(&took, 0xff, sizeof(took));
	assert_int_equal(state_lease_acquire_ex(fx->s, "fleet", 300, NULL, &took), 0);
	assert_null(took.reason);
	assert_null(took.from.holder);

	/* expired (another host's, trusted until then) */
	sql = xasprintf("UPDATE leases SET holder = '4242@elsewhere', pid = 4242, host = 'elsewhere', "
			"acquired_at = 900, expires_at = 1000");
	file_exec(fx->path, sql);
	assert_int_equal(state_lease_acquire_ex(fx->s, "fleet", 60, NULL, &took), 0);
	assert_string_equal(took.reason, STATE_LEASE_EXPIRED);
	assert_string_equal(took.from.holder, "4242@elsewhere");
	assert_int_equal(took.from.pid, 4242);
	assert_string_equal(took.from.host, "elsewhere");
	assert_int_equal(took.from.expires_at, 1000);
	state_lease_release(&took.from);
	assert_int_equal(file_i64(fx->path, "SELECT pid FROM leases"), getpid());

	/* free: nothing taken over; bad arguments leave it zeroed */
	memset(&took, 0xff, sizeof(took));
	assert_int_equal(state_lease_acquire_ex(fx->s, "daemon", 60, NULL, &took), 0);
	assert_null(took.reason);
	assert_null(took.from.holder);
	memset(&took, 0xff, sizeof(took));
	assert_int_equal(state_lease_acquire_ex(fx->s, "", 60, NULL, &took), ERR_INVALID);
	assert_null(took.reason);
	assert_null(took.from.holder);
	free(sql);
	free(want);
}

static void test_lease_break(void **st)
{
	fixture *fx = *st;
	char host[256] = "";
	char *want, *summary;
	int64_t expires;
	sqlite3 *db;
	int tell;
	pid_t kid;

	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	kid = spawn_holder(fx, &tell);
	fx->s = open_ok(fx);
	assert_int_equal(state_lease_break(fx->s, "other", "stuck"), ERR_NOTFOUND);
	expires = file_i64(fx->path, "SELECT expires_at FROM leases");
	assert_int_equal(state_lease_break(fx->s, "fleet", "operator said \"stuck\""), 0);
	assert_int_equal(state_lease_acquire(fx->s, "fleet", 60, NULL), 0);

	db = raw_open(fx->path);
	assert_int_equal(raw_i64(db, "SELECT count(*) FROM runs WHERE command = 'unlock' AND outcome = 'ok' AND "
				 "finished_at IS NOT NULL"), 1);
	summary = raw_text(db, "SELECT summary_json FROM runs WHERE command = 'unlock'");
	want = xasprintf("{\"lease\":\"fleet\",\"holder\":\"%lld@%s\",\"expires_at\":%lld,"
			 "\"reason\":\"operator said \\\"stuck\\\"\"}", (long long)kid, host, (long long)expires);
	assert_string_equal(summary, want);
	free(summary);
	free(want);
	sqlite3_close(db);
	reap(kid, tell);
	/* the broken holder cannot drop what is now ours */
	assert_int_equal(file_i64(fx->path, "SELECT pid FROM leases"), getpid());
	assert_int_equal(state_lease_break(fx->s, "fleet", NULL), 0);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM runs WHERE summary_json LIKE '%\"reason\":null}'"),
			 1);
}

/* --------------------------------------------------------------- runs */

static void test_runs(void **st)
{
	fixture *fx = *st;
	int64_t id1 = 0, id2 = 0;
	sqlite3 *db;
	char *v;

	fx->s = open_ok(fx);
	assert_int_equal(state_run_begin(fx->s, "apply", &id1), 0);
	assert_true(id1 > 0);
	assert_int_equal(state_run_begin(fx->s, "refresh", &id2), 0);
	assert_int_equal(id2, id1 + 1);
	assert_int_equal(state_run_finish(fx->s, id1, "partial", "{\"failed\":2}"), 0);
	assert_int_equal(state_run_finish(fx->s, id1, "ok", NULL), ERR_CONFLICT);
	assert_msg_contains("already finished");
	assert_int_equal(state_run_finish(fx->s, 9999, "ok", NULL), ERR_NOTFOUND);
	assert_int_equal(state_run_finish(fx->s, id2, NULL, NULL), ERR_INVALID);
	assert_int_equal(state_run_finish(fx->s, id2, "failed", NULL), 0);
	assert_int_equal(state_run_begin(fx->s, "", &id2), ERR_INVALID);
	assert_int_equal(id2, 0);

	db = raw_open(fx->path);
	v = raw_text(db, "SELECT command || ' ' || outcome || ' ' || summary_json FROM runs WHERE id = 1");
	assert_string_equal(v, "apply partial {\"failed\":2}");
	free(v);
	v = raw_text(db, "SELECT summary_json FROM runs WHERE id = 2");
	assert_string_equal(v, "(null)");
	free(v);
	assert_int_equal(raw_i64(db, "SELECT pid FROM runs WHERE id = 1"), getpid());
	assert_int_equal(raw_i64(db, "SELECT count(*) FROM runs WHERE finished_at >= started_at"), 2);
	sqlite3_close(db);
}


/* A version 1 file (as the first release wrote it) gains the parse cache
 * and the protect column on open, and keeps its tenant map. */
/* A version 1 file goes through both steps: 2 and 3. */
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
			    "PRAGMA user_version = 1");
	assert_int_equal(file_i64(fx->path, "PRAGMA user_version"), 1);

	state_open_report rep;
	assert_int_equal(state_open_ex(&fx->s, fx->path, &rep), 0);
	assert_int_equal(rep.migrated_from, 1);
	assert_int_equal(rep.migrated_to, 5);
	assert_int_equal(state_schema_version(fx->s), 5);
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
			    "ALTER TABLE projects DROP COLUMN deep_fingerprint; PRAGMA user_version = 3");
	assert_int_equal(state_open_ex(&fx->s, fx->path, &rep), 0);
	assert_int_equal(rep.migrated_from, 3);
	assert_int_equal(rep.migrated_to, STATE_SCHEMA_VERSION);
	assert_int_equal(state_schema_version(fx->s), STATE_SCHEMA_VERSION);
	state_close(fx->s);
	fx->s = NULL;

	assert_int_equal(state_open_ex(&fx->s, fx->path, &rep), 0); /* current now */
	assert_int_equal(rep.migrated_from, 0);
	assert_int_equal(rep.migrated_to, 0);
	state_close(fx->s);
	fx->s = NULL;

	/* a zero-byte file is a new state file, not a migration */
	assert_int_equal(unlink(fx->path), 0);
	write_file(fx->path, "", 0);
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

typedef struct collected {
	char v[8][64];
	size_t n;
} collected;

static int collect_value(void *arg, const char *value)
{
	collected *c = arg;
	if (c->n == 8)
		return 7; /* a nonzero code stops the walk and comes back */
	snprintf(c->v[c->n++], 64, "%s", value);
	return 0;
}

static void test_manifest_index(void **st)
{
	fixture *fx = *st;
	char *v = NULL;

	fx->s = open_ok(fx);
	const state_index_row rows[] = {
		{"acme", "tenants/a.yaml"}, {"apex", "tenants/a.yaml"}, {"bolt", "tenants/b.yaml"},
	};
	const char *extra[] = {"profiles/pro.yaml", "flotilla.yaml"};
	assert_int_equal(state_index_replace(fx->s, "c1", rows, 3, extra, 2), 0);
	assert_int_equal(state_index_commit(fx->s, &v), 0);
	assert_string_equal(v, "c1");
	free(v);
	assert_int_equal(state_index_path(fx->s, "bolt", &v), 0);
	assert_string_equal(v, "tenants/b.yaml");
	free(v);
	assert_int_equal(state_index_path(fx->s, "nope", &v), ERR_NOTFOUND);
	assert_null(v);

	collected c = {0};
	assert_int_equal(state_index_tenants_at(fx->s, "tenants/a.yaml", collect_value, &c), 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.v[0], "acme");
	assert_string_equal(c.v[1], "apex");
	memset(&c, 0, sizeof(c));
	assert_int_equal(state_index_extra_foreach(fx->s, collect_value, &c), 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.v[0], "flotilla.yaml");
	assert_string_equal(c.v[1], "profiles/pro.yaml");

	/* a.yaml changed (apex moved to c.yaml, acme stays), b.yaml deleted */
	const char *changed[] = {"tenants/a.yaml", "tenants/b.yaml", "tenants/c.yaml"};
	const state_index_row now[] = {{"acme", "tenants/a.yaml"}, {"apex", "tenants/c.yaml"}};
	assert_int_equal(state_index_update(fx->s, "c2", changed, 3, now, 2, NULL, 0), 0);
	assert_int_equal(state_index_commit(fx->s, &v), 0);
	assert_string_equal(v, "c2");
	free(v);
	assert_int_equal(state_index_path(fx->s, "bolt", &v), ERR_NOTFOUND);
	assert_int_equal(state_index_path(fx->s, "apex", &v), 0);
	assert_string_equal(v, "tenants/c.yaml");
	free(v);
	memset(&c, 0, sizeof(c));
	assert_int_equal(state_index_tenants_at(fx->s, "tenants/a.yaml", collect_value, &c), 0);
	assert_int_equal(c.n, 1);
	/* the extra files are the whole index's: an update leaves them, unless
	 * it gives new ones */
	memset(&c, 0, sizeof(c));
	assert_int_equal(state_index_extra_foreach(fx->s, collect_value, &c), 0);
	assert_int_equal(c.n, 2);
	const char *extra2[] = {"flotilla.yaml"};
	assert_int_equal(state_index_update(fx->s, "c2b", NULL, 0, NULL, 0, extra2, 1), 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(state_index_extra_foreach(fx->s, collect_value, &c), 0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.v[0], "flotilla.yaml");
	assert_int_equal(state_index_path(fx->s, "apex", &v), 0); /* rows untouched */
	free(v);

	/* the callback's code stops the walk */
	state_index_row many[9];
	char names[9][8];
	for (int i = 0; i < 9; i++) {
		snprintf(names[i], sizeof(names[i]), "t%d", i);
		many[i] = (state_index_row){names[i], "tenants/m.yaml"};
	}
	assert_int_equal(state_index_replace(fx->s, "c3", many, 9, NULL, 0), 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(state_index_tenants_at(fx->s, "tenants/m.yaml", collect_value, &c), 7);
	assert_int_equal(c.n, 8);
	memset(&c, 0, sizeof(c));
	assert_int_equal(state_index_extra_foreach(fx->s, collect_value, &c), 0);
	assert_int_equal(c.n, 0);
}

static int page_name(void *arg, const state_tenant *t)
{
	collected *c = arg;
	snprintf(c->v[c->n++], 64, "%s", t->tenant);
	return 0;
}

static void test_tenants_page(void **st)
{
	fixture *fx = *st;
	fx->s = open_ok(fx);
	const char *names[] = {"echo", "alpha", "delta", "bravo", "charlie"};
	for (int i = 0; i < 5; i++) {
		char pid[16];
		snprintf(pid, sizeof(pid), "p-%d", i);
		assert_int_equal(state_tenant_put(fx->s, names[i], pid, "prod", "create"), 0);
	}
	collected c = {0};
	assert_int_equal(state_tenants_page(fx->s, "", 2, page_name, &c), 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.v[0], "alpha");
	assert_string_equal(c.v[1], "bravo");
	memset(&c, 0, sizeof(c));
	assert_int_equal(state_tenants_page(fx->s, "bravo", 8, page_name, &c), 0);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.v[0], "charlie");
	assert_string_equal(c.v[2], "echo");
	memset(&c, 0, sizeof(c));
	assert_int_equal(state_tenants_page(fx->s, "echo", 8, page_name, &c), 0);
	assert_int_equal(c.n, 0);
}

static void test_tenant_protect(void **st)
{
	fixture *fx = *st;
	bool protect = false;

	fx->s = open_ok(fx);
	assert_int_equal(state_tenant_set_protect(fx->s, "ghost", true), ERR_NOTFOUND);
	assert_int_equal(state_tenant_get_protect(fx->s, "ghost", &protect), ERR_NOTFOUND);
	assert_int_equal(state_tenant_put(fx->s, "acme", "p-1", "prod", "create"), 0);
	assert_int_equal(state_tenant_set_protect(fx->s, "acme", true), 0);
	assert_int_equal(state_tenant_get_protect(fx->s, "acme", &protect), 0);
	assert_true(protect);
	assert_int_equal(state_tenant_set_protect(fx->s, "acme", false), 0);
	assert_int_equal(state_tenant_get_protect(fx->s, "acme", &protect), 0);
	assert_false(protect);
}

static void test_parse_cache(void **st)
{
	fixture *fx = *st;
	buf b = BUF_INIT(1024);
	int64_t removed = -1;

	fx->s = open_ok(fx);
	assert_int_equal(state_parse_cache_get(fx->s, "b1", &b), ERR_NOTFOUND);
	assert_int_equal(state_parse_cache_put(fx->s, "b1", "abc\0def", 7), 0);
	assert_int_equal(state_parse_cache_get(fx->s, "b1", &b), 0);
	assert_int_equal(b.len, 7);
	assert_memory_equal(b.data, "abc\0def", 7);
	/* replace */
	buf_reset(&b);
	assert_int_equal(state_parse_cache_put(fx->s, "b1", "xy", 2), 0);
	assert_int_equal(state_parse_cache_get(fx->s, "b1", &b), 0);
	assert_int_equal(b.len, 2);
	/* the buffer's max applies */
	buf small = BUF_INIT(1);
	assert_int_equal(state_parse_cache_get(fx->s, "b1", &small), ERR_TOOBIG);
	buf_release(&small);
	/* prune keeps what was used recently, drops the rest */
	assert_int_equal(state_parse_cache_prune(fx->s, 3600, &removed), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(state_parse_cache_prune(fx->s, -10, &removed), 0);
	assert_int_equal(removed, 1);
	buf_reset(&b);
	assert_int_equal(state_parse_cache_get(fx->s, "b1", &b), ERR_NOTFOUND);
	buf_release(&b);
}

/* ------------------------------------------------------------ journal */

/* Collects the rows a journal walk hands out as "id:state" words, and can
 * stop the walk. */
typedef struct jwalk {
	char seen[512];
	int n, stop_at;
	state *s;          /* when set: finish every row handed out, from the callback */
	state *other;      /* when set: another connection writes the file first */
} jwalk;

static void jwalk_add(jwalk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jwalk_add(jwalk *w, const char *fmt, ...)
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

/* Check what the walk collected, then clear it for the next walk. */
static void expect_seen(jwalk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void expect_seen(jwalk *w, const char *fmt, ...)
{
	char want[sizeof(w->seen)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	assert_string_equal(w->seen, want);
	memset(w, 0, sizeof(*w));
}

static int collect_entry(void *arg, const state_journal_entry *e)
{
	jwalk *w = arg;

	jwalk_add(w, "%lld:%s", (long long)e->id, e->state);
	if (w->other && state_meta_set(w->other, "poked_by_walk", e->state) != 0)
		return -97;
	if (w->s && state_journal_finish(w->s, e->id, STATE_JOURNAL_RESOLVED, "found by the walk") != 0)
		return -99;
	return w->n == w->stop_at ? 42 : 0;
}

/* A copy of row `id` (heap strings), through state_journal_run. */
typedef struct jfind {
	int64_t id;
	state_journal_entry e;
	bool found;
} jfind;

static char *dup_or_null(const char *v)
{
	return v ? xstrdup(v) : NULL;
}

static int find_entry(void *arg, const state_journal_entry *e)
{
	jfind *f = arg;

	if (e->id != f->id)
		return 0;
	f->e = *e;
	f->e.tenant = dup_or_null(e->tenant);
	f->e.project_id = dup_or_null(e->project_id);
	f->e.action = dup_or_null(e->action);
	f->e.intent_json = dup_or_null(e->intent_json);
	f->e.state = dup_or_null(e->state);
	f->e.resource_id = dup_or_null(e->resource_id);
	f->e.operation_ids_json = dup_or_null(e->operation_ids_json);
	f->e.request_id = dup_or_null(e->request_id);
	f->e.error = dup_or_null(e->error);
	f->found = true;
	return 0;
}

static state_journal_entry journal_get(state *s, int64_t run_id, int64_t id)
{
	jfind f = { .id = id };

	assert_int_equal(state_journal_run(s, run_id, find_entry, &f), 0);
	if (!f.found)
		fail_msg("journal entry %lld is not in run %lld", (long long)id, (long long)run_id);
	return f.e;
}

static void test_journal_life(void **st)
{
	fixture *fx = *st;
	state_journal_entry e;
	int64_t run = 0, a = 0, b = 0, n = -1;
	const char *body = "{\"method\":\"POST\",\"path\":\"/projects\",\"body\":{\"project\":{\"name\":\"acme\"}}}";

	fx->s = open_ok(fx);
	assert_int_equal(state_run_begin(fx->s, "apply", &run), 0);

	/* a create: intent without a project, sent learns it, done */
	assert_int_equal(state_journal_intent(fx->s, run, "acme", NULL, "create", body, &a), 0);
	assert_true(a > 0);
	e = journal_get(fx->s, run, a);
	assert_string_equal(e.state, STATE_JOURNAL_INTENT);
	assert_string_equal(e.tenant, "acme");
	assert_null(e.project_id);
	assert_string_equal(e.action, "create");
	assert_string_equal(e.intent_json, body);
	assert_int_equal(e.run_id, run);
	assert_null(e.resource_id);
	assert_null(e.error);
	assert_true(e.created_at > 0);
	assert_int_equal(e.updated_at, e.created_at);
	state_journal_entry_release(&e);
	assert_int_equal(state_journal_backlog(fx->s, &n), 0);
	assert_int_equal(n, 1);

	assert_int_equal(state_journal_sent(fx->s, a, "p-1", "p-1", "[\"op-1\",\"op-2\"]", "req-1"), 0);
	e = journal_get(fx->s, run, a);
	assert_string_equal(e.state, STATE_JOURNAL_SENT);
	assert_string_equal(e.project_id, "p-1");
	assert_string_equal(e.resource_id, "p-1");
	assert_string_equal(e.operation_ids_json, "[\"op-1\",\"op-2\"]");
	assert_string_equal(e.request_id, "req-1");
	state_journal_entry_release(&e);
	/* sent again with NULLs keeps the project, clears the rest */
	assert_int_equal(state_journal_sent(fx->s, a, NULL, "br-1", NULL, NULL), 0);
	e = journal_get(fx->s, run, a);
	assert_string_equal(e.project_id, "p-1");
	assert_string_equal(e.resource_id, "br-1");
	assert_null(e.operation_ids_json);
	state_journal_entry_release(&e);

	assert_int_equal(state_journal_finish(fx->s, a, STATE_JOURNAL_DONE, NULL), 0);
	e = journal_get(fx->s, run, a);
	assert_string_equal(e.state, STATE_JOURNAL_DONE);
	assert_null(e.error);
	assert_true(e.updated_at >= e.created_at);
	state_journal_entry_release(&e);
	assert_int_equal(state_journal_backlog(fx->s, &n), 0);
	assert_int_equal(n, 0);
	/* an outcome is never rewritten */
	assert_int_equal(state_journal_finish(fx->s, a, STATE_JOURNAL_FAILED, "late"), ERR_CONFLICT);
	assert_msg_contains("already 'done'");
	assert_int_equal(state_journal_sent(fx->s, a, NULL, NULL, NULL, NULL), ERR_CONFLICT);

	/* intent -> unknown (response lost) -> resolved by a later run */
	assert_int_equal(state_journal_intent(fx->s, run, "acme", "p-1", "delete", "{\"method\":\"DELETE\"}", &b),
			 0);
	assert_int_equal(b, a + 1);
	assert_int_equal(state_journal_finish(fx->s, b, STATE_JOURNAL_UNKNOWN, "timeout after 30s"), 0);
	assert_int_equal(state_journal_sent(fx->s, b, NULL, NULL, NULL, NULL), ERR_CONFLICT);
	assert_int_equal(state_journal_backlog(fx->s, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(state_journal_finish(fx->s, b, STATE_JOURNAL_RESOLVED, "project gone: the delete ran"), 0);
	e = journal_get(fx->s, run, b);
	assert_string_equal(e.state, STATE_JOURNAL_RESOLVED);
	assert_string_equal(e.error, "project gone: the delete ran");
	assert_string_equal(e.project_id, "p-1");
	state_journal_entry_release(&e);
	assert_int_equal(state_journal_backlog(fx->s, &n), 0);
	assert_int_equal(n, 0);

	/* outside a run: run_id NULL, read back as 0; a made-up run is refused */
	assert_int_equal(state_journal_intent(fx->s, 0, NULL, "p-2", "POST /projects/p-2/branches", "{}", &b), 0);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM journal WHERE run_id IS NULL"), 1);
	assert_int_equal(state_journal_intent(fx->s, 9999, "x", NULL, "create", "{}", &b), ERR_CONFLICT);
	assert_int_equal(b, 0);
	assert_int_equal(state_journal_intent(fx->s, run, "x", NULL, "", "{}", &b), ERR_INVALID);
	assert_int_equal(state_journal_intent(fx->s, run, "x", NULL, "create", NULL, &b), ERR_INVALID);
}

static void test_journal_errors(void **st)
{
	fixture *fx = *st;
	int64_t id = 0;

	fx->s = open_ok(fx);
	assert_int_equal(state_journal_sent(fx->s, 77, "p", NULL, NULL, NULL), ERR_NOTFOUND);
	assert_msg_contains("77 does not exist");
	assert_int_equal(state_journal_finish(fx->s, 77, STATE_JOURNAL_DONE, NULL), ERR_NOTFOUND);
	assert_int_equal(state_journal_intent(fx->s, 0, "acme", NULL, "create", "{}", &id), 0);
	assert_int_equal(state_journal_finish(fx->s, id, "finished", NULL), ERR_INVALID);
	assert_msg_contains("'finished'");
	/* intent and sent are not ends */
	assert_int_equal(state_journal_finish(fx->s, id, STATE_JOURNAL_INTENT, NULL), ERR_INVALID);
	assert_int_equal(state_journal_finish(fx->s, id, STATE_JOURNAL_SENT, NULL), ERR_INVALID);
	assert_int_equal(state_journal_finish(fx->s, id, NULL, NULL), ERR_INVALID);
	/* none of that touched the row; the error path left no transaction open */
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM journal WHERE state = 'intent'"), 1);
	assert_int_equal(state_journal_finish(fx->s, id, STATE_JOURNAL_FAILED, "HTTP 422: bad name"), 0);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM journal WHERE state = 'failed' AND "
				  "error = 'HTTP 422: bad name'"), 1);
}

static void test_journal_unfinished(void **st)
{
	fixture *fx = *st;
	int64_t run1 = 0, run2 = 0, id[6], n = -1;
	jwalk w;

	fx->s = open_ok(fx);
	assert_int_equal(state_run_begin(fx->s, "apply", &run1), 0);
	assert_int_equal(state_run_begin(fx->s, "apply", &run2), 0);
	for (int i = 0; i < 6; i++)
		assert_int_equal(state_journal_intent(fx->s, i < 3 ? run1 : run2, "t", "p", "update", "{}", &id[i]),
				 0);
	/* 0 intent, 1 sent, 2 done, 3 unknown, 4 failed, 5 resolved (after unknown) */
	assert_int_equal(state_journal_sent(fx->s, id[1], NULL, "r", NULL, NULL), 0);
	assert_int_equal(state_journal_sent(fx->s, id[2], NULL, "r", NULL, NULL), 0);
	assert_int_equal(state_journal_finish(fx->s, id[2], STATE_JOURNAL_DONE, NULL), 0);
	assert_int_equal(state_journal_finish(fx->s, id[3], STATE_JOURNAL_UNKNOWN, "reset by peer"), 0);
	assert_int_equal(state_journal_finish(fx->s, id[4], STATE_JOURNAL_FAILED, "409"), 0);
	assert_int_equal(state_journal_finish(fx->s, id[5], STATE_JOURNAL_UNKNOWN, NULL), 0);
	assert_int_equal(state_journal_finish(fx->s, id[5], STATE_JOURNAL_RESOLVED, "it ran"), 0);

	memset(&w, 0, sizeof(w));
	assert_int_equal(state_journal_unfinished(fx->s, collect_entry, &w), 0);
	expect_seen(&w, "%lld:intent %lld:sent %lld:unknown", (long long)id[0], (long long)id[1], (long long)id[3]);
	assert_int_equal(state_journal_backlog(fx->s, &n), 0);
	assert_int_equal(n, 3);

	/* a run's rows, all states, oldest first */
	assert_int_equal(state_journal_run(fx->s, run2, collect_entry, &w), 0);
	expect_seen(&w, "%lld:unknown %lld:failed %lld:resolved", (long long)id[3], (long long)id[4],
		    (long long)id[5]);
	assert_int_equal(state_journal_run(fx->s, 12345, collect_entry, &w), 0);
	expect_seen(&w, "%s", "");

	/* a nonzero return stops the walk and comes back */
	w.stop_at = 2;
	assert_int_equal(state_journal_unfinished(fx->s, collect_entry, &w), 42);
	assert_int_equal(w.n, 2);

	/* the callback may resolve the rows it is handed (a recovery pass),
	 * even while another connection writes the file meanwhile */
	memset(&w, 0, sizeof(w));
	w.s = fx->s;
	w.other = open_ok(fx);
	int rc = state_journal_unfinished(fx->s, collect_entry, &w);
	if (rc != 0)
		fail_msg("walk: %d %s", rc, err_msg());
	state_close(w.other);
	assert_int_equal(w.n, 3);
	assert_int_equal(state_journal_backlog(fx->s, &n), 0);
	assert_int_equal(n, 0);
	memset(&w, 0, sizeof(w));
	assert_int_equal(state_journal_unfinished(fx->s, collect_entry, &w), 0);
	assert_int_equal(w.n, 0);
}

static void test_journal_prune(void **st)
{
	fixture *fx = *st;
	int64_t id[5], removed = -1;

	fx->s = open_ok(fx);
	for (int i = 0; i < 5; i++)
		assert_int_equal(state_journal_intent(fx->s, 0, "t", "p", "update", "{}", &id[i]), 0);
	assert_int_equal(state_journal_finish(fx->s, id[0], STATE_JOURNAL_DONE, NULL), 0);
	assert_int_equal(state_journal_finish(fx->s, id[1], STATE_JOURNAL_FAILED, "x"), 0);
	assert_int_equal(state_journal_finish(fx->s, id[2], STATE_JOURNAL_RESOLVED, "y"), 0);
	assert_int_equal(state_journal_finish(fx->s, id[3], STATE_JOURNAL_UNKNOWN, NULL), 0);
	/* id[4] stays intent */

	/* nothing is old yet */
	assert_int_equal(state_journal_prune(fx->s, 3600, &removed), 0);
	assert_int_equal(removed, 0);
	/* age every row by two hours, and make done one recent again */
	file_exec(fx->path, "UPDATE journal SET updated_at = updated_at - 7200, created_at = created_at - 7200");
	char *sql = xasprintf("UPDATE journal SET updated_at = updated_at + 7200 WHERE id = %lld", (long long)id[0]);
	file_exec(fx->path, sql);
	free(sql);
	/* old failed and resolved go; recent done and old unfinished rows stay */
	assert_int_equal(state_journal_prune(fx->s, 3600, &removed), 0);
	assert_int_equal(removed, 2);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM journal WHERE state IN ('done', 'unknown', "
				  "'intent')"), 3);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM journal"), 3);
	/* a negative older_than reaches what finished this very second */
	assert_int_equal(state_journal_prune(fx->s, -10, &removed), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM journal WHERE state IN ('unknown', 'intent')"),
			 2);
}

/* The journal has its thirteen columns and none named like a secret: a
 * password could only reach it inside intent_json or error, which the
 * executor fills from request bodies and messages that never carry one. */
static void test_journal_no_secret_columns(void **st)
{
	fixture *fx = *st;
	static const char *const banned[] = { "password", "secret", "uri", "api_key", "token" };
	sqlite3_stmt *q = NULL;
	sqlite3 *db;
	int columns = 0;

	fx->s = open_ok(fx);
	db = raw_open(fx->path);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT lower(name) FROM pragma_table_info('journal')", -1, &q, NULL),
			 SQLITE_OK);
	while (sqlite3_step(q) == SQLITE_ROW) {
		const char *col = (const char *)sqlite3_column_text(q, 0);
		for (size_t b = 0; b < ARRAY_LEN(banned); b++)
			if (strstr(col, banned[b]))
				fail_msg("column journal.%s could hold a secret", col);
		columns++;
	}
	sqlite3_finalize(q);
	assert_int_equal(columns, 13);
	sqlite3_close(db);
}

/* ---------------------------------------------------------- run history */

static int collect_run(void *arg, const state_run *r)
{
	jwalk *w = arg;

	jwalk_add(w, "%lld:%s:%s", (long long)r->id, r->command, r->outcome ? r->outcome : "-");
	if (r->pid != (int64_t)getpid() || !r->host || !*r->host || r->started_at <= 0 ||
	    (r->outcome ? r->finished_at < r->started_at : r->finished_at != 0))
		return -98;
	return w->n == w->stop_at ? 1 : 0; /* 1: what the walk uses inside to stop at n */
}

static void test_runs_recent(void **st)
{
	fixture *fx = *st;
	int64_t id[4];
	jwalk w;

	fx->s = open_ok(fx);
	memset(&w, 0, sizeof(w));
	assert_int_equal(state_runs_recent(fx->s, 10, collect_run, &w), 0);
	expect_seen(&w, "%s", "");
	assert_int_equal(state_run_begin(fx->s, "plan", &id[0]), 0);
	assert_int_equal(state_run_begin(fx->s, "apply", &id[1]), 0);
	assert_int_equal(state_run_begin(fx->s, "refresh", &id[2]), 0);
	assert_int_equal(state_run_finish(fx->s, id[0], "ok", NULL), 0);
	assert_int_equal(state_run_finish(fx->s, id[1], "partial", "{\"failed\":1}"), 0);
	assert_int_equal(state_lease_acquire(fx->s, "fleet", 60, NULL), 0);
	assert_int_equal(state_lease_break(fx->s, "fleet", "stuck"), 0);
	id[3] = id[2] + 1;

	/* newest first, at most n */
	assert_int_equal(state_runs_recent(fx->s, 3, collect_run, &w), 0);
	expect_seen(&w, "%lld:unlock:ok %lld:refresh:- %lld:apply:partial", (long long)id[3], (long long)id[2],
		    (long long)id[1]);
	assert_int_equal(state_runs_recent(fx->s, 1, collect_run, &w), 0);
	expect_seen(&w, "%lld:unlock:ok", (long long)id[3]);
	assert_int_equal(state_runs_recent(fx->s, 100, collect_run, &w), 0);
	expect_seen(&w, "%lld:unlock:ok %lld:refresh:- %lld:apply:partial %lld:plan:ok", (long long)id[3],
		    (long long)id[2], (long long)id[1], (long long)id[0]);
	assert_int_equal(state_runs_recent(fx->s, 0, collect_run, &w), 0);
	expect_seen(&w, "%s", "");
	/* fn's own nonzero return (even 1) comes back as it is */
	w.stop_at = 1;
	assert_int_equal(state_runs_recent(fx->s, SIZE_MAX, collect_run, &w), 1);
	assert_int_equal(w.n, 1);
	memset(&w, 0, sizeof(w));
	w.stop_at = 1;
	assert_int_equal(state_runs_recent(fx->s, 1, collect_run, &w), 1);
	assert_int_equal(w.n, 1);

	/* release takes NULL and a copy with heap strings */
	state_run r = { .command = xstrdup("apply"), .outcome = xstrdup("ok") };
	state_run_release(&r);
	assert_null(r.command);
	state_run_release(NULL);
	state_journal_entry_release(NULL);
}

int main(void)
{
#define FX(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		FX(test_migrate_v1_to_v2),
		FX(test_tenant_protect),
		FX(test_manifest_index),
		FX(test_tenants_page),
		FX(test_parse_cache),
		FX(test_open_creates_0600),
		FX(test_open_fixes_mode),
		FX(test_open_reopen_keeps_data),
		FX(test_open_migrates_v0),
		FX(test_open_concurrent_first_open),
		FX(test_open_reports_migration),
		FX(test_open_refuses_newer),
		FX(test_open_refuses_garbage),
		FX(test_open_refuses_foreign_sqlite),
		FX(test_open_errors),
		FX(test_schema_tables_and_no_secrets),
		FX(test_meta),
		FX(test_refresh_roundtrip),
		FX(test_refresh_removes_gone_with_deep_rows),
		FX(test_refresh_abort_removes_nothing),
		FX(test_refresh_bad_page_writes_nothing),
		FX(test_refresh_keeps_deep_bookkeeping),
		FX(test_refresh_outlives_close),
		FX(test_fingerprint_rules),
		FX(test_refresh_incomplete),
		FX(test_migrate_v3_to_v4),
		FX(test_projects_foreach),
		FX(test_deep_put_get),
		FX(test_tenants),
		FX(test_summary),
		FX(test_reader_sees_snapshot),
		FX(test_summary_consistent_under_writer),
		FX(test_crash_exit_mid_refresh),
		FX(test_crash_kill9_mid_refresh),
		FX(test_lease_basics),
		FX(test_lease_live_then_dead_holder),
		FX(test_lease_expired_and_remote),
		FX(test_lease_takeover_report),
		FX(test_lease_break),
		FX(test_runs),
		FX(test_journal_life),
		FX(test_journal_errors),
		FX(test_journal_unfinished),
		FX(test_journal_prune),
		FX(test_journal_no_secret_columns),
		FX(test_runs_recent),
	};
#undef FX
	return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
