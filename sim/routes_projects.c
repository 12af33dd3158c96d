/*
 * routes_projects.c: /projects: create, list, get, update, delete,
 * recover; and the request checks every route file shares.
 *
 * A create makes what Neon makes: the project, its default branch (with
 * the annotations given), one role, one database and one read_write
 * endpoint, and returns them with the create_timeline and start_compute
 * operations. Updates take only what ProjectUpdateRequest lists; region,
 * pg_version, org_id and store_passwords cannot change (docs/neon-api.md) and
 * are ignored when sent, as Neon's decoder ignores unknown members.
 *
 * Neon's harsher behaviours (docs/sim.md) live here too, each off unless
 * asked for: org_id required (--require-org-id), list pages that name some
 * projects as unavailable and reads by id that fail the same way
 * (unavailable_rate), and the plan's limits (--plan). One of Neon's rules
 * always holds: a project with a protected branch cannot be deleted.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "sim/sim.h"

/* ------------------------------------------------------- shared checks */

static bool number_member(sim_req *r, const json_t *obj, const char *key, double *out)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return true;
	if (!json_is_number(v)) {
		sim_error(r, 400, "", "%s must be a number", key);
		return false;
	}
	*out = json_number_value(v);
	return true;
}

bool sim_check_compute(sim_req *r, const json_t *obj, double *min_cu, double *max_cu, int64_t *suspend)
{
	if (!obj)
		return true;
	double mn = *min_cu, mx = *max_cu;
	bool have_min = json_object_get(obj, "autoscaling_limit_min_cu") != NULL;
	bool have_max = json_object_get(obj, "autoscaling_limit_max_cu") != NULL;
	if (!number_member(r, obj, "autoscaling_limit_min_cu", &mn) ||
	    !number_member(r, obj, "autoscaling_limit_max_cu", &mx))
		return false;
	/* a request that raises only the minimum lifts the maximum with it */
	if (have_min && !have_max && mx < mn)
		mx = mn;
	if (mn < 0.25) {
		sim_error(r, 400, "", "autoscaling_limit_min_cu must be at least 0.25, got %g", mn);
		return false;
	}
	if (fmod(mn * 4, 1.0) != 0 || fmod(mx * 4, 1.0) != 0) {
		sim_error(r, 400, "", "compute units must be multiples of 0.25");
		return false;
	}
	if (mx < mn) {
		sim_error(r, 400, "", "autoscaling_limit_max_cu (%g) must be greater than or equal to "
				       "autoscaling_limit_min_cu (%g)", mx, mn);
		return false;
	}
	if (mx - mn > 8) {
		sim_error(r, 400, "", "the difference between autoscaling_limit_max_cu and "
				       "autoscaling_limit_min_cu must be at most 8, got %g", mx - mn);
		return false;
	}
	if (mx > mn && mx > 16) {
		sim_error(r, 400, "", "autoscaling_limit_max_cu must be at most 16 when autoscaling, got %g", mx);
		return false;
	}
	if (mx > 56) {
		sim_error(r, 400, "", "a fixed compute size must be at most 56, got %g", mx);
		return false;
	}
	/* --plan: the plan's own ceilings, below Neon's absolute ones */
	const sim_plan *plan = r->s->cfg->plan;
	double plan_max = !plan ? 56 : mx > mn ? plan->autoscaling_max : plan->fixed_max;
	if (plan && mx > plan_max) {
		sim_error(r, 400, "", "autoscaling_limit_max_cu must be at most %g on the %s plan, got %g", plan_max,
			  plan->name, mx);
		return false;
	}
	json_t *st = json_object_get(obj, "suspend_timeout_seconds");
	if (st && !json_is_null(st)) {
		if (!json_is_integer(st)) {
			sim_error(r, 400, "", "suspend_timeout_seconds must be an integer");
			return false;
		}
		json_int_t v = json_integer_value(st);
		if (v < -1 || v > 604800 || (v > 0 && v < 60)) {
			sim_error(r, 400, "", "suspend_timeout_seconds must be -1, 0 or between 60 and 604800, got %"
					       JSON_INTEGER_FORMAT, v);
			return false;
		}
		*suspend = v;
	}
	*min_cu = mn;
	*max_cu = mx;
	return true;
}

