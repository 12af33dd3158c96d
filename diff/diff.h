/*
 * diff.h: the one header of diff/: desired (spec/) x live (state/) -> plan.
 *
 * Planning is a pure function of the merged manifests and the cached live
 * state: diff/ never calls the API. Each action lists the exact calls it
 * will make (method, path, body), so a plan's call count is its apply's
 * write count (DESIGN.md "What each change costs"). Paths name resources
 * that do not exist yet with placeholders the executor fills in:
 * "{project_id}", "{branch_id:staging}", "{endpoint_id:rw:main}".
 *
 * The plan model below is public and plain: renderers (text, JSON,
 * Markdown), plan files and tests read it directly.
 */
#ifndef FLOTILLA_DIFF_H
#define FLOTILLA_DIFF_H

#include <jansson.h>

#include "spec/spec.h"
#include "state/state.h"
#include "util/util.h"

#define PLAN_FORMAT_VERSION 1

typedef enum {
	PLAN_CREATE,   /* a tenant with no project: POST /projects, then the rest */
	PLAN_UPDATE,   /* a mapped project that differs from its manifest */
	PLAN_DELETE,   /* manifest gone, fleet prune: true, within maxDeletesPerRun */
	PLAN_BLOCKED,  /* a change flotilla will not make (immutable field, guard) */
	PLAN_ORPHAN,   /* manifest gone, prune off: no call */
	PLAN_NOOP,     /* equal: not listed in outputs, counted */
	PLAN_ADOPT,    /* no project mapped, but one annotated for the tenant exists:
	                  mapped (no POST), then the calls that converge it */
} plan_kind;

const char *plan_kind_name(plan_kind k); /* "create", "update", … */

/* One API call, in the order the executor makes them. */
typedef struct plan_call {
	char *method;       /* "POST", "PATCH", "DELETE" */
	char *path;         /* relative to the API base, placeholders allowed */
	json_t *body;       /* owned; NULL for none */
	bool destructive;   /* deletes data: a database, branch, role or project */
	bool after_create;  /* waits for the project's create operations */
} plan_call;

/* One field that changes, for people: "quota.computeTime", "50h", "100h". */
typedef struct plan_change {
	char *path;         /* manifest path, e.g. "compute.maxCu", "branches[staging]" */
	char *from;         /* NULL: absent live (added) */
	char *to;           /* NULL: absent in the manifest (removed) */
} plan_change;

typedef struct plan_action {
	char *tenant;
	plan_kind kind;
	char *project_id;   /* NULL for a create */
	char *reason;       /* blocked / orphan / delete: why, one sentence naming the tenant */
	char *hint;         /* blocked: how to unblock it ("revert region ..."), or NULL */
	plan_change *changes;
	size_t nchanges;
	/* A create from plan_build is deferred: its calls are built on demand
	 * (plan_action_calls), because 100,000 creates built ahead as JSON trees
	 * take 660 MB. calls is then NULL and ncalls is still the exact count. */
	plan_call *calls;
	size_t ncalls;
	bool deferred;
	const spec_tenant *origin; /* a deferred create's tenant, borrowed from the fleet */
	char *summary;      /* an adopt's note (a forgotten tenant back), or NULL (a create's
			     * lines are read from its calls: render_create.c) */
	/* SHA-256 hex over the live fields this action relied on ("" for a
	 * create); apply refuses to act when the live tenant no longer matches */
	char fingerprint[SHA256_HEX_LEN + 1];
	bool deep_unknown;  /* the cache has no deep read: endpoints, branches,
	                       databases and roles were not compared */
	bool reread;        /* blocked by live state a person changes in Neon (a
	                       branch protected or made by hand): the next plan
	                       must read the project deep again (planning.c) */
	/* while plan_build compares it: live branches the manifest does not
	 * list that flotilla did not make, so leaves alone (moved to the plan's
	 * unmanaged list when the action is added) */
	char **unmanaged;
	size_t nunmanaged;
} plan_action;

/* The name prefix of the branches `flotilla restore` preserves: plan
 * never deletes one the manifest does not list, even with pruneBranches
 * (docs/operations.md, "Branches, computes and deletes"). */
