#!/usr/bin/env bash
# refresh.sh FLOTILLA FLOTILLA_SIM: end-to-end tests of `flotilla refresh`
# and `flotilla status` against a real flotilla-sim on loopback (issue 4):
# exact list call counts, the cache equal to the sim field for field,
# faults and 429s, bad responses that leave the cache intact, kill -9 in
# the middle of a refresh, --rebuild of the tenant map, and a key that
# never shows up in output, logs or the state. The state is a file, or a
# PostgreSQL schema with E2E_STATE=postgres (lib.sh's st).
#
# Prints "ok NAME" / "FAIL NAME: why" per case; exits 1 if any failed.
set -uo pipefail
flotilla=$(realpath "$1")
sim=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
key="sk-flotilla-e2e-SECRET-7f3a9c41d2"
. "$here/lib.sh"
state=$(st "$tmp/state.db")

# populate JSON: projects made in the sim directly (/__sim/populate)
populate() { curl -sf -X POST "$base/__sim/populate" -d "$1" >/dev/null; }
api() { curl -sf -X "$1" -H "Authorization: Bearer $key" "$base/api/v2$2" ${3:+-d "$3"}; }
list_calls() { route "GET /projects"; }

# a tiny valid fleet: name prod, prefix t-
fleet_file "$tmp/fleet" prod t-
for t in acme beta gamma; do tenant_file "$tmp/fleet" "$t"; done

# refresh ARGS...: run flotilla refresh with the key in the environment,
# capturing everything it prints
refresh() {
	NEON_API_HOST="$base/api/v2" NEON_API_KEY="$key" "$flotilla" refresh --dir "$tmp/fleet" \
		--state "$state" --rate 1000 "$@" >>"$tmp/out.log" 2>&1
}

# --------------------------------------------------------- call counts
start_sim counts --op-delay-ms 0
populate '{"count": 9980, "name_prefix": "t-bulk-"}'
# 20 real creates with quotas, compute settings and retention, so the
# comparison below covers more than empty defaults
for i in $(seq 20); do
	api POST /projects "{\"project\": {\"name\": \"t-real-$i\", \"region_id\": \"aws-eu-central-1\",
		\"pg_version\": $((14 + i % 5)), \"history_retention_seconds\": $((3600 * i)),
		\"settings\": {\"quota\": {\"compute_time_seconds\": $((36000 * i)), \"logical_size_bytes\": $((1073741824 * i))}},
		\"default_endpoint_settings\": {\"autoscaling_limit_min_cu\": 0.25, \"autoscaling_limit_max_cu\": $((1 + i % 4)),
		\"suspend_timeout_seconds\": $((60 * i))}}}" >/dev/null || fail "create t-real-$i" "curl failed"
done
if refresh; then
	calls=$(list_calls)
	# ceil(10000/400) = 25, plus at most one for an empty last page
	if [ "$calls" -ge 25 ] && [ "$calls" -le 26 ]; then ok "list calls for 10,000 projects: $calls"
	else fail "list calls" "expected 25 or 26, got $calls"; fi
else
	fail "refresh of 10,000" "exit $?: $(tail -3 "$tmp/out.log")"
fi

# the cache equals the sim, field for field
st_sql "$state" "SELECT id, name, region_id, pg_version, history_retention_seconds, created_at, updated_at,
	quota_active_time, quota_compute_time, quota_written_data, quota_data_transfer, quota_logical_size,
	min_cu, max_cu, suspend_timeout_seconds FROM projects" >"$tmp/cache.txt" 2>&1
python3 - "$base" "$key" "$tmp/cache.txt" <<'EOF' >"$tmp/compare.txt" 2>&1
import json, sys, urllib.request
base, key, cache = sys.argv[1:4]
sim, cursor = {}, None
while True:
    url = base + "/api/v2/projects?limit=400" + ("&cursor=" + cursor if cursor else "")
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + key})
    page = json.load(urllib.request.urlopen(req))
    for p in page["projects"]:
        sim[p["id"]] = p
    if len(page["projects"]) < 400:
        break
    cursor = page["pagination"]["cursor"]
# the cache's rows as st_sql prints them: fields joined by |, NULL empty
types = (str, str, str, int, int, str, str, int, int, int, int, int, float, float, int)
rows, bad = {}, 0
for line in open(cache):
    f = line.rstrip("\n").split("|")
    if len(f) != len(types):
        print("not a row:", line.rstrip("\n")[:200]); bad += 1
        continue
    r = tuple(None if v == "" else t(v) for t, v in zip(types, f))
    rows[r[0]] = r
