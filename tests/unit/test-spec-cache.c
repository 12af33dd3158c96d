/*
 * test-spec-cache.c: unit tests of spec/'s parse cache
 * (spec_fleet_load_cached): a warm load decodes every unchanged file from
 * the cache and gives exactly the fleet and diagnostics of a parse; a
 * changed file is parsed alone; a damaged entry is parsed again.
 *
 * "Exactly" is checked on a rendering of the whole load: fleet settings,
 * every tenant's explain output (every value with its origin), and the
 * diagnostics text. The golden manifest sets of tests/data/spec run
 * through the cached path too, cold and warm, against the plain load.
 * The loader parses on a second thread through a ring of 64 files; a fleet
 * of a few hundred files runs the ring round many times.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "spec/spec.h"

/* ------------------------------------------------- an in-memory source */

#define MAX_FILES 320

typedef struct mem_src {
	size_t n;
	char *paths[MAX_FILES];
	char *data[MAX_FILES];
	char ids[MAX_FILES][SPEC_BLOB_ID_LEN + 1];
	spec_source src;
} mem_src;

static int mem_list(void *ctx, void (*emit)(void *arg, const char *path), void *arg)
{
	mem_src *m = ctx;
	for (size_t i = 0; i < m->n; i++)
		emit(arg, m->paths[i]);
	return 0;
}

static int mem_find(const mem_src *m, const char *path)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->paths[i], path) == 0)
			return (int)i;
	return -1;
}

static int mem_read(void *ctx, const char *path, buf *out)
{
	mem_src *m = ctx;
	int i = mem_find(m, path);
	if (i < 0)
		return err_set(ERR_NOTFOUND, "'%s' is gone", path);
	return buf_adds(out, m->data[i]);
}

static int mem_blob_id(void *ctx, const char *path, char out[SPEC_BLOB_ID_LEN + 1])
{
	mem_src *m = ctx;
	int i = mem_find(m, path);
	if (i < 0)
		return ERR_NOTFOUND;
	memcpy(out, m->ids[i], SPEC_BLOB_ID_LEN + 1);
	return 0;
}

/* A content id like git's: the same bytes have the same id wherever they are. */
static void content_id(const char *data, size_t len, char out[SPEC_BLOB_ID_LEN + 1])
{
	char hex[SHA256_HEX_LEN + 1];
	sha256_hex(data, len, hex);
	memcpy(out, hex, SPEC_BLOB_ID_LEN);
	out[SPEC_BLOB_ID_LEN] = 0;
}

static void mem_put(mem_src *m, const char *path, const char *data)
{
	int i = mem_find(m, path);
	if (i < 0) {
		assert_true(m->n < MAX_FILES);
		i = (int)m->n++;
		m->paths[i] = xstrdup(path);
	} else {
		free(m->data[i]);
	}
	m->data[i] = xstrdup(data);
	content_id(data, strlen(data), m->ids[i]);
	m->src = (spec_source){.ctx = m, .list = mem_list, .read = mem_read, .blob_id = mem_blob_id};
}

static void mem_free(mem_src *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->paths[i]);
		free(m->data[i]);
	}
}

/* -------------------------------------------------- an in-memory cache */

typedef struct entry {
	char *id;
	size_t len;
	unsigned char *data;
} entry;

typedef struct mem_cache {
	strmap *map;
	entry *all[4096];
	size_t n;
	size_t gets, puts;
	spec_cache cache;
} mem_cache;

static int mc_get(void *ctx, const char *id, buf *out)
{
	mem_cache *c = ctx;
	c->gets++;
	entry *e = strmap_get(c->map, id);
	if (!e)
		return ERR_NOTFOUND;
	return buf_add(out, e->data, e->len);
}

static int mc_put(void *ctx, const char *id, const void *data, size_t len)
{
	mem_cache *c = ctx;
	c->puts++;
	entry *e = strmap_get(c->map, id);
	if (!e) {
		assert_true(c->n < ARRAY_LEN(c->all));
		e = xcalloc(1, sizeof(*e));
		e->id = xstrdup(id);
		c->all[c->n++] = e;
		strmap_put(c->map, e->id, e);
	}
	free(e->data);
	e->data = xmalloc(len ? len : 1);
	memcpy(e->data, data, len);
	e->len = len;
	return 0;
}

static void mc_init(mem_cache *c)
{
	memset(c, 0, sizeof(*c));
	c->map = strmap_new();
	c->cache = (spec_cache){.ctx = c, .get = mc_get, .put = mc_put};
}

