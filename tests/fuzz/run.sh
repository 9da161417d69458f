#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Fuzz every target (or the ones named) for a while, e.g. an hour each:
#
#   tests/fuzz/run.sh 3600
#   tests/fuzz/run.sh 600 ingest bpf_record
#
# Configures build-fuzz/ as tests/run-all.sh does (clang, libFuzzer,
# ASan+UBSan), builds, and runs each target through run-target.sh: new
# inputs accumulate in build-fuzz/tests/fuzz/work/<target>/corpus (kept
# between runs), crash inputs next to it. Prints each target's final cov:
# and ft: and fails if any target found anything. A crash input belongs in
# tests/fuzz/corpus/<target>/ with the fix and a unit test (docs/fuzzing.md).
set -euo pipefail

cd "$(dirname "$0")/../.."
seconds=${1:-3600}
shift || true

if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang meson setup build-fuzz -Dbuildtype=debugoptimized \
		-Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args=-fsanitize=fuzzer-no-link >/dev/null
fi
meson compile -C build-fuzz >/dev/null

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	mapfile -t targets < <(ls tests/fuzz/corpus)
fi
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export PROCCACHE_FUZZ_SECONDS=$seconds
failed=0
for t in "${targets[@]}"; do
	echo "== $t (${seconds}s)"
	tests/fuzz/run-target.sh "build-fuzz/tests/fuzz/fuzz_$t" \
		"tests/fuzz/corpus/$t" "build-fuzz/tests/fuzz/work/$t" || failed=1
done
exit "$failed"
