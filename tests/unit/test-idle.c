/*
 * test-idle.c: idle tenants (engine/idle.c) on a real state: idle time
 * from the cached project's compute_last_active_at, or from its creation
 * when Neon shows no activity; most idle first, ties by name; the
 * daemon's buckets; tenants without a cached project or a readable time
 * counted apart (a row not listed since schema 9 too); a time after `now` is idle 0; more tenants than a page.
 * What they cost (idle_costs): storage a month and the latest usage period,
 * at the price table `flotilla usage` keeps (usage_prices_record/load; a
 * missing or garbled one reads as Neon's default), and a state that
 * refuses the table or cannot give the usage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "engine/engine.h"

#include "state-fixture.h"

#define DAY 86400
/* 2026-12-04T12:00:00Z */
#define NOW 1796385600

/* A project cached and mapped to tenant. */
static void map(fixture *fx, const char *tenant, const char *created, const char *last_active, int64_t storage)
{
	state_project p;
	memset(&p, 0, sizeof(p));
	p.id = arena_printf(fx->a, "p-%s", tenant);
	p.name = arena_printf(fx->a, "t-%s", tenant);
	p.region_id = S("aws-us-east-2");
	p.pg_version = 17;
	p.created_at = (char *)created;
	p.updated_at = S("2026-12-01T00:00:00Z");
	p.compute_last_active_at = (char *)last_active;
	p.synthetic_storage_size = storage;
	assert_int_equal(state_project_put(fx->s, &p, false), 0);
	assert_int_equal(state_tenant_put(fx->s, tenant, p.id, "f", "create"), 0);
}

static void test_parse_time(void **st)
{
	(void)st;
	int64_t t;
	assert_true(idle_parse_time("2026-12-04T12:00:00Z", &t));
	assert_int_equal(t, NOW);
	assert_true(idle_parse_time("2026-12-04T12:00:00.123456Z", &t));
	assert_int_equal(t, NOW);
	assert_true(idle_parse_time("2026-12-04T14:30:00+02:30", &t));
	assert_int_equal(t, NOW);
	assert_true(idle_parse_time("2026-12-04T09:00:00-03:00", &t));
	assert_int_equal(t, NOW);
	const char *bad[] = {NULL, "", "2026-12-04", "2026-12-04T12:00:00", "2026-12-04 12:00:00Z",
			     "2026-13-04T12:00:00Z", "2026-12-04T12:00:00Zjunk", "2026-12-04T12:00:00+2"};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		if (idle_parse_time(bad[i], &t))
			fail_msg("'%s' read as a time", bad[i] ? bad[i] : "(null)");
}

static void test_idle_list_and_buckets(void **st)
{
	fixture *fx = *st;
	fx->s = open_ok(fx);
	map(fx, "busy", "2026-01-01T00:00:00Z", "2026-12-04T11:59:00Z", 100);      /* 1 min */
	map(fx, "week", "2026-01-01T00:00:00Z", "2026-11-26T12:00:00Z", 2048);     /* 8 days */
	map(fx, "month", "2026-01-01T00:00:00Z", "2026-11-01T12:00:00+00:00", -1); /* 33 days, storage unknown */
	map(fx, "never", "2026-08-01T12:00:00Z", NULL, 0);                         /* 125 days, never active */
	map(fx, "also-8d", "2026-01-01T00:00:00Z", "2026-11-26T12:00:00Z", 1);     /* a tie with week */
	map(fx, "future", "2026-01-01T00:00:00Z", "2026-12-05T00:00:00Z", 1);      /* clocks apart: idle 0 */
	map(fx, "garbled", "2026-01-01T00:00:00Z", "yesterday", 1);
	map(fx, "unlisted", "2026-01-01T00:00:00Z", "", -1); /* migrated to schema 9, no list since */
	assert_int_equal(state_tenant_put(fx->s, "uncached", "p-gone", "f", "create"), 0);

	idle_report r;
	assert_int_equal(idle_scan(fx->s, NOW, 7 * DAY, &r), 0);
	assert_int_equal(r.mapped, 9);
	assert_int_equal(r.unknown, 3); /* garbled, unlisted, uncached */
	assert_int_equal(r.n, 4);
	const char *order[] = {"never", "month", "also-8d", "week"};
	for (size_t i = 0; i < r.n; i++)
		assert_string_equal(r.v[i].tenant, order[i]);
	assert_true(r.v[0].never_active);
	assert_string_equal(r.v[0].since, "2026-08-01T12:00:00Z");
	assert_int_equal(r.v[0].idle_seconds, 125 * DAY);
	assert_int_equal(r.v[0].storage_bytes, 0);
	assert_string_equal(r.v[0].project_id, "p-never");
	assert_false(r.v[1].never_active);
	assert_int_equal(r.v[1].idle_seconds, 33 * DAY);
	assert_int_equal(r.v[1].storage_bytes, -1);
	assert_int_equal(r.v[3].idle_seconds, 8 * DAY);
	assert_int_equal(r.v[3].storage_bytes, 2048);
	/* 7d: never, month, week, also-8d; 30d: never, month; 90d: never */
	assert_int_equal(r.buckets[0], 4);
	assert_int_equal(r.buckets[1], 2);
	assert_int_equal(r.buckets[2], 1);
	idle_report_release(&r);

	/* counts only, and a limit of 0 lists every tenant with a time */
	assert_int_equal(idle_scan(fx->s, NOW, -1, &r), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.buckets[0], 4);
	idle_report_release(&r);
	assert_int_equal(idle_scan(fx->s, NOW, 0, &r), 0);
	assert_int_equal(r.n, 6);
	assert_string_equal(r.v[4].tenant, "busy");
	assert_int_equal(r.v[4].idle_seconds, 60);
	assert_string_equal(r.v[5].tenant, "future");
	assert_int_equal(r.v[5].idle_seconds, 0);
	idle_report_release(&r);
}

