/*
 * test-state-deep.c: unit tests for a project's deep rows (state/deep.c):
 * branches, endpoints, databases and roles, replaced whole by each deep
 * read, read back in id order, and left as they were by bad input; the
 * branches restores preserved, counted and listed oldest first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "state-fixture.h"

/* ----------------------------------------------------------------- deep */

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
	ut_assert_err_contains("'p-000000' is not in the cache");
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
	ut_assert_err_contains("repeats a row");
	br[1].id = NULL;
	assert_int_equal(state_deep_put(fx->s, "p-000000", "u3", &d), ERR_INVALID);
	ut_assert_err_contains("branch 1 lacks an id");
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

/* ------------------------------------------------------------ preserved */

static void test_preserved_list(void **st)
{
	fixture *fx = *st;
	state_project *page = make_page(fx, "p", 0, 3);
	/* p-000000 (a): two preserved, p-000001 (b): one, p-000002: not
	 * mapped; a default branch named like one does not count */
	state_branch a[3] = {
		{ .id = S("br-a1"), .name = S("preserved-main-2"), .created_at = S("2026-03-01T00:00:00Z") },
		{ .id = S("br-a2"), .name = S("preserved-x"), .created_at = S("2026-01-01T00:00:00Z") },
		{ .id = S("br-a3"), .name = S("main"), .is_default = true },
	};
	state_branch b[2] = {
		{ .id = S("br-b1"), .name = S("preserved-b") }, /* no created_at: first */
		{ .id = S("br-b2"), .name = S("preservedx") },
	};
	state_branch c[1] = { { .id = S("br-c1"), .name = S("preserved-c"), .created_at = S("2025-01-01T00:00:00Z") } };
	state_deep d = { 0 };
	int64_t total = -1;
	state_preserved *v = NULL;
	size_t n = 9;

	fx->s = open_ok(fx);
	assert_int_equal(refresh_all(fx->s, page, 3, 3), 0);
	d.branches = a, d.nbranches = 3;
	assert_int_equal(state_deep_put(fx->s, "p-000000", "u", &d), 0);
	d.branches = b, d.nbranches = 2;
	assert_int_equal(state_deep_put(fx->s, "p-000001", "u", &d), 0);
	d.branches = c, d.nbranches = 1;
	assert_int_equal(state_deep_put(fx->s, "p-000002", "u", &d), 0);
	assert_int_equal(state_preserved_list(fx->s, "preserved-", 5, &total, &v, &n), 0);
	assert_int_equal(total, 0); /* no tenant mapped yet */
	assert_int_equal(n, 0);
	state_preserved_release(v, n);
	assert_int_equal(state_tenant_put(fx->s, "a", "p-000000", "f", "create"), 0);
	assert_int_equal(state_tenant_put(fx->s, "b", "p-000001", "f", "create"), 0);

	assert_int_equal(state_preserved_list(fx->s, "preserved-", 2, &total, &v, &n), 0);
	assert_int_equal(total, 3);
	assert_int_equal(n, 2); /* the oldest two */
	assert_string_equal(v[0].tenant, "b");
	assert_string_equal(v[0].name, "preserved-b");
	assert_null(v[0].created_at);
	assert_string_equal(v[1].tenant, "a");
	assert_string_equal(v[1].project_id, "p-000000");
	assert_string_equal(v[1].branch_id, "br-a2");
	assert_string_equal(v[1].created_at, "2026-01-01T00:00:00Z");
	state_preserved_release(v, n);
	assert_int_equal(state_preserved_list(fx->s, "preserved-", 0, &total, &v, &n), 0);
	assert_int_equal(total, 3); /* counted, none listed */
	assert_int_equal(n, 0);
	state_preserved_release(v, n);
	assert_int_equal(state_preserved_list(fx->s, "pre%", 5, &total, &v, &n), ERR_INVALID);
	ut_assert_err_contains("without % _ or \\");
	assert_null(v);
}

/* --------------------------------------------------------- backup schedule */

/* The cached schedule (state/backups.c): NULL until read, replaced by each
 * put, kept across a deep read's new branch rows, gone with its project. */
