//! Lock-free hash storage for set, bag and duplicate_bag.
//!
//! A table is split into shards chosen by the top bits of a key's hash (foldhash, seeded per
//! table). Each shard holds an open-addressing array of slots `{hash, node pointer}`, indexed by
//! the next bits of the hash (linear probing, no wrap-around: a tail of extra slots follows the
//! home slots). A node holds a key and all its objects in one immutable allocation.
//!
//! - **Readers take no lock.** They enter the table's reclamation guard, load the shard's array,
//!   probe from the key's home slot comparing full hashes (the slot's hash sits beside its
//!   pointer, so a probe touches one cache line and dereferences only a node whose hash
//!   matches), and read the node in place.
//! - **Writers** take the mutexes of the shards they touch (in ascending order), so writers on
//!   different shards run in parallel. They build a new node and publish it with one release
//!   store, then retire the node it replaced; a deleted key leaves a tombstone (hash kept,
//!   pointer null) so that no probe sequence is ever cut short. Slots never become empty again
//!   within an array.
//! - **Resizing** (growth, or a rebuild that drops tombstones) happens under the shard's mutex:
//!   the writer builds a new array, copies the pointers, publishes it with a release store and
//!   retires the old array. Readers still on the old array see valid nodes; readers are never
//!   blocked and never help.
//! - **Multi-key writes** (a list insert, a list insert_new, delete_all_objects) publish their
//!   nodes tagged with a shared [`Batch`]; a reader that finds a node of an uncommitted batch
//!   reads the node it replaced instead. One release store of `committed` makes every change of
//!   the write visible at once. delete_all_objects tags fresh empty arrays the same way.
//! - **Traversal order** is `(hash, key bytes)`: shards in order of their top hash bits, and in a
//!   shard every key sits at or after its home slot (the home slot is the next hash bits), so
//!   the successor of any key is found by scanning forward from its home slot until the first
//!   empty slot after a candidate. Every key has a fixed place in this order, whatever the array
//!   size, so `next` never returns a key twice and never misses a key present throughout.
//! - **Counts** (objects, bytes) are kept per shard under its mutex (no shared hot counter) and
//!   copied to atomics beside it, so `size` and `memory` take no lock.

mod cache;
mod node;
mod range;

pub(crate) use cache::Hand;

#[cfg(all(test, rets_loom))]
mod loom_tests;

use std::cell::Cell;
use std::cmp::Ordering as CmpOrdering;
use std::hash::BuildHasher;
use std::ops::ControlFlow;
use std::ptr;

use self::node::{NewObjects, Node};
use super::reclaim::{self, Collector, Protect, Retire};
use super::seqlock::Scratch;
use super::{InPlace, Start};
use crate::cache::{Expiry, Stamp};
use crate::object::{Key, LookupKey, Object, ObjectRef, Objects};
use crate::sync::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Mutex, MutexGuard, Ordering};

/// log2 of the number of shards.
#[cfg(not(rets_loom))]
const SHARD_BITS: u32 = 6;
#[cfg(rets_loom)]
const SHARD_BITS: u32 = 1;

/// The number of shards.
const SHARDS: usize = 1 << SHARD_BITS;

/// log2 of the smallest number of home slots of an array.
#[cfg(not(rets_loom))]
const MIN_BITS: u32 = 3;
#[cfg(rets_loom)]
const MIN_BITS: u32 = 1;

/// The most slots after the home slots (probe sequences never wrap around).
const MAX_TAIL: usize = 32;

/// A multi-key write in progress: its nodes are visible once `committed` is set.
pub(super) struct Batch {
    committed: AtomicBool,
}

impl Retire for Batch {
    unsafe fn free(ptr: *mut Batch) {
        // SAFETY: batches are allocated by `Box::new` (see `commit_batch`); the caller owns it.
        drop(unsafe { Box::from_raw(ptr) });
    }
}

/// One slot: empty (`hash == 0`), a key (`node` non-null) or a tombstone (`node` null). The
/// hash is written once, when the slot is claimed, after the pointer.
struct Slot {
    hash: AtomicU64,
    node: AtomicPtr<Node>,
}

/// The slots of a shard.
struct Array {
    /// A delete_all_objects in progress: while it is uncommitted, readers use `prev`.
    batch: AtomicPtr<Batch>,
    prev: *mut Array,
    /// log2 of the number of home slots.
    bits: u32,
    slots: Box<[Slot]>,
}

impl Array {
    fn new(bits: u32, batch: *mut Batch, prev: *mut Array) -> *mut Array {
        let cap = 1usize << bits;
        let len = cap + cap.min(MAX_TAIL);
        Box::into_raw(Box::new(Array {
            batch: AtomicPtr::new(batch),
            prev,
            bits,
            slots: (0..len)
                .map(|_| Slot {
                    hash: AtomicU64::new(0),
                    node: AtomicPtr::new(ptr::null_mut()),
                })
                .collect(),
        }))
    }

    /// The home slot of `hash`: the hash bits after the shard bits, so that slot order is hash
    /// order.
    #[inline]
    fn home(&self, hash: u64) -> usize {
        // `>> 1` first, so that the shift by `63 - bits` stays below 64 for `bits == 0` too
        // (giving 0) without a branch.
        (((hash << SHARD_BITS) >> 1) >> (63 - self.bits)) as usize
    }

    fn bytes(&self) -> usize {
        std::mem::size_of::<Array>() + self.slots.len() * std::mem::size_of::<Slot>()
    }

    /// The slot holding `key` (tombstones skipped), by a probe from its home slot, and the node
    /// in it whose key was compared.
    ///
    /// The node is returned rather than loaded from the slot again: a reload could find a node
    /// of another key, should that key be deleted and a key of the same 64-bit hash claim its
    /// tombstone in between.
    ///
    /// # Safety
    /// The array and the nodes it points to are live: `guard` is a guard of this storage, or
    /// [`Locked`] with the shard's mutex held.
    // Always inlined, as `find_visible`: it is generic over the guard, and left to itself the
    // compiler makes it a call (~15 instructions more per lookup, measured with callgrind).
    #[inline(always)]
    unsafe fn find<G: Protect>(
        &self,
        guard: &G,
        hash: u64,
        key: LookupKey<'_>,
    ) -> Option<(usize, *mut Node)> {
        let home = self.home(hash);
        // A home slot is always in the array (the tail follows the last one); iterating the
        // slice from it leaves no bounds check in the loop.
        let probe = &self.slots[home..];
        for (i, slot) in probe.iter().enumerate() {
            let h = slot.hash.load(Ordering::Acquire);
            if h == 0 {
                return None;
            }
            if h == hash {
                let n = reclaim::load(guard, &slot.node);
                // SAFETY: a non-null node of a live array is live (contract).
                if !n.is_null() && unsafe { Node::has_key(n, key) } {
                    return Some((home + i, n));
                }
            }
        }
        None
    }

    /// The slot of a live node whose key has `hash` (any, should two keys share all 64 bits).
    ///
    /// # Safety
    /// The array and its nodes are live: the caller holds the shard's mutex.
    unsafe fn find_hash(&self, hash: u64) -> Option<usize> {
        let mut i = self.home(hash);
        while let Some(slot) = self.slots.get(i) {
            let h = slot.hash.load(Ordering::Acquire);
            if h == 0 {
                return None;
            }
            if h == hash && !slot.node.load(Ordering::Acquire).is_null() {
                return Some(i);
            }
            i += 1;
        }
        None
    }
}

