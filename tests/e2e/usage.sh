#!/usr/bin/env bash
# usage.sh FLOTILLA: `flotilla usage` of 1,000 tenants against flotilla-sim:
#   - the figures equal the sim's own answer to GET /consumption_history/v2/projects;
#   - calls: ceil(1000/100) consumption calls plus the list (3 pages of 400);
#   - the cost is at the Fleet's spec.prices; spec.orgId is the organization
#     unless --org-id says otherwise; --select takes plan's terms (labels);
#   - CSV and JSON parse; bad dates, a reversed range, a 406 range, a
#     missing organization and a wrong price table fail with a clear message;
#   - the daemon's usage tier reads the same month for every mapped tenant
#     in ceil(1000/100) calls, keeps it, and waits for its interval; without
#     an organization it makes no call and says why, once.
set -uo pipefail
flotilla=$(realpath "$1")
sim=$(realpath "$2")
key="sk-usage-e2e-SECRET-51c0"
export NEON_API_KEY=$key
. "$(dirname "$0")/lib.sh"
state="$tmp/state.db"
org=org-flotilla-sim-00000001
start_sim usage --time-scale 600
curl -sf -X POST "$base/__sim/populate" -d "{\"count\": 1000, \"name_prefix\": \"u-\", \"org_id\": \"$org\"}" >/dev/null
fleet_file "$tmp/repo" usage u- "orgId: $org" \
	"prices: {computeUnitHour: 0.5, storageGbMonth: 2, dataTransferGb: 1.25, currency: EUR, asOf: 2026-12-01}"
