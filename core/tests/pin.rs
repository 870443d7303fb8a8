//! Pinned readers (`Table::pin`, `Table::pin_owned`): the same answers as plain reads on every
//! table type, the same access rules, the table's deletion and its owner's close seen by the
//! next read, writes made while pinned seen (a pin is not a snapshot), owned pins used from
//! and dropped on other threads, pinned readers racing writers and a deletion, and a pin's
//! debug output.
//! (The memory a pin holds up is measured in pin_memory.rs.)

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;
use std::time::Duration;

use rets_core::{
    tuple, CacheStats, Error, ManualClock, Object, OwnedPin, Owner, Table, TableOptions, TableType,
    Term,
};

fn table(owner: &Owner, t: TableType) -> Table {
    owner
        .new_table("t", TableOptions::new().table_type(t).public())
        .unwrap()
}

const TYPES: [TableType; 4] = [
    TableType::Set,
    TableType::OrderedSet,
    TableType::Bag,
    TableType::DuplicateBag,
];

#[test]
fn pinned_reads_answer_as_plain_reads_on_every_table_type() {
    let owner = Owner::new();
    for t in TYPES {
        let tab = table(&owner, t);
        for k in 0..200i64 {
            tab.insert(tuple!(k, k * 3, "x")).unwrap();
            if !t.is_set() && k % 3 == 0 {
                tab.insert(tuple!(k, k * 3 + 1, "y")).unwrap();
            }
        }
        let pin = tab.pin().unwrap();
        let owned = tab.pin_owned().unwrap();
        for k in -5..205i64 {
            let plain = tab.lookup(k).unwrap();
            assert_eq!(pin.lookup(k).unwrap(), plain, "{t} lookup {k}");
            assert_eq!(owned.lookup(k).unwrap(), plain, "{t} owned lookup {k}");
            assert_eq!(pin.member(k).unwrap(), !plain.is_empty(), "{t} member {k}");
            assert_eq!(owned.member(k).unwrap(), !plain.is_empty());
            let count = pin.lookup_with(k, |objects| objects.count()).unwrap();
            assert_eq!(count, plain.len(), "{t} lookup_with {k}");
            for pos in [0, 1, 2, 3, 4] {
                let expect = tab.lookup_element(k, pos);
                let got = pin.lookup_element(k, pos);
                assert_eq!(
                    format!("{got:?}"),
                    format!("{expect:?}"),
                    "{t} {k} pos {pos}"
                );
                let got = owned.lookup_element(k, pos);
                assert_eq!(
                    format!("{got:?}"),
                    format!("{expect:?}"),
                    "{t} {k} pos {pos}"
                );
                let expect = tab.lookup_element_or(k, pos, "none");
                let got = pin.lookup_element_or(k, pos, "none");
                assert_eq!(
                    format!("{got:?}"),
                    format!("{expect:?}"),
                    "{t} {k} pos {pos}"
                );
            }
        }
        // Keys of every kind, as the plain API takes them.
        tab.insert(tuple!("a string", 1)).unwrap();
        tab.insert(tuple!(Term::from(vec![Term::from(1), Term::from("k")]), 2))
            .unwrap();
        assert_eq!(
            pin.lookup_element("a string", 2).unwrap(),
            tab.lookup_element("a string", 2).unwrap()
        );
        let composite = Term::from(vec![Term::from(1), Term::from("k")]);
        assert_eq!(
            pin.lookup_element(&composite, 2).unwrap(),
            tab.lookup_element(&composite, 2).unwrap()
        );
        assert!(pin.member("a string").unwrap() && pin.member(&composite).unwrap());
        // An ordered_set finds a compare-equal key (1.0 == 1).
        if t == TableType::OrderedSet {
            assert_eq!(pin.lookup(1.0).unwrap(), tab.lookup(1).unwrap());
        }
    }
}

#[test]
fn a_pin_sees_writes_made_while_it_is_held() {
    let owner = Owner::new();
    let tab = table(&owner, TableType::Set);
    let pin = tab.pin().unwrap();
    assert!(!pin.member(1).unwrap());
    tab.insert(tuple!(1, "a")).unwrap();
    assert_eq!(pin.lookup_element(1, 2).unwrap(), Term::from("a"));
    tab.insert(tuple!(1, "b")).unwrap();
    assert_eq!(pin.lookup_element(1, 2).unwrap(), Term::from("b"));
    tab.delete(1).unwrap();
    assert!(!pin.member(1).unwrap());
    tab.insert_many((0..1000).map(|i| tuple!(i, i))).unwrap();
    tab.delete_all_objects().unwrap();
    assert!(!pin.member(500).unwrap());
    // A plain read on the pinning thread while the pin is held (a nested guard).
    tab.insert(tuple!(2, "c")).unwrap();
    assert_eq!(tab.lookup_element(2, 2).unwrap(), Term::from("c"));
    assert_eq!(pin.lookup_element(2, 2).unwrap(), Term::from("c"));
}

