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

# A term: None, bool, int (64-bit), float, str, bytes, tuple/list (arrays), dict (maps), Atom.
Term = Any

# The MessagePack extension type of an atom in rets (include/rets.h, RETS_TYPE_ATOM).
ATOM_EXT_TYPE = 97

_local = threading.local()


class Atom:
    """An Erlang atom: a name (at most 255 bytes of UTF-8), distinct from the str of the same
    text. Match specifications use them ('_', '$1', '$_', '>', ...). The atoms true, false and
    nil are stored as True, False and None, and come back as those."""

    __slots__ = ("name",)
    name: str

    def __init__(self, name: str) -> None:
        if not isinstance(name, str):
            raise EncodeError(f"an atom's name is a str, not {type(name).__name__}")
        object.__setattr__(self, "name", name)

    def __setattr__(self, attr: str, value: object) -> None:
        raise AttributeError("atoms are immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Atom) and other.name == self.name

    def __hash__(self) -> int:
        return hash((Atom, self.name))

    def __repr__(self) -> str:
        return f"Atom({self.name!r})"


def _encode_other(value: Any) -> Any:
    """msgpack's hook for the types it does not know: atoms; anything else has no term."""
    if type(value) is Atom:
        return msgpack.ExtType(ATOM_EXT_TYPE, value.name.encode("utf-8"))
    if isinstance(value, int):  # msgpack hands over the ints outside 64 bits
        raise OverflowError(f"int {value} is outside the 64-bit range")
    raise TypeError(f"can not serialize {type(value).__name__!r} object")


def _decode_ext(code: int, data: bytes) -> Any:
    if code == ATOM_EXT_TYPE:
        return Atom(data.decode("utf-8"))
    return msgpack.ExtType(code, data)


def _new_packer() -> Callable[[Any], bytes]:
    pack: Callable[[Any], bytes] = msgpack.Packer(
        use_bin_type=True, strict_types=False, default=_encode_other
    ).pack
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
    return msgpack.unpackb(data, use_list=False, strict_map_key=False, ext_hook=_decode_ext)
