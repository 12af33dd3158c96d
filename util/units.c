/*
 * units.c: the three kinds of quantity a manifest spells with units:
 * durations ("1h30m"), byte sizes ("512MiB") and compute units ("0.25").
 * Parsing is strict on purpose: "5" (five what?), "5M" (minutes or
 * months?) and "10gb" are refused with a message that shows the accepted
 * forms, because guessing wrong here means a database suspended too early
 * or a quota ten times too small. Values are integers all the way through
 * (seconds, bytes, quarter compute units) so that printing what was parsed
 * gives back the same text and plans never show rounding noise.
 *
 * Counts for people are printed one way everywhere: "2,000".
 *
 * It also turns a UTC calendar time into unix seconds, for the readers of
 * RFC 3339 text (plan files, the sim), and reads the monotonic clock in
 * milliseconds, the unit of every deadline and elapsed time.
 */
#include "util/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Read the decimal digits at *p into *v, moving *p past them. Returns false
 * when there are none or the value passes `limit`.
 */
static bool read_digits(const char **p, int64_t limit, int64_t *v, bool *overflow)
{
	const char *s = *p;
	int64_t n = 0;

	if (!is_digit(*s))
		return false;
	for (; is_digit(*s); s++) {
		int d = *s - '0';

		if (n > (limit - d) / 10) {
			*overflow = true;
			return false;
		}
		n = n * 10 + d;
	}
	*p = s;
	*v = n;
	return true;
}

/* ------------------------------------------------------------- durations */

struct duration_unit {
	char name;
	int64_t seconds;
};

/* Largest first: the order pieces must come in, and the order they print. */
static const struct duration_unit duration_units[] = {
	{ 'd', 86400 },
	{ 'h', 3600 },
	{ 'm', 60 },
	{ 's', 1 },
};

static int duration_invalid(const char *s, bool allow_never)
{
	return err_set(ERR_INVALID,
		       "invalid duration '%s': use a number and a unit s, m, h or d, like 30s, 5m, 2h, 7d%s",
		       s, allow_never ? ", or never" : "");
}

/*
 * Pieces come largest unit first, each unit at most once ("1h30m", not
 * "30m1h" or "1h1h"), so that every duration has one spelling and a diff
 * between two manifests never hinges on how a value was written.
 */
