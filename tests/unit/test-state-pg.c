/*
 * test-state-pg.c: what is PostgreSQL's own in the state backends
 * (state/pg.c, state/pg_open.c), on a real server (tests/pg/pg.sh run):
 * the schema and its mark, a foreign or newer schema refused, the
 * password never in a message, a lost connection made again. The
 * behaviour both backends share is tested by every test-state-*.c, which
 * run on both.
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

/* End the state's connections from the server side (a restart, a
 * failover): only this test's, by their application_name (other tests
 * share the server). */
static void kill_connections(fixture *fx)
{
	char *sql = xasprintf("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
			      "'flotilla:%s' AND pid <> pg_backend_pid()", fx->schema);
	pg_exec_raw(fx->path, NULL, sql);
	free(sql);
}

static void test_pg_schema(void **st)
{
	fixture *fx = *st;
	static const char *const banned[] = { "password", "secret", "uri", "api_key", "token" };
	char *tables, *cols, *save = NULL;
	state *none = NULL;

	/* a command that only reads never makes the schema */
	assert_int_equal(state_open_existing(&none, fx->path, NULL), ERR_NOTFOUND);
	assert_null(none);
	ut_assert_err_contains("no state at");
	char *sql = xasprintf("SELECT count(*) FROM pg_namespace WHERE nspname = '%s'", fx->schema);
	assert_int_equal(file_i64(fx->path, sql), 0);
	fx->s = open_ok(fx);
	assert_int_equal(file_i64(fx->path, sql), 1);
	free(sql);
	assert_int_equal(state_schema_version(fx->s), STATE_SCHEMA_VERSION);
	tables = file_text(fx->path, "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables "
				     "WHERE schemaname = current_schema()");
	assert_string_equal(tables, "backup_schedules,branches,databases,endpoints,flotilla_version,forgotten,journal,leases,"
				    "manifest_extra,manifest_index,meta,parse_cache,projects,roles,runs,tenant_sync,tenant_usage,tenants");
	for (char *t = strtok_r(tables, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		cols = columns_of(fx->path, t);
		for (size_t b = 0; b < ARRAY_LEN(banned); b++)
			if (strstr(cols, banned[b]))
				fail_msg("a column of %s could hold a secret: %s", t, cols);
		free(cols);
	}
	free(tables);
	assert_int_equal(file_i64(fx->path, "SELECT version FROM flotilla_version WHERE application = 'flotilla'"),
			 STATE_SCHEMA_VERSION);
	/* deep rows cascade from their project, as in the SQLite file */
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM information_schema.referential_constraints r "
					    "JOIN information_schema.table_constraints t ON t.constraint_name = "
					    "r.constraint_name AND t.constraint_schema = r.constraint_schema "
					    "WHERE r.constraint_schema = current_schema() AND r.delete_rule = 'CASCADE' "
					    "AND t.table_name IN ('branches', 'endpoints', 'databases', 'roles')"), 4);
	/* reopening a current schema changes nothing */
	state_close(fx->s);
	fx->s = open_ok(fx);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM flotilla_version"), 1);
}

static void test_pg_refuses_newer(void **st)
{
	fixture *fx = *st;
	state *s = (state *)fx; /* must be reset to NULL */

	fx->s = open_ok(fx);
	state_close(fx->s);
	fx->s = NULL;
	char *sql = xasprintf("UPDATE flotilla_version SET version = %d", STATE_SCHEMA_VERSION + 1);
	file_exec(fx->path, sql);
	free(sql);
	assert_int_equal(state_open(&s, fx->path), ERR_INVALID);
	assert_null(s);
	char want[96];
	snprintf(want, sizeof(want), "written by a newer flotilla (schema %d, this one reads up to %d)",
		 STATE_SCHEMA_VERSION + 1, STATE_SCHEMA_VERSION);
	ut_assert_err_contains(want);
	assert_int_equal(file_i64(fx->path, "SELECT version FROM flotilla_version"), STATE_SCHEMA_VERSION + 1);
}

