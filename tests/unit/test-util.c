/*
 * test-util.c: unit tests for util/, one group per part of util.h. Besides
 * the happy paths they pin down the edges other modules rely on: a buffer
 * append past its maximum changes nothing, arena memory is aligned and
 * zeroed even after a reset, the last error is per thread, log lines stay
 * one valid JSON object each under concurrent writers, unit parsers refuse
 * every ambiguous spelling and print back what they parsed, and the UTF-8
 * check rejects overlongs and surrogates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"

/* ----------------------------------------------------------- helpers */

/* A fresh file under $TMPDIR holding `len` bytes of `data`; the caller
 * unlinks and frees the returned path. */
static char *temp_file(const void *data, size_t len)
{
	const char *dir = getenv("TMPDIR");
	char *path = xasprintf("%s/flotilla-test-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	if (len)
		assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

static bool is_iso_utc(const char *s)
{
	/* "2026-11-26T03:42:00Z" */
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t i;

	for (i = 0; shape[i]; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return false;
	}
	return true;
}

/* ------------------------------------------------------------ memory */

static void test_xmalloc_basic(void **state)
{
	unsigned char *p, *z;
	size_t i;

	(void)state;
	p = xmalloc(0);
	assert_non_null(p);
	free(p);

	z = xcalloc(100, 3);
	for (i = 0; i < 300; i++)
		assert_int_equal(z[i], 0);
	free(z);
	z = xcalloc(0, 0);
	assert_non_null(z);
	free(z);

	p = xmalloc(4);
	memcpy(p, "abcd", 4);
	p = xrealloc(p, 1 << 20);
	assert_memory_equal(p, "abcd", 4);
	p = xrealloc(p, 0);
	assert_non_null(p);
	free(p);
	p = xrealloc(NULL, 8);
	assert_non_null(p);
	free(p);
}

static void test_xgrow(void **state)
{
	int *v = NULL;
	size_t cap = 0, i;
	int *same;

	(void)state;
	for (i = 0; i < 1000; i++) {
		v = xgrow(v, &cap, i + 1, sizeof(*v));
		assert_true(cap >= i + 1);
		v[i] = (int)i;
	}
	for (i = 0; i < 1000; i++)
		assert_int_equal(v[i], (int)i);
	/* Enough room already: nothing moves. */
	same = xgrow(v, &cap, 10, sizeof(*v));
	assert_ptr_equal(same, v);
	free(v);
}

static void test_xstrdup_family(void **state)
{
	char *s;

	(void)state;
	s = xstrdup("hello");
	assert_string_equal(s, "hello");
	free(s);
	s = xstrdup("");
	assert_string_equal(s, "");
	free(s);
	s = xstrndup("hello", 3);
	assert_string_equal(s, "hel");
	free(s);
	s = xstrndup("hi", 100);
	assert_string_equal(s, "hi");
	free(s);
	s = xstrndup("hello", 0);
	assert_string_equal(s, "");
	free(s);
	s = xasprintf("%s-%d-%zu", "a", -7, (size_t)42);
	assert_string_equal(s, "a--7-42");
	free(s);
	s = xasprintf("%s", "");
	assert_string_equal(s, "");
	free(s);
}

/* ------------------------------------------------------------- error */

static void test_err_basic(void **state)
{
	(void)state;
	err_clear();
	assert_string_equal(err_msg(), "");
	assert_int_equal(err_code(), ERR_OK);

	assert_int_equal(err_set(ERR_NOTFOUND, "tenant '%s' not found", "acme"), ERR_NOTFOUND);
	assert_string_equal(err_msg(), "tenant 'acme' not found");
	assert_int_equal(err_code(), ERR_NOTFOUND);

	assert_int_equal(err_set(ERR_CONFLICT, "second"), ERR_CONFLICT);
	assert_string_equal(err_msg(), "second");
	assert_int_equal(err_code(), ERR_CONFLICT);

	err_clear();
	assert_string_equal(err_msg(), "");
	assert_int_equal(err_code(), ERR_OK);
}

static void test_err_wraps_itself(void **state)
{
	(void)state;
	(void)err_set(ERR_IO, "cannot open 'x': no such file");
	(void)err_set(err_code(), "loading manifest: %s", err_msg());
	assert_string_equal(err_msg(), "loading manifest: cannot open 'x': no such file");
	assert_int_equal(err_code(), ERR_IO);
}

static void test_err_truncation(void **state)
{
	char big[4000];
	size_t len, bad;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	(void)err_set(ERR_FAIL, "%s", big);
	len = strlen(err_msg());
	assert_true(len > 900 && len < sizeof(big) - 1);
	assert_memory_equal(err_msg(), big, len);

	/* A cut that would fall inside a 3-byte character is moved before it:
	 * "a" + 340 euros is 1021 bytes, and the 341st euro does not fit. */
	{
		char euros[3 * 500 + 1];
		size_t i;

		for (i = 0; i < 500; i++)
			memcpy(euros + 3 * i, "\xe2\x82\xac", 3);
		euros[3 * 500] = '\0';
		(void)err_set(ERR_FAIL, "a%s", euros);
		len = strlen(err_msg());
		assert_int_equal(len, 1 + 3 * 340);
		assert_true(utf8_valid(err_msg(), len, &bad));
	}
	err_clear();
}

static void test_err_name(void **state)
{
	static const int codes[] = {
		ERR_OK, ERR_FAIL, ERR_NOTFOUND, ERR_CONFLICT, ERR_LOCKED, ERR_INVALID,
		ERR_TOOBIG, ERR_IO, ERR_UNKNOWN_OUTCOME,
	};
	size_t i, j;

	(void)state;
	assert_string_equal(err_name(ERR_NOTFOUND), "not found");
	assert_string_equal(err_name(ERR_CONFLICT), "conflict");
	assert_string_equal(err_name(ERR_TOOBIG), "too big");
	for (i = 0; i < ARRAY_LEN(codes); i++) {
		assert_non_null(err_name(codes[i]));
		for (j = 0; j < i; j++)
			assert_string_not_equal(err_name(codes[i]), err_name(codes[j]));
	}
	assert_string_equal(err_name(-1000), "unknown error");
	assert_string_equal(err_name(42), "unknown error");
}

struct err_thread_result {
	char initial_msg[64];
	int initial_code;
	char own_msg[64];
	int own_code;
};

static void *err_thread(void *arg)
{
	struct err_thread_result *r = arg;

	/* cmocka's asserts must stay on the main thread: record, check later. */
	str_copy(r->initial_msg, err_msg(), sizeof(r->initial_msg));
	r->initial_code = err_code();
	(void)err_set(ERR_LOCKED, "thread error %d", 2);
	str_copy(r->own_msg, err_msg(), sizeof(r->own_msg));
	r->own_code = err_code();
	return NULL;
}

static void test_err_per_thread(void **state)
{
	struct err_thread_result r;
	pthread_t t;

	(void)state;
	memset(&r, 0, sizeof(r));
	(void)err_set(ERR_INVALID, "main error");
	assert_int_equal(pthread_create(&t, NULL, err_thread, &r), 0);
	assert_int_equal(pthread_join(t, NULL), 0);

	assert_string_equal(r.initial_msg, "");
	assert_int_equal(r.initial_code, ERR_OK);
	assert_string_equal(r.own_msg, "thread error 2");
	assert_int_equal(r.own_code, ERR_LOCKED);
	/* The thread's err_set did not touch ours. */
	assert_string_equal(err_msg(), "main error");
	assert_int_equal(err_code(), ERR_INVALID);
	err_clear();
}

/* ------------------------------------------------------------ buffer */

static void test_buf_empty(void **state)
{
	buf b = BUF_INIT(16);
	size_t len = 99;
	char *s;

	(void)state;
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.max, 16);
	s = buf_detach(&b, &len);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
	buf_release(&b);
	buf_release(NULL);

	buf_init(&b, 7);
	assert_null(b.data);
	assert_int_equal(b.max, 7);
	/* Adding nothing still leaves a terminated string behind. */
	assert_int_equal(buf_add(&b, "", 0), 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	buf_release(&b);
	assert_null(b.data);
	assert_int_equal(b.max, 7);
}

static void test_buf_append(void **state)
{
	buf b = BUF_INIT(0);
	size_t i;

	(void)state;
	assert_int_equal(buf_adds(&b, "hello"), 0);
	assert_int_equal(buf_addc(&b, ' '), 0);
	assert_int_equal(buf_add(&b, "world!!", 5), 0);
	assert_int_equal(b.len, 11);
	assert_string_equal(b.data, "hello world");
	assert_int_equal(b.data[b.len], '\0');

	/* Embedded NULs are bytes like any other. */
	assert_int_equal(buf_add(&b, "a\0b", 3), 0);
	assert_int_equal(b.len, 14);
	assert_memory_equal(b.data + 11, "a\0b", 4);

	/* Growth across many reallocations keeps the contents. */
	buf_reset(&b);
	for (i = 0; i < 10000; i++)
		assert_int_equal(buf_addc(&b, (char)('a' + i % 26)), 0);
	assert_int_equal(b.len, 10000);
	for (i = 0; i < 10000; i++)
		assert_int_equal(b.data[i], 'a' + i % 26);
	assert_int_equal(b.data[10000], '\0');
	assert_true(b.cap > b.len);
	buf_release(&b);
}

static void test_buf_max_exact_fit(void **state)
{
	buf b = BUF_INIT(8);

	(void)state;
	err_clear();
	assert_int_equal(buf_adds(&b, "12345678"), 0);
	assert_int_equal(b.len, 8);
	assert_string_equal(b.data, "12345678");

	assert_int_equal(buf_addc(&b, '9'), ERR_TOOBIG);
	assert_int_equal(err_code(), ERR_TOOBIG);
	assert_non_null(strstr(err_msg(), "8 bytes"));
	assert_int_equal(b.len, 8);
	assert_string_equal(b.data, "12345678");
	assert_int_equal(buf_add(&b, "", 0), 0);
	buf_release(&b);
}

static void test_buf_max_leaves_unchanged(void **state)
{
	buf b = BUF_INIT(8);
	char *before_data;

	(void)state;
	assert_int_equal(buf_adds(&b, "abcde"), 0);
	before_data = b.data;

	assert_int_equal(buf_adds(&b, "fghi"), ERR_TOOBIG);
	assert_int_equal(b.len, 5);
	assert_string_equal(b.data, "abcde");
	assert_ptr_equal(b.data, before_data);

	assert_int_equal(buf_add(&b, "x", SIZE_MAX), ERR_TOOBIG);
	assert_int_equal(b.len, 5);

	assert_int_equal(buf_printf(&b, "%d", 1234), ERR_TOOBIG);
	assert_int_equal(b.len, 5);
	assert_string_equal(b.data, "abcde");

	/* Exactly up to the limit still works after the failures. */
	assert_int_equal(buf_printf(&b, "%d", 123), 0);
	assert_string_equal(b.data, "abcde123");
	assert_int_equal(buf_addc(&b, 'z'), ERR_TOOBIG);
	assert_string_equal(b.data, "abcde123");
	buf_release(&b);

	/* Without a maximum only size_t itself is a limit. */
	buf_init(&b, 0);
	assert_int_equal(buf_adds(&b, "ab"), 0);
	assert_int_equal(buf_add(&b, "x", SIZE_MAX - 1), ERR_TOOBIG);
	assert_string_equal(b.data, "ab");
	buf_release(&b);
}

static void test_buf_printf(void **state)
{
	buf b = BUF_INIT(0);
	char expect[512];
	size_t i;

	(void)state;
	assert_int_equal(buf_printf(&b, "%s=%d", "n", 42), 0);
	assert_string_equal(b.data, "n=42");
	assert_int_equal(buf_printf(&b, "%s", ""), 0);
	assert_int_equal(b.len, 4);

	/* Longer than the spare capacity: takes the grow-and-retry path. */
	memset(expect, 'q', sizeof(expect) - 1);
	expect[sizeof(expect) - 1] = '\0';
	assert_int_equal(buf_printf(&b, "%s", expect), 0);
	assert_int_equal(b.len, 4 + sizeof(expect) - 1);
	assert_memory_equal(b.data + 4, expect, sizeof(expect));

	buf_reset(&b);
	for (i = 0; i < 100; i++)
		assert_int_equal(buf_printf(&b, "%zu,", i), 0);
	assert_true(str_has_prefix(b.data, "0,1,2,3,"));
	assert_true(str_has_suffix(b.data, "98,99,"));

	/* An in-place format that would pass the maximum is undone too; the
	 * capacity here is larger than the maximum set afterwards. */
	buf_reset(&b);
	assert_int_equal(buf_adds(&b, "abc"), 0);
	b.max = 5;
	assert_int_equal(buf_printf(&b, "%s", "xyz"), ERR_TOOBIG);
	assert_int_equal(b.len, 3);
	assert_string_equal(b.data, "abc");
	assert_int_equal(buf_printf(&b, "%s", "xy"), 0);
	assert_string_equal(b.data, "abcxy");
	buf_release(&b);
}

static void test_buf_reset_detach(void **state)
{
	buf b = BUF_INIT(100);
	char *data, *s;
	size_t cap, len;

	(void)state;
	assert_int_equal(buf_adds(&b, "some text"), 0);
	data = b.data;
	cap = b.cap;
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_ptr_equal(b.data, data);
	assert_int_equal(b.cap, cap);
	assert_string_equal(b.data, "");

	assert_int_equal(buf_adds(&b, "kept"), 0);
	s = buf_detach(&b, &len);
	assert_string_equal(s, "kept");
	assert_int_equal(len, 4);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 100);
	free(s);

	assert_int_equal(buf_adds(&b, "again"), 0);
	s = buf_detach(&b, NULL);
	assert_string_equal(s, "again");
	free(s);
	buf_release(&b);
}

static void test_buf_read_file(void **state)
{
	static const char content[] = "name: acme\nregion: aws-us-east-2\n";
	size_t n = sizeof(content) - 1;
	char *path = temp_file(content, n);
	char *empty = temp_file(NULL, 0);
	buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(buf_read_file(&b, path), 0);
	assert_int_equal(b.len, n);
	assert_string_equal(b.data, content);
	buf_release(&b);

	/* A file of exactly max bytes fits; one byte less does not. */
	buf_init(&b, n);
	assert_int_equal(buf_read_file(&b, path), 0);
	assert_int_equal(b.len, n);
	buf_release(&b);

	buf_init(&b, n - 1);
	assert_int_equal(buf_adds(&b, "keep"), 0);
	assert_int_equal(buf_read_file(&b, path), ERR_TOOBIG);
	assert_int_equal(err_code(), ERR_TOOBIG);
	assert_non_null(strstr(err_msg(), path));
	assert_string_equal(b.data, "keep");
	assert_int_equal(b.len, 4);
	buf_release(&b);

	/* It appends to what the buffer holds. */
	buf_init(&b, 0);
	assert_int_equal(buf_adds(&b, ">>"), 0);
	assert_int_equal(buf_read_file(&b, path), 0);
	assert_int_equal(b.len, 2 + n);
	assert_true(str_has_prefix(b.data, ">>name: acme"));
	buf_release(&b);

	/* Empty file: a valid empty string. */
	buf_init(&b, 10);
	assert_int_equal(buf_read_file(&b, empty), 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	assert_int_equal(b.len, 0);
	buf_release(&b);

	unlink(path);
	unlink(empty);

	/* Missing file: ERR_IO naming the path and the errno text. */
	buf_init(&b, 10);
	assert_int_equal(buf_read_file(&b, path), ERR_IO);
	assert_non_null(strstr(err_msg(), path));
	assert_non_null(strstr(err_msg(), strerror(ENOENT)));
	assert_int_equal(b.len, 0);

	/* A directory opens but does not read. */
	assert_int_equal(buf_read_file(&b, "/"), ERR_IO);
	assert_non_null(strstr(err_msg(), "'/'"));
	buf_release(&b);

	/* A file whose size stat does not know is still bounded. */
	buf_init(&b, 100);
	assert_int_equal(buf_read_file(&b, "/dev/zero"), ERR_TOOBIG);
	assert_int_equal(b.len, 0);
	buf_release(&b);
	buf_init(&b, 1 << 20);
	assert_int_equal(buf_read_file(&b, "/proc/self/status"), 0);
	assert_true(b.len > 0);
	assert_non_null(strstr(b.data, "Name:"));
	buf_release(&b);

	free(path);
	free(empty);
}

/* ------------------------------------------------------------- arena */

static void test_arena_alignment_zeroed(void **state)
{
	static const size_t sizes[] = { 1, 3, 7, 8, 15, 16, 17, 31, 100, 1000, 4095, 9999 };
	arena *a = arena_new();
	unsigned char *prev = NULL;
	size_t prev_n = 0, total = 0, i, k;

	(void)state;
	assert_int_equal(arena_used(a), 0);
	/* Enough rounds to fill several 64 KiB blocks. */
	for (k = 0; k < 20; k++) {
		for (i = 0; i < ARRAY_LEN(sizes); i++) {
			unsigned char *p = arena_alloc(a, sizes[i]);
			size_t j;

			assert_non_null(p);
			assert_int_equal((uintptr_t)p % 16, 0);
			for (j = 0; j < sizes[i]; j++)
				assert_int_equal(p[j], 0);
			/* Scribble over it: a later allocation must not overlap. */
			memset(p, 0xAB, sizes[i]);
			if (prev)
				assert_int_equal(prev[prev_n - 1], 0xAB);
			prev = p;
			prev_n = sizes[i];
			total += sizes[i];
		}
	}
	assert_int_equal(arena_used(a), total);
	arena_free(a);
	arena_free(NULL);
}

static void test_arena_big(void **state)
{
	arena *a = arena_new();
	unsigned char *small1, *big, *small2;
	size_t n = 3 * 1024 * 1024, i;

	(void)state;
	small1 = arena_alloc(a, 10);
	big = arena_alloc(a, n);
	assert_int_equal((uintptr_t)big % 16, 0);
	for (i = 0; i < n; i++)
		if (big[i] != 0)
			break;
	assert_int_equal(i, n);
	memset(big, 0xFF, n);
	/* The big block did not take over: small ones continue next to the
	 * first, in the default block. */
	small2 = arena_alloc(a, 10);
	assert_true(small2 > small1 && small2 - small1 < 64 * 1024);
	assert_int_equal(arena_used(a), 20 + n);

	/* Exactly the block size, and just over the big threshold. */
	assert_non_null(arena_alloc(a, 64 * 1024));
	assert_non_null(arena_alloc(a, 16 * 1024 + 1));
	arena_free(a);
}

static void test_arena_reset(void **state)
{
	arena *a = arena_new();
	unsigned char *first, *p;
	size_t i, j;

	(void)state;
	first = arena_alloc(a, 100);
	memset(first, 0xEE, 100);
	for (i = 0; i < 200; i++) {
		p = arena_alloc(a, 1000);
		memset(p, 0xEE, 1000);
	}
	p = arena_alloc(a, 1 << 20);
	memset(p, 0xEE, 1 << 20);
	assert_int_equal(arena_used(a), 100 + 200 * 1000 + (1 << 20));

	arena_reset(a);
	assert_int_equal(arena_used(a), 0);
	/* The first block is reused, and reused memory is zeroed again. */
	p = arena_alloc(a, 100);
	assert_ptr_equal(p, first);
	for (j = 0; j < 100; j++)
		assert_int_equal(p[j], 0);
	for (i = 0; i < 200; i++) {
		p = arena_alloc(a, 1000);
		assert_int_equal((uintptr_t)p % 16, 0);
		for (j = 0; j < 1000; j++)
			assert_int_equal(p[j], 0);
	}
	arena_reset(a);
	arena_reset(a);
	assert_int_equal(arena_used(a), 0);
	arena_free(a);
}

static void test_arena_strings(void **state)
{
	arena *a = arena_new();
	char *s, *z1, *z2;

	(void)state;
	s = arena_strdup(a, "tenant");
	assert_string_equal(s, "tenant");
	assert_int_equal((uintptr_t)s % 16, 0);
	s = arena_strdup(a, "");
	assert_string_equal(s, "");
	s = arena_strndup(a, "abcdef", 3);
	assert_string_equal(s, "abc");
	s = arena_strndup(a, "ab", 10);
	assert_string_equal(s, "ab");
	s = arena_printf(a, "%s/%d", "acme", 7);
	assert_string_equal(s, "acme/7");
	s = arena_printf(a, "%s", "");
	assert_string_equal(s, "");

	z1 = arena_alloc(a, 0);
	z2 = arena_alloc(a, 0);
	assert_non_null(z1);
	assert_non_null(z2);
	assert_ptr_not_equal(z1, z2);
	arena_free(a);
}

/* ----------------------------------------------------------- logging */

struct log_capture {
	char *path;
	FILE *f;
};

static void capture_start(struct log_capture *c, log_level min, log_format fmt)
{
	c->path = temp_file(NULL, 0);
	c->f = fopen(c->path, "w");
	assert_non_null(c->f);
	log_setup(min, fmt, c->f);
}

/* Restores the default logger and returns what was written. */
static char *capture_end(struct log_capture *c)
{
	buf b = BUF_INIT(0);

	log_setup(LOG_INFO, LOG_HUMAN, NULL);
	fclose(c->f);
	assert_int_equal(buf_read_file(&b, c->path), 0);
	unlink(c->path);
	free(c->path);
	return buf_detach(&b, NULL);
}

static void test_log_level_parse(void **state)
{
	static const char *const bad[] = { "warning", "INFO", "", "fatal", " info" };
	log_level lvl = LOG_ERROR;
	size_t i;

	(void)state;
	assert_int_equal(log_level_parse("debug", &lvl), 0);
	assert_int_equal(lvl, LOG_DEBUG);
	assert_int_equal(log_level_parse("info", &lvl), 0);
	assert_int_equal(lvl, LOG_INFO);
	assert_int_equal(log_level_parse("warn", &lvl), 0);
	assert_int_equal(lvl, LOG_WARN);
	assert_int_equal(log_level_parse("error", &lvl), 0);
	assert_int_equal(lvl, LOG_ERROR);
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		assert_int_equal(log_level_parse(bad[i], &lvl), ERR_INVALID);
		assert_int_equal(lvl, LOG_ERROR);
	}
	assert_string_equal(err_msg(), "invalid log level ' info': use debug, info, warn or error");
}

static void test_log_json(void **state)
{
	struct log_capture c;
	char *out, *line2;

	(void)state;
	capture_start(&c, LOG_DEBUG, LOG_JSON);
	log_info("say \"hi\"\n\tback\\slash \x01 caf\xc3\xa9", "path", "/a\"b", "ctl", "x\ny\r\x7f");
	log_debug("plain");
	out = capture_end(&c);

	assert_true(str_has_prefix(out, "{\"ts\":\""));
	assert_true(is_iso_utc(out + 7));
	line2 = strchr(out, '\n');
	assert_non_null(line2);
	*line2++ = '\0';
	assert_string_equal(out + 7 + 20,
			    "\",\"level\":\"info\","
			    "\"msg\":\"say \\\"hi\\\"\\n\\tback\\\\slash \\u0001 caf\xc3\xa9\","
			    "\"path\":\"/a\\\"b\",\"ctl\":\"x\\ny\\r\x7f\"}");
	assert_true(str_has_prefix(line2, "{\"ts\":\""));
	assert_true(is_iso_utc(line2 + 7));
	assert_string_equal(line2 + 7 + 20, "\",\"level\":\"debug\",\"msg\":\"plain\"}\n");
	free(out);
}

static void test_log_json_odd_fields(void **state)
{
	struct log_capture c;
	char *out;

	(void)state;
	capture_start(&c, LOG_INFO, LOG_JSON);
	/* A key without a value: shown as null, nothing read past the end. */
	log_warn("odd", "k1", "v1", "dangling");
	log_error("bad bytes \xff\xc0\x80 end", "k\"ey", "\xed\xa0\x80");
	out = capture_end(&c);
	assert_non_null(strstr(out, "\"level\":\"warn\",\"msg\":\"odd\",\"k1\":\"v1\",\"dangling\":null}\n"));
	assert_non_null(strstr(out, "\"level\":\"error\","
				    "\"msg\":\"bad bytes \\ufffd\\ufffd\\ufffd end\","
				    "\"k\\\"ey\":\"\\ufffd\\ufffd\\ufffd\"}\n"));
	assert_true(utf8_valid(out, strlen(out), NULL));
	free(out);
}

static void test_log_human(void **state)
{
	struct log_capture c;
	char *out;

	(void)state;
	capture_start(&c, LOG_DEBUG, LOG_HUMAN);
	log_info("applied plan", "tenant", "acme", "note", "two words", "q", "a\"b", "e", "");
	log_error("line one\nline two\x02");
	log_debug("dbg", "k", "v=1", "only");
	out = capture_end(&c);

	assert_true(is_iso_utc(out));
	assert_true(str_has_prefix(out + 20,
				   " info  applied plan tenant=acme note=\"two words\" q=\"a\\\"b\" e=\"\"\n"));
	assert_non_null(strstr(out, "Z error line one\\nline two\\x02\n"));
	assert_non_null(strstr(out, "Z debug dbg k=\"v=1\" only=\n"));
	free(out);
}

static void test_log_level_filter(void **state)
{
	struct log_capture c;
	char *out;

	(void)state;
	capture_start(&c, LOG_WARN, LOG_HUMAN);
	log_debug("d-hidden");
	log_info("i-hidden");
	log_warn("w-shown");
	log_error("e-shown");
	out = capture_end(&c);
	assert_null(strstr(out, "hidden"));
	assert_non_null(strstr(out, " warn  w-shown\n"));
	assert_non_null(strstr(out, " error e-shown\n"));
	free(out);
}

#define LOG_THREADS 4
#define LOG_LINES 500

static void *log_thread(void *arg)
{
	const char *name = arg;
	int i;

	for (i = 0; i < LOG_LINES; i++)
		log_info("worker line", "thread", name, "pad",
			 "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz");
	return NULL;
}

static void test_log_threads(void **state)
{
	static const char *const names[LOG_THREADS] = { "t0", "t1", "t2", "t3" };
	struct log_capture c;
	pthread_t t[LOG_THREADS];
	size_t i, lines = 0;
	char *out, *line, *save = NULL;

	(void)state;
	capture_start(&c, LOG_INFO, LOG_JSON);
	for (i = 0; i < LOG_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, log_thread, (void *)names[i]), 0);
	for (i = 0; i < LOG_THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	out = capture_end(&c);

	/* Every line whole: one object, no line torn by another thread. */
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		assert_true(str_has_prefix(line, "{\"ts\":\""));
		assert_true(str_has_suffix(line, "xyz\"}"));
		assert_non_null(strstr(line, "\"msg\":\"worker line\",\"thread\":\"t"));
		lines++;
	}
	assert_int_equal(lines, LOG_THREADS * LOG_LINES);
	free(out);
}

