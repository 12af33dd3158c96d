/*
 * backups.c: the backup schedule of a tenant's default branch
 * (backups.schedule; docs/lifecycle.md, "Backups"). The live side is the
 * schedule cached by the deep read's GET (state_backup_schedule_get); a
 * difference is one PUT of the whole schedule, an empty one to remove it.
 * A create that declares one PUTs it once the project's operations ended.
 */
#include <string.h>

#include "diff/internal.h"

#define SCHEDULE_PATH "/projects/%s/branches/%s/backup_schedule"

/* The manifest's schedule as the API's array (new reference). */
static json_t *desired(const spec_values *sv)
{
	json_t *a = json_array();
	const spec_list *l = sv->v[SF_BACKUP_SCHEDULE].list;
	for (size_t i = 0; l && i < l->n; i++) {
		json_t *it = json_loads(l->items[i].s, 0, NULL);
		if (it)
			json_array_append_new(a, it);
	}
	return a;
}

static bool declares(const spec_values *sv)
{
	const spec_list *l = sv->v[SF_BACKUP_SCHEDULE].list;
	return l && l->n > 0;
}

/* A live schedule for people, as spec_schedule_format shows the manifest's. */
void diff__fmt_schedule(const json_t *a, char *out, size_t size)
{
	if (json_array_size(a) == 0) {
		str_copy(out, "none", size);
		return;
	}
	size_t u = 0, i;
	const json_t *it;
	out[0] = 0;
	json_array_foreach(a, i, it) {
		char one[96], *js = json_dumps(it, JSON_COMPACT);
		spec_schedule_item_format(js ? js : "{}", one, sizeof(one));
		free(js);
		if (u + 1 < size)
			u += (size_t)snprintf(out + u, size - u, "%s%s", i ? "; " : "", one);
	}
}

void diff__backups_create(act *x, const spec_values *sv, const char *branch_ref)
{
	if (!declares(sv))
		return;
	diff__act_call(x, "PUT", BODY(x, json_pack("{s:o}", "schedule", desired(sv))), false, true,
		       SCHEDULE_PATH, "{project_id}", branch_ref);
}

int diff__backups(act *x, state *st, const spec_values *sv, const char *project_id, const state_branch *defb)
{
	char *cached = NULL;
	int rc = state_backup_schedule_get(st, project_id, &cached);
	if (rc != 0)
		return rc;
	json_t *live = cached ? json_loads(cached, 0, NULL) : NULL;
	free(cached);
	if (!live && !declares(sv))
		return 0; /* never read, and none wanted: nothing to say */
	json_t *want = desired(sv);
	char *refused = NULL;
	if (live && !json_equal(live, want) && json_array_size(want) > 0 &&
	    (rc = state_backup_schedule_refused(st, project_id, &refused)) != 0) {
		json_decref(want);
		json_decref(live);
		return rc;
	}
	if (refused) {
		/* Neon said the account's plan cannot have one: sending it again
		 * would fail the same way */
		diff__act_reason(x, "tenant '%s': Neon refused its backup schedule (%s): the account's plan has no "
				 "automated backups", x->a.tenant, refused);
		diff__act_hint(x, "remove backups.schedule, or move the account to a paid plan and plan with --refresh "
			       "full (its read of the schedule lifts this block)");
		x->a.kind = PLAN_BLOCKED;
		free(refused);
	}
	if (!live || !json_equal(live, want)) {
		char from[512], to[512];
		if (live)
			diff__fmt_schedule(live, from, sizeof(from));
		spec_schedule_format(sv->v[SF_BACKUP_SCHEDULE].list, to, sizeof(to));
		/* never read (a plan with --refresh none): the PUT sets it all the same */
		diff__act_change(x, "backups.schedule", live ? from : "not read", to);
		diff__act_call(x, "PUT", BODY(x, json_pack("{s:O}", "schedule", want)), false, false, SCHEDULE_PATH,
			       project_id, defb->id);
	}
	json_decref(want);
	json_decref(live);
	return 0;
}
