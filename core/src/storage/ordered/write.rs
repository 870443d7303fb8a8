//! Committing a transaction: the only code that changes the tree. It runs holding every stripe,
//! or a leaf's stripe in a tree whose root it checked under it, and it publishes each change in
//! one atomic store.
//!
//! - One key whose object is replaced: the new object is stored into its leaf slot (readers see
//!   the old object or the new one) and the old one retired.
//! - One key added to a leaf with room, or removed from a leaf that keeps more than a quarter
//!   of its keys ([`commit_one`], under the stripe of the leaf's parent):
//!   a copy of the leaf with the change is stored into its parent's child pointer, and the old
//!   leaf retired. The tree's shape and separators stay as they are.
//! - One key added to a full leaf whose parent has room ([`commit_one`], under the parent's
//!   stripe): the leaf splits into a copy of the parent, which is stored where the parent's
//!   pointer was (the root, or a child pointer of the grandparent); the old parent is marked
//!   replaced and retired.
//! - Anything else: copy-on-write. The root and every node on the way to a touched leaf are
//!   copied once ("fresh" nodes, private to the commit and changed in place), splits and merges
//!   happen among fresh nodes, and the new root is published with one store. The nodes it
//!   replaced, the objects it removed or replaced and the separators it dropped are retired
//!   after the store, so readers of the old tree keep a consistent snapshot.

use std::collections::HashSet;

use foldhash::fast::RandomState;
use std::ptr;

use super::entry::{is_mutable, key_of, lifetime_end_of, view, Entry, EntryLock};
use super::node::{route, search_leaf, Child, Edit, Inner, Leaf, Sep, CAP};
use super::{above, Above, Counts, KeyBytes, OrderedStorage, Staging};
use crate::object::ObjectCow;
use crate::storage::reclaim::Collector;
use crate::sync::{AtomicPtr, Ordering};

/// Bytes counted for a separator of a `len`-byte key.
pub(super) fn sep_bytes(len: usize) -> usize {
    std::mem::size_of::<Sep>() + len
}

/// A new separator holding a copy of `key` (freed by its `Retire`, or with its tree).
fn alloc_sep(key: &[u8]) -> *mut Sep {
    Box::into_raw(Box::new(Sep(key.into())))
}

/// A node that left the tree.
enum Old {
    Leaf(*mut Leaf),
    Inner(*mut Inner),
}

/// A change to commit: key, prefix, the object in the tree (null if none), the new object, its
/// deadline, and whether it is an update's (`Txn::replace_changeable`).
type Change<'v> = (KeyBytes, u64, *mut Entry, Option<ObjectCow<'v>>, u64, bool);

/// A split child: the prefix and separator of the new right sibling, and the sibling.
type Split = (u64, *mut Sep, *mut ());

/// The addresses of the nodes a commit created: a short list (most commits touch a path or
/// two), a hash set beyond that (a list insert).
#[derive(Default)]
struct FreshSet {
    small: Vec<usize>,
    big: HashSet<usize, RandomState>,
}

const FRESH_SMALL: usize = 32;

impl FreshSet {
    fn insert(&mut self, p: usize) {
        if self.small.len() < FRESH_SMALL && self.big.is_empty() {
            self.small.push(p);
        } else {
            self.big.extend(self.small.drain(..));
            self.big.insert(p);
        }
    }

    fn contains(&self, p: usize) -> bool {
        self.small.contains(&p) || self.big.contains(&p)
    }

    fn remove(&mut self, p: usize) -> bool {
        if let Some(i) = self.small.iter().position(|&q| q == p) {
            self.small.swap_remove(i);
            true
        } else {
            self.big.remove(&p)
        }
    }
}

struct Commit {
    /// Nodes created by this commit (not yet published): changed in place.
    fresh: FreshSet,
    old_nodes: Vec<Old>,
    old_objects: Vec<*mut Entry>,
    old_seps: Vec<*mut Sep>,
    bytes: isize,
    objects: isize,
}

