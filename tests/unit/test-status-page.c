/*
 * test-status-page.c: unit tests for the status page (serve/status.c and
 * its routes in serve/httpd.c). The server runs for real on 127.0.0.1
 * with a port the kernel picks; a fixture status document, built here
 * with jansson in the shape of docs/daemon.md's version 1, is published
 * as the daemon would, and libcurl fetches / and /api/status as a browser
 * or a script would. Hostile strings (markup, quotes, ampersands) ride in
 * the fleet name, a tenant name, a reason and the query, and must come
 * back escaped everywhere.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve/serve.h"

#define HOSTILE "<script>alert('x')</script> & \"quoted\""
#define HOSTILE_ESCAPED "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quoted&quot;"

/* ---------------------------------------------------------- fixture */

/*
 * A version-1 document: fleet `fleet`, 1,000 tenants of which 3 failed
 * (one with a hostile reason), 1 blocked, 2 drifted (with fields), and
 * n_out out-of-sync; the list worst first, then by name, as the producer
 * orders it. New heap text (json_dumps).
 */
static char *fixture(const char *fleet, int n_out, int64_t now)
{
	json_t *doc, *tenants = json_array(), *runs = json_array();
	char *text;
	char name[32];

	/* json_array_append_new and json_object_set_new steal each new value */
	json_array_append_new(tenants, json_pack("{s:s, s:s, s:s, s:I, s:s}", "tenant", "t-001", "state", "failed",
						 "reason", "PATCH /projects/{id}: 422 quota above the plan", "since",
						 (json_int_t)(now - 180), "project_id", "p-aaa001"));
	json_array_append_new(tenants, json_pack("{s:s, s:s, s:s, s:I, s:s}", "tenant", "t-002", "state", "failed",
						 "reason", HOSTILE, "since", (json_int_t)(now - 7200), "project_id",
						 "p-aaa002"));
	json_array_append_new(tenants, json_pack("{s:s, s:s, s:s, s:I, s:n}", "tenant", "t-<b>003", "state",
						 "failed", "reason", "POST /projects: 500 Internal Server Error",
						 "since", (json_int_t)(now - 60), "project_id"));
	json_array_append_new(tenants, json_pack("{s:s, s:s, s:s, s:I, s:s}", "tenant", "t-004", "state", "blocked",
						 "reason", "region cannot change", "since", (json_int_t)(now - 5),
						 "project_id", "p-aaa004"));
	json_array_append_new(tenants, json_pack("{s:s, s:s, s:s, s:I, s:s, s:[s,s]}", "tenant", "t-005", "state",
						 "drifted", "reason", "quota changed outside flotilla", "since",
						 (json_int_t)(now - 30), "project_id", "p-aaa005", "fields",
						 "quota.compute_time", "quota.written_data"));
	json_array_append_new(tenants, json_pack("{s:s, s:s, s:s, s:I, s:s, s:[s]}", "tenant", "t-006", "state",
						 "drifted", "reason", "Suspend timeout drifted", "since",
						 (json_int_t)(now - 30), "project_id", "p-aaa006", "fields",
						 "endpoint.suspend_timeout"));
	for (int i = 0; i < n_out; i++) {
		snprintf(name, sizeof(name), "out-%04d", i);
		json_array_append_new(tenants, json_pack("{s:s, s:s, s:s, s:I, s:s}", "tenant", name, "state",
							 "out-of-sync", "reason", "not applied: the run stopped first",
							 "since", (json_int_t)(now - 10), "project_id", "p-x"));
	}
	json_array_append_new(runs, json_pack("{s:i, s:s, s:I, s:n, s:n, s:n}", "id", 12, "command", "refresh",
					      "started_at", (json_int_t)(now - 3), "finished_at", "outcome",
					      "summary"));
	json_array_append_new(runs, json_pack("{s:i, s:s, s:I, s:I, s:s, s:{s:i, s:i, s:s}}", "id", 11, "command",
					      "apply", "started_at", (json_int_t)(now - 400), "finished_at",
					      (json_int_t)(now - 370), "outcome", "failed", "summary", "updated", 40,
					      "failed", 3, "note", HOSTILE));
	doc = json_pack("{s:i, s:I, s:s, s:{s:s, s:I, s:s}, s:{s:i, s:i, s:i, s:i, s:i, s:i}, s:i, s:o, s:i, "
			"s:o, s:{s:f, s:f, s:f}, s:{s:s, s:{s:{s:f, s:I}, s:{s:f, s:n}}, s:{s:i, s:i}}}",
			"version", 1, "generated_at", (json_int_t)now, "fleet", fleet, "commit", "applied",
			"0123456789abcdef0123456789abcdef01234567", "applied_at", (json_int_t)(now - 185), "fetched",
			"0123456789abcdef0123456789abcdef01234567", "counts", "synced", 994 - n_out, "out-of-sync",
			n_out, "drifted", 2, "blocked", 1, "failed", 3, "applying", 0, "total", 1000, "tenants",
			tenants, "tenants_not_synced", 6 + n_out, "runs", runs, "rate", "limit", 11.7, "now", 3.2,
			"drift_share", 0.2, "drift", "policy", "report", "tiers", "list", "sweep_seconds", 21.0,
			"last_at", (json_int_t)(now - 40), "deep", "sweep_seconds", 222120.0, "last_at", "fields",
			"quota", 3, "settings", 1);
	assert_non_null(doc);
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return text;
}

