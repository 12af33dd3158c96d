/*
 * routes_branches.c: /projects/{project_id}/branches: create, list, get,
 * update, delete, restore (a branch's endpoints: routes_endpoints.c).
 *
 * A new branch copies its parent's roles (with their passwords, as Neon
 * does; new ones when the parent is protected, as Neon's protected-branch
 * documentation says) and databases (with new ids), and gets the computes
 * the request asks for. Point-in-time arguments are checked (an LSN is
 * "hex/hex"; a timestamp RFC 3339, not in the future and inside the
 * project's history retention and the parent's life) and stored; the sim
 * keeps no history, so every branch holds its parent's current catalog.
 * When no LSN is given, one is made up that grows with time.
 *
 * Choices where Neon's behaviour is not documented:
 * - A branch without a name is named after its id.
 * - CreatedBranch.roles carry no passwords; connection_uris (the one
 *   place a new branch's password shows) is sent only when a compute was
 *   made and the branch has one role and one database, owned by that role
 *   and with a password (ConnectionDetails: none "from a parent with more
 *   than one role or database").
 * - schema-only branches are root branches: no parent_id, no parent_lsn.
 * - archived is checked and otherwise ignored: the sim has no archive.
 *   expires_at is kept and sent back, but the sim deletes nothing on its
 *   own when it passes.
 * - Data: a branch's data is a version counter with its history (data.c);
 *   a new branch starts with its parent's version at its point, a
 *   restored one with the source's at the point, and a restore's
 *   preserved copy keeps the target's history as it was.
 * - PATCH sends no operations (Neon's documented reply has none).
 * - With --plan, the branch limit counts every branch of the project (the
 *   copy restore makes under preserve_under_name too) and the protected
 *   limit every protected one; both are checked after the request's own
 *   rules.
 * - DELETE: the default branch, a protected branch and a branch with
 *   children are refused with 400; otherwise its computes go with it
 *   (suspend_compute each, then delete_timeline). hard_delete is ignored.
 * - restore: with preserve_under_name the target's current state is first
 *   copied to a new branch of that name (create_branch), which takes over
 *   the target's parent and children; the target then gets a new timeline
 *   (create_timeline) whose parent is the source (or, when the source is
 *   the target itself, the preserved copy) and the source's roles and
 *   databases. Its active computes restart (suspend_compute +
 *   start_compute); idle ones stay idle. A protected branch cannot be
 *   reset from its parent (400); other restores of it are allowed.
 * - List: without `limit` every match is sent. The cursor carries its sort:
 *   it wins over sort_by/sort_order sent with it. include_deleted is
 *   ignored (the sim does not keep deleted branches).
 */
#include <inttypes.h>
#include <string.h>

#include "sim/sim.h"

#define MAX_ANNOTATIONS 50

/* ------------------------------------------------------------- helpers */

static json_t *ts(int64_t t)
{
	char b[32];
	sim_time_format(t, b);
	return json_string(b);
}

/* AnnotationData of b; its value is {} when b has no annotations. */
static json_t *annotation(const sim_branch *b)
{
	json_t *o = json_object(), *obj = json_object();
	json_object_set_new(obj, "type", json_string("console/branch"));
	json_object_set_new(obj, "id", json_string(b->id));
	json_object_set_new(o, "object", obj);
	json_object_set_new(o, "value", b->annotations ? json_deep_copy(b->annotations) : json_object());
	json_object_set_new(o, "created_at", ts(b->created_at));
	json_object_set_new(o, "updated_at", ts(b->updated_at));
	return o;
}

static bool has_children(const sim_project *p, const sim_branch *b)
{
	for (size_t i = 0; i < p->nbranches; i++)
		if (p->branches[i].parent_id && strcmp(p->branches[i].parent_id, b->id) == 0)
			return true;
	return false;
}

static bool valid_lsn(const char *s)
{
	uint64_t n;
	return sim_lsn_parse(s, &n);
}

