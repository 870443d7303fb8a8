//! The match and select family on every table type: results, plans (bound keys, ranges),
//! chunks and continuations (also under concurrent writers), deletes and replaces.

use std::collections::HashSet;

use rets_core::query::{Expr, MatchSpec, Pat, Spec};
use rets_core::{tuple, Error, Object, Owner, Table, TableOptions, TableType, Term};

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

fn a(name: &str) -> Term {
    Term::atom(name)
}

fn sorted(mut v: Vec<Term>) -> Vec<Term> {
    v.sort_by_key(|t| t.to_msgpack().unwrap());
    v
}

/// `{K, V}` for K in 0..n, V = K * 10.
fn fill(tab: &Table, n: i64) {
    for k in 0..n {
        tab.insert(tuple!(k, k * 10)).unwrap();
    }
}

#[test]
fn select_with_guard_and_body_on_every_type() {
    let owner = Owner::new();
    let spec = Spec::new()
        .clause(Pat::tuple([Pat::var(1), Pat::var(2)]))
        .guard(Expr::gt(Expr::var(2), 50))
        .body(Expr::tuple([Expr::var(2), Expr::var(1)]))
        .compile()
        .unwrap();
    for t in TYPES {
        let tab = table(&owner, t);
        fill(&tab, 10);
        let got = tab.select(&spec).unwrap();
        let want: Vec<Term> = (6..10).map(|k| tuple!(k * 10, k)).collect();
        if t == TableType::OrderedSet {
            assert_eq!(got, want);
            let mut rev = want.clone();
            rev.reverse();
            assert_eq!(tab.select_reverse(&spec).unwrap(), rev);
        } else {
            assert_eq!(sorted(got), sorted(want.clone()), "{t}");
        }
        assert_eq!(
            tab.select_count(&Spec::new().clause(Pat::any()).body(true).compile().unwrap())
                .unwrap(),
            10
        );
        tab.delete_table().unwrap();
    }
}

#[test]
fn match_match_object_and_match_delete() {
    let owner = Owner::new();
    for t in TYPES {
        let tab = table(&owner, t);
        tab.insert(tuple!("a", 1, "x")).unwrap();
        tab.insert(tuple!("b", 2, "x")).unwrap();
        tab.insert(tuple!("c", 3, "y")).unwrap();
        let pattern = tuple!(a("$1"), a("_"), "x");
        assert_eq!(
            sorted(tab.match_pattern(&pattern).unwrap()),
            vec![tuple!("a"), tuple!("b")],
            "{t}"
        );
        let objects: Vec<Term> = tab
            .match_object(&pattern)
            .unwrap()
            .iter()
            .map(Object::to_term)
            .collect();
        assert_eq!(
            sorted(objects),
            vec![tuple!("a", 1, "x"), tuple!("b", 2, "x")]
        );
        assert_eq!(tab.match_delete(&pattern).unwrap(), 2);
        assert_eq!(tab.size().unwrap(), 1);
        tab.delete_table().unwrap();
    }
}

#[test]
fn bags_keep_every_matching_object_and_chunks_split_inside_a_key() {
    let owner = Owner::new();
    let tab = table(&owner, TableType::DuplicateBag);
    for v in [1, 2, 2, 3, 4] {
        tab.insert(tuple!("k", v)).unwrap();
    }
    let all = MatchSpec::from_object_pattern(&a("_")).unwrap();
    let mut seen = Vec::new();
    let mut chunk = tab.select_limit(&all, 2).unwrap();
    while let Some((results, cont)) = chunk {
        assert!(results.len() <= 2);
        seen.extend(results);
        chunk = cont.next().unwrap();
    }
    assert_eq!(seen.len(), 5);
    let dupes = Spec::new()
        .clause(Pat::tuple([Pat::any(), Pat::lit(2)]))
        .body(true)
        .compile()
        .unwrap();
    assert_eq!(tab.select_delete(&dupes).unwrap(), 2);
    assert_eq!(tab.size().unwrap(), 3);
}

#[test]
fn chunks_cover_every_result_once_in_order_on_ordered_set() {
    let owner = Owner::new();
    for t in TYPES {
        let tab = table(&owner, t);
        fill(&tab, 100);
        let spec = MatchSpec::from_pattern(&tuple!(a("$1"), a("_"))).unwrap();
        let whole = tab.match_pattern(&tuple!(a("$1"), a("_"))).unwrap();
        for limit in [1, 7, 100, 1000] {
            let mut chunks = Vec::new();
            let mut next = tab.select_limit(&spec, limit).unwrap();
            while let Some((results, cont)) = next {
                chunks.push(results);
                next = cont.next().unwrap();
            }
            assert!(chunks[..chunks.len() - 1].iter().all(|c| c.len() == limit));
            let flat: Vec<Term> = chunks.concat();
            if t == TableType::OrderedSet {
                assert_eq!(flat, whole);
            } else {
                assert_eq!(sorted(flat), sorted(whole.clone()));
            }
        }
        assert!(matches!(
            tab.select_limit(&spec, 0),
            Err(Error::BadArgument(_))
        ));
        let none = MatchSpec::from_pattern(&tuple!(a("$1"), "absent")).unwrap();
        assert!(tab.select_limit(&none, 5).unwrap().is_none());
        tab.delete_table().unwrap();
    }
}

