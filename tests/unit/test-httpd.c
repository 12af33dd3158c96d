/*
 * test-httpd.c: unit tests for the daemon's HTTP side (serve/metrics.c
 * and serve/httpd.c). The server runs for real on 127.0.0.1 with a
 * port the kernel picks, and libcurl talks to it as Prometheus or GitHub
 * would. Every /metrics page goes through a strict parser of the text
 * exposition format (0.0.4), so a page Prometheus would refuse fails here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serve/serve.h"

/* ------------------------------------------------- exposition parser */

static bool is_name(const char *s, size_t n, bool colon)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':') ||
			  (i > 0 && c >= '0' && c <= '9');
		if (!ok)
			return false;
	}
	return true;
}

static bool is_value(const char *s)
{
	char *end;

	if (strcmp(s, "NaN") == 0 || strcmp(s, "+Inf") == 0 || strcmp(s, "-Inf") == 0)
		return true;
	if (!*s || strchr(s, ' '))
		return false;
	errno = 0;
	(void)strtod(s, &end);
	return *end == '\0' && errno == 0 && !isalpha((unsigned char)s[0]);
}

typedef struct fam {
	char name[128];
	bool help, type, samples;
} fam;

/*
 * Check the whole page; on the first violation fail with the line. Rules:
 * every line is `# HELP name text`, `# TYPE name counter|gauge|untyped`, or
 * a sample `name{l="v",…} value` / `name value`; a family's HELP and TYPE
 * (each at most once) come before its samples and all its samples are
 * together; label names are valid and unique, values use only the \\ \"
 * \n escapes; no series appears twice; the page ends with a newline.
 * Returns NULL, with the number of samples in *nsamples, or what is wrong
 * (a static string).
 */
#define BAD(...)                                               \
	do {                                                   \
		snprintf(why, sizeof(why), __VA_ARGS__);       \
		goto out;                                      \
	} while (0)
