#!/bin/sh
# golden.sh FLOTILLA CASE_DIR: run one golden case and compare its output.
#
# A case folder holds:
#   fleet/     the manifest directory (copied to a temp dir before the run)
#   setup      optional: a shell script run inside the copy first, for inputs
#              that do not belong in git (a 5 MiB file, an outside symlink)
#   args       optional: the flotilla arguments, one line (default: validate);
#              "--dir FLEET" is appended
#   expected   the expected stdout (the diagnostics, or the explain output)
#   exit       the expected exit code (default 1 for validate cases, 0 else)
#
# GOLDEN_UPDATE=1 rewrites `expected` and `exit` from the actual run.
# FLOTILLA_WRAPPER, when set, is put before the flotilla command (valgrind).
set -eu
flotilla=$1
case_dir=$(cd "$2" && pwd) # absolute: setup runs from inside the copy
name=$(basename "$case_dir")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -R "$case_dir/fleet" "$tmp/fleet"
if [ -f "$case_dir/setup" ]; then
	(cd "$tmp/fleet" && sh "$case_dir/setup")
fi
args="validate"
[ -f "$case_dir/args" ] && args=$(cat "$case_dir/args")
set +e
# shellcheck disable=SC2086
${FLOTILLA_WRAPPER:-} "$flotilla" $args --dir "$tmp/fleet" >"$tmp/stdout" 2>"$tmp/stderr"
code=$?
set -e
if [ "${GOLDEN_UPDATE:-}" = 1 ]; then
	cp "$tmp/stdout" "$case_dir/expected"
	echo "$code" >"$case_dir/exit"
	echo "updated $name (exit $code)"
	exit 0
fi
want_code=1
[ -f "$case_dir/exit" ] && want_code=$(cat "$case_dir/exit")
fail=0
if ! diff -u "$case_dir/expected" "$tmp/stdout"; then
	echo "golden $name: stdout differs (above)" >&2
	fail=1
fi
if [ "$code" != "$want_code" ]; then
	echo "golden $name: exit $code, expected $want_code" >&2
	cat "$tmp/stderr" >&2
	fail=1
fi
# A crash is never an acceptable answer, whatever the expectation says.
if [ "$code" -ge 128 ]; then
	echo "golden $name: flotilla died with signal $((code - 128))" >&2
	fail=1
fi
exit $fail
