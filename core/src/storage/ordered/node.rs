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
use crate::sync::{AtomicBool, AtomicPtr, Ordering};
use crate::term;

/// Keys per leaf and children per inner node. Small under loom, so models split and merge.
pub(super) const CAP: usize = if cfg!(rets_loom) { 4 } else { 32 };

/// A separator key in an inner node: a copy of the first key of a subtree at the time it split.
pub(super) struct Sep(pub(super) Box<[u8]>);

/// A leaf: `len` keys in term order, with their prefixes and objects. The prefixes are kept
/// apart from the objects, in one array: a search counts them with vector compares over four
/// cache lines, then reads one object pointer. (`repr(C)`: the length shares a cache line with
/// the first prefixes.)
#[repr(C)]
pub(super) struct Leaf {
    pub(super) len: usize,
    pub(super) norms: [u64; CAP],
    pub(super) objs: [AtomicPtr<Entry>; CAP],
    pub(super) canary: Canary,
}

// 520 bytes: the largest block `storage::pool` keeps (see `Leaf::alloc`).
const _: () = assert!(std::mem::size_of::<Leaf>() == 520 || cfg!(rets_loom));

/// An inner node: `len` children; `seps[i]` (for `i >= 1`) is a lower bound of the keys under
/// `children[i]` and greater than every key under `children[i - 1]`; `norms[i]` is its prefix.
/// The root is always an inner node (with no children when the tree is empty). Prefixes are
/// apart from the rest, as in a leaf.
#[repr(C)]
pub(super) struct Inner {
    pub(super) len: usize,
    /// Whether the children are leaves (else inner nodes).
    pub(super) leaf_children: bool,
    /// Set (under this node's stripe) once a split of one of its leaves replaced it with a
    /// copy: one-key writers that found it search again (see `OrderedStorage::write_one`).
    pub(super) replaced: AtomicBool,
    pub(super) norms: [u64; CAP],
    pub(super) seps: [*mut Sep; CAP],
    pub(super) children: [Child; CAP],
    pub(super) canary: Canary,
}

/// One child of an inner node with its separator and the separator's prefix, as a writer
/// moves them.
pub(super) type Branch = (u64, *mut Sep, *mut ());

/// A child pointer. A leaf writer replaces a leaf by storing its new copy here (release), so
/// readers load it with acquire; writers that hold every stripe change it in nodes that only
/// they can reach yet.
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

pub(super) use crate::storage::reclaim::Canary;

