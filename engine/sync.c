/*
 * sync.c: each tenant's sync state, kept in the state file (state/sync.c)
 * from what a plan found, what an apply did and what the drift sweep saw:
 *
 *   synced       the last look found nothing to change (no row)
 *   out-of-sync  git asks for a change not made yet (a plan found it)
 *   drifted      the live project was changed outside git (the sweep)
 *   blocked      the plan will not make the change; the reason says why
 *   failed       the last apply of the tenant failed; the error says why
 *   applying     an apply is making its changes (left by a killed run
 *                until the next plan)
 *
 * A plan that finds a failed or drifted tenant still needing its change
 * keeps that state, which says more than out-of-sync; a plan that finds
 * it synced clears it.
 */
#include <string.h>

#include "engine/internal.h"

/* at most this many fields named in a row (the count is in the reason) */
#define SYNC_MAX_FIELDS 20
/* and in a drift's log line */
#define SYNC_LOG_FIELDS 8

/* The changes as [{"path","live","git"}], first SYNC_MAX_FIELDS. */
static char *fields_json(const plan_action *a)
{
	if (!a->nchanges)
		return NULL;
	json_t *v = json_array();
	for (size_t i = 0; i < a->nchanges && i < SYNC_MAX_FIELDS; i++) {
		const plan_change *c = &a->changes[i];
		json_array_append_new(v, json_pack("{s:s,s:s?,s:s?}", "path", c->path, "live", c->from, "git", c->to));
	}
	char *s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	return s;
}

/* "3 changes: compute.maxCu, quota.computeTime, …" */
static char *changes_reason(const plan_action *a, const char *lead)
{
	buf b;
	buf_init(&b, 0);
	int rc = buf_printf(&b, "%s%s change%s", lead, unit_count((int64_t)a->nchanges).s, a->nchanges == 1 ? "" : "s");
	for (size_t i = 0; rc == 0 && i < a->nchanges && i < 3; i++)
		rc = buf_printf(&b, "%s%s", i ? ", " : ": ", a->changes[i].path);
	if (rc == 0 && a->nchanges > 3)
		rc = buf_adds(&b, ", …");
	return buf_detach(&b, NULL);
}

/* The state and reason a plan's action gives its tenant; NULL state: the
 * tenant is not the plan's to judge (an orphan, outside git). */
static const char *judge(const plan_action *a, bool drift, char **reason)
{
	*reason = NULL;
	switch (a->kind) {
	case PLAN_NOOP:
		return "synced";
	case PLAN_BLOCKED:
		*reason = xstrdup(a->reason ? a->reason : "blocked");
		return "blocked";
	case PLAN_CREATE:
		*reason = xstrdup(drift ? "its project is gone: git has it, Neon does not" : "not created yet");
		return drift ? "drifted" : "out-of-sync";
	case PLAN_UPDATE:
		*reason = changes_reason(a, drift ? "changed outside git, " : "");
		return drift ? "drifted" : "out-of-sync";
	case PLAN_DELETE:
		*reason = xstrdup("not in git: to delete");
		return "out-of-sync";
	case PLAN_ADOPT:
		*reason = xasprintf("to adopt project %s", a->project_id ? a->project_id : "?");
		return "out-of-sync";
	default:
		return NULL;
	}
}

/* A tenant newly found changed outside git: its fields and both values,
 * once (a tenant left drifted by report mode is not logged every pass). */
static void log_drift(const plan_action *a)
{
	buf b;
	buf_init(&b, 0);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < a->nchanges && i < SYNC_LOG_FIELDS; i++)
		rc = buf_printf(&b, "%s%s: live %s, git %s", i ? "; " : "", a->changes[i].path,
				a->changes[i].from ? a->changes[i].from : "(none)", a->changes[i].to ? a->changes[i].to : "(none)");
	if (rc == 0 && a->nchanges > SYNC_LOG_FIELDS)
		rc = buf_printf(&b, "; and %s more", unit_count((int64_t)(a->nchanges - SYNC_LOG_FIELDS)).s);
	engine__warn("drift: a tenant was changed outside git", "tenant", a->tenant, "fields",
		     a->kind == PLAN_CREATE ? "its project is gone" : b.data ? b.data : "");
	buf_release(&b);
}

/* The rows there were before a plan: tenant order, with their state. */
typedef struct had_row {
	char *tenant;
	int state;
	char *reason, *fields; /* to leave a row that says the same alone */
	bool seen;
} had_row;

typedef struct had_rows {
	had_row *v;
	size_t n, cap;
} had_rows;

static int keep_row(void *arg, const state_sync *r)
{
	had_rows *h = arg;
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		h->v = xrealloc(h->v, h->cap * sizeof(*h->v));
	}
	h->v[h->n++] = (had_row){xstrdup(r->tenant), state_sync_index(r->state), xstrdup(r->reason ? r->reason : ""),
				 r->fields_json ? xstrdup(r->fields_json) : NULL, false};
	return 0;
}