/* An LSN that grows with the project's age, for a point in time `at`. */
static void fake_lsn(const sim_project *p, int64_t at, char out[32])
{
	uint64_t age = at > p->created_at ? (uint64_t)(at - p->created_at) : 0;
	uint64_t lsn = 0x1E19478u + age * 4096u + (uint64_t)p->nbranches * 64u;
	snprintf(out, 32, "%" PRIX64 "/%" PRIX64, lsn >> 32, lsn & 0xffffffffu);
}

/* expires_at: null, or an RFC 3339 time in the future, into *t (0 for
 * null); *t untouched when the member is absent. */
static bool check_expires(sim_req *r, const json_t *in, int64_t *t)
{
	json_t *v = json_object_get(in, "expires_at");
	int64_t at = 0;
	if (!v)
		return true;
	if (json_is_null(v) ||
	    (json_is_string(v) && sim_time_parse(json_string_value(v), &at) == 0 && at > sim_now(r->s))) {
		*t = at;
		return true;
	}
	sim_error(r, 400, "", "expires_at must be null or an RFC 3339 date-time in the future, such as "
			       "2026-06-09T18:02:16Z");
	return false;
}

bool sim_check_point(sim_req *r, sim_project *p, const sim_branch *src, const json_t *in, const char *lsn_key,
			const char *ts_key, const char **lsn, int64_t *t)
{
	const char *tstr;
	*t = 0;
	if (!sim_check_string(r, in, lsn_key, 64, lsn) || !sim_check_string(r, in, ts_key, 64, &tstr))
		return false;
	if (*lsn && tstr) {
		sim_error(r, 400, "", "give at most one of %s and %s", lsn_key, ts_key);
		return false;
	}
	if (*lsn && !valid_lsn(*lsn)) {
		sim_error(r, 400, "", "%s '%s' is not an LSN such as 0/1E19478", lsn_key, *lsn);
		return false;
	}
	if (!tstr)
		return true;
	if (sim_time_parse(tstr, t) != 0) {
		sim_error(r, 400, "", "%s must be an RFC 3339 date-time such as 2024-02-26T12:00:00Z", ts_key);
		return false;
	}
	/* the history kept: the retention window, and no older than src */
	int64_t now = sim_now(r->s), oldest = now - p->history_retention;
	if (oldest < src->created_at)
		oldest = src->created_at;
	if (*t > now || *t < oldest) {
		char from[32];
		sim_time_format(oldest, from);
		sim_error(r, 400, "", "%s '%s' is outside the history of branch '%s', %s until now", ts_key, tstr,
			  src->id, from);
		return false;
	}
	return true;
}

static bool check_annotations(sim_req *r, const json_t *v)
{
	if (!v || json_is_null(v))
		return true;
	bool ok = json_is_object(v) && json_object_size(v) <= MAX_ANNOTATIONS;
	const char *k;
	json_t *x;
	json_object_foreach((json_t *)v, k, x)
		ok = ok && json_is_string(x);
	if (!ok)
		sim_error(r, 400, "", "annotation_value must be an object of at most %d strings", MAX_ANNOTATIONS);
	return ok;
}

void sim_branch_copy_catalog(sim_store *s, sim_project *p, sim_branch *dst, const sim_branch *src, bool new_passwords)
{
	for (size_t i = 0; i < src->nroles; i++) {
		const sim_role *from = &src->roles[i];
		sim_role *to = sim_role_add(s, p, dst, from->name, from->no_login);
		to->protected_ = from->protected_;
		if (!new_passwords && from->password) {
			free(to->password);
			to->password = xstrdup(from->password);
		}
	}
	for (size_t i = 0; i < src->ndbs; i++)
		sim_db_add(s, p, dst, src->dbs[i].name, src->dbs[i].owner);
}

static void clear_catalog(sim_branch *b)
{
	while (b->ndbs)
		sim_db_remove(b, &b->dbs[b->ndbs - 1]);
	while (b->nroles)
		sim_role_remove(b, &b->roles[b->nroles - 1]);
}

static void set_str(char **field, const char *v)
{
	free(*field);
	*field = v ? xstrdup(v) : NULL;
}