/// A `MUTABLE` node's lock, released when dropped (see [`HashStorage::change_in_place`]).
struct NodeLockGuard(*mut Node);

impl NodeLockGuard {
    /// # Safety
    /// `node` is live and `MUTABLE`, and stays allocated while the guard lives.
    unsafe fn lock(node: *mut Node) -> NodeLockGuard {
        // SAFETY: forwarded contract.
        unsafe { Node::lock(node) };
        NodeLockGuard(node)
    }
}

impl Drop for NodeLockGuard {
    fn drop(&mut self) {
        // SAFETY: the node was live and `MUTABLE` when locked by `lock`, and stays allocated
        // while the reclamation guard that loaded it lives, which outlives this (declared
        // before it).
        unsafe { Node::unlock(self.0) };
    }
}

/// Loads of a writer that holds the shard's mutex: nothing it loads can be retired meanwhile.
struct Locked;

impl Protect for Locked {
    #[inline]
    fn protect<T>(&self, ptr: &AtomicPtr<T>) -> *mut T {
        ptr.load(Ordering::Acquire)
    }
}

/// The 128-bit product of `a` and `b`, folded to 64 bits (foldhash's mixing step).
#[inline]
fn folded_multiply(a: u64, b: u64) -> u64 {
    let full = u128::from(a) * u128::from(b);
    (full as u64) ^ ((full >> 64) as u64)
}

/// A seeded hash of a key of at most 8 bytes, given as its `word` (see [`LookupKey`]) and
/// length: two folded multiplies of the key (with its length) and the table's seeds, so that
/// every bit of the key reaches the top bits that pick the shard and the home slot.
#[inline]
fn short_hash(word: u64, len: usize, seeds: &[u64; 3]) -> u64 {
    let m = folded_multiply(word ^ seeds[0], (len as u64) ^ seeds[1]);
    folded_multiply(m ^ seeds[2], 0x9e37_79b9_7f4a_7c15)
}

/// A seeded hash of a key of 9 to 16 bytes, given as its first and last eight bytes (see
/// [`LookupKey::pair`]) and its length: [`short_hash`]'s two folded multiplies, the first over
/// both words.
#[inline]
fn pair_hash(first: u64, last: u64, len: usize, seeds: &[u64; 3]) -> u64 {
    let m = folded_multiply(first ^ seeds[0], last ^ seeds[1] ^ len as u64);
    folded_multiply(m ^ seeds[2], 0x9e37_79b9_7f4a_7c15)
}

/// The hash of a key of more than 8 bytes: [`pair_hash`] of its two words up to 16 bytes (a
/// 64-bit integer's key), foldhash beyond. Out of line: inlined, its code made the lookup of a
/// short key 11 instructions dearer and 10% slower, though none of it runs there.
#[inline(never)]
fn long_hash(key: LookupKey<'_>, state: &foldhash::quality::RandomState, seeds: &[u64; 3]) -> u64 {
    match key.pair() {
        Some((first, last)) => pair_hash(first, last, key.bytes().len(), seeds),
        None => state.hash_one(key.bytes()),
    }
}

/// Key equality, without a library call for the short keys that are the common case.
#[inline]
pub(super) fn key_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && if a.len() <= 16 {
            a.iter().zip(b).all(|(x, y)| x == y)
        } else {
            a == b
        }
}

impl Retire for Array {
    unsafe fn free(ptr: *mut Array) {
        // SAFETY: arrays are allocated by `Box::new` in `Array::new`; the caller owns it. Its
        // nodes are not freed: they are owned by the current array or retired on their own.
        drop(unsafe { Box::from_raw(ptr) });
    }

    unsafe fn heap_bytes(ptr: *const Array) -> usize {
        // SAFETY: the caller's contract: a live array.
        unsafe { (*ptr).bytes() }
    }
}

/// An array retired with its nodes (`HashStorage::clear`): freeing it frees them too.
#[repr(transparent)]
struct Cleared(Array);

impl Retire for Cleared {
    unsafe fn free(ptr: *mut Cleared) {
        // SAFETY: the caller owns the array and, by `retire_array_and_nodes`'s contract, every
        // node in its slots, each live and retired nowhere else.
        unsafe {
            let array = ptr.cast::<Array>();
            for slot in (*array).slots.iter() {
                let n = slot.node.load(Ordering::Relaxed);
                if !n.is_null() {
                    Node::free(n);
                }
            }
            Array::free(array);
        }
    }

    // The array's own bytes only: counting its nodes' would read every node once more, and
    // only to start freeing sooner, which `HashStorage::clear` does anyway with its flush.
    unsafe fn heap_bytes(ptr: *const Cleared) -> usize {
        // SAFETY: the caller's contract: a live array.
        unsafe { Array::heap_bytes(ptr.cast::<Array>()) }
    }
}

/// What a shard's mutex protects: its counters (the array pointer is written under it).
#[derive(Default)]
struct ShardState {
    /// Objects stored.
    objects: usize,
    /// Keys stored.
    keys: usize,
    /// Heap bytes of the nodes.
    node_bytes: usize,
    /// Heap bytes of the current array.
    array_bytes: usize,
    /// Non-empty slots (keys and tombstones) of the current array.
    used: usize,
}

/// One shard, on two cache lines of its own: the array pointer, which every read loads and
/// only a resize writes, alone on the first; what its writers change on every write (the
/// mutex, its state and the published counts) together on the second. So a write takes one
/// line from another core, not two, and leaves the readers' line clean: on this layout's
/// first machine the two cores' copies of a line cost about 100 ns a transfer.
#[repr(C, align(128))]
struct Shard {
    /// The current array (null until the first insert).
    array: AtomicPtr<Array>,
    _read_mostly: [u8; READ_LINE_PAD],
    state: Mutex<ShardState>,
    /// Copies of the state's object count and byte total, stored under the mutex after every
    /// change, so that `size` and `memory` read them without taking 64 locks.
    objects: AtomicUsize,
    bytes: AtomicUsize,
}

/// What fills the shard's first line after the array pointer.
const READ_LINE_PAD: usize = 64 - std::mem::size_of::<AtomicPtr<Array>>();

// The writers' fields fit the second line (loom's mutex is larger; the layout is no matter
// there).
#[cfg(not(rets_loom))]
const _: () = {
    assert!(std::mem::offset_of!(Shard, state) == 64);
    assert!(std::mem::size_of::<Shard>() == 128);
};

impl Shard {
    /// Publishes the counts of `state` (the caller holds the mutex). A count that did not
    /// change is not stored again: a replacement of the same size (a counter's new value)
    /// then leaves the line clean for `size` and `memory`.
    fn publish(&self, state: &ShardState) {
        let bytes = state.node_bytes + state.array_bytes;
        if self.objects.load(Ordering::Relaxed) != state.objects {
            self.objects.store(state.objects, Ordering::Relaxed);
        }
        if self.bytes.load(Ordering::Relaxed) != bytes {
            self.bytes.store(bytes, Ordering::Relaxed);
        }
    }
}

