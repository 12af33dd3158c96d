/*
 * httpd.c: the daemon's HTTP side on libmicrohttpd: /metrics for
 * Prometheus, /healthz and /readyz for supervisors, /hooks/git, the
 * GitHub-style webhook that asks the daemon's loop to fetch now, and the
 * status page (/ and /api/status), rendered by status_page.c from the document
 * the daemon publishes.
 *
 * libmicrohttpd runs a thread per connection (as sim/http.c does), so a
 * slow scrape never holds up a health check. The webhook body is read into
 * a buffer bounded at HTTPD_MAX_BODY; a Content-Length above it is refused
 * before any of the body is read. The signature is checked only once the
 * whole body is in, in constant time, under the secret's mutex so that
 * httpd_set_secret (SIGHUP) can wipe the old copy without a request still
 * reading it. The status document is swapped under a mutex of its own and
 * reference-counted, so a page still rendering the old one keeps it, and
 * /api/status hands libmicrohttpd the document's own bytes (released when
 * the response is freed) instead of a copy. Nothing here logs: a library
 * module never prints, and the secret must never reach a log line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "neon/neon.h" /* neon_secret_file_load: the webhook secret is read like the API key */
#include "serve/serve.h"

/* The largest webhook body read (GitHub caps its payloads at 25 MB, but a
 * push event that only triggers a fetch is far below this). */
#define HTTPD_MAX_BODY (1024 * 1024)
/* Body bytes read (and dropped) on any request before the connection is
 * closed without an answer. */
#define HTTPD_MAX_DISCARD (8 * HTTPD_MAX_BODY)
/* The reasons /readyz shows, and a metrics page. */
#define HTTPD_MAX_WHY 4096
#define HTTPD_MAX_PAGE (16 * 1024 * 1024)
/* Every append to a status page checks this; the page is far smaller. */
#define HTTPD_MAX_STATUS_PAGE (8 * 1024 * 1024)

struct httpd {
	struct MHD_Daemon *d;
	metrics *m;
	bool (*ready)(void *arg, buf *why);
	void (*hook)(void *arg, const char *event, const char *body, size_t len);
	void *arg;
	pthread_mutex_t mu; /* guards secret */
	char *secret;       /* NULL: no webhook */
	pthread_mutex_t smu; /* guards status (the pointer; the document is immutable) */
	status_doc *status;  /* NULL until the daemon publishes one */
};

typedef enum {
	ROUTE_NONE,
	ROUTE_METRICS,
	ROUTE_HEALTHZ,
	ROUTE_READYZ,
	ROUTE_HOOK,
	ROUTE_STATUS_PAGE,
	ROUTE_STATUS_API,
} route;

/* One request in progress: libmicrohttpd calls the handler several times. */
typedef struct conn_ctx {
	route r;
	buf body;
	bool too_big;
	size_t received; /* body bytes so far, kept or not */
} conn_ctx;

/* ---------------------------------------------------------- secrets */

