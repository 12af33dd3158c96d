/*
 * cmd_state.c: `flotilla state`: what the state holds, and its upkeep.
 *   - copy FROM TO: move a state between backends (an SQLite file and a
 *     PostgreSQL schema, either way) or to a new place, verified
 *     (docs/state.md, "Backends"). The copy holds FROM's lease, so no run
 *     writes it meanwhile; TO must be new (empty). Leases are not copied.
 *     After the copy both are read again and every table compared
 *     (state_verify_same).
 *   - list, show TENANT: cmd_state_show.c.
 *   - forget TENANT: unmap a tenant, never touching its project (no API
 *     call at all), under the fleet lease, recorded in the run history
 *     and in the forgotten table that keeps `refresh --rebuild` from
 *     mapping the project again (docs/operations.md, "Forgetting an
 *     orphan").
 */
#include <getopt.h>
#include <string.h>

#include "reconciler/reconciler.h"

const char CMD_STATE_USAGE[] =
	"usage: flotilla state list [--state FILE|URL] [--format text|json]\n"
	"       flotilla state show TENANT [--state FILE|URL] [--format text|json]\n"
	"       flotilla state forget TENANT [--force] [--lock-timeout DUR] [--state FILE|URL]\n"
	"       flotilla state copy FROM TO [--lock-timeout DUR]\n"
	"\n"
	"What the state holds, offline (no API call):\n"
	"  list    every tenant the state maps: its project, fleet, region and Postgres\n"
	"          version (from the cache), sync state and reason, protect flag; counts\n"
	"          at the end. JSON: one document (docs/cli.md)\n"
	"  show    one tenant's rows: its mapping, sync state, the cached project row,\n"
	"          its branches, endpoints, databases and roles (names and settings;\n"
	"          the state never holds a password), its last journal rows, and what\n"
	"          state forget recorded. flotilla status TENANT is the summary\n"
	"  forget  unmap a tenant whose manifest is gone (an orphan, shown in every\n"
	"          plan): its project is left in Neon, untouched, and no plan shows it\n"
	"          again; refresh --rebuild never maps it again. Refused while the\n"
	"          tenant's manifest is in the last planned commit (the next plan\n"
	"          would adopt the project again), unless --force. A manifest for the\n"
	"          tenant later adopts the same project again, never a second one\n"
	"  copy    copy a whole state into a new one, then check that every table\n"
	"          holds the same rows on both sides. FROM and TO are each a state\n"
	"          file's path or a PostgreSQL location\n"
	"          (postgres://USER@HOST/DB?sslmode=…&schema=NAME); TO must not hold a\n"
	"          state yet. The copy holds FROM's lease, so no apply or daemon writes\n"
	"          it meanwhile; leases are not copied. FROM is left as it was: switch\n"
	"          your runs to TO (--state or FLOTILLA_STATE) once the copy is done\n"
	"\n"
	"options:\n"
	"  --state FILE|URL    the state: a file (default: .flotilla/state.db) or a\n"
	"                      postgres:// URL; FLOTILLA_STATE sets it too\n"
	"  --format FORMAT     list and show: text (default) or json\n"
	"  --force             forget: even though the manifest is still in git\n"
	"  --lock-timeout DUR  forget and copy: wait this long for the state's lease\n"
	"                      (default 0: fail at once)\n"
	"  -h, --help          this help\n"
	"\n"
	"exit: 0 done; 1 an error: no such tenant (with the nearest name), a forget\n"
	"refused, the lease held, or the state cannot be read (a copy leaves nothing\n"
	"half copied in TO).\n";

static int state_copy_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{"lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT},
		{NULL, 0, NULL, 0},
	};
	cli_opts o;
	cli_opts_init(&o);
	if (cli_opts_parse("state copy", argc, argv, opts, 0, &o, NULL, NULL) != EXIT_OK)
		return EXIT_ERROR;
	if (argc - optind != 2)
		return cli_fail("state copy", "give FROM and TO (see flotilla state --help)");
	const char *from_loc = argv[optind], *to_loc = argv[optind + 1];
	state *from = NULL, *to = NULL;
	state_copy_report rep;
	int rc = EXIT_ERROR;
	if (cli_state_open_existing("state copy", from_loc, &from) != EXIT_OK)
		return EXIT_ERROR;
	if (cli_lease_take("state copy", from, o.lock_timeout_s, "--lock-timeout waits for it") != EXIT_OK)
		goto done;
	if (cli_state_open("state copy", to_loc, &to) == EXIT_OK) {
		if (state_copy(from, to, &rep) != 0)
			cli_fail("state copy", "%s", err_msg());
		else {
			printf("copied %s rows from %s to %s; %d tables verified the same\n", CLI_N(rep.rows),
			       state_name(from), state_name(to), rep.tables);
			rc = EXIT_OK;
		}
	}
	if (state_lease_drop(from, "fleet") != 0)
		log_warn("state copy: cannot release the lease", "error", err_msg());
done:
	state_close(to);
	state_close(from);
	return rc;
}

