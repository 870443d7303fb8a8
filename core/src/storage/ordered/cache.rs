//! The cache layer's hooks in ordered storage: the removal of expired objects and eviction.
//! Both remove through ordinary write transactions, so readers see an evicted or expired key
//! go as any deleted key (one root swap; the entry freed after every reader left).

use std::sync::atomic::Ordering as AtomicOrdering;

use super::entry::{key_of, recency_of};
use super::{reclaim, step, OrderedStorage, Txn};
use crate::storage::{count_down, Direction, Probation};
use crate::term;

/// Where the eviction hand stands: the last key it passed (`None`: the start).
#[derive(Debug, Default, Clone)]
pub(crate) struct Hand(Option<Box<[u8]>>);

/// What the hand found at one step.
enum Seen {
    End,
    Expired(Box<[u8]>),
    Used(Box<[u8]>),
    Victim(Box<[u8]>),
}

impl OrderedStorage {
    /// Counts objects a writer removed or replaced after they expired.
    pub(super) fn count_expired(&self, n: u64) {
        self.expired.fetch_add(n, AtomicOrdering::Relaxed);
    }

    /// Removes every expired object; returns how many it removed.
    pub(crate) fn purge_expired(&self) -> usize {
        let mut keys: Vec<Box<[u8]>> = Vec::new();
        {
            let guard = self.collector.enter();
            let root = reclaim::load(&guard, &self.root);
            // SAFETY: `root` was loaded under `guard`, which outlives the walk.
            unsafe {
                super::walk(root.cast(), false, Direction::Forward, &mut |p| {
                    if !self.live(p) {
                        keys.push(key_of(p).into());
                    }
                })
            };
        }
        if keys.is_empty() {
            // The walk may have seen keys gone that another writer (the sweeper's purge) has
            // not counted yet: a multi-key commit stores its new tree, then counts, under its
            // locks. Taking them waits for it, so that a caller that looks at `size` next (a
            // rejecting write, `Bounds::make_room`) sees every removal this walk saw.
            drop(self.lock_all());
            return 0;
        }
        let refs: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
        let removed = self.write(&refs, |mut txn| {
            let mut removed = 0;
            for key in &refs {
                // Re-checked under the lock: the key may have been written again since.
                if txn.is_expired(key) {
                    txn.remove(key);
                    removed += 1;
                }
            }
            removed
        });
        self.collector.flush();
        removed
    }

    /// The entry after the hand, judged (see [`OrderedStorage::evict`]).
    fn look(&self, hand: &Hand, force: bool) -> Seen {
        let guard = self.collector.enter();
        let root = reclaim::load(&guard, &self.root);
        let from = hand.0.as_deref().map(|k| (term::order_prefix(k), k));
        // SAFETY: `root` was loaded under `guard`, which outlives every use below.
        unsafe {
            let Some(p) = step(root, from, Direction::Forward) else {
                return Seen::End;
            };
            let key: Box<[u8]> = key_of(p).into();
            if !self.live(p) {
                Seen::Expired(key)
            } else if !force && count_down(recency_of(p)) {
                Seen::Used(key)
            } else {
                Seen::Victim(key)
            }
        }
    }

    /// Moves the eviction hand (in key order, wrapping) until `full()` is false, removing
    /// expired objects it passes and evicting the first object not used since the hand last
    /// passed it (clearing the use bit of the others): SIEVE/CLOCK. Returns `(evicted, expired)`.
    /// After a full turn without a victim, the hand takes the next object whatever its bit;
    /// it gives up only on an empty table.
    pub(crate) fn evict(&self, hand: &mut Hand, mut full: impl FnMut() -> bool) -> (usize, usize) {
        let (mut evicted, mut expired) = (0, 0);
        let mut idle = 0usize;
        while full() && idle <= 3 * self.size() + 3 {
            let force = idle > self.size() + 1;
            match self.look(hand, force) {
                Seen::End => {
                    hand.0 = None;
                    idle += 1;
                }
                Seen::Used(key) => {
                    hand.0 = Some(key);
                    idle += 1;
                }
                Seen::Expired(key) => {
                    if self.remove_if(&key, |txn, k| txn.is_expired(k)) {
                        expired += 1;
                        idle = 0;
                    }
                    hand.0 = Some(key);
                }
                Seen::Victim(key) => {
                    if self.remove_if(&key, |txn, k| txn.get(k).len() > 0) {
                        evicted += 1;
                        idle = 0;
                    }
                    hand.0 = Some(key);
                }
            }
        }
        (evicted, expired)
    }

    /// Evicts the object under `key` unless a reader used it since it was written (then clears
    /// its use count): a key leaving probation. An expired object is removed as such (the
    /// commit counts it).
    pub(crate) fn evict_if_unused(&self, key: &[u8]) -> Probation {
        self.write(&[key], |mut txn| {
            let staged = txn.stage(key);
            let (original, expired) = (staged.original, staged.expired);
            if original.is_null() {
                return Probation::Absent;
            }
            if !expired {
                // SAFETY: `original` stays in the tree, alive, while the transaction runs (the
                // writers' lock is held).
                let uses = unsafe { recency_of(original) };
                if uses.swap(0, AtomicOrdering::Relaxed) != 0 {
                    return Probation::Used;
                }
            }
            txn.remove(key);
            if expired {
                Probation::Expired(1)
            } else {
                Probation::Evicted(1)
            }
        })
    }

    /// Removes `key` if `check` (run under the write lock) says so.
    fn remove_if(&self, key: &[u8], check: impl FnOnce(&mut Txn<'_, '_>, &[u8]) -> bool) -> bool {
        self.write(&[key], |mut txn| {
            let remove = check(&mut txn, key);
            if remove {
                txn.remove(key);
            }
            remove
        })
    }
}

impl Txn<'_, '_> {
    /// Whether `key`'s stored object has expired.
    pub(super) fn is_expired(&mut self, key: &[u8]) -> bool {
        let staged = self.stage(key);
        staged.expired && staged.next.is_none()
    }
}
