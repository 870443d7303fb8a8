//! Nodes: one key and its objects in one immutable allocation.
//!
//! A node is a [`Node`] header followed by its data, in one of three layouts:
//! - one object (a set's usual case) whose key starts and ends within the first 64 KiB: the
//!   object's bytes alone, the key's place in them kept in the header;
//! - otherwise the objects packed by [`object::pack`] (each with a small header of its own);
//! - a deletion marker (no objects, published by a multi-key write): the key's bytes.
//!
//! On a table with both a lifetime and an idle lifetime, an object with a lifetime keeps its
//! end in 8 more bytes after the data (see `crate::cache::Expiry`), flagged in `count`.
//!
//! The key is not stored twice: it is read from inside the (first) object. The header is 12
//! bytes, so a lookup that lands on a small node reads the header, the key and the object from
//! one or two adjacent cache lines.
//!
//! What only some nodes need goes before the header, flagged in `count`, so that a plain
//! table's node carries none of it (at 1M objects of 85 bytes, 97 bytes a node instead of 117):
//! - [`Meta`], the cache layer's deadline and use count: on a node with a deadline, and on
//!   every node of a table that tracks use (a bounded table);
//! - the pending pointer, on a node published by a multi-key write, cleared when it commits;
//! - a [`Version`], on a node whose object may change in place (flagged `MUTABLE`).
//!
//! Nodes never change after they are published, except for the pending pointer, the cache
//! metadata, and the object of a `MUTABLE` node: one stored by an update, which `update_counter`
//! and `update_element` change in place when the new elements encode to as many bytes as the
//! old (under the node's version, see `storage::seqlock`). Lock-free readers copy such an object
//! out under the version ([`Node::objects_in`]) and never borrow its bytes: only its key, which
//! never changes. Everything before the header is reached from the node pointer with raw pointer
//! arithmetic (never through a `&Node`, whose borrow covers the header alone).

use std::alloc::{self, Layout};
use std::ptr::{self, NonNull};

use super::{key_eq, Batch};
use crate::cache::{Expiry, Stamp};
use crate::object::{self, LookupKey, Object, ObjectRef, Objects};
use crate::storage::pool;
use crate::storage::reclaim::{Canary, Retire};
use crate::storage::seqlock::{self, Scratch, Version};
use crate::sync::{AtomicPtr, Ordering};

/// The alignment of node allocations: 8, for the atomics before the header. Aligning nodes
/// to cache lines (64) would keep a small node on one line, but the allocator's aligned path
/// costs ~400 instructions per node (measured with callgrind), which writers pay on every
/// update.
const NODE_ALIGN: usize = 8;

/// The header of a node (12 bytes); its data follows it in the same allocation, and what
/// its flags say it has precedes it (see the module documentation).
#[repr(C)]
pub(super) struct Node {
    /// Bytes of data after the header.
    len: u32,
    /// For a single object stored alone: where its key is in it, `start << 16 | len` (never 0:
    /// a key has at least one byte). 0 for the other layouts.
    key_at: u32,
    /// Number of objects (0 for a deletion published by a multi-key write), and the flags
    /// [`HAS_END`], [`HAS_META`], [`HAS_PENDING`], [`MUTABLE`].
    count: u32,
    /// Checked by loom on every read (zero-sized otherwise; see [`Canary`]).
    canary: Canary,
}

/// The cache layer's metadata of a node, just before its header.
#[repr(C)]
pub(super) struct Meta {
    /// The deadline (0: never) in the table's clock; readers move it forward on a table with
    /// an idle lifetime (`Expiry::touch`).
    pub(super) expires_at: std::sync::atomic::AtomicU64,
    /// The use count: raised by readers of a bounded table, lowered by the eviction hand as it
    /// passes (see `crate::cache::policy`).
    pub(super) recency: std::sync::atomic::AtomicU32,
}

// Flags in `count`. Tables keep a key's objects below 2^28 and their bytes within 32 bits
// (`term::limits::MAX_KEY_OBJECTS`, `MAX_KEY_OBJECT_BYTES`, refused as `Error::KeyFull`), so a
// count never reaches them and `len` never overflows (asserted in `Node::new`).