static const char *exposition_error(const char *page, size_t *nsamples)
{
	static char why[512];
	fam fams[64];
	size_t nfams = 0;
	char **seen = NULL;
	size_t nseen = 0, cap = 0;
	const char *line = page;
	fam *cur = NULL;
	char *l = NULL, *series = NULL;

	why[0] = '\0';
	*nsamples = 0;
	if (*page && page[strlen(page) - 1] != '\n')
		BAD("no newline at the end");
	while (*line) {
		size_t len = strcspn(line, "\n");
		l = xstrndup(line, len);
		fam *f = NULL;

		if (len == 0)
			BAD("empty line in exposition");
		if (strncmp(l, "# HELP ", 7) == 0 || strncmp(l, "# TYPE ", 7) == 0) {
			bool help = l[2] == 'H';
			const char *name = l + 7;
			size_t nlen = strcspn(name, " ");
			if (!is_name(name, nlen, true) || name[nlen] != ' ')
				BAD("bad metadata line: %s", l);
			for (size_t i = 0; i < nfams; i++)
				if (strlen(fams[i].name) == nlen && strncmp(fams[i].name, name, nlen) == 0)
					f = &fams[i];
			if (!f) {
				if (nfams == ARRAY_LEN(fams))
					BAD("too many families");
				f = &fams[nfams++];
				memset(f, 0, sizeof(*f));
				if (nlen >= sizeof(f->name))
					BAD("name too long");
				memcpy(f->name, name, nlen);
			}
			if (f->samples)
				BAD("metadata after samples: %s", l);
			if (help) {
				const char *t = name + nlen + 1;
				if (f->help)
					BAD("second HELP: %s", l);
				f->help = true;
				for (; *t; t++)
					if (*t == '\\' && t[1] != '\\' && t[1] != 'n')
						BAD("bad escape in HELP: %s", l);
					else if (*t == '\\')
						t++;
			} else {
				const char *t = name + nlen + 1;
				if (f->type)
					BAD("second TYPE: %s", l);
				f->type = true;
				if (strcmp(t, "counter") && strcmp(t, "gauge") && strcmp(t, "untyped"))
					BAD("bad TYPE: %s", l);
			}
			cur = f;
		} else if (l[0] == '#') {
			BAD("unexpected comment: %s", l);
		} else {
			size_t nlen = strcspn(l, "{ ");
			const char *p = l + nlen;
			if (!is_name(l, nlen, true))
				BAD("bad metric name: %s", l);
			if (!cur || strlen(cur->name) != nlen || strncmp(cur->name, l, nlen) != 0 || !cur->help ||
			    !cur->type)
				BAD("sample without its HELP and TYPE just before: %s", l);
			cur->samples = true;
			if (*p == '{') {
				char names[16][64];
				size_t nl = 0;
				p++;
				while (*p != '}') {
					size_t ln = strcspn(p, "=");
					if (!is_name(p, ln, false) || ln >= 64 || p[ln] != '=' || p[ln + 1] != '"')
						BAD("bad label: %s", l);
					for (size_t i = 0; i < nl; i++)
						if (strlen(names[i]) == ln && strncmp(names[i], p, ln) == 0)
							BAD("repeated label: %s", l);
					if (nl == 16)
						BAD("too many labels");
					memcpy(names[nl], p, ln);
					names[nl++][ln] = '\0';
					p += ln + 2;
					while (*p != '"') {
						if (*p == '\0')
							BAD("unterminated label value: %s", l);
						if (*p == '\\') {
							if (p[1] != '\\' && p[1] != '"' && p[1] != 'n')
								BAD("bad escape in label value: %s", l);
							p++;
						}
						p++;
					}
					p++;
					if (*p == ',')
						p++;
					else if (*p != '}')
						BAD("bad label separator: %s", l);
				}
				p++;
			}
			if (*p != ' ')
				BAD("no space before value: %s", l);
			if (!is_value(p + 1))
				BAD("bad value: %s", l);
			series = xstrndup(l, (size_t)(p - l));
			for (size_t i = 0; i < nseen; i++)
				if (strcmp(seen[i], series) == 0)
					BAD("duplicate series: %s", series);
			if (nseen == cap)
				seen = xgrow(seen, &cap, nseen + 1, sizeof(*seen));
			seen[nseen++] = series;
			series = NULL;
			(*nsamples)++;
		}
		free(l);
		l = NULL;
		line += len;
		if (*line == '\n')
			line++;
	}
out:
	free(l);
	free(series);
	for (size_t i = 0; i < nseen; i++)
		free(seen[i]);
	free(seen);
	return why[0] ? why : NULL;
}
#undef BAD

/* Fail the test unless the page is valid; returns its number of samples. */
static size_t check_exposition(const char *page)
{
	size_t n;
	const char *why = exposition_error(page, &n);

	if (why)
		fail_msg("invalid exposition: %s\n%s", why, page);
	return n;
}


/* The parser accepts a good page and refuses each kind of bad one. */
static void test_parser_strict(void **unused)
{
	(void)unused;
	static const char *const bad[] = {
		"# HELP a x\n# TYPE a gauge\na 1",               /* no final newline */
		"a 1\n",                                         /* no HELP/TYPE */
		"# HELP a x\na 1\n",                             /* no TYPE */
		"# HELP a x\n# TYPE a gauge\na 1\n# HELP a y\n", /* metadata after samples */
		"# HELP a x\n# HELP a y\n# TYPE a gauge\n",      /* HELP twice */
		"# HELP a x\n# TYPE a info\n",                   /* not a 0.0.4 type */
		"# HELP a x\n# TYPE a gauge\na 1\na 2\n",        /* duplicate series */
		"# HELP a x\n# TYPE a gauge\na{b=\"1\"} 1\na{b=\"1\"} 2\n",
		"# HELP a x\n# TYPE a gauge\na{b=\"1\",b=\"2\"} 1\n",
		"# HELP a x\n# TYPE a gauge\na{b=1} 1\n",
		"# HELP a x\n# TYPE a gauge\na{b=\"\\t\"} 1\n",  /* unknown escape */
		"# HELP a x\n# TYPE a gauge\na{1b=\"x\"} 1\n",
		"# HELP a x\n# TYPE a gauge\na{b=\"x\"} one\n",
		"# HELP a x\n# TYPE a gauge\na  1\n",
		"# HELP a x\n# TYPE a gauge\na 1 2\n",             /* timestamps are not emitted */
		"# HELP 9a x\n# TYPE 9a gauge\n",
		"# HELP a x\n# TYPE a gauge\n\na 1\n",            /* empty line */
		"# HELP a x\n# TYPE a gauge\n# HELP b y\n# TYPE b gauge\na 1\n", /* a's samples not after its TYPE */
		"# a comment\n", /* allowed by the format, never written by metrics.c */
	};
	size_t n;

	assert_int_equal(check_exposition("# HELP a x\n# TYPE a gauge\na 1\na{b=\"c\"} 2.5\n"), 2);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		if (!exposition_error(bad[i], &n))
			fail_msg("accepted: %s", bad[i]);
	assert_true(is_value("1e+20") && is_value("-3.25") && is_value("NaN") && !is_value("x") && !is_value(""));
	assert_true(is_name("a:b_c9", 6, true) && !is_name("9a", 2, true) && !is_name("a:b", 3, false));
}

