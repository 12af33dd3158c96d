/*
 * test-state-leases.c: unit tests for leases and the run history (state/
 * leases.c): a lease held by a live process blocks, one whose process is
 * gone or that expired is taken over and the takeover is reported with
 * its previous holder, breaking one is recorded as a run; runs begin,
 * finish once and are listed newest first.
 *
 * The holders are forked children. They never call cmocka asserts (a
 * failure would unwind into the child's copy of the test runner); they
 * report through their exit status, and _exit() so that no atexit handler
 * runs twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "state-fixture.h"

/* --------------------------------------------------------------- leases */

static void test_lease_basics(void **st)
{
	fixture *fx = *st;
	state_lease held;
	char host[256] = "";
	char *holder;
	int64_t now = (int64_t)time(NULL);

	fx->s = open_ok(fx);
	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	assert_int_equal(state_lease_acquire(fx->s, "fleet", 300, &held), 0);
	assert_null(held.holder);
	holder = xasprintf("%lld@%s", (long long)getpid(), host);
	{
		char *h = file_text(fx->path, "SELECT holder FROM leases WHERE name = 'fleet'");
		assert_string_equal(h, holder);
		assert_int_equal(file_i64(fx->path, "SELECT pid FROM leases"), getpid());
		assert_int_equal(file_i64(fx->path, "SELECT expires_at - acquired_at FROM leases"), 300);
		assert_true(file_i64(fx->path, "SELECT acquired_at FROM leases") >= now);
		free(h);
	}
	/* taking it again extends it */
	assert_int_equal(state_lease_acquire(fx->s, "fleet", 600, NULL), 0);
	assert_true(file_i64(fx->path, "SELECT expires_at FROM leases") >= now + 600);
	assert_int_equal(state_lease_renew(fx->s, "fleet", 900), 0);
	assert_true(file_i64(fx->path, "SELECT expires_at FROM leases") >= now + 900);
	/* extend keeps the TTL the holder last chose (a refresh under a
	 * daemon's short lease must not lengthen it) */
	assert_int_equal(state_lease_renew(fx->s, "fleet", 30), 0);
	file_exec(fx->path, "UPDATE leases SET renewed_at = renewed_at - 10, expires_at = expires_at - 10");
	assert_int_equal(state_lease_extend(fx->s, "fleet"), 0);
	assert_int_equal(file_i64(fx->path, "SELECT expires_at - renewed_at FROM leases"), 30);
	assert_true(file_i64(fx->path, "SELECT renewed_at FROM leases") >= now);
	/* another name is another lease */
	assert_int_equal(state_lease_acquire(fx->s, "daemon", 60, NULL), 0);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM leases"), 2);
	assert_int_equal(state_lease_drop(fx->s, "fleet"), 0);
	assert_int_equal(state_lease_drop(fx->s, "fleet"), ERR_NOTFOUND);
	assert_int_equal(state_lease_renew(fx->s, "fleet", 60), ERR_NOTFOUND);
	ut_assert_err_contains("nobody holds it");
	assert_int_equal(state_lease_acquire(fx->s, "fleet", 0, NULL), ERR_INVALID);
	assert_int_equal(state_lease_renew(fx->s, "daemon", -5), ERR_INVALID);
	assert_int_equal(state_lease_acquire(fx->s, "", 10, NULL), ERR_INVALID);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM leases"), 1);
	state_lease_release(NULL);
	free(holder);
}

/* A child process that takes the lease and holds it until told to go.
 * Called with no handle open: no connection may cross a fork. */
