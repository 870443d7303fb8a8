//! Storage: where a table's objects live. This is an internal boundary: the semantics layer
//! ([`crate::table`]) sees only [`Storage`] and [`Txn`], so storage can be replaced without
//! touching semantics. Hash tables (set, bag, duplicate_bag) and ordered_sets have separate
//! implementations behind the same operations:
//!
//! - `read(key, f)`: `f` sees the objects under `key` (none if absent);
//! - `write(keys, f)`: `f` reads and changes the objects under `keys` through a [`Txn`],
//!   atomically and in isolation;
//! - `clear`, `size`, `memory`;
//! - `step(from, direction, f)`: the key after (before) `from` in traversal order — the table's
//!   fixed internal order for a hash table, term order for an ordered_set — which is what makes
//!   first/next traversal safe under concurrent writers (no key twice, never a failure);
//! - `for_each(direction, f)`: every object, in traversal order, not a snapshot;
//! - `chunk(start, direction, max_keys, visit)`: the keys from `start` on in traversal order,
//!   up to `max_keys` of them, read under one guard with one descent (one probe sequence), so a
//!   range costs one search per chunk rather than one per key.

mod hash;
mod ordered;
pub(crate) mod reclaim;

use std::ops::ControlFlow;

use crate::cache::Expiry;
use crate::object::{Key, Object, ObjectRef, Objects};

/// Where a chunk starts, in its direction: at the first key, after a key, or at a key (the
/// key itself if present, else the one after). The key need not be in the table.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Start<'a> {
    First,
    After(&'a [u8]),
    At(&'a [u8]),
}

/// How a chunk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Chunk {
    /// Keys visited (each with all its objects).
    pub(crate) keys: usize,
    /// The walk reached the end of the table: no key after the last one visited (as of the
    /// chunk's read).
    pub(crate) exhausted: bool,
}

/// Which way a traversal goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Forward,
    Backward,
}

/// The objects of one table. (A table has one, inline in its `TableInner`: the size of the hash
/// variant, mostly its reclamation collector, costs nothing and saves an indirection per call.)
#[allow(clippy::large_enum_variant)]
pub(crate) enum Storage {
    Hash(hash::HashStorage),
    Ordered(ordered::OrderedStorage),
}

/// Where an eviction hand stands (see [`Storage::evict`]).
pub(crate) enum Hand {
    Hash(hash::Hand),
    Ordered(ordered::Hand),
}

/// The most uses an object's header counts (2 bits' worth): the eviction hand passes an object
/// this many times before evicting it, unless it is read again.
pub(crate) const MAX_USES: u32 = 3;

/// The hand's look at an object's use count: counts one use down and says whether there was
/// one (then the object stays).
pub(crate) fn count_down(uses: &std::sync::atomic::AtomicU32) -> bool {
    let n = uses.load(std::sync::atomic::Ordering::Relaxed);
    if n != 0 {
        uses.store(n - 1, std::sync::atomic::Ordering::Relaxed);
    }
    n != 0
}

/// What [`Storage::evict_if_unused`] did with a key leaving probation.
pub(crate) enum Probation {
    /// Not in the table (deleted or evicted since).
    Absent,
    /// Used since written: kept (its use bit cleared).
    Used,
    /// Removed as expired: this many objects.
    Expired(usize),
    /// Evicted: this many objects.
    Evicted(usize),
}

/// A write transaction over a fixed set of keys (see [`Storage::write`]).
pub(crate) enum Txn<'a> {
    Hash(hash::Txn<'a>),
    Ordered(ordered::Txn<'a>),
}

macro_rules! dispatch {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            Storage::Hash($s) => $e,
            Storage::Ordered($s) => $e,
        }
    };
}

impl Storage {
    /// Storage for a hash table (set, bag, duplicate_bag).
    pub(crate) fn hash() -> Storage {
        Storage::Hash(hash::new())
    }

    /// Storage for an ordered_set.
    pub(crate) fn ordered() -> Storage {
        Storage::Ordered(ordered::new())
    }

