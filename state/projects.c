/*
 * projects.c: the project cache, filled by list refreshes, and the fleet
 * summary that `flotilla status` prints.
 *
 * A refresh is a generation: begin takes the next number (meta
 * "refresh_gen") and its start time; every page upserts its projects in one
 * transaction, stamping each with that generation and time; finish deletes
 * the projects of older generations (those the list no longer shows, with
 * their deep rows by cascade) and records the start time as
 * "list_refreshed_at", in one transaction. Until finish, nothing is
 * removed, so an aborted or crashed refresh only ever adds and updates
 * whole rows. The start time, not the page time, stamps rows because the
 * list is a snapshot no older than that.
 *
 * Pages are the hot path (300k projects = 750 pages): one prepared upsert,
 * reused for every row of every page, one transaction per page.
 */
#include "state/internal.h"

#include <stddef.h>
#include <string.h>

struct state_refresh {
	state *s;                   /* NULL once the handle was closed */
	struct state_refresh *next; /* in s->refreshes */
	int64_t gen, started_at;
	db_stmt *upsert;
};

/* The bookkeeping columns deep_at, deep_updated_at and deep_fingerprint
 * belong to deep reads and are kept by the upsert. */
#define SET_EXCLUDED(field, kind) ", " #field " = excluded." #field
#define PLACEHOLDER(field, kind) ", ?"
static const char upsert_sql[] =
	"INSERT INTO projects(id" STATE_PROJECT_LISTED(STATE__COLUMN) ", listed_at, refresh_gen, fingerprint)"
	" VALUES (?" STATE_PROJECT_LISTED(PLACEHOLDER) ", ?, ?, ?)"
	" ON CONFLICT(id) DO UPDATE SET listed_at = excluded.listed_at, refresh_gen = excluded.refresh_gen,"
	" fingerprint = excluded.fingerprint" STATE_PROJECT_LISTED(SET_EXCLUDED);

/* ------------------------------------------------------------------ rows */

/* One column of a row by its kind (STATE_PROJECT_FIELDS). */
static char *read_TEXT(db_stmt *st, int i, bool copy)
{
	return state__col_text(st, i, copy);
}
static int read_INT(db_stmt *st, int i, bool copy)
{
	(void)copy;
	return db_col_int(st, i);
}
static int64_t read_I64(db_stmt *st, int i, bool copy)
{
	(void)copy;
	return db_col_i64(st, i);
}
static int64_t read_I64N(db_stmt *st, int i, bool copy)
{
	(void)copy;
	return db_col_null(st, i) ? -1 : db_col_i64(st, i);
}
static double read_REAL(db_stmt *st, int i, bool copy)
{
	(void)copy;
	return db_col_double(st, i);
}
static bool read_BOOL(db_stmt *st, int i, bool copy)
{
	(void)copy;
	return db_col_int(st, i) != 0;
}

static int bind_TEXT(db_stmt *st, int i, const char *v)
{
	return db_bind_text(st, i, v);
}
static int bind_INT(db_stmt *st, int i, int v)
{
	return db_bind_i64(st, i, v);
}
static int bind_I64(db_stmt *st, int i, int64_t v)
{
	return db_bind_i64(st, i, v);
}
static int bind_I64N(db_stmt *st, int i, int64_t v)
{
	return v < 0 ? db_bind_null(st, i) : db_bind_i64(st, i, v);
}
static int bind_REAL(db_stmt *st, int i, double v)
{
	return db_bind_double(st, i, v);
}
static int bind_BOOL(db_stmt *st, int i, bool v)
{
	return db_bind_i64(st, i, v);
}

/* A string field's offset in state_project; nothing for the others. */
#define OFFSET_TEXT(field) offsetof(state_project, field),
#define OFFSET_INT(field)
#define OFFSET_I64(field)
#define OFFSET_I64N(field)
#define OFFSET_REAL(field)
#define OFFSET_BOOL(field)
#define OFFSET_IF_TEXT(field, kind) OFFSET_##kind(field)
/* the heap strings a state_project owns */
static const size_t owned_strings[] = {offsetof(state_project, id), STATE_PROJECT_FIELDS(OFFSET_IF_TEXT)};