/// Applies a transaction's staged changes to the tree (see the module documentation).
pub(super) fn commit(s: &OrderedStorage, staging: Staging<'_>) {
    // One key whose object is replaced: a store into its slot.
    if let Some(st) = staging.only() {
        if !st.original.is_null() && matches!(st.next, Some(Some(_))) {
            let (_, st) = staging.into_list().next().expect("one key");
            let at = st.deadline(&s.expiry);
            if st.expired {
                s.count_expired(1);
            }
            let new = st.next.flatten().expect("one object");
            let counts = s.exclusive_counts();
            let counter = st.counter;
            if let Some(old) = replace_in_place(s, counts, st.original, st.slot, new, at, counter) {
                if let Some(lock) = st.lock {
                    lock.retire();
                }
                // SAFETY: `old` left its slot with the swap (with every stripe held); only
                // this writer retires it.
                unsafe { s.collector.retire(old) };
            }
            return;
        }
    }
    // The effective changes: (key, prefix, original object or null, new object).
    let mut changes: Vec<Change<'_>> = Vec::new();
    // The locks of the `MUTABLE` originals that leave the tree, released once it is published.
    let mut leaving: Vec<EntryLock> = Vec::new();
    for (key, st) in staging.into_list() {
        // Keys the transaction only read stay as they are.
        let at = st.deadline(&s.expiry);
        let Some(new) = st.next else { continue };
        let unchanged = match &new {
            None => st.original.is_null(),
            // SAFETY: `original` is in the current tree, which every stripe held keeps.
            Some(o) => {
                !st.original.is_null()
                    && !st.expired
                    && unsafe { view(st.original) }.as_msgpack() == o.view().as_msgpack()
                    && unchanged_lifetime(s, st.original, at)
            }
        };
        if !unchanged {
            if st.expired {
                s.count_expired(1);
            }
            // A changed key's original (if any) leaves the tree: replaced or removed.
            leaving.extend(st.lock);
            changes.push((key, st.norm, st.original, new, at, st.counter));
        }
    }
    if changes.is_empty() {
        return;
    }
    let root = s.root.load(Ordering::Acquire);
    let mut c = Commit {
        fresh: FreshSet::default(),
        old_nodes: Vec::new(),
        old_objects: Vec::new(),
        old_seps: Vec::new(),
        bytes: 0,
        objects: 0,
    };
    let mut new_root = c.own_inner(root);
    for (key, norm, original, new, at, counter) in changes {
        match new {
            Some(object) => {
                let stamp = s.expiry.stamp(at);
                let (object, bytes) = Entry::new(object.view(), stamp, counter);
                c.bytes += bytes as isize;
                if original.is_null() {
                    c.objects += 1;
                }
                if let Some((n, sep, right)) = c.put(new_root, norm, &key, object) {
                    let mut top = Inner::empty(false);
                    top.len = 2;
                    top.children[0].set(new_root.cast());
                    top.set_branch(1, (n, sep, right));
                    new_root = c.alloc_inner(top);
                }
            }
            None => {
                c.objects -= 1;
                c.delete(new_root, norm, &key);
            }
        }
    }
    // A root with one inner child gives way to it.
    loop {
        // SAFETY: `new_root` is fresh or in the current tree; the lock keeps both alive.
        let r = unsafe { &*new_root };
        if r.leaf_children || r.len != 1 {
            break;
        }
        let child = r.children[0].get().cast::<Inner>();
        c.drop_node(Old::Inner(new_root));
        new_root = child;
    }
    s.root.store(new_root, Ordering::Release);
    leaving.into_iter().for_each(EntryLock::retire);
    s.exclusive_counts().add(c.objects, c.bytes);
    // SAFETY (all retires below): each pointer left the tree with the store above (a replaced
    // node, a removed or replaced object, a dropped separator), so readers that enter from now
    // on cannot reach it; each is retired once; each was allocated as its `Retire::free`
    // expects (`Leaf::alloc` for leaves, `Box` for the rest).
    unsafe {
        for old in c.old_nodes {
            match old {
                Old::Leaf(p) => s.collector.retire(p),
                Old::Inner(p) => s.collector.retire(p),
            }
        }
        for p in c.old_objects {
            s.collector.retire(p);
        }
        for p in c.old_seps {
            s.collector.retire(p);
        }
    }
}

