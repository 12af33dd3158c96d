/*
 * test-executor.c: unit tests for engine/'s executor (executor.c and its
 * unknown-outcome path, unknown.c) against a scripted Neon.
 *
 * Everything is real but Neon: the plan comes from plan_build over
 * manifests written to a scratch directory and a state file seeded through
 * state/'s API; the real client (neon/) talks HTTP to a small
 * libmicrohttpd server on 127.0.0.1 that plays a script. A script is the
 * exact list of requests the executor must make, in order (method, path
 * with its query, and optionally JSON the body must contain), each with
 * its canned answer: a status, a body, X-Request-Id and Retry-After, or a
 * connection closed without an answer. A request the script does not
 * expect next, a body that lacks what it must carry, or a step never
 * reached fails the test. Every canned body is first checked against
 * Neon's OpenAPI document (vendor/neon-api, through tests/sim/oapi.c), so
 * the answers have the shapes Neon gives.
 *
 * Only fan-outs whose order the client does not fix (a project's branch
 * and endpoint lists read together) are grouped: the steps of one group
 * may come in any order. Waits are the executor's own (operation polls
 * from 100 ms, a tenant's last write's first poll after the settle delay
 * of 1.5 s, one Retry-After of a second); nothing asserts on time. The
 * settle poll's order against other tenants' writes is what shows the
 * slot given up (a write 1.5 s early, never a race).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "engine/engine.h"
#include "tests/sim/oapi.h"

#include "helpers.h"

#define API_PREFIX "/api/v2"
#define API_KEY "test-key-0123"
#define TS "2026-11-20T10:00:00Z"
#define POLL_LIMIT "?limit=50" /* the executor's poll of a project's operations */

/* The OpenAPI document, loaded once for the whole group. */
static oapi *doc;

/* ------------------------------------------------------- Neon's shapes */

static void set_str(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, json_string(v));
}

static void set_int(json_t *o, const char *k, json_int_t v)
{
	json_object_set_new(o, k, json_integer(v));
}

/* A project as GET /projects/{id} and the list both describe it (the
 * required members of Project and of ProjectListItem). */
static json_t *project_json(const char *id, const char *name, json_int_t history)
{
	json_t *p = json_object();
	static const char *const zero[] = {"active_time", "active_time_seconds", "compute_time_seconds",
					   "written_data_bytes", "data_transfer_bytes", "data_storage_bytes_hour",
					   "cpu_used_sec", "branch_logical_size_limit",
					   "branch_logical_size_limit_bytes"};

	set_str(p, "id", id);
	set_str(p, "platform_id", "aws");
	set_str(p, "region_id", "aws-us-east-2");
	set_str(p, "name", name);
	set_str(p, "provisioner", "k8s-neonvm");
	set_int(p, "pg_version", 17);
	set_str(p, "proxy_host", "us-east-2.aws.neon.tech");
	json_object_set_new(p, "store_passwords", json_true());
	for (size_t i = 0; i < ARRAY_LEN(zero); i++)
		set_int(p, zero[i], 0);
	set_str(p, "creation_source", "flotilla");
	set_int(p, "history_retention_seconds", history);
	set_str(p, "created_at", TS);
	set_str(p, "updated_at", TS);
	set_str(p, "consumption_period_start", TS);
	set_str(p, "consumption_period_end", "2026-12-01T00:00:00Z");
	set_str(p, "owner_id", "owner-1");
	json_object_set_new(p, "default_endpoint_settings",
			    json_pack("{s:f,s:f,s:i}", "autoscaling_limit_min_cu", 0.25, "autoscaling_limit_max_cu",
				      0.25, "suspend_timeout_seconds", 300));
	return p;
}

static char *branch_id(const char *pid)
{
	return xasprintf("br-%s", pid);
}

static json_t *branch_json(const char *pid)
{
	char *bid = branch_id(pid);
	json_t *b = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:i,s:i,s:i,s:i,s:i}", "id", bid,
			      "project_id", pid, "name", "main", "current_state", "ready", "state_changed_at", TS,
			      "creation_source", "flotilla", "created_at", TS, "updated_at", TS, "default", 1,
			      "protected", 0, "cpu_used_sec", 0, "active_time_seconds", 0, "compute_time_seconds", 0,
			      "written_data_bytes", 0, "data_transfer_bytes", 0);
	free(bid);
	return b;
}

static json_t *endpoint_json(const char *pid)
{
	char *bid = branch_id(pid), *id = xasprintf("ep-%s", pid);
	char *host = xasprintf("%s.us-east-2.aws.neon.tech", id);
	json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:s,s:f,s:f,s:s,s:s,s:b,s:s,s:b,s:b,s:s,s:s,s:s,s:{},s:s,s:i,s:s}",
			      "host", host, "id", id, "project_id", pid, "branch_id", bid, "region_id",
			      "aws-us-east-2", "autoscaling_limit_min_cu", 0.25, "autoscaling_limit_max_cu", 0.25,
			      "type", "read_write", "current_state", "idle", "pooler_enabled", 0, "pooler_mode",
			      "transaction", "disabled", 0, "passwordless_access", 1, "creation_source", "flotilla",
			      "created_at", TS, "updated_at", TS, "settings", "proxy_host", "us-east-2.aws.neon.tech",
			      "suspend_timeout_seconds", 300, "provisioner", "k8s-neonvm");
	free(bid);
	free(id);
	free(host);
	return e;
}

static json_t *database_json(const char *pid)
{
	char *bid = branch_id(pid);
	json_t *d = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s}", "id", 1, "branch_id", bid, "name", "neondb", "owner_name",
			      "neondb_owner", "created_at", TS, "updated_at", TS);
	free(bid);
	return d;
}

/* password: a new role's (a create's response), or NULL */
static json_t *role_json(const char *pid, const char *password)
{
	char *bid = branch_id(pid);
	json_t *r = json_pack("{s:s,s:s,s:b,s:s,s:s,s:s*}", "branch_id", bid, "name", "neondb_owner", "protected", 0,
			      "created_at", TS, "updated_at", TS, "password", password);
	free(bid);
	return r;
}

/* One operation; error may be NULL. */
static json_t *op_json(const char *id, const char *pid, const char *action, const char *status, int failures,
		       const char *error)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:i,s:s*}", "id", id, "project_id", pid, "action", action,
			 "status", status, "failures_count", failures, "created_at", TS, "updated_at", TS,
			 "total_duration_ms", 40, "error", error);
}

/* {"operations": [...]}: the operations given, NULL-terminated, stolen. */
static json_t *ops_list(json_t *first, ...)
{
	json_t *a = json_array();
	va_list ap;

	va_start(ap, first);
	for (json_t *o = first; o; o = va_arg(ap, json_t *))
		json_array_append_new(a, o);
	va_end(ap);
	return json_pack("{s:o}", "operations", a);
}

/* POST /projects' 201: the project, its default branch, endpoint,
 * database, role with its password and connection URI, and ops (a list
 * of operations, stolen). */
static json_t *created_json(const char *pid, const char *name, json_t *ops)
{
	char *host = xasprintf("ep-%s.us-east-2.aws.neon.tech", pid);
	char *uri = xasprintf("postgresql://neondb_owner:pw-secret@%s/neondb?sslmode=require", host);
	json_t *r = json_pack("{s:o,s:[{s:s,s:{s:s,s:s,s:s,s:s,s:s}}],s:[o],s:[o],s:O,s:o,s:[o]}", "project",
			      project_json(pid, name, 86400), "connection_uris", "connection_uri", uri,
			      "connection_parameters", "database", "neondb", "password", "pw-secret", "role",
			      "neondb_owner", "host", host, "pooler_host", host, "roles", role_json(pid, "pw-secret"),
			      "databases", database_json(pid), "operations", json_object_get(ops, "operations"),
			      "branch", branch_json(pid), "endpoints", endpoint_json(pid));
	json_decref(ops);
	free(host);
	free(uri);
	return r;
}

/* Neon's error body (GeneralError). */
static json_t *error_json(const char *message)
{
	return json_pack("{s:s,s:s}", "code", "", "message", message);
}

/* ------------------------------------------------------------- the script */

typedef struct step {
	const char *method;
	char *uri;            /* after the API base, query included, as sent */
	json_t *want;         /* or NULL: JSON the request's body must contain */
	int status;           /* 0: close the connection without an answer */
	json_t *body;         /* the answer's body, or NULL */
	char retry_after[16]; /* "": no Retry-After header */
	char request_id[64];  /* the answer's X-Request-Id */
	int group;            /* nonzero: this group's steps may come in any order */
	bool used;
	json_t *got;          /* the body the request carried, or NULL */
} step;

typedef struct script {
	pthread_mutex_t mu;
	struct MHD_Daemon *d;
	int port;
	step **v;             /* each its own allocation: expect's pointers stay valid */
	size_t n, cap;
	size_t next;          /* the first step not used yet */
	size_t seen;          /* requests that arrived */
	buf problems;         /* one line per unexpected request or body */
} script;