#[test]
fn pins_follow_the_access_rules_of_reads() {
    let owner = Owner::new();
    let other = Owner::new();
    for (access, others_may_read) in [("public", true), ("protected", true), ("private", false)] {
        let options = match access {
            "public" => TableOptions::new().public(),
            "protected" => TableOptions::new().protected(),
            _ => TableOptions::new().private(),
        };
        let tab = owner.new_table("acc", options).unwrap();
        tab.insert(tuple!(1, 2)).unwrap();
        assert!(tab.pin().unwrap().member(1).unwrap(), "{access}: the owner");
        let foreign = tab.with_caller(&other);
        for result in [
            foreign.pin().map(|p| p.member(1).unwrap()),
            foreign.pin_owned().map(|p| p.member(1).unwrap()),
        ] {
            match result {
                Ok(found) => assert!(others_may_read && found, "{access}"),
                Err(e) => assert!(
                    !others_may_read && matches!(e, Error::Access { need: "read", .. }),
                    "{access}: {e}"
                ),
            }
        }
        tab.delete_table().unwrap();
    }
}

#[test]
fn a_pin_on_a_private_table_loses_its_reads_when_the_table_is_given_away() {
    let owner = Owner::new();
    let to = Owner::new();
    let tab = owner
        .new_table("given", TableOptions::new().private())
        .unwrap();
    tab.insert(tuple!(1, 2)).unwrap();
    let pin = tab.pin().unwrap();
    let owned = tab.pin_owned().unwrap();
    assert!(pin.member(1).unwrap());
    tab.give_away(&to, "gift").unwrap();
    for result in [pin.member(1), owned.member(1)] {
        assert!(
            matches!(result, Err(Error::Access { need: "read", .. })),
            "{result:?}"
        );
    }
    // The new owner reads it.
    let transfer = to.try_recv_transfer().unwrap();
    assert!(transfer.table.pin().unwrap().member(1).unwrap());
}

#[test]
fn deleting_the_table_ends_a_pins_reads() {
    let owner = Owner::new();
    for t in TYPES {
        let tab = table(&owner, t);
        tab.insert_many((0..100).map(|i| tuple!(i, i))).unwrap();
        let pin = tab.pin().unwrap();
        let owned = tab.pin_owned().unwrap();
        assert!(pin.member(7).unwrap());
        tab.delete_table().unwrap();
        for k in [7, 1000] {
            assert!(matches!(pin.lookup(k), Err(Error::NoTable { .. })), "{t}");
            assert!(matches!(owned.member(k), Err(Error::NoTable { .. })));
            assert!(matches!(
                pin.lookup_element(k, 2),
                Err(Error::NoTable { .. })
            ));
        }
    }
}

#[test]
fn closing_the_owner_ends_its_pins_reads() {
    // The table is deleted by the close: its own handle's pin fails with OwnerClosed or
    // NoTable (as a plain read: the flag checked first wins), a stranger's with NoTable.
    let owner = Owner::new();
    let stranger = Owner::new();
    let tab = table(&owner, TableType::Set);
    tab.insert(tuple!(1, 1)).unwrap();
    let own = tab.pin_owned().unwrap();
    let theirs = tab.with_caller(&stranger).pin_owned().unwrap();
    owner.close();
    assert!(matches!(
        own.member(1),
        Err(Error::NoTable { .. } | Error::OwnerClosed { .. })
    ));
    assert!(matches!(theirs.member(1), Err(Error::NoTable { .. })));

    // A stranger's public table survives the close of the owner a handle acts for: that
    // handle's pin fails with OwnerClosed, as the handle does.
    let a = Owner::new();
    let b = Owner::new();
    let tab = table(&a, TableType::Set);
    tab.insert(tuple!(1, 1)).unwrap();
    let via_b = tab.with_caller(&b);
    let pin = via_b.pin().unwrap();
    assert!(pin.member(1).unwrap());
    b.close();
    assert!(matches!(pin.member(1), Err(Error::OwnerClosed { .. })));
    assert!(matches!(via_b.member(1), Err(Error::OwnerClosed { .. })));
    assert!(tab.member(1).unwrap());
    // A closed owner's handle cannot take a pin.
    assert!(matches!(via_b.pin(), Err(Error::OwnerClosed { .. })));
}

#[test]
fn a_deleted_table_cannot_be_pinned() {
    let owner = Owner::new();
    let tab = table(&owner, TableType::Bag);
    tab.delete_table().unwrap();
    assert!(matches!(tab.pin(), Err(Error::NoTable { .. })));
    assert!(matches!(tab.pin_owned(), Err(Error::NoTable { .. })));
}

