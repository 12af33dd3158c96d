/*
 * project.c: the project-level comparison of one tenant (one PATCH
 * /projects/{id} at most): name, history retention, default endpoint
 * settings and the settings object (quota, allowed IPs, logical
 * replication, maintenance window, public connections, pg settings).
 * The rules are plan.c's (its header comment); this is the project's share.
 */
#include <inttypes.h>
#include <string.h>

#include "diff/internal.h"

#define NS(s) ((s) ? (s) : "")

/* ------------------------------------------------------------ live values */

json_t *live_json(const char *s)
{
	return s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
}

static bool strlist_equal(const spec_list *l, const json_t *arr)
{
	size_t n = l ? l->n : 0;
	if (json_array_size(arr) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(arr, i));
		if (!s || strcmp(s, l->items[i].s) != 0)
			return false;
	}
	return true;
}

static bool map_equal(const spec_map *m, const json_t *obj)
{
	size_t n = m ? m->n : 0;
	if (json_object_size(obj) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_object_get(obj, m->keys[i]));
		if (!s || strcmp(s, m->vals[i].s) != 0)
			return false;
	}
	return true;
}

static char *fmt_window(const json_t *wd, const char *start, const char *end)
{
	buf b = BUF_INIT(0);
	int rc = 0;
	for (size_t i = 0; i < json_array_size(wd); i++)
		rc |= buf_printf(&b, "%s%" JSON_INTEGER_FORMAT, i ? "," : "", json_integer_value(json_array_get(wd, i)));
	rc |= buf_printf(&b, " %s-%s", NS(start), NS(end));
	if (rc)
		abort();
	return buf_detach(&b, NULL);
}

/* ---------------------------------------------------------- project PATCH */

