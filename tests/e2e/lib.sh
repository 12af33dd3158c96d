# lib.sh: what the end-to-end scripts share, sourced after they set `tmp`
# (their temp dir), `sim` (the flotilla-sim binary) and `key` (the API key;
# `sim_keys`, an array, when the sim must accept more than one).

# start_sim NAME ARGS...: a fresh sim (the previous one stopped), rate
# limits off unless ARGS say otherwise; sets sim_pid, base and NEON_API_HOST
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
stop_sim() {
	[ -n "${sim_pid:-}" ] || return 0
	kill "$sim_pid" 2>/dev/null
	wait "$sim_pid" 2>/dev/null
	sim_pid=
}
# simstat PY: a member of /__sim/stats, e.g. '["writes_total"]'
simstat() { curl -sf "$base/__sim/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
faults() { curl -sf -X POST "$base/__sim/faults" -d "$1" >/dev/null || echo "faults $1 refused" >&2; }
# no_dups: the sim never held two projects of one name
no_dups() { [ "$(simstat '["max_projects_per_name"]')" -le 1 ] && [ "$(simstat '["duplicate_names"]')" = '{}' ]; }
# mkrepo DIR FROM: FROM's files committed to a new git repository DIR
mkrepo() {
	cp -R "$2" "$1"
	git -C "$1" init -q && git -C "$1" add -A && git -C "$1" commit -qm fleet
}
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
# field FILE NAME: a number of the "Apply: ..." summary line of FILE
# (created updated deleted failed skipped blocked writes listed polls)
field() {
	python3 - "$1" "$2" <<'PY'
import re, sys
line = [l for l in open(sys.argv[1]) if l.startswith("Apply: ")]
m = re.match(r"Apply: (\d+) created, (\d+) updated, (\d+) deleted, (\d+) failed, (\d+) skipped, "
             r"(\d+) blocked; (\d+) write calls \(plan listed (\d+)\), (\d+) polls", line[-1] if line else "")
names = "created updated deleted failed skipped blocked writes listed polls".split()
print(m.group(names.index(sys.argv[2]) + 1) if m else "none")
PY
}
# sanitizer_reports FILES...: fail with what an ASan/UBSan/TSan build
# reported in any of them
sanitizer_reports() {
	local f found
	found=$(grep -lE "ERROR: (Address|Leak|Thread)Sanitizer|WARNING: ThreadSanitizer|runtime error:|SUMMARY: .*Sanitizer" "$@" 2>/dev/null)
	[ -n "$found" ] || return 0
	fail "sanitizer reports" "$(for f in $found; do echo "== ${f##*/}"; grep -E -A12 "Sanitizer|runtime error" "$f" | head -40; done)"
}
