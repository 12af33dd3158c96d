/*
 * planning.c: make a plan from a commit and the state file, for plan and
 * apply: load the fleet (the parse cache, an incremental load with a base
 * commit), bring the cache up to date as --refresh says, and compare.
 * The caller opens the state file, holds the lease when it refreshes, and
 * makes the client; errors come back with err_msg, and what the verbose
 * mode tells goes out as notes.
 */
#include <string.h>
#include <time.h>

#include "engine/internal.h"

typedef struct id_set {
	char **ids;
	size_t n, cap;
} id_set;

static void id_push(id_set *s, const char *id)
{
	if (s->n == s->cap)
		s->ids = xgrow(s->ids, &s->cap, s->n + 1, sizeof(char *));
	s->ids[s->n++] = xstrdup(id);
}

static void id_clear(id_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->ids[i]);
	free(s->ids);
	memset(s, 0, sizeof(*s));
}

typedef struct deep_pick {
	state *st;
	id_set *out;
	bool all;
	const spec_fleet *fleet;
	id_set *schedules; /* of out, those whose backup schedule is read too */
} deep_pick;

/* auto: a managed project never read deep, or whose managed fields moved
 * since its deep read (a change made outside flotilla). Not updated_at:
 * Neon moves it whenever a compute starts or suspends, and a busy fleet
 * would be read deep all over on every plan (docs/state.md). And a tenant
 * that declares a backup schedule never read (engine/backups.c). */
static int pick_deep(void *arg, const state_tenant *t)
{
	deep_pick *d = arg;
	state_project p;
	if (state_project_get(d->st, t->project_id, &p) != 0)
		return 0; /* not in the cache: gone from Neon, or the cache is older */
	bool stale = d->all || p.deep_at == 0 || !p.deep_fingerprint || !p.fingerprint ||
		     strcmp(p.deep_fingerprint, p.fingerprint) != 0;
	/* the cached schedule only matters to a tenant that declares one or
	 * is read deep anyway: most tenants cost no look-up */
	bool declared = engine_backups_declared(d->fleet, t->tenant), sched = false, unread = false;
	int rc = declared || stale ? engine_backups_want(d->st, declared, p.id, &sched, &unread) : 0;
	if (rc != 0) {
		state_project_release(&p);
		return rc;
	}
	stale = stale || unread;
	if (stale)
		id_push(d->out, p.id);
	if (stale && sched)
		id_push(d->schedules, p.id);
	state_project_release(&p);
	return 0;
}

/* The live side: a list refresh when the cache is older than the
 * fleet's refreshInterval (or always, with full), then the deep reads. */
