//! Status codes and the per-thread error message.

use std::cell::RefCell;
use std::ffi::c_char;

use rets_core::term::TermError;
use rets_core::Error;

/// The result of every fallible rets call.
///
/// `RETS_STATUS_OK` is success. `RETS_STATUS_END_OF_TABLE`, `RETS_STATUS_NOT_FOUND` and
/// `RETS_STATUS_TIMEOUT` are ordinary outcomes, not failures (the end of a traversal, a name
/// that no table has, no transfer within the wait); every other code is a failure. For every
/// status other than `RETS_STATUS_OK`, rets_last_error_message() describes it, and the call's
/// outputs were not written.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum rets_status {
    /// Success.
    Ok = 0,
    /// Traversal: there is no key after (before) the one given, or the table is empty
    /// (ETS's `'$end_of_table'`).
    EndOfTable = 1,
    /// rets_whereis() / rets_owner_whereis(): no table is registered under that name.
    NotFound = 2,
    /// rets_owner_recv_transfer(): no transfer arrived within the timeout; rets_ticket_wait(),
    /// rets_table_get_or_load(): another caller's load did not finish within the timeout.
    Timeout = 3,
    /// A required pointer argument was NULL.
    NullArgument = 10,
    /// An argument is invalid: a name that is not UTF-8, an unknown enum value, an heir that
    /// is closed, an incomplete term in a builder, and the like. The message says which.
    InvalidArgument = 11,
    /// The table was deleted (explicitly, or because its owner closed without an heir).
    NoTable = 20,
    /// The handle acts for an owner that has been closed.
    OwnerClosed = 21,
    /// The table's access mode does not let this handle's owner do this.
    AccessDenied = 22,
    /// Only the table's owner may do this (give_away, set_heir).
    NotOwner = 23,
    /// Malformed MessagePack: truncated, trailing bytes, an invalid marker, a str that is not
    /// UTF-8.
    Malformed = 24,
    /// Well-formed MessagePack that rets does not accept: an ext type, NaN, a map with two
    /// equal keys.
    UnsupportedTerm = 25,
    /// A limit was exceeded: nesting depth, object size, key size, or the objects under one
    /// key of a bag (see docs/C-API.md).
    LimitExceeded = 26,
    /// An object must be a MessagePack array (a tuple).
    NotAnArray = 27,
    /// The object has fewer elements than the table's keypos.
    ObjectTooShort = 28,
    /// The key is absent (lookup_element without default, update_counters without default).
    KeyNotFound = 29,
    /// A position is 0 or outside the object.
    BadPosition = 30,
    /// An update would change the key (the position is the table's keypos).
    KeyPosition = 31,
    /// The operation does not apply to this table type (e.g. update_counter on a bag).
    WrongTableType = 32,
    /// update_counter on an element that is not an integer.
    NotAnInteger = 33,
    /// An integer result does not fit the type asked for (a counter outside int64_t, or a
    /// reader asked for an int64_t holding a larger value).
    Overflow = 34,
    /// Another named table already has this name.
    NameTaken = 35,
    /// A bounded table (`max_size` / `max_memory`) refused the write: it is full and rejects
    /// (`RETS_ON_FULL_REJECT`), or the write alone is larger than the bound. Nothing changed.
    TableFull = 36,
    /// A read-through load failed: the loader called rets_ticket_fail() (the message is its
    /// message), returned without a result, or (Rust) panicked. Nothing was cached.
    LoadFailed = 37,
    /// A match specification (or match pattern) that cannot be compiled, or that
    /// rets_table_select_replace() cannot use (it would change keys). The message says why.
    BadMatchSpec = 38,
    /// Reading a table file: the file is not a rets table file, has a version
    /// this library does not read, is truncated, or is damaged. The message says which.
    BadFile = 39,
    /// The operating system refused a file operation; the message has its reason.
    Io = 41,
    /// rets_reader_*: the next value is not of the type asked for.
    WrongType = 40,
    /// A Rust panic was caught at the boundary: a bug in rets. The message has the panic text.
    Panic = 90,
    /// An engine error this version of the C API does not know (a bug in rets).
    Internal = 91,
}

/// The status of success, `RETS_STATUS_OK`. (Rust callers and tools that build a default
/// value of a C function's result, such as mutation testing's "do nothing and succeed", get
/// this one.)
impl Default for rets_status {
    fn default() -> rets_status {
        rets_status::Ok
    }
}

