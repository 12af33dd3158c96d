#!/usr/bin/env bash
# status-page.sh FLOTILLA FLOTILLA_SIM SRCROOT BUILDROOT: the daemon's status
# page (issue 14, item 5) in a real browser. A daemon keeps a fleet of 197
# tenants in flotilla-sim; a quota and a compute's suspend timeout are
# changed outside flotilla on 2 of them, which the fleet's `drift: report`
# policy leaves drifted; then a commit adds 3 tenants that the sim's
# project limit (--max-projects 197) refuses, so they fail. When
# /api/status counts 195 synced, 3 failed and 2 drifted:
#   1. /api/status: JSON, version 1, the counts, the 5 tenants by name and
#      state (the failed ones are the tenants the sim has no project for),
#      the drifted ones naming their fields;
#   2. headless Chromium (Debian's `chromium`) loads / and its rendered DOM
#      (--dump-dom) shows the counts (#count-STATE) and exactly the 5 rows
#      (tr.tenant[data-state]); ?state=failed shows only the 3;
#   3. a phone-sized screenshot (412x915) is saved as
#      BUILDROOT/status-page.png, the CI artifact.
# Exit 77 (meson's skip) only when chromium is not installed;
# scripts/install-deps.sh installs it, so CI runs this.
# STATUS_E2E_KEEP=1 keeps the temp dir.
set -uo pipefail
flotilla=$(realpath "$1")
sim=$(realpath "$2")
src=$(realpath "$3")
out=$(realpath "${4:-.}")
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
	echo "# skip: chromium is not installed (scripts/install-deps.sh installs Debian's chromium)"
	exit 77
fi
keep_var=STATUS_E2E_KEEP
. "$(dirname "$0")/lib.sh"
dpid=
git_sandbox
# the daemon's key; the test's own API calls (the drift) use another
key=e2e-status-key-5Pz2
mykey=e2e-status-test-8Lm4
export NEON_API_KEY=$key
private_binaries
sim_keys=("$key" "$mykey")

# api METHOD PATH [BODY]: the test's own call to the sim's API; prints the body
api() {
	local code
	code=$(curl -s -o "$tmp/api.out" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $mykey" ${3:+-d "$3"} "$base/api/v2$2")
	cat "$tmp/api.out"
	[ "${code:0:1}" = 2 ]
}
# until_ok SECONDS CMD...: poll CMD every 0.3 s until it succeeds or the deadline passes
until_ok() {
	local end=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.3
	done
}
# browser ARGS... URL: headless Chromium, its profile in $tmp, at most 90 s
browser() {
	timeout 90 "$chromium" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
		--user-data-dir="$tmp/chromium" "$@" 2>>"$tmp/chromium.log"
}
# counts_are SYNCED FAILED DRIFTED: /api/status (into $tmp/status.json) says so
counts_are() {
	curl -sf "$dbase/api/status" >"$tmp/status.json" 2>/dev/null || return 1
	python3 - "$tmp/status.json" "$@" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))["counts"]
want = dict(zip(["synced", "failed", "drifted"], map(int, sys.argv[2:5])))
sys.exit(0 if all(c.get(k) == v for k, v in want.items()) and c.get("out-of-sync") == 0 and c.get("blocked") == 0 else 1)
EOF
}

# ------------------------------------------------ the fleet and the daemon
# 197 tenants first, all created; the drift; then 3 more that the sim's
# project limit refuses. (In that order: while tenants fail, every loop
# applies the commit again, and the sweep is left too little time to
# find drift within the test's patience.)
start_sim status --op-delay-ms 0 --max-projects 197
d=$tmp/fleet
fleet_file "$d" status-e2e "se-" "drift: report" "defaults:" "  region: aws-us-east-2"
for i in $(seq -w 1 197); do tenant_file "$d" "t-$i" "quota:" "  computeTime: 100h"; done
git -C "$d" init -q -b main && git -C "$d" add -A && git -C "$d" commit -qm fleet &&
	git clone -q --bare "$d" "$tmp/fleet.git" && git -C "$d" remote add origin "$tmp/fleet.git" ||
	fail "setup" "cannot make the repository"
st=$tmp/state.db
"$flotilla" daemon --listen 127.0.0.1:0 --port-file "$tmp/dport" --rate 1000 --interval 2s --state "$st" \
	--repo "$tmp/fleet.git" --log-format json 2>>"$tmp/daemon.log" &
dpid=$!
for _ in $(seq 200); do [ -s "$tmp/dport" ] && break; kill -0 "$dpid" 2>/dev/null || break; sleep 0.05; done
dbase="http://127.0.0.1:$(cat "$tmp/dport" 2>/dev/null)"
# show_counts: the last counts read, for a failure's message
show_counts() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["counts"])' "$tmp/status.json" 2>/dev/null ||
		head -c 300 "$tmp/status.json"
}

