#!/usr/bin/env bash
# output.sh FLOTILLA FLOTILLA_SIM SRCROOT: what plan prints for people, on a
# real fleet applied to flotilla-sim:
#   - 2,000 tenants, then 1,983 of them changed each to a value of its own
#     (so the updates cannot group into one line) and 3 moved to another
#     region (blocked): the markdown plan stays within 60,000 characters,
#     cuts update lines, and keeps the 3 blocked tenants with all their
#     changes and how to unblock them; --full-plan-url names the whole plan;
#   - colour: present with --color always and on a terminal (script(1)),
#     absent with NO_COLOR=1, --color never, or stdout not a terminal;
#   - counts printed "2,000".
set -uo pipefail
flotilla=$(realpath "$1")
sim=$(realpath "$2")
src=$(realpath "$3")
. "$(dirname "$0")/lib.sh"
git_sandbox
key=sim-key
export NEON_API_KEY=$key
start_sim out --op-delay-ms 0

repo=$tmp/repo
state=$(st "$tmp/state.db")
fleet_file "$repo" out o-
python3 - "$repo/tenants" <<'PY'
import sys
for i in range(2000):
    open("%s/t%04d.yaml" % (sys.argv[1], i), "w").write(
        "apiVersion: flotilla/v1\nkind: Tenant\nmetadata: {name: t%04d}\n"
        "spec:\n  region: aws-us-east-2\n  quota: {computeTime: 10h}\n" % i)
PY
mkrepo "$repo"
"$flotilla" apply --repo "$repo" --state "$state" --auto-approve --rate 1000 --parallel 32 \
	>"$tmp/a1.out" 2>"$tmp/a1.err"
code=$?
if [ "$code" = 0 ] && grep -q "^Apply: 2,000 created," "$tmp/a1.out"; then ok "2,000 tenants created, counted '2,000'"
else fail "apply of 2,000" "exit $code: $(tail -3 "$tmp/a1.out") $(tail -3 "$tmp/a1.err")"; fi

# 1,983 updates, each its own value; 3 blocked; 14 unchanged
python3 - "$repo/tenants" <<'PY'
import sys
for i in range(2000):
    path = "%s/t%04d.yaml" % (sys.argv[1], i)
    text = open(path).read()
    if i < 1983:
        text = text.replace("computeTime: 10h", "computeTime: %dh" % (11 + i))
    elif i < 1986:
        text = text.replace("aws-us-east-2", "aws-eu-central-1").replace("computeTime: 10h", "computeTime: 20h")
    open(path, "w").write(text)
PY
commit "$repo" change
plan() { "$flotilla" plan --repo "$repo" --state "$state" --rate 1000 "$@"; }
url=https://ci.example.com/acme/fleet/actions/runs/42
plan --format markdown --full-plan-url "$url" >"$tmp/p.md" 2>"$tmp/p.err"
code=$?
python3 - "$tmp/p.md" "$url" <<'PY' >"$tmp/check.txt" 2>&1
import re, sys
md = open(sys.argv[1]).read()
assert len(md) <= 60000, "%d characters" % len(md)
assert "| 0 | 0 | 1,983 | 0 | 3 | 0 | 14 |" in md, "the totals row"
assert "<details><summary>! blocked (3)</summary>" in md, "no blocked section"
for t in ("t1983", "t1984", "t1985"):
    m = re.search(r"^! %s: .*region cannot change.*\n((?:    .*\n)+)" % t, md, re.M)
    assert m, "blocked tenant %s missing" % t
    body = m.group(1)
    assert "    not made: region aws-us-east-2 -> aws-eu-central-1\n" in body, body
    assert "    not made: quota.computeTime 10h -> 20h\n" in body, body
    assert "    to unblock: revert region to 'aws-us-east-2'" in body, body
