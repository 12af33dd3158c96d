/*
 * engine.h: the one header of engine/, the part of flotilla that makes
 * and carries out plans: loading a fleet through the parse cache and the
 * manifest index, refreshing the cache from Neon, checking creates
 * against Neon, the executor with its journal, placeholders and unknown
 * outcomes, resuming what an earlier run left, and new secrets.
 *
 * The engine never prints and never exits. Failures come back as error
 * codes with err_msg (util.h); what a person should see on the way (notes,
 * warnings, apply's JSON events, progress of long work) goes to the
 * reporter a command installs (engine_set_reporter). The commands of
 * reconciler/ choose the words around it and the exit code.
 */
#ifndef FLOTILLA_ENGINE_H
#define FLOTILLA_ENGINE_H

#include <signal.h>

#include "diff/diff.h"
#include "neon/neon.h"
#include "source/source.h"
#include "spec/spec.h"
#include "state/state.h"
#include "util/util.h"

/* ------------------------------------------------------------ reporting */

typedef enum {
	ENGINE_NOTE, /* a sentence for the person running the command (stderr) */
	ENGINE_LOG,  /* a log event: level, message and fields */
	ENGINE_JSON, /* one JSON object of apply's --format json event stream (stdout) */
} engine_event_kind;

typedef struct engine_event {
	engine_event_kind kind;
	log_level level;           /* ENGINE_LOG */
	const char *msg;
	const char *const *fields; /* ENGINE_LOG: key, value, …, NULL; else NULL */
} engine_event;

typedef enum { ENGINE_PROGRESS_START, ENGINE_PROGRESS_UPDATE, ENGINE_PROGRESS_END } engine_progress_phase;

typedef struct engine_progress {
	engine_progress_phase phase;
	const char *label;  /* "refresh: projects listed" */
	int64_t total;      /* 0: unknown */
	int64_t done;
	double eta_s;       /* above 0: the engine's estimate (apply's, from the rate budget) */
} engine_progress;

/*
 * Where the engine's reports go: one reporter a process (like libgit2's
 * git_trace_set), installed by the command before it calls the engine.
 * Both callbacks may be NULL; with no reporter everything is dropped.
 * They run on the thread that called the engine. The struct is copied.
 */
typedef struct engine_reporter {
	void (*event)(void *arg, const engine_event *e);
	void (*progress)(void *arg, const engine_progress *p);
	void *arg;
} engine_reporter;
void engine_set_reporter(const engine_reporter *r);

/* How long a run's lease on the state file lasts (apply renews it every
 * quarter of it). Long enough for a plan's refresh of 300,000 projects
 * before apply starts renewing it; a holder that died on this host is
 * taken over at once, one on another host after the TTL or unlock. */
#define ENGINE_LEASE_TTL 600

/* ---------------------------------------------------------- parse cache */

/* The parse cache of a state file for spec_fleet_load_cached (pcache.c):
 * bulk (a whole fleet): read in one scan on first use, then looked up in
 * memory; else one query a blob. */
typedef struct pcache pcache;
pcache *pcache_new(state *st, bool bulk);
/* Write the new entries (bulk mode: from a thread with its own connection
 * to the state file, so the caller goes on at once; else on the caller's
 * connection, now); the first failure's code, with err_msg. Run it after
 * the caller's own write transaction is committed. */
int pcache_flush(pcache *c);
/* Wait until the entries pcache_flush writes are in the table (or failed:
 * the code, with err_msg). Free waits too. */
int pcache_wait(pcache *c);
const spec_cache *pcache_spec(pcache *c);
void pcache_free(pcache *c);


/* ------------------------------------------------------- refresh passes */

typedef struct refresh_stats {
	int64_t projects, list_calls;
	size_t gone;                 /* dropped: Neon no longer lists them */
	int64_t unavailable;         /* named by a page as unavailable (details timed out) */
	int64_t unavailable_read;    /* of those, read one by one by id */
	int64_t incomplete;          /* of those, still unread: the list is incomplete */
	int64_t deep_done, deep_failed;
	int64_t deep_gone;           /* read deep, found deleted since the list: dropped */
	char first_error[600];
} refresh_stats;

