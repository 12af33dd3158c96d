#!/usr/bin/env bash
# apply.sh FLOTILLA FLOTILLA_SIM SRCROOT: end-to-end tests of `flotilla
# apply` against a real flotilla-sim on loopback and real git repositories
# (issue 6):
#   1. the example fleet: apply makes exactly the writes its plan listed,
#      then plans no changes, and a second apply writes nothing;
#   2. minimality: one manifest edit per change kind, applied from a saved
#      plan, costs exactly the plan's calls, at most the table's requests,
#      and converges;
#   3. faults (503s, resets, 423s) on 1,000 tenants: converged within three
#      rounds, never a duplicate project;
#   4. crashes: apply killed (-9) fifty times at random points on a fleet
#      with read replicas and protected branches, then run to completion:
#      converged, no duplicate project or replica, no failed tenant, no
#      unfinished journal row;
#   5. a stale plan file: a tenant changed out of band since the plan is
#      skipped (exit 3), the others applied;
#   6. concurrency: a second apply on the same state fails at once
#      naming the holder; a dead holder's lease is taken over;
#   7. partial failure (the sim's project limit): one tenant failed with its
#      request id, the rest converged;
#   8. secrets: new passwords only in 0600 files of --secrets-dir, never in
#      output, state, plan files or this test's own output.
#   9. --format json: every line one JSON event, then the summary; a later
#      run's new role is added to the tenant's secrets file.
#  10. economy (issue 14): 42 tenants, one commit changing one compute
#      setting of each (two writes a tenant): 84 writes, at most 168
#      requests in all (each tenant's first write polled, its last write's
#      operations polled once after the settle delay), nothing read back;
#      then, with operations of 600 ms, one write a tenant costs two
#      requests (polling from 100 ms cost four).
# APPLY_E2E_ONLY=1,5 runs only some of them (while working on one);
# APPLY_E2E_KEEP=1 keeps the temp dir.
# Each state is `st PATH` (lib.sh): an SQLite file, or with
# E2E_STATE=postgres a schema on the server in FLOTILLA_TEST_PG.
set -uo pipefail
flotilla=$(realpath "$1")
sim=$(realpath "$2")
src=$(realpath "$3")
only_var=APPLY_E2E_ONLY
keep_var=APPLY_E2E_KEEP
. "$(dirname "$0")/lib.sh"
# everything this script prints also goes to a file, searched for secrets
# at the end (test 8)
exec > >(tee "$tmp/self.log") 2>&1
git_sandbox
# a key distinctive enough to search for (test 8)
key=e2e-apply-key-7Qm2xV9
export NEON_API_KEY=$key
private_binaries

# converged REPO STATE: a full refresh plans no changes (STATE a location, from st)
converged() {
	"$flotilla" plan --repo "$1" --state "$2" --refresh=full --rate 1000 --detailed-exitcode >"$tmp/conv.txt" 2>&1
	local code=$?
	cat "$tmp/conv.txt" >>"$tmp/conv.all" # searched for sanitizer reports at the end
	return $code
}
ms_sleep() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }

repo=$tmp/repo
state=$(st "$tmp/state.db")
apply() { "$flotilla" apply --repo "$repo" --state "$state" --auto-approve --rate 1000 "$@"; }
plan() { "$flotilla" plan --repo "$repo" --state "$state" --rate 1000 "$@"; }

# ----------------------------------------------- 1. the example fleet
if want 1 || want 2 || want 5; then
	start_sim main --op-delay-ms 0
	mkrepo "$repo" "$src/examples/fleet"
	plan --format json >"$tmp/p0.json" 2>"$tmp/p0.err" || fail "example plan" "$(cat "$tmp/p0.err")"
	calls=$(summary "$tmp/p0.json" api_calls)
	apply >"$tmp/a1.out" 2>"$tmp/a1.err"
	code=$?
	w=$(simstat '["writes_total"]')
	if [ "$code" = 0 ] && [ "$w" = "$calls" ] && [ "$(field "$tmp/a1.out" writes)" = "$calls" ] &&
		[ "$(field "$tmp/a1.out" listed)" = "$calls" ] && [ "$(field "$tmp/a1.out" created)" = 15 ]; then
		ok "example fleet: 15 created, $w writes = the $calls calls the plan listed"
	else
		fail "example apply" "exit $code, writes_total $w, plan api_calls $calls: $(cat "$tmp/a1.out" "$tmp/a1.err")"
	fi
	if grep -q "passwords.*not saved" "$tmp/a1.out" "$tmp/a1.err"; then
		ok "without --secrets-dir the summary says new passwords were not saved"
	else
		fail "not saved note" "$(cat "$tmp/a1.out" "$tmp/a1.err")"
	fi
	plan --detailed-exitcode >"$tmp/p1.txt" 2>&1
	code=$?
	if [ "$code" = 0 ] && grep -q "No changes" "$tmp/p1.txt"; then ok "plan after apply: no changes (exit 0)"
	else fail "plan after apply" "exit $code: $(cat "$tmp/p1.txt")"; fi
	apply >"$tmp/a2.out" 2>"$tmp/a2.err"
	code=$?
	if [ "$code" = 0 ] && [ "$(simstat '["writes_total"]')" = "$w" ]; then ok "second apply: exit 0, no write"
	else fail "second apply" "exit $code, writes_total $(simstat '["writes_total"]') (was $w): $(cat "$tmp/a2.out" "$tmp/a2.err")"; fi
	if "$flotilla" status --state "$state" >"$tmp/status.txt" 2>&1 && grep -q "15 mapped" "$tmp/status.txt" &&
		"$flotilla" status fabrikam --state "$state" >"$tmp/status1.txt" 2>&1 && grep -q "fabrikam" "$tmp/status1.txt"; then
		ok "status shows the 15 tenants mapped, and one tenant"
	else
		fail "status" "$(cat "$tmp/status.txt" "$tmp/status1.txt")"
	fi
