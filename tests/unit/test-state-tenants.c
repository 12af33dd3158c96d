/*
 * test-state-tenants.c: unit tests for the tenant <-> project map (state/
 * tenants.c): one project per tenant, remapping, walks in name order and
 * a page at a time, and the protect flag remembered for a tenant whose
 * manifest is gone.
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX(test_tenant_protect),
		FX(test_tenants_page),
		FX(test_tenants),
	};
	return cmocka_run_group_tests_name("state-tenants", tests, NULL, NULL);
}
