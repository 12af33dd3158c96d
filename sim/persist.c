/*
 * persist.c: `flotilla-sim --data FILE`: the sim's state kept across
 * restarts in SQLite, one JSON document per project, written through after
 * every successful write (WAL, so a killed sim keeps what it answered).
 *
 * This is the sim's own persistence (DESIGN.md allows it sqlite3 beside
 * state/); its format is private and may change between versions.
 * Operations read back have ended (finished, or error for one that failed
 * for good): the real clock they ran on is gone.
 */
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include "sim/sim.h"

struct sim_persist {
	sqlite3 *db;
	sqlite3_stmt *save, *remove, *save_rng;
};

/* Operation actions are static strings in memory; map a stored one back. */
static const char *intern_action(const char *a)
{
	static const char *const KNOWN[] = {"create_timeline", "start_compute", "suspend_compute", "apply_config",
					    "apply_storage_config", "delete_timeline", "create_branch",
					    "create_compute", "check_availability", "replace_safekeeper",
					    "timeline_unarchive", "prepare_secondary_pageserver"};
	for (size_t i = 0; i < ARRAY_LEN(KNOWN); i++)
		if (a && strcmp(a, KNOWN[i]) == 0)
			return KNOWN[i];
	return "apply_config";
}

static json_t *opt_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

static char *get_str(const json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? xstrdup(v) : NULL;
}

