/*
 * project.c: the project-level comparison of one tenant (one PATCH
 * /projects/{id} at most). The plain fields are the field table's rows
 * (fields.c): each is compared, listed under its manifest path, and sent
 * under its API path, its siblings with it when Neon replaces their object
 * whole. The name and the structured settings (allowed IPs, the
 * maintenance window, pg settings) have their own code here. Everything is
 * compared before anything is written, so that one changed member of an
 * object sent whole knows to send the others.
 * The rules are plan.c's (its header comment); this is the project's share.
 */
#include <inttypes.h>
#include <string.h>

#include "diff/internal.h"

#define NS(s) ((s) ? (s) : "")

/* ------------------------------------------------------------ live values */

json_t *diff__live_json(const char *s)
{
	return s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
}

static bool strlist_equal(const spec_list *l, const json_t *arr)
{
	size_t n = l ? l->n : 0;
	if (json_array_size(arr) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(arr, i));
		if (!s || strcmp(s, l->items[i].s) != 0)
			return false;
	}
	return true;
}

static bool map_equal(const spec_map *m, const json_t *obj)
{
	size_t n = m ? m->n : 0;
	if (json_object_size(obj) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_object_get(obj, m->keys[i]));
		if (!s || strcmp(s, m->vals[i].s) != 0)
			return false;
	}
	return true;
}

char *diff__fmt_window(const json_t *wd, const char *start, const char *end)
{
	buf b = BUF_INIT(0);
	int rc = 0;
	for (size_t i = 0; i < json_array_size(wd); i++)
		rc |= buf_printf(&b, "%s%" JSON_INTEGER_FORMAT, i ? "," : "", json_integer_value(json_array_get(wd, i)));
	rc |= buf_printf(&b, " %s-%s", NS(start), NS(end));
	if (rc)
		abort();
	return buf_detach(&b, NULL);
}

/* ---------------------------------------------------------- project PATCH */

typedef struct pdiff {
	act *x;
	const char *tenant;
	const spec_values *sv;
	const state_project *p;
	json_t *ips, *window, *pgs;  /* the live structured settings, parsed */
	json_t *want_weekdays;       /* the manifest's window, when it has one */
	bool changed[SF__COUNT];     /* what differs, known before anything is written */
	json_t *body;                /* {"project": {…}} */
	size_t next;                 /* the next row of the field table to walk */
} pdiff;

static const char *api_of(spec_field f)
{
	return spec_field_get(f)->api;
}

/* Is f's member sent: changed, or in an object Neon replaces whole of
 * which another member changed? */
static bool sends(const pdiff *d, spec_field f)
{
	const char *api = api_of(f);
	if (d->changed[f])
		return true;
	if (!diff_api_whole(api))
		return false;
	size_t n = (size_t)(strrchr(api, '.') - api);
	for (int g = 0; g < SF__COUNT; g++) {
		const char *other = api_of((spec_field)g);
		if (d->changed[g] && other && strlen(other) > n && memcmp(other, api, n) == 0 && other[n] == '.' &&
		    !strchr(other + n + 1, '.'))
			return true;
	}
	return false;
}

void diff__immutable(act *x, const char *tenant, const spec_values *sv, const state_project *p)
{
	size_t n;
	const diff_field *t = diff_fields(&n);
	for (size_t i = 0; i < n; i++) {
		const diff_field *df = &t[i];
		if (df->rule != DIFF_FIELD_IMMUTABLE || !diff__field_differs(df, sv, p))
			continue;
		char a[32], b[32];
		const char *from = a, *to = b;
		if (df->type == DIFF_FIELD_STR) {
			from = diff__field_live_str(df, p);
			to = sv->v[df->field].s;
		} else {
			snprintf(a, sizeof(a), "%" PRId64, field_live(df, p));
			snprintf(b, sizeof(b), "%" PRId64, sv->v[df->field].i);
		}
		const char *path = spec_field_get(df->field)->path;
		diff__act_change(x, path, from, to);
		diff__act_reason(x, "tenant '%s': %s cannot change from '%s' to '%s' (it is immutable; a replacement "
			      "would destroy the tenant's data)", tenant, path, NS(from), NS(to));
		diff__act_hint(x, "revert %s to '%s' in the manifest that sets it (flotilla explain %s names it), or move "
			       "the tenant to a new project: " DIFF_UNBLOCK_DOC, path, NS(from), tenant);
		x->a.kind = PLAN_BLOCKED;
	}
}

/* Compare the field table's rows, from d->next up to the row of `stop`
 * (SF__COUNT: to the end): a change line for each that differs, and the
 * member in the body for each that is sent. Immutable rows are
 * diff_immutable's. */
