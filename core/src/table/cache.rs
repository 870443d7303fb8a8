//! The table's side of the cache layer: building storage with lifetimes, making room in a
//! bounded table, deadlines of writes, stats. The policy itself is in [`crate::cache`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::MutexGuard;

use super::{Table, TableInner, TableType};
use crate::cache::bounds::{Adding, OBJECT_OVERHEAD};
use crate::cache::policy::Room;
use crate::cache::sweeper::{self, Sweep};
use crate::cache::{
    Bounds, CacheOptions, CacheState, CacheStats, Counter, Expiry, InsertOptions, MonotonicClock,
    Stats,
};
use crate::error::{Error, Result};
use crate::object::{LookupKey, Object, ObjectRef};
use crate::storage::Storage;

/// Rejects cache options that cannot work together.
pub(super) fn check(options: &CacheOptions) -> Result<()> {
    let zero = Some(Duration::ZERO);
    if options.ttl == zero || options.tti == zero {
        return Err(Error::BadArgument(
            "a lifetime must be longer than 0".into(),
        ));
    }
    if options.max_size == Some(0) || options.max_memory == Some(0) {
        return Err(Error::BadArgument(
            "max_size and max_memory must be at least 1".into(),
        ));
    }
    Ok(())
}

/// The storage of a new table, with its lifetimes and (if bounded) use tracking.
pub(super) fn storage(table_type: TableType, options: &CacheOptions) -> Result<Storage> {
    let clock = options
        .clock
        .clone()
        .unwrap_or_else(|| Arc::new(MonotonicClock));
    let expiry = Expiry::new(clock, options.ttl, options.tti);
    let storage = match table_type {
        TableType::OrderedSet => Storage::ordered(),
        _ => Storage::hash(),
    };
    // Readers write an object's metadata only where it matters: its use bit for eviction, its
    // deadline for an idle lifetime.
    let readers_mark = options.bounded() || options.tti.is_some();
    Ok(storage.with_cache(expiry, readers_mark))
}

impl CacheState {
    /// Counts a read that found (`hit`) or missed its key.
    #[inline]
    pub(crate) fn count_read(&self, hit: bool) {
        self.stats
            .add(if hit { Counter::Hits } else { Counter::Misses }, 1);
    }
}

impl TableInner {
    /// Adds the cache state for `options` (none if the table is no cache).
    pub(super) fn with_cache(mut self, options: &CacheOptions) -> TableInner {
        if options.any() {
            let bounds = options.bounded().then(|| {
                Bounds::new(
                    &self.storage,
                    options.max_size,
                    options.max_memory,
                    options.on_full,
                    options.eviction,
                )
            });
            self.cache = Some(Box::new(CacheState {
                stats: Stats::default(),
                bounds,
                expired_base: AtomicU64::new(0),
            }));
        }
        self
    }

    /// The number of live objects: the storage's count, or, once objects have had deadlines,
    /// a count that skips expired ones (a walk over the table).
    pub(crate) fn live_size(&self) -> usize {
        if !self.storage.expiry().has_deadlines() {
            return self.storage.size();
        }
        let mut n = 0;
        self.storage
            .for_each(crate::storage::Direction::Forward, |_| n += 1);
        n
    }
}

impl Drop for TableInner {
    fn drop(&mut self) {
        // A table registered with the sweeper (it has had objects with deadlines) leaves the
        // registry now, its memory with it.
        if self.storage.expiry().has_deadlines() {
            sweeper::forget_dropped();
        }
    }
}

impl Sweep for TableInner {
    fn sweep(&self) -> bool {
        if self.deleted.load(Ordering::Acquire) {
            return false;
        }
        self.storage.purge_expired();
        true
    }
}

/// See [`Table::with_default`].
pub(super) struct WithDefault<'t> {
    pub(super) default: Option<Object>,
    pub(super) options: InsertOptions,
    /// The deadline an object written with `options` gets.
    pub(super) at: u64,
    /// Held, never read: the room lock of a bounded table, until the write is done.
    _room: Option<MutexGuard<'t, Room>>,
}

impl Table {
    /// The end of the lifetime of an object written now with `ttl` (or the table's default;
    /// 0: never), which the storage turns into the object's deadline; registers the table with
    /// the sweeper when its first object with a deadline is written.
    #[inline]
    pub(super) fn deadline(&self, ttl: Option<Duration>) -> u64 {
        let expiry = self.inner.storage.expiry();
        let at = expiry.deadline(ttl);
        if (at != 0 || expiry.has_idle()) && expiry.note_deadline() {
            let weak: std::sync::Weak<dyn Sweep> = Arc::downgrade(&self.inner) as _;
            sweeper::register(weak);
        }
        at
    }

