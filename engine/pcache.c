/*
 * pcache.c: the parse cache (state/'s parse_cache table) as spec/ sees it.
 *
 * For a whole fleet (bulk), the first lookup reads the whole table in one
 * scan into memory, and every lookup after it is a hash lookup: a warm
 * load of a 100k fleet asks for about 62,000 blobs, and one SQLite point
 * query each cost a quarter of that load. New entries go into the map at
 * once, so a blob is never parsed twice, and are written to the table
 * once the load is done (pcache_flush), in blob id order, by a thread with
 * its own connection to the state file, while the caller goes on to plan.
 * A cold load of 100,000 tenants writes about 62,000 entries: inserted in
 * id order they append to the table's B-tree instead of splitting pages
 * all over it (a third of the cost), and written while the load ran they
 * took a core from the loader and the parser (docs/benchmarks.md,
 * "flotilla plan"). pcache_wait (or pcache_free) waits for the writer.
 * Without a thread the entries are written at once, on the caller's
 * connection. A load of a few files (an incremental plan) looks each blob
 * up and writes each entry itself. A scan that fails leaves the map empty:
 * every file is then parsed, which is slower but correct (a cache error is
 * never fatal).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

typedef struct entry {
	const char *blob_id;
	const void *data;
	size_t len;
} entry;

struct pcache {
	state *st;
	arena *a;
	strmap *map; /* blob id -> entry, both in `a` */
	bool loaded;
	bool bulk; /* read the table in one scan, or one lookup a blob */
	spec_cache cache;
	const entry **todo; /* new entries pcache_flush writes */
	size_t ntodo, captodo;
	/* the writer thread; its result is read once it is joined */
	pthread_t thread;
	bool writing;
	int err;
	char errmsg[256]; /* err_msg is per thread */
};

static const entry *remember(pcache *c, const char *blob_id, const void *data, size_t len)
{
	entry *e = arena_alloc(c->a, sizeof(*e));
	void *copy = arena_alloc(c->a, len ? len : 1);
	if (len)
		memcpy(copy, data, len);
	e->data = copy;
	e->len = len;
	e->blob_id = arena_strdup(c->a, blob_id);
	strmap_put(c->map, e->blob_id, e);
	return e;
}

static int by_blob_id(const void *a, const void *b)
{
	return strcmp((*(const entry *const *)a)->blob_id, (*(const entry *const *)b)->blob_id);
}

/* Write the sorted entries on `st` in one transaction. */
static int write_todo(pcache *c, state *st)
{
	int rc = state_batch_begin(st);
	for (size_t i = 0; i < c->ntodo && rc == 0; i++)
		rc = state_parse_cache_put(st, c->todo[i]->blob_id, c->todo[i]->data, c->todo[i]->len);
	if (rc == 0)
		rc = state_batch_commit(st);
	else
		state_batch_rollback(st);
	return rc;
}

static void *writer(void *arg)
{
	pcache *c = arg;
	state *own = NULL;
	qsort(c->todo, c->ntodo, sizeof(*c->todo), by_blob_id);
	int rc = state_open_again(&own, c->st);
	if (rc == 0)
		rc = write_todo(c, own);
	if (rc != 0) {
		c->err = rc;
		str_copy(c->errmsg, err_msg(), sizeof(c->errmsg));
	}
	state_close(own);
	return NULL;
}

int pcache_flush(pcache *c)
{
	if (!c || !c->ntodo || c->writing)
		return 0;
	if (pthread_create(&c->thread, NULL, writer, c) == 0) {
		c->writing = true;
		return 0;
	}
	qsort(c->todo, c->ntodo, sizeof(*c->todo), by_blob_id);
	int rc = write_todo(c, c->st);
	c->ntodo = 0;
	return rc;
}

int pcache_wait(pcache *c)
{
	if (!c || !c->writing)
		return 0;
	pthread_join(c->thread, NULL);
	c->writing = false;
	c->ntodo = 0;
	if (c->err) {
		int rc = err_set(c->err, "%s", c->errmsg);
		c->err = 0;
		return rc;
	}
	return 0;
}

static int on_entry(void *arg, const char *blob_id, const void *data, size_t len)
{
	(void)remember(arg, blob_id, data, len);
	return 0;
}

static void load_all(pcache *c)
{
	if (c->loaded)
		return;
	c->loaded = true;
	if (state_parse_cache_foreach(c->st, on_entry, c) != 0)
		engine__warn("cannot read the parse cache; parsing every manifest", "error", err_msg());
}

static int get(void *ctx, const char *blob_id, buf *out)
{
	pcache *c = ctx;
	if (!c->bulk)
		return state_parse_cache_get(c->st, blob_id, out);
	load_all(c);
	const entry *e = strmap_get(c->map, blob_id);
	if (!e)
		return ERR_NOTFOUND;
	return buf_add(out, e->data, e->len);
}

static int put(void *ctx, const char *blob_id, const void *data, size_t len)
{
	pcache *c = ctx;
	if (!c->bulk)
		return state_parse_cache_put(c->st, blob_id, data, len);
	load_all(c);
	/* the writer reads todo: a put after pcache_flush waits for it first */
	if (c->writing && pcache_wait(c) != 0)
		engine__warn("cannot save the parse cache", "error", err_msg());
	const entry *e = remember(c, blob_id, data, len);
	if (c->ntodo == c->captodo)
		c->todo = xgrow(c->todo, &c->captodo, c->ntodo + 1, sizeof(*c->todo));
	c->todo[c->ntodo++] = e;
	return 0;
}

pcache *pcache_new(state *st, bool bulk)
{
	pcache *c = xcalloc(1, sizeof(*c));
	c->st = st;
	c->bulk = bulk;
	c->a = arena_new();
	c->map = strmap_new();
	c->cache = (spec_cache){.ctx = c, .get = get, .put = put};
	return c;
}

const spec_cache *pcache_spec(pcache *c) { return &c->cache; }

void pcache_free(pcache *c)
{
	if (!c)
		return;
	if (pcache_flush(c) != 0 || pcache_wait(c) != 0)
		engine__warn("cannot save the parse cache", "error", err_msg());
	free(c->todo);
	strmap_free(c->map);
	arena_free(c->a);
	free(c);
}
