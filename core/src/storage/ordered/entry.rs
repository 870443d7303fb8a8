//! A stored object in one allocation: a small header, then the canonical bytes. A lookup that
//! reaches a leaf slot reads the key and the object from one place (one cache miss, not two as
//! with a boxed [`Object`] that points to its bytes).
//!
//! All the unsafe code of the representation is here.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64};

use super::node::Canary;
use crate::object::{Object, ObjectRef};
use crate::storage::reclaim::Retire;

/// The header; the object's bytes follow it.
#[repr(C)]
struct Header {
    /// The cache layer's deadline (0: never); readers move it forward on a table with an
    /// idle lifetime.
    expires_at: AtomicU64,
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

/// A stored object (opaque: only ever behind a pointer from [`Entry::new`]).
pub(super) struct Entry {
    _header: Header,
}

fn layout(len: usize) -> Layout {
    Layout::from_size_align(
        std::mem::size_of::<Header>() + len,
        std::mem::align_of::<Header>(),
    )
    .expect("objects are far smaller than isize::MAX")
}

impl Entry {
    /// Copies `object` into a new entry with deadline `expires_at` (0: never).
    pub(super) fn new(object: &Object, expires_at: u64) -> NonNull<Entry> {
        let view = object.view();
        let bytes = view.as_msgpack();
        let (key_start, key_end) = view.key_range();
        // Objects are at most `MAX_OBJECT_BYTES` (64 MiB), so these fit in u32.
        let header = Header {
            expires_at: AtomicU64::new(expires_at),
            recency: AtomicU32::new(0),
            len: u32::try_from(bytes.len()).expect("object size fits u32"),
            key_start,
            key_end,
            canary: Canary::new(),
        };
        let layout = layout(bytes.len());
        // SAFETY: the layout has a non-zero size (the header); the header and bytes are written
        // within it, at offsets aligned for their types.
        unsafe {
            let p = alloc(layout);
            let Some(p) = NonNull::new(p) else {
                handle_alloc_error(layout)
            };
            p.cast::<Header>().write(header);
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                p.as_ptr().add(std::mem::size_of::<Header>()),
                bytes.len(),
            );
            p.cast()
        }
    }

    /// Bytes counted for an entry of this object.
    pub(super) fn bytes_of(object: &Object) -> usize {
        std::mem::size_of::<Header>() + object.as_msgpack().len()
    }

    /// Bytes counted for the entry at `p`.
    ///
    /// # Safety
    /// `p` is a live entry.
    pub(super) unsafe fn bytes(p: *const Entry) -> usize {
        // SAFETY: the caller's contract.
        std::mem::size_of::<Header>() + unsafe { view(p) }.as_msgpack().len()
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
            header.len as usize,
        );
        ObjectRef::from_parts(bytes, (header.key_start, header.key_end))
    }
}

impl Retire for Entry {
    unsafe fn free(ptr: *mut Entry) {
        // SAFETY: the caller owns `ptr`, an entry from `Entry::new` with this length.
        unsafe {
            let len = (*ptr.cast::<Header>()).len as usize;
            std::ptr::drop_in_place(ptr.cast::<Header>());
            dealloc(ptr.cast(), layout(len));
        }
    }
}