/* The list pass (refresh.c): every project into the cache, the projects a
 * page named unavailable read one by one. 0, or an error code with
 * err_msg. A list that stays incomplete (out->incomplete > 0) returns 0 but
 * removes nothing from the cache and leaves the state file marked
 * incomplete (state_refresh_incomplete): the caller says so, and plans
 * create nothing until a list completes. */
int refresh_list(state *st, neon_client *c, refresh_stats *out);
/* The deep pass of the given projects; fn (may be NULL) sees each result
 * that was cached. 0, or -1 when the client itself failed; per-project
 * failures are counted in out. A project a part of whose read was not
 * found (404) is looked up once more (GET /projects/{id}): deleted since
 * the list, it is dropped from the cache as a list would drop it (counted
 * in out->deep_gone, not a failure); otherwise it failed. */
typedef void (*refresh_deep_fn)(void *arg, const char *project_id, const neon_project_deep *d);
int refresh_deep(state *st, neon_client *c, char *const *ids, size_t n, refresh_deep_fn fn,
		 void *arg, refresh_stats *out);

/* Backup schedules (backups.c): the default branch's schedule of each of
 * the given projects (read deep already), one GET each, into the cache;
 * failures are counted in out->deep_failed. engine_backups_want: should a
 * deep read of a tenant's project read its schedule too (*read: its
 * manifest declares one, or its cached one is not empty), and is a deep
 * read due for it (*never_read: it declares one that was never read)?
 * engine_backups_declared: does the tenant's merged spec declare one? */
int refresh_backups(state *st, neon_client *c, char *const *ids, size_t n, refresh_stats *out);
/* The same for those of ids whose cached schedule is not empty (the
 * daemon's drift sweep, which has no fleet at hand: a schedule flotilla
 * set is watched; one added by hand to a tenant without one is not). */
int refresh_backups_known(state *st, neon_client *c, char *const *ids, size_t n, refresh_stats *out);
int engine_backups_want(state *st, bool declared, const char *project_id, bool *read, bool *never_read) WUR;
bool engine_backups_declared(const spec_fleet *f, const char *tenant);

/* Read deep every mapped tenant's project (refresh --full, rebuild.c);
 * *n: how many. 0, or an error code with err_msg (per-project failures
 * are counted in rs). */
int refresh_managed(state *st, neon_client *c, refresh_stats *rs, size_t *n);
/* Recover the tenant map of an empty state file from Neon (rebuild.c):
 * every cached project named prefix + a valid tenant name is read deep;
 * one marked for `fleet` (its default branch's annotations, or its
 * flotilla-owner branch's) is mapped to its tenant unless another claims
 * the same tenant or it was forgotten (flotilla state forget). Every
 * project left alone gets a line in out->left with the reason (no marks,
 * another fleet's, two claimants, forgotten) and the adopt
 * command where one applies. 0, or an error code with err_msg. */
typedef struct rebuild_result {
	size_t candidates;              /* projects read deep */
	int64_t mapped, other_fleet, unannotated;
	int64_t forgotten;              /* marked for the fleet, but forgotten (state forget) */
	char **left;                    /* one line per project left alone, and why */
	size_t nleft;
} rebuild_result;
int rebuild_map(state *st, neon_client *c, const char *fleet, const char *prefix, refresh_stats *rs,
		rebuild_result *out);
void rebuild_result_release(rebuild_result *r);

/* Identity before every create, against Neon (verify.c): the names p
 * creates are searched (or the fleet listed again, or nothing when this
 * run listed it: `listed`), the projects found are read into the cache,
 * and the unmapped projects whose branches were never read are read
 * deep. *replan: the cache learned something, build the plan again.
 * 0, or an error code with err_msg (nothing may be created then). */
int verify_creates(state *st, neon_client *c, const plan *p, const char *prefix, bool listed,
		   bool verbose, bool *replan);
/* The pieces (verify.c, also adopt's): every project of these exact
 * names (searched, paged to the end) and extra_id (or NULL) read into the
 * cache when it lacks them; then every unmapped project never read deep,
 * read deep (counted in rs). 0, or an error code with err_msg. */
typedef struct verify_found {
	int found, stored;   /* projects found by name; read into the cache */
	bool cut_short;      /* a search could not see everything: list instead */
	int64_t calls;
} verify_found;
int verify_fetch(state *st, neon_client *c, char *const *names, size_t nnames,
		 const char *extra_id, verify_found *out);
