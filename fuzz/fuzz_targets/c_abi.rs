//! C ABI call sequences with NULL, stale and closed handles and access violations (see
//! `rets_fuzz::c_abi`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rets_fuzz::c_abi::run(data);
});
