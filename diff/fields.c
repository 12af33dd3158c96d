/*
 * fields.c: the field table (diff.h, "Project fields"), one row for each
 * manifest field that is one plain value of Neon's project object.
 *
 * Before it, a project was described three times, with a copy by hand
 * between each: neon/'s struct, the state file's row, and the plan's
 * comparison with its PATCH names. Now a row says which manifest field it
 * is (the spec's table has its path, its type, and its API path in the
 * `api` column) and where state_project keeps it; the copy from Neon's
 * JSON (diff_fields_from_json), the comparison and the PATCH body
 * (project.c) all walk the rows.
 *
 * Adding a Neon project field that is one scalar:
 *   1. spec/: its SF_ name and FIELDS row, with `api` its path in Neon's
 *      Project ("project.settings.hipaa"), a built-in default when Neon's
 *      is not 0, and docs/manifest.md;
 *   2. state/: the state_project member and its column (a migration, the
 *      upsert, the read), and the member in both fingerprints
 *      (state_project_fingerprint, plan_fingerprint in plan.c);
 *   3. here: its row. Rows are in the order of the plan's change lines;
 *      project.c puts the structured fields' lines among them (before
 *      protectedBranchesOnly, before compute.minCu, and last). A member of
 *      an object Neon replaces whole goes with its siblings on its own
 *      (WHOLE below);
 *   4. tests/unit/test-fields.c walks the rows, so the new one is checked
 *      with no change there: that its manifest field has a row, that its
 *      path is a member of the OpenAPI document's Project, ProjectListItem
 *      and (unless immutable) ProjectUpdateRequest with the row's type,
 *      that the state file keeps it and both fingerprints see it, and that
 *      Neon's JSON through the cache into a plan makes a PATCH that names
 *      it. Extend it for a new type or rule; add a tests/data/plan case
 *      for a rule of the field's own;
 *   5. a project create sends it only when diff/calls.c's create_body
 *      names it (a create's body has rules of its own: what it sends only
 *      when set); without that, the first plan after a create patches it.
 * Once the row is in, a refresh copies the field, a plan compares it and
 * a PATCH sends it, with no other change.
 */
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "diff/internal.h"

#define ROW(f, member, t) .field = (f), .offset = offsetof(state_project, member), .type = (t)

static const diff_field FIELDS[] = {
	{ROW(SF_REGION, region_id, DIFF_FIELD_STR), .rule = DIFF_FIELD_IMMUTABLE},
	{ROW(SF_PG_VERSION, pg_version, DIFF_FIELD_INT), .rule = DIFF_FIELD_IMMUTABLE},
	{ROW(SF_HISTORY_RETENTION, history_retention_seconds, DIFF_FIELD_I64)},
	{ROW(SF_QUOTA_ACTIVE_TIME, quota_active_time, DIFF_FIELD_I64)},
	{ROW(SF_QUOTA_COMPUTE_TIME, quota_compute_time, DIFF_FIELD_I64)},
	{ROW(SF_QUOTA_WRITTEN_DATA, quota_written_data, DIFF_FIELD_I64)},
	{ROW(SF_QUOTA_DATA_TRANSFER, quota_data_transfer, DIFF_FIELD_I64)},
	{ROW(SF_QUOTA_LOGICAL_SIZE, quota_logical_size, DIFF_FIELD_I64)},
	{ROW(SF_SETTINGS_PROTECTED_BRANCHES_ONLY, protected_branches_only, DIFF_FIELD_BOOL)},
	{ROW(SF_SETTINGS_LOGICAL_REPLICATION, logical_replication, DIFF_FIELD_BOOL), .rule = DIFF_FIELD_ONE_WAY,
	 .why = "logical replication cannot be turned off once enabled"},
	{ROW(SF_SETTINGS_BLOCK_PUBLIC_CONNECTIONS, block_public_connections, DIFF_FIELD_BOOL)},
	{ROW(SF_COMPUTE_MIN_CU, min_cu, DIFF_FIELD_CU)},
	{ROW(SF_COMPUTE_MAX_CU, max_cu, DIFF_FIELD_CU)},
	/* Neon reads a suspend timeout of 0 as its default, 300 s */
	{ROW(SF_COMPUTE_SUSPEND_TIMEOUT, suspend_timeout_seconds, DIFF_FIELD_I64), .live_zero = 300},
};

/* The objects Neon replaces whole on PATCH (plan.c's rules): a partial
 * one would reset the members it leaves out, so one changed member sends
 * all of them, the structured ones included. */
static const char *const WHOLE[] = {
	"project.default_endpoint_settings",
	"project.settings.quota",
	"project.settings.allowed_ips",
	"project.settings.maintenance_window",
};

#define PROJECT_PREFIX "project."

const diff_field *diff_fields(size_t *n)
{
	*n = ARRAY_LEN(FIELDS);
	return FIELDS;
}

const diff_field *diff_field_find(spec_field f)
{
	for (size_t i = 0; i < ARRAY_LEN(FIELDS); i++)
		if (FIELDS[i].field == f)
			return &FIELDS[i];
	return NULL;
}

const char *diff_field_member(const diff_field *df)
{
	/* every row's api starts so: test-fields.c checks it */
	return spec_field_get(df->field)->api + strlen(PROJECT_PREFIX);
}

bool diff_api_whole(const char *api)
{
	const char *dot = api ? strrchr(api, '.') : NULL;
	if (!dot)
		return false;
	size_t n = (size_t)(dot - api);
	for (size_t i = 0; i < ARRAY_LEN(WHOLE); i++)
		if (strlen(WHOLE[i]) == n && memcmp(WHOLE[i], api, n) == 0)
			return true;
	return false;
}

