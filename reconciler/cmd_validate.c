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

/* Load the fleet of commit `ref` (NULL: HEAD) of repository `repo`; its
 * 40-hex id goes to sha. EXIT_OK, or EXIT_ERROR after printing why. */

int cmd_validate(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"repo", required_argument, NULL, 'r'},
		{"ref", required_argument, NULL, 'R'},
		{"format", required_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *repo = NULL, *ref = NULL, *format = "text";
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'r':
			repo = optarg;
			break;
		case 'R':
			ref = optarg;
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
	if (repo && dir)
		return cli_fail("validate", "--repo and --dir cannot be used together");
	if (ref && !repo)
		return cli_fail("validate", "--ref needs --repo");
	bool json = strcmp(format, "json") == 0;
	if (!json && strcmp(format, "text") != 0)
		return cli_fail("validate", "unknown format '%s': use text or json", format);

	spec_fleet *fleet = NULL;
	spec_diags *diags = spec_diags_new();
	buf out = BUF_INIT(0);
	char sha[41] = "";
	int rc = repo ? cli_load_repo("validate", repo, ref, &fleet, diags, sha)
		      : cli_load_dir("validate", dir ? dir : ".", &fleet, diags);
	if (rc != EXIT_OK)
		goto done;
	rc = EXIT_ERROR;
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
			fprintf(stderr, "%zu problem%s in fleet '%s' (%zu tenant%s)\n", n, n == 1 ? "" : "s",
				spec_fleet_name(fleet), t, t == 1 ? "" : "s");
		else
			fprintf(stderr, "fleet '%s' is valid: %zu tenant%s\n", spec_fleet_name(fleet), t,
				t == 1 ? "" : "s");
		if (repo)
			fprintf(stderr, "at commit %.7s\n", sha);
	}
	rc = n ? EXIT_ERROR : EXIT_OK;
done:
	buf_release(&out);
	spec_fleet_free(fleet);
	spec_diags_free(diags);
	return rc;
}
