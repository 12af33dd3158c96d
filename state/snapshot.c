/*
 * snapshot.c: a read transaction's snapshot in memory (internal.h). A plan
 * of a large fleet runs in one read transaction and looks each tenant's
 * project and deep rows up one by one: on SQLite each lookup is an index
 * probe in the process, on PostgreSQL a round trip. On a backend that asks
 * for it (db_driver.snapshots), once a read transaction has made
 * STATE__SNAP_AFTER lookups of projects or deep rows, the projects and
 * the four deep tables are read whole (cursor walks, ordered by project)
 * and the transaction's later lookups are answered from memory. The
 * transaction's snapshot is one (REPEATABLE READ), so the answers are the
 * ones the lookups would have given. Writing, or ending the transaction,
 * drops it.
 */
#include "state/internal.h"

#include <string.h>

typedef struct snap_deep {
	char *id;      /* the project's; the key in state_snap.deep */
	state_deep d;
	size_t cap[4]; /* capacities of d's four arrays */
} snap_deep;

typedef struct state_snap {
	int lookups;
	bool loaded, failed;
	strmap *projects;       /* id -> state_project * (owned, in `all`) */
	strmap *deep;           /* project id -> snap_deep * (owned, in `deeps`) */
	state_project **all;
	size_t nall, capall;
	snap_deep **deeps;
	size_t ndeeps, capdeeps;
	snap_deep *cur;         /* the walk's current project (rows come ordered by it) */
} state_snap;

/* Free what a snapshot holds; the struct stays, empty. */
static void clear(state_snap *sn)
{
	for (size_t i = 0; i < sn->nall; i++) {
		state_project_release(sn->all[i]);
		free(sn->all[i]);
	}
	for (size_t i = 0; i < sn->ndeeps; i++) {
		state_deep_release(&sn->deeps[i]->d);
		free(sn->deeps[i]->id);
		free(sn->deeps[i]);
	}
	free(sn->all);
	free(sn->deeps);
	strmap_free(sn->projects);
	strmap_free(sn->deep);
	memset(sn, 0, sizeof(*sn));
}

void state__snap_drop(state *s)
{
	if (!s->snap)
		return;
	clear(s->snap);
	free(s->snap);
	s->snap = NULL;
}

static int project_row(db_stmt *st, void *arg)
{
	state_snap *sn = arg;
	state_project *p = xmalloc(sizeof(*p));

	state__read_project(st, p, true);
	sn->all = xgrow(sn->all, &sn->capall, sn->nall + 1, sizeof(*sn->all));
	sn->all[sn->nall++] = p;
	strmap_put(sn->projects, p->id, p);
	return 0;
}

/* The entry of the row's project (its id in column `col`). */
static snap_deep *deep_of(state_snap *sn, db_stmt *st, int col)
{
	const char *pid = state__col_text(st, col, false);

	if (!pid)
		pid = "";
	if (sn->cur && strcmp(sn->cur->id, pid) == 0)
		return sn->cur;
	snap_deep *e = strmap_get(sn->deep, pid);
	if (!e) {
		e = xcalloc(1, sizeof(*e));
		e->id = xstrdup(pid); /* strmap borrows its keys */
		sn->deeps = xgrow(sn->deeps, &sn->capdeeps, sn->ndeeps + 1, sizeof(*sn->deeps));
		sn->deeps[sn->ndeeps++] = e;
		strmap_put(sn->deep, e->id, e);
	}
	sn->cur = e;
	return e;
}

static int branch_row(db_stmt *st, void *arg)
{
	snap_deep *e = deep_of(arg, st, 8);
	state__fill_branch(st, &e->d, &e->cap[0]);
	return 0;
}

static int endpoint_row(db_stmt *st, void *arg)
{
	snap_deep *e = deep_of(arg, st, 10);
	state__fill_endpoint(st, &e->d, &e->cap[1]);
	return 0;
}

static int database_row(db_stmt *st, void *arg)
{
	snap_deep *e = deep_of(arg, st, 3);
	state__fill_database(st, &e->d, &e->cap[2]);
	return 0;
}

static int role_row(db_stmt *st, void *arg)
{
	snap_deep *e = deep_of(arg, st, 2);
	state__fill_role(st, &e->d, &e->cap[3]);
	return 0;
}

/* Read the tables whole, in the transaction's snapshot: each deep set in
 * the order state_deep_get reads it, after its project's id. */
static int load(state *s, state_snap *sn)
{
	int rc;

	sn->projects = strmap_new();
	sn->deep = strmap_new();
	if ((rc = state__foreach(s, "SELECT " STATE_PROJECT_COLUMNS " FROM projects", "reading projects",
				 project_row, sn)) != 0 ||
	    (rc = state__foreach(s, "SELECT id, name, parent_id, is_default, protected, annotations_json, "
				    "created_at, updated_at, project_id FROM branches ORDER BY project_id, id",
				 "reading branches", branch_row, sn)) != 0 ||
	    (rc = state__foreach(s, "SELECT id, branch_id, read_write, min_cu, max_cu, suspend_timeout_seconds, "
				    "disabled, current_state, last_active, name, project_id FROM endpoints "
				    "ORDER BY project_id, id", "reading endpoints", endpoint_row, sn)) != 0 ||
	    (rc = state__foreach(s, "SELECT branch_id, name, owner, project_id FROM databases "
				    "ORDER BY project_id, branch_id, name", "reading databases", database_row, sn)) != 0)
		return rc;
	sn->cur = NULL;
	rc = state__foreach(s, "SELECT branch_id, name, project_id FROM roles ORDER BY project_id, branch_id, name",
			    "reading roles", role_row, sn);
	sn->cur = NULL;
	return rc;
}

/* The snapshot, when this lookup should be served from it; NULL when the
 * database should answer (no read transaction, too few lookups yet, a
 * backend without snapshots, or a load that failed). */
static state_snap *serving(state *s)
{
	state_snap *sn;

	if (!s->drv->snapshots || !s->read_txn || s->depth == 0)
		return NULL;
	if (!s->snap)
		s->snap = xcalloc(1, sizeof(*s->snap));
	sn = s->snap;
	if (sn->loaded)
		return sn;
	if (sn->failed || ++sn->lookups <= STATE__SNAP_AFTER)
		return NULL;
	if (load(s, sn) != 0) {
		/* the lookups go on one by one; their own errors speak */
		clear(sn);
		sn->failed = true;
		return NULL;
	}
	sn->loaded = true;
	return sn;
}

int state__snap_project(state *s, const char *id, state_project *out)
{
	state_snap *sn = serving(s);
	const state_project *p;

	if (!sn)
		return STATE__SNAP_MISS;
	if (!(p = strmap_get(sn->projects, id)))
		return err_set(ERR_NOTFOUND, "project '%s' is not in the cache", id);
	state__project_copy(p, out);
	return 0;
}

int state__snap_deep(state *s, const char *project_id, state_deep *out)
{
	state_snap *sn = serving(s);
	const snap_deep *e;

	if (!sn)
		return STATE__SNAP_MISS;
	if (!strmap_get(sn->projects, project_id))
		return err_set(ERR_NOTFOUND, "project '%s' is not in the cache", project_id);
	if ((e = strmap_get(sn->deep, project_id)) != NULL)
		state__deep_copy(&e->d, out);
	return 0;
}