if until_ok 90 counts_are 197 0 0; then
	ok "the first apply: /api/status counts 197 synced"
else
	fail "first apply" "counts $(show_counts); projects $(simstat '["projects"]'); $(grep -v '"level":"debug"' "$tmp/daemon.log" | tail -3)"
	finish "$tmp/daemon.log"
fi
# make_drift TENANT: its compute-time quota (the list tier sees it) and its
# compute's suspend timeout (the deep tier) changed by hand
make_drift() {
	local p e
	p=$(pid_of "$1" "$st")
	[ -n "$p" ] &&
		until_ok 10 eval "api PATCH '/projects/$p' '{\"project\": {\"settings\": {\"quota\": {\"compute_time_seconds\": 7}}}}' >/dev/null" &&
		e=$(api GET "/projects/$p/endpoints" | python3 -c 'import json,sys; print(sorted(e["id"] for e in json.load(sys.stdin)["endpoints"])[0])') &&
		until_ok 10 eval "api PATCH '/projects/$p/endpoints/$e' '{\"endpoint\": {\"suspend_timeout_seconds\": 4321}}' >/dev/null"
}
drift_names="t-010 t-011"
for t in $drift_names; do make_drift "$t" || fail "drift setup" "could not change $t in the sim"; done
if until_ok 120 counts_are 195 0 2; then
	ok "drift found: /api/status counts 195 synced, 2 drifted ($drift_names)"
else
	fail "drift" "counts $(show_counts); $(grep -i drift "$tmp/daemon.log" | grep -v '"level":"debug"' | tail -3)"
fi
# three new tenants: the sim is at its project limit
for i in 198 199 200; do tenant_file "$d" "t-$i" "quota:" "  computeTime: 100h"; done
git -C "$d" add -A && git -C "$d" commit -qm "three more" && git -C "$d" push -q origin main
if until_ok 60 counts_are 195 3 2; then
	ok "three new tenants refused by the project limit: /api/status counts 195 synced, 3 failed, 2 drifted"
else
	fail "failed tenants" "counts $(show_counts); $(grep -v '"level":"debug"' "$tmp/daemon.log" | tail -3)"
fi
# the failed three, by the sim: the tenants it holds no project for
curl -sf "$base/__sim/stats?names=1" >"$tmp/simnames.json"
failed_names=$(python3 - "$tmp/simnames.json" <<'EOF'
import json, sys
have = json.load(open(sys.argv[1]))["projects_per_name"]
print(" ".join("t-%03d" % i for i in range(1, 201) if have.get("se-t-%03d" % i, 0) == 0))
EOF
)
[ "$failed_names" = "t-198 t-199 t-200" ] || fail "failed tenants" "the sim has no project for '$failed_names'"

# ------------------------------------------------------- 1. /api/status
ctype=$(curl -s -o "$tmp/api.json" -w '%{content_type}' "$dbase/api/status")
if why=$(python3 - "$tmp/api.json" "$failed_names" "$drift_names" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
failed, drifted = sys.argv[2].split(), sys.argv[3].split()
rows = {t["tenant"]: t for t in d["tenants"]}
problems = []
if d.get("version") != 1: problems.append("version %r" % d.get("version"))
if d.get("total") != 200: problems.append("total %r" % d.get("total"))
if d.get("tenants_not_synced") != 5: problems.append("tenants_not_synced %r" % d.get("tenants_not_synced"))
want = {**{t: "failed" for t in failed}, **{t: "drifted" for t in drifted}}
got = {t: r["state"] for t, r in rows.items()}
if got != want: problems.append("tenants %r, want %r" % (got, want))
for t in drifted:
    f = rows.get(t, {}).get("fields") or []
    if not f: problems.append("%s names no drifted field" % t)
for t in failed:
    if not rows.get(t, {}).get("reason"): problems.append("%s has no reason" % t)
print("; ".join(problems))
sys.exit(1 if problems else 0)
EOF
) && [ "$ctype" = application/json ]; then
	ok "/api/status: version 1, total 200, the 3 failed and 2 drifted tenants by name, the drifted naming their fields"
else
	fail "/api/status" "content type '$ctype': $why"
fi

