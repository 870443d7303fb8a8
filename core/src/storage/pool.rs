//! Per-thread reuse of the small blocks that writes allocate (hash nodes, ordered_set entries
//! and leaves).
//!
//! Every write to a hash table allocates a node and retires the one it replaces; the reclaimer
//! frees retired nodes a batch at a time, on the thread that fills the batch. With two
//! threads writing one table, half of each batch was allocated by the other thread, and
//! glibc's per-thread cache takes only 7 blocks of a size: the rest went back to the other
//! thread's arena, and the batch list's own 4 KiB allocation made glibc consolidate its small
//! free lists, so the next small allocations took its slow path. Two threads updating counters
//! spent about 200 ns of each update in `malloc` and `free` (BENCHMARKS.md, *update_counter on
//! two threads*), against about 25 on one thread. An ordered_set's one-key insert or removal
//! replaces its leaf (520 bytes) the same way: two threads filling one ordered_set spent 12% of
//! their time waiting for each other's arena lock, in `malloc` and `free`, before leaves were
//! pooled (BENCHMARKS.md, *ordered writes on two threads*).
//!
//! So a thread keeps the small blocks it frees (up to [`KEEP_BYTES`] in all, by size class)
//! and allocates from them first: a node freed by a retirement batch is reused by the same
//! thread's next writes, whichever thread allocated it. Nothing is shared between threads, so
//! there is no synchronisation; a thread's blocks go back to the allocator when it exits.
//!
//! When a thread has no free block of the size, the block comes from mimalloc, not from the
//! process's allocator: a table being filled allocates a block per key, and glibc's `malloc`
//! and `free` were about 220 and 180 instructions a block there (fresh memory, the table's
//! deletion freeing it on another thread), and two threads filling one ordered_set waited on
//! each other's arena locks; with mimalloc a 10k-key fill takes 230 to 240 instructions less
//! a key (set and ordered_set), and two threads filling an ordered_set 18% less time
//! (BENCHMARKS.md, *Pooled blocks from mimalloc*). Only pooled blocks (at most
//! [`MAX_POOLED`] bytes) come from it; larger ones, and everything else rets allocates, use the
//! process's allocator.
//!
//! The environment variable `RETS_NODE_POOL`, read when the first block is asked for, changes
//! that: `0` turns the pool off, every block then coming from and going straight back to the
//! process's allocator (ci/memcheck, ci/asan-storage and the ASan fuzz runs set it, so that
//! valgrind and AddressSanitizer see a freed node as freed, not as pooled); `global` keeps the
//! pool but takes its blocks from the process's allocator (tests and benchmarks that count
//! every byte rets allocates with a counting allocator of their own set it). The pool is off
//! under `--cfg rets_loom` too (the models' allocator must see every free to poison it).

// Under loom the pool is off and its lists go unused.
#![cfg_attr(rets_loom, allow(dead_code))]

use std::alloc::{self, Layout};
use std::cell::Cell;
use std::ptr;

/// Block sizes are rounded up to the next `STEP * c + 8`: glibc gives a request of that size a
/// chunk of `STEP * (c + 1)` bytes, the same chunk as every request it rounds up, so pooling
/// costs no memory there...
const STEP: usize = 16;
/// ...up to this size, an ordered_set leaf's; larger blocks go to the allocator directly (a
/// larger object costs more than the allocator's work to copy anyway).
const MAX_POOLED: usize = 520;
const CLASSES: usize = (MAX_POOLED + 7) / STEP + 1;
/// The alignment of pooled blocks (at least that of every block asked for: nodes and entries
/// are 8-aligned).
const ALIGN: usize = 8;
/// The most bytes of free blocks a thread keeps: what one retirement batch (512 blocks) frees
/// when its blocks are the largest pooled ones, ordered_set leaves (536-byte class). Half that
/// (128 KiB) sent about half of each batch of leaves back to the allocator, across threads'
/// arenas: filling ordered_sets of 10k keys took 6% longer on one thread and 10% on two
/// (BENCHMARKS.md, *Leaves kept per thread*).
const KEEP_BYTES: usize = 512 * 536;

/// A free block in a list: its first word links to the next.
struct Free {
    next: *mut Free,
}