static pid_t spawn_holder(fixture *fx, int *tell)
{
	int up[2], down[2];
	char c;
	pid_t kid;

	assert_null(fx->s);
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	kid = fork();
	assert_true(kid >= 0);
	if (kid == 0) {
		state *s = NULL;
		close(up[0]);
		close(down[1]);
		if (state_open(&s, fx->path) != 0 || state_lease_acquire(s, "fleet", 300, NULL) != 0)
			_exit(1);
		state_close(s);
		if (write(up[1], "x", 1) != 1)
			_exit(1);
		(void)!read(down[0], &c, 1); /* until the parent writes or exits */
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	assert_int_equal(read(up[0], &c, 1), 1);
	close(up[0]);
	*tell = down[1];
	return kid;
}

static void reap(pid_t kid, int tell)
{
	int status = -1;

	assert_int_equal(write(tell, "x", 1), 1);
	close(tell);
	assert_int_equal(waitpid(kid, &status, 0), kid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_lease_live_then_dead_holder(void **st)
{
	fixture *fx = *st;
	state_lease held;
	char host[256] = "";
	char *want;
	int tell;
	pid_t kid;

	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	kid = spawn_holder(fx, &tell);
	fx->s = open_ok(fx);

	assert_int_equal(state_lease_acquire(fx->s, "fleet", 300, &held), ERR_LOCKED);
	want = xasprintf("%lld@%s", (long long)kid, host);
	assert_string_equal(held.holder, want);
	ut_assert_err_contains(want);
	assert_int_equal(held.pid, kid);
	assert_string_equal(held.host, host);
	assert_int_equal(held.expires_at - held.acquired_at, 300);
	state_lease_release(&held);
	assert_null(held.holder);
	assert_int_equal(state_lease_renew(fx->s, "fleet", 300), ERR_LOCKED);
	assert_int_equal(state_lease_extend(fx->s, "fleet"), ERR_LOCKED);
	assert_int_equal(state_lease_drop(fx->s, "fleet"), ERR_LOCKED);
	assert_int_equal(file_i64(fx->path, "SELECT pid FROM leases"), kid);

	/* the holder exits without dropping it: taken over at once */
	reap(kid, tell);
	assert_int_equal(state_lease_acquire(fx->s, "fleet", 300, &held), 0);
	assert_null(held.holder);
	assert_int_equal(file_i64(fx->path, "SELECT pid FROM leases"), getpid());
	free(want);
}

static void test_lease_expired_and_remote(void **st)
{
	fixture *fx = *st;
	state_lease held;
	char *sql;

	fx->s = open_ok(fx);
	/* another host: its pid means nothing here, so it holds until expiry,
	 * even with a pid that no process here has */
	sql = xasprintf("INSERT INTO leases VALUES ('fleet', '999999@elsewhere', 999999, 'elsewhere', %lld, %lld, "
			"%lld)", (long long)time(NULL), (long long)time(NULL), (long long)time(NULL) + 3600);
	file_exec(fx->path, sql);
	assert_int_equal(state_lease_acquire(fx->s, "fleet", 60, &held), ERR_LOCKED);
	assert_string_equal(held.host, "elsewhere");
	assert_int_equal(held.pid, 999999);
	state_lease_release(&held);
	file_exec(fx->path, "UPDATE leases SET expires_at = 1000");
	assert_int_equal(state_lease_acquire(fx->s, "fleet", 60, &held), 0);
	assert_int_equal(file_i64(fx->path, "SELECT pid FROM leases"), getpid());
	assert_true(file_i64(fx->path, "SELECT expires_at FROM leases") > 1000);
	free(sql);
}

/* A lease taken over says from whom and why; one that was free or ours
 * already, or that a live holder keeps, says nothing. */
static void test_lease_takeover_report(void **st)
{
	fixture *fx = *st;
	state_lease_takeover took;
	state_lease held;
	char host[256] = "";
	char *want, *sql;
	int tell;
	pid_t kid;

	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	kid = spawn_holder(fx, &tell);
	want = xasprintf("%lld@%s", (long long)kid, host);
	fx->s = open_ok(fx);

	/* a live holder: no takeover */
	memset(&took, 0xff, sizeof(took));
	assert_int_equal(state_lease_acquire_ex(fx->s, "fleet", 300, &held, &took), ERR_LOCKED);
	assert_null(took.reason);
	assert_null(took.from.holder);
	state_lease_release(&held);

	/* its process gone */
	reap(kid, tell);
	assert_int_equal(state_lease_acquire_ex(fx->s, "fleet", 300, &held, &took), 0);
	assert_null(held.holder);
	assert_non_null(took.reason);
	assert_string_equal(took.reason, STATE_LEASE_HOLDER_GONE);
	assert_string_equal(took.reason, "holder process is gone");
	assert_string_equal(took.from.holder, want);
	assert_int_equal(took.from.pid, kid);
	assert_string_equal(took.from.host, host);
	assert_int_equal(took.from.expires_at - took.from.acquired_at, 300);
	state_lease_release(&took.from);

	/* ours already: extended, nobody's taken */
	memset(&took, 0xff, sizeof(took));
	assert_int_equal(state_lease_acquire_ex(fx->s, "fleet", 300, NULL, &took), 0);
	assert_null(took.reason);
	assert_null(took.from.holder);

	/* expired (another host's, trusted until then) */
	sql = xasprintf("UPDATE leases SET holder = '4242@elsewhere', pid = 4242, host = 'elsewhere', "
			"acquired_at = 900, expires_at = 1000");
	file_exec(fx->path, sql);
	assert_int_equal(state_lease_acquire_ex(fx->s, "fleet", 60, NULL, &took), 0);
	assert_string_equal(took.reason, STATE_LEASE_EXPIRED);
	assert_string_equal(took.from.holder, "4242@elsewhere");
	assert_int_equal(took.from.pid, 4242);
	assert_string_equal(took.from.host, "elsewhere");
	assert_int_equal(took.from.expires_at, 1000);
	state_lease_release(&took.from);
	assert_int_equal(file_i64(fx->path, "SELECT pid FROM leases"), getpid());

	/* free: nothing taken over; bad arguments leave it zeroed */
	memset(&took, 0xff, sizeof(took));
	assert_int_equal(state_lease_acquire_ex(fx->s, "daemon", 60, NULL, &took), 0);
	assert_null(took.reason);
	assert_null(took.from.holder);
	memset(&took, 0xff, sizeof(took));
	assert_int_equal(state_lease_acquire_ex(fx->s, "", 60, NULL, &took), ERR_INVALID);
	assert_null(took.reason);
	assert_null(took.from.holder);
	free(sql);
	free(want);
}

static void test_lease_break(void **st)
{
	fixture *fx = *st;
	char host[256] = "";
	char *want, *summary;
	int64_t expires;
	int tell;
	pid_t kid;

	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	kid = spawn_holder(fx, &tell);
	fx->s = open_ok(fx);
	assert_int_equal(state_lease_break(fx->s, "other", "stuck"), ERR_NOTFOUND);
	expires = file_i64(fx->path, "SELECT expires_at FROM leases");
	assert_int_equal(state_lease_break(fx->s, "fleet", "operator said \"stuck\""), 0);
	assert_int_equal(state_lease_acquire(fx->s, "fleet", 60, NULL), 0);

	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM runs WHERE command = 'unlock' AND outcome = 'ok' AND "
				 "finished_at IS NOT NULL"), 1);
	summary = file_text(fx->path, "SELECT summary_json FROM runs WHERE command = 'unlock'");
	want = xasprintf("{\"lease\":\"fleet\",\"holder\":\"%lld@%s\",\"expires_at\":%lld,"
			 "\"reason\":\"operator said \\\"stuck\\\"\"}", (long long)kid, host, (long long)expires);
	assert_string_equal(summary, want);
	free(summary);
	free(want);
	reap(kid, tell);
	/* the broken holder cannot drop what is now ours */
	assert_int_equal(file_i64(fx->path, "SELECT pid FROM leases"), getpid());
	assert_int_equal(state_lease_break(fx->s, "fleet", NULL), 0);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM runs WHERE summary_json LIKE '%\"reason\":null}'"),
			 1);
}

