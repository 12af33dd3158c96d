#!/usr/bin/env bash
# harsh.sh FLOTILLA FLOTILLA_SIM SRCROOT: flotilla against a flotilla-sim as
# harsh as real Neon (issue 11), each behaviour behind the sim's flag or
# fault key (docs/sim.md), on loopback with real git repositories:
#   1. org_id: a personal key (--require-org-id): without spec.orgId plan
#      stops with a message that says how to set and find it; with it,
#      apply, refresh and plan work and every list names the org;
#   2. pages cut short: HARSH_TENANTS (default 10,000) converged tenants,
#      then 5% of each page unavailable: refresh keeps all of them, the plan
#      is clean; with every project unreadable the refresh is incomplete
#      (exit 1), the cache keeps all of them, a new tenant is blocked
#      (exit 4) and nothing is created, until a refresh completes;
#   3. tenant activity: 1,000 converged tenants and --activity 200 for 10
#      sim minutes: plan --refresh auto makes the list calls and no deep
#      read; a profile change applied under activity (423s from Neon's own
#      operations) converges with no failed tenant;
#   4. operations that fail: 10% retried by Neon converge in one apply;
#      operations that fail for good fail their tenants by name (exit 3);
#   5. plan limits: past the sim's project limit, creates are refused by
#      the sim and reported per tenant; retention above the fleet's plan is
#      blocked by the plan (and reported by validate) before any call; a
#      project with a protected branch is not pruned;
#   6. a project so busy that the operation a write waits for falls off
#      the first page of its operations: it is read by id.
# Every group also checks that no two projects ever share a name.
# HARSH_E2E_ONLY=1,3 runs only some of them.
set -uo pipefail
flotilla=$(realpath "$1")
sim=$(realpath "$2")
src=$(realpath "$3")
only_var=HARSH_E2E_ONLY
. "$(dirname "$0")/lib.sh"
git_sandbox
key=e2e-harsh-key
export NEON_API_KEY=$key
private_binaries

# gen N DIR: a generated fleet (bench/gen-fleet) whose plans always list
gen() {
	gen_fleet "$1" "$2"
	sed -i 's/^  refreshInterval:.*/  refreshInterval: 1s/' "$2/flotilla.yaml"
}
# fleet DIR [SPEC-LINES...]: a small fleet's flotilla.yaml
fleet() { fleet_file "$1" harsh h- "allowedRegions: [aws-us-east-2]" "refreshInterval: 1s" "${@:2}"; }
cached() { sqlite3 "$1" "SELECT count(*) FROM projects"; }

