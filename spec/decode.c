/*
 * decode.c: YAML node trees -> Fleet, Profile and Tenant records.
 *
 * Every key is checked against the language (unknown keys are errors with
 * a "did you mean" hint), every scalar against its type, unit and range,
 * and every problem becomes a diagnostic at the node's line and column;
 * decoding goes on after a problem so that one run shows them all. This
 * file holds the shared decoding helpers and the document level (header,
 * metadata, the Fleet spec) and registering a file's profiles and tenants
 * into the fleet, a separate step so that the parse cache can replay a
 * file's decoded records (cache.c) without its YAML; values.c
 * decodes the tenant spec itself. Rules that need more than one value
 * wait for the merged tenant in validate.c. Strings are copied into the
 * fleet's arena: the node tree is freed after each file.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include "spec/internal.h"


void spec__diag_at(dec *d, const ynode *n, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	spec__diags_vadd(d->diags, d->fname, n->line, n->col, path, fmt, ap);
	va_end(ap);
}

spec_origin spec__origin_of(const dec *d, const ynode *n)
{
	spec_origin o = {.file = d->file, .line = n->line, .col = (uint16_t)(n->col > 65535 ? 65535 : n->col),
			 .layer = (uint8_t)d->layer, .set = 1};
	return o;
}

const char *spec__copy_str(dec *d, const ynode *n)
{
	return arena_strndup(d->f->a, n->str, n->len);
}

void spec__join(char *out, const char *base, const char *key)
{
	/* memcpy, not snprintf: this runs for every key of every manifest */
	size_t bl = strlen(base), kl = strlen(key);
	if (bl + 1 + kl >= PATH_MAX_LEN) {
		snprintf(out, PATH_MAX_LEN, "%s.%s", base, key); /* cut, as documented */
		return;
	}
	if (bl) {
		memcpy(out, base, bl);
		out[bl++] = '.';
	}
	memcpy(out + bl, key, kl + 1);
}

/* Closest known key within edit distance 2, or NULL. */
const char *spec__suggest(const char *key, const char *const *known, size_t nknown)
{
	return str_suggest(key, known, nknown);
}

/*
 * Look up key `i` of map `m` among `known`. Returns its index, or -1 after a
 * diagnostic (not a string, a duplicate, or unknown with a hint).
 */
int spec__key_index(dec *d, const ynode *m, size_t i, const char *path,
		     const char *const *known, size_t nknown)
{
	const ynode *k = m->kids[2 * i];
	char where[PATH_MAX_LEN];
	if (k->kind != YN_SCALAR) {
		spec__diag_at(d, k, path[0] ? path : "(document)", "a key must be a string, not %s", spec__ynode_describe(k));
		return -1;
	}
	for (size_t j = 0; j < i; j++) {
		const ynode *prev = m->kids[2 * j];
		if (prev->kind == YN_SCALAR && strcmp(prev->str, k->str) == 0) {
			spec__join(where, path, k->str);
			spec__diag_at(d, k, where, "duplicate key '%s' (first at line %" PRIu32 ")", k->str, prev->line);
			return -1;
		}
	}
	for (size_t j = 0; j < nknown; j++)
		if (strcmp(known[j], k->str) == 0)
			return (int)j;
	const char *hint = spec__suggest(k->str, known, nknown);
	spec__join(where, path, k->str);
	if (hint)
		spec__diag_at(d, k, where, "unknown key '%s'; did you mean '%s'?", k->str, hint);
	else
		spec__diag_at(d, k, where, "unknown key '%s'", k->str);
	return -1;
}

bool spec__want_map(dec *d, const ynode *n, const char *path)
{
	if (n->kind == YN_MAP)
		return true;
	spec__diag_at(d, n, path, "expected a map, got %s", spec__ynode_describe(n));
	return false;
}

bool spec__want_seq(dec *d, const ynode *n, const char *path)
{
	if (n->kind == YN_SEQ)
		return true;
	spec__diag_at(d, n, path, "expected a list, got %s", spec__ynode_describe(n));
	return false;
}

bool spec__want_string(dec *d, const ynode *n, const char *path)
{
	if (n->kind == YN_SCALAR && !spec__ynode_is_null(n))
		return true;
	spec__diag_at(d, n, path, "expected a string, got %s", spec__ynode_describe(n));
	return false;
}

