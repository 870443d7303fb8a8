//! One shard: an ordered map from key to the objects under it, with its own counters.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::Bound;

use crate::object::Object;
use crate::storage::Direction;
use crate::term;

/// Estimated bytes of map bookkeeping per key (B-tree node share, the vector header).
const SLOT_OVERHEAD: usize = 64;

pub(super) struct Shard {
    map: Map,
    objects: usize,
    bytes: usize,
}

/// Hash shards order keys by `(hash, canonical bytes)`: exact-match equality, and a fixed place
/// for every key. Ordered shards order keys by term order: compare-equal keys are one key.
enum Map {
    Hash(BTreeMap<HashKey, Vec<Object>>),
    Ordered(BTreeMap<OrdKey, Vec<Object>>),
}

/// A canonical key ordered by term order.
struct OrdKey(Box<[u8]>);

/// The borrowed form of [`OrdKey`], so that lookups need no allocation.
#[repr(transparent)]
struct OrdKeyRef([u8]);

impl OrdKeyRef {
    fn new(bytes: &[u8]) -> &OrdKeyRef {
        // SAFETY: `OrdKeyRef` is `repr(transparent)` over `[u8]`, so the two references have the
        // same layout and metadata, and the lifetime is carried over unchanged.
        unsafe { &*(bytes as *const [u8] as *const OrdKeyRef) }
    }
}

impl Borrow<OrdKeyRef> for OrdKey {
    fn borrow(&self) -> &OrdKeyRef {
        OrdKeyRef::new(&self.0)
    }
}

impl Ord for OrdKeyRef {
    fn cmp(&self, other: &Self) -> Ordering {
        term::compare(&self.0, &other.0)
    }
}
impl PartialOrd for OrdKeyRef {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for OrdKeyRef {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for OrdKeyRef {}

impl Ord for OrdKey {
    fn cmp(&self, other: &Self) -> Ordering {
        term::compare(&self.0, &other.0)
    }
}
impl PartialOrd for OrdKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for OrdKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for OrdKey {}

/// A hash shard's map key.
type HashKey = (u64, Box<[u8]>);

/// The range of hash-map entries with this hash: `(hash, [])` sorts first among them.
fn hash_range(hash: u64) -> (Bound<HashKey>, Bound<HashKey>) {
    let empty = || Box::<[u8]>::default();
    let end = match hash.checked_add(1) {
        Some(next) => Bound::Excluded((next, empty())),
        None => Bound::Unbounded,
    };
    (Bound::Included((hash, empty())), end)
}

fn slot_bytes(key_len: usize, objects: &[Object]) -> usize {
    SLOT_OVERHEAD + key_len + objects.iter().map(Object::heap_bytes).sum::<usize>()
}

impl Shard {
    pub(super) fn hash() -> Shard {
        Shard {
            map: Map::Hash(BTreeMap::new()),
            objects: 0,
            bytes: 0,
        }
    }

    pub(super) fn ordered() -> Shard {
        Shard {
            map: Map::Ordered(BTreeMap::new()),
            objects: 0,
            bytes: 0,
        }
    }

    pub(super) fn objects(&self) -> usize {
        self.objects
    }

    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(super) fn get(&self, hash: u64, key: &[u8]) -> Option<&Vec<Object>> {
        match &self.map {
            Map::Hash(map) => map
                .range(hash_range(hash))
                .find(|((_, k), _)| **k == *key)
                .map(|(_, v)| v),
            Map::Ordered(map) => map.get(OrdKeyRef::new(key)),
        }
    }

    /// The objects under `key`, with the length of the key as the map stores it (on an
    /// ordered_set it may differ from `key` while comparing equal).
    fn get_mut(&mut self, hash: u64, key: &[u8]) -> Option<(usize, &mut Vec<Object>)> {
        match &mut self.map {
            Map::Hash(map) => map
                .range_mut(hash_range(hash))
                .find(|((_, k), _)| **k == *key)
                .map(|((_, k), v)| (k.len(), v)),
            Map::Ordered(map) => map
                .range_mut::<OrdKeyRef, _>((Bound::Included(OrdKeyRef::new(key)), Bound::Unbounded))
                .next()
                .filter(|(k, _)| term::compare(&k.0, key) == Ordering::Equal)
                .map(|(k, v)| (k.0.len(), v)),
        }
    }

