/*
 * status_page.c: the daemon's status page, rendered from a published
 * status document (status_doc.c). Each listed tenant's row is rendered
 * once, when the document is indexed; a page view writes the rest, the
 * rows that match its search and their "ago" words into one growing buffer.
 * A page view costs no state file read and no API call.
 *
 * Every string that comes from the document or the request is
 * HTML-escaped, in text and in attributes alike (status_html_escape);
 * class names come only from fixed tables, never from the document. The
 * page needs no JavaScript: the search is a plain GET form.
 */
#include <ctype.h>
#include <string.h>
#include <time.h>

#include "serve/internal.h"


/* The largest page: 200 rows with reasons cut at STATUS_REASON_MAX, and
 * the rest, is far below this; past it the page fails (500) instead of
 * growing without bound. */
#define STATUS_PAGE_MAX (8 * 1024 * 1024)
/* A reason is shown up to this many bytes (cut on a UTF-8 boundary). */
#define STATUS_REASON_MAX 1000
/* Members of a run's summary shown; the rest is on /api/status. */
#define STATUS_SUMMARY_MAX 12

/* ---------------------------------------------------------- output */

/* The page being written: the first failed append is kept and every later
 * one is skipped, so the render code reads straight through. */
typedef struct pen {
	buf *b;
	int rc;
} pen;

static void put(pen *o, const char *s)
{
	if (o->rc == 0)
		o->rc = buf_adds(o->b, s);
}

static void putn(pen *o, const char *s, size_t n)
{
	if (o->rc == 0)
		o->rc = buf_add(o->b, s, n);
}

PRINTF(2, 3) static void putf(pen *o, const char *fmt, ...)
{
	va_list ap;

	if (o->rc != 0)
		return;
	va_start(ap, fmt);
	o->rc = buf_vprintf(o->b, fmt, ap);
	va_end(ap);
}

/*
 * The five characters that matter in HTML text and in quoted or unquoted
 * attribute values. Safe runs are copied whole: most names and reasons
 * have nothing to escape.
 */
static int escape_n(buf *b, const char *s, size_t n)
{
	size_t run = 0;
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *rep;
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		if (i > run)
			rc = buf_add(b, s + run, i - run);
		if (rc == 0)
			rc = buf_adds(b, rep);
		run = i + 1;
	}
	if (rc == 0 && n > run)
		rc = buf_add(b, s + run, n - run);
	return rc;
}

int status_html_escape(buf *b, const char *s)
{
	return s ? escape_n(b, s, strlen(s)) : 0;
}

static void esc(pen *o, const char *s)
{
	if (o->rc == 0 && s)
		o->rc = escape_n(o->b, s, strlen(s));
}

/* A short sha: the first 7 characters, escaped (a document is not trusted
 * to hold hex). */
static void esc_sha(pen *o, const char *s)
{
	size_t n = strlen(s);

	if (o->rc == 0)
		o->rc = escape_n(o->b, s, n < 7 ? n : 7);
}

/* s escaped, cut at max bytes on a UTF-8 character boundary with "…". */
static void esc_cut(pen *o, const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n <= max) {
		esc(o, s);
		return;
	}
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	if (o->rc == 0)
		o->rc = escape_n(o->b, s, max);
	put(o, "…");
}

/* 1234567 as "1,234,567". */
static void put_count(pen *o, int64_t v)
{
	char digits[32], text[48];
	size_t n, j = 0;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	n = (size_t)snprintf(digits, sizeof(digits), "%llu", (unsigned long long)u);
	if (v < 0)
		text[j++] = '-';
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			text[j++] = ',';
		text[j++] = digits[i];
	}
	putn(o, text, j);
}

/* An integer and one decimal from tenths: 25 → "2.5", 30 → "3". */
static void put_tenths(pen *o, int64_t tenths)
{
	char text[32];
	int n = tenths % 10 ? snprintf(text, sizeof(text), "%lld.%lld", (long long)(tenths / 10), (long long)(tenths % 10))
			    : snprintf(text, sizeof(text), "%lld", (long long)(tenths / 10));
	putn(o, text, (size_t)n);
}

/* A span of seconds in words: "4.5 s", "45 s", "12 min", "3.5 h", "2.6
 * days". Integer arithmetic: a page writes one for each of its 200 rows. */
