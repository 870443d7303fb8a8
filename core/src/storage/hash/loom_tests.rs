//! loom models of the hash storage's lock-free protocols. Run by `ci/loom`
//! (`RUSTFLAGS="--cfg rets_loom" cargo test -p rets-core --lib loom`).
//!
//! Readers run in spawned threads and writers in the model's main thread: loom's exploration
//! (DPOR) finds a reader's load racing with a store reliably when the store comes first in the
//! initial schedule; a writer that loads before it stores would hide an earlier reader's load.
//!
//! Under `rets_loom` a table has 2 shards and arrays of 2 home slots (plus a tail of 2), so a
//! third key in a shard forces a resize, and the models pick keys' hashes to force collisions,
//! probe displacement and tombstones. Reclamation is loom's stand-in for seize (see
//! `storage::reclaim`): a retired node, array or batch is freed as soon as no guard is active,
//! so a reader that can still reach something retired reads freed memory, which makes the
//! model fail (docs/ARCHITECTURE.md, *Verification*). Besides that, the models check what
//! readers see, in which order.

use loom::sync::Arc;
use loom::thread;

use super::HashStorage;
use crate::object::{Object, ToObject};
use crate::storage::InPlace;
use crate::term::Term;

/// A key: a small integer (canonical msgpack is the integer byte).
fn key(k: u8) -> [u8; 1] {
    assert!(k < 0x80);
    [k]
}

/// Hashes keys 0..=63 into shard 0 and keys 64..=127 into shard 1, all with home slot 0 in any
/// small array: every key of a shard collides with the others.
fn colliding(key: &[u8]) -> u64 {
    let k = u64::from(key[0]);
    ((k / 64) << 63) | ((k + 1) << 8)
}

fn object(k: u8, v: i64) -> Object {
    Term::Array(vec![Term::from(i64::from(k)), Term::from(v)])
        .to_object(1)
        .unwrap()
}

fn storage() -> HashStorage {
    HashStorage::with_hash_fn(colliding)
}

/// Sets `k` to `v` (one key: a single store).
fn put(s: &HashStorage, k: u8, v: i64) {
    let k_bytes = key(k);
    let mut txn = s.begin(&[&k_bytes]);
    txn.replace(&k_bytes, object(k, v));
    txn.commit();
}

fn delete(s: &HashStorage, k: u8) {
    let k_bytes = key(k);
    let mut txn = s.begin(&[&k_bytes]);
    txn.update(&k_bytes, Vec::clear);
    txn.commit();
}

/// Sets every key of `kvs` in one transaction (a batch when there are several).
fn put_many(s: &HashStorage, kvs: &[(u8, i64)]) {
    let keys: Vec<[u8; 1]> = kvs.iter().map(|(k, _)| key(*k)).collect();
    let refs: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
    let mut txn = s.begin(&refs);
    for (k, v) in kvs {
        txn.replace(&key(*k), object(*k, *v));
    }
    txn.commit();
}

/// The value of `k` (None if absent), checking the object is whole.
fn get(s: &HashStorage, k: u8) -> Option<i64> {
    s.read(&key(k), |objects| {
        let all: Vec<_> = objects.collect();
        assert!(all.len() <= 1, "a set key has at most one object");
        all.first().map(|o| {
            assert_eq!(o.key_msgpack(), &key(k));
            o.element(2).unwrap().as_i64().unwrap()
        })
    })
}

/// Every key by first/next.
fn traverse(s: &HashStorage) -> Vec<u8> {
    let mut keys = Vec::new();
    let mut at = s.step(None, |_| ());
    while let Some((k, ())) = at {
        let byte = k.as_msgpack()[0];
        assert!(!keys.contains(&byte), "traversal returned {byte} twice");
        keys.push(byte);
        at = s.step(Some(k.as_msgpack()), |_| ());
    }
    keys
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(f);
}

/// Runs `read` in a spawned thread while the main thread runs `write`, then `after`.
fn race<T: Send + 'static>(
    s: Arc<HashStorage>,
    read: impl FnOnce(&HashStorage) -> T + Send + 'static,
    write: impl FnOnce(&HashStorage),
) -> T {
    let reader = {
        let s = s.clone();
        thread::spawn(move || read(&s))
    };
    write(&s);
    reader.join().unwrap()
}

