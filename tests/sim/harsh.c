/*
 * harsh.c: the fixture and request helpers that test-sim-harsh.c and
 * test-sim-plans.c share (harsh.h).
 *
 * Compiled into both test programs, as e2e.c is, because it needs cmocka
 * and the sim_test library does not. vconformed, the one request all the
 * others are made of, stays private to this file.
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

/* ----------------------------------------------------------- fixture */

int harsh_setup(void **state)
{
	fixture *f = xcalloc(1, sizeof(*f));

	if (e2e_setup_oapi(&f->api) < 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

int harsh_test_teardown(void **state)
{
	fixture *f = *state;

	sim_free(f->own);
	f->own = NULL;
	sim_dir_remove(f->data_dir);
	f->data_dir = NULL;
	return 0;
}

int harsh_teardown(void **state)
{
	fixture *f = *state;

	harsh_test_teardown(state);
	oapi_free(f->api);
	free(f);
	return 0;
}

/* ------------------------------------------------------------ requests */

/* A Neon API request to the path fmt makes; the answer (*r, for the caller
 * to release) must have status `want` and conform to the OpenAPI document. */
static void vconformed(fixture *f, const char *method, long want, const char *body, sim_response *r,
	const char *fmt, va_list ap) PRINTF(6, 0);
static void vconformed(fixture *f, const char *method, long want, const char *body, sim_response *r,
	const char *fmt, va_list ap)
{
	char path[1024], full[1100];

	vsnprintf(path, sizeof(path), fmt, ap);
	e2e_call(f->own, method, want, body, r, "%s", path);
	snprintf(full, sizeof(full), "/api/v2%s", path);
	e2e_conforms(f->api, method, full, r);
}

/* vconformed; the body, a new reference (NULL for a 204). */
json_t *api(fixture *f, const char *method, long want, const char *body, const char *fmt, ...)
{
	sim_response r;
	va_list ap;
	json_t *out;

	va_start(ap, fmt);
	vconformed(f, method, want, body, &r, fmt, ap);
	va_end(ap);
	out = json_incref(r.json);
	sim_response_release(&r);
	return out;
}

/* vconformed, and the body is exactly that error. */
void expect_error(fixture *f, const char *method, long want, const char *code,
	const char *message, const char *body, const char *fmt, ...)
{
	sim_response r;
	va_list ap;

	va_start(ap, fmt);
	vconformed(f, method, want, body, &r, fmt, ap);
	va_end(ap);
	assert_int_equal(json_object_size(r.json), 3);
	assert_string_equal(e2e_need_str(r.json, "code"), code);
	assert_string_equal(e2e_need_str(r.json, "message"), message);
	assert_string_equal(e2e_need_str(r.json, "request_id"), r.request_id);
	sim_response_release(&r);
}

/* A control-plane call that must answer 200; its body. */
json_t *control(fixture *f, const char *path, const char *body)
{
	return e2e_json(f->own, body ? "POST" : "GET", 200, body, "%s", path);
}

void populate(fixture *f, int count, const char *extra)
{
	char body[256];

	snprintf(body, sizeof(body), "{\"count\": %d, \"name_prefix\": \"harsh-\"%s}", count, extra ? extra : "");
	json_decref(control(f, "/__sim/populate", body));
}

/* A project made by POST /projects; its id into id[64]. */
void make_project(fixture *f, const char *body, char id[64], char branch[64])
{
	json_t *o = api(f, "POST", 201, body, "/projects");

	str_copy(id, e2e_need_str(o, "project.id"), 64);
	if (branch)
		str_copy(branch, e2e_need_str(o, "branch.id"), 64);
	json_decref(o);
}

/* ---------------------------------------------------------- operations */

/* Until every operation of p has ended, `failed` ones included. */
void wait_ops(fixture *f, const char *p)
{
	if (sim_wait_ops_ended(f->own, p, DEADLINE_MS) != 0)
		fail_msg("sim_wait_ops_ended %s: %s", p, err_msg());
}

/* GET one operation; a new reference to its Operation. */
json_t *get_op(fixture *f, const char *p, const char *op)
{
	json_t *o = api(f, "GET", 200, NULL, "/projects/%s/operations/%s", p, op);
	json_t *it = json_incref(sim_json_get(o, "operation"));

	json_decref(o);
	return it;
}
