/*
 * calls.c: the building blocks of plan actions (calls, changes, human
 * values), spec branch-tree helpers and the calls that create a tenant
 * (the deep comparison of an existing one is deep.c).
 *
 * A create is one POST /projects that carries everything Neon accepts
 * inline (the default branch with one role and one database, its
 * annotations, default endpoint settings and project settings), followed by
 * one call per further role, database, branch and read replica, all marked
 * after_create: they wait for the project's create operations. Resources
 * that do not exist yet are named by placeholders the executor fills in:
 * "{project_id}", "{branch_id:NAME}".
 */
#include <inttypes.h>
#include <string.h>

#include "diff/internal.h"

/* ---------------------------------------------------------------- actions */

void diff__act_call(act *x, const char *method, json_t *body, bool destructive, bool after_create,
	      const char *fmt, ...)
{
	if (x->count_only) {
		json_decref(body);
		x->a.ncalls++;
		return;
	}
	va_list ap;
	buf b = BUF_INIT(0);
	va_start(ap, fmt);
	if (buf_vprintf(&b, fmt, ap) != 0)
		abort(); /* max 0: only out of memory, which already aborted */
	va_end(ap);
	x->a.calls = xgrow(x->a.calls, &x->ccap, x->a.ncalls + 1, sizeof(plan_call));
	plan_call *c = &x->a.calls[x->a.ncalls++];
	c->method = xstrdup(method);
	c->path = buf_detach(&b, NULL);
	c->body = body;
	c->destructive = destructive;
	c->after_create = after_create;
}

void diff__act_change(act *x, const char *path, const char *from, const char *to)
{
	x->a.changes = xgrow(x->a.changes, &x->kcap, x->a.nchanges + 1, sizeof(plan_change));
	plan_change *c = &x->a.changes[x->a.nchanges++];
	c->path = xstrdup(path);
	c->from = from ? xstrdup(from) : NULL;
	c->to = to ? xstrdup(to) : NULL;
}

void diff__act_reason(act *x, const char *fmt, ...)
{
	va_list ap;
	buf b = BUF_INIT(0);
	if (x->a.reason) {
		if (buf_adds(&b, x->a.reason) != 0 || buf_adds(&b, "; ") != 0)
			abort();
		free(x->a.reason);
	}
	va_start(ap, fmt);
	if (buf_vprintf(&b, fmt, ap) != 0)
		abort();
	va_end(ap);
	x->a.reason = buf_detach(&b, NULL);
}

void diff__act_hint(act *x, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *h = xvasprintf(fmt, ap);
	va_end(ap);
	if (x->a.hint && strstr(x->a.hint, h)) {
		free(h);
		return;
	}
	char *joined = x->a.hint ? xasprintf("%s; %s", x->a.hint, h) : NULL;
	if (joined) {
		free(h);
		free(x->a.hint);
		h = joined;
	}
	x->a.hint = h;
}

void diff__act_release(plan_action *a)
{
	free(a->tenant);
	free(a->project_id);
	free(a->reason);
	free(a->hint);
	for (size_t i = 0; i < a->nchanges; i++) {
		free(a->changes[i].path);
		free(a->changes[i].from);
		free(a->changes[i].to);
	}
	free(a->changes);
	for (size_t i = 0; a->calls && i < a->ncalls; i++) {
		free(a->calls[i].method);
		free(a->calls[i].path);
		json_decref(a->calls[i].body);
	}
	free(a->calls);
	free(a->summary);
	for (size_t i = 0; i < a->nunmanaged; i++)
		free(a->unmanaged[i]);
	free(a->unmanaged);
}

void plan_action_calls(const plan *p, const plan_action *a, plan_calls *out)
{
	if (!a->deferred) {
		*out = (plan_calls){a->calls, a->calls ? a->ncalls : 0, false};
		return;
	}
	spec_values sv;
	spec_tenant_resolve(p->source, a->origin, &sv);
	act x;
	memset(&x, 0, sizeof(x));
	diff__plan_create_calls(&x, p->source, a->tenant, &sv);
	/* the count plan_build made without building (count_only) */
	if (x.a.ncalls != a->ncalls)
		abort();
	*out = (plan_calls){x.a.calls, x.a.ncalls, true};
}

