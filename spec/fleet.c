/*
 * fleet.c: load a whole fleet from a source, and merge a tenant's layers.
 *
 * Order: flotilla.yaml first (it names the globs), then every listed file
 * that a glob matches, in path order so that diagnostics and "defined
 * twice" messages do not depend on directory order. A file is decoded on
 * its own into records (decode.c) and then registered into the fleet, so
 * that with a parse cache an unchanged file (same blob id) is replayed
 * from its cache entry (cache.c) instead of parsed. Each file's YAML tree
 * lives in a scratch arena that is reset after the file is decoded, so
 * memory grows with the decoded fleet, not with the bytes read.
 *
 * After flotilla.yaml, files go through a pipeline (pipeline.c): this
 * thread reads ahead (blob ids, cache entries and bytes: the source and
 * the cache are used from this thread only) while a second thread parses
 * the YAML, and every file is then decoded, cached and registered here in
 * path order, so that the fleet, the diagnostics and the stats are those
 * of a load one file after the other.
 */
#include <string.h>

#include "spec/internal.h"

/* docs/neon-api.md, "Regions": the documented list, used when a fleet names none. */
static const char *const DEFAULT_REGIONS[] = {
	"aws-us-east-1", "aws-us-east-2", "aws-us-west-2", "aws-eu-central-1",
	"aws-eu-west-2", "aws-ap-southeast-1", "aws-ap-southeast-2", "aws-sa-east-1",
	"azure-eastus2", "azure-westus3", "azure-gwc",
};
bool spec__region_documented(const char *region)
{
	for (size_t i = 0; i < ARRAY_LEN(DEFAULT_REGIONS); i++)
		if (strcmp(DEFAULT_REGIONS[i], region) == 0)
			return true;
	return false;
}

static const char *const DEFAULT_GLOBS[] = {"tenants/**/*.yaml", "profiles/*.yaml"};

uint32_t fleet_file_add(spec_fleet *f, const char *path)
{
	if (f->nfiles == f->capfiles)
		f->files = xgrow(f->files, &f->capfiles, f->nfiles + 1, sizeof(*f->files));
	f->files[f->nfiles] = xstrdup(path);
	return (uint32_t)f->nfiles++;
}

const char *spec_fleet_file(const spec_fleet *f, uint32_t i)
{
	return i < f->nfiles ? f->files[i] : "(unknown)";
}

static spec_list *static_list(arena *a, const char *const *items, size_t n)
{
	spec_list *l = arena_alloc(a, sizeof(*l));
	l->items = arena_alloc(a, n * sizeof(spec_val));
	for (size_t i = 0; i < n; i++) {
		l->items[i].s = items[i];
		l->items[i].o.set = 1;
	}
	l->n = n;
	return l;
}

typedef struct path_list {
	char **paths;
	size_t n, cap;
} path_list;

static void collect(void *arg, const char *path)
{
	path_list *pl = arg;
	if (pl->n == pl->cap)
		pl->paths = xgrow(pl->paths, &pl->cap, pl->n + 1, sizeof(*pl->paths));
	pl->paths[pl->n++] = xstrdup(path);
}

static int path_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What spec_fleet_load_cached carries from file to file. */
typedef struct loader {
	spec_fleet *f;
	const spec_source *src;
	const spec_cache *cache; /* NULL: parse every file */
	spec_diags *diags;
	parse_pipe *pipe;
	arena *scratch;  /* one file's YAML tree, when parsed on this thread */
	buf data;        /* one file's bytes, likewise */
	buf entry;       /* one cache entry */
	file_recs recs;  /* one file's records */
	spec_load_stats stats;
} loader;

/* Replay a cache entry into l->recs; false (and recs empty) when it
 * cannot be replayed: a corrupt or old entry means parse. */
static bool replay(loader *l, uint32_t idx, bool root, const buf *entry)
{
	if (spec__cache_decode(l->f, idx, root, entry->data, entry->len, &l->recs) == 0) {
		l->stats.cached++;
		return true;
	}
	spec__file_recs_reset(&l->recs);
	return false;
}

