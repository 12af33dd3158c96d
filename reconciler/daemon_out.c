/*
 * daemon_out.c: what `flotilla daemon` tells the world (docs/daemon.md):
 * its metrics, the status document its status page serves, the drift
 * sweep's log lines and its notifications. The loop (cmd_daemon.c) calls
 * these; everything here reads the state file or the loop's figures,
 * never the API.
 */
#include <string.h>
#include <time.h>

#include "reconciler/reconciler.h"

/* the not-synced tenants the status document lists at most */
#define STATUS_PAGE_TENANTS 5000

static void idle_bucket_set(metrics *m, int k, int64_t n)
{
	char labels[32];
	snprintf(labels, sizeof(labels), "bucket=\"%s\"", IDLE_BUCKET_NAMES[k]);
	metrics_set(m, "flotilla_tenants_idle", labels, (double)n);
}

/* Tenants by idle bucket, from the cache (one walk of the tenant map). */
static void idle_out(const daemon_view *v)
{
	idle_report r;
	if (idle_scan(v->st, (int64_t)time(NULL), -1, &r) != 0) {
		log_warn("daemon: cannot count the idle tenants", "error", err_msg());
		return;
	}
	for (int k = 0; k < IDLE_NBUCKETS; k++)
		idle_bucket_set(v->m, k, r.buckets[k]);
	idle_report_release(&r);
}

void daemon_metrics_declare(metrics *m)
{
	static const char *const fams[][3] = {
		{"flotilla_tenants", "gauge", "Tenants by sync state (the state file's, after the last loop)."},
		{"flotilla_orphaned_tenants", "gauge", "Mapped tenants no longer in git (prune off), at the last whole plan."},
		{"flotilla_drifted_tenants", "gauge", "Tenants the drift sweep found changed outside git, not healed yet."},
		{"flotilla_drifted_fields", "gauge", "Drifted tenants by the class of a field that drifted."},
		{"flotilla_tenants_near_quota", "gauge", "Tenants at 80% or more of a quota, from the last usage read."},
		{"flotilla_drift_healed_total", "counter", "Drifted tenants made equal to git again."},
		{"flotilla_last_applied_commit_info", "info", "The commit the fleet was last converged to."},
		{"flotilla_git_fetches_total", "counter", "Fetches of the manifest repository."},
		{"flotilla_reconcile_duration_seconds", "gauge", "How long the last loop took."},
		{"flotilla_reconciles_total", "counter", "Loops, by outcome."},
		{"flotilla_last_reconcile_timestamp_seconds", "gauge", "When the last loop ended (unix seconds)."},
		{"flotilla_api_requests_total", "counter", "Neon API requests, by route template and HTTP status."},
		{"flotilla_api_429_total", "counter", "429 Too Many Requests answers."},
		{"flotilla_rate_budget_rate", "gauge", "Requests per second the budget allows now."},
		{"flotilla_rate_budget_tokens", "gauge", "Tokens in the rate budget's bucket."},
		{"flotilla_rate_budget_waits_total", "counter", "Requests that waited for a token."},
		{"flotilla_rate_budget_wait_seconds_total", "counter", "Time requests waited for a token."},
		{"flotilla_operations_in_flight", "gauge", "Tenants with writes or operations in progress."},
		{"flotilla_journal_backlog", "gauge", "Unfinished journal rows."},
		{"flotilla_drift_sweep_seconds", "gauge", "How often each drift tier covers the whole fleet (list: its interval)."},
		{"flotilla_drift_reads_total", "counter", "Projects read by the drift sweep."},
		{"flotilla_usage_reads_total", "counter", "Tenants whose usage the daemon's usage tier read."},
		{"flotilla_usage_pass_timestamp_seconds", "gauge", "When the usage tier last read every tenant (unix seconds)."},
		{"flotilla_apply_failures_total", "counter", "Tenants that failed in the daemon's applies."},
		{"flotilla_notifications_total", "counter", "Notifications (--notify-url), by outcome."},
		{"flotilla_leader", "gauge", "1 while this daemon holds the lease and leads, 0 while it stands by."},
		{"flotilla_tenants_idle", "gauge", "Mapped tenants whose computes have not been active for at least the bucket's time (from the cache's last list)."},
	};
	/* families whose series all carry labels: no unlabeled series */
	static const char *const labelled[] = {
		"flotilla_tenants", "flotilla_api_requests_total", "flotilla_git_fetches_total", "flotilla_reconciles_total",
		"flotilla_last_applied_commit_info", "flotilla_drifted_fields", "flotilla_drift_sweep_seconds",
		"flotilla_notifications_total", "flotilla_tenants_idle",
	};
	for (size_t i = 0; i < ARRAY_LEN(fams); i++) {
		metrics_declare(m, fams[i][0], fams[i][1], fams[i][2]);
		/* a series without labels exists from the start, at 0: a rate()
		 * over it needs the zero, and a missing series reads as broken */
		bool plain = true;
		for (size_t k = 0; k < ARRAY_LEN(labelled); k++)
			plain = plain && strcmp(fams[i][0], labelled[k]) != 0;
		if (plain)
			metrics_set(m, fams[i][0], NULL, 0);
	}
	metrics_set(m, "flotilla_drift_sweep_seconds", "tier=\"list\"", 0);
	metrics_set(m, "flotilla_drift_sweep_seconds", "tier=\"deep\"", 0);
	for (int k = 0; k < IDLE_NBUCKETS; k++)
		idle_bucket_set(m, k, 0);
	static const char *const outcomes[] = {"sent", "failed", "dropped"};
	for (size_t i = 0; i < ARRAY_LEN(outcomes); i++) {
		char labels[32];
		snprintf(labels, sizeof(labels), "outcome=\"%s\"", outcomes[i]);
		metrics_set(m, "flotilla_notifications_total", labels, 0);
	}
}

