//! Storage of ordered_sets: a copy-on-write B+tree with lock-free reads.
//!
//! - The tree is published through one atomic root pointer. Readers enter a reclamation guard,
//!   load the root and walk the nodes: no lock, no write to shared memory, never a retry. A
//!   published node changes only by single atomic pointer stores (an object slot, a leaf's
//!   child pointer), so a reader sees each leaf whole.
//! - Writers stage their changes in a [`Txn`] and commit them at once. A write of one key that
//!   stays within its leaf's parent ([`OrderedStorage::write_one`]) holds the stripe of that
//!   parent (a lock among 16, shared by the parent's leaves) and checks, under it, that the
//!   root it searched is still the root and the parent was not replaced: a replaced object is
//!   one atomic store into its leaf slot, an added or removed key one store of a new copy of
//!   the leaf into its parent's child pointer, a new key in a full leaf one store of a copy of
//!   the parent with the leaf split in two; such writers of different parents run in parallel
//!   and share no lock. Anything else (splits of full parents, merges, several keys) holds
//!   every stripe, copies the path from the root to every leaf it touches and publishes the
//!   new tree with one root swap. So a multi-key write is atomic and
//!   isolated for readers (they see the old root or the new one); a walk sees one-key writes
//!   made meanwhile in the leaves it has not reached yet.
//! - A counter's entry ([`entry`], `MUTABLE`) changes in place under its own lock
//!   ([`EntryLock`]), which every writer of it holds: a transaction from the moment it finds
//!   the entry until its change is published (marking the entry retired if it took it out of
//!   the tree), and `update_counter`'s writer without a transaction
//!   ([`OrderedStorage::change_in_place`]), which takes no stripe and finds the entry as a
//!   reader does.
//! - Replaced nodes, objects and separators are retired to the collector (`seize`), which frees
//!   them once no reader can hold them ([`reclaim`]).
//! - Keys are kept in term order with their order prefixes inline ([`node`]); compare-equal keys
//!   are one key, and the stored object keeps the key it was inserted with.
//!
//! `chunk` ([`range`]) walks down to a key once and then leaf by leaf under one guard, so it
//! never fails and returns the keys after (before) `from` in the one tree it saw; `step` is a
//! chunk of one key. A traversal by chunks never returns a key twice, whatever writers do.
//!
//! The reasons for this design, and the measurements behind it, are in docs/ARCHITECTURE.md.

mod cache;
mod entry;
mod node;
mod range;
mod write;

use range::step;

#[cfg(all(test, rets_loom))]
mod loom_tests;

pub(crate) use cache::Hand;

use std::cmp::Ordering as Cmp;
use std::collections::BTreeMap;
use std::ops::ControlFlow;

use entry::{
    end_of, expires_at_of, is_mutable, lifetime_end_of, recency_of, view, Entry, EntryLock,
};
#[cfg(all(test, not(rets_loom)))]
use node::Leaf;
use node::{inner, leaf, route, search_leaf, Child, Inner, CAP};

use super::reclaim::{self, Collector, Protect};
use super::seqlock::Scratch;
use super::{Direction, InPlace, Start};
use crate::cache::Expiry;
use crate::object::{Key, Object, ObjectCow, ObjectRef, Objects};
use crate::sync::{AtomicPtr, AtomicUsize, Mutex, MutexGuard, Ordering};
use crate::term;

/// The objects of one ordered_set.
pub(crate) struct OrderedStorage {
    root: AtomicPtr<Inner>,
    /// The writers' locks, each with its share of the table's counts (see [`Stripe`]). A
    /// one-key writer holds the stripe of its key's leaf (chosen by the leaf's parent);
    /// a writer that changes the tree's shape or several keys holds every stripe
    /// ([`OrderedStorage::lock_all`]), so it excludes all others without a lock that every
    /// writer would take.
    stripes: Box<[Stripe]>,
    /// Boxed: seize's collector is large, and tables are many.
    collector: Box<Collector>,
    /// The cache layer's lifetimes: every read of an entry asks it (see [`OrderedStorage::live`]).
    expiry: Expiry,
    /// Whether readers set an entry's use bit (bounded tables only).
    track_use: bool,
    /// Objects removed because they had expired.
    expired: std::sync::atomic::AtomicU64,
}

// SAFETY: the raw pointers in the tree are owned by the storage; objects and keys are plain
// `Send + Sync` data; concurrent access follows the protocol in the module documentation.
unsafe impl Send for OrderedStorage {}
// SAFETY: as above.
unsafe impl Sync for OrderedStorage {}

pub(crate) fn new() -> OrderedStorage {
    OrderedStorage::new()
}

fn new_root() -> *mut Inner {
    Box::into_raw(Box::new(Inner::empty(true)))
}

/// One-key writers of different leaves run in parallel unless their leaves share a stripe.
#[cfg(not(rets_loom))]
const STRIPES: usize = 16;
#[cfg(rets_loom)]
const STRIPES: usize = 2;

/// One stripe, on a cache line of its own: the lock of its leaves' one-key writers, and the
/// changes those writers made to the table's counts. The counts live on the line the writer
/// holds anyway rather than in one shared counter, which writers on different cores would
/// take from each other on every write; `size` and `memory` add the stripes up. Exclusive
/// writers count in stripe 0.
#[repr(align(64))]
struct Stripe {
    lock: Mutex<()>,
    counts: Counts,
}

/// What a one-key writer holds while it works under a leaf's parent
/// ([`OrderedStorage::hold_parent`]): its guard, its parent's stripe (and the counts that go
/// with it), the root it found the parent under, and the leaf's place in the parent.
struct LeafParent<'s> {
    guard: reclaim::Guard<'s>,
    stripe: MutexGuard<'s, ()>,
    counts: &'s Counts,
    root: *mut Inner,
    parent: &'s Inner,
    at: usize,
}

/// The bytes stripe `i` counts for an empty tree: stripe 0 counts its root.
fn empty_tree_bytes(i: usize) -> usize {
    if i == 0 {
        std::mem::size_of::<Inner>()
    } else {
        0
    }
}

/// Changes to the number of objects and to the bytes of nodes, separators and objects, as
/// wrapping sums of signed deltas: one stripe's may be negative (keys added under one stripe
/// and removed under another), their total is not.
pub(super) struct Counts {
    objects: AtomicUsize,
    bytes: AtomicUsize,
}

impl Counts {
    fn new(bytes: usize) -> Counts {
        Counts {
            objects: AtomicUsize::new(0),
            bytes: AtomicUsize::new(bytes),
        }
    }

    /// Back to no objects and `bytes` bytes (with every writer excluded).
    fn reset(&self, bytes: usize) {
        self.objects.store(0, Ordering::Relaxed);
        self.bytes.store(bytes, Ordering::Relaxed);
    }

    /// Counts `objects` more objects and `bytes` more bytes (either may be negative).
    pub(super) fn add(&self, objects: isize, bytes: isize) {
        // Two's complement: adding a negative delta's bit pattern subtracts it. A zero delta
        // leaves the line clean.
        if objects != 0 {
            self.objects.fetch_add(objects as usize, Ordering::Relaxed);
        }
        if bytes != 0 {
            self.bytes.fetch_add(bytes as usize, Ordering::Relaxed);
        }
    }
}