#[test]
fn loom_insert_update_delete_race_with_lookup() {
    model(|| {
        let s = Arc::new(storage());
        put(&s, 1, 10);
        let (a, b, c, d) = race(
            s.clone(),
            |s| (get(s, 1), get(s, 1), get(s, 2), get(s, 1)),
            |s| {
                put(s, 1, 20);
                delete(s, 1);
                put(s, 2, 30);
            },
        );
        // Values of key 1 go 10 -> 20 -> absent, never back; key 2 appears after key 1 is gone.
        let rank = |v: Option<i64>| match v {
            Some(10) => 0,
            Some(20) => 1,
            None => 2,
            Some(other) => panic!("unexpected value {other}"),
        };
        assert!(
            rank(a) <= rank(b) && rank(b) <= rank(d),
            "{a:?} {b:?} {d:?}"
        );
        if c.is_some() {
            assert_eq!(d, None, "key 2 is inserted after key 1 is deleted");
        }
        assert_eq!((get(&s, 1), get(&s, 2)), (None, Some(30)));
        assert_eq!(s.size(), 1);
    });
}

#[test]
fn loom_concurrent_writers_on_one_shard_lose_nothing() {
    model(|| {
        let s = Arc::new(storage());
        let other = {
            let s = s.clone();
            thread::spawn(move || put(&s, 2, 2))
        };
        put(&s, 1, 1);
        other.join().unwrap();
        assert_eq!((get(&s, 1), get(&s, 2)), (Some(1), Some(2)));
        assert_eq!(s.size(), 2);
    });
}

#[test]
fn loom_resize_during_reads_never_hides_a_stable_key() {
    model(|| {
        let s = Arc::new(storage());
        put(&s, 1, 1);
        let (a, three, two, b) = race(
            s.clone(),
            |s| (get(s, 1), get(s, 3), get(s, 2), get(s, 1)),
            // Two more colliding keys in the same shard: the array of 2 home slots grows.
            |s| {
                put(s, 2, 2);
                put(s, 3, 3);
            },
        );
        assert_eq!((a, b), (Some(1), Some(1)));
        if three.is_some() {
            assert_eq!(two, Some(2), "2 was inserted before 3");
        }
        assert_eq!(traverse(&s), vec![1, 2, 3]);
    });
}

#[test]
fn loom_update_during_resize_is_not_lost() {
    model(|| {
        let s = Arc::new(storage());
        put(&s, 1, 1);
        put(&s, 2, 2);
        let updater = {
            let s = s.clone();
            thread::spawn(move || put(&s, 1, 100))
        };
        put(&s, 3, 3); // grows the shard's array
        updater.join().unwrap();
        assert_eq!(
            (get(&s, 1), get(&s, 2), get(&s, 3)),
            (Some(100), Some(2), Some(3))
        );
    });
}

#[test]
fn loom_tombstones_never_cut_a_probe_short() {
    model(|| {
        let s = Arc::new(storage());
        // 1 and 2 collide: 2 sits after 1. Deleting 1 leaves a tombstone in front of 2, and
        // putting 1 back reuses it.
        put(&s, 1, 1);
        put(&s, 2, 2);
        let (a, one, b) = race(
            s.clone(),
            |s| (get(s, 2), get(s, 1), get(s, 2)),
            |s| {
                delete(s, 1);
                put(s, 1, 11);
            },
        );
        assert_eq!((a, b), (Some(2), Some(2)));
        assert!(matches!(one, Some(1) | None | Some(11)));
        assert_eq!((get(&s, 1), get(&s, 2)), (Some(11), Some(2)));
    });
}

