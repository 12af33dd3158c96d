/*
 * test-spec.c: unit tests of spec/: globs, the YAML reader's bounds, the
 * decoder's types and units, merging with origins, and validation rules,
 * on manifest sets written to a temp directory and loaded through the
 * real directory source (and, for the loader's own edges, through an
 * in-memory source).
 *
 * Every check pins an exact value: a line, a column, a layer, a count, a
 * rendered string, so that a change in behaviour fails here first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "spec/spec.h"

#include "helpers.h"

/* ----------------------------------------------------------- fixtures */

/* One manifest repository in a fresh temp directory, and what loading it
 * gave. Tests write files with put(), then call load(). */
typedef struct fixture {
	char *dir;
	spec_source *src;
	spec_fleet *fleet;
	spec_diags *diags;
} fixture;

static const char FLEET_MIN[] = "apiVersion: flotilla/v1\n"
				"kind: Fleet\n"
				"metadata:\n"
				"  name: test\n";

static int fx_setup(void **state)
{
	fixture *fx = xcalloc(1, sizeof(*fx));
	fx->dir = ut_tmpdir("spec");
	fx->diags = spec_diags_new();
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	fixture *fx = *state;
	spec_fleet_free(fx->fleet);
	spec_source_dir_free(fx->src);
	spec_diags_free(fx->diags);
	ut_rm_rf(fx->dir);
	free(fx->dir);
	free(fx);
	return 0;
}

/* Write `content` to `rel` under the fixture, creating parent directories. */
static void put(fixture *fx, const char *rel, const char *content)
{
	char *full = xasprintf("%s/%s", fx->dir, rel);
	for (char *p = full + strlen(fx->dir) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(full, 0755) != 0)
			assert_int_equal(errno, EEXIST);
		*p = '/';
	}
	ut_write_text(full, content);
	free(full);
}

static void load(fixture *fx)
{
	assert_int_equal(spec_source_dir_new(&fx->src, fx->dir), 0);
	assert_int_equal(spec_fleet_load(&fx->fleet, fx->src, fx->diags), 0);
	assert_non_null(fx->fleet);
}

/* All diagnostics as text, for exact comparison. Caller frees. */
static char *diags_text(const spec_diags *d)
{
	buf out = BUF_INIT(0);
	assert_int_equal(spec_diags_render_text(d, &out), 0);
	return buf_detach(&out, NULL);
}

static void assert_no_diags(const fixture *fx)
{
	char *text = diags_text(fx->diags);
	assert_string_equal(text, "");
	free(text);
}

/* Assert a value's origin: layer, file, line and column. */
static void assert_origin(const spec_fleet *f, const spec_val *v, spec_layer layer,
			  const char *file, unsigned line, unsigned col)
{
	assert_int_equal(v->o.set, 1);
	assert_int_equal(v->o.layer, layer);
	if (layer == SPEC_LAYER_BUILTIN)
		return;
	assert_string_equal(spec_fleet_file(f, v->o.file), file);
	assert_int_equal(v->o.line, line);
	assert_int_equal(v->o.col, col);
}

static const spec_val *map_get(const spec_map *m, const char *key)
{
	for (size_t i = 0; m && i < m->n; i++)
		if (strcmp(m->keys[i], key) == 0)
			return &m->vals[i];
	return NULL;
}

/* -------------------------------------------------------------- globs */

static void test_glob(void **state)
{
	(void)state;
	assert_true(spec_glob_match("tenants/**/*.yaml", "tenants/a.yaml"));
	assert_true(spec_glob_match("tenants/**/*.yaml", "tenants/eu/de/a.yaml"));
	assert_false(spec_glob_match("tenants/*.yaml", "tenants/eu/a.yaml"));
	assert_false(spec_glob_match("tenants/**/*.yaml", "profiles/a.yaml"));
}

static void test_glob_double_star_start_end(void **state)
{
	(void)state;
	/* at the start: zero or more leading segments */
	assert_true(spec_glob_match("**/top.yaml", "top.yaml"));
	assert_true(spec_glob_match("**/top.yaml", "a/b/c/top.yaml"));
	assert_false(spec_glob_match("**/top.yaml", "a/btop.yaml"));
	assert_false(spec_glob_match("**/top.yaml", "a/top.yml"));
	/* at the end: everything below, any depth, any name */
	assert_true(spec_glob_match("teams/**", "teams/x.yaml"));
	assert_true(spec_glob_match("teams/**", "teams/eu/de/notes.txt"));
	assert_false(spec_glob_match("teams/**", "teams"));
	assert_false(spec_glob_match("teams/**", "teamsx/a.yaml"));
	assert_false(spec_glob_match("teams/**", "other/teams/a.yaml"));
	/* in the middle, spanning zero segments too */
	assert_true(spec_glob_match("a/**/b.yaml", "a/b.yaml"));
	assert_true(spec_glob_match("a/**/b.yaml", "a/x/y/z/b.yaml"));
	assert_false(spec_glob_match("a/**/b.yaml", "b.yaml"));
	/* alone: every path */
	assert_true(spec_glob_match("**", "x"));
	assert_true(spec_glob_match("**", "x/y/z"));
	/* not a whole segment: an ordinary star that stays in its segment */
	assert_true(spec_glob_match("a**b", "axyzb"));
	assert_false(spec_glob_match("a**b", "ax/yb"));
}

static void test_glob_star_question(void **state)
{
	(void)state;
	assert_true(spec_glob_match("*.yaml", "acme.yaml"));
	assert_true(spec_glob_match("*.yaml", ".yaml")); /* star matches nothing too */
	assert_false(spec_glob_match("*.yaml", "eu/acme.yaml"));
	assert_false(spec_glob_match("*.yaml", "acme.yml"));
	assert_true(spec_glob_match("t-*-eu.yaml", "t-acme-corp-eu.yaml"));
	assert_true(spec_glob_match("db/t-?.yaml", "db/t-1.yaml"));
	assert_false(spec_glob_match("db/t-?.yaml", "db/t-10.yaml"));
	assert_false(spec_glob_match("db/t-?.yaml", "db/t-.yaml"));
	assert_false(spec_glob_match("a?b", "a/b")); /* ? never matches '/' */
	assert_true(spec_glob_match("???", "abc"));
	assert_false(spec_glob_match("???", "ab"));
	/* literal match is exact */
	assert_true(spec_glob_match("flotilla.yaml", "flotilla.yaml"));
	assert_false(spec_glob_match("flotilla.yaml", "flotilla.yaml.bak"));
	assert_false(spec_glob_match("flotilla.yaml", "x/flotilla.yaml"));
	assert_true(spec_glob_match("", ""));
	assert_false(spec_glob_match("", "a"));
}

