//! The cache options of a table (lifetimes, bounds, what a full table does, the clock) and the
//! per-write options; builder methods on [`TableOptions`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::clock::Clock;
use crate::table::TableOptions;

/// What a write that would take a bounded table past `max_size` or `max_memory` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OnFull {
    /// Evict objects the table's policy chooses until the bound holds again (the default).
    #[default]
    Evict,
    /// Refuse the write with [`crate::Error::TableFull`]; nothing changes.
    Reject,
}

impl OnFull {
    /// `evict` or `reject`.
    pub fn as_str(self) -> &'static str {
        match self {
            OnFull::Evict => "evict",
            OnFull::Reject => "reject",
        }
    }
}

/// How a bounded table chooses what to evict (docs/CACHE.md has the measured hit ratios).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Eviction {
    /// S3-FIFO's admission (new keys on probation, evicted unless read before they leave it;
    /// keys back soon after skip it) in front of the SIEVE hand (the default), on every table
    /// type but bags and duplicate_bags (the hand alone).
    #[default]
    S3Fifo,
    /// The SIEVE/CLOCK hand alone over the use bits: no memory kept per written key.
    Sieve,
}

/// A table's cache options, as given to [`TableOptions`] (all off by default).
#[derive(Clone, Default)]
pub(crate) struct CacheOptions {
    pub(crate) ttl: Option<Duration>,
    pub(crate) tti: Option<Duration>,
    pub(crate) max_size: Option<usize>,
    pub(crate) max_memory: Option<usize>,
    pub(crate) on_full: OnFull,
    pub(crate) eviction: Eviction,
    pub(crate) clock: Option<Arc<dyn Clock>>,
    pub(crate) stats: bool,
}

impl CacheOptions {
    /// Whether the table is a cache at all: anything set makes it keep stats.
    pub(crate) fn any(&self) -> bool {
        self.ttl.is_some()
            || self.tti.is_some()
            || self.max_size.is_some()
            || self.max_memory.is_some()
            || self.stats
    }

    /// Whether the table has a bound.
    pub(crate) fn bounded(&self) -> bool {
        self.max_size.is_some() || self.max_memory.is_some()
    }
}

impl fmt::Debug for CacheOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheOptions")
            .field("ttl", &self.ttl)
            .field("tti", &self.tti)
            .field("max_size", &self.max_size)
            .field("max_memory", &self.max_memory)
            .field("on_full", &self.on_full)
            .field("eviction", &self.eviction)
            .field("manual_clock", &self.clock.is_some())
            .finish()
    }
}

/// Options of one write: the object's own lifetime.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InsertOptions {
    /// The object's lifetime from now; `None` uses the table's `ttl`, and a table without one
    /// keeps the object until it is deleted (or, with `time_to_idle`, until it has been idle
    /// that long, which applies in every case).
    pub ttl: Option<Duration>,
}

impl InsertOptions {
    /// An object that lives `ttl` from now.
    pub fn ttl(ttl: Duration) -> InsertOptions {
        InsertOptions { ttl: Some(ttl) }
    }
}

/// The cache layer's options (see docs/CACHE.md).
impl TableOptions {
    /// The default lifetime of an object: it expires `ttl` after it was written (insert, or any
    /// form that writes a whole object; update_counter and update_element keep the deadline of
    /// the object they change). An expired object is never returned or counted.
    pub fn ttl(mut self, ttl: Duration) -> TableOptions {
        self.cache.ttl = Some(ttl);
        self
    }

    /// The idle lifetime: an object expires `tti` after it was last written or read by a
    /// lookup, member or lookup_element (moka's time_to_idle). With a lifetime too (`ttl`, or
    /// a write's own), an object expires at the earlier of its lifetime's end and its idle
    /// deadline.
    pub fn time_to_idle(mut self, tti: Duration) -> TableOptions {
        self.cache.tti = Some(tti);
        self
    }

    /// The most objects the table holds (set and ordered_set; bags count objects too).
    pub fn max_size(mut self, objects: usize) -> TableOptions {
        self.cache.max_size = Some(objects);
        self
    }

    /// The most bytes the table holds, as [`crate::Table::memory`] counts them.
    pub fn max_memory(mut self, bytes: usize) -> TableOptions {
        self.cache.max_memory = Some(bytes);
        self
    }

    /// What a write to a full table does (default [`OnFull::Evict`]).
    pub fn on_full(mut self, on_full: OnFull) -> TableOptions {
        self.cache.on_full = on_full;
        self
    }

    /// How a bounded table chooses what to evict (default [`Eviction::S3Fifo`]).
    pub fn eviction(mut self, eviction: Eviction) -> TableOptions {
        self.cache.eviction = eviction;
        self
    }

    /// The table's clock (default [`super::MonotonicClock`]); tests pass a
    /// [`super::ManualClock`].
    pub fn clock(mut self, clock: impl Clock) -> TableOptions {
        self.cache.clock = Some(Arc::new(clock));
        self
    }

    /// Keep [`crate::CacheStats`] even without other cache options (a table with any cache
    /// option keeps them anyway).
    pub fn record_stats(mut self) -> TableOptions {
        self.cache.stats = true;
        self
    }
}
