/*
 * run.c: the multi loop. Requests wait in a FIFO until the rate budget
 * gives a token and fewer than max_in_flight are on the wire; then one
 * attempt goes to libcurl's multi handle. A finished attempt is classified
 * (retry.c): a retry goes to the timer list with its backoff or its
 * Retry-After, so waiting never blocks the loop and the other requests
 * keep going; a final answer runs the request's callback.
 *
 * One thread, no signals: curl_multi_poll sleeps until a socket is ready,
 * the next timer is due, the budget has a token, or libcurl's own timeout.
 *
 * Connections: reads reuse kept-alive connections (and share an HTTP/2
 * connection with PIPEWAIT where the server speaks h2). Writes always open
 * a fresh one (CURLOPT_FRESH_CONNECT): when a reused connection closes
 * before the first response byte, libcurl silently sends the request again
 * on a new one, which is harmless for a GET and a second project for a
 * POST. On a connection of its own a write that dies is an error we see.
 */
#include <string.h>
#include <strings.h>

#include "neon/internal.h"

#define USER_AGENT "flotilla-neon/1"
#define CONNECT_TIMEOUT_MAX_MS 10000
/* the longest sleep in curl_multi_poll before looking around again */
#define POLL_MAX_MS 1000
/* a 423's wait: at least this, plus full jitter growing to the max */
#define LOCK_BACKOFF_MIN_MS 250
#define LOCK_BACKOFF_MAX_MS 5000
/* what a 400 "org_id is required" means and what to do about it */
#define NEON_ORG_HINT                                                                              \
	"the API key is a personal key of an account that belongs to organizations, so every "     \
	"project list and create must name one: set spec.orgId in flotilla.yaml to the "           \
	"organization's id (org-...); `neon orgs list` lists them, as do "                         \
	"GET /users/me/organizations and the console's organization settings"


void neon__req_free(neon_req *r)
{
	if (!r)
		return;
	if (r->headers_tail)
		r->headers_tail->next = NULL; /* the auth node is the client's */
	curl_slist_free_all(r->headers);
	free(r->path);
	free(r->route);
	free(r->body);
	buf_release(&r->in);
	json_decref(r->res.body);
	free(r);
}

void neon__enqueue(neon_client *c, neon_req *r)
{
	r->next = NULL;
	if (c->ready_tail)
		c->ready_tail->next = r;
	else
		c->ready = r;
	c->ready_tail = r;
}

static neon_req *ready_pop(neon_client *c)
{
	neon_req *r = c->ready;

	c->ready = r->next;
	if (!c->ready)
		c->ready_tail = NULL;
	r->next = NULL;
	return r;
}

static void timer_insert(neon_client *c, neon_req *r)
{
	neon_req **pp;

	for (pp = &c->timers; *pp && (*pp)->not_before <= r->not_before; pp = &(*pp)->next)
		;
	r->next = *pp;
	*pp = r;
}

/* Due retries go before the ready queue (they have waited longest), in
 * their order; due tasks run now. Returns whether a task ran. */
static bool promote(neon_client *c, int64_t now)
{
	neon_req *head = NULL, *last = NULL, *r;
	bool ran = false;

	while (c->timers && c->timers->not_before <= now) {
		r = c->timers;
		c->timers = r->next;
		r->next = NULL;
		if (r->task) {
			r->task(r->task_arg);
			neon__req_free(r);
			ran = true;
			continue;
		}
		if (last)
			last->next = r;
		else
			head = r;
		last = r;
	}
	if (head) {
		last->next = c->ready;
		if (!c->ready)
			c->ready_tail = last;
		c->ready = head;
	}
	return ran;
}

static void wire_remove(neon_client *c, neon_req *r)
{
	neon_req **pp;

	for (pp = &c->wire; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	r->next = NULL;
}

/* ---------------------------------------------------------- callbacks */

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
	neon_req *r = ud;
	size_t len = size * n;

	if (buf_add(&r->in, data, len) != 0) {
		r->too_big = true;
		return 0; /* libcurl stops the transfer */
	}
	return len;
}

/* The server's X-Request-Id replaces ours when it is a plain token: that is
 * the id its logs know the request by. */
