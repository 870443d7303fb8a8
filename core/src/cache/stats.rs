//! Cache statistics, cheap on the hot path: each thread counts in one of a few stripes (its
//! own cache line, chosen once per thread), so concurrent readers do not share a counter; a
//! reader of the stats sums the stripes.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// A snapshot of a table's cache statistics (since creation or the last reset).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Reads (lookup, member, lookup_element) that found the key.
    pub hits: u64,
    /// Reads that did not find it (absent or expired).
    pub misses: u64,
    /// Loads that succeeded (recorded with [`crate::Table::record_load`]).
    pub loads: u64,
    /// Loads that failed.
    pub load_failures: u64,
    /// Time spent in loads, successful or not, in nanoseconds.
    pub load_nanos: u64,
    /// Objects removed to respect `max_size` / `max_memory`.
    pub evictions: u64,
    /// Objects removed because their lifetime ended.
    pub expirations: u64,
    /// Writes refused because the table was full (`OnFull::Reject`).
    pub rejected_writes: u64,
}

const STRIPES: usize = 8;

/// The counters of one stripe, on a cache line of its own.
#[repr(align(128))]
#[derive(Default)]
struct Stripe {
    counters: [AtomicU64; COUNTERS],
}

const COUNTERS: usize = 8;

/// Which counter.
#[derive(Clone, Copy)]
pub(crate) enum Counter {
    Hits = 0,
    Misses = 1,
    Loads = 2,
    LoadFailures = 3,
    LoadNanos = 4,
    Evictions = 5,
    Expirations = 6,
    Rejected = 7,
}

/// A table's striped counters.
#[derive(Default)]
pub(crate) struct Stats {
    stripes: [Stripe; STRIPES],
}

/// This thread's stripe (assigned round-robin on first use).
fn stripe_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static INDEX: usize = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
    }
    INDEX.with(|i| *i)
}

impl Stats {
    /// Adds `n` to `counter` in this thread's stripe.
    #[inline]
    pub(crate) fn add(&self, counter: Counter, n: u64) {
        self.stripes[stripe_index()].counters[counter as usize].fetch_add(n, Ordering::Relaxed);
    }

    /// Records one load of `elapsed`, successful or not.
    pub(crate) fn record_load(&self, elapsed: Duration, ok: bool) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.add(
            if ok {
                Counter::Loads
            } else {
                Counter::LoadFailures
            },
            1,
        );
        self.add(Counter::LoadNanos, nanos);
    }

    /// Sums the stripes. Not a snapshot of one instant: counts racing the call may or may not
    /// be in it.
    pub(crate) fn snapshot(&self) -> CacheStats {
        let sum = |c: Counter| {
            self.stripes
                .iter()
                .map(|s| s.counters[c as usize].load(Ordering::Relaxed))
                .fold(0u64, u64::wrapping_add)
        };
        CacheStats {
            hits: sum(Counter::Hits),
            misses: sum(Counter::Misses),
            loads: sum(Counter::Loads),
            load_failures: sum(Counter::LoadFailures),
            load_nanos: sum(Counter::LoadNanos),
            evictions: sum(Counter::Evictions),
            expirations: sum(Counter::Expirations),
            rejected_writes: sum(Counter::Rejected),
        }
    }

    /// Sets every counter to 0 (counts racing the reset may survive it).
    pub(crate) fn reset(&self) {
        for s in &self.stripes {
            for c in &s.counters {
                c.store(0, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_many_threads_add_up_and_reset() {
        let stats = Stats::default();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        stats.add(Counter::Hits, 1);
                    }
                    stats.record_load(Duration::from_nanos(5), false);
                });
            }
        });
        let snap = stats.snapshot();
        assert_eq!(snap.hits, 4000);
        assert_eq!(snap.load_failures, 4);
        assert_eq!(snap.load_nanos, 20);
        assert_eq!(snap.loads, 0);
        stats.reset();
        assert_eq!(stats.snapshot(), CacheStats::default());
    }
}
