/*
 * test-sim-behaviour.c: the behaviours of flotilla-sim that clients notice
 * (docs/sim.md, "Behaviour clients notice", and sim/CONTRACT.md), one
 * cmocka test each, against real sims on loopback: 423 while operations
 * run, 409s, 404 bodies and request ids, 204 for deleting what is gone,
 * paging over 1,000 projects, 429 with Retry-After, 401, the validation
 * rules, immutable fields, the plan limit, injected faults, the
 * /__sim/stats counters, recovery after delete, scale to zero on a fast
 * clock, persistence across a restart (and no id handed out twice across
 * one), operations, and the shape of ids, hosts and regions.
 *
 * Most tests share one sim (operations take 20 ms, no rate limits) and
 * start from POST /__sim/reset, so their counts are exact; a test that
 * needs other flags starts its own. Every wait is bounded, and sleeps are
 * only as long as the behaviour under test needs. Skipped when
 * FLOTILLA_SIM is not set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/sim/e2e.h"

#define LOCKED_MESSAGE \
	"project already has running conflicting operations, scheduling of new ones is prohibited"

typedef struct fixture {
	sim_proc *sim;   /* --op-delay-ms 20 --rate-per-minute 0 */
	sim_proc *own;   /* a test's own sim, freed by test_teardown if the test failed */
	char *data_dir;  /* a --data test's directory, removed by test_teardown */
} fixture;

/* ----------------------------------------------------------- helpers */

/* An error body: {code, message, request_id} and nothing else, the
 * request id the same as the X-Request-Id header. */
static void assert_error_body(const sim_response *r)
{
	assert_non_null(r->json);
	assert_int_equal(json_object_size(r->json), 3);
	assert_true(json_is_string(json_object_get(r->json, "code")));
	assert_true(strlen(e2e_need_str(r->json, "message")) > 0);
	assert_true(r->request_id[0] != 0);
	assert_string_equal(e2e_need_str(r->json, "request_id"), r->request_id);
}

/* A project made the way a client makes one; its id into id[64]. */
static void make_project(sim_proc *s, const char *body, char id[64], char branch[64],
	char endpoint[64])
{
	json_t *o = e2e_json(s, "POST", 201, body, "/projects");

	str_copy(id, e2e_need_str(o, "project.id"), 64);
	if (branch)
		str_copy(branch, e2e_need_str(o, "branch.id"), 64);
	if (endpoint)
		str_copy(endpoint, e2e_need_str(o, "endpoints.0.id"), 64);
	json_decref(o);
}

/* ---------------------------------------------------------- fixture */

static int setup(void **state)
{
	static const char *const args[] = { "--op-delay-ms", "20", "--rate-per-minute", "0", NULL };
	fixture *f = xcalloc(1, sizeof(*f));

	if (e2e_setup_sim(&f->sim, args) < 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static void remove_data_dir(fixture *f)
{
	static const char *const names[] = { "sim.db", "sim.db-wal", "sim.db-shm", "sim.db-journal" };
	char path[4096];

	if (!f->data_dir)
		return;
	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->data_dir, names[i]);
		unlink(path);
	}
	rmdir(f->data_dir);
	free(f->data_dir);
	f->data_dir = NULL;
}

static int teardown(void **state)
{
	fixture *f = *state;
	int rc = e2e_teardown_sim(f->sim);

	sim_free(f->own);
	remove_data_dir(f);
	free(f);
	return rc;
}

/* A test's own sims are stopped by the test; a failed test leaves them to
 * this. */
static int test_teardown(void **state)
{
	fixture *f = *state;

	sim_free(f->own);
	f->own = NULL;
	remove_data_dir(f);
	return 0;
}

/* ------------------------------------------------------------- tests */

/*
 * While a project's operations run, its mutations get 423 with Neon's
 * message and change nothing; reads succeed; other projects are not
 * locked; once the operations finish the same mutation goes through.
 */
static void test_locked_while_operations_run(void **state)
{
	static const char *const args[] = { "--op-delay-ms", "400", "--rate-per-minute", "0", NULL };
	fixture *f = *state;
	sim_response r;
	char a[64], b[64];
	json_t *o;
	int64_t t0, elapsed;

	e2e_start(&f->own, args);
	t0 = mono_ms();
	o = e2e_json(f->own, "POST", 201, "{\"project\": {\"name\": \"lock-a\"}}", "/projects");
	str_copy(a, e2e_need_str(o, "project.id"), sizeof(a));
	assert_int_equal(e2e_need_len(o, "operations"), 2);
	for (size_t i = 0; i < 2; i++) {
		const char *st = json_string_value(sim_json_get(json_array_get(sim_json_get(o, "operations"), i), "status"));

		assert_true(st && (strcmp(st, "scheduling") == 0 || strcmp(st, "running") == 0));
	}
	json_decref(o);
	/* another project is not locked by a's operations */
	make_project(f->own, "{\"project\": {\"name\": \"lock-b\"}}", b, NULL, NULL);

	e2e_call(f->own, "PATCH", 423, "{\"project\": {\"name\": \"lock-a2\"}}", &r, "/projects/%s", a);
	assert_error_body(&r);
	assert_string_equal(e2e_need_str(r.json, "message"), LOCKED_MESSAGE);
	assert_string_equal(e2e_need_str(r.json, "code"), "");
	sim_response_release(&r);
	json_decref(e2e_json(f->own, "DELETE", 423, NULL, "/projects/%s", a));
	json_decref(e2e_json(f->own, "POST", 423, "{\"branch\": {\"name\": \"x\"}}", "/projects/%s/branches", a));
	/* the order of checks (docs/sim.md): 404, then 423, then the body's
	 * rules; a DELETE of something missing is 204 even now */
	json_decref(e2e_json(f->own, "PATCH", 404, "{\"project\": {\"name\": \"x\"}}", "/projects/no-such-1"));
	json_decref(e2e_json(f->own, "PATCH", 423, "{\"project\": {\"history_retention_seconds\": -1}}",
		"/projects/%s", a));
	/* refused mutations ran nothing: only the two creates count */
	assert_int_equal(e2e_stat_int(f->own, "writes_total"), 2);
	json_decref(e2e_json(f->own, "DELETE", 204, NULL, "/projects/%s/branches/br-no-such-1", a));

	/* reads succeed meanwhile, and nothing was changed */
	o = e2e_json(f->own, "GET", 200, NULL, "/projects/%s", a);
	assert_string_equal(e2e_need_str(o, "project.name"), "lock-a");
	json_decref(o);
	o = e2e_json(f->own, "GET", 200, NULL, "/projects/%s/branches", a);
	assert_int_equal(e2e_need_len(o, "branches"), 1);
	json_decref(o);
	json_decref(e2e_json(f->own, "GET", 200, NULL, "/projects/%s/endpoints", a));
	elapsed = mono_ms() - t0;
	if (elapsed >= 400)
		fail_msg("the locked window was missed: %lld ms passed", (long long)elapsed);

	e2e_wait_ops(f->own, a);
	/* the operations took --op-delay-ms, give or take the create's own time */
	assert_true(mono_ms() - t0 >= 350);
	o = e2e_json(f->own, "PATCH", 200, "{\"project\": {\"name\": \"lock-a2\"}}", "/projects/%s", a);
	assert_string_equal(e2e_need_str(o, "project.name"), "lock-a2");
	json_decref(o);

	assert_int_equal(e2e_stat_int(f->own, "requests.PATCH /projects/{project_id}.423"), 2);
	assert_int_equal(e2e_stat_int(f->own, "requests.PATCH /projects/{project_id}.200"), 1);
	assert_int_equal(e2e_stat_int(f->own, "requests.DELETE /projects/{project_id}.423"), 1);
	assert_int_equal(e2e_stat_int(f->own, "projects"), 2);
	e2e_stop(&f->own);
}

static void expect_409(sim_proc *s, const char *body, const char *fmt, const char *p,
	const char *b)
{
	sim_response r;

	e2e_call(s, "POST", 409, body, &r, fmt, p, b);
	assert_error_body(&r);
	sim_response_release(&r);
}

static void test_conflicts(void **state)
{
	fixture *f = *state;
	char p[64], main_br[64], dev[64], body[256];
	json_t *o;

	e2e_reset(f->sim);
	make_project(f->sim, "{\"project\": {\"name\": \"conflicts\"}}", p, main_br, NULL);
	e2e_wait_ops(f->sim, p);
	o = e2e_json(f->sim, "POST", 201, "{\"branch\": {\"name\": \"dev\"}}", "/projects/%s/branches", p);
	str_copy(dev, e2e_need_str(o, "branch.id"), sizeof(dev));
	assert_int_equal(e2e_need_len(o, "endpoints"), 0);
	json_decref(o);
	e2e_wait_ops(f->sim, p);

	/* a branch name taken, by a new branch and by the default one */
	expect_409(f->sim, "{\"branch\": {\"name\": \"dev\"}}", "/projects/%s/branches%s", p, "");
	expect_409(f->sim, "{\"branch\": {\"name\": \"main\"}}", "/projects/%s/branches%s", p, "");
	o = e2e_json(f->sim, "GET", 200, NULL, "/projects/%s/branches", p);
	assert_int_equal(e2e_need_len(o, "branches"), 2);
	json_decref(o);

	expect_409(f->sim, "{\"database\": {\"name\": \"neondb\", \"owner_name\": \"neondb_owner\"}}",
		"/projects/%s/branches/%s/databases", p, main_br);
	o = e2e_json(f->sim, "GET", 200, NULL, "/projects/%s/branches/%s/databases", p, main_br);
	assert_int_equal(e2e_need_len(o, "databases"), 1);
	json_decref(o);

	expect_409(f->sim, "{\"role\": {\"name\": \"neondb_owner\"}}",
		"/projects/%s/branches/%s/roles", p, main_br);
	o = e2e_json(f->sim, "GET", 200, NULL, "/projects/%s/branches/%s/roles", p, main_br);
	assert_int_equal(e2e_need_len(o, "roles"), 1);
	json_decref(o);

	/* one read_write endpoint per branch; read_only ones are not limited */
	snprintf(body, sizeof(body), "{\"endpoint\": {\"branch_id\": \"%s\", \"type\": \"read_write\"}}",
		main_br);
	expect_409(f->sim, body, "/projects/%s/endpoints%s", p, "");
	snprintf(body, sizeof(body), "{\"endpoint\": {\"branch_id\": \"%s\", \"type\": \"read_write\"}}",
		dev);
	json_decref(e2e_json(f->sim, "POST", 201, body, "/projects/%s/endpoints", p));
	e2e_wait_ops(f->sim, p);
	expect_409(f->sim, body, "/projects/%s/endpoints%s", p, "");
	snprintf(body, sizeof(body), "{\"endpoint\": {\"branch_id\": \"%s\", \"type\": \"read_only\"}}",
		dev);
	json_decref(e2e_json(f->sim, "POST", 201, body, "/projects/%s/endpoints", p));
	o = e2e_json(f->sim, "GET", 200, NULL, "/projects/%s/endpoints", p);
	assert_int_equal(e2e_need_len(o, "endpoints"), 3);
	json_decref(o);
	assert_int_equal(e2e_stat_int(f->sim, "requests.POST /projects/{project_id}/endpoints.409"), 2);
	assert_int_equal(e2e_stat_int(f->sim, "requests.POST /projects/{project_id}/branches.409"), 2);
}

