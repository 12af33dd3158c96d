/*
 * control.c: /__sim/, the simulator's own control plane for tests and
 * benchmarks (sim/CONTRACT.md): health, counters, faults (the HTTP layer's
 * and Neon's own: unavailable projects, failing operations, tenant
 * activity), reset, populate, client "connections" that wake computes
 * (one by id, or N random ones as activity would), and a webhook receiver
 * for the daemon's notifications (/__sim/notify). Not part of the Neon
 * API, so it needs no key and is never rate limited or faulted.
 */
#include <inttypes.h>
#include <string.h>

#include "sim/sim.h"

static int stats(sim_req *r)
{
	sim_store *s = r->s;
	const char *names = sim_query(r, "names");
	json_t *o = json_object();
	/* a copy: the reply is written after the lock is released */
	json_object_set_new(o, "requests", json_deep_copy(s->stats.requests));
	json_object_set_new(o, "requests_total", json_integer(s->stats.requests_total));
	json_object_set_new(o, "writes_total", json_integer(s->stats.writes_total));
	json_object_set_new(o, "projects", json_integer((json_int_t)s->live));
	json_object_set_new(o, "projects_deleted", json_integer((json_int_t)s->deleted));
	json_t *dups = json_object(), *per = names && strcmp(names, "1") == 0 ? json_object() : NULL;
	intptr_t max = 0;
	int64_t now_ms = mono_ms();
	int64_t unfinished = 0;
	for (size_t i = 0; i < s->nprojects; i++) {
		sim_project *p = s->projects[i];
		intptr_t n = sim_name_count(s, p->name);
		if (n > max)
			max = n;
		if (n > 1)
			json_object_set_new(dups, p->name, json_integer(n));
		if (per)
			json_object_set_new(per, p->name, json_integer(n));
		for (size_t k = 0; k < p->nops; k++)
			if (p->ops[k].done_ms > now_ms)
				unfinished++;
	}
	json_object_set_new(o, "max_projects_per_name", json_integer(max));
	json_object_set_new(o, "duplicate_names", dups);
	if (per)
		json_object_set_new(o, "projects_per_name", per);
	json_t *ops = json_object();
	json_object_set_new(ops, "total", json_integer(s->stats.ops_total));
	json_object_set_new(ops, "unfinished", json_integer(unfinished));
	json_object_set_new(ops, "retried", json_integer(s->stats.ops_retried));
	json_object_set_new(ops, "errored", json_integer(s->stats.ops_errored));
	json_object_set_new(o, "operations", ops);
	json_object_set_new(o, "unavailable_listed", json_integer(s->stats.unavailable_listed));
	json_t *act = json_object();
	json_object_set_new(act, "wakes", json_integer(s->stats.activity_wakes));
	json_object_set_new(act, "suspends", json_integer(s->stats.activity_suspends));
	json_object_set_new(o, "activity", act);
	json_object_set_new(o, "cold_starts", json_integer(s->stats.cold_starts));
	json_object_set_new(o, "rate_limited", json_integer(s->stats.rate_limited));
	return sim_reply(r, 200, o);
}

static json_t *faults_json(const sim_faults *f)
{
	json_t *o = json_object();
	json_object_set_new(o, "error_rate", json_real(f->error_rate));
	json_object_set_new(o, "error_after_rate", json_real(f->error_after_rate));
	json_object_set_new(o, "reset_rate", json_real(f->reset_rate));
	json_object_set_new(o, "reset_after_rate", json_real(f->reset_after_rate));
	json_object_set_new(o, "lock_rate", json_real(f->lock_rate));
	json_object_set_new(o, "malformed_rate", json_real(f->malformed_rate));
	json_object_set_new(o, "unavailable_rate", json_real(f->unavailable_rate));
	json_object_set_new(o, "op_retry_rate", json_real(f->op_retry_rate));
	json_object_set_new(o, "op_fail_rate", json_real(f->op_fail_rate));
	json_object_set_new(o, "activity_per_minute", json_real(f->activity_per_minute));
	json_object_set_new(o, "latency_ms", json_integer(f->latency_ms));
	json_object_set_new(o, "seed", json_integer((json_int_t)f->seed));
	return o;
}

