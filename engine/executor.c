/*
 * executor.c: carry out a plan's calls against the API.
 *
 * One job per tenant, at most `parallel` at once, all driven by the
 * client's event loop (neon_run): the process-wide rate budget is the
 * client's. A job makes its calls one after the other and waits for each
 * call's operations before the next, so there are never two writes in
 * flight to one project and flotilla never causes a 423 itself.
 *
 * A tenant's last write has no later write waiting on its operations: the
 * job gives its slot to the next tenant and polls them once, a settle
 * delay after the response (POLL_SETTLE_MS; most of Neon's operations are
 * over by then), and again with back-off only if they still run. Its
 * journal row stays "sent" until that poll, and a failed operation fails
 * the tenant as before; the run ends when every tenant has settled. So an
 * update of one write costs two requests, where polling from 100 ms cost
 * about five at Neon's speeds, and no slot idles through them.
 *
 * Every write is journaled (state/journal): the intent before the request,
 * the ids after the response, the outcome after the operations. A create
 * maps its tenant the moment the response names the project, so a crash
 * after that point leaves a mapped tenant, and a crash before it leaves an
 * intent row that the next run resolves by name (resume.c).
 *
 * Unknown outcomes (the write may or may not have run: a reset or a 500
 * after the request arrived) are settled, never blindly repeated: PATCH
 * and DELETE are sent again (the same values; a 404 then means the DELETE
 * had run); POSTs are read back first (unknown.c).
 *
 * Placeholders of the plan are filled from the responses (placeholders.c).
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "engine/internal.h"

static void start_next(executor *x);
static bool stopping(executor *x);

/* The time left as the rate budget sees it: the plan's calls not made yet,
 * times the requests each has cost so far (the write, its polls, lookups),
 * at the client's current rate. */
static void eta(executor *x)
{
	neon_stats ns;
	neon_client_stats(x->c, &ns);
	int64_t left = (int64_t)x->p->ncalls - x->sum->writes;
	if (left <= 0 || ns.rate_now <= 0 || x->sum->writes == 0) {
		x->prog.eta_s = 0;
		return;
	}
	double per_write = (double)(ns.requests - x->requests0) / (double)x->sum->writes;
	x->prog.eta_s = (double)left * per_write / ns.rate_now;
}

/* Renew the run's lease every ENGINE_LEASE_TTL / 4, from whatever event comes
 * (a timer would keep the loop alive after the last job). A run that
 * cannot renew stops starting tenants: another run may take the lease. */
static void heartbeat(executor *x)
{
	if (!x->o->lease || mono_ms() - x->renewed_ms < ENGINE_LEASE_TTL * 1000 / 4)
		return;
	x->renewed_ms = mono_ms();
	if (state_lease_renew(x->st, x->o->lease, ENGINE_LEASE_TTL) != 0) {
		engine__error("apply: lost the state file's lease; starting no more tenants", "error", err_msg());
		x->stop = true;
	}
}

/* ------------------------------------------------------------- outcomes */

void engine__emit(const executor *x, const char *event, const job *j, const char *detail)
{
	if (!x->o->json_events)
		return;
	json_t *e = json_pack("{s:s,s:s,s:s,s:s?,s:s?}", "event", event, "tenant", j->a->tenant, "kind",
			      plan_kind_name(j->a->kind), "project_id", j->project_id, "detail", detail);
	char *text = e ? json_dumps(e, JSON_COMPACT) : NULL;
	if (text)
		engine__json(text);
	free(text);
	json_decref(e);
}

static void job_free(job *j)
{
	for (size_t i = 0; j->bodies && i < j->calls.n; i++)
		json_decref(j->bodies[i]);
	free(j->bodies);
	plan_calls_release(&j->calls);
	free(j->project_id);
	for (size_t i = 0; i < j->nbranches; i++) {
		free(j->bnames[i]);
		free(j->bids[i]);
	}
	free(j->bnames);
	free(j->bids);
	json_decref(j->created);
	json_decref(j->marked);
	json_decref(j->secrets);
	for (size_t i = 0; i < j->nops; i++)
		free(j->ops[i]);
	free(j->ops);
	free(j);
}

