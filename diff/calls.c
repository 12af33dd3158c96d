/*
 * calls.c: the building blocks of plan actions (calls, changes, human
 * values), spec branch-tree helpers, the calls that create a tenant, and
 * the deep comparison of an existing one (endpoints, replicas, branches,
 * roles, databases).
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

void act_call(act *x, const char *method, json_t *body, bool destructive, bool after_create,
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

void act_change(act *x, const char *path, const char *from, const char *to)
{
	x->a.changes = xgrow(x->a.changes, &x->kcap, x->a.nchanges + 1, sizeof(plan_change));
	plan_change *c = &x->a.changes[x->a.nchanges++];
	c->path = xstrdup(path);
	c->from = from ? xstrdup(from) : NULL;
	c->to = to ? xstrdup(to) : NULL;
}

void act_reason(act *x, const char *fmt, ...)
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

void act_release(plan_action *a)
{
	free(a->tenant);
	free(a->project_id);
	free(a->reason);
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
	plan_create_calls(&x, p->source, a->tenant, &sv);
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

void fmt_cu(int64_t quarters, char out[32])
{
	if (quarters <= 0) {
		str_copy(out, "(unset)", 32);
		return;
	}
	char t[16];
	unit_cu_format((int32_t)quarters, t);
	str_copy(out, t, 32);
}

void fmt_duration(int64_t s, char out[32]) { unit_duration_format(s, out); }

/* Quota times read in hours, as people write them ("50h", not "2d2h"). */
void fmt_quota_time(int64_t s, char out[32])
{
	if (s == 0)
		str_copy(out, "unlimited", 32);
	else if (s % 3600 == 0)
		snprintf(out, 32, "%" PRId64 "h", s / 3600);
	else
		unit_duration_format(s, out);
}

void fmt_size(int64_t bytes, char out[32]) { unit_size_format(bytes, out); }

char *fmt_json_compact(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (!s)
		abort();
	char *r = xstrdup(s);
	free(s);
	return r;
}

char *fmt_strlist(const spec_list *l)
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

char *fmt_map(const spec_map *m)
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

json_t *cu_json(int64_t quarters) { return json_real((double)quarters / 4.0); }

void change_i(act *x, const char *path, void (*f)(int64_t, char *), int64_t from, int64_t to)
{
	char a[32], b[32];
	f(from, a);
	f(to, b);
	act_change(x, path, a, b);
}

void fmt_bool(int64_t b, char out[32]) { str_copy(out, b ? "true" : "false", 32); }

/* rounded without libm (diff/ does not link it): CU values are quarters */
int64_t cu_quarters(double cu) { return cu < 0 ? -(int64_t)(-cu * 4.0 + 0.5) : (int64_t)(cu * 4.0 + 0.5); }

/* Neon reads a suspend timeout of 0 as its default, 300 s */
int64_t suspend_live(int64_t s) { return s == 0 ? 300 : s; }

/* ------------------------------------------------------------ branch tree */

const spec_branch *spec_default_branch(const spec_values *sv)
{
	const spec_branches *br = sv->v[SF_BRANCHES].br;
	if (!br || br->n == 0)
		return NULL;
	return &br->items[br->default_index < br->n ? br->default_index : 0];
}

const spec_branch *spec_branch_find(const spec_values *sv, const char *name)
{
	const spec_branches *br = sv->v[SF_BRANCHES].br;
	for (size_t i = 0; br && name && i < br->n; i++)
		if (strcmp(br->items[i].name.s, name) == 0)
			return &br->items[i];
	return NULL;
}

const char *spec_branch_parent(const spec_values *sv, const spec_branch *b)
{
	const spec_branch *d = spec_default_branch(sv);
	if (b == d)
		return NULL;
	if (b->parent.o.set && b->parent.s)
		return b->parent.s;
	return d ? d->name.s : NULL;
}

bool spec_inherited(const spec_values *sv, const spec_branch *b, const char *name, bool is_role)
{
	/* bounded walk: validation already refused cycles, the bound is belt and braces */
	size_t guard = sv->v[SF_BRANCHES].br ? sv->v[SF_BRANCHES].br->n : 0;
	const spec_branch *p = spec_branch_find(sv, spec_branch_parent(sv, b));
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
		p = spec_branch_find(sv, spec_branch_parent(sv, p));
	}
	return false;
}