static int faults(sim_req *r)
{
	sim_store *s = r->s;
	if (strcmp(r->method, "GET") == 0)
		return sim_reply(r, 200, faults_json(&s->faults));
	if (!r->body)
		return sim_error(r, 400, "", "send a JSON object of fault settings");
	sim_faults f = s->faults;
	static const struct {
		const char *key;
		size_t off;
	} RATES[] = {
		{"error_rate", offsetof(sim_faults, error_rate)},
		{"error_after_rate", offsetof(sim_faults, error_after_rate)},
		{"reset_rate", offsetof(sim_faults, reset_rate)},
		{"reset_after_rate", offsetof(sim_faults, reset_after_rate)},
		{"lock_rate", offsetof(sim_faults, lock_rate)},
		{"malformed_rate", offsetof(sim_faults, malformed_rate)},
		{"unavailable_rate", offsetof(sim_faults, unavailable_rate)},
		{"op_retry_rate", offsetof(sim_faults, op_retry_rate)},
		{"op_fail_rate", offsetof(sim_faults, op_fail_rate)},
	};
	const char *key;
	json_t *v;
	json_object_foreach(r->body, key, v) {
		bool known = false;
		for (size_t i = 0; i < ARRAY_LEN(RATES); i++) {
			if (strcmp(key, RATES[i].key) != 0)
				continue;
			known = true;
			if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1)
				return sim_error(r, 400, "", "%s must be a number from 0 to 1", key);
			*(double *)(void *)((char *)&f + RATES[i].off) = json_number_value(v);
		}
		if (strcmp(key, "activity_per_minute") == 0) {
			known = true;
			if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > SIM_ACTIVITY_MAX)
				return sim_error(r, 400, "", "activity_per_minute must be a number from 0 to %d",
						 SIM_ACTIVITY_MAX);
			f.activity_per_minute = json_number_value(v);
		}
		if (strcmp(key, "latency_ms") == 0) {
			known = true;
			if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 60000)
				return sim_error(r, 400, "", "latency_ms must be an integer from 0 to 60000");
			f.latency_ms = json_integer_value(v);
		}
		if (strcmp(key, "seed") == 0) {
			known = true;
			if (!json_is_integer(v))
				return sim_error(r, 400, "", "seed must be an integer");
			f.seed = (uint64_t)json_integer_value(v);
			s->fault_rng = f.seed;
		}
		if (!known)
			return sim_error(r, 400, "", "unknown fault '%s'", key);
	}
	if (f.op_retry_rate + f.op_fail_rate > 1)
		return sim_error(r, 400, "", "op_retry_rate and op_fail_rate must add up to at most 1");
	s->faults = f;
	sim_activity_kick(s);
	return sim_reply(r, 200, faults_json(&f));
}

void sim_faults_from_config(sim_faults *f, const sim_config *cfg)
{
	memset(f, 0, sizeof(*f));
	f->unavailable_rate = cfg->unavailable_rate;
	f->op_retry_rate = cfg->op_retry_rate;
	f->op_fail_rate = cfg->op_fail_rate;
	f->activity_per_minute = cfg->activity_per_minute;
}

static int connect_ep(sim_req *r, const char *endpoint_id)
{
	sim_store *s = r->s;
	sim_project *p = strmap_get(s->endpoints, endpoint_id);
	sim_endpoint *e = p && !p->deleted_at ? sim_endpoint_find(p, endpoint_id) : NULL;
	if (!e)
		return sim_error(r, 404, "", "endpoint not found");
	if (e->disabled)
		return sim_error(r, 409, "", "endpoint is disabled");
	bool cold = !sim_endpoint_active(s, e, sim_now(s));
	sim_endpoint_connect(s, p, e);
	if (s->persist)
		sim_persist_save(s, p);
	json_t *o = json_object();
	json_object_set_new(o, "endpoint_id", json_string(e->id));
	json_object_set_new(o, "cold_start", json_boolean(cold));
	return sim_reply(r, 200, o);
}

/* POST /__sim/wake {"count": N}: N distinct live projects woken at once,
 * as activity wakes them, for benchmarks that need an exact share of the
 * fleet busy. */
static int wake(sim_req *r)
{
	json_t *n = r->body ? json_object_get(r->body, "count") : NULL;
	if (!json_is_integer(n) || json_integer_value(n) < 1 || json_integer_value(n) > 1000000)
		return sim_error(r, 400, "", "count must be an integer from 1 to 1000000");
	size_t woken = sim_activity_wake(r->s, (size_t)json_integer_value(n));
	json_t *o = json_object();
	json_object_set_new(o, "woken", json_integer((json_int_t)woken));
	return sim_reply(r, 200, o);
}