/// The stripe of the leaves of `parent` (an inner node whose children are leaves): the node's
/// address, mixed. All the leaves of one parent share its stripe, so that a split of one of
/// them can copy the parent under that stripe alone (see [`OrderedStorage::write_one`]).
/// Under loom, the node's length: loom needs every execution of a model to make the same
/// choices, and the loom build's allocator (which quarantines freed blocks, see
/// `reclaim::poison`) gives nodes new addresses in each one. Either choice is fixed for the
/// life of a node (a published inner node's length never changes).
fn stripe_of(parent: &Inner) -> usize {
    if cfg!(rets_loom) {
        parent.len % STRIPES
    } else {
        let mixed =
            (parent as *const Inner as usize as u64 >> 3).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (mixed >> 32) as usize % STRIPES
    }
}

/// The depth bound of a walk's path: a tree of this height would hold more than
/// `(CAP / 2)^MAX_DEPTH` keys.
const MAX_DEPTH: usize = 48;

impl OrderedStorage {
    pub(crate) fn new() -> OrderedStorage {
        OrderedStorage {
            root: AtomicPtr::new(new_root()),
            stripes: (0..STRIPES)
                .map(|i| Stripe {
                    lock: Mutex::new(()),
                    counts: Counts::new(empty_tree_bytes(i)),
                })
                .collect(),
            collector: Box::new(Collector::new()),
            expiry: Expiry::default(),
            track_use: false,
            expired: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Gives the storage the cache layer's lifetimes, and makes readers mark what they use
    /// if `track_use` (before any object is stored).
    pub(crate) fn with_cache(mut self, expiry: Expiry, track_use: bool) -> OrderedStorage {
        self.expiry = expiry;
        self.track_use = track_use;
        self
    }

    /// The storage's lifetimes.
    pub(crate) fn expiry(&self) -> &Expiry {
        &self.expiry
    }

    /// Objects removed so far because they had expired.
    pub(crate) fn expired_count(&self) -> u64 {
        self.expired.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether the entry at `p` is live (not expired): the one check every read of an
    /// ordered_set makes.
    ///
    /// # Safety
    /// `p` is a live entry.
    #[inline]
    unsafe fn live(&self, p: *const Entry) -> bool {
        // SAFETY: the caller's contract.
        !self
            .expiry
            .is_expired(unsafe { expires_at_of(p) }.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// The storage's reclamation collector (a pinned reader enters it once for many reads).
    pub(super) fn collector(&self) -> &Collector {
        &self.collector
    }

    /// Calls `f` with the objects stored under `key` (none if the key is absent), under a
    /// guard of its own (for tests: tables read through `Storage::read` and `ReadPin::read`).
    #[cfg(test)]
    pub(crate) fn read<R>(&self, key: &[u8], f: impl FnOnce(Objects<'_>) -> R) -> R {
        let guard = self.collector.enter();
        let mut scratch = Scratch::new();
        // SAFETY: `guard` is this storage's and lives until `f` returns.
        f(unsafe { self.objects_in(&guard, key, &mut scratch) })
    }

    /// The objects under `key`, borrowed for as long as `guard` (or copied into `scratch`, if
    /// they change in place).
    ///
    /// # Safety
    /// `guard` was entered on this storage's collector.
    #[inline]
    pub(crate) unsafe fn objects_in<'g>(
        &'g self,
        guard: &'g impl Protect,
        key: &[u8],
        scratch: &'g mut Scratch,
    ) -> Objects<'g> {
        let root = reclaim::load(guard, &self.root);
        let norm = term::order_prefix(key);
        // SAFETY: `root` was loaded under `guard` (this storage's, per the contract), which
        // outlives every use below; see `node`.
        // The slot is in a live leaf and holds a live entry.
        let found = unsafe {
            find(root, norm, key)
                .map(|slot| (*slot).load(Ordering::Acquire))
                .filter(|&p| self.live(p))
                .map(|p| {
                    if self.track_use {
                        let uses = recency_of(p);
                        let n = uses.load(std::sync::atomic::Ordering::Relaxed);
                        if n < crate::storage::MAX_USES {
                            uses.store(n + 1, std::sync::atomic::Ordering::Relaxed);
                        }
                        self.expiry.touch(expires_at_of(p), || end_of(p));
                    }
                    entry::read(p, scratch)
                })
        };
        Objects::from_option(found)
    }

    /// The deadline of the live object under `key` (0: never), or `None` if there is none.
    pub(crate) fn deadline_of(&self, key: &[u8]) -> Option<u64> {
        let guard = self.collector.enter();
        let root = reclaim::load(&guard, &self.root);
        let norm = term::order_prefix(key);
        // SAFETY: as in `read`: loaded under `guard`, a live leaf's slot holds a live entry.
        unsafe {
            find(root, norm, key)
                .map(|slot| (*slot).load(Ordering::Acquire))
                .filter(|&p| self.live(p))
                .map(|p| lifetime_end_of(p, &self.expiry))
        }
    }

    /// Runs `f` on the objects under `keys` through a [`Txn`], then commits what it changed at
    /// once (see the module documentation): atomic and isolated.
    /// If `f` panics, nothing is committed.
    pub(crate) fn write<'v, R>(&self, _keys: &[&[u8]], f: impl FnOnce(Txn<'_, 'v>) -> R) -> R {
        let _lock = self.lock_all();
        let mut staged = Staging::default();
        let result = f(Txn {
            storage: self,
            staged: &mut staged,
            exclusive: true,
        });
        write::commit(self, staged);
        result
    }

    /// [`OrderedStorage::write`] for one key, for a writer that never removes it (it may add
    /// it, replace its object, or leave it): see [`OrderedStorage::write_one`].
    pub(crate) fn write_in_place<'v, R>(&self, key: &[u8], f: impl FnOnce(Txn<'_, 'v>) -> R) -> R {
        self.write_one(key, false, f)
    }

    /// [`OrderedStorage::write`] for one key (`may_remove`: `f` may remove it). Unless the
    /// change could reshape the tree above the key's leaf's parent, `f` runs beside readers
    /// and other such writers, holding the stripe of that parent only, and its change is
    /// published with one store: a replaced object into the key's slot, an added or removed
    /// key by a new copy of the leaf into its parent's child pointer, a new key in a full leaf
    /// by a copy of the parent with the leaf split in two, where the parent's pointer was. A
    /// change that could reshape more (a new key in a full leaf whose parent is full; a
    /// removal that could leave the leaf a quarter full or less, where the exclusive path
    /// merges it; an empty tree) is a [`OrderedStorage::write`].
    pub(crate) fn write_one<'v, R>(
        &self,
        key: &[u8],
        may_remove: bool,
        f: impl FnOnce(Txn<'_, 'v>) -> R,
    ) -> R {
        let norm = term::order_prefix(key);
        if let Some(held) = self.hold_parent(norm, key) {
            let LeafParent {
                guard,
                stripe,
                counts,
                root,
                parent,
                at,
            } = held;
            let child = &parent.children[at];
            {
                // The leaf under the stripe: a leaf writer may have just replaced it. From
                // here until the stripe is released no other writer changes it or its slots.
                // SAFETY: `child` is in the current tree (`hold_parent`); a child pointer holds a
                // live leaf.
                let leaf = unsafe { node::leaf(child.get()) };
                let found = search_leaf(leaf, norm, key);
                // A new key fits a full leaf too if its parent has room for the leaf's split.
                let fits = match found {
                    Ok(_) => !may_remove || leaf.len - 1 > CAP / 4,
                    Err(_) => leaf.len < CAP || parent.len < CAP,
                };
                if fits {
                    let (original, slot) = match found {
                        Ok(i) => {
                            let slot = &leaf.objs[i];
                            (
                                slot.load(Ordering::Acquire),
                                slot as *const AtomicPtr<Entry>,
                            )
                        }
                        Err(_) => (std::ptr::null_mut(), std::ptr::null()),
                    };
                    let mut staged = Staging::default();
                    // SAFETY: the slot of a live leaf holds a live entry, kept by the guard.
                    staged.push(key, unsafe {
                        Staged::found(self, norm, original, slot, true)
                    });
                    let result = f(Txn {
                        storage: self,
                        staged: &mut staged,
                        exclusive: false,
                    });
                    // A transaction that left its key as it was (a read, a counter changed in
                    // place) has nothing to publish.
                    let unlinked = if staged.only().is_some_and(|st| st.next.is_none()) {
                        // Its entry's lock, if any, goes while the guard keeps the entry.
                        drop(staged);
                        write::Unlinked::default()
                    } else {
                        let place = write::Place {
                            root,
                            parent,
                            at,
                            leaf,
                        };
                        write::commit_one(self, counts, staged, place, found)
                    };
                    // The stripe and the guard go before what left the tree is retired: the
                    // retirement that fills this thread's batch frees it after a process-wide
                    // barrier (as in the hash storage's commit), which other writers of the
                    // stripe, and exclusive writers, need not wait for.
                    drop((stripe, guard));
                    // SAFETY: what `commit_one` unlinked left the tree with its store, under
                    // the stripe, in the current tree: no reader that enters from now on
                    // reaches it, no other writer copied it (the stripe excluded them), and
                    // only this writer retires it.
                    unsafe { unlinked.retire(&self.collector) };
                    return result;
                }
            }
            // The change does not fit the leaf and its parent: the exclusive path.
            drop((stripe, guard));
        }
        self.write(&[key], f)
    }

    /// The parent of the leaf where `key` (whose order prefix is `norm`) is or would be, held
    /// for a one-key writer: its stripe taken, the parent checked to be in the current tree.
    /// `None` if the tree is empty.
    fn hold_parent(&self, norm: u64, key: &[u8]) -> Option<LeafParent<'_>> {
        loop {
            // The search reads other keys' objects, which their own in-place writers may
            // replace and retire meanwhile, and leaves that leaf writers replace: it needs a
            // guard, as a reader does. The guard also keeps the root loaded here from being
            // freed, so no later root can have its address.
            let guard = self.collector.enter();
            let root = self.root.load(Ordering::Acquire);
            // SAFETY: the guard keeps the tree at `root` alive, replaced or not.
            let (parent, at) = unsafe { find_parent(root, norm, key) }?;
            let Stripe { lock, counts } = &self.stripes[stripe_of(parent)];
            let stripe = lock_spinning(lock);
            // The tree changes shape in two ways: writers holding every stripe (see
            // `lock_all`) replace the root; a split within its parent replaces the parent (a
            // copy stored where its pointer was), holding the parent's stripe, and marks the
            // parent `replaced` before it lets the stripe go. This writer holds that stripe
            // now: if the root is still the one searched and `parent` was not replaced,
            // `parent` is in the current tree and stays there, unchanged but for its leaf
            // stores, until the stripe is released. Otherwise search again.
            if self.root.load(Ordering::Acquire) != root || parent.replaced.load(Ordering::Relaxed)
            {
                drop((stripe, guard));
                continue;
            }
            return Some(LeafParent {
                guard,
                stripe,
                counts,
                root,
                parent,
                at,
            });
        }
    }