void state__read_project(db_stmt *st, state_project *p, bool copy)
{
	int i = 0;
	memset(p, 0, sizeof(*p));
	p->id = state__col_text(st, i++, copy);
#define READ(field, kind) p->field = read_##kind(st, i++, copy);
	STATE_PROJECT_FIELDS(READ)
#undef READ
}

void state_project_fingerprint(const state_project *p, char out[STATE_FINGERPRINT_LEN + 1])
{
	char hex[SHA256_HEX_LEN + 1];
	buf b = BUF_INIT(0);
	/* every field in a fixed order with a separator no value can end in
	 * ambiguously; JSON texts are the canonical ones the refresh stores */
	if (buf_printf(&b, "%s\x1f%s\x1f%d\x1f%lld\x1f%lld\x1f%lld\x1f%lld\x1f%lld\x1f%lld\x1f%.4f\x1f%.4f\x1f%lld"
		       "\x1f%s\x1f%s\x1f%d\x1f%d\x1f%d\x1f%s",
		       p->name ? p->name : "", p->region_id ? p->region_id : "", p->pg_version,
		       (long long)p->history_retention_seconds, (long long)p->quota_active_time,
		       (long long)p->quota_compute_time, (long long)p->quota_written_data,
		       (long long)p->quota_data_transfer, (long long)p->quota_logical_size, p->min_cu, p->max_cu,
		       (long long)p->suspend_timeout_seconds, p->pg_settings_json ? p->pg_settings_json : "",
		       p->allowed_ips_json ? p->allowed_ips_json : "", p->protected_branches_only,
		       p->logical_replication, p->block_public_connections,
		       p->maintenance_window_json ? p->maintenance_window_json : "") != 0)
		abort();
	sha256_hex(b.data, b.len, hex);
	buf_release(&b);
	memcpy(out, hex, STATE_FINGERPRINT_LEN);
	out[STATE_FINGERPRINT_LEN] = 0;
}

void state__project_copy(const state_project *from, state_project *to)
{
	*to = *from;
	for (size_t i = 0; i < ARRAY_LEN(owned_strings); i++) {
		char **f = (char **)((char *)to + owned_strings[i]);
		if (*f)
			*f = xstrdup(*f);
	}
}

void state_project_release(state_project *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < sizeof(owned_strings) / sizeof(owned_strings[0]); i++)
		free(*(char **)((char *)p + owned_strings[i]));
	memset(p, 0, sizeof(*p));
}

int state_project_get(state *s, const char *id, state_project *out)
{
	db_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!id)
		return err_set(ERR_INVALID, "state: project id is missing");
	/* many lookups in one read transaction: served from its snapshot */
	if ((rc = state__snap_project(s, id, out)) != STATE__SNAP_MISS)
		return rc;
	if ((rc = state__stmt(s, "SELECT " STATE_PROJECT_COLUMNS " FROM projects WHERE id = ?1", &st)) != 0)
		return rc;
	db_bind_text(st, 1, id);
	rc = db_step(st);
	if (rc == DB_ROW) {
		state__read_project(st, out, true);
		rc = 0;
	} else if (rc == DB_DONE) {
		rc = err_set(ERR_NOTFOUND, "project '%s' is not in the cache", id);
	} else {
		rc = state__fail(s, rc, "reading a project");
	}
	state__reset(st);
	return rc;
}

typedef struct project_walk {
	state_project_fn fn;
	void *arg;
} project_walk;

static int project_row(db_stmt *st, void *arg)
{
	project_walk *w = arg;
	state_project p;
	state__read_project(st, &p, false);
	return w->fn(w->arg, &p);
}

int state_projects_foreach(state *s, state_project_fn fn, void *arg)
{
	project_walk w = {fn, arg};
	return state__foreach(s, "SELECT " STATE_PROJECT_COLUMNS " FROM projects ORDER BY id", "reading projects", project_row,
			  &w);
}

int64_t state_project_count(state *s)
{
	int64_t n;

	return state__query_i64(s, "SELECT count(*) FROM projects", &n) == 0 ? n : -1;
}

/* --------------------------------------------------------------- refresh */