/*
 * POST /__sim/populate {"count": N, "name_prefix": "bench-", "region_id": …,
 * "org_id": …}: make N projects at once, each as a create makes it
 * (default branch, role, database, an idle read_write endpoint) but
 * without operations, so benchmarks can stand up 300,000 projects in
 * seconds.
 */
static int populate(sim_req *r)
{
	sim_store *s = r->s;
	json_t *n = r->body ? json_object_get(r->body, "count") : NULL;
	const char *prefix = r->body ? json_string_value(json_object_get(r->body, "name_prefix")) : NULL;
	const char *region = r->body ? json_string_value(json_object_get(r->body, "region_id")) : NULL;
	json_t *orgv = r->body ? json_object_get(r->body, "org_id") : NULL;
	const char *org = json_string_value(orgv);
	if (!json_is_integer(n) || json_integer_value(n) < 1 || json_integer_value(n) > 1000000)
		return sim_error(r, 400, "", "count must be an integer from 1 to 1000000");
	if (region && !sim_region_exists(region))
		return sim_error(r, 400, "", "region '%s' is not available", region);
	if (orgv && !json_is_null(orgv) && !(org && sim_org_id_valid(org)))
		return sim_error(r, 400, "", "org_id must be an id such as org-flotilla-sim-00000001");
	if (org && !sim_check_org(r, org))
		return 0;
	json_int_t count = json_integer_value(n);
	size_t base = s->live + s->deleted;
	for (json_int_t i = 0; i < count; i++) {
		char name[128];
		snprintf(name, sizeof(name), "%s%zu", prefix ? prefix : "sim-", base + (size_t)i);
		sim_project *p = sim_project_new(s, name);
		p->region_id = xstrdup(region ? region : "aws-us-east-2");
		p->org_id = org ? xstrdup(org) : NULL;
		sim_branch *b = sim_branch_add(s, p, "main");
		b->is_default = true;
		sim_role_add(s, p, b, "neondb_owner", false);
		sim_db_add(s, p, b, "neondb", "neondb_owner");
		sim_endpoint_add(s, p, b->id, true);
		if (s->persist)
			sim_persist_save(s, p);
	}
	json_t *o = json_object();
	json_object_set_new(o, "created", json_integer(count));
	json_object_set_new(o, "projects", json_integer((json_int_t)s->live));
	return sim_reply(r, 200, o);
}

/* ------------------------------------------------- the webhook receiver */

void sim_notify_clear(sim_store *s)
{
	json_decref(s->notify.received);
	memset(&s->notify, 0, sizeof(s->notify));
}

/*
 * POST /__sim/notify: a webhook receiver (the daemon's --notify-url in
 * tests). A JSON object is stored, the oldest pushed out past
 * SIM_NOTIFY_MAX, unless a failure was asked for: then it is answered with
 * that status and not stored. GET lists what was stored.
 */
static int notify(sim_req *r)
{
	sim_notify *n = &r->s->notify;
	if (strcmp(r->method, "GET") == 0) {
		json_t *o = json_object();
		/* a copy: the reply is written after the lock is released */
		json_object_set_new(o, "received", n->received ? json_deep_copy(n->received) : json_array());
		json_object_set_new(o, "count", json_integer(n->count));
		json_object_set_new(o, "attempts", json_integer(n->attempts));
		return sim_reply(r, 200, o);
	}
	n->attempts++;
	if (n->fail_count > 0) {
		n->fail_count--;
		sim_error(r, n->fail_status, "", "notification refused (injected failure)");
		if (n->fail_status == 429 && n->fail_retry_after > 0)
			json_object_set_new(r->reply, "retry_after", json_integer(n->fail_retry_after));
		return 0;
	}
	if (!r->body)
		return sim_error(r, 400, "", "send a JSON object");
	if (!n->received)
		n->received = json_array();
	if (json_array_size(n->received) >= SIM_NOTIFY_MAX)
		json_array_remove(n->received, 0);
	json_array_append(n->received, r->body); /* borrows: a new reference */
	n->count++;
	json_t *o = json_object();
	json_object_set_new(o, "ok", json_true());
	return sim_reply(r, 200, o);
}

/* POST /__sim/notify/fail {"status": 503, "count": 2, "retry_after": 1}:
 * answer the next `count` notifications with `status` (a 429 carries
 * Retry-After: retry_after, default 1). count 0 cancels. */
