/*
 * internal.h: types shared by the files of spec/ only. Nothing outside
 * spec/ includes this; the public contract is spec.h.
 */
#ifndef FLOTILLA_SPEC_INTERNAL_H
#define FLOTILLA_SPEC_INTERNAL_H

#include "spec/spec.h"

/* ----------------------------------------------------------- YAML nodes */

typedef enum { YN_SCALAR, YN_MAP, YN_SEQ } ynode_kind;

typedef struct ynode {
	uint8_t kind;    /* ynode_kind */
	uint8_t quoted;  /* scalar written quoted or as a block: always a string */
	uint32_t line, col;
	const char *str; /* scalar text (NUL-terminated) */
	size_t len;
	size_t n;            /* map: number of pairs; seq: number of items */
	struct ynode **kids; /* map: key0, val0, key1, val1, …; seq: items */
} ynode;

typedef struct ydoc {
	ynode *root; /* NULL for an empty document */
	uint32_t line, col;
} ydoc;

/*
 * Parse `data` into documents allocated from `a`. Problems of the file
 * (syntax, tabs, UTF-8, bounds) go into `diags` under `file`, and then no
 * document is returned. Returns the number of documents in *docs.
 */
size_t spec__yaml_load(arena *a, const char *file, const char *data, size_t len,
		 ydoc **docs, spec_diags *diags);

/* "a string", "a number", "a map", "a list", "null" — for type errors. */
const char *spec__ynode_describe(const ynode *n);
/* A plain scalar meaning null: "", "~", "null". */
bool spec__ynode_is_null(const ynode *n);

/* ------------------------------------------------------------ the fleet */

typedef struct spec_profile {
	const char *name;
	spec_origin o;
	spec_values spec;
	spec_values base; /* builtin, defaults, then this profile: where its tenants' resolve starts */
} spec_profile;

struct strmap;

struct spec_fleet {
	arena *a;
	/* file table: origins point here */
	char **files;
	size_t nfiles, capfiles;

	/* the Fleet document */
	bool have_fleet;
	const char *name;
	const char *org_id;
	const char *name_prefix;
	spec_list *manifests;
	spec_list *allowed_regions;
	spec_origin allowed_regions_o;
	bool prune;
	bool prune_branches;
	int64_t max_deletes;
	const char *drift;
	int64_t refresh_interval;
	int32_t max_autoscaling_cu; /* quarters */
	spec_origin max_autoscaling_cu_o;
	/* spec.neonPlan and spec.limits (limits.c); -1: not set */
	const char *neon_plan;
	spec_origin neon_plan_o;
	int64_t lim_projects, lim_branches, lim_retention, lim_protected;
	spec_origin lim_o;          /* the spec.limits map */
	/* spec.prices (prices.c): millionths of the currency; prices_o.set when given */
	int64_t price_cu_hour, price_gb_month, price_transfer_gb;
	const char *price_currency, *price_as_of;
	spec_origin prices_o;
	spec_values defaults;
	spec_values builtin; /* built once */
	spec_values base;    /* builtin, then defaults: where a resolve without a profile starts */

	spec_profile **profiles;
	size_t nprofiles, capprofiles;
	spec_tenant **tenants;
	size_t ntenants, captenants;
	struct strmap *profile_index;
	struct strmap *tenant_index;
};

/* Intern a file path; returns its index. */
uint32_t fleet_file_add(spec_fleet *f, const char *path);

/* spec_diags_add with a va_list (diag.c). */
void spec__diags_vadd(spec_diags *d, const char *file, unsigned line, unsigned col, const char *path,
		const char *fmt, va_list ap) PRINTF(6, 0);

/* Move every entry of `src` to the end of `dst`; `src` is left empty. */
void spec__diags_move(spec_diags *dst, spec_diags *src);
/* Drop every entry. */
void spec__diags_clear(spec_diags *d);

/* ------------------------------------------------------------ decoding */