static void put_span(pen *o, double s)
{
	int64_t t = s <= 0 ? 0 : (int64_t)(s * 10 + 0.5); /* tenths of a second */

	if (t < 100) {
		put_tenths(o, t);
		put(o, " s");
	} else if (t < 1200) {
		put_tenths(o, (t + 5) / 10 * 10);
		put(o, " s");
	} else if (t < 72000) {
		put_tenths(o, (t + 300) / 600 * 10);
		put(o, " min");
	} else if (t < 48 * 36000) {
		put_tenths(o, (t + 1800) / 3600);
		put(o, " h");
	} else {
		put_tenths(o, (t + 43200) / 86400);
		put(o, " days");
	}
}

/* The words of put_ago: "3 min ago", "just now". */
static void put_ago_words(pen *o, int64_t t, int64_t now)
{
	if (now - t < 5) {
		put(o, "just now");
		return;
	}
	put_span(o, (double)(now - t));
	put(o, " ago");
}

/* The opening tag of put_ago: <time datetime="…" title="…">. */
static void put_time_open(pen *o, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char iso[32] = "";

	if (gmtime_r(&tt, &tm))
		strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
	putf(o, "<time datetime=\"%s\" title=\"%s\">", iso, iso);
}

/* <time datetime="2026-11-26T03:42:00Z">3 min ago</time>: the words
 * from the viewer's now, the exact time for a tooltip and for machines. */
static void put_ago(pen *o, int64_t t, int64_t now)
{
	put_time_open(o, t);
	put_ago_words(o, t, now);
	put(o, "</time>");
}


/* A state badge: the class from the fixed table, the text escaped. */
static void put_badge(pen *o, const char *state)
{
	int i = serve__state_index(state);

	putf(o, "<span class=\"b %s\">", i < 0 ? "unknown" : serve__states[i]);
	esc(o, state ? state : "?");
	put(o, "</span>");
}

/* One row's fixed parts into d->html. */
void serve__row_html(status_doc *d, row *r, const json_t *t, const char *tenant, const char *state,
		     const char *reason)
{
	const json_t *fields = json_object_get(t, "fields");
	const char *pid = jstr(t, "project_id");
	pen o = {&d->html, 0};

	r->pre = d->html.len;
	/* data-state and the badge's class from the fixed table only */
	putf(&o, "<tr class=tenant data-state=\"%s\"><td class=t>", r->st < 0 ? "unknown" : serve__states[r->st]);
	esc(&o, tenant);
	put(&o, "</td><td>");
	put_badge(&o, state);
	put(&o, "</td><td class=r>");
	esc_cut(&o, reason ? reason : "", STATUS_REASON_MAX);
	if (json_array_size(fields) > 0) {
		put(&o, "<br><span class=mut>fields: ");
		for (size_t k = 0; k < json_array_size(fields); k++) {
			if (k > 0)
				put(&o, ", ");
			put(&o, "<code>");
			esc(&o, json_string_value(json_array_get(fields, k)));
			put(&o, "</code>");
		}
		put(&o, "</span>");
	}
	put(&o, "</td><td>");
	if (r->since >= 0)
		put_time_open(&o, r->since);
	r->pre_len = d->html.len - r->pre;
	r->post = d->html.len;
	if (r->since >= 0)
		put(&o, "</time>");
	put(&o, "</td><td>");
	if (pid) {
		put(&o, "<code>");
		esc(&o, pid);
		put(&o, "</code>");
	}
	put(&o, "</td></tr>\n");
	r->post_len = d->html.len - r->post;
	/* d->html has no maximum: only out of memory could fail, and that aborts */
}



/* ---------------------------------------------------------- the page */

static const char page_head[] =
	"<!doctype html>\n<html lang=en><head><meta charset=utf-8>\n"
	"<meta name=viewport content=\"width=device-width,initial-scale=1\">\n";