static void mc_release(mem_cache *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->all[i]->id);
		free(c->all[i]->data);
		free(c->all[i]);
	}
	strmap_free(c->map);
}

/* ------------------------------------------------------------ loading */

/* Everything a load gives, as text: fleet settings, each tenant's explain
 * output, the diagnostics. */
static char *render(const spec_fleet *f, const spec_diags *d)
{
	buf b = BUF_INIT(0);
	const char *org = spec_fleet_org_id(f);
	assert_int_equal(buf_printf(&b, "fleet %s org %s prefix '%s' prune %d max %lld drift %s refresh %lld\n",
				    spec_fleet_name(f), org ? org : "-", spec_fleet_name_prefix(f),
				    (int)spec_fleet_prune(f), (long long)spec_fleet_max_deletes(f),
				    spec_fleet_drift(f), (long long)spec_fleet_refresh_interval(f)), 0);
	spec_prices pr;
	spec_fleet_prices(f, &pr);
	assert_int_equal(buf_printf(&b, "prices %d %lld %lld %lld %s %s\n", (int)pr.from_manifest,
				    (long long)pr.cu_hour, (long long)pr.gb_month, (long long)pr.transfer_gb,
				    pr.currency, pr.as_of ? pr.as_of : "-"), 0);
	assert_int_equal(buf_printf(&b, "tenants %zu\n", spec_fleet_tenant_count(f)), 0);
	for (size_t i = 0; i < spec_fleet_tenant_count(f); i++) {
		const spec_tenant *t = spec_fleet_tenant_at(f, i);
		assert_int_equal(buf_printf(&b, "== %s\n", t->name), 0);
		assert_int_equal(spec_explain_render(f, t, &b), 0);
		for (size_t l = 0; t->labels && l < t->labels->n; l++)
			assert_int_equal(buf_printf(&b, "label %s=%s\n", t->labels->keys[l], t->labels->vals[l].s), 0);
	}
	assert_int_equal(buf_adds(&b, "-- diagnostics\n"), 0);
	assert_int_equal(spec_diags_render_text(d, &b), 0);
	return buf_detach(&b, NULL);
}

/* Load through the cache (NULL: the plain spec_fleet_load) and render. */
static char *load(const spec_source *src, mem_cache *c, spec_load_stats *st)
{
	spec_fleet *f = NULL;
	spec_diags *d = spec_diags_new();
	spec_load_stats local;
	if (c)
		assert_int_equal(spec_fleet_load_cached(&f, src, &c->cache, d, st ? st : &local), 0);
	else
		assert_int_equal(spec_fleet_load(&f, src, d), 0);
	char *out = render(f, d);
	spec_fleet_free(f);
	spec_diags_free(d);
	return out;
}

/* Cold then warm through one cache, both equal to the plain load. */
static void check_cold_warm(const spec_source *src, int64_t nfiles)
{
	mem_cache c;
	mc_init(&c);
	spec_load_stats st;
	char *want = load(src, NULL, NULL);
	char *cold = load(src, &c, &st);
	assert_string_equal(cold, want);
	assert_int_equal(st.files, nfiles);
	assert_int_equal(st.parsed + st.cached, nfiles);
	char *warm = load(src, &c, &st);
	assert_string_equal(warm, want);
	assert_int_equal(st.files, nfiles);
	assert_int_equal(st.parsed, 0);
	assert_int_equal(st.cached, nfiles);
	free(want);
	free(cold);
	free(warm);
	mc_release(&c);
}

/* --------------------------------------------------------------- fleets */

/* Every kind of value: strings, ints, bools, CU, durations, sizes, quota
 * times, time of day, lists of strings and ints, maps, branches with
 * roles and databases, labels; defaults, a profile, tenants on it. */
