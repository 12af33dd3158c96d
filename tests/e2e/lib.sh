# lib.sh: what the end-to-end scripts of tests/e2e share. A script sets
# `set -uo pipefail`, takes its arguments (`flotilla`, and `sim` and `src`
# when it has them, as absolute paths), may set `only_var` (the name of the
# variable that picks the groups to run, e.g. APPLY_E2E_ONLY) and `keep_var`
# (the name of the variable that keeps the temp dir, e.g. DAEMON_E2E_KEEP),
# then sources this file. Sourcing makes the temp dir `tmp`, sets `failed`
# (0) and `t_start`, and installs cleanup as the EXIT trap. start_sim needs
# `sim` and `key` (the API key; `sim_keys`, an array, when the sim must
# accept more than one). Each line a script prints that starts with "ok " or
# "FAIL " is one check's result.

# ------------------------------------------------------ results, the run

# ok NAME: prints "ok NAME", a check passed
ok() { echo "ok $1"; }
# fail NAME WHY: prints "FAIL NAME: WHY", a check failed; the script will exit 1 (finish)
fail() { echo "FAIL $1: $2"; failed=1; }
# want N: group N runs: the variable only_var names (e.g. APPLY_E2E_ONLY=1,5) is unset, empty or lists N
want() { [ -z "${only_var:-}" ] || [ -z "${!only_var:-}" ] || [[ ",${!only_var}," == *",$1,"* ]]; }
# cleanup: the EXIT trap: each running background job killed and waited for alone, $tmp removed (see keep_var)
cleanup() {
	local p
	# one by one: a bare wait would also wait for a process substitution
	# (apply.sh's tee), which ends only when the script does
	for p in $(jobs -pr); do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	if [ -n "${keep_var:-}" ] && [ -n "${!keep_var:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
# git_sandbox: HOME is $tmp and git reads no system configuration: commits are t's, whatever the machine
git_sandbox() {
	export GIT_CONFIG_NOSYSTEM=1 HOME="$tmp" GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com \
		GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com
}
# private_binaries: flotilla and sim run from copies in $tmp (a rebuild during the run must not swap them)
private_binaries() {
	cp "$flotilla" "$tmp/flotilla" && cp "$sim" "$tmp/flotilla-sim" && flotilla=$tmp/flotilla sim=$tmp/flotilla-sim
}
# sanitizer_reports FILES...: fail (status 1) with what an ASan/UBSan/TSan build reported in any of FILES
sanitizer_reports() {
	local f found
	found=$(grep -lE "ERROR: (Address|Leak|Thread)Sanitizer|WARNING: ThreadSanitizer|runtime error:|SUMMARY: .*Sanitizer" "$@" 2>/dev/null)
	[ -n "$found" ] || return 0
	fail "sanitizer reports" "$(for f in $found; do echo "== ${f##*/}"; grep -E -A12 "Sanitizer|runtime error" "$f" | head -40; done)"
	return 1
}
# finish [FILES...]: the end: the sim stopped, sanitizer_reports FILES, "# SCRIPT took N s", exit 1 if a check failed
finish() {
	stop_sim # a leak report of the sim comes at its exit
	[ $# -eq 0 ] || sanitizer_reports "$@"
	echo "# ${0##*/} took $(($(date +%s) - t_start)) s"
	exit "$failed"
}

# ---------------------------------------------------------- the state

# A script names each state it makes by a path in $tmp ("$tmp/state.db")
# and hands flotilla `st PATH`. With E2E_STATE=postgres (the -pg runs of
# tests/meson.build, under tests/pg/pg.sh run) that is a schema of its
# own on the test server in FLOTILLA_TEST_PG, named from the path; else
# the path itself. The st_* helpers take what st gave (a location).

# st_pg: true when this run keeps its states in PostgreSQL
st_pg() { [ "${E2E_STATE:-}" = postgres ]; }
# st PATH: the state location for PATH
st() {
	if st_pg; then
		echo "$FLOTILLA_TEST_PG?schema=e2e_$(printf '%s' "$1" | md5sum | cut -c1-16)"
	else
		echo "$1"
	fi
}
# st_schema LOCATION: the schema of a postgres location
st_schema() { local s=${1##*schema=}; echo "${s%%&*}"; }
# st_sql LOCATION SQL: run SQL on the state; rows as sqlite3 prints them (fields joined by |)
st_sql() {
	if [[ $1 == postgres* ]]; then
		psql "$FLOTILLA_TEST_PG" -XAtq -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" \
			-c "SET search_path = $(st_schema "$1")" -c "$2"
	else
		sqlite3 "$1" "$2"
	fi
}
# st_exists LOCATION: the state was made (a file, or a schema)
st_exists() {
	if [[ $1 == postgres* ]]; then
		[ "$(psql "$FLOTILLA_TEST_PG" -XAtq -c "SELECT count(*) FROM pg_namespace WHERE nspname = '$(st_schema "$1")'")" = 1 ]
	else
		[ -e "$1" ]
	fi
}
# st_rm LOCATION: remove the state (the file and its -wal and -shm, or the schema)
st_rm() {
	if [[ $1 == postgres* ]]; then
		psql "$FLOTILLA_TEST_PG" -XAtq -c "SET client_min_messages = warning" \
			-c "DROP SCHEMA IF EXISTS $(st_schema "$1") CASCADE" >/dev/null
	else
		rm -f "$1" "$1-wal" "$1-shm"
	fi
}
# st_dump LOCATION: all the state holds, as text (to look for what must never be in it)
st_dump() {
	if [[ $1 == postgres* ]]; then
		pg_dump "$FLOTILLA_TEST_PG" -n "$(st_schema "$1")" --data-only
	else
		sqlite3 "$1" .dump
	fi
}
# st_copy FROM TO: a consistent copy of the state FROM as TO (a new state)
st_copy() {
	if [[ $1 == postgres* ]]; then
		st_rm "$2"
		pg_dump "$FLOTILLA_TEST_PG" -n "$(st_schema "$1")" |
			sed "s/\b$(st_schema "$1")\b/$(st_schema "$2")/g" |
			psql "$FLOTILLA_TEST_PG" -Xq -v ON_ERROR_STOP=1 >/dev/null
	else
		sqlite3 "$1" ".backup '$2'"
	fi
}

# ------------------------------------------------------------ the sim

# start_sim NAME ARGS...: a fresh sim (the previous one stopped), no rate limit unless ARGS set one; sets sim_pid, base, NEON_API_HOST
start_sim() {
	local name=$1 k keys=()
	shift
	stop_sim
	for k in "${sim_keys[@]:-$key}"; do keys+=(--api-key "$k"); done
	"$sim" --listen 127.0.0.1:0 --port-file "$tmp/$name.port" --quiet "${keys[@]}" \
		--rate-per-minute 0 "$@" 2>"$tmp/$name.simlog" &
	sim_pid=$!
	for _ in $(seq 200); do [ -s "$tmp/$name.port" ] && break; sleep 0.05; done
	base="http://127.0.0.1:$(cat "$tmp/$name.port")"
	export NEON_API_HOST="$base/api/v2"
}
# stop_sim: the running sim (if any) stopped and waited for
stop_sim() {
	[ -n "${sim_pid:-}" ] || return 0
	kill "$sim_pid" 2>/dev/null
	wait "$sim_pid" 2>/dev/null
	sim_pid=
}
# api PATH: the body of GET $base/api/v2PATH with the script's $key (a
# script that writes defines its own api)
api() { curl -sf -H "Authorization: Bearer $key" "$base/api/v2$1"; }
# data BRANCH: the sim's data version of BRANCH (name or id) of project $pid
data() { curl -sf "$base/__sim/data?project=$pid&branch=$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])'; }
# simstats: the sim's /__sim/stats, JSON
simstats() { curl -sf "$base/__sim/stats"; }
# simstat PY: a member of /__sim/stats, e.g. '["writes_total"]'
simstat() { simstats | python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
# route TEMPLATE: requests made to one route so far (e.g. "GET /projects"), whatever their status
route() { simstats | python3 -c "import json,sys; print(sum(json.load(sys.stdin)['requests'].get(sys.argv[1], {}).values()))" "$1"; }
# faults JSON: the sim's fault settings (/__sim/faults); complains on stderr when refused
faults() { curl -sf -X POST "$base/__sim/faults" -d "$1" >/dev/null || echo "faults $1 refused" >&2; }
# api_write METHOD PATH BODY: a write to the sim's API as a Neon client makes
# it: a 423 (the project's operations still running) is waited out, as Neon
# asks, up to 20 s; false on any other answer
api_write() {
	local i code
	for ((i = 0; i < 200; i++)); do
		code=$(curl -s -o /dev/null -w '%{http_code}' -X "$1" "$base/api/v2$2" -H "Authorization: Bearer $key" -d "$3")
		case $code in
		2??) return 0 ;;
		423) sleep 0.1 ;;
		*) return 1 ;;
		esac
	done
	return 1
}
# ops_settled: wait (up to 20 s) until the sim has no unfinished operation
ops_settled() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(simstat '["operations"]["unfinished"]')" = 0 ] && return 0
		sleep 0.1
	done
	return 1
}
# no_dups: the sim never held two projects of one name
no_dups() { [ "$(simstat '["max_projects_per_name"]')" -le 1 ] && [ "$(simstat '["duplicate_names"]')" = '{}' ]; }

# --------------------------------------------- fleets, repositories, flotilla

# fleet_file DIR NAME PREFIX [SPEC-LINE...]: DIR/flotilla.yaml of fleet NAME (projects PREFIX<tenant>), and DIR/tenants
fleet_file() {
	local d=$1 name=$2 prefix=$3
	shift 3
	mkdir -p "$d/tenants"
	{
		printf 'apiVersion: flotilla/v1\nkind: Fleet\nmetadata: {name: %s}\nspec:\n  namePrefix: "%s"\n' "$name" "$prefix"
		[ $# -eq 0 ] || printf '  %s\n' "$@"
	} >"$d/flotilla.yaml"
}
# tenant_file DIR NAME [SPEC-LINE...]: DIR/tenants/NAME.yaml, tenant NAME of those spec lines (spec: {} without)
tenant_file() {
	local d=$1 name=$2
	shift 2
	mkdir -p "$d/tenants"
	{
		printf 'apiVersion: flotilla/v1\nkind: Tenant\nmetadata: {name: %s}\n' "$name"
		if [ $# -eq 0 ]; then printf 'spec: {}\n'; else printf 'spec:\n'; printf '  %s\n' "$@"; fi
	} >"$d/tenants/$name.yaml"
}
# gen_fleet N DIR: a generated fleet of N tenants in DIR (bench/gen-fleet)
gen_fleet() { python3 "$src/bench/gen-fleet" "$1" "$2" >/dev/null; }
# mkrepo DIR [FROM]: FROM's files (without FROM, DIR's own) committed to a new git repository DIR
mkrepo() {
	[ $# -lt 2 ] || cp -R "$2" "$1"
	git -C "$1" init -q && git -C "$1" add -A && git -C "$1" commit -qm fleet
}
# commit DIR MESSAGE: every change in the repository DIR committed
commit() { git -C "$1" add -A && git -C "$1" commit -qm "$2"; }
# edit FILE OLD NEW: replace OLD (present exactly once) by NEW
edit() {
	python3 - "$@" <<'PY'
import sys
path, old, new = sys.argv[1:4]
text = open(path).read()
assert text.count(old) == 1, "%s: %d matches of %r" % (path, text.count(old), old)
open(path, "w").write(text.replace(old, new))
PY
}
# F ARGS...: flotilla ARGS
F() { "$flotilla" "$@"; }
# pid_of TENANT STATE: the id of the project STATE maps TENANT to
pid_of() { st_sql "$2" "SELECT project_id FROM tenants WHERE tenant = '$1'"; }
# summary FILE KEY: a member of a JSON plan's summary
summary() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"][sys.argv[2]])' "$1" "$2"; }
# field FILE NAME: a number (created updated deleted failed skipped blocked writes listed polls readbacks) of FILE's "Apply: ..." line
field() {
	python3 - "$1" "$2" <<'PY'
import re, sys
line = [l for l in open(sys.argv[1]) if l.startswith("Apply: ")]
n = r"([\d,]+)"  # counts are printed "2,000"
m = re.match(r"Apply: N created, N updated, N deleted, N failed, N skipped, "
             r"N blocked; N write calls \(plan listed N\), N polls, N read-backs".replace("N", n),
             line[-1] if line else "")
names = "created updated deleted failed skipped blocked writes listed polls readbacks".split()
print(m.group(names.index(sys.argv[2]) + 1).replace(",", "") if m else "none")
PY
}

tmp=$(mktemp -d)
failed=0
sim_pid=
t_start=$(date +%s)
trap cleanup EXIT