/* Where b starts: parent_id (NULL: a root) at `lsn` or time `t` (0: now). */
static void set_origin(sim_store *s, sim_project *p, sim_branch *b, const char *parent_id, const char *lsn, int64_t t)
{
	char text[32];
	if (!t)
		t = sim_now(s);
	set_str(&b->parent_id, parent_id);
	if (!lsn)
		fake_lsn(p, t, text);
	set_str(&b->parent_lsn, lsn ? lsn : text);
	sim_time_format(t, text);
	set_str(&b->parent_timestamp, text);
}

/* -------------------------------------------------------------- create */

/* The request's endpoints[], checked into *specs (caller frees). */
static bool check_endpoints(sim_req *r, sim_project *p, const json_t *eps, sim_endpoint_spec **specs, size_t *n)
{
	*specs = NULL;
	*n = 0;
	if (!eps || json_is_null(eps))
		return true;
	if (!json_is_array(eps)) {
		sim_error(r, 400, "", "endpoints must be an array");
		return false;
	}
	*specs = xcalloc(json_array_size(eps) + 1, sizeof(**specs));
	size_t i, rw = 0;
	json_t *v;
	json_array_foreach(eps, i, v) {
		if (!json_is_object(v)) {
			sim_error(r, 400, "", "endpoints[%zu] must be an object", i);
			return false;
		}
		if (!sim_check_endpoint_spec(r, p, v, &(*specs)[i]))
			return false;
		rw += (*specs)[i].read_write;
		(*n)++;
	}
	if (rw > 1) {
		sim_error(r, 409, "", "read_write endpoint already exists: a branch has at most one, the request asks "
				       "for %zu", rw);
		return false;
	}
	return true;
}

