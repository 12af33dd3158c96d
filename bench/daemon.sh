#!/usr/bin/env bash
# daemon.sh [N]: `flotilla daemon` on a converged fleet of N tenants
# (default 100000) in flotilla-sim, rate limits off so that every request
# counted is flotilla's own choice. It measures:
#   steady state: with no commit, a window of WINDOW seconds (default 600)
#     that starts once the daemon's first loop has finished
#     (flotilla_last_reconcile_timestamp_seconds on /metrics). At both ends
#     it reads the sim's requests_total and writes_total (/__sim/stats),
#     the daemon's utime + stime (/proc/PID/stat) and VmRSS / VmHWM
#     (/proc/PID/status), and /metrics; RSS is also sampled every 30 s.
#     Scaled to an hour: API calls, writes (target 0), CPU seconds. Calls
#     per hour are compared with the drift budget, drift-budget x rate x
#     3600 = 0.2 x 10 x 3600 = 7,200 (target: calls <= budget), and with
#     what the daemon's own counter predicts: flotilla_drift_reads_total
#     delta x 5 (project, branches, endpoints, databases, roles) plus the
#     list calls (GET /projects in the sim's stats), not a target: the real
#     cost of a deep read depends on the tenant's branches;
#   time to converge: a commit that changes quota.logicalSize in 10
#     single-tenant files (as bench/plan.sh (c)), from `git commit` to
#     the moment flotilla_last_applied_commit_info names the new sha,
#     (i) with no webhook: the next interval picks it up; (ii) with a
#     signed POST /hooks/git (HMAC-SHA256 from python3's hmac) right
#     after the commit, made once the loop that applied (i) has ended,
#     so that the daemon is idle. For each, the sim's writes_total delta must equal
#     the plan's api_calls (`flotilla plan --changed-since last-applied
#     --format json --refresh=none` on a copy of the state file taken just
#     before the commit, so the daemon's apply cannot race it).
#
# Setup: release binaries in build-bench, the fleet from bench/gen-fleet
# N (cached in bench/out/) committed to a fresh temp repository (as
# bench/plan.sh), flotilla-sim with --rate-per-minute 0 --op-delay-ms 0,
# then one `flotilla apply --auto-approve --rate 10000 --parallel 64`
# (timed under GNU time: the fleet's creation, reported). The daemon then
# runs on the same state file: --repo REPO --interval INTERVAL (default
# 60s) --rate 10 --drift-budget 20% --webhook-secret-file F, listening on
# 127.0.0.1:0 (--port-file). Its JSON log is kept with KEEP=DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

n=${1:-100000}
window=${WINDOW:-600}
interval=${INTERVAL:-60s}
rate=10
budget_pct=20
build=build-bench

if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" --buildtype=release -Dtests=false >/dev/null
fi
ninja -C "$build" reconciler/flotilla sim/flotilla-sim >/dev/null
flotilla=$(pwd)/$build/reconciler/flotilla
sim=$(pwd)/$build/sim/flotilla-sim

if ! [ -x /usr/bin/time ] || ! /usr/bin/time -f %M -o /dev/null true 2>/dev/null; then
	echo "daemon.sh: needs GNU time (/usr/bin/time, Debian package 'time') for peak RSS" >&2
	exit 1
fi
for tool in jq curl python3 sqlite3; do
	command -v $tool >/dev/null || { echo "daemon.sh: needs $tool" >&2; exit 1; }
done

