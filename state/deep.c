/*
 * deep.c: a project's branches, endpoints, databases and roles, as its
 * last deep read saw them.
 *
 * A deep read replaces all four sets at once, in one transaction with the
 * project's deep_at, deep_updated_at and deep_fingerprint, so that a
 * reader never sees the branches of one read with the endpoints of
 * another. Rows hang off their
 * project (ON DELETE CASCADE): a project that a refresh finds gone takes
 * them along. Roles are names only; a role password has no column.
 */
#include "state/internal.h"

#include <string.h>

static int missing(const char *kind, size_t i, const char *field)
{
	return err_set(ERR_INVALID, "state: %s %zu lacks %s", kind, i, field);
}

/* Every row is checked before the transaction starts. */
static int check_deep(const state_deep *d)
{
	size_t i;

	for (i = 0; i < d->nbranches; i++) {
		if (!d->branches[i].id)
			return missing("branch", i, "an id");
		if (!d->branches[i].name)
			return missing("branch", i, "a name");
	}
	for (i = 0; i < d->nendpoints; i++) {
		if (!d->endpoints[i].id)
			return missing("endpoint", i, "an id");
		if (!d->endpoints[i].branch_id)
			return missing("endpoint", i, "a branch id");
	}
	for (i = 0; i < d->ndatabases; i++) {
		if (!d->databases[i].branch_id || !d->databases[i].name)
			return missing("database", i, !d->databases[i].branch_id ? "a branch id" : "a name");
		if (!d->databases[i].owner)
			return missing("database", i, "an owner");
	}
	for (i = 0; i < d->nroles; i++) {
		if (!d->roles[i].branch_id || !d->roles[i].name)
			return missing("role", i, !d->roles[i].branch_id ? "a branch id" : "a name");
	}
	return 0;
}