/* ------------------------------------------------------------ metrics */

static void test_metrics_render(void **unused)
{
	metrics *m = metrics_new();
	buf page = BUF_INIT(0);
	char *esc = metrics_label_escape("a\"b\\c\nd");
	char *lbl;

	(void)unused;
	assert_string_equal(esc, "a\\\"b\\\\c\\nd");
	metrics_declare(m, "flotilla_api_requests_total", "counter", "API requests by route and status");
	metrics_declare(m, "flotilla_tenants", "gauge", "Tenants by state, with a \\ and a\nnewline in HELP");
	metrics_declare(m, "flotilla_last_applied_commit_info", "info", "The commit last applied");
	metrics_declare(m, "flotilla_empty", "gauge", "Declared, never set");
	metrics_declare(m, "flotilla_tenants", "counter", "a second declaration is ignored");

	metrics_add(m, "flotilla_api_requests_total", "route=\"GET /projects\",status=\"200\"", 1);
	metrics_add(m, "flotilla_api_requests_total", "status=\"200\",route=\"GET /projects\"", 2);
	metrics_add(m, "flotilla_api_requests_total", "route=\"GET /projects\",status=\"429\"", 1);
	metrics_set(m, "flotilla_tenants", "state=\"ready\"", 7);
	metrics_set(m, "flotilla_tenants", "state=\"ready\"", 5);
	metrics_set(m, "flotilla_tenants", "state=\"failed\"", 0.5);
	lbl = xasprintf("commit=\"%s\",message=\"%s\"", "abc", esc);
	metrics_set(m, "flotilla_last_applied_commit_info", lbl, 42);
	free(lbl);
	/* malformed label sets never reach the page */
	metrics_set(m, "flotilla_tenants", "state=ready", 1);
	metrics_set(m, "flotilla_tenants", "state=\"a\",state=\"b\"", 1);
	metrics_set(m, "flotilla_tenants", "__name__=\"x\"", 1);
	metrics_set(m, "flotilla_tenants", "state=\"bad \\t escape\"", 1);
	metrics_set(m, "flotilla_tenants", "state=\"raw\nnewline\"", 1);
	metrics_set(m, "flotilla_tenants", "9state=\"x\"", 1);
	metrics_set(m, "flotilla_undeclared", NULL, 3);

	assert_int_equal(metrics_render(m, &page), 0);
	assert_int_equal(check_exposition(page.data), 6);
	assert_string_equal(page.data,
			    "# HELP flotilla_api_requests_total API requests by route and status\n"
			    "# TYPE flotilla_api_requests_total counter\n"
			    "flotilla_api_requests_total{route=\"GET /projects\",status=\"200\"} 3\n"
			    "flotilla_api_requests_total{route=\"GET /projects\",status=\"429\"} 1\n"
			    "# HELP flotilla_tenants Tenants by state, with a \\\\ and a\\nnewline in HELP\n"
			    "# TYPE flotilla_tenants gauge\n"
			    "flotilla_tenants{state=\"failed\"} 0.5\n"
			    "flotilla_tenants{state=\"ready\"} 5\n"
			    "# HELP flotilla_last_applied_commit_info The commit last applied\n"
			    "# TYPE flotilla_last_applied_commit_info gauge\n"
			    "flotilla_last_applied_commit_info{commit=\"abc\",message=\"a\\\"b\\\\c\\nd\"} 1\n"
			    "# HELP flotilla_empty Declared, never set\n"
			    "# TYPE flotilla_empty gauge\n"
			    "# HELP flotilla_undeclared undeclared metric\n"
			    "# TYPE flotilla_undeclared untyped\n"
			    "flotilla_undeclared 3\n");

	/* the info metric moves to a new commit */
	metrics_clear(m, "flotilla_last_applied_commit_info");
	metrics_set(m, "flotilla_last_applied_commit_info", "commit=\"def\"", 1);
	metrics_set(m, "flotilla_tenants", NULL, NAN);
	metrics_set(m, "flotilla_empty", NULL, -INFINITY);
	buf_reset(&page);
	assert_int_equal(metrics_render(m, &page), 0);
	check_exposition(page.data);
	assert_non_null(strstr(page.data, "\nflotilla_last_applied_commit_info{commit=\"def\"} 1\n"));
	assert_null(strstr(page.data, "commit=\"abc\""));
	assert_non_null(strstr(page.data, "\nflotilla_tenants NaN\n"));
	assert_non_null(strstr(page.data, "\nflotilla_empty -Inf\n"));

	/* a page larger than the caller's bound */
	buf small = BUF_INIT(64);
	assert_int_equal(metrics_render(m, &small), ERR_TOOBIG);
	buf_release(&small);

	buf_release(&page);
	free(esc);
	metrics_free(m);
	metrics_free(NULL);
}

