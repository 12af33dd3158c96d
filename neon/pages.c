/*
 * pages.c: the paged and fanned-out reads flotilla's refresh is built on.
 *
 * neon_projects_page reads one page of GET /projects and decides whether
 * another follows with the stop rules of docs/neon-api.md "Pagination": the
 * cursor may still be set on the last page, so a page that is empty,
 * shorter than the limit, or without a cursor is the last (neonctl stops on
 * a short page, @neon/sdk on a missing cursor; either alone costs a call
 * or loops). A cursor that comes back unchanged on a full page would loop
 * forever: that is a bad response, not a next page.
 *
 * neon_project_deep_submit fans out: the branch list (following
 * pagination.next, sorted by creation so that a branch made meanwhile
 * lands at the end rather than shifting a page) and the endpoint list
 * together, then databases and roles of every branch together. All go
 * through the one client, so they share its rate budget and slots with
 * every other project's reads. The per-branch results are kept apart and
 * joined in branch order at the end, whatever order the answers came in.
 */
#include <string.h>

#include "neon/internal.h"

/* Branches per page: big enough that nearly every project is one call,
 * small enough to keep a page's body modest. */
#define BRANCH_PAGE 100
/* A branch list longer than this many pages is not one we trust. */
#define BRANCH_PAGES_MAX 1000

int neon__outcome_rc(const neon_result *r)
{
	switch (r->outcome) {
	case NEON_OK:
		return 0;
	case NEON_HTTP_ERROR:
		if (r->status == 404)
			return ERR_NOTFOUND;
		if (r->status == 409)
			return ERR_CONFLICT;
		if (r->status == 423)
			return ERR_LOCKED;
		return ERR_FAIL;
	case NEON_UNKNOWN_OUTCOME:
		return ERR_UNKNOWN_OUTCOME;
	case NEON_BAD_RESPONSE:
		return ERR_INVALID;
	case NEON_TOO_BIG:
		return ERR_TOOBIG;
	case NEON_TRANSPORT:
		break;
	}
	return ERR_FAIL;
}

/* Turn a parse failure into the result's outcome, so the caller sees one
 * story whichever way it looks. */
static int bad_response(neon_result *r)
{
	r->outcome = NEON_BAD_RESPONSE;
	str_copy(r->message, err_msg(), sizeof(r->message));
	return ERR_INVALID;
}

/* ------------------------------------------------------------ projects */

int neon__projects_path(const neon_client *c, buf *b, const char *cursor, int limit, const char *search,
			bool recoverable)
{
	return buf_printf(b, "/projects?limit=%d", limit) ||
	       (cursor && (buf_adds(b, "&cursor=") || neon__query_escape(b, cursor))) ||
	       (search && (buf_adds(b, "&search=") || neon__query_escape(b, search))) ||
	       (recoverable && buf_adds(b, "&recoverable=true")) ||
	       (c->org_id && (buf_adds(b, "&org_id=") || neon__query_escape(b, c->org_id)))
		       ? ERR_FAIL
		       : 0;
}

