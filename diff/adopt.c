/*
 * adopt.c: the plan of `flotilla adopt`: which project each tenant takes
 * over, and the one write that marks it as flotilla's.
 *
 * Neon sets branch annotations only when a branch is made, so a project
 * flotilla did not create cannot get the marks its own projects carry on
 * their default branch. Adopting one adds a branch OWNER_BRANCH (no
 * compute, made from the default branch) annotated flotilla.fleet,
 * flotilla.tenant and flotilla.owner: from then on the project is found
 * and recognised like one flotilla made, whatever the state file says.
 * A project already marked for this fleet and tenant is adopted with no
 * call. The rules (docs/operations.md, "What flotilla owns"):
 *   - one project claims the tenant (its name, or its marks): adopted,
 *     unless another fleet marked it, or it is marked for another tenant;
 *   - PROJECT_ID given: that project, when no other fleet or tenant marked
 *     it and no other project carries this tenant's marks;
 *   - none, or several: blocked, naming them (several: adopt one by id).
 * With --all-matching (no tenant given), tenants that nothing claims are
 * left for apply to create, and mapped tenants are not looked at.
 */
#include <string.h>

#include "diff/internal.h"

typedef struct adopt_builder {
	const adopt_input *in;
	identity *ix;
	plan *p;
	size_t cap;
	const char *fleet;
} adopt_builder;

static void add(adopt_builder *b, act *x)
{
	plan *p = b->p;
	p->actions = xgrow(p->actions, &b->cap, p->nactions + 1, sizeof(plan_action));
	p->actions[p->nactions++] = x->a;
	switch (x->a.kind) {
	case PLAN_ADOPT: p->nadopt++; break;
	case PLAN_BLOCKED: p->nblocked++; break;
	default: p->nnoop++; break;
	}
	p->ncalls += x->a.ncalls;
}

static void blocked(adopt_builder *b, act *x, char *why)
{
	x->a.kind = PLAN_BLOCKED;
	diff__act_reason(x, "%s", why);
	free(why);
	add(b, x);
}

/* Take project c for x's tenant: map it, and mark it unless it is marked. */
static int take(adopt_builder *b, act *x, const id_candidate *c)
{
	state_project p;
	state_deep d;
	memset(&d, 0, sizeof(d));
	int rc = state_project_get(b->in->st, c->id, &p);
	if (rc != 0)
		return rc;
	if ((rc = state_deep_get(b->in->st, c->id, &d)) != 0) {
		state_project_release(&p);
		return rc;
	}
	plan_fingerprint(&p, &d, x->a.fingerprint);
	x->a.kind = PLAN_ADOPT;
	x->a.project_id = xstrdup(c->id);
	if (diff__id_candidate_marked_for(c, b->fleet, x->a.tenant)) {
		diff__act_reason(x, "tenant '%s': project %s (named '%s') already carries this fleet's marks for it; mapped, no "
			      "call", x->a.tenant, c->id, c->name);
	} else {
		char to[400];
		snprintf(to, sizeof(to), "fleet %s, tenant %s (branch %s)", b->fleet, x->a.tenant, OWNER_BRANCH);
		diff__act_change(x, "owner", NULL, to);
		diff__act_reason(x, "tenant '%s': project %s (named '%s') is taken over: a branch %s carries flotilla's marks",
			   x->a.tenant, c->id, c->name, OWNER_BRANCH);
		json_t *ann = diff__branch_annotations(b->fleet, x->a.tenant);
		json_object_set_new(ann, "flotilla.owner", json_string("adopt"));
		diff__act_call(x, "POST", json_pack("{s:{s:s},s:o}", "branch", "name", OWNER_BRANCH, "annotation_value", ann),
			 false, false, "/projects/%s/branches", c->id);
	}
	state_project_release(&p);
	state_deep_release(&d);
	add(b, x);
	return 0;
}

/* Why c cannot be tenant's, or NULL (heap). */
static char *refusal(const adopt_builder *b, const char *tenant, const id_candidate *c)
{
	buf m = BUF_INIT(0);
	int rc = buf_printf(&m, "tenant '%s': project ", tenant);
	diff__identity_describe(&m, c);
	if (!c->deep_known)
		rc |= buf_adds(&m, " could not be read, so whose it is is not known; run the command again");
	else if (c->fleet && strcmp(c->fleet, b->fleet) != 0)
		rc |= buf_printf(&m, " belongs to fleet '%s'; flotilla never takes another fleet's project", c->fleet);
	else if (c->fleet && strcmp(c->tenant, tenant) != 0)
		rc |= buf_printf(&m, " is this fleet's project for tenant '%s'; flotilla does not move a project "
				      "between tenants", c->tenant);
	else {
		buf_release(&m);
		return NULL;
	}
	if (rc)
		abort();
	return buf_detach(&m, NULL);
}

