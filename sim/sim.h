/*
 * sim.h: the one header of sim/, flotilla-sim, a local server for the part
 * of the Neon API v2 that a fleet reconciler uses (sim/CONTRACT.md,
 * docs/sim.md).
 *
 * One store holds every project in memory behind one mutex; HTTP requests
 * (libmicrohttpd, a thread per connection) take it for the time of the
 * handler only, so injected latency never blocks other clients. Time is
 * lazy: an operation's status and a compute's idleness are computed from
 * timestamps when read, so the sim needs no timer threads. The one
 * exception is tenant activity (activity.c): computes woken on their own
 * need a thread to wake them, and it runs only when activity is asked for.
 * sim/ shares only util/ with the rest of flotilla; it never reuses neon/'s
 * JSON mapping, so a mistake in one is not repeated in the other.
 */
#ifndef FLOTILLA_SIM_H
#define FLOTILLA_SIM_H

#include <jansson.h>
#include <pthread.h>

#include "util/util.h"

/* ---------------------------------------------------------------- config */

typedef struct sim_config {
	const char *listen_host;
	int listen_port;          /* 0: any free port */
	const char *port_file;
	const char **api_keys;
	size_t napi_keys;
	int64_t op_delay_ms;      /* real milliseconds until operations finish */
	int64_t rate_per_minute;  /* per key; 0: no limits */
	int64_t burst_per_route;  /* per key and route, per second */
	int64_t max_projects;     /* 0: unlimited */
	bool max_projects_set;    /* --max-projects given: it wins over the plan's figure */
	const struct sim_plan *plan; /* --plan; NULL: no plan limits */
	bool require_org_id;      /* a personal key on an account with organizations */
	const char **org_ids;     /* the organizations of the key, at least one */
	size_t norg_ids;
	/* the start values of the faults of the same names (sim_faults) */
	double unavailable_rate, op_retry_rate, op_fail_rate, activity_per_minute;
	int64_t activity_op_ms;   /* real milliseconds of activity's operations */
	double time_scale;        /* sim clock speed */
	uint64_t seed;
	const char *data_file;    /* NULL: in memory */
	int64_t recover_window_s; /* deleted projects stay recoverable this long */
	bool quiet;
} sim_config;

/* ----------------------------------------------------------------- model */

#define SIM_OPS_KEPT 64 /* finished operations kept per project, newest first */

/* How an operation ends (operations.c): decided when it is made. */
enum { SIM_OP_OK, SIM_OP_RETRIED, SIM_OP_ERROR };

typedef struct sim_op {
	char id[37];           /* UUID */
	uint8_t fate;          /* SIM_OP_OK, SIM_OP_RETRIED, SIM_OP_ERROR */
	const char *action;    /* static string: create_timeline, start_compute, … */
	char branch_id[64];
	char endpoint_id[64];
	int64_t created_at;    /* sim clock, seconds */
	int64_t start_ms;      /* real clock, ms */
	int64_t delay_ms;      /* one attempt's duration */
	int64_t done_ms;       /* real clock, ms: finished (or error) from then on */
} sim_op;

typedef struct sim_role {
	char *name;
	char *password;
	bool no_login;
	bool protected_;
	int64_t created_at, updated_at;
} sim_role;

typedef struct sim_database {
	int64_t id;
	char *name;
	char *owner;
	int64_t created_at, updated_at;
} sim_database;

typedef struct sim_branch {
	char *id;
	char *name;
	char *parent_id; /* NULL for the root */
	char *parent_lsn;
	char *parent_timestamp;
	char *init_source;
	bool is_default;
	bool protected_;
	json_t *annotations; /* object of strings; owned; may be NULL */
	json_t *backup_schedule; /* BackupScheduleItem array; owned; NULL: never set */
	int64_t created_at, updated_at;
	sim_role *roles;
	size_t nroles, caproles;
	sim_database *dbs;
	size_t ndbs, capdbs;
	int64_t expires_at;      /* 0: none */
	/* scheduled snapshots (routes_snapshots.c) are made up to here */
	int64_t backup_filled_to;
	/* made by restoreSnapshot: the snapshot and the branch it replaces
	 * (Branch.restored_from, restored_as), and where that stands */
	char *restored_from, *restored_as;
	uint8_t restore_status;  /* SIM_RESTORE_* */
	/* the branch's data history (sim/data.c): one entry per write, oldest
	 * first; the version at a point is the last entry at or before it */
	struct sim_write *writes;
	size_t nwrites, capwrites;
} sim_branch;

