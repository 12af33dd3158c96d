/*
 * neon.h: the one header of neon/, flotilla's Neon API v2 client.
 *
 * libcurl's multi interface runs many requests at once over kept-alive
 * connections (HTTP/2 where libcurl has it); jansson maps the JSON. Every
 * request of a process draws from one rate budget (a token bucket that
 * halves its rate after a 429 and creeps back, AIMD). The client retries
 * what is safe to retry (docs/neon-api.md, "Errors"):
 *   - reads: transport errors, 5xx, 423, 429;
 *   - writes: only when nothing reached the server (no connection) or the
 *     API says nothing ran (423, 429, 503);
 * and returns any other failed write as NEON_UNKNOWN_OUTCOME, so the
 * caller finds out by reading before it tries again. Writes go out on a
 * fresh connection: libcurl silently re-sends a request whose reused
 * connection closed before the first response byte, which for a POST
 * could make a project twice.
 *
 * neon/ does not persist anything and prints nothing; the API key never
 * reaches a log line, an error message or a result.
 */
#ifndef FLOTILLA_NEON_H
#define FLOTILLA_NEON_H

#include <jansson.h>

#include "util/util.h"

#define NEON_DEFAULT_URL "https://console.neon.tech/api/v2"

/* ---------------------------------------------------------------- client */

typedef struct neon_options {
	const char *base_url;  /* default NEON_DEFAULT_URL; plain http only to loopback */
	const char *api_key;   /* copied; required */
	double rate;           /* requests per second for the whole process; default 10 */
	double burst;          /* bucket size; default 20 */
	int max_in_flight;     /* requests on the wire at once; default 8 */
	int64_t timeout_ms;    /* one attempt; default 30000 */
	size_t max_body;       /* largest response accepted; default 32 MiB */
	int max_attempts;      /* per request, first try included; default 6 */
	int64_t max_backoff_ms;/* longest wait between attempts; default 10000 */
	uint64_t seed;         /* jitter; 0 picks one */
	/* Called after every attempt (NULL: none), from neon_run: the route as
	 * a template, ids replaced ("GET /projects/{id}/branches"), and the
	 * HTTP status (0: no answer). For the daemon's request metrics. */
	void (*on_attempt)(void *arg, const char *route, int status);
	void *on_attempt_arg;
	/* How long a request may keep meeting 423 Locked before it fails (a
	 * project busy with operations, often Neon's own: a compute starting
	 * because an application connected). 423s are retried with jittered
	 * backoff until then, whatever max_attempts says; default 600000. */
	int64_t lock_wait_ms;
} neon_options;

#define NEON_OPTIONS_INIT {NULL, NULL, 10.0, 20.0, 8, 30000, 32u * 1024 * 1024, 6, 10000, 0, NULL, NULL, 600000}

/* "GET /projects/p-1/branches/br-2" -> "GET /projects/{id}/branches/{id}":
 * every segment after a collection name is an id (or a name). Heap. */
char *neon_route_template(const char *route);

typedef struct neon_client neon_client;

/*
 * Make a client. ERR_INVALID when the key is missing, the URL is not
 * http(s), or it is plain http to a host that is not loopback (TLS is
 * never turned off). The key is copied into memory excluded from core
 * dumps.
 */
int neon_client_new(neon_client **out, const neon_options *opt) WUR;
void neon_client_free(neon_client *c);

/*
 * The organization (a fleet's spec.orgId) that every project list and
 * search names as org_id, or NULL for none. A personal API key of an
 * account with organizations must name one: without it Neon answers 400
 * "org_id is required", and the client's message then says how to set and
 * find it (docs/neon-api.md, "Keys and organizations"). Copied.
 */
void neon_client_set_org(neon_client *c, const char *org_id);
const char *neon_client_org(const neon_client *c);
/* While fn(arg) says true, neon_run sends no further read: each GET not
 * yet sent completes as not sent ("the process is stopping"); reads on the
 * wire and every write go on. For the reads of a plan a signal should cut
 * short (the daemon's first plan of a large fleet). fn NULL: none. */
