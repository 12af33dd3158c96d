/*
 * cmd_validate.c: `flotilla validate`: load and check every manifest of a
 * directory, or of a commit of a git repository, offline (no state, no
 * API) and print all diagnostics at once.
 */
#include <getopt.h>
#include <string.h>

#include "reconciler/reconciler.h"
#include "spec/spec.h"

const char CMD_VALIDATE_USAGE[] =
	"usage: flotilla validate [--dir DIR | --repo DIR [--ref REF]] [--format text|json]\n"
	"\n"
	"Check the manifests of a directory: flotilla.yaml at its root, and every\n"
	"file its 'manifests' globs match. Every problem is printed, sorted, as\n"
	"  file:line:col: path: message\n"
	"No state file is read and no API call is made. When the fleet names its Neon\n"
	"plan (spec.neonPlan) or limits (spec.limits), the plan's limits are checked\n"
	"too: a tenant that breaks one is reported here, and blocked by plan.\n"
	"\n"
	"options:\n"
	"  --dir DIR          the manifest directory, as it is on disk (default: .)\n"
	"  --repo DIR         read the manifests from a commit of the git repository\n"
	"                     DIR instead; uncommitted changes are ignored\n"
	"  --ref REF          with --repo: the branch, tag or commit (default: HEAD)\n"
	"  --format FORMAT    text (default) or json (docs/cli.md describes the shape)\n"
	"  -h, --help         this help\n"
	"\n"
	"exit: 0 when the fleet is valid, 1 when it is not or cannot be read.\n";

/* The fleet's problems, all of them, as JSON when *arg, else as text. */
static int report(void *arg, const cli_source *src, spec_fleet *fleet, spec_diags *diags)
{
	bool json = *(const bool *)arg;
	buf out = BUF_INIT(0);
	int rc = EXIT_ERROR;
	/* the limits of the fleet's Neon plan, offline: plan blocks a tenant
	 * that breaks one, validate reports it */
	spec_fleet_check_limits(fleet, diags);
	size_t n = spec_diags_count(diags);
	if ((json ? spec_diags_render_json(diags, &out) : spec_diags_render_text(diags, &out)) != 0)
		goto done;
	fwrite(out.data ? out.data : "", 1, out.len, stdout);
	fflush(stdout); /* the summary follows the diagnostics on a terminal */
	if (!json) {
		size_t t = spec_fleet_tenant_count(fleet);
		if (n)
			fprintf(stderr, "%s problem%s in fleet '%s' (%s tenant%s)\n", CLI_N(n), n == 1 ? "" : "s",
				spec_fleet_name(fleet), CLI_N(t), t == 1 ? "" : "s");
		else
			fprintf(stderr, "fleet '%s' is valid: %s tenant%s\n", spec_fleet_name(fleet), CLI_N(t),
				t == 1 ? "" : "s");
		if (src->repo)
			fprintf(stderr, "at commit %.7s\n", src->sha);
	}
	rc = n ? EXIT_ERROR : EXIT_OK;
done:
	buf_release(&out);
	return rc;
}

int cmd_validate(int argc, char **argv)
{
	static const struct option own[] = {
		{"format", required_argument, NULL, OPT_FORMAT},
		{NULL, 0, NULL, 0},
	};
	struct option *opts = cli_options(own, CLI_SOURCE);
	cli_source src = {0};
	const char *format = "text";
	int c;
	bool known = true;
	optind = 0;
	opterr = 0;
	while (known && (c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c == OPT_FORMAT)
			format = optarg;
		else
			known = cli_source_take(&src, c, optarg);
	}
	if (!known) {
		int rc = cli_unknown_option("validate", argv[optind - 1], opts);
		free(opts);
		return rc;
	}
	free(opts);
	if (optind < argc)
		return cli_fail("validate", "unexpected argument '%s' (see flotilla validate --help)", argv[optind]);
	if (cli_source_check("validate", &src) != EXIT_OK)
		return EXIT_ERROR;
	bool json = strcmp(format, "json") == 0;
	if (!json && strcmp(format, "text") != 0)
		return cli_fail("validate", "unknown format '%s': use text or json", format);
	return cli_source_run("validate", &src, report, &json);
}
