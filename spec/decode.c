/*
 * decode.c: YAML node trees -> Fleet, Profile and Tenant records.
 *
 * Every key is checked against the language (unknown keys are errors with
 * a "did you mean" hint), every scalar against its type, unit and range,
 * and every problem becomes a diagnostic at the node's line and column;
 * decoding goes on after a problem so that one run shows them all. Rules
 * that need more than one value (maxCu vs minCu, region vs
 * allowedRegions) wait for the merged tenant in validate.c. Strings are
 * copied into the fleet's arena: the node tree is freed after each file.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <string.h>

#include "spec/internal.h"

typedef struct dec {
	spec_fleet *f;
	uint32_t file;
	const char *fname;
	spec_layer layer;
	spec_diags *diags;
} dec;

#define PATH_MAX_LEN 256

static void diag_at(dec *d, const ynode *n, const char *path, const char *fmt, ...) PRINTF(4, 5);
static void diag_at(dec *d, const ynode *n, const char *path, const char *fmt, ...)
{
	buf msg = BUF_INIT(0);
	va_list ap;
	va_start(ap, fmt);
	if (buf_vprintf(&msg, fmt, ap) != 0)
		abort();
	va_end(ap);
	spec_diags_add(d->diags, d->fname, n->line, n->col, path, "%s", msg.data);
	buf_release(&msg);
}

static spec_origin origin_of(const dec *d, const ynode *n)
{
	spec_origin o = {.file = d->file, .line = n->line, .col = (uint16_t)(n->col > 65535 ? 65535 : n->col),
			 .layer = (uint8_t)d->layer, .set = 1};
	return o;
}

static const char *copy_str(dec *d, const ynode *n)
{
	return arena_strndup(d->f->a, n->str, n->len);
}

static void join(char *out, const char *base, const char *key)
{
	if (base[0])
		snprintf(out, PATH_MAX_LEN, "%s.%s", base, key);
	else
		snprintf(out, PATH_MAX_LEN, "%s", key);
}

/* Closest known key within edit distance 2, or NULL. */
static const char *suggest(const char *key, const char *const *known, size_t nknown)
{
	const char *best = NULL;
	size_t best_d = 3;
	for (size_t i = 0; i < nknown; i++) {
		size_t dist = str_edit_distance(key, known[i], 2);
		if (dist < best_d) {
			best_d = dist;
			best = known[i];
		}
	}
	/* a case-only difference (minCU) is always worth a hint */
	for (size_t i = 0; !best && i < nknown; i++)
		if (strcasecmp(key, known[i]) == 0)
			best = known[i];
	return best;
}

/*
 * Look up key `i` of map `m` among `known`. Returns its index, or -1 after a
 * diagnostic (not a string, a duplicate, or unknown with a hint).
 */
static int key_index(dec *d, const ynode *m, size_t i, const char *path,
		     const char *const *known, size_t nknown)
{
	const ynode *k = m->kids[2 * i];
	char where[PATH_MAX_LEN];
	if (k->kind != YN_SCALAR) {
		diag_at(d, k, path[0] ? path : "(document)", "a key must be a string, not %s", ynode_describe(k));
		return -1;
	}
	join(where, path, k->str);
	for (size_t j = 0; j < i; j++) {
		const ynode *prev = m->kids[2 * j];
		if (prev->kind == YN_SCALAR && strcmp(prev->str, k->str) == 0) {
			diag_at(d, k, where, "duplicate key '%s' (first at line %" PRIu32 ")", k->str, prev->line);
			return -1;
		}
	}
	for (size_t j = 0; j < nknown; j++)
		if (strcmp(known[j], k->str) == 0)
			return (int)j;
	const char *hint = suggest(k->str, known, nknown);
	if (hint)
		diag_at(d, k, where, "unknown key '%s'; did you mean '%s'?", k->str, hint);
	else
		diag_at(d, k, where, "unknown key '%s'", k->str);
	return -1;
}

static bool want_map(dec *d, const ynode *n, const char *path)
{
	if (n->kind == YN_MAP)
		return true;
	diag_at(d, n, path, "expected a map, got %s", ynode_describe(n));
	return false;
}

static bool want_seq(dec *d, const ynode *n, const char *path)
{
	if (n->kind == YN_SEQ)
		return true;
	diag_at(d, n, path, "expected a list, got %s", ynode_describe(n));
	return false;
}

static bool want_string(dec *d, const ynode *n, const char *path)
{
	if (n->kind == YN_SCALAR && !ynode_is_null(n))
		return true;
	diag_at(d, n, path, "expected a string, got %s", ynode_describe(n));
	return false;
}

