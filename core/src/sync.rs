//! The atomics and locks of the lock-free storage and of the table/owner lifecycle layer, from
//! one place: std (and parking_lot) in normal builds, loom's model-checked types under
//! `--cfg rets_loom`, so every protocol they run (storage reads and writes; table deletion,
//! owner close, give_away, heir transfer against readers and writers) can be checked by loom
//! without touching their code.
//!
//! Not routed here, on purpose: the process-wide id counters (plain `fetch_add`s that only need
//! uniqueness, in statics, which loom's atomics cannot be), and the table metadata and name
//! registry, which are `arc-swap` cells written only under the lifecycle lock.

#[cfg(not(rets_loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize};

#[cfg(rets_loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize};

pub(crate) use std::sync::atomic::Ordering;

#[cfg(rets_loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicU64};
/// `fence`, for the sequence lock of objects changed in place (`storage::seqlock`).
#[cfg(not(rets_loom))]
pub(crate) use std::sync::atomic::fence;

/// What a thread waiting for another's short write does between looks: a spin hint (under
/// loom, a yield, so that the model lets the writer run).
#[inline]
pub(crate) fn spin_wait() {
    #[cfg(not(rets_loom))]
    std::hint::spin_loop();
    #[cfg(rets_loom)]
    loom::thread::yield_now();
}
/// `AtomicU64` for slot hashes (loom's under `rets_loom`).
#[cfg(not(rets_loom))]
pub(crate) use std::sync::atomic::AtomicU64;

/// A mutex whose `lock` returns the guard directly, and a readers-writer lock whose `read` and
/// `write` do (parking_lot's, or loom's).
#[cfg(not(rets_loom))]
pub(crate) use parking_lot::{Mutex, MutexGuard};

#[cfg(rets_loom)]
pub(crate) use self::loom_mutex::{Mutex, MutexGuard};

/// A condition variable whose `wait` takes and returns the guard (parking_lot's, or loom's).
#[derive(Debug)]
pub(crate) struct Condvar(
    #[cfg(not(rets_loom))] parking_lot::Condvar,
    #[cfg(rets_loom)] loom::sync::Condvar,
);

impl Condvar {
    pub(crate) fn new() -> Condvar {
        #[cfg(not(rets_loom))]
        return Condvar(parking_lot::Condvar::new());
        #[cfg(rets_loom)]
        return Condvar(loom::sync::Condvar::new());
    }

    /// Blocks until notified (spurious wakeups possible: callers re-check their condition).
    #[cfg(not(rets_loom))]
    pub(crate) fn wait<'a, T>(&self, mut guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.0.wait(&mut guard);
        guard
    }

    /// Blocks until notified or until `deadline`; returns the guard and whether it timed out.
    #[cfg(not(rets_loom))]
    pub(crate) fn wait_until<'a, T>(
        &self,
        mut guard: MutexGuard<'a, T>,
        deadline: std::time::Instant,
    ) -> (MutexGuard<'a, T>, bool) {
        let timed_out = self.0.wait_until(&mut guard, deadline).timed_out();
        (guard, timed_out)
    }

    #[cfg(rets_loom)]
    pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.0.wait(guard).expect("no panics while a lock is held")
    }

    /// loom has no time: a timed wait is an untimed one (the models use no deadline).
    #[cfg(rets_loom)]
    pub(crate) fn wait_until<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        _deadline: std::time::Instant,
    ) -> (MutexGuard<'a, T>, bool) {
        (self.wait(guard), false)
    }

    pub(crate) fn notify_all(&self) {
        self.0.notify_all();
    }
}

#[cfg(rets_loom)]
mod loom_mutex {
    pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

    /// loom's mutex with parking_lot's signature.
    #[derive(Debug)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Mutex<T> {
            Mutex(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock().expect("no panics while a lock is held")
        }
    }
}
