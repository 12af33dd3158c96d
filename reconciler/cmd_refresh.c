/*
 * cmd_refresh.c: `flotilla refresh`: bring the state file's cache of the
 * live fleet up to date, list first (DESIGN.md "Refresh: list first").
 *
 * GET /projects?limit=400 pages the whole account into the cache, one
 * transaction a page: ceil(N/400) calls, plus at most one for an empty
 * last page. Projects the list no longer shows are dropped only when the
 * list completed. --full then reads the deep state (branches, endpoints,
 * databases, roles) of every managed project; --rebuild recovers the
 * tenant map of an empty state file from project names (the fleet's
 * namePrefix) and the annotations on each default branch, and never
 * claims a project annotated for another fleet.
 */
#include <getopt.h>
#include <string.h>
#include <time.h>

#include "reconciler/reconciler.h"

const char CMD_REFRESH_USAGE[] =
	"usage: flotilla refresh [--full] [--rebuild] [--repo DIR] [--state FILE|URL]\n"
	"                        [--api-url URL] [--api-key-file FILE] [--rate R]\n"
	"\n"
	"Read the live fleet into the state file, list first: GET /projects 400 at a\n"
	"time (300,000 projects = 750 calls). Projects that are gone from Neon leave\n"
	"the cache once a list completes.\n"
	"\n"
	"options:\n"
	"  --full               also read every managed project's branches, endpoints,\n"
	"                       databases and roles (2 + 2 per branch calls a project)\n"
	"  --rebuild            recover the tenant map of an empty state file from\n"
	"                       project names (the fleet's namePrefix) and the\n"
	"                       flotilla.fleet / flotilla.tenant annotations of each\n"
	"                       default branch; a project annotated for another fleet\n"
	"                       is never claimed\n"
	"  --repo DIR           the manifest directory, for the fleet's name and prefix\n"
	"                       (default: .; --dir DIR is the same)\n"
	"  --state FILE|URL     the state: a file (default: .flotilla/state.db) or a\n"
	"                       postgres:// URL; FLOTILLA_STATE sets it too\n"
	"  --api-url URL        the API (default: $NEON_API_HOST, else\n"
	"                       https://console.neon.tech/api/v2)\n"
	"  --api-key-file FILE  read the API key from FILE (default: $NEON_API_KEY)\n"
	"  --rate R             requests per second (default 10)\n"
	"  -h, --help           this help\n"
	"\n"
	"A page of the list can be cut short: Neon names the projects whose details\n"
	"did not arrive in time as unavailable. Those are read one by one; when some\n"
	"still cannot be read, the refresh is incomplete: nothing leaves the cache,\n"
	"plans create nothing, and the exit code is 1.\n"
	"\n"
	"exit: 0 done; 1 an error or an incomplete list (the cache keeps every page\n"
	"that completed, and nothing is dropped from it).\n";

/* ----------------------------------------------------------------- main */

static int refresh_opt(void *arg, int c, const char *value)
{
	(void)value;
	bool *flags = arg;
	if (c == 'F' || c == 'R')
		flags[c == 'R'] = true;
	return c == 'F' || c == 'R';
}

/* The fleet in dir, for its name, prefix and organization; NULL after
 * printing why (the manifests' problems first). */
static spec_fleet *load(const char *dir)
{
	spec_fleet *fleet = NULL;
	spec_diags *diags = spec_diags_new();
	if (cli_load_dir("refresh", dir, &fleet, diags) == EXIT_OK && spec_diags_count(diags)) {
		cli_print_diags(diags);
		cli_fail("refresh", "the manifests in '%s' have problems (above); fix them first", dir);
		spec_fleet_free(fleet);
		fleet = NULL;
	}
	spec_diags_free(diags);
	return fleet;
}

/* What the refresh did; with rb, what --rebuild mapped and left alone. */
static void show(const refresh_stats *rs, const rebuild_result *rb, size_t ndeep, double secs, int64_t cached,
		 const char *prefix)
{
	printf("refreshed %s projects in %.1fs: %s list call%s, %s gone from Neon", CLI_N(rs->projects), secs,
	       CLI_N(rs->list_calls), rs->list_calls == 1 ? "" : "s", CLI_N(rs->gone));
	if (rs->unavailable)
		printf("; %s named unavailable by the list, %s of them read one by one", CLI_N(rs->unavailable),
		       CLI_N(rs->unavailable_read));
	if (ndeep)
		printf("; %s read deep", CLI_N(rs->deep_done));
	printf("\n");
	if (!rb)
		return;
	printf("rebuild: %s tenants mapped; %s projects of other fleets left alone; %s projects "
	       "without flotilla marks left alone", CLI_N(rb->mapped), CLI_N(rb->other_fleet),
	       CLI_N(rb->unannotated));
	if (rb->forgotten)
		printf("; %s forgotten project%s left alone", CLI_N(rb->forgotten), rb->forgotten == 1 ? "" : "s");
	printf("\n");
	for (size_t i = 0; i < rb->nleft; i++)
		printf("  left alone: %s\n", rb->left[i]);
	int64_t others = cached - (int64_t)rb->candidates;
	if (others > 0)
		printf("  %s other project%s %s not looked at: %s name%s not namePrefix ('%s') + a tenant name\n",
		       CLI_N(others), others == 1 ? "" : "s", others == 1 ? "was" : "were",
		       others == 1 ? "its" : "their", others == 1 ? " is" : "s are", prefix);
}

