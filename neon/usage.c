/*
 * usage.c: per-project consumption (`flotilla usage`), from GET
 * /consumption_history/v2/projects: up to 100 projects a call, named by
 * project_ids, summed over every period and timeframe of the range.
 *
 * A batch names at most 100 projects and asks limit=100, so one page
 * normally answers it; a cursor is followed only while projects of the
 * batch are still missing (the API may leave a cursor on the last page,
 * docs/neon-api.md "Paging"), which keeps the calls at ceil(N/100).
 */
#include <string.h>

#include "neon/internal.h"

#define USAGE_BATCH 100

/* The v2 metrics flotilla reads, in this order in every request. */
static const char USAGE_METRICS[] =
	"compute_unit_seconds,root_branch_bytes_month,child_branch_bytes_month,public_network_transfer_bytes";

typedef struct usage_job {
	neon_client *c;
	neon_usage_req rq;      /* strings owned */
	char **ids;             /* owned */
	size_t n;
	neon_usage *items;      /* one per id, in ids' order */
	bool *seen;
	char *cursor;
	int pages;
	neon_usage_fn done;
	void *arg;
} usage_job;

void neon_usage_release(neon_usage *u)
{
	if (!u)
		return;
	free(u->project_id);
	memset(u, 0, sizeof(*u));
}

/* Add one timeframe's metrics to u. */
static int add_metrics(const json_t *metrics, const char *where, neon_usage *u)
{
	size_t i;
	const json_t *m;
	if (!json_is_array(metrics))
		return err_set(ERR_INVALID, "%s: metrics is not an array", where);
	json_array_foreach(metrics, i, m) {
		const char *name = json_string_value(json_object_get(m, "metric_name"));
		const json_t *v = json_object_get(m, "value");
		if (!name || !json_is_integer(v))
			return err_set(ERR_INVALID, "%s: metrics[%zu] needs a metric_name and an integer value", where, i);
		int64_t x = json_integer_value(v);
		if (strcmp(name, "compute_unit_seconds") == 0)
			u->compute_unit_seconds += x;
		else if (strcmp(name, "root_branch_bytes_month") == 0 || strcmp(name, "child_branch_bytes_month") == 0)
			u->storage_bytes_month += x;
		else if (strcmp(name, "public_network_transfer_bytes") == 0)
			u->transfer_bytes += x;
	}
	return 0;
}

int neon_usage_parse(const json_t *project, const char *where, neon_usage *out)
{
	memset(out, 0, sizeof(*out));
	const char *id = json_string_value(json_object_get(project, "project_id"));
	const json_t *periods = json_object_get(project, "periods"), *p, *c;
	size_t i, k;
	if (!id || !json_is_array(periods))
		return err_set(ERR_INVALID, "%s: project_id and periods are required", where);
	neon_usage u = {.project_id = xstrdup(id)};
	json_array_foreach(periods, i, p) {
		const json_t *cons = json_object_get(p, "consumption");
		if (!json_is_array(cons)) {
			neon_usage_release(&u);
			return err_set(ERR_INVALID, "%s: periods[%zu].consumption is not an array", where, i);
		}
		json_array_foreach(cons, k, c) {
			if (add_metrics(json_object_get(c, "metrics"), where, &u) != 0) {
				neon_usage_release(&u);
				return ERR_INVALID;
			}
		}
	}
	*out = u;
	return 0;
}

static void job_free(usage_job *j)
{
	for (size_t i = 0; i < j->n; i++) {
		free(j->ids[i]);
		neon_usage_release(&j->items[i]);
	}
	free(j->ids);
	free(j->items);
	free(j->seen);
	free(j->cursor);
	free((char *)j->rq.from);
	free((char *)j->rq.to);
	free((char *)j->rq.granularity);
	free(j);
}

static void finish(usage_job *j, int rc, int status, const char *error)
{
	j->done(j->arg, rc, rc == 0 ? j->items : NULL, rc == 0 ? j->n : 0, status, error);
	job_free(j);
}

/* Why a failed call failed, in words that say what to do. */
static void explain(const neon_result *res, char *out, size_t cap)
{
	const char *why = res->status == 403 ? "consumption history needs a Launch, Scale, Agent, Business or "
					       "Enterprise plan"
			  : res->status == 404 ? "the API key is not a member of the organization (spec.orgId)"
			  : res->status == 406 ? "Neon does not keep that range at this granularity (hourly: the last "
						 "168 hours, daily: 60 days, monthly: a year, none before 2024-03-01)"
			  : res->status == 429 ? "rate limited after every retry: lower --rate and try again"
					       : NULL;
	snprintf(out, cap, "GET /consumption_history/v2/projects: %s%s%s (request %s)", why ? why : "", why ? ": " : "",
		 res->message, res->request_id[0] ? res->request_id : "none");
}

static void submit_page(usage_job *j);

