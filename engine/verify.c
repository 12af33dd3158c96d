/*
 * verify.c: identity before every create, against Neon, not the cache.
 *
 * plan_build proves a create safe from the cache (diff/identity.c): no
 * project there carries the tenant's name or annotations. The cache can be
 * behind: a state file restored from an old copy, or one whose list is
 * younger than refreshInterval but older than another runner's creates.
 * So a plan with creates is checked against live before anyone acts on it:
 *   - when this run listed the fleet, the list is the proof;
 *   - otherwise each name to create is searched, paged to its end
 *     (neon_projects_find), or, when there are more names than list pages,
 *     the fleet is listed again, which is cheaper;
 *   - a project found that the cache did not hold is read by id into it.
 * Then every project no tenant is mapped to whose branches were never read
 * is read deep (its annotations say whose it is), and the plan is built
 * again if anything new was learned. A project that stays unread keeps
 * every create blocked (identity.c): nothing is created on a guess.
 */
#include <string.h>

#include "engine/internal.h"

#define LIST_PAGE 400 /* refresh_list's page: what one list call covers */

typedef struct verify_ctx {
	state *st;
	neon_client *c;
	char **fetch;           /* found ids the cache did not hold */
	size_t nfetch, capfetch;
	bool relist;            /* a search could not see everything */
	int found;              /* projects found by name */
	int64_t calls;
	int rc;
	char error[600];
	int stored;             /* projects read by id into the cache */
} verify_ctx;

static void on_found(void *arg, neon_find_result *res)
{
	verify_ctx *v = arg;
	v->calls += res->calls;
	if (res->rc != 0) {
		if (!v->rc) {
			v->rc = res->rc;
			snprintf(v->error, sizeof(v->error), "%s%s%s%s", res->error, res->request_id[0] ? " (request " : "",
				 res->request_id, res->request_id[0] ? ")" : "");
		}
		return;
	}
	if (res->unresolved)
		v->relist = true;
	for (size_t i = 0; i < res->n; i++) {
		v->found++;
		state_project p;
		int rc = state_project_get(v->st, res->ids[i], &p);
		if (rc == 0) {
			state_project_release(&p);
			continue;
		}
		if (v->nfetch == v->capfetch)
			v->fetch = xgrow(v->fetch, &v->capfetch, v->nfetch + 1, sizeof(char *));
		v->fetch[v->nfetch++] = xstrdup(res->ids[i]);
	}
}

static void on_fetched(void *arg, neon_result *res)
{
	verify_ctx *v = arg;
	v->calls++;
	int rc = res->outcome == NEON_OK ? cache_store_project(v->st, json_object_get(res->body, "project"), false)
					 : ERR_FAIL;
	if (rc == 0) {
		v->stored++;
	} else if (!(res->outcome == NEON_HTTP_ERROR && res->status == 404) && !v->rc) {
		/* 404: deleted since the search saw it, so not a claimant */
		v->rc = ERR_FAIL;
		snprintf(v->error, sizeof(v->error), "reading a project the search found failed: %s",
			 res->outcome != NEON_OK ? res->message : err_msg());
	}
}

typedef struct unread {
	char **ids;
	size_t n, cap;
} unread;

static int on_unmapped(void *arg, const state_unmapped *u)
{
	unread *r = arg;
	if (u->deep_known || (r->n && strcmp(r->ids[r->n - 1], u->project_id) == 0))
		return 0; /* rows come in id order, one per annotated branch */
	if (r->n == r->cap)
		r->ids = xgrow(r->ids, &r->cap, r->n + 1, sizeof(char *));
	r->ids[r->n++] = xstrdup(u->project_id);
	return 0;
}

static void unread_clear(unread *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->ids[i]);
	free(r->ids);
	memset(r, 0, sizeof(*r));
}

