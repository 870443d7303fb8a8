//! Raw bytes into the term decoder, validator and canonicaliser (see `rets_fuzz::decode`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rets_fuzz::decode::run(data);
});