/// The node keeps the end of its lifetime after its data.
const HAS_END: u32 = 1 << 31;
/// The node has a [`Meta`] before its header.
const HAS_META: u32 = 1 << 30;
/// The node has a pending pointer before its header (and its `Meta`, if any).
const HAS_PENDING: u32 = 1 << 29;
/// The node's object may change in place, under the [`Version`] before its header (and its
/// `Meta`, if any). Only a set's node of one object stored alone, of at most
/// [`Scratch::CAPACITY`] bytes, without a pending pointer.
const MUTABLE: u32 = 1 << 28;
const FLAGS: u32 = HAS_END | HAS_META | HAS_PENDING | MUTABLE;
const _: () = assert!(
    crate::term::limits::MAX_KEY_OBJECTS < MUTABLE as usize
        && crate::term::limits::MAX_KEY_OBJECT_BYTES <= u32::MAX as usize
);

/// Bytes before the header for each: multiples of `NODE_ALIGN`, so the header and each part
/// stay aligned.
const META_BYTES: usize = std::mem::size_of::<Meta>().next_multiple_of(NODE_ALIGN);
const PENDING_BYTES: usize = std::mem::size_of::<AtomicPtr<Pending>>().next_multiple_of(NODE_ALIGN);
const VERSION_BYTES: usize = std::mem::size_of::<Version>().next_multiple_of(NODE_ALIGN);

const _: () = assert!(
    std::mem::align_of::<Node>() <= NODE_ALIGN
        && std::mem::align_of::<Meta>() <= NODE_ALIGN
        && std::mem::align_of::<AtomicPtr<Pending>>() <= NODE_ALIGN
        && std::mem::align_of::<Version>() <= NODE_ALIGN
);

/// Bytes of a kept lifetime end.
const END_BYTES: usize = std::mem::size_of::<u64>();

/// What a node published by an uncommitted multi-key write stands for.
pub(super) struct Pending {
    /// The write; readers use `prev` until it is committed.
    pub(super) batch: *mut Batch,
    /// The key's previous node, or null if the key was absent.
    pub(super) prev: *mut Node,
}

impl Retire for Pending {
    unsafe fn free(ptr: *mut Pending) {
        // SAFETY: allocated by `Box::new` in `Node::new`; the caller owns it.
        drop(unsafe { Box::from_raw(ptr) });
    }
}

/// Bytes before the header of a node with flags `flags`.
#[inline]
fn prefix_bytes(flags: u32) -> usize {
    // Without branches: this is on every node's allocation and free.
    (flags >> HAS_META.trailing_zeros() & 1) as usize * META_BYTES
        + (flags >> HAS_PENDING.trailing_zeros() & 1) as usize * PENDING_BYTES
        + (flags >> MUTABLE.trailing_zeros() & 1) as usize * VERSION_BYTES
}

/// The objects a new node is built with.
#[derive(Clone, Copy)]
pub(super) enum NewObjects<'x> {
    /// Objects built by the writer: any number (none for a deletion marker).
    Built(&'x [Object]),
    /// One object borrowed from the writer's input, copied straight into the node.
    One(ObjectRef<'x>),
}

impl NewObjects<'_> {
    pub(super) fn len(self) -> usize {
        match self {
            NewObjects::Built(all) => all.len(),
            NewObjects::One(_) => 1,
        }
    }

    pub(super) fn is_empty(self) -> bool {
        self.len() == 0
    }
}

impl Node {
    /// The bytes of a node with `data_len` bytes of data and flags `flags`.
    #[inline]
    fn size(data_len: usize, flags: u32) -> usize {
        let end = if flags & HAS_END != 0 { END_BYTES } else { 0 };
        prefix_bytes(flags) + std::mem::size_of::<Node>() + data_len + end
    }

    /// The layout of a node with `data_len` bytes of data and flags `flags`.
    fn layout(data_len: usize, flags: u32) -> Layout {
        Layout::from_size_align(Node::size(data_len, flags), NODE_ALIGN)
            .expect("object sizes are limited far below isize::MAX")
    }