/* --------------------------------------------------------- HTTP client */

typedef struct resp {
	long status;
	buf body;
	char ctype[128];
} resp;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	buf *b = arg;
	return buf_add(b, p, size * n) == 0 ? size * n : 0;
}

/* One request; headers is NULL-terminated or NULL. */
static void http(resp *r, int port, const char *method, const char *path, const char *const *headers,
		 const char *body, size_t len)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char *url = xasprintf("http://127.0.0.1:%d%s", port, path);
	char *ct = NULL;
	CURLcode rc;

	assert_non_null(c);
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, 1 << 20);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L); /* else curl waits for a body */
	else
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	for (size_t i = 0; headers && headers[i]; i++)
		h = curl_slist_append(h, headers[i]);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
		str_copy(r->ctype, ct, sizeof(r->ctype));
	if (buf_adds(&r->body, "") != 0)
		fail_msg("response too large");
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(url);
}

static long status_of(int port, const char *method, const char *path)
{
	resp r;
	http(&r, port, method, path, NULL, NULL, 0);
	buf_release(&r.body);
	return r.status;
}

/* GET path and check the status and the whole body. */
static void expect_get(int port, const char *path, long status, const char *body)
{
	resp r;
	http(&r, port, "GET", path, NULL, NULL, 0);
	assert_int_equal(r.status, status);
	assert_string_equal(r.body.data, body);
	buf_release(&r.body);
}

/* What the callbacks saw; they run on the server's threads. */
typedef struct seen {
	pthread_mutex_t mu;
	bool ready;
	int hooks;
	char event[64];
	buf body;
} seen;

static bool on_ready(void *arg, buf *why)
{
	seen *s = arg;
	bool ready;

	pthread_mutex_lock(&s->mu);
	ready = s->ready;
	pthread_mutex_unlock(&s->mu);
	if (!ready) {
		assert_int_equal(buf_adds(why, "git: remote unreachable\n"), 0);
		assert_int_equal(buf_adds(why, "last loop: 400s ago"), 0);
	}
	return ready;
}

static void on_hook(void *arg, const char *event, const char *body, size_t len)
{
	seen *s = arg;

	pthread_mutex_lock(&s->mu);
	s->hooks++;
	str_copy(s->event, event, sizeof(s->event));
	buf_reset(&s->body);
	assert_int_equal(buf_add(&s->body, body, len), 0);
	assert_int_equal(body[len], '\0');
	pthread_mutex_unlock(&s->mu);
}