static void test_pg_refuses_foreign_schema(void **st)
{
	fixture *fx = *st;
	state *s = (state *)fx;
	char *sql = xasprintf("CREATE SCHEMA %s; CREATE TABLE %s.notes (x text); INSERT INTO %s.notes VALUES ('keep')",
			      fx->schema, fx->schema, fx->schema);

	pg_exec_raw(fx->path, "public", sql);
	free(sql);
	assert_int_equal(state_open(&s, fx->path), ERR_INVALID);
	assert_null(s);
	ut_assert_err_contains("holds tables of another program");
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM notes"), 1);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"), 1);
}

/* The location's password reaches libpq and nothing else: not the
 * handle's name in messages, not an error. */
static void test_pg_password_never_shown(void **st)
{
	fixture *fx = *st;
	const char *url = getenv("FLOTILLA_TEST_PG");
	const char *rest = strstr(url, "://") + 3;
	char *with_pw = xasprintf("postgres://flotilla:hunter2-secret@%s?schema=%s", strchr(rest, '@') + 1, fx->schema);
	char *bad_port = xasprintf("postgres://flotilla:hunter2-secret@127.0.0.1:1/flotilla?password=hunter2-secret"
				   "&connect_timeout=2&schema=%s", fx->schema);
	char *bad_name = xasprintf("%s&password=hunter2-secret&schema=Bad-Name", with_pw);
	state *s = NULL;

	/* the test server trusts 127.0.0.1: the password is sent and ignored */
	assert_int_equal(state_open(&fx->s, with_pw), 0);
	assert_int_equal(state_lease_acquire(fx->s, "fleet", 60, NULL), 0);
	char *held = file_text(fx->path, "SELECT string_agg(holder || host, ',') FROM leases");
	assert_null(strstr(held, "hunter2"));
	free(held);
	assert_int_equal(state_open(&s, bad_port), ERR_IO);
	ut_assert_err_contains("cannot connect");
	ut_assert_err_contains("postgres://flotilla@127.0.0.1:1/flotilla?connect_timeout=2&schema=");
	assert_null(strstr(err_msg(), "hunter2"));
	assert_int_equal(state_open(&s, bad_name), ERR_INVALID);
	ut_assert_err_contains("schema 'Bad-Name' is not a plain name");
	assert_null(strstr(err_msg(), "hunter2"));
	free(with_pw);
	free(bad_port);
	free(bad_name);
}

/* A connection the server ended (a restart, a failover, an idle timeout):
 * the statement that finds it gone fails with ERR_IO, the next one
 * connects again, and what was committed is there. */
static void test_pg_reconnects(void **st)
{
	fixture *fx = *st;
	char *v = NULL;

	fx->s = open_ok(fx);
	assert_int_equal(state_meta_set(fx->s, "kept", "yes"), 0);
	kill_connections(fx);
	assert_int_equal(state_meta_get(fx->s, "kept", &v), ERR_IO);
	assert_null(v);
	assert_int_equal(state_meta_get(fx->s, "kept", &v), 0);
	assert_string_equal(v, "yes");
	free(v);
	/* a transaction finds the lost connection at its BEGIN, before
	 * anything of it ran: it connects again and goes on */
	kill_connections(fx);
	assert_int_equal(state_tenant_put(fx->s, "acme", "p-1", "prod", "create"), 0);
	assert_int_equal(state_tenant_count(fx->s), 1);
}

/* A list page is written as one pipelined transaction, sent ahead
 * (state/pg.c, write_batch): a row the server refuses half way fails the
 * next page, naming the page write; none of the page is written, and the
 * connection is ready for the page after. */
