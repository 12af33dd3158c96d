/*
 * backups.c: a branch's backup schedule, GET and PUT
 * /projects/{project_id}/branches/{branch_id}/backup_schedule
 * (getSnapshotSchedule, setSnapshotSchedule). Both go through the client
 * like every call, so through the budget; PUT is a write (its retry rules).
 * The schedule is Neon's BackupScheduleItem array; PUT replaces it whole,
 * and an empty array removes it.
 */
#include <string.h>

#include "neon/internal.h"

#define ROUTE "/projects/{project_id}/branches/{branch_id}/backup_schedule"

typedef struct sched_call {
	neon_schedule_fn done;
	void *arg;
} sched_call;

/* The answer's schedule array, or NULL with *rc and *msg set. */
static json_t *schedule_of(const neon_result *res, int *rc, const char **msg)
{
	*rc = 0;
	*msg = NULL;
	if (res->outcome != NEON_OK) {
		*rc = neon__outcome_rc(res);
		*msg = res->message;
		return NULL;
	}
	json_t *s = json_object_get(res->body, "schedule");
	if (!json_is_array(s)) {
		*rc = ERR_INVALID;
		*msg = "GET " ROUTE ": the answer has no schedule array";
		return NULL;
	}
	return s;
}

static void on_get(void *arg, neon_result *res)
{
	sched_call *sc = arg;
	int rc;
	const char *msg;
	json_t *s = schedule_of(res, &rc, &msg);
	sc->done(sc->arg, rc, s, msg);
	free(sc);
}

static char *schedule_path(const char *project_id, const char *branch_id)
{
	if (!neon__id_valid(project_id) || !neon__id_valid(branch_id))
		return NULL;
	return xasprintf("/projects/%s/branches/%s/backup_schedule", project_id, branch_id);
}

static void refuse(void *arg)
{
	sched_call *sc = arg;
	sc->done(sc->arg, ERR_INVALID, NULL, ROUTE ": a project or branch id is not valid");
	free(sc);
}

void neon_backup_schedule_get_submit(neon_client *c, const char *project_id, const char *branch_id,
				     neon_schedule_fn done, void *arg)
{
	sched_call *sc = xcalloc(1, sizeof(*sc));
	*sc = (sched_call){done, arg};
	char *path = schedule_path(project_id, branch_id);
	if (!path) {
		neon_after(c, 0, refuse, sc);
		return;
	}
	neon_submit(c, "GET", path, NULL, false, on_get, sc);
	free(path);
}

int neon_backup_schedule_get(neon_client *c, const char *project_id, const char *branch_id, json_t **out)
{
	*out = NULL;
	char *path = schedule_path(project_id, branch_id);
	if (!path)
		return err_set(ERR_INVALID, "GET " ROUTE ": '%s' is not a valid id",
			       neon__id_valid(project_id) ? (branch_id ? branch_id : "") : (project_id ? project_id : ""));
	neon_result r;
	int rc = neon_call(c, "GET", path, NULL, false, &r);
	free(path);
	if (rc == 0) {
		const char *msg;
		json_t *s = schedule_of(&r, &rc, &msg);
		if (s)
			*out = json_incref(s);
		else
			rc = err_set(rc, "%s", msg);
	}
	neon_result_release(&r);
	return rc;
}

int neon_backup_schedule_put(neon_client *c, const char *project_id, const char *branch_id, const json_t *schedule)
{
	char *path = schedule_path(project_id, branch_id);
	if (!path)
		return err_set(ERR_INVALID, "PUT " ROUTE ": '%s' is not a valid id",
			       neon__id_valid(project_id) ? (branch_id ? branch_id : "") : (project_id ? project_id : ""));
	if (!json_is_array(schedule)) {
		free(path);
		return err_set(ERR_INVALID, "PUT " ROUTE ": the schedule must be an array (empty: none)");
	}
	neon_result r;
	int rc = neon_call(c, "PUT", path, json_pack("{s:O}", "schedule", (json_t *)schedule), true, &r);
	free(path);
	if (rc == 0 && r.outcome != NEON_OK)
		rc = err_set(neon__outcome_rc(&r), "%s", r.message);
	neon_result_release(&r);
	return rc;
}
