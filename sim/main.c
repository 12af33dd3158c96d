/*
 * main.c: flotilla-sim's command line: parse the flags of sim/CONTRACT.md,
 * load --data, start tenant activity when --activity asks for it, listen,
 * and run until SIGTERM or SIGINT.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/sim.h"
#include "util/version.h"

static const char USAGE[] =
	"usage: flotilla-sim [options]\n"
	"\n"
	"A local server for the part of the Neon API v2 that flotilla uses: projects,\n"
	"branches, endpoints, databases, roles, operations, regions and consumption,\n"
	"under /api/v2, with Neon's status codes, 423s while operations run, rate\n"
	"limits and scale to zero. /__sim/ holds its control plane (stats, faults,\n"
	"reset, connect); docs/sim.md describes it and how it differs from Neon.\n"
	"\n"
	"options:\n"
	"  --listen HOST:PORT       address to listen on (default 127.0.0.1:4242; port 0\n"
	"                           picks a free one)\n"
	"  --port-file FILE         write the port listened on to FILE once ready\n"
	"  --api-key KEY            accept KEY as a bearer token; repeat for several keys\n"
	"                           (default: sim-key)\n"
	"  --op-delay-ms N          operations finish N ms after they start (default 100)\n"
	"  --rate-per-minute N      requests per minute per key (default 700; 0: no limits)\n"
	"  --burst-per-route N      requests per second per key and route (default 40)\n"
	"  --max-projects N         the account's project limit (default 0: unlimited, or the\n"
	"                           plan's with --plan); given, it wins over the plan's\n"
	"  --time-scale X           run the sim clock X times faster, for suspend timeouts\n"
	"                           and consumption (default 1)\n"
	"  --recover-window DUR     deleted projects stay recoverable this long (default 7d)\n"
	"  --seed N                 seed for ids and injected faults (default 1)\n"
	"  --data FILE              keep state in this SQLite file across restarts\n"
	"                           (default: in memory only)\n"
	"  --quiet                  do not log each request\n"
	"  --version                the version and the commit it was built from\n"
	"  -h, --help               this help\n"
	"\n"
	"Neon's harsher behaviours, all off by default (docs/sim.md):\n"
	"  --plan NAME              enforce a plan's limits: free, launch, scale or business\n"
	"                           (projects, branches and protected branches per project,\n"
	"                           history retention, compute size; default: none)\n"
	"  --require-org-id         the key is a personal key on an account with\n"
	"                           organizations: GET /projects and POST /projects must\n"
	"                           name one of them in org_id (400 org_id is required)\n"
	"  --org-id ID              an organization of the key; repeat for several\n"
	"                           (default: org-flotilla-sim-00000001)\n"
	"  --unavailable-rate F     share (0..1) of the projects of each GET /projects page\n"
	"                           named in unavailable_project_ids instead of listed, and\n"
	"                           of GET /projects/{id} answered 503 (default 0)\n"
	"  --op-retry-rate F        share of new operations that fail once and are retried\n"
	"                           (default 0)\n"
	"  --op-fail-rate F         share of new operations that end in error (default 0)\n"
	"  --activity N             tenants wake N random projects per minute of the sim\n"
	"                           clock: start_compute, later suspend_compute, each\n"
	"                           moving updated_at and locking the project (default 0)\n"
	"  --activity-op-ms M       activity's operations run M ms (default 1500)\n"
	"  The rates and --activity can be changed at run time: POST /__sim/faults.\n"
	"\n"
	"Stop it with SIGTERM or SIGINT.\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Print "flotilla-sim: " and the message on stderr; -1. */
static int fail(const char *fmt, ...) PRINTF(1, 2);
static int fail(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "flotilla-sim: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static bool parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	return str_to_i64(s, out) == 0 && *out >= lo && *out <= hi;
}

static bool parse_number(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	*out = strtod(s, &end);
	return !errno && end != s && !*end && *out >= lo && *out <= hi;
}

#define HOST_MAX 64 /* the host of --listen, NUL included */