static void test_pg_page_refused_half_way(void **st)
{
	fixture *fx = *st;
	state_refresh *r = NULL;
	state_project *page;

	fx->s = open_ok(fx);
	file_exec(fx->path, "ALTER TABLE projects ADD CONSTRAINT not_bad CHECK (name <> 'refused')");
	page = make_page(fx, "p", 0, 10);
	page[6].name = S("refused");
	assert_int_equal(state_refresh_begin(fx->s, &r), 0);
	assert_int_equal(state_refresh_page(r, page, 10), 0); /* sent, not answered */
	page = make_page(fx, "p", 0, 10);
	assert_int_equal(state_refresh_page(r, page, 10), ERR_CONFLICT);
	ut_assert_err_contains("writing a page of projects");
	ut_assert_err_contains("not_bad");
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM projects"), 0);
	assert_int_equal(state_refresh_page(r, page, 10), 0);
	assert_int_equal(state_refresh_finish(r, NULL), 0);
	assert_int_equal(state_project_count(fx->s), 10);
	/* a batch longer than one pipeline (PIPELINE_MAX rows) */
	page = make_page(fx, "q", 0, 2500);
	assert_int_equal(refresh_all(fx->s, page, 2500, 2500), 10);
	assert_int_equal(state_project_count(fx->s), 2500);
}

/* The connection lost while a page sent ahead waits for its answer (here
 * for row locks another connection holds): the refresh cannot finish,
 * the error names the page write, and nothing is removed; the next
 * refresh works. */
static void test_pg_page_ahead_lost(void **st)
{
	fixture *fx = *st;
	state_refresh *r = NULL;
	size_t removed = 0;
	void *lock;
	char *waiting = xasprintf("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'flotilla:%s' "
				  "AND wait_event_type = 'Lock'", fx->schema);
	int polls = 0;

	fx->s = open_ok(fx);
	assert_int_equal(refresh_all(fx->s, make_page(fx, "p", 0, 10), 10, 10), 0);
	lock = pg_hold(fx->path, "BEGIN; SELECT id FROM projects FOR UPDATE");
	assert_int_equal(state_refresh_begin(fx->s, &r), 0);
	assert_int_equal(state_refresh_page(r, make_page(fx, "p", 0, 5), 5), 0);
	/* the page waits on the lock (well within its 5 s lock_timeout) */
	while (file_i64(fx->path, waiting) == 0 && ++polls < 2000)
		usleep(1000);
	if (polls < 2000)
		kill_connections(fx);
	pg_release(lock); /* before any assertion: the teardown needs the table */
	assert_true(polls < 2000);
	assert_int_equal(state_refresh_finish(r, &removed), ERR_IO);
	ut_assert_err_contains("writing a page of projects");
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM projects"), 10);
	assert_int_equal(refresh_all(fx->s, make_page(fx, "p", 0, 5), 5, 5), 5);
	assert_int_equal(state_project_count(fx->s), 5);
	free(waiting);
}

/* Deep rows for project PREFIX-i: two branches, an endpoint, a database and a
 * role, the names carrying i. */
static void put_deep(fixture *fx, const char *prefix, int i)
{
	state_branch b[2] = {
		{arena_printf(fx->a, "br-main-%d", i), S("main"), NULL, true, false, NULL, S("t0"), S("t1")},
		{arena_printf(fx->a, "br-dev-%d", i), S("dev"), arena_printf(fx->a, "br-main-%d", i), false, true,
		 S("{\"flotilla.fleet\":\"prod\"}"), NULL, NULL},
	};
	state_endpoint e = {arena_printf(fx->a, "ep-%d", i), b[0].id, true, 0.25, 2, 300, false, S("idle"), NULL,
			    NULL};
	state_database d = {b[0].id, arena_printf(fx->a, "db%d", i), S("owner")};
	state_role r = {b[0].id, S("owner")};
	state_deep deep = {b, 2, &e, 1, &d, 1, &r, 1};
	char *id = arena_printf(fx->a, "%s-%06d", prefix, i);

	assert_int_equal(state_deep_put(fx->s, id, "2026-11-01T00:00:00Z", &deep), 0);
}

