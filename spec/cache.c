/*
 * cache.c: the parse cache encoding of one decoded file.
 *
 * A warm load of 100,000 tenants must take well under a second, so an
 * unchanged file (same blob id) is not parsed again: its decoded records
 * and diagnostics are replayed from a compact entry. The format is
 * private to spec/ and versioned; an entry that does not decode exactly
 * (corrupt, truncated, another version, or made for flotilla.yaml when
 * this file is not it, or the reverse) is a miss and the file is parsed.
 *
 *   "FLSC" version:u8 root:u8 body checksum:u64le
 *
 * The body is little-endian base-128 varints (signed ones zigzagged) and
 * inline strings (0 for NULL, else length + 1, then the bytes). The
 * checksum is FNV-1a 64 of everything before it: it catches a damaged
 * entry, which would otherwise decode into records that break the
 * invariants later stages rely on (a branch without a name). Origins keep
 * line, column, layer and set; their file is always the file being
 * loaded, so an entry does not depend on where the file sits in the
 * fleet. For the same reason diagnostics are kept without a file name.
 */
#include <string.h>

#include "spec/internal.h"

#define MAGIC "FLSC"
#define VERSION 5 /* 2: the Fleet's neonPlan and limits; 3: pruneBranches; 4: prices; 5: backups.schedule */
#define HEADER_LEN 6
#define CHECKSUM_LEN 8

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* ------------------------------------------------------------- writing */

typedef struct wr {
	buf *b;
	uint32_t file;
	int rc; /* first failure; later writes are skipped */
} wr;

static void put_bytes(wr *w, const void *p, size_t n)
{
	if (w->rc == 0 && n)
		w->rc = buf_add(w->b, p, n);
}

static void put_u(wr *w, uint64_t v)
{
	uint8_t t[10];
	size_t n = 0;
	do {
		uint8_t c = v & 0x7f;
		v >>= 7;
		t[n++] = (uint8_t)(c | (v ? 0x80 : 0));
	} while (v);
	put_bytes(w, t, n);
}

static void put_i(wr *w, int64_t v)
{
	put_u(w, ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0));
}

static void put_str(wr *w, const char *s)
{
	if (!s) {
		put_u(w, 0);
		return;
	}
	size_t n = strlen(s);
	put_u(w, n + 1);
	put_bytes(w, s, n);
}

static bool origin_zero(const spec_origin *o)
{
	return !o->file && !o->line && !o->col && !o->layer && !o->set;
}

/* 0 for the zero origin, else 1 + set, layer, line, col. */
static void put_origin(wr *w, const spec_origin *o)
{
	if (origin_zero(o)) {
		put_u(w, 0);
		return;
	}
	if (o->file != w->file || o->set > 1) /* cannot be replayed exactly */
		w->rc = ERR_INVALID;
	put_u(w, 1u + o->set);
	put_u(w, o->layer);
	put_u(w, o->line);
	put_u(w, o->col);
}

static void put_sval(wr *w, const spec_val *v)
{
	put_origin(w, &v->o);
	put_str(w, v->s);
}

static void put_ival(wr *w, const spec_val *v)
{
	put_origin(w, &v->o);
	put_i(w, v->i);
}

/* A count that may stand for a NULL pointer: 0 NULL, else n + 1. */
static void put_count(wr *w, const void *p, size_t n)
{
	put_u(w, p ? (uint64_t)n + 1 : 0);
}

static void put_list(wr *w, bool ints, const spec_list *l)
{
	put_count(w, l, l ? l->n : 0);
	for (size_t i = 0; l && i < l->n; i++)
		(ints ? put_ival : put_sval)(w, &l->items[i]);
}

static void put_map(wr *w, const spec_map *m)
{
	put_count(w, m, m ? m->n : 0);
	for (size_t i = 0; m && i < m->n; i++) {
		put_str(w, m->keys[i]);
		put_sval(w, &m->vals[i]);
	}
}

