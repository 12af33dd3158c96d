/*
 * backups.c: the cached backup schedule of a project's default branch
 * (docs/lifecycle.md, "Backups"), one row per project read: the
 * BackupScheduleItem array Neon last showed (or flotilla last PUT) as
 * compact JSON. No row: never read. The row goes with its project
 * (ON DELETE CASCADE), and a deep read's replacing of the branch rows
 * leaves it alone: only a schedule GET or PUT writes it.
 */
#include "state/internal.h"

int state_backup_schedule_put(state *s, const char *project_id, const char *branch_id, const char *schedule_json)
{
	db_stmt *st;
	int rc;

	if (!project_id || !branch_id || !schedule_json)
		return err_set(ERR_INVALID, "state: a backup schedule needs a project, a branch and the schedule");
	if ((rc = state__stmt(s, "INSERT INTO backup_schedules (project_id, branch_id, schedule_json, read_at) "
			      "SELECT ?1, ?2, ?3, CAST(?4 AS BIGINT) WHERE EXISTS (SELECT 1 FROM projects WHERE id = ?5) "
			      "ON CONFLICT (project_id) DO UPDATE SET branch_id = excluded.branch_id, "
			      "schedule_json = excluded.schedule_json, read_at = excluded.read_at", &st)) != 0)
		return rc;
	db_bind_text(st, 1, project_id);
	db_bind_text(st, 2, branch_id);
	db_bind_text(st, 3, schedule_json);
	db_bind_i64(st, 4, db_now());
	db_bind_text(st, 5, project_id); /* once more: PostgreSQL deduces one type per parameter */
	return state__step_done(s, st, "writing a backup schedule");
}

int state_backup_schedule_get(state *s, const char *project_id, char **schedule_json)
{
	db_stmt *st;
	int rc;

	*schedule_json = NULL;
	if (!project_id)
		return err_set(ERR_INVALID, "state: a project id is missing");
	if ((rc = state__stmt(s, "SELECT schedule_json FROM backup_schedules WHERE project_id = ?1", &st)) != 0)
		return rc;
	db_bind_text(st, 1, project_id);
	rc = db_step(st);
	if (rc == DB_ROW) {
		*schedule_json = state__col_text(st, 0, true);
		rc = 0;
	} else if (rc == DB_DONE) {
		rc = 0;
	} else {
		rc = state__fail(s, rc, "reading a backup schedule");
	}
	state__reset(st);
	return rc;
}
