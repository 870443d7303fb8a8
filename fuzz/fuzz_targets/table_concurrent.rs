//! Two threads on one public table, checked against invariants (see `rets_fuzz::concurrent`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rets_fuzz::concurrent::run(data);
});
