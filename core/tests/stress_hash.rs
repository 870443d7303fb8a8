//! Stress tests of the hash storage at high contention: many threads mixing inserts, deletes,
//! lookups, counter updates, list inserts, clears and traversals while arrays grow, shrink and
//! drop tombstones. Each test checks invariants while it runs and totals at the end.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::Barrier;
use std::thread;

use rets_core::{tuple, CounterOp, Key, Owner, Table, TableOptions, TableType};

const THREADS: usize = 6;

/// A small deterministic generator (xorshift64*), one per thread.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> i64 {
        (self.next() % n) as i64
    }
}

fn table(owner: &Owner, t: TableType) -> Table {
    owner
        .new_table("stress", TableOptions::new().table_type(t).public())
        .unwrap()
}

/// The keys of group `n` of writer `w`: four keys one list insert writes together, never
/// deleted, outside the churn keys.
fn group(w: usize, n: usize) -> [i64; 4] {
    let base = 3_000_000 + ((w * 1_000_000 + n) * 4) as i64;
    [base, base + 1, base + 2, base + 3]
}

/// Reads the keys of a group one by one, in list order or in reverse: once one is present,
/// every key read after it must be (the group was written by one list insert and is never
/// deleted). A list insert that wrote its objects one at a time, in either order, fails one of
/// the two orders.
fn check_group_whole(tab: &Table, keys: [i64; 4], reverse: bool) {
    let mut seen = false;
    for i in 0..4 {
        let k = keys[if reverse { 3 - i } else { i }];
        let present = tab.member(k).unwrap();
        assert!(
            !seen || present,
            "half a list insert: key {k} missing after an earlier one"
        );
        seen |= present;
    }
}

/// Churn keys hold `(k, k * 7, writer)`: any object a reader finds must say so.
fn check_churn_object(k: i64, o: &rets_core::ObjectRef<'_>) {
    assert_eq!(o.element(1).unwrap().as_i64(), Some(k), "wrong key");
    assert_eq!(o.element(2).unwrap().as_i64(), Some(k * 7), "torn object");
}

