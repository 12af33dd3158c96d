/*
 * test-state-tenants.c: unit tests for the tenant <-> project map (state/
 * tenants.c): one project per tenant, remapping, walks in name order and
 * a page at a time, and the protect flag remembered for a tenant whose
 * manifest is gone; the listing of `state list` (a join a page), and
 * forgetting a tenant (forgotten.c): unmapped with its sync row, its
 * project remembered until it is mapped again, on a state migrated from
 * schema 7 too; each tenant's usage per period (usage.c).
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

/* -------------------------------------------------------------- tenants */

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
	ut_assert_err_contains("project 'proj-a' is already mapped to tenant 'acme', not 'globex'");
	assert_int_equal(state_tenant_get(fx->s, "globex", &t), ERR_NOTFOUND);
	ut_assert_err_contains("tenant 'globex' is not mapped");
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
	ut_assert_err_contains("unknown mapping source 'guess'");
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

typedef struct row_seen {
	int n;
	char line[8][160];
} row_seen;

static int seen_listing(void *arg, const state_tenant_row *r)
{
	row_seen *w = arg;
	snprintf(w->line[w->n++], sizeof(w->line[0]), "%s %s %s %s %s %d %s %s %lld %s", r->t.tenant,
		 r->t.project_id, r->cached ? "cached" : "uncached", r->project_name ? r->project_name : "-",
		 r->region_id ? r->region_id : "-", r->pg_version, r->protect ? "protect" : "-", r->sync_state,
		 (long long)(r->sync_since > 0), r->sync_reason[0] ? r->sync_reason : "-");
	return w->n == 3 ? 9 : 0;
}

/* state list's page: the map joined with the cache and the sync rows. */
static void test_tenant_rows_page(void **st)
{
	fixture *fx = *st;
	state_project p;
	row_seen w = {0};

	fx->s = open_ok(fx);
	p = full_project(fx, "p-a");
	assert_int_equal(state_project_put(fx->s, &p, false), 0);
	assert_int_equal(state_tenant_put(fx->s, "acme", p.id, "prod", "create"), 0);
	assert_int_equal(state_tenant_put(fx->s, "bolt", "p-gone", "prod", "adopt"), 0);
	assert_int_equal(state_tenant_set_protect(fx->s, "bolt", true), 0);
	assert_int_equal(state_sync_put(fx->s, "bolt", "blocked", "region cannot change", NULL), 0);
	assert_int_equal(state_tenant_rows_page(fx->s, "", 10, seen_listing, &w), 0);
	assert_int_equal(w.n, 2);
	char want[160];
	snprintf(want, sizeof(want), "acme %s cached %s %s %d - synced 0 -", p.id, p.name, p.region_id, p.pg_version);
	assert_string_equal(w.line[0], want);
	assert_string_equal(w.line[1], "bolt p-gone uncached - - 0 protect blocked 1 region cannot change");
	memset(&w, 0, sizeof(w));
	assert_int_equal(state_tenant_rows_page(fx->s, "acme", 10, seen_listing, &w), 0);
	assert_int_equal(w.n, 1);
	assert_int_equal(state_tenant_put(fx->s, "cog", "p-c", "prod", "create"), 0);
	assert_int_equal(state_tenant_put(fx->s, "dune", "p-d", "prod", "create"), 0);
	memset(&w, 0, sizeof(w));
	assert_int_equal(state_tenant_rows_page(fx->s, "", 10, seen_listing, &w), 9); /* fn's code stops it */
	assert_int_equal(w.n, 3);
}

static int seen_forgotten(void *arg, const state_forgotten *f)
{
	row_seen *w = arg;
	snprintf(w->line[w->n++], sizeof(w->line[0]), "%s %s %s %lld", f->tenant, f->project_id, f->fleet,
		 (long long)f->run_id);
	return 0;
}

/* state forget: the tenant leaves the map and its sync row goes; the
 * project is remembered by id until it is mapped again. */
