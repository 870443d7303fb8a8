//! Shared code of the rets fuzz targets.
//!
//! - [`gen`]: bounded terms, keys and objects drawn from the fuzzer's bytes.
//! - [`model`]: a simple reference of ETS's semantics (a `Vec` of entries, linear search).
//! - [`differential`]: one table type against the model, every result compared.
//! - [`cache`]: a cache table (lifetimes, manual clock, max_size, evict/reject) against a
//!   model that knows the bound, not the eviction policy.
//! - [`concurrent`]: two threads on one public table, checked against invariants.
//! - [`decode`]: raw bytes into the term decoder, validator and canonicaliser.
//! - [`file_load`]: raw bytes as a table file into the loader.
//! - [`c_abi`]: C ABI call sequences with NULL, stale and closed handles and access violations.

pub mod c_abi;
pub mod cache;
pub mod concurrent;
pub mod decode;
pub mod differential;
pub mod file_load;
pub mod gen;
pub mod model;
