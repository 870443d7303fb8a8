"""rets: ETS (Erlang Term Storage) for Python, a concurrent in-memory table engine.

A thin translation of librets's C ABI (include/rets.h): Owner and Table are its handles, every
table operation is one engine call, and the GIL is released inside each engine call.
"""

from ._errors import (
    AccessDeniedError,
    ArgumentError,
    EncodeError,
    Error,
    InternalError,
    KeyNotFoundError,
    NameTakenError,
    NoTableError,
    NotOwnerError,
    OperationError,
    OwnerClosedError,
    TermError,
)
from ._owner import Owner, Transfer, whereis
from ._rets_cffi import ffi as _ffi
from ._rets_cffi import lib as _lib
from ._table import END_OF_TABLE, Info, Object, Table
from ._terms import Term

__version__ = "0.1.0"


def engine_version() -> str:
    """The version of the linked librets (rets_version())."""
    return str(_ffi.string(_lib.rets_version()).decode())


__all__ = [
    "END_OF_TABLE",
    "AccessDeniedError",
    "ArgumentError",
    "EncodeError",
    "Error",
    "Info",
    "InternalError",
    "KeyNotFoundError",
    "NameTakenError",
    "NoTableError",
    "NotOwnerError",
    "Object",
    "OperationError",
    "Owner",
    "OwnerClosedError",
    "Table",
    "Term",
    "TermError",
    "Transfer",
    "engine_version",
    "whereis",
]