    /// Gives the storage the cache layer's lifetimes (every read filters expired objects
    /// through them) and, if `track_use`, makes readers mark what they use for eviction.
    pub(crate) fn with_cache(self, expiry: Expiry, track_use: bool) -> Storage {
        match self {
            Storage::Hash(s) => Storage::Hash(s.with_cache(expiry, track_use)),
            Storage::Ordered(s) => Storage::Ordered(s.with_cache(expiry, track_use)),
        }
    }

    /// The storage's lifetimes.
    pub(crate) fn expiry(&self) -> &Expiry {
        dispatch!(self, s => s.expiry())
    }

    /// Objects removed so far because they had expired.
    pub(crate) fn expired_count(&self) -> u64 {
        dispatch!(self, s => s.expired_count())
    }

    /// Removes every expired object; returns how many.
    pub(crate) fn purge_expired(&self) -> usize {
        dispatch!(self, s => s.purge_expired())
    }

    /// Evicts objects by the storage's policy (see `crate::cache::policy`) while `full()`;
    /// returns `(evicted, expired)` object counts.
    pub(crate) fn evict(&self, hand: &mut Hand, full: impl FnMut() -> bool) -> (usize, usize) {
        match (self, hand) {
            (Storage::Hash(s), Hand::Hash(h)) => s.evict(h, full),
            (Storage::Ordered(s), Hand::Ordered(h)) => s.evict(h, full),
            _ => unreachable!("a hand is made for its storage"),
        }
    }

    /// Whether eviction can take a key out of probation (see `crate::cache::policy`): hash
    /// storage; an ordered_set is evicted by its hand alone.
    pub(crate) fn has_probation(&self) -> bool {
        matches!(self, Storage::Hash(_))
    }

    /// The name probation keeps for `key` (hash storage: its hash; else none).
    pub(crate) fn probation_name(&self, key: &[u8]) -> Option<u64> {
        match self {
            Storage::Hash(s) => Some(s.hash_of(key)),
            Storage::Ordered(_) => None,
        }
    }

    /// Evicts the object named `name` (see [`Storage::probation_name`]) unless a reader used it
    /// since it was written or last looked at (then clears its use count).
    pub(crate) fn evict_if_unused(&self, name: u64) -> Probation {
        match self {
            Storage::Hash(s) => s.evict_if_unused(name),
            Storage::Ordered(_) => Probation::Used,
        }
    }

    /// A new eviction hand for this storage.
    pub(crate) fn new_hand(&self) -> Hand {
        match self {
            Storage::Hash(_) => Hand::Hash(Default::default()),
            Storage::Ordered(_) => Hand::Ordered(Default::default()),
        }
    }

