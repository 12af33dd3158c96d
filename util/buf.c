/*
 * buf.c: the one growable byte buffer. Every buffer carries a maximum so
 * that a hostile or broken input (a 2 GiB manifest, an endless HTTP body)
 * fails with ERR_TOOBIG instead of eating the machine's memory. The
 * maximum bounds len, the bytes of content; the terminating NUL that is
 * always kept after them is not counted. An append either happens whole or
 * not at all, so a caller that gets ERR_TOOBIG still holds the buffer as it
 * was before the call.
 */
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Smallest allocation: avoids a string of tiny reallocs for short texts. */
#define BUF_MIN_CAP 64
/* Read size when the file size is not known up front (pipes, /proc). */
#define BUF_READ_CHUNK 8192

/*
 * strerror() may use a shared static buffer; strerror_r() does not, but
 * glibc with _GNU_SOURCE returns char * where POSIX returns int. _Generic
 * picks the right reading of the result so this compiles either way.
 */
static const char *errno_text_int(int rc, char *tmp)
{
	return rc == 0 ? tmp : "unknown error";
}

static const char *errno_text_ptr(char *rc, char *tmp)
{
	(void)tmp;
	return rc;
}

#define ERRNO_TEXT(e, tmp) \
	_Generic(strerror_r((e), (tmp), sizeof(tmp)), \
		int: errno_text_int, \
		char *: errno_text_ptr)(strerror_r((e), (tmp), sizeof(tmp)), (tmp))

static int too_big(const buf *b)
{
	return err_set(ERR_TOOBIG, "data is larger than the limit of %zu bytes", b->max);
}

/*
 * Make room for `extra` more bytes plus the NUL. Fails with ERR_TOOBIG when
 * len + extra would pass the maximum (or size_t), changing nothing.
 */
static int reserve(buf *b, size_t extra)
{
	size_t need, ncap;

	if (extra > SIZE_MAX - 1 - b->len)
		return too_big(b);
	if (b->max && (b->len > b->max || extra > b->max - b->len))
		return too_big(b);
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap < BUF_MIN_CAP ? BUF_MIN_CAP : b->cap;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	/* Doubling must not allocate far past what the maximum can ever use. */
	if (b->max && ncap > b->max + 1)
		ncap = b->max + 1 > need ? b->max + 1 : need;
	b->data = xrealloc(b->data, ncap);
	b->cap = ncap;
	return 0;
}

void buf_init(buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

/* Free the memory; the buffer is left empty and usable with the same max. */
void buf_release(buf *b)
{
	if (!b)
		return;
	free(b->data);
	buf_init(b, b->max);
}

void buf_reset(buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

/* Append n bytes (which may include NULs). ERR_TOOBIG past the maximum. */
int buf_add(buf *b, const void *data, size_t n)
{
	int rc = reserve(b, n);

	if (rc < 0)
		return rc;
	if (n)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_adds(buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int buf_addc(buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int buf_printf(buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

/*
 * Format into the spare capacity first, which is enough most of the time;
 * only when it is not, grow to the exact size and format again. A failed
 * attempt may have scribbled past len, so the NUL is put back before
 * returning an error.
 */
int buf_vprintf(buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	size_t avail = b->cap ? b->cap - b->len : 0;
	int n, rc = 0;

	va_copy(ap2, ap);
	n = vsnprintf(avail ? b->data + b->len : NULL, avail, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		rc = err_set(ERR_INVALID, "cannot format '%s'", fmt);
		goto done;
	}
	if ((size_t)n < avail) {
		/* Fitted in place; the check still applies to the maximum. */
		if (b->max && b->len + (size_t)n > b->max) {
			rc = too_big(b);
			goto done;
		}
		b->len += (size_t)n;
		return 0;
	}
	rc = reserve(b, (size_t)n);
	if (rc < 0)
		goto done;
	va_copy(ap2, ap);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	b->len += (size_t)n;
	return 0;

done:
	if (b->data)
		b->data[b->len] = '\0';
	return rc;
}

char *buf_detach(buf *b, size_t *len)
{
	char *p = b->data ? b->data : xstrdup("");

	if (len)
		*len = b->len;
	buf_init(b, b->max);
	return p;
}

/* Read one byte past the maximum: if there is one, the file is too big. */
static int probe_eof(int fd, const char *path)
{
	char c, tmp[256];
	ssize_t n;

	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_set(ERR_IO, "cannot read '%s': %s", path, ERRNO_TEXT(errno, tmp));
	return n == 0 ? 0 : 1;
}

/*
 * Append the whole file at `path` to b. ERR_IO when it cannot be opened or
 * read, ERR_TOOBIG when its bytes do not fit under b->max together with
 * what b already holds. On any failure b is left as it was.
 */
int buf_read_file(buf *b, const char *path)
{
	size_t orig = b->len;
	char tmp[256];
	struct stat st;
	int fd, rc = 0;

	do
		fd = open(path, O_RDONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return err_set(ERR_IO, "cannot open '%s': %s", path, ERRNO_TEXT(errno, tmp));

	/* Reserve a regular file's size in one go, and reject one that is too
	 * big before reading a byte of it. The loop below does not trust the
	 * size, which can change under us. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		if ((uintmax_t)st.st_size > SIZE_MAX - 1 - b->len ||
		    (b->max && (b->len > b->max || (uintmax_t)st.st_size > b->max - b->len))) {
			rc = err_set(ERR_TOOBIG, "file '%s' is larger than the limit of %zu bytes",
				     path, b->max);
			goto done;
		}
		rc = reserve(b, (size_t)st.st_size);
		if (rc < 0)
			goto done;
	}

	for (;;) {
		size_t room;
		ssize_t n;

		if (b->max && b->len >= b->max) {
			rc = probe_eof(fd, path);
			if (rc > 0)
				rc = err_set(ERR_TOOBIG, "file '%s' is larger than the limit of %zu bytes",
					     path, b->max);
			if (rc != 0)
				goto done;
			break;
		}
		room = b->cap ? b->cap - b->len - 1 : 0;
		if (room == 0) {
			room = b->cap > BUF_READ_CHUNK ? b->cap : BUF_READ_CHUNK;
			if (b->max && room > b->max - b->len)
				room = b->max - b->len;
			rc = reserve(b, room);
			if (rc < 0)
				goto done;
			room = b->cap - b->len - 1;
		}
		if (b->max && room > b->max - b->len)
			room = b->max - b->len;
		n = read(fd, b->data + b->len, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = err_set(ERR_IO, "cannot read '%s': %s", path, ERRNO_TEXT(errno, tmp));
			goto done;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
	}
	/* An empty file still leaves a valid "" behind. */
	rc = reserve(b, 0);

done:
	close(fd);
	if (rc < 0) {
		b->len = orig;
		if (b->data)
			b->data[orig] = '\0';
		return rc;
	}
	b->data[b->len] = '\0';
	return 0;
}