/* What forget refuses and why, before it takes the lease: EXIT_OK to go on. */
static int forget_check(state *st, const char *tenant, bool force, char **manifest)
{
	state_tenant t;
	int rc = state_tenant_get(st, tenant, &t);
	*manifest = NULL;
	if (rc == ERR_NOTFOUND)
		return cli_tenant_unknown("state forget", st, tenant);
	if (rc != 0)
		return cli_fail("state forget", "%s", err_msg());
	state_tenant_release(&t);
	char *commit = NULL;
	rc = state_index_path(st, tenant, manifest);
	if (rc != 0 && rc != ERR_NOTFOUND)
		return cli_fail("state forget", "%s", err_msg());
	if (rc == ERR_NOTFOUND || force)
		return EXIT_OK;
	if (state_index_commit(st, &commit) != 0)
		commit = NULL;
	cli_fail("state forget", "tenant '%s' still has a manifest, %s, at commit %.12s (the last planned): the next "
				 "plan would adopt its project again by its annotations. Remove the manifest (and plan) first, "
				 "or forget it anyway with --force", tenant, *manifest, commit ? commit : "?");
	free(commit);
	free(*manifest);
	*manifest = NULL;
	return EXIT_ERROR;
}

typedef struct forget_opts {
	bool force;
} forget_opts;

static int forget_opt(void *arg, int c, const char *value)
{
	(void)value;
	if (c == 'f')
		((forget_opts *)arg)->force = true;
	return c == 'f';
}

static int state_forget_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{"force", no_argument, NULL, 'f'},
		{"state", required_argument, NULL, OPT_STATE},
		{"lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT},
		{NULL, 0, NULL, 0},
	};
	forget_opts f = {false};
	cli_opts o;
	cli_opts_init(&o);
	if (cli_opts_parse("state forget", argc, argv, opts, 0, &o, forget_opt, &f) != EXIT_OK)
		return EXIT_ERROR;
	const char *tenant = NULL;
	if (cli_tenant_arg("state forget", argc, argv, &tenant) != EXIT_OK)
		return EXIT_ERROR;
	state *st = NULL;
	if (cli_state_open_existing("state forget", o.state_path, &st) != EXIT_OK)
		return EXIT_ERROR;
	cli_run run = CLI_RUN_INIT;
	state_tenant was;
	memset(&was, 0, sizeof(was));
	char *manifest = NULL, *summary = NULL;
	int rc = EXIT_ERROR;
	if (forget_check(st, tenant, f.force, &manifest) != EXIT_OK ||
	    cli_lease_take("state forget", st, o.lock_timeout_s, "--lock-timeout waits for it") != EXIT_OK)
		goto done;
	run.leased = true;
	if (state_run_begin(st, "state forget", &run.id) != 0) {
		cli_fail("state forget", "%s", err_msg());
		goto done;
	}
	if (state_tenant_forget(st, tenant, run.id, &was) != 0) {
		/* checked above, but the lease came after: another run may have unmapped it */
		cli_fail("state forget", "%s", err_msg());
		goto done;
	}
	json_t *sum = json_pack("{s:s,s:s,s:s,s:b,s:o}", "tenant", was.tenant, "project_id", was.project_id, "fleet",
				was.fleet, "forced", f.force, "manifest", manifest ? json_string(manifest) : json_null());
	summary = json_dumps(sum, JSON_COMPACT);
	json_decref(sum);
	run.outcome = "ok";
	/* a project the last list did not show (deleted in Neon) is not
	 * adopted again: a manifest then makes a new one */
	state_project p;
	bool cached = state_project_get(st, was.project_id, &p) == 0;
	if (cached)
		state_project_release(&p);
	printf("forgot tenant '%s': unmapped from project %s, which is left in Neon untouched (no API call); recorded "
	       "as run %lld. Plans no longer show it; refresh --rebuild does not map it again; ", was.tenant,
	       was.project_id, (long long)run.id);
	if (cached)
		printf("a manifest for '%s' adopts %s again\n", was.tenant, was.project_id);
	else
		printf("a manifest for '%s' makes a new project (the last list did not show %s: deleted in Neon)\n",
		       was.tenant, was.project_id);
	rc = EXIT_OK;
done:
	cli_run_end("state forget", st, &run, summary);
	free(summary);
	free(manifest);
	state_tenant_release(&was);
	state_close(st);
	return rc;
}

int cmd_state(int argc, char **argv)
{
	static const char *const subs[] = {"list", "show", "forget", "copy"};
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(CMD_STATE_USAGE, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_ERROR : EXIT_OK;
	}
	if (strcmp(argv[1], "list") == 0)
		return cmd_state_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return cmd_state_show(argc - 1, argv + 1);
	if (strcmp(argv[1], "forget") == 0)
		return state_forget_cmd(argc - 1, argv + 1);
	if (strcmp(argv[1], "copy") == 0)
		return state_copy_cmd(argc - 1, argv + 1);
	const char *hint = str_suggest(argv[1], subs, ARRAY_LEN(subs));
	if (hint)
		return cli_fail("state", "unknown subcommand '%s'; did you mean '%s'? (see flotilla state --help)",
				argv[1], hint);
	return cli_fail("state", "unknown subcommand '%s': use list, show, forget or copy (see flotilla state --help)",
			argv[1]);
}
