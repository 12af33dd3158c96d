/*
 * routes_endpoints.c: /projects/{project_id}/endpoints: create, list, get,
 * update, delete, start, suspend, restart; the endpoints of a branch
 * (/projects/{project_id}/branches/{branch_id}/endpoints); and the checks
 * that branch creation shares (sim_check_endpoint_spec, sim_endpoint_make).
 *
 * Only /__sim/connect counts a cold start; start, restart and the brief
 * wake-up of a PATCH never do. Where Neon's behaviour is not documented the
 * sim chooses, and says so here:
 * - A new endpoint that is disabled is not started and gets no operation.
 * - PATCH: Neon wakes an idle compute to apply a change and suspends it
 *   again (its documented reply is [apply_config, suspend_compute]). The
 *   sim sends the same operations but leaves the compute idle: no cold
 *   start, no usage. An active compute gets apply_config only; disabling
 *   one suspends it. branch_id (deprecated in the spec) may only name the
 *   endpoint's own branch: moving computes between branches is not
 *   simulated (400).
 * - start and restart of a disabled endpoint are refused (400): a disabled
 *   compute "cannot be enabled by a connection or console action".
 * - The computes of a protected branch cannot be deleted (Neon's protected
 *   branches documentation); the sim answers 400.
 */
#include <string.h>

#include "sim/sim.h"

/* ------------------------------------------------------------- checks */

/* An object whose members are all strings, or absent. */
static bool string_map(sim_req *r, const json_t *obj, const char *what)
{
	if (!obj || json_is_null(obj))
		return true;
	bool ok = json_is_object(obj);
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v)
		ok = ok && json_is_string(v);
	if (!ok)
		sim_error(r, 400, "", "%s must be an object of strings", what);
	return ok;
}

/* EndpointSettingsData. */
static bool check_settings(sim_req *r, const json_t *st)
{
	if (!st || json_is_null(st))
		return true;
	if (!json_is_object(st)) {
		sim_error(r, 400, "", "settings must be an object");
		return false;
	}
	if (!string_map(r, json_object_get(st, "pg_settings"), "settings.pg_settings") ||
	    !string_map(r, json_object_get(st, "pgbouncer_settings"), "settings.pgbouncer_settings"))
		return false;
	json_t *pl = json_object_get(st, "preload_libraries");
	if (pl && !json_is_null(pl) && !json_is_object(pl)) {
		sim_error(r, 400, "", "settings.preload_libraries must be an object");
		return false;
	}
	return true;
}

static bool check_provisioner(sim_req *r, const json_t *in)
{
	json_t *v = json_object_get(in, "provisioner");
	if (!v || json_is_null(v))
		return true;
	const char *s = json_string_value(v);
	if (s && (strcmp(s, "k8s-pod") == 0 || strcmp(s, "k8s-neonvm") == 0 || strcmp(s, "serverless-platform") == 0))
		return true;
	sim_error(r, 400, "", "provisioner must be 'k8s-pod', 'k8s-neonvm' or 'serverless-platform'");
	return false;
}

bool sim_check_bool(sim_req *r, const json_t *in, const char *key, bool *out)
{
	json_t *v = json_object_get(in, key);
	if (!v || json_is_null(v))
		return true;
	if (!json_is_boolean(v)) {
		sim_error(r, 400, "", "%s must be true or false", key);
		return false;
	}
	*out = json_is_true(v);
	return true;
}

/* Fold checked settings into `into`, member by member; a null member
 * removes one. */
static void merge_settings(json_t *into, const json_t *in)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)in, k, v) {
		if (json_is_null(v))
			json_object_del(into, k);
		else
			json_object_set_new(into, k, json_deep_copy(v));
	}
}

bool sim_check_endpoint_spec(sim_req *r, sim_project *p, const json_t *in, sim_endpoint_spec *out)
{
	memset(out, 0, sizeof(*out));
	const char *type = json_string_value(json_object_get(in, "type"));
	if (!type || (strcmp(type, "read_write") != 0 && strcmp(type, "read_only") != 0)) {
		sim_error(r, 400, "", "type is required: 'read_write' or 'read_only'");
		return false;
	}
	out->read_write = strcmp(type, "read_write") == 0;
	/* the project's default_endpoint_settings, then the request over them */
	const json_t *des = p->default_endpoint_settings;
	json_t *mn = json_object_get(des, "autoscaling_limit_min_cu"), *mx = json_object_get(des, "autoscaling_limit_max_cu");
	out->min_cu = mn ? json_number_value(mn) : 0.25;
	out->max_cu = mx ? json_number_value(mx) : out->min_cu;
	out->suspend = json_integer_value(json_object_get(des, "suspend_timeout_seconds"));
	if (!sim_check_compute(r, in, &out->min_cu, &out->max_cu, &out->suspend) ||
	    !sim_check_string(r, in, "name", 64, &out->name) || !sim_check_bool(r, in, "disabled", &out->disabled) ||
	    !check_provisioner(r, in) || !check_settings(r, json_object_get(in, "settings")))
		return false;
	json_t *st = json_object_get(in, "settings");
	out->settings = json_is_object(st) ? st : NULL;
	return true;
}

