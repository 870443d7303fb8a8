//! Striped storage: the simple, lock-based baseline (today used by ordered_sets). It stripes the table into shards, each a `parking_lot::RwLock` around an
//! ordered map. Hash tables (set, bag, duplicate_bag) order entries by `(hash, key bytes)` and
//! pick the shard by the top bits of the hash, so the table's internal order is the same
//! `(hash, key)` order across shards; an ordered_set is one shard ordered by term order.
//! Either way every key has a fixed place in the traversal order, which is what makes
//! first/next traversal safe under concurrent writers (a key is never returned twice).
//!
//! Multi-key writes (list insert, insert_new, delete_all_objects) lock every shard they touch
//! in ascending order, so they are atomic and isolated (two-phase locking; no deadlock).
//! Sizes and memory are counted per shard, under the shard's lock: there is no shared counter.

use std::hash::BuildHasher;

use parking_lot::{RwLock, RwLockWriteGuard};

use super::striped_shard::Shard;
use super::Direction;
use crate::object::{Key, Object, ObjectRef, Objects};

/// Number of shards of a hash table (a power of two).
const HASH_SHARDS: usize = 64;

/// Aligns a value to its own cache lines, so that two shards' locks never share one.
#[repr(align(128))]
struct CachePadded<T>(T);

/// The objects of one table.
pub(crate) struct Striped {
    shards: Box<[CachePadded<RwLock<Shard>>]>,
    /// Seeded per table (hash-flooding resistance); `None` for an ordered_set.
    hasher: Option<foldhash::quality::RandomState>,
}

impl Striped {
    /// Storage for a hash table (set, bag, duplicate_bag).
    pub(crate) fn hash() -> Striped {
        Striped {
            shards: (0..HASH_SHARDS)
                .map(|_| CachePadded(RwLock::new(Shard::hash())))
                .collect(),
            hasher: Some(foldhash::quality::RandomState::default()),
        }
    }

    /// Storage for an ordered_set.
    pub(crate) fn ordered() -> Striped {
        Striped {
            shards: Box::new([CachePadded(RwLock::new(Shard::ordered()))]),
            hasher: None,
        }
    }

    fn hash_of(&self, key: &[u8]) -> u64 {
        self.hasher.as_ref().map_or(0, |h| h.hash_one(key))
    }

    fn shard_of(&self, hash: u64) -> usize {
        // The top bits, so that shard order is hash order. `shards.len()` is a power of two.
        let bits = self.shards.len().trailing_zeros();
        if bits == 0 {
            0
        } else {
            (hash >> (64 - bits)) as usize
        }
    }

    /// Calls `f` with the objects stored under `key` (none if the key is absent).
    pub(crate) fn read<R>(&self, key: &[u8], f: impl FnOnce(Objects<'_>) -> R) -> R {
        let hash = self.hash_of(key);
        let shard = self.shards[self.shard_of(hash)].0.read();
        f(Objects::from_slice(
            shard.get(hash, key).map_or(&[], Vec::as_slice),
        ))
    }

    /// Runs `f` with every shard that holds one of `keys` locked for writing: what `f` does
    /// through the [`Txn`] is atomic and isolated. `f` may only touch the keys it named.
    pub(crate) fn write<R>(&self, keys: &[&[u8]], f: impl FnOnce(Txn<'_>) -> R) -> R {
        let mut indices: Vec<usize> = keys
            .iter()
            .map(|k| self.shard_of(self.hash_of(k)))
            .collect();
        indices.sort_unstable();
        indices.dedup();
        let guards = indices
            .into_iter()
            .map(|i| (i, self.shards[i].0.write()))
            .collect();
        f(Txn {
            storage: self,
            guards,
        })
    }

    /// Removes every object, atomically and in isolation.
    pub(crate) fn clear(&self) {
        let mut guards: Vec<_> = self.shards.iter().map(|s| s.0.write()).collect();
        for shard in &mut guards {
            shard.clear();
        }
    }

    /// The number of objects.
    pub(crate) fn size(&self) -> usize {
        self.shards.iter().map(|s| s.0.read().objects()).sum()
    }

    /// Bytes held by the objects and the storage around them.
    pub(crate) fn memory(&self) -> usize {
        let own = std::mem::size_of::<Striped>()
            + self.shards.len() * std::mem::size_of::<CachePadded<RwLock<Shard>>>();
        own + self
            .shards
            .iter()
            .map(|s| s.0.read().bytes())
            .sum::<usize>()
    }

    /// The key after `from` in traversal order (the first key if `from` is `None`), going in
    /// `direction`, and `f` applied to its objects. `from` need not be in the table.
    pub(crate) fn step<R>(
        &self,
        from: Option<&[u8]>,
        direction: Direction,
        f: impl FnOnce(Objects<'_>) -> R,
    ) -> Option<(Key, R)> {
        let start = from.map(|k| (self.hash_of(k), k));
        let first_shard = match (start, direction) {
            (Some((hash, _)), _) => self.shard_of(hash),
            (None, Direction::Forward) => 0,
            (None, Direction::Backward) => self.shards.len() - 1,
        };
        let mut f = Some(f);
        let mut visit = |i: usize, after: Option<(u64, &[u8])>| {
            let shard = self.shards[i].0.read();
            shard.step(after, direction).map(|objects| {
                let key = Key::from_canonical(objects[0].key_msgpack());
                (
                    key,
                    (f.take().expect("called once"))(Objects::from_slice(objects)),
                )
            })
        };
        if let Some(found) = visit(first_shard, start) {
            return Some(found);
        }
        match direction {
            Direction::Forward => (first_shard + 1..self.shards.len()).find_map(|i| visit(i, None)),
            Direction::Backward => (0..first_shard).rev().find_map(|i| visit(i, None)),
        }
    }

    /// Calls `f` on every object, shard by shard in traversal order. Each shard is read under
    /// its lock; the whole is not a snapshot (as in ETS).
    pub(crate) fn for_each(&self, direction: Direction, mut f: impl FnMut(ObjectRef<'_>)) {
        let mut visit = |shard: &CachePadded<RwLock<Shard>>| {
            shard
                .0
                .read()
                .for_each(direction, &mut |o: &Object| f(o.view()));
        };
        match direction {
            Direction::Forward => self.shards.iter().for_each(&mut visit),
            Direction::Backward => self.shards.iter().rev().for_each(&mut visit),
        }
    }
}

/// A write transaction over a fixed set of keys (see [`Striped::write`]).
pub(crate) struct Txn<'a> {
    storage: &'a Striped,
    guards: Vec<(usize, RwLockWriteGuard<'a, Shard>)>,
}

impl Txn<'_> {
    fn shard(&mut self, hash: u64) -> &mut Shard {
        let index = self.storage.shard_of(hash);
        let at = self
            .guards
            .binary_search_by_key(&index, |(i, _)| *i)
            .expect("a transaction touches only the keys it locked");
        &mut self.guards[at].1
    }

    /// The objects stored under `key`.
    pub(crate) fn get(&mut self, key: &[u8]) -> &[Object] {
        let hash = self.storage.hash_of(key);
        self.shard(hash).get(hash, key).map_or(&[], Vec::as_slice)
    }

    /// Calls `f` with the objects under `key` (empty if none) to change them in place; an empty
    /// vector afterwards removes the key. New objects must have a key equal to `key`.
    pub(crate) fn update<R>(&mut self, key: &[u8], f: impl FnOnce(&mut Vec<Object>) -> R) -> R {
        let hash = self.storage.hash_of(key);
        self.shard(hash).update(hash, key, f)
    }
}
