//! Memory reclamation for the lock-free storage (hash and ordered), behind one small interface:
//!
//! - a reader [`Collector::enter`]s to get a [`Guard`] and loads shared pointers through
//!   [`load`]; what it loaded stays valid until the guard drops;
//! - a writer that unlinks an object (no shared location holds it any more) hands it to
//!   [`Collector::retire`]; it is freed, by its [`Retire::free`], once no guard that could have
//!   loaded it remains;
//! - a pinned reader (`Table::pin`) holds one guard over many reads: [`Guard`] is tied to its
//!   thread, [`OwnedGuard`] (`Table::pin_owned`, the C ABI's `rets_pin`) may move between
//!   threads; both load through [`Protect`], and [`Guard::refresh`] lets a long hold release
//!   what was retired so far.
//!
//! Normal builds use `seize` (Hyaline-style reference counting of retired batches; one collector
//! per table, so dropping a table frees everything it retired). seize is not model-checkable, so
//! under `--cfg rets_loom` a loom-visible reclaimer takes its place: a loom mutex counts the
//! active guards, and a retired pointer is freed at once if none is active, else when the last
//! one drops. That is stricter than seize (it waits for guards entered after the retirement too)
//! but it really frees, so a model in which a reader can reach a retired pointer after it was
//! freed reads freed memory. The atomics and mutexes come from [`crate::sync`].

use crate::sync::AtomicPtr;

/// What shared pointers are loaded through: a guard (what it loads stays valid while it lives),
/// or, for a writer, the lock that keeps the structure from being retired.
pub(crate) trait Protect {
    /// Loads `ptr` (acquire ordering, at least).
    fn protect<T>(&self, ptr: &AtomicPtr<T>) -> *mut T;
}

/// Under loom, a cell that readers touch on every visit to a node or object: loom then checks
/// that the node's creation happened before the visit (that publication orders are right),
/// and a visit to a freed node reads a poisoned cell (see [`poison`]). Zero-sized and free
/// otherwise.
#[cfg(rets_loom)]
pub(crate) struct Canary(loom::cell::UnsafeCell<()>);
#[cfg(not(rets_loom))]
pub(crate) struct Canary;

impl Canary {
    pub(crate) fn new() -> Canary {
        #[cfg(rets_loom)]
        return Canary(loom::cell::UnsafeCell::new(()));
        #[cfg(not(rets_loom))]
        Canary
    }

    #[inline(always)]
    pub(crate) fn visit(&self) {
        #[cfg(rets_loom)]
        self.0.with(|_| ());
    }
}

/// How a retired pointer is freed.
pub(crate) trait Retire {
    /// Frees the object.
    ///
    /// # Safety
    /// `ptr` points to a live object of this type, allocated the way this type's constructor
    /// allocates it; nothing uses it afterwards, and it is freed once.
    unsafe fn free(ptr: *mut Self);

    /// The bytes freeing `ptr` gives back, where they can be many (an object, a slot array,
    /// a whole tree), so that retiring large blocks frees them without waiting for a full
    /// batch (see `Collector::retire`); 0 for the small fixed-size blocks.
    ///
    /// # Safety
    /// `ptr` points to a live object of this type.
    // The loom reclaimer frees without batches and does not ask.
    #[cfg_attr(rets_loom, allow(dead_code))]
    unsafe fn heap_bytes(_ptr: *const Self) -> usize {
        0
    }
}

#[cfg(not(rets_loom))]
mod imp {
    use super::{Protect, Retire};
    use crate::sync::{AtomicPtr, AtomicUsize, Ordering};

    pub(crate) struct Collector {
        seize: seize::Collector,
        /// Bytes of large blocks retired since the last flush they caused (any thread).
        large_retired: AtomicUsize,
    }

    /// Retired objects a thread collects before it tries to free them. Each try costs a
    /// process-wide memory barrier (a `membarrier` system call, which interrupts every core
    /// running a thread of the process: about 16 us with two writing threads), so a larger
    /// batch makes writes cheaper, at the price of more memory held per writing thread and
    /// table (up to this many retired objects, or leaves). At 128, two threads filling an
    /// ordered_set (a leaf retired per insert) made 17,000 such calls per 2M inserts, a
    /// quarter of their system time.
    const RETIRE_BATCH: usize = 512;

