/*
 * prices.c: the Fleet's price table (spec.prices), what `flotilla usage`
 * multiplies the consumption by. Prices are decimals with up to six places,
 * kept as whole millionths of the currency, so a table reads back (and
 * through the parse cache) exactly as written.
 *
 * The default is Neon's published usage-based Launch prices of 2025-08-14
 * (docs/manifest.md "Prices", with the source and the date read).
 */
#include <ctype.h>
#include <string.h>

#include "spec/internal.h"

#define MICRO 1000000
#define PRICE_MAX 1000 /* per unit: far above any published price */

static const char *const KEYS[] = {"computeUnitHour", "storageGbMonth", "dataTransferGb", "currency", "asOf"};

/* "0.14", "2", "0.000123": millionths; false when not such a number. */
static bool parse_price(const char *s, int64_t *out)
{
	int64_t whole = 0, frac = 0;
	size_t i = 0, places = 0;
	for (; isdigit((unsigned char)s[i]) && i < 5; i++)
		whole = whole * 10 + (s[i] - '0');
	if (i == 0)
		return false;
	if (s[i] == '.') {
		for (i++; isdigit((unsigned char)s[i]) && places < 6; i++, places++)
			frac = frac * 10 + (s[i] - '0');
		if (places == 0)
			return false;
	}
	if (s[i])
		return false;
	for (; places < 6; places++)
		frac *= 10;
	*out = whole * MICRO + frac;
	return true;
}

static bool valid_date(const char *s)
{
	int y, m, d, used = 0;
	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &used) != 3 || used != 10)
		return false;
	return y >= 2000 && m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

static void decode_price(dec *d, const ynode *v, const char *path, int64_t *out)
{
	int64_t x;
	if (v->kind != YN_SCALAR || v->quoted || !parse_price(v->str, &x) || x > (int64_t)PRICE_MAX * MICRO) {
		bool plain = v->kind == YN_SCALAR && !v->quoted;
		spec__diag_at(d, v, path, "expected a price like 0.14: a number 0..%d with at most 6 decimals, got %s%s%s",
			      PRICE_MAX, plain ? "'" : "", plain ? v->str : spec__ynode_describe(v), plain ? "'" : "");
		return;
	}
	*out = x;
}

void spec__decode_prices(dec *d, const ynode *n, const char *where)
{
	spec_fleet *f = d->f;
	if (!spec__want_map(d, n, where))
		return;
	f->prices_o = spec__origin_of(d, n);
	bool seen[ARRAY_LEN(KEYS)] = {false};
	for (size_t i = 0; i < n->n; i++) {
		int k = spec__key_index(d, n, i, where, KEYS, ARRAY_LEN(KEYS));
		const ynode *v = n->kids[2 * i + 1];
		char path[PATH_MAX_LEN];
		if (k < 0)
			continue;
		seen[k] = true;
		spec__join(path, where, KEYS[k]);
		if (k < 3) {
			int64_t *slot[] = {&f->price_cu_hour, &f->price_gb_month, &f->price_transfer_gb};
			decode_price(d, v, path, slot[k]);
		} else if (!spec__want_string(d, v, path)) {
			continue;
		} else if (k == 3) {
			bool ok = v->len == 3;
			for (size_t j = 0; ok && j < 3; j++)
				ok = isupper((unsigned char)v->str[j]);
			if (ok)
				f->price_currency = spec__copy_str(d, v);
			else
				spec__diag_at(d, v, path, "'%s' is not a currency code: three capital letters, like USD or EUR",
					      v->str);
		} else if (valid_date(v->str)) {
			f->price_as_of = spec__copy_str(d, v);
		} else {
			spec__diag_at(d, v, path, "'%s' is not a date: give the day the prices were read, YYYY-MM-DD", v->str);
		}
	}
	/* a table of the account's own: all three, none taken from Neon's list */
	for (size_t k = 0; k < 3; k++)
		if (!seen[k])
			spec__diag_at(d, n, where, "%s is missing: a price table gives computeUnitHour, storageGbMonth and "
				      "dataTransferGb (remove spec.prices for Neon's published Launch prices)", KEYS[k]);
}

void spec_prices_default(spec_prices *out)
{
	/* Neon, usage-based Launch plan, introduced 2025-08-14 (docs/manifest.md "Prices") */
	*out = (spec_prices){140000, 350000, 100000, "USD", "2025-08-14", false};
}

void spec_fleet_prices(const spec_fleet *f, spec_prices *out)
{
	memset(out, 0, sizeof(*out));
	out->from_manifest = f->prices_o.set;
	if (!out->from_manifest) {
		spec_prices_default(out);
		return;
	}
	out->cu_hour = f->price_cu_hour;
	out->gb_month = f->price_gb_month;
	out->transfer_gb = f->price_transfer_gb;
	out->currency = f->price_currency ? f->price_currency : "USD";
	out->as_of = f->price_as_of;
}
