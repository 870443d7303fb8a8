"""rets.Table: a handle to a table, acting for one owner (or for nobody).

Each method is one C ABI call (rets_table_*): encode the arguments, call, raise on a failure
status, decode the result. The engine does the work; nothing here keeps table state.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
    overload,
)

import msgpack

from . import _bufs, _cache, _fastpath, _flight, _query
from ._errors import ArgumentError, KeyNotFoundError, NoTableError, fail
from ._rets_cffi import ffi, lib
from ._terms import Term, _decode_ext, pack, unpack
from ._terms import _local as _thread_state

if TYPE_CHECKING:
    from ._owner import Owner
    from ._pin import Pin

Object = Tuple[Any, ...]
A = TypeVar("A")

TABLE_TYPES = {
    "set": lib.RETS_TABLE_TYPE_SET,
    "ordered_set": lib.RETS_TABLE_TYPE_ORDERED_SET,
    "bag": lib.RETS_TABLE_TYPE_BAG,
    "duplicate_bag": lib.RETS_TABLE_TYPE_DUPLICATE_BAG,
}
ACCESS_MODES = {
    "protected": lib.RETS_ACCESS_PROTECTED,
    "public": lib.RETS_ACCESS_PUBLIC,
    "private": lib.RETS_ACCESS_PRIVATE,
}
_TYPE_NAMES = {v: k for k, v in TABLE_TYPES.items()}
_ACCESS_NAMES = {v: k for k, v in ACCESS_MODES.items()}


class _FromFirst:
    """The default start of items() and keys(): the first key (None is a key)."""

    def __repr__(self) -> str:
        return "rets.FROM_FIRST"


FROM_FIRST: Any = _FromFirst()
# Keys per chunk of items() and keys().
DEFAULT_CHUNK = 64


class _EndOfTable:
    """ETS's '$end_of_table': what first/next/last/prev return past the end (None is a key)."""

    _instance: Optional["_EndOfTable"] = None

    def __new__(cls) -> "_EndOfTable":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "rets.END_OF_TABLE"

    def __bool__(self) -> bool:
        return False


END_OF_TABLE = _EndOfTable()

# The hot path (get, lookup) goes through fastpath.c, which calls rets_table_lookup with the
# CPython API (no cffi objects per call); it calls the functions of this module's librets.
_fastpath.init(*(
    int(ffi.cast("uintptr_t", ffi.addressof(lib, name)))
    for name in ("rets_table_lookup", "rets_buf_new", "rets_buf_data", "rets_buf_len",
                 "rets_buf_free", "rets_pin_lookup")
))
_fast_lookup = _fastpath.lookup
_unpackb = msgpack.unpackb  # the same call as _terms.unpack, without a Python frame
_MISSING: Any = object()

# update_counter's operations: an increment, (pos, incr), or (pos, incr, threshold, set_value).
CounterOp = Union[int, Tuple[int, int], Tuple[int, int, int, int]]


@dataclass(frozen=True)
class Info:
    """rets_table_info() and rets_table_name(): what ets:info/1 reports."""

    id: int
    name: str
    type: str
    access: str
    keypos: int
    named: bool
    owner: int
    heir: Optional[int]
    size: int
    memory: int
    read_concurrency: bool
    write_concurrency: bool


