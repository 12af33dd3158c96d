/*
 * test-sim-harsh.c: flotilla-sim's harsher behaviours (docs/sim.md,
 * "Neon's harsher behaviours") that a client meets when it reads and
 * waits, each behind its flag, one cmocka test or more each, against real
 * sims on loopback: org_id required (--require-org-id, --org-id,
 * GET /users/me/organizations), list pages that name projects unavailable
 * and reads by id that fail the same way (--unavailable-rate), tenant
 * activity and POST /__sim/wake (--activity), and operations that fail
 * and are retried or end in error (--op-retry-rate, --op-fail-rate).
 * test-sim-plans.c has the rest: protected branches, plan limits, endpoint
 * names, the flags and fault keys.
 *
 * Each test starts its own sim with the flags it needs (harsh.h). Every
 * answer of the Neon API is held against the OpenAPI document. Waits poll
 * for a condition up to a generous deadline and never assert on wall
 * time; where a check needs an operation still running, the operation
 * lasts seconds and the test checks how far it is before relying on it.
 * Skipped when FLOTILLA_SIM is not set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/harsh.h"

#define LOCKED_MESSAGE \
	"project already has running conflicting operations, scheduling of new ones is prohibited"

/* ----------------------------------------------------------- helpers */

/* The newest operation of p with `action`, a new reference; NULL when
 * there is none. */
static json_t *newest_op(fixture *f, const char *p, const char *action)
{
	json_t *o = api(f, "GET", 200, NULL, "/projects/%s/operations?limit=1000", p), *it, *found = NULL;
	size_t i;

	json_array_foreach(sim_json_get(o, "operations"), i, it)
		if (!found && strcmp(e2e_need_str(it, "action"), action) == 0)
			found = json_incref(it);
	json_decref(o);
	return found;
}

/* Whether p has an operation with `action`. */
static bool has_op(fixture *f, const char *p, const char *action)
{
	json_t *op = newest_op(f, p, action);

	json_decref(op);
	return op != NULL;
}

/* A condition a test waits for, on the sim of f; `arg` is the test's. */
typedef bool (*until_fn)(fixture *f, void *arg);

/* Check `until` every `every_ms` until it holds; past DEADLINE_MS fail
 * the test saying what did not happen. */
static void wait_until(fixture *f, until_fn until, void *arg, int every_ms, const char *what)
{
	int64_t deadline = mono_ms() + DEADLINE_MS;

	while (!until(f, arg)) {
		if (mono_ms() > deadline)
			fail_msg("%s within %d ms", what, DEADLINE_MS);
		sim_sleep_ms(every_ms);
	}
}

/* A stats counter (dotted path) reaching a value. */
typedef struct stat_goal {
	const char *path;
	json_int_t at_least;
	bool busy;          /* list projects between looks, to keep the sim answering */
} stat_goal;

static bool stat_reached(fixture *f, void *arg)
{
	stat_goal *g = arg;

	if (g->busy)
		json_decref(api(f, "GET", 200, NULL, "/projects?limit=50"));
	return e2e_stat_int(f->own, g->path) >= g->at_least;
}

static bool is_status(json_t *op, const char *status)
{
	return strcmp(e2e_need_str(op, "status"), status) == 0;
}

/* ------------------------------------------------------------ org_id */

/*
 * --require-org-id: every variant of GET /projects and POST /projects
 * without an org_id is a 400 "org_id is required", an organization that
 * is not the key's a 404, one of --org-id's works; the organizations
 * route lists them; populate puts projects into one.
 */
