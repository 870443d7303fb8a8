//! Chunked traversal (`Table::iter`, `iter_rev`, `range`, `chunk_with`): chunk boundaries,
//! start keys present and absent, the last chunk, bad input, deleted tables, expired objects,
//! and agreement with first/next on every table type.

use std::ops::Bound;
use std::time::Duration;

use rets_core::{
    tuple, Error, InsertOptions, Key, ManualClock, Object, Owner, Table, TableOptions, TableType,
    Term,
};

const TYPES: [TableType; 4] = [
    TableType::Set,
    TableType::OrderedSet,
    TableType::Bag,
    TableType::DuplicateBag,
];

fn table(owner: &Owner, t: TableType) -> Table {
    owner
        .new_table("t", TableOptions::new().table_type(t).public())
        .unwrap()
}

/// Every object by first/next_lookup: the order chunks must reproduce.
fn stepped(t: &Table, backward: bool) -> Vec<Object> {
    let mut out = Vec::new();
    let mut at = if backward {
        t.last_lookup()
    } else {
        t.first_lookup()
    }
    .unwrap();
    while let Some((key, objects)) = at {
        out.extend(objects);
        at = if backward {
            t.prev_lookup(&key)
        } else {
            t.next_lookup(&key)
        }
        .unwrap();
    }
    out
}

/// Keys by chunks of `n` through `chunk_with`, each chunk starting after the last key of the
/// one before, with the size of every chunk.
fn chunked_keys(t: &Table, n: usize, backward: bool) -> (Vec<Term>, Vec<usize>) {
    let (mut keys, mut sizes) = (Vec::new(), Vec::new());
    let mut after: Option<Key> = None;
    loop {
        let mut last = None;
        let start = after.as_ref().map_or(Bound::Unbounded, Bound::Excluded);
        let got = t
            .chunk_with(start, n, backward, |key, objects| {
                assert!(objects.len() > 0, "a visited key has objects");
                keys.push(Key::from_msgpack(key).unwrap().to_term());
                last = Some(Key::from_msgpack(key).unwrap());
            })
            .unwrap();
        sizes.push(got);
        if got < n {
            return (keys, sizes);
        }
        after = last;
    }
}

#[test]
fn chunks_of_every_size_match_first_next_on_every_type() {
    for ty in TYPES {
        for count in [0i64, 1, 2, 31, 32, 33, 100, 1500] {
            let owner = Owner::new();
            let t = table(&owner, ty);
            t.insert_many((0..count).map(|i| tuple!(i % 997 * 7 + i / 997, i)))
                .unwrap();
            if !ty.is_set() {
                // A second object under some keys: a chunk holds whole keys.
                t.insert_many((0..count / 3).map(|i| tuple!(i * 7, -i)))
                    .unwrap();
            }
            for backward in [false, true] {
                let want = stepped(&t, backward);
                let want_keys: Vec<Term> = {
                    let mut keys: Vec<Term> = want.iter().map(Object::key).collect();
                    keys.dedup();
                    keys
                };
                for n in [1usize, 2, 3, 7, 32, 64, 1000, 5000] {
                    let iter = if backward { t.iter_rev() } else { t.iter() };
                    let got: Vec<Object> = iter
                        .chunk_size(n)
                        .collect::<rets_core::Result<_>>()
                        .unwrap();
                    assert_eq!(got, want, "{ty} count {count} n {n} backward {backward}");
                    let (keys, sizes) = chunked_keys(&t, n, backward);
                    assert_eq!(keys, want_keys, "{ty} count {count} n {n}");
                    // Full chunks until the last, which is short (possibly empty).
                    let (last, full) = sizes.split_last().unwrap();
                    assert!(full.iter().all(|&s| s == n) && *last < n, "{sizes:?}");
                }
            }
        }
    }
}

