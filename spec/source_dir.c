/*
 * source_dir.c: a spec_source over a directory on disk, for
 * `flotilla validate --dir`. It walks the tree (skipping dot-directories
 * such as .git), and refuses to read through a symlink whose target lies
 * outside the root, so a manifest repository cannot make flotilla read
 * /etc/passwd or another tenant's checkout.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "spec/internal.h"

typedef struct dir_ctx {
	char *root;      /* as given */
	char *real_root; /* realpath of root */
} dir_ctx;

static int walk(const char *root, const char *rel, void (*emit)(void *, const char *), void *arg,
		unsigned depth)
{
	if (depth > 64)
		return 0; /* deeper trees are not manifests; a symlink loop cannot reach here */
	char *dirpath = rel[0] ? xasprintf("%s/%s", root, rel) : xstrdup(root);
	DIR *d = opendir(dirpath);
	if (!d) {
		int rc = err_set(ERR_IO, "cannot open directory '%s': %s", dirpath, strerror(errno));
		free(dirpath);
		return rc;
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue; /* ., .., .git, editor droppings */
		char *child = rel[0] ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
		char *full = xasprintf("%s/%s", root, child);
		struct stat st;
		if (lstat(full, &st) == 0) {
			if (S_ISDIR(st.st_mode))
				rc = walk(root, child, emit, arg, depth + 1);
			else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
				emit(arg, child);
		}
		free(full);
		free(child);
	}
	closedir(d);
	free(dirpath);
	return rc;
}

static int dir_list(void *ctx, void (*emit)(void *, const char *), void *arg)
{
	dir_ctx *c = ctx;
	return walk(c->root, "", emit, arg, 0);
}

static int dir_read(void *ctx, const char *path, buf *out)
{
	dir_ctx *c = ctx;
	char *full = xasprintf("%s/%s", c->root, path);
	int rc = 0;
	struct stat st;
	if (lstat(full, &st) != 0) {
		rc = err_set(ERR_IO, "cannot read: %s", strerror(errno));
		goto done;
	}
	if (S_ISLNK(st.st_mode)) {
		char resolved[PATH_MAX];
		if (!realpath(full, resolved)) {
			rc = err_set(ERR_INVALID, "symlink cannot be resolved: %s", strerror(errno));
			goto done;
		}
		size_t n = strlen(c->real_root);
		if (strncmp(resolved, c->real_root, n) != 0 || resolved[n] != '/') {
			rc = err_set(ERR_INVALID, "symlink points outside the repository; refused");
			goto done;
		}
		if (stat(resolved, &st) != 0 || !S_ISREG(st.st_mode)) {
			rc = err_set(ERR_INVALID, "symlink does not point to a regular file");
			goto done;
		}
	}
	if (out->max && (size_t)st.st_size > out->max) {
		rc = err_set(ERR_TOOBIG, "file is %lld bytes, larger than the %zu-byte maximum",
			     (long long)st.st_size, out->max);
		goto done;
	}
	rc = buf_read_file(out, full);
done:
	free(full);
	return rc;
}

int spec_source_dir_new(spec_source **out, const char *root)
{
	*out = NULL;
	struct stat st;
	if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
		return err_set(ERR_IO, "'%s' is not a directory", root);
	char resolved[PATH_MAX];
	if (!realpath(root, resolved))
		return err_set(ERR_IO, "cannot resolve '%s': %s", root, strerror(errno));
	dir_ctx *c = xcalloc(1, sizeof(*c));
	c->root = xstrdup(root);
	c->real_root = xstrdup(resolved);
	spec_source *s = xcalloc(1, sizeof(*s));
	s->ctx = c;
	s->list = dir_list;
	s->read = dir_read;
	*out = s;
	return 0;
}

void spec_source_dir_free(spec_source *src)
{
	if (!src)
		return;
	dir_ctx *c = src->ctx;
	free(c->root);
	free(c->real_root);
	free(c);
	free(src);
}
