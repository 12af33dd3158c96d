/*
 * main.c: flotilla's entry point. It finds the command in the table and
 * hands it the rest of argv; each command owns its options and exit code.
 */
#include <string.h>

#include "reconciler/reconciler.h"

#include "util/version.h"

static const command COMMANDS[] = {
	{"validate", cmd_validate, "check the manifests of a directory offline", CMD_VALIDATE_USAGE},
	{"explain", cmd_explain, "show a tenant's merged spec and where each value came from", CMD_EXPLAIN_USAGE},
	{"refresh", cmd_refresh, "read the live fleet into the state file, list first", CMD_REFRESH_USAGE},
	{"plan", cmd_plan, "show what apply would change, with the exact API calls", CMD_PLAN_USAGE},
	{"adopt", cmd_adopt, "take over projects that exist already (by name or flotilla's marks)", CMD_ADOPT_USAGE},
	{"apply", cmd_apply, "make the live fleet what the manifests say (a plan, then its calls)", CMD_APPLY_USAGE},
	{"daemon", cmd_daemon, "keep the fleet equal to git: fetch, plan, apply, heal drift; metrics", CMD_DAEMON_USAGE},
	{"unlock", cmd_unlock, "remove the state file's lease when its holder is gone for good", CMD_UNLOCK_USAGE},
	{"status", cmd_status, "show what the state file knows about the fleet or a tenant", CMD_STATUS_USAGE},
	{"state", cmd_state, "list, show or forget what the state maps; copy it, verified", CMD_STATE_USAGE},
	{"restore", cmd_restore, "restore a tenant's branch to an earlier point, keeping a preserved branch", CMD_RESTORE_USAGE},
	{"connection-string", cmd_connection_string, "print a tenant's database connection URI (fetched, never stored)",
	 CMD_CONNECTION_STRING_USAGE},
	{"recover", cmd_recover, "bring back a tenant's project a prune deleted (Neon's 7-day window)", CMD_RECOVER_USAGE},
	{"usage", cmd_usage, "show each tenant's compute, storage, transfer and cost estimate", CMD_USAGE_USAGE},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: flotilla COMMAND [options]\n\n"
		     "flotilla keeps a fleet of Neon Postgres projects, one per tenant, equal to\n"
		     "the manifests in a git repository.\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_LEN(COMMANDS); i++)
		fprintf(out, "  %-18s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
	fprintf(out, "\nRun 'flotilla COMMAND --help' for a command's options.\n"
		     "Exit codes: 0 ok, 1 error, 2 changes present, 3 partial apply, 4 blocked.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_ERROR;
	}
	const char *name = argv[1];
	if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
		if (argc > 2)
			for (size_t i = 0; i < ARRAY_LEN(COMMANDS); i++)
				if (strcmp(COMMANDS[i].name, argv[2]) == 0) {
					fputs(COMMANDS[i].usage, stdout);
					return EXIT_OK;
				}
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
		printf("flotilla %s%s%s%s\n", FLOTILLA_VERSION, FLOTILLA_COMMIT[0] ? " (git " : "", FLOTILLA_COMMIT,
		       FLOTILLA_COMMIT[0] ? ")" : "");
		return EXIT_OK;
	}
	for (size_t i = 0; i < ARRAY_LEN(COMMANDS); i++) {
		if (strcmp(COMMANDS[i].name, name) != 0)
			continue;
		if (cli_wants_help(argc - 1, argv + 1)) {
			fputs(COMMANDS[i].usage, stdout);
			return EXIT_OK;
		}
		cli_report_install(COMMANDS[i].name);
		return COMMANDS[i].run(argc - 1, argv + 1);
	}
	const char *names[ARRAY_LEN(COMMANDS) + 1];
	for (size_t i = 0; i < ARRAY_LEN(COMMANDS); i++)
		names[i] = COMMANDS[i].name;
	names[ARRAY_LEN(COMMANDS)] = "help";
	const char *hint = str_suggest(name, names, ARRAY_LEN(names));
	if (hint)
		fprintf(stderr, "flotilla: unknown command '%s'; did you mean '%s'?\n\n", name, hint);
	else
		fprintf(stderr, "flotilla: unknown command '%s'\n\n", name);
	usage(stderr);
	return EXIT_ERROR;
}
