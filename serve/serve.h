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

#endif
