#!/usr/bin/env bash
# failover.sh FLOTILLA SIM SRC: two daemons on one PostgreSQL state
# (issue 15). 500 tenants are being created when the leader is killed with
# kill -9 at a random moment, 10 times; each time the standby must lead
# within two lease TTLs (flotilla_leader 1 on its /metrics), and the killed
# one comes back as the new standby. Then the fleet must converge: 500
# synced, 500 projects in the sim and none made twice, no journal row left
# unfinished. Prints the failover times. Last, with a webhook secret and
# --interval 1h: the standby answers /readyz 200, and a webhook it receives
# (a Service sends traffic to every ready pod) reaches the leader through
# the state, which applies the new commit at once. Runs under
# tests/pg/pg.sh run (FLOTILLA_TEST_PG); registered as failover-e2e-pg only.
set -uo pipefail
flotilla=$(realpath "$1")
sim=$(realpath "$2")
src=$(realpath "$3")
only_var=FAILOVER_E2E_ONLY keep_var=FAILOVER_E2E_KEEP
. "$(dirname "$0")/lib.sh"
git_sandbox
key=e2e-failover-key-7Hn2
export NEON_API_KEY=$key
private_binaries

[ -n "${FLOTILLA_TEST_PG:-}" ] || { fail "setup" "no FLOTILLA_TEST_PG: run under tests/pg/pg.sh run"; finish; }
export E2E_STATE=postgres
TTL=3
N=${FAILOVER_TENANTS:-500}
KILLS=${FAILOVER_KILLS:-10}
state=$(st "$tmp/state.db")

# Each daemon runs under a host name of its own when a UTS namespace can be
# made (unshare -u: root, as in CI), as on two machines: a standby cannot
# see that a dead leader's pid is gone, and takes over only once the lease
# lapsed (its TTL). Without it, the same host's shortcut is measured.
if unshare -u true 2>/dev/null; then
	hosts=1
	echo "# each daemon on a host name of its own: failovers wait for the lease to lapse"
else
	hosts=
	echo "# no UTS namespace (not root): one host name; a dead leader's pid is seen gone at once"
fi
# on_host NAME CMD...: CMD under host name fo-NAME (when hosts), else CMD
on_host() {
	local name=$1
	shift
	if [ -n "$hosts" ]; then
		exec unshare -u sh -c 'hostname "$0" && exec "$@"' "fo-$name" "$@"
	fi
	exec "$@"
}
# start NAME [ARG...]: a daemon on the shared state (ARGs added); its pid
# in pid_NAME, its base URL in base_NAME
start() {
	local name=$1
	shift
	rm -f "$tmp/$name.dport"
	mkdir -p "$tmp/$name"
	(cd "$tmp/$name" && on_host "$name" "$flotilla" daemon --repo "$tmp/repo" --state "$state" --lease-ttl ${TTL}s \
		--listen 127.0.0.1:0 --port-file "$tmp/$name.dport" --cache-dir "$tmp/$name/git" \
		--rate 1000 --parallel 8 --log-format text "${@:---interval=2s}") 2>>"$tmp/$name.dlog" &
	printf -v "pid_$name" '%s' $!
	set -- "$name"
	for _ in $(seq 200); do [ -s "$tmp/$1.dport" ] && break; sleep 0.05; done
	printf -v "base_$1" 'http://127.0.0.1:%s' "$(cat "$tmp/$1.dport" 2>/dev/null)"
}
# leader_of NAME: its flotilla_leader (empty when it does not answer)
leader_of() {
	local b="base_$1"
	curl -s --max-time 1 "${!b}/metrics" 2>/dev/null | awk '$1 == "flotilla_leader" { print $2 }'
}
metric() {
	local b="base_$1"
	curl -s --max-time 1 "${!b}/metrics" 2>/dev/null | awk -v m="$2" '$1 == m { print $2 }'
}

start_sim fo --op-delay-ms 50
gen_fleet "$N" "$tmp/fleet"
mkrepo "$tmp/repo" "$tmp/fleet"

start a
for _ in $(seq 100); do [ "$(leader_of a)" = 1 ] && break; sleep 0.1; done
start b
sleep 1
if [ "$(leader_of a)" = 1 ] && [ "$(leader_of b)" = 0 ]; then ok "one leads (a), the other stands by (b, flotilla_leader 0)"
else fail "roles" "a: $(leader_of a), b: $(leader_of b)"; fi

leader=a standby=b
times=()
worst=0
# Every 0.1 s while the leaders are killed: the longest TTL a lease is
# given. A leader killed right after a renewal longer than --lease-ttl (a
# list refresh once renewed it by 300 s) keeps its standby waiting.
(
	while :; do
		st_sql "$state" "SELECT coalesce(max(expires_at - renewed_at), 0) FROM leases" 2>/dev/null
		sleep 0.1
	done
) >"$tmp/ttls" &
sampler=$!
for k in $(seq "$KILLS"); do
	# a random moment while the fleet is being created
	sleep "$(python3 -c 'import random; print(round(random.uniform(0.3, 2.5), 2))')"
	lp="pid_$leader"
	t0=$(date +%s.%N)
	kill -9 "${!lp}"
	wait "${!lp}" 2>/dev/null
	led=
	for _ in $(seq 300); do
		[ "$(leader_of "$standby")" = 1 ] && { led=1; break; }
		sleep 0.05
	done
	t1=$(date +%s.%N)
	took=$(echo "$t1 - $t0" | bc -l)
	times+=("$took")
	if [ -z "$led" ]; then
		fail "failover $k" "$standby did not lead within 15 s: $(grep -v 'read deep\|tenants done' "$tmp/$standby.dlog" | tail -3)"
		# what holds the state: its sessions and advisory locks
		psql "$FLOTILLA_TEST_PG" -XAt -c "SELECT a.pid, a.application_name, a.state, a.wait_event_type,
			a.wait_event, now() - a.state_change, left(a.query, 60), l.mode, l.granted
			FROM pg_stat_activity a LEFT JOIN pg_locks l ON l.pid = a.pid AND l.locktype = 'advisory'
			WHERE a.application_name = 'flotilla:$(st_schema "$state")'" | sed 's/^/# /'
		break
	fi
	if [ "$(echo "$took > 2 * $TTL" | bc -l)" = 1 ]; then
		fail "failover $k" "$standby led after ${took} s, more than two lease TTLs ($((2 * TTL)) s)"
	fi
	[ "$(echo "$took > $worst" | bc -l)" = 1 ] && worst=$took
	start "$leader"
	t=$leader leader=$standby standby=$t
