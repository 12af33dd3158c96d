/*
 * harness.h: start a real flotilla-sim from a C test and talk to it.
 *
 * sim_start runs the binary named by $FLOTILLA_SIM on 127.0.0.1 with a
 * port the kernel picks, and waits for it to listen. sim_request sends one
 * HTTP request over a kept-alive loopback connection and hands back the
 * status, the headers tests care about, the body and the body parsed as
 * JSON. Every wait is bounded: a sim that does not start, answer or stop in
 * time is an error, never a hung test. Not thread-safe: one sim_proc per
 * thread. The utilities at the end (clock, JSON path, date-times) are for
 * tests too; their cmocka assertions are in e2e.h.
 *
 * Typical use:
 *     sim_proc *sim = NULL;
 *     sim_response r;
 *     assert_int_equal(sim_start(&sim, NULL), 0);
 *     assert_int_equal(sim_request(sim, "POST", "/api/v2/projects",
 *         "{\"project\": {\"name\": \"a\"}}", &r), 0);
 *     assert_int_equal(r.status, 201);
 *     sim_response_release(&r);
 *     assert_int_equal(sim_stop(sim, NULL), 0);
 *     sim_free(sim);
 */
#ifndef FLOTILLA_TESTS_HARNESS_H
#define FLOTILLA_TESTS_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "util/util.h"

typedef struct sim_proc sim_proc;

/* Default bounds, all changeable per sim_proc where noted. */
#define SIM_START_TIMEOUT_MS 10000   /* until the port file appears */
#define SIM_STOP_TIMEOUT_MS 10000    /* from SIGTERM to exit */
#define SIM_REQUEST_TIMEOUT_MS 30000 /* one whole request; sim_set_timeout_ms */
#define SIM_MAX_BODY (64u << 20)     /* response body; past it ERR_TOOBIG */
#define SIM_DEFAULT_KEY "sim-key"

/*
 * Start $FLOTILLA_SIM with `--listen 127.0.0.1:0 --port-file TMP --quiet`
 * followed by `extra_args` (NULL-terminated, may be NULL), e.g.
 * {"--op-delay-ms", "10", NULL}. Waits up to SIM_START_TIMEOUT_MS for the
 * port file. The sim's stderr is the test's. The sim gets SIGKILL if the
 * test thread dies first (Linux), so none outlives a crashed test.
 *
 * *out is NULL on entry, set only on success; sim_free it.
 * ERR_NOTFOUND: FLOTILLA_SIM unset or not executable (tests may skip).
 * ERR_INVALID: extra_args tries to move it off loopback (--listen,
 * --port-file). ERR_FAIL: it could not be run, exited early (the message
 * gives its status) or did not listen in time (it is killed).
 */
int sim_start(sim_proc **out, const char *const *extra_args) WUR;

/*
 * SIGTERM, then wait up to SIM_STOP_TIMEOUT_MS; past that SIGKILL. *status
 * (may be NULL) gets the waitpid status. Returns 0 when it exited with
 * code 0; ERR_FAIL otherwise, the message saying how it ended ("exited
 * with status 3", "killed by signal 11", "did not exit within 10000 ms of
 * SIGTERM"). Stopping a sim that already ended reports that ending again.
 */
int sim_stop(sim_proc *s, int *status) WUR;
/* SIGKILL and reap (a crash, for persistence tests). 0 once reaped;
 * *status as for sim_stop. */
int sim_kill(sim_proc *s, int *status) WUR;
/* Kill the process if it still runs, remove its temporary directory and
 * free everything. NULL is fine. */
void sim_free(sim_proc *s);

/*
 * A private directory for files a test keeps across sim restarts (a --data
 * file outlives each sim_proc's own sim_tmpdir): made under $TMPDIR, else
 * /tmp. *out is NULL on entry, set only on success; ERR_IO when it cannot
 * be made. sim_dir_remove removes the files in it and it, and frees the
 * string; NULL is fine.
 */
int sim_dir_new(char **out) WUR;
void sim_dir_remove(char *dir);

/* "http://127.0.0.1:PORT" (no trailing slash) and the same + "/api/v2".
 * Borrowed, valid until sim_free. */
const char *sim_base_url(const sim_proc *s);
const char *sim_api_url(const sim_proc *s);
int sim_port(const sim_proc *s);
/* The process id, or -1 once reaped. */
long sim_pid(const sim_proc *s);
/* A private directory that lives as long as the sim_proc (for --data
 * files a test wants to keep across a restart, it must use its own). */
const char *sim_tmpdir(const sim_proc *s);

/* The bearer key sent from now on; NULL sends no Authorization header.
 * Default SIM_DEFAULT_KEY. The string is copied. */
void sim_set_key(sim_proc *s, const char *key);
/* An X-Request-Id to send from now on; NULL (the default) sends none. */
void sim_set_request_id(sim_proc *s, const char *id);
/* The bound on one whole request (connect to last byte), default
 * SIM_REQUEST_TIMEOUT_MS. */