static void test_json_escape(void **state)
{
	buf b = BUF_INIT(0);
	char all[32];
	size_t i;

	(void)state;
	assert_int_equal(buf_add_json_str(&b, ""), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(buf_add_json_str(&b, "plain \xe2\x82\xac \xf0\x9f\x98\x80"), 0);
	assert_string_equal(b.data, "plain \xe2\x82\xac \xf0\x9f\x98\x80");
	buf_reset(&b);

	for (i = 1; i < 32; i++)
		all[i - 1] = (char)i;
	all[31] = '\0';
	assert_int_equal(buf_add_json_str(&b, all), 0);
	assert_string_equal(b.data,
			    "\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r"
			    "\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017"
			    "\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f");
	buf_release(&b);

	/* Bounded: all or nothing. */
	buf_init(&b, 10);
	assert_int_equal(buf_adds(&b, "ab"), 0);
	assert_int_equal(buf_add_json_str(&b, "cd\"\"\"\""), ERR_TOOBIG);
	assert_string_equal(b.data, "ab");
	assert_int_equal(b.len, 2);
	assert_int_equal(buf_add_json_str(&b, "cd\"\"\""), 0);
	assert_string_equal(b.data, "abcd\\\"\\\"\\\"");
	buf_release(&b);
}

/* ------------------------------------------------------------- units */

struct dur_case {
	const char *text;
	int64_t seconds;
};

static void test_duration_parse_ok(void **state)
{
	static const struct dur_case ok[] = {
		{ "30s", 30 }, { "5m", 300 }, { "2h", 7200 }, { "7d", 604800 },
		{ "1h30m", 5400 }, { "0", 0 }, { "0s", 0 }, { "1d2h3m4s", 93784 },
		{ "1d30s", 86430 }, { "90m", 5400 }, { "05m", 300 },
		{ "106751991167300d15h30m7s", INT64_MAX },
		{ "9223372036854775807s", INT64_MAX },
	};
	int64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(ok); i++) {
		v = -99;
		assert_int_equal(unit_duration_parse(ok[i].text, false, &v), 0);
		assert_int_equal(v, ok[i].seconds);
	}
	assert_int_equal(unit_duration_parse("never", true, &v), 0);
	assert_int_equal(v, DURATION_NEVER);
}