void neon_client_set_interrupt(neon_client *c, bool (*fn)(void *arg), void *arg);

/*
 * Read the API key: from the file when `file` is set (first line, spaces
 * trimmed; the file must not be readable by others), else from the
 * environment variable NEON_API_KEY. The result is heap memory the caller
 * frees with neon_key_free (which wipes it). ERR_NOTFOUND when neither is
 * set; ERR_INVALID for an empty key or a world-readable file.
 */
int neon_key_load(char **out, const char *file) WUR;
/* The same rules for any secret file (the daemon's webhook secret): the
 * first line, trimmed; refused when others can read it; `what` names it in
 * messages ("webhook secret file"). Free with neon_key_free. */
int neon_secret_file_load(char **out, const char *file, const char *what) WUR;
void neon_key_free(char *key);

/* ------------------------------------------------------------- requests */

typedef enum {
	NEON_OK = 0,             /* an HTTP response arrived and it is 2xx */
	NEON_HTTP_ERROR,         /* a final non-2xx answer; see status, message */
	NEON_TRANSPORT,          /* no answer after every attempt (reads) */
	NEON_UNKNOWN_OUTCOME,    /* a write that may or may not have run */
	NEON_BAD_RESPONSE,       /* 2xx, but the body is not the JSON it should be */
	NEON_TOO_BIG,            /* the body exceeded max_body */
} neon_outcome;

typedef struct neon_result {
	neon_outcome outcome;
	int status;              /* HTTP status of the last attempt, 0 if none */
	json_t *body;            /* parsed body of the last attempt, owned; NULL if none */
	char request_id[64];     /* X-Request-Id of the last attempt */
	char message[512];       /* why it failed: the API's message or ours */
	int attempts;
	int64_t elapsed_ms;      /* first send to last answer */
} neon_result;

void neon_result_release(neon_result *r);

typedef void (*neon_done_fn)(void *arg, neon_result *res);

/*
 * Queue a request. `path` is relative to the base URL ("/projects?limit=400").
 * `body` is stolen (may be NULL). `write` marks a mutation (retry rules
 * above). `done` runs from neon_run once the request finished, successfully
 * or not; it owns `res` only for the call (take res->body with json_incref
 * to keep it).
 */
void neon_submit(neon_client *c, const char *method, const char *path, json_t *body, bool write,
		 neon_done_fn done, void *arg);

/* Drive every queued request, its retries, and whatever their callbacks
 * queue, until none is left. Returns 0 (per-request failures are in the
 * results), or ERR_FAIL when libcurl itself failed. */
int neon_run(neon_client *c) WUR;

/* Run fn from neon_run once delay_ms have passed (an operation poll's
 * back-off); neon_run keeps running while a timer is pending. */
typedef void (*neon_timer_fn)(void *arg);
void neon_after(neon_client *c, int64_t delay_ms, neon_timer_fn fn, void *arg);

/* One request, synchronously: submit + run. *out must be released. */
int neon_call(neon_client *c, const char *method, const char *path, json_t *body, bool write,
	      neon_result *out) WUR;

/* ----------------------------------------------------------------- stats */

typedef struct neon_stats {
	int64_t requests;       /* attempts sent */
	int64_t retries;
	int64_t status_429;
	int64_t transport_errors;
	int64_t status_423;     /* 423 Locked answers, each retried while lock_wait_ms lasts */
	int64_t budget_waits;   /* attempts that waited for a token */
	int64_t budget_wait_ms;
	double rate_now;        /* current (AIMD-lowered) rate */
	double tokens;          /* tokens in the bucket now */
} neon_stats;

void neon_client_stats(const neon_client *c, neon_stats *out);

/* ---------------------------------------------------------- typed model */

