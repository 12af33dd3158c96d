/*
 * test-git.c: unit tests of the git source (source/git.c) on real
 * repositories, made in temp directories by running git(1) with a
 * controlled environment (no system or user config, a fixed identity).
 * Each check pins what was committed against what the source returns:
 * bytes, blob ids, refs, symlink refusals, changed paths, and a whole
 * fleet loaded from a commit against the same files on disk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "source/source.h"
#include "spec/spec.h"

#include "helpers.h"

/* ----------------------------------------------------------- fixtures */

static char *tmp_home;

/* Run argv (NULL-terminated) in dir; its stdout, trailing newline cut, is
 * returned (heap). Fails the test unless it exits 0. */
static char *run(const char *dir, const char *const *argv)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], 1);
		if (chdir(dir) != 0)
			_exit(127);
		setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
		setenv("HOME", tmp_home, 1);
		setenv("XDG_CONFIG_HOME", tmp_home, 1);
		setenv("GIT_AUTHOR_NAME", "Test", 1);
		setenv("GIT_AUTHOR_EMAIL", "test@example.com", 1);
		setenv("GIT_COMMITTER_NAME", "Test", 1);
		setenv("GIT_COMMITTER_EMAIL", "test@example.com", 1);
		setenv("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z", 1);
		setenv("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z", 1);
		unsetenv("GIT_DIR");
		unsetenv("GIT_WORK_TREE");
		unsetenv("GIT_INDEX_FILE");
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	buf out = BUF_INIT(0);
	char tmp[4096];
	ssize_t n;
	while ((n = read(fds[0], tmp, sizeof(tmp))) > 0)
		assert_int_equal(buf_add(&out, tmp, (size_t)n), 0);
	close(fds[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("'%s %s %s' failed", argv[0], argv[1] ? argv[1] : "", argv[1] && argv[2] ? argv[2] : "");
	char *s = buf_detach(&out, NULL);
	size_t len = strlen(s);
	while (len && s[len - 1] == '\n')
		s[--len] = '\0';
	return s;
}

#define GIT(dir, ...) free(run((dir), (const char *const[]){"git", __VA_ARGS__, NULL}))
#define GITS(dir, ...) run((dir), (const char *const[]){"git", __VA_ARGS__, NULL})

/* Write path (directories made as needed) under dir. */
static void put(const char *dir, const char *path, const char *text)
{
	char *full = xasprintf("%s/%s", dir, path);
	for (char *p = full + strlen(dir) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(full, 0755) != 0)
			assert_int_equal(errno, EEXIST);
		*p = '/';
	}
	ut_write_text(full, text);
	free(full);
}

static void link_at(const char *dir, const char *path, const char *target)
{
	char *full = xasprintf("%s/%s", dir, path);
	assert_int_equal(symlink(target, full), 0);
	free(full);
}

/* A new repository in a temp directory, with one commit of nothing but
 * README so HEAD exists; the caller commits the rest. */
static char *repo_new(void)
{
	char *dir = ut_tmpdir("git");
	GIT(dir, "init", "-q", "-b", "main");
	return dir;
}

static char *commit(const char *dir, const char *msg)
{
	GIT(dir, "add", "-A");
	GIT(dir, "commit", "-q", "--allow-empty", "-m", msg);
	return GITS(dir, "rev-parse", "HEAD");
}

static int setup(void **st)
{
	(void)st;
	tmp_home = ut_tmpdir("home");
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	ut_rm_rf(tmp_home);
	free(tmp_home);
	return 0;
}

