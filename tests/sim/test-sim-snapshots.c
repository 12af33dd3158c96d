/*
 * test-sim-snapshots.c: flotilla-sim's snapshots (docs/sim.md,
 * "Snapshots"), raw HTTP against the real binary: create, list, rename and
 * delete; the plan's limit; restore into a new branch with the snapshot's
 * data version, then finalize (names, computes, the default flag and the
 * backup schedule move) or finalize at once; the refusals of finalize;
 * snapshots a backup schedule makes as the sim clock runs fast; 404s and
 * 423s; and all of it kept by --data. Every answer, errors included, is
 * held against the Neon OpenAPI document, and the last test fails when one
 * of the six routes never answered a success that conformed. Skipped when
 * FLOTILLA_SIM is not set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/e2e.h"

#define T_SNAP "/projects/{project_id}/branches/{branch_id}/snapshot"
#define T_LIST "/projects/{project_id}/snapshots"
#define T_ONE "/projects/{project_id}/snapshots/{snapshot_id}"
#define T_RESTORE "/projects/{project_id}/snapshots/{snapshot_id}/restore"
#define T_FINAL "/projects/{project_id}/branches/{branch_id}/finalize_restore"
#define T_BRANCH "/projects/{project_id}/branches/{branch_id}"

static const char *const ROUTES[] = {
	"POST " T_SNAP, "GET " T_LIST, "PATCH " T_ONE, "DELETE " T_ONE, "POST " T_RESTORE, "POST " T_FINAL,
};
#define NROUTES ARRAY_LEN(ROUTES)

typedef struct fixture {
	oapi *api;
	sim_proc *sim;  /* the one api() talks to */
	bool checked[NROUTES];
	char project[64], main_branch[64], main_endpoint[64];
} fixture;

static const char *const FAST[] = {"--op-delay-ms", "20", "--rate-per-minute", "0", NULL};

/* ----------------------------------------------------------- helpers */

/*
 * One request to /api/v2 + the formatted path: the status must be `want`
 * and the body conform to what the document gives `tmpl` for it. A new
 * reference to the JSON body (NULL for none), for the caller to decref.
 */
static json_t *api(fixture *f, const char *method, const char *tmpl, long want, const char *body, const char *fmt,
		   ...) PRINTF(6, 7);
static json_t *api(fixture *f, const char *method, const char *tmpl, long want, const char *body, const char *fmt,
		   ...)
{
	sim_response r;
	va_list ap;
	char key[160];

	va_start(ap, fmt);
	e2e_vrequest(f->sim, method, want, body, &r, fmt, ap);
	va_end(ap);
	e2e_conforms(f->api, method, tmpl, &r);
	if (want >= 400)
		assert_true(strlen(e2e_need_str(r.json, "message")) > 0);
	snprintf(key, sizeof(key), "%s %s", method, tmpl);
	for (size_t i = 0; i < NROUTES && want < 300; i++)
		if (strcmp(ROUTES[i], key) == 0)
			f->checked[i] = true;
	json_t *out = r.json ? json_incref(r.json) : NULL;
	sim_response_release(&r);
	return out;
}

/* A project with its main branch and compute, its operations finished. */
static void new_project(fixture *f, const char *name)
{
	char body[128];
	snprintf(body, sizeof(body), "{\"project\": {\"name\": \"%s\"}}", name);
	json_t *o = e2e_json(f->sim, "POST", 201, body, "/projects");
	str_copy(f->project, e2e_need_str(o, "project.id"), sizeof(f->project));
	str_copy(f->main_branch, e2e_need_str(o, "branch.id"), sizeof(f->main_branch));
	str_copy(f->main_endpoint, e2e_need_str(o, "endpoints.0.id"), sizeof(f->main_endpoint));
	json_decref(o);
	e2e_wait_ops(f->sim, f->project);
}

