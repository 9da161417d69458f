#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Check what `proccache-snoop --json --ancestors` wrote while tests/test_snoop.c
ran a known process tree. Exit 0 when every check holds, else print each
failure and exit 1."""

import argparse
import base64
import json
import re
import sys

RFC3339_NANOS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
PROCESS_KEYS = ("exec_id", "pid", "tid", "uid", "auid", "cwd", "binary",
                "arguments", "flags", "start_time", "process_credentials",
                "cap", "args")
CREDS = ("uid", "gid", "euid", "egid", "suid", "sgid", "fsuid", "fsgid")
WANT_ARGS = ["a b", 'q"t', "\u00ff"]
WANT_ARGUMENTS = '"a b" q"t \u00ff'
# The invalid byte 0xff, exactly as the snoop must escape it on the wire.
WANT_RAW_ARGS = b'"args":["a b","q\\"t","\\u00ff"]'

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


def load(path):
    """Every line must be strict JSON in valid UTF-8 (no NaN, no raw
    control characters, no duplicate keys)."""
    events = []
    raws = []

    def no_constants(name):
        raise ValueError("non-standard constant " + name)

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise ValueError("duplicate key in " + repr(keys))
        return dict(pairs)

    with open(path, "rb") as f:
        data = f.read()
    check(data.endswith(b"\n"), "output does not end with a newline")
    for n, raw in enumerate(data.splitlines(), 1):
        try:
            text = raw.decode("utf-8", errors="strict")
            ev = json.loads(text, parse_constant=no_constants,
                            object_pairs_hook=no_duplicates)
        except ValueError as e:
            failures.append("line %d is not valid JSON: %s: %r" % (n, e, raw[:200]))
            continue
        if not check(isinstance(ev, dict), "line %d is not an object" % n):
            continue
        events.append(ev)
        raws.append(raw)
    return events, raws


def check_process(p, where):
    for k in PROCESS_KEYS:
        check(k in p, "%s: no %s" % (where, k))
    if "start_time" in p:
        check(RFC3339_NANOS.match(p["start_time"]),
              "%s: start_time %r is not RFC 3339 with ns" % (where, p["start_time"]))
    for k in CREDS:
        check(k in p.get("process_credentials", {}),
              "%s: process_credentials without %s" % (where, k))
    for k in ("permitted", "effective", "inheritable"):
        check(isinstance(p.get("cap", {}).get(k), list),
              "%s: cap.%s is not a list" % (where, k))
    check(isinstance(p.get("args"), list), "%s: args is not a list" % where)


def check_exec_id(exec_id, node, where):
    """base64 of "<node>:<ktime>:<pid>", the form Tetragon uses."""
    try:
        parts = base64.b64decode(exec_id, validate=True).decode().split(":")
    except ValueError:
        parts = []
    check(len(parts) == 3 and parts[0] == node and parts[1].isdigit() and parts[2].isdigit(),
          "%s: exec_id %r is not base64 of %s:<ktime>:<pid>" % (where, exec_id, node))


def check_envelope(ev, n, node):
    kinds = [k for k in ev if k not in ("node_name", "time")]
    check(len(kinds) == 1, "event %d has kinds %r" % (n, kinds))
    check(ev.get("node_name") == node,
          "event %d: node_name %r, want %r" % (n, ev.get("node_name"), node))
    check(RFC3339_NANOS.match(ev.get("time", "")),
          "event %d: time %r is not RFC 3339 with ns" % (n, ev.get("time")))
    kind = kinds[0] if kinds else None
    if kind == "lost":
        check(isinstance(ev["lost"].get("count"), int), "lost without count")
        return
    check(kind in ("process_exec", "process_clone", "process_exit"),
          "event %d: unknown kind %r" % (n, kind))
    body = ev.get(kind, {})
    check_process(body.get("process", {}), "event %d process" % n)
    check_exec_id(body.get("process", {}).get("exec_id", ""), node, "event %d" % n)
    if "parent" in body:
        check_process(body["parent"], "event %d parent" % n)
        check(body["process"].get("parent_exec_id") == body["parent"].get("exec_id"),
              "event %d: parent_exec_id is not the parent's exec_id" % n)
    check(isinstance(body.get("ancestors"), list),
          "event %d: --ancestors given but no ancestors list" % n)


def find(events, kind, pid, binary=None):
    found = []
    for ev in events:
        body = ev.get(kind)
        if not body or body["process"].get("pid") != pid:
            continue
        if binary is not None and body["process"].get("binary") != binary:
            continue
        found.append(body)
    return found


def lineage(body):
    """The parent followed by Tetragon's ancestors (beyond the parent)."""
    return ([body["parent"]] if "parent" in body else []) + body.get("ancestors", [])


