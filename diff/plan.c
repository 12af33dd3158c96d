/*
 * plan.c: plan_build, the comparison of the merged manifests with the
 * cached live fleet, tenant by tenant, in tenant name order.
 *
 * Decisions (they go in docs/plan.md):
 *  - Live is the tenant map, the cached project row and, when the project
 *    had a deep read (deep_at > 0), its branches, endpoints, databases and
 *    roles. Without a deep read only project-level fields are compared and
 *    the action says deep_unknown.
 *  - A mapped tenant whose project is gone from the cache is BLOCKED, not
 *    re-created: the map says it existed, so re-creating could make a
 *    second project for one tenant (DESIGN.md "Identity and ownership").
 *  - A tenant with anything blocked is BLOCKED as a whole: no call at all,
 *    but every difference is still listed in its changes, so a reviewer
 *    sees the full picture. Reasons are joined with "; ".
 *  - PATCH /projects sends only the changed top-level members, but a
 *    settings sub-object (quota, allowed_ips, maintenance_window) and
 *    default_endpoint_settings are sent whole: Neon replaces them, so a
 *    partial one would reset its other members.
 *  - A maintenance window absent from the manifest leaves the live one
 *    alone: Neon has no way to remove one (it always has a window).
 *  - A live suspend_timeout_seconds of 0 is Neon's default, 300 s.
 *  - Roles and databases: a branch must have those declared on it; those
 *    declared on an ancestor are tolerated (a branch inherits its parent's
 *    at creation, and an inherited copy is neither required nor removed);
 *    anything else live is removed (destructive). A branch's parent cannot
 *    change in Neon, so a re-parented branch is not compared.
 *  - Update calls run in this order: PATCH project; PATCH endpoints; replica
 *    deletes then creates; new branches (parent first) with their roles and
 *    databases; role creates; database creates; owner changes; database
 *    deletes; role deletes (after the databases they may own); protected
 *    flags; branch deletes (children first).
 *  - Deletes are counted against maxDeletesPerRun in tenant name order; the
 *    protect flag of a gone manifest is the one remembered in the state
 *    file (state_tenant_get_protect); plan_build does not write it, the
 *    caller refreshes it.
 */
#include <inttypes.h>
#include <string.h>

#include "diff/internal.h"

const char *plan_kind_name(plan_kind k)
{
	switch (k) {
	case PLAN_CREATE: return "create";
	case PLAN_UPDATE: return "update";
	case PLAN_DELETE: return "delete";
	case PLAN_BLOCKED: return "blocked";
	case PLAN_ORPHAN: return "orphan";
	case PLAN_NOOP: return "noop";
	case PLAN_ADOPT: return "adopt";
	}
	return "unknown";
}

void plan_unmanaged_release(plan *p)
{
	for (size_t i = 0; i < p->nunmanaged; i++) {
		free(p->unmanaged[i].tenant);
		free(p->unmanaged[i].project_id);
		free(p->unmanaged[i].branch);
	}
	free(p->unmanaged);
	p->unmanaged = NULL;
	p->nunmanaged = 0;
}

void plan_free(plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nactions; i++)
		diff__act_release(&p->actions[i]);
	free(p->actions);
	plan_unmanaged_release(p);
	free(p->commit);
	free(p->fleet);
	free(p->org_id);
	free(p->changed_since);
	free(p);
}

typedef struct builder {
	const plan_input *in;
	plan *p;
	size_t cap;
	int64_t deletes;
	spec_limits limits;       /* the fleet's Neon plan limits */
	bool have_limits;
	int64_t live_projects;    /* in the cache: what counts against the projects limit */
	int64_t creates;          /* creates planned so far */
	identity *ix;             /* the unmapped projects, built at the first unmapped tenant */
} builder;

/* A limit of the fleet's Neon plan that a tenant breaks: one reason each. */
static void on_limit(void *arg, const spec_origin *o, const char *path, const char *msg)
{
	act *x = arg;
	(void)o;
	(void)path;
	diff__act_reason(x, "tenant '%s': %s", x->a.tenant, msg);
	diff__act_hint(x, "bring the tenant within the fleet's Neon plan, or raise spec.limits in flotilla.yaml if Neon "
		       "raised this account's limits");
}