static int create(sim_req *r)
{
	sim_store *s = r->s;
	sim_project *p = sim_need_project(r, 0);
	if (!p || sim_locked(r, p))
		return 0;
	json_t *in = r->body ? json_object_get(r->body, "branch") : NULL;
	if (json_is_null(in))
		in = NULL;
	if (in && !json_is_object(in))
		return sim_error(r, 400, "", "branch must be an object");
	const char *parent_id = NULL, *name, *init;
	json_t *pv = json_object_get(in, "parent_id");
	/* "If omitted or empty, the branch will be created from the project's
	 * default branch." */
	if (!(json_is_string(pv) && json_string_length(pv) == 0) &&
	    !sim_check_string(r, in, "parent_id", 60, &parent_id))
		return 0;
	bool protected_ = false, archived = false;
	int64_t expires = 0;
	if (!sim_check_string(r, in, "name", 256, &name) || !sim_check_string(r, in, "init_source", 32, &init) ||
	    !sim_check_bool(r, in, "protected", &protected_) || !sim_check_bool(r, in, "archived", &archived) ||
	    !check_expires(r, in, &expires))
		return 0;
	if (init && strcmp(init, "parent-data") != 0 && strcmp(init, "schema-only") != 0)
		return sim_error(r, 400, "", "init_source must be 'parent-data' or 'schema-only', got '%s'", init);
	json_t *ann = r->body ? json_object_get(r->body, "annotation_value") : NULL;
	if (!check_annotations(r, ann))
		return 0;
	sim_branch *parent = parent_id ? sim_branch_find(p, parent_id) : sim_branch_default(p);
	if (!parent)
		return sim_error(r, 404, "", "parent branch '%s' not found", parent_id ? parent_id : "(default)");
	if (name && sim_branch_find_name(p, name))
		return sim_error(r, 409, "", "branch already exists: '%s'", name);
	const char *lsn;
	int64_t at;
	if (!sim_check_point(r, p, parent, in, "parent_lsn", "parent_timestamp", &lsn, &at))
		return 0;
	sim_endpoint_spec *specs;
	size_t nspecs;
	if (!check_endpoints(r, p, r->body ? json_object_get(r->body, "endpoints") : NULL, &specs, &nspecs)) {
		free(specs);
		return 0;
	}
	/* the plan's limits (none without --plan) come after the request's
	 * own rules: a request that could never succeed says so first */
	if (!sim_check_branches_limit(r, p) || (protected_ && !sim_check_protected_limit(r, p))) {
		free(specs);
		return 0;
	}

	/* checked: make it. Adding a branch moves the array, so hold indexes */
	size_t parent_index = (size_t)(parent - p->branches);
	sim_branch *b = sim_branch_add(s, p, name ? name : "");
	parent = &p->branches[parent_index];
	if (!name)
		set_str(&b->name, b->id);
	bool schema_only = init && strcmp(init, "schema-only") == 0;
	if (!schema_only)
		set_origin(s, p, b, parent->id, lsn, at);
	b->init_source = xstrdup(init ? init : "parent-data");
	b->protected_ = protected_;
	b->expires_at = expires;
	if (!schema_only)
		sim_data_fork(s, p, b, parent, lsn, at);
	b->annotations = json_is_object(ann) ? json_deep_copy(ann) : NULL;
	sim_branch_copy_catalog(s, p, b, parent, parent->protected_);
	sim_op_add(s, p, "create_branch", b->id, NULL);
	size_t nops = 1, first_ep = p->nendpoints;
	for (size_t i = 0; i < nspecs; i++) {
		sim_endpoint *e = sim_endpoint_make(s, p, b->id, &specs[i]);
		if (!e->disabled) {
			sim_op_add(s, p, "start_compute", b->id, e->id);
			nops++;
		}
	}
	free(specs);
	r->touched = p;

	json_t *out = json_object();
	json_object_set_new(out, "branch", sim_render_branch(s, p, b));
	json_t *eps = json_array();
	for (size_t i = first_ep; i < p->nendpoints; i++)
		json_array_append_new(eps, sim_render_endpoint(s, p, &p->endpoints[i]));
	json_object_set_new(out, "endpoints", eps);
	json_object_set_new(out, "operations", sim_render_new_ops(p, nops, mono_ms()));
	json_t *roles = json_array(), *dbs = json_array();
	for (size_t i = 0; i < b->nroles; i++)
		json_array_append_new(roles, sim_render_role(&b->roles[i], b->id, false));
	for (size_t i = 0; i < b->ndbs; i++)
		json_array_append_new(dbs, sim_render_database(&b->dbs[i], b->id));
	json_object_set_new(out, "roles", roles);
	json_object_set_new(out, "databases", dbs);
	/* a URI only when it is unambiguous: a new compute, one role, one
	 * database (ConnectionDetails.connection_uri) */
	sim_role *owner = b->ndbs == 1 && b->nroles == 1 ? sim_role_find(b, b->dbs[0].owner) : NULL;
	if (p->nendpoints > first_ep && owner && owner->password) {
		sim_endpoint *e = sim_endpoint_rw(p, b->id);
		json_t *uris = json_array();
		json_array_append_new(uris, sim_render_connection_uri(p, b, e ? e : &p->endpoints[first_ep],
								      b->dbs[0].name, owner->name, false));
		json_object_set_new(out, "connection_uris", uris);
	}
	return sim_reply(r, 201, out);
}

/* ---------------------------------------------------------------- list */

enum { BY_NAME, BY_CREATED, BY_UPDATED };
static const char *const SORT_BY[] = {"name", "created_at", "updated_at"};

/* A branch as the list sorts it; each item carries the order, so qsort's
 * comparator needs no global. */
typedef struct list_item {
	const char *name, *id;
	int64_t t;
	int by, dir; /* dir: 1 ascending, -1 descending */
	sim_branch *b;
} list_item;

static int item_cmp(const list_item *a, const list_item *b)
{
	int c = a->by == BY_NAME ? strcmp(a->name, b->name) : (a->t > b->t) - (a->t < b->t);
	if (!c)
		c = strcmp(a->id, b->id);
	return c * a->dir;
}

static int item_qsort_cmp(const void *a, const void *b)
{
	return item_cmp(a, b);
}