#[test]
fn start_keys_present_absent_and_inclusive() {
    let owner = Owner::new();
    let t = table(&owner, TableType::OrderedSet);
    t.insert_many((0..50i64).map(|i| tuple!(i * 10, i)))
        .unwrap();
    let keys = |start: Bound<Term>, n: usize, backward: bool| {
        let mut out = Vec::new();
        t.chunk_with(start, n, backward, |k, _| {
            out.push(Key::from_msgpack(k).unwrap().to_term().as_i64().unwrap())
        })
        .unwrap();
        out
    };
    let int = |i: i64| Term::from(i);
    assert_eq!(keys(Bound::Excluded(int(20)), 3, false), [30, 40, 50]);
    assert_eq!(keys(Bound::Included(int(20)), 3, false), [20, 30, 40]);
    assert_eq!(keys(Bound::Included(int(25)), 3, false), [30, 40, 50]);
    assert_eq!(keys(Bound::Excluded(int(25)), 2, false), [30, 40]);
    assert_eq!(keys(Bound::Excluded(int(20)), 3, true), [10, 0]);
    assert_eq!(keys(Bound::Included(int(20)), 3, true), [20, 10, 0]);
    assert_eq!(keys(Bound::Included(int(25)), 1, true), [20]);
    assert_eq!(keys(Bound::Unbounded, 2, true), [490, 480]);
    assert_eq!(keys(Bound::Excluded(int(490)), 5, false), Vec::<i64>::new());
    assert_eq!(keys(Bound::Excluded(int(-5)), 1, false), [0]);
    // Compare-equal: 20.0 is the key 20 on an ordered_set.
    assert_eq!(keys(Bound::Included(Term::Float(20.0)), 2, false), [20, 30]);
    assert_eq!(keys(Bound::Excluded(Term::Float(20.0)), 1, false), [30]);
    // A start key of another kind sorts by term order (numbers before atoms and strings).
    assert_eq!(
        keys(Bound::Excluded(Term::from("a")), 3, false),
        Vec::<i64>::new()
    );
    assert_eq!(keys(Bound::Included(Term::from("a")), 1, true), [490]);

    // On a hash table: Included(k) is k itself, then what `next` gives.
    let h = table(&owner, TableType::Set);
    h.insert_many((0..50i64).map(|i| tuple!(i, i))).unwrap();
    let order: Vec<Term> = stepped(&h, false).iter().map(Object::key).collect();
    let mut from_7 = Vec::new();
    h.chunk_with(Bound::Included(7), 3, false, |k, _| {
        from_7.push(Key::from_msgpack(k).unwrap().to_term())
    })
    .unwrap();
    let at = order.iter().position(|k| *k == Term::from(7)).unwrap();
    assert_eq!(from_7, order[at..(at + 3).min(order.len())]);
    // An absent key starts where `next` of it does.
    let mut after_absent = Vec::new();
    h.chunk_with(Bound::Excluded(1000), 2, false, |k, _| {
        after_absent.push(Key::from_msgpack(k).unwrap().to_term())
    })
    .unwrap();
    let next = h.next(1000).unwrap().map(|k| k.to_term());
    assert_eq!(after_absent.first().cloned(), next);
}

#[test]
fn ranges_of_an_ordered_set() {
    let owner = Owner::new();
    let t = table(&owner, TableType::OrderedSet);
    t.insert_many((0..300i64).map(|i| tuple!(i, i))).unwrap();
    let keys = |it: rets_core::Iter<'_>| -> Vec<i64> {
        it.map(|o| o.unwrap().key().as_i64().unwrap()).collect()
    };
    assert_eq!(keys(t.range(10i64..13).unwrap()), [10, 11, 12]);
    assert_eq!(keys(t.range(10i64..=13).unwrap()), [10, 11, 12, 13]);
    assert_eq!(keys(t.range(297i64..).unwrap()), [297, 298, 299]);
    assert_eq!(keys(t.range(..3i64).unwrap()), [0, 1, 2]);
    assert_eq!(keys(t.range(..=0i64).unwrap()), [0]);
    assert_eq!(keys(t.range(5i64..5).unwrap()), Vec::<i64>::new());
    assert_eq!(keys(t.range(500i64..).unwrap()), Vec::<i64>::new());
    assert_eq!(
        keys(
            t.range((Bound::Excluded(10i64), Bound::Excluded(13i64)))
                .unwrap()
        ),
        [11, 12]
    );
    // Float bounds compare equal to integers.
    assert_eq!(
        keys(t.range(Term::Float(9.5)..Term::Float(12.0)).unwrap()),
        [10, 11]
    );
    // A long range over many chunks of every size.
    for n in [1, 5, 64, 299, 300, 1000] {
        let got = keys(t.range(1i64..299).unwrap().chunk_size(n));
        assert_eq!(got, (1..299).collect::<Vec<_>>(), "chunk {n}");
    }
    // Borrowed objects: the same sequence without copies.
    let mut it = t.range(100i64..103).unwrap();
    let mut seen = Vec::new();
    while let Some(o) = it.next_ref() {
        seen.push(o.unwrap().to_object());
    }
    assert_eq!(
        seen,
        t.range(100i64..103)
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
    );
    assert!(it.next_ref().is_none(), "fused");

    // Not on a hash table: its order is not term order.
    let set = table(&owner, TableType::Set);
    assert!(matches!(
        set.range(1i64..),
        Err(Error::WrongTableType { op: "range", .. })
    ));
    // A bad key is an error before anything is read.
    assert!(matches!(
        t.range(Term::Float(f64::NAN)..),
        Err(Error::Term(_))
    ));
}

#[test]
fn bad_input_and_empty_tables() {
    let owner = Owner::new();
    for ty in TYPES {
        let t = table(&owner, ty);
        assert!(
            matches!(
                t.chunk_with(Bound::<i64>::Unbounded, 0, false, |_, _| ()),
                Err(Error::BadArgument(_))
            ),
            "n = 0 on {ty}"
        );
        assert_eq!(
            t.chunk_with(Bound::<i64>::Unbounded, 5, false, |_, _| ())
                .unwrap(),
            0
        );
        assert_eq!(
            t.chunk_with(Bound::Excluded(3), 5, true, |_, _| ())
                .unwrap(),
            0
        );
        assert!(t.iter().next().is_none());
        assert!(t.iter_rev().next().is_none());
        // n = 0 changed nothing and the table still works.
        t.insert(tuple!(1, 1)).unwrap();
        assert_eq!(t.iter().count(), 1);
        t.delete_table().unwrap();
    }
}