static bool get_bool(dec *d, const ynode *n, const char *path, int64_t *out)
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
	diag_at(d, n, path, "expected true or false, got %s", ynode_describe(n));
	return false;
}

static bool get_int(dec *d, const ynode *n, const char *path, int64_t lo, int64_t hi, int64_t *out)
{
	if (n->kind != YN_SCALAR || n->quoted || str_to_i64(n->str, out) != 0) {
		diag_at(d, n, path, "expected a whole number, got %s", ynode_describe(n));
		return false;
	}
	if (*out < lo || *out > hi) {
		diag_at(d, n, path, "%" PRId64 " is out of range: must be %" PRId64 "..%" PRId64, *out, lo, hi);
		return false;
	}
	return true;
}

/* ^[a-z0-9][a-z0-9-]{0,62}$: tenant, profile and fleet names. */
static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return true;
}

/* ^[a-z0-9-]{1,60}$: Neon ids (REFERENCE.md, "IDs"), used for regions, org ids. */
static bool valid_id(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 60)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return true;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static bool valid_ip_entry(const char *s)
{
	char tmp[128];
	unsigned char addr[16];
	if (str_copy(tmp, s, sizeof(tmp)) >= sizeof(tmp))
		return false;
	char *dash = strchr(tmp, '-');
	if (dash) { /* a range a-b */
		*dash = 0;
		int fam = strchr(tmp, ':') ? AF_INET6 : AF_INET;
		return inet_pton(fam, tmp, addr) == 1 && inet_pton(fam, dash + 1, addr) == 1;
	}
	char *slash = strchr(tmp, '/');
	int fam = strchr(tmp, ':') ? AF_INET6 : AF_INET;
	if (slash) {
		*slash = 0;
		int64_t bits;
		if (str_to_i64(slash + 1, &bits) != 0 || bits < 0 || bits > (fam == AF_INET ? 32 : 128))
			return false;
	}
	return inet_pton(fam, tmp, addr) == 1;
}

static bool valid_time_of_day(const char *s)
{
	return strlen(s) == 5 && isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) && s[2] == ':' &&
	       isdigit((unsigned char)s[3]) && isdigit((unsigned char)s[4]) &&
	       (s[0] - '0') * 10 + (s[1] - '0') < 24 && (s[3] - '0') * 10 + (s[4] - '0') < 60;
}

/* ------------------------------------------------------- scalar fields */

/* Field-specific range rules for one written value (REFERENCE.md). */
static bool check_range(dec *d, spec_field f, const ynode *n, const char *path, int64_t v)
{
	char a[32];
	switch (f) {
	case SF_HISTORY_RETENTION:
		/* history_retention_seconds 0..2592000 (REFERENCE.md, Projects) */
		if (v > 2592000) {
			unit_duration_format(v, a);
			diag_at(d, n, path, "history retention %s is out of range: must be 0..30d", a);
			return false;
		}
		return true;
	case SF_COMPUTE_SUSPEND_TIMEOUT:
		/* SuspendTimeoutSeconds: -1 never, else 60..604800 (0 means Neon's default) */
		if (v == 0) {
			diag_at(d, n, path, "suspend timeout 0 is ambiguous: write 5m for Neon's default, or never");
			return false;
		}
		if (v != DURATION_NEVER && (v < 60 || v > 604800)) {
			unit_duration_format(v, a);
			diag_at(d, n, path, "suspend timeout %s is out of range: must be never or 60s..7d", a);
			return false;
		}
		return true;
	default:
		return true;
	}
}

