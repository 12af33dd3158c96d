/*
 * values.c: the tenant spec, as written in a Tenant, a Profile or the
 * fleet's defaults: scalars by the type of their field (units, ranges),
 * lists, string maps, and the branches list with its roles and databases.
 * Which keys exist at each level follows the field table in fields.c.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <string.h>

#include "spec/internal.h"

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

/* Field-specific range rules for one written value (docs/neon-api.md). */
static bool check_range(dec *d, spec_field f, const ynode *n, const char *path, int64_t v)
{
	char a[32];
	switch (f) {
	case SF_HISTORY_RETENTION:
		/* history_retention_seconds 0..2592000 (docs/neon-api.md, Projects) */
		if (v > 2592000) {
			unit_duration_format(v, a);
			spec__diag_at(d, n, path, "history retention %s is out of range: must be 0..30d", a);
			return false;
		}
		return true;
	case SF_COMPUTE_SUSPEND_TIMEOUT:
		/* SuspendTimeoutSeconds: -1 never, else 60..604800 (0 means Neon's default) */
		if (v == 0) {
			spec__diag_at(d, n, path, "suspend timeout 0 is ambiguous: write 5m for Neon's default, or never");
			return false;
		}
		if (v != DURATION_NEVER && (v < 60 || v > 604800)) {
			unit_duration_format(v, a);
			spec__diag_at(d, n, path, "suspend timeout %s is out of range: must be never or 60s..7d", a);
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
		if (!spec__want_string(d, n, path))
			return false;
		const char *s = n->str;
		if (f == SF_REGION && !spec__valid_id(s)) {
			spec__diag_at(d, n, path, "'%s' is not a region id: expected lowercase letters, digits and '-', like aws-us-east-2", s);
			return false;
		}
		if (f == SF_PROFILE && !spec__valid_name(s)) {
			spec__diag_at(d, n, path, "'%s' is not a valid profile name", s);
			return false;
		}
		out->s = spec__copy_str(d, n);
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
		if (!spec__get_int(d, n, path, lo, hi, &v))
			return false;
		out->i = v;
		break;
	}
	case SPEC_T_BOOL:
		if (!spec__get_bool(d, n, path, &v))
			return false;
		out->i = v;
		break;
	case SPEC_T_DURATION:
	case SPEC_T_DURATION_NEVER:
	case SPEC_T_QUOTA_TIME:
		if (n->kind != YN_SCALAR || spec__ynode_is_null(n)) {
			spec__diag_at(d, n, path, "expected a duration like 30s, 5m, 2h or 7d, got %s", spec__ynode_describe(n));
			return false;
		}
		if (fi->type == SPEC_T_QUOTA_TIME && strcmp(n->str, "unlimited") == 0) {
			v = 0;
		} else if (unit_duration_parse(n->str, fi->type == SPEC_T_DURATION_NEVER, &v) != 0) {
			spec__diag_at(d, n, path, "%s", err_msg());
			return false;
		}
		if (!check_range(d, f, n, path, v))
			return false;
		out->i = v;
		break;
	case SPEC_T_SIZE:
		if (n->kind != YN_SCALAR || spec__ynode_is_null(n)) {
			spec__diag_at(d, n, path, "expected a size like 512MiB or 10GB, got %s", spec__ynode_describe(n));
			return false;
		}
		if (unit_size_parse(n->str, &v) != 0) {
			spec__diag_at(d, n, path, "%s", err_msg());
			return false;
		}
		out->i = v;
		break;
	case SPEC_T_CU: {
		int32_t q;
		if (n->kind != YN_SCALAR || n->quoted || spec__ynode_is_null(n)) {
			spec__diag_at(d, n, path, "expected compute units like 0.25, 0.5, 1 or 2, got %s", spec__ynode_describe(n));
			return false;
		}
		if (unit_cu_parse(n->str, &q) != 0) {
			spec__diag_at(d, n, path, "%s", err_msg());
			return false;
		}
		out->i = q;
		break;
	}
	case SPEC_T_TIME_OF_DAY:
		if (!spec__want_string(d, n, path))
			return false;
		if (!valid_time_of_day(n->str)) {
			spec__diag_at(d, n, path, "'%s' is not a time of day: expected HH:MM in UTC, like 02:30", n->str);
			return false;
		}
		out->s = spec__copy_str(d, n);
		break;
	default:
		return false;
	}
	return true;
}

