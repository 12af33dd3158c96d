/*
 * backups.c: the backup schedules a refresh reads (docs/lifecycle.md,
 * "Backups"). A schedule is deep-only state: the project list does not
 * show it, so it is read with the deep read, one GET of the default
 * branch's schedule, and only for a tenant whose manifest declares one or
 * whose cached one is not empty (a tenant that never had one costs no
 * call). A declaring tenant whose schedule was never read is read deep on
 * the next plan whatever its fingerprint says.
 */
#include <string.h>

#include "engine/internal.h"

bool engine_backups_declared(const spec_fleet *f, const char *tenant)
{
	const spec_tenant *t = f ? spec_fleet_tenant_find(f, tenant) : NULL;
	if (!t)
		return false;
	spec_values sv;
	spec_tenant_resolve(f, t, &sv);
	const spec_list *l = sv.v[SF_BACKUP_SCHEDULE].list;
	return l && l->n > 0;
}

int engine_backups_want(state *st, bool declared, const char *project_id, bool *read, bool *never_read)
{
	char *cached = NULL;
	int rc = state_backup_schedule_get(st, project_id, &cached);
	if (rc != 0)
		return rc;
	*never_read = declared && !cached;
	*read = declared || (cached && strcmp(cached, "[]") != 0);
	free(cached);
	return 0;
}

typedef struct sched_ctx {
	state *st;
	refresh_stats *out;
	char *project_id, *branch_id;
} sched_ctx;

static void failed(refresh_stats *out, const char *project_id, const char *error)
{
	out->deep_failed++;
	if (!out->first_error[0])
		snprintf(out->first_error, sizeof(out->first_error), "reading the backup schedule of project '%s' failed: %s",
			 project_id, error ? error : "");
}

static void on_schedule(void *arg, int rc, const json_t *schedule, const char *error)
{
	sched_ctx *c = arg;
	char *js = rc == 0 ? json_dumps(schedule, JSON_COMPACT) : NULL;
	if (rc != 0)
		failed(c->out, c->project_id, error);
	else if (!js || state_backup_schedule_put(c->st, c->project_id, c->branch_id, js) != 0)
		failed(c->out, c->project_id, js ? err_msg() : "cannot write the schedule as JSON");
	free(js);
	free(c->project_id);
	free(c->branch_id);
	free(c);
}

/* The cached default branch's id (heap), or NULL: not read deep. */
static char *default_branch(state *st, const char *project_id)
{
	state_deep d;
	char *id = NULL;
	if (state_deep_get(st, project_id, &d) != 0)
		return NULL;
	for (size_t i = 0; i < d.nbranches && !id; i++)
		if (d.branches[i].is_default)
			id = xstrdup(d.branches[i].id);
	state_deep_release(&d);
	return id;
}

int refresh_backups(state *st, neon_client *c, char *const *ids, size_t n, refresh_stats *out)
{
	for (size_t i = 0; i < n; i++) {
		char *br = default_branch(st, ids[i]);
		if (!br)
			continue; /* its deep read failed (counted there) */
		sched_ctx *sc = xcalloc(1, sizeof(*sc));
		*sc = (sched_ctx){st, out, xstrdup(ids[i]), br};
		neon_backup_schedule_get_submit(c, ids[i], br, on_schedule, sc);
	}
	return n ? neon_run(c) : 0;
}

int refresh_backups_known(state *st, neon_client *c, char *const *ids, size_t n, refresh_stats *out)
{
	char **known = xcalloc(n ? n : 1, sizeof(char *));
	size_t k = 0;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *cached = NULL;
		rc = state_backup_schedule_get(st, ids[i], &cached);
		if (rc == 0 && cached && strcmp(cached, "[]") != 0)
			known[k++] = ids[i];
		free(cached);
	}
	if (rc == 0)
		rc = refresh_backups(st, c, known, k, out);
	free(known);
	return rc;
}

/* ------------------------------------------------------------ apply */

/* PUT …/branches/{id}/backup_schedule (a path, filled or not). */
bool engine__schedule_path(const char *path)
{
	size_t n = strlen(path), k = strlen("/backup_schedule");
	return n > k && strcmp(path + n - k, "/backup_schedule") == 0;
}

/* The branch id of c's filled path (heap), or NULL. */
static char *schedule_branch(job *j, const plan_call *c)
{
	const char *why = NULL;
	char *path = engine__fill(j, c->path, &why);
	const char *b = path ? strstr(path, "/branches/") : NULL;
	char *branch = b && j->project_id ? xstrndup(b + 10, strcspn(b + 10, "/")) : NULL;
	free(path);
	return branch;
}

/* The schedule a PUT set is the live one now (its answer is `{}`): cached
 * at once, so that a later call's failure does not make the next plan
 * send it again. */
void engine__schedule_written(job *j, const plan_call *c)
{
	char *branch = schedule_branch(j, c);
	char *js = json_dumps(json_object_get(c->body, "schedule"), JSON_COMPACT);
	if (branch && js && state_backup_schedule_put(j->x->st, j->project_id, branch, js) != 0)
		engine__warn("apply: cannot cache the backup schedule; the next plan may set it again", "tenant",
			     j->a->tenant, "error", err_msg());
	free(js);
	free(branch);
}

/* Neon refused the schedule (the account's plan): kept, so that the next
 * plan blocks the tenant instead of sending it again. */
void engine__schedule_refused(job *j, const plan_call *c, const char *message)
{
	char *branch = schedule_branch(j, c);
	if (branch && state_backup_schedule_refuse(j->x->st, j->project_id, branch, message) != 0)
		engine__warn("apply: cannot record the refused backup schedule", "tenant", j->a->tenant, "error",
			     err_msg());
	free(branch);
}