/* Branch.restore_status: none, "restored" (finalizeRestoreBranch may
 * follow), "finalized". */
enum { SIM_RESTORE_NONE, SIM_RESTORE_RESTORED, SIM_RESTORE_FINALIZED };

/* A snapshot (routes_snapshots.c): a branch's data version at a point,
 * kept apart from the branch, so it outlives the branch and its history. */
typedef struct sim_snapshot {
	char *id;                /* "snap-…" */
	char *name;
	char *source_branch_id;
	char lsn[32];            /* the point */
	int64_t at;              /* the point's time (Snapshot.timestamp) */
	int64_t created_at;
	int64_t expires_at;      /* 0: kept until deleted */
	bool manual;             /* false: made by a backup schedule */
	int64_t version;         /* the source's data version at the point */
} sim_snapshot;

/* A write to a branch's data (POST /__sim/write): its sim time, its LSN
 * and the data version it made. */
typedef struct sim_write {
	int64_t at;
	uint64_t lsn;
	int64_t version;
} sim_write;

typedef struct sim_endpoint {
	char *id;
	char *branch_id;
	char *name;
	bool read_write;
	double min_cu, max_cu;
	int64_t suspend_timeout; /* -1 never, 0 default (300) */
	bool disabled;
	json_t *settings;        /* owned; may be NULL */
	int64_t created_at, updated_at;
	/* scale to zero: active until last_active + timeout */
	int64_t last_active;     /* sim seconds; 0: never started */
	int64_t started_at;
	bool suspended;          /* explicitly suspended */
	int64_t accrued_to;      /* consumption accounted up to here */
} sim_endpoint;

/* Consumption of one hour, kept sparse. */
typedef struct sim_usage {
	int64_t hour;              /* sim seconds, multiple of 3600 */
	int64_t active_seconds;
	int64_t compute_seconds;
} sim_usage;

typedef struct sim_project {
	uint64_t seq;            /* creation order: the list order and cursor */
	char *id;
	char *name;
	char *region_id;
	char *org_id;
	int pg_version;
	int64_t history_retention;
	bool store_passwords;
	json_t *settings;                  /* ProjectSettingsData; owned; never NULL */
	json_t *default_endpoint_settings; /* owned; never NULL */
	int64_t created_at, updated_at;
	int64_t deleted_at;      /* 0: live */
	sim_branch *branches;
	size_t nbranches, capbranches;
	sim_endpoint *endpoints;
	size_t nendpoints, capendpoints;
	sim_op *ops;             /* newest first */
	size_t nops, capops;
	sim_usage *usage;
	size_t nusage, capusage;
	int64_t active_seconds, compute_seconds; /* totals, for the project */
	int64_t db_seq;
	sim_snapshot *snaps;     /* creation order */
	size_t nsnaps, capsnaps;
} sim_project;

/* ------------------------------------------------------------- the store */

typedef struct sim_store sim_store;

typedef struct sim_stats {
	json_t *requests;      /* {"METHOD /template": {"200": n}} */
	int64_t requests_total;
	int64_t writes_total;
	int64_t cold_starts;
	int64_t rate_limited;
	int64_t ops_total;
	int64_t ops_retried, ops_errored; /* of ops_total: their fate when made */
	int64_t unavailable_listed;       /* projects left out of list pages */
	int64_t activity_wakes, activity_suspends;
} sim_stats;

typedef struct sim_faults {
	double error_rate, error_after_rate, reset_rate, reset_after_rate;
	double lock_rate, malformed_rate;
	/* Neon's own behaviours (docs/sim.md, "Neon's harsher behaviours") */
	double unavailable_rate, op_retry_rate, op_fail_rate;
	double activity_per_minute;
	int64_t latency_ms;
	uint64_t seed;
} sim_faults;

/* The webhook receiver of /__sim/notify (control.c), for the tests of the
 * daemon's notifier: the last SIM_NOTIFY_MAX bodies, and failures to answer
 * the next posts with. */