static bool decode_scalar_field(dec *d, spec_field f, const ynode *n, const char *path, spec_val *out)
{
	const spec_field_info *fi = spec_field_get(f);
	int64_t v = 0;
	switch (fi->type) {
	case SPEC_T_STRING: {
		if (!want_string(d, n, path))
			return false;
		const char *s = n->str;
		if (f == SF_REGION && !valid_id(s)) {
			diag_at(d, n, path, "'%s' is not a region id: expected lowercase letters, digits and '-', like aws-us-east-2", s);
			return false;
		}
		if (f == SF_PROFILE && !valid_name(s)) {
			diag_at(d, n, path, "'%s' is not a valid profile name", s);
			return false;
		}
		out->s = copy_str(d, n);
		break;
	}
	case SPEC_T_INT: {
		int64_t lo = 0, hi = INT64_MAX;
		if (f == SF_PG_VERSION) { /* PgVersion: 14..18 */
			lo = 14;
			hi = 18;
		} else if (f == SF_READ_REPLICAS) { /* flotilla's guard against typos */
			hi = 10;
		}
		if (!get_int(d, n, path, lo, hi, &v))
			return false;
		out->i = v;
		break;
	}
	case SPEC_T_BOOL:
		if (!get_bool(d, n, path, &v))
			return false;
		out->i = v;
		break;
	case SPEC_T_DURATION:
	case SPEC_T_DURATION_NEVER:
	case SPEC_T_QUOTA_TIME:
		if (n->kind != YN_SCALAR || ynode_is_null(n)) {
			diag_at(d, n, path, "expected a duration like 30s, 5m, 2h or 7d, got %s", ynode_describe(n));
			return false;
		}
		if (fi->type == SPEC_T_QUOTA_TIME && strcmp(n->str, "unlimited") == 0) {
			v = 0;
		} else if (unit_duration_parse(n->str, fi->type == SPEC_T_DURATION_NEVER, &v) != 0) {
			diag_at(d, n, path, "%s", err_msg());
			return false;
		}
		if (!check_range(d, f, n, path, v))
			return false;
		out->i = v;
		break;
	case SPEC_T_SIZE:
		if (n->kind != YN_SCALAR || ynode_is_null(n)) {
			diag_at(d, n, path, "expected a size like 512MiB or 10GB, got %s", ynode_describe(n));
			return false;
		}
		if (unit_size_parse(n->str, &v) != 0) {
			diag_at(d, n, path, "%s", err_msg());
			return false;
		}
		out->i = v;
		break;
	case SPEC_T_CU: {
		int32_t q;
		if (n->kind != YN_SCALAR || n->quoted || ynode_is_null(n)) {
			diag_at(d, n, path, "expected compute units like 0.25, 0.5, 1 or 2, got %s", ynode_describe(n));
			return false;
		}
		if (unit_cu_parse(n->str, &q) != 0) {
			diag_at(d, n, path, "%s", err_msg());
			return false;
		}
		out->i = q;
		break;
	}
	case SPEC_T_TIME_OF_DAY:
		if (!want_string(d, n, path))
			return false;
		if (!valid_time_of_day(n->str)) {
			diag_at(d, n, path, "'%s' is not a time of day: expected HH:MM in UTC, like 02:30", n->str);
			return false;
		}
		out->s = copy_str(d, n);
		break;
	default:
		return false;
	}
	return true;
}

static bool decode_strlist(dec *d, spec_field f, const ynode *n, const char *path, spec_val *out)
{
	if (!want_seq(d, n, path))
		return false;
	spec_list *l = arena_alloc(d->f->a, sizeof(*l));
	l->items = arena_alloc(d->f->a, (n->n ? n->n : 1) * sizeof(spec_val));
	bool ok = true;
	for (size_t i = 0; i < n->n; i++) {
		const ynode *it = n->kids[i];
		char where[PATH_MAX_LEN];
		snprintf(where, sizeof(where), "%s[%zu]", path, i);
		spec_val *v = &l->items[l->n];
		if (f == SF_SETTINGS_MW_WEEKDAYS) {
			if (!get_int(d, it, where, 1, 7, &v->i)) {
				ok = false;
				continue;
			}
			for (size_t j = 0; j < l->n; j++)
				if (l->items[j].i == v->i) {
					diag_at(d, it, where, "weekday %" PRId64 " is listed twice", v->i);
					ok = false;
				}
		} else {
			if (!want_string(d, it, where)) {
				ok = false;
				continue;
			}
			if (!valid_ip_entry(it->str)) {
				diag_at(d, it, where, "'%s' is not an IP address, CIDR block or range a-b", it->str);
				ok = false;
				continue;
			}
			v->s = copy_str(d, it);
		}
		v->o = origin_of(d, it);
		l->n++;
	}
	if (f == SF_SETTINGS_MW_WEEKDAYS && n->n == 0) {
		diag_at(d, n, path, "a maintenance window needs at least one weekday (1 = Monday .. 7 = Sunday)");
		ok = false;
	}
	out->list = l;
	return ok;
}

