/*
 * test-neon.c: unit tests for neon/ that need no server.
 *
 * - the rate budget's arithmetic on a clock the test drives: the bucket,
 *   the halving after a 429 (once per volley, never below the floor), the
 *   hold and the additive climb back, and the full-jitter backoff bounds;
 * - the retry classification, as a table of attempts and verdicts;
 * - the typed model on the OpenAPI document's own examples (the real shape
 *   of Neon's answers) and on broken copies: a missing or wrongly typed
 *   field fails with a message naming its path;
 * - the key rules: a private file is read and trimmed, a 0644 or 0640 one
 *   is refused, the environment is the fallback, and the key lives in
 *   memory marked "do not dump" (checked in /proc/self/smaps);
 * - the client's guards: plain http only to loopback, no key in any error
 *   text, requests refused before sending, and retries against a port
 *   where nothing listens (connection refused: even a write may retry).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "neon/internal.h"

/* ---------------------------------------------------------------- helpers */

static char *temp_file_mode(const char *text, mode_t mode)
{
	const char *dir = getenv("TMPDIR");
	char *path = xasprintf("%s/flotilla-neon-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

/* The OpenAPI document ($FLOTILLA_OPENAPI, set by meson). A test that
 * needs it fails when it cannot be read: the document is vendored, so a
 * missing one is a broken checkout, never a reason to skip. */
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

/* The 200 example of GET `route` in the document (borrowed). */
static json_t *example(const char *route)
{
	json_t *j = openapi();
	const char *const steps[] = { "paths", route, "get", "responses", "200", "content",
				      "application/json", "example" };
	size_t i;

	for (i = 0; j && i < ARRAY_LEN(steps); i++)
		j = json_object_get(j, steps[i]);
	return j;
}

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	if (!j)
		fail_msg("fixture does not parse: %s", e.text);
	return j;
}

/* ----------------------------------------------------------------- budget */

static void test_budget_bucket(void **state)
{
	neon_budget b;
	int i;

	(void)state;
	neon__budget_init(&b, 10, 20, 0);
	for (i = 0; i < 20; i++)
		assert_int_equal(neon__budget_take(&b, 0), 0);
	/* empty: one token takes 1/rate */
	assert_int_equal(neon__budget_take(&b, 0), 100);
	assert_int_equal(neon__budget_take(&b, 50), 50);
	assert_int_equal(neon__budget_take(&b, 100), 0);
	/* refill stops at the burst */
	for (i = 0; i < 20; i++)
		assert_int_equal(neon__budget_take(&b, 100000), 0);
	assert_true(neon__budget_take(&b, 100000) > 0);
	/* a burst below one still lets one request through */
	neon__budget_init(&b, 2, 0.1, 0);
	assert_int_equal(neon__budget_take(&b, 0), 0);
	assert_int_equal(neon__budget_take(&b, 0), 500);
}

static void test_budget_aimd(void **state)
{
	neon_budget b;
	double rate, tokens;

	(void)state;
	neon__budget_init(&b, 10, 20, 0);
	neon__budget_throttled(&b, 1000);
	neon__budget_peek(&b, 1000, &rate, &tokens);
	assert_true(rate == 5.0);
	assert_true(tokens == 0.0); /* the server's bucket is empty: so is ours */
	assert_int_equal(neon__budget_take(&b, 1000), 200);
	/* the rest of the volley, within a second, is the same signal */
	neon__budget_throttled(&b, 1100);
	neon__budget_throttled(&b, 1999);
	neon__budget_peek(&b, 1999, &rate, &tokens);
	assert_true(rate == 5.0);
	neon__budget_throttled(&b, 2000);
	neon__budget_peek(&b, 2000, &rate, &tokens);
	assert_true(rate == 2.5);
	/* never below the floor */
	neon__budget_throttled(&b, 3000);
	neon__budget_throttled(&b, 4000);
	neon__budget_throttled(&b, 5000);
	neon__budget_throttled(&b, 6000);
	neon__budget_peek(&b, 6000, &rate, &tokens);
	assert_true(rate == NEON_RATE_FLOOR);
	/* held for NEON_HOLD_MS after the last 429 */
	neon__budget_peek(&b, 6000 + NEON_HOLD_MS, &rate, &tokens);
	assert_true(rate == NEON_RATE_FLOOR);
	/* then +base/NEON_RECOVER_S per second: 0.5/s here */
	neon__budget_peek(&b, 6000 + NEON_HOLD_MS + 4000, &rate, &tokens);
	assert_true(rate > 2.49 && rate < 2.51);
	/* and it stops at the configured rate */
	neon__budget_peek(&b, 6000 + NEON_HOLD_MS + 60000, &rate, &tokens);
	assert_true(rate == 10.0);
	assert_true(tokens == 20.0);
}

static void test_budget_ramp_tokens(void **state)
{
	neon_budget a, b;
	double ra, ta, rb, tb;
	int64_t t;

	(void)state;
	/* the climb is integrated: many small steps = one big step */
	neon__budget_init(&a, 10, 1000, 0);
	neon__budget_throttled(&a, 0);
	b = a;
	for (t = 0; t <= 20000; t += 7) {
		/* take and give back: only the refill steps count */
		if (neon__budget_take(&a, t) == 0)
			a.tokens += 1;
	}
	neon__budget_peek(&b, 20000, &rb, &tb);
	neon__budget_peek(&a, 20000, &ra, &ta);
	assert_true(ra > rb - 0.01 && ra < rb + 0.01);
	/* 5 s held at 5/s = 25, then 10 s from 5 to 10 = 75, then 5 s at 10 = 50 */
	assert_true(tb > 149.9 && tb < 150.1);
	assert_true(ta > tb - 0.5 && ta < tb + 0.5);
}

static void test_backoff(void **state)
{
	uint64_t rng = 42, rng2 = 42;
	int64_t w, max_seen = 0;
	int i, n;

	(void)state;
	for (n = 1; n <= 8; n++) {
		int64_t ceiling = 250LL << (n - 1);

		if (ceiling > 10000)
			ceiling = 10000;
		max_seen = 0;
		for (i = 0; i < 2000; i++) {
			w = neon__backoff_ms(n, 10000, &rng);
			assert_true(w >= 0 && w <= ceiling);
			if (w > max_seen)
				max_seen = w;
		}
		/* full jitter spreads over the whole range */
		assert_true(max_seen > ceiling * 9 / 10);
	}
	assert_int_equal(neon__backoff_ms(30, 0, &rng), 0);
	assert_true(neon__backoff_ms(1000, 500, &rng) <= 500);
	/* the seed makes it repeatable */
	rng = 7;
	rng2 = 7;
	for (i = 0; i < 10; i++)
		assert_int_equal(neon__backoff_ms(3, 10000, &rng), neon__backoff_ms(3, 10000, &rng2));
}

/* --------------------------------------------------------- classification */

static void test_classify_table(void **state)
{
	static const struct {
		bool write;
		int curl;
		bool sent;
		long status;
		bool too_big;
		neon_verdict want;
	} t[] = {
		/* reads */
		{ false, 0, true, 200, false, NEON_V_OK },
		{ false, 0, true, 204, false, NEON_V_OK },
		{ false, 0, true, 400, false, NEON_V_HTTP },
		{ false, 0, true, 401, false, NEON_V_HTTP },
		{ false, 0, true, 404, false, NEON_V_HTTP },
		{ false, 0, true, 409, false, NEON_V_HTTP },
		{ false, 0, true, 422, false, NEON_V_HTTP },
		{ false, 0, true, 423, false, NEON_V_RETRY },
		{ false, 0, true, 429, false, NEON_V_RETRY },
		{ false, 0, true, 500, false, NEON_V_RETRY },
		{ false, 0, true, 502, false, NEON_V_RETRY },
		{ false, 0, true, 503, false, NEON_V_RETRY },
		{ false, 0, true, 524, false, NEON_V_RETRY },
		{ false, CURLE_COULDNT_CONNECT, false, 0, false, NEON_V_RETRY },
		{ false, CURLE_GOT_NOTHING, true, 0, false, NEON_V_RETRY },
		{ false, CURLE_RECV_ERROR, true, 0, false, NEON_V_RETRY },
		{ false, CURLE_OPERATION_TIMEDOUT, true, 0, false, NEON_V_RETRY },
		{ false, CURLE_PARTIAL_FILE, true, 200, false, NEON_V_RETRY },
		{ false, CURLE_PEER_FAILED_VERIFICATION, false, 0, false, NEON_V_TRANSPORT },
		{ false, CURLE_UNSUPPORTED_PROTOCOL, false, 0, false, NEON_V_TRANSPORT },
		{ false, CURLE_WRITE_ERROR, true, 200, true, NEON_V_TOO_BIG },
		{ false, CURLE_FILESIZE_EXCEEDED, true, 200, true, NEON_V_TOO_BIG },
		/* writes */
		{ true, 0, true, 201, false, NEON_V_OK },
		{ true, 0, true, 200, false, NEON_V_OK },
		{ true, 0, true, 400, false, NEON_V_HTTP },
		{ true, 0, true, 404, false, NEON_V_HTTP },
		{ true, 0, true, 409, false, NEON_V_HTTP },
		{ true, 0, true, 422, false, NEON_V_HTTP },
		{ true, 0, true, 423, false, NEON_V_RETRY },
		{ true, 0, true, 429, false, NEON_V_RETRY },
		{ true, 0, true, 503, false, NEON_V_RETRY },
		{ true, 0, true, 500, false, NEON_V_UNKNOWN },
		{ true, 0, true, 502, false, NEON_V_UNKNOWN },
		{ true, 0, true, 504, false, NEON_V_UNKNOWN },
		{ true, 0, true, 524, false, NEON_V_UNKNOWN },
		{ true, CURLE_COULDNT_RESOLVE_HOST, false, 0, false, NEON_V_RETRY },
		{ true, CURLE_COULDNT_CONNECT, false, 0, false, NEON_V_RETRY },
		{ true, CURLE_OPERATION_TIMEDOUT, false, 0, false, NEON_V_RETRY }, /* in connect */
		{ true, CURLE_SSL_CONNECT_ERROR, false, 0, false, NEON_V_RETRY },
		{ true, CURLE_GOT_NOTHING, true, 0, false, NEON_V_UNKNOWN },
		{ true, CURLE_RECV_ERROR, true, 0, false, NEON_V_UNKNOWN },
		{ true, CURLE_SEND_ERROR, true, 0, false, NEON_V_UNKNOWN },
		{ true, CURLE_OPERATION_TIMEDOUT, true, 0, false, NEON_V_UNKNOWN },
		{ true, CURLE_PARTIAL_FILE, true, 201, false, NEON_V_UNKNOWN },
		{ true, CURLE_PEER_FAILED_VERIFICATION, false, 0, false, NEON_V_TRANSPORT },
		{ true, CURLE_PEER_FAILED_VERIFICATION, true, 0, false, NEON_V_UNKNOWN },
		{ true, CURLE_WRITE_ERROR, true, 201, true, NEON_V_TOO_BIG },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(t); i++) {
		neon_verdict v = neon__classify(t[i].write, t[i].curl, t[i].sent, t[i].status, t[i].too_big);

		if (v != t[i].want)
			fail_msg("row %zu (%s, curl %d, sent %d, status %ld): verdict %d, want %d", i,
				 t[i].write ? "write" : "read", t[i].curl, t[i].sent, t[i].status, v, t[i].want);
	}
	/* out of attempts: transport stays transport (a write only retried one
	 * that never left), an HTTP status becomes the final answer */
	assert_int_equal(neon__final_verdict(CURLE_COULDNT_CONNECT), NEON_V_TRANSPORT);
	assert_int_equal(neon__final_verdict(0), NEON_V_HTTP);
}

static void test_op_status_classes(void **state)
{
	(void)state;
	assert_true(neon_op_in_progress("scheduling"));
	assert_true(neon_op_in_progress("running"));
	assert_true(neon_op_in_progress("cancelling"));
	/* Neon retries a failed operation: not over yet */
	assert_true(neon_op_in_progress("failed"));
	assert_false(neon_op_in_progress("finished"));
	assert_false(neon_op_in_progress("error"));
	assert_false(neon_op_in_progress("cancelled"));
	assert_false(neon_op_in_progress("skipped"));
	assert_false(neon_op_in_progress(NULL));
	assert_true(neon_op_succeeded("finished"));
	assert_true(neon_op_succeeded("skipped"));
	assert_false(neon_op_succeeded("failed"));
	assert_false(neon_op_succeeded("error"));
	assert_false(neon_op_succeeded("cancelled"));
	assert_false(neon_op_succeeded("running"));
	assert_false(neon_op_succeeded(NULL));
}

/* ------------------------------------------------------------------ model */

static void test_model_openapi_examples(void **state)
{
	json_t *ex;
	const json_t *item;
	neon_project p;
	neon_branch b;
	neon_endpoint e;
	neon_database d;
	neon_role r;
	neon_operation o;
	size_t i;

	(void)state;
	ex = example("/projects");
	assert_non_null(ex);
	json_array_foreach(json_object_get(ex, "projects"), i, item) {
		assert_int_equal(neon_project_parse(item, "GET /projects: projects[0]", &p), 0);
		assert_int_equal(p.pg_version, 15);
		assert_string_equal(p.region_id, "aws-us-east-2");
		assert_false(p.has_quota);
		if (i == 1)
			assert_string_equal(p.org_id, "org-morning-bread-81040908");
		else
			assert_null(p.org_id);
		neon_project_release(&p);
	}
	ex = json_object_get(example("/projects/{project_id}"), "project");
	assert_int_equal(neon_project_parse(ex, "GET /projects/x: project", &p), 0);
	assert_string_equal(p.id, "shiny-wind-028834");
	assert_int_equal(p.history_retention_seconds, 604800);
	neon_project_release(&p);

	ex = example("/projects/{project_id}/branches");
	json_array_foreach(json_object_get(ex, "branches"), i, item) {
		assert_int_equal(neon_branch_parse(item, "b", &b), 0);
		assert_string_equal(b.current_state, "ready");
		assert_true(b.is_default);
		assert_false(b.protected_);
		assert_null(b.annotations);
		if (i == 0)
			assert_null(b.parent_id);
		else
			assert_string_equal(b.parent_id, "br-aged-salad-637688");
		neon_branch_release(&b);
	}
	ex = example("/projects/{project_id}/endpoints");
	json_array_foreach(json_object_get(ex, "endpoints"), i, item) {
		assert_int_equal(neon_endpoint_parse(item, "e", &e), 0);
		assert_true(e.read_write);
		assert_true(e.min_cu == 1.0 && e.max_cu == 1.0);
		assert_int_equal(e.suspend_timeout_seconds, 10800);
		assert_false(e.disabled);
		assert_non_null(e.last_active);
		neon_endpoint_release(&e);
	}
	ex = example("/projects/{project_id}/branches/{branch_id}/databases");
	item = json_array_get(json_object_get(ex, "databases"), 1);
	assert_int_equal(neon_database_parse(item, "d", &d), 0);
	assert_int_equal(d.id, 834686);
	assert_string_equal(d.name, "mydb");
	assert_string_equal(d.owner_name, "casey");
	neon_database_release(&d);
	ex = example("/projects/{project_id}/branches/{branch_id}/roles");
	item = json_array_get(json_object_get(ex, "roles"), 0);
	assert_int_equal(neon_role_parse(item, "r", &r), 0);
	assert_string_equal(r.name, "casey");
	neon_role_release(&r);
	ex = json_object_get(example("/projects/{project_id}/operations/{operation_id}"), "operation");
	assert_int_equal(neon_operation_parse(ex, "o", &o), 0);
	assert_string_equal(o.action, "create_timeline");
	assert_true(neon_op_succeeded(o.status));
	assert_string_equal(o.endpoint_id, "ep-dark-snowflake-942567");
	assert_null(o.error);
	neon_operation_release(&o);
}

/* A ProjectListItem as the sim and Neon send it, with every part we map. */
static const char full_project[] =
	"{\"id\": \"hidden-river-50598307\", \"platform_id\": \"aws\", \"region_id\": \"aws-eu-central-1\","
	" \"name\": \"acme\", \"provisioner\": \"k8s-neonvm\", \"pg_version\": 17,"
	" \"proxy_host\": \"eu-central-1.aws.neon.tech\", \"branch_logical_size_limit\": 0,"
	" \"branch_logical_size_limit_bytes\": 0, \"store_passwords\": true, \"active_time\": 0,"
	" \"cpu_used_sec\": 0, \"creation_source\": \"flotilla-sim\", \"owner_id\": \"sim-user\","
	" \"org_id\": \"org-1\", \"history_retention_seconds\": 86400,"
	" \"created_at\": \"2026-01-02T03:04:05Z\", \"updated_at\": \"2026-01-02T03:04:06Z\","
	" \"default_endpoint_settings\": {\"autoscaling_limit_min_cu\": 0.25,"
	"   \"autoscaling_limit_max_cu\": 2, \"suspend_timeout_seconds\": 300,"
	"   \"pg_settings\": {\"work_mem\": \"8MB\"}},"
	" \"settings\": {\"quota\": {\"active_time_seconds\": 3600, \"compute_time_seconds\": 7200,"
	"   \"written_data_bytes\": 0, \"data_transfer_bytes\": 1000, \"logical_size_bytes\": 536870912},"
	"   \"allowed_ips\": {\"ips\": [\"10.0.0.0/8\", \"192.168.1.1\"], \"protected_branches_only\": true},"
	"   \"enable_logical_replication\": true, \"block_public_connections\": false,"
	"   \"maintenance_window\": {\"weekdays\": [1, 7], \"start_time\": \"01:00\", \"end_time\": \"02:00\"}}}";

/* A page Neon cut short: listed + unavailable fill the limit, so another
 * page follows; the unavailable ids are kept and checked. Shapes from
 * ProjectsResponse and the document's own list example. */
static void test_project_page_parse(void **state)
{
	json_t *ex, *body;
	neon_project_page pg;

	(void)state;
	ex = example("/projects");
	assert_non_null(ex);
	assert_int_equal(json_array_size(json_object_get(ex, "projects")), 2);

	/* 2 listed + 1 unavailable = a full page of 3, with a new cursor */
	body = json_deep_copy(ex);
	json_object_set_new(body, "unavailable_project_ids", json_pack("[s]", "late-leaf-12345678"));
	json_object_set_new(body, "pagination", json_pack("{s:s}", "cursor", "c2"));
	assert_int_equal(neon__project_page_parse(body, "GET /projects", "c1", 3, &pg), 0);
	assert_int_equal(pg.n, 2);
	assert_int_equal(pg.nunavailable, 1);
	assert_string_equal(pg.unavailable[0], "late-leaf-12345678");
	assert_non_null(pg.next);
	assert_string_equal(pg.next, "c2");
	neon_project_page_release(&pg);

	/* counting listed projects alone, this page would look like the last */
	assert_int_equal(neon__project_page_parse(body, "GET /projects", "c1", 4, &pg), 0);
	assert_null(pg.next); /* 3 of 4: the last page */
	neon_project_page_release(&pg);

	/* a page of nothing but unavailable ids still continues */
	json_object_set_new(body, "projects", json_array());
	json_object_set_new(body, "unavailable_project_ids", json_pack("[s,s]", "a-1", "b-2"));
	assert_int_equal(neon__project_page_parse(body, "GET /projects", NULL, 2, &pg), 0);
	assert_int_equal(pg.n, 0);
	assert_int_equal(pg.nunavailable, 2);
	assert_string_equal(pg.next, "c2");
	neon_project_page_release(&pg);

	/* a full page whose cursor did not move would loop */
	assert_int_equal(neon__project_page_parse(body, "GET /projects", "c2", 2, &pg), ERR_INVALID);
	assert_non_null(strstr(err_msg(), "did not advance"));
	assert_null(pg.items);

	/* ids go into paths later: anything else is a bad response */
	json_object_set_new(body, "unavailable_project_ids", json_pack("[s]", "../admin"));
	assert_int_equal(neon__project_page_parse(body, "GET /projects", NULL, 2, &pg), ERR_INVALID);
	assert_non_null(strstr(err_msg(), "unavailable_project_ids[0]"));
	json_object_set_new(body, "unavailable_project_ids", json_pack("{}"));
	assert_int_equal(neon__project_page_parse(body, "GET /projects", NULL, 2, &pg), ERR_INVALID);
	json_object_set_new(body, "unavailable_project_ids", json_null());
	assert_int_equal(neon__project_page_parse(body, "GET /projects", NULL, 2, &pg), 0);
	assert_int_equal(pg.nunavailable, 0);
	assert_null(pg.next); /* empty */
	neon_project_page_release(&pg);
	json_decref(body);
}

static void test_model_project_full(void **state)
{
	json_t *j = parse(full_project);
	neon_project p;

	(void)state;
	assert_int_equal(neon_project_parse(j, "p", &p), 0);
	json_decref(j); /* what the struct keeps must outlive the body */
	assert_string_equal(p.name, "acme");
	assert_string_equal(p.org_id, "org-1");
	assert_int_equal(p.pg_version, 17);
	assert_true(p.has_quota);
	assert_int_equal(p.quota.active_time_seconds, 3600);
	assert_int_equal(p.quota.compute_time_seconds, 7200);
	assert_int_equal(p.quota.written_data_bytes, 0);
	assert_int_equal(p.quota.data_transfer_bytes, 1000);
	assert_int_equal(p.quota.logical_size_bytes, 536870912);
	assert_true(p.min_cu == 0.25 && p.max_cu == 2.0);
	assert_int_equal(p.suspend_timeout_seconds, 300);
	assert_string_equal(json_string_value(json_object_get(p.pg_settings, "work_mem")), "8MB");
	assert_int_equal(json_array_size(p.allowed_ips), 2);
	assert_true(p.protected_branches_only);
	assert_true(p.logical_replication);
	assert_false(p.block_public_connections);
	assert_string_equal(json_string_value(json_object_get(p.maintenance_window, "start_time")), "01:00");
	assert_null(p.deleted_at);
	neon_project_release(&p);
	neon_project_release(&p); /* released twice is fine: it was zeroed */
}

/* Copy the fixture with `path` (dotted) set to `value` (JSON text, or NULL
 * to delete it), parse it, and return the message (or "" when it parsed). */
static const char *project_with(const char *path, const char *value)
{
	static char msg[512];
	json_t *j = parse(full_project), *o = j, *v;
	char *copy = xstrdup(path), *dot, *key = copy;
	neon_project p;

	while ((dot = strchr(key, '.')) != NULL) {
		*dot = 0;
		o = json_object_get(o, key);
		key = dot + 1;
	}
	if (value) {
		v = json_loads(value, JSON_DECODE_ANY, NULL);
		assert_non_null(v);
		json_object_set_new(o, key, v);
	} else {
		json_object_del(o, key);
	}
	free(copy);
	msg[0] = 0;
	if (neon_project_parse(j, "GET /projects: projects[3]", &p) != 0) {
		str_copy(msg, err_msg(), sizeof(msg));
		/* a failed parse leaves nothing behind */
		assert_null(p.id);
		assert_null(p.pg_settings);
	} else {
		neon_project_release(&p);
	}
	json_decref(j);
	return msg;
}

static void test_model_project_errors(void **state)
{
	(void)state;
	assert_string_equal(project_with("pg_version", "\"17\""),
			    "GET /projects: projects[3].pg_version: expected an integer");
	assert_string_equal(project_with("pg_version", "17.5"),
			    "GET /projects: projects[3].pg_version: expected an integer");
	assert_string_equal(project_with("pg_version", NULL),
			    "GET /projects: projects[3].pg_version: required but missing");
	assert_string_equal(project_with("id", "null"), "GET /projects: projects[3].id: expected a string, got null");
	assert_string_equal(project_with("name", "42"), "GET /projects: projects[3].name: expected a string");
	assert_string_equal(project_with("region_id", NULL),
			    "GET /projects: projects[3].region_id: required but missing");
	assert_string_equal(project_with("settings.quota.active_time_seconds", "\"1h\""),
			    "GET /projects: projects[3].settings.quota.active_time_seconds: expected an integer");
	assert_string_equal(project_with("settings.allowed_ips.ips", "[\"1.2.3.4\", 5]"),
			    "GET /projects: projects[3].settings.allowed_ips.ips[1]: expected a string");
	assert_string_equal(project_with("settings.enable_logical_replication", "\"yes\""),
			    "GET /projects: projects[3].settings.enable_logical_replication: expected a boolean");
	assert_string_equal(project_with("default_endpoint_settings.autoscaling_limit_max_cu", "\"2\""),
			    "GET /projects: projects[3].default_endpoint_settings.autoscaling_limit_max_cu: "
			    "expected a number");
	assert_string_equal(project_with("default_endpoint_settings.pg_settings", "{\"a\": 1}"),
			    "GET /projects: projects[3].default_endpoint_settings.pg_settings.a: expected a string");
	assert_string_equal(project_with("settings", "[]"),
			    "GET /projects: projects[3].settings: expected an object");
	assert_string_equal(project_with("pg_version", "-3"),
			    "GET /projects: projects[3].pg_version: -3 is not a Postgres major version");
	/* optional members: absent or null is fine */
	assert_string_equal(project_with("org_id", "null"), "");
	assert_string_equal(project_with("settings", NULL), "");
	assert_string_equal(project_with("history_retention_seconds", NULL), "");
	/* unknown members are ignored: the API grows */
	assert_string_equal(project_with("brand_new_field", "{\"x\": [1]}"), "");
}

static void test_model_other_errors(void **state)
{
	json_t *j;
	neon_endpoint e;
	neon_branch b;
	neon_database d;
	neon_role r;
	neon_operation o;
	neon_region g;

	(void)state;
	j = parse("{\"id\": \"ep-a\", \"project_id\": \"p\", \"branch_id\": \"br-a\", \"host\": \"h\","
		  " \"type\": \"read_mostly\", \"autoscaling_limit_min_cu\": 0.25, \"autoscaling_limit_max_cu\": 1,"
		  " \"suspend_timeout_seconds\": 0, \"disabled\": false, \"current_state\": \"idle\","
		  " \"created_at\": \"t\", \"updated_at\": \"t\"}");
	assert_int_equal(neon_endpoint_parse(j, "GET /e: endpoints[0]", &e), ERR_INVALID);
	assert_string_equal(err_msg(), "GET /e: endpoints[0].type: expected 'read_write' or 'read_only', "
			    "got 'read_mostly'");
	json_object_set_new(j, "type", json_string("read_only"));
	assert_int_equal(neon_endpoint_parse(j, "e", &e), 0);
	assert_false(e.read_write);
	assert_null(e.last_active);
	neon_endpoint_release(&e);
	json_object_del(j, "disabled");
	assert_int_equal(neon_endpoint_parse(j, "e", &e), ERR_INVALID);
	assert_string_equal(err_msg(), "e.disabled: required but missing");
	json_decref(j);

	j = parse("{\"id\": \"br-a\", \"project_id\": \"p\", \"name\": \"main\", \"current_state\": \"ready\","
		  " \"default\": \"true\", \"protected\": false, \"created_at\": \"t\", \"updated_at\": \"t\"}");
	assert_int_equal(neon_branch_parse(j, "b", &b), ERR_INVALID);
	assert_string_equal(err_msg(), "b.default: expected a boolean");
	json_decref(j);

	j = parse("{\"id\": \"834686\", \"branch_id\": \"br-a\", \"name\": \"db\", \"owner_name\": \"o\"}");
	assert_int_equal(neon_database_parse(j, "d", &d), ERR_INVALID);
	assert_string_equal(err_msg(), "d.id: expected an integer");
	json_decref(j);

	/* the password is there, and never read */
	j = parse("{\"branch_id\": \"br-a\", \"name\": \"casey\", \"password\": \"hunter2\", \"protected\": true}");
	assert_int_equal(neon_role_parse(j, "r", &r), 0);
	assert_true(r.protected_);
	neon_role_release(&r);
	json_decref(j);

	j = parse("{\"id\": \"u\", \"project_id\": \"p\", \"action\": \"start_compute\"}");
	assert_int_equal(neon_operation_parse(j, "o", &o), ERR_INVALID);
	assert_string_equal(err_msg(), "o.status: required but missing");
	json_decref(j);

	j = parse("{\"region_id\": \"aws-us-east-2\", \"name\": \"US East (Ohio)\", \"default\": true,"
		  " \"geo_lat\": \"\", \"geo_long\": \"\"}");
	assert_int_equal(neon_region_parse(j, "g", &g), 0);
	assert_true(g.is_default);
	neon_region_release(&g);
	json_decref(j);

	j = parse("[1, 2]");
	assert_int_equal(neon_region_parse(j, "GET /regions: regions[0]", &g), ERR_INVALID);
	assert_string_equal(err_msg(), "GET /regions: regions[0]: expected an object");
	json_decref(j);
}

/* -------------------------------------------------------------------- key */

static void test_key_file_private(void **state)
{
	char *path = temp_file_mode("  napi_abc123XYZ \t\nsecond line\n", 0600);
	char *key = NULL;

	(void)state;
	assert_int_equal(neon_key_load(&key, path), 0);
	assert_string_equal(key, "napi_abc123XYZ");
	neon_key_free(key);
	/* owner-only read is fine too */
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(neon_key_load(&key, path), 0);
	neon_key_free(key);
	unlink(path);
	free(path);
}

static void test_key_file_refused(void **state)
{
	static const mode_t modes[] = { 0644, 0640, 0604, 0666 };
	char *key = (char *)"not touched";
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(modes); i++) {
		char *path = temp_file_mode("napi_secretvalue\n", modes[i]);

		assert_int_equal(neon_key_load(&key, path), ERR_INVALID);
		assert_null(key);
		assert_non_null(strstr(err_msg(), "chmod 600"));
		assert_null(strstr(err_msg(), "napi_secretvalue"));
		unlink(path);
		free(path);
	}
}

