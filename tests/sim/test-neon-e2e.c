/*
 * test-neon-e2e.c: neon/ against a real flotilla-sim on loopback.
 *
 * Each test starts the sim it needs (flags for rate limits, operation
 * delay, a distinctive key) and checks the client from the outside: what
 * the results say, and what the sim's /__sim/stats counted. The claims:
 *   - a request carries a fresh X-Request-Id, echoed back and reported;
 *   - a write whose connection dies after it ran is NEON_UNKNOWN_OUTCOME
 *     and ran exactly once (fresh connection: libcurl never replays it);
 *     the harness's kept-alive connection shows the replay it prevents;
 *   - the retry rules per fault: 503, 500 after the write, 423, resets;
 *   - a read waiting out a Retry-After does not hold the others up;
 *   - one shared budget under a 300/min sim: 429s honoured, all succeed;
 *   - 10% errors + 5% resets: 200 reads all succeed; a truncated body is
 *     NEON_BAD_RESPONSE naming the route; max_body gives NEON_TOO_BIG;
 *   - paging 1,000 projects by 400 is 3 calls, every project once;
 *   - deep reads of many projects at once match the sim, annotations and
 *     a 120-branch project (two branch pages) included;
 *   - neon_ops_wait waits out --op-delay-ms, and times out as ERR_LOCKED;
 *   - neon_connection_uri gives the URI the sim gives (pooled too), and a
 *     404 naming what is unknown;
 *   - the key is in no result message, error text or debug log line, and
 *     the debug log shows reads reusing connections, writes never.
 * Skipped (a TAP plan of zero) when FLOTILLA_SIM is not set.
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
#include <unistd.h>

#include "neon/neon.h"
#include "tests/sim/harness.h"

typedef struct fixture {
	sim_proc *sim;
	neon_client *c;
} fixture;

static int setup(void **state)
{
	*state = xcalloc(1, sizeof(fixture));
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	neon_client_free(f->c);
	if (f->sim) {
		int st;

		if (sim_stop(f->sim, &st) != 0)
			print_error("flotilla-sim: %s\n", err_msg());
		sim_free(f->sim);
	}
	free(f);
	return 0;
}

/* Start the fixture's sim with `args` (NULL-terminated). */
static void start(fixture *f, const char *const *args)
{
	if (sim_start(&f->sim, args) != 0)
		fail_msg("cannot start flotilla-sim: %s", err_msg());
}

/* A client for the fixture's sim; `o` may tweak the options (NULL: the
 * defaults but a short backoff, so the tests stay quick). */
static neon_client *client(fixture *f, const char *key, const neon_options *o)
{
	neon_options opt = NEON_OPTIONS_INIT;
	neon_client *c = NULL;

	if (o)
		opt = *o;
	else
		opt.max_backoff_ms = 200;
	opt.base_url = sim_api_url(f->sim);
	opt.api_key = key ? key : SIM_DEFAULT_KEY;
	if (neon_client_new(&c, &opt) != 0)
		fail_msg("neon_client_new: %s", err_msg());
	return c;
}

/* One harness request that must answer `want`; the JSON, owned. */
static json_t *hreq(fixture *f, const char *method, const char *path, const char *body, long want)
{
	sim_response r;
	json_t *j;

	if (sim_request(f->sim, method, path, body, &r) != 0)
		fail_msg("%s %s: %s", method, path, err_msg());
	if (r.status != want)
		fail_msg("%s %s: %ld, want %ld: %.300s", method, path, r.status, want,
			 r.body.data ? r.body.data : "");
	j = r.json;
	r.json = NULL;
	sim_response_release(&r);
	return j;
}

static void faults(fixture *f, const char *json)
{
	if (sim_set_faults(f->sim, json) != 0)
		fail_msg("faults %s: %s", json, err_msg());
}

/* An integer of /__sim/stats by dotted path; 0 when absent. */
static json_int_t stat(fixture *f, const char *path)
{
	json_t *s = NULL;
	json_int_t v;

	if (sim_stats(f->sim, &s) != 0)
		fail_msg("stats: %s", err_msg());
	v = json_integer_value(sim_json_get(s, path));
	json_decref(s);
	return v;
}

/* Requests the sim counted for a route template, all statuses. */
static json_int_t route_calls(fixture *f, const char *route)
{
	json_t *s = NULL, *per;
	const char *k;
	json_t *v;
	json_int_t n = 0;

	if (sim_stats(f->sim, &s) != 0)
		fail_msg("stats: %s", err_msg());
	per = json_object_get(json_object_get(s, "requests"), route);
	json_object_foreach(per, k, v)
		n += json_integer_value(v);
	json_decref(s);
	return n;
}

static bool is_uuid4(const char *s)
{
	size_t i;

	if (strlen(s) != 36 || s[14] != '4')
		return false;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!strchr("0123456789abcdef", s[i])) {
			return false;
		}
	}
	return true;
}

/* ------------------------------------------------------------ basics */

static void test_requests_and_ids(void **state)
{
	fixture *f = *state;
	neon_result r, r2;
	neon_region reg;
	size_t i;
	const json_t *item;

	start(f, NULL);
	f->c = client(f, NULL, NULL);
	assert_int_equal(neon_call(f->c, "GET", "/regions", NULL, false, &r), 0);
	assert_int_equal(r.outcome, NEON_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.attempts, 1);
	assert_string_equal(r.message, "");
	assert_true(is_uuid4(r.request_id));
	assert_int_equal(json_array_size(json_object_get(r.body, "regions")), 11);
	json_array_foreach(json_object_get(r.body, "regions"), i, item) {
		assert_int_equal(neon_region_parse(item, "GET /regions: regions[i]", &reg), 0);
		neon_region_release(&reg);
	}
	/* a fresh id each time */
	assert_int_equal(neon_call(f->c, "GET", "/regions", NULL, false, &r2), 0);
	assert_true(is_uuid4(r2.request_id));
	assert_string_not_equal(r.request_id, r2.request_id);
	neon_result_release(&r);
	neon_result_release(&r2);

	/* an error: the API's message, and its body's request_id is ours */
	assert_int_equal(neon_call(f->c, "GET", "/projects/no-such-project", NULL, false, &r), 0);
	assert_int_equal(r.outcome, NEON_HTTP_ERROR);
	assert_int_equal(r.status, 404);
	assert_int_equal(r.attempts, 1);
	assert_non_null(strstr(r.message, "GET /projects/no-such-project: 404"));
	assert_non_null(strstr(r.message, "not found"));
	assert_string_equal(json_string_value(json_object_get(r.body, "request_id")), r.request_id);
	neon_result_release(&r);

	/* a write */
	assert_int_equal(neon_call(f->c, "POST", "/projects",
				   json_pack("{s:{s:s}}", "project", "name", "basic-1"), true, &r),
			 0);
	assert_int_equal(r.outcome, NEON_OK);
	assert_int_equal(r.status, 201);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r.body, "project"), "name")),
			    "basic-1");
	neon_result_release(&r);
	assert_int_equal(stat(f, "writes_total"), 1);
}

