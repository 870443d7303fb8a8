//! The cache layer: what ETS users build by hand around a table, built in.
//!
//! - [`clock`]: a monotonic [`Clock`] behind a trait, and a [`ManualClock`] for tests.
//! - [`expiry`]: lifetimes (TTL, time-to-idle): an object's deadline, checked by storage at the
//!   one place every read goes through.
//! - [`bounds`]: `max_size` / `max_memory` and what a full table does (evict or reject).
//! - [`policy`]: S3-FIFO admission (a probationary FIFO of new keys, a ghost FIFO of evicted
//!   hashes) in front of the storage's eviction hand (`storage::*::cache`, SIEVE/CLOCK over the
//!   use bits readers set); docs/CACHE.md says why, with the measured hit ratios.
//! - [`stats`]: hits, misses, loads, evictions, expirations, rejected writes, striped per thread.
//! - [`sweeper`]: the background thread that removes expired objects within a bounded time.
//! - `flight`: single-flight loads (one loader per key, everyone else waits for its result),
//!   which `Table::get_or_load` and the claim/fill protocol are built on.
//!
//! The table layer calls in at a few points (creation, the write paths, lookups); a table
//! without cache options pays one branch on a lookup and a comparison with 0 per object read.

pub(crate) mod bounds;
mod clock;
mod expiry;
pub(crate) mod flight;
mod options;
pub(crate) mod policy;
mod stats;
pub(crate) mod sweeper;

pub use clock::{Clock, ManualClock, MonotonicClock};
pub use options::{Eviction, InsertOptions, OnFull};
pub use stats::CacheStats;
pub use sweeper::SWEEP_INTERVAL;

pub(crate) use bounds::Bounds;
pub(crate) use expiry::{Expiry, Stamp};
pub(crate) use options::CacheOptions;
pub(crate) use stats::{Counter, Stats};

/// A table's cache state beside its storage (only tables with cache options have one).
pub(crate) struct CacheState {
    pub(crate) stats: Stats,
    /// The bounds, if the table has any.
    pub(crate) bounds: Option<Bounds>,
    /// Expirations already counted when the stats were last reset.
    pub(crate) expired_base: std::sync::atomic::AtomicU64,
}
