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
 *   drift {fields: {class: drifted tenants}}
 *
 * The daemon adds rate, drift.policy, drift.tiers and commit.fetched.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/internal.h"

#define STATUS_RUNS 20

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
	if (max_tenants && (rc = state_sync_worst(st, max_tenants, add_tenant, &w)) == 0)
		rc = state_runs_recent(st, STATUS_RUNS, add_run, json_object_get(doc, "runs"));
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
