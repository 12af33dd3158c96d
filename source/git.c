/*
 * git.c: the git source. Manifests are read straight from a commit's tree
 * with libgit2, never from a checkout, so what flotilla plans is exactly
 * what was committed: uncommitted edits and untracked files are invisible.
 * It behaves like spec/source_dir.c: dot-named entries are skipped (they
 * are not manifests, and the directory source skips them too, so both
 * sources give the same fleet), trees deeper than 64 are not walked, and a
 * symlink is followed only to a file inside the tree. libgit2 is used here
 * and nowhere else in flotilla.
 */
#include <string.h>
#include <sys/stat.h>

#include <git2.h>

#include "source/source.h"

#define MAX_DEPTH 64     /* as spec/source_dir.c */
#define MAX_LINK_HOPS 16 /* a chain of symlinks longer than this is refused */

struct source_repo {
	git_repository *repo;
	git_tree *tree; /* the commit's root tree */
	char *dir;
	char sha[GIT_OID_HEXSZ + 1];
	spec_source src;
	/* path -> blob id (git_oid) of every regular file the last listing
	 * met, both in `a`: a read or a blob id of a listed file is then one
	 * hash lookup instead of a walk down the tree from its root */
	strmap *listed;
	arena *a;
};

static const char *git_msg(void)
{
	const git_error *e = git_error_last();
	return e && e->message ? e->message : "unknown libgit2 error";
}

static void init_once(void)
{
	/* git_libgit2_init counts its calls; one for the process is enough,
	 * and never shutting down keeps every source_repo independent. */
	static int done;
	if (!done) {
		git_libgit2_init();
		/* libgit2 caches no tree over 4 KiB by default, so every read of
		 * a file in a large shard directory would inflate and parse that
		 * tree again: cache trees of any size (they are small next to
		 * the fleet itself). */
		git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE, (size_t)64 << 20);
		done = 1;
	}
}

static bool is_link(git_filemode_t m) { return m == GIT_FILEMODE_LINK; }
static bool is_blob(git_filemode_t m) { return m == GIT_FILEMODE_BLOB || m == GIT_FILEMODE_BLOB_EXECUTABLE; }

/* ------------------------------------------------------------ listing */

static int walk(source_repo *g, const git_tree *t, buf *path, unsigned depth,
		void (*emit)(void *, const char *), void *arg)
{
	if (depth > MAX_DEPTH)
		return 0;
	size_t n = git_tree_entrycount(t), base = path->len;
	for (size_t i = 0; i < n; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i);
		const char *name = git_tree_entry_name(e);
		git_filemode_t mode = git_tree_entry_filemode(e);
		if (name[0] == '.')
			continue;
		path->len = base;
		if ((base && buf_addc(path, '/') != 0) || buf_adds(path, name) != 0)
			return ERR_FAIL; /* path has no maximum: unreachable */
		if (mode == GIT_FILEMODE_TREE) {
			git_tree *sub = NULL;
			if (git_tree_lookup(&sub, g->repo, git_tree_entry_id(e)) != 0)
				return err_set(ERR_IO, "cannot read tree '%s': %s", path->data, git_msg());
			int rc = walk(g, sub, path, depth + 1, emit, arg);
			git_tree_free(sub);
			if (rc != 0)
				return rc;
		} else if (is_blob(mode) || is_link(mode)) {
			if (is_blob(mode)) {
				git_oid *id = arena_alloc(g->a, sizeof(*id));
				git_oid_cpy(id, git_tree_entry_id(e));
				strmap_put(g->listed, arena_strdup(g->a, path->data), id);
			}
			emit(arg, path->data);
		} /* GIT_FILEMODE_COMMIT: a submodule, not part of this repository */
	}
	path->len = base;
	if (path->data)
		path->data[base] = '\0';
	return 0;
}

static int src_list(void *ctx, void (*emit)(void *, const char *), void *arg)
{
	source_repo *g = ctx;
	buf path = BUF_INIT(0);
	strmap_free(g->listed);
	arena_free(g->a);
	g->listed = strmap_new();
	g->a = arena_new();
	int rc = walk(g, g->tree, &path, 0, emit, arg);
	buf_release(&path);
	return rc;
}

/* ------------------------------------------------------------ reading */

