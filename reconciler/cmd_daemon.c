/*
 * cmd_daemon.c: `flotilla daemon`: keep the fleet equal to git, for as
 * long as it runs (docs/daemon.md).
 *
 * One loop on the main thread; the HTTP server (httpd.c) answers from its
 * own threads and only reads metrics or wakes the loop. Each turn:
 *   1. fetch the remote into the cache (remote.c);
 *   2. a commit not applied yet: plan it (--changed-since the last applied
 *      commit when there is one) and apply it, going on past failures;
 *   3. a step of the drift sweep: within --drift-budget of the rate, a
 *      list refresh every --list-interval with every tenant compared, and
 *      deep reads round-robin with the tenants read compared; drifted ones
 *      healed (fleet drift: heal) or recorded (report); every
 *      --usage-interval, a paced pass reading the fleet's usage;
 *   4. publish the metrics and the status document (daemon_out.c);
 *   5. wait for the interval, a webhook, or a signal.
 * The daemon holds the state file's lease all along (renewed each turn),
 * so an apply beside it fails fast naming it. SIGHUP re-reads the webhook
 * secret and the API key (a new client, between loops).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "reconciler/reconciler.h"

const char CMD_DAEMON_USAGE[] =
	"usage: flotilla daemon --repo URL|DIR [--ref REF] [--interval 60s]\n"
	"                       [--listen 127.0.0.1:9464] [--cache-dir DIR]\n"
	"                       [--webhook-secret-file FILE] [--drift-budget 20%]\n"
	"                       [--list-interval DUR] [--usage-interval DUR]\n"
	"                       [--notify-url URL | --notify-url-file F]\n"
	"                       [--rate R] [--parallel N] [--secrets-dir DIR]\n"
	"                       [--lease-ttl 30s] [--state FILE|URL] [--api-url URL]\n"
	"                       [--api-key-file FILE] [--log-format json|text]\n"
	"\n"
	"Keep the fleet equal to git: fetch the repository every interval (or at once on\n"
	"a signed webhook), plan and apply each new commit, and sweep the fleet for\n"
	"changes made outside git within a share of the API budget, healing them or\n"
	"only reporting them (the fleet's drift policy). Serves the status page (/ and\n"
	"/api/status), /metrics, /healthz, /readyz and /hooks/git on --listen.\n"
	"docs/daemon.md has the details.\n"
	"\n"
	"options:\n"
	"  --repo URL|DIR          the manifest repository: a path, file://, or https://\n"
	"                          (token from FLOTILLA_GIT_TOKEN)\n"
	"  --ref REF               the branch to follow (default: the remote's HEAD)\n"
	"  --interval DUR          between fetches (default 60s)\n"
	"  --listen HOST:PORT      the HTTP address (default 127.0.0.1:9464; port 0 picks one)\n"
	"  --port-file FILE        write the HTTP port there once listening\n"
	"  --cache-dir DIR         the fetched repository (default: git/ beside the state file)\n"
	"  --webhook-secret-file F the webhook's HMAC secret; without it /hooks/git is off\n"
	"  --drift-budget PCT      the share of --rate the drift sweep may use (default 20%)\n"
	"  --list-interval DUR     the list tier of the drift sweep: a list and every tenant\n"
	"                          compared this often (default: as often as half the share\n"
	"                          allows, at least 1m: about 4m at 100,000 tenants by default)\n"
	"  --usage-interval DUR    read every tenant's usage this month this often, paced\n"
	"                          within the drift budget (default 6h; 0: never), for\n"
	"                          status's near-quota tenants and their metric\n"
	"  --notify-url URL        POST a JSON message (Slack-compatible \"text\") when an apply\n"
	"                          fails, a tenant is blocked or drift is found; rate-limited\n"
	"  --notify-url-file F     the same, the URL read from a file (mode 0600): it is a secret\n"
	"  --lease-ttl DUR         the lease of the daemon that leads, renewed every third of\n"
	"                          it (default 30s); daemons that do not hold it stand by and\n"
	"                          take over when it lapses (docs/daemon.md)\n"
	"  --rate R, --parallel N, --secrets-dir DIR   as for apply\n"
	"  --state FILE|URL, --api-url URL, --api-key-file FILE   as for apply\n"
	"  --log-format FORMAT     json (default) or text\n"
	"  -h, --help              this help\n"
	"\n"
	"signals: SIGTERM/SIGINT finish in-flight writes (at most 30 s), release the lease\n"
	"and exit 0; SIGHUP re-reads the webhook secret file and the API key.\n";

#define STOP_GRACE_MS 30000
/* what is queued for --notify-url gets this long at exit */
#define NOTIFY_STOP_GRACE_MS 5000