static void put_branches(wr *w, const spec_branches *br)
{
	put_count(w, br, br ? br->n : 0);
	if (!br)
		return;
	put_u(w, br->default_index);
	for (size_t i = 0; i < br->n; i++) {
		const spec_branch *b = &br->items[i];
		put_origin(w, &b->o);
		put_sval(w, &b->name);
		put_sval(w, &b->parent);
		put_ival(w, &b->is_default);
		put_ival(w, &b->protect);
		put_count(w, b->roles, b->nroles);
		for (size_t r = 0; b->roles && r < b->nroles; r++) {
			put_sval(w, &b->roles[r].name);
			put_ival(w, &b->roles[r].no_login);
		}
		put_count(w, b->databases, b->ndatabases);
		for (size_t d = 0; b->databases && d < b->ndatabases; d++) {
			put_sval(w, &b->databases[d].name);
			put_sval(w, &b->databases[d].owner);
		}
	}
}

/* Only the fields written at this layer, behind a bitmask of them. */
static void put_values(wr *w, const spec_values *sv)
{
	uint64_t mask = 0;
	for (int f = 0; f < SF__COUNT; f++)
		if (!origin_zero(&sv->v[f].o) || sv->v[f].i != 0)
			mask |= UINT64_C(1) << f;
	put_u(w, mask);
	for (int f = 0; f < SF__COUNT; f++) {
		const spec_val *v = &sv->v[f];
		if (!(mask & (UINT64_C(1) << f)))
			continue;
		switch (spec_field_get((spec_field)f)->type) {
		case SPEC_T_STRING:
		case SPEC_T_TIME_OF_DAY:
			put_sval(w, v);
			break;
		case SPEC_T_STRLIST:
		case SPEC_T_INTLIST:
		case SPEC_T_SCHEDULE:
			put_origin(w, &v->o);
			put_list(w, spec_field_get((spec_field)f)->type == SPEC_T_INTLIST, v->list);
			break;
		case SPEC_T_MAP:
			put_origin(w, &v->o);
			put_map(w, v->map);
			break;
		case SPEC_T_BRANCHES:
			put_origin(w, &v->o);
			put_branches(w, v->br);
			break;
		default:
			put_ival(w, v);
		}
	}
}

static void put_fleet(wr *w, const spec_fleet *f)
{
	put_u(w, f->have_fleet);
	put_str(w, f->name);
	put_str(w, f->org_id);
	put_str(w, f->name_prefix);
	put_list(w, false, f->manifests);
	put_list(w, false, f->allowed_regions);
	put_origin(w, &f->allowed_regions_o);
	put_u(w, f->prune);
	put_u(w, f->prune_branches);
	put_i(w, f->max_deletes);
	put_str(w, f->drift);
	put_i(w, f->refresh_interval);
	put_i(w, f->max_autoscaling_cu);
	put_origin(w, &f->max_autoscaling_cu_o);
	put_str(w, f->neon_plan);
	put_origin(w, &f->neon_plan_o);
	put_i(w, f->lim_projects);
	put_i(w, f->lim_branches);
	put_i(w, f->lim_retention);
	put_i(w, f->lim_protected);
	put_origin(w, &f->lim_o);
	put_i(w, f->price_cu_hour);
	put_i(w, f->price_gb_month);
	put_i(w, f->price_transfer_gb);
	put_str(w, f->price_currency);
	put_str(w, f->price_as_of);
	put_origin(w, &f->prices_o);
	put_values(w, &f->defaults);
}

