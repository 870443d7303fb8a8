//! What a pin holds up, measured: objects replaced while a pin is held stay allocated (a
//! pinned reader may still be reading them), and are freed once the pin is dropped, or
//! refreshed. Live heap bytes are counted by this test binary's allocator, so this file holds
//! one test (another test running in parallel would move the count).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use rets_core::{Owner, Table, TableOptions, Term};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: allocation is the system allocator's; the counter only follows it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded.
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

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

const KEYS: i64 = 1_000;
const ROUNDS: i64 = 20;
/// Bytes of each object's payload: 20 rounds over 1,000 keys retire about 20 MB of objects.
const PAYLOAD: usize = 1_000;

/// Rewrites every key `ROUNDS` times on another thread (whose retirements a pin held here
/// must hold up too), and returns the bytes those objects occupy.
fn rewrite_all(table: &Table, round0: i64) -> isize {
    std::thread::scope(|s| {
        s.spawn(|| {
            for round in round0..round0 + ROUNDS {
                for k in 0..KEYS {
                    let payload = Term::Bin(vec![round as u8; PAYLOAD]);
                    table
                        .insert(Term::Array(vec![k.into(), round.into(), payload]))
                        .unwrap();
                }
            }
        });
    });
    (ROUNDS * KEYS) as isize * PAYLOAD as isize
}

#[test]
fn objects_retired_while_pinned_are_freed_after_unpin() {
    count_every_block();
    let owner = Owner::new();
    let table = owner
        .new_table("held", TableOptions::new().set().public())
        .unwrap();
    rewrite_all(&table, 0);
    // Without a pin, retired objects are freed as the writer goes (a few batches of 128
    // objects per thread may wait for the next ones).
    let baseline = live();
    let retired = rewrite_all(&table, 100);
    let slack = retired / 10;
    let unpinned = live() - baseline;
    assert!(
        unpinned < slack,
        "without a pin {unpinned} bytes stayed allocated"
    );

    for kind in ["pin", "pin_owned", "refresh"] {
        let before = live();
        let pin;
        let owned;
        match kind {
            "pin_owned" => {
                owned = Some(table.pin_owned().unwrap());
                pin = None;
            }
            _ => {
                pin = Some(table.pin().unwrap());
                owned = None;
            }
        }
        let retired = rewrite_all(&table, 200);
        let held = live() - before;
        eprintln!("{kind}: {held} bytes held while pinned ({retired} retired)");
        assert!(
            held > retired * 9 / 10,
            "{kind}: only {held} of {retired} retired bytes were still allocated while pinned"
        );
        if kind == "refresh" {
            let mut pin = pin.unwrap();
            pin.refresh();
            // The pin still reads (the objects written last), and what it held is gone.
            assert!(pin.member(KEYS - 1).unwrap());
            let after = live() - before;
            eprintln!("{kind}: {after} bytes still allocated after the refresh");
            assert!(after < slack, "refresh: {after} bytes still allocated");
        } else {
            drop(pin);
            drop(owned);
            let after = live() - before;
            eprintln!("{kind}: {after} bytes still allocated after unpin");
            assert!(
                after < slack,
                "{kind}: {after} bytes still allocated after unpin"
            );
        }
    }
}
