//! What an iterator allocates: `Table::iter` copies each chunk into buffers it sizes for a typical
//! chunk when it reads the first one, and reuses them (and the key it resumes after) for every
//! later chunk, so a long traversal allocates a few times in all, not per chunk. Allocations are
//! counted per thread by this test binary's allocator, so tests running side by side do not
//! disturb the counts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use rets_core::{tuple, Owner, TableOptions, TableType};

struct Counting;

thread_local! {
    // Const-initialised and without a destructor: usable inside the allocator itself.
    /// Allocations (and reallocations) made by this thread.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn counted() {
    ALLOCATIONS.with(|a| a.set(a.get() + 1));
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        counted();
        // SAFETY: the caller upholds GlobalAlloc::alloc's contract, which System requires too.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by System with `layout` (every allocation goes there).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        counted();
        // SAFETY: as for alloc and dealloc.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Ten chunks of the default 64 keys, each object a few bytes (well under the typical size the
/// first chunk's buffers are sized for): the first chunk allocates the buffers (the objects'
/// bytes, where each one is) and the key to resume after, at most three allocations; the nine
/// others allocate nothing.
#[test]
fn an_iterator_sizes_its_buffers_once_and_reuses_them_for_every_chunk() {
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