/* One request on its way in: libmicrohttpd calls the handler several
 * times, and only the URI log callback sees the query as it was sent. */
typedef struct req_ctx {
	char *uri;
	bool started;
	bool too_big;
	buf body;
} req_ctx;

/* Does got hold everything want has? Objects may have more members;
 * arrays and scalars must be equal (their members contain each other). */
static bool json_contains(const json_t *got, const json_t *want)
{
	const char *k;
	json_t *v;

	if (json_is_object(want)) {
		if (!json_is_object(got))
			return false;
		json_object_foreach((json_t *)want, k, v)
			if (!json_contains(json_object_get(got, k), v))
				return false;
		return true;
	}
	if (json_is_array(want)) {
		if (!json_is_array(got) || json_array_size(got) != json_array_size(want))
			return false;
		for (size_t i = 0; i < json_array_size(want); i++)
			if (!json_contains(json_array_get(got, i), json_array_get(want, i)))
				return false;
		return true;
	}
	return got && json_equal(got, want);
}

static void problem(script *s, const char *fmt, ...) PRINTF(2, 3);
static void problem(script *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int rc = buf_vprintf(&s->problems, fmt, ap);
	va_end(ap);
	rc |= buf_addc(&s->problems, '\n');
	(void)rc; /* past the bound: the first problems are the ones to read */
}

/* The step this request is, or NULL. The next unused step, or, when it
 * belongs to a group, any unused step of that group. */
static step *match(script *s, const char *method, const char *uri)
{
	if (s->next >= s->n)
		return NULL;
	int group = s->v[s->next]->group;
	for (size_t i = s->next; i < s->n && (i == s->next || (group && s->v[i]->group == group)); i++) {
		step *st = s->v[i];
		if (!st->used && strcmp(st->method, method) == 0 && strcmp(st->uri, uri) == 0)
			return st;
	}
	return NULL;
}

static enum MHD_Result answer(script *s, struct MHD_Connection *c, const char *method, req_ctx *r)
{
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	const char *uri = str_has_prefix(r->uri, API_PREFIX "/") ? r->uri + strlen(API_PREFIX) : r->uri;
	json_t *got = r->body.len ? json_loadb(r->body.data, r->body.len, 0, NULL) : NULL;
	char *text = NULL, request_id[64], retry_after[16] = "";
	int status;

	pthread_mutex_lock(&s->mu);
	size_t k = ++s->seen;
	step *st = match(s, method, uri);
	if (!auth || strcmp(auth, "Bearer " API_KEY) != 0)
		problem(s, "request %zu: %s %s: no bearer key", k, method, uri);
	if (r->too_big || (r->body.len && !got))
		problem(s, "request %zu: %s %s: the body is not JSON", k, method, uri);
	if (!st) {
		if (s->next < s->n)
			problem(s, "request %zu: %s %s, but the script expected %s %s (step %zu)", k, method, uri,
				s->v[s->next]->method, s->v[s->next]->uri, s->next + 1);
		else
			problem(s, "request %zu: %s %s after the script ended", k, method, uri);
		json_t *e = error_json("not in the script");
		status = 400;
		text = json_dumps(e, JSON_COMPACT);
		json_decref(e);
		snprintf(request_id, sizeof(request_id), "unexpected-%zu", k);
	} else {
		if (st->want && !json_contains(got, st->want)) {
			char *w = json_dumps(st->want, JSON_COMPACT | JSON_SORT_KEYS);
			problem(s, "request %zu: %s %s: the body lacks %s: %.*s", k, method, uri, w,
				(int)(r->body.len < 2000 ? r->body.len : 2000), r->body.data ? r->body.data : "");
			free(w);
		}
		st->used = true;
		st->got = got;
		got = NULL;
		while (s->next < s->n && s->v[s->next]->used)
			s->next++;
		status = st->status;
		text = st->body ? json_dumps(st->body, JSON_COMPACT) : NULL;
		str_copy(request_id, st->request_id, sizeof(request_id));
		str_copy(retry_after, st->retry_after, sizeof(retry_after));
	}
	pthread_mutex_unlock(&s->mu);
	json_decref(got);
	if (status == 0) {
		free(text);
		return MHD_NO; /* the connection closes with no answer */
	}

	struct MHD_Response *resp = MHD_create_response_from_buffer(
		text ? strlen(text) : 0, text ? text : (char *)"", text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (text)
		MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "X-Request-Id", request_id);
	if (retry_after[0])
		MHD_add_response_header(resp, "Retry-After", retry_after);
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	req_ctx *r = xcalloc(1, sizeof(*r));

	(void)cls;
	(void)c;
	r->uri = xstrdup(uri);
	buf_init(&r->body, 1 << 20);
	return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	req_ctx *r = *con_cls;

	(void)url;
	(void)version;
	if (!r)
		return MHD_NO;
	if (!r->started) {
		r->started = true;
		return MHD_YES;
	}
	if (*upload_size) {
		if (buf_add(&r->body, upload, *upload_size) != 0)
			r->too_big = true;
		*upload_size = 0;
		return MHD_YES;
	}
	return answer(cls, c, method, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	req_ctx *r = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (!r)
		return;
	buf_release(&r->body);
	free(r->uri);
	free(r);
	*con_cls = NULL;
}

static script *script_start(void)
{
	script *s = xcalloc(1, sizeof(*s));
	struct sockaddr_in sa;

	pthread_mutex_init(&s->mu, NULL);
	buf_init(&s->problems, 64 * 1024);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_request, s,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_URI_LOG_CALLBACK, on_uri, (void *)s,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, (void *)s,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
				MHD_OPTION_END);
	assert_non_null(s->d);
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);
	s->port = info->port;
	assert_true(s->port > 0);
	return s;
}

static void script_stop(script *s)
{
	if (!s)
		return;
	if (s->d)
		MHD_stop_daemon(s->d);
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i]->uri);
		json_decref(s->v[i]->want);
		json_decref(s->v[i]->body);
		json_decref(s->v[i]->got);
		free(s->v[i]);
	}
	free(s->v);
	buf_release(&s->problems);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/*
 * Add the next expected request and its answer (body stolen, may be NULL;
 * status 0 closes the connection instead). The body is checked against
 * the OpenAPI document's schema for this method, path and status first.
 * Returns the step, for the setters below; its request id is "req-N" (N:
 * the step's number) unless answer_id sets another.
 */
static step *expect(script *s, const char *method, const char *uri, int status, json_t *body)
{
	if (body) {
		const json_t *schema = oapi_response_schema(doc, method, uri, status);
		buf errs = BUF_INIT(8192);
		if (!schema)
			fail_msg("%s %s %d: no response schema: %s", method, uri, status, err_msg());
		if (oapi_check(doc, schema, body, &errs) != 0)
			fail_msg("%s %s %d: the canned body is not Neon's:\n%s", method, uri, status,
				 errs.data ? errs.data : "");
		buf_release(&errs);
	}
	pthread_mutex_lock(&s->mu);
	if (s->n == s->cap)
		s->v = xgrow(s->v, &s->cap, s->n + 1, sizeof(*s->v));
	step *st = s->v[s->n++] = xcalloc(1, sizeof(*st));
	st->method = method;
	st->uri = xstrdup(uri);
	st->status = status;
	st->body = body;
	snprintf(st->request_id, sizeof(st->request_id), "req-%zu", s->n);
	pthread_mutex_unlock(&s->mu);
	return st;
}

/* What a step must see or answers besides its body, set under the lock
 * (the server thread reads steps). want is stolen. */
static void want_body(script *s, step *st, json_t *want)
{
	pthread_mutex_lock(&s->mu);
	json_decref(st->want);
	st->want = want;
	pthread_mutex_unlock(&s->mu);
}

static void answer_id(script *s, step *st, const char *request_id)
{
	pthread_mutex_lock(&s->mu);
	str_copy(st->request_id, request_id, sizeof(st->request_id));
	pthread_mutex_unlock(&s->mu);
}

static void answer_retry_after(script *s, step *st, const char *seconds)
{
	pthread_mutex_lock(&s->mu);
	str_copy(st->retry_after, seconds, sizeof(st->retry_after));
	pthread_mutex_unlock(&s->mu);
}

static void in_group(script *s, step *st, int group)
{
	pthread_mutex_lock(&s->mu);
	st->group = group;
	pthread_mutex_unlock(&s->mu);
}

/* The script ran to its end with nothing unexpected; returns how many
 * requests arrived. */
static size_t script_check(script *s)
{
	buf missing = BUF_INIT(0);
	size_t seen;

	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->n; i++)
		if (!s->v[i]->used)
			assert_int_equal(buf_printf(&missing, "step %zu: %s %s never came\n", i + 1, s->v[i]->method,
						    s->v[i]->uri), 0);
	if (s->problems.len || missing.len) {
		fail_msg("the script did not run as written:\n%s%s", s->problems.data ? s->problems.data : "",
			 missing.data ? missing.data : "");
	}
	seen = s->seen;
	pthread_mutex_unlock(&s->mu);
	buf_release(&missing);
	return seen;
}