bool spec__get_bool(dec *d, const ynode *n, const char *path, int64_t *out)
{
	if (n->kind == YN_SCALAR && !n->quoted) {
		if (strcmp(n->str, "true") == 0) {
			*out = 1;
			return true;
		}
		if (strcmp(n->str, "false") == 0) {
			*out = 0;
			return true;
		}
	}
	spec__diag_at(d, n, path, "expected true or false, got %s", spec__ynode_describe(n));
	return false;
}

/* An optionally signed run of digits: an integer, whatever its size. */
static bool looks_integer(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

bool spec__get_int(dec *d, const ynode *n, const char *path, int64_t lo, int64_t hi, int64_t *out)
{
	if (n->kind != YN_SCALAR || n->quoted || str_to_i64(n->str, out) != 0) {
		if (n->kind == YN_SCALAR && !n->quoted && looks_integer(n->str))
			spec__diag_at(d, n, path, "%s is out of range: must be %" PRId64 "..%" PRId64, n->str, lo, hi);
		else
			spec__diag_at(d, n, path, "expected a whole number, got %s", spec__ynode_describe(n));
		return false;
	}
	if (*out < lo || *out > hi) {
		spec__diag_at(d, n, path, "%" PRId64 " is out of range: must be %" PRId64 "..%" PRId64, *out, lo, hi);
		return false;
	}
	return true;
}

/* ^[a-z0-9][a-z0-9-]{0,62}$: tenant, profile and fleet names. */
bool spec__valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return true;
}

bool spec_tenant_name_valid(const char *name)
{
	return spec__valid_name(name);
}

/* ^[a-z0-9-]{1,60}$: Neon ids (docs/neon-api.md, "Ids"), used for regions, org ids. */
bool spec__valid_id(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 60)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return true;
}

bool spec__has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* --------------------------------------------------------------- documents */

static const char *const DOC_KEYS[] = {"apiVersion", "kind", "metadata", "spec"};
static const char *const KINDS[] = {"Fleet", "Profile", "Tenant"};
static const char *const FLEET_KEYS[] = {"orgId", "namePrefix", "manifests", "allowedRegions", "prune",
					 "maxDeletesPerRun", "drift", "refreshInterval", "maxAutoscalingCu",
					 "defaults", "neonPlan", "limits", "pruneBranches", "prices"};

enum { KIND_FLEET, KIND_PROFILE, KIND_TENANT };

/* spec.manifests (globs, relative and without "..") or spec.allowedRegions
 * (region ids): a non-empty list without repeats. */
static void decode_fleet_list(dec *d, const ynode *v, const char *where, bool globs)
{
	spec_fleet *f = d->f;
	if (!spec__want_seq(d, v, where))
		return;
	if (v->n == 0) {
		spec__diag_at(d, v, where, globs ? "at least one glob is needed" : "at least one region is needed");
		return;
	}
	spec_list *l = arena_alloc(f->a, sizeof(*l));
	l->items = arena_alloc(f->a, v->n * sizeof(spec_val));
	for (size_t j = 0; j < v->n; j++) {
		const ynode *it = v->kids[j];
		char ip[PATH_MAX_LEN];
		snprintf(ip, sizeof(ip), "%s[%zu]", where, j);
		if (!spec__want_string(d, it, ip))
			continue;
		if (globs && (it->str[0] == '/' || strstr(it->str, "..") != NULL)) {
			spec__diag_at(d, it, ip, "glob '%s' must be relative to the repository root, without '..'", it->str);
			continue;
		}
		if (!globs && !spec__valid_id(it->str)) {
			spec__diag_at(d, it, ip, "'%s' is not a region id, like aws-us-east-2", it->str);
			continue;
		}
		bool dup = false;
		for (size_t m = 0; m < l->n; m++)
			if (strcmp(l->items[m].s, it->str) == 0)
				dup = true;
		if (dup) {
			spec__diag_at(d, it, ip, "'%s' is listed twice", it->str);
			continue;
		}
		l->items[l->n].s = spec__copy_str(d, it);
		l->items[l->n].o = spec__origin_of(d, it);
		l->n++;
	}
	if (globs) {
		f->manifests = l;
	} else {
		f->allowed_regions = l;
		f->allowed_regions_o = spec__origin_of(d, v);
	}
}