# ------------------------------------------------ 2. the DOM in Chromium
# dom_check FILE SYNCED FAILED DRIFTED ROWS: the rendered DOM's counts and
# rows (ROWS "name=state ..."); prints what differs
cat >"$tmp/dom.py" <<'EOF'
import sys
from html.parser import HTMLParser
path, synced, failed, drifted, rows = sys.argv[1], *map(int, sys.argv[2:5]), sys.argv[5]
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.counts, self.rows, self.viewport, self.scripts = {}, [], False, 0
        self.in_count, self.in_row, self.cell = None, None, 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta" and a.get("name") == "viewport" and "width=device-width" in a.get("content", ""):
            self.viewport = True
        if tag == "script":
            self.scripts += 1
        if a.get("id", "").startswith("count-"):
            self.in_count = a["id"][6:]
            self.counts[self.in_count] = ""
        if tag == "tr" and "tenant" in a.get("class", "").split():
            self.in_row = [a.get("data-state"), ""]
            self.cell = 0
        if tag == "td" and self.in_row is not None:
            self.cell += 1
    def handle_endtag(self, tag):
        if tag == "span":
            self.in_count = None
        if tag == "tr" and self.in_row is not None:
            self.rows.append((self.in_row[1].strip(), self.in_row[0]))
            self.in_row = None
    def handle_data(self, data):
        if self.in_count:
            self.counts[self.in_count] += data
        if self.in_row is not None and self.cell == 1:
            self.in_row[1] += data
p = P()
p.feed(open(path, encoding="utf-8").read())
problems = []
want_counts = {"synced": synced, "failed": failed, "drifted": drifted, "blocked": 0, "applying": 0, "out-of-sync": 0}
for k, v in want_counts.items():
    got = p.counts.get(k, "").replace(",", "").strip()
    if got != str(v):
        problems.append("count-%s %r, want %d" % (k, got, v))
want_rows = sorted(tuple(x.split("=")) for x in rows.split())
if sorted(p.rows) != want_rows:
    problems.append("rows %r, want %r" % (sorted(p.rows), want_rows))
if not p.viewport:
    problems.append("no viewport meta")
if p.scripts:
    problems.append("%d script elements" % p.scripts)
print("; ".join(problems))
sys.exit(1 if problems else 0)
EOF
rows=""
for t in $failed_names; do rows="$rows $t=failed"; done
for t in $drift_names; do rows="$rows $t=drifted"; done
failed_rows=""
for t in $failed_names; do failed_rows="$failed_rows $t=failed"; done
browser --dump-dom "$dbase/" >"$tmp/dom.html"
if [ -s "$tmp/dom.html" ] && why=$(python3 "$tmp/dom.py" "$tmp/dom.html" 195 3 2 "$rows"); then
	ok "chromium's DOM of /: counts 195 synced, 3 failed, 2 drifted, 0 others; rows exactly$rows; viewport meta, no script"
else
	fail "DOM of /" "${why:-chromium gave no DOM: $(tail -3 "$tmp/chromium.log")}"
fi
browser --dump-dom "$dbase/?state=failed" >"$tmp/dom-failed.html"
if [ -s "$tmp/dom-failed.html" ] && why=$(python3 "$tmp/dom.py" "$tmp/dom-failed.html" 195 3 2 "$failed_rows"); then
	ok "chromium's DOM of /?state=failed: the 3 failed rows only"
else
	fail "DOM of /?state=failed" "${why:-chromium gave no DOM: $(tail -3 "$tmp/chromium.log")}"
fi
first_drift=${drift_names%% *}
browser --dump-dom "$dbase/?q=${first_drift^^}" >"$tmp/dom-q.html"
if [ -s "$tmp/dom-q.html" ] && why=$(python3 "$tmp/dom.py" "$tmp/dom-q.html" 195 3 2 "$first_drift=drifted"); then
	ok "chromium's DOM of /?q=${first_drift^^}: that tenant's row only (case-insensitive)"
else
	fail "DOM of /?q=" "${why:-chromium gave no DOM: $(tail -3 "$tmp/chromium.log")}"
fi

# --------------------------------------------- 3. the phone screenshot
shot=$out/status-page.png
rm -f "$shot"
browser --screenshot="$shot" --window-size=412,915 --hide-scrollbars "$dbase/" >/dev/null
if size=$(python3 - "$shot" <<'EOF'
import struct, sys
b = open(sys.argv[1], "rb").read(32)
assert b[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", b[16:24])
print("%dx%d" % (w, h))
EOF
) && [ "$size" = 412x915 ]; then
	ok "phone screenshot ($size) saved as $shot"
else
	fail "screenshot" "'$size' at $shot: $(tail -3 "$tmp/chromium.log")"
fi

kill -TERM "$dpid" 2>/dev/null
wait "$dpid" 2>/dev/null
code=$?
dpid=
[ "$code" = 0 ] || fail "daemon exit" "SIGTERM gave exit $code"
finish "$tmp/daemon.log"
