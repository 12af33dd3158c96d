#!/usr/bin/env bash
# demo.sh: install dependencies, build flotilla, and show it on the example
# fleet: validate every manifest offline, then explain where one tenant's
# values come from, then show what a broken manifest gets back.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
if [ ! -d build ]; then
	meson setup build >/dev/null
fi
ninja -C build >/dev/null
flotilla=build/reconciler/flotilla

if [ -t 1 ]; then
	step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
else
	step() { printf '\n$ %s\n' "$*"; }
fi

step flotilla validate --dir examples/fleet
$flotilla validate --dir examples/fleet

tenant=${DEMO_TENANT:-woodgrove-bank}
step flotilla explain "$tenant" --dir examples/fleet
$flotilla explain "$tenant" --dir examples/fleet

bad=examples/bad/typo-key
if [ -d "$bad" ]; then
	step flotilla validate --dir "$bad"
	$flotilla validate --dir "$bad" || echo "(exit $? : the mistake is reported, nothing else happens)"
fi
