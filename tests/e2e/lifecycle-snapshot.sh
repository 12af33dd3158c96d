#!/usr/bin/env bash
# lifecycle-snapshot.sh FLOTILLA FLOTILLA_SIM SRCROOT: `flotilla restore
# --snapshot` (issue 17, item 3, "or a snapshot") against a real
# flotilla-sim, git repository and state:
#   1. a snapshot taken between two writes (the sim's data version), then
#      restored by name: main holds the snapshot's version under a new
#      branch id with the computes, the branch it replaced is kept as the
#      preserved branch with its expiry; three journaled calls;
#   2. a following plan (pruneBranches: true, read in full) has no change:
#      the backup schedule moved with the default branch, the preserved
#      branch is left alone, and status lists it;
#   3. --snapshot latest takes the branch's newest snapshot;
#   4. errors before any write: an unknown snapshot (its snapshots listed),
#      a branch without snapshots, --to with --snapshot;
#   5. a snapshot restore whose answer is lost (the sim resets the
#      connection after it ran): the next run of the same restore finishes
#      it with the finalize alone, without a second restore.
set -uo pipefail
flotilla=$(realpath "$1")
sim=$(realpath "$2")
src=$(realpath "$3")
keep_var=SNAPSHOT_E2E_KEEP # set: the temp dir is kept
. "$(dirname "$0")/lib.sh"
git_sandbox
key=e2e-snapshot-key
export NEON_API_KEY=$key
private_binaries
state=$(st "$tmp/state.db")
repo=$tmp/repo
write() { curl -sf -X POST "$base/__sim/write?project=$pid" >/dev/null; }
# branch NAME FIELD: a field of acme's branch NAME, as the sim lists it
branch() { api "/projects/$pid/branches" | python3 -c 'import json,sys
b=[b for b in json.load(sys.stdin)["branches"] if b["name"] == sys.argv[1]]
print(b[0].get(sys.argv[2], "") if b else "")' "$1" "$2"; }
# snapshot NAME: take a snapshot of acme's main now; prints its id
snapshot() { curl -sf -X POST -H "Authorization: Bearer $key" "$base/api/v2/projects/$pid/branches/$(branch main id)/snapshot?name=$1" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["snapshot"]["id"])'; }
calls() { route "$1"; }
SNAP="POST /projects/{project_id}/snapshots/{snapshot_id}/restore"
FIN="POST /projects/{project_id}/branches/{branch_id}/finalize_restore"

start_sim snap --op-delay-ms 50
fleet_file "$repo" life s- "allowedRegions: [aws-us-east-2]" "pruneBranches: true"
# acme's schedule makes snapshots in Neon; it moves with the default branch
tenant_file "$repo" acme "backups:" "  schedule:" "    - {frequency: daily, hour: 3, retention: 7d}"
tenant_file "$repo" bolt
mkrepo "$repo"
F apply --repo "$repo" --state "$state" --auto-approve >"$tmp/apply.out" 2>&1 ||
	fail "setup" "apply: $(tail -n 5 "$tmp/apply.out")"
F refresh --full --repo "$repo" --state "$state" >/dev/null 2>&1 || fail "setup" "refresh --full"
pid=$(pid_of acme "$state")

# ------------------------------------------------ 1. restore by name
write
snap1=$(snapshot before-bad)
write
old=$(branch main id)
endpoint=$(api "/projects/$pid/endpoints" | python3 -c 'import json,sys; print(json.load(sys.stdin)["endpoints"][0]["id"])')
s0=$(calls "$SNAP"); f0=$(calls "$FIN"); p0=$(calls "PATCH /projects/{project_id}/branches/{branch_id}")
F restore acme --snapshot before-bad --preserve-as preserved-snap-1 --cleanup-after 2d --auto-approve --state "$state" \
	>"$tmp/r1.out" 2>&1
rc=$?
new=$(branch main id)
on=$(api "/projects/$pid/endpoints/$endpoint" | python3 -c 'import json,sys; print(json.load(sys.stdin)["endpoint"]["branch_id"])')
if [ "$rc" = 0 ] && grep -q "^  ~ branch main ($old): replaced by snapshot before-bad ($snap1, taken " "$tmp/r1.out" &&
	grep -q "^  + branch preserved-snap-1: main as it was ($old, renamed), left alone by flotilla; expires " "$tmp/r1.out" &&
	grep -q "^restored: tenant 'acme' from snapshot before-bad ($snap1): branch $new now holds it and the computes; the branch it replaced is preserved as preserved-snap-1 ($old), expires " "$tmp/r1.out" &&
	[ "$new" != "$old" ] && [ "$on" = "$new" ] && [ "$(data main)" = 1 ] && [ "$(data preserved-snap-1)" = 2 ] &&
	[ "$(branch preserved-snap-1 id)" = "$old" ] && [ -n "$(branch preserved-snap-1 expires_at)" ] &&
	[ "$(branch main default)" = True ]; then
	ok "restore --snapshot by name: main holds version 1 under a new id with the compute, preserved-snap-1 (the old main) version 2, expiring"
else
	fail "restore by name" "exit $rc, main $old -> $new (compute on $on), data $(data main)/$(data preserved-snap-1): $(cat "$tmp/r1.out")"
fi
if [ "$(( $(calls "$SNAP") - s0 ))" = 1 ] && [ "$(( $(calls "$FIN") - f0 ))" = 1 ] &&
	[ "$(( $(calls "PATCH /projects/{project_id}/branches/{branch_id}") - p0 ))" = 1 ] &&
	[ "$(st_sql "$state" "SELECT state || ' ' || action FROM journal WHERE tenant = 'acme' ORDER BY id DESC LIMIT 3" | paste -sd,)" = \
		"done PATCH /projects/{id}/branches/{id},done POST /projects/{id}/branches/{id}/finalize_restore,done POST /projects/{id}/snapshots/{id}/restore" ]; then
	ok "three calls (restore, finalize, expiry), each journaled and done"
else
	fail "calls" "$(calls "$SNAP") $(calls "$FIN"): $(st_sql "$state" "SELECT state, action FROM journal WHERE tenant = 'acme'")"
fi

# -------------------------------------- 2. plan and status leave it alone
F plan --repo "$repo" --state "$state" --refresh full >"$tmp/plan.out" 2>&1
if grep -q "preserved branch.* left alone (made by flotilla restore): acme/preserved-snap-1" "$tmp/plan.out" &&
	grep -q "^No changes" "$tmp/plan.out" &&
	! grep -q "preserved-snap-1.*delete\|^- .*preserved-snap-1" "$tmp/plan.out"; then
	ok "a plan (pruneBranches: true) has no change: the restored main is the tenant's main, the preserved branch is left alone"
else fail "plan" "$(cat "$tmp/plan.out")"; fi
F status acme --state "$state" >"$tmp/status.out" 2>&1
grep -q "preserved branch preserved-snap-1 (by a restore, left alone)" "$tmp/status.out" &&
	ok "status acme lists the preserved branch" || fail "status" "$(cat "$tmp/status.out")"

# -------------------------------------------------- 3. --snapshot latest
write
snap2=$(snapshot second)
write
if F restore acme --snapshot latest --auto-approve --state "$state" >"$tmp/r3.out" 2>&1 &&
	grep -q "^restored: tenant 'acme' from snapshot second ($snap2)" "$tmp/r3.out" && [ "$(data main)" = "$(( $(data preserved-snap-1) ))" ]; then
	ok "--snapshot latest takes the branch's newest snapshot"
else fail "latest" "$(cat "$tmp/r3.out")"; fi

# ------------------------------------------------ 4. errors, nothing sent
s0=$(calls "$SNAP")
err() { # NAME WANT ARGS...: restore ARGS fails saying WANT
	local name=$1 want=$2
	shift 2
	if F restore "$@" --auto-approve --state "$state" >"$tmp/e.out" 2>&1; then fail "$name" "exit 0"
	elif grep -q -- "$want" "$tmp/e.out"; then ok "error: $name"
	else fail "$name" "$(cat "$tmp/e.out")"; fi
}
err "an unknown snapshot" "project $pid has no snapshot 'nope' (its snapshots: second ($snap2, " acme --snapshot nope \
	--preserve-as preserved-e1
err "no snapshot of the branch" "has no snapshot of branch main (it has none); a backups.schedule in the manifest makes them" \
	bolt --snapshot latest
err "--to and --snapshot" "--to and --snapshot: give one of them" acme --snapshot latest --to 0/1
[ "$(calls "$SNAP")" = "$s0" ] && ok "no restore was sent for them" || fail "errors" "a restore was sent"

# ---------------------------------------------------- 5. a lost answer
write
v=$(data main)
snap3=$(snapshot third)
write
s0=$(calls "$SNAP"); f0=$(calls "$FIN")
faults '{"reset_after_rate": 1}'
F restore acme --snapshot third --auto-approve --state "$state" >"$tmp/lost.out" 2>&1
rc=$?
faults '{"reset_after_rate": 0}'
staging=preserved-snapshot-$snap3
if [ "$rc" = 1 ] && grep -q "outcome unknown" "$tmp/lost.out" && [ -n "$(branch "$staging" id)" ] &&
	[ "$(( $(calls "$FIN") - f0 ))" = 0 ]; then
	ok "a snapshot restore whose answer was lost: exit 1, its staging branch $staging made, nothing finalized"
else fail "lost" "exit $rc, staging '$(branch "$staging" id)': $(cat "$tmp/lost.out")"; fi
F restore acme --snapshot third --auto-approve --state "$state" >"$tmp/again.out" 2>&1
rc=$?
if [ "$rc" = 0 ] && grep -q "^restore: an earlier restore of snapshot $snap3 (journal row [0-9]*) made branch $staging (br-[a-z0-9-]*) and lost its answer: finalizing that branch now$" "$tmp/again.out" &&
	grep -q "^restore: branch $staging (br-[a-z0-9-]*) already holds snapshot $snap3: only the finalize is sent$" "$tmp/again.out" &&
	[ "$(( $(calls "$SNAP") - s0 ))" = 1 ] && [ "$(( $(calls "$FIN") - f0 ))" = 1 ] &&
	[ "$(data main)" = "$v" ] && [ -z "$(branch "$staging" id)" ] &&
	[ "$(st_sql "$state" "SELECT count(*) FROM journal WHERE state NOT IN ('done', 'failed', 'resolved')")" = 0 ]; then
	ok "the same restore again finishes it: the finalize alone, one snapshot restore in all, main holds version $v"
else
	fail "lost, again" "exit $rc, restores $(( $(calls "$SNAP") - s0 )), finalizes $(( $(calls "$FIN") - f0 )), main $(data main) (want $v): $(cat "$tmp/again.out")"
fi
finish