void diff_project(act *x, const spec_fleet *f, const char *tenant, const spec_values *sv, const state_project *p)
{
	const spec_val *v = sv->v;
	json_t *pr = json_object(), *st = json_object();

	char *want_name = xasprintf("%s%s", spec_fleet_name_prefix(f), tenant);
	if (!p->name || strcmp(p->name, want_name) != 0) {
		act_change(x, "name", p->name, want_name);
		json_object_set_new(pr, "name", json_string(want_name));
	}
	free(want_name);
	if (v[SF_HISTORY_RETENTION].i != p->history_retention_seconds) {
		change_i(x, "historyRetention", fmt_duration, p->history_retention_seconds, v[SF_HISTORY_RETENTION].i);
		json_object_set_new(pr, "history_retention_seconds", json_integer(v[SF_HISTORY_RETENTION].i));
	}

	static const struct {
		spec_field f;
		const char *api;
		bool size;
	} Q[] = {
		{SF_QUOTA_ACTIVE_TIME, "active_time_seconds", false},
		{SF_QUOTA_COMPUTE_TIME, "compute_time_seconds", false},
		{SF_QUOTA_WRITTEN_DATA, "written_data_bytes", true},
		{SF_QUOTA_DATA_TRANSFER, "data_transfer_bytes", true},
		{SF_QUOTA_LOGICAL_SIZE, "logical_size_bytes", true},
	};
	const int64_t live_q[] = {p->quota_active_time, p->quota_compute_time, p->quota_written_data,
				  p->quota_data_transfer, p->quota_logical_size};
	bool qdiff = false;
	for (size_t i = 0; i < ARRAY_LEN(Q); i++) {
		if (v[Q[i].f].i == live_q[i])
			continue;
		qdiff = true;
		change_i(x, spec_field_get(Q[i].f)->path, Q[i].size ? fmt_size : fmt_quota_time, live_q[i], v[Q[i].f].i);
	}
	if (qdiff) {
		json_t *q = json_object();
		for (size_t i = 0; i < ARRAY_LEN(Q); i++)
			json_object_set_new(q, Q[i].api, json_integer(v[Q[i].f].i));
		json_object_set_new(st, "quota", q);
	}

	/* allowed IPs: compared as ordered lists, the order the manifest gives */
	json_t *ips = live_json(p->allowed_ips_json);
	if (json_is_object(ips)) { /* tolerate the API's {ips: [...]} shape */
		json_t *inner = json_incref(json_object_get(ips, "ips"));
		json_decref(ips);
		ips = inner;
	}
	const spec_list *want_ips = v[SF_SETTINGS_ALLOWED_IPS].list;
	bool ip_diff = !strlist_equal(want_ips, ips);
	bool pbo_diff = (bool)v[SF_SETTINGS_PROTECTED_BRANCHES_ONLY].i != p->protected_branches_only;
	if (ip_diff) {
		char *from = fmt_json_compact(ips ? ips : json_array());
		char *to = fmt_strlist(want_ips);
		/* "[\"a\",\"b\"]" reads worse than the manifest's own form */
		json_t *tmp = ips;
		buf b = BUF_INIT(0);
		int rc = buf_addc(&b, '[');
		for (size_t i = 0; i < json_array_size(tmp); i++)
			rc |= buf_printf(&b, "%s%s", i ? ", " : "", NS(json_string_value(json_array_get(tmp, i))));
		rc |= buf_addc(&b, ']');
		if (rc)
			abort();
		free(from);
		from = buf_detach(&b, NULL);
		act_change(x, "settings.allowedIps", from, to);
		free(from);
		free(to);
	}
	if (pbo_diff)
		change_i(x, "settings.protectedBranchesOnly", fmt_bool, p->protected_branches_only,
			 v[SF_SETTINGS_PROTECTED_BRANCHES_ONLY].i);
	if (ip_diff || pbo_diff) {
		json_t *arr = json_array();
		for (size_t i = 0; want_ips && i < want_ips->n; i++)
			json_array_append_new(arr, json_string(want_ips->items[i].s));
		json_object_set_new(st, "allowed_ips", json_pack("{s:o,s:b}", "ips", arr, "protected_branches_only",
								  (int)v[SF_SETTINGS_PROTECTED_BRANCHES_ONLY].i));
	}
	json_decref(ips);

	if (v[SF_SETTINGS_LOGICAL_REPLICATION].i && !p->logical_replication) {
		act_change(x, "settings.logicalReplication", "false", "true");
		json_object_set_new(st, "enable_logical_replication", json_true());
	} else if (!v[SF_SETTINGS_LOGICAL_REPLICATION].i && p->logical_replication) {
		act_change(x, "settings.logicalReplication", "true", "false");
		act_reason(x, "tenant '%s': logical replication cannot be turned off once enabled", tenant);
		x->a.kind = PLAN_BLOCKED;
	}
	if ((bool)v[SF_SETTINGS_BLOCK_PUBLIC_CONNECTIONS].i != p->block_public_connections) {
		change_i(x, "settings.blockPublicConnections", fmt_bool, p->block_public_connections,
			 v[SF_SETTINGS_BLOCK_PUBLIC_CONNECTIONS].i);
		json_object_set_new(st, "block_public_connections",
				    json_boolean(v[SF_SETTINGS_BLOCK_PUBLIC_CONNECTIONS].i));
	}

	const spec_list *wd = v[SF_SETTINGS_MW_WEEKDAYS].list;
	const char *ws = v[SF_SETTINGS_MW_START_TIME].s, *we = v[SF_SETTINGS_MW_END_TIME].s;
	if (wd && ws && we) {
		json_t *want = json_array();
		for (size_t i = 0; i < wd->n; i++)
			json_array_append_new(want, json_integer(wd->items[i].i));
		json_t *mw = live_json(p->maintenance_window_json);
		json_t *lwd = json_object_get(mw, "weekdays");
		const char *ls = json_string_value(json_object_get(mw, "start_time"));
		const char *le = json_string_value(json_object_get(mw, "end_time"));
		if (!json_equal(want, lwd) || !ls || !le || strcmp(ls, ws) != 0 || strcmp(le, we) != 0) {
			char *from = mw ? fmt_window(lwd, ls, le) : NULL;
			char *to = fmt_window(want, ws, we);
			act_change(x, "settings.maintenanceWindow", from, to);
			free(from);
			free(to);
			json_object_set_new(st, "maintenance_window",
					    json_pack("{s:O,s:s,s:s}", "weekdays", want, "start_time", ws, "end_time", we));
		}
		json_decref(mw);
		json_decref(want);
	}

	int64_t lmin = cu_quarters(p->min_cu), lmax = cu_quarters(p->max_cu), lsus = suspend_live(p->suspend_timeout_seconds);
	json_t *pgs = live_json(p->pg_settings_json);
	const spec_map *want_pgs = v[SF_COMPUTE_PG_SETTINGS].map;
	bool des = false;
	if (lmin != v[SF_COMPUTE_MIN_CU].i) {
		des = true;
		change_i(x, "compute.minCu", fmt_cu, lmin, v[SF_COMPUTE_MIN_CU].i);
	}
	if (lmax != v[SF_COMPUTE_MAX_CU].i) {
		des = true;
		change_i(x, "compute.maxCu", fmt_cu, lmax, v[SF_COMPUTE_MAX_CU].i);
	}
	if (lsus != v[SF_COMPUTE_SUSPEND_TIMEOUT].i) {
		des = true;
		change_i(x, "compute.suspendTimeout", fmt_duration, lsus, v[SF_COMPUTE_SUSPEND_TIMEOUT].i);
	}
	if (!map_equal(want_pgs, json_is_object(pgs) ? pgs : NULL)) {
		des = true;
		buf b = BUF_INIT(0);
		const char *k;
		json_t *val;
		size_t i = 0;
		int rc = buf_addc(&b, '{');
		json_object_foreach(pgs, k, val) /* jansson keeps insertion order; state stored it sorted */
			rc |= buf_printf(&b, "%s%s: %s", i++ ? ", " : "", k, NS(json_string_value(val)));
		rc |= buf_addc(&b, '}');
		if (rc)
			abort();
		char *from = buf_detach(&b, NULL), *to = fmt_map(want_pgs);
		act_change(x, "compute.pgSettings", from, to);
		free(from);
		free(to);
	}
	if (des) {
		json_t *d = json_pack("{s:o,s:o,s:I}", "autoscaling_limit_min_cu", cu_json(v[SF_COMPUTE_MIN_CU].i),
				      "autoscaling_limit_max_cu", cu_json(v[SF_COMPUTE_MAX_CU].i),
				      "suspend_timeout_seconds", (json_int_t)v[SF_COMPUTE_SUSPEND_TIMEOUT].i);
		/* pg_settings only when there are some, or to clear the live ones */
		if ((want_pgs && want_pgs->n) || json_object_size(pgs)) {
			json_t *m = json_object();
			for (size_t i = 0; want_pgs && i < want_pgs->n; i++)
				json_object_set_new(m, want_pgs->keys[i], json_string(want_pgs->vals[i].s));
			json_object_set_new(d, "pg_settings", m);
		}
		json_object_set_new(pr, "default_endpoint_settings", d);
	}
	json_decref(pgs);

	if (json_object_size(st))
		json_object_set(pr, "settings", st);
	json_decref(st);
	if (json_object_size(pr))
		act_call(x, "PATCH", json_pack("{s:o}", "project", pr), false, false, "/projects/%s", p->id);
	else
		json_decref(pr);
}

