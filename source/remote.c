/*
 * remote.c: the git remote. The daemon plans from a remote repository, so
 * this mirrors it into a bare cache with libgit2 and names the commit to
 * plan; git.c then reads that commit from the cache like any other
 * repository. The cache follows the remote exactly: branches are fetched
 * with a forcing refspec and pruned, so a rewritten history is followed,
 * and tags are never fetched. libgit2 writes the pack first and moves the
 * refs only once it is complete, so a fetch that fails midway leaves the
 * cache as it was. Credentials come only from FLOTILLA_GIT_TOKEN and are
 * kept out of every message: urls are shown without their user part, and
 * a libgit2 message that contains a secret is withheld.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <git2.h>

#include "source/source.h"

#define TOKEN_ENV "FLOTILLA_GIT_TOKEN"
#define TOKEN_USER "x-access-token"
#define FETCH_SPEC "+refs/heads/*:refs/remotes/origin/*"
#define MAX_CRED_TRIES 1 /* a token the server refused is not offered again */

typedef struct sync_ctx {
	const char *url;
	char *shown;       /* url without its user part: what messages name */
	const char *token; /* from the environment, or NULL */
	int cred_tries;
} sync_ctx;

static void init_once_fn(void)
{
	/* Counted by libgit2: this call and git.c's each hold one reference
	 * for the life of the process. */
	git_libgit2_init();
}

static void init_once(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, init_once_fn);
}

/* libgit2's last message, unless it contains the token or the url's user
 * part (a password may be there): then a fixed text instead. */
static const char *git_msg(const sync_ctx *c)
{
	const git_error *e = git_error_last();
	const char *m = e && e->message ? e->message : "unknown libgit2 error";
	if (c->token && *c->token && strstr(m, c->token))
		return "(libgit2 message withheld: it contained the token)";
	const char *s = strstr(c->url, "://");
	const char *at = s ? strchr(s + 3, '@') : NULL;
	const char *slash = s ? strchr(s + 3, '/') : NULL;
	if (at && (!slash || at < slash) && at > s + 3) {
		char *user = xstrndup(s + 3, (size_t)(at - (s + 3)));
		bool leak = strstr(m, user) != NULL;
		free(user);
		if (leak)
			return "(libgit2 message withheld: it contained the url's credentials)";
	}
	return m;
}

/* ------------------------------------------------------------ the url */

static bool has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

/* The url with any "user[:password]@" after the scheme replaced by "***@". */
static char *url_shown(const char *url)
{
	const char *s = strstr(url, "://");
	if (!s)
		return xstrdup(url);
	const char *host = s + 3;
	const char *slash = strchr(host, '/');
	const char *at = strchr(host, '@');
	if (!at || (slash && at > slash))
		return xstrdup(url);
	return xasprintf("%.*s***%s", (int)(host - url), url, at);
}

/* Accept a local path, file:// or https://; refuse ssh (both forms) and any
 * other scheme with a message that says what is accepted. */
static int check_url(const char *url, const char *shown)
{
	static const char ACCEPTED[] = "use a local path, file://… or https://… (token in " TOKEN_ENV ")";
	if (!url || !*url)
		return err_set(ERR_INVALID, "git remote url is empty; %s", ACCEPTED);
	if (has_prefix(url, "ssh://") || has_prefix(url, "git+ssh://") || has_prefix(url, "ssh+git://"))
		return err_set(ERR_INVALID, "git remote '%s': ssh is not supported; %s", shown, ACCEPTED);
	const char *scheme_end = strstr(url, "://");
	if (scheme_end) {
		if (has_prefix(url, "https://") || has_prefix(url, "file://"))
			return scheme_end[3] == '\0' ? err_set(ERR_INVALID, "git remote '%s' has no host or path", shown)
						      : 0;
		return err_set(ERR_INVALID, "git remote '%s': scheme '%.*s' is not supported; %s", shown,
			       (int)(scheme_end - url), url, ACCEPTED);
	}
	/* "user@host:path" is git's scp-like ssh syntax: a colon before any
	 * slash in something that is not an absolute or ./ path. */
	const char *colon = strchr(url, ':'), *slash = strchr(url, '/');
	if (url[0] != '/' && url[0] != '.' && colon && (!slash || colon < slash))
		return err_set(ERR_INVALID, "git remote '%s': ssh is not supported; %s", shown, ACCEPTED);
	return 0;
}

