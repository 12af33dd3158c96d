/*
 * http.c: flotilla-sim's HTTP side on libmicrohttpd: routing by template,
 * the bearer key, Neon's rate limits, injected faults, request ids, error
 * bodies, and the per-route counters of /__sim/stats.
 *
 * libmicrohttpd runs a thread per connection. A request takes the store's
 * mutex only around its handler; injected latency sleeps outside it, so a
 * slow request never stalls the others.
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "sim/sim.h"

#define API_PREFIX "/api/v2"

typedef struct flat_route {
	const sim_route *r;
	size_t nsegs;
	char segs[8][48];
} flat_route;

/* Rate state of one API key: a token bucket for the minute and a one-second
 * window per route. */
typedef struct key_rate {
	double tokens;
	int64_t last_ms;
	int64_t *route_window;  /* second of the window, per route */
	int64_t *route_count;
} key_rate;

struct sim_server {
	struct MHD_Daemon *d;
	sim_store *s;
	flat_route *routes;
	size_t nroutes;
	key_rate *rates; /* per configured key */
	int port;
};

/* One request in progress: libmicrohttpd calls the handler several times. */
typedef struct conn_ctx {
	buf body;
	bool too_big;
} conn_ctx;

/* ------------------------------------------------------------- routing */

static const sim_route *const *tables(void)
{
	static const sim_route *const all[] = {SIM_ROUTES_PROJECTS, SIM_ROUTES_BRANCHES, SIM_ROUTES_ENDPOINTS,
					      SIM_ROUTES_ROLES_DBS, SIM_ROUTES_MISC, SIM_ROUTES_ACCOUNT,
					      SIM_ROUTES_BACKUPS, SIM_ROUTES_SNAPSHOTS, NULL};
	return all;
}

static size_t split(const char *path, char segs[8][48], size_t max)
{
	size_t n = 0;
	const char *p = path;
	while (*p == '/')
		p++;
	while (*p && n < max) {
		size_t len = strcspn(p, "/");
		if (len >= 48)
			len = 47;
		memcpy(segs[n], p, len);
		segs[n][len] = 0;
		n++;
		p += strcspn(p, "/");
		while (*p == '/')
			p++;
	}
	return *p ? max + 1 : n; /* too many segments: matches nothing */
}

static void build_routes(sim_server *srv)
{
	size_t cap = 0;
	for (const sim_route *const *t = tables(); *t; t++)
		for (const sim_route *r = *t; r->method; r++) {
			if (srv->nroutes == cap)
				srv->routes = xgrow(srv->routes, &cap, srv->nroutes + 1, sizeof(*srv->routes));
			flat_route *f = &srv->routes[srv->nroutes++];
			f->r = r;
			f->nsegs = split(r->pattern, f->segs, 8);
		}
}

/*
 * Find the route for method and path, filling r->params. Among templates
 * that match, the one with the fewest parameters wins, so a literal
 * segment beats a parameter (/projects/shared is not a project id).
 * *path_exists tells a wrong method (405) from an unknown path (404).
 */
static const flat_route *match(sim_server *srv, const char *method, const char *path, sim_req *r,
			       size_t *index, bool *path_exists)
{
	char segs[8][48];
	size_t n = split(path, segs, 8);
	const flat_route *best = NULL;
	size_t best_params = SIZE_MAX;
	*path_exists = false;
	for (size_t i = 0; i < srv->nroutes; i++) {
		const flat_route *f = &srv->routes[i];
		if (f->nsegs != n)
			continue;
		size_t params = 0;
		bool ok = true;
		for (size_t k = 0; k < n && ok; k++) {
			if (f->segs[k][0] == '{')
				params++;
			else
				ok = strcmp(f->segs[k], segs[k]) == 0;
		}
		if (!ok)
			continue;
		*path_exists = true;
		if (strcmp(f->r->method, method) == 0 && params < best_params) {
			best = f;
			best_params = params;
			*index = i;
		}
	}
	if (!best)
		return NULL;
	/* parameters are taken from the raw path, so ids longer than a
	 * template segment are kept whole */
	const char *p = path;
	size_t np = 0;
	for (size_t k = 0; k < n; k++) {
		while (*p == '/')
			p++;
		size_t len = strcspn(p, "/");
		if (best->segs[k][0] == '{' && np < SIM_MAX_PARAMS)
			r->params[np++] = xstrndup(p, len);
		p += len;
	}
	return best;
}