fi

# ------------------------------------- 2. minimality per change kind
# kind|file|old|new|tenants updated (the plan's update count)|economy|requests
# economy y: every write's response holds what the cache keeps, so apply
# reads nothing back after its writes (the one deep read a tenant that a
# saved plan's apply makes first, to see that nothing moved, stays)
# requests: the most requests the apply may make in all (the sim's
# requests_total): that deep read (the project, its branches and
# endpoints, each branch's databases and roles), the writes, the polls
# (none here: the sim's operations end at once) and the read-backs
kinds=(
	"quota|tenants/us/pro/fabrikam.yaml|computeTime: 1000h |computeTime: 1100h |1|y|8"
	"compute maxCu|tenants/us/pro/fabrikam.yaml|maxCu: 6 |maxCu: 5 |1|y|9"
	"compute suspendTimeout|tenants/eu/smallbiz.yaml|suspendTimeout: 10m|suspendTimeout: 20m|1|y|7"
	"add a database|tenants/us/pro/fabrikam.yaml|          owner: fabrikam
|          owner: fabrikam
        - name: reports
          owner: fabrikam
|1|y|8"
	"add a role|tenants/us/pro/fabrikam.yaml|        - name: fabrikam
      databases:|        - name: fabrikam
        - name: analyst
      databases:|1|y|8"
	"add a branch|tenants/us/pro/fabrikam.yaml|    - name: preview |    - name: staging
    - name: preview |1|n|17"
	"readReplicas 0->1|tenants/us/pro/fabrikam.yaml|  pgVersion: 16|  pgVersion: 16
  readReplicas: 1|1|n|19"
	"remove a database|tenants/us/enterprise/contoso.yaml|        - name: inventory
          owner: contoso_owner
||1|n|11"
	"historyRetention|tenants/us/pro/fabrikam.yaml|historyRetention: 3d12h|historyRetention: 5d|1|y|10"
	"profile change (grouped)|profiles/pro.yaml|logicalSize: 50GiB|logicalSize: 60GiB|4|y|30"
)
if want 2; then
	i=0
	for k in "${kinds[@]}"; do
		i=$((i + 1))
		IFS='|' read -r -d '' kind file old new n econ most <<<"$k"
		most=${most%$'\n'}
		if ! edit "$repo/$file" "$old" "$new" >"$tmp/edit.txt" 2>&1; then
			fail "minimal: $kind" "edit: $(cat "$tmp/edit.txt")"
			continue
		fi
		git -C "$repo" commit -qam "$kind"
		plan --format json --out "$tmp/k$i.plan" >"$tmp/k$i.json" 2>"$tmp/k$i.err"
		calls=$(summary "$tmp/k$i.json" api_calls 2>/dev/null)
		ups=$(summary "$tmp/k$i.json" update 2>/dev/null)
		w0=$(simstat '["writes_total"]')
		r0=$(simstat '["requests_total"]')
		"$flotilla" apply "$tmp/k$i.plan" --state "$state" --auto-approve --rate 1000 >"$tmp/k$i.out" 2>&1
		code=$?
		dw=$(($(simstat '["writes_total"]') - w0))
		dr=$(($(simstat '["requests_total"]') - r0))
		rb=$(field "$tmp/k$i.out" readbacks)
		lean=0
		[ "$econ" != y ] || [ "$rb" = 0 ] || lean=1
		[ "$dr" -le "$most" ] || lean=1
		converged "$repo" "$state"
		conv=$?
		if [ "$code" = 0 ] && [ "$ups" = "$n" ] && [ -n "$calls" ] && [ "$calls" -gt 0 ] &&
			[ "$dw" = "$calls" ] && [ "$(field "$tmp/k$i.out" writes)" = "$calls" ] && [ "$conv" = 0 ] &&
			[ "$lean" = 0 ]; then
			ok "minimal: $kind: $ups update(s), $dw writes = plan's $calls calls, $dr requests in all (at most $most), $rb read-backs, then no changes"
		else
			fail "minimal: $kind" "apply exit $code, updates $ups (want $n), plan calls $calls, writes $dw, requests $dr (at most $most), read-backs $rb (0 wanted when economy is $econ), next plan exit $conv:
