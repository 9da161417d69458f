#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Check JSON lines against the schemas this project keeps in tests/schema/.

    check.py --format tetragon FILE       strict Tetragon GetEventsResponse
    check.py --format tetragon-ext FILE   the same plus --extensions' fields
    check.py --format ecs FILE            Elastic Common Schema documents

Every line must be strict JSON (valid UTF-8, no duplicate keys, no NaN).
Tetragon: each line is a GetEventsResponse as protobuf's JSON mapping writes
it (tetragon.json): field names as in the .proto or lowerCamelCase, no
unknown field, 32-bit integers as numbers, 64-bit ones as decimal strings,
enums by name, wrappers as bare values, Timestamps in RFC 3339 with Z and
0/3/6/9 fractional digits, and default values left out (protojson omits
them; a wrapper or a set oneof member is written even when zero).
ECS: each line is one document whose fields are in ecs.json with their ECS
type (keyword: string, long: integer, date: RFC 3339 string, ...), arrays
exactly where ECS normalizes to an array, allowed values of event.kind,
category, type and outcome, the types a category expects, required fields.

Exit 0 when every line passes; else print each error (line and path) and
exit 1. Used by tests/test_snoop.c on live output, and by test_check.py on
hand-made good and bad lines.
"""

import argparse
import base64
import datetime
import ipaddress
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

U32 = (0, 2**32 - 1)
I32 = (-2**31, 2**31 - 1)
U64 = (0, 2**64 - 1)
I64 = (-2**63, 2**63 - 1)
TIMESTAMP = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d{3}|\.\d{6}|\.\d{9})?Z$")
DATE = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")
DURATION = re.compile(r"^-?\d+(\.\d{3}|\.\d{6}|\.\d{9})?s$")
WRAPPERS = {
    "google.protobuf.UInt32Value": "uint32",
    "google.protobuf.Int32Value": "int32",
    "google.protobuf.UInt64Value": "uint64",
    "google.protobuf.Int64Value": "int64",
    "google.protobuf.BoolValue": "bool",
    "google.protobuf.StringValue": "string",
    "google.protobuf.BytesValue": "bytes",
}


class Errors:
    def __init__(self, limit=100):
        self.items = []
        self.count = 0
        self.limit = limit
        self.line = 0

    def add(self, path, msg):
        self.count += 1
        if len(self.items) < self.limit:
            self.items.append("line %d: %s: %s" % (self.line, path or "(top)", msg))


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def valid_datetime(m):
    try:
        datetime.datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)),
                          int(m.group(4)), int(m.group(5)), int(m.group(6)))
    except ValueError:
        return False
    return int(m.group(1)) >= 1


def json_name(proto_name):
    """protoc's json_name: drop each '_' and capitalise what follows."""
    out, upper = [], False
    for c in proto_name:
        if c == "_":
            upper = True
        else:
            out.append(c.upper() if upper else c)
            upper = False
    return "".join(out)


# ---------------------------------------------------------------------------
# Tetragon: protobuf's JSON mapping
# ---------------------------------------------------------------------------

def load_proto_schema(paths):
    schema = {"messages": {}, "enums": {}, "root": None}
    for path in paths:
        with open(path) as f:
            part = json.load(f)
        schema["root"] = schema["root"] or part.get("root")
        for name, msg in part.get("messages", {}).items():
            into = schema["messages"].setdefault(
                name, {"fields": {}, "oneofs": {}, "required_oneofs": []})
            into["fields"].update(msg.get("fields", {}))
            for oneof, members in msg.get("oneofs", {}).items():
                into["oneofs"].setdefault(oneof, []).extend(members)
            into["required_oneofs"].extend(msg.get("required_oneofs", []))
        schema["enums"].update(part.get("enums", {}))
    return schema


