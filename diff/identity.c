/*
 * identity.c: whose project is it? The check that comes before every
 * create (docs/operations.md, "What flotilla owns").
 *
 * A tenant with no project mapped in the state file is created only when
 * no project the live list shows carries its name (namePrefix + tenant) or
 * its ownership annotations (flotilla.fleet and flotilla.tenant on one of
 * its branches: the default branch of a project flotilla made, or the
 * owner branch `flotilla adopt` adds). The state file can be new, lost,
 * or restored from an old copy; the list cannot. So:
 *   - one project annotated for this fleet and tenant: adopted (mapped, no
 *     POST), whatever its name;
 *   - one project with the tenant's name and no annotations, or another
 *     fleet's, or another tenant's: blocked, naming it and the command
 *     that adopts it;
 *   - two or more candidates: blocked, naming them all.
 * The index is built once per plan from the cache's unmapped projects; the
 * caller made sure the cache holds a complete, fresh list and the branches
 * of every unmapped project (planning.c), and a project whose branches
 * were never read leaves its owner unknown: no create can be proved safe
 * while one is.
 */
#include <string.h>

#include "diff/internal.h"

struct identity {
	id_candidate *v;
	size_t n, cap;
	strmap *by_name;     /* name -> index list (heap size_t array, first element its length) */
	strmap *by_tenant;   /* this fleet's tenant -> index list */
	/* or NULL: only the names it wants are indexed (plus every marked project) */
	bool (*wanted)(const void *arg, const char *name);
	const void *wanted_arg;
	char **keys;         /* map keys, owned here */
	size_t nkeys, capkeys;
	size_t unknown;      /* unmapped projects whose branches were never read */
	bool counted;        /* unknown came from the state file, not from the rows */
	char *fleet;
};

const char *diff__live_annotation(const json_t *ann, const char *key)
{
	const json_t *v = json_object_get(ann, "value");
	if (json_is_object(v))
		ann = v;
	return json_string_value(json_object_get(ann, key));
}

void diff__branch_mark_read(const state_branch *b, branch_mark *out)
{
	memset(out, 0, sizeof(*out));
	json_t *ann = b ? diff__live_json(b->annotations_json) : NULL;
	const char *f = diff__live_annotation(ann, "flotilla.fleet"), *t = diff__live_annotation(ann, "flotilla.tenant");
	if (f && t) {
		out->fleet = xstrdup(f);
		out->tenant = xstrdup(t);
		out->owner = diff__live_annotation(ann, "flotilla.owner") != NULL;
	}
	json_decref(ann);
}

void diff__branch_mark_release(branch_mark *m)
{
	free(m->fleet);
	free(m->tenant);
	memset(m, 0, sizeof(*m));
}

char *diff__project_owner(const state_deep *d)
{
	char *fleet = NULL;
	for (size_t i = 0; i < d->nbranches && !fleet; i++) {
		if (!d->branches[i].is_default && strcmp(d->branches[i].name, OWNER_BRANCH) != 0)
			continue;
		branch_mark m;
		diff__branch_mark_read(&d->branches[i], &m);
		if (m.fleet && (d->branches[i].is_default || m.owner)) {
			fleet = m.fleet;
			m.fleet = NULL;
		}
		diff__branch_mark_release(&m);
	}
	return fleet;
}

json_t *diff__branch_annotations(const char *fleet, const char *tenant)
{
	return json_pack("{s:s,s:s}", "flotilla.fleet", fleet, "flotilla.tenant", tenant);
}

static void list_add(identity *ix, strmap *m, const char *key, size_t index)
{
	size_t *l = strmap_get(m, key);
	if (!l) {
		char *k = xstrdup(key);
		if (ix->nkeys == ix->capkeys)
			ix->keys = xgrow(ix->keys, &ix->capkeys, ix->nkeys + 1, sizeof(char *));
		ix->keys[ix->nkeys++] = k;
		l = xcalloc(2, sizeof(size_t));
		strmap_put(m, k, l);
	} else {
		for (size_t i = 1; i <= l[0]; i++)
			if (l[i] == index)
				return;
		l = xrealloc(l, (l[0] + 2) * sizeof(size_t));
		strmap_put(m, key, l);
	}
	l[++l[0]] = index;
}