static void test_glob_classes(void **state)
{
	(void)state;
	assert_true(spec_glob_match("[abc].yaml", "b.yaml"));
	assert_false(spec_glob_match("[abc].yaml", "d.yaml"));
	assert_false(spec_glob_match("[abc].yaml", "ab.yaml"));
	assert_true(spec_glob_match("cls/[a-c]*.yaml", "cls/alpha.yaml"));
	assert_false(spec_glob_match("cls/[a-c]*.yaml", "cls/delta.yaml"));
	assert_true(spec_glob_match("v[0-9][0-9]", "v17"));
	assert_false(spec_glob_match("v[0-9][0-9]", "v1x"));
	/* negated, with ! or ^ */
	assert_true(spec_glob_match("neg/[!x]*.yaml", "neg/yes.yaml"));
	assert_false(spec_glob_match("neg/[!x]*.yaml", "neg/x-no.yaml"));
	assert_true(spec_glob_match("[^a-c]x", "dx"));
	assert_false(spec_glob_match("[^a-c]x", "bx"));
	/* a class never matches '/', not even negated */
	assert_false(spec_glob_match("a[!x]b", "a/b"));
	/* ']' first in a class is a member */
	assert_true(spec_glob_match("[]a]", "]"));
	assert_true(spec_glob_match("[]a]", "a"));
	assert_false(spec_glob_match("[]a]", "b"));
	/* '-' at the end is literal */
	assert_true(spec_glob_match("[a-]", "-"));
	/* an unterminated '[' is a literal character */
	assert_true(spec_glob_match("[abc", "[abc"));
	assert_false(spec_glob_match("[abc", "a"));
}

/* -------------------------------------------------------- diagnostics */

static void test_diags_add_defaults(void **state)
{
	(void)state;
	spec_diags *d = spec_diags_new();
	assert_int_equal(spec_diags_count(d), 0);
	assert_null(spec_diags_at(d, 0));
	spec_diags_add(d, NULL, 0, 0, NULL, "n=%d %s", 42, "x");
	assert_int_equal(spec_diags_count(d), 1);
	const spec_diag *g = spec_diags_at(d, 0);
	assert_string_equal(g->file, "");
	assert_int_equal(g->line, 1); /* 0 means "somewhere in": shown as 1 */
	assert_int_equal(g->col, 1);
	assert_string_equal(g->path, "(document)");
	assert_string_equal(g->msg, "n=42 x");
	assert_null(spec_diags_at(d, 1));
	spec_diags_free(d);
	spec_diags_free(NULL);
}

static void test_diags_sort_dedupe(void **state)
{
	(void)state;
	spec_diags *d = spec_diags_new();
	spec_diags_add(d, "tenants/b.yaml", 1, 1, "(file)", "bad");
	spec_diags_add(d, "tenants/a.yaml", 10, 3, "spec.x", "m");
	spec_diags_add(d, "tenants/a.yaml", 2, 9, "spec.y", "m");
	spec_diags_add(d, "tenants/a.yaml", 2, 5, "spec.z", "m");
	spec_diags_add(d, "tenants/a.yaml", 2, 5, "spec.a", "second");
	spec_diags_add(d, "tenants/a.yaml", 2, 5, "spec.a", "first");
	spec_diags_add(d, "flotilla.yaml", 7, 1, "spec.prune", "p");
	spec_diags_add(d, "tenants/a.yaml", 10, 3, "spec.x", "m"); /* exact repeat */
	spec_diags_add(d, "tenants/a.yaml", 2, 5, "spec.a", "first"); /* exact repeat */
	spec_diags_add(d, "tenants/a.yaml", 10, 3, "spec.x", "m2"); /* differs in message */
	assert_int_equal(spec_diags_count(d), 10);
	spec_diags_sort(d);
	assert_int_equal(spec_diags_count(d), 8);
	char *text = diags_text(d);
	assert_string_equal(text,
			    "flotilla.yaml:7:1: spec.prune: p\n"
			    "tenants/a.yaml:2:5: spec.a: first\n"
			    "tenants/a.yaml:2:5: spec.a: second\n"
			    "tenants/a.yaml:2:5: spec.z: m\n"
			    "tenants/a.yaml:2:9: spec.y: m\n"
			    "tenants/a.yaml:10:3: spec.x: m\n"
			    "tenants/a.yaml:10:3: spec.x: m2\n"
			    "tenants/b.yaml:1:1: (file): bad\n");
	free(text);
	/* sorting again changes nothing */
	spec_diags_sort(d);
	assert_int_equal(spec_diags_count(d), 8);
	spec_diags_free(d);

	/* one and zero items */
	d = spec_diags_new();
	spec_diags_sort(d);
	assert_int_equal(spec_diags_count(d), 0);
	spec_diags_add(d, "f", 1, 1, "p", "m");
	spec_diags_sort(d);
	assert_int_equal(spec_diags_count(d), 1);
	spec_diags_free(d);
}

static void test_diags_render_text(void **state)
{
	(void)state;
	spec_diags *d = spec_diags_new();
	char *text = diags_text(d);
	assert_string_equal(text, "");
	free(text);
	spec_diags_add(d, "tenants/acme.yaml", 8, 12, "spec.compute.maxCu",
		       "maxCu %s is below minCu %s", "2", "4");
	spec_diags_add(d, "flotilla.yaml", 1, 1, "(file)", "no Fleet");
	text = diags_text(d);
	assert_string_equal(text, "tenants/acme.yaml:8:12: spec.compute.maxCu: maxCu 2 is below minCu 4\n"
				  "flotilla.yaml:1:1: (file): no Fleet\n");
	free(text);
	spec_diags_free(d);
}

static void test_diags_render_json(void **state)
{
	(void)state;
	spec_diags *d = spec_diags_new();
	buf out = BUF_INIT(0);
	assert_int_equal(spec_diags_render_json(d, &out), 0);
	assert_string_equal(out.data, "{\"version\":1,\"valid\":true,\"count\":0,\"diagnostics\":[]}\n");
	buf_release(&out);

	spec_diags_add(d, "tenants/a \"b\".yaml", 6, 11, "spec.region",
		       "'say \"hi\"\nthere' is not a region id");
	spec_diags_add(d, "t.yaml", 7, 3, "spec.we\"ird\tkey", "back\\slash");
	buf_init(&out, 0);
	assert_int_equal(spec_diags_render_json(d, &out), 0);
	assert_string_equal(out.data,
			    "{\"version\":1,\"valid\":false,\"count\":2,\"diagnostics\":["
			    "{\"file\":\"tenants/a \\\"b\\\".yaml\",\"line\":6,\"column\":11,"
			    "\"path\":\"spec.region\",\"message\":\"'say \\\"hi\\\"\\nthere' is not a region id\"},"
			    "{\"file\":\"t.yaml\",\"line\":7,\"column\":3,\"path\":\"spec.we\\\"ird\\tkey\","
			    "\"message\":\"back\\\\slash\"}]}\n");
	/* one line: no raw newline before the final one */
	assert_null(memchr(out.data, '\n', out.len - 1));
	buf_release(&out);
	spec_diags_free(d);
}

/* --------------------------------------------------------- the fields */