int verify_read_unmapped(state *st, neon_client *c, refresh_stats *rs, size_t *nread);

/* Cache what a write's response says, without a read (refresh.c): a new
 * project and its default branch, endpoints, databases and roles from a
 * POST /projects response (request: its body, for the annotations); a
 * project's own fields from a PATCH response's "project" (deep_current:
 * the PATCH left the deep state alone, state_project_put). */
int cache_store_created(state *st, const json_t *response, const json_t *request);
int cache_store_project(state *st, const json_t *project, bool deep_current);
/* A tenant's writes folded into its project's cached deep state from
 * their responses (bodies[i] is calls->v[i]'s, NULL: none), recorded as a
 * deep read: a project PATCH's project (alone, only the project is stored
 * and its deep read stays current; with children, the deep read must
 * exist), an endpoint PATCH's endpoint, a
 * role or database POST's object. ERR_INVALID, with nothing written, when
 * a call is of another kind or its response lacks what the cache keeps:
 * the caller reads the project back instead. */
int cache_apply_writes(state *st, const char *project_id, const plan_calls *calls, json_t *const *bodies);
/* One branch a write made, added to a project's cached deep state (its
 * annotations: the response's, else the request's). */
int cache_add_branch(state *st, const char *project_id, const json_t *branch, const json_t *annotations);
/* Read one project and its deep state back into the cache; done runs from
 * neon_run with 0, or an error code and message. */
void refresh_one_submit(state *st, neon_client *c, const char *project_id,
			void (*done)(void *arg, int rc, const char *error), void *arg);

/* ---------------------------------------------------------- restore (restore.c) */

/* A tenant's branch restored (flotilla restore); strings borrowed. */
typedef struct restore_req {
	int64_t run_id;                      /* the journal's run */
	const char *tenant, *project_id;
	const char *branch_id;               /* the branch restored */
	const char *source_branch_id;        /* its own id: a point of its own history */
	const char *lsn, *timestamp;         /* the point: one of them */
	const char *preserve_as;             /* the pre-restore state's name */
	const char *expires_at;              /* the preserved branch's expiry, or NULL */
	/* a snapshot restore instead of a point (lsn, timestamp NULL): the
	 * snapshot goes into a new branch named `staging`, which finalizing
	 * then swaps in (branch_id renamed preserve_as); staged_id: that
	 * branch, already made by an earlier run (its finalize not done) */
	const char *snapshot_id, *staging, *staged_id;
} restore_req;

typedef struct restore_result {
	bool restored, expiry_set;
	char *preserved_id;                  /* heap, or NULL */
	char *restored_id;                   /* a snapshot restore's new branch: heap, or NULL */
	char *read_back_error;               /* the read-back after it failed: heap, or NULL */
} restore_result;

/*
 * Restore, journaled (intent, ids, outcome), wait for its operations, set
 * the preserved branch's expiry when asked (journaled too), then read the
 * project back into the cache. 0, or the failed step's code with err_msg
 * (ERR_NOTFOUND, ERR_CONFLICT: the name is taken, ERR_UNKNOWN_OUTCOME, …);
 * *out says what ran either way: restore_result_release.
 */
int restore_run(state *st, neon_client *c, const restore_req *rq, restore_result *out) WUR;
void restore_result_release(restore_result *r);

/* What became of the tenant's restores an earlier run left unfinished (its
 * answer lost, a crash): the project is read back, and each such row is
 * resolved: it ran when its preserved branch is there (Neon makes it with
 * the restore; a snapshot's restore, when its staging branch is; its
 * finalize, when the preserved name is). *out describes the newest of them (journal_id 0: none was
 * unfinished); restore_settled_release. */
enum { RESTORE_POINT, RESTORE_SNAPSHOT, RESTORE_FINALIZE };
typedef struct restore_settled {
	int64_t journal_id;
	int kind;                            /* which write: RESTORE_* */
	bool ran;
	char *branch_id, *point, *preserved, *preserved_id; /* heap, or NULL; preserved: a snapshot
							     * restore's staging branch name */
	char *snapshot_id, *staged_id;       /* a snapshot's: heap, or NULL */
} restore_settled;
int restore_settle(state *st, neon_client *c, const char *tenant, const char *project_id, restore_settled *out) WUR;
void restore_settled_release(restore_settled *s);
/* Only the preserved branch's expiry (rq->expires_at), journaled: for a
 * restore that restore_settle found had run. */
