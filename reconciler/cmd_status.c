/*
 * cmd_status.c: `flotilla status [TENANT]`: what the state file knows, read
 * offline (no API call): the cache's age and size, projects by region,
 * computes by state; or, for one tenant, its project, computes, quota and
 * when it was last refreshed. Reads happen in one transaction each, so a
 * refresh running alongside never shows half a page.
 */
#include <getopt.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "reconciler/reconciler.h"

const char CMD_STATUS_USAGE[] =
	"usage: flotilla status [TENANT] [--state FILE|URL] [--format text|json]\n"
	"                       [--color auto|always|never]\n"
	"       flotilla status --idle DUR [--as-of TIME] [--state FILE|URL]\n"
	"                       [--format text|json]\n"
	"\n"
	"Show what the state file holds, without calling the API. Without TENANT: the\n"
	"tenants by sync state (synced, out-of-sync, drifted, blocked, failed, applying)\n"
	"and the ones not synced with their reason, the cache's age, projects by region,\n"
	"mapped tenants, computes by state (from deep reads), the tenants at 80% or\n"
	"more of a quota (from the last usage read), the branches flotilla restore\n"
	"preserved (how many, the oldest five with age and expiry), the recent runs.\n"
	"With TENANT: its sync state, project, branches (preserved ones with age and\n"
	"expiry), computes and their state, quota, and when it was last refreshed.\n"
	"With --idle: the tenants whose computes have not been active for DUR, most\n"
	"idle first, with their storage, what keeping it costs a month (a compute\n"
	"scaled to zero costs nothing) and their cost in their last usage period, at\n"
	"the prices of the last flotilla usage (else Neon's Launch prices). Run\n"
	"flotilla refresh first to bring the cache up to date.\n"
	"\n"
	"options:\n"
	"  --state FILE|URL\n"
	"                  the state: a file (default: .flotilla/state.db) or a\n"
	"                  postgres:// URL; FLOTILLA_STATE sets it too\n"
	"  --format FORMAT text (default) or json: the status document of the daemon's\n"
	"                  /api/status (docs/daemon.md), or one tenant's\n"
	"  --idle DUR      list the mapped tenants whose computes have not been active\n"
	"                  for DUR (e.g. 30d, 12h) as the cache's last list saw them;\n"
	"                  a tenant never active counts from its project's creation\n"
	"  --as-of TIME    with --idle: measure idle time up to TIME (RFC 3339, e.g.\n"
	"                  2026-12-31T00:00:00Z) instead of now\n"
	"  --color WHEN    text: tenants not synced marked as plans mark them (! failed\n"
	"                  or blocked, ~ drifted or out of sync), in colour: auto\n"
	"                  (default: on a terminal, unless NO_COLOR is set), always\n"
	"                  or never\n"
	"  -h, --help      this help\n"
	"\n"
	"exit: 0 shown (also when no tenant is idle); 1 no such tenant, a bad --idle\n"
	"or --as-of, or the state file cannot be read.\n";

static void fmt_size(int64_t v, char out[32])
{
	if (v == 0)
		str_copy(out, "unlimited", 32);
	else
		unit_size_format(v, out);
}

static void fmt_time(int64_t v, char out[32])
{
	if (v == 0)
		str_copy(out, "unlimited", 32);
	else
		unit_duration_format(v, out);
}

static void fmt_cu(double cu, char out[16])
{
	unit_cu_format((int32_t)(cu * 4 + 0.5), out);
}

/* The last runs of apply, refresh, unlock and state forget, newest first. */
typedef struct runs_ctx {
	int shown;
} runs_ctx;