void plan_calls_release(plan_calls *c)
{
	if (c->owned) {
		for (size_t i = 0; i < c->n; i++) {
			free(c->v[i].method);
			free(c->v[i].path);
			json_decref(c->v[i].body);
		}
		free(c->v);
	}
	memset(c, 0, sizeof(*c));
}

/* ----------------------------------------------------------- human values */

void diff__fmt_cu(int64_t quarters, char out[32])
{
	if (quarters <= 0) {
		str_copy(out, "(unset)", 32);
		return;
	}
	char t[16];
	unit_cu_format((int32_t)quarters, t);
	str_copy(out, t, 32);
}

void diff__fmt_duration(int64_t s, char out[32]) { unit_duration_format(s, out); }

/* Quota times read in hours, as people write them ("50h", not "2d2h"). */
void diff__fmt_quota_time(int64_t s, char out[32])
{
	if (s == 0)
		str_copy(out, "unlimited", 32);
	else if (s % 3600 == 0)
		snprintf(out, 32, "%" PRId64 "h", s / 3600);
	else
		unit_duration_format(s, out);
}

void diff__fmt_size(int64_t bytes, char out[32]) { unit_size_format(bytes, out); }

char *diff__fmt_strlist(const spec_list *l)
{
	buf b = BUF_INIT(0);
	int rc = buf_addc(&b, '[');
	for (size_t i = 0; l && i < l->n; i++)
		rc |= buf_printf(&b, "%s%s", i ? ", " : "", l->items[i].s);
	rc |= buf_addc(&b, ']');
	if (rc)
		abort();
	return buf_detach(&b, NULL);
}

char *diff__fmt_map(const spec_map *m)
{
	buf b = BUF_INIT(0);
	int rc = buf_addc(&b, '{');
	for (size_t i = 0; m && i < m->n; i++)
		rc |= buf_printf(&b, "%s%s: %s", i ? ", " : "", m->keys[i], m->vals[i].s);
	rc |= buf_addc(&b, '}');
	if (rc)
		abort();
	return buf_detach(&b, NULL);
}

json_t *diff__cu_json(int64_t quarters) { return json_real((double)quarters / 4.0); }

void diff__change_i(act *x, const char *path, void (*f)(int64_t, char *), int64_t from, int64_t to)
{
	char a[32], b[32];
	f(from, a);
	f(to, b);
	diff__act_change(x, path, a, b);
}

void diff__fmt_bool(int64_t b, char out[32]) { str_copy(out, b ? "true" : "false", 32); }

/* rounded without libm (diff/ does not link it): CU values are quarters */
int64_t cu_quarters(double cu) { return cu < 0 ? -(int64_t)(-cu * 4.0 + 0.5) : (int64_t)(cu * 4.0 + 0.5); }

/* Neon reads a suspend timeout of 0 as its default, 300 s */
int64_t suspend_live(int64_t s) { return s == 0 ? 300 : s; }

/* ------------------------------------------------------------ branch tree */

const spec_branch *diff__spec_default_branch(const spec_values *sv)
{
	const spec_branches *br = sv->v[SF_BRANCHES].br;
	if (!br || br->n == 0)
		return NULL;
	return &br->items[br->default_index < br->n ? br->default_index : 0];
}

const spec_branch *diff__spec_branch_find(const spec_values *sv, const char *name)
{
	const spec_branches *br = sv->v[SF_BRANCHES].br;
	for (size_t i = 0; br && name && i < br->n; i++)
		if (strcmp(br->items[i].name.s, name) == 0)
			return &br->items[i];
	return NULL;
}

const char *diff__spec_branch_parent(const spec_values *sv, const spec_branch *b)
{
	const spec_branch *d = diff__spec_default_branch(sv);
	if (b == d)
		return NULL;
	if (b->parent.o.set && b->parent.s)
		return b->parent.s;
	return d ? d->name.s : NULL;
}

