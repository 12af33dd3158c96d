/*
 * test-sync.c: the tenants' sync states, on a real state file: the rows
 * of state/sync.c (a synced tenant has none; the same state again keeps
 * its since; counts count mapped tenants without a row as synced), and
 * how engine/sync.c records a plan, a drift sweep's comparison and an
 * apply's outcomes (failed and drifted outlast a plan that still finds
 * the change; a whole-fleet plan clears the rows of tenants gone from
 * git; a stopped apply leaves the tenants it never started out of sync).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "engine/engine.h"

#include "state-fixture.h"

static char *state_of(state *s, const char *tenant)
{
	state_sync r;
	int rc = state_sync_get(s, tenant, &r);
	if (rc == ERR_NOTFOUND)
		return xstrdup("(none)");
	assert_int_equal(rc, 0);
	char *v = xstrdup(r.state);
	state_sync_release(&r);
	return v;
}

#define assert_state(s, tenant, want)                          \
	do {                                                   \
		char *got_ = state_of((s), (tenant));          \
		assert_string_equal(got_, (want));             \
		free(got_);                                    \
	} while (0)

static int collect_sync(void *arg, const state_sync *r)
{
	return collect_value(arg, r->tenant);
}

static void map(state *s, const char *tenant, const char *pid)
{
	state_project *p = xcalloc(1, sizeof(*p));
	p->id = S(pid);
	p->name = S(pid);
	p->region_id = S("aws-us-east-2");
	p->pg_version = 17;
	p->created_at = S("2026-12-01T00:00:00Z");
	p->updated_at = S("2026-12-01T00:00:00Z");
	assert_int_equal(state_project_put(s, p, false), 0);
	free(p);
	assert_int_equal(state_tenant_put(s, tenant, pid, "f", "create"), 0);
}

static void test_rows(void **st)
{
	fixture *fx = *st;
	state *s = fx->s = open_ok(fx);
	map(s, "a", "p-a");
	map(s, "b", "p-b");
	map(s, "c", "p-c");
	assert_int_equal(state_sync_put(s, "a", "failed", "PATCH: 422", NULL), 0);
	assert_int_equal(state_sync_put(s, "b", "drifted", "quota", "[{\"path\":\"quota.computeTime\"}]"), 0);
	assert_int_equal(state_sync_put(s, "d", "out-of-sync", "not created yet", NULL), 0);
	assert_int_equal(state_sync_put(s, "x", "sleeping", "", NULL), ERR_INVALID);
	state_sync_counts c;
	assert_int_equal(state_sync_counts_get(s, &c), 0);
	assert_int_equal(c.n[STATE_SYNC_SYNCED], 1); /* c: mapped, no row */
	assert_int_equal(c.n[STATE_SYNC_FAILED], 1);
	assert_int_equal(c.n[STATE_SYNC_DRIFTED], 1);
	assert_int_equal(c.n[STATE_SYNC_OUT_OF_SYNC], 1); /* d: a create, not mapped */
	assert_int_equal(c.total, 4);

	/* the same state keeps since; another state moves it */
	file_exec(fx->path, "UPDATE tenant_sync SET since = 1000 WHERE tenant = 'a'");
	assert_int_equal(state_sync_put(s, "a", "failed", "PATCH: 500", NULL), 0);
	state_sync r;
	assert_int_equal(state_sync_get(s, "a", &r), 0);
	assert_int_equal(r.since, 1000);
	assert_string_equal(r.reason, "PATCH: 500");
	state_sync_release(&r);
	assert_int_equal(state_sync_put(s, "a", "applying", "", NULL), 0);
	assert_int_equal(state_sync_get(s, "a", &r), 0);
	assert_true(r.since > 1000);
	state_sync_release(&r);

	/* worst first: failed, blocked, drifted, applying, out-of-sync */
	assert_int_equal(state_sync_put(s, "c", "blocked", "region change", NULL), 0);
	assert_int_equal(state_sync_put(s, "a", "failed", "x", NULL), 0);
	collected got = {0};
	assert_int_equal(state_sync_worst(s, 3, collect_sync, &got), 0);
	assert_int_equal(got.n, 3);
	assert_string_equal(got.v[0], "a");
	assert_string_equal(got.v[1], "c");
	assert_string_equal(got.v[2], "b");

	/* synced removes the row */
	assert_int_equal(state_sync_put(s, "a", "synced", NULL, NULL), 0);
	assert_state(s, "a", "(none)");
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM tenant_sync"), 3);
}