/* How many steps of the script are `method` requests. */
static size_t script_count(script *s, const char *method)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->v[i]->used && strcmp(s->v[i]->method, method) == 0;
	return n;
}

/* --------------------------------------------------------------- fixture */

#define MAX_ATTEMPTS_SEEN 32

typedef struct fx {
	char *dir;
	state *st;
	spec_source *src;
	spec_fleet *fleet;
	plan *p;
	script *s;
	neon_client *c;
	int64_t run_id;
	exec_summary sum;
	buf warnings;          /* the engine's warnings and errors, one a line */
	/* every attempt the client made: route template and status */
	char routes[MAX_ATTEMPTS_SEEN][64];
	int statuses[MAX_ATTEMPTS_SEEN];
	size_t nattempts;
	volatile sig_atomic_t stop; /* exec_opts.stop of the tests that stop */
} fx;

static void on_attempt(void *arg, const char *route, int status)
{
	fx *f = arg;

	if (f->nattempts < MAX_ATTEMPTS_SEEN) {
		str_copy(f->routes[f->nattempts], route, sizeof(f->routes[0]));
		f->statuses[f->nattempts] = status;
	}
	f->nattempts++;
}

static void on_event(void *arg, const engine_event *e)
{
	fx *f = arg;

	if (e->kind != ENGINE_LOG || e->level < LOG_WARN)
		return;
	assert_int_equal(buf_adds(&f->warnings, e->msg), 0);
	for (size_t i = 0; e->fields && e->fields[i] && e->fields[i + 1]; i += 2)
		assert_int_equal(buf_printf(&f->warnings, " %s=%s", e->fields[i], e->fields[i + 1]), 0);
	assert_int_equal(buf_addc(&f->warnings, '\n'), 0);
}

/* The client, talking to the script at `rate` requests a second (bursts
 * of 1000: no test waits for the budget). */
static void fx_client(fx *f, double rate)
{
	neon_options o = NEON_OPTIONS_INIT;
	char *url = xasprintf("http://127.0.0.1:%d" API_PREFIX, f->s->port);

	neon_client_free(f->c);
	o.base_url = url;
	o.api_key = API_KEY;
	o.rate = rate;
	o.burst = 1000;
	o.max_in_flight = 4;
	o.timeout_ms = 20000;
	o.max_backoff_ms = 100;
	o.seed = 1;
	o.on_attempt = on_attempt;
	o.on_attempt_arg = f;
	assert_int_equal(neon_client_new(&f->c, &o), 0);
	free(url);
}

static int setup(void **ctx)
{
	fx *f = xcalloc(1, sizeof(*f));
	char *path;

	f->dir = ut_tmpdir("executor");
	buf_init(&f->warnings, 0);
	path = xasprintf("%s/state.db", f->dir);
	assert_int_equal(state_open(&f->st, path), 0);
	free(path);
	assert_int_equal(state_meta_set(f->st, "fleet", "prod"), 0);
	assert_int_equal(state_run_begin(f->st, "apply", &f->run_id), 0);

	f->s = script_start();
	fx_client(f, 1000); /* the script, not the budget, paces these runs */

	engine_reporter r = {.event = on_event, .arg = f};
	engine_set_reporter(&r);
	*ctx = f;
	return 0;
}

static int teardown(void **ctx)
{
	fx *f = *ctx;

	engine_set_reporter(&(engine_reporter){0});
	exec_summary_release(&f->sum);
	neon_client_free(f->c);
	script_stop(f->s);
	plan_free(f->p);
	spec_fleet_free(f->fleet);
	spec_source_dir_free(f->src);
	state_close(f->st);
	ut_rm_rf(f->dir);
	free(f->dir);
	buf_release(&f->warnings);
	free(f);
	return 0;
}

/* The fleet "prod" (namePrefix t-) with these tenants: name, then the
 * lines of its spec ("" for none), NULL-terminated. */
static void fx_fleet(fx *f, ...) __attribute__((sentinel));
static void fx_fleet(fx *f, ...)
{
	char *path;
	va_list ap;
	const char *name;

	ut_write_fleet(f->dir, "apiVersion: flotilla/v1\n"
			       "kind: Fleet\n"
			       "metadata: {name: prod}\n"
			       "spec:\n"
			       "  namePrefix: \"t-\"\n"
			       "  prune: false\n"
			       "  allowedRegions: [aws-us-east-2]\n");
	va_start(ap, f);
	while ((name = va_arg(ap, const char *)) != NULL) {
		const char *spec = va_arg(ap, const char *);
		char *text = xasprintf("apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: %s\nspec:%s\n%s%s",
				       name, *spec ? "" : " {}", spec, *spec ? "\n" : "");
		path = xasprintf("%s/fleet/tenants/%s.yaml", f->dir, name);
		ut_write_text(path, text);
		free(path);
		free(text);
	}
	va_end(ap);
}

/* A live project in the cache (as Neon's defaults and flotilla's create
 * make it, 1 day of history) mapped to the tenant. */
static void fx_live(fx *f, const char *tenant, const char *pid)
{
	char *name = xasprintf("t-%s", tenant);
	state_project p;

	memset(&p, 0, sizeof(p));
	p.id = (char *)pid;
	p.name = name;
	p.region_id = (char *)"aws-us-east-2";
	p.pg_version = 17;
	p.history_retention_seconds = 86400;
	p.created_at = (char *)TS;
	p.updated_at = (char *)TS;
	p.min_cu = 0.25;
	p.max_cu = 0.25;
	p.suspend_timeout_seconds = 300;
	assert_int_equal(state_project_put(f->st, &p, false), 0);
	assert_int_equal(state_tenant_put(f->st, tenant, pid, "prod", "create"), 0);
	free(name);
}

/* fx_live, and its deep state read: the branch main marked for the
 * tenant, its read_write endpoint (0.25 CU, 5 minutes), the database
 * neondb and the role neondb_owner, as branch_json and endpoint_json
 * describe them. */
static void fx_live_deep(fx *f, const char *tenant, const char *pid)
{
	char *bid = branch_id(pid), *eid = xasprintf("ep-%s", pid);
	char *ann = xasprintf("{\"flotilla.fleet\":\"prod\",\"flotilla.tenant\":\"%s\"}", tenant);
	state_branch b = {bid, (char *)"main", NULL, true, false, ann, (char *)TS, (char *)TS};
	state_endpoint e = {eid, bid, true, 0.25, 0.25, 300, false, (char *)"idle", NULL, NULL};
	state_database d = {bid, (char *)"neondb", (char *)"neondb_owner"};
	state_role r = {bid, (char *)"neondb_owner"};
	state_deep deep = {&b, 1, &e, 1, &d, 1, &r, 1};

	fx_live(f, tenant, pid);
	assert_int_equal(state_deep_put(f->st, pid, TS, &deep), 0);
	free(bid);
	free(eid);
	free(ann);
}

/* The plan of the fleet against the cache, by plan_build. */
static plan *fx_plan(fx *f)
{
	char *root = xasprintf("%s/fleet", f->dir);
	spec_diags *diags = spec_diags_new();

	assert_int_equal(spec_source_dir_new(&f->src, root), 0);
	assert_int_equal(spec_fleet_load(&f->fleet, f->src, diags), 0);
	if (spec_diags_count(diags)) {
		buf o = BUF_INIT(0);
		assert_int_equal(spec_diags_render_text(diags, &o), 0);
		fail_msg("the fleet does not validate:\n%s", o.data);
	}
	spec_diags_free(diags);
	free(root);
	plan_input in = {.fleet = f->fleet, .st = f->st, .now = 1795000000};
	assert_int_equal(plan_build(&f->p, &in), 0);
	return f->p;
}

/* Run the executor over the plan with these options; the script must have
 * run to its end. Returns the requests the server saw. */
static size_t fx_apply_opts(fx *f, const exec_opts *o)
{
	assert_int_equal(exec_apply(f->c, f->st, f->p, o, &f->sum), 0);
	return script_check(f->s);
}

/* Run the executor over the plan, one tenant at a time. */
static size_t fx_apply(fx *f, bool continue_on_error)
{
	exec_opts o = {.parallel = 1, .op_timeout_ms = 120000, .continue_on_error = continue_on_error,
		       .run_id = f->run_id, .fleet = "prod"};

	return fx_apply_opts(f, &o);
}

typedef struct jrow {
	char action[96], state[16], project_id[64], request_id[64];
	char error[600], ops[300];
	bool has_error;
} jrow;

typedef struct jrows {
	jrow v[8];
	size_t n;
} jrows;

static int collect_row(void *arg, const state_journal_entry *e)
{
	jrows *rows = arg;

	if (rows->n == ARRAY_LEN(rows->v))
		return 0;
	jrow *r = &rows->v[rows->n++];
	str_copy(r->action, e->action ? e->action : "", sizeof(r->action));
	str_copy(r->state, e->state ? e->state : "", sizeof(r->state));
	str_copy(r->project_id, e->project_id ? e->project_id : "", sizeof(r->project_id));
	str_copy(r->request_id, e->request_id ? e->request_id : "", sizeof(r->request_id));
	str_copy(r->error, e->error ? e->error : "", sizeof(r->error));
	str_copy(r->ops, e->operation_ids_json ? e->operation_ids_json : "", sizeof(r->ops));
	r->has_error = e->error != NULL;
	return 0;
}

