# lib.sh: what the benchmark scripts share; sourced from the repository
# root (each script cd's there first).

# fleet N: the path of a generated fleet of N tenants (bench/gen-fleet),
# cached in bench/out/ and made again when gen-fleet changed
fleet() {
	local n=$1 dir=bench/out/fleet-$1 stamp
	stamp=$(sha256sum bench/gen-fleet | cut -d' ' -f1)
	if [ ! -f "$dir/.gen-stamp" ] || [ "$(cat "$dir/.gen-stamp")" != "$stamp" ]; then
		echo "$(basename "$0"): generating $dir" >&2
		rm -rf "$dir" "$dir.tmp"
		mkdir -p bench/out
		bench/gen-fleet "$n" "$dir.tmp"
		echo "$stamp" >"$dir.tmp/.gen-stamp"
		mv "$dir.tmp" "$dir"
	fi
	echo "$dir"
}

# STATE=postgres: the scripts below put their state in a schema of a
# throw-away PostgreSQL server (tests/pg/pg.sh with PG_DURABLE=1, fsync on)
# in $tmp/pg, beside the SQLite file.

# pg_start BACKEND...: start that server when postgres is among them; its
# URL goes into pg_url
pg_dir=
pg_start() {
	local b
	for b in "$@"; do
		[ "$b" = postgres ] || continue
		if ! command -v psql >/dev/null; then
			echo "$(basename "$0"): STATE=postgres needs psql and a server (scripts/install-deps.sh installs postgresql)" >&2
			exit 1
		fi
		chmod 711 "$tmp" # the server runs as postgres when we are root
		pg_dir=$tmp/pg
		pg_url=$(PG_DURABLE=1 tests/pg/pg.sh start "$pg_dir")
	done
}
pg_stop() { [ -z "$pg_dir" ] || tests/pg/pg.sh kill "$pg_dir"; }

# state_of BACKEND NAME: a state location, $tmp/NAME.db or the schema NAME
state_of() {
	case $1 in
	sqlite) echo "$tmp/$2.db" ;;
	postgres) echo "$pg_url?schema=$2" ;;
	esac
}

# state_sql BACKEND NAME SQL: run SQL on that state and print its result
state_sql() {
	case $1 in
	sqlite) sqlite3 "$tmp/$2.db" "$3" ;;
	postgres) PGOPTIONS="-c search_path=$2" psql -X -q -At -v ON_ERROR_STOP=1 "$pg_url" -c "$3" ;;
	esac
}

# backend_name BACKEND: how the tables name it
backend_name() { case $1 in sqlite) echo SQLite ;; postgres) echo PostgreSQL ;; esac; }
