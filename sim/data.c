/*
 * data.c: a branch's data, as far as the sim models it: a version counter
 * with its history. The sim holds no rows; tests write "data" through the
 * control plane (POST /__sim/write bumps a branch's version) and read it
 * back (GET /__sim/data), so a restore can be checked: the restored branch
 * holds the version it had at the point, the preserved copy the one it had
 * before the restore.
 *
 * Every write is recorded with its sim time and an LSN that grows with
 * time and past every LSN the project handed out, so a point given as a
 * timestamp or as an LSN finds the last write at or before it. A branch
 * made from another (create, restore) takes the source's history up to its
 * point, then one entry of its own: the version it starts with.
 */
#include <inttypes.h>
#include <string.h>

#include "sim/sim.h"

bool sim_lsn_parse(const char *s, uint64_t *out)
{
	size_t a = strspn(s, "0123456789abcdefABCDEF");
	if (a < 1 || a > 8 || s[a] != '/')
		return false;
	size_t b = strspn(s + a + 1, "0123456789abcdefABCDEF");
	if (b < 1 || b > 8 || s[a + 1 + b] != 0)
		return false;
	uint64_t hi = strtoull(s, NULL, 16), lo = strtoull(s + a + 1, NULL, 16);
	*out = hi << 32 | lo;
	return true;
}

void sim_lsn_format(uint64_t n, char out[32])
{
	snprintf(out, 32, "%" PRIX64 "/%" PRIX64, n >> 32, n & 0xffffffffu);
}

int64_t sim_data_at(const sim_branch *b, const char *lsn, int64_t t)
{
	uint64_t l = 0;
	bool by_lsn = lsn && sim_lsn_parse(lsn, &l);
	int64_t v = 0;
	for (size_t i = 0; i < b->nwrites; i++) {
		const sim_write *w = &b->writes[i];
		if (by_lsn ? w->lsn > l : (t && w->at > t))
			break;
		v = w->version;
	}
	return v;
}

static void push(sim_branch *b, int64_t at, uint64_t lsn, int64_t version)
{
	if (b->nwrites == b->capwrites)
		b->writes = sim_grow(b->writes, &b->capwrites, b->nwrites + 1, sizeof(*b->writes));
	b->writes[b->nwrites++] = (sim_write){at, lsn, version};
}

/* An LSN for now: it grows with the project's age and passes every LSN
 * the project's branches recorded. */
static uint64_t next_lsn(sim_store *s, const sim_project *p)
{
	int64_t now = sim_now(s);
	uint64_t age = now > p->created_at ? (uint64_t)(now - p->created_at) : 0;
	uint64_t lsn = 0x1E19478u + age * 4096u;
	for (size_t i = 0; i < p->nbranches; i++) {
		const sim_branch *b = &p->branches[i];
		if (b->nwrites && b->writes[b->nwrites - 1].lsn >= lsn)
			lsn = b->writes[b->nwrites - 1].lsn + 8;
	}
	return lsn;
}

void sim_data_copy(sim_branch *dst, const sim_branch *src)
{
	if (dst == src)
		return;
	dst->nwrites = 0;
	for (size_t i = 0; i < src->nwrites; i++)
		push(dst, src->writes[i].at, src->writes[i].lsn, src->writes[i].version);
}

void sim_data_fork(sim_store *s, sim_project *p, sim_branch *dst, const sim_branch *src, const char *lsn, int64_t t)
{
	uint64_t l = 0;
	bool by_lsn = lsn && sim_lsn_parse(lsn, &l);
	int64_t v = sim_data_at(src, lsn, t);
	uint64_t at_lsn = next_lsn(s, p);
	/* src may be dst (a restore from its own history): copy first */
	sim_write *keep = NULL;
	size_t n = 0;
	for (; n < src->nwrites; n++)
		if (by_lsn ? src->writes[n].lsn > l : (t && src->writes[n].at > t))
			break;
	if (n) {
		keep = xmalloc(n * sizeof(*keep));
		memcpy(keep, src->writes, n * sizeof(*keep));
	}
	dst->nwrites = 0;
	for (size_t i = 0; i < n; i++)
		push(dst, keep[i].at, keep[i].lsn, keep[i].version);
	free(keep);
	push(dst, sim_now(s), at_lsn, v);
}

void sim_data_start(sim_store *s, sim_project *p, sim_branch *b, int64_t version)
{
	uint64_t lsn = next_lsn(s, p);
	b->nwrites = 0;
	push(b, sim_now(s), lsn, version);
}

void sim_data_point(sim_store *s, const sim_project *p, const sim_branch *b, const char *lsn, int64_t t,
		    int64_t *at, char lsn_out[32])
{
	uint64_t l = 0;
	if (lsn && sim_lsn_parse(lsn, &l)) {
		*at = b->created_at;
		for (size_t i = 0; i < b->nwrites && b->writes[i].lsn <= l; i++)
			*at = b->writes[i].at;
		str_copy(lsn_out, lsn, 32);
		return;
	}
	if (!t)
		t = sim_now(s);
	*at = t;
	l = 0x1E19478u + (t > p->created_at ? (uint64_t)(t - p->created_at) : 0) * 4096u;
	for (size_t i = 0; i < b->nwrites && b->writes[i].at <= t; i++)
		if (b->writes[i].lsn > l)
			l = b->writes[i].lsn;
	sim_lsn_format(l, lsn_out);
}

const sim_write *sim_data_write(sim_store *s, sim_project *p, sim_branch *b)
{
	int64_t v = b->nwrites ? b->writes[b->nwrites - 1].version : 0;
	push(b, sim_now(s), next_lsn(s, p), v + 1);
	return &b->writes[b->nwrites - 1];
}

json_t *sim_data_render(const sim_branch *b)
{
	json_t *o = json_object(), *ws = json_array();
	char text[32];
	for (size_t i = 0; i < b->nwrites; i++) {
		const sim_write *w = &b->writes[i];
		json_t *x = json_object();
		sim_time_format(w->at, text);
		json_object_set_new(x, "at", json_string(text));
		sim_lsn_format(w->lsn, text);
		json_object_set_new(x, "lsn", json_string(text));
		json_object_set_new(x, "version", json_integer(w->version));
		json_array_append_new(ws, x);
	}
	json_object_set_new(o, "version", json_integer(sim_data_at(b, NULL, 0)));
	if (b->nwrites) {
		sim_lsn_format(b->writes[b->nwrites - 1].lsn, text);
		json_object_set_new(o, "lsn", json_string(text));
	}
	json_object_set_new(o, "writes", ws);
	return o;
}
