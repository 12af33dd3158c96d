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
