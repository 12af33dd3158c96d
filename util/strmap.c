/*
 * strmap.c: an open-addressing hash map from borrowed C strings to
 * pointers, for name and id indexes of 100,000 entries and more (tenants,
 * the simulator's projects) and small ones (YAML anchors). FNV-1a hashing,
 * linear probing, grown at 70% load, deletion by backward shift so that no
 * tombstones slow later lookups.
 */
#include <string.h>

#include "util/util.h"

/* A slot keeps its key's hash beside the key: a probe compares hashes
 * first and reads the key's bytes only on a match, and growing or
 * shifting never hashes a key again. */
typedef struct slot_t {
	const char *key; /* NULL: empty */
	uint64_t hash;
	void *val;
} slot_t;

struct strmap {
	slot_t *s;
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
	m->s = xcalloc(m->cap, sizeof(*m->s));
	return m;
}

void strmap_free(strmap *m)
{
	if (!m)
		return;
	free(m->s);
	free(m);
}

static size_t find(const slot_t *s, size_t cap, const char *key, uint64_t h)
{
	size_t i = (size_t)h & (cap - 1);
	while (s[i].key && (s[i].hash != h || strcmp(s[i].key, key) != 0))
		i = (i + 1) & (cap - 1);
	return i;
}

void *strmap_put(strmap *m, const char *key, void *val)
{
	if ((m->n + 1) * 10 > m->cap * 7) {
		size_t ncap = m->cap * 2;
		slot_t *ns = xcalloc(ncap, sizeof(*ns));
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->s[i].key)
				continue;
			size_t j = (size_t)m->s[i].hash & (ncap - 1);
			while (ns[j].key)
				j = (j + 1) & (ncap - 1);
			ns[j] = m->s[i];
		}
		free(m->s);
		m->s = ns;
		m->cap = ncap;
	}
	uint64_t h = hash(key);
	size_t i = find(m->s, m->cap, key, h);
	void *old = m->s[i].key ? m->s[i].val : NULL;
	if (!m->s[i].key) {
		m->n++;
		m->s[i].key = key;
		m->s[i].hash = h;
	}
	/* a replaced entry keeps the key it was stored with: the caller's may
	 * be a temporary that dies after this call */
	m->s[i].val = val;
	return old;
}

void *strmap_get(const strmap *m, const char *key)
{
	size_t i = find(m->s, m->cap, key, hash(key));
	return m->s[i].key ? m->s[i].val : NULL;
}

void *strmap_del(strmap *m, const char *key)
{
	size_t i = find(m->s, m->cap, key, hash(key));
	if (!m->s[i].key)
		return NULL;
	void *old = m->s[i].val;
	m->s[i] = (slot_t){0};
	m->n--;
	/* Move later entries of the same probe run back into the gap, so that
	 * every key stays reachable from its home slot without tombstones. */
	size_t j = i;
	for (;;) {
		j = (j + 1) & (m->cap - 1);
		if (!m->s[j].key)
			break;
		size_t home = (size_t)m->s[j].hash & (m->cap - 1);
		/* j's key may move to i only if i lies cyclically in [home, j) */
		bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
		if (movable) {
			m->s[i] = m->s[j];
			m->s[j] = (slot_t){0};
			i = j;
		}
	}
	return old;
}

size_t strmap_count(const strmap *m)
{
	return m->n;
}