static int64_t get_int(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static json_t *get_obj(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_object(v) ? json_deep_copy(v) : NULL;
}

/* A branch in dump's form, with its history, roles and databases. */
static json_t *dump_branch(const sim_branch *b)
{
	json_t *bo = json_object();
	json_object_set_new(bo, "id", json_string(b->id));
	json_object_set_new(bo, "name", json_string(b->name));
	json_object_set_new(bo, "parent_id", opt_str(b->parent_id));
	json_object_set_new(bo, "parent_lsn", opt_str(b->parent_lsn));
	json_object_set_new(bo, "parent_timestamp", opt_str(b->parent_timestamp));
	json_object_set_new(bo, "init_source", opt_str(b->init_source));
	json_object_set_new(bo, "default", json_boolean(b->is_default));
	json_object_set_new(bo, "protected", json_boolean(b->protected_));
	json_object_set_new(bo, "annotations", b->annotations ? json_incref(b->annotations) : json_null());
	if (b->backup_schedule)
		json_object_set_new(bo, "backup_schedule", json_incref(b->backup_schedule));
	json_object_set_new(bo, "created_at", json_integer(b->created_at));
	json_object_set_new(bo, "updated_at", json_integer(b->updated_at));
	json_object_set_new(bo, "expires_at", json_integer(b->expires_at));
	json_object_set_new(bo, "backup_filled_to", json_integer(b->backup_filled_to));
	if (b->restore_status) {
		json_object_set_new(bo, "restore_status", json_integer(b->restore_status));
		json_object_set_new(bo, "restored_from", json_string(b->restored_from));
		json_object_set_new(bo, "restored_as", json_string(b->restored_as));
	}
	json_t *ws = json_array();
	for (size_t k = 0; k < b->nwrites; k++)
		json_array_append_new(ws, json_pack("[I,I,I]", (json_int_t)b->writes[k].at, (json_int_t)b->writes[k].lsn,
						    (json_int_t)b->writes[k].version));
	json_object_set_new(bo, "writes", ws);
	json_t *roles = json_array();
	for (size_t k = 0; k < b->nroles; k++) {
		const sim_role *r = &b->roles[k];
		json_t *ro = json_object();
		json_object_set_new(ro, "name", json_string(r->name));
		json_object_set_new(ro, "password", opt_str(r->password));
		json_object_set_new(ro, "no_login", json_boolean(r->no_login));
		json_object_set_new(ro, "protected", json_boolean(r->protected_));
		json_object_set_new(ro, "created_at", json_integer(r->created_at));
		json_object_set_new(ro, "updated_at", json_integer(r->updated_at));
		json_array_append_new(roles, ro);
	}
	json_object_set_new(bo, "roles", roles);
	json_t *dbs = json_array();
	for (size_t k = 0; k < b->ndbs; k++) {
		const sim_database *d = &b->dbs[k];
		json_t *dobj = json_object();
		json_object_set_new(dobj, "id", json_integer(d->id));
		json_object_set_new(dobj, "name", json_string(d->name));
		json_object_set_new(dobj, "owner", json_string(d->owner));
		json_object_set_new(dobj, "created_at", json_integer(d->created_at));
		json_object_set_new(dobj, "updated_at", json_integer(d->updated_at));
		json_array_append_new(dbs, dobj);
	}
	json_object_set_new(bo, "dbs", dbs);
	return bo;
}

static json_t *dump(const sim_project *p)
{
	json_t *o = json_object();
	json_object_set_new(o, "seq", json_integer((json_int_t)p->seq));
	json_object_set_new(o, "id", json_string(p->id));
	json_object_set_new(o, "name", json_string(p->name));
	json_object_set_new(o, "region_id", json_string(p->region_id));
	json_object_set_new(o, "org_id", opt_str(p->org_id));
	json_object_set_new(o, "pg_version", json_integer(p->pg_version));
	json_object_set_new(o, "history_retention", json_integer(p->history_retention));
	json_object_set_new(o, "store_passwords", json_boolean(p->store_passwords));
	json_object_set(o, "settings", p->settings);
	json_object_set(o, "default_endpoint_settings", p->default_endpoint_settings);
	json_object_set_new(o, "created_at", json_integer(p->created_at));
	json_object_set_new(o, "updated_at", json_integer(p->updated_at));
	json_object_set_new(o, "deleted_at", json_integer(p->deleted_at));
	json_object_set_new(o, "active_seconds", json_integer(p->active_seconds));
	json_object_set_new(o, "compute_seconds", json_integer(p->compute_seconds));
	json_object_set_new(o, "db_seq", json_integer(p->db_seq));
	json_t *brs = json_array();
	for (size_t i = 0; i < p->nbranches; i++)
		json_array_append_new(brs, dump_branch(&p->branches[i]));
	json_object_set_new(o, "branches", brs);
	json_t *eps = json_array();
	for (size_t i = 0; i < p->nendpoints; i++) {
		const sim_endpoint *e = &p->endpoints[i];
		json_t *eo = json_object();
		json_object_set_new(eo, "id", json_string(e->id));
		json_object_set_new(eo, "branch_id", json_string(e->branch_id));
		json_object_set_new(eo, "name", opt_str(e->name));
		json_object_set_new(eo, "read_write", json_boolean(e->read_write));
		json_object_set_new(eo, "min_cu", json_real(e->min_cu));
		json_object_set_new(eo, "max_cu", json_real(e->max_cu));
		json_object_set_new(eo, "suspend_timeout", json_integer(e->suspend_timeout));
		json_object_set_new(eo, "disabled", json_boolean(e->disabled));
		json_object_set_new(eo, "settings", e->settings ? json_incref(e->settings) : json_null());
		json_object_set_new(eo, "created_at", json_integer(e->created_at));
		json_object_set_new(eo, "updated_at", json_integer(e->updated_at));
		json_object_set_new(eo, "last_active", json_integer(e->last_active));
		json_object_set_new(eo, "started_at", json_integer(e->started_at));
		json_object_set_new(eo, "suspended", json_boolean(e->suspended));
		json_object_set_new(eo, "accrued_to", json_integer(e->accrued_to));
		json_array_append_new(eps, eo);
	}
	json_object_set_new(o, "endpoints", eps);
	json_t *ops = json_array();
	for (size_t i = 0; i < p->nops; i++) {
		const sim_op *op = &p->ops[i];
		json_t *oo = json_object();
		json_object_set_new(oo, "id", json_string(op->id));
		json_object_set_new(oo, "action", json_string(op->action));
		json_object_set_new(oo, "branch_id", json_string(op->branch_id));
		json_object_set_new(oo, "endpoint_id", json_string(op->endpoint_id));
		json_object_set_new(oo, "created_at", json_integer(op->created_at));
		json_object_set_new(oo, "duration_ms", json_integer(op->done_ms - op->start_ms));
		json_object_set_new(oo, "delay_ms", json_integer(op->delay_ms));
		json_object_set_new(oo, "fate", json_integer(op->fate));
		json_array_append_new(ops, oo);
	}
	json_object_set_new(o, "ops", ops);
	json_t *usage = json_array();
	for (size_t i = 0; i < p->nusage; i++)
		json_array_append_new(usage, json_pack("[III]", (json_int_t)p->usage[i].hour,
						       (json_int_t)p->usage[i].active_seconds,
						       (json_int_t)p->usage[i].compute_seconds));
	json_object_set_new(o, "usage", usage);
	json_t *snaps = json_array();
	for (size_t i = 0; i < p->nsnaps; i++) {
		const sim_snapshot *sn = &p->snaps[i];
		json_array_append_new(snaps, json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:b,s:I}", "id", sn->id, "name",
						       sn->name, "source_branch_id", sn->source_branch_id, "lsn",
						       sn->lsn, "at", (json_int_t)sn->at, "created_at",
						       (json_int_t)sn->created_at, "expires_at",
						       (json_int_t)sn->expires_at, "manual", sn->manual, "version",
						       (json_int_t)sn->version));
	}
	json_object_set_new(o, "snapshots", snaps);
	return o;
}

