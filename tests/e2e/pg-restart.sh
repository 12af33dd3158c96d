#!/usr/bin/env bash
# pg-restart.sh FLOTILLA SIM SRC: the state's PostgreSQL server lost under
# flotilla (issue 15), against a real flotilla-sim and real git repositories:
#   1. a daemon on a PostgreSQL state creating 200 tenants: the server
#      restarted (fast shutdown), then killed (immediate shutdown, a crash)
#      and started again once the daemon stopped leading. The daemon must
#      stay up, log the lost connection (a restart within the state's
#      patience, 2 s, may pass unnoticed), lead again (flotilla_leader 1) and
#      converge: 200 projects in the sim, none made twice, no journal row
#      left unfinished, a commit pushed afterwards applied, /readyz 200;
#   2. `flotilla apply --auto-approve` of 200 creates whose connections are
#      dropped mid-run, by pg_terminate_backend of this state's backends
#      (application_name flotilla:SCHEMA, no other) and by a restart of the
#      server, and by a crash of the server, kept down until the first
#      apply ended: whatever the first apply does (finish, or fail naming
#      the lost connection), a second apply finishes from the journal: every
#      tenant one project, none made twice, no unfinished journal row, then
#      `flotilla plan --detailed-exitcode` exits 0;
#   3. a leader whose lease renewer cannot connect stands by and tries
#      again, and leads once it can (it used to exit).
# The server is the test's own (tests/pg/pg.sh start in a temp dir, never
# the shared FLOTILLA_TEST_PG of scripts/test.sh: restarting that would
# break the tests running beside this one), and it asks for a password
# (scram-sha-256), so a reconnect must send it again; no output of
# flotilla may show it. Waits are polls for a condition with a deadline.
# PGRESTART_E2E_ONLY=2,3 runs some groups; PGRESTART_E2E_KEEP=1 keeps the temp dir.
set -uo pipefail
flotilla=$(realpath "$1")
sim=$(realpath "$2")
src=$(realpath "$3")
only_var=PGRESTART_E2E_ONLY keep_var=PGRESTART_E2E_KEEP
. "$(dirname "$0")/lib.sh"
git_sandbox
key=e2e-pgrestart-key-3Kd8
export NEON_API_KEY=$key
private_binaries
export E2E_STATE=postgres
N=${PGRESTART_TENANTS:-200}
TTL=3
pgsh=$src/tests/pg/pg.sh
pgdir=$(mktemp -d /tmp/flotilla-pgr.XXXXXX)
chmod 711 "$pgdir" # the server runs as postgres when we are root
trap 'cleanup; "$pgsh" kill "$pgdir/pg"; rm -rf "$pgdir"' EXIT
pw=e2e-pw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
unset PGPASSWORD PGPASSFILE # the password is in the location, nowhere else

# ------------------------------------------------------------- helpers

# until_ok SECONDS CMD...: poll CMD every 0.1 s until it succeeds; 1 when the deadline passes first
until_ok() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}
# pg_server: the test's own server, asking for a password; sets FLOTILLA_TEST_PG (with the password) and pg_url (without)
pg_server() {
	local hba=$pgdir/pg/data/pg_hba.conf
	pg_url=$("$pgsh" start "$pgdir/pg") || return 1
	psql "$pg_url" -XAtq -c "ALTER ROLE flotilla PASSWORD '$pw'" || return 1
	# rewritten in place: the file keeps its owner (postgres when we are root)
	sed -E 's|^(host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+)trust|\1scram-sha-256|' \
		"$hba" >"$pgdir/hba" && cat "$pgdir/hba" >"$hba" || return 1
	psql "$pg_url" -XAtq -c "SELECT pg_reload_conf()" >/dev/null || return 1
	export FLOTILLA_TEST_PG=${pg_url/flotilla@/flotilla:$pw@}
}
# secret_shown FILES...: the password (alone, or in the location) is in one of FILES
secret_shown() { grep -qsF -e "$pw" -- "$@"; }
# unfinished STATE: journal rows not finished
unfinished() { st_sql "$1" "SELECT count(*) FROM journal WHERE state IN ('intent','sent','unknown')"; }
# projects: live projects in the sim
projects() { simstat '["projects"]'; }
# what libpq and state/pg.c say of a connection lost or not made
lost_re='server closed the connection|terminating connection|connection was lost|cannot connect|no connection to the server|could not (send|receive) data|connection reset'
# lost_logged FILE FROM: FILE, past its line FROM, names the state and a lost connection
lost_logged() { tail -n +"$(($2 + 1))" "$1" | grep -F "state '$pg_url?schema=" | grep -qE "$lost_re"; }
lines() { wc -l <"$1"; }

