/*
 * test-diff.c: unit tests for diff/'s renderers (text, JSON, Markdown) and
 * plan files.
 *
 * Plans are built by hand here, field by field, so these tests pin the
 * output formats independently of plan_build: grouping of identical
 * changes with samples, every section, thousands separators, the
 * no-changes text, the notes of branches left alone (those flotilla did
 * not make, those a restore preserved), the JSON shape (noops left out), Markdown truncation
 * within its limit, and plan files that round-trip, are 0600 and refuse
 * any change made after they were written. The plans are freed by a local
 * helper rather than plan_free, so the tests stand on render.c and
 * planfile.c alone. What a create shows is tested in test-diff-create.c,
 * on plans plan_build makes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diff/diff.h"
#include "util/util.h"

#include "helpers.h"
#include "render-helpers.h"

#define CREATED 1795000000 /* 2026-11-18T11:06:40Z */

/* ------------------------------------------------------------ builders */

static plan *mkplan(void)
{
	plan *p = xcalloc(1, sizeof(*p));
	p->commit = xstrdup("0123456789abcdef0123456789abcdef01234567");
	p->fleet = xstrdup("prod");
	p->created_at = CREATED;
	p->cache_refreshed_at = CREATED - 200; /* 3m20s: "3m" */
	p->blobs_parsed = 7;
	p->blobs_cached = 5;
	p->state_generation = 7;
	return p;
}

static plan_action *add_action(plan *p, const char *tenant, plan_kind kind, const char *project_id)
{
	/* grown by doubling: a one-by-one realloc of 41,200 actions is
	 * quadratic, and slow under the sanitizers */
	if ((p->nactions & (p->nactions - 1)) == 0)
		p->actions = xrealloc(p->actions, (p->nactions ? 2 * p->nactions : 1) *
							  sizeof(*p->actions));
	plan_action *a = &p->actions[p->nactions++];
	memset(a, 0, sizeof(*a));
	a->tenant = xstrdup(tenant);
	a->kind = kind;
	a->project_id = project_id ? xstrdup(project_id) : NULL;
	if (project_id)
		sha256_hex(project_id, strlen(project_id), a->fingerprint);
	return a;
}

static void add_change(plan_action *a, const char *path, const char *from, const char *to)
{
	a->changes = xrealloc(a->changes, (a->nchanges + 1) * sizeof(*a->changes));
	plan_change *c = &a->changes[a->nchanges++];
	c->path = xstrdup(path);
	c->from = from ? xstrdup(from) : NULL;
	c->to = to ? xstrdup(to) : NULL;
}

/* body: stolen (may be NULL) */
static void add_call(plan_action *a, const char *method, const char *path, json_t *body,
		     bool destructive, bool after_create)
{
	a->calls = xrealloc(a->calls, (a->ncalls + 1) * sizeof(*a->calls));
	plan_call *c = &a->calls[a->ncalls++];
	c->method = xstrdup(method);
	c->path = xstrdup(path);
	c->body = body;
	c->destructive = destructive;
	c->after_create = after_create;
}

/* Set the totals from the actions, as plan_build does. */
static void recount(plan *p)
{
	p->ncreate = p->nupdate = p->ndelete = p->nblocked = p->norphan = p->nnoop = p->nadopt = 0;
	p->ncalls = p->ndeep_unknown = 0;
	for (size_t i = 0; i < p->nactions; i++)
		plan_count(p, &p->actions[i]);
}

static void add_quota_update(plan *p, const char *tenant, const char *pid)
{
	plan_action *a = add_action(p, tenant, PLAN_UPDATE, pid);
	add_change(a, "quota.computeTime", "50h", "100h");
	char *path = xasprintf("/projects/%s", pid);
	add_call(a, "PATCH", path,
		 json_pack("{s:{s:{s:i}}}", "project", "settings", "quota", "compute_time_seconds",
			   360000),
		 false, false);
	free(path);
}

static void add_create(plan *p, const char *tenant, const char *region, int pg)
{
	plan_action *a = add_action(p, tenant, PLAN_CREATE, NULL);
	add_call(a, "POST", "/projects",
		 json_pack("{s:{s:s,s:s,s:i}}", "project", "name", tenant, "region_id", region,
			   "pg_version", pg),
		 false, false);
	add_call(a, "POST", "/projects/{project_id}/branches",
		 json_pack("{s:{s:s}}", "branch", "name", "staging"), false, true);
}