/// The table's hash function.
enum Hasher {
    #[cfg_attr(rets_loom, allow(dead_code))]
    /// foldhash, seeded per table; keys of up to 8 bytes (small integers, short strings) take a
    /// shorter path with seeds drawn from it.
    Seeded(foldhash::quality::RandomState, [u64; 3]),
    /// A fixed function, for models and tests that need keys to collide.
    #[cfg(any(test, rets_loom))]
    Fixed(fn(&[u8]) -> u64),
}

/// The objects of one hash table.
pub(crate) struct HashStorage {
    /// A fixed-size array: `shard_of` is below its length by construction, so indexing it
    /// needs no bounds check.
    shards: Box<[Shard; SHARDS]>,
    hasher: Hasher,
    /// The cache layer's lifetimes: every visibility check asks it (see `Node::visible`).
    expiry: Expiry,
    /// Whether readers set a node's use bit (bounded tables only).
    track_use: bool,
    /// Objects removed because they had expired (by writers that replaced them and by
    /// `purge_expired`); rare, so one counter.
    expired: std::sync::atomic::AtomicU64,
    /// Last, so that it drops (freeing what was retired) after the live nodes are freed.
    collector: Collector,
}

// SAFETY: the raw pointers (`Array::prev`, `Node::prev`, the nodes in slots) are shared
// immutable data handed between threads through atomics with release/acquire ordering, and freed
// only through the collector or with exclusive access (drop).
unsafe impl Send for HashStorage {}
// SAFETY: as above.
unsafe impl Sync for HashStorage {}

pub(crate) fn new() -> HashStorage {
    // A model must run the same way on every iteration: a fixed hash under loom.
    #[cfg(rets_loom)]
    return HashStorage::with_hasher(Hasher::Fixed(|key| {
        foldhash::quality::FixedState::with_seed(0).hash_one(key)
    }));
    #[cfg(not(rets_loom))]
    {
        let state = foldhash::quality::RandomState::default();
        let seeds = [
            state.hash_one(1u64),
            state.hash_one(2u64),
            state.hash_one(3u64),
        ];
        HashStorage::with_hasher(Hasher::Seeded(state, seeds))
    }
}

impl HashStorage {
    fn with_hasher(hasher: Hasher) -> HashStorage {
        HashStorage {
            expiry: Expiry::default(),
            track_use: false,
            expired: std::sync::atomic::AtomicU64::new(0),
            shards: (0..SHARDS)
                .map(|_| Shard {
                    array: AtomicPtr::new(ptr::null_mut()),
                    _read_mostly: [0; READ_LINE_PAD],
                    state: Mutex::new(ShardState::default()),
                    objects: AtomicUsize::new(0),
                    bytes: AtomicUsize::new(0),
                })
                .collect::<Box<[Shard]>>()
                .try_into()
                .unwrap_or_else(|_| unreachable!("SHARDS shards were made")),
            hasher,
            collector: Collector::new(),
        }
    }

    /// Gives the storage the cache layer's lifetimes, and makes readers mark what they use
    /// if `track_use` (before any object is stored).
    pub(crate) fn with_cache(mut self, expiry: Expiry, track_use: bool) -> HashStorage {
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
        self.expired.load(Ordering::Relaxed)
    }

    /// Storage whose keys hash by `f` (models and tests use it to make keys collide).
    #[cfg(test)]
    fn with_hash_fn(f: fn(&[u8]) -> u64) -> HashStorage {
        HashStorage::with_hasher(Hasher::Fixed(f))
    }

    /// The key's hash, never 0 (0 marks an empty slot).
    #[inline]
    pub(crate) fn hash_of(&self, key: &[u8]) -> u64 {
        self.hash_key(LookupKey::new(key))
    }

    /// [`HashStorage::hash_of`] for a key in its lookup form: a short key is hashed from its
    /// word, which an integer key was built as.
    #[inline]
    fn hash_key(&self, key: LookupKey<'_>) -> u64 {
        let h = match &self.hasher {
            Hasher::Seeded(state, seeds) => match key.word() {
                Some((word, _)) => short_hash(word, key.bytes().len(), seeds),
                None => long_hash(key, state, seeds),
            },
            #[cfg(any(test, rets_loom))]
            Hasher::Fixed(f) => f(key.bytes()),
        };
        h | 1
    }

    #[inline]
    fn shard_of(hash: u64) -> usize {
        (hash >> (64 - SHARD_BITS)) as usize
    }

    /// The storage's reclamation collector (a pinned reader enters it once for many reads).
    pub(super) fn collector(&self) -> &Collector {
        &self.collector
    }