/* A write to a branch's data: its new version. */
static json_int_t write_data(fixture *f, const char *branch)
{
	json_t *w = e2e_json(f->sim, "POST", 200, NULL, "/__sim/write?project=%s&branch=%s", f->project, branch);
	json_int_t v = e2e_need_int(w, "version");
	json_decref(w);
	return v;
}

static json_int_t data_version(fixture *f, const char *branch)
{
	json_t *w = e2e_json(f->sim, "GET", 200, NULL, "/__sim/data?project=%s&branch=%s", f->project, branch);
	json_int_t v = e2e_need_int(w, "version");
	json_decref(w);
	return v;
}

/* createSnapshot on `branch` with the query `query` ("" or "?name=x"),
 * its id into id; its operations waited for. */
static void snapshot(fixture *f, const char *branch, const char *query, char id[64])
{
	json_t *o = api(f, "POST", T_SNAP, 200, NULL, "/projects/%s/branches/%s/snapshot%s", f->project, branch, query);
	str_copy(id, e2e_need_str(o, "snapshot.id"), 64);
	assert_true(e2e_need_len(o, "operations") >= 1);
	assert_true(json_is_true(sim_json_get(o, "snapshot.manual")));
	json_decref(o);
	e2e_wait_ops(f->sim, f->project);
}

static json_t *snapshots(fixture *f)
{
	return api(f, "GET", T_LIST, 200, NULL, "/projects/%s/snapshots", f->project);
}

static json_t *branch(fixture *f, const char *id)
{
	return e2e_json(f->sim, "GET", 200, NULL, "/projects/%s/branches/%s", f->project, id);
}

static void restart(fixture *f, const char *const *args)
{
	e2e_stop(&f->sim);
	e2e_start(&f->sim, args);
}

/* ---------------------------------------------------------- fixture */

