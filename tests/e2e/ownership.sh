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
#      restore the copy: the plan creates nothing, the apply adopts 100;
#   5. flotilla adopt: by name, by id (renamed by the next apply), refused
#      for another fleet's; the marks survive a lost state file; and
#      --all-matching takes over 1,000 projects a script made;
#   6. managed branches: flotilla deletes only the branches it made that
#      the manifest dropped (a protected one unprotected first); a branch
#      made by hand survives plan and apply, unless pruneBranches: true;
#      replicas of a branch whose protection the manifest removed go;
#   7. where the state file lives: the default .flotilla/ ignores itself;
#      one inside the manifest repository, or tracked by git, is warned of;
#      a state file serves the one fleet it records.
# OWNERSHIP_E2E_ONLY=1 runs only some groups.
set -uo pipefail
flotilla=$(realpath "$1")
sim=$(realpath "$2")
src=$(realpath "$3")
only_var=OWNERSHIP_E2E_ONLY
. "$(dirname "$0")/lib.sh"
git_sandbox
key=e2e-ownership-key
export NEON_API_KEY=$key
private_binaries
# own_fleet DIR TENANT...: a fleet "own" (prefix o-) of the tenants named
own_fleet() {
	local d=$1 t
	shift
	fleet_file "$d" own o- "allowedRegions: [aws-us-east-2]"
	for t in "$@"; do tenant_file "$d" "$t"; done
}
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
		grep -q "was made at state generation 0, and the state is at 1" "$tmp/a2.out"; then
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
	pid=$(pid_of fabrikam "$st")
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
	own_fleet "$d"
	for i in $(seq -w 1 30); do tenant_file "$d" "r$i" "readReplicas: 2"; done
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
	mapped=$(pid_of a1 "$st")
	if [ "$ac" = 4 ] && [ "$(($(creates) - before))" = 1 ] && [ "$mapped" = "$p1" ] &&
		grep -q "Adopted: 1 tenant" "$tmp/m-apply.out" && [ "$(named o-a2)" = 1 ] && [ "$(named o-a3)" = 1 ] &&
		[ "$(named o-a4)" = 2 ] && [ "$(named o-a1)" = 1 ] && [ "$(named o-a5)" = 1 ]; then
		ok "apply: a1 mapped to its project with no POST, only a5 created, the blocked left as they were, exit 4"
	else
		fail "matrix apply" "exit $ac, $(($(creates) - before)) creates, a1 -> '$mapped' (want $p1): $(tail -n 8 "$tmp/m-apply.out")"
	fi
	# a plan file's create whose project was made since is skipped, not sent
	tenant_file "$tmp/matrix" a6
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
	for i in $(seq -f 's%03g' 101 200); do tenant_file "$tmp/stale" "$i"; done
	commit "$tmp/stale" "100 more"
	F apply --repo "$tmp/stale" --state "$st" --rate 1000 --auto-approve >"$tmp/s2.out" 2>&1
	cp "$tmp/stale-copy.db" "$st"
	before=$(creates)
	# one tenant alone: its name is searched (the copy's list is young)
	F plan --repo "$tmp/stale" --state "$st" --rate 1000 --select name=s150 --verbose >"$tmp/s-one.out" 2>&1
	F plan --repo "$tmp/stale" --state "$st" --rate 1000 --format json >"$tmp/s-plan.json" 2>"$tmp/s-plan.err"
	summary="$(summary "$tmp/s-plan.json" create 2>&1) $(summary "$tmp/s-plan.json" adopt 2>&1)"
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

# branches_of PROJECT: "name:fleet:tenant:owner" per branch, sorted
branches_of() {
	curl -sf -H "Authorization: Bearer $key" "$NEON_API_HOST/projects/$1/branches" | python3 -c '
import json, sys
d = json.load(sys.stdin)
ann = d.get("annotations", {})
out = []
for b in d["branches"]:
    v = ann.get(b["id"], {}).get("value", {})
    out.append("%s:%s:%s:%s" % (b["name"], v.get("flotilla.fleet", ""), v.get("flotilla.tenant", ""), v.get("flotilla.owner", "")))
print(" ".join(sorted(out)))'
}

