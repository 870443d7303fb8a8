//! The background removal of expired objects: one thread per process, started when the first
//! table gets an object with a deadline. It removes the expired objects of each such table
//! (through the storage's ordinary removal, so readers are never disturbed) and flushes its
//! retirements. A table is swept every [`SWEEP_INTERVAL`], or, if a sweep of it takes longer
//! than 1/[`SWEEP_SHARE`] of that, every `SWEEP_SHARE` times its last sweep's duration (so the
//! sweeper spends at most about 1/`SWEEP_SHARE` of one core per table). An expired object's
//! memory goes back to the allocator within `max(SWEEP_INTERVAL, SWEEP_SHARE x sweep)` plus one
//! sweep after its deadline, on a table nobody touches. docs/CACHE.md gives the measured cost
//! of a sweep and why this design.

use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

/// How often the sweeper visits a table (at most).
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// A table whose sweep takes `d` is swept again after `SWEEP_SHARE * d` at the earliest.
pub const SWEEP_SHARE: u32 = 20;

/// A table the sweeper visits.
pub(crate) trait Sweep: Send + Sync {
    /// Removes expired objects; false if the table is gone (then it is forgotten).
    fn sweep(&self) -> bool;
}

/// A table to visit and when it is next due.
struct Entry {
    table: Weak<dyn Sweep>,
    due: Instant,
}

/// The tables to visit; set (and the thread started) by the first registration.
static TABLES: OnceLock<Mutex<Vec<Entry>>> = OnceLock::new();

/// The tables to visit.
fn registry() -> &'static Mutex<Vec<Entry>> {
    TABLES.get_or_init(|| {
        std::thread::Builder::new()
            .name("rets-sweeper".into())
            .spawn(run)
            .expect("the sweeper thread starts");
        Mutex::new(Vec::new())
    })
}

/// Adds a table to the sweeper's rounds (once per table; the caller makes sure).
pub(crate) fn register(table: Weak<dyn Sweep>) {
    registry()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Entry {
            table,
            due: Instant::now(),
        });
}

/// Forgets the tables that are gone: called as a registered table is dropped, so that the
/// registry's weak reference does not keep the table's memory allocated until the sweeper's
/// next round (up to [`SWEEP_INTERVAL`]). Never starts the sweeper.
pub(crate) fn forget_dropped() {
    if let Some(tables) = TABLES.get() {
        tables
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|e| e.table.strong_count() > 0);
    }
}

/// Whether the registry still holds a dropped table at `table` (for tests).
#[cfg(test)]
pub(crate) fn holds_dropped(table: *const ()) -> bool {
    TABLES.get().is_some_and(|tables| {
        tables
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|e| e.table.strong_count() == 0 && e.table.as_ptr().cast::<()>() == table)
    })
}

fn run() {
    loop {
        std::thread::sleep(SWEEP_INTERVAL);
        let now = Instant::now();
        let due: Vec<(usize, Arc<dyn Sweep>)> = {
            let mut all = registry().lock().unwrap_or_else(|e| e.into_inner());
            all.retain(|e| e.table.strong_count() > 0);
            all.iter()
                .enumerate()
                .filter(|(_, e)| e.due <= now)
                .filter_map(|(i, e)| Some((i, e.table.upgrade()?)))
                .collect()
        };
        // (table, alive, next due), applied after the sweeps, without the lock held meanwhile.
        let mut outcomes = Vec::with_capacity(due.len());
        for (_, table) in &due {
            let start = Instant::now();
            let alive = table.sweep();
            let took = start.elapsed();
            let next = Instant::now() + SWEEP_INTERVAL.max(took * SWEEP_SHARE) - SWEEP_INTERVAL;
            outcomes.push((Arc::as_ptr(table).cast::<()>(), alive, next));
        }
        drop(due);
        let mut all = registry().lock().unwrap_or_else(|e| e.into_inner());
        all.retain_mut(|e| {
            let me = e.table.as_ptr().cast::<()>();
            match outcomes.iter().find(|(t, _, _)| *t == me) {
                Some((_, false, _)) => false,
                Some((_, true, next)) => {
                    e.due = *next;
                    true
                }
                None => true,
            }
        });
    }
}
