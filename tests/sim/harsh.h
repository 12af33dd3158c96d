/*
 * harsh.h: what the two test programs of flotilla-sim's harsher
 * behaviours share (test-sim-harsh.c: org_id, unavailable pages, activity,
 * failing operations; test-sim-plans.c: protected branches, plan limits,
 * endpoint names, flags and fault keys) on top of e2e.h.
 *
 * Each test starts its own sim into the fixture (f->own) with the flags
 * it needs; the group fixture holds the OpenAPI document, and the
 * per-test teardown frees the sim of a test that failed and removes its
 * --data directory. The request helpers hold every answer of the Neon API
 * against the OpenAPI document; like e2e.h's, they fail the running
 * cmocka test when an answer is not the one wanted, so they may only be
 * called from inside a test. Include it after <cmocka.h>: HARSH_TEST and
 * HARSH_RUN expand to cmocka's macros.
 *
 * Typical use:
 *     static void test_x(void **state)
 *     {
 *         fixture *f = *state;
 *         char p[64];
 *
 *         e2e_start(&f->own, PLAIN);
 *         make_project(f, "{\"project\": {\"name\": \"x\"}}", p, NULL);
 *         wait_ops(f, p);
 *         e2e_stop(&f->own);
 *     }
 *
 *     int main(void)
 *     {
 *         const struct CMUnitTest tests[] = { HARSH_TEST(test_x) };
 *
 *         return HARSH_RUN("sim-x", tests);
 *     }
 */
#ifndef FLOTILLA_TESTS_HARSH_H
#define FLOTILLA_TESTS_HARSH_H

#include <jansson.h>

#include "tests/sim/e2e.h"

/* How long a test waits for something the sim does on its own. */
#define DEADLINE_MS 30000

/* The flags of a sim whose operations end at once and whose rates are not
 * limited, and such a sim without a plan. */
#define QUICK "--op-delay-ms", "0", "--rate-per-minute", "0"
static const char *const PLAIN[] = { QUICK, NULL };

typedef struct fixture {
	oapi *api;
	sim_proc *own;   /* the test's sim, freed by harsh_test_teardown if the test failed */
	char *data_dir;  /* a --data test's directory, removed by harsh_test_teardown */
} fixture;

/* ----------------------------------------------------------- fixture */

/* The group setup: the OpenAPI document into a new fixture. -1 after
 * print_error says why. */
int harsh_setup(void **state);
/* Each test's teardown: the test's sim and --data directory, if left. */
int harsh_test_teardown(void **state);
/* The group teardown: harsh_test_teardown, then the fixture itself. */
int harsh_teardown(void **state);
/* A test of the group, with harsh_test_teardown. */
#define HARSH_TEST(fn) cmocka_unit_test_teardown(fn, harsh_test_teardown)
/* main's result: run the array `tests` as the cmocka group `name` with the
 * fixture, or skip it (a TAP plan of zero) when FLOTILLA_SIM is not set. */
#define HARSH_RUN(name, tests) \
	(e2e_skip_without_sim() ? 0 : cmocka_run_group_tests_name(name, tests, harsh_setup, harsh_teardown))

/* ------------------------------------------------------------ requests */

/* A Neon API request to the path printf makes of fmt (relative to
 * /api/v2); the answer must have status `want` and conform to the OpenAPI
 * document. Its body, a new reference (NULL for a 204). */
json_t *api(fixture *f, const char *method, long want, const char *body, const char *fmt, ...)
	PRINTF(5, 6);
/* An error answer: a GeneralError of exactly code, message and the
 * request id of the header, with the code and message given. */
void expect_error(fixture *f, const char *method, long want, const char *code,
	const char *message, const char *body, const char *fmt, ...) PRINTF(7, 8);
/* A control-plane call (POST with a body, GET without) that must answer
 * 200; its body, a new reference. */
json_t *control(fixture *f, const char *path, const char *body);
/* POST /__sim/populate: `count` projects named harsh-…; `extra`, when not
 * NULL, is more members of the request (", \"org_id\": \"…\""). */
void populate(fixture *f, int count, const char *extra);
/* A project made by POST /projects; its id into id[64], and its default
 * branch's into branch[64] unless that is NULL. */
void make_project(fixture *f, const char *body, char id[64], char branch[64]);

/* ---------------------------------------------------------- operations */

/* Until every operation of p has ended, `failed` ones included, or fail
 * the test past DEADLINE_MS. */
void wait_ops(fixture *f, const char *p);
/* GET one operation; a new reference to its Operation. */
json_t *get_op(fixture *f, const char *p, const char *op);

#endif
