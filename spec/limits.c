/*
 * limits.c: the limits of a Neon plan that a fleet can run into, and the
 * checks of a tenant's merged spec against them.
 *
 * The figures are Neon's published ones (docs/neon-api.md, "Plans and
 * their limits", read 2026-12). A fleet names its plan (spec.neonPlan) and
 * what its account was granted beyond it (spec.limits: project limits in
 * particular are raised on request). These are facts about an account,
 * not rules of the API, so they are not validation diagnostics of the
 * load: `flotilla validate` reports them (spec_fleet_check_limits), and
 * `flotilla plan` blocks the one tenant that breaks one, with the fix,
 * before any call (diff/), while the rest of the fleet converges.
 *
 * Compute size: the plan's autoscaling ceiling applies only when the fleet
 * does not set maxAutoscalingCu itself; an explicit one is the account's
 * ceiling and is checked where it always was, by validation.
 */
#include <inttypes.h>
#include <string.h>

#include "spec/internal.h"

typedef struct plan_row {
	const char *name;
	int64_t projects, branches, retention;
	int32_t autoscaling_cu, fixed_cu; /* quarters */
	int64_t protected_branches;
} plan_row;

/* docs/neon-api.md, "Plans and their limits"; business is the legacy plan,
 * with Scale's figures where Neon states none. */
static const plan_row PLANS[] = {
	{"free", 100, 10, 6 * 3600, 8, 8, 0},
	{"launch", 100, 10, 7 * 86400, 64, 64, 2},
	{"scale", 1000, 25, 30 * 86400, 64, 224, 5},
	{"business", 5000, 25, 30 * 86400, 64, 224, 5},
};

const char *const SPEC_NEON_PLANS[] = {"free", "launch", "scale", "business", NULL};

static const plan_row *plan_find(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_LEN(PLANS); i++)
		if (strcmp(PLANS[i].name, name) == 0)
			return &PLANS[i];
	return NULL;
}

/* ------------------------------------------------------------- decoding */

