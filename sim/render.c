/*
 * render.c: the sim's objects as JSON, in the shapes of openapi-v2.json
 * (Project, ProjectListItem, Branch, Endpoint, Database, Role, Operation,
 * ConnectionDetails). Every required property is always present; optional
 * ones appear when the sim has a value for them, as Neon's do.
 *
 * This file is the sim's own mapping, written from the OpenAPI document;
 * it shares nothing with neon/'s, on purpose (sim.h).
 */
#include <math.h>
#include <string.h>

#include "sim/sim.h"

static json_t *ts(int64_t t)
{
	char b[32];
	sim_time_format(t, b);
	return json_string(b);
}

/* json_object_set_new, named for the many calls below. */
static void put(json_t *o, const char *k, json_t *v)
{
	json_object_set_new(o, k, v);
}

static const char *platform_of(const char *region_id)
{
	return strncmp(region_id, "azure-", 6) == 0 ? "azure" : "aws";
}

static int64_t last_active_of(sim_store *s, const sim_project *p, int64_t now)
{
	int64_t last = 0;
	for (size_t i = 0; i < p->nendpoints; i++) {
		const sim_endpoint *e = &p->endpoints[i];
		int64_t t = sim_endpoint_active(s, e, now) ? now : e->last_active;
		if (t > last)
			last = t;
	}
	return last;
}

json_t *sim_render_project(sim_store *s, sim_project *p, bool list_item)
{
	int64_t now = sim_now(s);
	sim_project_accrue(s, p, now);
	char host[128];
	sim_region_proxy_host(p->region_id, host, sizeof(host));
	/* the properties every project has; there is no per-branch size limit
	 * in the sim (Neon reports its plan's) */
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:i, s:s, s:i, s:i, s:b, s:I, s:s, s:I, s:o, s:o,"
			      " s:i, s:s}",
			      "id", p->id, "platform_id", platform_of(p->region_id), "region_id", p->region_id,
			      "name", p->name, "provisioner", "k8s-neonvm", "default_endpoint_settings",
			      json_deep_copy(p->default_endpoint_settings), "settings", json_deep_copy(p->settings),
			      "pg_version", p->pg_version, "proxy_host", host, "branch_logical_size_limit", 0,
			      "branch_logical_size_limit_bytes", 0, "store_passwords", p->store_passwords,
			      "cpu_used_sec", (json_int_t)p->compute_seconds, "creation_source", "flotilla-sim",
			      "history_retention_seconds", (json_int_t)p->history_retention, "created_at",
			      ts(p->created_at), "updated_at", ts(p->updated_at), "synthetic_storage_size", 0,
			      "owner_id", "sim-user");
	if (!o)
		abort(); /* only out of memory: every value above is valid UTF-8 the sim was sent */
	if (p->org_id)
		put(o, "org_id", json_string(p->org_id));
	int64_t last = last_active_of(s, p, now);
	if (last)
		put(o, "compute_last_active_at", ts(last));
	if (list_item) {
		put(o, "active_time", json_integer(p->active_seconds));
		if (p->deleted_at) {
			put(o, "deleted_at", ts(p->deleted_at));
			put(o, "recoverable_until", ts(p->deleted_at + s->cfg->recover_window_s));
		}
		return o;
	}
	put(o, "active_time_seconds", json_integer(p->active_seconds));
	put(o, "compute_time_seconds", json_integer(p->compute_seconds));
	put(o, "written_data_bytes", json_integer(0));
	put(o, "data_transfer_bytes", json_integer(0));
	put(o, "data_storage_bytes_hour", json_integer(0));
	/* the consumption period is the calendar month */
	put(o, "consumption_period_start", ts(sim_month_start(now)));
	put(o, "consumption_period_end", ts(sim_months_add(sim_month_start(now), 1)));
	json_t *owner = json_object();
	put(owner, "email", json_string("sim@example.com"));
	put(owner, "name", json_string("flotilla-sim"));
	const sim_plan *plan = s->cfg->plan;
	put(owner, "branches_limit", json_integer(plan ? plan->branches : 5000));
	put(owner, "subscription_type", json_string(plan ? plan->subscription : "scale"));
	put(o, "owner", owner);
	return o;
}