/* --------------------------------------------------------- HTTP client */

typedef struct resp {
	long status;
	buf body;
	char ctype[128];
	char cache[64];
} resp;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	buf *b = arg;
	return buf_add(b, p, size * n) == 0 ? size * n : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	resp *r = arg;
	size_t len = size * n;

	if (len > 15 && strncasecmp(p, "Cache-Control: ", 15) == 0) {
		size_t v = len - 15;
		while (v > 0 && (p[15 + v - 1] == '\r' || p[15 + v - 1] == '\n'))
			v--;
		snprintf(r->cache, sizeof(r->cache), "%.*s", (int)v, p + 15);
	}
	return len;
}

/* One request; path already URL-encoded. */
static void http(resp *r, int port, const char *method, const char *path)
{
	CURL *c = curl_easy_init();
	char *url = xasprintf("http://127.0.0.1:%d%s", port, path);
	char *ct = NULL;
	CURLcode rc;

	assert_non_null(c);
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, 16 << 20);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
		str_copy(r->ctype, ct, sizeof(r->ctype));
	if (buf_adds(&r->body, "") != 0)
		fail_msg("response too large");
	curl_easy_cleanup(c);
	free(url);
}

/* GET path without cmocka (for other threads): the status, the body in
 * *body (heap; the caller frees), or 0 on a transport error. */
static long get_quiet(int port, const char *path, char **body)
{
	CURL *c = curl_easy_init();
	char *url = xasprintf("http://127.0.0.1:%d%s", port, path);
	buf b = BUF_INIT(16 << 20);
	long status = 0;
	size_t len;

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	free(url);
	if (buf_adds(&b, "") != 0)
		status = 0;
	*body = buf_detach(&b, &len);
	return status;
}