/* Long options without a letter of their own. */
enum {
	OPT_PLAN = 256,
	OPT_REQUIRE_ORG,
	OPT_ORG,
	OPT_UNAVAILABLE,
	OPT_RETRY,
	OPT_FAIL,
	OPT_ACTIVITY,
	OPT_ACTIVITY_MS,
};

/* The flags USAGE describes, for getopt_long. */
static const struct option OPTS[] = {
	{"listen", required_argument, NULL, 'l'},
	{"port-file", required_argument, NULL, 'P'},
	{"api-key", required_argument, NULL, 'k'},
	{"op-delay-ms", required_argument, NULL, 'o'},
	{"rate-per-minute", required_argument, NULL, 'r'},
	{"burst-per-route", required_argument, NULL, 'b'},
	{"max-projects", required_argument, NULL, 'm'},
	{"time-scale", required_argument, NULL, 't'},
	{"recover-window", required_argument, NULL, 'w'},
	{"seed", required_argument, NULL, 's'},
	{"data", required_argument, NULL, 'd'},
	{"quiet", no_argument, NULL, 'q'},
	{"plan", required_argument, NULL, OPT_PLAN},
	{"require-org-id", no_argument, NULL, OPT_REQUIRE_ORG},
	{"org-id", required_argument, NULL, OPT_ORG},
	{"unavailable-rate", required_argument, NULL, OPT_UNAVAILABLE},
	{"op-retry-rate", required_argument, NULL, OPT_RETRY},
	{"op-fail-rate", required_argument, NULL, OPT_FAIL},
	{"activity", required_argument, NULL, OPT_ACTIVITY},
	{"activity-op-ms", required_argument, NULL, OPT_ACTIVITY_MS},
	{"version", no_argument, NULL, 'V'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* --listen HOST:PORT into host and cfg; "localhost" listens on 127.0.0.1.
 * 0, or -1 after an error message. */
static int parse_listen(const char *arg, sim_config *cfg, char host[HOST_MAX])
{
	int64_t v;
	const char *colon = strrchr(arg, ':');
	if (!colon || colon == arg || (size_t)(colon - arg) >= HOST_MAX || !parse_int(colon + 1, 0, 65535, &v))
		return fail("--listen wants HOST:PORT, like 127.0.0.1:4242, not '%s'", arg);
	memcpy(host, arg, (size_t)(colon - arg));
	host[colon - arg] = 0;
	cfg->listen_host = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
	cfg->listen_port = (int)v;
	return 0;
}

/* The flags of the sim's pace, size and clock (--op-delay-ms ..
 * --seed), option c with value arg, into cfg. 0, or -1 after an error
 * message. */
static int parse_pace(int c, const char *arg, sim_config *cfg)
{
	int64_t v;
	switch (c) {
	case 'o':
		if (!parse_int(arg, 0, 3600000, &cfg->op_delay_ms))
			return fail("--op-delay-ms wants milliseconds from 0 to 3600000, not '%s'", arg);
		break;
	case 'r':
		if (!parse_int(arg, 0, 100000000, &cfg->rate_per_minute))
			return fail("--rate-per-minute wants a number >= 0, not '%s'", arg);
		break;
	case 'b':
		if (!parse_int(arg, 0, 100000000, &cfg->burst_per_route))
			return fail("--burst-per-route wants a number >= 0, not '%s'", arg);
		break;
	case 'm':
		if (!parse_int(arg, 0, 100000000, &cfg->max_projects))
			return fail("--max-projects wants a number >= 0, not '%s'", arg);
		cfg->max_projects_set = true;
		break;
	case 't': {
		char *end;
		errno = 0;
		cfg->time_scale = strtod(arg, &end);
		if (errno || *end || cfg->time_scale <= 0 || cfg->time_scale > 1e6)
			return fail("--time-scale wants a number above 0, like 60, not '%s'", arg);
		break;
	}
	case 'w':
		if (unit_duration_parse(arg, false, &cfg->recover_window_s) != 0)
			return fail("--recover-window: %s", err_msg());
		break;
	case 's':
		if (!parse_int(arg, 0, INT64_MAX, &v))
			return fail("--seed wants a number >= 0, not '%s'", arg);
		cfg->seed = (uint64_t)v;
		break;
	}
	return 0;
}

/* Neon's harsher behaviours (--plan .. --activity-op-ms), option c named
 * name with value arg, into cfg; --org-id values go to orgs[(*norgs)++].
 * 0, or -1 after an error message. */
static int parse_harsh(int c, const char *name, const char *arg, sim_config *cfg, const char **orgs, size_t *norgs)
{
	switch (c) {
	case OPT_PLAN:
		if (!(cfg->plan = sim_plan_find(arg)))
			return fail("--plan wants %s, not '%s'", SIM_PLAN_NAMES, arg);
		break;
	case OPT_REQUIRE_ORG:
		cfg->require_org_id = true;
		break;
	case OPT_ORG:
		if (!sim_org_id_valid(arg))
			return fail("--org-id wants an id of 1 to 60 characters a-z, 0-9 and '-', not '%s'", arg);
		orgs[(*norgs)++] = arg;
		break;
	case OPT_UNAVAILABLE:
	case OPT_RETRY:
	case OPT_FAIL: {
		double *rate = c == OPT_UNAVAILABLE ? &cfg->unavailable_rate
			       : c == OPT_RETRY ? &cfg->op_retry_rate : &cfg->op_fail_rate;
		if (!parse_number(arg, 0, 1, rate))
			return fail("--%s wants a number from 0 to 1, not '%s'", name, arg);
		break;
	}
	case OPT_ACTIVITY:
		if (!parse_number(arg, 0, SIM_ACTIVITY_MAX, &cfg->activity_per_minute))
			return fail("--activity wants projects per minute from 0 to 1000000, not '%s'", arg);
		break;
	case OPT_ACTIVITY_MS:
		if (!parse_int(arg, 0, 3600000, &cfg->activity_op_ms))
			return fail("--activity-op-ms wants milliseconds from 0 to 3600000, not '%s'", arg);
		break;
	}
	return 0;
}

/*
 * Parse the flags into *cfg (which holds the defaults). keys and orgs, of
 * argc + 1 slots each and the caller's, take the --api-key and --org-id
 * values (or the defaults), and host the host of --listen. 0 to run, 1
 * after --help or --version, -1 after an error message.
 */
static int parse_flags(int argc, char **argv, sim_config *cfg, const char **keys, const char **orgs,
		       char host[HOST_MAX])
{
	size_t nkeys = 0, norgs = 0;
	int c;
	opterr = 0;
	int opt_index = 0;
	while ((c = getopt_long(argc, argv, "h", OPTS, &opt_index)) != -1) {
		int rc = 0;
		switch (c) {
		case 'l':
			rc = parse_listen(optarg, cfg, host);
			break;
		case 'P':
			cfg->port_file = optarg;
			break;
		case 'k':
			if (!*optarg)
				return fail("--api-key must not be empty");
			keys[nkeys++] = optarg;
			break;
		case 'o':
		case 'r':
		case 'b':
		case 'm':
		case 't':
		case 'w':
		case 's':
			rc = parse_pace(c, optarg, cfg);
			break;
		case OPT_PLAN:
		case OPT_REQUIRE_ORG:
		case OPT_ORG:
		case OPT_UNAVAILABLE:
		case OPT_RETRY:
		case OPT_FAIL:
		case OPT_ACTIVITY:
		case OPT_ACTIVITY_MS:
			rc = parse_harsh(c, OPTS[opt_index].name, optarg, cfg, orgs, &norgs);
			break;
		case 'd':
			cfg->data_file = optarg;
			break;
		case 'q':
			cfg->quiet = true;
			break;
		case 'h':
			fputs(USAGE, stdout);
			return 1;
		case 'V':
			printf("flotilla-sim %s%s%s%s\n", FLOTILLA_VERSION, FLOTILLA_COMMIT[0] ? " (git " : "",
			       FLOTILLA_COMMIT, FLOTILLA_COMMIT[0] ? ")" : "");
			return 1;
		default:
			return fail("unknown option '%s' (see flotilla-sim --help)", argv[optind - 1]);
		}
		if (rc != 0)
			return rc;
	}
	if (optind < argc)
		return fail("unexpected argument '%s' (see flotilla-sim --help)", argv[optind]);
	if (cfg->op_retry_rate + cfg->op_fail_rate > 1)
		return fail("--op-retry-rate and --op-fail-rate must add up to at most 1");
	if (!nkeys)
		keys[nkeys++] = "sim-key";
	if (!norgs)
		orgs[norgs++] = "org-flotilla-sim-00000001";
	cfg->api_keys = keys;
	cfg->napi_keys = nkeys;
	cfg->org_ids = orgs;
	cfg->norg_ids = norgs;
	return 0;
}

int main(int argc, char **argv)
{
	sim_config cfg = {
		.listen_host = "127.0.0.1",
		.listen_port = 4242,
		.op_delay_ms = 100,
		.rate_per_minute = 700,
		.burst_per_route = 40,
		.time_scale = 1.0,
		.seed = 1,
		.recover_window_s = 7 * 86400,
		.activity_op_ms = 1500,
	};
	const char **keys = xcalloc((size_t)argc + 1, sizeof(char *));
	const char **orgs = xcalloc((size_t)argc + 1, sizeof(char *));
	char host[HOST_MAX];
	int parsed = parse_flags(argc, argv, &cfg, keys, orgs, host);
	if (parsed != 0) {
		free(keys);
		free(orgs);
		return parsed < 0 ? 1 : 0;
	}

	/* A thread per connection would otherwise give each thread its own
	 * malloc arena, and the big list replies fragment them all: at 300k
	 * projects that is hundreds of MB of RSS for nothing. */
	mallopt(M_ARENA_MAX, 2);

	sim_store store;
	sim_server *srv = NULL;
	int rc = 1;
	if (sim_store_init(&store, &cfg) != 0) {
		free(keys);
		free(orgs);
		fail("%s", err_msg());
		return 1;
	}
	if (cfg.data_file && sim_persist_open(&store, cfg.data_file) != 0) {
		fail("%s", err_msg());
		goto done;
	}
	/* Block SIGTERM/SIGINT before anyone can learn the port: a signal sent
	 * as soon as the port file appears is then held, not lost. */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigset_t block, waitmask;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	/* counted before the server starts: from then on the store is the
	 * connection threads' (under its mutex) */
	size_t loaded = store.live + store.deleted;
	/* started after the signals are blocked, so the ticker inherits the
	 * mask and SIGTERM reaches sigsuspend below */
	pthread_mutex_lock(&store.mu);
	sim_activity_kick(&store);
	pthread_mutex_unlock(&store.mu);
	if (sim_server_start(&srv, &store) != 0) {
		fail("%s", err_msg());
		goto done;
	}
	int port = sim_server_port(srv);
	if (cfg.port_file) {
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s.tmp", cfg.port_file);
		FILE *f = fopen(tmp, "w");
		/* written whole, then renamed: a reader never sees half a number */
		if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 || rename(tmp, cfg.port_file) != 0) {
			fail("cannot write the port file '%s'", cfg.port_file);
			goto done;
		}
	}
	fprintf(stderr, "flotilla-sim listening on http://%s:%d/api/v2 (%zu projects loaded)\n", cfg.listen_host,
		port, loaded);

	/* wait with the signals unblocked only inside sigsuspend: a SIGTERM
	 * that arrives between the check and the wait is not lost */
	while (!stop)
		sigsuspend(&waitmask);
	rc = 0;
done:
	/* the server first: no request can start the ticker after it stops */
	sim_server_stop(srv);
	sim_activity_stop(&store);
	sim_persist_close(&store);
	sim_store_release(&store);
	free(keys);
	free(orgs);
	return rc;
}
