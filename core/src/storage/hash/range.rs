//! Range reads of hash storage: the next keys in traversal order, `(hash, key bytes)`, read
//! with one probe sequence per shard rather than one per key.
//!
//! Keys sit at or after their home slot, home slots follow hash order, and slots never become
//! empty again within an array. So the non-empty slots between two empty ones (a *cluster*)
//! hold keys that all come before every key of a later cluster: a key beyond an empty slot had
//! its home slot beyond it when it was inserted (it would otherwise have taken that slot). A
//! chunk therefore scans forward from the start key's home slot and, at the end of each
//! cluster, sorts the cluster's candidates and visits them: exactly the keys `step` would
//! return one by one, in the same order (for keys written during a chunk, see `last` below).

use std::cmp::Ordering as CmpOrdering;
use std::ops::ControlFlow;

use super::node::Node;
use super::{order, visible_array, HashStorage};
use crate::object::Objects;
use crate::storage::reclaim;
use crate::storage::seqlock::Scratch;
use crate::storage::{Chunk, Start};
use crate::sync::Ordering;

impl HashStorage {
    /// See `Storage::chunk` (hash tables go forward only).
    pub(crate) fn chunk(
        &self,
        start: Start<'_>,
        max_keys: usize,
        mut visit: impl FnMut(&[u8], Objects<'_>) -> ControlFlow<()>,
    ) -> Chunk {
        let mut keys = 0;
        if max_keys == 0 {
            return Chunk {
                keys,
                exhausted: false,
            };
        }
        // The start key, and whether the key itself is included.
        let from = match start {
            Start::First => None,
            Start::After(k) => Some((self.hash_of(k), k, false)),
            Start::At(k) => Some((self.hash_of(k), k, true)),
        };
        let first_shard = from.map_or(0, |(h, _, _)| Self::shard_of(h));
        let guard = self.collector.enter();
        let mut scratch = Scratch::new();
        // The current cluster's candidates: (hash, key, visible node).
        let mut cluster: Vec<(u64, &[u8], *mut Node)> = Vec::new();
        // With one key left to visit (a `step`, or a chunk's last key), only the cluster's first
        // candidate in order matters: kept here as the scan goes, without a vector or a sort
        // (a `next` of a set of 10k keys: 1,191 instructions with them).
        let mut least: Option<(u64, &[u8], *mut Node)> = None;
        // The last key visited. A key written while the scan runs can break the cluster rule
        // above: when the scan read a slot as empty that a writer then filled, a key inserted
        // after that, whose probe went through the filled slot, sits beyond it with a smaller
        // hash than keys already visited. Visiting it would break the order (and a walk
        // resumed after the last key would repeat keys), so a chunk only visits keys after the
        // last one; such a key was inserted during the chunk, which need not return it.
        let mut last: Option<(u64, &[u8])> = None;
        for (i, shard) in self.shards.iter().enumerate().skip(first_shard) {
            let from = from.filter(|_| i == first_shard);
            // SAFETY: everything is loaded through `guard`, which outlives every use below
            // (the keys in `cluster` borrow nodes it protects; it is emptied before the guard
            // drops).
            unsafe {
                let array = visible_array(&guard, shard);
                if array.is_null() {
                    continue;
                }
                let slots = &(*array).slots;
                let mut s = from.map_or(0, |(h, _, _)| (*array).home(h));
                loop {
                    let slot = slots.get(s);
                    s += 1;
                    let h = slot.map_or(0, |slot| slot.hash.load(Ordering::Acquire));
                    if h == 0 {
                        // A cluster ends (or the array): its keys come before any later one.
                        if let Some((_, key, n)) = least.take() {
                            keys += 1;
                            // The last key wanted: the chunk ends whatever `visit` answers.
                            let _ = visit(key, Node::objects_in(n, &mut scratch));
                            return Chunk {
                                keys,
                                exhausted: false,
                            };
                        }
                        cluster.sort_unstable_by(|a, b| order((a.0, a.1), (b.0, b.1)));
                        for (h, key, n) in cluster.drain(..) {
                            if last.is_some_and(|l| order((h, key), l) != CmpOrdering::Greater) {
                                continue;
                            }
                            last = Some((h, key));
                            keys += 1;
                            let flow = visit(key, Node::objects_in(n, &mut scratch));
                            if flow.is_break() || keys == max_keys {
                                return Chunk {
                                    keys,
                                    exhausted: false,
                                };
                            }
                        }
                        if slot.is_none() {
                            break;
                        }
                        continue;
                    }
                    let Some(slot) = slot else { break };
                    if from.is_some_and(|(fh, _, _)| h < fh) {
                        continue;
                    }
                    let n = reclaim::load(&guard, &slot.node);
                    if n.is_null() {
                        continue;
                    }
                    let key = Node::key(n);
                    if let Some((fh, fk, inclusive)) = from {
                        match order((h, key), (fh, fk)) {
                            CmpOrdering::Less => continue,
                            CmpOrdering::Equal if !inclusive => continue,
                            _ => {}
                        }
                    }
                    let v = Node::visible(n, &self.expiry);
                    if v.is_null() {
                        continue;
                    }
                    if max_keys - keys == 1 {
                        let after_last =
                            last.is_none_or(|l| order((h, key), l) == CmpOrdering::Greater);
                        let least_yet = least.is_none_or(|(lh, lk, _)| {
                            order((h, key), (lh, lk)) == CmpOrdering::Less
                        });
                        if after_last && least_yet {
                            least = Some((h, key, v));
                        }
                    } else {
                        cluster.push((h, key, v));
                    }
                }
            }
        }
        Chunk {
            keys,
            exhausted: true,
        }
    }
}

#[cfg(all(test, not(rets_loom)))]
mod tests {
    use std::ops::ControlFlow;