/* Decode parsed documents into l->recs, and cache them under `id` (NULL:
 * do not cache). */
static void decode_and_cache(loader *l, uint32_t idx, bool root, const char *id, const ydoc *docs,
			     size_t n)
{
	spec__decode_file(l->f, idx, docs, n, &l->recs);
	l->stats.parsed++;
	if (!id)
		return;
	buf_reset(&l->entry);
	if (spec__cache_encode(l->f, idx, root, &l->recs, &l->entry) != 0)
		return;
	(void)l->cache->put(l->cache->ctx, id, l->entry.data, l->entry.len);
	/* A file queued behind this one with the same content read the
	 * cache before this put; in its turn it must look again, as it would
	 * have had the files been loaded one after the other. (Slot 0 is
	 * this file, when it came through the pipe.) */
	parse_slot *s;
	for (size_t i = 1; l->pipe && (s = spec__parse_pipe_queued(l->pipe, i)) != NULL; i++)
		if (s->have_id && strcmp(s->id, id) == 0)
			s->stale = true;
}

/* Read and parse a file on this thread, and decode it; false when it
 * cannot be read (a diagnostic says so). */
static bool parse_here(loader *l, uint32_t idx, bool root, const char *path, const char *id)
{
	buf_reset(&l->data);
	if (l->src->read(l->src->ctx, path, &l->data) != 0) {
		spec_diags_add(l->diags, path, 1, 1, "(file)", "%s", err_msg());
		return false;
	}
	ydoc *docs = NULL;
	size_t n = spec__yaml_load(l->scratch, path, l->data.data ? l->data.data : "", l->data.len, &docs,
			     l->recs.diags);
	decode_and_cache(l, idx, root, id, docs, n);
	free(docs);
	arena_reset(l->scratch);
	return true;
}

static bool blob_id(const loader *l, const char *path, char id[SPEC_BLOB_ID_LEN + 1])
{
	return l->cache && l->src->blob_id && l->src->blob_id(l->src->ctx, path, id) == 0;
}

/* Decode one file from the cache, or read, parse and decode it (and cache
 * it), all on this thread; then register it. Problems of the file become
 * diagnostics. */
static void load_file(loader *l, const char *path, bool root)
{
	uint32_t idx = fleet_file_add(l->f, path);
	char id[SPEC_BLOB_ID_LEN + 1];
	bool have_id = blob_id(l, path, id);
	l->stats.files++;
	if (have_id) {
		buf_reset(&l->entry);
		/* any failure (miss, cache error, corrupt or old entry) means: parse */
		if (l->cache->get(l->cache->ctx, id, &l->entry) == 0 && replay(l, idx, root, &l->entry))
			goto done;
	}
	if (!parse_here(l, idx, root, path, have_id ? id : NULL))
		return;
done:
	spec__register_file(l->f, idx, &l->recs, l->diags);
	spec__file_recs_reset(&l->recs);
}

/* The first half of load_file, ahead of the file's turn: fill a slot with
 * the file's cache entry, or with its bytes for the worker to parse. */
static void load_ahead(loader *l, parse_slot *s, const char *path)
{
	s->path = path;
	s->have_id = blob_id(l, path, s->id);
	if (s->have_id) {
		if (l->cache->get(l->cache->ctx, s->id, &s->entry) == 0) {
			s->kind = SLOT_HIT;
			return;
		}
	}
	if (l->src->read(l->src->ctx, path, &s->data) != 0) {
		s->kind = SLOT_UNREADABLE;
		s->err = xstrdup(err_msg());
		return;
	}
	s->kind = SLOT_PARSE;
}

/* The second half, in the file's turn: exactly what load_file would have
 * done with what load_ahead found. */
