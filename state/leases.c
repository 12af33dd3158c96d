/*
 * leases.c: named leases that keep two flotillas from writing one fleet at
 * once, and the run history.
 *
 * A lease row names its holder (pid and host) and an expiry; the holder
 * renews it while it works. Acquiring reads and writes the row in one
 * write transaction, so two processes racing for a free lease cannot both
 * win. A lease is taken over when it expired, or when its holder is a
 * process on this host that no longer exists (kill(pid, 0) fails with
 * ESRCH): a crashed apply does not block the next one for a whole TTL.
 * A holder on another host is trusted until its lease expires. A takeover
 * is reported to the caller (state_lease_takeover), who logs it. Breaking
 * a lease (`flotilla unlock --force`) is recorded as a run named "unlock".
 */
#include "state/internal.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define LEASE_COLUMNS "holder, pid, host, acquired_at, expires_at"

void state_lease_release(state_lease *l)
{
	if (!l)
		return;
	free(l->holder);
	free(l->host);
	memset(l, 0, sizeof(*l));
}

/* A process that exists, even one we may not signal (EPERM), is alive. */
static bool pid_alive(int64_t pid)
{
	if (pid <= 0 || pid != (int64_t)(pid_t)pid)
		return false;
	return kill((pid_t)pid, 0) == 0 || errno != ESRCH;
}

static bool is_mine(const state *s, const state_lease *l)
{
	return l->pid == (int64_t)getpid() && l->host && strcmp(l->host, s->host) == 0;
}

/* Read the lease row into *l (heap copies). *found says whether there is
 * one. Within the caller's transaction. */
static int lease_read(state *s, const char *name, state_lease *l, bool *found)
{
	db_stmt *st;
	int rc;

	memset(l, 0, sizeof(*l));
	*found = false;
	if ((rc = state__stmt(s, "SELECT " LEASE_COLUMNS " FROM leases WHERE name = ?1", &st)) != 0)
		return rc;
	db_bind_text(st, 1, name);
	rc = db_step(st);
	if (rc == DB_ROW) {
		l->holder = state__col_str(st, 0);
		l->pid = db_col_i64(st, 1);
		l->host = state__col_str(st, 2);
		l->acquired_at = db_col_i64(st, 3);
		l->expires_at = db_col_i64(st, 4);
		*found = true;
		rc = 0;
	} else {
		rc = rc == DB_DONE ? 0 : state__fail(s, rc, "reading a lease");
	}
	state__reset(st);
	return rc;
}

/* Run one cached write with the lease name as ?1 and up to two integers. */
static int lease_write(state *s, const char *sql, const char *name, int64_t a, int64_t b)
{
	db_stmt *st;
	int rc;

	if ((rc = state__stmt(s, sql, &st)) != 0)
		return rc;
	db_bind_text(st, 1, name);
	if (db_param_count(st) >= 2)
		db_bind_i64(st, 2, a);
	if (db_param_count(st) >= 3)
		db_bind_i64(st, 3, b);
	return state__step_done(s, st, "writing a lease");
}

static int check_args(const char *name, int64_t ttl)
{
	if (!name || !*name)
		return err_set(ERR_INVALID, "state: lease name is missing");
	if (ttl <= 0)
		return err_set(ERR_INVALID, "state: lease '%s': ttl must be positive, not %lld", name, (long long)ttl);
	return 0;
}

int state_lease_acquire(state *s, const char *name, int64_t ttl, state_lease *held)
{
	return state_lease_acquire_ex(s, name, ttl, held, NULL);
}

