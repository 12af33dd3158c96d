/*
 * routes_roles_dbs.c: the databases and roles of a branch, under
 * /projects/{project_id}/branches/{branch_id}: list, create, get, update
 * (databases), delete, reveal_password and reset_password (roles).
 *
 * Every change is an apply_config on the branch's read_write compute, and
 * Neon's documented replies add a suspend_compute: an idle compute is
 * started to run the SQL and suspended again. The sim sends that pair when
 * the compute is idle (and apply_config alone when it is active, or when
 * the branch has no read_write compute) but never wakes the compute: no
 * cold start, no usage. Dropped connections are not modelled.
 *
 * Choices where Neon's behaviour is not documented:
 * - Names are 1..63 bytes (Postgres' NAMEDATALEN). The system databases
 *   postgres, template0 and template1 and the role names Postgres or Neon
 *   reserve (pg_*, neon_superuser, cloud_admin) are refused with 400.
 * - A database whose owner is not a role of the branch: 422 "database owner
 *   not found", the status and text reported for Neon.
 * - Deleting a role that owns a database: 400, as Postgres' DROP ROLE
 *   refuses; delete the database or give it another owner first. Protected
 *   (system) roles cannot be deleted either (400).
 * - reveal_password: 412 when the project does not store passwords, 404
 *   for a role that has none (no_login); reset_password of a no_login role
 *   is a 400.
 */
#include <string.h>

#include "sim/sim.h"

/* ------------------------------------------------------------- helpers */

/*
 * Add the operations of a catalog change on branch b: apply_config, plus
 * suspend_compute when the read_write compute is idle. Returns how many.
 */
static size_t config_ops(sim_store *s, sim_project *p, sim_branch *b)
{
	sim_endpoint *e = sim_endpoint_rw(p, b->id);
	sim_op_add(s, p, "apply_config", b->id, e ? e->id : NULL);
	if (!e || sim_endpoint_active(s, e, sim_now(s)))
		return 1;
	sim_op_add(s, p, "suspend_compute", b->id, e->id);
	return 2;
}

static bool reserved_db(const char *name)
{
	return strcmp(name, "postgres") == 0 || strcmp(name, "template0") == 0 || strcmp(name, "template1") == 0;
}

static bool reserved_role(const char *name)
{
	return strncmp(name, "pg_", 3) == 0 || strcmp(name, "neon_superuser") == 0 ||
	       strcmp(name, "cloud_admin") == 0;
}

/* The project and branch of the path, or a 404 reply. */
static sim_branch *need_path(sim_req *r, sim_project **pp)
{
	*pp = sim_need_project(r, 0);
	return *pp ? sim_need_branch(r, *pp, 1) : NULL;
}

/* {key: obj, operations}: `obj` (stolen) and the last `nops` operations. */
static int reply_ops(sim_req *r, int status, sim_project *p, const char *key, json_t *obj, size_t nops)
{
	json_t *out = json_object();
	json_object_set_new(out, key, obj);
	json_object_set_new(out, "operations", sim_render_new_ops(p, nops, mono_ms()));
	return sim_reply(r, status, out);
}

/* ----------------------------------------------------------- databases */

static sim_database *need_db(sim_req *r, sim_branch *b)
{
	sim_database *d = sim_db_find(b, r->params[2]);
	if (!d)
		sim_error(r, 404, "", "database not found");
	return d;
}

/* A database name for b: 1..63 bytes, not reserved, not taken by another. */
static bool check_db_name(sim_req *r, sim_branch *b, const char *name, const sim_database *self)
{
	if (reserved_db(name)) {
		sim_error(r, 400, "", "database name '%s' is reserved", name);
		return false;
	}
	sim_database *other = sim_db_find(b, name);
	if (other && other != self) {
		sim_error(r, 409, "", "database already exists: '%s' on branch '%s'", name, b->id);
		return false;
	}
	return true;
}

static bool check_owner(sim_req *r, sim_branch *b, const char *owner)
{
	if (sim_role_find(b, owner))
		return true;
	sim_error(r, 422, "", "database owner not found: role '%s' is not on branch '%s'", owner, b->id);
	return false;
}

static int db_list(sim_req *r)
{
	sim_project *p;
	sim_branch *b = need_path(r, &p);
	if (!b)
		return 0;
	json_t *arr = json_array();
	for (size_t i = 0; i < b->ndbs; i++)
		json_array_append_new(arr, sim_render_database(&b->dbs[i], b->id));
	json_t *out = json_object();
	json_object_set_new(out, "databases", arr);
	return sim_reply(r, 200, out);
}