static void put_full(mem_src *m)
{
	mem_put(m, "flotilla.yaml",
		"apiVersion: flotilla/v1\nkind: Fleet\nmetadata:\n  name: full\nspec:\n"
		"  orgId: org-123\n  namePrefix: \"fl-\"\n  prune: true\n  maxDeletesPerRun: 3\n"
		"  drift: report\n  refreshInterval: 2h\n  maxAutoscalingCu: 8\n"
		"  manifests: [\"tenants/**/*.yaml\", \"profiles/*.yaml\"]\n"
		"  allowedRegions: [aws-eu-central-1, aws-us-east-2]\n"
		"  prices: {computeUnitHour: 0.16, storageGbMonth: 0.000125, dataTransferGb: 2,"
		" currency: EUR, asOf: 2026-11-30}\n"
		"  defaults:\n    region: aws-eu-central-1\n    compute:\n      suspendTimeout: never\n"
		"      pgSettings:\n        work_mem: \"4MB\"\n");
	mem_put(m, "profiles/pro.yaml",
		"apiVersion: flotilla/v1\nkind: Profile\nmetadata:\n  name: pro\nspec:\n"
		"  historyRetention: 7d\n  pgVersion: 17\n  compute:\n    minCu: 0.5\n    maxCu: 2.75\n"
		"  quota:\n    activeTime: 10h\n    computeTime: unlimited\n    writtenData: 10GB\n"
		"    dataTransfer: 512MiB\n    logicalSize: 0\n"
		"  branches:\n    - name: main\n    - name: staging\n      protected: true\n"
		"    - name: dev\n      parent: staging\n");
	mem_put(m, "tenants/acme.yaml",
		"apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: acme\n"
		"  labels:\n    tier: pro\n    team.io/owner: ops\nspec:\n  profile: pro\n  readReplicas: 2\n"
		"  protect: true\n  compute:\n    maxCu: 2\n    pgSettings:\n      work_mem: \"64MB\"\n"
		"  settings:\n    allowedIps: [\"10.0.0.0/8\", \"192.168.1.1\", \"::1\"]\n"
		"    protectedBranchesOnly: true\n    logicalReplication: false\n"
		"    blockPublicConnections: true\n"
		"    maintenanceWindow:\n      weekdays: [1, 3, 7]\n      startTime: \"02:30\"\n"
		"      endTime: \"04:00\"\n"
		"  branches:\n    - name: production\n      default: true\n      roles:\n"
		"        - name: app\n        - name: ro\n          noLogin: true\n"
		"      databases:\n        - name: app\n          owner: app\n"
		"    - name: preview\n      parent: production\n      roles: []\n      databases: []\n");
	mem_put(m, "tenants/more.yaml",
		"apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: globex\nspec:\n  profile: pro\n"
		"---\napiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: initech\n");
}

static void test_round_trip_every_type(void **state)
{
	(void)state;
	mem_src m = {0};
	put_full(&m);
	/* the fleet is clean, so that every value is kept, not dropped */
	spec_fleet *f = NULL;
	spec_diags *d = spec_diags_new();
	assert_int_equal(spec_fleet_load(&f, &m.src, d), 0);
	assert_int_equal(spec_diags_count(d), 0);
	assert_int_equal(spec_fleet_tenant_count(f), 3);
	spec_fleet_free(f);
	spec_diags_free(d);
	check_cold_warm(&m.src, 4);
	mem_free(&m);
}

/* Problems of every stage: values, YAML, documents, and names defined
 * twice across files (a registration problem, never cached). */
static void put_broken(mem_src *m)
{
	mem_put(m, "flotilla.yaml",
		"apiVersion: flotilla/v1\nkind: Fleet\nmetadata:\n  name: broken\nspec:\n"
		"  maxDeletesPerRun: -1\n  drfit: heal\n  defaults:\n    compute:\n      minCu: 0.3\n"
		"---\napiVersion: flotilla/v1\nkind: Fleet\nmetadata:\n  name: again\n");
	mem_put(m, "profiles/a.yaml",
		"apiVersion: flotilla/v1\nkind: Profile\nmetadata:\n  name: p\nspec:\n  profile: x\n");
	mem_put(m, "profiles/b.yaml",
		"apiVersion: flotilla/v1\nkind: Profile\nmetadata:\n  name: p\n");
	mem_put(m, "tenants/a.yaml",
		"apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: acme\nspec:\n"
		"  region: aws-ap-south-9\n  pgVersion: 13\n  compute:\n    minCu: 4\n    maxCu: 1\n"
		"  branches:\n    - name: main\n    - name: dev\n      parent: nope\n"
		"---\napiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: acme\n");
	mem_put(m, "tenants/b.yaml",
		"apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: acme\nspec:\n  quota:\n"
		"    writtenData: 10XB\n---\napiVersion: flotilla/v1\nkind: Fleet\nmetadata:\n  name: x\n");
	mem_put(m, "tenants/c.yaml", "apiVersion: flotilla/v1\nkind: [Tenant\n");
	mem_put(m, "tenants/d.yaml", "apiVersion: flotilla/v1\n\tkind: Tenant\n");
	mem_put(m, "tenants/e.yaml",
		"apiVersion: flotilla/v1\nkind: Tennant\nmetadata:\n  name: e\n---\nkind: Tenant\n"
		"---\napiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  labels: {\"-x\": y}\nspec:\n  pgVersion: 99\n");
}

