/*
 * test-state-journal.c: unit tests for the write-ahead journal of API
 * writes (state/journal.c): a row's life from intent to its outcome, the
 * transitions refused, the unfinished rows a recovery pass walks (and may
 * finish from inside the walk), pruning, and no column that could hold a
 * secret.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state-fixture.h"

/* -------------------------------------------------------------- journal */

static int collect_entry(void *arg, const state_journal_entry *e)
{
	jwalk *w = arg;

	jwalk_add(w, "%lld:%s", (long long)e->id, e->state);
	if (w->other && state_meta_set(w->other, "poked_by_walk", e->state) != 0)
		return -97;
	if (w->s && state_journal_finish(w->s, e->id, STATE_JOURNAL_RESOLVED, "found by the walk") != 0)
		return -99;
	return w->n == w->stop_at ? 42 : 0;
}

/* A copy of row `id` (heap strings), through state_journal_run. */
typedef struct jfind {
	int64_t id;
	state_journal_entry e;
	bool found;
} jfind;

static char *dup_or_null(const char *v)
{
	return v ? xstrdup(v) : NULL;
}

static int find_entry(void *arg, const state_journal_entry *e)
{
	jfind *f = arg;

	if (e->id != f->id)
		return 0;
	f->e = *e;
	f->e.tenant = dup_or_null(e->tenant);
	f->e.project_id = dup_or_null(e->project_id);
	f->e.action = dup_or_null(e->action);
	f->e.intent_json = dup_or_null(e->intent_json);
	f->e.state = dup_or_null(e->state);
	f->e.resource_id = dup_or_null(e->resource_id);
	f->e.operation_ids_json = dup_or_null(e->operation_ids_json);
	f->e.request_id = dup_or_null(e->request_id);
	f->e.error = dup_or_null(e->error);
	f->found = true;
	return 0;
}

static state_journal_entry journal_get(state *s, int64_t run_id, int64_t id)
{
	jfind f = { .id = id };

	assert_int_equal(state_journal_run(s, run_id, find_entry, &f), 0);
	if (!f.found)
		fail_msg("journal entry %lld is not in run %lld", (long long)id, (long long)run_id);
	return f.e;
}

