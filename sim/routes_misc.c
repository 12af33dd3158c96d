/*
 * routes_misc.c: the reads around the fleet: a project's operations, its
 * connection URI, consumption history, regions and the (always empty)
 * shared projects (the current user: account.c).
 *
 * Choices where Neon's behaviour is not documented:
 * - Operations: newest first, `limit` defaults to 10; the cursor is the id
 *   of the last operation sent. The sim keeps the newest SIM_OPS_KEPT
 *   finished operations, so a cursor whose operation was pruned ends the
 *   list (an empty page). `pagination` is left out when there is no cursor
 *   to give (Pagination.cursor has minLength 1).
 * - /projects/shared: the sim has no other users, so it is always empty,
 *   without `pagination` for the same reason.
 * - connection_uri: without branch_id, an endpoint_id given picks its own
 *   branch (else the default branch); an endpoint of another branch is a
 *   400; a branch without a read_write endpoint is a 404.
 * - consumption_history: `from` is rounded down to the granularity and `to`
 *   up, so that a range ending now includes the current, partial
 *   timeframe. Bad or missing parameters are 400; from >= to, or a range
 *   older than Neon keeps (168 hours hourly, 60 days daily, a year monthly,
 *   nothing before 2024-03-01) is 406. Every project is listed (deleted but
 *   recoverable ones too: their usage was billed), each with one period per
 *   calendar month (on the --plan plan, else "scale") that has timeframes
 *   with usage; written data and storage are always 0. Project pages are in creation order,
 *   the cursor is the last project's sequence number.
 */
#include <inttypes.h>
#include <microhttpd.h>
#include <string.h>
#include <time.h>

#include "sim/sim.h"

#define MAX_PROJECT_IDS 100

static json_t *ts(int64_t t)
{
	char b[32];
	sim_time_format(t, b);
	return json_string(b);
}

/* A limit query parameter, or `def`; false (400 sent) when out of range. */
static bool query_limit(sim_req *r, int64_t def, int64_t max, int64_t *out)
{
	const char *v = sim_query(r, "limit");
	*out = def;
	if (v && (str_to_i64(v, out) != 0 || *out < 1 || *out > max)) {
		sim_error(r, 400, "", "limit must be an integer from 1 to %" PRId64, max);
		return false;
	}
	return true;
}

/* ---------------------------------------------------------- operations */

static int ops_list(sim_req *r)
{
	sim_project *p = sim_need_project(r, 0);
	int64_t limit;
	if (!p || !query_limit(r, 10, 1000, &limit))
		return 0;
	const char *cur = sim_query(r, "cursor");
	size_t start = 0;
	if (cur && *cur) {
		start = p->nops; /* pruned or unknown: nothing older is kept */
		for (size_t i = 0; i < p->nops; i++)
			if (strcmp(p->ops[i].id, cur) == 0) {
				start = i + 1;
				break;
			}
	}
	int64_t now_ms = mono_ms();
	json_t *arr = json_array();
	size_t i;
	for (i = start; i < p->nops && (int64_t)(i - start) < limit; i++)
		json_array_append_new(arr, sim_render_op(&p->ops[i], p->id, now_ms));
	json_t *out = json_object();
	json_object_set_new(out, "operations", arr);
	const char *next = i > start ? p->ops[i - 1].id : cur && *cur ? cur : NULL;
	if (next) {
		json_t *pg = json_object();
		json_object_set_new(pg, "cursor", json_string(next));
		json_object_set_new(out, "pagination", pg);
	}
	return sim_reply(r, 200, out);
}

static int op_get(sim_req *r)
{
	sim_project *p = sim_need_project(r, 0);
	if (!p)
		return 0;
	for (size_t i = 0; i < p->nops; i++)
		if (strcmp(p->ops[i].id, r->params[1]) == 0) {
			json_t *out = json_object();
			json_object_set_new(out, "operation", sim_render_op(&p->ops[i], p->id, mono_ms()));
			return sim_reply(r, 200, out);
		}
	return sim_error(r, 404, "", "operation not found");
}

/* ------------------------------------------------- regions, shared list */

