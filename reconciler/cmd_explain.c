/*
 * cmd_explain.c: `flotilla explain TENANT`: the tenant's merged spec with
 * the origin of every value (a tenant file line, a profile line, the fleet
 * defaults, or a built-in default), from a directory or a git commit.
 */
#include <getopt.h>
#include <string.h>

#include "reconciler/reconciler.h"
#include "spec/spec.h"

const char CMD_EXPLAIN_USAGE[] =
	"usage: flotilla explain TENANT [--dir DIR | --repo DIR [--ref REF]]\n"
	"\n"
	"Print TENANT's effective spec after merging built-in defaults < fleet\n"
	"defaults < profile < tenant, one value a line with where it came from:\n"
	"  tenants/acme.yaml:9              written in the tenant's manifest\n"
	"  profiles/pro.yaml:7              from its profile\n"
	"  flotilla.yaml:12 (defaults)      from the fleet's defaults\n"
	"  built-in default                 flotilla's (Neon's) default\n"
	"\n"
	"options:\n"
	"  --dir DIR     the manifest directory, as it is on disk (default: .)\n"
	"  --repo DIR    read the manifests from a commit of the git repository DIR\n"
	"                instead; uncommitted changes are ignored\n"
	"  --ref REF     with --repo: the branch, tag or commit (default: HEAD)\n"
	"  -h, --help    this help\n"
	"\n"
	"exit: 0 when shown; 1 when the tenant is unknown or the fleet has problems\n"
	"(they are printed on stderr; the merged spec is still shown when it can be).\n";

/* Load the fleet of commit `ref` (NULL: HEAD) of repository `repo`; its
 * 40-hex id goes to sha. EXIT_OK, or EXIT_ERROR after printing why. */

int cmd_explain(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"repo", required_argument, NULL, 'r'},
		{"ref", required_argument, NULL, 'R'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *repo = NULL, *ref = NULL, *tenant = NULL;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd')
			dir = optarg;
		else if (c == 'r')
			repo = optarg;
		else if (c == 'R')
			ref = optarg;
		else
			return cli_fail("explain", "unknown option '%s' (see flotilla explain --help)", argv[optind - 1]);
	}
	if (optind < argc)
		tenant = argv[optind++];
	if (!tenant)
		return cli_fail("explain", "which tenant? usage: flotilla explain TENANT [--dir DIR | --repo DIR]");
	if (optind < argc)
		return cli_fail("explain", "unexpected argument '%s'", argv[optind]);
	if (repo && dir)
		return cli_fail("explain", "--repo and --dir cannot be used together");
	if (ref && !repo)
		return cli_fail("explain", "--ref needs --repo");

	spec_fleet *fleet = NULL;
	spec_diags *diags = spec_diags_new();
	buf out = BUF_INIT(0);
	char sha[41] = "";
	int rc = repo ? cli_load_repo("explain", repo, ref, &fleet, diags, sha)
		      : cli_load_dir("explain", dir ? dir : ".", &fleet, diags);
	if (rc != EXIT_OK)
		goto done;
	rc = EXIT_ERROR;
	size_t n = spec_diags_count(diags);
	if (n) {
		buf d = BUF_INIT(0);
		if (spec_diags_render_text(diags, &d) == 0)
			fwrite(d.data, 1, d.len, stderr);
		buf_release(&d);
		fprintf(stderr, "flotilla explain: the fleet has %zu problem%s (see above)\n", n, n == 1 ? "" : "s");
	}
	const spec_tenant *t = spec_fleet_tenant_find(fleet, tenant);
	if (!t) {
		if (repo)
			rc = cli_fail("explain", "no tenant named '%s' in %s at commit %.7s (%zu tenants)", tenant,
				      repo, sha, spec_fleet_tenant_count(fleet));
		else
			rc = cli_fail("explain", "no tenant named '%s' in %s (%zu tenants)", tenant,
				      dir ? dir : ".", spec_fleet_tenant_count(fleet));
		goto done;
	}
	if (spec_explain_render(fleet, t, &out) != 0)
		goto done;
	fwrite(out.data, 1, out.len, stdout);
	rc = n ? EXIT_ERROR : EXIT_OK;
done:
	buf_release(&out);
	spec_fleet_free(fleet);
	spec_diags_free(diags);
	return rc;
}
