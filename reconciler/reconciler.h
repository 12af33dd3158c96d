/*
 * reconciler.h: the one header of reconciler/, the top of flotilla: the
 * command table and the commands (one file each, `cmd_*.c`), the daemon's
 * loop, its HTTP server and metrics. Commands parse their options, print,
 * and choose the exit code; the folders below (engine/ and down) never
 * print.
 */
#ifndef FLOTILLA_RECONCILER_H
#define FLOTILLA_RECONCILER_H

#include <limits.h>
#include <signal.h>

#include "engine/engine.h"
#include "serve/serve.h"

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
/* status --idle (status_idle.c): the tenants idle for min_idle seconds or
 * more as of as_of (unix seconds), printed; an exit code. */
int status_idle(state *st, int64_t min_idle, int64_t as_of, bool json);
int cmd_plan(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_adopt(int argc, char **argv);
int cmd_unlock(int argc, char **argv);
int cmd_state(int argc, char **argv);
int cmd_connection_string(int argc, char **argv);
/* cmd_recover.c: `flotilla recover TENANT` (issue 17). */
int cmd_recover(int argc, char **argv);
int cmd_restore(int argc, char **argv);
/* cmd_state_show.c: `flotilla state list` and `flotilla state show`. */
int cmd_state_list(int argc, char **argv);
int cmd_state_show(int argc, char **argv);
int cmd_daemon(int argc, char **argv);
int cmd_usage(int argc, char **argv);

/*
 * daemon_out.c: what the daemon tells the world: its metrics (declared
 * once; the API request counters from the client's on_attempt, with the
 * metrics as arg), after each loop the status document (published to the
 * status page) and the metrics read from it, and its notifications.
 */
void daemon_metrics_declare(metrics *m);

/* daemon_lease.c: the daemon's lease as a leader's. */
#include <signal.h>
typedef struct lease_keeper lease_keeper;
/* Renew this process's lease on st's state every ttl/3 from a thread with
 * its own connection; when it is lost, lease_keeper_lost says so and
 * wake_fd gets a byte. At each renewal it also reads the mark a standby
 * leaves for a webhook it received (LEASE_HOOK_MARK in meta): a new one
 * writes 'h' to wake_fd, as a webhook at the leader would. 0, or -1
 * (err_msg). */
#define LEASE_HOOK_MARK "webhook_at"
int lease_keeper_start(lease_keeper **out, const state *st, int64_t ttl_s, int wake_fd);
/* Whether the lease was lost (taken, removed, or not renewed for 2/3 of
 * its TTL); why into why[cap] (may be NULL). */
bool lease_keeper_lost(lease_keeper *k, char *why, size_t cap);
void lease_keeper_stop(lease_keeper *k);
/* Stand by until this process holds the lease: try every ttl/3, calling
 * idle(arg, state_ok) (whether the lease could be read) and then wait_ms
 * between tries. 0 when leading, 1 when *stop. */
int lease_stand_by(state *st, int64_t ttl_s, const volatile sig_atomic_t *stop,
		   void (*idle)(void *arg, bool state_ok), void (*wait_ms)(int64_t ms), void *arg);
void daemon_on_attempt(void *arg, const char *route, int status);
typedef struct daemon_view {
	state *st;
	neon_client *client;
	metrics *m;
	httpd *h;
	notifier *n;               /* or NULL */
	const char *fetched;       /* the last fetched commit, or NULL */
	const char *policy;        /* the fleet's drift policy, or NULL: not known yet */
	double rate, drift_share;  /* --rate, --drift-budget */
	double list_s, deep_s;     /* the drift tiers' periods */
	int64_t list_at, deep_at;  /* unix seconds: the last list, the last deep read; 0 none */
} daemon_view;
void daemon_publish(const daemon_view *v);
/* A failed tenant and a blocked one, each one event ("apply_failed",
 * "blocked"); what names the run ("commit 3f2a…", "drift heal"). */
void daemon_notify_apply(notifier *n, const plan *p, const exec_summary *sum, const char *what);
/* Tenants newly drifted: one event ("drift") naming the first few. */
void daemon_notify_drift(notifier *n, const sync_news *news, bool heal);
/* What a step of the drift sweep did: logged, counted in m, notified on notify
 * (or NULL); *usage_refused keeps a refusal of the usage tier said once. */
void daemon_sweep_report(metrics *m, notifier *notify, const sweep_result *r, bool *usage_refused);

extern const char CMD_VALIDATE_USAGE[];
extern const char CMD_EXPLAIN_USAGE[];
extern const char CMD_REFRESH_USAGE[];
extern const char CMD_STATUS_USAGE[];
extern const char CMD_PLAN_USAGE[];
extern const char CMD_APPLY_USAGE[];
extern const char CMD_ADOPT_USAGE[];
extern const char CMD_UNLOCK_USAGE[];
extern const char CMD_STATE_USAGE[];
extern const char CMD_CONNECTION_STRING_USAGE[];
extern const char CMD_RECOVER_USAGE[];
extern const char CMD_RESTORE_USAGE[];
extern const char CMD_DAEMON_USAGE[];
extern const char CMD_USAGE_USAGE[];

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

/* ------------------------------------------------------ shared options */

/*
 * The options several commands share (options.c): one name, one meaning
 * and one message everywhere. A command puts the groups it takes in its
 * getopt_long table and passes every value its own switch does not know
 * to cli_opts_take.
 */
enum {
	OPT_STATE = 0x100, OPT_API_URL, OPT_API_KEY_FILE, OPT_RATE, OPT_FORMAT, OPT_REPO, OPT_REF, OPT_REFRESH,
	OPT_SELECT, OPT_SINCE, OPT_VERBOSE, OPT_PARALLEL, OPT_SECRETS_DIR, OPT_LOCK_TIMEOUT, OPT_AUTO_APPROVE,
	OPT_DIR, OPT_COLOR,
};
/* The groups of shared options a command takes (their rows are options.c's). */
enum {
	CLI_API = 1 << 0,    /* --state, --api-url, --api-key-file, --rate */
	CLI_COMMIT = 1 << 1, /* --repo (the manifest repository; --dir is the same), --ref */
	CLI_PLAN = 1 << 2,   /* --refresh, --select, --changed-since, --verbose: how a plan is made */
	CLI_WRITE = 1 << 3,  /* --parallel, --secrets-dir, --lock-timeout: how changes are made */
	CLI_SOURCE = 1 << 4, /* --dir, --repo, --ref as validate and explain take them (cli_source) */
	CLI_COLOR = 1 << 5,  /* --color auto|always|never: marks in colour on a terminal */
};
/* getopt_long's table: own's rows (ended by a zero row), then the rows of
 * the groups, then a zero row; free() it. */
struct option;
struct option *cli_options(const struct option *own, unsigned groups);

typedef struct cli_opts {
	const char *state_path;    /* --state; NULL: cli_state_location's default */
	cli_api api;               /* --api-url, --api-key-file, --rate */
	const char *format;        /* --format, as given (the command checks it); default "text" */
	plan_req rq;               /* --repo/--dir, --ref and CLI_PLAN's; repo ".", mode "auto" */
	bool planning;             /* --repo, --ref, --refresh, --select or --changed-since given */
	int parallel;              /* default 8 */
	const char *secrets_dir;
	int64_t lock_timeout_s;
	bool auto_approve;
	const char *color;         /* --color: "auto" (default), "always" or "never" */
} cli_opts;
/* Whether the command's text on stdout gets colours: --color always, or
 * auto on a terminal with NO_COLOR unset or empty (no-color.org); never
 * for --color never. */
bool cli_color(const cli_opts *o);
/* A plan mark ('+', '~', '-', '!', '=', '?') as text for one printf,
 * coloured as plans colour it when color is set. */
typedef struct cli_mark_str {
	char s[24];
} cli_mark_str;
cli_mark_str cli_mark(char mark, bool color);
void cli_opts_init(cli_opts *o);
/* Take getopt_long's value c with its argument: 1 taken, 0 not a shared
 * option, -1 after printing why the value is wrong. */
int cli_opts_take(const char *cmd, cli_opts *o, int c, const char *arg);
/* A command's own options: 1 taken, 0 not its option either, -1 after
 * printing why the value is wrong. */
typedef int (*cli_own_opt)(void *arg, int c, const char *value);
/* Parse argv's options with getopt_long over opts (the command's own rows,
 * ended by a zero row) and the shared ones of groups: shared ones into o,
 * the others through own (may be NULL). Operands are left from
 * argv[optind]. EXIT_OK, or EXIT_ERROR after printing why ("unknown
 * option", a bad value). */
int cli_opts_parse(const char *cmd, int argc, char **argv, const struct option *opts, unsigned groups, cli_opts *o,
		   cli_own_opt own, void *arg);
/* EXIT_OK when no operand is left, else "unexpected argument". */
int cli_opts_extra(const char *cmd, int argc, char **argv);
/* After cli_opts_parse: the one TENANT argument, and nothing after it
 * (EXIT_OK, or EXIT_ERROR after saying what is missing or extra). */
int cli_tenant_arg(const char *cmd, int argc, char **argv, const char **tenant);

/*
 * Make the API client. The key is read from the file or the environment
 * and never printed; the process is then made non-dumpable, so no core
 * file carries it. EXIT_OK, or EXIT_ERROR after printing why.
 */
int cli_client_open(const char *cmd, const cli_api *api, neon_client **out);
/* Where the state is: --state when given, else $FLOTILLA_STATE, else
 * STATE_DEFAULT_PATH. A postgres:// location may hold a password: never
 * print it (state_name prints what may be shown). */
const char *cli_state_location(const char *opt);
/* Open the state (cli_state_location(path)), and log what opening did to
 * it (state_open_report): a mode narrowed, no WAL mode, a migration. */
int cli_state_open(const char *cmd, const char *path, state **out);
/* The same for a command that only reads: a state that is not there yet
 * is an error ("run flotilla refresh first"), never made. */
int cli_state_open_existing(const char *cmd, const char *path, state **out);
/* A tenant the state does not map: the error, naming the nearest mapped
 * one when it is close ("did you mean"). EXIT_ERROR. */
int cli_tenant_unknown(const char *cmd, state *st, const char *tenant);
/* The branch `want` names (a name or an id) in a deep read, else (want
 * NULL) the default branch; NULL when the deep read does not have it. */
const state_branch *cli_branch_pick(const state_deep *d, const char *want);
/* "YYYY-MM-DDTHH:MM:SSZ" as unix seconds; -1 for anything else. */
int64_t cli_utc_parse(const char *s);
/* strcmp for qsort over an array of strings. */
int cli_str_cmp(const void *a, const void *b);
/* Write a TCP port to FILE whole (a temporary file, then rename), for a
 * test or a supervisor to find a port 0 server. */
int cli_write_port_file(const char *path, int port) WUR;

/* A count as people read it ("2,000"), for one printf's argument: valid
 * until the end of the full expression (unit_count). */
#define CLI_N(n) (unit_count((int64_t)(n)).s)

/* "3m", "2h5m", "never" for a unix time in the past. */
void cli_age(int64_t since, char out[32]);

/* Take the state file's "fleet" lease, waiting up to wait_s seconds for a
 * live holder; on failure print who holds it (pid, host, since) and
 * `hint`, for ENGINE_LEASE_TTL. EXIT_OK or EXIT_ERROR. */
int cli_lease_take(const char *cmd, state *st, int64_t wait_s, const char *hint);
/* What a command that writes (adopt, apply) holds in the state file: the
 * fleet lease, once taken, and the run it records, once begun. */
typedef struct cli_run {
	bool leased;
	int64_t id;          /* 0: no run begun */
	const char *outcome; /* what the run ends as; "failed" until said otherwise */
} cli_run;
#define CLI_RUN_INIT {false, 0, "failed"}
/* Record the run's outcome with `summary` (when one was begun) and drop
 * the fleet lease (when taken). Either failing is logged as a warning
 * ("CMD: cannot …"), not returned: the command's own result stands. */
void cli_run_end(const char *cmd, state *st, const cli_run *run, const char *summary);
/* state_lease_acquire, logging a lease taken over from another holder
 * ("lease taken over", with its previous holder and why): every command
 * takes its leases through this or cli_lease_take. */
int cli_lease_acquire(state *st, const char *name, int64_t ttl, state_lease *held) WUR;

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

/* Show the engine's reports as command `cmd` (main.c, before a command
 * runs): notes "CMD: …" on stderr, log events, JSON events on stdout,
 * progress as above. */
void cli_report_install(const char *cmd);

/* Print "flotilla CMD: message" on stderr; returns EXIT_ERROR. */
int cli_fail(const char *cmd, const char *fmt, ...) PRINTF(2, 3);
/* An unknown option WORD of command CMD, whose options are opts (up to a
 * NULL name): the error, with "did you mean" when one is close. EXIT_ERROR. */
struct option;
int cli_unknown_option(const char *cmd, const char *word, const struct option *opts);
/* Say why planning failed as `cmd`: the manifests' problems first, when
 * there are, then err_msg. EXIT_ERROR. */
int cli_planning_fail(const char *cmd, const planning *pl);
/* After loading from a work tree (pl->g and pl->fl.fleet, whatever the
 * planning's outcome): when the fleet's manifest files there have
 * uncommitted changes, a note on stderr naming how many and the first few,
 * and that flotilla plans commit <short id> (ref; NULL: HEAD), not the
 * work tree. Only the fleet's paths are read (source_uncommitted); a note,
 * never an error. */
void cli_note_uncommitted(const char *cmd, const planning *pl, const char *ref);
/* The manifests' problems as text on stderr, one a line. */
void cli_print_diags(const spec_diags *diags);
/* Ask `question` on stderr; true only for a line "yes" on stdin. */
bool cli_confirm(const char *question);
/* True when argv holds -h or --help (before any "--"). */
bool cli_wants_help(int argc, char **argv);
/* Load the fleet in manifest directory `dir`; problems of the manifests go
 * to `diags`. EXIT_OK with *fleet set, or EXIT_ERROR after printing why the
 * directory could not be read. */
int cli_load_dir(const char *cmd, const char *dir, spec_fleet **fleet, spec_diags *diags);

/*
 * Where validate and explain read the manifests: a directory as it is on
 * disk (--dir, default ".") or a commit of a git repository (--repo, with
 * --ref, default HEAD) without a checkout. Unlike CLI_COMMIT's, their
 * --dir and --repo differ, so these options are theirs.
 */
typedef struct cli_source {
	const char *dir, *repo, *ref;
	char sha[41]; /* the commit read, once loaded from --repo */
} cli_source;
/* Take getopt_long's value c with its argument: true when it was one of
 * CLI_SOURCE's. */
bool cli_source_take(cli_source *src, int c, const char *arg);
/* Refuse --repo with --dir, and --ref without --repo: EXIT_OK, or
 * EXIT_ERROR after printing why. */
int cli_source_check(const char *cmd, const cli_source *src);
/* What a command does with the fleet it read from a source, with the
 * manifests' problems in diags: its exit code. */
typedef int (*cli_fleet_fn)(void *arg, const cli_source *src, spec_fleet *fleet, spec_diags *diags);
/* Load the fleet from the source as cli_load_dir does (from --repo, the
 * commit's sha goes into src->sha), hand it to fn, and free it: fn's exit
 * code, or EXIT_ERROR after printing why the fleet could not be read. */
int cli_source_run(const char *cmd, cli_source *src, cli_fleet_fn fn, void *arg);


#endif
