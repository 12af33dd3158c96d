/*
 * test-fields.c: unit tests for the field table (diff/fields.c), the one
 * description of a project's plain fields.
 *
 * Every test walks the table, so a row added there is checked here with
 * no change to this file:
 *   - every manifest field whose `api` names a scalar of Neon's project
 *     has a row, and each row fits its manifest field's type;
 *   - each row's API path is a member of the OpenAPI document's Project
 *     and ProjectListItem (what refreshes read) and, unless it is
 *     immutable, of ProjectUpdateRequest (what a PATCH sends), with the
 *     row's type;
 *   - a project as Neon sends it, parsed by neon/ and copied into a
 *     state row (diff_fields_from_json, as engine/refresh.c does), kept
 *     by the state file, and compared with a manifest that differs in
 *     every field, makes one PATCH whose members are exactly the rows' API
 *     names (and nothing when it does not differ); both fingerprints see
 *     every row;
 *   - immutable and one-way rows block, and a member of the wrong type
 *     is refused with its path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "diff/internal.h"
#include "neon/neon.h"
#include "spec/spec.h"
#include "state/state.h"
#include "tests/sim/oapi.h"
#include "util/util.h"

/* A Project with the members the OpenAPI document requires (test-oapi.c's),
 * named as the fixture's fleet names tenant acme. */
static const char project_json[] =
	"{\"id\": \"hidden-river-50598307\", \"platform_id\": \"aws\", \"region_id\": \"aws-us-east-2\","
	" \"name\": \"t-acme\", \"pg_version\": 17, \"proxy_host\": \"us-east-2.aws.neon.tech\","
	" \"branch_logical_size_limit\": 0, \"branch_logical_size_limit_bytes\": 0,"
	" \"store_passwords\": true, \"cpu_used_sec\": 0, \"provisioner\": \"k8s-neonvm\","
	" \"creation_source\": \"console\", \"history_retention_seconds\": 86400,"
	" \"created_at\": \"2026-11-26T03:42:00Z\", \"updated_at\": \"2026-11-26T03:42:00.123456Z\","
	" \"owner_id\": \"u-1\", \"consumption_period_start\": \"2026-11-01T00:00:00Z\","
	" \"consumption_period_end\": \"2026-12-01T00:00:00+00:00\", \"active_time_seconds\": 0,"
	" \"compute_time_seconds\": 0, \"written_data_bytes\": 0, \"data_transfer_bytes\": 0,"
	" \"data_storage_bytes_hour\": 0}";

/* The structured members a PATCH sends with a row's: allowed IPs go in
 * one object with protected_branches_only (Neon replaces it whole). */
static const char *const SENT_WITH_ROWS[] = {"project.settings.allowed_ips.ips"};

/* Scalars of Neon's project that are not rows: the maintenance window is
 * cached and compared as one object (diff/project.c). */
static const spec_field NOT_ROWS[] = {SF_SETTINGS_MW_START_TIME, SF_SETTINGS_MW_END_TIME};

/* ----------------------------------------------------------- fixture */

typedef struct fixture {
	char dir[64];
	spec_fleet *fleet;
	spec_values sv;   /* tenant acme, merged */
	state *st;
	json_t *doc;      /* the OpenAPI document */
	oapi *o;
} fixture;