/* This run's journal rows, oldest first. */
static void fx_journal(fx *f, jrows *rows)
{
	memset(rows, 0, sizeof(*rows));
	assert_int_equal(state_journal_run(f->st, f->run_id, collect_row, rows), 0);
}

static void assert_mapped(fx *f, const char *tenant, const char *pid)
{
	state_tenant t;

	assert_int_equal(state_tenant_get(f->st, tenant, &t), 0);
	assert_string_equal(t.project_id, pid);
	assert_string_equal(t.fleet, "prod");
	assert_string_equal(t.source, "create");
	state_tenant_release(&t);
}

/* The project's deep state in the cache: one branch main (marked for the
 * tenant when `marked`), one endpoint, database and role. */
static void assert_deep_cached(fx *f, const char *pid, const char *tenant, bool marked)
{
	state_deep d;

	assert_int_equal(state_deep_get(f->st, pid, &d), 0);
	assert_int_equal(d.nbranches, 1);
	assert_string_equal(d.branches[0].name, "main");
	assert_true(d.branches[0].is_default);
	if (marked) {
		char *want = xasprintf("\"flotilla.tenant\":\"%s\"", tenant);
		assert_non_null(d.branches[0].annotations_json);
		assert_non_null(strstr(d.branches[0].annotations_json, want));
		free(want);
	}
	assert_int_equal(d.nendpoints, 1);
	assert_int_equal(d.ndatabases, 1);
	assert_int_equal(d.nroles, 1);
	state_deep_release(&d);
}

static void assert_no_warnings(fx *f)
{
	if (f->warnings.len)
		fail_msg("the engine warned:\n%s", f->warnings.data);
}

/* ------------------------------------------------------------ scenarios */

#define OP1 "0b9c0d7e-5a41-4c43-9d1f-000000000001"
#define OP2 "0b9c0d7e-5a41-4c43-9d1f-000000000002"
#define OP_OLD "0b9c0d7e-5a41-4c43-9d1f-0000000000aa"

/* A create: POST /projects, then its two operations polled until both
 * finished (3 polls); the tenant is mapped and the project cached from the
 * response, and the journal row is done. 4 requests. */
static void test_create(void **ctx)
{
	fx *f = *ctx;
	const char *pid = "quiet-river-100001";
	jrows j;
	state_project p;

	fx_fleet(f, "acme", "", NULL);
	plan *pl = fx_plan(f);
	assert_int_equal(pl->ncreate, 1);
	assert_int_equal(pl->ncalls, 1);

	step *w = expect(f->s, "POST", "/projects", 201,
			 created_json(pid, "t-acme",
				      ops_list(op_json(OP1, pid, "create_timeline", "running", 0, NULL),
					       op_json(OP2, pid, "start_compute", "scheduling", 0, NULL), NULL)));
	want_body(f->s, w,
		  json_pack("{s:{s:s,s:s,s:i,s:{s:s,s:{s:s,s:s}}}}", "project", "name", "t-acme", "region_id",
			    "aws-us-east-2", "pg_version", 17, "branch", "name", "main", "annotations", "flotilla.fleet",
			    "prod", "flotilla.tenant", "acme"));
	answer_id(f->s, w, "req-create-acme");
	/* the project's list, newest first: an older operation of its own
	 * stays on it and is none of the executor's business */
	const char *poll = "/projects/quiet-river-100001/operations" POLL_LIMIT;
	expect(f->s, "GET", poll, 200,
	       ops_list(op_json(OP2, pid, "start_compute", "scheduling", 0, NULL),
			op_json(OP1, pid, "create_timeline", "running", 0, NULL),
			op_json(OP_OLD, pid, "apply_config", "finished", 0, NULL), NULL));
	expect(f->s, "GET", poll, 200,
	       ops_list(op_json(OP2, pid, "start_compute", "running", 0, NULL),
			op_json(OP1, pid, "create_timeline", "finished", 0, NULL), NULL));
	expect(f->s, "GET", poll, 200,
	       ops_list(op_json(OP2, pid, "start_compute", "finished", 0, NULL),
			op_json(OP1, pid, "create_timeline", "finished", 0, NULL), NULL));

	assert_int_equal(fx_apply(f, false), 4);
	assert_int_equal(script_count(f->s, "POST"), 1);

	assert_int_equal(f->sum.n, 1);
	assert_string_equal(f->sum.v[0].tenant, "acme");
	assert_int_equal(f->sum.v[0].kind, PLAN_CREATE);
	assert_int_equal(f->sum.v[0].status, EXEC_OK);
	assert_null(f->sum.v[0].error);
	assert_int_equal(f->sum.ok, 1);
	assert_int_equal(f->sum.failed, 0);
	assert_int_equal(f->sum.writes, 1);
	assert_int_equal(f->sum.polls, 3);
	assert_int_equal(f->sum.lookups, 0);
	assert_int_equal(f->sum.resent, 0);
	assert_int_equal(f->sum.readbacks, 0); /* the response held everything */
	assert_int_equal(f->sum.secrets_dropped, 2); /* the role's password and the URI */
	assert_false(f->sum.stopped);

	assert_mapped(f, "acme", pid);
	assert_int_equal(state_project_get(f->st, pid, &p), 0);
	assert_string_equal(p.name, "t-acme");
	assert_int_equal(p.history_retention_seconds, 86400);
	state_project_release(&p);
	assert_deep_cached(f, pid, "acme", true);

	fx_journal(f, &j);
	assert_int_equal(j.n, 1);
	assert_string_equal(j.v[0].action, "POST /projects");
	assert_string_equal(j.v[0].state, STATE_JOURNAL_DONE);
	assert_string_equal(j.v[0].project_id, pid);
	assert_string_equal(j.v[0].request_id, "req-create-acme");
	assert_string_equal(j.v[0].ops, "[\"" OP1 "\",\"" OP2 "\"]");
	assert_false(j.v[0].has_error);
	assert_no_warnings(f);
}

/* An update whose operation fails once and which Neon's retry finishes:
 * "failed" is not final, so the executor keeps polling, and the tenant
 * converges. PATCH + 2 polls; the cache takes the PATCH's project. */
static void test_update_op_failed_then_finished(void **ctx)
{
	fx *f = *ctx;
	const char *pid = "calm-lake-200001";
	const char *poll = "/projects/calm-lake-200001/operations" POLL_LIMIT;
	jrows j;
	state_project p;

	fx_fleet(f, "acme", "  historyRetention: 7d", NULL);
	fx_live(f, "acme", pid);
	plan *pl = fx_plan(f);
	assert_int_equal(pl->nupdate, 1);
	assert_int_equal(pl->ncalls, 1);

	step *w = expect(f->s, "PATCH", "/projects/calm-lake-200001", 200,
			 json_pack("{s:o,s:[o]}", "project", project_json(pid, "t-acme", 604800), "operations",
				   op_json(OP1, pid, "apply_config", "running", 0, NULL)));
	want_body(f->s, w, json_pack("{s:{s:i}}", "project", "history_retention_seconds", 604800));
	expect(f->s, "GET", poll, 200,
	       ops_list(op_json(OP1, pid, "apply_config", "failed", 1, "compute did not answer in time"), NULL));
	expect(f->s, "GET", poll, 200, ops_list(op_json(OP1, pid, "apply_config", "finished", 1, NULL), NULL));

	assert_int_equal(fx_apply(f, false), 3);
	assert_int_equal(f->sum.n, 1);
	assert_int_equal(f->sum.v[0].kind, PLAN_UPDATE);
	assert_int_equal(f->sum.v[0].status, EXEC_OK);
	assert_int_equal(f->sum.ok, 1);
	assert_int_equal(f->sum.writes, 1);
	assert_int_equal(f->sum.polls, 2);
	assert_int_equal(f->sum.readbacks, 0); /* a PATCH of the project alone: its response is cached */

	assert_int_equal(state_project_get(f->st, pid, &p), 0);
	assert_int_equal(p.history_retention_seconds, 604800);
	state_project_release(&p);

	fx_journal(f, &j);
	assert_int_equal(j.n, 1);
	assert_string_equal(j.v[0].action, "PATCH /projects/calm-lake-200001");
	assert_string_equal(j.v[0].state, STATE_JOURNAL_DONE);
	assert_string_equal(j.v[0].request_id, "req-1");
	assert_false(j.v[0].has_error);
	assert_no_warnings(f);
}

/* An update whose operation fails, then ends in error for good: the
 * tenant fails with Neon's error text and the poll's request id, and the
 * journal row says failed with the same text. PATCH + 2 polls. */