static void load_behind(loader *l, parse_slot *s)
{
	if (s->stale) {
		load_file(l, s->path, false);
		return;
	}
	uint32_t idx = fleet_file_add(l->f, s->path);
	const char *id = s->have_id ? s->id : NULL;
	l->stats.files++;
	switch (s->kind) {
	case SLOT_HIT:
		if (!replay(l, idx, false, &s->entry) && !parse_here(l, idx, false, s->path, id))
			return;
		break;
	case SLOT_UNREADABLE:
		spec_diags_add(l->diags, s->path, 1, 1, "(file)", "%s", s->err);
		return;
	default:
		/* recs.diags is empty here, as when spec__yaml_load writes it directly */
		spec__diags_move(l->recs.diags, s->diags);
		decode_and_cache(l, idx, false, id, s->docs, s->ndocs);
		break;
	}
	spec__register_file(l->f, idx, &l->recs, l->diags);
	spec__file_recs_reset(&l->recs);
}

/* Load the listed files in path order, reading ahead of the parser thread
 * and taking each file back in its turn. */
static void load_files(loader *l, const char *const *paths, size_t n)
{
	size_t i = 0;
	for (;;) {
		parse_slot *s = i < n ? spec__parse_pipe_reserve(l->pipe) : NULL;
		if (s) {
			load_ahead(l, s, paths[i++]);
			spec__parse_pipe_submit(l->pipe);
			continue;
		}
		s = spec__parse_pipe_head(l->pipe);
		if (!s)
			break;
		load_behind(l, s);
		spec__parse_pipe_release(l->pipe);
	}
}

/* Tenants sort by name. A 100,000-tenant qsort spent its time in calls to
 * the comparison and in fetching two names per call from all over the
 * fleet's arena. Here each name's first 8 bytes, big-endian in an integer
 * beside its tenant, are radix-sorted (stable, a byte at a time from the
 * last), and only runs of equal heads are compared by name. */
typedef struct sort_key {
	uint64_t head;
	spec_tenant *t;
} sort_key;

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const sort_key *)a)->t->name, ((const sort_key *)b)->t->name);
}

static void sort_tenants(spec_fleet *f)
{
	size_t n = f->ntenants;
	if (n < 2)
		return;
	sort_key *k = xcalloc(n, sizeof(*k)), *tmp = xcalloc(n, sizeof(*tmp));
	for (size_t i = 0; i < n; i++) {
		const unsigned char *s = (const unsigned char *)f->tenants[i]->name;
		uint64_t h = 0;
		for (unsigned j = 0; j < 8 && s[j]; j++)
			h |= (uint64_t)s[j] << (56 - 8 * j);
		k[i] = (sort_key){h, f->tenants[i]};
	}
	for (unsigned shift = 0; shift < 64; shift += 8) {
		size_t count[257] = {0};
		for (size_t i = 0; i < n; i++)
			count[((k[i].head >> shift) & 0xff) + 1]++;
		if (count[((k[0].head >> shift) & 0xff) + 1] == n)
			continue; /* every head has the same byte here */
		for (size_t b = 1; b < 257; b++)
			count[b] += count[b - 1];
		for (size_t i = 0; i < n; i++)
			tmp[count[(k[i].head >> shift) & 0xff]++] = k[i];
		sort_key *swap = k;
		k = tmp;
		tmp = swap;
	}
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && k[j].head == k[i].head; j++)
			;
		if (j - i > 1)
			qsort(k + i, j - i, sizeof(*k), name_cmp);
	}
	for (size_t i = 0; i < n; i++)
		f->tenants[i] = k[i].t;
	free(k);
	free(tmp);
}

/* Maps merge key by key: `over`'s keys win, the rest of `base` stays. */
static spec_map *merge_map(arena *a, const spec_map *base, const spec_map *over)
{
	spec_map *m = arena_alloc(a, sizeof(*m));
	size_t cap = base->n + over->n;
	m->keys = arena_alloc(a, (cap ? cap : 1) * sizeof(char *));
	m->vals = arena_alloc(a, (cap ? cap : 1) * sizeof(spec_val));
	for (size_t i = 0; i < base->n; i++) {
		m->keys[m->n] = base->keys[i];
		m->vals[m->n++] = base->vals[i];
	}
	for (size_t i = 0; i < over->n; i++) {
		size_t j = 0;
		while (j < m->n && strcmp(m->keys[j], over->keys[i]) != 0)
			j++;
		if (j == m->n)
			m->n++;
		m->keys[j] = over->keys[i];
		m->vals[j] = over->vals[i];
	}
	return m;
}

