/*
 * test-sim-conformance.c: every Neon route flotilla-sim implements (the
 * route table of docs/sim.md) is called for real, and each answer is held
 * against the Neon OpenAPI document: success bodies against the route's
 * own response schema, error bodies (400, 401, 404, 405, 409, 413, 422,
 * 423, 429) against the GeneralError the document gives as `default`. A
 * table of the 39 routes records which ones answered a success that
 * conformed; the last test fails when any was never reached, so a route
 * cannot drop out of the check unnoticed. One more test proves the check
 * itself can fail: a real Project with a required member removed must be
 * reported. Skipped when FLOTILLA_SIM is not set.
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

/* docs/sim.md, "Neon API routes": every one must be checked. */
static const char *const ROUTES[] = {
	"GET /projects",
	"POST /projects",
	"GET /projects/shared",
	"GET /projects/{project_id}",
	"PATCH /projects/{project_id}",
	"DELETE /projects/{project_id}",
	"POST /projects/{project_id}/recover",
	"GET /projects/{project_id}/connection_uri",
	"GET /projects/{project_id}/branches",
	"POST /projects/{project_id}/branches",
	"GET /projects/{project_id}/branches/{branch_id}",
	"PATCH /projects/{project_id}/branches/{branch_id}",
	"DELETE /projects/{project_id}/branches/{branch_id}",
	"POST /projects/{project_id}/branches/{branch_id}/restore",
	"GET /projects/{project_id}/branches/{branch_id}/endpoints",
	"GET /projects/{project_id}/endpoints",
	"POST /projects/{project_id}/endpoints",
	"GET /projects/{project_id}/endpoints/{endpoint_id}",
	"PATCH /projects/{project_id}/endpoints/{endpoint_id}",
	"DELETE /projects/{project_id}/endpoints/{endpoint_id}",
	"POST /projects/{project_id}/endpoints/{endpoint_id}/start",
	"POST /projects/{project_id}/endpoints/{endpoint_id}/suspend",
	"POST /projects/{project_id}/endpoints/{endpoint_id}/restart",
	"GET /projects/{project_id}/branches/{branch_id}/databases",
	"POST /projects/{project_id}/branches/{branch_id}/databases",
	"GET /projects/{project_id}/branches/{branch_id}/databases/{database_name}",
	"PATCH /projects/{project_id}/branches/{branch_id}/databases/{database_name}",
	"DELETE /projects/{project_id}/branches/{branch_id}/databases/{database_name}",
	"GET /projects/{project_id}/branches/{branch_id}/roles",
	"POST /projects/{project_id}/branches/{branch_id}/roles",
	"GET /projects/{project_id}/branches/{branch_id}/roles/{role_name}",
	"DELETE /projects/{project_id}/branches/{branch_id}/roles/{role_name}",
	"GET /projects/{project_id}/branches/{branch_id}/roles/{role_name}/reveal_password",
	"POST /projects/{project_id}/branches/{branch_id}/roles/{role_name}/reset_password",
	"GET /projects/{project_id}/operations",
	"GET /projects/{project_id}/operations/{operation_id}",
	"GET /regions",
	"GET /users/me",
	"GET /consumption_history/projects",
	"GET /consumption_history/v2/projects",
	"GET /projects/{project_id}/branches/{branch_id}/backup_schedule",
	"PUT /projects/{project_id}/branches/{branch_id}/backup_schedule",
};
#define NROUTES ARRAY_LEN(ROUTES)

/* Route templates, as the document spells them. */
#define T_P "/projects/{project_id}"
#define T_BS "/projects/{project_id}/branches"
#define T_B "/projects/{project_id}/branches/{branch_id}"
#define T_ES "/projects/{project_id}/endpoints"
#define T_E "/projects/{project_id}/endpoints/{endpoint_id}"
#define T_RS "/projects/{project_id}/branches/{branch_id}/roles"
#define T_R "/projects/{project_id}/branches/{branch_id}/roles/{role_name}"
#define T_DS "/projects/{project_id}/branches/{branch_id}/databases"
#define T_D "/projects/{project_id}/branches/{branch_id}/databases/{database_name}"
#define T_OS "/projects/{project_id}/operations"
#define T_C "/consumption_history/projects"
#define T_C2 "/consumption_history/v2/projects"
#define SIM_ORG "org-flotilla-sim-00000001"
#define V2_METRICS "compute_unit_seconds,root_branch_bytes_month,public_network_transfer_bytes"

typedef struct fixture {
	oapi *api;
	sim_proc *sim;          /* the sim of most tests */
	sim_proc *other;        /* one with other flags, freed by teardown */
	sim_proc *cur;          /* the one call() talks to */
	bool checked[NROUTES];  /* a success answer of the route conformed */
	int errors_checked;     /* error answers that conformed */
	char project[64];       /* made by test_projects, used by the rest */
	char main_branch[64];
	char main_endpoint[64];
} fixture;

/* ----------------------------------------------------------- helpers */

static int route_index(const char *method, const char *tmpl)
{
	char key[160];

	snprintf(key, sizeof(key), "%s %s", method, tmpl);
	for (size_t i = 0; i < NROUTES; i++)
		if (strcmp(ROUTES[i], key) == 0)
			return (int)i;
	return -1;
}

/* An error body must be a GeneralError whose request_id is the header's. */
static void conform_error(fixture *f, const char *method, const char *tmpl, const sim_response *r)
{
	e2e_conforms(f->api, method, tmpl, r);
	assert_non_null(json_object_get(r->json, "code"));
	assert_true(strlen(e2e_need_str(r->json, "message")) > 0);
	assert_string_equal(e2e_need_str(r->json, "request_id"), r->request_id);
	f->errors_checked++;
}