static int cmp_row(const void *key, const void *elem)
{
	return strcmp(key, ((const had_row *)elem)->tenant);
}

static void had_release(had_rows *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i].tenant);
		free(h->v[i].reason);
		free(h->v[i].fields);
	}
	free(h->v);
}

int sync_record_plan(state *st, const plan *p, bool drift, bool whole, sync_news *news)
{
	had_rows h = {0};
	int rc = state_sync_foreach(st, keep_row, &h);
	/* nothing to clear and nothing to say: a converged fleet writes nothing */
	if (rc != 0 || (!h.n && p->nnoop == p->nactions)) {
		had_release(&h);
		return rc;
	}
	/* SQLite's BINARY order is strcmp's for UTF-8 text */
	if ((rc = state_batch_begin(st)) != 0) {
		had_release(&h);
		return rc;
	}
	for (size_t i = 0; rc == 0 && i < p->nactions; i++) {
		const plan_action *a = &p->actions[i];
		had_row *r = h.n ? bsearch(a->tenant, h.v, h.n, sizeof(*h.v), cmp_row) : NULL;
		int had = r ? r->state : -1;
		if (r)
			r->seen = true;
		char *reason = NULL;
		const char *to = judge(a, drift, &reason);
		if (!to)
			to = "synced"; /* not git's any more: no sync state */
		/* failed and drifted say more than out-of-sync while the
		 * change is still to make; a tenant whose last apply failed
		 * differs from git for that reason, not a person's */
		bool keep = (!drift && strcmp(to, "out-of-sync") == 0 &&
			     (had == STATE_SYNC_FAILED || had == STATE_SYNC_DRIFTED)) ||
			    (drift && strcmp(to, "drifted") == 0 && had == STATE_SYNC_FAILED);
		if (drift && !keep && strcmp(to, "drifted") == 0 && had != STATE_SYNC_DRIFTED) {
			log_drift(a);
			if (news && news->drifted < SYNC_NEWS_NAMES)
				str_copy(news->names[news->drifted], a->tenant, sizeof(news->names[0]));
			if (news)
				news->drifted++;
		}
		if (!keep && !(had < 0 && strcmp(to, "synced") == 0)) {
			char *fields = a->kind == PLAN_UPDATE ? fields_json(a) : NULL;
			/* a plan that finds what the last one found writes
			 * nothing (100,000 creates not made yet, planned again) */
			bool same = r && had == state_sync_index(to) && strcmp(r->reason, reason ? reason : "") == 0 &&
				    ((!r->fields && !fields) || (r->fields && fields && strcmp(r->fields, fields) == 0));
			if (!same)
				rc = state_sync_put(st, a->tenant, to, reason, fields);
			free(fields);
		}
		free(reason);
	}
	/* a plan of the whole fleet judged every tenant git has: rows left
	 * belong to tenants gone from git and from the map */
	for (size_t i = 0; rc == 0 && whole && i < h.n; i++)
		if (!h.v[i].seen)
			rc = state_sync_put(st, h.v[i].tenant, "synced", NULL, NULL);
	had_release(&h);
	if (rc != 0) {
		state_batch_rollback(st);
		return rc;
	}
	return state_batch_commit(st);
}

static bool acted(plan_kind k)
{
	return k == PLAN_CREATE || k == PLAN_UPDATE || k == PLAN_DELETE || k == PLAN_ADOPT;
}

int sync_record_applying(state *st, const plan *p)
{
	int rc = state_batch_begin(st);
	for (size_t i = 0; rc == 0 && i < p->nactions; i++)
		if (acted(p->actions[i].kind))
			rc = state_sync_put(st, p->actions[i].tenant, "applying", "an apply is making its changes", NULL);
	if (rc != 0) {
		state_batch_rollback(st);
		return rc;
	}
	return state_batch_commit(st);
}

int sync_record_applied(state *st, const plan *p, const exec_summary *sum)
{
	strmap *done = strmap_new(); /* keys borrowed from sum */
	int rc = state_batch_begin(st);
	for (size_t i = 0; rc == 0 && i < sum->n; i++) {
		const exec_outcome *o = &sum->v[i];
		strmap_put(done, o->tenant, (void *)o);
		if (o->status == EXEC_OK)
			rc = state_sync_put(st, o->tenant, "synced", NULL, NULL);
		else if (o->status == EXEC_FAILED)
			rc = state_sync_put(st, o->tenant, "failed", o->error ? o->error : "failed", NULL);
		else
			rc = state_sync_put(st, o->tenant, "out-of-sync", o->error ? o->error : "not applied", NULL);
	}
	/* the ones a stopped run never started */
	for (size_t i = 0; rc == 0 && i < p->nactions; i++)
		if (acted(p->actions[i].kind) && !strmap_get(done, p->actions[i].tenant))
			rc = state_sync_put(st, p->actions[i].tenant, "out-of-sync", "not applied: the run stopped first",
					    NULL);
	strmap_free(done);
	if (rc != 0) {
		state_batch_rollback(st);
		return rc;
	}
	return state_batch_commit(st);
}