int neon__project_page_parse(const json_t *body, const char *route, const char *cursor, int limit,
			     neon_project_page *out)
{
	const json_t *list, *gone, *pg, *next, *item;
	neon_project_page page;
	char where[96];
	size_t i;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	memset(&page, 0, sizeof(page));
	list = json_object_get(body, "projects");
	if (!json_is_array(list))
		return err_set(ERR_INVALID, "%s: projects: expected an array", route);
	gone = json_object_get(body, "unavailable_project_ids");
	if (gone && !json_is_array(gone) && !json_is_null(gone))
		return err_set(ERR_INVALID, "%s: unavailable_project_ids: expected an array", route);
	pg = json_object_get(body, "pagination");
	if (pg && !json_is_object(pg) && !json_is_null(pg))
		return err_set(ERR_INVALID, "%s: pagination: expected an object", route);
	next = json_object_get(pg, "cursor");
	if (next && !json_is_string(next) && !json_is_null(next))
		return err_set(ERR_INVALID, "%s: pagination.cursor: expected a string", route);

	page.items = xcalloc(json_array_size(list) + 1, sizeof(*page.items));
	json_array_foreach(list, i, item) {
		snprintf(where, sizeof(where), "%s: projects[%zu]", route, i);
		if ((rc = neon_project_parse(item, where, &page.items[i])) != 0)
			goto fail;
		page.n++;
	}
	/* the ids go into paths later (a read by id): each must be an id */
	page.unavailable = xcalloc(json_array_size(gone) + 1, sizeof(char *));
	json_array_foreach(gone, i, item) {
		const char *id = json_string_value(item);
		if (!neon__id_valid(id)) {
			rc = err_set(ERR_INVALID, "%s: unavailable_project_ids[%zu]: not a valid project id", route, i);
			goto fail;
		}
		page.unavailable[page.nunavailable++] = xstrdup(id);
	}
	/* the page is full when listed and unavailable projects fill it: a
	 * client that counted the listed ones alone would stop at the first
	 * page Neon cut short */
	if (page.n + page.nunavailable >= (size_t)limit && json_string_length(next) > 0) {
		if (cursor && strcmp(cursor, json_string_value(next)) == 0) {
			rc = err_set(ERR_INVALID, "%s: pagination.cursor did not advance", route);
			goto fail;
		}
		page.next = xstrdup(json_string_value(next));
	}
	*out = page;
	return 0;
fail:
	neon_project_page_release(&page);
	return rc;
}

int neon_projects_page(neon_client *c, const char *cursor, int limit, const char *search, bool recoverable,
		       neon_project_page *out, neon_result *res)
{
	neon_result local;
	neon_result *r = res ? res : &local;
	buf path = BUF_INIT(0);
	int rc;

	memset(out, 0, sizeof(*out));
	memset(r, 0, sizeof(*r));
	if (limit < 1 || limit > 400) {
		rc = err_set(ERR_INVALID, "GET /projects: limit %d: must be 1..400", limit);
		r->outcome = NEON_TRANSPORT; /* nothing was sent */
		str_copy(r->message, err_msg(), sizeof(r->message));
		goto done;
	}
	if (neon__projects_path(c, &path, cursor, limit, search, recoverable) != 0) {
		rc = err_set(ERR_FAIL, "GET /projects: cannot build the path");
		goto done;
	}
	if ((rc = neon_call(c, "GET", path.data, NULL, false, r)) != 0)
		goto done;
	if (r->outcome != NEON_OK) {
		rc = err_set(neon__outcome_rc(r), "%s", r->message);
		goto done;
	}
	if ((rc = neon__project_page_parse(r->body, "GET /projects", cursor, limit, out)) != 0)
		rc = bad_response(r);
done:
	buf_release(&path);
	if (!res)
		neon_result_release(&local);
	return rc;
}

void neon_project_page_release(neon_project_page *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; p->items && i < p->n; i++)
		neon_project_release(&p->items[i]);
	for (i = 0; p->unavailable && i < p->nunavailable; i++)
		free(p->unavailable[i]);
	free(p->items);
	free(p->unavailable);
	free(p->next);
	memset(p, 0, sizeof(*p));
}

/* --------------------------------------------------------------- deep */

typedef struct branch_extra {
	neon_database *dbs;
	size_t ndbs;
	neon_role *roles;
	size_t nroles;
} branch_extra;

typedef struct deep_job deep_job;

/* The argument of one per-branch call. */
typedef struct deep_call {
	deep_job *job;
	size_t branch;
} deep_call;

struct deep_job {
	neon_client *c;
	char *project_id;
	neon_deep_fn done;
	void *arg;
	int pending;            /* calls queued and not yet answered */
	int rc;                 /* the first failure, 0 so far */
	char *error;
	neon_project_deep out;
	size_t branch_cap;
	strmap *seen;           /* branch ids, against a page repeating one */
	char *cursor;           /* the last pagination.next followed */
	int pages;
	branch_extra *extra;    /* one per branch, once the list is complete */
	deep_call *calls;
};

