"""Per-thread result buffers.

A rets_buf is used by one thread at a time, and a warm one makes a lookup allocate nothing on
the caller's side; so each Python thread keeps two (the `_lookup` traversals need a key buffer
and an objects buffer), freed when the thread ends.
"""

from __future__ import annotations

import threading
from typing import Any

from ._errors import fail
from ._rets_cffi import ffi, lib

_local = threading.local()


def _new_buf() -> Any:
    out = ffi.new("rets_buf **")
    status = lib.rets_buf_new(out)
    if status:
        fail(status)
    return ffi.gc(out[0], lib.rets_buf_free)


def buf() -> Any:
    """This thread's result buffer."""
    try:
        return _local.buf
    except AttributeError:
        _local.buf = _new_buf()
        _local.buf2 = _new_buf()
        return _local.buf


def buf2() -> Any:
    """This thread's second buffer (objects of the `_lookup` traversals)."""
    buf()
    return _local.buf2


def view(b: Any) -> bytes:
    """A copy of the bytes written into a buffer (one call: see glue.h)."""
    v = lib.pyrets_buf_bytes(b)
    return ffi.unpack(v.data, v.len)  # type: ignore[no-any-return]