bool sim_check_string(sim_req *r, const json_t *obj, const char *key, size_t max, const char **out)
{
	*out = NULL;
	json_t *v = obj ? json_object_get(obj, key) : NULL;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max) {
		sim_error(r, 400, "", "%s must be a string of 1 to %zu characters", key, max);
		return false;
	}
	*out = json_string_value(v);
	return true;
}

sim_project *sim_need_project(sim_req *r, size_t param)
{
	sim_project *p = sim_project_find(r->s, r->params[param]);
	if (!p)
		sim_error(r, 404, "", "project not found");
	return p;
}

sim_branch *sim_need_branch(sim_req *r, sim_project *p, size_t param)
{
	sim_branch *b = sim_branch_find(p, r->params[param]);
	if (!b)
		sim_error(r, 404, "", "branch not found");
	return b;
}

/* ------------------------------------------------------------ settings */

static const char *const QUOTA_KEYS[] = {"active_time_seconds", "compute_time_seconds", "written_data_bytes",
					 "data_transfer_bytes", "logical_size_bytes"};

/*
 * Check a ProjectSettingsData and fold it into `into` (member by member,
 * as PATCH does). Quota values are int64 >= 0; logical replication, once
 * on, stays on (docs/neon-api.md).
 */
static bool apply_settings(sim_req *r, json_t *into, const json_t *in)
{
	if (!in)
		return true;
	if (!json_is_object(in)) {
		sim_error(r, 400, "", "settings must be an object");
		return false;
	}
	json_t *q = json_object_get(in, "quota");
	if (q) {
		if (!json_is_object(q)) {
			sim_error(r, 400, "", "settings.quota must be an object");
			return false;
		}
		for (size_t i = 0; i < ARRAY_LEN(QUOTA_KEYS); i++) {
			json_t *v = json_object_get(q, QUOTA_KEYS[i]);
			if (v && (!json_is_integer(v) || json_integer_value(v) < 0)) {
				sim_error(r, 400, "", "settings.quota.%s must be an integer >= 0", QUOTA_KEYS[i]);
				return false;
			}
		}
	}
	json_t *lr = json_object_get(in, "enable_logical_replication");
	if (lr && json_is_false(lr) && json_is_true(json_object_get(into, "enable_logical_replication"))) {
		sim_error(r, 400, "", "logical replication cannot be disabled once it is enabled");
		return false;
	}
	json_t *ips = json_object_get(in, "allowed_ips");
	if (ips && (!json_is_object(ips) ||
		    (json_object_get(ips, "ips") && !json_is_array(json_object_get(ips, "ips"))))) {
		sim_error(r, 400, "", "settings.allowed_ips must be an object with an 'ips' array");
		return false;
	}
	json_t *mw = json_object_get(in, "maintenance_window");
	if (mw && !(json_is_object(mw) && json_is_array(json_object_get(mw, "weekdays")) &&
		    json_is_string(json_object_get(mw, "start_time")) &&
		    json_is_string(json_object_get(mw, "end_time")))) {
		sim_error(r, 400, "", "settings.maintenance_window needs weekdays, start_time and end_time");
		return false;
	}
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)in, key, v)
		json_object_set(into, key, v);
	return true;
}

static bool apply_endpoint_settings(sim_req *r, json_t *into, const json_t *in, double *mn, double *mx,
				    int64_t *st)
{
	if (!in)
		return true;
	if (!json_is_object(in)) {
		sim_error(r, 400, "", "default_endpoint_settings must be an object");
		return false;
	}
	if (!sim_check_compute(r, in, mn, mx, st))
		return false;
	json_t *pg = json_object_get(in, "pg_settings");
	if (pg && !json_is_object(pg)) {
		sim_error(r, 400, "", "default_endpoint_settings.pg_settings must be an object of strings");
		return false;
	}
	json_object_set_new(into, "autoscaling_limit_min_cu", json_real(*mn));
	json_object_set_new(into, "autoscaling_limit_max_cu", json_real(*mx));
	json_object_set_new(into, "suspend_timeout_seconds", json_integer(*st));
	if (pg)
		json_object_set(into, "pg_settings", pg);
	return true;
}

static bool check_retention(sim_req *r, const json_t *obj, int64_t *out)
{
	json_t *v = json_object_get(obj, "history_retention_seconds");
	if (!v)
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 2592000) {
		sim_error(r, 400, "", "history_retention_seconds must be an integer from 0 to 2592000");
		return false;
	}
	if (!sim_check_retention_plan(r, json_integer_value(v)))
		return false;
	*out = json_integer_value(v);
	return true;
}