static void assert_deep_same(const state_deep *a, const state_deep *b)
{
	assert_int_equal(a->nbranches, b->nbranches);
	for (size_t i = 0; i < a->nbranches; i++) {
		assert_string_equal(a->branches[i].id, b->branches[i].id);
		assert_string_equal(a->branches[i].name, b->branches[i].name);
		assert_true((a->branches[i].parent_id == NULL) == (b->branches[i].parent_id == NULL));
		assert_int_equal(a->branches[i].is_default, b->branches[i].is_default);
		assert_int_equal(a->branches[i].protected_, b->branches[i].protected_);
		assert_true((a->branches[i].annotations_json == NULL) == (b->branches[i].annotations_json == NULL));
	}
	assert_int_equal(a->nendpoints, b->nendpoints);
	for (size_t i = 0; i < a->nendpoints; i++) {
		assert_string_equal(a->endpoints[i].id, b->endpoints[i].id);
		assert_true(a->endpoints[i].max_cu == b->endpoints[i].max_cu);
		assert_int_equal(a->endpoints[i].suspend_timeout_seconds, b->endpoints[i].suspend_timeout_seconds);
	}
	assert_int_equal(a->ndatabases, b->ndatabases);
	for (size_t i = 0; i < a->ndatabases; i++)
		assert_string_equal(a->databases[i].name, b->databases[i].name);
	assert_int_equal(a->nroles, b->nroles);
	for (size_t i = 0; i < a->nroles; i++)
		assert_string_equal(a->roles[i].name, b->roles[i].name);
}

/* Many lookups in one read transaction are served from a snapshot read
 * whole (state/snapshot.c): the same answers as one by one, none of a
 * write committed after the transaction began, and the write seen once it
 * ended. */
static void test_pg_snapshot(void **st)
{
	fixture *fx = *st;
	enum { N = 300 };
	state_project *page = make_page(fx, "p", 0, N);
	state_deep one[N];
	state_project p;

	fx->s = open_ok(fx);
	refresh_all(fx->s, page, N, 100);
	for (int i = 0; i < N; i += 2)
		put_deep(fx, "p", i);
	/* one by one, outside a read transaction */
	for (int i = 0; i < N; i++)
		assert_int_equal(state_deep_get(fx->s, page[i].id, &one[i]), 0);

	assert_int_equal(state_read_begin(fx->s), 0);
	/* the snapshot is taken by the transaction's first read (as SQLite's) */
	assert_int_equal(state_project_get(fx->s, page[0].id, &p), 0);
	state_project_release(&p);
	/* committed after that: not in the snapshot */
	file_exec(fx->path, "UPDATE projects SET name = 'renamed' WHERE id = 'p-000299'; "
			    "DELETE FROM branches WHERE project_id = 'p-000298'");
	for (int i = 0; i < N; i++) {
		state_deep d;
		assert_int_equal(state_project_get(fx->s, page[i].id, &p), 0);
		assert_string_equal(p.name, page[i].name);
		assert_int_equal(p.pg_version, 17);
		state_project_release(&p);
		assert_int_equal(state_deep_get(fx->s, page[i].id, &d), 0);
		assert_deep_same(&d, &one[i]);
		state_deep_release(&d);
	}
	assert_int_equal(state_project_get(fx->s, "p-nope", &p), ERR_NOTFOUND);
	state_deep none;
	assert_int_equal(state_deep_get(fx->s, "p-nope", &none), ERR_NOTFOUND);
	/* they come from memory: with the connection gone they still answer */
	kill_connections(fx);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(state_project_get(fx->s, page[i].id, &p), 0);
		state_project_release(&p);
	}
	state_read_end(fx->s);

	/* a new transaction sees the write */
	assert_int_equal(state_read_begin(fx->s), 0);
	for (int i = 0; i < N; i++) {
		assert_int_equal(state_project_get(fx->s, page[i].id, &p), 0);
		assert_string_equal(p.name, i == 299 ? "renamed" : page[i].name);
		state_project_release(&p);
	}
	state_deep d;
	assert_int_equal(state_deep_get(fx->s, "p-000298", &d), 0);
	assert_int_equal(d.nbranches, 0);
	assert_int_equal(d.nendpoints, 1);
	state_deep_release(&d);
	state_read_end(fx->s);
	for (int i = 0; i < N; i++)
		state_deep_release(&one[i]);
}