json_t *sim_render_branch(sim_store *s, sim_project *p, sim_branch *b)
{
	json_t *o = json_object();
	put(o, "id", json_string(b->id));
	put(o, "project_id", json_string(p->id));
	if (b->parent_id)
		put(o, "parent_id", json_string(b->parent_id));
	if (b->parent_lsn)
		put(o, "parent_lsn", json_string(b->parent_lsn));
	if (b->parent_timestamp)
		put(o, "parent_timestamp", json_string(b->parent_timestamp));
	put(o, "name", json_string(b->name));
	/* a branch is ready once the operations that made it are done */
	bool busy = false;
	int64_t now_ms = mono_ms();
	for (size_t i = 0; i < p->nops && !busy; i++)
		busy = strcmp(p->ops[i].branch_id, b->id) == 0 && p->ops[i].done_ms > now_ms &&
		       strcmp(p->ops[i].action, "create_branch") == 0;
	put(o, "current_state", json_string(busy ? "init" : "ready"));
	if (busy)
		put(o, "pending_state", json_string("ready"));
	put(o, "state_changed_at", ts(b->updated_at));
	put(o, "logical_size", json_integer(30 * 1024 * 1024));
	put(o, "creation_source", json_string("flotilla-sim"));
	put(o, "primary", json_boolean(b->is_default));
	put(o, "default", json_boolean(b->is_default));
	put(o, "protected", json_boolean(b->protected_));
	int64_t active = 0, compute = 0;
	if (b->is_default) { /* the sim accounts per project; the default branch carries it */
		active = p->active_seconds;
		compute = p->compute_seconds;
	}
	(void)s;
	put(o, "cpu_used_sec", json_integer(compute));
	put(o, "compute_time_seconds", json_integer(compute));
	put(o, "active_time_seconds", json_integer(active));
	put(o, "written_data_bytes", json_integer(0));
	put(o, "data_transfer_bytes", json_integer(0));
	put(o, "created_at", ts(b->created_at));
	put(o, "updated_at", ts(b->updated_at));
	if (b->expires_at)
		put(o, "expires_at", ts(b->expires_at));
	if (b->init_source)
		put(o, "init_source", json_string(b->init_source));
	if (b->restore_status) {
		put(o, "restore_status", json_string(b->restore_status == SIM_RESTORE_RESTORED ? "restored" : "finalized"));
		put(o, "restored_from", json_string(b->restored_from));
		put(o, "restored_as", json_string(b->restored_as));
	}
	return o;
}

json_t *sim_render_endpoint(sim_store *s, sim_project *p, sim_endpoint *e)
{
	int64_t now = sim_now(s);
	json_t *o = json_object();
	char host[192], proxy[128];
	sim_endpoint_host(e, p->region_id, false, host, sizeof(host));
	sim_region_proxy_host(p->region_id, proxy, sizeof(proxy));
	put(o, "host", json_string(host));
	put(o, "id", json_string(e->id));
	if (e->name)
		put(o, "name", json_string(e->name));
	put(o, "project_id", json_string(p->id));
	put(o, "branch_id", json_string(e->branch_id));
	put(o, "autoscaling_limit_min_cu", json_real(e->min_cu));
	put(o, "autoscaling_limit_max_cu", json_real(e->max_cu));
	put(o, "region_id", json_string(p->region_id));
	put(o, "type", json_string(e->read_write ? "read_write" : "read_only"));
	bool active = sim_endpoint_active(s, e, now);
	/* a compute whose start operation still runs is coming up */
	bool starting = false;
	int64_t now_ms = mono_ms();
	for (size_t i = 0; i < p->nops && !starting; i++)
		starting = strcmp(p->ops[i].endpoint_id, e->id) == 0 && p->ops[i].done_ms > now_ms &&
			   strcmp(p->ops[i].action, "start_compute") == 0;
	put(o, "current_state", json_string(starting ? "init" : active ? "active" : "idle"));
	if (starting)
		put(o, "pending_state", json_string("active"));
	put(o, "settings", e->settings ? json_deep_copy(e->settings) : json_object());
	put(o, "pooler_enabled", json_false());
	put(o, "pooler_mode", json_string("transaction"));
	put(o, "disabled", json_boolean(e->disabled));
	put(o, "passwordless_access", json_true());
	if (e->last_active)
		put(o, "last_active", ts(active ? now : e->last_active));
	put(o, "creation_source", json_string("flotilla-sim"));
	put(o, "created_at", ts(e->created_at));
	put(o, "updated_at", ts(e->updated_at));
	if (e->started_at)
		put(o, "started_at", ts(e->started_at));
	if (!active && e->last_active) {
		int64_t t = e->suspend_timeout == 0 ? 300 : e->suspend_timeout;
		int64_t at = e->suspended || t < 0 ? e->last_active : e->last_active + t;
		put(o, "suspended_at", ts(at));
	}
	put(o, "proxy_host", json_string(proxy));
	put(o, "suspend_timeout_seconds", json_integer(e->suspend_timeout));
	put(o, "provisioner", json_string("k8s-neonvm"));
	return o;
}