tmp=$(mktemp -d)
sim_pid=
daemon_pid=
rss_pid=
cleanup() {
	[ -n "$rss_pid" ] && kill "$rss_pid" 2>/dev/null
	if [ -n "$daemon_pid" ]; then
		kill "$daemon_pid" 2>/dev/null
		wait "$daemon_pid" 2>/dev/null
	fi
	[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null
	if [ -n "${KEEP:-}" ]; then
		mkdir -p "$KEEP"
		cp "$tmp"/*.err "$tmp"/*.log "$tmp/rss-samples" "$KEEP/" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

. bench/lib.sh

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

# ---------------------------------------------------------------- the repo
src=$(fleet "$n")
repo=$tmp/repo
state=$tmp/state.db
mkdir -p "$tmp/home" "$repo"
export GIT_CONFIG_NOSYSTEM=1 HOME=$tmp/home
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
export GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z"
git() { command git -c gc.auto=0 -c maintenance.auto=false "$@"; }
cp -r "$src/." "$repo/"
rm -f "$repo/.gen-stamp"
git -C "$repo" init -q -b main
git -C "$repo" add -A
git -C "$repo" commit -q -m "fleet of $n tenants"
git -C "$repo" gc -q

# The 10 tenants the commits edit: single-tenant files with a logicalSize.
mapfile -t edits < <(cd "$repo" && grep -rl --include='*.yaml' '^    logicalSize:' tenants |
	LC_ALL=C sort | while read -r f; do
		[ "$(grep -c '^kind: Tenant' "$f")" = 1 ] && echo "$f"
	done | head -n 10)
if [ ${#edits[@]} -ne 10 ]; then
	echo "daemon.sh: found ${#edits[@]} tenant files with a logicalSize, need 10" >&2
	exit 1
fi

# ---------------------------------------------------------------- the sim
"$sim" --listen 127.0.0.1:0 --port-file "$tmp/port" --quiet --rate-per-minute 0 \
	--op-delay-ms 0 --api-key bench-key 2>"$tmp/sim.err" &
sim_pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
base=http://127.0.0.1:$(cat "$tmp/port")
export NEON_API_HOST=$base/api/v2 NEON_API_KEY=bench-key
stats() { curl -sf "$base/__sim/stats"; }

# ---------------------------------------------------------------- converge the fleet
echo "daemon.sh: first apply of $n tenants" >&2
t=$(now)
if ! /usr/bin/time -f %M -o "$tmp/apply.rss" "$flotilla" apply --repo "$repo" --state "$state" --auto-approve \
	--rate 10000 --parallel 64 --format json >"$tmp/apply.log" 2>"$tmp/apply.err"; then
	echo "daemon.sh: the first apply failed:" >&2
	tail -n 20 "$tmp/apply.err" >&2
	exit 1
fi
apply_s=$(since "$t")
apply_rss=$(tail -n 1 "$tmp/apply.rss")
apply_sum=$(grep '^{"event":"summary"' "$tmp/apply.log" | tail -n 1 || echo '{}')
apply_req=$(stats | jq .requests_total)
projects=$(stats | jq '.projects // .live_projects // empty' 2>/dev/null || true)

# ---------------------------------------------------------------- the daemon
secret=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
printf '%s\n' "$secret" >"$tmp/secret"
chmod 600 "$tmp/secret"
"$flotilla" daemon --repo "$repo" --state "$state" --interval "$interval" --rate $rate \
	--drift-budget $budget_pct% --listen 127.0.0.1:0 --port-file "$tmp/dport" \
	--webhook-secret-file "$tmp/secret" 2>"$tmp/daemon.log" &
daemon_pid=$!
for _ in $(seq 200); do [ -s "$tmp/dport" ] && break; sleep 0.05; done
if ! [ -s "$tmp/dport" ]; then
	echo "daemon.sh: the daemon did not start:" >&2
	tail -n 20 "$tmp/daemon.log" >&2
	exit 1
fi
dbase=http://127.0.0.1:$(cat "$tmp/dport")
metrics() { curl -sf "$dbase/metrics"; }
# metric NAME: the sum of a metric's samples (0 when absent)
metric() { metrics | awk -v m="$1" '$1 == m || index($1, m "{") == 1 { s += $NF } END { printf "%.17g\n", s + 0 }'; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$daemon_pid/stat"; }
status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$daemon_pid/status"; }
tck=$(getconf CLK_TCK)

t=$(now)
first_loop=
for _ in $(seq 36000); do
	kill -0 "$daemon_pid" 2>/dev/null || { echo "daemon.sh: the daemon exited:" >&2; tail -n 20 "$tmp/daemon.log" >&2; exit 1; }
	ts=$(metric flotilla_last_reconcile_timestamp_seconds 2>/dev/null || echo 0)
	if awk -v v="$ts" 'BEGIN { exit !(v > 0) }'; then first_loop=$(since "$t"); break; fi
	sleep 0.1
done
[ -n "$first_loop" ] || { echo "daemon.sh: no loop finished in an hour" >&2; exit 1; }

# ---------------------------------------------------------------- steady state
echo "daemon.sh: first loop after ${first_loop}s; steady-state window of ${window}s" >&2
s0=$(stats); m0=$(metrics); c0=$(cpu_ticks); rss0=$(status_kb VmRSS); hwm0=$(status_kb VmHWM); w0=$(now)
: >"$tmp/rss-samples"
(
	trap - EXIT
	while :; do
		printf '%s %s %s\n' "$(date +%s)" "$(status_kb VmRSS)" "$(cpu_ticks)" >>"$tmp/rss-samples"
		sleep 30
	done
) &
rss_pid=$!
sleep "$window"
s1=$(stats); m1=$(metrics); c1=$(cpu_ticks); rss1=$(status_kb VmRSS); hwm1=$(status_kb VmHWM)
secs=$(since "$w0")
kill "$rss_pid" 2>/dev/null; wait "$rss_pid" 2>/dev/null || true; rss_pid=
mval() { awk -v m="$2" '$1 == m || index($1, m "{") == 1 { s += $NF } END { printf "%.17g\n", s + 0 }' <<<"$1"; }
reads=$(( $(mval "$m1" flotilla_drift_reads_total | cut -d. -f1) - $(mval "$m0" flotilla_drift_reads_total | cut -d. -f1) ))
loops=$(awk -v a="$(mval "$m0" flotilla_reconciles_total)" -v b="$(mval "$m1" flotilla_reconciles_total)" 'BEGIN { print b - a }')
# mlabel TEXT SERIES: one series' value, e.g. 'flotilla_drift_sweep_seconds{tier="deep"}'
mlabel() { awk -v m="$2" '$1 == m { print $NF }' <<<"$1"; }
sweep_s=$(mlabel "$m1" 'flotilla_drift_sweep_seconds{tier="deep"}')
list_s=$(mlabel "$m1" 'flotilla_drift_sweep_seconds{tier="list"}')
drifted=$(mval "$m1" flotilla_drifted_tenants)
loop_s=$(mval "$m1" flotilla_reconcile_duration_seconds)
jq -n -c --argjson s0 "$s0" --argjson s1 "$s1" '
	def lists(s): ((s.requests["GET /projects"] // {}) | add // 0);
	{ requests: ($s1.requests_total - $s0.requests_total), writes: ($s1.writes_total - $s0.writes_total),
	  lists: (lists($s1) - lists($s0)),
	  by_route: ([$s1.requests | to_entries[] | {key, value: ((.value | add) - (($s0.requests[.key] // {}) | add // 0))}
		| select(.value > 0)] | from_entries) }' >"$tmp/steady.json"

# ---------------------------------------------------------------- time to converge
# converge KIND VALUE: edit the 10 files, commit, (webhook), wait for the sha
converge() {
	local kind=$1 value=$2 sha t s_before s_after plan_calls secs f body sig code
	if [ "$kind" = webhook ]; then
		# Start from an idle daemon: wait for the loop that applied the
		# last commit (and its sweep slice) to end, so the webhook does not
		# queue behind a slice of deep reads (reported separately).
		local ts0
		ts0=$(metric flotilla_last_reconcile_timestamp_seconds)
		for _ in $(seq 1200); do
			[ "$(metric flotilla_last_reconcile_timestamp_seconds)" != "$ts0" ] && break
			sleep 0.1
		done
		sleep 1
	fi
	rm -f "$tmp/snap.db"
	sqlite3 "$state" ".backup '$tmp/snap.db'"
	s_before=$(stats)
	for f in "${edits[@]}"; do
		sed -i "s/^    logicalSize: .*/    logicalSize: ${value}GiB/" "$repo/$f"
	done
	t=$(now)
	git -C "$repo" commit -q -a -m "quota of 10 tenants ($kind)"
	if [ "$kind" = webhook ]; then
		body='{"ref":"refs/heads/main"}'
		sig=$(SECRET=$secret BODY=$body python3 -c 'import hmac, hashlib, os
print(hmac.new(os.environ["SECRET"].encode(), os.environ["BODY"].encode(), hashlib.sha256).hexdigest())')
		code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
			-H "X-Hub-Signature-256: sha256=$sig" --data "$body" "$dbase/hooks/git")
		[ "$code" = 202 ] || echo "daemon.sh: POST /hooks/git answered $code, not 202" >&2
	fi
	sha=$(git -C "$repo" rev-parse HEAD)
	secs=
	for _ in $(seq 30000); do
		if metrics | grep -q "^flotilla_last_applied_commit_info{commit=\"$sha\"} 1"; then secs=$(since "$t"); break; fi
		sleep 0.02
	done
	s_after=$(stats)
	"$flotilla" plan --repo "$repo" --state "$tmp/snap.db" --refresh=none --changed-since last-applied \
		--format json >"$tmp/plan-$kind.json" 2>"$tmp/plan-$kind.err" || true
	plan_calls=$(jq '.summary.api_calls // -1' "$tmp/plan-$kind.json" 2>/dev/null || echo -1)
	jq -n -c --arg kind "$kind" --arg secs "${secs:--1}" --argjson plan "$plan_calls" \
		--argjson a "$s_before" --argjson b "$s_after" \
		'{kind: $kind, secs: ($secs | tonumber), plan: $plan, writes: ($b.writes_total - $a.writes_total),
		  requests: ($b.requests_total - $a.requests_total)}' >>"$tmp/converge"
}
: >"$tmp/converge"
converge interval 201
converge webhook 202