/* A plan with every kind, in tenant name order. */
static plan *every_kind_plan(void)
{
	plan *p = mkplan();
	plan_action *a;
	add_create(p, "alpha", "aws-us-east-2", 17);
	a = add_action(p, "acme", PLAN_UPDATE, "prj-acme");
	add_change(a, "compute.maxCu", "1", "2");
	add_change(a, "readReplicas", "0", "1");
	add_call(a, "PATCH", "/projects/prj-acme/endpoints/ep-1",
		 json_pack("{s:{s:f}}", "endpoint", "autoscaling_limit_max_cu", 2.0), false, false);
	add_call(a, "POST", "/projects/prj-acme/endpoints",
		 json_pack("{s:{s:s,s:s}}", "endpoint", "branch_id", "br-main", "type", "read_only"),
		 false, false);
	add_quota_update(p, "beta", "prj-beta");
	add_create(p, "bravo", "aws-us-east-2", 17);
	a = add_action(p, "cleo", PLAN_UPDATE, "prj-cleo");
	add_change(a, "databases[main/legacy]", "present", NULL);
	add_call(a, "DELETE", "/projects/prj-cleo/branches/br-7/databases/legacy", NULL, true, false);
	a->deep_unknown = false;
	add_create(p, "delta", "aws-eu-central-1", 16);
	a = add_action(p, "dora", PLAN_DELETE, "prj-dora");
	a->reason = xstrdup("tenant 'dora' has no manifest and the fleet prunes");
	add_call(a, "DELETE", "/projects/prj-dora", NULL, true, false);
	a = add_action(p, "echo", PLAN_BLOCKED, "prj-echo");
	a->reason = xstrdup("tenant 'echo': region cannot change from 'aws-us-east-2' to "
			    "'aws-eu-central-1'");
	add_quota_update(p, "gamma", "prj-gamma");
	a = add_action(p, "hal", PLAN_NOOP, "prj-hal");
	a->deep_unknown = true;
	add_quota_update(p, "kilo", "prj-kilo");
	a = add_action(p, "olga", PLAN_ORPHAN, "prj-olga");
	a->reason = xstrdup("tenant 'olga' has no manifest; fleet prune is off");
	a = add_action(p, "oscar", PLAN_ORPHAN, "prj-oscar");
	a->reason = xstrdup("tenant 'oscar' has no manifest; fleet prune is off");
	add_quota_update(p, "zulu", "prj-zulu");
	recount(p);
	return p;
}

static char *render_json(const plan *p)
{
	buf b = BUF_INIT(0);
	assert_int_equal(plan_render_json(p, &b), 0);
	return buf_detach(&b, NULL);
}

/* ------------------------------------------------------------------ text */

static void test_text_every_section(void **ctx)
{
	(void)ctx;
	plan *p = every_kind_plan();
	char *t = render_text(p);
	assert_string_equal(
		t,
		"flotilla plan: fleet prod at 0123456 (cache age 3m)\n"
		"\n"
		"+ create (3)\n"
		"+ 2 tenants (aws-us-east-2, pg 17): alpha, bravo\n"
		"    branch staging\n"
		"+ delta (aws-eu-central-1, pg 16)\n"
		"    branch staging\n"
		"\n"
		"~ update (6)\n"
		"~ 4 tenants: quota.computeTime 50h -> 100h\n"
		"    e.g. beta, gamma, kilo (and 1 more)\n"
		"~ acme: compute.maxCu 1 -> 2; readReplicas 0 -> 1\n"
		"~ cleo: databases[main/legacy] present -> (none)\n"
		"    deletes: database 'legacy'\n"
		"\n"
		"- delete (1)\n"
		"- dora: project prj-dora (destructive)\n"
		"\n"
		"! blocked (1)\n"
		"! echo: tenant 'echo': region cannot change from 'aws-us-east-2' to "
		"'aws-eu-central-1'\n"
		"\n"
		"? orphaned (2)\n"
		"? 2 tenants (manifest gone, prune off): olga, oscar\n"
		"\n"
		"1 tenant was not compared deep (no deep read in the cache; flotilla refresh --full)\n"
		"Plan: 3 to create, 6 to update, 1 to delete, 1 blocked, 2 orphaned; 14 API calls; "
		"cache age 3m\n");
	free(t);
	plan_free(p);
}

/* With colour: each mark and section title in its colour, the rest as
 * without; stripped of the sequences it is the plain text. */
static void test_text_color(void **ctx)
{
	(void)ctx;
	plan *p = every_kind_plan();
	plan_render_opts o = PLAN_RENDER_OPTS_INIT;
	o.color = true;
	buf b = BUF_INIT(0);
	assert_int_equal(plan_render_text(p, &o, &b), 0);
	static const char *const want[] = {
		"\033[32m+ create (3)\033[0m\n",
		"\033[32m+\033[0m 2 tenants (aws-us-east-2, pg 17): alpha, bravo\n",
		"\033[33m~ update (6)\033[0m\n",
		"\033[33m~\033[0m 4 tenants: quota.computeTime 50h -> 100h\n    e.g. beta",
		"\033[31m- delete (1)\033[0m\n\033[31m-\033[0m dora:",
		"\033[31m! blocked (1)\033[0m\n\033[31m!\033[0m echo:",
		"\033[33m? orphaned (2)\033[0m\n\033[33m?\033[0m 2 tenants",
	};
	for (size_t i = 0; i < ARRAY_LEN(want); i++)
		assert_non_null(strstr(b.data, want[i]));
	/* no colour beyond the marks: the totals line is plain */
	assert_non_null(strstr(b.data, "\nPlan: 3 to create"));
	buf plain = BUF_INIT(0);
	for (const char *s = b.data; *s;) {
		if (*s == '\033') {
			s = strchr(s, 'm') + 1;
			continue;
		}
		assert_int_equal(buf_addc(&plain, *s++), 0);
	}
	char *t = render_text(p);
	assert_string_equal(plain.data, t);
	assert_null(strchr(t, '\033'));
	free(t);
	buf_release(&plain);
	buf_release(&b);
	plan_free(p);
}