$(python3 -c 'import json,sys; [print("  ", c["method"], c["path"]) for a in json.load(open(sys.argv[1]))["actions"] for c in a["calls"]]' "$tmp/k$i.json" 2>&1)
$(cat "$tmp/k$i.out" "$tmp/k$i.err")
$(sed 's/^/  next: /' "$tmp/conv.txt")"
		fi
	done
	# after a PATCH of the project's own fields, its deep read is still
	# current: the next --refresh=auto plan reads nothing deep again
	edit "$repo/tenants/us/pro/fabrikam.yaml" "computeTime: 1100h " "computeTime: 1200h "
	git -C "$repo" commit -qam "quota again"
	apply >"$tmp/q.out" 2>&1
	code=$?
	plan --verbose >"$tmp/q.plan" 2>"$tmp/q.err"
	if [ "$code" = 0 ] && grep -q "refresh made 0 list calls and 0 deep reads" "$tmp/q.err" &&
		grep -q "No changes" "$tmp/q.plan"; then
		ok "after a project PATCH the next auto plan reads nothing deep again, and sees no changes"
	else
		fail "deep current after PATCH" "apply exit $code; $(grep -h "refresh made\|^Plan" "$tmp/q.err" "$tmp/q.plan")"
	fi
fi

# ------------------------------------------------ 5. a stale plan file
if want 5; then
	# one file, two tenants changed: wingtip and tailspin
	edit "$repo/tenants/us/trials.yaml" "writtenData: 5GB " "writtenData: 6GB "
	edit "$repo/tenants/us/trials.yaml" "spec: {}  " "spec: {quota: {writtenData: 3GB}}  "
	git -C "$repo" commit -qam "wingtip and tailspin quotas"
	plan --format json --out "$tmp/stale.plan" >"$tmp/stale.json" 2>"$tmp/stale.err"
	ups=$(python3 -c 'import json,sys; print(" ".join(sorted(a["tenant"] for a in json.load(open(sys.argv[1]))["actions"] if a["kind"] == "update")))' "$tmp/stale.json" 2>&1)
	pid=$(pid_of wingtip "$state")
	curl -sf -X PATCH -H "Authorization: Bearer $key" "$base/api/v2/projects/$pid" \
		-d '{"project": {"settings": {"quota": {"compute_time_seconds": 1}}}}' >/dev/null || fail "stale" "out-of-band PATCH failed"
	sleep 0.1
	"$flotilla" apply "$tmp/stale.plan" --state "$state" --auto-approve --rate 1000 >"$tmp/stale.out" 2>&1
	code=$?
	tq=$(curl -sf -H "Authorization: Bearer $key" \
		"$base/api/v2/projects/$(pid_of tailspin "$state")" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["project"]["settings"]["quota"]["written_data_bytes"])')
	wq=$(curl -sf -H "Authorization: Bearer $key" "$base/api/v2/projects/$pid" |
		python3 -c 'import json,sys; q=json.load(sys.stdin)["project"]["settings"]["quota"]; print(q.get("written_data_bytes", 0), q["compute_time_seconds"])')
	if [ "$ups" = "tailspin wingtip" ] && [ "$code" = 3 ] && [ "$(field "$tmp/stale.out" skipped)" = 1 ] &&
		[ "$(field "$tmp/stale.out" updated)" = 1 ] && grep -i "skip" "$tmp/stale.out" | grep -q wingtip &&
		[ "$tq" = 3000000000 ] && [ "${wq% *}" != 6000000000 ] && [ "${wq#* }" = 1 ]; then
		ok "stale plan file: wingtip (changed out of band) skipped, exit 3; tailspin applied"
	else
		fail "stale plan" "plan updates [$ups], apply exit $code, tailspin written_data $tq, wingtip [$wq]: $(cat "$tmp/stale.out")"
	fi
	apply >"$tmp/stale2.out" 2>&1 && converged "$repo" "$state" ||
		fail "stale plan" "a new apply does not converge: $(cat "$tmp/stale2.out" "$tmp/conv.txt")"
fi