/// What a one-key write took out of the tree, for its writer to retire once it has released
/// its locks.
#[derive(Default)]
pub(super) struct Unlinked {
    object: Option<*mut Entry>,
    leaf: Option<*mut Leaf>,
    parent: Option<*mut Inner>,
}

impl Unlinked {
    /// # Safety
    /// As for `Collector::retire`, for each pointer: it left the tree (see
    /// [`OrderedStorage::write_one`]) and only the caller retires it.
    pub(super) unsafe fn retire(self, collector: &Collector) {
        // SAFETY: the caller's contract.
        unsafe {
            if let Some(p) = self.object {
                collector.retire(p);
            }
            if let Some(p) = self.leaf {
                collector.retire(p);
            }
            if let Some(p) = self.parent {
                collector.retire(p);
            }
        }
    }
}

/// Where a one-key writer's key is: `leaf`, the `at`th child of `parent`, in the current tree
/// at `root` (see [`OrderedStorage::write_one`]).
pub(super) struct Place<'a> {
    pub(super) root: *const Inner,
    pub(super) parent: &'a Inner,
    pub(super) at: usize,
    pub(super) leaf: &'a Leaf,
}

/// Commits the transaction of [`OrderedStorage::write_one`]: its one key's change, in the leaf
/// of `place`, where the key is at `found` (as `search_leaf` says). The caller holds the
/// stripe of the leaf's parent, found in the current tree, and checked that the change fits:
/// room for a new key in the leaf, or in the parent for the leaf's split; more than
/// `CAP / 4` keys left after a removal.
pub(super) fn commit_one(
    s: &OrderedStorage,
    counts: &Counts,
    staging: Staging<'_>,
    place: Place<'_>,
    found: Result<usize, usize>,
) -> Unlinked {
    let st = staging.into_only();
    let at = st.deadline(&s.expiry);
    let Some(next) = st.next else {
        return Unlinked::default();
    };
    if st.expired {
        s.count_expired(1);
    }
    let Place { leaf, .. } = place;
    let child = &place.parent.children[place.at];
    match (next, found) {
        (Some(new), Ok(_)) => {
            let object = replace_in_place(s, counts, st.original, st.slot, new, at, st.counter);
            if let (Some(_), Some(lock)) = (object, st.lock) {
                lock.retire();
            }
            Unlinked {
                object,
                ..Unlinked::default()
            }
        }
        (Some(new), Err(i)) => {
            let stamp = s.expiry.stamp(at);
            let (entry, bytes) = Entry::new(new.view(), stamp, st.counter);
            counts.add(1, bytes as isize);
            if leaf.len < CAP {
                publish_leaf(
                    child,
                    leaf,
                    Leaf::alloc_edited(leaf, i, Edit::Insert(st.norm, entry)),
                )
            } else {
                split_in_parent(s, counts, place, i, st.norm, entry)
            }
        }
        (None, Ok(i)) => {
            // `write_one` checked this when it allowed a removal; `write_in_place` does not.
            assert!(
                leaf.len - 1 > CAP / 4,
                "a write_in_place never removes its key"
            );
            // SAFETY: `original` is the object of the key's slot, alive until retired.
            counts.add(-1, -(unsafe { Entry::bytes(st.original) } as isize));
            let unlinked = Unlinked {
                object: Some(st.original),
                ..publish_leaf(child, leaf, Leaf::alloc_edited(leaf, i, Edit::Remove))
            };
            if let Some(lock) = st.lock {
                lock.retire();
            }
            unlinked
        }
        (None, Err(_)) => Unlinked::default(),
    }
}

