/*
 * account.c: the account behind the API key: its plan and the limits the
 * plan sets (--plan, --max-projects), the organizations it belongs to
 * (--org-id, --require-org-id), and the routes that describe it,
 * GET /users/me and GET /users/me/organizations.
 *
 * The limits are the published figures of docs/neon-api.md, "Plans and
 * their limits"; without --plan none is checked and the sim reports what
 * it always did (a scale-like account with room for a million projects).
 * The checks answer as Neon does where its answer is known (the 422 codes
 * of plan limits, "org_id is required") and otherwise as docs/sim.md,
 * "Choices where Neon is not explicit", says.
 */
#include <inttypes.h>
#include <string.h>

#include "sim/sim.h"

/* docs/neon-api.md, "Plans and their limits" (read 2026-12); snapshots:
 * Neon's docs, 1 on the Free plan and 10 on paid plans. */
static const sim_plan PLANS[] = {
	{"free", "free_v3", 100, 10, 21600, 2, 2, 0, 1},
	{"launch", "launch", 100, 10, 604800, 16, 16, 2, 10},
	{"scale", "scale", 1000, 25, 2592000, 16, 56, 5, 10},
	{"business", "business", 5000, 25, 2592000, 16, 56, 5, 10},
};

const char SIM_PLAN_NAMES[] = "free, launch, scale or business";

const sim_plan *sim_plan_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(PLANS); i++)
		if (strcmp(PLANS[i].name, name) == 0)
			return &PLANS[i];
	return NULL;
}

int64_t sim_projects_limit(const sim_config *cfg)
{
	if (cfg->max_projects_set || !cfg->plan)
		return cfg->max_projects;
	return cfg->plan->projects;
}

int64_t sim_snapshots_limit(const sim_config *cfg)
{
	return cfg->plan ? cfg->plan->snapshots : 10;
}

int64_t sim_default_retention(const sim_config *cfg)
{
	/* Neon's default of a day, cut to what the plan allows */
	return cfg->plan && cfg->plan->retention_max < 86400 ? cfg->plan->retention_max : 86400;
}

const char *sim_plan_name(const sim_config *cfg)
{
	return cfg->plan ? cfg->plan->name : "scale";
}

bool sim_org_id_valid(const char *id)
{
	size_t n = strlen(id);
	return n >= 1 && n <= 60 && strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* --------------------------------------------------------------- checks */

bool sim_check_projects_limit(sim_req *r)
{
	sim_store *s = r->s;
	int64_t limit = sim_projects_limit(s->cfg);
	if (limit <= 0 || (int64_t)s->live < limit)
		return true;
	sim_error(r, 422, "PROJECTS_LIMIT_EXCEEDED", "user projects limit of %" PRId64 " exceeded, got %zu", limit,
		  s->live);
	return false;
}

bool sim_check_branches_limit(sim_req *r, const sim_project *p)
{
	const sim_plan *plan = r->s->cfg->plan;
	if (!plan || (int64_t)p->nbranches < plan->branches)
		return true;
	sim_error(r, 422, "BRANCHES_LIMIT_EXCEEDED", "branches limit of %" PRId64 " exceeded", plan->branches);
	return false;
}

bool sim_check_protected_limit(sim_req *r, const sim_project *p)
{
	const sim_plan *plan = r->s->cfg->plan;
	if (!plan)
		return true;
	int64_t n = 0;
	for (size_t i = 0; i < p->nbranches; i++)
		n += p->branches[i].protected_;
	if (n < plan->protected_max)
		return true;
	sim_error(r, 422, "BRANCHES_PROTECTED_LIMIT_EXCEEDED", "protected branches limit of %" PRId64 " exceeded",
		  plan->protected_max);
	return false;
}

bool sim_check_retention_plan(sim_req *r, int64_t retention)
{
	const sim_plan *plan = r->s->cfg->plan;
	if (!plan || retention <= plan->retention_max)
		return true;
	sim_error(r, 400, "", "history_retention_seconds must be at most %" PRId64 " on the %s plan, got %" PRId64,
		  plan->retention_max, plan->name, retention);
	return false;
}

bool sim_check_org(sim_req *r, const char *org_id)
{
	const sim_config *cfg = r->s->cfg;
	if (!cfg->require_org_id)
		return true;
	if (!org_id || !*org_id) {
		sim_error(r, 400, "", "org_id is required");
		return false;
	}
	for (size_t i = 0; i < cfg->norg_ids; i++)
		if (strcmp(cfg->org_ids[i], org_id) == 0)
			return true;
	sim_error(r, 404, "", "organization '%s' not found", org_id);
	return false;
}

/* --------------------------------------------------------------- routes */

/* The one user behind every key; the same owner that projects show. */
static int users_me(sim_req *r)
{
	const sim_config *cfg = r->s->cfg;
	json_t *o = json_object(), *acct = json_object(), *accts = json_array();
	json_object_set_new(acct, "provider", json_string("github"));
	json_object_set_new(acct, "email", json_string("sim@example.com"));
	json_object_set_new(acct, "name", json_string("flotilla-sim"));
	json_object_set_new(acct, "login", json_string("flotilla-sim"));
	json_object_set_new(acct, "image", json_string(""));
	json_array_append_new(accts, acct);
	json_object_set_new(o, "id", json_string("sim-user"));
	json_object_set_new(o, "email", json_string("sim@example.com"));
	json_object_set_new(o, "login", json_string("flotilla-sim"));
	json_object_set_new(o, "name", json_string("flotilla-sim"));
	json_object_set_new(o, "last_name", json_string(""));
	json_object_set_new(o, "image", json_string(""));
	json_object_set_new(o, "auth_accounts", accts);
	/* without a plan or --max-projects the sim sets no limits */
	int64_t projects = sim_projects_limit(cfg);
	json_object_set_new(o, "projects_limit", json_integer(projects > 0 ? projects : 1000000));
	json_object_set_new(o, "branches_limit", json_integer(cfg->plan ? cfg->plan->branches : 5000));
	json_object_set_new(o, "max_autoscaling_limit", json_real(cfg->plan ? cfg->plan->autoscaling_max : 16));
	json_object_set_new(o, "active_seconds_limit", json_integer(0));
	json_object_set_new(o, "plan", json_string(sim_plan_name(cfg)));
	return sim_reply(r, 200, o);
}

/* The --org-id organizations, whether or not requests must name one. */
static int users_me_organizations(sim_req *r)
{
	sim_store *s = r->s;
	char born[32];
	sim_time_format(s->wall_start, born);
	json_t *arr = json_array();
	for (size_t i = 0; i < s->cfg->norg_ids; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "id", json_string(s->cfg->org_ids[i]));
		json_object_set_new(o, "name", json_string(s->cfg->org_ids[i]));
		json_object_set_new(o, "handle", json_string(s->cfg->org_ids[i]));
		json_object_set_new(o, "plan", json_string(sim_plan_name(s->cfg)));
		json_object_set_new(o, "created_at", json_string(born));
		json_object_set_new(o, "updated_at", json_string(born));
		json_object_set_new(o, "managed_by", json_string("console"));
		json_array_append_new(arr, o);
	}
	json_t *out = json_object();
	json_object_set_new(out, "organizations", arr);
	return sim_reply(r, 200, out);
}

const sim_route SIM_ROUTES_ACCOUNT[] = {
	{"GET", "/users/me", users_me, false},
	{"GET", "/users/me/organizations", users_me_organizations, false},
	{NULL, NULL, NULL, false},
};