bool diff__spec_inherited(const spec_values *sv, const spec_branch *b, const char *name, bool is_role)
{
	/* bounded walk: validation already refused cycles, the bound is belt and braces */
	size_t guard = sv->v[SF_BRANCHES].br ? sv->v[SF_BRANCHES].br->n : 0;
	const spec_branch *p = diff__spec_branch_find(sv, diff__spec_branch_parent(sv, b));
	while (p && guard--) {
		if (is_role) {
			for (size_t i = 0; i < p->nroles; i++)
				if (strcmp(p->roles[i].name.s, name) == 0)
					return true;
		} else {
			for (size_t i = 0; i < p->ndatabases; i++)
				if (strcmp(p->databases[i].name.s, name) == 0)
					return true;
		}
		p = diff__spec_branch_find(sv, diff__spec_branch_parent(sv, p));
	}
	return false;
}

const spec_branch **diff__spec_branches_parent_first(const spec_values *sv, size_t *n)
{
	const spec_branches *br = sv->v[SF_BRANCHES].br;
	const spec_branch *d = diff__spec_default_branch(sv);
	size_t total = br ? br->n : 0, k = 0;
	const spec_branch **out = xcalloc(total + 1, sizeof(*out));
	bool *done = xcalloc(total + 1, sizeof(bool));
	/* repeated passes in manifest order: a branch goes out once its parent
	 * has (the default branch counts as done); at most n passes */
	for (size_t pass = 0; pass < total; pass++) {
		bool progress = false;
		for (size_t i = 0; i < total; i++) {
			const spec_branch *b = &br->items[i];
			if (done[i] || b == d)
				continue;
			const char *pn = diff__spec_branch_parent(sv, b);
			const spec_branch *p = diff__spec_branch_find(sv, pn);
			if (p && p != d && !done[p - br->items])
				continue;
			done[i] = true;
			out[k++] = b;
			progress = true;
		}
		if (!progress)
			break;
	}
	free(done);
	*n = k;
	return out;
}

/* ----------------------------------------------------------------- create */

static json_t *role_body(const spec_role *r)
{
	return json_pack("{s:{s:s,s:b}}", "role", "name", r->name.s, "no_login", (int)r->no_login.i);
}

static json_t *db_body(const spec_database *d)
{
	return json_pack("{s:{s:s,s:s}}", "database", "name", d->name.s, "owner_name", d->owner.s);
}

static json_t *map_json(const spec_map *m)
{
	json_t *o = json_object();
	for (size_t i = 0; m && i < m->n; i++)
		json_object_set_new(o, m->keys[i], json_string(m->vals[i].s));
	return o;
}

void diff__replica_name(size_t index, char out[32])
{
	snprintf(out, 32, "replica-%zu", index);
}

/* A replica is named: a create whose outcome was lost is found again by
 * its name (executor's probe), where an unnamed one could only be made
 * twice. */
json_t *diff__replica_body(const spec_values *sv, const char *branch_ref, size_t index)
{
	char name[32];
	diff__replica_name(index, name);
	return json_pack("{s:{s:s,s:s,s:s,s:o,s:o,s:I}}", "endpoint", "branch_id", branch_ref, "type", "read_only",
			 "name", name, "autoscaling_limit_min_cu", diff__cu_json(sv->v[SF_COMPUTE_MIN_CU].i),
			 "autoscaling_limit_max_cu", diff__cu_json(sv->v[SF_COMPUTE_MAX_CU].i),
			 "suspend_timeout_seconds", (json_int_t)sv->v[SF_COMPUTE_SUSPEND_TIMEOUT].i);
}

