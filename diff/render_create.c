/*
 * render_create.c: what a create will make, for the text and Markdown
 * plans (render.c): its region and Postgres version for the create line,
 * and indented lines for the rest (compute, quota, history retention,
 * each branch with its databases and roles, read replicas, allowed IPs,
 * settings).
 *
 * Everything is read from the action's calls, the POST /projects body and
 * the follow-up POSTs, not from the manifest: a plan read back from its
 * file has the calls but no fleet, and must show the same lines. Values
 * are picked by name, never a body copied out, and the calls hold no
 * secret (Neon returns passwords and connection URIs in the create's
 * response, which no plan holds). Identical lines let render.c group
 * identical creates, so the lines hold nothing of the tenant's own (its
 * project name, its annotations).
 */
#include <string.h>

#include "diff/internal.h"

/* A branch the create makes: the default one (from the project body) or
 * one of its own call, with what the calls make on it. */
typedef struct made_branch {
	char *name;
	char *parent; /* NULL: the default branch, or none named */
	bool is_default, protect;
	buf dbs, roles; /* "ledger (owner app_owner), audit (owner reporting)" */
	size_t ndbs, nroles;
} made_branch;

typedef struct made {
	made_branch *v;
	size_t n, cap;
	size_t replicas;
	const json_t *schedule; /* the backup schedule a PUT sets, borrowed */
} made;

/* The NAME of "{branch_id:NAME}" inside s (a path or a parent_id), or NULL;
 * *len its length. */
static const char *branch_ref(const char *s, size_t *len)
{
	static const char open[] = "{branch_id:";
	const char *p = s ? strstr(s, open) : NULL;
	if (!p)
		return NULL;
	p += sizeof(open) - 1;
	const char *end = strchr(p, '}');
	if (!end)
		return NULL;
	*len = (size_t)(end - p);
	return p;
}

/* The branch called name (len bytes), added in call order when new. */
static made_branch *branch_get(made *m, const char *name, size_t len)
{
	for (size_t i = 0; i < m->n; i++)
		if (strlen(m->v[i].name) == len && memcmp(m->v[i].name, name, len) == 0)
			return &m->v[i];
	m->v = xgrow(m->v, &m->cap, m->n + 1, sizeof(*m->v));
	made_branch *b = &m->v[m->n++];
	memset(b, 0, sizeof(*b));
	b->name = xstrndup(name, len);
	b->dbs = (buf)BUF_INIT(0);
	b->roles = (buf)BUF_INIT(0);
	return b;
}

static void made_release(made *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].name);
		free(m->v[i].parent);
		buf_release(&m->v[i].dbs);
		buf_release(&m->v[i].roles);
	}
	free(m->v);
}

static void add_db(made_branch *b, const char *name, const char *owner)
{
	int rc = buf_printf(&b->dbs, "%s%s", b->ndbs++ ? ", " : "", name);
	if (owner)
		rc |= buf_printf(&b->dbs, " (owner %s)", owner);
	(void)rc; /* no maximum: appends cannot fail */
}

