#!/usr/bin/python3
"""Decodes a Baker datagram with python3-msgpack (an independent msgpack implementation) and checks
the MAC with Python's own BLAKE2b, printing the fields in a fixed text form the C++ test compares.
Usage: interop_decode.py DATAGRAM_FILE [KEY_HEX]"""
import hashlib
import ipaddress
import sys

import msgpack

data = open(sys.argv[1], "rb").read()
unpacker = msgpack.Unpacker(raw=False)
unpacker.feed(data)
envelope = next(unpacker)
assert not list(unpacker), "bytes after the envelope"
version, mtype, key_id, body = envelope[:4]
mac = "none"
if len(envelope) == 5:
    tag = envelope[4]
    assert isinstance(tag, bytes) and len(tag) == 16
    key = bytes.fromhex(sys.argv[2])
    expected = hashlib.blake2b(data[:-16], key=key, digest_size=16).digest()
    mac = "ok" if expected == tag else "bad"
out = [f"v{version}", f"type={mtype}", f"key={key_id}", f"mac={mac}"]
if mtype == 1:  # heartbeat
    service, instance, addr, port, weight, state, tags, epoch, seq, interval = body
    out += [service, instance, str(ipaddress.ip_address(addr)), str(port), str(weight),
            str(state), ",".join(tags), str(epoch), str(seq), str(interval)]
elif mtype == 5:  # delta
    epoch, from_seq, to_seq, flags, ops = body
    out += [str(epoch), str(from_seq), str(to_seq), str(flags)]
    for op in ops:
        if op[0] == 2:
            out.append(f"remove:{op[1]}/{op[2]}")
        else:
            out.append(f"{op[0]}:{op[1]}/{op[2]}@{ipaddress.ip_address(op[3])}:{op[4]}")
else:
    out.append(repr(body))
print(" ".join(out))