/* ------------------------------------------------------------ writes */

static void test_write_not_replayed(void **state)
{
	fixture *f = *state;
	neon_result r;
	json_int_t w0, w1;
	json_t *j;
	int i;

	start(f, NULL);
	f->c = client(f, NULL, NULL);
	/* warm the connection pool: reads leave kept-alive connections */
	for (i = 0; i < 4; i++) {
		assert_int_equal(neon_call(f->c, "GET", "/regions", NULL, false, &r), 0);
		assert_int_equal(r.outcome, NEON_OK);
		neon_result_release(&r);
	}
	faults(f, "{\"reset_after_rate\": 1}");
	w0 = stat(f, "writes_total");
	assert_int_equal(neon_call(f->c, "POST", "/projects",
				   json_pack("{s:{s:s}}", "project", "name", "once"), true, &r),
			 0);
	assert_int_equal(r.outcome, NEON_UNKNOWN_OUTCOME);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.message, "POST /projects: outcome unknown"));
	neon_result_release(&r);
	w1 = stat(f, "writes_total");
	assert_int_equal(w1 - w0, 1);

	/* the control: the harness keeps its connection alive, so libcurl
	 * silently sends the same POST again after the reset */
	sim_set_keepalive(f->sim, true);
	j = hreq(f, "GET", "/api/v2/regions", NULL, 200);
	json_decref(j);
	{
		sim_response hr;

		assert_int_not_equal(sim_request(f->sim, "POST", "/api/v2/projects",
						 "{\"project\": {\"name\": \"twice\"}}", &hr),
				     0);
		sim_response_release(&hr);
	}
	assert_int_equal(stat(f, "writes_total") - w1, 2);
	assert_int_equal(stat(f, "max_projects_per_name"), 2);
}

static void test_write_retry_rules(void **state)
{
	fixture *f = *state;
	neon_options o = NEON_OPTIONS_INIT;
	neon_result r;
	json_int_t w0;

	start(f, NULL);
	o.max_attempts = 3;
	o.max_backoff_ms = 20;
	o.seed = 5;
	f->c = client(f, NULL, &o);

	/* 500 after the change was made: unknown, not retried */
	faults(f, "{\"error_after_rate\": 1}");
	w0 = stat(f, "writes_total");
	assert_int_equal(neon_call(f->c, "POST", "/projects", json_pack("{s:{}}", "project"), true, &r), 0);
	assert_int_equal(r.outcome, NEON_UNKNOWN_OUTCOME);
	assert_int_equal(r.status, 500);
	assert_int_equal(r.attempts, 1);
	assert_non_null(strstr(r.message, "after the change was made"));
	neon_result_release(&r);
	assert_int_equal(stat(f, "writes_total") - w0, 1);

	/* 503 before anything ran: retried, then the 503 */
	faults(f, "{\"error_after_rate\": 0, \"error_rate\": 1}");
	w0 = stat(f, "writes_total");
	assert_int_equal(neon_call(f->c, "POST", "/projects", json_pack("{s:{}}", "project"), true, &r), 0);
	assert_int_equal(r.outcome, NEON_HTTP_ERROR);
	assert_int_equal(r.status, 503);
	assert_int_equal(r.attempts, 3);
	assert_non_null(strstr(r.message, "after 3 attempts"));
	neon_result_release(&r);
	/* reads too */
	assert_int_equal(neon_call(f->c, "GET", "/regions", NULL, false, &r), 0);
	assert_int_equal(r.outcome, NEON_HTTP_ERROR);
	assert_int_equal(r.attempts, 3);
	neon_result_release(&r);
	assert_int_equal(stat(f, "writes_total") - w0, 0);

	/* 423 on writes: waited out for lock_wait_ms, whatever max_attempts
	 * says (a project busy with Neon's own operations), then final */
	neon_client_free(f->c);
	o.lock_wait_ms = 4000; /* even the longest waits (500, 750, 1250 ms) leave room for 4 attempts */
	f->c = client(f, NULL, &o);
	faults(f, "{\"error_rate\": 0, \"lock_rate\": 1}");
	assert_int_equal(neon_call(f->c, "POST", "/projects", json_pack("{s:{}}", "project"), true, &r), 0);
	assert_int_equal(r.outcome, NEON_HTTP_ERROR);
	assert_int_equal(r.status, 423);
	assert_true(r.attempts > 3);
	assert_non_null(strstr(r.message, "stayed locked"));
	neon_result_release(&r);
	assert_int_equal(stat(f, "writes_total") - w0, 0);

	/* a reset before running: the client cannot know, so: unknown */
	faults(f, "{\"lock_rate\": 0, \"reset_rate\": 1}");
	assert_int_equal(neon_call(f->c, "DELETE", "/projects/whatever-1", NULL, true, &r), 0);
	assert_int_equal(r.outcome, NEON_UNKNOWN_OUTCOME);
	assert_int_equal(r.attempts, 1);
	neon_result_release(&r);
	/* a read: retried, then a transport failure */
	assert_int_equal(neon_call(f->c, "GET", "/regions", NULL, false, &r), 0);
	assert_int_equal(r.outcome, NEON_TRANSPORT);
	assert_int_equal(r.attempts, 3);
	assert_int_equal(r.status, 0);
	neon_result_release(&r);
	assert_int_equal(stat(f, "writes_total") - w0, 0);

	/* 4xx on a write: final at once */
	faults(f, "{\"reset_rate\": 0}");
	assert_int_equal(neon_call(f->c, "POST", "/projects",
				   json_pack("{s:{s:i}}", "project", "pg_version", 9), true, &r),
			 0);
	assert_int_equal(r.outcome, NEON_HTTP_ERROR);
	assert_int_equal(r.status, 400);
	assert_int_equal(r.attempts, 1);
	neon_result_release(&r);
}

