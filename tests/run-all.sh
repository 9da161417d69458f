#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The project's test command (README, .ci/run):
#
#   tests/run-all.sh
#
# 1. build/       $CC (default cc), debugoptimized: every suite but 'bench'
#                 and 'stress' (unit, abi, ...).
# 2. build-asan/  clang, ASan+UBSan: the 'stress' and 'hostile' suites.
# 3. build-tsan/  clang, TSan: the 'stress' suite.
# 4. build-fuzz/  clang, libFuzzer + ASan+UBSan: the 'fuzz' suite, each
#                 target for PROCCACHE_FUZZ_SECONDS (default 15) from its
#                 seed corpus; any crash, leak or report fails
#                 (docs/fuzzing.md; tests/fuzz/run.sh for a long run).
# 5. the kernel matrix (tests/kernel-matrix/run.sh): the sensor and snoop
#                 suites of build/ under qemu on Debian's 5.10, 6.1 and 6.12
#                 kernels (6.4 minutes of CPU; KMATRIX=0 leaves it out, and
#                 the summary says so).
#
# Every phase runs even if an earlier one failed; a phase that runs no test
# fails. Build dirs are reused when they exist. Ends with one line
# "run-all: N passed, N failed[, N skipped]" and exits non-zero on any failure.
set -euo pipefail

cd "$(dirname "$0")/.."

summaries=()
total_pass=0 total_fail=0 total_skip=0
exit_code=0

log() { printf '\n=== %s\n' "$*"; }

