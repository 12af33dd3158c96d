#!/bin/sh
# fuzz.sh [SECONDS] [LIBFUZZER-FLAG...]: fuzz the manifest loader for
# SECONDS (default 60) and exit non-zero on a finding.
#
# Builds build-fuzz with clang, ASan+UBSan, and libFuzzer coverage on every
# object (-fsanitize=fuzzer-no-link; the fuzz target itself links
# -fsanitize=fuzzer, see tests/fuzz/meson.build). Seeds come from
# tests/fuzz/corpus, every .yaml under tests/data/spec and examples/; they
# are copied into a temporary directory that libFuzzer reads, while new
# inputs go to fuzz-corpus/ (gitignored), so coverage carries over from one
# run to the next. Crash reproducers land in build-fuzz/artifacts/; replay
# one with `build-fuzz/tests/fuzz/fuzz-load FILE`.
#
# Extra flags go to libFuzzer, e.g. `scripts/fuzz.sh 600 -fork=2
# -ignore_crashes=1` to keep going past a known crash.
set -eu
cd "$(dirname "$0")/.."

secs=${1:-60}
[ $# -gt 0 ] && shift

if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang meson setup build-fuzz \
		-Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args=-fsanitize=fuzzer-no-link -Dfuzz=enabled
fi
ninja -C build-fuzz tests/fuzz/fuzz-load

seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT INT TERM
cp tests/fuzz/corpus/* "$seeds"/
# Flatten paths into names: many cases have a tenants/acme.yaml.
find tests/data/spec examples -type f -name '*.yaml' | while IFS= read -r f; do
	cp "$f" "$seeds/$(printf '%s' "$f" | tr '/' '_')"
done
mkdir -p fuzz-corpus build-fuzz/artifacts
echo "fuzz.sh: $(ls "$seeds" | wc -l) seeds, $(ls fuzz-corpus | wc -l) inputs kept from earlier runs, ${secs}s"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
status=0
build-fuzz/tests/fuzz/fuzz-load \
	-max_total_time="$secs" \
	-timeout=10 \
	-dict=tests/fuzz/manifest.dict \
	-artifact_prefix=build-fuzz/artifacts/ \
	-print_final_stats=1 \
	"$@" \
	fuzz-corpus "$seeds" || status=$?
if [ "$status" -ne 0 ]; then
	echo "fuzz.sh: finding (exit $status); reproducers in build-fuzz/artifacts/:" >&2
	ls -t build-fuzz/artifacts/ | head -5 >&2
fi
exit "$status"