int verify_fetch(state *st, neon_client *c, char *const *names, size_t nnames,
		 const char *extra_id, verify_found *out)
{
	verify_ctx v;
	memset(&v, 0, sizeof(v));
	memset(out, 0, sizeof(*out));
	v.st = st;
	v.c = c;
	for (size_t i = 0; i < nnames; i++)
		neon_projects_find_submit(c, names[i], on_found, &v);
	int rc = neon_run(c);
	if (rc == 0 && v.rc)
		rc = err_set(v.rc, "checking that no project already carries the name of a tenant failed: %s", v.error);
	if (rc == 0 && extra_id) {
		state_project p;
		bool known = state_project_get(st, extra_id, &p) == 0;
		if (known)
			state_project_release(&p);
		bool listed = false;
		for (size_t i = 0; i < v.nfetch; i++)
			listed |= strcmp(v.fetch[i], extra_id) == 0;
		if (!known && !listed) {
			if (v.nfetch == v.capfetch)
				v.fetch = xgrow(v.fetch, &v.capfetch, v.nfetch + 1, sizeof(char *));
			v.fetch[v.nfetch++] = xstrdup(extra_id);
		}
	}
	for (size_t i = 0; rc == 0 && i < v.nfetch; i++) {
		char *path = xasprintf("/projects/%s", v.fetch[i]);
		neon_submit(c, "GET", path, NULL, false, on_fetched, &v);
		free(path);
	}
	if (rc == 0 && v.nfetch)
		rc = neon_run(c);
	if (rc == 0 && v.rc)
		rc = err_set(v.rc, "%s", v.error);
	out->found = v.found;
	out->stored = v.stored;
	out->cut_short = v.relist;
	out->calls = v.calls;
	for (size_t i = 0; i < v.nfetch; i++)
		free(v.fetch[i]);
	free(v.fetch);
	return rc;
}

int verify_read_unmapped(state *st, neon_client *c, refresh_stats *rs, size_t *nread)
{
	unread r = {0};
	*nread = 0;
	int rc = state_unmapped_foreach(st, on_unmapped, &r);
	if (rc != 0)
		return rc;
	rc = r.n ? refresh_deep(st, c, r.ids, r.n, NULL, NULL, rs) : 0;
	*nread = r.n;
	unread_clear(&r);
	return rc;
}

int verify_creates(state *st, neon_client *c, const plan *p, const char *prefix, bool listed,
		   bool verbose, bool *replan)
{
	*replan = false;
	unread r = {0};
	int rc = state_unmapped_foreach(st, on_unmapped, &r);
	if (rc != 0)
		return rc;
	size_t nunread = r.n;
	unread_clear(&r);
	if (!p->ncreate && (!nunread || !p->nblocked))
		return 0; /* nothing to create, and nothing waits on an unread project */
	verify_found v;
	memset(&v, 0, sizeof(v));
	bool relist = false;
	if (!listed && p->ncreate) {
		size_t pages = (size_t)(state_project_count(st) / LIST_PAGE) + 1;
		if (p->ncreate > pages) {
			relist = true;
		} else {
			char **names = xcalloc(p->ncreate + 1, sizeof(char *));
			size_t n = 0;
			for (size_t i = 0; i < p->nactions && n < p->ncreate; i++)
				if (p->actions[i].kind == PLAN_CREATE)
					names[n++] = xasprintf("%s%s", prefix, p->actions[i].tenant);
			int frc = verify_fetch(st, c, names, n, NULL, &v);
			for (size_t i = 0; i < n; i++)
				free(names[i]);
			free(names);
			if (frc != 0)
				return err_set(frc, "%s; nothing was created", err_msg());
			relist = v.cut_short;
		}
	}
	refresh_stats rs;
	memset(&rs, 0, sizeof(rs));
	if (relist) {
		if ((rc = refresh_list(st, c, &rs)) != 0)
			return rc;
		*replan = true;
	}
	size_t nread = 0;
	if ((rc = verify_read_unmapped(st, c, &rs, &nread)) != 0)
		return rc;
	if (rs.deep_failed)
		engine__note("%s project%s no tenant is mapped to could not be read (first: %s); no tenant is "
			     "created until whose %s is known", unit_count(rs.deep_failed).s,
			rs.deep_failed == 1 ? "" : "s", rs.first_error, rs.deep_failed == 1 ? "it" : "they");
	if (v.stored || rs.deep_done)
		*replan = true;
	if (verbose)
		engine__note("creates checked against Neon: %s, %s project%s found by name (%s new to the cache), "
			     "%s unmapped project%s read deep",
			relist ? "the fleet listed again" : listed ? "this run's list" : "each name searched",
			unit_count(v.found).s, v.found == 1 ? "" : "s", unit_count(v.stored).s, unit_count((int64_t)nread).s, nread == 1 ? "" : "s");
	return 0;
}