static void job_fail(deep_job *j, int rc, const char *msg)
{
	if (j->rc)
		return;
	j->rc = rc;
	j->error = xstrdup(msg);
}

/* The result's failure, or a parse failure (err_msg), becomes the job's. */
static bool job_check(deep_job *j, const neon_result *res)
{
	if (res->outcome != NEON_OK) {
		job_fail(j, neon__outcome_rc(res), res->message);
		return false;
	}
	return j->rc == 0;
}

static void job_free(deep_job *j)
{
	size_t i, k;

	if (j->extra) {
		for (i = 0; i < j->out.nbranches; i++) {
			for (k = 0; k < j->extra[i].ndbs; k++)
				neon_database_release(&j->extra[i].dbs[k]);
			for (k = 0; k < j->extra[i].nroles; k++)
				neon_role_release(&j->extra[i].roles[k]);
			free(j->extra[i].dbs);
			free(j->extra[i].roles);
		}
	}
	free(j->extra);
	free(j->calls);
	neon_project_deep_release(&j->out);
	strmap_free(j->seen);
	free(j->cursor);
	free(j->error);
	free(j->project_id);
	free(j);
}

/* Join the per-branch lists in branch order (moving, not copying). */
static void join_extras(deep_job *j)
{
	size_t i, nd = 0, nr = 0;

	for (i = 0; i < j->out.nbranches; i++) {
		nd += j->extra[i].ndbs;
		nr += j->extra[i].nroles;
	}
	j->out.databases = xcalloc(nd ? nd : 1, sizeof(neon_database));
	j->out.roles = xcalloc(nr ? nr : 1, sizeof(neon_role));
	for (i = 0; i < j->out.nbranches; i++) {
		branch_extra *e = &j->extra[i];

		if (e->ndbs)
			memcpy(j->out.databases + j->out.ndatabases, e->dbs, e->ndbs * sizeof(*e->dbs));
		if (e->nroles)
			memcpy(j->out.roles + j->out.nroles, e->roles, e->nroles * sizeof(*e->roles));
		j->out.ndatabases += e->ndbs;
		j->out.nroles += e->nroles;
		free(e->dbs);
		free(e->roles);
		memset(e, 0, sizeof(*e));
	}
}

/* After each answer: once none is pending, report and free. `deep` is the
 * callback's for the call only; it may move the arrays out and zero it. */
static void job_step(deep_job *j)
{
	if (j->pending > 0)
		return;
	if (j->rc == 0)
		join_extras(j);
	j->done(j->arg, j->project_id, j->rc, j->rc == 0 ? &j->out : NULL, j->rc ? j->error : NULL);
	job_free(j);
}

static void job_submit(deep_job *j, const char *path, neon_done_fn fn, void *arg)
{
	j->pending++;
	neon_submit(j->c, "GET", path, NULL, false, fn, arg);
}

/* A list member of the body, or a failure naming it. */
static const json_t *list_of(deep_job *j, const neon_result *res, const char *name, const char *route)
{
	const json_t *a = json_object_get(res->body, name);

	if (!json_is_array(a)) {
		err_set(ERR_INVALID, "%s: %s: expected an array", route, name);
		job_fail(j, ERR_INVALID, err_msg());
		return NULL;
	}
	return a;
}

static void on_databases(void *arg, neon_result *res);
static void on_roles(void *arg, neon_result *res);

static void submit_branch_reads(deep_job *j)
{
	size_t i, nb = j->out.nbranches;
	char *path;

	j->extra = xcalloc(nb ? nb : 1, sizeof(*j->extra));
	j->calls = xcalloc(nb ? nb : 1, sizeof(*j->calls));
	for (i = 0; i < nb; i++) {
		j->calls[i].job = j;
		j->calls[i].branch = i;
		path = xasprintf("/projects/%s/branches/%s/databases", j->project_id, j->out.branches[i].id);
		job_submit(j, path, on_databases, &j->calls[i]);
		free(path);
		path = xasprintf("/projects/%s/branches/%s/roles", j->project_id, j->out.branches[i].id);
		job_submit(j, path, on_roles, &j->calls[i]);
		free(path);
	}
}