/* Read path at g with a maximum; the bytes, or NULL with the code in *rc. */
static char *rd(source_repo *g, const char *path, size_t max, int *rc)
{
	const spec_source *s = source_spec(g);
	buf b = BUF_INIT(max);
	*rc = s->read(s->ctx, path, &b);
	if (*rc != 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

static void assert_reads(source_repo *g, const char *path, const char *want)
{
	int rc;
	char *got = rd(g, path, SPEC_MAX_FILE_BYTES, &rc);
	if (!got)
		fail_msg("read '%s': %d %s", path, rc, err_msg());
	assert_string_equal(got, want);
	free(got);
}

static void assert_refused(source_repo *g, const char *path, int code, const char *msg)
{
	int rc;
	char *got = rd(g, path, SPEC_MAX_FILE_BYTES, &rc);
	if (got)
		fail_msg("read '%s' gave '%s'", path, got);
	assert_int_equal(rc, code);
	if (strncmp(err_msg(), msg, strlen(msg)) != 0)
		fail_msg("read '%s': '%s', want '%s'", path, err_msg(), msg);
}

typedef struct names {
	char **v;
	size_t n, cap;
} names;

static void collect(void *arg, const char *path)
{
	names *l = arg;
	l->v = xgrow(l->v, &l->cap, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = xstrdup(path);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted entries joined with ' '. */
static char *joined(names *l)
{
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), name_cmp);
	buf b = BUF_INIT(0);
	for (size_t i = 0; i < l->n; i++) {
		assert_int_equal(buf_printf(&b, "%s%s", i ? " " : "", l->v[i]), 0);
		free(l->v[i]);
	}
	free(l->v);
	*l = (names){0};
	char *s = buf_detach(&b, NULL);
	return s;
}

static char *list(source_repo *g)
{
	names l = {0};
	const spec_source *s = source_spec(g);
	assert_int_equal(s->list(s->ctx, collect, &l), 0);
	return joined(&l);
}

static int on_change(void *arg, const char *path, char status)
{
	char *e = xasprintf("%c:%s", status, path);
	collect(arg, e);
	free(e);
	return 0;
}

static char *changed(source_repo *g, const char *since)
{
	names l = {0};
	int rc = source_changed(g, since, on_change, &l);
	if (rc != 0)
		fail_msg("source_changed: %d %s", rc, err_msg());
	return joined(&l);
}

static source_repo *open_ok(const char *dir, const char *ref)
{
	source_repo *g = NULL;
	if (source_open(&g, dir, ref) != 0)
		fail_msg("source_open '%s' '%s': %s", dir, ref ? ref : "(null)", err_msg());
	return g;
}

/* -------------------------------------------------------------- tests */

static void test_read_at_commits(void **st)
{
	(void)st;
	char *dir = repo_new();
	put(dir, "flotilla.yaml", "v1\n");
	put(dir, "tenants/eu/a.yaml", "a1\n");
	char *old = commit(dir, "one");
	put(dir, "flotilla.yaml", "v2\n");
	put(dir, "tenants/eu/b.yaml", "b2\n");
	put(dir, "empty.yaml", "");
	char *head = commit(dir, "two");

	source_repo *g = open_ok(dir, NULL);
	assert_string_equal(source_commit(g), head);
	assert_reads(g, "flotilla.yaml", "v2\n");
	assert_reads(g, "tenants/eu/b.yaml", "b2\n");
	assert_reads(g, "empty.yaml", "");
	char *l = list(g);
	assert_string_equal(l, "empty.yaml flotilla.yaml tenants/eu/a.yaml tenants/eu/b.yaml");
	free(l);
	assert_refused(g, "nope.yaml", ERR_NOTFOUND, "'nope.yaml' is not in commit ");
	source_free(g);

	g = open_ok(dir, old);
	assert_string_equal(source_commit(g), old);
	assert_reads(g, "flotilla.yaml", "v1\n");
	l = list(g);
	assert_string_equal(l, "flotilla.yaml tenants/eu/a.yaml");
	free(l);
	source_free(g);

	ut_rm_rf(dir);
	free(dir);
	free(old);
	free(head);
}

static void test_dirty_tree_ignored(void **st)
{
	(void)st;
	char *dir = repo_new();
	put(dir, "a.yaml", "committed\n");
	free(commit(dir, "one"));
	put(dir, "a.yaml", "edited\n");
	put(dir, "untracked.yaml", "x\n");
	GIT(dir, "add", "untracked.yaml"); /* staged is not committed either */
	source_repo *g = open_ok(dir, NULL);
	assert_reads(g, "a.yaml", "committed\n");
	char *l = list(g);
	assert_string_equal(l, "a.yaml");
	free(l);
	source_free(g);
	ut_rm_rf(dir);
	free(dir);
}

static void test_refs(void **st)
{
	(void)st;
	char *dir = repo_new();
	put(dir, "a.yaml", "1\n");
	char *c1 = commit(dir, "one");
	GIT(dir, "tag", "-a", "-m", "release", "v1");
	GIT(dir, "branch", "old");
	put(dir, "a.yaml", "2\n");
	char *c2 = commit(dir, "two");

	const char *refs[][2] = {
		{"old", c1}, {"v1", c1}, {"refs/tags/v1", c1}, {"HEAD", c2}, {"main", c2}, {"HEAD~1", c1},
	};
	for (size_t i = 0; i < ARRAY_LEN(refs); i++) {
		source_repo *g = open_ok(dir, refs[i][0]);
		assert_string_equal(source_commit(g), refs[i][1]);
		source_free(g);
	}
	char shortsha[8];
	str_copy(shortsha, c1, sizeof(shortsha));
	source_repo *g = open_ok(dir, shortsha);
	assert_string_equal(source_commit(g), c1);
	assert_reads(g, "a.yaml", "1\n");

	char out[41];
	assert_int_equal(source_resolve(g, "v1", out), 0);
	assert_string_equal(out, c1);
	assert_int_equal(source_resolve(g, "main", out), 0);
	assert_string_equal(out, c2);
	assert_int_equal(source_resolve(g, "nosuch", out), ERR_NOTFOUND);
	char *want = xasprintf("ref 'nosuch' not found in '%s'", dir);
	assert_string_equal(err_msg(), want);
	free(want);
	/* a blob is not a commit */
	assert_int_equal(source_resolve(g, "HEAD:a.yaml", out), ERR_NOTFOUND);
	source_free(g);

	g = (source_repo *)1;
	assert_int_equal(source_open(&g, dir, "nosuch"), ERR_NOTFOUND);
	assert_null(g);
	want = xasprintf("ref 'nosuch' not found in '%s'", dir);
	assert_string_equal(err_msg(), want);
	free(want);

	/* Not a repository, and no search upward from a subdirectory. */
	put(dir, "sub/x.yaml", "x\n");
	char *sub = xasprintf("%s/sub", dir);
	assert_int_equal(source_open(&g, sub, NULL), ERR_IO);
	want = xasprintf("'%s' is not the top of a git repository: it is inside '%s/'", sub, dir);
	if (strncmp(err_msg(), want, strlen(want)) != 0)
		fail_msg("'%s', want '%s…'", err_msg(), want);
	free(want);
	free(sub);
	assert_int_equal(source_open(&g, "/nonexistent/flotilla", NULL), ERR_IO);
	assert_string_equal(err_msg(), "'/nonexistent/flotilla' does not exist");

	/* A repository with no commit yet has no HEAD to read. */
	char *empty = repo_new();
	assert_int_equal(source_open(&g, empty, NULL), ERR_NOTFOUND);
	ut_rm_rf(empty);
	free(empty);

	ut_rm_rf(dir);
	free(dir);
	free(c1);
	free(c2);
}

static void test_blob_ids(void **st)
{
	(void)st;
	char *dir = repo_new();
	put(dir, "flotilla.yaml", "kind: Fleet\n");
	put(dir, "tenants/x/a.yaml", "a: 1\n");
	put(dir, "empty.yaml", "");
	link_at(dir, "alias.yaml", "tenants/x/a.yaml");
	free(commit(dir, "one"));
	source_repo *g = open_ok(dir, NULL);
	const spec_source *s = source_spec(g);
	assert_non_null(s->blob_id);
	const char *files[][2] = {
		{"flotilla.yaml", "flotilla.yaml"},
		{"tenants/x/a.yaml", "tenants/x/a.yaml"},
		{"empty.yaml", "empty.yaml"},
		{"alias.yaml", "tenants/x/a.yaml"}, /* a symlink: its target's id */
	};
	for (size_t i = 0; i < ARRAY_LEN(files); i++) {
		char id[SPEC_BLOB_ID_LEN + 1];
		assert_int_equal(s->blob_id(s->ctx, files[i][0], id), 0);
		char *want = GITS(dir, "hash-object", files[i][1]);
		assert_string_equal(id, want);
		free(want);
	}
	char id[SPEC_BLOB_ID_LEN + 1];
	assert_int_equal(s->blob_id(s->ctx, "missing.yaml", id), ERR_NOTFOUND);
	assert_int_equal(s->blob_id(s->ctx, "tenants", id), ERR_NOTFOUND);
	source_free(g);
	ut_rm_rf(dir);
	free(dir);
}

static void test_symlinks(void **st)
{
	(void)st;
	char *dir = repo_new();
	put(dir, "shared/base.yaml", "base\n");
	put(dir, "tenants/eu/real.yaml", "real\n");
	link_at(dir, "tenants/eu/up.yaml", "../../shared/base.yaml");
	link_at(dir, "tenants/eu/same.yaml", "./real.yaml");
	link_at(dir, "tenants/eu/dotty.yaml", "../eu/.//../../shared/base.yaml");
	link_at(dir, "tenants/eu/chain.yaml", "up.yaml");
	link_at(dir, "tenants/eu/escape.yaml", "../../../etc/passwd");
	link_at(dir, "tenants/eu/escape-back.yaml", "../../../repo/shared/base.yaml");
	link_at(dir, "tenants/eu/absolute.yaml", "/etc/passwd");
	link_at(dir, "tenants/eu/dangling.yaml", "gone.yaml");
	link_at(dir, "tenants/eu/dir.yaml", "../../shared");
	link_at(dir, "tenants/eu/loop-a.yaml", "loop-b.yaml");
	link_at(dir, "tenants/eu/loop-b.yaml", "loop-a.yaml");
	link_at(dir, "root.yaml", "..");
	free(commit(dir, "links"));

	source_repo *g = open_ok(dir, NULL);
	assert_reads(g, "tenants/eu/up.yaml", "base\n");
	assert_reads(g, "tenants/eu/same.yaml", "real\n");
	assert_reads(g, "tenants/eu/dotty.yaml", "base\n");
	assert_reads(g, "tenants/eu/chain.yaml", "base\n");
	const char *refused[] = {
		"tenants/eu/escape.yaml", "tenants/eu/escape-back.yaml", "tenants/eu/absolute.yaml",
		"tenants/eu/dangling.yaml", "tenants/eu/dir.yaml", "tenants/eu/loop-a.yaml", "root.yaml",
	};
	for (size_t i = 0; i < ARRAY_LEN(refused); i++)
		assert_refused(g, refused[i], ERR_INVALID, "symlink points outside the repository; refused");
	/* Links are listed like files: reading them decides. */
	char *l = list(g);
	assert_non_null(strstr(l, "tenants/eu/escape.yaml"));
	assert_non_null(strstr(l, "root.yaml"));
	free(l);
	source_free(g);
	ut_rm_rf(dir);
	free(dir);
}

static void test_limits_and_skips(void **st)
{
	(void)st;
	char *dir = repo_new();
	put(dir, "big.yaml", "0123456789abcdef\n");
	put(dir, ".hidden/x.yaml", "x\n");
	put(dir, ".dot.yaml", "x\n");
	put(dir, "a.yaml", "a\n");
	free(commit(dir, "one"));
	/* A submodule (gitlink) entry is not part of this repository. */
	char *head = GITS(dir, "rev-parse", "HEAD");
	char *info = xasprintf("160000,%s,vendor/sub", head);
	GIT(dir, "update-index", "--add", "--cacheinfo", info);
	free(info);
	free(head);
	GIT(dir, "commit", "-q", "-m", "submodule");

	source_repo *g = open_ok(dir, NULL);
	char *l = list(g);
	assert_string_equal(l, "a.yaml big.yaml");
	free(l);
	int rc;
	char *got = rd(g, "big.yaml", 8, &rc);
	assert_null(got);
	assert_int_equal(rc, ERR_TOOBIG);
	assert_string_equal(err_msg(), "file is 17 bytes, larger than the 8-byte maximum");
	got = rd(g, "big.yaml", 17, &rc);
	assert_non_null(got);
	free(got);
	assert_refused(g, "vendor/sub", ERR_NOTFOUND, "'vendor/sub' is not a file in commit ");
	source_free(g);
	ut_rm_rf(dir);
	free(dir);
}

static void test_changed(void **st)
{
	(void)st;
	char *dir = repo_new();
	put(dir, "flotilla.yaml", "f\n");
	put(dir, "tenants/eu/a.yaml", "a\n");
	put(dir, "tenants/eu/b.yaml", "b\n");
	put(dir, "tenants/us/c.yaml", "c\n");
	put(dir, "tenants/x/1.yaml", "1\n");
	put(dir, "tenants/x/deep/2.yaml", "2\n");
	put(dir, "tenants/y.yaml", "y\n");
	put(dir, "tenants/x.yaml", "x\n"); /* sorts between the tree x and file x in git order */
	put(dir, "tenants/kind.yaml", "plain\n");
	put(dir, ".github/ci.yaml", "ci\n");
	for (int i = 0; i < 20; i++) {
		char p[64];
		snprintf(p, sizeof(p), "shards/%02d/t%d.yaml", i, i);
		put(dir, p, "tenant\n");
	}
	char *c1 = commit(dir, "one");

	put(dir, "tenants/eu/a.yaml", "a2\n");      /* modified */
	char *b = xasprintf("%s/tenants/eu/b.yaml", dir);
	unlink(b);                                    /* deleted */
	free(b);
	put(dir, "tenants/eu/new/d.yaml", "d\n");   /* added in a new directory */
	GIT(dir, "mv", "tenants/us/c.yaml", "tenants/us/c2.yaml"); /* renamed */
	GIT(dir, "rm", "-q", "-r", "tenants/x");    /* a tree replaced by a file */
	put(dir, "tenants/x", "now a file\n");
	GIT(dir, "rm", "-q", "tenants/y.yaml");     /* a file replaced by a tree */
	put(dir, "tenants/y.yaml/z.yaml", "z\n");
	GIT(dir, "rm", "-q", "tenants/kind.yaml");  /* a file replaced by a symlink */
	link_at(dir, "tenants/kind.yaml", "x.yaml");
	put(dir, ".github/ci.yaml", "ci2\n");       /* dot-named: never listed */
	char *c2 = commit(dir, "two");

	source_repo *g = open_ok(dir, NULL);
	char *got = changed(g, c1);
	assert_string_equal(got, "A:tenants/eu/new/d.yaml A:tenants/us/c2.yaml A:tenants/x "
				 "A:tenants/y.yaml/z.yaml D:tenants/eu/b.yaml D:tenants/us/c.yaml "
				 "D:tenants/x/1.yaml D:tenants/x/deep/2.yaml D:tenants/y.yaml "
				 "M:tenants/eu/a.yaml M:tenants/kind.yaml");
	free(got);
	got = changed(g, c2);
	assert_string_equal(got, "");
	free(got);
	source_free(g);

	/* Backwards: everything swaps A and D. */
	g = open_ok(dir, c1);
	got = changed(g, "main");
	assert_string_equal(got, "A:tenants/eu/b.yaml A:tenants/us/c.yaml A:tenants/x/1.yaml "
				 "A:tenants/x/deep/2.yaml A:tenants/y.yaml D:tenants/eu/new/d.yaml "
				 "D:tenants/us/c2.yaml D:tenants/x D:tenants/y.yaml/z.yaml "
				 "M:tenants/eu/a.yaml M:tenants/kind.yaml");
	free(got);
	names l = {0};
	assert_int_equal(source_changed(g, "nosuch", on_change, &l), ERR_NOTFOUND);
	assert_int_equal(l.n, 0);
	source_free(g);

	/*
	 * The unchanged shards/ subtree is skipped by id, never read: delete
	 * its loose tree object and the walk still succeeds (while listing,
	 * which must read it, now fails).
	 */
	char *tree = GITS(dir, "rev-parse", "HEAD:shards");
	char *obj = xasprintf("%s/.git/objects/%.2s/%s", dir, tree, tree + 2);
	assert_int_equal(unlink(obj), 0);
	g = open_ok(dir, NULL);
	got = changed(g, c1);
	assert_non_null(strstr(got, "M:tenants/eu/a.yaml"));
	free(got);
	const spec_source *s = source_spec(g);
	assert_int_equal(s->list(s->ctx, collect, &l), ERR_IO);
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
	source_free(g);
	free(obj);
	free(tree);

	ut_rm_rf(dir);
	free(dir);
	free(c1);
	free(c2);
}

static int stop_after_one(void *arg, const char *path, char status)
{
	(void)path;
	(void)status;
	++*(int *)arg;
	return 1;
}

static void test_changed_stops(void **st)
{
	(void)st;
	char *dir = repo_new();
	char *c1 = commit(dir, "empty");
	put(dir, "a.yaml", "a\n");
	put(dir, "b/c.yaml", "c\n");
	free(commit(dir, "two"));
	source_repo *g = open_ok(dir, NULL);
	int calls = 0;
	assert_int_equal(source_changed(g, c1, stop_after_one, &calls), 0);
	assert_int_equal(calls, 1);
	source_free(g);
	ut_rm_rf(dir);
	free(dir);
	free(c1);
}

/* Load a fleet from src; the tenant count and the rendered diagnostics. */
static char *load(const spec_source *src, size_t *tenants)
{
	spec_fleet *f = NULL;
	spec_diags *d = spec_diags_new();
	assert_int_equal(spec_fleet_load(&f, src, d), 0);
	*tenants = spec_fleet_tenant_count(f);
	buf out = BUF_INIT(0);
	assert_int_equal(spec_diags_render_text(d, &out), 0);
	spec_fleet_free(f);
	spec_diags_free(d);
	return buf_detach(&out, NULL);
}

static void same_fleet(const char *example)
{
	char *dir = repo_new();
	char *from = xasprintf("%s/.", example);
	free(run(".", (const char *const[]){"cp", "-R", from, dir, NULL}));
	free(from);
	free(commit(dir, "fleet"));

	spec_source *ds = NULL;
	assert_int_equal(spec_source_dir_new(&ds, dir), 0);
	size_t nd = 0, ng = 0;
	char *want = load(ds, &nd);
	spec_source_dir_free(ds);
	source_repo *g = open_ok(dir, NULL);
	char *got = load(source_spec(g), &ng);
	source_free(g);
	assert_int_equal(ng, nd);
	assert_string_equal(got, want);
	free(got);
	free(want);
	ut_rm_rf(dir);
	free(dir);
}

static void test_fleet_equals_dir(void **st)
{
	(void)st;
	/* unit tests run in tests/ (tests/meson.build: workdir) */
	same_fleet("../examples/fleet");
	DIR *d = opendir("../examples/bad");
	assert_non_null(d);
	struct dirent *e;
	int cases = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || strchr(e->d_name, '.'))
			continue; /* README.md */
		char *p = xasprintf("../examples/bad/%s", e->d_name);
		same_fleet(p);
		free(p);
		cases++;
	}
	closedir(d);
	assert_true(cases > 5);
}