static void overlay(arena *a, spec_values *out, const spec_values *layer)
{
	for (int f = 0; f < SF__COUNT; f++) {
		const spec_val *v = &layer->v[f];
		if (!v->o.set)
			continue;
		if (spec_field_get((spec_field)f)->type == SPEC_T_MAP && out->v[f].map)
			out->v[f].map = merge_map(a, out->v[f].map, v->map);
		else
			out->v[f] = *v;
		out->v[f].o = v->o;
	}
}

/* What each resolve starts from, merged once for the whole fleet instead
 * of once a tenant: builtin and defaults, and each profile over them. */
static void resolve_bases(spec_fleet *f)
{
	f->base = f->builtin;
	overlay(f->a, &f->base, &f->defaults);
	for (size_t i = 0; i < f->nprofiles; i++) {
		spec_profile *p = f->profiles[i];
		p->base = f->base;
		overlay(f->a, &p->base, &p->spec);
	}
}

int spec_fleet_load(spec_fleet **out, const spec_source *src, spec_diags *diags)
{
	return spec_fleet_load_cached(out, src, NULL, diags, NULL);
}

int spec_fleet_load_cached(spec_fleet **out, const spec_source *src, const spec_cache *cache,
			   spec_diags *diags, spec_load_stats *stats)
{
	*out = NULL;
	spec_fleet *f = xcalloc(1, sizeof(*f));
	f->a = arena_new();
	f->profile_index = strmap_new();
	f->tenant_index = strmap_new();
	f->name_prefix = "";
	f->max_deletes = 10;
	f->drift = "heal";
	f->refresh_interval = 600;
	f->max_autoscaling_cu = 64; /* 16 CU */
	f->lim_projects = f->lim_branches = f->lim_retention = f->lim_protected = -1;
	spec__builtin_defaults(f->a, &f->builtin);

	/* An entry is spec/'s own output, but bound it anyway: a damaged
	 * cache must not make the loader allocate without limit. */
	loader l = {.f = f, .src = src, .cache = cache, .diags = diags, .scratch = arena_new(),
		    .data = BUF_INIT(SPEC_MAX_FILE_BYTES), .entry = BUF_INIT(16 * SPEC_MAX_FILE_BYTES),
		    .recs = {.diags = spec_diags_new()}};
	path_list pl = {0};
	const char **todo = NULL;
	size_t ntodo = 0;
	int rc = src->list(src->ctx, collect, &pl);
	if (rc != 0)
		goto done;
	/* a git tree lists its paths in this order already: check before sorting */
	bool sorted = true;
	for (size_t i = 1; sorted && i < pl.n; i++)
		sorted = strcmp(pl.paths[i - 1], pl.paths[i]) <= 0;
	if (!sorted)
		qsort(pl.paths, pl.n, sizeof(*pl.paths), path_cmp);

	bool have_file = false;
	for (size_t i = 0; i < pl.n; i++)
		if (strcmp(pl.paths[i], "flotilla.yaml") == 0)
			have_file = true;
	if (!have_file)
		spec_diags_add(diags, "flotilla.yaml", 1, 1, "(file)",
			       "no flotilla.yaml at the repository root: a fleet starts with one Fleet document");
	else
		load_file(&l, "flotilla.yaml", true);
	if (have_file && !f->have_fleet && spec_diags_count(diags) == 0)
		spec_diags_add(diags, "flotilla.yaml", 1, 1, "(file)", "flotilla.yaml holds no Fleet document");

	if (!f->manifests)
		f->manifests = static_list(f->a, DEFAULT_GLOBS, ARRAY_LEN(DEFAULT_GLOBS));
	if (!f->allowed_regions)
		f->allowed_regions = static_list(f->a, DEFAULT_REGIONS, ARRAY_LEN(DEFAULT_REGIONS));
	if (!f->name)
		f->name = "";

	todo = xcalloc(pl.n ? pl.n : 1, sizeof(*todo));
	for (size_t i = 0; i < pl.n; i++) {
		const char *p = pl.paths[i];
		if (strcmp(p, "flotilla.yaml") == 0)
			continue;
		bool hit = false;
		for (size_t g = 0; !hit && g < f->manifests->n; g++)
			hit = spec_glob_match(f->manifests->items[g].s, p);
		if (hit)
			todo[ntodo++] = p;
	}
	l.pipe = spec__parse_pipe_new();
	load_files(&l, todo, ntodo);

	sort_tenants(f);
	resolve_bases(f);
	for (size_t i = 0; i < f->ntenants; i++)
		spec__validate_tenant(f, f->tenants[i], diags);
	spec_diags_sort(diags);
	if (stats)
		*stats = l.stats;
	*out = f;
	f = NULL;
done:
	for (size_t i = 0; i < pl.n; i++)
		free(pl.paths[i]);
	free(pl.paths);
	free(todo);
	spec__parse_pipe_free(l.pipe);
	buf_release(&l.data);
	buf_release(&l.entry);
	free(l.recs.items);
	spec_diags_free(l.recs.diags);
	arena_free(l.scratch);
	spec_fleet_free(f);
	return rc;
}

