/*
 * cli.c: what the commands share: error output, --help detection, and
 * loading a fleet from a manifest directory, or a commit, with its
 * diagnostics.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <time.h>

#include "reconciler/reconciler.h"

int cli_fail(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "flotilla %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_ERROR;
}

int cli_unknown_option(const char *cmd, const char *word, const struct option *opts)
{
	size_t n = 0, len;
	const char *name = word;

	for (; opts && opts[n].name; n++)
		;
	/* "--formt=json": the name alone */
	while (*name == '-')
		name++;
	len = strcspn(name, "=");
	char *bare = xstrndup(name, len);
	const char **names = xcalloc(n ? n : 1, sizeof(*names));
	for (size_t i = 0; i < n; i++)
		names[i] = opts[i].name;
	const char *hint = str_has_prefix(word, "--") && len > 0 ? str_suggest(bare, names, n) : NULL;
	/* getopt refuses a known option that lacks its value the same way:
	 * "--format" as the last word */
	bool needs_value = false;
	for (size_t i = 0; i < n && str_has_prefix(word, "--") && !name[len]; i++)
		if (opts[i].has_arg == required_argument && strcmp(opts[i].name, bare) == 0)
			needs_value = true;
	if (needs_value)
		cli_fail(cmd, "option '--%s' needs a value (see flotilla %s --help)", bare, cmd);
	else if (hint)
		cli_fail(cmd, "unknown option '%s'; did you mean '--%s'? (see flotilla %s --help)", word, hint, cmd);
	else
		cli_fail(cmd, "unknown option '%s' (see flotilla %s --help)", word, cmd);
	free(names);
	free(bare);
	return EXIT_ERROR;
}

int cli_planning_fail(const char *cmd, const planning *pl)
{
	if (pl->diags && spec_diags_count(pl->diags))
		cli_print_diags(pl->diags);
	return cli_fail(cmd, "%s", err_msg());
}

void cli_print_diags(const spec_diags *diags)
{
	buf d = BUF_INIT(0);
	if (spec_diags_render_text(diags, &d) == 0)
		fwrite(d.data, 1, d.len, stderr);
	buf_release(&d);
}

int cli_lease_acquire(state *st, const char *name, int64_t ttl, state_lease *held)
{
	state_lease_takeover took;
	int rc = state_lease_acquire_ex(st, name, ttl, held, &took);
	if (rc == 0 && took.reason)
		log_info("lease taken over", "lease", name, "from", took.from.holder, "reason", took.reason);
	state_lease_release(&took.from);
	return rc;
}

void cli_run_end(const char *cmd, state *st, const cli_run *run, const char *summary)
{
	char msg[64];

	if (run->id && state_run_finish(st, run->id, run->outcome, summary) != 0) {
		snprintf(msg, sizeof(msg), "%s: cannot record the run", cmd);
		log_warn(msg, "error", err_msg());
	}
	if (run->leased && state_lease_drop(st, "fleet") != 0) {
		snprintf(msg, sizeof(msg), "%s: cannot release the lease", cmd);
		log_warn(msg, "error", err_msg());
	}
}

int cli_lease_take(const char *cmd, state *st, int64_t wait_s, const char *hint)
{
	int64_t until = (int64_t)time(NULL) + (wait_s > 0 ? wait_s : 0);
	for (;;) {
		state_lease held;
		memset(&held, 0, sizeof(held));
		int rc = cli_lease_acquire(st, "fleet", ENGINE_LEASE_TTL, &held);
		if (rc == 0)
			return EXIT_OK;
		if (rc != ERR_LOCKED)
			return cli_fail(cmd, "%s", err_msg());
		if ((int64_t)time(NULL) < until) {
			state_lease_release(&held);
			struct timespec ts = {0, 250 * 1000000L};
			nanosleep(&ts, NULL);
			continue;
		}
		char since[32];
		cli_age(held.acquired_at, since);
		cli_fail(cmd, "the state is in use by pid %lld on %s (for %s)%s%s; if that process is gone for "
			      "good, flotilla unlock --force",
			 (long long)held.pid, held.host ? held.host : "?", since, hint ? "; " : "", hint ? hint : "");
		state_lease_release(&held);
		return EXIT_ERROR;
	}
}

int cli_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cli_write_port_file(const char *path, int port)
{
	char *tmp = xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	int rc = 0;
	if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 || rename(tmp, path) != 0)
		rc = err_set(ERR_IO, "cannot write the port file '%s'", path);
	free(tmp);
	return rc;
}

bool cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	}
	return false;
}