static json_t *create_body(const spec_fleet *f, const char *tenant, const spec_values *sv,
			   const spec_branch *d, const char *role_name, const char *db_name)
{
	json_t *pr = json_object();
	json_object_set_new(pr, "name", json_sprintf("%s%s", spec_fleet_name_prefix(f), tenant));
	json_object_set_new(pr, "region_id", json_string(sv->v[SF_REGION].s));
	json_object_set_new(pr, "pg_version", json_integer(sv->v[SF_PG_VERSION].i));
	json_object_set_new(pr, "history_retention_seconds", json_integer(sv->v[SF_HISTORY_RETENTION].i));
	if (spec_fleet_org_id(f))
		json_object_set_new(pr, "org_id", json_string(spec_fleet_org_id(f)));

	json_t *br = json_object();
	json_object_set_new(br, "name", json_string(d->name.s));
	if (role_name)
		json_object_set_new(br, "role_name", json_string(role_name));
	if (db_name)
		json_object_set_new(br, "database_name", json_string(db_name));
	json_object_set_new(br, "annotations", json_pack("{s:s,s:s}", "flotilla.fleet", spec_fleet_name(f),
							   "flotilla.tenant", tenant));
	json_object_set_new(pr, "branch", br);

	json_t *des = json_pack("{s:o,s:o,s:I}", "autoscaling_limit_min_cu", diff__cu_json(sv->v[SF_COMPUTE_MIN_CU].i),
				"autoscaling_limit_max_cu", diff__cu_json(sv->v[SF_COMPUTE_MAX_CU].i),
				"suspend_timeout_seconds", (json_int_t)sv->v[SF_COMPUTE_SUSPEND_TIMEOUT].i);
	const spec_map *pgs = sv->v[SF_COMPUTE_PG_SETTINGS].map;
	if (pgs && pgs->n)
		json_object_set_new(des, "pg_settings", map_json(pgs));
	json_object_set_new(pr, "default_endpoint_settings", des);

	/* all five quotas are sent: 0 is Neon's "unlimited", so sending it is
	 * harmless and states the intent explicitly */
	json_t *st = json_object();
	json_object_set_new(st, "quota",
			    json_pack("{s:I,s:I,s:I,s:I,s:I}", "active_time_seconds",
				      (json_int_t)sv->v[SF_QUOTA_ACTIVE_TIME].i, "compute_time_seconds",
				      (json_int_t)sv->v[SF_QUOTA_COMPUTE_TIME].i, "written_data_bytes",
				      (json_int_t)sv->v[SF_QUOTA_WRITTEN_DATA].i, "data_transfer_bytes",
				      (json_int_t)sv->v[SF_QUOTA_DATA_TRANSFER].i, "logical_size_bytes",
				      (json_int_t)sv->v[SF_QUOTA_LOGICAL_SIZE].i));
	const spec_list *ips = sv->v[SF_SETTINGS_ALLOWED_IPS].list;
	if (ips && ips->n) {
		json_t *arr = json_array();
		for (size_t i = 0; i < ips->n; i++)
			json_array_append_new(arr, json_string(ips->items[i].s));
		json_object_set_new(st, "allowed_ips", json_pack("{s:o,s:b}", "ips", arr, "protected_branches_only",
								  (int)sv->v[SF_SETTINGS_PROTECTED_BRANCHES_ONLY].i));
	}
	if (sv->v[SF_SETTINGS_LOGICAL_REPLICATION].i)
		json_object_set_new(st, "enable_logical_replication", json_true());
	const spec_list *wd = sv->v[SF_SETTINGS_MW_WEEKDAYS].list;
	if (wd && sv->v[SF_SETTINGS_MW_START_TIME].s && sv->v[SF_SETTINGS_MW_END_TIME].s) {
		json_t *arr = json_array();
		for (size_t i = 0; i < wd->n; i++)
			json_array_append_new(arr, json_integer(wd->items[i].i));
		json_object_set_new(st, "maintenance_window",
				    json_pack("{s:o,s:s,s:s}", "weekdays", arr, "start_time",
					      sv->v[SF_SETTINGS_MW_START_TIME].s, "end_time",
					      sv->v[SF_SETTINGS_MW_END_TIME].s));
	}
	if (sv->v[SF_SETTINGS_BLOCK_PUBLIC_CONNECTIONS].i)
		json_object_set_new(st, "block_public_connections", json_true());
	json_object_set_new(pr, "settings", st);
	return json_pack("{s:o}", "project", pr);
}

/*
 * The default branch's inline role and database: its first database, owned
 * by its owner. Without a database Neon still makes "neondb" (owned by the
 * given role, or by a new "neondb_owner"): both are deleted right after, so
 * the next plan is clean. They are empty, so those deletes are not
 * destructive. The deletes come before any branch is created, so no branch
 * inherits them.
 */