/* spec.namePrefix: project name = prefix + tenant, ≤ 256 bytes (ProjectCreateRequest) */
static void decode_name_prefix(dec *d, const ynode *v, const char *where)
{
	if (v->kind != YN_SCALAR) {
		spec__diag_at(d, v, where, "expected a string, got %s", spec__ynode_describe(v));
		return;
	}
	if (v->len > 256 - 63 || spec__has_control(v->str)) {
		spec__diag_at(d, v, where, "name prefix must be at most 193 bytes without control characters, so that prefix + tenant name fits Neon's 256-byte project name");
		return;
	}
	d->f->name_prefix = spec__copy_str(d, v);
}

/* spec.refreshInterval: a duration of 1s..7d. */
static void decode_refresh_interval(dec *d, const ynode *v, const char *where)
{
	int64_t x;
	if (v->kind != YN_SCALAR || unit_duration_parse(v->str, false, &x) != 0) {
		spec__diag_at(d, v, where, "%s", v->kind == YN_SCALAR ? err_msg() : "expected a duration like 10m");
		return;
	}
	if (x < 1 || x > 7 * 86400) {
		spec__diag_at(d, v, where, "refresh interval must be 1s..7d");
		return;
	}
	d->f->refresh_interval = x;
}

/* spec.maxAutoscalingCu: compute units up to 16. */
static void decode_max_autoscaling_cu(dec *d, const ynode *v, const char *where)
{
	int32_t q;
	if (v->kind != YN_SCALAR || v->quoted || unit_cu_parse(v->str, &q) != 0) {
		spec__diag_at(d, v, where, "%s", v->kind == YN_SCALAR && !v->quoted ? err_msg()
			: "expected compute units like 2 or 16");
		return;
	}
	/* autoscaling goes up to 16 CU (docs/neon-api.md, Endpoints) */
	if (q > 64) {
		spec__diag_at(d, v, where, "autoscaling ceiling must be at most 16 CU");
		return;
	}
	d->f->max_autoscaling_cu = q;
	d->f->max_autoscaling_cu_o = spec__origin_of(d, v);
}

