/*
 * internal.h: what the files of neon/ share with each other and with
 * tests/unit/test-neon.c. Not a public header: nothing outside neon/ and its
 * own unit test includes it (the rest of flotilla sees neon.h only).
 * Internal names carry a double underscore (neon__x), as libgit2's git__x.
 *
 * The pieces: a monotonic clock, a small PRNG, the rate budget (budget.c),
 * the retry classification (retry.c), memory for secrets (key.c), the
 * client and request structs that client.c and run.c both work on, and
 * timers that run inside neon_run.
 */
#ifndef FLOTILLA_NEON_INTERNAL_H
#define FLOTILLA_NEON_INTERNAL_H

#include <curl/curl.h>

#include "neon/neon.h"

/* ----------------------------------------------------------- clock, rng */

/* splitmix64: a fast, well-mixed 64-bit generator; never 0 state issues. */
uint64_t neon__rand(uint64_t *state);
/* A seed from the kernel's random source (getrandom), or the clock. */
uint64_t neon__seed(void);

/* ---------------------------------------------------------------- budget */

/*
 * A token bucket with AIMD on its rate. `base` is the configured rate;
 * `rate` the current one. A 429 halves `rate` (not below NEON_RATE_FLOOR),
 * at most once per NEON_CUT_GUARD_MS so that a volley of 429s from requests
 * already on the wire counts as one signal, and empties the bucket. The
 * lowered rate holds for NEON_HOLD_MS after the last 429, then creeps back
 * by base/NEON_RECOVER_S per second (additive increase) up to base.
 * All times are passed in, so tests drive the clock.
 */
#define NEON_RATE_FLOOR 0.5
#define NEON_CUT_GUARD_MS 1000
#define NEON_HOLD_MS 5000
#define NEON_RECOVER_S 20.0

typedef struct neon_budget {
	double base, rate, burst, tokens;
	int64_t last_ms;        /* time of the last refill */
	int64_t hold_until_ms;  /* no additive increase before this */
	int64_t last_cut_ms;    /* last multiplicative decrease, -1 none */
} neon_budget;

void neon__budget_init(neon_budget *b, double rate, double burst, int64_t now_ms);
/* Take one token: 0 when taken, else the milliseconds (>= 1) until one is
 * there at the current rate; nothing is taken then. */
int64_t neon__budget_take(neon_budget *b, int64_t now_ms);
/* A 429 arrived. */
void neon__budget_throttled(neon_budget *b, int64_t now_ms);
/* The state at now_ms without changing b (for stats). */
void neon__budget_peek(const neon_budget *b, int64_t now_ms, double *rate, double *tokens);

/* Full-jitter backoff before attempt `failures + 1`: uniform in
 * [0, min(cap_ms, 250 ms * 2^(failures-1))]. failures >= 1. */
int64_t neon__backoff_ms(int failures, int64_t cap_ms, uint64_t *rng);
#define NEON_BACKOFF_BASE_MS 250
/* Longest Retry-After honoured; a longer one ends the retries. */
#define NEON_RETRY_AFTER_MAX_MS 60000

/* -------------------------------------------------------- classification */

typedef enum {
	NEON_V_OK,          /* 2xx: parse the body */
	NEON_V_RETRY,       /* safe to send again (attempts permitting) */
	NEON_V_HTTP,        /* a final non-2xx answer */
	NEON_V_TRANSPORT,   /* no answer, and nothing ran (or a read) */
	NEON_V_UNKNOWN,     /* a write that may have run */
	NEON_V_TOO_BIG,     /* the body passed max_body */
} neon_verdict;

/*
 * What to do with one finished attempt (neon.h's rules):
 *   write   the request mutates;
 *   curl_code 0 when an HTTP answer arrived, else the CURLcode;
 *   sent    whether any byte of the request reached the socket;
 *   status  the HTTP status (0 without an answer);
 *   too_big the body was cut at max_body.
 * The caller turns NEON_V_RETRY into a final verdict when attempts are
 * used up (neon__final_verdict).
 */
neon_verdict neon__classify(bool write, int curl_code, bool sent, long status, bool too_big);
/* The verdict once no attempt is left for a NEON_V_RETRY one. */
neon_verdict neon__final_verdict(int curl_code);
/* Whether a transport error can never heal by retrying (bad URL, bad
 * certificate, unsupported protocol, …). */
bool neon__transport_fatal(int curl_code);

/* ---------------------------------------------------------- secret memory */

/*
 * Memory for the API key: its own mmap'd pages, excluded from core dumps
 * (MADV_DONTDUMP), locked in RAM when the limits allow it (so never
 * swapped), and wiped before unmapping. Allocation failure aborts like
 * xmalloc. The block is NUL-filled.
 */
char *neon__secret_alloc(size_t n);
void neon__secret_free(char *p);

/* -------------------------------------------------------------- requests */

typedef struct neon_req neon_req;
typedef void (*neon_task_fn)(void *arg);

