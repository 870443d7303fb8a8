//! update_element made in place: an object stored by an update is changed where it is when
//! every new element encodes to as many bytes as the one it replaces, and rebuilt otherwise.
//! Both ways must give what ETS gives, and readers must never see half an update.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;

use rets_core::{tuple, Error, ObjectRef, Owner, Table, TableOptions, Term};

mod common;
use common::Rng;

/// A value of one of a few encoded widths, so that an update sometimes keeps every width (in
/// place) and sometimes does not (a rebuild): integers of 1, 2 and 3 bytes, strings and
/// binaries of a few lengths.
fn value(rng: &mut Rng) -> Term {
    let x = rng.next();
    match x % 5 {
        0 => Term::from((x >> 8) as i64 % 128),
        1 => Term::from(128 + (x >> 8) as i64 % 128),
        2 => Term::from(300 + (x >> 8) as i64 % 1000),
        3 => Term::from("abc".get(..(x >> 8) as usize % 4).unwrap()),
        _ => Term::Bin(vec![(x >> 16) as u8; 1 + (x >> 8) as usize % 3]),
    }
}

fn object_terms(t: &Table, key: i64) -> Option<Vec<Term>> {
    let objects = t.lookup(key).unwrap();
    objects.first().map(|o| match o.to_term() {
        Term::Array(items) => items,
        other => panic!("not a tuple: {other:?}"),
    })
}

/// Random update_element calls (1 to 6 elements, positions repeated, now and then one outside
/// the object or on the key) on a few objects, applied also to a plain model: after each call
/// the table holds exactly the model's object, and a failed call changed nothing. Updates of
/// an object stored by an earlier update are the in-place path's; inserts in between give it
/// fresh objects again.
#[test]
fn updates_in_place_or_rebuilt_match_a_model() {
    for options in [TableOptions::new().set(), TableOptions::new().ordered_set()] {
        let owner = Owner::new();
        let t = owner.new_table("elements", options).unwrap();
        const KEYS: i64 = 4;
        const ARITY: usize = 5;
        let fresh = |k: i64| -> Vec<Term> {
            let mut o = vec![Term::from(k)];
            o.extend((1..ARITY).map(|_| Term::from(0)));
            o
        };
        let mut model: Vec<Vec<Term>> = (0..KEYS).map(fresh).collect();
        for k in 0..KEYS {
            t.insert(Term::Array(fresh(k))).unwrap();
        }
        let mut rng = Rng(0x5eed_0001);
        for step in 0..20_000 {
            let k = rng.below(KEYS as u64) as i64;
            if rng.below(50) == 0 {
                model[k as usize] = fresh(k);
                t.insert(Term::Array(fresh(k))).unwrap();
                continue;
            }
            let n = 1 + rng.below(6) as usize;
            let mut elements: Vec<(usize, Term)> = (0..n)
                .map(|_| (2 + rng.below(ARITY as u64 - 1) as usize, value(&mut rng)))
                .collect();
            let bad = match rng.below(40) {
                0 => Some(ARITY + 1 + rng.below(3) as usize),
                1 => Some(1),
                _ => None,
            };
            if let Some(pos) = bad {
                let at = rng.below(n as u64 + 1) as usize;
                elements.insert(at, (pos, Term::from(0)));
            }
            let got = t.update_element(k, &elements);
            match bad {
                Some(1) => assert!(
                    matches!(got, Err(Error::KeyPosition { pos: 1 })),
                    "step {step}: {got:?}"
                ),
                Some(pos) => assert!(
                    matches!(got, Err(Error::BadPosition { pos: p, .. }) if p == pos),
                    "step {step}: {got:?}"
                ),
                None => {
                    assert!(got.unwrap(), "step {step}");
                    for (pos, v) in &elements {
                        model[k as usize][pos - 1] = v.clone();
                    }
                }
            }
            assert_eq!(
                object_terms(&t, k).as_ref(),
                Some(&model[k as usize]),
                "step {step}: key {k} after {elements:?}"
            );
        }
    }
}

/// Two elements always updated together to the same value (mostly in place, now and then at
/// another width, which rebuilds the object), the object now and then inserted again or
/// deleted and inserted, by several writers at once: readers of every kind (lookup, a pin,
/// tab2list, a chunk) never see the two differ nor the element after them changed, and each
/// key ends with what its last writer wrote. On a set and on an ordered_set.
#[test]
fn elements_updated_in_place_are_never_seen_torn() {
    for options in [TableOptions::new().set(), TableOptions::new().ordered_set()] {
        elements_never_torn(options);
    }
}