/* Small and inline: no request for a stylesheet, a font or a script. */
static const char page_style[] =
	"<style>\n"
	":root{color-scheme:light dark;--bad:#d1242f;--warn:#bf8700;--drift:#8250df;--run:#0969da;--ok:#1a7f37;"
	"--mut:#6e7781;--line:#8884}\n"
	"body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:75rem;"
	"padding:.75rem}\n"
	"h1{font-size:1.35rem;margin:.2rem 0}h2{font-size:1.1rem;margin:1.4rem 0 .5rem}\n"
	"p{margin:.3rem 0}.mut{color:var(--mut)}code{font-size:.9em}\n"
	".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(8.5rem,1fr));gap:.5rem;margin:.8rem 0}\n"
	".card{display:block;border:1px solid var(--line);border-left-width:4px;border-radius:.4rem;"
	"padding:.4rem .6rem;color:inherit;text-decoration:none}\n"
	".card .n{display:block;font-size:1.6rem;font-weight:600;font-variant-numeric:tabular-nums}\n"
	".card.failed{border-left-color:var(--bad)}.card.blocked{border-left-color:var(--warn)}"
	".card.drifted{border-left-color:var(--drift)}.card.applying{border-left-color:var(--run)}"
	".card.out-of-sync{border-left-color:var(--mut)}.card.synced{border-left-color:var(--ok)}\n"
	".b{display:inline-block;padding:0 .4rem;border-radius:.7rem;font-size:.8rem;color:#fff;"
	"background:var(--mut);white-space:nowrap}\n"
	".b.failed{background:var(--bad)}.b.blocked{background:var(--warn)}.b.drifted{background:var(--drift)}"
	".b.applying{background:var(--run)}.b.synced,.b.ok{background:var(--ok)}\n"
	"form{display:flex;flex-wrap:wrap;gap:.4rem;margin:.4rem 0}\n"
	"input,select,button{font:inherit;padding:.3rem .5rem}input[type=search]{flex:1 1 12rem;min-width:0}\n"
	".scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}\n"
	"table{border-collapse:collapse;width:100%;font-size:.9rem}\n"
	"th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}\n"
	"th{white-space:nowrap}td.t{white-space:nowrap;font-weight:600}td.r{min-width:16rem;"
	"overflow-wrap:anywhere}\n"
	"ul.kv{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3rem 1.2rem;margin:.3rem 0}\n"
	"meter{width:12rem;max-width:100%}\n"
	"footer{margin:2rem 0 .5rem;font-size:.85rem;color:var(--mut)}\n"
	"</style>\n";

/* The page while no document has been published yet; it reloads itself. */
static void render_starting(pen *o)
{
	put(o, page_head);
	put(o, "<meta http-equiv=refresh content=5>\n<title>flotilla: starting</title>\n");
	put(o, page_style);
	put(o, "</head><body>\n<h1>flotilla</h1>\n<p id=starting>starting: the daemon has not published its "
	       "first status yet (this page reloads every 5 s).</p>\n</body></html>\n");
}

static void render_header(pen *o, const json_t *root, int64_t now)
{
	const char *fleet = jstr(root, "fleet");
	const json_t *commit = json_object_get(root, "commit");
	const char *applied = jstr(commit, "applied"), *fetched = jstr(commit, "fetched");
	int64_t at;

	put(o, "<title>flotilla");
	if (fleet) {
		put(o, ": ");
		esc(o, fleet);
	}
	put(o, "</title>\n");
	put(o, page_style);
	put(o, "</head><body>\n<header>\n<h1>flotilla <span id=fleet>");
	esc(o, fleet ? fleet : "(no fleet)");
	put(o, "</span></h1>\n<p id=commit>");
	if (applied) {
		put(o, "commit <code title=\"");
		esc(o, applied);
		put(o, "\">");
		esc_sha(o, applied);
		put(o, "</code> applied");
		if (jint(commit, "applied_at", &at)) {
			put(o, " ");
			put_ago(o, at, now);
		}
	} else {
		put(o, "no commit applied yet");
	}
	if (fetched && (!applied || strcmp(fetched, applied) != 0)) {
		put(o, " · fetched <code title=\"");
		esc(o, fetched);
		put(o, "\">");
		esc_sha(o, fetched);
		put(o, "</code>, not yet applied");
	}
	put(o, "</p>\n");
}

static void put_duration_of(pen *o, const json_t *run, int64_t now)
{
	int64_t start, end;

	if (!jint(run, "started_at", &start))
		return;
	if (jint(run, "finished_at", &end)) {
		put(o, "took ");
		put_span(o, (double)(end - start));
	} else {
		put(o, "running for ");
		put_span(o, (double)(now - start));
	}
}

