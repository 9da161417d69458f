#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The library's module graph, derived from the code, checked against its
layers (docs/threading.md, "Layers").

Edges come from two sources:
  - every `#include "..."` of lib/*.c and lib/*.h (a module is a file stem:
    x.c and x.h are module x);
  - every call or data reference between the objects of the static
    library (`nm`: a symbol one object uses and another defines), when the
    library is given; this catches a call through a prototype declared
    where it should not be.
A module may use modules of its own layer or below. The check fails on an
edge that points upward, on a cycle among modules, on a lib/ file missing
from the table below, and on a lib/ file over the size limit.

usage: module_graph.py LIBDIR [LIBPROCCACHE.a]
       module_graph.py --self-test
"""
import os
import re
import subprocess
import sys

# Top to bottom; each module uses only those in its layer or below.
LAYERS = [
    ("facade", ["proccache"]),
    ("sensor runner", ["sensor"]),
    ("backends and reconciliation",
     ["sensor_bpf", "sensor_netlink", "netlink_events", "netlink_settle",
      "netlink_wire",
      "sensor_backend", "reconcile"]),
    ("ingest", ["ingest", "ingest_creds", "ingest_fields", "pending", "labels", "context"]),
    ("cache, subscriptions, records, stats",
     ["cache", "subscribe", "process", "stats", "waitmap", "borrow",
      "tags", "query"]),
    ("leaves",
     ["procfs", "procfs_read", "procfs_scan", "procfs_parse", "execid",
      "format", "log", "clock", "opts", "users", "redact", "env"]),
]

# Headers from outside lib/ that a module may include, and whose module
# they count as: the generated BPF skeleton and the kernel/user record
# layout belong to the BPF backend; the public header to nobody.
EXTERNAL = {
    "proccache.skel.h": "sensor_bpf",
    "../bpf/events.h": "sensor_bpf",
    "proccache/proccache.h": None,
    "proccache/sensor.h": None,
}

# Lines a lib/ file may have (STYLE.md: well under 800), and the files
# known to be over it, each with the issue that splits it.
MAX_LINES = 800
KNOWN_LONG = {
}

# Files that are a part of another module, split from it for size: one
# module to the graph (the cache's pid history needs its hash-set and
# epoch helpers, and the cache keeps it current).
PARTS = {
    "past": "cache",
    "attrs": "cache",
    "procfs_file": "procfs_read",
    "tags_json": "tags",
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of():
    rank = {}
    for depth, (_, mods) in enumerate(LAYERS):
        for m in mods:
            rank[m] = len(LAYERS) - depth
    return rank


def include_edges(libdir):
    """(from, to, why) for every quoted include; plus files not in the table."""
    edges, unknown, too_long = [], [], []
    rank = layer_of()
    for name in sorted(os.listdir(libdir)):
        if not name.endswith((".c", ".h")):
            continue
        mod = PARTS.get(name.rsplit(".", 1)[0], name.rsplit(".", 1)[0])
        with open(os.path.join(libdir, name), encoding="utf-8") as f:
            text = f.read()
        if mod not in rank:
            unknown.append(name)
            continue
        lines = text.count("\n")
        if lines > MAX_LINES and name not in KNOWN_LONG:
            too_long.append(f"{name}: {lines} lines")
        for inc in INCLUDE.findall(text):
            if inc in EXTERNAL:
                to = EXTERNAL[inc]
            else:
                to = os.path.basename(inc).rsplit(".", 1)[0]
                to = PARTS.get(to, to)
                if not os.path.exists(os.path.join(libdir, inc)):
                    unknown.append(f"{name} includes {inc}")
                    continue
            if to and to != mod:
                edges.append((mod, to, f"{name} includes \"{inc}\""))
    return edges, unknown, too_long


def symbol_edges(archive):
    """(from, to, why) for every symbol one object uses and another defines."""
    out = subprocess.run(["nm", "-A", archive], check=True,
                         capture_output=True, text=True).stdout
    defined, used = {}, []
    for line in out.splitlines():
        # archive:member.c.o:ADDR T sym   or   archive:member.c.o:  U sym
        parts = line.rsplit(":", 1)
        if len(parts) != 2:
            continue
        member = parts[0].rsplit(":", 1)[-1]
        mod = member[:-len(".c.o")] if member.endswith(".c.o") else member
        mod = PARTS.get(mod, mod)
        fields = parts[1].split()
        if len(fields) == 2 and fields[0] == "U":
            used.append((mod, fields[1]))
        elif len(fields) == 3 and fields[1] in "TDBR" and fields[1].isupper():
            defined[fields[2]] = mod
    edges = []
    for mod, sym in used:
        to = defined.get(sym)
        if to and to != mod:
            edges.append((mod, to, f"{mod}.c uses {sym}()"))
    return edges


def upward(edges, rank):
    bad = []
    for a, b, why in edges:
        if a not in rank or b not in rank:
            bad.append(f"{why}: {a if a not in rank else b} is in no layer")
        elif rank[b] > rank[a]:
            bad.append(f"{why}: {a} ({LAYERS[len(LAYERS) - rank[a]][0]}) "
                       f"uses {b} ({LAYERS[len(LAYERS) - rank[b]][0]}), "
                       "a layer above it")
    return bad


def cycles(edges):
    """Every strongly connected component of more than one module
    (Tarjan), each as a sorted list."""
    graph = {}
    for a, b, _ in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index, low, stack, on, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def check(edges, unknown=(), too_long=()):
    rank = layer_of()
    problems = [f"not in the layer table of tests/module_graph.py: {u}"
                for u in unknown]
    problems += [f"over {MAX_LINES} lines: {t}" for t in too_long]
    problems += [f"upward edge: {p}" for p in upward(edges, rank)]
    for comp in cycles(edges):
        whys = [why for a, b, why in edges if a in comp and b in comp]
        problems.append("cycle among " + ", ".join(comp) + ": " +
                        "; ".join(sorted(set(whys))))
    return problems


def self_test():
    """The check must be able to fail: a graph with one upward edge and one
    cycle is rejected for both, a clean one is not."""
    clean = [("sensor", "reconcile", "x"), ("reconcile", "ingest", "x"),
             ("ingest", "cache", "x"), ("cache", "clock", "x"),
             ("sensor_netlink", "netlink_settle", "x")]
    assert check(clean) == [], check(clean)
    up = clean + [("cache", "sensor", "cache.c includes \"sensor.h\"")]
    p = check(up)
    assert any(s.startswith("upward edge: cache.c includes") for s in p), p
    cyc = clean + [("netlink_settle", "sensor_netlink", "y")]
    p = check(cyc)
    assert any(s.startswith("cycle among netlink_settle, sensor_netlink")
               for s in p), p
    assert check(clean, unknown=["new.c"]) != []
    print("module_graph self-test: an upward edge, a cycle and an unknown "
          "file are each rejected")
    return 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    edges, unknown, too_long = include_edges(argv[1])
    n_inc = len(edges)
    if len(argv) == 3:
        edges += symbol_edges(argv[2])
    problems = check(edges, unknown, too_long)
    for p in problems:
        print(p)
    mods = {m for a, b, _ in edges for m in (a, b) if m}
    print(f"module graph: {len(mods)} modules, {n_inc} include edges, "
          f"{len(edges) - n_inc} symbol edges, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