/* A write on a project with operations running gets 423 and is retried
 * until they finish. */
static void test_write_waits_out_423(void **state)
{
	static const char *const args[] = { "--op-delay-ms", "300", NULL };
	fixture *f = *state;
	neon_options o = NEON_OPTIONS_INIT;
	neon_result r;
	char id[64];
	char *path;

	start(f, args);
	/* the default backoff (250 ms doubling): five waits shorter than the
	 * operations' 300 ms all together are next to impossible */
	o.seed = 1;
	f->c = client(f, NULL, &o);
	assert_int_equal(neon_call(f->c, "POST", "/projects", json_pack("{s:{}}", "project"), true, &r), 0);
	assert_int_equal(r.outcome, NEON_OK);
	str_copy(id, json_string_value(json_object_get(json_object_get(r.body, "project"), "id")), sizeof(id));
	neon_result_release(&r);
	path = xasprintf("/projects/%s", id);
	assert_int_equal(neon_call(f->c, "PATCH", path, json_pack("{s:{s:s}}", "project", "name", "renamed"),
				   true, &r),
			 0);
	free(path);
	if (r.outcome != NEON_OK)
		fail_msg("PATCH: %s", r.message);
	assert_true(r.attempts > 1);
	assert_true(r.elapsed_ms >= 150);
	neon_result_release(&r);
	assert_int_equal(route_calls(f, "PATCH /projects/{project_id}") > 1, 1);
}

/* ------------------------------------------------------------- waiting */

typedef struct done_log {
	int n;
	int64_t t0;
	struct {
		char path[64];
		int64_t at;
		int attempts;
		neon_outcome outcome;
	} e[32];
} done_log;

typedef struct done_arg {
	done_log *log;
	const char *path;
} done_arg;

static void on_logged(void *arg, neon_result *res)
{
	done_arg *a = arg;
	done_log *l = a->log;

	assert_true(l->n < 32);
	str_copy(l->e[l->n].path, a->path, sizeof(l->e[l->n].path));
	l->e[l->n].at = mono_ms() - l->t0;
	l->e[l->n].attempts = res->attempts;
	l->e[l->n].outcome = res->outcome;
	l->n++;
}

static void test_retry_after_does_not_block(void **state)
{
	static const char *const args[] = { "--burst-per-route", "3", NULL };
	static const char *const others[] = { "/users/me", "/projects", "/projects/shared" };
	fixture *f = *state;
	neon_options o = NEON_OPTIONS_INIT;
	done_log log;
	done_arg args_regions[8], args_others[9];
	int64_t last_other = 0, first_retried = -1;
	neon_stats st;
	int i;

	start(f, args);
	o.rate = 1000;
	o.burst = 100;
	o.max_backoff_ms = 50;
	f->c = client(f, NULL, &o);
	memset(&log, 0, sizeof(log));
	log.t0 = mono_ms();
	/* eight on one route: at most six fit in the sim's per-second windows
	 * they can span, so some get 429 with Retry-After: 1 */
	for (i = 0; i < 8; i++) {
		args_regions[i].log = &log;
		args_regions[i].path = "/regions";
		neon_submit(f->c, "GET", "/regions", NULL, false, on_logged, &args_regions[i]);
	}
	for (i = 0; i < 9; i++) {
		args_others[i].log = &log;
		args_others[i].path = others[i % 3];
		neon_submit(f->c, "GET", others[i % 3], NULL, false, on_logged, &args_others[i]);
	}
	assert_int_equal(neon_run(f->c), 0);
	assert_int_equal(log.n, 17);
	neon_client_stats(f->c, &st);
	assert_true(st.status_429 >= 2);
	for (i = 0; i < log.n; i++) {
		assert_int_equal(log.e[i].outcome, NEON_OK);
		if (strcmp(log.e[i].path, "/regions") != 0) {
			if (log.e[i].at > last_other)
				last_other = log.e[i].at;
		} else if (log.e[i].attempts > 1 && (first_retried < 0 || log.e[i].at < first_retried)) {
			first_retried = log.e[i].at;
		}
	}
	/* the waits honoured Retry-After, and the other routes did not wait */
	assert_true(first_retried >= 950);
	assert_true(last_other < first_retried);
	assert_true(last_other < 900);
}

/* ------------------------------------------------------------- budget */

typedef struct tally {
	int ok, failed;
	char first_error[512];
} tally;

static void on_tally(void *arg, neon_result *res)
{
	tally *t = arg;

	if (res->outcome == NEON_OK) {
		t->ok++;
	} else {
		if (!t->failed)
			str_copy(t->first_error, res->message, sizeof(t->first_error));
		t->failed++;
	}
}

static void test_shared_budget_under_rate_limit(void **state)
{
	static const char *const args[] = { "--rate-per-minute", "300", "--burst-per-route", "1000", NULL };
	static const char *const paths[] = { "/regions", "/users/me", "/projects?limit=1" };
	fixture *f = *state;
	neon_options o = NEON_OPTIONS_INIT;
	neon_stats st;
	tally t = { 0, 0, "" };
	int64_t t0, took;
	json_t *j;
	int i;

	start(f, args);
	/* the sim's bucket starts full (300): spend most of it, so that 100
	 * reads at 20/s outrun its 5/s refill */
	for (i = 0; i < 230; i++) {
		j = hreq(f, "GET", "/api/v2/regions", NULL, 200);
		json_decref(j);
	}
	o.rate = 20;
	o.burst = 20;
	o.seed = 3;
	f->c = client(f, NULL, &o);
	t0 = mono_ms();
	for (i = 0; i < 100; i++)
		neon_submit(f->c, "GET", paths[i % 3], NULL, false, on_tally, &t);
	assert_int_equal(neon_run(f->c), 0);
	took = mono_ms() - t0;
	neon_client_stats(f->c, &st);
	print_message("# 100 reads in %lld ms: %lld attempts, %lld 429s, %lld budget waits (%lld ms), "
		      "rate now %.2f/s\n",
		      (long long)took, (long long)st.requests, (long long)st.status_429,
		      (long long)st.budget_waits, (long long)st.budget_wait_ms, st.rate_now);
	if (t.failed)
		fail_msg("%d of 100 failed; first: %s", t.failed, t.first_error);
	assert_int_equal(t.ok, 100);
	assert_true(st.status_429 > 0);
	assert_int_equal(st.status_429, stat(f, "rate_limited"));
	assert_int_equal(st.requests, 100 + st.retries);
	assert_true(st.budget_waits > 0);
	assert_true(st.rate_now < 20.0); /* still lowered after the 429s */
}

