/*
 * cmd_validate.c: `flotilla validate`: load and check every manifest of a
 * directory offline (no state, no API) and print all diagnostics at once.
 */
#include <getopt.h>
#include <string.h>

#include "reconciler/reconciler.h"
#include "spec/spec.h"

const char CMD_VALIDATE_USAGE[] =
	"usage: flotilla validate [--dir DIR] [--format text|json]\n"
	"\n"
	"Check the manifests of a directory: flotilla.yaml at its root, and every\n"
	"file its 'manifests' globs match. Every problem is printed, sorted, as\n"
	"  file:line:col: path: message\n"
	"No state file is read and no API call is made.\n"
	"\n"
	"options:\n"
	"  --dir DIR          the manifest directory (default: .)\n"
	"  --format FORMAT    text (default) or json (docs/cli.md describes the shape)\n"
	"  -h, --help         this help\n"
	"\n"
	"exit: 0 when the fleet is valid, 1 when it is not or cannot be read.\n";

int cmd_validate(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"format", required_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = ".", *format = "text";
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'f':
			format = optarg;
			break;
		default:
			return cli_fail("validate", "unknown option '%s' (see flotilla validate --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_fail("validate", "unexpected argument '%s' (see flotilla validate --help)", argv[optind]);
	bool json = strcmp(format, "json") == 0;
	if (!json && strcmp(format, "text") != 0)
		return cli_fail("validate", "unknown format '%s': use text or json", format);

	spec_fleet *fleet = NULL;
	spec_diags *diags = spec_diags_new();
	buf out = BUF_INIT(0);
	int rc = cli_load_dir("validate", dir, &fleet, diags);
	if (rc != EXIT_OK)
		goto done;
	rc = EXIT_ERROR;
	size_t n = spec_diags_count(diags);
	if ((json ? spec_diags_render_json(diags, &out) : spec_diags_render_text(diags, &out)) != 0)
		goto done;
	fwrite(out.data ? out.data : "", 1, out.len, stdout);
	fflush(stdout); /* the summary follows the diagnostics on a terminal */
	if (!json) {
		size_t t = spec_fleet_tenant_count(fleet);
		if (n)
			fprintf(stderr, "%zu problem%s in fleet '%s' (%zu tenant%s)\n", n, n == 1 ? "" : "s",
				spec_fleet_name(fleet), t, t == 1 ? "" : "s");
		else
			fprintf(stderr, "fleet '%s' is valid: %zu tenant%s\n", spec_fleet_name(fleet), t,
				t == 1 ? "" : "s");
	}
	rc = n ? EXIT_ERROR : EXIT_OK;
done:
	buf_release(&out);
	spec_fleet_free(fleet);
	spec_diags_free(diags);
	return rc;
}
