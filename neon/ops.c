/*
 * ops.c: waiting for a project's asynchronous operations.
 *
 * Mutations return operations that finish later; until they do, the next
 * mutation of the project gets 423. One poll is one GET of the project's
 * operation list (newest first, so the operations just started are on the
 * first page) rather than one GET per operation: a create returns two or
 * three, and the list answers for all of them in one call of the budget.
 * An operation not on that page (a busy project) is read by its own id.
 * Polls back off from 100 ms to 5 s (terraform polls every 100 ms,
 * Neon's docs suggest 5 s; most operations take a second or two), and the
 * waits between them run inside neon_run, so other queued requests go on.
 * An operation that is `failed` is waited for too: Neon retries it, and
 * only `error` or `cancelled` (or the timeout) ends the wait as a failure.
 */
#include <string.h>

#include "neon/internal.h"

#define OPS_PAGE 100
#define POLL_FIRST_MS 100
#define POLL_MAX_MS 5000

bool neon_op_in_progress(const char *status)
{
	/* failed is not final: the control plane retries it */
	return status && (strcmp(status, "scheduling") == 0 || strcmp(status, "running") == 0 ||
			  strcmp(status, "cancelling") == 0 || strcmp(status, "failed") == 0);
}

bool neon_op_succeeded(const char *status)
{
	return status && (strcmp(status, "finished") == 0 || strcmp(status, "skipped") == 0);
}

/* Operation ids are UUIDs; anything that could leave the path is refused. */
static bool op_id_valid(const char *id)
{
	size_t n;

	for (n = 0; id && id[n]; n++) {
		char ch = id[n];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '-'))
			return false;
	}
	return n >= 1 && n <= 64;
}

typedef struct op_seen {
	neon_operation op;      /* id NULL until seen */
} op_seen;

static void remember(op_seen *s, neon_operation *op)
{
	neon_operation_release(&s->op);
	s->op = *op;
	memset(op, 0, sizeof(*op));
}

/* Read one operation by id (it was not on the list's first page). */
static int read_one(neon_client *c, const char *project_id, const char *op_id, op_seen *s)
{
	neon_result res;
	neon_operation op;
	char *path = xasprintf("/projects/%s/operations/%s", project_id, op_id);
	char where[200];
	int rc;

	rc = neon_call(c, "GET", path, NULL, false, &res);
	free(path);
	if (rc != 0)
		goto done;
	if (res.outcome != NEON_OK) {
		rc = err_set(res.status == 404 ? ERR_FAIL : neon__outcome_rc(&res),
			     "operation '%s' of project '%s': %s", op_id, project_id, res.message);
		goto done;
	}
	snprintf(where, sizeof(where), "GET /projects/%s/operations/%s: operation", project_id, op_id);
	if ((rc = neon_operation_parse(json_object_get(res.body, "operation"), where, &op)) != 0)
		goto done;
	remember(s, &op);
done:
	neon_result_release(&res);
	return rc;
}

/* One poll: refresh what we know of every wanted operation. */
static int poll_once(neon_client *c, const char *project_id, const char *const *ids, size_t n, op_seen *seen)
{
	neon_result res;
	neon_operation op;
	const json_t *list, *item;
	char *path = xasprintf("/projects/%s/operations?limit=%d", project_id, OPS_PAGE);
	char where[200];
	bool *found = xcalloc(n, sizeof(*found));
	size_t i, k;
	int rc;

	rc = neon_call(c, "GET", path, NULL, false, &res);
	if (rc != 0)
		goto done;
	if (res.outcome != NEON_OK) {
		rc = err_set(neon__outcome_rc(&res), "waiting for operations of project '%s': %s", project_id,
			     res.message);
		goto done;
	}
	list = json_object_get(res.body, "operations");
	if (!json_is_array(list)) {
		rc = err_set(ERR_INVALID, "GET /projects/%s/operations: operations: expected an array",
			     project_id);
		goto done;
	}
	json_array_foreach(list, i, item) {
		const char *id = json_string_value(json_object_get(item, "id"));

		for (k = 0; id && k < n; k++) {
			if (found[k] || strcmp(id, ids[k]) != 0)
				continue;
			snprintf(where, sizeof(where), "GET /projects/%s/operations: operations[%zu]", project_id,
				 i);
			if ((rc = neon_operation_parse(item, where, &op)) != 0)
				goto done;
			remember(&seen[k], &op);
			found[k] = true;
		}
	}
	for (k = 0; k < n; k++) {
		/* not on the first page: only worth a call while it may still run */
		if (!found[k] && (!seen[k].op.id || neon_op_in_progress(seen[k].op.status))) {
			if ((rc = read_one(c, project_id, ids[k], &seen[k])) != 0)
				goto done;
		}
	}
	rc = 0;
done:
	free(found);
	free(path);
	neon_result_release(&res);
	return rc;
}

int neon_ops_wait(neon_client *c, const char *project_id, const char *const *op_ids, size_t n,
		  int64_t timeout_ms)
{
	op_seen *seen = NULL;
	int64_t start = mono_ms(), deadline = start + (timeout_ms > 0 ? timeout_ms : 0), delay = POLL_FIRST_MS,
		now;
	size_t k, busy;
	const neon_operation *first_busy;
	int rc;

	if (!neon__id_valid(project_id))
		return err_set(ERR_INVALID, "project id '%.80s': not a valid id", project_id ? project_id : "");
	for (k = 0; k < n; k++) {
		if (!op_id_valid(op_ids[k]))
			return err_set(ERR_INVALID, "operation id '%.80s': not a valid id",
				       op_ids[k] ? op_ids[k] : "");
	}
	if (n == 0)
		return 0;
	seen = xcalloc(n, sizeof(*seen));
	for (;;) {
		if ((rc = poll_once(c, project_id, op_ids, n, seen)) != 0)
			goto done;
		busy = 0;
		first_busy = NULL;
		for (k = 0; k < n; k++) {
			if (neon_op_in_progress(seen[k].op.status)) {
				busy++;
				if (!first_busy)
					first_busy = &seen[k].op;
			}
		}
		if (busy == 0)
			break;
		now = mono_ms();
		if (now >= deadline) {
			rc = err_set(ERR_LOCKED,
				     "timed out after %lld ms: operation '%s' (%s) of project '%s' is still '%s'%s%s "
				     "(%zu of %zu unfinished)",
				     (long long)(now - start), first_busy->id, first_busy->action, project_id,
				     first_busy->status, first_busy->error && *first_busy->error ? ": " : "",
				     first_busy->error ? first_busy->error : "", busy, n);
			goto done;
		}
		if ((rc = neon__sleep(c, delay < deadline - now ? delay : deadline - now)) != 0)
			goto done;
		delay = delay * 2 > POLL_MAX_MS ? POLL_MAX_MS : delay * 2;
	}
	rc = 0;
	for (k = 0; k < n; k++) {
		const neon_operation *o = &seen[k].op;

		if (!neon_op_succeeded(o->status)) {
			rc = err_set(ERR_FAIL, "operation '%s' (%s) of project '%s' ended '%s'%s%s", o->id,
				     o->action, project_id, o->status, o->error && *o->error ? ": " : "",
				     o->error ? o->error : "");
			break;
		}
	}
done:
	for (k = 0; seen && k < n; k++)
		neon_operation_release(&seen[k].op);
	free(seen);
	return rc;
}
