#!/usr/bin/env bash
# day-two.sh FLOTILLA FLOTILLA_SIM SRCROOT: the day-two commands (issue 16)
# against a real flotilla-sim and a real git repository, on a state file
# (or a PostgreSQL schema with E2E_STATE=postgres: lib.sh's st):
#   1. state list, text and JSON (parsed), and state show, text and JSON:
#      the rows, never a password; an unknown tenant names the nearest;
#   2. state forget: refused while the manifest is in git, or under a lease
#      held elsewhere; an unknown tenant names the nearest; an orphan is
#      forgotten with no API call (its project still there), plans no
#      longer show it, status lists the run, refresh --rebuild does not
#      map it again; its manifest back, the plan adopts the same project
#      and the forgotten record goes;
#   3. connection-string prints exactly what the sim answers for the same
#      parameters (pooled too), and the password is in neither the state
#      nor stderr; an unknown database is a clear error; without a deep
#      read, the database and role must be given;
#   4. a mapped project deleted in Neon behind flotilla's back blocks its
#      tenant (never re-created on its own); state forget --force unmaps
#      it, and the next apply creates one new project.
# DAY_TWO_E2E_ONLY=1 runs only some groups (2 needs 1's fleet).
set -uo pipefail
flotilla=$(realpath "$1")
sim=$(realpath "$2")
src=$(realpath "$3")
only_var=DAY_TWO_E2E_ONLY
keep_var=DAY_TWO_E2E_KEEP
. "$(dirname "$0")/lib.sh"
git_sandbox
key=e2e-day-two-key
export NEON_API_KEY=$key
private_binaries
state=$(st "$tmp/state.db")
repo=$tmp/repo
# jq PY FILE: a Python expression over the JSON document in FILE (as d)
jq() { python3 -c 'import json,sys; d=json.load(open(sys.argv[2])); print(eval(sys.argv[1]))' "$1" "$2"; }
# api PATH: GET the sim's API directly, with the key

start_sim day2 --op-delay-ms 0
fleet_file "$repo" day2 d- "allowedRegions: [aws-us-east-2]"
for t in acme bolt cog; do tenant_file "$repo" "$t"; done
mkrepo "$repo"
F apply --repo "$repo" --state "$state" --auto-approve >"$tmp/apply.out" 2>&1 ||
	fail "setup" "apply: $(tail -n 5 "$tmp/apply.out")"

# ------------------------------------------------------- 1. list and show
if want 1; then
	F state list --state "$state" >"$tmp/list.out" 2>"$tmp/list.err"
	rc=$?
	if [ "$rc" = 0 ] && head -n 1 "$tmp/list.out" | grep -q "^TENANT *PROJECT *FLEET *REGION *PG *SYNC *PROTECT" &&
		grep -q "^acme  *$(pid_of acme "$state") *day2 *aws-us-east-2 *17 *synced *no" "$tmp/list.out" &&
		grep -q "^3 tenants mapped: 3 synced, 0 out-of-sync" "$tmp/list.out"; then
		ok "state list: a table of the tenants, counts at the end"
	else
		fail "state list" "exit $rc: $(cat "$tmp/list.out" "$tmp/list.err")"
	fi
	F state list --state "$state" --format json >"$tmp/list.json" 2>"$tmp/list.err"
	if [ "$(jq '[d["version"], d["fleet"], [t["tenant"] for t in d["tenants"]], d["counts"]["tenants"],
		d["counts"]["synced"], d["tenants"][0]["project"]["region_id"], d["tenants"][0]["sync"]["state"],
		d["forgotten"]]' "$tmp/list.json")" = "[1, 'day2', ['acme', 'bolt', 'cog'], 3, 3, 'aws-us-east-2', 'synced', []]" ]; then
		ok "state list --format json: one document, every tenant, the counts"
	else
		fail "state list json" "$(cat "$tmp/list.json" "$tmp/list.err")"
	fi
	F state show acme --state "$state" >"$tmp/show.out" 2>&1
	rc=$?
	if [ "$rc" = 0 ] && grep -q "^tenant acme -> project $(pid_of acme "$state") (mapped by create" "$tmp/show.out" &&
		grep -q "^sync: synced" "$tmp/show.out" && grep -q "^project row: .* named d-acme, region aws-us-east-2" "$tmp/show.out" &&
		grep -q "^database .* owner " "$tmp/show.out" && grep -q "^role " "$tmp/show.out" &&
		grep -q "^journal (last 10 rows):" "$tmp/show.out"; then
		ok "state show: the mapping, sync state, project row, deep rows and journal"
	else
		fail "state show" "exit $rc: $(cat "$tmp/show.out")"
	fi
	F state show acme --state "$state" --format json >"$tmp/show.json" 2>&1
	if [ "$(jq '[d["tenant"], d["project_row"]["id"] == d["project_id"], len(d["deep"]["databases"]) > 0,
		len(d["journal"]) > 0, "password" in json.dumps(d).lower()]' "$tmp/show.json")" = "['acme', True, True, True, False]" ]; then
		ok "state show --format json: the rows, no password anywhere"
	else
		fail "state show json" "$(head -c 2000 "$tmp/show.json")"
	fi
	if F state show acmee --state "$state" >/dev/null 2>"$tmp/err"; then fail "unknown tenant" "exit 0"
	elif grep -q "no tenant named 'acmee' in the state .*; did you mean 'acme'?" "$tmp/err"; then
		ok "an unknown tenant names the nearest one"
	else fail "unknown tenant" "$(cat "$tmp/err")"; fi