static void test_tenant_forget(void **st)
{
	fixture *fx = *st;
	state_tenant was;
	state_forgotten f;
	state_sync sy;
	row_seen w = {0};
	int64_t run = 0, before = (int64_t)time(NULL);

	fx->s = open_ok(fx);
	assert_int_equal(state_tenant_put(fx->s, "acme", "p-a", "prod", "create"), 0);
	assert_int_equal(state_tenant_put(fx->s, "bolt", "p-b", "prod", "create"), 0);
	assert_int_equal(state_sync_put(fx->s, "acme", "out-of-sync", "manifest removed", NULL), 0);
	assert_int_equal(state_run_begin(fx->s, "state forget", &run), 0);
	assert_int_equal(state_tenant_forget(fx->s, "acme", run, &was), 0);
	assert_string_equal(was.project_id, "p-a");
	assert_string_equal(was.fleet, "prod");
	state_tenant_release(&was);
	assert_int_equal(state_tenant_get(fx->s, "acme", &was), ERR_NOTFOUND);
	assert_int_equal(state_sync_get(fx->s, "acme", &sy), ERR_NOTFOUND);
	assert_int_equal(state_tenant_count(fx->s), 1);
	assert_int_equal(state_forgotten_get(fx->s, "p-a", &f), 0);
	assert_string_equal(f.tenant, "acme");
	assert_string_equal(f.fleet, "prod");
	assert_int_equal(f.run_id, run);
	assert_true(f.forgotten_at >= before);
	state_forgotten_release(&f);
	state_forgotten_release(NULL);

	/* an unmapped tenant: nothing happens */
	assert_int_equal(state_tenant_forget(fx->s, "acme", run, &was), ERR_NOTFOUND);
	ut_assert_err_contains("tenant 'acme' is not mapped");
	assert_null(was.tenant);
	assert_int_equal(state_tenant_forget(fx->s, "", run, NULL), ERR_INVALID);
	assert_int_equal(state_tenant_forget(fx->s, "bolt", 0, NULL), 0);
	assert_int_equal(state_forgotten_foreach(fx->s, seen_forgotten, &w), 0);
	assert_int_equal(w.n, 2);
	char want[64];
	snprintf(want, sizeof(want), "acme p-a prod %lld", (long long)run);
	assert_string_equal(w.line[0], want);
	assert_string_equal(w.line[1], "bolt p-b prod 0");

	/* mapped again (an adopt): no longer forgotten */
	assert_int_equal(state_tenant_put(fx->s, "acme", "p-a", "prod", "adopt"), 0);
	assert_int_equal(state_forgotten_get(fx->s, "p-a", &f), ERR_NOTFOUND);
	ut_assert_err_contains("project 'p-a' was not forgotten");
	assert_int_equal(state_forgotten_get(fx->s, "p-b", &f), 0);
	state_forgotten_release(&f);
}

