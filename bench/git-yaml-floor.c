/*
 * git-yaml-floor.c: the floor for `flotilla plan` (bench/plan.sh).
 *
 * Opens the git repository REPO, resolves HEAD to its commit's tree,
 * walks that tree recursively, reads every blob through libgit2 and runs
 * libyaml's event parser over each blob whose name ends in ".yaml",
 * discarding the events. Single-threaded. That is the least work a plan
 * that parses every manifest from a commit must do (resolve, walk the
 * tree, inflate the blobs, tokenize and parse); a cold `flotilla plan`
 * does that and then decodes, merges, checks, fills the parse cache and
 * diffs against the state file, so the ratio of the two says what its
 * own work costs.
 *
 * Like source/git.c it skips dot-entries; unlike it, it keeps
 * nothing and does not follow symlinks. Benchmark code: libyaml is used
 * directly here although STYLE.md keeps it to spec/ in the product.
 *
 * usage: git-yaml-floor REPO   prints "files N bytes N events N" on stdout
 */
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench/floor.h"

typedef floor_totals totals;

static const char *git_msg(void)
{
	const git_error *e = git_error_last();
	return e && e->message ? e->message : "unknown error";
}


static int walk(git_repository *repo, const git_tree *tree, unsigned depth, totals *t)
{
	if (depth > 64)
		return 0;
	size_t n = git_tree_entrycount(tree);
	for (size_t i = 0; i < n; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(e);
		if (name[0] == '.')
			continue;
		git_filemode_t mode = git_tree_entry_filemode(e);
		if (mode == GIT_FILEMODE_TREE) {
			git_tree *sub = NULL;
			if (git_tree_lookup(&sub, repo, git_tree_entry_id(e)) != 0) {
				fprintf(stderr, "git-yaml-floor: cannot read tree '%s': %s\n", name, git_msg());
				return -1;
			}
			int rc = walk(repo, sub, depth + 1, t);
			git_tree_free(sub);
			if (rc != 0)
				return rc;
		} else if (mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE) {
			size_t len = strlen(name);
			if (len <= 5 || strcmp(name + len - 5, ".yaml") != 0)
				continue;
			git_blob *blob = NULL;
			if (git_blob_lookup(&blob, repo, git_tree_entry_id(e)) != 0) {
				fprintf(stderr, "git-yaml-floor: cannot read blob '%s': %s\n", name, git_msg());
				return -1;
			}
			floor_parse(git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), t);
			git_blob_free(blob);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: git-yaml-floor REPO\n");
		return 2;
	}
	git_libgit2_init();
	git_repository *repo = NULL;
	git_object *obj = NULL;
	git_tree *tree = NULL;
	totals t = {0};
	int rc = 1;
	if (git_repository_open_ext(&repo, argv[1], GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) != 0) {
		fprintf(stderr, "git-yaml-floor: '%s' is not a git repository: %s\n", argv[1], git_msg());
		goto done;
	}
	if (git_revparse_single(&obj, repo, "HEAD^{tree}") != 0) {
		fprintf(stderr, "git-yaml-floor: cannot resolve HEAD: %s\n", git_msg());
		goto done;
	}
	tree = (git_tree *)obj;
	rc = walk(repo, tree, 0, &t) == 0 ? 0 : 1;
	printf("files %lu bytes %lu events %lu\n", t.files, t.bytes, t.events);
	if (t.errors) {
		fprintf(stderr, "git-yaml-floor: %lu blob%s with YAML errors\n", t.errors, t.errors == 1 ? "" : "s");
		rc = 1;
	}
done:
	git_object_free(obj);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}