static int adopt_tenant(adopt_builder *b, const spec_tenant *t)
{
	const adopt_input *in = b->in;
	act x;
	memset(&x, 0, sizeof(x));
	x.a.tenant = xstrdup(t->name);
	state_tenant mapped;
	int rc = state_tenant_get(in->st, t->name, &mapped);
	if (rc == 0) {
		bool same = !in->project_id || strcmp(in->project_id, mapped.project_id) == 0;
		x.a.project_id = xstrdup(mapped.project_id);
		state_tenant_release(&mapped);
		if (!in->tenant) {
			diff__act_release(&x.a); /* --all-matching looks at unmapped tenants only */
			return 0;
		}
		if (same) {
			x.a.kind = PLAN_NOOP;
			diff__act_reason(&x, "tenant '%s' is mapped to project %s already", t->name, x.a.project_id);
			add(b, &x);
			return 0;
		}
		blocked(b, &x, xasprintf("tenant '%s' is mapped to project %s already; flotilla does not swap a tenant's "
					 "project (delete the tenant's manifest and let prune remove it first)",
					 t->name, x.a.project_id));
		return 0;
	}
	if (rc != ERR_NOTFOUND) {
		diff__act_release(&x.a);
		return rc;
	}
	char *name = xasprintf("%s%s", spec_fleet_name_prefix(in->fleet), t->name);
	const id_candidate *cand[64];
	size_t nc = diff__identity_candidates(b->ix, t->name, name, cand, ARRAY_LEN(cand));
	free(name);
	if (nc > ARRAY_LEN(cand))
		nc = ARRAY_LEN(cand);

	if (in->project_id) {
		const id_candidate *c = diff__identity_get(b->ix, in->project_id);
		if (!c) {
			state_tenant other;
			if (state_tenant_by_project(in->st, in->project_id, &other) == 0) {
				char *why = xasprintf("tenant '%s': project %s is mapped to tenant '%s' already", t->name,
						      in->project_id, other.tenant);
				state_tenant_release(&other);
				blocked(b, &x, why);
			} else {
				blocked(b, &x, xasprintf("tenant '%s': project %s was not found in Neon (check the id, and "
							 "the fleet's orgId)", t->name, in->project_id));
			}
			return 0;
		}
		char *why = refusal(b, t->name, c);
		for (size_t i = 0; !why && i < nc; i++)
			if (cand[i] != c && diff__id_candidate_marked_for(cand[i], b->fleet, t->name)) {
				buf m = BUF_INIT(0);
				if (buf_printf(&m, "tenant '%s': project ", t->name))
					abort();
				diff__identity_describe(&m, cand[i]);
				if (buf_printf(&m, " carries this tenant's marks already: two projects would claim it; "
						   "delete one in Neon, or adopt that one"))
					abort();
				why = buf_detach(&m, NULL);
			}
		return why ? (blocked(b, &x, why), 0) : take(b, &x, c);
	}
	if (nc == 0) {
		if (!in->tenant) {
			diff__act_release(&x.a); /* nothing claims it: apply creates it */
			return 0;
		}
		blocked(b, &x, xasprintf("tenant '%s': no project carries its name (%s%s) or its marks; give the "
					 "project's id: flotilla adopt %s PROJECT_ID", t->name,
					 spec_fleet_name_prefix(in->fleet), t->name, t->name));
		return 0;
	}
	if (nc > 1) {
		buf m = BUF_INIT(0);
		int prc = buf_printf(&m, "tenant '%s': %zu projects claim it: ", t->name, nc);
		for (size_t i = 0; i < nc; i++) {
			prc |= buf_adds(&m, i ? ", " : "");
			diff__identity_describe(&m, cand[i]);
		}
		prc |= buf_printf(&m, "; adopt one by id (flotilla adopt %s PROJECT_ID) and delete or rename the others "
				       "in Neon", t->name);
		if (prc)
			abort();
		blocked(b, &x, buf_detach(&m, NULL));
		return 0;
	}
	char *why = refusal(b, t->name, cand[0]);
	return why ? (blocked(b, &x, why), 0) : take(b, &x, cand[0]);
}

int plan_adopt(plan **out, const adopt_input *in)
{
	*out = NULL;
	adopt_builder b = {.in = in, .p = xcalloc(1, sizeof(plan)), .fleet = spec_fleet_name(in->fleet)};
	plan *p = b.p;
	p->commit = xstrdup(in->commit ? in->commit : "");
	p->fleet = xstrdup(b.fleet);
	p->org_id = spec_fleet_org_id(in->fleet) ? xstrdup(spec_fleet_org_id(in->fleet)) : NULL;
	p->source = in->fleet;
	p->created_at = in->now;
	p->changed_since = xstrdup("");
	int rc = state_generation(in->st, &p->state_generation);
	if (rc == 0)
		rc = diff__identity_build(&b.ix, in->st, b.fleet, NULL, NULL);
	size_t nt = spec_fleet_tenant_count(in->fleet);
	bool found = !in->tenant;
	for (size_t i = 0; rc == 0 && i < nt; i++) {
		const spec_tenant *t = spec_fleet_tenant_at(in->fleet, i);
		if (in->tenant && strcmp(t->name, in->tenant) != 0)
			continue;
		if (!in->tenant) {
			spec_values sv;
			spec_tenant_resolve(in->fleet, t, &sv);
			if (!plan_selector_match(in->sel, t->name, &sv, t->labels))
				continue;
		}
		found = true;
		rc = adopt_tenant(&b, t);
	}
	diff__identity_free(b.ix);
	if (rc == 0 && !found)
		rc = err_set(ERR_NOTFOUND, "tenant '%s' is not in the manifests; flotilla adopts a project for a tenant "
				           "it manages: add the tenant's manifest first", in->tenant);
	if (rc != 0) {
		plan_free(p);
		return rc;
	}
	*out = p;
	return 0;
}