/* Append the snapshot v (dump's form) to p; one without an id, name or
 * source is left out. */
static void undump_snapshot(sim_project *p, const json_t *v)
{
	const char *id = json_string_value(json_object_get(v, "id"));
	const char *name = json_string_value(json_object_get(v, "name"));
	const char *src = json_string_value(json_object_get(v, "source_branch_id"));
	const char *lsn = json_string_value(json_object_get(v, "lsn"));
	if (!id || !name || !src)
		return;
	if (p->nsnaps == p->capsnaps)
		p->snaps = sim_grow(p->snaps, &p->capsnaps, p->nsnaps + 1, sizeof(*p->snaps));
	sim_snapshot *sn = &p->snaps[p->nsnaps++];
	memset(sn, 0, sizeof(*sn));
	sn->id = xstrdup(id);
	sn->name = xstrdup(name);
	sn->source_branch_id = xstrdup(src);
	str_copy(sn->lsn, lsn ? lsn : "0/0", sizeof(sn->lsn));
	sn->at = get_int(v, "at");
	sn->created_at = get_int(v, "created_at");
	sn->expires_at = get_int(v, "expires_at");
	sn->manual = json_is_true(json_object_get(v, "manual"));
	sn->version = get_int(v, "version");
}

/* Append the branch v (dump's form, with its roles and databases) to p. */
static void undump_branch(sim_project *p, const json_t *v)
{
	if (p->nbranches == p->capbranches)
		p->branches = sim_grow(p->branches, &p->capbranches, p->nbranches + 1, sizeof(*p->branches));
	sim_branch *b = &p->branches[p->nbranches++];
	memset(b, 0, sizeof(*b));
	b->id = get_str(v, "id");
	b->name = get_str(v, "name");
	b->parent_id = get_str(v, "parent_id");
	b->parent_lsn = get_str(v, "parent_lsn");
	b->parent_timestamp = get_str(v, "parent_timestamp");
	b->init_source = get_str(v, "init_source");
	b->is_default = json_is_true(json_object_get(v, "default"));
	b->protected_ = json_is_true(json_object_get(v, "protected"));
	b->annotations = get_obj(v, "annotations");
	json_t *bs = json_object_get(v, "backup_schedule");
	b->backup_schedule = json_is_array(bs) ? json_incref(bs) : NULL;
	b->created_at = get_int(v, "created_at");
	b->updated_at = get_int(v, "updated_at");
	b->expires_at = get_int(v, "expires_at");
	b->backup_filled_to = get_int(v, "backup_filled_to");
	b->restored_from = get_str(v, "restored_from");
	b->restored_as = get_str(v, "restored_as");
	json_int_t rs = get_int(v, "restore_status");
	if (b->restored_from && b->restored_as && (rs == SIM_RESTORE_RESTORED || rs == SIM_RESTORE_FINALIZED))
		b->restore_status = (uint8_t)rs;
	size_t k;
	json_t *w;
	json_array_foreach(json_object_get(v, "writes"), k, w) {
		if (b->nwrites == b->capwrites)
			b->writes = sim_grow(b->writes, &b->capwrites, b->nwrites + 1, sizeof(*b->writes));
		b->writes[b->nwrites++] = (sim_write){json_integer_value(json_array_get(w, 0)),
						      (uint64_t)json_integer_value(json_array_get(w, 1)),
						      json_integer_value(json_array_get(w, 2))};
	}
	json_array_foreach(json_object_get(v, "roles"), k, w) {
		if (b->nroles == b->caproles)
			b->roles = sim_grow(b->roles, &b->caproles, b->nroles + 1, sizeof(*b->roles));
		sim_role *r = &b->roles[b->nroles++];
		memset(r, 0, sizeof(*r));
		r->name = get_str(w, "name");
		r->password = get_str(w, "password");
		r->no_login = json_is_true(json_object_get(w, "no_login"));
		r->protected_ = json_is_true(json_object_get(w, "protected"));
		r->created_at = get_int(w, "created_at");
		r->updated_at = get_int(w, "updated_at");
	}
	json_array_foreach(json_object_get(v, "dbs"), k, w) {
		if (b->ndbs == b->capdbs)
			b->dbs = sim_grow(b->dbs, &b->capdbs, b->ndbs + 1, sizeof(*b->dbs));
		sim_database *d = &b->dbs[b->ndbs++];
		memset(d, 0, sizeof(*d));
		d->id = get_int(w, "id");
		d->name = get_str(w, "name");
		d->owner = get_str(w, "owner");
		d->created_at = get_int(w, "created_at");
		d->updated_at = get_int(w, "updated_at");
	}
}