static void test_text_grouping_samples(void **ctx)
{
	(void)ctx;
	plan *p = mkplan();
	add_quota_update(p, "acme", "prj-1");
	add_quota_update(p, "beta", "prj-2");
	add_quota_update(p, "gamma", "prj-3");
	add_quota_update(p, "omega", "prj-4");
	add_quota_update(p, "zeta", "prj-5");
	recount(p);
	char *t = render_text(p);
	assert_non_null(strstr(t, "\n~ 5 tenants: quota.computeTime 50h -> 100h\n"
				  "    e.g. acme, beta, gamma (and 2 more)\n\n"));
	/* grouped: no tenant has a line of its own */
	assert_null(strstr(t, "~ omega"));
	free(t);
	plan_free(p);

	/* exactly three: all named, no "and N more" */
	p = mkplan();
	add_quota_update(p, "acme", "prj-1");
	add_quota_update(p, "beta", "prj-2");
	add_quota_update(p, "gamma", "prj-3");
	recount(p);
	t = render_text(p);
	assert_non_null(strstr(t, "~ 3 tenants: quota.computeTime 50h -> 100h\n"
				  "    e.g. acme, beta, gamma\n"));
	assert_null(strstr(t, "more"));
	free(t);
	plan_free(p);
}

static void test_text_singletons(void **ctx)
{
	(void)ctx;
	plan *p = mkplan();
	/* same paths, different values: two groups of one */
	plan_action *a = add_action(p, "acme", PLAN_UPDATE, "prj-1");
	add_change(a, "compute.maxCu", "1", "2");
	a = add_action(p, "beta", PLAN_UPDATE, "prj-2");
	add_change(a, "compute.maxCu", "1", "4");
	/* an added value (from NULL) differs from the text "(none)" */
	a = add_action(p, "carl", PLAN_UPDATE, "prj-3");
	add_change(a, "branches[staging]", NULL, "present");
	a = add_action(p, "dave", PLAN_UPDATE, "prj-4");
	add_change(a, "branches[staging]", "(none)", "present");
	recount(p);
	char *t = render_text(p);
	assert_non_null(strstr(t, "~ update (4)\n"
				  "~ acme: compute.maxCu 1 -> 2\n"
				  "~ beta: compute.maxCu 1 -> 4\n"
				  "~ carl: branches[staging] (none) -> present\n"
				  "~ dave: branches[staging] (none) -> present\n\n"));
	assert_null(strstr(t, "tenants:"));
	free(t);
	plan_free(p);
}

static void test_text_thousands(void **ctx)
{
	(void)ctx;
	plan *p = mkplan();
	char name[32], pid[32];
	for (int i = 0; i < 41200; i++) {
		snprintf(name, sizeof(name), "t%05d", i);
		snprintf(pid, sizeof(pid), "prj-%05d", i);
		add_quota_update(p, name, pid);
	}
	for (int i = 0; i < 1234; i++) {
		snprintf(name, sizeof(name), "u%05d", i);
		add_create(p, name, "aws-us-east-2", 17);
	}
	p->cache_refreshed_at = 0;
	recount(p);
	char *t = render_text(p);
	assert_non_null(strstr(t, "fleet prod at 0123456 (cache age never)\n"));
	assert_non_null(strstr(t, "+ create (1,234)\n"
				  "+ 1,234 tenants (aws-us-east-2, pg 17): u00000, u00001, u00002 "
				  "(and 1,231 more)\n"));
	assert_non_null(strstr(t, "~ update (41,200)\n"
				  "~ 41,200 tenants: quota.computeTime 50h -> 100h\n"
				  "    e.g. t00000, t00001, t00002 (and 41,197 more)\n"));
	assert_non_null(strstr(t, "Plan: 1,234 to create, 41,200 to update, 0 to delete, 0 blocked, "
				  "0 orphaned; 43,668 API calls; cache age never\n"));
	free(t);
	plan_free(p);
}