/* ------------------------------------------------------------- faults */

static void test_faults_reads(void **state)
{
	static const char *const args[] = { "--rate-per-minute", "0", NULL };
	fixture *f = *state;
	neon_options o = NEON_OPTIONS_INIT;
	neon_stats st;
	neon_result r;
	neon_project_page page;
	tally t = { 0, 0, "" };
	json_t *j;
	char *paths[4];
	int i;

	start(f, args);
	for (i = 0; i < 4; i++) {
		char body[64];

		snprintf(body, sizeof(body), "{\"project\": {\"name\": \"faulty-%d\"}}", i);
		j = hreq(f, "POST", "/api/v2/projects", body, 201);
		paths[i] = xasprintf("/projects/%s",
				     json_string_value(json_object_get(json_object_get(j, "project"), "id")));
		json_decref(j);
	}
	o.rate = 500;
	o.burst = 100;
	o.max_backoff_ms = 100;
	o.seed = 11;
	f->c = client(f, NULL, &o);
	faults(f, "{\"error_rate\": 0.1, \"reset_rate\": 0.05, \"seed\": 7}");
	for (i = 0; i < 200; i++)
		neon_submit(f->c, "GET", i % 5 == 4 ? "/regions" : paths[i % 4], NULL, false, on_tally, &t);
	assert_int_equal(neon_run(f->c), 0);
	if (t.failed)
		fail_msg("%d of 200 failed; first: %s", t.failed, t.first_error);
	assert_int_equal(t.ok, 200);
	neon_client_stats(f->c, &st);
	print_message("# 200 reads under 10%% 503 + 5%% resets: %lld attempts, %lld transport errors\n",
		      (long long)st.requests, (long long)st.transport_errors);
	assert_true(st.retries > 0);
	/* the sim did reset connections (status "0"); a reset on a kept-alive
	 * connection is re-sent by libcurl itself, which is safe for a read */
	assert_true(stat(f, "requests.GET /regions.0") + stat(f, "requests.GET /projects/{project_id}.0") > 0);

	/* a truncated 200 body */
	faults(f, "{\"error_rate\": 0, \"reset_rate\": 0, \"malformed_rate\": 1}");
	assert_int_equal(neon_call(f->c, "GET", "/regions", NULL, false, &r), 0);
	assert_int_equal(r.outcome, NEON_BAD_RESPONSE);
	assert_int_equal(r.status, 200);
	assert_null(r.body);
	assert_non_null(strstr(r.message, "GET /regions: 200 response is not valid JSON"));
	neon_result_release(&r);
	assert_int_equal(neon_projects_page(f->c, NULL, 10, NULL, false, &page, &r), ERR_INVALID);
	assert_int_equal(r.outcome, NEON_BAD_RESPONSE);
	assert_non_null(strstr(r.message, "GET /projects"));
	assert_null(page.items);
	neon_result_release(&r);
	faults(f, "{\"malformed_rate\": 0}");

	/* a body past max_body */
	neon_client_free(f->c);
	o.max_body = 100;
	f->c = client(f, NULL, &o);
	assert_int_equal(neon_call(f->c, "GET", "/regions", NULL, false, &r), 0);
	assert_int_equal(r.outcome, NEON_TOO_BIG);
	assert_int_equal(r.attempts, 1);
	assert_null(r.body);
	assert_non_null(strstr(r.message, "larger than 100 bytes"));
	neon_result_release(&r);
	for (i = 0; i < 4; i++)
		free(paths[i]);
}

/* -------------------------------------------------------------- pages */

/* Every project id seen while paging, once each. */
typedef struct idset {
	strmap *m;      /* keys point into ids */
	char **ids;
	size_t n, cap;
} idset;

static void idset_release(idset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->ids[i]);
	free(s->ids);
	strmap_free(s->m);
	memset(s, 0, sizeof(*s));
}

/* Page through everything into `seen` (a duplicate fails the test);
 * returns the calls made. */
static int page_all(neon_client *c, int limit, const char *search, idset *seen)
{
	char *cursor = NULL;
	int calls = 0;
	size_t i;

	seen->m = strmap_new();
	for (;;) {
		neon_project_page page;
		neon_result res;

		if (neon_projects_page(c, cursor, limit, search, false, &page, &res) != 0)
			fail_msg("page %d: %s", calls, res.message[0] ? res.message : err_msg());
		calls++;
		for (i = 0; i < page.n; i++) {
			if (strmap_get(seen->m, page.items[i].id))
				fail_msg("project '%s' listed twice", page.items[i].id);
			if (seen->n == seen->cap)
				seen->ids = xgrow(seen->ids, &seen->cap, seen->n + 1, sizeof(char *));
			seen->ids[seen->n] = xstrdup(page.items[i].id);
			strmap_put(seen->m, seen->ids[seen->n], seen->ids[seen->n]);
			seen->n++;
		}
		free(cursor);
		cursor = page.next ? xstrdup(page.next) : NULL;
		neon_project_page_release(&page);
		neon_result_release(&res);
		if (!cursor)
			break;
		assert_true(calls < 100);
	}
	return calls;
}