    /// [`crate::storage::Storage::change_in_place`] on an ordered_set: the key's object
    /// changed where it is, under the entry's own lock, without a transaction or a stripe: the
    /// entry found as a reader finds it, locked, and changed if no transaction took it out of
    /// the tree meanwhile (see [`EntryLock`]). `None`, with nothing changed, if the key is
    /// absent or expired, its object may not change in place (not stored as a counter), it
    /// left the tree, or `plan` gives up.
    ///
    /// Linearizable: the change takes effect while the entry is in the tree. A transaction
    /// that reads or replaces the entry holds its lock from its search to its published commit,
    /// and marks it retired if it took it out; an exclusive writer that drops it unread (the
    /// whole table cleared) comes after this change in the order of operations, which both
    /// overlap.
    pub(crate) fn change_in_place<S, R>(
        &self,
        key: &[u8],
        state: &mut S,
        plan: impl FnOnce(&mut S, ObjectRef<'_>) -> InPlace<R>,
        edit: impl FnOnce(&S, &mut dyn FnMut(&[(usize, &[u8])])),
    ) -> Option<R> {
        let norm = term::order_prefix(key);
        let guard = self.collector.enter();
        let root = reclaim::load(&guard, &self.root);
        // SAFETY: the guard keeps the tree at `root`, replaced or not, and the entries it
        // holds, alive until this returns; the lock is taken on a `MUTABLE` entry; the view
        // ends (with `plan`) before the lock's `overwrite` writes.
        unsafe {
            let slot = find(root, norm, key)?;
            let p = (*slot).load(Ordering::Acquire);
            if !is_mutable(p) || !self.live(p) {
                return None;
            }
            // Released however this returns: a panic in `plan` or `edit` must not leave the
            // entry locked, which would stall its readers for good.
            let lock = EntryLock::new(p);
            if lock.is_retired() {
                return None;
            }
            match plan(state, view(p)) {
                InPlace::Done(r) => Some(r),
                InPlace::GiveUp => None,
                InPlace::Write(r) => {
                    edit(state, &mut |edits| lock.overwrite(edits));
                    Some(r)
                }
            }
        }
    }

    /// Every stripe, taken in order (so two such writers never deadlock, and a one-key writer,
    /// which holds one stripe and waits for nothing else while it does, never blocks one for
    /// long): the tree's shape and every slot are this writer's until they are released.
    fn lock_all(&self) -> [MutexGuard<'_, ()>; STRIPES] {
        std::array::from_fn(|i| lock_spinning(&self.stripes[i].lock))
    }

    /// Removes every object, atomically and in isolation.
    pub(crate) fn clear(&self) {
        let lock = self.lock_all();
        let old = self.root.swap(new_root(), Ordering::AcqRel);
        // Every stripe held keeps every other writer, and so every count change, out.
        for (i, stripe) in self.stripes.iter().enumerate() {
            stripe.counts.reset(empty_tree_bytes(i));
        }
        // SAFETY: `old` is unreachable for new readers; the whole tree goes with it, and
        // nothing in it was retired on its own (retired nodes were replaced before).
        unsafe { self.collector.retire(node::Tree::from_root(old)) };
        drop(lock);
        // One retirement would not fill this thread's batch: without a flush, a deleted
        // table's memory waited for the table's last handle to go.
        self.collector.flush();
    }

    /// The number of objects.
    pub(crate) fn size(&self) -> usize {
        self.total(|c| &c.objects)
    }

    /// The counts the exclusive writers change.
    fn exclusive_counts(&self) -> &Counts {
        &self.stripes[0].counts
    }

    /// The sum of one count over the stripes. While one-key writers run it may add a change
    /// of one stripe and miss an earlier one of another, so a total that would be negative
    /// reads as 0.
    fn total(&self, count: impl Fn(&Counts) -> &AtomicUsize) -> usize {
        let sum = self.stripes.iter().fold(0usize, |sum, stripe| {
            sum.wrapping_add(count(&stripe.counts).load(Ordering::Relaxed))
        });
        (sum as isize).max(0) as usize
    }

    /// Bytes held by the objects and the storage around them.
    pub(crate) fn memory(&self) -> usize {
        std::mem::size_of::<OrderedStorage>() + self.total(|c| &c.bytes)
    }

    /// The first key strictly after (before) `from` in term order (the first (last) key if
    /// `from` is `None`), and `f` applied to its objects. `from` need not be in the table.
    /// A chunk of one key (see `range`).
    pub(crate) fn step<R>(
        &self,
        from: Option<&[u8]>,
        direction: Direction,
        f: impl FnOnce(Objects<'_>) -> R,
    ) -> Option<(Key, R)> {
        let start = from.map_or(Start::First, Start::After);
        let (mut f, mut found) = (Some(f), None);
        self.chunk(start, direction, 1, |key, objects| {
            if let Some(f) = f.take() {
                found = Some((Key::from_canonical(key), f(objects)));
            }
            ControlFlow::Break(())
        });
        found
    }

    /// Calls `f` on every object in term order (or reverse), on the tree as it was when the
    /// walk began, except that one-key writes meanwhile may be seen (see the module
    /// documentation).
    pub(crate) fn for_each(&self, direction: Direction, mut f: impl FnMut(ObjectRef<'_>)) {
        let guard = self.collector.enter();
        let root = reclaim::load(&guard, &self.root);
        // SAFETY: `root` was loaded under `guard`, which outlives the walk.
        unsafe {
            walk(root.cast(), false, direction, &mut |p| {
                if self.live(p) {
                    f(entry::read(p, &mut Scratch::new()))
                }
            })
        };
    }
}

impl Drop for OrderedStorage {
    fn drop(&mut self) {
        let root = self.root.load(Ordering::Relaxed);
        // SAFETY: `&mut self`: no reader or writer is left; retired nodes are not in the tree.
        unsafe { node::free_tree(root) };
        // The collector, dropped next, frees what was retired.
    }
}

/// The slot of the object under `key` in the tree at `root`.
///
/// # Safety
/// `root` and everything under it stay live while the caller uses the result.
unsafe fn find(root: *const Inner, norm: u64, key: &[u8]) -> Option<*const AtomicPtr<Entry>> {
    // SAFETY: the caller's contract covers every node reached from `root`.
    unsafe {
        let mut node = inner(root.cast());
        if node.len == 0 {
            return None;
        }
        loop {
            let child = node.children[route(node, norm, key)].get();
            if node.leaf_children {
                let l = leaf(child);
                return search_leaf(l, norm, key)
                    .ok()
                    .map(|i| &l.objs[i] as *const AtomicPtr<Entry>);
            }
            node = inner(child);
        }
    }
}

/// The parent of the leaf where `key` is or would be in the tree at `root` (the inner node
/// whose children are leaves), and the leaf's place in it (`None` if the tree is empty). The
/// same descent as [`find`], which keeps its own loop: built on this one, a lookup took 21
/// instructions more (callgrind).
///
/// # Safety
/// As for [`find`].
unsafe fn find_parent<'a>(root: *const Inner, norm: u64, key: &[u8]) -> Option<(&'a Inner, usize)> {
    // SAFETY: the caller's contract covers every node reached from `root`.
    unsafe {
        let mut node = inner(root.cast());
        if node.len == 0 {
            return None;
        }
        loop {
            let at = route(node, norm, key);
            if node.leaf_children {
                return Some((node, at));
            }
            node = inner(node.children[at].get());
        }
    }
}

/// Where a parent's pointer is kept: the root, or a child pointer of its own parent.
enum Above<'a> {
    Root,
    Child(&'a Child),
}

/// Where the pointer to `parent`, the parent of `key`'s leaf in the tree at `root`, is kept
/// (found again by the same descent: only a split in its parent needs it).
///
/// # Safety
/// As for [`find`], and `parent` is what [`find_parent`] found for `key` at `root`.
unsafe fn above<'a>(root: *const Inner, parent: &Inner, norm: u64, key: &[u8]) -> Above<'a> {
    let mut above = Above::Root;
    // SAFETY: the caller's contract covers every node reached from `root`.
    unsafe {
        let mut node = inner(root.cast());
        while !std::ptr::eq(node, parent) {
            let child = &node.children[route(node, norm, key)];
            above = Above::Child(child);
            node = inner(child.get());
        }
    }
    above
}

/// Calls `f` on every object under `node` in `direction`.
///
/// # Safety
/// As for [`find`]; `node` is a leaf if `is_leaf`, else an inner node.
unsafe fn walk(
    node: *const (),
    is_leaf: bool,
    direction: Direction,
    f: &mut impl FnMut(*mut Entry),
) {
    // SAFETY: the caller's contract covers every node reached from `node`.
    unsafe {
        if is_leaf {
            let l = leaf(node);
            let mut visit = |i: usize| f(l.objs[i].load(Ordering::Acquire));
            match direction {
                Direction::Forward => (0..l.len).for_each(&mut visit),
                Direction::Backward => (0..l.len).rev().for_each(&mut visit),
            }
        } else {
            let n = inner(node);
            let mut visit = |i: usize| walk(n.children[i].get(), n.leaf_children, direction, f);
            match direction {
                Direction::Forward => (0..n.len).for_each(&mut visit),
                Direction::Backward => (0..n.len).rev().for_each(&mut visit),
            }
        }
    }
}

/// A key as the staging map orders it: by term order, so compare-equal keys are one entry.
struct StagedKey(Box<[u8]>);

impl Ord for StagedKey {
    fn cmp(&self, other: &Self) -> Cmp {
        term::compare(&self.0, &other.0)
    }
}
impl PartialOrd for StagedKey {
    fn partial_cmp(&self, other: &Self) -> Option<Cmp> {
        Some(self.cmp(other))
    }
}
impl PartialEq for StagedKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Cmp::Equal
    }
}
impl Eq for StagedKey {}