# ---------------------------------------------------------------- drift detection
# A quota changed out of band on one tenant (as in the console), from the
# PATCH to the daemon's log line naming the tenant as drifted: the list
# tier's work (target <= 300 s at the default 20% share).
drift_tenant=$(sqlite3 "$state" "SELECT tenant FROM tenants ORDER BY tenant LIMIT 1 OFFSET 4242")
drift_pid=$(sqlite3 "$state" "SELECT project_id FROM tenants WHERE tenant = '$drift_tenant'")
echo "daemon.sh: changing $drift_tenant's quota out of band; waiting for the list tier" >&2
code=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H "Authorization: Bearer bench-key" \
	-H 'Content-Type: application/json' \
	--data '{"project": {"settings": {"quota": {"compute_time_seconds": 7}}}}' "$base/api/v2/projects/$drift_pid")
[ "$code" = 200 ] || echo "daemon.sh: PATCH of the drift tenant answered $code" >&2
t=$(now)
detect_s=-1
for _ in $(seq 9000); do
	if grep -q "\"msg\":\"drift: a tenant was changed outside git\",\"tenant\":\"$drift_tenant\"" "$tmp/daemon.log"; then
		detect_s=$(since "$t")
		break
	fi
	sleep 0.1
done
list_ms=$(grep -o '"msg":"daemon: list tier: listed and compared every tenant","ms":"[0-9]*"' "$tmp/daemon.log" |
	tail -n 1 | grep -o '[0-9]*"$' | tr -d '"' || true)