static void expect_404(sim_proc *s, const char *path, const char *message)
{
	sim_response r;

	e2e_call(s, "GET", 404, NULL, &r, "%s", path);
	assert_error_body(&r);
	assert_string_equal(e2e_need_str(r.json, "code"), "");
	if (message)
		assert_string_equal(e2e_need_str(r.json, "message"), message);
	else
		assert_non_null(strstr(e2e_need_str(r.json, "message"), "not found"));
	sim_response_release(&r);
}

static void test_not_found_and_request_ids(void **state)
{
	fixture *f = *state;
	char p[64], br[64], path[512], first[128];
	sim_response r;

	e2e_reset(f->sim);
	make_project(f->sim, "{\"project\": {\"name\": \"nf\"}}", p, br, NULL);
	e2e_wait_ops(f->sim, p);
	expect_404(f->sim, "/projects/no-such-project-1", NULL);
	snprintf(path, sizeof(path), "/projects/%s/branches/br-no-such-1", p);
	expect_404(f->sim, path, "branch not found");
	snprintf(path, sizeof(path), "/projects/%s/endpoints/ep-no-such-1", p);
	expect_404(f->sim, path, NULL);
	snprintf(path, sizeof(path), "/projects/%s/branches/%s/databases/nodb", p, br);
	expect_404(f->sim, path, NULL);
	snprintf(path, sizeof(path), "/projects/%s/branches/%s/roles/norole", p, br);
	expect_404(f->sim, path, NULL);
	snprintf(path, sizeof(path), "/projects/%s/operations/00000000-0000-4000-8000-000000000000", p);
	expect_404(f->sim, path, NULL);

	/* without a client id each answer gets its own */
	e2e_call(f->sim, "GET", 404, NULL, &r, "/projects/no-such-project-2");
	str_copy(first, r.request_id, sizeof(first));
	sim_response_release(&r);
	e2e_call(f->sim, "GET", 404, NULL, &r, "/projects/no-such-project-2");
	assert_true(first[0] != 0 && r.request_id[0] != 0);
	assert_string_not_equal(first, r.request_id);
	sim_response_release(&r);

	/* a client's id is echoed, in the header and in error bodies */
	sim_set_request_id(f->sim, "e2e-req-4c1d");
	e2e_call(f->sim, "GET", 404, NULL, &r, "/projects/no-such-project-3");
	assert_string_equal(r.request_id, "e2e-req-4c1d");
	assert_string_equal(e2e_need_str(r.json, "request_id"), "e2e-req-4c1d");
	sim_response_release(&r);
	e2e_call(f->sim, "GET", 200, NULL, &r, "/projects/%s", p);
	assert_string_equal(r.request_id, "e2e-req-4c1d");
	sim_response_release(&r);
	e2e_call(f->sim, "POST", 201, "{\"project\": {\"name\": \"nf-2\"}}", &r, "/projects");
	assert_string_equal(r.request_id, "e2e-req-4c1d");
	sim_response_release(&r);
	sim_set_request_id(f->sim, NULL);
}

static void test_delete_missing_is_204(void **state)
{
	fixture *f = *state;
	char p[64], br[64];
	sim_response r;
	json_t *o;
	size_t nops;
	json_int_t writes;
	static const char *const paths[] = {
		"/projects/%s/branches/br-no-such-1%s",
		"/projects/%s/endpoints/ep-no-such-1%s",
		"/projects/%s/branches/%s/databases/nodb",
		"/projects/%s/branches/%s/roles/norole",
	};

	e2e_reset(f->sim);
	make_project(f->sim, "{\"project\": {\"name\": \"del\"}}", p, br, NULL);
	e2e_wait_ops(f->sim, p);
	o = e2e_json(f->sim, "GET", 200, NULL, "/projects/%s/operations?limit=1000", p);
	nops = e2e_need_len(o, "operations");
	json_decref(o);
	writes = e2e_stat_int(f->sim, "writes_total");
	assert_int_equal(writes, 1);
	for (size_t i = 0; i < ARRAY_LEN(paths); i++) {
		e2e_call(f->sim, "DELETE", 204, NULL, &r, paths[i], p, i < 2 ? "" : br);
		assert_int_equal(r.body.len, 0);
		assert_null(r.json);
		sim_response_release(&r);
	}
	/* nothing ran: no write counted, no new operations, and what exists
	 * is still there */
	if (e2e_stat_int(f->sim, "writes_total") != writes)
		fail_msg("writes_total went from %lld to %lld: DELETEs that found nothing (204) "
			"counted as mutations executed", (long long)writes,
			(long long)e2e_stat_int(f->sim, "writes_total"));
	o = e2e_json(f->sim, "GET", 200, NULL, "/projects/%s/operations?limit=1000", p);
	assert_int_equal(e2e_need_len(o, "operations"), nops);
	json_decref(o);
	o = e2e_json(f->sim, "GET", 200, NULL, "/projects/%s/branches/%s/databases", p, br);
	assert_int_equal(e2e_need_len(o, "databases"), 1);
	json_decref(o);
}

/* Page through every project with `limit`, the way neonctl does: pass the
 * cursor on, stop on a short page. Each of the 1,000 must be seen once. */
