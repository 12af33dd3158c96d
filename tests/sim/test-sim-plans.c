/*
 * test-sim-plans.c: flotilla-sim's harsher behaviours (docs/sim.md,
 * "Neon's harsher behaviours") that limit what a client may change, and
 * the flags themselves, one cmocka test or more each, against real sims
 * on loopback: protected branches (a project with one cannot be deleted,
 * nor the branch's computes), the limits of --plan free, launch and scale
 * (projects, branches, protected branches, history retention, compute
 * sizes) and --max-projects, endpoint names kept across a --data restart
 * (with an operation that ended in error), and the flags and fault keys
 * of the harsher behaviours: their start values, POST /__sim/reset, and
 * values out of range. test-sim-harsh.c has org_id, unavailable pages,
 * activity and failing operations.
 *
 * Each test starts its own sim with the flags it needs (harsh.h). Every
 * answer of the Neon API is held against the OpenAPI document. Skipped
 * when FLOTILLA_SIM is not set.
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

/* Sims whose operations end at once and whose rates are not limited, on
 * three of the plans (PLAIN, in harsh.h, has no plan). */
static const char *const FREE[] = { "--plan", "free", QUICK, NULL };
static const char *const LAUNCH[] = { "--plan", "launch", QUICK, NULL };
static const char *const SCALE[] = { "--plan", "scale", QUICK, NULL };

/* ----------------------------------------------------------- helpers */

/* A --data file in a private directory, removed by harsh_test_teardown. */
static void data_file(fixture *f, char out[4096])
{
	if (sim_dir_new(&f->data_dir) != 0)
		fail_msg("sim_dir_new: %s", err_msg());
	snprintf(out, 4096, "%s/sim.db", f->data_dir);
}

/* ------------------------------------------------- protected branches */

static void branch(fixture *f, long want, const char *p, const char *name, bool protected_, char id[64])
{
	char body[256];
	json_t *o;

	snprintf(body, sizeof(body), "{\"branch\": {\"name\": \"%s\", \"protected\": %s}}", name,
		protected_ ? "true" : "false");
	o = api(f, "POST", want, body, "/projects/%s/branches", p);
	if (id)
		str_copy(id, e2e_need_str(o, "branch.id"), 64);
	json_decref(o);
}

/* The protected-branch limit of --plan launch (2) and free (0), on create
 * and on PATCH. */
static void test_protected_limit(void **state)
{
	static const char *const body = "{\"branch\": {\"name\": \"p3\", \"protected\": true}}";
	fixture *f = *state;
	char p[64], main_br[64], p1[64], u1[64];

	e2e_start(&f->own, LAUNCH);
	make_project(f, "{\"project\": {\"name\": \"prot\"}}", p, main_br);
	branch(f, 201, p, "p1", true, p1);
	branch(f, 201, p, "p2", true, NULL);
	expect_error(f, "POST", 422, "BRANCHES_PROTECTED_LIMIT_EXCEEDED", "protected branches limit of 2 exceeded",
		body, "/projects/%s/branches", p);
	branch(f, 201, p, "u1", false, u1);
	expect_error(f, "PATCH", 422, "BRANCHES_PROTECTED_LIMIT_EXCEEDED", "protected branches limit of 2 exceeded",
		"{\"branch\": {\"protected\": true}}", "/projects/%s/branches/%s", p, u1);
	/* one already protected does not count again */
	json_decref(api(f, "PATCH", 200, "{\"branch\": {\"protected\": true}}", "/projects/%s/branches/%s", p, p1));
	json_decref(api(f, "PATCH", 200, "{\"branch\": {\"protected\": false}}", "/projects/%s/branches/%s", p, p1));
	json_decref(api(f, "PATCH", 200, "{\"branch\": {\"protected\": true}}", "/projects/%s/branches/%s", p, u1));
	e2e_stop(&f->own);

	e2e_start(&f->own, FREE);
	make_project(f, "{\"project\": {\"name\": \"prot-free\"}}", p, main_br);
	expect_error(f, "POST", 422, "BRANCHES_PROTECTED_LIMIT_EXCEEDED", "protected branches limit of 0 exceeded",
		body, "/projects/%s/branches", p);
	expect_error(f, "PATCH", 422, "BRANCHES_PROTECTED_LIMIT_EXCEEDED", "protected branches limit of 0 exceeded",
		"{\"branch\": {\"protected\": true}}", "/projects/%s/branches/%s", p, main_br);
	branch(f, 201, p, "u1", false, NULL);
	e2e_stop(&f->own);
}

