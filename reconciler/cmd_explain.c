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
	"usage: flotilla explain TENANT [--dir DIR | --repo DIR [--ref REF]] [--format text|json]\n"
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
	"  --format FMT  text (default) or json: one object, every value with its\n"
	"                key, its text and where it came from\n"
	"  -h, --help    this help\n"
	"\n"
	"exit: 0 when shown; 1 when the tenant is unknown or the fleet has problems\n"
	"(they are printed on stderr; the merged spec is still shown when it can be).\n";

/* The tenant's merged spec on stdout, after the fleet's problems. */
typedef struct explain_req {
	const char *tenant;
	bool json;
} explain_req;

static int show(void *arg, const cli_source *src, spec_fleet *fleet, spec_diags *diags)
{
	const explain_req *rq = arg;
	const char *tenant = rq->tenant;
	size_t n = spec_diags_count(diags);
	if (n) {
		cli_print_diags(diags);
		fprintf(stderr, "flotilla explain: the fleet has %s problem%s (see above)\n", CLI_N(n), n == 1 ? "" : "s");
	}
	const spec_tenant *t = spec_fleet_tenant_find(fleet, tenant);
	if (!t) {
		if (src->repo)
			return cli_fail("explain", "no tenant named '%s' in %s at commit %.7s (%s tenants)", tenant,
					src->repo, src->sha, CLI_N(spec_fleet_tenant_count(fleet)));
		return cli_fail("explain", "no tenant named '%s' in %s (%s tenants)", tenant,
				src->dir ? src->dir : ".", CLI_N(spec_fleet_tenant_count(fleet)));
	}
	buf out = BUF_INIT(0);
	int rc = EXIT_ERROR;
	if ((rq->json ? spec_explain_render_json(fleet, t, &out) : spec_explain_render(fleet, t, &out)) == 0) {
		fwrite(out.data, 1, out.len, stdout);
		rc = n ? EXIT_ERROR : EXIT_OK;
	}
	buf_release(&out);
	return rc;
}

int cmd_explain(int argc, char **argv)
{
	static const struct option own[] = {
		{"format", required_argument, NULL, OPT_FORMAT},
		{NULL, 0, NULL, 0},
	};
	struct option *opts = cli_options(own, CLI_SOURCE);
	cli_source src = {0};
	explain_req rq = {0};
	const char *format = "text";
	int c;
	bool known = true;
	optind = 0;
	opterr = 0;
	while (known && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == OPT_FORMAT)
			format = optarg;
		else
			known = cli_source_take(&src, c, optarg);
	}
	if (!known) {
		int rc = cli_unknown_option("explain", argv[optind - 1], opts);
		free(opts);
		return rc;
	}
	free(opts);
	rq.json = strcmp(format, "json") == 0;
	if (!rq.json && strcmp(format, "text") != 0)
		return cli_fail("explain", "unknown format '%s' (text or json)", format);
	if (optind < argc)
		rq.tenant = argv[optind++];
	if (!rq.tenant)
		return cli_fail("explain", "which tenant? usage: flotilla explain TENANT [--dir DIR | --repo DIR]");
	if (optind < argc)
		return cli_fail("explain", "unexpected argument '%s'", argv[optind]);
	if (cli_source_check("explain", &src) != EXIT_OK)
		return EXIT_ERROR;
	return cli_source_run("explain", &src, show, &rq);
}