# ------------------------------------------------------------- 1. daemon

# start_daemon NAME: a daemon on $dstate following $tmp/NAME.repo in the background (pid dpid, base URL dbase, log $tmp/NAME.dlog)
start_daemon() {
	rm -f "$tmp/$1.dport"
	mkdir -p "$tmp/$1"
	(cd "$tmp/$1" && exec "$flotilla" daemon --repo "$tmp/$1.repo" --state "$dstate" --lease-ttl ${TTL}s \
		--interval 1s --listen 127.0.0.1:0 --port-file "$tmp/$1.dport" --cache-dir "$tmp/$1/git" \
		--rate 1000 --parallel 8 --log-format text) 2>>"$tmp/$1.dlog" &
	dpid=$!
	until_ok 20 test -s "$tmp/$1.dport"
	dbase="http://127.0.0.1:$(cat "$tmp/$1.dport" 2>/dev/null)"
}
# metric NAME: its value on the daemon's /metrics (empty when it does not answer)
metric() { curl -s --max-time 2 "$dbase/metrics" 2>/dev/null | awk -v m="$1" '$1 == m { print $2 }'; }
leads() { [ "$(metric flotilla_leader)" = "$1" ]; }
alive() { kill -0 "$dpid" 2>/dev/null; }
# converged N SHA: N tenants synced, journal backlog 0, SHA applied, N projects in the sim
converged() {
	[ "$(metric 'flotilla_tenants{state="synced"}')" = "$1" ] && [ "$(metric flotilla_journal_backlog)" = 0 ] &&
		[ "$(metric "flotilla_last_applied_commit_info{commit=\"$2\"}")" = 1 ] && [ "$(projects)" = "$1" ]
}
# outage NAME HOW: the server lost under the daemon mid-apply (HOW restart: a
# fast restart; kill: a crash, started again once the daemon stood by)
outage() {
	local name=$1 how=$2 from at
	at=$(projects)
	if [ "$at" -ge "$N" ]; then fail "$name" "nothing in flight: the sim already has $at projects"; return; fi
	from=$(lines "$tmp/d.dlog")
	if [ "$how" = restart ]; then
		"$pgsh" restart "$pgdir/pg"
	else
		"$pgsh" kill "$pgdir/pg"
		# down until the daemon finds it cannot renew and stands by
		until_ok 30 leads 0 || fail "$name" "the daemon still reports flotilla_leader $(metric flotilla_leader) with the server down"
		"$pgsh" start "$pgdir/pg" >/dev/null
	fi
	# A fast restart may be bridged: a transaction that finds the connection
	# lost at its BEGIN connects again, waiting up to the state's patience
	# (STATE_PATIENCE_MS, 2 s). A crash held down longer is logged.
	if [ "$how" = restart ]; then
		echo "# $name: $(tail -n +"$((from + 1))" "$tmp/d.dlog" | grep -cF "state '$pg_url") log lines name the lost connection (a restart within 2 s is bridged)"
	elif until_ok 30 lost_logged "$tmp/d.dlog" "$from"; then
		ok "$name: the daemon logged the lost connection, naming the state: $(tail -n +"$((from + 1))" "$tmp/d.dlog" |
			grep -F "state '$pg_url" | head -1 | cut -c1-220)"
	else
		fail "$name" "no line of the log names the lost connection: $(tail -n +"$((from + 1))" "$tmp/d.dlog" | head -5)"
	fi
	# leads again, and goes on creating (past what it had when the server went)
	if until_ok 60 eval 'leads 1 && [ "$(projects)" -ge $((at + 10)) ]' && alive; then
		ok "$name: alive, flotilla_leader 1 again, creating on ($at projects before, $(projects) now)"
	else
		fail "$name" "alive $(alive && echo yes || echo no), flotilla_leader $(metric flotilla_leader), projects $at -> $(projects): $(tail -5 "$tmp/d.dlog")"
	fi
}

