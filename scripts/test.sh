#!/usr/bin/env bash
# test.sh: install dependencies, build, and run every test.
#
#   1. warnings-as-errors build (build-ci) and the whole suite;
#   2. the same suite under ASan+UBSan (build-asan), then ThreadSanitizer
#      (build-tsan);
#   The tests of the PostgreSQL state backend run in all of them, on one
#   throw-away server started here.
#   3. the Debian packages, built once from the committed tree and checked
#      with lintian, unpacked and run (tests/deb.sh; about a minute);
#   4. a bounded libFuzzer run of the manifest loader (clang), FUZZ_SECONDS
#      (default 60; 0 skips it).
#
# Ends with one line "N passed, N failed" over all runs; exits non-zero when
# anything failed. .ci/run calls exactly this script.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0

# Count the results of one `meson test` run from its JSON log.
count() {
	local log=$1/meson-logs/testlog.json p f
	if [ ! -f "$log" ]; then
		failed=$((failed + 1))
		return
	fi
	p=$(grep -c '"result": "OK"' "$log" || true)
	f=$(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)
	passed=$((passed + p))
	failed=$((failed + f))
}

run_suite() { # name builddir meson-setup-args...
	local name=$1 dir=$2
	shift 2
	echo "== $name: configure and build ($dir)"
	local setup=(meson setup "$dir" "$@")
	[ -f "$dir/build.ninja" ] && setup=(meson setup --reconfigure "$dir" "$@")
	if ! "${setup[@]}" >/dev/null || ! ninja -C "$dir" >/dev/null; then
		echo "== $name: BUILD FAILED"
		failed=$((failed + 1))
		return
	fi
	echo "== $name: test"
	rm -f "$dir/meson-logs/testlog.json"
	meson test -C "$dir" --print-errorlogs --num-processes 2 ${MESON_TEST_ARGS:-} || true
	count "$dir"
}

# One throw-away PostgreSQL server for every run (tests/pg/pg.sh): the
# tests of the PostgreSQL state backend each use a schema of their own on it.
pgdir=$(mktemp -d /tmp/flotilla-ci-pg.XXXXXX)
chmod 711 "$pgdir"
trap 'tests/pg/pg.sh kill "$pgdir/pg"; rm -rf "$pgdir"' EXIT
if FLOTILLA_TEST_PG=$(tests/pg/pg.sh start "$pgdir/pg"); then
	export FLOTILLA_TEST_PG
	echo "== PostgreSQL for the tests: $FLOTILLA_TEST_PG"
else
	echo "== PostgreSQL: could not start a test server (the -pg tests start their own)"
	failed=$((failed + 1))
fi

# Any sanitizer report fails the test that triggered it.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1

run_suite "werror" build-ci -Dwerror=true
# the sanitizer runs check the same paths on a smaller fleet: the full
# 10,000 tenants of harsh.sh's incomplete-pages group run once, above
export HARSH_TENANTS=2000
# and the end-to-end scripts on PostgreSQL ran above: the state code under
# them is the same, and the unit tests of both backends run in every stage
export MESON_TEST_ARGS="--no-suite pg-e2e"
run_suite "asan+ubsan" build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
	--buildtype=debug
# the manifest loader parses on a second thread, the parse cache writes from
# a third, and flotilla-sim serves from many: ThreadSanitizer over it all
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	run_suite "tsan" build-tsan -Dwerror=true -Db_sanitize=thread -Db_lundef=false

# not under the sanitizers: dpkg-buildpackage makes its own build
echo "== deb: build and check the Debian packages (tests/deb.sh)"
if bash tests/deb.sh; then
	passed=$((passed + 1))
else
	echo "== deb: FAILED (see above)"
	failed=$((failed + 1))
fi

fuzz_seconds=${FUZZ_SECONDS:-60}
if [ "$fuzz_seconds" != 0 ] && [ -x scripts/fuzz.sh ]; then
	echo "== fuzz: manifest loader for ${fuzz_seconds}s"
	if scripts/fuzz.sh "$fuzz_seconds"; then
		passed=$((passed + 1))
	else
		echo "== fuzz: FINDING (see above)"
		failed=$((failed + 1))
	fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