static void test_projects_pages(void **state)
{
	static const char *const args[] = { "--rate-per-minute", "0", NULL };
	fixture *f = *state;
	idset a = { 0 }, b = { 0 }, found = { 0 };
	json_int_t before;
	int calls;
	size_t i;
	int64_t t0, took;
	json_t *j;

	start(f, args);
	j = hreq(f, "POST", "/__sim/populate", "{\"count\": 1000, \"name_prefix\": \"pg-\"}", 200);
	json_decref(j);
	f->c = client(f, NULL, NULL);

	before = route_calls(f, "GET /projects");
	t0 = mono_ms();
	calls = page_all(f->c, 400, NULL, &a);
	took = mono_ms() - t0;
	assert_int_equal(a.n, 1000);
	assert_true(calls == 3 || calls == 4);
	assert_int_equal(route_calls(f, "GET /projects") - before, calls);
	print_message("# 1000 projects in %d pages of 400: %lld ms (%.0f pages/s)\n", calls, (long long)took,
		      took > 0 ? calls * 1000.0 / (double)took : 0.0);

	/* a count that divides evenly costs the one extra, empty, page */
	before = route_calls(f, "GET /projects");
	calls = page_all(f->c, 200, NULL, &b);
	assert_int_equal(calls, 6);
	assert_int_equal(route_calls(f, "GET /projects") - before, 6);
	/* the same projects both ways */
	assert_int_equal(b.n, 1000);
	for (i = 0; i < b.n; i++)
		assert_non_null(strmap_get(a.m, b.ids[i]));

	/* search narrows the list: pg-99 and pg-990..pg-999 */
	calls = page_all(f->c, 400, "pg-99", &found);
	assert_int_equal(calls, 1);
	assert_int_equal(found.n, 11);
	idset_release(&a);
	idset_release(&b);
	idset_release(&found);
}

/* --------------------------------------------------------------- deep */

typedef struct deep_out {
	char id[64];
	int calls, rc;
	char error[512];
	neon_project_deep deep; /* moved out of the callback */
} deep_out;

static void on_deep(void *arg, const char *project_id, int rc, neon_project_deep *deep, const char *error)
{
	deep_out *o = arg;

	assert_string_equal(project_id, o->id);
	o->calls++;
	o->rc = rc;
	if (rc == 0) {
		/* keep it: take the arrays and leave the callback's copy empty */
		o->deep = *deep;
		memset(deep, 0, sizeof(*deep));
	} else {
		str_copy(o->error, error ? error : "", sizeof(o->error));
	}
}

/* The number of items of `member` in a harness GET. */
static size_t hcount(fixture *f, const char *path, const char *member, json_t **keep)
{
	json_t *j = hreq(f, "GET", path, NULL, 200);
	size_t n = json_array_size(json_object_get(j, member));

	if (keep)
		*keep = j;
	else
		json_decref(j);
	return n;
}

/* Compare one project's deep read with what the sim answers directly. */
static void check_deep(fixture *f, const deep_out *o)
{
	const neon_project_deep *d = &o->deep;
	json_t *branches = NULL;
	char *path;
	size_t i, k, ndb = 0, nrole = 0;

	if (o->rc != 0)
		fail_msg("deep '%s': %s", o->id, o->error);
	path = xasprintf("/api/v2/projects/%s/branches", o->id);
	assert_int_equal(hcount(f, path, "branches", &branches), d->nbranches);
	free(path);
	for (i = 0; i < d->nbranches; i++) {
		const char *bid = d->branches[i].id;
		bool found = false;
		json_t *b;
		size_t bi;

		json_array_foreach(json_object_get(branches, "branches"), bi, b) {
			found = found || strcmp(json_string_value(json_object_get(b, "id")), bid) == 0;
		}
		assert_true(found);
		assert_string_equal(d->branches[i].project_id, o->id);
		path = xasprintf("/api/v2/projects/%s/branches/%s/databases", o->id, bid);
		ndb += hcount(f, path, "databases", NULL);
		free(path);
		path = xasprintf("/api/v2/projects/%s/branches/%s/roles", o->id, bid);
		nrole += hcount(f, path, "roles", NULL);
		free(path);
	}
	json_decref(branches);
	assert_int_equal(d->ndatabases, ndb);
	assert_int_equal(d->nroles, nrole);
	/* joined in branch order */
	for (i = 0, k = 0; i < d->ndatabases; i++) {
		while (k < d->nbranches && strcmp(d->databases[i].branch_id, d->branches[k].id) != 0)
			k++;
		assert_true(k < d->nbranches);
	}
	path = xasprintf("/api/v2/projects/%s/endpoints", o->id);
	assert_int_equal(hcount(f, path, "endpoints", NULL), d->nendpoints);
	free(path);
}

