#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Check what proccache-snoop wrote while tests/test_snoop.c ran a known
process tree: the meaning of the fields, event by event, for one output
format. (Every line's schema is checked by tests/schema/check.py.) Exit 0
when every check holds, else print each failure and exit 1.

    test_snoop.py --format tetragon|tetragon-ext|ecs FILE --node-name N
        --forker PID --echo PID --sh-echo PID --exit3 PID --killed PID
        --killed-io PID --killed-rt PID --nobody PID
        --echo-binary PATH --sh-binary PATH [--ancestors] [--clone-flag-only]
        [--env]

--env: the snoop ran with --env-max and --redact 'TOKEN=*' while the tree
had TOKEN=<ENV_SECRET> in its environment: the echo's exec carries its
environment with TOKEN's value redacted, and the secret is nowhere in the
output. Without it no line may carry an environment (off by default).

--clone-flag-only checks just Tetragon's `clone` flag on the first exec after
a fork, which the ingest sets (PROCCACHE_F_EXEC_AFTER_CLONE); it is its own
test so that its state is visible on its own.
"""

import argparse
import base64
import pwd
import sys

WANT_ARGS = ["a b", 'q"t', "\u00ff"]
# Tetragon's ArgsDecoder: a quoted argument always gets a space before it,
# nothing inside is escaped.
WANT_ARGUMENTS = ' "a b" q"t \u00ff'
# The invalid byte 0xff as the snoop escapes it on the wire.
WANT_RAW_ARG = b'q\\"t \\u00ff'

# The value of TOKEN in the tree's environment (tests/test_snoop.c).
ENV_SECRET = b"snoop-env-secret"

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


def load(path):
    import json
    with open(path, "rb") as f:
        raws = f.read().splitlines()
    return [json.loads(r) for r in raws], raws


def exec_id_parts(exec_id):
    try:
        node, ktime, pid = base64.b64decode(exec_id, validate=True).decode().split(":")
        return node, int(ktime), int(pid)
    except ValueError:
        return None, None, None


# ---------------------------------------------------------------------------
# Tetragon
# ---------------------------------------------------------------------------

def bodies(events, kind, pid, binary=None):
    found = []
    for ev in events:
        body = ev.get(kind)
        if not body or body["process"].get("pid") != pid:
            continue
        if binary is not None and body["process"].get("binary") != binary:
            continue
        found.append(body)
    return found


def tetragon_process_rules(p, where, node):
    """What holds for every process object."""
    node_, _, pid = exec_id_parts(p.get("exec_id", ""))
    check(node_ == node and pid == p.get("pid"),
          "%s: exec_id %r is not base64 of %s:<ktime>:%s" % (where, p.get("exec_id"), node, p.get("pid")))
    creds = p.get("process_credentials", {})
    check(p.get("uid") == creds.get("euid"), "%s: uid %r is not the euid %r" %
          (where, p.get("uid"), creds.get("euid")))
    flags = p.get("flags", "").split()
    check(("inInitTree" in flags) == (p.get("in_init_tree") is True),
          "%s: flags %r disagree with in_init_tree %r" % (where, flags, p.get("in_init_tree")))
    check("in_init_tree" in p, "%s: no in_init_tree" % where)
    for s in ("permitted", "effective", "inheritable"):
        names = p.get("cap", {}).get(s, [])
        check("CAP_DAC_OVERRIDE" not in names, "%s: kernel name CAP_DAC_OVERRIDE in cap.%s" % (where, s))
    if "docker" in p:
        check(len(p["docker"]) == 31, "%s: docker %r is not 31 characters" % (where, p["docker"]))


def tetragon_lineage_rules(body, where, ancestors):
    parent = body.get("parent")
    if parent:
        check(body["process"].get("parent_exec_id") == parent.get("exec_id"),
              "%s: process.parent_exec_id is not parent.exec_id" % where)
    if not ancestors:
        check("ancestors" not in body, "%s: ancestors without --ancestors" % where)
        return
    chain = ([parent] if parent else []) + body.get("ancestors", [])
    for a, b in zip(chain, chain[1:]):
        check(a.get("parent_exec_id") == b.get("exec_id"),
              "%s: ancestors are not a chain at pid %r" % (where, a.get("pid")))
    if body.get("ancestors"):
        check(body["ancestors"][0].get("exec_id") != parent.get("exec_id"),
              "%s: ancestors repeat the parent" % where)


def check_tetragon(args, events, raws, ext):
    kinds = {"process_exec", "process_exit"} | ({"process_clone", "lost"} if ext else set())
    for n, ev in enumerate(events, 1):
        kind = [k for k in ev if k not in ("node_name", "time")]
        if not check(len(kind) == 1 and kind[0] in kinds, "line %d: event kinds %r" % (n, kind)):
            continue
        check(ev.get("node_name") == args.node_name, "line %d: node_name %r" % (n, ev.get("node_name")))
        body = ev[kind[0]]
        if kind[0] == "lost":
            continue
        for role in ("process", "parent"):
            if role in body:
                tetragon_process_rules(body[role], "line %d %s" % (n, role), args.node_name)
        for i, a in enumerate(body.get("ancestors", [])):
            tetragon_process_rules(a, "line %d ancestors[%d]" % (n, i), args.node_name)
        tetragon_lineage_rules(body, "line %d" % n, args.ancestors)
        check(ext or "args" not in body["process"],
              "line %d: args array written without --extensions" % n)

    # The direct child: fork + execv(/bin/echo).
    execs = bodies(events, "process_exec", args.echo, args.echo_binary)
    if check(len(execs) == 1, "echo %d: %d exec events" % (args.echo, len(execs))):
        body, p = execs[0], execs[0]["process"]
        check(p.get("arguments") == WANT_ARGUMENTS, "echo: arguments %r, want %r" %
              (p.get("arguments"), WANT_ARGUMENTS))
        check("execve" in p.get("flags", "").split(), "echo: flags %r" % p.get("flags"))
        check(p.get("tid") == args.echo, "echo: tid %r" % p.get("tid"))
        check(p.get("user") == {"name": "root"}, "echo: user %r, want root" % p.get("user"))
        check(p.get("in_init_tree") is True, "echo: in_init_tree %r" % p.get("in_init_tree"))
        check(p.get("refcnt") == 1, "echo: refcnt %r, want 1 (itself)" % p.get("refcnt"))
        check("DAC_OVERRIDE" in p.get("cap", {}).get("effective", []),
              "echo: DAC_OVERRIDE not among root's effective caps")
        parent = body.get("parent", {})
        check(parent.get("pid") == args.forker, "echo: parent pid %r, want %d" %
              (parent.get("pid"), args.forker))
        check(parent.get("refcnt", 0) >= 2, "echo: the forker's refcnt %r, want >= 2" %
              parent.get("refcnt"))
        if args.ancestors:
            chain = [parent] + body.get("ancestors", [])
            check(chain[-1].get("pid") in (1, 2), "echo: lineage ends at pid %r" % chain[-1].get("pid"))
        check(any(WANT_RAW_ARG in r and (b'"pid":%d,' % args.echo) in r for r in raws),
              "echo: 0xff not escaped as \\u00ff on the wire")
    # sh -c "exec /bin/echo ...": an exec without a clone; its parent is the
    # shell's image of the same pid, and it has no clone flag.
    execs = bodies(events, "process_exec", args.sh_echo, args.echo_binary)
    if check(len(execs) == 1, "sh-echo %d: %d echo exec events" % (args.sh_echo, len(execs))):
        p, parent = execs[0]["process"], execs[0].get("parent", {})
        check("clone" not in p.get("flags", "").split(),
              "sh-echo: clone flag on an exec without a clone: %r" % p.get("flags"))
        check(parent.get("pid") == args.sh_echo and parent.get("binary") == args.sh_binary,
              "sh-echo: parent %r %r, want the shell's image" % (parent.get("pid"), parent.get("binary")))
    # Exits: status left out when 0, signal only when killed, named as Go
    # names it (SIGIO, where glibc says POLL), none for a real-time signal.
    for pid, status, signal in ((args.echo, None, None), (args.exit3, 3, None),
                                (args.killed, None, "SIGKILL"), (args.killed_io, None, "SIGIO"),
                                (args.killed_rt, None, None)):
        exits = bodies(events, "process_exit", pid)
        if not check(len(exits) == 1, "pid %d: %d exit events" % (pid, len(exits))):
            continue
        check(exits[0].get("status") == status, "pid %d: status %r, want %r" %
              (pid, exits[0].get("status"), status))
        check(exits[0].get("signal") == signal, "pid %d: signal %r, want %r" %
              (pid, exits[0].get("signal"), signal))
        check("time" in exits[0], "pid %d: exit without time" % pid)
    exits = bodies(events, "process_exit", args.exit3)
    if exits:
        check("clone" in exits[0]["process"].get("flags", "").split(),
              "exit3: a fork that never exec'd has flags %r, want clone" % exits[0]["process"].get("flags"))
    check_tetragon_nobody(args, events)
    clones = bodies(events, "process_clone", args.exit3)
    if ext:
        if check(len(clones) == 1, "exit3: %d clone events with --extensions" % len(clones)):
            check(clones[0].get("parent", {}).get("pid") == args.forker, "exit3: clone parent %r" %
                  clones[0].get("parent", {}).get("pid"))
        execs = bodies(events, "process_exec", args.echo, args.echo_binary)
        if execs:
            check(execs[0]["process"].get("args") == WANT_ARGS, "echo: args %r" % execs[0]["process"].get("args"))
    else:
        check(not clones, "process_clone written without --extensions")


def nobody_name():
    try:
        return pwd.getpwuid(65534).pw_name
    except KeyError:
        return None


def check_tetragon_nobody(args, events):
    """A process without capabilities: no cap object (empty sets are left
    out), uid 65534, and a user name only if it is the database's."""
    execs = [b for b in bodies(events, "process_exec", args.nobody)
             if b["process"].get("uid") == 65534]
    if not check(len(execs) == 1, "nobody %d: %d execs as uid 65534" % (args.nobody, len(execs))):
        return
    p = execs[0]["process"]
    check("cap" not in p, "nobody: cap %r, want it left out" % p.get("cap"))
    for body in bodies(events, "process_exit", args.nobody):
        user = body["process"].get("user")
        check(user is None or user.get("name") == nobody_name(),
              "nobody: user %r, want %r or none" % (user, nobody_name()))


def check_clone_flag(args, events):
    """MERGE-DEPENDENT: Tetragon's clone flag on the first exec after a fork,
    from the ingest's PROCCACHE_F_EXEC_AFTER_CLONE."""
    for pid, binary in ((args.echo, args.echo_binary), (args.sh_echo, args.sh_binary)):
        execs = bodies(events, "process_exec", pid, binary)
        if check(len(execs) == 1, "pid %d: %d execs of %s" % (pid, len(execs), binary)):
            check("clone" in execs[0]["process"].get("flags", "").split(),
                  "CLONE-FLAG: the first exec after a fork (pid %d, %s) has flags %r, want clone "
                  "(set by the ingest: PROCCACHE_F_EXEC_AFTER_CLONE)" %
                  (pid, binary, execs[0]["process"].get("flags")))


# ---------------------------------------------------------------------------
# ECS
# ---------------------------------------------------------------------------

def docs_of(events, action, pid, executable=None):
    return [d for d in events if d.get("event", {}).get("action") == action
            and d.get("process", {}).get("pid") == pid
            and (executable is None or d["process"].get("executable") == executable)]


ENTRY_TYPES = {"init", "kthread", "sshd", "ssm", "container", "terminal", "console"}


def check_ecs_context(p, what):
    """The process context (docs/process-model.md): an entry leader of a
    known type, leaders named by consistent pids and entity ids."""
    el = p.get("entry_leader", {})
    check(el.get("entry_meta", {}).get("type") in ENTRY_TYPES,
          "%s: entry_leader.entry_meta %r" % (what, el.get("entry_meta")))
    for key in ("entry_leader", "session_leader"):
        if key in p:
            _, _, pid = exec_id_parts(p[key].get("entity_id", ""))
            check(pid == p[key].get("pid"), "%s: %s %r" % (what, key, p[key]))
    # Process group 0 is real (the descendants of an init that never called
    # setsid()): then group_leader is left out.
    check(p.get("group_leader", {"pid": 1}).get("pid", 0) > 0, "%s: group_leader %r" %
          (what, p.get("group_leader")))


def check_ecs(args, events):
    for n, d in enumerate(events, 1):
        ev, p = d.get("event", {}), d.get("process", {})
        check(d.get("host", {}).get("name") == args.node_name, "line %d: host.name %r" %
              (n, d.get("host", {}).get("name")))
        check(d.get("host", {}).get("os", {}).get("type") == "linux", "line %d: host.os.type" % n)
        want = {"exec": ["start"], "fork": ["start"], "end": ["end"]}.get(ev.get("action"))
        check(want is not None and ev.get("type") == want and ev.get("category") == ["process"]
              and ev.get("kind") == "event", "line %d: event %r" % (n, ev))
        node, _, pid = exec_id_parts(p.get("entity_id", ""))
        check(node == args.node_name and pid == p.get("pid"), "line %d: entity_id %r" % (n, p.get("entity_id")))
        check(p.get("thread", {}).get("id") == p.get("pid") or ev.get("action") != "exec",
              "line %d: thread.id %r" % (n, p.get("thread")))
        if "args" in p:
            check(p.get("args_count") == len(p["args"]), "line %d: args_count" % n)
        if ev.get("action") == "end":
            check("end" in p and "exit_code" in p, "line %d: end without process.end/exit_code" % n)
    execs = docs_of(events, "exec", args.echo, args.echo_binary)
    if check(len(execs) == 1, "echo %d: %d exec documents" % (args.echo, len(execs))):
        p = execs[0]["process"]
        check(p.get("args") == ["echo"] + WANT_ARGS, "echo: args %r" % p.get("args"))
        check(p.get("name") == "echo", "echo: name %r" % p.get("name"))
        check(p.get("user") == {"id": "0", "name": "root"}, "echo: user %r" % p.get("user"))
        check(p.get("parent", {}).get("pid") == args.forker, "echo: parent %r" % p.get("parent", {}).get("pid"))
        check_ecs_context(p, "echo")
    execs = docs_of(events, "exec", args.sh_echo, args.echo_binary)
    if check(len(execs) == 1, "sh-echo %d: %d exec documents" % (args.sh_echo, len(execs))):
        check(execs[0]["process"].get("parent", {}).get("pid") == args.forker,
              "sh-echo: parent %r, want the forker: the parent process, not the shell's image" %
              execs[0]["process"].get("parent", {}).get("pid"))
    check(len(docs_of(events, "fork", args.exit3)) == 1, "exit3: no fork document")
    execs = [d for d in docs_of(events, "exec", args.nobody)
             if d["process"].get("user", {}).get("id") == "65534"]
    if check(len(execs) == 1, "nobody %d: %d exec documents as uid 65534" % (args.nobody, len(execs))):
        p = execs[0]["process"]
        check("capabilities" not in p.get("thread", {}), "nobody: capabilities %r" %
              p.get("thread", {}).get("capabilities"))
        check(p["user"].get("name") in (None, nobody_name()), "nobody: user %r" % p["user"])
    for pid, code in ((args.echo, 0), (args.exit3, 3), (args.killed, 128 + 9),
                      (args.killed_io, 128 + 29)):
        ends = docs_of(events, "end", pid)
        if check(len(ends) == 1, "pid %d: %d end documents" % (pid, len(ends))):
            check(ends[0]["process"].get("exit_code") == code, "pid %d: exit_code %r, want %d" %
                  (pid, ends[0]["process"].get("exit_code"), code))


def env_of(fmt, events, args):
    """The echo's exec environment as "NAME=value" strings, or None."""
    if fmt == "ecs":
        docs = docs_of(events, "exec", args.echo, args.echo_binary)
        return docs[0]["process"].get("env_vars") if len(docs) == 1 else None
    found = bodies(events, "process_exec", args.echo, args.echo_binary)
    if len(found) != 1 or "environment_variables" not in found[0]["process"]:
        return None
    return [e["Key"] + "=" + e.get("Value", "")
            for e in found[0]["process"]["environment_variables"]]


def check_env(args, events, raws):
    fmt = "ecs" if args.format == "ecs" else "tetragon"
    key = b'"env_vars"' if fmt == "ecs" else b'"environment_variables"'
    check(not any(ENV_SECRET in r for r in raws), "TOKEN's value reached the output")
    if not args.env:
        check(not any(key in r for r in raws), "an environment without --env-max")
        return
    env = env_of(fmt, events, args)
    if check(env is not None, "echo: no environment"):
        check("TOKEN=***" in env, "echo: no redacted TOKEN in %r" % env[:20])
        check("PC_SNOOP_ENV=visible" in env, "echo: PC_SNOOP_ENV missing from %r" % env[:20])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--format", required=True, choices=["tetragon", "tetragon-ext", "ecs"])
    for opt in ("forker", "echo", "sh_echo", "exit3", "killed", "killed_io", "killed_rt",
                "nobody"):
        ap.add_argument("--" + opt.replace("_", "-"), type=int, required=True)
    ap.add_argument("--echo-binary", required=True)
    ap.add_argument("--sh-binary", required=True)
    ap.add_argument("--node-name", required=True)
    ap.add_argument("--ancestors", action="store_true")
    ap.add_argument("--clone-flag-only", action="store_true")
    ap.add_argument("--env", action="store_true")
    args = ap.parse_args()

    events, raws = load(args.path)
    if args.clone_flag_only:
        check_clone_flag(args, events)
    elif args.format == "ecs":
        check_ecs(args, events)
    else:
        check_tetragon(args, events, raws, args.format == "tetragon-ext")
    if not args.clone_flag_only:
        check_env(args, events, raws)

    for f in failures[:50]:
        print("test_snoop.py: " + f, file=sys.stderr)
    if len(failures) > 50:
        print("test_snoop.py: ... and %d more" % (len(failures) - 50), file=sys.stderr)
    print("test_snoop.py: %s: %d events, %d failures" % (args.format, len(events), len(failures)),
          file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
