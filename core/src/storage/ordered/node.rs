//! The nodes of the ordered storage's B+tree, and the reads that walk them.
//!
//! A published node never changes, except for a leaf's object slots and an inner node's child
//! pointers (atomic pointers, replaced one at a time by a writer: a new object for a key, a new
//! copy of a leaf). Every key has an *order prefix* ([`crate::term::order_prefix`])
//! stored inline next to it, so a search compares machine words and reads a key's bytes only
//! when prefixes tie.
//!
//! All raw-pointer reads of nodes live in this file, in [`leaf`], [`inner`] and [`sep_key`] (and
//! [`entry`]).

use std::alloc::{handle_alloc_error, Layout};
use std::cmp::Ordering as Cmp;
use std::ptr;

use super::entry::{self, Entry};
use crate::storage::pool;
use crate::storage::reclaim::Retire;
use crate::sync::{AtomicPtr, Ordering};
use crate::term;

/// Keys per leaf and children per inner node. Small under loom, so models split and merge.
pub(super) const CAP: usize = if cfg!(rets_loom) { 4 } else { 32 };

/// A separator key in an inner node: a copy of the first key of a subtree at the time it split.
pub(super) struct Sep(pub(super) Box<[u8]>);

/// A leaf: `len` keys in term order, with their prefixes and objects. (`repr(C)`: the length
/// shares a cache line with the first prefixes.)
#[repr(C)]
pub(super) struct Leaf {
    pub(super) len: usize,
    pub(super) slots: [Slot; CAP],
    pub(super) canary: Canary,
}

/// A key's prefix next to its object: the slot a search ends on is in a cache line the search
/// already loaded.
#[repr(C)]
pub(super) struct Slot {
    pub(super) norm: u64,
    pub(super) obj: AtomicPtr<Entry>,
}

/// An inner node: `len` children; `slots[i].sep` (for `i >= 1`) is a lower bound of the keys
/// under `slots[i].child` and greater than every key under `slots[i - 1].child`; `slots[i].norm`
/// is its prefix. The root is always an inner node (with no children when the tree is empty).
#[repr(C)]
pub(super) struct Inner {
    pub(super) len: usize,
    /// Whether the children are leaves (else inner nodes).
    pub(super) leaf_children: bool,
    pub(super) slots: [Branch; CAP],
    pub(super) canary: Canary,
}

/// A child with its separator and the separator's prefix, side by side: the child a search
/// picks is in a cache line the search already loaded.
#[repr(C)]
pub(super) struct Branch {
    pub(super) norm: u64,
    pub(super) sep: *mut Sep,
    pub(super) child: Child,
}

/// A child pointer. A leaf writer replaces a leaf by storing its new copy here (release), so
/// readers load it with acquire; writers that hold the structure lock exclusively change it
/// in nodes that only they can reach yet.
pub(super) struct Child(AtomicPtr<()>);

impl Child {
    pub(super) fn new(p: *mut ()) -> Child {
        Child(AtomicPtr::new(p))
    }

    #[inline]
    pub(super) fn get(&self) -> *mut () {
        self.0.load(Ordering::Acquire)
    }

    #[inline]
    pub(super) fn set(&self, p: *mut ()) {
        self.0.store(p, Ordering::Release)
    }
}

impl Branch {
    pub(super) fn empty() -> Branch {
        Branch {
            norm: 0,
            sep: ptr::null_mut(),
            child: Child::new(ptr::null_mut()),
        }
    }

    /// The branch's three fields, for a writer that moves it.
    pub(super) fn get(&self) -> (u64, *mut Sep, *mut ()) {
        (self.norm, self.sep, self.child.get())
    }

    /// Sets the three fields (of a branch in a node no reader can reach yet).
    pub(super) fn set(&mut self, (norm, sep, child): (u64, *mut Sep, *mut ())) {
        self.norm = norm;
        self.sep = sep;
        self.child.set(child);
    }
}

pub(super) use crate::storage::reclaim::Canary;

impl Leaf {
    pub(super) fn empty() -> Leaf {
        Leaf {
            len: 0,
            slots: std::array::from_fn(|_| Slot {
                norm: 0,
                obj: AtomicPtr::new(ptr::null_mut()),
            }),
            canary: Canary::new(),
        }
    }