/* Take a page's projects into the job's items; the ids not asked for are ignored. */
static int take_page(usage_job *j, const json_t *body, size_t *got)
{
	const json_t *arr = json_object_get(body, "projects"), *p;
	size_t i;
	*got = 0;
	if (!json_is_array(arr))
		return err_set(ERR_INVALID, "GET /consumption_history/v2/projects: the answer has no projects array");
	json_array_foreach(arr, i, p) {
		char where[96];
		neon_usage u;
		snprintf(where, sizeof(where), "GET /consumption_history/v2/projects: projects[%zu]", i);
		if (neon_usage_parse(p, where, &u) != 0)
			return ERR_INVALID;
		for (size_t k = 0; k < j->n; k++)
			if (!j->seen[k] && strcmp(j->ids[k], u.project_id) == 0) {
				neon_usage_release(&j->items[k]);
				j->items[k] = u;
				j->seen[k] = true;
				memset(&u, 0, sizeof(u));
				(*got)++;
				break;
			}
		neon_usage_release(&u);
	}
	return 0;
}

static void on_page(void *arg, neon_result *res)
{
	usage_job *j = arg;
	char why[768];
	size_t got;
	if (res->outcome != NEON_OK) {
		explain(res, why, sizeof(why));
		finish(j, neon__outcome_rc(res), res->status, why);
		return;
	}
	if (take_page(j, res->body, &got) != 0) {
		finish(j, ERR_INVALID, res->status, err_msg());
		return;
	}
	size_t missing = 0;
	for (size_t k = 0; k < j->n; k++)
		missing += !j->seen[k];
	const char *next = json_string_value(json_object_get(json_object_get(res->body, "pagination"), "cursor"));
	free(j->cursor);
	j->cursor = next && *next ? xstrdup(next) : NULL;
	/* a project with no usage in the range may be left out: that is 0, not
	 * a reason to page on once a page came back short or without a cursor */
	if (missing && j->cursor && got > 0 && j->pages < 1000) {
		submit_page(j);
		return;
	}
	finish(j, 0, res->status, NULL);
}

static void submit_page(usage_job *j)
{
	buf path = BUF_INIT(0);
	int rc = buf_printf(&path, "/consumption_history/v2/projects?org_id=");
	rc = rc ? rc : neon__query_escape(&path, neon_client_org(j->c));
	rc = rc ? rc : buf_printf(&path, "&metrics=%s&granularity=%s&limit=%d&from=", USAGE_METRICS,
				  j->rq.granularity, USAGE_BATCH);
	rc = rc ? rc : neon__query_escape(&path, j->rq.from);
	rc = rc ? rc : buf_adds(&path, "&to=");
	rc = rc ? rc : neon__query_escape(&path, j->rq.to);
	rc = rc ? rc : buf_adds(&path, "&project_ids=");
	for (size_t i = 0; rc == 0 && i < j->n; i++)
		rc = buf_printf(&path, "%s%s", i ? "," : "", j->ids[i]);
	if (rc == 0 && j->cursor) {
		rc = buf_adds(&path, "&cursor=");
		rc = rc ? rc : neon__query_escape(&path, j->cursor);
	}
	if (rc != 0) {
		buf_release(&path);
		finish(j, ERR_FAIL, 0, "GET /consumption_history/v2/projects: cannot build the path");
		return;
	}
	j->pages++;
	neon_submit(j->c, "GET", path.data, NULL, false, on_page, j);
	buf_release(&path);
}

void neon_usage_submit(neon_client *c, const neon_usage_req *rq, const char *const *ids, size_t n,
		       neon_usage_fn done, void *arg)
{
	usage_job *j = xcalloc(1, sizeof(*j));
	j->c = c;
	j->done = done;
	j->arg = arg;
	j->rq.from = xstrdup(rq->from);
	j->rq.to = xstrdup(rq->to);
	j->rq.granularity = xstrdup(rq->granularity ? rq->granularity : "monthly");
	j->n = n;
	j->ids = xcalloc(n + 1, sizeof(*j->ids));
	j->items = xcalloc(n + 1, sizeof(*j->items));
	j->seen = xcalloc(n + 1, sizeof(*j->seen));
	for (size_t i = 0; i < n; i++) {
		j->ids[i] = xstrdup(ids[i]);
		j->items[i].project_id = xstrdup(ids[i]);
	}
	if (n == 0 || n > USAGE_BATCH || !neon_client_org(c)) {
		finish(j, ERR_INVALID, 0, n == 0 || n > USAGE_BATCH
			? "GET /consumption_history/v2/projects: a batch names 1 to 100 projects"
			: "GET /consumption_history/v2/projects: org_id is required: set spec.orgId in flotilla.yaml "
			  "(your organization's id, from the Neon console's organization settings)");
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (!neon__id_valid(ids[i])) {
			char why[160];
			snprintf(why, sizeof(why), "GET /consumption_history/v2/projects: '%s' is not a valid project id",
				 ids[i]);
			finish(j, ERR_INVALID, 0, why);
			return;
		}
	submit_page(j);
}