static void test_backup_schedule(void **st)
{
	fixture *fx = *st;
	state_project *page = make_page(fx, "p", 0, 2);
	state_branch br = { .id = S("br-main"), .name = S("main"), .is_default = true };
	state_deep d = { &br, 1, NULL, 0, NULL, 0, NULL, 0 };
	char *got = S("x");

	fx->s = open_ok(fx);
	assert_int_equal(state_backup_schedule_get(fx->s, "p-000000", &got), 0);
	assert_null(got);
	/* a project not in the cache: nothing written */
	assert_int_equal(state_backup_schedule_put(fx->s, "p-000000", "br-main", "[]"), 0);
	assert_int_equal(refresh_all(fx->s, page, 2, 2), 0);
	assert_int_equal(state_backup_schedule_get(fx->s, "p-000000", &got), 0);
	assert_null(got);

	assert_int_equal(state_backup_schedule_put(fx->s, "p-000000", "br-main", "[{\"frequency\":\"daily\"}]"), 0);
	assert_int_equal(state_backup_schedule_put(fx->s, "p-000001", "br-other", "[]"), 0);
	assert_int_equal(state_deep_put(fx->s, "p-000000", "u1", &d), 0);
	assert_int_equal(state_backup_schedule_get(fx->s, "p-000000", &got), 0);
	assert_string_equal(got, "[{\"frequency\":\"daily\"}]");
	free(got);
	assert_int_equal(state_backup_schedule_put(fx->s, "p-000000", "br-main", "[]"), 0);
	assert_int_equal(state_backup_schedule_get(fx->s, "p-000000", &got), 0);
	assert_string_equal(got, "[]");
	free(got);
	assert_int_equal(state_backup_schedule_put(fx->s, "p-000000", NULL, "[]"), ERR_INVALID);

	/* a refused PUT: the message kept, the schedule too, until a put */
	char *why = S("x");
	assert_int_equal(state_backup_schedule_refused(fx->s, "p-000000", &why), 0);
	assert_null(why);
	assert_int_equal(state_backup_schedule_refuse(fx->s, "p-000000", "br-main", "422: not on the free plan"), 0);
	assert_int_equal(state_backup_schedule_refused(fx->s, "p-000000", &why), 0);
	assert_string_equal(why, "422: not on the free plan");
	free(why);
	assert_int_equal(state_backup_schedule_get(fx->s, "p-000000", &got), 0);
	assert_string_equal(got, "[]");
	free(got);
	assert_int_equal(state_backup_schedule_put(fx->s, "p-000000", "br-main", "[]"), 0);
	assert_int_equal(state_backup_schedule_refused(fx->s, "p-000000", &why), 0);
	assert_null(why);
	/* a project not in the cache: nothing written */
	assert_int_equal(state_backup_schedule_refuse(fx->s, "p-nope", "br-1", "422"), 0);
	assert_int_equal(state_backup_schedule_refused(fx->s, "p-nope", &why), 0);
	assert_null(why);
	assert_int_equal(state_backup_schedule_refuse(fx->s, "p-000001", NULL, "422"), ERR_INVALID);
	assert_int_equal(state_backup_schedule_get(fx->s, NULL, &got), ERR_INVALID);

	/* a list that no longer has p-000000 drops it and its schedule */
	assert_int_equal(refresh_all(fx->s, page + 1, 1, 1), 1);
	assert_int_equal(state_backup_schedule_get(fx->s, "p-000000", &got), 0);
	assert_null(got);
	assert_int_equal(state_backup_schedule_get(fx->s, "p-000001", &got), 0);
	assert_string_equal(got, "[]");
	free(got);
}

/* A state of schema 8 (before backup_schedules) is migrated on open: its
 * projects have no cached schedule, so a plan reads the ones it needs. */
static void test_backup_schedule_migrated(void **st)
{
	fixture *fx = *st;
	state_project *page = make_page(fx, "p", 0, 1);
	state_open_report rep;
	char *got = S("x");

	fx->s = open_ok(fx);
	assert_int_equal(refresh_all(fx->s, page, 1, 1), 0);
	state_close(fx->s);
	fx->s = NULL;
	file_exec(fx->path, "DROP TABLE backup_schedules; DROP TABLE tenant_usage; ALTER TABLE projects DROP COLUMN compute_last_active_at; "
			    "ALTER TABLE projects DROP COLUMN synthetic_storage_size; ALTER TABLE projects DROP COLUMN active_time");
	set_schema_version(fx->path, 8);
	assert_int_equal(state_open_ex(&fx->s, fx->path, &rep), 0);
	assert_int_equal(rep.migrated_from, 8);
	assert_int_equal(rep.migrated_to, STATE_SCHEMA_VERSION);
	assert_int_equal(state_backup_schedule_get(fx->s, "p-000000", &got), 0);
	assert_null(got);
	assert_int_equal(state_backup_schedule_put(fx->s, "p-000000", "br-1", "[]"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX(test_deep_put_get),
		FX(test_preserved_list),
		FX(test_backup_schedule),
		FX(test_backup_schedule_migrated),
	};
	return cmocka_run_group_tests_name("state-deep", tests, NULL, NULL);
}
