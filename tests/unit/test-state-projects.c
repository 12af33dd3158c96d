/*
 * test-state-projects.c: unit tests for the project cache (state/
 * projects.c): list refreshes page by page, what a refresh removes and
 * what an interrupted one never removes, the managed-field fingerprints
 * that decide deep reads, walks over the cache, and the summary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "state-fixture.h"

/* -------------------------------------------------------------- refresh */

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
	assert_string_equal(got.compute_last_active_at, "2026-11-19T22:15:00Z");
	assert_int_equal(got.synthetic_storage_size, 3221225472LL);
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
	assert_null(got.compute_last_active_at); /* never active */
	state_project_release(&got);

	assert_int_equal(state_project_get(fx->s, "nope", &got), ERR_NOTFOUND);
	ut_assert_err_contains("'nope'");
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
	ut_assert_err_contains("project 2 of the page ('p-000002') lacks a region");
	page[2].region_id = arena_strdup(fx->a, "aws-us-east-2");
	page[1].id = NULL;
	assert_int_equal(state_refresh_page(r, page, 3), ERR_INVALID);
	ut_assert_err_contains("lacks an id");
	assert_int_equal(state_project_count(fx->s), 0);
	assert_int_equal(state_refresh_page(r, page, 1), 0);
	assert_int_equal(state_refresh_finish(r, &removed), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(state_project_count(fx->s), 1);
}

/* A project listed twice in one page (a list cut short and read again)
 * is written once, as its last listing says: on PostgreSQL the page is one
 * statement of many rows, which may not upsert a row twice. */
static void test_refresh_page_lists_a_project_twice(void **st)
{
	fixture *fx = *st;
	state_project *page = make_page(fx, "p", 0, 5), got;
	state_refresh *r = NULL;

	fx->s = open_ok(fx);
	page[4] = page[1];
	page[4].name = arena_strdup(fx->a, "renamed");
	assert_int_equal(state_refresh_begin(fx->s, &r), 0);
	assert_int_equal(state_refresh_page(r, page, 5), 0);
	assert_int_equal(state_refresh_finish(r, NULL), 0);
	assert_int_equal(state_project_count(fx->s), 4);
	assert_int_equal(state_project_get(fx->s, page[1].id, &got), 0);
	assert_string_equal(got.name, "renamed");
	state_project_release(&got);
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

/* Activity and storage (schema 9) are what the latest list says, a
 * storage the list did not send reads -1 (not 0 bytes), and neither moves
 * the fingerprint: a compute waking is no reason for a deep read. */
static void test_activity_and_storage(void **st)
{
	fixture *fx = *st;
	state_project p = full_project(fx, "sleepy-1"), got;
	char fp0[STATE_FINGERPRINT_LEN + 1], fp1[STATE_FINGERPRINT_LEN + 1];

	fx->s = open_ok(fx);
	state_project_fingerprint(&p, fp0);
	assert_int_equal(refresh_all(fx->s, &p, 1, 1), 0);
	p.compute_last_active_at = arena_strdup(fx->a, "2026-12-01T08:00:00Z");
	p.synthetic_storage_size = -1;
	p.active_time = 86400;
	state_project_fingerprint(&p, fp1);
	assert_string_equal(fp0, fp1);
	assert_int_equal(refresh_all(fx->s, &p, 1, 1), 0);
	assert_int_equal(state_project_get(fx->s, "sleepy-1", &got), 0);
	assert_string_equal(got.compute_last_active_at, "2026-12-01T08:00:00Z");
	assert_int_equal(got.synthetic_storage_size, -1);
	assert_int_equal(got.active_time, 86400);
	assert_string_equal(got.fingerprint, fp0);
	state_project_release(&got);
	p.compute_last_active_at = NULL;
	p.synthetic_storage_size = 0;
	p.active_time = -1;
	assert_int_equal(refresh_all(fx->s, &p, 1, 1), 0);
	assert_int_equal(state_project_get(fx->s, "sleepy-1", &got), 0);
	assert_null(got.compute_last_active_at);
	assert_int_equal(got.synthetic_storage_size, 0);
	assert_int_equal(got.active_time, -1);
	state_project_release(&got);
}

/* A state of schema 8 gains the columns on open, its rows not known in
 * them ('' and -1: not "never active", which NULL means) until the next
 * list fills them, and kept otherwise. */
static void test_activity_migrated(void **st)
{
	fixture *fx = *st;
	state_project p = full_project(fx, "old-1"), got;
	state_open_report rep;

	fx->s = open_ok(fx);
	assert_int_equal(refresh_all(fx->s, &p, 1, 1), 0);
	state_close(fx->s);
	fx->s = NULL;
	file_exec(fx->path, "ALTER TABLE projects DROP COLUMN compute_last_active_at; "
			    "ALTER TABLE projects DROP COLUMN synthetic_storage_size; ALTER TABLE projects DROP COLUMN active_time; DROP TABLE tenant_usage; DROP TABLE backup_schedules");
	set_schema_version(fx->path, 8);
	assert_int_equal(state_open_ex(&fx->s, fx->path, &rep), 0);
	assert_int_equal(rep.migrated_from, 8);
	assert_int_equal(rep.migrated_to, STATE_SCHEMA_VERSION);
	assert_int_equal(state_project_get(fx->s, "old-1", &got), 0);
	assert_string_equal(got.name, p.name);
	assert_string_equal(got.compute_last_active_at, ""); /* not known yet, not never */
	assert_int_equal(got.synthetic_storage_size, -1);
	state_project_release(&got);
	assert_int_equal(refresh_all(fx->s, &p, 1, 1), 0);
	assert_int_equal(state_project_get(fx->s, "old-1", &got), 0);
	assert_project_equal(&got, &p);
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

/* -------------------------------------------------------------- foreach */

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

/* -------------------------------------------------------------- summary */

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX(test_refresh_roundtrip),
		FX(test_refresh_removes_gone_with_deep_rows),
		FX(test_refresh_abort_removes_nothing),
		FX(test_refresh_bad_page_writes_nothing),
		FX(test_refresh_page_lists_a_project_twice),
		FX(test_refresh_keeps_deep_bookkeeping),
		FX(test_refresh_outlives_close),
		FX(test_fingerprint_rules),
		FX(test_refresh_incomplete),
		FX(test_activity_and_storage),
		FX(test_activity_migrated),
		FX(test_projects_foreach),
		FX(test_summary),
	};
	return cmocka_run_group_tests_name("state-projects", tests, NULL, NULL);
}
