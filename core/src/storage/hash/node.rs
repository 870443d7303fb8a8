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
//! The key is not stored twice: it is read from inside the (first) object. The header is 32
//! bytes, so a lookup that lands on a small node reads the header, the key and the object from
//! one or two adjacent cache lines. Nodes never
//! change after they are published, except for `pending`, cleared when the multi-key write that
//! published the node commits, and the reserved cache metadata.

use std::alloc::{self, Layout};
use std::ptr::{self, NonNull};

use super::{key_eq, Batch};
use crate::cache::{Expiry, Stamp};
use crate::object::{self, LookupKey, Object, ObjectRef, Objects};
use crate::storage::pool;
use crate::storage::reclaim::{Canary, Retire};
use crate::sync::{AtomicPtr, Ordering};

/// The alignment of nodes: the header's own. Aligning nodes to cache lines (64) would keep a
/// small node on one line, but the allocator's aligned path costs ~400 instructions per node
/// (measured with callgrind), which writers pay on every update.
const NODE_ALIGN: usize = std::mem::align_of::<Node>();

/// The header of a node (32 bytes); its data follows it in the same allocation.
#[repr(C)]
pub(super) struct Node {
    /// Set while the multi-key write that published this node is uncommitted (else null).
    pub(super) pending: AtomicPtr<Pending>,
    /// The cache layer's deadline (0: never) in the table's clock; readers move it forward
    /// on a table with an idle lifetime (`Expiry::touch`).
    pub(super) expires_at: std::sync::atomic::AtomicU64,
    /// The cache layer's use bit: set by readers of a bounded table, cleared by the eviction
    /// hand as it passes (see `crate::cache::policy`).
    pub(super) recency: std::sync::atomic::AtomicU32,
    /// Bytes of data after the header.
    len: u32,
    /// For a single object stored alone: where its key is in it, `start << 16 | len` (never 0:
    /// a key has at least one byte). 0 for the other layouts.
    key_at: u32,
    /// Number of objects (0 for a deletion published by a multi-key write), and [`HAS_END`].
    count: u32,
    /// Checked by loom on every read (zero-sized otherwise; see [`Canary`]).
    canary: Canary,
}

/// The bit of `count` saying that the node keeps the end of its lifetime after its data. A
/// node's `len` fits in 32 bits and each object takes at least two bytes, so the count never
/// reaches it.
const HAS_END: u32 = 1 << 31;

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

impl Node {
    /// The layout of a node with `data_len` bytes of data and, if `has_end`, a kept end.
    fn layout(data_len: usize, has_end: bool) -> Layout {
        let data_len = data_len + if has_end { END_BYTES } else { 0 };
        Layout::from_size_align(std::mem::size_of::<Node>() + data_len, NODE_ALIGN)
            .expect("object sizes are limited far below isize::MAX")
    }