static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
	static const char name[] = "x-request-id:";
	neon_req *r = ud;
	size_t len = size * n, i, k = 0;
	char id[sizeof(r->res.request_id)];

	if (len > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
		for (i = sizeof(name) - 1; i < len && (data[i] == ' ' || data[i] == '\t'); i++)
			;
		for (; i < len && k + 1 < sizeof(id); i++) {
			char ch = data[i];

			if (ch == '\r' || ch == '\n')
				break;
			if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.'))
				return len; /* not a token: keep ours */
			id[k++] = ch;
		}
		id[k] = 0;
		if (k > 0)
			str_copy(r->res.request_id, id, sizeof(r->res.request_id));
	}
	return len;
}

/* ------------------------------------------------------------ attempts */

static void make_uuid(uint64_t *rng, char out[37])
{
	uint64_t hi = neon__rand(rng), lo = neon__rand(rng);

	hi = (hi & ~0xf000ULL) | 0x4000ULL;                     /* version 4 */
	lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL; /* variant 10 */
	snprintf(out, 37, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(hi >> 32),
		 (unsigned)((hi >> 16) & 0xffff), (unsigned)(hi & 0xffff), (unsigned)(lo >> 48),
		 (unsigned long long)(lo & 0xffffffffffffULL));
}

static CURL *easy_get(neon_client *c)
{
	if (c->npool > 0)
		return c->pool[--c->npool];
	return curl_easy_init();
}

static void easy_put(neon_client *c, CURL *e)
{
	if (c->npool < c->opt.max_in_flight) {
		curl_easy_reset(e);
		c->pool[c->npool++] = e;
	} else {
		curl_easy_cleanup(e);
	}
}

static struct curl_slist *add_header(struct curl_slist *l, const char *h)
{
	struct curl_slist *n = curl_slist_append(l, h);

	if (!n) {
		fprintf(stderr, "fatal: out of memory (curl_slist_append)\n");
		abort();
	}
	return n;
}

/* Hand one attempt of r to libcurl. false when libcurl refused it. */
static bool start_attempt(neon_client *c, neon_req *r, int64_t now)
{
	char uuid[37], line[64], *url;
	struct curl_slist *t;
	CURL *e = easy_get(c);
	int64_t connect_ms = c->opt.timeout_ms < CONNECT_TIMEOUT_MAX_MS ? c->opt.timeout_ms
									 : CONNECT_TIMEOUT_MAX_MS;

	if (!e)
		return false;
	make_uuid(&c->id_rng, uuid);
	str_copy(r->res.request_id, uuid, sizeof(r->res.request_id));
	snprintf(line, sizeof(line), "X-Request-Id: %s", uuid);
	r->headers = add_header(NULL, "Accept: application/json");
	if (r->body)
		r->headers = add_header(r->headers, "Content-Type: application/json");
	r->headers = add_header(r->headers, "Expect:"); /* no 100-continue round trip */
	r->headers = add_header(r->headers, line);
	for (t = r->headers; t->next; t = t->next)
		;
	r->headers_tail = t;
	t->next = &c->auth_node;

	url = xasprintf("%s%s", c->base_url, r->path);
	curl_easy_setopt(e, CURLOPT_URL, url); /* libcurl copies it */
	free(url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)r);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85 */
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, c->loopback_http ? "http" : "https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, c->loopback_http ? (long)CURLPROTO_HTTP : (long)CURLPROTO_HTTPS);
#endif
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	if (c->loopback_http)
		curl_easy_setopt(e, CURLOPT_PROXY, ""); /* loopback never goes via a proxy */
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	/* h2 where TLS negotiates it (libcurl without nghttp2 ignores this) */
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->opt.timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->opt.max_body);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	r->errbuf[0] = 0;
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, (void *)r);
	if (r->write)
		curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	else
		curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	if (strcmp(r->method, "GET") == 0) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(r->method, "HEAD") == 0) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else {
		if (r->body || strcmp(r->method, "POST") == 0) {
			curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
			curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? r->body : "");
		}
		if (strcmp(r->method, "POST") != 0)
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	}
	if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
		r->headers_tail->next = NULL;
		curl_slist_free_all(r->headers);
		r->headers = r->headers_tail = NULL;
		curl_easy_cleanup(e);
		return false;
	}
	r->easy = e;
	if (r->res.attempts == 0)
		r->first_send = now;
	else
		c->stats.retries++;
	r->res.attempts++;
	r->attempt_start = now;
	c->stats.requests++;
	c->in_flight++;
	r->next = c->wire;
	c->wire = r;
	return true;
}

