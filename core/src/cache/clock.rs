//! Time for the cache layer: a monotonic clock behind [`Clock`], so tests replace it with a
//! [`ManualClock`] and never sleep to see an object expire.
//!
//! Times are nanoseconds since a process-wide origin, always at least 1: the storage keeps an
//! object's deadline in its header, and 0 there means "never expires".

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// A monotonic source of time in nanoseconds (never going back, never 0). A table reads its
/// clock only for objects that have a deadline, and when it writes one.
pub trait Clock: Send + Sync + 'static {
    /// The current time, in nanoseconds since an origin fixed for the clock's life.
    fn now_nanos(&self) -> u64;
}

/// The default clock: [`Instant`] (CLOCK_MONOTONIC on Linux) since the first use in the process.
#[derive(Debug, Clone, Copy, Default)]
pub struct MonotonicClock;

impl Clock for MonotonicClock {
    #[inline]
    fn now_nanos(&self) -> u64 {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        let origin = *ORIGIN.get_or_init(Instant::now);
        // Saturates after 584 years; +1 keeps it away from 0 ("never").
        u64::try_from(origin.elapsed().as_nanos()).unwrap_or(u64::MAX - 1) + 1
    }
}

/// A clock that moves only when told to, for tests: share it (it is a cheap `Clone` of one
/// counter) between the table options and the test, and [`ManualClock::advance`] it to make
/// objects expire.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock standing at 1 ns.
    pub fn new() -> ManualClock {
        ManualClock(Arc::new(AtomicU64::new(1)))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(saturating_nanos(by), Ordering::SeqCst);
    }

    /// The clock's current time in nanoseconds.
    pub fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl Default for ManualClock {
    fn default() -> ManualClock {
        ManualClock::new()
    }
}

impl Clock for ManualClock {
    fn now_nanos(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// `d` in nanoseconds, saturating (a lifetime of centuries means "practically never").
pub(crate) fn saturating_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_clock_never_goes_back_and_is_never_zero() {
        let c = MonotonicClock;
        let a = c.now_nanos();
        let b = c.now_nanos();
        assert!(a >= 1 && b >= a);
    }

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let c = ManualClock::new();
        let shared = c.clone();
        assert_eq!(c.now_nanos(), 1);
        shared.advance(Duration::from_secs(2));
        assert_eq!(c.now_nanos(), 2_000_000_001);
    }
}
