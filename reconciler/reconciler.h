/*
 * reconciler.h: the one header of reconciler/, the top of flotilla: the
 * command table and the commands (one file each, `cmd_*.c`). Commands
 * parse their own options, print, and choose the exit code; the library
 * folders below never print.
 */
#ifndef FLOTILLA_RECONCILER_H
#define FLOTILLA_RECONCILER_H

#include <limits.h>
#include <signal.h>

#include "diff/diff.h"
#include "neon/neon.h"
#include "spec/spec.h"
#include "source/source.h"
#include "state/state.h"
#include "util/util.h"

/* Exit codes (DESIGN.md, "CLI"). */
enum {
	EXIT_OK = 0,
	EXIT_ERROR = 1,
	EXIT_CHANGES = 2,
	EXIT_PARTIAL = 3,
	EXIT_BLOCKED = 4,
};

typedef struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary; /* one line for `flotilla --help` */
	const char *usage;   /* full text for `flotilla CMD --help` */
} command;

int cmd_validate(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_refresh(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_adopt(int argc, char **argv);
int cmd_unlock(int argc, char **argv);
int cmd_daemon(int argc, char **argv);

extern const char CMD_VALIDATE_USAGE[];
extern const char CMD_EXPLAIN_USAGE[];
extern const char CMD_REFRESH_USAGE[];
extern const char CMD_STATUS_USAGE[];
extern const char CMD_PLAN_USAGE[];
extern const char CMD_APPLY_USAGE[];
extern const char CMD_ADOPT_USAGE[];
extern const char CMD_UNLOCK_USAGE[];
extern const char CMD_DAEMON_USAGE[];

/* How a command reaches the API (global options of DESIGN.md "CLI"). */
typedef struct cli_api {
	const char *url;       /* --api-url, else env NEON_API_HOST, else NEON_DEFAULT_URL */
	const char *key_file;  /* --api-key-file, else env NEON_API_KEY */
	double rate;           /* --rate, requests per second; 0: the client's default */
	int64_t lock_wait_ms;  /* how long a 423 is waited out (apply: --op-timeout); 0: default */
	/* the daemon's request metrics (neon_options.on_attempt), or NULL */
	void (*on_attempt)(void *arg, const char *route, int status);
	void *on_attempt_arg;
} cli_api;

/*
 * Make the API client. The key is read from the file or the environment
 * and never printed; the process is then made non-dumpable, so no core
 * file carries it. EXIT_OK, or EXIT_ERROR after printing why.
 */
int cli_client_open(const char *cmd, const cli_api *api, neon_client **out);
/* Open the state file (--state, default STATE_DEFAULT_PATH). */
int cli_state_open(const char *cmd, const char *path, state **out);
/* The parse cache of a state file for spec_fleet_load_cached (pcache.c):
 * bulk (a whole fleet): read in one scan on first use, then looked up in
 * memory; else one query a blob. */
typedef struct cli_pcache cli_pcache;
cli_pcache *cli_pcache_new(state *st, bool bulk);
/* Wait until every new entry is in the table (bulk mode writes them from a
 * thread); the first failure's code, with err_msg. Run it before committing
 * the transaction the entries go in. Free flushes too. */
int cli_pcache_flush(cli_pcache *c);
const spec_cache *cli_pcache_spec(cli_pcache *c);
void cli_pcache_free(cli_pcache *c);

/* strcmp for qsort over an array of strings. */
int cli_str_cmp(const void *a, const void *b);
/* Write a TCP port to FILE whole (a temporary file, then rename), for a
 * test or a supervisor to find a port 0 server. */
int cli_write_port_file(const char *path, int port) WUR;

/* "3m", "2h5m", "never" for a unix time in the past. */
void cli_age(int64_t since, char out[32]);

/* ------------------------------------------------------- refresh passes */

typedef struct refresh_stats {
	int64_t projects, list_calls;
	size_t gone;                 /* dropped: Neon no longer lists them */
	int64_t unavailable;         /* named by a page as unavailable (details timed out) */
	int64_t unavailable_read;    /* of those, read one by one by id */
	int64_t incomplete;          /* of those, still unread: the list is incomplete */
	int64_t deep_done, deep_failed;
	char first_error[600];
} refresh_stats;

/* The list pass (refresh.c): every project into the cache, the projects a
 * page named unavailable read one by one. 0, or -1 after printing why as
 * `cmd`. A list that stays incomplete (out->incomplete > 0) returns 0 but
 * removes nothing from the cache and leaves the state file marked
 * incomplete (state_refresh_incomplete): the caller says so, and plans
 * create nothing until a list completes. */
int refresh_list(state *st, neon_client *c, const char *cmd, refresh_stats *out);
/* The deep pass of the given projects; fn (may be NULL) sees each result
 * that was cached. 0, or -1 when the client itself failed; per-project
 * failures are counted in out. */
typedef void (*refresh_deep_fn)(void *arg, const char *project_id, const neon_project_deep *d);
int refresh_deep(state *st, neon_client *c, const char *cmd, char *const *ids, size_t n, refresh_deep_fn fn,
		 void *arg, refresh_stats *out);

/* Identity before every create, against Neon (verify.c): the names p
 * creates are searched (or the fleet listed again, or nothing when this
 * run listed it: `listed`), the projects found are read into the cache,
 * and the unmapped projects whose branches were never read are read
 * deep. *replan: the cache learned something, build the plan again.
 * 0, or -1 after printing why as `cmd` (nothing may be created then). */
int verify_creates(const char *cmd, state *st, neon_client *c, const plan *p, const char *prefix, bool listed,
		   bool verbose, bool *replan);
/* The pieces (verify.c, also adopt's): every project of these exact
 * names (searched, paged to the end) and extra_id (or NULL) read into the
 * cache when it lacks them; then every unmapped project never read deep,
 * read deep (counted in rs). 0, or -1 after printing why. */
typedef struct verify_found {
	int found, stored;   /* projects found by name; read into the cache */
	bool cut_short;      /* a search could not see everything: list instead */
	int64_t calls;
} verify_found;
int verify_fetch(const char *cmd, state *st, neon_client *c, char *const *names, size_t nnames,
		 const char *extra_id, verify_found *out);
int verify_read_unmapped(const char *cmd, state *st, neon_client *c, refresh_stats *rs, size_t *nread);

/* Cache what a write's response says, without a read (refresh.c): a new
 * project and its default branch, endpoints, databases and roles from a
 * POST /projects response (request: its body, for the annotations); a
 * project's own fields from a PATCH response's "project" (deep_current:
 * the PATCH left the deep state alone, state_project_put). */
int cache_store_created(state *st, const json_t *response, const json_t *request);
int cache_store_project(state *st, const json_t *project, bool deep_current);
/* One branch a write made, added to a project's cached deep state (its
 * annotations: the response's, else the request's). */
int cache_add_branch(state *st, const char *project_id, const json_t *branch, const json_t *annotations);
/* Read one project and its deep state back into the cache; done runs from
 * neon_run with 0, or an error code and message. */
void refresh_one_submit(state *st, neon_client *c, const char *project_id,
			void (*done)(void *arg, int rc, const char *error), void *arg);

/* ------------------------------------------------------------- executor */

typedef enum { EXEC_PENDING, EXEC_OK, EXEC_FAILED, EXEC_SKIPPED } exec_status;

typedef struct exec_outcome {
	char *tenant;
	plan_kind kind;
	exec_status status;
	char *error;           /* failed or skipped: why (never a secret) */
	char request_id[64];   /* the failed request's X-Request-Id */
	int64_t latency_ms;    /* a create: first request sent -> operations finished */
} exec_outcome;

typedef struct exec_summary {
	exec_outcome *v;       /* the tenants acted on (create, update, delete), plan order */
	size_t n;
	size_t ok, failed, skipped, blocked;
	int64_t writes, polls, lookups, readbacks, resent, adopted;
	int64_t secrets_saved, secrets_dropped;
	bool stopped;          /* a failure without --continue-on-error: the rest not started */
} exec_summary;

typedef struct exec_opts {
	int parallel;              /* tenants at once */
	int64_t op_timeout_ms;     /* one call's operations */
	bool continue_on_error;
	const char *secrets_dir;   /* NULL: new secrets are dropped (counted) */
	int64_t run_id;
	const char *fleet;
	bool json_events;          /* JSON-lines events on stdout */
	const char *lease;         /* a lease the run holds: renewed as it goes, or NULL */
	/* or NULL: once *stop is set (a signal), no tenant starts, and a job
	 * still waiting for operations stop_grace_ms later ends as failed
	 * (its journal row stays unfinished; the next run settles it) */
	volatile sig_atomic_t *stop;
	int64_t stop_grace_ms;
	/* or NULL: told how many tenants have work in flight, as it changes
	 * (the daemon's flotilla_operations_in_flight) */
	void (*on_active)(void *arg, size_t active);
	void *active_arg;
	/* non-NULL: do not act on this tenant, for this reason (a stale plan) */
	const char *(*skip)(void *arg, const plan_action *a);
	void *skip_arg;
} exec_opts;

/*
 * Make the plan's calls (executor.c): creates, updates and deletes, one job
 * per tenant, `parallel` at once, each waiting for its operations between
 * calls; journaled; the tenant map and the cache kept up to date. Returns 0
 * (per-tenant failures are in out), or ERR_FAIL when the client failed.
 */
int exec_apply(neon_client *c, state *st, const plan *p, const exec_opts *o, exec_summary *out);
void exec_summary_release(exec_summary *s);

/* Settle what earlier runs left unfinished in the journal (resume.c): a
 * create with an unknown outcome is looked up by name and adopted, or
 * found not to have run; the projects touched are read back. ERR_CONFLICT
 * when a name matches several projects (nothing is created then). */
typedef struct resume_stats {
	int64_t resolved, mapped, adopted, absent;
	int64_t uncached; /* mapped tenants whose project was read into the cache */
} resume_stats;
int resume_run(state *st, neon_client *c, const char *fleet, resume_stats *out);

/* Write a tenant's new secrets to DIR/<tenant>.json, mode 0600, whole or
 * not at all (secrets.c; docs/operations.md gives the format). */
int secrets_write(const char *dir, const char *tenant, const json_t *secrets);
/* Before a run: the directory exists (or is made 0700) and is not open to
 * others. */
int secrets_check_dir(const char *dir);

/* ------------------------------------------------------- loading a fleet */

typedef struct fleet_load {
	spec_fleet *fleet;
	spec_load_stats stats;
	bool partial;          /* only flotilla.yaml, profiles and changed files */
	char **only;           /* with a base: the tenants to consider, sorted */
	size_t nonly;
	size_t changed_files;  /* with a base: paths changed since it */
	char base[41];         /* the base commit, or "" */
} fleet_load;

/*
 * Load the fleet at g's commit through the state file's parse cache
 * (incremental.c). since (a commit-ish, or NULL): consider only the
 * tenants changed since it, loading only the changed files when the
 * manifest index allows. Problems go to diags (then nothing else is set
 * but fleet). Returns 0, or an error code with err_msg.
 */
int fleet_load_commit(fleet_load *l, source_repo *g, state *st, const char *since, spec_diags *diags);
void fleet_load_release(fleet_load *l);

/* ---------------------------------------------------------- making a plan */

typedef struct plan_req {
	const char *repo, *ref;   /* the commit */
	const char *mode;         /* --refresh: auto, full or none */
	const char *select;       /* or NULL */
	const char *since;        /* --changed-since (a commit-ish or last-applied), or NULL */
	bool verbose;
	int64_t max_deletes;      /* above 0: --max-deletes */
	/* or NULL: runs once the fleet is loaded, before the refresh (apply
	 * settles an earlier run there); nonzero stops (already printed) */
	int (*before_refresh)(void *arg, const spec_fleet *f);
	void *hook_arg;
	/* or NULL: consider only these tenants (sorted; the daemon's drift
	 * slice), whatever --changed-since would pick */
	const char *const *only;
	size_t nonly;
} plan_req;

typedef struct planning {
	source_repo *g;
	fleet_load fl;
	plan_selector *sel;
	spec_diags *diags;
	char *last_applied;
	plan *p;
} planning;

/* Load, refresh (client NULL: no API call) and compare (planning.c).
 * EXIT_OK with out->p, or EXIT_ERROR after printing why as `cmd`. Release
 * out either way. */
int planning_run(const char *cmd, const plan_req *rq, state *st, neon_client *client, planning *out);
/* Only the load (the first half of planning_run): out->g, out->fl,
 * out->sel; no plan. Same contract. */
int planning_load(const char *cmd, const plan_req *rq, state *st, planning *out);
void planning_release(planning *pl);

/* Take the state file's "fleet" lease, waiting up to wait_s seconds for a
 * live holder; on failure print who holds it (pid, host, since) and
 * `hint`. EXIT_OK or EXIT_ERROR. */
/* Long enough for a plan's refresh of 300,000 projects before apply
 * starts renewing it (every TTL/4); a holder that died on this host is
 * taken over at once, one on another host after the TTL or unlock. */
#define CLI_LEASE_TTL 600
int cli_lease_take(const char *cmd, state *st, int64_t wait_s, const char *hint);

/* ------------------------------------------------------------- progress */

typedef struct progress {
	const char *label;
	int64_t total;       /* 0: unknown */
	int64_t done;
	bool tty;
	int64_t start_ms, last_ms;
	double eta_s;        /* above 0: the caller's estimate (apply's, from the rate budget) */
} progress;

void progress_start(progress *p, const char *label, int64_t total);
void progress_update(progress *p, int64_t done);
void progress_end(progress *p);

/* Print "flotilla CMD: message" on stderr; returns EXIT_ERROR. */
int cli_fail(const char *cmd, const char *fmt, ...) PRINTF(2, 3);
/* Ask `question` on stderr; true only for a line "yes" on stdin. */
bool cli_confirm(const char *question);
/* True when argv holds -h or --help (before any "--"). */
bool cli_wants_help(int argc, char **argv);
/* Load the fleet in manifest directory `dir`; problems of the manifests go
 * to `diags`. EXIT_OK with *fleet set, or EXIT_ERROR after printing why the
 * directory could not be read. */
int cli_load_dir(const char *cmd, const char *dir, spec_fleet **fleet, spec_diags *diags);
/* The same from a commit of a git repository (`ref` NULL: HEAD), without a
 * checkout; the commit's sha goes into `sha`. */
int cli_load_repo(const char *cmd, const char *repo, const char *ref, spec_fleet **fleet, spec_diags *diags,
		  char sha[41]);


/* ------------------------------------------------ daemon: metrics and HTTP */

/*
 * metrics.c: counters and gauges with labels, rendered in the Prometheus
 * text exposition format (version 0.0.4). Thread-safe (one mutex): the
 * daemon's loop updates, the HTTP threads render.
 */
typedef struct metrics metrics;
metrics *metrics_new(void);
void metrics_free(metrics *m);
/* Declare a family once: type "counter", "gauge", "untyped" or "info" (an
 * info is a gauge whose value is 1 and whose labels carry the data; it
 * renders as TYPE gauge), and its HELP text. A later declaration of the
 * same name is ignored. A bad name or type is a programming error: abort. */
void metrics_declare(metrics *m, const char *name, const char *type, const char *help);
/*
 * labels: NULL, or a Prometheus label set body like
 * `route="GET /projects",status="200"` (the caller escapes values with
 * metrics_label_escape). set replaces, add adds; on an info family both
 * store 1. Label order does not matter (sets are kept sorted by name). An
 * update with a malformed label set, or one that would give a family more
 * than 10,000 series, is dropped; an undeclared name is declared untyped.
 */
void metrics_set(metrics *m, const char *name, const char *labels, double v);
void metrics_add(metrics *m, const char *name, const char *labels, double delta);
/* Drop every series of a family (e.g. the info metric before setting the
 * new commit); the family itself stays declared. */
void metrics_clear(metrics *m, const char *name);
/* Escape a label value (backslash, double quote, newline) into a new heap
 * string the caller frees. */
char *metrics_label_escape(const char *value);
/* Append the exposition to out: # HELP and # TYPE per family, families in
 * declaration order, series sorted by labels. ERR_TOOBIG past out->max. */
int metrics_render(metrics *m, buf *out) WUR;

/*
 * httpd.c: the daemon's HTTP server (libmicrohttpd, a thread per
 * connection), on --listen HOST:PORT.
 *   GET  /metrics     metrics_render, Content-Type text/plain; version=0.0.4
 *   GET  /healthz     200 "ok\n" while the process runs
 *   GET  /readyz      200 "ready\n", or 503 with the reasons the ready callback wrote
 *   POST /hooks/git   GitHub-style webhook: X-Hub-Signature-256 "sha256=<hex>" is
 *                     HMAC-SHA256 of the raw body with the secret, verified in
 *                     constant time; missing or bad -> 401 and no callback; body
 *                     larger than 1 MiB -> 413; no secret configured -> 404;
 *                     valid -> 202 and hook(arg, X-GitHub-Event header or "",
 *                     body, len) is called (body NUL-terminated, borrowed for
 *                     the call).
 *   anything else     404 (405 for a wrong method on a known path; GET paths
 *                     also answer HEAD)
 * It binds only the given address (IPv4, [IPv6] or "localhost"); no TLS (put
 * a proxy in front). Nothing is logged, and the secret never leaves memory
 * that is wiped when replaced or freed.
 *
 * ready and hook run on libmicrohttpd's threads, possibly several at once:
 * ready must only read state the daemon publishes thread-safely, and hook
 * must only signal the daemon's loop (set a flag, write a pipe), never
 * fetch or apply itself.
 */
typedef struct httpd httpd;
typedef struct httpd_opts {
	const char *listen;          /* "127.0.0.1:9464"; port 0 picks one */
	metrics *m;                  /* borrowed; NULL renders an empty page */
	bool (*ready)(void *arg, buf *why);   /* false: not ready, reasons in why; NULL: always ready */
	void (*hook)(void *arg, const char *event, const char *body, size_t len);
	void *arg;
	const char *webhook_secret;  /* copied; NULL or "": /hooks/git answers 404 */
} httpd_opts;
/* Start serving; *port (when port is not NULL) gets the bound port.
 * ERR_INVALID for a listen address that does not parse, ERR_IO naming the
 * address when it cannot be bound. */
int httpd_start(httpd **out, const httpd_opts *o, int *port) WUR;
/* Replace the webhook secret (SIGHUP re-reads its file); NULL or ""
 * disables the hook. The old copy is wiped. Thread-safe. */
void httpd_set_secret(httpd *h, const char *secret);
/* Stop serving (waits for requests in progress) and free; NULL is fine. */
void httpd_stop(httpd *h);
/*
 * Read a webhook secret file: first line, spaces and tabs trimmed. The file
 * must not be readable by its group or others (ERR_INVALID naming the
 * mode, like neon_key_load for the API key); ERR_IO when it cannot be read,
 * ERR_INVALID when empty or its first line is longer than 4096 bytes. *out
 * is heap memory; free it with httpd_secret_free, which wipes it first.
 */
int httpd_secret_load(const char *path, char **out) WUR;
void httpd_secret_free(char *secret);

#endif