/* Past one page of the tenant map (1,000 rows): every tenant seen once. */
static void test_idle_pages(void **st)
{
	fixture *fx = *st;
	fx->s = open_ok(fx);
	for (int i = 0; i < 2101; i++) {
		char name[16];
		snprintf(name, sizeof(name), "t%05d", i);
		map(fx, name, "2026-01-01T00:00:00Z", i % 2 ? "2026-11-01T12:00:00Z" : "2026-12-04T11:00:00Z", i);
	}
	idle_report r;
	assert_int_equal(idle_scan(fx->s, NOW, 30 * DAY, &r), 0);
	assert_int_equal(r.mapped, 2101);
	assert_int_equal(r.unknown, 0);
	assert_int_equal(r.n, 1050);
	assert_int_equal(r.buckets[1], 1050);
	assert_string_equal(r.v[0].tenant, "t00001");
	assert_string_equal(r.v[1049].tenant, "t02099");
	idle_report_release(&r);

	assert_int_equal(idle_scan(fx->s, NOW, 0, &r), 0);
	assert_int_equal(r.n, 2101);
	idle_report_release(&r);
}

/* The spec.prices of the e2e tests: 0.5 a CU-hour, 2 a GB-month, 1.25 a GB. */
static const spec_prices EUR = {500000, 2000000, 1250000, "EUR", "2026-12-01", true};

static void assert_default_prices(state *s)
{
	spec_prices p, want;
	char currency[8], as_of[16];
	usage_prices_load(s, &p, currency, as_of);
	spec_prices_default(&want);
	assert_int_equal(p.cu_hour, want.cu_hour);
	assert_int_equal(p.gb_month, want.gb_month);
	assert_int_equal(p.transfer_gb, want.transfer_gb);
	assert_string_equal(p.currency, want.currency);
	assert_string_equal(p.as_of, want.as_of);
	assert_false(p.from_manifest);
}

static void test_prices_kept(void **st)
{
	fixture *fx = *st;
	fx->s = open_ok(fx);
	assert_default_prices(fx->s); /* no usage run yet */

	spec_prices p;
	char currency[8], as_of[16];
	assert_int_equal(usage_prices_record(fx->s, &EUR), 0);
	usage_prices_load(fx->s, &p, currency, as_of);
	assert_int_equal(p.cu_hour, 500000);
	assert_int_equal(p.gb_month, 2000000);
	assert_int_equal(p.transfer_gb, 1250000);
	assert_string_equal(p.currency, "EUR");
	assert_ptr_equal(p.currency, currency);
	assert_string_equal(p.as_of, "2026-12-01");
	assert_ptr_equal(p.as_of, as_of);
	assert_true(p.from_manifest);

	/* a table without a date, over the last */
	spec_prices undated = EUR;
	undated.as_of = NULL;
	undated.currency = "CHF";
	assert_int_equal(usage_prices_record(fx->s, &undated), 0);
	usage_prices_load(fx->s, &p, currency, as_of);
	assert_null(p.as_of);
	assert_string_equal(p.currency, "CHF");
	assert_int_equal(p.gb_month, 2000000);

	/* anything else in the key reads as Neon's table */
	static const char *const garbled[] = {
		"not json",
		"[]",
		"{}",
		"{\"cu_hour\": 1, \"gb_month\": 2, \"transfer_gb\": 3, \"currency\": \"EUR\", \"as_of\": null}",
		"{\"cu_hour\": \"1\", \"gb_month\": 2, \"transfer_gb\": 3, \"currency\": \"EUR\", \"as_of\": null, "
		"\"from_manifest\": true}",
		"{\"cu_hour\": -1, \"gb_month\": 2, \"transfer_gb\": 3, \"currency\": \"EUR\", \"as_of\": null, "
		"\"from_manifest\": true}",
		"{\"cu_hour\": 1, \"gb_month\": 2, \"transfer_gb\": 3, \"currency\": \"eur\", \"as_of\": null, "
		"\"from_manifest\": true}",
		"{\"cu_hour\": 1, \"gb_month\": 2, \"transfer_gb\": 3, \"currency\": \"EURO\", \"as_of\": null, "
		"\"from_manifest\": true}",
		"{\"cu_hour\": 1, \"gb_month\": 2, \"transfer_gb\": 3, \"currency\": \"EUR\", \"as_of\": \"yesterday\", "
		"\"from_manifest\": true}",
	};
	for (size_t i = 0; i < ARRAY_LEN(garbled); i++) {
		assert_int_equal(state_meta_set(fx->s, "usage_prices", garbled[i]), 0);
		assert_default_prices(fx->s);
	}

	/* a state that refuses the write: an error that says so (the key
	 * dropped first: PostgreSQL checks a new constraint on every row) */
	assert_int_equal(state_meta_set(fx->s, "usage_prices", NULL), 0);
	if (fx_pg())
		file_exec(fx->path, "ALTER TABLE meta ADD CONSTRAINT no_prices CHECK (key <> 'usage_prices')");
	else
		file_exec(fx->path, "CREATE TRIGGER no_prices BEFORE INSERT ON meta WHEN NEW.key = 'usage_prices' "
			  "BEGIN SELECT RAISE(ABORT, 'refused'); END");
	assert_int_not_equal(usage_prices_record(fx->s, &EUR), 0);
	assert_non_null(strstr(err_msg(), "cannot keep the price table in the state"));
}

