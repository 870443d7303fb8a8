//! Two threads run operation sequences on one public table at once; afterwards (and during)
//! invariants are checked that hold whatever the interleaving:
//! - no torn objects: every general object is `{K, V, V}` (update_element writes both copies at
//!   once), so any object read with different copies was torn;
//! - counters: every counter key ends at the sum of all increments, and each thread sees its own
//!   results strictly increase (increments are positive);
//! - insert_new: for each contested key exactly one thread wins, and the stored object is its;
//! - traversal never returns a key twice, even while the other thread writes;
//! - the final state is consistent: tab2list, size and a full walk agree.
//!
//! The two threads are the calling thread and one thread started once and kept, which gets its
//! sequence through a channel (spawning two OS threads per input cost more than the input
//! itself). A barrier starts both sequences together, as before.

use std::collections::{BTreeMap, HashSet};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Barrier, Mutex, OnceLock};

use arbitrary::{Result, Unstructured};
use rets_core::{CounterOp, Error, Object, Owner, Table, TableOptions, TableType, Term};

#[derive(Debug, Clone)]
enum Op {
    Insert(i64, i64),
    InsertMany(Vec<(i64, i64)>),
    Delete(i64),
    Take(i64),
    DeleteObject(i64, i64),
    Lookup(i64),
    UpdateElement(i64, i64),
    Counter(u8, i64),
    InsertNew(u8),
    Walk,
    Tab2List,
}

fn op(u: &mut Unstructured<'_>) -> Result<Op> {
    let key = |u: &mut Unstructured<'_>| u.int_in_range(0..=7);
    let value = |u: &mut Unstructured<'_>| u.int_in_range(0..=3);
    Ok(match u.int_in_range(0..=10)? {
        0 => Op::Insert(key(u)?, value(u)?),
        1 => {
            let len = u.int_in_range(1..=3)?;
            Op::InsertMany(
                (0..len)
                    .map(|_| Ok((key(u)?, value(u)?)))
                    .collect::<Result<_>>()?,
            )
        }
        2 => Op::Delete(key(u)?),
        3 => Op::Take(key(u)?),
        4 => Op::DeleteObject(key(u)?, value(u)?),
        5 => Op::Lookup(key(u)?),
        6 => Op::UpdateElement(key(u)?, value(u)?),
        7 => Op::Counter(u.int_in_range(0..=3)?, u.int_in_range(1..=100)?),
        8 => Op::InsertNew(u.int_in_range(0..=7)?),
        9 => Op::Walk,
        _ => Op::Tab2List,
    })
}

fn general(k: i64, v: i64) -> Term {
    Term::Array(vec![k.into(), v.into(), v.into()])
}

fn counter_key(c: u8) -> Term {
    Term::Str(format!("c{c}"))
}

fn new_key(n: u8) -> Term {
    Term::Array(vec!["n".into(), i64::from(n).into()])
}

/// Asserts that a general object (integer key) is not torn.
fn check_untorn(o: &Object) {
    if let Term::Int(_) = o.key() {
        assert_eq!(o.arity(), 3, "torn object {o:?}");
        assert_eq!(o.element(2), o.element(3), "torn object {o:?}");
    }
}

/// A full first/next walk: no key twice.
fn walk(table: &Table) -> Vec<Vec<u8>> {
    let mut seen = HashSet::new();
    let mut keys = Vec::new();
    let mut at = table.first().unwrap();
    while let Some(k) = at {
        assert!(
            seen.insert(k.as_msgpack().to_vec()),
            "traversal returned {k:?} twice"
        );
        keys.push(k.as_msgpack().to_vec());
        at = table.next(&k).unwrap();
    }
    keys
}

#[derive(Default)]
struct Seen {
    /// Per counter: what this thread added.
    added: BTreeMap<u8, i64>,
    /// insert_new keys this thread won.
    won: HashSet<u8>,
}

fn run_thread(table: &Table, id: i64, ops: &[Op], barrier: &Barrier) -> Seen {
    let sets = table.table_type().is_set();
    let mut seen = Seen::default();
    let mut last_counter: BTreeMap<u8, i64> = BTreeMap::new();
    barrier.wait();
    for op in ops {
        match op {
            Op::Insert(k, v) => table.insert(general(*k, *v)).unwrap(),
            Op::InsertMany(kvs) => table
                .insert_many(kvs.iter().map(|(k, v)| general(*k, *v)))
                .unwrap(),
            Op::Delete(k) => table.delete(*k).unwrap(),
            Op::Take(k) => table.take(*k).unwrap().iter().for_each(check_untorn),
            Op::DeleteObject(k, v) => table.delete_object(general(*k, *v)).unwrap(),
            Op::Lookup(k) => table.lookup(*k).unwrap().iter().for_each(check_untorn),
            Op::UpdateElement(k, v) => {
                let r = table.update_element(*k, &[(2, (*v).into()), (3, (*v).into())]);
                if sets {
                    r.unwrap();
                } else {
                    assert!(matches!(r, Err(Error::WrongTableType { .. })));
                }
            }
            Op::Counter(c, incr) => {
                let key = counter_key(*c);
                let r = table.update_counters_or(
                    &key,
                    &[CounterOp::new(2, *incr)],
                    Term::Array(vec![key.clone(), 0.into()]),
                );
                if sets {
                    let value = r.unwrap()[0];
                    let last = last_counter.entry(*c).or_insert(0);
                    assert!(value > *last, "counter {c} went from {last} to {value}");
                    *last = value;
                    *seen.added.entry(*c).or_insert(0) += incr;
                } else {
                    assert!(matches!(r, Err(Error::WrongTableType { .. })));
                }
            }
            Op::InsertNew(n) => {
                if table
                    .insert_new(Term::Array(vec![new_key(*n), id.into()]))
                    .unwrap()
                {
                    seen.won.insert(*n);
                }
            }
            Op::Walk => {
                walk(table);
            }
            Op::Tab2List => table.tab2list().unwrap().iter().for_each(check_untorn),
        }
    }
    seen
}

