#!/usr/bin/env bash
# usage.sh [N]: time `flotilla usage` of N mapped tenants (default 100000)
# for one month against flotilla-sim, at flotilla's default --rate (10
# requests a second; the sim's own rate limits off, so flotilla's budget is
# what paces it), and print the calls made (from /__sim/stats: consumption
# calls, target ceil(N/100); list pages of 400, ceil(N/400) or one more),
# the wall time, and flotilla's peak RSS. Then the daemon's usage tier over
# the same tenants (DAEMON_RATE, default 100 requests a second, the default
# 20% drift budget): the time its first pass took, its calls, and the
# daemon's peak RSS, beside the pass time the pacing predicts
# (docs/daemon.md "Usage"). docs/benchmarks.md records the figures. One
# run: it takes minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
build=${BENCH_BUILD:-build-bench}
org="org-flotilla-sim-00000001" # the sim key's own organization
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" --buildtype=release -Dtests=false >/dev/null
fi
ninja -C "$build" reconciler/flotilla sim/flotilla-sim >/dev/null
tmp=$(mktemp -d)
sim_pid= dpid=
trap '[ -n "$dpid" ] && kill $dpid 2>/dev/null; [ -n "$sim_pid" ] && kill $sim_pid 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
"$build/sim/flotilla-sim" --listen 127.0.0.1:0 --port-file "$tmp/port" --quiet --rate-per-minute 0 \
	--op-delay-ms 0 --api-key bench-key 2>/dev/null &
sim_pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
base=http://127.0.0.1:$(cat "$tmp/port")
curl -sf -X POST "$base/__sim/populate" -d "{\"count\": $n, \"name_prefix\": \"t-\", \"org_id\": \"$org\"}" >/dev/null
# a tenth of the projects did some work: their computes ran, so their usage is not zero
curl -sf -X POST "$base/__sim/wake" -d "{\"count\": $((n / 10))}" >/dev/null

# the fleet: its Fleet document only (the tenants are mapped, without manifests)
mkdir -p "$tmp/fleet"
printf 'apiVersion: flotilla/v1\nkind: Fleet\nmetadata: {name: bench}\nspec: {namePrefix: "t-", orgId: %s}\n' \
	"$org" >"$tmp/fleet/flotilla.yaml"
git -C "$tmp/fleet" init -q && git -C "$tmp/fleet" add -A &&
	git -C "$tmp/fleet" -c user.name=bench -c user.email=bench@localhost commit -qm fleet
export NEON_API_HOST="$base/api/v2" NEON_API_KEY=bench-key
"$build/reconciler/flotilla" refresh --repo "$tmp/fleet" --state "$tmp/s.db" --rate 10000 >/dev/null 2>"$tmp/err" ||
	{ echo "usage.sh: the refresh failed:" >&2; cat "$tmp/err" >&2; exit 1; }
sqlite3 "$tmp/s.db" "INSERT INTO tenants (tenant, project_id, fleet, source, mapped_at)
	SELECT substr(name, 3), id, 'bench', 'adopt', 0 FROM projects"

route() { curl -sf "$base/__sim/stats" | python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["requests"].get(sys.argv[1], {}).values()))' "$1"; }
since=$(date -u +%Y-%m-01)
until=$(date -u -d "$since +1 month" +%Y-%m-%d)
c0=$(route "GET /consumption_history/v2/projects"); l0=$(route "GET /projects")
start=$(date +%s.%N)
/usr/bin/time -f %M -o "$tmp/rss" "$build/reconciler/flotilla" usage --repo "$tmp/fleet" --state "$tmp/s.db" \
	--since "$since" --until "$until" --format csv >"$tmp/out.csv" 2>"$tmp/err" ||
	{ echo "usage.sh: flotilla usage failed:" >&2; tail -n 20 "$tmp/err" >&2; exit 1; }