static void test_journal_life(void **st)
{
	fixture *fx = *st;
	state_journal_entry e;
	int64_t run = 0, a = 0, b = 0, n = -1;
	const char *body = "{\"method\":\"POST\",\"path\":\"/projects\",\"body\":{\"project\":{\"name\":\"acme\"}}}";

	fx->s = open_ok(fx);
	assert_int_equal(state_run_begin(fx->s, "apply", &run), 0);

	/* a create: intent without a project, sent learns it, done */
	assert_int_equal(state_journal_intent(fx->s, run, "acme", NULL, "create", body, &a), 0);
	assert_true(a > 0);
	e = journal_get(fx->s, run, a);
	assert_string_equal(e.state, STATE_JOURNAL_INTENT);
	assert_string_equal(e.tenant, "acme");
	assert_null(e.project_id);
	assert_string_equal(e.action, "create");
	assert_string_equal(e.intent_json, body);
	assert_int_equal(e.run_id, run);
	assert_null(e.resource_id);
	assert_null(e.error);
	assert_true(e.created_at > 0);
	assert_int_equal(e.updated_at, e.created_at);
	state_journal_entry_release(&e);
	assert_int_equal(state_journal_backlog(fx->s, &n), 0);
	assert_int_equal(n, 1);

	assert_int_equal(state_journal_sent(fx->s, a, "p-1", "p-1", "[\"op-1\",\"op-2\"]", "req-1"), 0);
	e = journal_get(fx->s, run, a);
	assert_string_equal(e.state, STATE_JOURNAL_SENT);
	assert_string_equal(e.project_id, "p-1");
	assert_string_equal(e.resource_id, "p-1");
	assert_string_equal(e.operation_ids_json, "[\"op-1\",\"op-2\"]");
	assert_string_equal(e.request_id, "req-1");
	state_journal_entry_release(&e);
	/* sent again with NULLs keeps the project, clears the rest */
	assert_int_equal(state_journal_sent(fx->s, a, NULL, "br-1", NULL, NULL), 0);
	e = journal_get(fx->s, run, a);
	assert_string_equal(e.project_id, "p-1");
	assert_string_equal(e.resource_id, "br-1");
	assert_null(e.operation_ids_json);
	state_journal_entry_release(&e);

	assert_int_equal(state_journal_finish(fx->s, a, STATE_JOURNAL_DONE, NULL), 0);
	e = journal_get(fx->s, run, a);
	assert_string_equal(e.state, STATE_JOURNAL_DONE);
	assert_null(e.error);
	assert_true(e.updated_at >= e.created_at);
	state_journal_entry_release(&e);
	assert_int_equal(state_journal_backlog(fx->s, &n), 0);
	assert_int_equal(n, 0);
	/* an outcome is never rewritten */
	assert_int_equal(state_journal_finish(fx->s, a, STATE_JOURNAL_FAILED, "late"), ERR_CONFLICT);
	ut_assert_err_contains("already 'done'");
	assert_int_equal(state_journal_sent(fx->s, a, NULL, NULL, NULL, NULL), ERR_CONFLICT);

	/* intent -> unknown (response lost) -> resolved by a later run */
	assert_int_equal(state_journal_intent(fx->s, run, "acme", "p-1", "delete", "{\"method\":\"DELETE\"}", &b),
			 0);
	assert_int_equal(b, a + 1);
	assert_int_equal(state_journal_finish(fx->s, b, STATE_JOURNAL_UNKNOWN, "timeout after 30s"), 0);
	assert_int_equal(state_journal_sent(fx->s, b, NULL, NULL, NULL, NULL), ERR_CONFLICT);
	assert_int_equal(state_journal_backlog(fx->s, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(state_journal_finish(fx->s, b, STATE_JOURNAL_RESOLVED, "project gone: the delete ran"), 0);
	e = journal_get(fx->s, run, b);
	assert_string_equal(e.state, STATE_JOURNAL_RESOLVED);
	assert_string_equal(e.error, "project gone: the delete ran");
	assert_string_equal(e.project_id, "p-1");
	state_journal_entry_release(&e);
	assert_int_equal(state_journal_backlog(fx->s, &n), 0);
	assert_int_equal(n, 0);

	/* outside a run: run_id NULL, read back as 0; a made-up run is refused */
	assert_int_equal(state_journal_intent(fx->s, 0, NULL, "p-2", "POST /projects/p-2/branches", "{}", &b), 0);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM journal WHERE run_id IS NULL"), 1);
	assert_int_equal(state_journal_intent(fx->s, 9999, "x", NULL, "create", "{}", &b), ERR_CONFLICT);
	assert_int_equal(b, 0);
	assert_int_equal(state_journal_intent(fx->s, run, "x", NULL, "", "{}", &b), ERR_INVALID);
	assert_int_equal(state_journal_intent(fx->s, run, "x", NULL, "create", NULL, &b), ERR_INVALID);
}

static void test_journal_errors(void **st)
{
	fixture *fx = *st;
	int64_t id = 0;

	fx->s = open_ok(fx);
	assert_int_equal(state_journal_sent(fx->s, 77, "p", NULL, NULL, NULL), ERR_NOTFOUND);
	ut_assert_err_contains("77 does not exist");
	assert_int_equal(state_journal_finish(fx->s, 77, STATE_JOURNAL_DONE, NULL), ERR_NOTFOUND);
	assert_int_equal(state_journal_intent(fx->s, 0, "acme", NULL, "create", "{}", &id), 0);
	assert_int_equal(state_journal_finish(fx->s, id, "finished", NULL), ERR_INVALID);
	ut_assert_err_contains("'finished'");
	/* intent and sent are not ends */
	assert_int_equal(state_journal_finish(fx->s, id, STATE_JOURNAL_INTENT, NULL), ERR_INVALID);
	assert_int_equal(state_journal_finish(fx->s, id, STATE_JOURNAL_SENT, NULL), ERR_INVALID);
	assert_int_equal(state_journal_finish(fx->s, id, NULL, NULL), ERR_INVALID);
	/* none of that touched the row; the error path left no transaction open */
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM journal WHERE state = 'intent'"), 1);
	assert_int_equal(state_journal_finish(fx->s, id, STATE_JOURNAL_FAILED, "HTTP 422: bad name"), 0);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM journal WHERE state = 'failed' AND "
				  "error = 'HTTP 422: bad name'"), 1);
}

