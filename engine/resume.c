/*
 * resume.c: before apply plans, settle what a previous run left
 * unfinished in the journal (a crash, a kill, a lost connection).
 *
 *   - A create (POST /projects) whose response named the project: the
 *     tenant is mapped to it (the executor maps it at once, but a crash can
 *     fall between the two writes).
 *   - A create with no known outcome: the project is looked up by its name
 *     (namePrefix + tenant). Found: adopted, never created again. Not
 *     found: it did not run, and the plan creates it. Two or more: apply
 *     stops, naming them; a person decides (never a third).
 *   - Any other write: the plan that follows reads the project again, so
 *     what ran is seen and what did not is planned again (a backup
 *     schedule PUT: its schedule too, which a deep read does not hold).
 * Each touched project is read back into the cache, so the plan sees it,
 * and so is any mapped tenant's project the cache lacks.
 * Every row ends "resolved", with how in its error column.
 */
#include <string.h>

#include "engine/internal.h"

typedef struct resume {
	state *st;
	neon_client *c;
	const char *fleet;
	char **reread; /* project ids to read back */
	size_t nreread;
	char **schedules; /* of those, the ones whose backup schedule a PUT touched */
	size_t nschedules;
	resume_stats *stats;
	int rc;
} resume;

static void reread_add(resume *r, const char *id)
{
	for (size_t i = 0; i < r->nreread; i++)
		if (strcmp(r->reread[i], id) == 0)
			return;
	r->reread = xrealloc(r->reread, (r->nreread + 1) * sizeof(char *));
	r->reread[r->nreread++] = xstrdup(id);
}

static int resolve(resume *r, const state_journal_entry *e, const char *how)
{
	int rc = state_journal_finish(r->st, e->id, STATE_JOURNAL_RESOLVED, how);
	if (rc == 0)
		r->stats->resolved++;
	return rc;
}

/* The create's project name, from its intent. */
static char *intent_name(const state_journal_entry *e)
{
	json_t *j = json_loads(e->intent_json ? e->intent_json : "", 0, NULL);
	const char *n = json_string_value(json_object_get(json_object_get(json_object_get(j, "body"), "project"), "name"));
	char *r = n ? xstrdup(n) : NULL;
	json_decref(j);
	return r;
}

static int map(resume *r, const char *tenant, const char *project_id)
{
	state_tenant t;
	int rc = state_tenant_get(r->st, tenant, &t);
	if (rc == 0) {
		bool same = strcmp(t.project_id, project_id) == 0;
		state_tenant_release(&t);
		if (same)
			return 0;
		return err_set(ERR_CONFLICT, "tenant '%s' is mapped to another project than the one its create made (%s)",
			       tenant, project_id);
	}
	if (rc != ERR_NOTFOUND)
		return rc;
	return state_tenant_put(r->st, tenant, project_id, r->fleet, "create");
}

static int settle_create(resume *r, const state_journal_entry *e)
{
	if (e->resource_id && e->resource_id[0]) {
		int rc = map(r, e->tenant, e->resource_id);
		if (rc != 0)
			return rc;
		reread_add(r, e->resource_id);
		r->stats->mapped++;
		return resolve(r, e, "the create had run: tenant mapped to its project");
	}
	char *name = intent_name(e);
	if (!name)
		return resolve(r, e, "an intent without a project name: nothing to look up");
	neon_find_result found;
	int rc = neon_projects_find(r->c, name, &found);
	if (rc != 0) {
		rc = err_set(ERR_FAIL, "looking up '%s' (a create a previous run left unfinished): %s", name, found.error);
	} else if (found.n > 1) {
		rc = err_set(ERR_CONFLICT,
			     "%s projects are named '%s' (tenant '%s', whose create a previous run left unfinished); "
			     "delete the extra ones or adopt one, then apply again",
			     unit_count((int64_t)found.n).s, name, e->tenant ? e->tenant : "?");
	} else if (found.n == 1) {
		if ((rc = map(r, e->tenant, found.ids[0])) == 0) {
			reread_add(r, found.ids[0]);
			r->stats->adopted++;
			char *how = xasprintf("the create had run: project %s adopted", found.ids[0]);
			rc = resolve(r, e, how);
			free(how);
		}
	} else if (found.unresolved > 0) {
		/* the row stays unfinished and apply stops before it plans, so
		 * nothing creates the tenant; the next run looks again */
		rc = err_set(ERR_CONFLICT,
			     "cannot settle the create of '%s' (tenant '%s') that a previous run left unfinished: %s "
			     "project%s of the search could not be read (Neon listed them as unavailable); run again "
			     "when Neon answers for them", name, e->tenant ? e->tenant : "?", unit_count((int64_t)found.unresolved).s,
			     found.unresolved == 1 ? "" : "s");
	} else {
		r->stats->absent++;
		rc = resolve(r, e, "the create had not run: no project by that name");
	}
	neon_find_result_release(&found);
	free(name);
	return rc;
}