static int str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void plan_count(plan *p, const plan_action *a)
{
	switch (a->kind) {
	case PLAN_CREATE: p->ncreate++; break;
	case PLAN_UPDATE: p->nupdate++; break;
	case PLAN_DELETE: p->ndelete++; break;
	case PLAN_BLOCKED: p->nblocked++; break;
	case PLAN_ORPHAN: p->norphan++; break;
	case PLAN_NOOP: p->nnoop++; break;
	case PLAN_ADOPT: p->nadopt++; break;
	}
	p->ncalls += a->ncalls;
	p->ndeep_unknown += a->deep_unknown;
}

static void push(builder *b, act *x)
{
	plan *p = b->p;
	p->actions = xgrow(p->actions, &b->cap, p->nactions + 1, sizeof(plan_action));
	p->actions[p->nactions++] = x->a;
	plan_count(p, &x->a);
	if (x->a.nunmanaged > 1)
		qsort(x->a.unmanaged, x->a.nunmanaged, sizeof(char *), str_ptr_cmp);
	for (size_t i = 0; i < x->a.nunmanaged; i++) {
		p->unmanaged = xrealloc(p->unmanaged, (p->nunmanaged + 1) * sizeof(*p->unmanaged));
		p->unmanaged[p->nunmanaged++] = (plan_unmanaged){xstrdup(x->a.tenant), xstrdup(x->a.project_id),
								 x->a.unmanaged[i]};
	}
	free(x->a.unmanaged);
	p->actions[p->nactions - 1].unmanaged = NULL;
	p->actions[p->nactions - 1].nunmanaged = 0;
}

static void drop_calls(act *x)
{
	for (size_t i = 0; i < x->a.ncalls; i++) {
		free(x->a.calls[i].method);
		free(x->a.calls[i].path);
		json_decref(x->a.calls[i].body);
	}
	x->a.ncalls = 0;
}

/* ----------------------------------------------------------- fingerprint */

#define FP(...)                                                                                    \
	do {                                                                                       \
		if (buf_printf(&b, __VA_ARGS__) != 0)                                              \
			abort();                                                                   \
	} while (0)
#define NS(s) ((s) ? (s) : "")

/* Every live field the comparison reads, in a fixed order (deep rows come
 * from state/ sorted by id, or branch and name). updated_at is left out:
 * a change that touches nothing we compared must not void the plan. */
void plan_fingerprint(const state_project *p, const state_deep *d, char out[SHA256_HEX_LEN + 1])
{
	buf b = BUF_INIT(0);
	FP("project %s|%s|%s|%d|%" PRId64 "|%" PRId64 "|%" PRId64 "|%" PRId64 "|%" PRId64 "|%" PRId64
	   "|%.4f|%.4f|%" PRId64 "|%s|%s|%d|%d|%d|%s\n",
	   NS(p->id), NS(p->name), NS(p->region_id), p->pg_version, p->history_retention_seconds,
	   p->quota_active_time, p->quota_compute_time, p->quota_written_data, p->quota_data_transfer,
	   p->quota_logical_size, p->min_cu, p->max_cu, p->suspend_timeout_seconds, NS(p->pg_settings_json),
	   NS(p->allowed_ips_json), p->protected_branches_only, p->logical_replication,
	   p->block_public_connections, NS(p->maintenance_window_json));
	for (size_t i = 0; d && i < d->nbranches; i++)
		FP("branch %s|%s|%s|%d|%d|%s\n", NS(d->branches[i].id), NS(d->branches[i].name),
		   NS(d->branches[i].parent_id), d->branches[i].is_default, d->branches[i].protected_,
		   NS(d->branches[i].annotations_json));
	for (size_t i = 0; d && i < d->nendpoints; i++)
		FP("endpoint %s|%s|%d|%.4f|%.4f|%" PRId64 "\n", NS(d->endpoints[i].id), NS(d->endpoints[i].branch_id),
		   d->endpoints[i].read_write, d->endpoints[i].min_cu, d->endpoints[i].max_cu,
		   d->endpoints[i].suspend_timeout_seconds);
	for (size_t i = 0; d && i < d->ndatabases; i++)
		FP("database %s|%s|%s\n", NS(d->databases[i].branch_id), NS(d->databases[i].name),
		   NS(d->databases[i].owner));
	for (size_t i = 0; d && i < d->nroles; i++)
		FP("role %s|%s\n", NS(d->roles[i].branch_id), NS(d->roles[i].name));
	sha256_hex(b.data ? b.data : "", b.len, out);
	buf_release(&b);
}