/// A thread's free blocks, one list per size class.
struct Lists {
    heads: [Cell<*mut Free>; CLASSES],
    /// Bytes of all the blocks in the lists.
    bytes: Cell<usize>,
}

impl Drop for Lists {
    fn drop(&mut self) {
        for (class, head) in self.heads.iter().enumerate() {
            let mut block = head.replace(ptr::null_mut());
            while !block.is_null() {
                // SAFETY: the blocks in a list are free blocks of its class, from `new_block`
                // with `class_layout(class)`, and owned by the list alone.
                unsafe {
                    let next = (*block).next;
                    free_block(block.cast(), class_layout(class));
                    block = next;
                }
            }
        }
    }
}

#[cfg(not(rets_loom))]
thread_local! {
    static LISTS: Lists = const {
        Lists {
            heads: [const { Cell::new(ptr::null_mut()) }; CLASSES],
            bytes: Cell::new(0),
        }
    };
}

/// The size class of a block of `size` bytes, if it is pooled.
#[inline]
fn class_of(size: usize) -> Option<usize> {
    (size <= MAX_POOLED && enabled()).then(|| (size + 7) / STEP)
}

/// The layout blocks of `class` are allocated with: `STEP * class + 8` bytes, room for a
/// block of any size of the class and for the free list's link.
fn class_layout(class: usize) -> Layout {
    Layout::from_size_align(class * STEP + 8, ALIGN).expect("a small power-of-two alignment")
}

/// Where blocks come from (see the module documentation).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
enum Mode {
    /// Not pooled: from the process's allocator, and straight back to it.
    Off = 1,
    /// Pooled, new blocks from the process's allocator.
    Global = 2,
    /// Pooled, new blocks from mimalloc.
    Mimalloc = 3,
}

/// The mode, read from `RETS_NODE_POOL` once.
#[inline]
fn mode() -> Mode {
    #[cfg(rets_loom)]
    return Mode::Off;
    #[cfg(not(rets_loom))]
    {
        use std::sync::atomic::{AtomicU8, Ordering};
        // 0: not yet read from the environment; otherwise the mode.
        static STATE: AtomicU8 = AtomicU8::new(0);
        match STATE.load(Ordering::Relaxed) {
            1 => Mode::Off,
            2 => Mode::Global,
            3 => Mode::Mimalloc,
            _ => {
                let mode = match std::env::var_os("RETS_NODE_POOL") {
                    Some(v) if v == "0" => Mode::Off,
                    Some(v) if v == "global" => Mode::Global,
                    _ => Mode::Mimalloc,
                };
                STATE.store(mode as u8, Ordering::Relaxed);
                mode
            }
        }
    }
}

/// Whether blocks are pooled.
#[inline]
fn enabled() -> bool {
    mode() != Mode::Off
}

/// A new block of a class layout from the pool's allocator (mimalloc unless `global`).
///
/// # Safety
/// As [`std::alloc::GlobalAlloc::alloc`]: `layout` has a non-zero size.
#[inline]
unsafe fn new_block(layout: Layout) -> *mut u8 {
    #[cfg(not(rets_loom))]
    if mode() == Mode::Mimalloc {
        // SAFETY: the caller's contract.
        return unsafe { alloc::GlobalAlloc::alloc(&mimalloc::MiMalloc, layout) };
    }
    // SAFETY: the caller's contract.
    unsafe { alloc::alloc(layout) }
}

/// Gives a block from [`new_block`] back to the allocator it came from.
///
/// # Safety
/// `block` came from [`new_block`] with `layout` and is not used afterwards.
#[inline]
unsafe fn free_block(block: *mut u8, layout: Layout) {
    #[cfg(not(rets_loom))]
    if mode() == Mode::Mimalloc {
        // SAFETY: the mode never changes, so the block came from mimalloc (the contract).
        return unsafe { alloc::GlobalAlloc::dealloc(&mimalloc::MiMalloc, block, layout) };
    }
    // SAFETY: the block came from the process's allocator (the contract, as above).
    unsafe { alloc::dealloc(block, layout) }
}