static void test_idle_costs(void **st)
{
	fixture *fx = *st;
	fx->s = open_ok(fx);
	map(fx, "big", "2026-01-01T00:00:00Z", "2026-11-01T12:00:00Z", 2500000000);   /* 2.5 GB */
	map(fx, "unsized", "2026-01-01T00:00:00Z", "2026-11-01T12:00:00Z", -1);
	map(fx, "unused", "2026-01-01T00:00:00Z", "2026-11-01T12:00:00Z", 0);
	map(fx, "busy", "2026-01-01T00:00:00Z", "2026-12-04T11:59:00Z", 1);
	/* big: two periods, the later counts; busy is not idle */
	const int64_t nov = 1793491200, dec = 1796083200; /* 2026-11-01, 2026-12-01 */
	state_usage u[] = {
		{"big", "p-big", nov, dec, 3600, 0, 0, 0, 0, 0},
		{"big", "p-big", dec, NOW, 7200, 0, 3000000000, 0, 4000000000, 0},
		{"unsized", "p-unsized", dec, NOW, 0, 0, 0, 0, 1000000000, 0},
		{"busy", "p-busy", dec, NOW, 3600, 0, 0, 0, 0, 0},
	};
	assert_int_equal(state_usage_put(fx->s, u, ARRAY_LEN(u)), 0);

	idle_report r;
	assert_int_equal(idle_scan(fx->s, NOW, 30 * DAY, &r), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(idle_costs(fx->s, &EUR, &r), 0);
	for (size_t i = 0; i < r.n; i++) {
		const idle_tenant *t = &r.v[i];
		if (strcmp(t->tenant, "big") == 0) {
			assert_float_equal(t->storage_cost_month, 5.0, 1e-9); /* 2.5 GB at 2 */
			assert_true(t->period_known);
			assert_int_equal(t->period_start, dec);
			/* 2 CU-hours at 0.5, 3 GB-months at 2, 4 GB at 1.25 */
			assert_float_equal(t->period_cost, 1.0 + 6.0 + 5.0, 1e-9);
		} else if (strcmp(t->tenant, "unsized") == 0) {
			assert_true(t->storage_cost_month < 0);
			assert_true(t->period_known);
			assert_float_equal(t->period_cost, 1.25, 1e-9);
		} else {
			assert_string_equal(t->tenant, "unused");
			assert_float_equal(t->storage_cost_month, 0, 0);
			assert_false(t->period_known);
		}
	}

	/* the usage cannot be read: an error that says so */
	file_exec(fx->path, "ALTER TABLE tenant_usage RENAME TO tenant_usage_away");
	assert_int_not_equal(idle_costs(fx->s, &EUR, &r), 0);
	assert_non_null(strstr(err_msg(), "cannot read the tenants' usage"));
	idle_report_release(&r);

	/* nothing idle: nothing read */
	assert_int_equal(idle_scan(fx->s, NOW, 1000 * DAY, &r), 0);
	assert_int_equal(idle_costs(fx->s, &EUR, &r), 0);
	idle_report_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_time),
		FX(test_idle_list_and_buckets),
		FX(test_idle_pages),
		FX(test_prices_kept),
		FX(test_idle_costs),
	};
	return cmocka_run_group_tests_name("idle", tests, NULL, NULL);
}
