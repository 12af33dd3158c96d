/*
 * apply.c: what surrounds an apply's executor run, for `flotilla apply`
 * and the daemon alike: the checks of a saved plan file before it acts
 * (each tenant it changes read again, each create's name searched), what
 * is recorded after it (the tenants' protect flags, the commit applied),
 * and the run's counts and JSON summary.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/internal.h"

/* ------------------------------------------------------ a plan file, stale */

typedef struct stale_ctx {
	state *st;
	strmap *stale; /* tenant -> reason (both owned by the plan/heap) */
	int reads_failed;
} stale_ctx;

static void on_reread(void *arg, int rc, const char *error)
{
	stale_ctx *s = arg;
	if (rc != 0) {
		s->reads_failed++;
		engine__warn("apply: reading a tenant again failed", "error", error ? error : "");
	}
}

/* Read each tenant the plan would change again, and compare fingerprints. */
static int check_stale(state *st, neon_client *c, const plan *p, strmap *stale)
{
	stale_ctx s = {st, stale, 0};
	for (size_t i = 0; i < p->nactions; i++) {
		const plan_action *a = &p->actions[i];
		if ((a->kind == PLAN_UPDATE || a->kind == PLAN_DELETE || a->kind == PLAN_ADOPT) && a->project_id)
			refresh_one_submit(st, c, a->project_id, on_reread, &s);
	}
	int rc = neon_run(c);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < p->nactions; i++) {
		const plan_action *a = &p->actions[i];
		if (a->kind == PLAN_CREATE) {
			state_tenant t;
			if (state_tenant_get(st, a->tenant, &t) == 0) {
				strmap_put(stale, a->tenant, (void *)"it has a project now (made since the plan)");
				state_tenant_release(&t);
			}
			continue;
		}
		if (a->kind == PLAN_ADOPT) {
			state_tenant t;
			if (state_tenant_get(st, a->tenant, &t) == 0) {
				if (strcmp(t.project_id, a->project_id) != 0)
					strmap_put(stale, a->tenant, (void *)"it was mapped to another project since the plan");
				state_tenant_release(&t);
			}
		} else if (a->kind != PLAN_UPDATE && a->kind != PLAN_DELETE) {
			continue;
		}
		state_project pr;
		if (!a->project_id || state_project_get(st, a->project_id, &pr) != 0) {
			strmap_put(stale, a->tenant, (void *)"its project is gone");
			continue;
		}
		state_deep d;
		memset(&d, 0, sizeof(d));
		bool deep = !a->deep_unknown && state_deep_get(st, a->project_id, &d) == 0;
		char fp[SHA256_HEX_LEN + 1];
		plan_fingerprint(&pr, deep ? &d : NULL, fp);
		if (strcmp(fp, a->fingerprint) != 0)
			strmap_put(stale, a->tenant,
				   (void *)"its live state changed since the plan (its fingerprint moved); plan again");
		state_project_release(&pr);
		if (deep)
			state_deep_release(&d);
	}
	return 0;
}

/* A create in a plan file: a project of its name made since (by another
 * runner, or by this one before a state file was restored) makes it stale;
 * a search that could not see everything does too. */
typedef struct name_check {
	strmap *stale;
	const char *tenant;
	int rc;
} name_check;

static void on_name_found(void *arg, neon_find_result *res)
{
	name_check *n = arg;
	if (res->rc != 0 || res->unresolved)
		strmap_put(n->stale, n->tenant, (void *)"whether a project of its name exists could not be proved (a "
							"search failed or was cut short); plan again");
	else if (res->n)
		strmap_put(n->stale, n->tenant, (void *)"a project of its name exists now (made since the plan); plan "
							"again: the plan adopts it or says whose it is");
}

static int check_creates(neon_client *c, const plan *p, strmap *stale)
{
	name_check *nc = xcalloc(p->ncreate + 1, sizeof(*nc));
	size_t k = 0;
	for (size_t i = 0; i < p->nactions && k < p->ncreate; i++) {
		const plan_action *a = &p->actions[i];
		if (a->kind != PLAN_CREATE || strmap_get(stale, a->tenant))
			continue;
		plan_calls calls;
		plan_action_calls(p, a, &calls);
		const char *name = calls.n ? json_string_value(json_object_get(json_object_get(calls.v[0].body,
											       "project"), "name"))
					   : NULL;
		if (name) {
			nc[k] = (name_check){stale, a->tenant, 0};
			neon_projects_find_submit(c, name, on_name_found, &nc[k++]);
		} else {
			strmap_put(stale, a->tenant, (void *)"the plan file's create names no project; plan again");
		}
		plan_calls_release(&calls);
	}
	int rc = neon_run(c);
	free(nc);
	return rc;
}

int planfile_check(state *st, neon_client *c, const plan *p, strmap *stale)
{
	int rc = check_stale(st, c, p, stale);
	return rc ? rc : check_creates(c, p, stale);
}

const char *planfile_skip(void *stale, const plan_action *a)
{
	return strmap_get(stale, a->tenant);
}

/* ------------------------------------------------------ after the run */

typedef struct names {
	char **v;
	size_t n;
} names;

static int add_name(void *arg, const char *tenant)
{
	names *ns = arg;
	ns->v = xrealloc(ns->v, (ns->n + 1) * sizeof(char *));
	ns->v[ns->n++] = xstrdup(tenant);
	return 0;
}

