"""rets.Owner: an owner of tables (ETS: a process), and the lookup of tables by name.

An owner handle must not be used while, or after, it is closed (the C ABI leaves that
undefined). Owner therefore counts the calls in flight that use its handle; close() marks it
closed at once (new calls raise OwnerClosedError) and the last call in flight, or close()
itself when there is none, calls rets_owner_close.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from typing import Any, NamedTuple, Optional

from . import _bufs, _cache, _query
from ._errors import ArgumentError, OwnerClosedError, fail
from ._rets_cffi import ffi, lib
from ._table import ACCESS_MODES, TABLE_TYPES, Table, name_arg, owner_arg, size_arg
from ._terms import Term, pack, unpack

_REASONS = {
    lib.RETS_TRANSFER_REASON_INHERITED: "inherited",
    lib.RETS_TRANSFER_REASON_GIVEN_AWAY: "given_away",
}


# The longest single wait of recv_transfer (seconds): see there.
WAIT_SLICE_S = 0.1


class Transfer(NamedTuple):
    """A table received by recv_transfer() (ETS's {'ETS-TRANSFER', Tab, From, Gift})."""

    table: Table
    from_owner: int
    reason: str  # "inherited" or "given_away"
    gift: Term


class Owner:
    """An owner of tables. Use it as a context manager, or close() it: closing deletes its
    tables, or hands each to its heir. An owner that is collected while open is closed then
    (with a ResourceWarning if it still owned tables)."""

    def __init__(self) -> None:
        out = ffi.new("rets_owner **")
        status = lib.rets_owner_new(out)
        if status:
            fail(status)
        self._ptr: Any = out[0]
        self._lock = threading.Lock()
        self._in_flight = 0
        self._closed = False
        # One handle of our own to each table this owner made or received: at collection time
        # they tell whether the owner still owns tables (worth a ResourceWarning).
        self._watched: list[Any] = []
        id_out = ffi.new("uint64_t *")
        status = lib.rets_owner_id(self._ptr, id_out)
        if status:
            fail(status)
        self._id = int(id_out[0])

    @property
    def id(self) -> int:
        """The owner's id, as Table.info().owner and .heir report it."""
        return self._id

    @property
    def closed(self) -> bool:
        return self._closed

    def _acquire(self) -> Any:
        with self._lock:
            if self._closed:
                raise OwnerClosedError("this rets.Owner is closed", lib.RETS_STATUS_OWNER_CLOSED)
            self._in_flight += 1
            return self._ptr

    def _release(self) -> None:
        with self._lock:
            self._in_flight -= 1
            last = self._closed and self._in_flight == 0 and self._ptr is not None
        if last:
            self._finish_close()

    def close(self) -> None:
        """Closes the owner: its tables go to their heirs or are deleted; handles acting for
        it raise OwnerClosedError from then on. Closing twice does nothing."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            now = self._in_flight == 0
        if now:
            self._finish_close()

    def _finish_close(self) -> None:
        ptr, self._ptr = self._ptr, None
        for handle in self._watched:
            lib.rets_table_free(handle)
        self._watched.clear()
        lib.rets_owner_close(ptr)

    def __enter__(self) -> "Owner":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_closed", True):
            return
        try:
            owned = self._owned_table_names()
        except Exception:  # at interpreter shutdown, the modules may be half torn down
            owned = ["?"]
        if owned:
            warnings.warn(
                f"rets.Owner {self._id} was collected while open and owning tables {owned}; "
                "closing it now (close owners explicitly, or use `with`)",
                ResourceWarning,
                source=self,
            )
        self.close()

    def _owned_table_names(self) -> list[str]:
        names = []
        info = ffi.new("rets_info *")
        for handle in self._watched:
            if lib.rets_table_info(handle, info) == 0 and info.owner == self._id:
                b = _bufs.borrow()
                if lib.rets_table_name(handle, b) == 0:
                    names.append(_bufs.take(b).rstrip(b"\0").decode("utf-8", "replace"))
        return names

    def _watch(self, table: Any) -> None:
        out = ffi.new("rets_table **")
        if lib.rets_table_with_owner(table, self._ptr, out) != 0:
            return
        with self._lock:  # two threads making tables must not prune (free) the same handles
            self._watched.append(out[0])
            if len(self._watched) > 64 and (len(self._watched) & (len(self._watched) - 1)) == 0:
                self._forget_gone_tables()

    def _forget_gone_tables(self) -> None:
        info = ffi.new("rets_info *")
        kept = []
        for handle in self._watched:
            if lib.rets_table_info(handle, info) == 0 and info.owner == self._id:
                kept.append(handle)
            else:
                lib.rets_table_free(handle)
        self._watched = kept

    def new_table(
        self,
        name: str,
        *,
        type: str = "set",
        access: str = "protected",
        keypos: int = 1,
        named: bool = False,
        read_concurrency: bool = False,
        write_concurrency: bool = False,
        heir: Optional["Owner"] = None,
        heir_data: Term = None,
        ttl: Optional[float] = None,
        time_to_idle: Optional[float] = None,
        max_size: int = 0,
        max_memory: int = 0,
        on_full: str = "evict",
        record_stats: bool = False,
        clock: Optional[_cache.ManualClock] = None,
    ) -> Table:
        """Creates a table owned by this owner (ets:new/2); the options are ETS's. The cache
        options make it a cache: `ttl` (seconds from each write) and/or `time_to_idle` (seconds
        from each write or read; with both, an object expires at the earlier), `max_size` objects and `max_memory` bytes (0: no bound),
        `on_full` ("evict" or "reject", as TableFullError), `record_stats` (cache_stats()),
        and a ManualClock for tests."""
        cache = _cache.cache_options(ttl, time_to_idle, max_size, max_memory, on_full,
                                     record_stats, clock)
        if type not in TABLE_TYPES:
            raise ArgumentError(f"type must be one of {sorted(TABLE_TYPES)}, not {type!r:.80}")
        if access not in ACCESS_MODES:
            raise ArgumentError(f"access must be one of {sorted(ACCESS_MODES)}, not {access!r:.80}")
        if keypos == 0:
            raise ArgumentError("keypos is 1-based: 0 is not a position")
        for flag, value in (("named", named), ("read_concurrency", read_concurrency),
                            ("write_concurrency", write_concurrency)):
            if not isinstance(value, bool):
                raise ArgumentError(f"{flag} must be a bool, not {value!r:.80}")
        if heir is not None:
            owner_arg("heir", heir)
        c_name = name_arg(name)
        options = ffi.new("rets_table_options *")
        options.table_type = TABLE_TYPES[type]
        options.access = ACCESS_MODES[access]
        options.keypos = size_arg("keypos", keypos)
        options.named = named
        options.read_concurrency = read_concurrency
        options.write_concurrency = write_concurrency
        gift = pack(heir_data)
        options.heir_data = ffi.from_buffer("uint8_t[]", gift)
        options.heir_data_len = len(gift)
        out = ffi.new("rets_table **")
        ptr = self._acquire()
        try:
            options.heir = heir._acquire() if heir is not None else ffi.NULL
            try:
                if cache is None:
                    status = lib.rets_table_new(ptr, c_name, options, out)
                else:
                    status = lib.rets_table_new_cache(ptr, c_name, options, cache, out)
            finally:
                if heir is not None:
                    heir._release()
            if status:
                fail(status)
            self._watch(out[0])
        finally:
            self._release()
        return Table(out[0], self)

    def whereis(self, name: str) -> Optional[Table]:
        """The table registered under `name`, as a handle acting for this owner; or None."""
        out = ffi.new("rets_table **")
        ptr = self._acquire()
        try:
            status = lib.rets_owner_whereis(ptr, name_arg(name), out)
        finally:
            self._release()
        if status == lib.RETS_STATUS_NOT_FOUND:
            return None
        if status:
            fail(status)
        return Table(out[0], self)

    def recv_transfer(self, timeout: Optional[float] = 0) -> Optional[Transfer]:
        """Takes the next table given to this owner (by give_away, or as an heir), waiting up
        to `timeout` seconds (0: do not wait; None: no limit). Returns None if nothing arrived.
        The GIL is released while it waits. A long wait is made of waits of at most
        WAIT_SLICE_S, so that signal handlers (Ctrl-C) run meanwhile and a close() from another
        thread ends it (with OwnerClosedError)."""
        if timeout is None:
            deadline = None
        elif isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout >= 0:
            deadline = time.monotonic() + timeout
        else:
            raise ArgumentError(f"timeout must be a number of seconds >= 0 or None, not {timeout!r:.80}")
        table_out = ffi.new("rets_table **")
        from_out = ffi.new("uint64_t *")
        reason_out = ffi.new("rets_transfer_reason *")
        gift = _bufs.borrow()
        while True:
            left = WAIT_SLICE_S if deadline is None else max(0.0, deadline - time.monotonic())
            ms = int(min(left, WAIT_SLICE_S) * 1000)
            ptr = self._acquire()
            try:
                status = lib.rets_owner_recv_transfer(ptr, ms, table_out, from_out, reason_out, gift)
                if status == 0:
                    self._watch(table_out[0])
            finally:
                self._release()
            if status != lib.RETS_STATUS_TIMEOUT:
                break
            if deadline is not None and time.monotonic() >= deadline:
                _bufs.give_back(gift)
                return None
        if status:
            _bufs.fail_with(status, gift)
        return Transfer(
            Table(table_out[0], self),
            int(from_out[0]),
            _REASONS.get(reason_out[0], str(reason_out[0])),
            unpack(_bufs.take(gift)),
        )

    def file2tab(self, path: "str | os.PathLike[str]", *, verify: bool = False) -> Table:
        """Recreates the table saved in the file at `path`, owned by this owner, with its
        name, type and options (ets:file2tab/2); `verify` also checks every object's encoding
        and the object count. On any failure no table is left."""
        return _query.file2tab(self, path, verify)  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"<rets.Owner {self._id}{' closed' if self._closed else ''}>"


def whereis(name: str) -> Optional[Table]:
    """The table registered under `name`, as a handle acting for nobody (it reads public and
    protected tables and writes public ones); or None."""
    out = ffi.new("rets_table **")
    status = lib.rets_whereis(name_arg(name), out)
    if status == lib.RETS_STATUS_NOT_FOUND:
        return None
    if status:
        fail(status)
    return Table(out[0], None)
