#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Check that the symbols a shared library exports and its version script agree.

usage: check-symbols.py LIBRARY.so VERSION-SCRIPT [NM]

Fails (exit 1) when
  - a symbol is exported but not listed in the map, or listed but not exported;
  - an exported symbol lacks the proccache_ prefix or a version, or sits in
    another node than the map says;
  - the map is not a chain of PROCCACHE_<major>.<minor> nodes, each
    inheriting the one before, listing symbols by name (no wildcards);
  - `local: *;` does not appear exactly once.
"""

import re
import subprocess
import sys

PREFIX = "proccache_"
NODE_RE = re.compile(r"^PROCCACHE_[0-9]+\.[0-9]+$")
SYMBOL_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class MapError(Exception):
    pass


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"#[^\n]*", " ", text)


def tokenize(text):
    return re.findall(r"[{};:]|[^\s{};:]+", text)


def parse_map(text):
    """Return ({symbol: node}, [node names in order], count of `local: *;`)."""
    tokens = tokenize(strip_comments(text))
    symbols = {}
    nodes = []
    local_star = 0
    i = 0

    def expect(tok):
        nonlocal i
        if i >= len(tokens) or tokens[i] != tok:
            got = tokens[i] if i < len(tokens) else "end of file"
            raise MapError(f"expected '{tok}', got '{got}'")
        i += 1

    while i < len(tokens):
        node = tokens[i]
        if not NODE_RE.match(node):
            raise MapError(f"node '{node}' is not named PROCCACHE_<major>.<minor>")
        if node in nodes:
            raise MapError(f"node {node} defined twice")
        i += 1
        expect("{")
        section = None
        while i < len(tokens) and tokens[i] != "}":
            tok = tokens[i]
            if tok in ("global", "local") and i + 1 < len(tokens) and tokens[i + 1] == ":":
                section = tok
                i += 2
                continue
            i += 1
            expect(";")
            if section == "local":
                if tok != "*":
                    raise MapError(f"{node}: unexpected local entry '{tok}'")
                local_star += 1
            elif section == "global":
                if not SYMBOL_RE.match(tok):
                    raise MapError(f"{node}: '{tok}' is not a plain symbol name "
                                   "(list every symbol, no patterns)")
                if tok in symbols:
                    raise MapError(f"{tok} listed twice ({symbols[tok]} and {node})")
                symbols[tok] = node
            else:
                raise MapError(f"{node}: '{tok}' outside a global:/local: section")
        expect("}")
        parent = None
        if i < len(tokens) and tokens[i] != ";":
            parent = tokens[i]
            i += 1
        expect(";")
        want = nodes[-1] if nodes else None
        if parent != want:
            raise MapError(f"node {node} inherits {parent or 'nothing'}, "
                           f"expected {want or 'nothing'}")
        nodes.append(node)
    return symbols, nodes, local_star


def exported_symbols(nm, library):
    """Return ({symbol: version}, [raw lines without a default version])."""
    out = subprocess.run([nm, "-D", "--defined-only", "--with-symbol-versions", library],
                         check=True, capture_output=True, text=True).stdout
    exported = {}
    other = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 2:
            continue
        kind, name = fields[-2], fields[-1]
        if kind == "A" and "@" not in name and NODE_RE.match(name):
            continue  # the version definition itself
        if "@@" in name:
            sym, version = name.split("@@", 1)
            exported[sym] = version
        else:
            other.append(name)
    return exported, other


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    library, map_path = argv[1], argv[2]
    nm = argv[3] if len(argv) == 4 else "nm"

    with open(map_path, encoding="utf-8") as f:
        try:
            mapped, nodes, local_star = parse_map(f.read())
        except MapError as e:
            print(f"FAIL: {map_path}: {e}")
            return 1
    exported, unversioned = exported_symbols(nm, library)

    problems = []
    if local_star != 1:
        problems.append(f"`local: *;` appears {local_star} times in the map, expected once")
    for name in unversioned:
        if "@" in name:
            sym, version = name.split("@", 1)
            if not sym.startswith(PREFIX) or version not in nodes:
                problems.append(f"compat symbol {name}: needs the {PREFIX} prefix "
                                "and a node of the map")
        else:
            problems.append(f"exported without a version: {name}")
    for sym in sorted(exported):
        if not sym.startswith(PREFIX):
            problems.append(f"exported without the {PREFIX} prefix: {sym}@@{exported[sym]}")
    for sym in sorted(set(exported) - set(mapped)):
        problems.append(f"exported but not in the map: {sym}@@{exported[sym]}")
    for sym in sorted(set(mapped) - set(exported)):
        problems.append(f"in the map ({mapped[sym]}) but not exported: {sym} "
                        "(missing PROCCACHE_API or definition?)")
    for sym in sorted(set(mapped) & set(exported)):
        if mapped[sym] != exported[sym]:
            problems.append(f"{sym}: exported as version {exported[sym]}, "
                            f"map says {mapped[sym]}")

    if problems:
        print(f"FAIL: {library} and {map_path} disagree:")
        for p in problems:
            print(f"  - {p}")
        return 1
    print(f"OK: {len(exported)} symbols exported, all in {map_path} "
          f"(nodes: {', '.join(nodes)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