# ---------------------------------------------------------------- report
hr=$(awk -v s="$secs" 'BEGIN { print 3600 / s }')
budget=$(awk -v r=$rate -v b=$budget_pct 'BEGIN { print b / 100 * r * 3600 }')
echo "flotilla daemon, $n tenants; sim: rate limits off, --op-delay-ms 0; daemon: --interval $interval --rate $rate --drift-budget $budget_pct%"
echo "setup: first apply --rate 10000 --parallel 64: $apply_s s, $apply_req API requests, peak RSS $((apply_rss / 1024)) MB; summary $(jq -c '{created, failed, write_calls}' <<<"$apply_sum" 2>/dev/null)"
echo "daemon: first loop finished ${first_loop}s after start; drift tiers: list every ${list_s}s (a list and every tenant compared took ${list_ms:-?} ms), deep sweep ${sweep_s}s ($(awk -v s="$sweep_s" 'BEGIN { printf "%.1f", s / 3600 }') h); last loop took ${loop_s}s; drifted tenants $drifted"
echo "drift detection: a quota changed out of band on $drift_tenant, named drifted by the daemon after ${detect_s}s (target <= 300 s): $(awk -v s="$detect_s" 'BEGIN { print (s >= 0 && s <= 300) ? "met" : "NOT met" }')"
echo "steady state: window $secs s, $loops loops"
jq -r --arg hr "$hr" --arg reads "$reads" '
	"  API calls          \(.requests)   per hour \((.requests * ($hr | tonumber)) | round)",
	"  writes             \(.writes)   per hour \((.writes * ($hr | tonumber)) | round)",
	"  list calls         \(.lists)",
	"  drift reads        \($reads) projects; predicted calls 5 x \($reads) + \(.lists) = \(5 * ($reads | tonumber) + .lists)",
	"  by route           \(.by_route | to_entries | map("\(.key): \(.value)") | join("; "))"' "$tmp/steady.json"
