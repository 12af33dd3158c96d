/*
 * conn.c: a database's connection URI on demand (`flotilla
 * connection-string`), from GET /projects/{id}/connection_uri.
 *
 * The URI carries the role's password: it is a secret. It is handed to
 * the caller and nowhere else: the request's path holds only names and
 * ids, the client logs the route and status, never a body, and the
 * result's body (the only other copy) is released here.
 */
#include <string.h>

#include "neon/internal.h"

/* "&name=value", the value escaped. */
static int add_param(buf *b, const char *name, const char *value)
{
	int rc = buf_printf(b, "%c%s=", strchr(b->data, '?') ? '&' : '?', name);

	return rc ? rc : neon__query_escape(b, value);
}

int neon__connection_uri_path(buf *b, const char *project_id, const neon_conn_req *rq)
{
	int rc = buf_printf(b, "/projects/%s/connection_uri", project_id);

	if (rc == 0)
		rc = add_param(b, "database_name", rq->database);
	if (rc == 0)
		rc = add_param(b, "role_name", rq->role);
	if (rc == 0 && rq->branch_id)
		rc = add_param(b, "branch_id", rq->branch_id);
	if (rc == 0 && rq->endpoint_id)
		rc = add_param(b, "endpoint_id", rq->endpoint_id);
	if (rc == 0 && rq->pooled)
		rc = buf_adds(b, "&pooled=true");
	return rc;
}

int neon_connection_uri(neon_client *c, const char *project_id, const neon_conn_req *rq, char **uri)
{
	buf path = BUF_INIT(0);
	neon_result r;
	int rc;

	*uri = NULL;
	memset(&r, 0, sizeof(r));
	if (!neon__id_valid(project_id) || (rq->branch_id && !neon__id_valid(rq->branch_id)) ||
	    (rq->endpoint_id && !neon__id_valid(rq->endpoint_id)))
		return err_set(ERR_INVALID, "GET /projects/{id}/connection_uri: '%s' is not a valid id",
			       !neon__id_valid(project_id) ? (project_id ? project_id : "")
			       : rq->branch_id && !neon__id_valid(rq->branch_id) ? rq->branch_id : rq->endpoint_id);
	if (!rq->database || !*rq->database || !rq->role || !*rq->role)
		return err_set(ERR_INVALID, "GET /projects/{id}/connection_uri: a database name and a role name are "
			       "required");
	if (neon__connection_uri_path(&path, project_id, rq) != 0) {
		buf_release(&path);
		return err_set(ERR_FAIL, "GET /projects/{id}/connection_uri: cannot build the path");
	}
	if ((rc = neon_call(c, "GET", path.data, NULL, false, &r)) == 0) {
		const char *got = json_string_value(json_object_get(r.body, "uri"));
		if (r.outcome != NEON_OK)
			rc = err_set(neon__outcome_rc(&r), "%s", r.message);
		else if (!got || !*got)
			rc = err_set(ERR_INVALID, "GET /projects/{id}/connection_uri: the answer has no uri (request %s)",
				     r.request_id);
		else
			*uri = xstrdup(got);
	}
	buf_release(&path);
	neon_result_release(&r);
	return rc;
}