/* A project with a protected branch cannot be deleted (nothing changes),
 * nor the computes of the branch; without --plan any number may be
 * protected. */
static void test_protected_project_delete(void **state)
{
	fixture *f = *state;
	char p[64], id[64], msg[160], ep[64];
	json_t *o;

	e2e_start(&f->own, PLAIN);
	make_project(f, "{\"project\": {\"name\": \"keep-me\"}}", p, NULL);
	for (int i = 0; i < 6; i++) {
		char name[16];

		snprintf(name, sizeof(name), "prot-%d", i);
		branch(f, 201, p, name, true, id);
	}
	snprintf(msg, sizeof(msg), "project '%s' has protected branches and cannot be deleted", p);
	expect_error(f, "DELETE", 400, "", msg, NULL, "/projects/%s", p);
	o = api(f, "GET", 200, NULL, "/projects/%s/branches", p);
	assert_int_equal(e2e_need_len(o, "branches"), 7);
	json_decref(o);
	assert_int_equal(e2e_stat_int(f->own, "projects_deleted"), 0);

	snprintf(msg, sizeof(msg), "{\"endpoint\": {\"branch_id\": \"%s\", \"type\": \"read_only\"}}", id);
	o = api(f, "POST", 201, msg, "/projects/%s/endpoints", p);
	str_copy(ep, e2e_need_str(o, "endpoint.id"), sizeof(ep));
	json_decref(o);
	snprintf(msg, sizeof(msg), "cannot delete endpoint '%s': branch 'prot-5' is protected", ep);
	expect_error(f, "DELETE", 400, "", msg, NULL, "/projects/%s/endpoints/%s", p, ep);

	o = api(f, "GET", 200, NULL, "/projects/%s/branches", p);
	for (size_t i = 0; i < 7; i++) {
		json_t *b = json_array_get(sim_json_get(o, "branches"), i);

		if (json_is_true(sim_json_get(b, "protected")))
			json_decref(api(f, "PATCH", 200, "{\"branch\": {\"protected\": false}}",
				"/projects/%s/branches/%s", p, e2e_need_str(b, "id")));
	}
	json_decref(o);
	json_decref(api(f, "DELETE", 200, NULL, "/projects/%s", p));
	e2e_stop(&f->own);
}

/* -------------------------------------------------------- plan limits */

/* GET /users/me reports the plan's figures. */
static void expect_user(fixture *f, json_int_t projects, json_int_t branches, double cu, const char *plan)
{
	json_t *o = api(f, "GET", 200, NULL, "/users/me");

	assert_int_equal(e2e_need_int(o, "projects_limit"), projects);
	assert_int_equal(e2e_need_int(o, "branches_limit"), branches);
	assert_true(json_number_value(sim_json_get(o, "max_autoscaling_limit")) == cu);
	assert_string_equal(e2e_need_str(o, "plan"), plan);
	json_decref(o);
}

/* The project limit of --plan free (100), on create and recover, and
 * --max-projects over it; /users/me and the organizations say the plan. */
