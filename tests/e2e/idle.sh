#!/usr/bin/env bash
# idle.sh FLOTILLA FLOTILLA_SIM SRCROOT: `flotilla status --idle` (issue 17,
# item 5) against a real flotilla-sim whose clock runs an hour a second
# (--time-scale 3600), on a state file (or a PostgreSQL schema with
# E2E_STATE=postgres):
#   1. four tenants: two active only as they were created (a create
#      starts the compute), one connected once after every create and then
#      left (it suspends after 5 minutes of sim time), one whose compute
#      never suspends, connected after the others went idle; after at
#      least three sim hours, a list refresh stores each project's
#      compute_last_active_at: --idle 2h as of the sim clock lists the
#      three idle ones, most idle first, with their storage, and not the
#      active one, in text and JSON; a limit longer than any idle time
#      lists none. (A never-active project, which the sim's creates never
#      make, is test-idle's.)
#   2. clear refusals: a bad duration, --as-of without --idle or not a
#      time, --idle with a tenant;
#   3. with the sim's tenant activity (random wakes, an hour of it a
#      second): the tenants listed are exactly those the sim's own list
#      shows idle for 2h as of its clock, some but not all of them.
set -uo pipefail
flotilla=$(realpath "$1")
sim=$(realpath "$2")
src=$(realpath "$3")
only_var=IDLE_E2E_ONLY
keep_var=IDLE_E2E_KEEP
. "$(dirname "$0")/lib.sh"
git_sandbox
key=e2e-idle-key
export NEON_API_KEY=$key
private_binaries
state=$(st "$tmp/state.db")
repo=$tmp/repo
api() { curl -sf -H "Authorization: Bearer $key" "$base/api/v2$1"; }
# connect TENANT: a client connection to the tenant's compute (the sim's activity)
connect() {
	local ep
	ep=$(api "/projects/$(pid_of "$1" "$state")/endpoints" | python3 -c 'import json,sys; print(json.load(sys.stdin)["endpoints"][0]["id"])')
	curl -sf -X POST "$base/__sim/connect/$ep" >/dev/null || fail "connect $1" "endpoint '$ep'"
}
sim_now() { curl -sf "$base/__sim/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["now"])'; }

start_sim idle --op-delay-ms 0 --time-scale 3600
fleet_file "$repo" idle i- "allowedRegions: [aws-us-east-2]"
for t in cold frost napper; do tenant_file "$repo" "$t"; done
tenant_file "$repo" awake "compute: {suspendTimeout: never}"
mkrepo "$repo"
F apply --repo "$repo" --state "$state" --auto-approve >"$tmp/apply.out" 2>&1 ||
	fail "setup" "apply: $(tail -n 5 "$tmp/apply.out")"

# ------------------------------------------------ 1. idle tenants listed
if want 1; then
	connect napper    # active once, after every create: the least idle of the three
	sleep 3           # at least 3 hours of the sim clock
	connect awake     # and never suspends: active at the list below
	as_of=$(sim_now)  # before the list: awake's activity is at or after it
	F refresh --repo "$repo" --state "$state" >"$tmp/refresh.out" 2>&1 || fail "refresh" "$(cat "$tmp/refresh.out")"
	napper_last=$(st_sql "$state" "SELECT compute_last_active_at FROM projects WHERE id = '$(pid_of napper "$state")'")
	cold_last=$(st_sql "$state" "SELECT compute_last_active_at FROM projects WHERE id = '$(pid_of cold "$state")'")
	awake_last=$(st_sql "$state" "SELECT compute_last_active_at FROM projects WHERE id = '$(pid_of awake "$state")'")
	if [[ $cold_last == 20*Z ]] && [[ $cold_last < $napper_last ]] && [[ $napper_last < $as_of ]] && [[ ! $awake_last < $as_of ]]; then
		ok "the list stores compute_last_active_at: cold's at its create, napper's later, awake's at or after $as_of"
	else fail "stored" "napper '$napper_last', cold '$cold_last', awake '$awake_last' (as of $as_of)"; fi
	shown=$(F state show napper --state "$state" --format json |
		python3 -c 'import json,sys; r=json.load(sys.stdin)["project_row"]; print(r["compute_last_active_at"], r["synthetic_storage_size"])')
	if [ "$shown" = "$napper_last 0" ]; then ok "state show's project row has the activity and storage"
	else fail "state show" "'$shown', want '$napper_last 0'"; fi

	F status --idle 2h --as-of "$as_of" --state "$state" --format json >"$tmp/idle.json" 2>"$tmp/idle.err"
	rc=$?
	check=$(python3 - "$tmp/idle.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t = d["tenants"]
names = [x["tenant"] for x in t]
bad = []
if sorted(names) != ["cold", "frost", "napper"]: bad.append("tenants %s" % names)
if names and names[-1] != "napper": bad.append("napper not the least idle: %s" % names)
idle = [x["idle_seconds"] for x in t]
if idle != sorted(idle, reverse=True): bad.append("not most idle first: %s" % idle)
if any(i < 7200 for i in idle): bad.append("idle under 2h listed: %s" % idle)
for x in t:
    if x["never_active"]: bad.append("%s never_active" % x["tenant"])
    if x["storage_bytes"] != 0: bad.append("%s storage %s" % (x["tenant"], x["storage_bytes"]))
if d["mapped"] != 4 or d["not_known"] != 0 or d["idle_for_seconds"] != 7200: bad.append("counts %s" % d)
print("; ".join(bad) or "ok")
PY
)
	if [ "$rc" = 0 ] && [ "$check" = ok ]; then ok "--idle 2h --format json: cold, frost and napper, most idle first, not awake"
	else fail "idle json" "exit $rc, $check: $(cat "$tmp/idle.json" "$tmp/idle.err")"; fi

	F status --idle 2h --as-of "$as_of" --state "$state" >"$tmp/idle.txt" 2>&1
	rc=$?
	if [ "$rc" = 0 ] && grep -q "^tenants idle for 2h or more: 3 of 4 mapped, as of $as_of" "$tmp/idle.txt" &&
		grep -q "^napper .* 20[-0-9T:]*Z .* 0B$" "$tmp/idle.txt" && ! grep -q "^awake" "$tmp/idle.txt" &&
		[ "$(tail -n 1 "$tmp/idle.txt")" = "storage of these tenants: 0B" ]; then
		ok "--idle 2h as text: the same three with their storage"
	else fail "idle text" "exit $rc: $(cat "$tmp/idle.txt")"; fi

	F status --idle 1000d --as-of "$as_of" --state "$state" >"$tmp/none.txt" 2>&1
	rc=$?
	if [ "$rc" = 0 ] && [ "$(cat "$tmp/none.txt")" = "tenants idle for 1000d or more: 0 of 4 mapped, as of $as_of (the cache's last complete list: $(sed -n 's/.*list: \(.*\))$/\1/p' "$tmp/none.txt"))" ]; then
		ok "a limit longer than any idle time lists none, exit 0"
	else fail "none idle" "exit $rc: $(cat "$tmp/none.txt")"; fi
fi

# ------------------------------------------------------- 2. refusals
if want 2; then
	bad() { # bad NAME MESSAGE ARGS...: exit 1 and MESSAGE on stderr
		local name=$1 msg=$2
		shift 2
		F status "$@" --state "$state" >"$tmp/b.out" 2>"$tmp/b.err"
		local rc=$?
		if [ "$rc" = 1 ] && grep -q -- "$msg" "$tmp/b.err" && [ ! -s "$tmp/b.out" ]; then ok "$name"
		else fail "$name" "exit $rc: $(cat "$tmp/b.out" "$tmp/b.err")"; fi
	}
	bad "--idle with a bad duration is refused" "--idle 3x: invalid duration '3x'" --idle 3x
	bad "--as-of without --idle is refused" "--as-of goes with --idle DUR" --as-of 2026-12-01T00:00:00Z
	bad "--as-of that is not a time is refused" "--as-of yesterday: not an RFC 3339 time" --idle 1d --as-of yesterday
	bad "--idle with a tenant is refused" "--idle lists the fleet's idle tenants: give no TENANT" cold --idle 1d
fi
# ------------------------------------------ 3. the sim's tenant activity
if want 3; then
	start_sim act --op-delay-ms 0 --time-scale 3600
	state3=$(st "$tmp/state3.db")
	repo3=$tmp/repo3
	fleet_file "$repo3" act a- "allowedRegions: [aws-us-east-2]"
	for i in $(seq -w 1 20); do tenant_file "$repo3" "t$i"; done
	mkrepo "$repo3"
	F apply --repo "$repo3" --state "$state3" --auto-approve >"$tmp/a3.out" 2>&1 ||
		fail "activity setup" "apply: $(tail -n 5 "$tmp/a3.out")"
	faults '{"activity_per_minute": 0.1}' # about 6 wakes a second, among 20 tenants
	sleep 3
	faults '{"activity_per_minute": 0}'
	as_of=$(sim_now)
	F refresh --repo "$repo3" --state "$state3" >"$tmp/r3.out" 2>&1 || fail "activity refresh" "$(cat "$tmp/r3.out")"
	F status --idle 2h --as-of "$as_of" --state "$state3" --format json >"$tmp/a3.json" 2>"$tmp/a3.err"
	rc=$?
	api "/projects?limit=400" >"$tmp/sim3.json"
	# the sim's own answer: idle for 2h as of as_of, from its list after the refresh
	check=$(python3 - "$tmp/sim3.json" "$tmp/a3.json" "$as_of" "$(simstat '["activity"]["wakes"]')" <<'PY'
import json, sys, datetime
def t(s): return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()
sim = json.load(open(sys.argv[1]))["projects"]
got = {x["project_id"] for x in json.load(open(sys.argv[2]))["tenants"]}
as_of = t(sys.argv[3])
want = {p["id"] for p in sim if as_of - t(p.get("compute_last_active_at") or p["created_at"]) >= 7200}
if got != want: print("flotilla %s, the sim %s" % (sorted(got), sorted(want)))
elif not 0 < len(want) < len(sim): print("not a test: %d of %d idle after %s wakes" % (len(want), len(sim), sys.argv[4]))
else: print("ok %d of %d idle, %s wakes" % (len(want), len(sim), sys.argv[4]))
PY
)
	if [ "$rc" = 0 ] && [[ $check == ok* ]]; then ok "with the sim's activity, the tenants it left idle for 2h are listed, the ones it woke since not (${check#ok })"
	else fail "activity" "exit $rc: $check $(cat "$tmp/a3.err")"; fi
fi
finish
