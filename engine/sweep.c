/*
 * sweep.c: the daemon's drift sweep, one step a loop. Changes made
 * outside flotilla (in the console, by a script) move no commit, so the
 * daemon reads the fleet again within a share of the request budget, in
 * two tiers (docs/daemon.md, "Drift"):
 *
 *   list tier  every list interval, a list refresh (one call per 400
 *              projects) and a comparison of every tenant with the last
 *              applied commit: what a list shows (settings, quota,
 *              default compute, history retention, name, region, pg
 *              version) is seen fleet-wide within minutes;
 *   deep tier  deep reads of the next tenants after a cursor (round-robin
 *              over the tenant map), paced, then those tenants compared:
 *              branches, computes, databases and roles, and the backup
 *              schedules flotilla set (engine/backups.c);
 *   usage tier every usage interval, a pass over the tenant map in pages
 *              of 100 tenants a call (usage.c, usage_refresh_page): the
 *              month's usage kept for `flotilla status` and the
 *              near-quota metric. It runs on USAGE_SHARE of the deep
 *              tier's part while a pass runs and takes nothing between.
 *
 * Drifted tenants are healed when the fleet says `drift: heal`. Each tier
 * has its own allowance that grows with time (its part of rate x share)
 * and is capped, so an idle daemon does not save up for a storm. The list
 * tier takes at most half the share by default (its interval follows), the
 * deep tier the rest. The cost of a deep read is measured as the sweep goes
 * and feeds the estimate of the deep tier's period.
 */
#include <string.h>
#include <time.h>

#include "engine/internal.h"

/* tenants read deep between two looks at the pace and the clock */
#define SWEEP_CHUNK 10
#define PAGE_STOP 1 /* page_add's "enough": not an error */

/* the share of the sweep's pace the list tier takes at most: by default,
 * and when --list-interval asks for more */
#define LIST_SHARE_AUTO 0.5
#define LIST_SHARE_MAX 0.9
/* the list tier's shortest interval */
#define LIST_MIN_INTERVAL 60
/* the usage tier's part of what the list tier leaves, while a pass runs,
 * and its most calls in one step: the allowance (at most two loops' share)
 * bounds a step first; this bounds the rows a step holds */
#define USAGE_SHARE 0.25
#define USAGE_STEP_MAX 1000

struct sweep {
	double deep_allowance;    /* requests the deep tier may still spend */
	double list_allowance;    /* and the list tier */
	int64_t stamp_ms;         /* when the allowances last grew */
	char cursor[80];          /* the last tenant read ("": from the start) */
	int64_t list_due;         /* unix seconds: the next list refresh */
	int64_t reported_tenants; /* the fleet size the period was last reported for */
	double reads_per_project; /* measured requests a deep read costs, 0: none yet */
	/* the usage tier: a pass runs from usage_started; the next is due at
	 * usage_due (unix seconds) */
	bool usage_running;
	double usage_allowance;
	char usage_cursor[USAGE_NAME_LEN];
	int64_t usage_started, usage_due;
};

sweep *sweep_new(void)
{
	sweep *s = xcalloc(1, sizeof(*s));
	s->stamp_ms = mono_ms();
	s->reported_tenants = -1;
	return s;
}

void sweep_free(sweep *s)
{
	free(s);
}

/* A page of the tenant map: names and project ids. */
typedef struct page {
	char **names, **ids;
	size_t n, cap;
} page;

static int page_add(void *arg, const state_tenant *t)
{
	page *pg = arg;
	for (size_t i = 0; i < pg->n; i++)
		if (strcmp(pg->names[i], t->tenant) == 0)
			return PAGE_STOP; /* round again reached the first page */
	if (pg->n == pg->cap)
		return PAGE_STOP;
	pg->names[pg->n] = xstrdup(t->tenant);
	pg->ids[pg->n++] = xstrdup(t->project_id);
	return 0;
}

