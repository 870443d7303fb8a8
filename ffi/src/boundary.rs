//! The boundary between C and Rust: every exported function runs its body through [`boundary`],
//! which catches panics and records failures, and reads its arguments through the helpers here,
//! which check every pointer. This module holds the crate's pointer dereferences of arguments.
//!
//! The caller's contract (stated in rets.h): a non-NULL pointer argument points to a valid,
//! properly aligned value of its type (for a handle: one returned by rets and not yet freed),
//! and a (pointer, length) pair points to that many readable bytes; an output pointer points to
//! writable storage. Under that contract, every `unsafe` block below is sound.

use std::borrow::Cow;
use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use rets_core::Error;

use crate::status::{rets_status, set_last_error, status_of};

/// Why a call failed (or ended without a result), before it becomes a status and a message.
#[derive(Debug)]
pub(crate) enum Failure {
    /// An engine error.
    Core(Error),
    /// A status with a message.
    Message(rets_status, Cow<'static, str>),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure::Core(error)
    }
}

impl Failure {
    pub(crate) fn new(status: rets_status, message: impl Into<Cow<'static, str>>) -> Failure {
        Failure::Message(status, message.into())
    }

    pub(crate) fn invalid(message: impl Into<Cow<'static, str>>) -> Failure {
        Failure::new(rets_status::InvalidArgument, message)
    }
}

pub(crate) type Outcome<T = ()> = Result<T, Failure>;

/// Runs `body`, turning its outcome into a status: `Ok` for success; otherwise the failure's
/// status, with its message recorded for rets_last_error_message(). A panic becomes
/// `RETS_STATUS_PANIC`; it never crosses into C.
pub(crate) fn boundary(body: impl FnOnce() -> Outcome) -> rets_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => rets_status::Ok,
        Ok(Err(Failure::Core(error))) => {
            set_last_error(format_args!("{error}"));
            status_of(&error)
        }
        Ok(Err(Failure::Message(status, message))) => {
            set_last_error(format_args!("{message}"));
            status
        }
        Err(payload) => {
            let text = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("(no message)");
            set_last_error(format_args!(
                "internal error (a bug in rets): panic: {text}"
            ));
            rets_status::Panic
        }
    }
}

fn null(name: &'static str) -> Failure {
    Failure::new(
        rets_status::NullArgument,
        format!("the argument `{name}` is NULL"),
    )
}

/// A shared reference to the value behind a non-NULL pointer argument.
pub(crate) fn arg_ref<'a, T>(ptr: *const T, name: &'static str) -> Outcome<&'a T> {
    if ptr.is_null() {
        return Err(null(name));
    }
    // SAFETY: non-NULL, and by the caller's contract it points to a valid `T` that lives for
    // the call (handles until freed, which the caller may not do concurrently).
    Ok(unsafe { &*ptr })
}

/// An exclusive reference to the value behind a non-NULL pointer argument.
pub(crate) fn arg_mut<'a, T>(ptr: *mut T, name: &'static str) -> Outcome<&'a mut T> {
    if ptr.is_null() {
        return Err(null(name));
    }
    // SAFETY: non-NULL and valid by the caller's contract; types passed mutably (buffers,
    // builders, readers) are documented as used by one thread at a time, so nothing else
    // accesses the value during the call.
    Ok(unsafe { &mut *ptr })
}

/// The bytes of a (pointer, length) argument. NULL is accepted only with length 0.
pub(crate) fn arg_bytes<'a>(ptr: *const u8, len: usize, name: &'static str) -> Outcome<&'a [u8]> {
    if ptr.is_null() {
        return if len == 0 { Ok(&[]) } else { Err(null(name)) };
    }
    if len > isize::MAX as usize {
        return Err(Failure::invalid(format!(
            "the length of `{name}` is too large"
        )));
    }
    // SAFETY: non-NULL, and by the caller's contract `len` bytes from `ptr` are readable and
    // not written during the call; `len` fits an isize.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Optional bytes: NULL with length 0 means absent (NULL with a nonzero length is refused).
pub(crate) fn arg_opt_bytes<'a>(
    ptr: *const u8,
    len: usize,
    name: &'static str,
) -> Outcome<Option<&'a [u8]>> {
    if ptr.is_null() {
        return if len == 0 { Ok(None) } else { Err(null(name)) };
    }
    arg_bytes(ptr, len, name).map(Some)
}