static int regions(sim_req *r)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < SIM_NREGIONS; i++) {
		const sim_region *g = &SIM_REGIONS[i];
		json_t *o = json_object();
		json_object_set_new(o, "region_id", json_string(g->id));
		json_object_set_new(o, "name", json_string(g->name));
		json_object_set_new(o, "default", json_boolean(strcmp(g->id, "aws-us-east-2") == 0));
		json_object_set_new(o, "geo_lat", json_string(g->lat));
		json_object_set_new(o, "geo_long", json_string(g->lng));
		json_array_append_new(arr, o);
	}
	json_t *out = json_object();
	json_object_set_new(out, "regions", arr);
	return sim_reply(r, 200, out);
}

static int shared(sim_req *r)
{
	int64_t limit;
	if (!query_limit(r, 10, 400, &limit))
		return 0;
	json_t *out = json_object();
	json_object_set_new(out, "projects", json_array());
	return sim_reply(r, 200, out);
}

/* ------------------------------------------------------ connection_uri */

static int connection_uri(sim_req *r)
{
	sim_project *p = sim_need_project(r, 0);
	if (!p)
		return 0;
	const char *bid = sim_query(r, "branch_id"), *eid = sim_query(r, "endpoint_id");
	const char *db = sim_query(r, "database_name"), *role = sim_query(r, "role_name");
	const char *pooled = sim_query(r, "pooled");
	if (!db || !*db || !role || !*role)
		return sim_error(r, 400, "", "database_name and role_name are required");
	if (pooled && strcmp(pooled, "true") != 0 && strcmp(pooled, "false") != 0)
		return sim_error(r, 400, "", "pooled must be true or false");
	sim_endpoint *e = NULL;
	if (eid && *eid && !(e = sim_endpoint_find(p, eid)))
		return sim_error(r, 404, "", "endpoint not found");
	sim_branch *b = bid && *bid ? sim_branch_find(p, bid) : sim_branch_default(p);
	if (!(bid && *bid) && e)
		b = sim_branch_find(p, e->branch_id);
	if (!b)
		return sim_error(r, 404, "", "branch not found");
	if (e && strcmp(e->branch_id, b->id) != 0)
		return sim_error(r, 400, "", "endpoint '%s' is not on branch '%s'", e->id, b->id);
	if (!e && !(e = sim_endpoint_rw(p, b->id)))
		return sim_error(r, 404, "", "branch '%s' has no read_write endpoint", b->id);
	if (!sim_db_find(b, db))
		return sim_error(r, 404, "", "database not found");
	if (!sim_role_find(b, role))
		return sim_error(r, 404, "", "role not found");
	json_t *details = sim_render_connection_uri(p, b, e, db, role, pooled && strcmp(pooled, "true") == 0);
	json_t *out = json_object();
	json_object_set(out, "uri", json_object_get(details, "connection_uri"));
	json_decref(details);
	return sim_reply(r, 200, out);
}

/* ------------------------------------------------- consumption history */

enum { HOURLY, DAILY, MONTHLY };

/* The start of the timeframe that holds t. */
static int64_t frame_floor(int g, int64_t t)
{
	if (g == HOURLY)
		return t - ((t % 3600) + 3600) % 3600;
	if (g == DAILY)
		return t - ((t % 86400) + 86400) % 86400;
	return sim_month_start(t);
}

/* The start of the timeframe after the one starting at `start`. */
static int64_t frame_next(int g, int64_t start)
{
	if (g != MONTHLY)
		return start + (g == HOURLY ? 3600 : 86400);
	return sim_months_add(start, 1);
}

/* t moved back by n months (n >= 0), at the month's start. */
static int64_t months_back(int64_t t, int n)
{
	return sim_months_add(sim_month_start(t), -n);
}

typedef struct frame {
	int64_t start, hours, active, compute; /* hours: those with usage */
} frame;

static int frame_cmp(const void *a, const void *b)
{
	const frame *x = a, *y = b;
	return (x->start > y->start) - (x->start < y->start);
}

/* project_ids, repeated and/or comma separated, gathered by MHD. */
typedef struct id_list {
	char *ids[MAX_PROJECT_IDS + 1];
	size_t n;
	bool bad;
} id_list;

