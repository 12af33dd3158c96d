/*
 * test-spec-prices.c: the Fleet's price table (spec/prices.c): Neon's
 * published Launch prices without one; a table read exactly (millionths,
 * no rounding); each way a table can be wrong reported at its place with
 * what to write instead.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "spec/spec.h"

#include "helpers.h"

#define FLEET_HEAD "apiVersion: flotilla/v1\nkind: Fleet\nmetadata:\n  name: p\nspec:\n"

/* Load a fleet whose flotilla.yaml holds FLEET_HEAD + spec_tail; *diags_text
 * (heap) the diagnostics as text. The caller frees the fleet. */
static spec_fleet *load(const char *spec_tail, char **diags_text)
{
	char *dir = ut_tmpdir("prices");
	char *yaml = xasprintf("%s%s", FLEET_HEAD, spec_tail);
	ut_write_fleet(dir, yaml);
	char *root = xasprintf("%s/fleet", dir);
	spec_source *src = NULL;
	spec_fleet *f = NULL;
	spec_diags *d = spec_diags_new();
	assert_int_equal(spec_source_dir_new(&src, root), 0);
	assert_int_equal(spec_fleet_load(&f, src, d), 0);
	buf out = BUF_INIT(0);
	assert_int_equal(spec_diags_render_text(d, &out), 0);
	*diags_text = buf_detach(&out, NULL);
	spec_diags_free(d);
	spec_source_dir_free(src);
	ut_rm_rf(dir);
	free(root);
	free(yaml);
	free(dir);
	return f;
}

/* The table is exactly this one (as_of NULL: no date). */
static void assert_table(spec_prices p, bool from_manifest, int64_t cu, int64_t gb, int64_t tr,
			 const char *currency, const char *as_of)
{
	assert_int_equal(p.from_manifest, from_manifest);
	assert_int_equal(p.cu_hour, cu);
	assert_int_equal(p.gb_month, gb);
	assert_int_equal(p.transfer_gb, tr);
	assert_string_equal(p.currency, currency);
	if (as_of)
		assert_string_equal(p.as_of, as_of);
	else
		assert_null(p.as_of);
}

/* The fleet's table is exactly this one. */
static void assert_prices(const spec_fleet *f, bool from_manifest, int64_t cu, int64_t gb, int64_t tr,
			  const char *currency, const char *as_of)
{
	spec_prices p;
	spec_fleet_prices(f, &p);
	assert_table(p, from_manifest, cu, gb, tr, currency, as_of);
}

static void test_default_is_neon_launch(void **state)
{
	(void)state;
	char *text = NULL;
	spec_fleet *f = load("  namePrefix: t-\n", &text);
	assert_string_equal(text, "");
	assert_prices(f, false, 140000, 350000, 100000, "USD", "2025-08-14");
	/* the same table without a Fleet (status reads no manifest) */
	spec_prices p;
	spec_prices_default(&p);
	assert_table(p, false, 140000, 350000, 100000, "USD", "2025-08-14");
	free(text);
	spec_fleet_free(f);
}

static void test_table_read_exactly(void **state)
{
	(void)state;
	char *text = NULL;
	spec_fleet *f = load("  prices:\n    computeUnitHour: 0.106\n    storageGbMonth: 0.000001\n"
			     "    dataTransferGb: 12\n    currency: EUR\n    asOf: 2026-11-30\n", &text);
	assert_string_equal(text, "");
	assert_prices(f, true, 106000, 1, 12000000, "EUR", "2026-11-30");
	free(text);
	spec_fleet_free(f);

	/* currency and date are optional: USD, no date */
	f = load("  prices: {computeUnitHour: 0, storageGbMonth: 1000, dataTransferGb: 0.5}\n", &text);
	assert_string_equal(text, "");
	assert_prices(f, true, 0, 1000000000, 500000, "USD", NULL);
	free(text);
	spec_fleet_free(f);
}

/* Each wrong table: its line, the key, what to write. */
static void test_wrong_tables(void **state)
{
	(void)state;
	static const struct {
		const char *tail, *want;
	} cases[] = {
		{"  prices: {computeUnitHour: 0.1.4, storageGbMonth: 1, dataTransferGb: 1}\n",
		 "flotilla.yaml:6:29: spec.prices.computeUnitHour: expected a price like 0.14: a number 0..1000 with at "
		 "most 6 decimals, got '0.1.4'\n"},
		{"  prices: {computeUnitHour: \"0.14\", storageGbMonth: 1, dataTransferGb: 1}\n",
		 "spec.prices.computeUnitHour: expected a price like 0.14: a number 0..1000 with at most 6 decimals, "
		 "got a quoted string"},
		{"  prices: {computeUnitHour: -1, storageGbMonth: 1, dataTransferGb: 1}\n", "got '-1'"},
		{"  prices: {computeUnitHour: 1001, storageGbMonth: 1, dataTransferGb: 1}\n", "got '1001'"},
		{"  prices: {computeUnitHour: 0.1234567, storageGbMonth: 1, dataTransferGb: 1}\n", "got '0.1234567'"},
		{"  prices: {computeUnitHour: 1e-3, storageGbMonth: 1, dataTransferGb: 1}\n", "got '1e-3'"},
		{"  prices: {computeUnitHour: 1, storageGbMonth: 1}\n",
		 "spec.prices: dataTransferGb is missing: a price table gives computeUnitHour, storageGbMonth and "
		 "dataTransferGb (remove spec.prices for Neon's published Launch prices)"},
		{"  prices: {computeUnitHour: 1, storageGbMonth: 1, dataTransferGb: 1, currency: usd}\n",
		 "spec.prices.currency: 'usd' is not a currency code: three capital letters, like USD or EUR"},
		{"  prices: {computeUnitHour: 1, storageGbMonth: 1, dataTransferGb: 1, asOf: 2026-13-01}\n",
		 "spec.prices.asOf: '2026-13-01' is not a date: give the day the prices were read, YYYY-MM-DD"},
		{"  prices: {computeUnitHour: 1, storageGbMonth: 1, dataTransferGb: 1, computeUnitHours: 1}\n",
		 "spec.prices.computeUnitHours: unknown key 'computeUnitHours'; did you mean 'computeUnitHour'?"},
		{"  prices: 0.14\n", "spec.prices: expected a map"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = NULL;
		spec_fleet *f = load(cases[i].tail, &text);
		if (!strstr(text, cases[i].want))
			fail_msg("case %zu: want '%s' in:\n%s", i, cases[i].want, text);
		free(text);
		spec_fleet_free(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_is_neon_launch),
		cmocka_unit_test(test_table_read_exactly),
		cmocka_unit_test(test_wrong_tables),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