int unit_duration_parse(const char *s, bool allow_never, int64_t *out)
{
	const char *p = s;
	int64_t total = 0;
	size_t next = 0; /* index of the smallest unit not yet allowed to follow */

	if (strcmp(s, "never") == 0) {
		if (!allow_never)
			return err_set(ERR_INVALID,
				       "invalid duration 'never': not allowed here; use a number and a unit s, m, h or d, like 30s, 5m, 2h, 7d");
		*out = DURATION_NEVER;
		return 0;
	}
	if (strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (!*p)
		return duration_invalid(s, allow_never);
	while (*p) {
		bool overflow = false;
		int64_t v;
		size_t u;

		if (!read_digits(&p, INT64_MAX, &v, &overflow)) {
			if (overflow)
				return err_set(ERR_INVALID, "invalid duration '%s': too large", s);
			return duration_invalid(s, allow_never);
		}
		for (u = 0; u < ARRAY_LEN(duration_units); u++)
			if (*p == duration_units[u].name)
				break;
		if (u == ARRAY_LEN(duration_units))
			return duration_invalid(s, allow_never);
		if (u < next)
			return err_set(ERR_INVALID,
				       "invalid duration '%s': write units largest first and each once, like 1h30m",
				       s);
		next = u + 1;
		p++;
		if (v > INT64_MAX / duration_units[u].seconds)
			return err_set(ERR_INVALID, "invalid duration '%s': too large", s);
		v *= duration_units[u].seconds;
		if (total > INT64_MAX - v)
			return err_set(ERR_INVALID, "invalid duration '%s': too large", s);
		total += v;
	}
	*out = total;
	return 0;
}

/*
 * Every unit that has a non-zero count, largest first: 5400 → "1h30m",
 * 90061 → "1d1h1m1s". Negative values other than DURATION_NEVER are not
 * durations; they print as plain seconds ("-5s") so nothing is hidden.
 */
void unit_duration_format(int64_t seconds, char out[32])
{
	size_t i, pos = 0;

	if (seconds == DURATION_NEVER) {
		str_copy(out, "never", 32);
		return;
	}
	if (seconds == 0) {
		str_copy(out, "0", 32);
		return;
	}
	if (seconds < 0) {
		snprintf(out, 32, "%" PRId64 "s", seconds);
		return;
	}
	out[0] = '\0';
	for (i = 0; i < ARRAY_LEN(duration_units); i++) {
		int64_t n = seconds / duration_units[i].seconds;
		int w;

		if (n == 0)
			continue;
		seconds -= n * duration_units[i].seconds;
		/* INT64_MAX is "106751991167300d15h30m7s", 24 bytes: always fits. */
		w = snprintf(out + pos, 32 - pos, "%" PRId64 "%c", n, duration_units[i].name);
		if (w < 0 || (size_t)w >= 32 - pos)
			break;
		pos += (size_t)w;
	}
}

/* ----------------------------------------------------------------- sizes */

struct size_unit {
	const char *name;
	int64_t bytes;
};

/* Largest multiplier first, which is the order the formatter tries them. */
static const struct size_unit size_units[] = {
	{ "TiB", INT64_C(1) << 40 },
	{ "TB", INT64_C(1000000000000) },
	{ "GiB", INT64_C(1) << 30 },
	{ "GB", INT64_C(1000000000) },
	{ "MiB", INT64_C(1) << 20 },
	{ "MB", INT64_C(1000000) },
	{ "KiB", INT64_C(1) << 10 },
	{ "KB", INT64_C(1000) },
	{ "B", 1 },
};

#define SIZE_FORMS "use a whole number and a unit B, KB, MB, GB, TB, KiB, MiB, GiB or TiB, like 512MiB or 10GB, or 0 or unlimited"

int unit_size_parse(const char *s, int64_t *out)
{
	const char *p = s;
	bool overflow = false;
	int64_t v;
	size_t u;

	if (strcmp(s, "0") == 0 || strcmp(s, "unlimited") == 0) {
		*out = 0;
		return 0;
	}
	if (!read_digits(&p, INT64_MAX, &v, &overflow)) {
		if (overflow)
			return err_set(ERR_INVALID, "invalid size '%s': too large", s);
		return err_set(ERR_INVALID, "invalid size '%s': " SIZE_FORMS, s);
	}
	for (u = 0; u < ARRAY_LEN(size_units); u++)
		if (strcmp(p, size_units[u].name) == 0)
			break;
	if (u == ARRAY_LEN(size_units)) {
		/* "10gb" is almost certainly "10GB"; say so instead of just no. */
		for (u = 0; u < ARRAY_LEN(size_units); u++)
			if (strcasecmp(p, size_units[u].name) == 0)
				return err_set(ERR_INVALID,
					       "invalid size '%s': units are case-sensitive, write '%s'; " SIZE_FORMS,
					       s, size_units[u].name);
		return err_set(ERR_INVALID, "invalid size '%s': " SIZE_FORMS, s);
	}
	if (v > INT64_MAX / size_units[u].bytes)
		return err_set(ERR_INVALID, "invalid size '%s': too large", s);
	*out = v * size_units[u].bytes;
	return 0;
}

/*
 * The largest unit, binary or decimal, that divides the value exactly;
 * bytes otherwise. 0 is how the API spells "no limit", so it prints as
 * "unlimited". Negative values are not sizes and print as plain bytes.
 */
void unit_size_format(int64_t bytes, char out[32])
{
	size_t u;

	if (bytes == 0) {
		str_copy(out, "unlimited", 32);
		return;
	}
	for (u = 0; bytes > 0 && u < ARRAY_LEN(size_units); u++)
		if (bytes % size_units[u].bytes == 0)
			break;
	if (bytes < 0 || u == ARRAY_LEN(size_units))
		u = ARRAY_LEN(size_units) - 1;
	snprintf(out, 32, "%" PRId64 "%s", bytes / size_units[u].bytes, size_units[u].name);
}

/* --------------------------------------------------------- compute units */

static int cu_invalid(const char *s)
{
	return err_set(ERR_INVALID,
		       "invalid compute units '%s': use a positive multiple of 0.25, like 0.25, 0.5, 1 or 2.75",
		       s);
}

int unit_cu_parse(const char *s, int32_t *quarters)
{
	const char *p = s, *frac, *end;
	bool overflow = false;
	int64_t whole, q;
	size_t flen;

	if (!read_digits(&p, INT32_MAX / 4, &whole, &overflow)) {
		if (overflow)
			return err_set(ERR_INVALID, "invalid compute units '%s': too large", s);
		return cu_invalid(s);
	}
	q = whole * 4;
	if (*p == '.') {
		frac = ++p;
		while (is_digit(*p))
			p++;
		if (p == frac)
			return cu_invalid(s); /* "1." */
		/* Trailing zeros change nothing: "0.50" is "0.5". */
		for (end = p; end > frac && end[-1] == '0'; end--)
			;
		flen = (size_t)(end - frac);
		if (flen == 2 && memcmp(frac, "25", 2) == 0)
			q += 1;
		else if (flen == 1 && frac[0] == '5')
			q += 2;
		else if (flen == 2 && memcmp(frac, "75", 2) == 0)
			q += 3;
		else if (flen != 0)
			return cu_invalid(s);
	}
	if (*p != '\0' || q == 0)
		return cu_invalid(s);
	/* whole <= INT32_MAX / 4, so whole * 4 + 3 still fits an int32. */
	*quarters = (int32_t)q;
	return 0;
}

void unit_cu_format(int32_t quarters, char out[16])
{
	static const char *const frac[] = { "", ".25", ".5", ".75" };
	int64_t q = quarters;
	const char *sign = "";

	if (q < 0) {
		sign = "-";
		q = -q;
	}
	snprintf(out, 16, "%s%" PRId64 "%s", sign, q / 4, frac[q % 4]);
}

/* Digits in threes from the right, a comma between: people read "41,200"
 * at a glance, and one format everywhere makes outputs comparable. */
void unit_count_format(int64_t n, char out[UNIT_COUNT_LEN])
{
	char tmp[24];
	/* the magnitude as unsigned: -INT64_MIN does not fit an int64_t */
	uint64_t m = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
	int len = snprintf(tmp, sizeof(tmp), "%" PRIu64, m);
	size_t o = 0;
	if (n < 0)
		out[o++] = '-';
	for (int i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = tmp[i];
	}
	out[o] = '\0';
}

unit_count_str unit_count(int64_t n)
{
	unit_count_str r;
	unit_count_format(n, r.s);
	return r;
}

int64_t unit_utc_seconds(int year, int month, int day, int hour, int min, int sec)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = month - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	return (int64_t)timegm(&tm);
}

void unit_time_format(int64_t t, char out[UNIT_TIME_LEN])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || strftime(out, UNIT_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		str_copy(out, "?", UNIT_TIME_LEN);
}

int64_t unit_month_start(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm))
		return t;
	return unit_utc_seconds(tm.tm_year + 1900, tm.tm_mon + 1, 1, 0, 0, 0);
}

int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