/* "main" or "refs/heads/main" to "refs/heads/main"; "HEAD" (or NULL) to
 * NULL, meaning the remote's default branch. */
static int branch_ref(const char *ref, char **out)
{
	*out = NULL;
	if (!ref || strcmp(ref, "HEAD") == 0)
		return 0;
	char *full = has_prefix(ref, "refs/heads/") ? xstrdup(ref) : xasprintf("refs/heads/%s", ref);
	int valid = 0;
	if (git_reference_name_is_valid(&valid, full) != 0 || !valid) {
		free(full);
		return err_set(ERR_INVALID, "'%s' is not a valid branch name", ref);
	}
	*out = full;
	return 0;
}

/* ------------------------------------------------------------ the cache */

/* mkdir -p with 0700 for every directory made. */
static int make_dirs(const char *dir)
{
	char *p = xstrdup(dir);
	int rc = 0;
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			rc = err_set(ERR_IO, "cannot create git cache '%s': %s", p, strerror(errno));
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	if (rc == 0) {
		struct stat st;
		if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
			rc = err_set(ERR_IO, "git cache '%s' is not a directory", dir);
	}
	return rc;
}

static bool dir_is_empty(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return false;
	struct dirent *e;
	bool empty = true;
	while (empty && (e = readdir(d)) != NULL)
		empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(d);
	return empty;
}

/*
 * Open the bare cache at dir, making it (and its "origin") when dir is new
 * or empty. A directory holding anything else, a non-bare repository, or a
 * cache of another url is refused: reusing it would plan from the wrong
 * fleet.
 */