static void test_org_id_required(void **state)
{
	static const char *const args[] = { "--require-org-id", "--org-id", "org-a-1", "--org-id", "org-b-2",
		QUICK, NULL };
	static const char *const lists[] = { "/projects", "/projects?limit=5", "/projects?search=x",
		"/projects?recoverable=true", "/projects?cursor=0", "/projects?org_id=" };
	fixture *f = *state;
	char a[64];
	json_t *o;

	e2e_start(&f->own, args);
	for (size_t i = 0; i < ARRAY_LEN(lists); i++)
		expect_error(f, "GET", 400, "", "org_id is required", NULL, "%s", lists[i]);
	expect_error(f, "GET", 404, "", "organization 'org-zzz' not found", NULL, "/projects?org_id=org-zzz");
	expect_error(f, "POST", 400, "", "org_id is required", "{\"project\": {\"name\": \"o1\"}}", "/projects");
	expect_error(f, "POST", 400, "", "org_id is required", "{\"project\": {\"org_id\": \"\"}}", "/projects");
	expect_error(f, "POST", 404, "", "organization 'org-zzz' not found",
		"{\"project\": {\"name\": \"o1\", \"org_id\": \"org-zzz\"}}", "/projects");
	assert_int_equal(e2e_stat_int(f->own, "projects"), 0);

	make_project(f, "{\"project\": {\"name\": \"o1\", \"org_id\": \"org-a-1\"}}", a, NULL);
	json_decref(api(f, "POST", 201, "{\"project\": {\"name\": \"o2\", \"org_id\": \"org-b-2\"}}", "/projects"));
	o = api(f, "GET", 200, NULL, "/projects?org_id=org-a-1&search=o");
	assert_int_equal(e2e_need_len(o, "projects"), 1);
	assert_string_equal(e2e_need_str(o, "projects.0.id"), a);
	assert_string_equal(e2e_need_str(o, "projects.0.org_id"), "org-a-1");
	json_decref(o);
	json_decref(api(f, "GET", 200, NULL, "/projects?org_id=org-a-1&recoverable=true"));

	o = api(f, "GET", 200, NULL, "/users/me/organizations");
	assert_int_equal(e2e_need_len(o, "organizations"), 2);
	assert_string_equal(e2e_need_str(o, "organizations.0.id"), "org-a-1");
	assert_string_equal(e2e_need_str(o, "organizations.1.id"), "org-b-2");
	assert_string_equal(e2e_need_str(o, "organizations.0.plan"), "scale");
	assert_string_equal(e2e_need_str(o, "organizations.0.managed_by"), "console");
	json_decref(o);

	populate(f, 3, ", \"org_id\": \"org-b-2\"");
	o = api(f, "GET", 200, NULL, "/projects?org_id=org-b-2");
	assert_int_equal(e2e_need_len(o, "projects"), 4);
	json_decref(o);
	json_decref(e2e_json(f->own, "POST", 404, "{\"count\": 1, \"org_id\": \"org-zzz\"}", "/__sim/populate"));
	json_decref(e2e_json(f->own, "POST", 400, "{\"count\": 1, \"org_id\": \"Org_Z\"}", "/__sim/populate"));
	assert_int_equal(e2e_stat_int(f->own, "projects"), 5);
	e2e_stop(&f->own);
}

/* Without --require-org-id an org_id is optional and filtered on as
 * before; the organizations route lists the default one. */
static void test_org_id_optional(void **state)
{
	fixture *f = *state;
	json_t *o;

	e2e_start(&f->own, PLAIN);
	json_decref(api(f, "POST", 201, "{\"project\": {\"name\": \"plain\"}}", "/projects"));
	json_decref(api(f, "POST", 201, "{\"project\": {\"name\": \"in-org\", \"org_id\": \"org-any-7\"}}",
		"/projects"));
	o = api(f, "GET", 200, NULL, "/projects");
	assert_int_equal(e2e_need_len(o, "projects"), 2);
	json_decref(o);
	o = api(f, "GET", 200, NULL, "/projects?org_id=org-other");
	assert_int_equal(e2e_need_len(o, "projects"), 0);
	json_decref(o);
	o = api(f, "GET", 200, NULL, "/users/me/organizations");
	assert_int_equal(e2e_need_len(o, "organizations"), 1);
	assert_string_equal(e2e_need_str(o, "organizations.0.id"), "org-flotilla-sim-00000001");
	json_decref(o);
	e2e_stop(&f->own);
}

/* ------------------------------------------------- unavailable projects */

/*
 * Page through every live project at `limit` a page; each page must cover
 * `limit` projects (listed + unavailable) until the end, when all `max`
 * are covered. ids[] gets each covered id (each must be new to `seen`),
 * *unavailable how many were named unavailable,
 * *short_pages the pages that listed fewer than `limit`.
 */
