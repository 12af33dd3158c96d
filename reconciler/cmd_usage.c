/*
 * cmd_usage.c: `flotilla usage`: compute, active time, storage and data
 * transfer per tenant, with a cost estimate, as a table, CSV or JSON.
 * The figures come from the project list and the consumption API
 * (engine/usage.c); the prices are the Fleet's spec.prices, by default
 * Neon's published Launch prices (docs/manifest.md "Prices" gives the
 * source and date). The manifests are read as plan reads them (--repo,
 * --ref): they give the prices, spec.orgId and what --select's terms judge.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reconciler/reconciler.h"

const char CMD_USAGE_USAGE[] =
	"usage: flotilla usage [--since DATE] [--until DATE] [--format table|csv|json]\n"
	"                      [--select EXPR] [--top N] [--by METRIC] [--org-id ORG]\n"
	"                      [--repo DIR] [--ref REF] [--state FILE|URL]\n"
	"                      [--api-url URL] [--api-key-file FILE] [--rate R]\n"
	"\n"
	"Show what each mapped tenant used and what it costs: compute (CU-hours),\n"
	"storage (GB-months) and public data transfer over the range, from Neon's\n"
	"consumption API (100 projects a call), and active time and storage now for\n"
	"the current period, from the project list (400 projects a call). The cost\n"
	"is at the Fleet's spec.prices (default: Neon's published Launch prices).\n"
	"\n"
	"options:\n"
	"  --since DATE         start, YYYY-MM-DD or RFC 3339 (default: the 1st of this\n"
	"                       month, UTC)\n"
	"  --until DATE         end, exclusive (default: now)\n"
	"  --format FMT         table (default), csv or json\n"
	"  --select EXPR        only these tenants, as plan selects them (name=GLOB,\n"
	"                       label.KEY=VALUE, region=REGION; comma-separated)\n"
	"  --top N              only the N largest\n"
	"  --by METRIC          what --top and the order go by: cost (default),\n"
	"                       compute, storage, transfer, active\n"
	"  --org-id ORG         the organization (default: the Fleet's spec.orgId, else\n"
	"                       $NEON_ORG_ID); required by the consumption API\n"
	"  --repo DIR           the manifest repository (default: .)\n"
	"  --ref REF            the branch, tag or commit to read (default: HEAD)\n"
	"  --state FILE|URL     the state: a file (default: .flotilla/state.db) or a\n"
	"                       postgres:// URL; FLOTILLA_STATE sets it too\n"
	"  --api-url URL        the API (default: $NEON_API_HOST, else\n"
	"                       https://console.neon.tech/api/v2)\n"
	"  --api-key-file FILE  read the API key from FILE (default: $NEON_API_KEY)\n"
	"  --rate R             requests per second (default 10)\n"
	"  -h, --help           this help\n"
	"\n"
	"exit: 0 shown; 1 an error (a bad date or range, Neon refused: the message\n"
	"says why and what to do).\n";

#define CMD "usage"
#define GB 1e9

/* The price table of this run (the Fleet's spec.prices, or Neon's). */
static spec_prices PRICES;

static double price(int64_t micro) { return (double)micro / 1e6; }

typedef struct usage_opts {
	const char *since, *until, *by, *org;
	int64_t top;
	int64_t since_s, until_s; /* the range, unix seconds */
	bool period;              /* since is a month's start: kept in the state */
} usage_opts;

static int usage_opt(void *arg, int c, const char *value)
{
	usage_opts *x = arg;
	char *end = NULL;
	switch (c) {
	case 'S': x->since = value; return 1;
	case 'U': x->until = value; return 1;
	case 'b': x->by = value; return 1;
	case 'o': x->org = value; return 1;
	case 't':
		x->top = strtoll(value, &end, 10);
		if (!*value || *end || x->top < 1) {
			cli_fail(CMD, "--top wants a whole number of tenants from 1 on, not '%s'", value);
			return -1;
		}
		return 1;
	default: return 0;
	}
}

/* YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ into unix seconds; -1 when neither. */
static int64_t parse_date(const char *s)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, used = 0;
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3 || used != 10)
		return -1;
	if (s[10] && (sscanf(s + 10, "T%2d:%2d:%2dZ%n", &h, &mi, &sec, &used) != 3 || s[10 + used]))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
		return -1;
	return unit_utc_seconds(y, mo, d, h, mi, sec);
}

static double cost_of(const usage_row *r)
{
	return usage_cost(&PRICES, r->compute_unit_seconds, r->storage_bytes_month, r->transfer_bytes);
}

static const char *by_metric = "cost";

static double key_of(const usage_row *r)
{
	if (strcmp(by_metric, "compute") == 0)
		return (double)r->compute_unit_seconds;
	if (strcmp(by_metric, "storage") == 0)
		return (double)r->storage_bytes_month;
	if (strcmp(by_metric, "transfer") == 0)
		return (double)r->transfer_bytes;
	if (strcmp(by_metric, "active") == 0)
		return (double)r->active_seconds;
	return cost_of(r);
}

