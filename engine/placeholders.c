/*
 * placeholders.c: a plan names what does not exist yet with placeholders,
 * "{project_id}" and "{branch_id:NAME}", in paths and in body strings; a
 * job fills them from what the responses told it (the project and its
 * default branch from the create, each new branch from its own POST).
 */
#include <string.h>

#include "engine/internal.h"

/* "{project_id}" and "{branch_id:NAME}" in s, filled; NULL (with *why) when
 * one is not known yet. */
char *engine__fill(job *j, const char *s, const char **why)
{
	buf b = BUF_INIT(0);
	int rc = 0;
	while (*s) {
		const char *open = strchr(s, '{');
		if (!open) {
			rc |= buf_adds(&b, s);
			break;
		}
		const char *close = strchr(open, '}');
		if (!close) {
			rc |= buf_adds(&b, s);
			break;
		}
		rc |= buf_add(&b, s, (size_t)(open - s));
		size_t n = (size_t)(close - open - 1);
		const char *val = NULL;
		char key[300];
		snprintf(key, sizeof(key), "%.*s", (int)n, open + 1);
		if (strcmp(key, "project_id") == 0) {
			val = j->project_id;
		} else if (strncmp(key, "branch_id:", 10) == 0) {
			for (size_t i = 0; i < j->nbranches && !val; i++)
				if (strcmp(j->bnames[i], key + 10) == 0)
					val = j->bids[i];
		} else {
			rc |= buf_add(&b, open, (size_t)(close - open + 1)); /* not ours */
			s = close + 1;
			continue;
		}
		if (!val) {
			*why = "a placeholder names something not created yet";
			buf_release(&b);
			return NULL;
		}
		rc |= buf_adds(&b, val);
		s = close + 1;
	}
	(void)rc;
	return buf_detach(&b, NULL);
}

/* A copy of body with every string value filled. */
json_t *engine__fill_json(job *j, const json_t *v, const char **why)
{
	if (json_is_string(v)) {
		char *s = engine__fill(j, json_string_value(v), why);
		if (!s)
			return NULL;
		json_t *r = json_string(s);
		free(s);
		return r;
	}
	if (json_is_object(v)) {
		json_t *o = json_object();
		const char *k;
		json_t *m;
		json_object_foreach((json_t *)v, k, m) {
			json_t *f = engine__fill_json(j, m, why);
			if (!f) {
				json_decref(o);
				return NULL;
			}
			json_object_set_new(o, k, f);
		}
		return o;
	}
	if (json_is_array(v)) {
		json_t *a = json_array();
		size_t i;
		json_t *m;
		json_array_foreach(v, i, m) {
			json_t *f = engine__fill_json(j, m, why);
			if (!f) {
				json_decref(a);
				return NULL;
			}
			json_array_append_new(a, f);
		}
		return a;
	}
	return json_deep_copy(v);
}

void engine__learn_branch(job *j, const json_t *br)
{
	const char *id = json_string_value(json_object_get(br, "id"));
	const char *name = json_string_value(json_object_get(br, "name"));
	if (!id || !name)
		return;
	for (size_t i = 0; i < j->nbranches; i++) {
		if (strcmp(j->bnames[i], name) == 0) {
			free(j->bids[i]);
			j->bids[i] = xstrdup(id);
			return;
		}
	}
	j->bnames = xrealloc(j->bnames, (j->nbranches + 1) * sizeof(char *));
	j->bids = xrealloc(j->bids, (j->nbranches + 1) * sizeof(char *));
	j->bnames[j->nbranches] = xstrdup(name);
	j->bids[j->nbranches++] = xstrdup(id);
}

/* A query value, percent-encoded but for RFC 3986's unreserved bytes. */
char *engine__query_escape(const char *s)
{
	buf b = BUF_INIT(0);
	int rc = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-._~", *p))
			rc |= buf_add(&b, p, 1);
		else
			rc |= buf_printf(&b, "%%%02X", *p);
	}
	(void)rc;
	return b.data ? buf_detach(&b, NULL) : xstrdup("");
}