static size_t page_all(fixture *f, int limit, char ids[][64], size_t max, strmap *seen,
	size_t *unavailable, size_t *short_pages)
{
	char cursor[32] = "";
	size_t n = 0, i, covered;
	json_t *o, *it;

	*unavailable = *short_pages = 0;
	for (int pages = 0;; pages++) {
		if (pages > (int)max / limit + 2)
			fail_msg("more pages than %zu projects need at %d a page", max, limit);
		o = cursor[0] ? api(f, "GET", 200, NULL, "/projects?limit=%d&cursor=%s", limit, cursor)
			      : api(f, "GET", 200, NULL, "/projects?limit=%d", limit);
		covered = e2e_need_len(o, "projects") + e2e_need_len(o, "unavailable_project_ids");
		*short_pages += e2e_need_len(o, "projects") < (size_t)limit && covered > 0;
		json_array_foreach(sim_json_get(o, "projects"), i, it) {
			assert_true(n < max);
			str_copy(ids[n], e2e_need_str(it, "id"), 64);
			if (strmap_put(seen, ids[n], (void *)1))
				fail_msg("project '%s' covered twice", ids[n]);
			n++;
		}
		json_array_foreach(sim_json_get(o, "unavailable_project_ids"), i, it) {
			assert_true(n < max);
			str_copy(ids[n], json_string_value(it), 64);
			if (strmap_put(seen, ids[n], (void *)1))
				fail_msg("project '%s' covered twice", ids[n]);
			n++;
			(*unavailable)++;
		}
		str_copy(cursor, e2e_need_str(o, "pagination.cursor"), sizeof(cursor));
		json_decref(o);
		if (covered == 0)
			return n;
		/* only the last page before the empty one may cover fewer */
		if (covered < (size_t)limit && n != max)
			fail_msg("a page covered %zu of %d projects before the end", covered, limit);
	}
}

/*
 * --unavailable-rate 0.5 on 1,000 projects: every page covers `limit`
 * projects, listed and unavailable together are exactly the live projects,
 * each once, and many pages list fewer than `limit`: a client that stops
 * on a short page stops early.
 */
static void test_unavailable_pages(void **state)
{
	static const char *const args[] = { "--unavailable-rate", "0.5", QUICK,
		NULL };
	static char truth[1000][64], got[1000][64];
	fixture *f = *state;
	strmap *all, *seen;
	size_t n, unavailable, short_pages, total_unavailable = 0;

	e2e_start(&f->own, args);
	populate(f, 1000, NULL);
	e2e_set_faults(f->own, "{\"unavailable_rate\": 0}");
	all = strmap_new();
	n = page_all(f, 400, truth, 1000, all, &unavailable, &short_pages);
	assert_int_equal(n, 1000);
	assert_int_equal(unavailable, 0);
	assert_int_equal(e2e_stat_int(f->own, "unavailable_listed"), 0);

	e2e_set_faults(f->own, "{\"unavailable_rate\": 0.5}");
	for (int round = 0; round < 2; round++) {
		int limit = round == 0 ? 100 : 37;

		seen = strmap_new();
		n = page_all(f, limit, got, 1000, seen, &unavailable, &short_pages);
		assert_int_equal(n, 1000);
		for (size_t i = 0; i < 1000; i++)
			if (!strmap_get(seen, truth[i]))
				fail_msg("project '%s' was never covered at %d a page", truth[i], limit);
		assert_true(unavailable > 200 && unavailable < 800);
		assert_true(short_pages >= 5);
		total_unavailable += unavailable;
		strmap_free(seen);
	}
	assert_int_equal(e2e_stat_int(f->own, "unavailable_listed"), (json_int_t)total_unavailable);
	strmap_free(all);
	e2e_stop(&f->own);
}

/* GET /projects/{id} at unavailable_rate 1 is always 503, at 0 never, and
 * in between a client that reads again gets the project. */