static void test_duration_parse_bad(void **state)
{
	static const char *const bad[] = {
		"5 minutes", "5", "-5m", "", "5M", "5S", "never", "Never", " 5m", "5m ",
		"m", "1.5h", "1h30", "1h1h", "30m1h", "1s1m", "5w", "+5m", "0x10s", "00",
		"106751991167300d15h30m8s", "9223372036854775808s", "106751991167301d",
		"99999999999999999999s",
	};
	int64_t v = 12345;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		if (unit_duration_parse(bad[i], false, &v) != ERR_INVALID)
			fail_msg("duration '%s' was accepted", bad[i]);
		assert_int_equal(err_code(), ERR_INVALID);
		assert_int_equal(v, 12345);
	}
	assert_int_equal(unit_duration_parse("5 minutes", false, &v), ERR_INVALID);
	assert_string_equal(err_msg(),
			    "invalid duration '5 minutes': use a number and a unit s, m, h or d, like 30s, 5m, 2h, 7d");
	assert_int_equal(unit_duration_parse("5", true, &v), ERR_INVALID);
	assert_string_equal(err_msg(),
			    "invalid duration '5': use a number and a unit s, m, h or d, like 30s, 5m, 2h, 7d, or never");
	assert_int_equal(unit_duration_parse("never", false, &v), ERR_INVALID);
	assert_non_null(strstr(err_msg(), "not allowed"));
	assert_int_equal(unit_duration_parse("30m1h", false, &v), ERR_INVALID);
	assert_non_null(strstr(err_msg(), "largest first"));
	assert_int_equal(unit_duration_parse("9223372036854775808s", false, &v), ERR_INVALID);
	assert_non_null(strstr(err_msg(), "too large"));
	assert_int_equal(v, 12345);
}

