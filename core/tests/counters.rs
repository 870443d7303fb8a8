//! update_counter's threshold at its boundaries (ETS: with `Incr >= 0` the counter is set to
//! `SetValue` when the result would be greater than `Threshold`; with `Incr < 0`, when it would
//! be less): equal to the threshold is not past it, and no threshold is crossed without passing.

use rets_core::{tuple, CounterOp, Owner, TableOptions};

mod common;

#[test]
fn the_threshold_resets_only_past_it_in_the_direction_of_the_increment() {
    let owner = Owner::new();
    let t = owner.new_table("counters", TableOptions::new()).unwrap();
    // (start, incr, threshold, expected): set_value is always -1000.
    for (start, incr, threshold, expected) in [
        (9, 1, 10, 10),      // reaches the threshold: not past it
        (10, 1, 10, -1000),  // past it: reset
        (1, 1, 100, 2),      // far below: a plain increment
        (0, 0, 0, 0),        // incr 0 counts as not negative; equal is not past
        (0, 0, 5, 0),        // incr 0 is not negative: being below the threshold is no reset
        (6, -1, 5, 5),       // reaches the threshold going down: not past it
        (5, -1, 5, -1000),   // past it going down: reset
        (50, -1, 5, 49),     // far above going down: a plain decrement
        (-50, -1, 5, -1000), // already below, going down: past it
        (50, 1, 5, -1000),   // already above, going up: past it
    ] {
        t.insert(tuple!("c", start)).unwrap();
        let got = t
            .update_counters("c", &[CounterOp::with_threshold(2, incr, threshold, -1000)])
            .unwrap();
        assert_eq!(
            got,
            vec![expected],
            "{start} {incr:+} threshold {threshold}"
        );
    }
}

/// Counters changed in place, under contention: writers add the same amount to two counters of
/// an object in one update (sometimes across an encoding width, which rebuilds the object
/// instead), and now and then replace or delete it; readers of every kind (lookup, a pin,
/// tab2list, a chunk) must never see the two differ, and no update is lost: a counter every
/// writer adds to ends at the total. On a set and on an ordered_set (whose readers copy such
/// an object out of its entry, as a set's copy it out of its node).
#[test]
fn counters_changed_in_place_are_never_seen_torn_nor_lost() {
    counters_never_torn_nor_lost(TableOptions::new().set());
    counters_never_torn_nor_lost(TableOptions::new().ordered_set());
}

fn counters_never_torn_nor_lost(options: TableOptions) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Barrier;

    const WRITERS: usize = 3;
    const READERS: usize = 3;
    const UPDATES: i64 = 20_000;
    const KEYS: i64 = 8;
    const TOTAL: i64 = 1_000;

    let owner = Owner::new();
    let t = owner
        .new_table("counters", options.public().write_concurrency(true))
        .unwrap();
    for k in 0..KEYS {
        t.insert(tuple!(k, 0, 0, "pad")).unwrap();
    }
    t.insert(tuple!(TOTAL, 0)).unwrap();
    let check = |o: &rets_core::ObjectRef<'_>| {
        let k = o.element(1).unwrap().as_i64().unwrap();
        if k == TOTAL {
            return;
        }
        let (a, b) = (o.element(2).unwrap(), o.element(3).unwrap());
        assert_eq!(a, b, "a torn counter pair in key {k}");
        assert_eq!(o.element(4).unwrap(), rets_core::Term::from("pad"));
    };
    let done = AtomicBool::new(false);
    let start = Barrier::new(WRITERS + READERS);
    std::thread::scope(|s| {
        for w in 0..WRITERS {
            let (t, start) = (&t, &start);
            s.spawn(move || {
                start.wait();
                let mut x = w as u64 + 1;
                for i in 0..UPDATES {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let k = (x % KEYS as u64) as i64;
                    // Mostly 1 (in place), sometimes a jump across a width (a rebuild).
                    let incr = if x % 64 == 0 { 300 } else { 1 };
                    match x % 1_000 {
                        0 => t.insert(tuple!(k, 0, 0, "pad")).unwrap(),
                        1 => {
                            t.delete(k).unwrap();
                            t.insert(tuple!(k, 0, 0, "pad")).unwrap();
                        }
                        _ => {
                            let ops = [CounterOp::new(2, incr), CounterOp::new(3, incr)];
                            let got = t.update_counters(k, &ops);
                            // A delete may have just taken the key away.
                            if let Ok(got) = got {
                                assert_eq!(got[0], got[1]);
                            }
                        }
                    }
                    if i % 2 == 0 {
                        t.update_counter(TOTAL, 1).unwrap();
                    }
                }
            });
        }
        for r in 0..READERS {
            let (t, start, done, check) = (&t, &start, &done, &check);
            s.spawn(move || {
                start.wait();
                let pin = t.pin().unwrap();
                let mut rounds = 0u64;
                while !done.load(Ordering::Relaxed) || rounds < 100 {
                    rounds += 1;
                    let k = (rounds % KEYS as u64) as i64;
                    common::read_one_way(r, t, &pin, k, check);
                }
            });
        }
        // The writers end first; then the readers stop.
        s.spawn(|| {
            while t.lookup(TOTAL).unwrap()[0]
                .element(2)
                .unwrap()
                .as_i64()
                .unwrap()
                < WRITERS as i64 * UPDATES / 2
            {
                std::thread::yield_now();
            }
            done.store(true, Ordering::Relaxed);
        });
    });
    let total = t.lookup(TOTAL).unwrap()[0].element(2).unwrap();
    assert_eq!(
        total.as_i64(),
        Some(WRITERS as i64 * UPDATES / 2),
        "a lost update"
    );
}