static enum MHD_Result collect_id(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	id_list *l = cls;
	if (strcmp(key, "project_ids") != 0 || !value)
		return MHD_YES;
	for (const char *p = value; *p && !l->bad;) {
		size_t len = strcspn(p, ",");
		if (len == 0 || len > 60 || strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789-") < len ||
		    l->n == MAX_PROJECT_IDS)
			l->bad = true;
		else
			l->ids[l->n++] = xstrndup(p, len);
		p += len;
		if (*p == ',')
			p++;
	}
	return MHD_YES;
}

static bool id_wanted(const id_list *l, const char *id)
{
	if (!l->n)
		return true;
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->ids[i], id) == 0)
			return true;
	return false;
}

/* The metrics asked for beyond the four always sent (all zero in the sim). */
static const char *const EXTRA_METRICS[] = {"data_storage_bytes_hour", "logical_size_bytes",
					    "logical_size_bytes_hour"};

static bool check_metrics(sim_req *r, bool extra[3])
{
	static const char *const BASE[] = {"active_time_seconds", "compute_time_seconds", "written_data_bytes",
					   "synthetic_storage_size_bytes"};
	const char *m = sim_query(r, "metrics"), *v1 = sim_query(r, "include_v1_metrics");
	memset(extra, 0, 3 * sizeof(bool));
	if (!m) {
		extra[0] = v1 && strcmp(v1, "true") == 0;
		return true;
	}
	for (const char *p = m; *p;) {
		size_t len = strcspn(p, ","), k;
		bool known = false;
		for (k = 0; k < ARRAY_LEN(BASE); k++)
			known = known || (strlen(BASE[k]) == len && strncmp(BASE[k], p, len) == 0);
		for (k = 0; k < ARRAY_LEN(EXTRA_METRICS); k++)
			if (strlen(EXTRA_METRICS[k]) == len && strncmp(EXTRA_METRICS[k], p, len) == 0)
				known = extra[k] = true;
		if (!known) {
			sim_error(r, 400, "", "unknown metric '%.*s'", (int)len, p);
			return false;
		}
		p += len + (p[len] == ',');
	}
	return true;
}

/* A stable UUID for a project's billing period. */
static json_t *period_id(const char *project_id, int64_t start)
{
	char *seed = xasprintf("%s/%" PRId64, project_id, start), hex[SHA256_HEX_LEN + 1], out[37];
	sha256_hex(seed, strlen(seed), hex);
	free(seed);
	snprintf(out, sizeof(out), "%.8s-%.4s-4%.3s-8%.3s-%.12s", hex, hex + 8, hex + 13, hex + 17, hex + 20);
	return json_string(out);
}

/* Append a billing period starting at `month` to periods: its consumption
 * array (borrowed). */
static json_t *period_open(json_t *periods, const char *project_id, int64_t month, int64_t now, const char *plan)
{
	json_t *po = json_object(), *cons = json_array();
	json_object_set_new(po, "period_id", period_id(project_id, month));
	json_object_set_new(po, "period_plan", json_string(plan));
	json_object_set_new(po, "period_start", ts(month));
	if (frame_next(MONTHLY, month) <= now) /* past periods only */
		json_object_set_new(po, "period_end", ts(frame_next(MONTHLY, month)));
	json_object_set_new(po, "consumption", cons);
	json_array_append_new(periods, po);
	return cons;
}

/* p's usage in [from, to) summed by timeframe, oldest first: heap, *n of them. */
static frame *frames_of(const sim_project *p, int g, int64_t from, int64_t to, size_t *n)
{
	frame *fr = xcalloc(p->nusage + 1, sizeof(*fr));
	*n = 0;
	for (size_t i = 0; i < p->nusage; i++) {
		const sim_usage *u = &p->usage[i];
		if (u->hour < from || u->hour >= to || (!u->active_seconds && !u->compute_seconds))
			continue;
		int64_t start = frame_floor(g, u->hour);
		size_t k;
		for (k = 0; k < *n && fr[k].start != start; k++)
			;
		if (k == *n)
			fr[(*n)++].start = start;
		fr[k].hours++;
		fr[k].active += u->active_seconds;
		fr[k].compute += u->compute_seconds;
	}
	qsort(fr, *n, sizeof(*fr), frame_cmp);
	return fr;
}

