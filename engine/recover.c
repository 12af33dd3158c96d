/*
 * recover.c: bring back a tenant's project that flotilla pruned
 * (`flotilla recover`, docs/lifecycle.md "Recover a deleted tenant").
 *
 * Which project: the one the tenant's last DELETE /projects/{id} in the
 * journal names (the journal outlives the mapping that apply removed
 * with the delete), or the one the caller names. Neon has it only while
 * GET /projects?recoverable=true lists it (7 days); that list is asked
 * before anything is written, and its deleted_at and recoverable_until
 * are what the command shows. Never a second project: a tenant that is
 * mapped already is refused, and so is a project that is live.
 *
 * The write is journaled like apply's (intent, sent, done/failed/unknown);
 * the answer ({project, branches}) carries no operations in the OpenAPI
 * document, so there are none to wait for: the project goes into the
 * cache as a project never read deep, and the plan after reads it.
 */
#include <string.h>

#include "engine/internal.h"

void recover_target_release(recover_target *t)
{
	if (!t)
		return;
	free(t->project_id);
	free(t->name);
	free(t->deleted_at);
	free(t->recoverable_until);
	memset(t, 0, sizeof(*t));
}

typedef struct last_delete {
	char *project_id;
	int64_t at;
} last_delete;

/* The tenant's latest project delete that may have run (anything but a
 * failed one, or one never sent). */
static int pick_delete(void *arg, const state_journal_entry *e)
{
	last_delete *d = arg;
	const char *a = e->action ? e->action : "";
	if (strncmp(a, "DELETE /projects/", 17) != 0 || strchr(a + 17, '/') || !a[17])
		return 0;
	if (strcmp(e->state, STATE_JOURNAL_FAILED) == 0 || strcmp(e->state, STATE_JOURNAL_INTENT) == 0)
		return 0;
	free(d->project_id);
	d->project_id = xstrdup(a + 17);
	d->at = e->updated_at;
	return 0;
}

/* Not in the recoverable list: live (refused), or gone for good. */
static int not_recoverable(neon_client *c, const char *tenant, const char *project_id)
{
	char *path = xasprintf("/projects/%s", project_id);
	neon_result res;
	int rc = neon_call(c, "GET", path, NULL, false, &res);
	free(path);
	if (rc == 0 && res.outcome == NEON_OK)
		rc = err_set(ERR_CONFLICT, "project %s of tenant '%s' is not deleted: it is live in Neon, so there is "
					   "nothing to recover; with the tenant's manifest in git, the next plan adopts it by "
					   "its annotations", project_id, tenant);
	else if (rc == 0 && res.outcome == NEON_HTTP_ERROR && res.status == 404)
		rc = err_set(ERR_NOTFOUND, "project %s of tenant '%s' cannot be recovered: Neon no longer has it (its "
					   "recovery window of 7 days after the delete has passed); plan and apply create a "
					   "new project for the tenant", project_id, tenant);
	else if (rc == 0)
		rc = err_set(ERR_FAIL, "reading project %s: %s", project_id, res.message);
	neon_result_release(&res);
	return rc;
}