/// Adds `entry` (prefix `norm`) at slot `i` of the full leaf of `place` by splitting the leaf
/// within its parent, which has room: the two halves (one of them the old leaf itself when the
/// key goes at either end, as appends and prepends do) and a new separator go into a copy of
/// the parent, stored with one release store where the parent's pointer is (found by
/// [`above`]). Readers see the old parent or the new one, each a whole subtree. The old parent
/// is marked `replaced` for the one-key writers of its other leaves, who wait for this stripe
/// and then search again; no other writer stores into that pointer meanwhile: it belongs to
/// the parent's parent, which only writers holding every stripe replace (or it is the root,
/// which a split of another parent never stores).
/// The caller holds the parent's stripe; `entry`'s bytes are counted.
fn split_in_parent(
    s: &OrderedStorage,
    counts: &Counts,
    place: Place<'_>,
    i: usize,
    norm: u64,
    entry: *mut Entry,
) -> Unlinked {
    let Place {
        root,
        parent,
        at,
        leaf,
    } = place;
    debug_assert!(leaf.len == CAP && parent.len < CAP);
    let keep = split_point(i);
    // The CAP + 1 slots in order, taken from the old leaf around the new one (relaxed loads:
    // the stripe keeps the leaf's slots still, and ordered every earlier store before them).
    let slot = |j: usize| -> (u64, *mut Entry) {
        match j.cmp(&i) {
            std::cmp::Ordering::Less => (leaf.norms[j], leaf.objs[j].load(Ordering::Relaxed)),
            std::cmp::Ordering::Equal => (norm, entry),
            std::cmp::Ordering::Greater => {
                (leaf.norms[j - 1], leaf.objs[j - 1].load(Ordering::Relaxed))
            }
        }
    };
    let half = |from: usize, to: usize| -> *mut Leaf {
        let mut l = Leaf::empty();
        l.len = to - from;
        for j in from..to {
            let (n, o) = slot(j);
            l.set(j - from, n, o);
        }
        Leaf::alloc(l)
    };
    let old_leaf = leaf as *const Leaf as *mut Leaf;
    // The key at either end leaves the old leaf whole on the other side (`split_point`).
    let (left, right, retired_leaf) = match (keep, i) {
        (CAP, CAP) => (old_leaf, half(CAP, CAP + 1), None),
        (1, 0) => (half(0, 1), old_leaf, None),
        _ => (half(0, keep), half(keep, CAP + 1), Some(old_leaf)),
    };
    let (right_norm, right_first) = slot(keep);
    // SAFETY: `right_first` is a live entry: the new one, or one of the leaf's, which the
    // stripe keeps in the tree.
    let sep_key = unsafe { key_of(right_first) };
    let sep = alloc_sep(sep_key);
    let mut copy = Inner::empty(true);
    copy.len = parent.len + 1;
    for j in 0..parent.len {
        let to = if j > at { j + 1 } else { j };
        copy.set_branch(to, parent.branch(j));
    }
    copy.children[at].set(left.cast());
    copy.set_branch(at + 1, (right_norm, sep, right.cast()));
    let copy = Box::into_raw(Box::new(copy));
    // SAFETY: the new entry is live, and its key routes as the writer's key did (it is equal
    // to it); `root` is the current tree's, which the stripe keeps in shape above `parent`,
    // where `find_parent` found `parent` for that key.
    let parent_pointer = unsafe { above(root, parent, norm, key_of(entry)) };
    match parent_pointer {
        Above::Root => s.root.store(copy, Ordering::Release),
        Above::Child(c) => c.set(copy.cast()),
    }
    parent.replaced.store(true, Ordering::Relaxed);
    // A leaf more (two for one, or one beside the old), a separator; the parent's copy
    // replaces it.
    counts.add(
        0,
        (std::mem::size_of::<Leaf>() + sep_bytes(sep_key.len())) as isize,
    );
    Unlinked {
        object: None,
        leaf: retired_leaf,
        parent: Some(parent as *const Inner as *mut Inner),
    }
}

