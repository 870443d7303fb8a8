//! The cache layer against moka and quick_cache, side by side in one run:
//!
//! 1. hit ratio on the same request streams at three cache sizes each: Zipf traces (skew 0.8
//!    and 1.0) and the recorded traces in `../shared/traces` (ARC's OLTP and P3, Twitter's
//!    cluster 52), read at bench time (set `RETS_TRACES` to read them elsewhere); a plain LRU
//!    replays them too, and is checked against the reference values of the traces' README;
//! 2. get (hit) throughput at 1 and 2 threads;
//! 3. memory per cached entry (bytes allocated, counted by this binary's allocator);
//! 4. the cost of a sweep of expired objects (what the background sweeper pays).
//!
//! Every cache replays a request as "get; on a miss, insert". Output: markdown tables on
//! stdout (BENCHMARKS.md takes them as they are), progress on stderr. Run with
//! `cargo bench -p rets-core --bench cache` (`-- --quick` for a shorter run, `-- --hit-ratio`
//! for the hit ratios alone).

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Barrier;
use std::time::Instant;

use rets_core::{Eviction, Owner, Table, TableOptions, TableType, Term};

// ---------------------------------------------------------------------------------------------
// Allocation counting (for memory per entry).

struct Counting;

static ALLOCATED: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        ALLOCATED.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATED.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

// ---------------------------------------------------------------------------------------------
// Request streams.

/// xorshift64*: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `requests` keys drawn from `keys` keys with Zipf skew `s` (rank 1 most popular), ranks
/// scattered over the key space so that a hash order does not follow popularity.
fn zipf(keys: usize, s: f64, requests: usize, seed: u64) -> Vec<u64> {
    let mut cdf = Vec::with_capacity(keys);
    let mut total = 0.0;
    for rank in 1..=keys {
        total += 1.0 / (rank as f64).powf(s);
        cdf.push(total);
    }
    let mut rng = Rng(seed);
    (0..requests)
        .map(|_| {
            let u = rng.unit() * total;
            let rank = cdf.partition_point(|&c| c < u) as u64;
            rank.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        })
        .collect()
}

fn traces_dir() -> PathBuf {
    match std::env::var_os("RETS_TRACES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/traces"),
    }
}

fn read_zst(name: &str) -> Option<String> {
    let path = traces_dir().join(name);
    let file = std::fs::File::open(&path).ok()?;
    let bytes = zstd::decode_all(file).expect("a zstd trace");
    Some(String::from_utf8(bytes).expect("a text trace"))
}

/// ARC's format: `start count _ reqno` stands for blocks start..start+count.
fn arc_trace(name: &str) -> Option<Vec<u64>> {
    let text = read_zst(name)?;
    let mut out = Vec::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (Some(start), Some(count)) = (f.next(), f.next()) else {
            continue;
        };
        let start: u64 = start.parse().expect("a block number");
        let count: u64 = count.parse().expect("a block count");
        out.extend(start..start + count);
    }
    Some(out)
}

