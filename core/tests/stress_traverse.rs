//! Chunked traversal under concurrent writers, on a set, a bag and an ordered_set: writers
//! insert and delete a churning key space (growing and shrinking the hash arrays, splitting and
//! merging the tree), replace the objects of stable keys and write pairs of keys atomically,
//! while readers traverse the whole table by chunks of random sizes and check the guarantees:
//! no key twice, every stable key exactly once (with an object it really held), term order on
//! the ordered_set, and both keys of an atomic pair or neither within one ordered_set chunk.

use std::collections::HashSet;
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rets_core::{term, tuple, Key, Owner, Table, TableOptions, TableType, Term};

mod common;
use common::Rng;

/// Stable keys: 0..STABLE, always present (their second element changes).
const STABLE: i64 = 2_000;
/// Churning keys: STABLE..STABLE + CHURN, inserted and deleted all the time.
const CHURN: i64 = 20_000;
/// Pairs of keys -1 - 2p and -2 - 2p, written together by one atomic list insert (both keys
/// appear at once, and always hold the same value).
const PAIRS: i64 = 200;

fn run_for() -> Duration {
    Duration::from_millis(if cfg!(debug_assertions) { 1_500 } else { 3_000 })
}

fn pair_keys(p: i64) -> (i64, i64) {
    (-1 - 2 * p, -2 - 2 * p)
}

fn writer(t: Table, stop: Arc<AtomicBool>, seed: u64) {
    let mut rng = Rng(seed);
    while !stop.load(Ordering::Relaxed) {
        match rng.below(10) {
            0..=3 => {
                let k = STABLE + rng.below(CHURN as u64) as i64;
                t.insert(tuple!(k, 1)).unwrap();
            }
            4..=6 => {
                let k = STABLE + rng.below(CHURN as u64) as i64;
                t.delete(k).unwrap();
            }
            7 | 8 => {
                let k = rng.below(STABLE as u64) as i64;
                if t.table_type() == TableType::Bag {
                    // A bag keeps the stable object and gains or loses a second one.
                    if rng.below(2) == 0 {
                        t.insert(tuple!(k, -1)).unwrap();
                    } else {
                        t.delete_object(tuple!(k, -1)).unwrap();
                    }
                } else {
                    t.insert(tuple!(k, rng.below(1000) as i64)).unwrap();
                }
            }
            _ => {
                // Both keys of a pair, with one value, in one atomic write.
                let (a, b) = pair_keys(rng.below(PAIRS as u64) as i64);
                let v = rng.below(1000) as i64;
                t.insert_many([tuple!(a, v), tuple!(b, v)]).unwrap();
            }
        }
    }
}

/// One whole traversal by chunks of random sizes; returns the keys in the order seen.
fn traverse(t: &Table, rng: &mut Rng) -> Vec<Term> {
    let ordered = t.table_type() == TableType::OrderedSet;
    let mut seen: Vec<Term> = Vec::new();
    let mut after: Option<Key> = None;
    loop {
        let n = 1 + rng.below(200) as usize;
        let mut last: Option<Key> = None;
        let mut chunk_keys: Vec<Term> = Vec::new();
        let mut values = std::collections::HashMap::new();
        let start = after.as_ref().map_or(Bound::Unbounded, Bound::Excluded);
        let got = t
            .chunk_with(start, n, false, |key, objects| {
                let key_term = Key::from_msgpack(key).unwrap().to_term();
                let k = key_term.as_i64().unwrap();
                let objects: Vec<_> = objects.collect();
                assert!(!objects.is_empty(), "a visited key has objects");
                for o in &objects {
                    assert_eq!(o.key_msgpack(), key, "an object under its own key");
                    let v = o.element(2).unwrap().as_i64().unwrap();
                    values.insert(k, v);
                    if (0..STABLE).contains(&k) && t.table_type() != TableType::Bag {
                        assert!((0..1000).contains(&v), "a value that was written: {v}");
                    }
                }
                chunk_keys.push(key_term);
                last = Some(Key::from_msgpack(key).unwrap());
            })
            .unwrap();
        assert_eq!(got, chunk_keys.len());
        if ordered {
            // One chunk reads one tree: an atomic pair inside it is there whole, with one
            // value, or not at all.
            let lo = chunk_keys.first().map(|k| k.as_i64().unwrap());
            let hi = chunk_keys.last().map(|k| k.as_i64().unwrap());
            let inside = |k: i64| lo.is_some_and(|lo| k >= lo) && hi.is_some_and(|hi| k <= hi);
            for p in 0..PAIRS {
                let (a, b) = pair_keys(p);
                if inside(a) && inside(b) {
                    assert_eq!(
                        values.get(&a),
                        values.get(&b),
                        "pair {p} torn within one chunk"
                    );
                }
            }
        }
        seen.extend(chunk_keys);
        if got < n {
            return seen;
        }
        after = last;
    }
}

