//! max_size and max_memory: eviction (the default) and rejection, alone and under concurrent
//! writers; cache statistics.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Sets the flag when dropped: threads waiting on it stop even if the test panics.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

use rets_core::{
    tuple, CounterOp, Error, Eviction, InsertOptions, ManualClock, OnFull, Owner, Table,
    TableOptions, TableType,
};

const SETS: [TableType; 2] = [TableType::Set, TableType::OrderedSet];

fn bounded(owner: &Owner, ty: TableType, options: TableOptions) -> Table {
    owner
        .new_table("b", options.table_type(ty).public())
        .unwrap()
}

#[test]
fn eviction_keeps_max_size_and_counts() {
    let owner = Owner::new();
    for ty in SETS {
        let t = bounded(&owner, ty, TableOptions::new().max_size(100));
        for i in 0..1000 {
            t.insert(tuple!(i, "v")).unwrap();
            assert!(t.size().unwrap() <= 100, "{ty}");
        }
        assert_eq!(t.size().unwrap(), 100, "{ty}");
        let stats = t.cache_stats().unwrap();
        assert_eq!(stats.evictions, 900, "{ty}");
        assert_eq!(stats.rejected_writes, 0, "{ty}");
        // Replacing a present key on a full table evicts nothing.
        let present = t.first().unwrap().unwrap();
        t.insert(tuple!(present.to_term(), "w")).unwrap();
        assert_eq!(t.cache_stats().unwrap().evictions, 900, "{ty}");
    }
}

#[test]
fn eviction_prefers_objects_nobody_reads() {
    let owner = Owner::new();
    for ty in SETS {
        let t = bounded(&owner, ty, TableOptions::new().max_size(200));
        for i in 0..100 {
            t.insert(tuple!(i, "hot")).unwrap();
        }
        // Keys 0..100 are read between every insert of a stream of one-time keys.
        let mut hot_hits = 0;
        for i in 1000..3000 {
            t.insert(tuple!(i, "cold")).unwrap();
            if t.member(i % 100).unwrap() {
                hot_hits += 1;
            }
        }
        // A policy that ignored reads (FIFO) would have evicted every hot key after the first
        // 200 inserts and hit almost never.
        assert!(hot_hits > 1900, "{ty}: hot keys hit {hot_hits} of 2000");
    }
}

/// Keys read once, then a scan of keys written once and never read: how many read keys remain.
fn read_keys_left_after_a_scan(ty: TableType, eviction: Eviction) -> usize {
    let owner = Owner::new();
    let t = bounded(
        &owner,
        ty,
        TableOptions::new().max_size(100).eviction(eviction),
    );
    for i in 0..100 {
        t.insert(tuple!(i, "v")).unwrap();
    }
    for i in 0..50 {
        assert!(t.member(i).unwrap());
    }
    // Scattered keys, all above the read ones: in key order (an ordered_set's hand) they land
    // on both sides of the hand, which so keeps wrapping around to the read keys.
    for i in 0..1000i64 {
        t.insert(tuple!(1000 + i * 7919 % 1_000_000, "scan"))
            .unwrap();
        assert!(t.size().unwrap() <= 100);
    }
    (0..50).filter(|&i| t.member(i).unwrap()).count()
}

#[test]
fn s3_fifo_keeps_read_keys_through_a_scan_that_sieve_lets_through() {
    // S3-FIFO (the default): the scan's keys go through probation and leave from there; the
    // keys read once were promoted and stay.
    // Both set types: an ordered_set keeps its probationary keys by key.
    assert_eq!(Eviction::default(), Eviction::S3Fifo);
    for ty in SETS {
        assert_eq!(
            read_keys_left_after_a_scan(ty, Eviction::S3Fifo),
            50,
            "{ty}"
        );
        // The hand alone passes the read keys again and again during the scan (ten turns) and
        // evicts them once their one use is counted down.
        let left = read_keys_left_after_a_scan(ty, Eviction::Sieve);
        assert!(left < 25, "{ty}: {left}");
    }
}

