//! The cost of the C ABI over the Rust API: the same lookups, inserts and update_counters on
//! the same table, through `rets-core` and through the exported `extern "C"` functions (called
//! through function pointers, as a C program calls them), interleaved in one process. Prints
//! ns/op for each and the ratio C ABI / Rust API (the target is at most 1.10).
//!
//! Both sides get keys and objects as MessagePack bytes, as a C program has them (keys are
//! written on the fly into a stack buffer, so that at 1M keys neither side's time includes
//! cache misses on a stored key that are not the ABI's doing), and the
//! lookup of both copies the result into a reused buffer (what rets_table_lookup does, and what
//! a caller that keeps the result must do). A third line gives the Rust API with a prebuilt
//! `Key` (no key validation at all) for reference, and the row "lookup A/A" compares the Rust
//! lookup with an identical copy of itself: its distance from 1.000 is the noise of the run.
//!
//! Run: `cargo bench -p rets-ffi --bench abi_overhead` (RETS_BENCH_KEYS=10000,1000000 to choose
//! the table sizes; RETS_BENCH_OPS for operations per measurement).

use std::hint::black_box;
use std::time::Instant;

use rets::{rets_buf, rets_buf_free, rets_buf_len, rets_buf_new, rets_status, rets_table};
use rets_core::{Key, Msgpack, Owner, TableOptions, Term};

type LookupFn = extern "C" fn(*const rets_table, *const u8, usize, *mut rets_buf) -> rets_status;
type InsertFn = extern "C" fn(*const rets_table, *const u8, usize) -> rets_status;
type CounterFn = extern "C" fn(*const rets_table, *const u8, usize, i64, *mut i64) -> rets_status;

/// Writes the MessagePack of the key `key-{i:012}` (a 16-byte str) into `buf`: keys are made on
/// the fly, so neither side pays a cache miss for a key stored in a large array.
fn key_bytes(i: usize, buf: &mut [u8; 17]) -> &[u8] {
    buf[0] = 0xa0 | 16;
    buf[1..5].copy_from_slice(b"key-");
    let mut n = i;
    for b in buf[5..].iter_mut().rev() {
        *b = b'0' + (n % 10) as u8;
        n /= 10;
    }
    &buf[..]
}

fn encode(term: Term) -> Vec<u8> {
    term.to_msgpack().expect("valid term")
}

/// A fixed pseudo-random order of `n` indices (xorshift), the same for every run.
fn order(n: usize, len: usize) -> Vec<usize> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        })
        .collect()
}