#define SIM_NOTIFY_MAX 1000
typedef struct sim_notify {
	json_t *received;         /* array of bodies, oldest first; NULL until one arrives */
	int64_t count;            /* bodies stored since the last reset (received keeps the last 1000) */
	int64_t attempts;         /* POSTs answered, failed ones included */
	int fail_status;          /* the status of the next fail_count posts */
	int64_t fail_count;
	int64_t fail_retry_after; /* seconds, for a 429; 0: the sim's default of 1 */
} sim_notify;

struct sim_store {
	pthread_mutex_t mu;
	const sim_config *cfg;
	/* projects in creation order; deleted-for-good ones are NULL holes,
	 * compacted when they pile up */
	sim_project **projects;
	size_t nprojects, capprojects;
	size_t live, deleted;
	uint64_t next_seq;
	strmap *by_id;         /* project id -> project */
	strmap *by_name_count; /* name -> struct name_count (live + recoverable projects) */
	strmap *endpoints;     /* endpoint id -> project */
	strmap *ids;           /* every branch/endpoint/project id ever handed out */
	char **idkeys;         /* the keys of ids, owned here */
	size_t nidkeys, capidkeys;
	uint64_t rng;          /* ids; kept in --data so a restart never repeats one */
	int64_t db_seq;        /* database ids are global, as Neon's are */
	sim_stats stats;
	sim_faults faults;
	uint64_t fault_rng;
	/* clock */
	int64_t wall_start;    /* unix seconds at start */
	int64_t mono_start_ms;
	struct sim_persist *persist;
	struct sim_activity *activity; /* NULL until activity first happens */
	sim_notify notify;
};

int sim_store_init(sim_store *s, const sim_config *cfg) WUR;
void sim_store_release(sim_store *s);
/* Drop every project and all stats; faults go back to the flags' values
 * (POST /__sim/reset). */
void sim_store_reset(sim_store *s);

/* The sim's clock (scaled, unix seconds); the real one is util's mono_ms. */
int64_t sim_now(const sim_store *s);
/* RFC 3339 UTC, "2026-11-26T03:42:00Z". */
void sim_time_format(int64_t t, char out[32]);
/* The start of the UTC month that holds t (consumption periods and
 * monthly timeframes); t moved by n UTC months (n may be negative), the
 * day and time of day kept, as timegm normalizes them. */
int64_t sim_month_start(int64_t t);
int64_t sim_months_add(int64_t t, int n);
/* An RFC 3339 date-time ("…Z", "…+02:00", with or without fractions of a
 * second) as unix seconds. 0, or -1 when malformed (*out untouched). */
int sim_time_parse(const char *s, int64_t *out);

sim_project *sim_project_find(sim_store *s, const char *id); /* live only */
sim_project *sim_project_find_any(sim_store *s, const char *id); /* live or deleted */
sim_project *sim_project_new(sim_store *s, const char *name);
/* Add a project read back from --data: p is complete, its seq set. */
void sim_project_adopt(sim_store *s, sim_project *p);
/* Mark deleted (recoverable) / bring back / drop for good. */
void sim_project_delete(sim_store *s, sim_project *p);
void sim_project_recover(sim_store *s, sim_project *p);
/* Projects per name, kept as projects are made, renamed and dropped. */
void sim_name_count_add(sim_store *s, const char *name, intptr_t delta);
intptr_t sim_name_count(sim_store *s, const char *name);
/* Drop projects whose recovery window has passed. */
void sim_store_expire(sim_store *s);

sim_branch *sim_branch_find(sim_project *p, const char *id);

/* ---------------------------------------------------------- branch data (data.c) */

/* "hex/hex" as a number; false when s is not an LSN. */
bool sim_lsn_parse(const char *s, uint64_t *out);
/* The data version of b at a point: the LSN `lsn` when not NULL, else
 * the time t (0: now). 0 before any write. */
int64_t sim_data_at(const sim_branch *b, const char *lsn, int64_t t);
/* dst's history becomes src's up to the point (lsn or t; both unset: all
 * of it), then one entry now carrying the version at that point, at an LSN
 * past every LSN of the project. */
void sim_data_fork(sim_store *s, sim_project *p, sim_branch *dst, const sim_branch *src, const char *lsn, int64_t t);
/* b's history becomes one entry now carrying `version`, at an LSN past
 * every LSN of the project (a branch restored from a snapshot). */
