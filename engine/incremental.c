/*
 * incremental.c: load the fleet at a commit for a plan, all of it or only
 * what changed since a base commit.
 *
 * Every load goes through the parse cache. With a base commit (plan
 * --changed-since), the tenants considered are those whose manifest file
 * changed between the base and the commit, those whose profile's file
 * changed, and the tenants the changed files defined at the base (so a
 * removed tenant is noticed); every tenant, manifest or not, when
 * flotilla.yaml changed (prune may have been turned on).
 *
 * The manifest index (state/index.c) makes that cheap: when it describes
 * exactly the base commit, and neither flotilla.yaml nor a file holding a
 * Profile changed, only flotilla.yaml, the profile files and the changed
 * files are loaded. Everything the full load would check across files is
 * then checked against the index: a tenant of a changed file that the
 * index places in an unchanged file, or a profile that appears in a file
 * not known for profiles, sends the load back to the full path, whose
 * diagnostics are the real ones. So a partial load never accepts what a
 * full load would refuse.
 *
 * After a valid load the index is moved to the commit (index_save).
 */
#include <string.h>

#include "engine/internal.h"

#define FLEET_FILE "flotilla.yaml"

/* A set of strings, owned by its arena. */
typedef struct strset {
	arena *a;
	strmap *m;
	const char **v;
	size_t n, cap;
} strset;

static void set_init(strset *s)
{
	memset(s, 0, sizeof(*s));
	s->a = arena_new();
	s->m = strmap_new();
}

