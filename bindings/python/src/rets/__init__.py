"""rets: ETS (Erlang Term Storage) for Python, a concurrent in-memory table engine.

A thin translation of librets's C ABI (include/rets.h): Owner and Table are its handles, every
table operation is one engine call, and the GIL is released inside each engine call.
"""

from ._errors import (
    AccessDeniedError,
    ArgumentError,
    BadFileError,
    EncodeError,
    Error,
    InternalError,
    FileError,
    KeyNotFoundError,
    LoadFailedError,
    MatchSpecError,
    NameTakenError,
    NoTableError,
    NotOwnerError,
    OperationError,
    OwnerClosedError,
    TableFullError,
    TermError,
)
from ._cache import CacheStats, ManualClock
from ._flight import LoadTimeoutError, Ticket
from ._owner import Owner, Transfer, whereis
from ._rets_cffi import ffi as _ffi
from ._rets_cffi import lib as _lib
from ._table import END_OF_TABLE, Info, Object, Table
from ._pin import Pin
from ._query import Continuation, FileInfo, MatchSpec, tabfile_info
from ._terms import Atom, Term

__version__ = "0.1.0"


def engine_version() -> str:
    """The version of the linked librets (rets_version())."""
    return str(_ffi.string(_lib.rets_version()).decode())


__all__ = [
    "END_OF_TABLE",
    "AccessDeniedError",
    "ArgumentError",
    "Atom",
    "BadFileError",
    "CacheStats",
    "Continuation",
    "EncodeError",
    "Error",
    "FileError",
    "FileInfo",
    "Info",
    "InternalError",
    "KeyNotFoundError",
    "LoadFailedError",
    "LoadTimeoutError",
    "ManualClock",
    "MatchSpec",
    "MatchSpecError",
    "NameTakenError",
    "NoTableError",
    "NotOwnerError",
    "Object",
    "OperationError",
    "Owner",
    "OwnerClosedError",
    "Pin",
    "Table",
    "TableFullError",
    "Term",
    "TermError",
    "Ticket",
    "Transfer",
    "engine_version",
    "tabfile_info",
    "whereis",
]