class ProtoChecker:
    def __init__(self, schema, errors):
        self.s = schema
        self.e = errors

    def scalar(self, t, v, path, omit_default):
        """A singular value of scalar type t; omit_default: protojson would
        have left a default value out."""
        e = self.e
        if t == "string":
            if not isinstance(v, str):
                return e.add(path, "want a string (%s), got %s" % (t, json.dumps(v)[:40]))
            if omit_default and v == "":
                e.add(path, "empty string written (protojson leaves defaults out)")
        elif t == "bool":
            if not isinstance(v, bool):
                return e.add(path, "want true or false, got %s" % json.dumps(v)[:40])
            if omit_default and v is False:
                e.add(path, "false written (protojson leaves defaults out)")
        elif t in ("uint32", "int32"):
            lo, hi = U32 if t == "uint32" else I32
            if not is_int(v):
                return e.add(path, "want a JSON number (%s), got %s" % (t, json.dumps(v)[:40]))
            if not lo <= v <= hi:
                return e.add(path, "%d is out of the %s range" % (v, t))
            if omit_default and v == 0:
                e.add(path, "0 written (protojson leaves defaults out)")
        elif t in ("uint64", "int64"):
            lo, hi = U64 if t == "uint64" else I64
            if not isinstance(v, str) or not re.match(r"^(0|-?[1-9]\d*)$", v):
                return e.add(path, "want a decimal string (%s as protojson writes it), got %s"
                             % (t, json.dumps(v)[:40]))
            if not lo <= int(v) <= hi:
                return e.add(path, "%s is out of the %s range" % (v, t))
            if omit_default and v == "0":
                e.add(path, "\"0\" written (protojson leaves defaults out)")
        elif t == "bytes":
            try:
                ok = isinstance(v, str) and base64.b64decode(v, validate=True) is not None
            except ValueError:
                ok = False
            if not ok:
                e.add(path, "want base64 (bytes), got %s" % json.dumps(v)[:40])
        else:
            e.add(path, "schema error: unknown scalar type %s" % t)

    def value(self, t, v, path, omit_default=True):
        e = self.e
        if v is None:
            return e.add(path, "null written (leave the field out)")
        if t.startswith("repeated "):
            if not isinstance(v, list):
                return e.add(path, "want an array (%s), got %s" % (t, type(v).__name__))
            if not v:
                e.add(path, "empty array written (protojson leaves it out)")
            for i, item in enumerate(v):
                self.value(t[len("repeated "):], item, "%s[%d]" % (path, i), False)
            return
        if t.startswith("map<"):
            if not isinstance(v, dict):
                return e.add(path, "want an object (%s)" % t)
            if not v:
                e.add(path, "empty map written (protojson leaves it out)")
            vt = t[4:-1].split(",", 1)[1].strip()
            for k, item in v.items():
                self.value(vt, item, "%s[%s]" % (path, json.dumps(k)), False)
            return
        if t == "google.protobuf.Timestamp":
            m = TIMESTAMP.match(v) if isinstance(v, str) else None
            if not m or not valid_datetime(m):
                e.add(path, "want an RFC 3339 UTC timestamp with 0, 3, 6 or 9 fractional "
                      "digits, got %s" % json.dumps(v)[:60])
            return
        if t == "google.protobuf.Duration":
            if not isinstance(v, str) or not DURATION.match(v):
                e.add(path, "want a duration like \"1.5s\", got %s" % json.dumps(v)[:40])
            return
        if t in WRAPPERS:
            return self.scalar(WRAPPERS[t], v, path, False)  # a wrapper is written even if 0
        if t in self.s["enums"]:
            names = self.s["enums"][t]
            if not isinstance(v, str):
                return e.add(path, "enum %s by number %s: protojson writes the name"
                             % (t, json.dumps(v)[:20]))
            if v not in names:
                return e.add(path, "%r is not a value of enum %s" % (v, t))
            if omit_default and names[v] == 0:
                e.add(path, "enum default %s written (protojson leaves it out)" % v)
            return
        if t[:1].isupper():
            return self.message(t, v, path)
        self.scalar(t, v, path, omit_default)

    def message(self, name, obj, path):
        e = self.e
        msg = self.s["messages"].get(name)
        if msg is None:
            return e.add(path, "message %s is not described by the schema" % name)
        if not isinstance(obj, dict):
            return e.add(path, "want an object (message %s), got %s" % (name, type(obj).__name__))
        fields = msg["fields"]
        by_json = {json_name(f): f for f in fields}
        oneof_of = {m: o for o, members in msg["oneofs"].items() for m in members}
        seen = set()
        set_oneofs = {}
        for key, val in obj.items():
            field = key if key in fields else by_json.get(key)
            sub = "%s.%s" % (path, key) if path else key
            if field is None:
                e.add(sub, "unknown field of %s" % name)
                continue
            if field in seen:
                e.add(sub, "field %s written twice (proto and JSON names)" % field)
            seen.add(field)
            oneof = oneof_of.get(field)
            if oneof:
                set_oneofs.setdefault(oneof, []).append(field)
            self.value(fields[field][1], val, sub, omit_default=oneof is None)
        for oneof, members in set_oneofs.items():
            if len(members) > 1:
                e.add(path, "oneof %s has %d members set: %s" % (oneof, len(members), members))
        for oneof in msg["required_oneofs"]:
            if oneof not in set_oneofs:
                e.add(path, "no member of oneof %s (%s)" % (oneof, name))

    def check(self, doc):
        self.message(self.s["root"], doc, "")