    /// Calls `f` with the objects stored under `key` (none if the key is absent), under a
    /// guard of its own (for the loom models: tables read through `Storage::read` and
    /// `ReadPin::read`).
    #[cfg(all(test, rets_loom))]
    pub(crate) fn read<R>(&self, key: &[u8], f: impl FnOnce(Objects<'_>) -> R) -> R {
        let guard = self.collector.enter();
        let mut scratch = Scratch::new();
        // SAFETY: `guard` is this storage's and lives until `f` returns.
        f(unsafe { self.objects_in(&guard, LookupKey::new(key), &mut scratch) })
    }

    /// The objects under `key`, borrowed for as long as `guard` (or copied into `scratch`, if
    /// they change in place).
    ///
    /// # Safety
    /// `guard` was entered on this storage's collector.
    // Always inlined: it is the lookup (see `find_visible`).
    #[inline(always)]
    pub(crate) unsafe fn objects_in<'g>(
        &'g self,
        guard: &'g impl Protect,
        key: LookupKey<'_>,
        scratch: &'g mut Scratch,
    ) -> Objects<'g> {
        let hash = self.hash_key(key);
        let shard = &self.shards[Self::shard_of(hash)];
        // SAFETY: everything is loaded through `guard` (this storage's, per the contract), and
        // stays valid while it lives, which the result's lifetime is bound to.
        unsafe {
            let node = find_visible(guard, shard, hash, key, &self.expiry);
            if node.is_null() {
                // Empty as the lone-object variant (rather than an empty slice), so that the
                // caller's iterator has one variant fewer to tell apart on a set's lookup.
                Objects::from_option(None)
            } else {
                if self.track_use {
                    self.mark_used(node);
                }
                Node::objects_in(node, scratch)
            }
        }
    }

    /// The deadline of the live object(s) under `key` (0: never), or `None` if there are none.
    /// For refresh-ahead, which needs an object's age; marks nothing as used.
    pub(crate) fn deadline_of(&self, key: &[u8]) -> Option<u64> {
        let key = LookupKey::new(key);
        let hash = self.hash_key(key);
        let shard = &self.shards[Self::shard_of(hash)];
        let guard = self.collector.enter();
        // SAFETY: the node is loaded through `guard`, which lives until this returns.
        unsafe {
            let node = find_visible(&guard, shard, hash, key, &self.expiry);
            (!node.is_null()).then(|| Node::lifetime_end(node, &self.expiry))
        }
    }

    /// [`super::Storage::change_in_place`]: for a key whose node is `MUTABLE` (an update's,
    /// see [`Txn::replace_changeable`]), without the shard's mutex. Under a guard, the writer finds
    /// the node as a reader does, takes its lock (`Node::lock`: the version made odd by a
    /// compare-and-swap), and looks again: only if the key's visible node is still that one
    /// does it read the object in place, decide, write its edits and unlock. Every other
    /// writer of the node's bytes holds the same lock (transactions from when they find the
    /// node until they have published), so none changes it meanwhile, and a transaction that
    /// replaced or removed the node did so before this writer's second look, which then sees
    /// it gone (or after this writer's change, which it then read). Readers copy the object
    /// under the version as before. Such writers of different keys share no line but their
    /// nodes'; of one key, they take turns on its lock.
    pub(crate) fn change_in_place<S, R>(
        &self,
        key: &[u8],
        state: &mut S,
        plan: impl FnOnce(&mut S, ObjectRef<'_>) -> InPlace<R>,
        edit: impl FnOnce(&S, &mut dyn FnMut(&[(usize, &[u8])])),
    ) -> Option<R> {
        // Tables where a write also renews a use count or deadline store no `MUTABLE` node.
        if self.track_use || self.expiry.has_idle() {
            return None;
        }
        let key = LookupKey::new(key);
        let hash = self.hash_key(key);
        let shard = &self.shards[Self::shard_of(hash)];
        let guard = self.collector.enter();
        // SAFETY: nodes are loaded through `guard`, which lives until this returns, so `node`
        // stays allocated; its bytes are read and written only under its lock, as every other
        // writer of them does (see above), and no reference to them outlives `plan`.
        unsafe {
            let array = visible_array(&guard, shard);
            if array.is_null() {
                return None;
            }
            let (at, node) = (*array).find(&guard, hash, key)?;
            // (A `MUTABLE` node is never one of an uncommitted batch.)
            if Node::visible(node, &self.expiry) != node || !(*node).is_mutable() {
                return None;
            }
            // Released however this returns: a panic in `plan` or `edit` must not leave the
            // node locked, which would stall its readers for good.
            let _lock = NodeLockGuard::lock(node);
            // Still the key's node: its slot holds it (a replaced node is never linked again),
            // or, if the array was rebuilt meanwhile (with the same nodes), a search finds it.
            let still = if visible_array(&guard, shard) == array {
                (*array).slots[at].node.load(Ordering::Acquire) == node
            } else {
                find_visible(&guard, shard, hash, key, &self.expiry) == node
            };
            if !still {
                return None;
            }
            let object = Node::objects(node)
                .next()
                .expect("a MUTABLE node holds one object");
            match plan(state, object) {
                InPlace::Write(r) => {
                    edit(state, &mut |edits| Node::overwrite(node, edits));
                    Some(r)
                }
                InPlace::Done(r) => Some(r),
                InPlace::GiveUp => None,
            }
        }
    }

    /// Starts a write transaction over `keys`: locks their shards in ascending order.
    pub(crate) fn begin<'a>(&'a self, keys: &[&'a [u8]]) -> Txn<'a> {
        if let [key] = keys {
            // The common case, without allocating.
            let hash = self.hash_of(key);
            let i = Self::shard_of(hash);
            return Txn {
                storage: self,
                locked: Locks::One(i, self.shards[i].state.lock()),
                changes: Changes::One(Change::new(hash, key)),
                index: None,
            };
        }
        // One change per distinct key (a list may name a key twice).
        let mut changes: Vec<Change<'a>> = Vec::with_capacity(keys.len());
        let mut index = None;
        if keys.len() > LINEAR {
            let mut map = std::collections::HashMap::with_capacity(keys.len());
            for key in keys {
                map.entry(*key).or_insert_with(|| {
                    changes.push(Change::new(self.hash_of(key), key));
                    changes.len() - 1
                });
            }
            index = Some(map);
        } else {
            for key in keys {
                if !changes.iter().any(|c| c.key == *key) {
                    changes.push(Change::new(self.hash_of(key), key));
                }
            }
        }
        let mut indices: Vec<usize> = changes.iter().map(|c| Self::shard_of(c.hash)).collect();
        indices.sort_unstable();
        indices.dedup();
        Txn {
            storage: self,
            locked: Locks::Many(
                indices
                    .into_iter()
                    .map(|i| (i, self.shards[i].state.lock()))
                    .collect(),
            ),
            changes: Changes::Many(changes),
            index,
        }
    }

    /// Removes every object, atomically and in isolation.
    pub(crate) fn clear(&self) {
        let mut locked: Vec<MutexGuard<'_, ShardState>> =
            self.shards.iter().map(|s| s.state.lock()).collect();
        // Every shard with an array loses it (one with only tombstones too, so that memory
        // returns to its initial value).
        let full: Vec<usize> = (0..self.shards.len())
            .filter(|&i| !self.shards[i].array.load(Ordering::Acquire).is_null())
            .collect();
        // One shard is replaced by one store; several with keys need a batch, so that no reader
        // sees some shards cleared and others not.
        let with_keys = full.iter().filter(|&&i| locked[i].keys > 0).count();
        let batch = if with_keys > 1 {
            Box::into_raw(Box::new(Batch {
                committed: AtomicBool::new(false),
            }))
        } else {
            ptr::null_mut()
        };
        let mut replaced = Vec::with_capacity(full.len());
        for &i in &full {
            let shard = &self.shards[i];
            let old = shard.array.load(Ordering::Acquire);
            let new = if batch.is_null() {
                ptr::null_mut()
            } else {
                Array::new(0, batch, old)
            };
            shard.array.store(new, Ordering::Release);
            replaced.push((i, new, old));
            *locked[i] = ShardState::default();
            shard.publish(&locked[i]);
        }
        if !batch.is_null() {
            // SAFETY: `batch` and the stand-in arrays are live until we retire them; once the
            // batch is committed, readers no longer look through them, so the shards go back
            // to having no array (as a new table: memory returns to its initial value).
            unsafe {
                (*batch).committed.store(true, Ordering::Release);
                for &(i, new, _) in &replaced {
                    self.shards[i]
                        .array
                        .store(ptr::null_mut(), Ordering::Release);
                    self.collector.retire(new);
                }
                self.collector.retire(batch);
            }
        }
        for (_, _, old) in replaced {
            // SAFETY: `old` was the shard's array until we replaced it (mutex held): no new
            // reader can reach it or its nodes, and nothing else retires them.
            unsafe { self.retire_array_and_nodes(old) };
        }
        drop(locked);
        // A few retirements (one a shard) would not fill this thread's batch: without a
        // flush, a deleted table's memory waited for the table's last handle to go.
        self.collector.flush();
    }

    /// Retires an unlinked array and every node in it, as one retirement (a node at a time,
    /// clearing a table of a million objects made a million retirements and two thousand
    /// process-wide barriers).
    ///
    /// # Safety
    /// `array` is live and unlinked, its nodes are reachable from no current array, and neither
    /// is retired otherwise.
    unsafe fn retire_array_and_nodes(&self, array: *mut Array) {
        // SAFETY: per the contract; a `Cleared` is an `Array` (`repr(transparent)`) whose
        // nodes go with it.
        unsafe { self.collector.retire(array.cast::<Cleared>()) }
    }

    /// The number of objects.
    pub(crate) fn size(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.objects.load(Ordering::Relaxed))
            .sum()
    }

    /// Bytes held by the objects and the storage around them.
    pub(crate) fn memory(&self) -> usize {
        let own =
            std::mem::size_of::<HashStorage>() + self.shards.len() * std::mem::size_of::<Shard>();
        own + self
            .shards
            .iter()
            .map(|s| s.bytes.load(Ordering::Relaxed))
            .sum::<usize>()
    }

    /// The key after `from` in traversal order (the first key if `from` is `None`), and `f`
    /// applied to its objects. `from` need not be in the table. Hash tables traverse forward
    /// only: as in ETS, last/prev on them are first/next (see `Table::direction`). A chunk of
    /// one key (see `range`).
    pub(crate) fn step<R>(
        &self,
        from: Option<&[u8]>,
        f: impl FnOnce(Objects<'_>) -> R,
    ) -> Option<(Key, R)> {
        let start = from.map_or(Start::First, Start::After);
        let (mut f, mut found) = (Some(f), None);
        self.chunk(start, 1, |key, objects| {
            if let Some(f) = f.take() {
                found = Some((Key::from_canonical(key), f(objects)));
            }
            ControlFlow::Break(())
        });
        found
    }

    /// Calls `f` on every object in traversal order, shard by shard; not a snapshot.
    pub(crate) fn for_each(&self, mut f: impl FnMut(ObjectRef<'_>)) {
        let mut visit = |shard: &Shard| {
            // Most shards of a small table have no array: skip them without entering a guard
            // (only the pointer is read; the array is loaded again through the guard).
            if shard.array.load(Ordering::Acquire).is_null() {
                return;
            }
            let guard = self.collector.enter();
            // SAFETY: everything is loaded through `guard`, alive while we use it.
            unsafe {
                let array = visible_array(&guard, shard);
                if array.is_null() {
                    return;
                }
                let mut nodes: Vec<(u64, &[u8], *mut Node)> = Vec::new();
                for slot in (*array).slots.iter() {
                    let h = slot.hash.load(Ordering::Acquire);
                    let n = reclaim::load(&guard, &slot.node);
                    if n.is_null() {
                        continue;
                    }
                    let v = Node::visible(n, &self.expiry);
                    if !v.is_null() {
                        nodes.push((h, Node::key(n), v));
                    }
                }
                nodes.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
                let mut scratch = Scratch::new();
                for (_, _, n) in nodes {
                    Node::objects_in(n, &mut scratch).for_each(&mut f);
                }
            }
        };
        self.shards.iter().for_each(&mut visit);
    }
}

impl Drop for HashStorage {
    fn drop(&mut self) {
        for shard in self.shards.iter() {
            let array = shard.array.load(Ordering::Acquire);
            if array.is_null() {
                continue;
            }
            // SAFETY: `&mut self`: no reader or writer is left. The current array owns its
            // nodes (replaced and deleted nodes were retired and belong to the collector, which
            // drops after this), so each is freed once.
            unsafe {
                for slot in (*array).slots.iter() {
                    let n = slot.node.load(Ordering::Acquire);
                    if !n.is_null() {
                        Node::free(n);
                    }
                }
                Array::free(array);
            }
        }
    }
}

/// The array readers of `shard` use: the current one, or while a delete_all_objects is
/// uncommitted, the one it replaced. Null if the shard has none.
///
/// # Safety
/// The result is valid while `guard` lives.
#[inline]
unsafe fn visible_array(guard: &impl Protect, shard: &Shard) -> *mut Array {
    let array = reclaim::load(guard, &shard.array);
    if array.is_null() {
        return array;
    }
    // SAFETY: loaded through `guard`. A batch pointer is cleared before the batch is retired,
    // after our guard was entered, so a non-null batch is live; so is `prev` while uncommitted
    // (it is retired only after the commit).
    unsafe {
        let batch = (*array).batch.load(Ordering::Acquire);
        if !batch.is_null() && !(*batch).committed.load(Ordering::Acquire) {
            (*array).prev
        } else {
            array
        }
    }
}

/// The visible node of `key` in `shard`, or null.
///
/// # Safety
/// The result is valid while `guard` lives.
// Always inlined: a lookup is mostly this function, and a call costs a lookup ~30 instructions.
#[inline(always)]
unsafe fn find_visible(
    guard: &impl Protect,
    shard: &Shard,
    hash: u64,
    key: LookupKey<'_>,
    expiry: &Expiry,
) -> *mut Node {
    // SAFETY: everything is loaded through `guard`.
    unsafe {
        let array = visible_array(guard, shard);
        if array.is_null() {
            return ptr::null_mut();
        }
        match (*array).find(guard, hash, key) {
            Some((_, n)) => Node::visible(n, expiry),
            None => ptr::null_mut(),
        }
    }
}

/// `(hash, key)` in traversal order.
fn order(a: (u64, &[u8]), b: (u64, &[u8])) -> CmpOrdering {
    a.cmp(&b)
}

// ---- writers ----

/// Beyond this many keys, a transaction indexes them.
const LINEAR: usize = 16;

/// A key's objects as a transaction sees and changes them.
struct Change<'a> {
    hash: u64,
    key: &'a [u8],
    /// What the key's first use found: its slot (so that publishing need not search again)
    /// and its node, or `(usize::MAX, null)` if it was absent. `None` until first use.
    found: Option<(usize, *mut Node)>,
    /// What the transaction has made of the key's objects.
    staged: Staged<'a>,
    /// The found node had expired: the transaction sees the key as absent, and publishing
    /// replaces the expired node.
    expired: bool,
    /// The lifetime end to publish with; `None` keeps the found node's (0 if none).
    expires_at: Option<u64>,
    /// The new node holds an updated object: it is made `MUTABLE` if it can be (see
    /// [`Txn::overwrite`]).
    counter: bool,
    /// The found node is `MUTABLE` and the transaction holds its lock (`Node::lock`), taken
    /// when it found it: no writer changes its bytes in place, with or without the shard's
    /// mutex, until the transaction has published its change of the key or left it as it was.
    /// (A `Cell`: a batch commit releases it through a shared borrow before retiring the node.)
    locked: Cell<bool>,
}

impl Drop for Change<'_> {
    fn drop(&mut self) {
        self.unlock();
    }
}

