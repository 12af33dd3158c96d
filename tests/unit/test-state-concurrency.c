/*
 * test-state-concurrency.c: unit tests for state/ under other connections
 * and processes: a reader keeps its snapshot while another handle writes;
 * a second process reading while a child writes sees whole pages only; an
 * interrupted refresh (_exit()ed or killed with SIGKILL in the middle of
 * its writes) removes nothing and leaves whole pages.
 *
 * Forked children never call cmocka asserts (a failure would unwind into
 * the child's copy of the test runner); they report through their exit
 * status, and _exit() so that no atexit handler runs twice. No connection
 * crosses a fork: a test closes its handles before it forks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "state-fixture.h"

/* ------------------------------------------------------------ snapshots */

typedef struct snap {
	state *reader, *writer;
	state_project *page;
	int64_t inside, writer_saw;
} snap;

/* Inside a walk (a read transaction) on one handle, another handle commits
 * a page: the walk's handle keeps its snapshot until the walk ends. */
static int snap_walk(void *arg, const state_project *p)
{
	snap *sn = arg;
	state_refresh *r = NULL;

	(void)p;
	if (sn->writer_saw)
		return 0;
	if (state_refresh_begin(sn->writer, &r) != 0 || state_refresh_page(r, sn->page, PAGE) != 0)
		return -1;
	state_refresh_abort(r);
	sn->writer_saw = state_project_count(sn->writer);
	sn->inside = state_project_count(sn->reader);
	return 0;
}

static void test_reader_sees_snapshot(void **st)
{
	fixture *fx = *st;
	snap sn = { 0 };
	state_summary sum;

	fx->s = open_ok(fx);
	assert_int_equal(state_open(&sn.reader, fx->path), 0);
	assert_int_equal(refresh_all(fx->s, make_page(fx, "a", 0, 3), 3, 3), 0);
	sn.writer = fx->s;
	sn.page = make_page(fx, "b", 0, PAGE);
	assert_int_equal(state_projects_foreach(sn.reader, snap_walk, &sn), 0);
	assert_int_equal(sn.writer_saw, 3 + PAGE);
	assert_int_equal(sn.inside, 3);
	/* after the walk the reader sees the page */
	assert_int_equal(state_summary_get(sn.reader, &sum), 0);
	assert_int_equal(sum.projects, 3 + PAGE);
	state_summary_release(&sum);
	state_close(sn.reader);
}

/* A child writes pages (with a pause between them) while the parent reads
 * summaries from its own handle: every summary shows whole pages, and its
 * per-region counts add up to its project count. */
