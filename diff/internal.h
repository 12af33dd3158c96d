/*
 * internal.h: what plan.c, calls.c, project.c and fields.c share inside
 * diff/ (never included from another folder but its unit tests).
 */
#ifndef FLOTILLA_DIFF_INTERNAL_H
#define FLOTILLA_DIFF_INTERNAL_H

#include "diff/diff.h"

/* An action under construction, with the capacities of its arrays. */
typedef struct act {
	plan_action a;
	size_t ccap, kcap;
	bool count_only; /* act_call only counts; bodies are not built (BODY) */
} act;

/* A call body, not built when the action only counts its calls. */
#define BODY(x, expr) ((x)->count_only ? NULL : (expr))

/* Append one call; body is stolen (NULL: none); path is printf-formatted. */
void diff__act_call(act *x, const char *method, json_t *body, bool destructive, bool after_create,
	      const char *fmt, ...) PRINTF(6, 7);
/* Append one change; from/to copied, NULL allowed. */
void diff__act_change(act *x, const char *path, const char *from, const char *to);
/* Append to the reason, joining several with "; ". */
void diff__act_reason(act *x, const char *fmt, ...) PRINTF(2, 3);
/* Append how to unblock the tenant to its hint, joining several with "; "
 * (one already there is not repeated). */
void diff__act_hint(act *x, const char *fmt, ...) PRINTF(2, 3);
/* Where docs/operations.md says how to unblock a tenant. */
#define DIFF_UNBLOCK_DOC "docs/operations.md#unblocking-a-tenant"
void diff__act_release(plan_action *a);

/* Human values, in the manifest's units. */
void diff__fmt_cu(int64_t quarters, char out[32]);
void diff__fmt_duration(int64_t s, char out[32]);
void diff__fmt_quota_time(int64_t s, char out[32]);
void diff__fmt_size(int64_t bytes, char out[32]);
/* Heap strings: "[a, b]", "{k: v}" */
char *diff__fmt_strlist(const spec_list *l);
char *diff__fmt_map(const spec_map *m);
/* A maintenance window, heap: "6,7 01:00-02:00" (project.c). */
char *diff__fmt_window(const json_t *wd, const char *start, const char *end);

void diff__fmt_bool(int64_t b, char out[32]);
/* One change of a scalar, both sides formatted by f. */
void diff__change_i(act *x, const char *path, void (*f)(int64_t, char *), int64_t from, int64_t to);
/* A live CU number as quarters; a live suspend timeout (0: Neon's 300). */
int64_t cu_quarters(double cu);
int64_t suspend_live(int64_t s);

/* CU quarters as the API's number (0.25 steps). */
json_t *diff__cu_json(int64_t quarters);

/* The default branch of a spec (borrowed). */
const spec_branch *diff__spec_default_branch(const spec_values *sv);
const spec_branch *diff__spec_branch_find(const spec_values *sv, const char *name);
/* The parent branch's name: the declared parent, or the default branch. */
const char *diff__spec_branch_parent(const spec_values *sv, const spec_branch *b);
/* Is a role (is_role) or database `name` declared on a strict ancestor of b? */
bool diff__spec_inherited(const spec_values *sv, const spec_branch *b, const char *name, bool is_role);
/* Non-default branches, parent first (children after their parents), in
 * manifest order otherwise. Returns a heap array of n pointers. */
const spec_branch **diff__spec_branches_parent_first(const spec_values *sv, size_t *n);

/* A JSON column of the cache, parsed (NULL for NULL or bad JSON). */
json_t *diff__live_json(const char *s);
/* A field table row's values (fields.c). live: the state row's value as
 * the manifest counts it (CU in quarters, a live 0 as Neon's default;
 * DIFF_FIELD_STR rows have field_live_str instead); differs: does the manifest's
 * value differ from it; format: a value for people, in the manifest's
 * units; json: the manifest's value as the API takes it (new reference). */
int64_t field_live(const diff_field *df, const state_project *p);
const char *diff__field_live_str(const diff_field *df, const state_project *p);
bool diff__field_differs(const diff_field *df, const spec_values *sv, const state_project *p);
void diff__field_format(const diff_field *df, int64_t v, char out[32]);
json_t *diff__field_json(const diff_field *df, const spec_val *v);
/* Set the member of `root` at a dotted API path ("project.settings.quota.
 * active_time_seconds"), making the objects on the way (fields.c); v is
 * stolen. */
void diff__api_set(json_t *root, const char *path, json_t *v);
/* The project-level comparison (project.c): at most one PATCH /projects. */
void diff__project(act *x, const spec_fleet *f, const char *tenant, const spec_values *sv, const state_project *p);
/* The field table's immutable fields (region, pgVersion): each change is
 * listed and blocks the tenant (project.c). */
void diff__immutable(act *x, const char *tenant, const spec_values *sv, const state_project *p);