impl Leaf {
    pub(super) fn empty() -> Leaf {
        Leaf {
            len: 0,
            norms: [0; CAP],
            objs: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
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

    /// Copies slots `from` of `src` to `to..` of `self`.
    ///
    /// Reads `src`'s object pointers with relaxed loads: the caller holds the leaf's stripe
    /// or every stripe, which ordered every earlier store into them before it,
    /// and `self` is published, if ever, with a release store.
    pub(super) fn copy_from(&mut self, to: usize, src: &Leaf, from: std::ops::Range<usize>) {
        let n = from.len();
        self.norms[to..to + n].copy_from_slice(&src.norms[from.clone()]);
        for (t, f) in self.objs[to..to + n].iter_mut().zip(&src.objs[from]) {
            *t = AtomicPtr::new(f.load(Ordering::Relaxed));
        }
    }

    /// Sets slot `i` (of a leaf no reader can reach yet, or with every stripe held).
    pub(super) fn set(&mut self, i: usize, norm: u64, obj: *mut Entry) {
        self.norms[i] = norm;
        self.objs[i] = AtomicPtr::new(obj);
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
    /// A copy of `src` with `edit` made at slot `at`, in a new block from [`Leaf::alloc`]:
    /// built in place (a one-key insert or removal makes one per write; built on the stack,
    /// zeroed whole, then moved twice, it cost about 300 instructions more).
    ///
    /// Reads `src`'s object pointers without atomic loads: the caller holds the leaf's stripe
    /// or every stripe, so no store into them runs meanwhile (readers only load them), and
    /// the stripe ordered every earlier store before this; the copy is published, if ever,
    /// with a release store.
    #[cfg(not(rets_loom))]
    pub(super) fn alloc_edited(src: &Leaf, at: usize, edit: Edit) -> *mut Leaf {
        let len = match edit {
            Edit::Insert(..) => src.len + 1,
            Edit::Remove => src.len - 1,
        };
        assert!(len <= CAP && at <= src.len);
        let layout = Layout::new::<Leaf>();
        let p = pool::alloc(layout).cast::<Leaf>();
        if p.is_null() {
            handle_alloc_error(layout);
        }
        // `AtomicPtr<Entry>` has the layout of `*mut Entry`.
        let from_objs = src.objs.as_ptr().cast::<*mut Entry>();
        let from_norms = src.norms.as_ptr();
        // SAFETY: `p` is a fresh block of `Leaf`'s layout; every field is written below (the
        // slots past `len` zeroed: prefix 0, null object, as `Leaf::empty` has them) before
        // anything reads it as a `Leaf`. The source ranges are within `src`'s `CAP` slots
        // (`at <= src.len`, and `len <= CAP` above), and the reads of `src`'s object pointers
        // race no store (see above).
        unsafe {
            let norms = ptr::addr_of_mut!((*p).norms).cast::<u64>();
            let objs = ptr::addr_of_mut!((*p).objs).cast::<*mut Entry>();
            ptr::copy_nonoverlapping(from_norms, norms, at);
            ptr::copy_nonoverlapping(from_objs, objs, at);
            match edit {
                Edit::Insert(norm, obj) => {
                    norms.add(at).write(norm);
                    objs.add(at).write(obj);
                    let rest = src.len - at;
                    ptr::copy_nonoverlapping(from_norms.add(at), norms.add(at + 1), rest);
                    ptr::copy_nonoverlapping(from_objs.add(at), objs.add(at + 1), rest);
                }
                Edit::Remove => {
                    let rest = src.len - at - 1;
                    ptr::copy_nonoverlapping(from_norms.add(at + 1), norms.add(at), rest);
                    ptr::copy_nonoverlapping(from_objs.add(at + 1), objs.add(at), rest);
                }
            }
            ptr::write_bytes(norms.add(len), 0, CAP - len);
            ptr::write_bytes(objs.add(len), 0, CAP - len);
            ptr::addr_of_mut!((*p).len).write(len);
            ptr::addr_of_mut!((*p).canary).write(Canary::new());
        }
        p
    }

    /// [`Leaf::alloc_edited`] under loom, whose atomics are not plain pointers: built on the
    /// stack with loads loom sees, then moved into its block.
    #[cfg(rets_loom)]
    pub(super) fn alloc_edited(src: &Leaf, at: usize, edit: Edit) -> *mut Leaf {
        Leaf::alloc(Leaf::edited(src, at, edit))
    }

    /// A copy of `src` with `edit` made at slot `at` (see [`Leaf::copy_from`] for the loads).
    #[cfg(rets_loom)]
    pub(super) fn edited(src: &Leaf, at: usize, edit: Edit) -> Leaf {
        let len = match edit {
            Edit::Insert(..) => src.len + 1,
            Edit::Remove => src.len - 1,
        };
        debug_assert!(len <= CAP && at <= src.len);
        let mut copy = Leaf::empty();
        copy.len = len;
        copy.copy_from(0, src, 0..at);
        match edit {
            Edit::Insert(norm, obj) => {
                copy.set(at, norm, obj);
                copy.copy_from(at + 1, src, at..src.len);
            }
            Edit::Remove => copy.copy_from(at, src, at + 1..src.len),
        }
        copy
    }
}

impl Inner {
    pub(super) fn empty(leaf_children: bool) -> Inner {
        Inner {
            len: 0,
            leaf_children,
            replaced: AtomicBool::new(false),
            norms: [0; CAP],
            seps: [ptr::null_mut(); CAP],
            children: std::array::from_fn(|_| Child::new(ptr::null_mut())),
            canary: Canary::new(),
        }
    }

    /// Child `i` with its separator and prefix.
    pub(super) fn branch(&self, i: usize) -> Branch {
        (self.norms[i], self.seps[i], self.children[i].get())
    }

    /// Sets child `i`, its separator and prefix (of a node no reader can reach yet).
    pub(super) fn set_branch(&mut self, i: usize, (norm, sep, child): Branch) {
        self.norms[i] = norm;
        self.seps[i] = sep;
        self.children[i].set(child);
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
                drop(Box::from_raw(node.seps[i]));
            }
            if node.leaf_children {
                let leaf = node.children[i].get().cast::<Leaf>();
                let l = &*leaf;
                for obj in &l.objs[..l.len] {
                    Entry::free(obj.load(Ordering::Relaxed));
                }
                Leaf::dealloc(leaf);
            } else {
                free_tree(node.children[i].get().cast());
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Reads. Every function here takes pointers reached from a root loaded under a guard (or under
// every stripe held), and returns references that live as long as the caller's
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
    unsafe { &(*node.seps[i]).0 }
}

/// The key of object slot `i` of `leaf`, loaded through `load`.
#[inline]
fn leaf_key(leaf: &Leaf, i: usize) -> &[u8] {
    // SAFETY: the slots of a live leaf point to live objects (an object is retired only after
    // the slot that held it was overwritten or the leaf replaced, and readers hold a guard).
    unsafe { entry::key_of(leaf.objs[i].load(Ordering::Acquire)) }
}

/// The number of `norms` not above `norm` (they are sorted). A branch-free count rather than a
/// binary search: its loads do not depend on one another, so a node's cache misses overlap,
/// and over a contiguous array it compiles to vector compares.
#[inline]
fn count_not_above(norms: &[u64], norm: u64) -> usize {
    norms.iter().map(|&n| usize::from(n <= norm)).sum()
}

/// The child of `node` whose range holds `key`.
#[inline]
pub(super) fn route(node: &Inner, norm: u64, key: &[u8]) -> usize {
    debug_assert!(node.len > 0);
    // Separators 1..len; the last one not above `key`.
    let seps = &node.norms[1..node.len];
    let mut i = count_not_above(seps, norm); // seps[..i] have norm <= key's
    while i > 0 && seps[i - 1] == norm && term::compare(sep_key(node, i), key) == Cmp::Greater {
        i -= 1;
    }
    i
}

/// Where `key` is in `leaf`: `Ok(i)` if slot `i` holds a key equal to it, else `Err(i)` with
/// `i` the first slot above it. A branch-free count over the prefixes, as in [`route`].
#[inline]
pub(super) fn search_leaf(leaf: &Leaf, norm: u64, key: &[u8]) -> Result<usize, usize> {
    let norms = &leaf.norms[..leaf.len];
    let mut i: usize = norms.iter().map(|&n| usize::from(n < norm)).sum();
    while i < norms.len() && norms[i] == norm {
        match term::compare(leaf_key(leaf, i), key) {
            Cmp::Less => i += 1,
            Cmp::Equal => return Ok(i),
            Cmp::Greater => return Err(i),
        }
    }
    Err(i)
}

#[cfg(all(test, not(rets_loom)))]
mod tests {
    use super::*;

    /// A leaf of `n` slots whose prefixes are `10 * i` and whose object pointers are the
    /// (never dereferenced) addresses `8 * (i + 1)`.
    fn leaf_of(n: usize) -> Leaf {
        let mut leaf = Leaf::empty();
        leaf.len = n;
        for i in 0..n {
            leaf.set(i, 10 * i as u64, (8 * (i + 1)) as *mut Entry);
        }
        leaf
    }

    fn slots(leaf: &Leaf) -> Vec<(u64, usize)> {
        (0..CAP)
            .map(|i| (leaf.norms[i], leaf.objs[i].load(Ordering::Relaxed) as usize))
            .collect()
    }

    /// Every insertion and removal position of every fill: the copy built in place holds the
    /// source's slots with the edit made, and zeroed slots after its length, as a leaf made
    /// by `Leaf::empty` and `Leaf::set` would.
    #[test]
    fn an_edited_copy_is_the_source_with_the_edit() {
        for n in 0..=CAP {
            let src = leaf_of(n);
            let mut edits = Vec::new();
            if n < CAP {
                edits.extend((0..=n).map(|at| (at, true)));
            }
            if n > 0 {
                edits.extend((0..n).map(|at| (at, false)));
            }
            for (at, insert) in edits {
                let mut want: Vec<(u64, usize)> = slots(&src)[..n].to_vec();
                let edit = if insert {
                    want.insert(at, (7, 1000));
                    Edit::Insert(7, 1000 as *mut Entry)
                } else {
                    want.remove(at);
                    Edit::Remove
                };
                let len = want.len();
                want.resize(CAP, (0, 0));
                let copy = Leaf::alloc_edited(&src, at, edit);
                // SAFETY: a fresh leaf from `alloc_edited`, freed once below; its object
                // pointers are never dereferenced.
                unsafe {
                    assert_eq!((*copy).len, len, "n {n}, at {at}, insert {insert}");
                    assert_eq!(slots(&*copy), want, "n {n}, at {at}, insert {insert}");
                    Leaf::dealloc(copy);
                }
            }
        }
    }
}
