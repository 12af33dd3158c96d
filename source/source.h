/*
 * source.h: the one header of source/, where manifests come from: a
 * commit of a git repository, read with libgit2 without a checkout
 * (git.c), and a remote repository mirrored into a local bare cache
 * (remote.c). libgit2 is included here and nowhere else in flotilla; the
 * rest of flotilla sees a commit through the spec_source interface.
 */
#ifndef FLOTILLA_SOURCE_H
#define FLOTILLA_SOURCE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "spec/spec.h"
#include "util/util.h"

/*
 * Manifests read from a commit's tree with libgit2 (git.c), without a
 * checkout: a dirty working tree is ignored (source_uncommitted tells
 * what it holds).
 */
typedef struct source_repo source_repo;

/* Open the repository at `dir` and resolve `ref` (branch, tag, sha or
 * "HEAD"; NULL: HEAD). ERR_IO when `dir` is not a repository, ERR_NOTFOUND
 * for a ref that does not resolve to a commit; the message names it. */
int source_open(source_repo **out, const char *dir, const char *ref);
void source_free(source_repo *g);
/* The resolved commit, 40 hex. */
const char *source_commit(const source_repo *g);
/* A spec_source over that commit's tree, with blob ids. A symlink entry is
 * followed when it resolves to a file inside the tree, else read as an
 * error ("points outside the repository"). Valid until source_free. */
const spec_source *source_spec(source_repo *g);
/* Resolve any commit-ish to 40 hex (for --changed-since). ERR_NOTFOUND. */
int source_resolve(source_repo *g, const char *rev, char out[41]);
/*
 * The paths that differ between commit `since` and this commit: added
 * ('A'), modified ('M'), deleted ('D'). Walks both trees and skips every
 * subtree whose id is unchanged, so it costs what changed, not the size of
 * the tree. `fn` returning nonzero stops the walk.
 */
int source_changed(source_repo *g, const char *since, int (*fn)(void *arg, const char *path, char status),
		    void *arg);

/*
 * What the work tree of g's repository holds that its HEAD does not: each
 * file under `paths` (n repository-relative files or directories, taken
 * literally; n 0 or a "" among them: the whole tree) that is modified
 * ('M'), deleted ('D') or untracked ('?') in the work tree, or else staged
 * ('S'); ignored files are not. Only those paths are walked, so the cost
 * is that of the files they hold. fn(arg, path, what) returning nonzero
 * stops the walk (0 is returned). A bare repository (the daemon's cache)
 * has no work tree: 0, fn never called. ERR_IO when the status cannot be
 * read.
 */
int source_uncommitted(source_repo *g, const char *const *paths, size_t n,
		       int (*fn)(void *arg, const char *path, char what), void *arg) WUR;

/* Is `path` (an existing file) inside a git work tree? 0 and its top
 * directory in repo, whether the index tracks it and whether the
 * repository ignores it; ERR_NOTFOUND when it is in none. */
int source_path_where(const char *path, char repo[PATH_MAX], bool *tracked, bool *ignored);

/* ------------------------------------------------------------ git remote */

/*
 * A remote manifest repository, mirrored into a local bare cache (remote.c):
 * the daemon fetches it on every loop and plans from the fetched commit.
 * url: a local path, file://…, or https://… (a token from the environment
 * variable FLOTILLA_GIT_TOKEN, sent as HTTP basic auth user "x-access-token",
 * never logged; ssh is refused with a clear message). cache_dir is created
 * (0700) and holds a bare repository whose "origin" is url; a cache whose
 * origin is another url is refused (ERR_INVALID naming both), never silently reused.
 */
/* Named apart from libgit2's function git_remote_stats(), which a file that
 * includes git2.h and this header would otherwise see redeclared. */
typedef struct source_sync_stats {
	int64_t fetches;        /* this call: 1 */
	int64_t received_bytes;
	int64_t received_objects;
	int64_t ms;
} source_sync_stats;
/* Fetch `ref` (a branch name like "main", or "HEAD": the remote's default branch)
 * into the cache and resolve it: *sha (40 hex + NUL) is the commit to plan.
 * ERR_IO (unreachable: message names the url, without any token), ERR_NOTFOUND
 * (no such ref on the remote), ERR_INVALID (bad url, ssh, cache of another url).
 * The cache follows the remote: branches are force-updated and pruned, tags are
 * not fetched, and a failed fetch leaves the cache as it was. sha is "" on
 * failure; stats (may be NULL) is filled on success and failure alike.
 * After success, source_open(&g, cache_dir, sha) reads that commit. */
int source_remote_sync(const char *url, const char *cache_dir, const char *ref, char sha[41],
		    source_sync_stats *stats) WUR;

#endif