    /// A new node for `key` with `objects` (none for a deletion marker) and the deadline of
    /// `stamp`, unpublished; with a `batch`, readers see `prev` instead until the batch commits.
    /// `track_use`: the table counts uses (every node then has a [`Meta`]). `mutable`: the
    /// object was stored by an update, to be changed in place from now on if the node can be
    /// `MUTABLE`.
    pub(super) fn new(
        key: &[u8],
        objects: NewObjects<'_>,
        batch: *mut Batch,
        prev: *mut Node,
        stamp: Stamp,
        track_use: bool,
        mutable: bool,
    ) -> NonNull<Node> {
        let pending = if batch.is_null() {
            ptr::null_mut()
        } else {
            Box::into_raw(Box::new(Pending { batch, prev }))
        };
        // One object alone, if its key's place fits the header; else they are packed (a lone
        // borrowed object that does not fit is copied into a built one for that).
        let lone = match objects {
            NewObjects::One(one) => Some(one),
            NewObjects::Built([one]) => Some(one.view()),
            NewObjects::Built(_) => None,
        };
        debug_assert!(lone.is_none_or(|one| one.key_msgpack() == key));
        let alone = lone.and_then(|one| {
            let (start, end) = one.key_range();
            (start <= 0xffff && end - start <= 0xffff).then_some(start << 16 | (end - start))
        });
        let copied;
        let packed = match (objects, alone) {
            (NewObjects::One(one), None) => {
                copied = [one.to_object()];
                &copied[..]
            }
            (NewObjects::One(_), Some(_)) => &[],
            (NewObjects::Built(all), _) => all,
        };
        debug_assert!(packed.iter().all(|o| o.key_msgpack() == key));
        let data_len = match (lone, alone) {
            (Some(one), Some(_)) => one.as_msgpack().len(),
            (None, _) if packed.is_empty() => key.len(),
            _ => object::packed_len(packed),
        };
        let count = objects.len();
        assert!(
            count < MUTABLE as usize && data_len <= u32::MAX as usize,
            "a key's objects fit in 4 GiB"
        );
        let count = count as u32;
        let mutable =
            mutable && pending.is_null() && alone.is_some() && data_len <= Scratch::CAPACITY;
        let flags = (if stamp.end.is_some() { HAS_END } else { 0 })
            | (if stamp.deadline != 0 || track_use {
                HAS_META
            } else {
                0
            })
            | (if pending.is_null() { 0 } else { HAS_PENDING })
            | (if mutable { MUTABLE } else { 0 });
        let layout = Node::layout(data_len, flags);
        // From this thread's freed nodes if it has one of the size (see `storage::pool`).
        let Some(base) = NonNull::new(pool::alloc(layout)) else {
            alloc::handle_alloc_error(layout)
        };
        let base = base.as_ptr();
        // SAFETY: `base` is a fresh allocation of `layout`, aligned to NODE_ALIGN: the parts
        // the flags call for (each a multiple of NODE_ALIGN long, so each stays aligned), the
        // header, `data_len` bytes of data and the end if flagged, in that order.
        let raw = unsafe { base.add(prefix_bytes(flags)).cast::<Node>() };
        // SAFETY: as above; `raw` has the full allocation's provenance, so the parts before it
        // are reached from it (`Node::meta`, `Node::pending`).
        unsafe {
            ptr::write(
                raw,
                Node {
                    len: data_len as u32,
                    key_at: alone.unwrap_or(0),
                    count: count | flags,
                    canary: Canary::new(),
                },
            );
            if flags & HAS_META != 0 {
                ptr::write(
                    Node::meta_ptr(raw),
                    Meta {
                        expires_at: std::sync::atomic::AtomicU64::new(stamp.deadline),
                        recency: std::sync::atomic::AtomicU32::new(0),
                    },
                );
            }
            if flags & HAS_PENDING != 0 {
                ptr::write(Node::pending_ptr(raw), AtomicPtr::new(pending));
            }
            if flags & MUTABLE != 0 {
                ptr::write(Node::version_ptr(raw), Version::new());
            }
            let data = std::slice::from_raw_parts_mut(raw.add(1).cast::<u8>(), data_len);
            match (lone, alone) {
                (Some(one), Some(_)) => data.copy_from_slice(one.as_msgpack()),
                (None, _) if packed.is_empty() => data.copy_from_slice(key),
                _ => object::pack(packed, data),
            }
            if let Some(end) = stamp.end {
                // The layout has END_BYTES after the data (`has_end`); unaligned, as the data's
                // length is any.
                raw.add(1)
                    .cast::<u8>()
                    .add(data_len)
                    .cast::<u64>()
                    .write_unaligned(end);
            }
        }
        // SAFETY: `raw` is within a live allocation, so not null.
        unsafe { NonNull::new_unchecked(raw) }
    }

    /// Where the pending pointer of a node flagged `HAS_PENDING` is.
    ///
    /// # Safety
    /// `node` points into a node allocation (from `Node::new`) flagged `HAS_PENDING`.
    #[inline]
    unsafe fn pending_ptr(node: *mut Node) -> *mut AtomicPtr<Pending> {
        // SAFETY: the pending pointer comes first in the allocation, before the `Meta` if the
        // node has one (see `Node::new`); a node with one has no `Version`.
        unsafe {
            debug_assert_eq!((*node).count & MUTABLE, 0);
            let meta = if (*node).count & HAS_META != 0 {
                META_BYTES
            } else {
                0
            };
            node.cast::<u8>()
                .sub(meta + PENDING_BYTES)
                .cast::<AtomicPtr<Pending>>()
        }
    }