/* Detach the finished attempt's handle and headers from r. */
static void end_attempt(neon_client *c, neon_req *r)
{
	wire_remove(c, r);
	curl_multi_remove_handle(c->multi, r->easy);
	easy_put(c, r->easy);
	r->easy = NULL;
	r->headers_tail->next = NULL;
	curl_slist_free_all(r->headers);
	r->headers = r->headers_tail = NULL;
	c->in_flight--;
}

/* Run r's callback with its final result, then free r. */
static void complete(neon_client *c, neon_req *r, neon_outcome outcome, int64_t now)
{
	r->res.outcome = outcome;
	r->res.elapsed_ms = r->res.attempts ? now - r->first_send : 0;
	neon__redact(c, r->res.message, sizeof(r->res.message));
	if (r->done)
		r->done(r->arg, &r->res);
	neon__req_free(r);
}

/* "after 3 attempts" when there was more than one. */
static void attempts_note(const neon_req *r, char *out, size_t size)
{
	if (r->res.attempts > 1)
		snprintf(out, size, " (after %d attempts)", r->res.attempts);
	else
		out[0] = 0;
}

/* `connects` is how many new connections the attempt opened (0: it reused
 * a kept-alive one), which is how an operator sees writes go fresh. */
static void log_attempt(const neon_req *r, int code, int64_t ms, long connects)
{
	char status[16], attempt[16], took[24], conns[16];
	const char *path = r->route + strlen(r->method) + 1;

	snprintf(status, sizeof(status), "%d", r->res.status);
	snprintf(attempt, sizeof(attempt), "%d", r->res.attempts);
	snprintf(took, sizeof(took), "%lld", (long long)ms);
	snprintf(conns, sizeof(conns), "%ld", connects);
	/* never headers, the body or the query: only what identifies the call */
	if (code)
		log_debug("neon request", "method", r->method, "path", path, "status", status, "request_id",
			  r->res.request_id, "attempt", attempt, "ms", took, "new_connections", conns,
			  "error", curl_easy_strerror((CURLcode)code));
	else
		log_debug("neon request", "method", r->method, "path", path, "status", status, "request_id",
			  r->res.request_id, "attempt", attempt, "ms", took, "new_connections", conns);
}

/* What a finished attempt left behind, for deciding what comes next. */
typedef struct attempt_info {
	CURLcode code;
	int cc; /* code, 0 for CURLE_OK */
	long status;
	curl_off_t retry_after; /* seconds, or -1 */
	json_error_t jerr;      /* why a body did not parse */
} attempt_info;

/* Take the attempt of r that ended with code off the wire into *a: its
 * status, its body parsed, the stats, the log line and on_attempt. Returns
 * the verdict of neon__classify. */
static neon_verdict attempt_read(neon_client *c, neon_req *r, CURLcode code, int64_t now, attempt_info *a)
{
	long sent_bytes = 0, connects = 0;

	a->code = code;
	a->status = 0;
	a->retry_after = -1;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &a->status);
	curl_easy_getinfo(r->easy, CURLINFO_REQUEST_SIZE, &sent_bytes);
	curl_easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &a->retry_after);
	curl_easy_getinfo(r->easy, CURLINFO_NUM_CONNECTS, &connects);
	if (code == CURLE_FILESIZE_EXCEEDED)
		r->too_big = true;
	end_attempt(c, r);

	a->cc = code == CURLE_OK ? 0 : (int)code;
	r->res.status = (int)a->status;
	neon_verdict v = neon__classify(r->write, a->cc, sent_bytes > 0, a->status, r->too_big);
	if (a->cc && !r->too_big)
		c->stats.transport_errors++;
	if (a->cc == 0 && a->status == 429) {
		c->stats.status_429++;
		neon__budget_throttled(&c->budget, now);
	}
	json_decref(r->res.body);
	r->res.body = NULL;
	memset(&a->jerr, 0, sizeof(a->jerr));
	if (!r->too_big && r->in.len > 0)
		r->res.body = json_loadb(r->in.data, r->in.len, 0, &a->jerr);
	log_attempt(r, a->cc, now - r->attempt_start, connects);
	if (c->opt.on_attempt) {
		char *tmpl = neon_route_template(r->route);
		c->opt.on_attempt(c->opt.on_attempt_arg, tmpl, (int)a->status);
		free(tmpl);
	}
	return v;
}