static void test_field_table(void **state)
{
	(void)state;
	assert_string_equal(spec_field_get(SF_PROFILE)->path, "profile");
	assert_null(spec_field_get(SF_PROFILE)->api);
	assert_string_equal(spec_field_get(SF_COMPUTE_MIN_CU)->path, "compute.minCu");
	assert_int_equal(spec_field_get(SF_COMPUTE_MIN_CU)->type, SPEC_T_CU);
	assert_string_equal(spec_field_get(SF_COMPUTE_PG_SETTINGS)->path, "compute.pgSettings");
	assert_int_equal(spec_field_get(SF_COMPUTE_PG_SETTINGS)->type, SPEC_T_MAP);
	assert_int_equal(spec_field_get(SF_COMPUTE_SUSPEND_TIMEOUT)->type, SPEC_T_DURATION_NEVER);
	assert_string_equal(spec_field_get(SF_SETTINGS_MW_END_TIME)->path,
			    "settings.maintenanceWindow.endTime");
	assert_int_equal(spec_field_get(SF_BRANCHES)->type, SPEC_T_BRANCHES);
	assert_null(spec_field_get(SF__COUNT));
	for (int f = 0; f < SF__COUNT; f++)
		assert_non_null(spec_field_get((spec_field)f)->path);
}

/* -------------------------------------------------------- loading */