    /// Where the `Version` of a node flagged `MUTABLE` is: before its `Meta` if any, else just
    /// before its header.
    ///
    /// # Safety
    /// `node` points into a node allocation (from `Node::new`) flagged `MUTABLE`.
    #[inline]
    unsafe fn version_ptr(node: *const Node) -> *mut Version {
        // SAFETY: see `Node::new`'s layout.
        unsafe {
            let meta = if (*node).count & HAS_META != 0 {
                META_BYTES
            } else {
                0
            };
            node.cast::<u8>()
                .sub(meta + VERSION_BYTES)
                .cast::<Version>()
                .cast_mut()
        }
    }

    /// Where the `Meta` of a node flagged `HAS_META` is: just before its header.
    ///
    /// # Safety
    /// `node` points into a node allocation (from `Node::new`) flagged `HAS_META`.
    #[inline]
    unsafe fn meta_ptr(node: *const Node) -> *mut Meta {
        // SAFETY: such a node has its `Meta` in the META_BYTES before its header, in the same
        // allocation (see `Node::new`).
        unsafe { node.cast::<u8>().sub(META_BYTES).cast::<Meta>().cast_mut() }
    }

    /// The pending pointer, if the node was published by a multi-key write.
    ///
    /// # Safety
    /// `node` is live (as for [`Node::data`]), and was reached through a raw pointer with the
    /// node allocation's provenance (as every node in a slot is).
    #[inline]
    pub(super) unsafe fn pending<'a>(node: *mut Node) -> Option<&'a AtomicPtr<Pending>> {
        // SAFETY: the caller's contract; a node flagged `HAS_PENDING` has the pointer, written
        // in `Node::new`.
        unsafe { ((*node).count & HAS_PENDING != 0).then(|| &*Node::pending_ptr(node)) }
    }

    /// The cache layer's metadata, if the node has a deadline or its table tracks use.
    ///
    /// # Safety
    /// As for [`Node::pending`].
    #[inline]
    pub(super) unsafe fn meta<'a>(node: *const Node) -> Option<&'a Meta> {
        // SAFETY: the caller's contract; a node flagged `HAS_META` has one just before its
        // header, written in `Node::new`.
        unsafe { ((*node).count & HAS_META != 0).then(|| &*Node::meta_ptr(node)) }
    }

    /// The node's deadline (0: never).
    ///
    /// # Safety
    /// As for [`Node::pending`].
    #[inline]
    pub(super) unsafe fn expires_at(node: *const Node) -> u64 {
        // SAFETY: the caller's contract.
        unsafe { Node::meta(node) }.map_or(0, |m| {
            m.expires_at.load(std::sync::atomic::Ordering::Relaxed)
        })
    }

    /// The end of the node's lifetime, if it keeps one (see the module documentation).
    ///
    /// # Safety
    /// As for [`Node::data`].
    #[inline]
    pub(super) unsafe fn end(node: *const Node) -> Option<u64> {
        // SAFETY: the node is live (contract); a node flagged `HAS_END` was allocated with
        // END_BYTES after its `len` bytes of data, written in `Node::new` and never after.
        unsafe {
            ((*node).count & HAS_END != 0).then(|| {
                node.add(1)
                    .cast::<u8>()
                    .add((*node).len as usize)
                    .cast::<u64>()
                    .read_unaligned()
            })
        }
    }

    /// The end of the node's lifetime (0: never), as writes that keep it need it.
    ///
    /// # Safety
    /// As for [`Node::data`].
    pub(super) unsafe fn lifetime_end(node: *const Node, expiry: &Expiry) -> u64 {
        // SAFETY: forwarded contract.
        unsafe { expiry.lifetime_end(Node::expires_at(node), Node::end(node)) }
    }

    /// The bytes after the header.
    ///
    /// # Safety
    /// `node` is a live node (allocated by [`Node::new`], not freed) for `'a`, and not
    /// `MUTABLE` unless the caller holds its lock ([`Node::lock`]) for `'a` (no byte then
    /// changes).
    #[inline]
    unsafe fn data<'a>(node: *const Node) -> &'a [u8] {
        // SAFETY: per the contract the header is live; its data follows it in the same
        // allocation (see `Node::new`), `len` bytes long, and is never written after publication.
        unsafe {
            (*node).canary.visit();
            std::slice::from_raw_parts(node.add(1).cast::<u8>(), (*node).len as usize)
        }
    }