/* GET path: status checked, body returned (heap; the caller frees). */
static char *get(int port, const char *path, long status)
{
	resp r;
	size_t len;

	http(&r, port, "GET", path);
	if (r.status != status)
		fail_msg("GET %s: status %ld, want %ld: %.300s", path, r.status, status, r.body.data);
	return buf_detach(&r.body, &len);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void expect_in(const char *page, const char *needle)
{
	if (!strstr(page, needle))
		fail_msg("page lacks %s", needle);
}

static httpd *start(int *port)
{
	httpd_opts o = {.listen = "127.0.0.1:0"};
	httpd *h = NULL;

	assert_int_equal(httpd_start(&h, &o, port), 0);
	assert_true(*port > 0);
	return h;
}

/* ---------------------------------------------------------- tests */

static void test_escape(void **unused)
{
	buf b = BUF_INIT(0), small = BUF_INIT(8);

	(void)unused;
	assert_int_equal(status_html_escape(&b, HOSTILE), 0);
	assert_string_equal(b.data, HOSTILE_ESCAPED);
	buf_reset(&b);
	assert_int_equal(status_html_escape(&b, "plain-tenant_01"), 0);
	assert_int_equal(status_html_escape(&b, NULL), 0);
	assert_int_equal(status_html_escape(&b, ""), 0);
	assert_int_equal(status_html_escape(&b, "&&\"'<>"), 0);
	assert_int_equal(status_html_escape(&b, "ünïcødé ✓"), 0);
	assert_string_equal(b.data, "plain-tenant_01&amp;&amp;&quot;&#39;&lt;&gt;ünïcødé ✓");
	/* past the maximum: ERR_TOOBIG */
	assert_int_equal(status_html_escape(&small, "<<<"), ERR_TOOBIG);
	buf_release(&b);
	buf_release(&small);
}

static void test_doc_invalid(void **unused)
{
	status_doc *d = (status_doc *)1;
	buf b = BUF_INIT(0);

	(void)unused;
	assert_int_equal(status_doc_new(&d, "{", 1), ERR_INVALID);
	assert_null(d);
	assert_int_equal(status_doc_new(&d, "[1]", 3), ERR_INVALID);
	assert_int_equal(status_doc_new(&d, "{\"version\": 2}", 14), ERR_INVALID);
	assert_int_equal(status_doc_new(&d, "{\"version\": \"1\"}", 16), ERR_INVALID);
	/* the smallest document renders: every member is optional */
	assert_int_equal(status_doc_new(&d, "{\"version\": 1}", 14), 0);
	assert_int_equal(status_page_render(&b, d, NULL, NULL, 1000), 0);
	expect_in(b.data, "<span class=n id=\"count-failed\">0</span>");
	expect_in(b.data, "all tenants are synced");
	buf_reset(&b);
	assert_int_equal(status_page_render(&b, d, NULL, "nonsense", 1000), ERR_INVALID);
	assert_non_null(strstr(err_msg(), "nonsense"));
	/* the document before the first: the starting page */
	buf_reset(&b);
	assert_int_equal(status_page_render(&b, NULL, NULL, NULL, 1000), 0);
	expect_in(b.data, "starting");
	status_doc_unref(status_doc_ref(d)); /* one taken, one dropped: still alive */
	status_doc_unref(d);
	status_doc_unref(NULL);
	buf_release(&b);
}

static void test_before_publish(void **unused)
{
	int port;
	httpd *h;
	resp r;
	json_t *j;
	char *page;

	(void)unused;
	h = start(&port);
	http(&r, port, "GET", "/api/status");
	assert_int_equal(r.status, 503);
	assert_string_equal(r.ctype, "application/json");
	j = json_loads(r.body.data, 0, NULL);
	assert_non_null(j);
	assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "starting"));
	json_decref(j);
	buf_release(&r.body);

	page = get(port, "/", 503);
	expect_in(page, "starting");
	expect_in(page, "<meta name=viewport content=\"width=device-width,initial-scale=1\">");
	free(page);
	http(&r, port, "HEAD", "/");
	assert_int_equal(r.status, 503);
	buf_release(&r.body);
	httpd_stop(h);
}

