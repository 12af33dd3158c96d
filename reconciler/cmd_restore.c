/*
 * cmd_restore.c: `flotilla restore TENANT --to TIMESTAMP|LSN`: a tenant's
 * branch back to an earlier point through Neon's branch restore, the state
 * before it kept as a preserved branch (docs/lifecycle.md, "Restore"); or
 * `--snapshot ID|NAME|latest`: one of the project's snapshots in its place
 * (picked from the project's list here; engine/restore.c swaps it in).
 *
 * Everything that can be checked offline is, before any call: the tenant
 * is mapped, the branch is in the state's deep read, the point is an LSN
 * or an RFC 3339 UTC time that is neither in the future nor older than
 * the project's history retention, and the preserved name starts with
 * PRESERVED_PREFIX (what makes plan, apply and the daemon leave the branch
 * alone, even under pruneBranches). Then the plan is shown and confirmed;
 * the work (journaled, operations awaited) is engine/restore.c's.
 */
#include <getopt.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "reconciler/reconciler.h"

const char CMD_RESTORE_USAGE[] =
	"usage: flotilla restore TENANT --to TIMESTAMP|LSN|--snapshot ID|NAME|latest\n"
	"                        [--branch NAME]\n"
	"                        [--preserve-as NAME] [--cleanup-after DUR] [--auto-approve]\n"
	"                        [--state FILE|URL] [--api-url URL] [--api-key-file FILE] [--rate R]\n"
	"\n"
	"Restore a tenant's branch to an earlier point of its history (Neon's branch\n"
	"restore). The branch keeps its id, endpoints and connection strings; its\n"
	"state before the restore is kept as a new branch, the preserved branch,\n"
	"whose name starts with 'preserved-': plan, apply and the daemon leave it\n"
	"alone, even with pruneBranches. flotilla status TENANT lists it. The\n"
	"restore is journaled like apply's writes; it shows what it will do and asks.\n"
	"With --snapshot, one of the project's snapshots (a backups.schedule makes\n"
	"them) takes the branch's place: a new branch with the snapshot's data gets\n"
	"the branch's name and computes (connection strings stay; the branch id\n"
	"changes), and the branch as it was is renamed to the preserved name.\n"
	"\n"
	"options:\n"
	"  --to TIMESTAMP|LSN   the point: an RFC 3339 UTC time (2026-03-01T12:00:00Z)\n"
	"                       within the project's history retention, or an LSN\n"
	"                       (0/1E19478)\n"
	"  --snapshot SNAP      instead of --to: a snapshot of the project, by id or\n"
	"                       name, or 'latest' (the branch's newest)\n"
	"  --branch NAME        the branch, by name or id (default: the default branch)\n"
	"  --preserve-as NAME   the preserved branch's name, starting with 'preserved-'\n"
	"                       (default: preserved-BRANCH-YYYYMMDDTHHMMSSZ, now)\n"
	"  --cleanup-after DUR  the preserved branch expires (Neon deletes it) after\n"
	"                       DUR (1h, 7d); default: it stays until deleted\n"
	"  --auto-approve       restore without asking (needed when stdin is not a\n"
	"                       terminal)\n"
	"  --state FILE|URL     the state: a file (default: .flotilla/state.db) or a\n"
	"                       postgres:// URL; FLOTILLA_STATE sets it too\n"
	"  --api-url URL        the API (default: $NEON_API_HOST, else\n"
	"                       https://console.neon.tech/api/v2)\n"
	"  --api-key-file FILE  read the API key from FILE (default: $NEON_API_KEY)\n"
	"  --rate R             requests per second (default 10)\n"
	"  -h, --help           this help\n"
	"\n"
	"A restore an earlier run left unfinished (its answer lost) is settled first:\n"
	"if its preserved branch is there it had run, and this one is not sent.\n"
	"\n"
	"exit: 0 restored (or not confirmed: nothing changed; or already restored by\n"
	"an earlier restore whose answer was lost); 1 an error (an unknown tenant or\n"
	"branch, a point in the future or past the retention, the API failed, an\n"
	"earlier lost restore had run and this one asks for another point).\n";

#define CMD "restore"
#define PRESERVED_PREFIX DIFF_PRESERVED_PREFIX

typedef struct restore_opts {
	const char *to, *branch, *preserve_as, *cleanup_after, *snapshot;
} restore_opts;