# ---------------------------------------------------------------------------
# ECS
# ---------------------------------------------------------------------------

class EcsChecker:
    def __init__(self, schema, errors):
        self.s = schema
        self.e = errors
        self.fields = schema["fields"]
        self.prefixes = set()
        for f in self.fields:
            parts = f.split(".")
            for i in range(1, len(parts)):
                self.prefixes.add(".".join(parts[:i]))

    def leaf_value(self, field, t, v, path, element=False):
        e = self.e
        if v is None:
            return e.add(path, "null written (leave the field out)")
        if t in ("keyword", "wildcard", "match_only_text", "constant_keyword", "text"):
            if not isinstance(v, str):
                return e.add(path, "want a string (%s), got %s" % (t, json.dumps(v)[:40]))
            # An argument may be empty (argv can hold ""): an element of
            # an *.args array is data, any other empty string a default.
            if v == "" and not (element and field.endswith("args")):
                e.add(path, "empty string (leave the field out)")
            pattern = self.s.get("patterns", {}).get(field)
            if pattern and not re.match(pattern, v):
                e.add(path, "%r does not match %s" % (v, pattern))
        elif t in ("long", "integer", "short", "byte"):
            if not is_int(v) or not I64[0] <= v <= I64[1]:
                e.add(path, "want an integer (%s), got %s" % (t, json.dumps(v)[:40]))
        elif t in ("float", "scaled_float", "double", "half_float"):
            if not (is_int(v) or isinstance(v, float)):
                e.add(path, "want a number (%s)" % t)
        elif t == "boolean":
            if not isinstance(v, bool):
                e.add(path, "want true or false, got %s" % json.dumps(v)[:40])
        elif t == "date":
            m = DATE.match(v) if isinstance(v, str) else None
            if not m or not valid_datetime(m):
                e.add(path, "want an RFC 3339 date string, got %s" % json.dumps(v)[:60])
        elif t == "ip":
            try:
                ipaddress.ip_address(v)
            except (ValueError, TypeError):
                e.add(path, "want an IP address, got %s" % json.dumps(v)[:40])
        elif t in ("object", "flattened"):
            if not isinstance(v, dict):
                e.add(path, "want an object (%s)" % t)
        else:
            e.add(path, "schema error: unknown ECS type %s" % t)
        allowed = self.s.get("allowed_values", {}).get(field)
        if allowed is not None and isinstance(v, str) and v not in allowed:
            e.add(path, "%r is not an allowed value of %s" % (v, field))

    def leaf(self, field, v, path):
        spec = self.fields[field]
        if spec.get("array"):
            if not isinstance(v, list):
                return self.e.add(path, "want an array: ECS normalizes %s to an array" % field)
            if not v:
                self.e.add(path, "empty array (leave the field out)")
            for i, item in enumerate(v):
                self.leaf_value(field, spec["type"], item, "%s[%d]" % (path, i),
                                element=True)
        elif isinstance(v, list):
            self.e.add(path, "an array where ECS defines one %s value" % spec["type"])
        else:
            self.leaf_value(field, spec["type"], v, path)

    def walk(self, obj, prefix, found):
        for key, v in obj.items():
            field = prefix + key
            if field in self.fields:
                found[field] = v
                self.leaf(field, v, field)
            elif field in self.prefixes:
                if isinstance(v, dict):
                    self.walk(v, field + ".", found)
                else:
                    self.e.add(field, "want an object (ECS has fields under %s)" % field)
            else:
                self.e.add(field, "unknown field (not in ECS's field set kept in ecs.json)")

    def check(self, doc):
        found = {}
        self.walk(doc, "", found)
        for field in self.s.get("required", []):
            if field not in found:
                self.e.add(field, "required field missing")
        categories = found.get("event.category") or []
        types = found.get("event.type") or []
        expected = self.s.get("expected_event_types", {})
        for c in categories if isinstance(categories, list) else []:
            for t in types if isinstance(types, list) else []:
                if c in expected and t not in expected[c]:
                    self.e.add("event.type", "%r is not a type ECS expects for category %r (%s)"
                               % (t, c, ", ".join(expected[c])))