static int db_create(sim_req *r)
{
	sim_store *s = r->s;
	sim_project *p;
	sim_branch *b = need_path(r, &p);
	if (!b || sim_locked(r, p))
		return 0;
	json_t *in = r->body ? json_object_get(r->body, "database") : NULL;
	if (!json_is_object(in))
		return sim_error(r, 400, "", "request body must be {\"database\": {\"name\": ..., \"owner_name\": ...}}");
	const char *name, *owner;
	if (!sim_check_string(r, in, "name", 63, &name) || !sim_check_string(r, in, "owner_name", 63, &owner))
		return 0;
	if (!name || !owner)
		return sim_error(r, 400, "", "database.name and database.owner_name are required");
	if (!check_db_name(r, b, name, NULL) || !check_owner(r, b, owner))
		return 0;
	sim_database *d = sim_db_add(s, p, b, name, owner);
	size_t nops = config_ops(s, p, b);
	r->touched = p;
	return reply_ops(r, 201, p, "database", sim_render_database(d, b->id), nops);
}

static int db_get(sim_req *r)
{
	sim_project *p;
	sim_branch *b = need_path(r, &p);
	sim_database *d = b ? need_db(r, b) : NULL;
	if (!d)
		return 0;
	json_t *out = json_object();
	json_object_set_new(out, "database", sim_render_database(d, b->id));
	return sim_reply(r, 200, out);
}

static int db_update(sim_req *r)
{
	sim_store *s = r->s;
	sim_project *p;
	sim_branch *b = need_path(r, &p);
	sim_database *d = b ? need_db(r, b) : NULL;
	if (!d || sim_locked(r, p))
		return 0;
	json_t *in = r->body ? json_object_get(r->body, "database") : NULL;
	if (!json_is_object(in))
		return sim_error(r, 400, "", "request body must be {\"database\": {...}}");
	const char *name, *owner;
	if (!sim_check_string(r, in, "name", 63, &name) || !sim_check_string(r, in, "owner_name", 63, &owner))
		return 0;
	if ((name && !check_db_name(r, b, name, d)) || (owner && !check_owner(r, b, owner)))
		return 0;
	if (name) {
		free(d->name);
		d->name = xstrdup(name);
	}
	if (owner) {
		free(d->owner);
		d->owner = xstrdup(owner);
	}
	d->updated_at = sim_now(s);
	size_t nops = config_ops(s, p, b);
	r->touched = p;
	return reply_ops(r, 200, p, "database", sim_render_database(d, b->id), nops);
}

static int db_delete(sim_req *r)
{
	sim_store *s = r->s;
	sim_project *p;
	sim_branch *b = need_path(r, &p);
	if (!b)
		return 0;
	sim_database *d = sim_db_find(b, r->params[2]);
	if (!d)
		return sim_reply(r, 204, NULL);
	if (sim_locked(r, p))
		return 0;
	json_t *obj = sim_render_database(d, b->id);
	sim_db_remove(b, d);
	size_t nops = config_ops(s, p, b);
	r->touched = p;
	return reply_ops(r, 200, p, "database", obj, nops);
}

/* --------------------------------------------------------------- roles */

static sim_role *need_role(sim_req *r, sim_branch *b)
{
	sim_role *role = sim_role_find(b, r->params[2]);
	if (!role)
		sim_error(r, 404, "", "role not found");
	return role;
}

static int role_list(sim_req *r)
{
	sim_project *p;
	sim_branch *b = need_path(r, &p);
	if (!b)
		return 0;
	json_t *arr = json_array();
	for (size_t i = 0; i < b->nroles; i++)
		json_array_append_new(arr, sim_render_role(&b->roles[i], b->id, false));
	json_t *out = json_object();
	json_object_set_new(out, "roles", arr);
	return sim_reply(r, 200, out);
}