/* A heap copy; wiped before it is freed. */
static char *secret_dup(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

void httpd_secret_free(char *secret)
{
	if (!secret)
		return;
	explicit_bzero(secret, strlen(secret));
	free(secret);
}

void httpd_set_secret(httpd *h, const char *secret)
{
	char *copy = secret_dup(secret), *old;

	pthread_mutex_lock(&h->mu);
	old = h->secret;
	h->secret = copy;
	pthread_mutex_unlock(&h->mu);
	httpd_secret_free(old);
}

static bool have_secret(httpd *h)
{
	bool yes;

	pthread_mutex_lock(&h->mu);
	yes = h->secret != NULL;
	pthread_mutex_unlock(&h->mu);
	return yes;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * 1 when header is "sha256=<64 hex>" and matches the body's HMAC under the
 * current secret, 0 when it does not, -1 when no secret is set (any
 * more). The comparison touches every byte whatever differs, so its time
 * tells an attacker nothing about how much of a guess was right; the
 * header's shape is public and is checked plainly.
 */
static int signature_ok(httpd *h, const char *header, const char *body, size_t len)
{
	unsigned char want[SHA256_LEN], got[SHA256_LEN];
	volatile unsigned char diff = 0;
	int rc;

	if (!header || strncmp(header, "sha256=", 7) != 0 || strlen(header + 7) != 2 * SHA256_LEN)
		return have_secret(h) ? 0 : -1;
	header += 7;
	for (size_t i = 0; i < SHA256_LEN; i++) {
		int hi = hexval(header[2 * i]), lo = hexval(header[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return have_secret(h) ? 0 : -1;
		got[i] = (unsigned char)(hi << 4 | lo);
	}
	pthread_mutex_lock(&h->mu);
	if (!h->secret) {
		rc = -1;
	} else {
		hmac_sha256(h->secret, strlen(h->secret), body, len, want);
		for (size_t i = 0; i < SHA256_LEN; i++)
			diff |= want[i] ^ got[i];
		rc = diff == 0;
	}
	pthread_mutex_unlock(&h->mu);
	explicit_bzero(want, sizeof(want));
	return rc;
}

/*
 * The same rules as the API key file (neon/key.c): the mode is checked on
 * the open descriptor, so the file checked is the file read, and a file
 * its group or others may read is refused because the secret is already
 * exposed. Messages name the path and never the content.
 */
int httpd_secret_load(const char *path, char **out)
{
	/* the API key's loader and rules (neon/key.c), then a heap copy:
	 * httpd keeps and replaces its secret as plain memory, wiped on free */
	char *kept = NULL;
	*out = NULL;
	int rc = neon_secret_file_load(&kept, path, "webhook secret file");
	if (rc == 0) {
		*out = xstrdup(kept);
		neon_key_free(kept);
	}
	return rc;
}

/* ---------------------------------------------------------- replies */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, const char *allow,
			     char *text, size_t len, bool owned)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		len, text, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!resp) {
		if (owned)
			free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", type ? type : "text/plain; charset=utf-8");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (type && strncmp(type, "text/html", 9) == 0) {
		/* the status page loads nothing and runs nothing: say so, so that
		 * markup slipping past the escaping could still not run */
		MHD_add_response_header(resp, "Content-Security-Policy",
					"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
					"base-uri 'none'; frame-ancestors 'none'");
	}
	/* a 400 may echo the query: never let a browser read text as HTML */
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (allow)
		MHD_add_response_header(resp, "Allow", allow);
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	return reply(c, status, NULL, NULL, (char *)text, strlen(text), false);
}

static enum MHD_Result serve_metrics(httpd *h, struct MHD_Connection *c)
{
	buf page = BUF_INIT(HTTPD_MAX_PAGE);
	size_t len;
	char *text;

	if (h->m && metrics_render(h->m, &page) != 0) {
		buf_release(&page);
		return reply_text(c, 500, "metrics page too large\n");
	}
	text = buf_detach(&page, &len);
	return reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, text, len, true);
}

static enum MHD_Result serve_readyz(httpd *h, struct MHD_Connection *c)
{
	buf why = BUF_INIT(HTTPD_MAX_WHY);
	size_t len;
	char *text;

	if (!h->ready || h->ready(h->arg, &why)) {
		buf_release(&why);
		return reply_text(c, 200, "ready\n");
	}
	/* at the maximum the reasons stay cut, without their last newline */
	if ((why.len == 0 || why.data[why.len - 1] != '\n') && buf_addc(&why, '\n') != 0)
		err_clear();
	text = buf_detach(&why, &len);
	return reply(c, 503, NULL, NULL, text, len, true);
}

/* ---------------------------------------------------------- status */

int httpd_set_status(httpd *h, const char *json_text)
{
	status_doc *d = NULL, *old;
	int rc = status_doc_new(&d, json_text ? json_text : "", json_text ? strlen(json_text) : 0);

	if (rc != 0)
		return rc;
	pthread_mutex_lock(&h->smu);
	old = h->status;
	h->status = d;
	pthread_mutex_unlock(&h->smu);
	status_doc_unref(old); /* freed here, or by the last page still rendering it */
	return 0;
}

/* The current document with a reference taken for the caller, or NULL. */
static status_doc *status_get(httpd *h)
{
	status_doc *d;

	pthread_mutex_lock(&h->smu);
	d = status_doc_ref(h->status);
	pthread_mutex_unlock(&h->smu);
	return d;
}

static void status_release(void *d)
{
	status_doc_unref(d);
}

static enum MHD_Result serve_status_api(httpd *h, struct MHD_Connection *c)
{
	static const char starting[] = "{\"error\": \"starting: no status document published yet\"}\n";
	status_doc *d = status_get(h);
	struct MHD_Response *resp;
	enum MHD_Result ret;
	const char *text;
	size_t len;

