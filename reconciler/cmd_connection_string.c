/*
 * cmd_connection_string.c: `flotilla connection-string TENANT`: a
 * database's connection URI, fetched from Neon on demand
 * (GET /projects/{id}/connection_uri) and printed to stdout, alone.
 *
 * The URI holds the role's password, so it goes to stdout and nowhere
 * else: not the state, the journal, the run history or a log line (this
 * command records no run). The tenant's project comes from the state's
 * map; the database and role default from the cached deep read of the
 * project (the branch's only database, and its owner), and when they
 * cannot be chosen from it the command says which to give.
 */
#include <getopt.h>
#include <string.h>

#include "reconciler/reconciler.h"

const char CMD_CONNECTION_STRING_USAGE[] =
	"usage: flotilla connection-string TENANT [--database DB] [--role ROLE]\n"
	"                                  [--branch BRANCH] [--pooled] [--state FILE|URL]\n"
	"                                  [--api-url URL] [--api-key-file FILE] [--rate R]\n"
	"\n"
	"Print a connection URI of the tenant's project to stdout, and nothing else,\n"
	"fetched from Neon (GET /projects/{id}/connection_uri). It holds the role's\n"
	"password: flotilla never stores, logs or records it. The project comes from\n"
	"the state's tenant map; the database and role default from the state's deep\n"
	"read of the project: the branch's database when it has one only, and its\n"
	"owner (flotilla refresh --full reads it).\n"
	"\n"
	"options:\n"
	"  --database DB        the database (default: the branch's only database)\n"
	"  --role ROLE          the role (default: the database's owner)\n"
	"  --branch BRANCH      a branch name or id (default: the default branch)\n"
	"  --pooled             the pooler's host (connection pooling)\n"
	"  --state FILE|URL     the state: a file (default: .flotilla/state.db) or a\n"
	"                       postgres:// URL; FLOTILLA_STATE sets it too\n"
	"  --api-url URL        the API (default: $NEON_API_HOST, else\n"
	"                       https://console.neon.tech/api/v2)\n"
	"  --api-key-file FILE  read the API key from FILE (default: $NEON_API_KEY)\n"
	"  --rate R             requests per second (default 10)\n"
	"  -h, --help           this help\n"
	"\n"
	"exit: 0 printed; 1 an error (no such tenant, project, branch, database or\n"
	"role; a database or role that cannot be chosen; the API failed).\n";

#define CMD "connection-string"

typedef struct conn_opts {
	const char *database, *role, *branch;
	bool pooled;
} conn_opts;

static int conn_opt(void *arg, int c, const char *value)
{
	conn_opts *x = arg;
	switch (c) {
	case 'd': x->database = value; return 1;
	case 'r': x->role = value; return 1;
	case 'b': x->branch = value; return 1;
	case 'p': x->pooled = true; return 1;
	default: return 0;
	}
}

/* Fill the database and role the user left out from the deep read, on
 * branch b: EXIT_OK, or EXIT_ERROR after saying what to give. */
static int pick_names(const char *project_id, const state_deep *d, const state_branch *b, conn_opts *x)
{
	const char *only = NULL, *owner = NULL;
	size_t n = 0;
	buf names = BUF_INIT(0);
	int rc = EXIT_OK;
	for (size_t i = 0; i < d->ndatabases; i++) {
		const state_database *db = &d->databases[i];
		if (strcmp(db->branch_id, b->id) != 0)
			continue;
		if (x->database && strcmp(db->name, x->database) == 0)
			owner = db->owner;
		/* a role given picks among the databases it owns */
		if (!x->role || strcmp(db->owner, x->role) == 0) {
			only = db->name;
			n++;
		}
		if (buf_printf(&names, "%s%s", names.len ? ", " : "", db->name) != 0)
			abort();
	}
	if (!x->database && n == 1) {
		x->database = only;
		owner = NULL;
		for (size_t i = 0; i < d->ndatabases; i++)
			if (strcmp(d->databases[i].branch_id, b->id) == 0 && strcmp(d->databases[i].name, only) == 0)
				owner = d->databases[i].owner;
	} else if (!x->database) {
		rc = cli_fail(CMD, "cannot choose a database on branch %s of project %s: %s; give --database",
			      b->name, project_id, n == 0 && !names.len ? "the state knows none there" : names.data);
	}
	if (rc == EXIT_OK && !x->role) {
		if (owner)
			x->role = owner;
		else
			rc = cli_fail(CMD, "cannot choose a role: the state does not know database '%s' on branch %s of "
					   "project %s, nor its owner; give --role", x->database, b->name, project_id);
	}
	buf_release(&names);
	return rc;
}

