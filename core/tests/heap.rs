//! What the engine allocates and gives back, counted per thread by this test binary's allocator
//! (so tests running side by side do not disturb the counts):
//! - `Table::iter` copies each chunk into buffers it sizes for a typical chunk when it reads the
//!   first one, and reuses them (and the key it resumes after) for every later chunk, so a long
//!   traversal allocates a few times in all, not per chunk;
//! - closing an owner drops the transfers still queued for it: each holds a handle acting for
//!   the owner (and the gift), so one left queued would keep the closed owner, the table and the
//!   gift allocated for good.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use rets_core::{tuple, Owner, TableOptions, TableType, Term};

struct Counting;

thread_local! {
    // Const-initialised and without a destructor: usable inside the allocator itself.
    /// Bytes allocated minus bytes freed by this thread.
    static LIVE: Cell<isize> = const { Cell::new(0) };
    /// Allocations (and reallocations) made by this thread.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count(bytes: isize, allocations: usize) {
    LIVE.with(|l| l.set(l.get() + bytes));
    ALLOCATIONS.with(|a| a.set(a.get() + allocations));
}

fn live() -> isize {
    LIVE.with(Cell::get)
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds GlobalAlloc::alloc's contract, which System requires too.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as isize, 1);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize), 0);
        // SAFETY: `ptr` was allocated by System with `layout` (every allocation goes there).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for alloc and dealloc.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(new_size as isize - layout.size() as isize, 1);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// This binary counts every byte rets allocates, so the node pool must take its blocks from the
/// process's allocator (this counting one), not from mimalloc (`RETS_NODE_POOL=global`, see
/// `storage::pool`): set before the first block is asked for, by every test first.
fn count_every_block() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::env::set_var("RETS_NODE_POOL", "global"));
}

/// Ten chunks of the default 64 keys, each object a few bytes (well under the typical size the
/// first chunk's buffers are sized for): the first chunk allocates the buffers (the objects'
/// bytes, where each one is) and the key to resume after, at most three allocations; the nine
/// others allocate nothing.
#[test]
fn an_iterator_sizes_its_buffers_once_and_reuses_them_for_every_chunk() {
    count_every_block();
    let owner = Owner::new();
    let tab = owner
        .new_table("t", TableOptions::new().table_type(TableType::OrderedSet))
        .unwrap();
    tab.insert_many((0..640i64).map(|k| tuple!(k, k))).unwrap();

    let mut objects = tab.iter();
    let start = allocations();
    objects.next_ref().expect("a first object").unwrap();
    let first_chunk = allocations() - start;
    let mut seen = 1;
    let start = allocations();
    while let Some(object) = objects.next_ref() {
        object.unwrap();
        seen += 1;
    }
    let later_chunks = allocations() - start;

    assert_eq!(seen, 640);
    assert!(
        first_chunk <= 3,
        "the first chunk allocated {first_chunk} times (its buffers grew while it was read)"
    );
    assert_eq!(later_chunks, 0, "the nine later chunks allocated");
}

/// Tables given away, with a gift of 1 MiB each, to owners that close without receiving them:
/// the close drops each queued transfer, so twenty rounds leave less than one gift behind
/// (objects and arrays the tables retired may still wait for reclamation; they are small).
#[test]
fn closing_an_owner_frees_the_transfers_it_did_not_receive() {
    count_every_block();
    const GIFT: usize = 1 << 20;
    let giver = Owner::new();
    let round = || {
        let receiver = Owner::new();
        let tab = giver.new_table("gift", TableOptions::new().set()).unwrap();
        tab.insert(tuple!(1, 1)).unwrap();
        tab.give_away(&receiver, Term::Bin(vec![7; GIFT])).unwrap();
        drop(tab);
        receiver.close();
    };
    round(); // warm up (per-thread state, registries)
    let before = live();
    for _ in 0..20 {
        round();
    }
    let held = live() - before;
    assert!(
        held < GIFT as isize,
        "{held} bytes still held after 20 closed owners' transfers (a gift is {GIFT})"
    );
}