	if (!d)
		return reply(c, 503, "application/json", NULL, (char *)starting, sizeof(starting) - 1, false);
	/* the document's own bytes; the reference goes with the response */
	text = status_doc_text(d, &len);
	resp = MHD_create_response_from_buffer_with_free_callback_cls(len, (void *)text, status_release, d);
	if (!resp) {
		status_doc_unref(d);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Bytes of the query string's arguments, names and values, decoded. */
static enum MHD_Result add_arg_len(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	size_t *n = cls;

	(void)kind;
	*n += (key ? strlen(key) : 0) + (value ? strlen(value) : 0) + 2; /* '=' and '&' */
	return MHD_YES;
}

static enum MHD_Result serve_status_page(httpd *h, struct MHD_Connection *c)
{
	buf page = BUF_INIT(HTTPD_MAX_STATUS_PAGE);
	size_t qlen = 0, len;
	status_doc *d;
	const char *q, *state;
	char *text;
	bool have;
	int rc;

	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg_len, &qlen);
	if (qlen > STATUS_QUERY_MAX)
		return reply_text(c, 400, "query string longer than 1 KiB\n");
	q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "q");
	state = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state");
	d = status_get(h);
	have = d != NULL;
	rc = status_page_render(&page, d, q, state, (int64_t)time(NULL));
	status_doc_unref(d);
	if (rc != 0) {
		buf_release(&page);
		if (rc == ERR_INVALID) { /* an unknown state: say which ones exist */
			text = xasprintf("%s\n", err_msg());
			return reply(c, 400, NULL, NULL, text, strlen(text), true);
		}
		return reply_text(c, 500, "status page too large\n");
	}
	text = buf_detach(&page, &len);
	return reply(c, have ? 200 : 503, "text/html; charset=utf-8", NULL, text, len, true);
}

static enum MHD_Result serve_hook(httpd *h, struct MHD_Connection *c, conn_ctx *ctx)
{
	const char *sig, *event;
	int ok;

	if (ctx->too_big)
		return reply_text(c, 413, "webhook body larger than 1 MiB\n");
	sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Hub-Signature-256");
	ok = signature_ok(h, sig, ctx->body.data ? ctx->body.data : "", ctx->body.len);
	if (ok < 0)
		return reply_text(c, 404, "not found\n");
	if (ok == 0)
		return reply_text(c, 401, "missing or bad X-Hub-Signature-256\n");
	event = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-GitHub-Event");
	if (h->hook)
		h->hook(h->arg, event ? event : "", ctx->body.data ? ctx->body.data : "", ctx->body.len);
	return reply_text(c, 202, "accepted\n");
}

/* ---------------------------------------------------------- routing */

static route route_of(const char *url, const char **method)
{
	static const struct {
		const char *path, *method;
		route r;
	} table[] = {
		{"/metrics", "GET", ROUTE_METRICS},
		{"/healthz", "GET", ROUTE_HEALTHZ},
		{"/readyz", "GET", ROUTE_READYZ},
		{"/hooks/git", "POST", ROUTE_HOOK},
		{"/", "GET", ROUTE_STATUS_PAGE},
		{"/api/status", "GET", ROUTE_STATUS_API},
	};

	for (size_t i = 0; i < ARRAY_LEN(table); i++)
		if (strcmp(url, table[i].path) == 0) {
			*method = table[i].method;
			return table[i].r;
		}
	return ROUTE_NONE;
}