static void test_deep_many(void **state)
{
	static const char *const args[] = { "--rate-per-minute", "0", "--op-delay-ms", "0", NULL };
	enum { POPULATED = 40, MANY = 119 };
	fixture *f = *state;
	neon_options o = NEON_OPTIONS_INIT;
	deep_out *outs;
	neon_project_page page;
	neon_result res;
	json_t *j;
	char annotated[64], many[64], *path;
	size_t n, i;
	json_int_t before;
	int64_t t0, took;

	start(f, args);
	j = hreq(f, "POST", "/__sim/populate", "{\"count\": 40, \"name_prefix\": \"deep-\"}", 200);
	json_decref(j);
	j = hreq(f, "POST", "/api/v2/projects",
		 "{\"project\": {\"name\": \"annotated\", \"branch\": {\"annotations\": "
		 "{\"flotilla.tenant\": \"acme\", \"flotilla.fleet\": \"prod\"}}}}",
		 201);
	str_copy(annotated, json_string_value(json_object_get(json_object_get(j, "project"), "id")),
		 sizeof(annotated));
	json_decref(j);
	j = hreq(f, "POST", "/api/v2/projects", "{\"project\": {\"name\": \"many-branches\"}}", 201);
	str_copy(many, json_string_value(json_object_get(json_object_get(j, "project"), "id")), sizeof(many));
	json_decref(j);
	path = xasprintf("/api/v2/projects/%s/branches", many);
	for (i = 0; i < MANY; i++) {
		char body[64];

		snprintf(body, sizeof(body), "{\"branch\": {\"name\": \"dev-%zu\"}}", i);
		j = hreq(f, "POST", path, body, 201);
		json_decref(j);
	}
	free(path);

	o.max_in_flight = 8;
	o.rate = 2000;
	o.burst = 200;
	f->c = client(f, NULL, &o);
	assert_int_equal(neon_projects_page(f->c, NULL, 400, NULL, false, &page, &res), 0);
	neon_result_release(&res);
	n = page.n;
	assert_int_equal(n, POPULATED + 2);
	outs = xcalloc(n, sizeof(*outs));
	before = route_calls(f, "GET /projects/{project_id}/branches");
	t0 = mono_ms();
	for (i = 0; i < n; i++) {
		str_copy(outs[i].id, page.items[i].id, sizeof(outs[i].id));
		neon_project_deep_submit(f->c, outs[i].id, on_deep, &outs[i]);
	}
	neon_project_page_release(&page);
	assert_int_equal(neon_run(f->c), 0);
	took = mono_ms() - t0;
	/* one branch page per project, two for the one with 120 branches */
	assert_int_equal(route_calls(f, "GET /projects/{project_id}/branches") - before, n + 1);
	print_message("# deep reads of %zu projects (%d branches in one) at 8 in flight: %lld ms\n", n,
		      MANY + 1, (long long)took);
	for (i = 0; i < n; i++) {
		assert_int_equal(outs[i].calls, 1);
		check_deep(f, &outs[i]);
		if (strcmp(outs[i].id, many) == 0) {
			assert_int_equal(outs[i].deep.nbranches, MANY + 1);
			assert_int_equal(outs[i].deep.ndatabases, MANY + 1);
		} else {
			assert_int_equal(outs[i].deep.nbranches, 1);
			assert_int_equal(outs[i].deep.nendpoints, 1);
			assert_true(outs[i].deep.branches[0].is_default);
		}
		if (strcmp(outs[i].id, annotated) == 0) {
			json_t *a = outs[i].deep.branches[0].annotations;

			assert_string_equal(json_string_value(json_object_get(a, "flotilla.tenant")), "acme");
			assert_string_equal(json_string_value(json_object_get(a, "flotilla.fleet")), "prod");
		} else if (strcmp(outs[i].id, many) != 0) {
			assert_null(outs[i].deep.branches[0].annotations);
		}
		neon_project_deep_release(&outs[i].deep);
	}
	free(outs);

	/* a project that is gone: not found, the others unaffected */
	{
		deep_out gone;

		memset(&gone, 0, sizeof(gone));
		str_copy(gone.id, "gone-project-1", sizeof(gone.id));
		neon_project_deep_submit(f->c, gone.id, on_deep, &gone);
		assert_int_equal(neon_run(f->c), 0);
		assert_int_equal(gone.calls, 1);
		assert_int_equal(gone.rc, ERR_NOTFOUND);
		assert_non_null(strstr(gone.error, "404"));
	}
}

/* -------------------------------------------------------------- ops */

static void test_ops_wait(void **state)
{
	static const char *const args[] = { "--op-delay-ms", "300", NULL };
	fixture *f = *state;
	neon_result r;
	const char *ids[8];
	char id[64];
	const json_t *ops, *op;
	size_t n, i;
	int64_t t0, took;

	start(f, args);
	f->c = client(f, NULL, NULL);
	assert_int_equal(neon_call(f->c, "POST", "/projects", json_pack("{s:{s:s}}", "project", "name", "ops"),
				   true, &r),
			 0);
	assert_int_equal(r.outcome, NEON_OK);
	str_copy(id, json_string_value(json_object_get(json_object_get(r.body, "project"), "id")), sizeof(id));
	ops = json_object_get(r.body, "operations");
	n = json_array_size(ops);
	assert_true(n >= 1 && n <= 8);
	json_array_foreach(ops, i, op)
		ids[i] = json_string_value(json_object_get(op, "id"));

	assert_int_equal(neon_ops_wait(f->c, id, ids, n, 1), ERR_LOCKED);
	assert_non_null(strstr(err_msg(), "timed out"));
	assert_non_null(strstr(err_msg(), id));
	t0 = mono_ms();
	assert_int_equal(neon_ops_wait(f->c, id, ids, n, 5000), 0);
	took = mono_ms() - t0;
	assert_true(took >= 100 && took < 3000);
	/* finished now: one poll */
	t0 = mono_ms();
	assert_int_equal(neon_ops_wait(f->c, id, ids, n, 5000), 0);
	assert_true(mono_ms() - t0 < 200);
	assert_int_equal(neon_ops_wait(f->c, "no-such-project", ids, n, 1000), ERR_NOTFOUND);
	neon_result_release(&r); /* ids point into its body */
}

/* ----------------------------------------------------- connection URI */

/* neon_connection_uri against the sim: the URI the create answered with,
 * the pooled one, and 404s named for an unknown project, database, role. */
static void test_connection_uri(void **state)
{
	fixture *f = *state;
	neon_result r;
	char id[64], db[64], role[64], *uri = NULL;

	start(f, NULL);
	f->c = client(f, NULL, NULL);
	assert_int_equal(neon_call(f->c, "POST", "/projects", json_pack("{s:{s:s}}", "project", "name", "conn"),
				   true, &r), 0);
	assert_int_equal(r.outcome, NEON_OK);
	str_copy(id, json_string_value(json_object_get(json_object_get(r.body, "project"), "id")), sizeof(id));
	str_copy(db, json_string_value(json_object_get(json_array_get(json_object_get(r.body, "databases"), 0), "name")),
		 sizeof(db));
	str_copy(role, json_string_value(json_object_get(json_array_get(json_object_get(r.body, "roles"), 0), "name")),
		 sizeof(role));
	const char *created = json_string_value(
		json_object_get(json_array_get(json_object_get(r.body, "connection_uris"), 0), "connection_uri"));
	neon_conn_req rq = {.database = db, .role = role};
	assert_int_equal(neon_connection_uri(f->c, id, &rq, &uri), 0);
	assert_string_equal(uri, created);
	assert_null(strstr(uri, "-pooler"));
	free(uri);
	rq.pooled = true;
	assert_int_equal(neon_connection_uri(f->c, id, &rq, &uri), 0);
	assert_non_null(strstr(uri, "-pooler"));
	assert_non_null(strstr(uri, role));
	free(uri);
	neon_result_release(&r);

	rq = (neon_conn_req){.database = "nope", .role = role};
	assert_int_equal(neon_connection_uri(f->c, id, &rq, &uri), ERR_NOTFOUND);
	assert_non_null(strstr(err_msg(), "database not found"));
	assert_null(uri);
	rq = (neon_conn_req){.database = db, .role = "nobody"};
	assert_int_equal(neon_connection_uri(f->c, id, &rq, &uri), ERR_NOTFOUND);
	assert_non_null(strstr(err_msg(), "role not found"));
	rq = (neon_conn_req){.database = db, .role = role};
	assert_int_equal(neon_connection_uri(f->c, "no-such-project", &rq, &uri), ERR_NOTFOUND);
	assert_null(uri);
}