static void rows_until(pdiff *d, spec_field stop)
{
	size_t n;
	const diff_field *t = diff_fields(&n);
	for (; d->next < n && t[d->next].field != stop; d->next++) {
		const diff_field *df = &t[d->next];
		const spec_val *want = &d->sv->v[df->field];
		if (df->rule == DIFF_FIELD_IMMUTABLE)
			continue;
		if (d->changed[df->field]) {
			char a[32], b[32];
			diff__field_format(df, field_live(df, d->p), a);
			diff__field_format(df, want->i, b);
			diff__act_change(d->x, spec_field_get(df->field)->path, a, b);
		}
		if (df->rule == DIFF_FIELD_ONE_WAY && !want->i) {
			/* turning it off blocks; it is only ever sent to turn it on */
			if (d->changed[df->field]) {
				diff__act_reason(d->x, "tenant '%s': %s", d->tenant, df->why);
				diff__act_hint(d->x, "set %s back to true in the manifest (flotilla explain %s names where)",
					       spec_field_get(df->field)->path, d->tenant);
				d->x->a.kind = PLAN_BLOCKED;
			}
			continue;
		}
		if (sends(d, df->field))
			diff__api_set(d->body, api_of(df->field), diff__field_json(df, want));
	}
}

/* allowed IPs: compared as ordered lists, the order the manifest gives */
static void allowed_ips(pdiff *d)
{
	const spec_list *want = d->sv->v[SF_SETTINGS_ALLOWED_IPS].list;
	if (d->changed[SF_SETTINGS_ALLOWED_IPS]) {
		/* "[\"a\",\"b\"]" reads worse than the manifest's own form */
		buf b = BUF_INIT(0);
		int rc = buf_addc(&b, '[');
		for (size_t i = 0; i < json_array_size(d->ips); i++)
			rc |= buf_printf(&b, "%s%s", i ? ", " : "", NS(json_string_value(json_array_get(d->ips, i))));
		rc |= buf_addc(&b, ']');
		if (rc)
			abort();
		char *from = buf_detach(&b, NULL), *to = diff__fmt_strlist(want);
		diff__act_change(d->x, spec_field_get(SF_SETTINGS_ALLOWED_IPS)->path, from, to);
		free(from);
		free(to);
	}
	if (sends(d, SF_SETTINGS_ALLOWED_IPS)) {
		json_t *arr = json_array();
		for (size_t i = 0; want && i < want->n; i++)
			json_array_append_new(arr, json_string(want->items[i].s));
		diff__api_set(d->body, api_of(SF_SETTINGS_ALLOWED_IPS), arr);
	}
}

/* The maintenance window, when the manifest has one: Neon has no way to
 * remove a window, so an absent one leaves the live one alone. */
static void maintenance_window(pdiff *d)
{
	if (!d->changed[SF_SETTINGS_MW_WEEKDAYS])
		return;
	const char *ws = d->sv->v[SF_SETTINGS_MW_START_TIME].s, *we = d->sv->v[SF_SETTINGS_MW_END_TIME].s;
	json_t *lwd = json_object_get(d->window, "weekdays");
	const char *ls = json_string_value(json_object_get(d->window, "start_time"));
	const char *le = json_string_value(json_object_get(d->window, "end_time"));
	char *from = d->window ? diff__fmt_window(lwd, ls, le) : NULL;
	char *to = diff__fmt_window(d->want_weekdays, ws, we);
	diff__act_change(d->x, "settings.maintenanceWindow", from, to);
	free(from);
	free(to);
	diff__api_set(d->body, api_of(SF_SETTINGS_MW_WEEKDAYS), json_incref(d->want_weekdays));
	diff__api_set(d->body, api_of(SF_SETTINGS_MW_START_TIME), json_string(ws));
	diff__api_set(d->body, api_of(SF_SETTINGS_MW_END_TIME), json_string(we));
}