static int put_rows(state *s, const char *pid, const state_deep *d)
{
	db_stmt *st;
	size_t i;
	int rc;

	if ((rc = state__stmt(s, "INSERT INTO branches(project_id, id, name, parent_id, is_default, protected, "
			  "annotations_json, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
			  &st)) != 0)
		return rc;
	for (i = 0; i < d->nbranches; i++) {
		const state_branch *b = &d->branches[i];
		db_bind_text(st, 1, pid);
		db_bind_text(st, 2, b->id);
		db_bind_text(st, 3, b->name);
		db_bind_text(st, 4, b->parent_id);
		db_bind_i64(st, 5, b->is_default);
		db_bind_i64(st, 6, b->protected_);
		db_bind_text(st, 7, b->annotations_json);
		db_bind_text(st, 8, b->created_at);
		db_bind_text(st, 9, b->updated_at);
		if ((rc = state__step_deferred(s, st, "writing a branch")) != 0)
			return rc;
	}
	if ((rc = state__stmt(s, "INSERT INTO endpoints(project_id, id, branch_id, read_write, min_cu, max_cu, "
			  "suspend_timeout_seconds, disabled, current_state, last_active, name) "
			  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)", &st)) != 0)
		return rc;
	for (i = 0; i < d->nendpoints; i++) {
		const state_endpoint *e = &d->endpoints[i];
		db_bind_text(st, 1, pid);
		db_bind_text(st, 2, e->id);
		db_bind_text(st, 3, e->branch_id);
		db_bind_i64(st, 4, e->read_write);
		db_bind_double(st, 5, e->min_cu);
		db_bind_double(st, 6, e->max_cu);
		db_bind_i64(st, 7, e->suspend_timeout_seconds);
		db_bind_i64(st, 8, e->disabled);
		db_bind_text(st, 9, e->current_state);
		db_bind_text(st, 10, e->last_active);
		db_bind_text(st, 11, e->name);
		if ((rc = state__step_deferred(s, st, "writing an endpoint")) != 0)
			return rc;
	}
	if ((rc = state__stmt(s, "INSERT INTO databases(project_id, branch_id, name, owner) VALUES (?1, ?2, ?3, ?4)",
			  &st)) != 0)
		return rc;
	for (i = 0; i < d->ndatabases; i++) {
		db_bind_text(st, 1, pid);
		db_bind_text(st, 2, d->databases[i].branch_id);
		db_bind_text(st, 3, d->databases[i].name);
		db_bind_text(st, 4, d->databases[i].owner);
		if ((rc = state__step_deferred(s, st, "writing a database")) != 0)
			return rc;
	}
	if ((rc = state__stmt(s, "INSERT INTO roles(project_id, branch_id, name) VALUES (?1, ?2, ?3)", &st)) != 0)
		return rc;
	for (i = 0; i < d->nroles; i++) {
		db_bind_text(st, 1, pid);
		db_bind_text(st, 2, d->roles[i].branch_id);
		db_bind_text(st, 3, d->roles[i].name);
		if ((rc = state__step_deferred(s, st, "writing a role")) != 0)
			return rc;
	}
	return 0;
}

/* Delete the four sets of one project. */
static int clear_rows(state *s, const char *pid)
{
	static const char *const sql[] = {
		"DELETE FROM branches WHERE project_id = ?1",
		"DELETE FROM endpoints WHERE project_id = ?1",
		"DELETE FROM databases WHERE project_id = ?1",
		"DELETE FROM roles WHERE project_id = ?1",
	};
	db_stmt *st;
	size_t i;
	int rc;

	for (i = 0; i < ARRAY_LEN(sql); i++) {
		if ((rc = state__stmt(s, sql[i], &st)) != 0)
			return rc;
		db_bind_text(st, 1, pid);
		if ((rc = state__step_deferred(s, st, "clearing deep rows")) != 0)
			return rc;
	}
	return 0;
}

int state_deep_put(state *s, const char *project_id, const char *updated_at, const state_deep *d)
{
	static const state_deep none;
	db_stmt *st;
	int rc;

	if (!d)
		d = &none;
	if (!project_id)
		return err_set(ERR_INVALID, "state: project id is missing");
	if ((rc = check_deep(d)) != 0)
		return rc;
	if ((rc = state__begin(s, true)) != 0)
		return rc;
	if ((rc = state__stmt(s, "UPDATE projects SET deep_at = ?2, deep_updated_at = ?3, "
			  "deep_fingerprint = fingerprint WHERE id = ?1", &st)) != 0)
		goto done;
	db_bind_text(st, 1, project_id);
	db_bind_i64(st, 2, db_now());
	db_bind_text(st, 3, updated_at);
	if ((rc = state__step_done(s, st, "recording a deep read")) != 0)
		goto done;
	if (db_changes(s) == 0) {
		rc = err_set(ERR_NOTFOUND, "project '%s' is not in the cache", project_id);
		goto done;
	}
	/* the rows go in one pipeline on PostgreSQL; its answers are read
	 * here, so a repeated row is named as such */
	if ((rc = clear_rows(s, project_id)) != 0 || (rc = put_rows(s, project_id, d)) != 0 ||
	    (rc = state__flush(s, "writing a deep read")) != 0) {
		/* a duplicate (two branches with one id) is bad input, not a race */
		if (rc == ERR_CONFLICT)
			rc = err_set(ERR_INVALID, "state: deep read of project '%s' repeats a row: %s", project_id,
				     err_msg());
	}
done:
	if (rc == 0)
		return state__commit(s);
	state__rollback(s);
	return rc;
}

int state_deep_stale(state *s, const char *project_id)
{
	db_stmt *st;
	int rc;

	if ((rc = state__stmt(s, "UPDATE projects SET deep_fingerprint = NULL WHERE id = ?1", &st)) != 0)
		return rc;
	db_bind_text(st, 1, project_id);
	return state__step_done(s, st, "marking a deep read stale");
}

int state_project_gone(state *s, const char *project_id)
{
	db_stmt *st;
	int rc;

	/* its branches, endpoints, databases, roles and schedule cascade */
	if ((rc = state__stmt(s, "DELETE FROM projects WHERE id = ?1", &st)) != 0)
		return rc;
	db_bind_text(st, 1, project_id);
	return state__step_done(s, st, "dropping a project deleted in Neon");
}

/* ------------------------------------------------------------------ read */

/* Read the rows of `sql` (its ?1 the project id), one fill call a row;
 * cap is the capacity of the array fill grows. */
static int get_rows(state *s, const char *pid, const char *sql, const char *what, state_deep *out,
		    void (*fill)(db_stmt *st, state_deep *out, size_t *cap))
{
	db_stmt *st;
	size_t cap = 0;
	int rc;

	if ((rc = state__stmt(s, sql, &st)) != 0)
		return rc;
	db_bind_text(st, 1, pid);
	while ((rc = db_step(st)) == DB_ROW)
		fill(st, out, &cap);
	rc = rc == DB_DONE ? 0 : state__fail(s, rc, what);
	state__reset(st);
	return rc;
}

void state__fill_branch(db_stmt *st, state_deep *out, size_t *cap)
{
	state_branch *b;
	out->branches = xgrow(out->branches, cap, out->nbranches + 1, sizeof(*b));
	b = &out->branches[out->nbranches++];
	b->id = state__col_str(st, 0);
	b->name = state__col_str(st, 1);
	b->parent_id = state__col_str(st, 2);
	b->is_default = db_col_int(st, 3) != 0;
	b->protected_ = db_col_int(st, 4) != 0;
	b->annotations_json = state__col_str(st, 5);
	b->created_at = state__col_str(st, 6);
	b->updated_at = state__col_str(st, 7);
}

void state__fill_endpoint(db_stmt *st, state_deep *out, size_t *cap)
{
	state_endpoint *e;
	out->endpoints = xgrow(out->endpoints, cap, out->nendpoints + 1, sizeof(*e));
	e = &out->endpoints[out->nendpoints++];
	e->id = state__col_str(st, 0);
	e->branch_id = state__col_str(st, 1);
	e->read_write = db_col_int(st, 2) != 0;
	e->min_cu = db_col_double(st, 3);
	e->max_cu = db_col_double(st, 4);
	e->suspend_timeout_seconds = db_col_i64(st, 5);
	e->disabled = db_col_int(st, 6) != 0;
	e->current_state = state__col_str(st, 7);
	e->last_active = state__col_str(st, 8);
	e->name = state__col_str(st, 9);
}

void state__fill_database(db_stmt *st, state_deep *out, size_t *cap)
{
	state_database *db;
	out->databases = xgrow(out->databases, cap, out->ndatabases + 1, sizeof(*db));
	db = &out->databases[out->ndatabases++];
	db->branch_id = state__col_str(st, 0);
	db->name = state__col_str(st, 1);
	db->owner = state__col_str(st, 2);
}

void state__fill_role(db_stmt *st, state_deep *out, size_t *cap)
{
	state_role *r;
	out->roles = xgrow(out->roles, cap, out->nroles + 1, sizeof(*r));
	r = &out->roles[out->nroles++];
	r->branch_id = state__col_str(st, 0);
	r->name = state__col_str(st, 1);
}

/* The four sets, in the order and with the messages of a deep read. */
static int get_sets(state *s, const char *pid, state_deep *out)
{
	int rc;

	if ((rc = get_rows(s, pid, "SELECT id, name, parent_id, is_default, protected, annotations_json, "
			   "created_at, updated_at FROM branches WHERE project_id = ?1 ORDER BY id",
			   "reading branches", out, state__fill_branch)) != 0 ||
	    (rc = get_rows(s, pid, "SELECT id, branch_id, read_write, min_cu, max_cu, suspend_timeout_seconds, "
			   "disabled, current_state, last_active, name FROM endpoints WHERE project_id = ?1 "
			   "ORDER BY id", "reading endpoints", out, state__fill_endpoint)) != 0 ||
	    (rc = get_rows(s, pid, "SELECT branch_id, name, owner FROM databases WHERE project_id = ?1 "
			   "ORDER BY branch_id, name", "reading databases", out, state__fill_database)) != 0)
		return rc;
	return get_rows(s, pid, "SELECT branch_id, name FROM roles WHERE project_id = ?1 ORDER BY branch_id, name",
			"reading roles", out, state__fill_role);
}

int state_deep_get(state *s, const char *project_id, state_deep *out)
{
	int64_t known = 0;
	db_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!project_id)
		return err_set(ERR_INVALID, "state: project id is missing");
	/* many lookups in one read transaction: served from its snapshot */
	if ((rc = state__snap_deep(s, project_id, out)) != STATE__SNAP_MISS)
		return rc;
	/* one snapshot: the four sets of one deep read, never of two */
	if ((rc = state__begin(s, false)) != 0)
		return rc;
	if ((rc = state__stmt(s, "SELECT count(*) FROM projects WHERE id = ?1", &st)) != 0)
		goto done;
	db_bind_text(st, 1, project_id);
	if ((rc = state__step_one(s, st, "reading a project")) == 0)
		known = db_col_i64(st, 0);
	state__reset(st);
	if (rc != 0)
		goto done;
	if (!known) {
		rc = err_set(ERR_NOTFOUND, "project '%s' is not in the cache", project_id);
		goto done;
	}
	rc = get_sets(s, project_id, out);
done:
	if (rc == 0)
		rc = state__commit(s);
	else
		state__rollback(s);
	if (rc != 0)
		state_deep_release(out);
	return rc;
}

static char *dup_or_null(const char *v)
{
	return v ? xstrdup(v) : NULL;
}

void state__deep_copy(const state_deep *from, state_deep *to)
{
	memset(to, 0, sizeof(*to));
	if (from->nbranches)
		to->branches = xcalloc(from->nbranches, sizeof(*to->branches));
	for (size_t i = 0; i < from->nbranches; i++) {
		const state_branch *f = &from->branches[i];
		state_branch *t = &to->branches[i];
		*t = *f;
		t->id = dup_or_null(f->id);
		t->name = dup_or_null(f->name);
		t->parent_id = dup_or_null(f->parent_id);
		t->annotations_json = dup_or_null(f->annotations_json);
		t->created_at = dup_or_null(f->created_at);
		t->updated_at = dup_or_null(f->updated_at);
	}
	to->nbranches = from->nbranches;
	if (from->nendpoints)
		to->endpoints = xcalloc(from->nendpoints, sizeof(*to->endpoints));
	for (size_t i = 0; i < from->nendpoints; i++) {
		const state_endpoint *f = &from->endpoints[i];
		state_endpoint *t = &to->endpoints[i];
		*t = *f;
		t->id = dup_or_null(f->id);
		t->branch_id = dup_or_null(f->branch_id);
		t->current_state = dup_or_null(f->current_state);
		t->last_active = dup_or_null(f->last_active);
		t->name = dup_or_null(f->name);
	}
	to->nendpoints = from->nendpoints;
	if (from->ndatabases)
		to->databases = xcalloc(from->ndatabases, sizeof(*to->databases));
	for (size_t i = 0; i < from->ndatabases; i++) {
		to->databases[i].branch_id = dup_or_null(from->databases[i].branch_id);
		to->databases[i].name = dup_or_null(from->databases[i].name);
		to->databases[i].owner = dup_or_null(from->databases[i].owner);
	}
	to->ndatabases = from->ndatabases;
	if (from->nroles)
		to->roles = xcalloc(from->nroles, sizeof(*to->roles));
	for (size_t i = 0; i < from->nroles; i++) {
		to->roles[i].branch_id = dup_or_null(from->roles[i].branch_id);
		to->roles[i].name = dup_or_null(from->roles[i].name);
	}
	to->nroles = from->nroles;
}

void state_deep_release(state_deep *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->nbranches; i++) {
		free(d->branches[i].id);
		free(d->branches[i].name);
		free(d->branches[i].parent_id);
		free(d->branches[i].annotations_json);
		free(d->branches[i].created_at);
		free(d->branches[i].updated_at);
	}
	for (i = 0; i < d->nendpoints; i++) {
		free(d->endpoints[i].id);
		free(d->endpoints[i].branch_id);
		free(d->endpoints[i].current_state);
		free(d->endpoints[i].last_active);
		free(d->endpoints[i].name);
	}
	for (i = 0; i < d->ndatabases; i++) {
		free(d->databases[i].branch_id);
		free(d->databases[i].name);
		free(d->databases[i].owner);
	}
	for (i = 0; i < d->nroles; i++) {
		free(d->roles[i].branch_id);
		free(d->roles[i].name);
	}
	free(d->branches);
	free(d->endpoints);
	free(d->databases);
	free(d->roles);
	memset(d, 0, sizeof(*d));
}

