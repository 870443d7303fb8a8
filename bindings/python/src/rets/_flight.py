"""Read-through with single-flight (rets_table_get_or_load, rets_table_claim_load and the
rets_ticket_* functions): Table.get_or_load with a plain function, Table.get_or_load_async
with a coroutine.

The engine keeps the in-flight loads: across threads and tasks, and across Python and C
callers, one caller loads a missing key while the others wait for its result.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Optional, Tuple

from . import _bufs
from ._errors import ArgumentError, Error, error_for, fail
from ._rets_cffi import ffi, lib
from ._terms import Term, pack, unpack

if TYPE_CHECKING:
    from ._table import Table

Object = Tuple[Any, ...]

# The polling of an asyncio waiter: from half a millisecond, doubling up to 20 ms.
_FIRST_POLL_S = 0.0005
_LAST_POLL_S = 0.02


class LoadTimeoutError(Error, TimeoutError):
    """Another caller's load of the key did not finish within the timeout (it goes on)."""


def _timeout_ms(timeout: Optional[float]) -> int:
    if timeout is None:
        return -1
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
        raise ArgumentError(f"timeout must be a number of seconds >= 0 or None, not {timeout!r:.80}")
    return int(timeout * 1000)


def _fail_message(e: BaseException) -> bytes:
    text = f"the loader raised {type(e).__name__}: {e}"
    return text.encode("utf-8", "replace").replace(b"\0", b" ")


class _Load:
    """A get_or_load call while the engine runs its loader: the loader, and what it raised."""

    __slots__ = ("loader", "error")

    def __init__(self, loader: Callable[[Term], Object]) -> None:
        self.loader = loader
        self.error: Optional[BaseException] = None


@ffi.def_extern()  # type: ignore[untyped-decorator]
def py_rets_loader(user_data: Any, key: Any, key_len: int, ticket: Any) -> None:
    from ._table import object_arg

    load: _Load = ffi.from_handle(user_data)
    try:
        data = object_arg(load.loader(unpack(ffi.buffer(key, key_len)[:])))
        status = lib.rets_ticket_fill(ticket, data, len(data), 0)  # 0: the table's lifetime
        if status:
            raise error_for(status)
    except BaseException as e:  # the engine fails the load for every waiter; raised after
        load.error = e
        lib.rets_ticket_fail(ticket, _fail_message(e))


def get_or_load(
    table: "Table", key: Term, loader: Callable[[Term], Object], timeout: Optional[float]
) -> Object:
    if not callable(loader):
        raise ArgumentError(f"loader must be a function key -> object, not {loader!r:.80}")
    k = pack(key)
    ms = _timeout_ms(timeout)
    load = _Load(loader)
    b = _bufs.borrow()
    status = lib.rets_table_get_or_load(table._ptr, k, len(k), lib.py_rets_loader,
                                        ffi.new_handle(load), ms, b)
    if load.error is not None:
        _bufs.give_back(b)
        raise load.error
    if status == lib.RETS_STATUS_TIMEOUT:
        _bufs.give_back(b)
        raise LoadTimeoutError(f"waiting for another caller's load of {key!r:.80} timed out",
                               status)
    if status:
        _bufs.fail_with(status, b)
    result: Object = unpack(_bufs.take(b))
    return result


class Ticket:
    """A claim on the load of a key (rets_ticket): Table.claim_load() gives one when the key
    is missing. `loading` tells whether this caller is the loader (then fill() or fail() it)
    or waits for another caller's load (then wait() or poll() it). Close it when done (or use
    `with`): closing an unfinished load fails it for its waiters. One thread at a time."""

    __slots__ = ("_ptr", "loading")

    def __init__(self, ptr: Any, loading: bool) -> None:
        self._ptr = ptr
        self.loading = loading

    def _handle(self) -> Any:
        if self._ptr is None:
            raise ArgumentError("this ticket is closed")
        return self._ptr

    def fill(self, obj: Object, *, ttl: Optional[float] = None) -> None:
        """Finishes the load with `obj` (its key is the key claimed): stored and given to every
        waiter, living `ttl` seconds (None: the table's lifetime). A refused object leaves the
        load open."""
        from ._table import object_arg

        data = object_arg(obj)
        status = lib.rets_ticket_fill(self._handle(), data, len(data), _ttl_ms(ttl))
        if status:
            fail(status)

    def fail(self, message: str) -> None:
        """Fails the load: every waiter gets LoadFailedError with `message`."""
        encoded = str(message).encode("utf-8", "replace").replace(b"\0", b" ")
        status = lib.rets_ticket_fail(self._handle(), encoded)
        if status:
            fail(status)

    def wait(self, timeout: Optional[float] = None) -> Optional[Object]:
        """The loaded object, waiting up to `timeout` seconds (None: no limit) with the GIL
        released; None if the load is still running then."""
        b = _bufs.borrow()
        status = lib.rets_ticket_wait(self._handle(), _timeout_ms(timeout), b)
        if status == lib.RETS_STATUS_TIMEOUT:
            _bufs.give_back(b)
            return None
        if status:
            _bufs.fail_with(status, b)
        result: Object = unpack(_bufs.take(b))
        return result

    def poll(self) -> Optional[Object]:
        """The loaded object if the load has finished, else None (never blocks)."""
        ready = ffi.new("bool *")
        b = _bufs.borrow()
        status = lib.rets_ticket_poll(self._handle(), b, ready)
        if status:
            _bufs.fail_with(status, b)
        if not ready[0]:
            _bufs.give_back(b)
            return None
        result: Object = unpack(_bufs.take(b))
        return result

    def close(self) -> None:
        ptr, self._ptr = self._ptr, None
        if ptr is not None:
            lib.rets_ticket_free(ptr)

    def __enter__(self) -> "Ticket":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


