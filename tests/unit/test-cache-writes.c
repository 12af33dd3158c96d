/*
 * test-cache-writes.c: unit tests of cache_apply_writes (engine/refresh.c),
 * which folds a tenant's write responses into its project's cached deep
 * state so that apply need not read the project back. On a real state
 * file: an endpoint PATCH replaces its endpoint's row, a role or database
 * POST adds one, a project PATCH updates the project, and the result is
 * recorded as a current deep read. Whatever the responses cannot say (a
 * call of another kind, a response without its object, an endpoint the
 * cache does not hold, children of a project never read deep) is refused with nothing written, so the caller
 * reads the project back instead.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "engine/engine.h"

#include "state-fixture.h"

#define PID "calm-lake-300001"
#define BID "br-calm-lake-300001"
#define EID "ep-calm-lake-300001"
#define TS "2026-11-26T03:42:00Z"

/* The cached project as a list shows it, never read deep. */
static void cache_listed(fixture *fx)
{
	fx->s = open_ok(fx);
	state_project p;
	memset(&p, 0, sizeof(p));
	p.id = S(PID);
	p.name = S("t-acme");
	p.region_id = S("aws-us-east-2");
	p.pg_version = 17;
	p.history_retention_seconds = 86400;
	p.created_at = S(TS);
	p.updated_at = S(TS);
	assert_int_equal(state_project_put(fx->s, &p, false), 0);
}

/* The cached project: one branch, its endpoint, a database and a role,
 * read deep. */
static void cache_project(fixture *fx)
{
	cache_listed(fx);
	state_branch b = {S(BID), S("main"), NULL, true, false, NULL, S(TS), S(TS)};
	state_endpoint e = {S(EID), S(BID), true, 0.25, 0.25, 300, false, S("idle"), NULL, NULL};
	state_database d = {S(BID), S("neondb"), S("neondb_owner")};
	state_role r = {S(BID), S("neondb_owner")};
	state_deep deep = {&b, 1, &e, 1, &d, 1, &r, 1};
	assert_int_equal(state_deep_put(fx->s, PID, TS, &deep), 0);
}

static json_t *endpoint_json(const char *id, double max_cu)
{
	return json_pack("{s:{s:s,s:s,s:s,s:s,s:f,s:f,s:s,s:s,s:b,s:i,s:s,s:s}}", "endpoint", "id", id, "project_id",
			 PID, "branch_id", BID, "host", "ep.example", "autoscaling_limit_min_cu", 0.25,
			 "autoscaling_limit_max_cu", max_cu, "type", "read_write", "current_state", "idle", "disabled", 0,
			 "suspend_timeout_seconds", 600, "created_at", TS, "updated_at", TS);
}

static json_t *role_json(const char *name)
{
	/* a new role's response carries its password: the cache has no column
	 * for one */
	return json_pack("{s:{s:s,s:s,s:b,s:s,s:s,s:s}}", "role", "branch_id", BID, "name", name, "protected", 0,
			 "password", "not-kept", "created_at", TS, "updated_at", TS);
}

static json_t *database_json(const char *name)
{
	return json_pack("{s:{s:i,s:s,s:s,s:s,s:s,s:s}}", "database", "id", 2, "branch_id", BID, "name", name,
			 "owner_name", "neondb_owner", "created_at", TS, "updated_at", TS);
}

static json_t *project_json(int64_t history)
{
	return json_pack("{s:{s:s,s:s,s:s,s:i,s:I,s:s,s:s,s:s}}", "project", "id", PID, "name", "t-acme", "region_id",
			 "aws-us-east-2", "pg_version", 17, "history_retention_seconds", (json_int_t)history,
			 "created_at", TS, "updated_at", "2026-11-27T00:00:00Z", "owner_id", "someone");
}

static void set_call(plan_call *c, const char *method, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->method = (char *)method;
	c->path = (char *)path;
}

static void assert_deep_current(fixture *fx)
{
	state_project p;
	assert_int_equal(state_project_get(fx->s, PID, &p), 0);
	assert_true(p.deep_at > 0);
	assert_non_null(p.deep_fingerprint);
	assert_string_equal(p.deep_fingerprint, p.fingerprint);
	state_project_release(&p);
}

/* A compute change and a new role and database: every response folded,
 * the rest of the deep state kept, the project's own fields updated. */
static void test_folds_every_kind(void **st)
{
	fixture *fx = *st;
	cache_project(fx);
	plan_call v[4];
	set_call(&v[0], "PATCH", "/projects/" PID);
	set_call(&v[1], "PATCH", "/projects/" PID "/endpoints/" EID);
	set_call(&v[2], "POST", "/projects/" PID "/branches/{branch_id:main}/roles");
	set_call(&v[3], "POST", "/projects/" PID "/branches/{branch_id:main}/databases");
	plan_calls calls = {v, 4, false};
	json_t *bodies[4] = {project_json(604800), endpoint_json(EID, 2), role_json("analyst"),
			     database_json("reports")};

	assert_int_equal(cache_apply_writes(fx->s, PID, &calls, bodies), 0);

	state_deep d;
	assert_int_equal(state_deep_get(fx->s, PID, &d), 0);
	assert_int_equal(d.nbranches, 1);
	assert_int_equal(d.nendpoints, 1);
	assert_string_equal(d.endpoints[0].id, EID);
	assert_true(d.endpoints[0].max_cu == 2);
	assert_int_equal(d.endpoints[0].suspend_timeout_seconds, 600);
	assert_int_equal(d.nroles, 2);
	assert_int_equal(d.ndatabases, 2);
	bool analyst = false, reports = false;
	for (size_t i = 0; i < d.nroles; i++)
		analyst |= strcmp(d.roles[i].name, "analyst") == 0;
	for (size_t i = 0; i < d.ndatabases; i++)
		reports |= strcmp(d.databases[i].name, "reports") == 0 && strcmp(d.databases[i].owner, "neondb_owner") == 0;
	assert_true(analyst);
	assert_true(reports);
	state_deep_release(&d);

	state_project p;
	assert_int_equal(state_project_get(fx->s, PID, &p), 0);
	assert_int_equal(p.history_retention_seconds, 604800);
	assert_string_equal(p.updated_at, "2026-11-27T00:00:00Z");
	assert_string_equal(p.deep_updated_at, "2026-11-27T00:00:00Z");
	state_project_release(&p);
	assert_deep_current(fx);
	/* no password anywhere in the file */
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM roles WHERE name LIKE '%not-kept%'"), 0);
	for (int i = 0; i < 4; i++)
		json_decref(bodies[i]);
}

