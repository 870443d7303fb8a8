//! Helpers shared by integration tests (each test file that uses them has `mod common;`).

#![allow(dead_code)] // Each test file uses some of them.

use std::ops::Bound;

use rets_core::{ObjectRef, Pinned, Table};

/// A xorshift generator: the same sequence on every run.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Reads as reader `reader` of a stress test's three kinds does, calling `check` on every object
/// it sees: 0 looks `key` up plainly and through `pin`, 1 lists the table (`tab2list`), 2 reads
/// its first chunk of 16 keys.
pub fn read_one_way(
    reader: usize,
    t: &Table,
    pin: &Pinned<'_>,
    key: i64,
    check: &impl Fn(&ObjectRef<'_>),
) {
    match reader {
        0 => {
            t.lookup_with(key, |objects| objects.for_each(|o| check(&o)))
                .unwrap();
            pin.lookup_with(key, |objects| objects.for_each(|o| check(&o)))
                .unwrap();
        }
        1 => t.tab2list().unwrap().iter().for_each(|o| check(&o.view())),
        _ => {
            t.chunk_with(Bound::<i64>::Unbounded, 16, false, |_, objects| {
                objects.for_each(|o| check(&o))
            })
            .unwrap();
        }
    }
}