static int restore_opt(void *arg, int c, const char *value)
{
	restore_opts *x = arg;
	switch (c) {
	case 't': x->to = value; return 1;
	case 'b': x->branch = value; return 1;
	case 'P': x->preserve_as = value; return 1;
	case 'C': x->cleanup_after = value; return 1;
	case 's': x->snapshot = value; return 1;
	default: return 0;
	}
}

/* "hex/hex", as Neon writes an LSN. */
static bool is_lsn(const char *s)
{
	size_t a = strspn(s, "0123456789abcdefABCDEF");
	if (a < 1 || a > 8 || s[a] != '/')
		return false;
	size_t b = strspn(s + a + 1, "0123456789abcdefABCDEF");
	return b >= 1 && b <= 8 && s[a + 1 + b] == 0;
}

static void format_utc(int64_t t, char out[32], bool compact)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The point --to names, checked against now and the retention. */
static int check_point(const char *tenant, const state_project *p, const char *to, restore_req *rq, int64_t now)
{
	if (is_lsn(to)) {
		rq->lsn = to;
		return EXIT_OK;
	}
	int64_t t = cli_utc_parse(to);
	if (t < 0)
		return cli_fail(CMD, "--to '%s' is neither an RFC 3339 UTC time such as 2026-03-01T12:00:00Z nor an LSN "
				     "such as 0/1E19478", to);
	if (t > now)
		return cli_fail(CMD, "--to %s is in the future: a restore goes back to a point that has passed", to);
	int64_t oldest = now - p->history_retention_seconds;
	if (t < oldest) {
		char from[32], keep[32];
		format_utc(oldest, from, false);
		unit_duration_format(p->history_retention_seconds, keep);
		return cli_fail(CMD, "tenant '%s': --to %s is older than project %s keeps history (historyRetention "
				     "%s: from %s); pick a later point, or restore from a snapshot (--snapshot)", tenant, to,
				p->id, keep, from);
	}
	rq->timestamp = to;
	return EXIT_OK;
}

static int unknown_branch(const char *tenant, const state_deep *d, const char *want)
{
	buf names = BUF_INIT(0);
	for (size_t i = 0; i < d->nbranches; i++)
		if (buf_printf(&names, "%s%s", i ? ", " : "", d->branches[i].name) != 0)
			abort();
	int rc = cli_fail(CMD, "tenant '%s' has no branch '%s' (its branches: %s; flotilla refresh --full reads "
			       "them again)", tenant, want ? want : "(default)", names.len ? names.data : "none");
	buf_release(&names);
	return rc;
}

/* Everything checked offline into rq (names in `keep`, `expires`). */
static int prepare(state *st, const char *tenant, const restore_opts *x, restore_req *rq, state_deep *d,
		   char keep[300], char expires[32])
{
	state_tenant t;
	state_project p;
	memset(&t, 0, sizeof(t));
	int rc = state_tenant_get(st, tenant, &t);
	if (rc == ERR_NOTFOUND)
		return cli_tenant_unknown(CMD, st, tenant);
	if (rc != 0)
		return cli_fail(CMD, "%s", err_msg());
	rq->project_id = xstrdup(t.project_id);
	state_tenant_release(&t);
	if (state_project_get(st, rq->project_id, &p) != 0)
		return cli_fail(CMD, "tenant '%s': project %s is not in the state; run flotilla refresh", tenant,
				rq->project_id);
	bool deep = p.deep_at > 0;
	int64_t now = (int64_t)time(NULL);
	rc = x->to ? check_point(tenant, &p, x->to, rq, now) : EXIT_OK;
	state_project_release(&p);
	if (rc != EXIT_OK)
		return rc;
	if (!deep || state_deep_get(st, rq->project_id, d) != 0)
		return cli_fail(CMD, "tenant '%s': the state has no deep read of project %s, so its branches are "
				     "unknown; run flotilla refresh --full", tenant, rq->project_id);
	const state_branch *b = cli_branch_pick(d, x->branch);
	if (!b)
		return unknown_branch(tenant, d, x->branch);
	rq->branch_id = rq->source_branch_id = b->id;
	char stamp[32];
	format_utc(now, stamp, true);
	if (x->preserve_as && !str_has_prefix(x->preserve_as, PRESERVED_PREFIX))
		return cli_fail(CMD, "--preserve-as '%s': a preserved branch's name starts with '" PRESERVED_PREFIX
				     "', which makes flotilla leave it alone; give --preserve-as " PRESERVED_PREFIX "%s",
				x->preserve_as, x->preserve_as);
	snprintf(keep, 300, "%s", x->preserve_as ? x->preserve_as : "");
	if (!x->preserve_as)
		snprintf(keep, 300, PRESERVED_PREFIX "%s-%s", b->name, stamp);
	if (cli_branch_pick(d, keep))
		return cli_fail(CMD, "tenant '%s' already has a branch '%s'; give another --preserve-as", tenant, keep);
	rq->preserve_as = keep;
	if (x->cleanup_after) {
		int64_t dur;
		if (unit_duration_parse(x->cleanup_after, false, &dur) != 0 || dur <= 0)
			return cli_fail(CMD, "--cleanup-after '%s' is not a duration such as 1h or 7d", x->cleanup_after);
		format_utc(now + dur, expires, false);
		rq->expires_at = expires;
	}
	return EXIT_OK;
}