#[test]
fn reject_refuses_new_keys_and_changes_nothing() {
    let owner = Owner::new();
    for ty in SETS {
        let t = bounded(
            &owner,
            ty,
            TableOptions::new().max_size(3).on_full(OnFull::Reject),
        );
        t.insert_many([tuple!(1, 1), tuple!(2, 2), tuple!(3, 3)])
            .unwrap();
        let before = t.tab2list().unwrap();
        let full = t.insert(tuple!(4, 4)).unwrap_err();
        assert!(matches!(full, Error::TableFull { .. }), "{ty}");
        assert!(full.to_string().contains("max_size 3"), "{full}");
        assert!(matches!(
            t.insert_new(tuple!(5, 5)),
            Err(Error::TableFull { .. })
        ));
        assert!(matches!(
            t.update_counters_or(6, &[CounterOp::new(2, 1)], tuple!(6, 0)),
            Err(Error::TableFull { .. })
        ));
        assert_eq!(t.tab2list().unwrap(), before, "{ty}");
        // Present keys can still be written, and room made by a delete is usable.
        t.insert(tuple!(1, 10)).unwrap();
        assert_eq!(t.update_counter(2, 1).unwrap(), 3);
        t.delete(3).unwrap();
        t.insert(tuple!(4, 4)).unwrap();
        assert_eq!(t.size().unwrap(), 3);
        assert_eq!(t.cache_stats().unwrap().rejected_writes, 3, "{ty}");
        // A list larger than the bound never fits.
        let e = t.insert_many((10..20).map(|i| tuple!(i, i))).unwrap_err();
        assert!(matches!(e, Error::TableFull { .. }));
    }
}

#[test]
fn a_write_larger_than_the_bound_is_refused_even_when_evicting() {
    let owner = Owner::new();
    let t = bounded(&owner, TableType::Set, TableOptions::new().max_size(5));
    let e = t.insert_many((0..6).map(|i| tuple!(i, i))).unwrap_err();
    assert!(matches!(e, Error::TableFull { .. }));
    assert_eq!(t.size().unwrap(), 0);
}

#[test]
fn max_memory_bounds_memory_as_info_counts_it() {
    let owner = Owner::new();
    for ty in SETS {
        let limit = 256 * 1024;
        let t = bounded(&owner, ty, TableOptions::new().max_memory(limit));
        let payload = "x".repeat(200);
        for i in 0..10_000 {
            t.insert(tuple!(i, payload.as_str())).unwrap();
            // The slot array of a hash shard grows by doubling, which the estimate of a new
            // object's bytes does not foresee: the documented tolerance.
            assert!(t.memory().unwrap() <= limit + limit / 8, "{ty}");
        }
        assert!(t.size().unwrap() > 500, "{ty}: {}", t.size().unwrap());
        assert!(t.cache_stats().unwrap().evictions > 5000, "{ty}");
        let big = "y".repeat(limit);
        assert!(matches!(
            t.insert(tuple!("big", big.as_str())),
            Err(Error::TableFull { .. })
        ));
    }
}

#[test]
fn the_bound_holds_under_concurrent_writers() {
    let owner = Owner::new();
    for ty in SETS {
        for on_full in [OnFull::Evict, OnFull::Reject] {
            let t = bounded(
                &owner,
                ty,
                TableOptions::new().max_size(64).on_full(on_full),
            );
            let done = AtomicBool::new(false);
            std::thread::scope(|s| {
                let watcher = s.spawn(|| {
                    while !done.load(Ordering::Relaxed) {
                        assert!(t.info().unwrap().size <= 8000);
                    }
                });
                let stop = SetOnDrop(&done);
                let writers: Vec<_> = (0..4)
                    .map(|w| {
                        let t = &t;
                        s.spawn(move || {
                            for i in 0..2000 {
                                let _ = t.insert(tuple!(w * 10_000 + i, i));
                                let _ = t.lookup(w * 10_000 + i / 2);
                            }
                        })
                    })
                    .collect();
                for w in writers {
                    w.join().unwrap();
                }
                drop(stop);
                // The size a racing reader sees is a sum of per-shard (per-stripe) counts read
                // without a lock, which may add an insert in one shard and miss the eviction
                // that made room for it in another: a figure the table never held, so it is
                // not checked against the bound. The objects held never exceed it (the room
                // lock), which the counts after the writers are done show.
                watcher.join().unwrap();
            });
            assert!(t.size().unwrap() <= 64);
            let stats = t.cache_stats().unwrap();
            match on_full {
                OnFull::Evict => assert_eq!(stats.evictions, 8000 - 64, "{ty}"),
                OnFull::Reject => assert_eq!(stats.rejected_writes, 8000 - 64, "{ty}"),
            }
        }
    }
}