/// One id per line.
fn id_trace(name: &str) -> Option<Vec<u64>> {
    let text = read_zst(name)?;
    Some(
        text.lines()
            .filter(|l| !l.is_empty())
            .map(|l| l.trim().parse().expect("an id"))
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------------
// Caches under test.

trait Replay {
    const NAME: &'static str;
    fn new(capacity: usize) -> Self;
    /// Get `key`; on a miss, insert it. Returns whether it hit.
    fn request(&mut self, key: u64) -> bool;
}

struct Lru {
    capacity: usize,
    stamp: u64,
    at: HashMap<u64, u64>,
    order: BTreeMap<u64, u64>,
}

impl Replay for Lru {
    const NAME: &'static str = "LRU (reference)";
    fn new(capacity: usize) -> Lru {
        Lru {
            capacity,
            stamp: 0,
            at: HashMap::new(),
            order: BTreeMap::new(),
        }
    }
    fn request(&mut self, key: u64) -> bool {
        self.stamp += 1;
        let hit = match self.at.insert(key, self.stamp) {
            Some(old) => {
                self.order.remove(&old);
                true
            }
            None => false,
        };
        self.order.insert(self.stamp, key);
        if self.at.len() > self.capacity {
            let (_, victim) = self.order.pop_first().expect("not empty");
            self.at.remove(&victim);
        }
        hit
    }
}

/// A bounded rets table of one type with one eviction policy (`P` indexes [`POLICIES`]).
struct Rets<const P: usize> {
    _owner: Owner,
    table: Table,
}

/// The policies compared: the default first.
const POLICIES: [(&str, Eviction, TableType); 3] = [
    ("rets (S3-FIFO+SIEVE)", Eviction::S3Fifo, TableType::Set),
    (
        "rets ordered_set (S3-FIFO+SIEVE)",
        Eviction::S3Fifo,
        TableType::OrderedSet,
    ),
    ("rets (SIEVE)", Eviction::Sieve, TableType::Set),
];

impl<const P: usize> Replay for Rets<P> {
    const NAME: &'static str = POLICIES[P].0;
    fn new(capacity: usize) -> Self {
        let owner = Owner::new();
        let table = owner
            .new_table(
                "c",
                TableOptions::new()
                    .max_size(capacity)
                    .eviction(POLICIES[P].1)
                    .table_type(POLICIES[P].2),
            )
            .unwrap();
        Rets {
            _owner: owner,
            table,
        }
    }
    fn request(&mut self, key: u64) -> bool {
        if self.table.member(key).unwrap() {
            return true;
        }
        self.table
            .insert(Term::Array(vec![Term::from(key)]))
            .unwrap();
        false
    }
}

struct Moka(moka::sync::Cache<u64, ()>);

impl Replay for Moka {
    const NAME: &'static str = "moka";
    fn new(capacity: usize) -> Moka {
        Moka(moka::sync::Cache::new(capacity as u64))
    }
    fn request(&mut self, key: u64) -> bool {
        if self.0.get(&key).is_some() {
            return true;
        }
        self.0.insert(key, ());
        false
    }
}

struct Quick(quick_cache::sync::Cache<u64, ()>);

impl Replay for Quick {
    const NAME: &'static str = "quick_cache";
    fn new(capacity: usize) -> Quick {
        Quick(quick_cache::sync::Cache::new(capacity))
    }
    fn request(&mut self, key: u64) -> bool {
        if self.0.get(&key).is_some() {
            return true;
        }
        self.0.insert(key, ());
        false
    }
}

fn hit_ratio<C: Replay>(trace: &[u64], capacity: usize) -> f64 {
    let mut cache = C::new(capacity);
    let hits = trace.iter().filter(|&&k| cache.request(k)).count();
    hits as f64 / trace.len() as f64
}

// ---------------------------------------------------------------------------------------------
// Get (hit) throughput.

/// Millions of hits per second over `threads` threads, each doing `ops` random gets of present
/// keys.
fn throughput(threads: usize, ops: usize, keys: u64, get: &(dyn Fn(u64) -> bool + Sync)) -> f64 {
    let barrier = Barrier::new(threads + 1);
    let elapsed = std::thread::scope(|s| {
        for t in 0..threads {
            let barrier = &barrier;
            s.spawn(move || {
                let mut rng = Rng(0x1234_5678 + t as u64);
                barrier.wait();
                let mut hits = 0usize;
                for _ in 0..ops {
                    hits += get(rng.next() % keys) as usize;
                }
                assert_eq!(hits, ops, "every get hits");
            });
        }
        barrier.wait();
        Instant::now()
    })
    .elapsed();
    (threads * ops) as f64 / elapsed.as_secs_f64() / 1e6
}

/// A recorded trace: its name, its requests if found, three cache sizes.
type RecordedTrace = (&'static str, Option<Vec<u64>>, [usize; 3]);

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // Memory per entry is counted by this binary's allocator, which must then see rets's node
    // blocks too: the node pool takes them from it, not from mimalloc (`storage::pool`).
    std::env::set_var("RETS_NODE_POOL", "global");
    let quick = std::env::args().any(|a| a == "--quick");
    let hit_ratio_only = std::env::args().any(|a| a == "--hit-ratio");

    // 1. Hit ratio.
    let requests = if quick { 200_000 } else { 1_000_000 };
    let mut traces: Vec<(String, Vec<u64>, [usize; 3])> = vec![
        (
            "Zipf 0.8 (100k keys)".into(),
            zipf(100_000, 0.8, requests, 1),
            [1_000, 10_000, 25_000],
        ),
        (
            "Zipf 1.0 (100k keys)".into(),
            zipf(100_000, 1.0, requests, 2),
            [1_000, 10_000, 25_000],
        ),
    ];
    let recorded: [RecordedTrace; 3] = [
        (
            "ARC OLTP",
            arc_trace("OLTP.lis.zst"),
            [1_000, 2_000, 10_000],
        ),
        (
            "Twitter cluster 52",
            id_trace("twitter_cluster52.ids.zst"),
            [1_435, 14_354, 50_000],
        ),
        ("ARC P3", arc_trace("P3.lis.zst"), [12_500, 50_000, 200_000]),
    ];
    let mut missing = Vec::new();
    for (name, trace, sizes) in recorded {
        match trace {
            Some(mut t) => {
                if quick {
                    t.truncate(requests);
                }
                traces.push((name.into(), t, sizes));
            }
            None => {
                eprintln!("{name}: not found in {}", traces_dir().display());
                missing.push(name);
            }
        }
    }
    println!("### Hit ratio (get, insert on a miss)\n");
    // Said in the report itself: a table without them reads as complete.
    if !missing.is_empty() {
        println!(
            "**Recorded traces not found in `{}`, left out: {}.** They live beside the \
             repository (`../shared/traces`); a clone elsewhere needs `RETS_TRACES=<dir>`.\n",
            traces_dir().display(),
            missing.join(", ")
        );
    }
    println!(
        "| trace | requests | cache size | {} | {} | {} | {} | {} | {} |",
        Rets::<0>::NAME,
        Rets::<1>::NAME,
        Rets::<2>::NAME,
        Moka::NAME,
        Quick::NAME,
        Lru::NAME
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (name, trace, sizes) in &traces {
        for &size in sizes {
            eprintln!("hit ratio: {name} at {size}");
            let lru = hit_ratio::<Lru>(trace, size);
            let rets = hit_ratio::<Rets<0>>(trace, size);
            let ordered = hit_ratio::<Rets<1>>(trace, size);
            let sieve = hit_ratio::<Rets<2>>(trace, size);
            let moka = hit_ratio::<Moka>(trace, size);
            let quick_cache = hit_ratio::<Quick>(trace, size);
            println!(
                "| {name} | {} | {size} | {rets:.4} | {ordered:.4} | {sieve:.4} | {moka:.4} | {quick_cache:.4} | {lru:.4} |",
                trace.len()
            );
            // The simulator check: a plain LRU gives the README's values exactly.
            let reference = match (name.as_str(), size, quick) {
                ("ARC OLTP", 1_000, false) => Some(0.3283),
                ("ARC OLTP", 2_000, false) => Some(0.4247),
                ("Twitter cluster 52", 1_435, false) => Some(0.6624),
                ("Twitter cluster 52", 14_354, false) => Some(0.7932),
                _ => None,
            };
            if let Some(r) = reference {
                assert!(
                    (lru - r).abs() < 0.00005,
                    "{name} at {size}: LRU {lru:.4}, reference {r}: the trace is not read right"
                );
            }
        }
    }

    if hit_ratio_only {
        return;
    }

    // 2. Get (hit) throughput.
    let keys = 10_000u64;
    let ops = if quick { 300_000 } else { 2_000_000 };
    let reps = if quick { 1 } else { 5 };
    let owner = Owner::new();
    let table = owner
        .new_table(
            "t",
            TableOptions::new().public().max_size(2 * keys as usize),
        )
        .unwrap();
    let moka = moka::sync::Cache::<u64, [u8; 16]>::new(2 * keys);
    let quick_cache = quick_cache::sync::Cache::<u64, [u8; 16]>::new(2 * keys as usize);
    for k in 0..keys {
        table
            .insert(Term::Array(vec![Term::from(k), Term::Bin(vec![7; 16])]))
            .unwrap();
        moka.insert(k, [7; 16]);
        quick_cache.insert(k, [7; 16]);
    }
    moka.run_pending_tasks();
    let rets_get = |k: u64| {
        table
            .lookup_with(k, |mut o| {
                o.next().map(|o| black_box(o.as_msgpack()[0])).is_some()
            })
            .unwrap()
    };
    let moka_get = |k: u64| black_box(moka.get(&k)).is_some();
    let quick_get = |k: u64| black_box(quick_cache.get(&k)).is_some();
    println!("\n### Get (hit) throughput, {keys} keys, millions of gets per second\n");
    println!("| threads | rets (bounded table) | moka | quick_cache | rets / moka |");
    println!("|---:|---:|---:|---:|---:|");
    for threads in [1, 2] {
        eprintln!("get throughput: {threads} thread(s)");
        let r = median(
            (0..reps)
                .map(|_| throughput(threads, ops, keys, &rets_get))
                .collect(),
        );
        let m = median(
            (0..reps)
                .map(|_| throughput(threads, ops, keys, &moka_get))
                .collect(),
        );
        let q = median(
            (0..reps)
                .map(|_| throughput(threads, ops, keys, &quick_get))
                .collect(),
        );
        println!("| {threads} | {r:.1} | {m:.1} | {q:.1} | {:.2} |", r / m);
    }
    drop((table, moka, quick_cache));

    // 3. Memory per cached entry.
    let n = if quick { 20_000 } else { 100_000 };
    let before = ALLOCATED.load(Ordering::Relaxed);
    let owner = Owner::new();
    let table = owner
        .new_table("m", TableOptions::new().max_size(2 * n))
        .unwrap();
    for k in 0..n as u64 {
        table
            .insert(Term::Array(vec![Term::from(k), Term::Bin(vec![7; 16])]))
            .unwrap();
    }
    let rets_bytes = (ALLOCATED.load(Ordering::Relaxed) - before) as f64 / n as f64;
    let rets_info = table.memory().unwrap() as f64 / n as f64;
    drop(table);
    drop(owner);
    let before = ALLOCATED.load(Ordering::Relaxed);
    let moka = moka::sync::Cache::<u64, [u8; 16]>::new(2 * n as u64);
    for k in 0..n as u64 {
        moka.insert(k, [7; 16]);
    }
    moka.run_pending_tasks();
    let moka_bytes = (ALLOCATED.load(Ordering::Relaxed) - before) as f64 / n as f64;
    drop(moka);
    let before = ALLOCATED.load(Ordering::Relaxed);
    let quick_cache = quick_cache::sync::Cache::<u64, [u8; 16]>::new(2 * n);
    for k in 0..n as u64 {
        quick_cache.insert(k, [7; 16]);
    }
    let quick_bytes = (ALLOCATED.load(Ordering::Relaxed) - before) as f64 / n as f64;
    drop(quick_cache);
    println!("\n### Memory per cached entry ({n} entries: a u64 key, a 16-byte value)\n");
    println!("| | rets | moka | quick_cache |");
    println!("|---|---:|---:|---:|");
    println!(
        "| bytes allocated per entry | {rets_bytes:.0} | {moka_bytes:.0} | {quick_bytes:.0} |"
    );
    println!("| rets `memory` per entry | {rets_info:.0} | | |");

    // 4. The cost of a sweep (what the background sweeper does once a second per table with
    //    lifetimes): a scan with nothing expired, and the removal of everything.
    let n = if quick { 100_000 } else { 1_000_000 };
    let clock = rets_core::ManualClock::new();
    let owner = Owner::new();
    let table = owner
        .new_table(
            "sweep",
            TableOptions::new()
                .public()
                .clock(clock.clone())
                .ttl(std::time::Duration::from_secs(60)),
        )
        .unwrap();
    for k in 0..n as u64 {
        table
            .insert(Term::Array(vec![Term::from(k), Term::Bin(vec![7; 16])]))
            .unwrap();
    }
    let scan = Instant::now();
    assert_eq!(table.purge_expired().unwrap(), 0);
    let scan = scan.elapsed();
    clock.advance(std::time::Duration::from_secs(60));
    let purge = Instant::now();
    assert_eq!(table.purge_expired().unwrap(), n);
    let purge = purge.elapsed();
    println!("\n### Sweep cost ({n} objects)\n");
    println!("| sweep | total | per object |");
    println!("|---|---:|---:|");
    println!(
        "| nothing expired (scan) | {:.1} ms | {:.1} ns |",
        scan.as_secs_f64() * 1e3,
        scan.as_secs_f64() * 1e9 / n as f64
    );
    println!(
        "| everything expired (remove) | {:.1} ms | {:.1} ns |",
        purge.as_secs_f64() * 1e3,
        purge.as_secs_f64() * 1e9 / n as f64
    );
}