group_daemon() {
	local sha2
	dstate=$(st "$tmp/d.db")
	start_sim d --op-delay-ms 100
	gen_fleet "$N" "$tmp/dfleet"
	mkrepo "$tmp/d.repo" "$tmp/dfleet"
	# slow while the server goes away, so that the creates are in flight
	faults '{"latency_ms": 150}'
	start_daemon d
	until_ok 30 leads 1 || fail "daemon" "it does not lead: $(tail -5 "$tmp/d.dlog")"
	until_ok 60 eval '[ "$(projects)" -ge 20 ]' || fail "daemon" "no creates: $(tail -5 "$tmp/d.dlog")"
	outage "restart under the daemon" restart
	outage "crash under the daemon" kill
	faults '{"latency_ms": 0}'
	local sha1
	sha1=$(git -C "$tmp/d.repo" rev-parse HEAD)
	if until_ok 120 converged "$N" "$sha1"; then
		ok "the fleet converged after the restart and the crash: $N synced, journal backlog 0, $N projects"
	else
		fail "daemon converge" "synced $(metric 'flotilla_tenants{state="synced"}'), backlog $(metric flotilla_journal_backlog), projects $(projects): $(tail -5 "$tmp/d.dlog")"
	fi
	if no_dups; then ok "no project made twice"; else fail "daemon duplicates" "$(simstat '["duplicate_names"]')"; fi
	local u
	u=$(unfinished "$dstate")
	[ "$u" = 0 ] && ok "no journal row left unfinished ($(st_sql "$dstate" "SELECT count(*) FROM journal") rows)" ||
		fail "daemon journal" "$u rows unfinished"
	# a commit after the outages: ten tenants more
	for i in $(seq 1 10); do tenant_file "$tmp/d.repo" "late-$i"; done
	commit "$tmp/d.repo" "ten more"
	sha2=$(git -C "$tmp/d.repo" rev-parse HEAD)
	if until_ok 60 converged $((N + 10)) "$sha2" && no_dups; then
		ok "a commit pushed after the outages applied: $((N + 10)) projects, none made twice"
	else
		fail "daemon new commit" "synced $(metric 'flotilla_tenants{state="synced"}'), projects $(projects): $(tail -5 "$tmp/d.dlog")"
	fi
	local ready
	curl -s "$dbase/api/status" >"$tmp/d.status" && curl -s "$dbase/" >>"$tmp/d.status"
	ready=$(curl -s -o /dev/null -w '%{http_code}' "$dbase/readyz")
	if [ "$ready" = 200 ] && alive; then ok "/readyz 200, the daemon still the one started ($dpid)"
	else fail "daemon ready" "readyz $ready, alive $(alive && echo yes || echo no)"; fi
	kill -TERM "$dpid"
	wait "$dpid"
	local code=$?
	[ "$code" = 0 ] && ok "SIGTERM: the daemon exited 0" || fail "daemon exit" "status $code"
	if secret_shown "$tmp/d.dlog" "$tmp/d.status"; then fail "daemon secret" "the password is in the daemon's log or status"
	else ok "the daemon's log, status page and /api/status never show the password"; fi
	grep -c "stopped leading" "$tmp/d.dlog" | sed 's/^/# the daemon stopped leading (and took the lead again) this many times: /'
	# every line the daemon wrote through the outages is a log line (a
	# failed drift step once wrote a bare "flotilla daemon: ..." line)
	local stray
	stray=$(grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]+Z (debug|info|warn|error) ' "$tmp/d.dlog")
	[ "$stray" = 0 ] && ok "every line of the daemon's stderr is a log line in its format ($(wc -l <"$tmp/d.dlog") lines)" ||
		fail "daemon log format" "$stray lines outside the log format: $(grep -vE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]+Z (debug|info|warn|error) ' "$tmp/d.dlog" | head -3)"
}

# ------------------------------------------------------------- 2. apply