impl rets_status {
    fn name(self) -> &'static str {
        match self {
            rets_status::Ok => "RETS_STATUS_OK\0",
            rets_status::EndOfTable => "RETS_STATUS_END_OF_TABLE\0",
            rets_status::NotFound => "RETS_STATUS_NOT_FOUND\0",
            rets_status::Timeout => "RETS_STATUS_TIMEOUT\0",
            rets_status::NullArgument => "RETS_STATUS_NULL_ARGUMENT\0",
            rets_status::InvalidArgument => "RETS_STATUS_INVALID_ARGUMENT\0",
            rets_status::NoTable => "RETS_STATUS_NO_TABLE\0",
            rets_status::OwnerClosed => "RETS_STATUS_OWNER_CLOSED\0",
            rets_status::AccessDenied => "RETS_STATUS_ACCESS_DENIED\0",
            rets_status::NotOwner => "RETS_STATUS_NOT_OWNER\0",
            rets_status::Malformed => "RETS_STATUS_MALFORMED\0",
            rets_status::UnsupportedTerm => "RETS_STATUS_UNSUPPORTED_TERM\0",
            rets_status::LimitExceeded => "RETS_STATUS_LIMIT_EXCEEDED\0",
            rets_status::NotAnArray => "RETS_STATUS_NOT_AN_ARRAY\0",
            rets_status::ObjectTooShort => "RETS_STATUS_OBJECT_TOO_SHORT\0",
            rets_status::KeyNotFound => "RETS_STATUS_KEY_NOT_FOUND\0",
            rets_status::BadPosition => "RETS_STATUS_BAD_POSITION\0",
            rets_status::KeyPosition => "RETS_STATUS_KEY_POSITION\0",
            rets_status::WrongTableType => "RETS_STATUS_WRONG_TABLE_TYPE\0",
            rets_status::NotAnInteger => "RETS_STATUS_NOT_AN_INTEGER\0",
            rets_status::Overflow => "RETS_STATUS_OVERFLOW\0",
            rets_status::NameTaken => "RETS_STATUS_NAME_TAKEN\0",
            rets_status::TableFull => "RETS_STATUS_TABLE_FULL\0",
            rets_status::LoadFailed => "RETS_STATUS_LOAD_FAILED\0",
            rets_status::BadMatchSpec => "RETS_STATUS_BAD_MATCH_SPEC\0",
            rets_status::BadFile => "RETS_STATUS_BAD_FILE\0",
            rets_status::Io => "RETS_STATUS_IO\0",
            rets_status::WrongType => "RETS_STATUS_WRONG_TYPE\0",
            rets_status::Panic => "RETS_STATUS_PANIC\0",
            rets_status::Internal => "RETS_STATUS_INTERNAL\0",
        }
    }
}

/// The status of an engine error.
pub(crate) fn status_of(error: &Error) -> rets_status {
    match error {
        Error::NoTable { .. } => rets_status::NoTable,
        Error::OwnerClosed { .. } => rets_status::OwnerClosed,
        Error::Access { .. } => rets_status::AccessDenied,
        Error::NotOwner { .. } => rets_status::NotOwner,
        Error::Term(term) => match term {
            TermError::Truncated { .. }
            | TermError::TrailingBytes { .. }
            | TermError::InvalidMarker { .. }
            | TermError::InvalidUtf8 { .. } => rets_status::Malformed,
            TermError::ExtUnsupported { .. }
            | TermError::NaN { .. }
            | TermError::DuplicateMapKey { .. } => rets_status::UnsupportedTerm,
            TermError::TooDeep { .. } | TermError::TooLarge { .. } => rets_status::LimitExceeded,
        },
        Error::NotAnArray { .. } => rets_status::NotAnArray,
        Error::ObjectTooShort { .. } => rets_status::ObjectTooShort,
        Error::KeyNotFound => rets_status::KeyNotFound,
        Error::BadPosition { .. } => rets_status::BadPosition,
        Error::KeyPosition { .. } => rets_status::KeyPosition,
        Error::WrongTableType { .. } => rets_status::WrongTableType,
        Error::NotAnInteger { .. } => rets_status::NotAnInteger,
        Error::Overflow => rets_status::Overflow,
        Error::NameTaken { .. } => rets_status::NameTaken,
        Error::BadArgument(_) => rets_status::InvalidArgument,
        Error::KeyFull { .. } => rets_status::LimitExceeded,
        Error::TableFull { .. } => rets_status::TableFull,
        Error::LoadFailed { .. } => rets_status::LoadFailed,
        Error::LoadTimeout { .. } => rets_status::Timeout,
        Error::BadMatchSpec(_) => rets_status::BadMatchSpec,
        Error::BadFile { .. } => rets_status::BadFile,
        Error::Io { .. } => rets_status::Io,
        _ => rets_status::Internal,
    }
}

