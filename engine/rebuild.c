/*
 * rebuild.c: recover a lost tenant map from Neon (`flotilla refresh
 * --rebuild`, and the deep reads of `--full`). Every cached project named
 * namePrefix + a valid tenant name is read deep; its marks (the
 * flotilla.fleet / flotilla.tenant annotations on its default branch, or
 * on the flotilla-owner branch `flotilla adopt` adds) say whose it is. A
 * project marked for this fleet is mapped to its tenant unless another
 * project claims the same tenant, or `flotilla state forget` forgot it
 * (state_forgotten_get: its marks outlive the mapping); everything else
 * is left alone, and each
 * project left alone is named with the reason and the command that would
 * take it over.
 */
#include <string.h>

#include "engine/internal.h"

typedef struct rebuild {
	state *st;
	const char *fleet, *prefix;
	rebuild_result *out;
	/* tenant -> project id, or AMBIGUOUS when two claim it */
	strmap *claims;
	char **keys;
	size_t nkeys, capkeys;
} rebuild;

static char AMBIGUOUS[] = "(ambiguous)";

static void left_alone(rebuild_result *r, char *line)
{
	r->left = xrealloc(r->left, (r->nleft + 1) * sizeof(char *));
	r->left[r->nleft++] = line;
}

static void claim(rebuild *r, const char *tenant, const char *project_id)
{
	const char *prev = strmap_get(r->claims, tenant);
	if (prev) {
		if (prev != AMBIGUOUS) {
			left_alone(r->out, xasprintf("%s: claims tenant '%s' as %s does; neither is mapped (keep one: "
						     "flotilla adopt %s PROJECT_ID)", project_id, tenant, prev, tenant));
			free((char *)prev);
		} else {
			left_alone(r->out, xasprintf("%s: claims tenant '%s' as others do; none is mapped", project_id,
						     tenant));
		}
		strmap_put(r->claims, tenant, AMBIGUOUS);
		return;
	}
	char *key = xstrdup(tenant);
	if (r->nkeys == r->capkeys)
		r->keys = xgrow(r->keys, &r->capkeys, r->nkeys + 1, sizeof(char *));
	r->keys[r->nkeys++] = key;
	strmap_put(r->claims, key, xstrdup(project_id));
}

/* The rule for one project: the marks on its default branch, or on the
 * owner branch `flotilla adopt` added. */
static void judge(void *arg, const char *project_id, const neon_project_deep *d)
{
	rebuild *r = arg;
	const neon_branch *marked = NULL;
	for (size_t i = 0; i < d->nbranches && !marked; i++) {
		const neon_branch *b = &d->branches[i];
		bool owner = b->name && strcmp(b->name, OWNER_BRANCH) == 0 && json_object_get(b->annotations, "flotilla.owner");
		if ((b->is_default || owner) && json_string_value(json_object_get(b->annotations, "flotilla.fleet")))
			marked = b;
	}
	const char *fleet = marked ? json_string_value(json_object_get(marked->annotations, "flotilla.fleet")) : NULL;
	const char *tenant = marked ? json_string_value(json_object_get(marked->annotations, "flotilla.tenant")) : NULL;
	state_project p;
	state_forgotten gone;
	char *name = state_project_get(r->st, project_id, &p) == 0 ? xstrdup(p.name) : xstrdup("?");
	if (strcmp(name, "?") != 0)
		state_project_release(&p);
	if (!fleet || !tenant) {
		r->out->unannotated++;
		const char *t = name + (strncmp(name, r->prefix, strlen(r->prefix)) == 0 ? strlen(r->prefix) : 0);
		left_alone(r->out, xasprintf("%s (named '%s'): no flotilla marks; if it is tenant '%s''s, flotilla adopt "
					     "%s %s", project_id, name, t, t, project_id));
	} else if (strcmp(fleet, r->fleet) != 0) {
		r->out->other_fleet++;
		left_alone(r->out, xasprintf("%s (named '%s'): fleet '%s''s project; flotilla never touches it",
					     project_id, name, fleet));
	} else if (state_forgotten_get(r->st, project_id, &gone) == 0) {
		/* its marks still say the tenant's: only this row says otherwise */
		r->out->forgotten++;
		left_alone(r->out, xasprintf("%s (named '%s'): tenant '%s''s project, forgotten by flotilla state forget "
					     "(run %lld); to take it back: flotilla adopt %s %s", project_id, name, tenant,
					     (long long)gone.run_id, tenant, project_id));
		state_forgotten_release(&gone);
	} else {
		claim(r, tenant, project_id);
	}
	free(name);
}

typedef struct id_list {
	char **ids;
	size_t n, cap;
	const char *prefix;
} id_list;

static void id_add(id_list *l, const char *id)
{
	if (l->n == l->cap)
		l->ids = xgrow(l->ids, &l->cap, l->n + 1, sizeof(char *));
	l->ids[l->n++] = xstrdup(id);
}

static void id_clear(id_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->ids[i]);
	free(l->ids);
}

static int collect_managed(void *arg, const state_tenant *t)
{
	id_add(arg, t->project_id);
	return 0;
}

/* candidates: a name that is the prefix and a valid tenant name */
static int collect_named(void *arg, const state_project *p)
{
	id_list *l = arg;
	size_t plen = strlen(l->prefix);
	if (strncmp(p->name, l->prefix, plen) == 0 && spec_tenant_name_valid(p->name + plen))
		id_add(l, p->id);
	return 0;
}

int refresh_managed(state *st, neon_client *c, refresh_stats *rs, size_t *n)
{
	id_list l = {0};
	int rc = state_tenants_foreach(st, collect_managed, &l);
	if (rc == 0)
		rc = refresh_deep(st, c, l.ids, l.n, NULL, NULL, rs);
	if (rc == 0)
		rc = refresh_backups_known(st, c, l.ids, l.n, rs);
	*n = l.n;
	id_clear(&l);
	return rc;
}

int rebuild_map(state *st, neon_client *c, const char *fleet, const char *prefix, refresh_stats *rs,
		rebuild_result *out)
{
	memset(out, 0, sizeof(*out));
	rebuild r = {.st = st, .fleet = fleet, .prefix = prefix, .out = out, .claims = strmap_new()};
	id_list l = {.prefix = prefix};
	int rc = state_projects_foreach(st, collect_named, &l);
	out->candidates = l.n;
	if (rc == 0)
		rc = refresh_deep(st, c, l.ids, l.n, judge, &r, rs);
	for (size_t i = 0; rc == 0 && i < r.nkeys; i++) {
		char *pid = strmap_get(r.claims, r.keys[i]);
		if (pid == AMBIGUOUS)
			continue;
		if ((rc = state_tenant_put(st, r.keys[i], pid, fleet, "rebuild")) == 0)
			out->mapped++;
	}
	id_clear(&l);
	/* values first, then the map, then the keys it borrows: a lookup
	 * probes past other keys, so none may be freed while the map is used */
	for (size_t i = 0; i < r.nkeys; i++) {
		char *pid = strmap_get(r.claims, r.keys[i]);
		if (pid != AMBIGUOUS)
			free(pid);
	}
	strmap_free(r.claims);
	for (size_t i = 0; i < r.nkeys; i++)
		free(r.keys[i]);
	free(r.keys);
	return rc;
}

void rebuild_result_release(rebuild_result *r)
{
	for (size_t i = 0; i < r->nleft; i++)
		free(r->left[i]);
	free(r->left);
	memset(r, 0, sizeof(*r));
}