static void test_duration_format(void **state)
{
	static const struct dur_case cases[] = {
		{ "5m", 300 }, { "1h30m", 5400 }, { "0", 0 }, { "never", -1 },
		{ "30s", 30 }, { "2h", 7200 }, { "7d", 604800 }, { "1d", 86400 },
		{ "1d1h1m1s", 90061 }, { "59s", 59 }, { "1m1s", 61 }, { "14d", 1209600 },
		{ "106751991167300d15h30m7s", INT64_MAX }, { "-5s", -5 },
	};
	char out[32];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		unit_duration_format(cases[i].seconds, out);
		assert_string_equal(out, cases[i].text);
	}
}

static void test_duration_round_trip(void **state)
{
	uint64_t x = 88172645463325252u; /* xorshift64 state */
	char out[32];
	int64_t v, want;
	int i;

	(void)state;
	for (i = 0; i < 5000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* Mix tiny, round and huge values. */
		want = i < 1000 ? i : i < 2000 ? (int64_t)(x % 1000) * 60 :
		       i < 3000 ? (int64_t)(x % 100000000) : (int64_t)(x >> 1);
		unit_duration_format(want, out);
		v = -99;
		if (unit_duration_parse(out, false, &v) != 0 || v != want)
			fail_msg("%lld formats as '%s', which parses back as %lld",
				 (long long)want, out, (long long)v);
	}
	unit_duration_format(DURATION_NEVER, out);
	assert_int_equal(unit_duration_parse(out, true, &v), 0);
	assert_int_equal(v, DURATION_NEVER);
}