fi

# ---------------------------------------------------------- 2. state forget
if want 2; then
	cog=$(pid_of cog "$state")
	if F state forget bolt --state "$state" >"$tmp/out" 2>"$tmp/err"; then fail "forget with a manifest" "exit 0"
	elif grep -q "tenant 'bolt' still has a manifest, tenants/bolt.yaml, at commit" "$tmp/err" &&
		grep -q -- "--force" "$tmp/err" && [ -n "$(pid_of bolt "$state")" ]; then
		ok "forget of a tenant whose manifest is in git is refused, naming the manifest"
	else fail "forget with a manifest" "$(cat "$tmp/out" "$tmp/err")"; fi
	if F state forget acmee --state "$state" >/dev/null 2>"$tmp/err"; then fail "forget unknown" "exit 0"
	elif grep -q "no tenant named 'acmee' in the state .*; did you mean 'acme'?" "$tmp/err"; then
		ok "forget of an unknown tenant names the nearest one"
	else fail "forget unknown" "$(cat "$tmp/err")"; fi
	git -C "$repo" rm -q tenants/cog.yaml && commit "$repo" "cog leaves"
	F plan --repo "$repo" --state "$state" >"$tmp/plan1.out" 2>&1
	if grep -q "^? cog (manifest gone, prune off)" "$tmp/plan1.out"; then ok "the plan shows cog orphaned"
	else fail "orphan" "$(cat "$tmp/plan1.out")"; fi
	# a lease held elsewhere stops forget, naming its holder
	now=$(date +%s)
	st_sql "$state" "INSERT INTO leases (name, holder, pid, host, acquired_at, renewed_at, expires_at)
		VALUES ('fleet', '4242@build-7', 4242, 'build-7', $now, $now, $((now + 3600)))"
	if F state forget cog --state "$state" >/dev/null 2>"$tmp/err"; then fail "forget under a lease" "exit 0"
	elif grep -q "in use by pid 4242 on build-7" "$tmp/err" && [ -n "$(pid_of cog "$state")" ]; then
		ok "a lease held elsewhere stops forget, and nothing is unmapped"
	else fail "forget under a lease" "$(cat "$tmp/err")"; fi
	st_sql "$state" "DELETE FROM leases" >/dev/null
	requests=$(simstat '["requests_total"]')
	writes=$(simstat '["writes_total"]')
	F state forget cog --state "$state" >"$tmp/forget.out" 2>"$tmp/forget.err"
	rc=$?
	if [ "$rc" = 0 ] && grep -q "forgot tenant 'cog': unmapped from project $cog, which is left in Neon" "$tmp/forget.out" &&
		[ -z "$(pid_of cog "$state")" ] && [ "$(simstat '["requests_total"]')" = "$requests" ] &&
		[ "$(simstat '["writes_total"]')" = "$writes" ] &&
		[ "$(api "/projects/$cog" | python3 -c 'import json,sys; print(json.load(sys.stdin)["project"]["id"])')" = "$cog" ]; then
		ok "state forget unmaps the orphan with no API call; its project is still there"
	else
		fail "forget" "exit $rc, requests $requests -> $(simstat '["requests_total"]'): $(cat "$tmp/forget.out" "$tmp/forget.err")"
	fi
	F plan --repo "$repo" --state "$state" >"$tmp/plan2.out" 2>&1
	if ! grep -q "cog" "$tmp/plan2.out" && grep -q "^No changes" "$tmp/plan2.out"; then ok "the next plan no longer shows it"
	else fail "plan after forget" "$(cat "$tmp/plan2.out")"; fi
	F status --state "$state" >"$tmp/status.out" 2>&1
	if grep -q "state forget .*: forgot tenant cog, project $cog left in Neon" "$tmp/status.out" &&
		[ "$(st_sql "$state" "SELECT outcome FROM runs WHERE command = 'state forget'")" = ok ] &&
		F state show cog --state "$state" | grep -q "^forgotten: project $cog of fleet day2"; then
		ok "the run history and state show record the forget"
	else fail "history" "$(cat "$tmp/status.out")"; fi
	# a lost map: rebuild from annotations, with the forgotten record kept
	rebuilt=$(st "$tmp/rebuilt.db")
	st_copy "$state" "$rebuilt"
	st_sql "$rebuilt" "DELETE FROM tenants" >/dev/null
	F refresh --rebuild --repo "$repo" --state "$rebuilt" >"$tmp/rebuild.out" 2>&1
	if [ -z "$(pid_of cog "$rebuilt")" ] && [ -n "$(pid_of acme "$rebuilt")" ] &&
		grep -q "1 forgotten project left alone" "$tmp/rebuild.out" &&
		grep -q "left alone: $cog (named 'd-cog'): tenant 'cog''s project, forgotten by flotilla state forget" "$tmp/rebuild.out"; then
		ok "refresh --rebuild does not map the forgotten project again"
	else fail "rebuild" "$(cat "$tmp/rebuild.out")"; fi
	# the manifest comes back: the same project, adopted again
	git -C "$repo" revert --no-edit HEAD >/dev/null
	F plan --repo "$repo" --state "$state" >"$tmp/plan3.out" 2>&1
	F apply --repo "$repo" --state "$state" --auto-approve >"$tmp/apply3.out" 2>&1
	if grep -q "^= cog" "$tmp/plan3.out" && grep -q "forgotten by flotilla state forget; its manifest is back" "$tmp/plan3.out" &&
		[ "$(pid_of cog "$state")" = "$cog" ] && no_dups &&
		[ "$(st_sql "$state" "SELECT count(*) FROM forgotten")" = 0 ]; then
		ok "its manifest back, the plan adopts the same project and the record goes"
	else fail "comeback" "$(cat "$tmp/plan3.out" "$tmp/apply3.out")"; fi