static int hooks_seen(seen *s)
{
	int n;
	pthread_mutex_lock(&s->mu);
	n = s->hooks;
	pthread_mutex_unlock(&s->mu);
	return n;
}

static void seen_init(seen *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	buf_init(&s->body, 0);
	s->ready = true;
}

static void seen_release(seen *s)
{
	buf_release(&s->body);
	pthread_mutex_destroy(&s->mu);
}

static httpd *start(seen *s, metrics *m, const char *secret, int *port)
{
	httpd_opts o = {.listen = "127.0.0.1:0", .m = m, .ready = on_ready, .hook = on_hook, .arg = s,
			.webhook_secret = secret};
	httpd *h = NULL;

	assert_int_equal(httpd_start(&h, &o, port), 0);
	assert_non_null(h);
	assert_true(*port > 0);
	return h;
}

/* ---------------------------------------------------------- endpoints */

static void test_endpoints(void **unused)
{
	metrics *m = metrics_new();
	seen s;
	int port = 0;
	httpd *h;
	resp r;

	(void)unused;
	seen_init(&s);
	metrics_declare(m, "flotilla_tenants", "gauge", "Tenants by state");
	metrics_set(m, "flotilla_tenants", "state=\"ready\"", 3);
	h = start(&s, m, NULL, &port);

	expect_get(port, "/healthz", 200, "ok\n");

	expect_get(port, "/readyz", 200, "ready\n");

	pthread_mutex_lock(&s.mu);
	s.ready = false;
	pthread_mutex_unlock(&s.mu);
	expect_get(port, "/readyz", 503, "git: remote unreachable\nlast loop: 400s ago\n");

	http(&r, port, "GET", "/metrics", NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
	assert_int_equal(check_exposition(r.body.data), 1);
	assert_non_null(strstr(r.body.data, "\nflotilla_tenants{state=\"ready\"} 3\n"));
	buf_release(&r.body);

	assert_int_equal(status_of(port, "HEAD", "/healthz"), 200);
	assert_int_equal(status_of(port, "GET", "/"), 503); /* the status page, no document published yet */
	assert_int_equal(status_of(port, "GET", "/metrics/"), 404);
	assert_int_equal(status_of(port, "GET", "/nope"), 404);
	assert_int_equal(status_of(port, "POST", "/metrics"), 405);
	assert_int_equal(status_of(port, "DELETE", "/healthz"), 405);
	assert_int_equal(status_of(port, "GET", "/hooks/git"), 405);
	/* no secret: the hook does not exist */
	assert_int_equal(status_of(port, "POST", "/hooks/git"), 404);
	assert_int_equal(hooks_seen(&s), 0);

	httpd_stop(h);
	httpd_stop(NULL);
	metrics_free(m);
	seen_release(&s);
}

static void test_listen_errors(void **unused)
{
	httpd_opts o = {.listen = "127.0.0.1:0"};
	httpd *h = NULL, *h2 = NULL;
	char *addr;
	int port = 0;

	(void)unused;
	o.listen = "nowhere";
	assert_int_equal(httpd_start(&h, &o, &port), ERR_INVALID);
	o.listen = "example.com:80";
	assert_int_equal(httpd_start(&h, &o, &port), ERR_INVALID);
	o.listen = "127.0.0.1:65536";
	assert_int_equal(httpd_start(&h, &o, &port), ERR_INVALID);
	assert_null(h);

	o.listen = "localhost:0";
	assert_int_equal(httpd_start(&h, &o, &port), 0);
	addr = xasprintf("127.0.0.1:%d", port);
	o.listen = addr;
	assert_int_equal(httpd_start(&h2, &o, NULL), ERR_IO);
	assert_null(h2);
	assert_non_null(strstr(err_msg(), addr));
	assert_int_equal(status_of(port, "GET", "/metrics"), 200); /* no metrics: an empty page */
	httpd_stop(h);
	free(addr);
}

/* ------------------------------------------------------------ webhook */

static char *signature(const char *secret, const char *body, size_t len)
{
	unsigned char mac[SHA256_LEN];
	buf b = BUF_INIT(0);

	hmac_sha256(secret, strlen(secret), body, len, mac);
	assert_int_equal(buf_adds(&b, "X-Hub-Signature-256: sha256="), 0);
	for (size_t i = 0; i < SHA256_LEN; i++)
		assert_int_equal(buf_printf(&b, "%02x", mac[i]), 0);
	return buf_detach(&b, NULL);
}

static long post_hook(int port, const char *sig_header, const char *body, size_t len)
{
	const char *headers[] = {"X-GitHub-Event: push", "Content-Type: application/json", sig_header, NULL};
	resp r;

	http(&r, port, "POST", "/hooks/git", headers, body, len);
	buf_release(&r.body);
	return r.status;
}

static void test_webhook(void **unused)
{
	static const char body[] = "{\"ref\":\"refs/heads/main\",\"after\":\"0123abcd\"}";
	size_t len = sizeof(body) - 1;
	char *good = signature("s3cret", body, len);
	char *other = signature("n3w-secret", body, len);
	char *upper = xstrdup(good);
	seen s;
	int port = 0;
	httpd *h;

	(void)unused;
	seen_init(&s);
	h = start(&s, NULL, "s3cret", &port);

	assert_int_equal(post_hook(port, good, body, len), 202);
	assert_int_equal(hooks_seen(&s), 1);
	pthread_mutex_lock(&s.mu);
	assert_string_equal(s.event, "push");
	assert_int_equal(s.body.len, len);
	assert_memory_equal(s.body.data, body, len);
	pthread_mutex_unlock(&s.mu);

	/* hex case does not matter (GitHub sends lowercase) */
	for (char *p = upper + strlen("X-Hub-Signature-256: sha256="); *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	assert_int_equal(post_hook(port, upper, body, len), 202);
	assert_int_equal(hooks_seen(&s), 2);

	/* refused: nothing runs */
	assert_int_equal(post_hook(port, other, body, len), 401);
	assert_int_equal(post_hook(port, NULL, body, len), 401);
	assert_int_equal(post_hook(port, good, "{\"ref\":\"x\"}", 11), 401); /* another body */
	assert_int_equal(post_hook(port, "X-Hub-Signature-256: sha256=", body, len), 401);
	assert_int_equal(post_hook(port, "X-Hub-Signature-256: sha1=0123", body, len), 401);
	good[strlen(good) - 1] = good[strlen(good) - 1] == '0' ? '1' : '0';
	assert_int_equal(post_hook(port, good, body, len), 401);
	good[strlen(good) - 1] = 'g'; /* not hex */
	assert_int_equal(post_hook(port, good, body, len), 401);
	assert_int_equal(hooks_seen(&s), 2);

	/* too big, with a Content-Length and chunked without one */
	{
		size_t big = 2u << 20;
		char *huge = xmalloc(big);
		char *sig;
		const char *chunked[] = {"Transfer-Encoding: chunked", NULL, NULL};
		resp r;

		memset(huge, 'x', big);
		sig = signature("s3cret", huge, big);
		assert_int_equal(post_hook(port, sig, huge, big), 413);
		chunked[1] = sig;
		http(&r, port, "POST", "/hooks/git", chunked, huge, big);
		assert_int_equal(r.status, 413);
		buf_release(&r.body);
		/* a GET with a body: read and dropped */
		http(&r, port, "GET", "/healthz", NULL, huge, big);
		assert_int_equal(r.status, 200);
		buf_release(&r.body);
		free(sig);
		/* exactly the bound is accepted */
		sig = signature("s3cret", huge, 1u << 20);
		assert_int_equal(post_hook(port, sig, huge, 1u << 20), 202);
		free(sig);
		free(huge);
		assert_int_equal(hooks_seen(&s), 3);
	}

	/* SIGHUP: a new secret, then none */
	httpd_set_secret(h, "n3w-secret");
	assert_int_equal(post_hook(port, other, body, len), 202);
	assert_int_equal(post_hook(port, upper, body, len), 401);
	assert_int_equal(hooks_seen(&s), 4);
	httpd_set_secret(h, NULL);
	assert_int_equal(post_hook(port, other, body, len), 404);
	httpd_set_secret(h, "");
	assert_int_equal(post_hook(port, other, body, len), 404);
	assert_int_equal(hooks_seen(&s), 4);

	httpd_stop(h);
	free(good);
	free(other);
	free(upper);
	seen_release(&s);
}

/* ------------------------------------------------------------ threads */

#define ADDS 20000

static void *adder(void *arg)
{
	metrics *m = arg;

	for (int i = 0; i < ADDS; i++) {
		metrics_add(m, "flotilla_api_requests_total", "route=\"GET /projects\",status=\"200\"", 1);
		metrics_add(m, "flotilla_api_requests_total", i % 2 ? "status=\"429\"" : "status=\"503\"", 1);
		if (i % 1000 == 0) {
			metrics_clear(m, "flotilla_info");
			metrics_set(m, "flotilla_info", i % 2000 ? "commit=\"a\"" : "commit=\"b\"", 1);
		}
	}
	return NULL;
}

static void test_metrics_threads(void **unused)
{
	metrics *m = metrics_new();
	pthread_t t[2];
	seen s;
	int port = 0, scrapes = 0;
	httpd *h;
	buf page = BUF_INIT(0);
	resp r;

	(void)unused;
	seen_init(&s);
	metrics_declare(m, "flotilla_api_requests_total", "counter", "API requests");
	metrics_declare(m, "flotilla_info", "info", "Build and commit");
	h = start(&s, m, NULL, &port);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, adder, m), 0);
	for (int i = 0; i < 50; i++) {
		buf_reset(&page);
		assert_int_equal(metrics_render(m, &page), 0);
		check_exposition(page.data);
		http(&r, port, "GET", "/metrics", NULL, NULL, 0);
		assert_int_equal(r.status, 200);
		check_exposition(r.body.data);
		buf_release(&r.body);
		scrapes++;
	}
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	http(&r, port, "GET", "/metrics", NULL, NULL, 0);
	assert_int_equal(check_exposition(r.body.data), 4);
	assert_non_null(strstr(r.body.data, "{route=\"GET /projects\",status=\"200\"} 40000\n"));
	assert_non_null(strstr(r.body.data, "{status=\"429\"} 20000\n"));
	assert_non_null(strstr(r.body.data, "{status=\"503\"} 20000\n"));
	buf_release(&r.body);
	assert_int_equal(scrapes, 50);
	httpd_stop(h);
	buf_release(&page);
	metrics_free(m);
	seen_release(&s);
}