struct neon_req {
	neon_req *next;         /* in the ready queue, the timer list or on the wire */
	neon_client *c;
	/* a timer or a deferred call: no HTTP at all when set */
	neon_task_fn task;
	void *task_arg;
	char method[12];
	char *path;             /* as given, query included */
	char *route;            /* METHOD + path without its query, for messages */
	char *body;             /* serialised request body, NULL for none */
	size_t body_len;
	bool write;
	bool invalid;           /* refused before sending (bad method or path) */
	neon_done_fn done;
	void *arg;
	int64_t not_before;     /* the earliest next attempt (timers: due time) */
	int64_t waiting_since;  /* when it first found no token, -1 not waiting */
	int64_t first_send;
	int64_t attempt_start;
	int locked;             /* 423 answers so far (their backoff grows apart) */
	/* the attempt on the wire */
	CURL *easy;
	struct curl_slist *headers, *headers_tail;
	buf in;
	bool too_big;
	char errbuf[CURL_ERROR_SIZE];
	neon_result res;
};

struct neon_client {
	CURLM *multi;
	char *base_url;         /* no trailing slash */
	bool loopback_http;
	char *auth;             /* "Authorization: Bearer KEY", secret memory */
	const char *key;        /* the KEY inside auth, for redaction */
	struct curl_slist auth_node; /* chained after each request's headers */
	neon_options opt;
	neon_budget budget;
	uint64_t jitter_rng, id_rng;
	/* ready: FIFO of what may start now; timers: sorted by not_before */
	neon_req *ready, *ready_tail, *timers;
	neon_req *wire;         /* attempts handed to libcurl */
	int in_flight;
	bool running;
	bool (*interrupt)(void *arg); /* neon_client_set_interrupt */
	void *interrupt_arg;
	CURL **pool;            /* easy handles kept for reuse */
	int npool;
	neon_stats stats;
	char *org_id;           /* org_id of every project list; NULL: none */
};

/* Queue fn(arg) to run from neon_run once delay_ms have passed. It takes
 * no token and no connection. */
void neon__after(neon_client *c, int64_t delay_ms, neon_task_fn fn, void *arg);
/* Wait delay_ms inside the multi loop: queued requests keep going. Not
 * from a callback. */
int neon__sleep(neon_client *c, int64_t delay_ms) WUR;
/* Replace every copy of the key in s with "[redacted]". */
void neon__redact(const neon_client *c, char *s, size_t size);

/* run.c <-> client.c */
void neon__req_free(neon_req *r);
void neon__enqueue(neon_client *c, neon_req *r);

/* --------------------------------------------------------------- helpers */

/* Percent-encode s for a query value into b (RFC 3986 unreserved kept). */
int neon__query_escape(buf *b, const char *s) WUR;
/* ^[a-z0-9-]{1,60}$: ids go into paths, so nothing else may. */
bool neon__id_valid(const char *id);
/* The `value` object of one entry of a branch list's `annotations` map,
 * checked to hold strings only; *out NULL when absent (model.c). */
int neon__annotation_value(const json_t *entry, const char *where, json_t **out) WUR;
/* The ERR_* code for a finished result: 0 for NEON_OK, ERR_NOTFOUND for
 * 404, ERR_CONFLICT 409, ERR_LOCKED 423, ERR_UNKNOWN_OUTCOME, ERR_INVALID
 * for a bad response, ERR_TOOBIG, else ERR_FAIL (pages.c). */
int neon__outcome_rc(const neon_result *r);
/* conn.c: the path of GET /projects/{id}/connection_uri with rq's
 * parameters, escaped, into b. */
int neon__connection_uri_path(buf *b, const char *project_id, const neon_conn_req *rq) WUR;
/* restore.c: the operations of a write's answer into out (ERR_INVALID naming the field
 * when they are malformed; out then holds what was read: release it). */
int neon__write_answer(const json_t *body, const char *branch_id, const char *where, neon_write_result *out) WUR;
/* One write whose answer carries operations (restore.c): the call, its
 * request id, the answer read into out (released on failure); with
 * ops_optional an answer without operations has none; answer (or NULL)
 * gets a new reference to the answer's body. */
int neon__write_call(neon_client *c, const char *method, const char *path, json_t *body, const char *branch_id,
		     const char *where, bool ops_optional, json_t **answer, neon_write_result *out) WUR;
/* The message of a GeneralError body, or NULL. */
const char *neon__api_message(const json_t *body);

/*
 * A GET /projects response body as a page (pages.c): the projects parsed,
 * the unavailable ids checked, and whether another page follows: listed
 * plus unavailable fill `limit` and the cursor is set and differs from
 * `cursor` (the one this page was asked with, NULL for the first). A full
 * page whose cursor did not advance would loop: ERR_INVALID. `route` names
 * the request in messages. 0, or ERR_INVALID with err_msg naming the member.
 */
int neon__project_page_parse(const json_t *body, const char *route, const char *cursor, int limit,
			     neon_project_page *out) WUR;
/* "/projects?limit=N[&cursor=…][&search=…][&recoverable=true][&org_id=…]" into b. */
int neon__projects_path(const neon_client *c, buf *b, const char *cursor, int limit, const char *search,
			bool recoverable) WUR;

#endif
