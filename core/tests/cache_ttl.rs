//! Lifetimes (TTL, time-to-idle, per-object lifetimes) on every table type, with a manual
//! clock: no test sleeps to see an object expire.

use std::time::Duration;

use rets_core::{
    tuple, CounterOp, Error, InsertOptions, ManualClock, Msgpack, Owner, Table, TableOptions,
    TableType, Term,
};

const TYPES: [TableType; 4] = [
    TableType::Set,
    TableType::OrderedSet,
    TableType::Bag,
    TableType::DuplicateBag,
];

const SEC: Duration = Duration::from_secs(1);

fn cache(owner: &Owner, t: TableType, clock: &ManualClock, ttl: Option<Duration>) -> Table {
    let mut options = TableOptions::new()
        .table_type(t)
        .public()
        .clock(clock.clone());
    if let Some(ttl) = ttl {
        options = options.ttl(ttl);
    }
    owner.new_table("c", options).unwrap()
}

/// Every read form's view of the table, as one comparable value.
fn everything(t: &Table) -> (Vec<Term>, usize, Vec<Term>, Vec<Term>, usize) {
    let listed = t.tab2list().unwrap().iter().map(|o| o.to_term()).collect();
    let mut stepped = Vec::new();
    let mut k = t.first().unwrap();
    while let Some(key) = k {
        stepped.push(key.to_term());
        k = t.next(&key).unwrap();
    }
    let mut back = Vec::new();
    let mut k = t.last().unwrap();
    while let Some(key) = k {
        back.push(key.to_term());
        k = t.prev(&key).unwrap();
    }
    let folded = t.foldl(0, |n, _| n + 1).unwrap();
    (listed, t.size().unwrap(), stepped, back, folded)
}

#[test]
fn an_expired_object_is_invisible_to_every_read() {
    let owner = Owner::new();
    for ty in TYPES {
        let clock = ManualClock::new();
        let t = cache(&owner, ty, &clock, Some(10 * SEC));
        t.insert(tuple!("a", 1)).unwrap();
        t.insert(tuple!("b", 2)).unwrap();
        clock.advance(5 * SEC);
        t.insert(tuple!("c", 3)).unwrap();
        assert_eq!(t.size().unwrap(), 3, "{ty}");
        clock.advance(5 * SEC);
        // a and b are at their deadline: gone for every read.
        assert!(t.lookup("a").unwrap().is_empty(), "{ty}");
        assert!(!t.member("b").unwrap(), "{ty}");
        assert_eq!(t.lookup_element("a", 2), Err(Error::KeyNotFound), "{ty}");
        assert_eq!(
            t.lookup_element_or("a", 2, 0).unwrap(),
            Term::from(0),
            "{ty}"
        );
        let (listed, size, stepped, back, folded) = everything(&t);
        assert_eq!(listed, vec![tuple!("c", 3)], "{ty}");
        assert_eq!(size, 1, "{ty}");
        assert_eq!(stepped, vec![Term::from("c")], "{ty}");
        assert_eq!(back, vec![Term::from("c")], "{ty}");
        assert_eq!(folded, 1, "{ty}");
        assert_eq!(
            t.first_lookup().unwrap().unwrap().0.to_term(),
            Term::from("c")
        );
        assert!(t.next_lookup("c").unwrap().is_none(), "{ty}");
        assert!(t.take("a").unwrap().is_empty(), "{ty}");
        assert_eq!(t.info().unwrap().size, 1, "{ty}");
        // Writing an expired key again starts afresh.
        assert!(t.insert_new(tuple!("a", 7)).unwrap(), "{ty}");
        assert_eq!(t.lookup("a").unwrap()[0].to_term(), tuple!("a", 7), "{ty}");
        clock.advance(5 * SEC);
        assert!(t.lookup("c").unwrap().is_empty(), "{ty}");
        assert_eq!(everything(&t).0, vec![tuple!("a", 7)], "{ty}");
    }
}