    /// A new node for `key` with `objects` (none for a deletion marker) and the deadline of
    /// `stamp`, unpublished; with a `batch`, readers see `prev` instead until the batch commits.
    pub(super) fn new(
        key: &[u8],
        objects: &[Object],
        batch: *mut Batch,
        prev: *mut Node,
        stamp: Stamp,
    ) -> NonNull<Node> {
        let pending = if batch.is_null() {
            ptr::null_mut()
        } else {
            Box::into_raw(Box::new(Pending { batch, prev }))
        };
        debug_assert!(objects.iter().all(|o| o.key_msgpack() == key));
        // One object alone, if its key's place fits the header.
        let alone = match objects {
            [one] => {
                let (start, end) = one.view().key_range();
                (start <= 0xffff && end - start <= 0xffff).then_some(start << 16 | (end - start))
            }
            _ => None,
        };
        let data_len = match (objects, alone) {
            ([], _) => key.len(),
            ([one], Some(_)) => one.as_msgpack().len(),
            _ => object::packed_len(objects),
        };
        let layout = Node::layout(data_len, stamp.end.is_some());
        let count = objects.len() as u32;
        debug_assert!(count & HAS_END == 0);
        // From this thread's freed nodes if it has one of the size (see `storage::pool`).
        let raw = pool::alloc(layout).cast::<Node>();
        let Some(node) = NonNull::new(raw) else {
            alloc::handle_alloc_error(layout)
        };
        // SAFETY: `raw` is a fresh allocation of `layout`: room for the header, suitably aligned,
        // followed by `data_len` bytes that `data_mut` covers.
        unsafe {
            ptr::write(
                raw,
                Node {
                    pending: AtomicPtr::new(pending),
                    expires_at: std::sync::atomic::AtomicU64::new(stamp.deadline),
                    recency: std::sync::atomic::AtomicU32::new(0),
                    len: data_len as u32,
                    key_at: alone.unwrap_or(0),
                    count: if stamp.end.is_some() {
                        count | HAS_END
                    } else {
                        count
                    },
                    canary: Canary::new(),
                },
            );
            let data = std::slice::from_raw_parts_mut(raw.add(1).cast::<u8>(), data_len);
            match (objects, alone) {
                ([], _) => data.copy_from_slice(key),
                ([one], Some(_)) => data.copy_from_slice(one.as_msgpack()),
                _ => object::pack(objects, data),
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
        node
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
        unsafe { expiry.lifetime_end((*node).expires_at(), Node::end(node)) }
    }

    /// The bytes after the header.
    ///
    /// # Safety
    /// `node` is a live node (allocated by [`Node::new`], not freed) for `'a`.
    #[inline]
    unsafe fn data<'a>(node: *const Node) -> &'a [u8] {
        // SAFETY: per the contract the header is live; its data follows it in the same
        // allocation (see `Node::new`), `len` bytes long, and is never written after publication.
        unsafe {
            (*node).canary.visit();
            std::slice::from_raw_parts(node.add(1).cast::<u8>(), (*node).len as usize)
        }
    }

    /// The key's canonical bytes.
    ///
    /// # Safety
    /// As for [`Node::data`].
    #[inline]
    pub(super) unsafe fn key<'a>(node: *const Node) -> &'a [u8] {
        // SAFETY: forwarded contract.
        unsafe {
            let data = Node::data(node);
            let key_at = (*node).key_at as usize;
            if key_at != 0 {
                let start = key_at >> 16;
                &data[start..start + (key_at & 0xffff)]
            } else if (*node).count() == 0 {
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
    /// length (the bytes after the key are the rest of the object, read but ignored).
    ///
    /// # Safety
    /// As for [`Node::data`].
    #[inline(always)]
    pub(super) unsafe fn has_key(node: *const Node, key: LookupKey<'_>) -> bool {
        // SAFETY: forwarded contract.
        unsafe {
            let key_at = (*node).key_at as usize;
            if key_at == 0 {
                return key_eq(Node::key(node), key.bytes());
            }
            let data = Node::data(node);
            let (start, len) = (key_at >> 16, key_at & 0xffff);
            if len != key.bytes().len() {
                return false;
            }
            match (key.word(), data.get(start..start + 8)) {
                (Some((word, mask)), Some(eight)) => {
                    let eight: [u8; 8] = eight.try_into().expect("eight bytes");
                    u64::from_le_bytes(eight) & mask == word
                }
                _ => key_eq_cold(&data[start..start + len], key.bytes()),
            }
        }
    }

    /// The objects.
    ///
    /// # Safety
    /// As for [`Node::data`].
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

    /// The node's deadline (0: never).
    #[inline]
    pub(super) fn expires_at(&self) -> u64 {
        self.expires_at.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The number of objects (0 for a deletion marker).
    #[inline]
    pub(super) fn count(&self) -> usize {
        (self.count & !HAS_END) as usize
    }

    /// Heap bytes of the node: header, data and kept end.
    pub(super) fn bytes(&self) -> usize {
        let end = if self.count & HAS_END != 0 {
            END_BYTES
        } else {
            0
        };
        std::mem::size_of::<Node>() + self.len as usize + end
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
            (*node).pending.load(Ordering::Acquire)
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
            || unsafe { (*node).count() == 0 || expiry.is_expired((*node).expires_at()) }
        {
            ptr::null_mut()
        } else {
            node
        }
    }
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
            let layout = Node::layout((*node).len as usize, (*node).count & HAS_END != 0);
            ptr::drop_in_place(node);
            pool::dealloc(node.cast(), layout);
        }
    }

    unsafe fn heap_bytes(node: *const Node) -> usize {
        // SAFETY: the caller's contract: a live node.
        unsafe { (*node).bytes() }
    }
}

const _: () = assert!(std::mem::size_of::<Node>() == 32 || cfg!(rets_loom));