#[test]
fn an_evicted_object_read_meanwhile_is_never_torn() {
    // Readers hold objects (borrowed in place) while writers evict them.
    let owner = Owner::new();
    for ty in SETS {
        let t = bounded(&owner, ty, TableOptions::new().max_size(32));
        let done = AtomicBool::new(false);
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    while !done.load(Ordering::Relaxed) {
                        for k in 0..64 {
                            t.lookup_with(k, |objects| {
                                for o in objects {
                                    let v = o.element(2).unwrap().as_str().unwrap().to_owned();
                                    assert_eq!(v, "v".repeat(v.len()));
                                    assert_eq!(v.len(), 100);
                                }
                            })
                            .unwrap();
                        }
                    }
                });
            }
            let _stop = SetOnDrop(&done);
            for _round in 0..200 {
                for k in 0..64 {
                    t.insert(tuple!(k, "v".repeat(100))).unwrap();
                }
            }
        });
    }
}

#[test]
fn stats_count_hits_misses_and_loads_and_reset() {
    let owner = Owner::new();
    let t = owner
        .new_table("s", TableOptions::new().record_stats())
        .unwrap();
    t.insert(tuple!(1, 1)).unwrap();
    t.lookup(1).unwrap();
    t.member(1).unwrap();
    t.lookup(2).unwrap();
    t.lookup_element_or(3, 2, 0).unwrap();
    t.record_load(Duration::from_millis(2), true).unwrap();
    t.record_load(Duration::from_millis(3), false).unwrap();
    let s = t.cache_stats().unwrap();
    assert_eq!((s.hits, s.misses), (2, 2));
    assert_eq!((s.loads, s.load_failures, s.load_nanos), (1, 1, 5_000_000));
    t.reset_cache_stats().unwrap();
    assert_eq!(t.cache_stats().unwrap(), Default::default());
    // Expired reads are misses.
    let clock = ManualClock::new();
    let c = owner
        .new_table(
            "e",
            TableOptions::new()
                .clock(clock.clone())
                .ttl(Duration::from_secs(1)),
        )
        .unwrap();
    c.insert_with(tuple!(1, 1), InsertOptions::default())
        .unwrap();
    clock.advance(Duration::from_secs(1));
    c.lookup(1).unwrap();
    assert_eq!(c.cache_stats().unwrap().misses, 1);
    // A plain table keeps none.
    let plain = owner.new_table("p", TableOptions::new()).unwrap();
    plain.lookup(1).unwrap();
    assert_eq!(plain.cache_stats().unwrap(), Default::default());
}

#[test]
fn expired_objects_do_not_make_a_rejecting_table_full() {
    let owner = Owner::new();
    for ty in SETS {
        let clock = ManualClock::new();
        let t = bounded(
            &owner,
            ty,
            TableOptions::new()
                .max_size(2)
                .on_full(OnFull::Reject)
                .clock(clock.clone())
                .ttl(Duration::from_secs(1)),
        );
        t.insert(tuple!(1, 1)).unwrap();
        t.insert(tuple!(2, 2)).unwrap();
        assert!(matches!(
            t.insert(tuple!(3, 3)),
            Err(Error::TableFull { .. })
        ));
        clock.advance(Duration::from_secs(1));
        t.insert(tuple!(3, 3)).unwrap();
        assert_eq!(t.size().unwrap(), 1, "{ty}");
        assert_eq!(t.cache_stats().unwrap().expirations, 2, "{ty}");
    }
}

/// Bags are evicted by the hand alone (no probation, whatever the eviction option): a key read
/// once, when it was new, loses its use bit at the hand's next pass and goes at the one after,
/// so after 80 evictions from a bound of 20 none of the first 40 keys is left. (Probation would
/// have moved the keys read early into its main region, where several of them stay.)
#[test]
fn bags_are_evicted_by_the_hand_alone() {
    let owner = Owner::new();
    for ty in [TableType::Bag, TableType::DuplicateBag] {
        let t = bounded(&owner, ty, TableOptions::new().max_size(20));
        for i in 0..100i64 {
            t.insert(tuple!(i, 0)).unwrap();
            if i % 3 == 0 {
                assert!(t.member(i).unwrap());
            }
        }
        let early: Vec<i64> = (0..40i64).filter(|&i| t.member(i).unwrap()).collect();
        assert_eq!(
            early, [0i64; 0],
            "{ty}: keys read early outlived 80 evictions"
        );
        assert_eq!(t.size().unwrap(), 20, "{ty}");
    }
}
