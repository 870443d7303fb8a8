#!/usr/bin/env python3
"""Writes the committed seed corpus of every fuzz target (deterministic; rerun to regenerate).

Table targets read structured input (arbitrary's Unstructured), so their seeds are fixed
pseudo-random byte strings of a few lengths: each decodes to a different operation sequence.
term_decode gets hand-made MessagePack: every kind of value, non-canonical encodings, and the
malformed, truncated, deep and huge cases the decoder must reject cleanly.
"""
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def structured(target, seed):
    rng = random.Random(seed)
    for i, n in enumerate([16, 32, 48, 96, 128, 192]):
        write(target, f"random-{i}-{n}", bytes(rng.randrange(256) for _ in range(n)))


for i, t in enumerate(["table_set", "table_ordered_set", "table_bag",
                       "table_duplicate_bag", "table_concurrent", "c_abi", "table_cache"]):
    structured(t, 1000 + i)

deep = lambda n: b"\x91" * n + b"\x01"
msgpack = {
    "nil": b"\xc0",
    "true": b"\xc3",
    "ints": b"\x96\x00\x7f\xcc\x80\xff\xd0\x80\xcf" + struct.pack(">Q", 2**64 - 1),
    "float64": b"\xcb" + struct.pack(">d", 1.5),
    "float32": b"\xca" + struct.pack(">f", -0.25),
    "str": b"\xa3abc",
    "bin": b"\xc4\x02\x00\x01",
    "object": b"\x93\x01\xa1a\xcb" + struct.pack(">d", 2.0),
    "map": b"\x82\x01\xc2\xa1a\x90",
    "map-unsorted": b"\x82\xa1a\x90\x01\xc2",
    "map-duplicate-key": b"\x82\x01\xc0\x01\xc0",
    "noncanonical-int": b"\xd3" + struct.pack(">q", 5),
    "noncanonical-str": b"\xd9\x01z",
    "noncanonical-array": b"\xdc\x00\x01\x07",
    "nan": b"\xcb" + struct.pack(">d", float("nan")),
    "ext": b"\xd4\x01\x00",
    "never-used": b"\xc1",
    "invalid-utf8": b"\xa2\xff\xfe",
    "truncated": b"\x93\x01\x02",
    "trailing": b"\x01\x02",
    "huge-array-header": b"\xdd\xff\xff\xff\xff",
    "huge-bin-header": b"\xc6\xff\xff\xff\xff\x00",
    "huge-map-header": b"\xdf\xff\xff\xff\xff",
    "deep-ok": deep(127),
    "deep-too-deep": deep(200),
    "split-compare": b"\x02\x93\x01\x02\x03",
}
for name, data in msgpack.items():
    write("term_decode", name, data)