static void test_source_dir_not_a_directory(void **state)
{
	fixture *fx = *state;
	spec_source *src = (spec_source *)1;
	char *missing = xasprintf("%s/nope", fx->dir);
	assert_int_equal(spec_source_dir_new(&src, missing), ERR_IO);
	assert_null(src);
	put(fx, "file.yaml", "x: 1\n");
	char *file = xasprintf("%s/file.yaml", fx->dir);
	assert_int_equal(spec_source_dir_new(&src, file), ERR_IO);
	assert_null(src);
	free(missing);
	free(file);
	spec_source_dir_free(NULL);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The loader sorts tenants by name (a radix sort on each name's first 8
 * bytes, then by name within equal heads): names shorter than 8 bytes,
 * names sharing their first 8 bytes, and enough of them for every byte
 * position to matter come out in strcmp order. */
static void test_load_tenants_sorted(void **state)
{
	fixture *fx = *state;
	put(fx, "flotilla.yaml", FLEET_MIN);
	enum { N = 600 };
	char *names[N];
	buf doc = BUF_INIT(0);
	for (int i = 0; i < N; i++) {
		unsigned h = (unsigned)i * 2654435761u;
		switch (i % 4) {
		case 0: names[i] = xasprintf("t%u", h % 97); break;          /* short */
		case 1: names[i] = xasprintf("tenant-a-%u", h % 1000); break; /* one long head */
		case 2: names[i] = xasprintf("z%08x", h); break;              /* all 8 bytes differ */
		default: names[i] = xasprintf("tenant-%u", h % 100000); break;
		}
	}
	/* unique names, in files in an order unrelated to the names */
	qsort(names, N, sizeof(*names), str_cmp);
	int n = 0;
	for (int i = 0; i < N; i++)
		if (n == 0 || strcmp(names[n - 1], names[i]) != 0)
			names[n++] = names[i];
		else
			free(names[i]);
	for (int i = 0; i < n; i++) {
		int j = (i * 7919) % n;
		assert_int_equal(buf_printf(&doc, "%sapiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: %s\n",
					    i % 50 ? "---\n" : "", names[j]), 0);
		if (i % 50 == 49 || i == n - 1) {
			char *path = xasprintf("tenants/f%03d.yaml", i / 50);
			put(fx, path, doc.data);
			free(path);
			buf_reset(&doc);
		}
	}
	buf_release(&doc);
	load(fx);
	assert_no_diags(fx);
	assert_int_equal(spec_fleet_tenant_count(fx->fleet), (size_t)n);
	for (int i = 0; i < n; i++)
		assert_string_equal(spec_fleet_tenant_at(fx->fleet, (size_t)i)->name, names[i]);
	for (int i = 0; i < n; i++)
		free(names[i]);
}

static void test_load_tenants_order_and_find(void **state)
{
	fixture *fx = *state;
	put(fx, "flotilla.yaml", FLEET_MIN);
	put(fx, "tenants/z.yaml",
	    "apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: zeta\n---\n"
	    "apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: mid\n");
	put(fx, "tenants/eu/de/a.yaml", "apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: acme\n");
	put(fx, "tenants/notes.txt", "not a manifest: never read\n\t\t{[\n");
	put(fx, "other/x.yaml", "apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: outside\n");
	load(fx);
	assert_no_diags(fx);
	assert_int_equal(spec_fleet_tenant_count(fx->fleet), 3);
	assert_string_equal(spec_fleet_tenant_at(fx->fleet, 0)->name, "acme");
	assert_string_equal(spec_fleet_tenant_at(fx->fleet, 1)->name, "mid");
	assert_string_equal(spec_fleet_tenant_at(fx->fleet, 2)->name, "zeta");
	assert_null(spec_fleet_tenant_at(fx->fleet, 3));

	const spec_tenant *t = spec_fleet_tenant_find(fx->fleet, "mid");
	assert_non_null(t);
	assert_ptr_equal(t, spec_fleet_tenant_at(fx->fleet, 1));
	assert_string_equal(spec_fleet_file(fx->fleet, t->o.file), "tenants/z.yaml");
	assert_int_equal(t->o.line, 9);
	assert_int_equal(t->o.col, 9);
	assert_int_equal(t->o.layer, SPEC_LAYER_TENANT);
	assert_null(t->labels);
	t = spec_fleet_tenant_find(fx->fleet, "acme");
	assert_string_equal(spec_fleet_file(fx->fleet, t->o.file), "tenants/eu/de/a.yaml");
	assert_null(spec_fleet_tenant_find(fx->fleet, "outside"));
	assert_null(spec_fleet_tenant_find(fx->fleet, "nope"));
	assert_null(spec_fleet_tenant_find(fx->fleet, ""));
	assert_string_equal(spec_fleet_file(fx->fleet, 9999), "(unknown)");
}

static void test_fleet_accessor_defaults(void **state)
{
	fixture *fx = *state;
	put(fx, "flotilla.yaml", FLEET_MIN);
	load(fx);
	assert_no_diags(fx);
	assert_string_equal(spec_fleet_name(fx->fleet), "test");
	assert_null(spec_fleet_org_id(fx->fleet));
	assert_string_equal(spec_fleet_name_prefix(fx->fleet), "");
	assert_false(spec_fleet_prune(fx->fleet));
	assert_int_equal(spec_fleet_max_deletes(fx->fleet), 10);
	assert_string_equal(spec_fleet_drift(fx->fleet), "heal");
	assert_int_equal(spec_fleet_refresh_interval(fx->fleet), 600);
	assert_int_equal(spec_fleet_tenant_count(fx->fleet), 0);
	assert_null(spec_fleet_tenant_at(fx->fleet, 0));
}

static void test_fleet_accessors_set(void **state)
{
	fixture *fx = *state;
	put(fx, "flotilla.yaml",
	    "apiVersion: flotilla/v1\n"
	    "kind: Fleet\n"
	    "metadata:\n"
	    "  name: acme-saas\n"
	    "spec:\n"
	    "  orgId: org-acme-1234\n"
	    "  namePrefix: t-\n"
	    "  prune: true\n"
	    "  maxDeletesPerRun: 0\n"
	    "  drift: report\n"
	    "  refreshInterval: 1h30m\n"
	    "  manifests: [\"custom/*.yaml\"]\n");
	put(fx, "custom/a.yaml", "apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: acme\n");
	put(fx, "tenants/b.yaml", "apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: bravo\n");
	load(fx);
	assert_no_diags(fx);
	assert_string_equal(spec_fleet_name(fx->fleet), "acme-saas");
	assert_string_equal(spec_fleet_org_id(fx->fleet), "org-acme-1234");
	assert_string_equal(spec_fleet_name_prefix(fx->fleet), "t-");
	assert_true(spec_fleet_prune(fx->fleet));
	assert_int_equal(spec_fleet_max_deletes(fx->fleet), 0);
	assert_string_equal(spec_fleet_drift(fx->fleet), "report");
	assert_int_equal(spec_fleet_refresh_interval(fx->fleet), 5400);
	/* the globs replace the default ones: tenants/ is no longer read */
	assert_int_equal(spec_fleet_tenant_count(fx->fleet), 1);
	assert_non_null(spec_fleet_tenant_find(fx->fleet, "acme"));
	assert_null(spec_fleet_tenant_find(fx->fleet, "bravo"));
}

/* The layered fleet of the resolve tests: defaults, a profile, and two
 * tenants on it, one overriding. Line numbers below refer to these. */
static void put_layered(fixture *fx)
{
	put(fx, "flotilla.yaml",
	    "apiVersion: flotilla/v1\n"          /* 1 */
	    "kind: Fleet\n"                      /* 2 */
	    "metadata:\n"                        /* 3 */
	    "  name: test\n"                     /* 4 */
	    "spec:\n"                            /* 5 */
	    "  defaults:\n"                      /* 6 */
	    "    region: aws-eu-central-1\n"     /* 7 */
	    "    compute:\n"                     /* 8 */
	    "      suspendTimeout: 10m\n"        /* 9 */
	    "      pgSettings:\n"                /* 10 */
	    "        work_mem: \"4MB\"\n"        /* 11 */
	    "        statement_timeout: \"60s\"\n"); /* 12 */
	put(fx, "profiles/pro.yaml",
	    "apiVersion: flotilla/v1\n"          /* 1 */
	    "kind: Profile\n"                    /* 2 */
	    "metadata:\n"                        /* 3 */
	    "  name: pro\n"                      /* 4 */
	    "spec:\n"                            /* 5 */
	    "  historyRetention: 7d\n"           /* 6 */
	    "  compute:\n"                       /* 7 */
	    "    minCu: 0.5\n"                   /* 8 */
	    "    maxCu: 4\n"                     /* 9 */
	    "    pgSettings:\n"                  /* 10 */
	    "      statement_timeout: \"30s\"\n" /* 11 */
	    "      maintenance_work_mem: \"256MB\"\n" /* 12 */
	    "  branches:\n"                      /* 13 */
	    "    - name: main\n"                 /* 14 */
	    "    - name: staging\n"              /* 15 */
	    "    - name: dev\n"                  /* 16 */
	    "      parent: staging\n");          /* 17 */
	put(fx, "tenants/acme.yaml",
	    "apiVersion: flotilla/v1\n"          /* 1 */
	    "kind: Tenant\n"                     /* 2 */
	    "metadata:\n"                        /* 3 */
	    "  name: acme\n"                     /* 4 */
	    "  labels:\n"                        /* 5 */
	    "    tier: pro\n"                    /* 6 */
	    "spec:\n"                            /* 7 */
	    "  profile: pro\n"                   /* 8 */
	    "  pgVersion: 16\n"                  /* 9 */
	    "  compute:\n"                       /* 10 */
	    "    maxCu: 6\n"                     /* 11 */
	    "    pgSettings:\n"                  /* 12 */
	    "      work_mem: \"64MB\"\n"         /* 13 */
	    "      auto_explain.log_min_duration: \"2s\"\n" /* 14 */
	    "  branches:\n"                      /* 15 */
	    "    - name: production\n"           /* 16 */
	    "      default: true\n"              /* 17 */
	    "      roles:\n"                     /* 18 */
	    "        - name: app\n"              /* 19 */
	    "      databases:\n"                 /* 20 */
	    "        - name: app\n"              /* 21 */
	    "          owner: app\n"             /* 22 */
	    "    - name: preview\n");            /* 23 */
	put(fx, "tenants/globex.yaml",
	    "apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: globex\nspec:\n  profile: pro\n");
}

static void test_resolve_values_and_origins(void **state)
{
	fixture *fx = *state;
	put_layered(fx);
	load(fx);
	assert_no_diags(fx);
	const spec_fleet *f = fx->fleet;
	const spec_tenant *t = spec_fleet_tenant_find(f, "acme");
	assert_non_null(t);

	/* the tenant layer as written: only what the file says */
	assert_int_equal(t->spec.v[SF_PG_VERSION].i, 16);
	assert_origin(f, &t->spec.v[SF_PG_VERSION], SPEC_LAYER_TENANT, "tenants/acme.yaml", 9, 14);
	assert_int_equal(t->spec.v[SF_REGION].o.set, 0);
	assert_int_equal(t->spec.v[SF_COMPUTE_MIN_CU].o.set, 0);
	assert_non_null(t->labels);
	assert_int_equal(t->labels->n, 1);
	assert_string_equal(t->labels->keys[0], "tier");
	assert_string_equal(t->labels->vals[0].s, "pro");
	assert_int_equal(t->labels->vals[0].o.line, 6);

	spec_values m;
	spec_tenant_resolve(f, t, &m);
	for (int i = 0; i < SF__COUNT; i++)
		assert_int_equal(m.v[i].o.set, 1);

	/* tenant */
	assert_string_equal(m.v[SF_PROFILE].s, "pro");
	assert_origin(f, &m.v[SF_PROFILE], SPEC_LAYER_TENANT, "tenants/acme.yaml", 8, 12);
	assert_int_equal(m.v[SF_PG_VERSION].i, 16);
	assert_origin(f, &m.v[SF_PG_VERSION], SPEC_LAYER_TENANT, "tenants/acme.yaml", 9, 14);
	assert_int_equal(m.v[SF_COMPUTE_MAX_CU].i, 24); /* quarters: 6 CU */
	assert_origin(f, &m.v[SF_COMPUTE_MAX_CU], SPEC_LAYER_TENANT, "tenants/acme.yaml", 11, 12);
	/* profile */
	assert_int_equal(m.v[SF_HISTORY_RETENTION].i, 7 * 86400);
	assert_origin(f, &m.v[SF_HISTORY_RETENTION], SPEC_LAYER_PROFILE, "profiles/pro.yaml", 6, 21);
	assert_int_equal(m.v[SF_COMPUTE_MIN_CU].i, 2); /* 0.5 CU */
	assert_origin(f, &m.v[SF_COMPUTE_MIN_CU], SPEC_LAYER_PROFILE, "profiles/pro.yaml", 8, 12);
	/* fleet defaults */
	assert_string_equal(m.v[SF_REGION].s, "aws-eu-central-1");
	assert_origin(f, &m.v[SF_REGION], SPEC_LAYER_DEFAULTS, "flotilla.yaml", 7, 13);
	assert_int_equal(m.v[SF_COMPUTE_SUSPEND_TIMEOUT].i, 600);
	assert_origin(f, &m.v[SF_COMPUTE_SUSPEND_TIMEOUT], SPEC_LAYER_DEFAULTS, "flotilla.yaml", 9, 23);
	/* built-in */
	assert_int_equal(m.v[SF_READ_REPLICAS].i, 0);
	assert_origin(f, &m.v[SF_READ_REPLICAS], SPEC_LAYER_BUILTIN, NULL, 0, 0);
	assert_int_equal(m.v[SF_QUOTA_ACTIVE_TIME].i, 0); /* unlimited */
	assert_origin(f, &m.v[SF_QUOTA_ACTIVE_TIME], SPEC_LAYER_BUILTIN, NULL, 0, 0);
	assert_int_equal(m.v[SF_PROTECT].i, 0);
	assert_origin(f, &m.v[SF_PROTECT], SPEC_LAYER_BUILTIN, NULL, 0, 0);
	assert_null(m.v[SF_SETTINGS_MW_WEEKDAYS].list);
	assert_null(m.v[SF_SETTINGS_MW_START_TIME].s);
	assert_non_null(m.v[SF_SETTINGS_ALLOWED_IPS].list);
	assert_int_equal(m.v[SF_SETTINGS_ALLOWED_IPS].list->n, 0);

	/* globex writes only its profile: the profile's values come through */
	spec_tenant_resolve(f, spec_fleet_tenant_find(f, "globex"), &m);
	assert_int_equal(m.v[SF_COMPUTE_MAX_CU].i, 16); /* 4 CU */
	assert_origin(f, &m.v[SF_COMPUTE_MAX_CU], SPEC_LAYER_PROFILE, "profiles/pro.yaml", 9, 12);
	assert_int_equal(m.v[SF_PG_VERSION].i, 17);
	assert_origin(f, &m.v[SF_PG_VERSION], SPEC_LAYER_BUILTIN, NULL, 0, 0);
}

static void test_resolve_builtin_only(void **state)
{
	fixture *fx = *state;
	put(fx, "flotilla.yaml", FLEET_MIN);
	put(fx, "tenants/acme.yaml", "apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: acme\n");
	load(fx);
	assert_no_diags(fx);
	spec_values m;
	spec_tenant_resolve(fx->fleet, spec_fleet_tenant_find(fx->fleet, "acme"), &m);
	for (int i = 0; i < SF__COUNT; i++) {
		assert_int_equal(m.v[i].o.set, 1);
		assert_int_equal(m.v[i].o.layer, SPEC_LAYER_BUILTIN);
	}
	assert_null(m.v[SF_PROFILE].s);
	assert_string_equal(m.v[SF_REGION].s, "aws-us-east-2");
	assert_int_equal(m.v[SF_PG_VERSION].i, 17);
	assert_int_equal(m.v[SF_HISTORY_RETENTION].i, 86400);
	assert_int_equal(m.v[SF_COMPUTE_MIN_CU].i, 1);
	assert_int_equal(m.v[SF_COMPUTE_MAX_CU].i, 1);
	assert_int_equal(m.v[SF_COMPUTE_SUSPEND_TIMEOUT].i, 300);
	assert_int_equal(m.v[SF_COMPUTE_PG_SETTINGS].map->n, 0);
	const spec_branches *br = m.v[SF_BRANCHES].br;
	assert_int_equal(br->n, 1);
	assert_int_equal(br->default_index, 0);
	assert_string_equal(br->items[0].name.s, "main");
	assert_int_equal(br->items[0].is_default.i, 1);
	assert_int_equal(br->items[0].parent.o.set, 0);
	assert_int_equal(br->items[0].nroles, 1);
	assert_string_equal(br->items[0].roles[0].name.s, "neondb_owner");
	assert_int_equal(br->items[0].ndatabases, 1);
	assert_string_equal(br->items[0].databases[0].name.s, "neondb");
	assert_string_equal(br->items[0].databases[0].owner.s, "neondb_owner");
}

static void test_resolve_pg_settings_merge(void **state)
{
	fixture *fx = *state;
	put_layered(fx);
	load(fx);
	assert_no_diags(fx);
	const spec_fleet *f = fx->fleet;
	spec_values m;
	spec_tenant_resolve(f, spec_fleet_tenant_find(f, "acme"), &m);
	const spec_map *pg = m.v[SF_COMPUTE_PG_SETTINGS].map;
	assert_non_null(pg);
	assert_int_equal(pg->n, 4);
	/* defaults' keys first, then each layer's new ones, in order written */
	assert_string_equal(pg->keys[0], "work_mem");
	assert_string_equal(pg->keys[1], "statement_timeout");
	assert_string_equal(pg->keys[2], "maintenance_work_mem");
	assert_string_equal(pg->keys[3], "auto_explain.log_min_duration");
	const spec_val *v = map_get(pg, "work_mem"); /* defaults said 4MB */
	assert_string_equal(v->s, "64MB");
	assert_origin(f, v, SPEC_LAYER_TENANT, "tenants/acme.yaml", 13, 17);
	v = map_get(pg, "statement_timeout"); /* defaults said 60s */
	assert_string_equal(v->s, "30s");
	assert_origin(f, v, SPEC_LAYER_PROFILE, "profiles/pro.yaml", 11, 26);
	v = map_get(pg, "maintenance_work_mem");
	assert_string_equal(v->s, "256MB");
	assert_origin(f, v, SPEC_LAYER_PROFILE, "profiles/pro.yaml", 12, 29);
	v = map_get(pg, "auto_explain.log_min_duration");
	assert_string_equal(v->s, "2s");
	assert_origin(f, v, SPEC_LAYER_TENANT, "tenants/acme.yaml", 14, 38);
	/* the field itself carries the last layer that wrote it */
	assert_int_equal(m.v[SF_COMPUTE_PG_SETTINGS].o.layer, SPEC_LAYER_TENANT);

	/* globex: the profile over the defaults, three keys */
	spec_tenant_resolve(f, spec_fleet_tenant_find(f, "globex"), &m);
	pg = m.v[SF_COMPUTE_PG_SETTINGS].map;
	assert_int_equal(pg->n, 3);
	assert_string_equal(map_get(pg, "work_mem")->s, "4MB");
	assert_origin(f, map_get(pg, "work_mem"), SPEC_LAYER_DEFAULTS, "flotilla.yaml", 11, 19);
	assert_string_equal(map_get(pg, "statement_timeout")->s, "30s");
	assert_null(map_get(pg, "auto_explain.log_min_duration"));

	/* resolving does not change the layers: the defaults map keeps two keys */
	spec_tenant_resolve(f, spec_fleet_tenant_find(f, "acme"), &m);
	spec_tenant_resolve(f, spec_fleet_tenant_find(f, "globex"), &m);
	assert_int_equal(m.v[SF_COMPUTE_PG_SETTINGS].map->n, 3);
}

static void test_resolve_branches_replace(void **state)
{
	fixture *fx = *state;
	put_layered(fx);
	load(fx);
	assert_no_diags(fx);
	const spec_fleet *f = fx->fleet;
	spec_values m;

	/* acme's own two branches replace the profile's three as a whole */
	spec_tenant_resolve(f, spec_fleet_tenant_find(f, "acme"), &m);
	const spec_branches *br = m.v[SF_BRANCHES].br;
	assert_int_equal(m.v[SF_BRANCHES].o.layer, SPEC_LAYER_TENANT);
	assert_int_equal(br->n, 2);
	assert_int_equal(br->default_index, 0);
	assert_string_equal(br->items[0].name.s, "production");
	assert_origin(f, &br->items[0].name, SPEC_LAYER_TENANT, "tenants/acme.yaml", 16, 13);
	assert_int_equal(br->items[0].is_default.i, 1);
	assert_origin(f, &br->items[0].is_default, SPEC_LAYER_TENANT, "tenants/acme.yaml", 17, 16);
	assert_int_equal(br->items[0].nroles, 1);
	assert_string_equal(br->items[0].roles[0].name.s, "app");
	assert_int_equal(br->items[0].ndatabases, 1);
	assert_string_equal(br->items[0].databases[0].owner.s, "app");
	assert_origin(f, &br->items[0].databases[0].owner, SPEC_LAYER_TENANT, "tenants/acme.yaml", 22, 18);
	assert_string_equal(br->items[1].name.s, "preview");
	assert_int_equal(br->items[1].parent.o.set, 0);
	assert_int_equal(br->items[1].nroles, 0);
	assert_int_equal(br->items[1].ndatabases, 0);

	/* globex inherits the profile's list unchanged */
	spec_tenant_resolve(f, spec_fleet_tenant_find(f, "globex"), &m);
	br = m.v[SF_BRANCHES].br;
	assert_int_equal(m.v[SF_BRANCHES].o.layer, SPEC_LAYER_PROFILE);
	assert_int_equal(br->n, 3);
	assert_int_equal(br->default_index, 0); /* named main */
	assert_string_equal(br->items[0].name.s, "main");
	assert_string_equal(br->items[1].name.s, "staging");
	assert_string_equal(br->items[2].name.s, "dev");
	assert_string_equal(br->items[2].parent.s, "staging");
	assert_origin(f, &br->items[2].parent, SPEC_LAYER_PROFILE, "profiles/pro.yaml", 17, 15);
}

/* Units and types decode to the documented representation. */
static void test_decode_units(void **state)
{
	fixture *fx = *state;
	put(fx, "flotilla.yaml", FLEET_MIN);
	put(fx, "tenants/acme.yaml",
	    "apiVersion: flotilla/v1\n"
	    "kind: Tenant\n"
	    "metadata:\n"
	    "  name: acme\n"
	    "spec:\n"
	    "  historyRetention: 3d12h\n"
	    "  quota:\n"
	    "    activeTime: unlimited\n"
	    "    computeTime: 750h\n"
	    "    writtenData: 10GB\n"
	    "    dataTransfer: 512MiB\n"
	    "    logicalSize: 0\n"
	    "  compute:\n"
	    "    minCu: 0.75\n"
	    "    maxCu: 2.5\n"
	    "    suspendTimeout: never\n"
	    "  readReplicas: 10\n"
	    "  settings:\n"
	    "    allowedIps: [203.0.113.0/24, \"2001:db8::/48\", 192.0.2.1-192.0.2.9]\n"
	    "    logicalReplication: true\n"
	    "    maintenanceWindow:\n"
	    "      weekdays: [6, 7]\n"
	    "      startTime: \"01:00\"\n"
	    "      endTime: \"03:30\"\n"
	    "  protect: true\n");
	load(fx);
	assert_no_diags(fx);
	const spec_values *v = &spec_fleet_tenant_find(fx->fleet, "acme")->spec;
	assert_int_equal(v->v[SF_HISTORY_RETENTION].i, 3 * 86400 + 12 * 3600);
	assert_int_equal(v->v[SF_QUOTA_ACTIVE_TIME].i, 0);
	assert_int_equal(v->v[SF_QUOTA_ACTIVE_TIME].o.set, 1); /* written, as unlimited */
	assert_int_equal(v->v[SF_QUOTA_COMPUTE_TIME].i, 750 * 3600);
	assert_int_equal(v->v[SF_QUOTA_WRITTEN_DATA].i, INT64_C(10000000000));
	assert_int_equal(v->v[SF_QUOTA_DATA_TRANSFER].i, INT64_C(512) << 20);
	assert_int_equal(v->v[SF_QUOTA_LOGICAL_SIZE].i, 0);
	assert_int_equal(v->v[SF_COMPUTE_MIN_CU].i, 3);
	assert_int_equal(v->v[SF_COMPUTE_MAX_CU].i, 10);
	assert_int_equal(v->v[SF_COMPUTE_SUSPEND_TIMEOUT].i, DURATION_NEVER);
	assert_int_equal(v->v[SF_READ_REPLICAS].i, 10);
	const spec_list *ips = v->v[SF_SETTINGS_ALLOWED_IPS].list;
	assert_int_equal(ips->n, 3);
	assert_string_equal(ips->items[0].s, "203.0.113.0/24");
	assert_string_equal(ips->items[1].s, "2001:db8::/48");
	assert_string_equal(ips->items[2].s, "192.0.2.1-192.0.2.9");
	assert_int_equal(v->v[SF_SETTINGS_LOGICAL_REPLICATION].i, 1);
	assert_int_equal(v->v[SF_SETTINGS_PROTECTED_BRANCHES_ONLY].o.set, 0);
	const spec_list *wd = v->v[SF_SETTINGS_MW_WEEKDAYS].list;
	assert_int_equal(wd->n, 2);
	assert_int_equal(wd->items[0].i, 6);
	assert_int_equal(wd->items[1].i, 7);
	assert_string_equal(v->v[SF_SETTINGS_MW_START_TIME].s, "01:00");
	assert_string_equal(v->v[SF_SETTINGS_MW_END_TIME].s, "03:30");
	assert_int_equal(v->v[SF_PROTECT].i, 1);
}

/* A fleet with problems still returns every tenant that could be read,
 * so that `explain` works on it; a value that failed is simply absent. */
static void test_fleet_with_errors_keeps_tenants(void **state)
{
	fixture *fx = *state;
	put(fx, "flotilla.yaml", FLEET_MIN);
	put(fx, "tenants/a.yaml",
	    "apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: acme\nspec:\n"
	    "  pgVersion: 13\n"
	    "  readReplicas: 2\n");
	put(fx, "tenants/b.yaml", "apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: [broken\n");
	put(fx, "tenants/c.yaml", "apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: globex\n");
	load(fx);
	assert_int_equal(spec_diags_count(fx->diags), 2);
	const spec_diag *g = spec_diags_at(fx->diags, 0);
	assert_string_equal(g->file, "tenants/a.yaml");
	assert_int_equal(g->line, 6);
	assert_int_equal(g->col, 14);
	assert_string_equal(g->path, "spec.pgVersion");
	assert_string_equal(g->msg, "13 is out of range: must be 14..18");
	g = spec_diags_at(fx->diags, 1);
	assert_string_equal(g->file, "tenants/b.yaml");
	assert_string_equal(g->path, "(file)");
	assert_non_null(strstr(g->msg, "YAML syntax error"));

	assert_int_equal(spec_fleet_tenant_count(fx->fleet), 2);
	const spec_tenant *t = spec_fleet_tenant_find(fx->fleet, "acme");
	assert_non_null(t);
	assert_non_null(spec_fleet_tenant_find(fx->fleet, "globex"));
	spec_values m;
	spec_tenant_resolve(fx->fleet, t, &m);
	assert_int_equal(m.v[SF_PG_VERSION].i, 17);
	assert_int_equal(m.v[SF_PG_VERSION].o.layer, SPEC_LAYER_BUILTIN);
	assert_int_equal(m.v[SF_READ_REPLICAS].i, 2);
	assert_int_equal(m.v[SF_READ_REPLICAS].o.layer, SPEC_LAYER_TENANT);

	buf out = BUF_INIT(0);
	assert_int_equal(spec_explain_render(fx->fleet, t, &out), 0);
	assert_non_null(strstr(out.data, "tenant acme (tenants/a.yaml:4)\n"));
	/* the JSON holds the same values as the text, one a line of it */
	size_t lines = 0;
	for (const char *p = out.data; *p; p++)
		lines += *p == '\n';
	buf js = BUF_INIT(0);
	assert_int_equal(spec_explain_render_json(fx->fleet, t, &js), 0);
	json_error_t jerr;
	json_t *doc = json_loads(js.data, 0, &jerr);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "tenant")), "acme");
	assert_string_equal(json_string_value(json_object_get(doc, "from")), "tenants/a.yaml:4");
	json_t *vals = json_object_get(doc, "values");
	assert_int_equal(json_array_size(vals), lines - 3); /* the text's heading is 3 lines */
	size_t i;
	json_t *v;
	bool replicas = false;
	json_array_foreach(vals, i, v) {
		const char *key = json_string_value(json_object_get(v, "key"));
		assert_non_null(key);
		assert_non_null(strstr(out.data, key));
		if (strcmp(key, "spec.readReplicas") == 0)
			replicas = strcmp(json_string_value(json_object_get(v, "value")), "2") == 0 &&
				   strncmp(json_string_value(json_object_get(v, "from")), "tenants/a.yaml:", 15) == 0;
	}
	assert_true(replicas);
	json_decref(doc);
	buf_release(&js);
	buf_release(&out);
}

