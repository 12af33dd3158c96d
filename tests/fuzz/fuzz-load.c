/*
 * fuzz-load.c: libFuzzer target for the manifest loader (spec_fleet_load).
 *
 * The loader reads files through a spec_source, so the target serves a
 * small repository from memory: a fixed valid flotilla.yaml, a profile and
 * a tenant, plus the fuzz input. An input that holds "kind: Fleet" replaces
 * flotilla.yaml (so globs, allowedRegions and defaults get fuzzed against
 * the fixed profile and tenant); any other input is served as
 * tenants/t.yaml. The choice goes by content rather than by a selector
 * byte so that real manifests (the seeds, tests/data/spec, examples/) land
 * where they belong without a prefix: a parity byte would send nearly all
 * of them to flotilla.yaml, since '#', '-' and 'a' (apiVersion) are odd.
 *
 * Past loading, the target resolves and explains every tenant and renders
 * the diagnostics both ways, since `flotilla explain` and `validate` run
 * on fleets with problems too. It checks the few invariants spec.h
 * promises and aborts when one breaks, so that the fuzzer reports it.
 * Everything is freed: LeakSanitizer runs after each input.
 */
#include <stdlib.h>
#include <string.h>

#include "spec/spec.h"
#include "tests/fuzz/fuzz.h"

static const char FLEET_YAML[] =
	"apiVersion: flotilla/v1\n"
	"kind: Fleet\n"
	"metadata:\n"
	"  name: fuzz\n"
	"spec:\n"
	"  namePrefix: f-\n"
	"  manifests: [profiles/*.yaml, tenants/**/*.yaml]\n"
	"  allowedRegions: [aws-us-east-2, aws-eu-central-1]\n"
	"  maxAutoscalingCu: 8\n"
	"  defaults:\n"
	"    profile: std\n"
	"    region: aws-us-east-2\n"
	"    compute:\n"
	"      suspendTimeout: 5m\n"
	"    settings:\n"
	"      maintenanceWindow: {weekdays: [2, 3], startTime: \"03:00\", endTime: \"04:00\"}\n";

static const char PROFILE_YAML[] =
	"apiVersion: flotilla/v1\n"
	"kind: Profile\n"
	"metadata:\n"
	"  name: std\n"
	"spec:\n"
	"  historyRetention: 7d\n"
	"  compute:\n"
	"    minCu: 0.5\n"
	"    maxCu: 4\n"
	"    pgSettings:\n"
	"      work_mem: \"8MB\"\n"
	"  quota:\n"
	"    writtenData: 10GiB\n"
	"  branches:\n"
	"    - name: main\n"
	"      roles: [{name: app}]\n"
	"      databases: [{name: app, owner: app}]\n";

static const char TENANT_YAML[] =
	"apiVersion: flotilla/v1\n"
	"kind: Tenant\n"
	"metadata:\n"
	"  name: base\n"
	"  labels: {tier: pro}\n"
	"spec:\n"
	"  region: aws-eu-central-1\n"
	"  compute:\n"
	"    maxCu: 6\n";

static const char README[] = "not a manifest: no glob matches this file\n";

typedef struct mem_file {
	const char *path;
	const char *data;
	size_t len;
} mem_file;

typedef struct mem_repo {
	mem_file files[5];
	size_t n;
} mem_repo;

static int mem_list(void *ctx, void (*emit)(void *arg, const char *path), void *arg)
{
	const mem_repo *r = ctx;
	for (size_t i = 0; i < r->n; i++)
		emit(arg, r->files[i].path);
	return 0;
}

static int mem_read(void *ctx, const char *path, buf *out)
{
	const mem_repo *r = ctx;
	for (size_t i = 0; i < r->n; i++) {
		if (strcmp(r->files[i].path, path) != 0)
			continue;
		if (out->max && r->files[i].len > out->max)
			return err_set(ERR_TOOBIG, "file is %zu bytes, larger than the %zu-byte maximum",
				       r->files[i].len, out->max);
		return buf_add(out, r->files[i].data, r->files[i].len);
	}
	/* the loader only reads what list emitted */
	abort();
}