static volatile sig_atomic_t g_stop, g_reload;
static int g_wake[2] = {-1, -1};

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		g_reload = 1;
	else
		g_stop = 1;
	int saved = errno;
	if (g_wake[1] >= 0 && write(g_wake[1], "s", 1) < 0) {
		/* the pipe is full: the loop wakes anyway */
	}
	errno = saved;
}

typedef struct daemon_ctx {
	/* options */
	const char *url, *ref, *cache_dir, *secret_file, *secrets_dir, *state_path, *port_file;
	const char *listen, *log_fmt;
	int64_t interval_s;
	double budget; /* 0..1 */
	int parallel;
	cli_api api;
	/* running */
	state *st;
	neon_client *client;
	metrics *m;
	httpd *h;
	char sha[41];          /* the last fetched commit */
	/* what /readyz reports: written by the loop, read by HTTP threads */
	pthread_mutex_t health_mu;
	bool fetch_ok, state_ok;
	bool leading;          /* holds the lease (else stands by) */
	int64_t last_loop_end; /* unix seconds */
	int64_t next_fetch_ms; /* monotonic: when the next loop fetches */
	char fetch_error[300];
	sweep *sweep;          /* the drift sweep's allowances and cursor */
	int64_t list_interval_s; /* --list-interval, 0: auto */
	int64_t usage_interval_s; /* --usage-interval, 0: off */
	bool usage_refused;      /* the last usage pass was refused (logged once) */
	const char *notify_url, *notify_file;
	notifier *notify;      /* --notify-url, or NULL */
	/* for the status page: the drift tiers and the fleet's policy */
	double list_s, deep_s;
	int64_t list_at, deep_at;
	char policy[16];
	bool settled;          /* the first plan (and its journal settling) ran */
	int64_t lease_ttl_s;   /* --lease-ttl */
	atomic_bool hook_pending; /* a webhook came while standing by */
	lease_keeper *keeper;  /* while leading */
} daemon_ctx;

/* Whether this daemon stopped leading (its lease lost to another). */
static bool lost_lead(daemon_ctx *d)
{
	return lease_keeper_lost(d->keeper, NULL, 0);
}

/* -------------------------------------------------------------- HTTP side */

static bool ready(void *arg, buf *why)
{
	daemon_ctx *d = arg;
	bool ok = true;
	int rc = 0;
	pthread_mutex_lock(&d->health_mu);
	bool fetch_ok = d->fetch_ok, state_ok = d->state_ok, leading = d->leading;
	int64_t last = d->last_loop_end;
	char error[sizeof(d->fetch_error)];
	str_copy(error, d->fetch_error, sizeof(error));
	pthread_mutex_unlock(&d->health_mu);
	if (!leading) {
		/* a standby is ready to lead: it passes webhooks on through
		 * the state; not ready when it cannot read the lease */
		if (!state_ok)
			rc |= buf_adds(why, "state: standing by, and cannot read the lease\n");
		(void)rc;
		return state_ok;
	}
	if (!fetch_ok) {
		rc |= buf_printf(why, "git: %s\n", error[0] ? error : "not fetched yet");
		ok = false;
	}
	if (!state_ok) {
		rc |= buf_adds(why, "state: the state is not writable\n");
		ok = false;
	}
	int64_t now = (int64_t)time(NULL);
	if (last == 0 || now - last > 3 * d->interval_s + 30) {
		rc |= buf_printf(why, "loop: no loop finished in the last 3 intervals\n");
		ok = false;
	}
	(void)rc;
	return ok;
}

static void on_hook(void *arg, const char *event, const char *body, size_t len)
{
	daemon_ctx *d = arg;
	(void)body;
	(void)len;
	pthread_mutex_lock(&d->health_mu);
	bool leading = d->leading;
	pthread_mutex_unlock(&d->health_mu);
	if (leading) {
		log_info("daemon: webhook received; fetching now", "event", event ? event : "");
	} else {
		/* the standby's loop leaves it in the state for the leader */
		atomic_store(&d->hook_pending, true);
		log_info("daemon: webhook received while standing by; passing it to the leader", "event",
			 event ? event : "");
	}
	if (g_wake[1] >= 0 && write(g_wake[1], "h", 1) < 0) {
		/* the pipe is full: a wake-up is pending anyway */
	}
}

