/*
 * status_idle.c: `flotilla status --idle DUR`: the mapped tenants whose
 * computes have not been active for DUR, most idle first, with their
 * storage, from the state's cache (engine/idle.c; no API call), as text
 * or as JSON (docs/cli.md, "flotilla status --idle"). What they cost is
 * at the prices the last `flotilla usage` kept (status reads no manifest),
 * else Neon's: their storage a month, and their last recorded period.
 */
#include <string.h>

#include "reconciler/reconciler.h"

/* A size for people: 512B, 1.5KiB, 3.0GiB; "?" when not known. */
static void fmt_storage(int64_t v, char out[32])
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
	if (v < 0) {
		str_copy(out, "?", 32);
		return;
	}
	if (v < 1024) {
		snprintf(out, 32, "%lldB", (long long)v);
		return;
	}
	double x = (double)v / 1024;
	size_t u = 0;
	while (x >= 1024 && u + 1 < ARRAY_LEN(units)) {
		x /= 1024;
		u++;
	}
	snprintf(out, 32, "%.1f%s", x, units[u]);
}

/* An idle time to the two largest units: 92d3h, 5h12m, 40m, 0. */
static void fmt_idle(int64_t s, char out[32])
{
	unit_duration_format(s >= 86400 ? s - s % 3600 : s >= 3600 ? s - s % 60 : s >= 60 ? s - s % 60 : s, out);
}

/* What the known storage of r's tenants costs a month. */
static double storage_cost(const idle_report *r)
{
	double sum = 0;
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].storage_cost_month > 0)
			sum += r->v[i].storage_cost_month;
	return sum;
}

/* A real, or null for a figure not known (jansson: a new reference). */
static json_t *real_or_null(bool known, double v)
{
	return known ? json_real(v) : json_null();
}

static json_t *idle_json(const idle_report *r, const spec_prices *p, int64_t min_idle, int64_t as_of,
			 int64_t listed)
{
	char at[32];
	unit_time_format(as_of, at);
	/* "o" steals the new references */
	json_t *doc = json_pack("{s:i,s:s,s:I,s:o,s:I,s:I,s:{s:s,s:s?,s:s},s:f,s:[]}", "version", 1, "as_of", at,
				"idle_for_seconds", (json_int_t)min_idle, "list_refreshed_at",
				listed > 0 ? json_integer(listed) : json_null(), "mapped", (json_int_t)r->mapped,
				"not_known", (json_int_t)r->unknown, "prices", "currency", p->currency, "as_of",
				p->as_of, "source", p->from_manifest ? "spec.prices" : "neon-launch",
				"storage_cost_month", storage_cost(r), "tenants");
	json_t *a = json_object_get(doc, "tenants");
	for (size_t i = 0; i < r->n; i++) {
		const idle_tenant *t = &r->v[i];
		char start[32];
		unit_time_format(t->period_start, start);
		json_array_append_new(a, json_pack("{s:s,s:s,s:I,s:s,s:b,s:o,s:o,s:o,s:s?}", "tenant", t->tenant,
						   "project_id", t->project_id, "idle_seconds",
						   (json_int_t)t->idle_seconds, "since", t->since, "never_active",
						   t->never_active, "storage_bytes",
						   t->storage_bytes >= 0 ? json_integer(t->storage_bytes) : json_null(),
						   "storage_cost_month",
						   real_or_null(t->storage_cost_month >= 0, t->storage_cost_month),
						   "period_cost", real_or_null(t->period_known, t->period_cost),
						   "period_start", t->period_known ? start : NULL));
	}
	return doc;
}

/* Where the prices come from, for the footer. */
static void prices_text(const spec_prices *p, char out[96])
{
	if (p->from_manifest)
		str_copy(out, "spec.prices (kept by the last usage read)", 96);
	else
		snprintf(out, 96, "Neon's Launch prices of %s (default)", p->as_of ? p->as_of : "?");
}

static void idle_text(const idle_report *r, const spec_prices *p, int64_t min_idle, int64_t as_of, int64_t listed)
{
	char d[32], at[32], age[32];
	unit_duration_format(min_idle, d);
	unit_time_format(as_of, at);
	cli_age(listed, age);
	printf("tenants idle for %s or more: %s of %s mapped, as of %s (the cache's last complete list: %s%s)\n", d,
	       CLI_N(r->n), CLI_N(r->mapped), at, listed ? age : "never", listed ? " ago" : "");
	if (r->n)
		printf("%-24s %-10s %-34s %-10s %8s  %s\n", "TENANT", "IDLE", "LAST ACTIVE", "STORAGE", "COST/MO",
		       "LAST PERIOD");
	int64_t storage = 0;
	for (size_t i = 0; i < r->n; i++) {
		const idle_tenant *t = &r->v[i];
		char idle[32], size[32], last[64], month[32] = "?", period[64] = "-";
		fmt_idle(t->idle_seconds, idle);
		fmt_storage(t->storage_bytes, size);
		if (t->never_active)
			snprintf(last, sizeof(last), "never (created %s)", t->since);
		else
			str_copy(last, t->since, sizeof(last));
		if (t->storage_cost_month >= 0)
			snprintf(month, sizeof(month), "%.2f", t->storage_cost_month);
		if (t->period_known) {
			char start[32];
			unit_time_format(t->period_start, start);
			snprintf(period, sizeof(period), "%.2f from %.10s", t->period_cost, start);
		}
		printf("%-24s %-10s %-34s %-10s %8s  %s\n", t->tenant, idle, last, size, month, period);
		if (t->storage_bytes > 0)
			storage += t->storage_bytes;
	}
	if (r->n) {
		char size[32], source[96];
		fmt_storage(storage, size);
		prices_text(p, source);
		printf("storage of these tenants: %s, about %.2f %s a month to keep them, at %s\n", size,
		       storage_cost(r), p->currency, source);
	}
	if (r->unknown)
		printf("%s mapped tenants have no activity time in the cache (their project is not cached, or no "
		       "list since the upgrade): run flotilla refresh\n",
		       CLI_N(r->unknown));
}

int status_idle(state *st, int64_t min_idle, int64_t as_of, bool json)
{
	idle_report r;
	spec_prices p;
	char currency[8], prices_as_of[16];
	if (idle_scan(st, as_of, min_idle, &r) != 0)
		return cli_fail("status", "%s", err_msg());
	usage_prices_load(st, &p, currency, prices_as_of);
	if (idle_costs(st, &p, &r) != 0) {
		idle_report_release(&r);
		return cli_fail("status", "%s", err_msg());
	}
	char *at = NULL;
	int64_t listed = 0;
	if (state_meta_get(st, "list_refreshed_at", &at) == 0 && at && str_to_i64(at, &listed) != 0)
		listed = 0;
	free(at);
	int rc = EXIT_OK;
	if (json) {
		json_t *doc = idle_json(&r, &p, min_idle, as_of, listed);
		char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(12)) : NULL;
		if (text)
			printf("%s\n", text);
		else
			rc = cli_fail("status", "cannot render the idle tenants");
		free(text);
		json_decref(doc);
	} else {
		idle_text(&r, &p, min_idle, as_of, listed);
	}
	idle_report_release(&r);
	return rc;
}