/// Publishes `copy` (a new leaf from `Leaf::alloc_edited`) in place of `leaf` under `child`
/// (one release store); returns the old leaf, unlinked.
fn publish_leaf(child: &Child, leaf: &Leaf, copy: *mut Leaf) -> Unlinked {
    let old = leaf as *const Leaf as *mut Leaf;
    debug_assert_eq!(child.get(), old.cast());
    child.set(copy.cast());
    Unlinked {
        object: None,
        leaf: Some(old),
        parent: None,
    }
}

/// Whether writing `original`'s object again with lifetime end `end` leaves its deadline as it
/// is (never on a table with an idle lifetime: a write restarts it).
fn unchanged_lifetime(s: &OrderedStorage, original: *mut Entry, end: u64) -> bool {
    // SAFETY: the callers pass an object of the current tree, kept by the stripes the writer holds.
    !s.expiry.has_idle() && unsafe { lifetime_end_of(original, &s.expiry) } == end
}

/// Replaces the object `original` in `slot` (a slot of the current tree, found with every
/// stripe held, or the slot's stripe in the current tree) with one store, unless
/// `new` is the same object (and, if `counter`, already stored as one); the new entry may
/// change in place if `counter`. Returns the replaced object, unlinked, for the caller to
/// retire.
fn replace_in_place(
    s: &OrderedStorage,
    counts: &Counts,
    original: *mut Entry,
    slot: *const AtomicPtr<Entry>,
    new: ObjectCow<'_>,
    expires_at: u64,
    counter: bool,
) -> Option<*mut Entry> {
    // An update that changes nothing still stores its object as changeable, or every later
    // update of it would take this way again.
    // SAFETY: `original` is the slot's object; the slot's writers are excluded (see below), so
    // it stays in the tree, alive, until the swap, and its bytes do not change (if it is
    // `MUTABLE`, the caller's staging holds its lock).
    if unsafe { view(original) }.as_msgpack() == new.view().as_msgpack()
        && unchanged_lifetime(s, original, expires_at)
        && (!counter || unsafe { is_mutable(original) })
    {
        return None;
    }
    let stamp = s.expiry.stamp(expires_at);
    let (new, delta) = Entry::new(new.view(), stamp, counter);
    // SAFETY: the stripes held keep the current tree's shape, and so the slot, alive; the
    // slot's writers are serialised (every stripe, or the slot's).
    let old = unsafe { (*slot).swap(new, Ordering::AcqRel) };
    // SAFETY: `old` is still a live object (retired below, not yet).
    let old_bytes = unsafe { Entry::bytes(old) } as isize;
    // Most replacements keep the size (a counter's new value): they leave the count alone.
    counts.add(0, delta as isize - old_bytes);
    // `old` left its slot with the swap, so readers that enter from now on cannot reach it.
    Some(old)
}

impl Commit {
    fn alloc_leaf(&mut self, leaf: Leaf) -> *mut Leaf {
        let p = Leaf::alloc(leaf);
        self.fresh.insert(p as usize);
        self.bytes += std::mem::size_of::<Leaf>() as isize;
        p
    }

    fn alloc_inner(&mut self, inner: Inner) -> *mut Inner {
        let p = Box::into_raw(Box::new(inner));
        self.fresh.insert(p as usize);
        self.bytes += std::mem::size_of::<Inner>() as isize;
        p
    }

    /// Takes a node out of the tree: freed now if this commit made it, else retired later.
    fn drop_node(&mut self, node: Old) {
        let (addr, size) = match node {
            Old::Leaf(p) => (p as usize, std::mem::size_of::<Leaf>()),
            Old::Inner(p) => (p as usize, std::mem::size_of::<Inner>()),
        };
        self.bytes -= size as isize;
        if self.fresh.remove(addr) {
            // SAFETY: a fresh node was never published and is referenced nowhere now.
            unsafe {
                match node {
                    Old::Leaf(p) => Leaf::dealloc(p),
                    Old::Inner(p) => drop(Box::from_raw(p)),
                }
            }
        } else {
            self.old_nodes.push(node);
        }
    }

