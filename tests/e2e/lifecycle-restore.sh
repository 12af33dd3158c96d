#!/usr/bin/env bash
# lifecycle-restore.sh FLOTILLA FLOTILLA_SIM SRCROOT: `flotilla restore`
# (issue 17, item 3) against a real flotilla-sim, git repository and state:
#   1. a marker written (the sim's data version bumped), the time noted,
#      written again; restore to the noted time: the branch holds the
#      first version, the preserved branch the second; by LSN too;
#   2. a following plan (pruneBranches: true) changes nothing for the
#      tenant and leaves the preserved branches alone; so do an apply and
#      a daemon's heal pass (drift: heal) that reads the tenant deep;
#   3. --cleanup-after sets the preserved branch's expires_at; status
#      TENANT and status (fleet-wide, text and JSON) list the preserved
#      branches with their age and expiry;
#   4. errors before any call: unknown tenant, unknown branch, a point
#      older than the history retention, a point in the future, a
#      --preserve-as without the prefix; no --auto-approve off a terminal;
#   5. a restore whose answer is lost (the sim resets the connection after
#      the restore ran): settled by the next apply, and by the next
#      restore, without a second restore or a second preserved branch.
set -uo pipefail
flotilla=$(realpath "$1")
sim=$(realpath "$2")
src=$(realpath "$3")
keep_var=RESTORE_E2E_KEEP # set: the temp dir is kept
. "$(dirname "$0")/lib.sh"
git_sandbox
key=e2e-restore-key
export NEON_API_KEY=$key
private_binaries
state=$(st "$tmp/state.db")
repo=$tmp/repo
write() { curl -sf -X POST "$base/__sim/write?project=$pid" | python3 -c 'import json,sys; print(json.load(sys.stdin)["lsn"])'; }
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }

start_sim restore --op-delay-ms 50
fleet_file "$repo" life r- "allowedRegions: [aws-us-east-2]" "pruneBranches: true" "drift: heal"
tenant_file "$repo" acme "historyRetention: 1h"
tenant_file "$repo" bolt
mkrepo "$repo"
F apply --repo "$repo" --state "$state" --auto-approve >"$tmp/apply.out" 2>&1 ||
	fail "setup" "apply: $(tail -n 5 "$tmp/apply.out")"
F refresh --full --repo "$repo" --state "$state" >/dev/null 2>&1 || fail "setup" "refresh --full"
pid=$(pid_of acme "$state")

# ---------------------------------------------------- 1. restore by time
# the sim's clock counts whole seconds from its own start, so its second
# may begin up to 1 s apart from date's: 2 s on each side of t1
write >/dev/null
sleep 2.1
t1=$(now)
sleep 2.1
write >/dev/null
main_before=$(data main)
if F restore acme --to "$t1" --preserve-as preserved-acme-1 --auto-approve --state "$state" >"$tmp/r1.out" 2>&1 &&
	grep -q "^  ~ branch main (br-[a-z0-9-]*): back to $t1" "$tmp/r1.out" &&
	grep -q "^  + branch preserved-acme-1: the state before the restore, left alone by flotilla; kept until deleted" "$tmp/r1.out" &&
	grep -q "^restored: branch br-[a-z0-9-]* of tenant 'acme' to $t1; preserved as preserved-acme-1 (br-" "$tmp/r1.out" &&
	[ "$main_before" = 2 ] && [ "$(data main)" = 1 ] && [ "$(data preserved-acme-1)" = 2 ]; then
	ok "restore to a time between two writes: main holds version 1, preserved-acme-1 version 2"
else
	fail "restore by time" "main was $main_before, is $(data main), preserved $(data preserved-acme-1): $(cat "$tmp/r1.out")"
fi
if [ "$(st_sql "$state" "SELECT state || ' ' || action FROM journal WHERE tenant = 'acme' ORDER BY id DESC LIMIT 1")" = \
	"done POST /projects/{id}/branches/{id}/restore" ]; then
	ok "the restore is journaled, done"
else
	fail "journal" "$(st_sql "$state" "SELECT state, action FROM journal WHERE tenant = 'acme'")"
fi

# by LSN: back to version 1's write after another write
lsn=$(curl -sf "$base/__sim/data?project=$pid" | python3 -c 'import json,sys; print(json.load(sys.stdin)["lsn"])')
write >/dev/null
if F restore acme --to "$lsn" --cleanup-after 2d --auto-approve --state "$state" >"$tmp/r2.out" 2>&1 &&
	[ "$(data main)" = 1 ]; then
	ok "restore by LSN: main back to version 1 (was 2)"