/* ------------------------------------------------------------ snapshots */

/* The name of the branch a snapshot is restored into until it is
 * finalized: preserved-, so that plan, apply and the daemon leave it alone
 * should a run stop between the two steps. */
#define STAGING_PREFIX PRESERVED_PREFIX "snapshot-"

static void snapshots_named(buf *b, const neon_snapshot *v, size_t n)
{
	for (size_t i = 0; i < n && i < 10; i++)
		if (buf_printf(b, "%s%s (%s, %s)", i ? ", " : "", v[i].name, v[i].id, v[i].created_at) != 0)
			abort();
	if (n > 10 && buf_printf(b, ", and %zu more", n - 10) != 0)
		abort();
}

/* The snapshot `want` names (an id, a name, or "latest": the newest taken
 * of the branch), from the project's list: one call. */
static int snapshot_pick(neon_client *c, const char *tenant, const restore_req *rq, const char *branch_name,
			 const char *want, neon_snapshot *out)
{
	neon_snapshot *v = NULL;
	size_t n = 0;
	if (neon_snapshots_list(c, rq->project_id, &v, &n) != 0)
		return cli_fail(CMD, "tenant '%s': listing the snapshots of project %s: %s; nothing was sent", tenant,
				rq->project_id, err_msg());
	bool latest = strcmp(want, "latest") == 0;
	size_t hit = n, named = 0;
	int64_t best = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t t;
		if (latest) {
			if (v[i].source_branch_id && strcmp(v[i].source_branch_id, rq->branch_id) == 0 &&
			    idle_parse_time(v[i].created_at, &t) && (hit == n || t > best)) {
				hit = i;
				best = t;
			}
		} else if (strcmp(v[i].id, want) == 0) {
			hit = i;
			named = 1;
			break;
		} else if (strcmp(v[i].name, want) == 0) {
			hit = i;
			named++;
		}
	}
	int rc = EXIT_OK;
	buf names = BUF_INIT(0);
	snapshots_named(&names, v, n);
	if (named > 1)
		rc = cli_fail(CMD, "tenant '%s': %zu snapshots are named '%s'; give its id (%s)", tenant, named, want,
			      names.data);
	else if (hit == n && latest)
		rc = cli_fail(CMD, "tenant '%s': project %s has no snapshot of branch %s (%s%s); a backups.schedule "
				   "in the manifest makes them", tenant, rq->project_id, branch_name,
			      n ? "its snapshots: " : "it has none", n ? names.data : "");
	else if (hit == n)
		rc = cli_fail(CMD, "tenant '%s': project %s has no snapshot '%s' (%s%s)", tenant, rq->project_id, want,
			      n ? "its snapshots: " : "it has none", n ? names.data : "");
	else {
		*out = v[hit];
		memset(&v[hit], 0, sizeof(v[hit]));
	}
	buf_release(&names);
	neon_snapshots_release(v, n);
	return rc;
}