static const char OUTSIDE[] = "symlink points outside the repository; refused";

/*
 * Resolve the symlink `e` at `path` to the blob it names, relative to the
 * link's directory, normalising "." and ".." within the tree. Anything
 * that leaves the root, is absent, or is not a file is refused the way
 * spec/source_dir.c refuses it. *out is a blob entry of the tree.
 */
static int follow(source_repo *g, const char *path, git_tree_entry *e, git_tree_entry **out)
{
	*out = NULL;
	char *cur = xstrdup(path);
	git_tree_entry *ent = e;
	int rc = 0;
	for (int hop = 0; is_link(git_tree_entry_filemode(ent)); hop++) {
		git_blob *link = NULL;
		if (hop == MAX_LINK_HOPS) {
			rc = err_set(ERR_INVALID, "%s", OUTSIDE);
			goto done;
		}
		if (git_blob_lookup(&link, g->repo, git_tree_entry_id(ent)) != 0) {
			rc = err_set(ERR_IO, "cannot read symlink: %s", git_msg());
			goto done;
		}
		/* The link text, then the path built from it, segment by segment. */
		char *text = xstrndup(git_blob_rawcontent(link), (size_t)git_blob_rawsize(link));
		git_blob_free(link);
		size_t tlen = strlen(text);
		char *res = xmalloc(strlen(cur) + tlen + 2);
		size_t len = 0;
		char *slash = strrchr(cur, '/');
		if (slash) {
			len = (size_t)(slash - cur);
			memcpy(res, cur, len);
		}
		bool outside = text[0] == '/' || tlen == 0;
		for (char *s = text; !outside && *s;) {
			char *end = strchr(s, '/');
			size_t n = end ? (size_t)(end - s) : strlen(s);
			if (n == 0 || (n == 1 && s[0] == '.')) {
				/* "//" and "." name the same directory */
			} else if (n == 2 && s[0] == '.' && s[1] == '.') {
				if (len == 0)
					outside = true;
				else {
					while (len > 0 && res[len - 1] != '/')
						len--;
					if (len > 0)
						len--;
				}
			} else {
				if (len)
					res[len++] = '/';
				memcpy(res + len, s, n);
				len += n;
			}
			s += n;
			if (*s == '/')
				s++;
		}
		res[len] = '\0';
		free(text);
		free(cur);
		cur = res;
		if (outside || len == 0) {
			rc = err_set(ERR_INVALID, "%s", OUTSIDE);
			goto done;
		}
		if (ent != e)
			git_tree_entry_free(ent);
		ent = NULL;
		if (git_tree_entry_bypath(&ent, g->tree, cur) != 0) {
			ent = e; /* nothing to free below */
			rc = err_set(ERR_INVALID, "%s", OUTSIDE);
			goto done;
		}
	}
	if (!is_blob(git_tree_entry_filemode(ent))) {
		rc = err_set(ERR_INVALID, "%s", OUTSIDE);
		goto done;
	}
	if (ent == e && git_tree_entry_dup(&ent, e) != 0) {
		rc = err_set(ERR_IO, "cannot read: %s", git_msg()); /* not a link: never here */
		ent = e;
		goto done;
	}
	*out = ent;
	ent = e;
done:
	if (ent != e)
		git_tree_entry_free(ent);
	free(cur);
	return rc;
}

/* The blob entry that `path` reads: itself, or a symlink's target. The
 * caller frees *out. ERR_NOTFOUND when path is not a file of the tree. */
static int lookup(source_repo *g, const char *path, git_tree_entry **out)
{
	*out = NULL;
	git_tree_entry *e = NULL;
	if (git_tree_entry_bypath(&e, g->tree, path) != 0)
		return err_set(ERR_NOTFOUND, "'%s' is not in commit %.7s", path, g->sha);
	git_filemode_t mode = git_tree_entry_filemode(e);
	if (is_blob(mode)) {
		*out = e;
		return 0;
	}
	int rc;
	if (is_link(mode))
		rc = follow(g, path, e, out);
	else
		rc = err_set(ERR_NOTFOUND, "'%s' is not a file in commit %.7s", path, g->sha);
	git_tree_entry_free(e);
	return rc;
}

/* The blob that `path` reads: from the listing, or by a walk down the
 * tree (a symlink, or a path read before any listing). */
