#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Install the Debian 12 packages that build, test and run libproccache.
# Used by .ci/run and scripts/setup-and-run.sh; needs root or sudo.
set -euo pipefail

packages=(
	# toolchain (libc6-dev: gcc only recommends it)
	meson ninja-build pkg-config gcc libc6-dev binutils python3
	# dependencies of the library
	libck-dev libbpf-dev libelf-dev zlib1g-dev
	# BPF programs: clang -target bpf, bpftool gen object/skeleton
	clang llvm bpftool
	# tests: Criterion, the ABI baseline, sanitizer runtimes and libFuzzer,
	# valgrind
	libcriterion-dev abigail-tools libclang-rt-14-dev valgrind
	# tests/test_logtag.py: util-linux logger (essential, named to be sure)
	bsdutils
	# tests/kernel-matrix: Debian's kernels under qemu, a busybox initramfs
	qemu-system-x86 seabios busybox-static cpio xz-utils zstd
)

as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -q --no-install-recommends "${packages[@]}"