static void refresh_free(state_refresh *r)
{
	state_refresh **pp;

	if (!r)
		return;
	if (r->s) {
		for (pp = &r->s->refreshes; *pp; pp = &(*pp)->next) {
			if (*pp == r) {
				*pp = r->next;
				break;
			}
		}
		db_finalize(r->upsert);
	}
	free(r);
}

void state__detach_refreshes(state *s)
{
	state_refresh *r, *next;

	for (r = s->refreshes; r; r = next) {
		next = r->next;
		db_finalize(r->upsert);
		r->upsert = NULL;
		r->s = NULL;
		r->next = NULL;
	}
	s->refreshes = NULL;
}

int state_refresh_begin(state *s, state_refresh **out)
{
	state_refresh *r = NULL;
	char *gen = NULL;
	char num[24];
	int64_t g = 0;
	int rc;

	*out = NULL;
	r = xcalloc(1, sizeof(*r));
	if ((rc = state__prepare(s, upsert_sql, &r->upsert)) != 0)
		goto done;
	if ((rc = state__begin(s, true)) != 0)
		goto done;
	if ((rc = state__meta_get(s, "refresh_gen", &gen)) == 0 && gen && str_to_i64(gen, &g) != 0)
		rc = err_set(ERR_INVALID, "state file '%s': meta refresh_gen is not a number: '%s'", s->path,
			     gen);
	if (rc == 0) {
		snprintf(num, sizeof(num), "%lld", (long long)(g + 1));
		rc = state__meta_set(s, "refresh_gen", num);
	}
	if (rc != 0) {
		state__rollback(s);
		goto done;
	}
	if ((rc = state__commit(s)) != 0)
		goto done;
	r->s = s;
	r->gen = g + 1;
	r->started_at = db_now();
	r->next = s->refreshes;
	s->refreshes = r;
	*out = r;
	r = NULL;
done:
	if (r)
		db_finalize(r->upsert);
	free(r);
	free(gen);
	return rc;
}

static int bind_project(db_stmt *st, const state_project *p, const state_refresh *r)
{
	int i = 1, rc = db_bind_text(st, i++, p->id);
#define BIND(field, kind) rc |= bind_##kind(st, i++, p->field);
	STATE_PROJECT_LISTED(BIND)
#undef BIND
	rc |= db_bind_i64(st, i++, r->started_at);
	rc |= db_bind_i64(st, i++, r->gen);
	char fp[STATE_FINGERPRINT_LEN + 1];
	state_project_fingerprint(p, fp);
	rc |= db_bind_text_copy(st, i, fp);
	return rc;
}

typedef struct page_rows {
	const state_project *items;
	const size_t *rows; /* the rows written, by index into items */
	const state_refresh *r;
} page_rows;

static int bind_page_row(db_stmt *st, size_t i, void *arg)
{
	const page_rows *pr = arg;

	return bind_project(st, &pr->items[pr->rows[i]], pr->r);
}

/* The page's rows, a project listed twice once (its last): a statement of
 * many rows may not upsert one row twice. Their count. */
static size_t page_unique(const state_project *items, size_t n, size_t *rows)
{
	strmap *last = strmap_new();
	size_t m = 0;

	for (size_t i = 0; i < n; i++)
		strmap_put(last, items[i].id, (void *)&items[i]);
	for (size_t i = 0; i < n; i++)
		if (strmap_get(last, items[i].id) == &items[i])
			rows[m++] = i;
	strmap_free(last);
	return m;
}

int state_refresh_page(state_refresh *r, const state_project *items, size_t n)
{
	state *s = r->s;
	size_t i;
	int rc;

	if (!s)
		return err_set(ERR_INVALID, "state: refresh page after the state file was closed");
	/* check the whole page first: a bad row must not leave half a page */
	for (i = 0; i < n; i++) {
		const state_project *p = &items[i];
		if (!p->id || !*p->id || !p->name || !p->region_id)
			return err_set(ERR_INVALID, "state: project %zu of the page ('%s') lacks %s", i,
				       p->id ? p->id : "", !p->id || !*p->id ? "an id" : !p->name ? "a name" : "a region");
	}
	/* PostgreSQL writes the page while the next one is fetched: its
	 * failure is reported by the next page or by state_refresh_finish,
	 * before any project is dropped as gone */
	size_t *rows = xcalloc(n ? n : 1, sizeof(*rows));
	page_rows pr = {items, rows, r};
	rc = state__write_batch(s, r->upsert, page_unique(items, n, rows), bind_page_row, &pr,
				"writing a page of projects");
	r->upsert->drv->clear(r->upsert);
	free(rows);
	return rc;
}

