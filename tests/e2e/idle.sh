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
#      make, is test-idle's.) What they cost: with a size given to cold in
#      the cache (the sim reports 0), its storage a month at Neon's default
#      price; then flotilla usage over the month with a spec.prices table
#      (a state that refuses to keep the table fails it): the storage at
#      that table and each tenant's period cost equal to usage's; a
#      garbled kept table reads as the default; a state whose usage cannot
#      be read fails status --idle;
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

# costs FILE BYTES GB_MONTH: check status --idle's JSON FILE: cold's storage
# is BYTES (the rest 0) and each storage cost is the size at GB_MONTH a
# GB-month, as flotilla renders it (12 digits); then any further arguments
# are the checks of the prices and periods, a Python expression each
costs() {
	python3 - "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
size, gb = int(sys.argv[2]), float(sys.argv[3])
bad = []
def rendered(x): return float("%.12g" % x)
want_total = 0
for t in d["tenants"]:
    b = size if t["tenant"] == "cold" else 0
    if t["storage_bytes"] != b: bad.append("%s storage %s, want %s" % (t["tenant"], t["storage_bytes"], b))
    if t["storage_cost_month"] != rendered(b / 1e9 * gb): bad.append("%s storage_cost_month %r, want %r" % (t["tenant"], t["storage_cost_month"], rendered(b / 1e9 * gb)))
    want_total += b / 1e9 * gb
if d["storage_cost_month"] != rendered(want_total): bad.append("total %r, want %r" % (d["storage_cost_month"], rendered(want_total)))
for expr in sys.argv[4:]:
    if not eval(expr): bad.append("not %s" % expr)
print("; ".join(bad) or "ok")
PY
}

