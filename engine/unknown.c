/*
 * unknown.c: what became of a write whose outcome is unknown (a reset, a
 * 500 after the request arrived, a 2xx that could not be read). Never
 * blindly repeated:
 *   - POST /projects: look the name up, every page of the search, and
 *     read any project a page named unavailable; one project by that name
 *     is adopted (mapped, its branches read), none means it did not run
 *     and the POST is sent again, two or more, or an unavailable project
 *     that could not be read, stop the tenant;
 *   - POST of a role, database, branch or read replica: read it by name
 *     (a replica is named replica-N, and found in the project's endpoint
 *     list); there means it ran (a new role's password is then lost),
 *     absent means send again;
 *   - PATCH and DELETE are sent again by the executor itself.
 */
#include <string.h>

#include "engine/internal.h"

static void on_adopted_branches(void *arg, neon_result *res);
static void on_probe(void *arg, neon_result *res);

static void on_lookup(void *arg, neon_find_result *res)
{
	job *j = arg;
	executor *x = j->x;
	const plan_call *c = &j->calls.v[j->step];
	const char *name = json_string_value(json_object_get(json_object_get(c->body, "project"), "name"));
	x->sum->lookups += res->calls;
	if (res->rc != 0) {
		char *e = xasprintf("create of '%s' had an unknown outcome, and looking it up failed: %s", name,
				    res->error);
		engine__job_end(j, EXEC_FAILED, e, res->request_id);
		free(e);
		return;
	}
	if (res->n > 1) {
		char *e = xasprintf("%s projects are named '%s' after a create with an unknown outcome; delete the extra "
				    "ones in Neon, then apply again", unit_count((int64_t)res->n).s, name);
		engine__job_end(j, EXEC_FAILED, e, NULL);
		free(e);
		return;
	}
	if (res->n == 0 && res->unresolved > 0) {
		/* a project Neon named but could not describe may be this one:
		 * sending the create again could make a second project */
		char *e = xasprintf("create of '%s' had an unknown outcome, and %s project%s of the search could not be "
				    "read (Neon listed them as unavailable); not sent again, the next apply looks again",
				    name, unit_count((int64_t)res->unresolved).s, res->unresolved == 1 ? "" : "s");
		engine__job_end(j, EXEC_FAILED, e, NULL);
		free(e);
		return;
	}
	if (res->n == 0) {
		if (j->resends >= MAX_RESENDS) {
			engine__job_end(j, EXEC_FAILED, "the create's outcome stayed unknown; the next apply tries again",
				     NULL);
			return;
		}
		/* it did not run: send it again */
		j->resends++;
		x->sum->resent++;
		engine__do_step(j);
		return;
	}
	const char *found = res->ids[0];
	/* it ran: adopt it (the name is ours: namePrefix + tenant) */
	x->sum->adopted++;
	free(j->project_id);
	j->project_id = xstrdup(found);
	if (state_tenant_put(x->st, j->a->tenant, found, x->o->fleet, "create") != 0)
		engine__warn("apply: cannot map the tenant", "tenant", j->a->tenant, "error", err_msg());
	engine__emit(x, "adopted", j, found);
	/* the response is lost: the default branch id comes from a read, and
	 * the cache is filled by one at the end */
	x->sum->lookups++;
	char *path = xasprintf("/projects/%s/branches", found);
	neon_submit(x->c, "GET", path, NULL, false, on_adopted_branches, j);
	free(path);
}

/*
 * A POST of a named resource with an unknown outcome: read it. A role or
 * database of that name, a branch or a read replica of that name, means
 * the POST ran (a new role's password is then lost: reset it in Neon);
 * none means it did not, and it is sent again. False: not a call this can
 * settle (an endpoint without a name).
 */
