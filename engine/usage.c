/*
 * usage.c: what each tenant used (`flotilla usage`): the project list
 * (GET /projects, 400 a page: each project's active_time and
 * synthetic_storage_size of the current period) and the consumption API
 * (GET /consumption_history/v2/projects, 100 projects a call: compute,
 * storage and transfer over the range asked). Calls: ceil(P/400) + ceil(N/100)
 * for N tenants in an account of P projects, all through the client's
 * rate budget; the batches run side by side (max_in_flight).
 */
#include <string.h>

#include "engine/internal.h"

#define LIST_PAGE 400

typedef struct collect {
	usage_result *out;
	const spec_fleet *fleet;
	const plan_selector *sel;
} collect;

/* sel on the tenant's merged spec and labels; one without a manifest (an
 * orphan) by its name only, as plan selects. */
static bool selected(const collect *c, const char *name)
{
	if (!c->sel)
		return true;
	const spec_tenant *t = c->fleet ? spec_fleet_tenant_find(c->fleet, name) : NULL;
	if (!t)
		return plan_selector_match(c->sel, name, NULL, NULL);
	spec_values sv;
	spec_tenant_resolve(c->fleet, t, &sv);
	return plan_selector_match(c->sel, name, &sv, t->labels);
}

static int take_tenant(void *arg, const state_tenant *t)
{
	collect *c = arg;
	if (!selected(c, t->tenant))
		return 0;
	usage_result *r = c->out;
	if (r->n == r->cap)
		r->rows = xgrow(r->rows, &r->cap, r->n + 1, sizeof(*r->rows));
	usage_row *row = &r->rows[r->n++];
	memset(row, 0, sizeof(*row));
	row->tenant = xstrdup(t->tenant);
	row->project_id = xstrdup(t->project_id);
	return 0;
}

static int row_by_project(const void *key, const void *elem)
{
	return strcmp(key, (*(usage_row *const *)elem)->project_id);
}

static int by_project(const void *a, const void *b)
{
	return strcmp((*(usage_row *const *)a)->project_id, (*(usage_row *const *)b)->project_id);
}

/* The list's current-period figures, into the rows (index sorted by project). */
static int read_list(neon_client *c, usage_row **index, size_t n, usage_result *out)
{
	char *cursor = NULL;
	int rc = 0;
	do {
		neon_project_page page;
		neon_result res;
		memset(&res, 0, sizeof(res));
		rc = neon_projects_page(c, cursor, LIST_PAGE, NULL, false, &page, &res);
		out->list_calls++;
		neon_result_release(&res);
		free(cursor);
		cursor = NULL;
		if (rc != 0)
			break;
		for (size_t i = 0; i < page.n; i++) {
			usage_row **hit = bsearch(page.items[i].id, index, n, sizeof(*index), row_by_project);
			if (!hit)
				continue;
			const json_t *j = page.items[i].json;
			(*hit)->listed = true;
			(*hit)->active_seconds = json_integer_value(json_object_get(j, "active_time"));
			(*hit)->storage_bytes = json_integer_value(json_object_get(j, "synthetic_storage_size"));
		}
		cursor = page.next ? xstrdup(page.next) : NULL;
		neon_project_page_release(&page);
	} while (cursor);
	return rc;
}

typedef struct batch {
	usage_row **rows;      /* borrowed from the index */
	size_t n;
	usage_result *out;
	engine__progress *prog;
	bool ok;               /* answered */
} batch;

static void on_batch(void *arg, int rc, const neon_usage *items, size_t n, int status, const char *error)
{
	batch *b = arg;
	b->out->usage_calls++;
	if (rc != 0) {
		if (!b->out->rc) {
			b->out->rc = rc;
			b->out->status = status;
			snprintf(b->out->error, sizeof(b->out->error), "%s", error ? error : "failed");
		}
		return;
	}
	b->ok = true;
	for (size_t i = 0; i < n && i < b->n; i++) {
		b->rows[i]->compute_unit_seconds = items[i].compute_unit_seconds;
		b->rows[i]->storage_bytes_month = items[i].storage_bytes_month;
		b->rows[i]->transfer_bytes = items[i].transfer_bytes;
	}
	if (b->prog) { /* the daemon's pages report none */
		b->prog->done += (int64_t)n;
		engine__progress_update(b->prog, b->prog->done);
	}
}

/* The consumption figures of rows[0..n), ceil(n/100) calls side by side,
 * their progress in prog (NULL: none); answered[k] (or NULL) says whether
 * row k's batch was answered. */
