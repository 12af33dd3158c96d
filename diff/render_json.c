/*
 * render_json.c: a plan for programs: stable, versioned JSON
 * (docs/plan-json.md), which plan files (planfile.c) also hold. Every
 * action but the unchanged ones, with its changes and its exact calls;
 * members are added in a fixed order, which is the order of the output.
 */
#include "diff/diff.h"

#include <string.h>
#include <time.h>

static int fmt_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return err_set(ERR_INVALID, "time %lld cannot be formatted", (long long)t);
	return 0;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *action_json(const plan *p, const plan_action *a)
{
	json_t *o = json_object(), *changes = json_array(), *calls = json_array();
	/* json_object_set_new steals each value; the order of these calls is
	 * the key order of the output */
	json_object_set_new(o, "tenant", json_string(a->tenant));
	json_object_set_new(o, "kind", json_string(plan_kind_name(a->kind)));
	json_object_set_new(o, "project_id", str_or_null(a->project_id));
	json_object_set_new(o, "reason", str_or_null(a->reason));
	json_object_set_new(o, "hint", str_or_null(a->hint));
	json_object_set_new(o, "deep_unknown", json_boolean(a->deep_unknown));
	json_object_set_new(o, "fingerprint", json_string(a->fingerprint));
	for (size_t i = 0; i < a->nchanges; i++) {
		const plan_change *c = &a->changes[i];
		json_t *cj = json_object();
		json_object_set_new(cj, "path", json_string(c->path));
		json_object_set_new(cj, "from", str_or_null(c->from));
		json_object_set_new(cj, "to", str_or_null(c->to));
		json_array_append_new(changes, cj);
	}
	json_object_set_new(o, "changes", changes);
	plan_calls pc;
	plan_action_calls(p, a, &pc);
	for (size_t i = 0; i < pc.n; i++) {
		const plan_call *c = &pc.v[i];
		json_t *cj = json_object();
		json_object_set_new(cj, "method", json_string(c->method));
		json_object_set_new(cj, "path", json_string(c->path));
		/* a built body is handed over; the plan's own is copied */
		json_t *body = c->body ? (pc.owned ? json_incref(c->body) : json_deep_copy(c->body)) : json_null();
		json_object_set_new(cj, "body", body);
		json_object_set_new(cj, "destructive", json_boolean(c->destructive));
		json_object_set_new(cj, "after_create", json_boolean(c->after_create));
		json_array_append_new(calls, cj);
	}
	plan_calls_release(&pc);
	json_object_set_new(o, "calls", calls);
	return o;
}

static json_t *count_json(size_t n)
{
	return json_integer((json_int_t)n);
}

int plan_render_json(const plan *p, buf *out)
{
	char created[32], refreshed[32];
	int rc = fmt_time(p->created_at, created);
	if (rc)
		return rc;
	if (p->cache_refreshed_at && (rc = fmt_time(p->cache_refreshed_at, refreshed)))
		return rc;

	json_t *doc = json_object(), *summary = json_object(), *stats = json_object();
	json_t *actions = json_array();
	json_object_set_new(doc, "format", json_string("flotilla-plan"));
	json_object_set_new(doc, "version", json_integer(PLAN_FORMAT_VERSION));
	json_object_set_new(doc, "commit", json_string(p->commit ? p->commit : ""));
	json_object_set_new(doc, "fleet", json_string(p->fleet ? p->fleet : ""));
	json_object_set_new(doc, "org_id", p->org_id ? json_string(p->org_id) : json_null());
	json_object_set_new(doc, "selected", json_boolean(p->selected));
	json_object_set_new(doc, "changed_since",
			    p->changed_since && p->changed_since[0] ? json_string(p->changed_since) : json_null());
	json_object_set_new(doc, "created_at", json_string(created));
	json_object_set_new(doc, "cache_refreshed_at",
			    p->cache_refreshed_at ? json_string(refreshed) : json_null());
	json_object_set_new(doc, "state_generation", json_integer(p->state_generation));
	json_object_set_new(summary, "create", count_json(p->ncreate));
	json_object_set_new(summary, "adopt", count_json(p->nadopt));
	json_object_set_new(summary, "update", count_json(p->nupdate));
	json_object_set_new(summary, "delete", count_json(p->ndelete));
	json_object_set_new(summary, "blocked", count_json(p->nblocked));
	json_object_set_new(summary, "orphaned", count_json(p->norphan));
	json_object_set_new(summary, "unchanged", count_json(p->nnoop));
	json_object_set_new(summary, "api_calls", count_json(p->ncalls));
	json_object_set_new(summary, "not_compared_deep", count_json(p->ndeep_unknown));
	json_object_set_new(summary, "unmanaged_branches", count_json(p->nunmanaged));
	json_object_set_new(doc, "summary", summary);
	json_object_set_new(stats, "blobs_parsed", json_integer(p->blobs_parsed));
	json_object_set_new(stats, "blobs_cached", json_integer(p->blobs_cached));
	json_object_set_new(doc, "stats", stats);
	for (size_t i = 0; i < p->nactions; i++)
		if (p->actions[i].kind != PLAN_NOOP)
			json_array_append_new(actions, action_json(p, &p->actions[i]));
	json_object_set_new(doc, "actions", actions);
	json_t *unmanaged = json_array();
	for (size_t i = 0; i < p->nunmanaged; i++)
		json_array_append_new(unmanaged, json_pack("{s:s,s:o,s:s}", "tenant", p->unmanaged[i].tenant, "project_id",
							   str_or_null(p->unmanaged[i].project_id), "branch",
							   p->unmanaged[i].branch));
	json_object_set_new(doc, "unmanaged_branches", unmanaged);

	char *text = json_dumps(doc, JSON_INDENT(2));
	json_decref(doc);
	if (!text)
		/* only a string that is not UTF-8 makes jansson refuse */
		return err_set(ERR_INVALID, "plan cannot be written as JSON (a name or value is not UTF-8)");
	rc = buf_adds(out, text);
	if (!rc)
		rc = buf_addc(out, '\n');
	free(text);
	return rc;
}

