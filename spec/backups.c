/*
 * backups.c: `backups.schedule`, a tenant's automated snapshots (Neon's
 * backup_schedule of the default branch, BackupScheduleItem in the OpenAPI
 * document). Each item is checked offline as the API would check it, and
 * kept as the JSON the API takes, members in a fixed order, so that the
 * plan compares the manifest's schedule with the live one as two strings
 * and a PUT sends the manifest's items as they are.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "spec/internal.h"

static const char *const ITEM_KEYS[] = {"frequency", "hour", "day", "month", "retention"};
static const char *const FREQUENCIES[] = {"hourly", "daily", "weekly", "monthly", "yearly"};

enum { K_FREQUENCY, K_HOUR, K_DAY, K_MONTH, K_RETENTION };

/* Which of hour, day and month a frequency takes ("if applicable", the
 * document says): an hourly snapshot has no hour, only a yearly one has a
 * month. A member that the frequency cannot use is a mistake to report,
 * not a value to send and have ignored. */
static bool applies(int freq, int key)
{
	switch (key) {
	case K_HOUR: return freq != 0;
	case K_DAY: return freq >= 2;
	case K_MONTH: return freq == 4;
	default: return true;
	}
}

/* One item into out->s; false after a diagnostic. */
static bool decode_item(dec *d, const ynode *n, const char *path, spec_val *out)
{
	if (!spec__want_map(d, n, path))
		return false;
	int64_t val[5] = {-1, -1, -1, -1, -1};
	const ynode *at[5] = {0};
	bool ok = true;
	for (size_t i = 0; i < n->n; i++) {
		int k = spec__key_index(d, n, i, path, ITEM_KEYS, ARRAY_LEN(ITEM_KEYS));
		const ynode *v = n->kids[2 * i + 1];
		char where[PATH_MAX_LEN];
		if (k < 0) {
			ok = false;
			continue;
		}
		spec__join(where, path, ITEM_KEYS[k]);
		at[k] = v;
		if (k == K_FREQUENCY) {
			if (!spec__want_string(d, v, where)) {
				ok = false;
				continue;
			}
			for (size_t f = 0; f < ARRAY_LEN(FREQUENCIES); f++)
				if (strcmp(v->str, FREQUENCIES[f]) == 0)
					val[k] = (int64_t)f;
			if (val[k] < 0) {
				spec__diag_at(d, v, where, "'%s' is not a frequency: hourly, daily, weekly, monthly or yearly",
					      v->str);
				ok = false;
			}
		} else if (k == K_RETENTION) {
			int64_t s;
			if (!spec__want_string(d, v, where) || unit_duration_parse(v->str, false, &s) != 0) {
				if (v->kind == YN_SCALAR)
					spec__diag_at(d, v, where, "'%s' is not a duration such as 7d or 12h", v->str);
				ok = false;
			} else if (s < 3600) {
				spec__diag_at(d, v, where, "a snapshot is kept at least 1h (Neon's minimum), got %s", v->str);
				ok = false;
			} else {
				val[k] = s;
			}
		} else {
			static const int64_t lo[] = {0, 0, 1, 1}, hi[] = {0, 23, 31, 12};
			if (!spec__get_int(d, v, where, lo[k], hi[k], &val[k]))
				ok = false;
		}
	}
	if (!at[K_FREQUENCY]) {
		spec__diag_at(d, n, path, "a schedule item needs a 'frequency' (hourly, daily, weekly, monthly or yearly)");
		return false;
	}
	for (int k = K_HOUR; ok && k <= K_MONTH; k++)
		if (at[k] && !applies((int)val[K_FREQUENCY], k)) {
			char where[PATH_MAX_LEN];
			spec__join(where, path, ITEM_KEYS[k]);
			spec__diag_at(d, at[k], where, "%s %s snapshot takes no %s", val[K_FREQUENCY] == 0 ? "an" : "a",
				      FREQUENCIES[val[K_FREQUENCY]], ITEM_KEYS[k]);
			ok = false;
		}
	if (!ok)
		return false;
	char js[192];
	size_t u = (size_t)snprintf(js, sizeof(js), "{\"frequency\":\"%s\"", FREQUENCIES[val[K_FREQUENCY]]);
	static const char *const API[] = {"", "hour", "day", "month", "retention_seconds"};
	for (int k = K_HOUR; k <= K_RETENTION; k++)
		if (val[k] >= 0)
			u += (size_t)snprintf(js + u, sizeof(js) - u, ",\"%s\":%" PRId64, API[k], val[k]);
	snprintf(js + u, sizeof(js) - u, "}");
	out->s = arena_strdup(d->f->a, js);
	out->o = spec__origin_of(d, n);
	return true;
}

bool spec__decode_schedule(dec *d, const ynode *n, const char *path, spec_val *out)
{
	if (!spec__want_seq(d, n, path))
		return false;
	spec_list *l = arena_alloc(d->f->a, sizeof(*l));
	l->items = arena_alloc(d->f->a, (n->n ? n->n : 1) * sizeof(spec_val));
	bool ok = true;
	for (size_t i = 0; i < n->n; i++) {
		char where[PATH_MAX_LEN];
		snprintf(where, sizeof(where), "%s[%zu]", path, i);
		spec_val *v = &l->items[l->n];
		if (!decode_item(d, n->kids[i], where, v)) {
			ok = false;
			continue;
		}
		for (size_t j = 0; j < l->n; j++)
			if (strcmp(l->items[j].s, v->s) == 0) {
				spec__diag_at(d, n->kids[i], where, "the same snapshot is scheduled twice (item %zu)", j);
				ok = false;
			}
		l->n++;
	}
	out->list = l;
	return ok;
}

/* The integer after "key": in one canonical item, or -1. */
static int64_t member(const char *js, const char *key)
{
	char pat[32];
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = strstr(js, pat);
	return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

void spec_schedule_item_format(const char *js, char *out, size_t size)
{
	char freq[16] = "?", keep[32];
	const char *f = strstr(js, "\"frequency\":\"");
	if (f) {
		f += strlen("\"frequency\":\"");
		size_t n = strcspn(f, "\"");
		snprintf(freq, sizeof(freq), "%.*s", (int)(n < 15 ? n : 15), f);
	}
	size_t u = (size_t)snprintf(out, size, "%s", freq);
	int64_t day = member(js, "day"), month = member(js, "month"), hour = member(js, "hour");
	int64_t ret = member(js, "retention_seconds");
	if (month >= 0 && u < size)
		u += (size_t)snprintf(out + u, size - u, " month %" PRId64, month);
	if (day >= 0 && u < size)
		u += (size_t)snprintf(out + u, size - u, " day %" PRId64, day);
	if (hour >= 0 && u < size)
		u += (size_t)snprintf(out + u, size - u, " at %02" PRId64 ":00", hour);
	if (ret >= 0 && u < size) {
		unit_duration_format(ret, keep);
		snprintf(out + u, size - u, " keep %s", keep);
	}
}

void spec_schedule_format(const spec_list *l, char *out, size_t size)
{
	if (size)
		out[0] = 0;
	if (!l || l->n == 0) {
		str_copy(out, "none", size);
		return;
	}
	size_t u = 0;
	for (size_t i = 0; i < l->n && u + 1 < size; i++) {
		char one[96];
		spec_schedule_item_format(l->items[i].s, one, sizeof(one));
		u += (size_t)snprintf(out + u, size - u, "%s%s", i ? "; " : "", one);
	}
}