#[test]
fn a_per_object_lifetime_overrides_the_default_and_works_without_one() {
    let owner = Owner::new();
    for ty in TYPES {
        let clock = ManualClock::new();
        let t = cache(&owner, ty, &clock, None);
        t.insert(tuple!("forever", 1)).unwrap();
        t.insert_with(tuple!("short", 1), InsertOptions::ttl(SEC))
            .unwrap();
        t.insert_many_with(
            [tuple!("m1", 1), tuple!("m2", 2)],
            InsertOptions::ttl(2 * SEC),
        )
        .unwrap();
        assert!(t
            .insert_new_with(tuple!("n", 1), InsertOptions::ttl(3 * SEC))
            .unwrap());
        assert_eq!(t.size().unwrap(), 5, "{ty}");
        clock.advance(SEC);
        assert!(!t.member("short").unwrap(), "{ty}");
        assert_eq!(t.size().unwrap(), 4, "{ty}");
        clock.advance(SEC);
        assert!(!t.member("m1").unwrap() && !t.member("m2").unwrap(), "{ty}");
        clock.advance(SEC);
        assert!(!t.member("n").unwrap(), "{ty}");
        clock.advance(1000 * SEC);
        assert!(t.member("forever").unwrap(), "{ty}");
        assert_eq!(t.size().unwrap(), 1, "{ty}");

        let d = cache(&owner, ty, &clock, Some(10 * SEC));
        d.insert_with(tuple!("long", 1), InsertOptions::ttl(100 * SEC))
            .unwrap();
        d.insert(tuple!("default", 1)).unwrap();
        clock.advance(10 * SEC);
        assert!(!d.member("default").unwrap(), "{ty}");
        assert!(d.member("long").unwrap(), "{ty}");
    }
}

/// Objects given as MessagePack: canonical input is stored from the caller's bytes (a path of
/// its own on sets and ordered_sets), other input is rewritten first; both keep the lifetimes
/// they are given, for new keys and for keys they replace.
#[test]
fn messagepack_inserts_take_their_lifetimes() {
    let owner = Owner::new();
    // ["k", 1]: canonical, and the same object with 1 as a uint16 (not canonical).
    let canonical = [0x92, 0xa1, b'k', 0x01];
    let rewritten = [0x92, 0xa1, b'k', 0xcd, 0x00, 0x01];
    let other = |key: u8| [0x92, 0xa1, key, 0x02];
    for ty in TYPES {
        for input in [&canonical[..], &rewritten[..]] {
            let clock = ManualClock::new();
            let t = cache(&owner, ty, &clock, Some(10 * SEC));
            t.insert_with(Msgpack(input), InsertOptions::ttl(2 * SEC))
                .unwrap();
            t.insert(Msgpack(&other(b'd'))).unwrap();
            clock.advance(SEC);
            assert!(t.member("k").unwrap(), "{ty}");
            // A rewrite with a new lifetime: it ends 3 s from now, not 1 s.
            t.insert_with(Msgpack(input), InsertOptions::ttl(3 * SEC))
                .unwrap();
            clock.advance(2 * SEC);
            assert!(t.member("k").unwrap(), "{ty} {input:?}");
            // A duplicate_bag keeps both copies, under their key's one lifetime.
            let copies = if ty == TableType::DuplicateBag { 2 } else { 1 };
            assert_eq!(t.lookup("k").unwrap().len(), copies, "{ty}");
            clock.advance(SEC);
            assert!(!t.member("k").unwrap(), "{ty} {input:?}");
            // The table's default lifetime for an insert without one.
            assert!(t.member("d").unwrap(), "{ty}");
            clock.advance(6 * SEC);
            assert!(!t.member("d").unwrap(), "{ty}");
            assert_eq!(t.size().unwrap(), 0, "{ty}");
        }
    }
}

#[test]
fn a_rewrite_restarts_the_lifetime_and_updates_keep_it() {
    let owner = Owner::new();
    for ty in [TableType::Set, TableType::OrderedSet] {
        let clock = ManualClock::new();
        let t = cache(&owner, ty, &clock, Some(10 * SEC));
        t.insert(tuple!("k", 0)).unwrap();
        clock.advance(8 * SEC);
        t.insert(tuple!("k", 1)).unwrap();
        clock.advance(8 * SEC);
        assert!(t.member("k").unwrap(), "{ty}: the rewrite restarted it");
        // A counter keeps its window: updates do not restart it.
        assert_eq!(t.update_counter("k", 5).unwrap(), 6);
        assert!(t.update_element("k", &[(2, Term::from(9))]).unwrap());
        clock.advance(2 * SEC);
        assert!(!t.member("k").unwrap(), "{ty}");
        // On an expired key, an update without default finds nothing...
        assert_eq!(t.update_counter("k", 1), Err(Error::KeyNotFound));
        assert!(!t.update_element("k", &[(2, Term::from(1))]).unwrap());
        // ...and one with a default inserts it with the table's lifetime, or its own.
        let ops = [CounterOp::new(2, 1)];
        assert_eq!(
            t.update_counters_or("k", &ops, tuple!("k", 100)).unwrap(),
            [101]
        );
        t.update_counters_or_with("w", &ops, tuple!("w", 0), InsertOptions::ttl(SEC))
            .unwrap();
        assert!(t
            .update_element_or_with(
                "e",
                &[(2, Term::from(1))],
                tuple!("e", 0),
                InsertOptions::ttl(SEC)
            )
            .unwrap());
        // update_element_or too: an inserted default gets the table's lifetime, and a lifetime
        // given for an existing object replaces the one it had.
        assert!(t
            .update_element_or("f", &[(2, Term::from(1))], tuple!("f", 0))
            .unwrap());
        t.insert(tuple!("g", 0)).unwrap();
        assert!(t
            .update_element_or_with(
                "g",
                &[(2, Term::from(1))],
                tuple!("g", 0),
                InsertOptions::ttl(SEC)
            )
            .unwrap());
        clock.advance(SEC);
        for gone in ["w", "e", "g"] {
            assert!(
                !t.member(gone).unwrap(),
                "{ty}: {gone} outlived its own lifetime"
            );
        }
        assert!(t.member("k").unwrap() && t.member("f").unwrap(), "{ty}");
        clock.advance(9 * SEC);
        assert!(!t.member("k").unwrap(), "{ty}");
        assert!(
            !t.member("f").unwrap(),
            "{ty}: f outlived the table's lifetime"
        );
    }
}