/* ------------------------------------------------------ backup schedule */

static void on_schedule(void *arg, int rc, const json_t *schedule, const char *error)
{
	json_t **got = arg;
	assert_int_equal(rc, 0);
	assert_null(error);
	*got = json_deep_copy(schedule);
}

static void on_schedule_fail(void *arg, int rc, const json_t *schedule, const char *error)
{
	int *got = arg;
	assert_null(schedule);
	assert_non_null(error);
	*got = rc;
}

/* A new project: its id and its default branch's. */
static void new_project(fixture *f, char id[64], char br[64])
{
	neon_result r;
	assert_int_equal(neon_call(f->c, "POST", "/projects", json_pack("{s:{s:s}}", "project", "name", "bk"), true, &r), 0);
	str_copy(id, json_string_value(json_object_get(json_object_get(r.body, "project"), "id")), 64);
	str_copy(br, json_string_value(json_object_get(json_object_get(r.body, "branch"), "id")), 64);
	neon_result_release(&r);
}

/* GET and PUT of a branch's schedule through the client (and its budget):
 * set, read back, replaced, removed; a bad id refused before sending; a
 * missing branch ERR_NOTFOUND; the free plan's 422 with Neon's message. */
static void test_backup_schedule(void **state)
{
	static const char *const args[] = {"--plan", "free", NULL};
	fixture *f = *state;
	neon_stats st;
	json_t *got = NULL;
	char id[64], br[64];

	start(f, NULL);
	f->c = client(f, NULL, NULL);
	new_project(f, id, br);

	assert_int_equal(neon_backup_schedule_get(f->c, id, br, &got), 0);
	assert_int_equal(json_array_size(got), 0);
	json_decref(got);
	json_t *daily = json_pack("[{s:s,s:i,s:i}]", "frequency", "daily", "hour", 3, "retention_seconds", 604800);
	neon_client_stats(f->c, &st);
	int64_t before = st.requests;
	assert_int_equal(neon_backup_schedule_put(f->c, id, br, daily), 0);
	neon_client_stats(f->c, &st);
	/* every attempt the sim saw (a 423 while the create's operations
	 * run is waited out) went through the client's budget */
	json_int_t puts = route_calls(f, "PUT /projects/{project_id}/branches/{branch_id}/backup_schedule");
	assert_true(puts >= 1);
	assert_int_equal(st.requests, before + puts);
	neon_backup_schedule_get_submit(f->c, id, br, on_schedule, &got);
	assert_int_equal(neon_run(f->c), 0);
	assert_true(json_equal(got, daily));
	json_decref(got);
	json_decref(daily);
	json_t *none = json_array();
	assert_int_equal(neon_backup_schedule_put(f->c, id, br, none), 0);
	assert_int_equal(neon_backup_schedule_get(f->c, id, br, &got), 0);
	assert_int_equal(json_array_size(got), 0);
	json_decref(got);

	int rc = 0;
	assert_int_equal(neon_backup_schedule_get(f->c, id, "../x", &got), ERR_INVALID);
	assert_int_equal(neon_backup_schedule_put(f->c, "p x", br, none), ERR_INVALID);
	assert_int_equal(neon_backup_schedule_put(f->c, id, br, NULL), ERR_INVALID);
	neon_backup_schedule_get_submit(f->c, id, "br/x", on_schedule_fail, &rc);
	assert_int_equal(neon_run(f->c), 0);
	assert_int_equal(rc, ERR_INVALID);
	assert_int_equal(neon_backup_schedule_get(f->c, id, "br-no-such-branch", &got), ERR_NOTFOUND);
	assert_null(got);
	json_decref(none);

	/* the free plan refuses a schedule */
	neon_client_free(f->c);
	f->c = NULL;
	int wst;
	assert_int_equal(sim_stop(f->sim, &wst), 0);
	sim_free(f->sim);
	f->sim = NULL;
	start(f, args);
	f->c = client(f, NULL, NULL);
	new_project(f, id, br);
	daily = json_pack("[{s:s}]", "frequency", "hourly");
	assert_int_not_equal(neon_backup_schedule_put(f->c, id, br, daily), 0);
	assert_non_null(strstr(err_msg(), "not available on the free plan"));
	json_decref(daily);
}

/* ------------------------------------------------------------ secrets */

#define SECRET_KEY "napi_TOPSECRET_e2e_0123456789abcdef"

static void check_clean(const char *what, const char *text)
{
	if (strstr(text, SECRET_KEY) || strstr(text, "TOPSECRET"))
		fail_msg("%s holds the key: %s", what, text);
}

static void on_secret_result(void *arg, neon_result *res)
{
	(void)arg;
	check_clean("a result message", res->message);
}

static void on_secret_deep(void *arg, const char *project_id, int rc, neon_project_deep *deep,
			   const char *error)
{
	(void)arg;
	(void)project_id;
	(void)rc;
	(void)deep;
	check_clean("a deep error", error ? error : "");
}