/* ----------------------------------------------------------------- tenant */

static int load_live(builder *b, const char *project_id, state_project *p, state_deep *d, bool *have_deep)
{
	int rc = state_project_get(b->in->st, project_id, p);
	if (rc != 0)
		return rc;
	*have_deep = false;
	if (p->deep_at > 0) {
		if ((rc = state_deep_get(b->in->st, project_id, d)) != 0) {
			state_project_release(p);
			return rc;
		}
		*have_deep = true;
	}
	return 0;
}

static const state_branch *live_default(const state_deep *d)
{
	for (size_t i = 0; i < d->nbranches; i++)
		if (d->branches[i].is_default)
			return &d->branches[i];
	return NULL;
}

/* Push x as a blocked create of t (its project name as the change). */
static void push_blocked_create(builder *b, const spec_tenant *t, act *x)
{
	char *name = xstrcat2(spec_fleet_name_prefix(b->in->fleet), t->name);
	x->a.kind = PLAN_BLOCKED;
	diff__act_change(x, "project", NULL, name);
	free(name);
	push(b, x);
}

/* Which projects' names the identity index keeps (plan_unmapped). */
static bool in_fleet(const void *arg, const char *name)
{
	const spec_fleet *f = arg;
	const char *prefix = spec_fleet_name_prefix(f);
	size_t n = strlen(prefix);
	return strncmp(name, prefix, n) == 0 && spec_fleet_tenant_find(f, name + n) != NULL;
}

/*
 * A tenant no project is mapped to. Before it is created, no project may
 * carry its name or its annotations (identity.c): one annotated for it is
 * adopted (*adopt_id set: the caller compares it like a mapped one),
 * anything else that claims it blocks the create. Otherwise the create is
 * pushed, or blocked by a plan limit or an incomplete list. `over`: limits
 * the tenant breaks (their reasons are in x already).
 */
static int plan_unmapped(builder *b, const spec_tenant *t, const spec_values *sv, act *x, size_t over,
			 const char **adopt_id)
{
	const plan_input *in = b->in;
	*adopt_id = NULL;
	if (in->live_incomplete > 0) {
		diff__act_reason(x, "tenant '%s': not created: the last list of the live fleet was incomplete (%s"
			      " project%s that Neon named unavailable could not be read), and the tenant's project may "
			      "be one of them; run 'flotilla refresh' until it completes, then plan again",
			   t->name, unit_count(in->live_incomplete).s, in->live_incomplete == 1 ? "" : "s");
		diff__act_hint(x, "run flotilla refresh until the list completes, then plan again");
		push_blocked_create(b, t, x);
		return 0;
	}
	if (!b->ix) {
		/* index only the names a create may ask for (and every marked
		 * project): an incremental plan's tenants, looked up; else the
		 * fleet's, filtered from a scan (at 100,000 unmapped projects,
		 * copying each into the index cost twice the scan) */
		char **keys = in->only ? xcalloc(in->nonly + 1, sizeof(char *)) : NULL;
		for (size_t i = 0; keys && i < in->nonly; i++)
			keys[i] = xstrcat2(spec_fleet_name_prefix(in->fleet), in->only[i]);
		int rc = keys ? diff__identity_build_named(&b->ix, in->st, spec_fleet_name(in->fleet),
							   (const char *const *)keys, in->nonly)
			      : diff__identity_build(&b->ix, in->st, spec_fleet_name(in->fleet), in_fleet, in->fleet);
		for (size_t i = 0; keys && i < in->nonly; i++)
			free(keys[i]);
		free(keys);
		if (rc != 0) {
			diff__act_release(&x->a);
			return rc;
		}
	}
	char *name = xstrcat2(spec_fleet_name_prefix(in->fleet), t->name);
	char *why = NULL;
	id_verdict v = diff__identity_check(b->ix, t->name, name, adopt_id, &why);
	free(name);
	if (v == ID_ADOPT)
		return 0;
	if (v == ID_BLOCKED) {
		diff__act_reason(x, "%s", why);
		free(why);
		diff__act_hint(x, "take the project over with 'flotilla adopt %s' (it names the project it takes), or "
			       "rename or delete the project that claims the tenant in Neon: " DIFF_UNBLOCK_DOC, t->name);
		push_blocked_create(b, t, x);
		return 0;
	}
	if (diff__identity_unknown(b->ix) > 0) {
		size_t n = diff__identity_unknown(b->ix);
		diff__act_reason(x, "tenant '%s': not created: %s project%s no tenant is mapped to %s not had %s branches "
			      "read, so whether one carries this tenant's annotations is not known; a plan or apply "
			      "that talks to Neon reads them first (not --refresh none), and one that could not says why",
			   t->name, unit_count((int64_t)n).s, n == 1 ? "" : "s", n == 1 ? "has" : "have", n == 1 ? "its" : "their");
		diff__act_hint(x, "plan with a refresh (not --refresh none), or run flotilla refresh --full");
		push_blocked_create(b, t, x);
		return 0;
	}
	if (!over && b->have_limits && b->limits.projects > 0 && b->live_projects + b->creates >= b->limits.projects) {
		char whose[64];
		if (b->limits.projects_raised || !b->limits.plan)
			str_copy(whose, "spec.limits", sizeof(whose));
		else
			snprintf(whose, sizeof(whose), "the %s plan", b->limits.plan);
		diff__act_reason(x, "tenant '%s': not created: %s allows %s projects, and %s exist or are "
			      "planned before this one, so Neon would refuse it; if Neon raised this account's limit, "
			      "set spec.limits.projects in flotilla.yaml", t->name, whose, unit_count(b->limits.projects).s,
			   unit_count(b->live_projects + b->creates).s);
		diff__act_hint(x, "delete projects the fleet no longer needs, or set spec.limits.projects in flotilla.yaml "
			       "if Neon raised this account's limit");
		over = 1;
	}
	if (over) {
		push_blocked_create(b, t, x);
		return 0;
	}
	b->creates++;
	x->a.kind = PLAN_CREATE;
	x->count_only = true;
	diff__plan_create_calls(x, in->fleet, t->name, sv);
	x->a.deferred = true;
	x->a.origin = t;
	push(b, x);
	return 0;
}

