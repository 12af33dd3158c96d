/*
 * pcache.c: the parse cache (state/'s parse_cache table) as spec/ sees it.
 *
 * For a whole fleet (bulk), the first lookup reads the whole table in one
 * scan into memory, and
 * every lookup after it is a hash lookup: a warm load of a 100k fleet asks
 * for about 62,000 blobs, and one SQLite point query each cost a quarter of
 * that load. New entries go straight to the table (the caller batches them
 * in one transaction) and into the map, so a blob is never decoded from a
 * stale copy. A load of a few files (an incremental plan) looks each blob
 * up instead. A scan that fails leaves the map empty: every file is then
 * parsed, which is slower but correct (a cache error is never fatal).
 */
#include <string.h>

#include "reconciler/reconciler.h"

typedef struct entry {
	const void *data;
	size_t len;
} entry;

struct cli_pcache {
	state *st;
	arena *a;
	strmap *map; /* blob id -> entry, both in `a` */
	bool loaded;
	bool bulk; /* read the table in one scan, or one lookup a blob */
	spec_cache cache;
};

static void remember(cli_pcache *c, const char *blob_id, const void *data, size_t len)
{
	entry *e = arena_alloc(c->a, sizeof(*e));
	void *copy = arena_alloc(c->a, len ? len : 1);
	if (len)
		memcpy(copy, data, len);
	e->data = copy;
	e->len = len;
	strmap_put(c->map, arena_strdup(c->a, blob_id), e);
}

static int on_entry(void *arg, const char *blob_id, const void *data, size_t len)
{
	remember(arg, blob_id, data, len);
	return 0;
}

static int get(void *ctx, const char *blob_id, buf *out)
{
	cli_pcache *c = ctx;
	if (!c->bulk)
		return state_parse_cache_get(c->st, blob_id, out);
	if (!c->loaded) {
		c->loaded = true;
		if (state_parse_cache_foreach(c->st, on_entry, c) != 0)
			log_warn("cannot read the parse cache; parsing every manifest", "error", err_msg());
	}
	const entry *e = strmap_get(c->map, blob_id);
	if (!e)
		return ERR_NOTFOUND;
	return buf_add(out, e->data, e->len);
}

static int put(void *ctx, const char *blob_id, const void *data, size_t len)
{
	cli_pcache *c = ctx;
	int rc = state_parse_cache_put(c->st, blob_id, data, len);
	if (rc == 0 && c->loaded)
		remember(c, blob_id, data, len);
	return rc;
}

cli_pcache *cli_pcache_new(state *st, bool bulk)
{
	cli_pcache *c = xcalloc(1, sizeof(*c));
	c->st = st;
	c->bulk = bulk;
	c->a = arena_new();
	c->map = strmap_new();
	c->cache = (spec_cache){.ctx = c, .get = get, .put = put};
	return c;
}

const spec_cache *cli_pcache_spec(cli_pcache *c) { return &c->cache; }

void cli_pcache_free(cli_pcache *c)
{
	if (!c)
		return;
	strmap_free(c->map);
	arena_free(c->a);
	free(c);
}