/* The daemon's count of tenants with work in flight: a settling tenant's
 * operations are in flight too. */
static void report_active(const executor *x)
{
	if (x->o->on_active)
		x->o->on_active(x->o->active_arg, x->active + x->settling);
}

void engine__job_end(job *j, exec_status status, const char *error, const char *request_id)
{
	executor *x = j->x;
	j->out->status = status;
	if (error && !j->out->error)
		j->out->error = xstrdup(error);
	if (request_id && request_id[0])
		str_copy(j->out->request_id, request_id, sizeof(j->out->request_id));
	if (status == EXEC_OK) {
		x->sum->ok++;
		if (j->a->kind == PLAN_CREATE)
			j->out->latency_ms = (j->settled_ms ? j->settled_ms : mono_ms()) - j->started_ms;
		engine__emit(x, "done", j, NULL);
	} else {
		x->sum->failed++;
		engine__emit(x, "failed", j, j->out->error);
		engine__warn("apply: tenant failed", "tenant", j->a->tenant, "error", j->out->error ? j->out->error : "",
			 "request_id", j->out->request_id);
		if (!x->o->continue_on_error)
			x->stop = true;
	}
	if (j->settling)
		x->settling--;
	else
		x->active--;
	/* a tenant is done here, when its outcome is known: after its last
	 * write's settle poll, not at the write (its operations can still
	 * fail it). The ETA counts the calls left, so the settle delay does
	 * not skew it; the bar trails the writes by about that delay. */
	x->done++;
	report_active(x);
	eta(x);
	engine__progress_update(&x->prog, x->done);
	job_free(j);
	start_next(x);
}

static void fail_journal(job *j, const char *state_, const char *error)
{
	if (j->journal_id && state_journal_finish(j->x->st, j->journal_id, state_, error) != 0)
		engine__warn("apply: cannot write the journal", "error", err_msg());
	j->journal_id = 0;
}

/* --------------------------------------------------------------- secrets */

static void keep_secrets(job *j, const json_t *body)
{
	const json_t *uris = json_object_get(body, "connection_uris");
	const json_t *roles = json_object_get(body, "roles");
	const json_t *role = json_object_get(body, "role");
	bool any = json_array_size(uris) > 0 || json_is_array(roles) || json_is_object(role);
	if (!any)
		return;
	if (!j->secrets)
		j->secrets = json_pack("{s:s,s:[],s:[]}", "tenant", j->a->tenant, "roles", "connection_uris");
	if (j->project_id)
		json_object_set_new(j->secrets, "project_id", json_string(j->project_id));
	json_t *rs = json_object_get(j->secrets, "roles");
	json_t *us = json_object_get(j->secrets, "connection_uris");
	size_t i;
	json_t *m;
	json_array_foreach(uris, i, m) {
		const char *u = json_string_value(json_object_get(m, "connection_uri"));
		if (u)
			json_array_append_new(us, json_string(u));
	}
	json_t *one = json_is_object(role) ? json_pack("[O]", role) : NULL;
	const json_t *list = one ? one : roles;
	json_array_foreach(list, i, m) {
		const char *name = json_string_value(json_object_get(m, "name"));
		const char *pw = json_string_value(json_object_get(m, "password"));
		const char *br = json_string_value(json_object_get(m, "branch_id"));
		if (name && pw)
			json_array_append_new(rs, json_pack("{s:s,s:s,s:s?}", "name", name, "password", pw, "branch_id", br));
	}
	json_decref(one);
	int64_t n = (int64_t)(json_array_size(rs) + json_array_size(us)) - j->nsecrets;
	j->nsecrets += n;
	if (j->x->o->secrets_dir) {
		if (secrets_write(j->x->o->secrets_dir, j->a->tenant, j->secrets) != 0)
			engine__warn("apply: cannot save a tenant's new secrets", "tenant", j->a->tenant, "error", err_msg());
		else
			j->x->sum->secrets_saved += n;
	} else {
		j->x->sum->secrets_dropped += n;
	}
}