void daemon_on_attempt(void *arg, const char *route, int status)
{
	metrics *m = arg;
	char *r = metrics_label_escape(route);
	char labels[512];
	snprintf(labels, sizeof(labels), "route=\"%s\",status=\"%d\"", r, status);
	free(r);
	metrics_add(m, "flotilla_api_requests_total", labels, 1);
	if (status == 429)
		metrics_add(m, "flotilla_api_429_total", NULL, 1);
}

/* The rate budget's figures, as metrics and in the document. */
static json_t *rate_out(const daemon_view *v)
{
	neon_stats ns;
	neon_client_stats(v->client, &ns);
	metrics_set(v->m, "flotilla_rate_budget_rate", NULL, ns.rate_now);
	metrics_set(v->m, "flotilla_rate_budget_tokens", NULL, ns.tokens);
	metrics_set(v->m, "flotilla_rate_budget_waits_total", NULL, (double)ns.budget_waits);
	metrics_set(v->m, "flotilla_rate_budget_wait_seconds_total", NULL, (double)ns.budget_wait_ms / 1000.0);
	int64_t backlog = 0;
	if (state_journal_backlog(v->st, &backlog) == 0)
		metrics_set(v->m, "flotilla_journal_backlog", NULL, (double)backlog);
	return json_pack("{s:f,s:f,s:f}", "limit", v->rate, "now", ns.rate_now, "drift_share", v->drift_share);
}

static json_t *tier_json(double seconds, int64_t at)
{
	return json_pack("{s:f,s:o}", "sweep_seconds", seconds, "last_at", at > 0 ? json_integer(at) : json_null());
}