/*
 * What one file defines, before it joins the fleet: its profiles and
 * tenants in document order, and the diagnostics of reading, parsing and
 * decoding it (all under the file's own path). This is what the parse
 * cache keeps per blob (cache.c). The Fleet document is the exception: it
 * can only come from flotilla.yaml, which is decoded first into a fresh
 * fleet, so its settings go straight into the fleet and the cache keeps
 * them from there.
 */
typedef struct file_rec {
	bool tenant;
	void *p;            /* spec_tenant * or spec_profile *, in the fleet's arena */
	uint32_t line, col; /* the metadata.name node, for "defined twice" */
} file_rec;

typedef struct file_recs {
	file_rec *items;
	size_t n, cap;
	spec_diags *diags;
} file_recs;

/* The state of decoding one file (decode.c, values.c). */
typedef struct dec {
	spec_fleet *f;
	uint32_t file;
	const char *fname;
	spec_layer layer;
	spec_diags *diags;
	file_recs *recs;
} dec;

#define PATH_MAX_LEN 256

/* Shared helpers (decode.c); each adds a diagnostic when it returns false. */
void spec__diag_at(dec *d, const ynode *n, const char *path, const char *fmt, ...) PRINTF(4, 5);
spec_origin spec__origin_of(const dec *d, const ynode *n);
const char *spec__copy_str(dec *d, const ynode *n);
/* "base.key", or "key" when base is empty, into a PATH_MAX_LEN buffer. */
void spec__join(char *out, const char *base, const char *key);
/* The known key within edit distance 2 of `key`, or NULL. */
const char *spec__suggest(const char *key, const char *const *known, size_t nknown);
/* Whether region is one of Neon's documented regions (fleet.c, the
 * built-in allowedRegions). */
bool spec__region_documented(const char *region);
/* Index of map key i among `known`, or -1 (unknown, duplicate, not a string). */
int spec__key_index(dec *d, const ynode *m, size_t i, const char *path, const char *const *known, size_t nknown);
bool spec__want_map(dec *d, const ynode *n, const char *path);
bool spec__want_seq(dec *d, const ynode *n, const char *path);
bool spec__want_string(dec *d, const ynode *n, const char *path);
bool spec__get_bool(dec *d, const ynode *n, const char *path, int64_t *out);
bool spec__get_int(dec *d, const ynode *n, const char *path, int64_t lo, int64_t hi, int64_t *out);
bool spec__valid_name(const char *s);   /* ^[a-z0-9][a-z0-9-]{0,62}$ */
bool spec__valid_id(const char *s);     /* ^[a-z0-9-]{1,60}$ */
bool spec__has_control(const char *s);

/* The tenant spec (values.c). `prefix` is the field-path prefix of the map
 * ("" at the top), `ypath` its YAML path; profiles pass allow_profile false. */
void spec__decode_values(dec *d, const ynode *n, const char *prefix, const char *ypath, spec_values *out,
		   bool allow_profile);
/* A map of strings: compute.pgSettings, or metadata.labels when `labels`. */
/* backups.schedule: each item checked, kept as its API JSON (backups.c). */
bool spec__decode_schedule(dec *d, const ynode *n, const char *path, spec_val *out);
spec_map *spec__decode_map(dec *d, const ynode *n, const char *path, bool labels);

/* Decode the documents of file index `file` into `recs` (decode.c): the
 * fleet is only written for the Fleet document of flotilla.yaml. */
void spec__decode_file(spec_fleet *f, uint32_t file, const ydoc *docs, size_t ndocs, file_recs *recs);
/* Add a decoded file to the fleet: its diagnostics go to `diags`, its
 * profiles and tenants are indexed by name, a name already taken (by this
 * file or an earlier one) is reported and the later record dropped. */
void spec__register_file(spec_fleet *f, uint32_t file, const file_recs *recs, spec_diags *diags);
void spec__file_recs_reset(file_recs *r);

