/*
 * plan_golden.c: one golden case of plan_build.
 *
 *   plan-golden CASE_DIR
 *
 * A case folder holds:
 *   fleet/          the manifests (must validate cleanly)
 *   live.json       the cached live fleet, written into a fresh state file
 *                   through state/'s own API (below)
 *   select          optional: a --select expression, one line
 *   only            optional: tenant names, one a line, sorted: plan only
 *                   these (as an incremental plan or the daemon's drift
 *                   slice does)
 *   expected.dump   one block per action: kind, tenant, project, calls and
 *                   changes, in full (bodies included)
 *   expected.txt    plan_render_text
 *   expected.json   plan_render_json
 *   expected.error  instead of the three above, for a selector that must
 *                   not parse: its message
 * GOLDEN_UPDATE=1 rewrites the expected files from the actual output.
 *
 * live.json, everything optional except a project's id:
 *   {"list_refreshed_at": N, "list_incomplete": N (the projects the last
 *    list could not see),
 *    "projects": [{"id", "tenant" (maps it), "name" (default namePrefix +
 *       tenant), "region_id", "pg_version", "history_retention_seconds",
 *       "quota": {active_time_seconds, …}, "min_cu", "max_cu",
 *       "suspend_timeout_seconds", "pg_settings", "allowed_ips",
 *       "protected_branches_only", "logical_replication",
 *       "block_public_connections", "maintenance_window", "protect",
 *       "deep": true | {branches, endpoints, databases, roles},
 *       "backup_schedule": [BackupScheduleItem…] (the cached schedule of
 *       the default branch; absent: never read), "backup_refused": Neon's
 *       message when it refused a PUT of it}],
 *    "tenants": [{"tenant", "project", "fleet", "protect"}]}
 * Defaults are Neon's (and the manifests' built-in) values: aws-us-east-2,
 * pg 17, 1 day of history, 0.25 CU, 5 minutes. "deep": true is the deep
 * read of a project as flotilla creates it by default: branch main
 * annotated for the case's fleet, one read_write endpoint sized like the
 * project's defaults, role neondb_owner and database neondb. In a deep
 * object, branches/endpoints/databases/roles name branches by name
 * ("branch", "parent"); ids are made up from the project id; an endpoint
 * may have an "id" and a "name". A branch has the default branch's
 * annotations (flotilla's mark) with "managed": true, or its own with
 * "annotations".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "diff/diff.h"
#include "spec/spec.h"
#include "state/state.h"
#include "util/util.h"

#define NOW 1795000000

static const char *fleet_name, *prefix;

static const char *js(const json_t *o, const char *k, const char *def)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : def;
}

static int64_t ji(const json_t *o, const char *k, int64_t def)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? json_integer_value(v) : def;
}

static double jd(const json_t *o, const char *k, double def)
{
	json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : def;
}

/* state/ takes char * members it only reads */
static char *S(const char *s) { return (char *)(uintptr_t)s; }

static bool jb(const json_t *o, const char *k) { return json_is_true(json_object_get(o, k)); }

/* Compact JSON of a member, or NULL; freed by the caller. */
static char *jtext(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
}

static int die(const char *what)
{
	fprintf(stderr, "plan-golden: %s: %s\n", what, err_msg());
	return 1;
}

typedef struct strs {
	char *v[512];
	size_t n;
} strs;

static char *keep(strs *s, char *p)
{
	if (s->n < ARRAY_LEN(s->v))
		s->v[s->n++] = p;
	return p;
}

