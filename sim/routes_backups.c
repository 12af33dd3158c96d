/*
 * routes_backups.c: a branch's backup schedule, GET and PUT
 * /projects/{project_id}/branches/{branch_id}/backup_schedule
 * (getSnapshotSchedule, setSnapshotSchedule in the OpenAPI document).
 *
 * The schedule is kept as the BackupScheduleItem array the last PUT sent,
 * each item rebuilt from the members the schema names, so that GET answers
 * in the document's shape whatever else a client sent. A branch never set
 * answers an empty schedule. PUT replaces the whole schedule (an empty
 * array removes it) and answers the EmptyResponse `{}` with no operations,
 * as the document says; like the other mutations it gets 423 while the
 * project's operations run. Neon makes automated schedules a paid-plan
 * feature: with --plan free a non-empty schedule is refused with 422
 * (docs/sim.md, "Choices where Neon is not explicit"). The snapshots a
 * schedule makes are routes_snapshots.c's: a PUT first makes the old
 * schedule's up to now, and the new one's start from the PUT.
 */
#include <inttypes.h>
#include <string.h>

#include "sim/sim.h"

static const char *const FREQUENCIES[] = {"hourly", "daily", "weekly", "monthly", "yearly"};

static bool frequency_valid(const char *f)
{
	for (size_t i = 0; i < ARRAY_LEN(FREQUENCIES); i++)
		if (strcmp(FREQUENCIES[i], f) == 0)
			return true;
	return false;
}

/* An optional integer member within lo..hi, copied into out. */
static bool item_int(sim_req *r, const json_t *in, size_t i, const char *key, int64_t lo, int64_t hi, json_t *out)
{
	const json_t *v = json_object_get(in, key);
	if (!v || json_is_null(v))
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		sim_error(r, 400, "", "schedule[%zu].%s must be an integer in %" PRId64 "..%" PRId64, i, key, lo, hi);
		return false;
	}
	json_object_set_new(out, key, json_integer(json_integer_value(v)));
	return true;
}

/* The request's schedule checked against BackupScheduleItem, as a new
 * array of clean items; NULL after the 400 was sent. */
static json_t *schedule_read(sim_req *r)
{
	const json_t *in = r->body ? json_object_get(r->body, "schedule") : NULL;
	if (!json_is_array(in)) {
		sim_error(r, 400, "", "request body must be {\"schedule\": [...]}");
		return NULL;
	}
	json_t *out = json_array();
	size_t i;
	const json_t *it;
	json_array_foreach(in, i, it) {
		const char *f = json_string_value(json_object_get(it, "frequency"));
		if (!json_is_object(it) || !f || !frequency_valid(f)) {
			sim_error(r, 400, "", "schedule[%zu].frequency must be one of hourly, daily, weekly, monthly, yearly",
				  i);
			json_decref(out);
			return NULL;
		}
		json_t *o = json_pack("{s:s}", "frequency", f);
		json_array_append_new(out, o);
		if (!item_int(r, it, i, "hour", 0, 23, o) || !item_int(r, it, i, "day", 1, 31, o) ||
		    !item_int(r, it, i, "month", 1, 12, o) ||
		    !item_int(r, it, i, "retention_seconds", 3600, INT64_MAX, o)) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static int get(sim_req *r)
{
	sim_project *p = sim_need_project(r, 0);
	sim_branch *b = p ? sim_need_branch(r, p, 1) : NULL;
	if (!b)
		return 0;
	json_t *items = b->backup_schedule ? json_deep_copy(b->backup_schedule) : json_array();
	return sim_reply(r, 200, json_pack("{s:o}", "schedule", items));
}

static int put(sim_req *r)
{
	sim_project *p = sim_need_project(r, 0);
	sim_branch *b = p ? sim_need_branch(r, p, 1) : NULL;
	if (!b || sim_locked(r, p))
		return 0;
	json_t *items = schedule_read(r);
	if (!items)
		return 0;
	const sim_plan *plan = r->s->cfg->plan;
	if (plan && strcmp(plan->name, "free") == 0 && json_array_size(items) > 0) {
		json_decref(items);
		return sim_error(r, 422, "", "backup schedules are not available on the free plan");
	}
	/* the old schedule's snapshots up to now, then the new one's from now */
	sim_snapshots_fill(r->s, p);
	json_decref(b->backup_schedule);
	b->backup_schedule = items;
	b->backup_filled_to = sim_now(r->s);
	r->touched = p;
	return sim_reply(r, 200, json_object());
}

const sim_route SIM_ROUTES_BACKUPS[] = {
	{"GET", "/projects/{project_id}/branches/{branch_id}/backup_schedule", get, false},
	{"PUT", "/projects/{project_id}/branches/{branch_id}/backup_schedule", put, true},
	{NULL, NULL, NULL, false},
};