int restore_expiry(state *st, neon_client *c, const restore_req *rq, const char *preserved_id) WUR;

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

/* What converged, by kind, and how long creates took to provision
 * (request sent -> operations finished) (apply.c). */
typedef struct exec_counts {
	size_t created, updated, deleted; /* adopted tenants count as updated */
	size_t provisioned;               /* creates with a latency */
	int64_t p50_ms, p99_ms, max_ms;
} exec_counts;
void exec_summary_counts(const exec_summary *s, exec_counts *out);
/* The run's summary as one JSON object ("event": "summary", the counts,
 * provisioning latency and the problems), a new string to free. */
char *exec_summary_json(const exec_summary *s, const plan *p);

/* Before a saved plan acts (apply.c): each tenant it would change read
 * again (a fingerprint that moved makes it stale), each create's name
 * searched (a project of that name, or a search that could not see
 * everything, makes it stale). stale: tenant -> reason, static strings.
 * 0, or the client's error code. */
int planfile_check(state *st, neon_client *c, const plan *p, strmap *stale);
/* exec_opts.skip for a map that planfile_check filled. */
const char *planfile_skip(void *stale, const plan_action *a);
/* After an apply: remember each mapped tenant's protect flag as its
 * manifest says now, so a delete stays refused once the manifest is
 * removed (a tenant whose manifest is gone keeps its last flag); and,
 * when the plan covered everything not applied yet (the whole fleet, or
 * every change since the last applied commit), record its commit for
 * --changed-since last-applied. Failures are reported as warnings. */
void apply_record_protect(state *st, const spec_fleet *f);
void apply_record_commit(state *st, const plan *p);

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
	pcache *pc;            /* the parse cache, maybe still writing */
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

/* What a drift comparison found that was not known: tenants newly drifted
 * (each logged with its fields), the first SYNC_NEWS_NAMES of them named. */
#define SYNC_NEWS_NAMES 5
typedef struct sync_news {
	size_t drifted;
	char names[SYNC_NEWS_NAMES][80];
} sync_news;

typedef struct plan_req {
	const char *repo, *ref;   /* the commit */
	const char *mode;         /* --refresh: auto, full or none */
	const char *select;       /* or NULL */
	const char *since;        /* --changed-since (a commit-ish or last-applied), or NULL */
	bool verbose;
	int64_t max_deletes;      /* above 0: --max-deletes */
	/* or NULL: runs once the fleet is loaded, before the refresh (apply
	 * settles an earlier run there); an error code (with err_msg) stops */
	int (*before_refresh)(void *arg, const spec_fleet *f);
	void *hook_arg;
	/* or NULL: consider only these tenants (sorted; the daemon's drift
	 * slice), whatever --changed-since would pick */
	const char *const *only;
	size_t nonly;
	/* record the tenants' sync states from the plan (sync.c): as a plan
	 * (changes are out-of-sync) or as the drift sweep (drifted) */
	enum { PLAN_RECORD_NONE, PLAN_RECORD_PLAN, PLAN_RECORD_DRIFT } record;
} plan_req;

typedef struct planning {
	sync_news news;           /* with rq->record: what the recording found */
	source_repo *g;
	fleet_load fl;
	plan_selector *sel;
	spec_diags *diags;
	char *last_applied;
	plan *p;
} planning;

/*
 * sync.c: each tenant's sync state in the state file (state_sync_*), from
 * what a plan found (planning_run with rq->record), what an apply did, and
 * what the drift sweep saw. `whole`: the plan judged every tenant of the
 * fleet, so rows of tenants it did not name are cleared.
 */
int sync_record_plan(state *st, const plan *p, bool drift, bool whole, sync_news *news) WUR;
/* Around exec_apply: the tenants it acts on are "applying", then synced,
 * failed, or out-of-sync again (skipped, or never started). */
int sync_record_applying(state *st, const plan *p) WUR;
int sync_record_applied(state *st, const plan *p, const exec_summary *sum) WUR;