    /// Moves `leaf` into a block from this thread's pool (`storage::pool`): a one-key insert
    /// or removal replaces its leaf, so leaves are allocated and freed as often as objects,
    /// and a pooled block comes back to the thread that frees it without the allocator's
    /// locks (the other thread's arena, when a retirement batch frees its leaves).
    pub(super) fn alloc(leaf: Leaf) -> *mut Leaf {
        let layout = Layout::new::<Leaf>();
        let p = pool::alloc(layout).cast::<Leaf>();
        if p.is_null() {
            handle_alloc_error(layout);
        }
        // SAFETY: `p` is a fresh block of `Leaf`'s layout.
        unsafe { p.write(leaf) };
        p
    }

    /// Frees a leaf from [`Leaf::alloc`].
    ///
    /// # Safety
    /// `ptr` came from [`Leaf::alloc`], is not used afterwards and is freed once.
    pub(super) unsafe fn dealloc(ptr: *mut Leaf) {
        // SAFETY: the caller's contract: a live leaf in a pool block of its layout.
        unsafe {
            ptr::drop_in_place(ptr);
            pool::dealloc(ptr.cast(), Layout::new::<Leaf>());
        }
    }
}

/// What [`Leaf::edited`] does to slot `at`.
pub(super) enum Edit {
    /// A new key's slot goes in at `at`.
    Insert(u64, *mut Entry),
    /// The slot at `at` goes.
    Remove,
}

impl Leaf {
    /// A copy of `src` with `edit` made at slot `at`.
    ///
    /// The copy reads `src`'s object pointers with relaxed loads: the caller holds the leaf's
    /// stripe (or the exclusive structure lock), which ordered every earlier store into them
    /// before it, and publishes the copy with a release store.
    pub(super) fn edited(src: &Leaf, at: usize, edit: Edit) -> Leaf {
        let len = match edit {
            Edit::Insert(..) => src.len + 1,
            Edit::Remove => src.len - 1,
        };
        debug_assert!(len <= CAP && at <= src.len);
        let mut copy = Leaf::empty();
        copy.len = len;
        let copy_slots = |to: &mut [Slot], from: &[Slot]| {
            for (t, f) in to.iter_mut().zip(from) {
                t.norm = f.norm;
                t.obj = AtomicPtr::new(f.obj.load(Ordering::Relaxed));
            }
        };
        copy_slots(&mut copy.slots[..at], &src.slots[..at]);
        match edit {
            Edit::Insert(norm, obj) => {
                copy.slots[at].norm = norm;
                copy.slots[at].obj = AtomicPtr::new(obj);
                copy_slots(&mut copy.slots[at + 1..len], &src.slots[at..src.len]);
            }
            Edit::Remove => copy_slots(&mut copy.slots[at..len], &src.slots[at + 1..src.len]),
        }
        copy
    }
}

impl Inner {
    pub(super) fn empty(leaf_children: bool) -> Inner {
        Inner {
            len: 0,
            leaf_children,
            slots: std::array::from_fn(|_| Branch::empty()),
            canary: Canary::new(),
        }
    }
}

/// Frees only the node itself: its keys, objects and children belong to the tree that
/// replaced it.
impl Retire for Leaf {
    unsafe fn free(ptr: *mut Leaf) {
        // SAFETY: leaves are allocated by `Leaf::alloc`; the caller owns `ptr`.
        unsafe { Leaf::dealloc(ptr) }
    }
}

impl Retire for Inner {
    unsafe fn free(ptr: *mut Inner) {
        // SAFETY: as for `Leaf`.
        drop(unsafe { Box::from_raw(ptr) });
    }
}

impl Retire for Sep {
    unsafe fn free(ptr: *mut Sep) {
        // SAFETY: separators are allocated by `Box`; the caller owns `ptr`.
        drop(unsafe { Box::from_raw(ptr) });
    }
}

/// A whole tree (the root of one), freed with everything in it: what `clear` retires.
#[repr(transparent)]
pub(super) struct Tree(Inner);

impl Tree {
    pub(super) fn from_root(root: *mut Inner) -> *mut Tree {
        root.cast()
    }
}

impl Retire for Tree {
    unsafe fn free(ptr: *mut Tree) {
        // SAFETY: `Tree` is a transparent `Inner`; the caller owns the whole tree.
        unsafe { free_tree(ptr.cast()) }
    }