else
	fail "restore by LSN" "main $(data main): $(cat "$tmp/r2.out")"
fi

# ---------------------------------------- 3. --cleanup-after: expires_at
keep=$(sed -n 's/.*preserved as \(preserved-main-[0-9TZ]*\) .*/\1/p' "$tmp/r2.out")
exp=$(api "/projects/$pid/branches" | python3 -c 'import json,sys
for b in json.load(sys.stdin)["branches"]:
    if b["name"] == sys.argv[1]: print(b.get("expires_at", ""))' "$keep")
if [ -n "$keep" ] && python3 -c 'import sys,datetime as d
e = d.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%SZ"); n = d.datetime.utcnow()
assert d.timedelta(days=2) - d.timedelta(minutes=5) < e - n <= d.timedelta(days=2)' "$exp" 2>/dev/null; then
	ok "--cleanup-after 2d: $keep expires at $exp"
else
	fail "cleanup-after" "branch '$keep' expires_at '$exp': $(cat "$tmp/r2.out")"
fi

F status acme --state "$state" >"$tmp/status.out" 2>&1
if grep -q "^  preserved branch preserved-acme-1 (by a restore, left alone): made .* ago, no expiry$" "$tmp/status.out" &&
	grep -q "^  preserved branch $keep (by a restore, left alone): made .* ago, expires $exp$" "$tmp/status.out"; then
	ok "status acme lists both preserved branches with their age, and the expiry of the one that has one"
else
	fail "status" "$(cat "$tmp/status.out")"
fi
F status --state "$state" >"$tmp/fstatus.out" 2>&1
F status --state "$state" --format json >"$tmp/fstatus.json" 2>&1
if grep -q "^preserved branches (made by flotilla restore, left alone): 2, oldest first$" "$tmp/fstatus.out" &&
	[ "$(grep -A2 '^preserved branches' "$tmp/fstatus.out" | tail -n 2 | sed 's/: made .* ago,/:/')" = "  acme/preserved-acme-1: no expiry
  acme/$keep: expires $exp" ] &&
	python3 -c 'import json,sys
p = json.load(open(sys.argv[1]))["preserved_branches"]
assert p["count"] == 2, p
a, b = p["oldest"]
assert (a["tenant"], a["branch"], a["expires_at"]) == ("acme", "preserved-acme-1", None), a
assert (b["branch"], b["expires_at"], b["project_id"]) == (sys.argv[2], sys.argv[3], sys.argv[4]), b
assert a["created_at"] <= b["created_at"] and a["branch_id"].startswith("br-"), p' "$tmp/fstatus.json" "$keep" "$exp" "$pid"; then
	ok "status (fleet-wide) lists 2 preserved branches, oldest first, with age and expiry; so does --format json"
else
	fail "fleet status" "$(cat "$tmp/fstatus.out" "$tmp/fstatus.json")"
fi

# ----------------------------- 2. the next plan leaves the preserved alone
F plan --repo "$repo" --state "$state" --refresh full --detailed-exitcode >"$tmp/plan.out" 2>&1
rc=$?
if [ "$rc" = 0 ] && ! grep -q "preserved-.*delete\|^- .*preserved" "$tmp/plan.out" &&
	grep -q "^2 preserved branches left alone (made by flotilla restore): acme/preserved-acme-1, acme/$keep$" "$tmp/plan.out" &&
	! grep -q "did not make" "$tmp/plan.out" &&
	[ "$(api "/projects/$pid/branches" | python3 -c 'import json,sys; print(sum(b["name"].startswith("preserved-") for b in json.load(sys.stdin)["branches"]))')" = 2 ]; then
	ok "a following plan (pruneBranches: true) has no change: the preserved branches are left alone"
else
	fail "plan after restore" "exit $rc: $(cat "$tmp/plan.out")"
fi
F apply --repo "$repo" --state "$state" --auto-approve >"$tmp/apply2.out" 2>&1
if [ "$(api "/projects/$pid/branches" | python3 -c 'import json,sys; print(sum(b["name"].startswith("preserved-") for b in json.load(sys.stdin)["branches"]))')" = 2 ]; then
	ok "an apply with pruneBranches: true keeps both preserved branches"
else
	fail "apply after restore" "$(cat "$tmp/apply2.out")"
fi

# a daemon's heal pass: its drift sweep reads acme deep again (deep_at
# moves past t0), then one more reconcile; no branch deleted meanwhile
preserved_n() { api "/projects/$pid/branches" | python3 -c 'import json,sys; print(sum(b["name"].startswith("preserved-") for b in json.load(sys.stdin)["branches"]))'; }
deletes() { simstats | python3 -c 'import json,sys
print(sum(n for r, c in json.load(sys.stdin)["requests"].items() if r.startswith("DELETE") and "branches" in r for n in c.values()))'; }
reconciles() { curl -sf "$dbase/metrics" | awk '/^flotilla_reconciles_total/ {n += $2} END {print n + 0}'; }
del0=$(deletes)
t0=$(date +%s)
sleep 1.1 # deep_at counts whole seconds
"$flotilla" daemon --listen 127.0.0.1:0 --port-file "$tmp/d.port" --interval 1s --list-interval 1s --rate 1000 \
	--repo "$repo" --state "$state" 2>"$tmp/d.log" &
dpid=$!
for _ in $(seq 200); do [ -s "$tmp/d.port" ] && break; sleep 0.05; done
dbase="http://127.0.0.1:$(cat "$tmp/d.port" 2>/dev/null)"
healed= after=
for _ in $(seq 150); do # up to 30 s
	if [ -z "$healed" ] && [ "$(st_sql "$state" "SELECT deep_at FROM projects WHERE id = '$pid'")" -gt "$t0" ]; then
		healed=$(reconciles)
	elif [ -n "$healed" ] && [ "$(reconciles)" -gt "$healed" ]; then
		after=$(reconciles)
		break
	fi
	sleep 0.2
done
kill -TERM "$dpid" 2>/dev/null
wait "$dpid" 2>/dev/null
if [ -n "$after" ] && [ "$(preserved_n)" = 2 ] && [ "$(deletes)" = "$del0" ]; then
	ok "a daemon heal pass (drift: heal, pruneBranches: true) read acme deep, reconciled ($healed -> $after) and left both preserved branches"
else
	fail "daemon heal pass" "reconciles at the deep read '${healed:-none}', after '${after:-none}', preserved $(preserved_n), branch deletes $del0 -> $(deletes): $(tail -n 5 "$tmp/d.log")"
fi

# ------------------------------------------------------------- 4. errors
writes0=$(simstat '["writes_total"]')
err() { # NAME WANT ARGS...: restore ARGS fails (exit 1) saying WANT, no write made
	local name=$1 want=$2
	shift 2
	if F restore "$@" --auto-approve --state "$state" >"$tmp/e.out" 2>&1; then fail "$name" "exit 0"
	elif grep -q -- "$want" "$tmp/e.out" && [ "$(simstat '["writes_total"]')" = "$writes0" ]; then ok "error: $name"
	else fail "$name" "$(cat "$tmp/e.out")"; fi
}
err "unknown tenant" "no tenant 'acne'\|acne" acne --to "$(now)"
err "unknown branch" "tenant 'acme' has no branch 'nope' (its branches: " acme --to "$(now)" --branch nope
err "before the retention" "is older than project $pid keeps history (historyRetention 1h" acme --to 2020-01-01T00:00:00Z
err "in the future" "is in the future" acme --to 2099-01-01T00:00:00Z
err "not a point" "is neither an RFC 3339 UTC time" acme --to yesterday
err "preserve name" "starts with 'preserved-'" acme --to "$(now)" --preserve-as backup
err "name taken" "already has a branch 'preserved-acme-1'" acme --to "$(now)" --preserve-as preserved-acme-1
if F restore acme --to "$(now)" --state "$state" </dev/null >"$tmp/e.out" 2>&1; then fail "no tty" "exit 0"
elif grep -q "pass --auto-approve" "$tmp/e.out"; then ok "error: no terminal and no --auto-approve"
else fail "no tty" "$(cat "$tmp/e.out")"; fi
# ------------------------------------------------- 5. a lost answer
restores() { route "POST /projects/{project_id}/branches/{branch_id}/restore"; }
named() { api "/projects/$pid/branches" | python3 -c 'import json,sys; print(sum(b["name"] == sys.argv[1] for b in json.load(sys.stdin)["branches"]))' "$1"; }
# unfinished: the journal's restore rows not finished
unfinished() { st_sql "$state" "SELECT count(*) FROM journal WHERE state NOT IN ('done', 'failed', 'resolved') AND action LIKE '%/restore'"; }
# lost NAME: restore acme to a point between two writes, as NAME, its answer
# lost (a failure reported when not so); sets tl and vl (main's data version at tl)
lost() {
	write >/dev/null
	vl=$(data main)
	sleep 2.1
	tl=$(now)
	sleep 2.1
	write >/dev/null
	faults '{"reset_after_rate": 1}'
	F restore acme --to "$tl" --preserve-as "$1" --auto-approve --state "$state" >"$tmp/lost.out" 2>&1
	local rc=$?
	faults '{"reset_after_rate": 0}'
	[ "$rc" = 1 ] && [ "$(unfinished)" = 1 ] && [ "$(named "$1")" = 1 ] &&
		grep -q "outcome unknown.*; the journal keeps it: the next flotilla restore of this tenant (or flotilla apply) finds out whether it ran before it sends anything$" "$tmp/lost.out" ||
		{ fail "lost answer ($1)" "exit $rc, unfinished $(unfinished), $1 x$(named "$1"): $(cat "$tmp/lost.out")"; return 1; }
}

# the next apply settles it: resolved, the project read again, nothing sent twice
r0=$(restores)
if lost preserved-lost-1; then
	F apply --repo "$repo" --state "$state" --auto-approve >"$tmp/apply3.out" 2>&1
	if grep -q "settled 1 unfinished journal row" "$tmp/apply3.out" && [ "$(unfinished)" = 0 ] &&
		[ "$(restores)" = $((r0 + 1)) ] && [ "$(named preserved-lost-1)" = 1 ] && [ "$(data main)" = "$vl" ]; then
		ok "a restore whose answer was lost is settled by the next apply: one restore, one preserved branch"
	else
		fail "lost answer, apply" "restores $r0 -> $(restores), unfinished $(unfinished), preserved-lost-1 x$(named preserved-lost-1), main $(data main) (want $vl): $(cat "$tmp/apply3.out")"
	fi
fi

# the next restore settles it: the same restore again is not sent twice
r0=$(restores)
if lost preserved-lost-2; then
	F restore acme --to "$tl" --preserve-as preserved-lost-3 --cleanup-after 1d --auto-approve --state "$state" >"$tmp/again.out" 2>&1
	rc=$?
	exp2=$(api "/projects/$pid/branches" | python3 -c 'import json,sys
print([b.get("expires_at", "") for b in json.load(sys.stdin)["branches"] if b["name"] == "preserved-lost-2"][0])')
	if [ "$rc" = 0 ] && grep -q "^restore: an earlier restore of tenant 'acme' (journal row [0-9]*) lost its answer but had run: branch br-[a-z0-9-]* is back to $tl, preserved as preserved-lost-2 (br-" "$tmp/again.out" &&
		grep -q "^restore: that is this restore: not sent again$" "$tmp/again.out" &&
		[ -n "$exp2" ] && grep -q "^restore: preserved branch preserved-lost-2 expires $exp2$" "$tmp/again.out" &&
		[ "$(unfinished)" = 0 ] && [ "$(restores)" = $((r0 + 1)) ] && [ "$(named preserved-lost-2)" = 1 ] &&
		[ "$(named preserved-lost-3)" = 0 ] && [ "$(data main)" = "$vl" ] &&
		[ "$(st_sql "$state" "SELECT error FROM journal WHERE tenant = 'acme' AND state = 'resolved' ORDER BY id DESC LIMIT 1")" = \
			"the restore had run: its preserved branch preserved-lost-2 ($(api "/projects/$pid/branches" | python3 -c 'import json,sys; print([b["id"] for b in json.load(sys.stdin)["branches"] if b["name"] == "preserved-lost-2"][0])')) is there" ]; then
		ok "a restore whose answer was lost is settled by the next restore of the same point: not sent again, no second preserved branch; its --cleanup-after sets the expiry the lost answer never reached"
	else
		fail "lost answer, restore" "exit $rc, expires_at '$exp2', restores $r0 -> $(restores), unfinished $(unfinished), main $(data main) (want $vl): $(cat "$tmp/again.out")"
	fi
	# settled: the next restore (by LSN, after another write) is sent
	lsn=$(curl -sf "$base/__sim/data?project=$pid" | python3 -c 'import json,sys; print(json.load(sys.stdin)["lsn"])')
	write >/dev/null
	F restore acme --to "$lsn" --auto-approve --state "$state" >"$tmp/again2.out" 2>&1
	rc=$?
	if [ "$rc" = 0 ] && [ "$(restores)" = $((r0 + 2)) ] && [ "$(data main)" = "$vl" ]; then
		ok "with the lost restore settled, the next restore is sent"
	else
		fail "restore after settling" "exit $rc, restores $r0 -> $(restores): $(cat "$tmp/again2.out")"
	fi
fi

# lost, then a restore to another point: the lost one had run, so this one
# is refused (the branch changed since its plan), nothing sent
r0=$(restores)
if lost preserved-lost-4; then
	F restore acme --to "$lsn" --auto-approve --state "$state" >"$tmp/other.out" 2>&1
	rc=$?
	if [ "$rc" = 1 ] && grep -q "had run: branch br-[a-z0-9-]* is back to $tl, preserved as preserved-lost-4" "$tmp/other.out" &&
		grep -q "not restoring again to $lsn, as the branch changed since the plan above; run flotilla restore again" "$tmp/other.out" &&
		[ "$(restores)" = $((r0 + 1)) ] && [ "$(unfinished)" = 0 ]; then
		ok "a lost restore that had run, then a restore to another point: refused, nothing sent twice"
	else
		fail "lost answer, other point" "exit $rc, restores $r0 -> $(restores): $(cat "$tmp/other.out")"
	fi
fi

# lost, then the same restore whose expiry PATCH fails (a 500 after it ran):
# exit 1 naming the expiry, the restore not sent again
r0=$(restores)
if lost preserved-lost-6; then
	faults '{"error_after_rate": 1}'
	F restore acme --to "$tl" --preserve-as preserved-lost-7 --cleanup-after 1d --auto-approve --state "$state" >"$tmp/exp.out" 2>&1
	rc=$?
	faults '{"error_after_rate": 0}'
	if [ "$rc" = 1 ] && grep -q "^restore: that is this restore: not sent again$" "$tmp/exp.out" &&
		grep -q "tenant 'acme': setting the expiry of preserved branch preserved-lost-6: .*500" "$tmp/exp.out" &&
		[ "$(restores)" = $((r0 + 1)) ] && [ "$(named preserved-lost-7)" = 0 ] &&
		[ "$(st_sql "$state" "SELECT state || ' ' || action FROM journal ORDER BY id DESC LIMIT 1")" = "unknown PATCH /projects/{id}/branches/{id}" ]; then
		ok "a lost restore settled, its expiry PATCH failing: exit 1 naming it, the PATCH journaled unknown, the restore not sent again"
	else
		fail "lost answer, expiry" "exit $rc, restores $r0 -> $(restores): $(cat "$tmp/exp.out")"
	fi
fi

# the connection reset before the restore ran: the next restore finds no
# preserved branch, resolves the row as not run, and restores
r0=$(restores)
faults '{"reset_rate": 1}'
F restore acme --to "$lsn" --preserve-as preserved-lost-5 --auto-approve --state "$state" >"$tmp/lost5.out" 2>&1
rc=$?
# with every request reset the earlier one cannot be settled: nothing sent
F restore acme --to "$lsn" --preserve-as preserved-lost-5 --auto-approve --state "$state" >"$tmp/unsettled.out" 2>&1
rc1=$?
faults '{"reset_rate": 0}'
if [ "$rc1" = 1 ] && grep -q "settling an earlier restore left unfinished: reading project $pid back, to see whether an earlier restore had run: .*; nothing was sent" "$tmp/unsettled.out" &&
	[ "$(unfinished)" = 1 ] && [ "$(restores)" = $((r0 + 1)) ]; then
	ok "an earlier restore that cannot be settled (the project cannot be read): refused, nothing sent"
else
	fail "unsettled" "exit $rc1, unfinished $(unfinished), restores $r0 -> $(restores): $(cat "$tmp/unsettled.out")"
fi
F restore acme --to "$lsn" --preserve-as preserved-lost-5 --auto-approve --state "$state" >"$tmp/again5.out" 2>&1
rc2=$?
if [ "$rc" = 1 ] && [ "$rc2" = 0 ] &&
	grep -q "^restore: an earlier restore of tenant 'acme' (journal row [0-9]*, to $lsn) lost its answer and had not run (no branch preserved-lost-5): restoring now$" "$tmp/again5.out" &&
	[ "$(restores)" = $((r0 + 2)) ] && [ "$(named preserved-lost-5)" = 1 ] && [ "$(unfinished)" = 0 ]; then
	ok "a restore reset before it ran is resolved as not run by the next restore, which is sent"
else
	fail "reset before" "exits $rc $rc2, restores $r0 -> $(restores) (the reset one counted too): $(cat "$tmp/lost5.out" "$tmp/again5.out")"
fi
finish
