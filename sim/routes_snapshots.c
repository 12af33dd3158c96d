/*
 * routes_snapshots.c: Neon's snapshots (Beta in the OpenAPI document):
 * createSnapshot, listSnapshots, updateSnapshot, deleteSnapshot,
 * restoreSnapshot and finalizeRestoreBranch, and the snapshots a branch's
 * backup schedule (routes_backups.c) makes as sim time passes.
 *
 * A snapshot keeps the source branch's data version at its point (data.c),
 * apart from the branch: it outlives the branch and its history window. A
 * project keeps at most the plan's number (1 on free, 10 otherwise, as
 * Neon's docs say); a manual snapshot past it is 422, while scheduled ones
 * make room by dropping the oldest scheduled ones. Scheduled snapshots are
 * made lazily: every snapshot route first fills in the schedule times that
 * passed since the last fill (sim_snapshots_fill), and drops the snapshots
 * whose expires_at passed.
 *
 * Choices where Neon is not explicit (docs/sim.md):
 * - A restored branch is a root branch (no parent): it holds the
 *   snapshot's data, and the branch it replaces stays free to be deleted
 *   once finalized. Its roles and databases are the target's (the sim
 *   keeps no catalog history); restored_from and restored_as name the
 *   snapshot and the target.
 * - finalize: the target's computes move to the restored branch and
 *   restart (suspend_compute, start_compute; a disabled one just moves);
 *   the restored branch takes the target's name, the default flag, the
 *   protected flag and the backup schedule; the target is renamed to the
 *   body's name or "<name>_old_<RFC 3339 time>", keeps its parent and
 *   children, and stays until deleted.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/sim.h"

#define FULL_SIZE (30 * 1024 * 1024) /* the logical size every branch reports (render.c) */
#define MAX_NAME 256

static json_t *ts(int64_t t)
{
	char b[32];
	sim_time_format(t, b);
	return json_string(b);
}

static void set_str(char **field, const char *v)
{
	free(*field);
	*field = v ? xstrdup(v) : NULL;
}

static json_t *render(const sim_snapshot *sn)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(sn->id));
	json_object_set_new(o, "name", json_string(sn->name));
	json_object_set_new(o, "lsn", json_string(sn->lsn));
	json_object_set_new(o, "timestamp", ts(sn->at));
	json_object_set_new(o, "source_branch_id", json_string(sn->source_branch_id));
	json_object_set_new(o, "created_at", ts(sn->created_at));
	if (sn->expires_at)
		json_object_set_new(o, "expires_at", ts(sn->expires_at));
	json_object_set_new(o, "manual", json_boolean(sn->manual));
	json_object_set_new(o, "full_size", json_integer(FULL_SIZE));
	return o;
}

/* A new snapshot of b at (at, lsn), holding `version`; the pointer lasts
 * until the next one is added or removed. */
static sim_snapshot *snap_add(sim_store *s, sim_project *p, const sim_branch *b, const char *name, int64_t at,
			      const char *lsn, int64_t version)
{
	if (p->nsnaps == p->capsnaps)
		p->snaps = sim_grow(p->snaps, &p->capsnaps, p->nsnaps + 1, sizeof(*p->snaps));
	sim_snapshot *sn = &p->snaps[p->nsnaps++];
	memset(sn, 0, sizeof(*sn));
	char id[64];
	sim_gen_id(s, "snap", id);
	sn->id = xstrdup(id);
	sn->name = xstrdup(name);
	sn->source_branch_id = xstrdup(b->id);
	str_copy(sn->lsn, lsn, sizeof(sn->lsn));
	sn->at = at;
	sn->created_at = sim_now(s);
	sn->version = version;
	return sn;
}

static void snap_remove(sim_project *p, sim_snapshot *sn)
{
	size_t i = (size_t)(sn - p->snaps);
	free(sn->id);
	free(sn->name);
	free(sn->source_branch_id);
	memmove(&p->snaps[i], &p->snaps[i + 1], (p->nsnaps - i - 1) * sizeof(*sn));
	p->nsnaps--;
}

