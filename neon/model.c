/*
 * model.c: the API's JSON mapped onto neon.h's typed structs.
 *
 * Required means required by openapi-v2.json for the schema the struct
 * mirrors (ProjectListItem, Branch, Endpoint, Database, Role, Operation,
 * RegionResponse); an optional member that is absent or null leaves its
 * zero. A required member that is missing, or any member of the wrong
 * type, fails the whole object with ERR_INVALID and a message that names
 * the field by its path: "GET /projects: projects[3].pg_version: expected
 * an integer". Members we do not map are ignored, as the API adds fields.
 *
 * Strings are copied; objects and arrays kept whole (pg_settings,
 * allowed_ips, maintenance_window, annotations, and a project itself) are
 * taken with json_incref, which keeps them alive after the response body
 * is freed. A role's password is never read.
 */
#include <string.h>

#include "neon/internal.h"

/* ---------------------------------------------------------------- fields */

static int missing(const char *where, const char *field)
{
	return err_set(ERR_INVALID, "%s.%s: required but missing", where, field);
}

static int wrong(const char *where, const char *field, const char *what, const json_t *v)
{
	return err_set(ERR_INVALID, "%s.%s: expected %s%s", where, field, what,
		       json_is_null(v) ? ", got null" : "");
}

/* The member, or NULL when absent; *rc is set when a required one is
 * absent (an optional null counts as absent). */
static const json_t *member(const json_t *o, const char *where, const char *field, bool required,
			    int *rc)
{
	const json_t *v = json_object_get(o, field);

	*rc = 0;
	if (!v && required)
		*rc = missing(where, field);
	if (v && json_is_null(v) && !required)
		return NULL;
	return v;
}

static int get_str(const json_t *o, const char *where, const char *field, bool required, char **out)
{
	int rc;
	const json_t *v = member(o, where, field, required, &rc);

	if (rc || !v)
		return rc;
	if (!json_is_string(v))
		return wrong(where, field, "a string", v);
	*out = xstrdup(json_string_value(v));
	return 0;
}

static int get_int(const json_t *o, const char *where, const char *field, bool required, int64_t *out)
{
	int rc;
	const json_t *v = member(o, where, field, required, &rc);

	if (rc || !v)
		return rc;
	if (!json_is_integer(v))
		return wrong(where, field, "an integer", v);
	*out = (int64_t)json_integer_value(v);
	return 0;
}

/* A number: compute units come as 0.25 or as 1 */
static int get_num(const json_t *o, const char *where, const char *field, bool required, double *out)
{
	int rc;
	const json_t *v = member(o, where, field, required, &rc);

	if (rc || !v)
		return rc;
	if (!json_is_number(v))
		return wrong(where, field, "a number", v);
	*out = json_number_value(v);
	return 0;
}

static int get_bool(const json_t *o, const char *where, const char *field, bool required, bool *out)
{
	int rc;
	const json_t *v = member(o, where, field, required, &rc);

	if (rc || !v)
		return rc;
	if (!json_is_boolean(v))
		return wrong(where, field, "a boolean", v);
	*out = json_is_true(v);
	return 0;
}

/* An optional object whose values must all be strings (pg_settings,
 * annotations), taken whole. */
static int get_string_map(const json_t *o, const char *where, const char *field, json_t **out)
{
	const char *k;
	json_t *v, *obj;
	int rc;

	obj = (json_t *)member(o, where, field, false, &rc);
	if (!obj)
		return 0;
	if (!json_is_object(obj))
		return wrong(where, field, "an object", obj);
	json_object_foreach(obj, k, v) {
		if (!json_is_string(v))
			return err_set(ERR_INVALID, "%s.%s.%s: expected a string", where, field, k);
	}
	*out = json_incref(obj);
	return 0;
}

/* An optional object member, borrowed; NULL when absent. */
static int get_object(const json_t *o, const char *where, const char *field, const json_t **out)
{
	int rc;
	const json_t *v = member(o, where, field, false, &rc);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_object(v))
		return wrong(where, field, "an object", v);
	*out = v;
	return 0;
}

static int need_object(const json_t *j, const char *where)
{
	if (!json_is_object(j))
		return err_set(ERR_INVALID, "%s: expected an object", where);
	return 0;
}

