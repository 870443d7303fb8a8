//! The cache layer: what a table needs to serve as a cache.
//!
//! - `flight`: single-flight loads (one loader per key, everyone else waits for its result),
//!   which `Table::get_or_load` and the claim/fill protocol are built on.

pub(crate) mod flight;