static int open_cache(sync_ctx *c, const char *dir, git_repository **repo, git_remote **remote)
{
	*repo = NULL;
	*remote = NULL;
	git_repository *r = NULL;
	git_remote *o = NULL;
	git_config *cfg = NULL;
	git_buf have = {0};
	int rc = make_dirs(dir);
	if (rc != 0)
		return rc;
	int gerr = git_repository_open_ext(&r, dir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (gerr == GIT_ENOTFOUND && dir_is_empty(dir)) {
		if (git_repository_init(&r, dir, 1) != 0) {
			rc = err_set(ERR_IO, "cannot create git cache '%s': %s", dir, git_msg(c));
			goto done;
		}
	} else if (gerr != 0) {
		rc = err_set(ERR_INVALID, "git cache '%s' is not empty and not a git repository", dir);
		goto done;
	}
	if (!git_repository_is_bare(r)) {
		rc = err_set(ERR_INVALID, "git cache '%s' is a repository with a working tree, not a bare cache", dir);
		goto done;
	}
	/* "origin" is recorded in the cache's config as git would write it, and
	 * read back with plain lookups: git_remote_lookup and git_remote_create
	 * scan the config for url.*.insteadOf with a regex, and libgit2 1.5
	 * leaks pcre2 match data on every entry that does not match, a leak a
	 * daemon fetching every minute cannot afford. */
	if (git_repository_config(&cfg, r) != 0) {
		rc = err_set(ERR_IO, "cannot read the config of git cache '%s': %s", dir, git_msg(c));
		goto done;
	}
	gerr = git_config_get_string_buf(&have, cfg, "remote.origin.url");
	if (gerr == GIT_ENOTFOUND) {
		if (git_config_set_string(cfg, "remote.origin.url", c->url) != 0 ||
		    git_config_set_string(cfg, "remote.origin.fetch", FETCH_SPEC) != 0 ||
		    git_config_set_string(cfg, "remote.origin.tagOpt", "--no-tags") != 0) {
			rc = err_set(ERR_IO, "cannot set up git cache '%s': %s", dir, git_msg(c));
			goto done;
		}
	} else if (gerr != 0) {
		rc = err_set(ERR_IO, "cannot read the origin of git cache '%s': %s", dir, git_msg(c));
		goto done;
	} else if (strcmp(have.ptr, c->url) != 0) {
		char *theirs = url_shown(have.ptr);
		rc = err_set(ERR_INVALID, "git cache '%s' mirrors '%s', not '%s'; use another cache directory",
			     dir, theirs, c->shown);
		free(theirs);
		goto done;
	}
	/* The remote fetched through is an in-memory one with origin's url and
	 * refspec, taken as given (no insteadOf rewriting either). */
	git_remote_create_options ro = {.version = GIT_REMOTE_CREATE_OPTIONS_VERSION, .repository = r,
					.fetchspec = FETCH_SPEC, .flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF};
	if (git_remote_create_with_opts(&o, c->url, &ro) != 0) {
		rc = err_set(ERR_INVALID, "git remote '%s': %s", c->shown, git_msg(c));
		goto done;
	}
	*repo = r;
	*remote = o;
	r = NULL;
	o = NULL;
done:
	git_buf_dispose(&have);
	git_config_free(cfg);
	git_remote_free(o);
	git_repository_free(r);
	return rc;
}

/* ------------------------------------------------------------ fetching */

static int credentials(git_credential **out, const char *url, const char *user_from_url,
		       unsigned int allowed, void *payload)
{
	(void)url;
	(void)user_from_url;
	sync_ctx *c = payload;
	*out = NULL;
	if (!c->token || !*c->token) {
		git_error_set_str(GIT_ERROR_NET, "authentication required; set " TOKEN_ENV);
		return GIT_EAUTH;
	}
	if (!(allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT)) {
		git_error_set_str(GIT_ERROR_NET, "the server asks for credentials other than a token");
		return GIT_EAUTH;
	}
	if (c->cred_tries++ >= MAX_CRED_TRIES) {
		git_error_set_str(GIT_ERROR_NET, "the server refused the token in " TOKEN_ENV);
		return GIT_EAUTH;
	}
	return git_credential_userpass_plaintext_new(out, TOKEN_USER, c->token);
}

/* The advertised id of `name` in the remote's ref list. */
static const git_remote_head *advertised(const git_remote_head **heads, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(heads[i]->name, name) == 0)
			return heads[i];
	return NULL;
}

/*
 * Which branch the remote advertises for `branch` (NULL: its default
 * branch: where its HEAD points, else main, else master), with its id.
 * *name is heap. ERR_NOTFOUND when there is no such branch.
 */
static int pick_branch(sync_ctx *c, git_remote *remote, const char *branch, char **name, git_oid *id)
{
	*name = NULL;
	const git_remote_head **heads = NULL;
	size_t n = 0;
	if (git_remote_ls(&heads, &n, remote) != 0)
		return err_set(ERR_IO, "cannot list the refs of '%s': %s", c->shown, git_msg(c));
	const git_remote_head *h = NULL;
	if (branch) {
		h = advertised(heads, n, branch);
		if (!h)
			return err_set(ERR_NOTFOUND, "branch '%s' not found on '%s'", branch + strlen("refs/heads/"),
				       c->shown);
	} else {
		git_buf def = {0};
		if (git_remote_default_branch(&def, remote) == 0)
			h = advertised(heads, n, def.ptr);
		git_buf_dispose(&def);
		if (!h)
			h = advertised(heads, n, "refs/heads/main");
		if (!h)
			h = advertised(heads, n, "refs/heads/master");
		if (!h)
			return err_set(ERR_NOTFOUND,
				       "'%s' has no default branch (its HEAD names none, and there is no 'main' or 'master')",
				       c->shown);
	}
	*name = xstrdup(h->name);
	git_oid_cpy(id, &h->oid);
	return 0;
}