/* ----------------------------------------------------------- operations */

static void poll_fire(void *arg);

/* The current call is done (its operations too): journal it, go on. */
static void next_call(job *j)
{
	if (j->journal_id && state_journal_finish(j->x->st, j->journal_id, STATE_JOURNAL_DONE, NULL) != 0)
		engine__warn("apply: cannot write the journal", "error", err_msg());
	j->journal_id = 0;
	j->step++;
	j->resends = 0;
	engine__do_step(j);
}

/* The current call's operations all ended. A settling job notes when, as
 * near as it can tell (the response's time plus the operations' own
 * durations): its poll comes late by design, and a create's provisioning
 * time is the operations', not the poll's. */
static void ops_done(job *j)
{
	if (j->settling) {
		int64_t now = mono_ms(), est = j->resp_ms + j->ops_ms;
		j->settled_ms = j->ops_ms > 0 && est < now ? est : now;
	}
	next_call(j);
}

static void on_ops(void *arg, neon_result *res)
{
	job *j = arg;
	executor *x = j->x;
	x->sum->polls++;
	heartbeat(x);
	if (res->outcome == NEON_HTTP_ERROR && res->status == 404 && j->poll_by_id >= 0 &&
	    (size_t)j->poll_by_id < j->nops) {
		/* read by id and gone: Neon keeps a project's operations for
		 * months and never drops an unfinished one, so it ended long
		 * enough ago to be pruned; the read-back at the end shows what
		 * it did */
		free(j->ops[j->poll_by_id]);
		memmove(&j->ops[j->poll_by_id], &j->ops[j->poll_by_id + 1],
			(j->nops - (size_t)j->poll_by_id - 1) * sizeof(*j->ops));
		j->nops--;
		j->poll_by_id = -1;
		if (j->nops == 0)
			ops_done(j);
		else
			neon_after(x->c, j->poll_delay, poll_fire, j);
		return;
	}
	if (res->outcome != NEON_OK) {
		/* the client retried what it could: a poll that failed for good
		 * fails the tenant (the write itself is journaled as sent) */
		char *e = xasprintf("polling operations: %s", res->message);
		fail_journal(j, STATE_JOURNAL_UNKNOWN, e);
		engine__job_end(j, EXEC_FAILED, e, res->request_id);
		free(e);
		return;
	}
	/* a poll is the project's list, or one operation read by id */
	json_t *one = NULL;
	const json_t *ops = json_object_get(res->body, "operations");
	if (!ops && json_is_object(json_object_get(res->body, "operation")))
		ops = one = json_pack("[O]", json_object_get(res->body, "operation"));
	bool full_page = !one && json_array_size(ops) >= POLL_PAGE;
	j->poll_by_id = -1;
	size_t keep = 0;
	const char *wait_status = NULL, *wait_error = NULL; /* the first one still awaited */
	for (size_t k = 0; k < j->nops; k++) {
		const char *status = NULL, *error = NULL;
		json_int_t took = 0;
		size_t i;
		json_t *op;
		json_array_foreach(ops, i, op) {
			if (strcmp(json_string_value(json_object_get(op, "id")) ?: "", j->ops[k]) == 0) {
				status = json_string_value(json_object_get(op, "status"));
				error = json_string_value(json_object_get(op, "error"));
				took = json_integer_value(json_object_get(op, "total_duration_ms"));
				break;
			}
		}
		if (status && neon_op_succeeded(status)) {
			if (took > j->ops_ms)
				j->ops_ms = took;
			free(j->ops[k]);
			continue;
		}
		if (!status && full_page && j->poll_by_id < 0)
			j->poll_by_id = (long)keep; /* its index once the list is compacted */
		if (status && !neon_op_in_progress(status)) {
			/* error or cancelled: final (a failed one is retried by
			 * Neon and waited for like a running one) */
			char *e = xasprintf("operation %s ended %s%s%s", j->ops[k], status, error ? ": " : "",
					    error ? error : "");
			fail_journal(j, STATE_JOURNAL_FAILED, e);
			engine__job_end(j, EXEC_FAILED, e, res->request_id);
			free(e);
			json_decref(one);
			return;
		}
		if (!keep) {
			wait_status = status;
			wait_error = error;
		}
		j->ops[keep++] = j->ops[k]; /* in progress, or not on this page yet */
	}
	j->nops = keep;
	json_decref(one); /* the array only: its operation is still res->body's */
	if (j->nops == 0) {
		ops_done(j);
		return;
	}
	if (stopping(x) && mono_ms() - x->stop_ms > x->o->stop_grace_ms) {
		/* the journal row stays "sent": the next start settles it */
		engine__job_end(j, EXEC_FAILED, "stopped while its operations ran; the next run goes on", NULL);
		return;
	}
	if (mono_ms() > j->poll_deadline) {
		char *e = xasprintf("operation %s still %s after %" PRId64 " s (--op-timeout)%s%s", j->ops[0],
				    wait_status ? wait_status : "unfinished", x->o->op_timeout_ms / 1000,
				    wait_error ? ": " : "", wait_error ? wait_error : "");
		fail_journal(j, STATE_JOURNAL_UNKNOWN, e);
		engine__job_end(j, EXEC_FAILED, e, res->request_id);
		free(e);
		return;
	}
	j->poll_delay = j->poll_delay * 2 > POLL_MAX_MS ? POLL_MAX_MS : j->poll_delay * 2;
	neon_after(x->c, j->poll_delay, poll_fire, j);
}

