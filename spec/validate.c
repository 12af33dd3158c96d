/*
 * validate.c: rules that need more than one value.
 *
 * A branches list is checked on its own where it is written, since lists
 * replace rather than merge: one default branch, parents that exist, no
 * cycles, unique names, owners that are declared roles. The rest combine
 * merged values (minCu with maxCu, region with the fleet's
 * allowedRegions), and are reported at the value that was written last in
 * merge order, naming where the other came from. A profile whose own
 * values clash is then reported once at the profile, not per tenant
 * (spec_diags_sort drops the repeats).
 */
#include <inttypes.h>
#include <string.h>

#include "spec/internal.h"

void spec__origin_format(const spec_fleet *f, const spec_origin *o, char *out, size_t size)
{
	switch (o->layer) {
	case SPEC_LAYER_BUILTIN:
		str_copy(out, "built-in default", size);
		break;
	case SPEC_LAYER_DEFAULTS:
		snprintf(out, size, "%s:%" PRIu32 " (defaults)", spec_fleet_file(f, o->file), o->line);
		break;
	default:
		snprintf(out, size, "%s:%" PRIu32, spec_fleet_file(f, o->file), o->line);
	}
}

static void add(const spec_fleet *f, spec_diags *diags, const spec_origin *o, const char *path,
		const char *fmt, ...) PRINTF(5, 6);
static void add(const spec_fleet *f, spec_diags *diags, const spec_origin *o, const char *path,
		const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	spec__diags_vadd(diags, spec_fleet_file(f, o->file), o->line, o->col, path, fmt, ap);
	va_end(ap);
}

static const spec_branch *find_branch(const spec_branches *br, const char *name)
{
	for (size_t i = 0; i < br->n; i++)
		if (br->items[i].name.s && strcmp(br->items[i].name.s, name) == 0)
			return &br->items[i];
	return NULL;
}

/* The branch a branch starts from: its parent, or the default branch. */
static const spec_branch *parent_of(const spec_branches *br, const spec_branch *b)
{
	const spec_branch *def = &br->items[br->default_index];
	if (b == def)
		return NULL;
	if (!b->parent.o.set)
		return def;
	return find_branch(br, b->parent.s);
}

void spec__validate_branches(spec_fleet *f, spec_branches *br, const char *path, spec_origin at,
		       spec_diags *diags)
{
	char p[256];
	if (br->n == 0) {
		add(f, diags, &at, path, "a tenant needs at least one branch, the default one");
		return;
	}
	/* flotilla-owner is the owner branch `flotilla adopt` adds */
	for (size_t i = 0; i < br->n; i++)
		if (strcmp(br->items[i].name.s, "flotilla-owner") == 0) {
			snprintf(p, sizeof(p), "%s[%zu].name", path, i);
			add(f, diags, &br->items[i].name.o, p, "branch name 'flotilla-owner' is flotilla's own: the branch "
			    "that marks an adopted project (docs/operations.md); choose another name");
		}
	/* unique names */
	for (size_t i = 0; i < br->n; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(br->items[i].name.s, br->items[j].name.s) == 0) {
				snprintf(p, sizeof(p), "%s[%zu].name", path, i);
				add(f, diags, &br->items[i].name.o, p, "branch '%s' is listed twice (first at line %" PRIu32 ")",
				    br->items[i].name.s, br->items[j].name.o.line);
			}
	/* exactly one default: the one marked default, else the one named main */
	long def = -1;
	for (size_t i = 0; i < br->n; i++) {
		if (!br->items[i].is_default.i)
			continue;
		if (def >= 0) {
			snprintf(p, sizeof(p), "%s[%zu].default", path, i);
			add(f, diags, &br->items[i].is_default.o, p,
			    "only one branch can be the default; '%s' already is", br->items[def].name.s);
			continue;
		}
		def = (long)i;
	}
	for (size_t i = 0; def < 0 && i < br->n; i++)
		if (strcmp(br->items[i].name.s, "main") == 0)
			def = (long)i;
	if (def < 0) {
		add(f, diags, &at, path, "no default branch: name one branch 'main' or mark one 'default: true'");
		return;
	}
	br->default_index = (size_t)def;
	const spec_branch *defb = &br->items[def];
	if (defb->parent.o.set) {
		snprintf(p, sizeof(p), "%s[%ld].parent", path, def);
		add(f, diags, &defb->parent.o, p, "the default branch '%s' is the root: it cannot have a parent",
		    defb->name.s);
		return;
	}
	bool parents_ok = true;
	for (size_t i = 0; i < br->n; i++) {
		const spec_branch *b = &br->items[i];
		if (!b->parent.o.set || find_branch(br, b->parent.s))
			continue;
		snprintf(p, sizeof(p), "%s[%zu].parent", path, i);
		add(f, diags, &b->parent.o, p, "parent '%s' is not a branch of this tenant", b->parent.s);
		parents_ok = false;
	}
	if (!parents_ok)
		return;
	/* cycles: a chain longer than the list has looped */
	for (size_t i = 0; i < br->n; i++) {
		const spec_branch *b = &br->items[i];
		size_t steps = 0;
		while (b && steps <= br->n) {
			b = parent_of(br, b);
			steps++;
		}
		if (b) {
			snprintf(p, sizeof(p), "%s[%zu].parent", path, i);
			add(f, diags, &br->items[i].parent.o, p,
			    "branch '%s' is its own ancestor: parents form a cycle", br->items[i].name.s);
			return;
		}
	}
	/* roles and databases: unique per branch; owners declared here or above */
	for (size_t i = 0; i < br->n; i++) {
		const spec_branch *b = &br->items[i];
		for (size_t r = 0; r < b->nroles; r++)
			for (size_t s = 0; s < r; s++)
				if (strcmp(b->roles[r].name.s, b->roles[s].name.s) == 0) {
					snprintf(p, sizeof(p), "%s[%zu].roles[%zu].name", path, i, r);
					add(f, diags, &b->roles[r].name.o, p, "role '%s' is listed twice on branch '%s'",
					    b->roles[r].name.s, b->name.s);
				}
		for (size_t x = 0; x < b->ndatabases; x++) {
			const spec_database *db = &b->databases[x];
			for (size_t y = 0; y < x; y++)
				if (strcmp(db->name.s, b->databases[y].name.s) == 0) {
					snprintf(p, sizeof(p), "%s[%zu].databases[%zu].name", path, i, x);
					add(f, diags, &db->name.o, p, "database '%s' is listed twice on branch '%s'",
					    db->name.s, b->name.s);
				}
			bool found = false;
			for (const spec_branch *a = b; a && !found; a = parent_of(br, a))
				for (size_t r = 0; r < a->nroles && !found; r++)
					found = strcmp(a->roles[r].name.s, db->owner.s) == 0;
			if (!found) {
				snprintf(p, sizeof(p), "%s[%zu].databases[%zu].owner", path, i, x);
				add(f, diags, &db->owner.o, p,
				    "owner '%s' of database '%s' is not a role declared on branch '%s' or its ancestors",
				    db->owner.s, db->name.s, b->name.s);
			}
		}
	}
}