static void test_key_file_other(void **state)
{
	char *path = temp_file_mode(" \n", 0600);
	char *key = NULL;

	(void)state;
	assert_int_equal(neon_key_load(&key, path), ERR_INVALID);
	assert_non_null(strstr(err_msg(), "empty"));
	unlink(path);
	assert_int_equal(neon_key_load(&key, path), ERR_IO);
	assert_null(key);
	free(path);
	assert_int_equal(neon_key_load(&key, "/"), ERR_INVALID); /* not a regular file */
	/* a first line past the bound is refused, never cut */
	{
		char *big = xcalloc(1, 5001);

		memset(big, 'k', 5000);
		path = temp_file_mode(big, 0600);
		assert_int_equal(neon_key_load(&key, path), ERR_INVALID);
		assert_non_null(strstr(err_msg(), "longer than"));
		assert_int_equal(setenv("NEON_API_KEY", big, 1), 0);
		assert_int_equal(neon_key_load(&key, NULL), ERR_INVALID);
		unsetenv("NEON_API_KEY");
		/* a long second line is fine */
		big[10] = '\n';
		unlink(path);
		free(path);
		path = temp_file_mode(big, 0600);
		assert_int_equal(neon_key_load(&key, path), 0);
		assert_string_equal(key, "kkkkkkkkkk");
		neon_key_free(key);
		unlink(path);
		free(path);
		free(big);
	}
}