/* A summary object as "key value, key value" (scalars only). */
static void put_summary(pen *o, const json_t *sum)
{
	const char *key;
	const json_t *v;
	size_t shown = 0;

	if (!json_is_object(sum)) {
		put(o, "<span class=mut>—</span>");
		return;
	}
	json_object_foreach((json_t *)sum, key, v) { /* borrowed; the macro wants a non-const object */
		if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v))
			continue;
		if (shown++ == STATUS_SUMMARY_MAX) {
			put(o, ", …");
			break;
		}
		if (shown > 1)
			put(o, ", ");
		esc(o, key);
		put(o, " ");
		if (json_is_string(v))
			esc_cut(o, json_string_value(v), 200);
		else if (json_is_integer(v))
			put_count(o, (int64_t)json_integer_value(v));
		else if (json_is_real(v))
			putf(o, "%g", json_real_value(v));
		else
			put(o, json_is_true(v) ? "true" : "false");
	}
	if (shown == 0)
		put(o, "<span class=mut>—</span>");
}

static void put_outcome(pen *o, const json_t *run)
{
	const char *outcome = jstr(run, "outcome");

	if (!outcome)
		put(o, "<span class=\"b applying\">running</span>");
	else if (strcmp(outcome, "ok") == 0)
		put(o, "<span class=\"b ok\">ok</span>");
	else if (strcmp(outcome, "failed") == 0)
		put(o, "<span class=\"b failed\">failed</span>");
	else {
		put(o, "<span class=b>");
		esc(o, outcome);
		put(o, "</span>");
	}
}

/* The newest apply among the runs (newest first). */
static void render_last_apply(pen *o, const json_t *runs, int64_t now)
{
	const json_t *run = NULL;
	int64_t id, at;

	for (size_t i = 0; i < json_array_size(runs) && !run; i++) {
		const char *cmd = jstr(json_array_get(runs, i), "command");
		if (cmd && strcmp(cmd, "apply") == 0)
			run = json_array_get(runs, i);
	}
	put(o, "<p id=last-apply>last apply: ");
	if (!run) {
		put(o, "none yet</p>\n</header>\n");
		return;
	}
	if (jint(run, "id", &id))
		putf(o, "#%lld ", (long long)id);
	put_outcome(o, run);
	if (jint(run, "finished_at", &at) || jint(run, "started_at", &at)) {
		put(o, jstr(run, "outcome") ? " finished " : " started ");
		put_ago(o, at, now);
	}
	put(o, " (");
	put_duration_of(o, run, now);
	put(o, ")</p>\n</header>\n");
}

static void render_counts(pen *o, const json_t *root)
{
	const json_t *counts = json_object_get(root, "counts");
	int64_t n, total;

	put(o, "<section class=cards id=counts aria-label=\"tenants by state\">\n");
	for (size_t i = 0; i < SERVE__STATES; i++) {
		if (!jint(counts, serve__states[i], &n))
			n = 0;
		putf(o, "<a class=\"card %s\" href=\"?state=%s\"><span class=n id=\"count-%s\">", serve__states[i], serve__states[i],
		     serve__states[i]);
		put_count(o, n);
		putf(o, "</span>%s</a>\n", serve__states[i]);
	}
	if (jint(root, "total", &total)) {
		put(o, "<a class=card href=\"/\"><span class=n id=count-total>");
		put_count(o, total);
		put(o, "</span>tenants</a>\n");
	}
	put(o, "</section>\n");
}

static bool row_matches(const row *r, int want_state, const char *needle)
{
	if (want_state >= 0 && r->st != want_state)
		return false;
	return !needle || strstr(r->hay, needle) != NULL;
}

static void render_row(pen *o, const status_doc *d, const row *r, int64_t now)
{
	putn(o, d->html.data + r->pre, r->pre_len);
	if (r->since >= 0)
		put_ago_words(o, r->since, now);
	putn(o, d->html.data + r->post, r->post_len);
}