static void test_text_no_changes(void **ctx)
{
	(void)ctx;
	plan *p = mkplan();
	free(p->commit);
	p->commit = xstrdup("");
	add_action(p, "acme", PLAN_NOOP, "prj-1");
	add_action(p, "beta", PLAN_NOOP, "prj-2");
	recount(p);
	char *t = render_text(p);
	assert_string_equal(t, "flotilla plan: fleet prod at working directory (cache age 3m)\n"
			       "\n"
			       "No changes. Your fleet matches the manifests.\n");
	free(t);
	plan_free(p);
}

static void test_text_blocked_cap(void **ctx)
{
	(void)ctx;
	plan *p = mkplan();
	char name[32];
	for (int i = 0; i < 1053; i++) {
		snprintf(name, sizeof(name), "b%04d", i);
		plan_action *a = add_action(p, name, PLAN_BLOCKED, "prj");
		a->reason = xasprintf("tenant '%s': pgVersion cannot change", name);
	}
	recount(p);
	char *t = render_text(p);
	assert_non_null(strstr(t, "! blocked (1,053)\n! b0000: tenant 'b0000': pgVersion cannot change\n"));
	assert_non_null(strstr(t, "! b0049: tenant 'b0049': pgVersion cannot change\n"
				  "… and 1,003 more blocked\n"));
	assert_null(strstr(t, "! b0050"));
	assert_non_null(strstr(t, "0 orphaned; 0 API calls; cache age 3m\n"));
	free(t);
	plan_free(p);
}

/* ------------------------------------------------------------------ JSON */

static void test_json_shape(void **ctx)
{
	(void)ctx;
	plan *p = every_kind_plan();
	char *t = render_json(p);
	/* key order is fixed: the top of the document is byte-exact */
	const char *head = "{\n"
			   "  \"format\": \"flotilla-plan\",\n"
			   "  \"version\": 1,\n"
			   "  \"commit\": \"0123456789abcdef0123456789abcdef01234567\",\n"
			   "  \"fleet\": \"prod\",\n"
			   "  \"org_id\": null,\n"
			   "  \"selected\": false,\n"
			   "  \"changed_since\": null,\n"
			   "  \"created_at\": \"2026-11-18T11:06:40Z\",\n"
			   "  \"cache_refreshed_at\": \"2026-11-18T11:03:20Z\",\n"
			   "  \"state_generation\": 7,\n"
			   "  \"summary\": {\n"
			   "    \"create\": 3,\n"
			   "    \"adopt\": 0,\n"
			   "    \"update\": 6,\n"
			   "    \"delete\": 1,\n"
			   "    \"blocked\": 1,\n"
			   "    \"orphaned\": 2,\n"
			   "    \"unchanged\": 1,\n"
			   "    \"api_calls\": 14,\n"
			   "    \"not_compared_deep\": 1,\n"
			   "    \"unmanaged_branches\": 0\n"
			   "  },\n"
			   "  \"stats\": {\n"
			   "    \"blobs_parsed\": 7,\n"
			   "    \"blobs_cached\": 5\n"
			   "  },\n"
			   "  \"actions\": [\n"
			   "    {\n"
			   "      \"tenant\": \"alpha\",\n"
			   "      \"kind\": \"create\",\n"
			   "      \"project_id\": null,\n"
			   "      \"reason\": null,\n"
			   "      \"hint\": null,\n"
			   "      \"deep_unknown\": false,\n"
			   "      \"fingerprint\": \"\",\n"
			   "      \"changes\": [],\n"
			   "      \"calls\": [\n";
	assert_memory_equal(t, head, strlen(head));

	json_error_t err;
	json_t *doc = json_loads(t, 0, &err);
	assert_non_null(doc);
	json_t *actions = json_object_get(doc, "actions");
	/* 14 actions, one noop left out */
	assert_int_equal(json_array_size(actions), 13);
	size_t i;
	json_t *a;
	json_array_foreach(actions, i, a) {
		assert_string_not_equal(json_string_value(json_object_get(a, "tenant")), "hal");
		assert_string_not_equal(json_string_value(json_object_get(a, "kind")), "noop");
	}
	/* cleo: a removed value is null, the destructive call is flagged */
	a = json_array_get(actions, 4);
	assert_string_equal(json_string_value(json_object_get(a, "tenant")), "cleo");
	assert_string_equal(json_string_value(json_object_get(a, "kind")), "update");
	json_t *ch = json_array_get(json_object_get(a, "changes"), 0);
	assert_string_equal(json_string_value(json_object_get(ch, "path")), "databases[main/legacy]");
	assert_string_equal(json_string_value(json_object_get(ch, "from")), "present");
	assert_true(json_is_null(json_object_get(ch, "to")));
	json_t *call = json_array_get(json_object_get(a, "calls"), 0);
	assert_string_equal(json_string_value(json_object_get(call, "method")), "DELETE");
	assert_true(json_is_null(json_object_get(call, "body")));
	assert_true(json_is_true(json_object_get(call, "destructive")));
	assert_true(json_is_false(json_object_get(call, "after_create")));
	assert_int_equal(strlen(json_string_value(json_object_get(a, "fingerprint"))), 64);
	/* bravo's branch waits for the create */
	a = json_array_get(actions, 3);
	assert_string_equal(json_string_value(json_object_get(a, "tenant")), "bravo");
	call = json_array_get(json_object_get(a, "calls"), 1);
	assert_true(json_is_true(json_object_get(call, "after_create")));
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(json_object_get(json_array_get(
					    json_object_get(a, "calls"), 0), "body"), "project"),
				    "region_id")),
			    "aws-us-east-2");
	/* olga: an orphan with its reason and no call */
	a = json_array_get(actions, 10);
	assert_string_equal(json_string_value(json_object_get(a, "kind")), "orphan");
	assert_string_equal(json_string_value(json_object_get(a, "reason")),
			    "tenant 'olga' has no manifest; fleet prune is off");
	assert_int_equal(json_array_size(json_object_get(a, "calls")), 0);
	json_decref(doc);
	free(t);

	/* a cache never refreshed is null */
	p->cache_refreshed_at = 0;
	t = render_json(p);
	assert_non_null(strstr(t, "\"cache_refreshed_at\": null,\n"));
	free(t);
	plan_free(p);
}