    /// The key's canonical bytes (which never change, in any node).
    ///
    /// # Safety
    /// `node` is a live node for `'a`.
    #[inline]
    pub(super) unsafe fn key<'a>(node: *const Node) -> &'a [u8] {
        // SAFETY: the node is live (contract). A key stored alone is read from its own bytes,
        // never borrowing the rest of the object (which a `MUTABLE` node's writer changes);
        // the other layouts are never `MUTABLE`.
        unsafe {
            let key_at = (*node).key_at as usize;
            if key_at != 0 {
                (*node).canary.visit();
                return std::slice::from_raw_parts(
                    node.add(1).cast::<u8>().add(key_at >> 16),
                    key_at & 0xffff,
                );
            }
            let data = Node::data(node);
            if (*node).count() == 0 {
                data
            } else {
                object::packed_first_key(data)
            }
        }
    }

    /// Whether the node's key is `key`.
    ///
    /// A short key stored alone in its object (a set's usual node) is compared as one word:
    /// the 8 bytes from the key's start, when the object has that many, masked to the key's
    /// length (the bytes after the key are the rest of the object, read but ignored; not in a
    /// `MUTABLE` node, whose rest may be changing under a writer that holds no shard mutex).
    ///
    /// # Safety
    /// `node` is a live node.
    #[inline(always)]
    pub(super) unsafe fn has_key(node: *const Node, key: LookupKey<'_>) -> bool {
        // SAFETY: the node is live (contract); every read below is within its `len` bytes of
        // data, and reaches past the key only in a node that is not `MUTABLE`.
        unsafe {
            let key_at = (*node).key_at as usize;
            if key_at == 0 {
                return key_eq(Node::key(node), key.bytes());
            }
            let (start, len) = (key_at >> 16, key_at & 0xffff);
            if len != key.bytes().len() {
                return false;
            }
            (*node).canary.visit();
            let at = node.add(1).cast::<u8>().add(start);
            // What may be read: the whole object, or of a `MUTABLE` one, up to the key's end.
            let readable = if (*node).count & MUTABLE == 0 {
                (*node).len as usize
            } else {
                start + len
            };
            match key.word() {
                Some((word, mask)) if start + 8 <= readable => {
                    u64::from_le(at.cast::<u64>().read_unaligned()) & mask == word
                }
                // A short key that ends less than 8 bytes before what may be read (a counter's
                // node, changing in place): its own bytes only, gathered into the word's form.
                Some((word, _)) => short_key_is(std::slice::from_raw_parts(at, len), word),
                // 9 to 16 bytes, as two words: both loads lie within the key (whose length is
                // the lookup key's), so whatever the node, no byte past it is read.
                None => match key.pair() {
                    Some((first, last)) => {
                        u64::from_le(at.cast::<u64>().read_unaligned()) == first
                            && u64::from_le(at.add(len - 8).cast::<u64>().read_unaligned()) == last
                    }
                    None => key_eq_cold(std::slice::from_raw_parts(at, len), key.bytes()),
                },
            }
        }
    }