/* The opaque cursor after `it`: "by|dir|id|key", hex encoded. */
static json_t *make_cursor(const list_item *it)
{
	char *plain = it->by == BY_NAME ? xasprintf("%d|%d|%s|%s", it->by, it->dir, it->id, it->name)
					: xasprintf("%d|%d|%s|%" PRId64, it->by, it->dir, it->id, it->t);
	size_t n = strlen(plain);
	char *hex = xmalloc(2 * n + 1);
	for (size_t i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", (unsigned char)plain[i]);
	hex[2 * n] = 0;
	json_t *v = json_string(hex);
	free(plain);
	free(hex);
	return v;
}

/* Decode a cursor into *at, whose strings point into *text (owned). */
static bool parse_cursor(const char *c, list_item *at, char **text)
{
	size_t n = strlen(c);
	char *t = xcalloc(n / 2 + 1, 1), *key = NULL;
	bool ok = n && n % 2 == 0 && strspn(c, "0123456789abcdef") == n;
	for (size_t i = 0; ok && i < n / 2; i++) {
		unsigned v = 0;
		ok = sscanf(c + 2 * i, "%2x", &v) == 1 && v;
		t[i] = (char)v;
	}
	int off = 0;
	memset(at, 0, sizeof(*at));
	ok = ok && sscanf(t, "%d|%d|%n", &at->by, &at->dir, &off) == 2 && off > 0 && at->by >= BY_NAME &&
	     at->by <= BY_UPDATED && (at->dir == 1 || at->dir == -1) && (key = strchr(t + off, '|'));
	if (ok) {
		*key++ = 0;
		at->id = t + off;
		at->name = key;
		ok = at->by == BY_NAME || str_to_i64(key, &at->t) == 0;
	}
	if (!ok) {
		free(t);
		return false;
	}
	*text = t;
	return true;
}

static int list(sim_req *r)
{
	sim_project *p = sim_need_project(r, 0);
	if (!p)
		return 0;
	const char *search = sim_query(r, "search"), *sort_by = sim_query(r, "sort_by");
	const char *order = sim_query(r, "sort_order"), *lim = sim_query(r, "limit"), *cur = sim_query(r, "cursor");
	int by = BY_UPDATED, dir = -1;
	if (sort_by) {
		for (by = 0; by < 3 && strcmp(sort_by, SORT_BY[by]) != 0; by++)
			;
		if (by == 3)
			return sim_error(r, 400, "", "sort_by must be 'name', 'created_at' or 'updated_at'");
	}
	if (order && strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0)
		return sim_error(r, 400, "", "sort_order must be 'asc' or 'desc'");
	if (order)
		dir = strcmp(order, "asc") == 0 ? 1 : -1;
	int64_t limit = 0;
	if (lim && (str_to_i64(lim, &limit) != 0 || limit < 1 || limit > 10000))
		return sim_error(r, 400, "", "limit must be an integer from 1 to 10000");
	list_item at;
	memset(&at, 0, sizeof(at));
	char *cursor_text = NULL;
	if (cur && *cur) {
		if (!parse_cursor(cur, &at, &cursor_text))
			return sim_error(r, 400, "", "cursor is not valid: pass pagination.next as it came");
		by = at.by;
		dir = at.dir;
	}

	list_item *items = xcalloc(p->nbranches + 1, sizeof(*items));
	size_t n = 0;
	for (size_t i = 0; i < p->nbranches; i++) {
		sim_branch *b = &p->branches[i];
		if (search && *search && !strstr(b->name, search) && !strstr(b->id, search))
			continue;
		list_item it = {b->name, b->id, by == BY_CREATED ? b->created_at : b->updated_at, by, dir, b};
		if (cursor_text && item_cmp(&it, &at) <= 0)
			continue;
		items[n++] = it;
	}
	qsort(items, n, sizeof(*items), item_qsort_cmp);
	size_t shown = limit && (size_t)limit < n ? (size_t)limit : n;

	json_t *arr = json_array(), *anns = json_object();
	for (size_t i = 0; i < shown; i++) {
		sim_branch *b = items[i].b;
		json_array_append_new(arr, sim_render_branch(r->s, p, b));
		if (b->annotations && json_object_size(b->annotations))
			json_object_set_new(anns, b->id, annotation(b));
	}
	json_t *pg = json_object();
	if (shown < n)
		json_object_set_new(pg, "next", make_cursor(&items[shown - 1]));
	json_object_set_new(pg, "sort_by", json_string(SORT_BY[by]));
	json_object_set_new(pg, "sort_order", json_string(dir > 0 ? "asc" : "desc"));
	free(items);
	free(cursor_text);
	json_t *out = json_object();
	json_object_set_new(out, "branches", arr);
	json_object_set_new(out, "annotations", anns);
	json_object_set_new(out, "pagination", pg);
	return sim_reply(r, 200, out);
}

/* ------------------------------------------------- get, update, delete */

static int get(sim_req *r)
{
	sim_project *p = sim_need_project(r, 0);
	sim_branch *b = p ? sim_need_branch(r, p, 1) : NULL;
	if (!b)
		return 0;
	json_t *out = json_object();
	json_object_set_new(out, "branch", sim_render_branch(r->s, p, b));
	json_object_set_new(out, "annotation", annotation(b));
	return sim_reply(r, 200, out);
}

static int update(sim_req *r)
{
	sim_project *p = sim_need_project(r, 0);
	sim_branch *b = p ? sim_need_branch(r, p, 1) : NULL;
	if (!b || sim_locked(r, p))
		return 0;
	json_t *in = r->body ? json_object_get(r->body, "branch") : NULL;
	if (!json_is_object(in))
		return sim_error(r, 400, "", "request body must be {\"branch\": {...}}");
	const char *name;
	bool protected_ = b->protected_;
	int64_t expires = b->expires_at;
	if (!sim_check_string(r, in, "name", 256, &name) || !sim_check_bool(r, in, "protected", &protected_) ||
	    !check_expires(r, in, &expires))
		return 0;
	sim_branch *other = name ? sim_branch_find_name(p, name) : NULL;
	if (other && other != b)
		return sim_error(r, 409, "", "branch already exists: '%s'", name);
	if (protected_ && !b->protected_ && !sim_check_protected_limit(r, p))
		return 0;
	if (name)
		set_str(&b->name, name);
	b->protected_ = protected_;
	b->expires_at = expires;
	b->updated_at = sim_now(r->s);
	r->touched = p;
	json_t *out = json_object();
	json_object_set_new(out, "branch", sim_render_branch(r->s, p, b));
	json_object_set_new(out, "operations", json_array());
	return sim_reply(r, 200, out);
}

static int delete(sim_req *r)
{
	sim_store *s = r->s;
	sim_project *p = sim_need_project(r, 0);
	if (!p)
		return 0;
	sim_branch *b = sim_branch_find(p, r->params[1]);
	if (!b)
		return sim_reply(r, 204, NULL);
	if (sim_locked(r, p))
		return 0;
	if (b->is_default)
		return sim_error(r, 400, "", "cannot delete the default branch '%s'", b->name);
	if (b->protected_)
		return sim_error(r, 400, "", "cannot delete protected branch '%s'", b->name);
	if (has_children(p, b))
		return sim_error(r, 400, "", "branch has children: delete the child branches of '%s' first", b->name);
	size_t nops = 0;
	for (size_t i = 0; i < p->nendpoints; i++)
		if (strcmp(p->endpoints[i].branch_id, b->id) == 0) {
			sim_op_add(s, p, "suspend_compute", b->id, p->endpoints[i].id);
			nops++;
		}
	sim_op_add(s, p, "delete_timeline", b->id, NULL);
	nops++;
	json_t *out = json_object();
	json_object_set_new(out, "branch", sim_render_branch(s, p, b));
	json_object_set_new(out, "operations", sim_render_new_ops(p, nops, mono_ms()));
	for (size_t i = p->nendpoints; i > 0; i--)
		if (strcmp(p->endpoints[i - 1].branch_id, b->id) == 0)
			sim_endpoint_remove(s, p, &p->endpoints[i - 1]);
	sim_branch_remove(p, b);
	r->touched = p;
	return sim_reply(r, 200, out);
}

/* ------------------------------------------------------------- restore */

static int restore(sim_req *r)
{
	sim_store *s = r->s;
	sim_project *p = sim_need_project(r, 0);
	sim_branch *b = p ? sim_need_branch(r, p, 1) : NULL;
	if (!b || sim_locked(r, p))
		return 0;
	json_t *in = r->body;
	const char *src_id, *keep;
	if (!in)
		return sim_error(r, 400, "", "request body must be {\"source_branch_id\": ...}");
	if (!sim_check_string(r, in, "source_branch_id", 60, &src_id) ||
	    !sim_check_string(r, in, "preserve_under_name", 256, &keep))
		return 0;
	if (!src_id)
		return sim_error(r, 400, "", "source_branch_id is required");
	sim_branch *src = sim_branch_find(p, src_id);
	if (!src)
		return sim_error(r, 404, "", "source branch '%s' not found", src_id);
	const char *lsn;
	int64_t at;
	if (!sim_check_point(r, p, src, in, "source_lsn", "source_timestamp", &lsn, &at))
		return 0;
	bool self = src == b;
	if (b->protected_ && b->parent_id && strcmp(b->parent_id, src->id) == 0)
		return sim_error(r, 400, "", "protected branch '%s' cannot be reset from its parent", b->name);
	if (self && !lsn && !at)
		return sim_error(r, 400, "", "restoring branch '%s' from itself needs source_lsn or source_timestamp",
				 b->id);
	if ((self || has_children(p, b)) && !keep)
		return sim_error(r, 400, "", "preserve_under_name is required when %s",
				 self ? "a branch is restored from its own history" : "the branch has children");
	if (keep && sim_branch_find_name(p, keep))
		return sim_error(r, 409, "", "branch already exists: '%s'", keep);
	/* the preserved copy is one more branch of the project */
	if (keep && !sim_check_branches_limit(r, p))
		return 0;

	size_t bi = (size_t)(b - p->branches), si = (size_t)(src - p->branches), nops = 0;
	const char *new_parent = NULL;
	if (keep) {
		/* the target's state as it is, under the new name */
		sim_branch *kb = sim_branch_add(s, p, keep);
		b = &p->branches[bi];
		src = &p->branches[si];
		set_str(&kb->parent_id, b->parent_id);
		set_str(&kb->parent_lsn, b->parent_lsn);
		set_str(&kb->parent_timestamp, b->parent_timestamp);
		set_str(&kb->init_source, b->init_source);
		sim_branch_copy_catalog(s, p, kb, b, false);
		sim_data_copy(kb, b);
		for (size_t i = 0; i < p->nbranches; i++)
			if (&p->branches[i] != kb && p->branches[i].parent_id &&
			    strcmp(p->branches[i].parent_id, b->id) == 0)
				set_str(&p->branches[i].parent_id, kb->id);
		sim_op_add(s, p, "create_branch", kb->id, NULL);
		nops++;
		if (self)
			new_parent = kb->id;
	}
	if (!self) {
		new_parent = src->id;
		clear_catalog(b);
		sim_branch_copy_catalog(s, p, b, src, false);
	}
	set_origin(s, p, b, new_parent, lsn, at);
	sim_data_fork(s, p, b, self ? sim_branch_find(p, new_parent) : src, lsn, at);
	b->updated_at = sim_now(s);
	sim_op_add(s, p, "create_timeline", b->id, NULL);
	nops++;
	int64_t now = sim_now(s);
	for (size_t i = 0; i < p->nendpoints; i++) {
		sim_endpoint *e = &p->endpoints[i];
		if (strcmp(e->branch_id, b->id) != 0 || !sim_endpoint_active(s, e, now))
			continue;
		sim_endpoint_start(s, p, e);
		sim_op_add(s, p, "suspend_compute", b->id, e->id);
		sim_op_add(s, p, "start_compute", b->id, e->id);
		nops += 2;
	}
	r->touched = p;
	json_t *out = json_object();
	json_object_set_new(out, "branch", sim_render_branch(s, p, b));
	json_object_set_new(out, "operations", sim_render_new_ops(p, nops, mono_ms()));
	return sim_reply(r, 200, out);
}

const sim_route SIM_ROUTES_BRANCHES[] = {
	{"POST", "/projects/{project_id}/branches", create, true},
	{"GET", "/projects/{project_id}/branches", list, false},
	{"GET", "/projects/{project_id}/branches/{branch_id}", get, false},
	{"PATCH", "/projects/{project_id}/branches/{branch_id}", update, true},
	{"DELETE", "/projects/{project_id}/branches/{branch_id}", delete, true},
	{"POST", "/projects/{project_id}/branches/{branch_id}/restore", restore, true},
	{NULL, NULL, NULL, false},
};