struct size_case {
	const char *text;
	int64_t bytes;
};

static void test_size_parse_ok(void **state)
{
	static const struct size_case ok[] = {
		{ "512MiB", 536870912 }, { "10GB", 10000000000 }, { "100B", 100 },
		{ "0", 0 }, { "unlimited", 0 }, { "0B", 0 }, { "1KiB", 1024 },
		{ "1KB", 1000 }, { "3MB", 3000000 }, { "2GiB", INT64_C(2147483648) },
		{ "1TiB", INT64_C(1099511627776) }, { "7TB", INT64_C(7000000000000) },
		{ "8388607TiB", INT64_C(8388607) << 40 },
		{ "9223372036854775807B", INT64_MAX },
	};
	int64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(ok); i++) {
		v = -99;
		if (unit_size_parse(ok[i].text, &v) != 0)
			fail_msg("size '%s' rejected: %s", ok[i].text, err_msg());
		assert_int_equal(v, ok[i].bytes);
	}
}

static void test_size_parse_bad(void **state)
{
	static const char *const bad[] = {
		"10 GiBs", "10GiBs", "1.5GiB", "10gb", "10Gb", "10KIB", "10kib", "10", "",
		"GiB", "-1GiB", "10 GiB", " 10GiB", "10GiB ", "1e3B", "+1B", "unlimited ",
		"Unlimited", "00", "10iB", "8388608TiB", "9223372036854775808B",
		"99999999999999999999KB",
	};
	int64_t v = 12345;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		if (unit_size_parse(bad[i], &v) != ERR_INVALID)
			fail_msg("size '%s' was accepted", bad[i]);
		assert_int_equal(v, 12345);
	}
	assert_int_equal(unit_size_parse("10 GiBs", &v), ERR_INVALID);
	assert_string_equal(err_msg(),
			    "invalid size '10 GiBs': use a whole number and a unit B, KB, MB, GB, TB, "
			    "KiB, MiB, GiB or TiB, like 512MiB or 10GB, or 0 or unlimited");
	assert_int_equal(unit_size_parse("10gb", &v), ERR_INVALID);
	assert_non_null(strstr(err_msg(), "case-sensitive, write 'GB'"));
	assert_int_equal(unit_size_parse("8388608TiB", &v), ERR_INVALID);
	assert_non_null(strstr(err_msg(), "too large"));
}