/// The pending state of one key in a [`Txn`]; a new object may be a view of bytes that live
/// for `'v` (the caller's, in [`Txn::replace_view`]), copied into the tree by the commit.
struct Staged<'v> {
    /// The key's order prefix.
    norm: u64,
    /// The object in the tree when the key was first touched (null if none), and its slot.
    original: *mut Entry,
    slot: *const AtomicPtr<Entry>,
    /// What the key will hold: `None` while the transaction has not changed it (it holds
    /// `original`, read in place without a copy), else the new object or none.
    next: Option<Option<ObjectCow<'v>>>,
    /// `original` had expired: the transaction sees the key as absent.
    expired: bool,
    /// The lifetime end to commit a new object with; `None` keeps the original's (0 if none).
    expires_at: Option<u64>,
    /// The new object is an update's, to be stored so that it may change in place
    /// ([`Txn::replace_changeable`]).
    counter: bool,
    /// The writer holds the lock of this key's slot (its leaf's stripe, or every stripe), and
    /// `lock`: `original` cannot change in place under it.
    held: bool,
    /// The lock of `original` if it is `MUTABLE` and `held`, taken when the key was staged and
    /// kept until the commit is published (see [`EntryLock`]).
    lock: Option<EntryLock>,
}

impl Staged<'_> {
    /// The state of a key the transaction has not changed yet: `original` (null if none) found
    /// in `slot`; if `held`, locked when it is `MUTABLE`.
    ///
    /// # Safety
    /// `original` is null or a live entry, kept alive while the staging lives (by the stripes
    /// the writer holds, or its guard).
    unsafe fn found(
        s: &OrderedStorage,
        norm: u64,
        original: *mut Entry,
        slot: *const AtomicPtr<Entry>,
        held: bool,
    ) -> Self {
        // SAFETY: the caller's contract.
        let (expired, lock) = unsafe {
            if original.is_null() {
                (false, None)
            } else {
                let lock = (held && is_mutable(original)).then(|| EntryLock::new(original));
                (!s.live(original), lock)
            }
        };
        debug_assert!(
            !lock.as_ref().is_some_and(EntryLock::is_retired),
            "an entry found by a writer that holds its slot is in the tree"
        );
        Staged {
            norm,
            original,
            slot,
            next: None,
            expired,
            expires_at: None,
            counter: false,
            held,
            lock,
        }
    }

    /// Whether `original` may be borrowed in place: this writer holds its slot (and so its
    /// lock, if it is `MUTABLE`), or it never changes in place. Otherwise it is copied under its
    /// version; a writer holding the lock must not copy (the copy would wait for the writer).
    ///
    /// # Safety
    /// `original` is a live entry.
    unsafe fn borrowable(&self) -> bool {
        // SAFETY: the caller's contract.
        self.held || unsafe { !is_mutable(self.original) }
    }

    /// The original object if it is live.
    fn current(&self) -> *mut Entry {
        if self.expired {
            std::ptr::null_mut()
        } else {
            self.original
        }
    }

    /// The lifetime end a new object for the key gets (0: never).
    fn deadline(&self, expiry: &Expiry) -> u64 {
        self.expires_at.unwrap_or_else(|| {
            let p = self.current();
            if p.is_null() {
                0
            } else {
                // SAFETY: `original` stays in the tree while the transaction runs (see `get`).
                unsafe { lifetime_end_of(p, expiry) }
            }
        })
    }
}