static void set_free(strset *s)
{
	strmap_free(s->m);
	arena_free(s->a);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static bool set_has(const strset *s, const char *v) { return strmap_get(s->m, v) != NULL; }

static void set_add(strset *s, const char *v)
{
	if (set_has(s, v))
		return;
	char *copy = arena_strdup(s->a, v);
	strmap_put(s->m, copy, copy);
	if (s->n == s->cap)
		s->v = xgrow(s->v, &s->cap, s->n + 1, sizeof(*s->v));
	s->v[s->n++] = copy;
}

static int add_cb(void *arg, const char *v)
{
	set_add(arg, v);
	return 0;
}

static int on_changed(void *arg, const char *path, char status)
{
	strset *s = arg;
	set_add(s, path);
	(void)status;
	return 0;
}

static int str_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* ------------------------------------------------------- a partial source */

/* The commit's tree, listing only `files` (reads go to the whole tree). */
typedef struct part_src {
	const spec_source *inner;
	const strset *files;
	spec_source src;
} part_src;

static int part_list(void *ctx, void (*emit)(void *, const char *), void *arg)
{
	part_src *p = ctx;
	for (size_t i = 0; i < p->files->n; i++) {
		char id[SPEC_BLOB_ID_LEN + 1];
		/* a path gone from the commit (deleted) is not listed */
		if (p->inner->blob_id(p->inner->ctx, p->files->v[i], id) == 0)
			emit(arg, p->files->v[i]);
	}
	return 0;
}

static int part_read(void *ctx, const char *path, buf *out)
{
	part_src *p = ctx;
	return p->inner->read(p->inner->ctx, path, out);
}

static int part_blob_id(void *ctx, const char *path, char out[SPEC_BLOB_ID_LEN + 1])
{
	part_src *p = ctx;
	return p->inner->blob_id(p->inner->ctx, path, out);
}

/* ------------------------------------------------------------------ loads */

static int load(fleet_load *l, const spec_source *src, state *st, spec_diags *diags, bool whole)
{
	pcache *pc = pcache_new(st, whole);
	/* one transaction for the parse cache writes of a partial load; a
	 * whole load's are written after it, by pcache_flush's thread, which
	 * fleet_load_release waits for */
	bool batch = state_batch_begin(st) == 0;
	int rc = spec_fleet_load_cached(&l->fleet, src, pcache_spec(pc), diags, &l->stats);
	if (batch && state_batch_commit(st) != 0)
		engine__warn("cannot save the parse cache", "error", err_msg());
	if (pcache_flush(pc) != 0)
		engine__warn("cannot save the parse cache", "error", err_msg());
	pcache_free(l->pc);
	l->pc = pc;
	return rc;
}

/* Is the partially loaded fleet exactly what a full load would give for
 * the files it holds? (The header comment says what is checked.) */
static int partial_sound(const fleet_load *l, state *st, const strset *changed, const strset *extra,
			 bool *sound)
{
	const spec_fleet *f = l->fleet;
	*sound = false;
	for (size_t i = 0; i < spec_fleet_profile_count(f); i++) {
		const char *path = spec_fleet_profile_path(f, spec_fleet_profile_name(f, i));
		if (!path || !set_has(extra, path))
			return 0; /* a new profile file */
	}
	for (size_t i = 0; i < spec_fleet_tenant_count(f); i++) {
		const spec_tenant *t = spec_fleet_tenant_at(f, i);
		char *path = NULL;
		int rc = state_index_path(st, t->name, &path);
		if (rc == ERR_NOTFOUND)
			continue;
		if (rc != 0)
			return rc;
		bool elsewhere = !set_has(changed, path) && strcmp(path, spec_fleet_file(f, t->o.file)) != 0;
		free(path);
		if (elsewhere)
			return 0; /* maybe defined twice: the full load says */
	}
	*sound = true;
	return 0;
}

/* The index rows of a loaded fleet; with `only`, the tenants of those
 * files alone. */
static state_index_row *index_rows(const spec_fleet *f, const strset *only, size_t *n)
{
	state_index_row *rows = xcalloc(spec_fleet_tenant_count(f) + 1, sizeof(*rows));
	size_t k = 0;
	for (size_t i = 0; i < spec_fleet_tenant_count(f); i++) {
		const spec_tenant *t = spec_fleet_tenant_at(f, i);
		const char *path = spec_fleet_file(f, t->o.file);
		if (!only || set_has(only, path))
			rows[k++] = (state_index_row){t->name, path};
	}
	*n = k;
	return rows;
}

/*
 * Move the index to the loaded commit. After a partial load: the changed
 * files' rows. After a full load of another commit than the index's: the
 * files changed between the two (an unchanged file defines the same
 * tenants), so a plan of each new commit costs what changed, not 100,000
 * rows; the whole index only when that commit cannot be compared.
 */
static void index_save(const fleet_load *l, source_repo *g, state *st, const char *commit, const char *have,
		       const strset *changed)
{
	const spec_fleet *f = l->fleet;
	size_t n = 0;
	int rc;
	if (l->partial) {
		state_index_row *rows = index_rows(f, changed, &n);
		rc = state_index_update(st, commit, changed->v, changed->n, rows, n, NULL, 0);
		free(rows);
		goto out;
	}
	if (have && strcmp(have, commit) == 0)
		return;
	strset extra, moved;
	set_init(&extra);
	set_init(&moved);
	set_add(&extra, FLEET_FILE);
	for (size_t i = 0; i < spec_fleet_profile_count(f); i++)
		set_add(&extra, spec_fleet_profile_path(f, spec_fleet_profile_name(f, i)));
	if (have && source_changed(g, have, on_changed, &moved) == 0) {
		state_index_row *rows = index_rows(f, &moved, &n);
		rc = state_index_update(st, commit, moved.v, moved.n, rows, n, extra.v, extra.n);
		free(rows);
	} else {
		state_index_row *rows = index_rows(f, NULL, &n);
		rc = state_index_replace(st, commit, rows, n, extra.v, extra.n);
		free(rows);
	}
	set_free(&extra);
	set_free(&moved);
out:
	if (rc != 0)
		engine__warn("cannot save the manifest index", "error", err_msg());
}

typedef struct gone_ctx {
	const spec_fleet *f;
	strset *out;
} gone_ctx;

static int add_gone(void *arg, const state_tenant *t)
{
	gone_ctx *c = arg;
	bool ours = !t->fleet || !t->fleet[0] || strcmp(t->fleet, spec_fleet_name(c->f)) == 0;
	if (ours && !spec_fleet_tenant_find(c->f, t->tenant))
		set_add(c->out, t->tenant);
	return 0;
}

/* The tenants a plan since the base considers (header comment). */
static int considered(fleet_load *l, state *st, const strset *changed, bool index_at_base, strset *out)
{
	const spec_fleet *f = l->fleet;
	bool all = set_has(changed, FLEET_FILE);
	for (size_t i = 0; i < spec_fleet_tenant_count(f); i++) {
		const spec_tenant *t = spec_fleet_tenant_at(f, i);
		const char *prof = spec_fleet_profile_path(f, spec_tenant_profile(f, t));
		if (all || set_has(changed, spec_fleet_file(f, t->o.file)) || (prof && set_has(changed, prof)))
			set_add(out, t->name);
	}
	if (index_at_base && !all) {
		/* what the changed files defined at the base: removed tenants */
		for (size_t i = 0; i < changed->n; i++) {
			int rc = state_index_tenants_at(st, changed->v[i], add_cb, out);
			if (rc != 0)
				return rc;
		}
		return 0;
	}
	/* flotilla.yaml changed (prune may have been turned on), or no index
	 * of the base (a removal cannot be dated without it): every mapped
	 * tenant of this fleet without a manifest */
	gone_ctx c = {f, out};
	return state_tenants_foreach(st, add_gone, &c);
}

int fleet_load_commit(fleet_load *l, source_repo *g, state *st, const char *since, spec_diags *diags)
{
	memset(l, 0, sizeof(*l));
	const char *commit = source_commit(g);
	char *have = NULL;
	strset changed, extra, cons;
	set_init(&changed);
	set_init(&extra);
	set_init(&cons);
	int rc;

	if ((rc = state_index_commit(st, &have)) != 0)
		goto done;
	if (since) {
		if ((rc = source_resolve(g, since, l->base)) != 0 ||
		    (rc = source_changed(g, l->base, on_changed, &changed)) != 0)
			goto done;
		if ((rc = state_index_extra_foreach(st, add_cb, &extra)) != 0)
			goto done;
	}
	bool index_at_base = since && have && strcmp(have, l->base) == 0;
	bool try_partial = index_at_base && !set_has(&changed, FLEET_FILE);
	for (size_t i = 0; try_partial && i < changed.n; i++)
		if (set_has(&extra, changed.v[i]))
			try_partial = false; /* a profile changed: its tenants are many */

	if (try_partial) {
		strset files;
		set_init(&files);
		set_add(&files, FLEET_FILE);
		for (size_t i = 0; i < extra.n; i++)
			set_add(&files, extra.v[i]);
		for (size_t i = 0; i < changed.n; i++)
			set_add(&files, changed.v[i]);
		part_src p = {.inner = source_spec(g), .files = &files};
		p.src = (spec_source){.ctx = &p, .list = part_list, .read = part_read, .blob_id = part_blob_id};
		rc = load(l, &p.src, st, diags, false);
		set_free(&files);
		if (rc != 0)
			goto done;
		bool sound = false;
		if (spec_diags_count(diags) == 0 && (rc = partial_sound(l, st, &changed, &extra, &sound)) != 0)
			goto done;
		if (sound || spec_diags_count(diags)) {
			/* problems in the changed files are real ones: a full load
			 * would report the same */
			l->partial = true;
		} else {
			spec_fleet_free(l->fleet);
			l->fleet = NULL;
		}
	}
	if (!l->fleet && (rc = load(l, source_spec(g), st, diags, true)) != 0)
		goto done;
	if (spec_diags_count(diags))
		goto done;
	if (since) {
		if ((rc = considered(l, st, &changed, index_at_base, &cons)) != 0)
			goto done;
		if (cons.n > 1)
			qsort(cons.v, cons.n, sizeof(*cons.v), str_cmp);
		l->only = xcalloc(cons.n + 1, sizeof(char *));
		for (size_t i = 0; i < cons.n; i++)
			l->only[i] = xstrdup(cons.v[i]);
		l->nonly = cons.n;
		l->changed_files = changed.n;
	}
	index_save(l, g, st, commit, have, &changed);
done:
	free(have);
	set_free(&changed);
	set_free(&extra);
	set_free(&cons);
	return rc;
}

void fleet_load_release(fleet_load *l)
{
	pcache_free(l->pc);
	for (size_t i = 0; i < l->nonly; i++)
		free(l->only[i]);
	free(l->only);
	spec_fleet_free(l->fleet);
	memset(l, 0, sizeof(*l));
}