int cmd_refresh(int argc, char **argv)
{
	static const struct option opts[] = {
		{"repo", required_argument, NULL, OPT_REPO},
		{"dir", required_argument, NULL, OPT_REPO},
		{"full", no_argument, NULL, 'F'},
		{"rebuild", no_argument, NULL, 'R'},
		{NULL, 0, NULL, 0},
	};
	bool flags[2] = {false, false}; /* --full, --rebuild */
	cli_opts o;
	cli_opts_init(&o);
	if (cli_opts_parse("refresh", argc, argv, opts, CLI_API, &o, refresh_opt, flags) != EXIT_OK ||
	    cli_opts_extra("refresh", argc, argv) != EXIT_OK)
		return EXIT_ERROR;
	bool full = flags[0], rebuild = flags[1];
	const char *dir = o.rq.repo;

	state *st = NULL;
	neon_client *client = NULL;
	refresh_stats rs;
	memset(&rs, 0, sizeof(rs));
	rebuild_result rb;
	memset(&rb, 0, sizeof(rb));
	spec_fleet *fleet = NULL;
	size_t ndeep = 0;
	int64_t run_id = 0;
	bool leased = false;
	int rc = EXIT_ERROR;
	if (!(fleet = load(dir)))
		goto done;
	const char *fleet_name = spec_fleet_name(fleet), *prefix = spec_fleet_name_prefix(fleet);
	if (cli_state_open("refresh", o.state_path, &st) != EXIT_OK)
		goto done;
	if (cli_lease_take("refresh", st, 0, "wait for it") != EXIT_OK)
		goto done;
	leased = true;
	if (rebuild && state_tenant_count(st) > 0) {
		cli_fail("refresh", "--rebuild recovers the tenant map of an empty state file, and this one maps %s "
			 "tenants; move it aside first", CLI_N(state_tenant_count(st)));
		goto done;
	}
	char where[PATH_MAX + 8];
	snprintf(where, sizeof(where), "in '%s'", dir);
	if (planning_fleet_check(st, fleet_name, where) != 0) {
		cli_fail("refresh", "%s", err_msg());
		goto done;
	}
	if (state_meta_set(st, "fleet", fleet_name) != 0 || state_run_begin(st, "refresh", &run_id) != 0) {
		cli_fail("refresh", "%s", err_msg());
		goto done;
	}
	if (cli_client_open("refresh", &o.api, &client) != EXIT_OK)
		goto done;
	neon_client_set_org(client, spec_fleet_org_id(fleet));

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (refresh_list(st, client, &rs) != 0) {
		cli_fail("refresh", "%s", err_msg());
		goto done;
	}
	int64_t projects = rs.projects, calls = rs.list_calls; /* the list's, before deep reads */
	size_t removed = rs.gone;
	/* deep reads: --rebuild candidates by name, --full every managed project */
	int drc = 0;
	if (rebuild) {
		drc = rebuild_map(st, client, fleet_name, prefix, &rs, &rb);
		ndeep = rb.candidates;
	} else if (full) {
		drc = refresh_managed(st, client, &rs, &ndeep);
	}
	if (drc != 0) {
		cli_fail("refresh", "%s", err_msg());
		goto done;
	}
	int64_t mapped = rb.mapped;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	show(&rs, rebuild ? &rb : NULL, ndeep, secs, state_project_count(st), prefix);
	if (rs.incomplete) {
		cli_fail("refresh", "the list is incomplete: %s project%s that Neon named unavailable could not be "
			 "read (first: %s); nothing was removed from the cache, and plans create nothing until a "
			 "refresh completes: run flotilla refresh again", CLI_N(rs.incomplete),
			 rs.incomplete == 1 ? "" : "s", rs.first_error);
		goto done;
	}
	if (rs.deep_failed) {
		cli_fail("refresh", "%s deep read%s failed; first: %s", CLI_N(rs.deep_failed),
			 rs.deep_failed == 1 ? "" : "s", rs.first_error);
		goto done;
	}
	char summary[256];
	snprintf(summary, sizeof(summary),
		 "{\"projects\":%lld,\"list_calls\":%lld,\"gone\":%zu,\"deep\":%lld,\"mapped\":%lld}",
		 (long long)projects, (long long)calls, removed, (long long)rs.deep_done, (long long)mapped);
	if (state_run_finish(st, run_id, "ok", summary) != 0)
		log_warn("refresh: cannot record the run", "error", err_msg());
	run_id = 0;
	rc = EXIT_OK;
done:
	if (run_id && state_run_finish(st, run_id, "failed", NULL) != 0)
		log_warn("refresh: cannot record the run", "error", err_msg());
	if (leased && state_lease_drop(st, "fleet") != 0)
		log_warn("refresh: cannot release the lease", "error", err_msg());
	rebuild_result_release(&rb);
	neon_client_free(client);
	state_close(st);
	spec_fleet_free(fleet);
	return rc;
}