    /// A fresh copy of a leaf (or the leaf itself if fresh).
    fn own_leaf(&mut self, p: *mut ()) -> *mut Leaf {
        if self.fresh.contains(p as usize) {
            return p.cast();
        }
        // SAFETY: a node of the current tree, alive under the lock.
        let l = unsafe { &*p.cast::<Leaf>() };
        let mut copy = Leaf::empty();
        copy.len = l.len;
        copy.copy_from(0, l, 0..l.len);
        self.drop_node(Old::Leaf(p.cast()));
        self.alloc_leaf(copy)
    }

    /// A fresh copy of an inner node (or the node itself if fresh).
    fn own_inner(&mut self, p: *mut Inner) -> *mut Inner {
        if self.fresh.contains(p as usize) {
            return p;
        }
        // SAFETY: a node of the current tree, alive under the lock.
        let n = unsafe { &*p };
        let mut copy = Inner::empty(n.leaf_children);
        copy.len = n.len;
        for i in 0..n.len {
            copy.set_branch(i, n.branch(i));
        }
        self.drop_node(Old::Inner(p));
        self.alloc_inner(copy)
    }

    fn new_sep(&mut self, key: &[u8]) -> *mut Sep {
        self.bytes += sep_bytes(key.len()) as isize;
        alloc_sep(key)
    }

    fn drop_sep(&mut self, sep: *mut Sep) {
        // SAFETY: a separator of a node of this commit's tree: alive.
        let sep_ref: &Sep = unsafe { &*sep };
        self.bytes -= sep_bytes(sep_ref.0.len()) as isize;
        self.old_seps.push(sep);
    }

    /// Puts `object` under `key` in the subtree of the fresh node `node`; the new right
    /// sibling if `node` split.
    fn put(
        &mut self,
        node: *mut Inner,
        norm: u64,
        key: &[u8],
        object: *mut Entry,
    ) -> Option<Split> {
        // SAFETY: `node` is fresh: this commit's, private, and not aliased elsewhere.
        let n = unsafe { &mut *node };
        if n.len == 0 {
            // Only the root of an empty tree has no children.
            n.leaf_children = true;
            let mut l = Leaf::empty();
            l.len = 1;
            l.set(0, norm, object);
            n.children[0].set(self.alloc_leaf(l).cast());
            n.len = 1;
            return None;
        }
        let i = route(n, norm, key);
        let split = if n.leaf_children {
            let l = self.own_leaf(n.children[i].get());
            n.children[i].set(l.cast());
            self.leaf_put(l, norm, key, object)
        } else {
            let c = self.own_inner(n.children[i].get().cast());
            n.children[i].set(c.cast());
            self.put(c, norm, key, object)
        };
        let (sn, sep, right) = split?;
        self.insert_child(node, i + 1, sn, sep, right)
    }