done
kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
longest=$(sort -n "$tmp/ttls" | tail -n 1)
if [ -n "$longest" ] && [ "$longest" -le "$TTL" ]; then
	ok "no lease was given more than --lease-ttl (${TTL} s) while the leaders ran ($(wc -l <"$tmp/ttls") samples, longest ${longest} s)"
else
	fail "lease ttl" "a lease was given ${longest:-?} s, more than --lease-ttl ${TTL} s"
fi
[ ${#times[@]} = "$KILLS" ] && ok "$KILLS kill -9s of the leader: the standby led each time within 2 TTLs (worst ${worst} s)"
echo "# failover seconds: ${times[*]}"

# converged: every tenant synced, nothing left in the journal
done_at=
for _ in $(seq 600); do
	if [ "$(metric "$leader" 'flotilla_tenants{state="synced"}')" = "$N" ] &&
		[ "$(metric "$leader" flotilla_journal_backlog)" = 0 ]; then done_at=1; break; fi
	sleep 0.5
done
[ -n "$done_at" ] && ok "converged after the kills: $N synced, journal backlog 0" ||
	fail "converge" "synced $(metric "$leader" 'flotilla_tenants{state="synced"}'), backlog $(metric "$leader" flotilla_journal_backlog)"
projects=$(simstat '["projects"]')
unfinished=$(st_sql "$state" "SELECT count(*) FROM journal WHERE state IN ('intent','sent','unknown')")
if [ "$projects" = "$N" ] && no_dups; then ok "$N projects in the sim, none made twice"
else fail "duplicates" "projects $projects, $(simstat '["duplicate_names"]')"; fi
[ "$unfinished" = 0 ] && ok "no journal row left unfinished ($(st_sql "$state" "SELECT count(*) FROM journal") rows)" ||
	fail "journal" "$unfinished rows unfinished"
mapped=$(st_sql "$state" "SELECT count(*) FROM tenants")
[ "$mapped" = "$N" ] && ok "every tenant mapped once ($mapped)" || fail "map" "$mapped tenants mapped"
for n in a b; do p="pid_$n"; kill -TERM "${!p}" 2>/dev/null; wait "${!p}" 2>/dev/null; done

# A webhook at the standby: passed to the leader through the state
printf 'e2e-failover-hook-5Rw\n' >"$tmp/secret"
chmod 600 "$tmp/secret"
printf '{"ref":"refs/heads/main"}' >"$tmp/hook.json"
sig=$(python3 -c 'import hmac,hashlib,sys; print("sha256=" + hmac.new(b"e2e-failover-hook-5Rw", open(sys.argv[1],"rb").read(), hashlib.sha256).hexdigest())' "$tmp/hook.json")
start c --interval=1h --webhook-secret-file "$tmp/secret"
for _ in $(seq 200); do [ "$(leader_of c)" = 1 ] && break; sleep 0.05; done
start d --interval=1h --webhook-secret-file "$tmp/secret"
for _ in $(seq 200); do [ "$(leader_of d)" = 0 ] && break; sleep 0.05; done
ready_d=$(curl -s -o /dev/null -w '%{http_code}' "$base_d/readyz")
if [ "$(leader_of c)" = 1 ] && [ "$(leader_of d)" = 0 ] && [ "$ready_d" = 200 ]; then
	ok "a standby is ready (/readyz 200 at d, flotilla_leader 0; c leads)"
else
	fail "standby ready" "c leads: $(leader_of c), d: $(leader_of d), d's /readyz $ready_d"
fi
# c's first loop (the whole fleet) is done before the commit
for _ in $(seq 300); do
	last=$(metric c flotilla_last_reconcile_timestamp_seconds)
	[ -n "$last" ] && [ "$last" != 0 ] && break
	sleep 0.1
done
tenant_file "$tmp/repo" hooked-tenant
commit "$tmp/repo" "one more tenant"
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	-H "X-Hub-Signature-256: $sig" --data-binary @"$tmp/hook.json" "$base_d/hooks/git")
made=
for _ in $(seq 300); do
	[ "$(simstat '["projects"]')" = $((N + 1)) ] && { made=1; break; }
	sleep 0.05
done
if [ "$status" = 202 ] && [ -n "$made" ] && grep -q "a standby received a webhook" "$tmp/c.dlog" && no_dups; then
	ok "a webhook at the standby (202) reached the leader through the state: the new tenant made at once (interval 1h)"
else
	fail "webhook at the standby" "status $status, projects $(simstat '["projects"]') (want $((N + 1))); c: $(tail -3 "$tmp/c.dlog")"
fi
for n in c d; do p="pid_$n"; kill -TERM "${!p}" 2>/dev/null; wait "${!p}" 2>/dev/null; done
finish "$tmp"/*.dlog "$tmp"/*.simlog