def check_echo(events, raws, args, pid, direct):
    name = "echo pid %d" % pid
    execs = find(events, "process_exec", pid, args.echo_binary)
    if not check(len(execs) == 1, "%s: %d exec events of %s" % (name, len(execs), args.echo_binary)):
        return
    body = execs[0]
    p = body["process"]
    check(p["arguments"] == WANT_ARGUMENTS, "%s: arguments %r" % (name, p["arguments"]))
    check(p["args"] == WANT_ARGS, "%s: args %r" % (name, p["args"]))
    check("execve" in p["flags"].split(), "%s: flags %r" % (name, p["flags"]))
    check(p["tid"] == pid, "%s: tid %r" % (name, p["tid"]))
    chain = lineage(body)
    pids = [a.get("pid") for a in chain]
    if direct:
        check(body.get("parent", {}).get("pid") == args.forker,
              "%s: parent pid %r, want the forker %d" %
              (name, body.get("parent", {}).get("pid"), args.forker))
    else:
        check(args.forker in pids, "%s: forker %d not in lineage %r" % (name, args.forker, pids))
    check(pids and pids[-1] == 1, "%s: lineage %r does not reach pid 1" % (name, pids))
    for a, b in zip(chain, chain[1:]):
        check(a.get("parent_exec_id") == b.get("exec_id"),
              "%s: ancestors are not a chain at pid %r" % (name, a.get("pid")))
    raw_hits = [r for r in raws if b'"process_exec"' in r and WANT_RAW_ARGS in r
                and (b'"pid":%d,' % pid) in r]
    check(raw_hits, "%s: args not escaped as %r" % (name, WANT_RAW_ARGS))


def check_exit(events, pid, status, signal):
    exits = find(events, "process_exit", pid)
    if not check(len(exits) == 1, "pid %d: %d exit events" % (pid, len(exits))):
        return
    body = exits[0]
    check(body.get("status") == status, "pid %d: status %r, want %d" % (pid, body.get("status"), status))
    if signal:
        check(body.get("signal") == signal, "pid %d: signal %r, want %s" % (pid, body.get("signal"), signal))
    else:
        check(body.get("signal", "") == "", "pid %d: signal %r, want none" % (pid, body.get("signal")))
    check(RFC3339_NANOS.match(body.get("time", "")), "pid %d: exit time %r" % (pid, body.get("time")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    for opt in ("forker", "echo", "sh_echo", "exit3", "killed"):
        ap.add_argument("--" + opt.replace("_", "-"), type=int, required=True)
    ap.add_argument("--echo-binary", required=True)
    ap.add_argument("--node-name", required=True)
    args = ap.parse_args()

    events, raws = load(args.path)
    for n, ev in enumerate(events, 1):
        check_envelope(ev, n, args.node_name)

    check_echo(events, raws, args, args.echo, direct=True)
    check_echo(events, raws, args, args.sh_echo, direct=False)
    shells = [b for b in find(events, "process_exec", args.sh_echo)
              if b["process"]["binary"] != args.echo_binary]
    check(shells, "pid %d: no exec of the shell before its re-exec" % args.sh_echo)

    clones = find(events, "process_clone", args.exit3)
    if check(len(clones) == 1, "pid %d: %d clone events" % (args.exit3, len(clones))):
        check(clones[0].get("parent", {}).get("pid") == args.forker,
              "pid %d: clone parent %r" % (args.exit3, clones[0].get("parent", {}).get("pid")))
    check_exit(events, args.echo, 0, None)
    check_exit(events, args.exit3, 3, None)
    check_exit(events, args.killed, 0, "SIGKILL")

    for f in failures[:50]:
        print("test_snoop.py: " + f, file=sys.stderr)
    if len(failures) > 50:
        print("test_snoop.py: ... and %d more" % (len(failures) - 50), file=sys.stderr)
    print("test_snoop.py: %d events, %d failures" % (len(events), len(failures)),
          file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
