/*
 * error.c: the per-thread last error. Functions report failure with a small
 * negative code that callers branch on, and a human message that only the
 * CLI prints. Keeping the message in thread-local storage instead of an
 * out-parameter keeps every signature short, and makes it safe for worker
 * threads to fail independently. Messages longer than the buffer are cut,
 * never overflowed: a truncated message still says what went wrong.
 */
#include "util/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ERR_MSG_MAX 1024

static _Thread_local int last_code;
static _Thread_local char last_msg[ERR_MSG_MAX];

/*
 * Shorten a cut message so that it does not end inside a UTF-8 sequence:
 * the message ends up in logs and JSON output, and a half character there
 * turns a readable message into an invalid document.
 */
static void trim_partial_utf8(char *s, size_t len)
{
	size_t i = len, cont = 0;
	unsigned char c;
	size_t want;

	while (i > 0 && cont < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) {
		i--;
		cont++;
	}
	if (i == 0)
		return;
	c = (unsigned char)s[i - 1];
	if (c < 0xC0)
		return; /* ASCII last, or stray continuation bytes: leave alone */
	want = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
	if (cont < want)
		s[i - 1] = '\0';
}

int err_set(int code, const char *fmt, ...)
{
	/* Format into a scratch buffer first: callers often wrap the previous
	 * message, err_set(rc, "loading 'x': %s", err_msg()), and formatting
	 * straight into last_msg would read and write the same bytes. */
	char tmp[ERR_MSG_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		str_copy(tmp, "(unprintable error message)", sizeof(tmp));
	else if ((size_t)n >= sizeof(tmp))
		trim_partial_utf8(tmp, sizeof(tmp) - 1);
	memcpy(last_msg, tmp, strlen(tmp) + 1);
	last_code = code;
	return code;
}

const char *err_msg(void)
{
	return last_msg;
}

int err_code(void)
{
	return last_code;
}

void err_clear(void)
{
	last_code = ERR_OK;
	last_msg[0] = '\0';
}

const char *err_name(int code)
{
	switch (code) {
	case ERR_OK:
		return "ok";
	case ERR_FAIL:
		return "failure";
	case ERR_NOTFOUND:
		return "not found";
	case ERR_CONFLICT:
		return "conflict";
	case ERR_LOCKED:
		return "locked";
	case ERR_INVALID:
		return "invalid";
	case ERR_TOOBIG:
		return "too big";
	case ERR_IO:
		return "i/o error";
	case ERR_UNKNOWN_OUTCOME:
		return "unknown outcome";
	default:
		return "unknown error";
	}
}
