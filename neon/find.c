/*
 * find.c: every project that carries one exact name, proved from a search
 * paged to its end.
 *
 * Identity rests on this answer: before a create is sent again (its first
 * outcome was lost) flotilla must know that no project of that name
 * exists. Neon's `search` matches part of a name or an id, names are not
 * unique, and a page can be cut short (its `unavailable_project_ids`), so
 * neither a first page nor a page without the name proves anything. The
 * search follows the cursor to the end, keeps the exact matches, and reads
 * every project a page named unavailable by its id; one that cannot be
 * read either is counted as unresolved, which the caller must treat as
 * "maybe there": it creates nothing.
 *
 * Everything runs from the client's event loop (neon_projects_find_submit),
 * so the executor can settle a lost create without leaving neon_run;
 * neon_projects_find wraps it for callers outside the loop.
 */
#include <string.h>

#include "neon/internal.h"

#define FIND_PAGE 400

typedef struct find_job {
	neon_client *c;
	char *name;
	neon_find_fn done;
	void *arg;
	char *cursor;           /* the cursor of the page asked for, NULL: the first */
	char **unavailable;     /* ids to read one by one once the pages are done */
	size_t nunavailable, capunavailable;
	size_t capids;
	int reads;              /* reads by id not answered yet */
	neon_find_result res;
} find_job;

typedef struct find_read {
	find_job *job;
	char *id;
} find_read;

static void add_match(find_job *j, const char *id)
{
	for (size_t i = 0; i < j->res.n; i++)
		if (strcmp(j->res.ids[i], id) == 0)
			return; /* a page boundary moved: seen already */
	if (j->res.n == j->capids)
		j->res.ids = xgrow(j->res.ids, &j->capids, j->res.n + 1, sizeof(char *));
	j->res.ids[j->res.n++] = xstrdup(id);
}

static void finish(find_job *j)
{
	j->done(j->arg, &j->res);
	neon_find_result_release(&j->res);
	for (size_t i = 0; i < j->nunavailable; i++)
		free(j->unavailable[i]);
	free(j->unavailable);
	free(j->cursor);
	free(j->name);
	free(j);
}

static void fail(find_job *j, int rc, const neon_result *res, const char *msg)
{
	j->res.rc = rc;
	str_copy(j->res.error, msg, sizeof(j->res.error));
	if (res)
		str_copy(j->res.request_id, res->request_id, sizeof(j->res.request_id));
}

static void on_read(void *arg, neon_result *res)
{
	find_read *r = arg;
	find_job *j = r->job;
	neon_project p;

	j->reads--;
	memset(&p, 0, sizeof(p));
	if (res->outcome == NEON_OK &&
	    neon_project_parse(json_object_get(res->body, "project"), "GET /projects/{id}: project", &p) == 0) {
		if (p.name && strcmp(p.name, j->name) == 0)
			add_match(j, p.id);
	} else if (!(res->outcome == NEON_HTTP_ERROR && res->status == 404)) {
		/* 404: deleted since the page named it, so not a match */
		j->res.unresolved++;
	}
	neon_project_release(&p);
	free(r->id);
	free(r);
	if (j->reads == 0)
		finish(j);
}

static void read_unavailable(find_job *j)
{
	if (j->nunavailable == 0) {
		finish(j);
		return;
	}
	for (size_t i = 0; i < j->nunavailable; i++) {
		find_read *r = xcalloc(1, sizeof(*r));
		r->job = j;
		r->id = j->unavailable[i];
		j->unavailable[i] = NULL;
		char *path = xasprintf("/projects/%s", r->id);
		j->reads++;
		j->res.calls++;
		neon_submit(j->c, "GET", path, NULL, false, on_read, r);
		free(path);
	}
	j->nunavailable = 0;
}

static void submit_page(find_job *j);

static void on_page(void *arg, neon_result *res)
{
	find_job *j = arg;
	neon_project_page page;

	if (res->outcome != NEON_OK) {
		fail(j, neon__outcome_rc(res), res, res->message);
		finish(j);
		return;
	}
	if (neon__project_page_parse(res->body, "GET /projects", j->cursor, FIND_PAGE, &page) != 0) {
		fail(j, ERR_INVALID, res, err_msg());
		finish(j);
		return;
	}
	for (size_t i = 0; i < page.n; i++)
		if (page.items[i].name && strcmp(page.items[i].name, j->name) == 0)
			add_match(j, page.items[i].id);
	for (size_t i = 0; i < page.nunavailable; i++) {
		if (j->nunavailable == j->capunavailable)
			j->unavailable = xgrow(j->unavailable, &j->capunavailable, j->nunavailable + 1,
					       sizeof(char *));
		j->unavailable[j->nunavailable++] = page.unavailable[i];
		page.unavailable[i] = NULL;
	}
	free(j->cursor);
	j->cursor = page.next;
	page.next = NULL;
	neon_project_page_release(&page);
	if (j->cursor)
		submit_page(j);
	else
		read_unavailable(j);
}

static void submit_page(find_job *j)
{
	buf path = BUF_INIT(0);

	if (neon__projects_path(j->c, &path, j->cursor, FIND_PAGE, j->name, false) != 0) {
		fail(j, ERR_FAIL, NULL, "GET /projects: cannot build the path");
		buf_release(&path);
		finish(j);
		return;
	}
	j->res.calls++;
	neon_submit(j->c, "GET", path.data, NULL, false, on_page, j);
	buf_release(&path);
}

static void start(void *arg)
{
	submit_page(arg);
}

static void refuse(void *arg)
{
	finish(arg);
}

void neon_projects_find_submit(neon_client *c, const char *name, neon_find_fn done, void *arg)
{
	find_job *j = xcalloc(1, sizeof(*j));

	j->c = c;
	j->name = xstrdup(name ? name : "");
	j->done = done;
	j->arg = arg;
	if (!*j->name) {
		/* an empty search would list the whole account */
		fail(j, ERR_INVALID, NULL, "looking up a project by name: the name is empty");
		neon__after(c, 0, refuse, j);
		return;
	}
	/* from the loop, like every other result, even when queued outside it */
	neon__after(c, 0, start, j);
}

typedef struct find_sync {
	neon_find_result *out;
	bool done;
} find_sync;

static void on_sync(void *arg, neon_find_result *res)
{
	find_sync *s = arg;

	*s->out = *res; /* moved: finish releases the emptied original */
	memset(res, 0, sizeof(*res));
	s->done = true;
}

int neon_projects_find(neon_client *c, const char *name, neon_find_result *out)
{
	find_sync s = {out, false};

	memset(out, 0, sizeof(*out));
	neon_projects_find_submit(c, name, on_sync, &s);
	int rc = neon_run(c);
	if (!s.done) {
		out->rc = rc ? rc : ERR_FAIL;
		str_copy(out->error, rc ? err_msg() : "the lookup did not finish", sizeof(out->error));
	}
	if (out->rc)
		return err_set(out->rc, "%s", out->error);
	return 0;
}

void neon_find_result_release(neon_find_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->ids[i]);
	free(r->ids);
	memset(r, 0, sizeof(*r));
}