int source_remote_sync(const char *url, const char *cache_dir, const char *ref, char sha[41],
		    source_sync_stats *stats)
{
	sha[0] = '\0';
	int64_t t0 = mono_ms();
	if (stats)
		*stats = (source_sync_stats){.fetches = 1};
	init_once();
	sync_ctx c = {.url = url, .shown = url_shown(url ? url : ""), .token = getenv(TOKEN_ENV)};
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	git_commit *commit = NULL;
	char *branch = NULL, *picked = NULL;
	git_oid id;
	int rc = check_url(url, c.shown);
	if (rc == 0 && (!cache_dir || !*cache_dir))
		rc = err_set(ERR_INVALID, "no git cache directory given");
	if (rc == 0)
		rc = branch_ref(ref, &branch);
	if (rc == 0)
		rc = open_cache(&c, cache_dir, &repo, &remote);
	if (rc != 0)
		goto done;

	/* The _init functions, not the _INIT macros, whose partial initialisers
	 * trip -Wmissing-field-initializers. */
	git_remote_callbacks cbs;
	git_remote_init_callbacks(&cbs, GIT_REMOTE_CALLBACKS_VERSION);
	cbs.credentials = credentials;
	cbs.payload = &c;
	/* A redirect to another host must not carry the token there. */
	git_remote_connect_options copts;
	git_remote_connect_options_init(&copts, GIT_REMOTE_CONNECT_OPTIONS_VERSION);
	copts.callbacks = cbs;
	copts.follow_redirects = GIT_REMOTE_REDIRECT_NONE;
	if (git_remote_connect_ext(remote, GIT_DIRECTION_FETCH, &copts) != 0) {
		/* libgit2 takes a plain path that does not exist for an unknown
		 * url scheme; say what is wrong instead. */
		struct stat st;
		if (!strstr(url, "://") && stat(url, &st) != 0)
			rc = err_set(ERR_IO, "cannot reach git remote '%s': %s", c.shown, strerror(errno));
		else
			rc = err_set(ERR_IO, "cannot reach git remote '%s': %s", c.shown, git_msg(&c));
		goto done;
	}
	/* The branch and its id as advertised on this connection: the fetch
	 * below downloads exactly that, so a push racing it cannot make the
	 * answer differ from what was fetched. */
	rc = pick_branch(&c, remote, branch, &picked, &id);
	if (rc != 0)
		goto done;

	git_fetch_options fopts;
	git_fetch_options_init(&fopts, GIT_FETCH_OPTIONS_VERSION);
	fopts.callbacks = cbs;
	fopts.prune = GIT_FETCH_PRUNE;
	fopts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	fopts.update_fetchhead = 0;
	fopts.follow_redirects = GIT_REMOTE_REDIRECT_NONE;
	int gerr = git_remote_fetch(remote, NULL, &fopts, "flotilla: fetch");
	if (stats) {
		const git_indexer_progress *p = git_remote_stats(remote);
		stats->received_bytes = (int64_t)p->received_bytes;
		stats->received_objects = (int64_t)p->received_objects;
	}
	if (gerr != 0) {
		rc = err_set(ERR_IO, "cannot fetch from git remote '%s': %s", c.shown, git_msg(&c));
		goto done;
	}
	if (git_commit_lookup(&commit, repo, &id) != 0) {
		rc = err_set(ERR_IO, "'%s' of '%s' is not a commit in the cache after fetching: %s", picked,
			     c.shown, git_msg(&c));
		goto done;
	}
	git_oid_tostr(sha, 41, &id);
done:
	if (stats)
		stats->ms = mono_ms() - t0;
	git_commit_free(commit);
	git_remote_free(remote);
	git_repository_free(repo);
	free(picked);
	free(branch);
	free(c.shown);
	return rc;
}