/*
 * status.c: the status document (JSON, version 1; docs/daemon.md "Status
 * page") from the state file alone: counts by sync state, the tenants not
 * synced (worst first, at most max_tenants; 0: none listed), the applied
 * commit, the recent runs and the branches restores preserved. The caller decrefs *out.
 */
int status_document(state *st, size_t max_tenants, json_t **out) WUR;
/* One tenant: its sync state, reason, since, project and mapping.
 * ERR_NOTFOUND when the state file has neither a mapping nor a row. */
int status_tenant_document(state *st, const char *tenant, json_t **out) WUR;
/* The expires_at a restore's --cleanup-after set on preserved branch
 * branch_id of tenant, from the tenant's journal; "" when none. */
#define STATUS_EXPIRY_LEN 40
int status_preserved_expiry(state *st, const char *tenant, const char *branch_id, char at[STATUS_EXPIRY_LEN]) WUR;

/* What `flotilla state show` prints (status.c): status_tenant_document,
 * plus the rows behind it: "protect", "project_row" (the cached project,
 * every column), "deep" (branches, endpoints, databases and roles: names
 * and settings, never a password), "journal" (the tenant's last
 * journal_rows rows, oldest first) and "forgotten" (its state forget
 * records). A tenant that is only forgotten has state "forgotten".
 * ERR_NOTFOUND when the state has none of these for it. */
int status_rows_document(state *st, const char *tenant, size_t journal_rows, json_t **out) WUR;

/* Load, refresh (client NULL: no API call) and compare (planning.c).
 * 0 with out->p, or an error code with err_msg; when the manifests have
 * problems, out->diags holds them (the caller shows them first). Release
 * out either way. */
int planning_run(const plan_req *rq, state *st, neon_client *client, planning *out);
/* Only the load (the first half of planning_run): out->g, out->fl,
 * out->sel; no plan. Same contract. */
int planning_load(const plan_req *rq, state *st, planning *out);
void planning_release(planning *pl);
/* ERR_CONFLICT when the state file records another fleet than `fleet`
 * (the manifests `where`: "at 1a2b3c4", "in 'dir'"): a state file serves
 * one fleet. */
int planning_fleet_check(state *st, const char *fleet, const char *where);

/* ----------------------------------------------------------- drift sweep */

/*
 * The daemon's drift sweep (sweep.c), in two tiers: a list refresh every
 * list interval and every tenant compared after it, and deep reads of the
 * next tenants (paced) compared after them; both within a share of the
 * request budget, drifted tenants healed when the fleet says `drift: heal`.
 * A third tier reads the fleet's usage every usage interval, paced, from
 * the deep tier's part of the share while it runs. The sweep keeps its
 * allowances and cursors between steps.
 */
typedef struct sweep sweep;
typedef struct sweep_opts {
	const char *repo;       /* the manifests' repository (the daemon's cache) */
	double rate;            /* the client's requests a second */
	double budget;          /* the share of it the sweep may spend, above 0, at most 1 */
	int64_t interval_s;     /* the daemon's loop interval */
	int64_t list_interval_s; /* the list tier's, 0: as often as half the share allows (sweep.c) */
	int64_t usage_interval_s; /* the usage tier's, 0: off */
	int64_t deadline_ms;    /* monotonic: the next fetch; the sweep never delays it */
	const exec_opts *heal;  /* how drift is healed (fleet is set from the manifests) */
	/* or NULL: true when the sweep should stop reading now (a webhook, a signal) */
	bool (*interrupted)(void *arg);
	/* or NULL: wait ms for the pace; true when woken early (stop reading) */
	bool (*wait)(void *arg, int64_t ms);
	void *arg;
} sweep_opts;
typedef struct sweep_result {
	int64_t tenants;        /* mapped tenants */
	double sweep_s;         /* the deep tier's period over the whole fleet at this budget */
	double list_s;          /* the list tier's interval */
	bool size_changed;      /* the fleet's size differs from the last step's */
	bool listed;            /* a list refresh ran (the list tier) */
	bool list_compared;     /* and every tenant was compared after it */
	int64_t list_ms;        /* how long the list and its comparison took */
	int64_t incomplete;     /* of it: projects that stayed unread (see refresh_list) */
	char first_error[600];
	size_t reads;           /* tenants read deep */
	bool compared;          /* tenants were compared with the last applied commit */
	bool heal;              /* the fleet heals drift (else reports it) */
	size_t drifted;         /* tenants whose live state differs (both tiers) */
	sync_news news;         /* of them, the newly drifted (both tiers) */
	bool healed_run;        /* the heal ran */
	size_t healed, heal_failed;
	/* the usage tier: tenants whose usage was kept, its calls, whether a
	 * pass over the fleet ended (and when it began), and what stopped it
	 * (a refusal ends the pass; the next starts an interval later) */
	size_t usage_tenants;
	int64_t usage_calls;
	bool usage_pass_done;
	int64_t usage_pass_s;
	char usage_error[600];
} sweep_result;
sweep *sweep_new(void);
void sweep_free(sweep *s);
/* One step. 0, or an error code with err_msg (out holds what was done). */
int sweep_step(sweep *s, state *st, neon_client *c, const sweep_opts *o, sweep_result *out);

