/*
 * str.c: the small string helpers that C's library gets wrong or leaves
 * out: a bounded copy that always terminates, a strict integer parse (atoi
 * and strtoll both accept junk), edit distance for "did you mean" hints,
 * and UTF-8 validation so that text from manifests and APIs is checked once
 * at the edge instead of trusted everywhere after.
 */
#include "util/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

size_t str_copy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size) {
		size_t n = len < size ? len : size - 1;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

bool str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return lx <= ls && memcmp(s + ls - lx, suffix, lx) == 0;
}

/*
 * Distance in bytes, not characters: the names it compares (fields,
 * commands, tenants) are ASCII. Two rows of the usual table, and it stops
 * as soon as a whole row is past the cap, so comparing a typo against a
 * long unrelated name costs little.
 */
size_t str_edit_distance(const char *a, const char *b, size_t cap)
{
	size_t la = strlen(a), lb = strlen(b), i, j, result;
	size_t *prev = NULL, *cur = NULL, *tmp;

	/* Every edit changes the length by at most one. */
	if ((la > lb ? la - lb : lb - la) > cap)
		return cap + 1;
	prev = xmalloc((lb + 1) * sizeof(*prev));
	cur = xmalloc((lb + 1) * sizeof(*cur));
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		size_t row_min;

		cur[0] = i;
		row_min = cur[0];
		for (j = 1; j <= lb; j++) {
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t best = del < ins ? del : ins;

			cur[j] = sub < best ? sub : best;
			if (cur[j] < row_min)
				row_min = cur[j];
		}
		if (row_min > cap) {
			result = cap + 1;
			goto done;
		}
		tmp = prev;
		prev = cur;
		cur = tmp;
	}
	result = prev[lb] > cap ? cap + 1 : prev[lb];

done:
	free(prev);
	free(cur);
	return result;
}

/*
 * Accepts an optional '-' and decimal digits, nothing else: no blanks, no
 * '+', no "0x", no trailing text. *out is only written on success.
 */
int str_to_i64(const char *s, int64_t *out)
{
	const char *p = s;
	bool neg = false;
	uint64_t v = 0, limit;

	if (*p == '-') {
		neg = true;
		p++;
	}
	if (!*p)
		goto invalid;
	/* INT64_MIN has one more unit of magnitude than INT64_MAX. */
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *p; p++) {
		unsigned d;

		if (*p < '0' || *p > '9')
			goto invalid;
		d = (unsigned)(*p - '0');
		if (v > (limit - d) / 10)
			return err_set(ERR_INVALID,
				       "integer '%s' is out of range: use a value from %lld to %lld",
				       s, (long long)INT64_MIN, (long long)INT64_MAX);
		v = v * 10 + d;
	}
	/* Written so that -2^63 never appears as a positive int64. */
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;

invalid:
	return err_set(ERR_INVALID,
		       "invalid integer '%s': use decimal digits with an optional leading '-'", s);
}

/*
 * RFC 3629: no overlong forms, no surrogates (U+D800..U+DFFF), nothing
 * past U+10FFFF, no truncated or stray continuation bytes. *bad_off is the
 * offset where the first invalid sequence starts.
 */
bool utf8_valid(const char *s, size_t n, size_t *bad_off)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned char c = p[i];
		size_t len, k;
		unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			len = 2;
		} else if (c >= 0xE0 && c <= 0xEF) {
			len = 3;
			if (c == 0xE0)
				lo = 0xA0;      /* below is an overlong 2-byte form */
			else if (c == 0xED)
				hi = 0x9F;      /* above are the UTF-16 surrogates */
		} else if (c >= 0xF0 && c <= 0xF4) {
			len = 4;
			if (c == 0xF0)
				lo = 0x90;      /* below is an overlong 3-byte form */
			else if (c == 0xF4)
				hi = 0x8F;      /* above is past U+10FFFF */
		} else {
			goto bad;       /* continuation byte, C0/C1 overlong, F5..FF */
		}
		if (n - i < len || p[i + 1] < lo || p[i + 1] > hi)
			goto bad;
		for (k = 2; k < len; k++)
			if ((p[i + k] & 0xC0) != 0x80)
				goto bad;
		i += len;
	}
	return true;

bad:
	if (bad_off)
		*bad_off = i;
	return false;
}

const char *str_suggest(const char *word, const char *const *known, size_t n)
{
	const char *best = NULL;
	size_t best_d = 3;

	for (size_t i = 0; i < n; i++) {
		size_t dist = str_edit_distance(word, known[i], 2);
		if (dist < best_d) {
			best_d = dist;
			best = known[i];
		}
	}
	/* a case-only difference (minCU) is always worth a hint */
	for (size_t i = 0; !best && i < n; i++)
		if (strcasecmp(word, known[i]) == 0)
			best = known[i];
	return best;
}
