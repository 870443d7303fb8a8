//! Differential fuzzing of a cache table (TTL, manual clock, max_size, evict or reject) against
//! a model that knows the bound, not the policy (see `rets_fuzz::cache`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rets_fuzz::cache::run(data);
});