static void test_plan_projects(void **state)
{
	static const char *const capped[] = { "--plan", "free", "--max-projects", "3", QUICK,
		NULL };
	static const char *const body = "{\"project\": {\"name\": \"one-more\"}}";
	fixture *f = *state;
	char id[64];
	json_t *o;

	e2e_start(&f->own, FREE);
	populate(f, 99, NULL);
	make_project(f, body, id, NULL);
	expect_error(f, "POST", 422, "PROJECTS_LIMIT_EXCEEDED", "user projects limit of 100 exceeded, got 100", body,
		"/projects");
	json_decref(api(f, "DELETE", 200, NULL, "/projects/%s", id));
	json_decref(api(f, "POST", 201, body, "/projects"));
	expect_error(f, "POST", 422, "PROJECTS_LIMIT_EXCEEDED", "user projects limit of 100 exceeded, got 100", NULL,
		"/projects/%s/recover", id);
	expect_user(f, 100, 10, 2, "free");
	o = api(f, "GET", 200, NULL, "/users/me/organizations");
	assert_string_equal(e2e_need_str(o, "organizations.0.plan"), "free");
	json_decref(o);
	e2e_stop(&f->own);

	e2e_start(&f->own, capped);
	populate(f, 2, NULL);
	json_decref(api(f, "POST", 201, body, "/projects"));
	expect_error(f, "POST", 422, "PROJECTS_LIMIT_EXCEEDED", "user projects limit of 3 exceeded, got 3", body,
		"/projects");
	expect_user(f, 3, 10, 2, "free");
	e2e_stop(&f->own);

	e2e_start(&f->own, SCALE);
	expect_user(f, 1000, 25, 16, "scale");
	o = api(f, "POST", 201, body, "/projects");
	assert_int_equal(e2e_need_int(o, "project.owner.branches_limit"), 25);
	assert_string_equal(e2e_need_str(o, "project.owner.subscription_type"), "scale");
	json_decref(o);
	e2e_stop(&f->own);

	e2e_start(&f->own, PLAIN);
	expect_user(f, 1000000, 5000, 16, "scale");
	e2e_stop(&f->own);
}

/* The branch limit and the history retention of --plan free. */
static void test_plan_branches_and_retention(void **state)
{
	fixture *f = *state;
	char p[64], last[64];
	json_t *o;

	e2e_start(&f->own, FREE);
	o = api(f, "POST", 201, "{\"project\": {\"name\": \"short-memory\"}}", "/projects");
	str_copy(p, e2e_need_str(o, "project.id"), sizeof(p));
	assert_int_equal(e2e_need_int(o, "project.history_retention_seconds"), 21600);
	json_decref(o);
	expect_error(f, "POST", 400, "", "history_retention_seconds must be at most 21600 on the free plan, got 86400",
		"{\"project\": {\"history_retention_seconds\": 86400}}", "/projects");
	json_decref(api(f, "POST", 201, "{\"project\": {\"history_retention_seconds\": 21600}}", "/projects"));
	expect_error(f, "PATCH", 400, "", "history_retention_seconds must be at most 21600 on the free plan, got 30000",
		"{\"project\": {\"history_retention_seconds\": 30000}}", "/projects/%s", p);
	o = api(f, "PATCH", 200, "{\"project\": {\"history_retention_seconds\": 3600}}", "/projects/%s", p);
	assert_int_equal(e2e_need_int(o, "project.history_retention_seconds"), 3600);
	json_decref(o);

	for (int i = 1; i < 10; i++) {
		char name[16];

		snprintf(name, sizeof(name), "b-%d", i);
		branch(f, 201, p, name, false, last);
	}
	expect_error(f, "POST", 422, "BRANCHES_LIMIT_EXCEEDED", "branches limit of 10 exceeded",
		"{\"branch\": {\"name\": \"b-10\"}}", "/projects/%s/branches", p);
	json_decref(api(f, "DELETE", 200, NULL, "/projects/%s/branches/%s", p, last));
	branch(f, 201, p, "b-10", false, NULL);
	e2e_stop(&f->own);

	e2e_start(&f->own, LAUNCH);
	o = api(f, "POST", 201, "{\"project\": {\"name\": \"launch\"}}", "/projects");
	assert_int_equal(e2e_need_int(o, "project.history_retention_seconds"), 86400);
	json_decref(o);
	expect_error(f, "POST", 400, "", "history_retention_seconds must be at most 604800 on the launch plan, got 700000",
		"{\"project\": {\"history_retention_seconds\": 700000}}", "/projects");
	e2e_stop(&f->own);
}