static void test_key_env(void **state)
{
	char *key = NULL;

	(void)state;
	assert_int_equal(unsetenv("NEON_API_KEY"), 0);
	assert_int_equal(neon_key_load(&key, NULL), ERR_NOTFOUND);
	assert_int_equal(setenv("NEON_API_KEY", "", 1), 0);
	assert_int_equal(neon_key_load(&key, NULL), ERR_INVALID);
	assert_int_equal(setenv("NEON_API_KEY", "env-key-1", 1), 0);
	assert_int_equal(neon_key_load(&key, NULL), 0);
	assert_string_equal(key, "env-key-1");
	neon_key_free(key);
	/* a file given wins over the environment */
	{
		char *path = temp_file_mode("file-key\n", 0600);

		assert_int_equal(neon_key_load(&key, path), 0);
		assert_string_equal(key, "file-key");
		neon_key_free(key);
		unlink(path);
		free(path);
	}
	unsetenv("NEON_API_KEY");
}

/* The VmFlags of the mapping that holds p, from /proc/self/smaps. */
static bool mapping_has_flag(const void *p, const char *flag)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool inside = false, found = false;
	uintptr_t a = (uintptr_t)p;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			inside = a >= lo && a < hi;
			continue;
		}
		if (inside && strncmp(line, "VmFlags:", 8) == 0) {
			char want[8];

			snprintf(want, sizeof(want), " %s", flag);
			found = strstr(line, want) != NULL;
			break;
		}
	}
	fclose(f);
	return found;
}