static int put_deep(state *st, const json_t *pj, const state_project *p, const char *tenant)
{
	json_t *deep = json_object_get(pj, "deep");
	json_t *empty = json_object();
	const json_t *dj = json_is_object(deep) ? deep : empty;
	strs k = {.n = 0};
	state_deep d;
	memset(&d, 0, sizeof(d));
	const char *pid = p->id;
	state_branch br[32];
	state_endpoint ep[32];
	state_database db[64];
	state_role ro[64];
	memset(br, 0, sizeof(br));
	memset(ep, 0, sizeof(ep));
	memset(db, 0, sizeof(db));
	memset(ro, 0, sizeof(ro));
	char *defann = xasprintf("{\"flotilla.fleet\":\"%s\",\"flotilla.tenant\":\"%s\"}", fleet_name,
				 tenant ? tenant : "");
	keep(&k, defann);

	json_t *bl = json_object_get(dj, "branches");
	if (!bl) {
		br[0].id = keep(&k, xasprintf("br-%s-main", pid));
		br[0].name = S("main");
		br[0].is_default = true;
		br[0].annotations_json = defann;
		d.nbranches = 1;
	}
	for (size_t i = 0; i < json_array_size(bl) && i < ARRAY_LEN(br); i++) {
		json_t *b = json_array_get(bl, i);
		const char *name = js(b, "name", "main");
		br[i].id = keep(&k, xasprintf("br-%s-%s", pid, name));
		br[i].name = (char *)name;
		br[i].is_default = json_object_get(b, "default") ? jb(b, "default") : strcmp(name, "main") == 0;
		br[i].protected_ = jb(b, "protected");
		if (!br[i].is_default)
			br[i].parent_id = keep(&k, xasprintf("br-%s-%s", pid, js(b, "parent", "main")));
		if (json_object_get(b, "annotations"))
			br[i].annotations_json = keep(&k, jtext(b, "annotations"));
		else if (br[i].is_default || jb(b, "managed"))
			br[i].annotations_json = defann;
		d.nbranches++;
	}
	d.branches = br;

	json_t *el = json_object_get(dj, "endpoints");
	if (!el) {
		ep[0].id = keep(&k, xasprintf("ep-%s-rw", pid));
		ep[0].branch_id = br[0].id;
		ep[0].read_write = true;
		ep[0].min_cu = p->min_cu;
		ep[0].max_cu = p->max_cu;
		ep[0].suspend_timeout_seconds = p->suspend_timeout_seconds;
		ep[0].current_state = S("idle");
		d.nendpoints = 1;
	}
	for (size_t i = 0; i < json_array_size(el) && i < ARRAY_LEN(ep); i++) {
		json_t *e = json_array_get(el, i);
		bool rw = strcmp(js(e, "type", "read_write"), "read_write") == 0;
		ep[i].id = keep(&k, json_object_get(e, "id") ? xstrdup(js(e, "id", "")) :
							      xasprintf("ep-%s-%s%zu", pid, rw ? "rw" : "ro", i));
		ep[i].branch_id = keep(&k, xasprintf("br-%s-%s", pid, js(e, "branch", "main")));
		ep[i].read_write = rw;
		ep[i].min_cu = jd(e, "min_cu", p->min_cu);
		ep[i].max_cu = jd(e, "max_cu", p->max_cu);
		ep[i].suspend_timeout_seconds = ji(e, "suspend_timeout_seconds", p->suspend_timeout_seconds);
		ep[i].current_state = S("idle");
		ep[i].name = (char *)js(e, "name", NULL);
		d.nendpoints++;
	}
	d.endpoints = ep;

	json_t *dl = json_object_get(dj, "databases");
	if (!dl) {
		db[0].branch_id = keep(&k, xasprintf("br-%s-main", pid));
		db[0].name = S("neondb");
		db[0].owner = S("neondb_owner");
		d.ndatabases = 1;
	}
	for (size_t i = 0; i < json_array_size(dl) && i < ARRAY_LEN(db); i++) {
		json_t *x = json_array_get(dl, i);
		db[i].branch_id = keep(&k, xasprintf("br-%s-%s", pid, js(x, "branch", "main")));
		db[i].name = (char *)js(x, "name", "neondb");
		db[i].owner = (char *)js(x, "owner", "neondb_owner");
		d.ndatabases++;
	}
	d.databases = db;

	json_t *rl = json_object_get(dj, "roles");
	if (!rl) {
		ro[0].branch_id = keep(&k, xasprintf("br-%s-main", pid));
		ro[0].name = S("neondb_owner");
		d.nroles = 1;
	}
	for (size_t i = 0; i < json_array_size(rl) && i < ARRAY_LEN(ro); i++) {
		json_t *x = json_array_get(rl, i);
		ro[i].branch_id = keep(&k, xasprintf("br-%s-%s", pid, js(x, "branch", "main")));
		ro[i].name = (char *)js(x, "name", "neondb_owner");
		d.nroles++;
	}
	d.roles = ro;

	int rc = state_deep_put(st, pid, p->updated_at, &d);
	for (size_t i = 0; i < k.n; i++)
		free(k.v[i]);
	json_decref(empty);
	return rc;
}

