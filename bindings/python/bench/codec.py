"""The codec choice (msgpack or ormsgpack), measured on what the binding does per lookup:
encode a str key, decode a result (a list of one object: a tuple holding a small dict) into
tuples as the binding returns them. Run: target/py-bench-venv/bin/python bench/codec.py
(bindings/python/bench/run installs both codecs there)."""

from __future__ import annotations

import timeit
from typing import Any, Callable

import msgpack
import ormsgpack

KEY = "user:1234"
OBJ = (KEY, {"name": "Alice", "tier": "pro", "visits": 3})
RESULT = msgpack.packb([OBJ])


def ns(f: Callable[[], Any]) -> float:
    return min(timeit.repeat(f, number=20_000, repeat=15)) / 20_000 * 1e9


def main() -> None:
    packer = msgpack.Packer()
    decoded = ormsgpack.unpackb(RESULT)
    print("ormsgpack decodes arrays as", type(decoded[0]).__name__, "- msgpack (use_list=False) as",
          type(msgpack.unpackb(RESULT, use_list=False)[0]).__name__)
    nested = ormsgpack.unpackb(msgpack.packb([(1, (2, 3))]))
    print("ormsgpack decodes nested arrays as", type(nested[0][1]).__name__,
          "(tuples there would need a recursive conversion in Python)")
    rows = {
        "encode key: msgpack Packer.pack (reused)": ns(lambda: packer.pack(KEY)),
        "encode key: ormsgpack.packb": ns(lambda: ormsgpack.packb(KEY)),
        "decode result: msgpack.unpackb(use_list=False)": ns(
            lambda: msgpack.unpackb(RESULT, use_list=False, strict_map_key=False)),
        "decode result: ormsgpack.unpackb (lists)": ns(lambda: ormsgpack.unpackb(RESULT)),
        "decode result: ormsgpack.unpackb + tuple(first object)": ns(
            lambda: tuple(ormsgpack.unpackb(RESULT)[0])),
    }
    for name, value in rows.items():
        print(f"{name:50s} {value:7.0f} ns")


if __name__ == "__main__":
    main()
