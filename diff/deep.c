/*
 * deep.c: the deep comparison of an existing tenant: its endpoints (the
 * read_write compute and the read replicas), branches, roles and
 * databases, for a project the cache read deep. plan.c's header comment
 * gives the rules and the order of the calls; what flotilla owns among
 * them is docs/operations.md, "What flotilla owns".
 */
#include <inttypes.h>
#include <string.h>

#include "diff/internal.h"

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
		diff__change_i(c->x, path, diff__fmt_cu, lmin, v[SF_COMPUTE_MIN_CU].i);
	}
	if (lmax != v[SF_COMPUTE_MAX_CU].i) {
		snprintf(path, sizeof(path), "endpoints[%s].maxCu", label);
		diff__change_i(c->x, path, diff__fmt_cu, lmax, v[SF_COMPUTE_MAX_CU].i);
	}
	if (lsus != v[SF_COMPUTE_SUSPEND_TIMEOUT].i) {
		snprintf(path, sizeof(path), "endpoints[%s].suspendTimeout", label);
		diff__change_i(c->x, path, diff__fmt_duration, lsus, v[SF_COMPUTE_SUSPEND_TIMEOUT].i);
	}
	json_t *ep = json_object();
	if (!sized) {
		json_object_set_new(ep, "autoscaling_limit_min_cu", diff__cu_json(v[SF_COMPUTE_MIN_CU].i));
		json_object_set_new(ep, "autoscaling_limit_max_cu", diff__cu_json(v[SF_COMPUTE_MAX_CU].i));
		json_object_set_new(ep, "suspend_timeout_seconds", json_integer(v[SF_COMPUTE_SUSPEND_TIMEOUT].i));
	}
	if (rename) {
		snprintf(path, sizeof(path), "endpoints[%s].name", label);
		diff__act_change(c->x, path, e->name, rename);
		json_object_set_new(ep, "name", json_string(rename));
	}
	diff__act_call(c->x, "PATCH", json_pack("{s:o}", "endpoint", ep), false, false, "/projects/%s/endpoints/%s", c->p->id,
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
void diff__endpoints(deepctx *c)
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
		diff__act_change(c->x, "readReplicas", a, b);
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
		diff__replica_name(i + 1, name);
		if (slot[i])
			endpoint_compare(c, slot[i], name, NULL);
		else if (used < nspare)
			endpoint_compare(c, spare[used++], name, name);
	}
	/* Neon refuses to delete the computes of a protected branch: when the
	 * manifest took the protection away, it goes first */
	const spec_branch *sdb = diff__spec_default_branch(c->sv);
	if (used < nspare && c->defb->protected_ && sdb && !sdb->protect.i) {
		char path[320];
		snprintf(path, sizeof(path), "branches[%s].protected", c->defb->name);
		diff__act_change(c->x, path, "true", "false");
		diff__act_call(c->x, "PATCH", json_pack("{s:{s:b}}", "branch", "protected", 0), false, false,
			 "/projects/%s/branches/%s", c->p->id, c->defb->id);
		c->defb_unprotected = true;
	} else if (used < nspare && c->defb->protected_) {
		diff__act_reason(c->x, "tenant '%s': readReplicas cannot go from %zu to %zu: branch '%s' is protected, and Neon "
				 "refuses to delete the computes of a protected branch; set protected: false on it in the "
				 "manifest (the same apply unprotects it, then removes the replicas), or keep readReplicas",
			   c->x->a.tenant, nro, want, c->defb->name);
		diff__act_hint(c->x, "set protected: false on branch '%s' in the manifest, or keep readReplicas at %zu",
			       c->defb->name, nro);
		c->x->a.kind = PLAN_BLOCKED;
	}
	/* a replica holds no data of its own: removing one is not destructive */
	for (size_t i = used; i < nspare; i++)
		diff__act_call(c->x, "DELETE", NULL, false, false, "/projects/%s/endpoints/%s", c->p->id, spare[i]->id);
	/* the names neither a live replica had nor a spare took */
	size_t taken = 0;
	for (size_t i = 0; i < want; i++) {
		if (slot[i])
			continue;
		if (taken++ < used)
			continue; /* a spare was renamed to it above */
		diff__act_call(c->x, "POST", diff__replica_body(c->sv, c->defb->id, i + 1), false, false, "/projects/%s/endpoints",
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
			diff__act_change(x, path, NULL, r->no_login.i ? "noLogin" : "login");
			diff__act_call(x, "POST", json_pack("{s:{s:s,s:b}}", "role", "name", r->name.s, "no_login", (int)r->no_login.i),
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
				diff__act_change(x, path, NULL, to);
				diff__act_call(x, "POST", json_pack("{s:{s:s,s:s}}", "database", "name", db->name.s, "owner_name",
							      db->owner.s),
					 false, false, "/projects/%s/branches/%s/databases", pid, lb->id);
			} else if (phase == PH_DB_OWNER && has && (!owner || strcmp(owner, db->owner.s) != 0)) {
				/* in place: PATCH keeps the data, a re-create would not */
				diff__act_change(x, path, owner, db->owner.s);
				diff__act_call(x, "PATCH", json_pack("{s:{s:s}}", "database", "owner_name", db->owner.s), false,
					 false, "/projects/%s/branches/%s/databases/%s", pid, lb->id, db->name.s);
			}
		}
		break;
	case PH_DB_DEL:
		for (size_t i = 0; i < c->d->ndatabases; i++) {
			const state_database *ld = &c->d->databases[i];
			if (strcmp(ld->branch_id, lb->id) != 0 || declared_on(sb, ld->name, false) ||
			    diff__spec_inherited(c->sv, sb, ld->name, false))
				continue;
			snprintf(path, sizeof(path), "branches[%s].databases[%s]", bn, ld->name);
			diff__act_change(x, path, "present", NULL);
			diff__act_call(x, "DELETE", NULL, true, false, "/projects/%s/branches/%s/databases/%s", pid, lb->id,
				 ld->name);
		}
		break;
	case PH_ROLE_DEL:
		for (size_t i = 0; i < c->d->nroles; i++) {
			const state_role *lr = &c->d->roles[i];
			if (strcmp(lr->branch_id, lb->id) != 0 || declared_on(sb, lr->name, true) ||
			    diff__spec_inherited(c->sv, sb, lr->name, true))
				continue;
			snprintf(path, sizeof(path), "branches[%s].roles[%s]", bn, lr->name);
			diff__act_change(x, path, "present", NULL);
			diff__act_call(x, "DELETE", NULL, true, false, "/projects/%s/branches/%s/roles/%s", pid, lb->id, lr->name);
		}
		break;
	case PH_PROTECT:
		if (lb == c->defb && c->defb_unprotected)
			break; /* diff_endpoints did, before deleting replicas */
		if ((bool)sb->protect.i != lb->protected_) {
			snprintf(path, sizeof(path), "branches[%s].protected", bn);
			diff__act_change(x, path, lb->protected_ ? "true" : "false", sb->protect.i ? "true" : "false");
			diff__act_call(x, "PATCH", json_pack("{s:{s:b}}", "branch", "protected", (int)sb->protect.i), false, false,
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

/* One branch the manifest adds: its POST (under the parent's id when the
 * parent is live, else under the name an earlier POST of this plan makes),
 * then the roles and databases it does not inherit from that parent. */
static void branch_create(deepctx *c, const spec_branch *b)
{
	const spec_values *sv = c->sv;
	act *x = c->x;
	const char *pid = c->p->id;
	char path[320], ref[320];

	const char *pn = diff__spec_branch_parent(sv, b);
	const state_branch *lp = live_branch_named(c->d, pn);
	if (lp)
		str_copy(ref, lp->id, sizeof(ref));
	else
		snprintf(ref, sizeof(ref), "{branch_id:%s}", pn);
	char to[300];
	snprintf(to, sizeof(to), "parent %s%s", pn, b->protect.i ? ", protected" : "");
	snprintf(path, sizeof(path), "branches[%s]", b->name.s);
	diff__act_change(x, path, NULL, to);
	diff__act_call(x, "POST", json_pack("{s:{s:s,s:s,s:b},s:o}", "branch", "name", b->name.s, "parent_id", ref,
				      "protected", (int)b->protect.i, "annotation_value",
				      diff__branch_annotations(spec_fleet_name(c->fleet), x->a.tenant)),
		 false, false, "/projects/%s/branches", pid);
	for (size_t i = 0; i < b->nroles; i++)
		if (!diff__spec_inherited(sv, b, b->roles[i].name.s, true)) {
			snprintf(path, sizeof(path), "branches[%s].roles[%s]", b->name.s, b->roles[i].name.s);
			diff__act_change(x, path, NULL, b->roles[i].no_login.i ? "noLogin" : "login");
			diff__act_call(x, "POST",
				 json_pack("{s:{s:s,s:b}}", "role", "name", b->roles[i].name.s, "no_login",
					   (int)b->roles[i].no_login.i),
				 false, false, "/projects/%s/branches/{branch_id:%s}/roles", pid, b->name.s);
		}
	for (size_t i = 0; i < b->ndatabases; i++)
		if (!diff__spec_inherited(sv, b, b->databases[i].name.s, false)) {
			snprintf(path, sizeof(path), "branches[%s].databases[%s]", b->name.s, b->databases[i].name.s);
			snprintf(to, sizeof(to), "owner %s", b->databases[i].owner.s);
			diff__act_change(x, path, NULL, to);
			diff__act_call(x, "POST",
				 json_pack("{s:{s:s,s:s}}", "database", "name", b->databases[i].name.s, "owner_name",
					   b->databases[i].owner.s),
				 false, false, "/projects/%s/branches/{branch_id:%s}/databases", pid, b->name.s);
		}
}

/*
 * The live branches the manifest no longer lists that may go, into gone[]
 * (managed[i]: flotilla made gone[i]); returns how many. The rest are
 * reported as unmanaged: another fleet's, not flotilla's without
 * pruneBranches, or preserved by a restore (always). The owner branch of an adopted project is neither.
 */
static size_t branches_gone_collect(deepctx *c, const state_branch **gone, bool *managed)
{
	const state_deep *d = c->d;
	act *x = c->x;
	const char *fleet = spec_fleet_name(c->fleet);
	bool prune_all = spec_fleet_prune_branches(c->fleet);
	size_t ng = 0;
	for (size_t i = 0; i < d->nbranches; i++) {
		const state_branch *lb = &d->branches[i];
		if (lb->is_default || diff__spec_branch_find(c->sv, lb->name))
			continue;
		branch_mark m;
		diff__branch_mark_read(lb, &m);
		bool owner = m.owner && strcmp(lb->name, OWNER_BRANCH) == 0;
		bool ours = m.fleet && !m.owner && strcmp(m.fleet, fleet) == 0;
		bool foreign = m.fleet && strcmp(m.fleet, fleet) != 0;
		diff__branch_mark_release(&m);
		if (owner)
			continue;
		/* what `flotilla restore` preserved is the operator's, whoever's
		 * marks it carries (Neon may copy the restored branch's) */
		bool preserved = str_has_prefix(lb->name, DIFF_PRESERVED_PREFIX);
		if (preserved || (!ours && (!prune_all || foreign))) {
			x->a.unmanaged = xrealloc(x->a.unmanaged, (x->a.nunmanaged + 1) * sizeof(char *));
			x->a.unmanaged[x->a.nunmanaged++] = xstrdup(lb->name);
			continue;
		}
		managed[ng] = ours;
		gone[ng++] = lb;
	}
	return ng;
}

/* Children before parents: deepest first, then by name; managed[] moves
 * along with gone[]. */
static void branches_gone_sort(const state_deep *d, const state_branch **gone, bool *managed, size_t ng)
{
	for (size_t i = 1; i < ng; i++) /* insertion sort: a handful at most */
		for (size_t j = i; j > 0; j--) {
			size_t da = live_depth(d, gone[j - 1]), db = live_depth(d, gone[j]);
			if (da > db || (da == db && strcmp(gone[j - 1]->name, gone[j]->name) <= 0))
				break;
			const state_branch *t = gone[j];
			gone[j] = gone[j - 1];
			gone[j - 1] = t;
			bool tm = managed[j];
			managed[j] = managed[j - 1];
			managed[j - 1] = tm;
		}
}

/* A live child of g that is not among the ng going, or NULL. */
static const state_branch *live_child_staying(const state_deep *d, const state_branch *g,
					      const state_branch **gone, size_t ng)
{
	for (size_t k = 0; k < d->nbranches; k++) {
		if (!d->branches[k].parent_id || strcmp(d->branches[k].parent_id, g->id) != 0)
			continue;
		bool going = false;
		for (size_t q = 0; q < ng; q++)
			going |= gone[q] == &d->branches[k];
		if (!going)
			return &d->branches[k];
	}
	return NULL;
}

/* Delete gone[i], unprotecting it first if the manifest had protected it,
 * or block the plan when Neon would refuse or the protection is not ours
 * to take away. */
static void branch_delete(deepctx *c, const state_branch **gone, const bool *managed, size_t ng, size_t i)
{
	act *x = c->x;
	const char *pid = c->p->id;
	const state_branch *g = gone[i];
	char path[320];
	/* Neon refuses to delete a branch with children: one that stays
	 * (not flotilla's, or listed) holds its parent */
	const state_branch *child = live_child_staying(c->d, g, gone, ng);
	if (child) {
		diff__act_reason(x, "tenant '%s': branch '%s' is no longer listed, but branch '%s' was made from it and "
			      "stays, and Neon refuses to delete a branch with children; delete '%s' in Neon, or list "
			      "'%s' again", x->a.tenant, g->name, child->name, child->name, g->name);
		diff__act_hint(x, "delete branch '%s' in Neon, or list branch '%s' in the manifest again", child->name,
			       g->name);
		x->a.kind = PLAN_BLOCKED;
		x->a.reread = true;
		return;
	}
	if (g->protected_ && !managed[i]) {
		/* pruneBranches reaches a branch flotilla did not make: its
		 * protection did not come from the manifest either */
		diff__act_reason(x, "tenant '%s': branch '%s' is protected and flotilla did not make it, so pruneBranches "
			      "does not take its protection away; unprotect it in Neon to let it go, or list it in "
			      "the manifest", x->a.tenant, g->name);
		diff__act_hint(x, "unprotect branch '%s' in Neon, or list it in the manifest", g->name);
		x->a.kind = PLAN_BLOCKED;
		x->a.reread = true;
		return;
	}
	if (g->protected_) {
		/* the manifest that protected it no longer lists it */
		snprintf(path, sizeof(path), "branches[%s].protected", g->name);
		diff__act_change(x, path, "true", "false");
		diff__act_call(x, "PATCH", json_pack("{s:{s:b}}", "branch", "protected", 0), false, false,
			 "/projects/%s/branches/%s", pid, g->id);
	}
	snprintf(path, sizeof(path), "branches[%s]", g->name);
	diff__act_change(x, path, "present", NULL);
	diff__act_call(x, "DELETE", NULL, true, false, "/projects/%s/branches/%s", pid, g->id);
}

void diff__branches(deepctx *c)
{
	const spec_values *sv = c->sv;
	const state_deep *d = c->d;

	size_t nb = 0;
	const spec_branch **order = diff__spec_branches_parent_first(sv, &nb);
	/* new branches, parent first, each followed by what it does not inherit */
	for (size_t k = 0; k < nb; k++)
		if (!live_branch_named(d, order[k]->name.s))
			branch_create(c, order[k]);

	/* existing branches: the default one, then the rest parent first */
	for (int phase = PH_ROLE_ADD; phase <= PH_PROTECT; phase++) {
		const spec_branch *db = diff__spec_default_branch(sv);
		if (db)
			branch_phase(c, db, c->defb, phase);
		for (size_t k = 0; k < nb; k++) {
			const state_branch *lb = live_branch_named(d, order[k]->name.s);
			if (lb && !lb->is_default)
				branch_phase(c, order[k], lb, phase);
		}
	}
	free(order);

	/* removed branches: only flotilla's (pruneBranches: every one not
	 * another fleet's), children before parents */
	const state_branch **gone = xcalloc(d->nbranches + 1, sizeof(*gone));
	bool *managed = xcalloc(d->nbranches + 1, sizeof(*managed));
	size_t ng = branches_gone_collect(c, gone, managed);
	branches_gone_sort(d, gone, managed, ng);
	for (size_t i = 0; i < ng; i++)
		branch_delete(c, gone, managed, ng, i);
	free(managed);
	free(gone);
}
