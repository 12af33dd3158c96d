/*
 * planfile.c: `flotilla plan --out FILE` and `flotilla apply FILE`.
 *
 * A plan file is the JSON document of plan_render_json plus "sha256", the
 * hash of the rest of the document in canonical form (sorted keys,
 * compact). Apply executes exactly the calls a person reviewed, so a file
 * changed after it was written (by hand, a bad merge, a truncated copy) is
 * refused as a whole rather than half-trusted. The hash is integrity
 * against accidents, not a signature: whoever can write the file can
 * recompute it.
 *
 * Writing is atomic (FILE.tmp, fsync, rename) so a crash never leaves a
 * half plan under the real name, and the file is 0600 like everything
 * flotilla writes. Reading is bounded (PLANFILE_MAX) and rebuilds the plan
 * struct; noop actions are not in the file, only their count.
 */
#include "diff/diff.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A plan of 100,000 tenants with a dozen calls each stays well below. */
#define PLANFILE_MAX ((size_t)256 << 20)

static const char *const kind_names[] = {
	[PLAN_CREATE] = "create", [PLAN_UPDATE] = "update", [PLAN_DELETE] = "delete",
	[PLAN_BLOCKED] = "blocked", [PLAN_ORPHAN] = "orphan", [PLAN_NOOP] = "noop", [PLAN_ADOPT] = "adopt",
};

/* The canonical hash of doc without its "sha256" member. */
static int doc_hash(json_t *doc, char hex[SHA256_HEX_LEN + 1])
{
	/* json_deep_copy: the caller's doc keeps its member */
	json_t *copy = json_deep_copy(doc);
	json_object_del(copy, "sha256");
	char *canon = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(copy);
	if (!canon)
		return err_set(ERR_INVALID, "plan cannot be written as canonical JSON");
	sha256_hex(canon, strlen(canon), hex);
	free(canon);
	return 0;
}