/* Append the endpoint v (dump's form) to p. */
static void undump_endpoint(sim_project *p, const json_t *v)
{
	if (p->nendpoints == p->capendpoints)
		p->endpoints = sim_grow(p->endpoints, &p->capendpoints, p->nendpoints + 1, sizeof(*p->endpoints));
	sim_endpoint *e = &p->endpoints[p->nendpoints++];
	memset(e, 0, sizeof(*e));
	e->id = get_str(v, "id");
	e->branch_id = get_str(v, "branch_id");
	e->name = get_str(v, "name");
	e->read_write = json_is_true(json_object_get(v, "read_write"));
	e->min_cu = json_number_value(json_object_get(v, "min_cu"));
	e->max_cu = json_number_value(json_object_get(v, "max_cu"));
	e->suspend_timeout = get_int(v, "suspend_timeout");
	e->disabled = json_is_true(json_object_get(v, "disabled"));
	e->settings = get_obj(v, "settings");
	e->created_at = get_int(v, "created_at");
	e->updated_at = get_int(v, "updated_at");
	e->last_active = get_int(v, "last_active");
	e->started_at = get_int(v, "started_at");
	e->suspended = json_is_true(json_object_get(v, "suspended"));
	e->accrued_to = get_int(v, "accrued_to");
}

/* Append the operation v (dump's form) to p, ended. */
static void undump_op(sim_project *p, const json_t *v)
{
	if (p->nops == p->capops)
		p->ops = sim_grow(p->ops, &p->capops, p->nops + 1, sizeof(*p->ops));
	sim_op *op = &p->ops[p->nops++];
	memset(op, 0, sizeof(*op));
	str_copy(op->id, json_string_value(json_object_get(v, "id")) ? json_string_value(json_object_get(v, "id")) : "", sizeof(op->id));
	op->action = intern_action(json_string_value(json_object_get(v, "action")));
	const char *bid = json_string_value(json_object_get(v, "branch_id"));
	const char *eid = json_string_value(json_object_get(v, "endpoint_id"));
	str_copy(op->branch_id, bid ? bid : "", sizeof(op->branch_id));
	str_copy(op->endpoint_id, eid ? eid : "", sizeof(op->endpoint_id));
	op->created_at = get_int(v, "created_at");
	/* ended: the real clock it ran on is gone, so it starts long before
	 * any reading of the monotonic clock; files from before delay_ms
	 * and fate hold operations that finished in one attempt */
	int64_t total = get_int(v, "duration_ms");
	json_int_t fate = get_int(v, "fate");
	op->fate = fate == SIM_OP_RETRIED || fate == SIM_OP_ERROR ? (uint8_t)fate : SIM_OP_OK;
	op->delay_ms = json_object_get(v, "delay_ms") ? get_int(v, "delay_ms") : total;
	op->start_ms = INT64_MIN / 4;
	op->done_ms = op->start_ms + total;
}