/* Writes in a batch are pipelined (state/pg.c, step_deferred): a read
 * in the same transaction sees them, and one the server refuses fails
 * the commit, which then writes none of them. */
static void test_pg_deferred_writes(void **st)
{
	fixture *fx = *st;
	buf got = BUF_INIT(0);
	int rc = 0;

	fx->s = open_ok(fx);
	assert_int_equal(state_batch_begin(fx->s), 0);
	for (int i = 0; i < 2500; i++) {
		char id[32];
		snprintf(id, sizeof(id), "blob-%05d", i);
		assert_int_equal(state_parse_cache_put(fx->s, id, id, strlen(id)), 0);
	}
	assert_int_equal(state_parse_cache_get(fx->s, "blob-02499", &got), 0);
	assert_int_equal(got.len, 10);
	assert_memory_equal(got.data, "blob-02499", 10);
	buf_release(&got);
	assert_int_equal(state_batch_commit(fx->s), 0);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM parse_cache"), 2500);

	file_exec(fx->path, "ALTER TABLE parse_cache ADD CONSTRAINT not_bad CHECK (blob_id <> 'bad')");
	assert_int_equal(state_batch_begin(fx->s), 0);
	for (int i = 0; i < 20 && rc == 0; i++)
		rc = state_parse_cache_put(fx->s, i == 10 ? "bad" : "good", "x", 1);
	if (rc == 0)
		rc = state_batch_commit(fx->s);
	else
		state_batch_rollback(fx->s);
	assert_int_equal(rc, ERR_CONFLICT);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM parse_cache WHERE blob_id IN ('bad', 'good')"), 0);
	/* the connection goes on */
	assert_int_equal(state_parse_cache_put(fx->s, "after", "y", 1), 0);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM parse_cache WHERE blob_id = 'after'"), 1);
}

/* A state with rows in every table that is copied. */
static void fill_state(fixture *fx, state *s)
{
	state_project *page = make_page(fx, "c", 0, 40);
	state_project full = full_project(fx, "c-full");
	int64_t run = 0, j = 0;
	const state_index_row rows[] = {{"acme", "tenants/acme.yaml"}, {"zeta", "tenants/zeta.yaml"}};
	const char *extra[] = {"flotilla.yaml"};
	const unsigned char blob[] = {0, 1, 2, 0xff, '\\', 'x', 0};

	refresh_all(s, page, 40, 25);
	assert_int_equal(state_project_put(s, &full, false), 0);
	fx->s = s;
	for (int i = 0; i < 40; i += 3)
		put_deep(fx, "c", i);
	fx->s = NULL;
	assert_int_equal(state_tenant_put(s, "acme", "c-000001", "prod", "create"), 0);
	assert_int_equal(state_tenant_put(s, "zeta", "c-000002", "prod", "adopt"), 0);
	assert_int_equal(state_tenant_set_protect(s, "zeta", true), 0);
	assert_int_equal(state_tenant_put(s, "gone", "c-000003", "prod", "create"), 0);
	assert_int_equal(state_tenant_forget(s, "gone", 0, NULL), 0);
	assert_int_equal(state_sync_put(s, "acme", "drifted", "quota changed", "[{\"path\":\"quota\"}]"), 0);
	const state_usage usage = {"acme", "p-acme", 1764547200, 1764806400, 3600, 14400, 123456789, 987654, 42, 0};
	assert_int_equal(state_usage_put(s, &usage, 1), 0);
	assert_int_equal(state_run_begin(s, "apply", &run), 0);
	assert_int_equal(state_journal_intent(s, run, "acme", "c-000001", "update", "{\"method\":\"PATCH\"}", &j), 0);
	assert_int_equal(state_journal_finish(s, j, "done", NULL), 0);
	assert_int_equal(state_run_finish(s, run, "ok", "{\"updated\":1}"), 0);
	assert_int_equal(state_parse_cache_put(s, "blob-1", blob, sizeof(blob)), 0);
	assert_int_equal(state_parse_cache_put(s, "blob-empty", "", 0), 0);
	assert_int_equal(state_index_replace(s, "abc123", rows, 2, extra, 1), 0);
	assert_int_equal(state_meta_set(s, "fleet", "prod"), 0);
	assert_int_equal(state_lease_acquire(s, "fleet", 60, NULL), 0);
	assert_int_equal(state_backup_schedule_put(s, "c-full", "br-c-full", "[{\"frequency\":\"daily\",\"hour\":3}]"), 0);
}

