#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs inside a kernel-matrix guest (see run.sh), as root, in the host's
# root file system mounted read-only with tmpfs on /tmp, /var/tmp, /run and
# /dev/shm:
#
#   guest.sh SRC BUILD SCOPE [FILTER [SCRIPT]]
#
# SRC is the checkout, BUILD its build directory (both absolute, as on the
# host), SCOPE "full" or "subset". FILTER, a Criterion --filter pattern
# (run.sh's KMATRIX_FILTER), runs only the matching sensor tests, with the
# library's log on the console. SCRIPT (run.sh's KMATRIX_SCRIPT), a host
# path, is run instead of the suites, by bash, as one suite. Prints one line
# per suite,
#   KMATRIX-SUITE <name> PASS|FAIL <seconds>s
# and last
#   KMATRIX-END PASS|FAIL
# which run.sh reads from the serial console. The suites run as the
# Criterion binaries themselves (meson would write into the read-only build
# directory).
set -uo pipefail

src=$1 build=$2 scope=$3 filter=${4:-} script=${5:-}
failed=0

echo "KMATRIX-KERNEL $(uname -r)"
cd /tmp

# suite NAME BINARY ARGS...
suite() {
	local name=$1 start end rc
	shift
	start=$(date +%s)
	echo "KMATRIX-BEGIN $name"
	"$@"
	rc=$?
	end=$(date +%s)
	if [ "$rc" -eq 0 ]; then
		echo "KMATRIX-SUITE $name PASS $((end - start))s"
	else
		echo "KMATRIX-SUITE $name FAIL $((end - start))s (exit $rc)"
		failed=1
	fi
}

common=(--jobs=1 --short-filename)
if [ -n "$script" ]; then
	suite script bash "$script"
	[ "$failed" -eq 0 ] && echo "KMATRIX-END PASS" || echo "KMATRIX-END FAIL"
	exit 0
fi
if [ -n "$filter" ]; then
	export PC_TEST_LOG=1
	for t in test_sensor_bpf test_sensor_netlink; do
		suite "$t" env PC_STORM_EXEC="$build/tests/bench/storm-exec" \
			"$build/tests/$t" "${common[@]}" --filter "$filter"
	done
	[ "$failed" -eq 0 ] && echo "KMATRIX-END PASS" || echo "KMATRIX-END FAIL"
	exit 0
fi
suite sensor_bpf "$build/tests/test_sensor_bpf" "${common[@]}"
if [ "$scope" = full ]; then
	suite sensor_netlink env PC_STORM_EXEC="$build/tests/bench/storm-exec" \
		"$build/tests/test_sensor_netlink" "${common[@]}"
else
	# The shared scenarios on the BPF backend and the backend selection;
	# not the netlink backend's own tests (its kernel side, the proc
	# connector, has not changed in years; the full scope covers it).
	suite sensor_netlink env PC_STORM_EXEC="$build/tests/bench/storm-exec" \
		"$build/tests/test_sensor_netlink" "${common[@]}" \
		--filter '@(scenarios_bpf|selection)/*'
fi
suite snoop "$build/tests/test_snoop" "${common[@]}"

if [ "$failed" -eq 0 ]; then
	echo "KMATRIX-END PASS"
else
	echo "KMATRIX-END FAIL"
fi