static int setup(void **state)
{
	fixture *f = xcalloc(1, sizeof(*f));
	if (e2e_setup_oapi(&f->api) < 0 || e2e_setup_sim(&f->sim, FAST) < 0) {
		oapi_free(f->api);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	int rc = e2e_teardown_sim(f->sim);
	oapi_free(f->api);
	free(f);
	return rc;
}

/* ------------------------------------------------------------ tests */

/* Create (now, at an LSN, with a name and an expiry), list newest first,
 * rename, delete; the 400s of bad input and the 404s. */
static void test_create_list_rename_delete(void **state)
{
	fixture *f = *state;
	char first[64], at_lsn[64], gone[64], q[128], lsn[32];

	e2e_reset(f->sim);
	new_project(f, "snaps");
	json_t *w = e2e_json(f->sim, "POST", 200, NULL, "/__sim/write?project=%s", f->project);
	str_copy(lsn, e2e_need_str(w, "lsn"), sizeof(lsn));
	json_decref(w);
	snapshot(f, f->main_branch, "?name=first", first);
	write_data(f, f->main_branch);
	snprintf(q, sizeof(q), "?lsn=%s&expires_at=2099-01-02T03:04:05Z", lsn);
	snapshot(f, f->main_branch, q, at_lsn);
	snapshot(f, f->main_branch, "", gone);

	json_t *l = snapshots(f);
	assert_int_equal(e2e_need_len(l, "snapshots"), 3);
	/* newest first: the last made leads */
	assert_string_equal(e2e_need_str(l, "snapshots.0.id"), gone);
	assert_string_equal(e2e_need_str(l, "snapshots.2.id"), first);
	assert_string_equal(e2e_need_str(l, "snapshots.2.name"), "first");
	assert_string_equal(e2e_need_str(l, "snapshots.2.source_branch_id"), f->main_branch);
	assert_string_equal(e2e_need_str(l, "snapshots.1.lsn"), lsn);
	assert_string_equal(e2e_need_str(l, "snapshots.1.expires_at"), "2099-01-02T03:04:05Z");
	assert_non_null(strstr(e2e_need_str(l, "snapshots.0.name"), "main@"));
	assert_true(e2e_need_time(l, "snapshots.0.created_at") >= e2e_need_time(l, "snapshots.1.created_at"));
	assert_true(e2e_need_int(l, "snapshots.0.full_size") > 0);
	json_decref(l);

	json_t *o = api(f, "PATCH", T_ONE, 200, "{\"snapshot\": {\"name\": \"renamed\"}}", "/projects/%s/snapshots/%s",
			f->project, first);
	assert_string_equal(e2e_need_str(o, "snapshot.name"), "renamed");
	json_decref(o);
	json_decref(api(f, "PATCH", T_ONE, 400, "{\"snapshot\": {\"name\": 7}}", "/projects/%s/snapshots/%s",
			f->project, first));
	json_decref(api(f, "PATCH", T_ONE, 400, "{}", "/projects/%s/snapshots/%s", f->project, first));
	o = api(f, "DELETE", T_ONE, 202, NULL, "/projects/%s/snapshots/%s", f->project, gone);
	assert_int_equal(e2e_need_len(o, "operations"), 1);
	json_decref(o);
	e2e_wait_ops(f->sim, f->project);
	json_decref(api(f, "DELETE", T_ONE, 404, NULL, "/projects/%s/snapshots/%s", f->project, gone));
	json_decref(api(f, "PATCH", T_ONE, 404, "{\"snapshot\": {\"name\": \"x\"}}", "/projects/%s/snapshots/%s",
			f->project, gone));
	l = snapshots(f);
	assert_int_equal(e2e_need_len(l, "snapshots"), 2);
	assert_string_equal(e2e_need_str(l, "snapshots.1.name"), "renamed");
	json_decref(l);

	/* bad input: 400; unknown project or branch: 404 */
	json_decref(api(f, "POST", T_SNAP, 400, NULL, "/projects/%s/branches/%s/snapshot?lsn=%s&timestamp=%s",
			f->project, f->main_branch, lsn, "2026-01-01T00:00:00Z"));
	json_decref(api(f, "POST", T_SNAP, 400, NULL, "/projects/%s/branches/%s/snapshot?lsn=nope", f->project,
			f->main_branch));
	json_decref(api(f, "POST", T_SNAP, 400, NULL, "/projects/%s/branches/%s/snapshot?timestamp=2001-01-01T00:00:00Z",
			f->project, f->main_branch));
	json_decref(api(f, "POST", T_SNAP, 400, NULL, "/projects/%s/branches/%s/snapshot?expires_at=2001-01-01T00:00:00Z",
			f->project, f->main_branch));
	json_decref(api(f, "POST", T_SNAP, 404, NULL, "/projects/%s/branches/br-no-such-branch/snapshot", f->project));
	json_decref(api(f, "POST", T_SNAP, 404, NULL, "/projects/no-such-project-1/branches/%s/snapshot",
			f->main_branch));
	json_decref(api(f, "GET", T_LIST, 404, NULL, "/projects/no-such-project-1/snapshots"));
	json_decref(api(f, "POST", T_RESTORE, 404, "{}", "/projects/%s/snapshots/snap-no-such-one/restore",
			f->project));
	json_decref(api(f, "POST", T_FINAL, 404, "{}", "/projects/%s/branches/br-no-such-branch/finalize_restore",
			f->project));
}

/* 10 snapshots a project without --plan (and on paid plans), 1 on free:
 * one more is 422 SNAPSHOTS_LIMIT_EXCEEDED. */
static void test_limit(void **state)
{
	static const char *const free_args[] = {"--op-delay-ms", "20", "--rate-per-minute", "0", "--plan", "free",
						NULL};
	fixture *f = *state;
	char id[64];

	e2e_reset(f->sim);
	new_project(f, "limit");
	for (int i = 0; i < 10; i++)
		snapshot(f, f->main_branch, "", id);
	json_t *o = api(f, "POST", T_SNAP, 422, NULL, "/projects/%s/branches/%s/snapshot", f->project, f->main_branch);
	assert_string_equal(e2e_need_str(o, "code"), "SNAPSHOTS_LIMIT_EXCEEDED");
	json_decref(o);
	/* a deleted one makes room */
	json_decref(api(f, "DELETE", T_ONE, 202, NULL, "/projects/%s/snapshots/%s", f->project, id));
	e2e_wait_ops(f->sim, f->project);
	snapshot(f, f->main_branch, "", id);

	restart(f, free_args);
	new_project(f, "free");
	snapshot(f, f->main_branch, "", id);
	o = api(f, "POST", T_SNAP, 422, NULL, "/projects/%s/branches/%s/snapshot", f->project, f->main_branch);
	assert_string_equal(e2e_need_str(o, "message"), "snapshots limit of 1 exceeded");
	json_decref(o);
	restart(f, FAST);
}

/* Restore with finalize_restore false: a new root branch with the
 * snapshot's data, no computes; main unchanged. Then finalize: main's
 * compute, name, default flag and backup schedule move to it, main is
 * renamed main_old_<time> and can be deleted; a second finalize is 400. */
static void test_restore_then_finalize(void **state)
{
	fixture *f = *state;
	char snap[64], rid[64], body[256];

	e2e_reset(f->sim);
	new_project(f, "restore");
	json_int_t v1 = write_data(f, f->main_branch);
	snapshot(f, f->main_branch, "", snap);
	json_int_t v2 = write_data(f, f->main_branch);
	assert_int_equal(v2, v1 + 1);
	json_decref(e2e_json(f->sim, "PUT", 200, "{\"schedule\": [{\"frequency\": \"daily\", \"hour\": 2}]}",
			     "/projects/%s/branches/%s/backup_schedule", f->project, f->main_branch));

	json_t *o = api(f, "POST", T_RESTORE, 200, "{\"name\": \"preview\"}", "/projects/%s/snapshots/%s/restore",
			f->project, snap);
	str_copy(rid, e2e_need_str(o, "branch.id"), sizeof(rid));
	assert_string_equal(e2e_need_str(o, "branch.name"), "preview");
	assert_string_equal(e2e_need_str(o, "branch.restore_status"), "restored");
	assert_string_equal(e2e_need_str(o, "branch.restored_from"), snap);
	assert_string_equal(e2e_need_str(o, "branch.restored_as"), f->main_branch);
	assert_null(sim_json_get(o, "branch.parent_id"));
	assert_false(json_is_true(sim_json_get(o, "branch.default")));
	assert_int_equal(e2e_need_len(o, "endpoints"), 0);
	assert_string_equal(e2e_need_str(o, "operations.0.action"), "create_branch");
	json_decref(o);
	e2e_wait_ops(f->sim, f->project);
	assert_int_equal(data_version(f, rid), v1);
	assert_int_equal(data_version(f, f->main_branch), v2);
	json_decref(api(f, "POST", T_RESTORE, 409, "{\"name\": \"preview\"}", "/projects/%s/snapshots/%s/restore",
			f->project, snap));
	json_decref(api(f, "POST", T_RESTORE, 404, "{\"target_branch_id\": \"br-no-such-branch\"}",
			"/projects/%s/snapshots/%s/restore", f->project, snap));
	json_decref(api(f, "POST", T_RESTORE, 400, "{\"finalize_restore\": \"yes\"}",
			"/projects/%s/snapshots/%s/restore", f->project, snap));
	/* only a restored branch can be finalized */
	json_decref(api(f, "POST", T_FINAL, 400, "{}", "/projects/%s/branches/%s/finalize_restore", f->project,
			f->main_branch));

	o = api(f, "POST", T_FINAL, 200, "{}", "/projects/%s/branches/%s/finalize_restore", f->project, rid);
	assert_int_equal(e2e_need_len(o, "operations"), 2);
	assert_string_equal(e2e_need_str(o, "operations.0.action"), "suspend_compute");
	assert_string_equal(e2e_need_str(o, "operations.1.action"), "start_compute");
	assert_string_equal(e2e_need_str(o, "operations.1.endpoint_id"), f->main_endpoint);
	json_decref(o);
	e2e_wait_ops(f->sim, f->project);
	o = branch(f, rid);
	assert_string_equal(e2e_need_str(o, "branch.name"), "main");
	assert_true(json_is_true(sim_json_get(o, "branch.default")));
	assert_string_equal(e2e_need_str(o, "branch.restore_status"), "finalized");
	json_decref(o);
	o = branch(f, f->main_branch);
	assert_true(strncmp(e2e_need_str(o, "branch.name"), "main_old_", 9) == 0);
	assert_false(json_is_true(sim_json_get(o, "branch.default")));
	json_decref(o);
	o = e2e_json(f->sim, "GET", 200, NULL, "/projects/%s/endpoints/%s", f->project, f->main_endpoint);
	assert_string_equal(e2e_need_str(o, "endpoint.branch_id"), rid);
	json_decref(o);
	o = e2e_json(f->sim, "GET", 200, NULL, "/projects/%s/branches/%s/backup_schedule", f->project, rid);
	assert_int_equal(e2e_need_len(o, "schedule"), 1);
	json_decref(o);
	o = e2e_json(f->sim, "GET", 200, NULL, "/projects/%s/branches/%s/backup_schedule", f->project, f->main_branch);
	assert_int_equal(e2e_need_len(o, "schedule"), 0);
	json_decref(o);
	json_decref(api(f, "POST", T_FINAL, 400, "{}", "/projects/%s/branches/%s/finalize_restore", f->project, rid));

	/* the replaced branch is no one's parent: it can go */
	json_decref(e2e_json(f->sim, "DELETE", 200, NULL, "/projects/%s/branches/%s", f->project, f->main_branch));
	e2e_wait_ops(f->sim, f->project);
	/* its snapshots stay; restoring one now needs a target */
	json_decref(api(f, "POST", T_RESTORE, 400, "{}", "/projects/%s/snapshots/%s/restore", f->project, snap));
	snprintf(body, sizeof(body), "{\"target_branch_id\": \"%s\", \"name\": \"again\"}", rid);
	o = api(f, "POST", T_RESTORE, 200, body, "/projects/%s/snapshots/%s/restore", f->project, snap);
	str_copy(snap, e2e_need_str(o, "branch.id"), sizeof(snap));
	json_decref(o);
	e2e_wait_ops(f->sim, f->project);
	/* finalize with a name for the replaced branch; one taken is 409 */
	json_decref(api(f, "POST", T_FINAL, 409, "{\"name\": \"main\"}", "/projects/%s/branches/%s/finalize_restore",
			f->project, snap));
	json_decref(api(f, "POST", T_FINAL, 200, "{\"name\": \"before-again\"}",
			"/projects/%s/branches/%s/finalize_restore", f->project, snap));
	e2e_wait_ops(f->sim, f->project);
	o = branch(f, rid);
	assert_string_equal(e2e_need_str(o, "branch.name"), "before-again");
	json_decref(o);
	o = branch(f, snap);
	assert_string_equal(e2e_need_str(o, "branch.name"), "main");
	assert_true(json_is_true(sim_json_get(o, "branch.default")));
	json_decref(o);
}

/* finalize_restore true: the new branch replaces the target at once. */
static void test_restore_finalized_at_once(void **state)
{
	fixture *f = *state;
	char snap[64], rid[64];

	e2e_reset(f->sim);
	new_project(f, "at-once");
	json_int_t v1 = write_data(f, f->main_branch);
	snapshot(f, f->main_branch, "?name=before", snap);
	write_data(f, f->main_branch);
	write_data(f, f->main_branch);
	json_t *o = api(f, "POST", T_RESTORE, 200, "{\"finalize_restore\": true}", "/projects/%s/snapshots/%s/restore",
			f->project, snap);
	str_copy(rid, e2e_need_str(o, "branch.id"), sizeof(rid));
	assert_string_equal(e2e_need_str(o, "branch.name"), "main");
	assert_string_equal(e2e_need_str(o, "branch.restore_status"), "finalized");
	assert_true(json_is_true(sim_json_get(o, "branch.default")));
	assert_int_equal(e2e_need_len(o, "endpoints"), 1);
	assert_string_equal(e2e_need_str(o, "endpoints.0.id"), f->main_endpoint);
	assert_string_equal(e2e_need_str(o, "endpoints.0.branch_id"), rid);
	assert_int_equal(e2e_need_len(o, "operations"), 3);
	json_decref(o);
	e2e_wait_ops(f->sim, f->project);
	assert_int_equal(data_version(f, "main"), v1);
	o = branch(f, f->main_branch);
	assert_true(strncmp(e2e_need_str(o, "branch.name"), "main_old_", 9) == 0);
	json_decref(o);
	json_decref(api(f, "POST", T_FINAL, 400, "{}", "/projects/%s/branches/%s/finalize_restore", f->project, rid));
}

/* While a project's operations run, every snapshot mutation is 423 (the
 * list still answers). */
static void test_locked(void **state)
{
	static const char *const slow[] = {"--op-delay-ms", "1500", "--rate-per-minute", "0", NULL};
	fixture *f = *state;
	char snap[64];

	restart(f, slow);
	new_project(f, "locked");
	snapshot(f, f->main_branch, "", snap);
	json_t *o = api(f, "POST", T_SNAP, 200, NULL, "/projects/%s/branches/%s/snapshot", f->project, f->main_branch);
	json_decref(o);
	json_decref(api(f, "POST", T_SNAP, 423, NULL, "/projects/%s/branches/%s/snapshot", f->project, f->main_branch));
	json_decref(api(f, "PATCH", T_ONE, 423, "{\"snapshot\": {\"name\": \"x\"}}", "/projects/%s/snapshots/%s",
			f->project, snap));
	json_decref(api(f, "DELETE", T_ONE, 423, NULL, "/projects/%s/snapshots/%s", f->project, snap));
	json_decref(api(f, "POST", T_RESTORE, 423, "{}", "/projects/%s/snapshots/%s/restore", f->project, snap));
	json_decref(api(f, "POST", T_FINAL, 423, "{}", "/projects/%s/branches/%s/finalize_restore", f->project,
			f->main_branch));
	json_decref(snapshots(f));
	restart(f, FAST);
}

/* A backup schedule makes snapshots (manual false) at its times on the
 * sim clock, expiring after retention_seconds; past the limit of 10 the
 * oldest scheduled ones go, and a manual one is then refused. */
static void test_scheduled(void **state)
{
	/* ten sim hours a real second */
	static const char *const fast_clock[] = {"--op-delay-ms", "20", "--rate-per-minute", "0", "--time-scale",
						 "36000", NULL};
	fixture *f = *state;

	restart(f, fast_clock);
	new_project(f, "scheduled");
	json_decref(e2e_json(f->sim, "PUT", 200,
			     "{\"schedule\": [{\"frequency\": \"daily\", \"hour\": 3, \"retention_seconds\": 172800}]}",
			     "/projects/%s/branches/%s/backup_schedule", f->project, f->main_branch));
	sim_sleep_ms(2600); /* 26 sim hours: one 03:00 at least */
	json_t *l = snapshots(f);
	size_t n = e2e_need_len(l, "snapshots");
	assert_true(n >= 1 && n <= 2);
	char key[64];
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(json_object_get(l, "snapshots"), i);
		assert_false(json_is_true(json_object_get(s, "manual")));
		assert_non_null(strstr(e2e_need_str(s, "created_at"), "T03:00:00Z"));
		assert_int_equal(e2e_need_time(s, "expires_at") - e2e_need_time(s, "created_at"), 172800);
		assert_string_equal(e2e_need_str(s, "source_branch_id"), f->main_branch);
	}
	json_decref(l);

	/* hourly, kept an hour: 15 sim hours make more than 10, and the oldest
	 * go (the daily ones first, then the older hourly ones) */
	json_decref(e2e_json(f->sim, "PUT", 200,
			     "{\"schedule\": [{\"frequency\": \"hourly\", \"retention_seconds\": 36000}]}",
			     "/projects/%s/branches/%s/backup_schedule", f->project, f->main_branch));
	sim_sleep_ms(1500);
	l = snapshots(f);
	assert_int_equal(e2e_need_len(l, "snapshots"), 10);
	int64_t prev = INT64_MAX;
	for (size_t i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "snapshots.%zu.created_at", i);
		int64_t t = e2e_need_time(l, key);
		assert_true(t < prev);
		assert_int_equal(t % 3600, 0);
		prev = t;
	}
	json_decref(l);
	json_t *o = api(f, "POST", T_SNAP, 422, NULL, "/projects/%s/branches/%s/snapshot", f->project, f->main_branch);
	json_decref(o);

	/* with no schedule, they expire: 10 sim hours after the last one */
	json_decref(e2e_json(f->sim, "PUT", 200, "{\"schedule\": []}", "/projects/%s/branches/%s/backup_schedule",
			     f->project, f->main_branch));
	sim_sleep_ms(1200);
	l = snapshots(f);
	assert_int_equal(e2e_need_len(l, "snapshots"), 0);
	json_decref(l);
	restart(f, FAST);
}