/* -------------------------------------------------------------- Markdown */

static plan *unique_updates(int n)
{
	plan *p = mkplan();
	char name[32], to[32];
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "t%05d", i);
		snprintf(to, sizeof(to), "%dh", i + 1);
		plan_action *a = add_action(p, name, PLAN_UPDATE, "prj");
		add_change(a, "quota.computeTime", "50h", to);
	}
	recount(p);
	return p;
}

static void add_unmanaged(plan *p, const char *tenant, const char *branch)
{
	p->unmanaged = xrealloc(p->unmanaged, (p->nunmanaged + 1) * sizeof(*p->unmanaged));
	p->unmanaged[p->nunmanaged++] = (plan_unmanaged){xstrdup(tenant), xstrdup("prj"), xstrdup(branch)};
}

/* Branches left alone: those flotilla did not make, and those a restore
 * preserved, on a line each (a paragraph each in Markdown). */
static void test_unmanaged_notes(void **ctx)
{
	(void)ctx;
	plan *p = mkplan();
	add_unmanaged(p, "acme", "preserved-main-20261204T135952Z");
	add_unmanaged(p, "acme", "theirs");
	for (int i = 0; i < 6; i++) {
		char b[32];
		snprintf(b, sizeof(b), "preserved-%d", i);
		add_unmanaged(p, "zeta", b);
	}
	recount(p);
	char *t = render_text(p);
	assert_non_null(strstr(t, "\n1 branch not in the manifests is left alone: flotilla did not make it (see "
				  "pruneBranches): acme/theirs\n7 preserved branches left alone (made by flotilla restore): "
				  "acme/preserved-main-20261204T135952Z, zeta/preserved-0, zeta/preserved-1, zeta/preserved-2, "
				  "zeta/preserved-3 (and 2 more)\n"));
	free(t);
	char *md = render_markdown(p, 65536, NULL);
	assert_non_null(strstr(md, "acme/theirs\n\n7 preserved branches left alone"));
	free(md);
	plan_free(p);

	/* preserved ones only: no "did not make" */
	p = mkplan();
	add_unmanaged(p, "acme", "preserved-acme-1");
	recount(p);
	t = render_text(p);
	assert_non_null(strstr(t, "\n1 preserved branch left alone (made by flotilla restore): acme/preserved-acme-1\n"));
	assert_null(strstr(t, "did not make"));
	free(t);
	plan_free(p);
}

static void test_markdown_small_plan(void **ctx)
{
	(void)ctx;
	plan *p = every_kind_plan();
	buf b = BUF_INIT(0);
	assert_int_equal(plan_render_markdown(p, NULL, &b), 0);
	assert_true(str_has_prefix(b.data, "### flotilla plan\n\n"));
	assert_non_null(strstr(b.data, "| create | adopt | update | delete | blocked | orphaned | unchanged | "
				       "API calls |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n"
				       "| 3 | 0 | 6 | 1 | 1 | 2 | 1 | 14 |\n"));
	assert_non_null(strstr(b.data, "<details><summary>~ update (6)</summary>\n\n```text\n"
				       "~ 4 tenants: quota.computeTime 50h -> 100h\n"
				       "    e.g. beta, gamma, kilo (and 1 more)\n"));
	assert_non_null(strstr(b.data, "<details><summary>? orphaned (2)</summary>"));
	assert_null(strstr(b.data, "not shown"));
	buf_release(&b);

	/* no colour in a comment, whatever the options say */
	plan_render_opts o = PLAN_RENDER_OPTS_INIT;
	o.color = true;
	assert_int_equal(plan_render_markdown(p, &o, &b), 0);
	assert_null(strchr(b.data, '\033'));
	buf_release(&b);

	/* below the minimum: refused, nothing written */
	o.max_chars = 100;
	assert_int_equal(plan_render_markdown(p, &o, &b), ERR_INVALID);
	assert_int_equal(b.len, 0);
	plan_free(p);
}

