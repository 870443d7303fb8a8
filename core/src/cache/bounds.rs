//! Guardrails: `max_size` and `max_memory`, and what a write to a full table does.
//!
//! Writers that may add objects to a bounded table take the table's *room lock*, make room
//! (evict, or refuse), write, and release it; readers never take it, and neither do writers
//! that only remove or change objects in place. So the bound is exact for sizes: a reader never
//! sees more than `max_size` objects, even for a moment, whatever the number of writers.
//! `max_memory` is exact up to the estimate of a new object's bytes (its encoding plus the
//! storage's per-object header); a hash shard that grows its slot array adds that array's
//! bytes at once, which the estimate does not foresee (docs/CACHE.md gives the figure).

use parking_lot::{Mutex, MutexGuard};

use super::options::{Eviction, OnFull};
use super::policy::{Name, Room};
use super::stats::{Counter, Stats};
use crate::error::{Error, Result};
use crate::storage::Storage;

/// Bytes a stored object costs beyond its encoding, estimated for making room: the larger of
/// a bounded hash table's node (header 12, cache metadata 16, and 8 for the pending pointer of
/// a node a multi-key write made) plus its slot (16), and the ordered entry header (24) plus
/// its leaf slot (16).
pub(crate) const OBJECT_OVERHEAD: usize = 52;

/// A table's bounds.
pub(crate) struct Bounds {
    pub(crate) max_size: Option<usize>,
    pub(crate) max_memory: Option<usize>,
    pub(crate) on_full: OnFull,
    /// Whether new keys go through probation (then writers name them, see `Adding::names`).
    pub(crate) probation: bool,
    /// The room lock, with the eviction hand it protects.
    room: Mutex<Room>,
}

/// What a write adds: objects and their estimated bytes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Adding {
    pub(crate) objects: usize,
    pub(crate) bytes: usize,
    /// The new keys' names for admission (see `Storage::probation_name`).
    pub(crate) names: Vec<Name>,
}

impl Bounds {
    pub(crate) fn new(
        storage: &Storage,
        max_size: Option<usize>,
        max_memory: Option<usize>,
        on_full: OnFull,
        eviction: Eviction,
    ) -> Bounds {
        Bounds {
            max_size,
            max_memory,
            on_full,
            probation: eviction == Eviction::S3Fifo,
            room: Mutex::new(Room::new(storage, eviction)),
        }
    }

    /// Whether `adding` fits beside what the table holds.
    fn fits(&self, adding: &Adding, size: usize, memory: usize) -> bool {
        self.max_size.is_none_or(|max| size + adding.objects <= max)
            && self
                .max_memory
                .is_none_or(|max| adding.objects == 0 || memory + adding.bytes <= max)
    }

    /// Makes room for a write: takes the room lock, counts what the write adds (`adding`, with
    /// the lock held, so no other adding writer changes it), and evicts until it fits, or
    /// refuses with [`Error::TableFull`] (reject mode, or a write larger than the whole bound).
    /// The returned guard must be held until the write is done.
    pub(crate) fn make_room<'a>(
        &'a self,
        storage: &Storage,
        stats: &Stats,
        fixed_bytes: usize,
        name: impl FnOnce() -> String,
        adding: impl FnOnce() -> Adding,
    ) -> Result<MutexGuard<'a, Room>> {
        let mut room = self.room.lock();
        let adding = adding();
        let admit = |room: &mut Room| {
            for name in &adding.names {
                room.admit(storage, name);
            }
        };
        let memory = || fixed_bytes + storage.memory();
        if self.fits(&adding, storage.size(), memory()) {
            admit(&mut room);
            return Ok(room);
        }
        let too_big = !self.fits(&adding, 0, fixed_bytes);
        // Expired objects do not make a table full: remove them before refusing. Whatever the
        // purge returns, look again: the sweeper may have removed them since the look above.
        if self.on_full == OnFull::Reject && !too_big && storage.expiry().has_deadlines() {
            storage.purge_expired();
            if self.fits(&adding, storage.size(), memory()) {
                admit(&mut room);
                return Ok(room);
            }
        }
        if self.on_full == OnFull::Reject || too_big {
            stats.add(Counter::Rejected, 1);
            return Err(self.full(name()));
        }
        let (evicted, _expired) =
            room.evict(storage, || !self.fits(&adding, storage.size(), memory()));
        stats.add(Counter::Evictions, evicted as u64);
        if self.fits(&adding, storage.size(), memory()) {
            admit(&mut room);
            Ok(room)
        } else {
            // Nothing left to evict (the write alone is near the bound).
            stats.add(Counter::Rejected, 1);
            Err(self.full(name()))
        }
    }

    #[cold]
    fn full(&self, name: String) -> Error {
        let mut limits = Vec::new();
        if let Some(max) = self.max_size {
            limits.push(format!("max_size {max} objects"));
        }
        if let Some(max) = self.max_memory {
            limits.push(format!("max_memory {max} bytes"));
        }
        Error::TableFull {
            name,
            limit: limits.join(", "),
        }
    }
}