static int notify_fail(sim_req *r)
{
	sim_notify *n = &r->s->notify;
	json_t *st = r->body ? json_object_get(r->body, "status") : NULL;
	json_t *cnt = r->body ? json_object_get(r->body, "count") : NULL;
	json_t *ra = r->body ? json_object_get(r->body, "retry_after") : NULL;
	if (!json_is_integer(st) || json_integer_value(st) < 400 || json_integer_value(st) > 599)
		return sim_error(r, 400, "", "status must be an integer from 400 to 599");
	if (!json_is_integer(cnt) || json_integer_value(cnt) < 0 || json_integer_value(cnt) > 1000000)
		return sim_error(r, 400, "", "count must be an integer from 0 to 1000000");
	if (ra && (!json_is_integer(ra) || json_integer_value(ra) < 0 || json_integer_value(ra) > 3600))
		return sim_error(r, 400, "", "retry_after must be an integer from 0 to 3600");
	n->fail_status = (int)json_integer_value(st);
	n->fail_count = json_integer_value(cnt);
	n->fail_retry_after = ra ? json_integer_value(ra) : 0;
	json_t *o = json_object();
	json_object_set_new(o, "status", json_integer(n->fail_status));
	json_object_set_new(o, "count", json_integer(n->fail_count));
	return sim_reply(r, 200, o);
}

/*
 * POST /__sim/write?project=ID[&branch=ID|NAME]: a write to the branch's
 * data (default: the default branch), its version bumped; GET
 * /__sim/data?project=…[&branch=…]: the branch's version and history.
 * Both answer {"project_id", "branch_id", "name", "version", "lsn",
 * "writes": [{"at", "lsn", "version"}]}; 404 for an unknown project or
 * branch. Tests only: real data has no such counter.
 */
static int data(sim_req *r, bool write)
{
	const char *pid = sim_query(r, "project"), *bid = sim_query(r, "branch");
	sim_project *p = pid ? sim_project_find(r->s, pid) : NULL;
	if (!p)
		return sim_error(r, 404, "", "project '%s' not found", pid ? pid : "");
	sim_branch *b = !bid ? sim_branch_default(p) : sim_branch_find(p, bid);
	if (!b && bid)
		b = sim_branch_find_name(p, bid);
	if (!b)
		return sim_error(r, 404, "", "branch '%s' not found", bid ? bid : "(default)");
	if (write) {
		sim_data_write(r->s, p, b);
		if (r->s->persist) /* the control plane is not run_route: save here */
			sim_persist_save(r->s, p);
	}
	json_t *o = sim_data_render(b);
	json_object_set_new(o, "project_id", json_string(p->id));
	json_object_set_new(o, "branch_id", json_string(b->id));
	json_object_set_new(o, "name", json_string(b->name));
	return sim_reply(r, 200, o);
}

bool sim_control(sim_req *r)
{
	const char *path = r->path + strlen("/__sim/");
	bool get = strcmp(r->method, "GET") == 0, post = strcmp(r->method, "POST") == 0;
	if (get && strcmp(path, "health") == 0) {
		json_t *o = json_object();
		json_object_set_new(o, "ok", json_true());
		/* the sim clock, which --time-scale runs ahead of the wall clock */
		char now[32];
		sim_time_format(sim_now(r->s), now);
		json_object_set_new(o, "now", json_string(now));
		sim_reply(r, 200, o);
	} else if (get && strcmp(path, "stats") == 0) {
		stats(r);
	} else if ((get || post) && strcmp(path, "faults") == 0) {
		faults(r);
	} else if (post && strcmp(path, "reset") == 0) {
		sim_store_reset(r->s);
		json_t *o = json_object();
		json_object_set_new(o, "ok", json_true());
		/* the sim clock, which --time-scale runs ahead of the wall clock */
		char now[32];
		sim_time_format(sim_now(r->s), now);
		json_object_set_new(o, "now", json_string(now));
		sim_reply(r, 200, o);
	} else if (post && strcmp(path, "populate") == 0) {
		populate(r);
	} else if (post && strcmp(path, "wake") == 0) {
		wake(r);
	} else if ((get || post) && strcmp(path, "notify") == 0) {
		notify(r);
	} else if (post && strcmp(path, "notify/fail") == 0) {
		notify_fail(r);
	} else if ((get || post) && strcmp(path, post ? "write" : "data") == 0) {
		data(r, post);
	} else if (post && str_has_prefix(path, "connect/") && path[8]) {
		connect_ep(r, path + 8);
	} else {
		return false;
	}
	return true;
}