void sim_data_start(sim_store *s, sim_project *p, sim_branch *b, int64_t version);
/* A point of b's history as a time and an LSN: the LSN `lsn` when not
 * NULL (*at: the time of the last write at or before it, else b's
 * creation), else the time t (0: now; lsn_out: one that grows with time
 * and is at least that of the last write at or before t). */
void sim_data_point(sim_store *s, const sim_project *p, const sim_branch *b, const char *lsn, int64_t t,
		    int64_t *at, char lsn_out[32]);
/* dst's history becomes a copy of src's, whole. */
void sim_data_copy(sim_branch *dst, const sim_branch *src);
/* A write: version + 1, now, at the next LSN. Returns the entry. */
const sim_write *sim_data_write(sim_store *s, sim_project *p, sim_branch *b);
/* The "LSN" text of n ("1/2A0"). */
void sim_lsn_format(uint64_t n, char out[32]);
/* A branch's data as JSON {version, lsn, writes: [{at, lsn, version}]}. */
json_t *sim_data_render(const sim_branch *b);
sim_branch *sim_branch_find_name(sim_project *p, const char *name);
sim_branch *sim_branch_default(sim_project *p);
sim_branch *sim_branch_add(sim_store *s, sim_project *p, const char *name);
void sim_branch_remove(sim_project *p, sim_branch *b);
sim_endpoint *sim_endpoint_find(sim_project *p, const char *id);
sim_endpoint *sim_endpoint_add(sim_store *s, sim_project *p, const char *branch_id, bool read_write);
/* The read_write endpoint of a branch, or NULL. */
sim_endpoint *sim_endpoint_rw(sim_project *p, const char *branch_id);
void sim_endpoint_remove(sim_store *s, sim_project *p, sim_endpoint *e);
sim_role *sim_role_find(sim_branch *b, const char *name);
sim_role *sim_role_add(sim_store *s, sim_project *p, sim_branch *b, const char *name, bool no_login);
void sim_role_remove(sim_branch *b, sim_role *r);
sim_database *sim_db_find(sim_branch *b, const char *name);
sim_database *sim_db_add(sim_store *s, sim_project *p, sim_branch *b, const char *name, const char *owner);
void sim_db_remove(sim_branch *b, sim_database *d);

/*
 * Operations (operations.c). sim_op_add makes one of --op-delay-ms,
 * sim_op_add_ms one of `delay_ms`; either may fail once or for good, at
 * the faults' op_retry_rate and op_fail_rate. The pointer lasts until the
 * next operation of p is added.
 */
sim_op *sim_op_add(sim_store *s, sim_project *p, const char *action, const char *branch_id,
		   const char *endpoint_id);
sim_op *sim_op_add_ms(sim_store *s, sim_project *p, const char *action, const char *branch_id,
		      const char *endpoint_id, int64_t delay_ms);
/* An operation as seen at real time now_ms. */
typedef struct sim_op_view {
	const char *status;  /* an OperationStatus */
	int failures;        /* failures_count */
	bool final;          /* finished or error: total_duration_ms is fixed */
	int64_t changed_ms;  /* real ms when status last changed */
	int64_t retry_ms;    /* real ms of the retry; 0: never failed */
} sim_op_view;
void sim_op_view_at(const sim_op *op, int64_t now_ms, sim_op_view *out);
/* The error text of a failed operation (a static string). */
const char *sim_op_error(const sim_op *op);
/* True while any operation of p is not yet finished or error. */
bool sim_project_busy(const sim_project *p, int64_t now_ms);

/* Scale to zero and consumption. */
bool sim_endpoint_active(const sim_store *s, const sim_endpoint *e, int64_t now);
/* When an active compute goes idle on its own: sim seconds, INT64_MAX for
 * never, 0 when it is not running. */
int64_t sim_endpoint_idle_at(const sim_endpoint *e);
/* Bring consumption up to `now` for every endpoint of p. */
void sim_project_accrue(sim_store *s, sim_project *p, int64_t now);
/* A client connection to the compute: wakes it, counting a cold start. */
void sim_endpoint_connect(sim_store *s, sim_project *p, sim_endpoint *e);
void sim_endpoint_start(sim_store *s, sim_project *p, sim_endpoint *e);
void sim_endpoint_suspend(sim_store *s, sim_project *p, sim_endpoint *e);

