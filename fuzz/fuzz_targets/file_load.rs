//! Raw bytes as a table file into the loader (see `rets_fuzz::file_load`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rets_fuzz::file_load::run(data);
});
