#!/usr/bin/env bash
# plan.sh FLOTILLA FLOTILLA_SIM SRCROOT: end-to-end tests of `flotilla plan`
# against a real flotilla-sim on loopback and real git repositories (the
# states a file each, or a PostgreSQL schema with E2E_STATE=postgres: st):
#   - a new fleet plans one create per tenant, with the ownership
#     annotations inline, and plan never writes to the API;
#   - the calls a plan lists are the ones that converge: running a plan's
#     own POST /projects calls, mapping the projects (refresh --rebuild) and
#     planning again shows those tenants unchanged;
#   - an out-of-band change (a quota PATCHed in the sim) plans exactly one
#     PATCH /projects/{id} carrying it;
#   - the parse cache: changing one manifest of 10,000 parses exactly one;
#   - --detailed-exitcode, --out and a tampered plan file;
#   - uncommitted manifest changes: plan and apply note them (the commit is
#     planned), other files and a clean tree do not; a directory that is
#     not a repository gets the commands that make it one.
set -uo pipefail
flotilla=$(realpath "$1")
sim=$(realpath "$2")
src=$(realpath "$3")
. "$(dirname "$0")/lib.sh"
git_sandbox
key=sim-key
export NEON_API_KEY=$key

start_sim plan --op-delay-ms 0

mkrepo "$tmp/repo" "$src/examples/fleet"
sha=$(git -C "$tmp/repo" rev-parse HEAD)
state=$(st "$tmp/state.db")
plan() { "$flotilla" plan --repo "$tmp/repo" --state "$state" "$@"; }

# ------------------------------------------------------------ new fleet
if plan --format json >"$tmp/p1.json" 2>"$tmp/p1.err"; then
	python3 - "$tmp/p1.json" "$sha" <<'EOF' >"$tmp/check.txt" 2>&1
import json, sys
p = json.load(open(sys.argv[1]))
assert p["format"] == "flotilla-plan" and p["version"] == 1, "format"
assert p["commit"] == sys.argv[2], "commit %s" % p["commit"]
assert p["summary"]["create"] == 15, p["summary"]
n = 0
for a in p["actions"]:
    assert a["kind"] == "create", a["kind"]
    first = a["calls"][0]
    assert first["method"] == "POST" and first["path"] == "/projects", first
    proj = first["body"]["project"]
    ann = proj["branch"]["annotations"]
    assert ann == {"flotilla.fleet": "acme-saas", "flotilla.tenant": a["tenant"]}, ann
    assert proj["name"] == "t-" + a["tenant"], proj["name"]
    assert all(c["after_create"] for c in a["calls"][1:]), a["tenant"]
    n += len(a["calls"])
assert n == p["summary"]["api_calls"], (n, p["summary"])
print("15 creates,", n, "calls")
EOF
	if [ $? -eq 0 ]; then ok "new fleet: $(cat "$tmp/check.txt"), annotations inline"
	else fail "new fleet plan" "$(cat "$tmp/check.txt")"; fi
else
	fail "new fleet plan" "exit $?: $(cat "$tmp/p1.err")"
fi
if [ "$(simstat '["writes_total"]')" = 0 ]; then ok "plan made no write to the API"
else fail "plan made writes" "writes_total $(simstat '["writes_total"]')"; fi

plan --detailed-exitcode >/dev/null 2>&1
code=$?
if [ "$code" = 2 ]; then ok "--detailed-exitcode is 2 with changes"; else fail "--detailed-exitcode" "exit $code"; fi