/* The request from the options and the state's deep read of project_id. */
static int resolve(state *st, const char *project_id, conn_opts *x, neon_conn_req *rq, state_deep *d)
{
	state_project p;
	bool deep = false;
	if (state_project_get(st, project_id, &p) == 0) {
		deep = p.deep_at > 0 && state_deep_get(st, project_id, d) == 0;
		state_project_release(&p);
	}
	memset(rq, 0, sizeof(*rq));
	rq->pooled = x->pooled;
	if (!deep) {
		if (!x->database || !x->role || (x->branch && !str_has_prefix(x->branch, "br-")))
			return cli_fail(CMD, "the state has no deep read of project %s, so %s cannot be chosen from it: "
					     "give --database and --role (and --branch by id), or run flotilla refresh --full",
				       project_id, x->branch && x->database && x->role ? "the branch" : "the database and role");
		rq->database = x->database;
		rq->role = x->role;
		rq->branch_id = x->branch;
		return EXIT_OK;
	}
	const state_branch *b = cli_branch_pick(d, x->branch);
	if (!b)
		return cli_fail(CMD, "project %s has no branch %s in the state%s", project_id,
				x->branch ? x->branch : "marked default", " (flotilla refresh --full reads them again)");
	if (pick_names(project_id, d, b, x) != EXIT_OK)
		return EXIT_ERROR;
	rq->database = x->database;
	rq->role = x->role;
	rq->branch_id = x->branch ? b->id : NULL;
	return EXIT_OK;
}

int cmd_connection_string(int argc, char **argv)
{
	static const struct option opts[] = {
		{"database", required_argument, NULL, 'd'},
		{"role", required_argument, NULL, 'r'},
		{"branch", required_argument, NULL, 'b'},
		{"pooled", no_argument, NULL, 'p'},
		{NULL, 0, NULL, 0},
	};
	conn_opts x = {0};
	cli_opts o;
	cli_opts_init(&o);
	if (cli_opts_parse(CMD, argc, argv, opts, CLI_API, &o, conn_opt, &x) != EXIT_OK)
		return EXIT_ERROR;
	const char *tenant = NULL;
	if (cli_tenant_arg(CMD, argc, argv, &tenant) != EXIT_OK)
		return EXIT_ERROR;
	state *st = NULL;
	if (cli_state_open_existing(CMD, o.state_path, &st) != EXIT_OK)
		return EXIT_ERROR;
	state_tenant t;
	state_deep d;
	memset(&t, 0, sizeof(t));
	memset(&d, 0, sizeof(d));
	neon_conn_req rq;
	neon_client *client = NULL;
	char *uri = NULL;
	int rc = state_tenant_get(st, tenant, &t);
	if (rc == ERR_NOTFOUND)
		rc = cli_tenant_unknown(CMD, st, tenant);
	else if (rc != 0)
		rc = cli_fail(CMD, "%s", err_msg());
	else if ((rc = resolve(st, t.project_id, &x, &rq, &d)) == EXIT_OK &&
		 (rc = cli_client_open(CMD, &o.api, &client)) == EXIT_OK) {
		if (neon_connection_uri(client, t.project_id, &rq, &uri) != 0) {
			rc = cli_fail(CMD, "tenant '%s' (project %s, database '%s', role '%s'): %s", tenant, t.project_id,
				      rq.database, rq.role, err_msg());
		} else {
			printf("%s\n", uri);
			rc = fflush(stdout) == 0 ? EXIT_OK : cli_fail(CMD, "cannot write to stdout");
			explicit_bzero(uri, strlen(uri));
		}
	}
	free(uri);
	neon_client_free(client);
	state_deep_release(&d);
	state_tenant_release(&t);
	state_close(st);
	return rc;
}
