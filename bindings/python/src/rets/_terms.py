"""Python values <-> terms (MessagePack bytes), through the msgpack library.

msgpack was chosen over ormsgpack by measurement (bindings/python/bench/codec.py): objects
come back as tuples at every depth, which msgpack decodes natively (use_list=False) while
ormsgpack decodes only lists (making tuples of them, recursively, costs more in Python than
ormsgpack saves), and a reused msgpack Packer encodes a key in about half the time of
ormsgpack.packb.

Arrays come back as tuples at every depth, so whatever comes back can be used again as a key
(a tuple inside a key round-trips; a list given as a key is the same term as that tuple).
"""

from __future__ import annotations

import reprlib
import threading
from typing import Any, Callable

import msgpack

from ._errors import EncodeError

# A term: None, bool, int (64-bit), float, str, bytes, tuple/list (arrays), dict (maps).
Term = Any

_local = threading.local()


def _new_packer() -> Callable[[Any], bytes]:
    pack: Callable[[Any], bytes] = msgpack.Packer(use_bin_type=True, strict_types=False).pack
    _local.pack = pack
    return pack


def pack(value: Term) -> bytes:
    """MessagePack bytes of `value`. Each thread has its own Packer (a Packer keeps a buffer)."""
    try:
        p = _local.pack
    except AttributeError:
        p = _new_packer()
    try:
        packed: bytes = p(value)
        return packed
    except OverflowError:
        raise EncodeError(
            f"int {value!r} is outside the 64-bit range of a term"
            if isinstance(value, int)
            else f"an int in {reprlib.repr(value)} is outside the 64-bit range of a term"
        ) from None
    except (TypeError, ValueError) as e:
        # msgpack's message names the innermost value it could not encode ("can not serialize
        # 'set' object", "recursion limit exceeded").
        raise EncodeError(f"no term for {type(value).__name__} {reprlib.repr(value)}: {e}") from None


def unpack(data: Any) -> Term:
    """The value of MessagePack bytes (any buffer) written by the engine; arrays are tuples."""
    return msgpack.unpackb(data, use_list=False, strict_map_key=False)