/* Ids and secrets, from the store's seeded generator. */
/* Grow a per-project array to hold `need` elements: 1, 2, 4, … rather than
 * xgrow's first 8, since most projects hold one branch, one endpoint, one
 * role and one database, and 300,000 of them must fit in memory. */
void *sim_grow(void *p, size_t *cap, size_t need, size_t size);

/* Record an id as taken (ids loaded from --data). */
void sim_id_claim(sim_store *s, const char *id);
void sim_gen_project_id(sim_store *s, char out[64]);
void sim_gen_id(sim_store *s, const char *prefix, char out[64]); /* "br", "ep" */
void sim_gen_uuid(sim_store *s, char out[37]);
void sim_gen_password(sim_store *s, char out[17]);
uint64_t sim_rand(uint64_t *state);
double sim_rand01(uint64_t *state);

/* Hosts: ep-x.us-east-2.aws.neon.tech, and the proxy host of a region. */
void sim_region_proxy_host(const char *region_id, char *out, size_t size);
void sim_endpoint_host(const sim_endpoint *e, const char *region_id, bool pooler, char *out, size_t size);

/* --------------------------------------------------- account and plans */

/* A plan's limits (docs/neon-api.md, "Plans and their limits"). */
typedef struct sim_plan {
	const char *name;            /* free, launch, scale, business */
	const char *subscription;    /* its BillingSubscriptionType */
	int64_t projects;            /* per account */
	int64_t branches;            /* per project */
	int64_t retention_max;       /* history_retention_seconds */
	double autoscaling_max;      /* CU, when min < max */
	double fixed_max;            /* CU, when min == max */
	int64_t protected_max;       /* protected branches per project */
	int64_t snapshots;           /* per project */
} sim_plan;

/* The plan named `name`, or NULL. */
const sim_plan *sim_plan_find(const char *name);
/* The plan names, "free, launch, scale or business", for messages. */
extern const char SIM_PLAN_NAMES[];
/* The account's project limit: --max-projects when given, else the plan's;
 * 0 for none. */
int64_t sim_projects_limit(const sim_config *cfg);
/* history_retention_seconds of a project made without one. */
int64_t sim_default_retention(const sim_config *cfg);
/* Snapshots a project may keep: the plan's, 10 without --plan. */
int64_t sim_snapshots_limit(const sim_config *cfg);
/* The plan's name, or "scale" (what the sim reports without --plan). */
const char *sim_plan_name(const sim_config *cfg);

/* An organization id: ^[a-z0-9-]{1,60}$. */
bool sim_org_id_valid(const char *id);

/* ---------------------------------------------------------------- regions */

typedef struct sim_region {
	const char *id, *name, *lat, *lng;
} sim_region;
extern const sim_region SIM_REGIONS[];
extern const size_t SIM_NREGIONS;
bool sim_region_exists(const char *id);

/* ------------------------------------------------------------- rendering */

/* JSON objects in the shapes of openapi-v2.json; all return new refs. */
json_t *sim_render_project(sim_store *s, sim_project *p, bool list_item);
json_t *sim_render_branch(sim_store *s, sim_project *p, sim_branch *b);
json_t *sim_render_endpoint(sim_store *s, sim_project *p, sim_endpoint *e);
json_t *sim_render_database(const sim_database *d, const char *branch_id);
json_t *sim_render_role(const sim_role *r, const char *branch_id, bool with_password);
json_t *sim_render_op(const sim_op *op, const char *project_id, int64_t now_ms);
/* The operations added since index `first_new` (ops are newest first). */
json_t *sim_render_new_ops(sim_project *p, size_t count, int64_t now_ms);
json_t *sim_render_connection_uri(sim_project *p, sim_branch *b, sim_endpoint *e, const char *db,
				  const char *role, bool pooled);

/* ------------------------------------------------------------------- HTTP */

#define SIM_MAX_BODY (1024 * 1024)
#define SIM_MAX_PARAMS 4