awk -v c0="$c0" -v c1="$c1" -v t="$tck" -v hr="$hr" -v r0="$rss0" -v r1="$rss1" -v h0="$hwm0" -v h1="$hwm1" 'BEGIN {
	printf "  CPU                %.2f s   per hour %.1f s\n", (c1 - c0) / t, (c1 - c0) / t * hr
	printf "  RSS                start %.1f MB, end %.1f MB; VmHWM start %.1f MB, end %.1f MB\n", r0 / 1024, r1 / 1024, h0 / 1024, h1 / 1024
}'
echo "  RSS samples (MB, every 30 s): $(awk '{ printf "%.1f ", $2 / 1024 }' "$tmp/rss-samples")"
echo "time to converge (commit -> flotilla_last_applied_commit_info names it), 10 tenants changed:"
jq -r '"  \(.kind | . + " " * (10 - length)) \(.secs) s; sim writes \(.writes), plan api_calls \(.plan), requests in the meantime \(.requests)"' "$tmp/converge"
jq -r -s --argjson st "$(cat "$tmp/steady.json")" --arg hr "$hr" --arg budget "$budget" --arg reads "$reads" '
	def mark(c): if c then "met" else "NOT met" end;
	($st.requests * ($hr | tonumber)) as $cph | (5 * ($reads | tonumber) + $st.lists) as $pred |
	"target calls/hour <= budget \($budget | tonumber | round): \(mark($cph <= ($budget | tonumber))) (\($cph | round), ratio \($cph / ($budget | tonumber) * 100 | round / 100))",
	"(not a target) calls / the sweep plan (5 x drift reads + lists): \($st.requests) / \($pred) = \(if $pred > 0 then ($st.requests / $pred * 100 | round / 100) else "-" end); calls per project read deep: \(if ($reads | tonumber) > 0 then (($st.requests - $st.lists) / ($reads | tonumber) * 100 | round / 100) else "-" end)",
	"target steady-state writes = 0: \(mark($st.writes == 0)) (\($st.writes))",
	(.[] | "target \(.kind) converge: writes = plan: \(mark(.writes == .plan and .secs >= 0)) (\(.writes) / \(.plan))")' "$tmp/converge"
exit 0
