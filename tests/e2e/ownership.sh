#!/usr/bin/env bash
# ownership.sh FLOTILLA FLOTILLA_SIM SRCROOT: what flotilla owns and what it
# does not (issue 12), end to end against a real flotilla-sim on loopback
# and real git repositories:
#   1. a saved plan is applied once: applied again, or after another apply,
#      it is refused and makes no write; a DELETE answered 404 is done;
#   2. read replicas are named (replica-N): one whose create answered a
#      500 after it ran is found by its name, never made twice;
#   3. identity before every create: the adoption matrix on a new state
#      file (annotated: adopted; name only, another fleet's, two
#      claimants: blocked, exit 4); a plan file whose create was made
#      since is skipped as stale;
#   4. a stale state file: apply 100, copy the state file, apply 100 more,
#      restore the copy: the plan creates nothing, the apply adopts 100.
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

# mkproject NAME [FLEET TENANT]: a project made behind flotilla's back,
# annotated as flotilla annotates its own when FLEET is given; prints its id
mkproject() {
	local ann='{}'
	[ $# -ge 3 ] && ann="{\"flotilla.fleet\": \"$2\", \"flotilla.tenant\": \"$3\"}"
	curl -sf -X POST -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
		"$NEON_API_HOST/projects" -d "{\"project\": {\"name\": \"$1\", \"region_id\": \"aws-us-east-2\", \"pg_version\": 17, \"branch\": {\"annotations\": $ann}}}" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["project"]["id"])'
}
# own_fleet DIR N...: a fleet "own" (prefix o-) of the tenants named
own_fleet() {
	local d=$1 t
	shift
	mkdir -p "$d/tenants"
	printf 'apiVersion: flotilla/v1\nkind: Fleet\nmetadata: {name: own}\nspec:\n  namePrefix: "o-"\n  allowedRegions: [aws-us-east-2]\n' >"$d/flotilla.yaml"
	for t in "$@"; do
		printf 'apiVersion: flotilla/v1\nkind: Tenant\nmetadata: {name: %s}\nspec: {}\n' "$t" >"$d/tenants/$t.yaml"
	done
}
creates() { simstat '["requests"].get("POST /projects", {}).get("201", 0)'; }
named() { curl -sf -H "Authorization: Bearer $key" "$NEON_API_HOST/projects?limit=400&search=$1" |
	python3 -c "import json,sys; print(sum(p['name'] == '$1' for p in json.load(sys.stdin)['projects']))"; }

# ------------------------------------------ 3. identity before creates
if want 3; then
	start_sim matrix --op-delay-ms 0
	p1=$(mkproject o-a1 own a1)
	p2=$(mkproject o-a2)
	p3=$(mkproject o-a3 other a3)
	p4a=$(mkproject o-a4)
	p4b=$(mkproject o-a4 own a4)
	own_fleet "$tmp/matrix-src" a1 a2 a3 a4 a5
	mkrepo "$tmp/matrix" "$tmp/matrix-src"
	st=$tmp/matrix.db
	F plan --repo "$tmp/matrix" --state "$st" --detailed-exitcode >"$tmp/m-plan.out" 2>&1
	pc=$?
	if [ "$pc" = 4 ] && grep -q "^= a1" "$tmp/m-plan.out" && grep -q "^+ a5" "$tmp/m-plan.out" &&
		grep -q "flotilla adopt a2 $p2" "$tmp/m-plan.out" && grep -q "$p3 (named 'o-a3', annotated for fleet 'other'" "$tmp/m-plan.out" &&
		grep -q "2 projects claim it" "$tmp/m-plan.out" && grep -q "$p4a" "$tmp/m-plan.out" && grep -q "$p4b" "$tmp/m-plan.out" &&
		grep -q "1 to create, 1 to adopt" "$tmp/m-plan.out"; then
		ok "a new state file: annotated adopted, name only / another fleet's / two claimants blocked and named, exit 4"
	else
		fail "matrix plan" "exit $pc: $(cat "$tmp/m-plan.out")"
	fi
	before=$(creates)
	F apply --repo "$tmp/matrix" --state "$st" --auto-approve >"$tmp/m-apply.out" 2>&1
	ac=$?
	mapped=$(sqlite3 "$st" "SELECT project_id FROM tenants WHERE tenant = 'a1'")
	if [ "$ac" = 4 ] && [ "$(($(creates) - before))" = 1 ] && [ "$mapped" = "$p1" ] &&
		grep -q "Adopted: 1 tenant" "$tmp/m-apply.out" && [ "$(named o-a2)" = 1 ] && [ "$(named o-a3)" = 1 ] &&
		[ "$(named o-a4)" = 2 ] && [ "$(named o-a1)" = 1 ] && [ "$(named o-a5)" = 1 ]; then
		ok "apply: a1 mapped to its project with no POST, only a5 created, the blocked left as they were, exit 4"
	else
		fail "matrix apply" "exit $ac, $(($(creates) - before)) creates, a1 -> '$mapped' (want $p1): $(tail -n 8 "$tmp/m-apply.out")"
	fi
	# a plan file's create whose project was made since is skipped, not sent
	printf 'apiVersion: flotilla/v1\nkind: Tenant\nmetadata: {name: a6}\nspec: {}\n' >"$tmp/matrix/tenants/a6.yaml"
	commit "$tmp/matrix" "a6 joins"
	F plan --repo "$tmp/matrix" --state "$st" --select name=a6 --out "$tmp/m6.plan" >"$tmp/m6.out" 2>&1
	mkproject o-a6 >/dev/null
	before=$(creates)
	F apply "$tmp/m6.plan" --state "$st" >"$tmp/m6-apply.out" 2>&1
	if [ "$(($(creates) - before))" = 0 ] && [ "$(named o-a6)" = 1 ] &&
		grep -q "a project of its name exists now" "$tmp/m6-apply.out"; then
		ok "a plan file's create is searched first: a project of its name made since skips it as stale"
	else
		fail "plan file create" "$(($(creates) - before)) creates: $(tail -n 6 "$tmp/m6-apply.out")"
	fi
	no_dups && fail "matrix" "the sim should hold the two o-a4 made by hand" || true