static void test_page(void **unused)
{
	int64_t now = (int64_t)time(NULL);
	char *doc = fixture("acme " HOSTILE, 300, now), *page;
	int port;
	httpd *h;
	resp r;
	json_t *want, *got;

	(void)unused;
	h = start(&port);
	assert_int_equal(httpd_set_status(h, doc), 0);

	/* /api/status: the published text itself */
	http(&r, port, "GET", "/api/status");
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, "application/json");
	assert_string_equal(r.cache, "no-store");
	assert_string_equal(r.body.data, doc);
	want = json_loads(doc, 0, NULL);
	got = json_loads(r.body.data, 0, NULL);
	assert_non_null(got);
	assert_true(json_equal(want, got));
	json_decref(want);
	json_decref(got);
	buf_release(&r.body);
	http(&r, port, "HEAD", "/api/status");
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 0);
	buf_release(&r.body);

	/* the page: meta, counts, the first 200 of 306 rows worst first */
	http(&r, port, "GET", "/");
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, "text/html; charset=utf-8");
	assert_string_equal(r.cache, "no-store");
	page = buf_detach(&r.body, &(size_t){0});
	expect_in(page, "<!doctype html>");
	expect_in(page, "<meta name=viewport content=\"width=device-width,initial-scale=1\">");
	expect_in(page, "id=\"count-failed\">3</span>");
	expect_in(page, "id=\"count-blocked\">1</span>");
	expect_in(page, "id=\"count-drifted\">2</span>");
	expect_in(page, "id=\"count-applying\">0</span>");
	expect_in(page, "id=\"count-out-of-sync\">300</span>");
	expect_in(page, "id=\"count-synced\">694</span>");
	expect_in(page, "id=count-total>1,000</span>");
	assert_int_equal(count(page, "<tr class=tenant "), STATUS_PAGE_ROWS);
	expect_in(page, "showing <span id=shown>200</span> of <span id=matching>306</span>");
	assert_int_equal(count(page, "<tr class=tenant data-state=\"failed\">"), 3);
	assert_int_equal(count(page, "<tr class=tenant data-state=\"drifted\">"), 2);
	expect_in(page, "<code>quota.compute_time</code>, <code>quota.written_data</code>");
	assert_true(strstr(page, ">t-001<") < strstr(page, ">t-004<"));
	assert_true(strstr(page, ">t-004<") < strstr(page, ">t-005<"));
	/* commit, last apply, runs, budget, tiers, drift fields */
	expect_in(page, "<code title=\"0123456789abcdef0123456789abcdef01234567\">0123456</code> applied <time");
	expect_in(page, ">3 min ago</time>");
	expect_in(page, "<p id=last-apply>last apply: #11 <span class=\"b failed\">failed</span> finished");
	expect_in(page, "(took 30 s)");
	assert_int_equal(count(page, "<tr class=run>"), 2);
	expect_in(page, "<span id=rate-now>3.2</span> of <span id=rate-limit>11.7</span>");
	expect_in(page, "<span id=drift-share>20%</span>");
	expect_in(page, "<li id=tier-list><b>list</b> sweep <span class=sweep>21 s</span>");
	expect_in(page, "<li id=tier-deep><b>deep</b> sweep <span class=sweep>2.6 days</span>, last not yet");
	expect_in(page, "<li data-field=\"quota\"><b>quota</b> 3</li>");
	/* hostile strings: escaped in the title, the header, the reason, the summary */
	assert_null(strstr(page, "<script"));
	assert_null(strstr(page, "<b>003"));
	expect_in(page, "<title>flotilla: acme " HOSTILE_ESCAPED "</title>");
	expect_in(page, "<span id=fleet>acme " HOSTILE_ESCAPED "</span>");
	expect_in(page, "<td class=r>" HOSTILE_ESCAPED "</td>");
	expect_in(page, ">t-&lt;b&gt;003<");
	expect_in(page, "note " HOSTILE_ESCAPED);
	free(page);

	/* ?state=failed: the failed rows only */
	page = get(port, "/?state=failed", 200);
	assert_int_equal(count(page, "<tr class=tenant "), 3);
	assert_int_equal(count(page, "<tr class=tenant data-state=\"failed\">"), 3);
	expect_in(page, "showing <span id=shown>3</span> of <span id=matching>3</span> matching");
	expect_in(page, "<option selected>failed</option>");
	free(page);
	page = get(port, "/?state=out-of-sync", 200);
	assert_int_equal(count(page, "<tr class=tenant data-state=\"out-of-sync\">"), 200);
	expect_in(page, "of <span id=matching>300</span> matching");
	free(page);
	page = get(port, "/?state=synced", 200);
	assert_int_equal(count(page, "<tr class=tenant "), 0);
	expect_in(page, "synced tenants are not listed");
	free(page);

	/* ?q=: name or reason, case-insensitive, with the state */
	page = get(port, "/?q=T-00", 200); /* t-001 t-002 t-004 t-005 t-006, out-0000 .. out-0099 */
	assert_int_equal(count(page, "<tr class=tenant "), 105);
	expect_in(page, "showing <span id=shown>105</span> of <span id=matching>105</span> matching");
	free(page);
	page = get(port, "/?q=internal+SERVER", 200);
	assert_int_equal(count(page, "<tr class=tenant "), 1);
	expect_in(page, ">t-&lt;b&gt;003<");
	expect_in(page, "value=\"internal SERVER\"");
	free(page);
	page = get(port, "/?q=out-01&state=out-of-sync", 200);
	assert_int_equal(count(page, "<tr class=tenant "), 100); /* out-0100 .. out-0199 */
	free(page);
	page = get(port, "/?q=out-01&state=failed", 200);
	assert_int_equal(count(page, "<tr class=tenant "), 0);
	expect_in(page, "no tenant matches");
	free(page);
	/* the query is never a name and reason joined */
	page = get(port, "/?q=t-001patch", 200);
	assert_int_equal(count(page, "<tr class=tenant "), 0);
	free(page);
	/* the query echoed back escaped; a search for markup finds the hostile reason */
	page = get(port, "/?q=%3Cscript%3Ealert(%27x%27)", 200);
	assert_null(strstr(page, "<script"));
	expect_in(page, "value=\"&lt;script&gt;alert(&#39;x&#39;)\"");
	assert_int_equal(count(page, "<tr class=tenant "), 1);
	free(page);
	page = get(port, "/?q=%22%3E%3Cimg%20src=x%3E", 200);
	assert_null(strstr(page, "<img"));
	expect_in(page, "value=\"&quot;&gt;&lt;img src=x&gt;\"");
	free(page);

	/* bad requests */
	{
		char path[1200] = "/?q=";
		memset(path + 4, 'a', 1030);
		path[1034] = '\0';
		free(get(port, path, 400));
		path[4 + 1000] = '\0';
		free(get(port, path, 200));
	}
	free(get(port, "/?state=nonsense", 400));
	free(get(port, "/index.html", 404));
	free(get(port, "/api/status/", 404));
	free(get(port, "/api", 404));
	http(&r, port, "POST", "/");
	assert_int_equal(r.status, 405);
	buf_release(&r.body);
	http(&r, port, "HEAD", "/?state=failed");
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 0);
	buf_release(&r.body);

	httpd_stop(h);
	free(doc);
}