def _ttl_ms(ttl: Optional[float]) -> int:
    if ttl is None:
        return 0
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not ttl > 0:
        raise ArgumentError(f"ttl must be a number of seconds > 0 or None, not {ttl!r:.80}")
    return max(1, int(ttl * 1000))


def claim_load(
    table: "Table", key: Term, refresh_after: Optional[float]
) -> Tuple[Optional[Object], Optional[Ticket]]:
    claim = ffi.new("rets_claim *")
    ticket_out = ffi.new("rets_ticket **")
    k = pack(key)
    b = _bufs.borrow()
    if refresh_after is None:
        status = lib.rets_table_claim_load(table._ptr, k, len(k), b, claim, ticket_out)
    else:
        if isinstance(refresh_after, bool) or not isinstance(refresh_after, (int, float)) \
                or refresh_after < 0:
            _bufs.give_back(b)
            raise ArgumentError(f"refresh_after must be seconds >= 0, not {refresh_after!r:.80}")
        status = lib.rets_table_claim_load_refreshing(
            table._ptr, k, len(k), int(refresh_after * 1000), b, claim, ticket_out)
    if status:
        _bufs.fail_with(status, b)
    if claim[0] == lib.RETS_CLAIM_CACHED:
        return unpack(_bufs.take(b)), None
    if claim[0] == lib.RETS_CLAIM_REFRESH:  # the cached object, and the load of its refresh
        return unpack(_bufs.take(b)), Ticket(ticket_out[0], True)
    _bufs.give_back(b)
    return None, Ticket(ticket_out[0], claim[0] == lib.RETS_CLAIM_LOAD)


# Background refreshes started by get_or_load_async (kept here so that they are not collected).
_refreshes: "set[asyncio.Task[None]]" = set()


async def _refresh(ticket: Ticket, key: Term, loader: Callable[[Term], Awaitable[Object]]) -> None:
    with ticket:
        try:
            ticket.fill(await loader(key))
        except BaseException as e:  # failing keeps the cached object; the error is the loader's
            if ticket._ptr is not None:
                try:
                    ticket.fail(_fail_message(e).decode())
                except Error:
                    pass
            if not isinstance(e, Exception):
                raise


async def get_or_load_async(
    table: "Table", key: Term, loader: Callable[[Term], Awaitable[Object]],
    timeout: Optional[float], refresh_after: Optional[float] = None,
) -> Object:
    if not callable(loader):
        raise ArgumentError(f"loader must be a coroutine function key -> object, not {loader!r:.80}")
    ms = _timeout_ms(timeout)
    cached, ticket = claim_load(table, key, refresh_after)
    if ticket is None:
        assert cached is not None
        return cached
    if cached is not None:  # refresh-ahead: answer now, reload in the background
        task = asyncio.ensure_future(_refresh(ticket, key, loader))
        _refreshes.add(task)
        task.add_done_callback(_refreshes.discard)
        return cached
    with ticket:
        if ticket.loading:
            try:
                obj = await loader(key)
            except BaseException as e:  # cancellation too: the waiters must not wait forever
                ticket.fail(_fail_message(e).decode())
                raise
            try:
                ticket.fill(obj)
            except BaseException as e:
                ticket.fail(f"the loader's object was refused: {e}")
                raise
            loaded: Object = unpack(pack(obj))
            return loaded
        # Another caller loads the key: poll (never block the event loop), backing off.
        loop = asyncio.get_running_loop()
        deadline = None if ms < 0 else loop.time() + ms / 1000
        delay = _FIRST_POLL_S
        while True:
            result = ticket.poll()
            if result is not None:
                return result
            if deadline is not None and loop.time() >= deadline:
                raise LoadTimeoutError(
                    f"waiting for another caller's load of {key!r:.80} timed out",
                    lib.RETS_STATUS_TIMEOUT,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, _LAST_POLL_S)