static int load_live(state *st, const json_t *live)
{
	json_t *projects = json_object_get(live, "projects");
	size_t n = json_array_size(projects);
	state_project *items = xcalloc(n + 1, sizeof(*items));
	strs k = {.n = 0};
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *pj = json_array_get(projects, i);
		state_project *p = &items[i];
		json_t *q = json_object_get(pj, "quota");
		const char *tenant = js(pj, "tenant", NULL);
		p->id = (char *)js(pj, "id", "p-missing");
		p->name = json_object_get(pj, "name") ? (char *)js(pj, "name", "")
						      : keep(&k, xasprintf("%s%s", prefix, tenant ? tenant : p->id));
		p->region_id = (char *)js(pj, "region_id", "aws-us-east-2");
		p->org_id = (char *)js(pj, "org_id", NULL);
		p->pg_version = (int)ji(pj, "pg_version", 17);
		p->history_retention_seconds = ji(pj, "history_retention_seconds", 86400);
		p->created_at = S("2026-01-01T00:00:00Z");
		p->updated_at = (char *)js(pj, "updated_at", "2026-01-02T00:00:00Z");
		p->quota_active_time = ji(q, "active_time_seconds", 0);
		p->quota_compute_time = ji(q, "compute_time_seconds", 0);
		p->quota_written_data = ji(q, "written_data_bytes", 0);
		p->quota_data_transfer = ji(q, "data_transfer_bytes", 0);
		p->quota_logical_size = ji(q, "logical_size_bytes", 0);
		p->min_cu = jd(pj, "min_cu", 0.25);
		p->max_cu = jd(pj, "max_cu", 0.25);
		p->suspend_timeout_seconds = ji(pj, "suspend_timeout_seconds", 300);
		p->pg_settings_json = keep(&k, jtext(pj, "pg_settings"));
		p->allowed_ips_json = keep(&k, jtext(pj, "allowed_ips"));
		p->maintenance_window_json = keep(&k, jtext(pj, "maintenance_window"));
		p->protected_branches_only = jb(pj, "protected_branches_only");
		p->logical_replication = jb(pj, "logical_replication");
		p->block_public_connections = jb(pj, "block_public_connections");
	}
	state_refresh *r = NULL;
	size_t removed = 0;
	if ((rc = state_refresh_begin(st, &r)) != 0)
		goto done;
	if (n && (rc = state_refresh_page(r, items, n)) != 0) {
		state_refresh_abort(r);
		goto done;
	}
	if ((rc = state_refresh_finish(r, &removed)) != 0)
		goto done;
	char ts[32];
	snprintf(ts, sizeof(ts), "%" PRId64, ji(live, "list_refreshed_at", NOW - 180));
	if ((rc = state_meta_set(st, "list_refreshed_at", ts)) != 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		json_t *pj = json_array_get(projects, i);
		const char *tenant = js(pj, "tenant", NULL);
		if (tenant) {
			if ((rc = state_tenant_put(st, tenant, items[i].id, fleet_name, "create")) != 0)
				goto done;
			if ((rc = state_tenant_set_protect(st, tenant, jb(pj, "protect"))) != 0)
				goto done;
		}
		if ((json_is_true(json_object_get(pj, "deep")) || json_is_object(json_object_get(pj, "deep"))) &&
		    (rc = put_deep(st, pj, &items[i], tenant)) != 0)
			goto done;
		const json_t *bs = json_object_get(pj, "backup_schedule");
		if (bs) {
			char *js_ = json_dumps(bs, JSON_COMPACT), *br = xasprintf("br-%s-main", items[i].id);
			rc = state_backup_schedule_put(st, items[i].id, br, js_);
			if (rc == 0 && json_object_get(pj, "backup_refused"))
				rc = state_backup_schedule_refuse(st, items[i].id, br, js(pj, "backup_refused", ""));
			free(js_);
			free(br);
			if (rc != 0)
				goto done;
		}
	}
	json_t *tl = json_object_get(live, "tenants");
	for (size_t i = 0; i < json_array_size(tl); i++) {
		json_t *t = json_array_get(tl, i);
		if ((rc = state_tenant_put(st, js(t, "tenant", ""), js(t, "project", ""), js(t, "fleet", fleet_name),
					   "create")) != 0 ||
		    (rc = state_tenant_set_protect(st, js(t, "tenant", ""), jb(t, "protect"))) != 0)
			goto done;
	}