static void test_unavailable_get(void **state)
{
	fixture *f = *state;
	char id[64], *path;
	json_t *o;
	int ok = 0, unavailable = 0;

	e2e_start(&f->own, PLAIN);
	make_project(f, "{\"project\": {\"name\": \"flaky\"}}", id, NULL);
	e2e_set_faults(f->own, "{\"unavailable_rate\": 1}");
	for (int i = 0; i < 5; i++)
		expect_error(f, "GET", 503, "", "project details are temporarily unavailable", NULL, "/projects/%s", id);
	o = api(f, "GET", 200, NULL, "/projects?limit=10");
	assert_int_equal(e2e_need_len(o, "projects"), 0);
	assert_string_equal(e2e_need_str(o, "unavailable_project_ids.0"), id);
	json_decref(o);
	/* a missing project is still a 404 */
	expect_error(f, "GET", 404, "", "project not found", NULL, "/projects/no-such-project-1");

	/* half the reads fail, each on its own roll: reading again works */
	e2e_set_faults(f->own, "{\"unavailable_rate\": 0.5}");
	path = xasprintf("/api/v2/projects/%s", id);
	for (int i = 0; i < 100; i++) {
		sim_response r;

		if (sim_request(f->own, "GET", path, NULL, &r) != 0)
			fail_msg("GET %s: %s", path, err_msg());
		e2e_conforms(f->api, "GET", path, &r);
		if (r.status == 200)
			ok++;
		else if (r.status == 503)
			unavailable++;
		else
			fail_msg("GET %s: status %ld", path, r.status);
		sim_response_release(&r);
	}
	free(path);
	assert_true(ok > 20 && unavailable > 20);

	e2e_set_faults(f->own, "{\"unavailable_rate\": 0}");
	for (int i = 0; i < 5; i++)
		json_decref(api(f, "GET", 200, NULL, "/projects/%s", id));
	e2e_stop(&f->own);
}

/* ----------------------------------------------------------- activity */

/*
 * A project activity has just woken: its start_compute began less than a
 * second ago, so it has two more to run (of --activity-op-ms 3000) and the
 * compute a second or more before it can go idle (300 sim seconds, two
 * real ones at --time-scale 150); and it came a sim second or more after
 * the project was made, so that updated_at can be seen to move. Its id
 * and the operation's into the waking `arg`; false when there is none yet.
 */
typedef struct waking {
	char id[64], op[40];
} waking;

static bool find_waking(fixture *f, void *arg)
{
	waking *w = arg;
	json_t *o = api(f, "GET", 200, NULL, "/projects?limit=100"), *it, *ops, *x;
	bool found = false;
	size_t i, k;

	json_array_foreach(sim_json_get(o, "projects"), i, it) {
		if (found || !sim_json_get(it, "compute_last_active_at"))
			continue;
		ops = api(f, "GET", 200, NULL, "/projects/%s/operations", e2e_need_str(it, "id"));
		json_array_foreach(sim_json_get(ops, "operations"), k, x) {
			if (found || strcmp(e2e_need_str(x, "action"), "start_compute") != 0 ||
			    is_status(x, "finished") || e2e_need_int(x, "total_duration_ms") > 1000 ||
			    e2e_need_time(x, "created_at") <= e2e_need_time(it, "created_at"))
				continue;
			str_copy(w->id, e2e_need_str(it, "id"), sizeof(w->id));
			str_copy(w->op, e2e_need_str(x, "id"), sizeof(w->op));
			found = true;
		}
		json_decref(ops);
	}
	json_decref(o);
	return found;
}

/* A suspend_compute of project `id` made after the sim time `after`. */
typedef struct suspended {
	const char *id;
	int64_t after;
} suspended;

static bool find_suspend(fixture *f, void *arg)
{
	suspended *want = arg;
	json_t *last = newest_op(f, want->id, "suspend_compute");
	bool found = last && e2e_need_time(last, "created_at") > want->after;

	json_decref(last);
	return found;
}

/*
 * --activity on a fast clock: woken projects get a start_compute that
 * locks them (423) and moves updated_at and compute_last_active_at; once
 * activity stops, each goes idle and gets a suspend_compute that moves
 * updated_at again; then mutations go through. The sim stops cleanly with
 * its ticker running.
 */