/*
 * The subset of the API that flotilla reads, typed (the OpenAPI schemas of
 * vendor/neon-api; docs/neon-api.md). Strings
 * are heap copies owned by the struct; *_release frees them. Parsers take
 * the JSON object and a `where` for messages ("GET /projects: projects[3]")
 * and return ERR_INVALID with a message naming the field when a required
 * one is missing or has the wrong type.
 */

typedef struct neon_quota {
	int64_t active_time_seconds, compute_time_seconds;
	int64_t written_data_bytes, data_transfer_bytes, logical_size_bytes; /* 0: unlimited */
} neon_quota;

typedef struct neon_project {
	char *id, *name, *region_id, *org_id;
	int pg_version;
	int64_t history_retention_seconds;
	char *created_at, *updated_at;   /* RFC 3339, as sent */
	neon_quota quota;
	bool has_quota;
	/* default_endpoint_settings */
	double min_cu, max_cu;           /* 0 when not sent */
	int64_t suspend_timeout_seconds;
	json_t *pg_settings;             /* object or NULL; owned */
	/* settings */
	json_t *allowed_ips;             /* array of strings or NULL; owned */
	bool protected_branches_only;
	bool logical_replication;
	bool block_public_connections;
	json_t *maintenance_window;      /* object or NULL; owned */
	/* deleted projects, with ?recoverable=true */
	char *deleted_at;
	/* the project object as sent; owned. The cache copies the plain
	 * fields it keeps from it by their API paths (engine/refresh.c). */
	json_t *json;
} neon_project;

typedef struct neon_branch {
	char *id, *project_id, *name, *parent_id;
	bool is_default, protected_;
	char *current_state;
	char *created_at, *updated_at;
	json_t *annotations;             /* object of strings or NULL; owned */
} neon_branch;

typedef struct neon_endpoint {
	char *id, *project_id, *branch_id, *host;
	bool read_write;
	double min_cu, max_cu;
	int64_t suspend_timeout_seconds;
	bool disabled;
	char *current_state;             /* init | active | idle */
	char *last_active;               /* may be NULL */
	char *name;                      /* Endpoint.name, or NULL: flotilla names its replicas */
	char *created_at, *updated_at;
} neon_endpoint;

typedef struct neon_database {
	int64_t id;
	char *branch_id, *name, *owner_name;
} neon_database;

typedef struct neon_role {
	char *branch_id, *name;
	bool protected_;
	/* the password is never parsed into this struct */
} neon_role;

typedef struct neon_operation {
	char *id, *project_id, *branch_id, *endpoint_id, *action, *status, *error;
} neon_operation;

typedef struct neon_region {
	char *region_id, *name;
	bool is_default;
} neon_region;

int neon_project_parse(const json_t *j, const char *where, neon_project *out) WUR;
int neon_branch_parse(const json_t *j, const char *where, neon_branch *out) WUR;
int neon_endpoint_parse(const json_t *j, const char *where, neon_endpoint *out) WUR;
int neon_database_parse(const json_t *j, const char *where, neon_database *out) WUR;
int neon_role_parse(const json_t *j, const char *where, neon_role *out) WUR;
int neon_operation_parse(const json_t *j, const char *where, neon_operation *out) WUR;
int neon_region_parse(const json_t *j, const char *where, neon_region *out) WUR;
void neon_project_release(neon_project *p);
void neon_branch_release(neon_branch *b);
void neon_endpoint_release(neon_endpoint *e);
void neon_database_release(neon_database *d);
void neon_role_release(neon_role *r);
void neon_operation_release(neon_operation *o);
void neon_region_release(neon_region *r);

/* Operation status classes (docs/neon-api.md, "Operations"). A `failed`
 * operation is not over: the control plane retries it (failures_count,
 * retry_at), so it counts as in progress; only error and cancelled are
 * final failures. */
bool neon_op_in_progress(const char *status); /* scheduling, running, cancelling, failed */
bool neon_op_succeeded(const char *status);   /* finished, skipped */

/* ------------------------------------------------------ paged reads */