# --------------------------------------------- 8. secrets (own sim)
if want 8; then
	start_sim secrets --op-delay-ms 0
	mkrepo "$tmp/srepo" "$src/examples/fleet"
	mkdir -m 700 "$tmp/secrets"
	sstate=$(st "$tmp/s.db")
	"$flotilla" plan --repo "$tmp/srepo" --state "$sstate" --rate 1000 --out "$tmp/s.plan" >"$tmp/s.plan.out" 2>&1
	"$flotilla" apply --repo "$tmp/srepo" --state "$sstate" --auto-approve --rate 1000 \
		--secrets-dir "$tmp/secrets" >"$tmp/s.out" 2>"$tmp/s.err"
	code=$?
	"$flotilla" apply --repo "$tmp/srepo" --state "$sstate" --auto-approve --rate 1000 --format json \
		--secrets-dir "$tmp/secrets" >"$tmp/s2.out" 2>"$tmp/s2.err"
	python3 - "$tmp/secrets" >"$tmp/passwords" 2>"$tmp/pw.err" <<'EOF'
import json, os, re, sys
d = sys.argv[1]
for f in sorted(os.listdir(d)):
    j = json.load(open(os.path.join(d, f)))
    for r in j.get("roles", []):
        if r.get("password"):
            print(r["password"])
    for u in j.get("connection_uris", []):
        m = re.match(r"postgres(?:ql)?://[^:]+:([^@]+)@", u)
        if m:
            print(m.group(1))