/* -------------------------------------------------------------- create */

static int create(sim_req *r)
{
	sim_store *s = r->s;
	json_t *in = r->body ? json_object_get(r->body, "project") : NULL;
	if (!in || !json_is_object(in))
		return sim_error(r, 400, "", "request body must be {\"project\": {...}}");
	/* the organization first: without it Neon cannot tell whose limit */
	json_t *orgv = json_object_get(in, "org_id");
	if (!sim_check_org(r, json_is_string(orgv) ? json_string_value(orgv) : NULL) || !sim_check_projects_limit(r))
		return 0;
	const char *name, *region, *org;
	if (!sim_check_string(r, in, "name", 256, &name) || !sim_check_string(r, in, "region_id", 64, &region) ||
	    !sim_check_string(r, in, "org_id", 60, &org))
		return 0;
	if (!region)
		region = "aws-us-east-2";
	if (!sim_region_exists(region))
		return sim_error(r, 400, "", "region '%s' is not available", region);
	json_t *pgv = json_object_get(in, "pg_version");
	int pg = 17;
	if (pgv) {
		if (!json_is_integer(pgv) || json_integer_value(pgv) < 14 || json_integer_value(pgv) > 18)
			return sim_error(r, 400, "", "pg_version must be 14, 15, 16, 17 or 18");
		pg = (int)json_integer_value(pgv);
	}
	int64_t retention = sim_default_retention(s->cfg);
	if (!check_retention(r, in, &retention))
		return 0;
	json_t *branch_in = json_object_get(in, "branch");
	if (branch_in && !json_is_object(branch_in))
		return sim_error(r, 400, "", "branch must be an object");
	const char *bname, *role_name, *db_name;
	if (!sim_check_string(r, branch_in, "name", 256, &bname) ||
	    !sim_check_string(r, branch_in, "role_name", 63, &role_name) ||
	    !sim_check_string(r, branch_in, "database_name", 63, &db_name))
		return 0;
	json_t *ann = branch_in ? json_object_get(branch_in, "annotations") : NULL;
	if (ann && (!json_is_object(ann) || json_object_size(ann) > 50))
		return sim_error(r, 400, "", "branch.annotations must be an object of at most 50 strings");
	const char *k;
	json_t *v;
	json_object_foreach(ann, k, v)
		if (!json_is_string(v))
			return sim_error(r, 400, "", "annotation '%s' must be a string", k);

	/* everything is checked before anything is made */
	json_t *settings = json_object(), *des = json_object();
	double mn = 0.25, mx = 0.25;
	int64_t st = 0;
	if (!apply_settings(r, settings, json_object_get(in, "settings")) ||
	    !apply_endpoint_settings(r, des, json_object_get(in, "default_endpoint_settings"), &mn, &mx, &st)) {
		json_decref(settings);
		json_decref(des);
		return 0;
	}
	json_t *sp = json_object_get(in, "store_passwords");

	sim_project *p = sim_project_new(s, name);
	p->region_id = xstrdup(region);
	p->org_id = org ? xstrdup(org) : NULL;
	p->pg_version = pg;
	p->history_retention = retention;
	p->store_passwords = sp ? json_is_true(sp) : true;
	json_decref(p->settings);
	json_decref(p->default_endpoint_settings);
	p->settings = settings;
	p->default_endpoint_settings = des;

	sim_branch *b = sim_branch_add(s, p, bname ? bname : "main");
	b->is_default = true;
	b->annotations = ann ? json_deep_copy(ann) : NULL;
	if (!db_name)
		db_name = "neondb";
	char owner[80];
	if (role_name)
		str_copy(owner, role_name, sizeof(owner));
	else
		snprintf(owner, sizeof(owner), "%s_owner", db_name);
	sim_role *role = sim_role_add(s, p, b, owner, false);
	sim_database *db = sim_db_add(s, p, b, db_name, owner);
	sim_endpoint *e = sim_endpoint_add(s, p, b->id, true);
	e->min_cu = mn;
	e->max_cu = mx;
	e->suspend_timeout = st;
	sim_endpoint_start(s, p, e);
	sim_op_add(s, p, "create_timeline", b->id, NULL);
	sim_op_add(s, p, "start_compute", b->id, e->id);
	r->touched = p;

	int64_t now_ms = mono_ms();
	json_t *out = json_object();
	json_object_set_new(out, "project", sim_render_project(s, p, false));
	json_t *uris = json_array();
	json_array_append_new(uris, sim_render_connection_uri(p, b, e, db->name, role->name, false));
	json_object_set_new(out, "connection_uris", uris);
	json_t *roles = json_array();
	json_array_append_new(roles, sim_render_role(role, b->id, true));
	json_object_set_new(out, "roles", roles);
	json_t *dbs = json_array();
	json_array_append_new(dbs, sim_render_database(db, b->id));
	json_object_set_new(out, "databases", dbs);
	json_object_set_new(out, "operations", sim_render_new_ops(p, 2, now_ms));
	json_object_set_new(out, "branch", sim_render_branch(s, p, b));
	json_t *eps = json_array();
	json_array_append_new(eps, sim_render_endpoint(s, p, e));
	json_object_set_new(out, "endpoints", eps);
	return sim_reply(r, 201, out);
}