/* t's tenant, mapped to project_id (NULL: not mapped). */
static int plan_tenant(builder *b, const spec_tenant *t, const char *project_id)
{
	const plan_input *in = b->in;
	spec_values sv;
	spec_tenant_resolve(in->fleet, t, &sv);
	if (!plan_selector_match(in->sel, t->name, &sv, t->labels))
		return 0;

	act x;
	memset(&x, 0, sizeof(x));
	x.a.tenant = xstrdup(t->name);
	int rc;
	/* what the fleet's Neon plan would refuse: blocked before any call */
	size_t over = b->have_limits ? spec_limits_check(in->fleet, t, &sv, on_limit, &x) : 0;
	bool adopt = false;
	if (!project_id) {
		rc = plan_unmapped(b, t, &sv, &x, over, &project_id);
		if (rc != 0 || !project_id)
			return rc; /* created, blocked or failed: pushed already */
		adopt = true;
		state_forgotten f;
		if (state_forgotten_get(in->st, project_id, &f) == 0) {
			/* the apply's mapping clears the row (state_tenant_put) */
			diff__act_reason(&x, "tenant '%s' was forgotten (flotilla state forget, run %" PRId64 ") and its "
				   "manifest is back: its project %s is adopted again, not created", t->name, f.run_id, project_id);
			x.a.summary = xstrdup("forgotten by flotilla state forget; its manifest is back, so its project is "
					      "adopted again, not created");
			state_forgotten_release(&f);
		}
	}
	x.a.project_id = xstrdup(project_id);

	state_project p;
	state_deep d;
	bool deep = false;
	memset(&d, 0, sizeof(d));
	rc = load_live(b, x.a.project_id, &p, &d, &deep);
	if (rc == ERR_NOTFOUND) {
		x.a.kind = PLAN_BLOCKED;
		diff__act_reason(&x, "tenant '%s': mapped project %s is not in the cache; run 'flotilla refresh' "
			       "(flotilla never re-creates a mapped tenant on its own)", t->name, x.a.project_id);
		diff__act_hint(&x, "run flotilla refresh; if the project was deleted in Neon, 'flotilla state forget %s "
			       "--force' unmaps it and the next plan creates it again: " DIFF_UNBLOCK_DOC, t->name);
		push(b, &x);
		return 0;
	}
	if (rc != 0)
		goto fail;

	plan_fingerprint(&p, deep ? &d : NULL, x.a.fingerprint);
	x.a.deep_unknown = !deep;
	x.a.kind = PLAN_UPDATE;
	const state_branch *defb = deep ? live_default(&d) : NULL;
	char *of = deep ? diff__project_owner(&d) : NULL;
	if (of && strcmp(of, spec_fleet_name(in->fleet)) != 0) {
		/* not ours: compare nothing, so nothing of it leaks into a patch */
		x.a.kind = PLAN_BLOCKED;
		diff__act_reason(&x, "tenant '%s': project %s belongs to fleet '%s'; flotilla never touches another fleet's project",
			   t->name, p.id, of);
		diff__act_hint(&x, "remove the tenant from one of the two fleets, or unmap it here ('flotilla state forget "
			       "%s --force'): " DIFF_UNBLOCK_DOC, t->name);
		free(of);
		goto out;
	}
	free(of);

	diff__immutable(&x, t->name, &sv, &p); /* region, pgVersion */
	const spec_branch *sdb = diff__spec_default_branch(&sv);
	if (defb && sdb && strcmp(defb->name, sdb->name.s) != 0) {
		diff__act_change(&x, "branches[default].name", defb->name, sdb->name.s);
		diff__act_reason(&x, "tenant '%s': the default branch cannot be renamed from '%s' to '%s'", t->name,
			   defb->name, sdb->name.s);
		diff__act_hint(&x, "name the default branch '%s' again in the manifest", defb->name);
		x.a.kind = PLAN_BLOCKED;
	}

	diff__project(&x, in->fleet, t->name, &sv, &p);
	if (deep && defb && (!sdb || strcmp(defb->name, sdb->name.s) == 0)) {
		deepctx c = {.x = &x, .sv = &sv, .p = &p, .d = &d, .defb = defb, .fleet = in->fleet};
		diff__endpoints(&c);
		diff__branches(&c);
		if ((rc = diff__backups(&x, in->st, &sv, p.id, defb)) != 0) {
			state_project_release(&p);
			state_deep_release(&d);
			goto fail;
		}
	}
	if (over)
		x.a.kind = PLAN_BLOCKED; /* every change still listed, none made */
	if (x.a.kind == PLAN_BLOCKED)
		drop_calls(&x);
	else if (adopt)
		x.a.kind = PLAN_ADOPT; /* mapped, then its calls (if any) */
	else if (x.a.ncalls == 0)
		x.a.kind = PLAN_NOOP;
out:
	state_project_release(&p);
	if (deep)
		state_deep_release(&d);
	push(b, &x);
	return 0;
fail:
	diff__act_release(&x.a);
	return rc;
}