static void read_batches(neon_client *c, const neon_usage_req *rq, usage_row **rows, size_t n, usage_result *out,
			 engine__progress *prog, bool *answered)
{
	size_t nb = (n + USAGE_BATCH - 1) / USAGE_BATCH;
	batch *bs = xcalloc(nb ? nb : 1, sizeof(*bs));
	/* the first batch alone: what refuses it (403, 404, 406) refuses every
	 * batch, so the rest is sent only after it went through */
	for (size_t k = 0, first = 1; k < nb && !out->rc; first = nb) {
		for (; k < first; k++) {
			batch *b = &bs[k];
			const char *ids[USAGE_BATCH];
			b->rows = rows + k * USAGE_BATCH;
			b->n = n - k * USAGE_BATCH < USAGE_BATCH ? n - k * USAGE_BATCH : USAGE_BATCH;
			b->out = out;
			b->prog = prog;
			for (size_t i = 0; i < b->n; i++)
				ids[i] = b->rows[i]->project_id;
			neon_usage_submit(c, rq, ids, b->n, on_batch, b);
		}
		if (neon_run(c) != 0 && !out->rc) {
			out->rc = ERR_FAIL;
			snprintf(out->error, sizeof(out->error), "%s", err_msg());
		}
	}
	for (size_t k = 0; answered && k < nb; k++)
		for (size_t i = 0; i < bs[k].n; i++)
			answered[k * USAGE_BATCH + i] = bs[k].ok;
	free(bs);
}

int usage_collect(state *st, neon_client *c, const spec_fleet *fleet, const plan_selector *sel,
		  const neon_usage_req *rq, usage_result *out)
{
	memset(out, 0, sizeof(*out));
	collect col = {out, fleet, sel};
	if (state_tenants_foreach(st, take_tenant, &col) != 0)
		return err_set(ERR_FAIL, "cannot read the tenant map: %s", err_msg());
	if (!out->n)
		return 0;
	usage_row **index = xcalloc(out->n, sizeof(*index));
	for (size_t i = 0; i < out->n; i++)
		index[i] = &out->rows[i];
	qsort(index, out->n, sizeof(*index), by_project);
	int rc = read_list(c, index, out->n, out);
	if (rc != 0) {
		rc = err_set(rc, "GET /projects: %s", err_msg());
		free(index);
		return rc;
	}
	engine__progress prog = {0};
	engine__progress_start(&prog, "usage", (int64_t)out->n);
	read_batches(c, rq, index, out->n, out, &prog, NULL);
	engine__progress_end(&prog);
	free(index);
	return out->rc ? err_set(out->rc, "%s", out->error) : 0;
}

int usage_record(state *st, const usage_result *u, int64_t since, int64_t until)
{
	if (!u->n)
		return 0;
	state_usage *rows = xcalloc(u->n, sizeof(*rows));
	for (size_t i = 0; i < u->n; i++) {
		const usage_row *r = &u->rows[i];
		rows[i] = (state_usage){r->tenant, r->project_id, since, until, r->compute_unit_seconds, r->active_seconds,
					r->storage_bytes_month, r->storage_bytes, r->transfer_bytes, 0};
	}
	int rc = state_usage_put(st, rows, u->n);
	free(rows);
	return rc ? err_set(rc, "cannot keep the usage in the state: %s", err_msg()) : 0;
}

/* A page of the map for usage_refresh_page: the rows, with the list's
 * figures the cache holds. */
typedef struct page_take {
	usage_result *r;
	char *last;
} page_take;

static int take_row(void *arg, const state_tenant_row *t)
{
	page_take *pt = arg;
	usage_result *r = pt->r;
	if (r->n == r->cap)
		r->rows = xgrow(r->rows, &r->cap, r->n + 1, sizeof(*r->rows));
	usage_row *row = &r->rows[r->n++];
	memset(row, 0, sizeof(*row));
	row->tenant = xstrdup(t->t.tenant);
	row->project_id = xstrdup(t->t.project_id);
	row->listed = t->cached;
	row->active_seconds = t->active_time > 0 ? t->active_time : 0;
	row->storage_bytes = t->synthetic_storage_size > 0 ? t->synthetic_storage_size : 0;
	str_copy(pt->last, t->t.tenant, USAGE_NAME_LEN);
	return 0;
}