/* Maps of strings: compute.pgSettings and metadata.labels. */
static spec_map *decode_map(dec *d, const ynode *n, const char *path, bool labels)
{
	if (!want_map(d, n, path))
		return NULL;
	spec_map *m = arena_alloc(d->f->a, sizeof(*m));
	m->keys = arena_alloc(d->f->a, (n->n ? n->n : 1) * sizeof(char *));
	m->vals = arena_alloc(d->f->a, (n->n ? n->n : 1) * sizeof(spec_val));
	for (size_t i = 0; i < n->n; i++) {
		const ynode *k = n->kids[2 * i], *v = n->kids[2 * i + 1];
		char where[PATH_MAX_LEN];
		if (k->kind != YN_SCALAR) {
			diag_at(d, k, path, "a key must be a string, not %s", ynode_describe(k));
			continue;
		}
		join(where, path, k->str);
		bool dup = false;
		for (size_t j = 0; j < m->n; j++)
			if (strcmp(m->keys[j], k->str) == 0)
				dup = true;
		if (dup) {
			diag_at(d, k, where, "duplicate key '%s'", k->str);
			continue;
		}
		bool key_ok = k->len > 0 && k->len <= 63;
		for (size_t j = 0; key_ok && j < k->len; j++) {
			unsigned char c = (unsigned char)k->str[j];
			if (labels)
				key_ok = isalnum(c) || ((c == '.' || c == '_' || c == '/' || c == '-') && j > 0);
			else
				key_ok = islower(c) || c == '_' || ((isdigit(c) || c == '.') && j > 0);
		}
		if (!key_ok) {
			diag_at(d, k, where, labels
				? "label key '%s' is invalid: letters, digits, '.', '_', '/', '-', starting with a letter or digit, at most 63 bytes"
				: "setting name '%s' is invalid: lowercase letters, digits, '_' and '.', starting with a letter or '_'",
				k->str);
			continue;
		}
		if (v->kind != YN_SCALAR || ynode_is_null(v)) {
			diag_at(d, v, where, "expected a string value, got %s", ynode_describe(v));
			continue;
		}
		if (has_control(v->str) || (labels && v->len > 63)) {
			diag_at(d, v, where, labels ? "label value must be at most 63 bytes without control characters"
						    : "value must not contain control characters");
			continue;
		}
		m->keys[m->n] = copy_str(d, k);
		m->vals[m->n].s = copy_str(d, v);
		m->vals[m->n].o = origin_of(d, v);
		m->n++;
	}
	return m;
}

/* -------------------------------------------------------------- branches */

static const char *const BRANCH_KEYS[] = {"name", "default", "parent", "protected", "roles", "databases"};
static const char *const ROLE_KEYS[] = {"name", "noLogin"};
static const char *const DATABASE_KEYS[] = {"name", "owner"};

/* Postgres identifiers: 1..63 bytes (NAMEDATALEN), no control characters. */
static bool check_pg_name(dec *d, const ynode *n, const char *path, const char *what)
{
	if (!want_string(d, n, path))
		return false;
	if (n->len > 63) {
		diag_at(d, n, path, "%s name '%s' is %zu bytes: at most 63 bytes", what, n->str, n->len);
		return false;
	}
	if (has_control(n->str)) {
		diag_at(d, n, path, "%s name must not contain control characters", what);
		return false;
	}
	return true;
}

static void decode_role(dec *d, const ynode *n, const char *path, spec_role *r)
{
	if (!want_map(d, n, path))
		return;
	bool have_name = false;
	for (size_t i = 0; i < n->n; i++) {
		int k = key_index(d, n, i, path, ROLE_KEYS, ARRAY_LEN(ROLE_KEYS));
		const ynode *v = n->kids[2 * i + 1];
		char where[PATH_MAX_LEN];
		if (k < 0)
			continue;
		join(where, path, ROLE_KEYS[k]);
		if (k == 0) {
			have_name = true;
			if (!check_pg_name(d, v, where, "role"))
				continue;
			/* Postgres reserves role names beginning with pg_ */
			if (str_has_prefix(v->str, "pg_")) {
				diag_at(d, v, where, "role name '%s' is reserved: Postgres keeps names starting with 'pg_'", v->str);
				continue;
			}
			r->name.s = copy_str(d, v);
			r->name.o = origin_of(d, v);
		} else {
			if (get_bool(d, v, where, &r->no_login.i))
				r->no_login.o = origin_of(d, v);
		}
	}
	if (!have_name)
		diag_at(d, n, path, "a role needs a 'name'");
}

static void decode_database(dec *d, const ynode *n, const char *path, spec_database *db)
{
	if (!want_map(d, n, path))
		return;
	bool have_name = false, have_owner = false;
	for (size_t i = 0; i < n->n; i++) {
		int k = key_index(d, n, i, path, DATABASE_KEYS, ARRAY_LEN(DATABASE_KEYS));
		const ynode *v = n->kids[2 * i + 1];
		char where[PATH_MAX_LEN];
		if (k < 0)
			continue;
		join(where, path, DATABASE_KEYS[k]);
		spec_val *dst = k == 0 ? &db->name : &db->owner;
		if (k == 0)
			have_name = true;
		else
			have_owner = true;
		if (!check_pg_name(d, v, where, k == 0 ? "database" : "owner role"))
			continue;
		dst->s = copy_str(d, v);
		dst->o = origin_of(d, v);
	}
	if (!have_name)
		diag_at(d, n, path, "a database needs a 'name'");
	if (!have_owner)
		diag_at(d, n, path, "a database needs an 'owner' (one of the branch's roles)");
}

