/*
 * test-sim-smoke.c: the first end-to-end check of flotilla-sim, and of the
 * harness that later e2e tests build on. It starts a real sim on loopback,
 * creates a project, holds every body it gets against the Neon OpenAPI
 * document, waits for the project's operations, and stops the sim with
 * SIGTERM expecting a clean exit. The harness's own edges (request id
 * echo, no key, a dead server as a transport error) are checked on the
 * way. Skipped when FLOTILLA_SIM is not set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <curl/curl.h>

#include "tests/sim/e2e.h"

typedef struct fixture {
	oapi *api;
	sim_proc *sim;
	char *project_id;   /* owned here, so a failed assertion leaks nothing */
} fixture;

/* GET `path` (from the server root) straight through the harness: it must
 * answer 200 with what the document declares for `doc_path`. */
static void get_conforms(fixture *f, const char *path, const char *doc_path)
{
	sim_response r;

	assert_int_equal(sim_request(f->sim, "GET", path, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	e2e_conforms(f->api, "GET", doc_path, &r);
	sim_response_release(&r);
}

static int setup(void **state)
{
	static const char *const args[] = { "--op-delay-ms", "20", NULL };
	fixture *f = xcalloc(1, sizeof(*f));

	if (e2e_setup_oapi(&f->api) < 0 || e2e_setup_sim(&f->sim, args) < 0) {
		oapi_free(f->api);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	sim_free(f->sim);
	oapi_free(f->api);
	free(f->project_id);
	free(f);
	return 0;
}

static void test_health(void **state)
{
	fixture *f = *state;
	sim_response r;

	assert_int_equal(sim_request(f->sim, "GET", "/__sim/health", NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(r.json);
	assert_true(json_is_true(json_object_get(r.json, "ok")));
	/* the sim clock, as the API's times are written */
	const char *now = json_string_value(json_object_get(r.json, "now"));
	assert_non_null(now);
	assert_int_equal(strlen(now), 20);
	assert_int_equal(now[19], 'Z');
	assert_true(str_has_prefix(sim_base_url(f->sim), "http://127.0.0.1:"));
	assert_true(sim_port(f->sim) > 0);
	sim_response_release(&r);
}

static void test_create_project(void **state)
{
	fixture *f = *state;
	sim_response r;
	json_t *stats = NULL, *route;
	const char *id;
	char *path;

	assert_int_equal(sim_request(f->sim, "POST", "/api/v2/projects",
		"{\"project\": {\"name\": \"smoke\", \"region_id\": \"aws-us-east-2\"}}", &r), 0);
	assert_int_equal(r.status, 201);
	assert_true(r.request_id[0] != 0);
	e2e_conforms(f->api, "POST", "/projects", &r);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "project"),
		"name")), "smoke");
	id = json_string_value(json_object_get(json_object_get(r.json, "project"), "id"));
	assert_non_null(id);
	f->project_id = xstrdup(id);
	id = f->project_id;
	sim_response_release(&r);

	e2e_wait_ops(f->sim, id);

	path = xasprintf("/api/v2/projects/%s", id);
	get_conforms(f, path, path);
	free(path);
	path = xasprintf("/api/v2/projects/%s/operations", id);
	get_conforms(f, path, path);
	free(path);
	get_conforms(f, "/api/v2/projects", "/projects");

	assert_int_equal(sim_stats(f->sim, &stats), 0);
	route = json_object_get(json_object_get(stats, "requests"), "POST /projects");
	assert_int_equal(json_integer_value(json_object_get(route, "201")), 1);
	assert_true(json_integer_value(json_object_get(stats, "projects")) >= 1);
	json_decref(stats);
}

static void test_errors_conform(void **state)
{
	fixture *f = *state;
	sim_response r;

	assert_int_equal(sim_request(f->sim, "GET", "/api/v2/projects/no-such-project", NULL, &r), 0);
	assert_int_equal(r.status, 404);
	e2e_conforms(f->api, "GET", "/projects/{project_id}", &r);
	sim_response_release(&r);

	sim_set_key(f->sim, NULL);
	assert_int_equal(sim_request(f->sim, "GET", "/api/v2/projects", NULL, &r), 0);
	sim_set_key(f->sim, SIM_DEFAULT_KEY);
	assert_int_equal(r.status, 401);
	e2e_conforms(f->api, "GET", "/projects", &r);
	sim_response_release(&r);

	sim_set_key(f->sim, "wrong-key");
	assert_int_equal(sim_request(f->sim, "GET", "/api/v2/projects", NULL, &r), 0);
	sim_set_key(f->sim, SIM_DEFAULT_KEY);
	assert_int_equal(r.status, 401);
	sim_response_release(&r);

	assert_int_equal(sim_wait_ops(f->sim, "no-such-project", 2000), ERR_NOTFOUND);
}

static void test_request_id_echo(void **state)
{
	fixture *f = *state;
	sim_response r;

	sim_set_request_id(f->sim, "smoke-req-1");
	assert_int_equal(sim_request(f->sim, "GET", "/api/v2/projects", NULL, &r), 0);
	sim_set_request_id(f->sim, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.request_id, "smoke-req-1");
	sim_response_release(&r);
}

/* A second sim, killed: requests to it are transport errors, and a sim
 * that was SIGKILLed reports so. */
static void test_dead_sim(void **state)
{
	sim_proc *s = NULL;
	sim_response r;
	int status = 0;

	(void)state;
	assert_int_equal(sim_start(&s, NULL), 0);
	assert_true(sim_pid(s) > 0);
	assert_int_equal(sim_kill(s, &status), 0);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(sim_pid(s), -1);
	assert_int_equal(sim_request(s, "GET", "/__sim/health", NULL, &r), ERR_IO);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.curl_code, CURLE_COULDNT_CONNECT);
	assert_true(r.error[0] != 0);
	sim_response_release(&r);
	assert_int_equal(sim_stop(s, &status), ERR_FAIL);
	sim_free(s);

	{
		static const char *const bad[] = { "--listen=0.0.0.0:80", NULL };

		assert_int_equal(sim_start(&s, bad), ERR_INVALID);
		assert_null(s);
	}
}

/* Last: SIGTERM must end the sim with status 0. */
static void test_stop(void **state)
{
	fixture *f = *state;

	e2e_stop(&f->sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_create_project),
		cmocka_unit_test(test_errors_conform),
		cmocka_unit_test(test_request_id_echo),
		cmocka_unit_test(test_dead_sim),
		cmocka_unit_test(test_stop),
	};

	if (e2e_skip_without_sim())
		return 0;
	return cmocka_run_group_tests_name("sim-smoke", tests, setup, teardown);
}