/// A write transaction (see [`OrderedStorage::write`] and [`OrderedStorage::write_one`]):
/// it runs holding every stripe, or its key's leaf's stripe in a tree whose shape cannot change
/// meanwhile, and stages its changes; they are committed together when it
/// ends.
pub(crate) struct Txn<'a, 'v> {
    storage: &'a OrderedStorage,
    staged: &'a mut Staging<'v>,
    /// The writer holds every stripe (else the stripe of its key's leaf only).
    exclusive: bool,
}

/// The keys a transaction touched, in the order it touched them, with an index in term order
/// once there are more than a few (a list insert). The first key is kept inline, its bytes too
/// when short: a one-key write, most writes, allocates nothing to stage.
#[derive(Default)]
struct Staging<'v> {
    first: Option<(KeyBytes, Staged<'v>)>,
    rest: Vec<(KeyBytes, Staged<'v>)>,
    index: BTreeMap<StagedKey, usize>,
    /// The copy `Txn::get` made of an object that may change in place under it (one at a
    /// time: `get`'s result borrows the transaction).
    copied: Option<Object>,
}

/// A staged key's bytes: inline up to [`KeyBytes::INLINE`] bytes, else on the heap.
enum KeyBytes {
    Inline(u8, [u8; KeyBytes::INLINE]),
    Heap(Box<[u8]>),
}

impl KeyBytes {
    const INLINE: usize = 30;

    fn new(key: &[u8]) -> KeyBytes {
        if key.len() <= Self::INLINE {
            let mut bytes = [0; Self::INLINE];
            bytes[..key.len()].copy_from_slice(key);
            KeyBytes::Inline(key.len() as u8, bytes)
        } else {
            KeyBytes::Heap(key.into())
        }
    }
}

impl std::ops::Deref for KeyBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            KeyBytes::Inline(len, bytes) => &bytes[..*len as usize],
            KeyBytes::Heap(bytes) => bytes,
        }
    }
}

/// Up to this many keys, the staging list is searched in place.
const INDEX_FROM: usize = 8;

impl<'v> Staging<'v> {
    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    /// The staged keys in the order they were touched.
    fn iter(&self) -> impl Iterator<Item = &(KeyBytes, Staged<'v>)> {
        self.first.iter().chain(&self.rest)
    }

    /// The staged keys in the order they were touched, taken.
    fn into_list(self) -> impl Iterator<Item = (KeyBytes, Staged<'v>)> {
        self.first.into_iter().chain(self.rest)
    }

    /// The one key staged by a one-key write, taken (no iterator over the others to build and
    /// drop).
    fn into_only(self) -> Staged<'v> {
        assert!(self.rest.is_empty(), "a one-key write touches one key");
        self.first.expect("the key is staged").1
    }

    /// The one key staged, if there is exactly one.
    fn only(&self) -> Option<&Staged<'v>> {
        match (&self.first, self.rest.is_empty()) {
            (Some((_, staged)), true) => Some(staged),
            _ => None,
        }
    }

    /// The key at position `at` (as `position` and `push` return).
    fn at_mut(&mut self, at: usize) -> &mut Staged<'v> {
        self.at_mut_with_copy(at).0
    }

    /// [`Staging::at_mut`], and the place for a copy of its object.
    fn at_mut_with_copy(&mut self, at: usize) -> (&mut Staged<'v>, &mut Option<Object>) {
        let Staging {
            first,
            rest,
            copied,
            ..
        } = self;
        let staged = match at {
            0 => &mut first.as_mut().expect("a staged key").1,
            _ => &mut rest[at - 1].1,
        };
        (staged, copied)
    }

    fn position(&self, key: &[u8]) -> Option<usize> {
        // One key staged, as in most writes: compared without the iterator chain.
        if let (Some((k, _)), true) = (&self.first, self.rest.is_empty()) {
            return (term::compare(k, key) == Cmp::Equal).then_some(0);
        }
        if self.len() <= INDEX_FROM {
            self.iter()
                .position(|(k, _)| term::compare(k, key) == Cmp::Equal)
        } else {
            self.index.get(&StagedKey(key.into())).copied()
        }
    }

    fn push(&mut self, key: &[u8], staged: Staged<'v>) -> usize {
        let entry = (KeyBytes::new(key), staged);
        if self.first.is_none() {
            self.first = Some(entry);
        } else {
            self.rest.push(entry);
        }
        let at = self.len() - 1;
        if at == INDEX_FROM {
            let keys: Vec<Box<[u8]>> = self.iter().map(|(k, _)| (**k).into()).collect();
            for (i, k) in keys.into_iter().enumerate() {
                self.index.insert(StagedKey(k), i);
            }
        } else if at > INDEX_FROM {
            self.index.insert(StagedKey(key.into()), at);
        }
        at
    }
}