/*
 * One page of GET /projects (limit 1..400), with the client's org_id.
 * `cursor` NULL for the first page. A page can be cut short: projects
 * whose details Neon could not fetch in time are left out of `projects`
 * and named in `unavailable_project_ids`; they exist, and they count
 * towards the page. On success *next is the cursor for the following page,
 * or NULL when this page is the last (listed + unavailable fewer than
 * limit, none at all, or no cursor). The arrays are heap memory:
 * neon_project_page_release.
 */
typedef struct neon_project_page {
	neon_project *items;
	size_t n;
	char **unavailable;     /* ids of projects Neon named but could not describe */
	size_t nunavailable;
	char *next;
} neon_project_page;

int neon_projects_page(neon_client *c, const char *cursor, int limit, const char *search, bool recoverable,
		       neon_project_page *out, neon_result *res) WUR;
void neon_project_page_release(neon_project_page *p);

/*
 * Every project named exactly `name`, from a search paged to its end (a
 * first page alone proves nothing: names are not unique, and pages can be
 * cut short). Projects a page named unavailable are read one by one by id;
 * those that could not be read either are counted in `unresolved`, and
 * then "no match" proves nothing: the caller must not create.
 */
typedef struct neon_find_result {
	char **ids;             /* the matching projects' ids, heap */
	size_t n;
	size_t unresolved;      /* unavailable projects that could not be read */
	int64_t calls;          /* requests made (pages and reads by id) */
	int rc;                 /* 0, or the error of a page that failed */
	char error[512];        /* rc != 0: why (the client's message) */
	char request_id[64];    /* rc != 0: the failed request's id */
} neon_find_result;
typedef void (*neon_find_fn)(void *arg, neon_find_result *res);
/* Queue the search; `done` runs from neon_run and owns `res` for the call
 * only (neon_find_result_release frees it afterwards). */
void neon_projects_find_submit(neon_client *c, const char *name, neon_find_fn done, void *arg);
/* The same, synchronously (not from inside a neon_run callback). Returns
 * out->rc; release *out either way. */
int neon_projects_find(neon_client *c, const char *name, neon_find_result *out) WUR;
void neon_find_result_release(neon_find_result *r);

/*
 * Everything deep about one project: branches (with the annotations map
 * merged in), endpoints, and each branch's databases and roles.
 */
typedef struct neon_project_deep {
	neon_branch *branches;
	size_t nbranches;
	neon_endpoint *endpoints;
	size_t nendpoints;
	neon_database *databases;
	size_t ndatabases;
	neon_role *roles;
	size_t nroles;
} neon_project_deep;

typedef void (*neon_deep_fn)(void *arg, const char *project_id, int rc, neon_project_deep *deep,
			     const char *error);

/* Queue the reads of one project's deep state (2 + 2 per branch calls);
 * `done` runs from neon_run with rc 0 and the result, or an error. */
void neon_project_deep_submit(neon_client *c, const char *project_id, neon_deep_fn done, void *arg);
void neon_project_deep_release(neon_project_deep *d);

/* ------------------------------------------------------ connection URI */

/* What GET /projects/{id}/connection_uri is asked for (borrowed). */
typedef struct neon_conn_req {
	const char *database, *role;         /* database_name, role_name: required */
	const char *branch_id;               /* or NULL: the project's default branch */
	const char *endpoint_id;             /* or NULL: the branch's read_write endpoint */
	bool pooled;                         /* pooled=true: the -pooler host */
} neon_conn_req;

/*
 * A database's connection URI (conn.c). *uri (heap) holds the role's
 * password: a secret the caller prints or hands on, never logs or stores.
 * 0; ERR_INVALID before any request (a bad id, no database or role name)
 * or for an answer without a uri; ERR_NOTFOUND for a 404 (no such
 * project, branch, endpoint, database or role: the API's message in
 * err_msg); another code for other failures, with err_msg.
 */