/* The project dump made, or NULL when it lacks an id, name or region. */
static sim_project *undump(const json_t *o)
{
	sim_project *p = xcalloc(1, sizeof(*p));
	p->seq = (uint64_t)get_int(o, "seq");
	p->id = get_str(o, "id");
	p->name = get_str(o, "name");
	p->region_id = get_str(o, "region_id");
	p->org_id = get_str(o, "org_id");
	if (!p->id || !p->name || !p->region_id) {
		free(p->id);
		free(p->name);
		free(p->region_id);
		free(p->org_id);
		free(p);
		return NULL;
	}
	p->pg_version = (int)get_int(o, "pg_version");
	p->history_retention = get_int(o, "history_retention");
	p->store_passwords = json_is_true(json_object_get(o, "store_passwords"));
	p->settings = get_obj(o, "settings");
	p->default_endpoint_settings = get_obj(o, "default_endpoint_settings");
	if (!p->settings)
		p->settings = json_object();
	if (!p->default_endpoint_settings)
		p->default_endpoint_settings = json_object();
	p->created_at = get_int(o, "created_at");
	p->updated_at = get_int(o, "updated_at");
	p->deleted_at = get_int(o, "deleted_at");
	p->active_seconds = get_int(o, "active_seconds");
	p->compute_seconds = get_int(o, "compute_seconds");
	p->db_seq = get_int(o, "db_seq");
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(o, "branches"), i, v)
		undump_branch(p, v);
	json_array_foreach(json_object_get(o, "endpoints"), i, v)
		undump_endpoint(p, v);
	json_array_foreach(json_object_get(o, "ops"), i, v)
		undump_op(p, v);
	json_array_foreach(json_object_get(o, "usage"), i, v) {
		if (p->nusage == p->capusage)
			p->usage = sim_grow(p->usage, &p->capusage, p->nusage + 1, sizeof(*p->usage));
		p->usage[p->nusage].hour = json_integer_value(json_array_get(v, 0));
		p->usage[p->nusage].active_seconds = json_integer_value(json_array_get(v, 1));
		p->usage[p->nusage].compute_seconds = json_integer_value(json_array_get(v, 2));
		p->nusage++;
	}
	json_array_foreach(json_object_get(o, "snapshots"), i, v)
		undump_snapshot(p, v);
	return p;
}

static int exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int rc = err_set(ERR_IO, "sqlite: %s", msg ? msg : "error");
		sqlite3_free(msg);
		return rc;
	}
	return 0;
}

