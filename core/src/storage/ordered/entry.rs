//! A stored object in one allocation: a small header, then the canonical bytes. A lookup that
//! reaches a leaf slot reads the key and the object from one place (one cache miss, not two as
//! with a boxed [`Object`](crate::object::Object) that points to its bytes).
//!
//! On a table with both a lifetime and an idle lifetime, an entry whose object has a lifetime
//! keeps its end in 8 more bytes after the object (see `crate::cache::Expiry`), flagged in
//! `len`.
//!
//! An entry of an updated object (stored by `Txn::replace_changeable`, at most
//! [`Scratch::CAPACITY`] bytes) is flagged [`MUTABLE`] and keeps a [`Version`] after its object,
//! at the next 8-byte boundary: later updates of the same widths (update_counter,
//! update_element) change its bytes in place under the entry's lock ([`EntryLock`]), and
//! readers that hold no lock copy such an object out under the version ([`read`]) instead of
//! borrowing it (the protocol of `storage::seqlock`, as on hash nodes).
//!
//! All the unsafe code of the representation is here.

use std::alloc::{handle_alloc_error, Layout};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64};

use super::node::Canary;
use crate::cache::{Expiry, Stamp};
use crate::object::ObjectRef;
use crate::storage::pool;
use crate::storage::reclaim::Retire;
use crate::storage::seqlock::{self, Scratch, Version};

/// The header; the object's bytes follow it.
#[repr(C)]
struct Header {
    /// The cache layer's deadline (0: never); readers move it forward on a table with an
    /// idle lifetime.
    expires_at: AtomicU64,
    /// The object's length, and [`HAS_END`] and [`MUTABLE`].
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

/// The bit of `len` saying that the entry's object may change in place and keeps a
/// [`Version`] after it (and after its kept end, if any).
const MUTABLE: u32 = 1 << 30;

/// The flag bits of `len`.
const FLAGS: u32 = HAS_END | MUTABLE;

/// Bytes of a kept lifetime end.
const END_BYTES: usize = std::mem::size_of::<u64>();

const HEADER_BYTES: usize = std::mem::size_of::<Header>();

/// A stored object (opaque: only ever behind a pointer from [`Entry::new`]).
pub(super) struct Entry {
    _header: Header,
}

/// Where the version of a `MUTABLE` entry of an object of `len` bytes is: after the object
/// and its kept end, at the version's alignment.
fn version_offset(len: usize, has_end: bool) -> usize {
    let end = if has_end { END_BYTES } else { 0 };
    (HEADER_BYTES + len + end).next_multiple_of(std::mem::align_of::<Version>())
}

/// The version of the `MUTABLE` entry at `p`.
///
/// # Safety
/// `p` came from [`Entry::new`], is live for `'a` and is `MUTABLE`.
unsafe fn version_of<'a>(p: *const Entry) -> &'a Version {
    // SAFETY: a `MUTABLE` entry keeps its version at `version_offset`, written by `Entry::new`.
    unsafe {
        let len = (*p.cast::<Header>()).len;
        &*p.cast::<u8>()
            .add(version_offset((len & !FLAGS) as usize, len & HAS_END != 0))
            .cast::<Version>()
    }
}

/// The size of an entry of an object of `len` bytes with these flags.
fn size(len: usize, flags: u32) -> usize {
    let has_end = flags & HAS_END != 0;
    if flags & MUTABLE != 0 {
        version_offset(len, has_end) + std::mem::size_of::<Version>()
    } else {
        HEADER_BYTES + len + if has_end { END_BYTES } else { 0 }
    }
}

/// The layout of an entry of an object of `len` bytes with these flags.
fn layout(len: usize, flags: u32) -> Layout {
    let align = std::mem::align_of::<Header>().max(std::mem::align_of::<Version>());
    Layout::from_size_align(size(len, flags), align)
        .expect("objects are far smaller than isize::MAX")
}

/// The flags of an entry of `object` made with `stamp`; `counter`: its object may change in
/// place, where it is small enough.
fn flags_of(object: ObjectRef<'_>, stamp: Stamp, counter: bool) -> u32 {
    let end = if stamp.end.is_some() { HAS_END } else { 0 };
    let mutable = if counter && object.as_msgpack().len() <= Scratch::CAPACITY {
        MUTABLE
    } else {
        0
    };
    end | mutable
}

impl Entry {
    /// Copies the object `view` shows into a new entry with the deadline (and kept end) of
    /// `stamp`; if `counter` (and the object is small enough), one whose bytes may change in
    /// place ([`EntryLock::overwrite`]). Returns it with the bytes it counts (see
    /// [`Entry::bytes`]).
    #[inline(always)]
    pub(super) fn new(view: ObjectRef<'_>, stamp: Stamp, counter: bool) -> (*mut Entry, usize) {
        let bytes = view.as_msgpack();
        let (key_start, key_end) = view.key_range();
        // Objects are at most `MAX_OBJECT_BYTES` (64 MiB), so these fit in u32 (and leave
        // the flags free).
        let len = u32::try_from(bytes.len()).expect("object size fits u32");
        assert!(len & FLAGS == 0, "objects are far smaller than 1 GiB");
        let flags = flags_of(view, stamp, counter);
        let header = Header {
            expires_at: AtomicU64::new(stamp.deadline),
            recency: AtomicU32::new(0),
            len: len | flags,
            key_start,
            key_end,
            canary: Canary::new(),
        };
        let layout = layout(bytes.len(), flags);
        // SAFETY: the layout has a non-zero size (the header); the header, the bytes, the kept
        // end (if any, unaligned) and the version (if any, aligned: `version_offset`) are
        // written within it, the header at an aligned offset.
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
            if flags & MUTABLE != 0 {
                p.as_ptr()
                    .add(version_offset(bytes.len(), stamp.end.is_some()))
                    .cast::<Version>()
                    .write(Version::new());
            }
            (p.cast().as_ptr(), layout.size())
        }
    }

