/*
 * util.h: the one header of util/, the layer every other folder builds on.
 *
 * - xmalloc family: out of memory aborts, so no error path carries ENOMEM.
 * - buf: a growable byte buffer with a hard maximum, for every input whose
 *   size a user controls (a manifest file, an HTTP body).
 * - arena: bump allocation for per-run data, freed once.
 * - error model: functions return int (0 ok, negative ERR_* code) and put
 *   a message in a per-thread last error.
 * - logging: human or JSON lines on stderr, with levels.
 * - units: durations, byte sizes and compute units, parsed and printed.
 * - sha256: a stable content hash, and HMAC-SHA256 for webhook signatures
 *   (OpenSSL underneath, never hand-rolled).
 */
#ifndef FLOTILLA_UTIL_H
#define FLOTILLA_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define WUR __attribute__((warn_unused_result))
#define PRINTF(a, b) __attribute__((format(printf, a, b)))
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- memory */

/* Allocate or abort with a message on stderr. Never return NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
/* Grow an array of `*cap` elements of `size` bytes so that `need` fit. */
void *xgrow(void *p, size_t *cap, size_t need, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* a then b in a new string: xasprintf("%s%s") without the formatting,
 * for names made once per tenant (namePrefix + tenant). */
char *xstrcat2(const char *a, const char *b);
/* printf into a new heap string; the v form leaves ap to the caller's
 * va_end. */
char *xasprintf(const char *fmt, ...) PRINTF(1, 2);
char *xvasprintf(const char *fmt, va_list ap) PRINTF(1, 0);

/* ------------------------------------------------------------------ error */

enum {
	ERR_OK = 0,
	ERR_FAIL = -1,      /* generic failure; message says why */
	ERR_NOTFOUND = -2,
	ERR_CONFLICT = -3,
	ERR_LOCKED = -4,
	ERR_INVALID = -5,   /* bad input: syntax, range, type */
	ERR_TOOBIG = -6,    /* a bound was hit (buffer maximum, nesting, expansion) */
	ERR_IO = -7,        /* read/write/open failed; errno text in the message */
	ERR_UNKNOWN_OUTCOME = -8, /* a write may or may not have happened */
};

/* Set the calling thread's last error message; returns `code` so that
 * `return err_set(ERR_INVALID, "…")` reads naturally. */
int err_set(int code, const char *fmt, ...) PRINTF(2, 3);
/* The calling thread's last message ("" when none); valid until the next
 * err_set on the same thread. */
const char *err_msg(void);
/* The code passed to the last err_set on this thread (ERR_OK when none). */
int err_code(void);
void err_clear(void);
/* A short name for a code: "not found", "conflict", … */
const char *err_name(int code);

/* ---------------------------------------------------------------- buffer */

/*
 * A growable buffer of bytes, always NUL-terminated (data[len] == 0) once
 * anything was added. Every append checks `max`: past it, the append fails
 * with ERR_TOOBIG and the buffer is left as it was. max 0 means no limit,
 * which is only for data the program itself produces.
 */
typedef struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
} buf;

#define BUF_INIT(maximum) { NULL, 0, 0, (maximum) }

void buf_init(buf *b, size_t max);
void buf_release(buf *b);
/* Empty the buffer but keep its memory. */
void buf_reset(buf *b);
int buf_add(buf *b, const void *data, size_t n) WUR;
int buf_adds(buf *b, const char *s) WUR;
int buf_addc(buf *b, char c) WUR;
int buf_printf(buf *b, const char *fmt, ...) PRINTF(2, 3) WUR;
int buf_vprintf(buf *b, const char *fmt, va_list ap) PRINTF(2, 0) WUR;
/* Take ownership of the bytes (NUL-terminated; "" when empty); the buffer
 * is left empty with the same max. */
char *buf_detach(buf *b, size_t *len);
/* Read a whole file. ERR_IO (message names the path and errno),
 * ERR_TOOBIG when the file is larger than b->max. */
int buf_read_file(buf *b, const char *path) WUR;

/* ----------------------------------------------------------------- arena */

/* Bump allocator: many small allocations, one free. Allocation aborts on
 * out of memory like xmalloc. Memory is zeroed. */
