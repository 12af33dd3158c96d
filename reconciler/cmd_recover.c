/*
 * cmd_recover.c: `flotilla recover TENANT`: bring back the project a
 * prune deleted, within Neon's recovery window (7 days), and map the
 * tenant to it again (engine/recover.c does the work). It shows what it
 * will do and asks first, like apply; it never makes a second project,
 * and refuses a tenant whose manifest is gone (the project would come
 * back an orphan) unless --force. After it, plan and apply converge the
 * tenant (docs/lifecycle.md, "Recover a deleted tenant").
 */
#include <getopt.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "reconciler/reconciler.h"

const char CMD_RECOVER_USAGE[] =
	"usage: flotilla recover TENANT [--project ID] [--force] [--auto-approve]\n"
	"                        [--repo DIR] [--ref REF] [--state FILE|URL]\n"
	"                        [--api-url URL] [--api-key-file FILE] [--rate R]\n"
	"                        [--lock-timeout DUR]\n"
	"\n"
	"Bring back a tenant's project that flotilla deleted (a prune), while Neon\n"
	"can still recover it (7 days after the delete), and map the tenant to it\n"
	"again. The project is the one the tenant's last delete in the state's\n"
	"journal names, or --project's; it must be in Neon's recoverable list\n"
	"(GET /projects?recoverable=true). It shows the project, when it was deleted\n"
	"and until when it can be recovered, and asks first. Then flotilla plan and\n"
	"apply converge the tenant to its manifest: put the manifest back in git\n"
	"first (the plan manages only tenants with a manifest).\n"
	"\n"
	"Refused: a tenant that has a project already (never a second one), a\n"
	"project that is live or mapped to another tenant, one past the recovery\n"
	"window, and a tenant without a manifest at REF (it would come back an\n"
	"orphan) unless --force.\n"
	"\n"
	"options:\n"
	"  --project ID          the deleted project to recover (default: the one the\n"
	"                        journal's last delete of TENANT names)\n"
	"  --force               recover even though TENANT has no manifest at REF\n"
	"  --auto-approve        act without asking (needed when stdin is not a terminal)\n"
	"  --repo DIR            the manifest repository (default: .); --dir is the same\n"
	"  --ref REF             the commit whose manifests count (default: HEAD)\n"
	"  --state FILE|URL      the state: a file (default: .flotilla/state.db) or a\n"
	"                        postgres:// URL; FLOTILLA_STATE sets it too\n"
	"  --api-url URL         the Neon API (default: NEON_API_HOST, else Neon's)\n"
	"  --api-key-file FILE   the API key's file (default: NEON_API_KEY)\n"
	"  --rate R              API requests per second (default 10)\n"
	"  --lock-timeout DUR    wait this long for the state's lease (default 0)\n"
	"  -h, --help            this help\n"
	"\n"
	"exit: 0 recovered (or not confirmed: nothing done); 1 an error or a refusal,\n"
	"with what to do.\n";

typedef struct recover_opts {
	cli_opts o;
	const char *tenant, *project_id;
	bool force;
} recover_opts;

static int recover_opt(void *arg, int c, const char *value)
{
	recover_opts *r = arg;
	if (c == 'p')
		r->project_id = value;
	else if (c == 'f')
		r->force = true;
	return c == 'p' || c == 'f';
}