/* The delete budget: --max-deletes when given (above 0), else the fleet's. */
static int64_t max_deletes(const plan_input *in)
{
	return in->max_deletes > 0 ? in->max_deletes : spec_fleet_max_deletes(in->fleet);
}

/* A mapped tenant whose manifest is gone. */
static int plan_gone(builder *b, const char *tenant, const char *project_id)
{
	const plan_input *in = b->in;
	if (!plan_selector_match(in->sel, tenant, NULL, NULL))
		return 0;
	act x;
	memset(&x, 0, sizeof(x));
	x.a.tenant = xstrdup(tenant);
	x.a.project_id = xstrdup(project_id);
	state_project p;
	state_deep d;
	bool deep = false;
	memset(&d, 0, sizeof(d));
	int rc = load_live(b, project_id, &p, &d, &deep);
	if (rc == ERR_NOTFOUND) {
		x.a.kind = PLAN_ORPHAN;
		diff__act_reason(&x, "tenant '%s': manifest removed and project %s is no longer in the cache", tenant, project_id);
		push(b, &x);
		return 0;
	}
	if (rc != 0) {
		diff__act_release(&x.a);
		return rc;
	}
	plan_fingerprint(&p, deep ? &d : NULL, x.a.fingerprint);
	x.a.deep_unknown = !deep;
	char *of = deep ? diff__project_owner(&d) : NULL;
	bool protect = false;
	if (state_tenant_get_protect(in->st, tenant, &protect) != 0)
		protect = false;
	const spec_fleet *f = in->fleet;
	if (!spec_fleet_prune(f)) {
		x.a.kind = PLAN_ORPHAN;
		diff__act_reason(&x, "tenant '%s': manifest removed; project %s is left alone (fleet prune is off)", tenant,
			   project_id);
	} else if (!deep) {
		x.a.kind = PLAN_BLOCKED;
		diff__act_reason(&x, "tenant '%s': manifest removed, but project %s was never read deep, so whether flotilla "
			       "made it is not known; plan with a refresh (not --refresh none) to read it", tenant,
			   project_id);
		diff__act_hint(&x, "plan with a refresh (not --refresh none), or run flotilla refresh --full");
	} else if (of && strcmp(of, spec_fleet_name(f)) != 0) {
		x.a.kind = PLAN_BLOCKED;
		diff__act_reason(&x, "tenant '%s': project %s belongs to fleet '%s'; flotilla never touches another fleet's project",
			   tenant, project_id, of);
		diff__act_hint(&x, "leave it to fleet '%s': 'flotilla state forget %s' removes this fleet's mapping of it: "
			       DIFF_UNBLOCK_DOC, of, tenant);
	} else if (!of) {
		x.a.kind = PLAN_BLOCKED;
		diff__act_reason(&x, "tenant '%s': manifest removed, but project %s carries no flotilla mark (no annotations on "
			       "its default branch, no %s branch): flotilla did not make it and never deletes it; delete it "
			       "in Neon if it should go", tenant, project_id, OWNER_BRANCH);
		diff__act_hint(&x, "delete project %s in Neon if it should go, or restore the tenant's manifest; 'flotilla "
			       "state forget %s' stops planning it", project_id, tenant);
	} else if (protect) {
		x.a.kind = PLAN_BLOCKED;
		diff__act_reason(&x, "tenant '%s': manifest removed but its last manifest said protect: true; flotilla never "
			       "deletes a protected tenant's project", tenant);
		diff__act_hint(&x, "restore the manifest with protect: false and apply, then remove it: " DIFF_UNBLOCK_DOC);
	} else if (b->deletes >= max_deletes(in)) {
		x.a.kind = PLAN_BLOCKED;
		diff__act_reason(&x, "tenant '%s': deleting project %s would exceed %s (%s)", tenant, project_id,
			   in->max_deletes > 0 ? "--max-deletes" : "maxDeletesPerRun", unit_count(max_deletes(in)).s);
		diff__act_hint(&x, "raise maxDeletesPerRun, or --max-deletes for one run, or apply again after this run's "
			       "deletes");
	} else {
		b->deletes++;
		x.a.kind = PLAN_DELETE;
		diff__act_reason(&x, "tenant '%s': manifest removed and fleet prune is on", tenant);
		/* Neon refuses to delete a project with a protected branch: the
		 * manifest that protected them is gone, so unprotect them first */
		char path[320];
		for (size_t i = 0; i < d.nbranches; i++) {
			if (!d.branches[i].protected_)
				continue;
			snprintf(path, sizeof(path), "branches[%s].protected", d.branches[i].name);
			diff__act_change(&x, path, "true", "false");
			diff__act_call(&x, "PATCH", json_pack("{s:{s:b}}", "branch", "protected", 0), false, false,
				 "/projects/%s/branches/%s", project_id, d.branches[i].id);
		}
		diff__act_change(&x, "project", p.name, NULL);
		diff__act_call(&x, "DELETE", NULL, true, false, "/projects/%s", project_id);
	}
	free(of);
	state_project_release(&p);
	if (deep)
		state_deep_release(&d);
	push(b, &x);
	return 0;
}