static void test_activity(void **state)
{
	static const char *const args[] = { "--activity", "6", "--time-scale", "150", "--activity-op-ms", "3000",
		"--op-delay-ms", "20", "--rate-per-minute", "0", NULL };
	fixture *f = *state;
	waking w;
	suspended later;
	const char *id = w.id;
	int64_t created;
	json_t *o;

	e2e_start(&f->own, args);
	populate(f, 20, NULL);
	wait_until(f, find_waking, &w, 20, "no project was woken");
	/* the start_compute has two seconds or more to go: the project is locked */
	expect_error(f, "PATCH", 423, "", LOCKED_MESSAGE, "{\"project\": {\"name\": \"renamed\"}}", "/projects/%s", id);
	o = api(f, "GET", 200, NULL, "/projects/%s/endpoints", id);
	assert_string_equal(e2e_need_str(o, "endpoints.0.current_state"), "init");
	json_decref(o);
	o = api(f, "GET", 200, NULL, "/projects/%s", id);
	created = e2e_need_time(o, "project.created_at");
	assert_true(e2e_need_time(o, "project.updated_at") > created);
	assert_true(e2e_need_time(o, "project.compute_last_active_at") >= e2e_need_time(o, "project.updated_at"));
	json_decref(o);
	assert_true(e2e_stat_int(f->own, "activity.wakes") >= 1);
	assert_true(e2e_stat_int(f->own, "cold_starts") >= 1);

	/* no more wakes: the compute goes idle after its timeout (300 sim
	 * seconds, two real ones here) and is suspended */
	e2e_set_faults(f->own, "{\"activity_per_minute\": 0}");
	o = control(f, "/__sim/faults", NULL);
	assert_true(json_number_value(sim_json_get(o, "activity_per_minute")) == 0);
	json_decref(o);
	o = api(f, "GET", 200, NULL, "/projects/%s", id);
	later.id = id;
	later.after = e2e_need_time(o, "project.updated_at");
	json_decref(o);
	/* earlier rounds of waking and idling may have left older ones */
	wait_until(f, find_suspend, &later, 50, "no suspend_compute came");
	o = api(f, "GET", 200, NULL, "/projects/%s", id);
	assert_true(e2e_need_time(o, "project.updated_at") > later.after);
	json_decref(o);
	assert_true(e2e_stat_int(f->own, "activity.suspends") >= 1);

	/* once activity's operations are over, the project takes changes */
	wait_ops(f, id);
	o = api(f, "PATCH", 200, "{\"project\": {\"name\": \"renamed\"}}", "/projects/%s", id);
	assert_string_equal(e2e_need_str(o, "project.name"), "renamed");
	json_decref(o);
	/* the ticker still runs: SIGTERM must stop it with the rest */
	e2e_stop(&f->own);
}

/* Heavy activity does not keep the sim from answering or from stopping. */
static void test_activity_shutdown(void **state)
{
	static const char *const args[] = { "--activity", "3000", "--time-scale", "60", "--activity-op-ms", "50",
		QUICK, NULL };
	fixture *f = *state;
	stat_goal wakes = { "activity.wakes", 500, true };

	e2e_start(&f->own, args);
	populate(f, 200, NULL);
	wait_until(f, stat_reached, &wakes, 0, "fewer than 500 wakes came");
	e2e_stop(&f->own);
}

/* How many projects have ever been active (compute_last_active_at). */
static size_t count_woken(fixture *f)
{
	json_t *o = api(f, "GET", 200, NULL, "/projects?limit=400"), *it;
	size_t i, n = 0;

	json_array_foreach(sim_json_get(o, "projects"), i, it)
		n += sim_json_get(it, "compute_last_active_at") != NULL;
	json_decref(o);
	return n;
}

/*
 * POST /__sim/wake {"count": N} wakes exactly N distinct live projects,
 * each with a start_compute and, once idle, a suspend_compute; it skips
 * disabled computes and deleted projects, and wakes no more than there are.
 */
