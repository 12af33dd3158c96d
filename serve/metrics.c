/*
 * metrics.c: the daemon's counters and gauges, rendered in Prometheus'
 * text exposition format, version 0.0.4.
 *
 * The daemon's loop updates and the HTTP threads render, so one mutex
 * guards everything; updates are a lookup and a store, render holds the
 * lock while it writes the whole page, which keeps a scrape consistent.
 *
 * A label set comes from the caller as the body of `{…}`. It is parsed
 * and put into a canonical form (labels sorted by name) before it is
 * stored, so `a="1",b="2"` and `b="2",a="1"` are one series, and a
 * malformed set can never reach the page and break every scrape: such an
 * update is dropped. Families are bounded (METRICS_MAX_SERIES) so that a
 * label fed by outside data cannot grow memory without end.
 */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "serve/serve.h"

/* Series per family; updates that would add more are dropped. */
#define METRICS_MAX_SERIES 10000
/* Labels per series, and bytes of one canonical label set. */
#define METRICS_MAX_LABELS 16
#define METRICS_MAX_LABELS_LEN 4096

typedef struct series {
	char *labels; /* canonical body of {…}, "" for none */
	double v;
} series;

typedef struct family {
	char *name;
	char *type; /* as rendered: counter, gauge or untyped */
	char *help;
	bool info;  /* an info family: every value is 1 */
	series *s;  /* sorted by labels (strcmp) */
	size_t n, cap;
} family;

struct metrics {
	pthread_mutex_t mu;
	family *f; /* declaration order */
	size_t n, cap;
};

metrics *metrics_new(void)
{
	metrics *m = xcalloc(1, sizeof(*m));

	pthread_mutex_init(&m->mu, NULL);
	return m;
}

static void family_release(family *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->s[i].labels);
	free(f->s);
	free(f->name);
	free(f->type);
	free(f->help);
}

void metrics_free(metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		family_release(&m->f[i]);
	free(m->f);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

static bool name_ok(const char *s, bool colon)
{
	if (!s || !*s)
		return false;
	for (const char *p = s; *p; p++) {
		bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
			     (colon && *p == ':');
		if (!alpha && !(p > s && *p >= '0' && *p <= '9'))
			return false;
	}
	return true;
}

static family *find(metrics *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->f[i].name, name) == 0)
			return &m->f[i];
	return NULL;
}

/* Called with m->mu held. */
static family *declare_locked(metrics *m, const char *name, const char *type, const char *help)
{
	family *f = find(m, name);

	if (f) /* a second declaration keeps the first: series stay typed as scraped */
		return f;
	if (m->n == m->cap)
		m->f = xgrow(m->f, &m->cap, m->n + 1, sizeof(*m->f));
	f = &m->f[m->n++];
	memset(f, 0, sizeof(*f));
	f->name = xstrdup(name);
	f->info = strcmp(type, "info") == 0;
	f->type = xstrdup(f->info ? "gauge" : type);
	f->help = xstrdup(help ? help : "");
	return f;
}

/*
 * A wrong name or type is a bug in the daemon's source, found by its first
 * test run; aborting beats a page that Prometheus refuses as a whole.
 */
void metrics_declare(metrics *m, const char *name, const char *type, const char *help)
{
	if (!name_ok(name, true) || !type ||
	    (strcmp(type, "counter") && strcmp(type, "gauge") && strcmp(type, "info") && strcmp(type, "untyped"))) {
		fprintf(stderr, "fatal: metrics_declare: bad metric name '%s' or type '%s'\n", name ? name : "",
			type ? type : "");
		abort();
	}
	pthread_mutex_lock(&m->mu);
	declare_locked(m, name, type, help);
	pthread_mutex_unlock(&m->mu);
}

/*
 * Parse a label set body into its canonical form: pairs sorted by name,
 * joined by commas, values kept as escaped. NULL when it is not a valid
 * label set (bad name, a reserved "__" name, a repeated name, an unknown
 * escape, a raw newline, too many or too long).
 */
static char *labels_canonical(const char *in)
{
	struct {
		const char *name, *val;
		size_t nlen, vlen;
	} pair[METRICS_MAX_LABELS], t;
	size_t n = 0;
	const char *p = in;
	buf b = BUF_INIT(METRICS_MAX_LABELS_LEN);

	if (!in || !*in)
		return xstrdup("");
	for (;;) {
		const char *name = p;
		while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || (p > name && *p >= '0' && *p <= '9'))
			p++;
		if (p == name || n == METRICS_MAX_LABELS || (p - name >= 2 && name[0] == '_' && name[1] == '_'))
			return NULL;
		pair[n].name = name;
		pair[n].nlen = (size_t)(p - name);
		if (p[0] != '=' || p[1] != '"')
			return NULL;
		p += 2;
		pair[n].val = p;
		while (*p != '"') {
			if (*p == '\0' || *p == '\n')
				return NULL;
			if (*p == '\\') {
				if (p[1] != '\\' && p[1] != '"' && p[1] != 'n')
					return NULL;
				p++;
			}
			p++;
		}
		pair[n].vlen = (size_t)(p - pair[n].val);
		n++;
		p++;
		if (*p == '\0')
			break;
		if (*p != ',')
			return NULL;
		p++;
		if (*p == '\0') /* a trailing comma is allowed by the format */
			break;
	}
	/* insertion sort: a handful of labels */
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0; k--) {
			size_t l = pair[k - 1].nlen < pair[k].nlen ? pair[k - 1].nlen : pair[k].nlen;
			int c = memcmp(pair[k - 1].name, pair[k].name, l);
			if (c == 0 && pair[k - 1].nlen == pair[k].nlen)
				return NULL; /* the same label twice */
			if (c < 0 || (c == 0 && pair[k - 1].nlen < pair[k].nlen))
				break;
			t = pair[k - 1];
			pair[k - 1] = pair[k];
			pair[k] = t;
		}
	for (size_t i = 0; i < n; i++)
		if (buf_printf(&b, "%s%.*s=\"%.*s\"", i ? "," : "", (int)pair[i].nlen, pair[i].name,
			       (int)pair[i].vlen, pair[i].val) != 0) {
			buf_release(&b);
			return NULL;
		}
	return buf_detach(&b, NULL);
}

