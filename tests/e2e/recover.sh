#!/usr/bin/env bash
# recover.sh FLOTILLA FLOTILLA_SIM SRCROOT: `flotilla recover` (issue 17,
# item 4) against a real flotilla-sim and a real git repository, on a
# state file (or a PostgreSQL schema with E2E_STATE=postgres: lib.sh's st):
#   1. a tenant pruned (manifest removed, prune: true, apply): recover is
#      refused while its manifest is gone, and without --auto-approve off
#      a terminal; its manifest back, recover brings back the same project
#      (journaled), and the plan that follows shows the tenant converged:
#      no create, the same project id, never two projects of one name
#      (the sim counts deleted projects too);
#   2. clear refusals: a tenant with a live project, a tenant flotilla
#      never deleted, a project mapped to another tenant;
#   3. past Neon's recovery window (the sim's --recover-window) the
#      project cannot be recovered, and recover says so.
# RECOVER_E2E_ONLY=1,3 runs only some groups (2 needs 1's fleet).
set -uo pipefail
flotilla=$(realpath "$1")
sim=$(realpath "$2")
src=$(realpath "$3")
only_var=RECOVER_E2E_ONLY
keep_var=RECOVER_E2E_KEEP
. "$(dirname "$0")/lib.sh"
git_sandbox
key=e2e-recover-key
export NEON_API_KEY=$key
private_binaries
state=$(st "$tmp/state.db")
repo=$tmp/repo
# live_projects: how many live projects the sim holds
live_projects() { curl -sf -H "Authorization: Bearer $key" "$base/api/v2/projects?limit=400" |
	python3 -c 'import json,sys; print(len(json.load(sys.stdin)["projects"]))'; }

start_sim rec --op-delay-ms 0
fleet_file "$repo" rec r- "allowedRegions: [aws-us-east-2]" "prune: true"
for t in acme bolt; do tenant_file "$repo" "$t" "compute: {minCu: 0.25, maxCu: 1}"; done
mkrepo "$repo"
F apply --repo "$repo" --state "$state" --auto-approve >"$tmp/apply.out" 2>&1 ||
	fail "setup" "apply: $(tail -n 5 "$tmp/apply.out")"
acme=$(pid_of acme "$state")

# ------------------------------------------------- 1. prune, then recover
if want 1; then
	cp "$repo/tenants/acme.yaml" "$tmp/acme.yaml"
	git -C "$repo" rm -q tenants/acme.yaml && commit "$repo" "prune acme"
	F apply --repo "$repo" --state "$state" --auto-approve >"$tmp/prune.out" 2>&1
	if [ -z "$(pid_of acme "$state")" ] && [ "$(live_projects)" = 1 ]; then ok "prune deletes acme's project and unmaps it"
	else fail "prune" "$(cat "$tmp/prune.out")"; fi

	F recover acme --repo "$repo" --state "$state" --auto-approve >"$tmp/r1.out" 2>"$tmp/r1.err"
	rc=$?
	if [ "$rc" = 1 ] && grep -q "tenant 'acme' has no manifest at HEAD: .*orphan.*--force" "$tmp/r1.err" &&
		[ "$(live_projects)" = 1 ]; then ok "recover refuses a tenant whose manifest is gone (an orphan), nothing sent"
	else fail "no manifest" "exit $rc: $(cat "$tmp/r1.out" "$tmp/r1.err")"; fi

	cp "$tmp/acme.yaml" "$repo/tenants/acme.yaml" && commit "$repo" "acme is back"
	F recover acme --repo "$repo" --state "$state" </dev/null >"$tmp/r2.out" 2>"$tmp/r2.err"
	rc=$?
	if [ "$rc" = 1 ] && grep -q "stdin is not a terminal.*--auto-approve" "$tmp/r2.err"; then
		ok "recover off a terminal without --auto-approve refuses"
	else fail "no terminal" "exit $rc: $(cat "$tmp/r2.out" "$tmp/r2.err")"; fi

	F recover acme --repo "$repo" --state "$state" --auto-approve >"$tmp/r3.out" 2>"$tmp/r3.err"
	rc=$?
	if [ "$rc" = 0 ] && grep -q "^  project      $acme (named r-acme)" "$tmp/r3.out" &&
		grep -q "^  deleted at   .* (by flotilla: the journal's last delete of the tenant)" "$tmp/r3.out" &&
		grep -q "^  recoverable  until 20" "$tmp/r3.out" &&
		grep -q "^recovered project $acme; tenant 'acme' is mapped to it again" "$tmp/r3.out" &&
		[ "$(pid_of acme "$state")" = "$acme" ] && [ "$(live_projects)" = 2 ] &&
		[ "$(st_sql "$state" "SELECT source FROM tenants WHERE tenant = 'acme'")" = recover ] &&
		[ "$(st_sql "$state" "SELECT state FROM journal WHERE action = 'POST /projects/$acme/recover'")" = done ] &&
		[ "$(st_sql "$state" "SELECT outcome FROM runs WHERE command = 'recover'")" = ok ]; then
		ok "recover brings back the same project, journaled, and maps acme to it again"
	else fail "recover" "exit $rc: $(cat "$tmp/r3.out" "$tmp/r3.err")"; fi

	F plan --repo "$repo" --state "$state" --format json >"$tmp/plan.json" 2>"$tmp/plan.err"
	rc=$?
	if [ "$rc" = 0 ] && [ "$(summary "$tmp/plan.json" create)" = 0 ] && [ "$(summary "$tmp/plan.json" delete)" = 0 ] &&
		[ "$(pid_of acme "$state")" = "$acme" ] && no_dups; then
		ok "the plan after recover shows acme converged: no create, the same project, no duplicate"
	else fail "plan" "exit $rc: $(cat "$tmp/plan.json" "$tmp/plan.err")"; fi