#[test]
fn reverse_chunks_on_ordered_set_and_ranges() {
    let owner = Owner::new();
    let tab = table(&owner, TableType::OrderedSet);
    for g in ["a", "b", "c"] {
        for i in 0..20 {
            tab.insert(tuple!(tuple!(g, i), i)).unwrap();
        }
    }
    tab.insert(tuple!(tuple!("b"), 0)).unwrap();
    tab.insert(tuple!(tuple!("b", 1, 2), 0)).unwrap();
    let spec = MatchSpec::from_pattern(&tuple!(tuple!("b", a("$1")), a("_"))).unwrap();
    let forward = tab.select(&spec).unwrap();
    assert_eq!(forward, (0..20).map(|i| tuple!(i)).collect::<Vec<_>>());
    let mut reverse = Vec::new();
    let mut next = tab.select_reverse_limit(&spec, 6).unwrap();
    while let Some((results, cont)) = next {
        reverse.extend(results);
        next = cont.next().unwrap();
    }
    let mut want = forward.clone();
    want.reverse();
    assert_eq!(reverse, want);
    // A range matches by exact equality: 1.0 is not 1 in a pattern, though the keys compare
    // equal.
    tab.insert(tuple!(tuple!(1.0, "f"), 0)).unwrap();
    let int_one = MatchSpec::from_pattern(&tuple!(tuple!(1, a("$1")), a("_"))).unwrap();
    assert_eq!(tab.select(&int_one).unwrap(), vec![]);
}

#[test]
fn bound_keys_read_only_their_keys() {
    let owner = Owner::new();
    for t in TYPES {
        let tab = table(&owner, t);
        fill(&tab, 50);
        let spec = MatchSpec::compile(&Term::Array(vec![
            Term::Array(vec![
                tuple!(7, a("$1")),
                Term::Array(vec![]),
                Term::Array(vec![a("$1")]),
            ]),
            Term::Array(vec![
                tuple!(3, a("$1")),
                Term::Array(vec![]),
                Term::Array(vec![a("$1")]),
            ]),
        ]))
        .unwrap();
        let got = tab.select(&spec).unwrap();
        assert_eq!(
            sorted(got.clone()),
            vec![Term::Int(30), Term::Int(70)],
            "{t}"
        );
        if t == TableType::OrderedSet {
            assert_eq!(got, vec![Term::Int(30), Term::Int(70)]);
        }
        tab.delete_table().unwrap();
    }
}

/// The hits of every kind of walk count toward select_count and a chunk's limit: the bound keys
/// of a spec, and the first read of a range, at its least key (the bound prefix then `-inf`,
/// the least term: here `{a, -inf}` is in the table).
#[test]
fn counts_and_chunk_limits_hold_for_bound_keys_and_a_range_from_its_least_key() {
    let owner = Owner::new();
    let tab = table(&owner, TableType::OrderedSet);
    let keys = [
        tuple!("a", f64::NEG_INFINITY),
        tuple!("a", 1),
        tuple!("a", 2),
        tuple!("b", 1),
    ];
    for (i, key) in keys.iter().enumerate() {
        tab.insert(tuple!(key.clone(), i as i64)).unwrap();
    }
    let clause = |key: Term| {
        Term::Array(vec![
            tuple!(key, a("_")),
            Term::Array(vec![]),
            Term::Array(vec![Term::Bool(true)]),
        ])
    };
    let range = MatchSpec::compile(&Term::Array(vec![clause(tuple!("a", a("_")))])).unwrap();
    let bound = MatchSpec::compile(&Term::Array(
        keys[..3].iter().cloned().map(clause).collect(),
    ))
    .unwrap();
    for (what, spec) in [("range", &range), ("bound keys", &bound)] {
        assert_eq!(tab.select_count(spec).unwrap(), 3, "{what}: select_count");
        let mut sizes = Vec::new();
        let mut chunk = tab.select_limit(spec, 1).unwrap();
        while let Some((results, cont)) = chunk {
            sizes.push(results.len());
            chunk = cont.next().unwrap();
        }
        assert_eq!(sizes, [1, 1, 1], "{what}: chunks of at most 1");
    }
}

