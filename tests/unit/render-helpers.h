/*
 * render-helpers.h: the diff tests' shorthands for rendering a plan to a
 * string (test-diff.c, test-diff-create.c), each asserting the renderer
 * succeeded. Static inline: only the diff tests include it.
 */
#ifndef FLOTILLA_TESTS_RENDER_HELPERS_H
#define FLOTILLA_TESTS_RENDER_HELPERS_H

static inline char *render_text(const plan *p)
{
	buf b = BUF_INIT(0);
	assert_int_equal(plan_render_text(p, NULL, &b), 0);
	return buf_detach(&b, NULL);
}

/* Markdown within max characters, linking url when given */
static inline char *render_markdown(const plan *p, size_t max, const char *url)
{
	plan_render_opts o = PLAN_RENDER_OPTS_INIT;
	o.max_chars = max;
	o.full_plan_url = url;
	buf b = BUF_INIT(0);
	assert_int_equal(plan_render_markdown(p, &o, &b), 0);
	assert_true(b.len <= max);
	assert_int_equal(strlen(b.data), b.len);
	return buf_detach(&b, NULL);
}

/* lines of s that start with prefix */
static inline size_t count_prefix_lines(const char *s, const char *prefix)
{
	size_t n = 0, pl = strlen(prefix);
	for (const char *l = s; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, prefix, pl))
			n++;
	return n;
}

#endif