/* Metrics from the document: tenants by state, drifted ones by field class. */
static void counts_out(const daemon_view *v, json_t *doc)
{
	const char *k;
	json_t *n;
	json_object_foreach(json_object_get(doc, "counts"), k, n) {
		char labels[48];
		snprintf(labels, sizeof(labels), "state=\"%s\"", k);
		metrics_set(v->m, "flotilla_tenants", labels, (double)json_integer_value(n));
	}
	metrics_set(v->m, "flotilla_drifted_tenants", NULL,
		    (double)json_integer_value(json_object_get(json_object_get(doc, "counts"), "drifted")));
	metrics_set(v->m, "flotilla_tenants_near_quota", NULL,
		    (double)json_integer_value(json_object_get(json_object_get(doc, "near_quota"), "count")));
	metrics_clear(v->m, "flotilla_drifted_fields");
	json_object_foreach(json_object_get(json_object_get(doc, "drift"), "fields"), k, n) {
		char *e = metrics_label_escape(k);
		char labels[96];
		snprintf(labels, sizeof(labels), "class=\"%s\"", e);
		free(e);
		metrics_set(v->m, "flotilla_drifted_fields", labels, (double)json_integer_value(n));
	}
}

void daemon_publish(const daemon_view *v)
{
	json_t *rate = rate_out(v);
	metrics_set(v->m, "flotilla_drift_sweep_seconds", "tier=\"list\"", v->list_s);
	metrics_set(v->m, "flotilla_drift_sweep_seconds", "tier=\"deep\"", v->deep_s);
	if (v->n) {
		notify_stats ns;
		notifier_stats(v->n, &ns);
		metrics_set(v->m, "flotilla_notifications_total", "outcome=\"sent\"", (double)ns.sent);
		metrics_set(v->m, "flotilla_notifications_total", "outcome=\"failed\"", (double)ns.failed);
		metrics_set(v->m, "flotilla_notifications_total", "outcome=\"dropped\"", (double)ns.dropped);
	}
	json_t *doc = NULL;
	if (status_document(v->st, STATUS_PAGE_TENANTS, &doc) != 0) {
		log_warn("daemon: cannot read the status document from the state file", "error", err_msg());
		json_decref(rate);
		return;
	}
	json_object_set_new(doc, "rate", rate);
	json_t *drift = json_object_get(doc, "drift");
	json_object_set_new(drift, "policy", v->policy ? json_string(v->policy) : json_null());
	json_object_set_new(drift, "tiers", json_pack("{s:o,s:o}", "list", tier_json(v->list_s, v->list_at), "deep",
						     tier_json(v->deep_s, v->deep_at)));
	json_object_set_new(json_object_get(doc, "commit"), "fetched", v->fetched && v->fetched[0]
										   ? json_string(v->fetched)
										   : json_null());
	counts_out(v, doc);
	idle_out(v);
	char *text = json_dumps(doc, JSON_COMPACT);
	if (!text || httpd_set_status(v->h, text) != 0)
		log_warn("daemon: cannot publish the status document", "error", text ? err_msg() : "out of memory");
	free(text);
	json_decref(doc);
}

/* --------------------------------------------------------- notifications */

void daemon_notify_apply(notifier *n, const plan *p, const exec_summary *sum, const char *what)
{
	if (!n)
		return;
	for (size_t i = 0; i < sum->n; i++) {
		const exec_outcome *o = &sum->v[i];
		if (o->status != EXEC_FAILED)
			continue;
		char *text = xasprintf("%s: tenant '%s' failed: %s%s%s%s", what, o->tenant, o->error ? o->error : "?",
				       o->request_id[0] ? " (request " : "", o->request_id, o->request_id[0] ? ")" : "");
		notify_post(n, "apply_failed", text);
		free(text);
	}
	for (size_t i = 0; i < p->nactions; i++) {
		const plan_action *a = &p->actions[i];
		if (a->kind != PLAN_BLOCKED)
			continue;
		char *text = xasprintf("%s: tenant '%s' is blocked: %s", what, a->tenant, a->reason ? a->reason : "?");
		notify_post(n, "blocked", text);
		free(text);
	}
}