/* ---------------------------------------------------------------- list */

/* First index whose seq is above `cursor` (projects are in seq order). */
static size_t seek(sim_store *s, uint64_t cursor)
{
	size_t lo = 0, hi = s->nprojects;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->projects[mid]->seq <= cursor)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int list(sim_req *r)
{
	sim_store *s = r->s;
	const char *lim = sim_query(r, "limit"), *cur = sim_query(r, "cursor");
	const char *search = sim_query(r, "search"), *org = sim_query(r, "org_id");
	const char *rec = sim_query(r, "recoverable");
	int64_t limit = 10, cursor = 0;
	if (lim && (str_to_i64(lim, &limit) != 0 || limit < 1 || limit > 400))
		return sim_error(r, 400, "", "limit must be an integer from 1 to 400");
	if (cur && *cur && (str_to_i64(cur, &cursor) != 0 || cursor < 0))
		return sim_error(r, 400, "", "cursor is not valid");
	bool recoverable = rec && strcmp(rec, "true") == 0;
	if (rec && !recoverable && strcmp(rec, "false") != 0)
		return sim_error(r, 400, "", "recoverable must be true or false");
	if (!sim_check_org(r, org))
		return 0;

	/* A page covers `limit` projects; each is, at unavailable_rate, named
	 * in unavailable_project_ids instead of listed, as Neon does when a
	 * project's details miss the request's time limit. The cursor is the
	 * last one covered either way, so the next page goes on after it. */
	double unavailable = s->faults.unavailable_rate;
	json_t *arr = json_array(), *missing = json_array();
	uint64_t last = (uint64_t)cursor;
	int64_t n = 0;
	for (size_t i = seek(s, (uint64_t)cursor); i < s->nprojects && n < limit; i++) {
		sim_project *p = s->projects[i];
		if (recoverable != (p->deleted_at != 0))
			continue;
		if (search && *search && !strstr(p->name, search) && !strstr(p->id, search))
			continue;
		if (org && *org && !(p->org_id && strcmp(p->org_id, org) == 0))
			continue;
		if (unavailable > 0 && sim_rand01(&s->fault_rng) < unavailable) {
			json_array_append_new(missing, json_string(p->id));
			s->stats.unavailable_listed++;
		} else {
			json_array_append_new(arr, sim_render_project(s, p, true));
		}
		last = p->seq;
		n++;
	}
	json_t *out = json_object();
	json_object_set_new(out, "projects", arr);
	json_object_set_new(out, "unavailable_project_ids", missing);
	json_t *pg = json_object();
	char c[24];
	snprintf(c, sizeof(c), "%" PRIu64, last);
	json_object_set_new(pg, "cursor", json_string(c));
	json_object_set_new(out, "pagination", pg);
	json_object_set_new(out, "applications", json_object());
	json_object_set_new(out, "integrations", json_object());
	return sim_reply(r, 200, out);
}

/* ------------------------------------------------- get, update, delete */

static int get(sim_req *r)
{
	sim_store *s = r->s;
	sim_project *p = sim_need_project(r, 0);
	if (!p)
		return 0;
	/* the same time limit that leaves projects out of list pages; a fresh
	 * roll each time, so reading again usually works */
	if (s->faults.unavailable_rate > 0 && sim_rand01(&s->fault_rng) < s->faults.unavailable_rate)
		return sim_error(r, 503, "", "project details are temporarily unavailable");
	json_t *out = json_object();
	json_object_set_new(out, "project", sim_render_project(r->s, p, false));
	return sim_reply(r, 200, out);
}

