/*
 * xmalloc.c: allocation that cannot fail. Running out of memory is not an
 * error flotilla can recover from in any useful way, so instead of threading
 * ENOMEM through every error path the process prints one line and aborts.
 * The only other way these functions abort is a size computation that would
 * overflow size_t, which is the same situation in disguise.
 */
#include "util/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Print one line and abort; abort() rather than exit() so that a core dump
 * or a sanitizer report shows where the allocation came from. */
static void oom(size_t n) __attribute__((noreturn));
static void oom(size_t n)
{
	fprintf(stderr, "flotilla: out of memory allocating %zu bytes\n", n);
	abort();
}

void *xmalloc(size_t n)
{
	/* malloc(0) may return NULL, which callers would mistake for failure. */
	void *p = malloc(n ? n : 1);

	if (!p)
		oom(n);
	return p;
}

void *xcalloc(size_t count, size_t size)
{
	void *p;

	if (count == 0 || size == 0)
		count = size = 1;
	p = calloc(count, size);
	if (!p)
		oom(size && count > SIZE_MAX / size ? SIZE_MAX : count * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	/* realloc(p, 0) may free p and return NULL; keep a live block instead. */
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom(n);
	return q;
}

/*
 * Grow to at least `need` elements, doubling so that appending one element
 * at a time stays amortised O(1). *cap is updated; the contents of the first
 * *cap elements are kept. A p of NULL with *cap 0 starts a new array.
 */
void *xgrow(void *p, size_t *cap, size_t need, size_t size)
{
	size_t ncap;

	if (need <= *cap)
		return p;
	ncap = *cap < 8 ? 8 : *cap;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2) {
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	if (size && ncap > SIZE_MAX / size)
		oom(SIZE_MAX);
	p = xrealloc(p, ncap * size);
	*cap = ncap;
	return p;
}

char *xstrcat2(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	char *p = xmalloc(na + nb + 1);
	memcpy(p, a, na);
	memcpy(p + na, b, nb + 1);
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

/* Copy at most n bytes of s, stopping early at a NUL; always terminated. */
char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p;

	if (len == SIZE_MAX)
		oom(SIZE_MAX);
	p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

size_t util__format_size(const char *who, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	/* A negative count means an encoding error in a %ls argument: a
	 * programming mistake, not a runtime condition, so treat it as fatal. */
	if (n < 0) {
		fprintf(stderr, "flotilla: %s: invalid format '%s'\n", who, fmt);
		abort();
	}
	return (size_t)n + 1;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	size_t n = util__format_size("xasprintf", fmt, ap);
	char *p = xmalloc(n);

	vsnprintf(p, n, fmt, ap);
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}