static bool decode_branches(dec *d, const ynode *n, const char *path, spec_val *out)
{
	if (!want_seq(d, n, path))
		return false;
	spec_branches *br = arena_alloc(d->f->a, sizeof(*br));
	br->items = arena_alloc(d->f->a, (n->n ? n->n : 1) * sizeof(spec_branch));
	br->n = n->n;
	unsigned before = (unsigned)spec_diags_count(d->diags);
	for (size_t i = 0; i < n->n; i++) {
		const ynode *it = n->kids[i];
		spec_branch *b = &br->items[i];
		char bpath[PATH_MAX_LEN];
		snprintf(bpath, sizeof(bpath), "%s[%zu]", path, i);
		b->o = origin_of(d, it);
		if (!want_map(d, it, bpath))
			continue;
		bool have_name = false;
		for (size_t j = 0; j < it->n; j++) {
			int k = key_index(d, it, j, bpath, BRANCH_KEYS, ARRAY_LEN(BRANCH_KEYS));
			const ynode *v = it->kids[2 * j + 1];
			char where[PATH_MAX_LEN];
			if (k < 0)
				continue;
			join(where, bpath, BRANCH_KEYS[k]);
			switch (k) {
			case 0: /* name: 1..256 (BranchCreateRequest.branch.name) */
			case 2: /* parent */
				if (k == 0)
					have_name = true;
				if (!want_string(d, v, where))
					break;
				if (v->len > 256 || has_control(v->str)) {
					diag_at(d, v, where, "branch name must be 1..256 bytes without control characters");
					break;
				}
				(k == 0 ? &b->name : &b->parent)->s = copy_str(d, v);
				(k == 0 ? &b->name : &b->parent)->o = origin_of(d, v);
				break;
			case 1:
			case 3:
				if (get_bool(d, v, where, k == 1 ? &b->is_default.i : &b->protect.i))
					(k == 1 ? &b->is_default : &b->protect)->o = origin_of(d, v);
				break;
			case 4:
			case 5: {
				if (!want_seq(d, v, where))
					break;
				size_t cnt = v->n ? v->n : 1;
				if (k == 4) {
					b->roles = arena_alloc(d->f->a, cnt * sizeof(spec_role));
					b->nroles = v->n;
				} else {
					b->databases = arena_alloc(d->f->a, cnt * sizeof(spec_database));
					b->ndatabases = v->n;
				}
				for (size_t x = 0; x < v->n; x++) {
					char ipath[PATH_MAX_LEN];
					snprintf(ipath, sizeof(ipath), "%s[%zu]", where, x);
					if (k == 4)
						decode_role(d, v->kids[x], ipath, &b->roles[x]);
					else
						decode_database(d, v->kids[x], ipath, &b->databases[x]);
				}
				break;
			}
			}
		}
		if (!have_name)
			diag_at(d, it, bpath, "a branch needs a 'name'");
	}
	out->br = br;
	/* Structure rules need a list whose items all decoded. */
	if (spec_diags_count(d->diags) == before)
		validate_branches(d->f, br, path, origin_of(d, n), d->diags);
	return true;
}

/* ------------------------------------------------------------ tenant spec */

/*
 * Decode a tenant-spec map (a Tenant's or Profile's spec, or the fleet's
 * defaults). `prefix` is the field-path prefix of this map level ("",
 * "quota.", "settings.maintenanceWindow."), `ypath` the YAML path of it.
 */
