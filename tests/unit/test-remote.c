/*
 * test-remote.c: unit tests of the git remote (source/remote.c) against
 * real repositories made in temp directories with git(1), reached by plain
 * path and by file:// url; the only network use is a connection refused on
 * loopback. Each check pins the commit that source_remote_sync names against
 * what git says the remote holds, and reads it back from the bare cache
 * through source_open, as the daemon will.
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
#include <sys/wait.h>
#include <unistd.h>

#include "source/source.h"
#include "spec/spec.h"

#include "helpers.h"

/* ----------------------------------------------------------- fixtures */

static char *scratch; /* every repository and cache of a test lives here */

/* git with argv in dir, isolated from any user or system configuration;
 * its stdout without the trailing newline (heap). Fails unless it exits 0. */
static char *git_out(const char *dir, const char *const *args)
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
		static const char *const env[][2] = {
			{"GIT_CONFIG_NOSYSTEM", "1"}, {"GIT_AUTHOR_NAME", "T"},
			{"GIT_AUTHOR_EMAIL", "t@example.com"}, {"GIT_COMMITTER_NAME", "T"},
			{"GIT_COMMITTER_EMAIL", "t@example.com"},
		};
		for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++)
			setenv(env[i][0], env[i][1], 1);
		setenv("HOME", scratch, 1);
		setenv("XDG_CONFIG_HOME", scratch, 1);
		execvp("git", (char *const *)args);
		_exit(127);
	}
	close(fds[1]);
	buf out = BUF_INIT(0);
	char chunk[1024];
	ssize_t n;
	while ((n = read(fds[0], chunk, sizeof(chunk))) > 0)
		assert_int_equal(buf_add(&out, chunk, (size_t)n), 0);
	close(fds[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("git %s in '%s' failed", args[1], dir);
	char *s = buf_detach(&out, NULL);
	if (!s)
		s = xstrdup("");
	for (size_t len = strlen(s); len && s[len - 1] == '\n';)
		s[--len] = '\0';
	return s;
}

#define GIT(dir, ...) free(git_out((dir), (const char *const[]){"git", __VA_ARGS__, NULL}))
#define GITS(dir, ...) git_out((dir), (const char *const[]){"git", __VA_ARGS__, NULL})

static void write_file(const char *dir, const char *name, const char *text)
{
	char *full = xasprintf("%s/%s", dir, name);
	ut_write_text(full, text);
	free(full);
}

/* A path under the scratch directory (heap). */
static char *at(const char *name) { return xasprintf("%s/%s", scratch, name); }

/* A remote repository `name` with branch `branch` holding one commit of
 * flotilla.yaml with `text`. */
static char *remote_new(const char *name, const char *branch, const char *text)
{
	char *dir = at(name);
	assert_int_equal(mkdir(dir, 0755), 0);
	GIT(dir, "init", "-q", "-b", branch);
	write_file(dir, "flotilla.yaml", text);
	GIT(dir, "add", "-A");
	GIT(dir, "commit", "-q", "-m", "first");
	return dir;
}

/* Commit flotilla.yaml = text in dir; the new commit's id (heap). */
static char *change(const char *dir, const char *text)
{
	write_file(dir, "flotilla.yaml", text);
	GIT(dir, "add", "-A");
	GIT(dir, "commit", "-q", "-m", text);
	return GITS(dir, "rev-parse", "HEAD");
}

/* Sync and expect success; the commit. */
static void sync_ok(const char *url, const char *cache, const char *ref, char sha[41])
{
	source_sync_stats st = {0};
	int rc = source_remote_sync(url, cache, ref, sha, &st);
	if (rc != 0)
		fail_msg("sync '%s' %s: %d %s", url, ref ? ref : "(null)", rc, err_msg());
	assert_int_equal(strlen(sha), 40);
	assert_int_equal(st.fetches, 1);
	assert_true(st.ms >= 0);
}

/* flotilla.yaml at commit sha, read from the bare cache through git.c. */
static char *read_cached(const char *cache, const char *sha)
{
	source_repo *g = NULL;
	int rc = source_open(&g, cache, sha);
	if (rc != 0)
		fail_msg("source_open '%s' %s: %s", cache, sha, err_msg());
	assert_string_equal(source_commit(g), sha);
	const spec_source *s = source_spec(g);
	buf b = BUF_INIT(1 << 20);
	assert_int_equal(s->read(s->ctx, "flotilla.yaml", &b), 0);
	char *text = buf_detach(&b, NULL);
	source_free(g);
	return text;
}

static void assert_cached(const char *cache, const char *sha, const char *want)
{
	char *text = read_cached(cache, sha);
	assert_string_equal(text, want);
	free(text);
}

static void list_one(void *arg, const char *path)
{
	size_t *n = arg;
	(*n)++;
	assert_string_equal(path, "flotilla.yaml");
}

static int setup(void **st)
{
	(void)st;
	scratch = ut_tmpdir("remote");
	unsetenv("FLOTILLA_GIT_TOKEN");
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	ut_rm_rf(scratch);
	free(scratch);
	scratch = NULL;
	return 0;
}

/* ------------------------------------------------------------- tests */

/* First sync clones (plain path); a new commit is returned by the next;
 * the cache is bare, 0700, and git.c reads and lists from it. */
static void test_clone_then_follow(void **st)
{
	(void)st;
	char *remote = remote_new("origin", "main", "v: 1\n");
	char *cache = at("cache/nested/repo");
	char *want = GITS(remote, "rev-parse", "HEAD");
	char sha[41];
	source_sync_stats stats = {0};
	assert_int_equal(source_remote_sync(remote, cache, "main", sha, &stats), 0);
	assert_string_equal(sha, want);
	assert_int_equal(stats.fetches, 1);
	assert_true(stats.received_objects >= 3); /* commit, tree, blob */
	assert_cached(cache, sha, "v: 1\n");

	source_repo *g = NULL;
	assert_int_equal(source_open(&g, cache, sha), 0);
	size_t n = 0;
	assert_int_equal(source_spec(g)->list(source_spec(g)->ctx, list_one, &n), 0);
	assert_int_equal(n, 1);
	source_free(g);

	struct stat sb;
	assert_int_equal(stat(cache, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	char *head = xasprintf("%s/HEAD", cache);
	assert_int_equal(access(head, F_OK), 0); /* bare: no .git inside */
	free(head);

	/* Nothing new: the same commit again. */
	char again[41];
	sync_ok(remote, cache, "main", again);
	assert_string_equal(again, want);

	char *next = change(remote, "v: 2\n");
	sync_ok(remote, cache, "main", sha);
	assert_string_equal(sha, next);
	assert_cached(cache, sha, "v: 2\n");
	assert_cached(cache, want, "v: 1\n"); /* the older commit is still there */

	free(next);
	free(want);
	free(cache);
	free(remote);
}

/* "HEAD" is the remote's default branch, whatever its name; a named branch
 * (short or full ref) is that branch; an unknown one is ERR_NOTFOUND. */
static void test_head_and_branches(void **st)
{
	(void)st;
	char *remote = remote_new("trunky", "trunk", "on: trunk\n");
	char *url = xasprintf("file://%s", remote);
	char *cache = at("cache");
	char *trunk = GITS(remote, "rev-parse", "HEAD");
	GIT(remote, "checkout", "-q", "-b", "staging");
	char *staging = change(remote, "on: staging\n");
	GIT(remote, "checkout", "-q", "trunk");

	char sha[41];
	sync_ok(url, cache, "HEAD", sha);
	assert_string_equal(sha, trunk);
	sync_ok(url, cache, NULL, sha);
	assert_string_equal(sha, trunk);
	sync_ok(url, cache, "staging", sha);
	assert_string_equal(sha, staging);
	assert_cached(cache, sha, "on: staging\n");
	sync_ok(url, cache, "refs/heads/staging", sha);
	assert_string_equal(sha, staging);

	/* The default branch moves with the remote's HEAD. */
	GIT(remote, "checkout", "-q", "staging");
	sync_ok(url, cache, "HEAD", sha);
	assert_string_equal(sha, staging);

	assert_int_equal(source_remote_sync(url, cache, "nope", sha, NULL), ERR_NOTFOUND);
	assert_string_equal(sha, "");
	assert_non_null(strstr(err_msg(), "'nope'"));
	assert_non_null(strstr(err_msg(), url));

	assert_int_equal(source_remote_sync(url, cache, "bad..name", sha, NULL), ERR_INVALID);

	/* A deleted branch is pruned: gone from the remote, gone here. */
	GIT(remote, "checkout", "-q", "trunk");
	GIT(remote, "branch", "-q", "-D", "staging");
	assert_int_equal(source_remote_sync(url, cache, "staging", sha, NULL), ERR_NOTFOUND);
	sync_ok(url, cache, "trunk", sha);
	source_repo *g = NULL;
	assert_int_equal(source_open(&g, cache, "refs/remotes/origin/staging"), ERR_NOTFOUND);
	assert_int_equal(source_open(&g, cache, "refs/remotes/origin/trunk"), 0);
	assert_string_equal(source_commit(g), trunk);
	source_free(g);

	free(staging);
	free(trunk);
	free(cache);
	free(url);
	free(remote);
}

/* A remote whose HEAD names no branch (detached on an older commit):
 * "HEAD" falls back to main. */
static void test_head_fallback(void **st)
{
	(void)st;
	char *remote = remote_new("detached", "main", "v: 1\n");
	char *cache = at("cache");
	char *tip = change(remote, "v: 2\n");
	GIT(remote, "checkout", "-q", "--detach", "HEAD~1");
	char sha[41];
	sync_ok(remote, cache, "HEAD", sha);
	assert_string_equal(sha, tip);
	free(tip);
	free(cache);
	free(remote);
}

/* History rewritten on the remote (reset to an older commit, then a new
 * one on top): the cache follows. */
static void test_force_push(void **st)
{
	(void)st;
	char *remote = remote_new("origin", "main", "v: 1\n");
	char *url = xasprintf("file://%s", remote);
	char *cache = at("cache");
	char *first = GITS(remote, "rev-parse", "HEAD");
	char *second = change(remote, "v: 2\n");
	char sha[41];
	sync_ok(url, cache, "main", sha);
	assert_string_equal(sha, second);

	GIT(remote, "reset", "-q", "--hard", first);
	sync_ok(url, cache, "main", sha);
	assert_string_equal(sha, first);
	assert_cached(cache, sha, "v: 1\n");

	char *rewritten = change(remote, "v: 2 again\n");
	assert_string_not_equal(rewritten, second);
	sync_ok(url, cache, "HEAD", sha);
	assert_string_equal(sha, rewritten);
	assert_cached(cache, sha, "v: 2 again\n");

	free(rewritten);
	free(second);
	free(first);
	free(cache);
	free(url);
	free(remote);
}

/* The remote goes away: ERR_IO naming the url, and the cache still reads;
 * it comes back with a new commit: the next sync returns it. */
static void test_unreachable_then_back(void **st)
{
	(void)st;
	char *remote = remote_new("origin", "main", "v: 1\n");
	char *away = at("origin-away");
	char *cache = at("cache");
	for (int form = 0; form < 2; form++) {
		char *url = form ? xasprintf("file://%s", remote) : xstrdup(remote);
		char *c = xasprintf("%s%d", cache, form);
		char sha[41], old[41];
		sync_ok(url, c, "main", old);

		assert_int_equal(rename(remote, away), 0);
		source_sync_stats stats = {0};
		assert_int_equal(source_remote_sync(url, c, "main", sha, &stats), ERR_IO);
		assert_string_equal(sha, "");
		assert_int_equal(stats.fetches, 1);
		if (!strstr(err_msg(), url))
			fail_msg("message does not name '%s': %s", url, err_msg());
		assert_cached(c, old, form ? "v: 2\n" : "v: 1\n");

		assert_int_equal(rename(away, remote), 0);
		char *next = change(remote, form ? "v: 3\n" : "v: 2\n");
		sync_ok(url, c, "main", sha);
		assert_string_equal(sha, next);
		free(next);
		free(c);
		free(url);
	}
	free(cache);
	free(away);
	free(remote);
}

/* A cache made for one url is never reused for another, nor is a
 * directory that holds something else. */
static void test_cache_of_another_url(void **st)
{
	(void)st;
	char *a = remote_new("a", "main", "a: 1\n");
	char *b = remote_new("b", "main", "b: 1\n");
	char *cache = at("cache");
	char sha[41];
	sync_ok(a, cache, "main", sha);
	assert_int_equal(source_remote_sync(b, cache, "main", sha, NULL), ERR_INVALID);
	assert_string_equal(sha, "");
	assert_non_null(strstr(err_msg(), a));
	assert_non_null(strstr(err_msg(), b));
	/* file:// of the same directory is another url too: refused, not guessed. */
	char *url = xasprintf("file://%s", a);
	assert_int_equal(source_remote_sync(url, cache, "main", sha, NULL), ERR_INVALID);
	sync_ok(a, cache, "main", sha); /* the cache is untouched */

	char *other = at("not-a-cache");
	assert_int_equal(mkdir(other, 0700), 0);
	write_file(other, "notes.txt", "mine\n");
	assert_int_equal(source_remote_sync(a, other, "main", sha, NULL), ERR_INVALID);
	assert_non_null(strstr(err_msg(), other));

	/* A repository with a working tree (the remote itself) is no cache. */
	assert_int_equal(source_remote_sync(a, b, "main", sha, NULL), ERR_INVALID);

	free(other);
	free(url);
	free(cache);
	free(b);
	free(a);
}

/* ssh (both spellings), http and other schemes, and an empty url are
 * refused before anything is made on disk. */
static void test_refused_urls(void **st)
{
	(void)st;
	static const char *const bad[] = {
		"ssh://git@example.com/fleet.git", "git+ssh://example.com/fleet.git",
		"git@github.com:org/fleet.git", "example.com:fleet.git",
		"http://127.0.0.1:1/fleet.git", "git://127.0.0.1:1/fleet.git", "https://", "",
	};
	char *cache = at("cache");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char sha[41] = "x";
		int rc = source_remote_sync(bad[i], cache, "main", sha, NULL);
		if (rc != ERR_INVALID)
			fail_msg("'%s': %d %s", bad[i], rc, err_msg());
		assert_string_equal(sha, "");
		if (strstr(bad[i], "ssh") || strchr(bad[i], '@'))
			assert_non_null(strstr(err_msg(), "ssh is not supported"));
	}
	assert_int_equal(access(cache, F_OK), -1);
	char sha[41];
	assert_int_equal(source_remote_sync(scratch, "", "main", sha, NULL), ERR_INVALID);
	free(cache);
}

/* https to a closed loopback port: ERR_IO naming the url, and neither the
 * token nor a password in the url appears in the message. */
static void test_token_never_shown(void **st)
{
	(void)st;
	static const char TOKEN[] = "ghs_s3cr3tT0kenV4lue";
	assert_int_equal(setenv("FLOTILLA_GIT_TOKEN", TOKEN, 1), 0);
	char *cache = at("cache");
	char sha[41];
	source_sync_stats stats = {0};
	assert_int_equal(source_remote_sync("https://127.0.0.1:1/x.git", cache, "HEAD", sha, &stats), ERR_IO);
	assert_non_null(strstr(err_msg(), "https://127.0.0.1:1/x.git"));
	assert_null(strstr(err_msg(), TOKEN));
	assert_int_equal(stats.fetches, 1);

	char *cache2 = at("cache2");
	assert_int_equal(source_remote_sync("https://bot:pa55w0rd@127.0.0.1:1/x.git", cache2, "main", sha, NULL),
			 ERR_IO);
	assert_null(strstr(err_msg(), "pa55w0rd"));
	assert_null(strstr(err_msg(), TOKEN));
	assert_non_null(strstr(err_msg(), "https://***@127.0.0.1:1/x.git"));

	/* A cache of another url: that message hides the password too. */
	assert_int_equal(source_remote_sync("https://127.0.0.1:1/y.git", cache2, "main", sha, NULL), ERR_INVALID);
	assert_null(strstr(err_msg(), "pa55w0rd"));
	assert_non_null(strstr(err_msg(), "https://127.0.0.1:1/y.git"));
	assert_int_equal(unsetenv("FLOTILLA_GIT_TOKEN"), 0);
	free(cache2);
	free(cache);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clone_then_follow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_and_branches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_force_push, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreachable_then_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_of_another_url, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_urls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_never_shown, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
