/*
 * usage.c: what each tenant used, per period (`flotilla usage`; issue 17):
 * one row per tenant and period start, written after a run that read
 * every figure, so `flotilla status` reports tenants near their quotas
 * offline. A second run over the same period replaces its rows.
 */
#include "state/internal.h"

#include <string.h>

#define USAGE_COLUMNS                                                                                                  \
	"tenant, period_start, period_end, project_id, compute_unit_seconds, active_seconds, storage_bytes_month, "    \
	"storage_bytes, transfer_bytes, updated_at"

int state_usage_put(state *s, const state_usage *rows, size_t n)
{
	db_stmt *st;
	int rc;

	if ((rc = state__begin(s, true)) != 0)
		return rc;
	int64_t now = db_now();
	for (size_t i = 0; i < n && rc == 0; i++) {
		const state_usage *u = &rows[i];
		if ((rc = state__stmt(s, "INSERT INTO tenant_usage (" USAGE_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
				      "?7, ?8, ?9, ?10) ON CONFLICT (tenant, period_start) DO UPDATE SET "
				      "period_end = excluded.period_end, project_id = excluded.project_id, "
				      "compute_unit_seconds = excluded.compute_unit_seconds, active_seconds = "
				      "excluded.active_seconds, storage_bytes_month = excluded.storage_bytes_month, "
				      "storage_bytes = excluded.storage_bytes, transfer_bytes = excluded.transfer_bytes, "
				      "updated_at = excluded.updated_at", &st)) != 0)
			break;
		db_bind_text(st, 1, u->tenant);
		db_bind_i64(st, 2, u->period_start);
		db_bind_i64(st, 3, u->period_end);
		db_bind_text(st, 4, u->project_id);
		db_bind_i64(st, 5, u->compute_unit_seconds);
		db_bind_i64(st, 6, u->active_seconds);
		db_bind_i64(st, 7, u->storage_bytes_month);
		db_bind_i64(st, 8, u->storage_bytes);
		db_bind_i64(st, 9, u->transfer_bytes);
		db_bind_i64(st, 10, now);
		rc = state__step_done(s, st, "writing a tenant's usage");
	}
	if (rc == 0)
		return state__commit(s);
	state__rollback(s);
	return rc;
}

typedef struct usage_walk {
	state_usage_fn fn;
	void *arg;
} usage_walk;

static int usage_row(db_stmt *st, void *arg)
{
	usage_walk *w = arg;
	state_usage u;
	u.tenant = state__col_text(st, 0, false);
	u.period_start = db_col_i64(st, 1);
	u.period_end = db_col_i64(st, 2);
	u.project_id = state__col_text(st, 3, false);
	u.compute_unit_seconds = db_col_i64(st, 4);
	u.active_seconds = db_col_i64(st, 5);
	u.storage_bytes_month = db_col_i64(st, 6);
	u.storage_bytes = db_col_i64(st, 7);
	u.transfer_bytes = db_col_i64(st, 8);
	u.updated_at = db_col_i64(st, 9);
	return w->fn(w->arg, &u);
}

int state_usage_foreach(state *s, state_usage_fn fn, void *arg)
{
	usage_walk w = {fn, arg};
	/* each tenant's latest period only */
	return state__foreach(s, "SELECT " USAGE_COLUMNS " FROM tenant_usage u WHERE period_start = (SELECT "
			      "max(period_start) FROM tenant_usage v WHERE v.tenant = u.tenant) ORDER BY tenant",
			      "reading the tenants' usage", usage_row, &w);
}

/* A quota (`q`, 0: unlimited) that `used` reaches 80% of, in SQL. */
#define NEAR(used, q) "(p." q " > 0 AND u." used " * 5 >= p." q " * 4)"

const char *const STATE_USAGE_QUOTAS[STATE_USAGE_NQUOTAS] = {"activeTime", "computeTime", "dataTransfer",
								     "logicalSize"};

typedef struct near_walk {
	state_usage_quota_fn fn;
	void *arg;
} near_walk;

static int near_row(db_stmt *st, void *arg)
{
	near_walk *w = arg;
	state_usage_quota q;
	memset(&q, 0, sizeof(q));
	q.tenant = state__col_text(st, 0, false);
	q.period_start = db_col_i64(st, 1);
	for (int i = 0; i < STATE_USAGE_NQUOTAS; i++) {
		q.used[i] = db_col_i64(st, 2 + i);
		q.limit[i] = db_col_i64(st, 2 + STATE_USAGE_NQUOTAS + i);
	}
	return w->fn(w->arg, &q);
}

int state_usage_near_quota(state *s, state_usage_quota_fn fn, void *arg)
{
	near_walk w = {fn, arg};
	/* the latest period of each tenant, against its project's quotas as last read */
	return state__foreach(s, "SELECT u.tenant, u.period_start, u.active_seconds, u.compute_unit_seconds, "
			      "u.transfer_bytes, u.storage_bytes, p.quota_active_time, p.quota_compute_time, "
			      "p.quota_data_transfer, p.quota_logical_size FROM tenant_usage u JOIN projects p ON "
			      "p.id = u.project_id WHERE u.period_start = (SELECT max(period_start) FROM tenant_usage v "
			      "WHERE v.tenant = u.tenant) AND (" NEAR("active_seconds", "quota_active_time") " OR "
			      NEAR("compute_unit_seconds", "quota_compute_time") " OR "
			      NEAR("transfer_bytes", "quota_data_transfer") " OR "
			      NEAR("storage_bytes", "quota_logical_size") ") ORDER BY u.tenant",
			      "reading the tenants near a quota", near_row, &w);
}