/* ---------------------------------------------------- uncommitted changes */

/* What source_uncommitted reports under paths (NULL: everywhere), sorted. */
static char *dirty(source_repo *g, const char *const *paths, size_t n)
{
	names l = {0};
	int rc = source_uncommitted(g, paths, n, on_change, &l);
	if (rc != 0)
		fail_msg("source_uncommitted: %d %s", rc, err_msg());
	return joined(&l);
}

static void test_uncommitted(void **st)
{
	(void)st;
	char *dir = repo_new();
	put(dir, "flotilla.yaml", "fleet\n");
	put(dir, "tenants/eu/a.yaml", "a\n");
	put(dir, "tenants/eu/b.yaml", "b\n");
	put(dir, "profiles/pro.yaml", "pro\n");
	put(dir, "README.md", "read me\n");
	put(dir, ".gitignore", "*.tmp\n");
	free(commit(dir, "one"));
	const char *const fleet[] = {"flotilla.yaml", "tenants", "profiles"};

	source_repo *g = open_ok(dir, NULL);
	char *d = dirty(g, fleet, 3);
	assert_string_equal(d, ""); /* a clean tree */
	free(d);

	/* outside the fleet's paths, and ignored: not reported */
	put(dir, "README.md", "edited\n");
	put(dir, "docs/new.md", "new\n");
	put(dir, "tenants/scratch.tmp", "ignored\n");
	d = dirty(g, fleet, 3);
	assert_string_equal(d, "");
	free(d);
	d = dirty(g, NULL, 0); /* the whole tree sees them */
	assert_string_equal(d, "?:docs/new.md M:README.md");
	free(d);

	/* modified, deleted, untracked (in a new directory too) and staged */
	put(dir, "tenants/eu/a.yaml", "a edited\n");
	char *b = xasprintf("%s/tenants/eu/b.yaml", dir);
	assert_int_equal(unlink(b), 0);
	free(b);
	put(dir, "tenants/us/c.yaml", "c\n");
	put(dir, "profiles/free.yaml", "free\n");
	GIT(dir, "add", "profiles/free.yaml");
	put(dir, "flotilla.yaml", "fleet edited\n");
	GIT(dir, "add", "flotilla.yaml");
	d = dirty(g, fleet, 3);
	assert_string_equal(d, "?:tenants/us/c.yaml D:tenants/eu/b.yaml M:tenants/eu/a.yaml S:flotilla.yaml "
			       "S:profiles/free.yaml");
	free(d);
	/* a staged file edited again is modified in the work tree */
	put(dir, "flotilla.yaml", "fleet edited twice\n");
	const char *const one[] = {"flotilla.yaml"};
	d = dirty(g, one, 1);
	assert_string_equal(d, "M:flotilla.yaml");
	free(d);
	source_free(g);

	/* a bare clone (the daemon's cache) has no work tree: nothing */
	char *bare = ut_tmpdir("bare");
	GIT(".", "clone", "-q", "--bare", dir, bare);
	g = open_ok(bare, NULL);
	d = dirty(g, fleet, 3);
	assert_string_equal(d, "");
	free(d);
	source_free(g);
	ut_rm_rf(bare);
	free(bare);
	ut_rm_rf(dir);
	free(dir);
}