static void restore_snapshot_show(const restore_req *rq, const state_branch *b, const neon_snapshot *s)
{
	printf("  ~ branch %s (%s): replaced by snapshot %s (%s, taken %s): a new branch with its data takes the "
	       "name %s and the computes (connection strings stay; the branch id changes)\n", b->name, b->id, s->name,
	       s->id, s->timestamp ? s->timestamp : s->created_at, b->name);
	printf("  + branch %s: %s as it was (%s, renamed), left alone by flotilla; %s%s\n", rq->preserve_as, b->name,
	       b->id, rq->expires_at ? "expires " : "kept until deleted", rq->expires_at ? rq->expires_at : "");
	printf("  calls: POST /projects/%s/snapshots/%s/restore, POST …/branches/{new}/finalize_restore%s\n",
	       rq->project_id, s->id, rq->expires_at ? ", PATCH …/branches/{preserved} (expires_at)" : "");
}

/* The staging branch an earlier run of the same restore made and did not
 * finalize, by name in the cache (read back by settling): its id in out. */
static void staged_find(state *st, const restore_req *rq, char out[80])
{
	state_deep d;
	out[0] = 0;
	if (state_deep_get(st, rq->project_id, &d) != 0)
		return;
	const state_branch *b = cli_branch_pick(&d, rq->staging);
	if (b && strcmp(b->name, rq->staging) == 0)
		str_copy(out, b->id, 80);
	state_deep_release(&d);
}

/* -------------------------------------------------------------- the plan */

static void show(const char *tenant, const restore_req *rq, const state_deep *d, const neon_snapshot *snap)
{
	const state_branch *b = cli_branch_pick(d, rq->branch_id);
	printf("restore plan for tenant '%s' (project %s):\n", tenant, rq->project_id);
	if (snap) {
		restore_snapshot_show(rq, b, snap);
		return;
	}
	printf("  ~ branch %s (%s): back to %s%s\n", b->name, b->id, rq->lsn ? "LSN " : "", rq->lsn ? rq->lsn
	       : rq->timestamp);
	printf("  + branch %s: the state before the restore, left alone by flotilla; %s%s\n", rq->preserve_as,
	       rq->expires_at ? "expires " : "kept until deleted", rq->expires_at ? rq->expires_at : "");
	printf("  calls: POST /projects/%s/branches/%s/restore%s\n", rq->project_id, rq->branch_id,
	       rq->expires_at ? ", PATCH …/branches/{preserved} (expires_at)" : "");
}

/* An earlier restore of the tenant left unfinished (its answer lost)
 * settled first, never sent twice: when it had run, this one is not sent
 * (*stop), exit 0 when it asked for the same, else 1. */
