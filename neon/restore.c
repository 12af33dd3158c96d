/*
 * restore.c: a branch restored to an earlier point (POST
 * /projects/{id}/branches/{id}/restore, `flotilla restore`), and a
 * branch's expiry set (PATCH /projects/{id}/branches/{id} with
 * expires_at, for the branch a restore preserved).
 *
 * The restore's answer is BranchOperations: the restored branch and the
 * operations started. The preserved copy is not in it; its id is the
 * branch of the answer's create_branch operation (Neon makes the copy
 * with one), so the caller needs no list to find it.
 */
#include <string.h>

#include "neon/internal.h"

json_t *neon_restore_body(const neon_restore_req *rq)
{
	json_t *o = json_object();
	json_object_set_new(o, "source_branch_id", json_string(rq->source_branch_id));
	if (rq->source_lsn)
		json_object_set_new(o, "source_lsn", json_string(rq->source_lsn));
	if (rq->source_timestamp)
		json_object_set_new(o, "source_timestamp", json_string(rq->source_timestamp));
	if (rq->preserve_under_name)
		json_object_set_new(o, "preserve_under_name", json_string(rq->preserve_under_name));
	return o;
}

int neon__write_answer(const json_t *body, const char *branch_id, const char *where, neon_write_result *out)
{
	json_t *ops = json_object_get(body, "operations");
	size_t i;
	json_t *v;
	if (!json_is_array(ops))
		return err_set(ERR_INVALID, "%s: the answer has no operations array", where);
	out->op_ids = xcalloc(json_array_size(ops) + 1, sizeof(char *));
	json_array_foreach(ops, i, v) {
		neon_operation op;
		char w[128];
		snprintf(w, sizeof(w), "%s: operations[%zu]", where, i);
		if (neon_operation_parse(v, w, &op) != 0)
			return ERR_INVALID;
		out->op_ids[out->nops++] = xstrdup(op.id);
		if (!out->other_branch_id && op.branch_id && strcmp(op.action, "create_branch") == 0 &&
		    strcmp(op.branch_id, branch_id) != 0)
			out->other_branch_id = xstrdup(op.branch_id);
		neon_operation_release(&op);
	}
	return 0;
}

void neon_write_result_release(neon_write_result *r)
{
	for (size_t i = 0; i < r->nops; i++)
		free(r->op_ids[i]);
	free(r->op_ids);
	free(r->other_branch_id);
	memset(r, 0, sizeof(*r));
}

int neon__write_call(neon_client *c, const char *method, const char *path, json_t *body, const char *branch_id,
		     const char *where, bool ops_optional, json_t **answer, neon_write_result *out)
{
	neon_result r;
	memset(&r, 0, sizeof(r));
	memset(out, 0, sizeof(*out));
	if (answer)
		*answer = NULL;
	int rc = neon_call(c, method, path, body, true, &r);
	str_copy(out->request_id, r.request_id, sizeof(out->request_id));
	if (rc == 0 && r.outcome != NEON_OK)
		rc = err_set(neon__outcome_rc(&r), "%s: %s", where, r.message);
	else if (rc == 0 && (!ops_optional || json_object_get(r.body, "operations")))
		rc = neon__write_answer(r.body, branch_id, where, out);
	if (rc == 0 && answer)
		*answer = json_incref(r.body);
	if (rc != 0)
		neon_write_result_release(out);
	neon_result_release(&r);
	return rc;
}

static int ids_check(const char *where, const char *a, const char *b)
{
	if (neon__id_valid(a) && neon__id_valid(b))
		return 0;
	return err_set(ERR_INVALID, "%s: '%.80s' is not a valid id", where, !neon__id_valid(a) ? (a ? a : "") : b ? b : "");
}

int neon_branch_restore(neon_client *c, const char *project_id, const char *branch_id, const neon_restore_req *rq,
			neon_write_result *out)
{
	static const char where[] = "POST /projects/{id}/branches/{id}/restore";
	char path[256];
	memset(out, 0, sizeof(*out));
	if (ids_check(where, project_id, branch_id) != 0 || ids_check(where, rq->source_branch_id, branch_id) != 0)
		return ERR_INVALID;
	if (rq->source_lsn && rq->source_timestamp)
		return err_set(ERR_INVALID, "%s: give at most one of source_lsn and source_timestamp", where);
	snprintf(path, sizeof(path), "/projects/%s/branches/%s/restore", project_id, branch_id);
	return neon__write_call(c, "POST", path, neon_restore_body(rq), branch_id, where, false, NULL, out);
}

int neon_branch_set_expiry(neon_client *c, const char *project_id, const char *branch_id, const char *expires_at,
			   neon_write_result *out)
{
	static const char where[] = "PATCH /projects/{id}/branches/{id}";
	char path[256];
	memset(out, 0, sizeof(*out));
	if (ids_check(where, project_id, branch_id) != 0)
		return ERR_INVALID;
	snprintf(path, sizeof(path), "/projects/%s/branches/%s", project_id, branch_id);
	json_t *body = json_pack("{s:{s:o}}", "branch", "expires_at",
				 expires_at ? json_string(expires_at) : json_null());
	return neon__write_call(c, "PATCH", path, body, branch_id, where, false, NULL, out);
}