# apply_case NAME HOW: an apply of N creates whose connections are lost
# mid-run (HOW terminate: pg_terminate_backend of this state's backends;
# restart: the server restarted; crash: the server killed, and started
# again once the first apply ended), then a second apply finishes the work
apply_case() {
	local name=$1 how=$2 astate schema p code code2 at killed
	astate=$(st "$tmp/a-$how.db")
	schema=$(st_schema "$astate")
	start_sim "a-$how" --op-delay-ms 100
	faults '{"latency_ms": 100}'
	(cd "$tmp/a" && exec "$flotilla" apply --auto-approve --repo "$tmp/arepo" --state "$astate" --parallel 8 \
		--rate 1000) >"$tmp/a-$how.out" 2>"$tmp/a-$how.err" &
	p=$!
	if ! until_ok 60 eval '[ "$(st_sql "$astate" "SELECT count(*) FROM journal" 2>/dev/null || echo 0)" -ge 40 ]'; then
		fail "$name" "the apply wrote no 40 journal rows: $(tail -3 "$tmp/a-$how.err")"
		kill "$p"; wait "$p"
		return
	fi
	if [ "$how" = terminate ]; then
		killed=$(psql "$FLOTILLA_TEST_PG" -XAtq -c "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE application_name = 'flotilla:$schema' AND pid <> pg_backend_pid()) t")
	elif [ "$how" = crash ]; then
		"$pgsh" kill "$pgdir/pg"
		killed=all
	else
		"$pgsh" restart "$pgdir/pg"
		killed=all
	fi
	at=$(projects)
	if [ "$at" -lt "$N" ] && [ "${killed:-0}" != 0 ]; then ok "$name: connections dropped ($killed) mid-run, at $at projects"
	else fail "$name" "not mid-run: $killed connections dropped at $at projects"; fi
	faults '{"latency_ms": 0}'
	if until_ok 120 eval '! kill -0 $p 2>/dev/null'; then
		wait "$p"
		code=$?
	else
		fail "$name" "the first apply hangs: $(tail -3 "$tmp/a-$how.err")"
		kill -9 "$p"; wait "$p"
		code=killed
	fi
	if [ "$how" = crash ]; then
		# down for the whole first apply: it cannot have finished
		[ "$code" != 0 ] || fail "$name" "the first apply exited 0 with the server down"
		"$pgsh" start "$pgdir/pg" >/dev/null
	fi
	apply_first "$name" "$code" "$tmp/a-$how"
	(cd "$tmp/a" && exec "$flotilla" apply --auto-approve --repo "$tmp/arepo" --state "$astate" --parallel 8 \
		--rate 1000) >"$tmp/a-$how.2.out" 2>&1
	code2=$?
	apply_second "$name" "$code2" "$astate" "$tmp/a-$how.2.out"
	stop_sim
}
# apply_first NAME CODE OUT: what the first apply did, and that it said nothing secret (OUT.out, OUT.err)
apply_first() {
	local name=$1 code=$2 out=$3
	if [ "$code" = 0 ]; then
		ok "$name: the first apply reconnected and finished (exit 0): $(grep '^Apply:' "$out.out" | tail -1)"
	elif [ "$code" != killed ] && grep -F "state '$pg_url?schema=" "$out.err" | grep -qE "$lost_re"; then
		ok "$name: the first apply ended with exit $code, naming the lost connection: $(grep -E "$lost_re" "$out.err" | head -1 | cut -c1-200)"
	else
		fail "$name" "the first apply: exit $code without naming the lost connection: $(tail -3 "$out.err")"
	fi
	if secret_shown "$out.out" "$out.err"; then fail "$name secret" "the first apply showed the password"
	else ok "$name: the first apply never showed the password"; fi
}
# apply_second NAME CODE STATE OUT: the second apply finished the work from the journal
apply_second() {
	local name=$1 code=$2 astate=$3 out=$4 u mapped pcode
	u=$(unfinished "$astate")
	mapped=$(st_sql "$astate" "SELECT count(*) FROM tenants")
	if [ "$code" = 0 ] && [ "$(projects)" = "$N" ] && no_dups && [ "$u" = 0 ] && [ "$mapped" = "$N" ]; then
		ok "$name: the second apply finished: $N projects, none made twice, $mapped mapped, no unfinished journal row: $(grep -E '^(apply: settled|Apply:|No changes to apply)' "$out" | cut -c1-110 | paste -sd' ')"
	else
		fail "$name second apply" "exit $code, projects $(projects), dups $(simstat '["duplicate_names"]'), unfinished $u, mapped $mapped: $(tail -5 "$out")"
	fi
	(cd "$tmp/a" && exec "$flotilla" plan --repo "$tmp/arepo" --state "$astate" --detailed-exitcode) >"$out.plan" 2>&1
	pcode=$?
	[ "$pcode" = 0 ] && ok "$name: then a clean plan (exit 0 with --detailed-exitcode)" ||
		fail "$name plan" "exit $pcode: $(tail -5 "$out.plan")"
}