    /// Blocks of at least this many bytes count towards [`FLUSH_BYTES`]...
    const LARGE_BLOCK: usize = 4096;
    /// ...and once that many bytes of them were retired into a collector, the thread that
    /// crosses the mark starts freeing its batch at once: a table of large objects updated
    /// in place would otherwise hold up to a batch of old copies per writing thread (512 of
    /// 1 MiB: 512 MiB). The barrier a flush costs is small beside copying 4 MiB.
    const FLUSH_BYTES: usize = 4 << 20;

    pub(crate) struct Guard<'a>(seize::LocalGuard<'a>);

    /// A guard that is not tied to a thread: seize's owned guard takes a reservation of its
    /// own (a slot like a thread's), so it may be used, and dropped, on any thread.
    pub(crate) struct OwnedGuard<'a>(seize::OwnedGuard<'a>);

    /// The seize reclaim function for `T`.
    unsafe fn reclaim<T: Retire>(ptr: *mut T, _collector: &seize::Collector) {
        // SAFETY: seize calls this once, for a pointer passed to `retire` (whose contract says
        // it is a live `T` that no new reader can reach), after every guard that could still
        // hold it has dropped.
        unsafe { T::free(ptr) }
    }

    impl Collector {
        pub(crate) fn new() -> Collector {
            Collector {
                seize: seize::Collector::new().batch_size(RETIRE_BATCH),
                large_retired: AtomicUsize::new(0),
            }
        }

        #[inline]
        pub(crate) fn enter(&self) -> Guard<'_> {
            Guard(self.seize.enter())
        }

        /// A guard that may move between threads (costlier to enter and leave than
        /// [`Collector::enter`]'s: for guards held over many reads).
        pub(crate) fn enter_owned(&self) -> OwnedGuard<'_> {
            OwnedGuard(self.seize.enter_owned())
        }

        /// Frees `ptr` once no guard that could have loaded it remains.
        ///
        /// # Safety
        /// `ptr` is a live `T`, allocated as [`Retire::free`] expects, that has been unlinked
        /// (readers that enter from now on cannot reach it), and is retired once.
        #[inline]
        pub(crate) unsafe fn retire<T: Retire>(&self, ptr: *mut T) {
            // SAFETY: forwarded from this function's contract (`ptr` is live until retired).
            let bytes = unsafe { T::heap_bytes(ptr) };
            // SAFETY: forwarded from this function's contract.
            unsafe { self.seize.retire(ptr, reclaim::<T>) }
            if bytes >= LARGE_BLOCK {
                let total = self.large_retired.fetch_add(bytes, Ordering::Relaxed);
                if total.saturating_add(bytes) >= FLUSH_BYTES {
                    self.large_retired.store(0, Ordering::Relaxed);
                    self.flush();
                }
            }
        }

        /// Starts freeing what this thread retired, without waiting for a full batch: the
        /// cache layer's background removals call it so that their memory does not wait for
        /// further retirements of this thread.
        pub(crate) fn flush(&self) {
            seize::Guard::flush(&self.seize.enter());
        }
    }

    impl Protect for Guard<'_> {
        #[inline]
        fn protect<T>(&self, ptr: &AtomicPtr<T>) -> *mut T {
            seize::Guard::protect(&self.0, ptr, Ordering::Acquire)
        }
    }

    impl Protect for OwnedGuard<'_> {
        #[inline]
        fn protect<T>(&self, ptr: &AtomicPtr<T>) -> *mut T {
            seize::Guard::protect(&self.0, ptr, Ordering::Acquire)
        }
    }

    impl Guard<'_> {
        /// As dropping the guard and entering a new one: what was loaded through it may be
        /// freed from now on. (Acts only on the thread's outermost guard.)
        pub(crate) fn refresh(&mut self) {
            seize::Guard::refresh(&mut self.0);
        }
    }

    impl OwnedGuard<'_> {
        /// As [`Guard::refresh`].
        pub(crate) fn refresh(&mut self) {
            seize::Guard::refresh(&mut self.0);
        }
    }
}

#[cfg(rets_loom)]
mod imp {
    use super::{Protect, Retire};
    use crate::sync::{AtomicPtr, Mutex, Ordering};