impl<'v> Txn<'_, 'v> {
    fn stage(&mut self, key: &[u8]) -> &mut Staged<'v> {
        let at = self.stage_at(key);
        self.staged.at_mut(at)
    }

    /// The position of `key` among the staged keys, staged now if it was not.
    fn stage_at(&mut self, key: &[u8]) -> usize {
        match self.staged.position(key) {
            Some(at) => at,
            None => {
                let root = self.storage.root.load(Ordering::Acquire);
                let norm = term::order_prefix(key);
                // SAFETY: the tree at `root` is the current one and keeps its shape until the
                // commit: with every stripe held, nothing in it changes; with one stripe
                // (`write_one`, which stages its key before the transaction runs, so only a
                // transaction that strays to another key gets here), other leaves and objects
                // may be replaced, and the guard that path holds keeps the ones read here
                // alive.
                let slot = unsafe { find(root, norm, key) }.unwrap_or(std::ptr::null());
                let original = if slot.is_null() {
                    std::ptr::null_mut()
                } else {
                    // SAFETY: as above. Acquire: beside `write_one`'s writer an in-place writer
                    // of another stripe may have just stored this object.
                    unsafe { (*slot).load(Ordering::Acquire) }
                };
                // SAFETY: as above.
                let staged =
                    unsafe { Staged::found(self.storage, norm, original, slot, self.exclusive) };
                self.staged.push(key, staged)
            }
        }
    }

    /// The objects stored under `key`, with this transaction's changes.
    pub(crate) fn get(&mut self, key: &[u8]) -> Objects<'_> {
        let at = self.stage_at(key);
        let (staged, copied) = self.staged.at_mut_with_copy(at);
        match &staged.next {
            Some(next) => Objects::from_option(next.as_ref().map(ObjectCow::view)),
            None if staged.current().is_null() => Objects::from_slice(&[]),
            // SAFETY: `original` is in the current tree and stays there while the result
            // borrows `self`: every stripe held, or (in `write_one`) the stripe of the key's
            // leaf, keeps every other writer off its slot for the whole transaction, and the
            // entry's lock (held with it if `MUTABLE`) every in-place writer off its object.
            None if unsafe { staged.borrowable() } => {
                Objects::from_option(Some(unsafe { view(staged.original) }))
            }
            // A key outside `write_one`'s leaf whose object may change in place meanwhile: a
            // copy. SAFETY: as above, `original` stays alive (the guard `write_one` holds).
            None => {
                let copy = unsafe { entry::read(staged.original, &mut Scratch::new()) }.to_object();
                Objects::from_option(Some(copied.insert(copy).view()))
            }
        }
    }

    /// Calls `f` with the objects under `key` (empty if none) to change them; an empty vector
    /// afterwards removes the key. New objects must have a key equal to `key`.
    pub(crate) fn update<R>(&mut self, key: &[u8], f: impl FnOnce(&mut Vec<Object>) -> R) -> R {
        let staged = self.stage(key);
        let mut objects: Vec<Object> = match staged.next.take() {
            Some(next) => next.into_iter().map(ObjectCow::into_object).collect(),
            None if staged.current().is_null() => Vec::new(),
            // SAFETY: as in `get` (borrowed if `borrowable`, else a copy under the version).
            None if unsafe { staged.borrowable() } => {
                vec![unsafe { view(staged.original) }.to_object()]
            }
            None => vec![unsafe { entry::read(staged.original, &mut Scratch::new()) }.to_object()],
        };
        let result = f(&mut objects);
        assert!(
            objects.len() <= 1,
            "an ordered_set holds at most one object per key"
        );
        staged.next = Some(objects.pop().map(ObjectCow::Owned));
        staged.counter = false;
        result
    }

    /// Replaces the object under `key` with `object` without reading it first.
    pub(crate) fn replace(&mut self, key: &[u8], object: Object) {
        let staged = self.stage(key);
        staged.next = Some(Some(ObjectCow::Owned(object)));
        staged.counter = false;
    }

    /// [`Txn::replace`] with a view of an object that outlives the transaction (the caller's
    /// canonical bytes, copied once, into the tree's entry), committed with the lifetime end
    /// `expires_at` (0: never).
    pub(crate) fn replace_view(&mut self, key: &[u8], object: ObjectRef<'v>, expires_at: u64) {
        let staged = self.stage(key);
        staged.next = Some(Some(ObjectCow::Borrowed(object)));
        staged.expires_at = Some(expires_at);
        staged.counter = false;
    }

    /// [`Txn::replace`] with an updated object: one that later updates may change in place
    /// ([`Txn::overwrite`], [`OrderedStorage::change_in_place`]). Not on a table that counts
    /// uses or has an idle lifetime, where a write also renews the object's use count or
    /// deadline.
    pub(crate) fn replace_changeable(&mut self, key: &[u8], object: Object) {
        let in_place = !self.storage.track_use && !self.storage.expiry.has_idle();
        let staged = self.stage(key);
        staged.next = Some(Some(ObjectCow::Owned(object)));
        staged.counter = in_place;
    }

    /// Changes bytes of the object under `key` in place, if it was stored by
    /// [`Txn::replace_changeable`], the transaction has not changed it, and the writer holds its
    /// slot's lock (and so the entry's, taken when the key was staged): each `(offset, bytes)`
    /// of `edits` overwrites the object's bytes from `offset` (outside its key, within its
    /// length), and readers see all of the edits or none. Returns whether it did; if not,
    /// nothing changed.
    pub(crate) fn overwrite(&mut self, key: &[u8], edits: &[(usize, &[u8])]) -> bool {
        let staged = self.stage(key);
        match &staged.lock {
            Some(lock) if staged.next.is_none() && !staged.expired => {
                // SAFETY: the borrows of the object that `get` handed out ended with their
                // `&mut self`.
                unsafe { lock.overwrite(edits) };
                true
            }
            _ => false,
        }
    }

    /// Drops every staged change: the keys count as only read, and committing publishes
    /// nothing (for a write that failed after staging some of its changes). An in-place
    /// `overwrite` already made stays.
    pub(crate) fn discard(&mut self) {
        let Staging {
            first,
            rest,
            copied,
            ..
        } = &mut *self.staged;
        for (_, staged) in first.iter_mut().chain(rest.iter_mut()) {
            staged.next = None;
            staged.expires_at = None;
            staged.counter = false;
        }
        *copied = None;
    }

    /// Sets the deadline `key`'s new object is committed with (0: never); without it, a new
    /// object keeps the deadline of the one it replaces.
    pub(crate) fn set_expires_at(&mut self, key: &[u8], at: u64) {
        self.stage(key).expires_at = Some(at);
    }

    /// Removes the object under `key` without reading it first.
    pub(crate) fn remove(&mut self, key: &[u8]) {
        let staged = self.stage(key);
        staged.next = Some(None);
        staged.counter = false;
    }
}

/// Takes `lock`, spinning a while before the mutex parks the thread. A stripe is held for a
/// leaf's copy, every stripe for a split's path copy: a few microseconds, against a futex wait
/// and wake that a parked waiter costs both threads (a fifth of the time of two threads filling
/// one ordered_set went to them). Bounded (at most some tens of microseconds of `pause`), so a
/// waiter behind a long holder still parks.
#[inline]
fn lock_spinning(lock: &crate::sync::Mutex<()>) -> MutexGuard<'_, ()> {
    #[cfg(not(rets_loom))]
    for _ in 0..SPINS {
        if let Some(guard) = lock.try_lock() {
            return guard;
        }
        std::hint::spin_loop();
    }
    lock.lock()
}

/// How many times a writer looks at a stripe held by another before it parks.
#[cfg(not(rets_loom))]
const SPINS: usize = 1_000;

#[cfg(all(test, not(rets_loom)))]
mod tests {
    use super::*;
    use crate::term::Term;

    fn key(i: i64) -> Vec<u8> {
        let mut out = Vec::new();
        term::encode(&Term::Int(i), &mut out).unwrap();
        out
    }

    fn obj(i: i64, v: i64) -> Object {
        use crate::object::ToObject;
        Term::Array(vec![Term::Int(i), Term::Int(v)])
            .to_object(1)
            .unwrap()
    }

