/*
 * status.c: the status document, what `flotilla status --format json`
 * prints and what the daemon's status page shows (docs/daemon.md, "Status
 * page"). Built from the state file alone: no API call. Version 1:
 *
 *   version, generated_at, fleet, commit {applied, applied_at},
 *   counts {synced, out-of-sync, drifted, blocked, failed, applying}, total,
 *   tenants [{tenant, state, reason, since, project_id, fields?}] (the ones
 *   not synced, worst first, at most max_tenants), tenants_not_synced,
 *   runs [{id, command, started_at, finished_at, outcome, summary}],
 *   drift {fields: {class: drifted tenants}},
 *   preserved_branches {count, oldest [{tenant, project_id, branch,
 *   branch_id, created_at, expires_at}]} (what `flotilla restore` kept,
 *   from deep reads; the oldest STATUS_PRESERVED)
 *
 * The daemon adds rate, drift.policy, drift.tiers and commit.fetched.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/internal.h"

#define STATUS_RUNS 20
#define STATUS_PRESERVED 5

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *time_or_null(int64_t t)
{
	return t > 0 ? json_integer(t) : json_null();
}

/* One not-synced tenant; fields as the row holds them (a JSON array). */
static json_t *tenant_json(state *st, const state_sync *r)
{
	state_tenant t;
	bool mapped = state_tenant_get(st, r->tenant, &t) == 0;
	json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:o}", "tenant", r->tenant, "state", r->state, "reason",
			      r->reason ? r->reason : "", "since", time_or_null(r->since), "project_id",
			      str_or_null(mapped ? t.project_id : NULL));
	if (mapped)
		state_tenant_release(&t);
	json_t *fields = r->fields_json ? json_loads(r->fields_json, 0, NULL) : NULL;
	if (json_is_array(fields))
		json_object_set_new(o, "fields", fields);
	else
		json_decref(fields);
	return o;
}

typedef struct worst_ctx {
	state *st;
	json_t *a;
} worst_ctx;

static int add_tenant(void *arg, const state_sync *r)
{
	worst_ctx *w = arg;
	json_array_append_new(w->a, tenant_json(w->st, r));
	return 0;
}

static int add_run(void *arg, const state_run *r)
{
	json_t *sum = r->summary_json ? json_loads(r->summary_json, 0, NULL) : NULL;
	json_array_append_new(arg, json_pack("{s:I,s:o,s:o,s:o,s:o,s:o}", "id", (json_int_t)r->id, "command",
					     str_or_null(r->command), "started_at", time_or_null(r->started_at),
					     "finished_at", time_or_null(r->finished_at), "outcome",
					     str_or_null(r->outcome), "summary", sum ? sum : json_null()));
	return 0;
}

static json_t *meta_json(state *st, const char *key)
{
	char *v = NULL;
	if (state_meta_get(st, key, &v) != 0 || !v)
		return json_null();
	json_t *j = json_string(v);
	free(v);
	return j;
}

static json_t *counts_json(const state_sync_counts *c)
{
	json_t *o = json_object();
	for (int k = 0; k < STATE_SYNC_NSTATES; k++)
		json_object_set_new(o, STATE_SYNC_STATES[k], json_integer(c->n[k]));
	return o;
}

/* A field's class: its path up to the first '.' or '[' ("quota",
 * "endpoints", "branches", "historyRetention"). */
static void field_class(const char *path, char out[48])
{
	size_t n = strcspn(path, ".[");
	snprintf(out, 48, "%.*s", (int)(n < 47 ? n : 47), path);
}

/* Drifted tenants by field class: each tenant counted once a class. */
static int add_drift(void *arg, const state_sync *r)
{
	if (strcmp(r->state, "drifted") != 0 || !r->fields_json)
		return 0;
	json_t *fields = json_loads(r->fields_json, 0, NULL), *seen = json_object();
	size_t i;
	json_t *f;
	json_array_foreach(fields, i, f) {
		char cls[48];
		field_class(json_string_value(json_object_get(f, "path")) ?: "", cls);
		if (!cls[0] || json_object_get(seen, cls))
			continue;
		json_object_set_new(seen, cls, json_true());
		json_object_set_new(arg, cls, json_integer(json_integer_value(json_object_get(arg, cls)) + 1));
	}
	json_decref(seen);
	json_decref(fields);
	return 0;
}