static int show_run(void *arg, const state_run *r)
{
	runs_ctx *c = arg;
	if (c->shown++ == 0)
		printf("recent runs:\n");
	char ago[32];
	cli_age(r->started_at, ago);
	json_t *sum = r->summary_json ? json_loads(r->summary_json, 0, NULL) : NULL;
	printf("  %-8s %s ago, %s", r->command ? r->command : "?", ago,
	       r->outcome ? r->outcome : r->finished_at ? "?" : "running, or did not finish");
	if (sum && r->command && strcmp(r->command, "apply") == 0 && json_object_get(sum, "created"))
		printf(": %s created, %s updated, %s deleted, %s failed, %s skipped; %s write calls",
		       CLI_N(json_integer_value(json_object_get(sum, "created"))),
		       CLI_N(json_integer_value(json_object_get(sum, "updated"))),
		       CLI_N(json_integer_value(json_object_get(sum, "deleted"))),
		       CLI_N(json_integer_value(json_object_get(sum, "failed"))),
		       CLI_N(json_integer_value(json_object_get(sum, "skipped"))),
		       CLI_N(json_integer_value(json_object_get(sum, "write_calls"))));
	else if (sum && r->command && strcmp(r->command, "unlock") == 0 && json_object_get(sum, "holder"))
		printf(": removed %s's lease%s%s", json_string_value(json_object_get(sum, "holder")),
		       json_string_value(json_object_get(sum, "reason")) ? ": " : "",
		       json_string_value(json_object_get(sum, "reason")) ? json_string_value(json_object_get(sum, "reason")) : "");
	else if (sum && r->command && strcmp(r->command, "state forget") == 0 && json_object_get(sum, "tenant"))
		printf(": forgot tenant %s, project %s left in Neon%s", json_string_value(json_object_get(sum, "tenant")),
		       json_string_value(json_object_get(sum, "project_id")),
		       json_is_true(json_object_get(sum, "forced")) ? " (--force: its manifest was still in git)" : "");
	printf("\n");
	json_decref(sum);
	return 0;
}

/* at most this many not-synced tenants in the text output */
#define STATUS_TEXT_TENANTS 20
/* and in the JSON document, as the daemon's /api/status */
#define STATUS_JSON_TENANTS 5000

/* A sync state's mark, as plans mark what they will not make ('!') and
 * what they change ('~'). */
static char sync_mark(const char *sync)
{
	if (!sync)
		return ' ';
	if (strcmp(sync, "failed") == 0 || strcmp(sync, "blocked") == 0)
		return '!';
	if (strcmp(sync, "drifted") == 0 || strcmp(sync, "out-of-sync") == 0)
		return '~';
	return ' ';
}

static void show_sync(const json_t *doc, bool color)
{
	const json_t *counts = json_object_get(doc, "counts");
	printf("tenants by sync state:");
	for (int k = 0; k < STATE_SYNC_NSTATES; k++)
		printf("%s %s %s", k ? "," : "", CLI_N(json_integer_value(json_object_get(counts, STATE_SYNC_STATES[k]))),
		       STATE_SYNC_STATES[k]);
	printf("\n");
	size_t i;
	const json_t *t;
	json_array_foreach(json_object_get(doc, "tenants"), i, t) {
		char ago[32];
		cli_age(json_integer_value(json_object_get(t, "since")), ago);
		const char *sync = json_string_value(json_object_get(t, "state"));
		printf("%s %-11s %s (%s ago): %s\n", cli_mark(sync_mark(sync), color).s, sync,
		       json_string_value(json_object_get(t, "tenant")), ago,
		       json_string_value(json_object_get(t, "reason")));
	}
	json_int_t more = json_integer_value(json_object_get(doc, "tenants_not_synced")) - (json_int_t)i;
	if (more > 0)
		printf("  … and %s more (flotilla status --format json lists up to %s)\n", CLI_N(more),
		       CLI_N(STATUS_JSON_TENANTS));
}

/* How long ago a branch was made (created_at, RFC 3339), or "?". */
static void made_ago(const char *created_at, char age[32])
{
	int64_t made = created_at ? cli_utc_parse(created_at) : -1;
	if (made >= 0)
		cli_age(made, age);
	else
		str_copy(age, "?", 32);
}

/* The branches restores preserved, fleet-wide: how many, the oldest few. */
static void show_preserved_fleet(const json_t *doc)
{
	const json_t *pb = json_object_get(doc, "preserved_branches");
	json_int_t total = json_integer_value(json_object_get(pb, "count"));
	if (total == 0)
		return;
	printf("preserved branches (made by flotilla restore, left alone): %s%s\n", CLI_N(total),
	       total > 1 ? ", oldest first" : "");
	size_t i;
	const json_t *b;
	json_array_foreach(json_object_get(pb, "oldest"), i, b) {
		const char *created = json_string_value(json_object_get(b, "created_at"));
		const char *at = json_string_value(json_object_get(b, "expires_at"));
		char age[32];
		made_ago(created, age);
		printf("  %s/%s: made %s ago, %s%s\n", json_string_value(json_object_get(b, "tenant")),
		       json_string_value(json_object_get(b, "branch")), age, at ? "expires " : "no expiry", at ? at : "");
	}
	if (total > (json_int_t)i)
		printf("  … and %s more (flotilla status TENANT lists a tenant's)\n", CLI_N(total - (json_int_t)i));
}