typedef struct mapped_one {
	char *tenant, *project;
	bool ours; /* mapped for this fleet: only those can be orphaned here */
} mapped_one;

typedef struct mapped {
	mapped_one *v;
	size_t n, cap;
	const char *fleet;
} mapped;

static int collect_mapped(void *arg, const state_tenant *t)
{
	mapped *m = arg;
	m->v = xgrow(m->v, &m->cap, m->n + 1, sizeof(mapped_one));
	m->v[m->n].tenant = xstrdup(t->tenant);
	m->v[m->n].project = xstrdup(t->project_id);
	/* a state file shared by two fleets: a tenant of the other one still
	 * counts as mapped (never created twice), but is never orphaned here */
	m->v[m->n].ours = !t->fleet || !t->fleet[0] || strcmp(t->fleet, m->fleet) == 0;
	m->n++;
	return 0;
}

static int cmp_mapped(const void *a, const void *b)
{
	return strcmp(((const mapped_one *)a)->tenant, ((const mapped_one *)b)->tenant);
}

/* Only in->only: each tenant looked up, not the whole map scanned. */
static int plan_only(builder *b)
{
	const plan_input *in = b->in;
	const char *fleet = spec_fleet_name(in->fleet);
	int rc = 0;
	for (size_t i = 0; i < in->nonly && rc == 0; i++) {
		const char *name = in->only[i];
		const spec_tenant *t = spec_fleet_tenant_find(in->fleet, name);
		state_tenant m;
		memset(&m, 0, sizeof(m));
		rc = state_tenant_get(in->st, name, &m);
		if (rc == ERR_NOTFOUND) {
			rc = t ? plan_tenant(b, t, NULL) : 0;
			continue;
		}
		if (rc != 0)
			break;
		if (t)
			rc = plan_tenant(b, t, m.project_id);
		else if (!m.fleet || !m.fleet[0] || strcmp(m.fleet, fleet) == 0)
			rc = plan_gone(b, name, m.project_id);
		state_tenant_release(&m);
	}
	return rc;
}