/* ------------------------------------------------------------- replies */

const char *sim_query(sim_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

int sim_reply(sim_req *r, int status, json_t *body)
{
	json_decref(r->reply);
	r->status = status;
	r->reply = body;
	return 0;
}

int sim_error(sim_req *r, int status, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	json_t *o = json_object();
	json_object_set_new(o, "code", json_string(code ? code : ""));
	json_object_set_new(o, "message", json_string(msg));
	json_object_set_new(o, "request_id", json_string(r->request_id));
	free(msg);
	return sim_reply(r, status, o);
}

bool sim_locked(sim_req *r, sim_project *p)
{
	if (!sim_project_busy(p, mono_ms()))
		return false;
	sim_error(r, 423, "",
		  "project already has running conflicting operations, scheduling of new ones is prohibited");
	return true;
}

/* --------------------------------------------------------- rate limits */

/* Returns 0 when allowed, else the seconds to wait (Retry-After). */
static int64_t rate_check(sim_server *srv, size_t key, size_t route)
{
	const sim_config *cfg = srv->s->cfg;
	if (cfg->rate_per_minute <= 0)
		return 0;
	key_rate *k = &srv->rates[key];
	int64_t now = mono_ms();
	double per_ms = (double)cfg->rate_per_minute / 60000.0;
	k->tokens += (double)(now - k->last_ms) * per_ms;
	if (k->tokens > (double)cfg->rate_per_minute)
		k->tokens = (double)cfg->rate_per_minute;
	k->last_ms = now;
	int64_t second = now / 1000;
	if (cfg->burst_per_route > 0) {
		if (k->route_window[route] != second) {
			k->route_window[route] = second;
			k->route_count[route] = 0;
		}
		if (k->route_count[route] >= cfg->burst_per_route)
			return 1; /* the next second opens a new window */
	}
	if (k->tokens < 1.0)
		return (int64_t)ceil((1.0 - k->tokens) / per_ms / 1000.0);
	k->tokens -= 1.0;
	if (cfg->burst_per_route > 0)
		k->route_count[route]++;
	return 0;
}

/* Index of the request's key among the configured ones, or -1. */
static int auth(sim_server *srv, struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	if (!h || strncmp(h, "Bearer ", 7) != 0)
		return -1;
	h += 7;
	for (size_t i = 0; i < srv->s->cfg->napi_keys; i++)
		if (strcmp(h, srv->s->cfg->api_keys[i]) == 0)
			return (int)i;
	return -1;
}

/* --------------------------------------------------------------- stats */

static void count(sim_store *s, const char *route_key, int status)
{
	json_t *per = json_object_get(s->stats.requests, route_key);
	if (!per) {
		per = json_object();
		json_object_set_new(s->stats.requests, route_key, per);
	}
	char code[8];
	snprintf(code, sizeof(code), "%d", status);
	json_int_t n = json_integer_value(json_object_get(per, code));
	json_object_set_new(per, code, json_integer(n + 1));
	s->stats.requests_total++;
}

/* ---------------------------------------------------------------- I/O */

static void request_id(sim_store *s, struct MHD_Connection *c, char out[64])
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
	if (h && *h && strlen(h) < 64) {
		bool ok = true;
		for (const char *p = h; *p && ok; p++)
			ok = isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.';
		if (ok) {
			str_copy(out, h, 64);
			return;
		}
	}
	char uuid[37];
	sim_gen_uuid(s, uuid);
	str_copy(out, uuid, 64);
}

