//! `rets_buf`: a reusable, library-owned result buffer.

use crate::boundary::{arg_ref, boundary, from_handle, into_handle, release, Out};
use crate::status::rets_status;

/// A growable byte buffer that rets writes results into (objects, keys, names, gifts). Reuse one
/// for many calls: it keeps its capacity, so once it has grown to the largest result, calls
/// allocate nothing for their output.
///
/// The data is always followed by a NUL byte that rets_buf_len() does not count, so a name
/// written into a buffer can be used as a C string.
///
/// Thread-safety: a buffer may move between threads, but must not be used by two threads at
/// once (one call writing into it while another reads it is a data race).
#[allow(non_camel_case_types)]
pub struct rets_buf {
    /// The result followed by one NUL byte (empty before the first result).
    bytes: Vec<u8>,
}

impl rets_buf {
    /// Starts a new result: clears the buffer, keeping its capacity.
    pub(crate) fn begin(&mut self) -> &mut Vec<u8> {
        self.bytes.clear();
        &mut self.bytes
    }

    /// Ends the result started by [`rets_buf::begin`] (appends the NUL terminator).
    pub(crate) fn finish(&mut self) {
        self.bytes.push(0);
    }

    /// Replaces the contents with `data`.
    pub(crate) fn set(&mut self, data: &[u8]) {
        self.begin().extend_from_slice(data);
        self.finish();
    }

    /// Whether `bytes` lies in this buffer's memory (so writing the buffer would change it).
    pub(crate) fn contains(&self, bytes: &[u8]) -> bool {
        let start = self.bytes.as_ptr() as usize;
        let end = start + self.bytes.capacity();
        let at = bytes.as_ptr() as usize;
        !bytes.is_empty() && at >= start && at < end
    }

    pub(crate) fn data(&self) -> &[u8] {
        match self.bytes.split_last() {
            Some((_, data)) => data,
            None => &[],
        }
    }
}

/// Creates an empty buffer and stores it in `*out`.
///
/// Ownership: the caller owns the buffer and frees it with rets_buf_free().
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT` (`out` is NULL).
#[no_mangle]
pub extern "C" fn rets_buf_new(out: *mut *mut rets_buf) -> rets_status {
    boundary(|| {
        let out = Out::new(out, "out")?;
        out.write(into_handle(rets_buf {
            bytes: Vec::with_capacity(64),
        }));
        Ok(())
    })
}

/// Frees a buffer. NULL is ignored. Pointers obtained from rets_buf_data() become invalid.
///
/// Undefined behaviour: freeing a buffer twice, or while another thread uses it.
#[no_mangle]
pub extern "C" fn rets_buf_free(buf: *mut rets_buf) {
    release(|| drop(from_handle(buf)));
}

/// The bytes of the last result written into `buf` (followed by a NUL byte not counted in
/// rets_buf_len()); an empty, NUL-terminated string before the first result. Returns NULL only
/// if `buf` is NULL.
///
/// Ownership: the bytes belong to the buffer. The pointer is valid until the next call that
/// writes into `buf` (a successful call that takes it as an output) or rets_buf_free().
#[no_mangle]
pub extern "C" fn rets_buf_data(buf: *const rets_buf) -> *const u8 {
    match arg_ref(buf, "buf") {
        Ok(buf) if buf.bytes.is_empty() => c"".as_ptr().cast(),
        Ok(buf) => buf.bytes.as_ptr(),
        Err(_) => std::ptr::null(),
    }
}

/// The length in bytes of the last result written into `buf` (0 before the first result, or if
/// `buf` is NULL).
#[no_mangle]
pub extern "C" fn rets_buf_len(buf: *const rets_buf) -> usize {
    arg_ref(buf, "buf").map_or(0, |buf| buf.data().len())
}