static void test_key_memory_not_dumped(void **state)
{
	char *key = NULL;

	(void)state;
	assert_int_equal(setenv("NEON_API_KEY", "dump-me-not", 1), 0);
	assert_int_equal(neon_key_load(&key, NULL), 0);
	unsetenv("NEON_API_KEY");
	if (access("/proc/self/smaps", R_OK) != 0) {
		neon_key_free(key);
		skip();
	}
	assert_true(mapping_has_flag(key, "dd"));
	neon_key_free(key);
}

/* ----------------------------------------------------------------- client */

static int new_client(neon_client **c, const char *url, const char *key)
{
	neon_options o = NEON_OPTIONS_INIT;

	o.base_url = url;
	o.api_key = key;
	return neon_client_new(c, &o);
}

static void test_client_url_rules(void **state)
{
	static const char *const ok[] = {
		"https://console.neon.tech/api/v2", "http://127.0.0.1:4242/api/v2", "http://127.9.8.7/api/v2/",
		"http://localhost:1/api/v2", "http://LOCALHOST/api/v2", "http://[::1]:4242/api/v2",
	};
	static const char *const bad[] = {
		"http://console.neon.tech/api/v2", "http://128.0.0.1/api/v2", "http://10.0.0.1/api/v2",
		"http://localhost.example.com/api/v2", "http://127.0.0.1.nip.io/api/v2", "ftp://127.0.0.1/x",
		"http://[::2]/api/v2", "not a url", "https://user:pw@console.neon.tech/api/v2",
		"https://console.neon.tech/api/v2?x=1",
	};
	const char *key = "napi_very_secret_key_123";
	neon_client *c = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(ok); i++) {
		if (new_client(&c, ok[i], key) != 0)
			fail_msg("'%s' refused: %s", ok[i], err_msg());
		neon_client_free(c);
	}
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		assert_int_equal(new_client(&c, bad[i], key), ERR_INVALID);
		assert_null(c);
		assert_null(strstr(err_msg(), key));
		if (!strstr(bad[i], "user:pw"))
			assert_non_null(strstr(err_msg(), bad[i]));
		else
			assert_null(strstr(err_msg(), "user:pw"));
	}
	/* the default URL is https */
	assert_int_equal(new_client(&c, NULL, key), 0);
	neon_client_free(c);
	neon_client_free(NULL);
}