void daemon_notify_drift(notifier *n, const sync_news *news, bool heal)
{
	if (!n || !news->drifted)
		return;
	buf b;
	buf_init(&b, 0);
	int rc = buf_printf(&b, "drift found: %s tenant%s changed outside git (%s): ", CLI_N(news->drifted),
			    news->drifted == 1 ? "" : "s", heal ? "healing" : "report only");
	for (size_t i = 0; rc == 0 && i < news->drifted && i < SYNC_NEWS_NAMES; i++)
		rc = buf_printf(&b, "%s'%s'", i ? ", " : "", news->names[i]);
	if (rc == 0 && news->drifted > SYNC_NEWS_NAMES)
		rc = buf_printf(&b, " and %s more", CLI_N(news->drifted - SYNC_NEWS_NAMES));
	if (rc == 0)
		rc = buf_adds(&b, "; flotilla status TENANT shows the fields");
	notify_post(n, "drift", b.data ? b.data : "drift found");
	buf_release(&b);
}

/* What the sweep's usage tier did: counted, and logged when a pass ends
 * or is refused (once, until a pass goes through again). */
static void usage_report(metrics *m, const sweep_result *r, bool *refused)
{
	metrics_add(m, "flotilla_usage_reads_total", NULL, (double)r->usage_tenants);
	if (r->usage_pass_done) {
		char took[32];
		unit_duration_format(r->usage_pass_s, took);
		log_info("daemon: usage tier: this month's usage of every tenant read", "took", took);
		metrics_set(m, "flotilla_usage_pass_timestamp_seconds", NULL, (double)time(NULL));
		*refused = false;
	}
	if (r->usage_error[0] && !*refused) {
		*refused = true;
		log_warn("daemon: usage tier: the consumption API failed; status's near-quota tenants keep the last "
			 "figures read",
			 "error", r->usage_error);
	}
}

/* What a step of the drift sweep did, in the log, the metrics and the
 * notifications; *usage_refused keeps the usage tier's refusal said once. */
void daemon_sweep_report(metrics *m, notifier *notify, const sweep_result *r, bool *usage_refused)
{
	if (r->size_changed) {
		/* at start, and when the fleet's size changes */
		char n[24], l[32], t[32];
		snprintf(n, sizeof(n), "%lld", (long long)r->tenants);
		unit_duration_format((int64_t)r->list_s + 1, l);
		unit_duration_format((int64_t)r->sweep_s + 1, t);
		log_info("daemon: the drift sweep: the list tier compares every tenant every list interval, the deep "
			 "tier re-reads the whole fleet in about the deep time", "projects", n, "list", l, "deep", t);
	}
	if (r->list_compared) {
		char ms[24];
		snprintf(ms, sizeof(ms), "%lld", (long long)r->list_ms);
		log_info("daemon: list tier: listed and compared every tenant", "ms", ms);
	}
	if (r->incomplete) {
		char n[24];
		snprintf(n, sizeof(n), "%lld", (long long)r->incomplete);
		log_warn("daemon: the list of the live fleet is incomplete; nothing was removed from the cache, "
			 "and no tenant is created until a list completes", "unreadable", n, "first_error", r->first_error);
	}
	metrics_add(m, "flotilla_drift_reads_total", NULL, (double)r->reads);
	usage_report(m, r, usage_refused);
	daemon_notify_drift(notify, &r->news, r->heal);
	if (r->drifted) {
		char n[24];
		snprintf(n, sizeof(n), "%zu", r->drifted);
		log_warn("daemon: drift found", "tenants", n, "policy", r->heal ? "heal" : "report");
	}
	if (r->healed_run) {
		metrics_add(m, "flotilla_drift_healed_total", NULL, (double)r->healed);
		metrics_add(m, "flotilla_apply_failures_total", NULL, (double)r->heal_failed);
		if (r->heal_failed && notify) {
			char *text = xasprintf("drift heal: %s tenant%s failed; flotilla status shows why", CLI_N(r->heal_failed),
					       r->heal_failed == 1 ? "" : "s");
			notify_post(notify, "apply_failed", text);
			free(text);
		}
	}
}