typedef struct sim_req {
	sim_store *s;
	const char *method;
	const char *path;       /* without the query */
	void *conn;             /* struct MHD_Connection * */
	const char *params[SIM_MAX_PARAMS]; /* the {…} segments of the route, in order */
	json_t *body;           /* parsed request body or NULL */
	char request_id[64];
	sim_project *touched;   /* a write handler sets it: persisted after success */
	/* the reply */
	int status;
	json_t *reply;          /* owned */
} sim_req;

/* Query parameter, or NULL. */
const char *sim_query(sim_req *r, const char *name);
/* Set the reply; `body` is stolen (may be NULL for 204). Returns 0. */
int sim_reply(sim_req *r, int status, json_t *body);
/* A GeneralError reply {code, message, request_id}. Returns 0. */
int sim_error(sim_req *r, int status, const char *code, const char *fmt, ...) PRINTF(4, 5);
/* The 423 Neon sends while a project's operations run; true if sent. */
bool sim_locked(sim_req *r, sim_project *p);

/*
 * Request checks shared by the routes (routes_projects.c). Each sends a 400
 * with the rule it broke and returns false on failure.
 *
 * sim_check_compute reads autoscaling_limit_min_cu, autoscaling_limit_max_cu
 * and suspend_timeout_seconds from `obj` where present, over the current
 * values in *min_cu, *max_cu and *suspend, and checks the result (docs/neon-api.md,
 * Endpoints): min >= 0.25, max >= min, max - min <= 8, autoscaling up to
 * 16 CU, fixed size up to 56, suspend -1, 0 or 60..604800.
 */
bool sim_check_compute(sim_req *r, const json_t *obj, double *min_cu, double *max_cu, int64_t *suspend);
/* A string member 1..max bytes, or absent (*out NULL). */
bool sim_check_string(sim_req *r, const json_t *obj, const char *key, size_t max, const char **out);
/* A boolean member, or absent or null (*out untouched). routes_endpoints.c */
bool sim_check_bool(sim_req *r, const json_t *obj, const char *key, bool *out);
/* The project/branch/… named by params[i], or a 404 reply. */
sim_project *sim_need_project(sim_req *r, size_t param);
sim_branch *sim_need_branch(sim_req *r, sim_project *p, size_t param);

/*
 * An endpoint to make, as POST /endpoints and POST /branches (endpoints[])
 * describe one (routes_endpoints.c). sim_check_endpoint_spec reads `in`
 * (an EndpointCreateRequest.endpoint or BranchCreateRequestEndpointOptions)
 * over the project's default_endpoint_settings; on failure it sends the 400
 * and returns false. The spec borrows from `in`. sim_endpoint_make adds the
 * endpoint to branch_id and starts it unless disabled; the pointer it
 * returns lasts until the next endpoint is added or removed. Neither adds
 * operations: the callers do.
 */
typedef struct sim_endpoint_spec {
	bool read_write;
	double min_cu, max_cu;
	int64_t suspend;
	const json_t *settings; /* over the project's default pg_settings; may be NULL */
	const char *name;       /* NULL: none */
	bool disabled;
} sim_endpoint_spec;
bool sim_check_endpoint_spec(sim_req *r, sim_project *p, const json_t *in, sim_endpoint_spec *out);
sim_endpoint *sim_endpoint_make(sim_store *s, sim_project *p, const char *branch_id, const sim_endpoint_spec *spec);

/*
 * The account's checks (account.c), each sending its error and returning
 * false on failure: the project limit before one more live project
 * (422 PROJECTS_LIMIT_EXCEEDED); the branch limit before one more branch of
 * p (422 BRANCHES_LIMIT_EXCEEDED); the protected-branch limit before one
 * more protected branch of p (422 BRANCHES_PROTECTED_LIMIT_EXCEEDED);
 * a history retention (400); and an org_id given with a request (400
 * "org_id is required" when --require-org-id wants one, 404 for an
 * organization not the key's). None checks anything the flags do not ask for.
 */
bool sim_check_projects_limit(sim_req *r);
bool sim_check_branches_limit(sim_req *r, const sim_project *p);
bool sim_check_protected_limit(sim_req *r, const sim_project *p);
bool sim_check_retention_plan(sim_req *r, int64_t retention);
bool sim_check_org(sim_req *r, const char *org_id);

