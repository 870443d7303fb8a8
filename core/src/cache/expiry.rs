//! Lifetimes: when an object expires, and whether it has.
//!
//! A stored object carries one deadline (`expires_at`, nanoseconds of the table's [`Clock`]; 0
//! for never) in its storage header. The storage asks [`Expiry::is_expired`] at the one place
//! every read goes through (a hash node's visibility check, an ordered entry's), so lookups,
//! traversals, folds, tab2list, `size` and anything later built on them never see an expired
//! object. The clock is read only for objects that have a deadline: a table without lifetimes
//! pays one comparison with 0 per object read.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::clock::{saturating_nanos, Clock, MonotonicClock};

/// A table's time: its clock, its default lifetime and its idle lifetime.
pub(crate) struct Expiry {
    clock: Arc<dyn Clock>,
    /// Default time-to-live in nanoseconds (0: none).
    ttl: u64,
    /// Time-to-idle in nanoseconds (0: none).
    tti: u64,
    /// Whether an object has ever been given a deadline (until then, counts need no check).
    has_deadlines: AtomicBool,
}

impl Default for Expiry {
    fn default() -> Expiry {
        Expiry::new(Arc::new(MonotonicClock), None, None)
    }
}

impl Expiry {
    pub(crate) fn new(
        clock: Arc<dyn Clock>,
        ttl: Option<Duration>,
        tti: Option<Duration>,
    ) -> Expiry {
        Expiry {
            clock,
            ttl: ttl.map_or(0, |d| saturating_nanos(d).max(1)),
            tti: tti.map_or(0, |d| saturating_nanos(d).max(1)),
            has_deadlines: AtomicBool::new(false),
        }
    }

    /// Records that an object got a deadline; true the first time.
    pub(crate) fn note_deadline(&self) -> bool {
        !self.has_deadlines.load(Ordering::Relaxed)
            && !self.has_deadlines.swap(true, Ordering::Relaxed)
    }

    /// Whether any object has ever had a deadline.
    #[inline]
    pub(crate) fn has_deadlines(&self) -> bool {
        self.has_deadlines.load(Ordering::Relaxed)
    }

    /// The clock's time now.
    #[inline]
    pub(crate) fn now(&self) -> u64 {
        self.clock.now_nanos()
    }

    /// The table's default lifetime in nanoseconds (0: none).
    pub(crate) fn ttl_nanos(&self) -> u64 {
        self.ttl
    }

    /// Whether an object with deadline `at` has expired. Reads the clock only if `at != 0`.
    #[inline]
    pub(crate) fn is_expired(&self, at: u64) -> bool {
        at != 0 && self.clock.now_nanos() >= at
    }

    /// The deadline of an object written now with lifetime `ttl` (the table's default lifetime
    /// or idle lifetime if `None`): 0 for never.
    pub(crate) fn deadline(&self, ttl: Option<Duration>) -> u64 {
        let life = match ttl {
            Some(d) => saturating_nanos(d).max(1),
            None if self.tti != 0 => self.tti,
            None => self.ttl,
        };
        if life == 0 {
            0
        } else {
            self.now().saturating_add(life)
        }
    }

    /// Restarts the idle lifetime of an object that has one: a read moves its deadline to
    /// `now + tti`. Written only when that moves it by more than 1/16 of the idle time, so a hot
    /// object is not written on every read.
    #[inline]
    pub(crate) fn touch(&self, at: &AtomicU64) {
        let current = at.load(Ordering::Relaxed);
        if self.tti == 0 || current == 0 {
            return;
        }
        let next = self.now().saturating_add(self.tti);
        if next > current.saturating_add(self.tti / 16) {
            // A racing writer that replaced the object wrote a new node: this store only ever
            // touches the node it read. fetch_max: two readers never move a deadline back.
            at.fetch_max(next, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::ManualClock;

    #[test]
    fn deadlines_follow_the_clock_and_zero_means_never() {
        let clock = ManualClock::new();
        let e = Expiry::new(Arc::new(clock.clone()), Some(Duration::from_secs(10)), None);
        assert!(!e.is_expired(0));
        let at = e.deadline(None);
        assert_eq!(at, 1 + 10_000_000_000);
        assert_eq!(e.deadline(Some(Duration::from_secs(1))), 1 + 1_000_000_000);
        clock.advance(Duration::from_secs(9));
        assert!(!e.is_expired(at));
        clock.advance(Duration::from_secs(1));
        assert!(e.is_expired(at));
        let never = Expiry::new(Arc::new(clock), None, None);
        assert_eq!(never.deadline(None), 0);
    }

    #[test]
    fn touch_moves_an_idle_deadline_forward_only() {
        let clock = ManualClock::new();
        let e = Expiry::new(Arc::new(clock.clone()), None, Some(Duration::from_secs(10)));
        let at = AtomicU64::new(e.deadline(None));
        clock.advance(Duration::from_secs(5));
        e.touch(&at);
        assert_eq!(at.load(Ordering::Relaxed), 1 + 15_000_000_000);
        let never = AtomicU64::new(0);
        e.touch(&never);
        assert_eq!(never.load(Ordering::Relaxed), 0);
    }
}