# ------------------------------------------------------- 5. flotilla adopt
if want 5; then
	start_sim adopt --op-delay-ms 0
	b1=$(mkproject o-b1)
	b2=$(mkproject legacy-db)
	b3=$(mkproject o-b3 other b3)
	own_fleet "$tmp/adopt-src" b1 b2 b3 b4
	mkrepo "$tmp/adopt" "$tmp/adopt-src"
	st=$tmp/adopt.db
	A() { F adopt --repo "$tmp/adopt" --state "$st" --auto-approve --rate 1000 "$@"; }
	A b1 >"$tmp/ad1.out" 2>&1
	c1=$?
	A b2 "$b2" >"$tmp/ad2.out" 2>&1
	c2=$?
	A b3 >"$tmp/ad3.out" 2>&1
	c3=$?
	A b4 >"$tmp/ad4.out" 2>&1
	c4=$?
	if [ "$c1" = 0 ] && [ "$(pid_of b1 "$st")" = "$b1" ] &&
		[ "$(branches_of "$b1")" = "flotilla-owner:own:b1:adopt main:::" ] && grep -q "^= b1: " "$tmp/ad1.out" &&
		grep -q "The plan that follows" "$tmp/ad1.out"; then
		ok "adopt b1: the project named o-b1 is marked (branch flotilla-owner) and mapped, exit 0"
	else
		fail "adopt by name" "exit $c1, branches '$(branches_of "$b1")': $(cat "$tmp/ad1.out")"
	fi
	if [ "$c2" = 0 ] && grep -q "name legacy-db -> o-b2" "$tmp/ad2.out" && [ "$c3" = 4 ] &&
		grep -q "belongs to fleet 'other'" "$tmp/ad3.out" && [ "$(branches_of "$b3")" = "main:other:b3:" ] &&
		[ "$c4" = 4 ] && grep -q "no project carries its name (o-b4)" "$tmp/ad4.out"; then
		ok "adopt by id (the next plan renames it), another fleet's refused and untouched, nothing to adopt: exit 4"
	else
		fail "adopt matrix" "exits $c2 $c3 $c4: $(cat "$tmp/ad2.out" "$tmp/ad3.out" "$tmp/ad4.out")"
	fi
	before=$(creates)
	# b3 is another fleet's: its tenant stays blocked, the rest converges
	F apply --repo "$tmp/adopt" --state "$st" --auto-approve --rate 1000 >"$tmp/ad-apply.out" 2>&1
	ac=$?
	# the marks outlive the state file
	F plan --repo "$tmp/adopt" --state "$tmp/adopt-new.db" --rate 1000 --format json >"$tmp/ad-new.out" 2>"$tmp/ad-new.err"
	kinds=$(python3 -c 'import json,sys; print(" ".join("%s:%s" % (a["tenant"], a["kind"]) for a in json.load(open(sys.argv[1]))["actions"]))' "$tmp/ad-new.out" 2>&1)
	if [ "$ac" = 4 ] && [ "$(($(creates) - before))" = 1 ] && [ "$(named o-b2)" = 1 ] && [ "$(named legacy-db)" = 0 ] &&
		[ "$kinds" = "b1:adopt b2:adopt b3:blocked b4:adopt" ]; then
		ok "apply after adopt: b4 alone created, legacy-db renamed o-b2; a new state file adopts b1 and b2 by their marks"
	else
		fail "after adopt" "apply exit $ac, $(($(creates) - before)) creates, new state plan '$kinds': $(tail -n 5 "$tmp/ad-apply.out")"
	fi

	# a mark Neon refuses (the free plan's 10 branches are taken): the
	# tenant is not mapped, and stays blocked
	start_sim adopt-limit --op-delay-ms 0 --plan free
	f1=$(mkproject o-b1)
	for i in $(seq 1 9); do
		curl -sf -X POST -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
			"$NEON_API_HOST/projects/$f1/branches" -d "{\"branch\": {\"name\": \"dev-$i\"}}" >/dev/null
	done
	st=$tmp/adopt-limit.db
	A b1 >"$tmp/ad-limit.out" 2>&1
	lc=$?
	F plan --repo "$tmp/adopt" --state "$st" --rate 1000 --select name=b1 --detailed-exitcode >"$tmp/ad-limit-plan.out" 2>&1
	lp=$?
	if [ "$lc" = 3 ] && grep -q "^! b1 failed: .*branches limit of 10 exceeded" "$tmp/ad-limit.out" &&
		[ "$(sqlite3 "$st" "SELECT count(*) FROM tenants")" = 0 ] && [ "$lp" = 4 ] &&
		grep -q "flotilla adopt b1 $f1" "$tmp/ad-limit-plan.out"; then
		ok "a mark Neon refuses (branch limit): exit 3, the tenant is not mapped, and the plan still blocks its create"
	else
		fail "adopt refused" "adopt exit $lc, plan exit $lp: $(cat "$tmp/ad-limit.out" "$tmp/ad-limit-plan.out")"
	fi

	# a fleet that exists before flotilla: 1,000 projects a script made
	start_sim adopt-all --op-delay-ms 0
	python3 - "$NEON_API_HOST" "$key" <<'PY'