/* Largest first; equal ones by name. */
static int row_cmp(const void *a, const void *b)
{
	const usage_row *x = a, *y = b;
	double kx = key_of(x), ky = key_of(y);
	if (kx != ky)
		return kx < ky ? 1 : -1;
	return strcmp(x->tenant, y->tenant);
}

static void print_csv(const usage_result *u, size_t n)
{
	printf("tenant,project_id,compute_cu_hours,active_hours,storage_gb_months,storage_bytes_now,"
	       "transfer_gb,cost_%s\n", PRICES.currency);
	for (size_t i = 0; i < n; i++) {
		const usage_row *r = &u->rows[i];
		printf("%s,%s,%.4f,%.4f,%.6f,%lld,%.6f,%.4f\n", r->tenant, r->project_id,
		       (double)r->compute_unit_seconds / 3600.0, (double)r->active_seconds / 3600.0,
		       (double)r->storage_bytes_month / GB, (long long)r->storage_bytes, (double)r->transfer_bytes / GB,
		       cost_of(r));
	}
}

static int print_json(const usage_result *u, size_t n, const char *from, const char *to)
{
	json_t *rows = json_array();
	double total = 0;
	for (size_t i = 0; i < n; i++) {
		const usage_row *r = &u->rows[i];
		total += cost_of(r);
		json_array_append_new(rows, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:f}", "tenant", r->tenant,
			"project_id", r->project_id, "compute_unit_seconds", (json_int_t)r->compute_unit_seconds,
			"active_seconds", (json_int_t)r->active_seconds, "storage_bytes_month",
			(json_int_t)r->storage_bytes_month, "storage_bytes", (json_int_t)r->storage_bytes,
			"transfer_bytes", (json_int_t)r->transfer_bytes, "cost", cost_of(r)));
	}
	json_t *doc = json_pack("{s:s, s:s, s:{s:s, s:f, s:f, s:f, s:s, s:s?}, s:o, s:f, s:{s:I, s:I}}", "since", from,
		"until", to, "prices", "source", PRICES.from_manifest ? "spec.prices" : "neon-launch", "computeUnitHour", price(PRICES.cu_hour), "storageGbMonth", price(PRICES.gb_month),
		"dataTransferGb", price(PRICES.transfer_gb), "currency", PRICES.currency, "asOf", PRICES.as_of, "tenants", rows,
		"total_cost", total, "calls", "list", (json_int_t)u->list_calls, "consumption",
		(json_int_t)u->usage_calls);
	char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(12)) : NULL;
	if (text)
		printf("%s\n", text);
	free(text);
	json_decref(doc);
	return text ? EXIT_OK : cli_fail(CMD, "cannot render the JSON document");
}

static void print_table(const usage_result *u, size_t n, const char *from, const char *to)
{
	double total = 0;
	printf("usage %s .. %s (prices: %s, %s%s, %s)\n", from, to,
	       PRICES.from_manifest ? "spec.prices" : "Neon Launch", PRICES.as_of ? "as of " : "undated",
	       PRICES.as_of ? PRICES.as_of : "", PRICES.currency);
	printf("%-24s %12s %10s %12s %12s %10s\n", "TENANT", "COMPUTE CUh", "ACTIVE h", "STORAGE GBm", "TRANSFER GB",
	       "COST");
	for (size_t i = 0; i < n; i++) {
		const usage_row *r = &u->rows[i];
		total += cost_of(r);
		printf("%-24s %12.2f %10.2f %12.4f %12.4f %10.2f\n", r->tenant, (double)r->compute_unit_seconds / 3600.0,
		       (double)r->active_seconds / 3600.0, (double)r->storage_bytes_month / GB,
		       (double)r->transfer_bytes / GB, cost_of(r));
	}
	printf("%s tenant%s, %.2f %s; %s calls (%s list, %s consumption)\n", CLI_N(n), n == 1 ? "" : "s", total,
	       PRICES.currency, CLI_N(u->list_calls + u->usage_calls), CLI_N(u->list_calls), CLI_N(u->usage_calls));
}

/* The range from the options: EXIT_OK, or EXIT_ERROR after saying why.
 * x->period: since is the 1st of a month, 00:00 UTC (the rows are kept). */
static int range_of(usage_opts *x, char from[32], char to[32])
{
	int64_t now = (int64_t)time(NULL), since = 0, until = now;
	if (x->since && (since = parse_date(x->since)) < 0)
		return cli_fail(CMD, "--since '%s' is not a date: give YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ", x->since);
	if (x->until && (until = parse_date(x->until)) < 0)
		return cli_fail(CMD, "--until '%s' is not a date: give YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ", x->until);
	if (!x->since)
		since = unit_month_start(now);
	if (since >= until)
		return cli_fail(CMD, "--since must be before --until");
	unit_time_format(since, from);
	unit_time_format(until, to);
	x->since_s = since;
	x->until_s = until;
	x->period = strcmp(from + 7, "-01T00:00:00Z") == 0;
	return EXIT_OK;
}