end=$(date +%s.%N)
calls=$(( $(route "GET /consumption_history/v2/projects") - c0 )); lists=$(( $(route "GET /projects") - l0 ))
rows=$(( $(wc -l <"$tmp/out.csv") - 1 ))
busy=$(awk -F, 'NR > 1 && $3 > 0' "$tmp/out.csv" | wc -l)
echo "tenants $n, one month ($since .. $until), --rate default (10/s)"
printf '  consumption calls %d (target %d)\n' "$calls" $(( (n + 99) / 100 ))
printf '  list calls        %d (target %d or %d)\n' "$lists" $(( (n + 399) / 400 )) $(( (n + 399) / 400 + 1 ))
printf '  wall time         %.1f s (the calls at 10/s: %.1f s)\n' "$(echo "$end - $start" | bc -l)" \
	"$(echo "($calls + $lists) / 10" | bc -l)"
printf '  peak RSS          %.0f MB\n' "$(echo "$(cat "$tmp/rss") / 1024" | bc -l)"
printf '  rows              %d (%d with compute)\n' "$rows" "$busy"

# ------------------------------------------------- the daemon's usage tier
rate=${DAEMON_RATE:-100}
# a state read deep, as a daemon's is: else its first plan reads every
# project deep (4 calls each) before the sweep runs
"$build/reconciler/flotilla" refresh --full --repo "$tmp/fleet" --state "$tmp/s.db" --rate 10000 >/dev/null 2>"$tmp/err" ||
	{ echo "usage.sh: the deep refresh failed:" >&2; tail -n 5 "$tmp/err" >&2; exit 1; }
sqlite3 "$tmp/s.db" "DELETE FROM tenant_usage"
c0=$(route "GET /consumption_history/v2/projects")
start=$(date +%s.%N)
"$build/reconciler/flotilla" daemon --repo "$tmp/fleet" --state "$tmp/s.db" --cache-dir "$tmp/git" --rate "$rate" \
	--listen 127.0.0.1:0 --port-file "$tmp/dport" --log-format text 2>"$tmp/daemon.log" &
dpid=$!
for _ in $(seq 200); do [ -s "$tmp/dport" ] && break; sleep 0.05; done
dbase=http://127.0.0.1:$(cat "$tmp/dport")
passed() { curl -sf "$dbase/metrics" | grep -q '^flotilla_usage_pass_timestamp_seconds [1-9]'; }
hwm=0
until passed; do
	kill -0 "$dpid" 2>/dev/null || { echo "usage.sh: the daemon stopped:" >&2; tail -n 20 "$tmp/daemon.log" >&2; exit 1; }
	hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$dpid/status")
	sleep 1
done
end=$(date +%s.%N)
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$dpid/status")
kill -TERM "$dpid"; wait "$dpid" || true; dpid=
calls=$(( $(route "GET /consumption_history/v2/projects") - c0 ))
kept=$(sqlite3 "$tmp/s.db" "SELECT count(*) FROM tenant_usage")
took=$(sed -n 's/.*usage tier: this month.s usage of every tenant read.*took=\([^ ]*\).*/\1/p' "$tmp/daemon.log" | head -n 1)
# the pacing: a quarter of what the list tier leaves of rate x 20%; the list
# tier takes list calls / (rate x 20% x interval), its interval at least 60 s
predict=$(python3 -c "
import math
n, rate = $n, $rate
pace = rate * 0.2
lc = n // 400 + 1
iv = max(lc / (pace * 0.5), 60)
share = lc / (pace * iv)
print('%.0f' % ((math.ceil(n / 100) - 1) / (pace * (1 - share) * 0.25)))")
echo "the daemon's usage tier: tenants $n, --rate $rate, --drift-budget 20%"
printf '  consumption calls %d (target %d)\n' "$calls" $(( (n + 99) / 100 ))
printf '  rows kept         %d\n' "$kept"
printf '  first pass        %s by its log, %.0f s from the daemon'"'"'s start (the pacing predicts %s s)\n' \
	"$took" "$(echo "$end - $start" | bc -l)" "$predict"
printf '  daemon peak RSS   %.0f MB\n' "$(echo "$hwm / 1024" | bc -l)"