/// A key's objects in a transaction.
enum Staged<'a> {
    /// Unchanged: the found node's, read in place (a read-only use copies nothing).
    Stored,
    /// Changed to these (none: the key is removed).
    Objects(Vec<Object>),
    /// Replaced by one object (no vector to allocate).
    One(Object),
    /// Replaced by one object borrowed from the writer's input until published (not even the
    /// object to allocate: it is copied straight into the new node).
    View(ObjectRef<'a>),
}

impl<'a> Change<'a> {
    fn new(hash: u64, key: &'a [u8]) -> Change<'a> {
        Change {
            hash,
            key,
            found: None,
            staged: Staged::Stored,
            expired: false,
            expires_at: None,
            counter: false,
            locked: Cell::new(false),
        }
    }

    /// Releases the found node's lock, if the transaction holds it (a change dropped releases
    /// it too: a panic must not leave a node locked, which would stall its readers for good).
    fn unlock(&self) {
        if self.locked.replace(false) {
            // SAFETY: a locked node was found live under the shard's mutex, which the
            // transaction still holds, and it is retired only after this (see `Txn::commit`).
            unsafe { Node::unlock(self.stored()) };
        }
    }

    /// The key's live node when the transaction first touched it (null if absent or expired).
    fn current(&self) -> *mut Node {
        if self.expired {
            return ptr::null_mut();
        }
        self.stored()
    }

    /// The key's node in the table when the transaction first touched it, expired or not.
    fn stored(&self) -> *mut Node {
        self.found.map_or(ptr::null_mut(), |(_, n)| n)
    }

    /// The deadline (and kept lifetime end) the key's new node gets.
    fn stamp(&self, expiry: &Expiry) -> Stamp {
        expiry.stamp(self.expires_at.unwrap_or_else(|| {
            let n = self.current();
            // SAFETY: the shard's mutex is held by the transaction, so the node is live.
            if n.is_null() {
                0
            } else {
                unsafe { Node::lifetime_end(n, expiry) }
            }
        }))
    }

    /// The objects the transaction has changed the key to, if it changed them.
    fn changed(&self) -> Option<NewObjects<'_>> {
        match &self.staged {
            Staged::Stored => None,
            Staged::Objects(objects) => Some(NewObjects::Built(objects)),
            Staged::One(one) => Some(NewObjects::Built(std::slice::from_ref(one))),
            Staged::View(one) => Some(NewObjects::One(*one)),
        }
    }