static void test_key_never_leaks(void **state)
{
	static const char *const args[] = { "--api-key", SECRET_KEY, "--op-delay-ms", "50", NULL };
	fixture *f = *state;
	char *log_path = xasprintf("%s/neon-e2e-log-XXXXXX", getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	int fd = mkstemp(log_path);
	FILE *logf = fd >= 0 ? fdopen(fd, "w+") : NULL;
	neon_options o = NEON_OPTIONS_INIT;
	neon_client *wrong = NULL, *dead = NULL;
	neon_result r;
	neon_project_page page;
	buf text = BUF_INIT(64u << 20);
	const char *ids[1];
	char id[64], op_id[64];
	int n_lines = 0, n_reused = 0, n_writes = 0;
	const char *p;

	assert_non_null(logf);
	start(f, args);
	sim_set_key(f->sim, SECRET_KEY);
	log_setup(LOG_DEBUG, LOG_JSON, logf);
	o.max_attempts = 2;
	o.max_backoff_ms = 10;
	f->c = client(f, SECRET_KEY, &o);

	/* successes, errors, faults, a write, pages, deep, ops */
	assert_int_equal(neon_call(f->c, "GET", "/regions", NULL, false, &r), 0);
	check_clean("a result", r.message);
	neon_result_release(&r);
	assert_int_equal(neon_call(f->c, "GET", "/projects/nope-1?token=" SECRET_KEY, NULL, false, &r), 0);
	assert_int_equal(r.outcome, NEON_HTTP_ERROR);
	check_clean("a 404 result", r.message);
	neon_result_release(&r);
	assert_int_equal(neon_call(f->c, "POST", "/projects", json_pack("{s:{s:s}}", "project", "name", "s"),
				   true, &r),
			 0);
	assert_int_equal(r.outcome, NEON_OK);
	str_copy(id, json_string_value(json_object_get(json_object_get(r.body, "project"), "id")), sizeof(id));
	str_copy(op_id, json_string_value(json_object_get(json_array_get(json_object_get(r.body, "operations"), 0),
							 "id")),
		 sizeof(op_id));
	ids[0] = op_id;
	assert_int_equal(neon_ops_wait(f->c, id, ids, 1, 5000), 0);
	neon_result_release(&r);
	assert_int_equal(neon_projects_page(f->c, NULL, 10, SECRET_KEY, false, &page, &r), 0);
	neon_project_page_release(&page);
	neon_result_release(&r);
	neon_project_deep_submit(f->c, id, on_secret_deep, NULL);
	neon_project_deep_submit(f->c, "no-such-1", on_secret_deep, NULL);
	neon_submit(f->c, "GET", "/regions", NULL, false, on_secret_result, NULL);
	assert_int_equal(neon_run(f->c), 0);
	faults(f, "{\"malformed_rate\": 1}");
	assert_int_equal(neon_call(f->c, "GET", "/regions", NULL, false, &r), 0);
	assert_int_equal(r.outcome, NEON_BAD_RESPONSE);
	check_clean("a bad response", r.message);
	neon_result_release(&r);
	faults(f, "{\"malformed_rate\": 0, \"reset_after_rate\": 1, \"error_rate\": 0}");
	assert_int_equal(neon_call(f->c, "POST", "/projects", json_pack("{s:{}}", "project"), true, &r), 0);
	assert_int_equal(r.outcome, NEON_UNKNOWN_OUTCOME);
	check_clean("an unknown outcome", r.message);
	neon_result_release(&r);
	faults(f, "{\"reset_after_rate\": 0}");
	assert_int_equal(neon_ops_wait(f->c, id, ids, 1, 5000), 0);

	/* a wrong key: 401, and its message has neither key */
	o.base_url = sim_api_url(f->sim);
	o.api_key = "napi_WRONG_TOPSECRET_key";
	assert_int_equal(neon_client_new(&wrong, &o), 0);
	assert_int_equal(neon_call(wrong, "GET", "/regions", NULL, false, &r), 0);
	assert_int_equal(r.status, 401);
	check_clean("a 401", r.message);
	assert_null(strstr(r.message, "napi_WRONG"));
	neon_result_release(&r);
	neon_client_free(wrong);
	/* nothing listening: transport errors */
	o.base_url = "http://127.0.0.1:1/api/v2";
	o.api_key = SECRET_KEY;
	assert_int_equal(neon_client_new(&dead, &o), 0);
	assert_int_equal(neon_call(dead, "GET", "/regions", NULL, false, &r), 0);
	assert_int_equal(r.outcome, NEON_TRANSPORT);
	check_clean("a transport error", r.message);
	check_clean("err_msg", err_msg());
	neon_result_release(&r);
	neon_client_free(dead);
	/* a bad URL */
	o.base_url = "http://example.com/api/v2";
	assert_int_equal(neon_client_new(&dead, &o), ERR_INVALID);
	check_clean("a URL error", err_msg());

	log_setup(LOG_INFO, LOG_HUMAN, NULL);
	fflush(logf);
	assert_int_equal(buf_read_file(&text, log_path), 0);
	fclose(logf);
	unlink(log_path);
	free(log_path);
	/* one JSON object a line: reads reused connections, writes never did */
	for (p = text.data; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		json_t *line = json_loadb(p, strcspn(p, "\n"), 0, NULL);
		const char *method = json_string_value(json_object_get(line, "method"));
		const char *conns = json_string_value(json_object_get(line, "new_connections"));

		if (line && strcmp(json_string_value(json_object_get(line, "msg")), "neon request") == 0) {
			n_lines++;
			assert_non_null(method);
			assert_non_null(conns);
			if (strcmp(method, "GET") == 0 && strcmp(conns, "0") == 0)
				n_reused++;
			if (strcmp(method, "GET") != 0) {
				n_writes++;
				assert_string_equal(conns, "1");
			}
		}
		json_decref(line);
	}
	assert_true(n_lines >= 10); /* the debug log was on and written to */
	assert_true(n_reused >= 5);
	assert_true(n_writes >= 2);
	check_clean("the debug log", text.data);
	assert_null(strstr(text.data, "Bearer"));
	assert_null(strstr(text.data, "Authorization"));
	assert_null(strstr(text.data, "token="));
	buf_release(&text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_requests_and_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_not_replayed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_retry_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_waits_out_423, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_after_does_not_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_budget_under_rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_faults_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_projects_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deep_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ops_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_uri, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backup_schedule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_never_leaks, setup, teardown),
	};
	const char *sim = getenv("FLOTILLA_SIM");

	if (!sim || !*sim) {
		printf("1..0 # SKIP FLOTILLA_SIM is not set\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