/// A block for `layout` (whose alignment is at most 8), from this thread's free blocks if it
/// has one of the size. Null if the allocator has no memory.
#[inline]
pub(crate) fn alloc(layout: Layout) -> *mut u8 {
    debug_assert!(layout.align() <= ALIGN);
    let Some(class) = class_of(layout.size()) else {
        // SAFETY: the caller's layouts have a non-zero size (node headers are not empty).
        return unsafe { alloc::alloc(layout) };
    };
    #[cfg(not(rets_loom))]
    {
        let reused = LISTS
            .try_with(|lists| {
                let head = lists.heads[class].get();
                if !head.is_null() {
                    // SAFETY: a block in the list is a free block of this class, owned by it.
                    lists.heads[class].set(unsafe { (*head).next });
                    lists
                        .bytes
                        .set(lists.bytes.get() - class_layout(class).size());
                }
                head
            })
            // The thread is exiting and its lists are gone: allocate.
            .unwrap_or(ptr::null_mut());
        if !reused.is_null() {
            return reused.cast();
        }
    }
    // SAFETY: a class layout has a non-zero size.
    unsafe { new_block(class_layout(class)) }
}

/// Frees a block from [`alloc`].
///
/// # Safety
/// `block` was returned by [`alloc`] with this `layout`, is not used afterwards and is freed
/// once.
#[inline]
pub(crate) unsafe fn dealloc(block: *mut u8, layout: Layout) {
    let Some(class) = class_of(layout.size()) else {
        // SAFETY: an unpooled block was allocated with `layout` itself (contract).
        return unsafe { alloc::dealloc(block, layout) };
    };
    #[cfg(not(rets_loom))]
    {
        let size = class_layout(class).size();
        let kept = LISTS
            .try_with(|lists| {
                if lists.bytes.get() + size > KEEP_BYTES {
                    return false;
                }
                let free = block.cast::<Free>();
                // SAFETY: the block is ours now (contract), at least 8 bytes and 8-aligned
                // (its class layout): room for the link.
                unsafe {
                    free.write(Free {
                        next: lists.heads[class].get(),
                    })
                };
                lists.heads[class].set(free);
                lists.bytes.set(lists.bytes.get() + size);
                true
            })
            .unwrap_or(false);
        if kept {
            return;
        }
    }
    // SAFETY: a pooled-size block was allocated with its class layout, by `alloc` (either by
    // `new_block` directly or reused from a list that got it so).
    unsafe { free_block(block, class_layout(class)) }
}

#[cfg(all(test, not(rets_loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_freed_block_is_reused_by_the_next_allocation_of_its_class() {
        let layout = Layout::from_size_align(43, 8).unwrap();
        let first = alloc(layout);
        // SAFETY: from `alloc` with `layout`, freed once.
        unsafe { dealloc(first, layout) };
        // 48 bytes is the same class (41..=56): the same block comes back.
        let second = alloc(Layout::from_size_align(48, 8).unwrap());
        assert_eq!(first, second);
        // A block of another class does not take it.
        // SAFETY: as above.
        unsafe { dealloc(second, Layout::from_size_align(48, 8).unwrap()) };
        let other = alloc(Layout::from_size_align(64, 8).unwrap());
        assert_ne!(other, first);
        // SAFETY: as above.
        unsafe { dealloc(other, Layout::from_size_align(64, 8).unwrap()) };
    }

    #[test]
    fn a_thread_keeps_at_most_its_budget_and_large_blocks_are_not_kept() {
        let layout = Layout::from_size_align(64, 8).unwrap();
        let blocks: Vec<_> = (0..2 * KEEP_BYTES / 64).map(|_| alloc(layout)).collect();
        for &b in &blocks {
            // SAFETY: each from `alloc` with `layout`, freed once.
            unsafe { dealloc(b, layout) };
        }
        let kept = LISTS.with(|l| l.bytes.get());
        // As many 72-byte blocks (the class of 64) as fit the budget.
        assert_eq!(kept, KEEP_BYTES / 72 * 72);
        let large = Layout::from_size_align(MAX_POOLED + 1, 8).unwrap();
        let block = alloc(large);
        // SAFETY: as above.
        unsafe { dealloc(block, large) };
        assert_eq!(LISTS.with(|l| l.bytes.get()), kept);
    }
}
