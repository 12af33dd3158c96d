/*
 * test-diff-create.c: what a create shows in text and Markdown plans
 * (diff/render_create.c): a create's lines, identical creates grouped with
 * their lines once, two different creates as two groups, the Markdown cut
 * falling between groups, and a plan file read back showing the same.
 *
 * What a create makes is read from the calls plan_build makes for it, so
 * these tests plan a fleet written to a scratch directory against an empty
 * state file (test-diff.c builds its plans by hand).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff/diff.h"
#include "util/util.h"

#include "helpers.h"
#include "render-helpers.h"

#define CREATED 1795000000 /* 2026-11-18T11:06:40Z */

/* ------------------------------------------------ creates, by plan_build */

/* A fleet written to a scratch directory and planned by plan_build against
 * an empty state file, so every tenant is a create with the calls the diff
 * code makes for it. */
typedef struct built {
	char *dir;
	spec_source *src;
	spec_fleet *fleet;
	state *st;
	plan *p;
} built;

#define FLEET_YAML "apiVersion: flotilla/v1\nkind: Fleet\nmetadata: {name: prod}\nspec:\n  namePrefix: \"t-\"\n"

/* tenants: NAME and the YAML of its spec (indented two spaces), in pairs */
static void build_creates(built *b, const char *const *tenants, size_t n)
{
	memset(b, 0, sizeof(*b));
	b->dir = ut_tmpdir("test-diff-create");
	ut_write_fleet(b->dir, FLEET_YAML);
	char *path;
	for (size_t i = 0; i < n; i++) {
		const char *name = tenants[2 * i], *spec = tenants[2 * i + 1];
		path = xasprintf("%s/fleet/tenants/%s.yaml", b->dir, name);
		char *doc = xasprintf("apiVersion: flotilla/v1\nkind: Tenant\nmetadata: {name: %s}\nspec:\n%s", name,
				      spec);
		ut_write_text(path, doc);
		free(doc);
		free(path);
	}
	path = xasprintf("%s/fleet", b->dir);
	spec_diags *d = spec_diags_new();
	assert_int_equal(spec_source_dir_new(&b->src, path), 0);
	assert_int_equal(spec_fleet_load(&b->fleet, b->src, d), 0);
	assert_int_equal(spec_diags_count(d), 0);
	spec_diags_free(d);
	free(path);
	path = xasprintf("%s/state.db", b->dir);
	assert_int_equal(state_open(&b->st, path), 0);
	assert_int_equal(state_meta_set(b->st, "fleet", "prod"), 0);
	free(path);
	plan_input in = {.fleet = b->fleet, .st = b->st, .now = CREATED};
	assert_int_equal(plan_build(&b->p, &in), 0);
	assert_int_equal(b->p->ncreate, n);
}

static void built_release(built *b)
{
	plan_free(b->p);
	state_close(b->st);
	spec_fleet_free(b->fleet);
	spec_source_dir_free(b->src);
	ut_rm_rf(b->dir);
	free(b->dir);
}

static size_t count_substr(const char *s, const char *needle)
{
	size_t n = 0;
	for (const char *at = s; (at = strstr(at, needle)) != NULL; at += strlen(needle))
		n++;
	return n;
}

#define FULL_SPEC                                                                                 \
	"  region: aws-eu-central-1\n  pgVersion: 16\n  historyRetention: 2d\n"                   \
	"  quota: {computeTime: 20h, writtenData: 5GiB}\n"                                        \
	"  compute: {minCu: 0.25, maxCu: 2, suspendTimeout: 10m}\n  readReplicas: 1\n"            \
	"  settings: {allowedIps: [203.0.113.0/24], logicalReplication: true}\n"                  \
	"  branches:\n"                                                                           \
	"    - {name: main, default: true, roles: [{name: app}, {name: reader, noLogin: true}],\n" \
	"       databases: [{name: app, owner: app}]}\n"                                          \
	"    - {name: staging, protected: true, databases: [{name: scratch, owner: app}]}\n"

static const char FULL_LINES[] =
	"    compute: 0.25-2 CU, suspend timeout 10m\n"
	"    quota: computeTime 20h, writtenData 5GiB\n"
	"    history retention: 2d\n"
	"    branch main (default): database app (owner app); roles app, reader (no login)\n"
	"    branch staging (from main, protected): database scratch (owner app)\n"
	"    read replicas: 1\n"
	"    allowed IPs: 203.0.113.0/24\n"
	"    settings: logical replication\n";

/* One create: its line, then what it makes, read from the calls plan_build
 * made; the same from the plan read back from its file (calls, no fleet). */