#define DIFF_PRESERVED_PREFIX "preserved-"

/* A branch left alone as not flotilla's. */
typedef struct plan_unmanaged {
	char *tenant, *project_id, *branch;
} plan_unmanaged;

typedef struct plan {
	char *commit;       /* the manifests' commit sha, or "" (a directory) */
	char *fleet;
	char *org_id;       /* the fleet's spec.orgId, NULL: none (lists name it) */
	int64_t created_at;
	int64_t cache_refreshed_at; /* the cache's list_refreshed_at, 0: never */
	int64_t state_generation;   /* the state file's generation it was made at (state_generation) */
	plan_action *actions;       /* tenant name order, NOOPs included */
	size_t nactions;
	/* totals */
	size_t ncreate, nupdate, ndelete, nblocked, norphan, nnoop, nadopt;
	size_t ncalls;
	size_t ndeep_unknown; /* tenants not compared deep, unchanged ones included */
	plan_unmanaged *unmanaged; /* branches left alone as not flotilla's, tenant order */
	size_t nunmanaged;
	/* parse statistics of the load that made it (for --verbose and JSON) */
	int64_t blobs_parsed, blobs_cached;
	/* the scope: a subset chosen with name=, label. or region= terms; and
	 * the base of an incremental plan (40 hex, or "": the whole fleet) */
	bool selected;
	char *changed_since;
	const spec_fleet *source; /* plan_build's fleet (borrowed), for deferred creates */
} plan;

void plan_free(plan *p);
/* Add action a to p's totals (ncreate ... nadopt, ncalls, ndeep_unknown),
 * as plan_build does for every action it makes. */
void plan_count(plan *p, const plan_action *a);
/* Free p's unmanaged list (plan_free does). */
void plan_unmanaged_release(plan *p);

/* The calls of an action: its own, or, for a deferred create, built now
 * from the plan's fleet (which must still be alive); release with
 * plan_calls_release either way. */
typedef struct plan_calls {
	plan_call *v;
	size_t n;
	bool owned;
} plan_calls;
void plan_action_calls(const plan *p, const plan_action *a, plan_calls *out);
void plan_calls_release(plan_calls *c);

/* ------------------------------------------------------------ selectors */

/*
 * --select: comma-separated terms, all of which must hold:
 *   name=GLOB         the tenant name (spec_glob_match syntax, one segment)
 *   label.KEY=VALUE   a metadata label
 *   region=REGION     the desired region
 *   changed-since=SHA the tenant's manifest changed since SHA (the caller
 *                     resolves SHA to a set of tenant names: plan_select_changed)
 * ERR_INVALID with a message naming the bad term.
 */
typedef struct plan_selector plan_selector;
int plan_selector_parse(plan_selector **out, const char *expr) WUR;
void plan_selector_free(plan_selector *s);
/* The changed-since term's sha, or NULL when there is none. */
const char *plan_selector_changed_since(const plan_selector *s);
/* Has it a term other than changed-since (a subset a person chose)? */
bool plan_selector_narrows(const plan_selector *s);
/* Give the selector the tenants that changed since that sha (names copied). */
void plan_select_changed(plan_selector *s, const char *const *tenants, size_t n);
/* Does the tenant (name, merged spec, labels) pass? Orphans (no manifest)
 * match name= terms only. */
bool plan_selector_match(const plan_selector *s, const char *tenant, const spec_values *spec,
			 const spec_map *labels);

/* -------------------------------------------------------- project fields */

/*
 * The field table (fields.c): one row for each manifest field that is one
 * plain value of Neon's project object (a number, a bool, a string). The
 * spec's field table already gives its manifest path, its type and, in
 * its `api` column, the member's path in Neon's project
 * ("project.settings.quota.active_time_seconds"); a row adds where the
 * state file's project row keeps it. This one table drives the copy of
 * Neon's JSON into the cache (diff_fields_from_json, engine/refresh.c),
 * the plan's comparison, its change lines and the names in its PATCH
 * bodies (project.c). Structured fields (allowed IPs, the maintenance
 * window, pg settings, branches) have code of their own.
 */