static void test_combined_rules_blame(void **state)
{
	fixture *fx = *state;
	put(fx, "flotilla.yaml",
	    "apiVersion: flotilla/v1\nkind: Fleet\nmetadata:\n  name: test\nspec:\n"
	    "  defaults:\n"
	    "    compute:\n"
	    "      minCu: 2\n"); /* line 8 */
	put(fx, "tenants/a.yaml",
	    "apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: acme\nspec:\n"
	    "  compute:\n"
	    "    maxCu: 12\n"); /* line 7: 12 - 2 > 8 */
	put(fx, "tenants/b.yaml", "apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: bravo\n");
	put(fx, "tenants/c.yaml", "apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: charlie\n");
	load(fx);
	char *text = diags_text(fx->diags);
	/* bravo and charlie hit the same defaults-only clash: reported once */
	assert_string_equal(text,
			    "flotilla.yaml:8:14: spec.defaults.compute.minCu: maxCu 0.25 is below minCu 2 "
			    "(maxCu from built-in default)\n"
			    "tenants/a.yaml:7:12: spec.compute.maxCu: maxCu 12 - minCu 2 is more than 8 CU, "
			    "Neon's widest autoscaling range (minCu from flotilla.yaml:8 (defaults))\n");
	free(text);
	assert_int_equal(spec_fleet_tenant_count(fx->fleet), 3);
}