/* -------------------------------------------------------------- the loop */

/* After each loop: metrics and the status page from the state file. */
static void publish(daemon_ctx *d)
{
	daemon_view v = {.st = d->st, .client = d->client, .m = d->m, .h = d->h, .n = d->notify, .fetched = d->sha,
			 .policy = d->policy[0] ? d->policy : NULL, .rate = d->api.rate > 0 ? d->api.rate : 10.0,
			 .drift_share = d->budget, .list_s = d->list_s, .deep_s = d->deep_s, .list_at = d->list_at,
			 .deep_at = d->deep_at};
	daemon_publish(&v);
}

static void active_metric(void *arg, size_t active)
{
	metrics_set(arg, "flotilla_operations_in_flight", NULL, (double)active);
}

static const char *stop_reason(void *arg, const plan_action *a)
{
	(void)a;
	if (g_stop)
		return "the daemon is stopping; the next start goes on";
	/* the lease's thread found another leading: not one more tenant */
	return lost_lead(arg) ? "this daemon no longer leads; the leader goes on" : NULL;
}

/* The client's interrupt while a plan reads: a signal came. */
static bool stopping(void *arg)
{
	(void)arg;
	return g_stop != 0;
}

/* Plan `rq` and apply it, going on past failures. 0 ok, 1 partial, -1 error. */
static int plan_and_apply(daemon_ctx *d, plan_req *rq, const char *what, bool apply_it, exec_summary *sum,
			  planning *pl)
{
	/* a plan's reads (a first plan may read a whole fleet deep) stop on a
	 * signal; the apply's writes and their operations do not */
	neon_client_set_interrupt(d->client, stopping, NULL);
	int prc = planning_run(rq, d->st, d->client, pl);
	neon_client_set_interrupt(d->client, NULL, NULL);
	if (prc != 0 && g_stop) {
		log_info("daemon: the plan was cut short by the signal; the next start plans again", "error",
			 err_msg());
		return -1;
	}
	if (prc != 0) {
		cli_planning_fail("daemon", pl);
		return -1;
	}
	const plan *p = pl->p;
	memset(sum, 0, sizeof(*sum));
	str_copy(d->policy, spec_fleet_drift(pl->fl.fleet), sizeof(d->policy));
	if (state_meta_set(d->st, "fleet", spec_fleet_name(pl->fl.fleet)) != 0)
		log_warn("daemon: cannot record the fleet's name", "error", err_msg());
	if (!apply_it || p->ncreate + p->nupdate + p->ndelete + p->nadopt == 0)
		return 0;
	char counts[128];
	snprintf(counts, sizeof(counts), "%zu create, %zu adopt, %zu update, %zu delete", p->ncreate, p->nadopt,
		 p->nupdate, p->ndelete);
	log_info("daemon: applying", "what", what, "commit", p->commit, "changes", counts);
	exec_opts eo = {.parallel = d->parallel, .op_timeout_ms = 600000, .continue_on_error = true,
			.secrets_dir = d->secrets_dir, .fleet = spec_fleet_name(pl->fl.fleet),
			.skip = stop_reason, .skip_arg = d, .stop = &g_stop, .stop_grace_ms = STOP_GRACE_MS,
			.on_active = active_metric, .active_arg = d->m};
	if (sync_record_applying(d->st, p) != 0)
		log_warn("daemon: cannot record the tenants' sync states", "error", err_msg());
	int rc = exec_apply(d->client, d->st, p, &eo, sum);
	if (rc != 0) {
		log_error("daemon: apply failed", "error", err_msg());
		return -1;
	}
	if (sync_record_applied(d->st, p, sum) != 0)
		log_warn("daemon: cannot record the tenants' sync states", "error", err_msg());
	metrics_add(d->m, "flotilla_apply_failures_total", NULL, (double)sum->failed);
	char label[64];
	snprintf(label, sizeof(label), "commit %.12s", p->commit);
	daemon_notify_apply(d->notify, p, sum, label);
	/* stopped by a signal: the tenants not started are not applied, so the
	 * commit must not count as applied */
	return sum->failed || sum->skipped || sum->stopped ? 1 : 0;
}

/* Before planning: what an earlier run left unfinished (a crash, a kill)
 * is settled, as apply does (resume.c). */
