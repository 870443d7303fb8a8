//! The one error type of the engine. Every failure is a value of [`Error`] with a readable
//! message (its `Display`); a failed call changes nothing.

use crate::table::{Access, TableType};
use crate::term::TermError;

/// Why an operation failed. A failed operation leaves the table unchanged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The table was deleted (explicitly, or because its owner closed without an heir).
    #[error("no such table: table {name:?} was deleted")]
    NoTable { name: String },
    /// The handle acts for an owner that has been closed.
    #[error("owner {owner} is closed")]
    OwnerClosed { owner: u64 },
    /// The caller's access right does not allow the operation.
    #[error("access denied: {op} on {access} table {name:?} needs {need} access, which only its owner has")]
    Access {
        op: &'static str,
        access: Access,
        name: String,
        need: &'static str,
    },
    /// Only the table's owner may do this (give_away, setopts), even on a public table.
    #[error("not the owner: only the owner of table {name:?} may {op}")]
    NotOwner { op: &'static str, name: String },
    /// A malformed or unsupported term.
    #[error(transparent)]
    Term(#[from] TermError),
    /// An object must be a MessagePack array (an Erlang tuple).
    #[error("bad object: an object must be an array (tuple), got {got}")]
    NotAnArray { got: &'static str },
    /// The object has fewer elements than the table's keypos.
    #[error("bad object: it has {arity} element(s) but the table's key is at position {keypos}")]
    ObjectTooShort { arity: usize, keypos: usize },
    /// The key does not exist (lookup_element without default, update_counter without default).
    #[error("key not found")]
    KeyNotFound,
    /// A position outside the object (or 0: positions start at 1).
    #[error("bad position: {}", bad_position(*.pos, *.arity))]
    BadPosition { pos: usize, arity: usize },
    /// An update that would change the key.
    #[error("bad position: position {pos} is the key, which cannot be updated")]
    KeyPosition { pos: usize },
    /// The operation does not apply to this table type (e.g. update_counter on a bag).
    #[error("{op} is not supported on a {table_type} table")]
    WrongTableType {
        op: &'static str,
        table_type: TableType,
    },
    /// update_counter on an element that is not an integer.
    #[error("bad counter: the element at position {pos} is not an integer")]
    NotAnInteger { pos: usize },
    /// An integer result or argument outside the i64 range.
    #[error("counter overflow: the result does not fit a 64-bit signed integer")]
    Overflow,
    /// Another table already has this name.
    #[error("name taken: a named table {name:?} already exists")]
    NameTaken { name: String },
    /// A read-through load failed: its loader returned an error, panicked, or ended without a
    /// result. Every caller waiting for that load gets this error; nothing was cached.
    #[error("load failed: {message}")]
    LoadFailed { message: String },
    /// Waiting for another caller's load of the key took longer than the timeout given.
    #[error("load timed out: the load of this key by another caller did not finish within {waited_ms} ms")]
    LoadTimeout { waited_ms: u64 },
    /// A bounded table is full and refuses the write (`OnFull::Reject`, or a write larger
    /// than the bound); nothing changed.
    #[error("table full: table {name:?} is at its {limit}")]
    TableFull { name: String, limit: String },
    /// A match specification that cannot be compiled, or that select_replace cannot use.
    #[error("bad match specification: {0}")]
    BadMatchSpec(String),
    /// A table file that cannot be read as one: not a rets table file, a version this library
    /// does not read, truncated, or damaged (a checksum or count that does not match).
    #[error("bad table file {path:?}: {reason}")]
    BadFile { path: String, reason: String },
    /// The operating system refused a file operation (tab2file, file2tab, tabfile_info).
    #[error("file error on {path:?}: {reason}")]
    Io { path: String, reason: String },
    /// The objects under one key of a bag or duplicate_bag would exceed what one key may hold
    /// ([`crate::term::limits::MAX_KEY_OBJECTS`] objects, [`crate::term::limits::MAX_KEY_OBJECT_BYTES`]
    /// bytes with their record headers); nothing changed.
    #[error("key full: the objects under one key would be {objects} objects of {bytes} bytes, over the limit of {max_objects} objects or {max_bytes} bytes")]
    KeyFull {
        objects: usize,
        bytes: usize,
        max_objects: usize,
        max_bytes: usize,
    },
    /// An invalid argument, described.
    #[error("bad argument: {0}")]
    BadArgument(String),
}

/// The text of [`Error::BadPosition`]: position 0 is outside every object, whatever its arity.
fn bad_position(pos: usize, arity: usize) -> String {
    if pos == 0 {
        "0 is not a position (positions start at 1)".into()
    } else {
        format!("{pos} is outside the object (arity {arity})")
    }
}

/// The result type of the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;