static int blob_of(source_repo *g, const char *path, git_oid *out)
{
	const git_oid *id = g->listed ? strmap_get(g->listed, path) : NULL;
	if (id) {
		git_oid_cpy(out, id);
		return 0;
	}
	git_tree_entry *e = NULL;
	int rc = lookup(g, path, &e);
	if (rc != 0)
		return rc;
	git_oid_cpy(out, git_tree_entry_id(e));
	git_tree_entry_free(e);
	return 0;
}

static int src_read(void *ctx, const char *path, buf *out)
{
	source_repo *g = ctx;
	git_blob *blob = NULL;
	git_oid id;
	int rc = blob_of(g, path, &id);
	if (rc != 0)
		return rc;
	/* The size is checked once the blob is read: asking the pack for its
	 * header first cost as much as a fifth of reading it (libgit2 holds a
	 * blob whole in memory either way). */
	if (git_blob_lookup(&blob, g->repo, &id) != 0)
		return err_set(ERR_IO, "cannot read: %s", git_msg());
	size_t size = (size_t)git_blob_rawsize(blob);
	if (out->max && (out->len > out->max || size > out->max - out->len))
		rc = err_set(ERR_TOOBIG, "file is %zu bytes, larger than the %zu-byte maximum", size, out->max);
	else
		rc = buf_add(out, git_blob_rawcontent(blob), size);
	if (rc == 0 && !out->data)
		rc = buf_add(out, "", 0); /* an empty file still reads as "" */
	git_blob_free(blob);
	return rc;
}

static int src_blob_id(void *ctx, const char *path, char out[SPEC_BLOB_ID_LEN + 1])
{
	source_repo *g = ctx;
	git_oid id;
	out[0] = '\0';
	int rc = blob_of(g, path, &id);
	if (rc == ERR_INVALID)
		rc = err_set(ERR_NOTFOUND, "%s", err_msg()); /* a refused link has no content */
	if (rc != 0)
		return rc;
	git_oid_tostr(out, SPEC_BLOB_ID_LEN + 1, &id);
	return 0;
}

/* ------------------------------------------------------------ opening */

/* Resolve rev to a commit; ERR_NOTFOUND names it. */
static int resolve(source_repo *g, const char *rev, git_commit **out)
{
	*out = NULL;
	git_object *obj = NULL, *peeled = NULL;
	if (git_revparse_single(&obj, g->repo, rev) != 0 ||
	    git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) != 0) {
		git_object_free(obj);
		return err_set(ERR_NOTFOUND, "ref '%s' not found in '%s'", rev, g->dir);
	}
	git_object_free(obj);
	*out = (git_commit *)peeled;
	return 0;
}

/* `s` as one word of a shell command line: quoted when it holds anything
 * but letters, digits and "_./-" (heap). */
static char *sh_word(const char *s)
{
	if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./-") == strlen(s))
		return xstrdup(s);
	buf b = BUF_INIT(0);
	int rc = buf_addc(&b, '\'');
	for (; rc == 0 && *s; s++)
		rc = *s == '\'' ? buf_adds(&b, "'\\''") : buf_addc(&b, *s);
	if (rc != 0 || buf_addc(&b, '\'') != 0)
		abort(); /* no maximum: cannot fail */
	return buf_detach(&b, NULL);
}

/* Why `dir` cannot be opened, and what makes it a repository: flotilla
 * reads a commit, so a directory of manifests needs one. A directory
 * inside a work tree is named with that tree's top instead, where
 * flotilla.yaml belongs (a repository made inside it would nest). */
static int not_a_repo_as(const char *dir, const char *w)
{
	struct stat sb;
	if (stat(dir, &sb) != 0)
		return err_set(ERR_IO, "'%s' does not exist", dir);
	if (!S_ISDIR(sb.st_mode))
		return err_set(ERR_IO, "'%s' is not a directory", dir);
	git_buf top = {0};
	git_repository *r = NULL;
	if (git_repository_discover(&top, dir, 0, NULL) == 0 && git_repository_open(&r, top.ptr) == 0 &&
	    git_repository_workdir(r)) {
		int rc = err_set(ERR_IO, "'%s' is not the top of a git repository: it is inside '%s', and flotilla "
					 "reads flotilla.yaml at a repository's root; pass --repo %s, or make '%s' a "
					 "repository of its own", dir, git_repository_workdir(r), git_repository_workdir(r), dir);
		git_repository_free(r);
		git_buf_dispose(&top);
		return rc;
	}
	git_repository_free(r);
	git_buf_dispose(&top);
	return err_set(ERR_IO, "'%s' is not a git repository, and flotilla reads the manifests from a commit; make it "
			       "one: git -C %s init && git -C %s add -A && git -C %s commit -m 'manifests' (flotilla "
			       "validate --dir %s checks the directory as it is)", dir, w, w, w, w);
}

