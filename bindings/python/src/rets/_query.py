"""Match specifications and the select/match family (rets_matchspec_*, rets_table_select*,
rets_table_match*, rets_select_cont_*), and table files (rets_table_tab2file, rets_file2tab,
rets_tabfile_info).

A match specification is written as in ETS, with tuples and rets.Atom:
`[((Atom("$1"), Atom("$2")), [(Atom(">"), Atom("$2"), 10)], [Atom("$1")])]`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, List, Optional, Union

from . import _bufs
from ._errors import ArgumentError, fail
from ._rets_cffi import ffi, lib
from ._terms import Term, pack, unpack

if TYPE_CHECKING:
    from ._owner import Owner
    from ._table import Table


class MatchSpec:
    """A compiled match specification (rets_matchspec_compile), reusable by any number of
    selects on any table, from any thread. The Table methods also take the spec itself and
    compile it for the one call."""

    __slots__ = ("_ptr", "spec")

    def __init__(self, spec: Term) -> None:
        data = pack(spec)
        out = ffi.new("rets_matchspec **")
        status = lib.rets_matchspec_compile(data, len(data), out)
        if status:
            fail(status)
        self._ptr = ffi.gc(out[0], lib.rets_matchspec_free)
        self.spec = spec

    def __repr__(self) -> str:
        return f"rets.MatchSpec({self.spec!r:.200})"


SpecArg = Union[MatchSpec, Term]


def compiled(spec: SpecArg) -> MatchSpec:
    return spec if isinstance(spec, MatchSpec) else MatchSpec(spec)


def limit_arg(limit: object) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ArgumentError(f"limit must be an int >= 1, not {limit!r:.80}")
    return limit


class Continuation:
    """The rest of a chunked select or match (ETS's continuation): next() gives the next chunk
    (a list), or None when nothing is left; iterating gives the chunks. One thread at a time."""

    __slots__ = ("_ptr", "_done")

    def __init__(self, ptr: Any) -> None:
        self._ptr = ffi.gc(ptr, lib.rets_select_cont_free)
        self._done = False

    def next(self) -> Optional[List[Any]]:
        if self._done:
            return None
        b = _bufs.borrow()
        status = lib.rets_select_cont_next(self._ptr, b)
        if status == lib.RETS_STATUS_END_OF_TABLE:
            _bufs.give_back(b)
            self._done = True
            return None
        if status:
            _bufs.fail_with(status, b)
        return list(unpack(_bufs.take(b)))

    def __iter__(self) -> Iterator[List[Any]]:
        while True:
            chunk = self.next()
            if chunk is None:
                return
            yield chunk


Chunk = Optional["tuple[List[Any], Continuation]"]


def list_call(c_fn: Any, table: "Table", arg: Any) -> List[Any]:
    """A call writing one MessagePack array into a buffer (select, match, ...)."""
    b = _bufs.borrow()
    status = c_fn(table._ptr, *arg, b)
    if status:
        _bufs.fail_with(status, b)
    return list(unpack(_bufs.take(b)))


def count_call(c_fn: Any, table: "Table", spec: SpecArg) -> int:
    out = ffi.new("size_t *")
    status = c_fn(table._ptr, compiled(spec)._ptr, out)
    if status:
        fail(status)
    return int(out[0])


def chunk_call(c_fn: Any, table: "Table", arg: Any, limit: int) -> Any:
    """The first chunk of a chunked call and its continuation, or None if there is no result
    (ETS's '$end_of_table')."""
    b = _bufs.borrow()
    cont = ffi.new("rets_select_cont **")
    status = c_fn(table._ptr, *arg, limit_arg(limit), b, cont)
    if status == lib.RETS_STATUS_END_OF_TABLE:
        _bufs.give_back(b)
        return None
    if status:
        _bufs.fail_with(status, b)
    return list(unpack(_bufs.take(b))), Continuation(cont[0])


def pattern_arg(pattern: Term) -> "tuple[bytes, int]":
    data = pack(pattern)
    return data, len(data)


def path_arg(path: "Union[str, os.PathLike[str]]") -> bytes:
    if not isinstance(path, (str, os.PathLike)):
        raise ArgumentError(f"a path is a str or os.PathLike, not {type(path).__name__}")
    encoded = os.fspath(path).encode("utf-8", "surrogatepass")
    if b"\0" in encoded:
        raise ArgumentError(f"a path cannot contain a NUL character: {path!r:.80}")
    return encoded


@dataclass(frozen=True)
class FileInfo:
    """rets_tabfile_info(): what a table file records (ETS tabfile_info/1)."""

    name: str
    version: int
    type: str
    access: str
    keypos: int
    named: bool
    read_concurrency: bool
    write_concurrency: bool
    object_count: int


def tabfile_info(path: "Union[str, os.PathLike[str]]") -> FileInfo:
    """The header and trailer of the table file at `path` (its objects are not read)."""
    from ._table import _ACCESS_NAMES, _TYPE_NAMES

    c_info = ffi.new("rets_fileinfo *")
    b = _bufs.borrow()
    status = lib.rets_tabfile_info(path_arg(path), c_info, b)
    if status:
        _bufs.fail_with(status, b)
    return FileInfo(
        name=_bufs.take(b).rstrip(b"\0").decode("utf-8", "surrogatepass"),
        version=int(c_info.version),
        type=_TYPE_NAMES[c_info.table_type],
        access=_ACCESS_NAMES[c_info.access],
        keypos=int(c_info.keypos),
        named=bool(c_info.named),
        read_concurrency=bool(c_info.read_concurrency),
        write_concurrency=bool(c_info.write_concurrency),
        object_count=int(c_info.object_count),
    )


def file2tab(owner: "Owner", path: "Union[str, os.PathLike[str]]", verify: bool) -> Any:
    from ._table import Table

    if not isinstance(verify, bool):
        raise ArgumentError(f"verify must be a bool, not {verify!r:.80}")
    c_path = path_arg(path)
    out = ffi.new("rets_table **")
    ptr = owner._acquire()
    try:
        status = lib.rets_file2tab(ptr, c_path, verify, out)
        if status == 0:
            owner._watch(out[0])
    finally:
        owner._release()
    if status:
        fail(status)
    return Table(out[0], owner)
