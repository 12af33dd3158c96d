#!/bin/sh
# check-quiet.sh STAMP FILE...: the libraries below the commands never
# print, exit or log (issue 13): in engine/ and state/, no printf, fprintf,
# puts, putchar, perror, exit, cli_* or log_* call. The engine reports
# through its reporter (engine__note, engine__log, …); state/ returns what
# happened and the caller decides.
stamp=$1; shift
status=0
pattern='(^|[^A-Za-z0-9_])(printf|fprintf|vfprintf|puts|fputs|putchar|perror|exit|_exit|cli_[a-z_]+|log_(event|eventv|debug|info|warn|error))[[:space:]]*\('
for f in "$@"; do
	case $f in
	*engine/*.c | *state/*.c | *engine/*.h | *state/*.h) ;;
	*) continue ;;
	esac
	hits=$(grep -nE "$pattern" "$f") || continue
	echo "$hits" | sed "s|^|$f:|"
	status=1
done
if [ $status != 0 ]; then
	echo "error: engine/ and state/ never print, exit or log: return an error, or report through engine__note/engine__log" >&2
	exit 1
fi
touch "$stamp"