static void test_warm_with_diagnostics(void **state)
{
	(void)state;
	mem_src m = {0};
	put_broken(&m);
	char *want = load(&m.src, NULL, NULL);
	assert_non_null(strstr(want, "tenant 'acme' is defined twice: first at tenants/a.yaml:4:9"));
	assert_non_null(strstr(want, "profile 'p' is defined twice"));
	assert_non_null(strstr(want, "tab character"));
	free(want);
	check_cold_warm(&m.src, 8);
	mem_free(&m);
}

/* Changing one file parses that file alone; the rest stays cached. */
static void test_one_file_changed(void **state)
{
	(void)state;
	mem_src m = {0};
	put_full(&m);
	put_broken(&m); /* replaces flotilla.yaml, adds the broken files */
	mem_cache c;
	mc_init(&c);
	spec_load_stats st;
	free(load(&m.src, &c, &st));
	assert_int_equal(st.parsed, 11);
	mem_put(&m, "tenants/acme.yaml",
		"apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: acme\nspec:\n  pgVersion: 15\n");
	char *warm = load(&m.src, &c, &st);
	assert_int_equal(st.files, 11);
	assert_int_equal(st.parsed, 1);
	assert_int_equal(st.cached, 10);
	char *want = load(&m.src, NULL, NULL);
	assert_string_equal(warm, want);
	free(warm);
	free(want);
	mc_release(&c);
	mem_free(&m);
}

/* A damaged, truncated or foreign entry is a miss: the file is parsed
 * again, the entry rewritten, and the result unchanged. */
static void test_damaged_entries(void **state)
{
	(void)state;
	mem_src m = {0};
	put_full(&m);
	mem_cache c;
	mc_init(&c);
	spec_load_stats st;
	char *want = load(&m.src, &c, &st);
	assert_int_equal(c.n, 4);
	c.all[0]->data[c.all[0]->len / 2] ^= 0x40;    /* a flipped bit */
	c.all[1]->len -= 3;                           /* truncated */
	c.all[2]->data[4] = 99;                       /* another version */
	c.all[3]->len = 0;                            /* empty */
	char *got = load(&m.src, &c, &st);
	assert_string_equal(got, want);
	assert_int_equal(st.parsed, 4);
	assert_int_equal(st.cached, 0);
	free(got);
	got = load(&m.src, &c, &st);
	assert_string_equal(got, want);
	assert_int_equal(st.cached, 4);
	free(got);
	/* every truncation of one entry is refused, never misread */
	entry *e = c.all[2];
	size_t full = e->len;
	for (size_t len = 0; len < full; len++) {
		e->len = len;
		got = load(&m.src, &c, &st);
		assert_string_equal(got, want);
		assert_int_equal(st.parsed, 1);
		free(got);
		e->len = full; /* the load rewrote it: restore for the next round */
	}
	free(want);
	mc_release(&c);
	mem_free(&m);
}

/* The same blob at two paths: the second file hits the first's entry
 * within one load, and its records and diagnostics name its own path;
 * the same bytes as flotilla.yaml and as a tenant file decode differently,
 * so the entry of one is a miss for the other. */
static void test_same_blob_two_paths(void **state)
{
	(void)state;
	mem_src m = {0};
	const char *fleet = "apiVersion: flotilla/v1\nkind: Fleet\nmetadata:\n  name: same\n";
	const char *tenant = "apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: twin\nspec:\n  pgVersion: 12\n";
	mem_put(&m, "flotilla.yaml", fleet);
	mem_put(&m, "tenants/fleet-copy.yaml", fleet);
	mem_put(&m, "tenants/one.yaml", tenant);
	mem_put(&m, "tenants/two.yaml", tenant);
	mem_cache c;
	mc_init(&c);
	spec_load_stats st;
	char *want = load(&m.src, NULL, NULL);
	assert_non_null(strstr(want, "tenants/two.yaml:4:9: metadata.name: tenant 'twin' is defined twice: first at tenants/one.yaml:4:9"));
	assert_non_null(strstr(want, "tenants/two.yaml:6:14"));
	char *got = load(&m.src, &c, &st);
	assert_string_equal(got, want);
	assert_int_equal(st.cached, 1); /* two.yaml from one.yaml's entry */
	free(got);
	got = load(&m.src, &c, &st);
	assert_string_equal(got, want);
	/* flotilla.yaml and its copy share an id but not a role: each finds
	 * the other's entry, misses and parses (a copied Fleet document is an
	 * error anyway, so this costs nothing that matters) */
	assert_int_equal(st.cached, 2);
	assert_int_equal(st.parsed, 2);
	free(got);
	free(want);
	mc_release(&c);
	mem_free(&m);
}

