#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The ABI baseline of libproccache: abi/libproccache.abi, an abidw dump of the
# shared library restricted to the types of the public headers.
#
#   abi.sh check  LIBRARY.so BUILD_ROOT SOURCE_ROOT   (meson test abi-compat)
#   abi.sh update LIBRARY.so BUILD_ROOT SOURCE_ROOT   (ninja abi-update)
#
# check fails on any difference from the baseline: an incompatible change
# (abidiff bit 8), any other ABI change (bit 4), which includes a symbol added
# without regenerating the baseline, and a symbol list that differs from the
# baseline's. The library must carry DWARF (buildtype debug/debugoptimized).
set -euo pipefail

usage() {
	echo "usage: $0 check|update LIBRARY.so BUILD_ROOT SOURCE_ROOT" >&2
	exit 2
}

[ $# -eq 4 ] || usage
mode=$1 lib=$2 build_root=$3 source_root=$4
case $mode in check | update) ;; *) usage ;; esac

baseline=$source_root/abi/libproccache.abi
headers=$source_root/include/proccache
update_cmd="ninja -C $build_root abi-update"

# In check mode a missing prerequisite is a skip (exit 77), in update mode
# an error: a baseline must never be written from a library without DWARF.
unable() {
	echo "abi.sh: $*" >&2
	[ "$mode" = check ] && exit 77
	exit 1
}

for tool in abidw abidiff nm readelf; do
	command -v "$tool" >/dev/null || unable "$tool not found (Debian: abigail-tools, binutils)"
done
readelf -S --wide "$lib" | grep -q '\.debug_info' ||
	unable "$lib has no DWARF; configure with -Dbuildtype=debugoptimized"

tmpdir=$(mktemp -d)
trap 'rm -rf "$tmpdir"' EXIT

# Everything that depends on where or when the library was built is left out
# (corpus path, compilation dir, source locations, DT_NEEDED) or normalized
# (translation unit paths are made relative to the source root), so that the
# same tree gives the same file from any build directory.
dump() {
	local out=$1 rel
	abidw --headers-dir "$headers" --drop-private-types \
		--drop-undefined-syms --no-corpus-path --no-comp-dir-path \
		--no-show-locs --no-elf-needed --type-id-style hash \
		--out-file "$out.raw" "$lib"
	rel=$(realpath -m --relative-to="$build_root" "$source_root")
	# The note goes inside the root element: abidiff wants <abi-corpus first.
	NEEDLE="path='$rel/" NOTE="<!-- Written by ninja abi-update; do not edit. -->" awk '{
		n = ENVIRON["NEEDLE"]
		if (index($0, "<abi-instr ") && (i = index($0, n)))
			$0 = substr($0, 1, i + 5) substr($0, i + length(n))
		print
		if (NR == 1)
			print "  " ENVIRON["NOTE"]
	}' "$out.raw" >"$out"
	rm -f "$out.raw"
}

# name@version of every symbol in an abidw dump, sorted.
baseline_symbols() {
	sed -n "s/.*<elf-symbol name='\([^']*\)' version='\([^']*\)'.*/\1@\2/p" "$1" | sort
}

# name@version of every symbol the library exports, sorted.
library_symbols() {
	nm -D --defined-only --with-symbol-versions "$lib" |
		awk '$2 != "A" { sub(/@@?/, "@", $3); print $3 }' | sort
}

if [ "$mode" = update ]; then
	dump "$tmpdir/new.abi"
	if [ -f "$baseline" ]; then
		echo "Changes from the previous baseline:"
		abidiff --no-show-locs "$baseline" "$tmpdir/new.abi" || true
	fi
	mkdir -p "$(dirname "$baseline")"
	cp "$tmpdir/new.abi" "$baseline"
	echo "Wrote $baseline ($(baseline_symbols "$baseline" | wc -l) symbols). Review and commit it."
	exit 0
fi

[ -f "$baseline" ] || { echo "FAIL: no baseline $baseline; create it with: $update_cmd"; exit 1; }

failed=0
baseline_symbols "$baseline" >"$tmpdir/baseline.syms"
library_symbols >"$tmpdir/library.syms"
comm -13 "$tmpdir/baseline.syms" "$tmpdir/library.syms" >"$tmpdir/added"
comm -23 "$tmpdir/baseline.syms" "$tmpdir/library.syms" >"$tmpdir/removed"
if [ -s "$tmpdir/added" ]; then
	echo "FAIL: exported but not in the ABI baseline:"
	sed 's/^/  + /' "$tmpdir/added"
	failed=1
fi
if [ -s "$tmpdir/removed" ]; then
	echo "FAIL: in the ABI baseline but no longer exported (incompatible):"
	sed 's/^/  - /' "$tmpdir/removed"
	failed=1
fi

dump "$tmpdir/current.abi"
rc=0
abidiff --no-show-locs "$baseline" "$tmpdir/current.abi" >"$tmpdir/abidiff.out" 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then
	failed=1
	if [ $((rc & 3)) -ne 0 ]; then
		echo "FAIL: abidiff could not compare (exit $rc):"
	elif [ $((rc & 8)) -ne 0 ]; then
		echo "FAIL: incompatible ABI change against the baseline (abidiff exit $rc):"
	else
		echo "FAIL: ABI changed against the baseline (abidiff exit $rc):"
	fi
	sed 's/^/  /' "$tmpdir/abidiff.out"
fi

if [ "$failed" -ne 0 ]; then
	cat <<-EOF

	An incompatible change must be undone. An intended addition (new symbols
	in a new or unreleased node of lib/libproccache.map) or a compatible change
	(a field appended to an opts struct) goes into the baseline:
	  $update_cmd && git diff abi/
	EOF
	exit 1
fi
echo "OK: ABI matches $baseline ($(wc -l <"$tmpdir/library.syms") symbols)"
