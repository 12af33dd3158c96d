/*
 * spec.h: the one header of spec/, the manifest language.
 *
 * spec/ turns a repository's YAML manifests into a validated desired model:
 * one Fleet, its Profiles and its Tenants, with fleet defaults < profile <
 * tenant merged per tenant. It knows nothing of the live fleet and makes no
 * API call. Files come through a spec_source, so that the same loader reads
 * a directory (`validate --dir`) or a git tree (reconciler/).
 *
 * Every problem becomes a diagnostic (`file:line:col: path: message`);
 * loading never stops at the first one.
 */
#ifndef FLOTILLA_SPEC_H
#define FLOTILLA_SPEC_H

#include "util/util.h"

/* Hard limits on what a manifest may be (docs/manifest.md, "Limits"). */
#define SPEC_MAX_FILE_BYTES (4u * 1024 * 1024)
#define SPEC_MAX_DEPTH 64
#define SPEC_MAX_EXPANDED_NODES 100000u

/* ------------------------------------------------------------ diagnostics */

typedef struct spec_diag {
	char *file;    /* repository-relative path */
	unsigned line; /* 1-based */
	unsigned col;  /* 1-based */
	char *path;    /* "spec.compute.maxCu", "(file)", "(document)" */
	char *msg;
} spec_diag;

typedef struct spec_diags spec_diags;

spec_diags *spec_diags_new(void);
void spec_diags_free(spec_diags *d);
void spec_diags_add(spec_diags *d, const char *file, unsigned line, unsigned col,
		    const char *path, const char *fmt, ...) PRINTF(6, 7);
size_t spec_diags_count(const spec_diags *d);
const spec_diag *spec_diags_at(const spec_diags *d, size_t i);
/* Sort by file, line, column, path, message and drop exact repeats. */
void spec_diags_sort(spec_diags *d);
/* One `file:line:col: path: message` line each. */
int spec_diags_render_text(const spec_diags *d, buf *out) WUR;
/* {"version":1,"valid":bool,"count":N,"diagnostics":[{file,line,column,path,message}]} */
int spec_diags_render_json(const spec_diags *d, buf *out) WUR;

/* ---------------------------------------------------------------- sources */

/*
 * Where manifests come from. `list` calls `emit` once for every file under
 * the root, with a '/'-separated path relative to the root. `read` fills
 * `out` (whose max the loader sets) with a file's bytes; a refusal (a
 * symlink out of the repository, a file too large) is ERR_INVALID or
 * ERR_TOOBIG with a message, and becomes a diagnostic for that file.
 */
#define SPEC_BLOB_ID_LEN 40

typedef struct spec_source {
	void *ctx;
	int (*list)(void *ctx, void (*emit)(void *arg, const char *path), void *arg);
	int (*read)(void *ctx, const char *path, buf *out);
	/* Optional (NULL for a directory): the content id of a file (a git
	 * blob id, 40 hex), for the parse cache. 0, or ERR_NOTFOUND. */
	int (*blob_id)(void *ctx, const char *path, char out[SPEC_BLOB_ID_LEN + 1]);
} spec_source;

/*
 * The parse cache (state/'s parse_cache table, through the reconciler): a
 * file's decoded records and diagnostics by blob id, in spec/'s private
 * encoding. get returns ERR_NOTFOUND on a miss; a cache error is never
 * fatal (the file is parsed instead).
 */
typedef struct spec_cache {
	void *ctx;
	int (*get)(void *ctx, const char *blob_id, buf *out);
	int (*put)(void *ctx, const char *blob_id, const void *data, size_t len);
} spec_cache;

/* What a load did, for --verbose, plan JSON and tests. */
typedef struct spec_load_stats {
	int64_t files;   /* manifest files the globs matched (flotilla.yaml included) */
	int64_t parsed;  /* files parsed with libyaml */
	int64_t cached;  /* files decoded from the parse cache */
} spec_load_stats;

/* A source over a directory on disk. Symlinks are followed only when they
 * resolve inside the directory; directories reached through a symlink are
 * not walked. `root` is copied. ERR_IO when root is not a directory. */
int spec_source_dir_new(spec_source **out, const char *root) WUR;
void spec_source_dir_free(spec_source *src);

/* ---------------------------------------------------------------- values */