static void test_wake(void **state)
{
	static const char *const args[] = { "--time-scale", "600", "--activity-op-ms", "200", QUICK,
		NULL };
	fixture *f = *state;
	char ids[20][64], ep[64];
	stat_goal suspends = { "activity.suspends", 7, false };
	json_t *o, *it;
	size_t i, started = 0;

	e2e_start(&f->own, args);
	populate(f, 20, NULL);
	o = api(f, "GET", 200, NULL, "/projects?limit=20");
	json_array_foreach(sim_json_get(o, "projects"), i, it)
		str_copy(ids[i], e2e_need_str(it, "id"), 64);
	json_decref(o);
	assert_int_equal(count_woken(f), 0);

	o = control(f, "/__sim/wake", "{\"count\": 7}");
	assert_int_equal(e2e_need_int(o, "woken"), 7);
	json_decref(o);
	assert_int_equal(count_woken(f), 7);
	assert_int_equal(e2e_stat_int(f->own, "activity.wakes"), 7);
	assert_int_equal(e2e_stat_int(f->own, "cold_starts"), 7);
	for (i = 0; i < 20; i++)
		started += has_op(f, ids[i], "start_compute");
	assert_int_equal(started, 7);
	wait_until(f, stat_reached, &suspends, 50, "the woken computes were not suspended");
	assert_int_equal(e2e_stat_int(f->own, "activity.suspends"), 7);

	json_decref(e2e_json(f->own, "POST", 400, "{\"count\": 0}", "/__sim/wake"));
	json_decref(e2e_json(f->own, "POST", 400, "{\"count\": \"7\"}", "/__sim/wake"));

	/* a disabled compute is not woken, nor a deleted project */
	wait_ops(f, ids[0]);
	o = api(f, "GET", 200, NULL, "/projects/%s/endpoints", ids[0]);
	str_copy(ep, e2e_need_str(o, "endpoints.0.id"), sizeof(ep));
	json_decref(o);
	json_decref(api(f, "PATCH", 200, "{\"endpoint\": {\"disabled\": true}}", "/projects/%s/endpoints/%s",
		ids[0], ep));
	wait_ops(f, ids[1]);
	json_decref(api(f, "DELETE", 200, NULL, "/projects/%s", ids[1]));
	o = control(f, "/__sim/wake", "{\"count\": 100}");
	assert_int_equal(e2e_need_int(o, "woken"), 18);
	json_decref(o);
	assert_int_equal(e2e_stat_int(f->own, "activity.wakes"), 25);
	e2e_stop(&f->own);
}

/* --------------------------------------------------- failing operations */

/*
 * Follow one operation until it ends, as a client polling it would; the
 * statuses seen, in order, without repeats, into seq; the first time it
 * is `failed`, a PATCH of the project must get 423. The last Operation
 * seen, a new reference.
 */
static json_t *follow_op(fixture *f, const char *p, const char *op, const char *first, char *seq, size_t size)
{
	int64_t deadline = mono_ms() + DEADLINE_MS;
	bool patched = false;
	json_t *it = NULL;

	str_copy(seq, first, size);
	for (;;) {
		const char *st, *last;

		json_decref(it);
		it = get_op(f, p, op);
		st = e2e_need_str(it, "status");
		last = strrchr(seq, ',') ? strrchr(seq, ',') + 1 : seq;
		if (strcmp(st, last) != 0) {
			char *more = xasprintf("%s,%s", seq, st);

			str_copy(seq, more, size);
			free(more);
		}
		if (strcmp(st, "failed") == 0) {
			assert_int_equal(e2e_need_int(it, "failures_count"), 1);
			assert_true(e2e_need_time(it, "retry_at") >= e2e_need_time(it, "created_at"));
			assert_true(strlen(e2e_need_str(it, "error")) > 0);
			if (!patched)
				expect_error(f, "PATCH", 423, "", LOCKED_MESSAGE,
					"{\"project\": {\"name\": \"meanwhile\"}}", "/projects/%s", p);
			patched = true;
		}
		if (strcmp(st, "finished") == 0 || strcmp(st, "error") == 0)
			return it;
		if (mono_ms() > deadline)
			fail_msg("operation '%s' did not end within %d ms: %s", op, DEADLINE_MS, seq);
		sim_sleep_ms(20);
	}
}

/* op_retry_rate 1: every operation fails once (failed, failures_count 1,
 * retry_at, error), runs again and finishes; the project is locked until
 * then. */