/* -------------------------------------------------------------- projects */

static int parse_quota(const json_t *q, const char *where, neon_quota *out)
{
	int rc;

	if ((rc = get_int(q, where, "active_time_seconds", false, &out->active_time_seconds)) ||
	    (rc = get_int(q, where, "compute_time_seconds", false, &out->compute_time_seconds)) ||
	    (rc = get_int(q, where, "written_data_bytes", false, &out->written_data_bytes)) ||
	    (rc = get_int(q, where, "data_transfer_bytes", false, &out->data_transfer_bytes)) ||
	    (rc = get_int(q, where, "logical_size_bytes", false, &out->logical_size_bytes)))
		return rc;
	return 0;
}

static int parse_settings(const json_t *s, const char *where, neon_project *p)
{
	const json_t *quota, *ips, *list, *v;
	char sub[512];
	size_t i;
	int rc;

	if ((rc = get_object(s, where, "quota", &quota)))
		return rc;
	if (quota) {
		snprintf(sub, sizeof(sub), "%s.quota", where);
		if ((rc = parse_quota(quota, sub, &p->quota)))
			return rc;
		p->has_quota = true;
	}
	if ((rc = get_object(s, where, "allowed_ips", &ips)))
		return rc;
	if (ips) {
		snprintf(sub, sizeof(sub), "%s.allowed_ips", where);
		list = member(ips, sub, "ips", false, &rc);
		if (list && !json_is_array(list))
			return wrong(sub, "ips", "an array", list);
		json_array_foreach(list, i, v) {
			if (!json_is_string(v))
				return err_set(ERR_INVALID, "%s.ips[%zu]: expected a string", sub, i);
		}
		if (list)
			p->allowed_ips = json_incref((json_t *)list);
		if ((rc = get_bool(ips, sub, "protected_branches_only", false, &p->protected_branches_only)))
			return rc;
	}
	if ((rc = get_bool(s, where, "enable_logical_replication", false, &p->logical_replication)) ||
	    (rc = get_bool(s, where, "block_public_connections", false, &p->block_public_connections)))
		return rc;
	if ((rc = get_object(s, where, "maintenance_window", &v)))
		return rc;
	if (v)
		p->maintenance_window = json_incref((json_t *)v);
	return 0;
}

static int parse_endpoint_defaults(const json_t *d, const char *where, neon_project *p)
{
	int rc;

	if ((rc = get_num(d, where, "autoscaling_limit_min_cu", false, &p->min_cu)) ||
	    (rc = get_num(d, where, "autoscaling_limit_max_cu", false, &p->max_cu)) ||
	    (rc = get_int(d, where, "suspend_timeout_seconds", false, &p->suspend_timeout_seconds)) ||
	    (rc = get_string_map(d, where, "pg_settings", &p->pg_settings)))
		return rc;
	return 0;
}

int neon_project_parse(const json_t *j, const char *where, neon_project *out)
{
	neon_project p;
	const json_t *obj;
	char sub[512];
	int64_t pg = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));
	if ((rc = need_object(j, where)))
		return rc;
	if ((rc = get_str(j, where, "id", true, &p.id)) || (rc = get_str(j, where, "name", true, &p.name)) ||
	    (rc = get_str(j, where, "region_id", true, &p.region_id)) ||
	    (rc = get_str(j, where, "org_id", false, &p.org_id)) ||
	    (rc = get_int(j, where, "pg_version", true, &pg)) ||
	    (rc = get_int(j, where, "history_retention_seconds", false, &p.history_retention_seconds)) ||
	    (rc = get_str(j, where, "created_at", true, &p.created_at)) ||
	    (rc = get_str(j, where, "updated_at", true, &p.updated_at)) ||
	    (rc = get_str(j, where, "deleted_at", false, &p.deleted_at)))
		goto fail;
	if (pg < 1 || pg > 1000) {
		rc = err_set(ERR_INVALID, "%s.pg_version: %lld is not a Postgres major version", where,
			     (long long)pg);
		goto fail;
	}
	p.pg_version = (int)pg;
	if ((rc = get_object(j, where, "default_endpoint_settings", &obj)))
		goto fail;
	if (obj) {
		snprintf(sub, sizeof(sub), "%s.default_endpoint_settings", where);
		if ((rc = parse_endpoint_defaults(obj, sub, &p)))
			goto fail;
	}
	if ((rc = get_object(j, where, "settings", &obj)))
		goto fail;
	if (obj) {
		snprintf(sub, sizeof(sub), "%s.settings", where);
		if ((rc = parse_settings(obj, sub, &p)))
			goto fail;
	}
	p.json = json_incref((json_t *)j);
	*out = p;
	return 0;