    /// Bytes counted for the entry at `p`.
    ///
    /// # Safety
    /// `p` is a live entry.
    pub(super) unsafe fn bytes(p: *const Entry) -> usize {
        // SAFETY: the caller's contract.
        let len = unsafe { (*p.cast::<Header>()).len };
        size((len & !FLAGS) as usize, len & FLAGS)
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
                .add(HEADER_BYTES + (len & !FLAGS) as usize)
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

/// The object in the entry at `p`, borrowed: for a writer, which excludes the entry's other
/// writers (see [`EntryLock`]).
///
/// # Safety
/// `p` came from [`Entry::new`] and stays live for `'a`, and it is not [`MUTABLE`] or the
/// caller holds its [`EntryLock`] for `'a`.
#[inline]
pub(super) unsafe fn view<'a>(p: *const Entry) -> ObjectRef<'a> {
    // SAFETY: an entry is a header followed by `len` initialised bytes (see `Entry::new`),
    // which change only under the lock the caller holds.
    unsafe {
        let header = &*p.cast::<Header>();
        header.canary.visit();
        let bytes = std::slice::from_raw_parts(
            p.cast::<u8>().add(HEADER_BYTES),
            (header.len & !FLAGS) as usize,
        );
        ObjectRef::from_parts(bytes, (header.key_start, header.key_end))
    }
}

/// The object in the entry at `p`, for a reader that holds no lock: borrowed, or if it may
/// change in place ([`MUTABLE`]), a copy made in `scratch` under the entry's version.
///
/// # Safety
/// `p` came from [`Entry::new`] and stays live for `'a`.
#[inline(always)]
pub(super) unsafe fn read<'a>(p: *const Entry, scratch: &'a mut Scratch) -> ObjectRef<'a> {
    // SAFETY: forwarded contract; `view` borrows only an entry that is not `MUTABLE`.
    unsafe {
        if (*p.cast::<Header>()).len & MUTABLE == 0 {
            view(p)
        } else {
            copy(p, scratch)
        }
    }
}

/// [`read`] of a `MUTABLE` entry. Out of line: only counters take it.
///
/// # Safety
/// As for [`read`], and the entry is `MUTABLE`.
#[inline(never)]
unsafe fn copy<'a>(p: *const Entry, scratch: &'a mut Scratch) -> ObjectRef<'a> {
    // SAFETY: a `MUTABLE` entry holds its version at `version_offset` and an object of at most
    // Scratch::CAPACITY bytes (`Entry::new`), whose bytes change only through `overwrite`,
    // inside the version's write.
    unsafe {
        let header = &*p.cast::<Header>();
        header.canary.visit();
        let len = (header.len & !FLAGS) as usize;
        let bytes = scratch.copy_from(version_of(p), p.cast::<u8>().add(HEADER_BYTES), len);
        ObjectRef::from_parts(bytes, (header.key_start, header.key_end))
    }
}

/// The key of the entry at `p`, borrowed (a key never changes, in place or otherwise).
///
/// # Safety
/// `p` came from [`Entry::new`] and stays live for `'a`.
#[inline]
pub(super) unsafe fn key_of<'a>(p: *const Entry) -> &'a [u8] {
    // SAFETY: the key's bytes lie within the object (`Entry::new`) and `overwrite` never
    // writes them, so this borrow covers no byte that changes.
    unsafe {
        let header = &*p.cast::<Header>();
        header.canary.visit();
        std::slice::from_raw_parts(
            p.cast::<u8>().add(HEADER_BYTES + header.key_start as usize),
            (header.key_end - header.key_start) as usize,
        )
    }
}

