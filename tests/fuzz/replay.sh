#!/bin/sh
# replay.sh FUZZER CORPUS [DATA...]: run every file of the seed corpus
# CORPUS, and every *.yaml file under each DATA directory (the golden
# manifests of tests/data/spec, examples/), once through a fuzz target.
# FUZZER is either a libFuzzer binary or the gcc replay driver (driver.c);
# both take a list of input files. The files are listed now, not when meson
# was configured, so cases added since are replayed too.
set -eu
fuzzer=$1
corpus=$2
shift 2
find "$corpus" -type f ! -name '.*' -exec "$fuzzer" {} +
for dir in "$@"; do
	[ -d "$dir" ] || continue
	find "$dir" -type f -name '*.yaml' -exec "$fuzzer" {} +
done