/* Compute sizes past the plan's, wherever compute units are given. */
static void test_plan_compute(void **state)
{
	fixture *f = *state;
	char p[64], br[64], ep[64], body[256];
	json_t *o;

	e2e_start(&f->own, FREE);
	expect_error(f, "POST", 400, "", "autoscaling_limit_max_cu must be at most 2 on the free plan, got 4",
		"{\"project\": {\"default_endpoint_settings\": {\"autoscaling_limit_min_cu\": 0.25, "
		"\"autoscaling_limit_max_cu\": 4}}}", "/projects");
	expect_error(f, "POST", 400, "", "autoscaling_limit_max_cu must be at most 2 on the free plan, got 3",
		"{\"project\": {\"default_endpoint_settings\": {\"autoscaling_limit_min_cu\": 3, "
		"\"autoscaling_limit_max_cu\": 3}}}", "/projects");
	make_project(f, "{\"project\": {\"default_endpoint_settings\": {\"autoscaling_limit_min_cu\": 0.25, "
		"\"autoscaling_limit_max_cu\": 2}}}", p, br);
	expect_error(f, "PATCH", 400, "", "autoscaling_limit_max_cu must be at most 2 on the free plan, got 4",
		"{\"project\": {\"default_endpoint_settings\": {\"autoscaling_limit_max_cu\": 4}}}", "/projects/%s", p);
	snprintf(body, sizeof(body), "{\"endpoint\": {\"branch_id\": \"%s\", \"type\": \"read_only\", "
		"\"autoscaling_limit_max_cu\": 2.5}}", br);
	expect_error(f, "POST", 400, "", "autoscaling_limit_max_cu must be at most 2 on the free plan, got 2.5",
		body, "/projects/%s/endpoints", p);
	o = api(f, "GET", 200, NULL, "/projects/%s/endpoints", p);
	str_copy(ep, e2e_need_str(o, "endpoints.0.id"), sizeof(ep));
	json_decref(o);
	expect_error(f, "PATCH", 400, "", "autoscaling_limit_max_cu must be at most 2 on the free plan, got 4",
		"{\"endpoint\": {\"autoscaling_limit_max_cu\": 4}}", "/projects/%s/endpoints/%s", p, ep);
	expect_error(f, "POST", 400, "", "autoscaling_limit_max_cu must be at most 2 on the free plan, got 3",
		"{\"branch\": {\"name\": \"big\"}, \"endpoints\": [{\"type\": \"read_write\", "
		"\"autoscaling_limit_max_cu\": 3}]}", "/projects/%s/branches", p);
	o = api(f, "PATCH", 200, "{\"endpoint\": {\"autoscaling_limit_max_cu\": 2}}", "/projects/%s/endpoints/%s", p,
		ep);
	assert_true(json_number_value(sim_json_get(o, "endpoint.autoscaling_limit_max_cu")) == 2);
	json_decref(o);
	e2e_stop(&f->own);

	e2e_start(&f->own, LAUNCH);
	expect_error(f, "POST", 400, "", "autoscaling_limit_max_cu must be at most 16 on the launch plan, got 20",
		"{\"project\": {\"default_endpoint_settings\": {\"autoscaling_limit_min_cu\": 20, "
		"\"autoscaling_limit_max_cu\": 20}}}", "/projects");
	e2e_stop(&f->own);

	e2e_start(&f->own, SCALE);
	json_decref(api(f, "POST", 201, "{\"project\": {\"default_endpoint_settings\": {\"autoscaling_limit_min_cu\": 56, "
		"\"autoscaling_limit_max_cu\": 56}}}", "/projects"));
	json_decref(api(f, "POST", 201, "{\"project\": {\"default_endpoint_settings\": {\"autoscaling_limit_min_cu\": 8, "
		"\"autoscaling_limit_max_cu\": 16}}}", "/projects"));
	e2e_stop(&f->own);
}

