#!/usr/bin/python3
"""Decodes a Baker v2 datagram with python3-msgpack (an independent msgpack implementation) and
checks its MAC with Python's own BLAKE2b, printing every field by name in a fixed text form the C++
test compares against the structs. The field order here is docs/PROTOCOL.md's, written separately.
Usage: interop_decode.py DATAGRAM_FILE [KEY_HEX]"""
import hashlib
import ipaddress
import sys

import msgpack

ROUTE = ["service", "instance", "address", "port", "weight", "state", "tags"]
BODIES = {
    1: ("heartbeat", ROUTE + ["incarnation", "seq", "interval_ms", "sent_ms"]),
    2: ("goodbye", ["service", "instance", "incarnation", "seq", "sent_ms"]),
    3: ("subscribe", ["subscriber", "nonce", "cookie", "services", "last_epoch", "last_seq",
                      "flags"]),
    4: ("unsubscribe", ["subscriber", "nonce"]),
    5: ("delta", ["epoch", "subscriber", "nonce", "from_seq", "to_seq", "flags", "ops"]),
    6: ("tick", ["epoch", "subscriber", "nonce", "seq", "digest", "route_count", "flags",
                 "lease_ms"]),
    7: ("nack", ["subscriber", "nonce", "epoch", "first_missing", "last_missing"]),
    8: ("snapshot", ["epoch", "subscriber", "nonce", "seq", "index", "count", "flags", "routes"]),
    9: ("retry_later", ["epoch", "subscriber", "nonce", "delay_ms"]),
    10: ("challenge", ["subscriber", "nonce", "cookie"]),
}


REMOVALS = {0: "expired", 1: "goodbye"}


def route(fields):
    service, instance, addr, port, weight, state, tags = fields
    return f"{service}/{instance}@{ipaddress.ip_address(addr)}:{port}/{weight}/{state}/" + \
        ",".join(tags)


def version_text(incarnation, seq):
    assert all(isinstance(v, int) and v >= 0 for v in (incarnation, seq))
    return f"v{incarnation}.{seq}"


def value(name, v):
    if name == "address":
        return str(ipaddress.ip_address(v))
    if name == "cookie":
        assert isinstance(v, bytes)
        return v.hex()
    if name in ("tags", "services"):
        return ",".join(v)
    if name == "routes":  # [service, instance, address, port, weight, state, tags, inc, seq]
        for r in v:
            assert len(r) == 9, r
        return ";".join(route(r[:7]) + "#" + version_text(*r[7:]) for r in v)
    if name == "ops":
        out = []
        for op in v:
            if op[0] == 2:  # [2, service, instance, incarnation, seq, removal]
                assert len(op) == 6, op
                removed = f"{op[1]}/{op[2]}#{version_text(op[3], op[4])}"
                out.append(f"remove:{removed}:{REMOVALS[op[5]]}")
            else:  # [kind, service, instance, address, port, weight, state, tags, inc, seq]
                assert len(op) == 10, op
                out.append(f"{op[0]}:" + route(op[1:8]) + "#" + version_text(op[8], op[9]))
        return ";".join(out)
    assert isinstance(v, (int, str)) and not isinstance(v, bool), (name, v)
    return str(v)


data = open(sys.argv[1], "rb").read()
unpacker = msgpack.Unpacker(raw=False)
unpacker.feed(data)
envelope = next(unpacker)
assert not list(unpacker), "bytes after the envelope"
version, mtype, key_id, body = envelope[:4]
if version != 2:
    print(f"refused unknown_version {version}")
    sys.exit(0)
mac = "none"
if len(envelope) == 5:
    tag = envelope[4]
    assert isinstance(tag, bytes) and len(tag) == 16
    key = bytes.fromhex(sys.argv[2])
    expected = hashlib.blake2b(data[:-16], key=key, digest_size=16).digest()
    mac = "ok" if expected == tag else "bad"
name, fields = BODIES[mtype]
assert len(body) == len(fields), (name, len(body))
out = [f"v{version}", name, f"key={key_id}", f"mac={mac}"]
out += [f"{f}={value(f, v)}" for f, v in zip(fields, body)]
print(" ".join(out))
