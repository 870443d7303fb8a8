"""Result buffers, borrowed per call from a shared pool.

A rets_buf is used by one thread at a time, and a warm one makes a call allocate nothing on
the caller's side. A call pops a buffer from the pool and appends it back once it has copied
the result out: list.pop and list.append are atomic (under the GIL, and with a per-object lock
in free-threaded builds), so a popped buffer belongs to one call until it is given back, with
no lock and no thread-local lookup. Borrowing per call (rather than one fixed buffer per
thread) also keeps reentrant calls apart: a signal handler, a __del__ or a fold callback that
runs rets calls between a call and the copy of its result gets buffers of its own. The pool
holds at most as many buffers as calls were ever in progress at once.
"""

from __future__ import annotations

from typing import Any, NoReturn

from ._errors import fail
from ._rets_cffi import ffi, lib

pool: list[Any] = []


def _new_buf() -> Any:
    out = ffi.new("rets_buf **")
    status = lib.rets_buf_new(out)
    if status:
        fail(status)
    return ffi.gc(out[0], lib.rets_buf_free)


def new_buf() -> Any:
    """A new buffer, for a borrower that found the pool empty."""
    return _new_buf()


def borrow() -> Any:
    """A buffer for one call, to give back with give_back(), take() or fail_with()."""
    try:
        return pool.pop()
    except IndexError:
        return _new_buf()


give_back = pool.append


def take(b: Any) -> bytes:
    """A copy of the bytes written into `b` (one call: see glue.h); gives `b` back."""
    v = lib.pyrets_buf_bytes(b)
    data: bytes = ffi.unpack(v.data, v.len)
    pool.append(b)
    return data


def fail_with(status: int, *bufs: Any) -> NoReturn:
    """Gives the buffers back and raises the error of `status`."""
    pool.extend(bufs)
    fail(status)