/* A project delete: gone now (404) means it ran, and the tenant is unmapped. */
static int settle_delete(resume *r, const state_journal_entry *e, const char *project_id)
{
	char *path = xasprintf("/projects/%s", project_id);
	neon_result res;
	int rc = neon_call(r->c, "GET", path, NULL, false, &res);
	free(path);
	if (res.outcome == NEON_HTTP_ERROR && res.status == 404) {
		rc = state_tenant_delete(r->st, e->tenant);
		if (rc == ERR_NOTFOUND)
			rc = 0;
		if (rc == 0)
			rc = resolve(r, e, "the delete had run: tenant unmapped");
	} else if (res.outcome == NEON_OK) {
		reread_add(r, project_id);
		rc = resolve(r, e, "the delete had not run: the plan deletes it again");
	} else {
		rc = err_set(ERR_FAIL, "reading project %s (a delete a previous run left unfinished): %s", project_id,
			     res.message);
	}
	neon_result_release(&res);
	return rc;
}

static int settle(void *arg, const state_journal_entry *e)
{
	resume *r = arg;
	int rc;
	const char *a = e->action ? e->action : "";
	if (strcmp(a, "POST /projects") == 0 && e->tenant)
		rc = settle_create(r, e);
	else if (strncmp(a, "DELETE /projects/", 17) == 0 && !strchr(a + 17, '/') && e->tenant)
		rc = settle_delete(r, e, a + 17);
	else {
		if (e->project_id && e->project_id[0])
			reread_add(r, e->project_id);
		/* the schedule is not part of a deep read: read it too */
		if (e->project_id && e->project_id[0] && strncmp(a, "PUT ", 4) == 0 && engine__schedule_path(a)) {
			r->schedules = xrealloc(r->schedules, (r->nschedules + 1) * sizeof(char *));
			r->schedules[r->nschedules++] = xstrdup(e->project_id);
		}
		rc = resolve(r, e, "superseded: the next plan reads the project again");
	}
	if (rc != 0)
		r->rc = rc;
	return rc;
}

static void on_reread(void *arg, int rc, const char *error)
{
	(void)arg;
	if (rc != 0)
		engine__warn("apply: reading back a project a previous run touched failed", "error", error ? error : "");
}

static int add_uncached(void *arg, const char *tenant, const char *project_id)
{
	resume *r = arg;
	(void)tenant;
	reread_add(r, project_id);
	r->stats->uncached++;
	return 0;
}

int resume_run(state *st, neon_client *c, const char *fleet, resume_stats *out)
{
	memset(out, 0, sizeof(*out));
	resume r = {.st = st, .c = c, .fleet = fleet, .stats = out};
	int rc = state_journal_unfinished(st, settle, &r);
	/* a mapped tenant whose project the cache lacks (a crash between the
	 * two, or an older flotilla) would be blocked: read it now */
	if (rc == 0)
		rc = state_tenants_uncached(st, add_uncached, &r);
	if (rc == 0 && r.nreread) {
		for (size_t i = 0; i < r.nreread; i++)
			refresh_one_submit(st, c, r.reread[i], on_reread, &r);
		rc = neon_run(c);
	}
	refresh_stats rs;
	memset(&rs, 0, sizeof(rs));
	if (rc == 0 && r.nschedules && (rc = refresh_backups(st, c, r.schedules, r.nschedules, &rs)) == 0 &&
	    rs.deep_failed)
		engine__warn("apply: reading back a backup schedule a previous run wrote failed", "error", rs.first_error);
	for (size_t i = 0; i < r.nreread; i++)
		free(r.reread[i]);
	free(r.reread);
	for (size_t i = 0; i < r.nschedules; i++)
		free(r.schedules[i]);
	free(r.schedules);
	return rc;
}