/// One thread's share of an input.
struct Job {
    table: Table,
    id: i64,
    ops: Vec<Op>,
}

/// The kept second thread: it runs each job it receives and sends back what it saw.
struct Worker {
    jobs: Sender<Job>,
    done: Receiver<Seen>,
}

/// The second thread (the calling thread is the first), started on first use, and the barrier
/// that the two pass before each run. A panic on it aborts the process (the fuzz target's panic
/// hook), so a failed check there is reported as on the calling thread.
fn worker() -> &'static Mutex<(Worker, Arc<Barrier>)> {
    static WORKER: OnceLock<Mutex<(Worker, Arc<Barrier>)>> = OnceLock::new();
    WORKER.get_or_init(|| {
        let barrier = Arc::new(Barrier::new(2));
        let (jobs, inbox) = channel::<Job>();
        let (outbox, done) = channel();
        let theirs = barrier.clone();
        std::thread::Builder::new()
            .name("fuzz-worker".into())
            .spawn(move || {
                for job in inbox {
                    let seen = run_thread(&job.table, job.id, &job.ops, &theirs);
                    // The handle goes before the result, so that the checks after the run see
                    // the table held by the input alone, as with a thread that ends.
                    drop(job);
                    if outbox.send(seen).is_err() {
                        break;
                    }
                }
            })
            .expect("a fuzz worker thread");
        Mutex::new((Worker { jobs, done }, barrier))
    })
}

/// Decodes the table type and two sequences of up to 32 operations each, runs them on two
/// threads and checks the invariants.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(t) = u.int_in_range(0..=3u8) else {
        return;
    };
    let table_type = [
        TableType::Set,
        TableType::OrderedSet,
        TableType::Bag,
        TableType::DuplicateBag,
    ][usize::from(t)];
    let mut seqs: [Vec<Op>; 2] = [Vec::new(), Vec::new()];
    let mut i = 0;
    while !u.is_empty() && seqs[1].len() < 32 {
        let Ok(op) = op(&mut u) else { break };
        seqs[i % 2].push(op);
        i += 1;
    }
    let owner = Owner::new();
    let table = owner
        .new_table(
            "concurrent",
            TableOptions::new().table_type(table_type).public(),
        )
        .unwrap();
    let [a, b] = {
        let guard = worker().lock().unwrap();
        let (worker, barrier) = &*guard;
        let [mine, theirs] = seqs;
        let job = Job {
            table: table.clone(),
            id: 1,
            ops: theirs,
        };
        worker.jobs.send(job).expect("a live worker");
        let a = run_thread(&table, 0, &mine, barrier);
        [a, worker.done.recv().expect("a live worker")]
    };

    // Final state.
    let all = table.tab2list().unwrap();
    all.iter().for_each(check_untorn);
    assert_eq!(
        all.len(),
        table.size().unwrap(),
        "tab2list and size disagree"
    );
    let keys = walk(&table);
    let distinct: HashSet<&[u8]> = all.iter().map(|o| o.key_msgpack()).collect();
    assert_eq!(
        keys.len(),
        distinct.len(),
        "a walk and tab2list see different keys"
    );

    for c in 0..4u8 {
        let added = a.added.get(&c).unwrap_or(&0) + b.added.get(&c).unwrap_or(&0);
        let got = table.lookup_element_or(counter_key(c), 2, 0).unwrap();
        assert_eq!(got, Term::Int(added), "counter {c}");
    }
    for n in 0..8u8 {
        let winners = [&a, &b].iter().filter(|s| s.won.contains(&n)).count();
        let stored = table.lookup(new_key(n)).unwrap();
        assert!(winners <= 1, "insert_new of key {n} won twice");
        assert_eq!(stored.len(), winners, "insert_new key {n}: {stored:?}");
        if let Some(o) = stored.first() {
            let id = if a.won.contains(&n) { 0 } else { 1 };
            assert_eq!(
                o.element(2),
                Some(Term::Int(id)),
                "insert_new key {n} stored the loser's object"
            );
        }
    }
}
