//! No leak: after hash tables are used by many threads (growing, shrinking, replacing, deleting
//! and clearing under concurrent readers) and then dropped, every byte allocated is freed. A
//! counting global allocator measures it; this file holds one test so nothing else allocates
//! meanwhile.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::thread;

use rets_core::{tuple, Owner, TableOptions, TableType, Term};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static TOTAL: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator unchanged and only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        TOTAL.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
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

fn workload() {
    for t in [TableType::Set, TableType::Bag, TableType::DuplicateBag] {
        let owner = Owner::new();
        let tab = owner
            .new_table("leak", TableOptions::new().table_type(t).public())
            .unwrap();
        let doomed = owner
            .new_table("doomed", TableOptions::new().public())
            .unwrap();
        thread::scope(|s| {
            let mut workers = Vec::new();
            for id in 0..4i64 {
                let (tab, doomed) = (&tab, &doomed);
                workers.push(s.spawn(move || {
                    for i in 0..5_000i64 {
                        let k = (i * 31 + id) % 3_000;
                        tab.insert(tuple!(k, i)).unwrap();
                        if i % 3 == 0 {
                            tab.delete(k / 2).unwrap();
                        }
                        if i % 500 == 0 {
                            tab.insert_many((0..10).map(|j| tuple!(k + j, j))).unwrap();
                        }
                        if i % 1_700 == 0 && id == 0 {
                            tab.delete_all_objects().unwrap();
                        }
                        tab.lookup_with(k, |o| o.count()).unwrap();
                        let _ = doomed.insert(tuple!(k, i));
                        let _ = doomed.lookup(k);
                        if i == 2_500 && id == 1 {
                            doomed.delete_table().unwrap();
                        }
                    }
                }));
            }
            // Joined by hand: the scope's own wait ends when the closures return, a join when
            // the threads have exited, their thread-locals (the node pools) freed.
            for worker in workers {
                worker.join().unwrap();
            }
        });
        assert!(tab.info().unwrap().size > 0);
        // Dropping the handles and the owner deletes the tables and frees them.
    }
}

/// One round of the workload on a thread of its own. A thread keeps some of the small nodes
/// it freed for its next writes (`storage::pool`) and frees them when it exits, so a round
/// counts as done when its threads are.
fn round() {
    thread::spawn(workload).join().unwrap();
}

/// Checks that the count sees the pooled blocks (nodes), without which the drift checked below
/// would prove nothing about them: a table of objects that are mostly their nodes (300-byte
/// binaries) grows the count by at least nine tenths of the memory it reports.
fn the_count_sees_nodes() {
    thread::spawn(|| {
        let owner = Owner::new();
        let empty = LIVE.load(Ordering::SeqCst);
        let t = owner
            .new_table("seen", TableOptions::new().public())
            .unwrap();
        for i in 0..2_000i64 {
            t.insert(Term::Array(vec![Term::Int(i), Term::Bin(vec![7; 300])]))
                .unwrap();
        }
        let counted = LIVE.load(Ordering::SeqCst) - empty;
        let reported = t.info().unwrap().memory as isize;
        assert!(
            counted >= reported * 9 / 10,
            "{counted} bytes counted for a table that reports {reported}"
        );
    })
    .join()
    .unwrap();
}

#[test]
fn dropped_tables_free_everything() {
    count_every_block();
    the_count_sees_nodes();
    // Warm-up rounds allocate what lives for the whole process or grows to a high-water mark
    // (lazy statics, the name registry, the thread-id table of the reclaimer).
    round();
    round();
    let before = LIVE.load(Ordering::SeqCst);
    let total_before = TOTAL.load(Ordering::SeqCst);
    let rounds = 10;
    for _ in 0..rounds {
        round();
    }
    let drift = LIVE.load(Ordering::SeqCst) - before;
    let allocated = TOTAL.load(Ordering::SeqCst) - total_before;
    // Process-wide structures move by a few hundred bytes either way between rounds (seen:
    // -152..+192, not accumulating); a leak of even one node in a thousand per round would
    // leave well over 10 KiB after 10 rounds, of the megabytes the rounds allocate.
    assert!(allocated > 10 << 20, "the workload allocates: {allocated}");
    assert!(
        drift.abs() < 1024,
        "{drift} bytes still allocated after {rounds} rounds of {allocated} bytes"
    );

    // A deleted table's memory is freed when it is deleted, not when its last handle goes
    // (a handle a garbage-collected binding has not finalized yet, say).
    thread::spawn(|| {
        let owner = Owner::new();
        let empty = LIVE.load(Ordering::SeqCst);
        let t = owner
            .new_table("held", TableOptions::new().public())
            .unwrap();
        for i in 0..10_000i64 {
            t.insert(tuple!(i, i)).unwrap();
        }
        let table_bytes = LIVE.load(Ordering::SeqCst) - empty;
        let held = t.clone();
        t.delete_table().unwrap();
        let left = LIVE.load(Ordering::SeqCst) - empty;
        // The thread's node pool keeps up to a retirement batch of freed nodes (268 KiB).
        assert!(
            left < table_bytes / 2,
            "{left} of the table's {table_bytes} bytes still allocated after its deletion"
        );
        drop(held);
    })
    .join()
    .unwrap();
}