#[test]
fn a_deleted_table_ends_an_iterator_with_an_error() {
    for ty in TYPES {
        let owner = Owner::new();
        let t = table(&owner, ty);
        t.insert_many((0..100i64).map(|i| tuple!(i, i))).unwrap();
        let mut it = t.iter().chunk_size(10);
        for _ in 0..10 {
            it.next().unwrap().unwrap();
        }
        t.delete_table().unwrap();
        assert!(
            matches!(it.next(), Some(Err(Error::NoTable { .. }))),
            "{ty}: the next chunk sees the deletion"
        );
        assert!(it.next().is_none(), "and the iterator ends");
        assert!(matches!(
            t.chunk_with(Bound::<i64>::Unbounded, 3, false, |_, _| ()),
            Err(Error::NoTable { .. })
        ));
        assert!(matches!(t.iter().next(), Some(Err(Error::NoTable { .. }))));
        assert!(matches!(
            t.foldl(0, |a, _| a + 1),
            Err(Error::NoTable { .. })
        ));
    }
}

#[test]
fn access_is_checked_per_chunk() {
    let owner = Owner::new();
    let other = Owner::new();
    let t = owner
        .new_table("p", TableOptions::new().ordered_set().private())
        .unwrap();
    t.insert_many((0..10i64).map(|i| tuple!(i, i))).unwrap();
    let foreign = t.with_caller(&other);
    assert!(matches!(
        foreign.range(0i64..).unwrap().next(),
        Some(Err(Error::Access { need: "read", .. }))
    ));
    assert!(matches!(
        foreign.chunk_with(Bound::<i64>::Unbounded, 3, false, |_, _| ()),
        Err(Error::Access { need: "read", .. })
    ));
    assert_eq!(t.range(0i64..).unwrap().count(), 10);
}

#[test]
fn expired_objects_are_never_returned() {
    for ty in TYPES {
        let owner = Owner::new();
        let clock = ManualClock::new();
        let t = owner
            .new_table(
                "c",
                TableOptions::new()
                    .table_type(ty)
                    .public()
                    .clock(clock.clone()),
            )
            .unwrap();
        // Every third key expires after a second; the others never.
        for i in 0..200i64 {
            let options = if i % 3 == 0 {
                InsertOptions::ttl(Duration::from_secs(1))
            } else {
                InsertOptions::default()
            };
            t.insert_with(tuple!(i, i), options).unwrap();
        }
        assert_eq!(t.iter().count(), 200, "{ty}");
        clock.advance(Duration::from_secs(2));
        let want = stepped(&t, false);
        assert_eq!(want.len(), 133, "{ty}");
        for n in [1, 2, 3, 64] {
            let got: Vec<Object> = t.iter().chunk_size(n).map(Result::unwrap).collect();
            assert_eq!(got, want, "{ty} chunk {n}");
            assert!(got.iter().all(|o| o.key().as_i64().unwrap() % 3 != 0));
            let (keys, _) = chunked_keys(&t, n, false);
            assert_eq!(keys.len(), 133);
        }
    }
}

#[test]
fn large_objects_end_a_chunk_early_and_none_is_lost() {
    let owner = Owner::new();
    for ty in [TableType::OrderedSet, TableType::Set] {
        let t = table(&owner, ty);
        let big = vec![7u8; 100_000];
        t.insert_many((0..20i64).map(|i| tuple!(i, Term::Bin(big.clone()))))
            .unwrap();
        let got: Vec<Object> = t.iter().chunk_size(64).map(Result::unwrap).collect();
        assert_eq!(got, stepped(&t, false));
        t.delete_table().unwrap();
    }
}

#[test]
fn folds_run_their_function_outside_the_table_and_may_write_it() {
    for ty in TYPES {
        let owner = Owner::new();
        let t = table(&owner, ty);
        t.insert_many((0..300i64).map(|i| tuple!(i, i))).unwrap();
        // The function writes the table it folds (a lock or guard held across it would
        // deadlock or be unsound): each original key adds a new one, which the fold may or
        // may not visit.
        let visited = t
            .foldl(0, |n, o| {
                let k = o.key().as_i64().unwrap();
                if k < 300 {
                    t.insert(tuple!(k + 1000, 0)).unwrap();
                }
                n + 1
            })
            .unwrap();
        assert!((300..=600).contains(&visited), "{ty}: {visited}");
        let back = t.foldr(Vec::new(), |mut v, o| {
            v.push(o.to_term());
            v
        });
        assert_eq!(back.unwrap().len(), t.size().unwrap());
    }
}
