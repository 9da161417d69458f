#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Public headers are self-contained C11 and leak no CK, libbpf or kernel types.
#
#   check-headers.sh INCLUDE_ROOT      (headers are INCLUDE_ROOT/proccache/*.h)
#
# For every header: it compiles alone, twice in a row, with -std=c11 -Wall
# -Wextra -Werror; it includes only <stddef.h>, <stdint.h>, <sys/types.h>
# and <proccache/...>; its text names no ck_ or bpf_ identifier and no
# linux/ or asm/ header; and nothing it pulls in comes from the CK, libbpf
# or kernel header trees. $CC is the compiler (default cc).
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 INCLUDE_ROOT" >&2; exit 2; }
root=$1
read -r -a cc <<<"${CC:-cc}"
cflags=(-std=c11 -Wall -Wextra -Werror -I "$root")

shopt -s nullglob
headers=("$root"/proccache/*.h)
[ ${#headers[@]} -gt 0 ] || { echo "FAIL: no headers in $root/proccache"; exit 1; }

tmpdir=$(mktemp -d)
trap 'rm -rf "$tmpdir"' EXIT

failed=0
fail() {
	echo "FAIL: $*"
	failed=1
}

for h in "${headers[@]}"; do
	name=proccache/$(basename "$h")
	src=$tmpdir/alone.c
	printf '#include <%s>\n#include <%s>\n' "$name" "$name" >"$src"
	if ! "${cc[@]}" "${cflags[@]}" -fsyntax-only "$src" 2>"$tmpdir/err"; then
		fail "$name does not compile alone with ${cflags[*]:0:4}:"
		sed 's/^/    /' "$tmpdir/err"
	fi

	while read -r inc; do
		case $inc in
		stddef.h | stdint.h | sys/types.h | proccache/*.h) ;;
		*) fail "$name includes <$inc>; public headers use only <stddef.h>, <stdint.h>, <sys/types.h> and <proccache/...>" ;;
		esac
	done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]\([^>"]*\)[>"].*/\1/p' "$h")

	if grep -nE '(^|[^A-Za-z0-9_])(ck_|bpf_)|(linux|asm)/' "$h" >"$tmpdir/hits"; then
		fail "$name mentions CK, libbpf or kernel names:"
		sed 's/^/    /' "$tmpdir/hits"
	fi

	if "${cc[@]}" "${cflags[@]}" -M "$src" 2>/dev/null |
		grep -oE '[^ ]*/(linux|asm|asm-generic|bpf)/[^ ]*|[^ ]*/ck[^/ ]*\.h' >"$tmpdir/deps"; then
		fail "$name pulls in CK, libbpf or kernel headers:"
		sed 's/^/    /' "$tmpdir/deps"
	fi
done

[ "$failed" -eq 0 ] || exit 1
echo "OK: ${#headers[@]} public headers are self-contained and leak nothing"