fi

# --------------------------------------------------------- 2. refusals
if want 2; then
	F recover acme --repo "$repo" --state "$state" --auto-approve >"$tmp/r4.out" 2>"$tmp/r4.err"
	rc=$?
	if [ "$rc" = 1 ] && grep -q "tenant 'acme' has a project already (.*): recover never makes a second one" "$tmp/r4.err"
	then ok "recover of a tenant with a live project is refused"
	else fail "live" "exit $rc: $(cat "$tmp/r4.out" "$tmp/r4.err")"; fi
	tenant_file "$repo" nobody && commit "$repo" "nobody"
	F recover nobody --repo "$repo" --state "$state" --auto-approve >"$tmp/r5.out" 2>"$tmp/r5.err"
	rc=$?
	if [ "$rc" = 1 ] && grep -q "no record of flotilla deleting a project of tenant 'nobody'.*--project ID" "$tmp/r5.err"
	then ok "recover of a tenant flotilla never deleted says how to name the project"
	else fail "unknown" "exit $rc: $(cat "$tmp/r5.out" "$tmp/r5.err")"; fi
	F recover nobody --project "$(pid_of bolt "$state")" --repo "$repo" --state "$state" --auto-approve \
		>"$tmp/r6.out" 2>"$tmp/r6.err"
	rc=$?
	if [ "$rc" = 1 ] && grep -q "is mapped to tenant 'bolt', not 'nobody'" "$tmp/r6.err" && no_dups
	then ok "recover never takes another tenant's project"
	else fail "other" "exit $rc: $(cat "$tmp/r6.out" "$tmp/r6.err")"; fi
fi

# ------------------------------------------------ 3. past the window
if want 3; then
	start_sim win --op-delay-ms 0 --recover-window 1s
	state2=$(st "$tmp/state2.db")
	repo2=$tmp/repo2
	fleet_file "$repo2" win w- "allowedRegions: [aws-us-east-2]" "prune: true"
	tenant_file "$repo2" old
	mkrepo "$repo2"
	F apply --repo "$repo2" --state "$state2" --auto-approve >"$tmp/w1.out" 2>&1 || fail "window setup" "$(cat "$tmp/w1.out")"
	old=$(pid_of old "$state2")
	git -C "$repo2" rm -q tenants/old.yaml && commit "$repo2" "prune old"
	F apply --repo "$repo2" --state "$state2" --auto-approve >"$tmp/w2.out" 2>&1
	sleep 2 # the sim's recovery window (1 s of its clock) passes
	tenant_file "$repo2" old && commit "$repo2" "old is back"
	F recover old --repo "$repo2" --state "$state2" --auto-approve >"$tmp/w3.out" 2>"$tmp/w3.err"
	rc=$?
	if [ "$rc" = 1 ] && grep -q "project $old of tenant 'old' cannot be recovered: Neon no longer has it" "$tmp/w3.err" &&
		[ -z "$(pid_of old "$state2")" ]; then
		ok "past the recovery window recover says the project is gone for good, and maps nothing"
	else fail "window" "exit $rc: $(cat "$tmp/w3.out" "$tmp/w3.err")"; fi
fi
finish