static int role_create(sim_req *r)
{
	sim_store *s = r->s;
	sim_project *p;
	sim_branch *b = need_path(r, &p);
	if (!b || sim_locked(r, p))
		return 0;
	json_t *in = r->body ? json_object_get(r->body, "role") : NULL;
	if (!json_is_object(in))
		return sim_error(r, 400, "", "request body must be {\"role\": {\"name\": ...}}");
	const char *name;
	if (!sim_check_string(r, in, "name", 63, &name))
		return 0;
	if (!name)
		return sim_error(r, 400, "", "role.name is required");
	bool no_login = false;
	if (!sim_check_bool(r, in, "no_login", &no_login))
		return 0;
	if (reserved_role(name))
		return sim_error(r, 400, "", "role name '%s' is reserved", name);
	if (sim_role_find(b, name))
		return sim_error(r, 409, "", "role already exists: '%s' on branch '%s'", name, b->id);
	sim_role *role = sim_role_add(s, p, b, name, no_login);
	size_t nops = config_ops(s, p, b);
	r->touched = p;
	return reply_ops(r, 201, p, "role", sim_render_role(role, b->id, true), nops);
}

static int role_get(sim_req *r)
{
	sim_project *p;
	sim_branch *b = need_path(r, &p);
	sim_role *role = b ? need_role(r, b) : NULL;
	if (!role)
		return 0;
	json_t *out = json_object();
	json_object_set_new(out, "role", sim_render_role(role, b->id, false));
	return sim_reply(r, 200, out);
}

static int role_delete(sim_req *r)
{
	sim_store *s = r->s;
	sim_project *p;
	sim_branch *b = need_path(r, &p);
	if (!b)
		return 0;
	sim_role *role = sim_role_find(b, r->params[2]);
	if (!role)
		return sim_reply(r, 204, NULL);
	if (sim_locked(r, p))
		return 0;
	if (role->protected_)
		return sim_error(r, 400, "", "role '%s' is protected and cannot be deleted", role->name);
	for (size_t i = 0; i < b->ndbs; i++)
		if (strcmp(b->dbs[i].owner, role->name) == 0)
			return sim_error(r, 400, "", "role '%s' owns database '%s': delete the database or change "
					       "its owner first", role->name, b->dbs[i].name);
	json_t *obj = sim_render_role(role, b->id, false);
	sim_role_remove(b, role);
	size_t nops = config_ops(s, p, b);
	r->touched = p;
	return reply_ops(r, 200, p, "role", obj, nops);
}

static int role_reveal(sim_req *r)
{
	sim_project *p;
	sim_branch *b = need_path(r, &p);
	sim_role *role = b ? need_role(r, b) : NULL;
	if (!role)
		return 0;
	if (!p->store_passwords)
		return sim_error(r, 412, "", "project '%s' does not store passwords (store_passwords is false): "
				       "reset the password to get a new one", p->id);
	if (!role->password)
		return sim_error(r, 404, "", "role '%s' has no password (no_login)", role->name);
	json_t *out = json_object();
	json_object_set_new(out, "password", json_string(role->password));
	return sim_reply(r, 200, out);
}

static int role_reset(sim_req *r)
{
	sim_store *s = r->s;
	sim_project *p;
	sim_branch *b = need_path(r, &p);
	sim_role *role = b ? need_role(r, b) : NULL;
	if (!role || sim_locked(r, p))
		return 0;
	if (role->no_login)
		return sim_error(r, 400, "", "role '%s' cannot log in (no_login): it has no password to reset",
				 role->name);
	char pw[17];
	sim_gen_password(s, pw);
	free(role->password);
	role->password = xstrdup(pw);
	role->updated_at = sim_now(s);
	size_t nops = config_ops(s, p, b);
	r->touched = p;
	return reply_ops(r, 200, p, "role", sim_render_role(role, b->id, true), nops);
}

#define BR "/projects/{project_id}/branches/{branch_id}"

const sim_route SIM_ROUTES_ROLES_DBS[] = {
	{"GET", BR "/databases", db_list, false},
	{"POST", BR "/databases", db_create, true},
	{"GET", BR "/databases/{database_name}", db_get, false},
	{"PATCH", BR "/databases/{database_name}", db_update, true},
	{"DELETE", BR "/databases/{database_name}", db_delete, true},
	{"GET", BR "/roles", role_list, false},
	{"POST", BR "/roles", role_create, true},
	{"GET", BR "/roles/{role_name}", role_get, false},
	{"DELETE", BR "/roles/{role_name}", role_delete, true},
	{"GET", BR "/roles/{role_name}/reveal_password", role_reveal, false},
	{"POST", BR "/roles/{role_name}/reset_password", role_reset, true},
	{NULL, NULL, NULL, false},
};
