/*
 * main.c: flotilla-sim's command line: parse the flags of sim/CONTRACT.md,
 * load --data, listen, and run until SIGTERM or SIGINT.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/sim.h"

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
	"  --max-projects N         the plan's project limit (default 0: unlimited)\n"
	"  --time-scale X           run the sim clock X times faster, for suspend timeouts\n"
	"                           and consumption (default 1)\n"
	"  --recover-window DUR     deleted projects stay recoverable this long (default 7d)\n"
	"  --seed N                 seed for ids and injected faults (default 1)\n"
	"  --data FILE              keep state in this SQLite file across restarts\n"
	"                           (default: in memory only)\n"
	"  --quiet                  do not log each request\n"
	"  -h, --help               this help\n"
	"\n"
	"Stop it with SIGTERM or SIGINT.\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int fail(const char *fmt, const char *arg)
{
	fprintf(stderr, "flotilla-sim: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return 1;
}

static bool parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	return str_to_i64(s, out) == 0 && *out >= lo && *out <= hi;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
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
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	sim_config cfg = {
		.listen_host = "127.0.0.1",
		.listen_port = 4242,
		.op_delay_ms = 100,
		.rate_per_minute = 700,
		.burst_per_route = 40,
		.time_scale = 1.0,
		.seed = 1,
		.recover_window_s = 7 * 86400,
	};
	const char **keys = xcalloc((size_t)argc + 1, sizeof(char *));
	size_t nkeys = 0;
	char host[64];
	int64_t v;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': {
			const char *colon = strrchr(optarg, ':');
			if (!colon || colon == optarg || (size_t)(colon - optarg) >= sizeof(host) ||
			    !parse_int(colon + 1, 0, 65535, &v))
				return fail("--listen wants HOST:PORT, like 127.0.0.1:4242, not '%s'", optarg);
			memcpy(host, optarg, (size_t)(colon - optarg));
			host[colon - optarg] = 0;
			cfg.listen_host = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
			cfg.listen_port = (int)v;
			break;
		}
		case 'P':
			cfg.port_file = optarg;
			break;
		case 'k':
			if (!*optarg)
				return fail("--api-key must not be empty%s", "");
			keys[nkeys++] = optarg;
			break;
		case 'o':
			if (!parse_int(optarg, 0, 3600000, &cfg.op_delay_ms))
				return fail("--op-delay-ms wants milliseconds from 0 to 3600000, not '%s'", optarg);
			break;
		case 'r':
			if (!parse_int(optarg, 0, 100000000, &cfg.rate_per_minute))
				return fail("--rate-per-minute wants a number >= 0, not '%s'", optarg);
			break;
		case 'b':
			if (!parse_int(optarg, 0, 100000000, &cfg.burst_per_route))
				return fail("--burst-per-route wants a number >= 0, not '%s'", optarg);
			break;
		case 'm':
			if (!parse_int(optarg, 0, 100000000, &cfg.max_projects))
				return fail("--max-projects wants a number >= 0, not '%s'", optarg);
			break;
		case 't': {
			char *end;
			errno = 0;
			cfg.time_scale = strtod(optarg, &end);
			if (errno || *end || cfg.time_scale <= 0 || cfg.time_scale > 1e6)
				return fail("--time-scale wants a number above 0, like 60, not '%s'", optarg);
			break;
		}
		case 'w':
			if (unit_duration_parse(optarg, false, &cfg.recover_window_s) != 0)
				return fail("--recover-window: %s", err_msg());
			break;
		case 's':
			if (!parse_int(optarg, 0, INT64_MAX, &v))
				return fail("--seed wants a number >= 0, not '%s'", optarg);
			cfg.seed = (uint64_t)v;
			break;
		case 'd':
			cfg.data_file = optarg;
			break;
		case 'q':
			cfg.quiet = true;
			break;
		case 'h':
			fputs(USAGE, stdout);
			free(keys);
			return 0;
		default:
			free(keys);
			return fail("unknown option '%s' (see flotilla-sim --help)", argv[optind - 1]);
		}
	}
	if (optind < argc) {
		free(keys);
		return fail("unexpected argument '%s' (see flotilla-sim --help)", argv[optind]);
	}
	if (!nkeys)
		keys[nkeys++] = "sim-key";
	cfg.api_keys = keys;
	cfg.napi_keys = nkeys;

	/* A thread per connection would otherwise give each thread its own
	 * malloc arena, and the big list replies fragment them all: at 300k
	 * projects that is hundreds of MB of RSS for nothing. */
	mallopt(M_ARENA_MAX, 2);

	sim_store store;
	sim_server *srv = NULL;
	int rc = 1;
	if (sim_store_init(&store, &cfg) != 0) {
		free(keys);
		return fail("%s", err_msg());
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
	sim_server_stop(srv);
	sim_persist_close(&store);
	sim_store_release(&store);
	free(keys);
	return rc;
}
