#!/bin/sh
# rooms.sh SRCDIR CC...: each outside library has one room (util/rooms.h).
# Outside it, a file that includes the library's header must fail to
# compile; inside (its FLOTILLA_ROOM_* defined) it must compile.
src=$1
shift
cc="$*" # the compiler command, maybe with a wrapper (ccache)
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0
check() { # HEADER ROOM CFLAGS...
	h=$1 room=$2
	shift 2
	printf '#include <%s>\nint probe(void);\nint probe(void) { return 0; }\n' "$h" >"$tmp/p.c"
	if $cc -include "$src/util/rooms.h" "$@" -c "$tmp/p.c" -o "$tmp/p.o" 2>"$tmp/err"; then
		echo "FAIL $h compiles outside its room"; failed=1
	elif ! grep -q poisoned "$tmp/err"; then
		echo "FAIL $h outside its room fails for another reason: $(head -3 "$tmp/err")"; failed=1
	elif ! $cc -include "$src/util/rooms.h" "-D$room" "$@" -c "$tmp/p.c" -o "$tmp/p.o" 2>"$tmp/err"; then
		echo "FAIL $h does not compile in its room ($room): $(head -3 "$tmp/err")"; failed=1
	else
		echo "ok $h: refused outside its room, compiled with $room"
	fi
}
check git2.h FLOTILLA_ROOM_GIT2 $(pkg-config --cflags libgit2)
check curl/curl.h FLOTILLA_ROOM_CURL $(pkg-config --cflags libcurl)
check sqlite3.h FLOTILLA_ROOM_SQLITE $(pkg-config --cflags sqlite3)
check yaml.h FLOTILLA_ROOM_YAML $(pkg-config --cflags yaml-0.1)
check microhttpd.h FLOTILLA_ROOM_MHD $(pkg-config --cflags libmicrohttpd)
exit $failed