static void poll_fire(void *arg)
{
	job *j = arg;
	char *path = j->poll_by_id >= 0 && (size_t)j->poll_by_id < j->nops
			     ? xasprintf("/projects/%s/operations/%s", j->project_id, j->ops[j->poll_by_id])
			     : xasprintf("/projects/%s/operations?limit=%d", j->project_id, POLL_PAGE);
	neon_submit(j->x->c, "GET", path, NULL, false, on_ops, j);
	free(path);
}

/* Wait for the operations a response named, or go on at once. */
static void after_response(job *j, const json_t *body)
{
	const json_t *ops = json_object_get(body, "operations");
	size_t i;
	json_t *op;
	json_array_foreach(ops, i, op) {
		const char *id = json_string_value(json_object_get(op, "id"));
		const char *status = json_string_value(json_object_get(op, "status"));
		if (!id || (status && neon_op_succeeded(status)))
			continue;
		j->ops = xrealloc(j->ops, (j->nops + 1) * sizeof(*j->ops));
		j->ops[j->nops++] = xstrdup(id);
	}
	if (j->nops == 0 || !j->project_id) {
		next_call(j);
		return;
	}
	executor *x = j->x;
	j->poll_by_id = -1;
	j->ops_ms = 0;
	j->poll_deadline = mono_ms() + x->o->op_timeout_ms;
	if (j->step + 1 < j->calls.n) {
		/* the project's next write would meet a 423 while these run */
		j->poll_delay = POLL_FIRST_MS;
		neon_after(x->c, j->poll_delay, poll_fire, j);
		return;
	}
	/* the tenant's last write: nothing of it waits on these operations,
	 * so the slot goes to the next tenant while they run; the journal row
	 * stays "sent" until the poll sees them end */
	j->poll_delay = POLL_SETTLE_MS;
	neon_after(x->c, j->poll_delay, poll_fire, j);
	j->settling = true;
	x->active--;
	x->settling++;
	start_next(x);
}