/* A state of schema 7 (before the forgotten table) is migrated on open. */
static void test_forgotten_migrated(void **st)
{
	fixture *fx = *st;
	state_forgotten f;
	state_open_report rep;

	fx->s = open_ok(fx);
	assert_int_equal(state_tenant_put(fx->s, "acme", "p-a", "prod", "create"), 0);
	state_close(fx->s);
	fx->s = NULL;
	file_exec(fx->path, "DROP TABLE forgotten; DROP TABLE tenant_usage; DROP TABLE backup_schedules; ALTER TABLE projects DROP COLUMN compute_last_active_at; "
			    "ALTER TABLE projects DROP COLUMN synthetic_storage_size; ALTER TABLE projects DROP COLUMN active_time");
	set_schema_version(fx->path, 7);
	assert_int_equal(state_open_ex(&fx->s, fx->path, &rep), 0);
	assert_int_equal(rep.migrated_from, 7);
	assert_int_equal(rep.migrated_to, STATE_SCHEMA_VERSION);
	assert_int_equal(state_tenant_forget(fx->s, "acme", 0, NULL), 0);
	assert_int_equal(state_forgotten_get(fx->s, "p-a", &f), 0);
	state_forgotten_release(&f);
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

/* What state_unmapped_named and state_unmapped_foreach hand out, as
 * "id:name:deep:annotated" words in order. */
typedef struct unmapped_seen {
	char words[512];
} unmapped_seen;

static int seen_row(void *arg, const state_unmapped *u)
{
	unmapped_seen *w = arg;
	size_t n = strlen(w->words);
	snprintf(w->words + n, sizeof(w->words) - n, "%s%s:%s:%d:%d", n ? " " : "", u->project_id, u->name,
		 u->deep_known, u->annotations_json != NULL);
	return 0;
}

static int seen_usage(void *arg, const state_usage *u)
{
	row_seen *w = arg;
	snprintf(w->line[w->n++], sizeof(w->line[0]), "%s %s %lld..%lld %lld %lld %lld %lld %lld", u->tenant,
		 u->project_id, (long long)u->period_start, (long long)u->period_end,
		 (long long)u->compute_unit_seconds, (long long)u->active_seconds, (long long)u->storage_bytes_month,
		 (long long)u->storage_bytes, (long long)u->transfer_bytes);
	return w->n == 3 ? 9 : 0;
}

/* Usage rows: the latest period of each tenant, a second write of a
 * period replacing it; a walk stopped by its callback. */
static void test_usage(void **st)
{
	fixture *fx = *st;
	row_seen w = {0};
	state_usage rows[] = {
		{"bolt", "p-b", 100, 200, 1, 2, 3, 4, 5, 0},
		{"acme", "p-a", 100, 200, 10, 20, 30, 40, 50, 0},
		{"acme", "p-a", 200, 250, 11, 21, 31, 41, 51, 0},
	};
	fx->s = open_ok(fx);
	assert_int_equal(state_usage_foreach(fx->s, seen_usage, &w), 0);
	assert_int_equal(w.n, 0);
	assert_int_equal(state_usage_put(fx->s, rows, 3), 0);
	assert_int_equal(state_usage_foreach(fx->s, seen_usage, &w), 0);
	assert_int_equal(w.n, 2);
	assert_string_equal(w.line[0], "acme p-a 200..250 11 21 31 41 51");
	assert_string_equal(w.line[1], "bolt p-b 100..200 1 2 3 4 5");
	/* the same period again: replaced, not added */
	rows[2].period_end = 300;
	rows[2].compute_unit_seconds = 99;
	assert_int_equal(state_usage_put(fx->s, &rows[2], 1), 0);
	memset(&w, 0, sizeof(w));
	assert_int_equal(state_usage_foreach(fx->s, seen_usage, &w), 0);
	assert_string_equal(w.line[0], "acme p-a 200..300 99 21 31 41 51");
	assert_int_equal(w.n, 2);
	/* a callback's nonzero stops the walk with it */
	state_usage more[] = {{"cato", "p-c", 100, 200, 0, 0, 0, 0, 0, 0}, {"dune", "p-d", 100, 200, 0, 0, 0, 0, 0, 0}};
	assert_int_equal(state_usage_put(fx->s, more, 2), 0);
	memset(&w, 0, sizeof(w));
	assert_int_equal(state_usage_foreach(fx->s, seen_usage, &w), 9);
	assert_int_equal(w.n, 3);
}

static void test_unmapped_named(void **st)
{
	fixture *fx = *st;
	fx->s = open_ok(fx);
	state_project *page = make_page(fx, "p", 0, 6);
	assert_int_equal(refresh_all(fx->s, page, 6, 6), 0);
	/* p-000000 mapped; p-000001 read, one branch annotated; p-000002
	 * read, none; p-000003..5 never read */
	assert_int_equal(state_tenant_put(fx->s, "t0", "p-000000", "prod", "create"), 0);
	state_branch marked = { .id = S("br-1"), .name = S("main"), .is_default = true,
				.annotations_json = S("{\"flotilla.fleet\":\"prod\",\"flotilla.tenant\":\"x\"}") };
	state_branch plain = { .id = S("br-2"), .name = S("main"), .is_default = true };
	state_deep d1 = { .branches = &marked, .nbranches = 1 }, d2 = { .branches = &plain, .nbranches = 1 };
	assert_int_equal(state_deep_put(fx->s, "p-000001", page[1].updated_at, &d1), 0);
	assert_int_equal(state_deep_put(fx->s, "p-000002", page[2].updated_at, &d2), 0);

	const char *names[] = { "tenant-p-000000", "tenant-p-000002", "tenant-p-000003", "nope", "tenant-p-000003" };
	unmapped_seen w = { "" };
	int64_t unread = -1;
	assert_int_equal(state_unmapped_named(fx->s, names, ARRAY_LEN(names), seen_row, &w, &unread), 0);
	/* the mapped one never; the named ones once each; the annotated one
	 * though not named; the count covers the unnamed unread ones too */
	assert_string_equal(w.words, "p-000002:tenant-p-000002:1:0 p-000003:tenant-p-000003:0:0 "
				     "p-000001:tenant-p-000001:1:1");
	assert_int_equal(unread, 3);

	/* no names: the annotated ones and the count */
	memset(&w, 0, sizeof(w));
	assert_int_equal(state_unmapped_named(fx->s, NULL, 0, seen_row, &w, &unread), 0);
	assert_string_equal(w.words, "p-000001:tenant-p-000001:1:1");
	assert_int_equal(unread, 3);

	/* the scan hands out the same rows for those projects, and the rest */
	memset(&w, 0, sizeof(w));
	assert_int_equal(state_unmapped_foreach(fx->s, seen_row, &w), 0);
	assert_non_null(strstr(w.words, "p-000001:tenant-p-000001:1:1"));
	assert_non_null(strstr(w.words, "p-000002:tenant-p-000002:1:0"));
	assert_non_null(strstr(w.words, "p-000005:tenant-p-000005:0:0"));
	assert_null(strstr(w.words, "p-000000"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX(test_tenant_protect),
		FX(test_tenant_rows_page),
		FX(test_tenant_forget),
		FX(test_forgotten_migrated),
		FX(test_tenants_page),
		FX(test_tenants),
		FX(test_unmapped_named),
		FX(test_usage),
	};
	return cmocka_run_group_tests_name("state-tenants", tests, NULL, NULL);
}