bool engine__probe(job *j)
{
	const plan_call *c = &j->calls.v[j->step];
	const char *tail = strrchr(c->path, '/');
	const char *name = NULL;
	if (!tail)
		return false;
	if (strcmp(tail, "/roles") == 0)
		name = json_string_value(json_object_get(json_object_get(c->body, "role"), "name"));
	else if (strcmp(tail, "/databases") == 0)
		name = json_string_value(json_object_get(json_object_get(c->body, "database"), "name"));
	else if (strcmp(tail, "/endpoints") == 0) {
		/* a replica carries its name: the project's endpoints are listed
		 * (not read by name, which the API has no route for) */
		if (!json_string_value(json_object_get(json_object_get(c->body, "endpoint"), "name")))
			return false;
	} else if (strcmp(tail, "/branches") != 0)
		return false;
	const char *why = NULL;
	char *path = engine__fill(j, c->path, &why);
	if (!path)
		return false;
	char *get;
	if (name) {
		char *enc = engine__query_escape(name);
		get = xasprintf("%s/%s", path, enc);
		free(enc);
	} else {
		get = xstrdup(path);
	}
	free(path);
	j->x->sum->lookups++;
	neon_submit(j->x->c, "GET", get, NULL, false, on_probe, j);
	free(get);
	return true;
}

static void on_probe(void *arg, neon_result *res)
{
	job *j = arg;
	const plan_call *c = &j->calls.v[j->step];
	bool branch = strcmp(strrchr(c->path, '/'), "/branches") == 0;
	bool endpoint = strcmp(strrchr(c->path, '/'), "/endpoints") == 0;
	bool ran = false;
	if (res->outcome == NEON_OK && branch) {
		const char *want = json_string_value(json_object_get(json_object_get(c->body, "branch"), "name"));
		size_t i;
		json_t *b;
		json_array_foreach(json_object_get(res->body, "branches"), i, b) {
			const char *n = json_string_value(json_object_get(b, "name"));
			if (want && n && strcmp(n, want) == 0) {
				engine__learn_branch(j, b);
				ran = true;
			}
		}
	} else if (res->outcome == NEON_OK && endpoint) {
		const char *want = json_string_value(json_object_get(json_object_get(c->body, "endpoint"), "name"));
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(res->body, "endpoints"), i, e) {
			const char *n = json_string_value(json_object_get(e, "name"));
			if (want && n && strcmp(n, want) == 0)
				ran = true;
		}
	} else if (res->outcome == NEON_OK) {
		ran = true;
	} else if (!(res->outcome == NEON_HTTP_ERROR && res->status == 404)) {
		char *e = xasprintf("%s %s: outcome unknown, and reading it back failed: %s", c->method, c->path,
				    res->message);
		engine__job_end(j, EXEC_FAILED, e, res->request_id);
		free(e);
		return;
	}
	if (ran) {
		engine__emit(j->x, "settled", j, "a call with an unknown outcome had run");
		j->step++;
		j->resends = 0;
		engine__do_step(j);
		return;
	}
	j->resends++;
	j->x->sum->resent++;
	engine__do_step(j);
}

static void on_adopted_branches(void *arg, neon_result *res)
{
	job *j = arg;
	if (res->outcome != NEON_OK) {
		char *e = xasprintf("adopted project %s, but reading its branches failed: %s", j->project_id,
				    res->message);
		engine__job_end(j, EXEC_FAILED, e, res->request_id);
		free(e);
		return;
	}
	size_t i;
	json_t *b;
	json_array_foreach(json_object_get(res->body, "branches"), i, b)
		engine__learn_branch(j, b);
	json_decref(j->created); /* not this project's response */
	j->created = NULL;
	j->step++;
	j->resends = 0;
	engine__do_step(j);
}


void engine__lookup_create(job *j)
{
	const plan_call *c = &j->calls.v[j->step];
	/* did the create run? every project of its name, the search paged to
	 * its end */
	const char *name = json_string_value(json_object_get(json_object_get(c->body, "project"), "name"));
	neon_projects_find_submit(j->x->c, name, on_lookup, j);
}