fi

# ----------------------------------------------------- 3. connection-string
if want 3; then
	acme=$(pid_of acme "$state")
	F state show acme --state "$state" --format json >"$tmp/acme.json"
	db=$(jq 'd["deep"]["databases"][0]["name"]' "$tmp/acme.json")
	role=$(jq 'd["deep"]["databases"][0]["owner"]' "$tmp/acme.json")
	want=$(api "/projects/$acme/connection_uri?database_name=$db&role_name=$role" | python3 -c 'import json,sys; print(json.load(sys.stdin)["uri"])')
	wantp=$(api "/projects/$acme/connection_uri?database_name=$db&role_name=$role&pooled=true" | python3 -c 'import json,sys; print(json.load(sys.stdin)["uri"])')
	F connection-string acme --state "$state" >"$tmp/uri.out" 2>"$tmp/uri.err"
	rc=$?
	F connection-string acme --pooled --database "$db" --role "$role" --state "$state" >"$tmp/urip.out" 2>>"$tmp/uri.err"
	rcp=$?
	if [ "$rc" = 0 ] && [ "$rcp" = 0 ] && [ -n "$want" ] && [ "$(cat "$tmp/uri.out")" = "$want" ] &&
		[ "$(cat "$tmp/urip.out")" = "$wantp" ] && [ "$want" != "$wantp" ] && [ "$(wc -l <"$tmp/uri.out")" = 1 ]; then
		ok "connection-string prints exactly the sim's URI, pooled too, and nothing else"
	else
		fail "connection-string" "exit $rc/$rcp: got $(cat "$tmp/uri.out" "$tmp/urip.out" "$tmp/uri.err"), want $want"
	fi
	password=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.urlsplit(sys.argv[1]).password or "")' "$want")
	found=0
	if [ -n "$password" ]; then
		st_dump "$state" | grep -qF "$password" && found=1
		if ! st_pg; then cat "$tmp/state.db"* | grep -qaF "$password" && found=1; fi
		grep -qF "$password" "$tmp/uri.err" && found=1
	fi
	if [ -n "$password" ] && [ "$found" = 0 ]; then ok "the password is in neither the state nor stderr"
	else fail "secret" "password '${password:-none}' found ($found)"; fi
	if F connection-string acme --database nope --role "$role" --state "$state" >"$tmp/out" 2>"$tmp/err"; then
		fail "unknown database" "exit 0"
	elif [ ! -s "$tmp/out" ] && grep -q "tenant 'acme' (project $acme, database 'nope', role '$role'): .*database not found" "$tmp/err"; then
		ok "an unknown database is a clear error, nothing on stdout"
	else fail "unknown database" "$(cat "$tmp/out" "$tmp/err")"; fi
	# no deep read: the names cannot be chosen, and the command says which to give
	bolt=$(pid_of bolt "$state")
	st_sql "$state" "UPDATE projects SET deep_at = 0 WHERE id = '$bolt'" >/dev/null
	if F connection-string bolt --state "$state" >"$tmp/out" 2>"$tmp/err"; then fail "no deep read" "exit 0"
	elif [ ! -s "$tmp/out" ] && grep -q "the state has no deep read of project $bolt, so the database and role cannot be chosen from it: give --database and --role" "$tmp/err" &&
		F connection-string bolt --database "$db" --role "$role" --state "$state" 2>/dev/null | grep -q "^postgres"; then
		ok "without a deep read the database and role must be given, and then work"
	else fail "no deep read" "$(cat "$tmp/out" "$tmp/err")"; fi
	if F connection-string acmee --state "$state" 2>"$tmp/err"; then fail "unknown tenant" "exit 0"
	elif grep -q "did you mean 'acme'" "$tmp/err"; then ok "connection-string of an unknown tenant names the nearest"
	else fail "unknown tenant" "$(cat "$tmp/err")"; fi
