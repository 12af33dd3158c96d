/*
 * test-state-manifests.c: unit tests for what the state file keeps of the
 * manifests: the parse cache of decoded blobs (state/tenants.c) and the
 * manifest index of one commit (state/index.c).
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

/* ------------------------------------------------------- manifest index */

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

/* ---------------------------------------------------------- parse cache */

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX(test_manifest_index),
		FX(test_parse_cache),
	};
	return cmocka_run_group_tests_name("state-manifests", tests, NULL, NULL);
}