if set(rows) != set(sim):
    print("ids differ:", len(rows), "cached,", len(sim), "in the sim"); bad += 1
for pid, p in sim.items():
    r = rows.get(pid)
    if not r:
        continue
    q = p.get("settings", {}).get("quota", {})
    d = p.get("default_endpoint_settings", {})
    want = (pid, p["name"], p["region_id"], p["pg_version"], p["history_retention_seconds"],
            p["created_at"], p["updated_at"],
            q.get("active_time_seconds", 0), q.get("compute_time_seconds", 0), q.get("written_data_bytes", 0),
            q.get("data_transfer_bytes", 0), q.get("logical_size_bytes", 0),
            float(d.get("autoscaling_limit_min_cu", 0)), float(d.get("autoscaling_limit_max_cu", 0)),
            d.get("suspend_timeout_seconds", 0))
    if tuple(r) != want:
        print("differs:", r, "!=", want); bad += 1
        if bad > 5: break
print("checked", len(sim), "projects,", bad, "differences")
sys.exit(1 if bad else 0)
EOF
if [ $? -eq 0 ]; then ok "cache matches the sim ($(tail -1 "$tmp/compare.txt"))"
else fail "cache matches the sim" "$(head -5 "$tmp/compare.txt")"; fi

# --------------------------------------------------------------- status
if NEON_API_KEY= "$flotilla" status --state "$state" >"$tmp/status.txt" 2>&1 &&
	grep -q "cache: 10,000 projects" "$tmp/status.txt" && grep -q "aws-us-east-2 *9,980" "$tmp/status.txt" && grep -q "aws-eu-central-1 *20" "$tmp/status.txt"; then
	ok "status shows the cache"
else
	fail "status" "$(cat "$tmp/status.txt")"
fi

# --------------------------------------------------------------- faults
faults '{"error_rate": 0.1, "reset_rate": 0.05, "seed": 42}'
api POST /projects '{"project": {"name": "t-added-under-faults"}}' >/dev/null 2>&1 || true
faults '{"error_rate": 0.1, "reset_rate": 0.05, "seed": 42}'
if refresh; then
	n=$(st_sql "$state" "SELECT count(*) FROM projects")
	want=$(simstat '["projects"]')
	if [ "$n" = "$want" ]; then ok "refresh under 10% 5xx and 5% resets ($n projects)"
	else fail "refresh under faults" "cache has $n projects, the sim $want"; fi
else
	fail "refresh under faults" "exit $?: $(tail -3 "$tmp/out.log")"
fi
faults '{"error_rate": 0, "reset_rate": 0}'

# --------------------------------------------- 429s from a slow account
# 60 a minute, refilled at one a second: spending the whole bucket leaves
# at most as many tokens as seconds the draining took, far fewer than the
# refresh's 21 list calls at 20/s need, however slow the machine (a
# ThreadSanitizer build drains slowly: a bucket of 300 at 5/s was refilled
# enough while draining that no call met a 429)
start_sim slow --rate-per-minute 60 --burst-per-route 1000 --op-delay-ms 0
populate '{"count": 8000, "name_prefix": "t-slow-"}'
st_rm "$state"
for _ in $(seq 60); do printf 'url = "%s/api/v2/regions"\noutput = "/dev/null"\n' "$base"; done >"$tmp/drain.cfg"
curl -s -H "Authorization: Bearer $key" -K "$tmp/drain.cfg"
: >"$tmp/out.log"
if NEON_API_HOST="$base/api/v2" NEON_API_KEY="$key" timeout 120 "$flotilla" refresh --dir "$tmp/fleet" \
	--state "$state" --rate 20 >>"$tmp/out.log" 2>&1; then
	limited=$(simstat '["rate_limited"]')
	n=$(st_sql "$state" "SELECT count(*) FROM projects")
	if [ "$n" = 8000 ] && [ "$limited" -gt 0 ]; then ok "refresh at 20/s against 60/min completes ($limited answered 429)"
	else fail "refresh against 60/min" "cache has $n projects (expected 8000), $limited answered 429 (expected some)"; fi
else
	fail "refresh against 60/min" "exit $?: $(tail -3 "$tmp/out.log")"
fi