EOF
	sort -u -o "$tmp/passwords" "$tmp/passwords"
	np=$(wc -l <"$tmp/passwords")
	modes=$(stat -c %a "$tmp/secrets"/* 2>/dev/null | sort -u | tr '\n' ' ')
	nf=$(find "$tmp/secrets" -type f | wc -l)
	if [ "$code" = 0 ] && [ "$nf" -gt 0 ] && [ "$modes" = "600 " ] && [ "$np" -gt 0 ]; then
		ok "--secrets-dir: $nf files, all 0600, $np passwords"
	else
		fail "secrets files" "exit $code, $nf files, modes [$modes], $np passwords: $(cat "$tmp/s.err" "$tmp/pw.err")"
	fi
fi

# -------------- 9. JSON-lines events; a secrets file keeps what it held
if want 9; then
	start_sim events --op-delay-ms 0
	mkrepo "$tmp/jrepo" "$src/examples/fleet"
	mkdir -m 700 "$tmp/jsecrets"
	jstate=$(st "$tmp/j.db")
	"$flotilla" apply --repo "$tmp/jrepo" --state "$jstate" --auto-approve --rate 1000 --format json \
		--secrets-dir "$tmp/jsecrets" >"$tmp/j.out" 2>"$tmp/j.err"
	code=$?
	if [ "$code" = 0 ] && python3 - "$tmp/j.out" >"$tmp/j.check" 2>&1 <<'EOF'
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
events = [json.loads(l) for l in lines]  # every line is one JSON object
kinds = {}
for e in events[:-1]:
    kinds.setdefault(e["event"], set()).add(e["tenant"])
s = events[-1]
assert s["event"] == "summary", s
assert s["created"] == 15 and s["failed"] == 0 and s["write_calls"] == s["planned_calls"], s
assert len(kinds.get("start", ())) == 15 and len(kinds.get("done", ())) == 15, {k: len(v) for k, v in kinds.items()}
assert kinds["created"] == kinds["done"], "created vs done"
print(len(events), "events")
EOF
	then
		ok "--format json: every line is a JSON event, $(cat "$tmp/j.check"), ending with the summary"
	else
		fail "json events" "exit $code: $(cat "$tmp/j.check" "$tmp/j.err" | tail -5)"
	fi
	# a second role for fabrikam: its file keeps the first run's secrets
	before=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["roles"]))' "$tmp/jsecrets/fabrikam.json")
	edit "$tmp/jrepo/tenants/us/pro/fabrikam.yaml" "        - name: fabrikam
      databases:" "        - name: fabrikam
        - name: reporting
      databases:"
	git -C "$tmp/jrepo" commit -qam "a role for fabrikam"
	"$flotilla" apply --repo "$tmp/jrepo" --state "$jstate" --auto-approve --rate 1000 \
		--secrets-dir "$tmp/jsecrets" >"$tmp/j2.out" 2>"$tmp/j2.err"
	code=$?
	names=$(python3 -c 'import json,sys; print(" ".join(sorted(r["name"] for r in json.load(open(sys.argv[1]))["roles"])))' \
		"$tmp/jsecrets/fabrikam.json")
	if [ "$code" = 0 ] && [ "$before" -ge 1 ] && [[ " $names " == *" fabrikam "* ]] && [[ " $names " == *" reporting "* ]]; then
		ok "a later run's new role is added to the tenant's secrets file ($names), the first run's kept"
	else
		fail "secrets merge" "exit $code, before $before roles, now [$names]: $(tail -3 "$tmp/j2.err")"
	fi
fi

# ------------------------------------- 10. economy: 42 tenants, 84 writes
# The fleet's default suspendTimeout changes: each tenant's project PATCH
# (default_endpoint_settings) and endpoint PATCH. Operations last 50 ms:
# the first write's are over at its first poll (100 ms), the last write's
# at its settle poll. The apply plans with --refresh none, so every
# request the sim counts is the executor's.
# apply_delta BEFORE AFTER: "WRITES REQUESTS POLLS" between two /__sim/stats
apply_delta() {
	python3 -c '
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
polls = lambda s: sum(s["requests"].get("GET /projects/{project_id}/operations", {}).values())
print(b["writes_total"] - a["writes_total"], b["requests_total"] - a["requests_total"], polls(b) - polls(a))' "$1" "$2"
}
if want 10; then
	start_sim economy --op-delay-ms 50 --data "$tmp/economy.simdb"
	erepo=$tmp/erepo
	fleet_file "$erepo" economy e- "defaults:" "  compute:" "    suspendTimeout: 5m"
	for i in $(seq -w 1 42); do tenant_file "$erepo" "e$i"; done
	mkrepo "$erepo"
	estate=$(st "$tmp/e.db")
	eapply() { "$flotilla" apply --repo "$erepo" --state "$estate" --auto-approve --rate 1000 "$@"; }
	eapply >"$tmp/e0.out" 2>&1 || fail "economy: create" "$(tail -5 "$tmp/e0.out")"
	edit "$erepo/flotilla.yaml" "suspendTimeout: 5m" "suspendTimeout: 10m"
	commit "$erepo" "suspendTimeout 10m for every tenant"
	s0=$(simstats)
	eapply --refresh none >"$tmp/e1.out" 2>&1
	code=$?
	s1=$(simstats)
	read -r ew er ep <<<"$(apply_delta "$s0" "$s1")"
	erb=$(field "$tmp/e1.out" readbacks)
	if [ "$code" = 0 ] && [ "$(field "$tmp/e1.out" updated)" = 42 ] && [ "$ew" = 84 ] &&
		[ "$(field "$tmp/e1.out" writes)" = 84 ] && [ "$er" -le 168 ] && [ "$erb" = 0 ] &&
		converged "$erepo" "$estate"; then
		ok "economy: 42 tenants, one compute setting: $ew writes, $ep polls, $er requests in all (at most 168), $erb read-backs, then no changes"
	else
		fail "economy" "apply exit $code, writes $ew (want 84), polls $ep, requests $er (at most 168), read-backs $erb: $(tail -5 "$tmp/e1.out"; tail -3 "$tmp/conv.txt")"
	fi
	# the same projects, operations of 600 ms (well inside the settle
	# delay, past three polls from 100 ms): historyRetention, one project
	# PATCH a tenant, is 42 writes and 42 polls
	start_sim economy2 --op-delay-ms 600 --data "$tmp/economy.simdb"
	fleet_file "$erepo" economy e- "defaults:" "  historyRetention: 2d" "  compute:" "    suspendTimeout: 10m"
	commit "$erepo" "historyRetention 2d for every tenant"
	s0=$(simstats)
	eapply --refresh none >"$tmp/e2.out" 2>&1
	code=$?
	s1=$(simstats)
	read -r ew er ep <<<"$(apply_delta "$s0" "$s1")"
	if [ "$code" = 0 ] && [ "$(field "$tmp/e2.out" updated)" = 42 ] && [ "$ew" = 42 ] && [ "$er" -le 84 ] &&
		[ "$(field "$tmp/e2.out" readbacks)" = 0 ] && converged "$erepo" "$estate"; then
		ok "economy, 600 ms operations: $ew writes, $ep polls, $er requests in all (at most 2 a write)"
	else
		fail "economy, 600 ms operations" "apply exit $code, writes $ew (want 42), polls $ep, requests $er (at most 84): $(tail -5 "$tmp/e2.out"; tail -3 "$tmp/conv.txt")"
	fi
fi

# ------------------------------- 7. partial failure: the project limit
if want 7; then
	start_sim limit --op-delay-ms 0 --max-projects 14
	mkrepo "$tmp/lrepo" "$src/examples/fleet"
	lstate=$(st "$tmp/l.db")
	"$flotilla" apply --repo "$tmp/lrepo" --state "$lstate" --auto-approve --rate 1000 \
		--continue-on-error >"$tmp/l.out" 2>&1
	code=$?
	grep '^! .* failed: ' "$tmp/l.out" >"$tmp/l.failed"
	bad=$(sed -n 's/^! \([^ ]*\) failed: .*/\1/p' "$tmp/l.failed")
	"$flotilla" plan --repo "$tmp/lrepo" --state "$lstate" --rate 1000 --refresh=full --format json >"$tmp/l.json" 2>"$tmp/l.err"
	left=$(python3 -c 'import json,sys; print(" ".join(a["kind"] + ":" + a["tenant"] for a in json.load(open(sys.argv[1]))["actions"]))' "$tmp/l.json" 2>&1)
	if [ "$code" = 3 ] && [ "$(wc -l <"$tmp/l.failed")" = 1 ] && [ "$(field "$tmp/l.out" failed)" = 1 ] &&
		[ "$(field "$tmp/l.out" created)" = 14 ] &&
		grep -Eq '\(request [^)]*[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}[^)]*\)' "$tmp/l.failed" &&
		[ "$(simstat '["projects"]')" = 14 ] && [ "$left" = "create:$bad" ]; then
		ok "project limit: exit 3, $bad failed ($(sed 's/^! [^ ]* failed: //' "$tmp/l.failed")), 14 converged"
	else
		fail "project limit" "exit $code, plan left [$left], sim projects $(simstat '["projects"]'): $(cat "$tmp/l.out")"
	fi
	# the error names the failed call once, not once per layer it passed
	if python3 -c 'import re,sys; l=open(sys.argv[1]).read(); sys.exit(1 if re.search(r"(\b[A-Z]+ /\S+: )\1", l) else 0)' "$tmp/l.failed"; then
		ok "project limit: the failed line names the call once"
	else
		fail "project limit: the call is named twice" "$(cat "$tmp/l.failed")"
	fi
fi

# -------------------------------------------------- 6. concurrency
if want 6; then
	start_sim conc --op-delay-ms 400
	mkrepo "$tmp/crepo" "$src/examples/fleet"
	cstate=$(st "$tmp/c.db")
	capply() { "$flotilla" apply --repo "$tmp/crepo" --state "$cstate" --auto-approve --rate 1000 "$@"; }
	# in the background, so that $! is flotilla's own pid (not a subshell's)
	capply_bg() { "$flotilla" apply --repo "$tmp/crepo" --state "$cstate" --auto-approve --rate 1000 "$@" & }
	# the state exists before the race (its schema is not the point)
	"$flotilla" plan --repo "$tmp/crepo" --state "$cstate" --rate 1000 >"$tmp/c0.out" 2>&1
	capply_bg >"$tmp/c1.out" 2>"$tmp/c1.err"
	p1=$!
	capply_bg >"$tmp/c2.out" 2>"$tmp/c2.err"
	p2=$!
	s0=$(date +%s%N)
	# whichever loses: note when it ended
	while kill -0 "$p1" 2>/dev/null && kill -0 "$p2" 2>/dev/null; do sleep 0.02; done
	lost_ms=$((($(date +%s%N) - s0) / 1000000))
	wait "$p1"
	c1=$?
	wait "$p2"
	c2=$?
	if [ "$c1" = 0 ] && [ "$c2" = 1 ]; then loser=2 winner_pid=$p1
	elif [ "$c1" = 1 ] && [ "$c2" = 0 ]; then loser=1 winner_pid=$p2
	else loser=; fi
	if [ -n "$loser" ] && grep -q "pid $winner_pid on $(hostname)" "$tmp/c$loser.err" && [ "$lost_ms" -lt 2000 ] &&
		converged "$tmp/crepo" "$cstate"; then
		ok "two applies at once: one converged, the other exit 1 after ${lost_ms} ms naming the holder ($(grep -o "pid $winner_pid on [^ ,;)]*" "$tmp/c$loser.err" | head -1))"
	else
		fail "two applies" "exits $c1 $c2, loser ended after ${lost_ms} ms: $(cat "$tmp/c1.err" "$tmp/c2.err")"
	fi
	# a dead holder: kill -9 an apply in flight, the next takes its lease
	curl -sf -X POST "$base/__sim/reset" >/dev/null
	st_rm "$cstate"
	"$flotilla" plan --repo "$tmp/crepo" --state "$cstate" --rate 1000 >"$tmp/c00.out" 2>&1
	capply_bg >"$tmp/c3.out" 2>&1
	p3=$!
	sleep 0.7
	kill -9 "$p3" 2>/dev/null
	wait "$p3" 2>/dev/null
	held=$(st_sql "$cstate" "SELECT count(*) FROM leases WHERE pid = $p3" 2>&1)
	s0=$(date +%s%N)
	capply >"$tmp/c4.out" 2>&1
	c4=$?
	took=$((($(date +%s%N) - s0) / 1000000))
	if [ "$c4" = 0 ] && converged "$tmp/crepo" "$cstate" && no_dups; then
		ok "a killed apply's lease (held: $held row) is taken over: the next apply converged in ${took} ms"
	else
		fail "dead holder" "exit $c4 after ${took} ms, held $held: $(cat "$tmp/c4.out" "$tmp/conv.txt")"
	fi