static int on_unmapped(void *arg, const state_unmapped *u)
{
	identity *ix = arg;
	id_candidate *c = ix->n ? &ix->v[ix->n - 1] : NULL;
	if (!c || strcmp(c->id, u->project_id) != 0) {
		/* a new project (its rows come together, one per annotated branch);
		 * one without marks whose name no create asks for is only counted */
		if (!u->annotations_json && ix->wanted && !ix->wanted(ix->wanted_arg, u->name)) {
			ix->unknown += !u->deep_known && !ix->counted;
			return 0;
		}
		if (ix->n == ix->cap)
			ix->v = xgrow(ix->v, &ix->cap, ix->n + 1, sizeof(*ix->v));
		c = &ix->v[ix->n++];
		memset(c, 0, sizeof(*c));
		c->id = xstrdup(u->project_id);
		c->name = xstrdup(u->name);
		c->deep_known = u->deep_known;
		if (!u->deep_known && !ix->counted)
			ix->unknown++;
		list_add(ix, ix->by_name, c->name, ix->n - 1);
	}
	if (u->annotations_json && !c->fleet) {
		json_t *ann = json_loads(u->annotations_json, JSON_DECODE_ANY, NULL);
		const char *f = diff__live_annotation(ann, "flotilla.fleet"), *t = diff__live_annotation(ann, "flotilla.tenant");
		if (f && t) {
			c->fleet = xstrdup(f);
			c->tenant = xstrdup(t);
			if (strcmp(f, ix->fleet) == 0)
				list_add(ix, ix->by_tenant, t, ix->n - 1);
		}
		json_decref(ann);
	}
	return 0;
}

int diff__identity_build(identity **out, state *st, const char *fleet,
			 bool (*wanted)(const void *arg, const char *name), const void *arg)
{
	identity *ix = xcalloc(1, sizeof(*ix));
	ix->wanted = wanted;
	ix->wanted_arg = arg;
	ix->by_name = strmap_new();
	ix->by_tenant = strmap_new();
	ix->fleet = xstrdup(fleet ? fleet : "");
	int rc = state_unmapped_foreach(st, on_unmapped, ix);
	ix->wanted = NULL;
	ix->wanted_arg = NULL;
	if (rc != 0) {
		diff__identity_free(ix);
		*out = NULL;
		return rc;
	}
	*out = ix;
	return 0;
}

int diff__identity_build_named(identity **out, state *st, const char *fleet, const char *const *names, size_t n)
{
	identity *ix = xcalloc(1, sizeof(*ix));
	ix->by_name = strmap_new();
	ix->by_tenant = strmap_new();
	ix->fleet = xstrdup(fleet ? fleet : "");
	ix->counted = true;
	int64_t unread = 0;
	int rc = state_unmapped_named(st, names, n, on_unmapped, ix, &unread);
	if (rc != 0) {
		diff__identity_free(ix);
		*out = NULL;
		return rc;
	}
	ix->unknown = (size_t)unread;
	*out = ix;
	return 0;
}

void diff__identity_free(identity *ix)
{
	if (!ix)
		return;
	/* a key can be in both maps (an empty namePrefix): each list is taken
	 * out of its map as it is freed, so none is freed twice */
	for (size_t i = 0; i < ix->nkeys; i++) {
		free(strmap_del(ix->by_name, ix->keys[i]));
		free(strmap_del(ix->by_tenant, ix->keys[i]));
	}
	strmap_free(ix->by_name);
	strmap_free(ix->by_tenant);
	for (size_t i = 0; i < ix->nkeys; i++)
		free(ix->keys[i]);
	free(ix->keys);
	for (size_t i = 0; i < ix->n; i++) {
		free(ix->v[i].id);
		free(ix->v[i].name);
		free(ix->v[i].fleet);
		free(ix->v[i].tenant);
	}
	free(ix->v);
	free(ix->fleet);
	free(ix);
}

size_t diff__identity_unknown(const identity *ix)
{
	return ix->unknown;
}

static int cmp_candidate(const void *a, const void *b)
{
	return strcmp((*(const id_candidate *const *)a)->id, (*(const id_candidate *const *)b)->id);
}

