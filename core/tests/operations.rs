//! Every single-object operation on every table type, with ETS's edge cases.

use rets_core::{
    tuple, CounterOp, Error, Key, Msgpack, Object, Owner, Table, TableOptions, TableType, Term,
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

fn terms(objects: &[Object]) -> Vec<Term> {
    objects.iter().map(Object::to_term).collect()
}

fn arr(items: Vec<Term>) -> Term {
    Term::Array(items)
}

#[test]
fn insert_and_lookup_follow_the_table_type() {
    let owner = Owner::new();
    for t in TYPES {
        let tab = table(&owner, t);
        tab.insert(tuple!("k", 1)).unwrap();
        tab.insert(tuple!("k", 2)).unwrap();
        tab.insert(tuple!("k", 2)).unwrap();
        tab.insert(tuple!("k", 1)).unwrap();
        let got = terms(&tab.lookup("k").unwrap());
        let expected = match t {
            TableType::Set | TableType::OrderedSet => vec![tuple!("k", 1)],
            // A bag keeps insertion order and drops exact duplicates.
            TableType::Bag => vec![tuple!("k", 1), tuple!("k", 2)],
            TableType::DuplicateBag => vec![
                tuple!("k", 1),
                tuple!("k", 2),
                tuple!("k", 2),
                tuple!("k", 1),
            ],
        };
        assert_eq!(got, expected, "{t}");
        assert_eq!(tab.lookup("missing").unwrap(), vec![], "{t}");
        assert_eq!(tab.info().unwrap().size, expected.len(), "{t}");
    }
}

#[test]
fn key_equality_is_exact_except_on_ordered_set() {
    let owner = Owner::new();
    for t in TYPES {
        let tab = table(&owner, t);
        tab.insert(tuple!(1, "int")).unwrap();
        tab.insert(tuple!(1.0, "float")).unwrap();
        let ints = terms(&tab.lookup(1).unwrap());
        let floats = terms(&tab.lookup(Term::Float(1.0)).unwrap());
        if t == TableType::OrderedSet {
            // 1 and 1.0 compare equal: the second insert replaced the first, key and all.
            assert_eq!(ints, vec![tuple!(1.0, "float")]);
            assert_eq!(floats, ints);
            assert_eq!(tab.info().unwrap().size, 1);
        } else {
            assert_eq!(ints, vec![tuple!(1, "int")], "{t}");
            assert_eq!(floats, vec![tuple!(1.0, "float")], "{t}");
            assert_eq!(tab.info().unwrap().size, 2, "{t}");
        }
    }
}

#[test]
fn keys_are_one_key_however_they_were_encoded() {
    let owner = Owner::new();
    let tab = table(&owner, TableType::Set);
    // [5, "v"] with 5 as a uint16 and "v" with a str8 header: not canonical, same object.
    let odd = [0x92, 0xcd, 0x00, 0x05, 0xd9, 0x01, b'v'];
    tab.insert(Msgpack(&odd)).unwrap();
    assert_eq!(terms(&tab.lookup(5).unwrap()), vec![tuple!(5, "v")]);
    // A key given as int8 finds it too.
    assert!(tab.member(Msgpack(&[0xd0, 0x05])).unwrap());
    // Maps with the same entries in another order are the same key.
    let m1 = Term::map([("a", 1), ("b", 2)]);
    let m2 = Term::Map(vec![("b".into(), 2.into()), ("a".into(), 1.into())]);
    tab.insert(arr(vec![m1.clone(), "map".into()])).unwrap();
    assert!(tab.member(&m2).unwrap());
    assert_eq!(Key::new(m1).unwrap(), Key::new(m2).unwrap());
}

#[test]
fn bad_objects_are_rejected_and_change_nothing() {
    let owner = Owner::new();
    let tab = owner
        .new_table("k2", TableOptions::new().keypos(2).public())
        .unwrap();
    assert!(matches!(
        tab.insert(tuple!("only")),
        Err(Error::ObjectTooShort {
            arity: 1,
            keypos: 2
        })
    ));
    assert!(matches!(
        tab.insert(Term::from(5)),
        Err(Error::NotAnArray { .. })
    ));
    assert!(matches!(
        tab.insert(Msgpack(&[0x92, 0x01])),
        Err(Error::Term(_))
    ));
    // One bad object in a list: nothing is inserted.
    let err = tab
        .insert_many([tuple!("a", 1), tuple!("b", 2), arr(vec![])])
        .unwrap_err();
    assert!(matches!(err, Error::ObjectTooShort { .. }));
    assert_eq!(tab.info().unwrap().size, 0);
    // The key is at position 2.
    tab.insert(tuple!("value", "key")).unwrap();
    assert_eq!(
        terms(&tab.lookup("key").unwrap()),
        vec![tuple!("value", "key")]
    );
    assert!(
        matches!(
            owner.new_table("bad", TableOptions::new().keypos(0)),
            Err(Error::BadArgument(_))
        ),
        "keypos 0 is rejected"
    );
}

#[test]
fn insert_many_and_insert_new() {
    let owner = Owner::new();
    for t in TYPES {
        let tab = table(&owner, t);
        tab.insert_many([tuple!("a", 1), tuple!("b", 2), tuple!("a", 3)])
            .unwrap();
        let a = terms(&tab.lookup("a").unwrap());
        match t {
            TableType::Set | TableType::OrderedSet => assert_eq!(a, vec![tuple!("a", 3)]),
            _ => assert_eq!(
                a,
                vec![tuple!("a", 1), tuple!("a", 3)],
                "{t}: list order kept"
            ),
        }
        assert!(tab.insert_many(Vec::<Term>::new()).is_ok());
        // insert_new is all-or-nothing over the list.
        assert!(!tab
            .insert_new_many([tuple!("c", 1), tuple!("a", 9)])
            .unwrap());
        assert!(!tab.member("c").unwrap(), "{t}: nothing inserted");
        assert!(tab
            .insert_new_many([tuple!("c", 1), tuple!("d", 2)])
            .unwrap());
        assert!(tab.member("c").unwrap() && tab.member("d").unwrap());
        assert!(!tab.insert_new(tuple!("c", 5)).unwrap());
        assert!(tab.insert_new(tuple!("e", 5)).unwrap());
    }
}

/// insert_new and delete_object of one object given as its MessagePack encoding (what the C
/// ABI and the bindings pass; canonical input is used from where it is): absent keys are
/// inserted, a present key (compare-equal on an ordered_set) is left as it was, only the exact
/// object is deleted, non-canonical input and lifetimes take the same rules, and a full bounded
/// table evicts nothing for a key present.
#[test]
fn insert_new_and_delete_object_of_encoded_objects() {
    let owner = Owner::new();
    let encode = |t: &Term| {
        let mut bytes = Vec::new();
        rets_core::term::encode(t, &mut bytes).unwrap();
        bytes
    };
    for t in TYPES {
        let tab = table(&owner, t);
        let a1 = encode(&tuple!(1, "a"));
        assert!(tab.insert_new(Msgpack(&a1)).unwrap(), "{t}");
        assert!(
            !tab.insert_new(Msgpack(&encode(&tuple!(1, "b")))).unwrap(),
            "{t}"
        );
        assert_eq!(terms(&tab.lookup(1).unwrap()), vec![tuple!(1, "a")], "{t}");
        // 1.0 compares equal to 1 (an ordered_set's key), and matches it nowhere else.
        let float = tab.insert_new(Msgpack(&encode(&tuple!(1.0, "c")))).unwrap();
        assert_eq!(float, t != TableType::OrderedSet, "{t}");
        // Not canonical: the integer 2 as a uint16 (canonical is one byte).
        let wide = [0x92, 0xcd, 0x00, 0x02, 0xa1, b'w'];
        assert!(tab.insert_new(Msgpack(&wide)).unwrap(), "{t}");
        assert!(!tab.insert_new(Msgpack(&wide)).unwrap(), "{t}");
        assert_eq!(terms(&tab.lookup(2).unwrap()), vec![tuple!(2, "w")], "{t}");
        let with_ttl = rets_core::InsertOptions::ttl(std::time::Duration::from_secs(60));
        let c3 = encode(&tuple!(3, "c"));
        assert!(tab.insert_new_with(Msgpack(&c3), with_ttl).unwrap(), "{t}");
        assert!(!tab.insert_new_with(Msgpack(&c3), with_ttl).unwrap(), "{t}");
        assert!(matches!(
            tab.insert_new(Msgpack(&[0x92, 0xc1])),
            Err(Error::Term(_))
        ));
        // delete_object of encoded objects: only the exact object goes (on an ordered_set
        // {1.0, a} finds the key 1, and is still another object than {1, a}).
        tab.delete_object(Msgpack(&encode(&tuple!(1, "b"))))
            .unwrap();
        tab.delete_object(Msgpack(&encode(&tuple!(1.0, "a"))))
            .unwrap();
        assert_eq!(terms(&tab.lookup(1).unwrap()), vec![tuple!(1, "a")], "{t}");
        tab.delete_object(Msgpack(&a1)).unwrap();
        assert!(!tab.member(1).unwrap(), "{t}");
        tab.delete_object(Msgpack(&wide)).unwrap();
        assert!(
            !tab.member(2).unwrap(),
            "{t}: non-canonical input, the same object"
        );
    }
    for options in [TableOptions::new().set(), TableOptions::new().ordered_set()] {
        let tab = owner
            .new_table("bounded", options.max_size(2).public())
            .unwrap();
        tab.insert(tuple!(1, "a")).unwrap();
        tab.insert(tuple!(2, "b")).unwrap();
        assert!(!tab.insert_new(Msgpack(&encode(&tuple!(1, "x")))).unwrap());
        assert_eq!(tab.size().unwrap(), 2, "nothing evicted for a key present");
        assert!(tab.member(2).unwrap());
    }
}

#[test]
fn lookup_element_with_and_without_default() {
    let owner = Owner::new();
    for t in TYPES {
        let tab = table(&owner, t);
        tab.insert(tuple!("k", 1, "x")).unwrap();
        if t.is_set() {
            assert_eq!(tab.lookup_element("k", 2).unwrap(), Term::from(1));
        } else {
            tab.insert(tuple!("k", 2)).unwrap();
            assert_eq!(
                tab.lookup_element("k", 2).unwrap(),
                arr(vec![1.into(), 2.into()])
            );
            // One object is too short for position 3.
            assert!(matches!(
                tab.lookup_element("k", 3),
                Err(Error::BadPosition { pos: 3, .. })
            ));
        }
        assert_eq!(
            tab.lookup_element("k", 1).unwrap(),
            match t.is_set() {
                true => Term::from("k"),
                false => arr(vec!["k".into(), "k".into()]),
            }
        );
        assert!(matches!(
            tab.lookup_element("nope", 2),
            Err(Error::KeyNotFound)
        ));
        assert_eq!(
            tab.lookup_element_or("nope", 2, "dflt").unwrap(),
            Term::from("dflt")
        );
        assert!(matches!(
            tab.lookup_element("k", 9),
            Err(Error::BadPosition { pos: 9, .. })
        ));
        // The default is for a missing key, not for a bad position.
        assert!(matches!(
            tab.lookup_element_or("k", 9, 0),
            Err(Error::BadPosition { pos: 9, .. })
        ));
        assert!(matches!(
            tab.lookup_element("k", 0),
            Err(Error::BadPosition { pos: 0, .. })
        ));
    }
}

#[test]
fn take_delete_and_delete_object() {
    let owner = Owner::new();
    for t in TYPES {
        let tab = table(&owner, t);
        tab.insert_many([tuple!("k", 1), tuple!("k", 2), tuple!("j", 1)])
            .unwrap();
        let taken = terms(&tab.take("k").unwrap());
        if t.is_set() {
            assert_eq!(taken, vec![tuple!("k", 2)]);
        } else {
            assert_eq!(taken, vec![tuple!("k", 1), tuple!("k", 2)]);
        }
        assert!(!tab.member("k").unwrap());
        assert_eq!(tab.take("k").unwrap(), vec![]);
        tab.delete("j").unwrap();
        tab.delete("never").unwrap();
        assert_eq!(tab.info().unwrap().size, 0);

        tab.insert_many([tuple!("d", 1), tuple!("d", 2), tuple!("d", 1)])
            .unwrap();
        tab.delete_object(tuple!("d", 1)).unwrap();
        let left = terms(&tab.lookup("d").unwrap());
        match t {
            // The stored object is {d,1} (last wins): deleting {d,1} removes it.
            TableType::Set | TableType::OrderedSet => assert_eq!(left, vec![]),
            // Every copy goes on a duplicate_bag.
            _ => assert_eq!(left, vec![tuple!("d", 2)], "{t}"),
        }
        // Deleting an object that is not there changes nothing.
        tab.insert(tuple!("d", 2)).unwrap();
        tab.delete_object(tuple!("d", 3)).unwrap();
        assert!(tab.member("d").unwrap());
    }
}

#[test]
fn delete_all_objects_empties_and_accounts() {
    let owner = Owner::new();
    for t in TYPES {
        let tab = table(&owner, t);
        let empty = tab.info().unwrap().memory;
        tab.insert_many((0..1000).map(|i| tuple!(i, "some value")))
            .unwrap();
        let full = tab.info().unwrap();
        assert_eq!(full.size, 1000);
        assert!(
            full.memory > empty + 1000 * 10,
            "{t}: memory grows with objects"
        );
        tab.delete_all_objects().unwrap();
        let info = tab.info().unwrap();
        assert_eq!((info.size, info.memory), (0, empty), "{t}");
        assert_eq!(tab.first().unwrap(), None);
    }
}

#[test]
fn size_and_memory_alone_agree_with_info() {
    let owner = Owner::new();
    for t in TYPES {
        let tab = table(&owner, t);
        let reader = tab.with_caller(&Owner::new());
        for n in [0, 1, 100] {
            tab.delete_all_objects().unwrap();
            tab.insert_many((0..n).map(|i| tuple!(i, "v"))).unwrap();
            let info = tab.info().unwrap();
            assert_eq!(info.size, n as usize, "{t}");
            assert_eq!(tab.size().unwrap(), info.size, "{t}");
            assert_eq!(tab.memory().unwrap(), info.memory, "{t}");
            assert_eq!(reader.size().unwrap(), info.size, "{t}: any owner may ask");
        }
        tab.delete_table().unwrap();
        assert!(matches!(tab.size(), Err(Error::NoTable { .. })), "{t}");
        assert!(matches!(tab.memory(), Err(Error::NoTable { .. })), "{t}");
    }
}

#[test]
fn update_counter_forms() {
    let owner = Owner::new();
    for t in [TableType::Set, TableType::OrderedSet] {
        let tab = table(&owner, t);
        tab.insert(tuple!("c", 10, 100, "x")).unwrap();
        assert_eq!(tab.update_counter("c", 5).unwrap(), 15);
        assert_eq!(tab.update_counter("c", -20).unwrap(), -5);
        // Several ops, applied in order, one atomic change.
        let ops = [
            CounterOp::new(3, 1),
            CounterOp::new(2, 5),
            CounterOp::new(3, 1),
        ];
        assert_eq!(tab.update_counters("c", &ops).unwrap(), vec![101, 0, 102]);
        // Threshold: incr >= 0 and result > threshold -> set value.
        let wrap = CounterOp::with_threshold(2, 3, 2, 0);
        assert_eq!(tab.update_counters("c", &[wrap]).unwrap(), vec![0]);
        assert_eq!(tab.update_counters("c", &[wrap]).unwrap(), vec![0]);
        let wrap_down = CounterOp::with_threshold(2, -1, 0, 9);
        assert_eq!(tab.update_counters("c", &[wrap_down]).unwrap(), vec![9]);
        assert_eq!(tab.update_counters("c", &[]).unwrap(), Vec::<i64>::new());
        assert_eq!(
            terms(&tab.lookup("c").unwrap()),
            vec![tuple!("c", 9, 102, "x")]
        );
        // A long list (more ops than are worked out on the stack), positions repeated, a
        // value growing past one byte of encoding and back.
        let ops = [
            CounterOp::new(2, 200),
            CounterOp::new(3, -102),
            CounterOp::new(2, 1),
            CounterOp::new(3, 70_000),
            CounterOp::new(2, -210),
            CounterOp::new(3, -70_000),
            CounterOp::with_threshold(2, 5, 3, -1),
        ];
        assert_eq!(
            tab.update_counters("c", &ops).unwrap(),
            vec![209, 0, 210, 70_000, 0, 0, -1]
        );
        assert_eq!(
            terms(&tab.lookup("c").unwrap()),
            vec![tuple!("c", -1, 0, "x")]
        );
    }
}

#[test]
fn update_counter_errors_change_nothing() {
    let owner = Owner::new();
    let tab = table(&owner, TableType::Set);
    tab.insert(tuple!("c", 1, "text", i64::MAX)).unwrap();
    let before = terms(&tab.lookup("c").unwrap());
    type Case = (Vec<CounterOp>, fn(&Error) -> bool);
    let cases: Vec<Case> = vec![
        (vec![CounterOp::new(1, 1)], |e| {
            matches!(e, Error::KeyPosition { pos: 1 })
        }),
        (vec![CounterOp::new(5, 1)], |e| {
            matches!(e, Error::BadPosition { pos: 5, .. })
        }),
        (vec![CounterOp::new(0, 1)], |e| {
            matches!(e, Error::KeyPosition { .. } | Error::BadPosition { .. })
        }),
        (vec![CounterOp::new(3, 1)], |e| {
            matches!(e, Error::NotAnInteger { pos: 3 })
        }),
        (vec![CounterOp::new(4, 1)], |e| matches!(e, Error::Overflow)),
        // The first op would succeed; the second fails: neither applies.
        (vec![CounterOp::new(2, 1), CounterOp::new(3, 1)], |e| {
            matches!(e, Error::NotAnInteger { .. })
        }),
    ];
    for (ops, expected) in cases {
        let err = tab.update_counters("c", &ops).unwrap_err();
        assert!(expected(&err), "{ops:?}: {err}");
        assert_eq!(terms(&tab.lookup("c").unwrap()), before);
    }
    assert!(matches!(
        tab.update_counter("missing", 1),
        Err(Error::KeyNotFound)
    ));
    assert!(!tab.member("missing").unwrap());
    // i64::MIN - 1 overflows too.
    tab.insert(tuple!("low", i64::MIN)).unwrap();
    assert!(matches!(
        tab.update_counter("low", -1),
        Err(Error::Overflow)
    ));
    // A threshold brings an overflowing result back into range.
    assert_eq!(
        tab.update_counters("c", &[CounterOp::with_threshold(4, 1, 0, 7)])
            .unwrap(),
        vec![7]
    );
    for t in [TableType::Bag, TableType::DuplicateBag] {
        let bag = table(&owner, t);
        bag.insert(tuple!("c", 1)).unwrap();
        assert!(matches!(
            bag.update_counter("c", 1),
            Err(Error::WrongTableType { .. })
        ));
        assert!(matches!(
            bag.update_element("c", &[(2, 5.into())]),
            Err(Error::WrongTableType { .. })
        ));
    }
}

#[test]
fn update_counter_with_default_object() {
    let owner = Owner::new();
    for t in [TableType::Set, TableType::OrderedSet] {
        let tab = table(&owner, t);
        // The default's key is replaced by the key being updated.
        let values = tab
            .update_counters_or("hits", &[CounterOp::new(2, 1)], tuple!("ignored", 0))
            .unwrap();
        assert_eq!(values, vec![1]);
        assert_eq!(terms(&tab.lookup("hits").unwrap()), vec![tuple!("hits", 1)]);
        // Present key: the default is not used.
        let values = tab
            .update_counters_or("hits", &[CounterOp::new(2, 1)], tuple!("x", 100))
            .unwrap();
        assert_eq!(values, vec![2]);
        // A bad default fails and inserts nothing.
        assert!(matches!(
            tab.update_counters_or("new", &[CounterOp::new(2, 1)], tuple!("x", "no")),
            Err(Error::NotAnInteger { pos: 2 })
        ));
        assert!(!tab.member("new").unwrap());
    }
    // On an ordered_set, 1.0 finds the object stored under 1.
    let ord = table(&owner, TableType::OrderedSet);
    ord.insert(tuple!(1, 0)).unwrap();
    assert_eq!(ord.update_counter(Term::Float(1.0), 4).unwrap(), 4);
    assert_eq!(terms(&ord.lookup(1).unwrap()), vec![tuple!(1, 4)]);
}

#[test]
fn update_element_forms() {
    let owner = Owner::new();
    for t in [TableType::Set, TableType::OrderedSet] {
        let tab = table(&owner, t);
        tab.insert(tuple!("k", 1, 2, 3)).unwrap();
        assert!(tab.update_element("k", &[(2, "a".into())]).unwrap());
        // Several positions; the last write to a repeated position wins.
        assert!(tab
            .update_element("k", &[(3, "b".into()), (4, "c".into()), (3, "d".into())])
            .unwrap());
        assert_eq!(
            terms(&tab.lookup("k").unwrap()),
            vec![tuple!("k", "a", "d", "c")]
        );
        assert!(!tab.update_element("missing", &[(2, 0.into())]).unwrap());
        assert!(!tab.member("missing").unwrap());
        assert!(matches!(
            tab.update_element("k", &[(1, 0.into())]),
            Err(Error::KeyPosition { pos: 1 })
        ));
        assert!(matches!(
            tab.update_element("k", &[(2, 0.into()), (5, 0.into())]),
            Err(Error::BadPosition { pos: 5, .. })
        ));
        assert_eq!(
            terms(&tab.lookup("k").unwrap()),
            vec![tuple!("k", "a", "d", "c")]
        );
        assert!(tab
            .update_element_or("new", &[(3, true.into())], tuple!("x", 0, 0))
            .unwrap());
        assert_eq!(
            terms(&tab.lookup("new").unwrap()),
            vec![tuple!("new", 0, true)]
        );
        // More elements than a call keeps on the stack, a repeated one among them.
        tab.insert(tuple!("wide", 0, 0, 0, 0, 0, 0, 0)).unwrap();
        let many: Vec<(usize, Term)> = [(2, 1), (3, 2), (4, 3), (5, 4), (6, 5), (8, 7), (4, 9)]
            .into_iter()
            .map(|(pos, value)| (pos, Term::from(value)))
            .collect();
        assert!(tab.update_element("wide", &many).unwrap());
        assert_eq!(
            terms(&tab.lookup("wide").unwrap()),
            vec![tuple!("wide", 1, 2, 9, 4, 5, 0, 7)]
        );
        assert!(matches!(
            tab.update_element("wide", &[many.clone(), vec![(9, 0.into())]].concat()),
            Err(Error::BadPosition { pos: 9, .. })
        ));
    }
}

#[test]
fn traversal_order_and_lookup_forms() {
    let owner = Owner::new();
    let ord = table(&owner, TableType::OrderedSet);
    let keys: Vec<Term> = vec![
        "b".into(),
        Term::bin(*b"a"),
        3.into(),
        2.5.into(),
        false.into(),
        tuple!(1),
        Term::map([(1, 1)]),
        Term::Nil,
        "a".into(),
        (-7).into(),
    ];
    for k in &keys {
        ord.insert(arr(vec![k.clone(), 0.into()])).unwrap();
    }
    let expected: Vec<Term> = vec![
        (-7).into(),
        2.5.into(),
        3.into(),
        false.into(),
        Term::Nil,
        tuple!(1),
        Term::map([(1, 1)]),
        "a".into(),
        "b".into(),
        Term::bin(*b"a"),
    ];
    let mut forward = vec![];
    let mut at = ord.first().unwrap();
    while let Some(k) = at {
        forward.push(k.to_term());
        at = ord.next(&k).unwrap();
    }
    assert_eq!(forward, expected);
    let mut backward = vec![];
    let mut at = ord.last().unwrap();
    while let Some(k) = at {
        backward.push(k.to_term());
        at = ord.prev(&k).unwrap();
    }
    backward.reverse();
    assert_eq!(backward, expected);
    // next of a key that is not in the table is the key after it.
    assert_eq!(ord.next(2.7).unwrap().unwrap().to_term(), Term::from(3));
    assert_eq!(ord.prev(2.7).unwrap().unwrap().to_term(), Term::from(2.5));
    let (k, objs) = ord.first_lookup().unwrap().unwrap();
    assert_eq!(
        (k.to_term(), terms(&objs)),
        ((-7).into(), vec![tuple!(-7, 0)])
    );
    let (k, _) = ord.next_lookup(-7).unwrap().unwrap();
    assert_eq!(k.to_term(), Term::from(2.5));
    let (k, _) = ord.last_lookup().unwrap().unwrap();
    assert_eq!(k.to_term(), Term::bin(*b"a"));
    assert!(ord.prev_lookup(-7).unwrap().is_none());
    let list = terms(&ord.tab2list().unwrap());
    assert_eq!(list.len(), expected.len());
    let foldr = ord
        .foldr(vec![], |mut acc, o| {
            acc.push(o.key());
            acc
        })
        .unwrap();
    assert_eq!(foldr.into_iter().rev().collect::<Vec<_>>(), expected);

    // Unordered tables: every key once, last = first, and objects of a bag together.
    for t in [TableType::Set, TableType::Bag, TableType::DuplicateBag] {
        let tab = table(&owner, t);
        assert_eq!(tab.first().unwrap(), None);
        for i in 0..200 {
            tab.insert(tuple!(i, "a")).unwrap();
            tab.insert(tuple!(i, "b")).unwrap();
        }
        let mut seen = vec![];
        let mut at = tab.first().unwrap();
        while let Some(k) = at {
            seen.push(k.to_term().as_i64().unwrap());
            at = tab.next(&k).unwrap();
        }
        seen.sort();
        assert_eq!(seen, (0..200).collect::<Vec<_>>(), "{t}");
        assert_eq!(tab.last().unwrap(), tab.first().unwrap());
        let count = tab.foldl(0, |n, _| n + 1).unwrap();
        assert_eq!(count, if t == TableType::Set { 200 } else { 400 });
        assert_eq!(tab.tab2list().unwrap().len(), count);
    }
}

#[test]
fn fold_may_write_the_table_it_folds() {
    let owner = Owner::new();
    let tab = table(&owner, TableType::Set);
    tab.insert_many((0..50).map(|i| tuple!(i, 0))).unwrap();
    let visited = tab
        .foldl(0, |n, o| {
            tab.delete(o.key()).unwrap();
            n + 1
        })
        .unwrap();
    assert_eq!(visited, 50);
    assert_eq!(tab.info().unwrap().size, 0);
}

#[test]
fn limits_are_clear_errors() {
    let owner = Owner::new();
    let tab = table(&owner, TableType::Set);
    let mut deep = Term::from(1);
    for _ in 0..1000 {
        deep = arr(vec![deep]);
    }
    let err = tab.insert(arr(vec!["k".into(), deep])).unwrap_err();
    assert!(err.to_string().contains("too deep"), "{err}");
    let big_key = "x".repeat(70_000);
    let err = tab.insert(tuple!(big_key.as_str(), 1)).unwrap_err();
    assert!(err.to_string().contains("key"), "{err}");
    assert!(matches!(
        tab.insert(tuple!("nan", f64::NAN)),
        Err(Error::Term(_))
    ));
    assert_eq!(tab.info().unwrap().size, 0);
}

#[test]
fn update_element_past_the_object_size_limit_is_an_error_and_changes_nothing() {
    let owner = Owner::new();
    for t in [TableType::Set, TableType::OrderedSet] {
        let tab = table(&owner, t);
        // Just under the 64 MiB object limit: a bin of 64 MiB - 100 bytes and a small counter.
        let big = Term::Bin(vec![7; 64 * 1024 * 1024 - 100]);
        tab.insert(arr(vec!["k".into(), big.clone(), 1.into()]))
            .unwrap();
        let err = tab
            .update_element("k", &[(3, Term::Bin(vec![1; 1000]))])
            .unwrap_err();
        assert!(err.to_string().contains("too large"), "{err}");
        assert_eq!(tab.lookup_element("k", 3).unwrap(), Term::from(1));
        // A change that stays under the limit still works.
        assert!(tab.update_element("k", &[(3, Term::from(2))]).unwrap());
        assert_eq!(tab.lookup_element("k", 3).unwrap(), Term::from(2));
    }
}

/// Storage keeps a lone object's key position in a compact form when the key starts and ends
/// within the object's first 64 KiB, and falls back to a general layout otherwise: both must
/// behave the same, inserted as terms or as MessagePack (which a set stores from the caller's
/// bytes).
#[test]
fn keys_far_into_an_object_or_very_long_work_like_any_other() {
    let owner = Owner::new();
    for (t, as_bytes) in TYPES.into_iter().flat_map(|t| [(t, false), (t, true)]) {
        let tab = owner
            .new_table("far", TableOptions::new().table_type(t).keypos(2).public())
            .unwrap();
        let far = arr(vec![Term::Bin(vec![1; 70_000]), "far".into(), 1.into()]);
        let long_key = "k".repeat(65_530);
        let long = arr(vec![0.into(), long_key.as_str().into(), 1.into()]);
        let near = arr(vec![0.into(), "near".into(), 1.into()]);
        for o in [&far, &long, &near] {
            if as_bytes {
                let mut bytes = Vec::new();
                rets_core::term::encode(o, &mut bytes).unwrap();
                tab.insert(Msgpack(&bytes)).unwrap();
            } else {
                tab.insert(o.clone()).unwrap();
            }
        }
        for (o, k) in [(&far, "far"), (&long, long_key.as_str()), (&near, "near")] {
            assert_eq!(terms(&tab.lookup(k).unwrap()), vec![o.clone()], "{t}");
            let element = if t.is_set() {
                Term::from(1)
            } else {
                arr(vec![1.into()])
            };
            assert_eq!(tab.lookup_element(k, 3).unwrap(), element, "{t}");
            if t.is_set() {
                assert_eq!(tab.update_counter(k, 5).unwrap(), 6, "{t}");
            }
        }
        let mut walked = Vec::new();
        let mut at = tab.first().unwrap();
        while let Some(k) = at {
            walked.push(k.to_term());
            at = tab.next(&k).unwrap();
        }
        assert_eq!(walked.len(), 3, "{t}");
        assert_eq!(tab.take("far").unwrap().len(), 1, "{t}");
        assert!(!tab.member("far").unwrap(), "{t}");
        assert_eq!(tab.info().unwrap().size, 2, "{t}");
        tab.delete_table().unwrap();
    }
}
