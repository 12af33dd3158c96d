/*
 * internal.h: what engine/'s files share (never included from another
 * folder): the reporting helpers (report.c), and the executor's run, its
 * jobs, and the helpers the unknown-outcome and placeholder code use.
 *   report.c        notes, log events, JSON events and progress out
 *                   through the installed reporter
 *   executor.c      the loop: jobs, calls, operations, the cache after
 *   placeholders.c  "{project_id}", "{branch_id:NAME}" filled from responses
 *   unknown.c       what became of a write whose outcome is unknown
 */
#ifndef FLOTILLA_ENGINE_INTERNAL_H
#define FLOTILLA_ENGINE_INTERNAL_H

#include "engine/engine.h"

/* ------------------------------------------------------------ reporting */

/* A sentence for the person running the command (the command prefixes
 * its name). */
void engine__note(const char *fmt, ...) PRINTF(1, 2);
/* A log event; fields are key, value, …, ended by NULL (the macros add it). */
void engine__log(log_level lvl, const char *msg, ...) __attribute__((sentinel));
#define engine__warn(...) engine__log(LOG_WARN, __VA_ARGS__, (const char *)NULL)
#define engine__error(...) engine__log(LOG_ERROR, __VA_ARGS__, (const char *)NULL)
/* One line of apply's JSON event stream. */
void engine__json(const char *line);

/* Progress of one long piece of work (the reporter throttles drawing). */
/* projects a consumption call reads (usage.c, the sweep's usage tier) */
#define USAGE_BATCH 100

typedef struct engine__progress {
	const char *label;
	int64_t total, done;
	double eta_s;
} engine__progress;
void engine__progress_start(engine__progress *p, const char *label, int64_t total);
void engine__progress_update(engine__progress *p, int64_t done);
void engine__progress_end(engine__progress *p);

/* ------------------------------------------------------------- executor */

#define POLL_FIRST_MS 100
#define POLL_MAX_MS 5000
/* A tenant's last write: no later write of its project waits on its
 * operations, so they are polled first this long after the response (in
 * Neon most finish within it: one poll), the job's slot given to the next
 * tenant meanwhile; then with the back-off, doubling from here. */
#define POLL_SETTLE_MS 1500
/* operations per poll of a project's list (newest first) */
#define POLL_PAGE 50
#define MAX_RESENDS 2

typedef struct job job;

typedef struct executor {
	neon_client *c;
	state *st;
	const plan *p;
	const exec_opts *o;
	exec_summary *sum;
	size_t next;        /* the next action to start */
	size_t active;      /* jobs holding a `parallel` slot */
	size_t settling;    /* jobs past their last write, its operations polled */
	bool stop;          /* a failure without --continue-on-error */
	engine__progress prog;
	int64_t done;
	int64_t renewed_ms;  /* the lease's last renewal */
	int64_t requests0;   /* the client's request count when the run began */
	int64_t stop_ms;     /* when a stop was first seen, or 0 */
} executor;

struct job {
	executor *x;
	const plan_action *a;
	exec_outcome *out;
	plan_calls calls;
	size_t step;
	int resends;         /* of the current call after an unknown outcome */
	char *project_id;
	char **bnames, **bids; /* branch name -> id, learned from responses */
	size_t nbranches;
	int64_t journal_id;
	json_t *created;     /* the POST /projects response, for the cache */
	bool mapped;         /* an adopt: the tenant is mapped */
	json_t *marked;      /* an adopt: the owner branch's POST response */
	json_t **bodies;     /* each call's response, in call order (NULL: none yet) */
	char **ops;          /* the current call's operations still to finish */
	size_t nops;
	int64_t poll_delay, poll_deadline;
	/* an awaited operation was not on a full page of the list (a busy
	 * project's newer operations pushed it off): the next poll reads it by
	 * id; -1 when the list will do */
	long poll_by_id;
	/* past the last write: holds no slot (executor.settling counts it) */
	bool settling;
	int64_t resp_ms;     /* the current call's response came */
	int64_t ops_ms;      /* the longest total_duration_ms of its operations */
	int64_t settled_ms;  /* the last write's operations ended (estimated), or 0 */
	int64_t started_ms;
	json_t *secrets;     /* this run's new passwords and URIs, or NULL */
	int64_t nsecrets;    /* how many of them were counted already */
};

/* A JSON-lines event (--format json). */
void engine__emit(const executor *x, const char *event, const job *j, const char *detail);
/* The job is over: its outcome, the next job started; j is freed. */
void engine__job_end(job *j, exec_status status, const char *error, const char *request_id);
/* Make the job's current call (or finish the job after its last). */
void engine__do_step(job *j);

/* Placeholders filled from what the job learned; NULL with *why when one
 * names something not created yet. */
char *engine__fill(job *j, const char *s, const char **why);
/* Backup schedules in apply (backups.c): is `path` (filled or not) a
 * branch's backup_schedule; and cache the schedule PUT c set. */
bool engine__schedule_path(const char *path);
void engine__schedule_written(job *j, const plan_call *c);
void engine__schedule_refused(job *j, const plan_call *c, const char *message);
json_t *engine__fill_json(job *j, const json_t *v, const char **why);
/* Remember a branch's id by name (from a response). */
void engine__learn_branch(job *j, const json_t *br);
/* A query value, percent-encoded (heap). */
char *engine__query_escape(const char *s);

/* Unknown outcomes (unknown.c): a create looked up by name (adopted, or
 * sent again); a named role, database or branch read back (false: a call
 * that cannot be settled so). */
void engine__lookup_create(job *j);
bool engine__probe(job *j);

#endif