/* The create action's calls (calls.c). */
void diff__plan_create_calls(act *x, const spec_fleet *f, const char *tenant, const spec_values *sv);
/* The read_only endpoint body for the default branch `branch_ref`. */
/* A read replica's create body; `index` (1..) names it "replica-N". */
json_t *diff__replica_body(const spec_values *sv, const char *branch_ref, size_t index);
/* The name flotilla gives its Nth read replica (1..), in out[32]. */
void diff__replica_name(size_t index, char out[32]);

/* What create a will make, for people (render_create.c), from its calls
 * (built now for a deferred create, from p's fleet): *label "aws-us-east-2,
 * pg 17", and *lines, *nlines indented lines ("    compute: 0.25 CU, …",
 * one per branch, …). All heap: the caller frees each line and the array. */
void diff__create_details(const plan *p, const plan_action *a, char **label, char ***lines, size_t *nlines);

/*
 * Ownership marks (identity.c). Neon projects have no labels, and branch
 * annotations are set only when a branch is made, so flotilla marks what
 * it makes with annotations flotilla.fleet and flotilla.tenant: on the
 * default branch of a project it creates, on each branch it creates, and
 * on the owner branch `flotilla adopt` adds to a project it did not make
 * (named OWNER_BRANCH, also annotated flotilla.owner).
 */
/* An annotation of a branch's cached annotations (the value map or Neon's
 * {object, value} wrapper), borrowed from ann, or NULL. */
const char *diff__live_annotation(const json_t *ann, const char *key);
typedef struct branch_mark {
	char *fleet, *tenant; /* heap, both NULL when the branch carries no flotilla mark */
	bool owner;           /* the owner branch of an adopted project */
} branch_mark;
void diff__branch_mark_read(const state_branch *b, branch_mark *out);
void diff__branch_mark_release(branch_mark *m);
/* The fleet a project belongs to by its marks (its default branch, or its
 * owner branch), or NULL: none (heap). */
char *diff__project_owner(const state_deep *d);
/* The annotation_value flotilla gives a branch it creates (new reference). */
json_t *diff__branch_annotations(const char *fleet, const char *tenant);

/* The deep comparison of one tenant (calls.c). */
/* Whose is it: the identity check before a create (identity.c). */
typedef struct identity identity;
/* A project no tenant is mapped to, as the index knows it. */
typedef struct id_candidate {
	char *id, *name;
	char *fleet, *tenant; /* its ownership annotations, or NULL */
	bool deep_known;
} id_candidate;
typedef enum { ID_NONE, ID_ADOPT, ID_BLOCKED } id_verdict;
/* Index the cache's unmapped projects by name and by this fleet's tenant
 * annotations. names (or NULL: all): index only the projects of these
 * names, and every marked one; the rest are only counted when unread (an
 * incremental plan of 10 tenants need not index 100,000 names). The map is
 * read during the call only. */
/* wanted (or NULL: every name): which unmarked projects' names to index;
 * a marked project is always indexed. */
int diff__identity_build(identity **out, state *st, const char *fleet,
			 bool (*wanted)(const void *arg, const char *name), const void *arg) WUR;
/* The index of a few names (project names, prefix included): looked up,
 * not scanned. */
int diff__identity_build_named(identity **out, state *st, const char *fleet, const char *const *names,
			       size_t n) WUR;
void diff__identity_free(identity *ix);
/* Unmapped projects whose branches (so whose annotations) were never read. */
size_t diff__identity_unknown(const identity *ix);
/* ID_NONE: no project claims the tenant; ID_ADOPT: one annotated for it,
 * *adopt_id (borrowed from ix); ID_BLOCKED: *why (heap) says which and
 * what to do. */
id_verdict diff__identity_check(const identity *ix, const char *tenant, const char *name, const char **adopt_id,
			  char **why);
/* The projects that claim a tenant: named `name`, or annotated for this
 * fleet and tenant. Up to max in out (borrowed); returns how many. */
size_t diff__identity_candidates(const identity *ix, const char *tenant, const char *name, const id_candidate **out,
			   size_t max);
/* An unmapped project by id, or NULL. */
const id_candidate *diff__identity_get(const identity *ix, const char *project_id);
bool diff__id_candidate_marked_for(const id_candidate *c, const char *fleet, const char *tenant);
/* "ID (named 'N', no flotilla annotations)" and the like, for messages. */
void diff__identity_describe(buf *b, const id_candidate *c);

typedef struct deepctx {
	act *x;
	const spec_values *sv;
	const state_project *p;
	const state_deep *d;
	const state_branch *defb; /* the live default branch */
	const spec_fleet *fleet;
	bool defb_unprotected;    /* diff_endpoints unprotected defb (to delete its replicas) */
} deepctx;
void diff__endpoints(deepctx *c);
void diff__branches(deepctx *c);
/* The default branch's backup schedule (backups.c): against the cached
 * one, at most one PUT of the whole schedule; a create's PUT after it. */
/* A BackupScheduleItem array for people: "daily at 03:00 keep 7d; …", "none". */
void diff__fmt_schedule(const json_t *a, char *out, size_t size);
int diff__backups(act *x, state *st, const spec_values *sv, const char *project_id, const state_branch *defb) WUR;
void diff__backups_create(act *x, const spec_values *sv, const char *branch_ref);

#endif
