//! The hot read path allocates nothing once warm: a lookup through the C ABI with a canonical key
//! (as rets_builder writes it) into a reused rets_buf makes no heap allocation at all, neither
//! on the caller's side nor in the library. Counted with a counting global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use rets::*;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts allocations.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds GlobalAlloc::alloc's contract, which System requires too.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by System with `layout` (every allocation goes there).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for dealloc and alloc.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// This binary counts every allocation rets makes, so the node pool must take its blocks from
/// the process's allocator (this counting one), not from mimalloc (`RETS_NODE_POOL=global`, see
/// `storage::pool`): set before the first block is asked for.
fn count_every_block() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::env::set_var("RETS_NODE_POOL", "global"));
}

fn ok(status: rets_status) {
    assert_eq!(status, rets_status::Ok);
}

#[test]
fn a_warm_lookup_allocates_nothing() {
    count_every_block();
    let mut owner = std::ptr::null_mut();
    ok(rets_owner_new(&mut owner));
    let mut table = std::ptr::null_mut();
    ok(rets_table_new(
        owner,
        c"hot".as_ptr(),
        std::ptr::null(),
        &mut table,
    ));
    let mut b = std::ptr::null_mut();
    ok(rets_builder_new(&mut b));
    let mut out = std::ptr::null_mut();
    ok(rets_buf_new(&mut out));
    let (mut data, mut len) = (std::ptr::null(), 0usize);
    let mut keys = Vec::new();
    for i in 0..100i64 {
        ok(rets_builder_reset(b));
        ok(rets_builder_array(b, 2));
        ok(rets_builder_int(b, i));
        ok(rets_builder_str(b, c"a value of some length".as_ptr(), 22));
        ok(rets_builder_finish(b, &mut data, &mut len));
        ok(rets_table_insert(table, data, len));
        ok(rets_builder_reset(b));
        ok(rets_builder_int(b, i));
        ok(rets_builder_finish(b, &mut data, &mut len));
        // SAFETY: finish returned `len` bytes at `data`, valid until the builder changes.
        keys.push(unsafe { std::slice::from_raw_parts(data, len) }.to_vec());
    }
    // Warm up the buffer (and any lazily initialised state).
    for key in &keys {
        ok(rets_table_lookup(table, key.as_ptr(), key.len(), out));
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..10 {
        for key in &keys {
            ok(rets_table_lookup(table, key.as_ptr(), key.len(), out));
            assert!(rets_buf_len(out) > 20);
        }
    }
    let during = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(during, 0, "1000 warm lookups made {during} allocation(s)");

    rets_buf_free(out);
    rets_builder_free(b);
    rets_table_free(table);
    rets_owner_close(owner);
}
