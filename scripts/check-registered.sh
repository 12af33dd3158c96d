#!/bin/sh
# check-registered.sh STAMP TESTDIR NAME...: fail when tests/unit holds a
# test-*.c that tests/meson.build does not register (STYLE.md rule 11).
stamp=$1; dir=$2; shift 2
status=0
for f in "$dir"/unit/test-*.c; do
	[ -e "$f" ] || continue
	base=$(basename "$f")
	found=0
	for n in "$@"; do [ "$n" = "$base" ] && found=1; done
	if [ $found = 0 ]; then
		echo "error: tests/unit/$base is not registered in tests/meson.build" >&2
		status=1
	fi
done
[ $status = 0 ] && touch "$stamp"
exit $status
