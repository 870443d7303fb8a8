//! update_counter on one and on two threads, as `benches/maps.rs`'s `ets` section runs it
//! (objects `[K, 0, ["v", K]]`, `Table::update_counter(K, 1)` of random present keys, a public
//! table with read and write concurrency), in seconds rather than the section's minutes, to
//! find out what two threads pay that one does not:
//!
//! ```sh
//! cargo run --release -p rets-core --example counter_scaling -- set 10000
//! ```
//!
//! Prints Mops/s for 1 and 2 threads (the median of the repetitions) and their ratio.
//! Arguments: table type (`set` or `ordered_set`), keys, operations per thread (default
//! 2,000,000), repetitions (default 5), and the thread counts each repetition runs in order
//! (default `1,2`; `2` alone for a profiler). `count N` instead runs N updates on one thread of a
//! 10k-key set (`count N ordered_set`: an ordered_set) and prints nothing, for callgrind: the difference between two counts, divided,
//! is the instructions of one update_counter (setup cancels):
//!
//! ```sh
//! cargo build --release -p rets-core --example counter_scaling
//! for n in 100000 200000; do valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!   target/release/examples/counter_scaling count $n 2>&1 | grep refs; done
//! ```

use std::sync::Barrier;
use std::time::Instant;

use rets_core::{Msgpack, Owner, Table, TableOptions};

/// splitmix64, as the benchmark's.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        ((u128::from(z) * u128::from(n)) >> 64) as u64
    }
}

/// A filled table of `keys` objects `[K, 0, ["v", K]]`.
fn filled(owner: &Owner, ordered: bool, keys: u64) -> Table {
    let options = TableOptions::new().public();
    let options = if ordered {
        options.ordered_set()
    } else {
        options.set()
    };
    let table = owner
        .new_table(
            "counters",
            options.read_concurrency(true).write_concurrency(true),
        )
        .unwrap();
    let mut buf = Vec::new();
    for k in 0..keys {
        buf.clear();
        rmp::encode::write_array_len(&mut buf, 3).unwrap();
        rmp::encode::write_uint(&mut buf, k).unwrap();
        rmp::encode::write_uint(&mut buf, 0).unwrap();
        rmp::encode::write_array_len(&mut buf, 2).unwrap();
        rmp::encode::write_str(&mut buf, "v").unwrap();
        rmp::encode::write_uint(&mut buf, k).unwrap();
        table.insert(Msgpack(&buf)).unwrap();
    }
    table
}

/// Nanoseconds this thread has run on a CPU (the scheduler's count, in
/// `/proc/thread-self/schedstat`; 0 where there is none).
fn cpu_nanos() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// One run of `threads` threads each doing `ops` updates of random keys: Mops/s (wall clock),
/// and CPU nanoseconds per update (each thread's own running time, summed: unlike the wall
/// clock, it does not count the time another process held the CPU, so it shows what sharing the
/// table costs even on a machine that is not quiet).
fn run(table: &Table, keys: u64, threads: usize, ops: u64, seed: u64) -> (f64, f64) {
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                s.spawn(move || {
                    let mut rng = Rng::new(seed * 64 + t as u64);
                    barrier.wait();
                    let cpu = cpu_nanos();
                    for _ in 0..ops {
                        table.update_counter(rng.below(keys), 1).unwrap();
                    }
                    let cpu = cpu_nanos() - cpu;
                    barrier.wait();
                    cpu
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        barrier.wait();
        let mops = (threads as u64 * ops) as f64 / start.elapsed().as_secs_f64() / 1e6;
        let cpu: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
        (mops, cpu as f64 / (threads as u64 * ops) as f64)
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: u64| args.get(i).map_or(default, |a| a.parse().unwrap());
    let owner = Owner::new();
    if args.first().map(String::as_str) == Some("count") {
        let ordered = args.get(2).map(String::as_str) == Some("ordered_set");
        let table = filled(&owner, ordered, 10_000);
        let mut rng = Rng::new(1);
        for _ in 0..arg(1, 100_000) {
            table.update_counter(rng.below(10_000), 1).unwrap();
        }
        return;
    }
    let ordered = match args.first().map_or("set", String::as_str) {
        "set" => false,
        "ordered_set" => true,
        other => panic!("unknown table type {other:?}: set or ordered_set"),
    };
    let (keys, ops, reps) = (arg(1, 10_000), arg(2, 2_000_000), arg(3, 5));
    let table = filled(&owner, ordered, keys);
    // Each repetition runs the thread counts in this order, on the same table.
    let counts: Vec<usize> = args
        .get(4)
        .map_or("1,2", String::as_str)
        .split(',')
        .map(|c| c.parse().unwrap())
        .collect();
    let mut runs = vec![Vec::new(); counts.len()];
    for rep in 0..reps {
        for (i, &threads) in counts.iter().enumerate() {
            runs[i].push(run(&table, keys, threads, ops, rep));
        }
    }
    let name = if ordered { "ordered_set" } else { "set" };
    let mut by_count = Vec::new();
    for (runs, &threads) in runs.iter().zip(&counts) {
        let mops = median(runs.iter().map(|r| r.0).collect());
        let cpu = median(runs.iter().map(|r| r.1).collect());
        println!("{name} {keys} keys {threads}T: {mops:.2} Mops/s, {cpu:.0} CPU ns/update");
        by_count.push((threads, mops, cpu));
    }
    let one = by_count.iter().find(|r| r.0 == 1);
    let two = by_count.iter().find(|r| r.0 == 2);
    if let (Some(one), Some(two)) = (one, two) {
        println!(
            "2T/1T {:.2} (by CPU time per update: {:.2})",
            two.1 / one.1,
            2.0 * one.2 / two.2
        );
    }
}
