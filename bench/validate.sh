#!/usr/bin/env bash
# validate.sh [N...]: time `flotilla validate --dir` on generated fleets of
# N tenants (default: 10000 100000) against yaml-floor, libyaml's bare
# event parse of the same files, and print a table of median wall time,
# the ratio validate/floor and peak RSS. docs/benchmarks.md records the
# figures and the target: 100k tenants validated in at most 2x the floor,
# with a peak RSS under 400 MB.
#
# Fleets are cached in bench/out/ (gitignored) and remade only when
# bench/gen-fleet changes. Binaries come from build-bench, a release build
# made here on first use. RUNS (default 5) sets the number of timed runs of
# each program; a first untimed run checks that the fleet is valid and
# warms the page cache.
#
# Peak RSS comes from GNU time (/usr/bin/time -f %M, Debian package
# `time`); without it, from wait4()'s rusage through python3.
set -euo pipefail
cd "$(dirname "$0")/.."

sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(10000 100000)
runs=${RUNS:-5}
build=build-bench

if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" --buildtype=release -Dtests=false >/dev/null
fi
ninja -C "$build" reconciler/flotilla bench/yaml-floor >/dev/null
flotilla=$build/reconciler/flotilla
floor=$build/bench/yaml-floor

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -x /usr/bin/time ] && /usr/bin/time -f %M -o "$tmp/probe" true 2>/dev/null; then
	rss_tool=gnu-time
else
	rss_tool=wait4
	echo "validate.sh: /usr/bin/time (package 'time') not found; peak RSS from wait4()" >&2
fi

# measure CMD...: print "SECONDS PEAK_KB" for one run; output discarded.
measure() {
	local start end kb
	if [ $rss_tool = gnu-time ]; then
		start=$(date +%s%N)
		/usr/bin/time -f %M -o "$tmp/rss" "$@" >/dev/null 2>&1 || {
			echo "validate.sh: '$*' failed" >&2
			return 1
		}
		end=$(date +%s%N)
		kb=$(tail -n 1 "$tmp/rss")
		awk -v ns=$((end - start)) -v kb="$kb" 'BEGIN { printf "%.4f %d\n", ns / 1e9, kb }'
	else
		python3 - "$@" <<'EOF'
import os, subprocess, sys, time
t = time.perf_counter()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, ru = os.wait4(p.pid, 0)
wall = time.perf_counter() - t
if status != 0:
    sys.exit("validate.sh: '%s' failed" % " ".join(sys.argv[1:]))
print("%.4f %d" % (wall, ru.ru_maxrss))
EOF
	fi
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

. bench/lib.sh

rows=()
verdict=""
for n in "${sizes[@]}"; do
	dir=$(fleet "$n")
	if ! "$flotilla" validate --dir "$dir" >"$tmp/diags" 2>&1; then
		echo "validate.sh: $dir does not validate:" >&2
		head -n 20 "$tmp/diags" >&2
		exit 1
	fi
	"$floor" "$dir" >"$tmp/floor-out"
	files=$(awk '{ print $2 }' "$tmp/floor-out")
	mb=$(awk '{ printf "%.1f", $4 / 1048576 }' "$tmp/floor-out")

	: >"$tmp/v"
	: >"$tmp/f"
	for _ in $(seq "$runs"); do # interleaved, so drift hits both alike
		measure "$flotilla" validate --dir "$dir" >>"$tmp/v"
		measure "$floor" "$dir" >>"$tmp/f"
	done
	vt=$(cut -d' ' -f1 "$tmp/v" | median)
	ft=$(cut -d' ' -f1 "$tmp/f" | median)
	vr=$(cut -d' ' -f2 "$tmp/v" | sort -n | tail -n 1)
	fr=$(cut -d' ' -f2 "$tmp/f" | sort -n | tail -n 1)
	row=$(awk -v n="$n" -v files="$files" -v mb="$mb" -v vt="$vt" -v ft="$ft" -v vr="$vr" -v fr="$fr" 'BEGIN {
		printf "%8d %7d %7.1f %10.3f %9.3f %6.2fx %10.1f %9.1f", n, files, mb, vt, ft, vt / ft, vr / 1024, fr / 1024 }')
	if [ "$n" = 100000 ]; then
		verdict=$(awk -v vt="$vt" -v ft="$ft" -v vr="$vr" 'BEGIN {
			ok = vt <= 2 * ft && vr / 1024 < 400
			printf "target (100k: validate <= 2x floor, peak RSS < 400 MB): %s (%.2fx, %.1f MB)",
				ok ? "met" : "NOT met", vt / ft, vr / 1024 }')
	fi
	rows+=("$row")
done

echo "flotilla validate vs yaml-floor, median of $runs runs, peak RSS the largest of the runs ($rss_tool)"
printf "%8s %7s %7s %10s %9s %7s %10s %9s\n" tenants files "YAML MB" "validate s" "floor s" ratio "val RSS MB" "floor MB"
printf '%s\n' "${rows[@]}"
[ -n "$verdict" ] && echo "$verdict"
exit 0