static void pg_settings(pdiff *d)
{
	const spec_map *want = d->sv->v[SF_COMPUTE_PG_SETTINGS].map;
	if (d->changed[SF_COMPUTE_PG_SETTINGS]) {
		buf b = BUF_INIT(0);
		const char *k;
		json_t *val;
		size_t i = 0;
		int rc = buf_addc(&b, '{');
		json_object_foreach(d->pgs, k, val) /* jansson keeps insertion order; state stored it sorted */
			rc |= buf_printf(&b, "%s%s: %s", i++ ? ", " : "", k, NS(json_string_value(val)));
		rc |= buf_addc(&b, '}');
		if (rc)
			abort();
		char *from = buf_detach(&b, NULL), *to = diff__fmt_map(want);
		diff__act_change(d->x, spec_field_get(SF_COMPUTE_PG_SETTINGS)->path, from, to);
		free(from);
		free(to);
	}
	/* pg_settings only when there are some, or to clear the live ones */
	if (sends(d, SF_COMPUTE_PG_SETTINGS) && ((want && want->n) || json_object_size(d->pgs))) {
		json_t *m = json_object();
		for (size_t i = 0; want && i < want->n; i++)
			json_object_set_new(m, want->keys[i], json_string(want->vals[i].s));
		diff__api_set(d->body, api_of(SF_COMPUTE_PG_SETTINGS), m);
	}
}

/* What differs, before anything is listed or sent. */
static void compare(pdiff *d)
{
	const spec_val *v = d->sv->v;
	size_t n;
	const diff_field *t = diff_fields(&n);
	for (size_t i = 0; i < n; i++)
		if (t[i].rule != DIFF_FIELD_IMMUTABLE)
			d->changed[t[i].field] = diff__field_differs(&t[i], d->sv, d->p);

	d->ips = diff__live_json(d->p->allowed_ips_json);
	if (json_is_object(d->ips)) { /* tolerate the API's {ips: [...]} shape */
		json_t *inner = json_incref(json_object_get(d->ips, "ips"));
		json_decref(d->ips);
		d->ips = inner;
	}
	d->changed[SF_SETTINGS_ALLOWED_IPS] = !strlist_equal(v[SF_SETTINGS_ALLOWED_IPS].list, d->ips);

	const spec_list *wd = v[SF_SETTINGS_MW_WEEKDAYS].list;
	const char *ws = v[SF_SETTINGS_MW_START_TIME].s, *we = v[SF_SETTINGS_MW_END_TIME].s;
	d->window = diff__live_json(d->p->maintenance_window_json);
	if (wd && ws && we) {
		d->want_weekdays = json_array();
		for (size_t i = 0; i < wd->n; i++)
			json_array_append_new(d->want_weekdays, json_integer(wd->items[i].i));
		const char *ls = json_string_value(json_object_get(d->window, "start_time"));
		const char *le = json_string_value(json_object_get(d->window, "end_time"));
		bool differs = !json_equal(d->want_weekdays, json_object_get(d->window, "weekdays")) || !ls || !le ||
			       strcmp(ls, ws) != 0 || strcmp(le, we) != 0;
		d->changed[SF_SETTINGS_MW_WEEKDAYS] = d->changed[SF_SETTINGS_MW_START_TIME] =
			d->changed[SF_SETTINGS_MW_END_TIME] = differs;
	}

	d->pgs = diff__live_json(d->p->pg_settings_json);
	d->changed[SF_COMPUTE_PG_SETTINGS] = !map_equal(v[SF_COMPUTE_PG_SETTINGS].map,
							json_is_object(d->pgs) ? d->pgs : NULL);
}

void diff__project(act *x, const spec_fleet *f, const char *tenant, const spec_values *sv, const state_project *p)
{
	pdiff d = {.x = x, .tenant = tenant, .sv = sv, .p = p, .body = json_object()};

	char *want_name = xasprintf("%s%s", spec_fleet_name_prefix(f), tenant);
	if (!p->name || strcmp(p->name, want_name) != 0) {
		diff__act_change(x, "name", p->name, want_name);
		diff__api_set(d.body, "project.name", json_string(want_name));
	}
	free(want_name);

	compare(&d);
	/* the change lines in the order plans have always listed them */
	rows_until(&d, SF_SETTINGS_PROTECTED_BRANCHES_ONLY); /* history, quota */
	allowed_ips(&d);
	rows_until(&d, SF_COMPUTE_MIN_CU);                   /* the rest of settings */
	maintenance_window(&d);
	rows_until(&d, SF__COUNT);                           /* default endpoint settings */
	pg_settings(&d);

	json_t *pr = json_object_get(d.body, "project");
	json_t *st = json_incref(json_object_get(pr, "settings"));
	if (st) {
		/* settings after default_endpoint_settings, as plans have always
		 * shown them (the order shows in plan JSON) */
		json_object_del(pr, "settings");
		json_object_set_new(pr, "settings", st);
	}
	if (json_object_size(pr))
		diff__act_call(x, "PATCH", json_incref(d.body), false, false, "/projects/%s", p->id);
	json_decref(d.body);
	json_decref(d.ips);
	json_decref(d.window);
	json_decref(d.want_weekdays);
	json_decref(d.pgs);
}