static int settle_earlier(state *st, neon_client *c, const char *tenant, const restore_req *rq, bool *stop)
{
	restore_settled o;
	*stop = false;
	if (restore_settle(st, c, tenant, rq->project_id, &o) != 0) {
		*stop = true;
		return cli_fail(CMD, "tenant '%s': settling an earlier restore left unfinished: %s; nothing was sent",
				tenant, err_msg());
	}
	int rc = EXIT_OK;
	bool same_snap = rq->snapshot_id && o.snapshot_id && strcmp(rq->snapshot_id, o.snapshot_id) == 0;
	if (o.journal_id && !o.ran) {
		printf("restore: an earlier restore of tenant '%s' (journal row %lld, %s %s) lost its answer and had "
		       "not run (no branch %s): restoring now\n", tenant, (long long)o.journal_id,
		       o.snapshot_id ? "snapshot" : "to", o.snapshot_id ? o.snapshot_id : o.point ? o.point : "?",
		       o.preserved ? o.preserved : "?");
	} else if (o.journal_id && o.kind == RESTORE_SNAPSHOT) {
		/* the snapshot is in its staging branch; the finalize was never sent */
		if (same_snap) {
			printf("restore: an earlier restore of snapshot %s (journal row %lld) made branch %s (%s) and lost "
			       "its answer: finalizing that branch now\n", o.snapshot_id, (long long)o.journal_id, o.preserved,
			       o.staged_id);
		} else {
			*stop = true;
			rc = cli_fail(CMD, "tenant '%s': an earlier restore of snapshot %s made branch %s (%s) and was not "
					   "finalized; run flotilla restore %s --snapshot %s to finish it, or delete that "
					   "branch; nothing was sent", tenant, o.snapshot_id ? o.snapshot_id : "?", o.preserved,
				      o.staged_id, tenant, o.snapshot_id ? o.snapshot_id : "?");
		}
	} else if (o.journal_id && o.kind == RESTORE_FINALIZE) {
		*stop = true;
		printf("restore: an earlier restore of tenant '%s' from snapshot %s (journal row %lld) lost its answer "
		       "but had run: the branch it replaced is preserved as %s (%s)\n", tenant,
		       o.snapshot_id ? o.snapshot_id : "?", (long long)o.journal_id, o.preserved, o.preserved_id);
		if (same_snap) {
			printf("restore: that is this restore: not sent again\n");
			if (rq->expires_at && o.preserved_id) {
				if (restore_expiry(st, c, rq, o.preserved_id) == 0)
					printf("restore: preserved branch %s expires %s\n", o.preserved, rq->expires_at);
				else
					rc = cli_fail(CMD, "tenant '%s': setting the expiry of preserved branch %s: %s",
						      tenant, o.preserved, err_msg());
			}
		} else {
			rc = cli_fail(CMD, "tenant '%s': not restoring again, as the branch changed since the plan above; "
					   "run flotilla restore again to restore it now", tenant);
		}
	} else if (o.journal_id) {
		*stop = true;
		bool same = o.branch_id && o.point && !rq->snapshot_id && strcmp(o.branch_id, rq->branch_id) == 0 &&
			    strcmp(o.point, rq->lsn ? rq->lsn : rq->timestamp) == 0;
		printf("restore: an earlier restore of tenant '%s' (journal row %lld) lost its answer but had run: "
		       "branch %s is back to %s, preserved as %s (%s)\n", tenant, (long long)o.journal_id,
		       o.branch_id ? o.branch_id : "?", o.point ? o.point : "?", o.preserved, o.preserved_id);
		if (same)
			printf("restore: that is this restore: not sent again\n");
		if (same && rq->expires_at && o.preserved_id) {
			/* the lost answer never reached the expiry */
			if (restore_expiry(st, c, rq, o.preserved_id) == 0)
				printf("restore: preserved branch %s expires %s\n", o.preserved, rq->expires_at);
			else
				rc = cli_fail(CMD, "tenant '%s': setting the expiry of preserved branch %s: %s", tenant,
					      o.preserved, err_msg());
		} else if (!same)
			rc = cli_fail(CMD, "tenant '%s': not restoring again %s %s, as the branch changed since the plan "
					   "above; run flotilla restore again to restore it now", tenant,
				      rq->snapshot_id ? "from snapshot" : "to",
				      rq->snapshot_id ? rq->snapshot_id : rq->lsn ? rq->lsn : rq->timestamp);
	}
	restore_settled_release(&o);
	return rc;
}

