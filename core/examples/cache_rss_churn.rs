//! Resident memory of a table bounded by `max_memory` under churn: 2 threads insert objects
//! of 16 to 1024 bytes under random keys (a key space far larger than what fits, so most
//! inserts evict), while a third reads; every few seconds it prints the process's resident
//! set (RSS) against `max_memory`. The figures in docs/CACHE.md come from
//! `cargo run --release -p rets-core --example cache_rss_churn -- 120 64`
//! (seconds, max_memory in MiB).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rets_core::{Owner, TableOptions, Term};

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().map_or(60, |a| a.parse().expect("seconds"));
    let mib: usize = args.next().map_or(64, |a| a.parse().expect("MiB"));
    let max_memory = mib << 20;
    let baseline = rss_bytes();
    let owner = Owner::new();
    let table = owner
        .new_table("churn", TableOptions::new().public().max_memory(max_memory))
        .unwrap();
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let mut peak = 0usize;
    std::thread::scope(|s| {
        for w in 0..2u64 {
            let (table, stop) = (&table, &stop);
            s.spawn(move || {
                let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ w;
                while !stop.load(Ordering::Relaxed) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let len = 16 + (x >> 40) as usize % 1009;
                    let key = x % 10_000_000;
                    table
                        .insert(Term::Array(vec![Term::from(key), Term::Bin(vec![1; len])]))
                        .unwrap();
                }
            });
        }
        {
            let (table, stop) = (&table, &stop);
            s.spawn(move || {
                let mut k = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    k = k.wrapping_add(7_919) % 10_000_000;
                    let _ = table.member(k);
                }
            });
        }
        println!("seconds  objects  table memory  RSS above start  RSS / max_memory");
        while start.elapsed() < Duration::from_secs(seconds) {
            std::thread::sleep(Duration::from_secs(5));
            let rss = rss_bytes().saturating_sub(baseline);
            peak = peak.max(rss);
            println!(
                "{:7}  {:7}  {:9.1} MiB  {:11.1} MiB  {:.2}",
                start.elapsed().as_secs(),
                table.size().unwrap(),
                table.memory().unwrap() as f64 / (1 << 20) as f64,
                rss as f64 / (1 << 20) as f64,
                rss as f64 / max_memory as f64
            );
        }
        stop.store(true, Ordering::Relaxed);
    });
    let stats = table.cache_stats().unwrap();
    println!(
        "max_memory {mib} MiB: peak RSS above start {:.1} MiB ({:.2}x); {} evictions",
        peak as f64 / (1 << 20) as f64,
        peak as f64 / max_memory as f64,
        stats.evictions
    );
}