#[test]
fn an_owned_pin_moves_between_threads_is_shared_and_outlives_its_handle() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<OwnedPin>();
    let owner = Owner::new();
    let tab = table(&owner, TableType::Set);
    tab.insert_many((0..1000).map(|i| tuple!(i, i * 2)))
        .unwrap();
    let pin = tab.pin_owned().unwrap();
    drop(tab); // the pin holds its own handle
    std::thread::scope(|s| {
        for t in 0..2i64 {
            let pin = &pin;
            s.spawn(move || {
                for k in (t..1000).step_by(2) {
                    assert_eq!(pin.lookup_element(k, 2).unwrap(), Term::from(k * 2));
                }
            });
        }
    });
    // Moved to another thread, used and dropped there.
    std::thread::spawn(move || {
        let mut pin = pin;
        assert!(pin.member(999).unwrap());
        pin.refresh();
        assert!(pin.member(999).unwrap());
        drop(pin);
    })
    .join()
    .unwrap();
}

/// A pin names itself and its table in debug output (the table's id, as the handle shows it).
#[test]
fn pins_name_their_table_in_debug_output() {
    let owner = Owner::new();
    let tab = table(&owner, TableType::Set);
    let handle = format!("{tab:?}");
    let id = handle
        .split("id: ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .expect("the handle's debug output has its id");
    assert_eq!(
        format!("{:?}", tab.pin().unwrap()),
        format!("Pinned {{ table: {id} }}")
    );
    assert_eq!(
        format!("{:?}", tab.pin_owned().unwrap()),
        format!("OwnedPin {{ table: {id} }}")
    );
}

#[test]
fn pinned_reads_count_in_the_cache_stats() {
    let owner = Owner::new();
    let tab = owner
        .new_table(
            "cache",
            TableOptions::new()
                .set()
                .public()
                .ttl(Duration::from_secs(10))
                .clock(ManualClock::new())
                .record_stats(),
        )
        .unwrap();
    tab.insert(tuple!(1, 1)).unwrap();
    let pin = tab.pin().unwrap();
    assert!(pin.member(1).unwrap());
    assert!(!pin.member(2).unwrap());
    assert_eq!(pin.lookup(1).unwrap().len(), 1);
    let CacheStats { hits, misses, .. } = tab.cache_stats().unwrap();
    assert_eq!((hits, misses), (2, 1));
}

/// Two pinned readers (one refreshing its pin now and then, one not) against a writer that
/// rewrites every object, then a deletion: every object read is whole and one the writer
/// wrote (`[k, v, k + v]`), a read after the deletion fails, and nothing else does.
#[test]
fn pinned_readers_race_writers_and_a_deletion() {
    for t in [TableType::Set, TableType::OrderedSet, TableType::Bag] {
        let owner = Owner::new();
        let tab = table(&owner, t);
        let keys = 500i64;
        tab.insert_many((0..keys).map(|k| tuple!(k, 0, k))).unwrap();
        let deleted = AtomicBool::new(false);
        // The readers pin before the writer starts: on a slow run (valgrind) a reader spawned
        // late would otherwise find the table already deleted.
        let pinned = Barrier::new(3);
        std::thread::scope(|s| {
            let check = |objects: Vec<Object>, k: i64| {
                for o in objects {
                    let v = o.element(2).unwrap().as_i64().unwrap();
                    assert_eq!(o.element(3).unwrap().as_i64().unwrap(), k + v, "{t}: torn");
                }
            };
            for refresh in [false, true] {
                let (tab, deleted, pinned) = (&tab, &deleted, &pinned);
                s.spawn(move || {
                    let mut pin = tab.pin().unwrap();
                    pinned.wait();
                    let mut reads = 0u64;
                    loop {
                        for k in 0..keys {
                            match pin.lookup(k) {
                                Ok(objects) => check(objects, k),
                                Err(Error::NoTable { .. }) => {
                                    assert!(deleted.load(Ordering::Acquire) || reads > 0);
                                    return;
                                }
                                Err(e) => panic!("{t}: {e}"),
                            }
                            reads += 1;
                            if refresh && reads % 1000 == 0 {
                                pin.refresh();
                            }
                        }
                    }
                });
            }
            pinned.wait();
            for round in 1..=20i64 {
                for k in 0..keys {
                    if t == TableType::Bag {
                        tab.delete(k).unwrap();
                    }
                    tab.insert(tuple!(k, round, k + round)).unwrap();
                }
            }
            deleted.store(true, Ordering::Release);
            tab.delete_table().unwrap();
        });
    }
}