json_t *sim_render_database(const sim_database *d, const char *branch_id)
{
	json_t *o = json_object();
	put(o, "id", json_integer(d->id));
	put(o, "branch_id", json_string(branch_id));
	put(o, "name", json_string(d->name));
	put(o, "owner_name", json_string(d->owner));
	put(o, "created_at", ts(d->created_at));
	put(o, "updated_at", ts(d->updated_at));
	return o;
}

json_t *sim_render_role(const sim_role *r, const char *branch_id, bool with_password)
{
	json_t *o = json_object();
	put(o, "branch_id", json_string(branch_id));
	put(o, "name", json_string(r->name));
	if (with_password && r->password)
		put(o, "password", json_string(r->password));
	put(o, "protected", json_boolean(r->protected_));
	put(o, "authentication_method", json_string(r->no_login ? "no_login" : "password"));
	put(o, "created_at", ts(r->created_at));
	put(o, "updated_at", ts(r->updated_at));
	return o;
}

json_t *sim_render_op(const sim_op *op, const char *project_id, int64_t now_ms)
{
	json_t *o = json_object();
	sim_op_view v;
	sim_op_view_at(op, now_ms, &v);
	put(o, "id", json_string(op->id));
	put(o, "project_id", json_string(project_id));
	if (op->branch_id[0])
		put(o, "branch_id", json_string(op->branch_id));
	if (op->endpoint_id[0])
		put(o, "endpoint_id", json_string(op->endpoint_id));
	put(o, "action", json_string(op->action));
	put(o, "status", json_string(v.status));
	put(o, "failures_count", json_integer(v.failures));
	/* once an attempt failed its error stays, as the last error seen */
	if (v.failures)
		put(o, "error", json_string(sim_op_error(op)));
	if (v.retry_ms)
		put(o, "retry_at", ts(op->created_at + (v.retry_ms - op->start_ms) / 1000));
	put(o, "created_at", ts(op->created_at));
	/* when the status last changed, on the operation's own clock */
	put(o, "updated_at", ts(op->created_at + (v.changed_ms - op->start_ms) / 1000));
	put(o, "total_duration_ms", json_integer((v.final ? op->done_ms : now_ms) - op->start_ms));
	return o;
}

json_t *sim_render_new_ops(sim_project *p, size_t count, int64_t now_ms)
{
	json_t *a = json_array();
	/* newest first in the project; the caller's order is oldest first */
	for (size_t i = count; i > 0; i--)
		json_array_append_new(a, sim_render_op(&p->ops[i - 1], p->id, now_ms));
	return a;
}

json_t *sim_render_connection_uri(sim_project *p, sim_branch *b, sim_endpoint *e, const char *db,
				  const char *role, bool pooled)
{
	sim_role *r = sim_role_find(b, role);
	char host[192], pooler[192];
	sim_endpoint_host(e, p->region_id, false, host, sizeof(host));
	sim_endpoint_host(e, p->region_id, true, pooler, sizeof(pooler));
	const char *pw = r && r->password ? r->password : "";
	char *uri = xasprintf("postgresql://%s:%s@%s/%s?sslmode=require", role, pw, pooled ? pooler : host, db);
	json_t *o = json_object();
	put(o, "connection_uri", json_string(uri));
	json_t *params = json_object();
	put(params, "database", json_string(db));
	put(params, "password", json_string(pw));
	put(params, "role", json_string(role));
	put(params, "host", json_string(host));
	put(params, "pooler_host", json_string(pooler));
	put(o, "connection_parameters", params);
	free(uri);
	return o;
}