# setup DIR CC MESON-OPTIONS...: configure DIR (first time with CC).
setup() {
	local dir=$1 cc=$2
	shift 2
	if [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" "$@" >"$dir.setup.log" 2>&1
	else
		CC=$cc meson setup "$dir" "$@" >"$dir.setup.log" 2>&1
	fi || { cat "$dir.setup.log"; return 1; }
	rm -f "$dir.setup.log"
}

# Prints "passed failed skipped" from the last `meson test` in DIR.
count_results() {
	python3 - "$1/meson-logs/testlog.json" <<-'EOF' || echo "0 1 0"
	import json, sys
	counts = {}
	with open(sys.argv[1]) as f:
	    for line in f:
	        result = json.loads(line)["result"]
	        counts[result] = counts.get(result, 0) + 1
	passed = counts.pop("OK", 0) + counts.pop("EXPECTEDFAIL", 0)
	skipped = counts.pop("SKIP", 0)
	print(passed, sum(counts.values()), skipped)
	EOF
}

# The BPF objects are loaded into the kernel: no sanitizer flag may reach
# the clang -target bpf commands.
check_bpf_unsanitized() {
	local dir=$1
	if grep -E -- '-target bpf' "$dir/build.ninja" | grep -q -- '-fsanitize'; then
		echo "FAIL: sanitizer flags leak into the BPF compile in $dir/build.ninja"
		return 1
	fi
}

# phase NAME DIR SUITE-ARGS... -- MESON-TEST-ARGS...
# The tests run under `env "${test_env[@]}" "${test_wrapper[@]}"`.
test_env=()
test_wrapper=()
phase() {
	local name=$1 dir=$2 list passed=0 failed=0 skipped=0 status=FAIL
	shift 2
	local selection=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		selection+=("$1")
		shift
	done
	shift
	log "$name: meson test -C $dir ${selection[*]}"
	if meson compile -C "$dir" && check_bpf_unsanitized "$dir"; then
		# `meson test --list` fails ("No suitable tests defined.") on none.
		if ! list=$(meson test -C "$dir" --no-rebuild --list "${selection[@]}" 2>&1); then
			echo "$list"
			echo "FAIL: $name: no test selected by '${selection[*]}' in $dir"
			failed=1
		else
			echo "$(grep -c . <<<"$list") tests selected"
			rm -f "$dir/meson-logs/testlog.json"
			env "${test_env[@]}" "${test_wrapper[@]}" \
				meson test -C "$dir" --no-rebuild --print-errorlogs "${selection[@]}" "$@" || true
			read -r passed failed skipped < <(count_results "$dir")
			[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] && status=OK
		fi
	else
		echo "FAIL: $name: build failed"
		failed=1
	fi
	[ "$status" = OK ] || { exit_code=1; [ "$failed" -gt 0 ] || failed=1; }
	summaries+=("$(printf '%-10s %-4s %3d ok, %3d failed, %3d skipped  (%s)' \
		"$name" "$status" "$passed" "$failed" "$skipped" "$dir")")
	total_pass=$((total_pass + passed))
	total_fail=$((total_fail + failed))
	total_skip=$((total_skip + skipped))
}

# TSan in clang 14 cannot map its shadow with more than 28 bits of mmap
# randomization; run it without ASLR there.
tsan_wrapper=()
if [ "$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 0)" -gt 28 ]; then
	tsan_wrapper=(setarch "$(uname -m)" -R)
fi

log "configure build, build-asan, build-tsan"
# debugoptimized everywhere: the ABI check needs DWARF, the stress tests speed.
setup build "${CC:-cc}" -Dbuildtype=debugoptimized || exit_code=1
setup build-asan clang -Dbuildtype=debugoptimized \
	-Db_sanitize=address,undefined -Db_lundef=false || exit_code=1
setup build-tsan clang -Dbuildtype=debugoptimized \
	-Db_sanitize=thread -Db_lundef=false || exit_code=1
setup build-fuzz clang -Dbuildtype=debugoptimized -Dfuzzing=true \
	-Db_sanitize=address,undefined -Db_lundef=false \
	-Dc_args=-fsanitize=fuzzer-no-link || exit_code=1

phase tests build --no-suite bench --no-suite stress --

test_env=(ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1)
phase asan+ubsan build-asan --suite stress --suite hostile --

test_env=(TSAN_OPTIONS=halt_on_error=1)
test_wrapper=("${tsan_wrapper[@]}")
phase tsan build-tsan --suite stress -- --timeout-multiplier 3

# 12 targets x 15 s: about 3 minutes, plus the build.
test_env=(PROCCACHE_FUZZ_SECONDS="${PROCCACHE_FUZZ_SECONDS:-15}")
test_wrapper=()
phase fuzz build-fuzz --suite fuzz --

# The kernel matrix prints "kernel-matrix: N passed, N failed, N skipped",
# one count per kernel; a skipped kernel (no package) fails the phase.
matrix_phase() {
	local out passed=0 failed=1 skipped=0 status=FAIL
	log "kernel-matrix: tests/kernel-matrix/run.sh (build)"
	if [ "${KMATRIX:-1}" = 0 ]; then
		echo "SKIPPED: KMATRIX=0"
		summaries+=("$(printf '%-10s SKIP   0 ok,   0 failed,   1 skipped  (KMATRIX=0)' kernels)")
		total_skip=$((total_skip + 1))
		return
	fi
	out=$(mktemp)
	KMATRIX_BUILD=build tests/kernel-matrix/run.sh 2>&1 | tee "$out" || true
	if read -r passed failed skipped < <(sed -n \
		's/^kernel-matrix: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' "$out"); then
		[ "$failed" -eq 0 ] && [ "$skipped" -eq 0 ] && [ "$passed" -gt 0 ] && status=OK
	fi
	# No summary line (read sets nothing): the script itself failed.
	passed=${passed:-0} failed=${failed:-1} skipped=${skipped:-0}
	rm -f "$out"
	[ "$status" = OK ] || { exit_code=1; [ "$failed" -gt 0 ] || [ "$skipped" -gt 0 ] || failed=1; }
	summaries+=("$(printf '%-10s %-4s %3d ok, %3d failed, %3d skipped  (kernels)' \
		kernels "$status" "$passed" "$failed" "$skipped")")
	total_pass=$((total_pass + passed))
	total_fail=$((total_fail + failed))
	total_skip=$((total_skip + skipped))
}
test_env=()
test_wrapper=()
matrix_phase

log "summary"
printf '%s\n' "${summaries[@]}"
echo "run-all: $total_pass passed, $total_fail failed, $total_skip skipped"
exit "$exit_code"