typedef struct arena arena;

arena *arena_new(void);
void arena_free(arena *a);
/* Drop everything allocated but keep the first block for reuse. */
void arena_reset(arena *a);
void *arena_alloc(arena *a, size_t n);
char *arena_strdup(arena *a, const char *s);
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_printf(arena *a, const char *fmt, ...) PRINTF(2, 3);
/* Bytes handed out so far (for benchmarks and tests). */
size_t arena_used(const arena *a);

/* --------------------------------------------------------------- logging */

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;
typedef enum { LOG_HUMAN, LOG_JSON } log_format;

/* Configure the process-wide logger (defaults: LOG_INFO, LOG_HUMAN, stderr). */
void log_setup(log_level min, log_format fmt, FILE *out);
/* Parse "debug|info|warn|error"; ERR_INVALID otherwise. */
int log_level_parse(const char *s, log_level *out) WUR;
/*
 * Log one event. `fields` are extra key/value pairs as a NULL-terminated
 * list of `const char *` (key, value, key, value, …, NULL). Human form:
 * "2026-11-26T03:42:00Z info  message key=value". JSON form: one object a
 * line with ts, level, msg and the fields, strings escaped.
 */
void log_event(log_level lvl, const char *msg, ...) __attribute__((sentinel));
/* The same with the fields as an array (key, value, …, NULL), for a
 * caller that forwards fields it was given (the engine's reporter). */
void log_eventv(log_level lvl, const char *msg, const char *const *fields);
/* Fields past this many pairs are dropped. */
#define LOG_MAX_FIELDS 32
#define LOG_FIELDS_LEN (LOG_MAX_FIELDS * 2 + 2)
/* Copy a variadic field list (key, value, …, NULL) into kv, ended by two
 * NULLs, for a function that takes fields like log_event and forwards them. */
void log_fields_collect(const char *kv[LOG_FIELDS_LEN], va_list ap);
#define log_debug(...) log_event(LOG_DEBUG, __VA_ARGS__, (const char *)NULL)
#define log_info(...) log_event(LOG_INFO, __VA_ARGS__, (const char *)NULL)
#define log_warn(...) log_event(LOG_WARN, __VA_ARGS__, (const char *)NULL)
#define log_error(...) log_event(LOG_ERROR, __VA_ARGS__, (const char *)NULL)

/* Append `s` to b as the inside of a JSON string (quotes not added). */
int buf_add_json_str(buf *b, const char *s) WUR;

/* ----------------------------------------------------------------- units */

/* Seconds meaning "never" (suspend timeout -1 in the Neon API). */
#define DURATION_NEVER (-1)
/* Bytes/seconds meaning "no limit" (Neon quota 0). */
#define UNLIMITED 0

/*
 * Durations: "<int><unit>" pieces, units s m h d (e.g. "30s", "5m", "2h",
 * "7d", "1h30m"), or "0". With allow_never, "never" gives DURATION_NEVER.
 * ERR_INVALID with a message that names the accepted forms.
 */
int unit_duration_parse(const char *s, bool allow_never, int64_t *out) WUR;
/* Every non-zero d/h/m/s part, largest first: 300 → "5m", 5400 → "1h30m",
 * 0 → "0", -1 → "never". */
void unit_duration_format(int64_t seconds, char out[32]);

/*
 * Sizes: "<int><unit>" with binary units KiB MiB GiB TiB, decimal KB MB GB
 * TB, or B; "0" and "unlimited" give 0. One piece only. Overflow of int64
 * is ERR_INVALID.
 */
int unit_size_parse(const char *s, int64_t *out) WUR;
/* Largest exact unit: 536870912 → "512MiB", 10000000000 → "10GB",
 * 1000 → "1KB", 1023 → "1023B". 0 → "unlimited": sizes here are quotas,
 * where Neon reads 0 as no limit. */
void unit_size_format(int64_t bytes, char out[32]);

/*
 * Compute units, kept as quarters to stay exact: "0.25" → 1, "0.5" → 2,
 * "1" → 4, "2.75" → 11. Accepts a decimal that is a multiple of 0.25 and
 * > 0. ERR_INVALID otherwise.
 */