/* The origin to report a combined rule at: the later of two in merge order,
 * or the tenant's name when both are built-in. */
static const spec_origin *blame(const spec_tenant *t, const spec_val *a, const spec_val *b,
				const spec_val **other)
{
	const spec_val *w = a->o.layer >= b->o.layer ? a : b;
	*other = w == a ? b : a;
	return w->o.layer == SPEC_LAYER_BUILTIN ? &t->o : &w->o;
}

static const char *path_of(const spec_val *v, spec_field f, char *out, size_t size)
{
	const char *prefix = v->o.layer == SPEC_LAYER_DEFAULTS ? "spec.defaults." : "spec.";
	if (v->o.layer == SPEC_LAYER_BUILTIN)
		return "metadata.name";
	snprintf(out, size, "%s%s", prefix, spec_field_get(f)->path);
	return out;
}

/* A region outside allowedRegions: the allowed ones (the first
 * REGIONS_NAMED), and the nearest when it is close and the region is
 * none of Neon's (a typo). */
#define REGIONS_NAMED 8
static void check_region(const spec_fleet *f, const spec_tenant *t, const spec_val *region, spec_diags *diags)
{
	const spec_list *allowed = f->allowed_regions;
	const char *known[REGIONS_NAMED];
	size_t nk = 0;
	for (size_t i = 0; i < allowed->n; i++) {
		if (strcmp(allowed->items[i].s, region->s) == 0)
			return;
		if (nk < REGIONS_NAMED)
			known[nk++] = allowed->items[i].s;
	}
	const spec_origin *o = region->o.layer == SPEC_LAYER_BUILTIN ? &t->o : &region->o;
	char from[160], p[128];
	if (f->allowed_regions_o.set)
		snprintf(from, sizeof(from), "allowedRegions from %s:%" PRIu32,
			 spec_fleet_file(f, f->allowed_regions_o.file), f->allowed_regions_o.line);
	else
		str_copy(from, "the built-in allowedRegions", sizeof(from));
	buf use = BUF_INIT(0);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < nk; i++)
		rc = buf_printf(&use, "%s%s", i == 0 ? "" : i + 1 == allowed->n ? " or " : ", ", known[i]);
	if (rc == 0 && allowed->n > nk)
		rc = buf_printf(&use, " and %zu more", allowed->n - nk);
	if (rc != 0)
		abort(); /* unbounded buffer: cannot fail */
	/* a typo of an allowed region, not another real one (aws-us-west-2
	 * is two edits from aws-us-east-2, and means what it says); every
	 * allowed region is a candidate, not only the ones named */
	const char **all = xcalloc(allowed->n ? allowed->n : 1, sizeof(*all));
	for (size_t i = 0; i < allowed->n; i++)
		all[i] = allowed->items[i].s;
	const char *hint = spec__region_documented(region->s) ? NULL : str_suggest(region->s, all, allowed->n);
	add(f, diags, o, path_of(region, SF_REGION, p, sizeof(p)),
	    "region '%s' is not in the fleet's allowedRegions (%s%s): use %s%s%s%s", region->s,
	    region->o.layer == SPEC_LAYER_BUILTIN ? "it is the built-in default region; " : "", from,
	    use.data ? use.data : "", hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
	free(all);
	buf_release(&use);
}