/* Without blob ids, or without a cache, every file is parsed. */
static void test_no_ids_no_cache(void **state)
{
	(void)state;
	mem_src m = {0};
	put_full(&m);
	mem_cache c;
	mc_init(&c);
	spec_load_stats st;
	m.src.blob_id = NULL;
	free(load(&m.src, &c, &st));
	free(load(&m.src, &c, &st));
	assert_int_equal(st.parsed, 4);
	assert_int_equal(c.gets + c.puts, 0);
	spec_fleet *f = NULL;
	spec_diags *d = spec_diags_new();
	m.src.blob_id = mem_blob_id;
	assert_int_equal(spec_fleet_load_cached(&f, &m.src, NULL, d, &st), 0);
	assert_int_equal(st.parsed, 4);
	assert_int_equal(st.cached, 0);
	spec_fleet_free(f);
	spec_diags_free(d);
	mc_release(&c);
	mem_free(&m);
}

/* A fleet larger than the parse pipeline's ring: diagnostics of the
 * parser thread (a syntax error) and of decoding, a name defined twice,
 * and files with the same content as a file 1, 63, 64, 65 and 150
 * places before them, which must hit that file's entry within the load
 * exactly as if the files were loaded one after the other. */
#define RING_FILES 300

static void put_ring(mem_src *m, bool changed)
{
	mem_put(m, "flotilla.yaml", "apiVersion: flotilla/v1\nkind: Fleet\nmetadata:\n  name: ring\n");
	static const int copies[][2] = {{100, 101}, {110, 173}, {120, 184}, {130, 195}, {140, 290}};
	char path[64], data[256];
	for (int i = 0; i < RING_FILES; i++) {
		int from = i;
		for (size_t c = 0; c < ARRAY_LEN(copies); c++)
			if (copies[c][1] == i)
				from = copies[c][0];
		if (from % 37 == 0)
			snprintf(data, sizeof(data), "apiVersion: flotilla/v1\nkind: [Tenant\n# t%03d\n", from);
		else
			snprintf(data, sizeof(data),
				 "apiVersion: flotilla/v1\nkind: Tenant\nmetadata:\n  name: t%03d\nspec:\n"
				 "  pgVersion: %d\n", from,
				 changed && i % 3 == 0 ? 15 : from % 10 == 5 ? 99 : 16);
		snprintf(path, sizeof(path), "tenants/t%03d.yaml", i);
		mem_put(m, path, data);
	}
}

static void test_more_files_than_the_ring(void **state)
{
	(void)state;
	mem_src m = {0};
	put_ring(&m, false);
	mem_cache c;
	mc_init(&c);
	spec_load_stats st;
	char *want = load(&m.src, NULL, NULL);
	assert_non_null(strstr(want, "tenants/t101.yaml:4:9: metadata.name: tenant 't100' is defined twice: "
				     "first at tenants/t100.yaml:4:9"));
	assert_non_null(strstr(want, "tenants/t290.yaml:4:9: metadata.name: tenant 't140' is defined twice: "
				     "first at tenants/t140.yaml:4:9"));
	assert_non_null(strstr(want, "tenants/t296.yaml:4:1: (file): YAML syntax error"));
	assert_non_null(strstr(want, "tenants/t295.yaml:6:14"));
	char *got = load(&m.src, &c, &st);
	assert_string_equal(got, want);
	assert_int_equal(st.files, RING_FILES + 1);
	assert_int_equal(st.cached, 5); /* each copy from its original's entry */
	assert_int_equal(st.parsed, RING_FILES + 1 - 5);
	free(got);
	got = load(&m.src, &c, &st);
	assert_string_equal(got, want);
	assert_int_equal(st.cached, RING_FILES + 1);
	free(got);

	/* an empty entry in the middle of a warm load: parsed again */
	entry *e = strmap_get(c.map, m.ids[mem_find(&m, "tenants/t200.yaml")]);
	assert_non_null(e);
	e->len = 0;
	got = load(&m.src, &c, &st);
	assert_string_equal(got, want);
	assert_int_equal(st.parsed, 1);
	free(got);
	free(want);

	/* every third file changed: the parser thread starts amid hits */
	put_ring(&m, true);
	want = load(&m.src, NULL, NULL);
	got = load(&m.src, &c, &st);
	assert_string_equal(got, want);
	/* (but t000, t111 and t222, syntax errors, stay as they were) */
	assert_int_equal(st.parsed, RING_FILES / 3 - 3);
	assert_int_equal(st.cached, RING_FILES + 1 - (RING_FILES / 3 - 3));
	free(got);
	free(want);
	mc_release(&c);
	mem_free(&m);
}

