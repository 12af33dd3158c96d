/*
 * glob.c: the `manifests` globs of a Fleet. Matching is on '/'-separated
 * repository paths: `*`, `?` and `[...]` stay within one segment, and a
 * segment that is exactly two asterisks spans zero or more segments, so
 * "tenants/<two asterisks>/<asterisk>.yaml" matches "tenants/a.yaml" and
 * "tenants/eu/de/b.yaml".
 */
#include <string.h>

#include "spec/internal.h"

/* Match a bracket class at g (just past '['); sets *end past ']'. */
static bool class_match(const char *g, char c, const char **end)
{
	bool neg = false, hit = false;
	if (*g == '!' || *g == '^') {
		neg = true;
		g++;
	}
	const char *start = g;
	while (*g && (*g != ']' || g == start)) {
		if (g[1] == '-' && g[2] && g[2] != ']') {
			if (c >= g[0] && c <= g[2])
				hit = true;
			g += 3;
		} else {
			if (c == *g)
				hit = true;
			g++;
		}
	}
	if (*g != ']') {
		*end = NULL; /* unterminated: the '[' is literal */
		return false;
	}
	*end = g + 1;
	return hit != neg;
}

static bool match(const char *g, const char *p)
{
	while (*g) {
		if (g[0] == '*' && g[1] == '*' && (g[2] == '/' || g[2] == 0)) {
			const char *rest = g[2] == '/' ? g + 3 : g + 2;
			if (!*rest)
				return true;
			for (;;) {
				if (match(rest, p))
					return true;
				p = strchr(p, '/');
				if (!p)
					return false;
				p++;
			}
		}
		switch (*g) {
		case '*':
			g++;
			for (;;) {
				if (match(g, p))
					return true;
				if (!*p || *p == '/')
					return false;
				p++;
			}
		case '?':
			if (!*p || *p == '/')
				return false;
			g++;
			p++;
			break;
		case '[': {
			const char *end;
			if (!*p || *p == '/')
				return false;
			bool ok = class_match(g + 1, *p, &end);
			if (end) {
				if (!ok)
					return false;
				g = end;
				p++;
				break;
			}
			/* an unterminated '[' is a literal character */
			if (*p != '[')
				return false;
			g++;
			p++;
			break;
		}
		default:
			if (*g != *p)
				return false;
			g++;
			p++;
		}
	}
	return *p == 0;
}

bool spec_glob_match(const char *glob, const char *path)
{
	return match(glob, path);
}

bool spec_fleet_is_manifest_path(const spec_fleet *f, const char *path)
{
	/* both sources skip dot-named entries, so no such path is loaded */
	for (const char *s = path; s; s = strchr(s, '/') ? strchr(s, '/') + 1 : NULL)
		if (*s == '.')
			return false;
	if (strcmp(path, "flotilla.yaml") == 0)
		return true;
	for (size_t g = 0; f->manifests && g < f->manifests->n; g++)
		if (spec_glob_match(f->manifests->items[g].s, path))
			return true;
	return false;
}

void spec_fleet_manifest_roots(const spec_fleet *f, void (*fn)(void *arg, const char *root), void *arg)
{
	fn(arg, "flotilla.yaml");
	buf root = BUF_INIT(0);
	for (size_t g = 0; f->manifests && g < f->manifests->n; g++) {
		/* the segments before the first one with a wildcard: every
		 * match lies under them ("tenants/<two asterisks>/x.yaml": tenants) */
		const char *glob = f->manifests->items[g].s;
		size_t keep = 0;
		for (const char *s = glob; *s; s++) {
			if (strchr("*?[", *s))
				break;
			if (*s == '/')
				keep = (size_t)(s - glob);
		}
		if (!strpbrk(glob, "*?["))
			keep = strlen(glob); /* no wildcard: a file of its own */
		buf_reset(&root);
		if (buf_add(&root, glob, keep) != 0 || buf_add(&root, "", 0) != 0)
			abort(); /* no maximum: cannot fail */
		fn(arg, root.data ? root.data : "");
	}
	buf_release(&root);
}
