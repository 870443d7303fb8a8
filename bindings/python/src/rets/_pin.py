"""rets.Pin: a pinned reader of one table (rets_pin_*), used as a context manager.

A pin holds one reclamation guard for all its lookups (the C ABI's rets_pin), so each costs
less than the same lookup on the Table. What it holds up is memory: nothing replaced or deleted
in the table is freed until the pin is closed (or refreshed), so keep it for a bounded stretch of
reads, as a `with` block. It does not hold up the table's life: after the table is deleted,
every lookup through the pin raises NoTableError.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

import msgpack

from . import _bufs, _fastpath
from ._errors import ArgumentError, fail
from ._rets_cffi import ffi, lib
from ._table import _MISSING, Object, Table, optional_term, size_arg
from ._terms import Term, _decode_ext, pack, unpack
from ._terms import _local as _thread_state

_fast_pin_lookup = _fastpath.pin_lookup
_unpackb = msgpack.unpackb


class Pin:
    """A pinned reader of a table (Table.pin()): lookup, get, member and lookup_element, as on
    the Table. Any number of threads may read through one Pin at once. close() (or leaving the
    `with` block) ends it; the engine's pin is freed as soon as no call through it is still
    running."""

    __slots__ = ("_h", "_table")

    def __init__(self, table: Table) -> None:
        self._table = table
        self._h: Optional[Tuple[Any, int]] = self._new()

    def _new(self) -> Tuple[Any, int]:
        """A new engine pin: (the cffi pointer, which frees it when collected; its address, for
        fastpath.c). One attribute, read at once: a call holds both, and through the pointer
        keeps the pin alive for its duration, whatever another thread does to the Pin."""
        out = ffi.new("rets_pin **")
        status = lib.rets_pin_new(self._table._ptr, out)
        if status:
            fail(status)
        return ffi.gc(out[0], lib.rets_pin_free), int(ffi.cast("uintptr_t", out[0]))

    def _live(self) -> Any:
        h = self._h
        if h is None:
            raise ArgumentError("this pin is closed")
        return h[0]

    def _lookup(self, key: Term) -> Any:
        try:
            k = _thread_state.pack(key)  # this thread's msgpack Packer (see _terms)
        except Exception:
            k = pack(key)
        h = self._h  # held for the call (see _new)
        if h is None:
            raise ArgumentError("this pin is closed")
        result = _fast_pin_lookup(h[1], k)  # rets_pin_lookup: bytes or a status
        del h
        if type(result) is int:
            fail(result)
        return _unpackb(result, use_list=False, strict_map_key=False, ext_hook=_decode_ext)

    def lookup(self, key: Term) -> list[Object]:
        """The objects with `key` (an empty list if none), as Table.lookup."""
        return list(self._lookup(key))

    def get(self, key: Term, default: Any = None) -> Any:
        """The object with `key` (the first one on a bag), or `default`, as Table.get."""
        objects = self._lookup(key)
        return objects[0] if objects else default

    def member(self, key: Term) -> bool:
        """Whether an object with `key` exists, as Table.member."""
        k = pack(key)
        found = ffi.new("bool *")
        status = lib.rets_pin_member(self._live(), k, len(k), found)
        if status:
            fail(status)
        return bool(found[0])

    def __contains__(self, key: Term) -> bool:
        return self.member(key)

    def lookup_element(self, key: Term, pos: int, default: Term = _MISSING) -> Term:
        """The element at `pos` (1-based) of the object with `key`, as Table.lookup_element."""
        k = pack(key)
        default_data, default_len = optional_term(default)
        position = size_arg("pos", pos)
        b = _bufs.borrow()
        status = lib.rets_pin_lookup_element(
            self._live(), k, len(k), position, default_data, default_len, b
        )
        if status:
            _bufs.fail_with(status, b)
        return unpack(_bufs.take(b))

    def refresh(self) -> None:
        """Lets what was replaced or deleted since the pin was taken be freed, keeping the Pin
        (for a pin kept over a long stretch of reads while others write). It takes a new
        engine pin (rets_pin_new: NoTableError once the table is deleted) and lets the old one
        go when the reads still running through it end, so it is safe while other threads read
        (rets_pin_refresh would not be)."""
        self._live()
        self._h = self._new()

    @property
    def closed(self) -> bool:
        return self._h is None

    def close(self) -> None:
        """Ends the pin: what it held up may be freed (once the reads running through it in
        other threads, if any, end). Closing twice is harmless."""
        self._h = None

    def __enter__(self) -> "Pin":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<rets.Pin {'closed' if self._h is None else 'open'} on {self._table!r}>"