typedef enum {
	DIFF_FIELD_I64,  /* int64_t */
	DIFF_FIELD_INT,  /* int */
	DIFF_FIELD_BOOL, /* bool */
	DIFF_FIELD_CU,   /* double, compute units (the manifest counts quarters) */
	DIFF_FIELD_STR,  /* char * */
} diff_field_type;

typedef enum {
	DIFF_FIELD_PATCH,     /* a change is sent in the project's PATCH */
	DIFF_FIELD_IMMUTABLE, /* a change blocks the tenant (Neon cannot make it) */
	DIFF_FIELD_ONE_WAY,   /* can be turned on, never off: turning it off blocks */
} diff_field_rule;

typedef struct diff_field {
	spec_field field;     /* its manifest path, type and API path (spec_field_get) */
	size_t offset;        /* offsetof(state_project, member) */
	diff_field_type type; /* the member's C type */
	diff_field_rule rule;
	int64_t live_zero;    /* a live 0 is Neon's default, this value (0: none) */
	const char *why;      /* DIFF_FIELD_ONE_WAY: the reason a change blocks */
} diff_field;

/* The rows, in the order of the plan's change lines; *n is set. */
const diff_field *diff_fields(size_t *n);
/* The row of spec field f, or NULL when it has none. */
const diff_field *diff_field_find(spec_field f);
/* The row's member inside Neon's project object: its API path without
 * "project." ("settings.quota.active_time_seconds"). Borrowed. */
const char *diff_field_member(const diff_field *df);
/* Does Neon replace the object that holds the member at `api` (a dotted
 * path like the spec's api column) whole on PATCH? Then a PATCH that
 * changes one member sends all of them: a partial one would reset the
 * others (quota, allowed_ips, maintenance_window,
 * default_endpoint_settings). */
bool diff_api_whole(const char *api);

/*
 * Set every row's member of `out` from Neon's project object `project` (a
 * Project or a ProjectListItem), found by the row's API path; an absent or
 * null member, or object on the way, sets zero (NULL). Strings are
 * borrowed from `project`; the other members of out are left alone.
 * ERR_INVALID when a member has the wrong type, with a message that names
 * it by its path after `where`: "project p-1.settings.quota.
 * active_time_seconds: expected an integer".
 */
int diff_fields_from_json(state_project *out, const json_t *project, const char *where) WUR;

/* -------------------------------------------------------------- building */

typedef struct plan_input {
	const spec_fleet *fleet;   /* valid: no diagnostics */
	state *st;                 /* the cache and the tenant map */
	const char *commit;        /* or NULL */
	const plan_selector *sel;  /* or NULL: every tenant */
	int64_t now;               /* unix seconds, for created_at */
	/* Or NULL: consider only these tenants (sorted, unique), with or
	 * without a manifest in `fleet`: an incremental plan of the tenants
	 * changed since a commit, whose fleet holds only the changed files. */
	const char *const *only;
	size_t nonly;
	int64_t max_deletes;       /* above 0: overrides the fleet's maxDeletesPerRun */
	const char *changed_since; /* the base commit (40 hex) of `only`, or NULL */
	/* Projects the last list refresh could not see (state_list_incomplete):
	 * above 0, every create is blocked, since the tenant's project may be
	 * one of them, and a create could make a second. */
	int64_t live_incomplete;
} plan_input;

/*
 * The plan of `flotilla adopt` (adopt.c): for one tenant (and maybe the
 * project it takes), or every unmapped tenant `sel` picks, an ADOPT action
 * that maps the project, with one POST of the owner branch that marks it
 * when it carries no marks yet; BLOCKED ones say why not. The cache must
 * hold the projects that claim the tenants, read deep. ERR_NOTFOUND: the
 * tenant is not in the fleet.
 */
#define OWNER_BRANCH "flotilla-owner" /* the branch that marks an adopted project */
typedef struct adopt_input {
	const spec_fleet *fleet;
	state *st;
	const char *commit;
	int64_t now;
	const char *tenant;        /* one tenant, or NULL: --all-matching */
	const char *project_id;    /* with tenant: the project it takes, or NULL */
	const plan_selector *sel;  /* without tenant: which tenants (NULL: all) */
} adopt_input;
int plan_adopt(plan **out, const adopt_input *in) WUR;

