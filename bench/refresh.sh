#!/usr/bin/env bash
# refresh.sh [N]: time `flotilla refresh` (a list refresh) of N projects
# (default 100000) from flotilla-sim with its rate limits off, and print
# the list calls made (from /__sim/stats), wall time, projects written per
# second and flotilla's peak RSS. docs/benchmarks.md records the figures
# against the targets: calls = ceil(N/400) (+1), at least 20,000 projects
# per second into the cache, under 300 MB RSS. RUNS (default 3): the
# median of that many refreshes, each into a fresh state file.
# STATE=postgres: the same refreshes into a PostgreSQL schema too (a fresh
# one each run, on a throw-away server: tests/pg/pg.sh with PG_DURABLE=1,
# on 127.0.0.1), interleaved with the SQLite ones, side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
runs=${RUNS:-3}
build=build-bench
case ${STATE:-sqlite} in
sqlite) backends=(sqlite) ;;
postgres) backends=(sqlite postgres) ;;
*) echo "refresh.sh: STATE is sqlite or postgres, not '$STATE'" >&2; exit 2 ;;
esac
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" --buildtype=release -Dtests=false >/dev/null
fi
ninja -C "$build" reconciler/flotilla sim/flotilla-sim >/dev/null
tmp=$(mktemp -d)
sim_pid=
trap '[ -n "$sim_pid" ] && kill $sim_pid 2>/dev/null; pg_stop; rm -rf "$tmp"' EXIT
. bench/lib.sh
pg_start "${backends[@]}"
"$build/sim/flotilla-sim" --listen 127.0.0.1:0 --port-file "$tmp/port" --quiet --rate-per-minute 0 \
	--op-delay-ms 0 --api-key bench-key 2>/dev/null &
sim_pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
base=http://127.0.0.1:$(cat "$tmp/port")
curl -sf -X POST "$base/__sim/populate" -d "{\"count\": $n, \"name_prefix\": \"t-\"}" >/dev/null
mkdir -p "$tmp/fleet"
printf 'apiVersion: flotilla/v1\nkind: Fleet\nmetadata: {name: bench}\nspec: {namePrefix: "t-"}\n' \
	>"$tmp/fleet/flotilla.yaml"

calls_now() { curl -sf "$base/__sim/stats" | python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["requests"].get("GET /projects", {}).values()))'; }
declare -A results
for i in $(seq "$runs"); do
	for b in "${backends[@]}"; do
		rm -f "$tmp/r$i.db"*
		before=$(calls_now)
		start=$(date +%s.%N)
		NEON_API_HOST="$base/api/v2" NEON_API_KEY=bench-key /usr/bin/time -f %M -o "$tmp/rss" \
			"$build/reconciler/flotilla" refresh --dir "$tmp/fleet" --state "$(state_of "$b" "r$i")" --rate 10000 \
			>"$tmp/out" 2>&1 || { echo "refresh.sh: the refresh on $b failed:" >&2; tail -n 20 "$tmp/out" >&2; exit 1; }
		end=$(date +%s.%N)
		calls=$(( $(calls_now) - before ))
		secs=$(echo "$end - $start" | bc -l)
		rows=$(state_sql "$b" "r$i" "SELECT count(*) FROM projects")
		results[$b]+="$(printf '%.3f %d %d %d' "$secs" "$calls" "$(cat "$tmp/rss")" "$rows")"$'\n'
	done
done
echo "projects $n, runs $runs (median shown)"
for b in "${backends[@]}"; do
	printf '%s' "${results[$b]}" | sort -n | awk -v n="$n" -v runs="$runs" -v name="$(backend_name "$b")" '
	{ s[NR] = $1; c[NR] = $2; r[NR] = $3; rows[NR] = $4 }
	END {
		m = int((runs + 1) / 2)
		want = int((n + 399) / 400)
		printf "%s:\n", name
		printf "  list calls     %d (target %d or %d)\n", c[m], want, want + 1
		printf "  wall time      %.2f s\n", s[m]
		printf "  projects/s     %.0f (target >= 20000)\n", rows[m] / s[m]
		printf "  peak RSS       %.0f MB (target < 300)\n", r[m] / 1024
		printf "  rows cached    %d\n", rows[m]
	}'
done