def size_arg(what: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ArgumentError(f"{what} must be a non-negative int, not {value!r:.80}")
    return value


def int64_arg(what: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not -(2**63) <= value < 2**63:
        raise ArgumentError(f"{what} must be an int in the int64 range, not {value!r:.80}")
    return value


def name_arg(name: object) -> bytes:
    if not isinstance(name, str):
        raise ArgumentError(f"a table name must be a str, not {type(name).__name__}")
    encoded = name.encode("utf-8", "surrogatepass")
    if b"\0" in encoded:
        raise ArgumentError(f"a table name cannot contain a NUL character: {name!r:.80}")
    return encoded


def owner_arg(what: str, owner: object) -> "Owner":
    from ._owner import Owner

    if not isinstance(owner, Owner):
        raise ArgumentError(f"{what} must be a rets.Owner, not {type(owner).__name__}")
    return owner


def object_arg(obj: object) -> bytes:
    if not isinstance(obj, tuple):
        raise ArgumentError(
            f"an object is a tuple (its key at the table's keypos), not {type(obj).__name__}"
            + (": use insert_many for several objects" if isinstance(obj, list) else "")
        )
    return pack(obj)


def objects_arg(objects: Iterable[Object]) -> bytes:
    if isinstance(objects, (tuple, str, bytes, dict)):
        raise ArgumentError(
            f"insert_many takes an iterable of objects (tuples), not a {type(objects).__name__}"
        )
    listed = list(objects)
    for obj in listed:
        if not isinstance(obj, tuple):
            raise ArgumentError(f"an object is a tuple, not {type(obj).__name__}: {obj!r:.80}")
    return pack(listed)


def optional_term(value: Term) -> Tuple[Any, int]:
    """A (pointer, length) pair for an optional MessagePack argument: NULL when missing."""
    if value is _MISSING:
        return ffi.NULL, 0
    data = pack(value)
    return data, len(data)


class Table:
    """A handle to a table, acting for the owner it was obtained through (None: nobody).

    Any number of threads may use one Table at once; every operation is atomic. The handle is
    freed when the Table object is collected; the table itself lives until it is deleted or
    its owner closes. As a context manager, a Table deletes its table on exit.
    """

    __slots__ = ("_ptr", "_addr", "_owner", "_keypos", "__weakref__")

    def __init__(self, ptr: Any, owner: Optional["Owner"]) -> None:
        self._ptr = ffi.gc(ptr, lib.rets_table_free)
        self._addr = int(ffi.cast("uintptr_t", ptr))  # for fastpath.c; valid while self lives
        # A Table keeps its owner alive: the owner closes (and its tables go) only when closed
        # explicitly or when no handle acting for it is left.
        self._owner = owner
        self._keypos = 0  # fixed for the table's life; read from the engine on first need

    @property
    def owner(self) -> Optional["Owner"]:
        """The Owner this handle acts for, or None for a handle from rets.whereis()."""
        return self._owner

    def with_owner(self, owner: "Owner") -> "Table":
        """A new handle to this table acting for `owner` (rets_table_with_owner)."""
        out = ffi.new("rets_table **")
        status = lib.rets_table_with_owner(self._ptr, owner_arg("owner", owner)._acquire(), out)
        owner._release()
        if status:
            fail(status)
        return Table(out[0], owner)

    # ---- writing ----

    def insert(self, obj: Object, *, ttl: Optional[float] = None) -> None:
        """Inserts one object (a tuple), replacing the object with its key on a set. `ttl`:
        its own lifetime in seconds (None: the table's)."""
        data = object_arg(obj)
        if ttl is not None:
            status = lib.rets_table_insert_ttl(self._ptr, data, len(data),
                                               _cache.seconds_to_ns("ttl", ttl))
        else:
            status = lib.rets_table_insert(self._ptr, data, len(data))
        if status:
            fail(status)

    def insert_many(self, objects: Iterable[Object], *, ttl: Optional[float] = None) -> None:
        """Inserts several objects at once, atomically (ets:insert/2 with a list); `ttl` as
        for insert()."""
        data = objects_arg(objects)
        if ttl is not None:
            status = lib.rets_table_insert_many_ttl(self._ptr, data, len(data),
                                                    _cache.seconds_to_ns("ttl", ttl))
        else:
            status = lib.rets_table_insert_many(self._ptr, data, len(data))
        if status:
            fail(status)

    def insert_new(self, obj: Object, *, ttl: Optional[float] = None) -> bool:
        """Inserts `obj` if its key is absent (an expired object counts as absent); returns
        whether it did. `ttl` as for insert()."""
        data = object_arg(obj)
        inserted = ffi.new("bool *")
        if ttl is not None:
            status = lib.rets_table_insert_new_ttl(self._ptr, data, len(data),
                                                   _cache.seconds_to_ns("ttl", ttl), inserted)
        else:
            status = lib.rets_table_insert_new(self._ptr, data, len(data), inserted)
        if status:
            fail(status)
        return bool(inserted[0])

    def insert_new_many(self, objects: Iterable[Object], *, ttl: Optional[float] = None) -> bool:
        """Inserts all the objects if none of their keys is present (an expired object counts
        as absent); returns whether it did. `ttl` as for insert()."""
        data = objects_arg(objects)
        inserted = ffi.new("bool *")
        if ttl is not None:
            status = lib.rets_table_insert_new_many_ttl(self._ptr, data, len(data),
                                                        _cache.seconds_to_ns("ttl", ttl), inserted)
        else:
            status = lib.rets_table_insert_new_many(self._ptr, data, len(data), inserted)
        if status:
            fail(status)
        return bool(inserted[0])

    def delete_key(self, key: Term) -> None:
        """Deletes every object with `key` (ets:delete/2)."""
        k = pack(key)
        status = lib.rets_table_delete_key(self._ptr, k, len(k))
        if status:
            fail(status)

    __delitem__ = delete_key

    def delete_object(self, obj: Object) -> None:
        """Deletes exactly this object (on a duplicate_bag, every copy of it)."""
        data = object_arg(obj)
        status = lib.rets_table_delete_object(self._ptr, data, len(data))
        if status:
            fail(status)

    def delete_all_objects(self) -> None:
        """Empties the table."""
        status = lib.rets_table_delete_all_objects(self._ptr)
        if status:
            fail(status)

    def take(self, key: Term) -> list[Object]:
        """Removes and returns the objects with `key`."""
        k = pack(key)
        b = _bufs.borrow()
        status = lib.rets_table_take(self._ptr, k, len(k), b)
        if status:
            _bufs.fail_with(status, b)
        return list(unpack(_bufs.take(b)))

    @overload
    def update_counter(
        self, key: Term, op: Union[int, Tuple[int, int], Tuple[int, int, int, int]],
        default: Optional[Object] = None, *, ttl: Optional[float] = None,
    ) -> int: ...

    @overload
    def update_counter(
        self, key: Term, op: Sequence[CounterOp], default: Optional[Object] = None,
        *, ttl: Optional[float] = None,
    ) -> list[int]: ...

    def update_counter(
        self, key: Term, op: Union[CounterOp, Sequence[CounterOp]], default: Optional[Object] = None,
        *, ttl: Optional[float] = None,
    ) -> Union[int, list[int]]:
        """ets:update_counter/3,4. `op` is an increment (of the element after the key), a
        (pos, incr) pair, a (pos, incr, threshold, set_value) quadruple, or a list of those
        (then the new values come back as a list). With `default`, an absent key first gets
        that object (its key replaced by `key`); without, an absent key is KeyNotFoundError.
        `ttl` (seconds, with `default` only): the lifetime of the default object if inserted,
        and a new lifetime from now for an existing object (without it, it keeps its own)."""
        k = pack(key)
        if ttl is not None and default is None:
            raise ArgumentError("update_counter: a ttl is for the default object: give one")
        if isinstance(op, int) and not isinstance(op, bool) and default is None:
            value = ffi.new("int64_t *")
            status = lib.rets_table_update_counter(self._ptr, k, len(k), int64_arg("incr", op), value)
            if status:
                fail(status)
            return int(value[0])
        one = not isinstance(op, list)
        ops: list[Any] = [op] if one else list(op)  # type: ignore[arg-type]
        c_ops = ffi.new("rets_counter_op[]", len(ops))
        after_key = 0  # ETS's default position: the element after the key
        for c_op, spec in zip(c_ops, ops):
            if isinstance(spec, int) and not after_key:
                after_key = self._key_position() + 1
            fill_counter_op(c_op, spec, after_key)
        default_data = ffi.NULL if default is None else object_arg(default)
        values = ffi.new("int64_t[]", len(ops))
        if ttl is not None:
            status = lib.rets_table_update_counters_ttl(
                self._ptr, k, len(k), c_ops, len(ops), default_data, len(default_data),
                _cache.seconds_to_ns("ttl", ttl), values,
            )
        else:
            status = lib.rets_table_update_counters(
                self._ptr, k, len(k), c_ops, len(ops), default_data,
                0 if default is None else len(default_data), values,
            )
        if status:
            fail(status)
        return int(values[0]) if one else [int(v) for v in values]

    def update_element(
        self,
        key: Term,
        element: Union[Tuple[int, Term], Sequence[Tuple[int, Term]]],
        default: Optional[Object] = None,
        *,
        ttl: Optional[float] = None,
    ) -> bool:
        """ets:update_element/3,4: replaces the element at each (pos, value); returns whether
        the key was there (or `default` was inserted for it). `ttl` as for update_counter()."""
        k = pack(key)
        if ttl is not None and default is None:
            raise ArgumentError("update_element: a ttl is for the default object: give one")
        pairs: list[Any] = [element] if isinstance(element, tuple) else list(element)
        c_elements = ffi.new("rets_element[]", len(pairs))
        keep = []  # the packed values must outlive the call
        for c_el, pair in zip(c_elements, pairs):
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise ArgumentError(f"an element update is a (pos, value) pair, not {pair!r:.80}")
            c_el.pos = size_arg("a position", pair[0])
            value = ffi.from_buffer("uint8_t[]", pack(pair[1]))
            keep.append(value)
            c_el.value = value
            c_el.value_len = len(value)
        default_data = ffi.NULL if default is None else object_arg(default)
        updated = ffi.new("bool *")
        if ttl is not None:
            status = lib.rets_table_update_element_ttl(
                self._ptr, k, len(k), c_elements, len(pairs), default_data, len(default_data),
                _cache.seconds_to_ns("ttl", ttl), updated,
            )
        else:
            status = lib.rets_table_update_element(
                self._ptr, k, len(k), c_elements, len(pairs), default_data,
                0 if default is None else len(default_data), updated,
            )
        if status:
            fail(status)
        return bool(updated[0])

    # ---- reading ----

    def lookup(self, key: Term) -> list[Object]:
        """The objects with `key` (an empty list if none), as ets:lookup/2."""
        try:
            k = _thread_state.pack(key)  # this thread's msgpack Packer (see _terms)
        except Exception:
            k = pack(key)  # makes the thread's Packer, or raises EncodeError
        result = _fast_lookup(self._addr, k)  # rets_table_lookup: bytes or a status
        if type(result) is int:
            fail(result)
        return list(_unpackb(result, use_list=False, strict_map_key=False, ext_hook=_decode_ext))

    def get(self, key: Term, default: Any = None) -> Any:
        """The object with `key` (the first one on a bag), or `default` if there is none."""
        try:
            k = _thread_state.pack(key)  # this thread's msgpack Packer (see _terms)
        except Exception:
            k = pack(key)  # makes the thread's Packer, or raises EncodeError
        result = _fast_lookup(self._addr, k)  # rets_table_lookup: bytes or a status
        if type(result) is int:
            fail(result)
        objects = _unpackb(result, use_list=False, strict_map_key=False, ext_hook=_decode_ext)
        return objects[0] if objects else default

    def get_or_load(
        self, key: Term, loader: Callable[[Term], Object], *, timeout: Optional[float] = None
    ) -> Object:
        """The object with `key`; on a miss, `loader(key)` makes it (an object with that key)
        and it is stored (read-through). Single-flight: while one caller loads a key, the
        others (threads, tasks, C callers) wait for its result, up to `timeout` seconds
        (LoadTimeoutError); if the loader raises, its caller gets that exception and the
        waiters a LoadFailedError with its message. Sets and ordered_sets only."""
        return _flight.get_or_load(self, key, loader, timeout)

    def claim_load(
        self, key: Term, *, refresh_after: Optional[float] = None
    ) -> Tuple[Optional[Object], Optional["_flight.Ticket"]]:
        """The non-blocking read-through protocol (rets_table_claim_load): (object, None) if
        `key` is cached, else (None, ticket): a Ticket to fill() or fail() if
        ticket.loading, else to wait() or poll() for another caller's load. With
        `refresh_after` seconds (a table with a ttl; rets_table_claim_load_refreshing), one
        caller of a cached object older than that gets (object, load ticket) to refresh it."""
        return _flight.claim_load(self, key, refresh_after)

    def invalidate(self, key: Term) -> None:
        """Deletes `key`'s objects and detaches a load of `key` in flight (its result goes to
        its waiters but is not cached): call it after changing the data source."""
        k = pack(key)
        status = lib.rets_table_invalidate(self._ptr, k, len(k))
        if status:
            fail(status)

    async def get_or_load_async(
        self, key: Term, loader: Callable[[Term], Awaitable[Object]], *,
        timeout: Optional[float] = None, refresh_after: Optional[float] = None,
    ) -> Object:
        """get_or_load for asyncio: `loader` is a coroutine function, awaited by the task that
        claims the load; tasks that find the key being loaded poll for the result without
        blocking the event loop. Cancelling the loading task fails the load for its waiters.
        With `refresh_after` seconds (a table with a ttl), a cached object older than that is
        returned at once and reloaded in the background by one caller (refresh-ahead)."""
        return await _flight.get_or_load_async(self, key, loader, timeout, refresh_after)

    def pin(self) -> "Pin":
        """A pinned reader of this table (rets_pin_new): its lookups skip the per-call
        reclamation guard. Use it as a context manager, for a bounded stretch of reads: while
        it is open, nothing replaced or deleted in the table is freed."""
        from ._pin import Pin

        return Pin(self)

    def __getitem__(self, key: Term) -> list[Object]:
        """The objects with `key`; KeyError if there are none."""
        objects = self.lookup(key)
        if not objects:
            raise KeyError(key)
        return objects

    def lookup_element(self, key: Term, pos: int, default: Term = _MISSING) -> Term:
        """The element at `pos` (1-based) of the object with `key` (a tuple of them on a bag).
        An absent key gives `default`, or KeyNotFoundError without one."""
        k = pack(key)
        default_data, default_len = optional_term(default)
        position = size_arg("pos", pos)
        b = _bufs.borrow()
        status = lib.rets_table_lookup_element(
            self._ptr, k, len(k), position, default_data, default_len, b
        )
        if status:
            _bufs.fail_with(status, b)
        return unpack(_bufs.take(b))

    def member(self, key: Term) -> bool:
        """Whether any object has `key`."""
        k = pack(key)
        found = ffi.new("bool *")
        status = lib.rets_table_member(self._ptr, k, len(k), found)
        if status:
            fail(status)
        return bool(found[0])

    __contains__ = member

    def __len__(self) -> int:
        return int(self._c_info().size)

    def tab2list(self) -> list[Object]:
        """Every object, in traversal order (not a snapshot under concurrent writers)."""
        b = _bufs.borrow()
        status = lib.rets_table_tab2list(self._ptr, b)
        if status:
            _bufs.fail_with(status, b)
        return list(unpack(_bufs.take(b)))

    def __iter__(self) -> Iterator[Object]:
        """The objects in traversal order, read in chunks (see items())."""
        return self.items()

    def items(
        self, start: Any = FROM_FIRST, *, after: bool = False, reverse: bool = False,
        chunk: int = DEFAULT_CHUNK,
    ) -> Iterator[Object]:
        """The objects in traversal order (key order on an ordered_set), from the key `start`
        on (that key's objects included if it is present, unless `after`; any key by default),
        backward from the end on an ordered_set with `reverse`.

        Objects are read `chunk` keys at a time, one search of the table per chunk
        (rets_table_next_chunk). Safe under concurrent writers, as first/next are: no key
        twice, every key present throughout seen once; objects written meanwhile may or may
        not be seen. No lock is held between items: the loop may read and write the table.
        """
        return self._chunked(lib.RETS_CHUNK_FLAG_OBJECTS, start, after, reverse, chunk)

    def keys(
        self, start: Any = FROM_FIRST, *, after: bool = False, reverse: bool = False,
        chunk: int = DEFAULT_CHUNK,
    ) -> Iterator[Any]:
        """The keys in traversal order, as items() gives the objects."""
        return self._chunked(0, start, after, reverse, chunk)

    def _chunked(
        self, flags: int, start: Any, after: bool, reverse: bool, chunk: int
    ) -> Iterator[Any]:
        # Arguments are checked here, not when iteration starts.
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
            raise ArgumentError(f"chunk must be a positive int (keys per chunk), not {chunk!r:.80}")
        if reverse:
            flags |= lib.RETS_CHUNK_FLAG_REVERSE
        key = None if start is FROM_FIRST else pack(start)
        return self._chunks(flags, key, after, chunk)

    def _chunks(self, flags: int, key: Optional[bytes], after: bool, chunk: int) -> Iterator[Any]:
        out, last = _bufs.borrow(), _bufs.borrow()
        try:
            if key is None:
                status = lib.rets_table_next_chunk(self._ptr, ffi.NULL, 0, chunk, flags, out, last)
            else:
                first = flags if after else flags | lib.RETS_CHUNK_FLAG_INCLUSIVE
                status = lib.rets_table_next_chunk(self._ptr, key, len(key), chunk, first, out, last)
            while status == lib.RETS_STATUS_OK:
                found = unpack(_copy(out))
                key = _copy(last)
                yield from found
                status = lib.rets_table_next_chunk(self._ptr, key, len(key), chunk, flags, out, last)
            if status != lib.RETS_STATUS_END_OF_TABLE:
                fail(status)
        finally:
            _bufs.give_back(out)
            _bufs.give_back(last)

    def foldl(self, fn: Callable[[Object, A], A], acc: A) -> A:
        """fn(object, acc) over every object in traversal order (ets:foldl/3)."""
        return self._fold(lib.rets_table_foldl, fn, acc)

    def foldr(self, fn: Callable[[Object, A], A], acc: A) -> A:
        """fn(object, acc) over every object in reverse traversal order (ets:foldr/3)."""
        return self._fold(lib.rets_table_foldr, fn, acc)

    def _fold(self, c_fold: Any, fn: Callable[[Object, A], A], acc: A) -> A:
        if not callable(fn):
            raise ArgumentError(f"fold takes a function (object, acc) -> acc, not {fn!r:.80}")
        state = _Fold(fn, acc)
        handle = ffi.new_handle(state)
        status = c_fold(self._ptr, lib.py_rets_fold_fn, handle)
        if state.error is not None:
            raise state.error
        if status:
            fail(status)
        acc_out: A = state.acc
        return acc_out

    def _c_info(self) -> Any:
        c_info = ffi.new("rets_info *")
        status = lib.rets_table_info(self._ptr, c_info)
        if status:
            fail(status)
        return c_info

    def _key_position(self) -> int:
        if not self._keypos:
            self._keypos = int(self._c_info().keypos)
        return self._keypos

    # ---- the cache layer (see _cache) ----

    def cache_stats(self) -> "_cache.CacheStats":
        """The table's cache counters (all zero for a table made without cache options)."""
        c = ffi.new("rets_cache_stats *")
        status = lib.rets_table_cache_stats(self._ptr, c)
        if status:
            fail(status)
        return _cache.stats_of(c)

    def reset_cache_stats(self) -> None:
        status = lib.rets_table_cache_stats_reset(self._ptr)
        if status:
            fail(status)

    def record_load(self, seconds: float, ok: bool = True) -> None:
        """Counts one load from the data source behind the cache in the statistics."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise ArgumentError(f"seconds must be a number >= 0, not {seconds!r:.80}")
        if not isinstance(ok, bool):
            raise ArgumentError(f"ok must be a bool, not {ok!r:.80}")
        status = lib.rets_table_record_load(self._ptr, int(seconds * 1e9), ok)
        if status:
            fail(status)

    def purge_expired(self) -> int:
        """Removes the expired objects now (the engine also does it every second); how many."""
        removed = ffi.new("size_t *")
        status = lib.rets_table_purge_expired(self._ptr, removed)
        if status:
            fail(status)
        return int(removed[0])

    # ---- match specifications and patterns (see _query) ----

    def select(self, spec: "_query.SpecArg") -> list[Any]:
        """The results of the match specification on every matching object (ets:select/2).
        `spec` is a MatchSpec, or the specification itself (compiled for this call)."""
        return _query.list_call(lib.rets_table_select, self, (_query.compiled(spec)._ptr,))

    def select_reverse(self, spec: "_query.SpecArg") -> list[Any]:
        """select() in reverse traversal order (ets:select_reverse/2)."""
        return _query.list_call(lib.rets_table_select_reverse, self, (_query.compiled(spec)._ptr,))

    def select_count(self, spec: "_query.SpecArg") -> int:
        """How many objects the specification returns true for (ets:select_count/2)."""
        return _query.count_call(lib.rets_table_select_count, self, spec)

    def select_delete(self, spec: "_query.SpecArg") -> int:
        """Deletes the objects the specification returns true for; how many (ets:select_delete/2)."""
        return _query.count_call(lib.rets_table_select_delete, self, spec)

    def select_replace(self, spec: "_query.SpecArg") -> int:
        """Replaces each matching object with the specification's result, keeping its key;
        how many (ets:select_replace/2). Not on a bag."""
        return _query.count_call(lib.rets_table_select_replace, self, spec)

    def select_limit(self, spec: "_query.SpecArg", limit: int) -> Any:
        """The first `limit` results and a Continuation for the rest, or None if there is no
        result (ets:select/3)."""
        return _query.chunk_call(lib.rets_table_select_limit, self, (_query.compiled(spec)._ptr,),
                                 limit)

    def select_reverse_limit(self, spec: "_query.SpecArg", limit: int) -> Any:
        """select_limit() in reverse traversal order (ets:select_reverse/3)."""
        return _query.chunk_call(lib.rets_table_select_reverse_limit, self,
                                 (_query.compiled(spec)._ptr,), limit)

    def match(self, pattern: Term) -> list[Any]:
        """The bindings of the pattern's '$N' variables for every matching object, each a
        tuple in variable order (ets:match/2)."""
        return _query.list_call(lib.rets_table_match, self, _query.pattern_arg(pattern))

    def match_object(self, pattern: Term) -> list[Object]:
        """The objects that match the pattern (ets:match_object/2)."""
        return _query.list_call(lib.rets_table_match_object, self, _query.pattern_arg(pattern))

    def match_limit(self, pattern: Term, limit: int) -> Any:
        """match() in chunks: (first chunk, Continuation), or None (ets:match/3)."""
        return _query.chunk_call(lib.rets_table_match_limit, self, _query.pattern_arg(pattern),
                                 limit)

    def match_object_limit(self, pattern: Term, limit: int) -> Any:
        """match_object() in chunks: (first chunk, Continuation), or None (ets:match_object/3)."""
        return _query.chunk_call(lib.rets_table_match_object_limit, self,
                                 _query.pattern_arg(pattern), limit)

    def match_delete(self, pattern: Term) -> int:
        """Deletes every object that matches the pattern; how many (ets:match_delete/2)."""
        data, length = _query.pattern_arg(pattern)
        deleted = ffi.new("size_t *")
        status = lib.rets_table_match_delete(self._ptr, data, length, deleted)
        if status:
            fail(status)
        return int(deleted[0])

    def tab2file(self, path: "str | os.PathLike[str]") -> None:
        """Saves the table to the file at `path`, crash-safe (ets:tab2file/2)."""
        status = lib.rets_table_tab2file(self._ptr, _query.path_arg(path))
        if status:
            fail(status)

    # ---- traversal ----

    def first(self) -> Any:
        """The first key in traversal order, or END_OF_TABLE."""
        b = _bufs.borrow()
        return _key_step(lib.rets_table_first(self._ptr, b), b)

    def last(self) -> Any:
        """The last key (the first one on an unordered table), or END_OF_TABLE."""
        b = _bufs.borrow()
        return _key_step(lib.rets_table_last(self._ptr, b), b)

    def next(self, key: Term) -> Any:
        """The key after `key` (which need not be in the table), or END_OF_TABLE."""
        k = pack(key)
        b = _bufs.borrow()
        return _key_step(lib.rets_table_next(self._ptr, k, len(k), b), b)

    def prev(self, key: Term) -> Any:
        """The key before `key`, or END_OF_TABLE."""
        k = pack(key)
        b = _bufs.borrow()
        return _key_step(lib.rets_table_prev(self._ptr, k, len(k), b), b)

    def first_lookup(self) -> Any:
        """(first key, its objects), or END_OF_TABLE."""
        k_out, o_out = _bufs.borrow(), _bufs.borrow()
        return _pair_step(lib.rets_table_first_lookup(self._ptr, k_out, o_out), k_out, o_out)

    def last_lookup(self) -> Any:
        """(last key, its objects), or END_OF_TABLE."""
        k_out, o_out = _bufs.borrow(), _bufs.borrow()
        return _pair_step(lib.rets_table_last_lookup(self._ptr, k_out, o_out), k_out, o_out)

    def next_lookup(self, key: Term) -> Any:
        """(the key after `key`, its objects), or END_OF_TABLE."""
        k = pack(key)
        k_out, o_out = _bufs.borrow(), _bufs.borrow()
        status = lib.rets_table_next_lookup(self._ptr, k, len(k), k_out, o_out)
        return _pair_step(status, k_out, o_out)

    def prev_lookup(self, key: Term) -> Any:
        """(the key before `key`, its objects), or END_OF_TABLE."""
        k = pack(key)
        k_out, o_out = _bufs.borrow(), _bufs.borrow()
        status = lib.rets_table_prev_lookup(self._ptr, k, len(k), k_out, o_out)
        return _pair_step(status, k_out, o_out)

    # ---- the table itself ----

    def info(self) -> Info:
        """ets:info/1: type, access, keypos, owner and heir ids, size, memory..."""
        c_info = self._c_info()
        return Info(
            id=int(c_info.id),
            name=self.name,
            type=_TYPE_NAMES[c_info.table_type],
            access=_ACCESS_NAMES[c_info.access],
            keypos=int(c_info.keypos),
            named=bool(c_info.named),
            owner=int(c_info.owner),
            heir=int(c_info.heir) or None,
            size=int(c_info.size),
            memory=int(c_info.memory),
            read_concurrency=bool(c_info.read_concurrency),
            write_concurrency=bool(c_info.write_concurrency),
        )

    @property
    def name(self) -> str:
        """The table's current name."""
        b = _bufs.borrow()
        status = lib.rets_table_name(self._ptr, b)
        if status:
            _bufs.fail_with(status, b)
        return _bufs.take(b).rstrip(b"\0").decode("utf-8", "surrogatepass")

    def rename(self, new_name: str) -> None:
        """Renames the table (and its registration, for a named table)."""
        status = lib.rets_table_rename(self._ptr, name_arg(new_name))
        if status:
            fail(status)

    def give_away(self, to: "Owner", gift: Term = None) -> None:
        """Hands the table to `to`, which receives it (with `gift`) from recv_transfer()."""
        g = pack(gift)
        status = lib.rets_table_give_away(self._ptr, owner_arg("to", to)._acquire(), g, len(g))
        to._release()
        if status:
            fail(status)

    def set_heir(self, heir: Optional["Owner"], data: Term = None) -> None:
        """Sets (or with None, removes) the owner that inherits the table, and its gift."""
        d = pack(data)
        if heir is None:
            status = lib.rets_table_set_heir(self._ptr, ffi.NULL, d, len(d))
        else:
            status = lib.rets_table_set_heir(self._ptr, owner_arg("heir", heir)._acquire(), d, len(d))
            heir._release()
        if status:
            fail(status)

    def delete(self) -> None:
        """Deletes the table (ets:delete/1): every handle to it then raises NoTableError."""
        status = lib.rets_table_delete(self._ptr)
        if status:
            fail(status)

    def __enter__(self) -> "Table":
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.delete()
        except NoTableError:
            pass

    def __repr__(self) -> str:
        try:
            return f"<rets.Table {self.name!r}>"
        except NoTableError:
            return "<rets.Table (deleted)>"


def _copy(b: Any) -> bytes:
    """The bytes of buffer `b`, copied (the buffer stays with its borrower)."""
    v = lib.pyrets_buf_bytes(b)
    data: bytes = ffi.unpack(v.data, v.len)
    return data


def _key_step(status: int, b: Any) -> Any:
    if status == lib.RETS_STATUS_END_OF_TABLE:
        _bufs.give_back(b)
        return END_OF_TABLE
    if status:
        _bufs.fail_with(status, b)
    return unpack(_bufs.take(b))


def _pair_step(status: int, k_out: Any, o_out: Any) -> Any:
    if status == lib.RETS_STATUS_END_OF_TABLE:
        _bufs.give_back(k_out)
        _bufs.give_back(o_out)
        return END_OF_TABLE
    if status:
        _bufs.fail_with(status, k_out, o_out)
    return unpack(_bufs.take(k_out)), list(unpack(_bufs.take(o_out)))


def fill_counter_op(c_op: Any, spec: Any, after_key: int) -> None:
    if isinstance(spec, int) and not isinstance(spec, bool):
        c_op.pos, c_op.incr = after_key, int64_arg("incr", spec)
    elif isinstance(spec, tuple) and len(spec) == 2:
        c_op.pos, c_op.incr = size_arg("pos", spec[0]), int64_arg("incr", spec[1])
    elif isinstance(spec, tuple) and len(spec) == 4:
        c_op.pos, c_op.incr = size_arg("pos", spec[0]), int64_arg("incr", spec[1])
        c_op.has_threshold = True
        c_op.threshold = int64_arg("threshold", spec[2])
        c_op.set_value = int64_arg("set_value", spec[3])
    else:
        raise ArgumentError(
            "a counter update is incr, (pos, incr) or (pos, incr, threshold, set_value), "
            f"not {spec!r:.80}"
        )


class _Fold:
    """The state of a fold while the engine calls back: the function, the accumulator, and the
    exception the function raised (re-raised once the engine returns)."""

    __slots__ = ("fn", "acc", "error")

    def __init__(self, fn: Callable[[Object, Any], Any], acc: Any) -> None:
        self.fn = fn
        self.acc = acc
        self.error: Optional[BaseException] = None


@ffi.def_extern()  # type: ignore[untyped-decorator]
def py_rets_fold_fn(ctx: Any, data: Any, length: int) -> bool:
    state: _Fold = ffi.from_handle(ctx)
    try:
        state.acc = state.fn(unpack(ffi.buffer(data, length)), state.acc)
        return True
    except BaseException as e:  # stops the fold; the error is raised after the engine returns
        state.error = e
        return False