static void decode_values(dec *d, const ynode *n, const char *prefix, const char *ypath,
			  spec_values *out, bool allow_profile)
{
	if (!want_map(d, n, ypath))
		return;
	/* the keys known at this level: next segments of matching field paths */
	const char *known[SF__COUNT];
	size_t klen[SF__COUNT];
	size_t nknown = 0;
	size_t plen = strlen(prefix);
	char segbuf[SF__COUNT][48];
	for (int f = 0; f < SF__COUNT; f++) {
		const char *p = spec_field_get((spec_field)f)->path;
		if (strncmp(p, prefix, plen) != 0)
			continue;
		if (f == SF_PROFILE && !allow_profile)
			continue;
		const char *seg = p + plen;
		size_t sl = strcspn(seg, ".");
		bool seen = false;
		for (size_t j = 0; j < nknown; j++)
			if (klen[j] == sl && strncmp(known[j], seg, sl) == 0)
				seen = true;
		if (seen)
			continue;
		snprintf(segbuf[nknown], sizeof(segbuf[nknown]), "%.*s", (int)sl, seg);
		known[nknown] = segbuf[nknown];
		klen[nknown] = sl;
		nknown++;
	}
	for (size_t i = 0; i < n->n; i++) {
		const ynode *kn = n->kids[2 * i], *v = n->kids[2 * i + 1];
		if (!allow_profile && plen == 0 && kn->kind == YN_SCALAR && strcmp(kn->str, "profile") == 0) {
			char where[PATH_MAX_LEN];
			join(where, ypath, "profile");
			diag_at(d, kn, where, "a Profile cannot name another profile (profiles do not chain)");
			continue;
		}
		int k = key_index(d, n, i, ypath, known, nknown);
		if (k < 0)
			continue;
		char where[PATH_MAX_LEN], fpath[PATH_MAX_LEN];
		join(where, ypath, known[k]);
		snprintf(fpath, sizeof(fpath), "%s%s", prefix, known[k]);
		int leaf = -1;
		for (int f = 0; f < SF__COUNT; f++)
			if (strcmp(spec_field_get((spec_field)f)->path, fpath) == 0)
				leaf = f;
		if (leaf < 0) { /* a nested map such as quota */
			char sub[PATH_MAX_LEN];
			snprintf(sub, sizeof(sub), "%s.", fpath);
			decode_values(d, v, sub, where, out, allow_profile);
			continue;
		}
		spec_val val;
		memset(&val, 0, sizeof(val));
		bool ok;
		switch (spec_field_get((spec_field)leaf)->type) {
		case SPEC_T_STRLIST:
		case SPEC_T_INTLIST:
			ok = decode_strlist(d, (spec_field)leaf, v, where, &val);
			break;
		case SPEC_T_MAP:
			val.map = decode_map(d, v, where, false);
			ok = val.map != NULL;
			break;
		case SPEC_T_BRANCHES:
			ok = decode_branches(d, v, where, &val);
			break;
		default:
			ok = decode_scalar_field(d, (spec_field)leaf, v, where, &val);
		}
		if (!ok)
			continue;
		val.o = origin_of(d, v);
		out->v[leaf] = val;
	}
}

/* --------------------------------------------------------------- documents */

static const char *const DOC_KEYS[] = {"apiVersion", "kind", "metadata", "spec"};
static const char *const KINDS[] = {"Fleet", "Profile", "Tenant"};
static const char *const FLEET_KEYS[] = {"orgId", "namePrefix", "manifests", "allowedRegions", "prune",
					 "maxDeletesPerRun", "drift", "refreshInterval", "maxAutoscalingCu",
					 "defaults"};

enum { KIND_FLEET, KIND_PROFILE, KIND_TENANT };