/* A plan of five tenants: one of each kind a plan makes. */
static plan_change change = {S("quota.computeTime"), S("50h"), S("100h")};

static plan *make_plan(void)
{
	plan *p = xcalloc(1, sizeof(*p));
	static plan_action v[5];
	memset(v, 0, sizeof(v));
	v[0] = (plan_action){.tenant = S("a"), .kind = PLAN_UPDATE, .project_id = S("p-a"), .changes = &change,
			     .nchanges = 1};
	v[1] = (plan_action){.tenant = S("b"), .kind = PLAN_NOOP, .project_id = S("p-b")};
	v[2] = (plan_action){.tenant = S("c"), .kind = PLAN_BLOCKED, .project_id = S("p-c"),
			     .reason = S("tenant 'c': region cannot change")};
	v[3] = (plan_action){.tenant = S("d"), .kind = PLAN_CREATE};
	v[4] = (plan_action){.tenant = S("e"), .kind = PLAN_UPDATE, .project_id = S("p-e"), .changes = &change,
			     .nchanges = 1};
	p->actions = v;
	p->nactions = 5;
	p->nnoop = 1;
	return p;
}

static void test_record_plan(void **st)
{
	fixture *fx = *st;
	state *s = fx->s = open_ok(fx);
	map(s, "a", "p-a");
	map(s, "b", "p-b");
	map(s, "c", "p-c");
	map(s, "e", "p-e");
	assert_int_equal(state_sync_put(s, "b", "failed", "earlier", NULL), 0);
	assert_int_equal(state_sync_put(s, "e", "failed", "PATCH: 422", NULL), 0);
	assert_int_equal(state_sync_put(s, "gone", "out-of-sync", "not created yet", NULL), 0);
	plan *p = make_plan();
	assert_int_equal(sync_record_plan(s, p, false, false, NULL), 0);
	assert_state(s, "a", "out-of-sync");
	assert_state(s, "b", "(none)");    /* nothing to do: synced, the failure is over */
	assert_state(s, "c", "blocked");
	assert_state(s, "d", "out-of-sync");
	assert_state(s, "e", "failed");    /* still to change: failed says more */
	assert_state(s, "gone", "out-of-sync"); /* not a whole plan: left alone */
	state_sync r;
	assert_int_equal(state_sync_get(s, "a", &r), 0);
	assert_string_equal(r.reason, "1 change: quota.computeTime");
	assert_string_equal(r.fields_json, "[{\"path\":\"quota.computeTime\",\"live\":\"50h\",\"git\":\"100h\"}]");
	state_sync_release(&r);
	assert_int_equal(state_sync_get(s, "c", &r), 0);
	assert_string_equal(r.reason, "tenant 'c': region cannot change");
	state_sync_release(&r);

	/* the same plan again writes nothing */
	file_exec(fx->path, "UPDATE tenant_sync SET updated_at = 5");
	assert_int_equal(sync_record_plan(s, p, false, false, NULL), 0);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM tenant_sync WHERE updated_at != 5"), 0);

	/* a whole plan clears the rows of tenants it did not name */
	assert_int_equal(sync_record_plan(s, p, false, true, NULL), 0);
	assert_state(s, "gone", "(none)");

	/* the drift sweep's comparison: changed outside git */
	assert_int_equal(sync_record_plan(s, p, true, false, NULL), 0);
	assert_state(s, "a", "drifted");
	assert_state(s, "e", "failed"); /* differs because its apply failed, not a person */
	assert_state(s, "d", "drifted"); /* its project is gone */
	assert_int_equal(state_sync_get(s, "a", &r), 0);
	assert_string_equal(r.reason, "changed outside git, 1 change: quota.computeTime");
	state_sync_release(&r);
	/* and a plan keeps drifted while the change is still to make */
	assert_int_equal(sync_record_plan(s, p, false, false, NULL), 0);
	assert_state(s, "a", "drifted");
	free(p);
}