static void test_size_format(void **state)
{
	static const struct size_case cases[] = {
		{ "512MiB", 536870912 }, { "10GB", 10000000000 }, { "unlimited", 0 },
		{ "1KB", 1000 }, { "1023B", 1023 }, { "1KiB", 1024 }, { "1000KiB", 1024000 },
		{ "1500B", 1500 }, { "1TB", INT64_C(1000000000000) }, { "1TiB", INT64_C(1) << 40 },
		{ "1B", 1 }, { "1536KiB", 1572864 }, { "2500KB", 2500000 },
		{ "9223372036854775807B", INT64_MAX }, { "8388607TiB", INT64_C(8388607) << 40 },
		{ "-1B", -1 },
	};
	char out[32];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		unit_size_format(cases[i].bytes, out);
		assert_string_equal(out, cases[i].text);
	}
}

static void test_size_round_trip(void **state)
{
	static const int64_t mults[] = { 1, 1000, 1024, 1000000, 1048576, 1000000000,
					 1073741824, INT64_C(1000000000000), INT64_C(1) << 40 };
	char out[32];
	int64_t v, want;
	size_t i, k;

	(void)state;
	for (i = 0; i < ARRAY_LEN(mults); i++) {
		for (k = 0; k < 3000; k++) {
			want = (int64_t)k * mults[i];
			unit_size_format(want, out);
			v = -99;
			if (unit_size_parse(out, &v) != 0 || v != want)
				fail_msg("%lld formats as '%s', which parses back as %lld",
					 (long long)want, out, (long long)v);
		}
	}
}

struct cu_case {
	const char *text;
	int32_t quarters;
};

static void test_cu_parse(void **state)
{
	static const struct cu_case ok[] = {
		{ "0.25", 1 }, { "0.5", 2 }, { "1", 4 }, { "2", 8 }, { "2.75", 11 },
		{ "56", 224 }, { "0.50", 2 }, { "1.0", 4 }, { "0.750", 3 }, { "7.25", 29 },
		{ "536870911.75", INT32_MAX },
	};
	static const char *const bad[] = {
		"0", "0.3", "-1", "abc", "1e2", "", "0.0", "0.00", "1.", ".5", "+1",
		"0.125", " 1", "1 ", "1,5", "0.2", "0.7", "0.05", "1/4", "536870912",
		"99999999999", "0.255",
	};
	int32_t q;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(ok); i++) {
		q = -99;
		if (unit_cu_parse(ok[i].text, &q) != 0)
			fail_msg("compute units '%s' rejected: %s", ok[i].text, err_msg());
		assert_int_equal(q, ok[i].quarters);
	}
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		q = 12345;
		if (unit_cu_parse(bad[i], &q) != ERR_INVALID)
			fail_msg("compute units '%s' were accepted", bad[i]);
		assert_int_equal(q, 12345);
	}
	assert_int_equal(unit_cu_parse("0.3", &q), ERR_INVALID);
	assert_string_equal(err_msg(),
			    "invalid compute units '0.3': use a positive multiple of 0.25, like 0.25, 0.5, 1 or 2.75");
}

static void test_cu_format(void **state)
{
	static const struct cu_case cases[] = {
		{ "0.25", 1 }, { "0.5", 2 }, { "1", 4 }, { "1.5", 6 }, { "2.75", 11 },
		{ "56", 224 }, { "0", 0 }, { "0.75", 3 }, { "536870911.75", INT32_MAX },
		{ "-0.25", -1 },
	};
	char out[16];
	int32_t q, back;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		unit_cu_format(cases[i].quarters, out);
		assert_string_equal(out, cases[i].text);
	}
	unit_cu_format(INT32_MIN, out);
	assert_string_equal(out, "-536870912");
	for (q = 1; q <= 4000; q++) {
		unit_cu_format(q, out);
		assert_int_equal(unit_cu_parse(out, &back), 0);
		assert_int_equal(back, q);
	}
}

static void test_count_format(void **state)
{
	static const struct {
		int64_t n;
		const char *text;
	} cases[] = {
		{0, "0"}, {7, "7"}, {999, "999"}, {1000, "1,000"}, {2000, "2,000"}, {41200, "41,200"},
		{100000, "100,000"}, {1234567, "1,234,567"}, {-1, "-1"}, {-41200, "-41,200"},
		{INT64_MAX, "9,223,372,036,854,775,807"}, {INT64_MIN, "-9,223,372,036,854,775,808"},
	};
	char out[UNIT_COUNT_LEN];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		unit_count_format(cases[i].n, out);
		assert_string_equal(out, cases[i].text);
		assert_string_equal(unit_count(cases[i].n).s, cases[i].text);
	}
	/* two in one expression are two temporaries, not one buffer reused */
	char both[64];
	snprintf(both, sizeof(both), "%s/%s", unit_count(1000).s, unit_count(2000000).s);
	assert_string_equal(both, "1,000/2,000,000");
}

/* -------------------------------------------------------------- hash */

