/*
 * explain.c: `flotilla explain TENANT`: the merged spec of one tenant,
 * each value with the place it came from, so that "why does acme have
 * 4 CU?" has a one-command answer.
 */
#include <inttypes.h>
#include <string.h>

#include "spec/internal.h"

/* Rows are gathered first so that the columns fit the longest key and value. */
typedef struct rows {
	char **key, **value, **where;
	size_t n, cap;
} rows;

static int line(rows *out, const spec_fleet *f, const char *key, const char *value, const spec_origin *o)
{
	char where[300];
	spec__origin_format(f, o, where, sizeof(where));
	if (out->n == out->cap) {
		size_t cap = out->cap;
		out->key = xgrow(out->key, &cap, out->n + 1, sizeof(char *));
		cap = out->cap;
		out->value = xgrow(out->value, &cap, out->n + 1, sizeof(char *));
		out->where = xgrow(out->where, &out->cap, out->n + 1, sizeof(char *));
	}
	out->key[out->n] = xstrdup(key);
	out->value[out->n] = xstrdup(value);
	out->where[out->n] = xstrdup(where);
	out->n++;
	return 0;
}

static void rows_free(rows *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->key[i]);
		free(r->value[i]);
		free(r->where[i]);
	}
	free(r->key);
	free(r->value);
	free(r->where);
}

static int rows_render(rows *r, buf *out)
{
	int kw = 0, vw = 0, rc = 0;
	for (size_t i = 0; i < r->n; i++) {
		int k = (int)strlen(r->key[i]), v = (int)strlen(r->value[i]);
		kw = k > kw ? k : kw;
		vw = v > vw && v <= 40 ? v : vw; /* a long list value does not widen every row */
	}
	for (size_t i = 0; rc == 0 && i < r->n; i++)
		rc = buf_printf(out, "  %-*s  %-*s  %s\n", kw, r->key[i], vw, r->value[i], r->where[i]);
	rows_free(r);
	return rc;
}

static int explain_branches(rows *out, const spec_fleet *f, const spec_branches *br)
{
	int rc = 0;
	char k[160];
	for (size_t i = 0; rc == 0 && i < br->n; i++) {
		const spec_branch *b = &br->items[i];
		snprintf(k, sizeof(k), "spec.branches[%zu].name", i);
		rc = line(out, f, k, b->name.s, &b->name.o);
		if (!rc && i == br->default_index) {
			snprintf(k, sizeof(k), "spec.branches[%zu].default", i);
			rc = line(out, f, k, "true", b->is_default.o.set ? &b->is_default.o : &b->name.o);
		}
		if (!rc && b->parent.o.set) {
			snprintf(k, sizeof(k), "spec.branches[%zu].parent", i);
			rc = line(out, f, k, b->parent.s, &b->parent.o);
		}
		if (!rc && b->protect.o.set) {
			snprintf(k, sizeof(k), "spec.branches[%zu].protected", i);
			rc = line(out, f, k, b->protect.i ? "true" : "false", &b->protect.o);
		}
		for (size_t r = 0; rc == 0 && r < b->nroles; r++) {
			snprintf(k, sizeof(k), "spec.branches[%zu].roles[%zu].name", i, r);
			rc = line(out, f, k, b->roles[r].name.s, &b->roles[r].name.o);
			if (!rc && b->roles[r].no_login.o.set) {
				snprintf(k, sizeof(k), "spec.branches[%zu].roles[%zu].noLogin", i, r);
				rc = line(out, f, k, b->roles[r].no_login.i ? "true" : "false", &b->roles[r].no_login.o);
			}
		}
		for (size_t x = 0; rc == 0 && x < b->ndatabases; x++) {
			snprintf(k, sizeof(k), "spec.branches[%zu].databases[%zu].name", i, x);
			rc = line(out, f, k, b->databases[x].name.s, &b->databases[x].name.o);
			snprintf(k, sizeof(k), "spec.branches[%zu].databases[%zu].owner", i, x);
			if (!rc)
				rc = line(out, f, k, b->databases[x].owner.s, &b->databases[x].owner.o);
		}
	}
	return rc;
}