static void test_update_op_error(void **ctx)
{
	fx *f = *ctx;
	const char *pid = "calm-lake-200002";
	const char *poll = "/projects/calm-lake-200002/operations" POLL_LIMIT;
	const char *want_error = "operation " OP1 " ended error: compute failed to start after 3 attempts";
	jrows j;

	fx_fleet(f, "acme", "  historyRetention: 7d", NULL);
	fx_live(f, "acme", pid);
	assert_int_equal(fx_plan(f)->nupdate, 1);

	expect(f->s, "PATCH", "/projects/calm-lake-200002", 200,
	       json_pack("{s:o,s:[o]}", "project", project_json(pid, "t-acme", 604800), "operations",
			 op_json(OP1, pid, "apply_config", "running", 0, NULL)));
	expect(f->s, "GET", poll, 200,
	       ops_list(op_json(OP1, pid, "apply_config", "failed", 1, "compute failed to start"), NULL));
	step *last = expect(f->s, "GET", poll, 200,
			    ops_list(op_json(OP1, pid, "apply_config", "error", 3,
					     "compute failed to start after 3 attempts"),
				     NULL));
	answer_id(f->s, last, "req-poll-error");

	assert_int_equal(fx_apply(f, false), 3);
	assert_int_equal(f->sum.n, 1);
	assert_int_equal(f->sum.v[0].status, EXEC_FAILED);
	assert_string_equal(f->sum.v[0].error, want_error);
	assert_string_equal(f->sum.v[0].request_id, "req-poll-error");
	assert_int_equal(f->sum.ok, 0);
	assert_int_equal(f->sum.failed, 1);
	assert_int_equal(f->sum.polls, 2);
	assert_false(f->sum.stopped); /* nothing was left to start */

	fx_journal(f, &j);
	assert_int_equal(j.n, 1);
	assert_string_equal(j.v[0].state, STATE_JOURNAL_FAILED);
	assert_string_equal(j.v[0].error, want_error);
	assert_non_null(strstr(f->warnings.data, "apply: tenant failed tenant=acme"));
}

/* A 429 with Retry-After: the client waits it out and sends the same
 * PATCH again; the executor sees one write. 2 attempts. */
static void test_rate_limited(void **ctx)
{
	fx *f = *ctx;
	const char *pid = "calm-lake-200003";
	neon_stats ns;
	jrows j;

	fx_fleet(f, "acme", "  historyRetention: 7d", NULL);
	fx_live(f, "acme", pid);
	assert_int_equal(fx_plan(f)->nupdate, 1);

	step *limited = expect(f->s, "PATCH", "/projects/calm-lake-200003", 429,
			       error_json("rate limit exceeded: retry after 1s"));
	json_t *patch = json_pack("{s:{s:i}}", "project", "history_retention_seconds", 604800);
	answer_retry_after(f->s, limited, "1");
	want_body(f->s, limited, json_incref(patch));
	step *ok = expect(f->s, "PATCH", "/projects/calm-lake-200003", 200,
			  json_pack("{s:o,s:[]}", "project", project_json(pid, "t-acme", 604800), "operations"));
	want_body(f->s, ok, patch);

	assert_int_equal(fx_apply(f, false), 2);
	assert_true(json_equal(limited->got, ok->got)); /* the same request, sent again */
	assert_int_equal(f->nattempts, 2);
	assert_string_equal(f->routes[0], "PATCH /projects/{id}");
	assert_int_equal(f->statuses[0], 429);
	assert_string_equal(f->routes[1], "PATCH /projects/{id}");
	assert_int_equal(f->statuses[1], 200);
	neon_client_stats(f->c, &ns);
	assert_int_equal(ns.requests, 2);
	assert_int_equal(ns.retries, 1);
	assert_int_equal(ns.status_429, 1);

	assert_int_equal(f->sum.v[0].status, EXEC_OK);
	assert_int_equal(f->sum.writes, 1);
	assert_int_equal(f->sum.resent, 0);
	assert_int_equal(f->sum.polls, 0); /* no operations to wait for */
	fx_journal(f, &j);
	assert_int_equal(j.n, 1);
	assert_string_equal(j.v[0].state, STATE_JOURNAL_DONE);
	assert_string_equal(j.v[0].request_id, "req-2"); /* the attempt that was answered */
	assert_no_warnings(f);
}

/* The steps that read a project back into the cache (refresh_one_submit):
 * the project, then its branch and endpoint lists together, then the
 * branch's databases and roles together. 5 requests. */
static void expect_readback(script *s, const char *pid, const char *tenant)
{
	char *bid = branch_id(pid);
	char *path = xasprintf("/projects/%s", pid);
	char *name = xasprintf("t-%s", tenant);
	json_t *ann = json_pack("{s:{s:{s:s,s:s},s:{s:s,s:s},s:s,s:s}}", bid, "object", "type", "console/branch", "id",
				bid, "value", "flotilla.fleet", "prod", "flotilla.tenant", tenant, "created_at", TS,
				"updated_at", TS);
	char *u;

	expect(s, "GET", path, 200, json_pack("{s:o}", "project", project_json(pid, name, 86400)));
	u = xasprintf("%s/branches?limit=100&sort_by=created_at&sort_order=asc", path);
	in_group(s, expect(s, "GET", u, 200, json_pack("{s:[o],s:o}", "branches", branch_json(pid), "annotations", ann)),
		 1);
	free(u);
	u = xasprintf("%s/endpoints", path);
	in_group(s, expect(s, "GET", u, 200, json_pack("{s:[o]}", "endpoints", endpoint_json(pid))), 1);
	free(u);
	u = xasprintf("%s/branches/%s/databases", path, bid);
	in_group(s, expect(s, "GET", u, 200, json_pack("{s:[o]}", "databases", database_json(pid))), 2);
	free(u);
	u = xasprintf("%s/branches/%s/roles", path, bid);
	in_group(s, expect(s, "GET", u, 200, json_pack("{s:[o]}", "roles", role_json(pid, NULL))), 2);
	free(u);
	free(bid);
	free(path);
	free(name);
}

/* A create whose connection closes without an answer: the outcome is
 * unknown, so the executor searches the name (every page) instead of
 * sending the POST again, finds the project, adopts it, reads its
 * branches, and reads it back into the cache. 1 POST, 1 search, 1
 * branch list, 5 reads back: 8 requests. */
static void test_create_lost_found(void **ctx)
{
	fx *f = *ctx;
	const char *pid = "lost-reply-300001";
	jrows j;

	fx_fleet(f, "acme", "", NULL);
	assert_int_equal(fx_plan(f)->ncreate, 1);

	step *w = expect(f->s, "POST", "/projects", 0, NULL);
	want_body(f->s, w, json_pack("{s:{s:s}}", "project", "name", "t-acme"));
	expect(f->s, "GET", "/projects?limit=400&search=t-acme", 200,
	       json_pack("{s:[o],s:[],s:{s:s},s:{},s:{}}", "projects", project_json(pid, "t-acme", 86400),
			 "unavailable_project_ids", "pagination", "cursor", pid, "applications", "integrations"));
	expect(f->s, "GET", "/projects/lost-reply-300001/branches", 200,
	       json_pack("{s:[o],s:{}}", "branches", branch_json(pid), "annotations"));
	expect_readback(f->s, pid, "acme");

	assert_int_equal(fx_apply(f, false), 8);
	assert_int_equal(script_count(f->s, "POST"), 1);
	assert_int_equal(f->sum.v[0].status, EXEC_OK);
	assert_int_equal(f->sum.ok, 1);
	assert_int_equal(f->sum.writes, 1);
	assert_int_equal(f->sum.resent, 0);
	assert_int_equal(f->sum.lookups, 2); /* the search and the branch list */
	assert_int_equal(f->sum.adopted, 1);
	assert_int_equal(f->sum.readbacks, 1);
	assert_int_equal(f->sum.polls, 0);
	assert_mapped(f, "acme", pid);
	assert_deep_cached(f, pid, "acme", true);

	/* the row keeps what the run knew when it lost the answer; the
	 * next run's resume settles it (resume.c) */
	fx_journal(f, &j);
	assert_int_equal(j.n, 1);
	assert_string_equal(j.v[0].action, "POST /projects");
	assert_string_equal(j.v[0].state, STATE_JOURNAL_UNKNOWN);
	assert_non_null(strstr(j.v[0].error, "outcome unknown"));
	assert_no_warnings(f);
}

/* A create answered 500 after it arrived: unknown again; the search finds
 * no project of the name, so it did not run, and the POST is sent once
 * more. POST, search, POST: 3 requests. */