static int refresh_live(const plan_req *rq, state *st, neon_client *client, const fleet_load *fl,
			bool *listed)
{
	char *ts = NULL;
	int64_t refreshed = 0;
	if (state_meta_get(st, "list_refreshed_at", &ts) == 0 && ts && str_to_i64(ts, &refreshed) != 0)
		refreshed = 0;
	free(ts);
	bool full = strcmp(rq->mode, "full") == 0;
	int64_t age = (int64_t)time(NULL) - refreshed;
	bool list = full || refreshed == 0 || age >= spec_fleet_refresh_interval(fl->fleet);
	refresh_stats rs;
	memset(&rs, 0, sizeof(rs));
	int rc = list ? refresh_list(st, client, &rs) : 0;
	if (rc != 0)
		return rc;
	*listed = list;
	if (rs.incomplete)
		engine__note("the list of the live fleet is incomplete: %s project%s that Neon named unavailable "
			     "could not be read (first: %s); nothing was removed from the cache, and no tenant will be "
			     "created until a refresh completes", unit_count(rs.incomplete).s,
			rs.incomplete == 1 ? "" : "s", rs.first_error);
	id_set deep = {0}, sched = {0};
	deep_pick pick = {.st = st, .out = &deep, .all = full, .fleet = fl->fleet, .schedules = &sched};
	int prc = 0;
	if (fl->only) {
		/* an incremental plan compares only the tenants whose desired
		 * spec changed: read each of those deep, and nothing else */
		pick.all = true;
		for (size_t i = 0; i < fl->nonly && prc == 0; i++) {
			state_tenant t;
			prc = state_tenant_get(st, fl->only[i], &t);
			if (prc == ERR_NOTFOUND) {
				prc = 0;
				continue;
			}
			if (prc == 0) {
				prc = pick_deep(&pick, &t);
				state_tenant_release(&t);
			}
		}
	} else {
		prc = state_tenants_foreach(st, pick_deep, &pick);
	}
	rc = prc ? prc : refresh_deep(st, client, deep.ids, deep.n, NULL, NULL, &rs);
	if (rc == 0)
		rc = refresh_backups(st, client, sched.ids, sched.n, &rs);
	if (rc == 0 && rs.deep_gone)
		engine__note("%s project%s deleted in Neon since the last list (a deep read found %s gone): dropped "
			     "from the cache, as a list would drop %s", unit_count(rs.deep_gone).s,
			     rs.deep_gone == 1 ? " was" : "s were", rs.deep_gone == 1 ? "it" : "them",
			     rs.deep_gone == 1 ? "it" : "them");
	if (rc == 0 && rs.deep_failed)
		rc = err_set(ERR_FAIL, "%s deep read%s failed; first: %s", unit_count(rs.deep_failed).s,
			     rs.deep_failed == 1 ? "" : "s", rs.first_error);
	else if (rc == 0 && rq->verbose)
		engine__note("refresh made %s list call%s and %s deep read%s%s%s%s", unit_count(rs.list_calls).s,
			     rs.list_calls == 1 ? "" : "s", unit_count((int64_t)deep.n).s, deep.n == 1 ? "" : "s",
			     sched.n ? " (with " : "", sched.n ? unit_count((int64_t)sched.n).s : "",
			     sched.n == 1 ? " backup schedule)" : sched.n ? " backup schedules)" : "");
	id_clear(&deep);
	id_clear(&sched);
	return rc;
}

/* Compare the loaded fleet with the cache: out->p. */
static int build(const plan_req *rq, state *st, planning *out)
{
	const fleet_load *fl = &out->fl;
	plan_input in = {.fleet = fl->fleet, .st = st, .commit = source_commit(out->g), .sel = out->sel,
			 .now = (int64_t)time(NULL),
			 .only = rq->only ? rq->only : (const char *const *)fl->only,
			 .nonly = rq->only ? rq->nonly : fl->nonly,
			 .max_deletes = rq->max_deletes, .changed_since = fl->base[0] ? fl->base : NULL,
			 .live_incomplete = state_list_incomplete(st)};
	/* one consistent view of the cache for the whole comparison */
	bool snap = state_read_begin(st) == 0;
	int brc = plan_build(&out->p, &in);
	if (snap)
		state_read_end(st);
	return brc;
}

int planning_fleet_check(state *st, const char *fleet, const char *where)
{
	/* a state file serves one fleet: its map, marks and journal are that
	 * fleet's, and another fleet's projects would all look foreign */
	char *owner = NULL;
	int rc = 0;
	if (state_meta_get(st, "fleet", &owner) == 0 && owner && strcmp(owner, fleet) != 0)
		rc = err_set(ERR_CONFLICT, "the state file belongs to fleet '%s', and the manifests %s are fleet '%s'; "
					   "a state file serves one fleet: give this one its own (--state)",
			     owner, where, fleet);
	free(owner);
	return rc;
}