fn elements_never_torn(options: TableOptions) {
    const WRITERS: u64 = 3;
    const READERS: usize = 3;
    const UPDATES: u64 = 20_000;
    const KEYS: u64 = 6;

    let owner = Owner::new();
    let t = owner
        .new_table("elements", options.public().write_concurrency(true))
        .unwrap();
    let pair = |v: u8, wide: bool| Term::Bin(vec![v; if wide { 17 } else { 16 }]);
    let fresh = |k: u64| tuple!(k as i64, pair(0, false), pair(0, false), "pad");
    for k in 0..KEYS {
        t.insert(fresh(k)).unwrap();
    }
    let check = |o: &ObjectRef<'_>| {
        let k = o.element(1).unwrap();
        assert_eq!(o.element(2), o.element(3), "a torn update of key {k:?}");
        assert_eq!(o.element(4).unwrap(), Term::from("pad"), "key {k:?}");
    };
    let done = AtomicBool::new(false);
    let start = Barrier::new(WRITERS as usize + READERS);
    std::thread::scope(|s| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (t, start) = (&t, &start);
                s.spawn(move || {
                    start.wait();
                    let mut rng = Rng(w + 1);
                    for _ in 0..UPDATES {
                        let x = rng.next();
                        // Each writer has keys of its own, for the end's check, and all share
                        // key 0.
                        let k = if x % 4 == 0 { 0 } else { 1 + w % (KEYS - 1) };
                        match x % 500 {
                            0 => t.insert(fresh(k)).unwrap(),
                            1 => {
                                t.delete(k as i64).unwrap();
                                t.insert(fresh(k)).unwrap();
                            }
                            _ => {
                                let v = pair((x >> 8) as u8, x % 16 == 2);
                                let elements = [(2, v.clone()), (3, v)];
                                assert!(t.update_element(k as i64, &elements).unwrap());
                            }
                        }
                    }
                    // The last word on its own key: read back below.
                    let k = 1 + w % (KEYS - 1);
                    let v = pair(w as u8 + 100, false);
                    assert!(t
                        .update_element(k as i64, &[(2, v.clone()), (3, v)])
                        .unwrap());
                })
            })
            .collect();
        for r in 0..READERS {
            let (t, start, done, check) = (&t, &start, &done, &check);
            s.spawn(move || {
                start.wait();
                let pin = t.pin().unwrap();
                let mut rounds = 0u64;
                while !done.load(Ordering::Relaxed) || rounds < 100 {
                    rounds += 1;
                    let k = (rounds % KEYS) as i64;
                    common::read_one_way(r, t, &pin, k, check);
                }
            });
        }
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
    });
    for w in 0..WRITERS.min(KEYS - 1) {
        let k = 1 + w % (KEYS - 1);
        let o = &t.lookup(k as i64).unwrap()[0];
        assert_eq!(o.element(2).unwrap(), pair(w as u8 + 100, false), "key {k}");
        check(&o.view());
    }
}

/// An object stored by update_counter is changeable too: update_element changes its other
/// elements in place, and update_counter goes on counting on what update_element left.
#[test]
fn counters_and_elements_share_the_changeable_object() {
    for options in [TableOptions::new().set(), TableOptions::new().ordered_set()] {
        let owner = Owner::new();
        let t = owner.new_table("mixed", options).unwrap();
        t.insert(tuple!("k", 0, "aa")).unwrap();
        for i in 1..=300i64 {
            assert_eq!(t.update_counter("k", 1).unwrap(), i);
            let s = if i % 2 == 0 { "bb" } else { "cc" };
            assert!(t.update_element("k", &[(3, s.into())]).unwrap());
            assert_eq!(object_terms_str(&t), vec![tuple!("k", i, s)]);
        }
        // Written by update_element to a value update_counter then counts on.
        assert!(t.update_element("k", &[(2, 5.into())]).unwrap());
        assert_eq!(t.update_counter("k", 2).unwrap(), 7);
    }
}

fn object_terms_str(t: &Table) -> Vec<Term> {
    t.lookup("k").unwrap().iter().map(|o| o.to_term()).collect()
}
