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
size_t yaml_load(arena *a, const char *file, const char *data, size_t len,
		 ydoc **docs, spec_diags *diags);

/* "a string", "a number", "a map", "a list", "null" — for type errors. */
const char *ynode_describe(const ynode *n);
/* A plain scalar meaning null: "", "~", "null". */
bool ynode_is_null(const ynode *n);

/* ------------------------------------------------------------ the fleet */

typedef struct spec_profile {
	const char *name;
	spec_origin o;
	spec_values spec;
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
	int64_t max_deletes;
	const char *drift;
	int64_t refresh_interval;
	int32_t max_autoscaling_cu; /* quarters */
	spec_origin max_autoscaling_cu_o;
	spec_values defaults;
	spec_values builtin; /* built once; spec_tenant_resolve starts from a copy */

	spec_profile **profiles;
	size_t nprofiles, capprofiles;
	spec_tenant **tenants;
	size_t ntenants, captenants;
	struct strmap *profile_index;
	struct strmap *tenant_index;
};

/* Intern a file path; returns its index. */
uint32_t fleet_file_add(spec_fleet *f, const char *path);

/* Decode the documents of one file into the fleet (decode.c). */
void decode_file(spec_fleet *f, uint32_t file, const ydoc *docs, size_t ndocs,
		 spec_diags *diags);

/* Built-in defaults of a tenant spec (fields.c). */
void builtin_defaults(arena *a, spec_values *out);
/* Format one scalar value for explain and messages. */
void spec_val_format(spec_field f, const spec_val *v, char *out, size_t size);

/* "profiles/pro.yaml:7", "flotilla.yaml:12 (defaults)", "built-in default". */
void origin_format(const spec_fleet *f, const spec_origin *o, char *out, size_t size);

/* Checks that combine merged values (validate.c). */
void validate_tenant(const spec_fleet *f, const spec_tenant *t, spec_diags *diags);
/* Checks of a branches list on its own (validate.c), run where it is written. */
void validate_branches(spec_fleet *f, spec_branches *br, const char *path,
		       spec_origin at, spec_diags *diags);

/* ------------------------------------------------------- small string map */

typedef struct strmap strmap;
strmap *strmap_new(void);
void strmap_free(strmap *m);
/* Returns the previous value for key, or NULL; key is borrowed. */
void *strmap_put(strmap *m, const char *key, void *val);
void *strmap_get(const strmap *m, const char *key);

#endif