/* ------------------------------------------------------- secret file */

static char *secret_file(const char *content, mode_t mode)
{
	const char *dir = getenv("TMPDIR");
	char *path = xasprintf("%s/flotilla-secret-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

/* A private file holding content loads as want. */
static void expect_secret(const char *content, mode_t mode, const char *want)
{
	char *path = secret_file(content, mode), *secret = NULL;

	assert_int_equal(httpd_secret_load(path, &secret), 0);
	assert_string_equal(secret, want);
	httpd_secret_free(secret);
	unlink(path);
	free(path);
}

static void test_secret_load(void **unused)
{
	char *path, *secret = (char *)"untouched";

	(void)unused;
	path = secret_file("s3cret\n", 0644);
	assert_int_equal(httpd_secret_load(path, &secret), ERR_INVALID);
	assert_null(secret);
	assert_non_null(strstr(err_msg(), "0644"));
	assert_null(strstr(err_msg(), "s3cret"));
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(httpd_secret_load(path, &secret), ERR_INVALID);
	unlink(path);
	free(path);

	expect_secret("s3cret\n", 0600, "s3cret");
	expect_secret("\t my secret \r\nsecond line\n", 0400, "my secret");
	expect_secret("no newline", 0600, "no newline");

	path = secret_file("  \n", 0600);
	assert_int_equal(httpd_secret_load(path, &secret), ERR_INVALID);
	assert_null(secret);
	unlink(path);
	assert_int_equal(httpd_secret_load(path, &secret), ERR_IO);
	assert_non_null(strstr(err_msg(), path));
	free(path);
	httpd_secret_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parser_strict),
		cmocka_unit_test(test_metrics_render),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_listen_errors),
		cmocka_unit_test(test_webhook),
		cmocka_unit_test(test_metrics_threads),
		cmocka_unit_test(test_secret_load),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests_name("httpd", tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
