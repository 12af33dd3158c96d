#!/usr/bin/env bash
# daemon-stop.sh FLOTILLA FLOTILLA_SIM: SIGTERM during a daemon's first
# plan that reads a whole fleet deep (a state whose projects were never
# read deep: 2,000 of them, each read slowed by the sim's latency) stops
# the daemon within seconds, exit 0, as --help promises (at most 30 s),
# instead of after every read; nothing is written; the next start plans
# again and reads them.
set -uo pipefail
flotilla=$(realpath "$1")
sim=$(realpath "$2")
key=e2e-stop-key
export NEON_API_KEY=$key
. "$(dirname "$0")/lib.sh"
git_sandbox
state=$(st "$tmp/state.db")
start_sim stop
curl -sf -X POST "$base/__sim/populate" -d '{"count": 2000, "name_prefix": "q-"}' >/dev/null
fleet_file "$tmp/repo" stop q-
mkrepo "$tmp/repo"
F refresh --repo "$tmp/repo" --state "$state" >/dev/null 2>"$tmp/err" || fail "setup" "refresh: $(cat "$tmp/err")"
# mapped, without manifests (orphans, left alone), never read deep
st_sql "$state" "INSERT INTO tenants (tenant, project_id, fleet, source, mapped_at) SELECT substr(name, 3), id, 'stop', 'adopt', 0 FROM projects" ||
	fail "setup" "cannot map"
faults '{"latency_ms": 100}'
deep() { route "GET /projects/{project_id}/branches"; }
w0=$(simstat '["writes_total"]')
"$flotilla" daemon --repo "$tmp/repo" --state "$state" --cache-dir "$tmp/git" --listen 127.0.0.1:0 --port-file "$tmp/dport" \
	--rate 1000 --log-format text 2>"$tmp/daemon.log" &
dpid=$!
for _ in $(seq 300); do [ "$(deep)" -ge 40 ] && break; sleep 0.1; done
read0=$(deep)
start=$(date +%s%N)
kill -TERM "$dpid"
for _ in $(seq 150); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$dpid" 2>/dev/null; then
	kill -9 "$dpid"; wait "$dpid" 2>/dev/null
	fail "SIGTERM mid-plan" "still running 15 s after SIGTERM, $(deep) of 2000 deep reads sent ($read0 at the signal)"
else
	wait "$dpid"
	code=$?
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	if [ "$code" = 0 ] && [ "$read0" -ge 40 ] && [ "$(deep)" -lt 2000 ] &&
		grep -q "the plan was cut short by the signal; the next start plans again" "$tmp/daemon.log" &&
		[ "$(simstat '["writes_total"]')" = "$w0" ]; then
		ok "SIGTERM during the first plan's deep reads: exit 0 in $ms ms, $(deep) of 2000 read, nothing written"
	else
		fail "SIGTERM mid-plan" "exit $code in $ms ms, $(deep) deep reads ($read0 at the signal), writes $w0 -> $(simstat '["writes_total"]'): $(tail -n 5 "$tmp/daemon.log")"
	fi
fi
faults '{"latency_ms": 0}'
finish
