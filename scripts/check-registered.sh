#!/bin/sh
# check-registered.sh STAMP TESTDIR PATH...: fail when TESTDIR (tests/)
# holds a test file that tests/meson.build does not register (STYLE.md rule
# 11). The PATHs, relative to TESTDIR, are what it registers: unit/test-*.c
# (unit_tests), sim/test-*.c (e2e_tests), e2e/*.sh (e2e_scripts) and the
# files of e2e/ the scripts source or run (e2e_helpers). Every
# unit/test-*.c, sim/test-*.c, e2e/*.sh and e2e/*.py must be one of them.
stamp=$1; dir=$2; shift 2
status=0
for f in "$dir"/unit/test-*.c "$dir"/sim/test-*.c "$dir"/e2e/*.sh "$dir"/e2e/*.py; do
	[ -e "$f" ] || continue
	rel=${f#"$dir"/}
	found=0
	for n in "$@"; do [ "$n" = "$rel" ] && found=1; done
	[ $found = 1 ] && continue
	case $rel in
	unit/*) where="unit_tests" ;;
	sim/*) where="e2e_tests" ;;
	*.sh) where="e2e_scripts, or e2e_helpers if the scripts source or run it" ;;
	*) where="e2e_helpers, if the scripts run it" ;;
	esac
	echo "error: tests/$rel is not registered in tests/meson.build (add it to $where)" >&2
	status=1
done
[ $status = 0 ] && touch "$stamp"
exit $status
