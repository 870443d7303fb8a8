//! Stress: an ordered_set under many writers and readers at once, with invariants checked while
//! they run and at the end, and a counting allocator that checks nothing leaks.
//!
//! Writers (one per thread, each with its own churn keys so it can keep an exact model) insert
//! and delete integers, insert atomic pairs of tuple keys with one list insert, and bump shared
//! string-keyed counters. Readers traverse with first/next and last/prev and check: keys
//! strictly in term order (so none twice), every stable key seen, a pair never seen in part.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cmp::Ordering as Cmp;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::sync::Barrier;
use std::thread;

use rets_core::{Key, Owner, Table, TableOptions, Term};

/// Counts live heap bytes.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator and only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const WRITERS: usize = 3;
const READERS: usize = 2;
const STABLE: i64 = 300;
const ROUNDS: usize = 10_000;
const COUNTERS: usize = 4;

fn counter_key(c: usize) -> String {
    format!("counter-{c}")
}

/// The `p`-th pair of writer `w`: two tuple keys written by one list insert.
fn pair(w: usize, p: usize) -> [Term; 2] {
    let k = |half: i64| {
        Term::Array(vec![
            Term::Int(w as i64),
            Term::Int(p as i64),
            Term::Int(half),
        ])
    };
    [k(0), k(1)]
}

fn before(a: &Key, b: &Key) -> bool {
    rets_core::term::compare(a.as_msgpack(), b.as_msgpack()) == Cmp::Less
}

/// One traversal; checks order and the stable keys; returns the number of keys seen.
fn traverse(t: &Table, backward: bool) -> usize {
    let mut seen: Vec<Key> = Vec::new();
    let mut at = if backward { t.last() } else { t.first() }.unwrap();
    while let Some(k) = at {
        if let Some(prev) = seen.last() {
            let ordered = if backward {
                before(&k, prev)
            } else {
                before(prev, &k)
            };
            assert!(ordered, "traversal out of order: {prev} then {k}");
        }
        at = if backward { t.prev(&k) } else { t.next(&k) }.unwrap();
        seen.push(k);
    }
    let stable = seen
        .iter()
        .filter(|k| {
            k.to_term()
                .as_i64()
                .is_some_and(|i| i % 10 == 0 && (0..STABLE * 10).contains(&i))
        })
        .count();
    assert_eq!(stable, STABLE as usize, "a traversal missed a stable key");
    seen.len()
}

fn run() {
    let owner = Owner::new();
    let t = owner
        .new_table("stress", TableOptions::new().ordered_set().public())
        .unwrap();
    for i in 0..STABLE {
        t.insert(Term::Array(vec![
            Term::Int(i * 10),
            Term::Str("stable".into()),
        ]))
        .unwrap();
    }
    for c in 0..COUNTERS {
        t.insert(Term::Array(vec![Term::Str(counter_key(c)), Term::Int(0)]))
            .unwrap();
    }
    let barrier = Barrier::new(WRITERS + READERS);
    let done = AtomicBool::new(false);
    let results: Vec<(Vec<bool>, Vec<i64>)> = thread::scope(|s| {
        let readers: Vec<_> = (0..READERS)
            .map(|r| {
                let (t, barrier, done) = (&t, &barrier, &done);
                s.spawn(move || {
                    barrier.wait();
                    let mut rounds = 0;
                    while !done.load(Ordering::Relaxed) || rounds < 2 {
                        traverse(t, (rounds + r) % 2 == 1);
                        // A pair is seen whole or not at all (its second key checked first).
                        for w in 0..WRITERS {
                            for p in (0..ROUNDS / 50).step_by(7) {
                                let [a, b] = pair(w, p);
                                if t.member(b).unwrap() {
                                    assert!(t.member(a).unwrap(), "half a pair");
                                }
                            }
                        }
                        rounds += 1;
                    }
                })
            })
            .collect();
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (t, barrier) = (&t, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    // Churn keys of writer w: i * 10 + w + 1, never a stable key.
                    let mut present = vec![false; STABLE as usize];
                    let mut bumps = vec![0i64; COUNTERS];
                    let mut x = 0x2545_f491_4f6c_dd1du64 ^ (w as u64) << 7;
                    for round in 0..ROUNDS {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let slot = (x % STABLE as u64) as usize;
                        let key = slot as i64 * 10 + w as i64 + 1;
                        match x >> 60 {
                            0..=5 => {
                                t.insert(Term::Array(vec![
                                    Term::Int(key),
                                    Term::Int(round as i64),
                                ]))
                                .unwrap();
                                present[slot] = true;
                            }
                            6..=10 => {
                                t.delete(key).unwrap();
                                present[slot] = false;
                            }
                            _ => {
                                let c = (x >> 8) as usize % COUNTERS;
                                t.update_counter(counter_key(c), 1).unwrap();
                                bumps[c] += 1;
                            }
                        }
                        if round % 50 == 0 {
                            let [a, b] = pair(w, round / 50);
                            t.insert_many([
                                Term::Array(vec![a, Term::Nil]),
                                Term::Array(vec![b, Term::Nil]),
                            ])
                            .unwrap();
                        }
                    }
                    (present, bumps)
                })
            })
            .collect();
        let results = writers.into_iter().map(|h| h.join().unwrap()).collect();
        done.store(true, Ordering::Relaxed);
        for r in readers {
            r.join().unwrap();
        }
        results
    });

    // The end state is exactly the model.
    let mut expected = STABLE as usize + COUNTERS + WRITERS * ROUNDS.div_ceil(50) * 2;
    for (w, (present, _)) in results.iter().enumerate() {
        for (slot, &p) in present.iter().enumerate() {
            let key = slot as i64 * 10 + w as i64 + 1;
            assert_eq!(t.member(key).unwrap(), p, "churn key {key}");
            expected += usize::from(p);
        }
    }
    for c in 0..COUNTERS {
        let total: i64 = results.iter().map(|(_, bumps)| bumps[c]).sum();
        let stored = t
            .lookup_element(counter_key(c), 2)
            .unwrap()
            .as_i64()
            .unwrap();
        assert_eq!(stored, total, "a counter increment was lost");
    }
    assert_eq!(t.info().unwrap().size, expected);
    assert_eq!(traverse(&t, false), expected);
    assert_eq!(traverse(&t, true), expected);
    assert_eq!(t.tab2list().unwrap().len(), expected);
    t.delete_table().unwrap();
}

#[test]
fn ordered_set_under_contention_keeps_its_invariants_and_leaks_nothing() {
    // A first run warms up what lives for the whole process (thread-locals, registries).
    run();
    let before = LIVE.load(Ordering::SeqCst);
    run();
    let after = LIVE.load(Ordering::SeqCst);
    assert_eq!(after, before, "heap bytes changed across a run: a leak");
}
