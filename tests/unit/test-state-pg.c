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

#include "state-fixture.h"

static void test_pg_schema(void **st)
{
	fixture *fx = *st;
	static const char *const banned[] = { "password", "secret", "uri", "api_key", "token" };
	char *tables, *cols, *save = NULL;

	fx->s = open_ok(fx);
	assert_int_equal(state_schema_version(fx->s), STATE_SCHEMA_VERSION);
	tables = file_text(fx->path, "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables "
				     "WHERE schemaname = current_schema()");
	assert_string_equal(tables, "branches,databases,endpoints,flotilla_version,journal,leases,manifest_extra,"
				    "manifest_index,meta,parse_cache,projects,roles,runs,tenant_sync,tenants");
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
	file_exec(fx->path, "UPDATE flotilla_version SET version = 8");
	assert_int_equal(state_open(&s, fx->path), ERR_INVALID);
	assert_null(s);
	ut_assert_err_contains("written by a newer flotilla (schema 8, this one reads up to 7)");
	assert_int_equal(file_i64(fx->path, "SELECT version FROM flotilla_version"), 8);
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
	assert_null(strstr(file_text(fx->path, "SELECT string_agg(holder || host, ',') FROM leases"), "hunter2"));
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
	pg_exec_raw(fx->path, NULL, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
				    "application_name = 'flotilla' AND pid <> pg_backend_pid()");
	assert_int_equal(state_meta_get(fx->s, "kept", &v), ERR_IO);
	assert_null(v);
	assert_int_equal(state_meta_get(fx->s, "kept", &v), 0);
	assert_string_equal(v, "yes");
	free(v);
	/* and inside a transaction: it fails, the next one works */
	pg_exec_raw(fx->path, NULL, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
				    "application_name = 'flotilla' AND pid <> pg_backend_pid()");
	assert_int_equal(state_tenant_put(fx->s, "acme", "p-1", "prod", "create"), ERR_IO);
	assert_int_equal(state_tenant_put(fx->s, "acme", "p-1", "prod", "create"), 0);
	assert_int_equal(state_tenant_count(fx->s), 1);
}

/* A list page is written as one pipeline (state/pg.c, run_batch): a row
 * the server refuses half way fails the page, writes none of it, and
 * leaves the connection ready for the next page. */
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
	assert_int_equal(state_refresh_page(r, page, 10), ERR_CONFLICT);
	ut_assert_err_contains("writing a page of projects");
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM projects"), 0);
	page = make_page(fx, "p", 0, 10);
	assert_int_equal(state_refresh_page(r, page, 10), 0);
	assert_int_equal(state_refresh_finish(r, NULL), 0);
	assert_int_equal(state_project_count(fx->s), 10);
	/* a batch longer than one pipeline (PIPELINE_MAX rows) */
	page = make_page(fx, "q", 0, 2500);
	assert_int_equal(refresh_all(fx->s, page, 2500, 2500), 10);
	assert_int_equal(state_project_count(fx->s), 2500);
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
	};

	if (!fx_pg()) {
		fprintf(stderr, "test-state-pg: run with FLOTILLA_TEST_STATE=postgres under tests/pg/pg.sh run\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