sim_endpoint *sim_endpoint_make(sim_store *s, sim_project *p, const char *branch_id, const sim_endpoint_spec *spec)
{
	sim_endpoint *e = sim_endpoint_add(s, p, branch_id, spec->read_write);
	e->min_cu = spec->min_cu;
	e->max_cu = spec->max_cu;
	e->suspend_timeout = spec->suspend;
	e->disabled = spec->disabled;
	e->name = spec->name ? xstrdup(spec->name) : NULL;
	json_t *pg = json_object_get(p->default_endpoint_settings, "pg_settings");
	e->settings = json_object();
	json_object_set_new(e->settings, "pg_settings", pg ? json_deep_copy(pg) : json_object());
	if (spec->settings)
		merge_settings(e->settings, spec->settings);
	if (!e->disabled)
		sim_endpoint_start(s, p, e);
	return e;
}

/* ------------------------------------------------------------- replies */

static sim_endpoint *need_endpoint(sim_req *r, sim_project *p, size_t param)
{
	sim_endpoint *e = sim_endpoint_find(p, r->params[param]);
	if (!e)
		sim_error(r, 404, "", "endpoint not found");
	return e;
}

/* {endpoint, operations}: the endpoint and the last `nops` operations. */
static int reply_ops(sim_req *r, int status, sim_project *p, sim_endpoint *e, size_t nops)
{
	json_t *out = json_object();
	json_object_set_new(out, "endpoint", sim_render_endpoint(r->s, p, e));
	json_object_set_new(out, "operations", sim_render_new_ops(p, nops, mono_ms()));
	return sim_reply(r, status, out);
}

/* -------------------------------------------------------------- routes */

static int create(sim_req *r)
{
	sim_store *s = r->s;
	sim_project *p = sim_need_project(r, 0);
	if (!p || sim_locked(r, p))
		return 0;
	json_t *in = r->body ? json_object_get(r->body, "endpoint") : NULL;
	if (!json_is_object(in))
		return sim_error(r, 400, "", "request body must be {\"endpoint\": {...}}");
	const char *bid, *region;
	if (!sim_check_string(r, in, "branch_id", 60, &bid) || !sim_check_string(r, in, "region_id", 64, &region))
		return 0;
	if (!bid)
		return sim_error(r, 400, "", "branch_id is required");
	sim_branch *b = sim_branch_find(p, bid);
	if (!b)
		return sim_error(r, 404, "", "branch not found");
	if (region && strcmp(region, p->region_id) != 0)
		return sim_error(r, 400, "", "region_id '%s' is not the project's region '%s'", region, p->region_id);
	sim_endpoint_spec spec;
	if (!sim_check_endpoint_spec(r, p, in, &spec))
		return 0;
	if (spec.read_write && sim_endpoint_rw(p, b->id))
		return sim_error(r, 409, "", "read_write endpoint already exists: branch '%s' has one", b->id);
	sim_endpoint *e = sim_endpoint_make(s, p, b->id, &spec);
	size_t nops = 0;
	if (!e->disabled) {
		sim_op_add(s, p, "start_compute", e->branch_id, e->id);
		nops++;
	}
	r->touched = p;
	return reply_ops(r, 201, p, e, nops);
}

/* The project's endpoints, or with a {branch_id} in the path the branch's. */
static int list(sim_req *r)
{
	sim_project *p = sim_need_project(r, 0);
	sim_branch *b = p && r->params[1] ? sim_need_branch(r, p, 1) : NULL;
	if (!p || (r->params[1] && !b))
		return 0;
	json_t *arr = json_array();
	for (size_t i = 0; i < p->nendpoints; i++)
		if (!b || strcmp(p->endpoints[i].branch_id, b->id) == 0)
			json_array_append_new(arr, sim_render_endpoint(r->s, p, &p->endpoints[i]));
	json_t *out = json_object();
	json_object_set_new(out, "endpoints", arr);
	return sim_reply(r, 200, out);
}

static int get(sim_req *r)
{
	sim_project *p = sim_need_project(r, 0);
	sim_endpoint *e = p ? need_endpoint(r, p, 1) : NULL;
	if (!e)
		return 0;
	json_t *out = json_object();
	json_object_set_new(out, "endpoint", sim_render_endpoint(r->s, p, e));
	return sim_reply(r, 200, out);
}