    /// The objects, for a reader that holds no lock: borrowed from the node, or if its object
    /// changes in place (`MUTABLE`), a copy made in `scratch` under the node's version.
    ///
    /// # Safety
    /// `node` is a live node for `'a`.
    #[inline(always)]
    pub(super) unsafe fn objects_in<'a>(
        node: *const Node,
        scratch: &'a mut Scratch,
    ) -> Objects<'a> {
        // SAFETY: forwarded contract; `objects` borrows only a node that is not `MUTABLE`.
        unsafe {
            if (*node).count & MUTABLE == 0 {
                Node::objects(node)
            } else {
                Node::copy_object(node, scratch)
            }
        }
    }

    /// [`Node::objects_in`] for a `MUTABLE` node. Out of line: only counters take it.
    ///
    /// # Safety
    /// As for [`Node::objects_in`], and the node is `MUTABLE`.
    #[inline(never)]
    unsafe fn copy_object<'a>(node: *const Node, scratch: &'a mut Scratch) -> Objects<'a> {
        // SAFETY: a `MUTABLE` node has its version and one object stored alone, at most
        // Scratch::CAPACITY bytes (`Node::new`); its bytes change only through
        // `Node::overwrite`, inside the version's write.
        unsafe {
            (*node).canary.visit();
            let version = &*Node::version_ptr(node);
            let copy = scratch.copy_from(version, node.add(1).cast::<u8>(), (*node).len as usize);
            let start = (*node).key_at >> 16;
            let key = (start, start + ((*node).key_at & 0xffff));
            Objects::from_option(Some(ObjectRef::from_parts(copy, key)))
        }
    }

    /// Whether the node's object may change in place (see [`Node::overwrite`]).
    #[inline]
    pub(super) fn is_mutable(&self) -> bool {
        self.count & MUTABLE != 0
    }

    /// Takes a `MUTABLE` node's version as its writers' lock (see [`Version::lock`]): its
    /// object's bytes are then the caller's to read in place and to [`Node::overwrite`], until
    /// [`Node::unlock`]. Every writer of such a node's bytes holds it: writers that change it in
    /// place without the shard's mutex, and transactions that touch the key under the mutex
    /// (from when they find the node until it is replaced or left as it was).
    ///
    /// # Safety
    /// `node` is live and `MUTABLE`.
    #[inline]
    pub(super) unsafe fn lock(node: *const Node) {
        // SAFETY: a `MUTABLE` node has its version before its header (`Node::new`).
        unsafe { (*Node::version_ptr(node)).lock() }
    }

    /// Releases what [`Node::lock`] took, after the caller's changes to the object.
    ///
    /// # Safety
    /// `node` is live and `MUTABLE`, and the caller holds its lock.
    #[inline]
    pub(super) unsafe fn unlock(node: *const Node) {
        // SAFETY: as in `lock`.
        unsafe { (*Node::version_ptr(node)).unlock() }
    }

    /// Changes a `MUTABLE` node's object in place: each `(offset, bytes)` of `edits` overwrites
    /// the object's bytes from `offset`; readers see all of the edits or none once the caller
    /// unlocks the node.
    ///
    /// # Safety
    /// `node` is live and `MUTABLE`, the caller holds its lock ([`Node::lock`], so it is the
    /// only writer), and no reference to the node's data is alive.
    pub(super) unsafe fn overwrite(node: *mut Node, edits: &[(usize, &[u8])]) {
        // SAFETY: per the contract: a `MUTABLE` node holds its version and one object of `len`
        // bytes after the header, whose writers its lock serializes and whose lock-free readers
        // copy it under the version (`Node::objects_in`) or borrow only its key.
        unsafe {
            debug_assert!((*node).is_mutable());
            let key_start = ((*node).key_at >> 16) as usize;
            let key_end = key_start + ((*node).key_at & 0xffff) as usize;
            seqlock::overwrite_locked(
                node.add(1).cast::<u8>(),
                (*node).len as usize,
                (key_start, key_end),
                edits,
            );
        }
    }

    /// The objects, borrowed from the node.
    ///
    /// # Safety
    /// As for [`Node::data`]: the node is not `MUTABLE`, or the caller holds its shard's
    /// mutex.
    #[inline]
    pub(super) unsafe fn objects<'a>(node: *const Node) -> Objects<'a> {
        // SAFETY: forwarded contract.
        unsafe {
            let data = Node::data(node);
            let key_at = (*node).key_at;
            if key_at != 0 {
                let start = key_at >> 16;
                let key = (start, start + (key_at & 0xffff));
                Objects::from_option(Some(ObjectRef::from_parts(data, key)))
            } else if (*node).count() == 0 {
                Objects::from_slice(&[])
            } else {
                Objects::packed(data, (*node).count())
            }
        }
    }

    /// The number of objects (0 for a deletion marker).
    #[inline]
    pub(super) fn count(&self) -> usize {
        (self.count & !FLAGS) as usize
    }

    /// Heap bytes of the node: what precedes the header, the header, the data and the kept
    /// end.
    pub(super) fn bytes(&self) -> usize {
        Node::size(self.len as usize, self.count & FLAGS)
    }

    /// The version of this node readers see: itself, or while the multi-key write that
    /// published it is uncommitted, its predecessor (null if none). A deletion marker counts as
    /// absent: the result is then null.
    ///
    /// The predecessor, when used, is read only while the batch is uncommitted: the writer
    /// retires it after the commit.
    ///
    /// An expired node counts as absent too: this is the one check through which every read
    /// of hash storage sees the cache layer's lifetimes.
    ///
    /// # Safety
    /// `node` is live (loaded through a guard, or under the shard's mutex).
    #[inline]
    pub(super) unsafe fn visible(node: *mut Node, expiry: &Expiry) -> *mut Node {
        // SAFETY: `node` is live per the contract.
        let pending = unsafe {
            (*node).canary.visit();
            Node::pending(node).map_or(ptr::null_mut(), |p| p.load(Ordering::Acquire))
        };
        // SAFETY: a non-null `pending` (and its batch) stays allocated while a node points at it:
        // the writer clears the pointer before retiring them, and our guard predates that.
        let node = if !pending.is_null()
            && unsafe { !(*(*pending).batch).committed.load(Ordering::Acquire) }
        {
            // SAFETY: as above.
            unsafe { (*pending).prev }
        } else {
            node
        };
        // SAFETY: `node` is this node or its live predecessor (contract).
        if node.is_null()
            || unsafe { (*node).count() == 0 || expiry.is_expired(Node::expires_at(node)) }
        {
            ptr::null_mut()
        } else {
            node
        }
    }
}

