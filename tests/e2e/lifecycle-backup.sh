#!/usr/bin/env bash
# lifecycle-backup.sh FLOTILLA FLOTILLA_SIM SRCROOT: a tenant's backup
# schedule (backups.schedule, issue 17; docs/lifecycle.md, "Backups")
# against a real flotilla-sim and a real git repository, on a state file
# (or a PostgreSQL schema with E2E_STATE=postgres: lib.sh's st):
#   1. tenants without a schedule cost no backup_schedule call at all,
#      not even with --refresh full;
#   2. set, change and remove: each apply exactly one PUT, and no GET
#      (the plan before the first read the never-read schedule once);
#   3. a schedule changed in Neon behind flotilla's back: a plain plan
#      trusts the cache (deep-only drift); refresh --full, or plan
#      --refresh full, reads it and shows it as drift, and apply --refresh
#      full heals it with one PUT (the daemon's sweep: daemon.sh group 3);
#      a PUT a killed run left unfinished in the journal is read back;
#   4. a plan that cannot have it: spec.neonPlan free blocks the tenant
#      in plan (no call); an account that is free only live (sim
#      --plan free) fails the PUT with Neon's message and what to do.
set -uo pipefail
flotilla=$(realpath "$1")
sim=$(realpath "$2")
src=$(realpath "$3")
only_var=BACKUP_E2E_ONLY
keep_var=BACKUP_E2E_KEEP
. "$(dirname "$0")/lib.sh"
git_sandbox
key=e2e-backup-key
export NEON_API_KEY=$key
private_binaries
state=$(st "$tmp/state.db")
repo=$tmp/repo
GET_R="GET /projects/{project_id}/branches/{branch_id}/backup_schedule"
PUT_R="PUT /projects/{project_id}/branches/{branch_id}/backup_schedule"
# api METHOD PATH [BODY]: the sim's API directly, with the key
api() { curl -sf -X "$1" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' ${3:+-d "$3"} "$base/api/v2$2"; }
# live TENANT: the schedule the sim holds for TENANT's default branch, compact
# (its GET is counted in $tmp/own, which calls leaves out)
live() {
	local pid br
	echo >>"$tmp/own"
	pid=$(pid_of "$1" "$state")
	br=$(api GET "/projects/$pid/branches" | python3 -c 'import json,sys; print([b["id"] for b in json.load(sys.stdin)["branches"] if b["default"]][0])')
	api GET "/projects/$pid/branches/$br/backup_schedule" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["schedule"], sort_keys=True, separators=(",", ":")))'
}
# calls: "GETS PUTS" of the backup_schedule routes flotilla made so far
calls() { echo "$(($(route "$GET_R") - $(cat "$tmp/own" 2>/dev/null | wc -l))) $(route "$PUT_R")"; }
# apply_ok NAME [ARGS...]: apply, which must succeed
apply_ok() {
	local name=$1
	shift
	F apply --repo "$repo" --state "$state" --auto-approve "$@" >"$tmp/$name.out" 2>&1 ||
		fail "$name" "apply: $(tail -n 8 "$tmp/$name.out")"
}
# quiet NAME CALLS WHAT [ARGS...]: a plan that finds no change, after which calls says CALLS
quiet() {
	local name=$1 want=$2 what=$3 rc
	shift 3
	F plan --repo "$repo" --state "$state" --detailed-exitcode "$@" >"$tmp/$name.out" 2>&1
	rc=$?
	if [ "$rc" = 0 ] && [ "$(calls)" = "$want" ]; then ok "$what"
	else fail "$name" "exit $rc, calls $(calls) (want $want): $(cat "$tmp/$name.out")"; fi
}
# sched HOUR: acme's manifest with a daily schedule at HOUR
sched() { tenant_file "$repo" acme "backups:" "  schedule:" "    - {frequency: daily, hour: $1, retention: 7d}"; }

start_sim bk --op-delay-ms 0
fleet_file "$repo" bk b- "allowedRegions: [aws-us-east-2]" "defaults: {historyRetention: 6h}"
for t in acme bolt; do tenant_file "$repo" "$t"; done
mkrepo "$repo"
apply_ok setup

# ------------------------------------------------- 1. no schedule, no call
if want 1; then
	F plan --repo "$repo" --state "$state" --refresh full >"$tmp/p1.out" 2>&1
	if [ "$(calls)" = "0 0" ] && grep -q "No changes" "$tmp/p1.out"; then
		ok "tenants without a schedule: no backup_schedule call, even with --refresh full"
	else
		fail "no schedule" "calls $(calls): $(cat "$tmp/p1.out")"
	fi