int unit_cu_parse(const char *s, int32_t *quarters) WUR;
/* 1 → "0.25", 2 → "0.5", 4 → "1", 6 → "1.5". */
void unit_cu_format(int32_t quarters, char out[16]);
/*
 * Counts for people, in one format everywhere: 2000 -> "2,000", -41200 ->
 * "-41,200" (machine outputs, JSON and log fields, keep plain digits).
 * unit_count returns the text in a struct, for use inside one printf:
 * printf("%s created", unit_count(n).s) (the temporary lives until the
 * end of the full expression, so it is valid there and nowhere else).
 */
#define UNIT_COUNT_LEN 32
void unit_count_format(int64_t n, char out[UNIT_COUNT_LEN]);
typedef struct unit_count_str {
	char s[UNIT_COUNT_LEN];
} unit_count_str;
unit_count_str unit_count(int64_t n);

/* Unix seconds of the UTC time year-month-day hour:min:sec (month 1 to 12),
 * for the readers of RFC 3339 text; a field past its range rolls over
 * into the next, as with timegm (February 30th comes back as March). */
int64_t unit_utc_seconds(int year, int month, int day, int hour, int min, int sec);
/* Unix seconds t as RFC 3339 UTC text, "2026-12-04T16:00:00Z". */
#define UNIT_TIME_LEN 32
void unit_time_format(int64_t t, char out[UNIT_TIME_LEN]);
/* The first second of t's month, UTC. */
int64_t unit_month_start(int64_t t);

/* Milliseconds on the monotonic clock: for deadlines and elapsed times,
 * never for dates. */
int64_t mono_ms(void);

/* ------------------------------------------------------------------ hash */

#define SHA256_LEN 32
#define SHA256_HEX_LEN 64

typedef struct sha256_ctx sha256_ctx;
sha256_ctx *sha256_new(void);
void sha256_update(sha256_ctx *c, const void *data, size_t n);
/* Writes 65 bytes (hex + NUL) and frees the context. */
void sha256_final_hex(sha256_ctx *c, char hex[SHA256_HEX_LEN + 1]);
void sha256_hex(const void *data, size_t n, char hex[SHA256_HEX_LEN + 1]);
/* HMAC-SHA256 (RFC 2104) of data under key, the 32 raw bytes into out
 * (webhook signatures). Compare MACs in constant time, never with memcmp. */
void hmac_sha256(const void *key, size_t keylen, const void *data, size_t n, unsigned char out[SHA256_LEN]);

/* ---------------------------------------------------------------- strmap */

/* A hash map from C strings to pointers. Keys are borrowed: they must
 * outlive their entry. Values may not be NULL (NULL means absent). */
typedef struct strmap strmap;
strmap *strmap_new(void);
void strmap_free(strmap *m);
/* Insert or replace; returns the previous value for key, or NULL. On a
 * replace the entry keeps its original key pointer, so `key` need only
 * outlive the call then. */
void *strmap_put(strmap *m, const char *key, void *val);
void *strmap_get(const strmap *m, const char *key);
/* Remove; returns the removed value, or NULL when absent. */
void *strmap_del(strmap *m, const char *key);
size_t strmap_count(const strmap *m);

/* --------------------------------------------------------------- strings */

/* Bounded copy that always NUL-terminates; returns strlen(src) (like
 * strlcpy) so the caller can detect truncation. */
size_t str_copy(char *dst, const char *src, size_t size);
bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);
/* Levenshtein distance, capped at `cap` (returns cap+1 past it). */
size_t str_edit_distance(const char *a, const char *b, size_t cap);
/* The one of known[0..n) closest to word, for a "did you mean" hint: at
 * most 2 edits away, or the same but for case; NULL when none is. */
const char *str_suggest(const char *word, const char *const *known, size_t n);
/* Strict integer parse of the whole string; ERR_INVALID otherwise. */
int str_to_i64(const char *s, int64_t *out) WUR;
/* Check that [s, s+n) is valid UTF-8; on failure *bad_off is the offset of
 * the first bad byte. */
bool utf8_valid(const char *s, size_t n, size_t *bad_off);

#endif
