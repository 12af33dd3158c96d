#!/usr/bin/env bash
# demo.sh: install dependencies, build flotilla, and show it on the example
# fleet against flotilla-sim (a local Neon API), nothing to set up:
#   1. validate every manifest offline, and explain one tenant's values;
#   2. commit the example fleet to a temporary git repository;
#   3. start flotilla-sim on a free loopback port;
#   4. plan (the cache is refreshed from the sim first), save the plan file;
#   5. plan again: every manifest now comes from the parse cache;
#   6. show what a broken manifest gets back.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
if [ ! -d build ]; then
	meson setup build >/dev/null
fi
ninja -C build >/dev/null
root=$(pwd)
flotilla=$root/build/reconciler/flotilla
sim=$root/build/sim/flotilla-sim

if [ -t 1 ]; then
	step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
else
	step() { printf '\n$ %s\n' "$*"; }
fi

work=$(mktemp -d)
sim_pid=
trap '[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; rm -rf "$work"' EXIT

step flotilla validate --dir examples/fleet
"$flotilla" validate --dir examples/fleet

tenant=${DEMO_TENANT:-woodgrove-bank}
step flotilla explain "$tenant" --dir examples/fleet
# to a file first: `| head` would end flotilla with SIGPIPE, and pipefail the demo
"$flotilla" explain "$tenant" --dir examples/fleet >"$work/explain.txt"
head -20 "$work/explain.txt"
echo "  … (flotilla explain shows every value; cut here)"

step "git init fleet && git commit (the example fleet, in $work/fleet)"
cp -R examples/fleet "$work/fleet"
git -C "$work/fleet" init -q
git -C "$work/fleet" add -A
git -C "$work/fleet" -c user.name=demo -c user.email=demo@example.com commit -qm "example fleet"
git -C "$work/fleet" log --oneline

step "flotilla-sim --listen 127.0.0.1:0 &   (a local Neon API)"
"$sim" --listen 127.0.0.1:0 --port-file "$work/port" --quiet 2>"$work/sim.log" &
sim_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
export NEON_API_HOST="http://127.0.0.1:$(cat "$work/port")/api/v2" NEON_API_KEY=sim-key
echo "NEON_API_HOST=$NEON_API_HOST"

cd "$work"
step flotilla plan --repo fleet --out fleet.plan
"$flotilla" plan --repo fleet --out fleet.plan

step flotilla plan --repo fleet --refresh=none --verbose --format json "| head"
"$flotilla" plan --repo fleet --refresh=none --verbose --format json >"$work/plan.json"
head -12 "$work/plan.json"
echo "  …"

cd "$root"
bad=examples/bad/typo-key
step flotilla validate --dir "$bad"
"$flotilla" validate --dir "$bad" || echo "(exit $?: the mistake is reported, nothing else happens)"
