/*
 * log.c: the process-wide logger. One event is one line, either for people
 * ("2026-11-26T03:42:00Z info  applied plan tenant=acme") or for machines
 * (one JSON object a line), so that `grep` and log shippers both work. The
 * whole line is built in memory and written with one call under a mutex:
 * events from different threads never interleave within a line, and the
 * stream is flushed after each one so a crash loses nothing that was
 * logged before it. Anything a user controls (messages, values) is escaped
 * so that it cannot forge a line break or a JSON field.
 */
#include "util/util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static log_level log_min = LOG_INFO;
static log_format log_fmt = LOG_HUMAN;
/* NULL stands for stderr, which is not a constant an initializer can use. */
static FILE *log_out;

static const char *const level_names[] = {
	[LOG_DEBUG] = "debug",
	[LOG_INFO] = "info",
	[LOG_WARN] = "warn",
	[LOG_ERROR] = "error",
};

/* Out of range levels are clamped rather than indexing past the table. */
static const char *level_name(log_level lvl)
{
	if ((unsigned)lvl >= ARRAY_LEN(level_names))
		return "error";
	return level_names[lvl];
}

/* Set the minimum level, format and stream; a NULL `out` means stderr. The
 * stream stays owned by the caller and must outlive its use here. */
void log_setup(log_level min, log_format fmt, FILE *out)
{
	pthread_mutex_lock(&log_lock);
	log_min = min;
	log_fmt = fmt;
	log_out = out;
	pthread_mutex_unlock(&log_lock);
}

int log_level_parse(const char *s, log_level *out)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(level_names); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (log_level)i;
			return 0;
		}
	}
	return err_set(ERR_INVALID, "invalid log level '%s': use debug, info, warn or error", s);
}

/*
 * Escapes control characters, quotes and backslashes JSON's way. Bytes that
 * are not valid UTF-8 become U+FFFD, because a JSON document must be UTF-8
 * and one bad byte in a manifest value should not make the whole log line
 * unreadable. All or nothing: on ERR_TOOBIG b is left as it was.
 */
int buf_add_json_str(buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t orig = b->len, n = strlen(s), i = 0;
	int rc = 0;

	while (i < n) {
		size_t bad = n, run = i;

		if (!utf8_valid(s + i, n - i, &bad))
			bad += i;
		/* Copy the valid stretch [i, bad), escaping as we go. */
		while (run < bad) {
			size_t start = run;
			unsigned char c;

			while (run < bad && (unsigned char)s[run] >= 0x20 &&
			       s[run] != '"' && s[run] != '\\')
				run++;
			if (run > start && (rc = buf_add(b, s + start, run - start)) < 0)
				goto done;
			if (run == bad)
				break;
			c = (unsigned char)s[run++];
			switch (c) {
			case '"': rc = buf_add(b, "\\\"", 2); break;
			case '\\': rc = buf_add(b, "\\\\", 2); break;
			case '\b': rc = buf_add(b, "\\b", 2); break;
			case '\f': rc = buf_add(b, "\\f", 2); break;
			case '\n': rc = buf_add(b, "\\n", 2); break;
			case '\r': rc = buf_add(b, "\\r", 2); break;
			case '\t': rc = buf_add(b, "\\t", 2); break;
			default: {
				char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

				rc = buf_add(b, u, sizeof(u));
			}
			}
			if (rc < 0)
				goto done;
		}
		if (bad < n) {
			if ((rc = buf_add(b, "\\ufffd", 6)) < 0)
				goto done;
			bad++;
		}
		i = bad;
	}

done:
	if (rc < 0) {
		b->len = orig;
		if (b->data)
			b->data[orig] = '\0';
	}
	return rc;
}

/* For the human form: a message stays as it is except that control
 * characters become visible escapes, so one event stays one line. */
static int human_escape(buf *b, const char *s)
{
	int rc = 0;

	for (; *s && rc == 0; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n')
			rc = buf_add(b, "\\n", 2);
		else if (c == '\r')
			rc = buf_add(b, "\\r", 2);
		else if (c == '\t')
			rc = buf_add(b, "\\t", 2);
		else if (c < 0x20 || c == 0x7f)
			rc = buf_printf(b, "\\x%02x", c);
		else
			rc = buf_addc(b, (char)c);
	}
	return rc;
}