static void test_summary_consistent_under_writer(void **st)
{
	fixture *fx = *st;
	enum { PAGES = 30 };
	state_project *pages = make_page(fx, "w", 0, PAGES * PAGE);
	int64_t last = 0, reads = 0;
	pid_t kid;
	int status = -1;
	bool done = false;

	/* no connection may cross a fork: create the file, close, fork, open */
	fx->s = open_ok(fx);
	state_close(fx->s);
	fx->s = NULL;
	kid = fork();
	assert_true(kid >= 0);
	if (kid == 0) {
		state *w = NULL;
		state_refresh *r = NULL;
		int ok = state_open(&w, fx->path) == 0 && state_refresh_begin(w, &r) == 0;
		for (int i = 0; ok && i < PAGES; i++) {
			ok = state_refresh_page(r, pages + i * PAGE, PAGE) == 0;
			usleep(2000);
		}
		ok = ok && state_refresh_finish(r, NULL) == 0;
		state_close(w);
		_exit(ok ? 0 : 1);
	}
	fx->s = open_ok(fx);
	while (!done) {
		state_summary sum;
		int64_t total = 0;
		done = waitpid(kid, &status, WNOHANG) == kid;
		assert_int_equal(state_summary_get(fx->s, &sum), 0);
		for (size_t i = 0; i < sum.nby_region; i++)
			total += sum.by_region[i].n;
		assert_int_equal(total, sum.projects);
		assert_int_equal(sum.projects % PAGE, 0);
		assert_true(sum.projects >= last);
		assert_int_equal(sum.projects_unmapped, sum.projects);
		last = sum.projects;
		reads++;
		state_summary_release(&sum);
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(last, PAGES * PAGE);
	assert_true(reads > 1);
}

/* --------------------------------------------------------- crash safety */

/* The previous complete refresh, then a child that begins another, writes
 * pages and dies without finishing: by _exit, or by SIGKILL in the middle
 * of writing. Nothing is removed, pages are whole, the watermark stays. */
static void crash_case(fixture *fx, bool kill9)
{
	enum { OLD = 120, PAGES = 400 };
	state_project *old = make_page(fx, "old", 0, OLD);
	state_project *fresh = make_page(fx, "new", 0, PAGES * PAGE);
	int pipefd[2];
	char *when1 = NULL, *when2 = NULL;
	char c;
	pid_t kid;
	int status = -1;
	int64_t n;

	fx->s = open_ok(fx);
	assert_int_equal(refresh_all(fx->s, old, OLD, PAGE), 0);
	assert_int_equal(state_meta_get(fx->s, "list_refreshed_at", &when1), 0);
	state_close(fx->s);
	fx->s = NULL;

	assert_int_equal(pipe(pipefd), 0);
	kid = fork();
	assert_true(kid >= 0);
	if (kid == 0) {
		state *w = NULL;
		state_refresh *r = NULL;
		close(pipefd[0]);
		if (state_open(&w, fx->path) != 0 || state_refresh_begin(w, &r) != 0)
			_exit(1);
		/* the second half of the old projects: the first half is "gone" */
		if (state_refresh_page(r, old + OLD / 2, OLD / 2) != 0)
			_exit(1);
		for (int i = 0; i < PAGES; i++) {
			if (state_refresh_page(r, fresh + i * PAGE, PAGE) != 0)
				_exit(1);
			if (i == 3 && write(pipefd[1], "x", 1) != 1)
				_exit(1);
			if (!kill9 && i == 5)
				_exit(0); /* no finish, no close */
		}
		_exit(0);
	}
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], &c, 1), 1);
	if (kill9)
		kill(kid, SIGKILL);
	close(pipefd[0]);
	assert_int_equal(waitpid(kid, &status, 0), kid);
	if (kill9) {
		/* the child may have finished all its pages first on a fast machine;
		 * either way it never finished the refresh */
		assert_true(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0));
	} else {
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}

	assert_integrity(fx->path);
	fx->s = open_ok(fx);
	n = state_project_count(fx->s);
	assert_true(n >= OLD + 4 * PAGE);
	assert_int_equal((n - OLD) % PAGE, 0);
	if (!kill9)
		assert_int_equal(n, OLD + 6 * PAGE);
	for (int i = 0; i < OLD; i++) {
		state_project p;
		assert_int_equal(state_project_get(fx->s, old[i].id, &p), 0);
		state_project_release(&p);
	}
	assert_int_equal(state_meta_get(fx->s, "list_refreshed_at", &when2), 0);
	assert_string_equal(when1, when2);
	free(when1);
	free(when2);

	/* the next complete refresh removes what the list lacks */
	assert_int_equal(refresh_all(fx->s, old + OLD / 2, OLD / 2, PAGE), (size_t)(n - OLD / 2));
	assert_int_equal(state_project_count(fx->s), OLD / 2);
}

static void test_crash_exit_mid_refresh(void **st)
{
	crash_case(*st, false);
}

static void test_crash_kill9_mid_refresh(void **st)
{
	crash_case(*st, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX(test_reader_sees_snapshot),
		FX(test_summary_consistent_under_writer),
		FX(test_crash_exit_mid_refresh),
		FX(test_crash_kill9_mid_refresh),
	};
	return cmocka_run_group_tests_name("state-concurrency", tests, NULL, NULL);
}
