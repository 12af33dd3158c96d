/*
 * e2e.c: the assertions the end-to-end test programs share (e2e.h).
 *
 * Compiled into each e2e test program rather than into the sim_test
 * library, because it needs cmocka and the library does not: harness.c
 * and oapi.c report failures as return codes, this file turns them into
 * failed tests with messages that name the request, the path or the
 * member concerned.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/sim/e2e.h"

/* --------------------------------------------------------- main, setup */

bool e2e_skip_without_sim(void)
{
	const char *sim = getenv("FLOTILLA_SIM");

	if (sim && *sim)
		return false;
	/* TAP: a plan of zero with a reason is a skip */
	printf("1..0 # SKIP FLOTILLA_SIM is not set\n");
	return true;
}

int e2e_setup_oapi(oapi **out)
{
	if (oapi_load_default(out) < 0) {
		print_error("cannot load the OpenAPI document: %s\n", err_msg());
		return -1;
	}
	return 0;
}

int e2e_setup_sim(sim_proc **out, const char *const *args)
{
	if (sim_start(out, args) < 0) {
		print_error("cannot start flotilla-sim: %s\n", err_msg());
		return -1;
	}
	return 0;
}

int e2e_teardown_sim(sim_proc *s)
{
	int rc = 0;

	if (!s)
		return 0;
	if (sim_stop(s, NULL) != 0) {
		print_error("sim_stop: %s\n", err_msg());
		rc = -1;
	}
	sim_free(s);
	return rc;
}

/* ------------------------------------------------------------ in a test */

void e2e_start(sim_proc **out, const char *const *args)
{
	if (sim_start(out, args) != 0)
		fail_msg("sim_start: %s", err_msg());
}

void e2e_stop(sim_proc **s)
{
	int status = -1;

	if (sim_stop(*s, &status) != 0)
		fail_msg("sim_stop: %s", err_msg());
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	sim_free(*s);
	*s = NULL;
}

const char *e2e_need_str(json_t *root, const char *path)
{
	const char *v = json_string_value(sim_json_get(root, path));

	if (!v)
		fail_msg("no string at '%s'", path);
	return v;
}

json_int_t e2e_need_int(json_t *root, const char *path)
{
	json_t *v = sim_json_get(root, path);

	if (!json_is_integer(v))
		fail_msg("no integer at '%s'", path);
	return json_integer_value(v);
}

size_t e2e_need_len(json_t *root, const char *path)
{
	json_t *v = sim_json_get(root, path);

	if (!json_is_array(v))
		fail_msg("no array at '%s'", path);
	return json_array_size(v);
}

int64_t e2e_need_time(json_t *root, const char *path)
{
	int64_t t;

	if (sim_time_parse(e2e_need_str(root, path), &t) != 0)
		fail_msg("%s", err_msg());
	return t;
}

/* e2e_vrequest, and with want_json the body must be JSON unless want is
 * 204. */
static void request(sim_proc *s, const char *method, long want, const char *body,
	sim_response *r, bool want_json, const char *fmt, va_list ap) PRINTF(7, 0);
static void request(sim_proc *s, const char *method, long want, const char *body,
	sim_response *r, bool want_json, const char *fmt, va_list ap)
{
	buf rel = BUF_INIT(0);
	const char *p;
	char *path;

	if (buf_vprintf(&rel, fmt, ap) != 0)
		fail_msg("cannot format a path from '%s'", fmt);
	p = rel.data ? rel.data : "";
	path = xasprintf("%s%s", str_has_prefix(p, "/__sim") ? "" : "/api/v2", p);
	buf_release(&rel);
	if (sim_request(s, method, path, body, r) != 0)
		fail_msg("%s %s: %s", method, path, err_msg());
	if (r->status != want)
		fail_msg("%s %s: status %ld, want %ld: %.1000s", method, path, r->status, want,
			r->body.data ? r->body.data : "");
	if (want_json && want != 204 && !r->json)
		fail_msg("%s %s: body is not JSON (%s): %.300s", method, path, r->json_error,
			r->body.data ? r->body.data : "");
	free(path);
}

void e2e_vrequest(sim_proc *s, const char *method, long want, const char *body,
	sim_response *r, const char *fmt, va_list ap)
{
	request(s, method, want, body, r, false, fmt, ap);
}

void e2e_call(sim_proc *s, const char *method, long want, const char *body,
	sim_response *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	request(s, method, want, body, r, true, fmt, ap);
	va_end(ap);
}

json_t *e2e_json(sim_proc *s, const char *method, long want, const char *body,
	const char *fmt, ...)
{
	va_list ap;
	sim_response r;
	json_t *out;

	va_start(ap, fmt);
	request(s, method, want, body, &r, true, fmt, ap);
	va_end(ap);
	out = json_incref(r.json);
	sim_response_release(&r);
	return out;
}

void e2e_conforms(oapi *api, const char *method, const char *path, const sim_response *r)
{
	const json_t *schema;
	buf errors = BUF_INIT(1u << 20);
	int n;

	if (r->status == 204) {
		/* no content: the document declares no body, the sim sends none */
		if (r->body.len != 0)
			fail_msg("%s %s 204 with a body: %.300s", method, path, r->body.data);
		return;
	}
	schema = oapi_response_schema(api, method, path, (int)r->status);
	if (!schema)
		fail_msg("%s %s %ld: no schema: %s", method, path, r->status, err_msg());
	if (!r->json)
		fail_msg("%s %s %ld: body is not JSON (%s): %.300s", method, path, r->status,
			r->json_error, r->body.data ? r->body.data : "");
	n = oapi_check(api, schema, r->json, &errors);
	if (n != 0)
		fail_msg("%s %s %ld: %d schema problem(s):\n%s\nbody: %.2000s", method, path,
			r->status, n, errors.data, r->body.data);
	buf_release(&errors);
}

void e2e_wait_ops(sim_proc *s, const char *project_id)
{
	if (sim_wait_ops(s, project_id, E2E_WAIT_MS) != 0)
		fail_msg("sim_wait_ops %s: %s", project_id, err_msg());
}

json_t *e2e_stats(sim_proc *s)
{
	json_t *st = NULL;

	if (sim_stats(s, &st) != 0)
		fail_msg("sim_stats: %s", err_msg());
	return st;
}

json_int_t e2e_stat_int(sim_proc *s, const char *path)
{
	json_t *st = e2e_stats(s);
	json_int_t v = json_integer_value(sim_json_get(st, path));

	json_decref(st);
	return v;
}

void e2e_set_faults(sim_proc *s, const char *json)
{
	if (sim_set_faults(s, json) != 0)
		fail_msg("POST /__sim/faults %s: %s", json, err_msg());
}

void e2e_reset(sim_proc *s)
{
	if (sim_reset(s) != 0)
		fail_msg("sim_reset: %s", err_msg());
	sim_set_key(s, SIM_DEFAULT_KEY);
	sim_set_request_id(s, NULL);
	sim_set_keepalive(s, true);
}