/// Whether a short stored key (at most 8 bytes) is the lookup key whose word is `word`: for
/// [`Node::has_key`] on a `MUTABLE` node. Out of line, as `key_eq_cold`: inlined, it made a
/// plain lookup 4 instructions dearer (its guard's code was inlined differently), for 4 saved
/// an update_counter.
#[inline(never)]
fn short_key_is(stored: &[u8], word: u64) -> bool {
    object::short_word(stored) == word
}

/// [`key_eq`] for [`Node::has_key`]'s rare cases (a long key, or one that ends less than 8
/// bytes before its object does). Out of line: inlined, the compiler prepares its work before
/// the probe loop, which every lookup then pays for.
#[cold]
#[inline(never)]
fn key_eq_cold(stored: &[u8], key: &[u8]) -> bool {
    key_eq(stored, key)
}

impl Retire for Node {
    unsafe fn free(node: *mut Node) {
        // SAFETY: per `Retire::free`, `node` is a live node from `Node::new`, used by no one
        // else: drop its header in place and free the allocation with the layout it was made
        // with (recomputed from its length).
        unsafe {
            let flags = (*node).count & FLAGS;
            let layout = Node::layout((*node).len as usize, flags);
            if flags & HAS_PENDING != 0 {
                ptr::drop_in_place(Node::pending_ptr(node));
            }
            if flags & HAS_META != 0 {
                ptr::drop_in_place(Node::meta_ptr(node));
            }
            if flags & MUTABLE != 0 {
                ptr::drop_in_place(Node::version_ptr(node));
            }
            ptr::drop_in_place(node);
            pool::dealloc(node.cast::<u8>().sub(prefix_bytes(flags)), layout);
        }
    }

    unsafe fn heap_bytes(node: *const Node) -> usize {
        // SAFETY: the caller's contract: a live node.
        unsafe { (*node).bytes() }
    }
}

const _: () = assert!(std::mem::size_of::<Node>() == 12 || cfg!(rets_loom));

#[cfg(all(test, not(rets_loom)))]
mod tests {
    use super::*;
    use crate::object::ToObject;
    use crate::term::{self, Term};

    fn object(i: i64) -> (Vec<u8>, Object) {
        let mut key = Vec::new();
        term::encode(&Term::Int(i), &mut key).unwrap();
        let object = Term::Array(vec![Term::Int(i), Term::Bin(vec![7; 16])])
            .to_object(1)
            .unwrap();
        (key, object)
    }

    /// `has_key` tells a node's key from every key of the same length that differs from it in
    /// one byte, whatever the length (one word, two words, longer) and whatever follows the key
    /// (the rest of the object, or nothing), in a plain node and in a `MUTABLE` one.
    #[test]
    fn has_key_tells_apart_keys_differing_in_any_byte() {
        for len in 1..=24usize {
            // A binary key of `len` encoded bytes: `0xc4, n, payload`.
            let payload: Vec<u8> = (0..len.saturating_sub(2) as u8).map(|b| b + 1).collect();
            let key_term = Term::Bin(payload);
            let mut key = Vec::new();
            term::encode(&key_term, &mut key).unwrap();
            if key.len() != len {
                continue;
            }
            for tail in [None, Some(Term::Bin(vec![9; 30]))] {
                let mut elements = vec![key_term.clone()];
                elements.extend(tail.clone());
                let object = Term::Array(elements).to_object(1).unwrap();
                for mutable in [false, true] {
                    let stamp = Stamp {
                        deadline: 0,
                        end: None,
                    };
                    let node = Node::new(
                        &key,
                        NewObjects::One(object.view()),
                        ptr::null_mut(),
                        ptr::null_mut(),
                        stamp,
                        false,
                        mutable,
                    )
                    .as_ptr();
                    // SAFETY: a fresh node, freed below.
                    unsafe {
                        assert!(Node::has_key(node, LookupKey::new(&key)), "length {len}");
                        for at in 0..len {
                            let mut other = key.clone();
                            other[at] ^= 0x40;
                            assert!(
                                !Node::has_key(node, LookupKey::new(&other)),
                                "length {len}, byte {at}, tail {}, mutable {mutable}",
                                tail.is_some()
                            );
                        }
                        Node::free(node);
                    }
                }
            }
        }
    }