int spec__cache_encode(const spec_fleet *f, uint32_t file, bool root, const file_recs *recs, buf *out)
{
	wr w = {.b = out, .file = file};
	const char *fname = spec_fleet_file(f, file);
	uint8_t head[HEADER_LEN] = {MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], VERSION, root};
	put_bytes(&w, head, sizeof(head));

	size_t nd = spec_diags_count(recs->diags);
	put_u(&w, nd);
	for (size_t i = 0; i < nd; i++) {
		const spec_diag *g = spec_diags_at(recs->diags, i);
		if (strcmp(g->file, fname) != 0) /* replay names the file being loaded */
			w.rc = ERR_INVALID;
		put_u(&w, g->line);
		put_u(&w, g->col);
		put_str(&w, g->path);
		put_str(&w, g->msg);
	}
	if (root)
		put_fleet(&w, f);
	put_u(&w, recs->n);
	for (size_t i = 0; i < recs->n; i++) {
		const file_rec *r = &recs->items[i];
		put_u(&w, r->tenant);
		put_u(&w, r->line);
		put_u(&w, r->col);
		if (r->tenant) {
			const spec_tenant *t = r->p;
			put_str(&w, t->name);
			put_origin(&w, &t->o);
			put_map(&w, t->labels);
			put_values(&w, &t->spec);
		} else {
			const spec_profile *p = r->p;
			put_str(&w, p->name);
			put_origin(&w, &p->o);
			put_values(&w, &p->spec);
		}
	}
	if (w.rc == 0) {
		uint64_t h = fnv1a((const uint8_t *)out->data, out->len);
		uint8_t t[CHECKSUM_LEN];
		for (size_t i = 0; i < CHECKSUM_LEN; i++)
			t[i] = (uint8_t)(h >> (8 * i));
		put_bytes(&w, t, sizeof(t));
	}
	if (w.rc != 0)
		return err_set(ERR_INVALID, "'%s' cannot be kept in the parse cache", fname);
	return 0;
}

/* ------------------------------------------------------------- reading */

typedef struct rd {
	const uint8_t *p, *end;
	spec_fleet *f;
	uint32_t file;
	bool bad; /* sticky: every read after a failure yields zeros */
} rd;

static uint64_t get_u(rd *r)
{
	uint64_t v = 0;
	for (unsigned sh = 0; sh < 64 && r->p < r->end; sh += 7) {
		uint8_t c = *r->p++;
		v |= (uint64_t)(c & 0x7f) << sh;
		if (!(c & 0x80))
			return v;
	}
	r->bad = true;
	r->p = r->end;
	return 0;
}

/* A varint at most `max`. */
static uint64_t get_max(rd *r, uint64_t max)
{
	uint64_t v = get_u(r);
	if (v > max) {
		r->bad = true;
		r->p = r->end;
		return 0;
	}
	return v;
}

