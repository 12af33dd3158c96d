/*
 * serve.h: the one header of serve/, what the daemon serves over HTTP:
 * its metrics in the Prometheus text format (metrics.c) and the server
 * itself (httpd.c: /metrics, /healthz, /readyz and the git webhook).
 * libmicrohttpd is included here and nowhere else in flotilla (the
 * simulator has its own server); the daemon sees only this header.
 */
#ifndef FLOTILLA_SERVE_H
#define FLOTILLA_SERVE_H

#include <stdbool.h>

#include "util/util.h"

/*
 * metrics.c: counters and gauges with labels, rendered in the Prometheus
 * text exposition format (version 0.0.4). Thread-safe (one mutex): the
 * daemon's loop updates, the HTTP threads render.
 */
typedef struct metrics metrics;
metrics *metrics_new(void);
void metrics_free(metrics *m);
/* Declare a family once: type "counter", "gauge", "untyped" or "info" (an
 * info is a gauge whose value is 1 and whose labels carry the data; it
 * renders as TYPE gauge), and its HELP text. A later declaration of the
 * same name is ignored. A bad name or type is a programming error: abort. */
void metrics_declare(metrics *m, const char *name, const char *type, const char *help);
/*
 * labels: NULL, or a Prometheus label set body like
 * `route="GET /projects",status="200"` (the caller escapes values with
 * metrics_label_escape). set replaces, add adds; on an info family both
 * store 1. Label order does not matter (sets are kept sorted by name). An
 * update with a malformed label set, or one that would give a family more
 * than 10,000 series, is dropped; an undeclared name is declared untyped.
 */
void metrics_set(metrics *m, const char *name, const char *labels, double v);
void metrics_add(metrics *m, const char *name, const char *labels, double delta);
/* Drop every series of a family (e.g. the info metric before setting the
 * new commit); the family itself stays declared. */
void metrics_clear(metrics *m, const char *name);
/* Escape a label value (backslash, double quote, newline) into a new heap
 * string the caller frees. */
char *metrics_label_escape(const char *value);
/* Append the exposition to out: # HELP and # TYPE per family, families in
 * declaration order, series sorted by labels. ERR_TOOBIG past out->max. */
int metrics_render(metrics *m, buf *out) WUR;

/*
 * httpd.c: the daemon's HTTP server (libmicrohttpd, a thread per
 * connection), on --listen HOST:PORT.
 *   GET  /metrics     metrics_render, Content-Type text/plain; version=0.0.4
 *   GET  /healthz     200 "ok\n" while the process runs
 *   GET  /readyz      200 "ready\n", or 503 with the reasons the ready callback wrote
 *   POST /hooks/git   GitHub-style webhook: X-Hub-Signature-256 "sha256=<hex>" is
 *                     HMAC-SHA256 of the raw body with the secret, verified in
 *                     constant time; missing or bad -> 401 and no callback; body
 *                     larger than 1 MiB -> 413; no secret configured -> 404;
 *                     valid -> 202 and hook(arg, X-GitHub-Event header or "",
 *                     body, len) is called (body NUL-terminated, borrowed for
 *                     the call).
 *   GET  /            the status page, HTML (status_page.c, below)
 *   GET  /api/status  the status document, JSON (status_page.c, below)
 *   anything else     404 (405 for a wrong method on a known path; GET paths
 *                     also answer HEAD)
 * It binds only the given address (IPv4, [IPv6] or "localhost"); no TLS (put
 * a proxy in front). Nothing is logged, and the secret never leaves memory
 * that is wiped when replaced or freed.
 *
 * ready and hook run on libmicrohttpd's threads, possibly several at once:
 * ready must only read state the daemon publishes thread-safely, and hook
 * must only signal the daemon's loop (set a flag, write a pipe), never
 * fetch or apply itself.
 */