static void submit_branch_page(deep_job *j);

static void on_branches(void *arg, neon_result *res)
{
	deep_job *j = arg;
	const json_t *list, *item, *ann, *pg, *next, *entry;
	char *route = xasprintf("GET /projects/%s/branches", j->project_id);
	char where[256];
	neon_branch b;
	size_t i;
	int rc;

	j->pending--;
	if (!job_check(j, res) || !(list = list_of(j, res, "branches", route)))
		goto done;
	ann = json_object_get(res->body, "annotations");
	if (ann && !json_is_object(ann) && !json_is_null(ann)) {
		err_set(ERR_INVALID, "%s: annotations: expected an object", route);
		job_fail(j, ERR_INVALID, err_msg());
		goto done;
	}
	json_array_foreach(list, i, item) {
		snprintf(where, sizeof(where), "%s: branches[%zu]", route, i);
		if ((rc = neon_branch_parse(item, where, &b)) != 0) {
			job_fail(j, rc, err_msg());
			goto done;
		}
		if (!neon__id_valid(b.id)) {
			err_set(ERR_INVALID, "%s.id: '%s' is not a valid id", where, b.id);
			job_fail(j, ERR_INVALID, err_msg());
			neon_branch_release(&b);
			goto done;
		}
		if (strmap_get(j->seen, b.id)) {
			neon_branch_release(&b); /* a page boundary moved: seen already */
			continue;
		}
		entry = json_object_get(ann, b.id);
		if (entry) {
			snprintf(where, sizeof(where), "%s: annotations.%s", route, b.id);
			if ((rc = neon__annotation_value(entry, where, &b.annotations)) != 0) {
				job_fail(j, rc, err_msg());
				neon_branch_release(&b);
				goto done;
			}
		}
		if (j->out.nbranches == j->branch_cap)
			j->out.branches = xgrow(j->out.branches, &j->branch_cap, j->out.nbranches + 1,
						sizeof(neon_branch));
		j->out.branches[j->out.nbranches] = b;
		strmap_put(j->seen, j->out.branches[j->out.nbranches].id, j);
		j->out.nbranches++;
	}
	pg = json_object_get(res->body, "pagination");
	next = json_object_get(pg, "next");
	if (json_array_size(list) > 0 && json_string_length(next) > 0) {
		if ((j->cursor && strcmp(j->cursor, json_string_value(next)) == 0) ||
		    ++j->pages >= BRANCH_PAGES_MAX) {
			err_set(ERR_INVALID, "%s: pagination.next did not advance", route);
			job_fail(j, ERR_INVALID, err_msg());
			goto done;
		}
		free(j->cursor);
		j->cursor = xstrdup(json_string_value(next));
		submit_branch_page(j);
		goto done;
	}
	submit_branch_reads(j);
done:
	free(route);
	job_step(j);
}

static void submit_branch_page(deep_job *j)
{
	buf path = BUF_INIT(0);

	if (buf_printf(&path, "/projects/%s/branches?limit=%d&sort_by=created_at&sort_order=asc",
		       j->project_id, BRANCH_PAGE) ||
	    (j->cursor && (buf_adds(&path, "&cursor=") || neon__query_escape(&path, j->cursor)))) {
		job_fail(j, ERR_FAIL, "cannot build the branch list path");
	} else {
		job_submit(j, path.data, on_branches, j);
	}
	buf_release(&path);
}

/* One parser for every list item, over the typed ones. */
typedef int (*item_parse_fn)(const json_t *j, const char *where, void *out);

static int parse_endpoint(const json_t *j, const char *where, void *out)
{
	return neon_endpoint_parse(j, where, out);
}