    fn put(s: &OrderedStorage, i: i64, v: i64) {
        let k = key(i);
        s.write(&[&k], |mut t| t.update(&k, |o| *o = vec![obj(i, v)]));
    }

    fn del(s: &OrderedStorage, i: i64) {
        let k = key(i);
        s.write(&[&k], |mut t| t.update(&k, Vec::clear));
    }

    fn get(s: &OrderedStorage, i: i64) -> Option<Object> {
        s.read(&key(i), |o| o.to_vec().pop())
    }

    fn keys(s: &OrderedStorage, direction: Direction) -> Vec<i64> {
        let mut out = Vec::new();
        s.for_each(direction, |o| out.push(o.key().as_i64().unwrap()));
        out
    }

    fn stepped(s: &OrderedStorage, direction: Direction) -> Vec<i64> {
        let mut out = Vec::new();
        let mut at: Option<Key> = None;
        while let Some((k, ())) = s.step(at.as_ref().map(Key::as_msgpack), direction, |_| ()) {
            out.push(k.to_term().as_i64().unwrap());
            at = Some(k);
        }
        out
    }

    /// A deterministic shuffle of `0..n`.
    fn shuffled(n: i64) -> Vec<i64> {
        let mut v: Vec<i64> = (0..n).collect();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for i in (1..v.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.swap(i, (x % (i as u64 + 1)) as usize);
        }
        v
    }

    #[test]
    fn grows_and_shrinks_through_splits_and_merges() {
        let s = OrderedStorage::new();
        let n = (CAP * CAP * 3) as i64;
        for i in shuffled(n) {
            put(&s, i, i);
        }
        assert_eq!(s.size(), n as usize);
        let all: Vec<i64> = (0..n).collect();
        assert_eq!(keys(&s, Direction::Forward), all);
        assert_eq!(stepped(&s, Direction::Forward), all);
        let rev: Vec<i64> = all.iter().rev().copied().collect();
        assert_eq!(keys(&s, Direction::Backward), rev);
        assert_eq!(stepped(&s, Direction::Backward), rev);
        for i in 0..n {
            assert_eq!(get(&s, i), Some(obj(i, i)));
        }
        // Replace in place, then delete every other key, then the rest.
        for i in 0..n {
            put(&s, i, -i);
        }
        assert_eq!(get(&s, 7), Some(obj(7, -7)));
        for i in shuffled(n).into_iter().filter(|i| i % 2 == 1) {
            del(&s, i);
        }
        let evens: Vec<i64> = (0..n).filter(|i| i % 2 == 0).collect();
        assert_eq!(keys(&s, Direction::Forward), evens);
        assert_eq!(stepped(&s, Direction::Forward), evens);
        assert_eq!(s.size(), evens.len());
        for i in evens {
            del(&s, i);
        }
        assert_eq!(s.size(), 0);
        assert!(keys(&s, Direction::Forward).is_empty());
        assert_eq!(s.memory(), OrderedStorage::new().memory());
    }

    #[test]
    fn keys_of_every_length_around_the_inline_staging_limit_are_written_and_read() {
        use crate::object::ToObject;
        let s = OrderedStorage::new();
        let str_key = |n: usize| {
            let mut out = Vec::new();
            term::encode(&Term::Str("k".repeat(n)), &mut out).unwrap();
            out
        };
        let object = |n: usize, v: i64| {
            Term::Array(vec![Term::Str("k".repeat(n)), Term::Int(v)])
                .to_object(1)
                .unwrap()
        };
        let lengths = 0..KeyBytes::INLINE + 8;
        // One key a write (the inline first entry), then all of them in one write (the list
        // and, past `INDEX_FROM`, its index).
        for n in lengths.clone() {
            let k = str_key(n);
            s.write_one(&k, false, |mut t| t.replace(&k, object(n, 1)));
        }
        let keys: Vec<Vec<u8>> = lengths.clone().map(str_key).collect();
        let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        s.write(&refs, |mut t| {
            for (n, k) in lengths.clone().zip(&keys) {
                let seen = t.get(k).next().map(|o| o.to_object());
                assert_eq!(seen, Some(object(n, 1)), "key of {n} bytes, staged");
                t.replace(k, object(n, 2));
            }
        });
        for (n, k) in lengths.zip(&keys) {
            assert_eq!(s.read(k, |o| o.to_vec().pop()), Some(object(n, 2)), "{n}");
        }
    }

    #[test]
    fn step_from_absent_keys_and_ends() {
        let s = OrderedStorage::new();
        for i in (0..200).map(|i| i * 10) {
            put(&s, i, 0);
        }
        let next = |from: i64, d| {
            s.step(Some(&key(from)), d, |_| ())
                .map(|(k, ())| k.to_term().as_i64().unwrap())
        };
        assert_eq!(next(-5, Direction::Forward), Some(0));
        assert_eq!(next(15, Direction::Forward), Some(20));
        assert_eq!(next(20, Direction::Forward), Some(30));
        assert_eq!(next(1990, Direction::Forward), None);
        assert_eq!(next(15, Direction::Backward), Some(10));
        assert_eq!(next(10, Direction::Backward), Some(0));
        assert_eq!(next(0, Direction::Backward), None);
        assert_eq!(next(5000, Direction::Backward), Some(1990));
    }

    #[test]
    fn memory_is_counted_exactly() {
        let s = OrderedStorage::new();
        for i in shuffled(5000) {
            put(&s, i, i);
        }
        let counted = s.memory();
        assert_eq!(counted, recount(&s));
        // Counters' entries keep a version after the object (and change in place).
        for i in shuffled(5000).into_iter().take(1000) {
            let k = key(i);
            s.write_in_place(&k, |mut t| t.replace_changeable(&k, obj(i, i + 1)));
            s.write_in_place(&k, |mut t| assert!(t.overwrite(&k, &[])));
        }
        assert!(s.memory() > counted);
        assert_eq!(s.memory(), recount(&s));
        for i in shuffled(5000).into_iter().take(3000) {
            del(&s, i);
        }
        assert_eq!(s.memory(), recount(&s));
        s.clear();
        assert_eq!(s.memory(), recount(&s));
    }

    /// One-key inserts in ascending, descending and scattered order: every split of a leaf
    /// whose parent has room happens within the parent (below the root too, once the tree has
    /// three levels), and the tree keeps every key, in order, with its memory counted exactly.
    #[test]
    fn one_key_inserts_split_within_parents() {
        const N: i64 = 5000;
        let orders: [Vec<i64>; 3] = [(0..N).collect(), (0..N).rev().collect(), shuffled(N)];
        for order in orders {
            let s = OrderedStorage::new();
            for &i in &order {
                let k = key(i);
                s.write_in_place(&k, |mut t| t.replace(&k, obj(i, i)));
            }
            // SAFETY: no writer runs; the storage keeps its tree alive.
            let root = unsafe { &*s.root.load(Ordering::Acquire) };
            assert!(!root.leaf_children, "three levels at least");
            assert_eq!(s.size(), N as usize);
            assert_eq!(s.memory(), recount(&s));
            let mut seen = Vec::new();
            s.for_each(Direction::Forward, |o| seen.push(o.key().as_i64().unwrap()));
            assert_eq!(seen, (0..N).collect::<Vec<_>>());
        }
    }

    mod differential {
        use std::collections::BTreeMap;

        use proptest::prelude::*;

        use super::*;
        use crate::object::ToObject;