int planning_load(const plan_req *rq, state *st, planning *out)
{
	memset(out, 0, sizeof(*out));
	out->diags = spec_diags_new();
	const char *since = rq->since;
	int rc;
	if (rq->select && (rc = plan_selector_parse(&out->sel, rq->select)) != 0)
		return rc;
	if (out->sel && plan_selector_changed_since(out->sel)) {
		if (since)
			return err_set(ERR_INVALID, "--changed-since and --select changed-since= both given; keep one");
		since = plan_selector_changed_since(out->sel);
	}
	if ((rc = source_open(&out->g, rq->repo, rq->ref)) != 0)
		return rc;
	if (since && strcmp(since, "last-applied") == 0) {
		if ((rc = state_meta_get(st, "last_applied_commit", &out->last_applied)) != 0)
			return rc;
		if (!out->last_applied)
			return err_set(ERR_NOTFOUND, "--changed-since last-applied: nothing has been applied from this "
						     "state yet; run without it");
		since = out->last_applied;
	}
	if ((rc = fleet_load_commit(&out->fl, out->g, st, since, out->diags)) != 0)
		return rc;
	const fleet_load *fl = &out->fl;
	if (spec_diags_count(out->diags)) {
		size_t n = spec_diags_count(out->diags);
		return err_set(ERR_INVALID, "the manifests at %.7s have %zu problem%s (above); nothing was planned",
			       source_commit(out->g), n, n == 1 ? "" : "s");
	}
	char where[64];
	snprintf(where, sizeof(where), "at %.7s", source_commit(out->g));
	if ((rc = planning_fleet_check(st, spec_fleet_name(fl->fleet), where)) != 0)
		return rc;
	if (out->sel && plan_selector_changed_since(out->sel))
		plan_select_changed(out->sel, (const char *const *)fl->only, fl->nonly);
	if (since && rq->verbose)
		engine__note("%s path%s changed since %.12s; %s tenant%s considered (%s load)",
			     unit_count((int64_t)fl->changed_files).s, fl->changed_files == 1 ? "" : "s", since,
			     unit_count((int64_t)fl->nonly).s, fl->nonly == 1 ? "" : "s",
			     fl->partial ? "partial" : "full");
	return 0;
}

int planning_run(const plan_req *rq, state *st, neon_client *client, planning *out)
{
	int rc = planning_load(rq, st, out);
	if (rc != 0)
		return rc;
	const fleet_load *fl = &out->fl;
	/* every list and search names the fleet's organization (a personal
	 * key must), from the settling of an earlier run on */
	if (client)
		neon_client_set_org(client, spec_fleet_org_id(fl->fleet));
	if (rq->before_refresh && (rc = rq->before_refresh(rq->hook_arg, fl->fleet)) != 0)
		return rc;
	/* --refresh none reads nothing to compare, but creates are still
	 * checked against Neon when there is a client (apply) */
	bool listed = false;
	if (client && strcmp(rq->mode, "none") != 0 && (rc = refresh_live(rq, st, client, fl, &listed)) != 0)
		return rc;
	if ((rc = build(rq, st, out)) != 0)
		return rc;
	bool replan = false;
	if (client && (rc = verify_creates(st, client, out->p, spec_fleet_name_prefix(fl->fleet), listed,
					   rq->verbose, &replan)) != 0)
		return rc;
	if (replan) {
		plan_free(out->p);
		out->p = NULL;
		if ((rc = build(rq, st, out)) != 0)
			return rc;
	}
	/* what blocks these is live state a person changes in Neon, which
	 * moves no field the cache's fingerprint covers: read them again
	 * next time, so the fix is seen */
	for (size_t i = 0; client && i < out->p->nactions; i++) {
		const plan_action *a = &out->p->actions[i];
		if (a->kind == PLAN_BLOCKED && a->reread && a->project_id && state_deep_stale(st, a->project_id) != 0)
			engine__warn("cannot mark a blocked tenant's project for a new read", "tenant", a->tenant, "error",
				     err_msg());
	}
	if (rq->record != PLAN_RECORD_NONE) {
		const plan *p = out->p;
		/* the drift sweep's plans are of the last applied commit: rows
		 * of tenants newer commits made are not theirs to clear */
		bool whole = rq->record == PLAN_RECORD_PLAN && !p->selected && !rq->only &&
			     !(p->changed_since && p->changed_since[0]);
		if (sync_record_plan(st, p, rq->record == PLAN_RECORD_DRIFT, whole, &out->news) != 0)
			engine__warn("cannot record the tenants' sync states", "error", err_msg());
	}
	out->p->blobs_parsed = fl->stats.parsed;
	out->p->blobs_cached = fl->stats.cached;
	if (rq->verbose)
		engine__note("%s manifest files, %s parsed, %s from the parse cache", unit_count(fl->stats.files).s,
			     unit_count(fl->stats.parsed).s, unit_count(fl->stats.cached).s);
	return 0;
}

void planning_release(planning *pl)
{
	plan_free(pl->p);
	plan_selector_free(pl->sel);
	fleet_load_release(&pl->fl);
	free(pl->last_applied);
	spec_diags_free(pl->diags);
	source_free(pl->g);
	memset(pl, 0, sizeof(*pl));
}