void diff__plan_create_calls(act *x, const spec_fleet *f, const char *tenant, const spec_values *sv)
{
	const spec_branch *d = diff__spec_default_branch(sv);
	const char *role_name = NULL, *db_name = NULL;
	const spec_database *inline_db = NULL;
	const spec_role *inline_role = NULL;
	if (d->ndatabases) {
		inline_db = &d->databases[0];
		db_name = inline_db->name.s;
		role_name = inline_db->owner.s;
		for (size_t i = 0; i < d->nroles; i++)
			if (strcmp(d->roles[i].name.s, role_name) == 0)
				inline_role = &d->roles[i];
	} else if (d->nroles) {
		inline_role = &d->roles[0];
		role_name = inline_role->name.s;
	}
	diff__act_call(x, "POST", BODY(x, create_body(f, tenant, sv, d, role_name, db_name)), false, false, "/projects");

	const char *dn = d->name.s;
	/* project.branch has no "protected": the flag takes its own call */
	if (d->protect.i)
		diff__act_call(x, "PATCH", BODY(x, json_pack("{s:{s:b}}", "branch", "protected", 1)), false, true,
			 "/projects/{project_id}/branches/{branch_id:%s}", dn);
	if (!inline_db)
		diff__act_call(x, "DELETE", NULL, false, true, "/projects/{project_id}/branches/{branch_id:%s}/databases/neondb",
			 dn);
	if (!role_name)
		diff__act_call(x, "DELETE", NULL, false, true,
			 "/projects/{project_id}/branches/{branch_id:%s}/roles/neondb_owner", dn);
	/* the inline role is created with login; noLogin on it cannot be sent
	 * inline (ProjectCreateRequest has no such field): documented limit */
	for (size_t i = 0; i < d->nroles; i++)
		if (&d->roles[i] != inline_role)
			diff__act_call(x, "POST", BODY(x, role_body(&d->roles[i])), false, true,
				 "/projects/{project_id}/branches/{branch_id:%s}/roles", dn);
	for (size_t i = 0; i < d->ndatabases; i++)
		if (&d->databases[i] != inline_db)
			diff__act_call(x, "POST", BODY(x, db_body(&d->databases[i])), false, true,
				 "/projects/{project_id}/branches/{branch_id:%s}/databases", dn);

	size_t nb = 0;
	const spec_branch **order = diff__spec_branches_parent_first(sv, &nb);
	for (size_t k = 0; k < nb; k++) {
		const spec_branch *b = order[k];
		json_t *body = BODY(x, json_pack("{s:{s:s,s:s++,s:b},s:o}", "branch", "name", b->name.s, "parent_id",
						 "{branch_id:", diff__spec_branch_parent(sv, b), "}", "protected",
						 (int)b->protect.i, "annotation_value",
						 diff__branch_annotations(spec_fleet_name(f), tenant)));
		diff__act_call(x, "POST", body, false, true, "/projects/{project_id}/branches");
		/* a branch starts with copies of its parent's roles and databases:
		 * only what it does not inherit takes a call */
		for (size_t i = 0; i < b->nroles; i++)
			if (!diff__spec_inherited(sv, b, b->roles[i].name.s, true))
				diff__act_call(x, "POST", BODY(x, role_body(&b->roles[i])), false, true,
					 "/projects/{project_id}/branches/{branch_id:%s}/roles", b->name.s);
		for (size_t i = 0; i < b->ndatabases; i++)
			if (!diff__spec_inherited(sv, b, b->databases[i].name.s, false))
				diff__act_call(x, "POST", BODY(x, db_body(&b->databases[i])), false, true,
					 "/projects/{project_id}/branches/{branch_id:%s}/databases", b->name.s);
	}
	free(order);

	char ref[300];
	snprintf(ref, sizeof(ref), "{branch_id:%s}", dn);
	for (int64_t i = 0; i < sv->v[SF_READ_REPLICAS].i; i++)
		diff__act_call(x, "POST", BODY(x, diff__replica_body(sv, ref, (size_t)i + 1)), false, true,
			 "/projects/{project_id}/endpoints");
	diff__backups_create(x, sv, ref);
}
