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
			      "schedule_json = excluded.schedule_json, read_at = excluded.read_at, refused = NULL",
			      &st)) != 0)
		return rc;
	db_bind_text(st, 1, project_id);
	db_bind_text(st, 2, branch_id);
	db_bind_text(st, 3, schedule_json);
	db_bind_i64(st, 4, db_now());
	db_bind_text(st, 5, project_id); /* once more: PostgreSQL deduces one type per parameter */
	return state__step_done(s, st, "writing a backup schedule");
}

/* One text column of a project's row: *out heap, or NULL (no row, or NULL). */
static int column_get(state *s, const char *project_id, const char *sql, const char *what, char **out)
{
	db_stmt *st;
	int rc;

	*out = NULL;
	if (!project_id)
		return err_set(ERR_INVALID, "state: a project id is missing");
	if ((rc = state__stmt(s, sql, &st)) != 0)
		return rc;
	db_bind_text(st, 1, project_id);
	rc = db_step(st);
	if (rc == DB_ROW) {
		*out = state__col_text(st, 0, true);
		rc = 0;
	} else if (rc == DB_DONE) {
		rc = 0;
	} else {
		rc = state__fail(s, rc, what);
	}
	state__reset(st);
	return rc;
}

int state_backup_schedule_get(state *s, const char *project_id, char **schedule_json)
{
	return column_get(s, project_id, "SELECT schedule_json FROM backup_schedules WHERE project_id = ?1",
			  "reading a backup schedule", schedule_json);
}

int state_backup_schedule_refuse(state *s, const char *project_id, const char *branch_id, const char *message)
{
	db_stmt *st;
	int rc;

	if (!project_id || !branch_id || !message)
		return err_set(ERR_INVALID, "state: a refused backup schedule needs a project, a branch and Neon's message");
	/* a new project's schedule is the empty one Neon starts with */
	if ((rc = state__stmt(s, "INSERT INTO backup_schedules (project_id, branch_id, schedule_json, read_at, refused) "
			      "SELECT ?1, ?2, '[]', CAST(?3 AS BIGINT), ?4 WHERE EXISTS (SELECT 1 FROM projects WHERE id = ?5) "
			      "ON CONFLICT (project_id) DO UPDATE SET refused = excluded.refused", &st)) != 0)
		return rc;
	db_bind_text(st, 1, project_id);
	db_bind_text(st, 2, branch_id);
	db_bind_i64(st, 3, db_now());
	db_bind_text(st, 4, message);
	db_bind_text(st, 5, project_id);
	return state__step_done(s, st, "writing a refused backup schedule");
}

int state_backup_schedule_refused(state *s, const char *project_id, char **message)
{
	return column_get(s, project_id, "SELECT refused FROM backup_schedules WHERE project_id = ?1",
			  "reading a refused backup schedule", message);
}
