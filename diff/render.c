/*
 * render.c: a plan for people (grouped text, a pull-request comment in
 * Markdown); for programs, render_json.c (stable, versioned JSON).
 *
 * A fleet change usually touches thousands of tenants the same way, so the
 * text groups actions whose change lists are identical into one line with a
 * count and a few sample tenants; a plan of 41,200 identical updates reads
 * as two lines. A create line says what the create makes on indented
 * lines under it (render_create.c), and identical creates group the same
 * way, their lines shown once. Everything here is a pure function of the plan struct: no
 * clock, no environment, so golden outputs stay stable (the cache age is
 * the plan's created_at minus the cache's refresh time, not "now").
 *
 * The text and the Markdown share one list of sections, each a list of
 * lines; Markdown wraps the same lines in <details> blocks and stops adding
 * them before the comment would exceed its size limit.
 */
#include "diff/internal.h"

#include <string.h>

/* Sample tenants named on a grouped line. */
#define SAMPLES 3
/* Lines of blocked (and deleted) tenants listed one by one before the rest
 * are summarised: each needs attention, but 10,000 of them would bury the
 * plan. */
#define LIST_CAP 50
/* Room the Markdown keeps for closing tags and the truncation note. */
#define MD_RESERVE 400
/* Below this a comment cannot hold the header, the table and the note. */
#define MD_MIN_CHARS 1024

/* ------------------------------------------------------------ formatting */

/* 41200 -> "41,200" (util's one format for counts) */
static void fmt_count(uint64_t n, char out[32])
{
	unit_count_format((int64_t)n, out);
}

/* The cache's age at planning time, in its largest unit: "3m", "2h", "4d",
 * "never". Finer detail would only make plans of the same cache differ. */