/* Not a repository: the error gives the commands that make it one. */
static void test_not_a_repo(void **st)
{
	(void)st;
	char *dir = ut_tmpdir("plain");
	put(dir, "flotilla.yaml", "fleet\n");
	source_repo *g = NULL;
	assert_int_equal(source_open(&g, dir, NULL), ERR_IO);
	assert_null(g);
	char *want = xasprintf("'%s' is not a git repository, and flotilla reads the manifests from a commit; make it "
			       "one: git -C %s init && git -C %s add -A && git -C %s commit -m 'manifests' (flotilla "
			       "validate --dir %s checks the directory as it is)", dir, dir, dir, dir, dir);
	assert_string_equal(err_msg(), want);
	free(want);

	/* a name with a space is quoted for the shell */
	char *spaced = xasprintf("%s/my fleet", dir);
	assert_int_equal(mkdir(spaced, 0755), 0);
	assert_int_equal(source_open(&g, spaced, NULL), ERR_IO);
	assert_non_null(strstr(err_msg(), "git -C '"));
	assert_non_null(strstr(err_msg(), "/my fleet' init && "));

	/* inside a work tree: its top is named, no repository nested */
	GIT(dir, "init", "-q", "-b", "main");
	assert_int_equal(source_open(&g, spaced, NULL), ERR_IO);
	assert_non_null(strstr(err_msg(), "is not the top of a git repository: it is inside '"));
	assert_null(strstr(err_msg(), " init "));
	free(spaced);

	/* a repository without a commit yet */
	assert_int_equal(source_open(&g, dir, NULL), ERR_NOTFOUND);
	assert_non_null(strstr(err_msg(), "has no commit yet"));
	assert_non_null(strstr(err_msg(), "add -A && git -C "));

	/* a directory that does not exist */
	char *gone = xasprintf("%s/gone", dir);
	assert_int_equal(source_open(&g, gone, NULL), ERR_IO);
	want = xasprintf("'%s' does not exist", gone);
	assert_string_equal(err_msg(), want);
	free(want);
	free(gone);
	ut_rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_at_commits),
		cmocka_unit_test(test_dirty_tree_ignored),
		cmocka_unit_test(test_refs),
		cmocka_unit_test(test_blob_ids),
		cmocka_unit_test(test_symlinks),
		cmocka_unit_test(test_limits_and_skips),
		cmocka_unit_test(test_changed),
		cmocka_unit_test(test_changed_stops),
		cmocka_unit_test(test_fleet_equals_dir),
		cmocka_unit_test(test_uncommitted),
		cmocka_unit_test(test_not_a_repo),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