/* The expiry a restore set on a preserved branch: the last PATCH of it
 * in the tenant's journal that is done (the cache keeps no expires_at). */
typedef struct expiry {
	const char *branch_id;
	char *at;
} expiry;

static int find_expiry(void *arg, const state_journal_entry *e)
{
	expiry *x = arg;
	if (!e->resource_id || strcmp(e->resource_id, x->branch_id) != 0 || strcmp(e->state, STATE_JOURNAL_DONE) != 0 ||
	    strncmp(e->action, "PATCH ", 6) != 0)
		return 0;
	json_t *j = json_loads(e->intent_json, 0, NULL);
	const char *at = json_string_value(json_object_get(json_object_get(json_object_get(j, "body"), "branch"),
							    "expires_at"));
	if (at)
		str_copy(x->at, at, STATUS_EXPIRY_LEN);
	json_decref(j);
	return 0;
}

int status_preserved_expiry(state *st, const char *tenant, const char *branch_id, char at[STATUS_EXPIRY_LEN])
{
	at[0] = 0;
	expiry x = {branch_id, at};
	int rc = state_journal_tenant(st, tenant, 200, find_expiry, &x);
	if (rc != 0)
		at[0] = 0;
	return rc;
}

/* preserved_branches: how many, and the oldest few with their expiry. */
static int preserved_json(state *st, json_t *doc)
{
	int64_t total;
	state_preserved *v;
	size_t n;
	int rc = state_preserved_list(st, DIFF_PRESERVED_PREFIX, STATUS_PRESERVED, &total, &v, &n);
	if (rc != 0)
		return rc;
	json_t *oldest = json_array();
	for (size_t i = 0; i < n && rc == 0; i++) {
		char at[STATUS_EXPIRY_LEN];
		rc = status_preserved_expiry(st, v[i].tenant, v[i].branch_id, at);
		json_array_append_new(oldest, json_pack("{s:s,s:s,s:s,s:s,s:o,s:o}", "tenant", v[i].tenant, "project_id",
							v[i].project_id, "branch", v[i].name, "branch_id", v[i].branch_id,
							"created_at", str_or_null(v[i].created_at), "expires_at",
							str_or_null(at[0] ? at : NULL)));
	}
	json_object_set_new(doc, "preserved_branches", json_pack("{s:I,s:o}", "count", (json_int_t)total, "oldest", oldest));
	state_preserved_release(v, n);
	return rc;
}

/* ------------------------------------------------------- near a quota */

typedef struct near_item {
	double worst;   /* the highest share of a quota, 0.8.. */
	json_t *j;
} near_item;

typedef struct near_ctx {
	near_item *v;
	size_t n, cap;
} near_ctx;

static int add_near(void *arg, const state_usage_quota *q)
{
	near_ctx *c = arg;
	json_t *quotas = json_array();
	double worst = 0;
	for (int i = 0; i < STATE_USAGE_NQUOTAS; i++) {
		/* the same test as the query's: used >= 80% of a set quota */
		if (q->limit[i] <= 0 || q->used[i] * 5 < q->limit[i] * 4)
			continue;
		double share = (double)q->used[i] / (double)q->limit[i];
		worst = share > worst ? share : worst;
		json_array_append_new(quotas, json_pack("{s:s,s:I,s:I,s:i}", "quota", STATE_USAGE_QUOTAS[i], "used",
							(json_int_t)q->used[i], "limit", (json_int_t)q->limit[i],
							"percent", (int)(share * 100)));
	}
	if (c->n == c->cap)
		c->v = xgrow(c->v, &c->cap, c->n + 1, sizeof(*c->v));
	c->v[c->n++] = (near_item){worst, json_pack("{s:s,s:I,s:o}", "tenant", q->tenant, "period_start",
						    (json_int_t)q->period_start, "quotas", quotas)};
	return 0;
}

static int near_cmp(const void *a, const void *b)
{
	const near_item *x = a, *y = b;
	if (x->worst != y->worst)
		return x->worst < y->worst ? 1 : -1;
	return strcmp(json_string_value(json_object_get(x->j, "tenant")),
		      json_string_value(json_object_get(y->j, "tenant")));
}

/* The tenants whose latest usage (flotilla usage) reaches 80% of a quota
 * of their project: the count, and the first max of them, worst first. */