static void test_create_500_absent(void **ctx)
{
	fx *f = *ctx;
	const char *pid = "second-try-300002";
	jrows j;

	fx_fleet(f, "acme", "", NULL);
	assert_int_equal(fx_plan(f)->ncreate, 1);

	step *first = expect(f->s, "POST", "/projects", 500, error_json("internal error"));
	want_body(f->s, first, json_pack("{s:{s:s}}", "project", "name", "t-acme"));
	expect(f->s, "GET", "/projects?limit=400&search=t-acme", 200,
	       json_pack("{s:[],s:{},s:{}}", "projects", "applications", "integrations"));
	step *again = expect(f->s, "POST", "/projects", 201,
			     created_json(pid, "t-acme",
					  ops_list(op_json(OP1, pid, "create_timeline", "finished", 0, NULL), NULL)));
	want_body(f->s, again, json_pack("{s:{s:s}}", "project", "name", "t-acme"));

	assert_int_equal(fx_apply(f, false), 3);
	assert_true(json_equal(first->got, again->got));
	assert_int_equal(script_count(f->s, "POST"), 2);
	assert_int_equal(f->sum.v[0].status, EXEC_OK);
	assert_int_equal(f->sum.writes, 2);
	assert_int_equal(f->sum.resent, 1);
	assert_int_equal(f->sum.lookups, 1);
	assert_int_equal(f->sum.adopted, 0);
	assert_int_equal(f->sum.polls, 0); /* its operations had finished already */
	assert_mapped(f, "acme", pid);

	fx_journal(f, &j);
	assert_int_equal(j.n, 2);
	assert_string_equal(j.v[0].state, STATE_JOURNAL_UNKNOWN);
	assert_non_null(strstr(j.v[0].error, "500"));
	assert_non_null(strstr(j.v[0].error, "internal error"));
	assert_string_equal(j.v[1].state, STATE_JOURNAL_DONE);
	assert_string_equal(j.v[1].project_id, pid);
	assert_no_warnings(f);
}

/* A PATCH whose connection closes without an answer is sent again as it
 * was (the same values: harmless if the first ran), with no lookup.
 * 2 requests. */
static void test_patch_lost_resent(void **ctx)
{
	fx *f = *ctx;
	const char *pid = "calm-lake-200004";
	jrows j;

	fx_fleet(f, "acme", "  historyRetention: 7d", NULL);
	fx_live(f, "acme", pid);
	assert_int_equal(fx_plan(f)->nupdate, 1);

	step *lost = expect(f->s, "PATCH", "/projects/calm-lake-200004", 0, NULL);
	want_body(f->s, lost, json_pack("{s:{s:i}}", "project", "history_retention_seconds", 604800));
	step *ok = expect(f->s, "PATCH", "/projects/calm-lake-200004", 200,
			  json_pack("{s:o,s:[]}", "project", project_json(pid, "t-acme", 604800), "operations"));
	want_body(f->s, ok, json_pack("{s:{s:i}}", "project", "history_retention_seconds", 604800));

	assert_int_equal(fx_apply(f, false), 2);
	assert_int_equal(f->sum.v[0].status, EXEC_OK);
	assert_int_equal(f->sum.writes, 2);
	assert_int_equal(f->sum.resent, 1);
	assert_int_equal(f->sum.lookups, 0);
	fx_journal(f, &j);
	assert_int_equal(j.n, 2);
	assert_string_equal(j.v[0].state, STATE_JOURNAL_UNKNOWN);
	assert_string_equal(j.v[1].state, STATE_JOURNAL_DONE);
	assert_no_warnings(f);
}

/* Three tenants to update, the first refused with a 400. */
static void three_updates(fx *f)
{
	fx_fleet(f, "acme", "  historyRetention: 7d", "bravo", "  historyRetention: 7d", "cobalt",
		 "  historyRetention: 7d", NULL);
	fx_live(f, "acme", "acme-400001");
	fx_live(f, "bravo", "bravo-400002");
	fx_live(f, "cobalt", "cobalt-400003");
	plan *pl = fx_plan(f);
	assert_int_equal(pl->nupdate, 3);
	assert_int_equal(pl->ncalls, 3);
	step *refused = expect(f->s, "PATCH", "/projects/acme-400001", 400,
			       error_json("history_retention_seconds exceeds the plan's limit of 86400"));
	answer_id(f->s, refused, "req-acme-400");
}

/* Without --continue-on-error, the first failed tenant stops the run: no
 * other tenant starts, and the summary says stopped. 1 request. */
static void test_stop_on_error(void **ctx)
{
	fx *f = *ctx;
	jrows j;

	three_updates(f);
	assert_int_equal(fx_apply(f, false), 1);
	assert_int_equal(f->sum.n, 1);
	assert_string_equal(f->sum.v[0].tenant, "acme");
	assert_int_equal(f->sum.v[0].status, EXEC_FAILED);
	assert_non_null(strstr(f->sum.v[0].error, "400"));
	assert_non_null(strstr(f->sum.v[0].error, "exceeds the plan's limit"));
	assert_string_equal(f->sum.v[0].request_id, "req-acme-400");
	assert_int_equal(f->sum.failed, 1);
	assert_int_equal(f->sum.ok, 0);
	assert_int_equal(f->sum.writes, 1);
	assert_true(f->sum.stopped);

	fx_journal(f, &j);
	assert_int_equal(j.n, 1);
	assert_string_equal(j.v[0].action, "PATCH /projects/acme-400001");
	assert_string_equal(j.v[0].state, STATE_JOURNAL_FAILED);
	assert_non_null(strstr(j.v[0].error, "exceeds the plan's limit"));
}

/* The same with --continue-on-error: the others go on. 3 requests. */
static void test_continue_on_error(void **ctx)
{
	fx *f = *ctx;

	three_updates(f);
	expect(f->s, "PATCH", "/projects/bravo-400002", 200,
	       json_pack("{s:o,s:[]}", "project", project_json("bravo-400002", "t-bravo", 604800), "operations"));
	expect(f->s, "PATCH", "/projects/cobalt-400003", 200,
	       json_pack("{s:o,s:[]}", "project", project_json("cobalt-400003", "t-cobalt", 604800), "operations"));
	assert_int_equal(fx_apply(f, true), 3);
	assert_int_equal(f->sum.n, 3);
	assert_int_equal(f->sum.v[0].status, EXEC_FAILED);
	assert_int_equal(f->sum.v[1].status, EXEC_OK);
	assert_int_equal(f->sum.v[2].status, EXEC_OK);
	assert_int_equal(f->sum.failed, 1);
	assert_int_equal(f->sum.ok, 2);
	assert_false(f->sum.stopped);
}

/* ------------------------------------------ the last write's operations */

#define SUSPEND_10M "  compute:\n    suspendTimeout: 10m"

/* {"project": ..., "operations": [...]}: a project PATCH's 200 with one
 * operation (stolen). */
static json_t *patched(json_t *project, json_t *op)
{
	return json_pack("{s:o,s:[o]}", "project", project, "operations", op);
}

/* A tenant's last write gives its slot up. With --parallel 1, acme's two
 * writes (the project's default compute, then its endpoint) are followed
 * by bravo's write before acme's last operations are polled: once, the
 * settle delay later, finished; bravo's the same. acme's first write is
 * still waited for (its poll comes before the second write). 3 writes and
 * 3 polls: 6 requests; nothing read back; every journal row done. */
static void test_settle_once(void **ctx)
{
	fx *f = *ctx;
	const char *acme = "calm-lake-500001", *bravo = "calm-lake-500002";
	const char *acme_poll = "/projects/calm-lake-500001/operations" POLL_LIMIT;
	const char *bravo_poll = "/projects/calm-lake-500002/operations" POLL_LIMIT;
	state_deep d;
	jrows j;

	fx_fleet(f, "acme", SUSPEND_10M, "bravo", "  historyRetention: 7d", NULL);
	fx_live_deep(f, "acme", acme);
	fx_live(f, "bravo", bravo);
	plan *pl = fx_plan(f);
	assert_int_equal(pl->nupdate, 2);
	assert_int_equal(pl->ncalls, 3);

	json_t *proj = project_json(acme, "t-acme", 86400);
	json_object_set_new(proj, "default_endpoint_settings",
			    json_pack("{s:f,s:f,s:i}", "autoscaling_limit_min_cu", 0.25, "autoscaling_limit_max_cu",
				      0.25, "suspend_timeout_seconds", 600));
	step *w = expect(f->s, "PATCH", "/projects/calm-lake-500001", 200,
			 patched(proj, op_json(OP1, acme, "apply_config", "running", 0, NULL)));
	want_body(f->s, w, json_pack("{s:{s:{s:i}}}", "project", "default_endpoint_settings", "suspend_timeout_seconds", 600));
	expect(f->s, "GET", acme_poll, 200, ops_list(op_json(OP1, acme, "apply_config", "finished", 0, NULL), NULL));
	json_t *ep = endpoint_json(acme);
	set_int(ep, "suspend_timeout_seconds", 600);
	w = expect(f->s, "PATCH", "/projects/calm-lake-500001/endpoints/ep-calm-lake-500001", 200,
		   json_pack("{s:o,s:[o,o]}", "endpoint", ep, "operations",
			     op_json(OP2, acme, "apply_config", "running", 0, NULL),
			     op_json(OP_OLD, acme, "suspend_compute", "scheduling", 0, NULL)));
	want_body(f->s, w, json_pack("{s:{s:i}}", "endpoint", "suspend_timeout_seconds", 600));
	/* bravo's write while acme's last operations run */
	expect(f->s, "PATCH", "/projects/calm-lake-500002", 200,
	       patched(project_json(bravo, "t-bravo", 604800), op_json(OP1, bravo, "apply_config", "running", 0, NULL)));
	in_group(f->s,
		 expect(f->s, "GET", acme_poll, 200,
			ops_list(op_json(OP_OLD, acme, "suspend_compute", "finished", 0, NULL),
				 op_json(OP2, acme, "apply_config", "finished", 0, NULL),
				 op_json(OP1, acme, "apply_config", "finished", 0, NULL), NULL)),
		 1);
	in_group(f->s,
		 expect(f->s, "GET", bravo_poll, 200,
			ops_list(op_json(OP1, bravo, "apply_config", "finished", 0, NULL), NULL)),
		 1);

	assert_int_equal(fx_apply(f, false), 6);
	assert_int_equal(f->sum.n, 2);
	assert_int_equal(f->sum.v[0].status, EXEC_OK);
	assert_int_equal(f->sum.v[1].status, EXEC_OK);
	assert_int_equal(f->sum.ok, 2);
	assert_int_equal(f->sum.writes, 3);
	assert_int_equal(f->sum.polls, 3);
	assert_int_equal(f->sum.readbacks, 0);

	/* the endpoint as its PATCH answered */
	assert_int_equal(state_deep_get(f->st, acme, &d), 0);
	assert_int_equal(d.nendpoints, 1);
	assert_int_equal(d.endpoints[0].suspend_timeout_seconds, 600);
	state_deep_release(&d);

	fx_journal(f, &j);
	assert_int_equal(j.n, 3);
	assert_string_equal(j.v[0].action, "PATCH /projects/calm-lake-500001");
	assert_string_equal(j.v[1].action, "PATCH /projects/calm-lake-500001/endpoints/ep-calm-lake-500001");
	assert_string_equal(j.v[2].action, "PATCH /projects/calm-lake-500002");
	for (size_t i = 0; i < j.n; i++) {
		assert_string_equal(j.v[i].state, STATE_JOURNAL_DONE);
		assert_false(j.v[i].has_error);
	}
	assert_no_warnings(f);
}

