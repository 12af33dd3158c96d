/*
 * restore.c: `flotilla restore`'s work: a tenant's branch restored to an
 * earlier point (POST …/branches/{id}/restore), its pre-restore state kept
 * under a preserved name, and that branch's expiry set (PATCH expires_at);
 * or a snapshot restored in Neon's two steps (POST …/snapshots/{id}/restore
 * into a staging branch, POST …/branches/{staging}/finalize_restore, which
 * renames the branch it replaces to the preserved name).
 *
 * Each write is journaled as apply's are: the intent (method, path, body)
 * before it is sent, the ids after the answer, the outcome after its
 * operations. A row left unfinished (a crash, a lost answer) is settled by
 * the next apply's resume like any other call (the project read again), or
 * by the next restore of the tenant (restore_settle: it ran when its
 * preserved branch is there), so a restore is never sent twice. Writes to
 * a busy project wait: the client retries 423 while its lock wait lasts.
 * After the restore the project is read back, so the cache (and status)
 * holds the preserved branch; the deep read is marked stale first, so a
 * crash in between leaves a project the next plan reads again.
 */
#include <string.h>

#include "engine/internal.h"

#define RESTORE_OP_TIMEOUT_MS 600000
#define RESTORE_LABEL "POST /projects/{id}/branches/{id}/restore"
#define SNAPSHOT_LABEL "POST /projects/{id}/snapshots/{id}/restore"
#define FINALIZE_LABEL "POST /projects/{id}/branches/{id}/finalize_restore"
#define EXPIRY_LABEL "PATCH /projects/{id}/branches/{id}"

/* The journal's labels of the writes, by RESTORE_* (and the expiry) */
typedef enum { W_POINT = RESTORE_POINT, W_SNAPSHOT = RESTORE_SNAPSHOT, W_FINALIZE = RESTORE_FINALIZE, W_EXPIRY } write_kind;
static const char *const LABELS[] = {RESTORE_LABEL, SNAPSHOT_LABEL, FINALIZE_LABEL, EXPIRY_LABEL};

static int send_write(neon_client *c, const restore_req *rq, write_kind k, const char *target, neon_write_result *out)
{
	neon_restore_req r = {rq->source_branch_id, rq->lsn, rq->timestamp, rq->preserve_as};
	switch (k) {
	case W_POINT:
		return neon_branch_restore(c, rq->project_id, rq->branch_id, &r, out);
	case W_SNAPSHOT:
		return neon_snapshot_restore(c, rq->project_id, rq->snapshot_id, rq->staging, rq->branch_id, out);
	case W_FINALIZE:
		return neon_branch_finalize_restore(c, rq->project_id, target, rq->preserve_as, out);
	case W_EXPIRY:
		break;
	}
	return neon_branch_set_expiry(c, rq->project_id, target, rq->expires_at, out);
}

/* Journal one write, send it, wait for its operations, finish the row.
 * body is borrowed. */
