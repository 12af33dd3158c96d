/*
 * sync.c: each tenant's sync state, as the last plan, apply or drift sweep
 * left it (docs/daemon.md, "Sync states").
 *
 * Only tenants that are not synced have a row: a converged fleet of
 * 100,000 tenants holds none, and a plan that finds nothing to do writes
 * nothing. A mapped tenant without a row is synced. A row keeps `since`,
 * the time the tenant entered its state, while later writes of the same
 * state only bring its reason up to date.
 */
#include "state/internal.h"

#include <string.h>

#define SYNC_COLUMNS "tenant, state, reason, fields, since, updated_at"

const char *const STATE_SYNC_STATES[STATE_SYNC_NSTATES] = {
	"synced", "out-of-sync", "drifted", "blocked", "failed", "applying",
};

int state_sync_index(const char *name)
{
	for (int i = 0; name && i < STATE_SYNC_NSTATES; i++)
		if (strcmp(STATE_SYNC_STATES[i], name) == 0)
			return i;
	return -1;
}

static void read_sync(db_stmt *st, state_sync *r, bool copy)
{
	memset(r, 0, sizeof(*r));
	r->tenant = state__col_text(st, 0, copy);
	r->state = state__col_text(st, 1, copy);
	r->reason = state__col_text(st, 2, copy);
	r->fields_json = state__col_text(st, 3, copy);
	r->since = db_col_i64(st, 4);
	r->updated_at = db_col_i64(st, 5);
}

void state_sync_release(state_sync *r)
{
	if (!r)
		return;
	free(r->tenant);
	free(r->state);
	free(r->reason);
	free(r->fields_json);
	memset(r, 0, sizeof(*r));
}

int state_sync_put(state *s, const char *tenant, const char *sync_state, const char *reason,
		   const char *fields_json)
{
	db_stmt *st;
	int rc, k = state_sync_index(sync_state);

	if (!tenant || !*tenant)
		return err_set(ERR_INVALID, "state: a sync state needs a tenant");
	if (k < 0)
		return err_set(ERR_INVALID, "state: tenant '%s': unknown sync state '%s'", tenant,
			       sync_state ? sync_state : "(none)");
	if (k == STATE_SYNC_SYNCED) {
		if ((rc = state__stmt(s, "DELETE FROM tenant_sync WHERE tenant = ?1", &st)) != 0)
			return rc;
		db_bind_text(st, 1, tenant);
		return state__step_deferred(s, st, "writing a tenant's sync state");
	}
	/* the same state again keeps its since: the time it was entered */
	if ((rc = state__stmt(s,
			      "INSERT INTO tenant_sync (" SYNC_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?5) "
			      "ON CONFLICT (tenant) DO UPDATE SET reason = excluded.reason, fields = excluded.fields, "
			      "updated_at = excluded.updated_at, since = CASE WHEN tenant_sync.state = excluded.state "
			      "THEN tenant_sync.since "
			      "ELSE excluded.since END, state = excluded.state",
			      &st)) != 0)
		return rc;
	db_bind_text(st, 1, tenant);
	db_bind_text(st, 2, STATE_SYNC_STATES[k]);
	db_bind_text(st, 3, reason ? reason : "");
	db_bind_text(st, 4, fields_json);
	db_bind_i64(st, 5, db_now());
	return state__step_deferred(s, st, "writing a tenant's sync state");
}

int state_sync_get(state *s, const char *tenant, state_sync *out)
{
	db_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = state__stmt(s, "SELECT " SYNC_COLUMNS " FROM tenant_sync WHERE tenant = ?1", &st)) != 0)
		return rc;
	db_bind_text(st, 1, tenant);
	rc = db_step(st);
	if (rc == DB_ROW) {
		read_sync(st, out, true);
		rc = 0;
	} else if (rc == DB_DONE) {
		rc = err_set(ERR_NOTFOUND, "tenant '%s' has no sync state row (synced, or never planned)", tenant);
	} else {
		rc = state__fail(s, rc, "reading a tenant's sync state");
	}
	state__reset(st);
	return rc;
}

typedef struct sync_walk {
	state_sync_fn fn;
	void *arg;
} sync_walk;

static int sync_row(db_stmt *st, void *arg)
{
	sync_walk *w = arg;
	state_sync r;
	read_sync(st, &r, false);
	return w->fn(w->arg, &r);
}

int state_sync_foreach(state *s, state_sync_fn fn, void *arg)
{
	sync_walk w = {fn, arg};
	return state__foreach(s, "SELECT " SYNC_COLUMNS " FROM tenant_sync ORDER BY tenant", "reading sync states",
			      sync_row, &w);
}

/* Worst first: what an operator looks at first. */
int state_sync_worst(state *s, size_t limit, state_sync_fn fn, void *arg)
{
	db_stmt *st;
	int rc, frc = 0;

	if ((rc = state__stmt(s,
			      "SELECT " SYNC_COLUMNS " FROM tenant_sync ORDER BY CASE state WHEN 'failed' THEN 0 "
			      "WHEN 'blocked' THEN 1 WHEN 'drifted' THEN 2 WHEN 'applying' THEN 3 ELSE 4 END, tenant "
			      "LIMIT ?1",
			      &st)) != 0)
		return rc;
	db_bind_i64(st, 1, (int64_t)limit);
	while ((rc = db_step(st)) == DB_ROW) {
		state_sync r;
		read_sync(st, &r, false);
		if ((frc = fn(arg, &r)) != 0)
			break;
	}
	rc = frc ? frc : rc == DB_DONE ? 0 : state__fail(s, rc, "reading sync states");
	state__reset(st);
	return rc;
}

static int count_row(db_stmt *st, void *arg)
{
	state_sync_counts *c = arg;
	int k = state_sync_index(state__col_text(st, 0, false));
	if (k > STATE_SYNC_SYNCED)
		c->n[k] = db_col_i64(st, 1);
	return 0;
}

int state_sync_counts_get(state *s, state_sync_counts *out)
{
	int rc;
	int64_t mapped = 0, mapped_rows = 0;

	memset(out, 0, sizeof(*out));
	if ((rc = state__begin(s, false)) != 0)
		return rc;
	rc = state__foreach(s, "SELECT state, count(*) FROM tenant_sync GROUP BY state", "counting sync states",
			    count_row, out);
	if (rc == 0)
		rc = state__query_i64(s, "SELECT count(*) FROM tenants", &mapped);
	if (rc == 0)
		rc = state__query_i64(s, "SELECT count(*) FROM tenant_sync JOIN tenants USING (tenant)", &mapped_rows);
	if (rc != 0) {
		state__rollback(s);
		return rc;
	}
	if ((rc = state__commit(s)) != 0)
		return rc;
	out->n[STATE_SYNC_SYNCED] = mapped - mapped_rows;
	for (int k = 0; k < STATE_SYNC_NSTATES; k++)
		out->total += out->n[k];
	return 0;
}