static int not_a_repo(const char *dir)
{
	char *w = sh_word(dir);
	int rc = not_a_repo_as(dir, w);
	free(w);
	return rc;
}

int source_open(source_repo **out, const char *dir, const char *ref)
{
	*out = NULL;
	init_once();
	source_repo *g = xcalloc(1, sizeof(*g));
	git_commit *commit = NULL;
	int rc = 0;
	g->dir = xstrdup(dir);
	if (git_repository_open_ext(&g->repo, dir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) != 0) {
		rc = not_a_repo(dir);
		goto done;
	}
	if (!ref && git_repository_head_unborn(g->repo) == 1) {
		char *w = sh_word(dir);
		rc = err_set(ERR_NOTFOUND, "'%s' has no commit yet, and flotilla reads a commit; commit the manifests: "
					   "git -C %s add -A && git -C %s commit -m 'manifests'", dir, w, w);
		free(w);
		goto done;
	}
	rc = resolve(g, ref ? ref : "HEAD", &commit);
	if (rc != 0)
		goto done;
	if (git_commit_tree(&g->tree, commit) != 0) {
		rc = err_set(ERR_IO, "cannot read the tree of '%s': %s", ref ? ref : "HEAD", git_msg());
		goto done;
	}
	git_oid_tostr(g->sha, sizeof(g->sha), git_commit_id(commit));
	g->src.ctx = g;
	g->src.list = src_list;
	g->src.read = src_read;
	g->src.blob_id = src_blob_id;
	*out = g;
	g = NULL;
done:
	git_commit_free(commit);
	source_free(g);
	return rc;
}

void source_free(source_repo *g)
{
	if (!g)
		return;
	git_tree_free(g->tree);
	strmap_free(g->listed);
	arena_free(g->a);
	git_repository_free(g->repo);
	free(g->dir);
	free(g);
}

const char *source_commit(const source_repo *g) { return g->sha; }

const spec_source *source_spec(source_repo *g) { return &g->src; }

int source_resolve(source_repo *g, const char *rev, char out[41])
{
	out[0] = '\0';
	git_commit *c = NULL;
	int rc = resolve(g, rev, &c);
	if (rc != 0)
		return rc;
	git_oid_tostr(out, 41, git_commit_id(c));
	git_commit_free(c);
	return 0;
}

/* ------------------------------------------------------------ changes */

typedef struct changes {
	source_repo *g;
	int (*fn)(void *, const char *, char);
	void *arg;
	buf path;
} changes;

static bool is_file(git_filemode_t m) { return is_blob(m) || is_link(m); }

/* Append "/name" (or "name" at the root) to c->path; returns the old length. */
static size_t path_push(changes *c, const char *name)
{
	size_t base = c->path.len;
	if ((base && buf_addc(&c->path, '/') != 0) || buf_adds(&c->path, name) != 0)
		abort(); /* no maximum: cannot fail */
	return base;
}

static void path_pop(changes *c, size_t base)
{
	c->path.len = base;
	if (c->path.data)
		c->path.data[base] = '\0';
}

static int cmp_trees(changes *c, const git_tree *a, const git_tree *b, unsigned depth);

/* Report every file under entry e (a file or a tree) as `status`. */
static int report(changes *c, const git_tree_entry *e, char status, unsigned depth)
{
	git_filemode_t m = git_tree_entry_filemode(e);
	size_t base = path_push(c, git_tree_entry_name(e));
	int rc = 0;
	if (is_file(m)) {
		rc = c->fn(c->arg, c->path.data, status);
	} else if (m == GIT_FILEMODE_TREE && depth < MAX_DEPTH) {
		git_tree *t = NULL;
		if (git_tree_lookup(&t, c->g->repo, git_tree_entry_id(e)) != 0)
			rc = err_set(ERR_IO, "cannot read tree '%s': %s", c->path.data, git_msg());
		else
			rc = status == 'A' ? cmp_trees(c, NULL, t, depth + 1) : cmp_trees(c, t, NULL, depth + 1);
		git_tree_free(t);
	}
	path_pop(c, base);
	return rc;
}

