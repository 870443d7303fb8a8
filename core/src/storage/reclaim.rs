//! Memory reclamation for lock-free storage, behind one small interface.
//!
//! A reader [`Collector::enter`]s to get a [`Guard`], loads shared pointers through
//! [`Guard::protect`], and may dereference them until the guard drops. A writer that unlinks an
//! object [`Collector::retire`]s it: it is freed once no guard that could have loaded it remains.
//!
//! Normal builds use `seize` (Hyaline-style reference counting of retired batches; one collector
//! per table, so dropping a table frees everything it retired). Under `--cfg rets_loom`, seize is
//! not model-checkable, so a loom-visible stand-in defers every free to the collector's drop:
//! models then check the storage's own protocols (what readers see, in which order), never a
//! free racing a read.

use crate::sync::{AtomicPtr, Ordering};

/// Something the collector knows how to free.
pub(crate) trait Retire {
    /// Frees the object.
    ///
    /// # Safety
    /// `ptr` must point to a live object of this type, allocated the way this type's
    /// constructor allocates it, and nothing may use it afterwards.
    unsafe fn free(ptr: *mut Self);
}

#[cfg(not(rets_loom))]
mod imp {
    use super::Retire;
    use crate::sync::{AtomicPtr, Ordering};
    use seize::Guard as _;

    pub(crate) struct Collector(seize::Collector);

    /// Retired objects a thread collects before it tries to free them. Each try costs a
    /// process-wide memory barrier (a `membarrier` system call), so a larger batch makes
    /// writes cheaper, at the price of more memory held per writing thread (a few hundred
    /// objects per table).
    const RETIRE_BATCH: usize = 128;

    pub(crate) struct Guard<'a>(seize::LocalGuard<'a>);

    /// The seize reclaim function for `T`.
    unsafe fn reclaim<T: Retire>(ptr: *mut T, _collector: &seize::Collector) {
        // SAFETY: seize calls this once, for a pointer passed to `retire` (whose contract says
        // it is a live `T` that no new reader can reach), after every guard that could still
        // hold it has dropped.
        unsafe { T::free(ptr) }
    }

    impl Collector {
        pub(crate) fn new() -> Collector {
            Collector(seize::Collector::new().batch_size(RETIRE_BATCH))
        }

        #[inline]
        pub(crate) fn enter(&self) -> Guard<'_> {
            Guard(self.0.enter())
        }

        /// # Safety
        /// `ptr` is a live `T` that has been unlinked (no shared location holds it any more),
        /// and is retired once.
        pub(crate) unsafe fn retire<T: Retire>(&self, ptr: *mut T) {
            // SAFETY: forwarded from this function's contract.
            unsafe { self.0.retire(ptr, reclaim::<T>) }
        }
    }

    impl Guard<'_> {
        #[inline]
        pub(crate) fn protect<T>(&self, ptr: &AtomicPtr<T>, order: Ordering) -> *mut T {
            self.0.protect(ptr, order)
        }
    }
}

#[cfg(rets_loom)]
mod imp {
    use super::Retire;
    use crate::sync::{AtomicPtr, Ordering};
    use std::marker::PhantomData;

    /// A retired object and how to free it.
    struct Retired {
        ptr: *mut (),
        free: unsafe fn(*mut ()),
    }

    /// Defers every free to its own drop.
    pub(crate) struct Collector {
        retired: std::sync::Mutex<Vec<Retired>>,
    }

    // SAFETY: the raw pointers are objects handed over by `retire`, owned by the collector from
    // then on and only freed in `drop` (with `&mut self`); the storage they come from is Sync.
    unsafe impl Send for Collector {}
    // SAFETY: as above; the list itself is behind a mutex.
    unsafe impl Sync for Collector {}

    pub(crate) struct Guard<'a>(PhantomData<&'a Collector>);

    unsafe fn free_erased<T: Retire>(ptr: *mut ()) {
        // SAFETY: `ptr` came from `retire::<T>`, whose contract makes it a live `T` freed once.
        unsafe { T::free(ptr.cast()) }
    }

    impl Collector {
        pub(crate) fn new() -> Collector {
            Collector {
                retired: std::sync::Mutex::new(Vec::new()),
            }
        }

        pub(crate) fn enter(&self) -> Guard<'_> {
            Guard(PhantomData)
        }

        /// # Safety
        /// As for the seize collector.
        pub(crate) unsafe fn retire<T: Retire>(&self, ptr: *mut T) {
            self.retired.lock().unwrap().push(Retired {
                ptr: ptr.cast(),
                free: free_erased::<T>,
            });
        }
    }

    impl Drop for Collector {
        fn drop(&mut self) {
            for r in self.retired.get_mut().unwrap().drain(..) {
                // SAFETY: each pointer was retired once, and `&mut self` means no guard is left.
                unsafe { (r.free)(r.ptr) }
            }
        }
    }

    impl Guard<'_> {
        pub(crate) fn protect<T>(&self, ptr: &AtomicPtr<T>, order: Ordering) -> *mut T {
            ptr.load(order)
        }
    }
}

pub(crate) use imp::{Collector, Guard};

/// Loads `ptr` through `guard` with acquire ordering.
#[inline]
pub(crate) fn load<T>(guard: &Guard<'_>, ptr: &AtomicPtr<T>) -> *mut T {
    guard.protect(ptr, Ordering::Acquire)
}
