#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Set up a fresh Debian 12 machine and start the live process monitor:
#
#   scripts/setup-and-run.sh [proccache-snoop arguments...]
#
# Installs the packages (root or sudo), builds in build/, and runs
# proccache-snoop as root: loading the BPF sensor needs privileges.
set -euo pipefail

cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build
meson compile -C build

snoop=build/examples/proccache-snoop/proccache-snoop
[ -x "$snoop" ] || { echo "$snoop was not built; is examples/proccache-snoop there?" >&2; exit 1; }
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
exec "${as_root[@]}" "$snoop" "$@"