fail:
	neon_project_release(&p);
	return rc;
}

void neon_project_release(neon_project *p)
{
	if (!p)
		return;
	free(p->id);
	free(p->name);
	free(p->region_id);
	free(p->org_id);
	free(p->created_at);
	free(p->updated_at);
	free(p->deleted_at);
	json_decref(p->pg_settings);
	json_decref(p->allowed_ips);
	json_decref(p->maintenance_window);
	json_decref(p->json);
	memset(p, 0, sizeof(*p));
}

/* --------------------------------------------------------------- branches */

int neon_branch_parse(const json_t *j, const char *where, neon_branch *out)
{
	neon_branch b;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&b, 0, sizeof(b));
	if ((rc = need_object(j, where)))
		return rc;
	if ((rc = get_str(j, where, "id", true, &b.id)) ||
	    (rc = get_str(j, where, "project_id", true, &b.project_id)) ||
	    (rc = get_str(j, where, "name", true, &b.name)) ||
	    (rc = get_str(j, where, "parent_id", false, &b.parent_id)) ||
	    (rc = get_bool(j, where, "default", true, &b.is_default)) ||
	    (rc = get_bool(j, where, "protected", true, &b.protected_)) ||
	    (rc = get_str(j, where, "current_state", true, &b.current_state)) ||
	    (rc = get_str(j, where, "created_at", true, &b.created_at)) ||
	    (rc = get_str(j, where, "updated_at", true, &b.updated_at))) {
		neon_branch_release(&b);
		return rc;
	}
	*out = b;
	return 0;
}

void neon_branch_release(neon_branch *b)
{
	if (!b)
		return;
	free(b->id);
	free(b->project_id);
	free(b->name);
	free(b->parent_id);
	free(b->current_state);
	free(b->created_at);
	free(b->updated_at);
	json_decref(b->annotations);
	memset(b, 0, sizeof(*b));
}

/* -------------------------------------------------------------- endpoints */

int neon_endpoint_parse(const json_t *j, const char *where, neon_endpoint *out)
{
	neon_endpoint e;
	char *type = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&e, 0, sizeof(e));
	if ((rc = need_object(j, where)))
		return rc;
	if ((rc = get_str(j, where, "id", true, &e.id)) ||
	    (rc = get_str(j, where, "project_id", true, &e.project_id)) ||
	    (rc = get_str(j, where, "branch_id", true, &e.branch_id)) ||
	    (rc = get_str(j, where, "host", true, &e.host)) || (rc = get_str(j, where, "type", true, &type)) ||
	    (rc = get_num(j, where, "autoscaling_limit_min_cu", true, &e.min_cu)) ||
	    (rc = get_num(j, where, "autoscaling_limit_max_cu", true, &e.max_cu)) ||
	    (rc = get_int(j, where, "suspend_timeout_seconds", true, &e.suspend_timeout_seconds)) ||
	    (rc = get_bool(j, where, "disabled", true, &e.disabled)) ||
	    (rc = get_str(j, where, "current_state", true, &e.current_state)) ||
	    (rc = get_str(j, where, "last_active", false, &e.last_active)) ||
	    (rc = get_str(j, where, "name", false, &e.name)) ||
	    (rc = get_str(j, where, "created_at", true, &e.created_at)) ||
	    (rc = get_str(j, where, "updated_at", true, &e.updated_at)))
		goto fail;
	if (strcmp(type, "read_write") == 0) {
		e.read_write = true;
	} else if (strcmp(type, "read_only") != 0) {
		rc = err_set(ERR_INVALID, "%s.type: expected 'read_write' or 'read_only', got '%s'", where, type);
		goto fail;
	}
	free(type);
	*out = e;
	return 0;