static int settle_hook(void *arg, const spec_fleet *f)
{
	daemon_ctx *d = arg;
	resume_stats rs;
	int rc = resume_run(d->st, d->client, spec_fleet_name(f), &rs);
	if (rc != 0)
		return err_set(rc, "cannot settle what an earlier run left unfinished: %s", err_msg());
	if (rs.resolved || rs.uncached) {
		char n[64];
		snprintf(n, sizeof(n), "%lld resolved, %lld adopted, %lld read back", (long long)rs.resolved,
			 (long long)rs.adopted, (long long)rs.uncached);
		log_info("daemon: settled an earlier run's journal", "rows", n);
	}
	return 0;
}

/* The Fleet's price table, for status --idle (it reads no manifest), as
 * `flotilla usage` keeps it: the usage tier reads usage without prices. */
static void keep_prices(daemon_ctx *d, const spec_fleet *f)
{
	spec_prices p;
	spec_fleet_prices(f, &p);
	if (usage_prices_record(d->st, &p) != 0)
		log_warn("daemon: cannot keep the price table", "error", err_msg());
}

/* Step 2: a commit not applied yet. */
static int reconcile(daemon_ctx *d)
{
	char *last = NULL;
	if (state_meta_get(d->st, "last_applied_commit", &last) != 0)
		return -1;
	/* the first loop plans even a commit applied before: it settles what
	 * the previous process left unfinished (the settle hook) */
	bool fresh = !last || strcmp(last, d->sha) != 0 || !d->settled;
	d->settled = true;
	int rc = 0;
	if (fresh) {
		plan_req rq = {.repo = d->cache_dir, .ref = d->sha, .mode = "auto", .since = last ? "last-applied" : NULL,
			       .max_deletes = -1, .before_refresh = settle_hook, .hook_arg = d,
			       .record = PLAN_RECORD_PLAN};
		planning pl;
		exec_summary sum;
		memset(&pl, 0, sizeof(pl));
		memset(&sum, 0, sizeof(sum));
		rc = plan_and_apply(d, &rq, "new commit", true, &sum, &pl);
		if (rc >= 0 && pl.p) {
			/* as apply does: a protected tenant stays protected once its
			 * manifest is removed */
			apply_record_protect(d->st, pl.fl.fleet);
			if (d->usage_interval_s > 0)
				keep_prices(d, pl.fl.fleet);
			if (!last || pl.p->changed_since[0] == 0) /* a whole-fleet plan */
				metrics_set(d->m, "flotilla_orphaned_tenants", NULL, (double)pl.p->norphan);
			char at[24];
			snprintf(at, sizeof(at), "%lld", (long long)time(NULL));
			if (rc == 0 && !pl.p->selected &&
			    (state_meta_set(d->st, "last_applied_commit", d->sha) != 0 ||
			     state_meta_set(d->st, "last_applied_at", at) != 0))
				log_warn("daemon: cannot record the applied commit", "error", err_msg());
			if (rc == 0) {
				metrics_clear(d->m, "flotilla_last_applied_commit_info");
				char labels[80];
				snprintf(labels, sizeof(labels), "commit=\"%s\"", d->sha);
				metrics_set(d->m, "flotilla_last_applied_commit_info", labels, 1);
			}
			char failed[24];
			snprintf(failed, sizeof(failed), "%zu", sum.failed);
			log_info("daemon: commit applied", "commit", d->sha, "converged", rc == 0 ? "yes" : "no", "failed",
				 failed);
		}
		exec_summary_release(&sum);
		planning_release(&pl);
	}
	free(last);
	return rc;
}

/* Is a wake-up (webhook, signal) waiting? It is left for the loop's wait. */
static bool wake_pending(void)
{
	struct pollfd pfd = {.fd = g_wake[0], .events = POLLIN};
	return poll(&pfd, 1, 0) > 0;
}

/* Sleep up to ms; true when a wake-up came first (left pending). */
static bool wait_for_wake(int64_t ms)
{
	struct pollfd pfd = {.fd = g_wake[0], .events = POLLIN};
	return poll(&pfd, 1, ms > INT32_MAX ? INT32_MAX : (int)ms) > 0;
}

static bool interrupted(void *arg)
{
	(void)arg;
	return g_stop || wake_pending();
}

static bool pace_wait(void *arg, int64_t ms)
{
	(void)arg;
	return wait_for_wake(ms);
}