static void rm_rf(const char *path)
{
	struct stat sb;
	if (lstat(path, &sb) != 0)
		return;
	if (S_ISDIR(sb.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		while (d && (e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			char *child = xasprintf("%s/%s", path, e->d_name);
			rm_rf(child);
			free(child);
		}
		if (d)
			closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	free(path);
}

static int setup(void **ctx)
{
	fixture *fx = xcalloc(1, sizeof(*fx));
	str_copy(fx->dir, "/tmp/flotilla-fields-XXXXXX", sizeof(fx->dir));
	assert_non_null(mkdtemp(fx->dir));
	char *tenants = xasprintf("%s/tenants", fx->dir);
	assert_int_equal(mkdir(tenants, 0700), 0);
	free(tenants);
	write_file(fx->dir, "flotilla.yaml",
		   "apiVersion: flotilla/v1\nkind: Fleet\nmetadata: {name: prod}\nspec:\n  namePrefix: \"t-\"\n");
	write_file(fx->dir, "tenants/acme.yaml",
		   "apiVersion: flotilla/v1\nkind: Tenant\nmetadata: {name: acme}\nspec:\n  region: aws-us-east-2\n");
	spec_source *src = NULL;
	spec_diags *diags = spec_diags_new();
	assert_int_equal(spec_source_dir_new(&src, fx->dir), 0);
	assert_int_equal(spec_fleet_load(&fx->fleet, src, diags), 0);
	assert_int_equal(spec_diags_count(diags), 0);
	spec_diags_free(diags);
	spec_source_dir_free(src);
	const spec_tenant *t = spec_fleet_tenant_find(fx->fleet, "acme");
	assert_non_null(t);
	spec_tenant_resolve(fx->fleet, t, &fx->sv);

	char *db = xasprintf("%s/state.db", fx->dir);
	assert_int_equal(state_open(&fx->st, db), 0);
	free(db);
	fx->doc = json_load_file(oapi_default_path(), 0, NULL);
	if (!fx->doc) {
		char *up = xasprintf("../%s", oapi_default_path());
		fx->doc = json_load_file(up, 0, NULL);
		free(up);
	}
	assert_non_null(fx->doc);
	assert_int_equal(oapi_load_default(&fx->o), 0);
	*ctx = fx;
	return 0;
}

static int teardown(void **ctx)
{
	fixture *fx = *ctx;
	state_close(fx->st);
	spec_fleet_free(fx->fleet);
	json_decref(fx->doc);
	oapi_free(fx->o);
	rm_rf(fx->dir);
	free(fx);
	return 0;
}

/* ------------------------------------------------------------ helpers */

static void *member(state_project *p, const diff_field *df)
{
	return (char *)p + df->offset;
}

/* Does the row keep the same value in a and b? */
static bool same(const diff_field *df, state_project *a, state_project *b)
{
	void *x = member(a, df), *y = member(b, df);
	switch (df->type) {
	case DIFF_FIELD_I64: return *(int64_t *)x == *(int64_t *)y;
	case DIFF_FIELD_INT: return *(int *)x == *(int *)y;
	case DIFF_FIELD_BOOL: return *(bool *)x == *(bool *)y;
	case DIFF_FIELD_CU: return *(double *)x == *(double *)y;
	case DIFF_FIELD_STR: {
		const char *s = *(char **)x, *t = *(char **)y;
		return s && t ? strcmp(s, t) == 0 : s == t;
	}
	}
	return false;
}

/* Move the row's value in p to another one. */
static void nudge(const diff_field *df, state_project *p)
{
	void *m = member(p, df);
	switch (df->type) {
	case DIFF_FIELD_I64: *(int64_t *)m += 1; break;
	case DIFF_FIELD_INT: *(int *)m += 1; break;
	case DIFF_FIELD_BOOL: *(bool *)m = !*(bool *)m; break;
	case DIFF_FIELD_CU: *(double *)m += 0.25; break;
	case DIFF_FIELD_STR: *(char **)m = (char *)(uintptr_t)"nudged"; break;
	}
}

/* A live value of row i for Neon's JSON (new reference), one a manifest
 * can differ from: what the spec holds for an immutable row (which must
 * not differ), else a number unlike any default. */
static json_t *live_for(const fixture *fx, const diff_field *df, size_t i)
{
	const spec_val *v = &fx->sv.v[df->field];
	if (df->rule == DIFF_FIELD_IMMUTABLE)
		return df->type == DIFF_FIELD_STR ? json_string(v->s) : json_integer(v->i);
	switch (df->type) {
	case DIFF_FIELD_BOOL: return json_false();
	case DIFF_FIELD_CU: return json_real(0.25 * (double)(i + 1));
	case DIFF_FIELD_STR: return json_string("live");
	case DIFF_FIELD_I64:
	case DIFF_FIELD_INT: break;
	}
	return json_integer(3600 * (json_int_t)(i + 1));
}

/* The state row of Neon's project `j` as the refresh makes it
 * (engine/refresh.c): neon/ parses it, then the table's members come from
 * the project's JSON and the rest by hand. Borrows from np (release it). */
static void row_of(const json_t *j, neon_project *np, state_project *p)
{
	assert_int_equal(neon_project_parse(j, "GET /projects/{id}: project", np), 0);
	assert_ptr_equal(np->json, j);
	memset(p, 0, sizeof(*p));
	p->id = np->id;
	p->name = np->name;
	p->created_at = np->created_at;
	p->updated_at = np->updated_at;
	assert_int_equal(diff_fields_from_json(p, np->json, "project"), 0);
}

/* Set every row of p to the manifest's value. */
static void like_spec(const spec_values *sv, state_project *p)
{
	size_t n;
	const diff_field *t = diff_fields(&n);
	for (size_t i = 0; i < n; i++) {
		const spec_val *v = &sv->v[t[i].field];
		void *m = member(p, &t[i]);
		switch (t[i].type) {
		case DIFF_FIELD_I64: *(int64_t *)m = v->i; break;
		case DIFF_FIELD_INT: *(int *)m = (int)v->i; break;
		case DIFF_FIELD_BOOL: *(bool *)m = v->i != 0; break;
		case DIFF_FIELD_CU: *(double *)m = (double)v->i / 4.0; break;
		case DIFF_FIELD_STR: *(char **)m = (char *)(uintptr_t)v->s; break;
		}
	}
}

/* Every leaf of a JSON body as a dotted path ("project.settings.quota.
 * active_time_seconds"); arrays are leaves. */
static void leaves(const json_t *j, const char *prefix, char **out, size_t *n, size_t max)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)(uintptr_t)j, k, v) {
		char *path = *prefix ? xasprintf("%s.%s", prefix, k) : xstrdup(k);
		if (json_is_object(v)) {
			leaves(v, path, out, n, max);
			free(path);
		} else {
			assert_true(*n < max);
			out[(*n)++] = path;
		}
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The value at a dotted path, or NULL. */
static json_t *at(json_t *j, const char *path)
{
	char *copy = xstrdup(path), *save = NULL;
	for (char *seg = strtok_r(copy, ".", &save); seg && j; seg = strtok_r(NULL, ".", &save))
		j = json_object_get(j, seg);
	free(copy);
	return j;
}

/* --------------------------------------------------- the table's shape */

static bool names_project_scalar(spec_field f)
{
	const spec_field_info *fi = spec_field_get(f);
	if (!fi->api || strncmp(fi->api, "project.", 8) != 0)
		return false;
	/* prose, like "project.branch + branches/databases/roles" */
	if (strspn(fi->api, "abcdefghijklmnopqrstuvwxyz0123456789_.") != strlen(fi->api))
		return false;
	switch (fi->type) {
	case SPEC_T_STRLIST:
	case SPEC_T_INTLIST:
	case SPEC_T_MAP:
	case SPEC_T_BRANCHES: return false;
	default: return true;
	}
}

static bool type_fits(const diff_field *df)
{
	switch (spec_field_get(df->field)->type) {
	case SPEC_T_STRING: return df->type == DIFF_FIELD_STR;
	case SPEC_T_BOOL: return df->type == DIFF_FIELD_BOOL;
	case SPEC_T_CU: return df->type == DIFF_FIELD_CU;
	case SPEC_T_INT:
	case SPEC_T_DURATION:
	case SPEC_T_DURATION_NEVER:
	case SPEC_T_SIZE:
	case SPEC_T_QUOTA_TIME: return df->type == DIFF_FIELD_I64 || df->type == DIFF_FIELD_INT;
	default: return false;
	}
}

static void test_every_project_scalar_has_a_row(void **ctx)
{
	(void)ctx;
	for (int f = 0; f < SF__COUNT; f++) {
		bool excluded = false;
		for (size_t i = 0; i < ARRAY_LEN(NOT_ROWS); i++)
			excluded |= NOT_ROWS[i] == (spec_field)f;
		bool want = names_project_scalar((spec_field)f) && !excluded;
		const diff_field *df = diff_field_find((spec_field)f);
		if (want != (df != NULL))
			fail_msg("spec field '%s' (api %s): %s", spec_field_get((spec_field)f)->path,
				 spec_field_get((spec_field)f)->api ? spec_field_get((spec_field)f)->api : "none",
				 want ? "names a scalar of Neon's project but has no row in diff/fields.c"
				      : "has a row but names no scalar of Neon's project");
	}
}

static void test_rows_are_sound(void **ctx)
{
	(void)ctx;
	size_t n;
	const diff_field *t = diff_fields(&n);
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		const diff_field *df = &t[i];
		const char *api = spec_field_get(df->field)->api;
		if (!type_fits(df))
			fail_msg("row %s: its type does not fit the manifest field's", api);
		assert_true(df->offset < sizeof(state_project));
		assert_string_equal(diff_field_member(df), api + strlen("project."));
		if (df->rule == DIFF_FIELD_ONE_WAY) {
			assert_int_equal(df->type, DIFF_FIELD_BOOL);
			assert_non_null(df->why);
			/* sent only to turn it on: never as a sibling in a whole object */
			assert_false(diff_api_whole(api));
		}
		for (size_t j = 0; j < n; j++) {
			if (i == j)
				continue;
			const char *other = spec_field_get(t[j].field)->api;
			assert_true(t[j].field != df->field);
			assert_true(t[j].offset != df->offset);
			/* no row's member is inside another's */
			if (strncmp(other, api, strlen(api)) == 0 && other[strlen(api)] == '.')
				fail_msg("row %s is inside row %s", other, api);
		}
	}
}

/* ------------------------------------------------------ the API's shape */

static const json_t *deref(const fixture *fx, const json_t *s)
{
	const char *ref;
	while (s && (ref = json_string_value(json_object_get(s, "$ref"))) != NULL) {
		assert_int_equal(strncmp(ref, "#/components/schemas/", 21), 0);
		s = json_object_get(json_object_get(json_object_get(fx->doc, "components"), "schemas"), ref + 21);
	}
	return s;
}

/* The schema of member `name` of object schema s (its own properties, or
 * those of an allOf part), or NULL. */
static const json_t *prop(const fixture *fx, const json_t *s, const char *name)
{
	s = deref(fx, s);
	const json_t *p = json_object_get(json_object_get(s, "properties"), name);
	if (p)
		return p;
	size_t i;
	const json_t *part;
	json_array_foreach(json_object_get(s, "allOf"), i, part) {
		if ((p = prop(fx, part, name)) != NULL)
			return p;
	}
	return NULL;
}

static const json_t *schema_at(const fixture *fx, const json_t *s, const char *path)
{
	char *copy = xstrdup(path), *save = NULL;
	for (char *seg = strtok_r(copy, ".", &save); seg && s; seg = strtok_r(NULL, ".", &save))
		s = prop(fx, s, seg);
	free(copy);
	return deref(fx, s);
}

static void check_member(const fixture *fx, const char *root, const json_t *schema, const diff_field *df)
{
	static const char *const type[] = {
		[DIFF_FIELD_I64] = "integer", [DIFF_FIELD_INT] = "integer", [DIFF_FIELD_BOOL] = "boolean",
		[DIFF_FIELD_CU] = "number", [DIFF_FIELD_STR] = "string",
	};
	const char *path = diff_field_member(df);
	const json_t *s = schema_at(fx, schema, path);
	if (!s)
		fail_msg("row %s: %s has no member %s (vendor/neon-api/openapi-v2.json)",
			 spec_field_get(df->field)->path, root, path);
	const char *got = json_string_value(json_object_get(s, "type"));
	if (!got || strcmp(got, type[df->type]) != 0)
		fail_msg("row %s: %s.%s is %s in the OpenAPI document, the row says %s",
			 spec_field_get(df->field)->path, root, path, got ? got : "untyped", type[df->type]);
}

static void test_rows_are_api_members(void **ctx)
{
	fixture *fx = *ctx;
	const json_t *schemas = json_object_get(json_object_get(fx->doc, "components"), "schemas");
	const json_t *project = json_object_get(schemas, "Project");
	const json_t *item = json_object_get(schemas, "ProjectListItem");
	const json_t *update = prop(fx, json_object_get(schemas, "ProjectUpdateRequest"), "project");
	assert_non_null(project);
	assert_non_null(item);
	assert_non_null(update);
	size_t n;
	const diff_field *t = diff_fields(&n);
	for (size_t i = 0; i < n; i++) {
		check_member(fx, "Project", project, &t[i]);
		check_member(fx, "ProjectListItem", item, &t[i]);
		if (t[i].rule != DIFF_FIELD_IMMUTABLE)
			check_member(fx, "ProjectUpdateRequest.project", update, &t[i]);
	}
}

/* ------------------------------------------ Neon's JSON to a PATCH body */

/* Neon's project with a live value at every row's path, checked against
 * the document's Project schema (new reference). */
static json_t *neon_json(const fixture *fx)
{
	json_t *j = json_loads(project_json, 0, NULL);
	assert_non_null(j);
	size_t n;
	const diff_field *t = diff_fields(&n);
	for (size_t i = 0; i < n; i++)
		diff__api_set(j, diff_field_member(&t[i]), live_for(fx, &t[i], i));
	buf errs = BUF_INIT(4096);
	int bad = oapi_check(fx->o, oapi_component(fx->o, "Project"), j, &errs);
	if (bad)
		fail_msg("the test's project is not a Project: %.*s", (int)errs.len, errs.data);
	buf_release(&errs);
	return j;
}

static void test_neon_json_to_patch(void **ctx)
{
	fixture *fx = *ctx;
	json_t *j = neon_json(fx);
	size_t n;
	const diff_field *t = diff_fields(&n);

	/* into a state row: each member holds what Neon sent */
	neon_project np;
	state_project p;
	row_of(j, &np, &p);
	for (size_t i = 0; i < n; i++) {
		state_project want;
		memset(&want, 0, sizeof(want));
		json_t *v = live_for(fx, &t[i], i);
		void *m = member(&want, &t[i]);
		switch (t[i].type) {
		case DIFF_FIELD_I64: *(int64_t *)m = json_integer_value(v); break;
		case DIFF_FIELD_INT: *(int *)m = (int)json_integer_value(v); break;
		case DIFF_FIELD_BOOL: *(bool *)m = json_is_true(v); break;
		case DIFF_FIELD_CU: *(double *)m = json_number_value(v); break;
		case DIFF_FIELD_STR: *(char **)m = (char *)(uintptr_t)json_string_value(v); break;
		}
		if (!same(&t[i], &p, &want))
			fail_msg("row %s: the state row does not hold Neon's value", spec_field_get(t[i].field)->path);
		json_decref(v);
	}

	/* the state file keeps every member, and both fingerprints see it */
	state_project got;
	assert_int_equal(state_project_put(fx->st, &p, false), 0);
	assert_int_equal(state_project_get(fx->st, p.id, &got), 0);
	char fp[STATE_FINGERPRINT_LEN + 1], fp2[STATE_FINGERPRINT_LEN + 1];
	char pf[SHA256_HEX_LEN + 1], pf2[SHA256_HEX_LEN + 1];
	state_project_fingerprint(&got, fp);
	plan_fingerprint(&got, NULL, pf);
	for (size_t i = 0; i < n; i++) {
		const char *path = spec_field_get(t[i].field)->path;
		if (!same(&t[i], &p, &got))
			fail_msg("row %s: the state file does not keep it (state/projects.c)", path);
		state_project moved = got;
		nudge(&t[i], &moved);
		state_project_fingerprint(&moved, fp2);
		plan_fingerprint(&moved, NULL, pf2);
		if (strcmp(fp, fp2) == 0)
			fail_msg("row %s: state_project_fingerprint does not see it", path);
		if (strcmp(pf, pf2) == 0)
			fail_msg("row %s: plan_fingerprint does not see it", path);
	}

	/* a manifest that differs in every field but the immutable ones */
	spec_values sv = fx->sv;
	size_t nsent = 0;
	for (size_t i = 0; i < n; i++) {
		if (t[i].rule == DIFF_FIELD_IMMUTABLE)
			continue;
		spec_val *v = &sv.v[t[i].field];
		switch (t[i].type) {
		case DIFF_FIELD_BOOL: v->i = !field_live(&t[i], &got); break;
		case DIFF_FIELD_STR: v->s = "wanted"; break;
		default: v->i = field_live(&t[i], &got) + (t[i].type == DIFF_FIELD_CU ? 1 : 3600); break;
		}
		nsent++;
	}
	act x;
	memset(&x, 0, sizeof(x));
	diff__project(&x, fx->fleet, "acme", &sv, &got);
	assert_int_not_equal(x.a.kind, PLAN_BLOCKED);

	/* one change line per row, in the table's order, under its manifest path */
	assert_int_equal(x.a.nchanges, nsent);
	for (size_t i = 0, c = 0; i < n; i++) {
		if (t[i].rule == DIFF_FIELD_IMMUTABLE)
			continue;
		assert_string_equal(x.a.changes[c].path, spec_field_get(t[i].field)->path);
		assert_string_not_equal(x.a.changes[c].from, x.a.changes[c].to);
		c++;
	}

	/* one PATCH whose members are exactly the rows' API names */
	assert_int_equal(x.a.ncalls, 1);
	assert_string_equal(x.a.calls[0].method, "PATCH");
	char *path = xasprintf("/projects/%s", got.id);
	assert_string_equal(x.a.calls[0].path, path);
	free(path);
	char *have[64], *want[64];
	size_t nhave = 0, nwant = 0;
	leaves(x.a.calls[0].body, "", have, &nhave, ARRAY_LEN(have));
	for (size_t i = 0; i < n; i++)
		if (t[i].rule != DIFF_FIELD_IMMUTABLE)
			want[nwant++] = xstrdup(spec_field_get(t[i].field)->api);
	for (size_t i = 0; i < ARRAY_LEN(SENT_WITH_ROWS); i++)
		want[nwant++] = xstrdup(SENT_WITH_ROWS[i]);
	qsort(have, nhave, sizeof(*have), cmp_str);
	qsort(want, nwant, sizeof(*want), cmp_str);
	for (size_t i = 0; i < nhave || i < nwant; i++) {
		if (i >= nhave || i >= nwant || strcmp(have[i], want[i]) != 0)
			fail_msg("PATCH body member %zu: %s, expected %s", i, i < nhave ? have[i] : "(none)",
				 i < nwant ? want[i] : "(none)");
	}
	for (size_t i = 0; i < nhave; i++)
		free(have[i]);
	for (size_t i = 0; i < nwant; i++)
		free(want[i]);
	/* with the manifest's values, as the API takes them */
	for (size_t i = 0; i < n; i++) {
		if (t[i].rule == DIFF_FIELD_IMMUTABLE)
			continue;
		json_t *v = diff__field_json(&t[i], &sv.v[t[i].field]);
		assert_true(json_equal(at(x.a.calls[0].body, spec_field_get(t[i].field)->api), v));
		json_decref(v);
	}
	diff__act_release(&x.a);

	/* and a project that matches its manifest makes no call */
	memset(&x, 0, sizeof(x));
	state_project equal = got; /* like_spec borrows the manifest's strings */
	like_spec(&sv, &equal);
	diff__project(&x, fx->fleet, "acme", &sv, &equal);
	assert_int_equal(x.a.nchanges, 0);
	assert_int_equal(x.a.ncalls, 0);
	diff__act_release(&x.a);

	state_project_release(&got);
	neon_project_release(&np);
	json_decref(j);
}

/* ------------------------------------------------------------- rules */

static void test_immutable_rows_block(void **ctx)
{
	fixture *fx = *ctx;
	json_t *j = json_loads(project_json, 0, NULL);
	json_object_set_new(j, "region_id", json_string("aws-eu-central-1"));
	json_object_set_new(j, "pg_version", json_integer(16));
	neon_project np;
	state_project p;
	row_of(j, &np, &p);
	act x;
	memset(&x, 0, sizeof(x));
	diff__immutable(&x, "acme", &fx->sv, &p);
	assert_int_equal(x.a.kind, PLAN_BLOCKED);
	assert_int_equal(x.a.nchanges, 2);
	assert_string_equal(x.a.changes[0].path, "region");
	assert_string_equal(x.a.changes[0].from, "aws-eu-central-1");
	assert_string_equal(x.a.changes[0].to, "aws-us-east-2");
	assert_string_equal(x.a.changes[1].path, "pgVersion");
	assert_string_equal(x.a.changes[1].from, "16");
	assert_string_equal(x.a.changes[1].to, "17");
	assert_string_equal(x.a.reason,
			    "tenant 'acme': region cannot change from 'aws-eu-central-1' to 'aws-us-east-2' (it is "
			    "immutable; a replacement would destroy the tenant's data); tenant 'acme': pgVersion cannot "
			    "change from '16' to '17' (it is immutable; a replacement would destroy the tenant's data)");
	diff__act_release(&x.a);
	neon_project_release(&np);
	json_decref(j);
}

static void test_one_way_rows_block(void **ctx)
{
	fixture *fx = *ctx;
	size_t n, none = 0;
	const diff_field *t = diff_fields(&n);
	for (size_t i = 0; i < n; i++) {
		if (t[i].rule != DIFF_FIELD_ONE_WAY)
			continue;
		none++;
		json_t *j = json_loads(project_json, 0, NULL);
		neon_project np;
		state_project p;
		row_of(j, &np, &p);
		spec_values sv = fx->sv;
		like_spec(&sv, &p);
		*(bool *)member(&p, &t[i]) = true; /* on in Neon, off in the manifest */
		sv.v[t[i].field].i = 0;
		act x;
		memset(&x, 0, sizeof(x));
		diff__project(&x, fx->fleet, "acme", &sv, &p);
		assert_int_equal(x.a.kind, PLAN_BLOCKED);
		assert_int_equal(x.a.nchanges, 1);
		assert_string_equal(x.a.changes[0].path, spec_field_get(t[i].field)->path);
		assert_string_equal(x.a.changes[0].from, "true");
		assert_string_equal(x.a.changes[0].to, "false");
		char *why = xasprintf("tenant 'acme': %s", t[i].why);
		assert_string_equal(x.a.reason, why);
		free(why);
		assert_int_equal(x.a.ncalls, 0);
		diff__act_release(&x.a);
		neon_project_release(&np);
		json_decref(j);
	}
	assert_true(none > 0); /* logical replication */
}

static void test_from_json_refuses_wrong_types(void **ctx)
{
	(void)ctx;
	size_t n;
	const diff_field *t = diff_fields(&n);
	state_project p;
	for (size_t i = 0; i < n; i++) {
		const char *path = diff_field_member(&t[i]);
		json_t *j = json_object();
		diff__api_set(j, path, t[i].type == DIFF_FIELD_BOOL ? json_string("yes") : json_true());
		memset(&p, 0, sizeof(p));
		assert_int_equal(diff_fields_from_json(&p, j, "project p-1"), ERR_INVALID);
		assert_non_null(strstr(err_msg(), path));
		assert_int_equal(strncmp(err_msg(), "project p-1.", 12), 0);
		json_decref(j);

		/* an object on the way that is not one */
		const char *dot = strchr(path, '.');
		if (dot) {
			j = json_object();
			json_object_setn_new(j, path, (size_t)(dot - path), json_integer(5));
			assert_int_equal(diff_fields_from_json(&p, j, "project p-1"), ERR_INVALID);
			char *msg = xasprintf("project p-1.%.*s: expected an object", (int)(dot - path), path);
			assert_string_equal(err_msg(), msg);
			free(msg);
			json_decref(j);
		}
	}
	/* absent and null members read as zero */
	json_t *j = json_pack("{s:n,s:{s:n}}", "history_retention_seconds", "settings", "quota");
	memset(&p, 0xff, sizeof(p));
	assert_int_equal(diff_fields_from_json(&p, j, "project p-1"), 0);
	for (size_t i = 0; i < n; i++) {
		state_project zero;
		memset(&zero, 0, sizeof(zero));
		assert_true(same(&t[i], &p, &zero));
	}
	json_decref(j);
	assert_int_equal(diff_fields_from_json(&p, NULL, "project p-1"), ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_project_scalar_has_a_row),
		cmocka_unit_test(test_rows_are_sound),
		cmocka_unit_test_setup_teardown(test_rows_are_api_members, setup, teardown),
		cmocka_unit_test_setup_teardown(test_neon_json_to_patch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_immutable_rows_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_way_rows_block, setup, teardown),
		cmocka_unit_test(test_from_json_refuses_wrong_types),
	};
	return cmocka_run_group_tests_name("fields", tests, NULL, NULL);
}
