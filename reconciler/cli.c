/*
 * cli.c: what the commands share: error output, --help detection, and
 * loading a fleet from a manifest directory with its diagnostics.
 */
#include <string.h>

#include "reconciler/reconciler.h"

int cli_fail(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "flotilla %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_ERROR;
}

bool cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	}
	return false;
}

int cli_load_dir(const char *cmd, const char *dir, spec_fleet **fleet, spec_diags *diags)
{
	*fleet = NULL;
	spec_source *src = NULL;
	if (spec_source_dir_new(&src, dir) != 0)
		return cli_fail(cmd, "%s", err_msg());
	int rc = spec_fleet_load(fleet, src, diags);
	spec_source_dir_free(src);
	if (rc != 0)
		return cli_fail(cmd, "cannot read '%s': %s", dir, err_msg());
	return EXIT_OK;
}