/// Lists of counter ops (up to 7, so past the few worked out on the stack; positions repeated,
/// widths kept or crossed) applied over and over to one object give what applying them in order
/// to plain integers gives, whether the update was made in place or rebuilt the object; on a
/// set and on an ordered_set.
/// A lone counter (the in-place path's own case) stepped across every width of its encoding,
/// up and down, with an element after it and as the object's last: each result and the stored
/// object are exact (a counter written in place at a new width would overwrite its neighbour).
#[test]
fn a_lone_counter_crosses_every_width_in_place_or_rebuilt() {
    for options in [TableOptions::new().set(), TableOptions::new().ordered_set()] {
        let owner = Owner::new();
        let t = owner.new_table("widths", options).unwrap();
        let edges: [i64; 10] = [
            -(1 << 31) - 1,
            -(1 << 15) - 1,
            -129,
            -33,
            0,
            127,
            255,
            65_535,
            (1 << 32) - 1,
            i64::MAX - 3,
        ];
        for (i, &edge) in edges.iter().enumerate() {
            let (k, last) = (i as i64, 1000 + i as i64);
            t.insert(tuple!(k, edge - 2, "tail")).unwrap();
            t.insert(tuple!(last, edge - 2)).unwrap();
            // Up across the edge, one step at a time, then back down.
            let steps = [1, 1, 1, 1, -1, -1, -1, -1];
            let mut want = edge - 2;
            for incr in steps {
                want += incr;
                assert_eq!(t.update_counter(k, incr).unwrap(), want, "{edge} {incr}");
                assert_eq!(t.update_counter(last, incr).unwrap(), want, "{edge} {incr}");
                assert_eq!(t.lookup(k).unwrap()[0].to_term(), tuple!(k, want, "tail"));
                assert_eq!(t.lookup(last).unwrap()[0].to_term(), tuple!(last, want));
            }
        }
    }
}

#[test]
fn op_lists_in_place_or_rebuilt_match_plain_arithmetic() {
    op_lists_match_plain_arithmetic(TableOptions::new().set());
    op_lists_match_plain_arithmetic(TableOptions::new().ordered_set());
}

fn op_lists_match_plain_arithmetic(options: TableOptions) {
    let owner = Owner::new();
    let t = owner.new_table("ops", options).unwrap();
    t.insert(tuple!("k", 0, 100, -5, "tail")).unwrap();
    let mut model = [0i64, 100, -5];
    let mut x = 7u64;
    for round in 0..300 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let n = 1 + (x % 7) as usize;
        let ops: Vec<CounterOp> = (0..n)
            .map(|i| {
                let pos = 2 + ((x >> (3 * i)) % 3) as usize;
                // Mostly small steps (in place); every few rounds a jump across a width.
                let incr = if round % 9 == 0 {
                    70_000
                } else {
                    1 - ((x >> i) % 3) as i64
                };
                CounterOp::new(pos, incr)
            })
            .collect();
        let mut expected = Vec::new();
        for op in &ops {
            model[op.pos - 2] += op.incr;
            expected.push(model[op.pos - 2]);
        }
        assert_eq!(
            t.update_counters("k", &ops).unwrap(),
            expected,
            "round {round}"
        );
        let stored = t.lookup("k").unwrap();
        for (i, want) in model.iter().enumerate() {
            assert_eq!(stored[0].element(i + 2).unwrap().as_i64(), Some(*want));
        }
        assert_eq!(stored[0].element(5).unwrap(), rets_core::Term::from("tail"));
    }
}

/// Counters changed in place (on a set without the shard's mutex) while other writers of the
/// same keys read the object and store a new one (update_element of another element, and
/// update_counter jumps that change a counter's width): no increment is lost. Each key's
/// counter ends at the number of increments made to it. On a set and on an ordered_set.
#[test]
fn counters_changed_in_place_lose_nothing_to_writers_that_rebuild_the_object() {
    counters_lose_nothing_to_rebuilds(TableOptions::new().set());
    counters_lose_nothing_to_rebuilds(TableOptions::new().ordered_set());
}

fn counters_lose_nothing_to_rebuilds(options: TableOptions) {
    const THREADS: u64 = 4;
    const UPDATES: u64 = 30_000;
    const KEYS: u64 = 4;

    let owner = Owner::new();
    let t = owner
        .new_table("rebuilds", options.public().write_concurrency(true))
        .unwrap();
    for k in 0..KEYS {
        t.insert(tuple!(k, 0, "pad")).unwrap();
    }
    let added: Vec<Vec<i64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|w| {
                let t = &t;
                s.spawn(move || {
                    let mut added = vec![0i64; KEYS as usize];
                    let mut x = w + 1;
                    for _ in 0..UPDATES {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let k = x % KEYS;
                        match x % 16 {
                            // Reads the object and stores a new one with another third element.
                            0 => {
                                let pad = if x % 32 == 0 { "pad" } else { "padded" };
                                assert!(t.update_element(k, &[(3, pad.into())]).unwrap());
                            }
                            // A jump that changes the counter's width now and then.
                            1 => {
                                t.update_counter(k, 1_000).unwrap();
                                added[k as usize] += 1_000;
                            }
                            _ => {
                                t.update_counter(k, 1).unwrap();
                                added[k as usize] += 1;
                            }
                        }
                    }
                    added
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for k in 0..KEYS {
        let expected: i64 = added.iter().map(|a| a[k as usize]).sum();
        let stored = t.lookup(k).unwrap()[0].element(2).unwrap().as_i64();
        assert_eq!(stored, Some(expected), "key {k}: an increment was lost");
    }
}
