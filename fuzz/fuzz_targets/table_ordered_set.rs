//! Differential fuzzing of an `ordered_set` table against the reference model (see `rets_fuzz::model`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rets_core::TableType;

fuzz_target!(|data: &[u8]| {
    rets_fuzz::differential::run(TableType::OrderedSet, data);
});
