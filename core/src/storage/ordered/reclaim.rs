//! Memory reclamation and synchronisation for the ordered storage, behind a narrow interface:
//!
//! - [`Collector::enter`] gives a [`Guard`]; a pointer loaded through [`Guard::protect`] stays
//!   valid until the guard drops;
//! - [`Collector::retire`] hands over a pointer that no new reader can reach; it is reclaimed
//!   (through [`Reclaim::reclaim`]) once no guard that might have loaded it is left;
//! - [`WriterLock`] serialises writers; the atomics are re-exported from here.
//!
//! In normal builds this is `seize` (Hyaline) and `parking_lot`. Under `--cfg rets_loom` it is a
//! loom-visible reclaimer (a loom mutex counts active guards; retired pointers are reclaimed when
//! none is left) and loom's atomics and mutex, so every protocol built on it can be
//! model-checked.

#[cfg(not(rets_loom))]
pub(super) use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

#[cfg(rets_loom)]
pub(super) use loom::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

/// How a retired pointer is freed.
pub(super) trait Reclaim {
    /// Frees `ptr`.
    ///
    /// # Safety
    /// `ptr` came from the allocation this type's reclaimer expects, is reachable by no one, and
    /// is reclaimed once.
    unsafe fn reclaim(ptr: *mut Self);
}

#[cfg(not(rets_loom))]
mod imp {
    use super::{AtomicPtr, Ordering, Reclaim};

    pub(in super::super) struct Collector(seize::Collector);

    pub(in super::super) struct Guard<'a>(seize::LocalGuard<'a>);

    unsafe fn reclaim_shim<T: Reclaim>(ptr: *mut T, _: &seize::Collector) {
        // SAFETY: seize calls a reclaimer once, when no guard can hold `ptr`; `retire`'s caller
        // promised the rest of `T::reclaim`'s contract.
        unsafe { T::reclaim(ptr) }
    }

    impl Collector {
        pub(in super::super) fn new() -> Collector {
            Collector(seize::Collector::new())
        }

        #[inline]
        pub(in super::super) fn enter(&self) -> Guard<'_> {
            Guard(self.0.enter())
        }

        /// Reclaims `ptr` once no guard can hold it.
        ///
        /// # Safety
        /// `ptr` is unreachable for readers that enter from now on, is retired once, and meets
        /// `T::reclaim`'s contract.
        #[inline]
        pub(in super::super) unsafe fn retire<T: Reclaim>(&self, ptr: *mut T) {
            // SAFETY: forwarded from this function's contract.
            unsafe { self.0.retire(ptr, reclaim_shim::<T>) }
        }
    }

    impl Guard<'_> {
        /// Loads `ptr` so that what it points to stays valid while this guard lives.
        #[inline]
        pub(in super::super) fn protect<T>(&self, ptr: &AtomicPtr<T>) -> *mut T {
            seize::Guard::protect(&self.0, ptr, Ordering::Acquire)
        }
    }

    /// The writers' lock.
    pub(in super::super) struct WriterLock(parking_lot::Mutex<()>);

    impl WriterLock {
        pub(in super::super) fn new() -> WriterLock {
            WriterLock(parking_lot::Mutex::new(()))
        }

        #[inline]
        pub(in super::super) fn lock(&self) -> impl Drop + '_ {
            self.0.lock()
        }
    }
}

#[cfg(rets_loom)]
mod imp {
    use super::{AtomicPtr, Ordering, Reclaim};
    use loom::sync::Mutex;

    type Erased = (*mut (), unsafe fn(*mut ()));

    struct State {
        active: usize,
        retired: Vec<Erased>,
    }

    pub(in super::super) struct Collector(Mutex<State>);

    // SAFETY: the raw pointers in `retired` are owned by the collector (handed over by
    // `retire`) and freed by whichever thread drops the last guard; the reclaimed types are
    // `Send` (objects, nodes of `Send` data).
    unsafe impl Send for Collector {}
    // SAFETY: all access to the state goes through the mutex.
    unsafe impl Sync for Collector {}

    pub(in super::super) struct Guard<'a>(&'a Collector);

    unsafe fn erased<T: Reclaim>(ptr: *mut ()) {
        // SAFETY: `ptr` was a `*mut T` handed to `retire`, whose contract covers `T::reclaim`.
        unsafe { T::reclaim(ptr.cast()) }
    }

    fn free(list: Vec<Erased>) {
        for (ptr, reclaim) in list {
            // SAFETY: reclaimed once, when no guard is active (see `Guard::drop`, `retire`).
            unsafe { reclaim(ptr) }
        }
    }

    impl Collector {
        pub(in super::super) fn new() -> Collector {
            Collector(Mutex::new(State {
                active: 0,
                retired: Vec::new(),
            }))
        }

        pub(in super::super) fn enter(&self) -> Guard<'_> {
            self.0.lock().unwrap().active += 1;
            Guard(self)
        }

        /// Reclaims `ptr` once no guard can hold it: now if no guard is active (a reader that
        /// enters later cannot reach it), else when the last active guard drops.
        ///
        /// # Safety
        /// As for the seize-based collector.
        pub(in super::super) unsafe fn retire<T: Reclaim>(&self, ptr: *mut T) {
            let mut state = self.0.lock().unwrap();
            if state.active == 0 {
                drop(state);
                free(vec![(ptr.cast(), erased::<T> as unsafe fn(*mut ()))]);
            } else {
                state.retired.push((ptr.cast(), erased::<T>));
            }
        }
    }

    impl Drop for Collector {
        fn drop(&mut self) {
            let list = std::mem::take(&mut self.0.lock().unwrap().retired);
            free(list);
        }
    }

    impl Guard<'_> {
        pub(in super::super) fn protect<T>(&self, ptr: &AtomicPtr<T>) -> *mut T {
            ptr.load(Ordering::Acquire)
        }
    }

    impl Drop for Guard<'_> {
        fn drop(&mut self) {
            let mut state = self.0 .0.lock().unwrap();
            state.active -= 1;
            let list = if state.active == 0 {
                std::mem::take(&mut state.retired)
            } else {
                Vec::new()
            };
            drop(state);
            free(list);
        }
    }

    pub(in super::super) struct WriterLock(Mutex<()>);

    impl WriterLock {
        pub(in super::super) fn new() -> WriterLock {
            WriterLock(Mutex::new(()))
        }

        pub(in super::super) fn lock(&self) -> impl Drop + '_ {
            self.0.lock().unwrap()
        }
    }
}

pub(super) use imp::{Collector, WriterLock};
