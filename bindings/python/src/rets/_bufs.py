"""Result buffers, borrowed per call from a per-thread pool.

A rets_buf is used by one thread at a time, and a warm one makes a call allocate nothing on
the caller's side; so each thread keeps a pool of them. A call borrows a buffer and gives it
back once it has copied the result out. Borrowing (rather than one fixed buffer per thread)
keeps reentrant calls apart: a signal handler, a __del__ or a fold callback that runs rets
calls between a call and the copy of its result gets buffers of its own.
"""

from __future__ import annotations

import threading
from typing import Any, NoReturn

from ._errors import fail
from ._rets_cffi import ffi, lib

_local = threading.local()


def _new_buf() -> Any:
    out = ffi.new("rets_buf **")
    status = lib.rets_buf_new(out)
    if status:
        fail(status)
    return ffi.gc(out[0], lib.rets_buf_free)


def borrow() -> Any:
    """A buffer for one call, to give back with give_back(), take() or fail_with()."""
    try:
        return _local.pool.pop()
    except AttributeError:
        _local.pool = []
    except IndexError:
        pass
    return _new_buf()


def give_back(b: Any) -> None:
    _local.pool.append(b)


def take(b: Any) -> bytes:
    """A copy of the bytes written into `b` (one call: see glue.h); gives `b` back."""
    v = lib.pyrets_buf_bytes(b)
    data: bytes = ffi.unpack(v.data, v.len)
    _local.pool.append(b)
    return data


def fail_with(status: int, *bufs: Any) -> NoReturn:
    """Gives the buffers back and raises the error of `status`."""
    _local.pool.extend(bufs)
    fail(status)