static int journaled(state *st, neon_client *c, const restore_req *rq, write_kind k, const char *path,
		     const json_t *body, const char *target, neon_write_result *out)
{
	int64_t jid = 0;
	const char *label = LABELS[k];
	json_t *intent = json_pack("{s:s,s:s,s:O}", "method", k == W_EXPIRY ? "PATCH" : "POST", "path", path, "body",
				   body);
	if (rq->snapshot_id) /* what settling a lost answer compares */
		json_object_set_new(intent, "snapshot_id", json_string(rq->snapshot_id));
	char *text = json_dumps(intent, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(intent);
	int rc = state_journal_intent(st, rq->run_id, rq->tenant, rq->project_id, label, text, &jid);
	free(text);
	if (rc != 0)
		return err_set(rc, "cannot write the journal before %s: %s", label, err_msg());
	if ((rc = state_deep_stale(st, rq->project_id)) != 0)
		return rc;
	rc = send_write(c, rq, k, target, out);
	if (rc != 0) {
		char *why = xstrdup(err_msg());
		int frc = state_journal_finish(st, jid, rc == ERR_UNKNOWN_OUTCOME ? STATE_JOURNAL_UNKNOWN
							: STATE_JOURNAL_FAILED, why);
		err_set(rc, "%s", why);
		free(why);
		return frc != 0 ? frc : rc;
	}
	json_t *ops = json_array();
	for (size_t i = 0; i < out->nops; i++)
		json_array_append_new(ops, json_string(out->op_ids[i]));
	char *opt = json_dumps(ops, JSON_COMPACT);
	json_decref(ops);
	bool made = k == W_POINT || k == W_SNAPSHOT; /* the id of the branch it made */
	rc = state_journal_sent(st, jid, NULL, made ? out->other_branch_id : target, opt, out->request_id);
	free(opt);
	if (rc != 0)
		return rc;
	int wrc = neon_ops_wait(c, rq->project_id, (const char *const *)out->op_ids, out->nops,
				RESTORE_OP_TIMEOUT_MS);
	char *why = wrc ? xstrdup(err_msg()) : NULL;
	rc = state_journal_finish(st, jid, wrc ? STATE_JOURNAL_FAILED : STATE_JOURNAL_DONE, why);
	if (wrc)
		err_set(wrc, "%s", why);
	free(why);
	return wrc ? wrc : rc;
}

/* PATCH expires_at of the preserved branch, journaled. */
static int expiry_set(state *st, neon_client *c, const restore_req *rq, const char *preserved_id,
		      neon_write_result *x)
{
	char path[256];
	snprintf(path, sizeof(path), "/projects/%s/branches/%s", rq->project_id, preserved_id);
	json_t *body = json_pack("{s:{s:s}}", "branch", "expires_at", rq->expires_at);
	int rc = journaled(st, c, rq, W_EXPIRY, path, body, preserved_id, x);
	json_decref(body);
	return rc;
}

int restore_expiry(state *st, neon_client *c, const restore_req *rq, const char *preserved_id)
{
	neon_write_result x;
	memset(&x, 0, sizeof(x));
	int rc = expiry_set(st, c, rq, preserved_id, &x);
	neon_write_result_release(&x);
	return rc;
}

static void on_read_back(void *arg, int rc, const char *error)
{
	char **e = arg;
	if (rc != 0 && !*e)
		*e = xstrdup(error ? error : "failed");
}

/* A snapshot into a staging branch (unless an earlier run made it:
 * rq->staged_id), then finalized: the staging branch takes the target's
 * computes and name, the target becomes the preserved branch. */
static int snapshot_restore(state *st, neon_client *c, const restore_req *rq, restore_result *out)
{
	neon_write_result w, f;
	memset(&w, 0, sizeof(w));
	memset(&f, 0, sizeof(f));
	char path[256];
	int rc = 0;
	const char *staged = rq->staged_id;
	if (!staged) {
		snprintf(path, sizeof(path), "/projects/%s/snapshots/%s/restore", rq->project_id, rq->snapshot_id);
		json_t *body = neon_snapshot_restore_body(rq->staging, rq->branch_id);
		rc = journaled(st, c, rq, W_SNAPSHOT, path, body, rq->branch_id, &w);
		json_decref(body);
		staged = w.other_branch_id;
	}
	if (rc == 0 && staged) {
		out->restored_id = xstrdup(staged);
		snprintf(path, sizeof(path), "/projects/%s/branches/%s/finalize_restore", rq->project_id, staged);
		json_t *body = neon_finalize_restore_body(rq->preserve_as);
		rc = journaled(st, c, rq, W_FINALIZE, path, body, staged, &f);
		json_decref(body);
	}
	if (rc == 0) {
		out->restored = true;
		out->preserved_id = xstrdup(rq->branch_id); /* the target, renamed */
	}
	neon_write_result_release(&w);
	neon_write_result_release(&f);
	return rc;
}

int restore_run(state *st, neon_client *c, const restore_req *rq, restore_result *out)
{
	memset(out, 0, sizeof(*out));
	neon_write_result w, x;
	memset(&w, 0, sizeof(w));
	memset(&x, 0, sizeof(x));
	int rc;
	if (rq->snapshot_id) {
		if ((rc = snapshot_restore(st, c, rq, out)) != 0)
			goto done;
	} else {
		char path[256];
		snprintf(path, sizeof(path), "/projects/%s/branches/%s/restore", rq->project_id, rq->branch_id);
		neon_restore_req body_rq = {rq->source_branch_id, rq->lsn, rq->timestamp, rq->preserve_as};
		json_t *body = neon_restore_body(&body_rq);
		rc = journaled(st, c, rq, W_POINT, path, body, rq->branch_id, &w);
		json_decref(body);
		if (rc != 0)
			goto done;
		out->restored = true;
		if (w.other_branch_id)
			out->preserved_id = xstrdup(w.other_branch_id);
	}
	if (rq->expires_at && out->preserved_id) {
		if ((rc = expiry_set(st, c, rq, out->preserved_id, &x)) != 0)
			goto done;
		out->expiry_set = true;
	}
done:;
	/* read back even after a failure: what did run is what the cache needs */
	char *rb = NULL;
	int keep = rc;
	char *why = rc ? xstrdup(err_msg()) : NULL;
	refresh_one_submit(st, c, rq->project_id, on_read_back, &rb);
	if (neon_run(c) == 0 && rb && !why)
		out->read_back_error = rb;
	else
		free(rb);
	if (why)
		err_set(keep, "%s", why);
	free(why);
	neon_write_result_release(&w);
	neon_write_result_release(&x);
	return keep;
}

void restore_result_release(restore_result *r)
{
	free(r->preserved_id);
	free(r->restored_id);
	free(r->read_back_error);
	memset(r, 0, sizeof(*r));
}

/* ------------------------------------------- a restore left unfinished */

/* The tenant's unfinished restore rows: ids and intents (heap). */
typedef struct unfinished {
	int64_t *ids;
	char **intents;
	size_t n;
} unfinished;

static int find_unfinished(void *arg, const state_journal_entry *e)
{
	unfinished *u = arg;
	if (!e->action || !e->state ||
	    (strcmp(e->action, RESTORE_LABEL) != 0 && strcmp(e->action, SNAPSHOT_LABEL) != 0 &&
	     strcmp(e->action, FINALIZE_LABEL) != 0) || strcmp(e->state, STATE_JOURNAL_DONE) == 0 ||
	    strcmp(e->state, STATE_JOURNAL_FAILED) == 0 || strcmp(e->state, STATE_JOURNAL_RESOLVED) == 0)
		return 0;
	u->ids = xrealloc(u->ids, (u->n + 1) * sizeof(*u->ids));
	u->intents = xrealloc(u->intents, (u->n + 1) * sizeof(*u->intents));
	u->ids[u->n] = e->id;
	u->intents[u->n++] = xstrdup(e->intent_json ? e->intent_json : "");
	return 0;
}

static const state_branch *branch_named(const state_deep *d, const char *name)
{
	for (size_t i = 0; name && i < d->nbranches; i++)
		if (strcmp(d->branches[i].name, name) == 0)
			return &d->branches[i];
	return NULL;
}

/* Row id with intent: it ran when the branch it makes under a name is live
 * now: a point restore's preserved branch (Neon makes it with the
 * restore), a snapshot restore's staging branch, a finalize's preserved
 * name (the branch it replaced, renamed). Resolved either way; *o says. */
static int settle_one(state *st, const state_deep *d, int64_t id, const char *intent, restore_settled *o)
{
	json_t *j = json_loads(intent, 0, NULL);
	const json_t *body = json_object_get(j, "body");
	const char *path = json_string_value(json_object_get(j, "path"));
	const char *snap = json_string_value(json_object_get(j, "snapshot_id"));
	int kind = path && strstr(path, "/finalize_restore") ? RESTORE_FINALIZE
		   : path && strstr(path, "/snapshots/")    ? RESTORE_SNAPSHOT
							    : RESTORE_POINT;
	const char *name = json_string_value(json_object_get(body, kind == RESTORE_POINT ? "preserve_under_name" : "name"));
	const char *lsn = json_string_value(json_object_get(body, "source_lsn"));
	const char *ts = json_string_value(json_object_get(body, "source_timestamp"));
	const char *br = path ? strstr(path, "/branches/") : NULL;
	const state_branch *made = branch_named(d, name);
	restore_settled_release(o);
	o->journal_id = id;
	o->kind = kind;
	o->ran = made != NULL;
	if (kind == RESTORE_SNAPSHOT) {
		const char *target = json_string_value(json_object_get(body, "target_branch_id"));
		o->branch_id = target ? xstrdup(target) : NULL;
		o->preserved = name ? xstrdup(name) : NULL; /* the staging branch's */
		o->staged_id = made ? xstrdup(made->id) : NULL;
	} else {
		o->branch_id = br ? xstrndup(br + 10, strcspn(br + 10, "/")) : NULL;
		o->preserved = name ? xstrdup(name) : NULL;
		o->preserved_id = made ? xstrdup(made->id) : NULL;
	}
	o->point = lsn || ts ? xstrdup(lsn ? lsn : ts) : NULL;
	o->snapshot_id = snap ? xstrdup(snap) : NULL;
	static const char *const RAN[] = {"the restore had run: its preserved branch", "the snapshot restore had run: "
					  "its branch", "the finalize had run: the branch it replaced is there as"};
	static const char *const WHAT[] = {"restore", "snapshot restore", "finalize"};
	char *how = made ? xasprintf("%s %s (%s)%s", RAN[kind], name, made->id, kind == RESTORE_FINALIZE ? "" : " is there")
			 : xasprintf("the %s had not run: no branch %s", WHAT[kind], name ? name : "(unnamed)");
	json_decref(j);
	int rc = state_journal_finish(st, id, STATE_JOURNAL_RESOLVED, how);
	free(how);
	return rc;
}

int restore_settle(state *st, neon_client *c, const char *tenant, const char *project_id, restore_settled *out)
{
	memset(out, 0, sizeof(*out));
	unfinished u = {0};
	int rc = state_journal_tenant(st, tenant, 200, find_unfinished, &u);
	if (rc == 0 && u.n) {
		/* what the project holds now: the read-back puts it in the cache */
		char *rb = NULL;
		refresh_one_submit(st, c, project_id, on_read_back, &rb);
		rc = neon_run(c);
		if (rc == 0 && rb)
			rc = err_set(ERR_FAIL, "reading project %s back, to see whether an earlier restore had run: %s",
				     project_id, rb);
		free(rb);
		state_deep d;
		if (rc == 0 && (rc = state_deep_get(st, project_id, &d)) == 0) {
			for (size_t i = 0; i < u.n && rc == 0; i++)
				rc = settle_one(st, &d, u.ids[i], u.intents[i], out);
			state_deep_release(&d);
		}
	}
	for (size_t i = 0; i < u.n; i++)
		free(u.intents[i]);
	free(u.intents);
	free(u.ids);
	return rc;
}

void restore_settled_release(restore_settled *s)
{
	free(s->branch_id);
	free(s->point);
	free(s->preserved);
	free(s->preserved_id);
	free(s->snapshot_id);
	free(s->staged_id);
	memset(s, 0, sizeof(*s));
}
