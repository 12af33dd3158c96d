/*
 * notify.c: the daemon's notifications (--notify-url): a JSON POST with a
 * Slack-compatible "text" when an apply fails, a tenant is blocked or
 * drift is found.
 *
 * notify_post only copies the event into a bounded ring (the oldest event
 * is dropped when it is full) and signals; one background thread sends, so
 * the daemon's loop never waits on a chat service. The thread sends at most
 * one message per min_interval: whatever queued meanwhile is coalesced into
 * the next message, listed up to NOTIFY_MAX_LISTED and then "and N more". A
 * message is retried on a transport error, a 429 (after its Retry-After,
 * capped) or a 5xx, with exponential backoff, up to max_attempts; any other
 * answer is final. The stop sends what is queued at once, rate limit or
 * not, and gives up at the end of its grace, even mid-request.
 *
 * The URL is a secret (a Slack webhook's path is its credential): it lives
 * in one heap copy, wiped before it is freed, and goes to libcurl and
 * nowhere else; error messages and log lines name only its origin
 * (scheme://host[:port]), and never a response body, which a proxy's error
 * page could fill with the path. libcurl's room is neon/ and this one file
 * (serve/meson.build). Each attempt has its own easy handle and connection:
 * at one message a minute a kept-alive connection would mostly be stale,
 * and libcurl silently re-sends a POST whose reused connection closed.
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "serve/serve.h"

/* Events one message lists (in its text and its "events"); the rest are
 * counted as "and N more". */
#define NOTIFY_MAX_LISTED 20
/* Bytes of one event's text kept (cut at a character boundary), and of
 * its kind. */
#define NOTIFY_MAX_TEXT 1000
#define NOTIFY_MAX_KIND 64
/* A Retry-After longer than this is cut to it; a backoff stops doubling
 * here. */
#define NOTIFY_MAX_RETRY_AFTER_MS (5 * 60 * 1000)
#define NOTIFY_MAX_BACKOFF_MS (60 * 1000)
/* The connect part of an attempt's timeout. */
#define NOTIFY_CONNECT_MS 5000
/* Response bytes libcurl reads (and drops) before it gives up. */
#define NOTIFY_MAX_RESPONSE (1024 * 1024)
#define NOTIFY_USER_AGENT "flotilla-notify/1"

typedef struct event {
	char *kind;
	char *text;
} event;

struct notifier {
	notify_opts o;         /* the defaults filled in; url and fleet point below */
	char *url;             /* the secret: wiped before free */
	char *origin;          /* scheme://host[:port], for log lines */
	char *fleet;           /* NULL: none */
	bool loopback;         /* plain http to loopback: never through a proxy */
	bool started;          /* the thread runs: join it */
	pthread_t thread;
	pthread_mutex_t mu;    /* guards everything below */
	pthread_cond_t cv;     /* a post, or the stop (on CLOCK_MONOTONIC) */
	event *q;              /* ring of o.max_queue events */
	size_t head, len;
	bool stopping;
	int64_t deadline_ms;   /* once stopping: give up at this mono_ms */
	notify_stats st;
};

/* One attempt's answer, as the header callback and libcurl leave it. */
typedef struct attempt {
	notifier *n;
	long status;           /* 0: no HTTP answer */
	int64_t retry_after_ms; /* -1: no Retry-After in seconds */
	CURLcode rc;
} attempt;

/* ------------------------------------------------------------ the URL */

static bool host_loopback(const char *host)
{
	return strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 || str_has_prefix(host, "127.");
}

/*
 * Check url and make its origin. Every message here leaves the URL out:
 * it is the secret, and err_msg reaches the daemon's log.
 */
static int url_check(const char *url, char **origin, bool *loopback)
{
	CURLU *u = NULL;
	char *scheme = NULL, *host = NULL, *port = NULL;
	int rc = 0;

	*origin = NULL;
	if (!url || !*url)
		return err_set(ERR_INVALID, "no notification URL given");
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return err_set(ERR_INVALID, "the notification URL holds spaces or control characters");
	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
		return err_set(ERR_INVALID, "the notification URL must start with http:// or https://");
	/* libcurl reads "http:///x" as host x: refuse it rather than guess */
	if (strstr(url, "://")[3] == '/')
		return err_set(ERR_INVALID, "the notification URL does not parse as scheme://host/path");
	u = curl_url();
	if (!u)
		abort(); /* out of memory */
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host) {
		rc = err_set(ERR_INVALID, "the notification URL does not parse as scheme://host/path");
		goto done;
	}
	(void)curl_url_get(u, CURLUPART_PORT, &port, 0); /* CURLUE_NO_PORT: none given */
	*origin = port ? xasprintf("%s://%s:%s", scheme, host, port) : xasprintf("%s://%s", scheme, host);
	*loopback = host_loopback(host);
done:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

static void secret_free(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* ---------------------------------------------------------- the clock */

/* Wait on n->cv (n->mu held) until at_ms on the monotonic clock, a
 * signal, or a spurious wake-up: callers re-check their condition. */
static void wait_until(notifier *n, int64_t at_ms)
{
	struct timespec ts = { .tv_sec = at_ms / 1000, .tv_nsec = (at_ms % 1000) * 1000000 };

	pthread_cond_timedwait(&n->cv, &n->mu, &ts);
}

/* true when the stop's grace is over (n->mu held) */
static bool past_grace(const notifier *n, int64_t at_ms)
{
	return n->stopping && at_ms >= n->deadline_ms;
}

/* ---------------------------------------------------------- a message */

static const char *kind_title(const char *kind)
{
	static const struct {
		const char *kind, *title;
	} TITLES[] = {
		{ "apply_failed", "apply failed" },
		{ "blocked", "tenant blocked" },
		{ "drift", "drift found" },
	};

	for (size_t i = 0; i < ARRAY_LEN(TITLES); i++)
		if (strcmp(kind, TITLES[i].kind) == 0)
			return TITLES[i].title;
	return kind;
}

/* s with Slack's three control characters escaped (its mrkdwn reads
 * <!channel> and <url|label> in any text, an API error message's too). */
static int add_slack(buf *b, const char *s)
{
	int rc = 0;

	for (; *s && rc == 0; s++) {
		if (*s == '&')
			rc = buf_adds(b, "&amp;");
		else if (*s == '<')
			rc = buf_adds(b, "&lt;");
		else if (*s == '>')
			rc = buf_adds(b, "&gt;");
		else
			rc = buf_addc(b, *s);
	}
	return rc;
}

/* The human text: "flotilla (fleet): title: text" for one event, else a
 * count and a bulleted list. */
static int message_text(const notifier *n, const event *ev, size_t count, buf *t)
{
	int rc = buf_adds(t, "flotilla");

	if (rc == 0 && n->fleet) {
		rc = buf_adds(t, " (");
		if (rc == 0)
			rc = add_slack(t, n->fleet);
		if (rc == 0)
			rc = buf_addc(t, ')');
	}
	if (rc == 0 && count > 1)
		rc = buf_printf(t, ": %zu events", count);
	for (size_t i = 0; i < count && i < NOTIFY_MAX_LISTED && rc == 0; i++) {
		rc = buf_printf(t, count > 1 ? "\n\xe2\x80\xa2 %s: " : ": %s: ", kind_title(ev[i].kind));
		if (rc == 0)
			rc = add_slack(t, ev[i].text);
	}
	if (rc == 0 && count > NOTIFY_MAX_LISTED)
		rc = buf_printf(t, "\nand %zu more", count - NOTIFY_MAX_LISTED);
	return rc;
}

/*
 * The body: {"text": …, "kind": the events' kind or "mixed", "fleet": …
 * (when set), "count": N, "events": [{"kind", "text"}, …] (the first
 * NOTIFY_MAX_LISTED, unescaped for machines)}.
 */
static int message_body(const notifier *n, const event *ev, size_t count, buf *b)
{
	buf t = BUF_INIT(0);
	const char *kind = ev[0].kind;
	int rc;

	for (size_t i = 1; i < count; i++)
		if (strcmp(ev[i].kind, kind) != 0)
			kind = "mixed";
	rc = message_text(n, ev, count, &t);
	if (rc == 0)
		rc = buf_adds(b, "{\"text\":\"");
	if (rc == 0)
		rc = buf_add_json_str(b, t.data);
	if (rc == 0)
		rc = buf_adds(b, "\",\"kind\":\"");
	if (rc == 0)
		rc = buf_add_json_str(b, kind);
	if (rc == 0 && n->fleet) {
		rc = buf_adds(b, "\",\"fleet\":\"");
		if (rc == 0)
			rc = buf_add_json_str(b, n->fleet);
	}
	if (rc == 0)
		rc = buf_printf(b, "\",\"count\":%zu,\"events\":[", count);
	for (size_t i = 0; i < count && i < NOTIFY_MAX_LISTED && rc == 0; i++) {
		rc = buf_adds(b, i ? ",{\"kind\":\"" : "{\"kind\":\"");
		if (rc == 0)
			rc = buf_add_json_str(b, ev[i].kind);
		if (rc == 0)
			rc = buf_adds(b, "\",\"text\":\"");
		if (rc == 0)
			rc = buf_add_json_str(b, ev[i].text);
		if (rc == 0)
			rc = buf_adds(b, "\"}");
	}
	if (rc == 0)
		rc = buf_adds(b, "]}");
	buf_release(&t);
	return rc;
}

/* ---------------------------------------------------------- an attempt */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	(void)data;
	(void)ud;
	return size * nmemb; /* read and dropped: never logged */
}