static void test_client_key_rules(void **state)
{
	neon_client *c = NULL;
	neon_options o = NEON_OPTIONS_INIT;

	(void)state;
	assert_int_equal(new_client(&c, "http://127.0.0.1:1/api/v2", NULL), ERR_INVALID);
	assert_int_equal(new_client(&c, "http://127.0.0.1:1/api/v2", ""), ERR_INVALID);
	assert_int_equal(new_client(&c, "http://127.0.0.1:1/api/v2", "abc\r\nX-Evil: 1"), ERR_INVALID);
	assert_null(strstr(err_msg(), "abc"));
	assert_null(strstr(err_msg(), "Evil"));
	assert_int_equal(new_client(&c, "http://127.0.0.1:1/api/v2", "has space"), ERR_INVALID);
	o.base_url = "http://127.0.0.1:1/api/v2";
	o.api_key = "k";
	o.rate = -1;
	assert_int_equal(neon_client_new(&c, &o), ERR_INVALID);
	o.rate = 10;
	o.max_in_flight = -2;
	assert_int_equal(neon_client_new(&c, &o), ERR_INVALID);
	/* zeros mean defaults */
	memset(&o, 0, sizeof(o));
	o.base_url = "http://127.0.0.1:1/api/v2";
	o.api_key = "k";
	assert_int_equal(neon_client_new(&c, &o), 0);
	neon_client_free(c);
}

