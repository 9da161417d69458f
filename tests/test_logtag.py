#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""examples/proccache-logtag end to end, with senders nobody here wrote
(util-linux logger in RFC 3164 and 5424 modes, Python's SysLogHandler) and
the hard cases: a sender that exits right after sending, one that execs
another program right after sending, a burst of 100 000 messages from 50
senders, malformed datagrams.

    test_logtag.py PATH-TO-proccache-logtag

Needs root (the sensor); exits 77 (skipped) without it. Ends with the
"N passed, N failed" line.
"""
import json
import logging
import logging.handlers
import multiprocessing
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

LOGTAG = sys.argv[1] if len(sys.argv) > 1 else "proccache-logtag"
PYTHON = os.path.realpath(sys.executable)


class LogTag:
    """One proccache-logtag on a socket in a fresh directory."""

    def __init__(self, *args):
        self.dir = tempfile.TemporaryDirectory(prefix="logtag-")
        self.sock = os.path.join(self.dir.name, "log")
        self.out_path = os.path.join(self.dir.name, "out.jsonl")
        self.out = open(self.out_path, "wb")
        self.proc = subprocess.Popen(
            [LOGTAG, "--socket", self.sock, *args],
            stdout=self.out, stderr=subprocess.PIPE)
        line = self._stderr_line(30)
        if not line.startswith("ready"):
            raise AssertionError("no ready line: %r" % line)

    def _stderr_line(self, timeout):
        end = time.monotonic() + timeout
        buf = b""
        while not buf.endswith(b"\n"):
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.proc.stderr], [], [], left)[0]:
                raise AssertionError("logtag said nothing in %ds" % timeout)
            ch = os.read(self.proc.stderr.fileno(), 1)
            if not ch:
                break
            buf += ch
        return buf.decode()

    def pause(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self, settle=0.3):
        """Stop it; returns (records, counts)."""
        time.sleep(settle)
        self.proc.send_signal(signal.SIGTERM)
        err = self.proc.stderr.read().decode()
        assert self.proc.wait(60) == 0, err
        self.out.close()
        counts = json.loads(err.strip().splitlines()[-1])
        with open(self.out_path, "rb") as f:
            records = [json.loads(line) for line in f]
        self.dir.cleanup()
        return records, counts


def by_message(records, text):
    found = [r for r in records if r["message"] == text]
    assert len(found) == 1, "%d records say %r" % (len(found), text)
    return found[0]


def check_sender(rec, pid, binary, parent_pid=None):
    """The kernel's pid, and the tags of that process as it was."""
    tags = rec["process"]
    assert tags is not None, "untagged: %r" % rec
    assert rec["sender"]["pid"] == pid, rec["sender"]
    assert tags["pid"] == str(pid), tags["pid"]
    assert tags["binary"] == binary, (tags["binary"], binary)
    assert tags["exec_id"], tags
    if parent_pid is not None:
        assert tags["parent.pid"] == str(parent_pid), tags


def test_logger_rfc3164_and_rfc5424():
    lt = LogTag()
    a = subprocess.run(["logger", "--socket", lt.sock, "--rfc3164", "-t",
                        "tag3164", "-i", "-p", "local3.warning",
                        "hello from 3164"], check=True)
    b = subprocess.Popen(["logger", "--socket", lt.sock, "--rfc5424",
                          "-t", "app5424", "--msgid", "ID47", "--sd-id",
                          "ex@32473", "--sd-param", 'k="v w"',
                          "hello from 5424"])
    b_pid = b.pid
    assert b.wait() == 0
    records, counts = lt.stop()
    assert a.returncode == 0
    r = by_message(records, "hello from 3164")
    assert r["format"] == "rfc3164" and not r["malformed"], r
    assert r["facility"] == 19 and r["severity"] == 4, r
    assert r["app_name"] == "tag3164", r
    # logger -i writes its own pid: the kernel's must agree.
    check_sender(r, int(r["procid"]), "/usr/bin/logger", os.getpid())
    assert r["process"]["parent.binary"] == PYTHON, r["process"]
    assert "hello from 3164" in r["process"]["arguments"]
    # The user name cache had the name by the time the record was tagged.
    assert r["process"]["user"] == "root", r["process"]
    r = by_message(records, "hello from 5424")
    assert r["format"] == "rfc5424" and not r["malformed"], r
    assert (r["app_name"], r["msgid"]) == ("app5424", "ID47"), r
    assert '[ex@32473 k="v w"]' in r["structured_data"], r
    check_sender(r, b_pid, "/usr/bin/logger", os.getpid())
    assert counts["received"] == counts["written"] == 2, counts
    assert counts["malformed"] == counts["untagged"] == 0, counts


PY_SENDER = """
import logging, logging.handlers, sys
h = logging.handlers.SysLogHandler(address=sys.argv[1])
h.setFormatter(logging.Formatter('pyapp: %(message)s'))
log = logging.getLogger('t')
log.addHandler(h)
log.warning('from SysLogHandler')
"""


def test_python_sysloghandler():
    lt = LogTag("--tags", "otel")
    p = subprocess.Popen([sys.executable, "-c", PY_SENDER, lt.sock])
    assert p.wait() == 0
    records, counts = lt.stop()
    r = by_message(records, "from SysLogHandler")
    assert r["format"] == "rfc3164" and r["app_name"] == "pyapp", r
    assert r["severity"] == 4 and r["facility"] == 1, r
    tags = r["process"]
    assert tags["process.pid"] == p.pid == r["sender"]["pid"], tags
    assert tags["process.parent_pid"] == os.getpid(), tags
    assert tags["process.executable.path"] == PYTHON, tags
    assert tags["process.command_args"][-1] == lt.sock, tags
    assert counts["untagged"] == 0, counts


def test_sender_gone_before_the_message_is_read():
    """logger sends and exits; the receiver reads only afterwards."""
    lt = LogTag()
    lt.pause()
    p = subprocess.Popen(["logger", "--socket", lt.sock, "short-lived"])
    pid = p.pid
    assert p.wait() == 0
    assert not os.path.exists("/proc/%d" % pid)
    lt.resume()
    records, counts = lt.stop()
    check_sender(by_message(records, "short-lived"), pid, "/usr/bin/logger",
                 os.getpid())
    assert counts["untagged"] == 0, counts


EXEC_AFTER_SEND = """
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b'<14>sender: before exec', sys.argv[1])
os.execv('/bin/sleep', ['sleep', '3'])
"""


def test_sender_execs_right_after_sending():
    """The tags name the image that sent, not the one the pid runs now."""
    lt = LogTag()
    lt.pause()
    p = subprocess.Popen([sys.executable, "-c", EXEC_AFTER_SEND, lt.sock])
    deadline = time.monotonic() + 10
    while os.path.realpath("/proc/%d/exe" % p.pid) != "/usr/bin/sleep":
        assert time.monotonic() < deadline, "the sender did not exec"
        time.sleep(0.01)
    lt.resume()
    records, counts = lt.stop()
    p.kill()
    p.wait()
    r = by_message(records, "before exec")
    check_sender(r, p.pid, PYTHON, os.getpid())
    assert "before exec" in r["process"]["arguments"], r["process"]
    assert counts["untagged"] == 0, counts


BURST_SENDERS = 50
BURST_EACH = 2000


def burst_sender(path, n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    me = os.getpid()
    for i in range(BURST_EACH):
        s.sendto(b"<13>burst[%d]: %d %d" % (me, n, i), path)
    os._exit(0)


def test_burst_of_100000_from_50_senders():
    lt = LogTag("--tags", "ecs")
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=burst_sender, args=(lt.sock, n))
             for n in range(BURST_SENDERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        assert p.exitcode == 0
    records, counts = lt.stop(settle=1.0)
    total = BURST_SENDERS * BURST_EACH
    # Nothing lost without being counted.
    assert counts["received"] == total, counts
    assert counts["written"] + counts["dropped"] == total, counts
    assert len(records) == counts["written"], (len(records), counts)
    seen = set()
    tagged = 0
    for r in records:
        n, i = map(int, r["message"].split())
        seen.add((n, i))
        assert int(r["procid"]) == r["sender"]["pid"], r
        if r["process"] is not None:
            tagged += 1
            assert r["process"]["process.pid"] == r["sender"]["pid"], r
            assert r["process"]["process.executable"] == PYTHON, r
    assert len(seen) == counts["written"], "duplicates"
    assert tagged == counts["written"] - counts["untagged"], counts
    assert counts["untagged"] == 0, counts


MALFORMED = [
    b"", b"<", b"<13", b"<999>too big", b"<1x>bad", b"no priority at all",
    b"<13>1 only-a-timestamp", b"\x00\xff\xfe\x01\x02garbage",
    b"<13>1 - - - - - [unterminated", b"<13>" + b"x" * 100000,
]


def test_malformed_datagrams_are_counted():
    lt = LogTag()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    for d in MALFORMED:
        s.sendto(d, lt.sock)
    s.sendto(b"<13>fine: still alive", lt.sock)
    records, counts = lt.stop()
    assert lt.proc.returncode == 0
    assert counts["received"] == len(MALFORMED) + 1, counts
    assert counts["malformed"] == len(MALFORMED), counts
    assert sum(r["malformed"] for r in records) == len(MALFORMED)
    big = [r for r in records if r.get("truncated")]
    assert len(big) == 1 and len(big[0]["message"]) < 100000, len(big)
    r = by_message(records, "still alive")
    check_sender(r, os.getpid(), PYTHON)
    assert all(x["sender"]["pid"] == os.getpid() for x in records)


def main():
    if os.geteuid() != 0:
        print("test_logtag: needs root for the sensor; skipped")
        return 77
    tests = [v for k, v in sorted(globals().items()) if k.startswith("test_")]
    passed = failed = 0
    for t in tests:
        start = time.monotonic()
        try:
            t()
        except Exception as e:  # noqa: BLE001 - report every failure
            failed += 1
            print("FAIL %s: %s: %s" % (t.__name__, type(e).__name__, e))
        else:
            passed += 1
            print("ok   %s (%.1fs)" % (t.__name__, time.monotonic() - start))
        sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
