//! Many threads, one table: invariants that hold under contention.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use rets_core::{tuple, Owner, TableOptions, TableType, Term};

const THREADS: usize = 4;

#[test]
fn no_update_counter_increment_is_lost() {
    let owner = Owner::new();
    for t in [TableType::Set, TableType::OrderedSet] {
        let tab = owner
            .new_table("counters", TableOptions::new().table_type(t).public())
            .unwrap();
        let per_thread = 5_000;
        let barrier = Barrier::new(THREADS);
        thread::scope(|s| {
            for _ in 0..THREADS {
                s.spawn(|| {
                    barrier.wait();
                    for i in 0..per_thread {
                        // Two hot keys and a default object: creation races too.
                        let key = i % 2;
                        tab.update_counters_or(
                            key,
                            &[rets_core::CounterOp::new(2, 1)],
                            tuple!(0, 0),
                        )
                        .unwrap();
                    }
                });
            }
        });
        let total: i64 = (0..2)
            .map(|k| tab.lookup_element(k, 2).unwrap().as_i64().unwrap())
            .sum();
        assert_eq!(total, (THREADS * per_thread) as i64, "{t}");
    }
}

#[test]
fn insert_new_succeeds_exactly_once_per_key() {
    let owner = Owner::new();
    for t in [
        TableType::Set,
        TableType::OrderedSet,
        TableType::Bag,
        TableType::DuplicateBag,
    ] {
        let tab = owner
            .new_table("once", TableOptions::new().table_type(t).public())
            .unwrap();
        let keys = 2_000;
        let wins = AtomicUsize::new(0);
        let barrier = Barrier::new(THREADS);
        thread::scope(|s| {
            for id in 0..THREADS {
                let (tab, wins, barrier) = (&tab, &wins, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    for k in 0..keys {
                        if tab.insert_new(tuple!(k, id)).unwrap() {
                            wins.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        assert_eq!(wins.load(Ordering::Relaxed), keys, "{t}");
        assert_eq!(tab.info().unwrap().size, keys, "{t}");
    }
}

#[test]
fn readers_never_see_half_of_a_list_insert() {
    let owner = Owner::new();
    for t in [TableType::Set, TableType::OrderedSet, TableType::Bag] {
        let tab = owner
            .new_table("atomic-list", TableOptions::new().table_type(t).public())
            .unwrap();
        let width = 16;
        let rounds = 2_000;
        let done = AtomicBool::new(false);
        thread::scope(|s| {
            // The writer rewrites `width` keys with one generation number per list, and on a
            // bag deletes them all at once with delete_all_objects between generations.
            s.spawn(|| {
                for generation in 0..rounds {
                    if t == TableType::Bag {
                        tab.delete_all_objects().unwrap();
                    }
                    tab.insert_many((0..width).map(|k| tuple!(k, generation)))
                        .unwrap();
                }
                done.store(true, Ordering::Release);
            });
            for _ in 0..THREADS - 1 {
                s.spawn(|| {
                    let mut checks = 0;
                    while !done.load(Ordering::Acquire) || checks == 0 {
                        // The generation of key 0, then of every other key: a later read may only
                        // see the same or a newer generation, never an older one, and a complete
                        // list is never half visible (all keys present once any is).
                        let generations: Vec<Option<i64>> = (0..width)
                            .map(|k| {
                                tab.lookup(k)
                                    .unwrap()
                                    .last()
                                    .map(|o| o.element(2).unwrap().as_i64().unwrap())
                            })
                            .collect();
                        let mut last = None;
                        for g in generations.iter().flatten() {
                            if let Some(prev) = last {
                                assert!(*g >= prev, "{t}: generation went back");
                            }
                            last = Some(*g);
                        }
                        if t != TableType::Bag {
                            // Keys are never deleted here: once one read finds the first list,
                            // every later read finds its key too (absent keys only come first).
                            let first_present = generations.iter().position(Option::is_some);
                            if let Some(p) = first_present {
                                assert!(
                                    generations[p..].iter().all(Option::is_some),
                                    "{t}: half a list"
                                );
                            }
                        }
                        checks += 1;
                    }
                });
            }
        });
        assert_eq!(tab.info().unwrap().size, width, "{t}");
    }
}

#[test]
fn traversal_under_concurrent_writes_never_repeats_a_key() {
    let owner = Owner::new();
    for t in [
        TableType::Set,
        TableType::OrderedSet,
        TableType::DuplicateBag,
    ] {
        let tab = owner
            .new_table("traverse", TableOptions::new().table_type(t).public())
            .unwrap();
        let stable = 0..2_000i64; // never deleted: every traversal must see all of them
        tab.insert_many(stable.clone().map(|k| tuple!(k, "stable")))
            .unwrap();
        let done = AtomicBool::new(false);
        thread::scope(|s| {
            s.spawn(|| {
                let mut i = 0i64;
                while !done.load(Ordering::Acquire) {
                    let k = 10_000 + (i % 3_000);
                    tab.insert(tuple!(k, "churn")).unwrap();
                    tab.delete(k - 1_000).unwrap();
                    i += 1;
                }
            });
            for _ in 0..20 {
                let mut seen = std::collections::HashSet::new();
                let mut at = tab.first().unwrap();
                while let Some(k) = at {
                    assert!(
                        seen.insert(k.as_msgpack().to_vec()),
                        "{t}: key returned twice"
                    );
                    at = tab.next(&k).unwrap();
                }
                for k in stable.clone() {
                    let key = rets_core::Key::new(k).unwrap();
                    assert!(
                        seen.contains(key.as_msgpack()),
                        "{t}: stable key {k} missed"
                    );
                }
            }
            done.store(true, Ordering::Release);
        });
    }
}

#[test]
fn owner_close_races_with_readers_and_writers() {
    for round in 0..50 {
        let owner = Owner::new();
        let heir = Owner::new();
        let tab = owner
            .new_table("race", TableOptions::new().public().heir(&heir, round))
            .unwrap();
        let stranger = Owner::new();
        let public_view = tab.with_caller(&stranger);
        thread::scope(|s| {
            s.spawn(|| {
                for i in 0..500 {
                    // Inserting may only succeed: the table moves to the heir, it is not deleted.
                    public_view.insert(tuple!(i, i)).unwrap();
                    public_view.lookup(i).unwrap();
                }
            });
            s.spawn(|| owner.close());
        });
        let transfer = heir.try_recv_transfer().unwrap();
        assert_eq!(transfer.table.info().unwrap().size, 500);
    }
}

/// Writers that add interleaved keys keep landing in the same leaves, so a leaf splits within
/// its parent (a copy of the parent published in its place) while other writers wait for that
/// parent's stripe with the old parent in hand: each must notice and search again, or its key
/// goes into a parent no longer in the tree. Every key must be there at the end.
#[test]
fn interleaved_inserts_that_split_leaves_lose_no_key() {
    const THREADS: i64 = 4;
    const PER_THREAD: i64 = 40_000;
    let owner = Owner::new();
    for round in 0..3 {
        let t = owner
            .new_table(
                "interleaved",
                TableOptions::new()
                    .table_type(TableType::OrderedSet)
                    .public(),
            )
            .unwrap();
        let start = Arc::new(Barrier::new(THREADS as usize));
        let writers: Vec<_> = (0..THREADS)
            .map(|w| {
                let (t, start) = (t.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    for k in 0..PER_THREAD {
                        // Ascending in round 0, descending in round 1 (splits at either end
                        // keep the old leaf whole), scattered in round 2 (middle splits).
                        let k = match round {
                            0 => k,
                            1 => PER_THREAD - 1 - k,
                            _ => (k * 7_919) % PER_THREAD,
                        };
                        t.insert(tuple!(k * THREADS + w, w)).unwrap();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        assert_eq!(
            t.info().unwrap().size,
            (THREADS * PER_THREAD) as usize,
            "round {round}"
        );
        let mut expected = 0;
        let mut at = t.first().unwrap();
        while let Some(k) = at {
            assert_eq!(k.to_term(), Term::Int(expected), "round {round}");
            expected += 1;
            at = t.next(&k).unwrap();
        }
        assert_eq!(expected, THREADS * PER_THREAD, "round {round}");
        t.delete_table().unwrap();
    }
}

/// Counters changed in place (on an ordered_set without its leaf's stripe: under the entry's
/// own lock) race writes that read the object and replace it with a new one: `update_element`
/// of another element, and increments that change the counter's width (its value crosses
/// 127/128, one byte to two, and back), which the transaction path stores anew. Every
/// increment must be kept: a change that landed in an object a replacement had already read,
/// or in one already out of the table, would be lost from the total.
#[test]
fn counters_changed_in_place_race_writes_that_replace_their_object() {
    const PER_THREAD: i64 = 20_000;
    let owner = Owner::new();
    for t in [TableType::Set, TableType::OrderedSet] {
        let tab = owner
            .new_table("replaced", TableOptions::new().table_type(t).public())
            .unwrap();
        // Neighbours, so that the keys share a leaf with others.
        for k in 0..64 {
            tab.insert(tuple!(k, 120, 0)).unwrap();
        }
        let barrier = Barrier::new(THREADS);
        let net = AtomicI64::new(0);
        thread::scope(|s| {
            for id in 0..THREADS {
                let (tab, barrier, net) = (&tab, &barrier, &net);
                s.spawn(move || {
                    barrier.wait();
                    let mut added = 0;
                    for i in 0..PER_THREAD {
                        let key = (i / 2) % 2 + 31;
                        if id == 0 {
                            // Replaces the object, copying the counter it read.
                            tab.update_element(key, &[(3, Term::Int(i))]).unwrap();
                        } else {
                            // +10 and -10 in turn: the values stay within 120..=150, across
                            // 127/128.
                            let incr = if i % 2 == 0 { 10 } else { -10 };
                            tab.update_counter(key, incr).unwrap();
                            added += incr;
                        }
                    }
                    net.fetch_add(added, Ordering::Relaxed);
                });
            }
        });
        let total: i64 = [31, 32]
            .iter()
            .map(|&k| tab.lookup_element(k, 2).unwrap().as_i64().unwrap())
            .sum();
        assert_eq!(total, 240 + net.load(Ordering::Relaxed), "{t}");
    }
}
