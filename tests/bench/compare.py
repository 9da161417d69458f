#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Compare the cache's ingest and lookup figures of two builds, alternating.

    tests/bench/compare.py OLD_BUILD NEW_BUILD [--runs N] [--rounds R]

Runs bench_ingest and bench_lookup of each build dir (built optimised, e.g.
`meson setup build-release --buildtype=release`) N times (default 3), in
the order old, new, new, old, old, new, ... so that a drift of the machine
falls on both alike, and prints the median of each figure per build and the
ratio new / old (above 1 means new is better, for times too).

Each figure is taken as printed and also divided by the rwlock table's
figure of the same run (the "relative" columns): the table's code is the
same in both builds, so it measures how fast the machine was during that
run. On a shared machine the relative ratio is the one to read.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

# (name, benchmark, regex over its output, cache group, table group,
#  higher is better)
FIGURES = [
    ("ingest, events/s", "bench_ingest",
     r"^ingest, events/s \(fork/exec/exit[^)]*\)\s+(\d+)\s+(\d+)", 1, 2, True),
    ("lookup by key + unref, ns", "bench_ingest",
     r"^lookup by key \+ unref, ns/call\s+([\d.]+)\s+([\d.]+)", 1, 2, False),
    ("lookup by exec ID + unref, ns", "bench_ingest",
     r"^lookup by exec ID \+ unref, ns/call\s+([\d.]+)\s+([\d.]+)", 1, 2,
     False),
    ("ancestors(8) + unrefs, ns", "bench_ingest",
     r"^ancestors\(depth 8\) \+ 8 unrefs, ns/call\s+([\d.]+)\s+([\d.]+)", 1,
     2, False),
]
# bench_lookup: the lock-free and rwlock rows of the per-CPU-second table
# (the wall-clock one mixes in CPU sharing with the writer).
LOOKUP_COLUMNS = ["no writer", "paced writer", "full-speed writer"]


def run(build, bench, rounds):
    path = os.path.join(build, "tests", "bench", bench)
    env = dict(os.environ, MALLOC_PERTURB_="0",
               PROCCACHE_BENCH_ROUNDS=str(rounds))
    out = subprocess.run([path], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, check=True)
    return out.stdout


def parse_ingest(text):
    got = {}
    for name, _, rx, cg, tg, _ in FIGURES:
        m = re.search(rx, text, re.M)
        if not m:
            sys.exit(f"compare: no '{name}' in bench_ingest's output")
        got[name] = (float(m.group(cg)), float(m.group(tg)))
    return got


def parse_lookup(text):
    part = text.split("lookups per second of one reader's CPU time", 1)
    if len(part) != 2:
        sys.exit("compare: no per-CPU-second table in bench_lookup's output")

    def row(label):
        m = re.search(r"^" + re.escape(label) + r"\s*\|(.*)$", part[1], re.M)
        if not m:
            sys.exit(f"compare: no '{label}' row in bench_lookup's output")
        return [float(v) for v in re.findall(r"\d+", m.group(1))[:3]]

    cache, table = row("proccache (lock-free)"), row("rwlock table")
    return {f"exec ID lookups/s per CPU s, {c}": (cache[i], table[i])
            for i, c in enumerate(LOOKUP_COLUMNS)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3,
                    help="PROCCACHE_BENCH_ROUNDS of each run")
    ap.add_argument("--only", choices=["ingest", "lookup"],
                    help="run only bench_ingest or only bench_lookup")
    args = ap.parse_args()

    higher = {f[0]: f[5] for f in FIGURES}
    for c in LOOKUP_COLUMNS:
        higher[f"exec ID lookups/s per CPU s, {c}"] = True
    samples = {"old": {}, "new": {}}
    order = []
    for i in range(args.runs):
        order += [("old", "new"), ("new", "old")][i % 2]
    for n, which in enumerate(order):
        build = args.old if which == "old" else args.new
        figs = {}
        if args.only != "lookup":
            figs.update(parse_ingest(run(build, "bench_ingest", args.rounds)))
        if args.only != "ingest":
            figs.update(parse_lookup(run(build, "bench_lookup", args.rounds)))
        for k, v in figs.items():
            samples[which].setdefault(k, []).append(v)
        print(f"run {n + 1}/{len(order)}: {which} done", file=sys.stderr)

    print(f"old: {args.old}\nnew: {args.new}\n"
          f"{args.runs} runs each, alternated; medians; ratio new/old, "
          "above 1: new is better")
    print(f"{'figure':44} {'old':>10} {'new':>10} {'ratio':>7}"
          f" {'relative':>9}   relative, each run: old | new")
    for k in samples["old"]:
        o = [c for c, _ in samples["old"][k]]
        w = [c for c, _ in samples["new"][k]]
        ro = [c / t for c, t in samples["old"][k]]
        rw = [c / t for c, t in samples["new"][k]]
        mo, mw = statistics.median(o), statistics.median(w)
        qo, qw = statistics.median(ro), statistics.median(rw)
        if higher[k]:
            ratio, rel = mw / mo, qw / qo
        else:
            ratio, rel = mo / mw, qo / qw
        runs = " ".join(f"{v:.3g}" for v in ro) + " | " + \
            " ".join(f"{v:.3g}" for v in rw)
        print(f"{k:44} {mo:10.1f} {mw:10.1f} {ratio:6.3f}x {rel:8.3f}x   "
              + runs)
    print("(relative: each figure divided by the rwlock table's of the same "
          "run first)")


if __name__ == "__main__":
    main()