import json, sys, urllib.request
host, key = sys.argv[1:3]
for i in range(1, 1001):
    body = json.dumps({"project": {"name": "o-m%04d" % i, "region_id": "aws-us-east-2", "pg_version": 17}}).encode()
    req = urllib.request.Request(host + "/projects", data=body, method="POST",
                                 headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
PY
	own_fleet "$tmp/all-src" $(seq -f 'm%04g' 1 1000)
	mkrepo "$tmp/all" "$tmp/all-src"
	st=$tmp/all.db
	before=$(creates)
	w0=$(writes)
	r0=$(simstat '["requests_total"]')
	t0=$(date +%s%N)
	F adopt --all-matching --repo "$tmp/all" --state "$st" --auto-approve --rate 1000 --parallel 16 >"$tmp/all.out" 2>&1
	ac=$?
	adopt_ms=$((($(date +%s%N) - t0) / 1000000))
	adopt_req=$(($(simstat '["requests_total"]') - r0))
	w1=$(writes)
	F apply --repo "$tmp/all" --state "$st" --auto-approve --rate 1000 >"$tmp/all-apply.out" 2>&1
	pc=$?
	marked=$(sqlite3 "$st" "SELECT count(*) FROM branches WHERE name = 'flotilla-owner' AND annotations_json LIKE '%\"flotilla.owner\"%'")
	if [ "$ac" = 0 ] && grep -q "Adopted: 1,000 tenants mapped to their projects, 1,000 marks written, 0 failed" "$tmp/all.out" &&
		[ "$((w1 - w0))" = 1000 ] && [ "$marked" = 1000 ] && [ "$pc" = 0 ] && [ "$(($(creates) - before))" = 0 ] &&
		[ "$(sqlite3 "$st" "SELECT count(*) FROM tenants WHERE source = 'adopt'")" = 1000 ] && no_dups; then
		ok "adopt --all-matching of 1,000 projects made by a script: 1,000 marks (one write each), then apply creates nothing"
	else
		fail "adopt all" "adopt exit $ac ($((w1 - w0)) writes, $marked marked), apply exit $pc, $(($(creates) - before)) creates: $(grep -v '^=' "$tmp/all.out" | tail -n 12; tail -n 4 "$tmp/all-apply.out")"
	fi
	echo "# adopt --all-matching of 1,000: $(grep -m1 '^Adopted' "$tmp/all.out") in $adopt_ms ms, $adopt_req requests"
	# DESIGN's form, --match PATTERN: three more, the mapped m1000 not looked at
	for i in 1001 1002 1003; do
		mkproject "o-m$i" >/dev/null
		tenant_file "$tmp/all" "m$i"
	done
	commit "$tmp/all" "three more"
	F adopt --match 'm100*' --repo "$tmp/all" --state "$st" --auto-approve --rate 1000 >"$tmp/match.out" 2>&1
	mc=$?
	if [ "$mc" = 0 ] && grep -q "Adopted: 3 tenants mapped to their projects, 3 marks written, 0 failed" "$tmp/match.out" &&
		grep -q "Adopt: 3 to adopt (3 calls), 0 refused" "$tmp/match.out"; then
		ok "adopt --match 'm100*': the three new ones adopted, m1000 (mapped) left as it is"
	else
		fail "adopt --match" "exit $mc: $(grep -v '^=' "$tmp/match.out" | head -20)"
	fi
fi

# ------------------------------------------------------ 6. managed branches
if want 6; then
	start_sim branches --op-delay-ms 5
	d=$tmp/br-src
	own_fleet "$d"
	cat >"$d/tenants/u1.yaml" <<'YAML'
apiVersion: flotilla/v1
kind: Tenant
metadata: {name: u1}
spec:
  branches:
    - name: main
    - name: staging
      protected: true
    - name: dev
      parent: staging
YAML
	cat >"$d/tenants/u2.yaml" <<'YAML'
apiVersion: flotilla/v1
kind: Tenant
metadata: {name: u2}
spec:
  readReplicas: 2
  branches:
    - name: main
      protected: true
YAML
	mkrepo "$tmp/br" "$d"
	st=$tmp/br.db
	AP() { F apply --repo "$tmp/br" --state "$st" --auto-approve --rate 1000 "$@"; }
	AP >"$tmp/b1.out" 2>&1 || fail "branches setup" "$(tail -n 5 "$tmp/b1.out")"
	u1=$(pid_of u1 "$st")
	main=$(curl -sf -H "Authorization: Bearer $key" "$NEON_API_HOST/projects/$u1/branches" | python3 -c 'import json,sys; print([b["id"] for b in json.load(sys.stdin)["branches"] if b["default"]][0])')
	for b in preview-7 hotfix; do
		curl -sf -X POST -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
			"$NEON_API_HOST/projects/$u1/branches" -d "{\"branch\": {\"name\": \"$b\", \"parent_id\": \"$main\"}}" >/dev/null
	done
	hot=$(curl -sf -H "Authorization: Bearer $key" "$NEON_API_HOST/projects/$u1/branches" | python3 -c 'import json,sys; print([b["id"] for b in json.load(sys.stdin)["branches"] if b["name"] == "hotfix"][0])')
	curl -sf -X PATCH -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
		"$NEON_API_HOST/projects/$u1/branches/$hot" -d '{"branch": {"protected": true}}' >/dev/null
	if [ "$(branches_of "$u1")" = "dev:own:u1: hotfix::: main:own:u1: preview-7::: staging:own:u1:" ]; then
		ok "the branches flotilla makes carry its marks; those made by hand do not"
	else
		fail "branch marks" "$(branches_of "$u1")"
	fi
	# the manifest drops staging (protected) and dev; u2's main loses its
	# protection and one replica
	tenant_file "$tmp/br" u1
	tenant_file "$tmp/br" u2 "readReplicas: 1" "branches:" "  - name: main" "    protected: false"
	commit "$tmp/br" "u1 drops staging and dev; u2 one replica, unprotected"
	# hand-made branches move nothing the cache fingerprints: --refresh full sees them
	F plan --repo "$tmp/br" --state "$st" --rate 1000 --refresh full >"$tmp/b-plan.out" 2>&1
	AP >"$tmp/b2.out" 2>&1
	c2=$?
	u2=$(pid_of u2 "$st")
	ro=$(curl -sf -H "Authorization: Bearer $key" "$NEON_API_HOST/projects/$u2/endpoints" | python3 -c 'import json,sys; print(sorted(e.get("name") for e in json.load(sys.stdin)["endpoints"] if e["type"] == "read_only"))')
	if [ "$c2" = 0 ] && [ "$(branches_of "$u1")" = "hotfix::: main:own:u1: preview-7:::" ] && [ "$ro" = "['replica-1']" ] &&
		grep -q "branches\[staging\].protected true -> false" "$tmp/b-plan.out" &&
		grep -q "2 branches not in the manifests are left alone: flotilla did not make them (see pruneBranches): u1/hotfix, u1/preview-7" "$tmp/b-plan.out"; then
		ok "dropped branches flotilla made are deleted (staging unprotected first), hotfix and preview-7 survive; u2 unprotected, then its replica-2 removed"
	else
		fail "managed branches" "apply exit $c2, u1 '$(branches_of "$u1")', u2 replicas $ro: $(cat "$tmp/b-plan.out"; tail -n 4 "$tmp/b2.out")"
	fi
	# pruneBranches: true reaches them, but not hotfix's protection
	edit "$tmp/br/flotilla.yaml" 'namePrefix: "o-"' 'namePrefix: "o-"
  pruneBranches: true'
	commit "$tmp/br" "pruneBranches"
	AP >"$tmp/b3.out" 2>&1
	c3=$?
	curl -sf -X PATCH -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
		"$NEON_API_HOST/projects/$u1/branches/$hot" -d '{"branch": {"protected": false}}' >/dev/null
	AP >"$tmp/b4.out" 2>&1
	c4=$?
	if [ "$c3" = 4 ] && grep -q "branch 'hotfix' is protected and flotilla did not make it" "$tmp/b3.out" &&
		[ "$c4" = 0 ] && [ "$(branches_of "$u1")" = "main:own:u1:" ]; then
		ok "pruneBranches: true: blocked while hotfix is protected by hand (exit 4), then both hand-made branches deleted"
	else
		fail "pruneBranches" "exits $c3 $c4, u1 '$(branches_of "$u1")': $(tail -n 6 "$tmp/b3.out" "$tmp/b4.out")"
	fi
fi

# ------------------------------------------------- 7. the state file's place
if want 7; then
	start_sim place --op-delay-ms 0
	own_fleet "$tmp/place-src" p1
	mkrepo "$tmp/place" "$tmp/place-src"
	(cd "$tmp/place" && "$flotilla" plan --rate 1000 >"$tmp/pl1.out" 2>&1)
	c1=$?
	clean=$(git -C "$tmp/place" status --porcelain)
	inside=$tmp/place/state.db
	F plan --repo "$tmp/place" --state "$inside" --rate 1000 >"$tmp/pl2.out" 2>&1
	git -C "$tmp/place" add state.db && git -C "$tmp/place" commit -qm "the state file, by mistake"
	F plan --repo "$tmp/place" --state "$inside" --rate 1000 >"$tmp/pl3.out" 2>&1
	if [ "$c1" = 0 ] && [ -f "$tmp/place/.flotilla/state.db" ] && [ "$clean" = "" ] &&
		! grep -q "warning" "$tmp/pl1.out" &&
		grep -q "warning: the state file '$inside' is inside the git repository '$tmp/place' and not ignored" "$tmp/pl2.out" &&
		grep -q "warning: the state file '$inside' is tracked by git in '$tmp/place'" "$tmp/pl3.out"; then
		ok "the default .flotilla/ is ignored by its own .gitignore; a state file inside the repository or tracked by git is warned of"
	else
		fail "state place" "git status '$clean': $(cat "$tmp/pl1.out" "$tmp/pl2.out" "$tmp/pl3.out")"
	fi
	# the matrix state file is fleet own's; a fleet "other" may not use it
	F apply --repo "$tmp/place" --state "$tmp/place.db" --auto-approve --rate 1000 >"$tmp/pl4.out" 2>&1
	edit "$tmp/place/flotilla.yaml" "metadata: {name: own}" "metadata: {name: other}"
	git -C "$tmp/place" commit -qam "another fleet"
	w=$(writes)
	F plan --repo "$tmp/place" --state "$tmp/place.db" --rate 1000 >"$tmp/pl5.out" 2>&1
	c5=$?
	F apply --repo "$tmp/place" --state "$tmp/place.db" --auto-approve --rate 1000 >"$tmp/pl6.out" 2>&1
	c6=$?
	if [ "$c5" = 1 ] && [ "$c6" = 1 ] && [ "$(writes)" = "$w" ] &&
		grep -q "the state file belongs to fleet 'own', and the manifests at .* are fleet 'other'" "$tmp/pl5.out"; then
		ok "a state file serves the fleet it records: another fleet's plan and apply refuse it (exit 1, no write)"
	else
		fail "state fleet" "plan $c5, apply $c6: $(cat "$tmp/pl5.out" "$tmp/pl6.out")"
	fi
fi

finish "$tmp"/*.out "$tmp"/*.simlog