#[test]
fn mixed_operations_keep_their_invariants_under_contention() {
    let owner = Owner::new();
    let tab = table(&owner, TableType::Set);
    // Stable keys are never deleted: every traversal must see each exactly once.
    let stable = 1_000_000..1_000_500i64;
    tab.insert_many(stable.clone().map(|k| tuple!(k, "stable")))
        .unwrap();
    let counters = 2_000_000..2_000_008i64;
    let increments = AtomicI64::new(0);
    let barrier = Barrier::new(THREADS);
    let churn_keys = 4_000u64;
    // The group each writer is writing now (or wrote last), for readers to check.
    let writing: Vec<AtomicUsize> = (0..THREADS).map(|_| AtomicUsize::new(0)).collect();
    thread::scope(|s| {
        for id in 0..THREADS {
            let (tab, stable, counters, increments, barrier, writing) = (
                &tab,
                stable.clone(),
                counters.clone(),
                &increments,
                &barrier,
                &writing,
            );
            s.spawn(move || {
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((id as u64 + 1) * 0x1234_5678));
                barrier.wait();
                for round in 0..20_000 {
                    let k = rng.below(churn_keys);
                    match rng.below(100) {
                        0..=29 => tab.insert(tuple!(k, k * 7, id as i64)).unwrap(),
                        30..=49 => tab.delete(k).unwrap(),
                        50..=84 => {
                            tab.lookup_with(k, |objects| {
                                assert!(objects.len() <= 1, "a set key has one object");
                                objects.for_each(|o| check_churn_object(k, &o));
                            })
                            .unwrap();
                            // The group another writer is writing: all or nothing.
                            let w = rng.below(THREADS as u64) as usize;
                            let keys = group(w, writing[w].load(Ordering::Acquire));
                            check_group_whole(tab, keys, round % 2 == 0);
                        }
                        85..=94 => {
                            let c =
                                counters.start + rng.below((counters.end - counters.start) as u64);
                            tab.update_counters_or(c, &[CounterOp::new(2, 1)], tuple!(c, 0))
                                .unwrap();
                            increments.fetch_add(1, Ordering::Relaxed);
                        }
                        95..=97 => {
                            // A list insert of neighbours (churn keys: deleted one by one
                            // meanwhile, so only the objects' integrity is checked), and one
                            // of a new group, which readers check is seen whole.
                            tab.insert_many((k..k + 8).map(|j| tuple!(j, j * 7, id as i64)))
                                .unwrap();
                            let n = writing[id].load(Ordering::Relaxed) + 1;
                            writing[id].store(n, Ordering::Release);
                            tab.insert_many(group(id, n).map(|j| tuple!(j, "group")))
                                .unwrap();
                        }
                        _ if round % 8 == 0 => {
                            // A full traversal: no key twice, every stable key seen.
                            let mut seen = HashSet::new();
                            let mut at = tab.first().unwrap();
                            while let Some(key) = at {
                                assert!(seen.insert(key.as_msgpack().to_vec()), "key twice");
                                at = tab.next(&key).unwrap();
                            }
                            for k in stable.clone() {
                                let key = Key::new(k).unwrap();
                                assert!(seen.contains(key.as_msgpack()), "stable key missed");
                            }
                        }
                        _ => {
                            let _ = tab.next_lookup(k).unwrap();
                        }
                    }
                }
            });
        }
    });
    let total: i64 = counters
        .clone()
        .map(|c| tab.lookup_element_or(c, 2, 0).unwrap().as_i64().unwrap())
        .sum();
    assert_eq!(
        total,
        increments.load(Ordering::Relaxed),
        "lost counter updates"
    );
    // size, tab2list, foldl and traversal agree once writers are done.
    let all = tab.tab2list().unwrap();
    let info = tab.info().unwrap();
    assert_eq!(info.size, all.len());
    let folded = tab.foldl(0usize, |n, _| n + 1).unwrap();
    assert_eq!(folded, all.len());
    let keys: HashSet<Vec<u8>> = all.iter().map(|o| o.key_msgpack().to_vec()).collect();
    assert_eq!(keys.len(), all.len(), "tab2list repeats a key of a set");
    for o in &all {
        let k = o.element(1).unwrap().as_i64().unwrap();
        if k < churn_keys as i64 + 8 {
            assert_eq!(o.element(2).unwrap().as_i64(), Some(k * 7));
        }
    }
    // Emptying returns memory to its initial value.
    let empty = table(&owner, TableType::Set).info().unwrap().memory;
    tab.delete_all_objects().unwrap();
    assert_eq!(tab.info().unwrap().memory, empty);
}