static void test_markdown_truncation(void **ctx)
{
	(void)ctx;
	plan *p = unique_updates(500);
	char *md = render_markdown(p, 2000, NULL);
	size_t shown = count_prefix_lines(md, "~ t");
	assert_true(shown > 0);
	char *note = xasprintf("_… %zu more lines not shown: the plan is too large for a comment, so update lines "
			       "were cut first, then create and adopt lines; blocked, delete and orphan sections are "
			       "whole; the whole plan is in the CI log._\n", 500 - shown);
	assert_true(str_has_suffix(md, note));
	/* the code block and the details are closed before the note */
	assert_non_null(strstr(md, "```\n\n</details>\n\n_…"));
	free(note);
	free(md);

	/* --full-plan-url: the note names it, and the comment still fits */
	const char *url = "https://ci.example.com/acme/fleet/actions/runs/123456789";
	md = render_markdown(p, 2000, url);
	assert_true(str_has_suffix(md, "sections are whole; the whole plan: "
				       "https://ci.example.com/acme/fleet/actions/runs/123456789_\n"));
	assert_true(count_prefix_lines(md, "~ t") > 0);
	free(md);
	plan_free(p);
}

static void test_markdown_large_plan(void **ctx)
{
	(void)ctx;
	plan *p = unique_updates(20000);
	/* and blocked ones, which the cut keeps whole */
	for (int i = 0; i < 10; i++) {
		char name[32];
		snprintf(name, sizeof(name), "z%d", i);
		plan_action *a = add_action(p, name, PLAN_BLOCKED, "prj");
		a->reason = xstrdup("blocked");
	}
	recount(p);
	char *md = render_markdown(p, 60000, NULL);
	assert_true(strlen(md) > 59000); /* filled, not cut early */
	size_t shown = count_prefix_lines(md, "~ t");
	assert_non_null(strstr(md, "<details><summary>! blocked (10)</summary>"));
	assert_int_equal(count_prefix_lines(md, "! z"), 10);
	/* the blocked section comes after the updates it outlived */
	assert_true(strstr(md, "! blocked (10)") > strstr(md, "~ update (20,000)"));
	/* 20,000 - shown is over 1,000: the count has its separator */
	size_t left = 20000 - shown;
	assert_true(left >= 1000);
	char *note = xasprintf("_… %zu,%03zu more lines not shown", left / 1000, left % 1000);
	assert_non_null(strstr(md, note));
	free(note);
	assert_non_null(strstr(md, "| 0 | 20,000 | 0 | 10 | 0 | 0 | 0 |\n"));
	free(md);

	/* every limit from the minimum up holds, and keeps the blocked tenants */
	for (size_t max = 1024; max < 4000; max += 97) {
		md = render_markdown(p, max, NULL);
		assert_non_null(strstr(md, "more lines not shown"));
		assert_int_equal(count_prefix_lines(md, "! z"), 10);
		free(md);
	}
	plan_free(p);
}

/* ------------------------------------------------------------ plan files */

static char *write_plan(const plan *p, char **dir)
{
	*dir = ut_tmpdir("test-diff");
	char *path = xasprintf("%s/plan.json", *dir);
	assert_int_equal(plan_file_write(p, path), 0);
	return path;
}

static void cleanup(char *dir, char *path)
{
	unlink(path);
	char *tmp = xasprintf("%s.tmp", path);
	unlink(tmp);
	free(tmp);
	assert_int_equal(rmdir(dir), 0); /* nothing else was left behind */
	free(path);
	free(dir);
}