static int near_quota_json(state *st, size_t max, json_t **out)
{
	near_ctx c = {0};
	int rc = state_usage_near_quota(st, add_near, &c);
	if (rc == 0) {
		if (c.n > 1) /* qsort of NULL, 0 is undefined */
			qsort(c.v, c.n, sizeof(*c.v), near_cmp);
		json_t *list = json_array();
		for (size_t i = 0; i < c.n && i < max; i++)
			json_array_append(list, c.v[i].j);
		*out = json_pack("{s:i,s:I,s:o}", "threshold_percent", 80, "count", (json_int_t)c.n, "tenants", list);
	}
	for (size_t i = 0; i < c.n; i++)
		json_decref(c.v[i].j);
	free(c.v);
	return rc;
}

int status_document(state *st, size_t max_tenants, json_t **out)
{
	*out = NULL;
	state_sync_counts c;
	int rc = state_sync_counts_get(st, &c);
	if (rc != 0)
		return rc;
	json_t *applied_at = meta_json(st, "last_applied_at");
	int64_t at = json_is_string(applied_at) ? strtoll(json_string_value(applied_at), NULL, 10) : 0;
	json_decref(applied_at);
	json_t *doc = json_pack("{s:i,s:I,s:o,s:{s:o,s:o},s:o,s:I,s:[],s:I,s:[]}", "version", 1, "generated_at",
				(json_int_t)time(NULL), "fleet", meta_json(st, "fleet"), "commit", "applied",
				meta_json(st, "last_applied_commit"), "applied_at", time_or_null(at), "counts",
				counts_json(&c), "total", (json_int_t)c.total, "tenants", "tenants_not_synced",
				(json_int_t)(c.total - c.n[STATE_SYNC_SYNCED]), "runs");
	json_t *classes = json_object();
	json_object_set_new(doc, "drift", json_pack("{s:o}", "fields", classes));
	if (c.n[STATE_SYNC_DRIFTED] && (rc = state_sync_foreach(st, add_drift, classes)) != 0) {
		json_decref(doc);
		return rc;
	}
	worst_ctx w = {st, json_object_get(doc, "tenants")};
	json_t *near = NULL;
	if (max_tenants && (rc = state_sync_worst(st, max_tenants, add_tenant, &w)) == 0)
		rc = state_runs_recent(st, STATUS_RUNS, add_run, json_object_get(doc, "runs"));
	if (rc == 0)
		rc = preserved_json(st, doc);
	if (rc == 0 && (rc = near_quota_json(st, max_tenants, &near)) == 0)
		json_object_set_new(doc, "near_quota", near);
	if (rc != 0) {
		json_decref(doc);
		return rc;
	}
	*out = doc;
	return 0;
}

int status_tenant_document(state *st, const char *tenant, json_t **out)
{
	*out = NULL;
	state_tenant t;
	int rc = state_tenant_get(st, tenant, &t);
	if (rc != 0 && rc != ERR_NOTFOUND)
		return rc;
	bool mapped = rc == 0;
	state_sync r;
	rc = state_sync_get(st, tenant, &r);
	if (rc != 0 && rc != ERR_NOTFOUND) {
		if (mapped)
			state_tenant_release(&t);
		return rc;
	}
	bool row = rc == 0;
	if (!mapped && !row)
		return err_set(ERR_NOTFOUND, "no tenant named '%s' in the state file (not planned or created yet)",
			       tenant);
	json_t *doc;
	if (row) {
		doc = tenant_json(st, &r);
		state_sync_release(&r);
	} else {
		doc = json_pack("{s:s,s:s,s:s,s:n,s:o}", "tenant", tenant, "state", "synced", "reason", "", "since",
				"project_id", str_or_null(mapped ? t.project_id : NULL));
	}
	if (mapped) {
		json_object_set_new(doc, "mapped_by", json_string(t.source));
		json_object_set_new(doc, "mapped_at", time_or_null(t.mapped_at));
		state_project p;
		if (state_project_get(st, t.project_id, &p) == 0) {
			json_object_set_new(doc, "project",
					    json_pack("{s:s,s:s,s:i,s:o,s:o,s:o}", "name", p.name, "region_id", p.region_id,
						      "pg_version", p.pg_version, "updated_at", str_or_null(p.updated_at),
						      "listed_at", time_or_null(p.listed_at), "deep_read_at",
						      time_or_null(p.deep_at)));
			state_project_release(&p);
		}
		state_tenant_release(&t);
	}
	*out = doc;
	return 0;
}