/*
 * One request to /api/v2 + the formatted path; the status must be `want`
 * and the body must conform to `tmpl`'s schema for it. *r is the answer,
 * released by the caller.
 */
static void vcall(fixture *f, const char *method, const char *tmpl, long want,
	const char *body, sim_response *r, const char *fmt, va_list ap) PRINTF(7, 0);
static void vcall(fixture *f, const char *method, const char *tmpl, long want,
	const char *body, sim_response *r, const char *fmt, va_list ap)
{
	int i = route_index(method, tmpl);

	e2e_vrequest(f->cur, method, want, body, r, fmt, ap);
	if (want >= 400)
		conform_error(f, method, tmpl, r);
	else
		e2e_conforms(f->api, method, tmpl, r);
	if (want < 300) {
		if (i < 0)
			fail_msg("'%s %s' is not in the route table", method, tmpl);
		f->checked[i] = true;
	}
}

/* vcall with the path printf makes of fmt and what follows it. */
static void call(fixture *f, const char *method, const char *tmpl, long want,
	const char *body, sim_response *r, const char *fmt, ...) PRINTF(7, 8);
static void call(fixture *f, const char *method, const char *tmpl, long want,
	const char *body, sim_response *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vcall(f, method, tmpl, want, body, r, fmt, ap);
	va_end(ap);
}

/* The same, releasing the answer. */
static void check(fixture *f, const char *method, const char *tmpl, long want,
	const char *body, const char *fmt, ...) PRINTF(6, 7);
static void check(fixture *f, const char *method, const char *tmpl, long want,
	const char *body, const char *fmt, ...)
{
	va_list ap;
	sim_response r;

	va_start(ap, fmt);
	vcall(f, method, tmpl, want, body, &r, fmt, ap);
	va_end(ap);
	sim_response_release(&r);
}

/* ---------------------------------------------------------- fixture */

static int setup(void **state)
{
	static const char *const args[] = { "--op-delay-ms", "20", "--rate-per-minute", "0", NULL };
	fixture *f = xcalloc(1, sizeof(*f));

	if (e2e_setup_oapi(&f->api) < 0 || e2e_setup_sim(&f->sim, args) < 0) {
		oapi_free(f->api);
		free(f);
		return -1;
	}
	f->cur = f->sim;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	int rc;

	/* the sim must still be alive and stop cleanly after all of it */
	rc = e2e_teardown_sim(f->sim);
	sim_free(f->other);
	oapi_free(f->api);
	free(f);
	return rc;
}

/* ------------------------------------------------------------ tests */

static void test_projects(void **state)
{
	fixture *f = *state;
	sim_response r;
	char other[64];

	call(f, "POST", "/projects", 201,
		"{\"project\": {\"name\": \"conf\", \"region_id\": \"aws-us-east-2\", \"pg_version\": 17,"
		" \"branch\": {\"name\": \"main\", \"annotations\": {\"owner\": \"e2e\"}},"
		" \"default_endpoint_settings\": {\"autoscaling_limit_min_cu\": 0.25,"
		"   \"autoscaling_limit_max_cu\": 1, \"suspend_timeout_seconds\": 300},"
		" \"settings\": {\"quota\": {\"active_time_seconds\": 3600}}}}", &r, "/projects");
	str_copy(f->project, e2e_need_str(r.json, "project.id"), sizeof(f->project));
	str_copy(f->main_branch, e2e_need_str(r.json, "branch.id"), sizeof(f->main_branch));
	str_copy(f->main_endpoint, e2e_need_str(r.json, "endpoints.0.id"), sizeof(f->main_endpoint));
	assert_int_equal(json_array_size(sim_json_get(r.json, "operations")), 2);
	sim_response_release(&r);
	e2e_wait_ops(f->sim, f->project);

	check(f, "GET", "/projects", 200, NULL, "/projects");
	check(f, "GET", "/projects", 200, NULL, "/projects?limit=1&search=conf");
	check(f, "GET", "/projects", 400, NULL, "/projects?limit=0");
	check(f, "GET", "/projects/shared", 200, NULL, "/projects/shared");
	check(f, "GET", T_P, 200, NULL, "/projects/%s", f->project);
	check(f, "GET", T_P, 404, NULL, "/projects/no-such-project-1");
	check(f, "PATCH", T_P, 200, "{\"project\": {\"name\": \"conf-renamed\","
		" \"history_retention_seconds\": 7200}}", "/projects/%s", f->project);
	check(f, "PATCH", T_P, 404, "{\"project\": {\"name\": \"x\"}}", "/projects/no-such-project-1");
	e2e_wait_ops(f->sim, f->project);
	check(f, "PATCH", T_P, 400, "{\"project\": {\"history_retention_seconds\": -1}}",
		"/projects/%s", f->project);
	check(f, "GET", "/projects/{project_id}/connection_uri", 200, NULL,
		"/projects/%s/connection_uri?database_name=neondb&role_name=neondb_owner", f->project);
	check(f, "GET", "/projects/{project_id}/connection_uri", 200, NULL,
		"/projects/%s/connection_uri?database_name=neondb&role_name=neondb_owner&pooled=true"
		"&branch_id=%s", f->project, f->main_branch);
	check(f, "GET", "/projects/{project_id}/connection_uri", 400, NULL,
		"/projects/%s/connection_uri", f->project);
	check(f, "GET", "/projects/{project_id}/connection_uri", 404, NULL,
		"/projects/no-such-project-1/connection_uri?database_name=neondb&role_name=neondb_owner");
	check(f, "POST", "/projects", 400, "{\"project\": {\"pg_version\": 13}}", "/projects");
	check(f, "POST", "/projects", 400, "{\"project\": {\"region_id\": \"aws-moon-1\"}}",
		"/projects");
	check(f, "POST", "/projects", 400, "not json", "/projects");

	/* delete and recover a second project */
	call(f, "POST", "/projects", 201, "{\"project\": {\"name\": \"conf-deleted\"}}", &r,
		"/projects");
	str_copy(other, e2e_need_str(r.json, "project.id"), sizeof(other));
	sim_response_release(&r);
	e2e_wait_ops(f->sim, other);
	check(f, "DELETE", T_P, 200, NULL, "/projects/%s", other);
	check(f, "DELETE", T_P, 404, NULL, "/projects/%s", other);
	check(f, "GET", "/projects", 200, NULL, "/projects?recoverable=true");
	check(f, "POST", "/projects/{project_id}/recover", 200, NULL, "/projects/%s/recover", other);
	check(f, "POST", "/projects/{project_id}/recover", 404, NULL,
		"/projects/no-such-project-1/recover");

	/* 401, for a read and a write */
	sim_set_key(f->sim, NULL);
	check(f, "GET", "/projects", 401, NULL, "/projects");
	sim_set_key(f->sim, "not-the-key");
	check(f, "POST", "/projects", 401, "{\"project\": {}}", "/projects");
	sim_set_key(f->sim, SIM_DEFAULT_KEY);
}