/* Step 3: a slice of the drift sweep, within the budget (engine/sweep.c). */
static int drift_step(daemon_ctx *d)
{
	exec_opts heal = {.parallel = d->parallel, .op_timeout_ms = 600000, .continue_on_error = true,
			  .secrets_dir = d->secrets_dir, .skip = stop_reason, .skip_arg = d, .stop = &g_stop,
			  .stop_grace_ms = STOP_GRACE_MS, .on_active = active_metric, .active_arg = d->m};
	sweep_opts o = {.repo = d->cache_dir, .rate = d->api.rate > 0 ? d->api.rate : 10.0, .budget = d->budget,
			.interval_s = d->interval_s, .list_interval_s = d->list_interval_s,
			.usage_interval_s = d->usage_interval_s,
			.deadline_ms = d->next_fetch_ms, .heal = &heal, .interrupted = interrupted, .wait = pace_wait};
	sweep_result r;
	int rc = sweep_step(d->sweep, d->st, d->client, &o, &r);
	d->list_s = r.list_s;
	d->deep_s = r.sweep_s;
	if (r.listed)
		d->list_at = (int64_t)time(NULL);
	if (r.reads)
		d->deep_at = (int64_t)time(NULL);
	daemon_sweep_report(d->m, d->notify, &r, &d->usage_refused);
	if (rc != 0) /* in the log's format, as every line of a running daemon */
		log_error("daemon: the drift sweep failed", "error", err_msg());
	return rc;
}

static void reload(daemon_ctx *d)
{
	g_reload = 0;
	/* the API key: a new client between loops (nothing is in flight) */
	cli_api api = d->api;
	api.on_attempt = daemon_on_attempt;
	api.on_attempt_arg = d->m;
	neon_client *fresh = NULL;
	if (cli_client_open("daemon", &api, &fresh) == EXIT_OK) {
		neon_client_set_org(fresh, neon_client_org(d->client)); /* the fleet's, until the next plan */
		neon_client_free(d->client);
		d->client = fresh;
		log_info("daemon: SIGHUP: API key re-read");
	} else {
		log_error("daemon: SIGHUP: cannot read the API key; keeping the old one");
	}
	if (!d->secret_file)
		return;
	char *secret = NULL;
	if (httpd_secret_load(d->secret_file, &secret) != 0) {
		log_error("daemon: SIGHUP: cannot read the webhook secret; keeping the old one", "error", err_msg());
		return;
	}
	httpd_set_secret(d->h, secret);
	memset(secret, 0, strlen(secret));
	free(secret);
	log_info("daemon: SIGHUP: webhook secret re-read");
}

/* Wait up to ms for a wake-up (webhook, signal). */
static void wait_for(int64_t ms)
{
	struct pollfd pfd = {.fd = g_wake[0], .events = POLLIN};
	if (poll(&pfd, 1, ms > INT32_MAX ? INT32_MAX : (int)ms) > 0) {
		char drain[64];
		while (read(g_wake[0], drain, sizeof(drain)) > 0)
			;
	}
}

static void loop(daemon_ctx *d)
{
	int64_t backoff = 1;
	while (!g_stop && !lost_lead(d)) {
		int64_t t0 = mono_ms();
		d->next_fetch_ms = t0 + d->interval_s * 1000;
		if (g_reload)
			reload(d);
		source_sync_stats gs;
		memset(&gs, 0, sizeof(gs));
		int frc = source_remote_sync(d->url, d->cache_dir, d->ref, d->sha, &gs);
		pthread_mutex_lock(&d->health_mu);
		d->fetch_ok = frc == 0;
		if (frc != 0)
			str_copy(d->fetch_error, err_msg(), sizeof(d->fetch_error));
		else
			d->fetch_error[0] = 0;
		pthread_mutex_unlock(&d->health_mu);
		metrics_add(d->m, "flotilla_git_fetches_total", frc == 0 ? "outcome=\"ok\"" : "outcome=\"error\"", 1);
		const char *outcome = "ok";
		if (frc != 0) {
			char retry[24];
			snprintf(retry, sizeof(retry), "%llds", (long long)backoff);
			log_error("daemon: fetch failed; retrying", "url", d->url, "error", err_msg(), "retry_in", retry);
			outcome = "error";
		} else {
			backoff = 1;
			int r = reconcile(d);
			if (r < 0)
				outcome = "error";
			else if (r > 0)
				outcome = "partial";
			if (!g_stop && !lost_lead(d) && drift_step(d) != 0)
				outcome = "error";
		}
		/* the lease's thread renews it; whether the state takes writes */
		bool state_ok = !lost_lead(d);
		publish(d);
		int64_t took = mono_ms() - t0;
		char label[32];
		snprintf(label, sizeof(label), "outcome=\"%s\"", outcome);
		metrics_add(d->m, "flotilla_reconciles_total", label, 1);
		metrics_set(d->m, "flotilla_reconcile_duration_seconds", NULL, (double)took / 1000.0);
		int64_t end = (int64_t)time(NULL);
		pthread_mutex_lock(&d->health_mu);
		d->state_ok = state_ok;
		d->last_loop_end = end;
		pthread_mutex_unlock(&d->health_mu);
		metrics_set(d->m, "flotilla_last_reconcile_timestamp_seconds", NULL, (double)end);
		if (g_stop || lost_lead(d))
			break;
		/* the next fetch one interval after this one began (the sweep's
		 * pacing fills the time between), or after the back-off */
		int64_t wait = frc == 0 ? d->next_fetch_ms - mono_ms() : backoff * 1000;
		if (wait < 0)
			wait = 0;
		if (frc != 0 && backoff < d->interval_s)
			backoff *= 2;
		wait_for(wait);
	}
}