fi

# ------------------------------------- 4. a project deleted behind our back
if want 4; then
	# deleted after the last list, found by the deep read of an incremental
	# plan (the cache is fresh: no list): dropped from the cache, and the
	# tenant blocked as after a list, not a failed plan
	cog=$(pid_of cog "$state")
	F refresh --repo "$repo" --state "$state" >/dev/null 2>&1
	curl -sf -X DELETE -H "Authorization: Bearer $key" "$base/api/v2/projects/$cog" >/dev/null ||
		fail "setup" "DELETE /projects/$cog refused"
	tenant_file "$repo" cog "historyRetention: 2d"
	commit "$repo" "cog keeps two days"
	lists=$(route "GET /projects")
	F plan --repo "$repo" --state "$state" --changed-since HEAD~1 >"$tmp/plan4a.out" 2>&1
	if [ "$(route "GET /projects")" = "$lists" ] &&
		grep -q "1 project was deleted in Neon since the last list (a deep read found it gone): dropped from the cache" "$tmp/plan4a.out" &&
		grep -q "^! cog: tenant 'cog': mapped project $cog is not in the cache" "$tmp/plan4a.out" &&
		! grep -q "deep read.* failed" "$tmp/plan4a.out" && [ -z "$(st_sql "$state" "SELECT id FROM projects WHERE id = '$cog'")" ]; then
		ok "a project deleted after the list, found by a deep read: dropped from the cache, its tenant blocked"
	else fail "deleted since the list" "$(cat "$tmp/plan4a.out")"; fi
	F state forget cog --force --state "$state" >/dev/null 2>&1 || fail "forget cog" "exit $?"
	bolt=$(pid_of bolt "$state")
	curl -sf -X DELETE -H "Authorization: Bearer $key" "$base/api/v2/projects/$bolt" >/dev/null ||
		fail "setup" "DELETE /projects/$bolt refused"
	F refresh --repo "$repo" --state "$state" >"$tmp/refresh4.out" 2>&1
	F plan --repo "$repo" --state "$state" >"$tmp/plan4.out" 2>&1
	if grep -q "^! bolt: tenant 'bolt': mapped project $bolt is not in the cache" "$tmp/plan4.out" &&
		grep -q "to unblock: .*'flotilla state forget bolt --force'" "$tmp/plan4.out"; then
		ok "a mapped project deleted in Neon blocks its tenant, and the hint names state forget --force"
	else fail "deleted project" "$(cat "$tmp/refresh4.out" "$tmp/plan4.out")"; fi
	F state forget bolt --force --state "$state" >"$tmp/out" 2>&1
	grep -q "a manifest for 'bolt' makes a new project (the last list did not show $bolt: deleted in Neon)$" "$tmp/out" &&
		ok "forget of a tenant whose project is gone says a manifest makes a new one" || fail "forget gone" "$(cat "$tmp/out")"
	F apply --repo "$repo" --state "$state" --auto-approve >"$tmp/apply4.out" 2>&1
	rc=$?
	new=$(pid_of bolt "$state")
	# the sim counts deleted projects in no_dups: one live project by the name is the check here
	if [ "$rc" = 0 ] && grep -q "^+ bolt" "$tmp/apply4.out" && [ -n "$new" ] && [ "$new" != "$bolt" ] &&
		[ "$(api "/projects?search=d-bolt" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["projects"]))')" = 1 ]; then
		ok "forget --force, then apply creates one new project for it"
	else fail "re-create" "exit $rc, $bolt -> $new: $(cat "$tmp/out" "$tmp/apply4.out")"; fi
fi
finish