int usage_refresh_page(state *st, neon_client *c, const char *after, size_t limit, int64_t now, usage_page *out)
{
	memset(out, 0, sizeof(*out));
	usage_result r;
	memset(&r, 0, sizeof(r));
	page_take pt = {&r, out->last};
	if (state_tenant_rows_page(st, after, limit, take_row, &pt) != 0)
		return err_set(ERR_FAIL, "cannot read the tenant map: %s", err_msg());
	out->tenants = r.n;
	out->end = r.n < limit;
	int64_t since = unit_month_start(now);
	char from[UNIT_TIME_LEN], to[UNIT_TIME_LEN];
	unit_time_format(since, from);
	unit_time_format(now > since ? now : since + 1, to);
	neon_usage_req rq = {from, to, "monthly"};
	usage_row **rows = xcalloc(r.n ? r.n : 1, sizeof(*rows));
	bool *answered = xcalloc(r.n ? r.n : 1, sizeof(*answered));
	for (size_t i = 0; i < r.n; i++)
		rows[i] = &r.rows[i];
	read_batches(c, &rq, rows, r.n, &r, NULL, answered);
	out->calls = r.usage_calls;
	out->status = r.status;
	/* what was answered is kept, whatever befell the other batches */
	usage_result kept = {.rows = xcalloc(r.n ? r.n : 1, sizeof(usage_row))};
	for (size_t i = 0; i < r.n; i++)
		if (answered[i])
			kept.rows[kept.n++] = r.rows[i];
	int rc = usage_record(st, &kept, since, now);
	out->recorded = rc == 0 ? kept.n : 0;
	free(kept.rows); /* its strings are r's */
	free(answered);
	free(rows);
	if (rc == 0 && r.rc)
		rc = err_set(r.rc, "%s", r.error);
	usage_result_release(&r);
	return rc;
}

void usage_result_release(usage_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->rows[i].tenant);
		free(r->rows[i].project_id);
	}
	free(r->rows);
	memset(r, 0, sizeof(*r));
}

/* ----------------------------------------------- the prices a run used */

/* The meta key of the kept table: status prices idle tenants with it, as
 * it reads no manifest. */
#define PRICES_KEY "usage_prices"

double usage_cost(const spec_prices *p, int64_t compute_unit_seconds, int64_t storage_bytes_month,
		  int64_t transfer_bytes)
{
	/* millionths of the currency per CU-hour, GB-month and GB (10^9 bytes) */
	return (double)compute_unit_seconds / 3600.0 * ((double)p->cu_hour / 1e6) +
	       (double)storage_bytes_month / 1e9 * ((double)p->gb_month / 1e6) +
	       (double)transfer_bytes / 1e9 * ((double)p->transfer_gb / 1e6);
}

int usage_prices_record(state *st, const spec_prices *p)
{
	/* json_pack copies the strings; "s?" writes NULL as null */
	json_t *doc = json_pack("{s:I, s:I, s:I, s:s, s:s?, s:b}", "cu_hour", (json_int_t)p->cu_hour, "gb_month",
				(json_int_t)p->gb_month, "transfer_gb", (json_int_t)p->transfer_gb, "currency",
				p->currency ? p->currency : "USD", "as_of", p->as_of, "from_manifest", p->from_manifest);
	char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(doc);
	if (!text)
		return err_set(ERR_FAIL, "cannot render the price table");
	int rc = state_meta_set(st, PRICES_KEY, text);
	free(text);
	return rc ? err_set(rc, "cannot keep the price table in the state: %s", err_msg()) : 0;
}

/* A kept table whose every field is there and of its kind (strings
 * borrowed from doc); false for anything else. */
static bool prices_read(const json_t *doc, spec_prices *p)
{
	static const char *const names[] = {"cu_hour", "gb_month", "transfer_gb"};
	int64_t *slots[] = {&p->cu_hour, &p->gb_month, &p->transfer_gb};
	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		const json_t *v = json_object_get(doc, names[i]);
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return false;
		*slots[i] = json_integer_value(v);
	}
	const json_t *c = json_object_get(doc, "currency"), *a = json_object_get(doc, "as_of"),
		     *m = json_object_get(doc, "from_manifest");
	const char *cs = json_string_value(c), *as = json_string_value(a);
	bool ok = cs && strlen(cs) == 3 && json_is_boolean(m) && (json_is_null(a) || (as && strlen(as) == 10));
	for (size_t i = 0; ok && i < 3; i++)
		ok = cs[i] >= 'A' && cs[i] <= 'Z';
	if (!ok)
		return false;
	p->currency = cs;
	p->as_of = as;
	p->from_manifest = json_is_true(m);
	return true;
}

void usage_prices_load(state *st, spec_prices *out, char currency[8], char as_of[16])
{
	char *text = NULL;
	json_t *doc = NULL;
	spec_prices kept;
	/* a state error reads as no table: the estimate is then Neon's list */
	if (state_meta_get(st, PRICES_KEY, &text) == 0 && text)
		doc = json_loads(text, 0, NULL); /* a new reference, or NULL */
	if (!doc || !prices_read(doc, &kept))
		spec_prices_default(&kept);
	*out = kept;
	str_copy(currency, kept.currency, 8);
	out->currency = currency;
	if (kept.as_of)
		str_copy(as_of, kept.as_of, 16);
	out->as_of = kept.as_of ? as_of : NULL;
	json_decref(doc);
	free(text);
}