size_t diff__identity_candidates(const identity *ix, const char *tenant, const char *name, const id_candidate **out,
			   size_t max)
{
	size_t nc = 0;
	const size_t *byname = strmap_get(ix->by_name, name), *bytenant = strmap_get(ix->by_tenant, tenant);
	for (size_t i = 1; byname && i <= byname[0]; i++, nc++)
		if (nc < max)
			out[nc] = &ix->v[byname[i]];
	for (size_t i = 1; bytenant && i <= bytenant[0]; i++) {
		bool seen = false;
		for (size_t k = 1; byname && k <= byname[0]; k++)
			seen |= byname[k] == bytenant[i];
		if (seen)
			continue;
		if (nc < max)
			out[nc] = &ix->v[bytenant[i]];
		nc++;
	}
	/* the index is built in the cache's scan order: name them by id, those
	 * of the name first, so messages do not depend on it */
	size_t nb = byname ? byname[0] : 0, shown = nc < max ? nc : max;
	nb = nb < shown ? nb : shown;
	qsort(out, nb, sizeof(*out), cmp_candidate);
	qsort(out + nb, shown - nb, sizeof(*out), cmp_candidate);
	return nc;
}

const id_candidate *diff__identity_get(const identity *ix, const char *project_id)
{
	for (size_t i = 0; i < ix->n; i++)
		if (strcmp(ix->v[i].id, project_id) == 0)
			return &ix->v[i];
	return NULL;
}

bool diff__id_candidate_marked_for(const id_candidate *c, const char *fleet, const char *tenant)
{
	return c->fleet && strcmp(c->fleet, fleet) == 0 && strcmp(c->tenant, tenant) == 0;
}

void diff__identity_describe(buf *b, const id_candidate *c)
{
	int rc = buf_printf(b, "%s (named '%s', ", c->id, c->name);
	if (!c->deep_known)
		rc |= buf_adds(b, "its branches not read)");
	else if (!c->fleet)
		rc |= buf_adds(b, "no flotilla annotations)");
	else
		rc |= buf_printf(b, "annotated for fleet '%s', tenant '%s')", c->fleet, c->tenant);
	if (rc)
		abort();
}

id_verdict diff__identity_check(const identity *ix, const char *tenant, const char *name, const char **adopt_id,
			  char **why)
{
	*adopt_id = NULL;
	*why = NULL;
	const id_candidate *cand[64];
	size_t nc = diff__identity_candidates(ix, tenant, name, cand, ARRAY_LEN(cand));
	if (nc == 0)
		return ID_NONE;
	buf b = BUF_INIT(0);
	int rc = 0;
	if (nc == 1) {
		const id_candidate *c = cand[0];
		if (diff__id_candidate_marked_for(c, ix->fleet, tenant)) {
			*adopt_id = c->id;
			return ID_ADOPT;
		}
		rc |= buf_printf(&b, "tenant '%s': not created: project ", tenant);
		diff__identity_describe(&b, c);
		if (!c->deep_known)
			rc |= buf_printf(&b, " may be this tenant's, and whose it is is not known: a plan or apply that "
					      "talks to Neon reads its branches first (not --refresh none)");
		else if (c->fleet && strcmp(c->fleet, ix->fleet) != 0)
			rc |= buf_printf(&b, " carries the tenant's name but belongs to another fleet; flotilla never "
					      "touches another fleet's project: rename it, or change this fleet's namePrefix");
		else
			rc |= buf_printf(&b, " carries the tenant's name; creating another would make two projects for "
					      "one tenant. If it is this tenant's, run 'flotilla adopt %s %s'; if not, "
					      "rename or delete it in Neon", tenant, c->id);
	} else {
		rc |= buf_printf(&b, "tenant '%s': not created: %zu projects claim it (by name or annotations): ", tenant,
				 nc);
		for (size_t i = 0; i < nc && i < ARRAY_LEN(cand); i++) {
			if (i)
				rc |= buf_adds(&b, ", ");
			diff__identity_describe(&b, cand[i]);
		}
		rc |= buf_printf(&b, "; keep one: delete or rename the others in Neon, then 'flotilla adopt %s "
				      "PROJECT_ID'", tenant);
	}
	if (rc)
		abort();
	*why = buf_detach(&b, NULL);
	return ID_BLOCKED;
}