int neon_connection_uri(neon_client *c, const char *project_id, const neon_conn_req *rq, char **uri) WUR;

/* ------------------------------------------------- restore (restore.c) */

/* POST /projects/{id}/branches/{id}/restore's body (BranchRestoreRequest),
 * borrowed: a source branch, at most one of an LSN and an RFC 3339
 * timestamp, and the name the pre-restore state is kept under (or NULL). */
typedef struct neon_restore_req {
	const char *source_branch_id;
	const char *source_lsn, *source_timestamp;
	const char *preserve_under_name;
} neon_restore_req;

/* What a write that starts operations answered: their ids, the id of a
 * branch the write made besides its target (a restore's preserved copy),
 * and the request id. Heap; neon_write_result_release. */
typedef struct neon_write_result {
	char **op_ids;
	size_t nops;
	char *other_branch_id;
	char request_id[64];
} neon_write_result;
void neon_write_result_release(neon_write_result *r);
/* rq as the request's JSON body (a new reference): what is sent, and what
 * a journal records of it. */
json_t *neon_restore_body(const neon_restore_req *rq);

/*
 * Restore branch_id of project_id as rq says. 0 with *out filled (its
 * operations still running: neon_ops_wait); ERR_INVALID before any call
 * for a bad id or both an LSN and a timestamp; ERR_NOTFOUND (404),
 * ERR_CONFLICT (409: preserve_under_name taken), ERR_UNKNOWN_OUTCOME, or
 * another code with the API's message in err_msg. *out is empty on failure.
 */
int neon_branch_restore(neon_client *c, const char *project_id, const char *branch_id, const neon_restore_req *rq,
			neon_write_result *out) WUR;
/* PATCH a branch's expires_at (RFC 3339, or NULL to clear it): the same
 * codes. */
int neon_branch_set_expiry(neon_client *c, const char *project_id, const char *branch_id, const char *expires_at,
			   neon_write_result *out) WUR;

/* ------------------------------------------------ snapshots (snapshots.c) */

/* A Snapshot of GET /projects/{id}/snapshots (strings heap; NULL when the
 * answer left them out). */
typedef struct neon_snapshot {
	char *id, *name, *created_at;
	char *source_branch_id, *timestamp, *lsn, *expires_at;
	bool manual;
} neon_snapshot;
/* ERR_INVALID naming the field; release *out. */
int neon_snapshot_parse(const json_t *j, const char *where, neon_snapshot *out) WUR;
void neon_snapshot_release(neon_snapshot *s);
void neon_snapshots_release(neon_snapshot *v, size_t n);
/* Every snapshot of the project, as Neon orders them; one call. */
int neon_snapshots_list(neon_client *c, const char *project_id, neon_snapshot **out, size_t *n) WUR;
/* The bodies sent (new references), for the journal. */
json_t *neon_snapshot_restore_body(const char *name, const char *target_branch_id);
json_t *neon_finalize_restore_body(const char *old_name);
/* Restore snapshot_id into a new branch `name` for target_branch_id, not
 * finalized: out->other_branch_id is the new branch. Codes as
 * neon_branch_restore's. */
int neon_snapshot_restore(neon_client *c, const char *project_id, const char *snapshot_id, const char *name,
			  const char *target_branch_id, neon_write_result *out) WUR;
/* Finalize branch_id (made by neon_snapshot_restore): it takes the
 * target's computes and name, the target is renamed old_name. */
int neon_branch_finalize_restore(neon_client *c, const char *project_id, const char *branch_id, const char *old_name,
				 neon_write_result *out) WUR;

/*
 * Wait until the given operations of a project are no longer in progress:
 * one GET /projects/{id}/operations per poll, backing off from 100 ms to
 * 5 s, within timeout_ms. 0 when all succeeded; ERR_FAIL naming the first
 * failed operation; ERR_LOCKED ("timed out") when time ran out.
 */
int neon_ops_wait(neon_client *c, const char *project_id, const char *const *op_ids, size_t n,
		  int64_t timeout_ms) WUR;