thread_local! {
    /// The message of the last failure on this thread, NUL-terminated. The vector is reused, so
    /// a warm thread records a failure without allocating (unless the message grows).
    static LAST_ERROR: RefCell<Vec<u8>> = RefCell::new(b"no error\0".to_vec());
}

/// Records `message` as this thread's last error.
pub(crate) fn set_last_error(message: std::fmt::Arguments<'_>) {
    use std::io::Write;
    LAST_ERROR.with(|last| {
        let mut last = last.borrow_mut();
        last.clear();
        // Writing to a Vec cannot fail; a NUL inside the message would cut it short in C, so
        // it is replaced.
        let _ = last.write_fmt(message);
        for byte in last.iter_mut() {
            if *byte == 0 {
                *byte = b'?';
            }
        }
        last.push(0);
    });
}

/// The message describing the most recent call on this thread that returned a status other than
/// `RETS_STATUS_OK`, as a NUL-terminated UTF-8 string (`"no error"` if there has been none).
///
/// Ownership: the string belongs to rets; do not free it. It stays valid, unchanged, until the
/// next rets call on this thread that returns a status other than `RETS_STATUS_OK` (successful
/// calls leave it alone), or until the thread exits. Copy it to keep it longer.
///
/// Thread-safety: each thread has its own message, as with `errno`.
///
/// Never fails; never returns NULL.
#[no_mangle]
pub extern "C" fn rets_last_error_message() -> *const c_char {
    LAST_ERROR.with(|last| last.borrow().as_ptr().cast())
}

/// The name of a status as a static NUL-terminated string, e.g. `"RETS_STATUS_NO_TABLE"`
/// (`"RETS_STATUS_UNKNOWN"` for a value that is not a rets_status).
///
/// Ownership: static; do not free. Thread-safety: any thread. Never fails; never returns NULL.
#[no_mangle]
pub extern "C" fn rets_status_name(status: u32) -> *const c_char {
    // The argument is an integer so that any value a C caller passes is defined behaviour.
    let known = STATUS_BY_CODE
        .iter()
        .find(|s| **s as u32 == status)
        .map_or("RETS_STATUS_UNKNOWN\0", |s| s.name());
    known.as_ptr().cast()
}

const STATUS_BY_CODE: [rets_status; 30] = [
    rets_status::Ok,
    rets_status::EndOfTable,
    rets_status::NotFound,
    rets_status::Timeout,
    rets_status::NullArgument,
    rets_status::InvalidArgument,
    rets_status::NoTable,
    rets_status::OwnerClosed,
    rets_status::AccessDenied,
    rets_status::NotOwner,
    rets_status::Malformed,
    rets_status::UnsupportedTerm,
    rets_status::LimitExceeded,
    rets_status::NotAnArray,
    rets_status::ObjectTooShort,
    rets_status::KeyNotFound,
    rets_status::BadPosition,
    rets_status::KeyPosition,
    rets_status::WrongTableType,
    rets_status::NotAnInteger,
    rets_status::Overflow,
    rets_status::NameTaken,
    rets_status::TableFull,
    rets_status::LoadFailed,
    rets_status::BadMatchSpec,
    rets_status::BadFile,
    rets_status::WrongType,
    rets_status::Io,
    rets_status::Panic,
    rets_status::Internal,
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn every_status_has_its_own_name() {
        let mut names = std::collections::HashSet::new();
        for status in STATUS_BY_CODE {
            // SAFETY: rets_status_name returns a static NUL-terminated string.
            let name = unsafe { CStr::from_ptr(rets_status_name(status as u32)) };
            let name = name.to_str().unwrap();
            assert!(name.starts_with("RETS_STATUS_"));
            assert!(names.insert(name.to_owned()), "duplicate name {name}");
        }
        // Every status the header declares is in the table (a status missing from it would be
        // named RETS_STATUS_UNKNOWN).
        let declared = include_str!("../../include/rets.h")
            .lines()
            .filter(|l| l.trim_start().starts_with("RETS_STATUS_") && l.contains(" = "))
            .count();
        assert_eq!(
            declared,
            STATUS_BY_CODE.len(),
            "rets.h declares {declared} statuses"
        );
        // SAFETY: as above.
        let unknown = unsafe { CStr::from_ptr(rets_status_name(12345)) };
        assert_eq!(unknown.to_str().unwrap(), "RETS_STATUS_UNKNOWN");
    }
}