/* One project's periods: its usage in [from, to) by timeframe. */
static json_t *periods_of(sim_project *p, int g, int64_t from, int64_t to, int64_t now, const bool extra[3],
			  const char *plan)
{
	size_t n;
	frame *fr = frames_of(p, g, from, to, &n);
	json_t *periods = json_array(), *cons = NULL;
	int64_t pstart = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t month = frame_floor(MONTHLY, fr[i].start);
		if (!cons || month != pstart) {
			pstart = month;
			cons = period_open(periods, p->id, month, now, plan);
		}
		json_t *c = json_object();
		json_object_set_new(c, "timeframe_start", ts(fr[i].start));
		json_object_set_new(c, "timeframe_end", ts(frame_next(g, fr[i].start)));
		json_object_set_new(c, "active_time_seconds", json_integer(fr[i].active));
		json_object_set_new(c, "compute_time_seconds", json_integer(fr[i].compute));
		json_object_set_new(c, "written_data_bytes", json_integer(0));
		json_object_set_new(c, "synthetic_storage_size_bytes", json_integer(0));
		for (size_t k = 0; k < ARRAY_LEN(EXTRA_METRICS); k++)
			if (extra[k])
				json_object_set_new(c, EXTRA_METRICS[k], json_integer(0));
		json_array_append_new(cons, c);
	}
	free(fr);
	return periods;
}

static bool consumption_range(sim_req *r, int *g, int64_t *from, int64_t *to);

/* Send a page of projects (arr, stolen) with the cursor after `last` (0:
 * none shown, no pagination), and free the ids. */
static int page_reply(sim_req *r, id_list *ids, json_t *arr, uint64_t last)
{
	for (size_t i = 0; i < ids->n; i++)
		free(ids->ids[i]);
	json_t *out = json_object();
	json_object_set_new(out, "projects", arr);
	if (last) {
		char c[24];
		snprintf(c, sizeof(c), "%" PRIu64, last);
		json_object_set_new(out, "pagination", json_pack("{s:s}", "cursor", c));
	}
	return sim_reply(r, 200, out);
}

static int consumption(sim_req *r)
{
	sim_store *s = r->s;
	int64_t from, to, limit, cursor = 0;
	int g;
	const char *cur = sim_query(r, "cursor");
	if (!query_limit(r, 10, 100, &limit))
		return 0;
	if (cur && *cur && (str_to_i64(cur, &cursor) != 0 || cursor < 0))
		return sim_error(r, 400, "", "cursor is not valid");
	bool extra[3];
	if (!check_metrics(r, extra) || !consumption_range(r, &g, &from, &to))
		return 0;
	int64_t now = sim_now(s);
	id_list ids;
	memset(&ids, 0, sizeof(ids));
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_id, &ids);
	if (ids.bad) {
		for (size_t i = 0; i < ids.n; i++)
			free(ids.ids[i]);
		return sim_error(r, 400, "", "project_ids must be at most %d project ids, comma separated",
				 MAX_PROJECT_IDS);
	}

	json_t *arr = json_array();
	uint64_t last = 0;
	int64_t shown = 0;
	for (size_t i = 0; i < s->nprojects && shown < limit; i++) {
		sim_project *p = s->projects[i];
		if (!p || p->seq <= (uint64_t)cursor || !id_wanted(&ids, p->id))
			continue;
		sim_project_accrue(s, p, now);
		json_t *o = json_object();
		json_object_set_new(o, "project_id", json_string(p->id));
		json_object_set_new(o, "periods", periods_of(p, g, from, to, now, extra, sim_plan_name(s->cfg)));
		json_array_append_new(arr, o);
		last = p->seq;
		shown++;
	}
	return page_reply(r, &ids, arr, shown ? last : 0);
}

/* ---------------------------------------------- consumption history, v2 */

/*
 * GET /consumption_history/v2/projects: the same accounting by timeframe,
 * as the v2 metrics. The sim's usage is deterministic given its hourly
 * record (sim_usage), so a test can compute every figure from v1's:
 * - compute_unit_seconds: the compute seconds (CPU seconds at min_cu);
 * - root_branch_bytes_month: 30 MiB (every branch's logical size) for each
 *   hour with usage, as a share of a 720-hour month: 43690 an hour;
 * - public_network_transfer_bytes: 1 KiB for each active second;
 * - the others (child_branch_bytes_month, instant_restore_bytes_month,
 *   private_network_transfer_bytes, extra_branches_month,
 *   snapshot_storage_bytes_month): 0.
 * org_id and metrics are required (400); an organization not the key's is
 * a 404; on --plan free the route is a 403. Pages are newest project first
 * (the document's order); the cursor is the last project's sequence number.
 */
