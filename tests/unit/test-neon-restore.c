/*
 * test-neon-restore.c: neon/restore.c and neon/snapshots.c without a
 * server: the requests' bodies, the answer read for its operations and the
 * preserved branch, a Snapshot read, and what is refused before a call
 * (the calls themselves run against flotilla-sim in
 * tests/e2e/lifecycle-restore.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "neon/internal.h"

static void test_body(void **state)
{
	(void)state;
	neon_restore_req rq = {"br-a", NULL, "2026-01-02T03:04:05Z", "preserved-main"};
	json_t *b = neon_restore_body(&rq);
	char *s = json_dumps(b, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s, "{\"preserve_under_name\":\"preserved-main\",\"source_branch_id\":\"br-a\","
			       "\"source_timestamp\":\"2026-01-02T03:04:05Z\"}");
	free(s);
	json_decref(b);
	neon_restore_req lsn = {"br-a", "0/1E19478", NULL, NULL};
	b = neon_restore_body(&lsn);
	s = json_dumps(b, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s, "{\"source_branch_id\":\"br-a\",\"source_lsn\":\"0/1E19478\"}");
	free(s);
	json_decref(b);
}

static json_t *op(const char *id, const char *branch, const char *action)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s}", "id", id, "project_id", "p-1", "branch_id", branch,
			 "action", action, "status", "running", "failures_count", 0, "created_at",
			 "2026-01-02T03:04:05Z", "updated_at", "2026-01-02T03:04:05Z");
}

static void test_answer(void **state)
{
	(void)state;
	json_t *body = json_pack("{s:[o,o]}", "operations", op("op-1", "br-keep", "create_branch"),
				 op("op-2", "br-a", "create_timeline"));
	neon_write_result r;
	memset(&r, 0, sizeof(r));
	assert_int_equal(neon__write_answer(body, "br-a", "restore", &r), 0);
	assert_int_equal(r.nops, 2);
	assert_string_equal(r.op_ids[0], "op-1");
	assert_string_equal(r.other_branch_id, "br-keep");
	neon_write_result_release(&r);
	json_decref(body);

	/* without a preserved copy: no other branch */
	body = json_pack("{s:[o]}", "operations", op("op-2", "br-a", "create_timeline"));
	assert_int_equal(neon__write_answer(body, "br-a", "restore", &r), 0);
	assert_null(r.other_branch_id);
	neon_write_result_release(&r);
	json_decref(body);

	body = json_pack("{s:{}}", "branch");
	assert_int_equal(neon__write_answer(body, "br-a", "restore", &r), ERR_INVALID);
	assert_non_null(strstr(err_msg(), "restore: the answer has no operations array"));
	neon_write_result_release(&r);
	json_decref(body);
}

static void test_refused_before_a_call(void **state)
{
	(void)state;
	neon_client *c = NULL;
	neon_options o = NEON_OPTIONS_INIT;
	o.api_key = "k";
	o.base_url = "http://127.0.0.1:9";
	assert_int_equal(neon_client_new(&c, &o), 0);
	neon_write_result r;
	neon_restore_req both = {"br-a", "0/1", "2026-01-02T03:04:05Z", NULL};
	assert_int_equal(neon_branch_restore(c, "p-1", "br-a", &both, &r), ERR_INVALID);
	assert_non_null(strstr(err_msg(), "at most one of source_lsn and source_timestamp"));
	neon_restore_req ok = {"br-a", NULL, NULL, NULL};
	assert_int_equal(neon_branch_restore(c, "p/1", "br-a", &ok, &r), ERR_INVALID);
	assert_int_equal(neon_branch_set_expiry(c, "p-1", "BR", NULL, &r), ERR_INVALID);
	/* snapshots: bad ids and a missing name, before any request */
	assert_int_equal(neon_snapshot_restore(c, "p-1", "snap x", "staging", "br-a", &r), ERR_INVALID);
	assert_int_equal(neon_snapshot_restore(c, "p-1", "snap-1", "", "br-a", &r), ERR_INVALID);
	assert_non_null(strstr(err_msg(), "the new branch needs a name"));
	assert_int_equal(neon_snapshot_restore(c, "p-1", "snap-1", "staging", "../br", &r), ERR_INVALID);
	assert_int_equal(neon_branch_finalize_restore(c, "p-1", "br-new", NULL, &r), ERR_INVALID);
	assert_non_null(strstr(err_msg(), "the replaced branch needs a name"));
	assert_int_equal(neon_branch_finalize_restore(c, "p 1", "br-new", "preserved-x", &r), ERR_INVALID);
	neon_snapshot dummy, *v = &dummy; /* set to NULL */
	size_t n = 7;
	assert_int_equal(neon_snapshots_list(c, "P/1", &v, &n), ERR_INVALID);
	assert_null(v);
	assert_int_equal(n, 0);
	neon_stats st;
	neon_client_stats(c, &st);
	assert_int_equal(st.requests, 0);
	neon_client_free(c);
}

/* The bodies, as restoreSnapshot and finalizeRestoreBranch take them: two
 * steps, the first never finalizing (flotilla names the replaced branch). */
static void test_snapshot_bodies(void **state)
{
	(void)state;
	json_t *b = neon_snapshot_restore_body("preserved-snapshot-snap-1", "br-a");
	char *s = json_dumps(b, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s, "{\"finalize_restore\":false,\"name\":\"preserved-snapshot-snap-1\","
			       "\"target_branch_id\":\"br-a\"}");
	free(s);
	json_decref(b);
	b = neon_finalize_restore_body("preserved-main-20261204T160000Z");
	s = json_dumps(b, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s, "{\"name\":\"preserved-main-20261204T160000Z\"}");
	free(s);
	json_decref(b);
}

/* A Snapshot as the document shapes it; what lacks a required member or
 * has a bad id is refused, naming where. */
static void test_snapshot_parse(void **state)
{
	(void)state;
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:I}", "id", "snap-1", "name", "daily", "created_at",
			      "2026-12-04T00:00:00Z", "source_branch_id", "br-a", "lsn", "0/1E19478", "manual", 0,
			      "full_size", (json_int_t)1024);
	neon_snapshot s;
	assert_int_equal(neon_snapshot_parse(j, "snapshots[0]", &s), 0);
	assert_string_equal(s.id, "snap-1");
	assert_string_equal(s.name, "daily");
	assert_string_equal(s.source_branch_id, "br-a");
	assert_string_equal(s.lsn, "0/1E19478");
	assert_null(s.timestamp);
	assert_null(s.expires_at);
	assert_false(s.manual);
	neon_snapshot_release(&s);
	json_object_del(j, "created_at");
	assert_int_equal(neon_snapshot_parse(j, "snapshots[0]", &s), ERR_INVALID);
	assert_non_null(strstr(err_msg(), "snapshots[0]: a snapshot needs"));
	json_object_set_new(j, "created_at", json_string("2026-12-04T00:00:00Z"));
	json_object_set_new(j, "id", json_string("SNAP 1"));
	assert_int_equal(neon_snapshot_parse(j, "snapshots[0]", &s), ERR_INVALID);
	json_decref(j);
	assert_int_equal(neon_snapshot_parse(NULL, "x", &s), ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_refused_before_a_call),
		cmocka_unit_test(test_snapshot_bodies),
		cmocka_unit_test(test_snapshot_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