static void test_journal_unfinished(void **st)
{
	fixture *fx = *st;
	int64_t run1 = 0, run2 = 0, id[6], n = -1;
	jwalk w;

	fx->s = open_ok(fx);
	assert_int_equal(state_run_begin(fx->s, "apply", &run1), 0);
	assert_int_equal(state_run_begin(fx->s, "apply", &run2), 0);
	for (int i = 0; i < 6; i++)
		assert_int_equal(state_journal_intent(fx->s, i < 3 ? run1 : run2, "t", "p", "update", "{}", &id[i]),
				 0);
	/* 0 intent, 1 sent, 2 done, 3 unknown, 4 failed, 5 resolved (after unknown) */
	assert_int_equal(state_journal_sent(fx->s, id[1], NULL, "r", NULL, NULL), 0);
	assert_int_equal(state_journal_sent(fx->s, id[2], NULL, "r", NULL, NULL), 0);
	assert_int_equal(state_journal_finish(fx->s, id[2], STATE_JOURNAL_DONE, NULL), 0);
	assert_int_equal(state_journal_finish(fx->s, id[3], STATE_JOURNAL_UNKNOWN, "reset by peer"), 0);
	assert_int_equal(state_journal_finish(fx->s, id[4], STATE_JOURNAL_FAILED, "409"), 0);
	assert_int_equal(state_journal_finish(fx->s, id[5], STATE_JOURNAL_UNKNOWN, NULL), 0);
	assert_int_equal(state_journal_finish(fx->s, id[5], STATE_JOURNAL_RESOLVED, "it ran"), 0);

	memset(&w, 0, sizeof(w));
	assert_int_equal(state_journal_unfinished(fx->s, collect_entry, &w), 0);
	expect_seen(&w, "%lld:intent %lld:sent %lld:unknown", (long long)id[0], (long long)id[1], (long long)id[3]);
	assert_int_equal(state_journal_backlog(fx->s, &n), 0);
	assert_int_equal(n, 3);

	/* a run's rows, all states, oldest first */
	assert_int_equal(state_journal_run(fx->s, run2, collect_entry, &w), 0);
	expect_seen(&w, "%lld:unknown %lld:failed %lld:resolved", (long long)id[3], (long long)id[4],
		    (long long)id[5]);
	assert_int_equal(state_journal_run(fx->s, 12345, collect_entry, &w), 0);
	expect_seen(&w, "%s", "");

	/* a nonzero return stops the walk and comes back */
	w.stop_at = 2;
	assert_int_equal(state_journal_unfinished(fx->s, collect_entry, &w), 42);
	assert_int_equal(w.n, 2);

	/* the callback may resolve the rows it is handed (a recovery pass),
	 * even while another connection writes the file meanwhile */
	memset(&w, 0, sizeof(w));
	w.s = fx->s;
	w.other = open_ok(fx);
	int rc = state_journal_unfinished(fx->s, collect_entry, &w);
	if (rc != 0)
		fail_msg("walk: %d %s", rc, err_msg());
	state_close(w.other);
	assert_int_equal(w.n, 3);
	assert_int_equal(state_journal_backlog(fx->s, &n), 0);
	assert_int_equal(n, 0);
	memset(&w, 0, sizeof(w));
	assert_int_equal(state_journal_unfinished(fx->s, collect_entry, &w), 0);
	assert_int_equal(w.n, 0);
}