/* ------------------------------------------------------- state show rows */

static json_t *json_text_or_null(const char *text)
{
	json_t *j = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
	return j ? j : json_null();
}

/* A cached project row, every column (none is a secret: docs/state.md). */
static json_t *project_row_json(const state_project *p)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:i,s:I,s:o,s:o}", "id", p->id, "name", p->name, "region_id", p->region_id,
			      "org_id", str_or_null(p->org_id), "pg_version", p->pg_version, "history_retention_seconds",
			      (json_int_t)p->history_retention_seconds, "created_at", str_or_null(p->created_at),
			      "updated_at", str_or_null(p->updated_at));
	json_object_set_new(o, "quota", json_pack("{s:I,s:I,s:I,s:I,s:I}", "active_time", (json_int_t)p->quota_active_time,
						  "compute_time", (json_int_t)p->quota_compute_time, "written_data",
						  (json_int_t)p->quota_written_data, "data_transfer",
						  (json_int_t)p->quota_data_transfer, "logical_size",
						  (json_int_t)p->quota_logical_size));
	json_object_set_new(o, "default_endpoint", json_pack("{s:f,s:f,s:I}", "min_cu", p->min_cu, "max_cu", p->max_cu,
							     "suspend_timeout_seconds", (json_int_t)p->suspend_timeout_seconds));
	json_object_set_new(o, "pg_settings", json_text_or_null(p->pg_settings_json));
	json_object_set_new(o, "allowed_ips", json_text_or_null(p->allowed_ips_json));
	json_object_set_new(o, "protected_branches_only", json_boolean(p->protected_branches_only));
	json_object_set_new(o, "logical_replication", json_boolean(p->logical_replication));
	json_object_set_new(o, "block_public_connections", json_boolean(p->block_public_connections));
	json_object_set_new(o, "maintenance_window", json_text_or_null(p->maintenance_window_json));
	json_object_set_new(o, "compute_last_active_at", str_or_null(p->compute_last_active_at));
	json_object_set_new(o, "synthetic_storage_size",
			    p->synthetic_storage_size >= 0 ? json_integer(p->synthetic_storage_size) : json_null());
	json_object_set_new(o, "listed_at", time_or_null(p->listed_at));
	json_object_set_new(o, "deep_read_at", time_or_null(p->deep_at));
	json_object_set_new(o, "fingerprint", str_or_null(p->fingerprint));
	json_object_set_new(o, "deep_fingerprint", str_or_null(p->deep_fingerprint));
	return o;
}

/* A project's deep rows: names and settings; the schema holds no password. */
static json_t *deep_json(const state_deep *d)
{
	json_t *o = json_pack("{s:[],s:[],s:[],s:[]}", "branches", "endpoints", "databases", "roles");
	for (size_t i = 0; i < d->nbranches; i++) {
		const state_branch *b = &d->branches[i];
		json_array_append_new(json_object_get(o, "branches"),
				      json_pack("{s:s,s:s,s:o,s:b,s:b,s:o}", "id", b->id, "name", b->name, "parent_id",
						str_or_null(b->parent_id), "default", b->is_default, "protected", b->protected_,
						"annotations", json_text_or_null(b->annotations_json)));
	}
	for (size_t i = 0; i < d->nendpoints; i++) {
		const state_endpoint *e = &d->endpoints[i];
		json_array_append_new(json_object_get(o, "endpoints"),
				      json_pack("{s:s,s:s,s:o,s:s,s:f,s:f,s:I,s:b,s:o,s:o}", "id", e->id, "branch_id",
						e->branch_id, "name", str_or_null(e->name), "type",
						e->read_write ? "read_write" : "read_only", "min_cu", e->min_cu, "max_cu",
						e->max_cu, "suspend_timeout_seconds", (json_int_t)e->suspend_timeout_seconds,
						"disabled", e->disabled, "current_state", str_or_null(e->current_state),
						"last_active", str_or_null(e->last_active)));
	}
	for (size_t i = 0; i < d->ndatabases; i++)
		json_array_append_new(json_object_get(o, "databases"),
				      json_pack("{s:s,s:s,s:s}", "branch_id", d->databases[i].branch_id, "name",
						d->databases[i].name, "owner", d->databases[i].owner));
	for (size_t i = 0; i < d->nroles; i++)
		json_array_append_new(json_object_get(o, "roles"), json_pack("{s:s,s:s}", "branch_id", d->roles[i].branch_id,
									     "name", d->roles[i].name));
	return o;
}

