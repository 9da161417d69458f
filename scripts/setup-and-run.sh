#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Set up a fresh Debian 12 machine and start the live process monitor:
#
#   scripts/setup-and-run.sh [proccache-snoop arguments...]
#   scripts/setup-and-run.sh --json > events.jsonl
#
# Installs the packages (root or sudo), builds in build/, and runs
# proccache-snoop as root: loading the BPF sensor needs privileges.
# Everything but the events goes to stderr: the package manager's and the
# build's output, and the snoop's own messages. stdout holds events only.
set -euo pipefail

cd "$(dirname "$0")/.."
{
	bash scripts/install-deps.sh
	[ -f build/build.ninja ] || meson setup build
	meson compile -C build
} >&2

snoop=build/examples/proccache-snoop/proccache-snoop
[ -x "$snoop" ] || { echo "$snoop was not built; is examples/proccache-snoop there?" >&2; exit 1; }
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
exec "${as_root[@]}" "$snoop" "$@"
