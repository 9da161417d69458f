#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The schema checker itself: hand-made lines it must accept, and one bad
line per rule it must reject, naming the path. Each case is a row; a
failure names it. Exit 0 when every row holds."""

import copy
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check  # noqa: E402

PROCESS = {
    "exec_id": "bm9kZTE6MTg2NzI0OTQxNDk3MToyODczNA==", "pid": 28734, "uid": 0,
    "cwd": "/tmp", "binary": "/usr/bin/echo", "arguments": "hi",
    "flags": "execve clone", "start_time": "2026-11-23T05:48:51.661321131Z",
    "auid": 4294967295, "parent_exec_id": "bm9kZTE6MToy", "refcnt": 1,
    "cap": {"permitted": ["CAP_CHOWN", "DAC_OVERRIDE"], "effective": ["CAP_CHOWN"]},
    "ns": {"uts": {"inum": 4026531838, "is_host": True}},
    "tid": 28734,
    "process_credentials": {"uid": 0, "gid": 0, "euid": 0, "egid": 0, "suid": 0,
                            "sgid": 0, "fsuid": 0, "fsgid": 0},
    "binary_properties": {"file": {"inode": {"number": "247304", "links": 0}},
                          "privileges_changed": ["PRIVILEGES_RAISED_EXEC_FILE_SETUID"]},
    "user": {"name": "root"}, "in_init_tree": False,
}
TETRAGON = {"process_exec": {"process": PROCESS, "parent": PROCESS, "ancestors": [PROCESS]},
            "node_name": "node1", "time": "2026-11-23T05:48:51.665Z"}
EXIT = {"process_exit": {"process": PROCESS, "signal": "SIGKILL", "status": 3,
                         "time": "2026-11-23T05:48:51Z"},
        "node_name": "node1", "time": "2026-11-23T05:48:51.665718Z"}

ECS = {
    "@timestamp": "2026-11-23T05:48:51.665718659Z", "ecs": {"version": "9.4.0"},
    "event": {"kind": "event", "category": ["process"], "type": ["start"], "action": "exec"},
    "host": {"name": "node1", "os": {"type": "linux"}},
    "process": {"pid": 1, "entity_id": "x", "args": ["/bin/echo", "hi"], "args_count": 2,
                "user": {"id": "0", "name": "root"},
                "thread": {"id": 1, "capabilities": {"effective": ["CAP_CHOWN", "41"]}},
                "parent": {"pid": 0, "start": "2026-11-23T05:48:51+01:00"}},
}


def edit(doc, path, value=None, delete=False):
    """A copy of doc with path ("a.b.0.c") set to value, or deleted."""
    doc = copy.deepcopy(doc)
    keys = path.split(".")
    node = doc
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node[k]
    last = int(keys[-1]) if isinstance(node, list) else keys[-1]
    if delete:
        del node[last]
    else:
        node[last] = value
    return doc


P = "process_exec.process."
# (name, format, document or raw bytes, the path an error must name or None)
CASES = [
    ("tetragon exec passes", "tetragon", TETRAGON, None),
    ("tetragon exit passes", "tetragon", EXIT, None),
    ("camelCase names pass", "tetragon",
     {"processExec": {"process": {"execId": "a", "startTime": "2026-01-01T00:00:00Z",
                                  "inInitTree": True}}, "nodeName": "n"}, None),
    ("unknown field", "tetragon", edit(TETRAGON, P + "args", ["a"]), P + "args"),
    ("unknown event kind", "tetragon", {"process_clone": {}, "node_name": "n"}, "process_clone"),
    ("no event", "tetragon", {"node_name": "n"}, "(top)"),
    ("two events", "tetragon", dict(TETRAGON, process_exit=EXIT["process_exit"]), "(top)"),
    ("kernel capability name", "tetragon",
     edit(TETRAGON, P + "cap.permitted.1", "CAP_DAC_OVERRIDE"), P + "cap.permitted[1]"),
    ("enum by number", "tetragon", edit(TETRAGON, P + "cap.permitted.1", 1), P + "cap.permitted[1]"),
    ("bad privileges enum", "tetragon",
     edit(TETRAGON, P + "binary_properties.privileges_changed.0", "SETUID"),
     P + "binary_properties.privileges_changed[0]"),
    ("uint32 as string", "tetragon", edit(TETRAGON, P + "refcnt", "1"), P + "refcnt"),
    ("uint32 out of range", "tetragon", edit(TETRAGON, P + "ns.uts.inum", 2**32), P + "ns.uts.inum"),
    ("uint64 as number", "tetragon",
     edit(TETRAGON, P + "binary_properties.file.inode.number", 247304),
     P + "binary_properties.file.inode.number"),
    ("wrapper as object", "tetragon", edit(TETRAGON, P + "pid", {"value": 1}), P + "pid"),
    ("bool wrapper as string", "tetragon", edit(TETRAGON, P + "in_init_tree", "false"),
     P + "in_init_tree"),
    ("timestamp with offset", "tetragon",
     edit(TETRAGON, P + "start_time", "2026-11-23T05:48:51+00:00"), P + "start_time"),
    ("timestamp with 4 digits", "tetragon",
     edit(TETRAGON, "time", "2026-11-23T05:48:51.1234Z"), "time"),
    ("timestamp not a date", "tetragon", edit(TETRAGON, "time", "2026-02-30T00:00:00Z"), "time"),
    ("empty string written", "tetragon", edit(TETRAGON, P + "cwd", ""), P + "cwd"),
    ("zero uint32 written", "tetragon", edit(EXIT, "process_exit.status", 0),
     "process_exit.status"),
    ("empty array written", "tetragon", edit(TETRAGON, P + "cap.inheritable", []),
     P + "cap.inheritable"),
    ("null written", "tetragon", edit(TETRAGON, P + "docker", None), P + "docker"),
    ("name written twice", "tetragon", edit(TETRAGON, P + "execId", "x"), P + "execId"),
    ("ancestors not an array", "tetragon", edit(TETRAGON, "process_exec.ancestors", PROCESS),
     "process_exec.ancestors"),
    ("extension fields pass with the extension schema", "tetragon-ext",
     {"process_clone": {"process": edit(PROCESS, "args", ["a b"])}, "node_name": "n"}, None),
    ("lost passes with the extension schema", "tetragon-ext",
     {"lost": {"count": "12"}, "node_name": "n"}, None),
    ("ecs passes", "ecs", ECS, None),
    ("ecs dotted keys pass", "ecs", edit(ECS, "process.parent", None, delete=True) | {
        "process.parent.pid": 3}, None),
    ("ecs unknown field", "ecs", edit(ECS, "process.ppid", 1), "process.ppid"),
    ("ecs unknown set", "ecs", edit(ECS, "tetragon", {"a": 1}), "tetragon"),
    ("ecs keyword id as number", "ecs", edit(ECS, "process.user.id", 0), "process.user.id"),
    ("ecs long as string", "ecs", edit(ECS, "process.pid", "1"), "process.pid"),
    ("ecs long as float", "ecs", edit(ECS, "process.args_count", 2.5), "process.args_count"),
    ("ecs bad date", "ecs", edit(ECS, "@timestamp", "yesterday"), "@timestamp"),
    ("ecs empty argument passes", "ecs",
     edit(ECS, "process.args", ["/bin/sh", "", "x"]), None),
    ("ecs empty string in another array", "ecs",
     edit(ECS, "event.category", [""]), "event.category[0]"),
    ("ecs empty scalar", "ecs", edit(ECS, "process.name", ""), "process.name"),
    ("ecs array field as scalar", "ecs", edit(ECS, "process.args", "/bin/echo"), "process.args"),
    ("ecs scalar field as array", "ecs", edit(ECS, "process.name", ["echo"]), "process.name"),
    ("ecs bad kind", "ecs", edit(ECS, "event.kind", "process"), "event.kind"),
    ("ecs bad category", "ecs", edit(ECS, "event.category", ["processes"]), "event.category[0]"),
    ("ecs bad type", "ecs", edit(ECS, "event.type", ["exec"]), "event.type[0]"),
    ("ecs type not expected for category", "ecs", edit(ECS, "event.type", ["creation"]),
     "event.type"),
    ("ecs capability pattern", "ecs",
     edit(ECS, "process.thread.capabilities.effective", ["chown"]),
     "process.thread.capabilities.effective[0]"),
    ("ecs required field", "ecs", edit(ECS, "ecs", None, delete=True), "ecs.version"),
    ("ecs object where a value is", "ecs", edit(ECS, "process.name", {"a": 1}), "process.name"),
    ("duplicate keys", "ecs", b'{"@timestamp":"2026-01-01T00:00:00Z","ecs":{"version":"1"},'
     b'"ecs":{"version":"1"}}\n', "(top)"),
    ("invalid UTF-8", "tetragon", b'{"node_name":"\xff"}\n', "(top)"),
    ("NaN", "ecs", b'{"process":{"pid":NaN}}\n', "(top)"),
    ("no final newline", "tetragon", json.dumps(TETRAGON).encode(), "(top)"),
]


def run_case(fmt, doc):
    data = doc if isinstance(doc, bytes) else (json.dumps(doc) + "\n").encode()
    errors = check.Errors()
    check.check_data(fmt, data, errors)
    return errors.items


def main():
    failed = 0
    for name, fmt, doc, want_path in CASES:
        items = run_case(fmt, doc)
        if want_path is None:
            ok = not items
        else:
            ok = any(": %s: " % want_path in item for item in items)
        if not ok:
            failed += 1
            print("FAIL %s: %s" % (name, items or "no error"), file=sys.stderr)
    print("test_check.py: %d cases, %d failed" % (len(CASES), failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