# idle_costs: what the idle tenants cost (group 1's state): storage at Neon's
# default price, then at the Fleet's spec.prices once flotilla usage kept
# them, with each tenant's cost in the period usage recorded
idle_costs() {
	local cold_id size=12345678901 prepo=$tmp/prepo org=org-flotilla-sim-00000001
	cold_id=$(pid_of cold "$state")
	# the sim reports no storage (synthetic_storage_size 0): give cold some in
	# the cache, which is all status reads
	st_sql "$state" "UPDATE projects SET synthetic_storage_size = $size WHERE id = '$cold_id'"
	F status --idle 2h --as-of "$as_of" --state "$state" --format json >"$tmp/c1.json" 2>"$tmp/c1.err"
	rc=$?
	check=$(costs "$tmp/c1.json" $size 0.35 'd["prices"] == {"currency": "USD", "as_of": "2025-08-14", "source": "neon-launch"}' \
		'all(t["period_cost"] is None and t["period_start"] is None for t in d["tenants"])')
	if [ "$rc" = 0 ] && [ "$check" = ok ]; then ok "--format json: storage cost at Neon's default 0.35 a GB-month, no period before flotilla usage"
	else fail "default cost json" "exit $rc, $check: $(cat "$tmp/c1.json" "$tmp/c1.err")"; fi
	F status --idle 2h --as-of "$as_of" --state "$state" >"$tmp/c1.txt" 2>&1
	if grep -q "^cold .* 11.5GiB  *4.32  -$" "$tmp/c1.txt" &&
		[ "$(tail -n 1 "$tmp/c1.txt")" = "storage of these tenants: 11.5GiB, about 4.32 USD a month to keep them, at Neon's Launch prices of 2025-08-14 (default)" ]; then
		ok "as text: cold's 11.5GiB costs 4.32 USD a month at Neon's default, the footer says so"
	else fail "default cost text" "$(cat "$tmp/c1.txt")"; fi

	# the Fleet's prices, kept by flotilla usage over this month of the sim clock
	cp -R "$repo" "$prepo"
	fleet_file "$prepo" idle i- "allowedRegions: [aws-us-east-2]" \
		"prices: {computeUnitHour: 0.5, storageGbMonth: 2, dataTransferGb: 1.25, currency: EUR, asOf: 2026-12-01}"
	git -C "$prepo" commit -qam prices
	local since=${as_of:0:7}-01
	# a state that refuses the price table: usage fails and says why
	if st_pg; then st_sql "$state" "ALTER TABLE meta ADD CONSTRAINT no_prices CHECK (key <> 'usage_prices')"
	else st_sql "$state" "CREATE TRIGGER no_prices BEFORE INSERT ON meta WHEN NEW.key = 'usage_prices' BEGIN SELECT RAISE(ABORT, 'refused'); END"; fi
	F usage --repo "$prepo" --state "$state" --org-id $org --since "$since" --until "$as_of" >"$tmp/u0.out" 2>"$tmp/u0.err"
	rc=$?
	if [ "$rc" = 1 ] && grep -q "cannot keep the price table in the state" "$tmp/u0.err"; then ok "usage on a state that refuses the price table fails and says so"
	else fail "prices refused" "exit $rc: $(cat "$tmp/u0.out" "$tmp/u0.err")"; fi
	if st_pg; then st_sql "$state" "ALTER TABLE meta DROP CONSTRAINT no_prices"; else st_sql "$state" "DROP TRIGGER no_prices"; fi

	F usage --repo "$prepo" --state "$state" --org-id $org --since "$since" --until "$as_of" --format json >"$tmp/u.json" 2>"$tmp/u.err" ||
		fail "usage" "$(cat "$tmp/u.err")"
	F status --idle 2h --as-of "$as_of" --state "$state" --format json >"$tmp/c2.json" 2>"$tmp/c2.err"
	rc=$?
	# each tenant's period cost is usage's, to the digit (both rendered at 12)
	check=$(costs "$tmp/c2.json" $size 2 'd["prices"] == {"currency": "EUR", "as_of": "2026-12-01", "source": "spec.prices"}' \
		"{t['tenant']: (t['period_cost'], t['period_start']) for t in d['tenants']} == {u['tenant']: (u['cost'], '${since}T00:00:00Z') for u in json.load(open('$tmp/u.json'))['tenants'] if u['tenant'] != 'awake'}" \
		'all(t["period_cost"] > 0 for t in d["tenants"])')
	if [ "$rc" = 0 ] && [ "$check" = ok ]; then ok "after flotilla usage: storage at spec.prices' 2 EUR a GB-month, each period cost equal to usage's"
	else fail "spec.prices cost json" "exit $rc, $check: $(cat "$tmp/c2.json" "$tmp/c2.err" "$tmp/u.json")"; fi
	F status --idle 2h --as-of "$as_of" --state "$state" >"$tmp/c2.txt" 2>&1
	napper_cost=$(python3 -c 'import json,sys; print("%.2f" % [u["cost"] for u in json.load(open(sys.argv[1]))["tenants"] if u["tenant"] == "napper"][0])' "$tmp/u.json")
	if grep -q "^cold .* 11.5GiB  *24.69  [0-9.]* from $since$" "$tmp/c2.txt" && grep -q "^napper .* 0B  *0.00  $napper_cost from $since$" "$tmp/c2.txt" &&
		[ "$(tail -n 1 "$tmp/c2.txt")" = "storage of these tenants: 11.5GiB, about 24.69 EUR a month to keep them, at spec.prices (kept by the last usage read)" ]; then
		ok "as text: 24.69 EUR a month for cold at spec.prices, napper's period $napper_cost from $since"
	else fail "spec.prices cost text" "$(cat "$tmp/c2.txt")"; fi

	# a kept table that is not one: Neon's default again
	st_sql "$state" "UPDATE meta SET value = '{\"cu_hour\": \"garbled\"}' WHERE key = 'usage_prices'"
	F status --idle 2h --as-of "$as_of" --state "$state" >"$tmp/c3.txt" 2>&1
	if tail -n 1 "$tmp/c3.txt" | grep -q "about 4.32 USD a month to keep them, at Neon's Launch prices of 2025-08-14 (default)$"; then
		ok "a garbled price table in the state: Neon's default prices"
	else fail "garbled prices" "$(cat "$tmp/c3.txt")"; fi

	# the usage periods cannot be read: status fails and says why
	st_sql "$state" "ALTER TABLE tenant_usage RENAME TO tenant_usage_away"
	F status --idle 2h --as-of "$as_of" --state "$state" >"$tmp/c4.out" 2>"$tmp/c4.err"
	rc=$?
	st_sql "$state" "ALTER TABLE tenant_usage_away RENAME TO tenant_usage"
	if [ "$rc" = 1 ] && grep -q "cannot read the tenants' usage" "$tmp/c4.err" && [ ! -s "$tmp/c4.out" ]; then
		ok "status --idle on a state whose usage cannot be read fails and says so"
	else fail "usage unreadable" "exit $rc: $(cat "$tmp/c4.out" "$tmp/c4.err")"; fi
}

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
		grep -q "^napper .* 20[-0-9T:]*Z .* 0B  *0.00  -$" "$tmp/idle.txt" && ! grep -q "^awake" "$tmp/idle.txt" &&
		[ "$(tail -n 1 "$tmp/idle.txt")" = "storage of these tenants: 0B, about 0.00 USD a month to keep them, at Neon's Launch prices of 2025-08-14 (default)" ]; then
		ok "--idle 2h as text: the same three with their storage and its cost"
	else fail "idle text" "exit $rc: $(cat "$tmp/idle.txt")"; fi

	F status --idle 1000d --as-of "$as_of" --state "$state" >"$tmp/none.txt" 2>&1
	rc=$?
	if [ "$rc" = 0 ] && [ "$(cat "$tmp/none.txt")" = "tenants idle for 1000d or more: 0 of 4 mapped, as of $as_of (the cache's last complete list: $(sed -n 's/.*list: \(.*\))$/\1/p' "$tmp/none.txt"))" ]; then
		ok "a limit longer than any idle time lists none, exit 0"
	else fail "none idle" "exit $rc: $(cat "$tmp/none.txt")"; fi
	idle_costs
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