typedef struct httpd httpd;
typedef struct httpd_opts {
	const char *listen;          /* "127.0.0.1:9464"; port 0 picks one */
	metrics *m;                  /* borrowed; NULL renders an empty page */
	bool (*ready)(void *arg, buf *why);   /* false: not ready, reasons in why; NULL: always ready */
	void (*hook)(void *arg, const char *event, const char *body, size_t len);
	void *arg;
	const char *webhook_secret;  /* copied; NULL or "": /hooks/git answers 404 */
} httpd_opts;
/* Start serving; *port (when port is not NULL) gets the bound port.
 * ERR_INVALID for a listen address that does not parse, ERR_IO naming the
 * address when it cannot be bound. */
int httpd_start(httpd **out, const httpd_opts *o, int *port) WUR;
/* Replace the webhook secret (SIGHUP re-reads its file); NULL or ""
 * disables the hook. The old copy is wiped. Thread-safe. */
void httpd_set_secret(httpd *h, const char *secret);
/* Stop serving (waits for requests in progress) and free; NULL is fine. */
void httpd_stop(httpd *h);
/*
 * Read a webhook secret file: first line, spaces and tabs trimmed. The file
 * must not be readable by its group or others (ERR_INVALID naming the
 * mode, like neon_key_load for the API key); ERR_IO when it cannot be read,
 * ERR_INVALID when empty or its first line is longer than 4096 bytes. *out
 * is heap memory; free it with httpd_secret_free, which wipes it first.
 */
int httpd_secret_load(const char *path, char **out) WUR;
void httpd_secret_free(char *secret);

/* ------------------------------------------------ status_doc.c, status_page.c */

/*
 * The status page. After every loop the daemon publishes the status
 * document, the JSON of `flotilla status --format json`
 * (docs/daemon.md, "Status page"), with httpd_set_status; httpd serves
 *   GET /api/status   the document as published, application/json; 503
 *                     {"error": "starting: …"} before the first one
 *   GET /             HTML rendered from it, no JavaScript: fleet, commit,
 *                     last apply, counts by state, the tenants not synced
 *                     (?q=TEXT: name or reason contains TEXT, ASCII
 *                     case-insensitive; ?state=STATE), at most
 *                     STATUS_PAGE_ROWS rows, runs, rate budget, drift tiers;
 *                     503 "starting" before the first document; a query
 *                     string over STATUS_QUERY_MAX bytes or an unknown
 *                     state is 400
 * A page view reads only the published document: no state file, no API
 * call. Stable hooks for tests: <span id="count-STATE">, rows <tr
 * class=tenant data-state=STATE>, <p id=showing>, #fleet, #commit,
 * #last-apply, <tr class=run>, #rate-now, #rate-limit, #tier-list,
 * #tier-deep, <li data-field=NAME> under #drift-fields.
 */
#define STATUS_PAGE_ROWS 200
#define STATUS_QUERY_MAX 1024
/* Publish a document: json_text (NUL-terminated) is copied and parsed once.
 * ERR_INVALID, naming why, when it is not a JSON object with "version": 1;
 * the document published before stays. Thread-safe; a page rendering
 * keeps the document it started with. */
int httpd_set_status(httpd *h, const char *json_text) WUR;

/* A parsed document, immutable and reference-counted (httpd_set_status
 * makes them; exposed for the tests and bench/status-serve.c). */
typedef struct status_doc status_doc;
/* ERR_INVALID as httpd_set_status; *out has one reference. */
int status_doc_new(status_doc **out, const char *json_text, size_t len) WUR;
/* Take a reference (returns d) / drop one, freeing at the last; NULL is fine. */
status_doc *status_doc_ref(status_doc *d);
void status_doc_unref(status_doc *d);
/* The published bytes (NUL-terminated), borrowed from d. */
const char *status_doc_text(const status_doc *d, size_t *len);
/* Append the HTML page of d (NULL: the "starting" page) for the search q
 * and the state filter (NULL or "" for none), "ago" counted from now (Unix
 * seconds). ERR_INVALID for an unknown state, ERR_TOOBIG past out->max. */
