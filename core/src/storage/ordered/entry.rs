//! A stored object in one allocation: a small header, then the canonical bytes. A lookup that
//! reaches a leaf slot reads the key and the object from one place (one cache miss, not two as
//! with a boxed [`Object`] that points to its bytes).
//!
//! On a table with both a lifetime and an idle lifetime, an entry whose object has a lifetime
//! keeps its end in 8 more bytes after the object (see `crate::cache::Expiry`), flagged in
//! `len`.
//!
//! All the unsafe code of the representation is here.

use std::alloc::{handle_alloc_error, Layout};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64};

use super::node::Canary;
use crate::cache::{Expiry, Stamp};
use crate::object::{Object, ObjectRef};
use crate::storage::pool;
use crate::storage::reclaim::Retire;

/// The header; the object's bytes follow it.
#[repr(C)]
struct Header {
    /// The cache layer's deadline (0: never); readers move it forward on a table with an
    /// idle lifetime.
    expires_at: AtomicU64,
    /// The object's length, and [`HAS_END`].
    len: u32,
    key_start: u32,
    key_end: u32,
    /// The cache layer's use bit: set by readers of a bounded table, cleared by the eviction
    /// hand.
    recency: AtomicU32,
    /// Loom checks that an entry's creation happened before every read of it (zero-sized
    /// otherwise).
    canary: Canary,
}

/// The bit of `len` saying that the entry keeps the end of its object's lifetime after the
/// object (objects are at most 64 MiB: the bit is free).
const HAS_END: u32 = 1 << 31;

/// Bytes of a kept lifetime end.
const END_BYTES: usize = std::mem::size_of::<u64>();

/// A stored object (opaque: only ever behind a pointer from [`Entry::new`]).
pub(super) struct Entry {
    _header: Header,
}

/// The layout of an entry of an object of `len` bytes, with a kept end if `has_end`.
fn layout(len: usize, has_end: bool) -> Layout {
    let end = if has_end { END_BYTES } else { 0 };
    Layout::from_size_align(
        std::mem::size_of::<Header>() + len + end,
        std::mem::align_of::<Header>(),
    )
    .expect("objects are far smaller than isize::MAX")
}

impl Entry {
    /// Copies `object` into a new entry with the deadline (and kept end) of `stamp`.
    pub(super) fn new(object: &Object, stamp: Stamp) -> NonNull<Entry> {
        let view = object.view();
        let bytes = view.as_msgpack();
        let (key_start, key_end) = view.key_range();
        // Objects are at most `MAX_OBJECT_BYTES` (64 MiB), so these fit in u32 (and leave
        // HAS_END free).
        let len = u32::try_from(bytes.len()).expect("object size fits u32");
        assert!(len & HAS_END == 0, "objects are far smaller than 2 GiB");
        let header = Header {
            expires_at: AtomicU64::new(stamp.deadline),
            recency: AtomicU32::new(0),
            len: if stamp.end.is_some() {
                len | HAS_END
            } else {
                len
            },
            key_start,
            key_end,
            canary: Canary::new(),
        };
        let layout = layout(bytes.len(), stamp.end.is_some());
        // SAFETY: the layout has a non-zero size (the header); the header, the bytes and the
        // kept end (if any, unaligned) are written within it, the header at an aligned offset.
        unsafe {
            // From this thread's freed entries if it has one of the size (`storage::pool`).
            let p = pool::alloc(layout);
            let Some(p) = NonNull::new(p) else {
                handle_alloc_error(layout)
            };
            p.cast::<Header>().write(header);
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                p.as_ptr().add(std::mem::size_of::<Header>()),
                bytes.len(),
            );
            if let Some(end) = stamp.end {
                p.as_ptr()
                    .add(std::mem::size_of::<Header>() + bytes.len())
                    .cast::<u64>()
                    .write_unaligned(end);
            }
            p.cast()
        }
    }

    /// Bytes counted for an entry of this object made with `stamp`.
    pub(super) fn bytes_of(object: &Object, stamp: Stamp) -> usize {
        let end = if stamp.end.is_some() { END_BYTES } else { 0 };
        std::mem::size_of::<Header>() + object.as_msgpack().len() + end
    }

    /// Bytes counted for the entry at `p`.
    ///
    /// # Safety
    /// `p` is a live entry.
    pub(super) unsafe fn bytes(p: *const Entry) -> usize {
        // SAFETY: the caller's contract.
        let len = unsafe { (*p.cast::<Header>()).len };
        let end = if len & HAS_END != 0 { END_BYTES } else { 0 };
        std::mem::size_of::<Header>() + (len & !HAS_END) as usize + end
    }
}

