/*
 * cmd_state_show.c: `flotilla state list` and `flotilla state show
 * TENANT`: what the state holds, row by row, read offline (no API call).
 *
 * list walks the tenant map a page at a time (state_tenant_rows_page: the
 * map joined with the cached project and the sync row, one query a page),
 * printing each page before reading the next, so 300,000 tenants are
 * never all in memory; its JSON is streamed the same way, one document
 * (docs/cli.md). show prints status_rows_document (engine/status.c), the
 * same reading `flotilla status TENANT` summarizes.
 */
#include <getopt.h>
#include <string.h>

#include "reconciler/reconciler.h"

/* tenants a page */
#define LIST_PAGE 1000
/* journal rows state show prints */
#define SHOW_JOURNAL 10

typedef struct list_ctx {
	bool json;
	int64_t n[STATE_SYNC_NSTATES];
	int64_t total, protect, uncached;
	char last[128]; /* the page's last tenant: the next page starts after it */
} list_ctx;

static void list_row_text(const state_tenant_row *r)
{
	char pg[16] = "-";
	if (r->cached)
		snprintf(pg, sizeof(pg), "%d", r->pg_version);
	printf("%-24s %-26s %-10s %-18s %-3s %-11s %-7s %s\n", r->t.tenant, r->t.project_id, r->t.fleet,
	       r->cached ? r->region_id : "(not cached)", pg, r->sync_state, r->protect ? "yes" : "no",
	       r->sync_reason);
}

static void list_row_json(const list_ctx *c, const state_tenant_row *r)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:b}", "tenant", r->t.tenant, "project_id", r->t.project_id, "fleet",
			      r->t.fleet, "mapped_by", r->t.source, "mapped_at", (json_int_t)r->t.mapped_at, "protect",
			      r->protect);
	json_object_set_new(o, "project", r->cached ? json_pack("{s:s,s:s,s:i}", "name", r->project_name, "region_id",
								 r->region_id, "pg_version", r->pg_version)
						  : json_null());
	json_object_set_new(o, "sync", json_pack("{s:s,s:s,s:o}", "state", r->sync_state, "reason", r->sync_reason,
						 "since", r->sync_since ? json_integer(r->sync_since) : json_null()));
	char *text = json_dumps(o, JSON_COMPACT);
	printf("%s\n    %s", c->total > 1 ? "," : "", text);
	free(text);
	json_decref(o);
}

static int list_row(void *arg, const state_tenant_row *r)
{
	list_ctx *c = arg;
	int k = state_sync_index(r->sync_state);
	c->n[k < 0 ? STATE_SYNC_OUT_OF_SYNC : k]++;
	c->total++;
	c->protect += r->protect;
	c->uncached += !r->cached;
	str_copy(c->last, r->t.tenant, sizeof(c->last));
	if (c->json)
		list_row_json(c, r);
	else
		list_row_text(r);
	return 0;
}

typedef struct gone_ctx {
	int64_t n;
	json_t *a; /* or NULL: only counted */
} gone_ctx;

static int count_gone(void *arg, const state_forgotten *f)
{
	gone_ctx *g = arg;
	g->n++;
	if (g->a)
		json_array_append_new(g->a, json_pack("{s:s,s:s,s:s,s:I,s:o}", "tenant", f->tenant, "project_id",
						      f->project_id, "fleet", f->fleet, "forgotten_at",
						      (json_int_t)f->forgotten_at, "run_id",
						      f->run_id ? json_integer(f->run_id) : json_null()));
	return 0;
}

static void list_footer_text(const list_ctx *c, int64_t forgotten)
{
	char n[32];
	unit_count_format(c->total, n);
	printf("%s tenant%s mapped:", n, c->total == 1 ? "" : "s");
	for (int k = 0; k < STATE_SYNC_NSTATES; k++) {
		unit_count_format(c->n[k], n);
		printf("%s %s %s", k ? "," : "", n, STATE_SYNC_STATES[k]);
	}
	unit_count_format(c->protect, n);
	printf("; %s protected", n);
	if (c->uncached) {
		unit_count_format(c->uncached, n);
		printf("; %s whose project is not in the cache (flotilla refresh)", n);
	}
	if (forgotten) {
		unit_count_format(forgotten, n);
		printf("; %s forgotten (flotilla state show TENANT)", n);
	}
	printf("\n");
}

static void list_footer_json(const list_ctx *c, json_t *gone)
{
	json_t *counts = json_pack("{s:I,s:I,s:I}", "tenants", (json_int_t)c->total, "protected", (json_int_t)c->protect,
				   "not_cached", (json_int_t)c->uncached);
	for (int k = 0; k < STATE_SYNC_NSTATES; k++)
		json_object_set_new(counts, STATE_SYNC_STATES[k], json_integer(c->n[k]));
	json_object_set_new(counts, "forgotten", json_integer((json_int_t)json_array_size(gone)));
	char *ct = json_dumps(counts, JSON_COMPACT), *gt = json_dumps(gone, JSON_COMPACT);
	printf("%s],\n  \"counts\": %s,\n  \"forgotten\": %s\n}\n", c->total ? "\n  " : "", ct, gt);
	free(ct);
	free(gt);
	json_decref(counts);
}

