//! The eviction policy: S3-FIFO's admission in front of the storage's SIEVE/CLOCK hand, all of
//! it on the writer's path under the table's room lock.
//!
//! - A new key enters a small probationary FIFO (`small`, of key names; evicted from while it
//!   holds at least 3% of the table). When it leaves that FIFO, it is evicted unless a reader
//!   used it meanwhile (its use count); an evicted key's hash is remembered in a ghost FIFO
//!   (1.15 times as many hashes as the table holds; a hash taken out early leaves a stale slot
//!   there until it reaches the front, so the ghost may remember a little less).
//! - A new key whose hash is a ghost (it was evicted from probation recently and is back) skips
//!   probation: it is in the main region at once.
//! - The main region is the rest of the table, evicted by the storage's hand (CLOCK over the
//!   use counts readers keep, 0 to 4), run whenever the small FIFO is under its share.
//!
//! - Keys are named by their storage hash on hash tables (8 bytes); an ordered_set finds an
//!   object by key, not hash, so its probation keeps a copy of the key (only while the key is on
//!   probation: 3% of the table), and its ghost a hash of the key.
//!
//! So a one-hit wonder (a key written once, never read) leaves after 3% of the table's
//! turnover instead of surviving until the hand reaches it, and a key that comes back is
//! protected. Readers only count uses in the object's header: docs/CACHE.md has the
//! measured comparison with the hand alone, moka and quick_cache.

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

use super::options::Eviction;
use crate::storage::{Hand, Probation, Storage};

/// The small FIFO's share of the table, in thousandths: 3%, quick_cache's cold share (S3-FIFO's
/// paper says 10%; 3% won on every Zipf point and lost a little on OLTP, docs/CACHE.md).
const SMALL_PERMILLE: usize = 30;

/// The ghost's capacity, in thousandths of the table's size: 1.15 times the table (1.0 lost P3
/// at 200,000 by 0.004; 1.25 lost the Zipf traces by 0.001; docs/CACHE.md).
const GHOST_PERMILLE: usize = 1150;

/// Whether `small` keys are at least their share of a table of `size` objects.
fn small_is_full(small: usize, size: usize) -> bool {
    small * 1000 >= size.max(1) * SMALL_PERMILLE
}

/// How probation names a key (see `Storage::probation_name`).
#[derive(Debug, Clone)]
pub(crate) enum Name {
    /// Hash storage: the key's hash, with which the storage finds it.
    Hash(u64),
    /// Ordered storage: the key's canonical bytes.
    Key(Box<[u8]>),
}

impl Name {
    /// What the ghost remembers of the key.
    fn ghost(&self) -> u64 {
        match self {
            Name::Hash(hash) => *hash,
            // A fixed hasher: the ghost only compares keys of one table, in one process.
            Name::Key(key) => BuildHasherDefault::<DefaultHasher>::default().hash_one(key),
        }
    }
}

/// The probationary FIFO, of one kind of name per table (so a hash table's keeps 8 bytes a key).
enum Fifo {
    Hashes(VecDeque<u64>),
    Keys(VecDeque<Box<[u8]>>),
}

impl Fifo {
    fn len(&self) -> usize {
        match self {
            Fifo::Hashes(q) => q.len(),
            Fifo::Keys(q) => q.len(),
        }
    }

    fn push_back(&mut self, name: &Name) {
        match (self, name) {
            (Fifo::Hashes(q), Name::Hash(hash)) => q.push_back(*hash),
            (Fifo::Keys(q), Name::Key(key)) => q.push_back(key.clone()),
            _ => unreachable!("a table names its keys one way"),
        }
    }

    fn pop_front(&mut self) -> Option<Name> {
        match self {
            Fifo::Hashes(q) => q.pop_front().map(Name::Hash),
            Fifo::Keys(q) => q.pop_front().map(Name::Key),
        }
    }
}

/// What the room lock protects: the hand and the admission state.
pub(crate) struct Room {
    hand: Hand,
    /// Keys written new (by their names), oldest first; some may since have gone (skipped
    /// when met).
    small: Fifo,
    ghost: Ghost,
    /// Whether new keys go through probation (S3-FIFO).
    probation: bool,
}

/// Hashes of keys recently evicted from probation, with their order to forget the oldest.
struct Ghost {
    set: HashSet<u64>,
    order: VecDeque<u64>,
}

impl Ghost {
    fn remember(&mut self, hash: u64, capacity: usize) {
        if self.set.insert(hash) {
            self.order.push_back(hash);
        }
        while self.order.len() > capacity.max(1) {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
    }

    /// Whether `hash` is a ghost; forgets it if so (the key is back in the table).
    fn take(&mut self, hash: u64) -> bool {
        // The order keeps the stale entry; it is dropped when it reaches the front.
        self.set.remove(&hash)
    }
}

impl Room {
    pub(crate) fn new(storage: &Storage, eviction: Eviction) -> Room {
        Room {
            hand: storage.new_hand(),
            // As `Storage::probation_name` names keys.
            small: match storage {
                Storage::Hash(_) => Fifo::Hashes(VecDeque::new()),
                Storage::Ordered(_) => Fifo::Keys(VecDeque::new()),
            },
            ghost: Ghost {
                set: HashSet::new(),
                order: VecDeque::new(),
            },
            probation: eviction == Eviction::S3Fifo,
        }
    }

    /// Admits a key about to be written new (by its name, `Storage::probation_name`): into
    /// probation, unless it is a ghost.
    pub(crate) fn admit(&mut self, storage: &Storage, name: &Name) {
        if !self.probation {
            return;
        }
        if !self.ghost.take(name.ghost()) {
            self.small.push_back(name);
        }
        // Keys deleted by users stay listed until met: on a table that does not fill up, drop
        // the oldest beyond its size (they count as admitted to the main region).
        while self.small.len() > storage.size() + 1 {
            self.small.pop_front();
        }
    }

    /// Evicts while `full()`: from probation while the small FIFO is over its share, else by
    /// the storage's hand. Returns `(evicted, expired)` object counts.
    pub(crate) fn evict(
        &mut self,
        storage: &Storage,
        mut full: impl FnMut() -> bool,
    ) -> (usize, usize) {
        let (mut evicted, mut expired) = (0, 0);
        while full() {
            let size = storage.size();
            if small_is_full(self.small.len(), size) {
                let Some(name) = self.small.pop_front() else {
                    break;
                };
                match storage.evict_if_unused(&name) {
                    Probation::Absent | Probation::Used => {}
                    Probation::Expired(n) => expired += n,
                    Probation::Evicted(n) => {
                        evicted += n;
                        self.ghost
                            .remember(name.ghost(), size * GHOST_PERMILLE / 1000);
                    }
                }
                continue;
            }
            let small = &self.small;
            let (e, x) = storage.evict(&mut self.hand, || {
                full() && !small_is_full(small.len(), storage.size())
            });
            evicted += e;
            expired += x;
            if e + x == 0 && !small_is_full(self.small.len(), storage.size()) {
                // Neither the hand nor probation has anything left (an empty table).
                break;
            }
        }
        (evicted, expired)
    }
}