/* ----------------------------------------------------------------- runs */

static void test_runs(void **st)
{
	fixture *fx = *st;
	int64_t id1 = 0, id2 = 0;
	char *v;

	fx->s = open_ok(fx);
	assert_int_equal(state_run_begin(fx->s, "apply", &id1), 0);
	assert_true(id1 > 0);
	assert_int_equal(state_run_begin(fx->s, "refresh", &id2), 0);
	assert_int_equal(id2, id1 + 1);
	assert_int_equal(state_run_finish(fx->s, id1, "partial", "{\"failed\":2}"), 0);
	assert_int_equal(state_run_finish(fx->s, id1, "ok", NULL), ERR_CONFLICT);
	ut_assert_err_contains("already finished");
	assert_int_equal(state_run_finish(fx->s, 9999, "ok", NULL), ERR_NOTFOUND);
	assert_int_equal(state_run_finish(fx->s, id2, NULL, NULL), ERR_INVALID);
	assert_int_equal(state_run_finish(fx->s, id2, "failed", NULL), 0);
	assert_int_equal(state_run_begin(fx->s, "", &id2), ERR_INVALID);
	assert_int_equal(id2, 0);

	v = file_text(fx->path, "SELECT command || ' ' || outcome || ' ' || summary_json FROM runs WHERE id = 1");
	assert_string_equal(v, "apply partial {\"failed\":2}");
	free(v);
	v = file_text(fx->path, "SELECT summary_json FROM runs WHERE id = 2");
	assert_string_equal(v, "(null)");
	free(v);
	assert_int_equal(file_i64(fx->path, "SELECT pid FROM runs WHERE id = 1"), getpid());
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM runs WHERE finished_at >= started_at"), 2);
}