static void add_role(made_branch *b, const char *name, bool no_login)
{
	int rc = buf_printf(&b->roles, "%s%s%s", b->nroles++ ? ", " : "", name, no_login ? " (no login)" : "");
	(void)rc;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* One call after the POST /projects: what it makes, into m. DELETEs (the
 * empty "neondb" Neon makes unasked) make nothing. */
static void made_call(made *m, const plan_call *c)
{
	size_t len = 0;
	const char *ref = branch_ref(c->path, &len);
	const json_t *o;
	if (!strcmp(c->method, "PATCH") && ref && (o = json_object_get(c->body, "branch"))) {
		if (json_is_true(json_object_get(o, "protected")))
			branch_get(m, ref, len)->protect = true;
	} else if (!strcmp(c->method, "PUT") && ends_with(c->path, "/backup_schedule")) {
		m->schedule = json_object_get(c->body, "schedule");
	} else if (strcmp(c->method, "POST") != 0) {
		return;
	} else if (!strcmp(c->path, "/projects/{project_id}/branches") && (o = json_object_get(c->body, "branch"))) {
		const char *name = json_string_value(json_object_get(o, "name"));
		if (!name)
			return;
		made_branch *b = branch_get(m, name, strlen(name));
		const char *parent = branch_ref(json_string_value(json_object_get(o, "parent_id")), &len);
		free(b->parent);
		b->parent = parent ? xstrndup(parent, len) : NULL;
		b->protect = json_is_true(json_object_get(o, "protected"));
	} else if (ref && ends_with(c->path, "/roles") && (o = json_object_get(c->body, "role"))) {
		const char *name = json_string_value(json_object_get(o, "name"));
		if (name)
			add_role(branch_get(m, ref, len), name, json_is_true(json_object_get(o, "no_login")));
	} else if (ref && ends_with(c->path, "/databases") && (o = json_object_get(c->body, "database"))) {
		const char *name = json_string_value(json_object_get(o, "name"));
		if (name)
			add_db(branch_get(m, ref, len), name, json_string_value(json_object_get(o, "owner_name")));
	} else if (!strcmp(c->path, "/projects/{project_id}/endpoints") && (o = json_object_get(c->body, "endpoint"))) {
		const char *type = json_string_value(json_object_get(o, "type"));
		if (type && !strcmp(type, "read_only"))
			m->replicas++;
	}
}

/* The default branch of the project body, with its inline role and
 * database (the database owned by the role). */
static void made_default(made *m, const json_t *proj)
{
	const json_t *br = json_object_get(proj, "branch");
	const char *name = json_string_value(json_object_get(br, "name"));
	if (!name)
		return;
	made_branch *b = branch_get(m, name, strlen(name));
	b->is_default = true;
	const char *role = json_string_value(json_object_get(br, "role_name"));
	const char *db = json_string_value(json_object_get(br, "database_name"));
	if (db)
		add_db(b, db, role);
	if (role)
		add_role(b, role, false); /* Neon makes the inline role with login */
}

static void line_add(char ***v, size_t *n, size_t *cap, char *s)
{
	*v = xgrow(*v, cap, *n + 1, sizeof(**v));
	(*v)[(*n)++] = s;
}

/* A field of the project body, read with the field table's row (0: absent),
 * and the value for people in out. */
static int64_t field_value(const state_project *sp, spec_field f, char out[32])
{
	const diff_field *df = diff_field_find(f);
	int64_t v = field_live(df, sp);
	diff__field_format(df, v, out);
	return v;
}

/* compute: the endpoint range, its suspend timeout and pg settings. */
static char *compute_line(const state_project *sp, const json_t *proj)
{
	if (sp->min_cu <= 0 && sp->max_cu <= 0)
		return NULL; /* no default_endpoint_settings: Neon's defaults */
	char lo[32], hi[32], suspend[32];
	int64_t min = field_value(sp, SF_COMPUTE_MIN_CU, lo), max = field_value(sp, SF_COMPUTE_MAX_CU, hi);
	field_value(sp, SF_COMPUTE_SUSPEND_TIMEOUT, suspend);
	buf b = BUF_INIT(0);
	int rc = buf_printf(&b, "    compute: %s%s%s CU, suspend timeout %s", lo, min == max ? "" : "-",
			    min == max ? "" : hi, suspend);
	json_t *pgs = json_object_get(json_object_get(proj, "default_endpoint_settings"), "pg_settings");
	if (json_object_size(pgs)) {
		const char *k;
		json_t *v;
		size_t i = 0;
		rc |= buf_adds(&b, ", pg settings {");
		json_object_foreach(pgs, k, v)
			rc |= buf_printf(&b, "%s%s: %s", i++ ? ", " : "", k, json_string_value(v) ? json_string_value(v) : "?");
		rc |= buf_adds(&b, "}");
	}
	(void)rc;
	return buf_detach(&b, NULL);
}

/* quota: the limits set (0 is Neon's "unlimited"), by their manifest names. */
static char *quota_line(const state_project *sp)
{
	static const spec_field quota[] = {SF_QUOTA_ACTIVE_TIME, SF_QUOTA_COMPUTE_TIME, SF_QUOTA_WRITTEN_DATA,
					    SF_QUOTA_DATA_TRANSFER, SF_QUOTA_LOGICAL_SIZE};
	buf b = BUF_INIT(0);
	int rc = 0;
	for (size_t i = 0; i < ARRAY_LEN(quota); i++) {
		char v[32];
		if (!field_value(sp, quota[i], v))
			continue;
		const char *path = spec_field_get(quota[i])->path, *dot = strchr(path, '.');
		rc |= buf_printf(&b, "%s%s %s", b.len ? ", " : "    quota: ", dot ? dot + 1 : path, v);
	}
	(void)rc;
	return b.len ? buf_detach(&b, NULL) : (buf_release(&b), NULL);
}

/* allowed IPs, when the body lists any. */
static char *ips_line(const state_project *sp, const json_t *proj)
{
	const json_t *ips = json_object_get(json_object_get(json_object_get(proj, "settings"), "allowed_ips"), "ips");
	if (!json_array_size(ips))
		return NULL;
	buf b = BUF_INIT(0);
	int rc = buf_adds(&b, "    allowed IPs: ");
	for (size_t i = 0; i < json_array_size(ips); i++) {
		const char *ip = json_string_value(json_array_get(ips, i));
		rc |= buf_printf(&b, "%s%s", i ? ", " : "", ip ? ip : "?");
	}
	if (sp->protected_branches_only)
		rc |= buf_adds(&b, " (protected branches only)");
	(void)rc;
	return buf_detach(&b, NULL);
}

/* settings: the ones a create turns on (logical replication, blocked
 * public connections, a maintenance window). */
static char *settings_line(const state_project *sp, const json_t *proj)
{
	const json_t *mw = json_object_get(json_object_get(proj, "settings"), "maintenance_window");
	buf b = BUF_INIT(0);
	int rc = 0;
	if (sp->logical_replication)
		rc |= buf_adds(&b, ", logical replication");
	if (sp->block_public_connections)
		rc |= buf_adds(&b, ", public connections blocked");
	if (json_is_object(mw)) {
		char *w = diff__fmt_window(json_object_get(mw, "weekdays"),
					   json_string_value(json_object_get(mw, "start_time")),
					   json_string_value(json_object_get(mw, "end_time")));
		rc |= buf_printf(&b, ", maintenance window %s", w);
		free(w);
	}
	(void)rc;
	char *s = b.len ? xasprintf("    settings: %s", b.data + 2) : NULL;
	buf_release(&b);
	return s;
}

/* "branch staging (from main, protected): databases app (owner app_owner); roles app_owner" */
static char *branch_line(const made_branch *b)
{
	buf l = BUF_INIT(0);
	int rc = buf_printf(&l, "    branch %s", b->name);
	const char *attr[3];
	size_t n = 0;
	char *from = b->parent ? xasprintf("from %s", b->parent) : NULL;
	if (b->is_default)
		attr[n++] = "default";
	if (from)
		attr[n++] = from;
	if (b->protect)
		attr[n++] = "protected";
	for (size_t i = 0; i < n; i++)
		rc |= buf_printf(&l, "%s%s", i ? ", " : " (", attr[i]);
	if (n)
		rc |= buf_adds(&l, ")");
	free(from);
	if (b->ndbs || b->nroles)
		rc |= buf_adds(&l, ":");
	if (b->ndbs)
		rc |= buf_printf(&l, " database%s %s", b->ndbs > 1 ? "s" : "", b->dbs.data);
	if (b->nroles)
		rc |= buf_printf(&l, "%s role%s %s", b->ndbs ? ";" : "", b->nroles > 1 ? "s" : "", b->roles.data);
	(void)rc;
	return buf_detach(&l, NULL);
}

/* "aws-us-east-2, pg 17", or what of it the body has */
static char *create_label(const state_project *sp)
{
	if (sp->region_id && sp->pg_version)
		return xasprintf("%s, pg %d", sp->region_id, sp->pg_version);
	if (sp->pg_version)
		return xasprintf("pg %d", sp->pg_version);
	return xstrdup(sp->region_id ? sp->region_id : "");
}

void diff__create_details(const plan *p, const plan_action *a, char **label, char ***lines, size_t *nlines)
{
	plan_calls calls;
	plan_action_calls(p, a, &calls);
	const json_t *proj = NULL;
	made m;
	memset(&m, 0, sizeof(m));
	for (size_t i = 0; i < calls.n; i++) {
		const plan_call *c = &calls.v[i];
		if (!c->method || !c->path)
			continue;
		if (!proj && c->body && !strcmp(c->method, "POST") && !strcmp(c->path, "/projects")) {
			proj = json_object_get(c->body, "project");
			made_default(&m, proj);
		} else if (c->body) {
			made_call(&m, c);
		}
	}
	state_project sp;
	memset(&sp, 0, sizeof(sp));
	/* a body of the wrong shape (a plan file's, validated elsewhere) shows
	 * no fields rather than wrong ones */
	if (!json_is_object(proj) || diff_fields_from_json(&sp, proj, "project") != 0)
		memset(&sp, 0, sizeof(sp));
	*label = create_label(&sp);
	*lines = NULL;
	*nlines = 0;
	size_t cap = 0;
	char *s, v[32];
	if ((s = compute_line(&sp, proj)))
		line_add(lines, nlines, &cap, s);
	if ((s = quota_line(&sp)))
		line_add(lines, nlines, &cap, s);
	if (field_value(&sp, SF_HISTORY_RETENTION, v))
		line_add(lines, nlines, &cap, xasprintf("    history retention: %s", v));
	for (size_t i = 0; i < m.n; i++)
		line_add(lines, nlines, &cap, branch_line(&m.v[i]));
	if (m.replicas)
		line_add(lines, nlines, &cap, xasprintf("    read replicas: %zu", m.replicas));
	if (json_array_size(m.schedule)) {
		char sched[512];
		diff__fmt_schedule(m.schedule, sched, sizeof(sched));
		line_add(lines, nlines, &cap, xasprintf("    backups: %s", sched));
	}
	if ((s = ips_line(&sp, proj)))
		line_add(lines, nlines, &cap, s);
	if ((s = settings_line(&sp, proj)))
		line_add(lines, nlines, &cap, s);
	made_release(&m);
	plan_calls_release(&calls); /* after the lines: sp borrows the body's strings */
}