/// A slice of `len` values of `T` (NULL accepted only with length 0).
pub(crate) fn arg_slice<'a, T>(ptr: *const T, len: usize, name: &'static str) -> Outcome<&'a [T]> {
    if ptr.is_null() {
        return if len == 0 { Ok(&[]) } else { Err(null(name)) };
    }
    if len
        .checked_mul(std::mem::size_of::<T>())
        .is_none_or(|n| n > isize::MAX as usize)
    {
        return Err(Failure::invalid(format!(
            "the length of `{name}` is too large"
        )));
    }
    // SAFETY: non-NULL and aligned; by the caller's contract `len` valid values of `T` are
    // readable at `ptr` for the call; the total size fits an isize.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A NUL-terminated UTF-8 string argument.
pub(crate) fn arg_str<'a>(ptr: *const c_char, name: &'static str) -> Outcome<&'a str> {
    if ptr.is_null() {
        return Err(null(name));
    }
    // SAFETY: non-NULL, and by the caller's contract a NUL-terminated string readable for the
    // call.
    let cstr = unsafe { CStr::from_ptr(ptr) };
    cstr.to_str()
        .map_err(|_| Failure::invalid(format!("the argument `{name}` is not valid UTF-8")))
}

/// An output location, checked before the work is done and written after it succeeds.
#[derive(Debug)]
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    /// Checks that the output pointer is not NULL.
    pub(crate) fn new(ptr: *mut T, name: &'static str) -> Outcome<Out<T>> {
        if ptr.is_null() {
            return Err(null(name));
        }
        Ok(Out(ptr))
    }

    /// Writes the result. The previous value is overwritten, not dropped (outputs are plain C
    /// values: integers, booleans, handle pointers).
    pub(crate) fn write(self, value: T) {
        // SAFETY: non-NULL (checked in `new`), and by the caller's contract valid and aligned
        // for writing a `T`; `write` does not read or drop the old value, which may be
        // uninitialised.
        unsafe { self.0.write(value) }
    }
}

/// An optional output location (NULL: the caller does not want it).
pub(crate) struct OptOut<T>(*mut T);

impl<T> OptOut<T> {
    pub(crate) fn new(ptr: *mut T) -> OptOut<T> {
        OptOut(ptr)
    }

    pub(crate) fn write(self, value: T) {
        if !self.0.is_null() {
            // SAFETY: as in `Out::write`; NULL was excluded just above.
            unsafe { self.0.write(value) }
        }
    }
}

/// Moves `value` to the heap and hands its ownership to C.
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Takes back ownership of a handle made by [`into_handle`] (NULL gives `None`).
pub(crate) fn from_handle<T>(ptr: *mut T) -> Option<Box<T>> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: by the caller's contract a non-NULL handle passed to a _free/_close function was
    // made by `into_handle` for this type and is not used again (by any thread) after this call.
    Some(unsafe { Box::from_raw(ptr) })
}

/// Runs a void release function, so that a panic in a destructor cannot cross into C either.
pub(crate) fn release(body: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(body)).is_err() {
        set_last_error(format_args!(
            "internal error (a bug in rets): panic while releasing a handle"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn message() -> String {
        // SAFETY: rets_last_error_message returns a valid NUL-terminated string.
        unsafe { CStr::from_ptr(crate::status::rets_last_error_message()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn a_panic_becomes_a_status_with_its_message() {
        let status = boundary(|| panic!("boom {}", 42));
        assert_eq!(status, rets_status::Panic);
        assert!(message().contains("panic: boom 42"), "{}", message());
        // Success leaves the message alone.
        assert_eq!(boundary(|| Ok(())), rets_status::Ok);
        assert!(message().contains("boom 42"));
    }

    #[test]
    fn failures_set_their_status_and_message() {
        let status = boundary(|| Err(Error::KeyNotFound.into()));
        assert_eq!(status, rets_status::KeyNotFound);
        assert_eq!(message(), "key not found");
        let status = boundary(|| Err(Failure::invalid("bad \0 thing")));
        assert_eq!(status, rets_status::InvalidArgument);
        assert_eq!(message(), "bad ? thing");
    }

    #[test]
    fn null_pointers_are_refused() {
        assert!(arg_ref::<u8>(std::ptr::null(), "x").is_err());
        assert!(arg_bytes(std::ptr::null(), 1, "x").is_err());
        assert!(arg_bytes(std::ptr::null(), 0, "x").unwrap().is_empty());
        assert!(arg_opt_bytes(std::ptr::null(), 0, "x").unwrap().is_none());
        assert!(arg_opt_bytes(std::ptr::null(), 2, "x").is_err());
        assert!(arg_str(std::ptr::null(), "x").is_err());
        assert!(Out::<u8>::new(std::ptr::null_mut(), "x").is_err());
    }
}