/* Tenants at 80% or more of a quota, from the last `flotilla usage` of
 * a month; nothing when none is. */
static void show_near_quota(const json_t *doc, bool color)
{
	const json_t *nq = json_object_get(doc, "near_quota");
	json_int_t count = json_integer_value(json_object_get(nq, "count"));
	if (!count)
		return;
	printf("near quota (80%% or more of a quota, from the last usage read): %s tenant%s\n", CLI_N(count),
	       count == 1 ? "" : "s");
	size_t i, k;
	const json_t *t, *q;
	json_array_foreach(json_object_get(nq, "tenants"), i, t) {
		printf("%s %s:", cli_mark('!', color).s, json_string_value(json_object_get(t, "tenant")));
		json_array_foreach(json_object_get(t, "quotas"), k, q) {
			const char *name = json_string_value(json_object_get(q, "quota"));
			json_int_t used = json_integer_value(json_object_get(q, "used"));
			json_int_t limit = json_integer_value(json_object_get(q, "limit"));
			char u[32], l[32];
			bool bytes = strcmp(name, "dataTransfer") == 0 || strcmp(name, "logicalSize") == 0;
			if (bytes) {
				fmt_size(used, u);
				fmt_size(limit, l);
			} else {
				snprintf(u, sizeof(u), "%.1fh", (double)used / 3600.0);
				snprintf(l, sizeof(l), "%.1fh", (double)limit / 3600.0);
			}
			printf("%s %s %s of %s (%d%%)", k ? "," : "", name, u, l,
			       (int)json_integer_value(json_object_get(q, "percent")));
		}
		printf("\n");
	}
	if (count > (json_int_t)i)
		printf("  … and %s more (flotilla status --format json lists up to %s)\n", CLI_N(count - (json_int_t)i),
		       CLI_N(STATUS_JSON_TENANTS));
}

static int show_fleet(state *st, bool color)
{
	json_t *doc = NULL;
	if (status_document(st, STATUS_TEXT_TENANTS, &doc) != 0)
		return cli_fail("status", "%s", err_msg());
	state_summary sum;
	if (state_summary_get(st, &sum) != 0) {
		json_decref(doc);
		return cli_fail("status", "%s", err_msg());
	}
	char *fleet = NULL;
	if (state_meta_get(st, "fleet", &fleet) != 0)
		fleet = NULL;
	char age[32];
	cli_age(sum.list_refreshed_at, age);
	printf("fleet %s\n", fleet ? fleet : "(not refreshed yet)");
	show_sync(doc, color);
	show_near_quota(doc, color);
	printf("cache: %s projects, last complete list %s%s\n", CLI_N(sum.projects), age,
	       sum.list_refreshed_at ? " ago" : "");
	printf("tenants: %s mapped to a project; %s projects not mapped to a tenant\n",
	       CLI_N(sum.tenants_mapped), CLI_N(sum.projects_unmapped));
	if (sum.tenants_without_project)
		printf("         %s mapped tenants whose project is no longer in the cache\n",
		       CLI_N(sum.tenants_without_project));
	printf("computes (from deep reads): %s active, %s idle", CLI_N(sum.endpoints_active),
	       CLI_N(sum.endpoints_idle));
	if (sum.endpoints_other)
		printf(", %s starting", CLI_N(sum.endpoints_other));
	printf("\n");
	printf("branches flotilla did not make (from deep reads): %s; left alone unless listed, or pruneBranches\n",
	       CLI_N(sum.branches_unmarked));
	show_preserved_fleet(doc);
	json_decref(doc);
	if (sum.nby_region) {
		printf("projects by region:\n");
		for (size_t i = 0; i < sum.nby_region; i++)
			printf("  %-22s %s\n", sum.by_region[i].key, CLI_N(sum.by_region[i].n));
	}
	char *applied = NULL;
	if (state_meta_get(st, "last_applied_commit", &applied) == 0 && applied)
		printf("last applied commit: %s\n", applied);
	free(applied);
	runs_ctx rc = {0};
	if (state_runs_recent(st, 5, show_run, &rc) != 0)
		log_warn("status: cannot read the run history", "error", err_msg());
	free(fleet);
	state_summary_release(&sum);
	return EXIT_OK;
}

static const char *branch_name(const state_deep *d, const char *id)
{
	for (size_t i = 0; id && i < d->nbranches; i++)
		if (strcmp(d->branches[i].id, id) == 0)
			return d->branches[i].name;
	return id ? id : "?";
}