static void fmt_age(const plan *p, char out[32])
{
	if (p->cache_refreshed_at == 0) {
		snprintf(out, 32, "never");
		return;
	}
	int64_t s = p->created_at - p->cache_refreshed_at;
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(out, 32, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(out, 32, "%lldm", (long long)(s / 60));
	else if (s < 86400)
		snprintf(out, 32, "%lldh", (long long)(s / 3600));
	else
		snprintf(out, 32, "%lldd", (long long)(s / 86400));
}

static void fmt_commit(const plan *p, char out[48])
{
	if (!p->commit || !p->commit[0])
		snprintf(out, 48, "working directory");
	else
		snprintf(out, 48, "%.7s", p->commit);
}

/* ----------------------------------------------------------------- lines */

typedef struct lines {
	char **v;
	size_t n, cap;
} lines;

static void lines_add(lines *l, char *s)
{
	l->v = xgrow(l->v, &l->cap, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = s;
}

static void lines_release(lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ---------------------------------------------------------------- groups */

typedef struct group {
	char *key;     /* what makes two actions the same */
	char *label;   /* the shared text: changes, or the create summary */
	char **notes;  /* indented lines under the group (destructive calls) */
	size_t nnotes;
	size_t count;
	size_t first;  /* index of the first member: the sort tie-break */
	const char *samples[SAMPLES];
} group;

typedef struct groups {
	group *v;
	size_t n, cap;
	strmap *index; /* key -> group number + 1 */
} groups;

static void groups_init(groups *g)
{
	memset(g, 0, sizeof(*g));
	g->index = strmap_new();
}

static void groups_release(groups *g)
{
	for (size_t i = 0; i < g->n; i++) {
		free(g->v[i].key);
		free(g->v[i].label);
		for (size_t j = 0; j < g->v[i].nnotes; j++)
			free(g->v[i].notes[j]);
		free(g->v[i].notes);
	}
	free(g->v);
	strmap_free(g->index);
}

/* Count the action into the group of `key`; key, label and notes are
 * taken (freed when the group already exists). */
static void groups_add(groups *g, const plan_action *a, size_t idx, char *key, char *label,
		       char **notes, size_t nnotes)
{
	size_t n = (size_t)(uintptr_t)strmap_get(g->index, key);
	group *gr;
	if (n) {
		gr = &g->v[n - 1];
		free(key);
		free(label);
		for (size_t j = 0; j < nnotes; j++)
			free(notes[j]);
		free(notes);
	} else {
		g->v = xgrow(g->v, &g->cap, g->n + 1, sizeof(*g->v));
		gr = &g->v[g->n++];
		memset(gr, 0, sizeof(*gr));
		gr->key = key;
		gr->label = label;
		gr->notes = notes;
		gr->nnotes = nnotes;
		gr->first = idx;
		/* the map borrows the key, which lives as long as the group; the
		 * array may move, so the map holds the number, not a pointer */
		strmap_put(g->index, gr->key, (void *)(uintptr_t)g->n);
	}
	if (gr->count < SAMPLES)
		gr->samples[gr->count] = a->tenant;
	gr->count++;
}

static int group_cmp(const void *x, const void *y)
{
	const group *a = x, *b = y;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return a->first < b->first ? -1 : a->first > b->first;
}

/* "acme, beta, gamma (and 41,197 more)" */
static void add_samples(buf *b, const group *gr, int *rc)
{
	size_t shown = gr->count < SAMPLES ? gr->count : SAMPLES;
	for (size_t i = 0; i < shown; i++)
		*rc |= buf_printf(b, "%s%s", i ? ", " : "", gr->samples[i]);
	if (gr->count > shown) {
		char n[32];
		fmt_count(gr->count - shown, n);
		*rc |= buf_printf(b, " (and %s more)", n);
	}
}

/* ------------------------------------------------------- action summaries */

static const char *or_none(const char *s)
{
	return s ? s : "(none)";
}

/* "quota.computeTime 50h -> 100h; compute.maxCu 1 -> 2" */
static char *changes_text(const plan_action *a)
{
	buf b = BUF_INIT(0);
	int rc = 0;
	for (size_t i = 0; i < a->nchanges; i++) {
		const plan_change *c = &a->changes[i];
		rc |= buf_printf(&b, "%s%s %s -> %s", i ? "; " : "", c->path, or_none(c->from),
				 or_none(c->to));
	}
	(void)rc; /* no maximum: appends cannot fail */
	return buf_detach(&b, NULL);
}

/* What a destructive call removes, without the ids that differ from one
 * tenant to the next (so that identical removals still group):
 * ".../databases/app" -> "database 'app'". */
static char *destructive_desc(const plan_call *c)
{
	static const struct {
		const char *seg, *name;
		bool named;
	} kinds[] = {
		{"databases", "database", true}, {"roles", "role", true},
		{"branches", "branch", false},   {"endpoints", "endpoint", false},
		{"projects", "project", false},
	};
	const char *path = c->path ? c->path : "";
	const char *last = strrchr(path, '/');
	if (last && last != path) {
		const char *prev = last - 1;
		while (prev > path && *prev != '/')
			prev--;
		if (*prev == '/')
			prev++;
		size_t seglen = (size_t)(last - prev);
		for (size_t i = 0; i < ARRAY_LEN(kinds); i++) {
			if (strlen(kinds[i].seg) == seglen && !strncmp(prev, kinds[i].seg, seglen))
				return kinds[i].named ? xasprintf("%s '%s'", kinds[i].name, last + 1)
						      : xstrdup(kinds[i].name);
		}
	}
	return xasprintf("%s %s", c->method ? c->method : "?", path);
}

/* The key of an update: its changes, field by field, and what it destroys. */
static void update_key(const plan_action *a, char **key, char **label, char ***notes, size_t *nnotes)
{
	buf k = BUF_INIT(0);
	int rc = 0;
	size_t cap = 0;
	*notes = NULL;
	*nnotes = 0;
	for (size_t i = 0; i < a->nchanges; i++) {
		const plan_change *c = &a->changes[i];
		/* \x1f separates, \x1e marks an absent value: neither occurs in
		 * manifest text a person wrote, and "(none)" could */
		rc |= buf_printf(&k, "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f", c->path,
				 c->from ? "v" : "\x1e", c->from ? c->from : "",
				 c->to ? "v" : "\x1e", c->to ? c->to : "");
	}
	for (size_t i = 0; a->calls && i < a->ncalls; i++) { /* an update: never deferred */
		if (!a->calls[i].destructive)
			continue;
		char *d = destructive_desc(&a->calls[i]);
		rc |= buf_printf(&k, "\x1d%s", d);
		*notes = xgrow(*notes, &cap, *nnotes + 1, sizeof(**notes));
		(*notes)[(*nnotes)++] = xasprintf("    deletes: %s", d);
		free(d);
	}
	if (a->kind == PLAN_ADOPT && a->summary) { /* a forgotten tenant back (plan.c) */
		rc |= buf_printf(&k, "\x1c%s", a->summary);
		*notes = xgrow(*notes, &cap, *nnotes + 1, sizeof(**notes));
		(*notes)[(*nnotes)++] = xasprintf("    %s", a->summary);
	}
	(void)rc;
	*key = buf_detach(&k, NULL);
	*label = changes_text(a);
}

/* The key of a create: its region and version (the label) and the lines
 * of what it makes (notes), so that identical creates group. */
static void create_key(const plan *p, const plan_action *a, char **key, char **label, char ***notes,
		       size_t *nnotes)
{
	diff__create_details(p, a, label, notes, nnotes);
	buf k = BUF_INIT(0);
	int rc = buf_adds(&k, *label);
	for (size_t i = 0; i < *nnotes; i++)
		rc |= buf_printf(&k, "\x1d%s", (*notes)[i]);
	(void)rc; /* no maximum: appends cannot fail */
	*key = buf_detach(&k, NULL);
}

/* -------------------------------------------------------------- sections */

enum { SEC_CREATE, SEC_ADOPT, SEC_UPDATE, SEC_DELETE, SEC_BLOCKED, SEC_ORPHAN, NSEC };

static const struct {
	char mark;
	const char *title;
	plan_kind kind;
} sec_info[NSEC] = {
	{'+', "create", PLAN_CREATE}, {'=', "adopt", PLAN_ADOPT}, {'~', "update", PLAN_UPDATE},
	{'-', "delete", PLAN_DELETE},
	{'!', "blocked", PLAN_BLOCKED}, {'?', "orphaned", PLAN_ORPHAN},
};

typedef struct sections {
	lines sec[NSEC];
	size_t count[NSEC];  /* tenants in each */
	size_t deep_unknown; /* tenants not compared deep, noops included */
} sections;

static void sections_release(sections *s)
{
	for (int i = 0; i < NSEC; i++)
		lines_release(&s->sec[i]);
}

/* Grouped lines for creates, updates and orphans. */
static void grouped_lines(const plan *p, int sec, lines *out)
{
	groups g;
	groups_init(&g);
	char mark = sec_info[sec].mark;
	for (size_t i = 0; i < p->nactions; i++) {
		const plan_action *a = &p->actions[i];
		if (a->kind != sec_info[sec].kind)
			continue;
		char *key, *label, **notes = NULL;
		size_t nnotes = 0;
		if (sec == SEC_UPDATE || sec == SEC_ADOPT) {
			update_key(a, &key, &label, &notes, &nnotes);
		} else if (sec == SEC_CREATE) {
			create_key(p, a, &key, &label, &notes, &nnotes);
		} else {
			label = xstrdup("");
			key = xstrdup("");
		}
		groups_add(&g, a, i, key, label, notes, nnotes);
	}
	if (g.n > 1)
		qsort(g.v, g.n, sizeof(*g.v), group_cmp);
	for (size_t i = 0; i < g.n; i++) {
		const group *gr = &g.v[i];
		buf b = BUF_INIT(0);
		int rc = 0;
		char n[32];
		fmt_count(gr->count, n);
		if (sec == SEC_UPDATE || sec == SEC_ADOPT) {
			if (gr->count == 1) {
				rc |= buf_printf(&b, "%c %s%s%s", mark, gr->samples[0],
						 gr->label[0] ? ": " : "", gr->label);
				lines_add(out, buf_detach(&b, NULL));
			} else {
				rc |= buf_printf(&b, "%c %s tenants%s%s", mark, n,
						 gr->label[0] ? ": " : "", gr->label);
				lines_add(out, buf_detach(&b, NULL));
				rc |= buf_adds(&b, "    e.g. ");
				add_samples(&b, gr, &rc);
				lines_add(out, buf_detach(&b, NULL));
			}
		} else {
			const char *what = sec == SEC_ORPHAN ? " (manifest gone, prune off)" : "";
			if (gr->count == 1 && sec == SEC_CREATE)
				rc |= buf_printf(&b, "%c %s", mark, gr->samples[0]);
			else if (gr->count == 1)
				rc |= buf_printf(&b, "%c %s%s", mark, gr->samples[0], what);
			else
				rc |= buf_printf(&b, "%c %s tenants", mark, n);
			if (sec == SEC_CREATE && gr->label[0])
				rc |= buf_printf(&b, " (%s)", gr->label);
			if (gr->count > 1) {
				rc |= buf_printf(&b, "%s: ", what);
				add_samples(&b, gr, &rc);
			}
			lines_add(out, buf_detach(&b, NULL));
		}
		for (size_t j = 0; j < gr->nnotes; j++)
			lines_add(out, xstrdup(gr->notes[j]));
		(void)rc;
	}
	groups_release(&g);
}

/* A blocked tenant: why, then every change it has (none of them made),
 * then how to unblock it. */
static void blocked_lines(const plan_action *a, lines *out)
{
	lines_add(out, xasprintf("! %s: %s", a->tenant, a->reason ? a->reason : "blocked"));
	for (size_t k = 0; k < a->nchanges; k++)
		lines_add(out, xasprintf("    not made: %s %s -> %s", a->changes[k].path, or_none(a->changes[k].from),
					 or_none(a->changes[k].to)));
	if (a->hint)
		lines_add(out, xasprintf("    to unblock: %s", a->hint));
}

/* A tenant a line (a blocked one with its changes), up to LIST_CAP:
 * blocked tenants and deletes. */
static void listed_lines(const plan *p, int sec, lines *out)
{
	size_t shown = 0, total = 0;
	for (size_t i = 0; i < p->nactions; i++) {
		const plan_action *a = &p->actions[i];
		if (a->kind != sec_info[sec].kind)
			continue;
		total++;
		if (shown == LIST_CAP)
			continue;
		shown++;
		if (sec == SEC_BLOCKED)
			blocked_lines(a, out);
		else if (a->project_id && a->ncalls > 1) {
			/* the calls before the DELETE: its protected branches unprotected */
			buf b = BUF_INIT(0);
			int rc = buf_printf(&b, "- %s: project %s (destructive), first", a->tenant, a->project_id);
			size_t said = 0;
			for (size_t k = 0; k < a->nchanges; k++)
				if (strcmp(a->changes[k].path, "project") != 0)
					rc |= buf_printf(&b, "%s %s %s -> %s", said++ ? ";" : "", a->changes[k].path,
							 or_none(a->changes[k].from), or_none(a->changes[k].to));
			(void)rc; /* no maximum: appends cannot fail */
			lines_add(out, buf_detach(&b, NULL));
		} else if (a->project_id)
			lines_add(out, xasprintf("- %s: project %s (destructive)", a->tenant,
						 a->project_id));
		else
			lines_add(out, xasprintf("- %s (destructive)", a->tenant));
	}
	if (total > shown) {
		char n[32];
		fmt_count(total - shown, n);
		lines_add(out, xasprintf("… and %s more %s", n,
					 sec == SEC_BLOCKED ? "blocked" : "to delete"));
	}
}

static void sections_build(const plan *p, sections *s)
{
	memset(s, 0, sizeof(*s));
	s->deep_unknown = p->ndeep_unknown;
	for (size_t i = 0; i < p->nactions; i++) {
		const plan_action *a = &p->actions[i];
		for (int k = 0; k < NSEC; k++)
			if (a->kind == sec_info[k].kind)
				s->count[k]++;
	}
	for (int k = 0; k < NSEC; k++) {
		if (!s->count[k])
			continue;
		if (k == SEC_BLOCKED || k == SEC_DELETE)
			listed_lines(p, k, &s->sec[k]);
		else
			grouped_lines(p, k, &s->sec[k]);
	}
}

static bool has_changes(const plan *p)
{
	return p->ncreate + p->nadopt + p->nupdate + p->ndelete + p->nblocked + p->norphan > 0;
}

static int deep_note(buf *out, size_t n)
{
	char c[32];
	fmt_count(n, c);
	return buf_printf(out, "%s %s not compared deep (no deep read in the cache; flotilla "
			  "refresh --full)\n", c, n == 1 ? "tenant was" : "tenants were");
}

/* A few of the branches left alone that are (preserved) or are not
 * preserved by a restore, n of them in all, and the end of the line. */
static int unmanaged_list(buf *out, const plan *p, bool preserved, size_t n)
{
	int rc = 0;
	size_t shown = 0;
	for (size_t i = 0; i < p->nunmanaged && shown < 5; i++)
		if (str_has_prefix(p->unmanaged[i].branch, DIFF_PRESERVED_PREFIX) == preserved)
			rc |= buf_printf(out, "%s%s/%s", shown++ ? ", " : "", p->unmanaged[i].tenant,
					 p->unmanaged[i].branch);
	if (n > shown)
		rc |= buf_printf(out, " (and %s more)", unit_count((int64_t)(n - shown)).s);
	return rc | buf_adds(out, "\n");
}

/* Branches left alone: those flotilla did not make, then those
 * `flotilla restore` preserved (left alone even with pruneBranches), each
 * with the count and a few of them; `between` goes between the two. */
static int unmanaged_note(buf *out, const plan *p, const char *between)
{
	size_t npreserved = 0;
	for (size_t i = 0; i < p->nunmanaged; i++)
		npreserved += str_has_prefix(p->unmanaged[i].branch, DIFF_PRESERVED_PREFIX);
	size_t nother = p->nunmanaged - npreserved;
	char c[32];
	int rc = 0;
	if (nother) {
		fmt_count(nother, c);
		rc |= buf_printf(out, "%s branch%s not in the manifests %s left alone: flotilla did not make %s (see "
				 "pruneBranches): ", c, nother == 1 ? "" : "es", nother == 1 ? "is" : "are",
				 nother == 1 ? "it" : "them");
		rc |= unmanaged_list(out, p, false, nother);
	}
	if (npreserved) {
		fmt_count(npreserved, c);
		rc |= buf_printf(out, "%s%s preserved branch%s left alone (made by flotilla restore): ", nother ? between : "",
				 c, npreserved == 1 ? "" : "es");
		rc |= unmanaged_list(out, p, true, npreserved);
	}
	return rc;
}

/* ------------------------------------------------------------------ text */

const char *plan_mark_color(char mark)
{
	switch (mark) {
	case '+': case '=': return "\033[32m"; /* green: made */
	case '~': case '?': return "\033[33m"; /* yellow: changed, or left alone */
	case '-': case '!': return "\033[31m"; /* red: destroyed, or refused */
	default: return "";
	}
}

/* One line of a section; with colour, its leading mark coloured. */
static int text_line(buf *out, const char *line, char mark, bool color)
{
	if (color && line[0] == mark)
		return buf_printf(out, "%s%c%s%s\n", plan_mark_color(mark), mark, PLAN_COLOR_RESET, line + 1);
	return buf_printf(out, "%s\n", line);
}

int plan_render_text(const plan *p, const plan_render_opts *o, buf *out)
{
	bool color = o && o->color;
	char commit[48], age[32];
	int rc = 0;
	fmt_commit(p, commit);
	fmt_age(p, age);
	rc |= buf_printf(out, "flotilla plan: fleet %s at %s (cache age %s)\n\n",
			 p->fleet ? p->fleet : "", commit, age);
	sections s;
	sections_build(p, &s);
	if (!has_changes(p)) {
		rc |= buf_adds(out, "No changes. Your fleet matches the manifests.\n");
	} else {
		for (int k = 0; k < NSEC; k++) {
			if (!s.count[k])
				continue;
			char n[32];
			fmt_count(s.count[k], n);
			char mark = sec_info[k].mark;
			rc |= buf_printf(out, "%s%c %s (%s)%s\n", color ? plan_mark_color(mark) : "", mark,
					 sec_info[k].title, n, color ? PLAN_COLOR_RESET : "");
			for (size_t i = 0; i < s.sec[k].n; i++)
				rc |= text_line(out, s.sec[k].v[i], mark, color);
			rc |= buf_adds(out, "\n");
		}
	}
	if (s.deep_unknown)
		rc |= deep_note(out, s.deep_unknown);
	rc |= unmanaged_note(out, p, "");
	if (has_changes(p)) {
		char c[5][32], calls[32];
		fmt_count(p->ncreate, c[0]);
		fmt_count(p->nupdate, c[1]);
		fmt_count(p->ndelete, c[2]);
		fmt_count(p->nblocked, c[3]);
		fmt_count(p->norphan, c[4]);
		fmt_count(p->ncalls, calls);
		char adopt[64] = "";
		if (p->nadopt) {
			char a[32];
			fmt_count(p->nadopt, a);
			snprintf(adopt, sizeof(adopt), ", %s to adopt", a);
		}
		rc |= buf_printf(out,
				 "Plan: %s to create%s, %s to update, %s to delete, %s blocked, "
				 "%s orphaned; %s API call%s; cache age %s\n",
				 c[0], adopt, c[1], c[2], c[3], c[4], calls, p->ncalls == 1 ? "" : "s", age);
	}
	sections_release(&s);
	return rc ? ERR_TOOBIG : 0;
}

/* -------------------------------------------------------------- Markdown */

/* The order Markdown keeps sections in when a comment must be cut: each
 * takes what room is left after those before it, so update lines are cut
 * first, then adopt and create lines; blocked, delete and orphan sections
 * come whole unless they alone overflow the comment. */
static const int md_keep_order[NSEC] = {SEC_BLOCKED, SEC_DELETE, SEC_ORPHAN, SEC_CREATE, SEC_ADOPT, SEC_UPDATE};
static const char md_close[] = "```\n\n</details>\n\n";

static int md_open(char out[128], const sections *s, int k)
{
	char n[32];
	fmt_count(s->count[k], n);
	return snprintf(out, 128, "<details><summary>%c %s (%s)</summary>\n\n```text\n", sec_info[k].mark,
			sec_info[k].title, n);
}

/* How many lines of each section fit in `room` characters (shown[k]); a
 * section opens only when its first group fits too. A group's indented
 * lines (what a create makes, an update's samples, a blocked tenant's
 * changes) go with its first line: a cut comes only before a group, so
 * no create is shown with part of what it makes. */
static void md_fit(const sections *s, size_t room, size_t shown[NSEC])
{
	for (int j = 0; j < NSEC; j++) {
		int k = md_keep_order[j];
		const lines *l = &s->sec[k];
		char open[128];
		shown[k] = 0;
		if (!s->count[k] || !l->n)
			continue;
		size_t need = (size_t)md_open(open, s, k) + strlen(md_close), fit_need = 0;
		for (size_t i = 0; i < l->n; i++) {
			size_t line = strlen(l->v[i]) + 1;
			if (need + line > room)
				break;
			need += line;
			if (i + 1 == l->n || l->v[i + 1][0] != ' ') { /* a group ends here */
				shown[k] = i + 1;
				fit_need = need;
			}
		}
		if (shown[k])
			room -= fit_need;
	}
}

static int md_header(const plan *p, const sections *s, buf *b)
{
	char commit[48], age[32], c[8][32];
	int rc = 0;
	fmt_commit(p, commit);
	fmt_age(p, age);
	fmt_count(p->ncreate, c[0]);
	fmt_count(p->nupdate, c[1]);
	fmt_count(p->ndelete, c[2]);
	fmt_count(p->nblocked, c[3]);
	fmt_count(p->norphan, c[4]);
	fmt_count(p->nnoop, c[5]);
	fmt_count(p->ncalls, c[6]);
	fmt_count(p->nadopt, c[7]);
	/* names are short (tenant and fleet names are DNS labels); the cut
	 * keeps the header well inside MD_MIN_CHARS whatever they hold */
	rc |= buf_printf(b, "### flotilla plan\n\nFleet `%.100s` at `%s`, cache age %s\n\n", p->fleet ? p->fleet : "",
			 commit, age);
	rc |= buf_adds(b, "| create | adopt | update | delete | blocked | orphaned | unchanged | API calls |\n"
			  "|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	rc |= buf_printf(b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n\n", c[0], c[7], c[1], c[2], c[3], c[4],
			 c[5], c[6]);
	if (!has_changes(p))
		rc |= buf_adds(b, "No changes. Your fleet matches the manifests.\n\n");
	if (s->deep_unknown) {
		rc |= deep_note(b, s->deep_unknown);
		rc |= buf_adds(b, "\n");
	}
	if (p->nunmanaged) {
		rc |= unmanaged_note(b, p, "\n");
		rc |= buf_adds(b, "\n");
	}
	return rc;
}

int plan_render_markdown(const plan *p, const plan_render_opts *o, buf *out)
{
	plan_render_opts defaults = PLAN_RENDER_OPTS_INIT;
	if (!o)
		o = &defaults;
	size_t max_chars = o->max_chars;
	const char *url = o->full_plan_url;
	size_t reserve = MD_RESERVE + (url ? strlen(url) : 0);
	if (max_chars < MD_MIN_CHARS || max_chars < reserve + MD_MIN_CHARS / 2)
		return err_set(ERR_INVALID, "markdown limit %s is too small (minimum %d, and room for the plan's URL)",
			       unit_count((int64_t)max_chars).s, MD_MIN_CHARS);
	buf b = BUF_INIT(0);
	sections s;
	sections_build(p, &s);
	int rc = md_header(p, &s, &b);
	size_t shown[NSEC];
	size_t limit = max_chars - reserve;
	md_fit(&s, limit > b.len ? limit - b.len : 0, shown);
	size_t left = 0, left_kept = 0; /* lines not shown; of them, blocked, delete or orphan lines */
	for (int k = 0; k < NSEC; k++) {
		if (!s.count[k])
			continue;
		left += s.sec[k].n - shown[k];
		if (k == SEC_BLOCKED || k == SEC_DELETE || k == SEC_ORPHAN)
			left_kept += s.sec[k].n - shown[k];
		if (!shown[k])
			continue;
		char open[128];
		md_open(open, &s, k);
		rc |= buf_adds(&b, open);
		for (size_t i = 0; i < shown[k]; i++)
			rc |= buf_printf(&b, "%s\n", s.sec[k].v[i]);
		rc |= buf_adds(&b, md_close);
	}
	if (left) {
		rc |= buf_printf(&b, "_… %s more line%s not shown: the plan is too large for a comment, so %s; ",
				 unit_count((int64_t)left).s, left == 1 ? "" : "s",
				 left_kept ? "even blocked, delete or orphan lines were cut"
					   : "update lines were cut first, then create and adopt lines; blocked, delete and "
					     "orphan sections are whole");
		if (url)
			rc |= buf_printf(&b, "the whole plan: %s_\n", url);
		else
			rc |= buf_adds(&b, "the whole plan is in the CI log._\n");
	}
	sections_release(&s);
	if (!rc && b.len > max_chars)
		rc = err_set(ERR_TOOBIG, "markdown plan of %zu characters exceeds %zu", b.len, max_chars);
	else if (rc)
		rc = ERR_TOOBIG;
	if (!rc)
		rc = buf_add(out, b.data, b.len);
	buf_release(&b);
	return rc;
}
