//! The cost of a range scan, for instruction counts: `scans` scans of 100 keys from random
//! starts over an ordered map of `keys` keys `[K, <<16 bytes>>]`, as core/benches/maps.rs's
//! scan100 does, with one of:
//!
//! - `next`: rets, `first`/`next` from key to key (each step a search from the root);
//! - `range`: rets, `Table::range(from..)` (one search per chunk);
//! - `chunk`: rets, one `Table::chunk_with` of 100 keys (one search, objects read in place);
//! - `tree`: scc's TreeIndex, `range(from..)`;
//! - `fold`: rets, `scans` whole-table `foldl`s instead (each object once per fold);
//! - `select`: rets, `scans` selects of a key prefix `{G, '_'}` (100 objects each: a range).
//!
//! The scans run in `scans_*` (never inlined), so callgrind can count them alone, setup
//! excluded; the total divided by the scan count is the cost of one scan:
//!
//! ```text
//! cargo build --release -p rets-core --example scan_cost
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/scan.out \
//!     --toggle-collect='scan_cost::scans_*' target/release/examples/scan_cost range 1000000 2000
//! callgrind_annotate /tmp/scan.out | grep 'PROGRAM TOTALS'
//! ```

use std::hint::black_box;
use std::ops::Bound;

use rets_core::query::{Expr, MatchSpec, Pat, Spec};
use rets_core::{tuple, Owner, Table, TableOptions, Term};

const SCAN_LEN: u64 = 100;

/// xorshift64: a fixed sequence of starts, the same for every mode.
fn starts(n: u64, count: usize) -> impl Iterator<Item = u64> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..count).map(move |_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % (n - SCAN_LEN)
    })
}

/// `0..n` in a scattered order (a multiplicative permutation).
fn scattered(n: u64) -> impl Iterator<Item = u64> {
    let step = (0..)
        .map(|i| 0x9e37_79b9u64 + 2 * i)
        .find(|s| gcd(*s, n) == 1)
        .expect("a step coprime with n");
    (0..n).map(move |i| (i * step) % n)
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn rets_table(owner: &Owner, n: u64) -> Table {
    let t = owner
        .new_table("scan", TableOptions::new().ordered_set())
        .unwrap();
    for k in scattered(n) {
        t.insert((Term::from(k), Term::Bin(vec![7; 16]))).unwrap();
    }
    t
}

#[inline(never)]
fn scans_next(t: &Table, n: u64, scans: usize) -> u64 {
    let mut visited = 0;
    for from in starts(n, scans) {
        let mut at = match from.checked_sub(1) {
            Some(before) => t.next(before),
            None => t.first(),
        }
        .unwrap();
        let mut seen = 0;
        while let Some(key) = at {
            black_box(key.as_msgpack());
            seen += 1;
            at = if seen < SCAN_LEN {
                t.next(&key).unwrap()
            } else {
                None
            };
        }
        visited += seen;
    }
    visited
}

#[inline(never)]
fn scans_range(t: &Table, n: u64, scans: usize) -> u64 {
    let mut visited = 0;
    for from in starts(n, scans) {
        let mut objects = t.range(from..).unwrap();
        let mut seen = 0;
        while seen < SCAN_LEN {
            let Some(o) = objects.next_ref() else { break };
            let o = o.unwrap();
            black_box((o.key_msgpack(), o.as_msgpack()[0]));
            seen += 1;
        }
        visited += seen;
    }
    visited
}

/// One `Table::chunk_with` of 100 keys per scan: one descent, then the objects read in place.
#[inline(never)]
fn scans_chunk(t: &Table, n: u64, scans: usize) -> u64 {
    let mut visited = 0;
    for from in starts(n, scans) {
        let seen = t
            .chunk_with(
                Bound::Included(from),
                SCAN_LEN as usize,
                false,
                |key, mut objects| {
                    black_box((key, objects.next().map(|o| o.as_msgpack()[0])));
                },
            )
            .unwrap();
        visited += seen as u64;
    }
    visited
}

/// `scans` folds over the whole table (ETS foldl), reading each object's first byte.
#[inline(never)]
fn scans_fold(t: &Table, scans: usize) -> u64 {
    let mut visited = 0;
    for _ in 0..scans {
        visited += t
            .foldl(0u64, |n, o| {
                black_box(o.as_msgpack()[0]);
                n + 1
            })
            .unwrap();
    }
    visited
}

/// `scans` selects of one key prefix `{G, '_'}` (100 objects, a range of the ordered_set) from
/// `starts`.
#[inline(never)]
fn scans_select(t: &Table, specs: &[MatchSpec]) -> u64 {
    specs
        .iter()
        .map(|spec| t.select(spec).unwrap().len() as u64)
        .sum()
}

#[inline(never)]
fn scans_tree(tree: &scc::TreeIndex<u64, [u8; 16]>, n: u64, scans: usize) -> u64 {
    let mut visited = 0;
    for from in starts(n, scans) {
        let guard = scc::Guard::new();
        visited += tree
            .range(from.., &guard)
            .take(SCAN_LEN as usize)
            .fold(0, |seen, (k, v)| {
                black_box((*k, v[0]));
                seen + 1
            });
    }
    visited
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: scan_cost next|range|chunk|tree|fold|select KEYS SCANS";
    let mode = args.get(1).expect(usage).as_str();
    let n: u64 = args.get(2).expect(usage).parse().expect(usage);
    let scans: usize = args.get(3).expect(usage).parse().expect(usage);
    let owner = Owner::new();
    let visited = match mode {
        "next" => scans_next(&rets_table(&owner, n), n, scans),
        "select" => {
            // `n / 100` groups of 100 objects `{{G, I}, I}`.
            let t = owner
                .new_table("groups", TableOptions::new().ordered_set())
                .unwrap();
            for k in scattered(n) {
                let (g, i) = ((k / SCAN_LEN) as i64, (k % SCAN_LEN) as i64);
                t.insert(tuple!(tuple!(g, i), i)).unwrap();
            }
            let specs: Vec<MatchSpec> = starts(n, scans)
                .map(|from| {
                    let g = (from / SCAN_LEN) as i64;
                    Spec::new()
                        .clause(Pat::tuple([
                            Pat::tuple([Pat::lit(g), Pat::any()]),
                            Pat::any(),
                        ]))
                        .body(Expr::object())
                        .compile()
                        .unwrap()
                })
                .collect();
            scans_select(&t, &specs)
        }
        "fold" => {
            let folded = scans_fold(&rets_table(&owner, n), scans);
            assert_eq!(folded, n * scans as u64);
            return;
        }
        "range" => scans_range(&rets_table(&owner, n), n, scans),
        "chunk" => scans_chunk(&rets_table(&owner, n), n, scans),
        "tree" => {
            let tree = scc::TreeIndex::new();
            for k in scattered(n) {
                tree.insert_sync(k, [7u8; 16]).unwrap();
            }
            scans_tree(&tree, n, scans)
        }
        _ => panic!("{usage}"),
    };
    assert_eq!(visited, scans as u64 * SCAN_LEN, "a short scan");
    println!("{mode}: {scans} scans of {SCAN_LEN} keys over {n} keys");
}
