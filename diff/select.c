/*
 * select.c: `--select` expressions, which narrow a plan to some tenants.
 *
 * An expression is a comma-separated list of terms that must all hold:
 * name=GLOB, label.KEY=VALUE, region=REGION and changed-since=SHA. A
 * tenant the selector rejects is simply absent from the plan (not counted
 * as a NOOP). changed-since needs git, which diff/ does not know: the caller
 * reads the sha (plan_selector_changed_since), resolves it to the tenants
 * whose manifests changed and hands them back (plan_select_changed).
 */
#include <string.h>

#include "diff/diff.h"

typedef enum { TERM_NAME, TERM_LABEL, TERM_REGION, TERM_CHANGED } term_kind;

typedef struct term {
	term_kind kind;
	char *key;   /* label key */
	char *value; /* glob, label value, region, sha */
} term;

struct plan_selector {
	term *terms;
	size_t n, cap;
	strmap *changed;  /* tenant name -> itself (owned); NULL until given */
	char **changed_names;
	size_t nchanged;
};

void plan_selector_free(plan_selector *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->terms[i].key);
		free(s->terms[i].value);
	}
	free(s->terms);
	strmap_free(s->changed);
	for (size_t i = 0; i < s->nchanged; i++)
		free(s->changed_names[i]);
	free(s->changed_names);
	free(s);
}

static int parse_term(plan_selector *s, const char *t, size_t len)
{
	char *text = xstrndup(t, len);
	char *eq = strchr(text, '=');
	term tm = {0};
	int rc = 0;
	if (!eq || eq == text || eq[1] == 0) {
		rc = err_set(ERR_INVALID, "selector term '%s': expected KEY=VALUE (name=, label.KEY=, region=, changed-since=)",
			     text);
		goto done;
	}
	*eq = 0;
	const char *k = text, *v = eq + 1;
	if (strcmp(k, "name") == 0) {
		tm.kind = TERM_NAME;
	} else if (strcmp(k, "region") == 0) {
		tm.kind = TERM_REGION;
	} else if (strcmp(k, "changed-since") == 0) {
		tm.kind = TERM_CHANGED;
	} else if (str_has_prefix(k, "label.") && k[6] != 0) {
		tm.kind = TERM_LABEL;
		tm.key = xstrdup(k + 6);
	} else {
		rc = err_set(ERR_INVALID, "selector term '%s=%s': unknown key '%s' (name=, label.KEY=, region=, changed-since=)",
			     k, v, k);
		goto done;
	}
	tm.value = xstrdup(v);
	s->terms = xgrow(s->terms, &s->cap, s->n + 1, sizeof(term));
	s->terms[s->n++] = tm;
done:
	free(text);
	return rc;
}

int plan_selector_parse(plan_selector **out, const char *expr)
{
	*out = NULL;
	plan_selector *s = xcalloc(1, sizeof(*s));
	int rc = 0;
	const char *p = expr ? expr : "";
	while (*p == ' ')
		p++;
	if (*p == 0) {
		rc = err_set(ERR_INVALID, "empty selector: expected terms such as name=acme* or label.tier=pro");
		goto fail;
	}
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		/* trim blanks around a term: "name=a, region=b" reads naturally */
		while (len && *p == ' ') {
			p++;
			len--;
		}
		while (len && p[len - 1] == ' ')
			len--;
		if (len == 0) {
			rc = err_set(ERR_INVALID, "selector '%s': empty term", expr);
			goto fail;
		}
		if ((rc = parse_term(s, p, len)) != 0)
			goto fail;
		if (!end)
			break;
		p = end + 1;
		if (*p == 0) {
			rc = err_set(ERR_INVALID, "selector '%s': empty term", expr);
			goto fail;
		}
	}
	*out = s;
	return 0;
fail:
	plan_selector_free(s);
	return rc;
}

const char *plan_selector_changed_since(const plan_selector *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		if (s->terms[i].kind == TERM_CHANGED)
			return s->terms[i].value;
	return NULL;
}

void plan_select_changed(plan_selector *s, const char *const *tenants, size_t n)
{
	if (!s)
		return;
	if (!s->changed)
		s->changed = strmap_new();
	s->changed_names = xrealloc(s->changed_names, (s->nchanged + n) * sizeof(char *) + 1);
	for (size_t i = 0; i < n; i++) {
		char *c = xstrdup(tenants[i]);
		s->changed_names[s->nchanged++] = c;
		strmap_put(s->changed, c, c);
	}
}

static const char *label_get(const spec_map *labels, const char *key)
{
	if (!labels)
		return NULL;
	for (size_t i = 0; i < labels->n; i++)
		if (strcmp(labels->keys[i], key) == 0)
			return labels->vals[i].s;
	return NULL;
}

/*
 * Orphans (spec NULL: the manifest is gone) have no labels and no desired
 * region, so a label= or region= term never matches them: only name= (and
 * changed-since=, when the caller counts the removal as a change) can
 * select an orphan. A changed-since term whose set was never given matches
 * nothing, so a caller that forgets to resolve it plans nothing rather
 * than everything.
 */
bool plan_selector_match(const plan_selector *s, const char *tenant, const spec_values *spec,
			 const spec_map *labels)
{
	if (!s)
		return true;
	for (size_t i = 0; i < s->n; i++) {
		const term *t = &s->terms[i];
		switch (t->kind) {
		case TERM_NAME:
			if (!spec_glob_match(t->value, tenant))
				return false;
			break;
		case TERM_LABEL: {
			const char *v = spec ? label_get(labels, t->key) : NULL;
			if (!v || strcmp(v, t->value) != 0)
				return false;
			break;
		}
		case TERM_REGION:
			if (!spec || !spec->v[SF_REGION].s || strcmp(spec->v[SF_REGION].s, t->value) != 0)
				return false;
			break;
		case TERM_CHANGED:
			if (!s->changed || !strmap_get(s->changed, tenant))
				return false;
			break;
		}
	}
	return true;
}

bool plan_selector_narrows(const plan_selector *s)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (s->terms[i].kind != TERM_CHANGED)
			return true;
	return false;
}