void spec__validate_tenant(const spec_fleet *f, const spec_tenant *t, spec_diags *diags)
{
	spec_values m;
	spec_tenant_resolve(f, t, &m);
	char p[128], where[160], a[16], b[16];

	const spec_val *prof = &m.v[SF_PROFILE];
	if (prof->s && !strmap_get(f->profile_index, prof->s)) {
		const char *known[64];
		size_t nk = 0;
		for (size_t i = 0; i < f->nprofiles && nk < ARRAY_LEN(known); i++)
			known[nk++] = f->profiles[i]->name;
		const char *hint = NULL;
		size_t best = 3;
		for (size_t i = 0; i < nk; i++) {
			size_t dd = str_edit_distance(prof->s, known[i], 2);
			if (dd < best) {
				best = dd;
				hint = known[i];
			}
		}
		add(f, diags, &prof->o, path_of(prof, SF_PROFILE, p, sizeof(p)), "profile '%s' is not defined%s%s%s",
		    prof->s, hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
	}

	check_region(f, t, &m.v[SF_REGION], diags);

	/* CU rules (docs/neon-api.md, Endpoints): max >= min, max - min <= 8,
	 * autoscaling up to the account's ceiling, fixed size up to 56 */
	const spec_val *mn = &m.v[SF_COMPUTE_MIN_CU], *mx = &m.v[SF_COMPUTE_MAX_CU];
	bool below = mx->i < mn->i, wide = mx->i - mn->i > 32;
	bool ceiling = !below && !wide && mx->i > mn->i && mx->i > f->max_autoscaling_cu;
	bool fixed = mx->i == mn->i && mx->i > 224;
	if (below || wide || fixed) {
		/* formatted only on failure: this runs for every tenant */
		const spec_val *other;
		const spec_origin *o = blame(t, mx, mn, &other);
		path_of(other == mn ? mx : mn, other == mn ? SF_COMPUTE_MAX_CU : SF_COMPUTE_MIN_CU, p, sizeof(p));
		spec__origin_format(f, &other->o, where, sizeof(where));
		const char *oname = other == mn ? "minCu" : "maxCu";
		unit_cu_format((int32_t)mn->i, a);
		unit_cu_format((int32_t)mx->i, b);
		if (below)
			add(f, diags, o, p, "maxCu %s is below minCu %s (%s from %s)", b, a, oname, where);
		else if (wide)
			add(f, diags, o, p, "maxCu %s - minCu %s is more than 8 CU, Neon's widest autoscaling range (%s from %s)",
			    b, a, oname, where);
		else
			add(f, diags, o, p, "a fixed compute size of %s CU is above Neon's maximum of 56 (%s from %s)", b,
			    oname, where);
	} else if (ceiling) {
		char c[16], ceil_from[160];
		unit_cu_format(f->max_autoscaling_cu, c);
		unit_cu_format((int32_t)mx->i, b);
		if (f->max_autoscaling_cu_o.set)
			snprintf(ceil_from, sizeof(ceil_from), "maxAutoscalingCu from %s:%" PRIu32,
				 spec_fleet_file(f, f->max_autoscaling_cu_o.file), f->max_autoscaling_cu_o.line);
		else
			str_copy(ceil_from, "the built-in maxAutoscalingCu", sizeof(ceil_from));
		add(f, diags, mx->o.layer != SPEC_LAYER_BUILTIN ? &mx->o : &t->o, path_of(mx, SF_COMPUTE_MAX_CU, p, sizeof(p)),
		    "maxCu %s is above the fleet's autoscaling ceiling of %s CU (%s)", b, c, ceil_from);
	}

}