/* A branch `flotilla restore` preserved: its age and expiry. */
static void show_preserved(state *st, const char *tenant, const state_branch *br)
{
	char age[32];
	made_ago(br->created_at, age);
	char at[STATUS_EXPIRY_LEN];
	if (status_preserved_expiry(st, tenant, br->id, at) != 0)
		log_warn("status: cannot read the journal for the preserved branch's expiry", "error", err_msg());
	printf("  preserved branch %s (by a restore, left alone): made %s ago, %s%s\n", br->name, age,
	       at[0] ? "expires " : "no expiry", at);
}

static int show_tenant(state *st, const char *name)
{
	json_t *doc = NULL;
	if (status_tenant_document(st, name, &doc) == 0) {
		char ago[32];
		const char *sync = json_string_value(json_object_get(doc, "state"));
		cli_age(json_integer_value(json_object_get(doc, "since")), ago);
		if (strcmp(sync, "synced") == 0)
			printf("tenant %s: synced\n", name);
		else
			printf("tenant %s: %s (%s ago): %s\n", name, sync, ago,
			       json_string_value(json_object_get(doc, "reason")));
		size_t i;
		const json_t *f;
		json_array_foreach(json_object_get(doc, "fields"), i, f)
			printf("  %s: live %s, git %s\n", json_string_value(json_object_get(f, "path")),
			       json_string_value(json_object_get(f, "live")) ?: "(none)",
			       json_string_value(json_object_get(f, "git")) ?: "(none)");
		json_decref(doc);
	}
	state_tenant t;
	if (state_tenant_get(st, name, &t) != 0)
		return cli_fail("status", "no tenant named '%s' in the state (run flotilla refresh, or it has "
			       "not been created yet)", name);
	state_project p;
	int rc = state_project_get(st, t.project_id, &p);
	char mapped[32];
	cli_age(t.mapped_at, mapped);
	printf("tenant %s -> project %s (mapped by %s, %s ago)\n", t.tenant, t.project_id, t.source, mapped);
	if (rc != 0) {
		printf("  the project is not in the cache: it was deleted in Neon, or the cache is older than it\n");
		state_tenant_release(&t);
		return EXIT_OK;
	}
	char a[32], b[32], c[32], d[32], e[32];
	char mn[16], mx[16];
	printf("  name %s, region %s, Postgres %d, created %s\n", p.name, p.region_id, p.pg_version, p.created_at);
	cli_age(p.listed_at, a);
	printf("  listed %s ago", a);
	if (p.deep_at) {
		cli_age(p.deep_at, b);
		printf("; read deep %s ago", b);
	} else {
		printf("; never read deep (flotilla refresh --full)");
	}
	printf("\n");
	fmt_time(p.quota_active_time, a);
	fmt_time(p.quota_compute_time, b);
	fmt_size(p.quota_written_data, c);
	fmt_size(p.quota_data_transfer, d);
	fmt_size(p.quota_logical_size, e);
	printf("  quota: active time %s, compute time %s, written data %s, data transfer %s, logical size %s\n", a,
	       b, c, d, e);
	unit_duration_format(p.history_retention_seconds, a);
	printf("  history retention %s\n", a);
	if (p.min_cu > 0) {
		fmt_cu(p.min_cu, mn);
		fmt_cu(p.max_cu, mx);
		if (p.suspend_timeout_seconds < 0)
			str_copy(a, "never", sizeof(a));
		else
			unit_duration_format(p.suspend_timeout_seconds ? p.suspend_timeout_seconds : 300, a);
		printf("  default compute: %s-%s CU, suspends after %s idle\n", mn, mx, a);
	}
	state_deep deep;
	if (p.deep_at && state_deep_get(st, p.id, &deep) == 0) {
		for (size_t i = 0; i < deep.nbranches; i++) {
			const state_branch *br = &deep.branches[i];
			bool marked = br->annotations_json && strstr(br->annotations_json, "\"flotilla.fleet\"");
			if (!br->is_default && str_has_prefix(br->name, DIFF_PRESERVED_PREFIX)) {
				show_preserved(st, name, br);
				continue;
			}
			printf("  branch %s%s%s%s%s\n", br->name, br->is_default ? " (default)" : "",
			       br->parent_id ? " from " : "", br->parent_id ? branch_name(&deep, br->parent_id) : "",
			       br->is_default || marked ? "" : " (not made by flotilla)");
		}
		for (size_t i = 0; i < deep.nendpoints; i++) {
			const state_endpoint *ep = &deep.endpoints[i];
			fmt_cu(ep->min_cu, mn);
			fmt_cu(ep->max_cu, mx);
			printf("  compute %s on %s: %s, %s-%s CU, %s%s%s\n", ep->id, branch_name(&deep, ep->branch_id),
			       ep->read_write ? "read_write" : "read_only", mn, mx,
			       ep->current_state ? ep->current_state : "?",
			       ep->last_active ? ", last active " : "", ep->last_active ? ep->last_active : "");
		}
		for (size_t i = 0; i < deep.ndatabases; i++)
			printf("  database %s owned by %s on %s\n", deep.databases[i].name, deep.databases[i].owner,
			       branch_name(&deep, deep.databases[i].branch_id));
		for (size_t i = 0; i < deep.nroles; i++)
			printf("  role %s on %s\n", deep.roles[i].name, branch_name(&deep, deep.roles[i].branch_id));
		state_deep_release(&deep);
	}
	state_project_release(&p);
	state_tenant_release(&t);
	return EXIT_OK;
}