fi

# --------------------------------------------------- 4. stale state
if want 4; then
	start_sim stale --op-delay-ms 0
	own_fleet "$tmp/stale-src" $(seq -f 's%03g' 1 100)
	mkrepo "$tmp/stale" "$tmp/stale-src"
	st=$tmp/stale.db
	F apply --repo "$tmp/stale" --state "$st" --rate 1000 --auto-approve >"$tmp/s1.out" 2>&1
	cp "$st" "$tmp/stale-copy.db"
	for i in $(seq -f 's%03g' 101 200); do
		printf 'apiVersion: flotilla/v1\nkind: Tenant\nmetadata: {name: %s}\nspec: {}\n' "$i" >"$tmp/stale/tenants/$i.yaml"
	done
	commit "$tmp/stale" "100 more"
	F apply --repo "$tmp/stale" --state "$st" --rate 1000 --auto-approve >"$tmp/s2.out" 2>&1
	cp "$tmp/stale-copy.db" "$st"
	before=$(creates)
	# one tenant alone: its name is searched (the copy's list is young)
	F plan --repo "$tmp/stale" --state "$st" --rate 1000 --select name=s150 --verbose >"$tmp/s-one.out" 2>&1
	F plan --repo "$tmp/stale" --state "$st" --rate 1000 --format json >"$tmp/s-plan.json" 2>"$tmp/s-plan.err"
	summary=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; print(s["create"], s["adopt"])' "$tmp/s-plan.json" 2>&1)
	F apply --repo "$tmp/stale" --state "$st" --rate 1000 --auto-approve >"$tmp/s3.out" 2>&1
	ac=$?
	if [ "$(field "$tmp/s1.out" created)" = 100 ] && [ "$(field "$tmp/s2.out" created)" = 100 ] &&
		grep -q "each name searched, 1 project found by name (1 new to the cache)" "$tmp/s-one.out" &&
		grep -q "^= s150" "$tmp/s-one.out" && [ "$summary" = "0 100" ] && [ "$ac" = 0 ] &&
		[ "$(($(creates) - before))" = 0 ] && grep -q "Adopted: 100 tenants" "$tmp/s3.out" &&
		[ "$(sqlite3 "$st" "SELECT count(*) FROM tenants")" = 200 ] && no_dups; then
		ok "a state file restored from an older copy: the plan adopts the 100 made since (create 0), the apply creates nothing"
	else
		fail "stale state" "plan create/adopt '$summary', apply exit $ac, $(($(creates) - before)) creates: $(cat "$tmp/s-one.out"; tail -n 5 "$tmp/s3.out")"
	fi
fi

stop_sim # a leak report of the sim comes at its exit
sanitizer_reports "$tmp"/*.out "$tmp"/*.simlog
echo "# ownership.sh took $(($(date +%s) - t_start)) s"
exit $failed