/* ------------------------------------------- recover (issue 17, item 4) */

/* A deleted project of a tenant, as recover_find found it. Heap strings. */
typedef struct recover_target {
	char *project_id, *name;
	char *deleted_at, *recoverable_until;  /* from the recoverable list, or NULL */
	bool from_journal;                     /* the journal's last delete of the tenant named it */
	int64_t deleted_by_flotilla_at;        /* that delete's time (unix s), 0 when not from the journal */
} recover_target;
void recover_target_release(recover_target *t);
/*
 * recover.c: the project to bring back for `tenant` (reads only):
 * project_id when given, else the one the tenant's last project delete in
 * the journal names; it must be in Neon's recoverable list. ERR_CONFLICT
 * when the tenant is mapped (it has a project: never a second one), the
 * project is mapped to another tenant, or it is live; ERR_NOTFOUND when
 * the journal names none and none was given, or Neon no longer has it
 * (past the recovery window); another code for a failed call. err_msg
 * says what to do.
 */
int recover_find(state *st, neon_client *c, const char *tenant, const char *project_id, recover_target *out) WUR;
/*
 * Recover t's project and map tenant to it in `fleet` (source "recover"),
 * the write journaled (run_id: the command's run), the project cached as
 * never read deep. 0; ERR_UNKNOWN_OUTCOME when the call may have run;
 * ERR_FAIL when Neon refused (its message); another code when the journal
 * or the map could not be written (then err_msg says how to go on).
 */
int recover_run(state *st, neon_client *c, int64_t run_id, const char *tenant, const char *fleet,
		const recover_target *t) WUR;

/* ------------------------------------------ idle tenants (issue 17, item 5) */

/* The daemon's idle buckets: tenants idle at least 7, 30 and 90 days. */
#define IDLE_NBUCKETS 3
extern const int64_t IDLE_BUCKET_SECONDS[IDLE_NBUCKETS];
extern const char *const IDLE_BUCKET_NAMES[IDLE_NBUCKETS];

/* A mapped tenant whose computes have not been active for a while. Heap
 * strings. */
typedef struct idle_tenant {
	char *tenant, *project_id;
	char *since;                /* compute_last_active_at, or created_at when never active */
	bool never_active;
	int64_t idle_seconds;       /* as of the report's time; 0 for a time after it */
	int64_t storage_bytes;      /* synthetic_storage_size, -1: not known */
	/* idle_costs: */
	double storage_cost_month;  /* storage_bytes kept a month, -1: not known */
	bool period_known;          /* a usage period was recorded for it */
	int64_t period_start;       /* its latest one (unix seconds) */
	double period_cost;         /* that period's cost */
} idle_tenant;

typedef struct idle_report {
	idle_tenant *v;             /* idle at least min_idle, most idle first (then by name) */
	size_t n, cap;
	int64_t buckets[IDLE_NBUCKETS]; /* tenants idle at least IDLE_BUCKET_SECONDS[k] */
	int64_t mapped;             /* mapped tenants looked at */
	int64_t unknown;            /* of those, without a cached project or a readable time */
} idle_report;
void idle_report_release(idle_report *r);
/*
 * idle.c: the mapped tenants idle as of `now` (unix seconds), from the
 * cache alone (no API call): a tenant's idle time runs from its project's
 * compute_last_active_at, or from its created_at when Neon shows no
 * activity (never active). Lists those idle at least min_idle (min_idle
 * < 0: none, counts only) and counts every bucket. 0, or a state error.
 */