static int parse_database(const json_t *j, const char *where, void *out)
{
	return neon_database_parse(j, where, out);
}

static int parse_role(const json_t *j, const char *where, void *out)
{
	return neon_role_parse(j, where, out);
}

/* The `name` list of an answer, parsed item by item into a new array of
 * `size`-byte items; *n counts the parsed ones. The array comes back also
 * when an item failed, so that the job frees what was parsed; NULL when
 * the answer failed or holds no list. A failure becomes the job's. */
static void *parse_list(deep_job *j, const neon_result *res, const char *name, const char *route, size_t size,
			item_parse_fn parse, size_t *n)
{
	const json_t *list, *item;
	char where[320];
	char *items;
	size_t i;
	int rc;

	if (!job_check(j, res) || !(list = list_of(j, res, name, route)))
		return NULL;
	items = xcalloc(json_array_size(list) ? json_array_size(list) : 1, size);
	json_array_foreach(list, i, item) {
		snprintf(where, sizeof(where), "%s: %s[%zu]", route, name, i);
		if ((rc = parse(item, where, items + i * size)) != 0) {
			job_fail(j, rc, err_msg());
			break;
		}
		(*n)++;
	}
	return items;
}

static void on_endpoints(void *arg, neon_result *res)
{
	deep_job *j = arg;
	char *route = xasprintf("GET /projects/%s/endpoints", j->project_id);

	j->pending--;
	j->out.endpoints = parse_list(j, res, "endpoints", route, sizeof(neon_endpoint), parse_endpoint,
				      &j->out.nendpoints);
	free(route);
	job_step(j);
}

/* The databases or the roles of one branch, into its branch_extra. */
static void on_branch_list(deep_call *call, const neon_result *res, bool roles)
{
	deep_job *j = call->job;
	branch_extra *e = &j->extra[call->branch];
	const char *name = roles ? "roles" : "databases";
	char *route = xasprintf("GET /projects/%s/branches/%s/%s", j->project_id, j->out.branches[call->branch].id,
				name);

	j->pending--;
	if (roles)
		e->roles = parse_list(j, res, name, route, sizeof(*e->roles), parse_role, &e->nroles);
	else
		e->dbs = parse_list(j, res, name, route, sizeof(*e->dbs), parse_database, &e->ndbs);
	free(route);
	job_step(j);
}

static void on_databases(void *arg, neon_result *res)
{
	on_branch_list(arg, res, false);
}

static void on_roles(void *arg, neon_result *res)
{
	on_branch_list(arg, res, true);
}

/* An invalid project id: report it from neon_run like any other failure. */
static void deep_refuse(void *arg)
{
	job_step(arg);
}

void neon_project_deep_submit(neon_client *c, const char *project_id, neon_deep_fn done, void *arg)
{
	deep_job *j = xcalloc(1, sizeof(*j));
	char *path;

	j->c = c;
	j->project_id = xstrdup(project_id ? project_id : "");
	j->done = done;
	j->arg = arg;
	j->seen = strmap_new();
	if (!neon__id_valid(j->project_id)) {
		err_set(ERR_INVALID, "project id '%.80s': not a valid id", j->project_id);
		job_fail(j, ERR_INVALID, err_msg());
		neon__after(c, 0, deep_refuse, j);
		return;
	}
	submit_branch_page(j);
	path = xasprintf("/projects/%s/endpoints", j->project_id);
	job_submit(j, path, on_endpoints, j);
	free(path);
}

void neon_project_deep_release(neon_project_deep *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->nbranches; i++)
		neon_branch_release(&d->branches[i]);
	for (i = 0; i < d->nendpoints; i++)
		neon_endpoint_release(&d->endpoints[i]);
	for (i = 0; i < d->ndatabases; i++)
		neon_database_release(&d->databases[i]);
	for (i = 0; i < d->nroles; i++)
		neon_role_release(&d->roles[i]);
	free(d->branches);
	free(d->endpoints);
	free(d->databases);
	free(d->roles);
	memset(d, 0, sizeof(*d));
}
