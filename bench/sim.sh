#!/usr/bin/env bash
# sim.sh [N...]: measure flotilla-sim with wrk on loopback, at N projects
# (default: 1000 300000), and print a table:
#   - list: GET /projects?limit=400 from the middle of the fleet (a cursor at
#     N/2), one connection (the latency of one page) and 8 connections
#     (throughput);
#   - get: GET /projects/{id}, 8 connections (a simple request);
#   - create: POST /projects, 8 connections;
# with requests per second, p50 and p99 latency, and the sim's peak RSS.
# Targets (docs/benchmarks.md): >= 5,000 simple requests/s; a page of 400
# from 300k projects in under 5 ms; under 2 GB RSS at 300k projects.
#
# The sim runs with rate limits off and operations finishing at once, so
# the figures are the sim's own cost. DURATION (default 10s) per run.
set -euo pipefail
cd "$(dirname "$0")/.."

sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(1000 300000)
duration=${DURATION:-10s}
build=build-bench
command -v wrk >/dev/null || { echo "sim.sh: wrk not found (scripts/install-deps.sh installs it)" >&2; exit 1; }
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" --buildtype=release -Dtests=false >/dev/null
fi
ninja -C "$build" sim/flotilla-sim >/dev/null

tmp=$(mktemp -d)
sim_pid=
cleanup() { [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

"$build/sim/flotilla-sim" --listen 127.0.0.1:0 --port-file "$tmp/port" --quiet \
	--rate-per-minute 0 --op-delay-ms 0 2>"$tmp/sim.log" &
sim_pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
port=$(cat "$tmp/port")
base=http://127.0.0.1:$port
auth="Authorization: Bearer sim-key"

cat >"$tmp/create.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"project":{"name":"bench-create","region_id":"aws-us-east-2"}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sim-key"
LUA

# run_wrk CONNECTIONS URL [SCRIPT]: prints "rps p50_ms p99_ms"
run_wrk() {
	local c=$1 url=$2 script=${3:-}
	local args=(-t1 -c"$c" -d"$duration" --latency)
	[ -n "$script" ] && args+=(-s "$script") || args+=(-H "$auth")
	wrk "${args[@]}" "$url" >"$tmp/wrk.out"
	awk '
		function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
		/Requests\/sec:/ { rps = $2 }
		$1 == "50%" { p50 = ms($2) }
		$1 == "99%" { p99 = ms($2) }
		/Non-2xx/ { bad = $NF }
		END { printf "%.0f %.2f %.2f %s\n", rps, p50, p99, bad ? bad : 0 }' "$tmp/wrk.out"
}

printf '%-9s %-28s %10s %9s %9s %8s\n' projects "request" "req/s" "p50 ms" "p99 ms" non-2xx
for n in "${sizes[@]}"; do
	curl -sf -X POST "$base/__sim/reset" >/dev/null
	curl -sf -X POST "$base/__sim/populate" -d "{\"count\": $n, \"name_prefix\": \"bench-\"}" >/dev/null
	id=$(curl -sf -H "$auth" "$base/api/v2/projects?limit=1" | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)
	cursor=$((n / 2))
	read -r rps p50 p99 bad < <(run_wrk 1 "$base/api/v2/projects?limit=400&cursor=$cursor")
	printf '%-9s %-28s %10s %9s %9s %8s\n' "$n" "list 400, 1 connection" "$rps" "$p50" "$p99" "$bad"
	read -r rps p50 p99 bad < <(run_wrk 8 "$base/api/v2/projects?limit=400&cursor=$cursor")
	printf '%-9s %-28s %10s %9s %9s %8s\n' "$n" "list 400, 8 connections" "$rps" "$p50" "$p99" "$bad"
	read -r rps p50 p99 bad < <(run_wrk 8 "$base/api/v2/projects/$id")
	printf '%-9s %-28s %10s %9s %9s %8s\n' "$n" "get project, 8 connections" "$rps" "$p50" "$p99" "$bad"
	read -r rps p50 p99 bad < <(run_wrk 8 "$base/api/v2/projects" "$tmp/create.lua")
	printf '%-9s %-28s %10s %9s %9s %8s\n' "$n" "create, 8 connections" "$rps" "$p50" "$p99" "$bad"
	rss=$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$sim_pid/status")
	live=$(curl -sf "$base/__sim/stats" | grep -o '"projects":[0-9]*' | cut -d: -f2)
	echo "          peak RSS so far ${rss} MB, ${live} projects in the sim after the creates"
done