void diff__api_set(json_t *root, const char *path, json_t *v)
{
	json_t *o = root;
	const char *seg = path, *dot;
	while ((dot = strchr(seg, '.')) != NULL) {
		size_t n = (size_t)(dot - seg);
		json_t *next = json_object_getn(o, seg, n);
		if (!next) {
			next = json_object();
			json_object_setn_new(o, seg, n, next); /* steals next; o keeps it alive */
		}
		o = next;
		seg = dot + 1;
	}
	json_object_set_new(o, seg, v); /* steals v */
}

/* The member of `obj` at a dotted path: NULL when it, or an object on the
 * way, is absent or null; ERR_INVALID when one on the way is not an
 * object. */
static int api_get(const json_t *obj, const char *path, const char *where, const json_t **out)
{
	const char *seg = path, *dot;
	*out = NULL;
	for (;;) {
		dot = strchr(seg, '.');
		const json_t *v = json_object_getn(obj, seg, dot ? (size_t)(dot - seg) : strlen(seg));
		if (!v || json_is_null(v))
			return 0;
		if (!dot) {
			*out = v;
			return 0;
		}
		if (!json_is_object(v))
			return err_set(ERR_INVALID, "%s.%.*s: expected an object", where, (int)(dot - path), path);
		obj = v;
		seg = dot + 1;
	}
}

int diff_fields_from_json(state_project *out, const json_t *project, const char *where)
{
	if (!json_is_object(project))
		return err_set(ERR_INVALID, "%s: expected an object", where);
	for (size_t i = 0; i < ARRAY_LEN(FIELDS); i++) {
		const diff_field *df = &FIELDS[i];
		const char *path = diff_field_member(df);
		const json_t *v;
		int rc = api_get(project, path, where, &v);
		if (rc != 0)
			return rc;
		char *m = (char *)out + df->offset;
		bool ok = true;
		switch (df->type) {
		case DIFF_FIELD_I64:
			ok = !v || json_is_integer(v);
			*(int64_t *)m = ok && v ? (int64_t)json_integer_value(v) : 0;
			break;
		case DIFF_FIELD_INT:
			ok = !v || (json_is_integer(v) && json_integer_value(v) >= INT_MIN &&
				    json_integer_value(v) <= INT_MAX);
			*(int *)m = ok && v ? (int)json_integer_value(v) : 0;
			break;
		case DIFF_FIELD_BOOL:
			ok = !v || json_is_boolean(v);
			*(bool *)m = ok && v && json_is_true(v);
			break;
		case DIFF_FIELD_CU:
			ok = !v || json_is_number(v);
			*(double *)m = ok && v ? json_number_value(v) : 0;
			break;
		case DIFF_FIELD_STR:
			ok = !v || json_is_string(v);
			/* state_project's strings are char * it only reads when writing */
			*(char **)m = ok && v ? (char *)(uintptr_t)json_string_value(v) : NULL;
			break;
		}
		if (!ok) {
			static const char *const what[] = {
				[DIFF_FIELD_I64] = "an integer", [DIFF_FIELD_INT] = "an integer",
				[DIFF_FIELD_BOOL] = "a boolean", [DIFF_FIELD_CU] = "a number",
				[DIFF_FIELD_STR] = "a string",
			};
			return err_set(ERR_INVALID, "%s.%s: expected %s", where, path, what[df->type]);
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- values */

int64_t field_live(const diff_field *df, const state_project *p)
{
	const char *m = (const char *)p + df->offset;
	int64_t v = 0;
	switch (df->type) {
	case DIFF_FIELD_I64: v = *(const int64_t *)m; break;
	case DIFF_FIELD_INT: v = *(const int *)m; break;
	case DIFF_FIELD_BOOL: v = *(const bool *)m; break;
	case DIFF_FIELD_CU: v = cu_quarters(*(const double *)m); break;
	case DIFF_FIELD_STR: break;
	}
	return v == 0 ? df->live_zero : v;
}

const char *diff__field_live_str(const diff_field *df, const state_project *p)
{
	return *(char *const *)((const char *)p + df->offset);
}

bool diff__field_differs(const diff_field *df, const spec_values *sv, const state_project *p)
{
	const spec_val *want = &sv->v[df->field];
	if (df->type == DIFF_FIELD_STR) {
		const char *live = diff__field_live_str(df, p);
		return !live || !want->s ? live != want->s : strcmp(live, want->s) != 0;
	}
	if (df->type == DIFF_FIELD_BOOL)
		return (want->i != 0) != (field_live(df, p) != 0);
	return field_live(df, p) != want->i;
}

void diff__field_format(const diff_field *df, int64_t v, char out[32])
{
	switch (spec_field_get(df->field)->type) {
	case SPEC_T_BOOL: diff__fmt_bool(v, out); break;
	case SPEC_T_DURATION:
	case SPEC_T_DURATION_NEVER: diff__fmt_duration(v, out); break;
	case SPEC_T_QUOTA_TIME: diff__fmt_quota_time(v, out); break;
	case SPEC_T_SIZE: diff__fmt_size(v, out); break;
	case SPEC_T_CU: diff__fmt_cu(v, out); break;
	default: snprintf(out, 32, "%" PRId64, v); break;
	}
}

json_t *diff__field_json(const diff_field *df, const spec_val *v)
{
	switch (df->type) {
	case DIFF_FIELD_BOOL: return json_boolean(v->i);
	case DIFF_FIELD_CU: return diff__cu_json(v->i);
	case DIFF_FIELD_STR: return json_string(v->s);
	case DIFF_FIELD_I64:
	case DIFF_FIELD_INT: break;
	}
	return json_integer(v->i);
}