# ------------------------------------------------------- 1. org_id
if want 1; then
	org=org-harsh-00000001
	start_sim org --op-delay-ms 0 --require-org-id --org-id "$org"
	d=$tmp/org-src
	fleet "$d"
	tenant_file "$d" acme
	tenant_file "$d" globex
	mkrepo "$tmp/org" "$d"
	F plan --repo "$tmp/org" --state "$tmp/org.db" >"$tmp/org1.out" 2>"$tmp/org1.err"
	code=$?
	if [ "$code" = 1 ] && grep -q "org_id is required" "$tmp/org1.err" && grep -q "spec.orgId" "$tmp/org1.err" &&
		grep -q "neon orgs list" "$tmp/org1.err" && [ "$(simstat '["writes_total"]')" = 0 ]; then
		ok "without spec.orgId a personal key's plan stops: Neon's 400 and how to set and find the org"
	else
		fail "org_id missing" "exit $code: $(cat "$tmp/org1.err")"
	fi
	edit "$tmp/org/flotilla.yaml" '  namePrefix: "h-"' "  namePrefix: \"h-\"
  orgId: $org"
	commit "$tmp/org" "org"
	F apply --repo "$tmp/org" --state "$tmp/org.db" --auto-approve >"$tmp/org2.out" 2>&1
	a=$?
	F refresh --dir "$tmp/org" --state "$tmp/org.db" >"$tmp/org3.out" 2>&1
	r=$?
	F plan --repo "$tmp/org" --state "$tmp/org.db" --refresh full --detailed-exitcode >"$tmp/org4.out" 2>&1
	p=$?
	listed=$(curl -sf -H "Authorization: Bearer $key" "$NEON_API_HOST/projects?limit=10&org_id=$org" |
		python3 -c 'import json,sys; print(len(json.load(sys.stdin)["projects"]))')
	bad=$(simstats | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"].get("GET /projects", {}).get("400", 0))')
	if [ "$a" = 0 ] && [ "$r" = 0 ] && [ "$p" = 0 ] && [ "$listed" = 2 ] && [ "$bad" = 1 ]; then
		ok "with spec.orgId: apply, refresh and a clean plan; both projects in the org, no further 400"
	else
		fail "org_id set" "apply $a, refresh $r, plan $p, listed $listed, 400s $bad: $(tail -n 3 "$tmp/org2.out" "$tmp/org3.out" "$tmp/org4.out")"
	fi
	no_dups || fail "org_id" "duplicate project names"
fi

# ---------------------------------------------- 2. pages cut short
if want 2; then
	n=${HARSH_TENANTS:-10000}
	start_sim pages --op-delay-ms 0
	gen "$n" "$tmp/pages-src"
	mkrepo "$tmp/pages" "$tmp/pages-src"
	pstate=$tmp/pages.db
	s0=$(date +%s)
	F apply --repo "$tmp/pages" --state "$pstate" --auto-approve --rate 10000 --parallel 32 >"$tmp/p1.out" 2>&1
	a=$?
	[ "$a" = 0 ] || fail "pages: converge $n" "exit $a: $(tail -n 5 "$tmp/p1.out")"
	faults '{"unavailable_rate": 0.05}'
	F refresh --dir "$tmp/pages" --state "$pstate" --rate 10000 >"$tmp/p2.out" 2>&1
	r=$?
	named=$(simstat '["unavailable_listed"]')
	F plan --repo "$tmp/pages" --state "$pstate" --rate 10000 --detailed-exitcode >"$tmp/p3.out" 2>&1
	p=$?
	if [ "$r" = 0 ] && [ "$(cached "$pstate")" = "$n" ] && [ "$named" -gt 0 ] && [ "$p" = 0 ] &&
		grep -q "named unavailable by the list" "$tmp/p2.out"; then
		ok "5% of each page unavailable ($named named): refresh read them one by one, the cache holds all $n, the plan is clean"
	else
		fail "pages at 5%" "refresh $r, cached $(cached "$pstate"), named $named, plan $p: $(tail -n 3 "$tmp/p2.out" "$tmp/p3.out")"
	fi
	faults '{"unavailable_rate": 1}'
	F refresh --dir "$tmp/pages" --state "$pstate" --rate 10000 >"$tmp/p4.out" 2>&1
	r=$?
	tenant_file "$tmp/pages" newcomer-000001
	commit "$tmp/pages" "a new tenant"
	w0=$(simstat '["writes_total"]')
	F plan --repo "$tmp/pages" --state "$pstate" --rate 10000 --detailed-exitcode >"$tmp/p5.out" 2>&1
	p=$?
	F apply --repo "$tmp/pages" --state "$pstate" --rate 10000 --auto-approve >"$tmp/p6.out" 2>&1
	a=$?
	if [ "$r" = 1 ] && grep -q "incomplete" "$tmp/p4.out" && [ "$(cached "$pstate")" = "$n" ] && [ "$p" = 4 ] &&
		grep -q "last list of the live fleet was incomplete" "$tmp/p5.out" && [ "$a" = 4 ] &&
		[ "$(simstat '["writes_total"]')" = "$w0" ]; then
		ok "nothing readable: refresh incomplete (exit 1), all $n still cached, the new tenant blocked (exit 4), no write"
	else
		fail "pages at 100%" "refresh $r, cached $(cached "$pstate"), plan $p, apply $a, writes $(( $(simstat '["writes_total"]') - w0 )): $(tail -n 3 "$tmp/p4.out" "$tmp/p5.out" "$tmp/p6.out")"
	fi
	faults '{"unavailable_rate": 0}'
	F apply --repo "$tmp/pages" --state "$pstate" --rate 10000 --auto-approve >"$tmp/p7.out" 2>&1
	a=$?
	if [ "$a" = 0 ] && [ "$(field "$tmp/p7.out" created)" = 1 ] && no_dups; then
		ok "once a list completes, the new tenant is created, once; no duplicate project"
	else
		fail "pages recovered" "apply $a: $(tail -n 3 "$tmp/p7.out")"
	fi
	echo "# pages: $n tenants in $(($(date +%s) - s0)) s"
fi

# ---------------------------------------------------- 3. activity
if want 3; then
	start_sim busy --op-delay-ms 50 --time-scale 60 --activity 200
	gen 1000 "$tmp/busy-src"
	mkrepo "$tmp/busy" "$tmp/busy-src"
	bstate=$tmp/busy.db
	F apply --repo "$tmp/busy" --state "$bstate" --auto-approve --rate 10000 --parallel 32 >"$tmp/b1.out" 2>&1
	a=$?
	[ "$a" = 0 ] || fail "activity: converge" "exit $a: $(tail -n 5 "$tmp/b1.out")"
	# 10 minutes of the sim's clock: 200 wake-ups a minute over 1,000 tenants
	w0=$(simstat '["activity"]["wakes"]')
	sleep 10
	wakes=$(( $(simstat '["activity"]["wakes"]') - w0 ))
	l0=$(route "GET /projects") d0=$(route "GET /projects/{project_id}/branches") t0=$(simstat '["requests_total"]')
	F plan --repo "$tmp/busy" --state "$bstate" --refresh auto --rate 10000 --detailed-exitcode >"$tmp/b2.out" 2>&1
	p=$?
	lists=$(( $(route "GET /projects") - l0 )) deep=$(( $(route "GET /projects/{project_id}/branches") - d0 ))
	calls=$(( $(simstat '["requests_total"]') - t0 ))
	if [ "$p" = 0 ] && [ "$wakes" -ge 1000 ] && [ "$deep" = 0 ] && [ "$calls" = "$lists" ] && [ "$lists" -ge 3 ]; then
		ok "after $wakes wake-ups: plan --refresh auto made $lists list calls and no deep read, no changes"
	else
		fail "activity plan" "exit $p, wakes $wakes, calls $calls, lists $lists, deep $deep: $(tail -n 3 "$tmp/b2.out")"
	fi
	# a profile change applied while tenants keep waking up
	edit "$tmp/busy/profiles/free.yaml" "maxCu: 1" "maxCu: 2"
	commit "$tmp/busy" "free tier autoscales to 2"
	l423=$(simstats | python3 -c 'import json,sys; print(sum(v.get("423", 0) for v in json.load(sys.stdin)["requests"].values()))')
	F apply --repo "$tmp/busy" --state "$bstate" --auto-approve --rate 10000 --parallel 32 >"$tmp/b3.out" 2>&1
	a=$?
	locked=$(( $(simstats | python3 -c 'import json,sys; print(sum(v.get("423", 0) for v in json.load(sys.stdin)["requests"].values()))') - l423 ))
	F plan --repo "$tmp/busy" --state "$bstate" --refresh full --rate 10000 --detailed-exitcode >"$tmp/b4.out" 2>&1
	p=$?
	if [ "$a" = 0 ] && [ "$(field "$tmp/b3.out" failed)" = 0 ] && [ "$(field "$tmp/b3.out" updated)" -gt 0 ] &&
		[ "$p" = 0 ] && [ "$locked" -gt 0 ]; then
		ok "a profile change under activity: $(field "$tmp/b3.out" updated) tenants updated through $locked 423s, none failed, converged"
	else
		fail "activity apply" "apply $a, failed $(field "$tmp/b3.out" failed), 423s $locked, plan $p: $(grep -m3 -i "fail" "$tmp/b3.out"; tail -n 3 "$tmp/b4.out")"
	fi
	no_dups || fail "activity" "duplicate project names"
fi

# ------------------------------------------- 4. operations that fail
if want 4; then
	start_sim ops --op-delay-ms 40
	gen 200 "$tmp/ops-src"
	mkrepo "$tmp/ops" "$tmp/ops-src"
	ostate=$tmp/ops.db
	faults '{"op_retry_rate": 0.1}'
	F apply --repo "$tmp/ops" --state "$ostate" --auto-approve --rate 10000 --parallel 16 >"$tmp/o1.out" 2>&1
	a=$?
	retried=$(simstat '["operations"]["retried"]')
	F plan --repo "$tmp/ops" --state "$ostate" --refresh full --rate 10000 --detailed-exitcode >"$tmp/o2.out" 2>&1
	p=$?
	if [ "$a" = 0 ] && [ "$(field "$tmp/o1.out" created)" = 200 ] && [ "$retried" -gt 0 ] && [ "$p" = 0 ]; then
		ok "10% of operations failed once and were retried by Neon ($retried): one apply converged 200 tenants"
	else
		fail "retried operations" "apply $a, created $(field "$tmp/o1.out" created), retried $retried, plan $p: $(tail -n 5 "$tmp/o1.out")"
	fi
	faults '{"op_retry_rate": 0, "op_fail_rate": 1}'
	edit "$tmp/ops/profiles/pro.yaml" "historyRetention: 7d" "historyRetention: 6d"
	commit "$tmp/ops" "pro keeps 6 days"
	F apply --repo "$tmp/ops" --state "$ostate" --auto-approve --continue-on-error --rate 10000 >"$tmp/o3.out" 2>&1
	a=$?
	nf=$(field "$tmp/o3.out" failed)
	if [ "$a" = 3 ] && [ "$nf" -gt 0 ] && [ "$(field "$tmp/o3.out" updated)" = 0 ] && grep -q "ended error" "$tmp/o3.out"; then
		ok "operations that fail for good fail their tenants by name ($nf, exit 3)"
	else
		fail "failed operations" "apply $a, failed $nf: $(tail -n 5 "$tmp/o3.out")"
	fi
fi

# ---------------------------------------------------- 5. plan limits
if want 5; then
	start_sim limits --op-delay-ms 0 --plan launch --max-projects 5
	d=$tmp/lim-src
	fleet "$d"
	for t in a1 a2 a3 a4 a5 a6 a7; do tenant_file "$d" "$t"; done
	mkrepo "$tmp/lim" "$d"
	F apply --repo "$tmp/lim" --state "$tmp/lim.db" --auto-approve --continue-on-error >"$tmp/l1.out" 2>&1
	a=$?
	refused=$(grep -c "PROJECTS_LIMIT_EXCEEDED\|projects limit of 5 exceeded" "$tmp/l1.out")
	if [ "$a" = 3 ] && [ "$(field "$tmp/l1.out" created)" = 5 ] && [ "$(field "$tmp/l1.out" failed)" = 2 ] &&
		[ "$refused" -ge 2 ] && [ "$(simstat '["projects"]')" = 5 ]; then
		ok "past the sim's project limit: 5 created, 2 refused by Neon and reported per tenant (exit 3)"
	else
		fail "project limit" "apply $a: $(tail -n 6 "$tmp/l1.out")"
	fi

	start_sim limits2 --op-delay-ms 0 --plan free
	d=$tmp/lim2-src
	fleet "$d" "neonPlan: free" "prune: true"
	tenant_file "$d" ok1
	tenant_file "$d" keeps "historyRetention: 1d"
	tenant_file "$d" guarded "branches:" "  - name: main" "    protected: true" "historyRetention: 6h"
	mkrepo "$tmp/lim2" "$d"
	F validate --repo "$tmp/lim2" >"$tmp/l2.out" 2>&1
	v=$?
	F plan --repo "$tmp/lim2" --state "$tmp/lim2.db" --detailed-exitcode >"$tmp/l3.out" 2>&1
	p=$?
	if [ "$v" = 1 ] && grep -q "tenants/keeps.yaml.*historyRetention 1d is above the 6h the free plan allows" "$tmp/l2.out" &&
		grep -q "protected branch is more than the 0 per project the free plan allows" "$tmp/l2.out" &&
		[ "$p" = 4 ] && grep -q "tenant 'keeps': historyRetention 1d is above" "$tmp/l3.out" &&
		[ "$(simstat '["writes_total"]')" = 0 ]; then
		ok "retention and protected branches above the free plan: validate reports them, plan blocks those tenants, no call"
	else
		fail "plan limits" "validate $v, plan $p: $(cat "$tmp/l2.out"; tail -n 8 "$tmp/l3.out")"
	fi

	# a protected branch is unprotected first, then its project pruned
	# (Neon refuses to delete a project with a protected branch)
	start_sim limits3 --op-delay-ms 0 --plan scale
	edit "$tmp/lim2/flotilla.yaml" "neonPlan: free" "neonPlan: scale"
	rm "$tmp/lim2/tenants/keeps.yaml"
	commit "$tmp/lim2" "scale plan"
	F apply --repo "$tmp/lim2" --state "$tmp/lim3.db" --auto-approve >"$tmp/l4.out" 2>&1
	a=$?
	rm "$tmp/lim2/tenants/guarded.yaml"
	commit "$tmp/lim2" "guarded leaves"
	w0=$(simstat '["writes_total"]')
	F apply --repo "$tmp/lim2" --state "$tmp/lim3.db" --auto-approve --refresh full >"$tmp/l5.out" 2>&1
	b=$?
	if [ "$a" = 0 ] && [ "$b" = 0 ] && grep -q "branches\[main\].protected true -> false" "$tmp/l5.out" &&
		[ "$(($(simstat '["writes_total"]') - w0))" = 2 ] && [ "$(simstat '["projects"]')" = 1 ]; then
		ok "a pruned project with a protected branch: the branch unprotected (PATCH), then the project deleted"
	else
		fail "protected prune" "apply $a then $b: $(tail -n 5 "$tmp/l4.out" "$tmp/l5.out")"
	fi
	no_dups || fail "limits" "duplicate project names"
fi

# --------------------------- 6. an operation pushed off the first page
if want 6; then
	# computes that wake and suspend all the time: the project's newer
	# operations push the one a write waits for off a page of 50
	start_sim opspage --op-delay-ms 2500 --time-scale 2000 --activity 1 --activity-op-ms 1
	d=$tmp/opspage-src
	fleet "$d"
	tenant_file "$d" chatty "compute: {minCu: 0.25, maxCu: 1, suspendTimeout: 60s}"
	mkrepo "$tmp/opspage" "$d"
	F apply --repo "$tmp/opspage" --state "$tmp/opspage.db" --auto-approve >"$tmp/q1.out" 2>&1
	a=$?
	edit "$tmp/opspage/tenants/chatty.yaml" "maxCu: 1," "maxCu: 2,"
	commit "$tmp/opspage" "chatty grows"
	by_id=$(route "GET /projects/{project_id}/operations/{operation_id}")
	F apply --repo "$tmp/opspage" --state "$tmp/opspage.db" --auto-approve >"$tmp/q2.out" 2>&1
	b=$?
	by_id=$(( $(route "GET /projects/{project_id}/operations/{operation_id}") - by_id ))
	if [ "$a" = 0 ] && [ "$b" = 0 ] && [ "$(field "$tmp/q2.out" updated)" = 1 ] && [ "$by_id" -gt 0 ]; then
		ok "a write whose operation was pushed off the list's first page: read by id ($by_id), converged"
	else
		fail "operations off the page" "apply $a then $b, reads by id $by_id: $(tail -n 4 "$tmp/q1.out" "$tmp/q2.out")"
	fi
fi

finish "$tmp"/*.out "$tmp"/*.err "$tmp"/*.simlog