#[test]
fn loom_multi_key_write_is_all_or_nothing() {
    model(|| {
        let s = Arc::new(storage());
        // Key 1 is in shard 0, key 65 in shard 1; a second list rewrites both and adds 2.
        put_many(&s, &[(1, 1), (65, 1)]);
        let (a, b, c, d) = race(
            s.clone(),
            |s| (get(s, 1), get(s, 65), get(s, 2), get(s, 1)),
            |s| put_many(s, &[(1, 2), (65, 2), (2, 2)]),
        );
        // Once a reader has seen generation 2 of one key it sees generation 2 of the others.
        if a == Some(2) {
            assert_eq!((b, c), (Some(2), Some(2)));
        }
        if b == Some(2) {
            assert_eq!((c, d), (Some(2), Some(2)));
        }
        if c == Some(2) {
            assert_eq!(d, Some(2));
        }
        assert!(b.is_some() && a.is_some(), "never absent");
        assert_eq!(
            (get(&s, 1), get(&s, 65), get(&s, 2)),
            (Some(2), Some(2), Some(2))
        );
    });
}

#[test]
fn loom_clear_is_all_or_nothing() {
    model(|| {
        let s = Arc::new(storage());
        put_many(&s, &[(1, 1), (65, 1)]);
        let (a, b, c) = race(
            s.clone(),
            |s| (get(s, 1), get(s, 65), get(s, 1)),
            |s| s.clear(),
        );
        if a.is_none() {
            assert_eq!(
                (b, c),
                (None, None),
                "a cleared shard means every shard is cleared"
            );
        }
        if b.is_none() {
            assert_eq!(c, None);
        }
        assert_eq!((get(&s, 1), get(&s, 65), s.size()), (None, None, 0));
    });
}

#[test]
fn loom_traversal_during_deletes_and_inserts() {
    model(|| {
        let s = Arc::new(storage());
        put(&s, 1, 1);
        put(&s, 2, 2);
        put(&s, 65, 65);
        // Keys present throughout (1 and 65) are always seen; none is seen twice (checked in
        // `traverse`).
        let keys = race(s.clone(), traverse, |s| {
            delete(s, 2);
            put(s, 3, 3); // grows shard 0's array
            put(s, 2, 22);
        });
        assert!(keys.contains(&1) && keys.contains(&65), "{keys:?}");
        assert_eq!(traverse(&s).len(), 4);
    });
}

/// Every key by one chunk: one scan per shard, all under one guard.
fn chunk_all(s: &HashStorage) -> Vec<u8> {
    let mut keys: Vec<u8> = Vec::new();
    let chunk = s.chunk(crate::storage::Start::First, 100, |k, objects| {
        assert!(objects.len() > 0, "a visited key has objects");
        assert!(!keys.contains(&k[0]), "chunk returned {} twice", k[0]);
        keys.push(k[0]);
        std::ops::ControlFlow::Continue(())
    });
    assert!(chunk.exhausted && chunk.keys == keys.len());
    keys
}

/// A chunk of the whole table (its cluster sorted as the scan leaves it) while keys are deleted
/// and inserted and shard 0's array grows: keys present throughout are seen, none twice, in
/// traversal order (here, by key: shard 0's, then shard 1's).
#[test]
fn loom_chunk_during_deletes_inserts_and_a_resize() {
    model(|| {
        let s = Arc::new(storage());
        put(&s, 1, 1);
        put(&s, 2, 2);
        put(&s, 65, 65);
        let keys = race(s.clone(), chunk_all, |s| {
            delete(s, 2);
            put(s, 3, 3); // grows shard 0's array
            put(s, 2, 22);
        });
        assert!(keys.contains(&1) && keys.contains(&65), "{keys:?}");
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
        assert_eq!(chunk_all(&s), [1, 2, 3, 65]);
    });
}

#[test]
fn loom_next_of_a_deleted_key_continues_after_it() {
    model(|| {
        let s = Arc::new(storage());
        put(&s, 1, 1);
        put(&s, 2, 2);
        put(&s, 65, 65);
        let first = s.step(None, |_| ()).unwrap().0;
        let first_byte = first.as_msgpack()[0];
        // From a key that may be gone, the traversal goes on without repeating it.
        let seen = race(
            s.clone(),
            move |s| {
                let mut seen = vec![first.as_msgpack()[0]];
                let mut at = s.step(Some(first.as_msgpack()), |_| ());
                while let Some((k, ())) = at {
                    assert!(!seen.contains(&k.as_msgpack()[0]));
                    seen.push(k.as_msgpack()[0]);
                    at = s.step(Some(k.as_msgpack()), |_| ());
                }
                seen
            },
            |s| delete(s, first_byte),
        );
        assert_eq!(seen.len(), 3);
    });
}