int cli_load_dir(const char *cmd, const char *dir, spec_fleet **fleet, spec_diags *diags)
{
	*fleet = NULL;
	spec_source *src = NULL;
	if (spec_source_dir_new(&src, dir) != 0)
		return cli_fail(cmd, "%s", err_msg());
	int rc = spec_fleet_load(fleet, src, diags);
	spec_source_dir_free(src);
	if (rc != 0)
		return cli_fail(cmd, "cannot read '%s': %s", dir, err_msg());
	return EXIT_OK;
}

int cli_client_open(const char *cmd, const cli_api *api, neon_client **out)
{
	*out = NULL;
	char *key = NULL;
	int rc = neon_key_load(&key, api->key_file);
	if (rc == ERR_NOTFOUND)
		return cli_fail(cmd, "no API key: set NEON_API_KEY or pass --api-key-file FILE");
	if (rc != 0)
		return cli_fail(cmd, "%s", err_msg());
	/* the key is in this process's memory from here on: no core dumps */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	neon_options opt = NEON_OPTIONS_INIT;
	const char *env = getenv("NEON_API_HOST");
	opt.base_url = api->url ? api->url : env && *env ? env : NEON_DEFAULT_URL;
	opt.api_key = key;
	opt.on_attempt = api->on_attempt;
	opt.on_attempt_arg = api->on_attempt_arg;
	if (api->lock_wait_ms > 0)
		opt.lock_wait_ms = api->lock_wait_ms;
	if (api->rate > 0) {
		/* bursts of twice the rate, but never above 20 (the default's):
		 * a 1-second window then holds at most rate + 20 requests, where
		 * a burst of 2 x 50 had made 429s against a 50/s route limit */
		opt.rate = api->rate;
		opt.burst = api->rate * 2 < 20 ? api->rate * 2 : 20;
		if (opt.burst < 1)
			opt.burst = 1;
	}
	rc = neon_client_new(out, &opt);
	neon_key_free(key);
	if (rc != 0)
		return cli_fail(cmd, "%s", err_msg());
	return EXIT_OK;
}

bool cli_confirm(const char *question)
{
	fprintf(stderr, "\n%s Only 'yes' goes ahead: ", question);
	fflush(stderr);
	char line[32];
	if (!fgets(line, sizeof(line), stdin))
		return false;
	line[strcspn(line, "\r\n")] = 0;
	return strcmp(line, "yes") == 0;
}

/* A state file's directory named .flotilla gets a .gitignore of its own,
 * so the default location is never committed with the manifests. */
static void ignore_dir(const char *path)
{
	char dir[PATH_MAX];
	str_copy(dir, path, sizeof(dir));
	char *slash = strrchr(dir, '/');
	if (!slash)
		return; /* in the working directory itself */
	*slash = '\0';
	const char *name = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
	if (strcmp(name, ".flotilla") != 0)
		return;
	char gi[PATH_MAX + 16];
	snprintf(gi, sizeof(gi), "%s/.gitignore", dir);
	if (access(gi, F_OK) == 0)
		return;
	FILE *f = fopen(gi, "w");
	if (!f || fputs("# flotilla's state: never commit it (docs/operations.md, \"The state file\")\n*\n", f) < 0)
		log_warn("cannot write .gitignore beside the state file", "path", gi, "error", strerror(errno));
	if (f)
		fclose(f);
}

/* The state file must not travel with the manifests: a checkout or a
 * reset would bring back an old copy of it. */
static void check_location(const char *cmd, const char *path)
{
	char repo[PATH_MAX];
	bool tracked, ignored;
	if (source_path_where(path, repo, &tracked, &ignored) != 0)
		return;
	if (tracked)
		fprintf(stderr, "%s: warning: the state file '%s' is tracked by git in '%s': a checkout or reset brings "
			"back an old copy of it; untrack it (git rm --cached) and keep it outside the repository "
			"(docs/operations.md, \"The state file\")\n", cmd, path, repo);
	else if (!ignored)
		fprintf(stderr, "%s: warning: the state file '%s' is inside the git repository '%s' and not ignored, "
			"so it can be committed with the manifests; keep it outside, or ignore it\n", cmd, path, repo);
}

/* Tell what opening the state file did to it (state/ reports, never
 * logs): the messages and fields are the ones state/ used to log. */