int status_page_render(buf *out, const status_doc *d, const char *q, const char *state, int64_t now) WUR;
/* Append s (NULL: nothing) with & < > " ' escaped, safe in HTML text and
 * in attribute values. ERR_TOOBIG past out->max. */
int status_html_escape(buf *out, const char *s) WUR;

/* ------------------------------------------------------------ notify.c */

/*
 * notify.c: the daemon's notifications (--notify-url): a JSON POST with a
 * Slack-compatible "text" when an apply fails, a tenant is blocked or drift
 * is found. notify_post queues and returns; one background thread sends:
 *   - at most one message per min_interval_ms (the first at once); events
 *     that arrive in between are coalesced into the next message, whose
 *     text lists up to 20 of them and then "and N more";
 *   - the body: {"text": "flotilla (FLEET): drift found: …", "kind": the
 *     events' kind or "mixed", "fleet": FLEET (when set), "count": N,
 *     "events": [{"kind": …, "text": …}, …] (the first 20)}, Content-Type
 *     application/json; "text" escapes & < > as Slack asks;
 *   - a transport error, a 429 (waiting its Retry-After seconds, at most
 *     5 minutes) or a 5xx is retried with exponential backoff from
 *     retry_base_ms, up to max_attempts attempts; any other non-2xx
 *     answer is final (a 3xx is not followed);
 *   - a full queue drops its oldest event.
 * A message given up on is logged once (log_warn) naming only the URL's
 * scheme://host[:port]: the URL itself is a secret (a Slack webhook's path
 * is its credential), kept in memory wiped at stop and never logged or
 * written anywhere. Thread-safe; notify_post never waits on the network.
 */
typedef struct notifier notifier;
typedef struct notify_opts {
	const char *url;          /* http:// or https://; copied */
	const char *fleet;        /* NULL, or a name for the text's prefix and "fleet"; copied */
	int64_t min_interval_ms;  /* between messages; 0: 60000 */
	int max_attempts;         /* per message, 1..20; 0: 4 */
	int64_t timeout_ms;       /* one attempt, whole (connect: at most 5000); 0: 10000 */
	int64_t retry_base_ms;    /* the first retry's wait, doubled per retry up to 60000; 0: 1000 */
	size_t max_queue;         /* events waiting, up to 1000000; 0: 1000 */
} notify_opts;
#define NOTIFY_OPTS_INIT { NULL, NULL, 60000, 4, 10000, 1000, 1000 }
typedef struct notify_stats {
	int64_t sent;       /* messages answered 2xx */
	int64_t failed;     /* messages given up on (their events are lost) */
	int64_t attempts;   /* POSTs made, retries included */
	int64_t coalesced;  /* events that rode in another event's message */
	int64_t dropped;    /* events pushed out of a full queue */
	size_t queued;      /* events waiting now */
} notify_stats;
/* Check the options and start the thread. ERR_INVALID for a URL that is
 * missing, not http:// or https://, or does not parse, or an option out of
 * range (the message never holds the URL); ERR_FAIL when libcurl or the
 * thread cannot start. */
int notifier_start(notifier **out, const notify_opts *o) WUR;
/* Queue one event: kind "apply_failed", "blocked", "drift" (others are
 * shown as given), text one line such as "tenant 'acme': …" (copied, cut at
 * 1000 bytes). Never blocks on the network; n NULL does nothing, so call
 * sites need not check whether notifications are configured. */
void notify_post(notifier *n, const char *kind, const char *text);
/* The counters so far (all zero for NULL). */
void notifier_stats(notifier *n, notify_stats *out);
/* Send what is queued at once (rate limit or not) for up to grace_ms, an
 * attempt in flight cut off at its end; log the events left (log_warn),
 * then stop the thread and free. NULL is fine. */
void notifier_stop(notifier *n, int64_t grace_ms);

#endif