fi

# ----------------------------------------- 3. faults on 1,000 tenants
if want 3; then
	start_sim faults --op-delay-ms 20
	gen_fleet 1000 "$tmp/frepo-src"
	mkrepo "$tmp/frepo" "$tmp/frepo-src"
	fstate=$(st "$tmp/f.db")
	faults '{"error_rate": 0.10, "reset_rate": 0.05, "lock_rate": 0.05}'
	s0=$(date +%s)
	rounds=0 codes=
	while [ "$rounds" -lt 3 ]; do
		rounds=$((rounds + 1))
		"$flotilla" apply --repo "$tmp/frepo" --state "$fstate" --auto-approve --continue-on-error \
			--rate 1000 --parallel 16 >"$tmp/f$rounds.out" 2>&1
		code=$?
		codes="$codes $code"
		# faults only for the first round: later rounds are the retries
		faults '{"error_rate": 0, "reset_rate": 0, "lock_rate": 0}'
		[ "$code" = 3 ] || break
	done
	took=$(($(date +%s) - s0))
	if [ "$code" = 0 ] && converged "$tmp/frepo" "$fstate" && no_dups; then
		ok "faults on 1,000 tenants: converged in $rounds round(s) (exits$codes, ${took} s), no duplicate project"
	else
		fail "faults" "$rounds rounds, exits$codes, max_projects_per_name $(simstat '["max_projects_per_name"]'), duplicates $(simstat '["duplicate_names"]'): $(tail -5 "$tmp/f$rounds.out"; tail -5 "$tmp/conv.txt")"
	fi