/* flotilla state copy's core: SQLite -> PostgreSQL -> SQLite gives the
 * same state, each hop verified; a copy never goes into a state that is
 * not empty, and ids go on after the copied ones. */
static void test_pg_copy_round_trip(void **st)
{
	fixture *fx = *st;
	char *file = xasprintf("%s/from.db", fx->dir), *back = xasprintf("%s/back.db", fx->dir);
	state *from = NULL, *pg = NULL, *again = NULL;
	state_copy_report rep;
	int64_t run = 0;

	assert_int_equal(state_open(&from, file), 0);
	fill_state(fx, from);
	assert_int_equal(state_open(&pg, fx->path), 0);
	assert_int_equal(state_copy(from, pg, &rep), 0);
	assert_int_equal(rep.tables, 16);
	assert_true(rep.rows > 100);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM leases"), 0);
	assert_int_equal(state_open(&again, back), 0);
	assert_int_equal(state_copy(pg, again, &rep), 0);
	/* the far ends compared directly */
	assert_int_equal(state_verify_same(from, again, &rep), 0);
	assert_int_equal(rep.tables, 16);
	/* a copy into a state that holds something is refused, and writes nothing */
	assert_int_equal(state_copy(from, again, &rep), ERR_CONFLICT);
	ut_assert_err_contains("not empty");
	/* a difference is found, and named */
	file_exec(back, "UPDATE tenants SET fleet = 'other' WHERE tenant = 'zeta'");
	assert_int_equal(state_verify_same(from, again, &rep), ERR_FAIL);
	ut_assert_err_contains("table tenants differs");
	file_exec(back, "UPDATE tenants SET fleet = 'prod' WHERE tenant = 'zeta'");
	file_exec(back, "UPDATE forgotten SET tenant = 'other'");
	assert_int_equal(state_verify_same(from, again, &rep), ERR_FAIL);
	ut_assert_err_contains("table forgotten differs");
	file_exec(back, "UPDATE forgotten SET tenant = 'gone'");
	assert_int_equal(file_i64(back, "SELECT count(*) FROM backup_schedules WHERE schedule_json LIKE '%daily%'"), 1);
	file_exec(back, "UPDATE backup_schedules SET schedule_json = '[]'");
	assert_int_equal(state_verify_same(from, again, &rep), ERR_FAIL);
	ut_assert_err_contains("table backup_schedules differs");
	/* the copied ids are taken: the next run follows them */
	assert_int_equal(state_run_begin(pg, "refresh", &run), 0);
	assert_int_equal(run, 2);
	state_close(again);
	state_close(pg);
	state_close(from);
	free(file);
	free(back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX(test_pg_schema),
		FX(test_pg_refuses_newer),
		FX(test_pg_refuses_foreign_schema),
		FX(test_pg_password_never_shown),
		FX(test_pg_reconnects),
		FX(test_pg_page_refused_half_way),
		FX(test_pg_page_ahead_lost),
		FX(test_pg_snapshot),
		FX(test_pg_copy_round_trip),
		FX(test_pg_deferred_writes),
	};

	if (!fx_pg()) {
		fprintf(stderr, "test-state-pg: run with FLOTILLA_TEST_STATE=postgres under tests/pg/pg.sh run\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