/// Whether the entry at `p`'s object may change in place ([`EntryLock::overwrite`]).
///
/// # Safety
/// `p` came from [`Entry::new`] and is live.
#[inline]
pub(super) unsafe fn is_mutable(p: *const Entry) -> bool {
    // SAFETY: the caller's contract.
    unsafe { (*p.cast::<Header>()).len & MUTABLE != 0 }
}

/// The lock of a `MUTABLE` entry: its version, taken as a writer's lock ([`Version::lock`]).
/// Its holder is the only writer of the entry's object: it may borrow the object ([`view`]) and
/// change it in place ([`EntryLock::overwrite`]). Released when dropped, or by
/// [`EntryLock::retire`] when the holder took the entry out of the tree.
///
/// Every writer of a `MUTABLE` entry holds its lock: a transaction that finds one where it
/// writes takes it at once and keeps it until its commit is published (so an in-place writer
/// waits for it, and never changes an object the transaction read and then replaced), and an
/// in-place writer without a transaction takes it alone (no stripe), after finding the entry
/// with a lock-free descent, which may be through a leaf already replaced: the retired mark
/// tells it the entry left the tree ([`EntryLock::is_retired`]).
pub(super) struct EntryLock(*mut Entry);

impl EntryLock {
    /// Takes the lock of the entry at `p`, waiting while another writer holds it.
    ///
    /// # Safety
    /// `p` came from [`Entry::new`], is `MUTABLE`, and stays live while the lock lives.
    #[inline]
    pub(super) unsafe fn new(p: *mut Entry) -> EntryLock {
        // SAFETY: the caller's contract.
        unsafe {
            debug_assert!(is_mutable(p));
            version_of(p).lock();
        }
        EntryLock(p)
    }

    /// Whether a transaction replaced or removed the entry, under its lock, before this writer
    /// took it: it is no longer in the tree and must not change.
    #[inline]
    pub(super) fn is_retired(&self) -> bool {
        // SAFETY: the entry stays live while the lock lives (`new`).
        unsafe { version_of(self.0) }.is_retired()
    }

    /// Changes the entry's object in place: each `(offset, bytes)` of `edits` overwrites the
    /// object's bytes from `offset`; readers see all of the edits or none, once the lock goes.
    ///
    /// # Safety
    /// No borrow of the entry's object ([`view`]) is alive.
    pub(super) unsafe fn overwrite(&self, edits: &[(usize, &[u8])]) {
        // SAFETY: a `MUTABLE` entry holds its object's `len` bytes after the header, and this
        // lock makes the caller their only writer; their lock-free readers copy them under the
        // version ([`read`]) or borrow only the key ([`key_of`]); no borrow is alive (contract).
        unsafe {
            let header = &*self.0.cast::<Header>();
            seqlock::overwrite_locked(
                self.0.cast::<u8>().add(HEADER_BYTES),
                (header.len & !FLAGS) as usize,
                (header.key_start as usize, header.key_end as usize),
                edits,
            );
        }
    }

    /// Releases the lock, marking the entry retired: the caller took it out of the tree (and
    /// published that) while holding the lock, and retires it after this.
    #[inline]
    pub(super) fn retire(self) {
        // SAFETY: as in `is_retired`; the lock is held, and `forget` keeps `drop` from
        // releasing it twice.
        unsafe { version_of(self.0) }.unlock_retired();
        std::mem::forget(self);
    }
}

impl Drop for EntryLock {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: as in `is_retired`; the lock is held.
        unsafe { version_of(self.0) }.unlock();
    }
}

impl Retire for Entry {
    unsafe fn free(ptr: *mut Entry) {
        // SAFETY: the caller owns `ptr`, an entry from `Entry::new` with this length.
        unsafe {
            let len = (*ptr.cast::<Header>()).len;
            if len & MUTABLE != 0 {
                std::ptr::drop_in_place(std::ptr::from_ref(version_of(ptr)).cast_mut());
            }
            std::ptr::drop_in_place(ptr.cast::<Header>());
            pool::dealloc(ptr.cast(), layout((len & !FLAGS) as usize, len & FLAGS));
        }
    }

    unsafe fn heap_bytes(ptr: *const Entry) -> usize {
        // SAFETY: the caller's contract: a live entry.
        unsafe { Entry::bytes(ptr) }
    }
}