fi

# ---------------------------------------------- 4. crashes (kill -9)
# crash_fleet DIR N: N tenants; a third with two read replicas on a
# protected main, a third with one replica and a protected release branch
crash_fleet() {
	python3 - "$1" "$2" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d + "/tenants")
open(d + "/flotilla.yaml", "w").write(
    "apiVersion: flotilla/v1\nkind: Fleet\nmetadata: {name: crash}\nspec:\n"
    "  namePrefix: \"k-\"\n  allowedRegions: [aws-us-east-2, aws-eu-central-1]\n")
for i in range(n):
    t = "k%04d" % i
    region = "aws-eu-central-1" if i % 4 == 0 else "aws-us-east-2"
    if i % 3 == 0:
        spec = ("  region: %s\n  readReplicas: 2\n  branches:\n    - name: main\n      protected: true\n"
                "      roles: [{name: app}]\n      databases: [{name: app, owner: app}]\n" % region)
    elif i % 3 == 1:
        spec = ("  region: %s\n  readReplicas: 1\n  branches:\n    - name: main\n"
                "      roles: [{name: app}]\n      databases: [{name: app, owner: app}]\n"
                "    - name: release\n      parent: main\n      protected: true\n" % region)
    else:
        spec = "  region: %s\n" % region
    open("%s/tenants/%s.yaml" % (d, t), "w").write(
        "apiVersion: flotilla/v1\nkind: Tenant\nmetadata: {name: %s}\nspec:\n%s" % (t, spec))