int idle_scan(state *st, int64_t now, int64_t min_idle, idle_report *out) WUR;
/* What r's tenants cost at p (usage_cost): their storage kept a month (a
 * compute scaled to zero costs nothing), and their latest usage period
 * recorded (state_usage_foreach, one walk). 0, or a state error. */
int idle_costs(state *st, const spec_prices *p, idle_report *r) WUR;
/* An RFC 3339 time ("2026-12-04T13:00:00Z", a fraction and an offset
 * allowed) as unix seconds; false when it is not one. */
bool idle_parse_time(const char *s, int64_t *out);
/* ----------------------------------------------------- usage (issue 17) */

/* One tenant's usage (usage.c): the list's current-period figures and the
 * consumption API's over the range asked. */
typedef struct usage_row {
	char *tenant, *project_id;
	bool listed;                   /* the project list showed it */
	int64_t active_seconds;        /* list: active_time, the current period */
	int64_t storage_bytes;         /* list: synthetic_storage_size, now */
	int64_t compute_unit_seconds;  /* consumption: CU-seconds in the range */
	int64_t storage_bytes_month;   /* consumption: root + child byte-months */
	int64_t transfer_bytes;        /* consumption: public network transfer */
} usage_row;

typedef struct usage_result {
	usage_row *rows;               /* the state's tenants that sel passes, by name */
	size_t n, cap;
	int64_t list_calls, usage_calls;
	int rc;
	int status;                    /* the HTTP status of the first refusal, 0: none */
	char error[768];
} usage_result;

/* Every mapped tenant that sel passes (NULL: all), judged on its merged
 * spec and labels in fleet (a tenant without a manifest by name only): the
 * list, then ceil(n/100) consumption calls, progress reported. 0, or an
 * error whose message says what to do; *out holds what was read either way
 * (usage_result_release). */
int usage_collect(state *st, neon_client *c, const spec_fleet *fleet, const plan_selector *sel,
		  const neon_usage_req *rq, usage_result *out) WUR;
/* Keep the rows in the state as the period [since, until) (state_usage_put),
 * for `flotilla status`. 0, or an error with err_msg. */
int usage_record(state *st, const usage_result *u, int64_t since, int64_t until) WUR;
void usage_result_release(usage_result *r);
/* The cost of a tenant's figures at p, in p's currency, as `flotilla usage`
 * shows it: CU-seconds, byte-months of storage (a size kept a month is
 * that many byte-months) and bytes of public transfer. */
double usage_cost(const spec_prices *p, int64_t compute_unit_seconds, int64_t storage_bytes_month,
		  int64_t transfer_bytes);
/* Keep p, the table a usage run priced with, in the state (meta
 * "usage_prices", JSON), for readers without the manifests (status --idle,
 * the daemon). 0, or a state error with err_msg. */
int usage_prices_record(state *st, const spec_prices *p) WUR;
/* The table usage_prices_record kept; Neon's default table
 * (spec_prices_default) when none was kept, it is not one, or the state
 * cannot be read. out's strings point into currency and as_of. */
void usage_prices_load(state *st, spec_prices *out, char currency[8], char as_of[16]);

/* A page of the daemon's usage tier (usage_refresh_page). */
#define USAGE_NAME_LEN 128
typedef struct usage_page {
	size_t tenants;          /* read from the map */
	size_t recorded;         /* whose usage was kept */
	int64_t calls;           /* consumption calls made */
	bool end;                /* the page reached the end of the map */
	char last[USAGE_NAME_LEN]; /* its last tenant: where the next page starts */
	int status;              /* the HTTP status of a refusal, 0: none */
} usage_page;
/* The usage of up to `limit` mapped tenants after `after` ("": from the
 * start) for the month of `now` so far: ceil(limit/100) consumption calls,
 * the active time and storage from the cached list (schema 12), kept as
 * usage_record keeps them. The batches answered are kept even when another
 * failed. 0, or an error (out->status says whether Neon refused: a 4xx
 * other than 429 will refuse the next page too). */
int usage_refresh_page(state *st, neon_client *c, const char *after, size_t limit, int64_t now,
		       usage_page *out) WUR;

#endif