fi

# --------------------------------------------- 2. set, change and remove
if want 2; then
	sched 3
	commit "$repo" "acme: daily backups"
	F plan --repo "$repo" --state "$state" >"$tmp/p2.out" 2>&1
	if [ "$(calls)" = "1 0" ] && grep -q "backups.schedule none -> daily at 03:00 keep 7d" "$tmp/p2.out" &&
		grep -q "1 to update" "$tmp/p2.out"; then
		ok "set: the plan reads acme's never-read schedule (one GET, none for bolt) and shows the change"
	else
		fail "set plan" "calls $(calls): $(cat "$tmp/p2.out")"
	fi
	apply_ok set
	if [ "$(calls)" = "1 1" ] && [ "$(field "$tmp/set.out" writes)" = 1 ] &&
		[ "$(live acme)" = '[{"frequency":"daily","hour":3,"retention_seconds":604800}]' ] &&
		[ "$(live bolt)" = '[]' ]; then
		ok "set: apply makes exactly one PUT, and Neon has the schedule"
	else
		fail "set" "calls $(calls), live $(live acme): $(cat "$tmp/set.out")"
	fi
	quiet p2b "1 1" "set: the next plan has no changes and no call (the PUT updated the cache)"
	sched 4
	commit "$repo" "acme: backups at 04:00"
	apply_ok change
	if [ "$(calls)" = "1 2" ] && [ "$(field "$tmp/change.out" writes)" = 1 ] &&
		[ "$(live acme)" = '[{"frequency":"daily","hour":4,"retention_seconds":604800}]' ]; then
		ok "change: exactly one PUT, no read"
	else
		fail "change" "calls $(calls), live $(live acme): $(cat "$tmp/change.out")"
	fi
fi

# ------------------------------------------------------------- 3. drift
if want 3; then
	pid=$(pid_of acme "$state")
	br=$(st_sql "$state" "SELECT branch_id FROM backup_schedules WHERE project_id = '$pid'")
	api PUT "/projects/$pid/branches/$br/backup_schedule" '{"schedule":[{"frequency":"weekly","day":7,"hour":1}]}' >/dev/null ||
		fail "drift" "the out-of-band PUT was refused"
	before=$(calls)
	quiet p3a "$before" "drift: a plain plan trusts the cached schedule (deep-only drift needs --refresh full or the daemon)"
	F refresh --full --repo "$repo" --state "$state" >"$tmp/r3.out" 2>&1 || fail "refresh" "$(cat "$tmp/r3.out")"
	F plan --repo "$repo" --state "$state" >"$tmp/p3r.out" 2>&1
	if [ "$(calls)" = "$((${before% *} + 1)) ${before#* }" ] &&
		grep -q "backups.schedule weekly day 7 at 01:00 -> daily at 04:00 keep 7d" "$tmp/p3r.out"; then
		ok "drift: refresh --full reads the schedule flotilla set (one GET), and a plain plan then shows the drift"
	else
		fail "drift refresh" "calls $(calls) (were $before): $(cat "$tmp/r3.out" "$tmp/p3r.out")"
	fi
	before=$(calls)
	F plan --repo "$repo" --state "$state" --refresh full >"$tmp/p3b.out" 2>&1
	if [ "$(calls)" = "$((${before% *} + 1)) ${before#* }" ] && grep -q "backups.schedule weekly day 7 at 01:00 -> daily at 04:00 keep 7d" "$tmp/p3b.out"; then
		ok "drift: plan --refresh full reads it (one GET: acme's, not bolt's) and shows the drift"
	else
		fail "drift full" "$(cat "$tmp/p3b.out")"
	fi
	puts=$(route "$PUT_R")
	apply_ok heal --refresh full
	if [ "$(route "$PUT_R")" = $((puts + 1)) ] && [ "$(field "$tmp/heal.out" writes)" = 1 ] &&
		[ "$(live acme)" = '[{"frequency":"daily","hour":4,"retention_seconds":604800}]' ]; then
		ok "drift: apply --refresh full heals it with one PUT"
	else
		fail "heal" "puts $(route "$PUT_R") (was $puts), live $(live acme): $(cat "$tmp/heal.out")"
	fi

	# a run that died after its PUT was sent: Neon has that schedule (here a
	# weekly one), the cache does not know; the next apply reads it back
	api PUT "/projects/$pid/branches/$br/backup_schedule" '{"schedule":[{"frequency":"weekly","day":7,"hour":1}]}' >/dev/null ||
		fail "crash" "the PUT was refused"
	now=$(date +%s)
	st_sql "$state" "INSERT INTO journal (tenant, project_id, action, intent_json, state, created_at, updated_at)
		VALUES ('acme', '$pid', 'PUT /projects/$pid/branches/$br/backup_schedule', '{}', 'sent', $now, $now)"
	before=$(calls)
	apply_ok crash
	if [ "$(calls)" = "$((${before% *} + 1)) $((${before#* } + 1))" ] &&
		grep -q "backups.schedule weekly day 7 at 01:00 -> daily at 04:00 keep 7d" "$tmp/crash.out" &&
		[ "$(live acme)" = '[{"frequency":"daily","hour":4,"retention_seconds":604800}]' ]; then
		ok "crash: a PUT a previous run left unfinished has its schedule read back (one GET), and apply converges it"
	else
		fail "crash" "calls $(calls) (were $before), live $(live acme): $(cat "$tmp/crash.out")"
	fi