/* The organization: --org-id, the Fleet's spec.orgId, $NEON_ORG_ID. */
static const char *org_of(const usage_opts *x, const spec_fleet *f)
{
	if (x->org)
		return x->org;
	if (spec_fleet_org_id(f))
		return spec_fleet_org_id(f);
	const char *env = getenv("NEON_ORG_ID");
	return env && *env ? env : NULL;
}

static void print_result(const cli_opts *o, const usage_opts *x, usage_result *u, const char *from,
			 const char *to, int *rc)
{
	by_metric = x->by;
	if (u->n > 1) /* qsort of NULL, 0 is undefined */
		qsort(u->rows, u->n, sizeof(*u->rows), row_cmp);
	size_t n = x->top && (size_t)x->top < u->n ? (size_t)x->top : u->n;
	*rc = EXIT_OK;
	if (strcmp(o->format, "csv") == 0)
		print_csv(u, n);
	else if (strcmp(o->format, "json") == 0)
		*rc = print_json(u, n, from, to);
	else
		print_table(u, n, from, to);
}

static int run(state *st, const cli_opts *o, const usage_opts *x, const char *from, const char *to)
{
	planning pl;
	neon_client *client = NULL;
	usage_result u;
	memset(&u, 0, sizeof(u));
	int rc = EXIT_ERROR;
	if (planning_load(&o->rq, st, &pl) != 0) {
		cli_planning_fail(CMD, &pl);
		planning_release(&pl);
		return EXIT_ERROR;
	}
	const spec_fleet *f = pl.fl.fleet;
	const char *org = org_of(x, f);
	spec_fleet_prices(f, &PRICES);
	if (!org)
		rc = cli_fail(CMD, "the consumption API needs the organization: set spec.orgId in flotilla.yaml, give "
			      "--org-id ORG or set NEON_ORG_ID (the id in the Neon console's organization settings)");
	else if (cli_client_open(CMD, &o->api, &client) == EXIT_OK) {
		neon_client_set_org(client, org);
		neon_usage_req rq = {from, to, "monthly"};
		if (usage_collect(st, client, f, pl.sel, &rq, &u) != 0)
			rc = cli_fail(CMD, "%s", err_msg());
		else if (x->period && usage_record(st, &u, x->since_s, x->until_s) != 0)
			rc = cli_fail(CMD, "%s", err_msg());
		else if (usage_prices_record(st, &PRICES) != 0) /* status --idle prices with it */
			rc = cli_fail(CMD, "%s", err_msg());
		else
			print_result(o, x, &u, from, to, &rc);
	}
	usage_result_release(&u);
	neon_client_free(client);
	planning_release(&pl);
	return rc;
}

int cmd_usage(int argc, char **argv)
{
	static const char *const BY[] = {"cost", "compute", "storage", "transfer", "active"};
	static const struct option opts[] = {
		{"since", required_argument, NULL, 'S'},
		{"until", required_argument, NULL, 'U'},
		{"select", required_argument, NULL, OPT_SELECT},
		{"top", required_argument, NULL, 't'},
		{"by", required_argument, NULL, 'b'},
		{"org-id", required_argument, NULL, 'o'},
		{"format", required_argument, NULL, OPT_FORMAT},
		{NULL, 0, NULL, 0},
	};
	usage_opts x = {.by = "cost"};
	cli_opts o;
	cli_opts_init(&o);
	o.format = "table";
	o.rq.ref = "HEAD";
	o.rq.mode = "none";
	if (cli_opts_parse(CMD, argc, argv, opts, CLI_API | CLI_COMMIT, &o, usage_opt, &x) != EXIT_OK ||
	    cli_opts_extra(CMD, argc, argv) != EXIT_OK)
		return EXIT_ERROR;
	if (strcmp(o.format, "table") != 0 && strcmp(o.format, "csv") != 0 && strcmp(o.format, "json") != 0)
		return cli_fail(CMD, "unknown format '%s': use table, csv or json", o.format);
	bool known = false;
	for (size_t i = 0; i < ARRAY_LEN(BY); i++)
		known = known || strcmp(BY[i], x.by) == 0;
	if (!known)
		return cli_fail(CMD, "--by wants cost, compute, storage, transfer or active, not '%s'", x.by);
	char from[32], to[32];
	if (range_of(&x, from, to) != EXIT_OK)
		return EXIT_ERROR;
	state *st = NULL;
	if (cli_state_open_existing(CMD, o.state_path, &st) != EXIT_OK)
		return EXIT_ERROR;
	int rc = run(st, &o, &x, from, to);
	state_close(st);
	return rc;
}