/* Retry-After in seconds; an HTTP-date is left to the backoff. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	attempt *a = ud;
	size_t len = size * nmemb;
	int64_t s = 0;
	size_t i = 12;

	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		a->retry_after_ms = -1; /* a new response (an interim 1xx before) */
	} else if (len > 12 && strncasecmp(data, "retry-after:", 12) == 0) {
		while (i < len && (data[i] == ' ' || data[i] == '\t'))
			i++;
		if (i < len && data[i] >= '0' && data[i] <= '9') {
			for (; i < len && data[i] >= '0' && data[i] <= '9' && s <= NOTIFY_MAX_RETRY_AFTER_MS; i++)
				s = s * 10 + (data[i] - '0');
			a->retry_after_ms = s * 1000 > NOTIFY_MAX_RETRY_AFTER_MS ? NOTIFY_MAX_RETRY_AFTER_MS : s * 1000;
		}
	}
	return len;
}

/* libcurl asks now and then: abort once the stop's grace is over. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	attempt *a = ud;
	bool over;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	pthread_mutex_lock(&a->n->mu);
	over = past_grace(a->n, mono_ms());
	pthread_mutex_unlock(&a->n->mu);
	return over ? 1 : 0;
}

/* One POST of body; the answer in *a. */
static void post_once(notifier *n, const buf *body, attempt *a)
{
	struct curl_slist *h = NULL;
	int64_t timeout = n->o.timeout_ms;
	CURL *e = curl_easy_init();

	if (!e)
		abort(); /* out of memory */
	a->n = n;
	a->status = 0;
	a->retry_after_ms = -1;
	pthread_mutex_lock(&n->mu);
	if (n->stopping && n->deadline_ms - mono_ms() < timeout)
		timeout = n->deadline_ms - mono_ms() > 1 ? n->deadline_ms - mono_ms() : 1;
	pthread_mutex_unlock(&n->mu);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
	if (!h)
		abort();
	curl_easy_setopt(e, CURLOPT_URL, n->url); /* libcurl copies it */
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85 */
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	if (n->loopback)
		curl_easy_setopt(e, CURLOPT_PROXY, ""); /* loopback never goes via a proxy */
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body->data);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
	curl_easy_setopt(e, CURLOPT_USERAGENT, NOTIFY_USER_AGENT);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout < NOTIFY_CONNECT_MS ? timeout : NOTIFY_CONNECT_MS));
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)NOTIFY_MAX_RESPONSE);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, (void *)a);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, (void *)a);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	a->rc = curl_easy_perform(e);
	if (a->rc == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &a->status);
	curl_easy_cleanup(e);
	curl_slist_free_all(h);
}

/* ------------------------------------------------------------ sending */

/* The wait before attempt `next` (2, 3, …): the server's Retry-After, else
 * retry_base doubled per attempt. */
static int64_t retry_wait_ms(const notifier *n, const attempt *a, int next)
{
	int64_t ms = n->o.retry_base_ms;

	if (a->retry_after_ms >= 0)
		return a->retry_after_ms;
	for (int i = 2; i < next && ms < NOTIFY_MAX_BACKOFF_MS; i++)
		ms *= 2;
	return ms < NOTIFY_MAX_BACKOFF_MS ? ms : NOTIFY_MAX_BACKOFF_MS;
}

/* Sleep ms unless the stop's grace ends first (false: give up). */
static bool backoff(notifier *n, int64_t ms)
{
	int64_t at = mono_ms() + ms;
	bool ok = true;

	pthread_mutex_lock(&n->mu);
	while (mono_ms() < at && ok) {
		if (n->stopping && n->deadline_ms < at)
			ok = false;
		else
			wait_until(n, at);
	}
	pthread_mutex_unlock(&n->mu);
	return ok;
}