static void test_branches(void **state)
{
	fixture *f = *state;
	sim_response r;
	char br[64], body[256];

	assert_true(f->project[0] != 0);
	call(f, "POST", T_BS, 201, "{\"branch\": {\"name\": \"conf-dev\"},"
		" \"endpoints\": [{\"type\": \"read_write\"}]}", &r, "/projects/%s/branches", f->project);
	str_copy(br, e2e_need_str(r.json, "branch.id"), sizeof(br));
	assert_int_equal(json_array_size(sim_json_get(r.json, "endpoints")), 1);
	sim_response_release(&r);
	e2e_wait_ops(f->sim, f->project);
	check(f, "POST", T_BS, 409, "{\"branch\": {\"name\": \"conf-dev\"}}",
		"/projects/%s/branches", f->project);
	check(f, "POST", T_BS, 404, "{\"branch\": {\"name\": \"x\"}}", "/projects/no-such-project-1/branches");
	check(f, "POST", T_BS, 400, "{\"branch\": {\"name\": \"x\", \"parent_lsn\": \"not-an-lsn\"}}",
		"/projects/%s/branches", f->project);
	check(f, "GET", T_BS, 200, NULL, "/projects/%s/branches", f->project);
	check(f, "GET", T_BS, 200, NULL, "/projects/%s/branches?search=conf&sort_by=name&sort_order=asc"
		"&limit=1", f->project);
	check(f, "GET", T_B, 200, NULL, "/projects/%s/branches/%s", f->project, br);
	check(f, "GET", T_B, 404, NULL, "/projects/%s/branches/br-no-such-branch", f->project);
	check(f, "PATCH", T_B, 200, "{\"branch\": {\"name\": \"conf-dev2\", \"protected\": false}}",
		"/projects/%s/branches/%s", f->project, br);
	e2e_wait_ops(f->sim, f->project);
	check(f, "PATCH", T_B, 404, "{\"branch\": {\"name\": \"x\"}}",
		"/projects/%s/branches/br-no-such-branch", f->project);
	check(f, "GET", T_B "/endpoints", 200, NULL, "/projects/%s/branches/%s/endpoints", f->project, br);
	check(f, "GET", T_B "/endpoints", 404, NULL, "/projects/%s/branches/br-no-such-branch/endpoints",
		f->project);
	snprintf(body, sizeof(body), "{\"source_branch_id\": \"%s\"}", f->main_branch);
	check(f, "POST", T_B "/restore", 200, body, "/projects/%s/branches/%s/restore", f->project, br);
	e2e_wait_ops(f->sim, f->project);
	check(f, "POST", T_B "/restore", 400, "{}", "/projects/%s/branches/%s/restore", f->project, br);
	check(f, "DELETE", T_B, 400, NULL, "/projects/%s/branches/%s", f->project, f->main_branch);
	check(f, "DELETE", T_B, 200, NULL, "/projects/%s/branches/%s", f->project, br);
	e2e_wait_ops(f->sim, f->project);
	check(f, "DELETE", T_B, 204, NULL, "/projects/%s/branches/%s", f->project, br);
}

/* A restore from the branch's own history, by LSN, with a preserved copy
 * (the BranchOperations answer), and what it did to the data versions the
 * control plane writes and reads; expires_at kept by PATCH. */