/* The last write's operation has ended in error by its settle poll: the
 * tenant fails with Neon's error text and that poll's request id, and its
 * journal row says failed with the same text, as for any call's. PATCH +
 * 1 poll: 2 requests. */
static void test_settle_op_error(void **ctx)
{
	fx *f = *ctx;
	const char *pid = "calm-lake-500003";
	const char *want_error = "operation " OP1 " ended error: could not apply the configuration";
	jrows j;

	fx_fleet(f, "acme", "  historyRetention: 7d", NULL);
	fx_live(f, "acme", pid);
	assert_int_equal(fx_plan(f)->nupdate, 1);

	expect(f->s, "PATCH", "/projects/calm-lake-500003", 200,
	       patched(project_json(pid, "t-acme", 604800), op_json(OP1, pid, "apply_config", "scheduling", 0, NULL)));
	step *poll = expect(f->s, "GET", "/projects/calm-lake-500003/operations" POLL_LIMIT, 200,
			    ops_list(op_json(OP1, pid, "apply_config", "error", 3, "could not apply the configuration"),
				     NULL));
	answer_id(f->s, poll, "req-settle-error");

	assert_int_equal(fx_apply(f, false), 2);
	assert_int_equal(f->sum.n, 1);
	assert_int_equal(f->sum.v[0].status, EXEC_FAILED);
	assert_string_equal(f->sum.v[0].error, want_error);
	assert_string_equal(f->sum.v[0].request_id, "req-settle-error");
	assert_int_equal(f->sum.failed, 1);
	assert_int_equal(f->sum.ok, 0);
	assert_int_equal(f->sum.writes, 1);
	assert_int_equal(f->sum.polls, 1);
	assert_false(f->sum.stopped);

	fx_journal(f, &j);
	assert_int_equal(j.n, 1);
	assert_string_equal(j.v[0].state, STATE_JOURNAL_FAILED);
	assert_string_equal(j.v[0].error, want_error);
	assert_non_null(strstr(f->warnings.data, "apply: tenant failed tenant=acme"));
}

/* Still running at the settle poll, past --op-timeout (1 s, shorter than
 * the settle delay): the tenant fails naming the operation and the flag,
 * and its journal row is unknown (the operation may still end well).
 * PATCH + 1 poll: 2 requests. */
static void test_settle_op_timeout(void **ctx)
{
	fx *f = *ctx;
	const char *pid = "calm-lake-500004";
	jrows j;

	fx_fleet(f, "acme", "  historyRetention: 7d", NULL);
	fx_live(f, "acme", pid);
	assert_int_equal(fx_plan(f)->nupdate, 1);

	expect(f->s, "PATCH", "/projects/calm-lake-500004", 200,
	       patched(project_json(pid, "t-acme", 604800), op_json(OP1, pid, "apply_config", "running", 0, NULL)));
	expect(f->s, "GET", "/projects/calm-lake-500004/operations" POLL_LIMIT, 200,
	       ops_list(op_json(OP1, pid, "apply_config", "running", 0, NULL), NULL));

	exec_opts o = {.parallel = 1, .op_timeout_ms = 1000, .run_id = f->run_id, .fleet = "prod"};
	assert_int_equal(fx_apply_opts(f, &o), 2);
	assert_int_equal(f->sum.v[0].status, EXEC_FAILED);
	assert_string_equal(f->sum.v[0].error, "operation " OP1 " still running after 1 s (--op-timeout)");
	assert_int_equal(f->sum.failed, 1);
	assert_int_equal(f->sum.polls, 1);

	fx_journal(f, &j);
	assert_int_equal(j.n, 1);
	assert_string_equal(j.v[0].state, STATE_JOURNAL_UNKNOWN);
	assert_non_null(strstr(j.v[0].error, "--op-timeout"));
}

/* At most half the rate's worth of the settle delay settle at once: at 1
 * request a second (0.75), one. So bravo starts only once acme's last
 * operations were polled, though acme's slot is free (test_settle_once:
 * at 1000 a second, bravo writes first). PATCH, poll, PATCH, poll: 4
 * requests, in that order. */
static void test_settle_cap(void **ctx)
{
	fx *f = *ctx;

	fx_fleet(f, "acme", "  historyRetention: 7d", "bravo", "  historyRetention: 7d", NULL);
	fx_live(f, "acme", "calm-lake-500007");
	fx_live(f, "bravo", "calm-lake-500008");
	assert_int_equal(fx_plan(f)->nupdate, 2);
	fx_client(f, 1); /* its bucket of 1000 makes no request wait */

	expect(f->s, "PATCH", "/projects/calm-lake-500007", 200,
	       patched(project_json("calm-lake-500007", "t-acme", 604800),
		       op_json(OP1, "calm-lake-500007", "apply_config", "running", 0, NULL)));
	expect(f->s, "GET", "/projects/calm-lake-500007/operations" POLL_LIMIT, 200,
	       ops_list(op_json(OP1, "calm-lake-500007", "apply_config", "finished", 0, NULL), NULL));
	expect(f->s, "PATCH", "/projects/calm-lake-500008", 200,
	       patched(project_json("calm-lake-500008", "t-bravo", 604800),
		       op_json(OP2, "calm-lake-500008", "apply_config", "running", 0, NULL)));
	expect(f->s, "GET", "/projects/calm-lake-500008/operations" POLL_LIMIT, 200,
	       ops_list(op_json(OP2, "calm-lake-500008", "apply_config", "finished", 0, NULL), NULL));

	assert_int_equal(fx_apply(f, false), 4);
	assert_int_equal(f->sum.ok, 2);
	assert_int_equal(f->sum.polls, 2);
	assert_no_warnings(f);
}

/* on_active: a signal comes as the first tenant starts. */
static void stop_at_start(void *arg, size_t active)
{
	fx *f = arg;

	if (active)
		f->stop = 1;
}

/* A stop (a signal) while only a settle poll is left: no tenant starts,
 * the settle poll is still made, and a tenant whose operations still run
 * past the grace ends failed with its journal row left "sent" (the next
 * run's resume reads the project again, resume.c). bravo never starts.
 * PATCH + 1 poll: 2 requests. */