/* ------------------------------------------- branches a restore preserved */

static int preserved_rows(state *s, const char *pattern, size_t max, state_preserved **out, size_t *n)
{
	db_stmt *st;
	int rc = state__stmt(s, "SELECT t.tenant, b.project_id, b.id, b.name, b.created_at FROM branches b "
			     "JOIN tenants t ON t.project_id = b.project_id WHERE b.is_default = 0 AND b.name LIKE ?1 "
			     "ORDER BY coalesce(b.created_at, ''), t.tenant, b.name LIMIT ?2", &st);
	if (rc != 0)
		return rc;
	db_bind_text(st, 1, pattern);
	db_bind_i64(st, 2, (int64_t)max);
	*out = xcalloc(max + 1, sizeof(**out));
	int step;
	while ((step = db_step(st)) == DB_ROW && *n < max)
		(*out)[(*n)++] = (state_preserved){state__col_str(st, 0), state__col_str(st, 1), state__col_str(st, 2),
						   state__col_str(st, 3), state__col_str(st, 4)};
	rc = step == DB_DONE || step == DB_ROW ? 0 : state__fail(s, step, "reading the preserved branches");
	state__reset(st);
	return rc;
}

int state_preserved_list(state *s, const char *prefix, size_t max, int64_t *total, state_preserved **out, size_t *n)
{
	*total = 0;
	*out = NULL;
	*n = 0;
	char pattern[64];
	if (!prefix || strpbrk(prefix, "%_\\") || snprintf(pattern, sizeof(pattern), "%s%%", prefix) >= (int)sizeof(pattern))
		return err_set(ERR_INVALID, "state: a preserved branch prefix must be short, without %% _ or \\");
	db_stmt *st;
	int rc = state__begin(s, false);
	if (rc != 0)
		return rc;
	if ((rc = state__stmt(s, "SELECT count(*) FROM branches b JOIN tenants t ON t.project_id = b.project_id "
			      "WHERE b.is_default = 0 AND b.name LIKE ?1", &st)) != 0)
		goto done;
	db_bind_text(st, 1, pattern);
	if ((rc = state__step_one(s, st, "counting the preserved branches")) == 0)
		*total = db_col_i64(st, 0);
	state__reset(st);
	if (rc == 0 && max)
		rc = preserved_rows(s, pattern, max, out, n);
done:
	if (rc == 0)
		rc = state__commit(s);
	else
		state__rollback(s);
	if (rc != 0) {
		state_preserved_release(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

void state_preserved_release(state_preserved *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].tenant);
		free(v[i].project_id);
		free(v[i].branch_id);
		free(v[i].name);
		free(v[i].created_at);
	}
	free(v);
}