static char *op_ids_json(const json_t *body)
{
	json_t *a = json_array();
	size_t i;
	json_t *op;
	json_array_foreach(json_object_get(body, "operations"), i, op) {
		const char *id = json_string_value(json_object_get(op, "id"));
		if (id)
			json_array_append_new(a, json_string(id));
	}
	char *s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

/* -------------------------------------------------------------- responses */

static bool is_create_call(const plan_call *c)
{
	return strcmp(c->method, "POST") == 0 && strcmp(c->path, "/projects") == 0;
}

static void on_write(void *arg, neon_result *res);
static bool marks_first(const plan_calls *pc);

static void created(job *j, const json_t *body, const char *request_id)
{
	executor *x = j->x;
	const json_t *proj = json_object_get(body, "project");
	const char *pid = json_string_value(json_object_get(proj, "id"));
	free(j->project_id);
	j->project_id = xstrdup(pid);
	engine__learn_branch(j, json_object_get(body, "branch"));
	json_decref(j->created);
	j->created = json_incref((json_t *)body);
	/* the journal's ids, the tenant's map and the cached project, in one
	 * transaction: from here on a crash leaves a mapped tenant whose
	 * project the next plan sees (a kill between them once left a mapped
	 * tenant with no cached project, blocked until a refresh) */
	bool batch = state_batch_begin(x->st) == 0;
	char *ops = op_ids_json(body);
	if (state_journal_sent(x->st, j->journal_id, pid, pid, ops, request_id) != 0)
		engine__warn("apply: cannot write the journal", "error", err_msg());
	free(ops);
	if (state_tenant_put(x->st, j->a->tenant, pid, x->o->fleet, "create") != 0)
		engine__warn("apply: cannot map the tenant", "tenant", j->a->tenant, "error", err_msg());
	if (cache_store_created(x->st, body, j->calls.v[j->step].body) != 0)
		engine__warn("apply: cannot cache the new project; run flotilla refresh", "tenant", j->a->tenant, "error",
			 err_msg());
	if (batch && state_batch_commit(x->st) != 0)
		engine__warn("apply: cannot record the new project", "tenant", j->a->tenant, "error", err_msg());
	engine__emit(x, "created", j, NULL);
	keep_secrets(j, body);
}

static void on_write(void *arg, neon_result *res)
{
	job *j = arg;
	executor *x = j->x;
	const plan_call *c = &j->calls.v[j->step];
	x->sum->writes++;
	if (res->outcome == NEON_OK && res->body) {
		j->resp_ms = mono_ms();
		if (is_create_call(c)) {
			if (!json_string_value(json_object_get(json_object_get(res->body, "project"), "id"))) {
				fail_journal(j, STATE_JOURNAL_UNKNOWN, "the create's response names no project");
				goto lookup;
			}
			created(j, res->body, res->request_id);
		} else {
			if (strcmp(c->method, "POST") == 0)
				engine__learn_branch(j, json_object_get(res->body, "branch"));
			if (strcmp(c->method, "PUT") == 0 && engine__schedule_path(c->path))
				engine__schedule_written(j, c);
			if (j->a->kind == PLAN_ADOPT && j->step == 0 && marks_first(&j->calls)) {
				json_decref(j->marked);
				j->marked = json_incref(res->body);
			}
			if (!j->bodies)
				j->bodies = xcalloc(j->calls.n, sizeof(*j->bodies));
			json_decref(j->bodies[j->step]);
			j->bodies[j->step] = json_incref(res->body);
			char *ops = op_ids_json(res->body);
			if (state_journal_sent(x->st, j->journal_id, NULL, NULL, ops, res->request_id) != 0)
				engine__warn("apply: cannot write the journal", "error", err_msg());
			free(ops);
			keep_secrets(j, res->body);
		}
		after_response(j, res->body);
		return;
	}
	if (res->outcome == NEON_HTTP_ERROR && res->status == 404 && strcmp(c->method, "DELETE") == 0) {
		/* gone already: what a DELETE was for (sent again after an
		 * unknown outcome, it had run; or something else removed it) */
		fail_journal(j, STATE_JOURNAL_DONE, NULL);
		j->step++;
		j->resends = 0;
		engine__do_step(j);
		return;
	}
	if (res->outcome == NEON_HTTP_ERROR && res->status == 409 && strcmp(c->method, "POST") == 0 &&
	    j->resends < MAX_RESENDS) {
		/* "already exists": an earlier write of it ran after all (a killed
		 * run's request that the server finished later). A role, database
		 * or branch of that name is read back and taken as made. */
		fail_journal(j, STATE_JOURNAL_FAILED, res->message);
		if (engine__probe(j))
			return;
	}
	if (res->outcome == NEON_HTTP_ERROR || res->outcome == NEON_TRANSPORT || res->outcome == NEON_TOO_BIG) {
		/* the client's message names the request already; Neon's refusal
		 * of a schedule on this account's plan says what to do */
		bool refused = res->status == 422 && strcmp(c->method, "PUT") == 0 && engine__schedule_path(c->path);
		if (refused)
			engine__schedule_refused(j, c, res->message);
		char *e = refused ? xasprintf("%s; the account's Neon plan has no automated backups: remove backups.schedule "
					   "from the manifest, or move the account to a paid plan and plan with --refresh full "
					   "(until then plans block the tenant; with spec.neonPlan: free in flotilla.yaml they "
					   "block it before any call)", res->message)
			       : xstrdup(res->message);
		fail_journal(j, STATE_JOURNAL_FAILED, e);
		engine__job_end(j, EXEC_FAILED, e, res->request_id);
		free(e);
		return;
	}
	/* unknown outcome, or a 2xx we cannot read: it may have run */
	fail_journal(j, STATE_JOURNAL_UNKNOWN, res->message);
	if (is_create_call(c))
		goto lookup;
	if ((strcmp(c->method, "PATCH") == 0 || strcmp(c->method, "PUT") == 0 || strcmp(c->method, "DELETE") == 0) &&
	    j->resends < MAX_RESENDS) {
		j->resends++;
		x->sum->resent++;
		engine__do_step(j);
		return;
	}
	if (strcmp(c->method, "POST") == 0 && j->resends < MAX_RESENDS && engine__probe(j))
		return;
	{
		char *e = xasprintf("outcome unknown: %s; the next plan shows what is left", res->message);
		engine__job_end(j, EXEC_FAILED, e, res->request_id);
		free(e);
	}
	return;
lookup:
	engine__lookup_create(j);
}

/* ------------------------------------------------------------ the calls */

static void on_readback(void *arg, int rc, const char *error)
{
	job *j = arg;
	if (rc != 0)
		engine__warn("apply: the tenant converged, but reading it back into the cache failed; run flotilla refresh",
			 "tenant", j->a->tenant, "error", error ? error : "");
	engine__job_end(j, EXEC_OK, NULL, NULL);
}

static int adopt(job *j);

/* Every call made: record the outcome in the map and the cache. */
static void finish(job *j)
{
	executor *x = j->x;
	if (j->a->kind == PLAN_DELETE) {
		if (state_tenant_delete(x->st, j->a->tenant) != 0 && err_code() != ERR_NOTFOUND)
			engine__warn("apply: cannot unmap the tenant", "tenant", j->a->tenant, "error", err_msg());
		engine__job_end(j, EXEC_OK, NULL, NULL);
		return;
	}
	/* an adopt that marked its project maps it now, the mark written */
	if (j->a->kind == PLAN_ADOPT && !j->mapped && adopt(j) != 0) {
		char *e = xasprintf("marked project %s, but cannot map the tenant to it: %s", j->a->project_id, err_msg());
		engine__job_end(j, EXEC_FAILED, e, NULL);
		free(e);
		return;
	}
	/* from the responses when they hold everything, else read back */
	if (j->calls.n == 0) {
		engine__job_end(j, EXEC_OK, NULL, NULL); /* adopted as it was: nothing changed */
		return;
	}
	if (j->marked && j->calls.n == 1) {
		/* the owner branch is all that changed: no read-back */
		const json_t *ann = json_object_get(j->calls.v[0].body, "annotation_value");
		if (cache_add_branch(x->st, j->project_id, json_object_get(j->marked, "branch"), ann) == 0) {
			engine__job_end(j, EXEC_OK, NULL, NULL);
			return;
		}
		engine__warn("apply: cannot cache the owner branch; reading the project back", "tenant", j->a->tenant,
			 "error", err_msg());
	}
	if (j->created && j->calls.n == 1) {
		engine__job_end(j, EXEC_OK, NULL, NULL); /* cached when it was created */
		return;
	}
	/* when the responses hold every object written, they are cached and
	 * nothing is read back (a create's own response was cached when it
	 * came) */
	size_t from = j->created && is_create_call(&j->calls.v[0]) ? 1 : 0;
	plan_calls rest = {j->calls.v + from, j->calls.n - from, false};
	if (cache_apply_writes(x->st, j->project_id, &rest, j->bodies ? j->bodies + from : NULL) == 0) {
		engine__job_end(j, EXEC_OK, NULL, NULL);
		return;
	}
	x->sum->readbacks++;
	refresh_one_submit(x->st, x->c, j->project_id, on_readback, j);
}

/* Does an adopt's first call write the owner branch? Then the tenant is
 * mapped once it is written, not before: a failed mark maps nothing. */
static bool marks_first(const plan_calls *pc)
{
	if (!pc->n || strcmp(pc->v[0].method, "POST") != 0)
		return false;
	const char *name = json_string_value(json_object_get(json_object_get(pc->v[0].body, "branch"), "name"));
	return name && strcmp(name, OWNER_BRANCH) == 0;
}

void engine__do_step(job *j)
{
	executor *x = j->x;
	if (j->step == j->calls.n) {
		finish(j);
		return;
	}
	const plan_call *c = &j->calls.v[j->step];
	const char *why = NULL;
	char *path = engine__fill(j, c->path, &why);
	json_t *body = c->body && path ? engine__fill_json(j, c->body, &why) : NULL;
	if (!path || (c->body && !body)) {
		char *e = xasprintf("%s %s: %s", c->method, c->path, why ? why : "cannot fill the call");
		free(path);
		json_decref(body);
		engine__job_end(j, EXEC_FAILED, e, NULL);
		free(e);
		return;
	}
	json_t *intent = json_pack("{s:s,s:s,s:O?}", "method", c->method, "path", path, "body", body);
	char *text = json_dumps(intent, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(intent);
	char *label = xasprintf("%s %s", c->method, c->path);
	if (state_journal_intent(x->st, x->o->run_id, j->a->tenant, j->project_id, label, text ? text : "{}",
				 &j->journal_id) != 0) {
		/* no intent, no write: the journal is what makes a crash safe */
		char *e = xasprintf("cannot write the journal before %s: %s", label, err_msg());
		free(label);
		free(text);
		free(path);
		json_decref(body);
		engine__job_end(j, EXEC_FAILED, e, NULL);
		free(e);
		return;
	}
	free(label);
	free(text);
	/* a write below the project (branches, endpoints, roles, databases)
	 * leaves the cached deep state behind until the read-back at the end:
	 * if this run dies first, the next plan must read it again */
	if (j->project_id && strncmp(path, "/projects/", 10) == 0 && strchr(path + 10, '/') &&
	    !engine__schedule_path(path) && state_deep_stale(x->st, j->project_id) != 0)
		engine__warn("apply: cannot mark the cache stale", "tenant", j->a->tenant, "error", err_msg());
	neon_submit(x->c, c->method, path, body, true, on_write, j);
	free(path);
}

/* A tenant whose project exists, annotated for it, and no project mapped:
 * map it (the plan proved it from the live list), then make its calls. A
 * tenant mapped meanwhile to another project is not taken over. */
static int adopt(job *j)
{
	executor *x = j->x;
	state_tenant t;
	int rc = state_tenant_get(x->st, j->a->tenant, &t);
	if (rc == 0) {
		bool same = strcmp(t.project_id, j->a->project_id) == 0;
		state_tenant_release(&t);
		if (!same)
			return err_set(ERR_CONFLICT, "the tenant was mapped to another project since the plan; plan again");
	} else if (rc != ERR_NOTFOUND) {
		return rc;
	}
	if ((rc = state_tenant_put(x->st, j->a->tenant, j->a->project_id, x->o->fleet, "adopt")) != 0)
		return rc;
	j->mapped = true;
	x->sum->adopted++;
	engine__emit(x, "adopted", j, j->a->project_id);
	return 0;
}

/* A signal asked the run to stop: start nothing more. */
static bool stopping(executor *x)
{
	if (!x->o->stop || !*x->o->stop)
		return false;
	if (!x->stop_ms)
		x->stop_ms = mono_ms();
	return true;
}

/* How many tenants may settle at once. Each owes a poll, due a settle delay
 * after its last write: more of them than half the rate's worth of that
 * delay (the other half pays for their writes) would only queue behind
 * each other, and would make an apply's first seconds writes alone, one
 * route at the full rate and the burst (Neon caps each route at 40 a
 * second: a 429 halves the client's rate). */
static size_t settle_cap(const executor *x)
{
	neon_stats ns;
	neon_client_stats(x->c, &ns);
	double cap = ns.rate_now * POLL_SETTLE_MS / 2000.0;
	return cap < 1.0 ? 1 : (size_t)cap;
}

static void start_next(executor *x)
{
	heartbeat(x);
	if (stopping(x))
		x->stop = true;
	while (!x->stop && x->active < (size_t)x->o->parallel && x->settling < settle_cap(x) &&
	       x->next < x->p->nactions) {
		const plan_action *a = &x->p->actions[x->next++];
		if (a->kind != PLAN_CREATE && a->kind != PLAN_UPDATE && a->kind != PLAN_DELETE && a->kind != PLAN_ADOPT)
			continue;
		exec_outcome *out = &x->sum->v[x->sum->n++];
		out->tenant = xstrdup(a->tenant);
		out->kind = a->kind;
		const char *why = x->o->skip ? x->o->skip(x->o->skip_arg, a) : NULL;
		if (why) {
			out->status = EXEC_SKIPPED;
			out->error = xstrdup(why);
			x->sum->skipped++;
			x->done++;
			continue;
		}
		job *j = xcalloc(1, sizeof(*j));
		j->x = x;
		j->a = a;
		j->out = out;
		j->started_ms = mono_ms();
		if (a->project_id)
			j->project_id = xstrdup(a->project_id);
		plan_action_calls(x->p, a, &j->calls);
		if (a->kind == PLAN_ADOPT && !marks_first(&j->calls) && adopt(j) != 0) {
			out->status = EXEC_FAILED;
			out->error = xasprintf("cannot map the tenant to project %s: %s", a->project_id, err_msg());
			x->sum->failed++;
			x->done++;
			job_free(j);
			continue;
		}
		x->active++;
		report_active(x);
		engine__emit(x, "start", j, NULL);
		engine__do_step(j);
	}
}

int exec_apply(neon_client *c, state *st, const plan *p, const exec_opts *o, exec_summary *out)
{
	memset(out, 0, sizeof(*out));
	size_t acted = 0;
	for (size_t i = 0; i < p->nactions; i++) {
		plan_kind k = p->actions[i].kind;
		if (k == PLAN_CREATE || k == PLAN_UPDATE || k == PLAN_DELETE || k == PLAN_ADOPT)
			acted++;
		else if (k == PLAN_BLOCKED)
			out->blocked++;
	}
	/* a new generation before the first write: a plan file made before
	 * this run can no longer be applied (cmd_apply) */
	if (acted && state_generation_bump(st, NULL) != 0)
		return err_set(ERR_FAIL, "cannot start the apply: %s", err_msg());
	out->v = xcalloc(acted + 1, sizeof(*out->v));
	executor x = {.c = c, .st = st, .p = p, .o = o, .sum = out, .renewed_ms = mono_ms()};
	engine__progress_start(&x.prog, "apply: tenants", (int64_t)acted);
	neon_stats ns;
	neon_client_stats(c, &ns);
	x.requests0 = ns.requests;
	start_next(&x);
	int rc = neon_run(c);
	engine__progress_end(&x.prog);
	out->stopped = x.stop && x.next < p->nactions;
	if (rc != 0)
		return rc;
	return 0;
}

void exec_summary_release(exec_summary *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].tenant);
		free(s->v[i].error);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}