static void test_yaml_bounds(void **state)
{
	fixture *fx = *state;
	put(fx, "flotilla.yaml", FLEET_MIN);
	/* nesting: 60 levels inside the 4 of the document is too deep */
	buf deep = BUF_INIT(0);
	assert_int_equal(buf_adds(&deep, "apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: deep\n"
					 "spec:\n  compute:\n    pgSettings:\n      x: "), 0);
	for (int i = 0; i < 61; i++)
		assert_int_equal(buf_addc(&deep, '['), 0);
	for (int i = 0; i < 61; i++)
		assert_int_equal(buf_addc(&deep, ']'), 0);
	assert_int_equal(buf_addc(&deep, '\n'), 0);
	put(fx, "tenants/deep.yaml", deep.data);
	buf_release(&deep);
	/* an alias bomb: 10^6 nodes once expanded */
	put(fx, "tenants/lol.yaml",
	    "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
	    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
	    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
	    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
	    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
	    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n");
	put(fx, "tenants/tab.yaml", "apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n\tname: tab\n");
	put(fx, "tenants/empty.yaml", "# nothing yet\n");
	load(fx);
	char *text = diags_text(fx->diags);
	assert_string_equal(text,
			    "tenants/deep.yaml:8:70: (document): nesting deeper than 64 levels\n"
			    "tenants/empty.yaml:1:1: (file): file is empty: expected at least one YAML document\n"
			    "tenants/lol.yaml:5:29: (document): document expands to more than 100000 nodes "
			    "through aliases (an alias bomb such as \"billion laughs\"?)\n"
			    "tenants/tab.yaml:4:1: (file): tab character in indentation: YAML forbids tabs for indentation; use spaces\n");
	free(text);
	assert_int_equal(spec_fleet_tenant_count(fx->fleet), 0);
}

static void test_yaml_hints(void **state)
{
	fixture *fx = *state;
	put(fx, "flotilla.yaml", FLEET_MIN);
#define HEAD "apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: acme\n"
	put(fx, "tenants/a-over.yaml", HEAD "spec:\n  region: aws-us-east-2\n   pgVersion: 17\n");
	put(fx, "tenants/b-nocolon.yaml", HEAD "spec:\n  region aws-us-east-2\n  pgVersion: 17\n");
	put(fx, "tenants/c-colon.yaml", HEAD "  labels:\n    note: see: this\nspec: {}\n");
	put(fx, "tenants/d-at.yaml", HEAD "spec:\n  region: @foo\n");
	/* on one line, a missing comma is as likely as a missing '}': no hint */
	put(fx, "tenants/e-flow.yaml", HEAD "  labels: {tier: pro x: y}\nspec: {}\n");
	put(fx, "tenants/f-list.yaml", HEAD "spec:\n  branches:\n    - name: main\n     parent: x\n");
	put(fx, "tenants/g-key.yaml", HEAD "spec:\n  region: x\n  y\n  pgVersion: 17\n");
#undef HEAD
	load(fx);
	char *text = diags_text(fx->diags);
	assert_string_equal(text,
		"tenants/a-over.yaml:7:13: (file): YAML syntax error: mapping values are not allowed in this context; "
		"this line is indented more than line 6 above it (3 spaces, not 2): keys of one map line up\n"
		"tenants/b-nocolon.yaml:7:12: (file): YAML syntax error: mapping values are not allowed in this context; "
		"line 6 above has no ':' after its key, so this line reads as the rest of its value\n"
		"tenants/c-colon.yaml:6:14: (file): YAML syntax error: mapping values are not allowed in this context; "
		"a value that holds ': ' must be quoted (key: \"a: b\")\n"
		"tenants/d-at.yaml:6:11: (file): YAML syntax error: found character that cannot start any token while "
		"scanning for the next token; '@' cannot start a plain value: quote the value\n"
		"tenants/e-flow.yaml:5:23: (file): YAML syntax error: did not find expected ',' or '}' while parsing a "
		"flow mapping\n"
		"tenants/f-list.yaml:8:6: (file): YAML syntax error: did not find expected '-' indicator while parsing a "
		"block collection; check this line's indentation against the line above: the list that starts at line 7 "
		"has its '-' items at column 5\n"
		"tenants/g-key.yaml:8:3: (file): YAML syntax error: could not find expected ':' while scanning a simple "
		"key; line 7 has no ':' after its key\n");
	free(text);
}

static void test_symlink_outside_refused(void **state)
{
	fixture *fx = *state;
	put(fx, "flotilla.yaml", FLEET_MIN);
	put(fx, "tenants/acme.yaml", "apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: acme\n");
	char *link = xasprintf("%s/tenants/evil.yaml", fx->dir);
	assert_int_equal(symlink("/etc/hostname", link), 0);
	free(link);
	link = xasprintf("%s/tenants/inside.yaml", fx->dir);
	assert_int_equal(symlink("acme.yaml", link), 0);
	free(link);
	load(fx);
	char *text = diags_text(fx->diags);
	/* inside.yaml is read (and so defines acme a second time); evil.yaml is not */
	assert_string_equal(text,
			    "tenants/evil.yaml:1:1: (file): symlink points outside the repository; refused\n"
			    "tenants/inside.yaml:4:9: metadata.name: tenant 'acme' is defined twice: "
			    "first at tenants/acme.yaml:4:9\n");
	free(text);
}

/* ------------------------------------------------- an in-memory source */

typedef struct mem_file {
	const char *path, *data;
} mem_file;

typedef struct mem_src {
	const mem_file *files;
	size_t n;
	bool fail_list;
} mem_src;

static int mem_list(void *ctx, void (*emit)(void *, const char *), void *arg)
{
	mem_src *m = ctx;
	if (m->fail_list)
		return err_set(ERR_IO, "cannot list");
	for (size_t i = m->n; i-- > 0;) /* reverse order: the loader sorts */
		emit(arg, m->files[i].path);
	return 0;
}

static int mem_read(void *ctx, const char *path, buf *out)
{
	mem_src *m = ctx;
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->files[i].path, path) == 0)
			return buf_adds(out, m->files[i].data) ? err_set(ERR_TOOBIG, "too big for %zu", out->max) : 0;
	return err_set(ERR_IO, "no such file");
}