/* Where a value came from, in merge order. */
typedef enum {
	SPEC_LAYER_BUILTIN = 0,
	SPEC_LAYER_DEFAULTS,
	SPEC_LAYER_PROFILE,
	SPEC_LAYER_TENANT,
} spec_layer;

typedef struct spec_origin {
	uint32_t file; /* index into the fleet's file table */
	uint32_t line;
	uint16_t col;
	uint8_t layer; /* spec_layer */
	uint8_t set;   /* 0: the value is absent at this layer */
} spec_origin;

typedef struct spec_list spec_list;
typedef struct spec_map spec_map;
typedef struct spec_branches spec_branches;

/* One value of any kind; which union member is live follows the field's
 * type in the field table. */
typedef struct spec_val {
	union {
		int64_t i;          /* int, bool, duration s, size B, CU quarters */
		const char *s;      /* string, enum */
		spec_list *list;    /* strlist, intlist */
		spec_map *map;      /* string map */
		spec_branches *br;  /* branches */
	};
	spec_origin o;
} spec_val;

struct spec_list {
	size_t n;
	spec_val *items;
};

struct spec_map {
	size_t n;
	const char **keys;
	spec_val *vals; /* .s live */
};

typedef struct spec_role {
	spec_val name;     /* .s */
	spec_val no_login; /* .i */
} spec_role;

typedef struct spec_database {
	spec_val name;  /* .s */
	spec_val owner; /* .s */
} spec_database;

typedef struct spec_branch {
	spec_origin o;      /* the list item */
	spec_val name;      /* .s */
	spec_val parent;    /* .s; unset: the default branch */
	spec_val is_default;/* .i */
	spec_val protect;   /* .i, Neon's branch "protected" */
	size_t nroles, ndatabases;
	spec_role *roles;
	spec_database *databases;
} spec_branch;

struct spec_branches {
	size_t n;
	spec_branch *items;
	size_t default_index; /* valid once the list passed validation */
};

/* The fields of a tenant spec, in docs/manifest.md order. */
typedef enum {
	SF_PROFILE,
	SF_REGION,
	SF_PG_VERSION,
	SF_HISTORY_RETENTION,
	SF_QUOTA_ACTIVE_TIME,
	SF_QUOTA_COMPUTE_TIME,
	SF_QUOTA_WRITTEN_DATA,
	SF_QUOTA_DATA_TRANSFER,
	SF_QUOTA_LOGICAL_SIZE,
	SF_COMPUTE_MIN_CU,
	SF_COMPUTE_MAX_CU,
	SF_COMPUTE_SUSPEND_TIMEOUT,
	SF_COMPUTE_PG_SETTINGS,
	SF_READ_REPLICAS,
	SF_SETTINGS_ALLOWED_IPS,
	SF_SETTINGS_PROTECTED_BRANCHES_ONLY,
	SF_SETTINGS_LOGICAL_REPLICATION,
	SF_SETTINGS_BLOCK_PUBLIC_CONNECTIONS,
	SF_SETTINGS_MW_WEEKDAYS,
	SF_SETTINGS_MW_START_TIME,
	SF_SETTINGS_MW_END_TIME,
	SF_BRANCHES,
	SF_PROTECT,
	SF_BACKUP_SCHEDULE,
	SF__COUNT
} spec_field;

typedef enum {
	SPEC_T_STRING,
	SPEC_T_INT,
	SPEC_T_BOOL,
	SPEC_T_DURATION,       /* seconds */
	SPEC_T_DURATION_NEVER, /* seconds, or DURATION_NEVER */
	SPEC_T_SIZE,           /* bytes; 0 = unlimited */
	SPEC_T_QUOTA_TIME,     /* seconds; 0 = unlimited */
	SPEC_T_CU,             /* quarters of a compute unit */
	SPEC_T_TIME_OF_DAY,    /* "HH:MM", kept as the string */
	SPEC_T_STRLIST,
	SPEC_T_INTLIST,
	SPEC_T_MAP,
	SPEC_T_BRANCHES,
	/* a backup schedule: a list whose items' .s are each one
	 * BackupScheduleItem as compact JSON, members in the order frequency,
	 * hour, day, month, retention_seconds (spec/backups.c) */
	SPEC_T_SCHEDULE,
} spec_type;