/* One name present on both sides with different ids or kinds. */
static int cmp_entry(changes *c, const git_tree_entry *ea, const git_tree_entry *eb, unsigned depth)
{
	git_filemode_t ma = git_tree_entry_filemode(ea), mb = git_tree_entry_filemode(eb);
	if (ma == GIT_FILEMODE_TREE && mb == GIT_FILEMODE_TREE) {
		if (depth >= MAX_DEPTH)
			return 0;
		git_tree *ta = NULL, *tb = NULL;
		size_t base = path_push(c, git_tree_entry_name(ea));
		int rc = 0;
		if (git_tree_lookup(&ta, c->g->repo, git_tree_entry_id(ea)) != 0 ||
		    git_tree_lookup(&tb, c->g->repo, git_tree_entry_id(eb)) != 0)
			rc = err_set(ERR_IO, "cannot read tree '%s': %s", c->path.data, git_msg());
		else
			rc = cmp_trees(c, ta, tb, depth + 1);
		git_tree_free(ta);
		git_tree_free(tb);
		path_pop(c, base);
		return rc;
	}
	if (is_file(ma) && is_file(mb)) {
		size_t base = path_push(c, git_tree_entry_name(ea));
		int rc = c->fn(c->arg, c->path.data, 'M');
		path_pop(c, base);
		return rc;
	}
	/* A kind change (tree <-> file, submodule): what left, then what came. */
	int rc = report(c, ea, 'D', depth);
	return rc ? rc : report(c, eb, 'A', depth);
}

/*
 * Merge-walk two trees (either may be NULL: empty). Entries are sorted in
 * git's order, where a tree "x" sorts as "x/"; git_tree_entry_cmp compares
 * the same way, which keeps both sides in step. A file and a tree of the
 * same name therefore never meet: one is deleted, the other added.
 */
static int cmp_trees(changes *c, const git_tree *a, const git_tree *b, unsigned depth)
{
	size_t na = a ? git_tree_entrycount(a) : 0, nb = b ? git_tree_entrycount(b) : 0;
	size_t i = 0, j = 0;
	int rc = 0;
	while (rc == 0 && (i < na || j < nb)) {
		const git_tree_entry *ea = i < na ? git_tree_entry_byindex(a, i) : NULL;
		const git_tree_entry *eb = j < nb ? git_tree_entry_byindex(b, j) : NULL;
		int order = !ea ? 1 : !eb ? -1 : git_tree_entry_cmp(ea, eb);
		const git_tree_entry *first = order <= 0 ? ea : eb;
		if (git_tree_entry_name(first)[0] == '.') {
			/* dot-named: never listed, so never changed */
			i += order <= 0;
			j += order >= 0;
			continue;
		}
		if (order < 0) {
			rc = report(c, ea, 'D', depth);
			i++;
		} else if (order > 0) {
			rc = report(c, eb, 'A', depth);
			j++;
		} else {
			/* Same name: an equal id (and kind) means an equal subtree,
			 * skipped without reading it. */
			if (git_tree_entry_filemode(ea) != git_tree_entry_filemode(eb) ||
			    !git_oid_equal(git_tree_entry_id(ea), git_tree_entry_id(eb)))
				rc = cmp_entry(c, ea, eb, depth);
			i++;
			j++;
		}
	}
	return rc;
}

int source_changed(source_repo *g, const char *since, int (*fn)(void *arg, const char *path, char status),
		    void *arg)
{
	git_commit *old = NULL;
	git_tree *old_tree = NULL;
	int rc = resolve(g, since, &old);
	if (rc != 0)
		return rc;
	if (git_commit_tree(&old_tree, old) != 0) {
		rc = err_set(ERR_IO, "cannot read the tree of '%s': %s", since, git_msg());
		goto done;
	}
	changes c = {g, fn, arg, BUF_INIT(0)};
	rc = cmp_trees(&c, old_tree, g->tree, 0);
	buf_release(&c.path);
	if (rc > 0)
		rc = 0; /* fn stopped the walk; a negative return is passed up as an error */
done:
	git_tree_free(old_tree);
	git_commit_free(old);
	return rc;
}