#define V2_STORAGE_PER_HOUR 43690 /* 30 MiB / 720 */
#define V2_TRANSFER_PER_SECOND 1024

static const char *const V2_METRICS[] = {
	"compute_unit_seconds",          "root_branch_bytes_month",
	"child_branch_bytes_month",      "instant_restore_bytes_month",
	"public_network_transfer_bytes", "private_network_transfer_bytes",
	"extra_branches_month",          "snapshot_storage_bytes_month",
};
#define V2_NMETRICS 8

/* The metrics asked for, in the order asked (repeats kept once): false
 * after a 400 for a missing or unknown one. */
static bool v2_metrics(sim_req *r, int want[V2_NMETRICS], size_t *nwant)
{
	const char *m = sim_query(r, "metrics");
	*nwant = 0;
	if (!m || !*m) {
		sim_error(r, 400, "", "metrics is required: one or more of compute_unit_seconds, "
				      "root_branch_bytes_month, public_network_transfer_bytes, …");
		return false;
	}
	for (const char *p = m; *p;) {
		size_t len = strcspn(p, ","), k;
		for (k = 0; k < V2_NMETRICS && !(strlen(V2_METRICS[k]) == len && strncmp(V2_METRICS[k], p, len) == 0); k++)
			;
		if (k == V2_NMETRICS) {
			sim_error(r, 400, "", "unknown metric '%.*s'", (int)len, p);
			return false;
		}
		bool seen = false;
		for (size_t i = 0; i < *nwant; i++)
			seen = seen || want[i] == (int)k;
		if (!seen)
			want[(*nwant)++] = (int)k;
		p += len + (p[len] == ',');
	}
	return true;
}

static int64_t v2_value(const frame *f, int metric)
{
	switch (metric) {
	case 0: return f->compute;
	case 1: return f->hours * V2_STORAGE_PER_HOUR;
	case 4: return f->active * V2_TRANSFER_PER_SECOND;
	default: return 0;
	}
}

/* One project's periods in v2's shape: its usage in [from, to) by timeframe. */
static json_t *periods_v2(sim_project *p, int g, int64_t from, int64_t to, int64_t now, const int *want,
			  size_t nwant, const char *plan)
{
	size_t n;
	frame *fr = frames_of(p, g, from, to, &n);
	json_t *periods = json_array(), *cons = NULL;
	int64_t pstart = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t month = frame_floor(MONTHLY, fr[i].start);
		if (!cons || month != pstart) {
			pstart = month;
			cons = period_open(periods, p->id, month, now, plan);
		}
		json_t *c = json_object(), *ms = json_array();
		json_object_set_new(c, "timeframe_start", ts(fr[i].start));
		json_object_set_new(c, "timeframe_end", ts(frame_next(g, fr[i].start)));
		for (size_t k = 0; k < nwant; k++)
			json_array_append_new(ms, json_pack("{s:s, s:I}", "metric_name", V2_METRICS[want[k]], "value",
							    (json_int_t)v2_value(&fr[i], want[k])));
		json_object_set_new(c, "metrics", ms);
		json_array_append_new(cons, c);
	}
	free(fr);
	return periods;
}

/* The period asked for, rounded to the granularity: false after a 400 or
 * 406 (the same rules as v1's). */