/* ------------------------------------------------------ endpoint names */

static void expect_name(fixture *f, const char *p, const char *ep, const char *name)
{
	json_t *o = api(f, "GET", 200, NULL, "/projects/%s/endpoints/%s", p, ep);

	assert_string_equal(e2e_need_str(o, "endpoint.name"), name);
	json_decref(o);
}

/*
 * Endpoint.name is set on create, changed by PATCH, shown by every
 * rendering and kept across a --data restart; an endpoint without one has
 * none. The same restart reads back an operation that ended in error.
 */
static void test_endpoint_names(void **state)
{
	char db[4096];
	const char *args[] = { "--data", db, "--op-fail-rate", "1", "--op-delay-ms", "30", "--rate-per-minute", "0",
		NULL };
	fixture *f = *state;
	char p[64], br[64], ep[64], body[256], op[40], long_name[66];
	json_t *o, *it;
	size_t i, named = 0;

	data_file(f, db);
	e2e_start(&f->own, args);
	o = api(f, "POST", 201, "{\"project\": {\"name\": \"named\"}}", "/projects");
	str_copy(p, e2e_need_str(o, "project.id"), sizeof(p));
	str_copy(br, e2e_need_str(o, "branch.id"), sizeof(br));
	assert_null(sim_json_get(o, "endpoints.0.name"));
	json_decref(o);
	wait_ops(f, p);
	snprintf(body, sizeof(body), "{\"endpoint\": {\"branch_id\": \"%s\", \"type\": \"read_only\", "
		"\"name\": \"reader-1\"}}", br);
	o = api(f, "POST", 201, body, "/projects/%s/endpoints", p);
	str_copy(ep, e2e_need_str(o, "endpoint.id"), sizeof(ep));
	assert_string_equal(e2e_need_str(o, "endpoint.name"), "reader-1");
	str_copy(op, e2e_need_str(o, "operations.0.id"), sizeof(op));
	json_decref(o);
	expect_name(f, p, ep, "reader-1");
	wait_ops(f, p);
	o = api(f, "PATCH", 200, "{\"endpoint\": {\"name\": \"reader-2\"}}", "/projects/%s/endpoints/%s", p, ep);
	assert_string_equal(e2e_need_str(o, "endpoint.name"), "reader-2");
	json_decref(o);
	wait_ops(f, p);
	memset(long_name, 'n', 65);
	long_name[65] = 0;
	snprintf(body, sizeof(body), "{\"endpoint\": {\"name\": \"%s\"}}", long_name);
	expect_error(f, "PATCH", 400, "", "name must be a string of 1 to 64 characters", body,
		"/projects/%s/endpoints/%s", p, ep);
	long_name[64] = 0;
	snprintf(body, sizeof(body), "{\"endpoint\": {\"name\": \"%s\"}}", long_name);
	json_decref(api(f, "PATCH", 200, body, "/projects/%s/endpoints/%s", p, ep));
	wait_ops(f, p);
	json_decref(api(f, "PATCH", 200, "{\"endpoint\": {\"name\": \"reader-2\"}}", "/projects/%s/endpoints/%s", p,
		ep));
	wait_ops(f, p);
	e2e_stop(&f->own);

	e2e_start(&f->own, args);
	expect_name(f, p, ep, "reader-2");
	o = api(f, "GET", 200, NULL, "/projects/%s/endpoints", p);
	json_array_foreach(sim_json_get(o, "endpoints"), i, it)
		if (sim_json_get(it, "name")) {
			assert_string_equal(e2e_need_str(it, "name"), "reader-2");
			named++;
		}
	assert_int_equal(named, 1);
	json_decref(o);
	o = api(f, "GET", 200, NULL, "/projects/%s/branches/%s/endpoints", p, br);
	assert_int_equal(e2e_need_len(o, "endpoints"), 2);
	json_decref(o);
	/* an operation that ended in error reads back as one */
	it = get_op(f, p, op);
	assert_string_equal(e2e_need_str(it, "status"), "error");
	assert_int_equal(e2e_need_int(it, "failures_count"), 2);
	assert_int_equal(e2e_need_int(it, "total_duration_ms"), 90);
	json_decref(it);
	e2e_stop(&f->own);
}

