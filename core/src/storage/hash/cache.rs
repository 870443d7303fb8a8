//! The cache layer's hooks in hash storage: readers' use bits, the removal of expired objects
//! and eviction. Each runs under one shard's mutex at a time, through the same `install` as
//! every writer, so readers see a removed key as any deleted key (one store; the node retired
//! and freed only after every reader that could hold it has left).

use std::ptr;

use super::node::Node;
use super::{Changes, HashStorage, Locks, Txn};
use crate::storage::{count_down, Probation, MAX_USES};
use crate::sync::Ordering;

/// Where the eviction hand stands: a shard and a slot of its array.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Hand {
    shard: usize,
    slot: usize,
}

/// What a sweep does with a node it passes.
enum Verdict {
    Keep,
    Remove,
    Stop,
}

impl HashStorage {
    /// Marks `node` as used since the eviction hand last passed it. Written only if clear, so a
    /// hot node's cache line is not written on every read.
    ///
    /// # Safety
    /// `node` is live (loaded through a guard).
    #[inline]
    pub(super) unsafe fn mark_used(&self, node: *mut Node) {
        // SAFETY: the caller's contract. A node without metadata has neither a deadline to
        // restart nor a table that counts uses.
        let Some(meta) = (unsafe { Node::meta(node) }) else {
            return;
        };
        let uses = meta.recency.load(std::sync::atomic::Ordering::Relaxed);
        if uses < MAX_USES {
            meta.recency
                .store(uses + 1, std::sync::atomic::Ordering::Relaxed);
        }
        // SAFETY: the caller's contract (the node is live).
        self.expiry()
            .touch(&meta.expires_at, || unsafe { Node::end(node) });
    }