static void test_record_apply(void **st)
{
	fixture *fx = *st;
	state *s = fx->s = open_ok(fx);
	map(s, "a", "p-a");
	map(s, "e", "p-e");
	plan *p = make_plan();
	assert_int_equal(sync_record_plan(s, p, false, true, NULL), 0);
	assert_int_equal(sync_record_applying(s, p), 0);
	assert_state(s, "a", "applying");
	assert_state(s, "c", "blocked"); /* not acted on */
	assert_state(s, "d", "applying");
	assert_state(s, "e", "applying");
	/* a ok, d failed; e never started (the run stopped) */
	exec_outcome v[2] = {{.tenant = S("a"), .kind = PLAN_UPDATE, .status = EXEC_OK},
			     {.tenant = S("d"), .kind = PLAN_CREATE, .status = EXEC_FAILED, .error = S("POST /projects: 422")}};
	exec_summary sum = {.v = v, .n = 2, .ok = 1, .failed = 1, .stopped = true};
	assert_int_equal(sync_record_applied(s, p, &sum), 0);
	assert_state(s, "a", "(none)");
	assert_state(s, "c", "blocked");
	assert_state(s, "d", "failed");
	assert_state(s, "e", "out-of-sync");
	state_sync r;
	assert_int_equal(state_sync_get(s, "d", &r), 0);
	assert_string_equal(r.reason, "POST /projects: 422");
	state_sync_release(&r);
	assert_int_equal(state_sync_get(s, "e", &r), 0);
	assert_string_equal(r.reason, "not applied: the run stopped first");
	state_sync_release(&r);
	free(p);
}

/* The status document: counts, the not-synced tenants worst first with
 * their fields, and one tenant's; an unknown tenant is ERR_NOTFOUND. */
static void test_status_document(void **st)
{
	fixture *fx = *st;
	state *s = fx->s = open_ok(fx);
	map(s, "a", "p-a");
	map(s, "b", "p-b");
	map(s, "e", "p-e");
	plan *p = make_plan();
	assert_int_equal(sync_record_plan(s, p, false, true, NULL), 0);
	assert_int_equal(state_sync_put(s, "e", "failed", "PATCH: 422", NULL), 0);
	json_t *doc = NULL;
	assert_int_equal(status_document(s, 2, &doc), 0);
	assert_int_equal(json_integer_value(json_object_get(doc, "version")), 1);
	json_t *counts = json_object_get(doc, "counts");
	assert_int_equal(json_integer_value(json_object_get(counts, "synced")), 1);
	assert_int_equal(json_integer_value(json_object_get(counts, "out-of-sync")), 2);
	assert_int_equal(json_integer_value(json_object_get(counts, "blocked")), 1);
	assert_int_equal(json_integer_value(json_object_get(counts, "failed")), 1);
	assert_int_equal(json_integer_value(json_object_get(doc, "total")), 5);
	assert_int_equal(json_integer_value(json_object_get(doc, "tenants_not_synced")), 4);
	json_t *ts = json_object_get(doc, "tenants");
	assert_int_equal(json_array_size(ts), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ts, 0), "tenant")), "e");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ts, 0), "project_id")), "p-e");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ts, 1), "tenant")), "c");
	assert_true(json_is_null(json_object_get(json_object_get(doc, "commit"), "applied")));
	json_decref(doc);

	assert_int_equal(status_tenant_document(s, "a", &doc), 0);
	assert_string_equal(json_string_value(json_object_get(doc, "state")), "out-of-sync");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(doc, "fields"), 0), "git")),
			    "100h");
	json_decref(doc);
	assert_int_equal(status_tenant_document(s, "b", &doc), 0);
	assert_string_equal(json_string_value(json_object_get(doc, "state")), "synced");
	json_decref(doc);
	assert_int_equal(status_tenant_document(s, "nobody", &doc), ERR_NOTFOUND);
	assert_null(doc);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX(test_rows),
		FX(test_record_plan),
		FX(test_record_apply),
		FX(test_status_document),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