done:
	for (size_t i = 0; i < k.n; i++)
		free(k.v[i]);
	free(items);
	return rc;
}

static int dump(const plan *p, buf *o)
{
	int rc = buf_printf(o, "fleet %s: %zu create, %zu update, %zu delete, %zu blocked, %zu orphan, %zu noop; %zu calls\n",
			    p->fleet, p->ncreate, p->nupdate, p->ndelete, p->nblocked, p->norphan, p->nnoop, p->ncalls);
	for (size_t i = 0; i < p->nactions && rc == 0; i++) {
		const plan_action *a = &p->actions[i];
		rc |= buf_printf(o, "\n%s %s project=%s calls=%zu%s fingerprint=%.16s\n", plan_kind_name(a->kind), a->tenant,
				 a->project_id ? a->project_id : "-", a->ncalls, a->deep_unknown ? " deep_unknown" : "",
				 a->fingerprint[0] ? a->fingerprint : "-");
		if (a->reason)
			rc |= buf_printf(o, "  reason: %s\n", a->reason);
		for (size_t j = 0; j < a->nchanges; j++)
			rc |= buf_printf(o, "  change %s: %s -> %s\n", a->changes[j].path,
					 a->changes[j].from ? a->changes[j].from : "(absent)",
					 a->changes[j].to ? a->changes[j].to : "(absent)");
		plan_calls pc; /* a deferred create's calls are built here */
		plan_action_calls(p, a, &pc);
		for (size_t j = 0; j < pc.n; j++) {
			const plan_call *c = &pc.v[j];
			char *body = c->body ? json_dumps(c->body, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
			rc |= buf_printf(o, "  call %s %s%s%s%s%s\n", c->method, c->path, c->destructive ? " [destructive]" : "",
					 c->after_create ? " [after_create]" : "", body ? " " : "", body ? body : "");
			free(body);
		}
		plan_calls_release(&pc);
	}
	return rc;
}

/* Through a plan file and back: creates come back with their calls built
 * (not deferred) and no summary, and must render exactly as the plan did. */
static int roundtrip(const char *tmpdir, const plan *p, const buf *text, const buf *json)
{
	char *path = xasprintf("%s/plan.json", tmpdir);
	plan *q = NULL;
	buf t = BUF_INIT(0), j = BUF_INIT(0);
	int res = 0;
	if (plan_file_write(p, path) != 0 || plan_file_read(&q, path) != 0 || plan_render_text(q, NULL, &t) != 0 ||
	    plan_render_json(q, &j) != 0) {
		fprintf(stderr, "plan-golden: plan file round trip: %s\n", err_msg());
		res = 1;
	} else if (t.len != text->len || memcmp(t.data, text->data, t.len) != 0) {
		fprintf(stderr, "plan-golden: the text of the plan read back from its file differs\n");
		res = 1;
	} else if (j.len != json->len || memcmp(j.data, json->data, j.len) != 0) {
		fprintf(stderr, "plan-golden: the JSON of the plan read back from its file differs\n");
		res = 1;
	}
	plan_free(q);
	buf_release(&t);
	buf_release(&j);
	unlink(path);
	free(path);
	return res;
}

/* 0 equal (or updated), 1 different. */
static int check(const char *dir, const char *name, const buf *actual)
{
	char *path = xasprintf("%s/%s", dir, name);
	int res = 0;
	if (getenv("GOLDEN_UPDATE")) {
		FILE *f = fopen(path, "w");
		if (!f || fwrite(actual->data, 1, actual->len, f) != actual->len) {
			fprintf(stderr, "plan-golden: cannot write %s\n", path);
			res = 1;
		}
		if (f)
			fclose(f);
		free(path);
		return res;
	}
	buf want = BUF_INIT(0);
	if (buf_read_file(&want, path) != 0) {
		fprintf(stderr, "plan-golden: %s\n", err_msg());
		res = 1;
	} else if (want.len != actual->len || memcmp(want.data ? want.data : "", actual->data, want.len) != 0) {
		fprintf(stderr, "plan-golden: %s differs; actual:\n%s\n", path, actual->data);
		res = 1;
	}
	buf_release(&want);
	free(path);
	return res;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: plan-golden CASE_DIR\n");
		return 2;
	}
	const char *dir = argv[1];
	char tmpl[] = "/tmp/plan-golden-XXXXXX";
	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		return 1;
	}
	char *dbpath = xasprintf("%s/state.db", tmpl);
	char *fleetdir = xasprintf("%s/fleet", dir);
	char *livepath = xasprintf("%s/live.json", dir);
	char *selpath = xasprintf("%s/select", dir);
	spec_source *src = NULL;
	spec_fleet *fleet = NULL;
	spec_diags *diags = spec_diags_new();
	state *st = NULL;
	plan_selector *sel = NULL;
	char **only = NULL;
	size_t nonly = 0;
	plan *p = NULL;
	json_t *live = NULL;
	buf d = BUF_INIT(0), t = BUF_INIT(0), j = BUF_INIT(0), sb = BUF_INIT(4096);
	int res = 1;

	if (spec_source_dir_new(&src, fleetdir) != 0 || spec_fleet_load(&fleet, src, diags) != 0) {
		res = die("load");
		goto done;
	}
	if (spec_diags_count(diags)) {
		buf o = BUF_INIT(0);
		if (spec_diags_render_text(diags, &o) == 0)
			fprintf(stderr, "plan-golden: the fleet does not validate:\n%s", o.data ? o.data : "");
		buf_release(&o);
		goto done;
	}
	fleet_name = spec_fleet_name(fleet);
	prefix = spec_fleet_name_prefix(fleet);
	json_error_t jerr;
	if (!(live = json_load_file(livepath, 0, &jerr))) {
		fprintf(stderr, "plan-golden: %s:%d: %s\n", livepath, jerr.line, jerr.text);
		goto done;
	}
	if (state_open(&st, dbpath) != 0 || state_meta_set(st, "fleet", fleet_name) != 0 || load_live(st, live) != 0) {
		res = die("state");
		goto done;
	}
	if (access(selpath, F_OK) == 0) {
		if (buf_read_file(&sb, selpath) != 0) {
			res = die("select");
			goto done;
		}
		while (sb.len && (sb.data[sb.len - 1] == '\n' || sb.data[sb.len - 1] == ' '))
			sb.data[--sb.len] = 0;
		if (plan_selector_parse(&sel, sb.data) != 0) {
			/* a case of a bad selector: expected.error holds the message */
			buf e = BUF_INIT(0);
			if (buf_printf(&e, "%s\n", err_msg()) != 0)
				abort();
			res = check(dir, "expected.error", &e);
			buf_release(&e);
			goto done;
		}
	}
	plan_input in = {.fleet = fleet, .st = st, .sel = sel, .now = NOW,
			 .live_incomplete = ji(live, "list_incomplete", 0)};
	char *onlypath = xasprintf("%s/only", dir);
	FILE *of = fopen(onlypath, "r");
	free(onlypath);
	char line[256];
	while (of && fgets(line, sizeof(line), of)) {
		line[strcspn(line, "\n")] = 0;
		if (!line[0])
			continue;
		only = xrealloc(only, (nonly + 1) * sizeof(char *));
		only[nonly++] = xstrdup(line);
	}
	if (of) {
		fclose(of);
		in.only = (const char *const *)only;
		in.nonly = nonly;
	}
	if (plan_build(&p, &in) != 0) {
		res = die("plan_build");
		goto done;
	}
	if (dump(p, &d) != 0 || plan_render_text(p, NULL, &t) != 0 || plan_render_json(p, &j) != 0) {
		res = die("render");
		goto done;
	}
	res = check(dir, "expected.dump", &d) | check(dir, "expected.txt", &t) | check(dir, "expected.json", &j);
	res |= roundtrip(tmpl, p, &t, &j);
done:
	for (size_t i = 0; i < nonly; i++)
		free(only[i]);
	free(only);
	plan_free(p);
	plan_selector_free(sel);
	json_decref(live);
	state_close(st);
	spec_fleet_free(fleet);
	spec_source_dir_free(src);
	spec_diags_free(diags);
	buf_release(&d);
	buf_release(&t);
	buf_release(&j);
	buf_release(&sb);
	unlink(dbpath);
	char *wal = xasprintf("%s-wal", dbpath), *shm = xasprintf("%s-shm", dbpath);
	unlink(wal);
	unlink(shm);
	free(wal);
	free(shm);
	rmdir(tmpl);
	free(dbpath);
	free(fleetdir);
	free(livepath);
	free(selpath);
	return res;
}