static enum MHD_Result send_reply(struct MHD_Connection *c, sim_req *r, bool malformed)
{
	char *text = NULL;
	size_t len = 0;
	char retry_after[24] = "1";
	json_t *ra = r->reply ? json_object_get(r->reply, "retry_after") : NULL;
	if (ra) { /* a header, not a field of GeneralError */
		snprintf(retry_after, sizeof(retry_after), "%" JSON_INTEGER_FORMAT, json_integer_value(ra));
		json_object_del(r->reply, "retry_after");
	}
	if (r->reply) {
		text = json_dumps(r->reply, JSON_COMPACT);
		len = strlen(text);
		if (malformed && len > 2)
			len = len / 2; /* a body cut off mid-document */
	}
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, text ? text : (char *)"", text ? MHD_RESPMEM_MUST_FREE
										     : MHD_RESPMEM_PERSISTENT);
	if (text)
		MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "X-Request-Id", r->request_id);
	if (r->status == 429)
		MHD_add_response_header(resp, "Retry-After", retry_after);
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void log_request(sim_store *s, const sim_req *r)
{
	if (s->cfg->quiet)
		return;
	char status[8];
	snprintf(status, sizeof(status), "%d", r->status);
	log_info("request", "method", r->method, "path", r->path, "status", status, "request_id", r->request_id);
}

