//! A fixed number of lookups on a 10k-key set, for counting instructions per lookup with
//! callgrind (valid on a loaded machine, unlike wall-clock time). Run it twice with different
//! counts and divide the difference, which cancels the setup:
//!
//! ```sh
//! cargo build --release -p rets-core --example lookup_instructions
//! for n in 100000 200000; do
//!   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/lookup_instructions plain $n 2>&1 | grep refs
//! done   # instructions per lookup = (refs(200000) - refs(100000)) / 100000
//! ```
//!
//! Modes: `plain` (`Table::lookup_with`, what the maps benchmark's plain row runs), `pin`
//! (through `Table::pin`), `owned` (through `Table::pin_owned`, as the C ABI's `rets_pin`), and
//! for comparison `scc-index`: the same lookups of scc's `HashIndex` as the benchmark makes them
//! (`u64` keys, 16-byte values, the same hasher, `peek_with` reading the value's first byte).
//! `pin-wide` and `plain-wide` are `pin` and `plain` with keys from 2^40 on, which encode in 9
//! bytes (as 64-bit ids and hashes do).
//! `next` walks the table with `Table::first` and `Table::next` instead (one step a "lookup").
//! An optional third argument, `ordered_set`, counts an ordered_set's lookups instead of a set's.
//! The table and the lookups are those of `benches/maps.rs`: objects `[K, <<16 bytes>>]`
//! with integer keys, looked up in a scattered order, reading the first byte of the object.

use std::hint::black_box;

use rets_core::{Msgpack, Objects, Owner, TableOptions};

const KEYS: u64 = 10_000;

/// The first key of the `-wide` modes: 2^40, whose encoding (and every later one's) is 9 bytes.
const WIDE: u64 = 1 << 40;

fn first_byte(mut objects: Objects<'_>) -> bool {
    objects.next().map(|o| o.as_msgpack()[0]).is_some()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "plain".into());
    let n: u64 = args.next().map_or(100_000, |a| a.parse().expect("a count"));
    let options = match args.next().as_deref() {
        Some("set") | None => TableOptions::new().set(),
        Some("ordered_set") => TableOptions::new().ordered_set(),
        Some(other) => panic!("unknown table type {other:?}: set or ordered_set"),
    };
    // Key `i * 7_919 % KEYS`: a scattered order over the present keys (a stride coprime with
    // KEYS).
    let key = |i: u64| (i * 7_919) % KEYS;
    if mode == "scc-index" {
        let index: scc::HashIndex<u64, [u8; 16], foldhash::quality::RandomState> =
            scc::HashIndex::with_hasher(foldhash::quality::RandomState::default());
        for k in 0..KEYS {
            index.insert_sync(k, [7; 16]).unwrap();
        }
        let found: u64 = (0..n)
            .map(|i| u64::from(index.peek_with(&key(i), |_, v| v[0]).is_some()))
            .sum();
        assert_eq!(black_box(found), n, "every key is present");
        return;
    }
    let owner = Owner::new();
    let table = owner.new_table("t", options.public()).unwrap();
    let mut buf = Vec::new();
    let keys = if mode.ends_with("-wide") {
        WIDE..WIDE + KEYS
    } else {
        0..KEYS
    };
    for k in keys {
        buf.clear();
        rmp::encode::write_array_len(&mut buf, 2).unwrap();
        rmp::encode::write_uint(&mut buf, k).unwrap();
        rmp::encode::write_bin(&mut buf, &[7; 16]).unwrap();
        table.insert(Msgpack(&buf)).unwrap();
    }
    let mut found = 0u64;
    match mode.as_str() {
        "plain" => {
            for i in 0..n {
                found += u64::from(table.lookup_with(key(i), first_byte).unwrap());
            }
        }
        "pin" => {
            let pin = table.pin().unwrap();
            for i in 0..n {
                found += u64::from(pin.lookup_with(key(i), first_byte).unwrap());
            }
        }
        "pin-wide" => {
            let pin = table.pin().unwrap();
            for i in 0..n {
                found += u64::from(pin.lookup_with(key(i) + WIDE, first_byte).unwrap());
            }
        }
        "plain-wide" => {
            for i in 0..n {
                found += u64::from(table.lookup_with(key(i) + WIDE, first_byte).unwrap());
            }
        }
        "owned" => {
            let pin = table.pin_owned().unwrap();
            for i in 0..n {
                found += u64::from(pin.lookup_with(key(i), first_byte).unwrap());
            }
        }
        "next" => {
            // A walk by `first` and `next` (the ETS traversal), starting over at the end: each
            // step returns the next key as a `Key`.
            let mut at = None;
            for _ in 0..n {
                at = match &at {
                    None => table.first().unwrap(),
                    Some(k) => table.next(k).unwrap(),
                };
                found += u64::from(at.is_some() || table.first().unwrap().is_some());
            }
        }
        other => panic!(
            "unknown mode {other:?}: plain, pin, owned, pin-wide, plain-wide, next or scc-index"
        ),
    }
    assert_eq!(black_box(found), n, "every key is present");
}