static void test_helpers(void **state)
{
	buf b = BUF_INIT(0);
	neon_client *c = NULL;
	char text[128];

	(void)state;
	assert_int_equal(neon__query_escape(&b, "a b&c=d/é~_.-"), 0);
	assert_string_equal(b.data, "a%20b%26c%3Dd%2F%C3%A9~_.-");
	buf_release(&b);
	assert_true(neon__id_valid("hidden-river-50598307"));
	assert_true(neon__id_valid("br-a"));
	assert_false(neon__id_valid(""));
	assert_false(neon__id_valid("a/b"));
	assert_false(neon__id_valid("A"));
	assert_false(neon__id_valid("../x"));
	assert_false(neon__id_valid(NULL));
	assert_false(neon__id_valid("0123456789012345678901234567890123456789012345678901234567890"));

	assert_int_equal(new_client(&c, "http://127.0.0.1:1/api/v2", "sekrit-key-value"), 0);
	str_copy(text, "bad key sekrit-key-value and sekrit-key-value again", sizeof(text));
	neon__redact(c, text, sizeof(text));
	assert_string_equal(text, "bad key [redacted] and [redacted] again");
	neon_client_free(c);
	assert_int_equal(new_client(&c, "http://127.0.0.1:1/api/v2", "abc"), 0);
	str_copy(text, "abcabc-abc", sizeof(text));
	neon__redact(c, text, sizeof(text));
	assert_string_equal(text, "******-***");
	neon_client_free(c);
}