static void test_ops_retried(void **state)
{
	static const char *const args[] = { "--op-delay-ms", "600", "--rate-per-minute", "0", NULL };
	fixture *f = *state;
	char id[64], op[40], seq[256];
	json_t *o;

	e2e_start(&f->own, args);
	e2e_set_faults(f->own, "{\"op_retry_rate\": 1}");
	o = api(f, "POST", 201, "{\"project\": {\"name\": \"retried\"}}", "/projects");
	str_copy(id, e2e_need_str(o, "project.id"), sizeof(id));
	str_copy(op, e2e_need_str(o, "operations.1.id"), sizeof(op));
	assert_string_equal(e2e_need_str(o, "operations.1.status"), "scheduling");
	assert_int_equal(e2e_need_int(o, "operations.1.failures_count"), 0);
	assert_null(sim_json_get(o, "operations.1.retry_at"));
	json_decref(o);

	o = follow_op(f, id, op, "scheduling", seq, sizeof(seq));
	assert_string_equal(seq, "scheduling,running,failed,running,finished");
	assert_int_equal(e2e_need_int(o, "failures_count"), 1);
	assert_string_equal(e2e_need_str(o, "error"), "compute start timed out (injected)");
	assert_true(e2e_need_time(o, "retry_at") >= e2e_need_time(o, "created_at"));
	assert_int_equal(e2e_need_int(o, "total_duration_ms"), 1800);
	json_decref(o);
	assert_int_equal(e2e_stat_int(f->own, "operations.retried"), 2);
	assert_int_equal(e2e_stat_int(f->own, "operations.errored"), 0);
	wait_ops(f, id);
	json_decref(api(f, "PATCH", 200, "{\"project\": {\"name\": \"retried-2\"}}", "/projects/%s", id));
	e2e_stop(&f->own);
}

/* --op-fail-rate 1: every operation ends in error with failures_count 2;
 * the project is locked until then, and the change was made. */
static void test_ops_errored(void **state)
{
	static const char *const args[] = { "--op-fail-rate", "1", "--op-delay-ms", "450", "--rate-per-minute", "0",
		NULL };
	fixture *f = *state;
	char id[64], op[40], seq[256];
	json_t *o;

	e2e_start(&f->own, args);
	o = api(f, "POST", 201, "{\"project\": {\"name\": \"errored\"}}", "/projects");
	str_copy(id, e2e_need_str(o, "project.id"), sizeof(id));
	str_copy(op, e2e_need_str(o, "operations.0.id"), sizeof(op));
	json_decref(o);
	o = follow_op(f, id, op, "scheduling", seq, sizeof(seq));
	assert_string_equal(seq, "scheduling,running,failed,running,error");
	assert_int_equal(e2e_need_int(o, "failures_count"), 2);
	assert_string_equal(e2e_need_str(o, "error"), "pageserver did not create the timeline in time (injected)");
	assert_non_null(sim_json_get(o, "retry_at"));
	assert_int_equal(e2e_need_int(o, "total_duration_ms"), 1350);
	json_decref(o);
	wait_ops(f, id);
	assert_int_equal(e2e_stat_int(f->own, "operations.errored"), 2);
	assert_int_equal(e2e_stat_int(f->own, "operations.unfinished"), 0);
	/* an operation in error leaves its change made and the project free */
	o = api(f, "PATCH", 200, "{\"project\": {\"name\": \"errored-2\"}}", "/projects/%s", id);
	assert_string_equal(e2e_need_str(o, "project.name"), "errored-2");
	json_decref(o);
	o = control(f, "/__sim/faults", NULL);
	assert_true(json_number_value(sim_json_get(o, "op_fail_rate")) == 1);
	json_decref(o);
	e2e_stop(&f->own);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		HARSH_TEST(test_org_id_required),
		HARSH_TEST(test_org_id_optional),
		HARSH_TEST(test_unavailable_pages),
		HARSH_TEST(test_unavailable_get),
		HARSH_TEST(test_activity),
		HARSH_TEST(test_activity_shutdown),
		HARSH_TEST(test_wake),
		HARSH_TEST(test_ops_retried),
		HARSH_TEST(test_ops_errored),
	};

	return HARSH_RUN("sim-harsh", tests);
}