static int cmp_str64(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void page_all(sim_proc *s, int limit, int want_pages)
{
	bool seen[1000];
	static char ids[1000][64];
	char cursor[64] = "";
	int pages = 0, total = 0;

	memset(seen, 0, sizeof(seen));
	for (;;) {
		json_t *o, *arr, *it;
		size_t i, n;

		if (++pages > 1100 / limit + 2)
			fail_msg("limit %d: more pages than 1,000 projects need", limit);
		if (cursor[0])
			o = e2e_json(s, "GET", 200, NULL, "/projects?limit=%d&cursor=%s", limit, cursor);
		else
			o = e2e_json(s, "GET", 200, NULL, "/projects?limit=%d", limit);
		arr = sim_json_get(o, "projects");
		n = json_array_size(arr);
		assert_true(n <= (size_t)limit);
		json_array_foreach(arr, i, it) {
			const char *name = e2e_need_str(it, "name"), *id = e2e_need_str(it, "id");
			char *end;
			unsigned long k;

			if (!str_has_prefix(name, "page-"))
				fail_msg("unexpected project '%s'", name);
			k = strtoul(name + 5, &end, 10);
			assert_true(*end == 0 && k < 1000);
			if (seen[k])
				fail_msg("limit %d: '%s' seen twice (page %d)", limit, name, pages);
			seen[k] = true;
			str_copy(ids[total], id, sizeof(ids[total]));
			total++;
		}
		/* the cursor is set on every page, the last one too */
		str_copy(cursor, e2e_need_str(o, "pagination.cursor"), sizeof(cursor));
		assert_true(cursor[0] != 0);
		json_decref(o);
		if (n < (size_t)limit)
			break;
	}
	assert_int_equal(total, 1000);
	assert_int_equal(pages, want_pages);
	for (int k = 0; k < 1000; k++)
		if (!seen[k])
			fail_msg("limit %d: page-%d never seen", limit, k);
	/* and 1,000 different ids */
	qsort(ids, 1000, sizeof(ids[0]), cmp_str64);
	for (int k = 1; k < 1000; k++)
		if (strcmp(ids[k - 1], ids[k]) == 0)
			fail_msg("limit %d: id '%s' seen twice", limit, ids[k]);
}

static void test_pagination(void **state)
{
	fixture *f = *state;
	json_t *o;

	e2e_reset(f->sim);
	o = e2e_json(f->sim, "POST", 200, "{\"count\": 1000, \"name_prefix\": \"page-\"}", "/__sim/populate");
	assert_int_equal(e2e_need_int(o, "created"), 1000);
	json_decref(o);
	assert_int_equal(e2e_stat_int(f->sim, "projects"), 1000);
	/* 142 full pages of 7, then 6 */
	page_all(f->sim, 7, 143);
	/* 400, 400, then 200 */
	page_all(f->sim, 400, 3);
	o = e2e_json(f->sim, "GET", 200, NULL, "/projects");
	assert_int_equal(e2e_need_len(o, "projects"), 10);
	json_decref(o);
	json_decref(e2e_json(f->sim, "GET", 400, NULL, "/projects?limit=401"));
	json_decref(e2e_json(f->sim, "GET", 400, NULL, "/projects?limit=0"));
}

/* Fire `path` with the current key until a 429; the count of 2xx/4xx
 * answers before it goes to *ok. */
static void until_429(sim_proc *s, const char *const *paths, size_t npaths, int max,
	sim_response *r, int *ok)
{
	*ok = 0;
	for (int i = 0; i < max; i++) {
		char *full = xasprintf("/api/v2%s", paths[(size_t)i % npaths]);

		if (sim_request(s, "GET", full, NULL, r) != 0)
			fail_msg("GET %s: %s", full, err_msg());
		free(full);
		if (r->status == 429)
			return;
		assert_true(r->status == 200 || r->status == 404 || r->status == 400);
		sim_response_release(r);
		(*ok)++;
	}
	fail_msg("no 429 in %d requests", max);
}

static void assert_429(sim_proc *s, const sim_response *r)
{
	assert_int_equal(r->status, 429);
	assert_error_body(r);
	assert_true(r->retry_after[0] != 0);
	assert_true(r->retry_after_s >= 1);
	(void)s;
}

/*
 * --rate-per-minute 30 --burst-per-route 5, two keys: a burst on one route
 * hits the per-route limit; spreading requests over many routes empties
 * the minute's bucket instead (a route used less than 5 times in the
 * second is refused too); the other key is not affected; after
 * Retry-After seconds a request goes through.
 */
static void test_rate_limits(void **state)
{
	static const char *const args[] = { "--rate-per-minute", "30", "--burst-per-route", "5",
		"--api-key", "key-a", "--api-key", "key-b", NULL };
	static const char *const one[] = { "/regions" };
	static const char *const many[] = { "/users/me", "/projects", "/projects/shared",
		"/projects/no-such-1", "/projects/no-such-1/branches", "/projects/no-such-1/endpoints",
		"/projects/no-such-1/operations", "/regions" };
	fixture *f = *state;
	sim_response r;
	int ok;
	long wait_s;

	e2e_start(&f->own, args);
	sim_set_key(f->own, "key-a");

	/* per route: 5 in a second (10 at most if the burst straddles two) */
	until_429(f->own, one, 1, 12, &r, &ok);
	assert_true(ok >= 5 && ok <= 10);
	assert_429(f->own, &r);
	wait_s = r.retry_after_s;
	assert_int_equal(wait_s, 1);
	sim_response_release(&r);
	assert_int_equal(e2e_stat_int(f->own, "requests.GET /regions.429"), 1);
	assert_int_equal(e2e_stat_int(f->own, "rate_limited"), 1);
	sim_sleep_ms(wait_s * 1000);
	json_decref(e2e_json(f->own, "GET", 200, NULL, "/regions"));

	/* per minute: what is left of the 30 goes over eight routes, at most
	 * four each per second, so no route reaches its burst */
	until_429(f->own, many, ARRAY_LEN(many), 40, &r, &ok);
	assert_true(ok >= 18 && ok <= 26);
	assert_429(f->own, &r);
	/* one token per 2 s at 30 a minute */
	wait_s = r.retry_after_s;
	assert_true(wait_s >= 1 && wait_s <= 2);
	sim_response_release(&r);
	e2e_call(f->own, "GET", 429, NULL, &r, "/projects/no-such-2/branches/br-x/roles");
	sim_response_release(&r);

	/* limits are per key */
	sim_set_key(f->own, "key-b");
	json_decref(e2e_json(f->own, "GET", 200, NULL, "/users/me"));
	sim_set_key(f->own, "key-a");

	sim_sleep_ms(wait_s * 1000);
	json_decref(e2e_json(f->own, "GET", 200, NULL, "/users/me"));
	assert_true(e2e_stat_int(f->own, "rate_limited") >= 3);
	e2e_stop(&f->own);
}

/* --rate-per-minute 0: no limit at all, not even the per-route burst. */
static void test_no_rate_limit_when_zero(void **state)
{
	fixture *f = *state;
	sim_response r;

	e2e_reset(f->sim);
	for (int i = 0; i < 200; i++) {
		assert_int_equal(sim_request(f->sim, "GET", "/api/v2/regions", NULL, &r), 0);
		if (r.status != 200)
			fail_msg("request %d: status %ld: %s", i, r.status, r.body.data);
		sim_response_release(&r);
	}
	assert_int_equal(e2e_stat_int(f->sim, "requests.GET /regions.200"), 200);
	assert_int_equal(e2e_stat_int(f->sim, "rate_limited"), 0);
}

static void test_auth(void **state)
{
	fixture *f = *state;
	sim_response r;

	e2e_reset(f->sim);
	sim_set_key(f->sim, NULL);
	e2e_call(f->sim, "GET", 401, NULL, &r, "/projects");
	assert_error_body(&r);
	sim_response_release(&r);
	sim_set_key(f->sim, "sim-key-wrong");
	e2e_call(f->sim, "GET", 401, NULL, &r, "/projects");
	assert_error_body(&r);
	sim_response_release(&r);
	e2e_call(f->sim, "POST", 401, "{\"project\": {\"name\": \"nope\"}}", &r, "/projects");
	assert_error_body(&r);
	sim_response_release(&r);
	sim_set_key(f->sim, SIM_DEFAULT_KEY);
	assert_int_equal(e2e_stat_int(f->sim, "projects"), 0);
	assert_int_equal(e2e_stat_int(f->sim, "writes_total"), 0);
	assert_int_equal(e2e_stat_int(f->sim, "requests.GET /projects.401"), 2);
	assert_int_equal(e2e_stat_int(f->sim, "requests.POST /projects.401"), 1);
	json_decref(e2e_json(f->sim, "GET", 200, NULL, "/projects"));
}

static void expect_400(sim_proc *s, const char *method, const char *body, const char *words,
	const char *path)
{
	sim_response r;

	e2e_call(s, method, 400, body, &r, "%s", path);
	assert_error_body(&r);
	if (!strstr(e2e_need_str(r.json, "message"), words))
		fail_msg("%s: message '%s' does not name '%s'", body, e2e_need_str(r.json, "message"), words);
	sim_response_release(&r);
}

static void test_validation(void **state)
{
	static const struct {
		const char *body, *words;
	} bad[] = {
		{ "{\"project\": {\"default_endpoint_settings\": {\"autoscaling_limit_min_cu\": 0.1}}}",
		  "autoscaling_limit_min_cu" },
		{ "{\"project\": {\"default_endpoint_settings\": {\"autoscaling_limit_min_cu\": 0.3,"
		  " \"autoscaling_limit_max_cu\": 1}}}", "0.25" },
		{ "{\"project\": {\"default_endpoint_settings\": {\"autoscaling_limit_min_cu\": 1,"
		  " \"autoscaling_limit_max_cu\": 0.5}}}", "autoscaling_limit_max_cu" },
		{ "{\"project\": {\"default_endpoint_settings\": {\"autoscaling_limit_min_cu\": 0.25,"
		  " \"autoscaling_limit_max_cu\": 8.5}}}", "8" },
		{ "{\"project\": {\"default_endpoint_settings\": {\"autoscaling_limit_min_cu\": 10,"
		  " \"autoscaling_limit_max_cu\": 17}}}", "16" },
		{ "{\"project\": {\"default_endpoint_settings\": {\"suspend_timeout_seconds\": 30}}}",
		  "suspend_timeout_seconds" },
		{ "{\"project\": {\"default_endpoint_settings\": {\"suspend_timeout_seconds\": 604801}}}",
		  "suspend_timeout_seconds" },
		{ "{\"project\": {\"pg_version\": 13}}", "pg_version" },
		{ "{\"project\": {\"pg_version\": 19}}", "pg_version" },
		{ "{\"project\": {\"history_retention_seconds\": 2592001}}", "history_retention_seconds" },
		{ "{\"project\": {\"history_retention_seconds\": -1}}", "history_retention_seconds" },
		{ "{\"project\": {\"settings\": {\"quota\": {\"active_time_seconds\": -1}}}}", "quota" },
		{ "{\"project\": {\"settings\": {\"quota\": {\"logical_size_bytes\": -5}}}}", "quota" },
		{ "{\"project\": {\"default_endpoint_settings\": {\"autoscaling_limit_min_cu\": 57,"
		  " \"autoscaling_limit_max_cu\": 57}}}", "56" },
		{ "{\"project\": {\"region_id\": \"aws-mars-1\"}}", "aws-mars-1" },
	};
	fixture *f = *state;
	char p[64], br[64], ep[64], path[256], body[256];
	json_t *o;

	e2e_reset(f->sim);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		expect_400(f->sim, "POST", bad[i].body, bad[i].words, "/projects");
	assert_int_equal(e2e_stat_int(f->sim, "projects"), 0);
	assert_int_equal(e2e_stat_int(f->sim, "writes_total"), 0);

	/* the edges themselves are allowed */
	o = e2e_json(f->sim, "POST", 201, "{\"project\": {\"name\": \"edges\", \"pg_version\": 14,"
		" \"history_retention_seconds\": 2592000,"
		" \"default_endpoint_settings\": {\"autoscaling_limit_min_cu\": 0.25,"
		"   \"autoscaling_limit_max_cu\": 8.25, \"suspend_timeout_seconds\": 60},"
		" \"settings\": {\"quota\": {\"active_time_seconds\": 0}}}}", "/projects");
	assert_int_equal(e2e_need_int(o, "project.pg_version"), 14);
	assert_int_equal(e2e_need_int(o, "project.history_retention_seconds"), 2592000);
	assert_true(json_number_value(sim_json_get(o, "endpoints.0.autoscaling_limit_max_cu")) == 8.25);
	assert_int_equal(e2e_need_int(o, "endpoints.0.suspend_timeout_seconds"), 60);
	str_copy(p, e2e_need_str(o, "project.id"), sizeof(p));
	str_copy(br, e2e_need_str(o, "branch.id"), sizeof(br));
	str_copy(ep, e2e_need_str(o, "endpoints.0.id"), sizeof(ep));
	json_decref(o);
	o = e2e_json(f->sim, "POST", 201, "{\"project\": {\"pg_version\": 18, \"history_retention_seconds\": 0,"
		" \"default_endpoint_settings\": {\"suspend_timeout_seconds\": -1,"
		"   \"autoscaling_limit_min_cu\": 56, \"autoscaling_limit_max_cu\": 56}}}", "/projects");
	assert_int_equal(e2e_need_int(o, "project.pg_version"), 18);
	json_decref(o);

	/* logical replication, once on, stays on */
	e2e_wait_ops(f->sim, p);
	json_decref(e2e_json(f->sim, "PATCH", 200, "{\"project\": {\"settings\": {\"enable_logical_replication\": true}}}",
		"/projects/%s", p));
	e2e_wait_ops(f->sim, p);
	snprintf(path, sizeof(path), "/projects/%s", p);
	expect_400(f->sim, "PATCH", "{\"project\": {\"settings\": {\"enable_logical_replication\": false}}}",
		"logical replication", path);
	o = e2e_json(f->sim, "GET", 200, NULL, "/projects/%s", p);
	assert_true(json_is_true(sim_json_get(o, "project.settings.enable_logical_replication")));
	json_decref(o);

	/* the same rules on an endpoint */
	snprintf(path, sizeof(path), "/projects/%s/endpoints/%s", p, ep);
	expect_400(f->sim, "PATCH", "{\"endpoint\": {\"autoscaling_limit_min_cu\": 0.1}}",
		"autoscaling_limit_min_cu", path);
	expect_400(f->sim, "PATCH", "{\"endpoint\": {\"suspend_timeout_seconds\": 30}}",
		"suspend_timeout_seconds", path);
	snprintf(path, sizeof(path), "/projects/%s/endpoints", p);
	snprintf(body, sizeof(body), "{\"endpoint\": {\"branch_id\": \"%s\", \"type\": \"read_only\","
		" \"autoscaling_limit_min_cu\": 2, \"autoscaling_limit_max_cu\": 1}}", br);
	expect_400(f->sim, "POST", body, "autoscaling_limit_max_cu", path);
	o = e2e_json(f->sim, "GET", 200, NULL, "/projects/%s/endpoints/%s", p, ep);
	assert_int_equal(e2e_need_int(o, "endpoint.suspend_timeout_seconds"), 60);
	json_decref(o);
	assert_int_equal(e2e_stat_int(f->sim, "writes_total"), 3);
}

/* PATCH /projects takes only what ProjectUpdateRequest lists: region,
 * pg_version, org_id and store_passwords sent along change nothing. */
static void test_patch_ignores_immutable_fields(void **state)
{
	fixture *f = *state;
	char p[64];
	json_t *o;

	e2e_reset(f->sim);
	make_project(f->sim, "{\"project\": {\"name\": \"imm\", \"region_id\": \"aws-eu-central-1\","
		" \"pg_version\": 16, \"org_id\": \"org-e2e-1\", \"store_passwords\": true}}", p, NULL, NULL);
	e2e_wait_ops(f->sim, p);
	o = e2e_json(f->sim, "PATCH", 200, "{\"project\": {\"name\": \"imm2\", \"region_id\": \"aws-us-west-2\","
		" \"pg_version\": 15, \"org_id\": \"org-other\", \"store_passwords\": false}}",
		"/projects/%s", p);
	assert_string_equal(e2e_need_str(o, "project.name"), "imm2");
	assert_string_equal(e2e_need_str(o, "project.region_id"), "aws-eu-central-1");
	assert_int_equal(e2e_need_int(o, "project.pg_version"), 16);
	json_decref(o);
	o = e2e_json(f->sim, "GET", 200, NULL, "/projects/%s", p);
	assert_string_equal(e2e_need_str(o, "project.name"), "imm2");
	assert_string_equal(e2e_need_str(o, "project.region_id"), "aws-eu-central-1");
	assert_string_equal(e2e_need_str(o, "project.platform_id"), "aws");
	assert_int_equal(e2e_need_int(o, "project.pg_version"), 16);
	assert_string_equal(e2e_need_str(o, "project.org_id"), "org-e2e-1");
	assert_true(json_is_true(sim_json_get(o, "project.store_passwords")));
	json_decref(o);
	/* the org is still the one to filter by */
	o = e2e_json(f->sim, "GET", 200, NULL, "/projects?org_id=org-e2e-1");
	assert_int_equal(e2e_need_len(o, "projects"), 1);
	json_decref(o);
	o = e2e_json(f->sim, "GET", 200, NULL, "/projects?org_id=org-other");
	assert_int_equal(e2e_need_len(o, "projects"), 0);
	json_decref(o);
}

static void test_max_projects(void **state)
{
	static const char *const args[] = { "--max-projects", "2", "--op-delay-ms", "20",
		"--rate-per-minute", "0", NULL };
	fixture *f = *state;
	sim_response r;
	char a[64], b[64];

	e2e_start(&f->own, args);
	make_project(f->own, "{\"project\": {\"name\": \"one\"}}", a, NULL, NULL);
	make_project(f->own, "{\"project\": {\"name\": \"two\"}}", b, NULL, NULL);
	e2e_call(f->own, "POST", 422, "{\"project\": {\"name\": \"three\"}}", &r, "/projects");
	assert_error_body(&r);
	assert_string_equal(e2e_need_str(r.json, "code"), "PROJECTS_LIMIT_EXCEEDED");
	assert_string_equal(e2e_need_str(r.json, "message"), "user projects limit of 2 exceeded, got 2");
	sim_response_release(&r);
	assert_int_equal(e2e_stat_int(f->own, "projects"), 2);
	assert_int_equal(e2e_stat_int(f->own, "writes_total"), 2);
	e2e_stop(&f->own);
}

/* Projects named `name` that GET /projects lists (faults off). */
static size_t count_named(sim_proc *s, const char *name)
{
	json_t *o = e2e_json(s, "GET", 200, NULL, "/projects?search=%s&limit=400", name);
	size_t n = 0, i;
	json_t *it;

	json_array_foreach(sim_json_get(o, "projects"), i, it)
		if (strcmp(e2e_need_str(it, "name"), name) == 0)
			n++;
	json_decref(o);
	return n;
}

static void test_faults(void **state)
{
	fixture *f = *state;
	sim_response r;
	char p[64];
	json_t *o;
	int64_t t0;

	e2e_reset(f->sim);

	/* error_rate: a 503 before anything ran, for reads and writes */
	e2e_set_faults(f->sim, "{\"seed\": 7, \"error_rate\": 1}");
	e2e_call(f->sim, "POST", 503, "{\"project\": {\"name\": \"f-error\"}}", &r, "/projects");
	assert_error_body(&r);
	sim_response_release(&r);
	json_decref(e2e_json(f->sim, "GET", 503, NULL, "/projects"));
	e2e_set_faults(f->sim, "{\"error_rate\": 0}");
	assert_int_equal(e2e_stat_int(f->sim, "writes_total"), 0);
	assert_int_equal(e2e_stat_int(f->sim, "projects"), 0);
	assert_int_equal(count_named(f->sim, "f-error"), 0);

	/* error_after_rate: the create ran, then a 500 */
	e2e_set_faults(f->sim, "{\"seed\": 7, \"error_after_rate\": 1}");
	e2e_call(f->sim, "POST", 500, "{\"project\": {\"name\": \"f-after\"}}", &r, "/projects");
	assert_error_body(&r);
	sim_response_release(&r);
	e2e_set_faults(f->sim, "{\"error_after_rate\": 0}");
	assert_int_equal(e2e_stat_int(f->sim, "writes_total"), 1);
	assert_int_equal(e2e_stat_int(f->sim, "projects"), 1);
	assert_int_equal(count_named(f->sim, "f-after"), 1);

	/* reset_rate: the connection closes with no answer, nothing ran. With
	 * keep-alive libcurl would resend the POST on a new connection. */
	sim_set_keepalive(f->sim, false);
	e2e_set_faults(f->sim, "{\"seed\": 7, \"reset_rate\": 1}");
	assert_int_equal(sim_request(f->sim, "POST", "/api/v2/projects",
		"{\"project\": {\"name\": \"f-reset\"}}", &r), ERR_IO);
	assert_int_equal(r.status, 0);
	assert_true(r.curl_code != 0);
	sim_response_release(&r);
	e2e_set_faults(f->sim, "{\"reset_rate\": 0}");
	assert_int_equal(e2e_stat_int(f->sim, "writes_total"), 1);
	assert_int_equal(count_named(f->sim, "f-reset"), 0);

	/* reset_after_rate: no answer either, but the create ran */
	e2e_set_faults(f->sim, "{\"seed\": 7, \"reset_after_rate\": 1}");
	assert_int_equal(sim_request(f->sim, "POST", "/api/v2/projects",
		"{\"project\": {\"name\": \"f-reset-after\"}}", &r), ERR_IO);
	assert_int_equal(r.status, 0);
	sim_response_release(&r);
	e2e_set_faults(f->sim, "{\"reset_after_rate\": 0}");
	sim_set_keepalive(f->sim, true);
	assert_int_equal(e2e_stat_int(f->sim, "writes_total"), 2);
	assert_int_equal(count_named(f->sim, "f-reset-after"), 1);

	/* malformed_rate: a 200 whose JSON is cut short */
	e2e_set_faults(f->sim, "{\"seed\": 7, \"malformed_rate\": 1}");
	assert_int_equal(sim_request(f->sim, "GET", "/api/v2/projects", NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_true(r.body.len > 0);
	assert_null(r.json);
	assert_true(r.json_error[0] != 0);
	sim_response_release(&r);
	e2e_set_faults(f->sim, "{\"malformed_rate\": 0}");

	/* latency_ms: at least that long (no upper bound: machines vary) */
	e2e_set_faults(f->sim, "{\"seed\": 7, \"latency_ms\": 200}");
	t0 = mono_ms();
	json_decref(e2e_json(f->sim, "GET", 200, NULL, "/regions"));
	assert_true(mono_ms() - t0 >= 200);
	e2e_set_faults(f->sim, "{\"latency_ms\": 0}");

	/* lock_rate: 423 on mutations, reads unaffected */
	o = e2e_json(f->sim, "GET", 200, NULL, "/projects?search=f-after");
	str_copy(p, e2e_need_str(o, "projects.0.id"), sizeof(p));
	json_decref(o);
	e2e_wait_ops(f->sim, p);
	e2e_set_faults(f->sim, "{\"seed\": 7, \"lock_rate\": 1}");
	e2e_call(f->sim, "PATCH", 423, "{\"project\": {\"name\": \"f-locked\"}}", &r, "/projects/%s", p);
	assert_error_body(&r);
	assert_string_equal(e2e_need_str(r.json, "message"), LOCKED_MESSAGE);
	sim_response_release(&r);
	json_decref(e2e_json(f->sim, "POST", 423, "{\"project\": {\"name\": \"f-locked\"}}", "/projects"));
	o = e2e_json(f->sim, "GET", 200, NULL, "/projects/%s", p);
	assert_string_equal(e2e_need_str(o, "project.name"), "f-after");
	json_decref(o);
	json_decref(e2e_json(f->sim, "GET", 200, NULL, "/projects"));
	e2e_set_faults(f->sim, "{\"lock_rate\": 0}");
	assert_int_equal(e2e_stat_int(f->sim, "writes_total"), 2);

	/* /__sim is never faulted, whatever the settings */
	e2e_set_faults(f->sim, "{\"seed\": 9, \"error_rate\": 1, \"reset_rate\": 1, \"malformed_rate\": 1,"
		" \"lock_rate\": 1, \"error_after_rate\": 1, \"latency_ms\": 1000}");
	t0 = mono_ms();
	o = e2e_json(f->sim, "GET", 200, NULL, "/__sim/health");
	assert_true(json_is_true(sim_json_get(o, "ok")));
	json_decref(o);
	json_decref(e2e_json(f->sim, "POST", 200, "{\"count\": 1, \"name_prefix\": \"f-pop-\"}", "/__sim/populate"));
	json_decref(e2e_stats(f->sim));
	o = e2e_json(f->sim, "GET", 200, NULL, "/__sim/faults");
	assert_true(json_number_value(sim_json_get(o, "error_rate")) == 1.0);
	assert_true(json_number_value(sim_json_get(o, "reset_rate")) == 1.0);
	assert_int_equal(e2e_need_int(o, "latency_ms"), 1000);
	assert_int_equal(e2e_need_int(o, "seed"), 9);
	json_decref(o);
	assert_true(mono_ms() - t0 < 1000);
	assert_int_equal(e2e_stat_int(f->sim, "projects"), 3);
	/* reset clears the faults too */
	e2e_reset(f->sim);
	o = e2e_json(f->sim, "GET", 200, NULL, "/__sim/faults");
	assert_true(json_number_value(sim_json_get(o, "error_rate")) == 0);
	assert_int_equal(e2e_need_int(o, "latency_ms"), 0);
	json_decref(o);
}

/* Parse `text` as the expected value of a stats member; equal or fail. */
static void assert_json(json_t *st, const char *path, const char *text)
{
	json_error_t e;
	json_t *want = json_loads(text, 0, &e);
	json_t *got = sim_json_get(st, path);

	assert_non_null(want);
	if (!json_equal(want, got)) {
		char *g = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

		fail_msg("stats %s: %s, want %s", path, g ? g : "(absent)", text);
	}
	json_decref(want);
}

static void test_stats(void **state)
{
	fixture *f = *state;
	sim_response r;
	json_t *st;
	char id[64];

	e2e_reset(f->sim);
	for (int i = 0; i < 3; i++)
		json_decref(e2e_json(f->sim, "GET", 200, NULL, "/projects"));
	for (int i = 0; i < 2; i++)
		json_decref(e2e_json(f->sim, "GET", 404, NULL, "/projects/no-such-project-%d", i));
	make_project(f->sim, "{\"project\": {\"name\": \"twin\"}}", id, NULL, NULL);
	make_project(f->sim, "{\"project\": {\"name\": \"twin\"}}", id, NULL, NULL);
	make_project(f->sim, "{\"project\": {\"name\": \"solo\"}}", id, NULL, NULL);
	sim_set_key(f->sim, NULL);
	e2e_call(f->sim, "GET", 401, NULL, &r, "/projects");
	sim_response_release(&r);
	sim_set_key(f->sim, SIM_DEFAULT_KEY);

	st = e2e_stats(f->sim);
	assert_json(st, "requests", "{\"GET /projects\": {\"200\": 3, \"401\": 1},"
		" \"GET /projects/{project_id}\": {\"404\": 2}, \"POST /projects\": {\"201\": 3}}");
	assert_int_equal(e2e_need_int(st, "requests_total"), 9);
	assert_int_equal(e2e_need_int(st, "writes_total"), 3);
	assert_int_equal(e2e_need_int(st, "projects"), 3);
	assert_int_equal(e2e_need_int(st, "projects_deleted"), 0);
	assert_int_equal(e2e_need_int(st, "max_projects_per_name"), 2);
	assert_json(st, "duplicate_names", "{\"twin\": 2}");
	assert_null(sim_json_get(st, "projects_per_name"));
	assert_int_equal(e2e_need_int(st, "operations.total"), 6);
	assert_int_equal(e2e_need_int(st, "cold_starts"), 0);
	assert_int_equal(e2e_need_int(st, "rate_limited"), 0);
	json_decref(st);

	st = e2e_json(f->sim, "GET", 200, NULL, "/__sim/stats?names=1");
	assert_json(st, "projects_per_name", "{\"twin\": 2, \"solo\": 1}");
	json_decref(st);

	/* a rename that ends the duplicate shows at once */
	e2e_wait_ops(f->sim, id);
	json_decref(e2e_json(f->sim, "PATCH", 200, "{\"project\": {\"name\": \"twin\"}}", "/projects/%s", id));
	st = e2e_stats(f->sim);
	assert_int_equal(e2e_need_int(st, "max_projects_per_name"), 3);
	assert_json(st, "duplicate_names", "{\"twin\": 3}");
	json_decref(st);
}

/* The recoverable=true list: the one project with id, or none. */
static json_t *recoverable(sim_proc *s, size_t want)
{
	json_t *o = e2e_json(s, "GET", 200, NULL, "/projects?recoverable=true");

	assert_int_equal(e2e_need_len(o, "projects"), want);
	return o;
}

static void test_recovery(void **state)
{
	static const char *const args[] = { "--recover-window", "2s", "--time-scale", "1",
		"--op-delay-ms", "20", "--rate-per-minute", "0", NULL };
	fixture *f = *state;
	char p[64];
	json_t *o;
	int64_t deleted;

	e2e_start(&f->own, args);
	make_project(f->own, "{\"project\": {\"name\": \"rec\"}}", p, NULL, NULL);
	e2e_wait_ops(f->own, p);

	o = e2e_json(f->own, "DELETE", 200, NULL, "/projects/%s", p);
	assert_string_equal(e2e_need_str(o, "project.id"), p);
	json_decref(o);
	json_decref(e2e_json(f->own, "GET", 404, NULL, "/projects/%s", p));
	o = e2e_json(f->own, "GET", 200, NULL, "/projects");
	assert_int_equal(e2e_need_len(o, "projects"), 0);
	json_decref(o);
	o = recoverable(f->own, 1);
	assert_string_equal(e2e_need_str(o, "projects.0.id"), p);
	deleted = e2e_need_time(o, "projects.0.deleted_at");
	assert_int_equal(e2e_need_time(o, "projects.0.recoverable_until") - deleted, 2);
	json_decref(o);
	assert_int_equal(e2e_stat_int(f->own, "projects"), 0);
	assert_int_equal(e2e_stat_int(f->own, "projects_deleted"), 1);

	o = e2e_json(f->own, "POST", 200, NULL, "/projects/%s/recover", p);
	assert_string_equal(e2e_need_str(o, "project.id"), p);
	assert_int_equal(e2e_need_len(o, "branches"), 1);
	json_decref(o);
	o = e2e_json(f->own, "GET", 200, NULL, "/projects/%s", p);
	assert_string_equal(e2e_need_str(o, "project.name"), "rec");
	json_decref(o);
	o = e2e_json(f->own, "GET", 200, NULL, "/projects");
	assert_int_equal(e2e_need_len(o, "projects"), 1);
	json_decref(o);
	json_decref(recoverable(f->own, 0));

	/* past the window it is gone for good */
	json_decref(e2e_json(f->own, "DELETE", 200, NULL, "/projects/%s", p));
	sim_sleep_ms(2500);
	json_decref(e2e_json(f->own, "POST", 404, NULL, "/projects/%s/recover", p));
	json_decref(e2e_json(f->own, "GET", 404, NULL, "/projects/%s", p));
	json_decref(recoverable(f->own, 0));
	assert_int_equal(e2e_stat_int(f->own, "projects"), 0);
	assert_int_equal(e2e_stat_int(f->own, "projects_deleted"), 0);
	e2e_stop(&f->own);
}

static const char *endpoint_state(sim_proc *s, const char *p, const char *ep, char out[16])
{
	json_t *o = e2e_json(s, "GET", 200, NULL, "/projects/%s/endpoints/%s", p, ep);

	str_copy(out, e2e_need_str(o, "endpoint.current_state"), 16);
	json_decref(o);
	return out;
}

/*
 * --time-scale 600: a 60 s suspend timeout passes in 0.1 s. The compute
 * (2 CU fixed, so compute time is exactly twice active time) goes idle on
 * its own, a connection wakes it (one cold start), and the usage the
 * project reports is what consumption_history reports.
 */
static void test_scale_to_zero(void **state)
{
	static const char *const args[] = { "--time-scale", "600", "--op-delay-ms", "1",
		"--rate-per-minute", "0", NULL };
	fixture *f = *state;
	char p[64], ep[64], st[16], from[32], to[32];
	char p_default[64], ep_default[64], p_never[64], ep_never[64];
	json_t *o, *per, *c;
	json_int_t active, compute, sum_active = 0, sum_compute = 0;
	int64_t t0, created;
	size_t i, k;

	e2e_start(&f->own, args);
	/* 0 means 300 s (0.5 s here); -1 never suspends */
	make_project(f->own, "{\"project\": {\"name\": \"s2z-default\", \"default_endpoint_settings\":"
		" {\"suspend_timeout_seconds\": 0}}}", p_default, NULL, ep_default);
	make_project(f->own, "{\"project\": {\"name\": \"s2z-never\", \"default_endpoint_settings\":"
		" {\"suspend_timeout_seconds\": -1}}}", p_never, NULL, ep_never);
	t0 = mono_ms();
	o = e2e_json(f->own, "POST", 201, "{\"project\": {\"name\": \"s2z\", \"default_endpoint_settings\":"
		" {\"autoscaling_limit_min_cu\": 2, \"autoscaling_limit_max_cu\": 2,"
		"  \"suspend_timeout_seconds\": 60}}}", "/projects");
	str_copy(p, e2e_need_str(o, "project.id"), sizeof(p));
	str_copy(ep, e2e_need_str(o, "endpoints.0.id"), sizeof(ep));
	created = e2e_need_time(o, "project.created_at");
	assert_int_equal(e2e_need_int(o, "endpoints.0.suspend_timeout_seconds"), 60);
	json_decref(o);
	/* start_compute takes 1 ms; the compute is active well within 100 ms */
	while (strcmp(endpoint_state(f->own, p, ep, st), "init") == 0 && mono_ms() - t0 < 50)
		;
	if (mono_ms() - t0 >= 90)
		fail_msg("too slow to see the compute active: %lld ms", (long long)(mono_ms() - t0));
	assert_string_equal(st, "active");

	sim_sleep_ms(300 - (mono_ms() - t0));
	assert_string_equal(endpoint_state(f->own, p, ep, st), "idle");
	assert_string_equal(endpoint_state(f->own, p_default, ep_default, st), "active");
	assert_string_equal(endpoint_state(f->own, p_never, ep_never, st), "active");
	o = e2e_json(f->own, "GET", 200, NULL, "/projects/%s", p);
	assert_int_equal(e2e_need_int(o, "project.active_time_seconds"), 60);
	assert_int_equal(e2e_need_int(o, "project.compute_time_seconds"), 120);
	json_decref(o);
	assert_int_equal(e2e_stat_int(f->own, "cold_starts"), 0);

	o = e2e_json(f->own, "POST", 200, NULL, "/__sim/connect/%s", ep);
	assert_true(json_is_true(sim_json_get(o, "cold_start")));
	json_decref(o);
	assert_int_equal(e2e_stat_int(f->own, "cold_starts"), 1);
	assert_string_equal(endpoint_state(f->own, p, ep, st), "active");
	o = e2e_json(f->own, "POST", 200, NULL, "/__sim/connect/%s", ep);
	assert_true(json_is_false(sim_json_get(o, "cold_start")));
	json_decref(o);
	assert_int_equal(e2e_stat_int(f->own, "cold_starts"), 1);
	json_decref(e2e_json(f->own, "POST", 404, NULL, "/__sim/connect/ep-no-such-1"));

	/* 20 ms is 12 s of sim time active; then suspend, so the totals
	 * stop moving */
	sim_sleep_ms(20);
	json_decref(e2e_json(f->own, "POST", 200, NULL, "/projects/%s/endpoints/%s/suspend", p, ep));
	e2e_wait_ops(f->own, p);
	assert_string_equal(endpoint_state(f->own, p, ep, st), "idle");
	o = e2e_json(f->own, "GET", 200, NULL, "/projects/%s", p);
	active = e2e_need_int(o, "project.active_time_seconds");
	compute = e2e_need_int(o, "project.compute_time_seconds");
	json_decref(o);
	assert_true(active > 60);
	assert_int_equal(compute, 2 * active);
	sim_sleep_ms(50);
	o = e2e_json(f->own, "GET", 200, NULL, "/projects/%s", p);
	assert_int_equal(e2e_need_int(o, "project.active_time_seconds"), active);
	json_decref(o);

	/* the same totals, hour by hour */
	sim_time_format(created - created % 3600, from);
	sim_time_format(created - created % 3600 + 3 * 3600, to);
	o = e2e_json(f->own, "GET", 200, NULL, "/consumption_history/projects?from=%s&to=%s"
		"&granularity=hourly&project_ids=%s", from, to, p);
	assert_int_equal(e2e_need_len(o, "projects"), 1);
	assert_string_equal(e2e_need_str(o, "projects.0.project_id"), p);
	json_array_foreach(sim_json_get(o, "projects.0.periods"), i, per)
		json_array_foreach(sim_json_get(per, "consumption"), k, c) {
			sum_active += e2e_need_int(c, "active_time_seconds");
			sum_compute += e2e_need_int(c, "compute_time_seconds");
			assert_int_equal(e2e_need_time(c, "timeframe_end") -
				e2e_need_time(c, "timeframe_start"), 3600);
		}
	json_decref(o);
	assert_int_equal(sum_active, active);
	assert_int_equal(sum_compute, compute);

	/* 650 ms is 390 s: the default timeout has passed, "never" has not */
	sim_sleep_ms(650 - (mono_ms() - t0));
	assert_string_equal(endpoint_state(f->own, p_default, ep_default, st), "idle");
	o = e2e_json(f->own, "GET", 200, NULL, "/projects/%s", p_default);
	assert_int_equal(e2e_need_int(o, "project.active_time_seconds"), 300);
	json_decref(o);
	assert_string_equal(endpoint_state(f->own, p_never, ep_never, st), "active");
	o = e2e_json(f->own, "GET", 200, NULL, "/projects/%s", p_never);
	assert_true(e2e_need_int(o, "project.active_time_seconds") >= 390);
	json_decref(o);
	assert_int_equal(e2e_stat_int(f->own, "cold_starts"), 1);
	e2e_stop(&f->own);
}

/* Operation ids of a project, newest first, all finished. */
static size_t op_ids(sim_proc *s, const char *p, char ids[][40], size_t max)
{
	json_t *o = e2e_json(s, "GET", 200, NULL, "/projects/%s/operations?limit=1000", p), *it;
	size_t i, n = 0;

	json_array_foreach(sim_json_get(o, "operations"), i, it) {
		assert_true(n < max);
		assert_string_equal(e2e_need_str(it, "status"), "finished");
		str_copy(ids[n++], e2e_need_str(it, "id"), 40);
	}
	json_decref(o);
	return n;
}

static bool in_list(char ids[][40], size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(ids[i], id) == 0)
			return true;
	return false;
}

/*
 * --data FILE: a project with a second branch, a role and a database is
 * all there after a clean restart, under the same ids, with the same
 * password; a project made after the restart takes no old id.
 */
static void test_persistence(void **state)
{
	fixture *f = *state;
	const char *tmp = getenv("TMPDIR");
	char db[4096], p[64], main_br[64], feature[64], ep[64], pw_owner[64], pw_app[64];
	char body[256], p2[64], feature2[64];
	static char old_ops[64][40], new_ops[64][40];
	const char *args[] = { "--data", db, "--op-delay-ms", "20", "--rate-per-minute", "0", NULL };
	json_t *o, *it;
	json_int_t db_id;
	size_t nold, nnew, i;
	struct stat sb;
	bool found;

	f->data_dir = xasprintf("%s/flotilla-e2e-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->data_dir))
		fail_msg("mkdtemp: %s", strerror(errno));
	snprintf(db, sizeof(db), "%s/sim.db", f->data_dir);

	e2e_start(&f->own, args);
	o = e2e_json(f->own, "POST", 201, "{\"project\": {\"name\": \"persist\"}}", "/projects");
	str_copy(p, e2e_need_str(o, "project.id"), sizeof(p));
	str_copy(main_br, e2e_need_str(o, "branch.id"), sizeof(main_br));
	str_copy(ep, e2e_need_str(o, "endpoints.0.id"), sizeof(ep));
	str_copy(pw_owner, e2e_need_str(o, "roles.0.password"), sizeof(pw_owner));
	json_decref(o);
	e2e_wait_ops(f->own, p);
	o = e2e_json(f->own, "POST", 201, "{\"branch\": {\"name\": \"feature\"}}", "/projects/%s/branches", p);
	str_copy(feature, e2e_need_str(o, "branch.id"), sizeof(feature));
	json_decref(o);
	e2e_wait_ops(f->own, p);
	o = e2e_json(f->own, "POST", 201, "{\"role\": {\"name\": \"app\"}}", "/projects/%s/branches/%s/roles",
		p, main_br);
	str_copy(pw_app, e2e_need_str(o, "role.password"), sizeof(pw_app));
	json_decref(o);
	e2e_wait_ops(f->own, p);
	o = e2e_json(f->own, "POST", 201, "{\"database\": {\"name\": \"appdb\", \"owner_name\": \"app\"}}",
		"/projects/%s/branches/%s/databases", p, main_br);
	db_id = e2e_need_int(o, "database.id");
	json_decref(o);
	e2e_wait_ops(f->own, p);
	o = e2e_json(f->own, "GET", 200, NULL, "/projects/%s/branches/%s/roles/app/reveal_password", p, main_br);
	assert_string_equal(e2e_need_str(o, "password"), pw_app);
	json_decref(o);
	nold = op_ids(f->own, p, old_ops, ARRAY_LEN(old_ops));
	assert_true(nold >= 4);
	e2e_stop(&f->own);

	/* the file is private to its owner */
	assert_int_equal(stat(db, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	/* the first request after the restart is a create: the generator
	 * starts again from --seed, so only the ids read back keep it from
	 * handing out the old project's ids once more */
	e2e_start(&f->own, args);
	o = e2e_json(f->own, "POST", 201, "{\"project\": {\"name\": \"persist-2\"}}", "/projects");
	str_copy(p2, e2e_need_str(o, "project.id"), sizeof(p2));
	assert_string_not_equal(p2, p);
	assert_string_not_equal(e2e_need_str(o, "branch.id"), main_br);
	assert_string_not_equal(e2e_need_str(o, "branch.id"), feature);
	assert_string_not_equal(e2e_need_str(o, "endpoints.0.id"), ep);
	json_array_foreach(sim_json_get(o, "operations"), i, it)
		if (in_list(old_ops, nold, e2e_need_str(it, "id")))
			fail_msg("operation id '%s' handed out again", e2e_need_str(it, "id"));
	json_decref(o);
	/* stats start again; the projects are back */
	assert_int_equal(e2e_stat_int(f->own, "requests_total"), 1);
	assert_int_equal(e2e_stat_int(f->own, "writes_total"), 1);
	assert_int_equal(e2e_stat_int(f->own, "projects"), 2);

	o = e2e_json(f->own, "GET", 200, NULL, "/projects/%s", p);
	assert_string_equal(e2e_need_str(o, "project.name"), "persist");
	json_decref(o);
	o = e2e_json(f->own, "GET", 200, NULL, "/projects/%s/branches/%s", p, feature);
	assert_string_equal(e2e_need_str(o, "branch.name"), "feature");
	assert_string_equal(e2e_need_str(o, "branch.parent_id"), main_br);
	json_decref(o);
	o = e2e_json(f->own, "GET", 200, NULL, "/projects/%s/branches/%s", p, main_br);
	assert_true(json_is_true(sim_json_get(o, "branch.default")));
	json_decref(o);
	o = e2e_json(f->own, "GET", 200, NULL, "/projects/%s/endpoints", p);
	assert_int_equal(e2e_need_len(o, "endpoints"), 1);
	assert_string_equal(e2e_need_str(o, "endpoints.0.id"), ep);
	json_decref(o);
	o = e2e_json(f->own, "GET", 200, NULL, "/projects/%s/branches/%s/databases/appdb", p, main_br);
	assert_int_equal(e2e_need_int(o, "database.id"), db_id);
	assert_string_equal(e2e_need_str(o, "database.owner_name"), "app");
	json_decref(o);
	o = e2e_json(f->own, "GET", 200, NULL, "/projects/%s/branches/%s/roles", p, main_br);
	found = false;
	json_array_foreach(sim_json_get(o, "roles"), i, it)
		found = found || strcmp(e2e_need_str(it, "name"), "app") == 0;
	assert_true(found);
	json_decref(o);
	o = e2e_json(f->own, "GET", 200, NULL, "/projects/%s/branches/%s/roles/app/reveal_password", p, main_br);
	assert_string_equal(e2e_need_str(o, "password"), pw_app);
	json_decref(o);
	o = e2e_json(f->own, "GET", 200, NULL, "/projects/%s/branches/%s/roles/neondb_owner/reveal_password",
		p, main_br);
	assert_string_equal(e2e_need_str(o, "password"), pw_owner);
	json_decref(o);
	nnew = op_ids(f->own, p, new_ops, ARRAY_LEN(new_ops));
	assert_int_equal(nnew, nold);
	for (i = 0; i < nold; i++)
		assert_string_equal(new_ops[i], old_ops[i]);

	/* a new branch of the old project takes no old id either */
	snprintf(body, sizeof(body), "{\"branch\": {\"name\": \"feature-2\", \"parent_id\": \"%s\"}}",
		main_br);
	o = e2e_json(f->own, "POST", 201, body, "/projects/%s/branches", p);
	str_copy(feature2, e2e_need_str(o, "branch.id"), sizeof(feature2));
	assert_string_not_equal(feature2, main_br);
	assert_string_not_equal(feature2, feature);
	json_array_foreach(sim_json_get(o, "operations"), i, it)
		if (in_list(old_ops, nold, e2e_need_str(it, "id")))
			fail_msg("operation id '%s' handed out again", e2e_need_str(it, "id"));
	json_decref(o);
	o = e2e_json(f->own, "GET", 200, NULL, "/projects");
	assert_int_equal(e2e_need_len(o, "projects"), 2);
	json_decref(o);

	/* a killed sim keeps what it answered (WAL) */
	assert_int_equal(sim_kill(f->own, NULL), 0);
	sim_free(f->own);
	f->own = NULL;
	e2e_start(&f->own, args);
	o = e2e_json(f->own, "GET", 200, NULL, "/projects/%s", p2);
	assert_string_equal(e2e_need_str(o, "project.name"), "persist-2");
	json_decref(o);
	o = e2e_json(f->own, "GET", 200, NULL, "/projects/%s/branches/%s", p, feature2);
	assert_string_equal(e2e_need_str(o, "branch.name"), "feature-2");
	json_decref(o);
	e2e_stop(&f->own);
	remove_data_dir(f);
}

/* Every "id" string anywhere in o (projects, branches, endpoints,
 * operations), appended to ids. */
static void collect_ids(json_t *o, char ids[][64], size_t *n, size_t max)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_array(o)) {
		json_array_foreach(o, i, v)
			collect_ids(v, ids, n, max);
		return;
	}
	json_object_foreach(o, key, v) {
		if (strcmp(key, "id") == 0 && json_is_string(v)) {
			assert_true(*n < max);
			str_copy(ids[(*n)++], json_string_value(v), 64);
		} else {
			collect_ids(v, ids, n, max);
		}
	}
}

/*
 * Ids are handed out once, across a restart too: after one with --data,
 * a client that looks at the regions and creates projects gets no
 * project, branch, endpoint or operation id of the first run. (Requests
 * are the same every run, so this is deterministic for the default seed.)
 */
static void test_restart_hands_out_no_old_id(void **state)
{
	fixture *f = *state;
	const char *tmp = getenv("TMPDIR");
	char db[4096], body[64];
	static char old[128][64], fresh[128][64];
	const char *args[] = { "--data", db, "--op-delay-ms", "0", "--rate-per-minute", "0", NULL };
	size_t nold = 0, nfresh, i, k;
	json_t *o;

	f->data_dir = xasprintf("%s/flotilla-e2e-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->data_dir))
		fail_msg("mkdtemp: %s", strerror(errno));
	snprintf(db, sizeof(db), "%s/sim.db", f->data_dir);
	e2e_start(&f->own, args);
	for (i = 0; i < 3; i++) {
		snprintf(body, sizeof(body), "{\"project\": {\"name\": \"first-%zu\"}}", i);
		o = e2e_json(f->own, "POST", 201, body, "/projects");
		collect_ids(o, old, &nold, ARRAY_LEN(old));
		json_decref(o);
	}
	assert_int_equal(nold, 3 * 5); /* project, branch, endpoint, 2 operations */
	e2e_stop(&f->own);

	e2e_start(&f->own, args);
	for (i = 0; i < 5; i++) {
		json_decref(e2e_json(f->own, "GET", 200, NULL, "/regions"));
		snprintf(body, sizeof(body), "{\"project\": {\"name\": \"second-%zu\"}}", i);
		o = e2e_json(f->own, "POST", 201, body, "/projects");
		nfresh = 0;
		collect_ids(o, fresh, &nfresh, ARRAY_LEN(fresh));
		json_decref(o);
		for (k = 0; k < nfresh; k++)
			for (size_t j = 0; j < nold; j++)
				if (strcmp(fresh[k], old[j]) == 0)
					fail_msg("create %zu after the restart hands out '%s' again, an id of "
						"the first run", i, fresh[k]);
	}
	e2e_stop(&f->own);
	remove_data_dir(f);
}

/* Record the operations of a mutation's answer, oldest first as sent. */
static void collect_ops(json_t *o, size_t min, char ids[][40], size_t *n, size_t max)
{
	json_t *ops = sim_json_get(o, "operations"), *it;
	size_t i;

	if (!json_is_array(ops))
		fail_msg("a mutation's answer without operations");
	assert_true(json_array_size(ops) >= min);
	json_array_foreach(ops, i, it) {
		const char *st = e2e_need_str(it, "status");

		/* just made: not finished yet */
		if (strcmp(st, "scheduling") != 0 && strcmp(st, "running") != 0)
			fail_msg("a new operation is '%s'", st);
		assert_true(*n < max);
		str_copy(ids[(*n)++], e2e_need_str(it, "id"), 40);
	}
}

/* Operation statuses follow the clock: scheduling for the first third of
 * --op-delay-ms, then running, then finished. */
static void test_operation_statuses(void **state)
{
	static const char *const args[] = { "--op-delay-ms", "900", "--rate-per-minute", "0", NULL };
	fixture *f = *state;
	char p[64], br[64], ep[64], op[40];
	json_t *o;
	int64_t t0;

	e2e_start(&f->own, args);
	o = e2e_json(f->own, "POST", 201, "{\"project\": {\"name\": \"ops-status\"}}", "/projects");
	t0 = mono_ms();
	str_copy(p, e2e_need_str(o, "project.id"), sizeof(p));
	str_copy(br, e2e_need_str(o, "branch.id"), sizeof(br));
	str_copy(ep, e2e_need_str(o, "endpoints.0.id"), sizeof(ep));
	assert_int_equal(e2e_need_len(o, "operations"), 2);
	assert_string_equal(e2e_need_str(o, "operations.0.action"), "create_timeline");
	assert_string_equal(e2e_need_str(o, "operations.0.status"), "scheduling");
	assert_string_equal(e2e_need_str(o, "operations.0.branch_id"), br);
	assert_string_equal(e2e_need_str(o, "operations.0.project_id"), p);
	assert_string_equal(e2e_need_str(o, "operations.1.action"), "start_compute");
	assert_string_equal(e2e_need_str(o, "operations.1.status"), "scheduling");
	assert_string_equal(e2e_need_str(o, "operations.1.endpoint_id"), ep);
	str_copy(op, e2e_need_str(o, "operations.1.id"), sizeof(op));
	json_decref(o);

	sim_sleep_ms(450 - (mono_ms() - t0));
	o = e2e_json(f->own, "GET", 200, NULL, "/projects/%s/operations/%s", p, op);
	assert_string_equal(e2e_need_str(o, "operation.status"), "running");
	json_decref(o);
	if (mono_ms() - t0 >= 850)
		fail_msg("too slow to see 'running': %lld ms", (long long)(mono_ms() - t0));

	e2e_wait_ops(f->own, p);
	o = e2e_json(f->own, "GET", 200, NULL, "/projects/%s/operations/%s", p, op);
	assert_string_equal(e2e_need_str(o, "operation.status"), "finished");
	assert_int_equal(e2e_need_int(o, "operation.total_duration_ms"), 900);
	assert_int_equal(e2e_need_int(o, "operation.failures_count"), 0);
	json_decref(o);
	e2e_stop(&f->own);
}

/*
 * Every mutation answers with its operations; the project's list holds
 * them all, newest first, across cursor pages; each can be read by id.
 */
static void test_operations(void **state)
{
	fixture *f = *state;
	static char sent[64][40];
	size_t n = 0, got = 0, pages = 0, i;
	char p[64], br[64], dev[64], ro[64], body[256], cursor[64] = "";
	const size_t max = ARRAY_LEN(sent);
	json_t *o, *it;

	e2e_reset(f->sim);
	o = e2e_json(f->sim, "POST", 201, "{\"project\": {\"name\": \"ops\"}}", "/projects");
	str_copy(p, e2e_need_str(o, "project.id"), sizeof(p));
	str_copy(br, e2e_need_str(o, "branch.id"), sizeof(br));
	collect_ops(o, 2, sent, &n, max);
	json_decref(o);
	e2e_wait_ops(f->sim, p);

#define MUTATE(min, method, want, body_, ...) do { \
		o = e2e_json(f->sim, method, want, body_, __VA_ARGS__); \
		collect_ops(o, min, sent, &n, max); \
		e2e_wait_ops(f->sim, p); \
	} while (0)

	MUTATE(1, "PATCH", 200, "{\"project\": {\"settings\": {\"quota\": {\"active_time_seconds\": 3600}}}}",
		"/projects/%s", p);
	assert_string_equal(e2e_need_str(o, "operations.0.action"), "apply_config");
	json_decref(o);
	MUTATE(1, "PATCH", 200, "{\"project\": {\"history_retention_seconds\": 3600}}", "/projects/%s", p);
	assert_string_equal(e2e_need_str(o, "operations.0.action"), "apply_storage_config");
	json_decref(o);
	MUTATE(1, "POST", 201, "{\"branch\": {\"name\": \"ops-dev\"}, \"endpoints\": [{\"type\": \"read_write\"}]}",
		"/projects/%s/branches", p);
	str_copy(dev, e2e_need_str(o, "branch.id"), sizeof(dev));
	json_decref(o);
	snprintf(body, sizeof(body), "{\"endpoint\": {\"branch_id\": \"%s\", \"type\": \"read_only\"}}", br);
	MUTATE(1, "POST", 201, body, "/projects/%s/endpoints", p);
	str_copy(ro, e2e_need_str(o, "endpoint.id"), sizeof(ro));
	json_decref(o);
	MUTATE(1, "PATCH", 200, "{\"endpoint\": {\"suspend_timeout_seconds\": 120}}",
		"/projects/%s/endpoints/%s", p, ro);
	json_decref(o);
	MUTATE(1, "POST", 200, NULL, "/projects/%s/endpoints/%s/suspend", p, ro);
	json_decref(o);
	MUTATE(1, "POST", 200, NULL, "/projects/%s/endpoints/%s/start", p, ro);
	json_decref(o);
	MUTATE(1, "POST", 200, NULL, "/projects/%s/endpoints/%s/restart", p, ro);
	json_decref(o);
	MUTATE(1, "POST", 201, "{\"role\": {\"name\": \"ops_app\"}}", "/projects/%s/branches/%s/roles", p, br);
	json_decref(o);
	MUTATE(1, "POST", 200, NULL, "/projects/%s/branches/%s/roles/ops_app/reset_password", p, br);
	json_decref(o);
	MUTATE(1, "POST", 201, "{\"database\": {\"name\": \"opsdb\", \"owner_name\": \"ops_app\"}}",
		"/projects/%s/branches/%s/databases", p, br);
	json_decref(o);
	MUTATE(1, "PATCH", 200, "{\"database\": {\"name\": \"opsdb2\"}}",
		"/projects/%s/branches/%s/databases/opsdb", p, br);
	json_decref(o);
	MUTATE(1, "DELETE", 200, NULL, "/projects/%s/branches/%s/databases/opsdb2", p, br);
	json_decref(o);
	MUTATE(1, "DELETE", 200, NULL, "/projects/%s/branches/%s/roles/ops_app", p, br);
	json_decref(o);
	MUTATE(1, "DELETE", 200, NULL, "/projects/%s/endpoints/%s", p, ro);
	json_decref(o);
	/* a branch rename runs nothing, but still answers with operations */
	MUTATE(0, "PATCH", 200, "{\"branch\": {\"name\": \"ops-dev2\"}}", "/projects/%s/branches/%s", p, dev);
	json_decref(o);
	MUTATE(1, "DELETE", 200, NULL, "/projects/%s/branches/%s", p, dev);
	json_decref(o);
#undef MUTATE
	assert_true(n >= 19);

	/* newest first, 4 a page, until a short page */
	for (;;) {
		size_t len;

		if (++pages > n / 4 + 2)
			fail_msg("more pages than %zu operations need", n);
		if (cursor[0])
			o = e2e_json(f->sim, "GET", 200, NULL, "/projects/%s/operations?limit=4&cursor=%s", p, cursor);
		else
			o = e2e_json(f->sim, "GET", 200, NULL, "/projects/%s/operations?limit=4", p);
		len = e2e_need_len(o, "operations");
		assert_true(len <= 4);
		json_array_foreach(sim_json_get(o, "operations"), i, it) {
			assert_true(got < n);
			if (strcmp(e2e_need_str(it, "id"), sent[n - 1 - got]) != 0)
				fail_msg("operation %zu of the list is %s, want %s", got, e2e_need_str(it, "id"),
					sent[n - 1 - got]);
			assert_string_equal(e2e_need_str(it, "status"), "finished");
			got++;
		}
		if (len == 4)
			str_copy(cursor, e2e_need_str(o, "pagination.cursor"), sizeof(cursor));
		json_decref(o);
		if (len < 4)
			break;
	}
	assert_int_equal(got, n);
	assert_int_equal(pages, n / 4 + 1);

	o = e2e_json(f->sim, "GET", 200, NULL, "/projects/%s/operations/%s", p, sent[0]);
	assert_string_equal(e2e_need_str(o, "operation.id"), sent[0]);
	assert_string_equal(e2e_need_str(o, "operation.action"), "create_timeline");
	assert_string_equal(e2e_need_str(o, "operation.project_id"), p);
	json_decref(o);
	o = e2e_json(f->sim, "GET", 200, NULL, "/projects/%s/operations/%s", p, sent[n - 1]);
	assert_string_equal(e2e_need_str(o, "operation.id"), sent[n - 1]);
	assert_string_equal(e2e_need_str(o, "operation.status"), "finished");
	json_decref(o);
	assert_int_equal(e2e_stat_int(f->sim, "operations.total"), (json_int_t)n);
	assert_int_equal(e2e_stat_int(f->sim, "operations.unfinished"), 0);
}

/* The newest 64 operations of a project are kept (docs/sim.md). */
static void test_operations_kept(void **state)
{
	static const char *const args[] = { "--op-delay-ms", "0", "--rate-per-minute", "0", NULL };
	fixture *f = *state;
	char p[64], last[40] = "", body[128];
	json_t *o;

	e2e_start(&f->own, args);
	make_project(f->own, "{\"project\": {\"name\": \"kept\"}}", p, NULL, NULL);
	for (int i = 0; i < 70; i++) {
		snprintf(body, sizeof(body), "{\"project\": {\"settings\": {\"quota\":"
			" {\"active_time_seconds\": %d}}}}", 3600 + i);
		o = e2e_json(f->own, "PATCH", 200, body, "/projects/%s", p);
		assert_int_equal(e2e_need_len(o, "operations"), 1);
		str_copy(last, e2e_need_str(o, "operations.0.id"), sizeof(last));
		json_decref(o);
	}
	o = e2e_json(f->own, "GET", 200, NULL, "/projects/%s/operations?limit=1000", p);
	assert_int_equal(e2e_need_len(o, "operations"), 64);
	assert_string_equal(e2e_need_str(o, "operations.0.id"), last);
	assert_string_equal(e2e_need_str(o, "operations.63.action"), "apply_config");
	json_decref(o);
	assert_int_equal(e2e_stat_int(f->own, "operations.total"), 72);
	e2e_stop(&f->own);
}

static void assert_matches(const char *s, const char *re)
{
	regex_t rx;

	assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
	if (regexec(&rx, s, 0, NULL, 0) != 0) {
		regfree(&rx);
		fail_msg("'%s' does not match %s", s, re);
	}
	regfree(&rx);
}

/* Ids and hosts look like Neon's; the regions are the 11 of docs/neon-api.md. */
static void test_ids_hosts_and_regions(void **state)
{
	static const char *const regions[] = { "aws-us-east-1", "aws-us-east-2", "aws-us-west-2",
		"aws-eu-central-1", "aws-eu-west-2", "aws-ap-southeast-1", "aws-ap-southeast-2",
		"aws-sa-east-1", "azure-eastus2", "azure-westus3", "azure-gwc" };
	static const char *const uuid =
		"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$";
	fixture *f = *state;
	char p[64], ep[64], want[192];
	json_t *o, *it;
	size_t i;
	int defaults = 0;

	e2e_reset(f->sim);
	o = e2e_json(f->sim, "POST", 201, "{\"project\": {\"name\": \"hosts\", \"region_id\": \"aws-eu-central-1\"}}",
		"/projects");
	str_copy(p, e2e_need_str(o, "project.id"), sizeof(p));
	str_copy(ep, e2e_need_str(o, "endpoints.0.id"), sizeof(ep));
	assert_matches(p, "^[a-z]+-[a-z]+-[0-9]{8}$");
	assert_matches(e2e_need_str(o, "branch.id"), "^br-[a-z0-9-]{1,57}$");
	assert_matches(ep, "^ep-[a-z0-9-]{1,57}$");
	assert_matches(e2e_need_str(o, "operations.0.id"), uuid);
	assert_matches(e2e_need_str(o, "operations.1.id"), uuid);
	assert_string_equal(e2e_need_str(o, "project.proxy_host"), "eu-central-1.aws.neon.tech");
	snprintf(want, sizeof(want), "%s.eu-central-1.aws.neon.tech", ep);
	assert_string_equal(e2e_need_str(o, "endpoints.0.host"), want);
	assert_string_equal(e2e_need_str(o, "connection_uris.0.connection_parameters.host"), want);
	snprintf(want, sizeof(want), "%s-pooler.eu-central-1.aws.neon.tech", ep);
	assert_string_equal(e2e_need_str(o, "connection_uris.0.connection_parameters.pooler_host"), want);
	json_decref(o);
	o = e2e_json(f->sim, "GET", 200, NULL, "/projects/%s/connection_uri?database_name=neondb"
		"&role_name=neondb_owner&pooled=true", p);
	snprintf(want, sizeof(want), "@%s-pooler.eu-central-1.aws.neon.tech/neondb", ep);
	assert_non_null(strstr(e2e_need_str(o, "uri"), want));
	assert_true(str_has_prefix(e2e_need_str(o, "uri"), "postgresql://neondb_owner:"));
	json_decref(o);

	o = e2e_json(f->sim, "GET", 200, NULL, "/regions");
	assert_int_equal(e2e_need_len(o, "regions"), ARRAY_LEN(regions));
	json_array_foreach(sim_json_get(o, "regions"), i, it) {
		assert_string_equal(e2e_need_str(it, "region_id"), regions[i]);
		if (json_is_true(sim_json_get(it, "default"))) {
			defaults++;
			assert_string_equal(e2e_need_str(it, "region_id"), "aws-us-east-2");
		}
	}
	assert_int_equal(defaults, 1);
	json_decref(o);
}

int main(void)
{
#define T(fn) cmocka_unit_test_teardown(fn, test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_locked_while_operations_run),
		T(test_conflicts),
		T(test_not_found_and_request_ids),
		T(test_delete_missing_is_204),
		T(test_pagination),
		T(test_rate_limits),
		T(test_no_rate_limit_when_zero),
		T(test_auth),
		T(test_validation),
		T(test_patch_ignores_immutable_fields),
		T(test_max_projects),
		T(test_faults),
		T(test_stats),
		T(test_recovery),
		T(test_scale_to_zero),
		T(test_persistence),
		T(test_restart_hands_out_no_old_id),
		T(test_operation_statuses),
		T(test_operations),
		T(test_operations_kept),
		T(test_ids_hosts_and_regions),
	};
#undef T

	if (e2e_skip_without_sim())
		return 0;
	return cmocka_run_group_tests_name("sim-behaviour", tests, setup, teardown);
}