/*
 * Remember each mapped tenant's protect flag as its manifest says now, so
 * that a delete stays refused after the manifest is removed. Only the
 * tenants the fleet loaded are touched: a tenant whose manifest is gone
 * keeps its last flag.
 */
void apply_record_protect(state *st, const spec_fleet *f)
{
	names on = {0};
	bool batch = state_batch_begin(st) == 0;
	int rc = state_tenants_protected(st, add_name, &on);
	for (size_t i = 0; rc == 0 && i < on.n; i++) {
		const spec_tenant *t = spec_fleet_tenant_find(f, on.v[i]);
		spec_values sv;
		if (!t)
			continue;
		spec_tenant_resolve(f, t, &sv);
		if (!sv.v[SF_PROTECT].i)
			rc = state_tenant_set_protect(st, on.v[i], false);
	}
	for (size_t i = 0; rc == 0 && i < spec_fleet_tenant_count(f); i++) {
		const spec_tenant *t = spec_fleet_tenant_at(f, i);
		spec_values sv;
		spec_tenant_resolve(f, t, &sv);
		if (sv.v[SF_PROTECT].i && (rc = state_tenant_set_protect(st, t->name, true)) == ERR_NOTFOUND)
			rc = 0; /* not mapped: nothing to remember yet */
	}
	if (rc != 0)
		engine__warn("apply: cannot record the tenants' protect flags", "error", err_msg());
	if (batch && (rc != 0 ? (state_batch_rollback(st), 0) : state_batch_commit(st) != 0))
		engine__warn("apply: cannot record the tenants' protect flags", "error", err_msg());
	for (size_t i = 0; i < on.n; i++)
		free(on.v[i]);
	free(on.v);
}

/*
 * The whole plan converged: the next --changed-since last-applied starts
 * at its commit, when the plan covered everything not applied yet: the
 * whole fleet, or every change since the last applied commit. A subset a
 * person selected, or changes since another base, leaves it.
 */
void apply_record_commit(state *st, const plan *p)
{
	if (!p->commit || !p->commit[0] || p->selected)
		return;
	char *last = NULL;
	if (p->changed_since && p->changed_since[0]) {
		if (state_meta_get(st, "last_applied_commit", &last) != 0 || !last ||
		    strcmp(last, p->changed_since) != 0) {
			free(last);
			return;
		}
	}
	free(last);
	char at[24];
	snprintf(at, sizeof(at), "%lld", (long long)time(NULL));
	if (state_meta_set(st, "last_applied_commit", p->commit) != 0 || state_meta_set(st, "last_applied_at", at) != 0)
		engine__warn("apply: cannot record the applied commit", "error", err_msg());
}


/* --------------------------------------------------------------- counts */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void latencies(const exec_summary *s, exec_counts *c)
{
	int64_t *v = xcalloc(s->n + 1, sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].kind == PLAN_CREATE && s->v[i].status == EXEC_OK)
			v[n++] = s->v[i].latency_ms;
	qsort(v, n, sizeof(*v), cmp_i64);
	c->provisioned = n;
	c->p50_ms = n ? v[(n - 1) / 2] : 0;
	c->p99_ms = n ? v[(n * 99 + 99) / 100 - 1] : 0;
	c->max_ms = n ? v[n - 1] : 0;
	free(v);
}

void exec_summary_counts(const exec_summary *s, exec_counts *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].status != EXEC_OK)
			continue;
		c->created += s->v[i].kind == PLAN_CREATE;
		c->updated += s->v[i].kind == PLAN_UPDATE || s->v[i].kind == PLAN_ADOPT;
		c->deleted += s->v[i].kind == PLAN_DELETE;
	}
	latencies(s, c);
}

char *exec_summary_json(const exec_summary *s, const plan *p)
{
	exec_counts c;
	exec_summary_counts(s, &c);
	json_t *failed = json_array();
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].status == EXEC_FAILED || s->v[i].status == EXEC_SKIPPED)
			json_array_append_new(failed, json_pack("{s:s,s:s,s:s?,s:s?}", "tenant", s->v[i].tenant, "status",
								s->v[i].status == EXEC_FAILED ? "failed" : "skipped",
								"error", s->v[i].error, "request_id",
								s->v[i].request_id[0] ? s->v[i].request_id : NULL));
	json_t *j = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I},s:o}",
			      "event", "summary", "commit", p->commit ? p->commit : "", "created", (json_int_t)c.created,
			      "updated", (json_int_t)c.updated, "deleted", (json_int_t)c.deleted, "failed",
			      (json_int_t)s->failed, "skipped", (json_int_t)s->skipped, "blocked", (json_int_t)s->blocked,
			      "write_calls", (json_int_t)s->writes, "planned_calls", (json_int_t)p->ncalls, "polls",
			      (json_int_t)s->polls, "read_backs", (json_int_t)s->readbacks, "adopted", (json_int_t)s->adopted, "secrets_saved",
			      (json_int_t)s->secrets_saved, "secrets_dropped", (json_int_t)s->secrets_dropped,
			      "provisioning_ms", "count", (json_int_t)c.provisioned, "p50", (json_int_t)c.p50_ms, "p99",
			      (json_int_t)c.p99_ms, "max", (json_int_t)c.max_ms, "problems", failed);
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return text;
}