/* For a NEON_V_RETRY *v: put r on the timer list for its next attempt and
 * return true, or, when the waiting or the attempts are used up, turn *v
 * into the final verdict and return false. */
static bool attempt_again(neon_client *c, neon_req *r, const attempt_info *a, neon_verdict *v, int64_t now)
{
	if (*v == NEON_V_RETRY && a->cc == 0 && a->status == 423) {
		/* a project busy with operations, Neon's own as often as ours:
		 * nothing ran, so wait it out for as long as lock_wait_ms allows
		 * (neonctl and terraform retry 423 for seconds to minutes) */
		int64_t wait = LOCK_BACKOFF_MIN_MS + neon__backoff_ms(++r->locked, LOCK_BACKOFF_MAX_MS, &c->jitter_rng);

		c->stats.status_423++;
		if (now + wait - r->first_send <= c->opt.lock_wait_ms) {
			buf_reset(&r->in);
			r->not_before = now + wait;
			timer_insert(c, r);
			return true;
		}
		*v = NEON_V_HTTP;
	} else if (*v == NEON_V_RETRY) {
		int64_t wait = neon__backoff_ms(r->res.attempts - r->locked, c->opt.max_backoff_ms, &c->jitter_rng);
		bool too_long = a->retry_after > NEON_RETRY_AFTER_MAX_MS / 1000;

		if (a->retry_after > 0 && !too_long && a->retry_after * 1000 > wait)
			wait = (int64_t)a->retry_after * 1000;
		/* 423s waited out before do not use up the other attempts */
		if (r->res.attempts - r->locked < c->opt.max_attempts && !too_long) {
			buf_reset(&r->in);
			r->too_big = false;
			r->not_before = now + wait;
			timer_insert(c, r);
			return true;
		}
		*v = neon__final_verdict(a->cc);
	}
	return false;
}

/* r's message for a final non-2xx answer; note is attempts_note's. */
static void http_error_message(const neon_client *c, neon_req *r, const attempt_info *a, const char *note, int64_t now)
{
	const char *m = neon__api_message(r->res.body);
	long status = a->status;

	if (a->retry_after > NEON_RETRY_AFTER_MAX_MS / 1000)
		snprintf(r->res.message, sizeof(r->res.message),
			 "%s: %ld: %s; Retry-After %lld s is too long to wait%s", r->route, status,
			 m ? m : "rate limited", (long long)a->retry_after, note);
	else if (status == 423)
		snprintf(r->res.message, sizeof(r->res.message),
			 "%s: 423: %s; the project stayed locked for %lld s (%d attempts)", r->route,
			 m ? m : "locked", (long long)((now - r->first_send) / 1000), r->res.attempts);
	else if (status == 400 && m && strstr(m, "org_id is required"))
		snprintf(r->res.message, sizeof(r->res.message), "%s: 400: %s%s; %s", r->route, m, note,
			 c->org_id ? "Neon refused the organization this request named" : NEON_ORG_HINT);
	else
		snprintf(r->res.message, sizeof(r->res.message), "%s: %ld: %s%s", r->route, status,
			 m ? m : "no message", note);
}

/* Finish r with the final verdict v: its outcome and message, then its
 * callback (complete). */