int state_lease_acquire_ex(state *s, const char *name, int64_t ttl, state_lease *held,
			   state_lease_takeover *took)
{
	state_lease cur;
	const char *why = NULL;
	char *holder = NULL;
	bool found;
	db_stmt *st;
	int64_t now;
	int rc;

	memset(&cur, 0, sizeof(cur));
	if (held)
		memset(held, 0, sizeof(*held));
	if (took)
		memset(took, 0, sizeof(*took));
	if ((rc = check_args(name, ttl)) != 0)
		return rc;
	if ((rc = state__begin(s, true)) != 0)
		return rc;
	now = db_now();
	if ((rc = lease_read(s, name, &cur, &found)) != 0)
		goto done;
	if (found && is_mine(s, &cur)) {
		/* taking a lease we hold extends it */
		rc = lease_write(s, "UPDATE leases SET expires_at = ?2, renewed_at = ?3 WHERE name = ?1", name,
				 now + ttl, now);
		goto done;
	}
	if (found) {
		if (cur.expires_at <= now)
			why = STATE_LEASE_EXPIRED;
		else if (cur.host && strcmp(cur.host, s->host) == 0 && !pid_alive(cur.pid))
			why = STATE_LEASE_HOLDER_GONE;
		if (!why) {
			rc = err_set(ERR_LOCKED, "lease '%s' is held by %s until %lld (%lld seconds from now)", name,
				     cur.holder, (long long)cur.expires_at, (long long)(cur.expires_at - now));
			if (held) {
				*held = cur;
				memset(&cur, 0, sizeof(cur));
			}
			goto done;
		}
	}
	holder = xasprintf("%lld@%s", (long long)getpid(), s->host);
	if ((rc = state__stmt(s, "INSERT INTO leases(name, holder, pid, host, acquired_at, renewed_at, expires_at) "
			  "VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6) ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
			  "pid = excluded.pid, host = excluded.host, acquired_at = excluded.acquired_at, "
			  "renewed_at = excluded.renewed_at, expires_at = excluded.expires_at", &st)) != 0)
		goto done;
	db_bind_text(st, 1, name);
	db_bind_text(st, 2, holder);
	db_bind_i64(st, 3, (int64_t)getpid());
	db_bind_text(st, 4, s->host);
	db_bind_i64(st, 5, now);
	db_bind_i64(st, 6, now + ttl);
	rc = state__step_done(s, st, "writing a lease");
done:
	if (rc == 0)
		rc = state__commit(s);
	else
		state__rollback(s);
	/* the caller tells of the takeover: state/ never logs */
	if (rc == 0 && why && took) {
		took->reason = why;
		took->from = cur;
		memset(&cur, 0, sizeof(cur));
	}
	state_lease_release(&cur);
	free(holder);
	return rc;
}

/* Read the lease and check that this process holds it (renew, drop). */
static int lease_mine(state *s, const char *name, const char *verb)
{
	state_lease cur;
	bool found;
	int rc;

	if ((rc = lease_read(s, name, &cur, &found)) != 0)
		return rc;
	if (!found)
		rc = err_set(ERR_NOTFOUND, "cannot %s lease '%s': nobody holds it", verb, name);
	else if (!is_mine(s, &cur))
		rc = err_set(ERR_LOCKED, "cannot %s lease '%s': it is held by %s", verb, name, cur.holder);
	state_lease_release(&cur);
	return rc;
}

int state_lease_renew(state *s, const char *name, int64_t ttl)
{
	int64_t now;
	int rc;

	if ((rc = check_args(name, ttl)) != 0)
		return rc;
	if ((rc = state__begin(s, true)) != 0)
		return rc;
	now = db_now();
	if ((rc = lease_mine(s, name, "renew")) == 0)
		rc = lease_write(s, "UPDATE leases SET expires_at = ?2, renewed_at = ?3 WHERE name = ?1", name,
				 now + ttl, now);
	if (rc == 0)
		return state__commit(s);
	state__rollback(s);
	return rc;
}

int state_lease_extend(state *s, const char *name)
{
	int64_t now;
	int rc;

	if ((rc = check_args(name, 1)) != 0)
		return rc;
	if ((rc = state__begin(s, true)) != 0)
		return rc;
	now = db_now();
	if ((rc = lease_mine(s, name, "renew")) == 0)
		rc = lease_write(s, "UPDATE leases SET expires_at = ?2 + (expires_at - renewed_at), renewed_at = ?2 "
				    "WHERE name = ?1", name, now, 0);
	if (rc == 0)
		return state__commit(s);
	state__rollback(s);
	return rc;
}

int state_lease_drop(state *s, const char *name)
{
	int rc;

	if ((rc = check_args(name, 1)) != 0)
		return rc;
	if ((rc = state__begin(s, true)) != 0)
		return rc;
	if ((rc = lease_mine(s, name, "drop")) == 0)
		rc = lease_write(s, "DELETE FROM leases WHERE name = ?1", name, 0, 0);
	if (rc == 0)
		return state__commit(s);
	state__rollback(s);
	return rc;
}