/* The parse cache encoding of a decoded file (cache.c). `root`: the file
 * is flotilla.yaml, whose entry also holds the fleet settings. Encoding
 * fails (ERR_INVALID) for a file the format cannot replay exactly; then
 * it is simply not cached. Decoding appends to an empty `recs` (and for
 * root sets the fleet settings); a corrupt, foreign-version or
 * other-role entry is ERR_INVALID with the fleet left as it was and
 * `recs` to be reset by the caller. */
int spec__cache_encode(const spec_fleet *f, uint32_t file, bool root, const file_recs *recs,
		 buf *out) WUR;
int spec__cache_decode(spec_fleet *f, uint32_t file, bool root, const void *data, size_t len,
		 file_recs *recs) WUR;

/* ------------------------------------------------------ parse pipeline */

/*
 * The fleet loader parses YAML on a second thread (pipeline.c): the main
 * thread reads files ahead into a ring of slots, a worker runs spec__yaml_load
 * on them in order, and the main thread takes them back in the same
 * order to decode and register them. Only `docs`, `ndocs`, `scratch` and
 * `diags` are the worker's, and only while the slot is queued; every other
 * field is the main thread's.
 */
typedef enum {
	SLOT_PARSE,      /* `data` holds the file: the worker parses it */
	SLOT_HIT,        /* `entry` holds the file's parse cache entry */
	SLOT_UNREADABLE, /* the read failed with `err` */
} slot_kind;

typedef struct parse_slot {
	slot_kind kind;
	const char *path;
	bool have_id;
	char id[SPEC_BLOB_ID_LEN + 1];
	buf data;  /* the file's bytes */
	buf entry; /* its cache entry */
	char *err;
	/* set when a file taken earlier put this slot's blob id into the
	 * cache after the slot was read: what was read may be stale */
	bool stale;
	/* the worker's output; the arena and list exist once a file of
	 * the slot was parsed */
	arena *scratch;
	ydoc *docs;
	size_t ndocs;
	spec_diags *diags;
} parse_slot;

typedef struct parse_pipe parse_pipe;

parse_pipe *spec__parse_pipe_new(void);
/* Stop the worker and free every slot. NULL is fine. */
void spec__parse_pipe_free(parse_pipe *q);
/* A free slot to fill, or NULL while the ring is full. */
parse_slot *spec__parse_pipe_reserve(parse_pipe *q);
/* Queue the slot parse_pipe_reserve returned. */
void spec__parse_pipe_submit(parse_pipe *q);
/* The oldest queued slot, once the worker is done with it; NULL when
 * nothing is queued. parse_pipe_release hands it back. */
parse_slot *spec__parse_pipe_head(parse_pipe *q);
void spec__parse_pipe_release(parse_pipe *q);
/* Queued slot i (0 is the head), which the worker may still be parsing:
 * the caller may read the main thread's fields and set `stale`. NULL past
 * the last one. */
parse_slot *spec__parse_pipe_queued(parse_pipe *q, size_t i);

/* spec.neonPlan and spec.limits of the Fleet document (limits.c). */
void spec__decode_neon_plan(dec *d, const ynode *v, const char *where);
void spec__decode_limits(dec *d, const ynode *v, const char *where);
void spec__decode_prices(dec *d, const ynode *n, const char *where);

/* Built-in defaults of a tenant spec (fields.c). */
void spec__builtin_defaults(arena *a, spec_values *out);
/* Format one scalar value for explain and messages. */
void spec__val_format(spec_field f, const spec_val *v, char *out, size_t size);

/* "profiles/pro.yaml:7", "flotilla.yaml:12 (defaults)", "built-in default". */
void spec__origin_format(const spec_fleet *f, const spec_origin *o, char *out, size_t size);

/* Checks that combine merged values (validate.c). */
void spec__validate_tenant(const spec_fleet *f, const spec_tenant *t, spec_diags *diags);
/* Checks of a branches list on its own (validate.c), run where it is written. */
void spec__validate_branches(spec_fleet *f, spec_branches *br, const char *path,
		       spec_origin at, spec_diags *diags);

#endif