void spec__decode_neon_plan(dec *d, const ynode *v, const char *where)
{
	if (!spec__want_string(d, v, where))
		return;
	if (!plan_find(v->str)) {
		const char *hint = spec__suggest(v->str, SPEC_NEON_PLANS, ARRAY_LEN(PLANS));
		spec__diag_at(d, v, where, "unknown Neon plan '%s': use free, launch, scale or business%s%s%s", v->str,
			hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
		return;
	}
	d->f->neon_plan = spec__copy_str(d, v);
	d->f->neon_plan_o = spec__origin_of(d, v);
}

void spec__decode_limits(dec *d, const ynode *n, const char *where)
{
	static const char *const KEYS[] = {"projects", "branchesPerProject", "historyRetention",
					   "protectedBranches"};
	spec_fleet *f = d->f;
	if (!spec__want_map(d, n, where))
		return;
	f->lim_o = spec__origin_of(d, n);
	for (size_t i = 0; i < n->n; i++) {
		int k = spec__key_index(d, n, i, where, KEYS, ARRAY_LEN(KEYS));
		const ynode *v = n->kids[2 * i + 1];
		char path[PATH_MAX_LEN];
		int64_t x;
		if (k < 0)
			continue;
		spec__join(path, where, KEYS[k]);
		switch (k) {
		case 0:
			if (spec__get_int(d, v, path, 1, 100000000, &x))
				f->lim_projects = x;
			break;
		case 1:
			if (spec__get_int(d, v, path, 1, 100000, &x))
				f->lim_branches = x;
			break;
		case 2:
			if (v->kind != YN_SCALAR || unit_duration_parse(v->str, false, &x) != 0) {
				spec__diag_at(d, v, path, "%s", v->kind == YN_SCALAR ? err_msg() : "expected a duration like 30d");
				break;
			}
			/* history_retention_seconds is 0..2592000 in the API itself */
			if (x > 30 * 86400) {
				spec__diag_at(d, v, path, "history retention can be at most 30d in Neon's API");
				break;
			}
			f->lim_retention = x;
			break;
		case 3:
			if (spec__get_int(d, v, path, 0, 10000, &x))
				f->lim_protected = x;
			break;
		}
	}
}

/* --------------------------------------------------------------- limits */

bool spec_fleet_limits(const spec_fleet *f, spec_limits *out)
{
	memset(out, 0, sizeof(*out));
	out->history_retention = -1;
	out->protected_branches = -1;
	const plan_row *p = plan_find(f->neon_plan);
	if (!p && f->lim_projects < 0 && f->lim_branches < 0 && f->lim_retention < 0 && f->lim_protected < 0)
		return false;
	if (p) {
		out->plan = p->name;
		out->projects = p->projects;
		out->branches = p->branches;
		out->history_retention = p->retention;
		out->autoscaling_cu = f->max_autoscaling_cu_o.set ? 0 : p->autoscaling_cu;
		out->fixed_cu = p->fixed_cu;
		out->protected_branches = p->protected_branches;
	}
	if (f->lim_projects >= 0) {
		out->projects = f->lim_projects;
		out->projects_raised = true;
	}
	if (f->lim_branches >= 0)
		out->branches = f->lim_branches;
	if (f->lim_retention >= 0)
		out->history_retention = f->lim_retention;
	if (f->lim_protected >= 0)
		out->protected_branches = f->lim_protected;
	return true;
}

/* Who sets a limit: "the free plan allows" or "spec.limits allows". */
static void allows(const spec_limits *l, bool from_plan, char *out, size_t size)
{
	if (from_plan && l->plan)
		snprintf(out, size, "the %s plan allows", l->plan);
	else
		str_copy(out, "spec.limits allows", size);
}

typedef struct checker {
	spec_limit_fn fn;
	void *arg;
	const spec_tenant *t;
	size_t n;
} checker;

static void report(checker *c, const spec_origin *o, const char *path, const char *fmt, ...) PRINTF(4, 5);
static void report(checker *c, const spec_origin *o, const char *path, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	/* a value no layer set is the tenant's own to change */
	c->fn(c->arg, o && o->set && o->layer != SPEC_LAYER_BUILTIN ? o : &c->t->o, path, msg);
	free(msg);
	c->n++;
}

size_t spec_limits_check(const spec_fleet *f, const spec_tenant *t, const spec_values *sv, spec_limit_fn fn,
			 void *arg)
{
	spec_limits l;
	if (!spec_fleet_limits(f, &l))
		return 0;
	checker c = {fn, arg, t, 0};
	char who[64], a[32], b[32];
	const spec_val *v = sv->v;

	const spec_val *ret = &v[SF_HISTORY_RETENTION];
	if (l.history_retention >= 0 && ret->i > l.history_retention) {
		allows(&l, f->lim_retention < 0, who, sizeof(who));
		unit_duration_format(ret->i, a);
		unit_duration_format(l.history_retention, b);
		report(&c, &ret->o, "historyRetention",
		       "historyRetention %s is above the %s %s, so Neon would refuse it; lower it, or, if Neon allows this "
		       "account more, set spec.limits.historyRetention in flotilla.yaml", a, b, who);
	}

	const spec_val *mn = &v[SF_COMPUTE_MIN_CU], *mx = &v[SF_COMPUTE_MAX_CU];
	bool autoscaling = mx->i > mn->i;
	if (autoscaling && l.autoscaling_cu > 0 && mx->i > l.autoscaling_cu) {
		unit_cu_format((int32_t)mx->i, a);
		unit_cu_format(l.autoscaling_cu, b);
		report(&c, &mx->o, "compute.maxCu",
		       "compute.maxCu %s autoscales above the %s CU the %s plan allows, so Neon would refuse it; lower it, "
		       "or, if this account may autoscale further, set maxAutoscalingCu in flotilla.yaml", a, b, l.plan);
	}
	if (!autoscaling && l.fixed_cu > 0 && mx->i > l.fixed_cu) {
		unit_cu_format((int32_t)mx->i, a);
		unit_cu_format(l.fixed_cu, b);
		report(&c, &mx->o, "compute.maxCu",
		       "a fixed compute size of %s CU is above the %s CU the %s plan allows, so Neon would refuse it; "
		       "choose a smaller size or another plan", a, b, l.plan);
	}

	const spec_branches *br = v[SF_BRANCHES].br;
	size_t nb = br ? br->n : 0, nprot = 0;
	const spec_origin *prot_o = NULL;
	for (size_t i = 0; i < nb; i++)
		if (br->items[i].protect.i) {
			nprot++;
			if (!prot_o)
				prot_o = &br->items[i].protect.o;
		}
	if (l.branches > 0 && (int64_t)nb > l.branches) {
		allows(&l, f->lim_branches < 0, who, sizeof(who));
		report(&c, &v[SF_BRANCHES].o, "branches",
		       "%zu branches are more than the %" PRId64 " per project %s, so Neon would refuse the rest; remove "
		       "some, or, if Neon allows this account more, set spec.limits.branchesPerProject", nb, l.branches,
		       who);
	}
	if (l.protected_branches >= 0 && (int64_t)nprot > l.protected_branches) {
		allows(&l, f->lim_protected < 0, who, sizeof(who));
		report(&c, prot_o, "branches[].protected",
		       "%zu protected branch%s %s more than the %" PRId64 " per project %s, so Neon would refuse the "
		       "rest; protect fewer, or, if Neon allows this account more, set spec.limits.protectedBranches",
		       nprot, nprot == 1 ? "" : "es", nprot == 1 ? "is" : "are", l.protected_branches, who);
	}
	/* docs/neon-api.md, "Backups": automated snapshots are a paid-plan feature */
	const spec_val *bs = &v[SF_BACKUP_SCHEDULE];
	if (l.plan && strcmp(l.plan, "free") == 0 && bs->list && bs->list->n > 0)
		report(&c, &bs->o, "backups.schedule",
		       "the free plan has no automated backups, so Neon would refuse this schedule; remove "
		       "backups.schedule, or move the account to a paid plan and set spec.neonPlan");
	return c.n;
}

typedef struct to_diags {
	const spec_fleet *f;
	spec_diags *diags;
} to_diags;

static void add_diag(void *arg, const spec_origin *o, const char *path, const char *msg)
{
	to_diags *t = arg;
	char p[PATH_MAX_LEN];
	snprintf(p, sizeof(p), "spec.%s", path);
	spec_diags_add(t->diags, spec_fleet_file(t->f, o->file), o->line, o->col, p, "%s", msg);
}

size_t spec_fleet_check_limits(const spec_fleet *f, spec_diags *diags)
{
	spec_limits l;
	if (!spec_fleet_limits(f, &l))
		return 0;
	to_diags td = {f, diags};
	size_t n = 0, nt = spec_fleet_tenant_count(f);
	for (size_t i = 0; i < nt; i++) {
		const spec_tenant *t = spec_fleet_tenant_at(f, i);
		spec_values sv;
		spec_tenant_resolve(f, t, &sv);
		n += spec_limits_check(f, t, &sv, add_diag, &td);
	}
	if (l.projects > 0 && (int64_t)nt > l.projects) {
		const spec_origin *o = l.projects_raised ? &f->lim_o : &f->neon_plan_o;
		char who[64];
		allows(&l, !l.projects_raised, who, sizeof(who));
		spec_diags_add(diags, spec_fleet_file(f, o->file), o->line, o->col,
			       l.projects_raised ? "spec.limits.projects" : "spec.neonPlan",
			       "the fleet has %zu tenants, more than the %" PRId64 " project%s %s, so Neon would refuse the "
			       "creates past it; if Neon raised this account's limit, set spec.limits.projects",
			       nt, l.projects, l.projects == 1 ? "" : "s", who);
		n++;
	}
	spec_diags_sort(diags);
	return n;
}