/* Refused, with the cache as it was: the caller reads the project back. */
static void assert_refused(fixture *fx, plan_calls *calls, json_t **bodies)
{
	assert_int_equal(cache_apply_writes(fx->s, PID, calls, bodies), ERR_INVALID);
	state_deep d;
	assert_int_equal(state_deep_get(fx->s, PID, &d), 0);
	assert_int_equal(d.nendpoints, 1);
	assert_true(d.endpoints[0].max_cu == 0.25);
	assert_int_equal(d.nroles, 1);
	assert_int_equal(d.ndatabases, 1);
	state_deep_release(&d);
	state_project p;
	assert_int_equal(state_project_get(fx->s, PID, &p), 0);
	assert_int_equal(p.history_retention_seconds, 86400);
	assert_string_equal(p.updated_at, TS);
	state_project_release(&p);
}

static void test_refuses_an_endpoint_not_cached(void **st)
{
	fixture *fx = *st;
	cache_project(fx);
	plan_call v[2];
	set_call(&v[0], "PATCH", "/projects/" PID);
	set_call(&v[1], "PATCH", "/projects/" PID "/endpoints/ep-other-1");
	plan_calls calls = {v, 2, false};
	json_t *bodies[2] = {project_json(604800), endpoint_json("ep-other-1", 2)};
	assert_refused(fx, &calls, bodies);
	for (int i = 0; i < 2; i++)
		json_decref(bodies[i]);
}

static void test_refuses_a_response_without_its_object(void **st)
{
	fixture *fx = *st;
	cache_project(fx);
	plan_call v[2];
	set_call(&v[0], "PATCH", "/projects/" PID "/endpoints/" EID);
	set_call(&v[1], "POST", "/projects/" PID "/branches/{branch_id:main}/roles");
	plan_calls calls = {v, 2, false};
	json_t *bodies[2] = {endpoint_json(EID, 2), json_pack("{s:[]}", "operations")};
	assert_refused(fx, &calls, bodies);
	/* and a call whose response never came */
	json_decref(bodies[1]);
	bodies[1] = NULL;
	assert_refused(fx, &calls, bodies);
	json_decref(bodies[0]);
}

/* Calls whose responses do not hold what changed (a branch with its
 * endpoints, a delete, a new endpoint): refused before anything is read. */
static void test_refuses_other_kinds(void **st)
{
	fixture *fx = *st;
	cache_project(fx);
	const char *kinds[][2] = {
		{"POST", "/projects/" PID "/branches"},
		{"DELETE", "/projects/" PID "/branches/{branch_id:main}/databases/neondb"},
		{"POST", "/projects/" PID "/endpoints"},
		{"PATCH", "/projects/" PID "/branches/{branch_id:main}/roles/neondb_owner"},
	};
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		plan_call v[2];
		set_call(&v[0], "PATCH", "/projects/" PID "/endpoints/" EID);
		set_call(&v[1], kinds[k][0], kinds[k][1]);
		plan_calls calls = {v, 2, false};
		json_t *bodies[2] = {endpoint_json(EID, 2), json_pack("{s:{}}", "branch")};
		assert_refused(fx, &calls, bodies);
		json_decref(bodies[0]);
		json_decref(bodies[1]);
	}
}

/* A project never read deep: its own fields are stored (and it stays
 * unread); a child is refused, so its cached "none" is never taken for
 * the whole of its deep state. */
static void test_never_read_deep(void **st)
{
	fixture *fx = *st;
	cache_listed(fx);
	plan_call v[2];
	set_call(&v[0], "PATCH", "/projects/" PID);
	set_call(&v[1], "PATCH", "/projects/" PID "/endpoints/" EID);
	json_t *bodies[2] = {project_json(604800), endpoint_json(EID, 2)};
	plan_calls calls = {v, 2, false};
	assert_int_equal(cache_apply_writes(fx->s, PID, &calls, bodies), ERR_INVALID);
	state_project p;
	assert_int_equal(state_project_get(fx->s, PID, &p), 0);
	assert_int_equal(p.history_retention_seconds, 86400);
	assert_int_equal(p.deep_at, 0);
	state_project_release(&p);

	calls.n = 1;
	assert_int_equal(cache_apply_writes(fx->s, PID, &calls, bodies), 0);
	assert_int_equal(state_project_get(fx->s, PID, &p), 0);
	assert_int_equal(p.history_retention_seconds, 604800);
	assert_int_equal(p.deep_at, 0);
	state_project_release(&p);
	for (int i = 0; i < 2; i++)
		json_decref(bodies[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX(test_folds_every_kind),
		FX(test_refuses_an_endpoint_not_cached),
		FX(test_refuses_a_response_without_its_object),
		FX(test_refuses_other_kinds),
		FX(test_never_read_deep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