        /// Keys from a small space with compare-equal pairs (`n` and `n as f64`) and several
        /// kinds, so splits, merges and equal-but-different keys all happen.
        fn arb_key() -> impl Strategy<Value = Term> {
            prop_oneof![
                (0i64..400).prop_map(Term::Int),
                (0i64..400).prop_map(|i| Term::Float(i as f64)),
                (0i64..40).prop_map(|i| Term::Float(i as f64 + 0.5)),
                "[a-c]{0,3}".prop_map(Term::Str),
                (0i64..5, 0i64..5).prop_map(|(a, b)| Term::Array(vec![Term::Int(a), Term::Int(b)])),
            ]
        }

        #[derive(Debug, Clone)]
        enum Op {
            Put(Term, i64),
            PutMany(Vec<(Term, i64)>),
            Delete(Term),
            DeleteMany(Vec<Term>),
            Clear,
        }

        fn arb_op() -> impl Strategy<Value = Op> {
            prop_oneof![
                10 => (arb_key(), any::<i64>()).prop_map(|(k, v)| Op::Put(k, v)),
                3 => prop::collection::vec((arb_key(), any::<i64>()), 0..40).prop_map(Op::PutMany),
                6 => arb_key().prop_map(Op::Delete),
                2 => prop::collection::vec(arb_key(), 0..40).prop_map(Op::DeleteMany),
                1 => Just(Op::Clear),
            ]
        }

        fn enc(t: &Term) -> Vec<u8> {
            let mut out = Vec::new();
            term::encode(t, &mut out).unwrap();
            out
        }

        struct ModelKey(Vec<u8>);
        impl Ord for ModelKey {
            fn cmp(&self, other: &Self) -> Cmp {
                term::compare(&self.0, &other.0)
            }
        }
        impl PartialOrd for ModelKey {
            fn partial_cmp(&self, other: &Self) -> Option<Cmp> {
                Some(self.cmp(other))
            }
        }
        impl PartialEq for ModelKey {
            fn eq(&self, other: &Self) -> bool {
                self.cmp(other) == Cmp::Equal
            }
        }
        impl Eq for ModelKey {}

        fn object(k: &Term, v: i64) -> Object {
            Term::Array(vec![k.clone(), Term::Int(v)])
                .to_object(1)
                .unwrap()
        }

        /// Writes `items` in one transaction, as a list insert does (a later duplicate wins);
        /// one item as a one-key write does (a leaf write, a split within the parent, or the
        /// exclusive path when neither fits).
        fn write(s: &OrderedStorage, items: &[(Term, Option<i64>)]) {
            if let [(k, v)] = items {
                let kb = enc(k);
                s.write_one(&kb, true, |mut t| {
                    t.update(&kb, |o| match v {
                        Some(v) => *o = vec![object(k, *v)],
                        None => o.clear(),
                    })
                });
                return;
            }
            let keys: Vec<Vec<u8>> = items.iter().map(|(k, _)| enc(k)).collect();
            let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
            s.write(&refs, |mut t| {
                for ((k, v), kb) in items.iter().zip(&keys) {
                    let before = t.get(kb).len();
                    assert!(before <= 1);
                    t.update(kb, |o| match v {
                        Some(v) => *o = vec![object(k, *v)],
                        None => o.clear(),
                    });
                }
            });
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(48))]
            #[test]
            fn behaves_like_an_ordered_map(ops in prop::collection::vec(arb_op(), 1..120)) {
                let s = OrderedStorage::new();
                let mut model: BTreeMap<ModelKey, Object> = BTreeMap::new();
                for op in ops {
                    let items: Vec<(Term, Option<i64>)> = match op {
                        Op::Put(k, v) => vec![(k, Some(v))],
                        Op::PutMany(kvs) => kvs.into_iter().map(|(k, v)| (k, Some(v))).collect(),
                        Op::Delete(k) => vec![(k, None)],
                        Op::DeleteMany(ks) => ks.into_iter().map(|k| (k, None)).collect(),
                        Op::Clear => {
                            s.clear();
                            model.clear();
                            continue;
                        }
                    };
                    write(&s, &items);
                    for (k, v) in items {
                        let mk = ModelKey(enc(&k));
                        match v {
                            Some(v) => {
                                // The stored object is the new one, with its own key.
                                model.remove(&mk);
                                model.insert(mk, object(&k, v));
                            }
                            None => {
                                model.remove(&mk);
                            }
                        }
                    }
                    let want: Vec<Object> = model.values().cloned().collect();
                    let mut got = Vec::new();
                    s.for_each(Direction::Forward, |o| got.push(o.to_object()));
                    prop_assert_eq!(&got, &want);
                    prop_assert_eq!(s.size(), want.len());
                    prop_assert_eq!(s.memory(), recount(&s));
                }
                // Lookups, and traversals by step from every key and from absent keys.
                let want: Vec<Object> = model.values().cloned().collect();
                for (i, o) in want.iter().enumerate() {
                    let k = o.key_msgpack();
                    prop_assert_eq!(s.read(k, |os| os.to_vec()), vec![o.clone()]);
                    let next = s.step(Some(k), Direction::Forward, |os| os.to_vec());
                    prop_assert_eq!(next.map(|(_, v)| v), want.get(i + 1).map(|o| vec![o.clone()]));
                    let prev = s.step(Some(k), Direction::Backward, |os| os.to_vec());
                    let before = i.checked_sub(1).map(|j| vec![want[j].clone()]);
                    prop_assert_eq!(prev.map(|(_, v)| v), before);
                }
                let mut backward = Vec::new();
                s.for_each(Direction::Backward, |o| backward.push(o.to_object()));
                backward.reverse();
                prop_assert_eq!(&backward, &want);
                for probe in [Term::Float(0.25), Term::Float(199.5), Term::Str("bb".into()), Term::Nil] {
                    let p = enc(&probe);
                    let after = want.iter().find(|o| term::compare(o.key_msgpack(), &p) == Cmp::Greater);
                    let got = s.step(Some(&p), Direction::Forward, |os| os.to_vec()).map(|(_, v)| v);
                    prop_assert_eq!(got, after.map(|o| vec![o.clone()]));
                    let before = want.iter().rev().find(|o| term::compare(o.key_msgpack(), &p) == Cmp::Less);
                    let got = s.step(Some(&p), Direction::Backward, |os| os.to_vec()).map(|(_, v)| v);
                    prop_assert_eq!(got, before.map(|o| vec![o.clone()]));
                }
            }
        }
    }

    /// Bytes of everything reachable from the root, counted by walking it.
    fn recount(s: &OrderedStorage) -> usize {
        unsafe fn count(node: *const (), is_leaf: bool) -> usize {
            // SAFETY: called on the current tree of a storage no one else uses.
            unsafe {
                if is_leaf {
                    let l = leaf(node);
                    std::mem::size_of::<Leaf>()
                        + (0..l.len)
                            .map(|i| Entry::bytes(l.objs[i].load(Ordering::Relaxed)))
                            .sum::<usize>()
                } else {
                    let n = inner(node);
                    std::mem::size_of::<Inner>()
                        + (1..n.len)
                            .map(|i| write::sep_bytes(node::sep_key(n, i).len()))
                            .sum::<usize>()
                        + (0..n.len)
                            .map(|i| count(n.children[i].get(), n.leaf_children))
                            .sum::<usize>()
                }
            }
        }
        let root = s.root.load(Ordering::Relaxed);
        // SAFETY: the test owns the storage.
        std::mem::size_of::<OrderedStorage>() + unsafe { count(root.cast(), false) }
    }
}