static int64_t get_i(rd *r)
{
	uint64_t u = get_u(r);
	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

/* A count as put_count wrote it: false for NULL. Each element takes at
 * least one byte, which bounds what a damaged entry can make us allocate. */
static bool get_count(rd *r, size_t *n)
{
	uint64_t v = get_u(r);
	*n = 0;
	if (v == 0)
		return false;
	if (v - 1 > (uint64_t)(r->end - r->p)) {
		r->bad = true;
		r->p = r->end;
		return false;
	}
	*n = (size_t)v - 1;
	return true;
}

static const char *get_str(rd *r)
{
	size_t n;
	if (!get_count(r, &n))
		return NULL;
	const char *s = arena_strndup(r->f->a, (const char *)r->p, n);
	r->p += n;
	return s;
}

static void get_origin(rd *r, spec_origin *o)
{
	memset(o, 0, sizeof(*o));
	uint64_t tag = get_max(r, 2);
	if (tag == 0)
		return;
	o->set = (uint8_t)(tag - 1);
	o->file = r->file;
	o->layer = (uint8_t)get_max(r, SPEC_LAYER_TENANT);
	o->line = (uint32_t)get_max(r, UINT32_MAX);
	o->col = (uint16_t)get_max(r, UINT16_MAX);
}

static void get_sval(rd *r, spec_val *v)
{
	get_origin(r, &v->o);
	v->s = get_str(r);
}

static void get_ival(rd *r, spec_val *v)
{
	get_origin(r, &v->o);
	v->i = get_i(r);
}

/* n elements of `size` bytes from the fleet's arena (at least one, as
 * decoding allocates them). */
static void *get_array(rd *r, size_t n, size_t size)
{
	return arena_alloc(r->f->a, (n ? n : 1) * size);
}

static spec_list *get_list(rd *r, bool ints)
{
	size_t n;
	if (!get_count(r, &n))
		return NULL;
	spec_list *l = arena_alloc(r->f->a, sizeof(*l));
	l->items = get_array(r, n, sizeof(spec_val));
	l->n = n;
	for (size_t i = 0; i < n; i++)
		(ints ? get_ival : get_sval)(r, &l->items[i]);
	return l;
}

static spec_map *get_map(rd *r)
{
	size_t n;
	if (!get_count(r, &n))
		return NULL;
	spec_map *m = arena_alloc(r->f->a, sizeof(*m));
	m->keys = get_array(r, n, sizeof(char *));
	m->vals = get_array(r, n, sizeof(spec_val));
	m->n = n;
	for (size_t i = 0; i < n; i++) {
		m->keys[i] = get_str(r);
		get_sval(r, &m->vals[i]);
	}
	return m;
}

static spec_branches *get_branches(rd *r)
{
	size_t n;
	if (!get_count(r, &n))
		return NULL;
	spec_branches *br = arena_alloc(r->f->a, sizeof(*br));
	br->items = get_array(r, n, sizeof(spec_branch));
	br->n = n;
	br->default_index = (size_t)get_max(r, n ? n - 1 : 0);
	for (size_t i = 0; i < n; i++) {
		spec_branch *b = &br->items[i];
		get_origin(r, &b->o);
		get_sval(r, &b->name);
		get_sval(r, &b->parent);
		get_ival(r, &b->is_default);
		get_ival(r, &b->protect);
		if (get_count(r, &b->nroles)) {
			b->roles = get_array(r, b->nroles, sizeof(spec_role));
			for (size_t x = 0; x < b->nroles; x++) {
				get_sval(r, &b->roles[x].name);
				get_ival(r, &b->roles[x].no_login);
			}
		}
		if (get_count(r, &b->ndatabases)) {
			b->databases = get_array(r, b->ndatabases, sizeof(spec_database));
			for (size_t x = 0; x < b->ndatabases; x++) {
				get_sval(r, &b->databases[x].name);
				get_sval(r, &b->databases[x].owner);
			}
		}
	}
	return br;
}

static void get_values(rd *r, spec_values *sv)
{
	memset(sv, 0, sizeof(*sv));
	uint64_t mask = get_max(r, (UINT64_C(1) << SF__COUNT) - 1);
	for (int f = 0; f < SF__COUNT; f++) {
		spec_val *v = &sv->v[f];
		if (!(mask & (UINT64_C(1) << f)))
			continue;
		spec_type t = spec_field_get((spec_field)f)->type;
		switch (t) {
		case SPEC_T_STRING:
		case SPEC_T_TIME_OF_DAY:
			get_sval(r, v);
			break;
		case SPEC_T_STRLIST:
		case SPEC_T_INTLIST:
		case SPEC_T_SCHEDULE:
			get_origin(r, &v->o);
			v->list = get_list(r, t == SPEC_T_INTLIST);
			break;
		case SPEC_T_MAP:
			get_origin(r, &v->o);
			v->map = get_map(r);
			break;
		case SPEC_T_BRANCHES:
			get_origin(r, &v->o);
			v->br = get_branches(r);
			break;
		default:
			get_ival(r, v);
		}
	}
}

static void get_fleet(rd *r, spec_fleet *f)
{
	f->have_fleet = get_max(r, 1);
	f->name = get_str(r);
	f->org_id = get_str(r);
	f->name_prefix = get_str(r);
	f->manifests = get_list(r, false);
	f->allowed_regions = get_list(r, false);
	get_origin(r, &f->allowed_regions_o);
	f->prune = get_max(r, 1);
	f->prune_branches = get_max(r, 1);
	f->max_deletes = get_i(r);
	f->drift = get_str(r);
	f->refresh_interval = get_i(r);
	f->max_autoscaling_cu = (int32_t)get_i(r);
	get_origin(r, &f->max_autoscaling_cu_o);
	f->neon_plan = get_str(r);
	get_origin(r, &f->neon_plan_o);
	f->lim_projects = get_i(r);
	f->lim_branches = get_i(r);
	f->lim_retention = get_i(r);
	f->lim_protected = get_i(r);
	get_origin(r, &f->lim_o);
	f->price_cu_hour = get_i(r);
	f->price_gb_month = get_i(r);
	f->price_transfer_gb = get_i(r);
	f->price_currency = get_str(r);
	f->price_as_of = get_str(r);
	get_origin(r, &f->prices_o);
	get_values(r, &f->defaults);
	/* what the loader relies on being set, as a fresh fleet has them */
	if (!f->name_prefix || !f->drift)
		r->bad = true;
}

static void get_diag(rd *r, spec_diags *diags, const char *fname)
{
	unsigned line = (unsigned)get_max(r, UINT32_MAX);
	unsigned col = (unsigned)get_max(r, UINT32_MAX);
	size_t plen = 0, mlen = 0;
	const char *path = NULL, *msg = NULL;
	if (get_count(r, &plen)) {
		path = (const char *)r->p;
		r->p += plen;
	}
	if (get_count(r, &mlen)) {
		msg = (const char *)r->p;
		r->p += mlen;
	}
	if (r->bad || !path || !msg) {
		r->bad = true;
		return;
	}
	char *p = xstrndup(path, plen);
	spec_diags_add(diags, fname, line, col, p, "%.*s", (int)mlen, msg);
	free(p);
}

int spec__cache_decode(spec_fleet *f, uint32_t file, bool root, const void *data, size_t len,
		 file_recs *recs)
{
	const uint8_t *p = data;
	if (!p || len < HEADER_LEN + CHECKSUM_LEN || memcmp(p, MAGIC, 4) != 0 || p[4] != VERSION ||
	    p[5] != (root ? 1 : 0))
		return err_set(ERR_INVALID, "parse cache entry: not this version or role");
	uint64_t h = 0;
	for (size_t i = 0; i < CHECKSUM_LEN; i++)
		h |= (uint64_t)p[len - CHECKSUM_LEN + i] << (8 * i);
	if (fnv1a(p, len - CHECKSUM_LEN) != h)
		return err_set(ERR_INVALID, "parse cache entry: checksum mismatch");

	rd r = {.p = p + HEADER_LEN, .end = p + len - CHECKSUM_LEN, .f = f, .file = file};
	const char *fname = spec_fleet_file(f, file);
	/* a failed root entry must leave the fleet settings as they were; the
	 * arena only grows, so restoring the struct is enough */
	spec_fleet saved = *f;
	size_t nd = (size_t)get_max(&r, (uint64_t)(r.end - r.p));
	for (size_t i = 0; i < nd && !r.bad; i++)
		get_diag(&r, recs->diags, fname);
	if (root)
		get_fleet(&r, f);
	size_t n = (size_t)get_max(&r, (uint64_t)(r.end - r.p));
	for (size_t i = 0; i < n && !r.bad; i++) {
		file_rec rec = {.tenant = get_max(&r, 1)};
		rec.line = (uint32_t)get_max(&r, UINT32_MAX);
		rec.col = (uint32_t)get_max(&r, UINT32_MAX);
		const char *name = get_str(&r);
		if (!name) {
			r.bad = true;
			break;
		}
		if (rec.tenant) {
			spec_tenant *t = arena_alloc(f->a, sizeof(*t));
			t->name = name;
			get_origin(&r, &t->o);
			t->labels = get_map(&r);
			get_values(&r, &t->spec);
			rec.p = t;
		} else {
			spec_profile *pr = arena_alloc(f->a, sizeof(*pr));
			pr->name = name;
			get_origin(&r, &pr->o);
			get_values(&r, &pr->spec);
			rec.p = pr;
		}
		if (recs->n == recs->cap)
			recs->items = xgrow(recs->items, &recs->cap, recs->n + 1, sizeof(*recs->items));
		recs->items[recs->n++] = rec;
	}
	if (r.bad || r.p != r.end) {
		*f = saved;
		return err_set(ERR_INVALID, "parse cache entry for '%s' is damaged", fname);
	}
	return 0;
}