    /// A retired pointer and how to free it.
    type Erased = (*mut (), unsafe fn(*mut ()));

    struct State {
        /// Guards alive.
        active: usize,
        /// Retired while a guard was alive: freed when the last one drops.
        retired: Vec<Erased>,
    }

    pub(crate) struct Collector(Mutex<State>);

    // SAFETY: the raw pointers in `retired` are owned by the collector (handed over by
    // `retire`) and freed by whichever thread drops the last guard; the retired types are
    // shared storage data, sent between threads by the storage anyway.
    unsafe impl Send for Collector {}
    // SAFETY: all access to the state goes through the mutex.
    unsafe impl Sync for Collector {}

    pub(crate) struct Guard<'a>(&'a Collector);

    /// This reclaimer's guards are not tied to a thread: the owned guard is the same.
    pub(crate) type OwnedGuard<'a> = Guard<'a>;

    unsafe fn erased<T: Retire>(ptr: *mut ()) {
        // SAFETY: `ptr` was a `*mut T` handed to `retire`, whose contract covers `T::free`.
        unsafe { T::free(ptr.cast()) }
    }

    fn free(list: Vec<Erased>) {
        for (ptr, free) in list {
            // SAFETY: each pointer was retired once and is freed once, when no guard is active
            // (see `Collector::retire`, `Guard::drop`, `Collector::drop`).
            unsafe { free(ptr) }
        }
    }

    impl Collector {
        pub(crate) fn new() -> Collector {
            Collector(Mutex::new(State {
                active: 0,
                retired: Vec::new(),
            }))
        }

        pub(crate) fn enter(&self) -> Guard<'_> {
            self.0.lock().active += 1;
            Guard(self)
        }

        pub(crate) fn enter_owned(&self) -> OwnedGuard<'_> {
            self.enter()
        }

        /// Counts one guard out, freeing what was retired if it was the last.
        fn leave(&self) {
            let mut state = self.0.lock();
            state.active -= 1;
            let list = if state.active == 0 {
                std::mem::take(&mut state.retired)
            } else {
                Vec::new()
            };
            drop(state);
            free(list);
        }

        /// Frees `ptr` now if no guard is active (a reader that enters later cannot reach it),
        /// else when the last active guard drops.
        ///
        /// # Safety
        /// As for the seize collector.
        pub(crate) unsafe fn retire<T: Retire>(&self, ptr: *mut T) {
            let mut state = self.0.lock();
            let entry: Erased = (ptr.cast(), erased::<T>);
            if state.active == 0 {
                drop(state);
                free(vec![entry]);
            } else {
                state.retired.push(entry);
            }
        }

        /// Nothing to do: this reclaimer frees as soon as no guard is active.
        pub(crate) fn flush(&self) {}
    }

    impl Drop for Collector {
        fn drop(&mut self) {
            let list = std::mem::take(&mut self.0.lock().retired);
            free(list);
        }
    }

    impl Protect for Guard<'_> {
        fn protect<T>(&self, ptr: &AtomicPtr<T>) -> *mut T {
            ptr.load(Ordering::Acquire)
        }
    }

    impl Guard<'_> {
        /// As dropping the guard and entering a new one.
        pub(crate) fn refresh(&mut self) {
            self.0.leave();
            self.0 .0.lock().active += 1;
        }
    }

    impl Drop for Guard<'_> {
        fn drop(&mut self) {
            self.0.leave();
        }
    }
}

pub(crate) use imp::{Collector, Guard, OwnedGuard};

/// Loads `ptr` through `guard` (acquire ordering): the pointee stays valid while `guard` lives.
#[inline]
pub(crate) fn load<T>(guard: &impl Protect, ptr: &AtomicPtr<T>) -> *mut T {
    guard.protect(ptr)
}

/// The loom test build's allocator: every freed block is filled with `0xA5` and quarantined
/// (kept from reuse) until 65,536 more blocks have been freed, so a model's read of memory its
/// reclaimer freed finds poison, whatever the system allocator would have done with the block:
/// a pointer of `0xA5A5…` (not a canonical address: the read faults), a length of 2.7e9, a key
/// that matches nothing. Only the `--cfg rets_loom` unit-test binary uses it.
#[cfg(all(test, rets_loom))]
mod poison {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::UnsafeCell;
    use std::sync::atomic::{AtomicBool, Ordering};