static void test_sha256_vectors(void **state)
{
	char hex[SHA256_HEX_LEN + 1];

	(void)state;
	sha256_hex("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	assert_int_equal(strlen(hex), SHA256_HEX_LEN);
}

/* RFC 4231, test case 2: a key shorter than the block, ASCII data. */
static void test_hmac_sha256_rfc4231(void **state)
{
	static const char want[] = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
	unsigned char mac[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];
	size_t i;

	(void)state;
	hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
	for (i = 0; i < SHA256_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	assert_string_equal(hex, want);
}

static void test_sha256_streaming(void **state)
{
	char hex[SHA256_HEX_LEN + 1];
	char chunk[1000];
	sha256_ctx *c;
	int i;

	(void)state;
	c = sha256_new();
	sha256_update(c, "a", 1);
	sha256_update(c, "", 0);
	sha256_update(c, "bc", 2);
	sha256_final_hex(c, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

	/* The million-'a' vector from FIPS 180-2. */
	memset(chunk, 'a', sizeof(chunk));
	c = sha256_new();
	for (i = 0; i < 1000; i++)
		sha256_update(c, chunk, sizeof(chunk));
	sha256_final_hex(c, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

	c = sha256_new();
	sha256_final_hex(c, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* ----------------------------------------------------------- strings */

static void test_str_copy(void **state)
{
	char dst[8];

	(void)state;
	assert_int_equal(str_copy(dst, "abc", sizeof(dst)), 3);
	assert_string_equal(dst, "abc");
	assert_int_equal(str_copy(dst, "1234567", sizeof(dst)), 7);
	assert_string_equal(dst, "1234567");
	assert_int_equal(str_copy(dst, "123456789", sizeof(dst)), 9);
	assert_string_equal(dst, "1234567");
	assert_int_equal(str_copy(dst, "xyz", 1), 3);
	assert_string_equal(dst, "");
	memcpy(dst, "untouch", 8);
	assert_int_equal(str_copy(dst, "xyz", 0), 3);
	assert_string_equal(dst, "untouch");
	assert_int_equal(str_copy(dst, "", sizeof(dst)), 0);
	assert_string_equal(dst, "");
}

static void test_str_prefix_suffix(void **state)
{
	(void)state;
	assert_true(str_has_prefix("tenant.acme", "tenant."));
	assert_true(str_has_prefix("abc", ""));
	assert_true(str_has_prefix("abc", "abc"));
	assert_false(str_has_prefix("ab", "abc"));
	assert_false(str_has_prefix("xabc", "abc"));
	assert_true(str_has_prefix("", ""));
	assert_true(str_has_suffix("plan.json", ".json"));
	assert_true(str_has_suffix("abc", ""));
	assert_true(str_has_suffix("abc", "abc"));
	assert_false(str_has_suffix("bc", "abc"));
	assert_false(str_has_suffix("abcx", "abc"));
	assert_true(str_has_suffix("", ""));
	assert_false(str_has_suffix("", "a"));
}

static void test_str_edit_distance(void **state)
{
	(void)state;
	assert_int_equal(str_edit_distance("kitten", "sitting", 10), 3);
	assert_int_equal(str_edit_distance("sitting", "kitten", 10), 3);
	assert_int_equal(str_edit_distance("flaw", "lawn", 10), 2);
	assert_int_equal(str_edit_distance("", "abc", 10), 3);
	assert_int_equal(str_edit_distance("abc", "", 10), 3);
	assert_int_equal(str_edit_distance("", "", 10), 0);
	assert_int_equal(str_edit_distance("same", "same", 0), 0);
	assert_int_equal(str_edit_distance("regoin", "region", 5), 2);
	assert_int_equal(str_edit_distance("tenants", "tenant", 5), 1);
	/* Past the cap the answer is cap + 1, whatever the real distance. */
	assert_int_equal(str_edit_distance("kitten", "sitting", 3), 3);
	assert_int_equal(str_edit_distance("kitten", "sitting", 2), 3);
	assert_int_equal(str_edit_distance("kitten", "sitting", 0), 1);
	assert_int_equal(str_edit_distance("a", "abcdefgh", 2), 3);
	assert_int_equal(str_edit_distance("abcdefgh", "zyxwvuts", 3), 4);
	assert_int_equal(str_edit_distance("kitten", "sitting", SIZE_MAX), 3);
}

struct i64_case {
	const char *text;
	int64_t value;
};

static void test_str_to_i64(void **state)
{
	static const struct i64_case ok[] = {
		{ "0", 0 }, { "-0", 0 }, { "123", 123 }, { "-123", -123 }, { "007", 7 },
		{ "9223372036854775807", INT64_MAX }, { "-9223372036854775808", INT64_MIN },
		{ "-9223372036854775807", -INT64_MAX },
	};
	static const char *const bad[] = {
		"", "-", "+1", " 1", "1 ", "1a", "0x10", "1.0", "--1", "1-", "\t1",
		"9223372036854775808", "-9223372036854775809", "99999999999999999999",
		"18446744073709551616",
	};
	int64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(ok); i++) {
		v = 42;
		if (str_to_i64(ok[i].text, &v) != 0)
			fail_msg("'%s' rejected: %s", ok[i].text, err_msg());
		assert_true(v == ok[i].value);
	}
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		v = 42;
		if (str_to_i64(bad[i], &v) != ERR_INVALID)
			fail_msg("'%s' was accepted", bad[i]);
		assert_int_equal(v, 42);
	}
	assert_int_equal(str_to_i64("9223372036854775808", &v), ERR_INVALID);
	assert_non_null(strstr(err_msg(), "out of range"));
	assert_int_equal(str_to_i64("12x", &v), ERR_INVALID);
	assert_string_equal(err_msg(), "invalid integer '12x': use decimal digits with an optional leading '-'");
}

struct utf8_case {
	const char *bytes;
	size_t len;
	size_t bad_off; /* SIZE_MAX: valid */
};

#define U8(s, off) { s, sizeof(s) - 1, off }

static void test_utf8_valid(void **state)
{
	static const struct utf8_case cases[] = {
		U8("", SIZE_MAX),
		U8("plain ascii", SIZE_MAX),
		U8("nul\0inside", SIZE_MAX),
		U8("caf\xc3\xa9", SIZE_MAX),                /* U+00E9 */
		U8("\xc2\x80", SIZE_MAX),                   /* U+0080, smallest 2-byte */
		U8("\xdf\xbf", SIZE_MAX),                   /* U+07FF */
		U8("\xe0\xa0\x80", SIZE_MAX),               /* U+0800, smallest 3-byte */
		U8("\xe2\x82\xac", SIZE_MAX),               /* U+20AC euro */
		U8("\xed\x9f\xbf", SIZE_MAX),               /* U+D7FF, below surrogates */
		U8("\xee\x80\x80", SIZE_MAX),               /* U+E000, above surrogates */
		U8("\xef\xbf\xbf", SIZE_MAX),               /* U+FFFF */
		U8("\xf0\x90\x80\x80", SIZE_MAX),           /* U+10000, smallest 4-byte */
		U8("\xf0\x9f\x98\x80", SIZE_MAX),           /* U+1F600 */
		U8("\xf4\x8f\xbf\xbf", SIZE_MAX),           /* U+10FFFF, the last */
		/* Overlong forms. */
		U8("\xc0\x80", 0),
		U8("\xc1\xbf", 0),
		U8("ab\xc0\xaf", 2),
		U8("\xe0\x80\x80", 0),
		U8("\xe0\x9f\xbf", 0),
		U8("\xf0\x80\x80\x80", 0),
		U8("\xf0\x8f\xbf\xbf", 0),
		/* UTF-16 surrogates. */
		U8("\xed\xa0\x80", 0),                      /* U+D800 */
		U8("x\xed\xbf\xbf", 1),                     /* U+DFFF */
		U8("\xed\xa0\xbd\xed\xb8\x80", 0),          /* CESU-8 pair */
		/* Past U+10FFFF and bytes that never appear. */
		U8("\xf4\x90\x80\x80", 0),
		U8("\xf5\x80\x80\x80", 0),
		U8("\xf8\x88\x80\x80\x80", 0),
		U8("ok\xfe", 2),
		U8("ok\xff", 2),
		/* Stray and missing continuation bytes. */
		U8("\x80", 0),
		U8("abc\xbf", 3),
		U8("\xc3", 0),
		U8("caf\xc3", 3),
		U8("\xe2\x82", 0),
		U8("a\xe2\x82z", 1),
		U8("\xe2\x41\xac", 0),
		U8("\xf0\x9f\x98", 0),
		U8("\xf0\x9f\x98\x41", 0),
		U8("\xc3\xa9\xc3", 2),
	};
	size_t i, off;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		bool ok;

		off = 777;
		ok = utf8_valid(cases[i].bytes, cases[i].len, &off);
		if (cases[i].bad_off == SIZE_MAX) {
			if (!ok)
				fail_msg("case %zu: valid text rejected at %zu", i, off);
			assert_int_equal(off, 777);
		} else {
			if (ok)
				fail_msg("case %zu: invalid text accepted", i);
			if (off != cases[i].bad_off)
				fail_msg("case %zu: bad offset %zu, expected %zu", i, off,
					 cases[i].bad_off);
		}
	}
	/* Only n bytes are looked at, and bad_off may be NULL. */
	assert_true(utf8_valid("ab\xff", 2, NULL));
	assert_false(utf8_valid("ab\xff", 3, NULL));
	assert_true(utf8_valid(NULL, 0, NULL));
}


/* ---------------------------------------------------------------- strmap */

static void test_strmap_put_get_replace(void **state)
{
	(void)state;
	strmap *m = strmap_new();
	int a = 1, b = 2;
	assert_null(strmap_put(m, "alpha", &a));
	assert_ptr_equal(strmap_get(m, "alpha"), &a);
	char temp[] = "alpha";
	assert_ptr_equal(strmap_put(m, temp, &b), &a);
	/* the entry kept its first key: the temporary can go */
	memset(temp, 'x', sizeof(temp) - 1);
	assert_ptr_equal(strmap_get(m, "alpha"), &b);
	assert_ptr_equal(strmap_get(m, "alpha"), &b);
	assert_null(strmap_get(m, "beta"));
	assert_int_equal(strmap_count(m), 1);
	strmap_free(m);
	strmap_free(NULL);
}

/* Many keys, growth, and deletion of every other key: the survivors must
 * stay reachable (backward-shift deletion keeps probe runs intact). */
static void test_strmap_grow_and_delete(void **state)
{
	(void)state;
	enum { N = 5000 };
	static char keys[N][16];
	static int vals[N];
	strmap *m = strmap_new();
	for (int i = 0; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		vals[i] = i;
		assert_null(strmap_put(m, keys[i], &vals[i]));
	}
	assert_int_equal(strmap_count(m), N);
	for (int i = 0; i < N; i += 2)
		assert_ptr_equal(strmap_del(m, keys[i]), &vals[i]);
	assert_null(strmap_del(m, "k0"));
	assert_int_equal(strmap_count(m), N / 2);
	for (int i = 0; i < N; i++) {
		if (i % 2)
			assert_ptr_equal(strmap_get(m, keys[i]), &vals[i]);
		else
			assert_null(strmap_get(m, keys[i]));
	}
	/* reinsert into the holes */
	for (int i = 0; i < N; i += 2)
		assert_null(strmap_put(m, keys[i], &vals[i]));
	for (int i = 0; i < N; i++)
		assert_ptr_equal(strmap_get(m, keys[i]), &vals[i]);
	strmap_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strmap_put_get_replace),
		cmocka_unit_test(test_count_format),
		cmocka_unit_test(test_strmap_grow_and_delete),
		cmocka_unit_test(test_xmalloc_basic),
		cmocka_unit_test(test_xgrow),
		cmocka_unit_test(test_xstrdup_family),
		cmocka_unit_test(test_err_basic),
		cmocka_unit_test(test_err_wraps_itself),
		cmocka_unit_test(test_err_truncation),
		cmocka_unit_test(test_err_name),
		cmocka_unit_test(test_err_per_thread),
		cmocka_unit_test(test_buf_empty),
		cmocka_unit_test(test_buf_append),
		cmocka_unit_test(test_buf_max_exact_fit),
		cmocka_unit_test(test_buf_max_leaves_unchanged),
		cmocka_unit_test(test_buf_printf),
		cmocka_unit_test(test_buf_reset_detach),
		cmocka_unit_test(test_buf_read_file),
		cmocka_unit_test(test_arena_alignment_zeroed),
		cmocka_unit_test(test_arena_big),
		cmocka_unit_test(test_arena_reset),
		cmocka_unit_test(test_arena_strings),
		cmocka_unit_test(test_log_level_parse),
		cmocka_unit_test(test_log_json),
		cmocka_unit_test(test_log_json_odd_fields),
		cmocka_unit_test(test_log_human),
		cmocka_unit_test(test_log_level_filter),
		cmocka_unit_test(test_log_threads),
		cmocka_unit_test(test_json_escape),
		cmocka_unit_test(test_duration_parse_ok),
		cmocka_unit_test(test_duration_parse_bad),
		cmocka_unit_test(test_duration_format),
		cmocka_unit_test(test_duration_round_trip),
		cmocka_unit_test(test_size_parse_ok),
		cmocka_unit_test(test_size_parse_bad),
		cmocka_unit_test(test_size_format),
		cmocka_unit_test(test_size_round_trip),
		cmocka_unit_test(test_cu_parse),
		cmocka_unit_test(test_cu_format),
		cmocka_unit_test(test_count_format),
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_sha256_streaming),
		cmocka_unit_test(test_hmac_sha256_rfc4231),
		cmocka_unit_test(test_str_copy),
		cmocka_unit_test(test_str_prefix_suffix),
		cmocka_unit_test(test_str_edit_distance),
		cmocka_unit_test(test_str_to_i64),
		cmocka_unit_test(test_utf8_valid),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