static int write_all(int fd, const char *data, size_t n, const char *path)
{
	while (n > 0) {
		ssize_t w = write(fd, data, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return err_set(ERR_IO, "cannot write plan file '%s': %s", path, strerror(errno));
		data += w;
		n -= (size_t)w;
	}
	return 0;
}

int plan_file_write(const plan *p, const char *path)
{
	buf b = BUF_INIT(0);
	json_t *doc = NULL;
	char *text = NULL, *tmp = NULL, *dircopy = NULL;
	int fd = -1, rc;
	char hex[SHA256_HEX_LEN + 1];

	if ((rc = plan_render_json(p, &b)))
		goto done;
	json_error_t jerr;
	doc = json_loadb(b.data, b.len, 0, &jerr);
	if (!doc) {
		rc = err_set(ERR_FAIL, "plan JSON does not parse back: %s", jerr.text);
		goto done;
	}
	if ((rc = doc_hash(doc, hex)))
		goto done;
	json_object_set_new(doc, "sha256", json_string(hex));
	text = json_dumps(doc, JSON_INDENT(2));
	if (!text) {
		rc = err_set(ERR_FAIL, "plan file '%s' cannot be serialised", path);
		goto done;
	}

	tmp = xasprintf("%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = err_set(ERR_IO, "cannot create plan file '%s': %s", tmp, strerror(errno));
		goto done;
	}
	/* a stale FILE.tmp left with another mode keeps it through O_TRUNC */
	if (fchmod(fd, 0600) < 0) {
		rc = err_set(ERR_IO, "cannot chmod plan file '%s': %s", tmp, strerror(errno));
		goto done;
	}
	if ((rc = write_all(fd, text, strlen(text), tmp)) || (rc = write_all(fd, "\n", 1, tmp)))
		goto done;
	if (fsync(fd) < 0) {
		rc = err_set(ERR_IO, "cannot sync plan file '%s': %s", tmp, strerror(errno));
		goto done;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = err_set(ERR_IO, "cannot close plan file '%s': %s", tmp, strerror(errno));
		goto done;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = err_set(ERR_IO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
		goto done;
	}
	/* the rename itself is durable once the directory is synced; a
	 * failure here loses nothing that was promised, so it is ignored */
	dircopy = xstrdup(path);
	int dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	if (rc && tmp)
		unlink(tmp);
	free(tmp);
	free(dircopy);
	free(text);
	json_decref(doc);
	buf_release(&b);
	return rc;
}

/* ------------------------------------------------------------------ read */

typedef struct reader {
	const char *path;
	char where[96]; /* "actions[3].calls[1]" */
} reader;

static int bad(const reader *r, const char *field, const char *what)
{
	return err_set(ERR_INVALID, "plan file '%s': %s%s%s %s", r->path, r->where,
		       r->where[0] && field[0] ? "." : "", field, what);
}

/* A required string member (nullable: null gives NULL). */
static int get_str(const reader *r, const json_t *o, const char *key, bool nullable, char **out)
{
	const json_t *v = json_object_get(o, key);
	if (nullable && json_is_null(v)) {
		*out = NULL;
		return 0;
	}
	if (!json_is_string(v))
		return bad(r, key, nullable ? "must be a string or null" : "must be a string");
	*out = xstrdup(json_string_value(v));
	return 0;
}

static int get_bool(const reader *r, const json_t *o, const char *key, bool *out)
{
	const json_t *v = json_object_get(o, key);
	if (!json_is_boolean(v))
		return bad(r, key, "must be true or false");
	*out = json_is_true(v);
	return 0;
}

static int get_count(const reader *r, const json_t *o, const char *key, int64_t *out)
{
	const json_t *v = json_object_get(o, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return bad(r, key, "must be a count (an integer >= 0)");
	*out = (int64_t)json_integer_value(v);
	return 0;
}

/* "2026-11-26T03:42:00Z" -> unix seconds */
static int get_time(const reader *r, const json_t *o, const char *key, bool nullable, int64_t *out)
{
	const json_t *v = json_object_get(o, key);
	*out = 0;
	if (nullable && json_is_null(v))
		return 0;
	const char *s = json_string_value(v);
	int y, mo, d, h, mi, sec, n = 0;
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
	    (size_t)n != strlen(s))
		return bad(r, key, "must be an RFC 3339 UTC time like \"2026-11-26T03:42:00Z\"");
	*out = unit_utc_seconds(y, mo, d, h, mi, sec);
	return 0;
}

static int read_change(reader *r, const json_t *cj, plan_change *c)
{
	int rc;
	if (!json_is_object(cj))
		return bad(r, "", "must be an object");
	if ((rc = get_str(r, cj, "path", false, &c->path)) ||
	    (rc = get_str(r, cj, "from", true, &c->from)) ||
	    (rc = get_str(r, cj, "to", true, &c->to)))
		return rc;
	return 0;
}

static int read_call(reader *r, const json_t *cj, plan_call *c)
{
	int rc;
	if (!json_is_object(cj))
		return bad(r, "", "must be an object");
	if ((rc = get_str(r, cj, "method", false, &c->method)) ||
	    (rc = get_str(r, cj, "path", false, &c->path)) ||
	    (rc = get_bool(r, cj, "destructive", &c->destructive)) ||
	    (rc = get_bool(r, cj, "after_create", &c->after_create)))
		return rc;
	const json_t *body = json_object_get(cj, "body");
	if (!body)
		return bad(r, "body", "is missing (null for none)");
	/* json_deep_copy: the call owns its body, independent of the document */
	c->body = json_is_null(body) ? NULL : json_deep_copy(body);
	return 0;
}

static int read_action(reader *r, size_t idx, const json_t *aj, plan_action *a)
{
	int rc;
	char *kind = NULL;
	snprintf(r->where, sizeof(r->where), "actions[%zu]", idx);
	if (!json_is_object(aj))
		return bad(r, "", "must be an object");
	if ((rc = get_str(r, aj, "tenant", false, &a->tenant)) ||
	    (rc = get_str(r, aj, "kind", false, &kind)))
		return rc;
	size_t k = 0;
	while (k < ARRAY_LEN(kind_names) && strcmp(kind_names[k], kind))
		k++;
	free(kind);
	/* noops are never written, so one in a file is not flotilla's doing */
	if (k == ARRAY_LEN(kind_names) || k == PLAN_NOOP)
		return bad(r, "kind", "must be create, adopt, update, delete, blocked or orphan");
	a->kind = (plan_kind)k;
	char *fp = NULL;
	if ((rc = get_str(r, aj, "project_id", true, &a->project_id)) ||
	    (rc = get_str(r, aj, "reason", true, &a->reason)) ||
	    /* added in version 1's life: a file written before it has none */
	    (json_object_get(aj, "hint") && (rc = get_str(r, aj, "hint", true, &a->hint))) ||
	    (rc = get_bool(r, aj, "deep_unknown", &a->deep_unknown)) ||
	    (rc = get_str(r, aj, "fingerprint", false, &fp)))
		return rc;
	size_t fl = strlen(fp);
	bool hex = fl == 0 || fl == SHA256_HEX_LEN;
	for (size_t i = 0; hex && i < fl; i++)
		hex = (fp[i] >= '0' && fp[i] <= '9') || (fp[i] >= 'a' && fp[i] <= 'f');
	if (hex)
		memcpy(a->fingerprint, fp, fl + 1);
	free(fp);
	if (!hex)
		return bad(r, "fingerprint", "must be \"\" or 64 lowercase hex digits");

	const json_t *changes = json_object_get(aj, "changes");
	const json_t *calls = json_object_get(aj, "calls");
	if (!json_is_array(changes))
		return bad(r, "changes", "must be an array");
	if (!json_is_array(calls))
		return bad(r, "calls", "must be an array");
	a->changes = xcalloc(json_array_size(changes) + 1, sizeof(*a->changes));
	for (size_t i = 0; i < json_array_size(changes); i++) {
		snprintf(r->where, sizeof(r->where), "actions[%zu].changes[%zu]", idx, i);
		a->nchanges++; /* counted first: the free helper frees partial ones */
		if ((rc = read_change(r, json_array_get(changes, i), &a->changes[i])))
			return rc;
	}
	a->calls = xcalloc(json_array_size(calls) + 1, sizeof(*a->calls));
	for (size_t i = 0; i < json_array_size(calls); i++) {
		snprintf(r->where, sizeof(r->where), "actions[%zu].calls[%zu]", idx, i);
		a->ncalls++;
		if ((rc = read_call(r, json_array_get(calls, i), &a->calls[i])))
			return rc;
	}
	return 0;
}

static int read_doc(reader *r, const json_t *doc, plan *p)
{
	int rc;
	int64_t n[9];
	static const char *const counts[] = {"create",    "update",    "delete",            "blocked",
					     "orphaned",  "unchanged", "api_calls", "not_compared_deep", "adopt"};
	if ((rc = get_str(r, doc, "commit", false, &p->commit)) ||
	    (rc = get_str(r, doc, "fleet", false, &p->fleet)) ||
	    (rc = get_str(r, doc, "org_id", true, &p->org_id)) ||
	    (rc = get_bool(r, doc, "selected", &p->selected)) ||
	    (rc = get_str(r, doc, "changed_since", true, &p->changed_since)) ||
	    (rc = get_time(r, doc, "created_at", false, &p->created_at)) ||
	    (rc = get_time(r, doc, "cache_refreshed_at", true, &p->cache_refreshed_at)))
		return rc;
	if (!json_object_get(doc, "state_generation"))
		return bad(r, "state_generation", "is missing: the file was made by an older flotilla; plan again");
	if ((rc = get_count(r, doc, "state_generation", &p->state_generation)))
		return rc;
	const json_t *summary = json_object_get(doc, "summary");
	const json_t *stats = json_object_get(doc, "stats");
	const json_t *actions = json_object_get(doc, "actions");
	if (!json_is_object(summary))
		return bad(r, "summary", "must be an object");
	if (!json_is_object(stats))
		return bad(r, "stats", "must be an object");
	if (!json_is_array(actions))
		return bad(r, "actions", "must be an array");
	snprintf(r->where, sizeof(r->where), "summary");
	for (size_t i = 0; i < ARRAY_LEN(counts); i++)
		if ((rc = get_count(r, summary, counts[i], &n[i])))
			return rc;
	p->ncreate = (size_t)n[0];
	p->nupdate = (size_t)n[1];
	p->ndelete = (size_t)n[2];
	p->nblocked = (size_t)n[3];
	p->norphan = (size_t)n[4];
	p->nnoop = (size_t)n[5];
	p->ncalls = (size_t)n[6];
	p->ndeep_unknown = (size_t)n[7];
	p->nadopt = (size_t)n[8];
	snprintf(r->where, sizeof(r->where), "stats");
	if ((rc = get_count(r, stats, "blobs_parsed", &p->blobs_parsed)) ||
	    (rc = get_count(r, stats, "blobs_cached", &p->blobs_cached)))
		return rc;
	p->actions = xcalloc(json_array_size(actions) + 1, sizeof(*p->actions));
	for (size_t i = 0; i < json_array_size(actions); i++) {
		p->nactions++;
		if ((rc = read_action(r, i, json_array_get(actions, i), &p->actions[i])))
			return rc;
	}
	const json_t *um = json_object_get(doc, "unmanaged_branches");
	r->where[0] = '\0';
	if (!json_is_array(um))
		return bad(r, "unmanaged_branches", "must be an array");
	p->unmanaged = xcalloc(json_array_size(um) + 1, sizeof(*p->unmanaged));
	for (size_t i = 0; i < json_array_size(um); i++) {
		const json_t *u = json_array_get(um, i);
		plan_unmanaged *pu = &p->unmanaged[p->nunmanaged++];
		snprintf(r->where, sizeof(r->where), "unmanaged_branches[%zu]", i);
		if ((rc = get_str(r, u, "tenant", false, &pu->tenant)) ||
		    (rc = get_str(r, u, "project_id", true, &pu->project_id)) ||
		    (rc = get_str(r, u, "branch", false, &pu->branch)))
			return rc;
	}
	return 0;
}

int plan_file_read(plan **out, const char *path)
{
	buf b = BUF_INIT(PLANFILE_MAX);
	json_t *doc = NULL;
	plan *p = NULL;
	int rc;
	reader r = {.path = path, .where = ""};
	char hex[SHA256_HEX_LEN + 1];

	*out = NULL;
	if ((rc = buf_read_file(&b, path))) {
		if (rc == ERR_TOOBIG)
			rc = err_set(ERR_TOOBIG, "plan file '%s' is larger than %zu MiB", path,
				     PLANFILE_MAX >> 20);
		goto done;
	}
	json_error_t jerr;
	doc = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		rc = err_set(ERR_INVALID, "plan file '%s' is not valid JSON: line %d: %s", path,
			     jerr.line, jerr.text);
		goto done;
	}
	if (!json_is_object(doc) ||
	    strcmp(json_string_value(json_object_get(doc, "format")) ?
		   json_string_value(json_object_get(doc, "format")) : "", "flotilla-plan")) {
		rc = err_set(ERR_INVALID, "plan file '%s' is not a flotilla plan (no \"format\": "
			     "\"flotilla-plan\")", path);
		goto done;
	}
	const json_t *ver = json_object_get(doc, "version");
	if (!json_is_integer(ver) || json_integer_value(ver) != PLAN_FORMAT_VERSION) {
		rc = err_set(ERR_INVALID, "plan file '%s' has format version %s%lld; this flotilla "
			     "reads version %d; make a new plan", path,
			     json_is_integer(ver) ? "" : "(not a number) ",
			     json_is_integer(ver) ? (long long)json_integer_value(ver) : 0LL,
			     PLAN_FORMAT_VERSION);
		goto done;
	}
	const char *sum = json_string_value(json_object_get(doc, "sha256"));
	if (!sum) {
		rc = err_set(ERR_INVALID, "plan file '%s' has no \"sha256\" checksum; make a new plan",
			     path);
		goto done;
	}
	if ((rc = doc_hash(doc, hex)))
		goto done;
	if (strcmp(sum, hex)) {
		rc = err_set(ERR_INVALID, "plan file '%s' has been modified since it was written "
			     "(checksum mismatch); make a new plan", path);
		goto done;
	}
	p = xcalloc(1, sizeof(*p));
	if ((rc = read_doc(&r, doc, p)))
		goto done;
	*out = p;
	p = NULL;
done:
	plan_free(p); /* a half-read plan: its members are calloc'd, so NULL where unread */
	json_decref(doc);
	buf_release(&b);
	return rc;
}
