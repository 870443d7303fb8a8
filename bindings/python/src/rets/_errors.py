"""The exception hierarchy: one rets.Error base, one subclass per family of C ABI statuses.

Each exception carries the engine's status (its number and name) and the engine's message,
read from rets_last_error_message() on the thread that made the failing call.
"""

from __future__ import annotations

from typing import NoReturn, Optional

from ._rets_cffi import ffi, lib


class Error(Exception):
    """Every error rets raises. `status` is the rets_status (None for an error found by the
    binding before calling the engine), `status_name` its name, `message` the engine's text."""

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.status_name = (
            ffi.string(lib.rets_status_name(status)).decode() if status is not None else None
        )


class ArgumentError(Error, ValueError):
    """An argument is invalid (a name with a NUL, an unknown table type, a closed heir...)."""


class EncodeError(Error, TypeError):
    """A Python value that has no term: an unsupported type, or an int outside the 64-bit range."""


class TermError(Error, ValueError):
    """A term or object the engine refuses: malformed, unsupported, too deep or too large, an
    object that is not a tuple or is shorter than the table's keypos."""


class NoTableError(Error):
    """The table was deleted (explicitly, or because its owner closed without an heir)."""


class OwnerClosedError(Error):
    """The handle acts for an owner that has been closed."""


class AccessDeniedError(Error, PermissionError):
    """The table's access mode does not let this handle's owner do this."""


class NotOwnerError(AccessDeniedError):
    """Only the table's owner may do this (give_away, set_heir)."""


class NameTakenError(Error):
    """Another named table already has this name."""


class OperationError(Error, ValueError):
    """An operation that does not apply (ETS's badarg): a bad position, a counter that is not
    an integer or would overflow, the wrong table type, an update of the key."""


class KeyNotFoundError(OperationError, KeyError):
    """The key is absent (lookup_element or update_counter without a default)."""

    def __str__(self) -> str:  # KeyError would show the repr of the message
        return self.message


class TableFullError(Error):
    """A bounded table that rejects when full is full (or the object exceeds its bound)."""


class LoadFailedError(Error):
    """A read-through load failed: the loader raised (its message), or its object was refused."""


class MatchSpecError(Error, ValueError):
    """A match specification or pattern that is not valid (the message names the clause)."""


class BadFileError(Error, ValueError):
    """Not a rets table file, a future version, truncated or damaged (the message says which)."""


class FileError(Error, OSError):
    """The operating system refused a file operation (the message has its reason)."""


class InternalError(Error):
    """A bug in rets (a caught panic, an unknown engine error)."""


_FAMILY_OF_STATUS: dict[str, type[Error]] = {
    "RETS_STATUS_NULL_ARGUMENT": ArgumentError,
    "RETS_STATUS_INVALID_ARGUMENT": ArgumentError,
    "RETS_STATUS_NO_TABLE": NoTableError,
    "RETS_STATUS_OWNER_CLOSED": OwnerClosedError,
    "RETS_STATUS_ACCESS_DENIED": AccessDeniedError,
    "RETS_STATUS_NOT_OWNER": NotOwnerError,
    "RETS_STATUS_NAME_TAKEN": NameTakenError,
    "RETS_STATUS_MALFORMED": TermError,
    "RETS_STATUS_UNSUPPORTED_TERM": TermError,
    "RETS_STATUS_LIMIT_EXCEEDED": TermError,
    "RETS_STATUS_NOT_AN_ARRAY": TermError,
    "RETS_STATUS_OBJECT_TOO_SHORT": TermError,
    "RETS_STATUS_KEY_NOT_FOUND": KeyNotFoundError,
    "RETS_STATUS_BAD_POSITION": OperationError,
    "RETS_STATUS_KEY_POSITION": OperationError,
    "RETS_STATUS_WRONG_TABLE_TYPE": OperationError,
    "RETS_STATUS_NOT_AN_INTEGER": OperationError,
    "RETS_STATUS_OVERFLOW": OperationError,
    "RETS_STATUS_TABLE_FULL": TableFullError,
    "RETS_STATUS_LOAD_FAILED": LoadFailedError,
    "RETS_STATUS_BAD_MATCH_SPEC": MatchSpecError,
    "RETS_STATUS_BAD_FILE": BadFileError,
    "RETS_STATUS_IO": FileError,
    "RETS_STATUS_PANIC": InternalError,
    "RETS_STATUS_INTERNAL": InternalError,
}


# By name, so that the mapping follows the header: a status this header lacks is skipped.
_FAMILIES = {
    getattr(lib, name): family for name, family in _FAMILY_OF_STATUS.items() if hasattr(lib, name)
}


def error_for(status: int) -> Error:
    """The exception for a failed call, made on the thread that made the call."""
    message = ffi.string(lib.rets_last_error_message()).decode("utf-8", "replace")
    # A status this version of the binding does not know still raises, as the base class.
    return _FAMILIES.get(status, Error)(message, status)


def fail(status: int) -> NoReturn:
    raise error_for(status)