static bool consumption_range(sim_req *r, int *g, int64_t *from, int64_t *to)
{
	static const char *const GRAN[] = {"hourly", "daily", "monthly"};
	const char *fs = sim_query(r, "from"), *tos = sim_query(r, "to"), *gs = sim_query(r, "granularity");
	if (!fs || !tos || sim_time_parse(fs, from) != 0 || sim_time_parse(tos, to) != 0) {
		sim_error(r, 400, "", "from and to are required RFC 3339 date-times, such as 2024-03-15T00:00:00Z");
		return false;
	}
	for (*g = 0; *g < 3 && !(gs && strcmp(gs, GRAN[*g]) == 0); (*g)++)
		;
	if (*g == 3) {
		sim_error(r, 400, "", "granularity is required: 'hourly', 'daily' or 'monthly'");
		return false;
	}
	if (*from >= *to) {
		sim_error(r, 406, "", "from (%s) must be before to (%s)", fs, tos);
		return false;
	}
	int64_t now = sim_now(r->s);
	*from = frame_floor(*g, *from);
	if (frame_floor(*g, *to) != *to)
		*to = frame_next(*g, frame_floor(*g, *to));
	int64_t oldest = *g == HOURLY ? frame_floor(HOURLY, now) - 168 * 3600
			 : *g == DAILY ? frame_floor(DAILY, now) - 60 * 86400
				       : months_back(now, 12);
	if (*from < oldest || *from < 1709251200 /* 2024-03-01 */) {
		char o[32];
		sim_time_format(oldest > 1709251200 ? oldest : 1709251200, o);
		sim_error(r, 406, "", "%s consumption is kept from %s on: from is older", GRAN[*g], o);
		return false;
	}
	return true;
}

static int consumption_v2(sim_req *r)
{
	sim_store *s = r->s;
	const char *org = sim_query(r, "org_id"), *cur = sim_query(r, "cursor");
	int64_t from, to, limit, cursor = INT64_MAX;
	int g, want[V2_NMETRICS];
	size_t nwant;
	if (s->cfg->plan && strcmp(s->cfg->plan->name, "free") == 0)
		return sim_error(r, 403, "", "project consumption history requires a Launch, Scale, Agent, Business or "
					     "Enterprise plan");
	if (!org || !sim_org_id_valid(org))
		return sim_error(r, 400, "", "org_id is required: the organization's id");
	bool known = false;
	for (size_t i = 0; i < s->cfg->norg_ids; i++)
		known = known || strcmp(s->cfg->org_ids[i], org) == 0;
	if (!known)
		return sim_error(r, 404, "", "account is not a member of organization '%s'", org);
	if (!query_limit(r, 10, 100, &limit))
		return 0;
	if (cur && *cur && (str_to_i64(cur, &cursor) != 0 || cursor < 0))
		return sim_error(r, 400, "", "cursor is not valid");
	if (!v2_metrics(r, want, &nwant) || !consumption_range(r, &g, &from, &to))
		return 0;
	id_list ids;
	memset(&ids, 0, sizeof(ids));
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_id, &ids);
	if (ids.bad) {
		for (size_t i = 0; i < ids.n; i++)
			free(ids.ids[i]);
		return sim_error(r, 400, "", "project_ids must be at most %d project ids, comma separated",
				 MAX_PROJECT_IDS);
	}
	int64_t now = sim_now(s), shown = 0;
	json_t *arr = json_array();
	uint64_t last = 0;
	for (size_t i = s->nprojects; i-- > 0 && shown < limit;) {
		sim_project *p = s->projects[i];
		if (!p || p->seq >= (uint64_t)cursor || !id_wanted(&ids, p->id) || (p->org_id && strcmp(p->org_id, org)))
			continue;
		sim_project_accrue(s, p, now);
		json_t *o = json_object();
		json_object_set_new(o, "project_id", json_string(p->id));
		json_object_set_new(o, "periods", periods_v2(p, g, from, to, now, want, nwant, sim_plan_name(s->cfg)));
		json_array_append_new(arr, o);
		last = p->seq;
		shown++;
	}
	return page_reply(r, &ids, arr, shown ? last : 0);
}

const sim_route SIM_ROUTES_MISC[] = {
	{"GET", "/projects/{project_id}/operations", ops_list, false},
	{"GET", "/projects/{project_id}/operations/{operation_id}", op_get, false},
	{"GET", "/projects/{project_id}/connection_uri", connection_uri, false},
	{"GET", "/projects/shared", shared, false},
	{"GET", "/regions", regions, false},
	{"GET", "/consumption_history/projects", consumption, false},
	{"GET", "/consumption_history/v2/projects", consumption_v2, false},
	{NULL, NULL, NULL, false},
};