static void test_restore_data(void **state)
{
	fixture *f = *state;
	sim_response r;
	char lsn[32], body[512], keep[64];

	assert_true(f->project[0] != 0);
	e2e_wait_ops(f->sim, f->project);
	json_t *w = e2e_json(f->sim, "POST", 200, NULL, "/__sim/write?project=%s", f->project);
	json_int_t v1 = e2e_need_int(w, "version");
	str_copy(lsn, e2e_need_str(w, "lsn"), sizeof(lsn));
	json_decref(w);
	json_decref(e2e_json(f->sim, "POST", 200, NULL, "/__sim/write?project=%s&branch=%s", f->project,
			     f->main_branch));
	snprintf(body, sizeof(body), "{\"source_branch_id\": \"%s\", \"source_lsn\": \"%s\", "
		 "\"preserve_under_name\": \"conf-preserved\"}", f->main_branch, lsn);
	call(f, "POST", T_B "/restore", 200, body, &r, "/projects/%s/branches/%s/restore", f->project,
	     f->main_branch);
	assert_string_equal(e2e_need_str(r.json, "branch.id"), f->main_branch);
	assert_true(e2e_need_len(r.json, "operations") >= 2);
	sim_response_release(&r);
	/* a mutation while the restore's operations run: 423 */
	check(f, "POST", T_B "/restore", 423, body, "/projects/%s/branches/%s/restore", f->project, f->main_branch);
	e2e_wait_ops(f->sim, f->project);
	check(f, "POST", T_B "/restore", 409, body, "/projects/%s/branches/%s/restore", f->project, f->main_branch);
	w = e2e_json(f->sim, "GET", 200, NULL, "/__sim/data?project=%s", f->project);
	assert_int_equal(e2e_need_int(w, "version"), v1);
	json_decref(w);
	w = e2e_json(f->sim, "GET", 200, NULL, "/__sim/data?project=%s&branch=conf-preserved", f->project);
	assert_int_equal(e2e_need_int(w, "version"), v1 + 1);
	str_copy(keep, e2e_need_str(w, "branch_id"), sizeof(keep));
	json_decref(w);
	call(f, "PATCH", T_B, 200, "{\"branch\": {\"expires_at\": \"2099-01-02T03:04:05Z\"}}", &r,
	     "/projects/%s/branches/%s", f->project, keep);
	assert_string_equal(e2e_need_str(r.json, "branch.expires_at"), "2099-01-02T03:04:05Z");
	sim_response_release(&r);
	check(f, "PATCH", T_B, 400, "{\"branch\": {\"expires_at\": \"2001-01-02T03:04:05Z\"}}",
	      "/projects/%s/branches/%s", f->project, keep);
	/* the restored branch's parent is now the preserved copy */
	check(f, "DELETE", T_B, 400, NULL, "/projects/%s/branches/%s", f->project, keep);
	json_decref(e2e_json(f->sim, "GET", 404, NULL, "/__sim/data?project=%s&branch=no-such", f->project));
	json_decref(e2e_json(f->sim, "POST", 404, NULL, "/__sim/write?project=no-such-project-1"));
}

static void test_endpoints(void **state)
{
	fixture *f = *state;
	sim_response r;
	char ep[64], body[256];

	assert_true(f->project[0] != 0);
	snprintf(body, sizeof(body), "{\"endpoint\": {\"branch_id\": \"%s\", \"type\": \"read_only\"}}",
		f->main_branch);
	call(f, "POST", T_ES, 201, body, &r, "/projects/%s/endpoints", f->project);
	str_copy(ep, e2e_need_str(r.json, "endpoint.id"), sizeof(ep));
	assert_string_equal(e2e_need_str(r.json, "endpoint.type"), "read_only");
	sim_response_release(&r);
	e2e_wait_ops(f->sim, f->project);
	snprintf(body, sizeof(body), "{\"endpoint\": {\"branch_id\": \"%s\", \"type\": \"read_write\"}}",
		f->main_branch);
	check(f, "POST", T_ES, 409, body, "/projects/%s/endpoints", f->project);
	snprintf(body, sizeof(body), "{\"endpoint\": {\"branch_id\": \"%s\", \"type\": \"read_only\","
		" \"autoscaling_limit_min_cu\": 0.1}}", f->main_branch);
	check(f, "POST", T_ES, 400, body, "/projects/%s/endpoints", f->project);
	check(f, "GET", T_ES, 200, NULL, "/projects/%s/endpoints", f->project);
	check(f, "GET", T_ES, 404, NULL, "/projects/no-such-project-1/endpoints");
	check(f, "GET", T_E, 200, NULL, "/projects/%s/endpoints/%s", f->project, ep);
	check(f, "GET", T_E, 200, NULL, "/projects/%s/endpoints/%s", f->project, f->main_endpoint);
	check(f, "GET", T_E, 404, NULL, "/projects/%s/endpoints/ep-no-such-endpoint", f->project);
	check(f, "PATCH", T_E, 200, "{\"endpoint\": {\"autoscaling_limit_max_cu\": 0.5,"
		" \"suspend_timeout_seconds\": 600}}", "/projects/%s/endpoints/%s", f->project, ep);
	e2e_wait_ops(f->sim, f->project);
	check(f, "PATCH", T_E, 400, "{\"endpoint\": {\"suspend_timeout_seconds\": 30}}",
		"/projects/%s/endpoints/%s", f->project, ep);
	check(f, "POST", T_E "/suspend", 200, NULL, "/projects/%s/endpoints/%s/suspend", f->project, ep);
	e2e_wait_ops(f->sim, f->project);
	/* an idle endpoint has suspended_at and no last activity to come */
	call(f, "GET", T_E, 200, NULL, &r, "/projects/%s/endpoints/%s", f->project, ep);
	assert_string_equal(e2e_need_str(r.json, "endpoint.current_state"), "idle");
	assert_non_null(sim_json_get(r.json, "endpoint.suspended_at"));
	sim_response_release(&r);
	check(f, "POST", T_E "/start", 200, NULL, "/projects/%s/endpoints/%s/start", f->project, ep);
	e2e_wait_ops(f->sim, f->project);
	check(f, "POST", T_E "/restart", 200, NULL, "/projects/%s/endpoints/%s/restart", f->project, ep);
	e2e_wait_ops(f->sim, f->project);
	check(f, "POST", T_E "/start", 404, NULL, "/projects/%s/endpoints/ep-no-such-endpoint/start",
		f->project);
	check(f, "POST", T_E "/suspend", 404, NULL, "/projects/%s/endpoints/ep-no-such-endpoint/suspend",
		f->project);
	check(f, "POST", T_E "/restart", 404, NULL, "/projects/%s/endpoints/ep-no-such-endpoint/restart",
		f->project);
	check(f, "DELETE", T_E, 200, NULL, "/projects/%s/endpoints/%s", f->project, ep);
	e2e_wait_ops(f->sim, f->project);
	check(f, "DELETE", T_E, 204, NULL, "/projects/%s/endpoints/%s", f->project, ep);
}