/// ns per op of `f(i)` over `ops` calls.
fn time(ops: usize, mut f: impl FnMut(usize)) -> f64 {
    let start = Instant::now();
    for i in 0..ops {
        f(i);
    }
    start.elapsed().as_nanos() as f64 / ops as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

struct Row {
    op: &'static str,
    rust: Vec<f64>,
    abi: Vec<f64>,
    rust_key: Option<Vec<f64>>,
}

impl Row {
    /// The median of the per-round ratios: each round's two measurements ran back to back, so
    /// their ratio is robust to load that drifts between rounds.
    fn ratio(&self) -> f64 {
        median(
            self.abi
                .iter()
                .zip(&self.rust)
                .map(|(a, r)| a / r)
                .collect(),
        )
    }
}

fn run(keys: usize, ops: usize, rounds: usize) -> Vec<Row> {
    let owner = Owner::new();
    let table = owner
        .new_table("abi_overhead", TableOptions::new().set().public())
        .expect("new table");
    // Objects {key, counter, payload}: a 16-byte str key and a 64-byte bin payload.
    let key_term = |i: usize| Term::from(format!("key-{i:012}"));
    let object = |i: usize| {
        encode(Term::Array(vec![
            key_term(i),
            Term::Int(0),
            Term::bin(vec![7u8; 64]),
        ]))
    };
    let objects: Vec<Vec<u8>> = (0..keys).map(object).collect();
    let encoded_keys: Vec<Vec<u8>> = (0..keys).map(|i| encode(key_term(i))).collect();
    let prebuilt: Vec<Key> = (0..keys).map(|i| Key::new(key_term(i)).unwrap()).collect();
    for o in &objects {
        table.insert(Msgpack(o)).unwrap();
    }
    let handle = rets_table::from_table(table.clone());
    let handle: *const rets_table = &*handle;
    let mut out: *mut rets_buf = std::ptr::null_mut();
    assert_eq!(rets_buf_new(&mut out), rets_status::Ok);
    let lookup: LookupFn = black_box(rets::rets_table_lookup);
    let insert: InsertFn = black_box(rets::rets_table_insert);
    let counter: CounterFn = black_box(rets::rets_table_update_counter);
    let idx = order(keys, ops);
    let mut rust_buf: Vec<u8> = Vec::with_capacity(256);

    // The same result both ways.
    assert_eq!(
        lookup(handle, encoded_keys[0].as_ptr(), encoded_keys[0].len(), out),
        rets_status::Ok
    );
    table
        .lookup_with(Msgpack(&encoded_keys[0]), |objs| {
            rust_buf.clear();
            rust_buf.push(0x90 | objs.len() as u8);
            objs.for_each(|o| rust_buf.extend_from_slice(o.as_msgpack()));
        })
        .unwrap();
    assert_eq!(rets_buf_len(out), rust_buf.len());
    let mut kb = [0u8; 17];
    assert_eq!(key_bytes(12345, &mut kb), &encode(key_term(12345))[..]);

    let mut rust_lookup = |i: usize| {
        let mut kb = [0u8; 17];
        let k = key_bytes(idx[i], &mut kb);
        table
            .lookup_with(Msgpack(k), |objs| {
                rust_buf.clear();
                rust_buf.push(0x90 | objs.len() as u8);
                objs.for_each(|o| rust_buf.extend_from_slice(o.as_msgpack()));
            })
            .unwrap();
        black_box(&rust_buf);
    };
    // An identical copy of the Rust lookup, measured the same way: its ratio to the first is the
    // noise floor of this run (an A/A test).
    let mut aa_buf: Vec<u8> = Vec::with_capacity(256);
    let mut rust_lookup_again = |i: usize| {
        let mut kb = [0u8; 17];
        let k = key_bytes(idx[i], &mut kb);
        table
            .lookup_with(Msgpack(k), |objs| {
                aa_buf.clear();
                aa_buf.push(0x90 | objs.len() as u8);
                objs.for_each(|o| aa_buf.extend_from_slice(o.as_msgpack()));
            })
            .unwrap();
        black_box(&aa_buf);
    };
    let mut key_buf: Vec<u8> = Vec::with_capacity(256);
    let mut rust_key_lookup = |i: usize| {
        table
            .lookup_with(&prebuilt[idx[i]], |objs| {
                key_buf.clear();
                key_buf.push(0x90 | objs.len() as u8);
                objs.for_each(|o| key_buf.extend_from_slice(o.as_msgpack()));
            })
            .unwrap();
        black_box(&key_buf);
    };
    let abi_lookup = |i: usize| {
        let mut kb = [0u8; 17];
        let k = key_bytes(idx[i], &mut kb);
        let s = lookup(handle, k.as_ptr(), k.len(), out);
        debug_assert_eq!(s, rets_status::Ok);
        black_box(s);
    };
    let rust_insert = |i: usize| table.insert(Msgpack(&objects[idx[i]])).unwrap();
    let abi_insert = |i: usize| {
        let o = &objects[idx[i]];
        black_box(insert(handle, o.as_ptr(), o.len()));
    };
    let rust_counter = |i: usize| {
        let mut kb = [0u8; 17];
        black_box(
            table
                .update_counter(Msgpack(key_bytes(idx[i], &mut kb)), 1)
                .unwrap(),
        );
    };
    let abi_counter = |i: usize| {
        let mut kb = [0u8; 17];
        let k = key_bytes(idx[i], &mut kb);
        let mut v = 0i64;
        black_box(counter(handle, k.as_ptr(), k.len(), 1, &mut v));
    };

    let (mut rl, mut al, mut kl) = (vec![], vec![], vec![]);
    let (mut aa1, mut aa2) = (vec![], vec![]);
    let (mut ri, mut ai, mut rc, mut ac) = (vec![], vec![], vec![], vec![]);
    for round in 0..rounds {
        // Alternate which side goes first, so neither always runs on a warmer cache.
        if round % 2 == 0 {
            rl.push(time(ops, &mut rust_lookup));
            al.push(time(ops, abi_lookup));
        } else {
            al.push(time(ops, abi_lookup));
            rl.push(time(ops, &mut rust_lookup));
        }
        kl.push(time(ops, &mut rust_key_lookup));
        if round % 2 == 0 {
            aa1.push(time(ops, &mut rust_lookup));
            aa2.push(time(ops, &mut rust_lookup_again));
        } else {
            aa2.push(time(ops, &mut rust_lookup_again));
            aa1.push(time(ops, &mut rust_lookup));
        }
        if round % 2 == 0 {
            ri.push(time(ops, rust_insert));
            ai.push(time(ops, abi_insert));
        } else {
            ai.push(time(ops, abi_insert));
            ri.push(time(ops, rust_insert));
        }
        // The inserts stored fresh objects; a key's first update_counter stores its object as
        // a counter (a rebuild), later ones change it in place. One untimed pass first, so that
        // both timed passes find counters: without it, the side that went first paid the
        // rebuilds (at 1M keys, 0.2 updates a key a pass, most of its updates) in alternate
        // rounds, 6 of 11 for one side and 5 for the other, and the medians split them.
        time(ops, rust_counter);
        if round % 2 == 0 {
            rc.push(time(ops, rust_counter));
            ac.push(time(ops, abi_counter));
        } else {
            ac.push(time(ops, abi_counter));
            rc.push(time(ops, rust_counter));
        }
    }
    rets_buf_free(out);
    owner.close();
    vec![
        Row {
            op: "lookup",
            rust: rl,
            abi: al,
            rust_key: Some(kl),
        },
        Row {
            op: "lookup A/A",
            rust: aa1,
            abi: aa2,
            rust_key: None,
        },
        Row {
            op: "insert",
            rust: ri,
            abi: ai,
            rust_key: None,
        },
        Row {
            op: "update_counter",
            rust: rc,
            abi: ac,
            rust_key: None,
        },
    ]
}

fn main() {
    // `cargo bench` passes --bench; a plain run of the binary with --test (cargo test
    // --benches) does one quick pass.
    let quick = std::env::args().any(|a| a == "--test");
    let sizes: Vec<usize> = std::env::var("RETS_BENCH_KEYS")
        .unwrap_or_else(|_| "10000,1000000".into())
        .split(',')
        .map(|s| s.trim().parse().expect("RETS_BENCH_KEYS: numbers"))
        .collect();
    let ops: usize = std::env::var("RETS_BENCH_OPS")
        .map(|s| s.parse().expect("RETS_BENCH_OPS: a number"))
        .unwrap_or(200_000);
    let (sizes, ops, rounds) = if quick {
        (vec![1000], 2000, 1)
    } else {
        (sizes, ops, 11)
    };
    println!(
        "C ABI overhead over the Rust API (1 thread; medians of {rounds} rounds of {ops} ops; \
         C/Rust is the median of the per-round ratios)"
    );
    println!(
        "{:>9} {:<15} {:>11} {:>11} {:>9} {:>17}",
        "keys", "op", "Rust ns/op", "C ns/op", "C/Rust", "Rust+Key ns/op"
    );
    for keys in sizes {
        for row in run(keys, ops, rounds) {
            println!(
                "{:>9} {:<15} {:>11.1} {:>11.1} {:>9.3} {:>17}",
                keys,
                row.op,
                median(row.rust.clone()),
                median(row.abi.clone()),
                row.ratio(),
                row.rust_key
                    .as_ref()
                    .map_or("-".into(), |k| format!("{:.1}", median(k.clone()))),
            );
        }
    }
}