/* The format option: "text" or "json", else EXIT_ERROR after saying so. */
static int take_format(const char *cmd, const cli_opts *o, bool *json)
{
	const char *format = o->format ? o->format : "text";
	*json = strcmp(format, "json") == 0;
	if (!*json && strcmp(format, "text") != 0)
		return cli_fail(cmd, "unknown format '%s': use text or json", format);
	return EXIT_OK;
}

static const struct option read_opts[] = {
	{"state", required_argument, NULL, OPT_STATE},
	{"format", required_argument, NULL, OPT_FORMAT},
	{NULL, 0, NULL, 0},
};

int cmd_state_list(int argc, char **argv)
{
	cli_opts o;
	cli_opts_init(&o);
	list_ctx c;
	memset(&c, 0, sizeof(c));
	if (cli_opts_parse("state list", argc, argv, read_opts, 0, &o, NULL, NULL) != EXIT_OK ||
	    cli_opts_extra("state list", argc, argv) != EXIT_OK || take_format("state list", &o, &c.json) != EXIT_OK)
		return EXIT_ERROR;
	state *st = NULL;
	if (cli_state_open_existing("state list", o.state_path, &st) != EXIT_OK)
		return EXIT_ERROR;
	char *fleet = NULL;
	int rc = state_meta_get(st, "fleet", &fleet);
	if (rc == 0 && c.json) {
		json_t *f = fleet ? json_string(fleet) : json_null();
		char *ft = json_dumps(f, JSON_ENCODE_ANY);
		printf("{\n  \"version\": 1,\n  \"fleet\": %s,\n  \"tenants\": [", ft);
		free(ft);
		json_decref(f);
	} else if (rc == 0) {
		printf("%-24s %-26s %-10s %-18s %-3s %-11s %-7s %s\n", "TENANT", "PROJECT", "FLEET", "REGION", "PG", "SYNC",
		       "PROTECT", "REASON");
	}
	int64_t before = -1;
	while (rc == 0 && c.total != before) {
		before = c.total;
		char after[128];
		str_copy(after, c.last, sizeof(after));
		rc = state_tenant_rows_page(st, after, LIST_PAGE, list_row, &c);
	}
	gone_ctx g = {0, c.json ? json_array() : NULL};
	if (rc == 0)
		rc = state_forgotten_foreach(st, count_gone, &g);
	if (rc == 0 && c.json)
		list_footer_json(&c, g.a);
	else if (rc == 0)
		list_footer_text(&c, g.n);
	else
		cli_fail("state list", "%s", err_msg());
	json_decref(g.a);
	free(fleet);
	state_close(st);
	return rc == 0 ? EXIT_OK : EXIT_ERROR;
}

/* ----------------------------------------------------------------- show */

static const char *jstr(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : "";
}

static void show_ago(const char *what, const json_t *o, const char *key)
{
	char ago[32];
	json_int_t t = json_integer_value(json_object_get(o, key));
	cli_age(t, ago);
	printf("%s %s%s", what, ago, t ? " ago" : "");
}

static void show_json_line(const char *label, const json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	printf("  %s %s\n", label, text ? text : "?");
	free(text);
}

static void show_project_row(const json_t *p)
{
	printf("project row: %s named %s, region %s, Postgres %lld, created %s, updated %s\n", jstr(p, "id"),
	       jstr(p, "name"), jstr(p, "region_id"), (long long)json_integer_value(json_object_get(p, "pg_version")),
	       jstr(p, "created_at"), jstr(p, "updated_at"));
	printf("  history_retention_seconds %lld\n",
	       (long long)json_integer_value(json_object_get(p, "history_retention_seconds")));
	static const char *const keys[] = {"quota", "default_endpoint", "pg_settings", "allowed_ips",
					   "protected_branches_only", "logical_replication", "block_public_connections",
					   "maintenance_window", "compute_last_active_at", "synthetic_storage_size"};
	for (size_t i = 0; i < ARRAY_LEN(keys); i++)
		show_json_line(keys[i], json_object_get(p, keys[i]));
	show_ago("  listed", p, "listed_at");
	show_ago("; read deep", p, "deep_read_at");
	printf("; fingerprint %s (at the deep read: %s)\n", jstr(p, "fingerprint"),
	       json_is_string(json_object_get(p, "deep_fingerprint")) ? jstr(p, "deep_fingerprint") : "none");
}