static void log_open_report(const char *path, const state_open_report *r)
{
	for (size_t i = 0; i < r->nmode_fixes; i++) {
		const state_mode_fix *f = &r->mode_fixes[i];
		char *file = xasprintf("%s%s", path, f->suffix);
		char mode[8];
		snprintf(mode, sizeof(mode), "%04o", f->mode);
		if (f->error)
			log_warn("state file is readable by others and its mode cannot be changed", "path", file,
				 "mode", mode, "error", strerror(f->error));
		else
			log_warn("state file was readable by others; group and other access removed", "path", file,
				 "mode", mode);
		free(file);
	}
	if (r->not_wal)
		log_warn("state file is not in WAL mode; readers will wait for writers", "path", path, "journal_mode",
			 r->journal_mode);
	if (r->migrated_from > 0) {
		char a[16], b[16];
		snprintf(a, sizeof(a), "%d", r->migrated_from);
		snprintf(b, sizeof(b), "%d", r->migrated_to);
		log_info("state file migrated", "path", path, "from", a, "to", b);
	}
}

const char *cli_state_location(const char *opt)
{
	const char *env = getenv(STATE_ENV);

	return opt ? opt : env && *env ? env : STATE_DEFAULT_PATH;
}

static int state_open_at(const char *cmd, const char *path, bool create, state **out)
{
	const char *p = cli_state_location(path);
	state_open_report report;
	int rc = create ? state_open_ex(out, p, &report) : state_open_existing(out, p, &report);
	if (rc == ERR_NOTFOUND)
		return cli_fail(cmd, "%s: run flotilla refresh first", err_msg());
	if (state_location_is_pg(p)) {
		/* p may hold a password: only the state's own name is logged */
		if (rc == 0)
			log_open_report(state_name(*out), &report);
		return rc == 0 ? EXIT_OK : cli_fail(cmd, "%s", err_msg());
	}
	/* also after a failure: a mode may have been narrowed before it */
	log_open_report(p, &report);
	if (rc != 0)
		return cli_fail(cmd, "%s", err_msg());
	ignore_dir(p);
	check_location(cmd, p);
	return EXIT_OK;
}

int cli_state_open(const char *cmd, const char *path, state **out)
{
	return state_open_at(cmd, path, true, out);
}

int cli_state_open_existing(const char *cmd, const char *path, state **out)
{
	return state_open_at(cmd, path, false, out);
}

void cli_age(int64_t since, char out[32])
{
	if (since <= 0) {
		str_copy(out, "never", 32);
		return;
	}
	int64_t age = (int64_t)time(NULL) - since;
	if (age < 0)
		age = 0;
	if (age == 0) {
		str_copy(out, "0s", 32); /* the unit formatter writes a bare 0 */
		return;
	}
	unit_duration_format(age - (age >= 3600 ? age % 60 : 0), out);
}

/* cli_load_dir from a commit of a git repository (`ref` NULL: HEAD),
 * without a checkout; the commit's sha goes into `sha`. */
static int load_repo(const char *cmd, const char *repo, const char *ref, spec_fleet **fleet, spec_diags *diags,
		     char sha[41])
{
	*fleet = NULL;
	source_repo *g = NULL;
	if (source_open(&g, repo, ref) != 0)
		return cli_fail(cmd, "%s", err_msg());
	str_copy(sha, source_commit(g), 41);
	int rc = spec_fleet_load(fleet, source_spec(g), diags);
	source_free(g);
	if (rc != 0)
		return cli_fail(cmd, "cannot read '%s' at commit %.7s: %s", repo, sha, err_msg());
	return EXIT_OK;
}

bool cli_source_take(cli_source *src, int c, const char *arg)
{
	if (c == OPT_DIR)
		src->dir = arg;
	else if (c == OPT_REPO)
		src->repo = arg;
	else if (c == OPT_REF)
		src->ref = arg;
	else
		return false;
	return true;
}

int cli_source_check(const char *cmd, const cli_source *src)
{
	if (src->repo && src->dir)
		return cli_fail(cmd, "--repo and --dir cannot be used together");
	if (src->ref && !src->repo)
		return cli_fail(cmd, "--ref needs --repo");
	return EXIT_OK;
}

int cli_source_run(const char *cmd, cli_source *src, cli_fleet_fn fn, void *arg)
{
	spec_fleet *fleet = NULL;
	spec_diags *diags = spec_diags_new();
	int rc = src->repo ? load_repo(cmd, src->repo, src->ref, &fleet, diags, src->sha)
			   : cli_load_dir(cmd, src->dir ? src->dir : ".", &fleet, diags);
	if (rc == EXIT_OK)
		rc = fn(arg, src, fleet, diags);
	spec_fleet_free(fleet);
	spec_diags_free(diags);
	return rc;
}