/* ------------------------------------------------------ a path's git status */

int source_path_where(const char *path, char repo[PATH_MAX], bool *tracked, bool *ignored)
{
	init_once();
	repo[0] = '\0';
	*tracked = *ignored = false;
	char abs[PATH_MAX];
	if (!realpath(path, abs))
		return ERR_NOTFOUND;
	char dir[PATH_MAX];
	str_copy(dir, abs, sizeof(dir));
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	git_buf found = {0};
	if (git_repository_discover(&found, dir, 0, NULL) != 0)
		return ERR_NOTFOUND;
	git_repository *r = NULL;
	int rc = git_repository_open(&r, found.ptr) == 0 ? 0 : ERR_NOTFOUND;
	git_buf_dispose(&found);
	const char *wd = rc == 0 ? git_repository_workdir(r) : NULL;
	size_t wl = wd ? strlen(wd) : 0;
	if (!wd || strncmp(abs, wd, wl) != 0) {
		git_repository_free(r);
		return ERR_NOTFOUND; /* a bare repository, or not below its work tree */
	}
	str_copy(repo, wd, PATH_MAX);
	if (wl > 1 && repo[wl - 1] == '/')
		repo[wl - 1] = '\0';
	const char *rel = abs + wl;
	git_index *ix = NULL;
	if (git_repository_index(&ix, r) == 0) {
		*tracked = git_index_get_bypath(ix, rel, 0) != NULL;
		git_index_free(ix);
	}
	int ign = 0;
	if (git_ignore_path_is_ignored(&ign, r, rel) == 0)
		*ignored = ign != 0;
	git_repository_free(r);
	return 0;
}

/* ------------------------------------------------- uncommitted changes */

typedef struct uncommitted {
	int (*fn)(void *, const char *, char);
	void *arg;
} uncommitted;

static int on_status(const char *path, unsigned int flags, void *arg)
{
	uncommitted *u = arg;
	char what = 0;
	if (flags & GIT_STATUS_WT_NEW)
		what = '?';
	else if (flags & GIT_STATUS_WT_DELETED)
		what = 'D';
	else if (flags & (GIT_STATUS_WT_MODIFIED | GIT_STATUS_WT_TYPECHANGE | GIT_STATUS_WT_RENAMED))
		what = 'M';
	else if (flags & (GIT_STATUS_INDEX_NEW | GIT_STATUS_INDEX_MODIFIED | GIT_STATUS_INDEX_DELETED |
			  GIT_STATUS_INDEX_RENAMED | GIT_STATUS_INDEX_TYPECHANGE))
		what = 'S';
	return what ? u->fn(u->arg, path, what) : 0;
}

int source_uncommitted(source_repo *g, const char *const *paths, size_t n,
		       int (*fn)(void *arg, const char *path, char what), void *arg)
{
	if (git_repository_is_bare(g->repo))
		return 0; /* no work tree: nothing uncommitted (the daemon's cache) */
	git_status_options opt;
	git_status_options_init(&opt, GIT_STATUS_OPTIONS_VERSION);
	opt.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
	/* literal paths: libgit2 then walks only those files and directories,
	 * not the whole work tree; no rename detection, no submodules */
	opt.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
		    GIT_STATUS_OPT_EXCLUDE_SUBMODULES | GIT_STATUS_OPT_DISABLE_PATHSPEC_MATCH;
	bool everywhere = n == 0;
	for (size_t i = 0; i < n; i++)
		everywhere = everywhere || paths[i][0] == '\0';
	if (!everywhere) {
		opt.pathspec.strings = (char **)paths;
		opt.pathspec.count = n;
	}
	uncommitted u = {fn, arg};
	int rc = git_status_foreach_ext(g->repo, &opt, on_status, &u);
	if (rc < 0 && rc != GIT_EUSER)
		return err_set(ERR_IO, "cannot read the status of the work tree '%s': %s", g->dir, git_msg());
	return rc == GIT_EUSER ? 0 : rc;
}