/* The series of f with these canonical labels, added when absent (NULL
 * past the bound). Called with m->mu held. */
static series *series_get(family *f, char *canon)
{
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(f->s[mid].labels, canon);
		if (c == 0) {
			free(canon);
			return &f->s[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (f->n >= METRICS_MAX_SERIES) {
		free(canon);
		return NULL;
	}
	if (f->n == f->cap)
		f->s = xgrow(f->s, &f->cap, f->n + 1, sizeof(*f->s));
	memmove(&f->s[lo + 1], &f->s[lo], (f->n - lo) * sizeof(*f->s));
	f->n++;
	f->s[lo].labels = canon;
	f->s[lo].v = 0;
	return &f->s[lo];
}

static void update(metrics *m, const char *name, const char *labels, double v, bool add)
{
	char *canon;
	family *f;
	series *s;

	if (!name_ok(name, true))
		return;
	canon = labels_canonical(labels);
	if (!canon)
		return;
	pthread_mutex_lock(&m->mu);
	f = find(m, name);
	if (!f) /* visible on the page, so the missing declaration gets noticed */
		f = declare_locked(m, name, "untyped", "undeclared metric");
	s = series_get(f, canon);
	if (s)
		s->v = f->info ? 1 : add ? s->v + v : v;
	pthread_mutex_unlock(&m->mu);
}

void metrics_set(metrics *m, const char *name, const char *labels, double v)
{
	update(m, name, labels, v, false);
}

void metrics_add(metrics *m, const char *name, const char *labels, double delta)
{
	update(m, name, labels, delta, true);
}

void metrics_clear(metrics *m, const char *name)
{
	family *f;

	pthread_mutex_lock(&m->mu);
	f = name ? find(m, name) : NULL;
	if (f) {
		for (size_t i = 0; i < f->n; i++)
			free(f->s[i].labels);
		f->n = 0;
	}
	pthread_mutex_unlock(&m->mu);
}

char *metrics_label_escape(const char *value)
{
	buf b = BUF_INIT(0);

	if (buf_adds(&b, "") != 0)
		abort();
	for (const char *p = value ? value : ""; *p; p++) {
		int rc = *p == '\\' ? buf_adds(&b, "\\\\")
			 : *p == '"' ? buf_adds(&b, "\\\"")
			 : *p == '\n' ? buf_adds(&b, "\\n")
				      : buf_addc(&b, *p);
		if (rc != 0) /* no maximum: cannot fail */
			abort();
	}
	return buf_detach(&b, NULL);
}

/* HELP text escapes only backslash and newline (0.0.4). */
static int add_help(buf *out, const char *help)
{
	int rc = 0;

	for (const char *p = help; *p && rc == 0; p++)
		rc = *p == '\\' ? buf_adds(out, "\\\\") : *p == '\n' ? buf_adds(out, "\\n") : buf_addc(out, *p);
	return rc;
}

/* Go's ParseFloat spellings for the odd values; integers without an
 * exponent while they are exact. */
static int add_value(buf *out, double v)
{
	if (isnan(v))
		return buf_adds(out, "NaN");
	if (isinf(v))
		return buf_adds(out, v > 0 ? "+Inf" : "-Inf");
	if (v == floor(v) && fabs(v) < 9007199254740992.0)
		return buf_printf(out, "%.0f", v);
	return buf_printf(out, "%.17g", v);
}

int metrics_render(metrics *m, buf *out)
{
	int rc = 0;

	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < m->n && rc == 0; i++) {
		const family *f = &m->f[i];
		rc = buf_printf(out, "# HELP %s ", f->name);
		if (rc == 0)
			rc = add_help(out, f->help);
		if (rc == 0)
			rc = buf_printf(out, "\n# TYPE %s %s\n", f->name, f->type);
		for (size_t k = 0; k < f->n && rc == 0; k++) {
			const series *s = &f->s[k];
			rc = s->labels[0] ? buf_printf(out, "%s{%s} ", f->name, s->labels)
					  : buf_printf(out, "%s ", f->name);
			if (rc == 0)
				rc = add_value(out, s->v);
			if (rc == 0)
				rc = buf_addc(out, '\n');
		}
	}
	pthread_mutex_unlock(&m->mu);
	if (rc != 0)
		return err_set(rc, "metrics page larger than %zu bytes", out->max);
	return 0;
}