/*
 * Compare every tenant of the fleet (and every mapped tenant whose manifest
 * is gone) with the cache, following DESIGN.md's table of minimal calls:
 *   - create: one POST /projects carrying name (namePrefix + tenant),
 *     region_id, pg_version, org_id, history_retention_seconds, the default
 *     branch (name, role_name, database_name, annotations flotilla.fleet and
 *     flotilla.tenant), default_endpoint_settings and settings (quota,
 *     allowed_ips, logical replication, maintenance window, public
 *     connections); then one call for each further role, database, branch
 *     and read replica (after_create);
 *   - update: all changed project fields in one PATCH /projects/{id}; one
 *     PATCH per endpoint whose compute size or suspend timeout differs; one
 *     call per branch, database, role or replica added or removed;
 *   - blocked, never replaced: region, pgVersion, a default branch rename,
 *     turning logical replication off, a project annotated for another
 *     fleet; a delete of a protect: true tenant or beyond maxDeletesPerRun;
 *   - gone manifest: orphan (no call) unless prune, then one DELETE.
 * Creates are deferred (plan_action_calls): the plan borrows in->fleet
 * until plan_free.
 * ERR_FAIL only for a state file that cannot be read.
 */
int plan_build(plan **out, const plan_input *in) WUR;

/* The fingerprint of a live tenant: SHA-256 hex over every live field the
 * comparison reads (d NULL: no deep read). Apply recomputes it from a fresh
 * read and refuses to act on a tenant whose fingerprint moved since its
 * plan. updated_at is left out: a change that touches nothing compared
 * must not void the plan. */
void plan_fingerprint(const state_project *p, const state_deep *d, char out[SHA256_HEX_LEN + 1]);

/* ------------------------------------------------------------- rendering */

/* How a plan is shown to people. The renderers stay pure functions of the
 * plan and these: the command decides (a terminal, NO_COLOR, --color). */
typedef struct plan_render_opts {
	bool color;                /* text: ANSI colours on the marks and section titles */
	size_t max_chars;          /* markdown: the comment's limit */
	const char *full_plan_url; /* markdown: where the whole plan is, or NULL: the CI log */
} plan_render_opts;
#define PLAN_MARKDOWN_MAX 60000
#define PLAN_RENDER_OPTS_INIT {false, PLAN_MARKDOWN_MAX, NULL}

/* The colour of a plan mark ('+' green; '~' and '?' yellow; '-' and '!'
 * red; '=' green), as an ANSI sequence, "" for any other character; and
 * the sequence that ends it. Apply and status colour their marks the same. */
const char *plan_mark_color(char mark);
#define PLAN_COLOR_RESET "\033[0m"

/* Grouped text: identical changes collapse to one line with the count and
 * up to 3 sample tenants; ends with the totals line
 * "Plan: X to create, Y to update, Z to delete, B blocked, O orphaned;
 *  N API calls; cache age 3m". o may be NULL (no colour). */
int plan_render_text(const plan *p, const plan_render_opts *o, buf *out) WUR;
/* Stable, versioned JSON (docs/plan-json.md). */
int plan_render_json(const plan *p, buf *out) WUR;
/* For a pull-request comment: at most o->max_chars. When it must be cut,
 * update lines go first, then adopt and create lines; the blocked, delete
 * and orphan sections are always kept, and a note says where the whole
 * plan is (o->full_plan_url, or the CI log). o may be NULL (the defaults);
 * ERR_INVALID for a limit below 1,024; ERR_TOOBIG when even the kept
 * sections do not fit. */
int plan_render_markdown(const plan *p, const plan_render_opts *o, buf *out) WUR;

/* -------------------------------------------------------------- plan files */

/*
 * A plan file is the JSON of plan_render_json with "sha256" over the rest
 * (canonical: sorted keys, compact). Write creates it 0600 (no secrets go
 * in it: bodies never hold passwords). Read verifies the format, version
 * and hash: ERR_INVALID "plan file … has been modified" on a mismatch.
 */
int plan_file_write(const plan *p, const char *path) WUR;
int plan_file_read(plan **out, const char *path) WUR;

#endif