int cmd_restore(int argc, char **argv)
{
	static const struct option opts[] = {
		{"to", required_argument, NULL, 't'},
		{"branch", required_argument, NULL, 'b'},
		{"preserve-as", required_argument, NULL, 'P'},
		{"cleanup-after", required_argument, NULL, 'C'},
		{"snapshot", required_argument, NULL, 's'},
		{"auto-approve", no_argument, NULL, OPT_AUTO_APPROVE},
		{NULL, 0, NULL, 0},
	};
	restore_opts x = {0};
	cli_opts o;
	cli_opts_init(&o);
	if (cli_opts_parse(CMD, argc, argv, opts, CLI_API, &o, restore_opt, &x) != EXIT_OK)
		return EXIT_ERROR;
	const char *tenant = NULL;
	if (cli_tenant_arg(CMD, argc, argv, &tenant) != EXIT_OK)
		return EXIT_ERROR;
	if (!x.to && !x.snapshot)
		return cli_fail(CMD, "give --to TIMESTAMP|LSN (a point of the branch's history) or --snapshot "
				     "ID|NAME|latest (one of the project's snapshots)");
	if (x.to && x.snapshot)
		return cli_fail(CMD, "--to and --snapshot: give one of them");
	if (!o.auto_approve && !isatty(STDIN_FILENO))
		return cli_fail(CMD, "stdin is not a terminal, so restore cannot ask; pass --auto-approve");
	state *st = NULL;
	if (cli_state_open_existing(CMD, o.state_path, &st) != EXIT_OK)
		return EXIT_ERROR;
	restore_req rq;
	memset(&rq, 0, sizeof(rq));
	rq.tenant = tenant;
	state_deep d;
	memset(&d, 0, sizeof(d));
	char keep[300], expires[32], summary[400], staging[120], staged[80];
	neon_snapshot snap;
	memset(&snap, 0, sizeof(snap));
	neon_client *client = NULL;
	cli_run run = CLI_RUN_INIT;
	restore_result res;
	memset(&res, 0, sizeof(res));
	int rc = prepare(st, tenant, &x, &rq, &d, keep, expires);
	if (rc != EXIT_OK)
		goto done;
	rc = EXIT_ERROR;
	if (cli_client_open(CMD, &o.api, &client) != EXIT_OK)
		goto done;
	if (x.snapshot) {
		const state_branch *b = cli_branch_pick(&d, rq.branch_id);
		if ((rc = snapshot_pick(client, tenant, &rq, b->name, x.snapshot, &snap)) != EXIT_OK)
			goto done;
		rq.snapshot_id = snap.id;
		snprintf(staging, sizeof(staging), STAGING_PREFIX "%s", snap.id);
		rq.staging = staging;
	}
	rc = EXIT_OK;
	show(tenant, &rq, &d, x.snapshot ? &snap : NULL);
	if (!o.auto_approve && !cli_confirm("Restore?")) {
		fprintf(stderr, "restore: not confirmed; nothing was changed\n");
		goto done;
	}
	rc = EXIT_ERROR;
	if (cli_lease_take(CMD, st, 0, "wait for it, then restore again") != EXIT_OK)
		goto done;
	run.leased = true;
	if (state_run_begin(st, CMD, &run.id) != 0) {
		cli_fail(CMD, "%s", err_msg());
		goto done;
	}
	rq.run_id = run.id;
	bool stop;
	if ((rc = settle_earlier(st, client, tenant, &rq, &stop)) != EXIT_OK || stop) {
		if (rc == EXIT_OK)
			run.outcome = "ok";
		goto done;
	}
	rc = EXIT_ERROR;
	if (rq.snapshot_id) {
		/* a staging branch of this snapshot: an earlier run stopped
		 * between the two steps, and only the finalize is left */
		staged_find(st, &rq, staged);
		rq.staged_id = staged[0] ? staged : NULL;
		if (rq.staged_id)
			printf("restore: branch %s (%s) already holds snapshot %s: only the finalize is sent\n", rq.staging,
			       staged, rq.snapshot_id);
	}
	int rrc = restore_run(st, client, &rq, &res);
	if (rrc != 0) {
		cli_fail(CMD, "tenant '%s'%s: %s%s", tenant, res.restored ? " (restored; setting the preserved branch's "
			 "expiry failed)" : "", err_msg(), rrc == ERR_UNKNOWN_OUTCOME && !res.restored ? "; the journal keeps "
			 "it: the next flotilla restore of this tenant (or flotilla apply) finds out whether it ran before it "
			 "sends anything" : "");
		goto done;
	}
	if (rq.snapshot_id)
		printf("restored: tenant '%s' from snapshot %s (%s): branch %s now holds it and the computes; the branch "
		       "it replaced is preserved as %s (%s)%s%s\n", tenant, snap.name, snap.id, res.restored_id, keep,
		       res.preserved_id, res.expiry_set ? ", expires " : "", res.expiry_set ? rq.expires_at : "");
	else
		printf("restored: branch %s of tenant '%s' to %s; preserved as %s (%s)%s%s\n", rq.branch_id, tenant,
		       rq.lsn ? rq.lsn : rq.timestamp, keep, res.preserved_id ? res.preserved_id : "id unknown",
		       res.expiry_set ? ", expires " : "", res.expiry_set ? rq.expires_at : "");
	if (res.read_back_error)
		fprintf(stderr, "restore: warning: reading project %s back failed (%s); flotilla refresh --full reads "
				"it\n", rq.project_id, res.read_back_error);
	run.outcome = "ok";
	rc = EXIT_OK;
done:
	snprintf(summary, sizeof(summary), "tenant %s: restore %s %s%s", tenant, x.snapshot ? "from snapshot" : "to",
		 x.snapshot ? x.snapshot : x.to ? x.to : "", res.restored ? "" : " (not restored)");
	cli_run_end(CMD, st, &run, summary);
	restore_result_release(&res);
	neon_snapshot_release(&snap);
	neon_client_free(client);
	free((char *)rq.project_id);
	state_deep_release(&d);
	state_close(st);
	return rc;
}
