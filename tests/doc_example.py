#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Compile and run the first ```c block of a documentation page against the
library just built, and check its output has each expected line.

    doc_example.py PAGE.md INCLUDE_DIR LIB_DIR CC [EXPECTED]...
"""
import os
import re
import subprocess
import sys
import tempfile


def main():
    page, include, libdir, cc, *expected = sys.argv[1:]
    text = open(page).read()
    m = re.search(r"```c\n(.*?)```", text, re.S)
    if not m:
        print("%s: no C example" % page)
        return 1
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "example.c")
        exe = os.path.join(d, "example")
        with open(src, "w") as f:
            f.write(m.group(1))
        subprocess.run([*cc.split(), "-std=c11", "-Wall", "-Wextra", "-Werror",
                        "-I", include, src, "-L", libdir, "-lproccache",
                        "-o", exe], check=True)
        env = dict(os.environ, LD_LIBRARY_PATH=libdir)
        out = subprocess.run([exe], env=env, check=True, capture_output=True,
                             text=True).stdout
    print(out)
    missing = [e for e in expected if e not in out]
    for e in missing:
        print("missing from the output: %r" % e)
    print("%d passed, %d failed" % (len(expected) - len(missing), len(missing)))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
