#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Run one libFuzzer target for a fixed time (meson test suite 'fuzz'):
#
#   run-target.sh TARGET SEED-CORPUS WORK-DIR
#
# PROCCACHE_FUZZ_SECONDS (default 20) bounds the run. New inputs go to
# WORK-DIR/corpus (the seed corpus in the source tree is only read), crash
# inputs to WORK-DIR/crash-*. Fails on any crash, leak, sanitizer report,
# timeout or out-of-memory; prints libFuzzer's last status line (cov:, ft:).
set -uo pipefail

target=$1 seeds=$2 work=$3
seconds=${PROCCACHE_FUZZ_SECONDS:-20}

mkdir -p "$work/corpus"
log=$work/fuzz.log
"$target" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix="$work/" \
	"$work/corpus" "$seeds" >"$log" 2>&1
rc=$?
grep -E '^#[0-9]+ +(INITED|DONE|pulse)' "$log" | tail -n 2
grep -E '^stat::' "$log"
if [ "$rc" -ne 0 ]; then
	tail -n 60 "$log"
	echo "FAIL: $(basename "$target") exited $rc; artifacts in $work/"
	exit 1
fi
if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log"; then
	grep -E -A 30 'ERROR: |runtime error:' "$log" | head -n 60
	echo "FAIL: $(basename "$target") reported an error"
	exit 1
fi
echo "OK: $(basename "$target") ran ${seconds}s"
