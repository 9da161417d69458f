#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The kernel matrix: boot Debian's kernels under qemu (software emulation)
# and run the BPF and netlink sensor suites and the snoop's tests in them,
# built from this checkout.
#
#   tests/kernel-matrix/run.sh [NAME...]     # default: every kernels.list line
#
# For each kernel: resolve its package with a private apt configuration
# (sources for the suites kernels.list names, bullseye, bookworm and
# bookworm-backports today, for the download only; nothing is installed on
# the host), `apt-get download` it, take the
# vmlinuz and the 9p/virtio modules out with dpkg-deb, build an initramfs
# (static busybox, the modules, tests/kernel-matrix/init), boot with the
# host's root shared read-only over 9p, and read the results from the
# serial console. A guest that hangs or panics is killed after
# KMATRIX_TIMEOUT seconds and fails; a kernel whose package cannot be
# fetched is reported SKIPPED and makes the run fail unless
# KMATRIX_ALLOW_SKIP=1.
#
# Environment:
#   KMATRIX_CACHE     downloads and extracted kernels
#                     (default /var/cache/proccache-kernels)
#   KMATRIX_BUILD     build directory with the test programs (default build)
#   KMATRIX_TIMEOUT   seconds per guest (default 600)
#   KMATRIX_SCALE     time-limit factor for the tests (default 8)
#   KMATRIX_SMP       guest CPUs (default 1: QEMU 7.2 crashes 6.12 with 2)
#   KMATRIX_MEM       guest memory (default 2G)
#   KMATRIX_SCOPE     override every line's scope: full or subset
#   KMATRIX_FILTER    only the sensor tests matching this Criterion
#                     --filter pattern, with the library's log (debugging:
#                     KMATRIX_FILTER='sensor_bpf/*' run.sh 6.1)
#   KMATRIX_SCRIPT    a script (absolute host path) the guest runs with bash
#                     instead of the suites: anything else to try on a kernel
#
# Ends with "kernel-matrix: N passed, N failed, N skipped"; exits non-zero
# if any kernel failed or was skipped. Guest logs: $KMATRIX_CACHE/logs/.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
cache=${KMATRIX_CACHE:-/var/cache/proccache-kernels}
build=${KMATRIX_BUILD:-build}
case "$build" in /*) ;; *) build=$src/$build ;; esac
timeout_s=${KMATRIX_TIMEOUT:-600}
scale=${KMATRIX_SCALE:-8}
smp=${KMATRIX_SMP:-1}
mem=${KMATRIX_MEM:-2G}

say() { printf 'kernel-matrix: %s\n' "$*"; }

for tool in qemu-system-x86_64 apt-get dpkg-deb cpio objcopy xz zstd /bin/busybox; do
	command -v "$tool" >/dev/null || { say "missing $tool (scripts/install-deps.sh)"; exit 1; }
done
for prog in tests/test_sensor_bpf tests/test_sensor_netlink tests/test_snoop \
	tests/bench/storm-exec examples/proccache-snoop/proccache-snoop; do
	[ -x "$build/$prog" ] || { say "no $build/$prog: build first (meson compile -C $build)"; exit 1; }
done

# ---- apt, private to the cache directory ----------------------------------

aptdir=$cache/apt
apt_conf=$aptdir/apt.conf
apt_setup() {
	mkdir -p "$aptdir"/{lists/partial,archives/partial,etc/apt.conf.d,etc/preferences.d,etc/sources.list.d}
	local keyring=/usr/share/keyrings/debian-archive-keyring.gpg suite
	: >"$aptdir/etc/sources.list"
	# The suites kernels.list names, so that a new line is all a new
	# kernel needs.
	for suite in $(awk '!/^[[:space:]]*(#|$)/ { print $2 }' "$here/kernels.list" | sort -u); do
		echo "deb [signed-by=$keyring] http://deb.debian.org/debian $suite main" \
			>>"$aptdir/etc/sources.list"
	done
	cat >"$apt_conf" <<-CONF
	Dir::State "$aptdir";
	Dir::State::Lists "$aptdir/lists";
	Dir::State::status "/dev/null";
	Dir::Cache "$aptdir";
	Dir::Cache::archives "$aptdir/archives";
	Dir::Etc::SourceList "$aptdir/etc/sources.list";
	Dir::Etc::SourceParts "$aptdir/etc/sources.list.d";
	Dir::Etc::Preferences "$aptdir/etc/preferences";
	Dir::Etc::PreferencesParts "$aptdir/etc/preferences.d";
	Dir::Etc::Parts "$aptdir/etc/apt.conf.d";
	APT::Sandbox::User "root";
	Acquire::Languages "none";
	CONF
}
apt_updated=false
apt_update() {
	$apt_updated && return 0
	apt_setup
	apt-get -q -c "$apt_conf" update >"$aptdir/update.log" 2>&1 ||
		{ cat "$aptdir/update.log"; return 1; }
	apt_updated=true
}

# fetch NAME SUITE PACKAGE: the kernel's files in $cache/kernels/NAME
# (vmlinuz, modules.order, the modules); reuses a previous extraction when
# the package version is unchanged, or when apt cannot be reached.
fetch() {
	local name=$1 suite=$2 pkg=$3 dir=$cache/kernels/$1 image deb ver
	mkdir -p "$cache/deb"
	if ! apt_update; then
		[ -s "$dir/vmlinuz" ] && { say "$name: apt update failed, using the cached $(cat "$dir/version")"; return 0; }
		return 1
	fi
	# A metapackage names the versioned image in its Depends.
	image=$(apt-cache -c "$apt_conf" show "$pkg/$suite" 2>/dev/null |
		sed -n 's/^Depends: \(linux-image-[^ ,]*\).*/\1/p' | head -n1)
	[ -n "$image" ] || image=$pkg
	ver=$(apt-cache -c "$apt_conf" show "$image/$suite" 2>/dev/null |
		sed -n 's/^Version: //p' | head -n1)
	[ -n "$ver" ] || { say "$name: no $image in $suite"; return 1; }
	if [ -s "$dir/vmlinuz" ] && [ "$(cat "$dir/version" 2>/dev/null)" = "$image $ver" ]; then
		return 0
	fi
	deb=$(ls "$cache/deb/${image}_"*.deb 2>/dev/null | head -n1 || true)
	if [ -z "$deb" ] || ! dpkg-deb -f "$deb" Version | grep -qxF "$ver"; then
		rm -f "$cache/deb/${image}_"*.deb
		(cd "$cache/deb" && apt-get -q -c "$apt_conf" download "$image/$suite" \
			>"$cache/deb/$image.log" 2>&1) || { cat "$cache/deb/$image.log"; return 1; }
		deb=$(ls "$cache/deb/${image}_"*.deb | head -n1)
	fi
	rm -rf "$dir" && mkdir -p "$dir/x"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir/x" --wildcards \
		'./boot/vmlinuz-*' './lib/modules/*/modules.*' \
		'./lib/modules/*/kernel/fs/9p/*' './lib/modules/*/kernel/net/9p/*' \
		'./lib/modules/*/kernel/fs/netfs/*' './lib/modules/*/kernel/fs/fscache/*' \
		'./lib/modules/*/kernel/drivers/virtio/*' 2>/dev/null || true
	mv "$dir"/x/boot/vmlinuz-* "$dir/vmlinuz" || return 1
	echo "$image $ver" >"$dir/version"
}