    /// Whether committing changes the table (removing an absent key does not).
    fn publishes(&self) -> bool {
        self.changed()
            .is_some_and(|objects| !(objects.is_empty() && self.current().is_null()))
    }
}

/// The changes of a transaction: one key (no allocation), or several.
enum Changes<'a> {
    One(Change<'a>),
    Many(Vec<Change<'a>>),
}

impl<'a> Changes<'a> {
    fn as_mut_slice(&mut self) -> &mut [Change<'a>] {
        match self {
            Changes::One(c) => std::slice::from_mut(c),
            Changes::Many(all) => all,
        }
    }
}

/// The shard locks a transaction holds, in ascending shard order.
enum Locks<'a> {
    One(usize, MutexGuard<'a, ShardState>),
    Many(Vec<(usize, MutexGuard<'a, ShardState>)>),
}

const NOT_LOCKED: &str = "a transaction touches only the keys it locked";

/// A write transaction over a fixed set of keys (see [`HashStorage::begin`]). Changes are
/// buffered and published by [`Txn::commit`]; a transaction dropped without a commit (a panic)
/// publishes nothing.
pub(crate) struct Txn<'a> {
    storage: &'a HashStorage,
    /// Before `locked`: dropped first, so a transaction that publishes nothing releases its
    /// node locks (`Change`'s drop) before its shard mutexes.
    changes: Changes<'a>,
    locked: Locks<'a>,
    /// Where each key is in `changes`, for a transaction over many keys (a long list insert).
    index: Option<std::collections::HashMap<&'a [u8], usize>>,
}

impl<'a> Txn<'a> {
    /// The change of `key`, looked up in the table on first use.
    fn entry(&mut self, key: &[u8]) -> &mut Change<'a> {
        let at = match (&self.changes, &self.index) {
            (Changes::One(c), _) => {
                // Mostly the very slice the transaction began with: no byte compare then.
                assert!(std::ptr::eq(c.key, key) || c.key == key, "{NOT_LOCKED}");
                0
            }
            (Changes::Many(_), Some(index)) => *index.get(key).expect(NOT_LOCKED),
            (Changes::Many(all), None) => all.iter().position(|c| c.key == key).expect(NOT_LOCKED),
        };
        let storage = self.storage;
        let change = &mut self.changes.as_mut_slice()[at];
        if change.found.is_none() {
            let shard = &storage.shards[HashStorage::shard_of(change.hash)];
            let array = shard.array.load(Ordering::Acquire);
            // SAFETY: we hold the shard's mutex (taken in `begin` for every key), so its array
            // and nodes are not retired.
            let found = unsafe { array.as_ref() }.and_then(|a| {
                // SAFETY: as above.
                unsafe { a.find(&Locked, change.hash, LookupKey::new(key)) }
            });
            let found = found.unwrap_or((usize::MAX, ptr::null_mut()));
            // SAFETY: as above.
            change.expired = !found.1.is_null()
                && storage
                    .expiry
                    .is_expired(unsafe { Node::expires_at(found.1) });
            change.found = Some(found);
            // Locked before the transaction reads the object: a writer that changes it in place
            // without the mutex (`HashStorage::change_in_place`) is done before, or waits, and
            // then finds the node replaced or its own change kept.
            // SAFETY: as above, the node is live; `lock` wants a `MUTABLE` one, checked first.
            unsafe {
                if !found.1.is_null() && (*found.1).is_mutable() {
                    Node::lock(found.1);
                    change.locked.set(true);
                }
            }
        }
        change
    }

    /// The objects stored under `key`.
    pub(crate) fn get(&mut self, key: &[u8]) -> Objects<'_> {
        let entry = self.entry(key);
        if let Some(objects) = entry.changed() {
            match objects {
                NewObjects::Built(all) => Objects::from_slice(all),
                NewObjects::One(one) => Objects::from_option(Some(one)),
            }
        } else if entry.current().is_null() {
            Objects::from_slice(&[])
        } else {
            // SAFETY: we hold the shard's mutex for the whole transaction, so the node is not
            // retired while the returned objects borrow `self`.
            unsafe { Node::objects(entry.current()) }
        }
    }

    /// Calls `f` with the objects under `key` (empty if none) to change them in place; an empty
    /// vector afterwards removes the key. New objects must have a key equal to `key`.
    pub(crate) fn update<R>(&mut self, key: &[u8], f: impl FnOnce(&mut Vec<Object>) -> R) -> R {
        let entry = self.entry(key);
        let objects = match std::mem::replace(&mut entry.staged, Staged::Stored) {
            Staged::Stored if entry.current().is_null() => Vec::new(),
            // SAFETY: as in `get`.
            Staged::Stored => unsafe { Node::objects(entry.current()) }.to_vec(),
            Staged::Objects(objects) => objects,
            Staged::One(one) => vec![one],
            Staged::View(one) => vec![one.to_object()],
        };
        entry.staged = Staged::Objects(objects);
        let Staged::Objects(objects) = &mut entry.staged else {
            unreachable!("just staged")
        };
        f(objects)
    }

    /// Removes the objects under `key` without reading them first.
    pub(crate) fn remove(&mut self, key: &[u8]) {
        self.entry(key).staged = Staged::Objects(Vec::new());
    }

    /// Replaces the objects under `key` with `object` without reading them first.
    pub(crate) fn replace(&mut self, key: &[u8], object: Object) {
        self.entry(key).staged = Staged::One(object);
    }

    /// [`Txn::replace`] with an object borrowed until the transaction is published (or
    /// dropped), from whose bytes the new node is built, and its deadline (as
    /// [`Txn::set_expires_at`]: one search of the key's change for both).
    #[inline]
    pub(crate) fn replace_view(&mut self, key: &[u8], object: ObjectRef<'a>, expires_at: u64) {
        let entry = self.entry(key);
        entry.staged = Staged::View(object);
        entry.expires_at = Some(expires_at);
    }

    /// [`Txn::replace`] with an updated object: one that later updates may change in place
    /// ([`Txn::overwrite`], [`HashStorage::change_in_place`]). Not on a table that counts uses
    /// or has an idle lifetime, where a write also renews the object's use count or deadline.
    pub(crate) fn replace_changeable(&mut self, key: &[u8], object: Object) {
        let in_place = !self.storage.track_use && !self.storage.expiry.has_idle();
        let entry = self.entry(key);
        entry.staged = Staged::One(object);
        entry.counter = in_place;
    }

    /// Changes bytes of the object under `key` in place, if it was stored by
    /// [`Txn::replace_changeable`] and the transaction has not changed it: each `(offset, bytes)`
    /// of `edits` overwrites the object's bytes from `offset` (outside its key, within its
    /// length), and readers see all of the edits or none. Returns whether it did; if not,
    /// nothing changed.
    pub(crate) fn overwrite(&mut self, key: &[u8], edits: &[(usize, &[u8])]) -> bool {
        let entry = self.entry(key);
        let node = entry.current();
        // SAFETY: we hold the shard's mutex, so the node is live, and its lock (taken by
        // `entry` for a `MUTABLE` node), so we are its only writer; the borrows of its data
        // that `get` handed out ended with their `&mut self`. Readers see the edits when the
        // transaction releases the lock.
        unsafe {
            if !matches!(entry.staged, Staged::Stored) || node.is_null() || !(*node).is_mutable() {
                return false;
            }
            Node::overwrite(node, edits);
        }
        true
    }

    /// Sets the deadline `key`'s objects are published with (0: never); without it, changed
    /// objects keep the deadline of the objects they replace.
    pub(crate) fn set_expires_at(&mut self, key: &[u8], at: u64) {
        self.entry(key).expires_at = Some(at);
    }

    /// Drops every staged change: committing then publishes nothing (for a write that failed
    /// after staging some of its changes). An in-place `overwrite` already made stays.
    pub(crate) fn discard(&mut self) {
        for change in self.changes.as_mut_slice() {
            change.staged = Staged::Stored;
            change.expires_at = None;
            change.counter = false;
        }
    }

    /// Publishes the changes: one key by one store, several keys as one batch.
    pub(crate) fn commit(mut self) {
        // A one-key transaction that changed nothing (a counter changed in place, a read):
        // dropping it releases what it holds.
        if matches!(&self.changes, Changes::One(p) if !p.publishes()) {
            return;
        }
        let mut publish = Publish {
            storage: self.storage,
            locked: &mut self.locked,
        };
        let replaced = match &self.changes {
            Changes::One(p) if p.publishes() => publish.commit_one(p),
            Changes::One(_) => ptr::null_mut(),
            Changes::Many(all) => {
                let changed: Vec<&Change<'a>> = all.iter().filter(|p| p.publishes()).collect();
                match changed[..] {
                    [] => ptr::null_mut(),
                    [p] => publish.commit_one(p),
                    _ => {
                        publish.commit_batch(&changed);
                        ptr::null_mut()
                    }
                }
            }
        };
        // Published: the nodes this transaction locked go back to their other writers, which
        // find a replaced one replaced (before it is retired below; `commit_batch` released
        // its own before retiring them).
        for change in self.changes.as_mut_slice() {
            change.unlock();
        }
        // The shard mutexes go before the replaced node is retired: the retirement that fills
        // this thread's batch frees the batch, after a process-wide barrier (`membarrier`, which
        // interrupts every core running one of the process's threads: tens of microseconds on a
        // virtual machine). Under the mutex, the shard's other writers waited for all of it,
        // spinning and yielding; two threads updating counters then did less than one.
        let storage = self.storage;
        // (The mutexes alone: moving the whole transaction into `drop` copied it.)
        drop(self.locked);
        if !replaced.is_null() {
            // SAFETY: `replaced` was the key's node until `install` unlinked it under the
            // shard's mutex; no writer links a node again once it is replaced, and only this
            // transaction retires it.
            unsafe { storage.collector.retire(replaced) };
        }
    }

    /// [`Publish::install`], for the cache layer's removals (`cache.rs`).
    fn install(
        &mut self,
        hash: u64,
        key: &[u8],
        hint: Option<(usize, *mut Node)>,
        new: *mut Node,
    ) -> *mut Node {
        Publish {
            storage: self.storage,
            locked: &mut self.locked,
        }
        .install(hash, key, hint, new)
    }
}

