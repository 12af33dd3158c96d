/*
 * diag.c: the list of manifest diagnostics, kept as data (STYLE.md rule 6)
 * and rendered once, sorted, as text lines or one JSON document.
 */
#include <stdlib.h>
#include <string.h>

#include "spec/internal.h"

struct spec_diags {
	spec_diag *items;
	size_t n, cap;
};

spec_diags *spec_diags_new(void)
{
	return xcalloc(1, sizeof(spec_diags));
}

void spec_diags_free(spec_diags *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->items[i].file);
		free(d->items[i].path);
		free(d->items[i].msg);
	}
	free(d->items);
	free(d);
}

void spec_diags_add(spec_diags *d, const char *file, unsigned line, unsigned col,
		    const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	spec__diags_vadd(d, file, line, col, path, fmt, ap);
	va_end(ap);
}

void spec__diags_vadd(spec_diags *d, const char *file, unsigned line, unsigned col, const char *path,
		const char *fmt, va_list ap)
{
	if (d->n == d->cap)
		d->items = xgrow(d->items, &d->cap, d->n + 1, sizeof(*d->items));
	spec_diag *g = &d->items[d->n++];
	buf msg = BUF_INIT(0);
	if (buf_vprintf(&msg, fmt, ap) != 0)
		abort(); /* unbounded buffer: cannot fail */
	g->file = xstrdup(file ? file : "");
	g->line = line ? line : 1;
	g->col = col ? col : 1;
	g->path = xstrdup(path ? path : "(document)");
	g->msg = buf_detach(&msg, NULL);
}

size_t spec_diags_count(const spec_diags *d)
{
	return d->n;
}

const spec_diag *spec_diags_at(const spec_diags *d, size_t i)
{
	return i < d->n ? &d->items[i] : NULL;
}

static int diag_cmp(const void *pa, const void *pb)
{
	const spec_diag *a = pa, *b = pb;
	int c = strcmp(a->file, b->file);
	if (c)
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	c = strcmp(a->path, b->path);
	if (c)
		return c;
	return strcmp(a->msg, b->msg);
}

void spec_diags_sort(spec_diags *d)
{
	if (d->n < 2)
		return;
	qsort(d->items, d->n, sizeof(*d->items), diag_cmp);
	size_t kept = 1;
	for (size_t i = 1; i < d->n; i++) {
		if (diag_cmp(&d->items[kept - 1], &d->items[i]) == 0) {
			free(d->items[i].file);
			free(d->items[i].path);
			free(d->items[i].msg);
			continue;
		}
		d->items[kept++] = d->items[i];
	}
	d->n = kept;
}

/* Text diagnostics are one line each, whatever a manifest's strings hold:
 * control characters are written as C escapes. */
static int add_escaped(buf *out, const char *s)
{
	int rc = 0;
	for (; rc == 0 && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\n')
			rc = buf_adds(out, "\\n");
		else if (c == '\t')
			rc = buf_adds(out, "\\t");
		else if (c == '\r')
			rc = buf_adds(out, "\\r");
		else if (c < 0x20 || c == 0x7f)
			rc = buf_printf(out, "\\x%02x", c);
		else
			rc = buf_addc(out, (char)c);
	}
	return rc;
}

int spec_diags_render_text(const spec_diags *d, buf *out)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < d->n; i++) {
		const spec_diag *g = &d->items[i];
		rc = add_escaped(out, g->file);
		if (!rc) rc = buf_printf(out, ":%u:%u: ", g->line, g->col);
		if (!rc) rc = add_escaped(out, g->path);
		if (!rc) rc = buf_adds(out, ": ");
		if (!rc) rc = add_escaped(out, g->msg);
		if (!rc) rc = buf_addc(out, '\n');
	}
	return rc;
}

int spec_diags_render_json(const spec_diags *d, buf *out)
{
	int rc = buf_printf(out, "{\"version\":1,\"valid\":%s,\"count\":%zu,\"diagnostics\":[",
			    d->n ? "false" : "true", d->n);
	for (size_t i = 0; rc == 0 && i < d->n; i++) {
		const spec_diag *g = &d->items[i];
		rc = buf_adds(out, i ? ",{\"file\":\"" : "{\"file\":\"");
		if (!rc) rc = buf_add_json_str(out, g->file);
		if (!rc) rc = buf_printf(out, "\",\"line\":%u,\"column\":%u,\"path\":\"", g->line, g->col);
		if (!rc) rc = buf_add_json_str(out, g->path);
		if (!rc) rc = buf_adds(out, "\",\"message\":\"");
		if (!rc) rc = buf_add_json_str(out, g->msg);
		if (!rc) rc = buf_adds(out, "\"}");
	}
	if (!rc)
		rc = buf_adds(out, "]}\n");
	return rc;
}

void spec__diags_move(spec_diags *dst, spec_diags *src)
{
	if (src->n == 0)
		return;
	if (dst->n + src->n > dst->cap)
		dst->items = xgrow(dst->items, &dst->cap, dst->n + src->n, sizeof(*dst->items));
	memcpy(dst->items + dst->n, src->items, src->n * sizeof(*src->items));
	dst->n += src->n;
	src->n = 0;
}

void spec__diags_clear(spec_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->items[i].file);
		free(d->items[i].path);
		free(d->items[i].msg);
	}
	d->n = 0;
}