/*
 * The first call for a request decides everything that needs no body:
 * unknown path, wrong method, no secret, a declared body too large. Those
 * answers are queued at once, so libmicrohttpd never reads (or sends
 * "100 Continue" for) a body nobody will look at.
 */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	httpd *h = cls;
	conn_ctx *ctx = *con_cls;
	const char *want = NULL;

	(void)version;
	if (!ctx) {
		route r = route_of(url, &want);
		bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

		if (r == ROUTE_NONE)
			return reply_text(c, 404, "not found\n");
		if (r == ROUTE_HOOK ? strcmp(method, "POST") != 0 : !get)
			return reply(c, 405, NULL, r == ROUTE_HOOK ? "POST" : "GET, HEAD",
				     (char *)"method not allowed\n", 19, false);
		if (r == ROUTE_HOOK) {
			const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
			int64_t n;
			if (!have_secret(h))
				return reply_text(c, 404, "not found\n");
			if (cl && str_to_i64(cl, &n) == 0 && n > HTTPD_MAX_BODY)
				return reply_text(c, 413, "webhook body larger than 1 MiB\n");
		}
		ctx = xcalloc(1, sizeof(*ctx));
		ctx->r = r;
		buf_init(&ctx->body, HTTPD_MAX_BODY);
		*con_cls = ctx;
		return MHD_YES;
	}
	if (*upload_data_size) {
		/*
		 * A body on a GET is read and dropped; past the bound, so is the
		 * hook's (a chunked body has no Content-Length to refuse early).
		 * No response may be queued while a body is arriving, so the 413
		 * waits for its end; a body that goes on past HTTPD_MAX_DISCARD
		 * has the connection closed instead of being read for ever.
		 */
		ctx->received += *upload_data_size;
		if (ctx->received > HTTPD_MAX_DISCARD)
			return MHD_NO;
		if (ctx->r == ROUTE_HOOK && !ctx->too_big &&
		    buf_add(&ctx->body, upload_data, *upload_data_size) != 0) {
			ctx->too_big = true;
			buf_release(&ctx->body);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	switch (ctx->r) {
	case ROUTE_METRICS:
		return serve_metrics(h, c);
	case ROUTE_HEALTHZ:
		return reply_text(c, 200, "ok\n");
	case ROUTE_READYZ:
		return serve_readyz(h, c);
	case ROUTE_HOOK:
		return serve_hook(h, c, ctx);
	case ROUTE_STATUS_PAGE:
		return serve_status_page(h, c);
	case ROUTE_STATUS_API:
		return serve_status_api(h, c);
	case ROUTE_NONE:
		break;
	}
	return reply_text(c, 404, "not found\n");
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	conn_ctx *ctx = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (!ctx)
		return;
	buf_release(&ctx->body);
	free(ctx);
	*con_cls = NULL;
}

/* ---------------------------------------------------------- lifecycle */

/*
 * "HOST:PORT" into a socket address: HOST is a numeric IPv4 address, an
 * IPv6 one in brackets, or "localhost" (127.0.0.1). No name lookup: the
 * daemon binds exactly what it was told.
 */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, bool *v6)
{
	const char *colon = listen ? strrchr(listen, ':') : NULL;
	char host[64];
	int64_t port;
	size_t hlen;

	if (!colon || str_to_i64(colon + 1, &port) != 0 || port < 0 || port > 65535)
		goto bad;
	hlen = (size_t)(colon - listen);
	if (hlen == 0 || hlen >= sizeof(host))
		goto bad;
	memcpy(host, listen, hlen);
	host[hlen] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && host[hlen - 1] == ']') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		host[hlen - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
			goto bad;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*v6 = true;
		return 0;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	if (strcmp(host, "localhost") == 0)
		str_copy(host, "127.0.0.1", sizeof(host));
	if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
		goto bad;
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	*v6 = false;
	return 0;
bad:
	return err_set(ERR_INVALID, "listen address '%s' is not HOST:PORT (an IPv4 address, [IPv6] or localhost)",
		       listen ? listen : "");
}

int httpd_start(httpd **out, const httpd_opts *o, int *port)
{
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	bool v6 = false;
	httpd *h;
	int rc;

	*out = NULL;
	if (port)
		*port = 0;
	rc = parse_listen(o->listen, &ss, &v6);
	if (rc != 0)
		return rc;
	h = xcalloc(1, sizeof(*h));
	pthread_mutex_init(&h->mu, NULL);
	pthread_mutex_init(&h->smu, NULL);
	h->m = o->m;
	h->ready = o->ready;
	h->hook = o->hook;
	h->arg = o->arg;
	h->secret = secret_dup(o->webhook_secret);
	/* the port argument is ignored when MHD_OPTION_SOCK_ADDR is given */
	h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
					(v6 ? MHD_USE_IPv6 : 0),
				0, NULL, NULL, on_request, h,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)32,
				MHD_OPTION_END);
	if (!h->d) {
		rc = err_set(ERR_IO, "cannot listen on '%s' (address in use or not local?)", o->listen);
		httpd_stop(h);
		return rc;
	}
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	if (port)
		*port = info ? info->port : 0;
	*out = h;
	return 0;
}

void httpd_stop(httpd *h)
{
	if (!h)
		return;
	if (h->d)
		MHD_stop_daemon(h->d);
	httpd_secret_free(h->secret);
	status_doc_unref(h->status);
	pthread_mutex_destroy(&h->mu);
	pthread_mutex_destroy(&h->smu);
	free(h);
}
