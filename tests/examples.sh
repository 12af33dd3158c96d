#!/bin/sh
# examples.sh FLOTILLA SRCROOT: the examples say what flotilla does, so check
# that they still do: examples/fleet is valid, and every examples/bad case
# prints exactly the diagnostics its README section shows, and exits 1.
set -u
flotilla=$1
root=$2
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! "$flotilla" validate --dir "$root/examples/fleet" >"$tmp/out" 2>&1; then
	echo "examples/fleet is not valid:" >&2
	cat "$tmp/out" >&2
	fail=1
fi

readme="$root/examples/bad/README.md"
for dir in "$root"/examples/bad/*/; do
	name=$(basename "$dir")
	# the lines between "$ flotilla validate --dir examples/bad/NAME" and the closing fence
	awk -v want="\$ flotilla validate --dir examples/bad/$name" '
		$0 == want { on = 1; next }
		on && /^```/ { exit }
		on { print }' "$readme" >"$tmp/expected"
	if [ ! -s "$tmp/expected" ]; then
		echo "examples/bad/$name: no section in examples/bad/README.md" >&2
		fail=1
		continue
	fi
	"$flotilla" validate --dir "$dir" >"$tmp/actual" 2>/dev/null
	code=$?
	if [ "$code" != 1 ]; then
		echo "examples/bad/$name: exit $code, expected 1" >&2
		fail=1
	fi
	if ! diff -u "$tmp/expected" "$tmp/actual" >&2; then
		echo "examples/bad/$name: output differs from the README" >&2
		fail=1
	fi
done
exit $fail