int plan_build(plan **out, const plan_input *in)
{
	*out = NULL;
	builder b = {.in = in, .p = xcalloc(1, sizeof(plan))};
	plan *p = b.p;
	mapped m = {NULL, 0, 0, spec_fleet_name(in->fleet)};
	char *ts = NULL;
	int rc;

	p->commit = xstrdup(in->commit ? in->commit : "");
	p->fleet = xstrdup(spec_fleet_name(in->fleet));
	p->org_id = spec_fleet_org_id(in->fleet) ? xstrdup(spec_fleet_org_id(in->fleet)) : NULL;
	p->source = in->fleet;
	p->selected = plan_selector_narrows(in->sel);
	p->changed_since = xstrdup(in->changed_since ? in->changed_since : "");
	p->created_at = in->now;
	if ((rc = state_generation(in->st, &p->state_generation)) != 0)
		goto fail;
	b.have_limits = spec_fleet_limits(in->fleet, &b.limits);
	if (b.have_limits && b.limits.projects > 0 && (b.live_projects = state_project_count(in->st)) < 0) {
		rc = ERR_FAIL;
		goto fail;
	}
	if ((rc = state_meta_get(in->st, "list_refreshed_at", &ts)) != 0)
		goto fail;
	int64_t refreshed = 0;
	if (ts && str_to_i64(ts, &refreshed) == 0)
		p->cache_refreshed_at = refreshed;

	if (in->only) {
		if ((rc = plan_only(&b)) != 0)
			goto fail;
		goto done;
	}
	if ((rc = state_tenants_foreach(in->st, collect_mapped, &m)) != 0)
		goto fail;
	if (m.n)
		qsort(m.v, m.n, sizeof(mapped_one), cmp_mapped);

	/* merge the fleet's tenants (name order) with the mapped ones */
	size_t nt = spec_fleet_tenant_count(in->fleet), i = 0, j = 0;
	while (i < nt || j < m.n) {
		const spec_tenant *t = i < nt ? spec_fleet_tenant_at(in->fleet, i) : NULL;
		const char *mn = j < m.n ? m.v[j].tenant : NULL;
		int c = !t ? 1 : !mn ? -1 : strcmp(t->name, mn);
		if (c <= 0) {
			rc = plan_tenant(&b, t, c == 0 ? m.v[j].project : NULL);
			i++;
			if (c == 0)
				j++;
		} else {
			rc = m.v[j].ours ? plan_gone(&b, mn, m.v[j].project) : 0;
			j++;
		}
		if (rc != 0)
			goto fail;
	}
done:
	rc = 0;
	*out = p;
	p = NULL;
fail:
	for (size_t k = 0; k < m.n; k++) {
		free(m.v[k].tenant);
		free(m.v[k].project);
	}
	free(m.v);
	free(ts);
	diff__identity_free(b.ix);
	plan_free(p);
	return rc;
}