static void test_journal_prune(void **st)
{
	fixture *fx = *st;
	int64_t id[5], removed = -1;

	fx->s = open_ok(fx);
	for (int i = 0; i < 5; i++)
		assert_int_equal(state_journal_intent(fx->s, 0, "t", "p", "update", "{}", &id[i]), 0);
	assert_int_equal(state_journal_finish(fx->s, id[0], STATE_JOURNAL_DONE, NULL), 0);
	assert_int_equal(state_journal_finish(fx->s, id[1], STATE_JOURNAL_FAILED, "x"), 0);
	assert_int_equal(state_journal_finish(fx->s, id[2], STATE_JOURNAL_RESOLVED, "y"), 0);
	assert_int_equal(state_journal_finish(fx->s, id[3], STATE_JOURNAL_UNKNOWN, NULL), 0);
	/* id[4] stays intent */

	/* nothing is old yet */
	assert_int_equal(state_journal_prune(fx->s, 3600, &removed), 0);
	assert_int_equal(removed, 0);
	/* age every row by two hours, and make done one recent again */
	file_exec(fx->path, "UPDATE journal SET updated_at = updated_at - 7200, created_at = created_at - 7200");
	char *sql = xasprintf("UPDATE journal SET updated_at = updated_at + 7200 WHERE id = %lld", (long long)id[0]);
	file_exec(fx->path, sql);
	free(sql);
	/* old failed and resolved go; recent done and old unfinished rows stay */
	assert_int_equal(state_journal_prune(fx->s, 3600, &removed), 0);
	assert_int_equal(removed, 2);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM journal WHERE state IN ('done', 'unknown', "
				  "'intent')"), 3);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM journal"), 3);
	/* a negative older_than reaches what finished this very second */
	assert_int_equal(state_journal_prune(fx->s, -10, &removed), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM journal WHERE state IN ('unknown', 'intent')"),
			 2);
}

/* The journal has its thirteen columns and none named like a secret: a
 * password could only reach it inside intent_json or error, which the
 * executor fills from request bodies and messages that never carry one. */
/* state show's rows: a tenant's last n, oldest first. */
static void test_journal_tenant(void **st)
{
	fixture *fx = *st;
	jwalk w = {0};
	int64_t id[5];

	fx->s = open_ok(fx);
	for (int i = 0; i < 5; i++)
		assert_int_equal(state_journal_intent(fx->s, 0, i % 2 ? "bolt" : "acme", "p-1", "update", "{}", &id[i]), 0);
	assert_int_equal(state_journal_tenant(fx->s, "acme", 2, collect_entry, &w), 0);
	expect_seen(&w, "%lld:intent %lld:intent", (long long)id[2], (long long)id[4]);
	assert_int_equal(state_journal_tenant(fx->s, "acme", 10, collect_entry, &w), 0);
	expect_seen(&w, "%lld:intent %lld:intent %lld:intent", (long long)id[0], (long long)id[2], (long long)id[4]);
	assert_int_equal(state_journal_tenant(fx->s, "nobody", 10, collect_entry, &w), 0);
	expect_seen(&w, "%s", "");
	assert_int_equal(state_journal_tenant(fx->s, NULL, 10, collect_entry, &w), ERR_INVALID);
}

static void test_journal_no_secret_columns(void **st)
{
	fixture *fx = *st;
	static const char *const banned[] = { "password", "secret", "uri", "api_key", "token" };
	int columns = 0;
	char *list, *save = NULL;

	fx->s = open_ok(fx);
	list = columns_of(fx->path, "journal");
	for (char *col = strtok_r(list, ",", &save); col; col = strtok_r(NULL, ",", &save)) {
		for (size_t b = 0; b < ARRAY_LEN(banned); b++)
			if (strstr(col, banned[b]))
				fail_msg("column journal.%s could hold a secret", col);
		columns++;
	}
	free(list);
	assert_int_equal(columns, 13);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX(test_journal_life),
		FX(test_journal_errors),
		FX(test_journal_unfinished),
		FX(test_journal_prune),
		FX(test_journal_no_secret_columns),
		FX(test_journal_tenant),
	};
	return cmocka_run_group_tests_name("state-journal", tests, NULL, NULL);
}