# -------------------------------------------------------- bad responses
snapshot() { st_sql "$state" "SELECT id, name, region_id, pg_version, updated_at FROM projects ORDER BY id" | sha256sum; }
before=$(snapshot)
for mode in missing-id wrong-type truncated not-json; do
	rm -f "$tmp/badport"
	python3 "$here/badapi.py" "$mode" "$tmp/badport" &
	bad_pid=$!
	for _ in $(seq 100); do [ -s "$tmp/badport" ] && break; sleep 0.05; done
	NEON_API_HOST="http://127.0.0.1:$(cat "$tmp/badport")/api/v2" NEON_API_KEY="$key" "$flotilla" refresh \
		--dir "$tmp/fleet" --state "$state" >"$tmp/bad.txt" 2>&1
	code=$?
	kill "$bad_pid" 2>/dev/null; wait "$bad_pid" 2>/dev/null
	cat "$tmp/bad.txt" >>"$tmp/out.log"
	after=$(snapshot)
	if [ "$code" = 1 ] && [ "$before" = "$after" ] && grep -q "GET /projects" "$tmp/bad.txt"; then
		ok "bad response ($mode): exit 1, cache intact: $(grep -m1 -o 'GET /projects.*' "$tmp/bad.txt" | head -c 120)"
	else
		fail "bad response ($mode)" "exit $code, cache $( [ "$before" = "$after" ] && echo intact || echo CHANGED): $(head -3 "$tmp/bad.txt")"
	fi
done

# a 404 inside a deep read of a project that is there (a branch list): the
# deep read fails, and the project stays cached (not taken for deleted)
rm -f "$tmp/badport"
python3 "$here/badapi.py" branches-404 "$tmp/badport" &
bad_pid=$!
for _ in $(seq 100); do [ -s "$tmp/badport" ] && break; sleep 0.05; done
st_rm "$state"
badrefresh() {
	NEON_API_HOST="http://127.0.0.1:$(cat "$tmp/badport")/api/v2" NEON_API_KEY="$key" "$flotilla" refresh "$@" \
		--dir "$tmp/fleet" --state "$state" >"$tmp/bad.txt" 2>&1
}
# the three projects listed and mapped, so that --full reads them deep
badrefresh || fail "branches 404" "the list: $(cat "$tmp/bad.txt")"
st_sql "$state" "INSERT INTO tenants (tenant, project_id, fleet, source, mapped_at) SELECT name, id, 'f', 'adopt', 0 FROM projects" ||
	fail "branches 404" "cannot map the projects"
badrefresh --full
code=$?
kill "$bad_pid" 2>/dev/null; wait "$bad_pid" 2>/dev/null
if [ "$code" = 1 ] && grep -q "3 deep reads failed; first: reading project 'fixture-project-0000000[123]' failed: a part of it was not found (404), though the project is there" "$tmp/bad.txt" &&
	[ "$(st_sql "$state" "SELECT count(*) FROM projects")" = 3 ]; then
	ok "a 404 within a deep read of a project that is there: the read fails, the project stays cached"
else fail "branches 404" "exit $code: $(cat "$tmp/bad.txt")"; fi

# ------------------------------------------------- kill -9 mid-refresh
start_sim crash --op-delay-ms 0
populate '{"count": 50000, "name_prefix": "t-crash-"}'
st_rm "$state"
refresh || fail "refresh of 50,000" "exit $?"
populate '{"count": 2000, "name_prefix": "t-later-"}'
# 12 list calls into the victim's refresh (the one above made its own)
calls=$(list_calls)
NEON_API_HOST="$base/api/v2" NEON_API_KEY="$key" "$flotilla" refresh --dir "$tmp/fleet" \
	--state "$state" --rate 40 >>"$tmp/out.log" 2>&1 &
victim=$!
for _ in $(seq 400); do [ "$(list_calls)" -ge $((calls + 12)) ] && break; sleep 0.05; done
kill -9 "$victim" 2>/dev/null
wait "$victim" 2>/dev/null
n=$(st_sql "$state" "SELECT count(*) FROM projects")
if st_pg; then
	# the server rolls back whatever transaction the killed client left open
	if [ "$n" -ge 50000 ]; then ok "kill -9 mid-refresh: $n projects kept"
	else fail "kill -9 mid-refresh" "$n projects"; fi
else
	integrity=$(st_sql "$state" "PRAGMA integrity_check")
	if [ "$integrity" = ok ] && [ "$n" -ge 50000 ]; then ok "kill -9 mid-refresh: integrity ok, $n projects kept"
	else fail "kill -9 mid-refresh" "integrity '$integrity', $n projects"; fi
