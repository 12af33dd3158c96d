#!/bin/sh
# pg.sh: a throw-away PostgreSQL server for the tests (Debian's postgresql
# package, installed by scripts/install-deps.sh). Never a shared or
# system server: a cluster in a temp dir, on a free port of 127.0.0.1.
#
#   tests/pg/pg.sh start DIR   make (or reuse) a cluster in DIR, start it,
#                              print its URL: postgres://flotilla@127.0.0.1:PORT/flotilla
#   tests/pg/pg.sh stop DIR    stop it (fast shutdown)
#   tests/pg/pg.sh kill DIR    stop it as a crash would (immediate)
#   tests/pg/pg.sh restart DIR stop and start it on the same port
#   tests/pg/pg.sh run CMD...  start one in a temp dir, run CMD with
#                              FLOTILLA_TEST_PG set to its URL (unless it is
#                              set already), stop it; CMD's exit status
#
# PostgreSQL refuses to run as root, and CI runs as root: then the server
# runs as the postgres user (made by the package), and DIR is given to it.
# The server trusts connections from 127.0.0.1 only (a test cluster).
# It runs with fsync off unless PG_DURABLE=1 (the benchmarks set it).
set -eu

bindir() {
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		[ -x "$d/initdb" ] && { echo "$d"; return 0; }
	done
	command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
	echo "pg.sh: no PostgreSQL server found (apt-get install postgresql; scripts/install-deps.sh does)" >&2
	return 1
}

as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start() {
	dir=$1
	bin=$(bindir)
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown postgres: "$dir"
	chmod 700 "$dir"
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		as_owner "$bin/initdb" -D "$dir/data" -U flotilla --auth=trust -E UTF8 --locale=C.UTF-8 \
			>"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
		port=$(free_port)
		echo "$port" >"$dir/port"
		[ "$(id -u)" = 0 ] && chown postgres: "$dir/port"
	fi
	port=$(cat "$dir/port")
	# fsync off: a test cluster's durability is not what is tested (a
	# kill -9 of the server still loses nothing that was committed).
	# PG_DURABLE=1 keeps PostgreSQL's defaults: the benchmarks measure what
	# a real server costs.
	durable="-c fsync=off -c full_page_writes=off"
	[ "${PG_DURABLE:-}" = 1 ] && durable=
	# a free port may be taken between free_port and the server's bind
	# (tests start servers side by side): then another port, a few times
	tries=0
	until as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $dir $durable -c max_connections=200" \
		start >/dev/null 2>>"$dir/pg_ctl.log"; do
		tries=$((tries + 1))
		if [ $tries -ge 5 ] || ! grep -q "could not bind\|already in use" "$dir/server.log"; then
			cat "$dir/pg_ctl.log" "$dir/server.log" >&2
			exit 1
		fi
		port=$(free_port)
		echo "$port" >"$dir/port"
	done
	if [ ! -f "$dir/created" ]; then
		as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U flotilla flotilla
		as_owner touch "$dir/created"
	fi
	echo "postgres://flotilla@127.0.0.1:$port/flotilla"
}

stop() {
	as_owner "$(bindir)/pg_ctl" -D "$1/data" -m "${2:-fast}" -w stop >/dev/null 2>&1 || true
}

case "${1:-}" in
start) start "$2" ;;
stop) stop "$2" fast ;;
kill) stop "$2" immediate ;;
restart)
	stop "$2" fast
	start "$2" >/dev/null
	;;
run)
	shift
	if [ -n "${FLOTILLA_TEST_PG:-}" ]; then
		exec "$@"
	fi
	tmp=$(mktemp -d /tmp/flotilla-pg.XXXXXX)
	chmod 711 "$tmp" # the server runs as postgres when we are root
	trap 'stop "$tmp/pg" immediate; rm -rf "$tmp"' EXIT INT TERM
	FLOTILLA_TEST_PG=$(start "$tmp/pg")
	export FLOTILLA_TEST_PG
	status=0
	"$@" || status=$?
	exit $status
	;;
*)
	echo "usage: pg.sh start|stop|kill|restart DIR | run CMD..." >&2
	exit 2
	;;
esac