/* While standing by: the status page and metrics from the state (read
 * only), /readyz from whether the lease could be read, and a webhook
 * received meanwhile left in the state for the leader (its lease thread
 * reads the mark at its next renewal). */
static void standby_idle(void *arg, bool state_ok)
{
	daemon_ctx *d = arg;
	pthread_mutex_lock(&d->health_mu);
	d->leading = false;
	d->state_ok = state_ok;
	pthread_mutex_unlock(&d->health_mu);
	if (atomic_exchange(&d->hook_pending, false)) {
		/* when, and who: a mark never repeats an earlier one */
		struct timespec now;
		char mark[48];
		clock_gettime(CLOCK_REALTIME, &now);
		snprintf(mark, sizeof(mark), "%lld.%03ld pid %ld", (long long)now.tv_sec, now.tv_nsec / 1000000,
			 (long)getpid());
		if (state_meta_set(d->st, LEASE_HOOK_MARK, mark) != 0)
			log_warn("daemon: cannot pass a webhook to the leader", "error", err_msg());
	}
	publish(d);
}

/* Lead when the lease can be had, stand by while another daemon holds it,
 * and stand by again if it is lost, until a signal stops the daemon.
 * Whether the lease is held at the end (to be released). */
static bool lead_or_stand_by(daemon_ctx *d)
{
	while (!g_stop) {
		metrics_set(d->m, "flotilla_leader", NULL, 0);
		if (lease_stand_by(d->st, d->lease_ttl_s, &g_stop, standby_idle, wait_for, d) != 0)
			return false;
		if (lease_keeper_start(&d->keeper, d->st, d->lease_ttl_s, g_wake[1]) != 0) {
			/* the renewer's connection cannot be made (the server going
			 * away, no connection slot left): no leading without it; the
			 * lease is given back and the daemon stands by again */
			log_error("daemon: cannot keep the lease; standing by", "error", err_msg());
			if (state_lease_drop(d->st, "fleet") != 0)
				log_warn("daemon: cannot release the lease", "error", err_msg());
			standby_idle(d, true);
			wait_for(d->lease_ttl_s * 1000 / 3);
			continue;
		}
		metrics_set(d->m, "flotilla_leader", NULL, 1);
		pthread_mutex_lock(&d->health_mu);
		d->leading = true;
		d->state_ok = true;
		pthread_mutex_unlock(&d->health_mu);
		/* a new leader settles what an earlier one left in the journal */
		d->settled = false;
		loop(d);
		char why[200] = "";
		bool lost = lease_keeper_lost(d->keeper, why, sizeof(why));
		lease_keeper_stop(d->keeper);
		d->keeper = NULL;
		if (!lost)
			return true;
		log_warn("daemon: stopped leading: the lease was lost; standing by", "error", why);
	}
	return false;
}

/* The signals, and the pipe their handler wakes the loop through. 0, or
 * -1 with errno. */