group_apply() {
	mkdir -p "$tmp/a"
	gen_fleet "$N" "$tmp/afleet"
	mkrepo "$tmp/arepo" "$tmp/afleet"
	apply_case "connections terminated under an apply" terminate
	apply_case "server restarted under an apply" restart
	apply_case "server crashed under an apply" crash
}

# ------------------------------------------- 3. the renewer's connection

# A leader's lease is renewed on a connection of its own, made when it
# takes the lead. When that connection cannot be made (here: the password
# changed on the server, so new connections fail while the daemon's open
# one still works; in production a server going away at that moment, or no
# connection slot left), the daemon gives the lease back and stands by
# again, trying every third of the TTL; it used to exit (status 0).
group_keeper() {
	local pw2=e2e-pw2-$RANDOM$RANDOM u2 from n
	dstate=$(st "$tmp/k.db")
	start_sim k
	fleet_file "$tmp/k.repo" kfleet k-
	for i in 1 2 3; do tenant_file "$tmp/k.repo" "k$i"; done
	mkrepo "$tmp/k.repo"
	start_daemon k
	if ! until_ok 60 converged 3 "$(git -C "$tmp/k.repo" rev-parse HEAD)"; then
		fail "keeper setup" "the daemon did not converge: $(tail -5 "$tmp/k.dlog")"
		return
	fi
	u2=${FLOTILLA_TEST_PG/:$pw@/:$pw2@}
	from=$(lines "$tmp/k.dlog")
	psql "$FLOTILLA_TEST_PG" -XAtq -c "ALTER ROLE flotilla PASSWORD '$pw2'"
	# the lease taken away: the daemon stands by, takes the lead again on
	# its open connection, and cannot make the renewer's
	"$flotilla" unlock --force --reason "pg-restart.sh" --state "$u2?schema=$(st_schema "$dstate")" >/dev/null
	if until_ok 30 eval '[ "$(tail -n +$((from + 1)) "$tmp/k.dlog" | grep -c "cannot keep the lease")" -ge 2 ]' && alive &&
		[ "$(metric flotilla_leader)" = 0 ]; then
		ok "no connection for the lease's renewer: the daemon stays up, stands by (flotilla_leader 0) and tries again"
	else
		fail "keeper" "alive $(alive && echo yes || echo no), flotilla_leader $(metric flotilla_leader): $(tail -n +$((from + 1)) "$tmp/k.dlog" | grep -v 'read deep' | tail -4)"
	fi
	psql "$u2" -XAtq -c "ALTER ROLE flotilla PASSWORD '$pw'"
	if until_ok 30 eval 'leads 1 && [ "$(curl -s -o /dev/null -w "%{http_code}" "$dbase/readyz")" = 200 ]' && alive; then
		ok "the connection possible again: the daemon leads (flotilla_leader 1, /readyz 200)"
	else
		fail "keeper lead" "alive $(alive && echo yes || echo no), flotilla_leader $(metric flotilla_leader): $(tail -3 "$tmp/k.dlog")"
	fi
	kill -TERM "$dpid" 2>/dev/null
	wait "$dpid"
	n=$?
	[ "$n" = 0 ] || fail "keeper exit" "SIGTERM: status $n"
	stop_sim
}

# ------------------------------------------------------------- the run

if ! pg_server; then
	fail "setup" "cannot start a PostgreSQL server of the test's own (tests/pg/pg.sh start)"
	finish
fi
if psql "$pg_url" -XAtq -c "SELECT 1" >/dev/null 2>&1; then
	fail "setup" "the server lets a connection in without the password"
else
	ok "the test's server asks for a password (scram-sha-256)"
fi
want 1 && group_daemon
want 2 && group_apply
want 3 && group_keeper
if secret_shown "$tmp"/*.dlog "$tmp"/a-*; then fail "secret" "the password is in: $(grep -lsF -e "$pw" "$tmp"/*.dlog "$tmp"/a-*)"
else ok "no output of flotilla shows the password"; fi
finish "$tmp"/*.dlog "$tmp"/*.simlog "$tmp"/a-*.err