static void test_roles_and_databases(void **state)
{
	fixture *f = *state;
	sim_response r;
	const char *p = f->project, *b = f->main_branch;

	assert_true(p[0] != 0);
	call(f, "POST", T_RS, 201, "{\"role\": {\"name\": \"conf_app\"}}", &r,
		"/projects/%s/branches/%s/roles", p, b);
	assert_true(strlen(e2e_need_str(r.json, "role.password")) > 0);
	sim_response_release(&r);
	e2e_wait_ops(f->sim, p);
	check(f, "POST", T_RS, 409, "{\"role\": {\"name\": \"conf_app\"}}", "/projects/%s/branches/%s/roles",
		p, b);
	check(f, "POST", T_RS, 400, "{\"role\": {}}", "/projects/%s/branches/%s/roles", p, b);
	check(f, "GET", T_RS, 200, NULL, "/projects/%s/branches/%s/roles", p, b);
	check(f, "GET", T_RS, 404, NULL, "/projects/%s/branches/br-no-such-branch/roles", p);
	check(f, "GET", T_R, 200, NULL, "/projects/%s/branches/%s/roles/conf_app", p, b);
	check(f, "GET", T_R, 404, NULL, "/projects/%s/branches/%s/roles/no_such_role", p, b);
	check(f, "GET", T_R "/reveal_password", 200, NULL,
		"/projects/%s/branches/%s/roles/conf_app/reveal_password", p, b);
	check(f, "GET", T_R "/reveal_password", 404, NULL,
		"/projects/%s/branches/%s/roles/no_such_role/reveal_password", p, b);
	check(f, "POST", T_R "/reset_password", 200, NULL,
		"/projects/%s/branches/%s/roles/conf_app/reset_password", p, b);
	e2e_wait_ops(f->sim, p);
	check(f, "POST", T_R "/reset_password", 404, NULL,
		"/projects/%s/branches/%s/roles/no_such_role/reset_password", p, b);

	check(f, "POST", T_DS, 201, "{\"database\": {\"name\": \"confdb\", \"owner_name\": \"conf_app\"}}",
		"/projects/%s/branches/%s/databases", p, b);
	e2e_wait_ops(f->sim, p);
	check(f, "POST", T_DS, 409, "{\"database\": {\"name\": \"confdb\", \"owner_name\": \"conf_app\"}}",
		"/projects/%s/branches/%s/databases", p, b);
	check(f, "POST", T_DS, 400, "{\"database\": {\"owner_name\": \"conf_app\"}}",
		"/projects/%s/branches/%s/databases", p, b);
	check(f, "GET", T_DS, 200, NULL, "/projects/%s/branches/%s/databases", p, b);
	check(f, "GET", T_D, 200, NULL, "/projects/%s/branches/%s/databases/confdb", p, b);
	check(f, "GET", T_D, 404, NULL, "/projects/%s/branches/%s/databases/no_such_db", p, b);
	check(f, "PATCH", T_D, 200, "{\"database\": {\"name\": \"confdb2\"}}",
		"/projects/%s/branches/%s/databases/confdb", p, b);
	e2e_wait_ops(f->sim, p);
	check(f, "PATCH", T_D, 404, "{\"database\": {\"name\": \"x\"}}",
		"/projects/%s/branches/%s/databases/no_such_db", p, b);
	/* the role owns confdb2: it cannot go before the database */
	check(f, "DELETE", T_R, 400, NULL, "/projects/%s/branches/%s/roles/conf_app", p, b);
	check(f, "DELETE", T_D, 200, NULL, "/projects/%s/branches/%s/databases/confdb2", p, b);
	e2e_wait_ops(f->sim, p);
	check(f, "DELETE", T_D, 204, NULL, "/projects/%s/branches/%s/databases/confdb2", p, b);
	check(f, "DELETE", T_R, 200, NULL, "/projects/%s/branches/%s/roles/conf_app", p, b);
	e2e_wait_ops(f->sim, p);
	check(f, "DELETE", T_R, 204, NULL, "/projects/%s/branches/%s/roles/conf_app", p, b);
}

