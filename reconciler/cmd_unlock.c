/*
 * cmd_unlock.c: `flotilla unlock --force`: remove the state file's lease
 * whoever holds it, for when its holder is gone for good on another
 * machine (on the same machine a dead holder's lease is taken over by the
 * next run anyway). The removal is recorded in the run history, with the
 * holder it removed and the reason given.
 */
#include <getopt.h>
#include <string.h>

#include "reconciler/reconciler.h"

const char CMD_UNLOCK_USAGE[] =
	"usage: flotilla unlock --force [--reason TEXT] [--state FILE|URL]\n"
	"\n"
	"Remove the state file's lease, whoever holds it, and record that in the run\n"
	"history (flotilla status shows it). Only for a holder that is gone for good:\n"
	"a live apply that loses its lease goes on writing, and a second one may then\n"
	"run beside it. On the holder's own machine a dead process's lease is taken\n"
	"over by the next run without this.\n"
	"\n"
	"options:\n"
	"  --force          required: you checked the holder is gone\n"
	"  --reason TEXT    why, for the record\n"
	"  --state FILE|URL\n"
	"                   the state: a file (default: .flotilla/state.db) or a\n"
	"                   postgres:// URL; FLOTILLA_STATE sets it too\n"
	"  -h, --help       this help\n"
	"\n"
	"exit: 0 removed; 1 an error, or nobody held the lease.\n";

typedef struct unlock_opts {
	const char *reason;
	bool force;
} unlock_opts;

static int unlock_opt(void *arg, int c, const char *value)
{
	unlock_opts *u = arg;
	if (c == 'f')
		u->force = true;
	else if (c == 'r')
		u->reason = value;
	return c == 'f' || c == 'r';
}

int cmd_unlock(int argc, char **argv)
{
	static const struct option opts[] = {
		{"force", no_argument, NULL, 'f'},
		{"reason", required_argument, NULL, 'r'},
		{"state", required_argument, NULL, OPT_STATE},
		{NULL, 0, NULL, 0},
	};
	unlock_opts u = {NULL, false};
	cli_opts o;
	cli_opts_init(&o);
	if (cli_opts_parse("unlock", argc, argv, opts, 0, &o, unlock_opt, &u) != EXIT_OK ||
	    cli_opts_extra("unlock", argc, argv) != EXIT_OK)
		return EXIT_ERROR;
	const char *reason = u.reason;
	bool force = u.force;
	if (!force)
		return cli_fail("unlock", "removing another run's lease needs --force (see flotilla unlock --help)");
	state *st = NULL;
	if (cli_state_open("unlock", o.state_path, &st) != EXIT_OK)
		return EXIT_ERROR;
	state_lease held;
	memset(&held, 0, sizeof(held));
	/* who held it, for the message: an acquire that fails names the holder */
	int probe = cli_lease_acquire(st, "fleet", 1, &held);
	if (probe == 0) {
		/* nobody held it (or a dead holder's lease was just taken over) */
		if (state_lease_drop(st, "fleet") != 0)
			log_warn("unlock: cannot drop the probe lease", "error", err_msg());
		state_close(st);
		return cli_fail("unlock", "nobody holds the lease (an expired or dead holder's lease is taken over by "
					  "the next run); nothing to do");
	}
	int rc = state_lease_break(st, "fleet", reason);
	if (rc != 0) {
		state_lease_release(&held);
		state_close(st);
		return cli_fail("unlock", "%s", err_msg());
	}
	printf("unlocked: removed the lease of pid %lld on %s; recorded in the run history\n", (long long)held.pid,
	       held.host ? held.host : "?");
	state_lease_release(&held);
	state_close(st);
	return EXIT_OK;
}