for t in 7 70 700; do tenant_file "$tmp/repo" $t; done
sed -i 's/^metadata: {name: \(.*\)}$/metadata: {name: \1, labels: {tier: pro}}/' "$tmp"/repo/tenants/*.yaml
mkrepo "$tmp/repo"
F refresh --repo "$tmp/repo" --state "$state" >/dev/null 2>"$tmp/err" || fail "refresh" "$(cat "$tmp/err")"
st_sql "$state" "INSERT INTO tenants (tenant, project_id, fleet, source, mapped_at) SELECT substr(name, 3), id, 'usage', 'adopt', 0 FROM projects" 2>"$tmp/err" ||
	fail "map" "$(cat "$tmp/err")"
curl -sf -X POST "$base/__sim/wake" -d '{"count": 200}' >/dev/null
sleep 1 # 10 sim minutes: the woken computes accrue, then go idle
since=$(date -u +%Y-%m-01)
until=$(date -u -d '+1 day' +%Y-%m-%d)
before=$(route "GET /consumption_history/v2/projects"); lists=$(route "GET /projects")
if F usage --repo "$tmp/repo" --since "$since" --until "$until" --format json --state "$state" >"$tmp/u.json" 2>"$tmp/err"; then
	ok "usage of 1,000 tenants ran"
else fail "usage" "$(cat "$tmp/err")"; fi
calls=$(( $(route "GET /consumption_history/v2/projects") - before )); lcalls=$(( $(route "GET /projects") - lists ))
[ "$calls" = 10 ] && [ "$lcalls" = 3 ] && ok "calls: 10 consumption + 3 list" || fail "calls" "$calls consumption, $lcalls list"
# the sim's own figures, asked for all projects at once, page by page
python3 - "$base" "$org" "$since" "$until" "$tmp/u.json" <<'PY' && ok "figures equal the sim's" || fail "figures" "differ"
import json, sys, urllib.request
base, org, since, until, path = sys.argv[1:]
want, cursor = {}, ""
while True:
    url = (f"{base}/api/v2/consumption_history/v2/projects?org_id={org}&limit=100&granularity=monthly"
           f"&metrics=compute_unit_seconds,root_branch_bytes_month,public_network_transfer_bytes"
           f"&from={since}T00:00:00Z&to={until}T00:00:00Z" + (f"&cursor={cursor}" if cursor else ""))
    req = urllib.request.Request(url, headers={"Authorization": "Bearer sk-usage-e2e-SECRET-51c0"})
    page = json.load(urllib.request.urlopen(req))
    for p in page["projects"]:
        t = [0, 0, 0]
        for per in p["periods"]:
            for c in per["consumption"]:
                for m in c["metrics"]:
                    t[["compute_unit_seconds", "root_branch_bytes_month", "public_network_transfer_bytes"].index(m["metric_name"])] += m["value"]
        want[p["project_id"]] = t
    if not page["projects"]:
        break
    cursor = page["pagination"]["cursor"]
got = json.load(open(path))
assert len(got["tenants"]) == 1000, len(got["tenants"])
busy = 0
for r in got["tenants"]:
    w = want[r["project_id"]]
    assert [r["compute_unit_seconds"], r["storage_bytes_month"], r["transfer_bytes"]] == w, (r, w)
    busy += w[0] > 0
assert busy == 200, busy
# the cost at the Fleet's spec.prices, not Neon's
assert got["prices"]["source"] == "spec.prices" and got["prices"]["currency"] == "EUR", got["prices"]
for r in got["tenants"]:
    want_cost = (r["compute_unit_seconds"] / 3600 * 0.5 + r["storage_bytes_month"] / 1e9 * 2
                 + r["transfer_bytes"] / 1e9 * 1.25)
    assert abs(r["cost"] - want_cost) < 1e-6, (r, want_cost)
PY
# a month's run is kept in the state, one row a tenant, for status
kept=$(st_sql "$state" "SELECT count(*) || ' ' || sum(compute_unit_seconds) || ' ' || sum(transfer_bytes) FROM tenant_usage")
want=$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["tenants"]; print(len(t), sum(r["compute_unit_seconds"] for r in t), sum(r["transfer_bytes"] for r in t))' "$tmp/u.json")
[ "$kept" = "$want" ] && ok "kept in the state: $kept" || fail "kept" "state '$kept', output '$want'"
# near a quota: three busy tenants get quotas in Neon (the sim) at 100% and
# 85% of what they used, one at 50%; after a refresh, status lists the two
python3 - "$tmp/u.json" >"$tmp/quotas" <<'PY'
import json, math, sys
t = [r for r in json.load(open(sys.argv[1]))["tenants"] if r["compute_unit_seconds"] > 0 and r["active_seconds"] > 0]
t.sort(key=lambda r: r["tenant"])
a, b, c = t[0], t[1], t[2]
print(a["project_id"], a["tenant"], json.dumps({"active_time_seconds": a["active_seconds"]}))
print(b["project_id"], b["tenant"], json.dumps({"compute_time_seconds": math.ceil(b["compute_unit_seconds"] / 0.85)}))
print(c["project_id"], c["tenant"], json.dumps({"active_time_seconds": c["active_seconds"] * 2}))
PY
# (woken tenants' operations may still hold their projects: api_write waits out the 423)
while read -r pid name quota; do
	api_write PATCH "/projects/$pid" "{\"project\": {\"settings\": {\"quota\": $quota}}}" || fail "quota" "PATCH $pid"
done <"$tmp/quotas"
ops_settled || fail "quota" "the sim's operations never finished"
F refresh --repo "$tmp/repo" --state "$state" >/dev/null 2>"$tmp/err" || fail "refresh 2" "$(cat "$tmp/err")"
mapfile -t near < <(cut -d' ' -f2 "$tmp/quotas")
F status --state "$state" >"$tmp/status" 2>"$tmp/err"
if grep -q "^near quota (80% or more of a quota, from the last usage read): 2 tenants$" "$tmp/status" &&
	grep -q "^! ${near[0]}: activeTime .* (100%)$" "$tmp/status" && grep -q "^! ${near[1]}: computeTime .* (8[45]%)$" "$tmp/status" &&
	! grep -q "^! ${near[2]}:" "$tmp/status"; then
	ok "status lists the two tenants near a quota"
else fail "near quota" "$(cat "$tmp/status" "$tmp/err")"; fi
F status --state "$state" --format json >"$tmp/status.json" 2>"$tmp/err"
python3 -c 'import json,sys; n=json.load(open(sys.argv[1]))["near_quota"]; assert n["count"]==2 and [t["tenant"] for t in n["tenants"]]==[sys.argv[2], sys.argv[3]], n' \
	"$tmp/status.json" "${near[0]}" "${near[1]}" && ok "status JSON: near_quota, worst first" || fail "near json" "$(cat "$tmp/status.json")"
F usage --repo "$tmp/repo" --since "$since" --until "$until" --format csv --top 5 --state "$state" >"$tmp/u.csv" 2>"$tmp/err"
python3 -c 'import csv,sys; rows=list(csv.DictReader(open(sys.argv[1]))); assert len(rows)==5 and float(rows[0]["cost_EUR"])>0, rows' "$tmp/u.csv" &&
	ok "CSV parses, --top 5 gives the five largest" || fail "csv" "$(cat "$tmp/u.csv" "$tmp/err")"
F usage --repo "$tmp/repo" --since "$since" --until "$until" --format csv --select label.tier=pro --state "$state" \
	>"$tmp/sel.csv" 2>"$tmp/err"
python3 -c 'import csv,sys; rows=list(csv.DictReader(open(sys.argv[1]))); assert sorted(r["tenant"] for r in rows)==["7","70","700"], rows' \
	"$tmp/sel.csv" && ok "--select label.tier=pro: the three labelled tenants" || fail "select" "$(cat "$tmp/sel.csv" "$tmp/err")"
fleet_file "$tmp/noorg" usage u-
mkrepo "$tmp/noorg"
fleet_file "$tmp/badprices" usage u- "orgId: $org" "prices: {computeUnitHour: 0.14, storageGbMonth: 0.35}"
mkrepo "$tmp/badprices"
check_err() { # NAME WANT ARGS...: usage ARGS fails saying WANT
	local name=$1 want=$2; shift 2
	if F usage --state "$state" "$@" >/dev/null 2>"$tmp/err"; then fail "$name" "exit 0"
	elif grep -q -- "$want" "$tmp/err"; then ok "$name: clear error"
	else fail "$name" "$(cat "$tmp/err")"; fi
}
check_err "bad --since" "--since 'yesterday' is not a date" --repo "$tmp/repo" --since yesterday
check_err "bad --until" "--until '2026-13-01' is not a date" --repo "$tmp/repo" --until 2026-13-01
check_err "reversed range" "must be before --until" --repo "$tmp/repo" --since 2026-05-02 --until 2026-05-01
check_err "406 range" "Neon does not keep that range" --repo "$tmp/repo" --since 2020-01-01
check_err "no organization" "set spec.orgId in flotilla.yaml, give --org-id" --repo "$tmp/noorg" --since "$since"
before=$(route "GET /consumption_history/v2/projects")
check_err "another organization" "not a member of the organization" --repo "$tmp/repo" --org-id org-other-1
calls=$(( $(route "GET /consumption_history/v2/projects") - before ))
[ "$calls" = 1 ] && ok "a refused first batch stops the run: 1 call" || fail "calls after a 404" "$calls"
check_err "a price table without dataTransferGb" "spec.prices: dataTransferGb is missing" --repo "$tmp/badprices"

# the daemon's usage tier: a fleet of no manifests (the 1,000 mapped tenants
# are orphans, left alone), a pass over the map at once, then one an
# interval later
fleet_file "$tmp/drepo" usage u- "orgId: $org"
mkrepo "$tmp/drepo"
fleet_file "$tmp/dnoorg" usage u-
mkrepo "$tmp/dnoorg"
# daemon NAME REPO: a daemon on the state; sets dpid and dbase
daemon() {
	rm -f "$tmp/$1.port"
	"$flotilla" daemon --repo "$2" --state "$state" --cache-dir "$tmp/$1.git" --listen 127.0.0.1:0 \
		--port-file "$tmp/$1.port" --interval 2s --rate 1000 --usage-interval 1h --log-format text \
		2>"$tmp/$1.log" &
	dpid=$!
	for _ in $(seq 200); do [ -s "$tmp/$1.port" ] && break; sleep 0.05; done
	dbase="http://127.0.0.1:$(cat "$tmp/$1.port" 2>/dev/null)"
}
# passed: the usage tier's pass ended (its metric is set)
passed() { curl -sf "$dbase/metrics" | grep -q '^flotilla_usage_pass_timestamp_seconds [1-9]'; }
st_sql "$state" "DELETE FROM tenant_usage" || fail "daemon usage" "cannot empty tenant_usage"
before=$(route "GET /consumption_history/v2/projects")
daemon usage "$tmp/drepo"
for _ in $(seq 300); do passed && break; sleep 0.1; done
passed && ok "daemon: the usage tier read every tenant" || fail "daemon usage" "$(tail -5 "$tmp/usage.log")"
sleep 3 # a loop or more: no second pass within the interval
calls=$(( $(route "GET /consumption_history/v2/projects") - before ))
reads=$(curl -sf "$dbase/metrics" | sed -n 's/^flotilla_usage_reads_total //p')
kill -TERM "$dpid"; wait "$dpid"
[ "$calls" = 10 ] && [ "$reads" = 1000 ] && ok "daemon: 10 consumption calls for 1,000 tenants, then none" ||
	fail "daemon calls" "$calls calls, $reads reads"
grep -q "usage tier: this month's usage of every tenant read" "$tmp/usage.log" && ok "daemon: the pass is logged" ||
	fail "daemon log" "$(cat "$tmp/usage.log")"
# the same figures `flotilla usage` read for the month (compute and transfer
# no longer grow: the woken computes went idle), the active time from the
# cached list
kept=$(st_sql "$state" "SELECT count(*) || ' ' || sum(compute_unit_seconds) || ' ' || sum(transfer_bytes) || ' ' || sum(active_seconds) FROM tenant_usage WHERE period_start = $(date -u -d "$since" +%s)")
want=$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["tenants"]; print(len(t), sum(r["compute_unit_seconds"] for r in t), sum(r["transfer_bytes"] for r in t), sum(r["active_seconds"] for r in t))' "$tmp/u.json")
[ "$kept" = "$want" ] && ok "daemon: kept the month's figures: $kept" || fail "daemon figures" "state '$kept', usage '$want'"
# and the price table of the Fleet it planned (Neon's: drepo has no
# spec.prices) in place of usage's EUR one, for status --idle
prices=$(st_sql "$state" "SELECT value FROM meta WHERE key = 'usage_prices'")
[[ "$prices" == *'"currency":"USD"'*'"from_manifest":false'* ]] && ok "daemon: kept the Fleet's price table" ||
	fail "daemon prices" "$prices"
before=$(route "GET /consumption_history/v2/projects")
daemon noorg "$tmp/dnoorg"
for _ in $(seq 100); do grep -q "usage tier: the consumption API failed" "$tmp/noorg.log" && break; sleep 0.1; done
sleep 3
kill -TERM "$dpid"; wait "$dpid"
calls=$(( $(route "GET /consumption_history/v2/projects") - before ))
if [ "$calls" = 0 ] && [ "$(grep -c "usage tier: the consumption API failed.*set spec.orgId" "$tmp/noorg.log")" = 1 ]; then
	ok "daemon without an organization: no call, said once"
else fail "daemon no org" "$calls calls; $(grep "usage tier" "$tmp/noorg.log")"; fi
finish