typedef struct seen {
	int calls;
	neon_outcome outcome;
	int attempts;
	char message[512];
	char request_id[64];
} seen;

static void on_done(void *arg, neon_result *res)
{
	seen *s = arg;

	s->calls++;
	s->outcome = res->outcome;
	s->attempts = res->attempts;
	str_copy(s->message, res->message, sizeof(s->message));
	str_copy(s->request_id, res->request_id, sizeof(s->request_id));
}

static void test_refused_before_sending(void **state)
{
	neon_client *c = NULL;
	seen a = { 0 }, b = { 0 }, d = { 0 };
	neon_stats st;

	(void)state;
	assert_int_equal(new_client(&c, "http://127.0.0.1:1/api/v2", "k-123"), 0);
	neon_submit(c, "GET", "projects", NULL, false, on_done, &a);
	neon_submit(c, "GET", "/projects\r\nX: y", NULL, false, on_done, &b);
	neon_submit(c, "BREW", "/projects", json_object(), true, on_done, &d);
	assert_int_equal(neon_run(c), 0);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 1);
	assert_int_equal(d.calls, 1);
	assert_int_equal(a.outcome, NEON_TRANSPORT);
	assert_int_equal(a.attempts, 0);
	assert_non_null(strstr(a.message, "not sent"));
	assert_int_equal(d.outcome, NEON_TRANSPORT);
	neon_client_stats(c, &st);
	assert_int_equal(st.requests, 0);
	neon_client_free(c);
}

/* A port where nothing listens: every attempt is "connection refused",
 * which nothing reached, so reads and writes alike use every attempt. */
static void test_connection_refused_retries(void **state)
{
	neon_client *c = NULL;
	neon_options o = NEON_OPTIONS_INIT;
	neon_result r;
	neon_stats st;

	(void)state;
	o.base_url = "http://127.0.0.1:1/api/v2";
	o.api_key = "k-refused";
	o.max_attempts = 3;
	o.max_backoff_ms = 5;
	o.seed = 1;
	assert_int_equal(neon_client_new(&c, &o), 0);
	assert_int_equal(neon_call(c, "GET", "/projects?limit=1", NULL, false, &r), 0);
	assert_int_equal(r.outcome, NEON_TRANSPORT);
	assert_int_equal(r.attempts, 3);
	assert_int_equal(r.status, 0);
	assert_null(r.body);
	assert_non_null(strstr(r.message, "GET /projects: no answer"));
	assert_null(strstr(r.message, "limit=1"));
	assert_int_equal(strlen(r.request_id), 36);
	neon_result_release(&r);
	assert_int_equal(neon_call(c, "POST", "/projects", json_pack("{s:{s:s}}", "project", "name", "x"),
				   true, &r),
			 0);
	assert_int_equal(r.outcome, NEON_TRANSPORT); /* known not to have run */
	assert_int_equal(r.attempts, 3);
	neon_result_release(&r);
	neon_client_stats(c, &st);
	assert_int_equal(st.requests, 6);
	assert_int_equal(st.retries, 4);
	assert_int_equal(st.transport_errors, 6);
	neon_client_free(c);
}

typedef struct deep_seen {
	int calls, rc;
	char error[256];
} deep_seen;

static void on_deep(void *arg, const char *project_id, int rc, neon_project_deep *deep, const char *error)
{
	deep_seen *s = arg;

	(void)project_id;
	s->calls++;
	s->rc = rc;
	assert_null(deep);
	str_copy(s->error, error ? error : "", sizeof(s->error));
}

static void on_bad_schedule(void *arg, int rc, const json_t *schedule, const char *error)
{
	int *sched_rc = arg;
	assert_null(schedule);
	assert_non_null(strstr(error, "not valid"));
	*sched_rc = rc;
}