int recover_find(state *st, neon_client *c, const char *tenant, const char *project_id, recover_target *out)
{
	memset(out, 0, sizeof(*out));
	state_tenant t;
	int rc = state_tenant_get(st, tenant, &t);
	if (rc == 0) {
		rc = err_set(ERR_CONFLICT, "tenant '%s' has a project already (%s, mapped by %s): recover never makes a "
					   "second one", tenant, t.project_id, t.source);
		state_tenant_release(&t);
		return rc;
	}
	if (rc != ERR_NOTFOUND)
		return rc;
	last_delete d = {NULL, 0};
	if ((rc = state_journal_tenant(st, tenant, 1000, pick_delete, &d)) != 0) {
		free(d.project_id);
		return rc;
	}
	if (!project_id && !d.project_id)
		return err_set(ERR_NOTFOUND, "this state has no record of flotilla deleting a project of tenant '%s' "
					     "(no DELETE in its journal); name the project with --project ID (GET "
					     "/projects?recoverable=true lists the deleted ones)", tenant);
	out->project_id = xstrdup(project_id ? project_id : d.project_id);
	out->from_journal = d.project_id && strcmp(d.project_id, out->project_id) == 0;
	out->deleted_by_flotilla_at = out->from_journal ? d.at : 0;
	free(d.project_id);
	/* a project mapped to another tenant is never taken from it */
	if (state_tenant_by_project(st, out->project_id, &t) == 0) {
		rc = err_set(ERR_CONFLICT, "project %s is mapped to tenant '%s', not '%s'", out->project_id, t.tenant,
			     tenant);
		state_tenant_release(&t);
		recover_target_release(out);
		return rc;
	}
	neon_project p;
	rc = neon_project_recoverable(c, out->project_id, &p);
	if (rc == ERR_NOTFOUND)
		rc = not_recoverable(c, tenant, out->project_id);
	if (rc != 0) {
		recover_target_release(out);
		return rc;
	}
	out->name = xstrdup(p.name);
	out->deleted_at = p.deleted_at ? xstrdup(p.deleted_at) : NULL;
	const char *until = json_string_value(json_object_get(p.json, "recoverable_until"));
	out->recoverable_until = until ? xstrdup(until) : NULL;
	neon_project_release(&p);
	return 0;
}

/* The journal row's end from the answer: done, or why not. */
static int journal_end(state *st, int64_t id, const neon_result *res)
{
	if (res->outcome == NEON_OK)
		return state_journal_finish(st, id, STATE_JOURNAL_DONE, NULL);
	return state_journal_finish(st, id,
				    res->outcome == NEON_UNKNOWN_OUTCOME || res->outcome == NEON_BAD_RESPONSE
					    ? STATE_JOURNAL_UNKNOWN : STATE_JOURNAL_FAILED, res->message);
}

int recover_run(state *st, neon_client *c, int64_t run_id, const char *tenant, const char *fleet,
		const recover_target *t)
{
	char *intent = xasprintf("{\"method\":\"POST\",\"path\":\"/projects/%s/recover\"}", t->project_id);
	char *label = xasprintf("POST /projects/%s/recover", t->project_id);
	int64_t jid = 0;
	int rc = state_journal_intent(st, run_id, tenant, t->project_id, label, intent, &jid);
	free(intent);
	free(label);
	if (rc != 0)
		return err_set(rc, "cannot write the journal before the recover (so nothing was sent): %s", err_msg());
	neon_result res;
	if ((rc = neon_project_recover(c, t->project_id, &res)) != 0)
		goto done;
	if (res.outcome == NEON_OK &&
	    state_journal_sent(st, jid, NULL, t->project_id, NULL, res.request_id[0] ? res.request_id : NULL) != 0)
		engine__warn("recover: cannot record the answer in the journal", "tenant", tenant, "error", err_msg());
	if (journal_end(st, jid, &res) != 0)
		engine__warn("recover: cannot finish the journal row", "tenant", tenant, "error", err_msg());
	if (res.outcome == NEON_UNKNOWN_OUTCOME || res.outcome == NEON_BAD_RESPONSE) {
		rc = err_set(ERR_UNKNOWN_OUTCOME, "POST /projects/%s/recover: the outcome is unknown (%s); run flotilla "
						  "recover %s again: it maps the project if it came back", t->project_id,
			     res.message, tenant);
		goto done;
	}
	if (res.outcome != NEON_OK) {
		rc = err_set(ERR_FAIL, "POST /projects/%s/recover: %s (request %s)", t->project_id, res.message,
			     res.request_id[0] ? res.request_id : "-");
		goto done;
	}
	if ((rc = state_tenant_put(st, tenant, t->project_id, fleet, "recover")) != 0) {
		rc = err_set(rc, "project %s is recovered in Neon, but mapping tenant '%s' to it failed: %s; run "
				 "flotilla refresh --rebuild to map it from its annotations", t->project_id, tenant, err_msg());
		goto done;
	}
	/* never read deep: the next plan reads its branches and endpoints */
	if (cache_store_project(st, json_object_get(res.body, "project"), false) != 0)
		engine__warn("recover: cannot cache the project; the next plan reads it", "tenant", tenant, "error",
			     err_msg());
done:
	neon_result_release(&res);
	return rc;
}