fi
# the killed run's lease is a dead pid's: the next refresh takes it over
if refresh && [ "$(st_sql "$state" "SELECT count(*) FROM projects")" = 52000 ]; then
	ok "refresh after the kill: 52000 projects"
else
	fail "refresh after the kill" "$(tail -3 "$tmp/out.log")"
fi

# ------------------------------------------------------------- rebuild
start_sim rebuild --op-delay-ms 0
mk() { api POST /projects "{\"project\": {\"name\": \"$1\", \"branch\": {\"annotations\": $2}}}" >/dev/null; }
mk t-acme '{"flotilla.fleet": "prod", "flotilla.tenant": "acme"}'
mk t-beta '{"flotilla.fleet": "prod", "flotilla.tenant": "beta"}'
mk t-gamma '{"flotilla.fleet": "staging", "flotilla.tenant": "gamma"}'   # another fleet, same name
mk t-delta '{}'                                                          # no annotations
mk unrelated '{"flotilla.fleet": "prod", "flotilla.tenant": "unrelated"}' # no prefix
st_rm "$state"
refresh
: >"$tmp/out.log"
refresh --rebuild
map=$(st_sql "$state" "SELECT tenant || '=' || (SELECT name FROM projects WHERE id = project_id) FROM tenants ORDER BY tenant" | tr '\n' ' ')
if [ "$map" = "acme=t-acme beta=t-beta " ]; then ok "rebuild recovers exactly acme and beta; gamma (other fleet) left alone"
else fail "rebuild" "tenant map: '$map'"; fi
# every project it left alone is named, with why
gid=$(st_sql "$state" "SELECT id FROM projects WHERE name = 't-gamma'")
did=$(st_sql "$state" "SELECT id FROM projects WHERE name = 't-delta'")
if grep -q "left alone: $gid (named 't-gamma'): fleet 'staging''s project" "$tmp/out.log" &&
	grep -q "left alone: $did (named 't-delta'): no flotilla marks; if it is tenant 'delta''s, flotilla adopt delta $did" "$tmp/out.log" &&
	grep -q "1 other project was not looked at" "$tmp/out.log"; then
	ok "rebuild names each project it left alone and why (another fleet's, no marks: with the adopt command)"
else
	fail "rebuild names" "$(cat "$tmp/out.log")"
fi
if refresh --rebuild; then fail "rebuild twice" "a second --rebuild on a mapped state succeeded"
else ok "rebuild refuses a state that already maps tenants"; fi
if "$flotilla" status acme --state "$state" >"$tmp/status.txt" 2>&1 && grep -q "t-acme" "$tmp/status.txt" &&
	grep -q "compute ep-" "$tmp/status.txt"; then ok "status of one tenant shows its project and compute"
else fail "status acme" "$(cat "$tmp/status.txt")"; fi

# ------------------------------------------------------------- secrets
printf '%s\n' "$key" >"$tmp/keyfile"
chmod 0600 "$tmp/keyfile"
NEON_API_HOST="$base/api/v2" NEON_API_KEY= "$flotilla" refresh --dir "$tmp/fleet" --state "$state" \
	--api-key-file "$tmp/keyfile" >>"$tmp/out.log" 2>&1 || fail "refresh with --api-key-file" "exit $?"
chmod 0644 "$tmp/keyfile"
if NEON_API_HOST="$base/api/v2" NEON_API_KEY= "$flotilla" refresh --dir "$tmp/fleet" --state "$state" \
	--api-key-file "$tmp/keyfile" >"$tmp/perm.txt" 2>&1; then
	fail "world-readable key file" "accepted"
else
	ok "a key file readable by others is refused: $(head -1 "$tmp/perm.txt")"
	cat "$tmp/perm.txt" >>"$tmp/out.log"
fi
# what the state holds as text, and a file's raw bytes too (what a row
# left in free pages or the WAL)
st_dump "$state" >"$tmp/state.txt" || fail "state dump" "st_dump exit $?"
st_pg || cat "$tmp"/state.db* >>"$tmp/state.txt"
if grep -qF "$key" "$tmp/out.log" "$tmp/state.txt"; then
	fail "secrets" "the API key appears in output or the state"
else
	ok "the API key is in no output, log or state"
fi
# the file's mode (a PostgreSQL state has no file)
if ! st_pg; then
	if [ "$(stat -c %a "$tmp/state.db")" = 600 ]; then ok "state file mode 0600"
	else fail "state file mode" "$(stat -c %a "$tmp/state.db")"; fi
fi

finish