    /// Counts the objects of an expired node a writer replaced or removed.
    pub(super) fn count_expired(&self, old: *mut Node) {
        if !old.is_null() {
            // SAFETY: `old` was just unlinked under the shard's mutex and is not retired yet.
            let count = unsafe { (*old).count() } as u64;
            self.expired
                .fetch_add(count, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// A transaction holding shard `i`'s mutex and nothing staged.
    fn lock_shard(&self, i: usize) -> Txn<'_> {
        Txn {
            storage: self,
            locked: Locks::One(i, self.shards[i].state.lock()),
            changes: Changes::Many(Vec::new()),
            index: None,
        }
    }

    /// Removes every expired object; returns how many it removed.
    pub(crate) fn purge_expired(&self) -> usize {
        let mut removed = 0;
        for i in 0..self.shards.len() {
            if self.shards[i].array.load(Ordering::Acquire).is_null() {
                continue;
            }
            let mut txn = self.lock_shard(i);
            txn.sweep(i, 0, |node| {
                // SAFETY: `sweep` passes live nodes (mutex held).
                if self.expiry().is_expired(unsafe { Node::expires_at(node) }) {
                    // SAFETY: as above.
                    removed += unsafe { (*node).count() };
                    Verdict::Remove
                } else {
                    Verdict::Keep
                }
            });
        }
        self.expired
            .fetch_add(removed as u64, std::sync::atomic::Ordering::Relaxed);
        if removed > 0 {
            self.collector.flush();
        }
        removed
    }

    /// Evicts the object whose key has `hash` unless a reader used it since the last look
    /// (then counts that use down): a key leaving probation. A key is named by its hash alone
    /// so that probation keeps 8 bytes per key; two keys sharing all 64 bits would only make
    /// the other one the candidate, which eviction may take anyway.
    pub(crate) fn evict_if_unused(&self, hash: u64) -> Probation {
        let i = Self::shard_of(hash);
        let mut txn = self.lock_shard(i);
        let array = self.shards[i].array.load(Ordering::Acquire);
        // SAFETY: we hold the shard's mutex: its array and nodes stay live until we retire them.
        let Some(array) = (unsafe { array.as_ref() }) else {
            return Probation::Absent;
        };
        // SAFETY: as above (mutex held).
        let Some(slot) = (unsafe { array.find_hash(hash) }) else {
            return Probation::Absent;
        };
        let node = array.slots[slot].node.load(Ordering::Acquire);
        // SAFETY: `find_hash` returned the slot of a live node (mutex held).
        let (count, meta) = unsafe { ((*node).count(), Node::meta(node)) };
        // SAFETY: as above.
        let expired = self.expiry().is_expired(unsafe { Node::expires_at(node) });
        let used =
            meta.is_some_and(|m| m.recency.swap(0, std::sync::atomic::Ordering::Relaxed) != 0);
        if !expired && used {
            return Probation::Used;
        }
        // SAFETY: the node is live until retired below; its key is read in place.
        let key = unsafe { Node::key(node) };
        let old = txn.install(hash, key, Some((slot, node)), ptr::null_mut());
        debug_assert_eq!(old, node);
        // SAFETY: `install` unlinked `old` (mutex held); retired once.
        unsafe { self.collector.retire(old) };
        if expired {
            self.expired
                .fetch_add(count as u64, std::sync::atomic::Ordering::Relaxed);
            Probation::Expired(count)
        } else {
            Probation::Evicted(count)
        }
    }

    /// Moves the eviction hand until `full()` is false, removing expired objects it passes and
    /// evicting the first object not used since the hand last passed it (clearing the use bit
    /// of the others): CLOCK/SIEVE over the slot arrays. Returns `(evicted, expired)` object
    /// counts. After a full turn without a victim (readers set the bits faster than the hand
    /// clears them), the hand takes the next object whatever its bit, so eviction always
    /// progresses; it gives up only on an empty table.
    pub(crate) fn evict(&self, hand: &mut Hand, mut full: impl FnMut() -> bool) -> (usize, usize) {
        let (mut evicted, mut expired) = (0, 0);
        let mut idle_shards = 0;
        while full() && idle_shards <= 3 * self.shards.len() {
            let force = idle_shards > self.shards.len();
            let i = hand.shard;
            let mut removed = false;
            let mut stop_next = false;
            let stopped = if self.shards[i].array.load(Ordering::Acquire).is_null() {
                None
            } else {
                let mut txn = self.lock_shard(i);
                txn.sweep(i, hand.slot, |node| {
                    if stop_next {
                        return Verdict::Stop;
                    }
                    // SAFETY: `sweep` passes live nodes (mutex held).
                    let (count, meta) = unsafe { ((*node).count(), Node::meta(node)) };
                    // SAFETY: as above.
                    if self.expiry().is_expired(unsafe { Node::expires_at(node) }) {
                        expired += count;
                        removed = true;
                        return Verdict::Remove;
                    }
                    if !force && meta.is_some_and(|m| count_down(&m.recency)) {
                        return Verdict::Keep;
                    }
                    evicted += count;
                    removed = true;
                    // One victim per look at `full`.
                    stop_next = true;
                    Verdict::Remove
                })
            };
            match stopped {
                Some(slot) => hand.slot = slot,
                None => {
                    hand.shard = (hand.shard + 1) % self.shards.len();
                    hand.slot = 0;
                }
            }
            idle_shards = if removed { 0 } else { idle_shards + 1 };
        }
        self.expired
            .fetch_add(expired as u64, std::sync::atomic::Ordering::Relaxed);
        (evicted, expired)
    }
}

impl Txn<'_> {
    /// Walks the locked shard `shard`'s current array from slot `start`, removing the nodes
    /// `judge` says to, until it says stop (returns that slot) or the array ends (`None`).
    fn sweep(
        &mut self,
        shard: usize,
        start: usize,
        mut judge: impl FnMut(*mut Node) -> Verdict,
    ) -> Option<usize> {
        let storage = self.storage;
        let mut i = start;
        loop {
            let array = storage.shards[shard].array.load(Ordering::Acquire);
            // SAFETY: we hold the shard's mutex: its array and nodes stay live (a removal that
            // empties the shard retires the array, which the next turn sees as null).
            let array = unsafe { array.as_ref() }?;
            let slot = array.slots.get(i)?;
            let node = slot.node.load(Ordering::Acquire);
            i += 1;
            if node.is_null() {
                continue;
            }
            match judge(node) {
                Verdict::Keep => {}
                Verdict::Stop => return Some(i - 1),
                Verdict::Remove => {
                    let hash = slot.hash.load(Ordering::Acquire);
                    // SAFETY: the node is live until retired below; its key is read in place.
                    let key = unsafe { Node::key(node) };
                    let old = self.install(hash, key, Some((i - 1, node)), ptr::null_mut());
                    debug_assert_eq!(old, node);
                    // SAFETY: `install` unlinked `old` (mutex held); retired once.
                    unsafe { storage.collector.retire(old) };
                }
            }
        }
    }
}