typedef struct spec_field_info {
	const char *path; /* "compute.minCu", relative to spec */
	spec_type type;
	/* The Neon API field it maps to, or NULL: a dotted path into the
	 * object named first ("project.settings.quota.active_time_seconds"),
	 * which diff/'s field table reads Neon's JSON and writes PATCH bodies
	 * by; or prose, for a field that maps to more than one member. */
	const char *api;
} spec_field_info;

const spec_field_info *spec_field_get(spec_field f);

/* A backups.schedule for people (backups.c): "daily at 03:00 keep 7d;
 * weekly day 1 at 04:00", or "none"; one item (its API JSON as
 * SPEC_T_SCHEDULE keeps it) the same way. Cut to fit `size`. */
void spec_schedule_format(const spec_list *l, char *out, size_t size);
void spec_schedule_item_format(const char *item_json, char *out, size_t size);

/* A tenant spec at one layer, or merged. */
typedef struct spec_values {
	spec_val v[SF__COUNT];
} spec_values;

/* ------------------------------------------------------------------ fleet */

typedef struct spec_fleet spec_fleet;

typedef struct spec_tenant {
	const char *name;
	spec_origin o;       /* the document's metadata.name */
	spec_map *labels;    /* may be NULL */
	spec_values spec;    /* the tenant layer as written */
} spec_tenant;

/*
 * Load and validate the whole fleet from `src`. All problems go to
 * `diags` (sorted); the returned fleet holds what could be read, so that
 * `explain` can still work on a fleet with unrelated problems. Returns 0
 * with *out set, or ERR_IO when the source itself could not be listed.
 */
int spec_fleet_load(spec_fleet **out, const spec_source *src, spec_diags *diags) WUR;
/* The same, reading unchanged files (same blob id) from `cache` instead of
 * parsing them, and storing newly parsed ones. cache or src->blob_id NULL:
 * every file is parsed. The fleet and diagnostics are exactly those of
 * spec_fleet_load. `stats` may be NULL. */
int spec_fleet_load_cached(spec_fleet **out, const spec_source *src, const spec_cache *cache,
			   spec_diags *diags, spec_load_stats *stats) WUR;
void spec_fleet_free(spec_fleet *f);

/* Fleet settings, with their built-in defaults applied. */
const char *spec_fleet_name(const spec_fleet *f);
const char *spec_fleet_org_id(const spec_fleet *f); /* NULL when unset */
const char *spec_fleet_name_prefix(const spec_fleet *f);
bool spec_fleet_prune(const spec_fleet *f);
/* pruneBranches: delete unlisted branches flotilla did not make too */
bool spec_fleet_prune_branches(const spec_fleet *f);
int64_t spec_fleet_max_deletes(const spec_fleet *f);
const char *spec_fleet_drift(const spec_fleet *f); /* "heal" | "report" */
int64_t spec_fleet_refresh_interval(const spec_fleet *f);
/*
 * Neon's plan limits that a fleet can run into (docs/neon-api.md, "Plans
 * and their limits"): the Fleet's spec.neonPlan gives the published ones,
 * spec.limits what an account was granted beyond them. Unlike the API's
 * own rules (validation), a limit is a fact about an account that can
 * change; `validate` reports a manifest that breaks one, and `plan` blocks
 * that tenant, so the rest of the fleet still converges.
 */
typedef struct spec_limits {
	const char *plan;           /* "free", "launch", "scale", "business", or NULL (spec.limits only) */
	int64_t projects;           /* per account; 0: not known */
	bool projects_raised;       /* projects comes from spec.limits, not the plan */
	int64_t branches;           /* per project; 0: not known */
	int64_t history_retention;  /* seconds; -1: not known */
	int32_t autoscaling_cu;     /* quarters of a CU; 0: not checked here (an explicit maxAutoscalingCu is a validation rule) */
	int32_t fixed_cu;           /* quarters; 0: not known */
	int64_t protected_branches; /* per project; -1: not known */
} spec_limits;

/* The fleet's limits; false (and *out zeroed) when it names neither a plan
 * nor spec.limits. */
bool spec_fleet_limits(const spec_fleet *f, spec_limits *out);
/*
 * spec.prices (prices.c): what usage costs, in millionths of the currency
 * per CU-hour, GB-month of storage and GB of public transfer. Without
 * spec.prices: Neon's published Launch prices, USD, as of 2025-08-14.
 */