    pub(super) fn update<R>(
        &mut self,
        hash: u64,
        key: &[u8],
        f: impl FnOnce(&mut Vec<Object>) -> R,
    ) -> R {
        match self.get_mut(hash, key) {
            Some((stored_key_len, objects)) => {
                let before_len = objects.len();
                let before = slot_bytes(stored_key_len, objects);
                let result = f(objects);
                let (after_len, after) = (objects.len(), slot_bytes(stored_key_len, objects));
                if after_len == 0 {
                    self.remove(hash, key);
                    self.bytes -= before;
                } else {
                    self.bytes = self.bytes - before + after;
                }
                self.objects = self.objects - before_len + after_len;
                result
            }
            None => {
                let mut objects = Vec::new();
                let result = f(&mut objects);
                if !objects.is_empty() {
                    self.objects += objects.len();
                    self.bytes += slot_bytes(key.len(), &objects);
                    match &mut self.map {
                        Map::Hash(map) => map.insert((hash, key.into()), objects),
                        Map::Ordered(map) => map.insert(OrdKey(key.into()), objects),
                    };
                }
                result
            }
        }
    }

    fn remove(&mut self, hash: u64, key: &[u8]) {
        match &mut self.map {
            Map::Hash(map) => map.remove(&(hash, Box::from(key))),
            Map::Ordered(map) => map.remove(OrdKeyRef::new(key)),
        };
    }

    pub(super) fn clear(&mut self) {
        match &mut self.map {
            Map::Hash(map) => map.clear(),
            Map::Ordered(map) => map.clear(),
        }
        self.objects = 0;
        self.bytes = 0;
    }

    /// The objects of the first key strictly after (or before) `from` in this shard's order, or
    /// of its first (last) key if `from` is `None`.
    pub(super) fn step(
        &self,
        from: Option<(u64, &[u8])>,
        direction: Direction,
    ) -> Option<&[Object]> {
        use Bound::{Excluded, Unbounded};
        let found = match &self.map {
            Map::Hash(map) => {
                let from = from.map(|(h, k)| (h, Box::from(k)));
                match (from, direction) {
                    (None, Direction::Forward) => map.iter().next(),
                    (None, Direction::Backward) => map.iter().next_back(),
                    (Some(f), Direction::Forward) => map.range((Excluded(f), Unbounded)).next(),
                    (Some(f), Direction::Backward) => {
                        map.range((Unbounded, Excluded(f))).next_back()
                    }
                }
                .map(|(_, v)| v)
            }
            Map::Ordered(map) => {
                let from = from.map(|(_, k)| OrdKeyRef::new(k));
                match (from, direction) {
                    (None, Direction::Forward) => map.iter().next(),
                    (None, Direction::Backward) => map.iter().next_back(),
                    (Some(f), Direction::Forward) => {
                        map.range::<OrdKeyRef, _>((Excluded(f), Unbounded)).next()
                    }
                    (Some(f), Direction::Backward) => map
                        .range::<OrdKeyRef, _>((Unbounded, Excluded(f)))
                        .next_back(),
                }
                .map(|(_, v)| v)
            }
        };
        found.map(Vec::as_slice)
    }

    pub(super) fn for_each(&self, direction: Direction, f: &mut impl FnMut(&Object)) {
        let mut visit = |objects: &Vec<Object>| objects.iter().for_each(&mut *f);
        match (&self.map, direction) {
            (Map::Hash(map), Direction::Forward) => map.values().for_each(&mut visit),
            (Map::Hash(map), Direction::Backward) => map.values().rev().for_each(&mut visit),
            (Map::Ordered(map), Direction::Forward) => map.values().for_each(&mut visit),
            (Map::Ordered(map), Direction::Backward) => map.values().rev().for_each(&mut visit),
        }
    }
}
