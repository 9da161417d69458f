#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Install the build into a temporary DESTDIR, then build tests/abi/consumer.c
# as an outside program would, with flags from the installed proccache.pc:
# once against libproccache.so, once statically against libproccache.a with
# `pkg-config --static` (which only links if Requires.private/Libs.private
# name every dependency), and run both.
#
#   check-install.sh BUILD_ROOT SOURCE_ROOT VERSION
#
# $CC is the compiler (default cc), $MESON the meson command (default meson).
set -euo pipefail

[ $# -eq 3 ] || { echo "usage: $0 BUILD_ROOT SOURCE_ROOT VERSION" >&2; exit 2; }
build_root=$1 source_root=$2 version=$3
read -r -a cc <<<"${CC:-cc}"
read -r -a meson <<<"${MESON:-meson}"
cflags=(-std=c11 -Wall -Wextra -Werror -pedantic)

tmpdir=$(mktemp -d)
trap 'rm -rf "$tmpdir"' EXIT
destdir=$tmpdir/root

step() { echo "== $*"; }
die() {
	echo "FAIL: $*"
	exit 1
}

# Lets meson install build what is missing: `meson test --suite abi` builds
# only what the selected tests depend on. Safe since this test runs alone.
step "meson install --destdir $destdir"
"${meson[@]}" install -C "$build_root" --quiet --destdir "$destdir" >"$tmpdir/install.log" 2>&1 ||
	{ cat "$tmpdir/install.log"; die "meson install failed"; }

mapfile -t pcs < <(find "$destdir" -path '*/pkgconfig/proccache.pc')
[ ${#pcs[@]} -eq 1 ] || die "expected one installed proccache.pc, found ${#pcs[@]}"
echo "   ${pcs[0]#"$destdir"}"

# The sysroot makes pkg-config prefix -I/-L with the DESTDIR; the ALLOW
# variables keep it from dropping our own dirs when the prefix is /usr.
export PKG_CONFIG_PATH=${pcs[0]%/*}
export PKG_CONFIG_SYSROOT_DIR=$destdir
export PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1
pc() { pkg-config "$@" proccache; }
# A directory variable of proccache.pc, under the DESTDIR (pkgconf already
# applies the sysroot to variables, pkg-config 0.29 does not).
pc_dir() {
	local dir
	dir=$(pc --variable="$1")
	case $dir in "$destdir"/*) echo "$dir" ;; *) echo "$destdir$dir" ;; esac
}

step "pkg-config proccache"
pc --exists --print-errors || die "pkg-config cannot use the installed proccache.pc"
[ "$(pc --modversion)" = "$version" ] || die "proccache.pc says version $(pc --modversion), project is $version"
libdir=$(pc_dir libdir)
includedir=$(pc_dir includedir)
echo "   cflags: $(pc --cflags)"
echo "   libs: $(pc --libs)"
echo "   static libs: $(pc --static --libs)"

step "installed files"
for f in libproccache.so libproccache.so.1 "libproccache.so.$version" libproccache.a; do
	[ -e "$libdir/$f" ] || die "$f is not installed in ${libdir#"$destdir"}"
done
soname=$(readelf -d "$libdir/libproccache.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libproccache.so.1 ] || die "SONAME is '$soname', expected libproccache.so.1"
(cd "$source_root/include/proccache" && ls -- *.h) >"$tmpdir/source.h"
(cd "$includedir/proccache" 2>/dev/null && ls -- *.h) >"$tmpdir/installed.h" || true
diff -u "$tmpdir/source.h" "$tmpdir/installed.h" >"$tmpdir/headers.diff" ||
	{ cat "$tmpdir/headers.diff"; die "installed headers differ from include/proccache (- missing, + extra)"; }
echo "   $(wc -l <"$tmpdir/installed.h") headers, libproccache.so ($soname) and libproccache.a"

consumer=$source_root/tests/abi/consumer.c

step "consumer against libproccache.so"
read -r -a flags <<<"$(pc --cflags --libs)"
"${cc[@]}" "${cflags[@]}" "$consumer" "${flags[@]}" -o "$tmpdir/consumer-shared" ||
	die "the consumer does not build with: ${cc[*]} ${cflags[*]} consumer.c ${flags[*]}"
readelf -d "$tmpdir/consumer-shared" | grep -q 'NEEDED.*\[libproccache\.so\.1\]' ||
	die "consumer-shared does not need libproccache.so.1"
LD_LIBRARY_PATH=$libdir "$tmpdir/consumer-shared" || die "consumer-shared failed"

step "consumer against libproccache.a (pkg-config --static)"
read -r -a flags <<<"$(pc --static --cflags --libs)"
for i in "${!flags[@]}"; do
	[ "${flags[$i]}" = -lproccache ] && flags[i]=-l:libproccache.a
done
"${cc[@]}" "${cflags[@]}" "$consumer" "${flags[@]}" -o "$tmpdir/consumer-static" ||
	die "the consumer does not link statically with: ${cc[*]} ${cflags[*]} consumer.c ${flags[*]}"
if readelf -d "$tmpdir/consumer-static" | grep -q 'NEEDED.*libproccache'; then
	die "consumer-static still needs libproccache.so"
fi
"$tmpdir/consumer-static" || die "consumer-static failed"

echo "OK: installed proccache $version builds and runs a consumer, shared and static"