void spec_fleet_free(spec_fleet *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nfiles; i++)
		free(f->files[i]);
	free(f->files);
	free(f->profiles);
	free(f->tenants);
	strmap_free(f->profile_index);
	strmap_free(f->tenant_index);
	arena_free(f->a);
	free(f);
}

const char *spec_fleet_name(const spec_fleet *f) { return f->name; }
const char *spec_fleet_org_id(const spec_fleet *f) { return f->org_id; }
const char *spec_fleet_name_prefix(const spec_fleet *f) { return f->name_prefix; }
bool spec_fleet_prune(const spec_fleet *f) { return f->prune; }
bool spec_fleet_prune_branches(const spec_fleet *f) { return f->prune_branches; }
int64_t spec_fleet_max_deletes(const spec_fleet *f) { return f->max_deletes; }
const char *spec_fleet_drift(const spec_fleet *f) { return f->drift; }
int64_t spec_fleet_refresh_interval(const spec_fleet *f) { return f->refresh_interval; }
size_t spec_fleet_tenant_count(const spec_fleet *f) { return f->ntenants; }

const spec_tenant *spec_fleet_tenant_at(const spec_fleet *f, size_t i)
{
	return i < f->ntenants ? f->tenants[i] : NULL;
}

const spec_tenant *spec_fleet_tenant_find(const spec_fleet *f, const char *name)
{
	return strmap_get(f->tenant_index, name);
}

void spec_tenant_resolve(const spec_fleet *f, const spec_tenant *t, spec_values *out)
{
	const char *pname = t->spec.v[SF_PROFILE].o.set ? t->spec.v[SF_PROFILE].s : f->defaults.v[SF_PROFILE].s;
	const spec_profile *p = pname ? strmap_get(f->profile_index, pname) : NULL;
	*out = p ? p->base : f->base;
	overlay(f->a, out, &t->spec);
}

size_t spec_fleet_profile_count(const spec_fleet *f) { return f->nprofiles; }

const char *spec_fleet_profile_name(const spec_fleet *f, size_t i)
{
	return i < f->nprofiles ? f->profiles[i]->name : NULL;
}

const char *spec_fleet_profile_path(const spec_fleet *f, const char *name)
{
	const spec_profile *p = name ? strmap_get(f->profile_index, name) : NULL;
	return p ? spec_fleet_file(f, p->o.file) : NULL;
}

const char *spec_tenant_profile(const spec_fleet *f, const spec_tenant *t)
{
	return t->spec.v[SF_PROFILE].o.set ? t->spec.v[SF_PROFILE].s : f->defaults.v[SF_PROFILE].s;
}