#[test]
fn loom_clear_while_a_reader_holds_objects() {
    model(|| {
        let s = Arc::new(storage());
        put_many(&s, &[(1, 1), (65, 1)]);
        // The reader holds a guard and borrows the objects while the table is cleared and
        // written again; what it sees stays whole.
        race(
            s.clone(),
            |s| {
                s.read(&key(1), |objects| {
                    for o in objects {
                        assert_eq!(o.key_msgpack(), &key(1));
                        let v = o.element(2).unwrap().as_i64();
                        assert!(matches!(v, Some(1 | 2)), "{v:?}");
                    }
                })
            },
            |s| {
                s.clear();
                put(s, 1, 2);
            },
        );
        drop(s); // frees what is left and everything retired, after the reader is done
    });
}

// Table deletion and owner close racing readers (through the public API) are modelled with the
// rest of the lifecycle layer in core/src/owner/loom_tests.rs.

/// Stores `k` as a counter of value `v` (a node whose object changes in place).
fn put_counter(s: &HashStorage, k: u8, v: i64) {
    let k_bytes = key(k);
    let mut txn = s.begin(&[&k_bytes]);
    txn.replace_changeable(&k_bytes, object(k, v));
    txn.commit();
}

/// Overwrites bytes of counter `k`'s object from `at` in place; returns whether the storage
/// took the edit.
fn overwrite(s: &HashStorage, k: u8, at: usize, bytes: &[u8]) -> bool {
    let k_bytes = key(k);
    let mut txn = s.begin(&[&k_bytes]);
    let done = txn.overwrite(&k_bytes, &[(at, bytes)]);
    txn.commit();
    done
}

/// A counter changed in place, then rebuilt (a wider value: a new node, the old one retired
/// while a reader may be copying it), changed in place again, then deleted: the reader sees
/// the values in write order, each whole, and never a freed node. (The object bytes are copied
/// with std atomics, which loom does not see; the seqlock's own model is in
/// `storage::seqlock`.)
#[test]
fn loom_counter_changed_in_place_then_replaced_races_with_lookup() {
    model(|| {
        let s = Arc::new(storage());
        put_counter(&s, 1, 10);
        let (a, b) = race(
            s.clone(),
            |s| (get(s, 1), get(s, 1)),
            |s| {
                // `[1, 10]` is 0x92 0x01 0x0a: the value is the third byte.
                assert!(
                    overwrite(s, 1, 2, &[11]),
                    "a stored counter changes in place"
                );
                put_counter(s, 1, 1000);
                // `[1, 1000]` is 0x92 0x01 0xcd 0x03 0xe8: the value's two bytes from the fourth.
                assert!(overwrite(s, 1, 3, &1001u16.to_be_bytes()));
                delete(s, 1);
            },
        );
        let order = [Some(10), Some(11), Some(1000), Some(1001), None];
        let at = |v| {
            order
                .iter()
                .position(|o| *o == v)
                .expect("a value that was written")
        };
        assert!(at(a) <= at(b), "{a:?} then {b:?}");
        assert_eq!(get(&s, 1), None);
    });
}

/// Adds `incr` to counter `k` in place without the shard's mutex
/// (`HashStorage::change_in_place`), if its node allows and the value keeps its one-byte
/// encoding (values below 128); returns the new value, or `None` if it did not.
fn add_in_place(s: &HashStorage, k: u8, incr: i64) -> Option<i64> {
    let mut new = 0i64;
    s.change_in_place(
        &key(k),
        &mut new,
        |new, object| {
            *new = object.element(2).unwrap().as_i64().unwrap() + incr;
            if (0..128).contains(new) {
                InPlace::Write(())
            } else {
                InPlace::GiveUp
            }
        },
        // `[k, v]` is 0x92 k v: the value is the third byte.
        |new, write| write(&[(2, &[*new as u8])]),
    )
    .map(|()| new)
}