static int collect_run(void *arg, const state_run *r)
{
	jwalk *w = arg;

	jwalk_add(w, "%lld:%s:%s", (long long)r->id, r->command, r->outcome ? r->outcome : "-");
	if (r->pid != (int64_t)getpid() || !r->host || !*r->host || r->started_at <= 0 ||
	    (r->outcome ? r->finished_at < r->started_at : r->finished_at != 0))
		return -98;
	return w->n == w->stop_at ? 1 : 0; /* 1: what the walk uses inside to stop at n */
}

static void test_runs_recent(void **st)
{
	fixture *fx = *st;
	int64_t id[4];
	jwalk w;

	fx->s = open_ok(fx);
	memset(&w, 0, sizeof(w));
	assert_int_equal(state_runs_recent(fx->s, 10, collect_run, &w), 0);
	expect_seen(&w, "%s", "");
	assert_int_equal(state_run_begin(fx->s, "plan", &id[0]), 0);
	assert_int_equal(state_run_begin(fx->s, "apply", &id[1]), 0);
	assert_int_equal(state_run_begin(fx->s, "refresh", &id[2]), 0);
	assert_int_equal(state_run_finish(fx->s, id[0], "ok", NULL), 0);
	assert_int_equal(state_run_finish(fx->s, id[1], "partial", "{\"failed\":1}"), 0);
	assert_int_equal(state_lease_acquire(fx->s, "fleet", 60, NULL), 0);
	assert_int_equal(state_lease_break(fx->s, "fleet", "stuck"), 0);
	id[3] = id[2] + 1;

	/* newest first, at most n */
	assert_int_equal(state_runs_recent(fx->s, 3, collect_run, &w), 0);
	expect_seen(&w, "%lld:unlock:ok %lld:refresh:- %lld:apply:partial", (long long)id[3], (long long)id[2],
		    (long long)id[1]);
	assert_int_equal(state_runs_recent(fx->s, 1, collect_run, &w), 0);
	expect_seen(&w, "%lld:unlock:ok", (long long)id[3]);
	assert_int_equal(state_runs_recent(fx->s, 100, collect_run, &w), 0);
	expect_seen(&w, "%lld:unlock:ok %lld:refresh:- %lld:apply:partial %lld:plan:ok", (long long)id[3],
		    (long long)id[2], (long long)id[1], (long long)id[0]);
	assert_int_equal(state_runs_recent(fx->s, 0, collect_run, &w), 0);
	expect_seen(&w, "%s", "");
	/* fn's own nonzero return (even 1) comes back as it is */
	w.stop_at = 1;
	assert_int_equal(state_runs_recent(fx->s, SIZE_MAX, collect_run, &w), 1);
	assert_int_equal(w.n, 1);
	memset(&w, 0, sizeof(w));
	w.stop_at = 1;
	assert_int_equal(state_runs_recent(fx->s, 1, collect_run, &w), 1);
	assert_int_equal(w.n, 1);

	/* release takes NULL and a copy with heap strings */
	state_run r = { .command = xstrdup("apply"), .outcome = xstrdup("ok") };
	state_run_release(&r);
	assert_null(r.command);
	state_run_release(NULL);
	state_journal_entry_release(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX(test_lease_basics),
		FX(test_lease_live_then_dead_holder),
		FX(test_lease_expired_and_remote),
		FX(test_lease_takeover_report),
		FX(test_lease_break),
		FX(test_runs),
		FX(test_runs_recent),
	};
	return cmocka_run_group_tests_name("state-leases", tests, NULL, NULL);
}