/* The spec of the Fleet document: each key of FLEET_KEYS, by its index. */
static void decode_fleet_spec(dec *d, const ynode *n)
{
	spec_fleet *f = d->f;
	if (!spec__want_map(d, n, "spec"))
		return;
	for (size_t i = 0; i < n->n; i++) {
		int k = spec__key_index(d, n, i, "spec", FLEET_KEYS, ARRAY_LEN(FLEET_KEYS));
		const ynode *v = n->kids[2 * i + 1];
		char where[PATH_MAX_LEN];
		int64_t x;
		if (k < 0)
			continue;
		spec__join(where, "spec", FLEET_KEYS[k]);
		switch (k) {
		case 0: /* orgId */
			if (!spec__want_string(d, v, where))
				break;
			if (!spec__valid_id(v->str)) {
				spec__diag_at(d, v, where, "'%s' is not a Neon id: lowercase letters, digits and '-', at most 60", v->str);
				break;
			}
			f->org_id = spec__copy_str(d, v);
			break;
		case 1: /* namePrefix */
			decode_name_prefix(d, v, where);
			break;
		case 2: /* manifests */
		case 3: /* allowedRegions */
			decode_fleet_list(d, v, where, k == 2);
			break;
		case 4:
			if (spec__get_bool(d, v, where, &x))
				f->prune = x;
			break;
		case 12:
			if (spec__get_bool(d, v, where, &x))
				f->prune_branches = x;
			break;
		case 5:
			if (spec__get_int(d, v, where, 0, 1000000, &x))
				f->max_deletes = x;
			break;
		case 6:
			if (!spec__want_string(d, v, where))
				break;
			if (strcmp(v->str, "heal") != 0 && strcmp(v->str, "report") != 0) {
				static const char *const DRIFT[] = {"heal", "report"};
				const char *hint = spec__suggest(v->str, DRIFT, ARRAY_LEN(DRIFT));
				spec__diag_at(d, v, where, "drift must be heal or report, not '%s'%s%s%s", v->str,
					      hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
				break;
			}
			f->drift = spec__copy_str(d, v);
			break;
		case 7:
			decode_refresh_interval(d, v, where);
			break;
		case 8:
			decode_max_autoscaling_cu(d, v, where);
			break;
		case 9: {
			spec_layer saved = d->layer;
			d->layer = SPEC_LAYER_DEFAULTS;
			spec__decode_values(d, v, "", where, &f->defaults, true);
			d->layer = saved;
			break;
		}
		case 10:
			spec__decode_neon_plan(d, v, where);
			break;
		case 11:
			spec__decode_limits(d, v, where);
			break;
		case 13:
			spec__decode_prices(d, v, where);
			break;
		}
	}
}

/* metadata: name (all kinds), labels (tenants). Returns the name node. */
static const ynode *decode_metadata(dec *d, const ynode *n, int kind, spec_map **labels)
{
	static const char *const TENANT_META[] = {"name", "labels"};
	static const char *const OTHER_META[] = {"name"};
	if (!spec__want_map(d, n, "metadata"))
		return NULL;
	const ynode *name = NULL;
	for (size_t i = 0; i < n->n; i++) {
		int k = kind == KIND_TENANT ? spec__key_index(d, n, i, "metadata", TENANT_META, 2)
					    : spec__key_index(d, n, i, "metadata", OTHER_META, 1);
		const ynode *v = n->kids[2 * i + 1];
		if (k == 0) {
			if (!spec__want_string(d, v, "metadata.name"))
				continue;
			if (!spec__valid_name(v->str)) {
				spec__diag_at(d, v, "metadata.name",
					"name '%s' is invalid: 1..63 lowercase letters, digits and '-', starting with a letter or digit",
					v->str);
				continue;
			}
			name = v;
		} else if (k == 1) {
			*labels = spec__decode_map(d, v, "metadata.labels", true);
		}
	}
	return name;
}

/*
 * Index a profile or tenant record by name; `o_off` is where the record
 * keeps its origin, to name the first definition. False (with a
 * diagnostic naming both places) when the name is taken; the first stays.
 */
static bool register_name(spec_fleet *f, const char *fname, spec_diags *diags, strmap *index,
			  const char *what, const char *key, void *rec, size_t o_off, const file_rec *r)
{
	const char *found = strmap_get(index, key);
	if (found) {
		const spec_origin *prev = (const spec_origin *)(const void *)(found + o_off);
		spec_diags_add(diags, fname, r->line, r->col, "metadata.name",
			       "%s '%s' is defined twice: first at %s:%" PRIu32 ":%u", what, key,
			       spec_fleet_file(f, prev->file), prev->line, (unsigned)prev->col);
		return false;
	}
	strmap_put(index, key, rec);
	return true;
}

/* Keep a decoded profile or tenant for register_file. */
static void add_rec(dec *d, bool tenant, void *p, const ynode *name)
{
	file_recs *r = d->recs;
	if (r->n == r->cap)
		r->items = xgrow(r->items, &r->cap, r->n + 1, sizeof(*r->items));
	r->items[r->n++] = (file_rec){.tenant = tenant, .p = p, .line = name->line, .col = name->col};
}

static void decode_doc(dec *d, const ydoc *doc)
{
	const ynode *root = doc->root;
	if (root->kind != YN_MAP) {
		spec__diag_at(d, root, "(document)", "a manifest must be a map with apiVersion, kind, metadata and spec, not %s",
			spec__ynode_describe(root));
		return;
	}
	const ynode *api = NULL, *kind = NULL, *meta = NULL, *spec = NULL;
	for (size_t i = 0; i < root->n; i++) {
		int k = spec__key_index(d, root, i, "", DOC_KEYS, ARRAY_LEN(DOC_KEYS));
		const ynode *v = root->kids[2 * i + 1];
		if (k == 0)
			api = v;
		else if (k == 1)
			kind = v;
		else if (k == 2)
			meta = v;
		else if (k == 3)
			spec = v;
	}
	if (!api) {
		spec__diag_at(d, root, "apiVersion", "missing 'apiVersion': expected 'flotilla/v1'");
		return;
	}
	if (api->kind != YN_SCALAR || strcmp(api->str, "flotilla/v1") != 0) {
		spec__diag_at(d, api, "apiVersion", "apiVersion '%s' is not supported: expected 'flotilla/v1'",
			api->kind == YN_SCALAR ? api->str : spec__ynode_describe(api));
		return;
	}
	if (!kind) {
		spec__diag_at(d, root, "kind", "missing 'kind': expected Fleet, Profile or Tenant");
		return;
	}
	int k = -1;
	for (size_t i = 0; kind->kind == YN_SCALAR && i < ARRAY_LEN(KINDS); i++)
		if (strcmp(kind->str, KINDS[i]) == 0)
			k = (int)i;
	if (k < 0) {
		const char *hint = kind->kind == YN_SCALAR ? spec__suggest(kind->str, KINDS, ARRAY_LEN(KINDS)) : NULL;
		spec__diag_at(d, kind, "kind", "kind '%s' is unknown: expected Fleet, Profile or Tenant%s%s%s",
			kind->kind == YN_SCALAR ? kind->str : spec__ynode_describe(kind),
			hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
		return;
	}
	if (!meta) {
		spec__diag_at(d, root, "metadata", "missing 'metadata' with a 'name'");
		return;
	}
	spec_map *labels = NULL;
	unsigned before = (unsigned)spec_diags_count(d->diags);
	const ynode *name = decode_metadata(d, meta, k, &labels);
	spec_fleet *f = d->f;
	if (!name) {
		if (spec_diags_count(d->diags) == before)
			spec__diag_at(d, meta, "metadata.name", "missing 'name'");
		/* Still check the spec, so that one run shows every problem; a
		 * Fleet's settings (globs, regions, defaults) are kept, a nameless
		 * profile or tenant is not. */
		if (!spec)
			return;
		if (k == KIND_FLEET && strcmp(d->fname, "flotilla.yaml") == 0 && !f->have_fleet) {
			f->have_fleet = true;
			decode_fleet_spec(d, spec);
		} else if (k != KIND_FLEET) {
			spec_values scratch;
			memset(&scratch, 0, sizeof(scratch));
			d->layer = k == KIND_PROFILE ? SPEC_LAYER_PROFILE : SPEC_LAYER_TENANT;
			spec__decode_values(d, spec, "", "spec", &scratch, k == KIND_TENANT);
		}
		return;
	}
	if (k == KIND_FLEET) {
		if (strcmp(d->fname, "flotilla.yaml") != 0) {
			spec__diag_at(d, kind, "kind", "the Fleet document belongs in flotilla.yaml at the repository root");
			return;
		}
		if (f->have_fleet) {
			spec__diag_at(d, kind, "kind", "a second Fleet document: flotilla.yaml holds exactly one");
			return;
		}
		f->have_fleet = true;
		f->name = spec__copy_str(d, name);
		if (spec)
			decode_fleet_spec(d, spec);
		return;
	}
	if (k == KIND_PROFILE) {
		spec_profile *p = arena_alloc(f->a, sizeof(*p));
		p->name = spec__copy_str(d, name);
		p->o = spec__origin_of(d, name);
		d->layer = SPEC_LAYER_PROFILE;
		if (spec)
			spec__decode_values(d, spec, "", "spec", &p->spec, false);
		add_rec(d, false, p, name);
		return;
	}
	spec_tenant *t = arena_alloc(f->a, sizeof(*t));
	t->name = spec__copy_str(d, name);
	t->o = spec__origin_of(d, name);
	t->labels = labels;
	d->layer = SPEC_LAYER_TENANT;
	if (spec)
		spec__decode_values(d, spec, "", "spec", &t->spec, true);
	add_rec(d, true, t, name);
}

void spec__decode_file(spec_fleet *f, uint32_t file, const ydoc *docs, size_t ndocs, file_recs *recs)
{
	dec d = {.f = f, .file = file, .fname = spec_fleet_file(f, file), .diags = recs->diags, .recs = recs};
	for (size_t i = 0; i < ndocs; i++) {
		d.layer = SPEC_LAYER_TENANT;
		decode_doc(&d, &docs[i]);
	}
}

void spec__register_file(spec_fleet *f, uint32_t file, const file_recs *recs, spec_diags *diags)
{
	const char *fname = spec_fleet_file(f, file);
	spec__diags_move(diags, recs->diags);
	for (size_t i = 0; i < recs->n; i++) {
		const file_rec *r = &recs->items[i];
		if (r->tenant) {
			spec_tenant *t = r->p;
			if (!register_name(f, fname, diags, f->tenant_index, "tenant", t->name, t,
					   offsetof(spec_tenant, o), r))
				continue;
			if (f->ntenants == f->captenants)
				f->tenants = xgrow(f->tenants, &f->captenants, f->ntenants + 1, sizeof(*f->tenants));
			f->tenants[f->ntenants++] = t;
		} else {
			spec_profile *p = r->p;
			if (!register_name(f, fname, diags, f->profile_index, "profile", p->name, p,
					   offsetof(spec_profile, o), r))
				continue;
			if (f->nprofiles == f->capprofiles)
				f->profiles = xgrow(f->profiles, &f->capprofiles, f->nprofiles + 1, sizeof(*f->profiles));
			f->profiles[f->nprofiles++] = p;
		}
	}
}

void spec__file_recs_reset(file_recs *r)
{
	r->n = 0;
	spec__diags_clear(r->diags);
}