static void attempt_final(neon_client *c, neon_req *r, const attempt_info *a, neon_verdict v, int64_t now)
{
	long status = a->status;
	char note[40];
	const char *why;

	attempts_note(r, note, sizeof(note));
	why = a->cc ? (r->errbuf[0] ? r->errbuf : curl_easy_strerror(a->code)) : NULL;
	switch (v) {
	case NEON_V_OK:
		if (r->in.len > 0 && !r->res.body) {
			snprintf(r->res.message, sizeof(r->res.message),
				 "%s: %ld response is not valid JSON: %s at byte %zu", r->route, status,
				 a->jerr.text, (size_t)a->jerr.position);
			complete(c, r, NEON_BAD_RESPONSE, now);
			return;
		}
		r->res.message[0] = 0;
		complete(c, r, NEON_OK, now);
		return;
	case NEON_V_HTTP:
		http_error_message(c, r, a, note, now);
		complete(c, r, NEON_HTTP_ERROR, now);
		return;
	case NEON_V_TRANSPORT:
		snprintf(r->res.message, sizeof(r->res.message), "%s: no answer: %s%s", r->route, why, note);
		complete(c, r, NEON_TRANSPORT, now);
		return;
	case NEON_V_UNKNOWN:
		if (a->cc)
			snprintf(r->res.message, sizeof(r->res.message),
				 "%s: outcome unknown, the request was sent but %s; read before retrying%s",
				 r->route, why, note);
		else
			snprintf(r->res.message, sizeof(r->res.message),
				 "%s: outcome unknown, %ld after the request arrived: %s; read before "
				 "retrying%s",
				 r->route, status, neon__api_message(r->res.body) ? neon__api_message(r->res.body)
										   : "no message",
				 note);
		complete(c, r, NEON_UNKNOWN_OUTCOME, now);
		return;
	case NEON_V_TOO_BIG:
		snprintf(r->res.message, sizeof(r->res.message), "%s: response body larger than %zu bytes",
			 r->route, c->opt.max_body);
		complete(c, r, NEON_TOO_BIG, now);
		return;
	case NEON_V_RETRY:
		break;
	}
	/* not reached: every verdict above completed r */
	complete(c, r, NEON_TRANSPORT, now);
}

/* The attempt of r ended with `code`: retry it or finish it. */
static void finish_attempt(neon_client *c, neon_req *r, CURLcode code, int64_t now)
{
	attempt_info a;
	neon_verdict v = attempt_read(c, r, code, now, &a);

	if (attempt_again(c, r, &a, &v, now))
		return;
	attempt_final(c, r, &a, v, now);
}

/* Fail a request that cannot be sent (bad method or path, or libcurl would
 * not take it): nothing reached the network. */
static void refuse(neon_client *c, neon_req *r, const char *why, int64_t now)
{
	snprintf(r->res.message, sizeof(r->res.message), "%s: not sent: %s", r->route, why);
	complete(c, r, NEON_TRANSPORT, now);
}

/* libcurl itself failed: finish everything so no callback is lost and no
 * caller waits on a request that will never run. */
static void fail_everything(neon_client *c, const char *why)
{
	neon_req *r;
	int64_t now = mono_ms();

	for (;;) {
		if ((r = c->wire) != NULL) {
			bool write = r->write;

			end_attempt(c, r);
			snprintf(r->res.message, sizeof(r->res.message), "%s: %s: %s", r->route,
				 write ? "outcome unknown, libcurl failed mid-request" : "libcurl failed",
				 why);
			complete(c, r, write ? NEON_UNKNOWN_OUTCOME : NEON_TRANSPORT, now);
		} else if ((r = c->timers) != NULL) {
			c->timers = r->next;
			r->next = NULL;
			if (r->task) {
				r->task(r->task_arg);
				neon__req_free(r);
			} else {
				refuse(c, r, why, now);
			}
		} else if (c->ready) {
			refuse(c, ready_pop(c), why, now);
		} else {
			break;
		}
	}
}

/* The reads not sent yet (ready or waiting to retry) complete as not sent;
 * the writes stay queued. */
static void drop_reads(neon_client *c, int64_t now)
{
	neon_req *keep = NULL, **tail = &keep, *r, *reads = NULL;
	while (c->ready) {
		r = ready_pop(c);
		if (r->write || r->invalid) {
			*tail = r;
			tail = &r->next;
		} else {
			r->next = reads;
			reads = r;
		}
	}
	for (r = keep; r;) {
		neon_req *next = r->next;
		neon__enqueue(c, r);
		r = next;
	}
	for (neon_req **pp = &c->timers; *pp;) {
		r = *pp;
		if (!r->task && !r->write) {
			*pp = r->next;
			r->next = reads;
			reads = r;
		} else {
			pp = &r->next;
		}
	}
	while ((r = reads) != NULL) {
		reads = r->next;
		r->next = NULL;
		refuse(c, r, "the process is stopping", now);
	}
}