/* ------------------------------------------------- scheduled snapshots */

static int64_t item_int(const json_t *item, const char *key, int64_t dflt)
{
	const json_t *v = json_object_get(item, key);
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

/* Unix seconds of a UTC date; the day is cut to the month's last. */
static int64_t utc(int year, int mon, int64_t day, int64_t hour)
{
	struct tm tm = {0};
	tm.tm_year = year - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = 1;
	int64_t first = (int64_t)timegm(&tm);
	tm.tm_mon = mon + 1;
	int64_t last_day = ((int64_t)timegm(&tm) - first) / 86400;
	return first + ((day < last_day ? day : last_day) - 1) * 86400 + hour * 3600;
}

/*
 * The last time at or before t when `item` (a BackupScheduleItem) takes a
 * snapshot, in UTC: hourly on the hour; daily at `hour` (default 0);
 * weekly on ISO weekday `day` (1 Monday .. 7 Sunday, larger days taken
 * modulo 7; default 1) at `hour`; monthly on `day` (default 1, cut to the
 * month's last day) at `hour`; yearly on `month`/`day` (default January 1)
 * at `hour`. 0 for an unknown frequency.
 */
static int64_t boundary_before(const json_t *item, int64_t t)
{
	const char *f = json_string_value(json_object_get(item, "frequency"));
	int64_t hour = item_int(item, "hour", 0), day = item_int(item, "day", 1), month = item_int(item, "month", 1);
	int64_t midnight = t - (t % 86400 + 86400) % 86400;
	if (!f)
		return 0;
	if (strcmp(f, "hourly") == 0)
		return t - (t % 3600 + 3600) % 3600;
	if (strcmp(f, "daily") == 0) {
		int64_t c = midnight + hour * 3600;
		return c > t ? c - 86400 : c;
	}
	if (strcmp(f, "weekly") == 0) {
		int64_t wd = ((midnight / 86400) % 7 + 10) % 7; /* 1970-01-01 was a Thursday: 0 is Monday */
		int64_t want = (day - 1) % 7;
		int64_t c = midnight - ((wd - want + 7) % 7) * 86400 + hour * 3600;
		return c > t ? c - 7 * 86400 : c;
	}
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	int year = tm.tm_year + 1900;
	if (strcmp(f, "monthly") == 0) {
		int64_t c = utc(year, tm.tm_mon, day, hour);
		return c > t ? (tm.tm_mon ? utc(year, tm.tm_mon - 1, day, hour) : utc(year - 1, 11, day, hour)) : c;
	}
	if (strcmp(f, "yearly") == 0) {
		int64_t c = utc(year, (int)month - 1, day, hour);
		return c > t ? utc(year - 1, (int)month - 1, day, hour) : c;
	}
	return 0;
}

static bool scheduled_at(const sim_project *p, const sim_branch *b, int64_t at)
{
	for (size_t i = 0; i < p->nsnaps; i++)
		if (!p->snaps[i].manual && p->snaps[i].at == at && strcmp(p->snaps[i].source_branch_id, b->id) == 0)
			return true;
	return false;
}

/* The snapshots b's schedule item takes in (b->backup_filled_to, now]:
 * only the newest `limit`, as older ones would be dropped at once. */
static bool fill_item(sim_store *s, sim_project *p, size_t bi, const json_t *item, int64_t now, int64_t limit)
{
	bool changed = false;
	int64_t retention = item_int(item, "retention_seconds", 0);
	int64_t t = boundary_before(item, now);
	for (int64_t n = 0; n < limit && t > p->branches[bi].backup_filled_to; n++, t = boundary_before(item, t - 1)) {
		sim_branch *b = &p->branches[bi];
		if ((retention && t + retention <= now) || t < b->created_at || scheduled_at(p, b, t))
			continue;
		char lsn[32], when[32], *name;
		int64_t at;
		sim_data_point(s, p, b, NULL, t, &at, lsn);
		sim_time_format(t, when);
		name = xasprintf("%s@%s (%s)", b->name, when, json_string_value(json_object_get(item, "frequency")));
		sim_snapshot *sn = snap_add(s, p, b, name, t, lsn, sim_data_at(b, NULL, t));
		free(name);
		sn->created_at = t;
		sn->manual = false;
		sn->expires_at = retention ? t + retention : 0;
		changed = true;
	}
	return changed;
}

bool sim_snapshots_fill(sim_store *s, sim_project *p)
{
	int64_t now = sim_now(s), limit = sim_snapshots_limit(s->cfg);
	bool changed = false;
	for (size_t bi = 0; bi < p->nbranches; bi++) {
		sim_branch *b = &p->branches[bi];
		if (!b->backup_schedule || b->backup_filled_to >= now)
			continue;
		/* a schedule read back from a file older than this field starts now */
		if (b->backup_filled_to) {
			size_t k;
			const json_t *item;
			json_array_foreach(b->backup_schedule, k, item)
				changed |= fill_item(s, p, bi, item, now, limit);
		}
		p->branches[bi].backup_filled_to = now;
		changed = true;
	}
	for (size_t i = p->nsnaps; i > 0; i--)
		if (p->snaps[i - 1].expires_at && p->snaps[i - 1].expires_at <= now) {
			snap_remove(p, &p->snaps[i - 1]);
			changed = true;
		}
	while ((int64_t)p->nsnaps > limit) {
		sim_snapshot *oldest = NULL;
		for (size_t i = 0; i < p->nsnaps; i++)
			if (!p->snaps[i].manual && (!oldest || p->snaps[i].created_at < oldest->created_at))
				oldest = &p->snaps[i];
		if (!oldest)
			break;
		snap_remove(p, oldest);
		changed = true;
	}
	return changed;
}

/* ------------------------------------------------------------- helpers */

/* The project of params[0], its snapshots brought up to date. */
static sim_project *need_project(sim_req *r)
{
	sim_project *p = sim_need_project(r, 0);
	if (p && sim_snapshots_fill(r->s, p))
		r->touched = p;
	return p;
}

static sim_snapshot *need_snapshot(sim_req *r, sim_project *p, size_t param)
{
	for (size_t i = 0; i < p->nsnaps; i++)
		if (strcmp(p->snaps[i].id, r->params[param]) == 0)
			return &p->snaps[i];
	sim_error(r, 404, "", "snapshot '%s' not found", r->params[param]);
	return NULL;
}

/* A name given as a query parameter: absent, or 1..MAX_NAME bytes. */
static bool check_name(sim_req *r, const char *name, const char *what)
{
	if (name && (!*name || strlen(name) > MAX_NAME)) {
		sim_error(r, 400, "", "%s must be a string of 1 to %d characters", what, MAX_NAME);
		return false;
	}
	return true;
}

/* A name no other branch of p than `self` holds (409 otherwise). */
static bool name_free(sim_req *r, sim_project *p, const char *name, const sim_branch *self)
{
	sim_branch *other = sim_branch_find_name(p, name);
	if (!other || other == self)
		return true;
	sim_error(r, 409, "", "branch already exists: '%s'", name);
	return false;
}

/* ------------------------------------------------------------- finalize */

/*
 * Make the restored branch `ri` take the place of the branch it restored
 * into, `ti` (indexes into p->branches): computes, name, default and
 * protected flags, backup schedule. The target is renamed `old_name`.
 * Returns the operations added.
 */
static size_t finalize(sim_store *s, sim_project *p, size_t ri, size_t ti, const char *old_name)
{
	sim_branch *rb = &p->branches[ri], *tb = &p->branches[ti];
	int64_t now = sim_now(s);
	size_t nops = 0;
	char *orig = tb->name;
	tb->name = xstrdup(old_name);
	free(rb->name);
	rb->name = orig;
	rb->is_default = tb->is_default;
	tb->is_default = false;
	rb->protected_ = tb->protected_;
	tb->protected_ = false;
	if (tb->backup_schedule) { /* else the restored branch keeps its own, if any */
		json_decref(rb->backup_schedule);
		rb->backup_schedule = tb->backup_schedule;
		rb->backup_filled_to = tb->backup_filled_to;
		tb->backup_schedule = NULL;
		tb->backup_filled_to = 0;
	}
	rb->restore_status = SIM_RESTORE_FINALIZED;
	rb->updated_at = tb->updated_at = now;
	char rid[64];
	str_copy(rid, rb->id, sizeof(rid));
	for (size_t i = 0; i < p->nendpoints; i++) {
		sim_endpoint *e = &p->endpoints[i];
		if (strcmp(e->branch_id, tb->id) != 0)
			continue;
		set_str(&e->branch_id, rid);
		e->updated_at = now;
		if (e->disabled)
			continue;
		sim_endpoint_start(s, p, e);
		sim_op_add(s, p, "suspend_compute", rid, e->id);
		sim_op_add(s, p, "start_compute", rid, e->id);
		nops += 2;
	}
	return nops;
}

/* The target's name after a finalize: `given`, or "<name>_old_<time>"
 * (with "_2", "_3", … when that is taken), into *out (caller frees). */
static bool old_name(sim_req *r, sim_project *p, const sim_branch *rb, const sim_branch *tb, const char *given,
		     char **out)
{
	*out = NULL;
	if (given) {
		if (!check_name(r, given, "name") || !name_free(r, p, given, rb))
			return false;
		if (strcmp(given, tb->name) == 0) {
			sim_error(r, 409, "", "branch already exists: '%s' (the restored branch takes that name)", given);
			return false;
		}
		*out = xstrdup(given);
		return true;
	}
	char when[32];
	sim_time_format(sim_now(r->s), when);
	char *name = xasprintf("%s_old_%s", tb->name, when);
	for (int n = 2; sim_branch_find_name(p, name); n++) {
		free(name);
		name = xasprintf("%s_old_%s_%d", tb->name, when, n);
	}
	*out = name;
	return true;
}

/* ---------------------------------------------------------------- routes */

static int create(sim_req *r)
{
	sim_store *s = r->s;
	sim_project *p = need_project(r);
	sim_branch *b = p ? sim_need_branch(r, p, 1) : NULL;
	if (!b || sim_locked(r, p))
		return 0;
	const char *name = sim_query(r, "name"), *exp = sim_query(r, "expires_at");
	json_t *point = json_object();
	const char *qlsn = sim_query(r, "lsn"), *qts = sim_query(r, "timestamp"), *lsn;
	if (qlsn)
		json_object_set_new(point, "lsn", json_string(qlsn));
	if (qts)
		json_object_set_new(point, "timestamp", json_string(qts));
	int64_t t = 0, expires = 0;
	int rc = 0;
	if (!sim_check_point(r, p, b, point, "lsn", "timestamp", &lsn, &t) || !check_name(r, name, "name"))
		goto done;
	if (exp && (sim_time_parse(exp, &expires) != 0 || expires <= sim_now(s))) {
		sim_error(r, 400, "", "expires_at must be an RFC 3339 date-time in the future, such as "
				       "2026-06-09T18:02:16Z");
		goto done;
	}
	int64_t limit = sim_snapshots_limit(s->cfg);
	if ((int64_t)p->nsnaps >= limit) {
		sim_error(r, 422, "SNAPSHOTS_LIMIT_EXCEEDED", "snapshots limit of %" PRId64 " exceeded", limit);
		goto done;
	}
	char at_lsn[32], when[32];
	int64_t at;
	sim_data_point(s, p, b, lsn, t, &at, at_lsn);
	sim_time_format(at, when);
	char *dflt = name ? NULL : xasprintf("%s@%s", b->name, when);
	sim_snapshot *sn = snap_add(s, p, b, name ? name : dflt, at, at_lsn, sim_data_at(b, lsn, t));
	free(dflt);
	sn->manual = true;
	sn->expires_at = expires;
	json_t *out = json_pack("{s:o}", "snapshot", render(sn));
	sim_op_add(s, p, "create_timeline", b->id, NULL);
	json_object_set_new(out, "operations", sim_render_new_ops(p, 1, mono_ms()));
	r->touched = p;
	rc = sim_reply(r, 200, out);
done:
	json_decref(point);
	return rc;
}

/* Newest first: created_at descending, then the later made first. */
static int newest_first(const void *a, const void *b)
{
	const sim_snapshot *x = *(const sim_snapshot *const *)a, *y = *(const sim_snapshot *const *)b;
	if (x->created_at != y->created_at)
		return x->created_at < y->created_at ? 1 : -1;
	return x < y ? 1 : -1;
}

static int list(sim_req *r)
{
	sim_project *p = need_project(r);
	if (!p)
		return 0;
	const sim_snapshot **order = xcalloc(p->nsnaps + 1, sizeof(*order));
	for (size_t i = 0; i < p->nsnaps; i++)
		order[i] = &p->snaps[i];
	qsort(order, p->nsnaps, sizeof(*order), newest_first);
	json_t *arr = json_array();
	for (size_t i = 0; i < p->nsnaps; i++)
		json_array_append_new(arr, render(order[i]));
	free(order);
	return sim_reply(r, 200, json_pack("{s:o}", "snapshots", arr));
}

static int update(sim_req *r)
{
	sim_project *p = need_project(r);
	sim_snapshot *sn = p ? need_snapshot(r, p, 1) : NULL;
	if (!sn || sim_locked(r, p))
		return 0;
	json_t *in = r->body ? json_object_get(r->body, "snapshot") : NULL;
	const char *name;
	if (!json_is_object(in))
		return sim_error(r, 400, "", "request body must be {\"snapshot\": {...}}");
	if (!sim_check_string(r, in, "name", MAX_NAME, &name))
		return 0;
	if (name)
		set_str(&sn->name, name);
	r->touched = p;
	return sim_reply(r, 200, json_pack("{s:o}", "snapshot", render(sn)));
}

static int delete(sim_req *r)
{
	sim_project *p = need_project(r);
	sim_snapshot *sn = p ? need_snapshot(r, p, 1) : NULL;
	if (!sn || sim_locked(r, p))
		return 0;
	snap_remove(p, sn);
	sim_op_add(r->s, p, "delete_timeline", NULL, NULL);
	r->touched = p;
	return sim_reply(r, 202, json_pack("{s:o}", "operations", sim_render_new_ops(p, 1, mono_ms())));
}

static int restore(sim_req *r)
{
	sim_store *s = r->s;
	sim_project *p = need_project(r);
	sim_snapshot *sn = p ? need_snapshot(r, p, 1) : NULL;
	if (!sn || sim_locked(r, p))
		return 0;
	const json_t *in = r->body;
	const char *name = NULL, *target_id = NULL;
	bool fin = false;
	if (in && !json_is_object(in))
		return sim_error(r, 400, "", "request body must be an object");
	if (!sim_check_string(r, in, "name", MAX_NAME, &name) ||
	    !sim_check_string(r, in, "target_branch_id", 60, &target_id) ||
	    !sim_check_bool(r, in, "finalize_restore", &fin))
		return 0;
	if (!name) /* the deprecated query parameter */
		name = sim_query(r, "name");
	if (!check_name(r, name, "name"))
		return 0;
	sim_branch *tb;
	if (target_id && !(tb = sim_branch_find(p, target_id)))
		return sim_error(r, 404, "", "target branch '%s' not found", target_id);
	if (!target_id && !(tb = sim_branch_find(p, sn->source_branch_id)))
		return sim_error(r, 400, "", "snapshot '%s': its source branch '%s' no longer exists, give "
					     "target_branch_id", sn->id, sn->source_branch_id);
	if (name && !name_free(r, p, name, NULL))
		return 0;
	char *old = NULL;
	if (fin && !old_name(r, p, NULL, tb, NULL, &old))
		return 0;
	if (!sim_check_branches_limit(r, p)) {
		free(old);
		return 0;
	}

	/* checked: make it. Adding a branch moves the array, so hold indexes */
	size_t ti = (size_t)(tb - p->branches), nops = 1;
	int64_t version = sn->version;
	char snap_id[64];
	str_copy(snap_id, sn->id, sizeof(snap_id));
	sim_branch *rb = sim_branch_add(s, p, name ? name : "");
	size_t ri = p->nbranches - 1;
	tb = &p->branches[ti];
	if (!name)
		set_str(&rb->name, rb->id);
	rb->init_source = xstrdup("parent-data");
	rb->restored_from = xstrdup(snap_id);
	rb->restored_as = xstrdup(tb->id);
	rb->restore_status = SIM_RESTORE_RESTORED;
	sim_branch_copy_catalog(s, p, rb, tb, false);
	sim_data_start(s, p, rb, version);
	sim_op_add(s, p, "create_branch", rb->id, NULL);
	if (fin)
		nops += finalize(s, p, ri, ti, old);
	free(old);
	rb = &p->branches[ri];
	r->touched = p;
	json_t *out = json_object(), *eps = json_array();
	json_object_set_new(out, "branch", sim_render_branch(s, p, rb));
	for (size_t i = 0; i < p->nendpoints; i++)
		if (strcmp(p->endpoints[i].branch_id, rb->id) == 0)
			json_array_append_new(eps, sim_render_endpoint(s, p, &p->endpoints[i]));
	json_object_set_new(out, "endpoints", eps);
	json_object_set_new(out, "operations", sim_render_new_ops(p, nops, mono_ms()));
	return sim_reply(r, 200, out);
}

static int finalize_restore(sim_req *r)
{
	sim_project *p = need_project(r);
	sim_branch *rb = p ? sim_need_branch(r, p, 1) : NULL;
	if (!rb || sim_locked(r, p))
		return 0;
	const json_t *in = r->body;
	const char *name = NULL;
	if (in && !json_is_object(in))
		return sim_error(r, 400, "", "request body must be an object");
	if (!sim_check_string(r, in, "name", MAX_NAME, &name))
		return 0;
	if (rb->restore_status == SIM_RESTORE_NONE)
		return sim_error(r, 400, "", "branch '%s' was not made by restoring a snapshot with finalize_restore "
					     "false", rb->id);
	if (rb->restore_status == SIM_RESTORE_FINALIZED)
		return sim_error(r, 400, "", "the restore of branch '%s' is already finalized", rb->id);
	sim_branch *tb = sim_branch_find(p, rb->restored_as);
	if (!tb)
		return sim_error(r, 400, "", "branch '%s' that branch '%s' was restored into no longer exists",
				 rb->restored_as, rb->id);
	char *old;
	if (!old_name(r, p, rb, tb, name, &old))
		return 0;
	size_t nops = finalize(r->s, p, (size_t)(rb - p->branches), (size_t)(tb - p->branches), old);
	free(old);
	r->touched = p;
	return sim_reply(r, 200, json_pack("{s:o}", "operations", sim_render_new_ops(p, nops, mono_ms())));
}

const sim_route SIM_ROUTES_SNAPSHOTS[] = {
	{"POST", "/projects/{project_id}/branches/{branch_id}/snapshot", create, true},
	{"GET", "/projects/{project_id}/snapshots", list, false},
	{"PATCH", "/projects/{project_id}/snapshots/{snapshot_id}", update, true},
	{"DELETE", "/projects/{project_id}/snapshots/{snapshot_id}", delete, true},
	{"POST", "/projects/{project_id}/snapshots/{snapshot_id}/restore", restore, true},
	{"POST", "/projects/{project_id}/branches/{branch_id}/finalize_restore", finalize_restore, true},
	{NULL, NULL, NULL, false},
};