/// Adds `incr` to counter `k` in a transaction: reads it under the shard's mutex and stores a
/// new node (the way of an update that changes a counter's width); returns the new value.
fn add_rebuilt(s: &HashStorage, k: u8, incr: i64) -> i64 {
    let k_bytes = key(k);
    let mut txn = s.begin(&[&k_bytes]);
    let v = txn
        .get(&k_bytes)
        .next()
        .unwrap()
        .element(2)
        .unwrap()
        .as_i64()
        .unwrap()
        + incr;
    txn.replace_changeable(&k_bytes, object(k, v));
    txn.commit();
    v
}

/// An update in place without the shard's mutex racing a transaction that reads the counter
/// and replaces its node: neither update is lost. The in-place writer either goes first (the
/// transaction, which locks the node when it finds it, waits and reads its result) or finds
/// the node replaced when it looks again under the node's lock, and gives up (then it updates
/// through a transaction). Fails without that second look (the add lands in the retired node:
/// 110), and without the transaction's node lock (the transaction reads 10 before the add and
/// publishes 110).
#[test]
fn loom_counter_changed_without_the_mutex_loses_no_update_to_a_rebuild() {
    model(|| {
        let s = Arc::new(storage());
        put_counter(&s, 1, 10);
        let added = race(
            s.clone(),
            |s| add_in_place(s, 1, 1).unwrap_or_else(|| add_rebuilt(s, 1, 1)),
            |s| {
                add_rebuilt(s, 1, 100);
            },
        );
        assert!(added == 11 || added == 111, "{added}");
        assert_eq!(get(&s, 1), Some(111), "an update was lost");
    });
}

/// Two updates in place without the shard's mutex: both land (the node's lock serializes
/// them). (Readers against such a writer: `loom_counter_changed_in_place_then_replaced_races_with_lookup`
/// and the sequence lock's own model.)
#[test]
fn loom_counters_changed_without_the_mutex_by_two_writers() {
    model(|| {
        let s = Arc::new(storage());
        put_counter(&s, 1, 10);
        let writer = {
            let s = s.clone();
            thread::spawn(move || add_in_place(&s, 1, 1))
        };
        let mine = add_in_place(&s, 1, 2);
        let theirs = writer.join().unwrap();
        let mut results = [mine.unwrap(), theirs.unwrap()];
        results.sort_unstable();
        assert!(results == [12, 13] || results == [11, 13], "{results:?}");
        assert_eq!(get(&s, 1), Some(13));
    });
}

/// An update in place without the shard's mutex racing the counter's deletion and a new
/// counter under the same key: the update lands in the old node before the deletion (and is
/// gone with it), or in the new node, or gives up; never after the deletion in the old node,
/// and never in freed memory (the guard keeps a node it found allocated).
#[test]
fn loom_counter_changed_without_the_mutex_races_a_delete() {
    model(|| {
        let s = Arc::new(storage());
        put_counter(&s, 1, 10);
        let added = race(
            s.clone(),
            |s| add_in_place(s, 1, 1),
            |s| {
                delete(s, 1);
                put_counter(s, 1, 50);
            },
        );
        let last = get(&s, 1);
        match added {
            Some(11) | None => assert_eq!(last, Some(50)),
            Some(51) => assert_eq!(last, Some(51)),
            other => panic!("{other:?}"),
        }
    });
}

/// A shard whose last key is removed publishes its counts before its array goes: a purge skips
/// a shard without an array without taking its mutex, so a rejecting table's write that purged
/// and then looked at the size again counted the removed key, and refused a write with room
/// (found by the `table_cache` fuzz target). Fails with the array swapped out first.
#[test]
fn loom_a_purge_that_finds_a_shard_emptied_sees_its_count() {
    model(|| {
        let s = Arc::new(storage());
        put(&s, 1, 1);
        let (gone, size) = race(
            s.clone(),
            |s| {
                s.purge_expired();
                let gone = s.shards[0]
                    .array
                    .load(crate::sync::Ordering::Acquire)
                    .is_null();
                (gone, s.size())
            },
            |s| delete(s, 1),
        );
        if gone {
            assert_eq!(
                size, 0,
                "a shard without an array still counted its removed key"
            );
        }
    });
}
