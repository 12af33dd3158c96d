/*
 * test-neon-usage.c: neon/usage.c, the consumption reads of `flotilla
 * usage`: an answer's project summed over periods and timeframes (on the
 * OpenAPI document's own example period), malformed answers refused with
 * the field named, and batches that cannot be right refused before any
 * request is sent. The requests themselves run against flotilla-sim in
 * tests/e2e/usage.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "neon/internal.h"

static json_t *openapi(void)
{
	static json_t *doc;
	const char *path = getenv("FLOTILLA_OPENAPI");
	json_error_t e;

	if (!path || !*path)
		fail_msg("FLOTILLA_OPENAPI is not set: run this test through meson");
	if (!doc && !(doc = json_load_file(path, 0, &e)))
		fail_msg("cannot load the OpenAPI document '%s': %s", path, e.text);
	return doc;
}

/* The document's example ConsumptionHistoryPerPeriodV2, twice, in a project. */
static void test_parse_example(void **state)
{
	(void)state;
	const json_t *ex = json_object_get(json_object_get(json_object_get(json_object_get(openapi(), "components"),
		"schemas"), "ConsumptionHistoryPerPeriodV2"), "example");
	assert_non_null(ex);
	json_t *proj = json_pack("{s:s, s:[OO]}", "project_id", "p-1", "periods", ex, ex);
	neon_usage u;
	assert_int_equal(neon_usage_parse(proj, "test", &u), 0);
	assert_string_equal(u.project_id, "p-1");
	assert_int_equal(u.compute_unit_seconds, 200);
	assert_int_equal(u.storage_bytes_month, 4000000); /* root + child, twice */
	assert_int_equal(u.transfer_bytes, 0);
	neon_usage_release(&u);
	json_decref(proj);
}

static void test_parse_errors(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"{\"periods\": []}",
		"{\"project_id\": \"p-1\"}",
		"{\"project_id\": \"p-1\", \"periods\": [{\"consumption\": 3}]}",
		"{\"project_id\": \"p-1\", \"periods\": [{\"consumption\": [{\"metrics\": [{\"metric_name\": "
		"\"compute_unit_seconds\", \"value\": \"7\"}]}]}]}",
		"{\"project_id\": \"p-1\", \"periods\": [{\"consumption\": [{\"metrics\": {}}]}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = json_loads(bad[i], 0, NULL);
		neon_usage u;
		assert_non_null(j);
		assert_int_equal(neon_usage_parse(j, "GET x: projects[0]", &u), ERR_INVALID);
		assert_non_null(strstr(err_msg(), "GET x: projects[0]"));
		assert_null(u.project_id);
		json_decref(j);
	}
}

typedef struct seen {
	int calls, rc;
	char error[512];
} seen;

static void on_done(void *arg, int rc, const neon_usage *items, size_t n, int status, const char *error)
{
	seen *s = arg;
	(void)items;
	(void)n;
	(void)status;
	s->calls++;
	s->rc = rc;
	snprintf(s->error, sizeof(s->error), "%s", error ? error : "");
}

/* No organization, no ids, 101 ids, a bad id: refused, nothing sent. */
static void test_refused_before_sending(void **state)
{
	(void)state;
	neon_options o = NEON_OPTIONS_INIT;
	o.base_url = "http://127.0.0.1:1/api/v2";
	o.api_key = "k";
	neon_client *c = NULL;
	assert_int_equal(neon_client_new(&c, &o), 0);
	neon_usage_req rq = {"2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", "monthly"};
	const char *ids[101];
	for (size_t i = 0; i < 101; i++)
		ids[i] = "p-1";
	seen s = {0};
	neon_usage_submit(c, &rq, ids, 1, on_done, &s);
	assert_int_equal(s.rc, ERR_INVALID);
	assert_non_null(strstr(s.error, "set spec.orgId"));
	neon_client_set_org(c, "org-1");
	neon_usage_submit(c, &rq, ids, 0, on_done, &s);
	assert_non_null(strstr(s.error, "1 to 100 projects"));
	neon_usage_submit(c, &rq, ids, 101, on_done, &s);
	assert_non_null(strstr(s.error, "1 to 100 projects"));
	ids[3] = "../etc";
	neon_usage_submit(c, &rq, ids, 5, on_done, &s);
	assert_non_null(strstr(s.error, "'../etc' is not a valid project id"));
	assert_int_equal(s.calls, 4);
	assert_int_equal(neon_run(c), 0);
	neon_stats st;
	neon_client_stats(c, &st);
	assert_int_equal(st.requests, 0);
	neon_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_example),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_refused_before_sending),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	json_decref(openapi());
	return rc;
}