const spec_branch **spec_branches_parent_first(const spec_values *sv, size_t *n)
{
	const spec_branches *br = sv->v[SF_BRANCHES].br;
	const spec_branch *d = spec_default_branch(sv);
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
			const char *pn = spec_branch_parent(sv, b);
			const spec_branch *p = spec_branch_find(sv, pn);
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

void replica_name(size_t index, char out[32])
{
	snprintf(out, 32, "replica-%zu", index);
}

/* A replica is named: a create whose outcome was lost is found again by
 * its name (executor's probe), where an unnamed one could only be made
 * twice. */
json_t *replica_body(const spec_values *sv, const char *branch_ref, size_t index)
{
	char name[32];
	replica_name(index, name);
	return json_pack("{s:{s:s,s:s,s:s,s:o,s:o,s:I}}", "endpoint", "branch_id", branch_ref, "type", "read_only",
			 "name", name, "autoscaling_limit_min_cu", cu_json(sv->v[SF_COMPUTE_MIN_CU].i),
			 "autoscaling_limit_max_cu", cu_json(sv->v[SF_COMPUTE_MAX_CU].i),
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

	json_t *des = json_pack("{s:o,s:o,s:I}", "autoscaling_limit_min_cu", cu_json(sv->v[SF_COMPUTE_MIN_CU].i),
				"autoscaling_limit_max_cu", cu_json(sv->v[SF_COMPUTE_MAX_CU].i),
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
void plan_create_calls(act *x, const spec_fleet *f, const char *tenant, const spec_values *sv)
{
	const spec_branch *d = spec_default_branch(sv);
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
	act_call(x, "POST", BODY(x, create_body(f, tenant, sv, d, role_name, db_name)), false, false, "/projects");

	const char *dn = d->name.s;
	/* project.branch has no "protected": the flag takes its own call */
	if (d->protect.i)
		act_call(x, "PATCH", BODY(x, json_pack("{s:{s:b}}", "branch", "protected", 1)), false, true,
			 "/projects/{project_id}/branches/{branch_id:%s}", dn);
	if (!inline_db)
		act_call(x, "DELETE", NULL, false, true, "/projects/{project_id}/branches/{branch_id:%s}/databases/neondb",
			 dn);
	if (!role_name)
		act_call(x, "DELETE", NULL, false, true,
			 "/projects/{project_id}/branches/{branch_id:%s}/roles/neondb_owner", dn);
	/* the inline role is created with login; noLogin on it cannot be sent
	 * inline (ProjectCreateRequest has no such field): documented limit */
	for (size_t i = 0; i < d->nroles; i++)
		if (&d->roles[i] != inline_role)
			act_call(x, "POST", BODY(x, role_body(&d->roles[i])), false, true,
				 "/projects/{project_id}/branches/{branch_id:%s}/roles", dn);
	for (size_t i = 0; i < d->ndatabases; i++)
		if (&d->databases[i] != inline_db)
			act_call(x, "POST", BODY(x, db_body(&d->databases[i])), false, true,
				 "/projects/{project_id}/branches/{branch_id:%s}/databases", dn);

	size_t nb = 0;
	const spec_branch **order = spec_branches_parent_first(sv, &nb);
	for (size_t k = 0; k < nb; k++) {
		const spec_branch *b = order[k];
		json_t *body = BODY(x, json_pack("{s:{s:s,s:s++,s:b}}", "branch", "name", b->name.s, "parent_id",
						 "{branch_id:", spec_branch_parent(sv, b), "}", "protected",
						 (int)b->protect.i));
		act_call(x, "POST", body, false, true, "/projects/{project_id}/branches");
		/* a branch starts with copies of its parent's roles and databases:
		 * only what it does not inherit takes a call */
		for (size_t i = 0; i < b->nroles; i++)
			if (!spec_inherited(sv, b, b->roles[i].name.s, true))
				act_call(x, "POST", BODY(x, role_body(&b->roles[i])), false, true,
					 "/projects/{project_id}/branches/{branch_id:%s}/roles", b->name.s);
		for (size_t i = 0; i < b->ndatabases; i++)
			if (!spec_inherited(sv, b, b->databases[i].name.s, false))
				act_call(x, "POST", BODY(x, db_body(&b->databases[i])), false, true,
					 "/projects/{project_id}/branches/{branch_id:%s}/databases", b->name.s);
	}
	free(order);

	char ref[300];
	snprintf(ref, sizeof(ref), "{branch_id:%s}", dn);
	for (int64_t i = 0; i < sv->v[SF_READ_REPLICAS].i; i++)
		act_call(x, "POST", BODY(x, replica_body(sv, ref, (size_t)i + 1)), false, true,
			 "/projects/{project_id}/endpoints");
}

/* -------------------------------------------------------------- deep diff */

/* Endpoints, branches, roles and databases of a project with a deep read
 * (plan.c's header comment gives the rules and the order of the calls). */

static const state_branch *live_branch_named(const state_deep *d, const char *name)
{
	for (size_t i = 0; i < d->nbranches; i++)
		if (d->branches[i].name && strcmp(d->branches[i].name, name) == 0)
			return &d->branches[i];
	return NULL;
}

static const state_branch *live_branch_id(const state_deep *d, const char *id)
{
	for (size_t i = 0; id && i < d->nbranches; i++)
		if (strcmp(d->branches[i].id, id) == 0)
			return &d->branches[i];
	return NULL;
}

/* Compare one endpoint's compute with the spec; rename (non-NULL) gives
 * it that name in the same PATCH. */
static void endpoint_compare(deepctx *c, const state_endpoint *e, const char *label, const char *rename)
{
	const spec_val *v = c->sv->v;
	int64_t lmin = cu_quarters(e->min_cu), lmax = cu_quarters(e->max_cu), lsus = suspend_live(e->suspend_timeout_seconds);
	bool sized = lmin == v[SF_COMPUTE_MIN_CU].i && lmax == v[SF_COMPUTE_MAX_CU].i && lsus == v[SF_COMPUTE_SUSPEND_TIMEOUT].i;
	if (sized && !rename)
		return;
	char path[96];
	if (lmin != v[SF_COMPUTE_MIN_CU].i) {
		snprintf(path, sizeof(path), "endpoints[%s].minCu", label);
		change_i(c->x, path, fmt_cu, lmin, v[SF_COMPUTE_MIN_CU].i);
	}
	if (lmax != v[SF_COMPUTE_MAX_CU].i) {
		snprintf(path, sizeof(path), "endpoints[%s].maxCu", label);
		change_i(c->x, path, fmt_cu, lmax, v[SF_COMPUTE_MAX_CU].i);
	}
	if (lsus != v[SF_COMPUTE_SUSPEND_TIMEOUT].i) {
		snprintf(path, sizeof(path), "endpoints[%s].suspendTimeout", label);
		change_i(c->x, path, fmt_duration, lsus, v[SF_COMPUTE_SUSPEND_TIMEOUT].i);
	}
	json_t *ep = json_object();
	if (!sized) {
		json_object_set_new(ep, "autoscaling_limit_min_cu", cu_json(v[SF_COMPUTE_MIN_CU].i));
		json_object_set_new(ep, "autoscaling_limit_max_cu", cu_json(v[SF_COMPUTE_MAX_CU].i));
		json_object_set_new(ep, "suspend_timeout_seconds", json_integer(v[SF_COMPUTE_SUSPEND_TIMEOUT].i));
	}
	if (rename) {
		snprintf(path, sizeof(path), "endpoints[%s].name", label);
		act_change(c->x, path, e->name, rename);
		json_object_set_new(ep, "name", json_string(rename));
	}
	act_call(c->x, "PATCH", json_pack("{s:o}", "endpoint", ep), false, false, "/projects/%s/endpoints/%s", c->p->id,
		 e->id);
}

/* The index N of a live replica named "replica-N", or 0. */
static size_t replica_index(const state_endpoint *e)
{
	const char *n = e->name;
	if (!n || strncmp(n, "replica-", 8) != 0 || n[8] < '1' || n[8] > '9')
		return 0;
	size_t i = 0;
	for (n += 8; *n; n++) {
		if (*n < '0' || *n > '9' || i > 100000)
			return 0;
		i = i * 10 + (size_t)(*n - '0');
	}
	return i;
}

/*
 * The read_write compute of the default branch, and its read replicas.
 * Replicas are flotilla's by name: replica-1 .. replica-N are the N the
 * manifest asks for. An unnamed replica (made before flotilla named them)
 * takes the lowest missing name by PATCH instead of a new one being made;
 * names still missing are created; flotilla's replicas left over are
 * deleted. A read_only compute someone gave another name is not
 * flotilla's: it is neither counted nor touched.
 */
void diff_endpoints(deepctx *c)
{
	const state_deep *d = c->d;
	size_t want = (size_t)c->sv->v[SF_READ_REPLICAS].i;
	const state_endpoint **slot = xcalloc(want + 1, sizeof(*slot)); /* slot[i]: replica-(i+1) */
	const state_endpoint **spare = xcalloc(d->nendpoints + 1, sizeof(*spare));
	size_t nspare = 0, nro = 0;
	for (size_t i = 0; i < d->nendpoints; i++) {
		const state_endpoint *e = &d->endpoints[i];
		if (!e->branch_id || strcmp(e->branch_id, c->defb->id) != 0)
			continue; /* endpoints of other branches are not flotilla's to size */
		if (e->read_write) {
			endpoint_compare(c, e, "read_write", NULL);
			continue;
		}
		size_t k = replica_index(e);
		if (e->name && !k)
			continue; /* named by someone else: not flotilla's, left alone */
		nro++;
		if (k >= 1 && k <= want && !slot[k - 1])
			slot[k - 1] = e;
		else
			spare[nspare++] = e;
	}
	if (nro != want) {
		char a[32], b[32];
		snprintf(a, sizeof(a), "%zu", nro);
		snprintf(b, sizeof(b), "%zu", want);
		act_change(c->x, "readReplicas", a, b);
	}
	/* spares are used up in a fixed order (they come sorted by id):
	 * unnamed ones first, they take the free names */
	size_t u = 0;
	for (size_t i = 0; i < nspare; i++)
		if (!spare[i]->name) {
			const state_endpoint *t = spare[i];
			memmove(&spare[u + 1], &spare[u], (i - u) * sizeof(*spare));
			spare[u++] = t;
		}
	size_t used = 0;
	for (size_t i = 0; i < want; i++) {
		char name[32];
		replica_name(i + 1, name);
		if (slot[i])
			endpoint_compare(c, slot[i], name, NULL);
		else if (used < nspare)
			endpoint_compare(c, spare[used++], name, name);
	}
	if (used < nspare && c->defb->protected_) {
		act_reason(c->x, "tenant '%s': readReplicas cannot go from %zu to %zu: branch '%s' is protected, and Neon "
				 "refuses to delete the computes of a protected branch; set protected: false on it and "
				 "apply first, then lower readReplicas", c->x->a.tenant, nro, want, c->defb->name);
		c->x->a.kind = PLAN_BLOCKED;
	}
	/* a replica holds no data of its own: removing one is not destructive */
	for (size_t i = used; i < nspare; i++)
		act_call(c->x, "DELETE", NULL, false, false, "/projects/%s/endpoints/%s", c->p->id, spare[i]->id);
	/* the names neither a live replica had nor a spare took */
	size_t taken = 0;
	for (size_t i = 0; i < want; i++) {
		if (slot[i])
			continue;
		if (taken++ < used)
			continue; /* a spare was renamed to it above */
		act_call(c->x, "POST", replica_body(c->sv, c->defb->id, i + 1), false, false, "/projects/%s/endpoints",
			 c->p->id);
	}
	free(slot);
	free(spare);
}

static bool live_has(const state_deep *d, const char *branch_id, const char *name, bool is_role,
		     const char **owner)
{
	if (is_role) {
		for (size_t i = 0; i < d->nroles; i++)
			if (strcmp(d->roles[i].branch_id, branch_id) == 0 && strcmp(d->roles[i].name, name) == 0)
				return true;
		return false;
	}
	for (size_t i = 0; i < d->ndatabases; i++)
		if (strcmp(d->databases[i].branch_id, branch_id) == 0 && strcmp(d->databases[i].name, name) == 0) {
			if (owner)
				*owner = d->databases[i].owner;
			return true;
		}
	return false;
}

static bool declared_on(const spec_branch *b, const char *name, bool is_role)
{
	if (is_role) {
		for (size_t i = 0; i < b->nroles; i++)
			if (strcmp(b->roles[i].name.s, name) == 0)
				return true;
		return false;
	}
	for (size_t i = 0; i < b->ndatabases; i++)
		if (strcmp(b->databases[i].name.s, name) == 0)
			return true;
	return false;
}

enum { PH_ROLE_ADD, PH_DB_ADD, PH_DB_OWNER, PH_DB_DEL, PH_ROLE_DEL, PH_PROTECT };

/* One phase of the role/database/flag comparison of an existing branch. */
static void branch_phase(deepctx *c, const spec_branch *sb, const state_branch *lb, int phase)
{
	act *x = c->x;
	const char *pid = c->p->id, *bn = sb->name.s;
	char path[640];
	switch (phase) {
	case PH_ROLE_ADD:
		for (size_t i = 0; i < sb->nroles; i++) {
			const spec_role *r = &sb->roles[i];
			if (live_has(c->d, lb->id, r->name.s, true, NULL))
				continue;
			snprintf(path, sizeof(path), "branches[%s].roles[%s]", bn, r->name.s);
			act_change(x, path, NULL, r->no_login.i ? "noLogin" : "login");
			act_call(x, "POST", json_pack("{s:{s:s,s:b}}", "role", "name", r->name.s, "no_login", (int)r->no_login.i),
				 false, false, "/projects/%s/branches/%s/roles", pid, lb->id);
		}
		break;
	case PH_DB_ADD:
	case PH_DB_OWNER:
		for (size_t i = 0; i < sb->ndatabases; i++) {
			const spec_database *db = &sb->databases[i];
			const char *owner = NULL;
			bool has = live_has(c->d, lb->id, db->name.s, false, &owner);
			snprintf(path, sizeof(path), "branches[%s].databases[%s]%s", bn, db->name.s,
				 phase == PH_DB_OWNER ? ".owner" : "");
			if (phase == PH_DB_ADD && !has) {
				char to[300];
				snprintf(to, sizeof(to), "owner %s", db->owner.s);
				act_change(x, path, NULL, to);
				act_call(x, "POST", json_pack("{s:{s:s,s:s}}", "database", "name", db->name.s, "owner_name",
							      db->owner.s),
					 false, false, "/projects/%s/branches/%s/databases", pid, lb->id);
			} else if (phase == PH_DB_OWNER && has && (!owner || strcmp(owner, db->owner.s) != 0)) {
				/* in place: PATCH keeps the data, a re-create would not */
				act_change(x, path, owner, db->owner.s);
				act_call(x, "PATCH", json_pack("{s:{s:s}}", "database", "owner_name", db->owner.s), false,
					 false, "/projects/%s/branches/%s/databases/%s", pid, lb->id, db->name.s);
			}
		}
		break;
	case PH_DB_DEL:
		for (size_t i = 0; i < c->d->ndatabases; i++) {
			const state_database *ld = &c->d->databases[i];
			if (strcmp(ld->branch_id, lb->id) != 0 || declared_on(sb, ld->name, false) ||
			    spec_inherited(c->sv, sb, ld->name, false))
				continue;
			snprintf(path, sizeof(path), "branches[%s].databases[%s]", bn, ld->name);
			act_change(x, path, "present", NULL);
			act_call(x, "DELETE", NULL, true, false, "/projects/%s/branches/%s/databases/%s", pid, lb->id,
				 ld->name);
		}
		break;
	case PH_ROLE_DEL:
		for (size_t i = 0; i < c->d->nroles; i++) {
			const state_role *lr = &c->d->roles[i];
			if (strcmp(lr->branch_id, lb->id) != 0 || declared_on(sb, lr->name, true) ||
			    spec_inherited(c->sv, sb, lr->name, true))
				continue;
			snprintf(path, sizeof(path), "branches[%s].roles[%s]", bn, lr->name);
			act_change(x, path, "present", NULL);
			act_call(x, "DELETE", NULL, true, false, "/projects/%s/branches/%s/roles/%s", pid, lb->id, lr->name);
		}
		break;
	case PH_PROTECT:
		if ((bool)sb->protect.i != lb->protected_) {
			snprintf(path, sizeof(path), "branches[%s].protected", bn);
			act_change(x, path, lb->protected_ ? "true" : "false", sb->protect.i ? "true" : "false");
			act_call(x, "PATCH", json_pack("{s:{s:b}}", "branch", "protected", (int)sb->protect.i), false, false,
				 "/projects/%s/branches/%s", pid, lb->id);
		}
		break;
	}
}

static size_t live_depth(const state_deep *d, const state_branch *b)
{
	size_t depth = 0;
	while (b && b->parent_id && depth <= d->nbranches) {
		b = live_branch_id(d, b->parent_id);
		depth++;
	}
	return depth;
}

void diff_branches(deepctx *c)
{
	const spec_values *sv = c->sv;
	const state_deep *d = c->d;
	act *x = c->x;
	const char *pid = c->p->id;
	char path[320], ref[320];

	size_t nb = 0;
	const spec_branch **order = spec_branches_parent_first(sv, &nb);
	/* new branches, parent first, each followed by what it does not inherit */
	for (size_t k = 0; k < nb; k++) {
		const spec_branch *b = order[k];
		if (live_branch_named(d, b->name.s))
			continue;
		const char *pn = spec_branch_parent(sv, b);
		const state_branch *lp = live_branch_named(d, pn);
		if (lp)
			str_copy(ref, lp->id, sizeof(ref));
		else
			snprintf(ref, sizeof(ref), "{branch_id:%s}", pn);
		char to[300];
		snprintf(to, sizeof(to), "parent %s%s", pn, b->protect.i ? ", protected" : "");
		snprintf(path, sizeof(path), "branches[%s]", b->name.s);
		act_change(x, path, NULL, to);
		act_call(x, "POST", json_pack("{s:{s:s,s:s,s:b}}", "branch", "name", b->name.s, "parent_id", ref,
					      "protected", (int)b->protect.i),
			 false, false, "/projects/%s/branches", pid);
		for (size_t i = 0; i < b->nroles; i++)
			if (!spec_inherited(sv, b, b->roles[i].name.s, true)) {
				snprintf(path, sizeof(path), "branches[%s].roles[%s]", b->name.s, b->roles[i].name.s);
				act_change(x, path, NULL, b->roles[i].no_login.i ? "noLogin" : "login");
				act_call(x, "POST",
					 json_pack("{s:{s:s,s:b}}", "role", "name", b->roles[i].name.s, "no_login",
						   (int)b->roles[i].no_login.i),
					 false, false, "/projects/%s/branches/{branch_id:%s}/roles", pid, b->name.s);
			}
		for (size_t i = 0; i < b->ndatabases; i++)
			if (!spec_inherited(sv, b, b->databases[i].name.s, false)) {
				snprintf(path, sizeof(path), "branches[%s].databases[%s]", b->name.s,
					 b->databases[i].name.s);
				snprintf(to, sizeof(to), "owner %s", b->databases[i].owner.s);
				act_change(x, path, NULL, to);
				act_call(x, "POST",
					 json_pack("{s:{s:s,s:s}}", "database", "name", b->databases[i].name.s,
						   "owner_name", b->databases[i].owner.s),
					 false, false, "/projects/%s/branches/{branch_id:%s}/databases", pid, b->name.s);
			}
	}

	/* existing branches: the default one, then the rest parent first */
	for (int phase = PH_ROLE_ADD; phase <= PH_PROTECT; phase++) {
		const spec_branch *db = spec_default_branch(sv);
		if (db)
			branch_phase(c, db, c->defb, phase);
		for (size_t k = 0; k < nb; k++) {
			const state_branch *lb = live_branch_named(d, order[k]->name.s);
			if (lb && !lb->is_default)
				branch_phase(c, order[k], lb, phase);
		}
	}
	free(order);

	/* removed branches, children before parents (deepest first, then by name) */
	const state_branch **gone = xcalloc(d->nbranches + 1, sizeof(*gone));
	size_t ng = 0;
	for (size_t i = 0; i < d->nbranches; i++)
		if (!d->branches[i].is_default && !spec_branch_find(sv, d->branches[i].name))
			gone[ng++] = &d->branches[i];
	for (size_t i = 1; i < ng; i++) /* insertion sort: a handful at most */
		for (size_t j = i; j > 0; j--) {
			size_t da = live_depth(d, gone[j - 1]), db = live_depth(d, gone[j]);
			if (da > db || (da == db && strcmp(gone[j - 1]->name, gone[j]->name) <= 0))
				break;
			const state_branch *t = gone[j];
			gone[j] = gone[j - 1];
			gone[j - 1] = t;
		}
	for (size_t i = 0; i < ng; i++) {
		snprintf(path, sizeof(path), "branches[%s]", gone[i]->name);
		act_change(x, path, "present", NULL);
		act_call(x, "DELETE", NULL, true, false, "/projects/%s/branches/%s", pid, gone[i]->id);
		if (gone[i]->protected_) {
			act_reason(x, "tenant '%s': branch '%s' is protected in Neon, which refuses to delete it; "
				      "unprotect it there first, or list it in the manifest", x->a.tenant, gone[i]->name);
			x->a.kind = PLAN_BLOCKED;
		}
	}
	free(gone);
}