static void test_planfile_round_trip(void **ctx)
{
	(void)ctx;
	plan *p = every_kind_plan();
	char *dir, *path = write_plan(p, &dir);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	char *tmp = xasprintf("%s.tmp", path);
	assert_int_not_equal(access(tmp, F_OK), 0);
	free(tmp);

	plan *q = NULL;
	assert_int_equal(plan_file_read(&q, path), 0);
	assert_non_null(q);
	char *a = render_json(p), *b = render_json(q);
	assert_string_equal(a, b);
	free(a);
	free(b);
	/* the struct itself: noops are not in the file, their count is */
	assert_int_equal(q->nactions, 13);
	assert_int_equal(q->nnoop, 1);
	assert_int_equal(q->ncalls, 14);
	assert_int_equal(q->created_at, CREATED);
	assert_int_equal(q->cache_refreshed_at, CREATED - 200);
	assert_int_equal(q->state_generation, 7);
	assert_int_equal(q->blobs_parsed, 7);
	const plan_action *c = &q->actions[4];
	assert_string_equal(c->tenant, "cleo");
	assert_int_equal(c->kind, PLAN_UPDATE);
	assert_string_equal(c->fingerprint, p->actions[4].fingerprint);
	assert_null(c->changes[0].to);
	assert_null(c->calls[0].body);
	assert_true(c->calls[0].destructive);
	assert_null(q->actions[0].project_id);
	assert_true(json_equal(q->actions[0].calls[0].body, p->actions[0].calls[0].body));
	assert_true(q->actions[0].calls[1].after_create);
	/* the text is the same too, the deep note of the unchanged tenant
	 * (not in the file's actions) included */
	a = render_text(p);
	b = render_text(q);
	assert_string_equal(a, b);
	free(a);
	free(b);
	plan_free(q);

	/* rewriting over an existing file replaces it, still 0600 */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(plan_file_write(p, path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	cleanup(dir, path);
	plan_free(p);
}

static void expect_refused(const char *path, const char *msg_part)
{
	plan *q = (plan *)(uintptr_t)1;
	assert_int_equal(plan_file_read(&q, path), ERR_INVALID);
	assert_null(q);
	if (!strstr(err_msg(), msg_part))
		fail_msg("message '%s' lacks '%s'", err_msg(), msg_part);
}

static void test_planfile_tamper(void **ctx)
{
	(void)ctx;
	plan *p = every_kind_plan();
	char *dir, *path = write_plan(p, &dir);
	char *orig = ut_read_file(path, NULL);
	char *modified_msg = xasprintf("plan file '%s' has been modified since it was written "
				       "(checksum mismatch); make a new plan", path);

	/* one byte of a call body: "br-main" -> "br-mair" */
	char *t = xstrdup(orig);
	char *at = strstr(t, "\"br-main\"");
	assert_non_null(at);
	at[7] = 'r';
	ut_write_text(path, t);
	plan *q = (plan *)(uintptr_t)1;
	assert_int_equal(plan_file_read(&q, path), ERR_INVALID);
	assert_null(q);
	assert_string_equal(err_msg(), modified_msg);
	free(t);

	/* a count in the summary */
	t = xstrdup(orig);
	at = strstr(t, "\"api_calls\": 14");
	assert_non_null(at);
	at[14] = '5';
	ut_write_text(path, t);
	expect_refused(path, "(checksum mismatch)");
	free(t);

	/* the checksum itself */
	t = xstrdup(orig);
	at = strstr(t, "\"sha256\": \"");
	assert_non_null(at);
	at += strlen("\"sha256\": \"");
	*at = *at == '0' ? '1' : '0';
	ut_write_text(path, t);
	q = (plan *)(uintptr_t)1;
	assert_int_equal(plan_file_read(&q, path), ERR_INVALID);
	assert_string_equal(err_msg(), modified_msg);
	free(t);

	/* no checksum at all */
	json_t *doc = json_loads(orig, 0, NULL);
	assert_non_null(doc);
	json_object_del(doc, "sha256");
	char *s = json_dumps(doc, JSON_INDENT(2));
	ut_write_text(path, s);
	free(s);
	expect_refused(path, "has no \"sha256\" checksum");

	/* another version (checked before the hash) */
	json_decref(doc);
	doc = json_loads(orig, 0, NULL);
	json_object_set_new(doc, "version", json_integer(2));
	s = json_dumps(doc, JSON_INDENT(2));
	ut_write_text(path, s);
	free(s);
	expect_refused(path, "has format version 2; this flotilla reads version 1; make a new plan");
	json_object_set_new(doc, "version", json_string("1"));
	s = json_dumps(doc, JSON_INDENT(2));
	ut_write_text(path, s);
	free(s);
	expect_refused(path, "has format version (not a number)");

	/* another format */
	json_object_set_new(doc, "version", json_integer(1));
	json_object_set_new(doc, "format", json_string("terraform-plan"));
	s = json_dumps(doc, JSON_INDENT(2));
	ut_write_text(path, s);
	free(s);
	expect_refused(path, "is not a flotilla plan");
	json_decref(doc);

	/* not JSON, truncated JSON, empty, JSON that is not an object */
	ut_write_text(path, "this is not json\n");
	expect_refused(path, "is not valid JSON: line 1");
	t = xstrndup(orig, strlen(orig) / 2);
	ut_write_text(path, t);
	free(t);
	expect_refused(path, "is not valid JSON");
	ut_write_text(path, "");
	expect_refused(path, "is not valid JSON");
	ut_write_text(path, "[1, 2]");
	expect_refused(path, "is not a flotilla plan");

	/* the untouched file still reads */
	ut_write_text(path, orig);
	q = NULL;
	assert_int_equal(plan_file_read(&q, path), 0);
	plan_free(q);

	/* a missing file is an I/O error, not a bad plan */
	unlink(path);
	q = (plan *)(uintptr_t)1;
	assert_int_equal(plan_file_read(&q, path), ERR_IO);
	assert_null(q);

	free(modified_msg);
	free(orig);
	cleanup(dir, path);
	plan_free(p);
}

/* A document with a valid checksum but a wrong field (as a newer or buggy
 * writer could make) is refused with the field named. */
static void test_planfile_bad_field(void **ctx)
{
	(void)ctx;
	plan *p = every_kind_plan();
	char *dir, *path = write_plan(p, &dir);
	char *orig = ut_read_file(path, NULL);
	json_t *doc = json_loads(orig, 0, NULL);
	json_t *a = json_array_get(json_object_get(doc, "actions"), 2);
	json_object_set_new(a, "kind", json_string("replace"));
	json_object_del(doc, "sha256");
	char *canon = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	char hex[SHA256_HEX_LEN + 1];
	sha256_hex(canon, strlen(canon), hex);
	free(canon);
	json_object_set_new(doc, "sha256", json_string(hex));
	char *s = json_dumps(doc, JSON_INDENT(2));
	ut_write_text(path, s);
	free(s);
	expect_refused(path, "actions[2].kind must be create, adopt, update, delete, blocked or orphan");

	/* and the same document with the kind back is read: the checksum is
	 * the canonical form, not the bytes */
	json_object_set_new(a, "kind", json_string("update"));
	json_object_del(doc, "sha256");
	canon = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	sha256_hex(canon, strlen(canon), hex);
	free(canon);
	json_object_set_new(doc, "sha256", json_string(hex));
	s = json_dumps(doc, JSON_COMPACT);
	ut_write_text(path, s);
	free(s);
	plan *q = NULL;
	assert_int_equal(plan_file_read(&q, path), 0);
	assert_string_equal(q->actions[2].tenant, "beta");
	plan_free(q);

	/* a file without its state generation (an older flotilla's) is
	 * refused: it could not be checked against the state file */
	json_object_del(doc, "state_generation");
	json_object_del(doc, "sha256");
	canon = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	sha256_hex(canon, strlen(canon), hex);
	free(canon);
	json_object_set_new(doc, "sha256", json_string(hex));
	s = json_dumps(doc, JSON_COMPACT);
	ut_write_text(path, s);
	free(s);
	expect_refused(path, "state_generation is missing: the file was made by an older flotilla; plan again");

	json_decref(doc);
	free(orig);
	cleanup(dir, path);
	plan_free(p);
}

/* The fingerprint covers the compared fields, not the bookkeeping. */
static void test_fingerprint(void **st)
{
	(void)st;
	state_project p;
	memset(&p, 0, sizeof(p));
	p.id = (char *)"proj-1";
	p.name = (char *)"t-acme";
	p.region_id = (char *)"aws-us-east-2";
	p.pg_version = 17;
	p.quota_compute_time = 180000;
	p.updated_at = (char *)"2026-11-18T11:00:00Z";
	char a[SHA256_HEX_LEN + 1], b[SHA256_HEX_LEN + 1];
	plan_fingerprint(&p, NULL, a);
	assert_int_equal(strlen(a), SHA256_HEX_LEN);
	/* updated_at and the read bookkeeping do not void a plan */
	p.updated_at = (char *)"2026-11-19T00:00:00Z";
	p.listed_at = 99;
	p.deep_at = 98;
	plan_fingerprint(&p, NULL, b);
	assert_string_equal(a, b);
	/* a compared field does */
	p.quota_compute_time = 360000;
	plan_fingerprint(&p, NULL, b);
	assert_string_not_equal(a, b);
	p.quota_compute_time = 180000;
	/* and a deep read, even an empty one, is part of what was relied on */
	state_deep d;
	memset(&d, 0, sizeof(d));
	plan_fingerprint(&p, &d, b);
	assert_string_equal(a, b); /* no rows: nothing more was read */
	state_branch br;
	memset(&br, 0, sizeof(br));
	br.id = (char *)"br-1";
	br.name = (char *)"main";
	br.is_default = true;
	d.branches = &br;
	d.nbranches = 1;
	plan_fingerprint(&p, &d, b);
	assert_string_not_equal(a, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_text_every_section),
		cmocka_unit_test(test_text_grouping_samples),
		cmocka_unit_test(test_text_singletons),
		cmocka_unit_test(test_text_thousands),
		cmocka_unit_test(test_text_no_changes),
		cmocka_unit_test(test_text_blocked_cap),
		cmocka_unit_test(test_json_shape),
		cmocka_unit_test(test_text_color),
		cmocka_unit_test(test_unmanaged_notes),
		cmocka_unit_test(test_markdown_small_plan),
		cmocka_unit_test(test_markdown_truncation),
		cmocka_unit_test(test_markdown_large_plan),
		cmocka_unit_test(test_planfile_round_trip),
		cmocka_unit_test(test_planfile_tamper),
		cmocka_unit_test(test_planfile_bad_field),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