/// match/3 and match_object/3: chunks of at most the limit, with the bindings (match) or the
/// objects (match_object), and a continuation for the rest.
#[test]
fn match_and_match_object_come_in_chunks() {
    let owner = Owner::new();
    let tab = table(&owner, TableType::OrderedSet);
    fill(&tab, 5);
    let (first, cont) = tab
        .match_pattern_limit(&tuple!(a("$1"), a("_")), 2)
        .unwrap()
        .expect("a first chunk");
    assert_eq!(first, vec![tuple!(0), tuple!(1)]);
    let mut all = first;
    let mut next = cont.next().unwrap();
    while let Some((results, cont)) = next {
        assert!(results.len() <= 2);
        all.extend(results);
        next = cont.next().unwrap();
    }
    assert_eq!(all, (0..5).map(|k| tuple!(k)).collect::<Vec<_>>());
    let (objects, _) = tab
        .match_object_limit(&tuple!(a("_"), 30), 2)
        .unwrap()
        .expect("one object matches");
    let objects: Vec<Term> = objects.iter().map(Object::to_term).collect();
    assert_eq!(objects, vec![tuple!(3, 30)]);
}

#[test]
fn select_replace_keeps_keys_and_is_refused_otherwise() {
    let owner = Owner::new();
    for t in TYPES {
        let tab = table(&owner, t);
        fill(&tab, 10);
        let bump = Spec::new()
            .clause(Pat::tuple([Pat::var(1), Pat::var(2)]))
            .guard(Expr::lt(Expr::var(1), 5))
            .body(Expr::tuple([Expr::var(1), Expr::add(Expr::var(2), 1)]))
            .compile()
            .unwrap();
        if t == TableType::Bag {
            assert!(matches!(
                tab.select_replace(&bump),
                Err(Error::WrongTableType { .. })
            ));
            continue;
        }
        assert_eq!(tab.select_replace(&bump).unwrap(), 5);
        assert_eq!(tab.lookup(3).unwrap()[0].to_term(), tuple!(3, 31));
        assert_eq!(tab.lookup(7).unwrap()[0].to_term(), tuple!(7, 70));
        let rekey = Spec::new()
            .clause(Pat::tuple([Pat::var(1), Pat::var(2)]))
            .body(Expr::tuple([Expr::var(2), Expr::var(1)]))
            .compile()
            .unwrap();
        let err = tab.select_replace(&rekey).unwrap_err();
        assert!(matches!(err, Error::BadMatchSpec(_)), "{err}");
        assert_eq!(tab.lookup(3).unwrap()[0].to_term(), tuple!(3, 31));
    }
}

#[test]
fn select_replace_on_a_duplicate_bag_replaces_each_copy_once() {
    let owner = Owner::new();
    let tab = table(&owner, TableType::DuplicateBag);
    for v in [1, 2, 1] {
        tab.insert(tuple!("k", v)).unwrap();
    }
    let bump = Spec::new()
        .clause(Pat::tuple([Pat::var(1), Pat::var(2)]))
        .body(Expr::tuple([Expr::var(1), Expr::add(Expr::var(2), 1)]))
        .compile()
        .unwrap();
    assert_eq!(tab.select_replace(&bump).unwrap(), 3);
    let values: Vec<Term> = tab
        .lookup("k")
        .unwrap()
        .iter()
        .map(|o| o.element(2).unwrap())
        .collect();
    assert_eq!(values, vec![Term::Int(2), Term::Int(3), Term::Int(2)]);
}

/// A key with more objects than one write batch of select_delete (1024) is deleted whole, by
/// a whole scan (select_delete) and by a bound key (match_delete): a batch holds whole keys,
/// so no batch resumes inside a key at a position the previous batch's deletions have moved.
#[test]
fn deletes_take_a_key_larger_than_a_write_batch_whole() {
    let owner = Owner::new();
    let all = Spec::new().clause(Pat::any()).body(true).compile().unwrap();
    for t in [TableType::Bag, TableType::DuplicateBag] {
        let tab = table(&owner, t);
        let objects = || (0..1025i64).map(|v| tuple!("k", v));
        tab.insert_many(objects()).unwrap();
        assert_eq!(tab.select_delete(&all).unwrap(), 1025, "{t}: select_delete");
        assert_eq!(tab.size().unwrap(), 0, "{t}: select_delete left objects");
        tab.insert_many(objects()).unwrap();
        assert_eq!(
            tab.match_delete(&tuple!("k", a("_"))).unwrap(),
            1025,
            "{t}: match_delete"
        );
        assert_eq!(tab.size().unwrap(), 0, "{t}: match_delete left objects");
        tab.delete_table().unwrap();
    }
}