/* Start whatever the queue, the slots and the budget allow. Returns the
 * milliseconds until the budget has a token for the head, or -1. */
static int64_t start_ready(neon_client *c, int64_t now)
{
	neon_req *r;
	int64_t wait;

	while (c->ready) {
		r = c->ready;
		if (r->invalid) {
			refuse(c, ready_pop(c), "not a valid method or path", now);
			continue;
		}
		if (c->in_flight >= c->opt.max_in_flight)
			return -1;
		wait = neon__budget_take(&c->budget, now);
		if (wait > 0) {
			if (r->waiting_since < 0)
				r->waiting_since = now;
			return wait;
		}
		ready_pop(c);
		if (r->waiting_since >= 0) {
			c->stats.budget_waits++;
			c->stats.budget_wait_ms += now - r->waiting_since;
			r->waiting_since = -1;
		}
		if (!start_attempt(c, r, now))
			refuse(c, r, "libcurl would not take the request", now);
	}
	return -1;
}

int neon_run(neon_client *c)
{
	CURLMsg *msg;
	CURLMcode mc;
	int running, left, rc = 0;
	int64_t now, budget_wait, timeout;
	long curl_timeout;
	bool progressed;

	if (c->running)
		return err_set(ERR_FAIL, "neon_run called from inside a neon_run callback");
	c->running = true;
	for (;;) {
		now = mono_ms();
		if (c->interrupt && c->interrupt(c->interrupt_arg) && (c->ready || c->timers))
			drop_reads(c, now);
		progressed = promote(c, now);
		budget_wait = start_ready(c, now);
		if (!c->ready && !c->timers && c->in_flight == 0)
			break;
		mc = curl_multi_perform(c->multi, &running);
		if (mc != CURLM_OK) {
			rc = err_set(ERR_FAIL, "libcurl: %s", curl_multi_strerror(mc));
			fail_everything(c, curl_multi_strerror(mc));
			break;
		}
		while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
			neon_req *r = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
			finish_attempt(c, r, msg->data.result, mono_ms());
			progressed = true;
		}
		if (progressed)
			continue; /* callbacks may have queued work: start it first */

		timeout = POLL_MAX_MS;
		if (budget_wait >= 0 && budget_wait < timeout)
			timeout = budget_wait;
		if (c->timers && c->timers->not_before - now < timeout)
			timeout = c->timers->not_before - now;
		if (curl_multi_timeout(c->multi, &curl_timeout) == CURLM_OK && curl_timeout >= 0 &&
		    curl_timeout < timeout)
			timeout = curl_timeout;
		if (timeout < 0)
			timeout = 0;
		mc = curl_multi_poll(c->multi, NULL, 0, (int)timeout, NULL);
		if (mc != CURLM_OK) {
			rc = err_set(ERR_FAIL, "libcurl: %s", curl_multi_strerror(mc));
			fail_everything(c, curl_multi_strerror(mc));
			break;
		}
	}
	c->running = false;
	return rc;
}

char *neon_route_template(const char *route)
{
	static const char *const collections[] = {"projects", "branches", "endpoints", "databases", "roles",
						  "operations"};
	buf b = BUF_INIT(0);
	int rc = 0;
	bool id_next = false;
	const char *p = route;
	while (*p) {
		size_t n = strcspn(p, "/");
		if (id_next && n > 0) {
			rc |= buf_adds(&b, "{id}");
			id_next = false;
		} else {
			rc |= buf_add(&b, p, n);
			id_next = false;
			for (size_t i = 0; i < ARRAY_LEN(collections); i++)
				if (strlen(collections[i]) == n && strncmp(p, collections[i], n) == 0)
					id_next = true;
		}
		p += n;
		if (*p == '/') {
			rc |= buf_addc(&b, '/');
			p++;
		}
	}
	(void)rc;
	return b.data ? buf_detach(&b, NULL) : xstrdup("");
}
