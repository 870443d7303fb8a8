//! The cost of a read-through miss: `Table::get_or_load` on a key that is not cached (the loader
//! builds a 64-byte value and returns at once, so what is measured is the cache's own work: the
//! miss, the single-flight claim, the insert and the hand-over), side by side in one run with
//! a hand-written miss on the same table (lookup, then insert: no single-flight), moka's
//! `get_with` and quick_cache's `get_or_insert_with` (both single-flight too). Also the hit
//! path of `get_or_load` against a plain lookup and moka's `get`. One thread; median of
//! several runs, in nanoseconds per call. Run by `ci/bench` (`--quick` for a short run):
//!
//!   cargo bench -p rets-core --bench read_through [-- --quick]

use std::hint::black_box;
use std::time::Instant;

use rets_core::{tuple, Owner, Table, TableOptions, Term};

fn value(k: u64) -> Vec<u8> {
    let mut v = vec![0u8; 64];
    v[..8].copy_from_slice(&k.to_le_bytes());
    v
}

fn rets_table(owner: &Owner) -> Table {
    owner
        .new_table("bench", TableOptions::new().set().public())
        .unwrap()
}

/// A table deleted when the measurement drops it (the owner would keep it otherwise).
struct Scratch(Table);

impl Drop for Scratch {
    fn drop(&mut self) {
        self.0.delete_table().unwrap();
    }
}

fn scratch(owner: &Owner) -> Scratch {
    Scratch(rets_table(owner))
}

/// Nanoseconds per call of `run` over `n` fresh keys, with a fresh cache made by `setup`.
fn per_call<C>(n: u64, setup: impl Fn() -> C, run: impl Fn(&C, u64)) -> f64 {
    let cache = setup();
    let start = Instant::now();
    for k in 0..n {
        run(&cache, k);
    }
    let ns = start.elapsed().as_nanos() as f64 / n as f64;
    drop(black_box(cache));
    ns
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick" || a == "--test");
    let (n, reps) = if quick { (20_000, 3) } else { (200_000, 7) };
    let owner = Owner::new();

    let measure = |run: &dyn Fn() -> f64| median((0..reps).map(|_| run()).collect());

    let misses: Vec<(&str, f64)> = vec![
        (
            "rets get_or_load (single-flight)",
            measure(&|| {
                per_call(
                    n,
                    || scratch(&owner),
                    |Scratch(t), k| {
                        let o = t
                            .get_or_load(k, |_| Ok::<_, String>(tuple!(k, Term::bin(value(k)))))
                            .unwrap();
                        black_box(o);
                    },
                )
            }),
        ),
        (
            "rets lookup + insert (by hand, no single-flight)",
            measure(&|| {
                per_call(
                    n,
                    || scratch(&owner),
                    |Scratch(t), k| {
                        if t.lookup(k).unwrap().is_empty() {
                            t.insert(tuple!(k, Term::bin(value(k)))).unwrap();
                        }
                        black_box(t.lookup(k).unwrap());
                    },
                )
            }),
        ),
        (
            "moka sync::Cache::get_with",
            measure(&|| {
                per_call(
                    n,
                    || moka::sync::Cache::<u64, Vec<u8>>::new(4 * n),
                    |c, k| {
                        black_box(c.get_with(k, || value(k)));
                    },
                )
            }),
        ),
        (
            "quick_cache sync::Cache::get_or_insert_with",
            measure(&|| {
                per_call(
                    n,
                    || quick_cache::sync::Cache::<u64, Vec<u8>>::new(4 * n as usize),
                    |c, k| {
                        let v = c.get_or_insert_with(&k, || Ok::<_, ()>(value(k))).unwrap();
                        black_box(v);
                    },
                )
            }),
        ),
    ];

    // Hits: the same keys again, on a filled cache.
    let filled = rets_table(&owner);
    let moka_filled = moka::sync::Cache::<u64, Vec<u8>>::new(4 * n);
    for k in 0..n {
        filled.insert(tuple!(k, Term::bin(value(k)))).unwrap();
        moka_filled.insert(k, value(k));
    }
    let hits: Vec<(&str, f64)> = vec![
        (
            "rets get_or_load, hit",
            measure(&|| {
                per_call(
                    n,
                    || (),
                    |_, k| {
                        let o = filled
                            .get_or_load(k, |_| Err::<Term, _>("a hit never loads"))
                            .unwrap();
                        black_box(o);
                    },
                )
            }),
        ),
        (
            "rets lookup, hit",
            measure(&|| {
                per_call(
                    n,
                    || (),
                    |_, k| {
                        black_box(filled.lookup(k).unwrap());
                    },
                )
            }),
        ),
        (
            "moka sync::Cache::get, hit",
            measure(&|| {
                per_call(
                    n,
                    || (),
                    |_, k| {
                        black_box(moka_filled.get(&k));
                    },
                )
            }),
        ),
    ];

    println!(
        "read-through, one thread, {n} distinct u64 keys, 64-byte values, median of {reps} runs"
    );
    println!("(the loader returns at once: the figures are the cache's own work per call)");
    println!();
    println!(
        "{:<50} {:>12}",
        "miss: load and store a key not cached", "ns/call"
    );
    for (name, ns) in &misses {
        println!("{name:<50} {ns:>12.0}");
    }
    println!();
    println!("{:<50} {:>12}", "hit: the same keys, cached", "ns/call");
    for (name, ns) in &hits {
        println!("{name:<50} {ns:>12.0}");
    }
    let rets_miss = misses[0].1;
    println!();
    println!(
        "get_or_load miss / hand-written miss: {:.2}x; / moka get_with: {:.2}x; / quick_cache: {:.2}x",
        rets_miss / misses[1].1,
        rets_miss / misses[2].1,
        rets_miss / misses[3].1
    );
}
