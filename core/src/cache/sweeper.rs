//! The background removal of expired objects: one thread per process, started when the first
//! table gets an object with a deadline. Every [`SWEEP_INTERVAL`] it removes the expired
//! objects of each such table (through the storage's ordinary removal, so readers are never
//! disturbed) and flushes its retirements, so an expired object's memory goes back to the
//! allocator within `SWEEP_INTERVAL` plus one sweep after its deadline, on a table nobody
//! touches. docs/CACHE.md gives the measured cost of a sweep and why this beats the other
//! designs here.

use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

/// How often the sweeper runs.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// A table the sweeper visits.
pub(crate) trait Sweep: Send + Sync {
    /// Removes expired objects; false if the table is gone (then it is forgotten).
    fn sweep(&self) -> bool;
}

/// The tables to visit.
fn registry() -> &'static Mutex<Vec<Weak<dyn Sweep>>> {
    static TABLES: OnceLock<Mutex<Vec<Weak<dyn Sweep>>>> = OnceLock::new();
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
        .push(table);
}

fn run() {
    loop {
        std::thread::sleep(SWEEP_INTERVAL);
        let tables: Vec<Arc<dyn Sweep>> = {
            let mut all = registry().lock().unwrap_or_else(|e| e.into_inner());
            all.retain(|t| t.strong_count() > 0);
            all.iter().filter_map(Weak::upgrade).collect()
        };
        let gone: Vec<*const ()> = tables
            .iter()
            .filter(|t| !t.sweep())
            .map(|t| Arc::as_ptr(t).cast::<()>())
            .collect();
        drop(tables);
        if !gone.is_empty() {
            registry()
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|t| !gone.contains(&t.as_ptr().cast::<()>()));
        }
    }
}