fn check(t: &Table, seen: &[Term]) {
    let mut distinct = HashSet::new();
    for k in seen {
        assert!(distinct.insert(k.as_i64().unwrap()), "key {k} seen twice");
    }
    for k in 0..STABLE {
        assert!(distinct.contains(&k), "stable key {k} missed");
    }
    if t.table_type() == TableType::OrderedSet {
        for w in seen.windows(2) {
            let (a, b) = (
                Key::new(w[0].clone()).unwrap(),
                Key::new(w[1].clone()).unwrap(),
            );
            assert_eq!(
                term::compare(a.as_msgpack(), b.as_msgpack()),
                std::cmp::Ordering::Less,
                "out of order: {} then {}",
                w[0],
                w[1]
            );
        }
    }
}

fn stress(table_type: TableType) {
    let owner = Owner::new();
    let t = owner
        .new_table("s", TableOptions::new().table_type(table_type).public())
        .unwrap();
    t.insert_many((0..STABLE).map(|k| tuple!(k, 0))).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|i| {
            let (t, stop) = (t.clone(), stop.clone());
            thread::spawn(move || writer(t, stop, 0x1234_5678 + i))
        })
        .collect();
    let traversals = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..2)
        .map(|i| {
            let (t, stop, traversals) = (t.clone(), stop.clone(), traversals.clone());
            thread::spawn(move || {
                let mut rng = Rng(0xdead_beef + i);
                while !stop.load(Ordering::Relaxed) {
                    let seen = traverse(&t, &mut rng);
                    check(&t, &seen);
                    // The iterator over the same table: the same guarantees.
                    let mut keys = Vec::new();
                    for o in t.iter().chunk_size(1 + rng.below(100) as usize) {
                        keys.push(o.unwrap().key());
                    }
                    // A bag's objects of one key come together: one key.
                    keys.dedup();
                    check(&t, &keys);
                    traversals.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    // Run for the set time and until the readers finished two whole passes: under valgrind's
    // one-thread-at-a-time scheduling a pass can take longer than the set time. A hard limit
    // keeps a reader that never finishes a failure, not a hang.
    let start = Instant::now();
    while start.elapsed() < run_for()
        || (traversals.load(Ordering::Relaxed) < 2 && start.elapsed() < 20 * run_for())
    {
        thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    for h in writers.into_iter().chain(readers) {
        h.join().unwrap();
    }
    assert!(
        traversals.load(Ordering::Relaxed) >= 2,
        "readers made progress"
    );
    // Quiescent: a chunked traversal sees exactly what tab2list sees.
    let mut rng = Rng(7);
    let mut listed: Vec<Term> = t.tab2list().unwrap().iter().map(|o| o.key()).collect();
    listed.dedup();
    assert_eq!(traverse(&t, &mut rng), listed);
}

#[test]
fn set_traversed_by_chunks_under_writers() {
    stress(TableType::Set);
}

#[test]
fn bag_traversed_by_chunks_under_writers() {
    stress(TableType::Bag);
}

#[test]
fn ordered_set_traversed_by_chunks_under_writers() {
    stress(TableType::OrderedSet);
}