    /// A whole tree: as large as the table was; freed without waiting for a batch.
    unsafe fn heap_bytes(_ptr: *const Tree) -> usize {
        usize::MAX
    }
}

/// Frees an inner node and everything under it.
///
/// # Safety
/// The caller owns the whole tree (no reader or writer can reach any part of it), and nothing
/// in it was retired separately.
pub(super) unsafe fn free_tree(root: *mut Inner) {
    // SAFETY: the caller owns the tree, so every pointer in it is live and ours to free.
    unsafe {
        let node = Box::from_raw(root);
        for i in 0..node.len {
            if i > 0 {
                drop(Box::from_raw(node.slots[i].sep));
            }
            if node.leaf_children {
                let leaf = node.slots[i].child.get().cast::<Leaf>();
                let slots = &(&(*leaf).slots)[..(*leaf).len];
                for slot in slots {
                    Entry::free(slot.obj.load(Ordering::Relaxed));
                }
                Leaf::dealloc(leaf);
            } else {
                free_tree(node.slots[i].child.get().cast());
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Reads. Every function here takes pointers reached from a root loaded under a guard (or under
// the exclusive structure lock), and returns references that live as long as the caller's
// borrow of that guard or lock: published nodes and objects are freed only through the
// collector.

/// # Safety
/// `p` points to a live leaf that outlives `'a` (see above).
#[inline]
pub(super) unsafe fn leaf<'a>(p: *const ()) -> &'a Leaf {
    // SAFETY: the caller's contract.
    let leaf = unsafe { &*p.cast::<Leaf>() };
    leaf.canary.visit();
    leaf
}

/// # Safety
/// `p` points to a live inner node that outlives `'a`.
#[inline]
pub(super) unsafe fn inner<'a>(p: *const ()) -> &'a Inner {
    // SAFETY: the caller's contract.
    let node = unsafe { &*p.cast::<Inner>() };
    node.canary.visit();
    node
}

/// The key bytes of separator `i` of `node` (`i >= 1`).
#[inline]
pub(super) fn sep_key(node: &Inner, i: usize) -> &[u8] {
    debug_assert!(i >= 1 && i < node.len);
    // SAFETY: the separators of a live node are live as long as it is (they are freed only
    // with it, or retired when a newer node drops them).
    unsafe { &(*node.slots[i].sep).0 }
}

/// The key of object slot `i` of `leaf`, loaded through `load`.
#[inline]
fn leaf_key(leaf: &Leaf, i: usize) -> &[u8] {
    // SAFETY: the slots of a live leaf point to live objects (an object is retired only after
    // the slot that held it was overwritten or the leaf replaced, and readers hold a guard).
    unsafe { entry::view(leaf.slots[i].obj.load(Ordering::Acquire)) }.key_msgpack()
}

/// The number of `slots` whose prefix is not above `norm` (they are sorted). A branch-free
/// count rather than a binary search: its loads do not depend on one another, so a node's
/// cache misses overlap.
#[inline]
fn count_not_above(slots: &[Branch], norm: u64) -> usize {
    slots.iter().map(|b| usize::from(b.norm <= norm)).sum()
}

/// The child of `node` whose range holds `key`.
#[inline]
pub(super) fn route(node: &Inner, norm: u64, key: &[u8]) -> usize {
    debug_assert!(node.len > 0);
    // Separators 1..len; the last one not above `key`.
    let seps = &node.slots[1..node.len];
    let mut i = count_not_above(seps, norm); // seps[..i] have norm <= key's
    while i > 0 && seps[i - 1].norm == norm && term::compare(sep_key(node, i), key) == Cmp::Greater
    {
        i -= 1;
    }
    i
}

/// Where `key` is in `leaf`: `Ok(i)` if slot `i` holds a key equal to it, else `Err(i)` with
/// `i` the first slot above it. A branch-free count over the prefixes, as in [`route`].
#[inline]
pub(super) fn search_leaf(leaf: &Leaf, norm: u64, key: &[u8]) -> Result<usize, usize> {
    let slots = &leaf.slots[..leaf.len];
    let mut i: usize = slots.iter().map(|s| usize::from(s.norm < norm)).sum();
    while i < slots.len() && slots[i].norm == norm {
        match term::compare(leaf_key(leaf, i), key) {
            Cmp::Less => i += 1,
            Cmp::Equal => return Ok(i),
            Cmp::Greater => return Err(i),
        }
    }
    Err(i)
}
