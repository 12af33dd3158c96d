#!/usr/bin/env bash
# demo.sh: install dependencies, build flotilla, and show the whole GitOps
# loop on the example fleet against flotilla-sim (a local Neon API), with
# nothing to set up:
#   1. validate every manifest offline, and explain one tenant's values;
#   2. commit the example fleet to a temporary git repository;
#   3. start flotilla-sim on a free loopback port;
#   4. plan, then apply: every tenant gets its Neon project;
#   5. edit one tenant and one profile, and commit;
#   6. plan shows exactly those changes; apply them;
#   7. a last plan says there is nothing left to do; status shows the fleet;
#   8. show what a broken manifest gets back.
# Everything (the repository, the state file, the secrets) lives in a
# temporary directory that is removed at the end.
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

# Replace one line of a manifest, and fail loudly when the line is not there
# (the example fleet changed), so the demo never shows an empty plan by mistake.
edit() { # FILE OLD NEW
	grep -qF -- "$2" "$1" || { echo "demo: '$2' not found in $1" >&2; exit 1; }
	python3 - "$@" <<'PY'
import sys
path, old, new = sys.argv[1:4]
text = open(path).read()
open(path, "w").write(text.replace(old, new, 1))
PY
}
commit() { git -C "$work/fleet" -c user.name=demo -c user.email=demo@example.com commit -qam "$1"; }

step flotilla validate --dir examples/fleet
"$flotilla" validate --dir examples/fleet

tenant=${DEMO_TENANT:-woodgrove-bank}
step flotilla explain "$tenant" --dir examples/fleet
# to a file first: `| head` would end flotilla with SIGPIPE, and pipefail the demo
"$flotilla" explain "$tenant" --dir examples/fleet >"$work/explain.txt"
head -12 "$work/explain.txt"
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
[ -s "$work/port" ] || { echo "demo: flotilla-sim did not start:" >&2; cat "$work/sim.log" >&2; exit 1; }
export NEON_API_HOST="http://127.0.0.1:$(cat "$work/port")/api/v2" NEON_API_KEY=sim-key
echo "NEON_API_HOST=$NEON_API_HOST"

# The state file is .flotilla/state.db under the working directory. --rate 100:
# the sim answers at once, so use more of its 700 requests a minute than the
# default of 10 a second.
cd "$work"
step flotilla plan --repo fleet --rate 100
"$flotilla" plan --repo fleet --rate 100

step flotilla apply --repo fleet --auto-approve --rate 100 --secrets-dir secrets
"$flotilla" apply --repo fleet --auto-approve --rate 100 --secrets-dir secrets

step "ls -l secrets   (new role passwords and connection URIs: one 0600 file per tenant)"
ls -l secrets | head -5
echo "  …"

step "edit tenants/us/pro/fabrikam.yaml (maxCu 6 -> 8) and profiles/pro.yaml (computeTime 750h -> 900h); git commit"
edit fleet/tenants/us/pro/fabrikam.yaml "    maxCu: 6 " "    maxCu: 8 "
edit fleet/profiles/pro.yaml "    computeTime: 750h" "    computeTime: 900h"
git -C fleet diff --unified=0 | grep '^[-+][^-+]'
commit "fabrikam: maxCu 8; pro: computeTime 900h"

step flotilla plan --repo fleet --rate 100 --out fleet.plan
"$flotilla" plan --repo fleet --rate 100 --out fleet.plan

step flotilla apply fleet.plan --rate 100 --secrets-dir secrets
"$flotilla" apply fleet.plan --rate 100 --secrets-dir secrets

step "flotilla plan --repo fleet --rate 100 --detailed-exitcode   (exit 0: no changes)"
"$flotilla" plan --repo fleet --rate 100 --detailed-exitcode

step flotilla status
"$flotilla" status

step flotilla status fabrikam
"$flotilla" status fabrikam

cd "$root"
bad=examples/bad/typo-key
step flotilla validate --dir "$bad"
"$flotilla" validate --dir "$bad" || echo "(exit $?: the mistake is reported, nothing else happens)"
