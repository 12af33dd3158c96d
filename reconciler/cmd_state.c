/*
 * cmd_state.c: `flotilla state copy FROM TO`: move a state between
 * backends (an SQLite file and a PostgreSQL schema, either way) or to a
 * new place, verified (docs/state.md, "Backends").
 *
 * The copy holds FROM's lease, so no run writes it meanwhile; TO must be
 * new (empty). Leases are not copied. After the copy both are read again
 * and every table compared (state_verify_same).
 */
#include <getopt.h>
#include <string.h>

#include "reconciler/reconciler.h"

const char CMD_STATE_USAGE[] =
	"usage: flotilla state copy FROM TO [--lock-timeout DUR]\n"
	"\n"
	"Copy a whole state into a new one, then check that every table holds the\n"
	"same rows on both sides. FROM and TO are each a state file's path or a\n"
	"PostgreSQL location (postgres://USER@HOST/DB?sslmode=…&schema=NAME); TO must\n"
	"not hold a state yet. The copy holds FROM's lease, so no apply or daemon\n"
	"writes it meanwhile; leases are not copied. FROM is left as it was: switch\n"
	"your runs to TO (--state or FLOTILLA_STATE) once the copy is done.\n"
	"\n"
	"options:\n"
	"  --lock-timeout DUR  wait this long for FROM's lease (default 0: fail at once)\n"
	"  -h, --help          this help\n"
	"\n"
	"exit: 0 copied and verified; 1 an error (nothing is left half copied in TO).\n";

static int state_copy_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{"lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT},
		{NULL, 0, NULL, 0},
	};
	cli_opts o;
	cli_opts_init(&o);
	if (cli_opts_parse("state copy", argc, argv, opts, 0, &o, NULL, NULL) != EXIT_OK)
		return EXIT_ERROR;
	if (argc - optind != 2)
		return cli_fail("state copy", "give FROM and TO (see flotilla state --help)");
	const char *from_loc = argv[optind], *to_loc = argv[optind + 1];
	state *from = NULL, *to = NULL;
	state_copy_report rep;
	int rc = EXIT_ERROR;
	if (cli_state_open_existing("state copy", from_loc, &from) != EXIT_OK)
		return EXIT_ERROR;
	if (cli_lease_take("state copy", from, o.lock_timeout_s, "--lock-timeout waits for it") != EXIT_OK)
		goto done;
	if (cli_state_open("state copy", to_loc, &to) == EXIT_OK) {
		if (state_copy(from, to, &rep) != 0)
			cli_fail("state copy", "%s", err_msg());
		else {
			printf("copied %s rows from %s to %s; %d tables verified the same\n", CLI_N(rep.rows),
			       state_name(from), state_name(to), rep.tables);
			rc = EXIT_OK;
		}
	}
	if (state_lease_drop(from, "fleet") != 0)
		log_warn("state copy: cannot release the lease", "error", err_msg());
done:
	state_close(to);
	state_close(from);
	return rc;
}

int cmd_state(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(CMD_STATE_USAGE, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_ERROR : EXIT_OK;
	}
	if (strcmp(argv[1], "copy") == 0)
		return state_copy_cmd(argc - 1, argv + 1);
	return cli_fail("state", "unknown subcommand '%s': use copy (see flotilla state --help)", argv[1]);
}