int state_project_put(state *s, const state_project *p, bool deep_current)
{
	db_stmt *st;
	char *gen = NULL;
	int64_t g = 0;
	int rc;

	if (!p->id || !*p->id || !p->name || !p->region_id)
		return err_set(ERR_INVALID, "state: project '%s' lacks %s", p->id ? p->id : "",
			       !p->id || !*p->id ? "an id" : !p->name ? "a name" : "a region");
	if ((rc = state__begin(s, true)) != 0)
		return rc;
	/* the generation of the last list refresh: the row counts as seen by
	 * it, so finishing that refresh never drops it */
	if ((rc = state__meta_get(s, "refresh_gen", &gen)) == 0 && gen && str_to_i64(gen, &g) != 0)
		g = 0;
	free(gen);
	if (rc == 0 && (rc = state__stmt(s, upsert_sql, &st)) == 0) {
		state_refresh r = {.s = s, .gen = g, .started_at = db_now()};
		if ((rc = bind_project(st, p, &r)) != 0) {
			rc = state__fail(s, rc, "binding a project");
		} else {
			rc = db_step(st);
			rc = rc == DB_DONE ? 0 : state__fail(s, rc, "writing a project");
		}
		state__reset(st);
	}
	if (rc == 0 && deep_current && (rc = state__stmt(s, "UPDATE projects SET deep_updated_at = updated_at, "
						       "deep_fingerprint = fingerprint WHERE id = ?1 AND deep_at > 0",
						       &st)) == 0) {
		db_bind_text(st, 1, p->id);
		rc = state__step_done(s, st, "writing a project");
	}
	if (rc != 0) {
		state__rollback(s);
		return rc;
	}
	return state__commit(s);
}

int state_refresh_finish(state_refresh *r, size_t *removed)
{
	state *s = r->s;
	db_stmt *st = NULL;
	char when[24];
	int64_t gone = 0;
	int rc;

	if (removed)
		*removed = 0;
	if (!s) {
		rc = err_set(ERR_INVALID, "state: refresh finished after the state file was closed");
		goto done;
	}
	if ((rc = state__begin(s, true)) != 0)
		goto done;
	if ((rc = state__stmt(s, "DELETE FROM projects WHERE refresh_gen < ?1", &st)) == 0) {
		db_bind_i64(st, 1, r->gen);
		rc = db_step(st);
		/* db_changes counts the projects only, not cascaded rows */
		gone = db_changes(s);
		rc = rc == DB_DONE ? 0 : state__fail(s, rc, "removing projects gone from the list");
		state__reset(st);
	}
	if (rc == 0) {
		snprintf(when, sizeof(when), "%lld", (long long)r->started_at);
		rc = state__meta_set(s, "list_refreshed_at", when);
	}
	if (rc == 0)
		rc = state__meta_set(s, "list_incomplete", NULL);
	if (rc != 0) {
		state__rollback(s);
		goto done;
	}
	if ((rc = state__commit(s)) != 0)
		goto done;
	if (removed)
		*removed = (size_t)gone;
done:
	refresh_free(r);
	return rc;
}

void state_refresh_abort(state_refresh *r)
{
	/* every committed page stays; nothing is removed */
	refresh_free(r);
}

int state_refresh_incomplete(state_refresh *r, int64_t missing)
{
	char n[24];
	int rc;

	if (!r->s) {
		refresh_free(r);
		return err_set(ERR_INVALID, "state: refresh ended after the state file was closed");
	}
	snprintf(n, sizeof(n), "%lld", (long long)(missing > 0 ? missing : 1));
	rc = state__meta_set(r->s, "list_incomplete", n);
	refresh_free(r);
	return rc;
}