static void test_operations_and_misc(void **state)
{
	fixture *f = *state;
	sim_response r;
	char op[64], cursor[64], from[32], to[32];
	int64_t created;

	assert_true(f->project[0] != 0);
	call(f, "GET", T_OS, 200, NULL, &r, "/projects/%s/operations?limit=2", f->project);
	assert_int_equal(json_array_size(sim_json_get(r.json, "operations")), 2);
	str_copy(op, e2e_need_str(r.json, "operations.1.id"), sizeof(op));
	str_copy(cursor, e2e_need_str(r.json, "pagination.cursor"), sizeof(cursor));
	sim_response_release(&r);
	check(f, "GET", T_OS, 200, NULL, "/projects/%s/operations?limit=3&cursor=%s", f->project, cursor);
	check(f, "GET", T_OS, 200, NULL, "/projects/%s/operations", f->project);
	check(f, "GET", T_OS, 400, NULL, "/projects/%s/operations?limit=0", f->project);
	check(f, "GET", T_OS, 404, NULL, "/projects/no-such-project-1/operations");
	check(f, "GET", T_OS "/{operation_id}", 200, NULL, "/projects/%s/operations/%s", f->project, op);
	check(f, "GET", T_OS "/{operation_id}", 404, NULL,
		"/projects/%s/operations/00000000-0000-4000-8000-000000000000", f->project);

	check(f, "GET", "/regions", 200, NULL, "/regions");
	check(f, "GET", "/users/me", 200, NULL, "/users/me");

	call(f, "GET", "/projects/{project_id}", 200, NULL, &r, "/projects/%s", f->project);
	created = e2e_need_time(r.json, "project.created_at");
	sim_response_release(&r);
	sim_time_format(created - 3600, from);
	sim_time_format(created + 3600, to);
	check(f, "GET", T_C, 200, NULL, "%s?from=%s&to=%s&granularity=hourly", T_C, from, to);
	check(f, "GET", T_C, 200, NULL, "%s?from=%s&to=%s&granularity=daily&project_ids=%s&limit=5"
		"&metrics=active_time_seconds,data_storage_bytes_hour", T_C, from, to, f->project);
	check(f, "GET", T_C, 200, NULL, "%s?from=%s&to=%s&granularity=monthly", T_C, from, to);
	check(f, "GET", T_C, 400, NULL, "%s?from=%s&to=%s", T_C, from, to);
	check(f, "GET", T_C, 406, NULL, "%s?from=%s&to=%s&granularity=hourly", T_C, to, from);
	check(f, "GET", T_C, 406, NULL, "%s?from=2020-01-01T00:00:00Z&to=%s&granularity=hourly", T_C, to);

	check(f, "GET", T_C2, 200, NULL, "%s?org_id=%s&metrics=%s&from=%s&to=%s&granularity=hourly", T_C2, SIM_ORG,
	      V2_METRICS, from, to);
	check(f, "GET", T_C2, 200, NULL, "%s?org_id=%s&metrics=compute_unit_seconds&metrics=extra_branches_month"
	      "&from=%s&to=%s&granularity=daily&project_ids=%s&limit=100", T_C2, SIM_ORG, from, to, f->project);
	check(f, "GET", T_C2, 400, NULL, "%s?org_id=%s&from=%s&to=%s&granularity=hourly", T_C2, SIM_ORG, from, to);
	check(f, "GET", T_C2, 400, NULL, "%s?metrics=%s&from=%s&to=%s&granularity=hourly", T_C2, V2_METRICS, from, to);
	check(f, "GET", T_C2, 400, NULL, "%s?org_id=%s&metrics=cpu_seconds&from=%s&to=%s&granularity=hourly", T_C2,
	      SIM_ORG, from, to);
	check(f, "GET", T_C2, 404, NULL, "%s?org_id=org-someone-else&metrics=%s&from=%s&to=%s&granularity=hourly",
	      T_C2, V2_METRICS, from, to);
	check(f, "GET", T_C2, 406, NULL, "%s?org_id=%s&metrics=%s&from=%s&to=%s&granularity=hourly", T_C2, SIM_ORG,
	      V2_METRICS, to, from);
	check(f, "GET", T_C2, 406, NULL, "%s?org_id=%s&metrics=%s&from=2020-01-01T00:00:00Z&to=%s&granularity=daily",
	      T_C2, SIM_ORG, V2_METRICS, to);
}