    /// Calls `f` with the objects stored under `key` (none if the key is absent).
    pub(crate) fn read<R>(&self, key: &[u8], f: impl FnOnce(Objects<'_>) -> R) -> R {
        dispatch!(self, s => s.read(key, f))
    }

    /// The deadline of the live object(s) under `key` (0: never), `None` if there are none.
    pub(crate) fn deadline_of(&self, key: &[u8]) -> Option<u64> {
        dispatch!(self, s => s.deadline_of(key))
    }

    /// Runs `f` on the objects under `keys`, atomically and in isolation; `f` may only touch
    /// the keys it named.
    pub(crate) fn write<R>(&self, keys: &[&[u8]], f: impl FnOnce(&mut Txn<'_>) -> R) -> R {
        match self {
            Storage::Hash(s) => {
                let mut txn = Txn::Hash(s.begin(keys));
                let result = f(&mut txn);
                if let Txn::Hash(txn) = txn {
                    txn.commit();
                }
                result
            }
            Storage::Ordered(s) => s.write(keys, |t| f(&mut Txn::Ordered(t))),
        }
    }

    /// [`Storage::write`] for one key, by a writer that never removes it (it may replace its
    /// objects or leave them). An ordered_set then lets such writers of different keys run in
    /// parallel; hash storage runs them as any write (writers of different shards already do).
    pub(crate) fn write_in_place<R>(&self, key: &[u8], f: impl FnOnce(&mut Txn<'_>) -> R) -> R {
        match self {
            Storage::Hash(_) => self.write(&[key], f),
            Storage::Ordered(s) => s.write_in_place(key, |t| f(&mut Txn::Ordered(t))),
        }
    }

    /// Removes every object, atomically and in isolation.
    pub(crate) fn clear(&self) {
        dispatch!(self, s => s.clear())
    }

    /// The number of objects.
    pub(crate) fn size(&self) -> usize {
        dispatch!(self, s => s.size())
    }

    /// Bytes held by the objects and the storage around them.
    pub(crate) fn memory(&self) -> usize {
        dispatch!(self, s => s.memory())
    }

    /// The key after `from` in traversal order (the first key if `from` is `None`), going in
    /// `direction`, and `f` applied to its objects. `from` need not be in the table.
    pub(crate) fn step<R>(
        &self,
        from: Option<&[u8]>,
        direction: Direction,
        f: impl FnOnce(Objects<'_>) -> R,
    ) -> Option<(Key, R)> {
        match self {
            // Hash tables traverse forward only: `Table::direction` never asks them backward.
            Storage::Hash(s) => s.step(from, f),
            Storage::Ordered(s) => s.step(from, direction, f),
        }
    }

    /// Calls `visit(key, objects)` on each key from `start` on in traversal order (`direction`:
    /// forward only on a hash table), until it has visited `max_keys` keys, `visit` breaks, or
    /// the table ends. The whole chunk is read under one guard: one descent on an ordered_set
    /// (then leaf by leaf), one probe sequence per shard on a hash table. Expired objects are
    /// never visited.
    ///
    /// A chunk has the traversal guarantee of `step` (it is `max_keys` steps taken at once): no
    /// key twice, and every key present throughout after `start` visited, in order. On an
    /// ordered_set it also reads one tree (a snapshot, except that an object replaced in place
    /// meanwhile may be seen with its new value).
    pub(crate) fn chunk(
        &self,
        start: Start<'_>,
        direction: Direction,
        max_keys: usize,
        visit: impl FnMut(&[u8], Objects<'_>) -> ControlFlow<()>,
    ) -> Chunk {
        match self {
            Storage::Hash(s) => {
                debug_assert_eq!(direction, Direction::Forward, "hash tables go forward only");
                s.chunk(start, max_keys, visit)
            }
            Storage::Ordered(s) => s.chunk(start, direction, max_keys, visit),
        }
    }

    /// Calls `f` on every object in traversal order; not a snapshot.
    pub(crate) fn for_each(&self, direction: Direction, f: impl FnMut(ObjectRef<'_>)) {
        match self {
            Storage::Hash(s) => {
                debug_assert_eq!(direction, Direction::Forward, "hash tables go forward only");
                s.for_each(f)
            }
            Storage::Ordered(s) => s.for_each(direction, f),
        }
    }
}

impl Txn<'_> {
    /// The objects stored under `key`.
    pub(crate) fn get(&mut self, key: &[u8]) -> Objects<'_> {
        match self {
            Txn::Hash(t) => t.get(key),
            Txn::Ordered(t) => t.get(key),
        }
    }

    /// Calls `f` with the objects under `key` (empty if none) to change them in place; an empty
    /// vector afterwards removes the key. New objects must have a key equal to `key`.
    pub(crate) fn update<R>(&mut self, key: &[u8], f: impl FnOnce(&mut Vec<Object>) -> R) -> R {
        match self {
            Txn::Hash(t) => t.update(key, f),
            Txn::Ordered(t) => t.update(key, f),
        }
    }

    /// Removes the objects under `key` (if any) without reading them first.
    pub(crate) fn remove(&mut self, key: &[u8]) {
        match self {
            Txn::Hash(t) => t.remove(key),
            Txn::Ordered(t) => t.remove(key),
        }
    }

    /// Sets the deadline (0: never) the objects under `key` get if the transaction changes them;
    /// without it, changed objects keep their old deadline.
    pub(crate) fn set_expires_at(&mut self, key: &[u8], at: u64) {
        match self {
            Txn::Hash(t) => t.set_expires_at(key, at),
            Txn::Ordered(t) => t.set_expires_at(key, at),
        }
    }

    /// Replaces the objects under `key` with `object` without reading them first. Its key must
    /// be equal to `key`.
    pub(crate) fn replace(&mut self, key: &[u8], object: Object) {
        match self {
            Txn::Hash(t) => t.replace(key, object),
            Txn::Ordered(t) => t.replace(key, object),
        }
    }
}