static int update(sim_req *r)
{
	sim_store *s = r->s;
	sim_project *p = sim_need_project(r, 0);
	sim_endpoint *e = p ? need_endpoint(r, p, 1) : NULL;
	if (!e || sim_locked(r, p))
		return 0;
	json_t *in = r->body ? json_object_get(r->body, "endpoint") : NULL;
	if (!json_is_object(in))
		return sim_error(r, 400, "", "request body must be {\"endpoint\": {...}}");
	/* everything is checked on copies: a rejected PATCH changes nothing */
	double mn = e->min_cu, mx = e->max_cu;
	int64_t st = e->suspend_timeout;
	bool disabled = e->disabled;
	const char *name, *bid;
	if (!sim_check_compute(r, in, &mn, &mx, &st) || !sim_check_string(r, in, "name", 64, &name) ||
	    !sim_check_string(r, in, "branch_id", 60, &bid) || !sim_check_bool(r, in, "disabled", &disabled) ||
	    !check_provisioner(r, in) || !check_settings(r, json_object_get(in, "settings")))
		return 0;
	if (bid && strcmp(bid, e->branch_id) != 0)
		return sim_error(r, 400, "", "branch_id cannot change: the sim does not move endpoints between "
				       "branches ('%s' is on '%s')", e->id, e->branch_id);

	/* usage so far counts at the old size and timeout */
	int64_t now = sim_now(s);
	sim_project_accrue(s, p, now);
	bool disabling = disabled && !e->disabled;
	/* an idle compute is woken to apply the change and suspended again:
	 * it stays idle whatever its new timeout says */
	bool stays_idle = disabling || !sim_endpoint_active(s, e, now);
	if (stays_idle)
		sim_endpoint_suspend(s, p, e);
	e->min_cu = mn;
	e->max_cu = mx;
	e->suspend_timeout = st;
	e->disabled = disabled;
	if (name) {
		free(e->name);
		e->name = xstrdup(name);
	}
	json_t *set = json_object_get(in, "settings");
	if (json_is_object(set)) {
		/* member by member: a PATCH of pg_settings keeps the others */
		if (!e->settings)
			e->settings = json_object();
		merge_settings(e->settings, set);
	}
	e->updated_at = now;
	sim_op_add(s, p, "apply_config", e->branch_id, e->id);
	size_t nops = 1;
	if (stays_idle) {
		sim_op_add(s, p, "suspend_compute", e->branch_id, e->id);
		nops++;
	}
	r->touched = p;
	return reply_ops(r, 200, p, e, nops);
}

static int delete(sim_req *r)
{
	sim_store *s = r->s;
	sim_project *p = sim_need_project(r, 0);
	if (!p)
		return 0;
	sim_endpoint *e = sim_endpoint_find(p, r->params[1]);
	if (!e)
		return sim_reply(r, 204, NULL);
	if (sim_locked(r, p))
		return 0;
	sim_branch *b = sim_branch_find(p, e->branch_id);
	if (b && b->protected_)
		return sim_error(r, 400, "", "cannot delete endpoint '%s': branch '%s' is protected", e->id, b->name);
	sim_endpoint_suspend(s, p, e);
	sim_op_add(s, p, "suspend_compute", e->branch_id, e->id);
	json_t *out = json_object();
	json_object_set_new(out, "endpoint", sim_render_endpoint(s, p, e));
	json_object_set_new(out, "operations", sim_render_new_ops(p, 1, mono_ms()));
	sim_endpoint_remove(s, p, e);
	r->touched = p;
	return sim_reply(r, 200, out);
}

/* start, suspend, restart: `suspend` and `start` say which steps run. */
static int power(sim_req *r, bool suspend, bool start)
{
	sim_store *s = r->s;
	sim_project *p = sim_need_project(r, 0);
	sim_endpoint *e = p ? need_endpoint(r, p, 1) : NULL;
	if (!e || sim_locked(r, p))
		return 0;
	if (start && e->disabled)
		return sim_error(r, 400, "", "endpoint '%s' is disabled: enable it with PATCH first", e->id);
	size_t nops = 0;
	if (suspend) {
		sim_endpoint_suspend(s, p, e);
		sim_op_add(s, p, "suspend_compute", e->branch_id, e->id);
		nops++;
	}
	if (start) {
		sim_endpoint_start(s, p, e);
		sim_op_add(s, p, "start_compute", e->branch_id, e->id);
		nops++;
	}
	r->touched = p;
	return reply_ops(r, 200, p, e, nops);
}

static int start(sim_req *r)
{
	return power(r, false, true);
}

static int suspend(sim_req *r)
{
	return power(r, true, false);
}

static int restart(sim_req *r)
{
	return power(r, true, true);
}

const sim_route SIM_ROUTES_ENDPOINTS[] = {
	{"POST", "/projects/{project_id}/endpoints", create, true},
	{"GET", "/projects/{project_id}/endpoints", list, false},
	{"GET", "/projects/{project_id}/branches/{branch_id}/endpoints", list, false},
	{"GET", "/projects/{project_id}/endpoints/{endpoint_id}", get, false},
	{"PATCH", "/projects/{project_id}/endpoints/{endpoint_id}", update, true},
	{"DELETE", "/projects/{project_id}/endpoints/{endpoint_id}", delete, true},
	{"POST", "/projects/{project_id}/endpoints/{endpoint_id}/start", start, true},
	{"POST", "/projects/{project_id}/endpoints/{endpoint_id}/suspend", suspend, true},
	{"POST", "/projects/{project_id}/endpoints/{endpoint_id}/restart", restart, true},
	{NULL, NULL, NULL, false},
};