/* Insert a run row; finished when outcome is not NULL. */
static int run_insert(state *s, const char *command, const char *outcome, const char *summary_json,
		      int64_t *id)
{
	db_stmt *st;
	int64_t now = db_now();
	int rc;

	if ((rc = state__stmt(s, "INSERT INTO runs(command, pid, host, started_at, finished_at, outcome, summary_json) "
			  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id", &st)) != 0)
		return rc;
	db_bind_text(st, 1, command);
	db_bind_i64(st, 2, (int64_t)getpid());
	db_bind_text(st, 3, s->host);
	db_bind_i64(st, 4, now);
	if (outcome)
		db_bind_i64(st, 5, now);
	db_bind_text(st, 6, outcome);
	db_bind_text(st, 7, summary_json);
	return state__step_insert(s, st, "recording a run", id);
}

int state_lease_break(state *s, const char *name, const char *reason)
{
	state_lease cur;
	buf json = BUF_INIT(0);
	bool found;
	int64_t id;
	int rc;

	memset(&cur, 0, sizeof(cur));
	if ((rc = check_args(name, 1)) != 0)
		return rc;
	if ((rc = state__begin(s, true)) != 0)
		return rc;
	if ((rc = lease_read(s, name, &cur, &found)) != 0)
		goto done;
	if (!found) {
		rc = err_set(ERR_NOTFOUND, "cannot break lease '%s': nobody holds it", name);
		goto done;
	}
	/* buf has no maximum here, so the appends cannot fail */
	if (buf_adds(&json, "{\"lease\":\"") || buf_add_json_str(&json, name) || buf_adds(&json, "\",\"holder\":\"") ||
	    buf_add_json_str(&json, cur.holder) ||
	    buf_printf(&json, "\",\"expires_at\":%lld,\"reason\":", (long long)cur.expires_at) ||
	    (reason ? buf_addc(&json, '"') || buf_add_json_str(&json, reason) || buf_addc(&json, '"')
		    : buf_adds(&json, "null")) ||
	    buf_addc(&json, '}')) {
		rc = err_set(ERR_FAIL, "state: cannot build the unlock record");
		goto done;
	}
	if ((rc = lease_write(s, "DELETE FROM leases WHERE name = ?1", name, 0, 0)) != 0)
		goto done;
	rc = run_insert(s, "unlock", "ok", json.data, &id);
done:
	if (rc == 0)
		rc = state__commit(s);
	else
		state__rollback(s);
	state_lease_release(&cur);
	buf_release(&json);
	return rc;
}

/* ------------------------------------------------------------------ runs */

int state_run_begin(state *s, const char *command, int64_t *run_id)
{
	*run_id = 0;
	if (!command || !*command)
		return err_set(ERR_INVALID, "state: run command is missing");
	return run_insert(s, command, NULL, NULL, run_id);
}

int state_run_finish(state *s, int64_t run_id, const char *outcome, const char *summary_json)
{
	db_stmt *st;
	int64_t exists = 0;
	int rc;

	if (!outcome || !*outcome)
		return err_set(ERR_INVALID, "state: run %lld: outcome is missing", (long long)run_id);
	if ((rc = state__begin(s, true)) != 0)
		return rc;
	if ((rc = state__stmt(s, "UPDATE runs SET finished_at = ?2, outcome = ?3, summary_json = ?4 "
			  "WHERE id = ?1 AND finished_at IS NULL", &st)) != 0)
		goto done;
	db_bind_i64(st, 1, run_id);
	db_bind_i64(st, 2, db_now());
	db_bind_text(st, 3, outcome);
	db_bind_text(st, 4, summary_json);
	rc = state__step_done(s, st, "recording a run");
	if (rc != 0 || db_changes(s) == 1)
		goto done;
	if ((rc = state__stmt(s, "SELECT count(*) FROM runs WHERE id = ?1", &st)) != 0)
		goto done;
	db_bind_i64(st, 1, run_id);
	if ((rc = state__step_one(s, st, "reading a run")) == 0)
		exists = db_col_i64(st, 0);
	state__reset(st);
	if (rc == 0)
		rc = exists ? err_set(ERR_CONFLICT, "run %lld is already finished", (long long)run_id)
			    : err_set(ERR_NOTFOUND, "run %lld does not exist", (long long)run_id);
done:
	if (rc == 0)
		return state__commit(s);
	state__rollback(s);
	return rc;
}

void state_run_release(state_run *r)
{
	if (!r)
		return;
	free(r->command);
	free(r->host);
	free(r->outcome);
	free(r->summary_json);
	memset(r, 0, sizeof(*r));
}

typedef struct run_walk {
	state_run_fn fn;
	void *arg;
	size_t left;       /* rows still wanted */
	bool full;         /* the walk stopped because n rows were handed out */
} run_walk;

static int run_row(db_stmt *st, void *arg)
{
	run_walk *w = arg;
	state_run r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.id = db_col_i64(st, 0);
	r.command = state__col_text(st, 1, false);
	r.pid = db_col_i64(st, 2);
	r.host = state__col_text(st, 3, false);
	r.started_at = db_col_i64(st, 4);
	r.finished_at = db_col_i64(st, 5);
	r.outcome = state__col_text(st, 6, false);
	r.summary_json = state__col_text(st, 7, false);
	if ((rc = w->fn(w->arg, &r)) != 0)
		return rc;
	if (--w->left > 0)
		return 0;
	w->full = true;
	return 1;
}

int state_runs_recent(state *s, size_t n, state_run_fn fn, void *arg)
{
	run_walk w = {fn, arg, n, false};
	int rc;

	if (n == 0)
		return 0;
	/* newest first is the rowid read backwards: stopping after n rows
	 * reads n rows, no LIMIT needed */
	rc = state__foreach(s, "SELECT id, command, pid, host, started_at, finished_at, outcome, summary_json "
			"FROM runs ORDER BY id DESC", "reading the run history", run_row, &w);
	return w.full && rc == 1 ? 0 : rc;
}
