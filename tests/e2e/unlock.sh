#!/usr/bin/env bash
# unlock.sh FLOTILLA: `flotilla unlock --force` against a real state (a
# file, or a PostgreSQL schema with E2E_STATE=postgres: lib.sh's st):
#   - without --force it refuses; with nobody holding the lease it says so;
#   - a lease held by a process on another host blocks apply (exit 1,
#     naming the holder), and unlock --force removes it, records it in the
#     run history with the reason, and the next run can take the lease.
set -uo pipefail
flotilla=$(realpath "$1")
. "$(dirname "$0")/lib.sh"
state=$(st "$tmp/state.db")
unset NEON_API_KEY NEON_API_HOST

# status only reads: it must not make the state
if "$flotilla" status --state "$state" >/dev/null 2>"$tmp/err" || st_exists "$state"; then
	fail "status" "status made the state, or did not fail: $(cat "$tmp/err")"
else ok "status on a state that is not there fails and makes nothing"; fi
if "$flotilla" unlock --state "$state" 2>"$tmp/err"; then fail "no --force" "accepted"
elif grep -q "needs --force" "$tmp/err"; then ok "unlock without --force refuses"
else fail "no --force" "$(cat "$tmp/err")"; fi
if "$flotilla" unlock --force --state "$state" 2>"$tmp/err"; then fail "nobody" "exit 0"
elif grep -q "nobody holds the lease" "$tmp/err"; then ok "unlock with nobody holding the lease says so"
else fail "nobody" "$(cat "$tmp/err")"; fi

# a holder on another machine, far from expiry
now=$(date +%s)
st_sql "$state" "INSERT INTO leases (name, holder, pid, host, acquired_at, renewed_at, expires_at)
	VALUES ('fleet', '4242@build-7', 4242, 'build-7', $now, $now, $((now + 3600)))"
export NEON_API_KEY=unused NEON_API_HOST=http://127.0.0.1:9/api/v2
mkdir -p "$tmp/repo"
if "$flotilla" apply --repo "$tmp/repo" --state "$state" --auto-approve >"$tmp/out" 2>"$tmp/err"; then
	fail "held" "apply ran"
elif grep -q "in use by pid 4242 on build-7" "$tmp/err"; then
	ok "a lease held elsewhere stops apply, naming the holder"
else
	fail "held" "$(cat "$tmp/err")"
fi
if "$flotilla" unlock --force --reason "build-7 was decommissioned" --state "$state" >"$tmp/out" 2>"$tmp/err" &&
	grep -q "removed the lease of pid 4242 on build-7" "$tmp/out" &&
	[ "$(st_sql "$state" 'SELECT count(*) FROM leases')" = 0 ] &&
	st_sql "$state" "SELECT command, summary_json FROM runs WHERE command = 'unlock'" | grep -q "decommissioned"; then
	ok "unlock --force removes it and records the holder and reason in the run history"
else
	fail "unlock" "$(cat "$tmp/out" "$tmp/err")"
fi
finish