static void test_load_from_memory_source(void **state)
{
	(void)state;
	static const mem_file files[] = {
		{"tenants/a.yaml", "apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: alpha\n"},
		{"flotilla.yaml", "apiVersion: flotilla/v1\nkind: Fleet\nmetadata:\n  name: mem\n"},
		{"tenants/b.yaml", "apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: alpha\n"},
	};
	mem_src m = {files, ARRAY_LEN(files), false};
	spec_source src = {.ctx = &m, .list = mem_list, .read = mem_read};
	spec_fleet *f = NULL;
	spec_diags *d = spec_diags_new();
	assert_int_equal(spec_fleet_load(&f, &src, d), 0);
	assert_string_equal(spec_fleet_name(f), "mem");
	assert_int_equal(spec_fleet_tenant_count(f), 1);
	char *text = diags_text(d);
	/* files are read in path order whatever order the source lists them in */
	assert_string_equal(text, "tenants/b.yaml:4:9: metadata.name: tenant 'alpha' is defined twice: "
				  "first at tenants/a.yaml:4:9\n");
	free(text);
	spec_fleet_free(f);
	spec_diags_free(d);

	/* a source that cannot list: ERR_IO, no fleet */
	m.fail_list = true;
	f = (spec_fleet *)1;
	d = spec_diags_new();
	assert_int_equal(spec_fleet_load(&f, &src, d), ERR_IO);
	assert_null(f);
	spec_diags_free(d);
	spec_fleet_free(NULL);
}