    /// Each combination of the parts before the header: the node reads back its key, objects,
    /// deadline, use count, pending pointer and kept end, counts its bytes exactly, and frees
    /// with the layout it was made with (checked by the allocator, and by ASan in ci).
    #[test]
    fn every_prefix_combination_reads_back_and_frees() {
        let (key, obj) = object(5);
        let data = obj.as_msgpack().len();
        let batch = Box::into_raw(Box::new(Batch {
            committed: crate::sync::AtomicBool::new(false),
        }));
        for parts in [
            (0, None, false, false, false),
            (9, None, false, false, false),
            (0, None, true, false, false),
            (9, Some(11), false, false, false),
            (0, None, false, true, false),
            (9, Some(11), true, true, false),
            (0, None, false, false, true),
            (9, Some(11), true, false, true),
            // A node of a multi-key write is never changed in place.
            (0, None, false, true, true),
        ]
        .into_iter()
        .flat_map(|parts| [(parts, false), (parts, true)])
        {
            let ((deadline, end, track_use, pending, mutable), borrowed) = parts;
            let stamp = Stamp { deadline, end };
            let b = if pending { batch } else { ptr::null_mut() };
            let objects = if borrowed {
                NewObjects::One(obj.view())
            } else {
                NewObjects::Built(std::slice::from_ref(&obj))
            };
            let node = Node::new(&key, objects, b, ptr::null_mut(), stamp, track_use, mutable);
            let n = node.as_ptr();
            let is_mutable = mutable && !pending;
            // SAFETY: `n` is a fresh node, freed once at the end of the iteration.
            unsafe {
                assert_eq!(Node::key(n), &key[..]);
                assert_eq!(
                    Node::objects(n).next().unwrap().as_msgpack(),
                    obj.as_msgpack()
                );
                assert_eq!((*n).count(), 1);
                assert_eq!((*n).is_mutable(), is_mutable);
                let mut scratch = Scratch::new();
                assert_eq!(
                    Node::objects_in(n, &mut scratch)
                        .next()
                        .unwrap()
                        .as_msgpack(),
                    obj.as_msgpack()
                );
                assert_eq!(Node::expires_at(n), deadline);
                assert_eq!(Node::end(n), end);
                let has_meta = deadline != 0 || track_use;
                assert_eq!(Node::meta(n).is_some(), has_meta);
                if let Some(meta) = Node::meta(n) {
                    meta.recency.store(3, std::sync::atomic::Ordering::Relaxed);
                    assert_eq!(Node::expires_at(n), deadline, "the use count is apart");
                }
                match Node::pending(n) {
                    Some(p) => {
                        assert!(pending);
                        assert_eq!((*p.load(Ordering::Relaxed)).batch, batch);
                        // As the commit does: the pending record goes, the node stays.
                        drop(Box::from_raw(p.swap(ptr::null_mut(), Ordering::Relaxed)));
                        assert_eq!(Node::expires_at(n), deadline);
                    }
                    None => assert!(!pending),
                }
                let expected = 12
                    + data
                    + if has_meta { 16 } else { 0 }
                    + if pending { 8 } else { 0 }
                    + if is_mutable { 8 } else { 0 }
                    + if end.is_some() { 8 } else { 0 };
                assert_eq!((*n).bytes(), expected);
                if is_mutable {
                    // The last byte of the binary, changed in place: readers' copies see it,
                    // and nothing around the object moved.
                    Node::overwrite(n, &[(data - 1, &[9])]);
                    let mut changed = obj.as_msgpack().to_vec();
                    changed[data - 1] = 9;
                    let copy = Node::objects_in(n, &mut scratch).next().unwrap();
                    assert_eq!(copy.as_msgpack(), &changed[..]);
                    assert_eq!(copy.key_msgpack(), &key[..]);
                    assert_eq!(Node::key(n), &key[..]);
                    assert_eq!(Node::expires_at(n), deadline);
                    assert_eq!(Node::end(n), end);
                }
                Node::free(n);
            }
        }
        // SAFETY: allocated above by `Box`, referenced by no node now.
        drop(unsafe { Box::from_raw(batch) });
    }
}