static void test_bad_ids(void **state)
{
	neon_client *c = NULL;
	deep_seen s = { 0 };
	const char *ops[] = { "abc" };
	const char *bad_ops[] = { "a/b" };

	(void)state;
	assert_int_equal(new_client(&c, "http://127.0.0.1:1/api/v2", "k"), 0);
	neon_project_deep_submit(c, "../../x", on_deep, &s);
	assert_int_equal(s.calls, 0); /* reported from neon_run, not from submit */
	assert_int_equal(neon_run(c), 0);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.rc, ERR_INVALID);
	assert_non_null(strstr(s.error, "not a valid id"));
	assert_int_equal(neon_ops_wait(c, "p/q", ops, 1, 100), ERR_INVALID);
	assert_int_equal(neon_ops_wait(c, "p", bad_ops, 1, 100), ERR_INVALID);
	assert_int_equal(neon_ops_wait(c, "p", ops, 0, 100), 0);
	{
		neon_project_page page;
		neon_result res;

		assert_int_equal(neon_projects_page(c, NULL, 401, NULL, false, &page, &res), ERR_INVALID);
		assert_int_equal(neon_projects_page(c, NULL, 0, NULL, false, &page, NULL), ERR_INVALID);
		assert_null(page.items);
		neon_result_release(&res);
	}
	{
		/* recover: a bad id is refused before anything is sent (the
		 * client's port 1 would fail a request with ERR_FAIL instead) */
		neon_project p;
		neon_result res;

		assert_int_equal(neon_project_recoverable(c, "../x", &p), ERR_INVALID);
		assert_null(p.id);
		assert_int_equal(neon_project_recover(c, "p-1/branches", &res), ERR_INVALID);
		assert_int_equal(res.attempts, 0);
		neon_result_release(&res);

		/* a backup schedule's ids, refused before anything is sent (the
		 * address is closed: a request would be a transport error) */
		json_t *none = json_array(), *got = NULL;
		int sched_rc = 0;

		assert_int_equal(neon_backup_schedule_get(c, "p/q", "br-1", &got), ERR_INVALID);
		assert_null(got);
		assert_int_equal(neon_backup_schedule_put(c, "p", "../br", none), ERR_INVALID);
		assert_int_equal(neon_backup_schedule_put(c, "p", "br-1", NULL), ERR_INVALID);
		neon_backup_schedule_get_submit(c, "p", "br 1", on_bad_schedule, &sched_rc);
		assert_int_equal(sched_rc, 0); /* reported from neon_run */
		assert_int_equal(neon_run(c), 0);
		assert_int_equal(sched_rc, ERR_INVALID);
		json_decref(none);
	}
	neon_client_free(c);
}

/* connection_uri's parameters, escaped; a request that cannot be right is
 * refused before anything is sent. */
static void test_connection_uri_request(void **state)
{
	neon_client *c = NULL;
	buf b = BUF_INIT(0);
	neon_conn_req rq = {.database = "app db", .role = "app&owner"};
	neon_stats st;
	char *uri = (char *)"x";

	(void)state;
	assert_int_equal(neon__connection_uri_path(&b, "p-1", &rq), 0);
	assert_string_equal(b.data, "/projects/p-1/connection_uri?database_name=app%20db&role_name=app%26owner");
	buf_release(&b);
	rq = (neon_conn_req){.database = "d", .role = "r", .branch_id = "br-1", .endpoint_id = "ep-2", .pooled = true};
	assert_int_equal(neon__connection_uri_path(&b, "p-1", &rq), 0);
	assert_string_equal(b.data, "/projects/p-1/connection_uri?database_name=d&role_name=r&branch_id=br-1"
				    "&endpoint_id=ep-2&pooled=true");
	buf_release(&b);

	assert_int_equal(new_client(&c, "http://127.0.0.1:1/api/v2", "k"), 0);
	assert_int_equal(neon_connection_uri(c, "../x", &rq, &uri), ERR_INVALID);
	assert_null(uri);
	assert_non_null(strstr(err_msg(), "'../x' is not a valid id"));
	rq.branch_id = "BR/1";
	assert_int_equal(neon_connection_uri(c, "p-1", &rq, &uri), ERR_INVALID);
	assert_non_null(strstr(err_msg(), "'BR/1' is not a valid id"));
	rq = (neon_conn_req){.database = "d", .role = ""};
	assert_int_equal(neon_connection_uri(c, "p-1", &rq, &uri), ERR_INVALID);
	assert_non_null(strstr(err_msg(), "a database name and a role name are required"));
	rq = (neon_conn_req){.role = "r"};
	assert_int_equal(neon_connection_uri(c, "p-1", &rq, &uri), ERR_INVALID);
	neon_client_stats(c, &st);
	assert_int_equal(st.requests, 0);
	neon_client_free(c);
}

static void test_route_template(void **st)
{
	(void)st;
	static const char *const cases[][2] = {
		{"GET /projects", "GET /projects"},
		{"GET /projects/p-1", "GET /projects/{id}"},
		{"POST /projects/p-1/branches/br-2/roles", "POST /projects/{id}/branches/{id}/roles"},
		{"DELETE /projects/p-1/branches/br-2/databases/app", "DELETE /projects/{id}/branches/{id}/databases/{id}"},
		{"GET /projects/p-1/operations", "GET /projects/{id}/operations"},
		{"GET /regions", "GET /regions"},
		/* no id after consumption_history: the daemon's usage tier */
		{"GET /consumption_history/v2/projects", "GET /consumption_history/v2/projects"},
		{"GET /consumption_history/projects", "GET /consumption_history/projects"},
		{"PUT /projects/p-1/branches/br-2/backup_schedule", "PUT /projects/{id}/branches/{id}/backup_schedule"},
		{"POST /projects/p-1/recover", "POST /projects/{id}/recover"},
		{"", ""},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *t = neon_route_template(cases[i][0]);
		assert_string_equal(t, cases[i][1]);
		free(t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_template),
		cmocka_unit_test(test_budget_bucket),
		cmocka_unit_test(test_budget_aimd),
		cmocka_unit_test(test_budget_ramp_tokens),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_classify_table),
		cmocka_unit_test(test_op_status_classes),
		cmocka_unit_test(test_model_openapi_examples),
		cmocka_unit_test(test_project_page_parse),
		cmocka_unit_test(test_model_project_full),
		cmocka_unit_test(test_model_project_errors),
		cmocka_unit_test(test_model_other_errors),
		cmocka_unit_test(test_key_file_private),
		cmocka_unit_test(test_key_file_refused),
		cmocka_unit_test(test_key_file_other),
		cmocka_unit_test(test_key_env),
		cmocka_unit_test(test_key_memory_not_dumped),
		cmocka_unit_test(test_client_url_rules),
		cmocka_unit_test(test_client_key_rules),
		cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_refused_before_sending),
		cmocka_unit_test(test_connection_refused_retries),
		cmocka_unit_test(test_bad_ids),
		cmocka_unit_test(test_connection_uri_request),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	json_decref(openapi());
	return rc;
}