static int explain_values(rows *out, const spec_fleet *f, const spec_tenant *t)
{
	spec_values m;
	spec_tenant_resolve(f, t, &m);
	char k[160], v[512];
	int rc = line(out, f, "metadata.name", t->name, &t->o);
	for (size_t i = 0; rc == 0 && t->labels && i < t->labels->n; i++) {
		snprintf(k, sizeof(k), "metadata.labels.%s", t->labels->keys[i]);
		rc = line(out, f, k, t->labels->vals[i].s, &t->labels->vals[i].o);
	}
	for (int fi = 0; rc == 0 && fi < SF__COUNT; fi++) {
		const spec_field_info *info = spec_field_get((spec_field)fi);
		const spec_val *val = &m.v[fi];
		snprintf(k, sizeof(k), "spec.%s", info->path);
		if (info->type == SPEC_T_BRANCHES) {
			rc = explain_branches(out, f, val->br);
			continue;
		}
		if (info->type == SPEC_T_MAP) {
			if (!val->map || val->map->n == 0) {
				rc = line(out, f, k, "{}", &val->o);
				continue;
			}
			for (size_t i = 0; rc == 0 && i < val->map->n; i++) {
				char kk[200];
				snprintf(kk, sizeof(kk), "%s.%s", k, val->map->keys[i]);
				rc = line(out, f, kk, val->map->vals[i].s, &val->map->vals[i].o);
			}
			continue;
		}
		if (fi == SF_PROFILE && !val->s) {
			rc = line(out, f, k, "(none)", &val->o);
			continue;
		}
		spec__val_format((spec_field)fi, val, v, sizeof(v));
		rc = line(out, f, k, v, &val->o);
	}
	return rc;
}

int spec_explain_render(const spec_fleet *f, const spec_tenant *t, buf *out)
{
	char where[300];
	spec__origin_format(f, &t->o, where, sizeof(where));
	int rc = buf_printf(out, "tenant %s (%s)\n  fleet %s, Neon project name '%s%s'\n\n", t->name, where,
			    f->name, f->name_prefix, t->name);
	rows r = {0};
	int rc2 = explain_values(&r, f, t);
	int rc3 = rows_render(&r, out);
	return rc ? rc : rc2 ? rc2 : rc3;
}

/* s as a JSON string, quoted */
static int json_str(buf *b, const char *s)
{
	return buf_addc(b, '"') | buf_add_json_str(b, s) | buf_addc(b, '"');
}

int spec_explain_render_json(const spec_fleet *f, const spec_tenant *t, buf *out)
{
	char where[300];
	rows r = {0};
	char *project = xasprintf("%s%s", f->name_prefix, t->name);
	int rc = explain_values(&r, f, t);

	spec__origin_format(f, &t->o, where, sizeof(where));
	rc |= buf_adds(out, "{\"tenant\": ");
	rc |= json_str(out, t->name);
	rc |= buf_adds(out, ", \"from\": ");
	rc |= json_str(out, where);
	rc |= buf_adds(out, ", \"fleet\": ");
	rc |= json_str(out, f->name);
	rc |= buf_adds(out, ", \"project_name\": ");
	rc |= json_str(out, project);
	rc |= buf_adds(out, ", \"values\": [");
	for (size_t i = 0; i < r.n; i++) {
		rc |= buf_adds(out, i ? ",\n  {\"key\": " : "\n  {\"key\": ");
		rc |= json_str(out, r.key[i]);
		rc |= buf_adds(out, ", \"value\": ");
		rc |= json_str(out, r.value[i]);
		rc |= buf_adds(out, ", \"from\": ");
		rc |= json_str(out, r.where[i]);
		rc |= buf_addc(out, '}');
	}
	rc |= buf_adds(out, "\n]}\n");
	rows_free(&r);
	free(project);
	return rc ? -1 : 0;
}