/// The end of the lifetime of the entry at `p`'s object, if it keeps one.
///
/// # Safety
/// `p` came from [`Entry::new`] and is live.
#[inline]
pub(super) unsafe fn end_of(p: *const Entry) -> Option<u64> {
    // SAFETY: the caller's contract; an entry flagged HAS_END was allocated with END_BYTES
    // after its object, written in `Entry::new` and never after.
    unsafe {
        let len = (*p.cast::<Header>()).len;
        (len & HAS_END != 0).then(|| {
            p.cast::<u8>()
                .add(std::mem::size_of::<Header>() + (len & !HAS_END) as usize)
                .cast::<u64>()
                .read_unaligned()
        })
    }
}

/// The end of the lifetime of the entry at `p`'s object (0: never), as writes that keep it
/// need it.
///
/// # Safety
/// As for [`end_of`].
pub(super) unsafe fn lifetime_end_of(p: *const Entry, expiry: &Expiry) -> u64 {
    // SAFETY: forwarded contract.
    unsafe {
        let deadline = expires_at_of(p).load(std::sync::atomic::Ordering::Relaxed);
        expiry.lifetime_end(deadline, end_of(p))
    }
}

/// The deadline of the entry at `p` (0: never).
///
/// # Safety
/// `p` came from [`Entry::new`] and is live.
#[inline]
pub(super) unsafe fn expires_at_of<'a>(p: *const Entry) -> &'a AtomicU64 {
    // SAFETY: the caller's contract; the header is at the start of the entry.
    unsafe { &(*p.cast::<Header>()).expires_at }
}

/// The use bit of the entry at `p`.
///
/// # Safety
/// As for [`expires_at_of`].
#[inline]
pub(super) unsafe fn recency_of<'a>(p: *const Entry) -> &'a AtomicU32 {
    // SAFETY: the caller's contract.
    unsafe { &(*p.cast::<Header>()).recency }
}

/// The object in the entry at `p`.
///
/// # Safety
/// `p` came from [`Entry::new`] and stays live for `'a`.
#[inline]
pub(super) unsafe fn view<'a>(p: *const Entry) -> ObjectRef<'a> {
    // SAFETY: an entry is a header followed by `len` initialised bytes (see `Entry::new`).
    unsafe {
        let header = &*p.cast::<Header>();
        header.canary.visit();
        let bytes = std::slice::from_raw_parts(
            p.cast::<u8>().add(std::mem::size_of::<Header>()),
            (header.len & !HAS_END) as usize,
        );
        ObjectRef::from_parts(bytes, (header.key_start, header.key_end))
    }
}

impl Retire for Entry {
    unsafe fn free(ptr: *mut Entry) {
        // SAFETY: the caller owns `ptr`, an entry from `Entry::new` with this length.
        unsafe {
            let len = (*ptr.cast::<Header>()).len;
            std::ptr::drop_in_place(ptr.cast::<Header>());
            pool::dealloc(
                ptr.cast(),
                layout((len & !HAS_END) as usize, len & HAS_END != 0),
            );
        }
    }

    unsafe fn heap_bytes(ptr: *const Entry) -> usize {
        // SAFETY: the caller's contract: a live entry.
        unsafe { Entry::bytes(ptr) }
    }
}