static void render_tenants(pen *o, const status_doc *d, const char *q, const char *needle, int want_state,
			   int64_t now)
{
	int64_t not_synced;
	size_t shown = 0, matching = 0;
	bool filtered = needle || want_state >= 0;

	if (!jint(d->root, "tenants_not_synced", &not_synced))
		not_synced = (int64_t)d->nrows;
	put(o, "<section id=tenants>\n<h2>Tenants not synced</h2>\n");
	put(o, "<form method=get action=\"/\" role=search id=filter>"
	       "<input type=search name=q placeholder=\"tenant or reason\" aria-label=\"search tenants\" value=\"");
	esc(o, q ? q : "");
	put(o, "\"><select name=state aria-label=state><option value=\"\">all states</option>");
	for (size_t i = 0; i < SERVE__STATES; i++)
		putf(o, "<option%s>%s</option>", want_state == (int)i ? " selected" : "", serve__states[i]);
	put(o, "</select><button type=submit>Filter</button>");
	if (filtered)
		put(o, " <a href=\"/\">clear</a>");
	put(o, "</form>\n");

	/* one pass: the first rows are written, every match is counted */
	size_t mark = o->b->len;
	put(o, "<div class=scroll><table id=tenant-table><thead><tr><th>tenant</th><th>state</th><th>reason</th>"
	       "<th>since</th><th>project</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < d->nrows && o->rc == 0; i++) {
		if (!row_matches(&d->rows[i], want_state, needle))
			continue;
		if (matching++ < STATUS_PAGE_ROWS) {
			render_row(o, d, &d->rows[i], now);
			shown++;
		}
	}
	put(o, "</tbody></table></div>\n");
	if (o->rc != 0)
		return;

	/* the line above the table says what it holds; it is known only now,
	 * so it is written after the table and moved in front of it */
	buf line = BUF_INIT(0);
	pen lo = {&line, 0};
	put(&lo, "<p id=showing>");
	if (!filtered && not_synced == 0) {
		put(&lo, "all tenants are synced");
	} else if (filtered && matching == 0) {
		put(&lo, "no tenant matches");
		if (want_state == (int)SERVE__STATES - 1)
			put(&lo, " (synced tenants are not listed)");
	} else {
		putf(&lo, "showing <span id=shown>%zu</span> of <span id=matching>", shown);
		put_count(&lo, filtered ? (int64_t)matching : not_synced);
		put(&lo, "</span>");
		put(&lo, filtered ? " matching" : " not synced, worst first");
	}
	if ((int64_t)d->nrows < not_synced) {
		put(&lo, " <span class=mut>(the status lists the worst ");
		put_count(&lo, (int64_t)d->nrows);
		put(&lo, " of ");
		put_count(&lo, not_synced);
		put(&lo, ")</span>");
	}
	put(&lo, "</p>\n");
	if (lo.rc == 0)
		lo.rc = buf_add(o->b, line.data, line.len); /* grow first: the move below needs the room */
	if (lo.rc == 0) {
		memmove(o->b->data + mark + line.len, o->b->data + mark, o->b->len - line.len - mark);
		memcpy(o->b->data + mark, line.data, line.len);
	}
	o->rc = lo.rc;
	buf_release(&line);
	put(o, "</section>\n");
}

static void render_runs(pen *o, const json_t *runs, int64_t now)
{
	put(o, "<section id=runs>\n<h2>Recent runs</h2>\n");
	if (json_array_size(runs) == 0) {
		put(o, "<p class=mut>no run yet</p>\n</section>\n");
		return;
	}
	put(o, "<div class=scroll><table><thead><tr><th>#</th><th>command</th><th>started</th><th>duration</th>"
	       "<th>outcome</th><th>summary</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < json_array_size(runs); i++) {
		const json_t *run = json_array_get(runs, i);
		int64_t id, at;

		put(o, "<tr class=run><td>");
		if (jint(run, "id", &id))
			putf(o, "%lld", (long long)id);
		put(o, "</td><td>");
		esc(o, jstr(run, "command"));
		put(o, "</td><td>");
		if (jint(run, "started_at", &at))
			put_ago(o, at, now);
		put(o, "</td><td>");
		put_duration_of(o, run, now);
		put(o, "</td><td>");
		put_outcome(o, run);
		put(o, "</td><td>");
		put_summary(o, json_object_get(run, "summary"));
		put(o, "</td></tr>\n");
	}
	put(o, "</tbody></table></div>\n</section>\n");
}