/* A human value goes bare when that is unambiguous (key=value), and in
 * quotes with JSON escapes otherwise: empty, spaces, quotes, '=' or
 * control characters. */
static int human_value(buf *b, const char *v)
{
	const char *p;
	int rc;

	for (p = v; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c == 0x7f || c == '"' || c == '=' || c == '\\')
			break;
	}
	if (*v && !*p)
		return buf_adds(b, v);
	if ((rc = buf_addc(b, '"')) < 0 || (rc = buf_add_json_str(b, v)) < 0)
		return rc;
	return buf_addc(b, '"');
}

static int format_line(buf *b, log_format fmt, log_level lvl, const char *msg, const char *const *kv)
{
	char ts[32];
	struct tm tm;
	time_t now = time(NULL);
	const char *key, *val;
	int rc;

	if (!gmtime_r(&now, &tm) || strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		str_copy(ts, "0000-00-00T00:00:00Z", sizeof(ts));

	if (fmt == LOG_JSON) {
		if ((rc = buf_printf(b, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"",
				     ts, level_name(lvl))) < 0 ||
		    (rc = buf_add_json_str(b, msg)) < 0 ||
		    (rc = buf_addc(b, '"')) < 0)
			return rc;
	} else {
		if ((rc = buf_printf(b, "%s %-5s ", ts, level_name(lvl))) < 0 ||
		    (rc = human_escape(b, msg)) < 0)
			return rc;
	}

	/* A NULL value ends the list as well as a NULL key: it may be the
	 * terminator the log_* macros add after an odd number of fields, and
	 * reading on would run past the arguments. The dangling key is still
	 * shown, with no value, so the mistake is visible in the log. */
	for (; kv && (key = *kv++) != NULL;) {
		val = *kv++;
		if (fmt == LOG_JSON) {
			if ((rc = buf_adds(b, ",\"")) < 0 || (rc = buf_add_json_str(b, key)) < 0 ||
			    (rc = buf_adds(b, "\":")) < 0)
				return rc;
			if (!val)
				rc = buf_adds(b, "null");
			else if ((rc = buf_addc(b, '"')) == 0 && (rc = buf_add_json_str(b, val)) == 0)
				rc = buf_addc(b, '"');
		} else {
			if ((rc = buf_addc(b, ' ')) < 0 || (rc = human_escape(b, key)) < 0 ||
			    (rc = buf_addc(b, '=')) < 0)
				return rc;
			if (val)
				rc = human_value(b, val);
		}
		if (rc < 0)
			return rc;
		if (!val)
			break;
	}
	if (fmt == LOG_JSON && (rc = buf_addc(b, '}')) < 0)
		return rc;
	return buf_addc(b, '\n');
}

void log_eventv(log_level lvl, const char *msg, const char *const *fields)
{
	buf line = BUF_INIT(0);
	FILE *out;

	pthread_mutex_lock(&log_lock);
	if (lvl < log_min || format_line(&line, log_fmt, lvl, msg, fields) < 0)
		goto done;
	out = log_out ? log_out : stderr;
	/* Logging has nowhere to report its own failure; a full disk must not
	 * turn into a failed reconcile, so write errors are ignored. */
	fwrite(line.data, 1, line.len, out);
	fflush(out);

done:
	pthread_mutex_unlock(&log_lock);
	buf_release(&line);
}

void log_fields_collect(const char *kv[LOG_FIELDS_LEN], va_list ap)
{
	/* a NULL key or value ends them (the terminator the log_* macros
	 * add, even after an odd count) */
	size_t n = 0;
	while (n < LOG_MAX_FIELDS * 2 && (kv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	kv[n] = NULL;
	kv[n + 1] = NULL;
}

void log_event(log_level lvl, const char *msg, ...)
{
	const char *kv[LOG_FIELDS_LEN];
	va_list ap;
	va_start(ap, msg);
	log_fields_collect(kv, ap);
	va_end(ap);
	log_eventv(lvl, msg, kv);
}