static int add_journal(void *arg, const state_journal_entry *e)
{
	json_t *o = json_pack("{s:I,s:o,s:s,s:s,s:o,s:o,s:o,s:o,s:I,s:I}", "id", (json_int_t)e->id, "run_id",
			      e->run_id ? json_integer(e->run_id) : json_null(), "action", e->action, "state", e->state,
			      "resource_id", str_or_null(e->resource_id), "request_id", str_or_null(e->request_id),
			      "error", str_or_null(e->error), "operation_ids", json_text_or_null(e->operation_ids_json),
			      "created_at", (json_int_t)e->created_at, "updated_at", (json_int_t)e->updated_at);
	/* a call's method, path and body: bodies never carry a password */
	json_object_set_new(o, "intent", json_text_or_null(e->intent_json));
	json_array_append_new(arg, o);
	return 0;
}

typedef struct forgotten_ctx {
	const char *tenant;
	json_t *a;
} forgotten_ctx;

static int add_forgotten(void *arg, const state_forgotten *f)
{
	forgotten_ctx *c = arg;
	if (strcmp(f->tenant, c->tenant) == 0)
		json_array_append_new(c->a, json_pack("{s:s,s:s,s:I,s:o}", "project_id", f->project_id, "fleet", f->fleet,
						      "forgotten_at", (json_int_t)f->forgotten_at, "run_id",
						      f->run_id ? json_integer(f->run_id) : json_null()));
	return 0;
}

/* The project's rows into doc: "project_row" and "deep" (null when the
 * cache lacks them). */
static int add_project_rows(state *st, const char *project_id, json_t *doc)
{
	state_project p;
	int rc = state_project_get(st, project_id, &p);
	if (rc == ERR_NOTFOUND) {
		json_object_set_new(doc, "project_row", json_null());
		json_object_set_new(doc, "deep", json_null());
		return 0;
	}
	if (rc != 0)
		return rc;
	json_object_set_new(doc, "project_row", project_row_json(&p));
	state_deep d;
	if (p.deep_at && (rc = state_deep_get(st, project_id, &d)) == 0) {
		json_object_set_new(doc, "deep", deep_json(&d));
		state_deep_release(&d);
	} else {
		json_object_set_new(doc, "deep", json_null());
	}
	state_project_release(&p);
	return rc;
}

int status_rows_document(state *st, const char *tenant, size_t journal_rows, json_t **out)
{
	*out = NULL;
	json_t *doc = NULL, *gone = json_array();
	forgotten_ctx fc = {tenant, gone};
	int rc = state_forgotten_foreach(st, add_forgotten, &fc);
	if (rc == 0)
		rc = status_tenant_document(st, tenant, &doc);
	if (rc == ERR_NOTFOUND && json_array_size(gone) > 0) {
		/* unmapped by state forget: what is left is the record */
		doc = json_pack("{s:s,s:s,s:s,s:n,s:n}", "tenant", tenant, "state", "forgotten", "reason",
				"unmapped by flotilla state forget; its project was left in Neon", "since", "project_id");
		rc = 0;
	}
	const char *project_id = doc ? json_string_value(json_object_get(doc, "project_id")) : NULL;
	if (rc == 0 && project_id) {
		bool protect = false;
		if ((rc = state_tenant_get_protect(st, tenant, &protect)) == 0)
			json_object_set_new(doc, "protect", json_boolean(protect));
		if (rc == 0)
			rc = add_project_rows(st, project_id, doc);
	}
	json_t *journal = json_array();
	if (rc == 0)
		rc = state_journal_tenant(st, tenant, journal_rows, add_journal, journal);
	if (rc != 0) {
		json_decref(journal);
		json_decref(gone);
		json_decref(doc);
		return rc;
	}
	json_object_set_new(doc, "journal", journal);
	json_object_set_new(doc, "forgotten", gone);
	*out = doc;
	return 0;
}