/* --idle DUR and --as-of TIME */
typedef struct idle_opts {
	const char *idle, *as_of;
} idle_opts;

static int idle_opt(void *arg, int c, const char *value)
{
	idle_opts *i = arg;
	if (c == 'i')
		i->idle = value;
	else if (c == 'a')
		i->as_of = value;
	return c == 'i' || c == 'a';
}

/* The idle options' values: *min_idle -1 without --idle. */
static int idle_values(const idle_opts *i, const char *tenant, int64_t *min_idle, int64_t *as_of)
{
	*min_idle = -1;
	*as_of = (int64_t)time(NULL);
	if (!i->idle)
		return i->as_of ? cli_fail("status", "--as-of goes with --idle DUR") : EXIT_OK;
	if (tenant)
		return cli_fail("status", "--idle lists the fleet's idle tenants: give no TENANT (flotilla status %s "
			       "shows that tenant)", tenant);
	if (unit_duration_parse(i->idle, false, min_idle) != 0)
		return cli_fail("status", "--idle %s: %s", i->idle, err_msg());
	if (i->as_of && !idle_parse_time(i->as_of, as_of))
		return cli_fail("status", "--as-of %s: not an RFC 3339 time (like 2026-12-31T00:00:00Z)", i->as_of);
	return EXIT_OK;
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{"state", required_argument, NULL, OPT_STATE},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"idle", required_argument, NULL, 'i'},
		{"as-of", required_argument, NULL, 'a'},
		{NULL, 0, NULL, 0},
	};
	cli_opts o;
	cli_opts_init(&o);
	idle_opts io = {NULL, NULL};
	const char *tenant = NULL;
	if (cli_opts_parse("status", argc, argv, opts, CLI_COLOR, &o, idle_opt, &io) != EXIT_OK)
		return EXIT_ERROR;
	if (optind < argc)
		tenant = argv[optind++];
	if (cli_opts_extra("status", argc, argv) != EXIT_OK)
		return EXIT_ERROR;
	const char *format = o.format ? o.format : "text";
	if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0)
		return cli_fail("status", "unknown format '%s': use text or json", format);
	int64_t min_idle, as_of;
	if (idle_values(&io, tenant, &min_idle, &as_of) != EXIT_OK)
		return EXIT_ERROR;
	/* status only reads: it must not leave a new empty state file behind */
	state *st = NULL;
	if (cli_state_open_existing("status", o.state_path, &st) != EXIT_OK)
		return EXIT_ERROR;
	int rc;
	if (min_idle >= 0) {
		rc = status_idle(st, min_idle, as_of, strcmp(format, "json") == 0);
	} else if (strcmp(format, "json") == 0) {
		json_t *doc = NULL;
		rc = tenant ? status_tenant_document(st, tenant, &doc) : status_document(st, STATUS_JSON_TENANTS, &doc);
		char *text = rc == 0 ? json_dumps(doc, JSON_INDENT(2)) : NULL;
		if (text)
			printf("%s\n", text);
		else
			cli_fail("status", "%s", rc == 0 ? "cannot render the status document" : err_msg());
		rc = text ? EXIT_OK : EXIT_ERROR;
		free(text);
		json_decref(doc);
	} else {
		rc = tenant ? show_tenant(st, tenant) : show_fleet(st, cli_color(&o));
	}
	state_close(st);
	return rc;
}
