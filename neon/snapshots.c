/*
 * snapshots.c: a project's snapshots (GET /projects/{id}/snapshots) and a
 * snapshot restored into a branch, in Neon's two steps (`flotilla restore
 * --snapshot`): POST /projects/{id}/snapshots/{id}/restore makes a new
 * branch holding the snapshot (finalize_restore false), then POST
 * /projects/{id}/branches/{new}/finalize_restore moves the target's
 * computes to it, gives it the target's name and renames the target to
 * the name asked for (the state before the restore, kept). Two steps, not
 * finalize_restore true, so that the name the target keeps is flotilla's
 * to choose: a `preserved-` name its ownership rules leave alone.
 */
#include <string.h>

#include "neon/internal.h"

#define LIST_ROUTE "GET /projects/{id}/snapshots"

static char *dup_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? xstrdup(s) : NULL;
}

int neon_snapshot_parse(const json_t *j, const char *where, neon_snapshot *out)
{
	memset(out, 0, sizeof(*out));
	const char *id = json_string_value(json_object_get(j, "id"));
	if (!json_is_object(j) || !id || !neon__id_valid(id) || !json_is_string(json_object_get(j, "name")) ||
	    !json_is_string(json_object_get(j, "created_at")))
		return err_set(ERR_INVALID, "%s: a snapshot needs a valid id, a name and created_at", where);
	out->id = xstrdup(id);
	out->name = dup_str(j, "name");
	out->created_at = dup_str(j, "created_at");
	out->source_branch_id = dup_str(j, "source_branch_id");
	out->timestamp = dup_str(j, "timestamp");
	out->lsn = dup_str(j, "lsn");
	out->expires_at = dup_str(j, "expires_at");
	out->manual = json_is_true(json_object_get(j, "manual"));
	return 0;
}

void neon_snapshot_release(neon_snapshot *s)
{
	if (!s)
		return;
	free(s->id);
	free(s->name);
	free(s->created_at);
	free(s->source_branch_id);
	free(s->timestamp);
	free(s->lsn);
	free(s->expires_at);
	memset(s, 0, sizeof(*s));
}

void neon_snapshots_release(neon_snapshot *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		neon_snapshot_release(&v[i]);
	free(v);
}

int neon_snapshots_list(neon_client *c, const char *project_id, neon_snapshot **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!neon__id_valid(project_id))
		return err_set(ERR_INVALID, LIST_ROUTE ": '%.80s' is not a valid project id", project_id ? project_id : "");
	char path[160];
	snprintf(path, sizeof(path), "/projects/%s/snapshots", project_id);
	neon_result r;
	memset(&r, 0, sizeof(r));
	int rc = neon_call(c, "GET", path, NULL, false, &r);
	if (rc == 0 && r.outcome != NEON_OK)
		rc = err_set(neon__outcome_rc(&r), LIST_ROUTE ": %s", r.message);
	const json_t *arr = rc == 0 ? json_object_get(r.body, "snapshots") : NULL;
	if (rc == 0 && !json_is_array(arr))
		rc = err_set(ERR_INVALID, LIST_ROUTE ": the answer has no snapshots array (request %s)", r.request_id);
	if (rc == 0) {
		*out = xcalloc(json_array_size(arr) + 1, sizeof(**out));
		for (size_t i = 0; i < json_array_size(arr) && rc == 0; i++) {
			char where[96];
			snprintf(where, sizeof(where), LIST_ROUTE ": snapshots[%zu]", i);
			if ((rc = neon_snapshot_parse(json_array_get(arr, i), where, &(*out)[*n])) == 0)
				(*n)++;
		}
		if (rc != 0) {
			neon_snapshots_release(*out, *n);
			*out = NULL;
			*n = 0;
		}
	}
	neon_result_release(&r);
	return rc;
}

json_t *neon_snapshot_restore_body(const char *name, const char *target_branch_id)
{
	return json_pack("{s:s,s:s,s:b}", "name", name, "target_branch_id", target_branch_id, "finalize_restore", 0);
}

int neon_snapshot_restore(neon_client *c, const char *project_id, const char *snapshot_id, const char *name,
			  const char *target_branch_id, neon_write_result *out)
{
	static const char where[] = "POST /projects/{id}/snapshots/{id}/restore";
	memset(out, 0, sizeof(*out));
	if (!neon__id_valid(project_id) || !neon__id_valid(snapshot_id) || !neon__id_valid(target_branch_id))
		return err_set(ERR_INVALID, "%s: a project, snapshot or branch id is not valid", where);
	if (!name || !*name)
		return err_set(ERR_INVALID, "%s: the new branch needs a name", where);
	char path[256];
	snprintf(path, sizeof(path), "/projects/%s/snapshots/%s/restore", project_id, snapshot_id);
	json_t *answer = NULL;
	int rc = neon__write_call(c, "POST", path, neon_snapshot_restore_body(name, target_branch_id), target_branch_id,
				  where, false, &answer, out);
	const char *made = rc == 0 ? json_string_value(json_object_get(json_object_get(answer, "branch"), "id")) : NULL;
	if (rc == 0 && !neon__id_valid(made)) {
		rc = err_set(ERR_INVALID, "%s: the answer has no valid branch.id (request %s)", where, out->request_id);
		neon_write_result_release(out);
	} else if (rc == 0) { /* the branch the restore made, not the operations' guess */
		free(out->other_branch_id);
		out->other_branch_id = xstrdup(made);
	}
	json_decref(answer);
	return rc;
}

json_t *neon_finalize_restore_body(const char *old_name)
{
	return json_pack("{s:s}", "name", old_name);
}

int neon_branch_finalize_restore(neon_client *c, const char *project_id, const char *branch_id, const char *old_name,
				 neon_write_result *out)
{
	static const char where[] = "POST /projects/{id}/branches/{id}/finalize_restore";
	memset(out, 0, sizeof(*out));
	if (!neon__id_valid(project_id) || !neon__id_valid(branch_id))
		return err_set(ERR_INVALID, "%s: a project or branch id is not valid", where);
	if (!old_name || !*old_name)
		return err_set(ERR_INVALID, "%s: the replaced branch needs a name", where);
	char path[256];
	snprintf(path, sizeof(path), "/projects/%s/branches/%s/finalize_restore", project_id, branch_id);
	/* the document makes the operations optional here */
	return neon__write_call(c, "POST", path, neon_finalize_restore_body(old_name), branch_id, where, true, NULL, out);
}