static void log_failure(const notifier *n, const char *kind, size_t count, const attempt *a, int tries,
			const char *why)
{
	char status[24], attempts[24], events[24];

	snprintf(status, sizeof(status), "%ld", a->status);
	snprintf(attempts, sizeof(attempts), "%d", tries);
	snprintf(events, sizeof(events), "%zu", count);
	log_warn("notification not delivered", "url", n->origin, "kind", kind, "events", events, "status",
		 status, "attempts", attempts, "error",
		 a->rc != CURLE_OK ? curl_easy_strerror(a->rc) : why);
}

/* POST body until it is answered 2xx, a final answer comes, or the
 * attempts or the stop's grace run out. true when delivered. */
static bool deliver(notifier *n, const buf *body, const char *kind, size_t count)
{
	attempt a;

	for (int tries = 1;; tries++) {
		bool retry;

		post_once(n, body, &a);
		pthread_mutex_lock(&n->mu);
		n->st.attempts++;
		pthread_mutex_unlock(&n->mu);
		if (a.rc == CURLE_OK && a.status >= 200 && a.status < 300)
			return true;
		retry = a.rc != CURLE_OK || a.status == 429 || a.status >= 500;
		if (!retry) {
			log_failure(n, kind, count, &a, tries, "refused, not retried");
			return false;
		}
		if (tries >= n->o.max_attempts) {
			log_failure(n, kind, count, &a, tries, "no attempts left");
			return false;
		}
		if (!backoff(n, retry_wait_ms(n, &a, tries + 1))) {
			log_failure(n, kind, count, &a, tries, "stopped before the next attempt");
			return false;
		}
	}
}

/* Move every queued event into *out (n->mu held). */
static size_t take_all(notifier *n, event **out)
{
	size_t count = n->len;
	event *ev = xcalloc(count, sizeof(*ev));

	for (size_t i = 0; i < count; i++)
		ev[i] = n->q[(n->head + i) % n->o.max_queue];
	n->head = (n->head + count) % n->o.max_queue;
	n->len = 0;
	*out = ev;
	return count;
}

static void events_free(event *ev, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		free(ev[i].kind);
		free(ev[i].text);
	}
	free(ev);
}

/* Build and deliver one message of ev; the counts under n->mu. */
static void send_batch(notifier *n, event *ev, size_t count)
{
	buf body = BUF_INIT(0);
	bool ok;

	if (message_body(n, ev, count, &body) != 0)
		abort(); /* no maximum: only out of memory, which aborts first */
	ok = deliver(n, &body, ev[0].kind, count);
	if (ok) {
		char events[24];

		snprintf(events, sizeof(events), "%zu", count);
		log_debug("notification sent", "url", n->origin, "events", events);
	}
	pthread_mutex_lock(&n->mu);
	if (ok)
		n->st.sent++;
	else
		n->st.failed++;
	n->st.coalesced += (int64_t)count - 1;
	pthread_mutex_unlock(&n->mu);
	buf_release(&body);
}

static void *worker(void *arg)
{
	notifier *n = arg;
	int64_t next_ms = 0; /* no message before this: the rate limit */

	pthread_mutex_lock(&n->mu);
	for (;;) {
		event *ev;
		size_t count;

		while (!n->len && !n->stopping)
			pthread_cond_wait(&n->cv, &n->mu);
		/* the stop sends what is queued at once, rate limit or not */
		while (n->len && !n->stopping && mono_ms() < next_ms)
			wait_until(n, next_ms);
		if (!n->len || past_grace(n, mono_ms()))
			break; /* stopping: nothing left, or no time left (stop counts the rest) */
		count = take_all(n, &ev);
		pthread_mutex_unlock(&n->mu);
		send_batch(n, ev, count);
		events_free(ev, count);
		pthread_mutex_lock(&n->mu);
		next_ms = mono_ms() + n->o.min_interval_ms;
	}
	pthread_mutex_unlock(&n->mu);
	return NULL;
}

/* ------------------------------------------------------------- the API */