/* ------------------------------------------- golden cases, cached path */

/* A directory source with git-like ids (the content hash); files that
 * cannot be read have no id, as in a tree they would not exist. */
typedef struct id_src {
	spec_source *dir;
	int64_t noid; /* blob_id calls that found no file */
	spec_source src;
} id_src;

static int id_list(void *ctx, void (*emit)(void *arg, const char *path), void *arg)
{
	id_src *s = ctx;
	return s->dir->list(s->dir->ctx, emit, arg);
}

static int id_read(void *ctx, const char *path, buf *out)
{
	id_src *s = ctx;
	return s->dir->read(s->dir->ctx, path, out);
}

static int id_blob_id(void *ctx, const char *path, char out[SPEC_BLOB_ID_LEN + 1])
{
	id_src *s = ctx;
	buf b = BUF_INIT(SPEC_MAX_FILE_BYTES);
	int rc = s->dir->read(s->dir->ctx, path, &b);
	if (rc == 0)
		content_id(b.data ? b.data : "", b.len, out);
	buf_release(&b);
	if (rc != 0)
		s->noid++;
	return rc == 0 ? 0 : ERR_NOTFOUND;
}

static void test_golden_cases_cached(void **state)
{
	(void)state;
	DIR *dir = opendir("data/spec");
	assert_non_null(dir);
	char tmp[] = "/tmp/flotilla-spec-cache-XXXXXX";
	assert_non_null(mkdtemp(tmp));
	size_t cases = 0;
	struct dirent *de;
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		/* as golden.sh: a copy of fleet/, with the case's setup run inside */
		char *cmd = xasprintf("rm -rf '%s/fleet' && cp -R 'data/spec/%s/fleet' '%s/fleet' && "
				      "if [ -f 'data/spec/%s/setup' ]; then d=$(pwd); (cd '%s/fleet' && sh \"$d/data/spec/%s/setup\"); fi",
				      tmp, de->d_name, tmp, de->d_name, tmp, de->d_name);
		assert_int_equal(system(cmd), 0);
		free(cmd);
		char *root = xasprintf("%s/fleet", tmp);
		id_src s = {0};
		assert_int_equal(spec_source_dir_new(&s.dir, root), 0);
		s.src = (spec_source){.ctx = &s, .list = id_list, .read = id_read, .blob_id = id_blob_id};
		mem_cache c;
		mc_init(&c);
		spec_load_stats st;
		char *want = load(s.dir, NULL, NULL);
		char *cold = load(&s.src, &c, &st);
		s.noid = 0;
		char *warm = load(&s.src, &c, &st);
		if (strcmp(want, cold) != 0 || strcmp(want, warm) != 0)
			fail_msg("case %s: cached load differs\n--- plain\n%s--- cold\n%s--- warm\n%s", de->d_name,
				 want, cold, warm);
		/* a file the reader refuses has no id and is read (and refused)
		 * every time; everything else comes from the cache */
		if (st.parsed != 0 || st.cached + s.noid != st.files)
			fail_msg("case %s: warm load of %lld files: %lld parsed, %lld cached, %lld without id",
				 de->d_name, (long long)st.files, (long long)st.parsed, (long long)st.cached,
				 (long long)s.noid);
		free(want);
		free(cold);
		free(warm);
		mc_release(&c);
		spec_source_dir_free(s.dir);
		free(root);
		cases++;
	}
	closedir(dir);
	char *cmd = xasprintf("rm -rf '%s'", tmp);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	assert_true(cases >= 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_every_type),
		cmocka_unit_test(test_warm_with_diagnostics),
		cmocka_unit_test(test_one_file_changed),
		cmocka_unit_test(test_damaged_entries),
		cmocka_unit_test(test_same_blob_two_paths),
		cmocka_unit_test(test_no_ids_no_cache),
		cmocka_unit_test(test_more_files_than_the_ring),
		cmocka_unit_test(test_golden_cases_cached),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