static int signals_setup(void)
{
	/* non-blocking both ways: the loop drains it without blocking, and a
	 * signal handler's write never blocks on a full pipe */
	if (pipe(g_wake) != 0 || fcntl(g_wake[0], F_SETFL, O_NONBLOCK) != 0 ||
	    fcntl(g_wake[1], F_SETFL, O_NONBLOCK) != 0)
		return -1;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* --notify-url, or the first line of --notify-url-file (a secret: a Slack
 * webhook's URL is its credential); the notifier keeps its own copy. */
static int start_notifier(daemon_ctx *d)
{
	char *loaded = NULL;
	if (d->notify_file && neon_secret_file_load(&loaded, d->notify_file, "notification URL file") != 0)
		return cli_fail("daemon", "%s", err_msg()), -1;
	notify_opts no = NOTIFY_OPTS_INIT;
	no.url = loaded ? loaded : d->notify_url;
	int rc = notifier_start(&d->notify, &no);
	if (loaded) {
		memset(loaded, 0, strlen(loaded));
		free(loaded);
	}
	if (rc != 0)
		return cli_fail("daemon", "%s", err_msg()), -1;
	return 0;
}

/* The HTTP server (the port written to --port-file), and the notifier. */
static int serve(daemon_ctx *d, const char *secret, int *port)
{
	httpd_opts ho = {.listen = d->listen, .m = d->m, .ready = ready, .hook = on_hook, .arg = d,
			 .webhook_secret = secret};
	if (httpd_start(&d->h, &ho, port) != 0 || (d->port_file && cli_write_port_file(d->port_file, *port) != 0))
		return cli_fail("daemon", "%s", err_msg()), -1;
	if ((d->notify_url || d->notify_file) && start_notifier(d) != 0)
		return -1;
	return 0;
}

static int daemon_opt(void *arg, int c, const char *value)
{
	daemon_ctx *d = arg;
	char *end = NULL;
	switch (c) {
	case 'R': d->url = value; return 1;
	case 'l': d->listen = value; return 1;
	case 'p': d->port_file = value; return 1;
	case 'c': d->cache_dir = value; return 1;
	case 'w': d->secret_file = value; return 1;
	case 'f': d->log_fmt = value; return 1;
	case 'i':
		if (unit_duration_parse(value, false, &d->interval_s) != 0 || d->interval_s < 1)
			return cli_fail("daemon", "--interval wants a duration like 60s or 5m, not '%s'", value), -1;
		return 1;
	case 'L':
		if (unit_duration_parse(value, false, &d->list_interval_s) != 0 || d->list_interval_s < 1)
			return cli_fail("daemon", "--list-interval wants a duration like 5m, not '%s'", value), -1;
		return 1;
	case 'u':
		if (strcmp(value, "0") != 0 && (unit_duration_parse(value, false, &d->usage_interval_s) != 0 ||
						d->usage_interval_s < 60))
			return cli_fail("daemon", "--usage-interval wants a duration of at least 1m, like 6h, or 0 "
						  "(never), not '%s'", value), -1;
		if (strcmp(value, "0") == 0)
			d->usage_interval_s = 0;
		return 1;
	case 'T':
		if (unit_duration_parse(value, false, &d->lease_ttl_s) != 0 || d->lease_ttl_s < 3)
			return cli_fail("daemon", "--lease-ttl wants a duration of at least 3s, like 30s, not '%s'", value),
			       -1;
		return 1;
	case 'n': d->notify_url = value; return 1;
	case 'N': d->notify_file = value; return 1;
	case 'b':
		d->budget = strtod(value, &end) / 100.0;
		if ((*end && strcmp(end, "%") != 0) || d->budget <= 0 || d->budget > 1)
			return cli_fail("daemon", "--drift-budget wants a share of the rate from 1%% to 100%%, like 20%%, "
						  "not '%s'", value), -1;
		return 1;
	default:
		return 0;
	}
}

int cmd_daemon(int argc, char **argv)
{
	static const struct option opts[] = {
		{"repo", required_argument, NULL, 'R'},
		{"ref", required_argument, NULL, OPT_REF},
		{"interval", required_argument, NULL, 'i'},
		{"listen", required_argument, NULL, 'l'},
		{"port-file", required_argument, NULL, 'p'},
		{"cache-dir", required_argument, NULL, 'c'},
		{"webhook-secret-file", required_argument, NULL, 'w'},
		{"drift-budget", required_argument, NULL, 'b'},
		{"list-interval", required_argument, NULL, 'L'},
		{"usage-interval", required_argument, NULL, 'u'},
		{"lease-ttl", required_argument, NULL, 'T'},
		{"notify-url", required_argument, NULL, 'n'},
		{"notify-url-file", required_argument, NULL, 'N'},
		{"log-format", required_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	daemon_ctx d;
	memset(&d, 0, sizeof(d));
	cli_opts o;
	cli_opts_init(&o);
	o.rq.ref = "HEAD";
	d.interval_s = 60;
	d.listen = "127.0.0.1:9464";
	d.budget = 0.2;
	d.lease_ttl_s = 30;
	d.usage_interval_s = 6 * 3600;
	d.log_fmt = "json";
	if (cli_opts_parse("daemon", argc, argv, opts, CLI_API | CLI_WRITE, &o, daemon_opt, &d) != EXIT_OK)
		return EXIT_ERROR;
	d.ref = o.rq.ref;
	d.parallel = o.parallel;
	d.secrets_dir = o.secrets_dir;
	d.state_path = o.state_path;
	d.api = o.api;
	if (cli_opts_extra("daemon", argc, argv) != EXIT_OK)
		return EXIT_ERROR;
	if (!d.url)
		return cli_fail("daemon", "--repo is required: the manifest repository to follow");
	if (strcmp(d.log_fmt, "json") != 0 && strcmp(d.log_fmt, "text") != 0)
		return cli_fail("daemon", "--log-format must be json or text, not '%s'", d.log_fmt);
	log_setup(LOG_INFO, strcmp(d.log_fmt, "json") == 0 ? LOG_JSON : LOG_HUMAN, stderr);
	if (d.secrets_dir && secrets_check_dir(d.secrets_dir) != 0)
		return cli_fail("daemon", "%s", err_msg());
	if (d.notify_url && d.notify_file)
		return cli_fail("daemon", "--notify-url and --notify-url-file: give one of them");

	pthread_mutex_init(&d.health_mu, NULL);
	char *secret = NULL, *cache = NULL;
	bool leased = false;
	int rc = EXIT_ERROR;
	if (d.secret_file && httpd_secret_load(d.secret_file, &secret) != 0) {
		cli_fail("daemon", "%s", err_msg());
		goto done;
	}
	if (cli_state_open("daemon", d.state_path, &d.st) != EXIT_OK)
		goto done;
	if (!d.cache_dir) {
		/* git/ beside the state file; a state in PostgreSQL: beside
		 * where the default state file would be */
		const char *sp = cli_state_location(d.state_path);
		if (state_location_is_pg(sp))
			sp = STATE_DEFAULT_PATH;
		const char *slash = strrchr(sp, '/');
		cache = slash ? xasprintf("%.*s/git", (int)(slash - sp), sp) : xstrdup("git");
		d.cache_dir = cache;
	}
	d.m = metrics_new();
	daemon_metrics_declare(d.m);
	cli_api api = d.api;
	api.on_attempt = daemon_on_attempt;
	api.on_attempt_arg = d.m;
	if (cli_client_open("daemon", &api, &d.client) != EXIT_OK)
		goto done;
	if (signals_setup() != 0) {
		cli_fail("daemon", "pipe: %s", strerror(errno));
		goto done;
	}

	int port = 0;
	if (serve(&d, secret, &port) != 0)
		goto done;
	d.sweep = sweep_new();
	char iv[24], pt[16], bud[16];
	snprintf(iv, sizeof(iv), "%llds", (long long)d.interval_s);
	snprintf(pt, sizeof(pt), "%d", port);
	snprintf(bud, sizeof(bud), "%.0f%%", d.budget * 100);
	log_info("daemon: started", "repo", d.url, "ref", d.ref, "interval", iv, "port", pt, "drift_budget", bud);
	leased = lead_or_stand_by(&d);
	log_info("daemon: stopping");
	rc = EXIT_OK;
done:
	notifier_stop(d.notify, NOTIFY_STOP_GRACE_MS);
	if (d.h)
		httpd_stop(d.h);
	if (leased && state_lease_drop(d.st, "fleet") != 0)
		log_warn("daemon: cannot release the lease", "error", err_msg());
	if (secret) {
		memset(secret, 0, strlen(secret));
		free(secret);
	}
	free(cache);
	sweep_free(d.sweep);
	metrics_free(d.m);
	pthread_mutex_destroy(&d.health_mu);
	neon_client_free(d.client);
	state_close(d.st);
	for (int i = 0; i < 2; i++)
		if (g_wake[i] >= 0) {
			close(g_wake[i]);
			g_wake[i] = -1;
		}
	return rc;
}