# module_order DIR: DIR/modules.order lists the modules that 9p over
# virtio needs, dependencies first, as paths in the guest; DIR/*.ko are
# those modules, decompressed. The package has no modules.dep (depmod
# makes it at install): its .modinfo section names its dependencies.
module_order() {
	local dir=$1 mdir m
	mdir=$(echo "$dir"/x/lib/modules/*)
	: >"$dir/modules.order"
	declare -A seen=()
	add() { # add NAME
		local name=$1 file dep
		[ -z "${seen[$name]:-}" ] || return 0
		seen[$name]=1
		file=$(find "$mdir/kernel" -name "$name.ko" -o -name "$name.ko.xz" \
			-o -name "$name.ko.zst" | head -n1)
		if [ -z "$file" ]; then
			# Built in: nothing to load.
			grep -qE "/${name//-/[-_]}\.ko\$" "$mdir/modules.builtin" && return 0
			say "no module $name in the package, and not built in"
			return 1
		fi
		case "$file" in
		*.xz) xz -d -c "$file" >"$dir/$name.ko" ;;
		*.zst) zstd -q -d -c "$file" >"$dir/$name.ko" ;;
		*) cp "$file" "$dir/$name.ko" ;;
		esac
		for dep in $(objcopy -O binary --only-section=.modinfo "$dir/$name.ko" /dev/stdout |
			tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '); do
			add "$dep" || return 1
		done
		echo "/modules/$name.ko" >>"$dir/modules.order"
	}
	for m in virtio_pci 9pnet_virtio 9p; do
		add "$m" || return 1
	done
}

# initramfs NAME: $cache/kernels/NAME/initramfs.gz
initramfs() {
	local dir=$cache/kernels/$1 root
	[ -s "$dir/modules.order" ] || module_order "$dir" || return 1
	root=$(mktemp -d)
	mkdir -p "$root/bin" "$root/modules"
	cp /bin/busybox "$root/bin/busybox"
	cp "$here/init" "$root/init"
	cp "$dir/modules.order" "$root/modules.order"
	cp "$dir"/*.ko "$root/modules/"
	(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 >"$dir/initramfs.gz"
	rm -rf "$root"
}

# boot NAME SCOPE: 0 when the guest printed KMATRIX-END PASS
boot() {
	local name=$1 scope=$2 dir=$cache/kernels/$1 log=$cache/logs/$1.log rc=0
	mkdir -p "$cache/logs"
	timeout --foreground -k 10 "$timeout_s" qemu-system-x86_64 \
		-machine q35 -cpu max -smp "$smp" -m "$mem" \
		-nographic -no-reboot -nic none \
		-kernel "$dir/vmlinuz" -initrd "$dir/initramfs.gz" \
		-append "console=ttyS0 rdinit=/init panic=-1 oops=panic loglevel=4 kmatrix.src=$src kmatrix.build=$build kmatrix.scope=$scope kmatrix.scale=$scale${KMATRIX_FILTER:+ kmatrix.filter=$KMATRIX_FILTER}${KMATRIX_SCRIPT:+ kmatrix.script=$KMATRIX_SCRIPT}" \
		-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
		-virtfs "local,path=$src,mount_tag=kmsrc,security_model=none,readonly=on,multidevs=remap" \
		-virtfs "local,path=$build,mount_tag=kmbuild,security_model=none,readonly=on,multidevs=remap" \
		</dev/null >"$log" 2>&1 || rc=$?
	tr -d '\r' <"$log" | grep -E '^(KMATRIX-(KERNEL|SUITE|END)|kmatrix:)' | sed "s/^/  [$name] /"
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		say "$name: guest killed after ${timeout_s}s (hung?); log: $log"
		return 1
	fi
	grep -q '^KMATRIX-END PASS' <(tr -d '\r' <"$log") && return 0
	grep -q '^KMATRIX-END' <(tr -d '\r' <"$log") ||
		{ say "$name: the guest died before it finished (panic?); last lines of $log:"; tail -n 30 "$log"; }
	return 1
}

# ---- main ----------------------------------------------------------------

want=("$@")
passed=0 failed=0 skipped=0 summary=()
while read -r name suite pkg scope; do
	case "$name" in ''|'#'*) continue ;; esac
	if [ ${#want[@]} -gt 0 ] && ! printf '%s\n' "${want[@]}" | grep -qxF "$name"; then
		continue
	fi
	scope=${KMATRIX_SCOPE:-$scope}
	start=$(date +%s)
	if ! fetch "$name" "$suite" "$pkg"; then
		say "SKIPPED $name: the kernel package could not be fetched ($pkg from $suite)"
		skipped=$((skipped + 1))
		summary+=("$(printf '%-6s SKIPPED (no package: %s from %s)' "$name" "$pkg" "$suite")")
		continue
	fi
	if ! initramfs "$name"; then
		say "$name: cannot build the initramfs"
		failed=$((failed + 1))
		summary+=("$(printf '%-6s FAIL (initramfs)' "$name")")
		continue
	fi
	say "$name: booting $(cat "$cache/kernels/$name/version") ($scope)"
	if boot "$name" "$scope"; then
		result=PASS passed=$((passed + 1))
	else
		result=FAIL failed=$((failed + 1))
	fi
	summary+=("$(printf '%-6s %s %4ds  %s' "$name" "$result" $(($(date +%s) - start)) "$(cat "$cache/kernels/$name/version")")")
done <"$here/kernels.list"

if [ ${#want[@]} -gt 0 ] && [ ${#summary[@]} -eq 0 ]; then
	say "no kernel named ${want[*]} in $here/kernels.list"
	exit 2
fi
printf '%s\n' "${summary[@]}"
echo "kernel-matrix: $passed passed, $failed failed, $skipped skipped"
if [ "$failed" -gt 0 ] || { [ "$skipped" -gt 0 ] && [ "${KMATRIX_ALLOW_SKIP:-0}" != 1 ]; }; then
	exit 1
fi