void sim_set_timeout_ms(sim_proc *s, long ms);
/*
 * Keep-alive (default on): requests reuse one connection. Turn it off for
 * connection-reset fault tests: when a reused connection is closed before
 * any response byte, libcurl silently resends the request (any method,
 * POST included) on a new connection, so the test would see neither the
 * reset nor the duplicate. With keep-alive off every request has its own
 * connection and a reset comes back as a transport error.
 */
void sim_set_keepalive(sim_proc *s, bool on);

typedef struct sim_response {
	long status;            /* HTTP status; 0 when no response arrived */
	int curl_code;          /* 0, or the libcurl CURLcode of a transport error */
	char error[256];        /* libcurl's words for curl_code, "" otherwise */
	char request_id[128];   /* X-Request-Id, "" when absent */
	char retry_after[64];   /* Retry-After as sent, "" when absent */
	long retry_after_s;     /* Retry-After in seconds, -1 when absent or a date */
	char content_type[128]; /* "" when absent */
	buf body;               /* the raw body, NUL-terminated; max SIM_MAX_BODY */
	json_t *json;           /* the body parsed, when it is JSON; owned */
	char json_error[200];   /* why a JSON body did not parse, "" otherwise */
} sim_response;

/* Free the body and the JSON; the struct can then be reused. */
void sim_response_release(sim_response *r);

/*
 * One request. `method` is upper case ("GET", "PATCH"). `path` starts at
 * the server root: "/api/v2/projects",
 * "/__sim/stats". `json_body` (may be NULL) is sent as the body with
 * Content-Type application/json; POST without a body sends an empty one.
 * `out` is (re)initialised on entry whatever it held, and must be released
 * with sim_response_release whatever this returns.
 *
 * The body is parsed when Content-Type says JSON (or is absent and the body
 * is not empty), rejecting duplicate keys; when that fails, out->json is
 * NULL and out->json_error says why (a truncated body from the
 * malformed_rate fault lands here). Returns 0 whenever an HTTP response
 * arrived, whatever its status. ERR_IO on a transport error (connection
 * refused or reset, timeout, an empty reply): out->curl_code and
 * out->error say which. ERR_TOOBIG when the body passed SIM_MAX_BODY.
 * ERR_INVALID for a path not starting with '/'.
 */
int sim_request(sim_proc *s, const char *method, const char *path,
	const char *json_body, sim_response *out) WUR;

/*
 * Poll GET /api/v2/projects/{project_id}/operations until none is
 * scheduling, running or cancelling, up to timeout_ms. Transient answers
 * (423, 429 with Retry-After honoured, 5xx, transport errors, malformed
 * bodies from fault injection) are waited through. Each poll counts in the
 * sim's stats and rate limits. 0 when all are done; ERR_NOTFOUND for an
 * unknown project (404); ERR_FAIL on another 4xx or on timeout (the
 * message gives the unfinished count or the last error).
 */
int sim_wait_ops(sim_proc *s, const char *project_id, int timeout_ms) WUR;
/* sim_wait_ops, where `failed` counts as unfinished too: Neon retries a
 * failed operation, so only finished, error, cancelled and skipped have
 * ended (for sims with op_retry_rate or op_fail_rate). */
int sim_wait_ops_ended(sim_proc *s, const char *project_id, int timeout_ms) WUR;

/* GET /__sim/stats: *out (NULL on entry) gets the object, a new reference
 * the caller json_decrefs. ERR_FAIL when the answer is not 200 with a JSON
 * object; ERR_IO on a transport error. */
int sim_stats(sim_proc *s, json_t **out) WUR;

/* POST /__sim/faults with `json` (e.g. "{\"error_rate\": 0.1}"), and POST
 * /__sim/reset. 0 on 200; ERR_FAIL otherwise. */
int sim_set_faults(sim_proc *s, const char *json) WUR;
int sim_reset(sim_proc *s) WUR;

/* ------------------------------------------------------------ utilities */

/* Sleep `ms` milliseconds, resuming after a signal; nothing when ms <= 0. */
void sim_sleep_ms(int64_t ms);

/*
 * A member of `root` by a dotted path, array elements by index:
 * "branches.0.id", "requests.GET /projects.200" (a key may hold anything
 * but '.'). Borrowed from root. NULL when a step is missing, an index is
 * not a number, a key is longer than 159 bytes or root is NULL; "" is
 * root itself.
 */
json_t *sim_json_get(json_t *root, const char *path);

/*
 * A date-time the way the sim writes them, "2026-11-26T03:42:00Z" (UTC),
 * as unix seconds into *out. ERR_INVALID when s is NULL or does not start
 * with that shape.
 */
int sim_time_parse(const char *s, int64_t *out) WUR;
/* Unix seconds `t` as "2026-11-26T03:42:00Z" (UTC) into out. */
void sim_time_format(int64_t t, char out[32]);

#endif