# ---------------------- a plan's own creates converge (no second-plan diff)
# run the POST /projects of every tenant whose plan is that one call
python3 - "$tmp/p1.json" "$base" <<'EOF' >"$tmp/created.txt"
import json, sys, urllib.request
p = json.load(open(sys.argv[1]))
for a in p["actions"]:
    if len(a["calls"]) != 1:
        continue
    c = a["calls"][0]
    req = urllib.request.Request(sys.argv[2] + "/api/v2" + c["path"], method=c["method"],
                                 data=json.dumps(c["body"]).encode(),
                                 headers={"Authorization": "Bearer sim-key", "Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
    print(a["tenant"])
EOF
made=$(wc -l <"$tmp/created.txt")
"$flotilla" refresh --rebuild --dir "$tmp/repo" --state "$state" >"$tmp/rebuild.txt" 2>&1 ||
	fail "refresh --rebuild" "$(cat "$tmp/rebuild.txt")"
plan --format json --refresh=full >"$tmp/p2.json" 2>"$tmp/p2.err" || fail "second plan" "$(cat "$tmp/p2.err")"
python3 - "$tmp/p2.json" "$tmp/created.txt" <<'EOF' >"$tmp/check2.txt" 2>&1
import json, sys
p = json.load(open(sys.argv[1]))
made = set(open(sys.argv[2]).read().split())
left = {a["tenant"]: a for a in p["actions"]}
bad = [(t, left[t]["kind"], left[t]["changes"]) for t in made if t in left]
print(len(made), "tenants created from the plan's own calls;", len(bad), "still differ")
for b in bad[:5]:
    print("  ", b)
sys.exit(1 if bad or not made else 0)
EOF
if [ $? -eq 0 ]; then ok "a plan's own creates converge: $(head -1 "$tmp/check2.txt")"
else fail "creates converge" "$(cat "$tmp/check2.txt")"; fi

# ------------------------------------------------ an out-of-band change
victim=$(head -1 "$tmp/created.txt")
pid=$(pid_of "$victim" "$state")
curl -sf -X PATCH -H "Authorization: Bearer sim-key" "$base/api/v2/projects/$pid" \
	-d '{"project": {"settings": {"quota": {"compute_time_seconds": 1}}}}' >/dev/null
sleep 0.05
plan --format json --refresh=full >"$tmp/p3.json" 2>"$tmp/p3.err" || fail "plan after drift" "$(cat "$tmp/p3.err")"
python3 - "$tmp/p3.json" "$victim" "$pid" <<'EOF' >"$tmp/check3.txt" 2>&1
import json, sys
p = json.load(open(sys.argv[1]))
acts = [a for a in p["actions"] if a["tenant"] == sys.argv[2]]
assert len(acts) == 1, "no action for the drifted tenant"
a = acts[0]
assert a["kind"] == "update", a["kind"]
assert len(a["calls"]) == 1, a["calls"]
c = a["calls"][0]
assert c["method"] == "PATCH" and c["path"] == "/projects/" + sys.argv[3], c
assert "quota" in c["body"]["project"]["settings"], c["body"]
print("1 update, 1 call:", c["method"], c["path"], json.dumps(c["body"]["project"]["settings"]["quota"]))
EOF
if [ $? -eq 0 ]; then ok "out-of-band quota change: $(cat "$tmp/check3.txt")"
else fail "out-of-band change" "$(cat "$tmp/check3.txt")"; fi

# ------------- an incremental plan reads deep exactly the changed tenants
# touch the file of a created (mapped) tenant: every tenant of that file is
# considered, and only the mapped ones among them are read deep (one of
# them may be the quota drifted above: an update)
first=$(head -1 "$tmp/created.txt")
f=$(grep -rl --include='*.yaml' "^  name: $first\$" "$tmp/repo/tenants" | head -1)
in_file=$(grep -c '^kind: Tenant' "$f")
mapped=0
while read -r t; do grep -q "^  name: $t\$" "$f" && mapped=$((mapped + 1)); done <"$tmp/created.txt"
sha0=$(git -C "$tmp/repo" rev-parse HEAD)
plan --refresh=none >/dev/null 2>&1 # the manifest index of sha0
echo "# touched" >>"$f"
git -C "$tmp/repo" commit -qam "touch ${f##*/}"
before=$(simstat '["requests_total"]')
s=s; [ "$in_file" = 1 ] && s=
if plan --refresh=auto --changed-since "$sha0" --verbose --format json >"$tmp/p4.json" 2>"$tmp/p4.err" &&
	grep -q "refresh made 0 list calls and $mapped deep read" "$tmp/p4.err" &&
	grep -q "$in_file tenant$s considered (partial load)" "$tmp/p4.err" &&
	[ "$(($(simstat '["requests_total"]') - before))" -gt 0 ] &&
	python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; assert s["unchanged"] + s["update"] == int(sys.argv[2]) and s["not_compared_deep"] == 0, s' \
		"$tmp/p4.json" "$mapped"; then
	ok "--changed-since with --refresh=auto: ${f##*/} ($in_file tenants) considered, its $mapped mapped ones read deep and compared"
else
	fail "incremental deep" "in_file=$in_file mapped=$mapped $(cat "$tmp/p4.err")"
fi

# ------------------------------------------------------------ plan files
plan --refresh=none --out "$tmp/p.plan" >/dev/null 2>&1 || fail "plan --out" "exit $?"
if [ "$(stat -c %a "$tmp/p.plan")" = 600 ] && grep -q '"sha256"' "$tmp/p.plan"; then ok "plan file written 0600 with a checksum"
else fail "plan file" "$(stat -c %a "$tmp/p.plan")"; fi
# what the state holds as text, and a file's raw bytes too (what a row
# left in free pages or the WAL)
st_dump "$state" >"$tmp/state.txt" || fail "state dump" "st_dump exit $?"
st_pg || cat "$tmp"/state.db* >>"$tmp/state.txt"
if grep -q "sim-key" "$tmp/p.plan" "$tmp/state.txt"; then fail "secrets" "the API key is in the plan file or state"
else ok "no API key in the plan file or the state"; fi

# ------------------------------------------- uncommitted manifest changes
# plan and apply plan the commit; a work tree with uncommitted manifest
# edits gets a note (stderr, exit code unchanged), other files do not
mkrepo "$tmp/wt" "$src/examples/fleet"
wsha=$(git -C "$tmp/wt" rev-parse --short=7 HEAD)
wstate=$(st "$tmp/wt.db")
wplan() { "$flotilla" plan --repo "$tmp/wt" --state "$wstate" --refresh=none "$@" >"$tmp/wt.out" 2>"$tmp/wt.err"; }
wplan; code=$?
if [ $code = 0 ] && ! grep -q "uncommitted" "$tmp/wt.err"; then ok "clean work tree: no note"
else fail "clean work tree" "exit $code: $(cat "$tmp/wt.err")"; fi
echo "more" >>"$tmp/wt/README.md"
echo "notes" >"$tmp/wt/tenants/notes.txt"
wplan; code=$?
if [ $code = 0 ] && ! grep -q "uncommitted" "$tmp/wt.err"; then ok "changes outside the fleet's manifests: no note"
else fail "changes outside the manifests" "exit $code: $(cat "$tmp/wt.err")"; fi
t1=$(cd "$tmp/wt" && find tenants -name '*.yaml' | sort | head -1)
echo "# edited" >>"$tmp/wt/$t1"
cp "$tmp/wt/$t1" "$tmp/wt/tenants/zz-new.yaml"
echo "# staged" >>"$tmp/wt/flotilla.yaml"
git -C "$tmp/wt" add flotilla.yaml
wplan --detailed-exitcode; code=$?
want="plan: note: 3 manifest files have uncommitted changes (flotilla.yaml staged, $t1 modified, tenants/zz-new.yaml untracked); flotilla plans commit $wsha (HEAD), not the work tree: commit them to plan them"
if [ $code = 2 ] && [ "$(cat "$tmp/wt.err")" = "$want" ]; then ok "modified, untracked and staged manifests: one note, exit 2 as before"
else fail "uncommitted note" "exit $code (want 2): '$(cat "$tmp/wt.err")', want '$want'"; fi
"$flotilla" apply --repo "$tmp/wt" --state "$wstate" --auto-approve >"$tmp/wa.out" 2>"$tmp/wa.err"; code=$?
if [ $code = 0 ] && grep -q "^apply: note: 3 manifest files have uncommitted changes (.*); flotilla plans commit $wsha (HEAD)" "$tmp/wa.err"
then ok "apply: the same note"
else fail "apply note" "exit $code: $(cat "$tmp/wa.err")"; fi
# a commit with a problem (zz-new.yaml names the tenant t1 does), fixed
# in the work tree only: the problem, then the note that explains it
commit "$tmp/wt" "a duplicate tenant"
rm "$tmp/wt/tenants/zz-new.yaml"
wplan; code=$?
if [ $code = 1 ] && grep -q "is defined twice" "$tmp/wt.err" &&
	[ "$(tail -1 "$tmp/wt.err")" = "plan: note: 1 manifest file has uncommitted changes (tenants/zz-new.yaml deleted); flotilla plans commit $(git -C "$tmp/wt" rev-parse --short=7 HEAD) (HEAD), not the work tree: commit them to plan them" ]
then ok "a failed plan: its problems, then the note"
else fail "note after a failure" "exit $code: $(cat "$tmp/wt.err")"; fi
# not a repository: the commands that make it one
mkdir "$tmp/plain"
cp -R "$src/examples/fleet/." "$tmp/plain"
"$flotilla" plan --repo "$tmp/plain" --state "$wstate" --refresh=none >/dev/null 2>"$tmp/np.err"; code=$?
if [ $code = 1 ] && grep -qF "is not a git repository, and flotilla reads the manifests from a commit; make it one: git -C $tmp/plain init && git -C $tmp/plain add -A && git -C $tmp/plain commit -m 'manifests'" "$tmp/np.err"
then ok "not a repository: the commands that make it one"
else fail "not a repository" "exit $code: $(cat "$tmp/np.err")"; fi
if "$flotilla" validate --dir "$tmp/plain" >/dev/null 2>&1; then ok "validate --dir reads it without git"
else fail "validate --dir" "exit $?"; fi

# ---------------------------------------------- parse cache at 10,000
gen_fleet 10000 "$tmp/big"
mkrepo "$tmp/big"
big=$(st "$tmp/big.db")
"$flotilla" plan --repo "$tmp/big" --state "$big" --refresh=none --verbose >/dev/null 2>"$tmp/v1.txt"
f=$(find "$tmp/big/tenants" -name '*.yaml' | sort | head -1)
sed -i 's/^\(  *pgVersion: \)1[0-9]/\117/' "$f"
echo "# touched" >>"$f"
git -C "$tmp/big" commit -qam "one tenant file"
"$flotilla" plan --repo "$tmp/big" --state "$big" --refresh=none --verbose >/dev/null 2>"$tmp/v2.txt"
line=$(grep "manifest files" "$tmp/v2.txt")
if echo "$line" | grep -q ", 1 parsed,"; then ok "parse cache: one changed manifest of 10,000 -> $line"
else fail "parse cache" "first: $(grep 'manifest files' "$tmp/v1.txt"); second: $line; $(grep -h ' warn ' "$tmp/v1.txt" "$tmp/v2.txt")"; fi

finish