static void decode_fleet_spec(dec *d, const ynode *n)
{
	spec_fleet *f = d->f;
	if (!want_map(d, n, "spec"))
		return;
	for (size_t i = 0; i < n->n; i++) {
		int k = key_index(d, n, i, "spec", FLEET_KEYS, ARRAY_LEN(FLEET_KEYS));
		const ynode *v = n->kids[2 * i + 1];
		char where[PATH_MAX_LEN];
		int64_t x;
		if (k < 0)
			continue;
		join(where, "spec", FLEET_KEYS[k]);
		switch (k) {
		case 0: /* orgId */
			if (!want_string(d, v, where))
				break;
			if (!valid_id(v->str)) {
				diag_at(d, v, where, "'%s' is not a Neon id: lowercase letters, digits and '-', at most 60", v->str);
				break;
			}
			f->org_id = copy_str(d, v);
			break;
		case 1: /* namePrefix: project name = prefix + tenant, ≤ 256 bytes (ProjectCreateRequest) */
			if (v->kind != YN_SCALAR) {
				diag_at(d, v, where, "expected a string, got %s", ynode_describe(v));
				break;
			}
			if (v->len > 256 - 63 || has_control(v->str)) {
				diag_at(d, v, where, "name prefix must be at most 193 bytes without control characters, so that prefix + tenant name fits Neon's 256-byte project name");
				break;
			}
			f->name_prefix = copy_str(d, v);
			break;
		case 2: /* manifests */
		case 3: { /* allowedRegions */
			if (!want_seq(d, v, where))
				break;
			if (v->n == 0) {
				diag_at(d, v, where, k == 2 ? "at least one glob is needed" : "at least one region is needed");
				break;
			}
			spec_list *l = arena_alloc(f->a, sizeof(*l));
			l->items = arena_alloc(f->a, v->n * sizeof(spec_val));
			for (size_t j = 0; j < v->n; j++) {
				const ynode *it = v->kids[j];
				char ip[PATH_MAX_LEN];
				snprintf(ip, sizeof(ip), "%s[%zu]", where, j);
				if (!want_string(d, it, ip))
					continue;
				if (k == 2 && (it->str[0] == '/' || strstr(it->str, "..") != NULL)) {
					diag_at(d, it, ip, "glob '%s' must be relative to the repository root, without '..'", it->str);
					continue;
				}
				if (k == 3 && !valid_id(it->str)) {
					diag_at(d, it, ip, "'%s' is not a region id, like aws-us-east-2", it->str);
					continue;
				}
				bool dup = false;
				for (size_t m = 0; m < l->n; m++)
					if (strcmp(l->items[m].s, it->str) == 0)
						dup = true;
				if (dup) {
					diag_at(d, it, ip, "'%s' is listed twice", it->str);
					continue;
				}
				l->items[l->n].s = copy_str(d, it);
				l->items[l->n].o = origin_of(d, it);
				l->n++;
			}
			if (k == 2) {
				f->manifests = l;
			} else {
				f->allowed_regions = l;
				f->allowed_regions_o = origin_of(d, v);
			}
			break;
		}
		case 4:
			if (get_bool(d, v, where, &x))
				f->prune = x;
			break;
		case 5:
			if (get_int(d, v, where, 0, 1000000, &x))
				f->max_deletes = x;
			break;
		case 6:
			if (!want_string(d, v, where))
				break;
			if (strcmp(v->str, "heal") != 0 && strcmp(v->str, "report") != 0) {
				diag_at(d, v, where, "drift must be heal or report, not '%s'", v->str);
				break;
			}
			f->drift = copy_str(d, v);
			break;
		case 7:
			if (v->kind != YN_SCALAR || unit_duration_parse(v->str, false, &x) != 0) {
				diag_at(d, v, where, "%s", v->kind == YN_SCALAR ? err_msg() : "expected a duration like 10m");
				break;
			}
			if (x < 1 || x > 7 * 86400) {
				diag_at(d, v, where, "refresh interval must be 1s..7d");
				break;
			}
			f->refresh_interval = x;
			break;
		case 8: {
			int32_t q;
			if (v->kind != YN_SCALAR || v->quoted || unit_cu_parse(v->str, &q) != 0) {
				diag_at(d, v, where, "%s", v->kind == YN_SCALAR && !v->quoted ? err_msg()
					: "expected compute units like 2 or 16");
				break;
			}
			/* autoscaling goes up to 16 CU (REFERENCE.md, Endpoints) */
			if (q > 64) {
				diag_at(d, v, where, "autoscaling ceiling must be at most 16 CU");
				break;
			}
			f->max_autoscaling_cu = q;
			f->max_autoscaling_cu_o = origin_of(d, v);
			break;
		}
		case 9: {
			spec_layer saved = d->layer;
			d->layer = SPEC_LAYER_DEFAULTS;
			decode_values(d, v, "", where, &f->defaults, true);
			d->layer = saved;
			break;
		}
		}
	}
}

/* metadata: name (all kinds), labels (tenants). Returns the name node. */
static const ynode *decode_metadata(dec *d, const ynode *n, int kind, spec_map **labels)
{
	static const char *const TENANT_META[] = {"name", "labels"};
	static const char *const OTHER_META[] = {"name"};
	if (!want_map(d, n, "metadata"))
		return NULL;
	const ynode *name = NULL;
	for (size_t i = 0; i < n->n; i++) {
		int k = kind == KIND_TENANT ? key_index(d, n, i, "metadata", TENANT_META, 2)
					    : key_index(d, n, i, "metadata", OTHER_META, 1);
		const ynode *v = n->kids[2 * i + 1];
		if (k == 0) {
			if (!want_string(d, v, "metadata.name"))
				continue;
			if (!valid_name(v->str)) {
				diag_at(d, v, "metadata.name",
					"name '%s' is invalid: 1..63 lowercase letters, digits and '-', starting with a letter or digit",
					v->str);
				continue;
			}
			name = v;
		} else if (k == 1) {
			*labels = decode_map(d, v, "metadata.labels", true);
		}
	}
	return name;
}