typedef struct spec_prices {
	int64_t cu_hour, gb_month, transfer_gb;
	const char *currency; /* ISO 4217, "USD" unless the table says */
	const char *as_of;    /* YYYY-MM-DD, or NULL: the table gives no date */
	bool from_manifest;   /* spec.prices set */
} spec_prices;
void spec_fleet_prices(const spec_fleet *f, spec_prices *out);
/* Neon's published Launch prices (what spec_fleet_prices gives a Fleet
 * without spec.prices), for a reader without a Fleet; static strings. */
void spec_prices_default(spec_prices *out);
/* The names of the plans spec.neonPlan knows, NULL-terminated. */
extern const char *const SPEC_NEON_PLANS[];

/*
 * Each limit that a tenant's merged spec `sv` breaks: fn(arg, origin of the
 * value, its manifest path, message). The message names the value, the
 * limit and who sets it, and the fix, but not the tenant: a value from a
 * profile or the defaults is one problem for every tenant that inherits
 * it (validate reports it once, where it is written). Returns how many.
 */
typedef void (*spec_limit_fn)(void *arg, const spec_origin *o, const char *path, const char *msg);
size_t spec_limits_check(const spec_fleet *f, const spec_tenant *t, const spec_values *sv, spec_limit_fn fn,
			 void *arg);
/* Every tenant's limits, and the fleet's tenant count against the
 * projects limit, as diagnostics (`flotilla validate`). Returns how many. */
size_t spec_fleet_check_limits(const spec_fleet *f, spec_diags *diags);

/* The repository-relative path of file index i of spec_origin.file. */
const char *spec_fleet_file(const spec_fleet *f, uint32_t i);

size_t spec_fleet_tenant_count(const spec_fleet *f);
/* Tenants in name order. */
const spec_tenant *spec_fleet_tenant_at(const spec_fleet *f, size_t i);
const spec_tenant *spec_fleet_tenant_find(const spec_fleet *f, const char *name);

/* Profiles in definition order, and the file that defines one (NULL when
 * there is no such profile). */
size_t spec_fleet_profile_count(const spec_fleet *f);
const char *spec_fleet_profile_name(const spec_fleet *f, size_t i);
const char *spec_fleet_profile_path(const spec_fleet *f, const char *name);
/* The profile a tenant uses (its own, else the fleet default; may be NULL). */
const char *spec_tenant_profile(const spec_fleet *f, const spec_tenant *t);

/*
 * The tenant's effective spec: built-in defaults < fleet defaults <
 * profile < tenant; maps merge key by key, lists replace. Every value in
 * `out` is set and carries its origin. Pointers borrow from the fleet.
 */
void spec_tenant_resolve(const spec_fleet *f, const spec_tenant *t, spec_values *out);

/* Print the merged spec of `t`, one `key  value  origin` line per value. */
int spec_explain_render(const spec_fleet *f, const spec_tenant *t, buf *out) WUR;
/* The same as one JSON object: tenant, from (its manifest), fleet,
 * project_name, and values [{key, value (as the text shows it), from}]. */
int spec_explain_render_json(const spec_fleet *f, const spec_tenant *t, buf *out) WUR;

/* True for a valid tenant (and profile, fleet) name: ^[a-z0-9][a-z0-9-]{0,62}$. */
bool spec_tenant_name_valid(const char *name);

/* ------------------------------------------------------------------ globs */

/* Match a '/'-separated path against a glob: `*` `?` `[…]` within a
 * segment, `**` across any number of segments. */
bool spec_glob_match(const char *glob, const char *path);
/* Whether `path` (repository-relative) names one of the fleet's manifest
 * files: flotilla.yaml, or a match of spec.manifests with no dot-named
 * segment (no source lists those). Whether it exists is not asked. */
bool spec_fleet_is_manifest_path(const spec_fleet *f, const char *path);
/* Where every manifest file of the fleet lies, for a walk restricted to
 * them: fn(arg, root) with "flotilla.yaml", then each glob's leading
 * segments without a wildcard ("tenants" for "tenants/<two asterisks>/
 * <asterisk>.yaml"; "" for a glob that starts with one: the whole tree). */
void spec_fleet_manifest_roots(const spec_fleet *f, void (*fn)(void *arg, const char *root), void *arg);

#endif