/* 405 and 413 have no route of their own in the document: GeneralError. */
static void test_protocol_errors(void **state)
{
	fixture *f = *state;
	const json_t *ge = oapi_component(f->api, "GeneralError");
	sim_response r;
	buf big = BUF_INIT(0), errors = BUF_INIT(1u << 16);
	int n;

	assert_non_null(ge);
	assert_int_equal(sim_request(f->sim, "PUT", "/api/v2/projects", "{}", &r), 0);
	assert_int_equal(r.status, 405);
	assert_non_null(r.json);
	n = oapi_check(f->api, ge, r.json, &errors);
	if (n)
		fail_msg("405: %d problem(s):\n%s", n, errors.data);
	assert_string_equal(e2e_need_str(r.json, "request_id"), r.request_id);
	sim_response_release(&r);

	/* a body over 1 MiB, but valid JSON: the size alone must be refused */
	if (buf_adds(&big, "{\"project\": {\"name\": \"big\", \"settings\": {\"x\": \"") != 0)
		fail();
	for (int i = 0; i < (1100 * 1024) / 64; i++)
		if (buf_adds(&big, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef") != 0)
			fail();
	if (buf_adds(&big, "\"}}}") != 0)
		fail();
	assert_int_equal(sim_request(f->sim, "POST", "/api/v2/projects", big.data, &r), 0);
	assert_int_equal(r.status, 413);
	buf_reset(&errors);
	n = oapi_check(f->api, ge, r.json, &errors);
	if (n)
		fail_msg("413: %d problem(s):\n%s", n, errors.data);
	sim_response_release(&r);
	buf_release(&big);
	buf_release(&errors);
}

/*
 * 422, 423 and 429 need other flags: a sim whose operations take 5 s
 * (so a project stays locked), with a plan of one project and a small
 * per-route burst. Its clock runs 600 times faster, so consumption
 * history has timeframes to show.
 */
/* A branch's backup schedule: empty until set, replaced whole by PUT (an
 * empty list removes it), each item checked against BackupScheduleItem;
 * the free plan cannot have one. */
static void test_backup_schedule(void **state)
{
	static const char *const free_args[] = { "--op-delay-ms", "20", "--rate-per-minute", "0", "--plan", "free",
		NULL };
	fixture *f = *state;
	sim_response r;
	char id[64], br[64];

	assert_true(f->project[0] != 0);
	e2e_wait_ops(f->sim, f->project);
	call(f, "GET", T_B "/backup_schedule", 200, NULL, &r, "/projects/%s/branches/%s/backup_schedule", f->project,
		f->main_branch);
	assert_int_equal(json_array_size(sim_json_get(r.json, "schedule")), 0);
	sim_response_release(&r);
	check(f, "PUT", T_B "/backup_schedule", 200, "{\"schedule\": [{\"frequency\": \"daily\", \"hour\": 3,"
		" \"retention_seconds\": 604800}, {\"frequency\": \"weekly\", \"day\": 1, \"hour\": 4}]}",
		"/projects/%s/branches/%s/backup_schedule", f->project, f->main_branch);
	call(f, "GET", T_B "/backup_schedule", 200, NULL, &r, "/projects/%s/branches/%s/backup_schedule", f->project,
		f->main_branch);
	assert_int_equal(json_array_size(sim_json_get(r.json, "schedule")), 2);
	assert_string_equal(e2e_need_str(r.json, "schedule.1.frequency"), "weekly");
	assert_int_equal(json_integer_value(sim_json_get(r.json, "schedule.0.retention_seconds")), 604800);
	sim_response_release(&r);
	check(f, "PUT", T_B "/backup_schedule", 400, "{\"schedule\": [{\"frequency\": \"fortnightly\"}]}",
		"/projects/%s/branches/%s/backup_schedule", f->project, f->main_branch);
	check(f, "PUT", T_B "/backup_schedule", 400, "{\"schedule\": [{\"frequency\": \"daily\", \"hour\": 24}]}",
		"/projects/%s/branches/%s/backup_schedule", f->project, f->main_branch);
	check(f, "PUT", T_B "/backup_schedule", 400, "{\"schedule\": [{\"frequency\": \"daily\","
		" \"retention_seconds\": 60}]}", "/projects/%s/branches/%s/backup_schedule", f->project, f->main_branch);
	check(f, "PUT", T_B "/backup_schedule", 400, "{}", "/projects/%s/branches/%s/backup_schedule", f->project,
		f->main_branch);
	check(f, "GET", T_B "/backup_schedule", 404, NULL, "/projects/%s/branches/br-no-such-branch/backup_schedule",
		f->project);
	check(f, "PUT", T_B "/backup_schedule", 200, "{\"schedule\": []}", "/projects/%s/branches/%s/backup_schedule",
		f->project, f->main_branch);
	call(f, "GET", T_B "/backup_schedule", 200, NULL, &r, "/projects/%s/branches/%s/backup_schedule", f->project,
		f->main_branch);
	assert_int_equal(json_array_size(sim_json_get(r.json, "schedule")), 0);
	sim_response_release(&r);

	e2e_start(&f->other, free_args);
	f->cur = f->other;
	call(f, "POST", "/projects", 201, "{\"project\": {\"name\": \"free\"}}", &r, "/projects");
	str_copy(id, e2e_need_str(r.json, "project.id"), sizeof(id));
	str_copy(br, e2e_need_str(r.json, "branch.id"), sizeof(br));
	sim_response_release(&r);
	e2e_wait_ops(f->other, id);
	check(f, "PUT", T_B "/backup_schedule", 422, "{\"schedule\": [{\"frequency\": \"daily\"}]}",
		"/projects/%s/branches/%s/backup_schedule", id, br);
	check(f, "PUT", T_B "/backup_schedule", 200, "{\"schedule\": []}", "/projects/%s/branches/%s/backup_schedule",
		id, br);
	f->cur = f->sim;
	e2e_stop(&f->other);
}

static void test_limits_and_locks(void **state)
{
	static const char *const args[] = { "--op-delay-ms", "5000", "--max-projects", "1",
		"--rate-per-minute", "600", "--burst-per-route", "3", "--time-scale", "600", NULL };
	fixture *f = *state;
	sim_response r;
	char id[64], from[32], to[32];
	const char *gran[] = { "hourly", "daily", "monthly" };
	int64_t created;
	int tries;

	e2e_start(&f->other, args);
	f->cur = f->other;
	call(f, "POST", "/projects", 201, "{\"project\": {\"name\": \"locked\"}}", &r, "/projects");
	str_copy(id, e2e_need_str(r.json, "project.id"), sizeof(id));
	created = e2e_need_time(r.json, "project.created_at");
	sim_response_release(&r);
	check(f, "POST", "/projects", 422, "{\"project\": {\"name\": \"over\"}}", "/projects");
	check(f, "PATCH", "/projects/{project_id}", 423, "{\"project\": {\"name\": \"x\"}}",
		"/projects/%s", id);
	check(f, "DELETE", "/projects/{project_id}", 423, NULL, "/projects/%s", id);
	check(f, "POST", "/projects/{project_id}/branches", 423, "{}", "/projects/%s/branches", id);
	call(f, "GET", T_BS, 200, NULL, &r, "/projects/%s/branches", id);
	snprintf(from, sizeof(from), "%.31s", e2e_need_str(r.json, "branches.0.id"));
	sim_response_release(&r);
	check(f, "PUT", T_B "/backup_schedule", 423, "{\"schedule\": []}", "/projects/%s/branches/%s/backup_schedule",
		id, from);

	for (tries = 0; tries < 10; tries++) {
		assert_int_equal(sim_request(f->cur, "GET", "/api/v2/regions", NULL, &r), 0);
		if (r.status == 429)
			break;
		assert_int_equal(r.status, 200);
		sim_response_release(&r);
	}
	if (r.status != 429)
		fail_msg("no 429 in %d requests with --burst-per-route 3", tries);
	conform_error(f, "GET", "/regions", &r);
	assert_true(r.retry_after_s >= 1);
	sim_response_release(&r);

	/* 100 ms is a minute of compute time here: every granularity shows it */
	sim_sleep_ms(100);
	sim_time_format(created + 3600, to);
	for (size_t g = 0; g < ARRAY_LEN(gran); g++) {
		if (g == 0)
			sim_time_format(created - 3600, from);
		else
			sim_time_format(created - 2 * 86400, from);
		call(f, "GET", T_C, 200, NULL, &r, "%s?from=%s&to=%s&granularity=%s&project_ids=%s",
			T_C, from, to, gran[g], id);
		assert_int_equal(json_array_size(sim_json_get(r.json, "projects")), 1);
		assert_true(json_array_size(sim_json_get(r.json, "projects.0.periods.0.consumption")) >= 1);
		sim_response_release(&r);
		/* v2 reports the same compute, and storage and transfer with it */
		call(f, "GET", T_C2, 200, NULL, &r, "%s?org_id=%s&metrics=%s&from=%s&to=%s&granularity=%s&project_ids=%s",
		     T_C2, SIM_ORG, V2_METRICS, from, to, gran[g], id);
		assert_string_equal(e2e_need_str(r.json, "projects.0.periods.0.consumption.0.metrics.0.metric_name"),
				    "compute_unit_seconds");
		assert_true(json_integer_value(sim_json_get(r.json, "projects.0.periods.0.consumption.0.metrics.1.value")) > 0);
		assert_true(json_integer_value(sim_json_get(r.json, "projects.0.periods.0.consumption.0.metrics.2.value")) > 0);
		sim_response_release(&r);
	}
	f->cur = f->sim;
	e2e_stop(&f->other);

	/* consumption history is not on the free plan: 403 */
	static const char *const free_args[] = { "--plan", "free", NULL };
	e2e_start(&f->other, free_args);
	f->cur = f->other;
	check(f, "GET", T_C2, 403, NULL, "%s?org_id=%s&metrics=%s&from=%s&to=%s&granularity=hourly", T_C2, SIM_ORG,
	      V2_METRICS, from, to);
	f->cur = f->sim;
	e2e_stop(&f->other);
}

/* The check can fail: a real Project with a required member taken away. */
static void test_checker_catches_a_broken_body(void **state)
{
	fixture *f = *state;
	const json_t *schema = oapi_response_schema(f->api, "GET", "/projects/{project_id}", 200);
	sim_response r;
	json_t *broken;
	buf errors = BUF_INIT(1u << 16);

	assert_non_null(schema);
	call(f, "GET", "/projects/{project_id}", 200, NULL, &r, "/projects/%s", f->project);

	broken = json_deep_copy(r.json);
	assert_int_equal(json_object_del(json_object_get(broken, "project"), "id"), 0);
	assert_true(oapi_check(f->api, schema, broken, &errors) >= 1);
	assert_non_null(strstr(errors.data, "$.project: missing required property 'id'"));
	json_decref(broken);

	buf_reset(&errors);
	broken = json_deep_copy(r.json);
	json_object_set_new(json_object_get(broken, "project"), "pg_version", json_string("17"));
	assert_true(oapi_check(f->api, schema, broken, &errors) >= 1);
	assert_non_null(strstr(errors.data, "$.project.pg_version"));
	json_decref(broken);

	buf_reset(&errors);
	assert_int_equal(oapi_check(f->api, schema, r.json, &errors), 0);
	sim_response_release(&r);
	buf_release(&errors);
}

/* Last: every route of the table answered a success that conformed, and
 * the sim's own counters name the same routes. */
static void test_every_route_checked(void **state)
{
	fixture *f = *state;
	json_t *stats = NULL, *per;
	buf missing = BUF_INIT(0);

	for (size_t i = 0; i < NROUTES; i++)
		if (!f->checked[i] && buf_printf(&missing, "  %s\n", ROUTES[i]) != 0)
			fail();
	if (missing.len)
		fail_msg("routes never checked with a success answer:\n%s", missing.data);
	assert_int_equal(sim_stats(f->sim, &stats), 0);
	for (size_t i = 0; i < NROUTES; i++) {
		per = json_object_get(json_object_get(stats, "requests"), ROUTES[i]);
		if (!json_is_object(per) && buf_printf(&missing, "  %s\n", ROUTES[i]) != 0)
			fail();
	}
	json_decref(stats);
	if (missing.len)
		fail_msg("routes missing from /__sim/stats:\n%s", missing.data);
	assert_true(f->errors_checked >= 40);
	buf_release(&missing);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_projects),
		cmocka_unit_test(test_branches),
		cmocka_unit_test(test_restore_data),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_roles_and_databases),
		cmocka_unit_test(test_operations_and_misc),
		cmocka_unit_test(test_protocol_errors),
		cmocka_unit_test(test_backup_schedule),
		cmocka_unit_test(test_limits_and_locks),
		cmocka_unit_test(test_checker_catches_a_broken_body),
		cmocka_unit_test(test_every_route_checked),
	};

	if (e2e_skip_without_sim())
		return 0;
	return cmocka_run_group_tests_name("sim-conformance", tests, setup, teardown);
}
