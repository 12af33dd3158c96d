/*
 * e2e.h: what the end-to-end test programs share on top of harness.h.
 *
 * harness.h starts sims and sends requests without knowing about cmocka;
 * these helpers are the same steps as assertions: a request whose status
 * must be the one wanted, a JSON member that must be there, operations
 * that must finish in time, a sim that must stop cleanly. A helper that
 * finds otherwise fails the running cmocka test (fail_msg, which jumps out
 * of the test), so it may only be called from inside a test. Group setups
 * and teardowns use e2e_setup_oapi, e2e_setup_sim and e2e_teardown_sim,
 * which print why with print_error and return -1 instead.
 *
 * Request paths are relative to /api/v2 ("/projects/%s/branches") unless
 * they start with "/__sim" (the control plane, at the server root).
 *
 * Typical use, in a test:
 *     json_t *o = e2e_json(s, "POST", 201, "{\"project\": {}}", "/projects");
 *     char id[64];
 *
 *     str_copy(id, e2e_need_str(o, "project.id"), sizeof(id));
 *     json_decref(o);
 *     e2e_wait_ops(s, id);
 */
#ifndef FLOTILLA_TESTS_E2E_H
#define FLOTILLA_TESTS_E2E_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "tests/sim/harness.h"
#include "tests/sim/oapi.h"

/* How long e2e_wait_ops waits for a project's operations. */
#define E2E_WAIT_MS 5000

/* --------------------------------------------------------- main, setup */

/* When $FLOTILLA_SIM is unset or empty: print a TAP plan of zero with the
 * reason (a skip) and return true, so that main returns 0 at once. */
bool e2e_skip_without_sim(void);

/* For a group setup: oapi_load_default into *out (NULL on entry, set only
 * on success). -1 after print_error says why. */
int e2e_setup_oapi(oapi **out);
/* For a group setup: sim_start(out, args). -1 after print_error says why. */
int e2e_setup_sim(sim_proc **out, const char *const *args);
/* For a group teardown: SIGTERM `s` and free it (NULL is fine). -1 after
 * print_error says why when it did not exit with status 0. */
int e2e_teardown_sim(sim_proc *s);

/* ------------------------------------------------------------ in a test */

/* sim_start(out, args), or fail the test. *out as for sim_start. */
void e2e_start(sim_proc **out, const char *const *args);
/* SIGTERM *s, which must exit with status 0, or fail the test; then
 * sim_free it and set *s to NULL. */
void e2e_stop(sim_proc **s);

/*
 * The string, integer or array at a dotted path of `root` (sim_json_get),
 * or fail the test naming the path. e2e_need_str's string is borrowed
 * from root; e2e_need_len is the array's length; e2e_need_time is the
 * date-time string as unix seconds (sim_time_parse), failing on another
 * shape too.
 */
const char *e2e_need_str(json_t *root, const char *path);
json_int_t e2e_need_int(json_t *root, const char *path);
size_t e2e_need_len(json_t *root, const char *path);
int64_t e2e_need_time(json_t *root, const char *path);

/*
 * One request to the path printf makes of fmt (see the top for where it
 * goes), with `body` (may be NULL) as its JSON body. Fails the test on a
 * transport error or when the status is not `want`. *r is the answer,
 * for the caller to release with sim_response_release.
 */
void e2e_vrequest(sim_proc *s, const char *method, long want, const char *body,
	sim_response *r, const char *fmt, va_list ap) PRINTF(6, 0);
/* e2e_vrequest, and the body must be JSON unless want is 204. */
void e2e_call(sim_proc *s, const char *method, long want, const char *body,
	sim_response *r, const char *fmt, ...) PRINTF(6, 7);
/* e2e_call, handing back a new reference to the JSON body (NULL for a
 * 204) and releasing the rest of the answer; json_decref it. */
json_t *e2e_json(sim_proc *s, const char *method, long want, const char *body,
	const char *fmt, ...) PRINTF(5, 6);

/*
 * The answer must be what the OpenAPI document declares for `method`,
 * `path` (a template or a concrete request path, as oapi_response_schema
 * takes them) and its status: a schema-valid JSON body, or no body at all
 * for a 204. Fails the test listing every problem.
 */
void e2e_conforms(oapi *api, const char *method, const char *path, const sim_response *r);

/* sim_wait_ops for E2E_WAIT_MS, or fail the test. */
void e2e_wait_ops(sim_proc *s, const char *project_id);
/* sim_stats or fail the test; a new reference, json_decref it. */
json_t *e2e_stats(sim_proc *s);
/* A stats member by dotted path ("requests.GET /projects.200"); 0 when
 * absent (a route or status never seen). */
json_int_t e2e_stat_int(sim_proc *s, const char *path);
/* POST /__sim/faults with `json`, or fail the test. */
void e2e_set_faults(sim_proc *s, const char *json);
/* POST /__sim/reset, or fail the test; then the client side starts over
 * too: the default key, no request id, keep-alive on. */
void e2e_reset(sim_proc *s);

#endif