static void render_tier(pen *o, const json_t *tiers, const char *name, int64_t now)
{
	const json_t *t = json_object_get(tiers, name);
	double sweep;
	int64_t last;

	if (!t)
		return;
	putf(o, "<li id=tier-%s><b>%s</b> sweep <span class=sweep>", name, name);
	if (jnum(t, "sweep_seconds", &sweep))
		put_span(o, sweep);
	else
		put(o, "—");
	put(o, "</span>, last ");
	if (jint(t, "last_at", &last))
		put_ago(o, last, now);
	else
		put(o, "not yet");
	put(o, "</li>");
}

static void render_budget(pen *o, const json_t *root, int64_t now)
{
	const json_t *rate = json_object_get(root, "rate"), *drift = json_object_get(root, "drift");
	double limit = 0, cur = 0, share;

	put(o, "<section id=budget>\n<h2>API budget and drift</h2>\n");
	if (json_is_object(rate) && jnum(rate, "limit", &limit) && jnum(rate, "now", &cur)) {
		putf(o, "<p id=rate>in use: <span id=rate-now>%.1f</span> of <span id=rate-limit>%.1f</span> "
			"requests/s", cur, limit);
		if (limit > 0)
			putf(o, " (%.0f%%) <meter min=0 max=\"%.3f\" value=\"%.3f\"></meter>", 100 * cur / limit, limit,
			     cur);
		if (jnum(rate, "drift_share", &share))
			putf(o, " · drift share <span id=drift-share>%.0f%%</span>", 100 * share);
		put(o, "</p>\n");
	} else {
		put(o, "<p id=rate class=mut>no rate figures yet</p>\n");
	}
	if (json_is_object(drift)) {
		const json_t *fields = json_object_get(drift, "fields");
		const char *key;
		const json_t *v;

		if (jstr(drift, "policy")) {
			put(o, "<p id=drift-policy>drift policy: <b>");
			esc(o, jstr(drift, "policy"));
			put(o, "</b></p>\n");
		}
		put(o, "<ul class=kv id=tiers>");
		render_tier(o, json_object_get(drift, "tiers"), "list", now);
		render_tier(o, json_object_get(drift, "tiers"), "deep", now);
		put(o, "</ul>\n");
		if (json_object_size(fields) > 0) {
			put(o, "<p>drift found, by field class:</p>\n<ul class=kv id=drift-fields>");
			json_object_foreach((json_t *)fields, key, v) { /* borrowed */
				put(o, "<li data-field=\"");
				esc(o, key);
				put(o, "\"><b>");
				esc(o, key);
				put(o, "</b> ");
				put_count(o, json_is_integer(v) ? (int64_t)json_integer_value(v) : 0);
				put(o, "</li>");
			}
			put(o, "</ul>\n");
		}
	} else {
		put(o, "<p id=drift-policy class=mut>no drift figures yet</p>\n");
	}
	put(o, "</section>\n");
}

int status_page_render(buf *b, const status_doc *d, const char *q, const char *state, int64_t now)
{
	pen o = {b, 0};
	char *needle = NULL;
	int want_state = -1;
	int64_t generated;

	if (state && *state && (want_state = serve__state_index(state)) < 0)
		return err_set(ERR_INVALID, "unknown state '%s': use one of failed, blocked, drifted, applying, "
					    "out-of-sync, synced", state);
	if (!d) {
		render_starting(&o);
		return o.rc;
	}
	if (q && *q) {
		needle = xstrdup(q);
		for (char *p = needle; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	put(&o, page_head);
	render_header(&o, d->root, now);
	render_last_apply(&o, json_object_get(d->root, "runs"), now);
	render_counts(&o, d->root);
	/* the budget before the table: on a phone, 200 rows are a long scroll */
	render_budget(&o, d->root, now);
	render_tenants(&o, d, q, needle, want_state, now);
	render_runs(&o, json_object_get(d->root, "runs"), now);
	put(&o, "<footer>status ");
	if (jint(d->root, "generated_at", &generated))
		put_ago(&o, generated, now);
	put(&o, " from the state file · <a href=\"/api/status\">JSON</a> · <a href=\"/metrics\">metrics</a>"
		"</footer>\n</body></html>\n");
	free(needle);
	return o.rc;
}