shown = len(re.findall(r"^~ t\d{4}: quota.computeTime", md, re.M))
assert 0 < shown < 1983, "%d update lines shown: no cut happened" % shown
note = re.search(r"_… ([\d,]+) more lines? not shown: .*update lines were cut first.*the whole plan: (\S+)_\n$", md)
assert note, "no note at the end"
assert int(note.group(1).replace(",", "")) == 1983 - shown, note.group(1)
assert note.group(2) == sys.argv[2], note.group(2)
assert "\033" not in md, "colour in markdown"
print("%d characters, %d of 1,983 updates shown, the 3 blocked kept" % (len(md), shown))
PY
checked=$?
if [ "$code" = 0 ] && [ "$checked" = 0 ]; then ok "markdown of 2,000 tenants: $(cat "$tmp/check.txt")"
else fail "markdown at scale" "exit $code: $(cat "$tmp/check.txt") $(tail -3 "$tmp/p.err")"; fi
plan --format markdown --refresh none >"$tmp/p2.md" 2>/dev/null
if grep -q "the whole plan is in the CI log._$" "$tmp/p2.md"; then ok "without --full-plan-url the note names the CI log"
else fail "note without URL" "$(tail -1 "$tmp/p2.md")"; fi

# ------------------------------------------------------------- colour
esc=$(printf '\033')
colour() { grep -q "$esc\[3[123]m" "$1"; }
plan --refresh none --color always >"$tmp/c1.txt" 2>&1
NO_COLOR=1 plan --refresh none >"$tmp/c2.txt" 2>&1
plan --refresh none --color never >"$tmp/c3.txt" 2>&1
plan --refresh none >"$tmp/c4.txt" 2>&1
cmd="'$flotilla' plan --repo '$repo' --state '$state' --refresh none"
script -qec "$cmd" /dev/null >"$tmp/c5.txt" 2>&1
NO_COLOR=1 script -qec "$cmd" /dev/null >"$tmp/c6.txt" 2>&1
NO_COLOR= script -qec "$cmd" /dev/null >"$tmp/c7.txt" 2>&1
if colour "$tmp/c1.txt" && grep -q "^$esc\[31m! blocked (3)$esc\[0m" "$tmp/c1.txt" &&
	grep -q "^$esc\[33m~$esc\[0m t0000: quota.computeTime 10h -> 11h" "$tmp/c1.txt" &&
	! colour "$tmp/c2.txt" && ! colour "$tmp/c3.txt" && ! colour "$tmp/c4.txt" &&
	colour "$tmp/c5.txt" && ! colour "$tmp/c6.txt" && colour "$tmp/c7.txt" &&
	grep -q "^! blocked (3)" "$tmp/c4.txt" && grep -q "Plan: 0 to create, 1,983 to update" "$tmp/c4.txt"; then
	ok "colour with --color always and on a terminal; none with NO_COLOR=1, --color never or a pipe"
else
	fail "colour" "$(for i in 1 2 3 4 5 6 7; do printf 'c%s: ' $i; colour "$tmp/c$i.txt" && echo colour || echo none; done | tr '\n' ' ')"
fi
"$flotilla" status --state "$state" --color always >"$tmp/s.txt" 2>&1
"$flotilla" plan --color sometimes >"$tmp/e1" 2>&1; e1=$?
"$flotilla" plan --full-plan-url "$url" >"$tmp/e2" 2>&1; e2=$?
"$flotilla" plan --format markdown --full-plan-url "not a url" >"$tmp/e3" 2>&1; e3=$?
if [ "$e1" = 1 ] && grep -q -- "--color must be auto, always or never, not 'sometimes'" "$tmp/e1" &&
	[ "$e2" = 1 ] && grep -q "use it with --format markdown" "$tmp/e2" &&
	[ "$e3" = 1 ] && grep -q -- "--full-plan-url wants an http:// or https:// URL" "$tmp/e3" &&
	grep -q "^$esc\[31m!$esc\[0m blocked *t198[345]" "$tmp/s.txt"; then
	ok "bad --color and --full-plan-url refused; status marks blocked tenants in red"
else
	fail "option errors, status" "$(cat "$tmp/e1" "$tmp/e2" "$tmp/e3"; head -5 "$tmp/s.txt")"
fi
finish