static int parse(int argc, char **argv, recover_opts *r)
{
	static const struct option opts[] = {
		{"project", required_argument, NULL, 'p'},
		{"force", no_argument, NULL, 'f'},
		{"auto-approve", no_argument, NULL, OPT_AUTO_APPROVE},
		{"lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT},
		{NULL, 0, NULL, 0},
	};
	memset(r, 0, sizeof(*r));
	cli_opts_init(&r->o);
	r->o.rq.ref = "HEAD";
	r->o.rq.mode = "none";
	if (cli_opts_parse("recover", argc, argv, opts, CLI_API | CLI_COMMIT, &r->o, recover_opt, r) != EXIT_OK)
		return EXIT_ERROR;
	return cli_tenant_arg("recover", argc, argv, &r->tenant);
}

/* What will be done, before asking. */
static void show(const char *tenant, const recover_target *t, bool manifest)
{
	printf("Recover tenant '%s':\n", tenant);
	printf("  project      %s (named %s)\n", t->project_id, t->name);
	printf("  deleted at   %s%s\n", t->deleted_at ? t->deleted_at : "?",
	       t->from_journal ? " (by flotilla: the journal's last delete of the tenant)" : " (named by --project)");
	printf("  recoverable  until %s\n", t->recoverable_until ? t->recoverable_until : "?");
	printf("  then         tenant '%s' mapped to %s again%s\n", tenant, t->project_id,
	       manifest ? "; plan and apply converge it to its manifest"
			: "; it has NO manifest (--force): plans will show it as an orphan");
}

int cmd_recover(int argc, char **argv)
{
	recover_opts r;
	if (parse(argc, argv, &r) != EXIT_OK)
		return EXIT_ERROR;
	if (!r.o.auto_approve && !isatty(STDIN_FILENO))
		return cli_fail("recover", "stdin is not a terminal, so recover cannot ask; pass --auto-approve");
	state *st = NULL;
	neon_client *client = NULL;
	planning pl;
	memset(&pl, 0, sizeof(pl));
	recover_target t;
	memset(&t, 0, sizeof(t));
	cli_run run = CLI_RUN_INIT;
	int rc = EXIT_ERROR;
	char *summary = NULL;

	if (cli_state_open_existing("recover", r.o.state_path, &st) != EXIT_OK)
		goto done;
	if (planning_load(&r.o.rq, st, &pl) != 0) {
		cli_planning_fail("recover", &pl);
		goto done;
	}
	const spec_fleet *f = pl.fl.fleet;
	bool manifest = spec_fleet_tenant_find(f, r.tenant) != NULL;
	if (!manifest && !r.force) {
		cli_fail("recover", "tenant '%s' has no manifest at %s: recovered, its project would be an orphan that no "
				    "plan manages. Put tenants/%s.yaml (or wherever it was) back in git first, or recover "
				    "it anyway with --force", r.tenant, r.o.rq.ref, r.tenant);
		goto done;
	}
	if (cli_client_open("recover", &r.o.api, &client) != EXIT_OK ||
	    cli_lease_take("recover", st, r.o.lock_timeout_s, "--lock-timeout waits for it") != EXIT_OK)
		goto done;
	run.leased = true;
	neon_client_set_org(client, spec_fleet_org_id(f));
	if (recover_find(st, client, r.tenant, r.project_id, &t) != 0) {
		cli_fail("recover", "%s", err_msg());
		goto done;
	}
	show(r.tenant, &t, manifest);
	if (!r.o.auto_approve && !cli_confirm("Recover this project?")) {
		fprintf(stderr, "recover: not confirmed; nothing was changed\n");
		rc = EXIT_OK;
		goto done;
	}
	if (state_run_begin(st, "recover", &run.id) != 0) {
		cli_fail("recover", "%s", err_msg());
		goto done;
	}
	if (recover_run(st, client, run.id, r.tenant, spec_fleet_name(f), &t) != 0) {
		cli_fail("recover", "%s", err_msg());
		goto done;
	}
	json_t *sum = json_pack("{s:s,s:s,s:b}", "tenant", r.tenant, "project_id", t.project_id, "forced", r.force);
	summary = json_dumps(sum, JSON_COMPACT);
	json_decref(sum);
	run.outcome = "ok";
	printf("recovered project %s; tenant '%s' is mapped to it again (run %lld). Run flotilla plan, then apply, to "
	       "converge it to its manifest\n", t.project_id, r.tenant, (long long)run.id);
	rc = EXIT_OK;
done:
	cli_run_end("recover", st, &run, summary);
	free(summary);
	recover_target_release(&t);
	planning_release(&pl);
	neon_client_free(client);
	state_close(st);
	return rc;
}