/* Snapshots and a restored branch's state are kept by --data. */
static void test_persisted(void **state)
{
	fixture *f = *state;
	char *dir = NULL, path[512], snap[64], rid[64];

	assert_int_equal(sim_dir_new(&dir), 0);
	snprintf(path, sizeof(path), "%s/sim.db", dir);
	const char *const args[] = {"--op-delay-ms", "20", "--rate-per-minute", "0", "--data", path, NULL};
	restart(f, args);
	new_project(f, "kept");
	json_int_t v1 = write_data(f, f->main_branch);
	snapshot(f, f->main_branch, "?name=kept", snap);
	json_t *o = api(f, "POST", T_RESTORE, 200, NULL, "/projects/%s/snapshots/%s/restore", f->project, snap);
	str_copy(rid, e2e_need_str(o, "branch.id"), sizeof(rid));
	assert_string_equal(e2e_need_str(o, "branch.name"), rid);
	json_decref(o);
	e2e_wait_ops(f->sim, f->project);
	restart(f, args);
	json_t *l = snapshots(f);
	assert_int_equal(e2e_need_len(l, "snapshots"), 1);
	assert_string_equal(e2e_need_str(l, "snapshots.0.id"), snap);
	assert_string_equal(e2e_need_str(l, "snapshots.0.name"), "kept");
	json_decref(l);
	o = branch(f, rid);
	assert_string_equal(e2e_need_str(o, "branch.restore_status"), "restored");
	json_decref(o);
	assert_int_equal(data_version(f, rid), v1);
	json_decref(api(f, "POST", T_FINAL, 200, NULL, "/projects/%s/branches/%s/finalize_restore", f->project, rid));
	restart(f, FAST);
	sim_dir_remove(dir);
}

static void test_every_route_checked(void **state)
{
	fixture *f = *state;
	for (size_t i = 0; i < NROUTES; i++)
		if (!f->checked[i])
			fail_msg("'%s' never answered a success that conformed", ROUTES[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_list_rename_delete),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_restore_then_finalize),
		cmocka_unit_test(test_restore_finalized_at_once),
		cmocka_unit_test(test_locked),
		cmocka_unit_test(test_scheduled),
		cmocka_unit_test(test_persisted),
		cmocka_unit_test(test_every_route_checked),
	};

	if (e2e_skip_without_sim())
		return 0;
	return cmocka_run_group_tests_name("sim-snapshots", tests, setup, teardown);
}