static int opts_check(notify_opts *o)
{
	notify_opts def = NOTIFY_OPTS_INIT;

	if (o->min_interval_ms < 0 || o->max_attempts < 0 || o->timeout_ms < 0 || o->retry_base_ms < 0)
		return err_set(ERR_INVALID, "notification options must not be negative");
	if (!o->min_interval_ms)
		o->min_interval_ms = def.min_interval_ms;
	if (!o->max_attempts)
		o->max_attempts = def.max_attempts;
	if (!o->timeout_ms)
		o->timeout_ms = def.timeout_ms;
	if (!o->retry_base_ms)
		o->retry_base_ms = def.retry_base_ms;
	if (!o->max_queue)
		o->max_queue = def.max_queue;
	if (o->max_attempts > 20)
		return err_set(ERR_INVALID, "notification attempts must be at most 20, got %d", o->max_attempts);
	if (o->max_queue > 1000000)
		return err_set(ERR_INVALID, "the notification queue must hold at most 1000000 events, got %zu",
			       o->max_queue);
	if (o->fleet && !*o->fleet)
		o->fleet = NULL;
	return 0;
}

static void notifier_free(notifier *n)
{
	if (!n)
		return;
	if (n->q)
		for (size_t i = 0; i < n->len; i++) {
			event *e = &n->q[(n->head + i) % n->o.max_queue];
			free(e->kind);
			free(e->text);
		}
	free(n->q);
	secret_free(n->url);
	free(n->origin);
	free(n->fleet);
	pthread_cond_destroy(&n->cv);
	pthread_mutex_destroy(&n->mu);
	free(n);
}

int notifier_start(notifier **out, const notify_opts *opts)
{
	notify_opts o = *opts;
	pthread_condattr_t ca;
	notifier *n;
	char *origin = NULL;
	bool loopback = false;
	int rc;

	*out = NULL;
	if ((rc = opts_check(&o)) != 0 || (rc = url_check(o.url, &origin, &loopback)) != 0)
		return rc;
	/* reference counted (and thread-safe) in the libcurl we need; dropped
	 * in notifier_stop */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		free(origin);
		return err_set(ERR_FAIL, "curl_global_init failed");
	}
	n = xcalloc(1, sizeof(*n));
	n->url = xstrdup(o.url);
	n->origin = origin;
	n->fleet = o.fleet ? xstrdup(o.fleet) : NULL;
	n->loopback = loopback;
	n->o = o;
	n->o.url = NULL; /* the caller's copy is the caller's to wipe */
	n->o.fleet = n->fleet;
	n->q = xcalloc(o.max_queue, sizeof(*n->q));
	pthread_mutex_init(&n->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* wait_until counts in mono_ms */
	pthread_cond_init(&n->cv, &ca);
	pthread_condattr_destroy(&ca);
	if ((rc = pthread_create(&n->thread, NULL, worker, n)) != 0) {
		notifier_free(n);
		curl_global_cleanup();
		return err_set(ERR_FAIL, "cannot start the notification thread: %s", strerror(rc));
	}
	n->started = true;
	*out = n;
	return 0;
}

/* A heap copy of at most max bytes of s, cut at a UTF-8 character
 * boundary. */
static char *copy_cut(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len > max) {
		len = max;
		while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
			len--;
	}
	return xstrndup(s, len);
}

void notify_post(notifier *n, const char *kind, const char *text)
{
	event ev;

	if (!n)
		return;
	ev.kind = copy_cut(kind && *kind ? kind : "notice", NOTIFY_MAX_KIND);
	ev.text = copy_cut(text ? text : "", NOTIFY_MAX_TEXT);
	pthread_mutex_lock(&n->mu);
	if (n->len == n->o.max_queue) {
		event *old = &n->q[n->head];

		free(old->kind);
		free(old->text);
		n->head = (n->head + 1) % n->o.max_queue;
		n->len--;
		n->st.dropped++;
	}
	n->q[(n->head + n->len) % n->o.max_queue] = ev;
	n->len++;
	pthread_cond_signal(&n->cv);
	pthread_mutex_unlock(&n->mu);
}

void notifier_stats(notifier *n, notify_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!n)
		return;
	pthread_mutex_lock(&n->mu);
	*out = n->st;
	out->queued = n->len;
	pthread_mutex_unlock(&n->mu);
}

void notifier_stop(notifier *n, int64_t grace_ms)
{
	size_t left;

	if (!n)
		return;
	pthread_mutex_lock(&n->mu);
	n->stopping = true;
	n->deadline_ms = mono_ms() + (grace_ms > 0 ? grace_ms : 0);
	pthread_cond_broadcast(&n->cv);
	pthread_mutex_unlock(&n->mu);
	if (n->started)
		pthread_join(n->thread, NULL);
	left = n->len; /* the thread is gone: no lock needed */
	if (left) {
		char count[24];

		snprintf(count, sizeof(count), "%zu", left);
		log_warn("notifications dropped at stop", "url", n->origin, "events", count);
	}
	notifier_free(n);
	curl_global_cleanup();
}
