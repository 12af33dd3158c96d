#!/usr/bin/env bash
# ownership.sh FLOTILLA FLOTILLA_SIM SRCROOT: what flotilla owns and what it
# does not (issue 12), end to end against a real flotilla-sim on loopback
# and real git repositories:
#   1. a saved plan is applied once: applied again, or after another apply,
#      it is refused and makes no write; a DELETE answered 404 is done;
#   2. read replicas are named (replica-N): one whose create answered a
#      500 after it ran is found by its name, never made twice.
# OWNERSHIP_E2E_ONLY=1 runs only some groups.
set -uo pipefail
flotilla=$(realpath "$1")
sim=$(realpath "$2")
src=$(realpath "$3")
tmp=$(mktemp -d)
failed=0
sim_pid=
cleanup() {
	[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
ok() { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; failed=1; }
want() { [ -z "${OWNERSHIP_E2E_ONLY:-}" ] || [[ ",$OWNERSHIP_E2E_ONLY," == *",$1,"* ]]; }
export GIT_CONFIG_NOSYSTEM=1 HOME="$tmp" GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com \
	GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com
key=e2e-ownership-key
export NEON_API_KEY=$key
t_start=$(date +%s)
cp "$flotilla" "$tmp/flotilla" && cp "$sim" "$tmp/flotilla-sim" && flotilla=$tmp/flotilla sim=$tmp/flotilla-sim
. "$(dirname "$0")/lib.sh"
F() { "$flotilla" "$@"; }
commit() { git -C "$1" add -A && git -C "$1" commit -qm "$2"; }
writes() { simstat '["writes_total"]'; }

# --------------------------------------------- 1. single-use plan files
if want 1; then
	start_sim plans --op-delay-ms 0
	mkrepo "$tmp/plans" "$src/examples/fleet"
	st=$tmp/plans.db
	F plan --repo "$tmp/plans" --state "$st" --out "$tmp/p1.plan" >"$tmp/p1.out" 2>&1
	F apply "$tmp/p1.plan" --state "$st" >"$tmp/a1.out" 2>&1
	a=$?
	w=$(writes)
	F apply "$tmp/p1.plan" --state "$st" >"$tmp/a2.out" 2>&1
	b=$?
	if [ "$a" = 0 ] && [ "$b" = 1 ] && [ "$(writes)" = "$w" ] &&
		grep -q "was made at state generation 0, and the state file is at 1" "$tmp/a2.out"; then
		ok "a plan file applied twice: the second is refused, no write"
	else
		fail "plan file twice" "apply $a then $b, writes $w then $(writes): $(tail -n 3 "$tmp/a2.out")"
	fi
	# a plan made before another apply is refused too
	F plan --repo "$tmp/plans" --state "$st" --out "$tmp/p2.plan" >"$tmp/p2.out" 2>&1
	edit "$tmp/plans/tenants/us/pro/fabrikam.yaml" "computeTime: 1000h" "computeTime: 900h"
	commit "$tmp/plans" "fabrikam computes less"
	F apply --repo "$tmp/plans" --state "$st" --auto-approve >"$tmp/a3.out" 2>&1
	w=$(writes)
	F apply "$tmp/p2.plan" --state "$st" >"$tmp/a4.out" 2>&1
	b=$?
	if [ "$b" = 1 ] && [ "$(writes)" = "$w" ] && grep -q "another apply ran since" "$tmp/a4.out"; then
		ok "a plan file made before another apply is refused, no write"
	else
		fail "plan file after apply" "exit $b: $(tail -n 3 "$tmp/a4.out")"
	fi
	# a DELETE that finds nothing left to delete is done, not failed
	edit "$tmp/plans/flotilla.yaml" "prune: false" "prune: true"
	git -C "$tmp/plans" rm -q tenants/us/pro/fabrikam.yaml
	commit "$tmp/plans" "fabrikam leaves"
	F plan --repo "$tmp/plans" --state "$st" --out "$tmp/p3.plan" >"$tmp/p3.out" 2>&1
	pid=$(sqlite3 "$st" "SELECT project_id FROM tenants WHERE tenant = 'fabrikam'")
	curl -sf -X DELETE -H "Authorization: Bearer $key" "$NEON_API_HOST/projects/$pid" >/dev/null
	F apply "$tmp/p3.plan" --state "$st" >"$tmp/a5.out" 2>&1
	c=$?
	left=$(sqlite3 "$st" "SELECT count(*) FROM tenants WHERE tenant = 'fabrikam'")
	if [ "$c" = 0 ] && [ "$(field "$tmp/a5.out" deleted)" = 1 ] && [ "$left" = 0 ]; then
		ok "a DELETE answered 404 is done: the tenant is unmapped, exit 0"
	else
		fail "delete 404" "exit $c, still mapped $left: $(tail -n 4 "$tmp/a5.out")"
	fi
	no_dups || fail "plans" "duplicate project names"
fi

# ------------------------------- 2. read replicas are named and found
if want 2; then
	start_sim replicas --op-delay-ms 20
	d=$tmp/rep-src
	mkdir -p "$d/tenants"
	printf 'apiVersion: flotilla/v1\nkind: Fleet\nmetadata: {name: own}\nspec:\n  namePrefix: "o-"\n  allowedRegions: [aws-us-east-2]\n' >"$d/flotilla.yaml"
	for i in $(seq -w 1 30); do
		printf 'apiVersion: flotilla/v1\nkind: Tenant\nmetadata: {name: r%s}\nspec: {readReplicas: 2}\n' "$i" >"$d/tenants/r$i.yaml"
	done
	mkrepo "$tmp/rep" "$d"
	# 30% of the writes run and then answer 500: their outcome is unknown
	faults '{"error_after_rate": 0.3, "seed": 11}'
	rounds=0 code=1
	while [ "$rounds" -lt 4 ] && [ "$code" != 0 ]; do
		rounds=$((rounds + 1))
		F apply --repo "$tmp/rep" --state "$tmp/rep.db" --auto-approve --continue-on-error >"$tmp/r$rounds.out" 2>&1
		code=$?
	done
	faults '{"error_after_rate": 0}'
	counts=$(for p in $(sqlite3 "$tmp/rep.db" "SELECT project_id FROM tenants"); do
		curl -sf -H "Authorization: Bearer $key" "$NEON_API_HOST/projects/$p/endpoints" |
			python3 -c 'import json,sys; e=json.load(sys.stdin)["endpoints"]; ro=[x.get("name") for x in e if x["type"]=="read_only"]; print(len(ro), len(set(ro)), sorted(ro)==["replica-1","replica-2"])'
	done | sort | uniq -c | tr -s ' ')
	# every unknown outcome is settled within the run (a replica by its
	# name), so one round converges
	if [ "$code" = 0 ] && [ "$rounds" = 1 ] && [ "$counts" = " 30 2 2 True" ] && no_dups; then
		ok "30 tenants of 2 replicas under 30% unknown outcomes: converged in one run, every project has replica-1 and replica-2 once"
	else
		fail "named replicas" "exit $code after $rounds rounds; replicas per project (count unique named): $counts: $(tail -n 4 "$tmp/r$rounds.out")"
	fi
fi

stop_sim # a leak report of the sim comes at its exit
sanitizer_reports "$tmp"/*.out "$tmp"/*.simlog
echo "# ownership.sh took $(($(date +%s) - t_start)) s"
exit $failed
