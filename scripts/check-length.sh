#!/bin/sh
# check-length.sh STAMP FILE...: fail when a function outside tests/ and
# bench/ runs past 120 lines, header to closing brace (issue 13: a long
# function is split along its steps, each named). A function body starts
# with "{" alone in column 0 and ends with "}" alone in column 0.
stamp=$1; shift
status=0
for f in "$@"; do
	case $f in
	tests/* | bench/* | */tests/* | */bench/* | *.h) continue ;;
	esac
	awk -v file="$f" '
		/^[A-Za-z_]/ { head = NR; name = $0 }
		/^\{$/ { start = head; sig = name }
		/^\}$/ && start { n = NR - start + 1; if (n > 120) { printf "%s:%d: %s: %d lines (at most 120)\n", file, start, sig, n; bad = 1 } start = 0 }
		END { exit bad }' "$f" || status=1
done
if [ $status != 0 ]; then
	echo "error: a function is longer than 120 lines; split it along its steps" >&2
	exit 1
fi
touch "$stamp"
