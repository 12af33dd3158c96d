/*
 * options.c: the options several commands share, parsed in one place so
 * that one option has one name, one meaning and one error message on
 * every command: where the state file is, how the API is reached, which
 * commit is planned and how, how many tenants go at once, and whether to
 * ask. A command names the groups it takes (CLI_API, ...) next to its own
 * getopt_long rows, and hands every value its own switch does not know to
 * cli_opts_take.
 */
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "reconciler/reconciler.h"

/* Every shared option, with the groups that take it. */
static const struct shared_opt {
	struct option opt;
	unsigned groups;
} shared[] = {
	{{"state", required_argument, NULL, OPT_STATE}, CLI_API},
	{{"api-url", required_argument, NULL, OPT_API_URL}, CLI_API},
	{{"api-key-file", required_argument, NULL, OPT_API_KEY_FILE}, CLI_API},
	{{"rate", required_argument, NULL, OPT_RATE}, CLI_API},
	{{"repo", required_argument, NULL, OPT_REPO}, CLI_COMMIT | CLI_SOURCE},
	{{"dir", required_argument, NULL, OPT_REPO}, CLI_COMMIT},
	{{"dir", required_argument, NULL, OPT_DIR}, CLI_SOURCE},
	{{"ref", required_argument, NULL, OPT_REF}, CLI_COMMIT | CLI_SOURCE},
	{{"refresh", required_argument, NULL, OPT_REFRESH}, CLI_PLAN},
	{{"select", required_argument, NULL, OPT_SELECT}, CLI_PLAN},
	{{"changed-since", required_argument, NULL, OPT_SINCE}, CLI_PLAN},
	{{"verbose", no_argument, NULL, OPT_VERBOSE}, CLI_PLAN},
	{{"parallel", required_argument, NULL, OPT_PARALLEL}, CLI_WRITE},
	{{"secrets-dir", required_argument, NULL, OPT_SECRETS_DIR}, CLI_WRITE},
	{{"lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT}, CLI_WRITE},
	{{"color", required_argument, NULL, OPT_COLOR}, CLI_COLOR},
};
#define NSHARED (sizeof(shared) / sizeof(shared[0]))

struct option *cli_options(const struct option *own, unsigned groups)
{
	size_t n = 0, k = 0;
	while (own && own[n].name)
		n++;
	struct option *all = xcalloc(n + NSHARED + 1, sizeof(*all));
	for (; k < n; k++)
		all[k] = own[k];
	for (size_t i = 0; i < NSHARED; i++)
		if (shared[i].groups & groups)
			all[k++] = shared[i].opt;
	return all; /* xcalloc left the zero row */
}

void cli_opts_init(cli_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->format = "text";
	o->color = "auto";
	o->parallel = 8;
	o->rq = (plan_req){.repo = ".", .mode = "auto", .max_deletes = -1, .record = PLAN_RECORD_PLAN};
}

static int plan_opt(cli_opts *o, const char **field, const char *arg)
{
	*field = arg;
	o->planning = true;
	return 1;
}

int cli_opts_take(const char *cmd, cli_opts *o, int c, const char *arg)
{
	char *end = NULL;
	switch (c) {
	case OPT_STATE: o->state_path = arg; return 1;
	case OPT_API_URL: o->api.url = arg; return 1;
	case OPT_API_KEY_FILE: o->api.key_file = arg; return 1;
	case OPT_FORMAT: o->format = arg; return 1;
	case OPT_SECRETS_DIR: o->secrets_dir = arg; return 1;
	case OPT_AUTO_APPROVE: o->auto_approve = true; return 1;
	case OPT_VERBOSE: o->rq.verbose = true; return 1;
	case OPT_REPO: return plan_opt(o, &o->rq.repo, arg);
	case OPT_REF: return plan_opt(o, &o->rq.ref, arg);
	case OPT_SELECT: return plan_opt(o, &o->rq.select, arg);
	case OPT_SINCE: return plan_opt(o, &o->rq.since, arg);
	case OPT_COLOR:
		if (strcmp(arg, "auto") != 0 && strcmp(arg, "always") != 0 && strcmp(arg, "never") != 0)
			return cli_fail(cmd, "--color must be auto, always or never, not '%s'", arg), -1;
		o->color = arg;
		return 1;
	case OPT_REFRESH:
		if (strcmp(arg, "auto") != 0 && strcmp(arg, "full") != 0 && strcmp(arg, "none") != 0)
			return cli_fail(cmd, "--refresh must be auto, full or none, not '%s'", arg), -1;
		return plan_opt(o, &o->rq.mode, arg);
	case OPT_RATE:
		o->api.rate = strtod(arg, &end);
		if (*end || o->api.rate <= 0 || o->api.rate > 10000)
			return cli_fail(cmd, "--rate wants requests per second above 0, like 10, not '%s'", arg), -1;
		return 1;
	case OPT_PARALLEL:
		o->parallel = (int)strtol(arg, &end, 10);
		if (*end || o->parallel < 1 || o->parallel > 256)
			return cli_fail(cmd, "--parallel wants a number of tenants from 1 to 256, not '%s'", arg), -1;
		return 1;
	case OPT_LOCK_TIMEOUT:
		if (unit_duration_parse(arg, false, &o->lock_timeout_s) != 0)
			return cli_fail(cmd, "--lock-timeout wants a duration like 30s or 5m, not '%s'", arg), -1;
		return 1;
	default:
		return 0;
	}
}

bool cli_color(const cli_opts *o)
{
	if (strcmp(o->color, "always") == 0)
		return true;
	if (strcmp(o->color, "never") == 0)
		return false;
	const char *no = getenv("NO_COLOR");
	return !(no && no[0]) && isatty(STDOUT_FILENO);
}

cli_mark_str cli_mark(char mark, bool color)
{
	cli_mark_str m;
	if (color && plan_mark_color(mark)[0])
		snprintf(m.s, sizeof(m.s), "%s%c%s", plan_mark_color(mark), mark, PLAN_COLOR_RESET);
	else
		snprintf(m.s, sizeof(m.s), "%c", mark);
	return m;
}

int cli_opts_parse(const char *cmd, int argc, char **argv, const struct option *opts, unsigned groups, cli_opts *o,
		   cli_own_opt own, void *arg)
{
	struct option *all = cli_options(opts, groups);
	int c, rc = EXIT_OK;
	optind = 0;
	opterr = 0;
	while (rc == EXIT_OK && (c = getopt_long(argc, argv, "", all, NULL)) != -1) {
		int r = cli_opts_take(cmd, o, c, optarg);
		if (r == 0 && own)
			r = own(arg, c, optarg);
		if (r < 0)
			rc = EXIT_ERROR;
		/* getopt_long leaves the offending word just before optind */
		else if (r == 0)
			rc = cli_unknown_option(cmd, argv[optind - 1], all);
	}
	free(all);
	return rc;
}

int cli_opts_extra(const char *cmd, int argc, char **argv)
{
	if (optind < argc)
		return cli_fail(cmd, "unexpected argument '%s' (see flotilla %s --help)", argv[optind], cmd);
	return EXIT_OK;
}

int cli_tenant_arg(const char *cmd, int argc, char **argv, const char **tenant)
{
	if (optind >= argc)
		return cli_fail(cmd, "give a TENANT (flotilla state list lists them)");
	*tenant = argv[optind++];
	return cli_opts_extra(cmd, argc, argv);
}