/// What publishing needs of a transaction, borrowed apart from its changes (so that they are
/// read in place, not moved out of it: a one-key change is about 150 bytes).
struct Publish<'t, 'a> {
    storage: &'a HashStorage,
    locked: &'t mut Locks<'a>,
}

impl<'a> Publish<'_, 'a> {
    /// The state of a shard the transaction locked.
    fn locked_state(&mut self, shard: usize) -> &mut ShardState {
        match self.locked {
            Locks::One(i, state) => {
                assert_eq!(*i, shard, "{NOT_LOCKED}");
                state
            }
            Locks::Many(all) => {
                let at = all
                    .binary_search_by_key(&shard, |(i, _)| *i)
                    .expect(NOT_LOCKED);
                &mut all[at].1
            }
        }
    }

    /// Publishes one key's change with one store, and returns the node it replaced (null if
    /// none), for the caller to retire once the shard's mutex is released.
    fn commit_one(&mut self, p: &Change<'a>) -> *mut Node {
        let objects = p.changed().expect("only changed keys are published");
        let new = if objects.is_empty() {
            ptr::null_mut()
        } else {
            let at = p.stamp(&self.storage.expiry);
            Node::new(
                p.key,
                objects,
                ptr::null_mut(),
                ptr::null_mut(),
                at,
                self.storage.track_use,
                p.counter,
            )
            .as_ptr()
        };
        let old = self.install(p.hash, p.key, p.found, new);
        debug_assert_eq!(old, p.stored());
        if p.expired {
            self.storage.count_expired(old);
        }
        old
    }

    /// Publishes several keys' changes so that readers see all or none of them.
    fn commit_batch(&mut self, changed: &[&Change<'a>]) {
        let batch = Box::into_raw(Box::new(Batch {
            committed: AtomicBool::new(false),
        }));
        let mut installed = Vec::with_capacity(changed.len());
        for p in changed {
            // A deletion is published as a marker node (no objects) until the commit.
            let objects = p.changed().expect("only changed keys are published");
            // An expired node stands for nothing: readers of the uncommitted batch see it as
            // absent either way, and a marker replaces it.
            let at = p.stamp(&self.storage.expiry);
            let new = Node::new(
                p.key,
                objects,
                batch,
                p.current(),
                at,
                self.storage.track_use,
                false,
            )
            .as_ptr();
            let old = self.install(p.hash, p.key, p.found, new);
            debug_assert_eq!(old, p.stored());
            if p.expired {
                self.storage.count_expired(old);
            }
            installed.push((p, new, old));
        }
        // SAFETY: `batch` is live until we retire it below.
        unsafe { (*batch).committed.store(true, Ordering::Release) };
        // Before the replaced nodes are retired (the commit's own release would come after).
        for p in changed {
            p.unlock();
        }
        for (p, new, old) in installed {
            // SAFETY: `new` is the key's node (mutex held); readers no longer use its `pending`
            // once it is cleared, and those that loaded it entered their guard before this.
            unsafe {
                let pending = Node::pending(new)
                    .expect("a node of a multi-key write has a pending pointer")
                    .swap(ptr::null_mut(), Ordering::AcqRel);
                self.storage.collector.retire::<node::Pending>(pending);
                if (*new).count() == 0 {
                    let marker = self.install(p.hash, p.key, None, ptr::null_mut());
                    debug_assert_eq!(marker, new);
                    self.storage.collector.retire(new);
                }
                if !old.is_null() {
                    self.storage.collector.retire(old);
                }
            }
        }
        // SAFETY: no node points at the batch any more; readers that loaded it entered their
        // guard before this retirement.
        unsafe { self.storage.collector.retire(batch) };
    }

    /// Makes `new` the node of `key` (null: deletes it) and returns the node it replaces.
    /// `hint` is where the transaction found the key (`Change::found`): if that slot still
    /// holds that node, no search is needed. Counters follow; the caller retires the old node.
    fn install(
        &mut self,
        hash: u64,
        key: &[u8],
        hint: Option<(usize, *mut Node)>,
        new: *mut Node,
    ) -> *mut Node {
        let index = HashStorage::shard_of(hash);
        let storage = self.storage;
        let shard = &storage.shards[index];
        let state = self.locked_state(index);
        let mut array = shard.array.load(Ordering::Acquire);
        // SAFETY: we hold the shard's mutex: its array and nodes stay live and only we change
        // them.
        unsafe {
            // A live node sits in one slot of the current array at most, so finding the
            // key's node in the hinted slot means it is the key's slot.
            let hinted = hint.filter(|&(i, node)| {
                let slots = array.as_ref().map_or(&[][..], |a| &a.slots[..]);
                !node.is_null()
                    && slots
                        .get(i)
                        .is_some_and(|s| s.node.load(Ordering::Relaxed) == node)
            });
            let found = match hinted {
                Some((i, _)) => Some(i),
                None if array.is_null() => None,
                None => (*array)
                    .find(&Locked, hash, LookupKey::new(key))
                    .map(|(i, _)| i),
            };
            let old = match found {
                Some(i) => {
                    let slot = &(*array).slots[i];
                    let old = slot.node.load(Ordering::Acquire);
                    slot.node.store(new, Ordering::Release);
                    old
                }
                None if new.is_null() => return ptr::null_mut(),
                None => {
                    loop {
                        if array.is_null() {
                            array = rebuild(shard, state, &storage.collector, 0);
                        }
                        match spot(&*array, hash) {
                            // The key deleted earlier and inserted again takes back its
                            // tombstone: no slot more in use, so churn over a steady set of
                            // keys never forces a rebuild.
                            Spot::Tombstone(slot) => {
                                slot.node.store(new, Ordering::Release);
                                break;
                            }
                            Spot::Empty(slot) => {
                                if (state.used + 1) * 4 > (1usize << (*array).bits) * 3 {
                                    array = rebuild(shard, state, &storage.collector, 0);
                                    continue;
                                }
                                fill(slot, hash, new);
                                state.used += 1;
                                break;
                            }
                            // The probe ran off the end of the tail: grow.
                            Spot::None => {
                                let bits = (*array).bits + 1;
                                array = rebuild(shard, state, &storage.collector, bits);
                            }
                        }
                    }
                    ptr::null_mut()
                }
            };
            if !old.is_null() {
                state.keys -= 1;
                state.objects -= (*old).count();
                state.node_bytes -= (*old).bytes();
            }
            if !new.is_null() {
                state.keys += 1;
                state.objects += (*new).count();
                state.node_bytes += (*new).bytes();
            }
            // The shard is empty: give its array (all tombstones now) back, so an emptied
            // table holds, and reports, no more memory than a new one. Readers on the old
            // array are protected by their guards; a null array reads as empty.
            let empties = new.is_null() && state.keys == 0;
            if empties {
                state.used = 0;
                state.array_bytes = 0;
            }
            // The counts before the array goes: a purge skips a shard without an array
            // without its mutex, and must then find the shard's count as the array left it.
            shard.publish(state);
            if empties {
                let emptied = shard.array.swap(ptr::null_mut(), Ordering::AcqRel);
                storage.collector.retire(emptied);
            }
            old
        }
    }
}

