/*
 * reconciler.h: the one header of reconciler/, the top of flotilla: the
 * command table and the commands (one file each, `cmd_*.c`). Commands
 * parse their own options, print, and choose the exit code; the library
 * folders below never print.
 */
#ifndef FLOTILLA_RECONCILER_H
#define FLOTILLA_RECONCILER_H

#include "spec/spec.h"
#include "util/util.h"

/* Exit codes (DESIGN.md, "CLI"). */
enum {
	EXIT_OK = 0,
	EXIT_ERROR = 1,
	EXIT_CHANGES = 2,
	EXIT_PARTIAL = 3,
	EXIT_BLOCKED = 4,
};

typedef struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary; /* one line for `flotilla --help` */
	const char *usage;   /* full text for `flotilla CMD --help` */
} command;

int cmd_validate(int argc, char **argv);
int cmd_explain(int argc, char **argv);

extern const char CMD_VALIDATE_USAGE[];
extern const char CMD_EXPLAIN_USAGE[];

/* Print "flotilla CMD: message" on stderr; returns EXIT_ERROR. */
int cli_fail(const char *cmd, const char *fmt, ...) PRINTF(2, 3);
/* True when argv holds -h or --help (before any "--"). */
bool cli_wants_help(int argc, char **argv);
/* Load the fleet in manifest directory `dir`; problems of the manifests go
 * to `diags`. EXIT_OK with *fleet set, or EXIT_ERROR after printing why the
 * directory could not be read. */
int cli_load_dir(const char *cmd, const char *dir, spec_fleet **fleet, spec_diags *diags);

#endif
