/*
 * idle.c: idle tenants (issue 17, item 5), for `flotilla status --idle`
 * and the daemon's flotilla_tenants_idle metric. Read from the state
 * alone: the list refresh keeps each project's compute_last_active_at and
 * synthetic_storage_size (schema 9); a project Neon shows no activity for
 * counts as idle since it was created. One walk over the tenant map, a
 * page of rows at a time, each row joined with its cached project. What
 * the idle ones cost (idle_costs) takes one more walk, over the recorded
 * usage periods, by tenant.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

#define IDLE_PAGE 1000

const int64_t IDLE_BUCKET_SECONDS[IDLE_NBUCKETS] = {7 * 86400, 30 * 86400, 90 * 86400};
const char *const IDLE_BUCKET_NAMES[IDLE_NBUCKETS] = {"7d", "30d", "90d"};

bool idle_parse_time(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, sec, n = 0;
	*out = 0;
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19)
		return false;
	const char *p = s + n;
	if (*p == '.') /* a fraction: seconds are enough */
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	int64_t offset = 0;
	if (*p == '+' || *p == '-') {
		int oh, om, m = 0;
		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &m) != 2 || m != 5)
			return false;
		offset = (*p == '-' ? -1 : 1) * (int64_t)(oh * 3600 + om * 60);
		p += 6;
	} else if (*p == 'Z' || *p == 'z') {
		p++;
	} else {
		return false;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return false;
	*out = unit_utc_seconds(y, mo, d, h, mi, sec) - offset;
	return true;
}

void idle_report_release(idle_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].tenant);
		free(r->v[i].project_id);
		free(r->v[i].since);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

typedef struct idle_walk {
	idle_report *r;
	int64_t now, min_idle;
	char last[128];             /* the page's last tenant, where the next starts */
	size_t rows;
} idle_walk;

static int idle_row(void *arg, const state_tenant_row *row)
{
	idle_walk *w = arg;
	idle_report *r = w->r;
	str_copy(w->last, row->t.tenant, sizeof(w->last));
	w->rows++;
	r->mapped++;
	bool never = !row->compute_last_active_at;
	const char *since = never ? row->created_at : row->compute_last_active_at;
	int64_t at;
	if (!row->cached || !idle_parse_time(since, &at)) {
		r->unknown++;
		return 0;
	}
	int64_t idle = w->now > at ? w->now - at : 0;
	for (int k = 0; k < IDLE_NBUCKETS; k++)
		if (idle >= IDLE_BUCKET_SECONDS[k])
			r->buckets[k]++;
	if (w->min_idle < 0 || idle < w->min_idle)
		return 0;
	if (r->n == r->cap)
		r->v = xgrow(r->v, &r->cap, r->n + 1, sizeof(*r->v));
	r->v[r->n++] = (idle_tenant){xstrdup(row->t.tenant), xstrdup(row->t.project_id), xstrdup(since), never, idle,
				     row->synthetic_storage_size, -1, false, 0, 0}; /* costs: idle_costs */
	return 0;
}

static int most_idle_first(const void *a, const void *b)
{
	const idle_tenant *x = a, *y = b;
	if (x->idle_seconds != y->idle_seconds)
		return x->idle_seconds > y->idle_seconds ? -1 : 1;
	return strcmp(x->tenant, y->tenant);
}

int idle_scan(state *st, int64_t now, int64_t min_idle, idle_report *out)
{
	memset(out, 0, sizeof(*out));
	idle_walk w = {.r = out, .now = now, .min_idle = min_idle};
	int rc;
	do {
		char after[sizeof(w.last)];
		str_copy(after, w.last, sizeof(after));
		w.rows = 0;
		rc = state_tenant_rows_page(st, after, IDLE_PAGE, idle_row, &w);
	} while (rc == 0 && w.rows == IDLE_PAGE);
	if (rc != 0) {
		idle_report_release(out);
		return rc;
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), most_idle_first);
	return 0;
}

/* ------------------------------------------------ what they cost */

typedef struct cost_walk {
	idle_tenant **index;        /* the report's tenants by name */
	size_t n;
	const spec_prices *p;
} cost_walk;

static int by_name(const void *a, const void *b)
{
	return strcmp((*(idle_tenant *const *)a)->tenant, (*(idle_tenant *const *)b)->tenant);
}

static int name_key(const void *key, const void *elem)
{
	return strcmp(key, (*(idle_tenant *const *)elem)->tenant);
}

static int cost_row(void *arg, const state_usage *u)
{
	cost_walk *w = arg;
	idle_tenant **hit = bsearch(u->tenant, w->index, w->n, sizeof(*w->index), name_key);
	if (hit) {
		(*hit)->period_known = true;
		(*hit)->period_start = u->period_start;
		(*hit)->period_cost = usage_cost(w->p, u->compute_unit_seconds, u->storage_bytes_month, u->transfer_bytes);
	}
	return 0;
}

int idle_costs(state *st, const spec_prices *p, idle_report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		idle_tenant *t = &r->v[i];
		t->storage_cost_month = t->storage_bytes >= 0 ? usage_cost(p, 0, t->storage_bytes, 0) : -1;
		t->period_known = false;
	}
	if (!r->n)
		return 0;
	/* the usage walk goes by tenant over the whole fleet; the idle few are
	 * looked up in it */
	cost_walk w = {xcalloc(r->n, sizeof(*w.index)), r->n, p};
	for (size_t i = 0; i < r->n; i++)
		w.index[i] = &r->v[i];
	if (r->n > 1)
		qsort(w.index, r->n, sizeof(*w.index), by_name);
	int rc = state_usage_foreach(st, cost_row, &w);
	free(w.index);
	return rc ? err_set(rc, "cannot read the tenants' usage: %s", err_msg()) : 0;
}