/// select_replace changes a key's objects in one write even when they are more than a write
/// batch, each copy of a duplicate_bag in its place: 1024 copies of `{k, 1}` then `{k, 2}`
/// become 1024 copies of `{k, 2}` then `{k, 3}` (a second write for the last object would
/// take the first `{k, 2}` it finds, the first copy, for the old one).
#[test]
fn select_replace_takes_a_key_larger_than_a_write_batch_whole() {
    let owner = Owner::new();
    let tab = table(&owner, TableType::DuplicateBag);
    tab.insert_many((0..1025i64).map(|i| tuple!("k", if i < 1024 { 1 } else { 2 })))
        .unwrap();
    let bump = Spec::new()
        .clause(Pat::tuple([Pat::var(1), Pat::var(2)]))
        .body(Expr::tuple([Expr::var(1), Expr::add(Expr::var(2), 1)]))
        .compile()
        .unwrap();
    assert_eq!(tab.select_replace(&bump).unwrap(), 1025);
    let values: Vec<Term> = tab
        .lookup("k")
        .unwrap()
        .iter()
        .map(|o| o.element(2).unwrap())
        .collect();
    let mut want = vec![Term::Int(2); 1024];
    want.push(Term::Int(3));
    assert!(
        values == want,
        "the replaced copies moved: {:?}...",
        &values[..4]
    );
}

#[test]
fn access_is_checked() {
    let owner = Owner::new();
    let tab = owner
        .new_table("p", TableOptions::new().set().private())
        .unwrap();
    fill(&tab, 3);
    let other = Owner::new();
    let theirs = tab.with_caller(&other);
    let spec = MatchSpec::from_object_pattern(&a("_")).unwrap();
    assert!(matches!(theirs.select(&spec), Err(Error::Access { .. })));
    assert!(matches!(
        theirs.select_delete(&spec),
        Err(Error::Access { .. })
    ));
    assert_eq!(tab.select(&spec).unwrap().len(), 3);
}

#[test]
fn a_continuation_survives_concurrent_writers_and_never_repeats_a_key() {
    for t in [TableType::Set, TableType::OrderedSet] {
        let owner = Owner::new();
        let tab = table(&owner, t);
        fill(&tab, 2000);
        let writer = {
            let tab = tab.clone();
            std::thread::spawn(move || {
                for round in 0..4 {
                    for k in 0..2000i64 {
                        if (k + round) % 3 == 0 {
                            tab.delete(k).unwrap();
                        } else {
                            tab.insert(tuple!(k, round)).unwrap();
                        }
                        tab.insert(tuple!(10_000 + k * 4 + round, 0)).unwrap();
                    }
                }
            })
        };
        let spec = MatchSpec::from_pattern(&tuple!(a("$1"), a("_"))).unwrap();
        let mut seen = HashSet::new();
        let mut next = tab.select_limit(&spec, 37).unwrap();
        while let Some((results, cont)) = next {
            for r in results {
                assert!(seen.insert(r.to_msgpack().unwrap()), "{t}: {r} twice");
            }
            next = cont.next().unwrap();
        }
        writer.join().unwrap();
    }
}

#[test]
fn a_continuation_fails_once_its_table_is_deleted() {
    let owner = Owner::new();
    let tab = table(&owner, TableType::Set);
    fill(&tab, 10);
    let spec = MatchSpec::from_object_pattern(&a("_")).unwrap();
    let (_, cont) = tab.select_limit(&spec, 3).unwrap().unwrap();
    tab.delete_table().unwrap();
    assert!(matches!(cont.next(), Err(Error::NoTable { .. })));
}

#[test]
fn atoms_are_keys_and_sort_in_erlang_order() {
    let owner = Owner::new();
    let tab = table(&owner, TableType::OrderedSet);
    for name in ["zeta", "false", "alpha", "nil", "true", "ok"] {
        tab.insert(Term::Array(vec![Term::atom(name), Term::Int(1)]))
            .unwrap();
    }
    tab.insert(tuple!(5, 1)).unwrap();
    tab.insert(tuple!("str", 1)).unwrap();
    let keys = tab
        .select(&MatchSpec::from_pattern(&tuple!(a("$1"), a("_"))).unwrap())
        .unwrap();
    let names: Vec<String> = keys
        .iter()
        .map(|k| k.as_array().unwrap()[0].to_string())
        .collect();
    assert_eq!(
        names,
        ["5", "alpha", "false", "nil", "ok", "true", "zeta", "\"str\""]
    );
    assert_eq!(tab.lookup(Term::atom("ok")).unwrap().len(), 1);
    assert_eq!(tab.lookup(Term::Bool(true)).unwrap().len(), 1);
}