    fn leaf_put(
        &mut self,
        leaf: *mut Leaf,
        norm: u64,
        key: &[u8],
        object: *mut Entry,
    ) -> Option<Split> {
        // SAFETY: `leaf` is fresh.
        let l = unsafe { &mut *leaf };
        let at = match search_leaf(l, norm, key) {
            Ok(i) => {
                let old = l.objs[i].swap(object, Ordering::Relaxed);
                // SAFETY: `old` is a live object of the tree.
                self.bytes -= unsafe { Entry::bytes(old) } as isize;
                self.old_objects.push(old);
                return None;
            }
            Err(i) => i,
        };
        if l.len < CAP {
            for j in (at..l.len).rev() {
                l.norms[j + 1] = l.norms[j];
                l.objs[j + 1].store(l.objs[j].load(Ordering::Relaxed), Ordering::Relaxed);
            }
            l.norms[at] = norm;
            l.objs[at].store(object, Ordering::Relaxed);
            l.len += 1;
            return None;
        }
        // Split CAP + 1 keys; appending at either end leaves the old leaf full.
        let mut norms = Vec::with_capacity(CAP + 1);
        let mut objs = Vec::with_capacity(CAP + 1);
        for j in 0..CAP {
            if j == at {
                norms.push(norm);
                objs.push(object);
            }
            norms.push(l.norms[j]);
            objs.push(l.objs[j].load(Ordering::Relaxed));
        }
        if at == CAP {
            norms.push(norm);
            objs.push(object);
        }
        let keep = split_point(at);
        let mut right = Leaf::empty();
        for (j, (&n, &o)) in norms.iter().zip(&objs).enumerate() {
            if j < keep {
                l.norms[j] = n;
                l.objs[j].store(o, Ordering::Relaxed);
            } else {
                right.norms[j - keep] = n;
                right.objs[j - keep].store(o, Ordering::Relaxed);
            }
        }
        l.len = keep;
        right.len = CAP + 1 - keep;
        // SAFETY: `objs[keep]` is a live object (new, or of the tree).
        let sep_key = unsafe { view(objs[keep]) }.key_msgpack();
        let sep = self.new_sep(sep_key);
        let right = self.alloc_leaf(right);
        Some((norms[keep], sep, right.cast()))
    }

    /// Inserts child `right` (with its separator) at `at` in the fresh node `node`, splitting it
    /// if full.
    fn insert_child(
        &mut self,
        node: *mut Inner,
        at: usize,
        norm: u64,
        sep: *mut Sep,
        right: *mut (),
    ) -> Option<Split> {
        // SAFETY: `node` is fresh.
        let n = unsafe { &mut *node };
        if n.len < CAP {
            for j in (at..n.len).rev() {
                let moved = n.branch(j);
                n.set_branch(j + 1, moved);
            }
            n.set_branch(at, (norm, sep, right));
            n.len += 1;
            return None;
        }
        let mut all: Vec<(u64, *mut Sep, *mut ())> = (0..CAP).map(|j| n.branch(j)).collect();
        all.insert(at, (norm, sep, right));
        let keep = split_point(at);
        let mut r = Inner::empty(n.leaf_children);
        for (j, &branch) in all.iter().enumerate() {
            if j < keep {
                n.set_branch(j, branch);
            } else {
                r.set_branch(j - keep, branch);
            }
        }
        for j in keep..CAP {
            n.set_branch(j, (0, ptr::null_mut(), ptr::null_mut()));
        }
        n.len = keep;
        r.len = CAP + 1 - keep;
        // The right node's first separator moves up to the parent.
        let (up_norm, up_sep) = (r.norms[0], r.seps[0]);
        (r.norms[0], r.seps[0]) = (0, ptr::null_mut());
        let r = self.alloc_inner(r);
        Some((up_norm, up_sep, r.cast()))
    }