static void req_release(sim_req *r)
{
	for (size_t i = 0; i < SIM_MAX_PARAMS; i++)
		free((char *)r->params[i]);
	json_decref(r->body);
	json_decref(r->reply);
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Send r's reply (cut short when malformed) and release r. */
static enum MHD_Result reply_and_release(struct MHD_Connection *c, sim_req *r, bool malformed)
{
	enum MHD_Result ret = send_reply(c, r, malformed);
	req_release(r);
	return ret;
}

/* Parse the request's body into r->body; false after putting the 413 or
 * 400 reply into r (too large, not JSON, or not an object). */
static bool read_body(sim_req *r, const conn_ctx *ctx)
{
	if (ctx->too_big) {
		sim_error(r, 413, "", "request body is larger than %d bytes", SIM_MAX_BODY);
		return false;
	}
	if (!ctx->body.len)
		return true;
	json_error_t jerr;
	r->body = json_loadb(ctx->body.data, ctx->body.len, 0, &jerr);
	if (r->body && json_is_object(r->body))
		return true;
	bool was_json = r->body != NULL;
	json_decref(r->body);
	r->body = NULL;
	if (was_json)
		jerr.text[0] = 0;
	if (!jerr.text[0]) /* valid JSON, but not an object */
		sim_error(r, 400, "", "request body must be a JSON object");
	else
		sim_error(r, 400, "", "request body is not valid JSON: %s", jerr.text);
	return false;
}

/* One API request's injected faults: the rates as the request came in and
 * its dice, rolled together in a fixed order, so a seed replays them. */
typedef struct fault_draw {
	sim_faults rates;
	double reset, error, lock, after, reset_after, malformed;
} fault_draw;

/* Under the mutex: draw the request's faults into *fd, and refuse it (a
 * 404, 405, 401 or 429 into r) when no route f matched, its key is not
 * one of ours (key < 0), or it is over the key's rate limits. */
static void admit(sim_server *srv, sim_req *r, const flat_route *f, bool path_exists, size_t route, int key,
		  fault_draw *fd)
{
	sim_store *s = srv->s;
	pthread_mutex_lock(&s->mu);
	fd->rates = s->faults;
	fd->reset = sim_rand01(&s->fault_rng);
	fd->error = sim_rand01(&s->fault_rng);
	fd->lock = sim_rand01(&s->fault_rng);
	fd->after = sim_rand01(&s->fault_rng);
	fd->reset_after = sim_rand01(&s->fault_rng);
	fd->malformed = sim_rand01(&s->fault_rng);
	int64_t wait = 0;
	if (!f) {
		if (path_exists)
			sim_error(r, 405, "", "method %s is not allowed on %s", r->method, r->path);
		else
			sim_error(r, 404, "", "not found: %s", r->path);
	} else if (key < 0) {
		sim_error(r, 401, "", "authentication required: send a valid API key as 'Authorization: Bearer <key>'");
	} else if ((wait = rate_check(srv, (size_t)key, route)) > 0) {
		s->stats.rate_limited++;
		sim_error(r, 429, "", "rate limit exceeded: retry after %" PRId64 "s", wait);
		json_object_set_new(r->reply, "retry_after", json_integer(wait));
	}
	pthread_mutex_unlock(&s->mu);
}

/* The faults that come before the handler, for an admitted request:
 * latency, then a reset (true: counted, and the connection is to close
 * with no response), a 503, or a 423 for a write. */
static bool fault_before(sim_store *s, sim_req *r, const flat_route *f, const fault_draw *fd, const char *route_key)
{
	if (!r->status && fd->rates.latency_ms > 0)
		sleep_ms(fd->rates.latency_ms);
	if (!r->status && fd->reset < fd->rates.reset_rate) {
		pthread_mutex_lock(&s->mu);
		count(s, route_key, 0);
		pthread_mutex_unlock(&s->mu);
		return true;
	}
	if (!r->status && fd->error < fd->rates.error_rate)
		sim_error(r, 503, "", "service temporarily unavailable (injected fault)");
	if (!r->status && f->r->write && fd->lock < fd->rates.lock_rate)
		sim_error(r, 423, "",
			  "project already has running conflicting operations, scheduling of new ones is prohibited");
	return false;
}

/* Under the mutex: run f's handler unless r already holds a reply, save
 * what a write changed, inject the faults that come after the change, and
 * count the request. Returns true when the connection is to close with no
 * response; *malformed when the reply is to go out cut short. */
static bool run_route(sim_store *s, sim_req *r, const flat_route *f, const fault_draw *fd, const char *route_key,
		      bool *malformed)
{
	bool reset_after = false;
	pthread_mutex_lock(&s->mu);
	if (!r->status) {
		sim_store_expire(s);
		f->r->handler(r);
		if (!r->status)
			sim_error(r, 500, "", "handler gave no reply");
		/* 204 is a DELETE that found nothing: no write ran */
		if (f->r->write && r->status < 300 && r->status != 204) {
			s->stats.writes_total++;
			if (s->persist && r->touched)
				sim_persist_save(s, r->touched);
			if (fd->after < fd->rates.error_after_rate)
				sim_error(r, 500, "", "internal error (injected fault, after the change was made)");
			else if (fd->reset_after < fd->rates.reset_after_rate)
				reset_after = true;
		}
		/* a read that brought state up to date (scheduled snapshots
		 * made as time passed) keeps it, or a restart would make them
		 * again under new ids */
		if (!f->r->write && r->status < 300 && s->persist && r->touched)
			sim_persist_save(s, r->touched);
		if (r->status < 300 && fd->malformed < fd->rates.malformed_rate)
			*malformed = true;
	}
	count(s, route_key, reset_after ? 0 : r->status);
	pthread_mutex_unlock(&s->mu);
	return reset_after;
}

static enum MHD_Result handle(sim_server *srv, struct MHD_Connection *c, const char *url,
			      const char *method, conn_ctx *ctx)
{
	sim_store *s = srv->s;
	sim_req r;
	memset(&r, 0, sizeof(r));
	r.s = s;
	r.method = method;
	r.path = url;
	r.conn = c;
	pthread_mutex_lock(&s->mu);
	request_id(s, c, r.request_id);
	pthread_mutex_unlock(&s->mu);

	if (!read_body(&r, ctx))
		return reply_and_release(c, &r, false);

	/* the control plane: no key, no limits, no faults */
	if (strncmp(url, "/__sim/", 7) == 0) {
		pthread_mutex_lock(&s->mu);
		if (!sim_control(&r))
			sim_error(&r, 404, "", "no such control route");
		pthread_mutex_unlock(&s->mu);
		return reply_and_release(c, &r, false);
	}

	const char *path = strncmp(url, API_PREFIX "/", sizeof(API_PREFIX)) == 0 ? url + sizeof(API_PREFIX) - 1 : NULL;
	size_t route = 0;
	bool path_exists = false;
	const flat_route *f = path ? match(srv, method, path, &r, &route, &path_exists) : NULL;
	char route_key[128];
	if (f)
		snprintf(route_key, sizeof(route_key), "%s %s", f->r->method, f->r->pattern);
	else
		snprintf(route_key, sizeof(route_key), "%s (unmatched)", method);

	fault_draw fd;
	bool malformed = false;
	admit(srv, &r, f, path_exists, route, auth(srv, c), &fd);
	if (fault_before(s, &r, f, &fd, route_key) || run_route(s, &r, f, &fd, route_key, &malformed)) {
		req_release(&r);
		return MHD_NO; /* the connection closes with no response */
	}
	log_request(s, &r);
	return reply_and_release(c, &r, malformed);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	(void)version;
	sim_server *srv = cls;
	conn_ctx *ctx = *con_cls;
	if (!ctx) {
		ctx = xcalloc(1, sizeof(*ctx));
		buf_init(&ctx->body, SIM_MAX_BODY);
		*con_cls = ctx;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!ctx->too_big && buf_add(&ctx->body, upload_data, *upload_data_size) != 0)
			ctx->too_big = true;
		*upload_data_size = 0;
		return MHD_YES;
	}
	return handle(srv, c, url, method, ctx);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	conn_ctx *ctx = *con_cls;
	if (!ctx)
		return;
	buf_release(&ctx->body);
	free(ctx);
	*con_cls = NULL;
}

