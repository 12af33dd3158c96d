/*
 * client.c: making a client, queueing requests, and the small helpers the
 * other files share. The multi loop that sends them lives in run.c.
 *
 * The base URL is checked once here: https anywhere, plain http only to a
 * loopback host (the sim, a local proxy), because the key travels in every
 * request. TLS verification is never configurable.
 *
 * The key is copied straight into secret memory (key.c) as the whole
 * "Authorization: Bearer KEY" header line, and that line is chained into
 * each request's header list as a node this file owns, so the key is never
 * copied to the ordinary heap by flotilla (libcurl still builds the request
 * in its own buffers; that cannot be helped). Every message a result or an
 * error carries passes through neon__redact before it leaves.
 */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "neon/internal.h"

/* ------------------------------------------------------------- helpers */

bool neon__id_valid(const char *id)
{
	size_t n = 0;

	if (!id)
		return false;
	for (; id[n]; n++) {
		char ch = id[n];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
			return false;
	}
	return n >= 1 && n <= 60;
}

int neon__query_escape(buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	int rc = 0;

	for (p = (const unsigned char *)s; *p && rc == 0; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			rc = buf_addc(b, (char)*p);
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };

			rc = buf_add(b, e, 3);
		}
	}
	return rc;
}

const char *neon__api_message(const json_t *body)
{
	const char *m = json_string_value(json_object_get(body, "message"));

	return m && *m ? m : NULL;
}

void neon__redact(const neon_client *c, char *s, size_t size)
{
	static const char mark[] = "[redacted]";
	size_t klen, mlen = sizeof(mark) - 1;
	char *p, *from = s;

	(void)size; /* the text only ever shrinks or keeps its length */
	if (!c || !c->key || !*c->key || !s)
		return;
	klen = strlen(c->key);
	while ((p = strstr(from, c->key)) != NULL) {
		if (klen >= mlen) {
			memcpy(p, mark, mlen);
			memmove(p + mlen, p + klen, strlen(p + klen) + 1);
			from = p + mlen;
		} else {
			/* a key shorter than the mark: mask it in place */
			memset(p, '*', klen);
			from = p + klen;
		}
	}
}

/* ------------------------------------------------------------ the client */

/* Plain http is allowed to these hosts only: the traffic never leaves the
 * machine. curl_url gives IPv6 hosts in brackets. */
static bool host_is_loopback(const char *host)
{
	struct in_addr a4;

	if (strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return false;
}

/* Check the URL's shape. *loopback_http is set for http to loopback. The
 * messages name the URL, which never holds the key. */
static int check_url(const char *url, bool *loopback_http)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *user = NULL, *query = NULL, *frag = NULL;
	int rc = 0;

	*loopback_http = false;
	if (!u)
		return err_set(ERR_FAIL, "curl_url failed");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		rc = err_set(ERR_INVALID, "API URL '%s': not a valid URL", url);
		goto done;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK && user) {
		rc = err_set(ERR_INVALID, "API URL: must not hold credentials (pass the key separately)");
		goto done;
	}
	if ((curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK && query) ||
	    (curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK && frag)) {
		rc = err_set(ERR_INVALID, "API URL '%s': must not have a query or fragment", url);
		goto done;
	}
	if (strcasecmp(scheme, "https") == 0) {
		rc = 0;
	} else if (strcasecmp(scheme, "http") == 0) {
		if (!host_is_loopback(host)) {
			rc = err_set(ERR_INVALID,
				     "API URL '%s': plain http is only allowed to a loopback host "
				     "(127.0.0.0/8, ::1, localhost); use https",
				     url);
			goto done;
		}
		*loopback_http = true;
	} else {
		rc = err_set(ERR_INVALID, "API URL '%s': scheme must be https (or http to loopback)", url);
	}
done:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(query);
	curl_free(frag);
	curl_url_cleanup(u);
	return rc;
}

/* A key goes into a header line: printable ASCII without spaces only, or
 * it could end the line and forge another header. */
static bool key_valid(const char *k)
{
	const unsigned char *p;

	for (p = (const unsigned char *)k; *p; p++) {
		if (*p < 0x21 || *p > 0x7e)
			return false;
	}
	return p != (const unsigned char *)k;
}