/*
 * Branch helpers the snapshot routes share with routes_branches.c.
 * sim_check_point reads a point in the history of `src`: `lsn_key` or
 * `ts_key` of `in`, at most one; an LSN "hex/hex", a timestamp RFC 3339
 * within the project's history retention and src's life; *lsn is the LSN
 * given (borrowed from `in`) or NULL, *t the time or 0; a 400 and false
 * on failure. sim_branch_copy_catalog gives dst copies of src's roles
 * (the same passwords unless new_passwords) and databases (new ids); no
 * branch may be added meanwhile.
 */
bool sim_check_point(sim_req *r, sim_project *p, const sim_branch *src, const json_t *in, const char *lsn_key,
		     const char *ts_key, const char **lsn, int64_t *t);
void sim_branch_copy_catalog(sim_store *s, sim_project *p, sim_branch *dst, const sim_branch *src,
			     bool new_passwords);

/*
 * Snapshots (routes_snapshots.c). sim_snapshots_fill brings p's snapshots
 * up to now: the scheduled ones whose times passed since the last fill are
 * made, expired ones dropped, and the oldest scheduled ones dropped past
 * the plan's limit. True when anything changed (p is to be saved).
 */
bool sim_snapshots_fill(sim_store *s, sim_project *p);
typedef int (*sim_handler)(sim_req *r);

typedef struct sim_route {
	const char *method;
	const char *pattern; /* "/projects/{project_id}/branches" */
	sim_handler handler;
	bool write;          /* a mutation: counted, locked, faulted as a write */
} sim_route;

/* The route tables of the routes_*.c files, each ending with a NULL entry. */
extern const sim_route SIM_ROUTES_PROJECTS[];
extern const sim_route SIM_ROUTES_BRANCHES[];
extern const sim_route SIM_ROUTES_ENDPOINTS[];
extern const sim_route SIM_ROUTES_ROLES_DBS[];
extern const sim_route SIM_ROUTES_MISC[];
extern const sim_route SIM_ROUTES_ACCOUNT[];
extern const sim_route SIM_ROUTES_BACKUPS[];
extern const sim_route SIM_ROUTES_SNAPSHOTS[];

typedef struct sim_server sim_server;
int sim_server_start(sim_server **out, sim_store *s) WUR;
int sim_server_port(const sim_server *srv);
void sim_server_stop(sim_server *srv);

/* Control plane (/__sim/…): returns true when it handled the request. */
bool sim_control(sim_req *r);
/* The faults as the flags set them: at start and on POST /__sim/reset. */
void sim_faults_from_config(sim_faults *f, const sim_config *cfg);
/* Forget the notifications received and the failures asked for (POST
 * /__sim/reset, and at exit). */
void sim_notify_clear(sim_store *s);

/* ------------------------------------------------------ tenant activity */

/*
 * activity.c: computes woken as a tenant's application would wake them,
 * by a ticker thread at the faults' activity_per_minute (sim/CONTRACT.md).
 * All but sim_activity_stop are called with s->mu held.
 *
 * sim_activity_kick starts the ticker when the rate asks for one and tells
 * a running one that the rate changed. sim_activity_wake wakes up to
 * `count` distinct live projects now (POST /__sim/wake) and returns how
 * many it woke; it starts the ticker too, which adds their suspend_compute
 * when they go idle. sim_activity_reset forgets the computes it watches
 * (the projects are gone). sim_activity_stop (s->mu not held) stops and
 * joins the ticker at shutdown; nothing when none runs.
 */
#define SIM_ACTIVITY_MAX 1000000 /* projects per minute, the most activity_per_minute takes */
void sim_activity_kick(sim_store *s);
size_t sim_activity_wake(sim_store *s, size_t count);
void sim_activity_reset(sim_store *s);
void sim_activity_stop(sim_store *s);

/* ------------------------------------------------------------ persistence */

/* Open (creating) the SQLite file and load its projects into the store. */
int sim_persist_open(sim_store *s, const char *path) WUR;
/* Write p (or its removal when deleted for good) through to the file. */
void sim_persist_save(sim_store *s, sim_project *p);
void sim_persist_remove(sim_store *s, const char *project_id);
void sim_persist_clear(sim_store *s);
void sim_persist_close(sim_store *s);

#endif
