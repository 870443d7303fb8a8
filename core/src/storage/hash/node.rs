//! Nodes: one key and its objects in one immutable allocation.
//!
//! A node is a [`Node`] header followed by its data: the key's canonical bytes, then the objects
//! packed by [`object::pack`]. A lookup that lands on a node reads the header, the key and the
//! first objects from the same cache lines. Nodes never change after they are published, except
//! for two fields: `batch`, cleared when the multi-key write that published the node commits, and
//! the reserved cache metadata.

use std::alloc::{self, Layout};
use std::ptr::{self, NonNull};

use super::Batch;
use crate::object::{self, Object, Objects};
use crate::storage::reclaim::Retire;
use crate::sync::{AtomicPtr, Ordering};

/// Room reserved for a cache layer: an expiry time and recency bits per object set. Unused today;
/// it is here so that the cache layer needs no change of layout.
#[repr(C)]
pub(super) struct CacheMeta {
    /// Expiry time (0: never), in the cache layer's clock.
    pub(super) expires_at: u64,
    /// Recency bits (e.g. a CLOCK reference bit), set by readers.
    pub(super) recency: std::sync::atomic::AtomicU32,
}

/// The header of a node; its data follows it in the same allocation.
#[repr(C)]
pub(super) struct Node {
    /// The key's hash (as stored in its slot).
    pub(super) hash: u64,
    /// The multi-key write that published this node, while it is uncommitted (else null).
    pub(super) batch: AtomicPtr<Batch>,
    /// What readers see instead of this node while `batch` is uncommitted: the key's previous
    /// node, or null if the key was absent. Read only while the batch is uncommitted.
    pub(super) prev: *mut Node,
    pub(super) cache: CacheMeta,
    /// Bytes of data after the header.
    len: u32,
    key_len: u32,
    /// Number of objects; 0 for a deletion published by a multi-key write.
    count: u32,
}

impl Node {
    fn layout(data_len: usize) -> Layout {
        Layout::from_size_align(std::mem::size_of::<Node>() + data_len, align_of_node())
            .expect("object sizes are limited far below isize::MAX")
    }

    /// A new node for `key` with `objects` (none for a deletion marker), unpublished.
    pub(super) fn new(
        hash: u64,
        key: &[u8],
        objects: &[Object],
        batch: *mut Batch,
        prev: *mut Node,
    ) -> NonNull<Node> {
        let data_len = key.len() + object::packed_len(objects);
        let layout = Node::layout(data_len);
        // SAFETY: the layout has a non-zero size (the header is not empty).
        let raw = unsafe { alloc::alloc(layout) }.cast::<Node>();
        let Some(node) = NonNull::new(raw) else {
            alloc::handle_alloc_error(layout)
        };
        // SAFETY: `raw` is a fresh allocation of `layout`: room for the header, suitably aligned,
        // followed by `data_len` bytes that `data_mut` covers.
        unsafe {
            ptr::write(
                raw,
                Node {
                    hash,
                    batch: AtomicPtr::new(batch),
                    prev,
                    cache: CacheMeta {
                        expires_at: 0,
                        recency: std::sync::atomic::AtomicU32::new(0),
                    },
                    len: data_len as u32,
                    key_len: key.len() as u32,
                    count: objects.len() as u32,
                },
            );
            let data = std::slice::from_raw_parts_mut(raw.add(1).cast::<u8>(), data_len);
            data[..key.len()].copy_from_slice(key);
            object::pack(objects, &mut data[key.len()..]);
        }
        node
    }

    /// The bytes after the header.
    ///
    /// # Safety
    /// `node` is a live node (allocated by [`Node::new`], not freed) for `'a`.
    #[inline]
    unsafe fn data<'a>(node: *const Node) -> &'a [u8] {
        // SAFETY: per the contract the header is live; its data follows it in the same
        // allocation (see `Node::new`), `len` bytes long, and is never written after publication.
        unsafe { std::slice::from_raw_parts(node.add(1).cast::<u8>(), (*node).len as usize) }
    }

    /// The key's canonical bytes.
    ///
    /// # Safety
    /// As for [`Node::data`].
    #[inline]
    pub(super) unsafe fn key<'a>(node: *const Node) -> &'a [u8] {
        // SAFETY: forwarded contract.
        unsafe { &Node::data(node)[..(*node).key_len as usize] }
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
            Objects::packed(&data[(*node).key_len as usize..], (*node).count as usize)
        }
    }

    /// The number of objects (0 for a deletion marker).
    pub(super) fn count(&self) -> usize {
        self.count as usize
    }

    /// Heap bytes of the node: header and data.
    pub(super) fn bytes(&self) -> usize {
        std::mem::size_of::<Node>() + self.len as usize
    }

    /// The version of this node readers see: itself, or while the multi-key write that
    /// published it is uncommitted, its predecessor (null if none). A deletion marker counts as
    /// absent: the result is then null.
    ///
    /// # Safety
    /// `node` is live, and so is its `prev` while its batch is uncommitted (the writer retires
    /// the predecessor only after the commit).
    #[inline]
    pub(super) unsafe fn visible(node: *mut Node) -> *mut Node {
        // SAFETY: `node` is live per the contract.
        let n = unsafe { &*node };
        let batch = n.batch.load(Ordering::Acquire);
        // SAFETY: a non-null batch stays allocated while a node points at it: the writer clears
        // every node's pointer before retiring the batch, and our guard predates that retirement.
        let node = if !batch.is_null() && unsafe { !(*batch).committed.load(Ordering::Acquire) } {
            n.prev
        } else {
            node
        };
        // SAFETY: `node` is this node or its live predecessor (contract).
        if node.is_null() || unsafe { (*node).count == 0 } {
            ptr::null_mut()
        } else {
            node
        }
    }
}

const fn align_of_node() -> usize {
    std::mem::align_of::<Node>()
}

impl Retire for Node {
    unsafe fn free(node: *mut Node) {
        // SAFETY: per `Retire::free`, `node` is a live node from `Node::new`, used by no one
        // else: drop its header in place and free the allocation with the layout it was made
        // with (recomputed from its length).
        unsafe {
            let layout = Node::layout((*node).len as usize);
            ptr::drop_in_place(node);
            alloc::dealloc(node.cast(), layout);
        }
    }
}