/* Fill unset (zero) options with their defaults; reject the impossible. */
static int check_options(neon_options *o)
{
	const neon_options def = NEON_OPTIONS_INIT;

	if (o->rate == 0)
		o->rate = def.rate;
	if (o->burst == 0)
		o->burst = def.burst;
	if (o->max_in_flight == 0)
		o->max_in_flight = def.max_in_flight;
	if (o->timeout_ms == 0)
		o->timeout_ms = def.timeout_ms;
	if (o->max_body == 0)
		o->max_body = def.max_body;
	if (o->max_attempts == 0)
		o->max_attempts = def.max_attempts;
	if (o->lock_wait_ms == 0)
		o->lock_wait_ms = def.lock_wait_ms;
	if (!(o->rate > 0 && o->rate <= 1e6))
		return err_set(ERR_INVALID, "rate %g: must be above 0 requests per second", o->rate);
	if (!(o->burst > 0 && o->burst <= 1e6))
		return err_set(ERR_INVALID, "burst %g: must be above 0", o->burst);
	if (o->max_in_flight < 1 || o->max_in_flight > 1024)
		return err_set(ERR_INVALID, "max_in_flight %d: must be 1..1024", o->max_in_flight);
	if (o->timeout_ms < 0)
		return err_set(ERR_INVALID, "timeout_ms %lld: must be positive", (long long)o->timeout_ms);
	if (o->max_attempts < 1 || o->max_attempts > 100)
		return err_set(ERR_INVALID, "max_attempts %d: must be 1..100", o->max_attempts);
	if (o->lock_wait_ms < 0)
		return err_set(ERR_INVALID, "lock_wait_ms %lld: must not be negative", (long long)o->lock_wait_ms);
	if (o->max_backoff_ms < 0)
		return err_set(ERR_INVALID, "max_backoff_ms %lld: must not be negative",
			       (long long)o->max_backoff_ms);
	return 0;
}

int neon_client_new(neon_client **out, const neon_options *opt)
{
	static const char prefix[] = "Authorization: Bearer ";
	neon_client *c = NULL;
	neon_options o = *opt;
	const char *url = opt->base_url && *opt->base_url ? opt->base_url : NEON_DEFAULT_URL;
	bool loopback = false;
	size_t len, klen;
	int rc;

	*out = NULL;
	if (!opt->api_key || !*opt->api_key)
		return err_set(ERR_INVALID, "no API key given");
	if (!key_valid(opt->api_key))
		return err_set(ERR_INVALID, "the API key holds spaces or control characters; "
			       "it cannot go in a header");
	if ((rc = check_options(&o)) != 0)
		return rc;
	if ((rc = check_url(url, &loopback)) != 0)
		return rc;
	/* reference counted (and thread-safe) in the libcurl we need; each
	 * client holds one reference until neon_client_free */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return err_set(ERR_FAIL, "curl_global_init failed");

	c = xcalloc(1, sizeof(*c));
	c->opt = o;
	len = strlen(url);
	while (len > 0 && url[len - 1] == '/')
		len--;
	c->base_url = xstrndup(url, len);
	c->opt.base_url = c->base_url;
	c->opt.api_key = NULL; /* the caller's copy is the caller's to wipe */
	c->loopback_http = loopback;
	klen = strlen(opt->api_key);
	c->auth = neon__secret_alloc(sizeof(prefix) + klen);
	memcpy(c->auth, prefix, sizeof(prefix) - 1);
	memcpy(c->auth + sizeof(prefix) - 1, opt->api_key, klen + 1);
	c->key = c->auth + sizeof(prefix) - 1;
	c->auth_node.data = c->auth;
	c->auth_node.next = NULL;
	neon__budget_init(&c->budget, o.rate, o.burst, mono_ms());
	c->jitter_rng = o.seed ? o.seed : neon__seed();
	c->id_rng = neon__seed();
	c->pool = xcalloc((size_t)o.max_in_flight, sizeof(*c->pool));
	c->multi = curl_multi_init();
	if (!c->multi) {
		neon_client_free(c);
		return err_set(ERR_FAIL, "curl_multi_init failed");
	}
	/* HTTP/2 multiplexes reads over one connection where the server has it;
	 * keep enough idle connections for every slot plus the writes' own */
	curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)o.max_in_flight * 2 + 2);
	*out = c;
	return 0;
}

void neon_client_free(neon_client *c)
{
	neon_req *r;
	int i;

	if (!c)
		return;
	/* requests still queued (neon_run failed or was never called) are
	 * dropped without their callbacks: the caller is tearing down */
	while ((r = c->ready) != NULL) {
		c->ready = r->next;
		neon__req_free(r);
	}
	while ((r = c->timers) != NULL) {
		c->timers = r->next;
		neon__req_free(r);
	}
	for (i = 0; i < c->npool; i++)
		curl_easy_cleanup(c->pool[i]);
	free(c->pool);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	neon__secret_free(c->auth);
	free(c->base_url);
	free(c->org_id);
	free(c);
	curl_global_cleanup();
}

void neon_client_set_org(neon_client *c, const char *org_id)
{
	free(c->org_id);
	c->org_id = org_id && *org_id ? xstrdup(org_id) : NULL;
}