static void show_deep(const json_t *d)
{
	size_t i;
	const json_t *v;
	json_array_foreach(json_object_get(d, "branches"), i, v) {
		printf("branch %s %s%s%s\n", jstr(v, "id"), jstr(v, "name"),
		       json_is_true(json_object_get(v, "default")) ? " (default)" : "",
		       json_is_true(json_object_get(v, "protected")) ? " (protected)" : "");
		if (json_is_string(json_object_get(v, "parent_id")))
			printf("  parent %s\n", jstr(v, "parent_id"));
		show_json_line("annotations", json_object_get(v, "annotations"));
	}
	json_array_foreach(json_object_get(d, "endpoints"), i, v)
		printf("endpoint %s on %s: %s, %g-%g CU, suspend_timeout_seconds %lld%s, %s\n", jstr(v, "id"),
		       jstr(v, "branch_id"), jstr(v, "type"), json_real_value(json_object_get(v, "min_cu")),
		       json_real_value(json_object_get(v, "max_cu")),
		       (long long)json_integer_value(json_object_get(v, "suspend_timeout_seconds")),
		       json_is_true(json_object_get(v, "disabled")) ? ", disabled" : "",
		       json_is_string(json_object_get(v, "current_state")) ? jstr(v, "current_state") : "?");
	json_array_foreach(json_object_get(d, "databases"), i, v)
		printf("database %s on %s, owner %s\n", jstr(v, "name"), jstr(v, "branch_id"), jstr(v, "owner"));
	json_array_foreach(json_object_get(d, "roles"), i, v)
		printf("role %s on %s\n", jstr(v, "name"), jstr(v, "branch_id"));
}

static void show_rows_text(const json_t *doc)
{
	const json_t *v;
	size_t i;
	const char *tenant = jstr(doc, "tenant"), *sync = jstr(doc, "state");
	if (json_is_string(json_object_get(doc, "project_id"))) {
		printf("tenant %s -> project %s (mapped by %s", tenant, jstr(doc, "project_id"), jstr(doc, "mapped_by"));
		show_ago(",", doc, "mapped_at");
		printf("; protect %s)\n", json_is_true(json_object_get(doc, "protect")) ? "yes" : "no");
	} else {
		printf("tenant %s: not mapped to a project\n", tenant);
	}
	printf("sync: %s", sync);
	if (strcmp(sync, "synced") != 0 && json_is_integer(json_object_get(doc, "since")))
		show_ago(" for", doc, "since");
	printf("%s%s\n", jstr(doc, "reason")[0] ? ": " : "", jstr(doc, "reason"));
	json_array_foreach(json_object_get(doc, "fields"), i, v)
		printf("  %s: live %s, git %s\n", jstr(v, "path"), json_is_string(json_object_get(v, "live")) ? jstr(v, "live") : "(none)",
		       json_is_string(json_object_get(v, "git")) ? jstr(v, "git") : "(none)");
	const json_t *p = json_object_get(doc, "project_row");
	if (json_is_object(p))
		show_project_row(p);
	else if (json_is_string(json_object_get(doc, "project_id")))
		printf("project row: none (not in the cache: deleted in Neon, or not refreshed since)\n");
	const json_t *d = json_object_get(doc, "deep");
	if (json_is_object(d))
		show_deep(d);
	else if (json_is_object(p))
		printf("deep rows: none (never read deep: flotilla refresh --full)\n");
	json_array_foreach(json_object_get(doc, "journal"), i, v) {
		if (i == 0)
			printf("journal (last %d rows):\n", SHOW_JOURNAL);
		const json_t *in = json_object_get(v, "intent");
		printf("  #%lld %s %s", (long long)json_integer_value(json_object_get(v, "id")), jstr(v, "action"),
		       jstr(v, "state"));
		if (json_is_string(json_object_get(in, "method")) && !strchr(jstr(v, "action"), ' '))
			printf(" %s %s", jstr(in, "method"), jstr(in, "path"));
		show_ago(",", v, "updated_at");
		printf("%s%s\n", json_is_string(json_object_get(v, "error")) ? ": " : "", jstr(v, "error"));
	}
	json_array_foreach(json_object_get(doc, "forgotten"), i, v) {
		printf("forgotten: project %s of fleet %s", jstr(v, "project_id"), jstr(v, "fleet"));
		show_ago(",", v, "forgotten_at");
		printf(" (run %lld); the project was left in Neon\n", (long long)json_integer_value(json_object_get(v, "run_id")));
	}
}

int cmd_state_show(int argc, char **argv)
{
	cli_opts o;
	cli_opts_init(&o);
	bool json = false;
	if (cli_opts_parse("state show", argc, argv, read_opts, 0, &o, NULL, NULL) != EXIT_OK ||
	    take_format("state show", &o, &json) != EXIT_OK)
		return EXIT_ERROR;
	const char *tenant = NULL;
	if (cli_tenant_arg("state show", argc, argv, &tenant) != EXIT_OK)
		return EXIT_ERROR;
	state *st = NULL;
	if (cli_state_open_existing("state show", o.state_path, &st) != EXIT_OK)
		return EXIT_ERROR;
	json_t *doc = NULL;
	int rc = status_rows_document(st, tenant, SHOW_JOURNAL, &doc);
	if (rc == ERR_NOTFOUND) {
		rc = cli_tenant_unknown("state show", st, tenant);
	} else if (rc != 0) {
		rc = cli_fail("state show", "%s", err_msg());
	} else if (json) {
		char *text = json_dumps(doc, JSON_INDENT(2));
		printf("%s\n", text);
		free(text);
		rc = EXIT_OK;
	} else {
		show_rows_text(doc);
		rc = EXIT_OK;
	}
	json_decref(doc);
	state_close(st);
	return rc;
}