    /// What an update with an optional default needs before its transaction: the default with
    /// its key set to `key`, the options, the deadline they give, and on a bounded table the
    /// room for the default (held until the write is done).
    pub(super) fn with_default(
        &self,
        default: Option<(Object, InsertOptions)>,
        key: &[u8],
    ) -> Result<WithDefault<'_>> {
        let (default, options) = match default {
            None => (None, InsertOptions::default()),
            Some((d, options)) => (Some(d.with_key(key, self.inner.keypos)?), options),
        };
        let at = self.deadline(options.ttl);
        let room = match &default {
            Some(d) => self.make_room(&[d.view()])?,
            None => None,
        };
        Ok(WithDefault {
            default,
            options,
            at,
            _room: room,
        })
    }

    /// On a bounded table, makes room for `objects` (see [`Bounds::make_room`]) and returns
    /// the room lock, to hold until the write is done; `None` on other tables.
    #[inline]
    pub(super) fn make_room(
        &self,
        objects: &[ObjectRef<'_>],
    ) -> Result<Option<MutexGuard<'_, Room>>> {
        // Most tables have no bounds: settled here, inlined into every write.
        if self.inner.cache.as_ref().is_none_or(|c| c.bounds.is_none()) {
            return Ok(None);
        }
        self.make_room_bounded(objects)
    }

    /// [`Table::make_room`] on a table with bounds.
    #[inline(never)]
    fn make_room_bounded(&self, objects: &[ObjectRef<'_>]) -> Result<Option<MutexGuard<'_, Room>>> {
        let Some(bounds) = self.inner.cache.as_ref().and_then(|c| c.bounds.as_ref()) else {
            return Ok(None);
        };
        let cache = self
            .inner
            .cache
            .as_ref()
            .expect("bounds are in the cache state");
        let storage = &self.inner.storage;
        // Bags: every object written counts as new, and the hand alone evicts.
        let set = self.inner.table_type.is_set();
        let admits = set && bounds.probation;
        let overhead = OBJECT_OVERHEAD + storage.expiry().extra_bytes();
        let adding = || {
            let mut adding = Adding::default();
            let mut seen: Vec<&[u8]> = Vec::new();
            for o in objects {
                let key = o.key_msgpack();
                let new = if set {
                    !seen.contains(&key)
                        && storage.read(LookupKey::new(key), |found| found.len() == 0)
                } else {
                    true
                };
                if new {
                    seen.push(key);
                    adding.objects += 1;
                    adding.bytes += o.as_msgpack().len() + overhead;
                    if admits {
                        adding.names.push(storage.probation_name(key));
                    }
                }
            }
            adding
        };
        let name = || self.inner.meta.load().name.clone();
        let fixed = std::mem::size_of::<TableInner>();
        bounds
            .make_room(storage, &cache.stats, fixed, name, adding)
            .map(Some)
    }

    /// The table's cache statistics since creation or the last reset; all zero for a table
    /// without cache options (see [`crate::TableOptions::record_stats`]).
    pub fn cache_stats(&self) -> Result<CacheStats> {
        self.inner.check_alive()?;
        let Some(cache) = &self.inner.cache else {
            return Ok(CacheStats::default());
        };
        let mut stats = cache.stats.snapshot();
        stats.expirations = self
            .inner
            .storage
            .expired_count()
            .saturating_sub(cache.expired_base.load(Ordering::Relaxed));
        Ok(stats)
    }

    /// Sets the table's cache statistics back to zero.
    pub fn reset_cache_stats(&self) -> Result<()> {
        self.inner.check_alive()?;
        if let Some(cache) = &self.inner.cache {
            cache.stats.reset();
            cache
                .expired_base
                .store(self.inner.storage.expired_count(), Ordering::Relaxed);
        }
        Ok(())
    }

    /// Records one load from the data source behind the cache (read-through): its duration and
    /// whether it succeeded. Counted in [`CacheStats::loads`] / [`CacheStats::load_failures`]
    /// and [`CacheStats::load_nanos`]. Anyone may record (it changes no object).
    pub fn record_load(&self, elapsed: Duration, ok: bool) -> Result<()> {
        self.inner.check_alive()?;
        if let Some(cache) = &self.inner.cache {
            cache.stats.record_load(elapsed, ok);
        }
        Ok(())
    }

    /// Removes the expired objects now (the background sweeper does it every
    /// [`crate::cache::SWEEP_INTERVAL`] anyway); returns how many it removed. Needs
    /// write access.
    pub fn purge_expired(&self) -> Result<usize> {
        self.check("purge_expired", super::Need::Write)?;
        Ok(self.inner.storage.purge_expired())
    }
}