# ---------------------------------------------------------------------------

def strict_lines(data, errors):
    """Yield the JSON value of each line; report lines that are not strict
    JSON in valid UTF-8."""
    def no_constant(name):
        raise ValueError("non-standard constant " + name)

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise ValueError("duplicate key in %r" % keys)
        return dict(pairs)

    if data and not data.endswith(b"\n"):
        errors.line = data.count(b"\n") + 1
        errors.add("", "the last line has no newline")
    for n, raw in enumerate(data.splitlines(), 1):
        errors.line = n
        try:
            yield n, json.loads(raw.decode("utf-8"), parse_constant=no_constant,
                                object_pairs_hook=no_duplicates)
        except ValueError as ex:
            errors.add("", "not strict JSON in UTF-8: %s" % ex)


def make_checker(fmt, errors):
    if fmt == "ecs":
        with open(os.path.join(HERE, "ecs.json")) as f:
            return EcsChecker(json.load(f), errors)
    paths = [os.path.join(HERE, "tetragon.json")]
    if fmt == "tetragon-ext":
        paths.append(os.path.join(HERE, "tetragon-extensions.json"))
    return ProtoChecker(load_proto_schema(paths), errors)


def check_data(fmt, data, errors):
    checker = make_checker(fmt, errors)
    lines = 0
    for n, doc in strict_lines(data, errors):
        errors.line = n
        lines += 1
        checker.check(doc)
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--format", required=True, choices=["tetragon", "tetragon-ext", "ecs"])
    ap.add_argument("path")
    args = ap.parse_args()
    with open(args.path, "rb") as f:
        data = f.read()
    errors = Errors()
    lines = check_data(args.format, data, errors)
    for item in errors.items:
        print("check.py: " + item, file=sys.stderr)
    if errors.count > len(errors.items):
        print("check.py: ... and %d more" % (errors.count - len(errors.items)), file=sys.stderr)
    print("check.py: %s: %d lines, %d errors" % (args.format, lines, errors.count), file=sys.stderr)
    return 1 if errors.count or not lines else 0


if __name__ == "__main__":
    sys.exit(main())