PY
}
# replicas_ok STATE: every mapped project has exactly the replicas its
# manifest asks for (i % 3 == 0: 2, 1: 1, 2: 0), each name once
replicas_ok() {
	st_sql "$1" "SELECT tenant, project_id FROM tenants ORDER BY tenant" | python3 -c '
import json, sys, urllib.request
host, key = sys.argv[1:3]
bad = []
for line in sys.stdin:
    tenant, pid = line.strip().split("|")
    want = {0: 2, 1: 1, 2: 0}[int(tenant[1:]) % 3]
    req = urllib.request.Request("%s/projects/%s/endpoints" % (host, pid), headers={"Authorization": "Bearer " + key})
    names = [e.get("name") for e in json.load(urllib.request.urlopen(req))["endpoints"] if e["type"] == "read_only"]
    if sorted(names) != ["replica-%d" % k for k in range(1, want + 1)]:
        bad.append("%s: %s" % (tenant, names))
print("; ".join(bad[:5]) or "ok")
sys.exit(1 if bad else 0)' "$NEON_API_HOST" "$key"
}
if want 4; then
	start_sim crash --op-delay-ms 20
	crash_fleet "$tmp/krepo-src" 600
	mkrepo "$tmp/krepo" "$tmp/krepo-src"
	kstate=$(st "$tmp/k.db")
	kapply() { "$flotilla" apply --repo "$tmp/krepo" --state "$kstate" --auto-approve --rate 1000 --parallel 4 "$@"; }
	kapply_bg() { "$flotilla" apply --repo "$tmp/krepo" --state "$kstate" --auto-approve --rate 1000 --parallel 4 "$@" & }
	s0=$(date +%s)
	dup_at= finished=0
	for i in $(seq 50); do
		kapply_bg >"$tmp/kill$i.out" 2>&1
		p=$!
		ms_sleep $((50 + RANDOM % 1450))
		kill -9 "$p" 2>/dev/null || finished=$((finished + 1))
		wait "$p" 2>/dev/null
		no_dups || { dup_at=$i; break; }
	done
	runs=0
	while [ "$runs" -lt 2 ]; do
		runs=$((runs + 1))
		kapply >"$tmp/kfinal$runs.out" 2>&1 && break
	done
	code=$?
	unfinished=$(st_sql "$kstate" "SELECT count(*) FROM journal WHERE state IN ('intent','sent','unknown')" 2>&1)
	kfailed=$(field "$tmp/kfinal$runs.out" failed)
	grep -q "^No changes to apply" "$tmp/kfinal$runs.out" && kfailed=0
	took=$(($(date +%s) - s0))
	reps=$(replicas_ok "$kstate")
	if [ -z "$dup_at" ] && [ "$code" = 0 ] && [ "$kfailed" = 0 ] && converged "$tmp/krepo" "$kstate" && no_dups &&
		[ "$unfinished" = 0 ] && [ "$reps" = ok ]; then
		ok "50 kill -9 on 600 tenants with replicas and protected branches ($finished finished before the kill), then $runs run(s): converged, no duplicate project or replica, 0 failed, no unfinished journal row (${took} s)"
	else
		fail "crashes" "duplicate after kill ${dup_at:-none}, final exit $code after $runs runs ($kfailed failed), replicas: $reps, unfinished journal rows $unfinished, max_projects_per_name $(simstat '["max_projects_per_name"]'): $(grep '^!' "$tmp/kfinal$runs.out" | head -5; tail -5 "$tmp/kfinal$runs.out"; tail -3 "$tmp/conv.txt")
mapped tenants whose project is not cached, and their journal rows:
$(st_sql "$kstate" "SELECT t.tenant, t.project_id, j.id, j.run_id, j.action, j.state FROM tenants t
	LEFT JOIN projects p ON p.id = t.project_id LEFT JOIN journal j ON j.tenant = t.tenant WHERE p.id IS NULL" 2>&1)"
	fi
fi

# ------------------------- 8. secrets, the search (after every output)
if want 8; then
	# the states are searched as they are kept: the SQLite files and their
	# WALs, or on PostgreSQL each schema's contents (st_dump) in NAME.db.dump;
	# the names are every state this script makes (st "$tmp/NAME.db" above)
	if st_pg; then
		for n in state s j e l c f k; do
			st_exists "$(st "$tmp/$n.db")" || continue
			st_dump "$(st "$tmp/$n.db")" >"$tmp/$n.db.dump" 2>"$tmp/dump.err" ||
				fail "secrets: dump of $n.db" "$(cat "$tmp/dump.err")"
		done
	fi
	found=
	while read -r pw; do
		[ -n "$pw" ] || continue
		for f in "$tmp"/*.out "$tmp"/*.err "$tmp"/*.json "$tmp"/*.plan "$tmp"/*.txt "$tmp"/*.db "$tmp"/*.db-wal \
			"$tmp"/*.db.dump "$tmp"/*.simlog "$tmp/self.log"; do
			[ -f "$f" ] && grep -qF -- "$pw" "$f" && found="$found ${f##*/}"
		done
	done <"$tmp/passwords"
	for f in "$tmp"/*.out "$tmp"/*.err "$tmp"/*.json "$tmp"/*.plan "$tmp"/*.txt "$tmp"/*.db "$tmp"/*.db-wal \
		"$tmp"/*.db.dump "$tmp"/secrets/* "$tmp/self.log"; do
		[ -f "$f" ] && grep -qF -- "$key" "$f" && found="$found key:${f##*/}"
	done
	if [ -z "$found" ] && [ -s "$tmp/passwords" ]; then
		ok "no password and no API key in outputs, states, plan files or this test's output"
	else
		fail "secrets leaked" "$(echo "$found" | tr ' ' '\n' | sort | uniq -c | tr '\n' ' ')"
	fi
fi

# ------------------- sanitizer reports (an ASan/UBSan build), anywhere
finish "$tmp"/*.out "$tmp"/*.err "$tmp"/*.all "$tmp"/*.simlog