    use super::super::{HashStorage, SHARD_BITS};
    use crate::object::ToObject;
    use crate::storage::Start;
    use crate::term::Term;

    /// Keys `[k]` of shard 0: the home slot (in an array of 8) is `k / 10`, and `k % 10` orders
    /// keys of one home slot.
    fn by_home(key: &[u8]) -> u64 {
        let k = u64::from(key[0]);
        ((k / 10) << (64 - SHARD_BITS - 3)) | ((k % 10) << 8)
    }

    fn put(s: &HashStorage, k: u8) {
        let key = [k];
        let mut txn = s.begin(&[&key]);
        let object = Term::Array(vec![Term::from(i64::from(k))])
            .to_object(1)
            .unwrap();
        txn.replace(&key, object);
        txn.commit();
    }

    #[test]
    fn a_key_written_behind_the_scan_is_not_visited_out_of_order() {
        // All keys wanted (sorted clusters), and only two (the second one the cluster's least,
        // picked without a sort).
        for max_keys in [100, 2] {
            written_behind_the_scan(max_keys);
        }
    }

    fn written_behind_the_scan(max_keys: usize) {
        let s = HashStorage::with_hash_fn(by_home);
        put(&s, 5); // home 0, slot 0
        let mut visited = Vec::new();
        s.chunk(Start::First, max_keys, |key, _| {
            if key == [5] {
                // The scan has read slot 1 as empty: fill it, then write a key that sorts before
                // 5 and, displaced by 5 and 15, lands in slot 2, ahead of the scan.
                put(&s, 15); // home 1, slot 1
                put(&s, 3); // home 0, slot 2
            }
            visited.push(s.hash_of(key));
            ControlFlow::Continue(())
        });
        assert!(
            visited.windows(2).all(|w| w[0] < w[1]),
            "{max_keys} keys wanted: keys visited out of traversal order: hashes {visited:x?}"
        );
        assert_eq!(visited.first(), Some(&s.hash_of(&[5])));
    }
}