void neon_client_set_interrupt(neon_client *c, bool (*fn)(void *arg), void *arg)
{
	c->interrupt = fn;
	c->interrupt_arg = arg;
}

const char *neon_client_org(const neon_client *c)
{
	return c->org_id;
}

/* ------------------------------------------------------------ requests */

void neon_result_release(neon_result *r)
{
	if (!r)
		return;
	json_decref(r->body);
	r->body = NULL;
}

/* Paths go into the URL as given: one that could escape it (spaces, CR,
 * LF, a fragment) or does not start at the root is refused. */
static bool path_valid(const char *path)
{
	const unsigned char *p;

	if (!path || path[0] != '/')
		return false;
	for (p = (const unsigned char *)path; *p; p++) {
		if (*p < 0x21 || *p > 0x7e || *p == '#')
			return false;
	}
	return true;
}

static bool method_valid(const char *m)
{
	static const char *const known[] = { "GET", "POST", "PATCH", "PUT", "DELETE", "HEAD" };
	size_t i;

	for (i = 0; m && i < ARRAY_LEN(known); i++) {
		if (strcmp(m, known[i]) == 0)
			return true;
	}
	return false;
}

void neon_submit(neon_client *c, const char *method, const char *path, json_t *body, bool write,
		 neon_done_fn done, void *arg)
{
	neon_req *r = xcalloc(1, sizeof(*r));
	size_t plen;

	r->c = c;
	r->done = done;
	r->arg = arg;
	r->write = write;
	r->waiting_since = -1;
	r->invalid = !method_valid(method) || !path_valid(path);
	str_copy(r->method, method && strlen(method) < sizeof(r->method) ? method : "?", sizeof(r->method));
	r->path = xstrdup(path ? path : "");
	plen = strcspn(r->path, "?");
	r->route = xasprintf("%s %.*s", r->method, (int)plen, r->path);
	if (body) {
		/* serialised once: every attempt sends the same bytes */
		r->body = json_dumps(body, JSON_COMPACT);
		if (!r->body) {
			fprintf(stderr, "fatal: out of memory (json_dumps)\n");
			abort();
		}
		r->body_len = strlen(r->body);
		json_decref(body);
	}
	buf_init(&r->in, c->opt.max_body);
	neon__enqueue(c, r);
}

void neon__after(neon_client *c, int64_t delay_ms, neon_task_fn fn, void *arg)
{
	neon_req *r = xcalloc(1, sizeof(*r));
	neon_req **pp;

	r->c = c;
	r->task = fn;
	r->task_arg = arg;
	r->not_before = mono_ms() + (delay_ms > 0 ? delay_ms : 0);
	/* sorted by due time; equal times keep their order */
	for (pp = &c->timers; *pp && (*pp)->not_before <= r->not_before; pp = &(*pp)->next)
		;
	r->next = *pp;
	*pp = r;
}

void neon_after(neon_client *c, int64_t delay_ms, neon_timer_fn fn, void *arg)
{
	neon__after(c, delay_ms, fn, arg);
}

static void nothing(void *arg)
{
	(void)arg;
}

int neon__sleep(neon_client *c, int64_t delay_ms)
{
	neon__after(c, delay_ms, nothing, NULL);
	return neon_run(c);
}

typedef struct call_ctx {
	neon_result *out;
	bool done;
} call_ctx;

static void on_call_done(void *arg, neon_result *res)
{
	call_ctx *ctx = arg;

	/* move, not copy: the caller releases *out, run.c releases nothing */
	*ctx->out = *res;
	memset(res, 0, sizeof(*res));
	ctx->done = true;
}

int neon_call(neon_client *c, const char *method, const char *path, json_t *body, bool write,
	      neon_result *out)
{
	call_ctx ctx = { out, false };
	int rc;

	memset(out, 0, sizeof(*out));
	if (c->running) {
		json_decref(body);
		out->outcome = NEON_TRANSPORT;
		str_copy(out->message, "neon_call from inside a neon_run callback", sizeof(out->message));
		return err_set(ERR_FAIL, "%s", out->message);
	}
	neon_submit(c, method, path, body, write, on_call_done, &ctx);
	rc = neon_run(c);
	if (!ctx.done) {
		out->outcome = write ? NEON_UNKNOWN_OUTCOME : NEON_TRANSPORT;
		snprintf(out->message, sizeof(out->message), "%s: the request did not finish: %s", method,
			 err_msg());
		neon__redact(c, out->message, sizeof(out->message));
		return rc ? rc : err_set(ERR_FAIL, "%s", out->message);
	}
	return rc;
}

void neon_client_stats(const neon_client *c, neon_stats *out)
{
	*out = c->stats;
	neon__budget_peek(&c->budget, mono_ms(), &out->rate_now, &out->tokens);
}
