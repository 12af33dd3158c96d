/*
 * pcache.c: the parse cache (state/'s parse_cache table) as spec/ sees it.
 *
 * For a whole fleet (bulk), the first lookup reads the whole table in one
 * scan into memory, and every lookup after it is a hash lookup: a warm
 * load of a 100k fleet asks for about 62,000 blobs, and one SQLite point
 * query each cost a quarter of that load. New entries go into the map at
 * once, so a blob is never parsed twice, and to the table through a writer
 * thread: in a cold load the inserts were a fifth of the loading thread's
 * time, and the loader touches SQLite for nothing else until
 * pcache_flush, which the caller runs before it commits its batch
 * transaction. A load of a few files (an incremental plan) looks each
 * blob up and writes each entry itself. A scan that fails leaves the map
 * empty: every file is then parsed, which is slower but correct (a cache
 * error is never fatal).
 */
#include <pthread.h>
#include <string.h>

#include "engine/internal.h"

typedef struct entry {
	const void *data;
	size_t len;
} entry;

typedef struct pending {
	const char *blob_id;
	const entry *e;
} pending;

/* Wake a waiting writer once this many entries wait: a wake-up per entry
 * costs more in context switches than the insert. */
#define WRITER_WAKE 32

struct pcache {
	state *st;
	arena *a;
	strmap *map; /* blob id -> entry, both in `a` (the writer reads them) */
	bool loaded;
	bool bulk; /* read the table in one scan, or one lookup a blob */
	spec_cache cache;
	/* the writer: [done, n) of q wait; all under mu */
	pthread_mutex_t mu;
	pthread_cond_t work;
	pthread_t thread;
	bool started, stop, waits;
	pending *q;
	size_t n, cap, done;
	int err;          /* the first failed insert's code ... */
	char errmsg[256]; /* ... and message (err_msg is per thread) */
};

static const entry *remember(pcache *c, const char *blob_id, const void *data, size_t len, const char **key)
{
	entry *e = arena_alloc(c->a, sizeof(*e));
	void *copy = arena_alloc(c->a, len ? len : 1);
	if (len)
		memcpy(copy, data, len);
	e->data = copy;
	e->len = len;
	*key = arena_strdup(c->a, blob_id);
	strmap_put(c->map, *key, e);
	return e;
}

static void *writer(void *arg)
{
	pcache *c = arg;
	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (c->done == c->n && !c->stop) {
			c->waits = true;
			pthread_cond_wait(&c->work, &c->mu);
			c->waits = false;
		}
		if (c->done == c->n)
			break; /* stopped, and nothing left */
		pending p = c->q[c->done];
		pthread_mutex_unlock(&c->mu);
		int rc = state_parse_cache_put(c->st, p.blob_id, p.e->data, p.e->len);
		pthread_mutex_lock(&c->mu);
		if (rc != 0 && c->err == 0) {
			c->err = rc;
			str_copy(c->errmsg, err_msg(), sizeof(c->errmsg));
		}
		c->done++;
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* Queue an entry for the writer; false when no writer could be started. */
static bool enqueue(pcache *c, const char *key, const entry *e)
{
	pthread_mutex_lock(&c->mu);
	if (!c->started) {
		if (pthread_create(&c->thread, NULL, writer, c) != 0) {
			pthread_mutex_unlock(&c->mu);
			return false;
		}
		c->started = true;
	}
	if (c->n == c->cap)
		c->q = xgrow(c->q, &c->cap, c->n + 1, sizeof(*c->q));
	c->q[c->n++] = (pending){key, e};
	if (c->waits && c->n - c->done >= WRITER_WAKE)
		pthread_cond_signal(&c->work);
	pthread_mutex_unlock(&c->mu);
	return true;
}

int pcache_flush(pcache *c)
{
	if (!c || !c->started)
		return 0;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_signal(&c->work);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	c->started = false;
	c->stop = false;
	c->n = c->done = 0;
	if (c->err) {
		int rc = err_set(c->err, "%s", c->errmsg);
		c->err = 0;
		return rc;
	}
	return 0;
}

static int on_entry(void *arg, const char *blob_id, const void *data, size_t len)
{
	const char *key;
	(void)remember(arg, blob_id, data, len, &key);
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
	load_all(c); /* before the writer: the scan and the writer share the connection */
	const char *key;
	const entry *e = remember(c, blob_id, data, len, &key);
	if (enqueue(c, key, e))
		return 0;
	return state_parse_cache_put(c->st, blob_id, data, len);
}

pcache *pcache_new(state *st, bool bulk)
{
	pcache *c = xcalloc(1, sizeof(*c));
	c->st = st;
	c->bulk = bulk;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->work, NULL);
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
	if (pcache_flush(c) != 0)
		engine__warn("cannot save the parse cache", "error", err_msg());
	pthread_cond_destroy(&c->work);
	pthread_mutex_destroy(&c->mu);
	free(c->q);
	strmap_free(c->map);
	arena_free(c->a);
	free(c);
}
