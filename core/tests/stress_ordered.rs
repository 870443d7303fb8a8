//! Stress: an ordered_set under many writers and readers at once, with invariants checked while
//! they run and at the end; a counting allocator checks that a single-threaded churn leaves the
//! heap exactly as it found it, and LeakSanitizer (ci/asan-storage) checks the concurrent runs.
//!
//! Writers (one per thread, each with its own churn keys so it can keep an exact model) insert
//! and delete integers, insert atomic pairs of tuple keys with one list insert, and bump shared
//! string-keyed counters. Readers traverse with first/next and last/prev and check: keys
//! strictly in term order (so none twice), every stable key seen, a pair never seen in part.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cmp::Ordering as Cmp;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier};
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

/// This binary counts every byte rets allocates, so the node pool must take its blocks from the
/// process's allocator (this counting one), not from mimalloc (`RETS_NODE_POOL=global`, see
/// `storage::pool`): set before the first block is asked for, by every test first.
fn count_every_block() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::env::set_var("RETS_NODE_POOL", "global"));
}

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

/// What a writer reports: which of its churn keys are present, and its counter increments.
type Outcome = (Vec<bool>, Vec<i64>);

type Job = Box<dyn FnOnce() -> Outcome + Send>;

/// Worker threads that live across runs, so that what libraries keep per thread (and global
/// tables sized by the number of threads) is the same before and after the measured run.
struct Pool {
    jobs: Vec<mpsc::Sender<(Job, mpsc::Sender<Outcome>)>>,
}

impl Pool {
    fn new(threads: usize) -> Pool {
        let jobs = (0..threads)
            .map(|_| {
                let (tx, rx) = mpsc::channel::<(Job, mpsc::Sender<Outcome>)>();
                thread::spawn(move || {
                    for (job, reply) in rx {
                        let out = job();
                        reply.send(out).unwrap();
                    }
                });
                tx
            })
            .collect();
        Pool { jobs }
    }

    /// Runs `f` on worker `i`; the receiver gets its outcome.
    fn spawn(
        &self,
        i: usize,
        f: impl FnOnce() -> Outcome + Send + 'static,
    ) -> mpsc::Receiver<Outcome> {
        let (tx, rx) = mpsc::channel();
        self.jobs[i].send((Box::new(f), tx)).unwrap();
        rx
    }
}

fn run(pool: &Pool) {
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
    let barrier = Arc::new(Barrier::new(WRITERS + READERS));
    let done = Arc::new(AtomicBool::new(false));
    // The pair each writer is writing now (or wrote last): the one a reader can catch in part.
    let writing: Arc<Vec<AtomicUsize>> =
        Arc::new((0..WRITERS).map(|_| AtomicUsize::new(0)).collect());
    let readers: Vec<_> = (0..READERS)
        .map(|r| {
            let (t, barrier, done, writing) =
                (t.clone(), barrier.clone(), done.clone(), writing.clone());
            pool.spawn(r, move || {
                barrier.wait();
                let mut rounds = 0;
                while !done.load(Ordering::Relaxed) || rounds < 2 {
                    traverse(&t, (rounds + r) % 2 == 1);
                    // A pair is seen whole or not at all: one key read, then the other, in
                    // both orders (a list insert that wrote its objects one at a time, in
                    // either order, is caught by one of them). Pairs are never deleted, so once
                    // one key is seen the other must be there when it is read after it. The
                    // pair each writer is writing now is checked most, older ones sampled.
                    let whole = |w: usize, p: usize, first_a: bool| {
                        let [a, b] = pair(w, p);
                        let (x, y) = if first_a { (a, b) } else { (b, a) };
                        if t.member(x).unwrap() {
                            assert!(t.member(y).unwrap(), "half a pair (writer {w}, pair {p})");
                        }
                    };
                    for _ in 0..20 {
                        for w in 0..WRITERS {
                            let p = writing[w].load(Ordering::Acquire);
                            whole(w, p, true);
                            whole(w, p, false);
                        }
                    }
                    for w in 0..WRITERS {
                        for p in (0..ROUNDS / 50).step_by(7) {
                            whole(w, p, rounds % 2 == 0);
                        }
                    }
                    rounds += 1;
                }
                (Vec::new(), Vec::new())
            })
        })
        .collect();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (t, barrier, writing) = (t.clone(), barrier.clone(), writing.clone());
            pool.spawn(READERS + w, move || {
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
                            t.insert(Term::Array(vec![Term::Int(key), Term::Int(round as i64)]))
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
                        writing[w].store(round / 50, Ordering::Release);
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
    let results: Vec<Outcome> = writers.into_iter().map(|h| h.recv().unwrap()).collect();
    done.store(true, Ordering::Relaxed);
    for r in readers {
        r.recv().unwrap();
    }

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

/// One thread, the same kinds of operations, deterministic: a table filled, churned, traversed,
/// emptied in parts and whole, and deleted.
fn churn_alone() {
    let empty = LIVE.load(Ordering::SeqCst);
    let owner = Owner::new();
    let t = owner
        .new_table("alone", TableOptions::new().ordered_set().public())
        .unwrap();
    for i in 0..2_000i64 {
        t.insert(Term::Array(vec![Term::Int(i * 3), Term::Int(0)]))
            .unwrap();
    }
    // The count sees the table's blocks (entries and leaves included), or comparing it across
    // runs proves nothing about them.
    let counted = LIVE.load(Ordering::SeqCst) - empty;
    let reported = t.info().unwrap().memory as isize;
    assert!(
        counted >= reported * 9 / 10,
        "{counted} bytes counted for a table that reports {reported}"
    );
    for i in 0..2_000i64 {
        match i % 4 {
            0 => t.delete(i * 3).unwrap(),
            1 => drop(t.update_counter(i * 3, 1).unwrap()),
            2 => t
                .insert_many([
                    Term::Array(vec![Term::Float(i as f64 * 3.0 + 0.5), Term::Nil]),
                    Term::Array(vec![Term::Int(i * 3 + 1), Term::Nil]),
                ])
                .unwrap(),
            _ => t
                .insert(Term::Array(vec![Term::Int(i * 3), Term::Int(1)]))
                .unwrap(),
        }
    }
    traverse_all(&t);
    for i in 0..1_000i64 {
        t.delete(i * 3 + 1).unwrap();
    }
    assert!(t.tab2list().unwrap().len() > 1_000);
    t.delete_all_objects().unwrap();
    assert_eq!(t.info().unwrap().size, 0);
    t.insert(Term::Array(vec![Term::Int(1), Term::Nil]))
        .unwrap();
    t.delete_table().unwrap();
}

fn traverse_all(t: &Table) {
    let mut at = t.first().unwrap();
    while let Some(k) = at {
        at = t.next(&k).unwrap();
    }
}

#[test]
fn ordered_set_under_contention_keeps_its_invariants_and_leaks_nothing() {
    count_every_block();
    // Alone: once warm, a run leaves the heap exactly as it found it.
    churn_alone();
    churn_alone();
    let before = LIVE.load(Ordering::SeqCst);
    churn_alone();
    let after = LIVE.load(Ordering::SeqCst);
    assert_eq!(after, before, "heap bytes changed across a run: a leak");
    // Under contention: the invariants, twice over (objects and trees dropped in between).
    // Leaks there are checked by LeakSanitizer (ci/asan-storage runs this test); the heap count
    // is not compared, because process-wide caches of other libraries (parking_lot's table of
    // parked threads, per-thread nodes) grow and shrink with contention patterns.
    let pool = Pool::new(WRITERS + READERS);
    run(&pool);
    run(&pool);
}
