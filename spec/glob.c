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