static void decode_doc(dec *d, const ydoc *doc)
{
	const ynode *root = doc->root;
	if (root->kind != YN_MAP) {
		diag_at(d, root, "(document)", "a manifest must be a map with apiVersion, kind, metadata and spec, not %s",
			ynode_describe(root));
		return;
	}
	const ynode *api = NULL, *kind = NULL, *meta = NULL, *spec = NULL;
	for (size_t i = 0; i < root->n; i++) {
		int k = key_index(d, root, i, "", DOC_KEYS, ARRAY_LEN(DOC_KEYS));
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
		diag_at(d, root, "apiVersion", "missing 'apiVersion': expected 'flotilla/v1'");
		return;
	}
	if (api->kind != YN_SCALAR || strcmp(api->str, "flotilla/v1") != 0) {
		diag_at(d, api, "apiVersion", "apiVersion '%s' is not supported: expected 'flotilla/v1'",
			api->kind == YN_SCALAR ? api->str : ynode_describe(api));
		return;
	}
	if (!kind) {
		diag_at(d, root, "kind", "missing 'kind': expected Fleet, Profile or Tenant");
		return;
	}
	int k = -1;
	for (size_t i = 0; kind->kind == YN_SCALAR && i < ARRAY_LEN(KINDS); i++)
		if (strcmp(kind->str, KINDS[i]) == 0)
			k = (int)i;
	if (k < 0) {
		const char *hint = kind->kind == YN_SCALAR ? suggest(kind->str, KINDS, ARRAY_LEN(KINDS)) : NULL;
		diag_at(d, kind, "kind", "kind '%s' is unknown: expected Fleet, Profile or Tenant%s%s%s",
			kind->kind == YN_SCALAR ? kind->str : ynode_describe(kind),
			hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
		return;
	}
	if (!meta) {
		diag_at(d, root, "metadata", "missing 'metadata' with a 'name'");
		return;
	}
	spec_map *labels = NULL;
	unsigned before = (unsigned)spec_diags_count(d->diags);
	const ynode *name = decode_metadata(d, meta, k, &labels);
	if (!name) {
		if (spec_diags_count(d->diags) == before)
			diag_at(d, meta, "metadata.name", "missing 'name'");
		return;
	}
	spec_fleet *f = d->f;
	if (k == KIND_FLEET) {
		if (strcmp(d->fname, "flotilla.yaml") != 0) {
			diag_at(d, kind, "kind", "the Fleet document belongs in flotilla.yaml at the repository root");
			return;
		}
		if (f->have_fleet) {
			diag_at(d, kind, "kind", "a second Fleet document: flotilla.yaml holds exactly one");
			return;
		}
		f->have_fleet = true;
		f->name = copy_str(d, name);
		if (spec)
			decode_fleet_spec(d, spec);
		return;
	}
	if (k == KIND_PROFILE) {
		spec_profile *p = arena_alloc(f->a, sizeof(*p));
		p->name = copy_str(d, name);
		p->o = origin_of(d, name);
		d->layer = SPEC_LAYER_PROFILE;
		if (spec)
			decode_values(d, spec, "", "spec", &p->spec, false);
		spec_profile *prev = strmap_put(f->profile_index, p->name, p);
		if (prev) {
			strmap_put(f->profile_index, prev->name, prev);
			diag_at(d, name, "metadata.name", "profile '%s' is defined twice: first at %s:%" PRIu32 ":%u",
				p->name, spec_fleet_file(f, prev->o.file), prev->o.line, (unsigned)prev->o.col);
			return;
		}
		if (f->nprofiles == f->capprofiles)
			f->profiles = xgrow(f->profiles, &f->capprofiles, f->nprofiles + 1, sizeof(*f->profiles));
		f->profiles[f->nprofiles++] = p;
		return;
	}
	spec_tenant *t = arena_alloc(f->a, sizeof(*t));
	t->name = copy_str(d, name);
	t->o = origin_of(d, name);
	t->labels = labels;
	d->layer = SPEC_LAYER_TENANT;
	if (spec)
		decode_values(d, spec, "", "spec", &t->spec, true);
	spec_tenant *prev = strmap_put(f->tenant_index, t->name, t);
	if (prev) {
		strmap_put(f->tenant_index, prev->name, prev);
		diag_at(d, name, "metadata.name", "tenant '%s' is defined twice: first at %s:%" PRIu32 ":%u",
			t->name, spec_fleet_file(f, prev->o.file), prev->o.line, (unsigned)prev->o.col);
		return;
	}
	if (f->ntenants == f->captenants)
		f->tenants = xgrow(f->tenants, &f->captenants, f->ntenants + 1, sizeof(*f->tenants));
	f->tenants[f->ntenants++] = t;
}

void decode_file(spec_fleet *f, uint32_t file, const ydoc *docs, size_t ndocs, spec_diags *diags)
{
	dec d = {.f = f, .file = file, .fname = spec_fleet_file(f, file), .diags = diags};
	for (size_t i = 0; i < ndocs; i++) {
		d.layer = SPEC_LAYER_TENANT;
		decode_doc(&d, &docs[i]);
	}
}