static void page_free(page *pg)
{
	for (size_t i = 0; i < pg->n; i++) {
		free(pg->names[i]);
		free(pg->ids[i]);
	}
	free(pg->names);
	free(pg->ids);
	memset(pg, 0, sizeof(*pg));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Compare the tenants read (slice, or NULL: the whole fleet) with the last
 * applied commit, recording the drifted ones (sync.c); heal them when the
 * fleet says so. */
static int compare(state *st, neon_client *c, const sweep_opts *o, char **slice, size_t k, sweep_result *out)
{
	char *last = NULL;
	int rc = state_meta_get(st, "last_applied_commit", &last);
	if (rc != 0 || !last)
		return rc;
	if (slice)
		qsort(slice, k, sizeof(char *), cmp_str);
	plan_req rq = {.repo = o->repo, .ref = last, .mode = "none", .max_deletes = -1,
		       .only = (const char *const *)slice, .nonly = k, .record = PLAN_RECORD_DRIFT};
	planning pl;
	rc = planning_run(&rq, st, NULL, &pl);
	if (rc == 0) {
		out->compared = true;
		out->heal = strcmp(spec_fleet_drift(pl.fl.fleet), "heal") == 0;
		out->drifted += pl.p->nupdate + pl.p->ncreate;
		for (size_t i = 0; i < pl.news.drifted && i < SYNC_NEWS_NAMES; i++)
			if (out->news.drifted + i < SYNC_NEWS_NAMES)
				memcpy(out->news.names[out->news.drifted + i], pl.news.names[i], sizeof(pl.news.names[i]));
		out->news.drifted += pl.news.drifted;
		if (out->drifted && out->heal) {
			exec_opts eo = *o->heal;
			eo.fleet = spec_fleet_name(pl.fl.fleet);
			exec_summary sum;
			memset(&sum, 0, sizeof(sum));
			if (sync_record_applying(st, pl.p) != 0)
				engine__warn("drift: cannot record the tenants' sync states", "error", err_msg());
			if (exec_apply(c, st, pl.p, &eo, &sum) == 0) {
				if (sync_record_applied(st, pl.p, &sum) != 0)
					engine__warn("drift: cannot record the tenants' sync states", "error", err_msg());
				out->healed_run = true;
				out->healed += sum.ok;
				out->heal_failed += sum.failed;
			}
			exec_summary_release(&sum);
		}
	}
	planning_release(&pl);
	free(last);
	return rc;
}

/* The list tier's interval and its share of the pace: the interval asked
 * for (0: as often as LIST_SHARE_AUTO of the pace allows, at least
 * LIST_MIN_INTERVAL), made longer when the list would take more than
 * LIST_SHARE_MAX. */
static double list_tier(int64_t asked, double list_cost, double pace, double *share)
{
	double interval = asked > 0 ? (double)asked : list_cost / (pace * LIST_SHARE_AUTO);
	if (asked <= 0 && interval < LIST_MIN_INTERVAL)
		interval = LIST_MIN_INTERVAL;
	if (list_cost / (pace * interval) > LIST_SHARE_MAX)
		interval = list_cost / (pace * LIST_SHARE_MAX);
	*share = list_cost / (pace * interval);
	return interval;
}

/* A step of the usage tier's pass: the next pages within its allowance.
 * A refusal (a 4xx other than 429: the plan, the organization) ends the
 * pass until the next interval; another failure is tried again. */
static void usage_step(sweep *s, state *st, neon_client *c, const sweep_opts *o, int64_t wall, sweep_result *out)
{
	if (!neon_client_org(c)) {
		str_copy(out->usage_error, "the consumption API needs the organization: set spec.orgId in flotilla.yaml "
			 "(the id in the Neon console's organization settings)", sizeof(out->usage_error));
		s->usage_running = false;
		s->usage_due = wall + o->usage_interval_s;
		return;
	}
	size_t calls = (size_t)s->usage_allowance;
	if (calls > USAGE_STEP_MAX)
		calls = USAGE_STEP_MAX;
	usage_page pg;
	neon_stats before, after;
	neon_client_stats(c, &before);
	int rc = usage_refresh_page(st, c, s->usage_cursor, calls * USAGE_BATCH, wall, &pg);
	neon_client_stats(c, &after);
	s->usage_allowance -= (double)(after.requests - before.requests);
	out->usage_tenants += pg.recorded;
	out->usage_calls += after.requests - before.requests;
	if (rc != 0) {
		str_copy(out->usage_error, err_msg(), sizeof(out->usage_error));
		if (pg.status >= 400 && pg.status < 500 && pg.status != 429) {
			s->usage_running = false;
			s->usage_due = wall + o->usage_interval_s;
		}
		return;
	}
	if (pg.tenants)
		str_copy(s->usage_cursor, pg.last, sizeof(s->usage_cursor));
	if (pg.end) {
		s->usage_running = false;
		s->usage_due = s->usage_started + o->usage_interval_s;
		s->usage_cursor[0] = 0;
		out->usage_pass_done = true;
		out->usage_pass_s = wall - s->usage_started;
	}
}

int sweep_step(sweep *s, state *st, neon_client *c, const sweep_opts *o, sweep_result *out)
{
	memset(out, 0, sizeof(*out));
	int64_t now = mono_ms();
	double pace = o->rate * o->budget; /* requests a second the sweep may spend */
	int64_t nmapped = state_tenant_count(st);
	if (nmapped < 0)
		return err_set(ERR_IO, "counting the tenant map: %s", err_msg());
	out->tenants = nmapped;
	double list_cost = (double)(nmapped / 400 + 1), share;
	double interval = list_tier(o->list_interval_s, list_cost, pace, &share);
	int64_t wall = (int64_t)time(NULL);
	double elapsed = (double)(now - s->stamp_ms) / 1000.0;
	if (o->usage_interval_s > 0 && !s->usage_running && wall >= s->usage_due) {
		s->usage_running = true; /* a pass begins: its first call at once */
		s->usage_started = wall;
		s->usage_allowance = 1;
		s->usage_cursor[0] = 0;
	}
	double usage_pace = s->usage_running ? pace * (1 - share) * USAGE_SHARE : 0;
	double deep_pace = pace * (1 - share) - usage_pace;
	s->stamp_ms = now;
	s->list_allowance += elapsed * pace * share;
	s->deep_allowance += elapsed * deep_pace;
	s->usage_allowance += elapsed * usage_pace;
	/* an idle daemon does not save up for a storm: the list tier for one
	 * list, the deep tier for two intervals' reads */
	if (s->list_allowance > list_cost)
		s->list_allowance = list_cost;
	double cap = deep_pace * (double)o->interval_s * 2 + 10;
	if (s->deep_allowance > cap)
		s->deep_allowance = cap;
	if (s->usage_allowance > usage_pace * (double)o->interval_s * 2 + 1)
		s->usage_allowance = usage_pace * (double)o->interval_s * 2 + 1;
	/* the tiers' periods, for operators: the list tier's interval; the
	 * deep tier's reads at what a project costs (measured as the sweep
	 * goes; 2 + 2 a branch) */
	double per_project = s->reads_per_project > 0 ? s->reads_per_project : 4.5;
	out->list_s = interval;
	out->sweep_s = per_project * (double)nmapped / deep_pace;
	out->size_changed = s->reported_tenants != nmapped;
	s->reported_tenants = nmapped;

	refresh_stats rs;
	memset(&rs, 0, sizeof(rs));
	int rc = 0;
	if (wall >= s->list_due && s->list_allowance >= list_cost && !(o->interrupted && o->interrupted(o->arg))) {
		int64_t t0 = mono_ms();
		if ((rc = refresh_list(st, c, &rs)) != 0)
			return rc;
		out->listed = true;
		out->incomplete = rs.incomplete;
		str_copy(out->first_error, rs.first_error, sizeof(out->first_error));
		s->list_allowance -= (double)rs.list_calls;
		s->list_due = wall + (int64_t)interval;
		/* every tenant, as the list shows it, against git; an
		 * incomplete list compares what it saw (the tenants it could
		 * not read keep their cached rows) */
		if ((rc = compare(st, c, o, NULL, 0, out)) != 0)
			return rc;
		out->list_compared = out->compared;
		out->list_ms = mono_ms() - t0;
	}
	/* after the list, whose active time and storage it keeps */
	if (s->usage_running && s->usage_allowance >= 1 && !(o->interrupted && o->interrupted(o->arg)))
		usage_step(s, st, c, o, wall, out);
	size_t k = s->deep_allowance > 0 ? (size_t)(s->deep_allowance / per_project) : 0;
	if (k > (size_t)nmapped)
		k = (size_t)nmapped;
	if (k == 0)
		return 0;
	/* the next k mapped tenants after the cursor, round-robin: a page of
	 * the map, not the whole map each loop */
	page pg = {.cap = k};
	pg.names = xcalloc(k, sizeof(char *));
	pg.ids = xcalloc(k, sizeof(char *));
	rc = state_tenants_page(st, s->cursor, k, page_add, &pg);
	if (rc == 0 && pg.n < k)
		rc = state_tenants_page(st, "", k - pg.n, page_add, &pg); /* round again */
	if (rc == PAGE_STOP)
		rc = 0;
	/* read in chunks, paced to the budget's rate rather than in one burst,
	 * and stop early for a webhook or a signal: a commit waiting behind
	 * the sweep is worse than a sweep a little behind */
	size_t done = 0;
	for (size_t at = 0; rc == 0 && at < pg.n; at += SWEEP_CHUNK) {
		size_t n = pg.n - at < SWEEP_CHUNK ? pg.n - at : SWEEP_CHUNK;
		neon_stats before, after;
		neon_client_stats(c, &before);
		int64_t t0 = mono_ms();
		rc = refresh_deep(st, c, pg.ids + at, n, NULL, NULL, &rs);
		if (rc == 0)
			rc = refresh_backups_known(st, c, pg.ids + at, n, &rs);
		neon_client_stats(c, &after);
		int64_t spent = after.requests - before.requests;
		s->deep_allowance -= (double)spent;
		done += n;
		double cost = (double)spent / (double)n;
		s->reads_per_project = s->reads_per_project > 0 ? 0.8 * s->reads_per_project + 0.2 * cost : cost;
		if (rc != 0 || (o->interrupted && o->interrupted(o->arg)))
			break;
		/* at the budget's pace: spent requests take spent / pace s; the
		 * pace never delays the next fetch: past it, the rest waits */
		if (mono_ms() >= o->deadline_ms)
			break;
		int64_t due = t0 + (int64_t)((double)spent * 1000.0 / deep_pace);
		if (due > o->deadline_ms)
			due = o->deadline_ms;
		if (at + n < pg.n && due > mono_ms() && o->wait && o->wait(o->arg, due - mono_ms()))
			break;
	}
	out->reads = done;
	if (done)
		str_copy(s->cursor, pg.names[done - 1], sizeof(s->cursor));
	if (rc == 0 && done)
		rc = compare(st, c, o, pg.names, done, out);
	page_free(&pg);
	return rc;
}