static bool decode_strlist(dec *d, spec_field f, const ynode *n, const char *path, spec_val *out)
{
	if (!spec__want_seq(d, n, path))
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
			if (!spec__get_int(d, it, where, 1, 7, &v->i)) {
				ok = false;
				continue;
			}
			for (size_t j = 0; j < l->n; j++)
				if (l->items[j].i == v->i) {
					spec__diag_at(d, it, where, "weekday %" PRId64 " is listed twice", v->i);
					ok = false;
				}
		} else {
			if (!spec__want_string(d, it, where)) {
				ok = false;
				continue;
			}
			if (!valid_ip_entry(it->str)) {
				spec__diag_at(d, it, where, "'%s' is not an IP address, CIDR block or range a-b", it->str);
				ok = false;
				continue;
			}
			v->s = spec__copy_str(d, it);
		}
		v->o = spec__origin_of(d, it);
		l->n++;
	}
	if (f == SF_SETTINGS_MW_WEEKDAYS && n->n == 0) {
		spec__diag_at(d, n, path, "a maintenance window needs at least one weekday (1 = Monday .. 7 = Sunday)");
		ok = false;
	}
	out->list = l;
	return ok;
}

/* Maps of strings: compute.pgSettings and metadata.labels. */
spec_map *spec__decode_map(dec *d, const ynode *n, const char *path, bool labels)
{
	if (!spec__want_map(d, n, path))
		return NULL;
	spec_map *m = arena_alloc(d->f->a, sizeof(*m));
	m->keys = arena_alloc(d->f->a, (n->n ? n->n : 1) * sizeof(char *));
	m->vals = arena_alloc(d->f->a, (n->n ? n->n : 1) * sizeof(spec_val));
	for (size_t i = 0; i < n->n; i++) {
		const ynode *k = n->kids[2 * i], *v = n->kids[2 * i + 1];
		char where[PATH_MAX_LEN];
		if (k->kind != YN_SCALAR) {
			spec__diag_at(d, k, path, "a key must be a string, not %s", spec__ynode_describe(k));
			continue;
		}
		spec__join(where, path, k->str);
		bool dup = false;
		for (size_t j = 0; j < m->n; j++)
			if (strcmp(m->keys[j], k->str) == 0)
				dup = true;
		if (dup) {
			spec__diag_at(d, k, where, "duplicate key '%s'", k->str);
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
			spec__diag_at(d, k, where, labels
				? "label key '%s' is invalid: letters, digits, '.', '_', '/', '-', starting with a letter or digit, at most 63 bytes"
				: "setting name '%s' is invalid: lowercase letters, digits, '_' and '.', starting with a letter or '_'",
				k->str);
			continue;
		}
		if (v->kind != YN_SCALAR || spec__ynode_is_null(v)) {
			spec__diag_at(d, v, where, "expected a string value, got %s", spec__ynode_describe(v));
			continue;
		}
		if (spec__has_control(v->str) || (labels && v->len > 63)) {
			spec__diag_at(d, v, where, labels ? "label value must be at most 63 bytes without control characters"
						    : "value must not contain control characters");
			continue;
		}
		m->keys[m->n] = spec__copy_str(d, k);
		m->vals[m->n].s = spec__copy_str(d, v);
		m->vals[m->n].o = spec__origin_of(d, v);
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
	if (!spec__want_string(d, n, path))
		return false;
	if (n->len == 0) {
		spec__diag_at(d, n, path, "%s name must not be empty", what);
		return false;
	}
	if (n->len > 63) {
		spec__diag_at(d, n, path, "%s name '%s' is %zu bytes: at most 63 bytes", what, n->str, n->len);
		return false;
	}
	if (spec__has_control(n->str)) {
		spec__diag_at(d, n, path, "%s name must not contain control characters", what);
		return false;
	}
	return true;
}

static void decode_role(dec *d, const ynode *n, const char *path, spec_role *r)
{
	if (!spec__want_map(d, n, path))
		return;
	bool have_name = false;
	for (size_t i = 0; i < n->n; i++) {
		int k = spec__key_index(d, n, i, path, ROLE_KEYS, ARRAY_LEN(ROLE_KEYS));
		const ynode *v = n->kids[2 * i + 1];
		char where[PATH_MAX_LEN];
		if (k < 0)
			continue;
		spec__join(where, path, ROLE_KEYS[k]);
		if (k == 0) {
			have_name = true;
			if (!check_pg_name(d, v, where, "role"))
				continue;
			/* Postgres reserves role names beginning with pg_ */
			if (str_has_prefix(v->str, "pg_")) {
				spec__diag_at(d, v, where, "role name '%s' is reserved: Postgres keeps names starting with 'pg_'", v->str);
				continue;
			}
			r->name.s = spec__copy_str(d, v);
			r->name.o = spec__origin_of(d, v);
		} else {
			if (spec__get_bool(d, v, where, &r->no_login.i))
				r->no_login.o = spec__origin_of(d, v);
		}
	}
	if (!have_name)
		spec__diag_at(d, n, path, "a role needs a 'name'");
}

static void decode_database(dec *d, const ynode *n, const char *path, spec_database *db)
{
	if (!spec__want_map(d, n, path))
		return;
	bool have_name = false, have_owner = false;
	for (size_t i = 0; i < n->n; i++) {
		int k = spec__key_index(d, n, i, path, DATABASE_KEYS, ARRAY_LEN(DATABASE_KEYS));
		const ynode *v = n->kids[2 * i + 1];
		char where[PATH_MAX_LEN];
		if (k < 0)
			continue;
		spec__join(where, path, DATABASE_KEYS[k]);
		spec_val *dst = k == 0 ? &db->name : &db->owner;
		if (k == 0)
			have_name = true;
		else
			have_owner = true;
		if (!check_pg_name(d, v, where, k == 0 ? "database" : "owner role"))
			continue;
		dst->s = spec__copy_str(d, v);
		dst->o = spec__origin_of(d, v);
	}
	if (!have_name)
		spec__diag_at(d, n, path, "a database needs a 'name'");
	if (!have_owner)
		spec__diag_at(d, n, path, "a database needs an 'owner' (one of the branch's roles)");
}

static bool decode_branches(dec *d, const ynode *n, const char *path, spec_val *out)
{
	if (!spec__want_seq(d, n, path))
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
		b->o = spec__origin_of(d, it);
		if (!spec__want_map(d, it, bpath))
			continue;
		bool have_name = false;
		for (size_t j = 0; j < it->n; j++) {
			int k = spec__key_index(d, it, j, bpath, BRANCH_KEYS, ARRAY_LEN(BRANCH_KEYS));
			const ynode *v = it->kids[2 * j + 1];
			char where[PATH_MAX_LEN];
			if (k < 0)
				continue;
			spec__join(where, bpath, BRANCH_KEYS[k]);
			switch (k) {
			case 0: /* name: 1..256 (BranchCreateRequest.branch.name) */
			case 2: /* parent */
				if (k == 0)
					have_name = true;
				if (!spec__want_string(d, v, where))
					break;
				if (v->len == 0 || v->len > 256 || spec__has_control(v->str)) {
					spec__diag_at(d, v, where, "branch name must be 1..256 bytes without control characters");
					break;
				}
				(k == 0 ? &b->name : &b->parent)->s = spec__copy_str(d, v);
				(k == 0 ? &b->name : &b->parent)->o = spec__origin_of(d, v);
				break;
			case 1:
			case 3:
				if (spec__get_bool(d, v, where, k == 1 ? &b->is_default.i : &b->protect.i))
					(k == 1 ? &b->is_default : &b->protect)->o = spec__origin_of(d, v);
				break;
			case 4:
			case 5: {
				if (!spec__want_seq(d, v, where))
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
			spec__diag_at(d, it, bpath, "a branch needs a 'name'");
	}
	/* A list with a bad item is dropped whole, like any value that failed:
	 * later stages never see a branch, role or database without a name. */
	if (spec_diags_count(d->diags) != before)
		return false;
	out->br = br;
	spec__validate_branches(d->f, br, path, spec__origin_of(d, n), d->diags);
	return true;
}

/* ------------------------------------------------------------ tenant spec */

/*
 * The map levels of a tenant spec ("", "quota.", "compute.", "settings.",
 * "settings.maintenanceWindow."), each with its keys and, per key, the
 * field it holds or the level it opens. Built once from the field table,
 * so that decoding 100,000 tenants does not re-derive it per map.
 */
typedef struct level {
	char prefix[48];
	size_t n;
	const char *keys[SF__COUNT];
	char keybuf[SF__COUNT][40];
	int leaf[SF__COUNT]; /* field index, or -1 */
	int sub[SF__COUNT];  /* level index, or -1 */
} level;

static level LEVELS[8];
static size_t NLEVELS;
static pthread_once_t LEVELS_ONCE = PTHREAD_ONCE_INIT;

static int level_find(const char *prefix)
{
	for (size_t i = 0; i < NLEVELS; i++)
		if (strcmp(LEVELS[i].prefix, prefix) == 0)
			return (int)i;
	level *l = &LEVELS[NLEVELS];
	str_copy(l->prefix, prefix, sizeof(l->prefix));
	return (int)NLEVELS++;
}

static void levels_build(void)
{
	level_find("");
	for (int f = 0; f < SF__COUNT; f++) {
		const char *path = spec_field_get((spec_field)f)->path;
		size_t start = 0;
		for (;;) {
			char prefix[48];
			memcpy(prefix, path, start);
			prefix[start] = 0;
			level *l = &LEVELS[level_find(prefix)];
			const char *seg = path + start;
			size_t sl = strcspn(seg, ".");
			size_t k = 0;
			while (k < l->n && !(strlen(l->keys[k]) == sl && strncmp(l->keys[k], seg, sl) == 0))
				k++;
			if (k == l->n) {
				memcpy(l->keybuf[k], seg, sl);
				l->keybuf[k][sl] = 0;
				l->keys[k] = l->keybuf[k];
				l->leaf[k] = -1;
				l->sub[k] = -1;
				l->n++;
			}
			if (seg[sl] == 0) {
				l->leaf[k] = f;
				break;
			}
			start += sl + 1;
		}
	}
	/* link each key that opens a map to its level */
	for (size_t i = 0; i < NLEVELS; i++)
		for (size_t k = 0; k < LEVELS[i].n; k++)
			if (LEVELS[i].leaf[k] < 0) {
				char sub[48];
				snprintf(sub, sizeof(sub), "%s%s.", LEVELS[i].prefix, LEVELS[i].keys[k]);
				LEVELS[i].sub[k] = level_find(sub);
			}
}

static const char *const MW_KEYS[] = {"weekdays", "startTime", "endTime"};

/* A maintenance window is one unit: weekdays, startTime and endTime are
 * written together or not at all (MaintenanceWindow requires all three),
 * so a layer never leaves a window half-inherited. */
static void check_window(dec *d, const ynode *n, const char *ypath)
{
	if (n->kind != YN_MAP)
		return;
	char missing[64] = "";
	for (size_t k = 0; k < ARRAY_LEN(MW_KEYS); k++) {
		bool have = false;
		for (size_t i = 0; i < n->n && !have; i++)
			have = n->kids[2 * i]->kind == YN_SCALAR && strcmp(n->kids[2 * i]->str, MW_KEYS[k]) == 0;
		if (!have) {
			size_t used = strlen(missing);
			snprintf(missing + used, sizeof(missing) - used, "%s%s", used ? ", " : "", MW_KEYS[k]);
		}
	}
	if (missing[0])
		spec__diag_at(d, n, ypath, "a maintenance window needs weekdays, startTime and endTime together (missing %s)",
			missing);
}

static void decode_level(dec *d, const ynode *n, const level *lv, const char *ypath, spec_values *out,
			 bool allow_profile)
{
	if (!spec__want_map(d, n, ypath))
		return;
	for (size_t i = 0; i < n->n; i++) {
		const ynode *kn = n->kids[2 * i], *v = n->kids[2 * i + 1];
		char where[PATH_MAX_LEN];
		if (!allow_profile && lv == &LEVELS[0] && kn->kind == YN_SCALAR && strcmp(kn->str, "profile") == 0) {
			spec__join(where, ypath, "profile");
			spec__diag_at(d, kn, where, "a Profile cannot name another profile (profiles do not chain)");
			continue;
		}
		int k = spec__key_index(d, n, i, ypath, lv->keys, lv->n);
		if (k < 0)
			continue;
		spec__join(where, ypath, lv->keys[k]);
		int leaf = lv->leaf[k];
		if (leaf < 0) { /* a nested map such as quota */
			const level *sub = &LEVELS[lv->sub[k]];
			if (strcmp(sub->prefix, "settings.maintenanceWindow.") == 0)
				check_window(d, v, where);
			decode_level(d, v, sub, where, out, allow_profile);
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
			val.map = spec__decode_map(d, v, where, false);
			ok = val.map != NULL;
			break;
		case SPEC_T_BRANCHES:
			ok = decode_branches(d, v, where, &val);
			break;
		case SPEC_T_SCHEDULE:
			ok = spec__decode_schedule(d, v, where, &val);
			break;
		default:
			ok = decode_scalar_field(d, (spec_field)leaf, v, where, &val);
		}
		if (!ok)
			continue;
		val.o = spec__origin_of(d, v);
		out->v[leaf] = val;
	}
}

void spec__decode_values(dec *d, const ynode *n, const char *prefix, const char *ypath, spec_values *out,
		   bool allow_profile)
{
	pthread_once(&LEVELS_ONCE, levels_build);
	int lv = -1;
	for (size_t i = 0; i < NLEVELS; i++)
		if (strcmp(LEVELS[i].prefix, prefix) == 0)
			lv = (int)i;
	if (lv < 0)
		abort(); /* a caller passed a prefix that is not a level of the field table */
	decode_level(d, n, &LEVELS[lv], ypath, out, allow_profile);
}