#[test]
fn time_to_idle_restarts_on_reads() {
    let owner = Owner::new();
    for ty in TYPES {
        let clock = ManualClock::new();
        let t = owner
            .new_table(
                "idle",
                TableOptions::new()
                    .table_type(ty)
                    .clock(clock.clone())
                    .time_to_idle(10 * SEC),
            )
            .unwrap();
        t.insert(tuple!("read", 1)).unwrap();
        t.insert(tuple!("unread", 1)).unwrap();
        for _ in 0..5 {
            clock.advance(6 * SEC);
            assert!(t.member("read").unwrap(), "{ty}");
        }
        assert!(!t.member("unread").unwrap(), "{ty}");
        clock.advance(10 * SEC);
        assert!(!t.member("read").unwrap(), "{ty}");
    }
    assert!(matches!(
        owner.new_table("x", TableOptions::new().ttl(Duration::ZERO)),
        Err(Error::BadArgument(_))
    ));
}

fn both(owner: &Owner, ty: TableType, clock: &ManualClock) -> Table {
    let options = TableOptions::new()
        .table_type(ty)
        .public()
        .clock(clock.clone())
        .ttl(25 * SEC)
        .time_to_idle(10 * SEC);
    owner.new_table("both", options).unwrap()
}

/// The keys a traversal sees (a traversal does not restart idle lifetimes).
fn keys(t: &Table) -> Vec<Term> {
    let mut keys: Vec<Term> = t.tab2list().unwrap().iter().map(|o| o.key()).collect();
    keys.sort_by_key(|k| format!("{k:?}"));
    keys
}

#[test]
fn ttl_and_time_to_idle_together_expire_at_the_earlier() {
    let owner = Owner::new();
    for ty in TYPES {
        let clock = ManualClock::new();
        let t = both(&owner, ty, &clock);
        let empty = t.memory().unwrap();
        t.insert(tuple!("read", 1)).unwrap();
        t.insert(tuple!("unread", 1)).unwrap();
        t.insert_with(tuple!("short", 1), InsertOptions::ttl(5 * SEC))
            .unwrap();
        t.insert_with(tuple!("long", 1), InsertOptions::ttl(100 * SEC))
            .unwrap();
        clock.advance(4 * SEC); // 4 s
        for key in ["short", "read", "long"] {
            assert!(t.member(key).unwrap(), "{ty} {key}");
        }
        clock.advance(SEC); // 5 s: its own lifetime ends, read or not
        assert!(!t.member("short").unwrap(), "{ty}");
        clock.advance(4 * SEC); // 9 s
        assert!(t.lookup_element("read", 2).is_ok(), "{ty}");
        assert_eq!(t.lookup("long").unwrap().len(), 1, "{ty}");
        assert_eq!(keys(&t).len(), 3, "{ty}: unread is still there");
        clock.advance(SEC); // 10 s: idle for the idle lifetime
        assert_eq!(keys(&t), [Term::from("long"), Term::from("read")], "{ty}");
        for _ in 0..2 {
            clock.advance(6 * SEC); // 16 s, 22 s
            assert!(t.member("read").unwrap(), "{ty}");
            assert!(t.member("long").unwrap(), "{ty}");
        }
        clock.advance(3 * SEC); // 25 s: the table's ttl ends it, though read 3 s ago
        assert!(!t.member("read").unwrap(), "{ty}");
        assert_eq!(keys(&t), [Term::from("long")], "{ty}");
        clock.advance(6 * SEC); // 31 s: its own lifetime is longer; read 9 s ago
        assert!(t.member("long").unwrap(), "{ty}");
        clock.advance(10 * SEC); // 41 s: idle for 10 s
        assert!(!t.member("long").unwrap(), "{ty}");
        assert_eq!(t.size().unwrap(), 0, "{ty}");
        assert_eq!(t.purge_expired().unwrap(), 4, "{ty}");
        assert_eq!(t.cache_stats().unwrap().expirations, 4, "{ty}");
        assert_eq!(t.memory().unwrap(), empty, "{ty}: kept ends are freed too");
    }
}