    const QUARANTINE: usize = 1 << 16;
    const POISON: u8 = 0xA5;

    struct Quarantine {
        blocks: [(usize, usize, usize); QUARANTINE],
        next: usize,
    }

    pub(super) struct Poison {
        busy: AtomicBool,
        quarantine: UnsafeCell<Quarantine>,
    }

    // SAFETY: `quarantine` is only touched while `busy` is held (a spin lock).
    unsafe impl Sync for Poison {}

    #[global_allocator]
    static ALLOCATOR: Poison = Poison {
        busy: AtomicBool::new(false),
        quarantine: UnsafeCell::new(Quarantine {
            blocks: [(0, 0, 0); QUARANTINE],
            next: 0,
        }),
    };

    // SAFETY: allocation is the system allocator's; a freed block is poisoned, then handed back
    // to the system allocator (with the layout it was allocated with) when it leaves the
    // quarantine, once.
    unsafe impl GlobalAlloc for Poison {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: forwarded.
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: the caller frees a block of `layout.size()` bytes it owns.
            unsafe { std::ptr::write_bytes(ptr, POISON, layout.size()) };
            while self
                .busy
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                std::hint::spin_loop();
            }
            // SAFETY: the spin lock is held.
            let q = unsafe { &mut *self.quarantine.get() };
            let evicted = std::mem::replace(
                &mut q.blocks[q.next],
                (ptr as usize, layout.size(), layout.align()),
            );
            q.next = (q.next + 1) % QUARANTINE;
            self.busy.store(false, Ordering::Release);
            let (old, size, align) = evicted;
            if old != 0 {
                // SAFETY: `old` was freed by its owner with this size and alignment and has
                // been in quarantine since; this is its one real free.
                unsafe {
                    System.dealloc(
                        old as *mut u8,
                        Layout::from_size_align_unchecked(size, align),
                    )
                };
            }
        }
    }
}

#[cfg(all(test, not(rets_loom)))]
mod tests {
    use super::{Collector, Retire};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A block that says it holds `size` bytes and counts its frees in `freed`.
    struct Block {
        size: usize,
        freed: &'static AtomicUsize,
    }

    impl Retire for Block {
        unsafe fn free(ptr: *mut Block) {
            // SAFETY: blocks are made by `Box::new` below; the caller owns `ptr`.
            let block = unsafe { Box::from_raw(ptr) };
            block.freed.fetch_add(1, Ordering::Relaxed);
        }

        unsafe fn heap_bytes(ptr: *const Block) -> usize {
            // SAFETY: the caller's contract: a live block.
            unsafe { (*ptr).size }
        }
    }

    fn retire_blocks(collector: &Collector, n: usize, size: usize, freed: &'static AtomicUsize) {
        for _ in 0..n {
            let block = Box::into_raw(Box::new(Block { size, freed }));
            // SAFETY: a live block from `Box`, reachable by no reader, retired once.
            unsafe { collector.retire(block) };
        }
    }

    #[test]
    fn large_blocks_are_freed_without_waiting_for_a_full_batch() {
        static SMALL: AtomicUsize = AtomicUsize::new(0);
        static LARGE: AtomicUsize = AtomicUsize::new(0);
        let collector = Collector::new();
        // Small blocks wait for a full batch: none of 100 is freed yet.
        retire_blocks(&collector, 100, 64, &SMALL);
        assert_eq!(SMALL.load(Ordering::Relaxed), 0);
        // 200 blocks of 64 KiB are 12.5 MiB: each 4 MiB retired starts freeing the batch, so
        // at most the last 4 MiB (64 blocks) wait, instead of every one of them.
        retire_blocks(&collector, 200, 64 << 10, &LARGE);
        let large_freed = LARGE.load(Ordering::Relaxed);
        assert!(large_freed >= 200 - 64, "{large_freed} of 200 freed");
        drop(collector);
        assert_eq!(SMALL.load(Ordering::Relaxed), 100);
        assert_eq!(LARGE.load(Ordering::Relaxed), 200);
    }
}