static void test_create_details(void **ctx)
{
	(void)ctx;
	static const char *const tenants[] = {"acme", FULL_SPEC};
	built b;
	build_creates(&b, tenants, 1);
	char *t = render_text(b.p);
	char *want = xasprintf("+ create (1)\n+ acme (aws-eu-central-1, pg 16)\n%s\n", FULL_LINES);
	assert_non_null(strstr(t, want));
	/* what no plan holds, and the tenant's own marks that would split groups */
	assert_null(strstr(t, "password"));
	assert_null(strstr(t, "postgres://"));
	assert_null(strstr(t, "t-acme"));
	assert_null(strstr(t, "flotilla.tenant"));

	char *path = xasprintf("%s/plan.json", b.dir);
	assert_int_equal(plan_file_write(b.p, path), 0);
	plan *back = NULL;
	assert_int_equal(plan_file_read(&back, path), 0);
	char *t2 = render_text(back);
	assert_string_equal(t2, t);
	plan_free(back);
	free(t2);
	free(path);

	/* Markdown has the same lines, in the create section */
	char *md = render_markdown(b.p, PLAN_MARKDOWN_MAX, NULL);
	assert_non_null(strstr(md, "<details><summary>+ create (1)</summary>\n\n```text\n"
				   "+ acme (aws-eu-central-1, pg 16)\n"));
	assert_non_null(strstr(md, FULL_LINES));
	free(md);
	free(want);
	free(t);
	built_release(&b);
}

/* Identical creates: one line with the count and samples, the lines of
 * what each makes once under it. */
static void test_create_grouped(void **ctx)
{
	(void)ctx;
	static const char *const tenants[] = {"acme", FULL_SPEC, "beta", FULL_SPEC, "gamma", FULL_SPEC};
	built b;
	build_creates(&b, tenants, 3);
	char *t = render_text(b.p);
	char *want = xasprintf("+ create (3)\n+ 3 tenants (aws-eu-central-1, pg 16): acme, beta, gamma\n%s\n",
			       FULL_LINES);
	assert_non_null(strstr(t, want));
	assert_int_equal(count_substr(t, "    compute:"), 1);
	assert_int_equal(count_substr(t, "    branch main"), 1);
	free(want);
	free(t);
	built_release(&b);
}

/* Creates that differ in one thing they make are two groups, each with
 * its own lines; the larger group first. */
static void test_create_two_groups(void **ctx)
{
	(void)ctx;
	static const char *const tenants[] = {
		"acme", "  compute: {maxCu: 2}\n",
		"beta", "  branches: [{name: main, roles: [{name: app}], databases: [{name: app, owner: app}]}]\n",
		"gamma", "  compute: {maxCu: 2}\n",
	};
	built b;
	build_creates(&b, tenants, 3);
	char *t = render_text(b.p);
	assert_non_null(strstr(t, "+ create (3)\n"
				  "+ 2 tenants (aws-us-east-2, pg 17): acme, gamma\n"
				  "    compute: 0.25-2 CU, suspend timeout 5m\n"
				  "    history retention: 1d\n"
				  "    branch main (default): database neondb (owner neondb_owner); role neondb_owner\n"
				  "+ beta (aws-us-east-2, pg 17)\n"
				  "    compute: 0.25 CU, suspend timeout 5m\n"
				  "    history retention: 1d\n"
				  "    branch main (default): database app (owner app); role app\n\n"));
	free(t);
	built_release(&b);
}

/* A Markdown comment too small for every create never shows a create
 * with part of what it makes: a cut comes before a group. */
static void test_create_markdown_cut(void **ctx)
{
	(void)ctx;
	const char *tenants[2 * 40];
	char *names[40];
	for (int i = 0; i < 40; i++) {
		names[i] = xasprintf("t%02d", i);
		tenants[2 * i] = names[i];
		/* each its own group: a retention of its own */
		tenants[2 * i + 1] = xasprintf("  historyRetention: %dh\n", i + 1);
	}
	built b;
	build_creates(&b, tenants, 40);
	/* every limit, so that the cut falls inside a group unless it is kept out */
	for (size_t max = 1500; max < 4000; max += 37) {
		char *md = render_markdown(b.p, max, NULL);
		size_t shown = count_prefix_lines(md, "+ t");
		assert_true(shown > 0 && shown < 40);
		/* every create shown has its three lines */
		assert_int_equal(count_prefix_lines(md, "    compute:"), shown);
		assert_int_equal(count_prefix_lines(md, "    history retention:"), shown);
		assert_int_equal(count_prefix_lines(md, "    branch main"), shown);
		char *note = xasprintf("_… %zu more lines not shown", (40 - shown) * 4);
		assert_non_null(strstr(md, note));
		free(note);
		free(md);
	}
	built_release(&b);
	for (int i = 0; i < 40; i++) {
		free(names[i]);
		free((char *)(uintptr_t)tenants[2 * i + 1]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_details),
		cmocka_unit_test(test_create_grouped),
		cmocka_unit_test(test_create_two_groups),
		cmocka_unit_test(test_create_markdown_cut),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