int64_t state_list_incomplete(state *s)
{
	char *v = NULL;
	int64_t n = 0;

	if (state__meta_get(s, "list_incomplete", &v) != 0 || !v || str_to_i64(v, &n) != 0 || n < 0)
		n = 0;
	free(v);
	return n;
}

/* ------------------------------------------------------------- summary */

static int summary_regions(state *s, state_summary *out)
{
	db_stmt *st;
	size_t cap = 0;
	int rc;

	if ((rc = state__stmt(s, "SELECT region_id, count(*) FROM projects GROUP BY region_id ORDER BY region_id",
			  &st)) != 0)
		return rc;
	while ((rc = db_step(st)) == DB_ROW) {
		out->by_region = xgrow(out->by_region, &cap, out->nby_region + 1, sizeof(*out->by_region));
		out->by_region[out->nby_region].key = state__col_str(st, 0);
		out->by_region[out->nby_region].n = db_col_i64(st, 1);
		out->nby_region++;
	}
	rc = rc == DB_DONE ? 0 : state__fail(s, rc, "counting projects by region");
	state__reset(st);
	return rc;
}

static int summary_endpoints(state *s, state_summary *out)
{
	db_stmt *st;
	int rc;

	if ((rc = state__stmt(s, "SELECT count(*), coalesce(sum(CASE WHEN current_state = 'active' THEN 1 ELSE 0 END), 0), "
			  "coalesce(sum(CASE WHEN current_state = 'idle' THEN 1 ELSE 0 END), 0) "
			  "FROM endpoints", &st)) != 0)
		return rc;
	if ((rc = state__step_one(s, st, "counting endpoints")) == 0) {
		int64_t all = db_col_i64(st, 0);
		out->endpoints_active = db_col_i64(st, 1);
		out->endpoints_idle = db_col_i64(st, 2);
		out->endpoints_other = all - out->endpoints_active - out->endpoints_idle;
	}
	state__reset(st);
	return rc;
}

int state_summary_get(state *s, state_summary *out)
{
	char *when = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = state__begin(s, false)) != 0)
		return rc;
	if ((rc = state__query_i64(s, "SELECT count(*) FROM projects", &out->projects)) != 0 ||
	    (rc = state__query_i64(s, "SELECT count(*) FROM tenants", &out->tenants_mapped)) != 0 ||
	    (rc = state__query_i64(s, "SELECT count(*) FROM projects p WHERE NOT EXISTS "
			       "(SELECT 1 FROM tenants t WHERE t.project_id = p.id)",
			       &out->projects_unmapped)) != 0 ||
	    (rc = state__query_i64(s, "SELECT count(*) FROM tenants t WHERE NOT EXISTS "
			       "(SELECT 1 FROM projects p WHERE p.id = t.project_id)",
			       &out->tenants_without_project)) != 0 ||
	    (rc = state__query_i64(s, "SELECT count(*) FROM branches b JOIN tenants t ON t.project_id = b.project_id "
			       "WHERE b.is_default = 0 AND (b.annotations_json IS NULL OR "
			       "b.annotations_json NOT LIKE '%\"flotilla.fleet\"%')",
			       &out->branches_unmarked)) != 0 ||
	    (rc = summary_endpoints(s, out)) != 0 || (rc = summary_regions(s, out)) != 0 ||
	    (rc = state__meta_get(s, "list_refreshed_at", &when)) != 0)
		goto done;
	if (when && str_to_i64(when, &out->list_refreshed_at) != 0)
		rc = err_set(ERR_INVALID, "state file '%s': meta list_refreshed_at is not a number: '%s'",
			     s->path, when);
done:
	free(when);
	if (rc == 0)
		rc = state__commit(s);
	else
		state__rollback(s);
	if (rc != 0)
		state_summary_release(out);
	return rc;
}

void state_summary_release(state_summary *sum)
{
	size_t i;

	if (!sum)
		return;
	for (i = 0; i < sum->nby_region; i++)
		free(sum->by_region[i].key);
	free(sum->by_region);
	memset(sum, 0, sizeof(*sum));
}