static void test_settle_stopped(void **ctx)
{
	fx *f = *ctx;
	const char *pid = "calm-lake-500005";
	jrows j;

	fx_fleet(f, "acme", "  historyRetention: 7d", "bravo", "  historyRetention: 7d", NULL);
	fx_live(f, "acme", pid);
	fx_live(f, "bravo", "calm-lake-500006");
	assert_int_equal(fx_plan(f)->nupdate, 2);

	expect(f->s, "PATCH", "/projects/calm-lake-500005", 200,
	       patched(project_json(pid, "t-acme", 604800), op_json(OP1, pid, "apply_config", "running", 0, NULL)));
	expect(f->s, "GET", "/projects/calm-lake-500005/operations" POLL_LIMIT, 200,
	       ops_list(op_json(OP1, pid, "apply_config", "running", 0, NULL), NULL));

	exec_opts o = {.parallel = 1, .op_timeout_ms = 120000, .run_id = f->run_id, .fleet = "prod",
		       .stop = &f->stop, .stop_grace_ms = 0, .on_active = stop_at_start, .active_arg = f};
	assert_int_equal(fx_apply_opts(f, &o), 2);
	assert_int_equal(f->sum.n, 1);
	assert_string_equal(f->sum.v[0].tenant, "acme");
	assert_int_equal(f->sum.v[0].status, EXEC_FAILED);
	assert_string_equal(f->sum.v[0].error, "stopped while its operations ran; the next run goes on");
	assert_int_equal(f->sum.writes, 1);
	assert_int_equal(f->sum.polls, 1);
	assert_true(f->sum.stopped);

	fx_journal(f, &j);
	assert_int_equal(j.n, 1);
	assert_string_equal(j.v[0].state, STATE_JOURNAL_SENT);
	assert_false(j.v[0].has_error);
}

/* The script itself: an unexpected request, a body that lacks what it
 * must carry and a step never reached are each reported. */
static void test_script_reports(void **ctx)
{
	fx *f = *ctx;
	neon_result r;

	expect(f->s, "GET", "/projects/p-1", 200, json_pack("{s:o}", "project", project_json("p-1", "t-a", 86400)));
	step *patch = expect(f->s, "PATCH", "/projects/p-1", 200,
			     json_pack("{s:o,s:[]}", "project", project_json("p-1", "t-a", 86400), "operations"));
	want_body(f->s, patch, json_pack("{s:{s:s}}", "project", "name", "t-b"));
	expect(f->s, "GET", "/projects/p-1/branches", 200, json_pack("{s:[],s:{}}", "branches", "annotations"));

	assert_int_equal(neon_call(f->c, "GET", "/projects/p-2", NULL, false, &r), 0);
	assert_int_equal(r.outcome, NEON_HTTP_ERROR);
	neon_result_release(&r);
	assert_int_equal(neon_call(f->c, "GET", "/projects/p-1", NULL, false, &r), 0);
	assert_int_equal(r.outcome, NEON_OK);
	neon_result_release(&r);
	assert_int_equal(neon_call(f->c, "PATCH", "/projects/p-1", json_pack("{s:{s:s}}", "project", "name", "t-c"),
				   true, &r),
			 0);
	assert_int_equal(r.outcome, NEON_OK);
	neon_result_release(&r);

	pthread_mutex_lock(&f->s->mu);
	assert_non_null(strstr(f->s->problems.data,
				"request 1: GET /projects/p-2, but the script expected GET /projects/p-1 (step 1)"));
	assert_non_null(strstr(f->s->problems.data, "request 3: PATCH /projects/p-1: the body lacks"));
	assert_int_equal(f->s->next, 2);
	assert_false(f->s->v[2]->used);
	buf_reset(&f->s->problems);
	f->s->v[2]->used = true; /* teardown need not see it again */
	pthread_mutex_unlock(&f->s->mu);
	assert_int_equal(script_check(f->s), 3);
}

static int group_setup(void **ctx)
{
	(void)ctx;
	return oapi_load_default(&doc) == 0 ? 0 : -1;
}

static int group_teardown(void **ctx)
{
	(void)ctx;
	oapi_free(doc);
	return 0;
}

/* ------------------------------------------------------- backup schedule */

#define SCHED_PID "calm-lake-600001"
#define SCHED_PATH "/projects/" SCHED_PID "/branches/br-" SCHED_PID "/backup_schedule"
#define SCHED_JSON "[{\"frequency\":\"daily\",\"hour\":3,\"retention_seconds\":604800}]"

/* acme declares a daily schedule; the cache holds none: one PUT planned. */
static void schedule_update(fx *f)
{
	fx_fleet(f, "acme", "  backups: {schedule: [{frequency: daily, hour: 3, retention: 7d}]}", NULL);
	fx_live_deep(f, "acme", SCHED_PID);
	assert_int_equal(state_backup_schedule_put(f->st, SCHED_PID, "br-" SCHED_PID, "[]"), 0);
	plan *pl = fx_plan(f);
	assert_int_equal(pl->nupdate, 1);
	assert_int_equal(pl->ncalls, 1);
}

static void assert_schedule_cached(fx *f, const char *want)
{
	char *got = NULL;
	assert_int_equal(state_backup_schedule_get(f->st, SCHED_PID, &got), 0);
	assert_string_equal(got, want);
	free(got);
}

/* A PUT whose outcome was lost is sent again (it replaces the whole
 * schedule: idempotent); its answer `{}` updates the cached schedule, with
 * no read-back and the deep state not marked stale. */
static void test_schedule_put_lost_resent(void **ctx)
{
	fx *f = *ctx;
	jrows j;

	schedule_update(f);
	json_t *body = json_loads("{\"schedule\":" SCHED_JSON "}", 0, NULL);
	step *lost = expect(f->s, "PUT", SCHED_PATH, 0, NULL);
	want_body(f->s, lost, json_incref(body));
	step *ok = expect(f->s, "PUT", SCHED_PATH, 200, json_object());
	want_body(f->s, ok, body);

	assert_int_equal(fx_apply(f, false), 2);
	assert_int_equal(f->sum.v[0].status, EXEC_OK);
	assert_int_equal(f->sum.resent, 1);
	assert_int_equal(f->sum.readbacks, 0);
	fx_journal(f, &j);
	assert_int_equal(j.n, 2);
	assert_string_equal(j.v[0].action, "PUT " SCHED_PATH);
	assert_string_equal(j.v[0].state, STATE_JOURNAL_UNKNOWN);
	assert_string_equal(j.v[1].state, STATE_JOURNAL_DONE);
	assert_schedule_cached(f, SCHED_JSON);
	state_project p;
	assert_int_equal(state_project_get(f->st, SCHED_PID, &p), 0);
	assert_non_null(p.deep_fingerprint);
	state_project_release(&p);
	assert_no_warnings(f);
}

/* Neon refuses a schedule on a free account (422): the tenant fails with
 * Neon's message and what to do; the cache keeps what was live. */
static void test_schedule_free_account(void **ctx)
{
	fx *f = *ctx;

	schedule_update(f);
	expect(f->s, "PUT", SCHED_PATH, 422, error_json("backup schedules are not available on the free plan"));
	assert_int_equal(fx_apply(f, false), 1);
	assert_int_equal(f->sum.v[0].status, EXEC_FAILED);
	assert_non_null(strstr(f->sum.v[0].error, "not available on the free plan"));
	assert_non_null(strstr(f->sum.v[0].error, "remove backups.schedule"));
	assert_non_null(strstr(f->sum.v[0].error, "spec.neonPlan: free"));
	assert_schedule_cached(f, "[]");
	char *why = NULL;
	assert_int_equal(state_backup_schedule_refused(f->st, SCHED_PID, &why), 0);
	assert_string_equal(why, "PUT " SCHED_PATH ": 422: backup schedules are not available on the free plan");
	free(why);
}

/* The refresh's schedule reads: one GET each into the cache; a failed one
 * is counted and named, and leaves the cached schedule alone. */
static void test_schedule_reads(void **ctx)
{
	fx *f = *ctx;
	char *ids[] = {(char *)SCHED_PID, (char *)"calm-lake-600002"};
	refresh_stats rs;

	fx_fleet(f, "acme", "", "bravo", "", NULL);
	fx_live_deep(f, "acme", SCHED_PID);
	fx_live_deep(f, "bravo", "calm-lake-600002");
	assert_int_equal(state_backup_schedule_put(f->st, "calm-lake-600002", "br-calm-lake-600002", SCHED_JSON), 0);
	expect(f->s, "GET", SCHED_PATH, 200, json_loads("{\"schedule\":" SCHED_JSON "}", 0, NULL));
	expect(f->s, "GET", "/projects/calm-lake-600002/branches/br-calm-lake-600002/backup_schedule", 404,
	       error_json("branch not found"));
	memset(&rs, 0, sizeof(rs));
	assert_int_equal(refresh_backups(f->st, f->c, ids, 2, &rs), 0);
	assert_int_equal(script_check(f->s), 2);
	assert_int_equal(rs.deep_failed, 1);
	assert_non_null(strstr(rs.first_error, "reading the backup schedule of project 'calm-lake-600002' failed"));
	assert_schedule_cached(f, SCHED_JSON);
	char *got = NULL;
	assert_int_equal(state_backup_schedule_get(f->st, "calm-lake-600002", &got), 0);
	assert_string_equal(got, SCHED_JSON);
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_script_reports, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_op_failed_then_finished, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_op_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_lost_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_500_absent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_patch_lost_resent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_on_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_continue_on_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settle_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settle_op_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settle_op_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settle_stopped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settle_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schedule_put_lost_resent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schedule_free_account, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schedule_reads, setup, teardown),
	};

	return cmocka_run_group_tests_name("executor", tests, group_setup, group_teardown);
}