int sim_server_start(sim_server **out, sim_store *s)
{
	*out = NULL;
	sim_server *srv = xcalloc(1, sizeof(*srv));
	srv->s = s;
	build_routes(srv);
	srv->rates = xcalloc(s->cfg->napi_keys ? s->cfg->napi_keys : 1, sizeof(*srv->rates));
	for (size_t i = 0; i < s->cfg->napi_keys; i++) {
		srv->rates[i].tokens = (double)s->cfg->rate_per_minute;
		srv->rates[i].last_ms = mono_ms();
		srv->rates[i].route_window = xcalloc(srv->nroutes, sizeof(int64_t));
		srv->rates[i].route_count = xcalloc(srv->nroutes, sizeof(int64_t));
	}
	struct sockaddr_in addr;
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)s->cfg->listen_port);
	if (inet_pton(AF_INET, s->cfg->listen_host, &addr.sin_addr) != 1) {
		sim_server_stop(srv);
		return err_set(ERR_INVALID, "listen address '%s' is not an IPv4 address", s->cfg->listen_host);
	}
	srv->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
				  (uint16_t)s->cfg->listen_port, NULL, NULL, on_request, srv,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
				  MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
				  MHD_OPTION_END);
	if (!srv->d) {
		sim_server_stop(srv);
		return err_set(ERR_IO, "cannot listen on %s:%d (in use?)", s->cfg->listen_host, s->cfg->listen_port);
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = info ? info->port : s->cfg->listen_port;
	*out = srv;
	return 0;
}

int sim_server_port(const sim_server *srv)
{
	return srv->port;
}

void sim_server_stop(sim_server *srv)
{
	if (!srv)
		return;
	if (srv->d)
		MHD_stop_daemon(srv->d);
	for (size_t i = 0; srv->rates && i < srv->s->cfg->napi_keys; i++) {
		free(srv->rates[i].route_window);
		free(srv->rates[i].route_count);
	}
	free(srv->rates);
	free(srv->routes);
	free(srv);
}