#[test]
fn bags_under_list_inserts_deletes_and_clears() {
    let owner = Owner::new();
    for t in [TableType::Bag, TableType::DuplicateBag] {
        let tab = table(&owner, t);
        let done = AtomicBool::new(false);
        thread::scope(|s| {
            // Writers: list inserts of a whole generation (same key, several objects) and
            // occasional delete_all_objects / delete_object.
            for id in 0..2 {
                let (tab, done) = (&tab, &done);
                s.spawn(move || {
                    let mut rng = Rng(77 + id);
                    for round in 0..3_000i64 {
                        // Generations are the writer's own: were both writers to insert one
                        // generation under one key, a bag would keep the second list's objects
                        // that the first had lost to delete_object, after the first's others.
                        let generation = round * 2 + id as i64;
                        let k = rng.below(64);
                        tab.insert_many((0..4).map(|i| tuple!(k, generation, i)))
                            .unwrap();
                        match rng.below(50) {
                            0 => tab.delete_all_objects().unwrap(),
                            1..=10 => tab.delete(rng.below(64)).unwrap(),
                            11..=15 => tab.delete_object(tuple!(k, generation, 0)).unwrap(),
                            _ => {}
                        }
                    }
                    done.store(true, Ordering::Release);
                });
            }
            for _ in 0..THREADS - 2 {
                let (tab, done) = (&tab, &done);
                s.spawn(move || {
                    let mut rng = Rng(3);
                    while !done.load(Ordering::Acquire) {
                        let k = rng.below(64);
                        tab.lookup_with(k, |objects| {
                            // Each generation's objects arrive together and in list order.
                            let all: Vec<(i64, i64)> = objects
                                .map(|o| {
                                    assert_eq!(o.element(1).unwrap().as_i64(), Some(k));
                                    (
                                        o.element(2).unwrap().as_i64().unwrap(),
                                        o.element(3).unwrap().as_i64().unwrap(),
                                    )
                                })
                                .collect();
                            for w in all.windows(2) {
                                if w[0].0 == w[1].0 {
                                    assert!(w[0].1 < w[1].1, "{t}: list order");
                                }
                            }
                            // Together: a generation is seen with all four objects, or with
                            // the three delete_object leaves (it removes `(k, g, 0)`); a key's
                            // delete and a clear remove the whole generation.
                            let mut generations: Vec<i64> = all.iter().map(|o| o.0).collect();
                            generations.dedup();
                            for g in generations {
                                let items: Vec<i64> =
                                    all.iter().filter(|o| o.0 == g).map(|o| o.1).collect();
                                assert!(
                                    items == [0, 1, 2, 3] || items == [1, 2, 3],
                                    "{t}: generation {g} seen in part: {items:?}"
                                );
                            }
                        })
                        .unwrap();
                        let mut seen = HashSet::new();
                        let mut at = tab.first().unwrap();
                        while let Some(key) = at {
                            assert!(seen.insert(key.as_msgpack().to_vec()), "{t}: key twice");
                            at = tab.next(&key).unwrap();
                        }
                    }
                });
            }
        });
        let all = tab.tab2list().unwrap();
        assert_eq!(tab.info().unwrap().size, all.len(), "{t}");
    }
}

#[test]
fn many_tables_created_used_and_dropped_concurrently() {
    thread::scope(|s| {
        for id in 0..THREADS as i64 {
            s.spawn(move || {
                for round in 0..200i64 {
                    let owner = Owner::new();
                    let tab = table(&owner, TableType::Set);
                    for k in 0..50 {
                        tab.insert(tuple!(k, id, round)).unwrap();
                    }
                    assert_eq!(tab.info().unwrap().size, 50);
                    if round % 2 == 0 {
                        tab.delete_table().unwrap();
                    }
                    // The owner drops here and takes any table left with it.
                }
            });
        }
    });
}

#[test]
fn long_list_inserts_are_atomic_and_not_quadratic() {
    let owner = Owner::new();
    for t in [TableType::Set, TableType::Bag] {
        let tab = table(&owner, t);
        // Repeated keys in one list: on a set the last wins; the list is indexed past 16 keys.
        let n = 50_000i64;
        tab.insert_many((0..n).chain(0..100).map(|k| tuple!(k, k * 7)))
            .unwrap();
        assert_eq!(tab.info().unwrap().size, n as usize, "{t}");
        assert!(!tab
            .insert_new_many((n - 5..n + 5).map(|k| tuple!(k, 0)))
            .unwrap());
        assert!(tab
            .insert_new_many((n..n + 40).map(|k| tuple!(k, 0)))
            .unwrap());
        assert_eq!(tab.info().unwrap().size, n as usize + 40, "{t}");
    }
}

#[test]
fn memory_returns_to_its_initial_value_after_deletes_and_a_clear() {
    let owner = Owner::new();
    let tab = table(&owner, TableType::Set);
    let empty = tab.info().unwrap().memory;
    for k in 0..5_000i64 {
        tab.insert(tuple!(k, k)).unwrap();
    }
    for k in 0..5_000i64 {
        tab.delete(k).unwrap();
    }
    assert_eq!(tab.info().unwrap().size, 0);
    // Arrays of tombstones remain until the next resize or a clear.
    tab.delete_all_objects().unwrap();
    assert_eq!(tab.info().unwrap().memory, empty);
}