    /// Deletes `key` (which is in the tree) from the subtree of the fresh node `node`, merging
    /// or removing children that become small or empty.
    fn delete(&mut self, node: *mut Inner, norm: u64, key: &[u8]) {
        // SAFETY: `node` is fresh.
        let n = unsafe { &mut *node };
        let i = route(n, norm, key);
        let child_len = if n.leaf_children {
            let l = self.own_leaf(n.children[i].get());
            n.children[i].set(l.cast());
            // SAFETY: `l` is fresh.
            let l = unsafe { &mut *l };
            let at = search_leaf(l, norm, key).expect("the key is in the tree");
            let old = l.objs[at].load(Ordering::Relaxed);
            // SAFETY: `old` is a live object of the tree.
            self.bytes -= unsafe { Entry::bytes(old) } as isize;
            self.old_objects.push(old);
            for j in at + 1..l.len {
                l.norms[j - 1] = l.norms[j];
                l.objs[j - 1].store(l.objs[j].load(Ordering::Relaxed), Ordering::Relaxed);
            }
            l.len -= 1;
            l.objs[l.len].store(ptr::null_mut(), Ordering::Relaxed);
            l.len
        } else {
            let c = self.own_inner(n.children[i].get().cast());
            n.children[i].set(c.cast());
            self.delete(c, norm, key);
            // SAFETY: `c` is fresh.
            unsafe { (*c).len }
        };
        if child_len == 0 {
            let child = n.children[i].get();
            self.remove_child(n, i, true);
            self.drop_node(if n.leaf_children {
                Old::Leaf(child.cast())
            } else {
                Old::Inner(child.cast())
            });
        } else if child_len <= CAP / 4 {
            // Merge with a neighbour if both fit in one node.
            let len_of = |p: *mut ()| {
                // SAFETY: children of a fresh node are fresh or in the current tree.
                unsafe {
                    if n.leaf_children {
                        (*p.cast::<Leaf>()).len
                    } else {
                        (*p.cast::<Inner>()).len
                    }
                }
            };
            if i > 0 && len_of(n.children[i - 1].get()) + child_len <= CAP {
                self.merge(n, i - 1);
            } else if i + 1 < n.len && len_of(n.children[i + 1].get()) + child_len <= CAP {
                self.merge(n, i);
            }
        }
    }

    /// Removes child `i` of `n` and its separator (child 0's successor loses its separator
    /// instead). Drops the separator if `drop_sep`, else the caller took it.
    fn remove_child(&mut self, n: &mut Inner, i: usize, drop_sep: bool) {
        let gone = if i > 0 { i } else { 1 };
        if gone < n.len && drop_sep {
            self.drop_sep(n.seps[gone]);
        }
        let sep_removed = gone;
        for j in i + 1..n.len {
            let moved = n.children[j].get();
            n.children[j - 1].set(moved);
        }
        for j in sep_removed + 1..n.len {
            n.norms[j - 1] = n.norms[j];
            n.seps[j - 1] = n.seps[j];
        }
        n.len -= 1;
        n.set_branch(n.len, (0, ptr::null_mut(), ptr::null_mut()));
        (n.norms[0], n.seps[0]) = (0, ptr::null_mut());
    }

    /// Merges child `a + 1` of the fresh node `n` into child `a`.
    fn merge(&mut self, n: &mut Inner, a: usize) {
        let right = n.children[a + 1].get();
        if n.leaf_children {
            let left = self.own_leaf(n.children[a].get());
            n.children[a].set(left.cast());
            // SAFETY: `left` is fresh; `right` is fresh or in the current tree.
            let (l, r) = unsafe { (&mut *left, &*right.cast::<Leaf>()) };
            let at = l.len;
            l.copy_from(at, r, 0..r.len);
            l.len += r.len;
            self.remove_child(n, a + 1, true);
            self.drop_node(Old::Leaf(right.cast()));
        } else {
            let left = self.own_inner(n.children[a].get().cast());
            n.children[a].set(left.cast());
            // SAFETY: as above.
            let (l, r) = unsafe { (&mut *left, &*right.cast::<Inner>()) };
            // The separator between them comes down.
            l.set_branch(l.len, (n.norms[a + 1], n.seps[a + 1], r.children[0].get()));
            for j in 1..r.len {
                l.set_branch(l.len + j, r.branch(j));
            }
            l.len += r.len;
            self.remove_child(n, a + 1, false);
            self.drop_node(Old::Inner(right.cast()));
        }
    }
}

/// How many of `CAP + 1` entries the left node keeps when an entry arrives at `at`: all but
/// the new one when appending (so ascending inserts fill nodes), half otherwise.
fn split_point(at: usize) -> usize {
    match at {
        0 => 1,
        a if a == CAP => CAP,
        _ => CAP.div_ceil(2),
    }
}