/* ------------------------------------------------ flags and fault keys */

/*
 * The flags set the faults' start values, POST /__sim/reset goes back to
 * them, and the new fault keys are checked; flags out of range stop the
 * sim before it listens.
 */
static void test_flags_and_faults(void **state)
{
	static const char *const args[] = { "--unavailable-rate", "0.25", "--op-retry-rate", "0.5", "--op-fail-rate",
		"0.125", "--rate-per-minute", "0", NULL };
	static const char *const bad[][4] = {
		{ "--plan", "gold", NULL, NULL },
		{ "--org-id", "Org_1", NULL, NULL },
		{ "--unavailable-rate", "1.5", NULL, NULL },
		{ "--op-retry-rate", "0.6", "--op-fail-rate", "0.6" },
		{ "--activity", "-1", NULL, NULL },
	};
	fixture *f = *state;
	sim_proc *s = NULL;
	json_t *o;

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		const char *argv[5] = { bad[i][0], bad[i][1], bad[i][2], bad[i][3], NULL };

		if (sim_start(&s, argv) == 0)
			fail_msg("flotilla-sim started with %s %s", bad[i][0], bad[i][1]);
		assert_null(s);
	}

	e2e_start(&f->own, args);
	o = control(f, "/__sim/faults", NULL);
	assert_true(json_number_value(sim_json_get(o, "unavailable_rate")) == 0.25);
	assert_true(json_number_value(sim_json_get(o, "op_retry_rate")) == 0.5);
	assert_true(json_number_value(sim_json_get(o, "op_fail_rate")) == 0.125);
	assert_true(json_number_value(sim_json_get(o, "activity_per_minute")) == 0);
	json_decref(o);
	json_decref(e2e_json(f->own, "POST", 400, "{\"op_fail_rate\": 0.75}", "/__sim/faults"));
	json_decref(e2e_json(f->own, "POST", 400, "{\"unavailable_rate\": 2}", "/__sim/faults"));
	json_decref(e2e_json(f->own, "POST", 400, "{\"activity_per_minute\": -1}", "/__sim/faults"));
	e2e_set_faults(f->own, "{\"unavailable_rate\": 1, \"op_retry_rate\": 0, \"op_fail_rate\": 0}");
	e2e_reset(f->own);
	o = control(f, "/__sim/faults", NULL);
	assert_true(json_number_value(sim_json_get(o, "unavailable_rate")) == 0.25);
	assert_true(json_number_value(sim_json_get(o, "op_retry_rate")) == 0.5);
	json_decref(o);
	o = e2e_stats(f->own);
	assert_int_equal(e2e_need_int(o, "unavailable_listed"), 0);
	assert_int_equal(e2e_need_int(o, "activity.wakes"), 0);
	assert_int_equal(e2e_need_int(o, "activity.suspends"), 0);
	assert_int_equal(e2e_need_int(o, "operations.retried"), 0);
	assert_int_equal(e2e_need_int(o, "operations.errored"), 0);
	json_decref(o);
	e2e_stop(&f->own);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		HARSH_TEST(test_protected_limit),
		HARSH_TEST(test_protected_project_delete),
		HARSH_TEST(test_plan_projects),
		HARSH_TEST(test_plan_branches_and_retention),
		HARSH_TEST(test_plan_compute),
		HARSH_TEST(test_endpoint_names),
		HARSH_TEST(test_flags_and_faults),
	};

	return HARSH_RUN("sim-plans", tests);
}