static void repo_add(mem_repo *r, const char *path, const char *data, size_t len)
{
	r->files[r->n].path = path;
	r->files[r->n].data = data;
	r->files[r->n].len = len;
	r->n++;
}

/* spec.h: every diagnostic names a file and a 1-based position, and the
 * list comes back sorted. */
static void check_diags(const spec_diags *d)
{
	const spec_diag *prev = NULL;
	for (size_t i = 0; i < spec_diags_count(d); i++) {
		const spec_diag *g = spec_diags_at(d, i);
		if (!g || !g->file || !g->path || !g->msg || g->line == 0 || g->col == 0)
			abort();
		if (prev) {
			int c = strcmp(prev->file, g->file);
			if (c > 0 || (c == 0 && (prev->line > g->line ||
						 (prev->line == g->line && prev->col > g->col))))
				abort();
		}
		prev = g;
	}
}

static void exercise_fleet(const spec_fleet *f)
{
	buf out = BUF_INIT(0);
	(void)spec_fleet_name(f);
	(void)spec_fleet_org_id(f);
	(void)spec_fleet_name_prefix(f);
	(void)spec_fleet_prune(f);
	(void)spec_fleet_max_deletes(f);
	(void)spec_fleet_drift(f);
	(void)spec_fleet_refresh_interval(f);
	for (size_t i = 0; i < spec_fleet_tenant_count(f); i++) {
		const spec_tenant *t = spec_fleet_tenant_at(f, i);
		if (!t || !t->name || spec_fleet_tenant_find(f, t->name) == NULL)
			abort();
		spec_values v;
		spec_tenant_resolve(f, t, &v);
		for (int k = 0; k < SF__COUNT; k++)
			(void)spec_fleet_file(f, v.v[k].o.file);
		buf_reset(&out);
		if (spec_explain_render(f, t, &out) != 0)
			abort();
		buf_reset(&out);
		if (spec_explain_render_json(f, t, &out) != 0)
			abort();
	}
	buf_release(&out);
}

/* memmem is a GNU extension; the project builds with _DEFAULT_SOURCE only.
 * memcmp keeps libFuzzer's comparison hooks in play. */
static bool contains(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = 0; k <= n && i <= n - k; i++)
		if (s[i] == needle[0] && memcmp(s + i, needle, k) == 0)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	bool fleet_mode = contains(in, size, "kind: Fleet");

	mem_repo repo = {0};
	if (fleet_mode)
		repo_add(&repo, "flotilla.yaml", in, size);
	else
		repo_add(&repo, "flotilla.yaml", FLEET_YAML, sizeof(FLEET_YAML) - 1);
	repo_add(&repo, "profiles/std.yaml", PROFILE_YAML, sizeof(PROFILE_YAML) - 1);
	repo_add(&repo, "tenants/eu/base.yaml", TENANT_YAML, sizeof(TENANT_YAML) - 1);
	repo_add(&repo, "README.md", README, sizeof(README) - 1);
	if (!fleet_mode)
		repo_add(&repo, "tenants/t.yaml", in, size);

	spec_source src = {.ctx = &repo, .list = mem_list, .read = mem_read};
	spec_diags *diags = spec_diags_new();
	spec_fleet *fleet = NULL;
	buf out = BUF_INIT(0);

	/* the source lists fine, so spec.h promises 0 and a fleet */
	if (spec_fleet_load(&fleet, &src, diags) != 0 || !fleet)
		abort();
	check_diags(diags);
	exercise_fleet(fleet);
	if (spec_diags_render_text(diags, &out) != 0)
		abort();
	buf_reset(&out);
	if (spec_diags_render_json(diags, &out) != 0)
		abort();

	buf_release(&out);
	spec_fleet_free(fleet);
	spec_diags_free(diags);
	err_clear();
	return 0;
}