static int update(sim_req *r)
{
	sim_store *s = r->s;
	sim_project *p = sim_need_project(r, 0);
	if (!p)
		return 0;
	if (sim_locked(r, p))
		return 0;
	json_t *in = r->body ? json_object_get(r->body, "project") : NULL;
	if (!in || !json_is_object(in))
		return sim_error(r, 400, "", "request body must be {\"project\": {...}}");
	const char *name;
	int64_t retention = p->history_retention;
	if (!sim_check_string(r, in, "name", 256, &name) || !check_retention(r, in, &retention))
		return 0;
	/* check on copies: a rejected PATCH changes nothing */
	json_t *settings = json_deep_copy(p->settings), *des = json_deep_copy(p->default_endpoint_settings);
	json_t *mnv = json_object_get(des, "autoscaling_limit_min_cu"), *mxv = json_object_get(des, "autoscaling_limit_max_cu");
	double mn = mnv ? json_number_value(mnv) : 0.25, mx = mxv ? json_number_value(mxv) : 0.25;
	int64_t st = json_integer_value(json_object_get(des, "suspend_timeout_seconds"));
	if (!apply_settings(r, settings, json_object_get(in, "settings")) ||
	    !apply_endpoint_settings(r, des, json_object_get(in, "default_endpoint_settings"), &mn, &mx, &st)) {
		json_decref(settings);
		json_decref(des);
		return 0;
	}
	bool config = json_object_get(in, "settings") || json_object_get(in, "default_endpoint_settings");
	bool storage = retention != p->history_retention;
	if (name && strcmp(name, p->name) != 0) {
		sim_name_count_add(s, p->name, -1);
		free(p->name);
		p->name = xstrdup(name);
		sim_name_count_add(s, p->name, 1);
	}
	json_decref(p->settings);
	json_decref(p->default_endpoint_settings);
	p->settings = settings;
	p->default_endpoint_settings = des;
	p->history_retention = retention;
	p->updated_at = sim_now(s);
	size_t nops = 0;
	sim_branch *b = sim_branch_default(p);
	if (config) {
		sim_op_add(s, p, "apply_config", b ? b->id : NULL, NULL);
		nops++;
	}
	if (storage) {
		sim_op_add(s, p, "apply_storage_config", b ? b->id : NULL, NULL);
		nops++;
	}
	r->touched = p;
	json_t *out = json_object();
	json_object_set_new(out, "project", sim_render_project(s, p, false));
	json_object_set_new(out, "operations", sim_render_new_ops(p, nops, mono_ms()));
	return sim_reply(r, 200, out);
}

static int delete(sim_req *r)
{
	sim_project *p = sim_need_project(r, 0);
	if (!p)
		return 0;
	if (sim_locked(r, p))
		return 0;
	for (size_t i = 0; i < p->nbranches; i++)
		if (p->branches[i].protected_)
			return sim_error(r, 400, "", "project '%s' has protected branches and cannot be deleted", p->id);
	sim_project_delete(r->s, p);
	r->touched = p;
	json_t *out = json_object();
	json_object_set_new(out, "project", sim_render_project(r->s, p, false));
	return sim_reply(r, 200, out);
}

static int recover(sim_req *r)
{
	sim_store *s = r->s;
	sim_project *p = sim_project_find_any(s, r->params[0]);
	if (!p)
		return sim_error(r, 404, "", "project not found");
	if (!p->deleted_at)
		return sim_error(r, 400, "", "project is not deleted");
	if (!sim_check_projects_limit(r))
		return 0;
	sim_project_recover(s, p);
	r->touched = p;
	json_t *out = json_object();
	json_object_set_new(out, "project", sim_render_project(s, p, false));
	json_t *branches = json_array();
	for (size_t i = 0; i < p->nbranches; i++)
		json_array_append_new(branches, sim_render_branch(s, p, &p->branches[i]));
	json_object_set_new(out, "branches", branches);
	return sim_reply(r, 200, out);
}

const sim_route SIM_ROUTES_PROJECTS[] = {
	{"GET", "/projects", list, false},
	{"POST", "/projects", create, true},
	{"GET", "/projects/{project_id}", get, false},
	{"PATCH", "/projects/{project_id}", update, true},
	{"DELETE", "/projects/{project_id}", delete, true},
	{"POST", "/projects/{project_id}/recover", recover, true},
	{NULL, NULL, NULL, false},
};