fail:
	free(type);
	neon_endpoint_release(&e);
	return rc;
}

void neon_endpoint_release(neon_endpoint *e)
{
	if (!e)
		return;
	free(e->id);
	free(e->project_id);
	free(e->branch_id);
	free(e->host);
	free(e->current_state);
	free(e->last_active);
	free(e->name);
	free(e->created_at);
	free(e->updated_at);
	memset(e, 0, sizeof(*e));
}

/* ------------------------------------------------------ databases, roles */

int neon_database_parse(const json_t *j, const char *where, neon_database *out)
{
	neon_database d;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&d, 0, sizeof(d));
	if ((rc = need_object(j, where)))
		return rc;
	if ((rc = get_int(j, where, "id", true, &d.id)) ||
	    (rc = get_str(j, where, "branch_id", true, &d.branch_id)) ||
	    (rc = get_str(j, where, "name", true, &d.name)) ||
	    (rc = get_str(j, where, "owner_name", true, &d.owner_name))) {
		neon_database_release(&d);
		return rc;
	}
	*out = d;
	return 0;
}

void neon_database_release(neon_database *d)
{
	if (!d)
		return;
	free(d->branch_id);
	free(d->name);
	free(d->owner_name);
	memset(d, 0, sizeof(*d));
}

int neon_role_parse(const json_t *j, const char *where, neon_role *out)
{
	neon_role r;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	if ((rc = need_object(j, where)))
		return rc;
	if ((rc = get_str(j, where, "branch_id", true, &r.branch_id)) ||
	    (rc = get_str(j, where, "name", true, &r.name)) ||
	    (rc = get_bool(j, where, "protected", false, &r.protected_))) {
		neon_role_release(&r);
		return rc;
	}
	*out = r;
	return 0;
}

void neon_role_release(neon_role *r)
{
	if (!r)
		return;
	free(r->branch_id);
	free(r->name);
	memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------- operations, regions */

int neon_operation_parse(const json_t *j, const char *where, neon_operation *out)
{
	neon_operation o;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&o, 0, sizeof(o));
	if ((rc = need_object(j, where)))
		return rc;
	if ((rc = get_str(j, where, "id", true, &o.id)) ||
	    (rc = get_str(j, where, "project_id", true, &o.project_id)) ||
	    (rc = get_str(j, where, "branch_id", false, &o.branch_id)) ||
	    (rc = get_str(j, where, "endpoint_id", false, &o.endpoint_id)) ||
	    (rc = get_str(j, where, "action", true, &o.action)) ||
	    (rc = get_str(j, where, "status", true, &o.status)) ||
	    (rc = get_str(j, where, "error", false, &o.error))) {
		neon_operation_release(&o);
		return rc;
	}
	*out = o;
	return 0;
}

void neon_operation_release(neon_operation *o)
{
	if (!o)
		return;
	free(o->id);
	free(o->project_id);
	free(o->branch_id);
	free(o->endpoint_id);
	free(o->action);
	free(o->status);
	free(o->error);
	memset(o, 0, sizeof(*o));
}

int neon_region_parse(const json_t *j, const char *where, neon_region *out)
{
	neon_region r;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	if ((rc = need_object(j, where)))
		return rc;
	if ((rc = get_str(j, where, "region_id", true, &r.region_id)) ||
	    (rc = get_str(j, where, "name", true, &r.name)) ||
	    (rc = get_bool(j, where, "default", true, &r.is_default))) {
		neon_region_release(&r);
		return rc;
	}
	*out = r;
	return 0;
}

void neon_region_release(neon_region *r)
{
	if (!r)
		return;
	free(r->region_id);
	free(r->name);
	memset(r, 0, sizeof(*r));
}

/* Exported for pages.c: the annotations map of a branch list entry. */
int neon__annotation_value(const json_t *entry, const char *where, json_t **out)
{
	*out = NULL;
	if (!json_is_object(entry))
		return err_set(ERR_INVALID, "%s: expected an object", where);
	return get_string_map(entry, where, "value", out);
}
