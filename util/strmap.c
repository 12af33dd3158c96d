/*
 * strmap.c: an open-addressing hash map from borrowed C strings to
 * pointers, for name and id indexes of 100,000 entries and more (tenants,
 * the simulator's projects) and small ones (YAML anchors). FNV-1a hashing,
 * linear probing, grown at 70% load, deletion by backward shift so that no
 * tombstones slow later lookups.
 */
#include <string.h>

#include "util/util.h"

struct strmap {
	const char **keys;
	void **vals;
	size_t n, cap; /* cap is a power of two */
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

strmap *strmap_new(void)
{
	strmap *m = xcalloc(1, sizeof(*m));
	m->cap = 16;
	m->keys = xcalloc(m->cap, sizeof(*m->keys));
	m->vals = xcalloc(m->cap, sizeof(*m->vals));
	return m;
}

void strmap_free(strmap *m)
{
	if (!m)
		return;
	free(m->keys);
	free(m->vals);
	free(m);
}

static size_t slot(const char **keys, size_t cap, const char *key)
{
	size_t i = (size_t)hash(key) & (cap - 1);
	while (keys[i] && strcmp(keys[i], key) != 0)
		i = (i + 1) & (cap - 1);
	return i;
}

void *strmap_put(strmap *m, const char *key, void *val)
{
	if ((m->n + 1) * 10 > m->cap * 7) {
		size_t ncap = m->cap * 2;
		const char **nk = xcalloc(ncap, sizeof(*nk));
		void **nv = xcalloc(ncap, sizeof(*nv));
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->keys[i])
				continue;
			size_t j = slot(nk, ncap, m->keys[i]);
			nk[j] = m->keys[i];
			nv[j] = m->vals[i];
		}
		free(m->keys);
		free(m->vals);
		m->keys = nk;
		m->vals = nv;
		m->cap = ncap;
	}
	size_t i = slot(m->keys, m->cap, key);
	void *old = m->keys[i] ? m->vals[i] : NULL;
	if (!m->keys[i]) {
		m->n++;
		m->keys[i] = key;
	}
	/* a replaced entry keeps the key it was stored with: the caller's may
	 * be a temporary that dies after this call */
	m->vals[i] = val;
	return old;
}

void *strmap_get(const strmap *m, const char *key)
{
	size_t i = slot(m->keys, m->cap, key);
	return m->keys[i] ? m->vals[i] : NULL;
}

void *strmap_del(strmap *m, const char *key)
{
	size_t i = slot(m->keys, m->cap, key);
	if (!m->keys[i])
		return NULL;
	void *old = m->vals[i];
	m->keys[i] = NULL;
	m->vals[i] = NULL;
	m->n--;
	/* Move later entries of the same probe run back into the gap, so that
	 * every key stays reachable from its home slot without tombstones. */
	size_t j = i;
	for (;;) {
		j = (j + 1) & (m->cap - 1);
		if (!m->keys[j])
			break;
		size_t home = (size_t)hash(m->keys[j]) & (m->cap - 1);
		/* j's key may move to i only if i lies cyclically in [home, j) */
		bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
		if (movable) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			m->keys[j] = NULL;
			m->vals[j] = NULL;
			i = j;
		}
	}
	return old;
}

size_t strmap_count(const strmap *m)
{
	return m->n;
}