/* ------------------------------------------- recover (issue 17, item 4) */

/*
 * recover.c: the deleted project `project_id` as GET
 * /projects?recoverable=true lists it (a search by its id, paged to its
 * end; only the exact id counts): its deleted_at, and in out->json its
 * recoverable_until. 0 with *out (neon_project_release); ERR_NOTFOUND when
 * the list does not have it (live, never deleted, past Neon's recovery
 * window or gone); ERR_INVALID for a bad id; another code, with err_msg,
 * when a page failed.
 */
int neon_project_recoverable(neon_client *c, const char *project_id, neon_project *out) WUR;
/*
 * POST /projects/{id}/recover, a write: 0 with *res filled (release it)
 * whatever the API answered (the caller journals res->outcome: 200 holds
 * {project, branches}; a failed write whose outcome is unknown is
 * NEON_UNKNOWN_OUTCOME); ERR_INVALID before sending for a bad id.
 */
int neon_project_recover(neon_client *c, const char *project_id, neon_result *res) WUR;
/* ------------------------------------------------------ usage (issue 17) */

/*
 * Consumption per project (usage.c): GET /consumption_history/v2/projects
 * with org_id (the client's: neon_client_set_org), project_ids (1..100),
 * the metrics compute_unit_seconds, root_branch_bytes_month,
 * child_branch_bytes_month and public_network_transfer_bytes, summed over
 * every period and timeframe of [from, to).
 */
typedef struct neon_usage_req {
	const char *from, *to;     /* RFC 3339 */
	const char *granularity;   /* hourly | daily | monthly; NULL: monthly */
} neon_usage_req;

typedef struct neon_usage {
	char *project_id;
	int64_t compute_unit_seconds;
	int64_t storage_bytes_month;  /* root + child branch byte-months */
	int64_t transfer_bytes;       /* public network transfer */
} neon_usage;

/* One project of an answer (`project` a ConsumptionHistoryPerProjectV2),
 * summed. ERR_INVALID naming the field; release *out. */
int neon_usage_parse(const json_t *project, const char *where, neon_usage *out) WUR;
void neon_usage_release(neon_usage *u);

/* `done` runs from neon_run once the batch is answered: rc 0 with one item
 * per id in ids' order (borrowed for the call; a project the answer left
 * out has zeros), or an error with `error` saying what failed and what to
 * do (403 plan, 404 organization, 406 range, 429 after every retry). */
typedef void (*neon_usage_fn)(void *arg, int rc, const neon_usage *items, size_t n, int status,
			      const char *error);
/* Queue one batch of 1..100 project ids (copied). Calls: one, unless the
 * API pages the batch. */
void neon_usage_submit(neon_client *c, const neon_usage_req *rq, const char *const *ids, size_t n,
		       neon_usage_fn done, void *arg);

/* ----------------------------------------------------- backup schedule */

/*
 * A branch's backup schedule (backups.c): GET and PUT
 * /projects/{id}/branches/{branch_id}/backup_schedule. The schedule is
 * Neon's BackupScheduleItem array; PUT replaces it whole ([] removes it).
 * ERR_INVALID before any request for a bad id; an answer's failure as
 * neon__outcome_rc maps it (ERR_NOTFOUND for a 404), with the API's message.
 */
typedef void (*neon_schedule_fn)(void *arg, int rc, const json_t *schedule, const char *error);
/* Queued; done runs from neon_run with the array (borrowed for the call). */
void neon_backup_schedule_get_submit(neon_client *c, const char *project_id, const char *branch_id,
				     neon_schedule_fn done, void *arg);
/* *out: the array, a new reference. */
int neon_backup_schedule_get(neon_client *c, const char *project_id, const char *branch_id, json_t **out) WUR;
int neon_backup_schedule_put(neon_client *c, const char *project_id, const char *branch_id,
			     const json_t *schedule) WUR;

#endif