#[test]
fn with_both_lifetimes_an_update_restarts_the_idle_time_and_keeps_the_end() {
    let owner = Owner::new();
    for ty in [TableType::Set, TableType::OrderedSet] {
        let clock = ManualClock::new();
        let t = both(&owner, ty, &clock);
        t.insert(tuple!("n", 0)).unwrap();
        clock.advance(8 * SEC); // 8 s
        assert_eq!(t.update_counter("n", 1).unwrap(), 1, "{ty}");
        clock.advance(9 * SEC); // 17 s: idle since 8 s only
        assert_eq!(t.size().unwrap(), 1, "{ty}");
        assert_eq!(t.update_counter("n", 1).unwrap(), 2, "{ty}");
        clock.advance(7 * SEC); // 24 s
        assert_eq!(t.size().unwrap(), 1, "{ty}");
        clock.advance(SEC); // 25 s: the lifetime from the insert ends
        assert_eq!(t.size().unwrap(), 0, "{ty}");
        assert_eq!(t.update_counter("n", 1), Err(Error::KeyNotFound), "{ty}");
    }
}

#[test]
fn on_an_idle_table_a_per_object_lifetime_still_ends_the_object() {
    let owner = Owner::new();
    for ty in TYPES {
        let clock = ManualClock::new();
        let options = TableOptions::new()
            .table_type(ty)
            .clock(clock.clone())
            .time_to_idle(10 * SEC);
        let t = owner.new_table("idle", options).unwrap();
        t.insert_with(tuple!("k", 1), InsertOptions::ttl(15 * SEC))
            .unwrap();
        t.insert(tuple!("plain", 1)).unwrap();
        for _ in 0..2 {
            clock.advance(7 * SEC); // 7 s, 14 s
            assert!(t.member("k").unwrap(), "{ty}");
            assert!(t.member("plain").unwrap(), "{ty}");
        }
        clock.advance(SEC); // 15 s
        assert!(!t.member("k").unwrap(), "{ty}");
        assert!(t.member("plain").unwrap(), "{ty}");
    }
}

#[test]
fn purging_frees_expired_objects_and_counts_them() {
    let owner = Owner::new();
    for ty in TYPES {
        let clock = ManualClock::new();
        let t = cache(&owner, ty, &clock, Some(SEC));
        let empty = t.memory().unwrap();
        for i in 0..1000 {
            t.insert(tuple!(i, "payload")).unwrap();
        }
        t.insert_with(tuple!("stays", 1), InsertOptions::ttl(100 * SEC))
            .unwrap();
        assert_eq!(t.purge_expired().unwrap(), 0, "{ty}");
        clock.advance(SEC);
        assert_eq!(t.purge_expired().unwrap(), 1000, "{ty}");
        assert_eq!(t.cache_stats().unwrap().expirations, 1000, "{ty}");
        t.delete("stays").unwrap();
        assert_eq!(t.memory().unwrap(), empty, "{ty}");
        t.reset_cache_stats().unwrap();
        assert_eq!(t.cache_stats().unwrap().expirations, 0, "{ty}");
    }
}

#[test]
fn overwriting_an_expired_object_counts_an_expiration() {
    let owner = Owner::new();
    for ty in [TableType::Set, TableType::OrderedSet] {
        let clock = ManualClock::new();
        let t = cache(&owner, ty, &clock, Some(SEC));
        t.insert(tuple!("k", 1)).unwrap();
        clock.advance(SEC);
        t.insert(tuple!("k", 2)).unwrap();
        assert_eq!(t.cache_stats().unwrap().expirations, 1, "{ty}");
        assert_eq!(t.size().unwrap(), 1, "{ty}");
    }
}

#[test]
fn the_sweeper_reclaims_an_untouched_table() {
    let owner = Owner::new();
    let clock = ManualClock::new();
    let t = cache(&owner, TableType::Set, &clock, Some(SEC));
    let empty = t.memory().unwrap();
    for i in 0..10_000 {
        t.insert(tuple!(i, "payload")).unwrap();
    }
    clock.advance(SEC);
    // Nobody touches the table: the sweeper runs every SWEEP_INTERVAL. Wait for it (bounded).
    let limit = std::time::Instant::now() + 5 * rets_core::cache::SWEEP_INTERVAL;
    while t.memory().unwrap() != empty {
        assert!(std::time::Instant::now() < limit, "not reclaimed in time");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(t.cache_stats().unwrap().expirations, 10_000);
}
