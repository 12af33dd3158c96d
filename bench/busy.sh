#!/usr/bin/env bash
# busy.sh [N]: what `flotilla plan --refresh auto` costs on a busy fleet: N
# converged tenants (default 100000) of which WAKE_PCT percent (default 5)
# woke up between two plans, as application traffic does on real Neon: their
# computes started and the projects' updated_at moved (flotilla-sim's
# POST /__sim/wake, the same wake-up as its --activity flag). No manifest
# changed, so the plan's only cost should be the list refresh: ceil(N/400)
# + 1 list calls (251 at 100,000), and no deep read.
#
# It prints, for the plan after the wake-up: the API calls by route (from
# /__sim/stats), deep reads (GET .../branches), the plan's wall time and its
# summary. The same script measures the rule before issue 11 (a deep read
# for every project whose updated_at moved) when FLOTILLA names a flotilla
# built from an older commit; docs/benchmarks.md records both.
#
# Setup: release binaries in build-bench (FLOTILLA overrides flotilla only);
# the fleet from bench/gen-fleet N (cached in bench/out/), with
# refreshInterval 1s so that every plan lists, committed to a fresh temp
# repository; flotilla-sim with --rate-per-minute 0 --op-delay-ms 0; one
# `flotilla apply --auto-approve --rate 10000 --parallel 64` converges the
# fleet; a first `plan --refresh auto` (measured too) shows the converged
# fleet at rest. Then the wake-up, and the measured plan.
set -euo pipefail
cd "$(dirname "$0")/.."

n=${1:-100000}
pct=${WAKE_PCT:-5}
build=build-bench

if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" --buildtype=release -Dtests=false >/dev/null
fi
ninja -C "$build" reconciler/flotilla sim/flotilla-sim >/dev/null
flotilla=${FLOTILLA:-$(pwd)/$build/reconciler/flotilla}
sim=$(pwd)/$build/sim/flotilla-sim
for tool in jq curl; do
	command -v $tool >/dev/null || { echo "busy.sh: needs $tool" >&2; exit 1; }
done

tmp=$(mktemp -d)
sim_pid=
cleanup() {
	[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null
	if [ -n "${KEEP:-}" ]; then
		mkdir -p "$KEEP"
		cp "$tmp"/*.err "$tmp"/*.out "$KEEP/" 2>/dev/null
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
# every plan lists (the fleet's refresh interval has always passed)
if grep -q '^  refreshInterval:' "$repo/flotilla.yaml"; then
	sed -i 's/^  refreshInterval:.*/  refreshInterval: 1s/' "$repo/flotilla.yaml"
else
	sed -i 's/^spec:$/spec:\n  refreshInterval: 1s/' "$repo/flotilla.yaml"
fi
grep -q '^  refreshInterval: 1s' "$repo/flotilla.yaml" || { echo "busy.sh: cannot set refreshInterval" >&2; exit 1; }
git -C "$repo" init -q -b main
git -C "$repo" add -A
git -C "$repo" commit -q -m "fleet of $n tenants"
git -C "$repo" gc -q

# ---------------------------------------------------------------- the sim
"$sim" --listen 127.0.0.1:0 --port-file "$tmp/port" --quiet --rate-per-minute 0 \
	--op-delay-ms 0 --api-key bench-key 2>"$tmp/sim.err" &
sim_pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
base=http://127.0.0.1:$(cat "$tmp/port")
export NEON_API_HOST=$base/api/v2 NEON_API_KEY=bench-key
stats() { curl -sf "$base/__sim/stats"; }

echo "busy.sh: converging $n tenants" >&2
t=$(now)
if ! "$flotilla" apply --repo "$repo" --state "$state" --auto-approve --rate 10000 --parallel 64 \
	>"$tmp/apply.out" 2>"$tmp/apply.err"; then
	echo "busy.sh: the first apply failed:" >&2
	tail -n 20 "$tmp/apply.err" >&2
	exit 1
fi
apply_s=$(since "$t")

# plan NAME: one `plan --refresh auto`; prints "calls list deep other wall summary"
plan() {
	local s0 s1 t calls list deep
	s0=$(stats)
	t=$(now)
	"$flotilla" plan --repo "$repo" --state "$state" --refresh auto --rate 10000 --verbose \
		>"$tmp/$1.out" 2>"$tmp/$1.err" || true
	local wall
	wall=$(since "$t")
	s1=$(stats)
	calls=$(( $(jq .requests_total <<<"$s1") - $(jq .requests_total <<<"$s0") ))
	route() { # route template -> requests to it between s0 and s1
		local a b
		a=$(jq --arg r "$1" '[.requests[$r] // {} | .[]] | add // 0' <<<"$s0")
		b=$(jq --arg r "$1" '[.requests[$r] // {} | .[]] | add // 0' <<<"$s1")
		echo $((b - a))
	}
	list=$(route "GET /projects")
	deep=$(route "GET /projects/{project_id}/branches")
	local summary
	summary=$(grep -E '^(Plan:|No changes)' "$tmp/$1.out" | tail -n 1 || echo "(no summary: $(tail -n 1 "$tmp/$1.err"))")
	printf '%s|%s|%s|%s|%s|%s\n' "$calls" "$list" "$deep" "$((calls - list))" "$wall" "$summary"
}

# each plan lists: the fleet's refreshInterval (1s) has passed
sleep 1.5
at_rest=$(plan rest)
woke=$(curl -sf -X POST "$base/__sim/wake" -d "{\"count\": $((n * pct / 100))}" | jq .woken)
sleep 1.5
busy=$(plan busy)

row() {
	IFS='|' read -r calls list deep other wall summary <<<"$2"
	printf "  %-34s %8s %8s %12s %10s %8s\n" "$1" "$calls" "$list" "$deep" "$other" "$wall"
	printf "  %-34s %s\n" "" "$summary"
}
echo "flotilla plan --refresh auto on a busy fleet: $n converged tenants, $("$flotilla" --version 2>/dev/null | head -n 1) ($flotilla)"
echo "setup: apply of $n tenants in ${apply_s}s; then $woke projects woken (POST /__sim/wake, ${pct}%)"
printf "  %-34s %8s %8s %12s %10s %8s\n" plan calls "list" "deep reads" "other" "wall s"
row "at rest, after the apply" "$at_rest"
row "after ${pct}% of the fleet woke up" "$busy"
IFS='|' read -r calls list deep _ <<<"$busy"
want=$((n / 400 + 1))
echo "  target: the list calls only ($want at $n tenants) and no deep read: calls $calls, list $list, deep reads $deep"