typedef struct names_ctx {
	char **v;
	size_t n, cap;
} names_ctx;

static int add_name(void *arg, const state_tenant *t)
{
	names_ctx *c = arg;
	if (c->n == c->cap)
		c->v = xgrow(c->v, &c->cap, c->n + 1, sizeof(char *));
	c->v[c->n++] = xstrdup(t->tenant);
	return 0;
}

int cli_tenant_unknown(const char *cmd, state *st, const char *tenant)
{
	names_ctx c = {0};
	const char *hint = NULL;
	if (state_tenants_foreach(st, add_name, &c) == 0)
		hint = str_suggest(tenant, (const char *const *)c.v, c.n);
	if (hint)
		cli_fail(cmd, "no tenant named '%s' in the state %s; did you mean '%s'? (flotilla state list lists them)",
			 tenant, state_name(st), hint);
	else
		cli_fail(cmd, "no tenant named '%s' in the state %s (flotilla state list lists them; a tenant is mapped "
			      "once it is created or adopted)", tenant, state_name(st));
	for (size_t i = 0; i < c.n; i++)
		free(c.v[i]);
	free(c.v);
	return EXIT_ERROR;
}

/* ------------------------------------------------- uncommitted manifests */

#define DIRTY_NAMED 3 /* how many changed files the note names */

typedef struct dirty {
	const spec_fleet *f;
	size_t n;
	char named[DIRTY_NAMED][160];
	char **roots;
	size_t nroots, cap;
} dirty;

static void add_root(void *arg, const char *root)
{
	dirty *d = arg;
	if (d->nroots == d->cap)
		d->roots = xgrow(d->roots, &d->cap, d->nroots + 1, sizeof(*d->roots));
	d->roots[d->nroots++] = xstrdup(root);
}

static int on_dirty(void *arg, const char *path, char what)
{
	dirty *d = arg;
	if (!spec_fleet_is_manifest_path(d->f, path))
		return 0; /* not a manifest: a README, a script */
	if (d->n < DIRTY_NAMED)
		snprintf(d->named[d->n], sizeof(d->named[0]), "%s %s", path,
			 what == '?' ? "untracked" : what == 'D' ? "deleted" : what == 'S' ? "staged" : "modified");
	d->n++;
	return 0;
}

void cli_note_uncommitted(const char *cmd, const planning *pl, const char *ref)
{
	if (!pl->g || !pl->fl.fleet)
		return;
	dirty d = {.f = pl->fl.fleet};
	spec_fleet_manifest_roots(pl->fl.fleet, add_root, &d);
	if (source_uncommitted(pl->g, (const char *const *)d.roots, d.nroots, on_dirty, &d) != 0)
		log_warn("cannot tell whether the manifests have uncommitted changes", "error", err_msg());
	if (d.n) {
		buf list = BUF_INIT(0);
		int rc = 0;
		for (size_t i = 0; rc == 0 && i < d.n && i < DIRTY_NAMED; i++)
			rc = buf_printf(&list, "%s%s", i ? ", " : "", d.named[i]);
		if (rc == 0 && d.n > DIRTY_NAMED)
			rc = buf_printf(&list, " and %s more", CLI_N(d.n - DIRTY_NAMED));
		fprintf(stderr, "%s: note: %s manifest file%s %s uncommitted changes (%s); flotilla plans commit %.7s "
			"(%s), not the work tree: commit them to plan them\n", cmd, CLI_N(d.n), d.n == 1 ? "" : "s",
			d.n == 1 ? "has" : "have", rc == 0 && list.data ? list.data : "", source_commit(pl->g),
			ref ? ref : "HEAD");
		buf_release(&list);
	}
	for (size_t i = 0; i < d.nroots; i++)
		free(d.roots[i]);
	free(d.roots);
}

const state_branch *cli_branch_pick(const state_deep *d, const char *want)
{
	for (size_t i = 0; i < d->nbranches; i++) {
		const state_branch *b = &d->branches[i];
		if (want ? strcmp(b->name, want) == 0 || strcmp(b->id, want) == 0 : b->is_default)
			return b;
	}
	return NULL;
}

/* "YYYY-MM-DDTHH:MM:SSZ" (a 'z', or fractions of a second, refused: the
 * API takes seconds) as unix seconds; -1 when it is not that. */
int64_t cli_utc_parse(const char *s)
{
	int y, mo, d, h, mi, se, n = 0;
	if (strlen(s) != 20 || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 || n != 20)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59)
		return -1;
	return unit_utc_seconds(y, mo, d, h, mi, se);
}
