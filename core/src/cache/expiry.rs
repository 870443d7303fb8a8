//! Lifetimes: when an object expires, and whether it has.
//!
//! A stored object carries one deadline (`expires_at`, nanoseconds of the table's [`Clock`]; 0
//! for never) in its storage header. The storage asks [`Expiry::is_expired`] at the one place
//! every read goes through (a hash node's visibility check, an ordered entry's), so lookups,
//! traversals, folds, tab2list, `size` and anything later built on them never see an expired
//! object. The clock is read only for objects that have a deadline: a table without lifetimes
//! pays one comparison with 0 per object read.
//!
//! An object's *lifetime* ends a fixed time after it was written (the table's `ttl` or the
//! write's own); its *idle deadline* (a table with `time_to_idle`) moves forward when it is
//! read or written. It expires at the earlier of the two. The header's deadline is that
//! earlier one, so every check reads one field; on a table with an idle lifetime an object
//! that also has a lifetime keeps its end apart (a [`Stamp`]'s `end`, 8 bytes after the object
//! in storage) so that reads never move the deadline past it. The write paths carry lifetime
//! ends (what [`Expiry::deadline`] returns, what update_counter keeps); the storage turns one
//! into a header with [`Expiry::stamp`] when it makes the object.

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

    /// Whether objects written to the table get a deadline even without a lifetime (an idle
    /// lifetime).
    pub(crate) fn has_idle(&self) -> bool {
        self.tti != 0
    }

    /// The end of the lifetime of an object written now with lifetime `ttl` (the table's
    /// default if `None`): 0 for never. See [`Expiry::stamp`] for its header's deadline.
    pub(crate) fn deadline(&self, ttl: Option<Duration>) -> u64 {
        let life = match ttl {
            Some(d) => saturating_nanos(d).max(1),
            None => self.ttl,
        };
        if life == 0 {
            0
        } else {
            self.now().saturating_add(life)
        }
    }

    /// The header of an object made now whose lifetime ends at `end` (0: never): its deadline
    /// is the earlier of `end` and, on a table with an idle lifetime, `now + tti`.
    #[inline]
    pub(crate) fn stamp(&self, end: u64) -> Stamp {
        if self.tti == 0 {
            return Stamp {
                deadline: end,
                end: None,
            };
        }
        let idle = self.now().saturating_add(self.tti);
        if end == 0 {
            Stamp {
                deadline: idle,
                end: None,
            }
        } else {
            Stamp {
                deadline: idle.min(end),
                end: Some(end),
            }
        }
    }

    /// The end of the lifetime of a stored object with header deadline `deadline` and kept end
    /// `end` (0: never): what a write that keeps an object's lifetime starts from.
    pub(crate) fn lifetime_end(&self, deadline: u64, end: Option<u64>) -> u64 {
        match end {
            Some(end) => end,
            // On a table with an idle lifetime, the deadline of an object without a kept end
            // is only its idle deadline.
            None if self.tti != 0 => 0,
            None => deadline,
        }
    }

    /// Bytes the storage keeps per object beyond its usual header on this table, at most (an
    /// object's kept lifetime end).
    pub(crate) fn extra_bytes(&self) -> usize {
        if self.tti != 0 {
            std::mem::size_of::<u64>()
        } else {
            0
        }
    }

    /// Restarts the idle lifetime of an object read now: moves its deadline `at` to
    /// `now + tti`, never past the end of its lifetime (`end()`, read only if needed). Written
    /// only when that moves it by more than 1/16 of the idle time or up to the end, so a hot
    /// object is not written on every read (a read may then leave the deadline up to tti/16
    /// short of `now + tti`).
    #[inline]
    pub(crate) fn touch(&self, at: &AtomicU64, end: impl FnOnce() -> Option<u64>) {
        let current = at.load(Ordering::Relaxed);
        if self.tti == 0 || current == 0 {
            return;
        }
        let idle = self.now().saturating_add(self.tti);
        if idle <= current {
            return;
        }
        let (next, at_end) = match end() {
            Some(end) if end <= idle => (end, true),
            _ => (idle, false),
        };
        if next > current && (at_end || next - current > self.tti / 16) {
            // A racing writer that replaced the object wrote a new node: this store only ever
            // touches the node it read. fetch_max: two readers never move a deadline back.
            at.fetch_max(next, Ordering::Relaxed);
        }
    }
}

/// What a new object's header records (see the module documentation): its deadline (0:
/// never) and, on a table with an idle lifetime, the end of its lifetime if it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub(crate) deadline: u64,
    pub(crate) end: Option<u64>,
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
        let at = AtomicU64::new(e.stamp(e.deadline(None)).deadline);
        assert_eq!(at.load(Ordering::Relaxed), 1 + 10_000_000_000);
        clock.advance(Duration::from_secs(5));
        e.touch(&at, || None);
        assert_eq!(at.load(Ordering::Relaxed), 1 + 15_000_000_000);
        // Less than 1/16 of the idle time later: not written.
        clock.advance(Duration::from_millis(500));
        e.touch(&at, || None);
        assert_eq!(at.load(Ordering::Relaxed), 1 + 15_000_000_000);
        let never = AtomicU64::new(0);
        e.touch(&never, || None);
        assert_eq!(never.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn an_idle_deadline_never_passes_the_lifetime_end() {
        let clock = ManualClock::new();
        let sec = Duration::from_secs(1);
        let e = Expiry::new(Arc::new(clock.clone()), Some(25 * sec), Some(10 * sec));
        let end = e.deadline(None);
        assert_eq!(end, 1 + 25_000_000_000);
        let stamp = e.stamp(end);
        assert_eq!(stamp.deadline, 1 + 10_000_000_000);
        assert_eq!(stamp.end, Some(end));
        assert_eq!(e.lifetime_end(stamp.deadline, stamp.end), end);
        let at = AtomicU64::new(stamp.deadline);
        clock.advance(8 * sec);
        e.touch(&at, || stamp.end);
        assert_eq!(at.load(Ordering::Relaxed), 1 + 18_000_000_000);
        clock.advance(8 * sec);
        e.touch(&at, || stamp.end);
        assert_eq!(at.load(Ordering::Relaxed), end, "capped at the end");
        // Close to the end, a read moves the deadline to the end even by less than tti/16.
        let at = AtomicU64::new(end - 1);
        e.touch(&at, || stamp.end);
        assert_eq!(at.load(Ordering::Relaxed), end);
        // Without an idle lifetime, the header's deadline is the end.
        let ttl_only = Expiry::new(Arc::new(clock.clone()), Some(sec), None);
        let stamp = ttl_only.stamp(ttl_only.deadline(None));
        assert_eq!(stamp.end, None);
        assert_eq!(ttl_only.lifetime_end(stamp.deadline, None), stamp.deadline);
        // With an idle lifetime alone, an object has no end.
        let idle_only = Expiry::new(Arc::new(clock), None, Some(sec));
        let stamp = idle_only.stamp(idle_only.deadline(None));
        assert_eq!(
            (stamp.end, idle_only.lifetime_end(stamp.deadline, None)),
            (None, 0)
        );
    }
}