static void test_missing_flotilla_yaml(void **state)
{
	(void)state;
	static const mem_file files[] = {
		{"tenants/a.yaml", "apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: alpha\n"},
	};
	mem_src m = {files, ARRAY_LEN(files), false};
	spec_source src = {.ctx = &m, .list = mem_list, .read = mem_read};
	spec_fleet *f = NULL;
	spec_diags *d = spec_diags_new();
	assert_int_equal(spec_fleet_load(&f, &src, d), 0);
	char *text = diags_text(d);
	assert_string_equal(text, "flotilla.yaml:1:1: (file): no flotilla.yaml at the repository root: "
				  "a fleet starts with one Fleet document\n");
	free(text);
	/* the default globs still find the tenants */
	assert_int_equal(spec_fleet_tenant_count(f), 1);
	assert_string_equal(spec_fleet_name(f), "");
	spec_fleet_free(f);
	spec_diags_free(d);
}

int main(void)
{
#define FX(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_glob_double_star_start_end),
		cmocka_unit_test(test_glob_star_question),
		cmocka_unit_test(test_glob_classes),
		cmocka_unit_test(test_diags_add_defaults),
		cmocka_unit_test(test_diags_sort_dedupe),
		cmocka_unit_test(test_diags_render_text),
		cmocka_unit_test(test_diags_render_json),
		cmocka_unit_test(test_field_table),
		FX(test_source_dir_not_a_directory),
		FX(test_load_tenants_order_and_find),
		FX(test_load_tenants_sorted),
		FX(test_fleet_accessor_defaults),
		FX(test_fleet_accessors_set),
		FX(test_resolve_values_and_origins),
		FX(test_resolve_builtin_only),
		FX(test_resolve_pg_settings_merge),
		FX(test_resolve_branches_replace),
		FX(test_decode_units),
		FX(test_fleet_with_errors_keeps_tenants),
		FX(test_combined_rules_blame),
		FX(test_yaml_bounds),
		FX(test_yaml_hints),
		FX(test_symlink_outside_refused),
		cmocka_unit_test(test_load_from_memory_source),
		cmocka_unit_test(test_missing_flotilla_yaml),
	};
#undef FX
	return cmocka_run_group_tests(tests, NULL, NULL);
}