int sim_persist_open(sim_store *s, const char *path)
{
	struct sim_persist *ps = xcalloc(1, sizeof(*ps));
	int rc = 0;
	if (sqlite3_open_v2(path, &ps->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		rc = err_set(ERR_IO, "cannot open '%s': %s", path, sqlite3_errmsg(ps->db));
		goto fail;
	}
	chmod(path, 0600);
	sqlite3_busy_timeout(ps->db, 5000);
	if ((rc = exec(ps->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			       "CREATE TABLE IF NOT EXISTS projects (id TEXT PRIMARY KEY, seq INTEGER NOT NULL,"
			       " doc TEXT NOT NULL);"
			       "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);")) != 0)
		goto fail;
	if (sqlite3_prepare_v2(ps->db, "INSERT OR REPLACE INTO projects (id, seq, doc) VALUES (?, ?, ?)", -1,
			       &ps->save, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(ps->db, "DELETE FROM projects WHERE id = ?", -1, &ps->remove, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(ps->db, "INSERT OR REPLACE INTO meta (key, value) VALUES ('rng', ?)", -1,
			       &ps->save_rng, NULL) != SQLITE_OK) {
		rc = err_set(ERR_IO, "sqlite: %s", sqlite3_errmsg(ps->db));
		goto fail;
	}
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(ps->db, "SELECT doc FROM projects ORDER BY seq", -1, &q, NULL) != SQLITE_OK) {
		rc = err_set(ERR_IO, "sqlite: %s", sqlite3_errmsg(ps->db));
		goto fail;
	}
	while (sqlite3_step(q) == SQLITE_ROW) {
		json_error_t jerr;
		json_t *doc = json_loads((const char *)sqlite3_column_text(q, 0), 0, &jerr);
		sim_project *p = doc ? undump(doc) : NULL;
		json_decref(doc);
		if (!p) {
			sqlite3_finalize(q);
			rc = err_set(ERR_INVALID, "'%s' holds a project the sim cannot read back", path);
			goto fail;
		}
		sim_project_adopt(s, p);
	}
	sqlite3_finalize(q);
	/* the id generator goes on where it stopped: a restart never hands out
	 * an operation, branch or project id it gave before */
	if (sqlite3_prepare_v2(ps->db, "SELECT value FROM meta WHERE key = 'rng'", -1, &q, NULL) == SQLITE_OK) {
		if (sqlite3_step(q) == SQLITE_ROW)
			s->rng = (uint64_t)sqlite3_column_int64(q, 0);
		sqlite3_finalize(q);
	}
	s->persist = ps;
	return 0;
fail:
	sqlite3_finalize(ps->save);
	sqlite3_finalize(ps->remove);
	sqlite3_finalize(ps->save_rng);
	sqlite3_close(ps->db);
	free(ps);
	return rc;
}

void sim_persist_save(sim_store *s, sim_project *p)
{
	struct sim_persist *ps = s->persist;
	json_t *doc = dump(p);
	char *text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	sqlite3_bind_text(ps->save, 1, p->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ps->save, 2, (sqlite3_int64)p->seq);
	sqlite3_bind_text(ps->save, 3, text, -1, SQLITE_STATIC);
	if (sqlite3_step(ps->save) != SQLITE_DONE)
		log_error("sim: cannot save project", "project", p->id, "error", sqlite3_errmsg(ps->db));
	sqlite3_reset(ps->save);
	sqlite3_clear_bindings(ps->save);
	free(text);
	sqlite3_bind_int64(ps->save_rng, 1, (sqlite3_int64)s->rng);
	if (sqlite3_step(ps->save_rng) != SQLITE_DONE)
		log_error("sim: cannot save the id generator", "error", sqlite3_errmsg(ps->db));
	sqlite3_reset(ps->save_rng);
}

void sim_persist_remove(sim_store *s, const char *project_id)
{
	struct sim_persist *ps = s->persist;
	sqlite3_bind_text(ps->remove, 1, project_id, -1, SQLITE_STATIC);
	if (sqlite3_step(ps->remove) != SQLITE_DONE)
		log_error("sim: cannot remove project", "project", project_id, "error", sqlite3_errmsg(ps->db));
	sqlite3_reset(ps->remove);
	sqlite3_clear_bindings(ps->remove);
}

void sim_persist_clear(sim_store *s)
{
	if (exec(s->persist->db, "DELETE FROM projects; DELETE FROM meta;") != 0)
		log_error("sim: cannot clear the data file", "error", err_msg());
}

void sim_persist_close(sim_store *s)
{
	struct sim_persist *ps = s->persist;
	if (!ps)
		return;
	sqlite3_finalize(ps->save);
	sqlite3_finalize(ps->remove);
	sqlite3_finalize(ps->save_rng);
	sqlite3_close(ps->db);
	free(ps);
	s->persist = NULL;
}