/// Where a key absent from an array goes: a tombstone of its hash (its own, deleted earlier)
/// or else the first empty slot from its home.
enum Spot<'a> {
    Tombstone(&'a Slot),
    Empty(&'a Slot),
    /// The probe ran off the end of the tail.
    None,
}

/// The [`Spot`] of a key with `hash`, absent from `array`.
fn spot(array: &Array, hash: u64) -> Spot<'_> {
    for slot in &array.slots[array.home(hash)..] {
        let h = slot.hash.load(Ordering::Relaxed);
        if h == 0 {
            return Spot::Empty(slot);
        }
        if h == hash && slot.node.load(Ordering::Relaxed).is_null() {
            return Spot::Tombstone(slot);
        }
    }
    Spot::None
}

/// Makes the empty `slot` hold `node`, whose key has `hash`. The caller holds the shard's
/// mutex and the slot is in its current array (or a new one not yet published).
fn fill(slot: &Slot, hash: u64, node: *mut Node) {
    // The pointer first, then the hash: a reader that sees the hash sees the node.
    slot.node.store(node, Ordering::Release);
    slot.hash.store(hash, Ordering::Release);
}

/// Replaces the shard's array by one sized for its keys (at least `min_bits`), without
/// tombstones, and retires the old one. Returns the new array.
///
/// # Safety
/// The caller holds the shard's mutex; `state` is the shard's.
unsafe fn rebuild(
    shard: &Shard,
    state: &mut ShardState,
    collector: &Collector,
    min_bits: u32,
) -> *mut Array {
    let old = shard.array.load(Ordering::Acquire);
    // Room for the keys plus the one being inserted at a load factor of at most 1/2.
    let want = ((state.keys + 1) * 2).next_power_of_two();
    let mut bits = (want.trailing_zeros()).max(MIN_BITS).max(min_bits);
    let new = loop {
        let new = Array::new(bits, ptr::null_mut(), ptr::null_mut());
        // SAFETY: `new` is ours until published; `old` is live (mutex held).
        let fits = old.is_null()
            || unsafe {
                (*old).slots.iter().all(|slot| {
                    let n = slot.node.load(Ordering::Acquire);
                    if n.is_null() {
                        return true;
                    }
                    let hash = slot.hash.load(Ordering::Relaxed);
                    // A new array has no tombstones: a key goes to an empty slot or off the end.
                    match spot(&*new, hash) {
                        Spot::Empty(to) => fill(to, hash, n),
                        Spot::Tombstone(_) | Spot::None => return false,
                    }
                    true
                })
            };
        if fits {
            break new;
        }
        // SAFETY: never published.
        unsafe { Array::free(new) };
        bits += 1;
    };
    shard.array.store(new, Ordering::Release);
    state.used = state.keys;
    // SAFETY: `new` is live; `old` is unlinked now and retired once (its nodes live on in `new`).
    unsafe {
        state.array_bytes = (*new).bytes();
        if !old.is_null() {
            collector.retire(old);
        }
    }
    new
}
