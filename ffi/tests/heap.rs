//! What the C ABI allocates and gives back, counted per thread by a global allocator:
//! - every `*_free` function (and rets_owner_close) gives back what its handle holds: creating a
//!   handle, using it and freeing it leaves the thread's live heap bytes where they were.
//!   ci/c-tests finds leaks too (valgrind, LeakSanitizer), but only this test makes a free that
//!   frees nothing fail `cargo test`, and so a mutation run over ffi/src;
//! - a builder that has grown writes caller bytes without allocating (rets_builder's documented
//!   promise): it copies only bytes that lie in its own memory.
//!
//! Each case runs once to warm up (per-thread error messages, lazily grown registries), then is
//! measured. The counts are per thread, so tests running side by side do not disturb them.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ffi::CStr;
use std::ptr;

use rets::*;

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
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for alloc. (Forwarded, not left to the default, which would write every
        // byte: System's zeroed allocation of a large block touches no page.)
        let p = unsafe { System.alloc_zeroed(layout) };
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
        // SAFETY: as for dealloc and alloc.
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

fn ok(status: rets_status) {
    // SAFETY: rets_last_error_message returns a valid NUL-terminated string owned by rets.
    let message = unsafe { CStr::from_ptr(rets_last_error_message()) };
    assert_eq!(status, rets_status::Ok, "{message:?}");
}

/// Runs `case` once to warm up, then again, and checks that the second run left the live heap
/// bytes unchanged.
fn gives_back_everything(what: &str, mut case: impl FnMut()) {
    case();
    let before = live();
    case();
    let after = live();
    assert_eq!(
        after - before,
        0,
        "{what}: {} bytes still held after the free",
        after - before
    );
}

fn options(named: bool) -> rets_table_options {
    rets_table_options {
        table_type: 0,
        access: 0,
        keypos: 0,
        named,
        read_concurrency: false,
        write_concurrency: false,
        heir: ptr::null(),
        heir_data: ptr::null(),
        heir_data_len: 0,
    }
}

/// The key 1 and the object `{1, 2}`, as MessagePack.
const KEY_ONE: [u8; 1] = [0x01];
const OBJECT_ONE: [u8; 3] = [0x92, 0x01, 0x02];

/// The match specification `[{'_', [], ['$_']}]`, written with the builder (so this file does
/// not spell out how atoms are encoded).
fn match_all_spec() -> Vec<u8> {
    let mut b = ptr::null_mut();
    ok(rets_builder_new(&mut b));
    ok(rets_builder_array(b, 1));
    ok(rets_builder_array(b, 3));
    ok(rets_builder_atom(b, c"_".as_ptr(), 1));
    ok(rets_builder_array(b, 0));
    ok(rets_builder_array(b, 1));
    ok(rets_builder_atom(b, c"$_".as_ptr(), 2));
    let (mut p, mut n) = (ptr::null(), 0);
    ok(rets_builder_finish(b, &mut p, &mut n));
    // SAFETY: rets_builder_finish returned OK: `p` points to `n` bytes valid until the builder
    // is next used or freed.
    let spec = unsafe { std::slice::from_raw_parts(p, n) }.to_vec();
    rets_builder_free(b);
    spec
}

#[test]
fn every_free_gives_back_what_its_handle_holds() {
    count_every_block();
    let mut owner = ptr::null_mut();
    ok(rets_owner_new(&mut owner));
    let mut table = ptr::null_mut();
    ok(rets_table_new(
        owner,
        c"frees".as_ptr(),
        &options(true),
        &mut table,
    ));
    for k in 0..8u8 {
        ok(rets_table_insert(table, [0x92, k, 0x02].as_ptr(), 3));
    }
    let spec_bytes = match_all_spec();

    gives_back_everything("rets_buf_free", || {
        let mut buf = ptr::null_mut();
        ok(rets_buf_new(&mut buf));
        ok(rets_table_lookup(table, KEY_ONE.as_ptr(), 1, buf));
        assert!(rets_buf_len(buf) > 0);
        rets_buf_free(buf);
    });

    gives_back_everything("rets_builder_free", || {
        let mut b = ptr::null_mut();
        ok(rets_builder_new(&mut b));
        ok(rets_builder_array(b, 2));
        ok(rets_builder_int(b, 1));
        ok(rets_builder_bin(b, [7u8; 300].as_ptr(), 300));
        rets_builder_free(b);
    });

    gives_back_everything("rets_matchspec_free", || {
        let mut spec = ptr::null_mut();
        ok(rets_matchspec_compile(
            spec_bytes.as_ptr(),
            spec_bytes.len(),
            &mut spec,
        ));
        rets_matchspec_free(spec);
    });

    let mut spec = ptr::null_mut();
    ok(rets_matchspec_compile(
        spec_bytes.as_ptr(),
        spec_bytes.len(),
        &mut spec,
    ));
    let mut out = ptr::null_mut();
    ok(rets_buf_new(&mut out));
    gives_back_everything("rets_select_cont_free", || {
        let mut cont = ptr::null_mut();
        ok(rets_table_select_limit(table, spec, 3, out, &mut cont));
        assert!(!cont.is_null(), "8 objects by 3 leave a continuation");
        rets_select_cont_free(cont);
    });

    gives_back_everything("rets_table_free", || {
        let mut handle = ptr::null_mut();
        ok(rets_whereis(c"frees".as_ptr(), &mut handle));
        rets_table_free(handle);
    });

    gives_back_everything("rets_pin_free", || {
        let mut pin = ptr::null_mut();
        ok(rets_pin_new(table, &mut pin));
        let mut found = false;
        ok(rets_pin_member(pin, KEY_ONE.as_ptr(), 1, &mut found));
        assert!(found, "key 1 is in the table");
        rets_pin_free(pin);
    });

    gives_back_everything("rets_manual_clock_free", || {
        let mut clock = ptr::null_mut();
        ok(rets_manual_clock_new(&mut clock));
        rets_manual_clock_free(clock);
    });

    gives_back_everything("rets_ticket_free", || {
        let mut claim = rets_claim::Cached;
        let mut ticket = ptr::null_mut();
        let key = [0x10u8];
        ok(rets_table_claim_load(
            table,
            key.as_ptr(),
            1,
            out,
            &mut claim,
            &mut ticket,
        ));
        assert!(matches!(claim, rets_claim::Load));
        // Failed rather than filled: a fill would store an object, whose deletion the table
        // reclaims later (deferred reclamation), which this count cannot tell from a leak.
        ok(rets_ticket_fail(ticket, c"not loaded".as_ptr()));
        rets_ticket_free(ticket);
    });

    gives_back_everything("rets_owner_close", || {
        let mut other = ptr::null_mut();
        ok(rets_owner_new(&mut other));
        let mut t = ptr::null_mut();
        ok(rets_table_new(
            other,
            c"closed".as_ptr(),
            &options(false),
            &mut t,
        ));
        ok(rets_table_insert(t, OBJECT_ONE.as_ptr(), 3));
        rets_table_free(t);
        rets_owner_close(other);
    });

    rets_buf_free(out);
    rets_matchspec_free(spec);
    rets_table_free(table);
    rets_owner_close(owner);
}

#[test]
fn a_grown_builder_writes_caller_bytes_without_allocating() {
    count_every_block();
    let text = [b'x'; 200];
    let data = [7u8; 300];
    let mut b = ptr::null_mut();
    ok(rets_builder_new(&mut b));
    let write = || {
        ok(rets_builder_reset(b));
        ok(rets_builder_array(b, 3));
        ok(rets_builder_str(b, text.as_ptr().cast(), text.len()));
        ok(rets_builder_bin(b, data.as_ptr(), data.len()));
        ok(rets_builder_bin(b, data.as_ptr(), 0));
        let (mut p, mut n) = (ptr::null(), 0);
        ok(rets_builder_finish(b, &mut p, &mut n));
        n
    };
    let grown = write();
    let before = allocations();
    assert_eq!(write(), grown);
    assert_eq!(
        allocations() - before,
        0,
        "writing bytes that are not the builder's own must not copy them"
    );

    // Bytes from rets_builder_finish(), given back as the first input after a reset (which
    // rets.h allows), lie in the builder's own memory: they are copied first, and come out
    // intact.
    let (mut p, mut n) = (ptr::null(), 0);
    ok(rets_builder_reset(b));
    ok(rets_builder_bin(b, data.as_ptr(), data.len()));
    ok(rets_builder_finish(b, &mut p, &mut n));
    ok(rets_builder_reset(b));
    ok(rets_builder_bin(b, p, n));
    ok(rets_builder_finish(b, &mut p, &mut n));
    // SAFETY: rets_builder_finish returned OK: `p` points to `n` bytes until the builder is
    // next used or freed.
    let value = unsafe { std::slice::from_raw_parts(p, n) }.to_vec();
    let inner = [&[0xc5, 0x01, 0x2c][..], &data[..]].concat(); // bin 16 of 300 bytes
    let outer = [&[0xc5, 0x01, 0x2f][..], &inner[..]].concat(); // bin 16 of those 303
    assert_eq!(value, outer);
    rets_builder_free(b);
}

/// 4 GiB + 1 zero bytes (valid UTF-8), allocated zeroed: the system maps the pages only when
/// they are touched, and reading them maps the shared zero page, so no real memory is used.
fn four_gib_and_one() -> Vec<u8> {
    vec![0u8; (1usize << 32) + 1]
}

#[test]
fn a_builder_refuses_a_bin_of_4_gib_without_copying_it() {
    count_every_block();
    let huge = four_gib_and_one();
    let mut b = ptr::null_mut();
    ok(rets_builder_new(&mut b));
    let before = live();
    assert_eq!(
        rets_builder_bin(b, huge.as_ptr(), huge.len()),
        rets_status::LimitExceeded
    );
    // Only the error message was allocated, not a copy of 4 GiB.
    assert!(
        live() - before < 4096,
        "{} bytes allocated",
        live() - before
    );
    rets_builder_free(b);
}

#[test]
fn a_builder_refuses_a_str_of_4_gib_without_copying_it() {
    count_every_block();
    let huge = four_gib_and_one();
    let mut b = ptr::null_mut();
    ok(rets_builder_new(&mut b));
    let before = live();
    assert_eq!(
        rets_builder_str(b, huge.as_ptr().cast(), huge.len()),
        rets_status::LimitExceeded
    );
    assert!(
        live() - before < 4096,
        "{} bytes allocated",
        live() - before
    );
    rets_builder_free(b);
}