fi

# ------------------------------------------------------------ 2b. remove
if want 2; then
	tenant_file "$repo" acme
	commit "$repo" "acme: no backups"
	before=$(calls)
	apply_ok remove
	if [ "$(calls)" = "${before% *} $((${before#* } + 1))" ] && [ "$(field "$tmp/remove.out" writes)" = 1 ] &&
		[ "$(live acme)" = '[]' ]; then
		ok "remove: exactly one PUT of an empty schedule"
	else
		fail "remove" "calls $(calls) (were $before), live $(live acme): $(cat "$tmp/remove.out")"
	fi
	quiet p2c "$(calls)" "remove: afterwards no tenant has a schedule, and no call is made for one" --refresh full
fi

# ------------------------------------------- 4. a plan that cannot have it
if want 4; then
	sched 3
	edit "$repo/flotilla.yaml" '  allowedRegions' '  neonPlan: free
  allowedRegions'
	commit "$repo" "free plan"
	before=$(calls)
	F plan --repo "$repo" --state "$state" >"$tmp/p4.out" 2>&1
	if grep -q "^! acme" "$tmp/p4.out" && grep -q "the free plan has no automated backups" "$tmp/p4.out" &&
		grep -q "to unblock: bring the tenant within the fleet's Neon plan" "$tmp/p4.out"; then
		ok "free plan (spec.neonPlan): plan blocks the tenant, with a hint"
	else
		fail "free blocked" "$(cat "$tmp/p4.out")"
	fi
	F apply --repo "$repo" --state "$state" --auto-approve >"$tmp/free-apply.out" 2>&1
	if [ "$(route "$PUT_R")" = "${before#* }" ] && grep -q "^! acme" "$tmp/free-apply.out"; then
		ok "free plan (spec.neonPlan): apply makes no PUT"
	else
		fail "free apply" "puts $(route "$PUT_R") (were ${before#* }): $(cat "$tmp/free-apply.out")"
	fi

	# free only live: the fleet does not say so, the account's PUT fails
	edit "$repo/flotilla.yaml" '  neonPlan: free
' ''
	commit "$repo" "plan not named"
	start_sim bkfree --op-delay-ms 0 --plan free
	st_rm "$state"
	F apply --repo "$repo" --state "$state" --auto-approve >"$tmp/free-live.out" 2>&1
	rc=$?
	if [ "$rc" != 0 ] && grep -q "not available on the free plan" "$tmp/free-live.out" &&
		grep -q "remove backups.schedule" "$tmp/free-live.out" && grep -q "spec.neonPlan: free" "$tmp/free-live.out"; then
		ok "free only live: the PUT fails with Neon's message and what to do"
	else
		fail "free live" "exit $rc: $(cat "$tmp/free-live.out")"
	fi
	before=$(calls)
	F plan --repo "$repo" --state "$state" >"$tmp/p4b.out" 2>&1
	if grep -q "^! acme" "$tmp/p4b.out" && grep -q "Neon refused its backup schedule (.*not available on the free plan)" "$tmp/p4b.out" &&
		grep -q "to unblock: remove backups.schedule, or move the account to a paid plan and plan with --refresh full" "$tmp/p4b.out" &&
		[ "$(calls)" = "$before" ]; then
		ok "free only live: the next plan blocks the tenant with a hint, and sends nothing"
	else
		fail "free live blocked" "calls $(calls) (were $before): $(cat "$tmp/p4b.out")"
	fi
fi
finish