static void test_republish(void **unused)
{
	int64_t now = (int64_t)time(NULL);
	char *one = fixture("one", 10, now), *two = fixture("two", 50, now), *page;
	int port;
	httpd *h;

	(void)unused;
	h = start(&port);
	assert_int_equal(httpd_set_status(h, one), 0);
	page = get(port, "/", 200);
	expect_in(page, "<span id=fleet>one</span>");
	expect_in(page, "id=\"count-out-of-sync\">10</span>");
	free(page);
	assert_int_equal(httpd_set_status(h, two), 0);
	page = get(port, "/", 200);
	expect_in(page, "<span id=fleet>two</span>");
	expect_in(page, "id=\"count-out-of-sync\">50</span>");
	assert_int_equal(count(page, "<tr class=tenant "), 56);
	free(page);
	page = get(port, "/api/status", 200);
	assert_string_equal(page, two);
	free(page);
	/* a broken document is refused and the last good one stays */
	assert_int_equal(httpd_set_status(h, "{\"version\": 1"), ERR_INVALID);
	assert_int_equal(httpd_set_status(h, "{\"version\": 7}"), ERR_INVALID);
	assert_int_equal(httpd_set_status(h, NULL), ERR_INVALID);
	page = get(port, "/api/status", 200);
	assert_string_equal(page, two);
	free(page);
	httpd_stop(h);
	free(one);
	free(two);
}

/* Pages fetched while documents are replaced: each page is whole and one
 * of the documents (run under ASan or TSan this also checks the counts). */
typedef struct reader {
	int port;
	int good; /* whole pages of one of the documents; checked on the main thread */
} reader;

static void *read_pages(void *arg)
{
	reader *rd = arg;

	for (int i = 0; i < 40; i++) {
		char *page = NULL;
		long status = get_quiet(rd->port, i % 2 ? "/" : "/api/status", &page);
		bool whole = i % 2 ? strstr(page, "</html>\n") && strstr(page, "<span id=fleet>fleet-")
				   : strstr(page, "\"fleet\":\"fleet-") != NULL;
		rd->good += status == 200 && whole;
		free(page);
	}
	return NULL;
}

static void test_swap_while_reading(void **unused)
{
	int64_t now = (int64_t)time(NULL);
	pthread_t t[4];
	reader rd[4];
	char fleet[32];
	int port;
	httpd *h;

	(void)unused;
	h = start(&port);
	{
		char *doc = fixture("fleet-0", 5, now);
		assert_int_equal(httpd_set_status(h, doc), 0);
		free(doc);
	}
	for (int i = 0; i < 4; i++) {
		rd[i] = (reader){port, 0};
		assert_int_equal(pthread_create(&t[i], NULL, read_pages, &rd[i]), 0);
	}
	for (int i = 1; i <= 60; i++) {
		char *doc;
		snprintf(fleet, sizeof(fleet), "fleet-%d", i);
		doc = fixture(fleet, 5 + i, now);
		assert_int_equal(httpd_set_status(h, doc), 0);
		free(doc);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(rd[i].good, 40);
	}
	httpd_stop(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_doc_invalid),
		cmocka_unit_test(test_before_publish),
		cmocka_unit_test(test_page),
		cmocka_unit_test(test_republish),
		cmocka_unit_test(test_swap_while_reading),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests_name("status-page", tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
