//! rets against the Rust concurrent maps, and rets on the operations the ETS benchmark
//! (`ets_bench.escript`) runs. Driven by `ci/bench`, which compares the two outputs and writes
//! BENCHMARKS.md; run alone with `cargo bench -p rets-core --bench maps -- [--quick]`.
//!
//! Every workload is written once, against the small [`Map`]/[`Handle`] traits, with one adapter
//! per map. Keys are `u64`; the peers store a `[u8; 16]` value under each key, rets stores the
//! object `[Key, <<16 bytes>>]` (a set, or an ordered_set). Peers use the same hasher as rets
//! (foldhash, quality). Each figure is the median of several short runs, in millions of
//! operations per second over all threads (wall clock, from a barrier to the last thread's end).
//!
//! Output: one `R\t<section>\t<workload>\t<map>\t<size>\t<threads>\t<value>` line per figure
//! (tab-separated, for `ci/bench_report.py`), and human-readable progress on stderr.

use std::cell::Cell;
use std::hint::black_box;
use std::ops::Bound;
use std::sync::{Barrier, OnceLock};
use std::time::{Duration, Instant};

use crossbeam_skiplist::SkipMap;
use dashmap::DashMap;
use rets_core::{Msgpack, Owner, Pinned, Table, TableOptions, Term};

type Hasher = foldhash::quality::RandomState;
type Value = [u8; 16];
const VALUE: Value = [7; 16];

// ---------------------------------------------------------------------------------------------
// Configuration

struct Config {
    quick: bool,
    sizes: Vec<usize>,
    threads: Vec<usize>,
    /// Repetitions of each measurement (the median is reported).
    reps: usize,
    /// Operations per thread for lookups, counters and the like.
    ops_per_thread: usize,
    /// Total operations of one run of a ReadHeavy or Exchange mix.
    mix_ops: usize,
    /// Range scans per thread (each of [`SCAN_LEN`] keys).
    scans_per_thread: usize,
    /// Objects of the memory measurement.
    memory_objects: usize,
}

const SCAN_LEN: usize = 100;

impl Config {
    fn from_args() -> Config {
        let mut cfg = Config::preset();
        // ci/bench runs the `ets` section in rounds of one repetition, alternating with real
        // ETS's (so that both see the host's same stretches of time).
        if let Ok(reps) = std::env::var("RETS_BENCH_REPS") {
            cfg.reps = reps
                .parse()
                .expect("RETS_BENCH_REPS: a number of repetitions");
        }
        cfg
    }

    fn preset() -> Config {
        let quick = std::env::args().any(|a| a == "--quick");
        if quick {
            Config {
                quick,
                sizes: vec![10_000, 100_000],
                threads: vec![1, 2],
                reps: 1,
                ops_per_thread: 100_000,
                mix_ops: 100_000,
                scans_per_thread: 1_000,
                memory_objects: 100_000,
            }
        } else {
            Config {
                quick,
                sizes: vec![10_000, 1_000_000],
                threads: vec![1, 2],
                reps: 3,
                ops_per_thread: 1_000_000,
                mix_ops: 1_000_000,
                scans_per_thread: 10_000,
                memory_objects: 1_000_000,
            }
        }
    }
}

fn emit(section: &str, workload: &str, map: &str, size: usize, threads: usize, value: f64) {
    println!("R\t{section}\t{workload}\t{map}\t{size}\t{threads}\t{value:.4}");
    eprintln!("  {section:<7} {workload:<14} {map:<16} {size:>8} keys {threads}T  {value:>9.3}");
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

// ---------------------------------------------------------------------------------------------
// Timing

/// The time one thread may spend on one measurement: a thread stops early (and reports the
/// operations it did) once it is over, so slow maps do not stretch the run. Set once in `main`.
static BUDGET: OnceLock<Duration> = OnceLock::new();

/// A barrier that also starts its thread's clock.
struct Gate<'a> {
    barrier: &'a Barrier,
    start: Cell<Option<Instant>>,
}

impl Gate<'_> {
    /// Waits for every thread, then starts this thread's clock.
    fn wait(&self) {
        self.barrier.wait();
        self.start.set(Some(Instant::now()));
    }

    /// Whether this thread, having done `done` operations, is over its time budget (checked
    /// every 256 operations).
    fn over(&self, done: usize) -> bool {
        done % 256 == 0
            && done > 0
            && self
                .start
                .get()
                .is_some_and(|s| s.elapsed() >= *BUDGET.get().unwrap())
    }
}

/// Runs `work(thread index, gate)` on `threads` threads. Each thread does its setup, waits at
/// the gate, works, and returns how many operations it did. The time is from the first
/// thread's start after the gate to the last thread's end, each read by the worker itself (on
/// 2 cores the spawning thread may not run again until a worker is done). Returns Mops/s.
fn timed<F>(threads: usize, work: F) -> f64
where
    F: Fn(usize, &Gate) -> u64 + Sync,
{
    let (ops, elapsed) = timed_raw(threads, work);
    ops as f64 / elapsed.as_secs_f64() / 1e6
}

fn timed_raw<F>(threads: usize, work: F) -> (u64, Duration)
where
    F: Fn(usize, &Gate) -> u64 + Sync,
{
    let barrier = Barrier::new(threads);
    let runs: Vec<(u64, Instant, Instant)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (work, barrier) = (&work, &barrier);
                s.spawn(move || {
                    let gate = Gate {
                        barrier,
                        start: Cell::new(None),
                    };
                    let ops = work(t, &gate);
                    let end = Instant::now();
                    (ops, gate.start.get().expect("work waits at the gate"), end)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let start = runs.iter().map(|r| r.1).min().unwrap();
    let end = runs.iter().map(|r| r.2).max().unwrap();
    (runs.iter().map(|r| r.0).sum(), end - start)
}

// ---------------------------------------------------------------------------------------------
// Deterministic random numbers and key orders

/// SplitMix64: a fast, good-enough generator, seeded per thread.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x2545_f491_4f6c_dd1d)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n`.
    fn below(&mut self, n: usize) -> u64 {
        ((u128::from(self.next()) * n as u128) >> 64) as u64
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// A stride coprime with `n`, about 0.618 n: `i * stride mod n` visits `0..n` in a scattered
/// order (the ETS script uses the same rule).
fn stride(n: usize) -> u64 {
    let n = n as u64;
    let mut s = (n as f64 * 0.618_033_988_7) as u64 | 1;
    while gcd(s, n) != 1 {
        s += 2;
    }
    s
}

/// The keys `0..n` in a scattered order, the part for `thread` of `threads`.
fn scattered(n: usize, thread: usize, threads: usize) -> impl Iterator<Item = u64> {
    let s = stride(n);
    let (lo, hi) = (n * thread / threads, n * (thread + 1) / threads);
    (lo as u64..hi as u64).map(move |i| (i * s) % n as u64)
}

// ---------------------------------------------------------------------------------------------
// The maps

/// A concurrent map under test.
trait Map: Send + Sync + Sized {
    const NAME: &'static str;
    /// Hash maps are compared with hash maps, ordered maps with ordered maps.
    const ORDERED: bool;
    type Handle<'a>: Handle
    where
        Self: 'a;
    /// A second row of a map measured another way on reads only (rets's plain per-call API):
    /// the write-heavy mixes, whose writes are the same either way, are not run for it.
    const READS_ROW: bool = false;
    fn with_capacity(capacity: usize) -> Self;
    /// A per-thread handle (papaya pins its guard once per thread, as conc-map-bench does).
    fn handle(&self) -> Self::Handle<'_>;
}

/// Operations of one thread. `insert` is only called with keys that are absent.
trait Handle {
    fn get(&mut self, key: u64) -> bool;
    fn insert(&mut self, key: u64) -> bool;
    fn remove(&mut self, key: u64) -> bool;
    /// Replaces the value of `key` if it is present.
    fn update(&mut self, key: u64) -> bool;
    /// Visits up to `n` entries in key order from the first key `>= from`, reading each key and
    /// value; returns how many it visited.
    fn scan(&mut self, from: u64, n: usize) -> usize;
}

// ---- rets ----

/// A rets table (public, objects `[Key, <<16 bytes>>]`), through its public API: keys are plain
/// integers (`impl ToKey for u64`), objects are encoded once per insert as MessagePack
/// (the path the bindings take), updates replace element 2 (`update_element`). With `PINNED`,
/// each thread reads through a pin (`Table::pin`), as papaya's handle pins its guard, and
/// refreshes it every [`PIN_REFRESH`] operations so that what its writes retire is freed;
/// without, through the plain per-call API (the `-plain` rows).
struct Rets<const ORDERED: bool, const PINNED: bool> {
    _owner: Owner,
    table: Table,
}

/// Operations of a pinned rets handle between two refreshes of its pin.
const PIN_REFRESH: u32 = 1024;

struct RetsHandle<'a> {
    table: &'a Table,
    pin: Option<Pinned<'a>>,
    ops: u32,
    buf: Vec<u8>,
    update: [(usize, Term); 1],
}

fn encode_object(buf: &mut Vec<u8>, key: u64, value: &[u8]) {
    buf.clear();
    rmp::encode::write_array_len(buf, 2).unwrap();
    rmp::encode::write_uint(buf, key).unwrap();
    rmp::encode::write_bin(buf, value).unwrap();
}

fn rets_table(owner: &Owner, ordered: bool) -> Table {
    let options = TableOptions::new().public();
    let options = if ordered {
        options.ordered_set()
    } else {
        options.set()
    };
    owner
        .new_table(
            "bench",
            options.read_concurrency(true).write_concurrency(true),
        )
        .unwrap()
}

impl<const ORDERED: bool, const PINNED: bool> Map for Rets<ORDERED, PINNED> {
    const NAME: &'static str = match (ORDERED, PINNED) {
        (false, true) => "rets-set",
        (false, false) => "rets-set-plain",
        (true, true) => "rets-ordered",
        (true, false) => "rets-ordered-plain",
    };
    const ORDERED: bool = ORDERED;
    const READS_ROW: bool = !PINNED;
    type Handle<'a> = RetsHandle<'a>;
    fn with_capacity(_capacity: usize) -> Self {
        let owner = Owner::new();
        let table = rets_table(&owner, ORDERED);
        Rets {
            _owner: owner,
            table,
        }
    }
    fn handle(&self) -> RetsHandle<'_> {
        RetsHandle {
            table: &self.table,
            pin: PINNED.then(|| self.table.pin().unwrap()),
            ops: 0,
            buf: Vec::with_capacity(32),
            update: [(2, Term::Bin(vec![9; 16]))],
        }
    }
}

impl RetsHandle<'_> {
    /// Counts an operation; every [`PIN_REFRESH`] of them, refreshes the pin (if any).
    fn count(&mut self) {
        self.ops += 1;
        if self.ops == PIN_REFRESH {
            self.ops = 0;
            if let Some(pin) = &mut self.pin {
                pin.refresh();
            }
        }
    }
}

impl Handle for RetsHandle<'_> {
    fn get(&mut self, key: u64) -> bool {
        self.count();
        let first = |mut objects: rets_core::Objects<'_>| {
            objects.next().map(|o| o.as_msgpack()[0]).is_some()
        };
        match &self.pin {
            Some(pin) => pin.lookup_with(key, first).unwrap(),
            None => self.table.lookup_with(key, first).unwrap(),
        }
    }
    fn insert(&mut self, key: u64) -> bool {
        self.count();
        encode_object(&mut self.buf, key, &VALUE);
        self.table.insert(Msgpack(&self.buf)).unwrap();
        true
    }
    fn remove(&mut self, key: u64) -> bool {
        self.count();
        // `delete` does not say whether the key was there; the workload does not need it.
        self.table.delete(key).unwrap();
        true
    }
    fn update(&mut self, key: u64) -> bool {
        self.count();
        self.table.update_element(key, &self.update).unwrap()
    }
    fn scan(&mut self, from: u64, n: usize) -> usize {
        if self.pin.is_some() {
            // The next `n` keys from `from` in one chunk (one descent, each object read in
            // place inside the storage's pass), as the peers' `range(from..)` reads them under
            // a guard.
            let visited = self
                .table
                .chunk_with(Bound::Included(from), n, false, |key, mut objects| {
                    black_box((key, objects.next().map(|o| o.as_msgpack()[0])));
                })
                .unwrap();
            return visited;
        }
        // The range iterator (chunks of keys, one descent each, copied out so that no guard is
        // held between items); `next_ref` reads each object in the iterator's buffer.
        let mut objects = self.table.range(from..).unwrap();
        let mut visited = 0;
        while visited < n {
            let Some(object) = objects.next_ref() else {
                break;
            };
            let object = object.unwrap();
            black_box((object.key_msgpack(), object.as_msgpack()[0]));
            visited += 1;
        }
        visited
    }
}

// ---- dashmap ----

struct Dash(DashMap<u64, Value, Hasher>);

impl Map for Dash {
    const NAME: &'static str = "dashmap";
    const ORDERED: bool = false;
    type Handle<'a> = &'a Dash;
    fn with_capacity(capacity: usize) -> Self {
        Dash(DashMap::with_capacity_and_hasher(
            capacity,
            Hasher::default(),
        ))
    }
    fn handle(&self) -> &Dash {
        self
    }
}

impl Handle for &Dash {
    fn get(&mut self, key: u64) -> bool {
        self.0.get(&key).map(|v| v[0]).is_some()
    }
    fn insert(&mut self, key: u64) -> bool {
        self.0.insert(key, VALUE).is_none()
    }
    fn remove(&mut self, key: u64) -> bool {
        self.0.remove(&key).is_some()
    }
    fn update(&mut self, key: u64) -> bool {
        self.0.get_mut(&key).map(|mut v| *v = [9; 16]).is_some()
    }
    fn scan(&mut self, _from: u64, _n: usize) -> usize {
        unreachable!("hash map")
    }
}

// ---- papaya ----

struct Papaya(papaya::HashMap<u64, Value, Hasher>);

impl Map for Papaya {
    const NAME: &'static str = "papaya";
    const ORDERED: bool = false;
    type Handle<'a> = papaya::HashMapRef<'a, u64, Value, Hasher, papaya::LocalGuard<'a>>;
    fn with_capacity(capacity: usize) -> Self {
        Papaya(papaya::HashMap::with_capacity_and_hasher(
            capacity,
            Hasher::default(),
        ))
    }
    fn handle(&self) -> Self::Handle<'_> {
        self.0.pin()
    }
}

impl Handle for papaya::HashMapRef<'_, u64, Value, Hasher, papaya::LocalGuard<'_>> {
    fn get(&mut self, key: u64) -> bool {
        papaya::HashMapRef::get(self, &key).map(|v| v[0]).is_some()
    }
    fn insert(&mut self, key: u64) -> bool {
        papaya::HashMapRef::insert(self, key, VALUE).is_none()
    }
    fn remove(&mut self, key: u64) -> bool {
        papaya::HashMapRef::remove(self, &key).is_some()
    }
    fn update(&mut self, key: u64) -> bool {
        papaya::HashMapRef::update(self, key, |_| [9; 16]).is_some()
    }
    fn scan(&mut self, _from: u64, _n: usize) -> usize {
        unreachable!("hash map")
    }
}

// ---- scc HashMap ----

struct SccMap(scc::HashMap<u64, Value, Hasher>);

impl Map for SccMap {
    const NAME: &'static str = "scc-HashMap";
    const ORDERED: bool = false;
    type Handle<'a> = &'a SccMap;
    fn with_capacity(capacity: usize) -> Self {
        SccMap(scc::HashMap::with_capacity_and_hasher(
            capacity,
            Hasher::default(),
        ))
    }
    fn handle(&self) -> &SccMap {
        self
    }
}

impl Handle for &SccMap {
    fn get(&mut self, key: u64) -> bool {
        self.0.read_sync(&key, |_, v| v[0]).is_some()
    }
    fn insert(&mut self, key: u64) -> bool {
        self.0.insert_sync(key, VALUE).is_ok()
    }
    fn remove(&mut self, key: u64) -> bool {
        self.0.remove_sync(&key).is_some()
    }
    fn update(&mut self, key: u64) -> bool {
        self.0.update_sync(&key, |_, v| *v = [9; 16]).is_some()
    }
    fn scan(&mut self, _from: u64, _n: usize) -> usize {
        unreachable!("hash map")
    }
}

// ---- scc HashIndex ----

struct SccIndex(scc::HashIndex<u64, Value, Hasher>);

impl Map for SccIndex {
    const NAME: &'static str = "scc-HashIndex";
    const ORDERED: bool = false;
    type Handle<'a> = &'a SccIndex;
    fn with_capacity(capacity: usize) -> Self {
        SccIndex(scc::HashIndex::with_capacity_and_hasher(
            capacity,
            Hasher::default(),
        ))
    }
    fn handle(&self) -> &SccIndex {
        self
    }
}

impl Handle for &SccIndex {
    fn get(&mut self, key: u64) -> bool {
        self.0.peek_with(&key, |_, v| v[0]).is_some()
    }
    fn insert(&mut self, key: u64) -> bool {
        self.0.insert_sync(key, VALUE).is_ok()
    }
    fn remove(&mut self, key: u64) -> bool {
        self.0.remove_sync(&key)
    }
    fn update(&mut self, key: u64) -> bool {
        match self.0.entry_sync(key) {
            scc::hash_index::Entry::Occupied(mut o) => {
                o.update([9; 16]);
                true
            }
            scc::hash_index::Entry::Vacant(_) => false,
        }
    }
    fn scan(&mut self, _from: u64, _n: usize) -> usize {
        unreachable!("hash map")
    }
}

// ---- crossbeam SkipMap ----

struct Skip(SkipMap<u64, Value>);

impl Map for Skip {
    const NAME: &'static str = "SkipMap";
    const ORDERED: bool = true;
    type Handle<'a> = &'a Skip;
    fn with_capacity(_capacity: usize) -> Self {
        Skip(SkipMap::new())
    }
    fn handle(&self) -> &Skip {
        self
    }
}

impl Handle for &Skip {
    fn get(&mut self, key: u64) -> bool {
        self.0.get(&key).map(|e| e.value()[0]).is_some()
    }
    fn insert(&mut self, key: u64) -> bool {
        self.0.insert(key, VALUE);
        true
    }
    fn remove(&mut self, key: u64) -> bool {
        self.0.remove(&key).is_some()
    }
    fn update(&mut self, key: u64) -> bool {
        // SkipMap values are immutable: replace the entry if the key is present.
        if self.0.contains_key(&key) {
            self.0.insert(key, [9; 16]);
            true
        } else {
            false
        }
    }
    fn scan(&mut self, from: u64, n: usize) -> usize {
        self.0.range(from..).take(n).fold(0, |visited, e| {
            black_box((*e.key(), e.value()[0]));
            visited + 1
        })
    }
}

// ---- scc TreeIndex ----

struct Tree(scc::TreeIndex<u64, Value>);

impl Map for Tree {
    const NAME: &'static str = "scc-TreeIndex";
    const ORDERED: bool = true;
    type Handle<'a> = &'a Tree;
    fn with_capacity(_capacity: usize) -> Self {
        Tree(scc::TreeIndex::new())
    }
    fn handle(&self) -> &Tree {
        self
    }
}

impl Handle for &Tree {
    fn get(&mut self, key: u64) -> bool {
        self.0.peek_with(&key, |_, v| v[0]).is_some()
    }
    fn insert(&mut self, key: u64) -> bool {
        self.0.insert_sync(key, VALUE).is_ok()
    }
    fn remove(&mut self, key: u64) -> bool {
        self.0.remove_sync(&key)
    }
    fn update(&mut self, key: u64) -> bool {
        // TreeIndex values are immutable: replace the entry if the key is present.
        if self.0.contains(&key) {
            self.0.upsert_sync(key, [9; 16]);
            true
        } else {
            false
        }
    }
    fn scan(&mut self, from: u64, n: usize) -> usize {
        let guard = scc::Guard::new();
        self.0
            .range(from.., &guard)
            .take(n)
            .fold(0, |visited, (k, v)| {
                black_box((*k, v[0]));
                visited + 1
            })
    }
}

// ---------------------------------------------------------------------------------------------
// Workloads over any map

/// Fills a map with the keys `0..n` in a scattered order, on `threads` threads.
fn prefill_range<M: Map>(map: &M, n: usize, threads: usize) {
    timed(threads, |t, barrier| {
        let mut h = map.handle();
        barrier.wait();
        for k in scattered(n, t, threads) {
            h.insert(k);
        }
        0
    });
}

/// Random lookups of present keys.
fn lookups<M: Map>(map: &M, n: usize, threads: usize, ops: usize, rep: usize) -> f64 {
    timed(threads, |t, barrier| {
        let mut h = map.handle();
        let mut rng = Rng::new((rep * 64 + t) as u64 + 1);
        let (mut found, mut done) = (0u64, 0);
        barrier.wait();
        while done < ops && !barrier.over(done) {
            found += u64::from(h.get(rng.below(n)));
            done += 1;
        }
        assert_eq!(
            found,
            done as u64,
            "{}: a present key was not found",
            M::NAME
        );
        done as u64
    })
}

/// Range scans of [`SCAN_LEN`] keys from a random start; Mkeys/s.
fn scans<M: Map>(map: &M, n: usize, threads: usize, scans: usize, rep: usize) -> f64 {
    timed(threads, |t, barrier| {
        let mut h = map.handle();
        let mut rng = Rng::new((rep * 64 + t) as u64 + 7);
        let (mut visited, mut done) = (0, 0);
        barrier.wait();
        while done < scans && !barrier.over(done) {
            visited += h.scan(rng.below(n - SCAN_LEN), SCAN_LEN);
            done += 1;
        }
        assert_eq!(visited, done * SCAN_LEN, "{}: a short scan", M::NAME);
        visited as u64
    })
}

/// A conc-map-bench (bustle) operation mix, in percent.
#[derive(Clone, Copy)]
struct Mix {
    name: &'static str,
    read: u8,
    insert: u8,
    remove: u8,
    update: u8,
    prefill: f64,
}

const MIXES: [Mix; 3] = [
    Mix {
        name: "ReadHeavy",
        read: 98,
        insert: 1,
        remove: 1,
        update: 0,
        prefill: 0.75,
    },
    Mix {
        name: "Exchange",
        read: 10,
        insert: 40,
        remove: 40,
        update: 10,
        prefill: 0.75,
    },
    Mix {
        name: "RapidGrow",
        read: 5,
        insert: 80,
        remove: 5,
        update: 10,
        prefill: 0.0,
    },
];

#[derive(Clone, Copy)]
enum Op {
    Read,
    Insert,
    Remove,
    Update,
}

/// One run of a mix, as bustle runs it: each thread owns a sequence of random keys; it
/// prefills its share, then inserts the next key of its sequence, removes the oldest inserted
/// one, and reads or updates a key picked by an LCG over its whole sequence (so reads hit and
/// miss). The operations follow a shuffled 100-slot pattern of the mix. Returns Mops/s.
fn mix_run<M: Map>(mix: Mix, capacity: usize, total_ops: usize, threads: usize, seed: u64) -> f64 {
    let mut pattern: Vec<Op> = [
        (Op::Read, mix.read),
        (Op::Insert, mix.insert),
        (Op::Remove, mix.remove),
        (Op::Update, mix.update),
    ]
    .iter()
    .flat_map(|&(op, n)| std::iter::repeat_n(op, usize::from(n)))
    .collect();
    assert_eq!(pattern.len(), 100);
    let mut rng = Rng::new(seed);
    for i in (1..pattern.len()).rev() {
        pattern.swap(i, rng.below(i + 1) as usize);
    }

    let prefill = (capacity as f64 * mix.prefill) as usize;
    let max_inserts = total_ops.div_ceil(100) * usize::from(mix.insert);
    let keys_per_thread = (capacity.max(max_inserts) + prefill)
        .div_ceil(threads)
        .next_power_of_two();
    let prefill_per_thread = prefill / threads;
    let ops_per_thread = total_ops / threads;

    let keys: Vec<Vec<u64>> = (0..threads)
        .map(|t| {
            let mut rng = Rng::new(seed ^ (t as u64 + 1) << 32);
            (0..keys_per_thread).map(|_| rng.next()).collect()
        })
        .collect();
    let map = M::with_capacity(capacity);
    // Prefill, untimed.
    timed(threads, |t, barrier| {
        let mut h = map.handle();
        barrier.wait();
        for &k in &keys[t][..prefill_per_thread] {
            h.insert(k);
        }
        0
    });
    // The timed part.
    let mops = timed(threads, |t, barrier| {
        let keys = &keys[t];
        let mut h = map.handle();
        let n = keys.len();
        let (a, c, mask) = (n / 2 + 1, n / 4 - 1, n - 1);
        let (mut erase, mut insert, mut find) = (0usize, prefill_per_thread, 0usize);
        let (mut hits, mut done) = (0u64, ops_per_thread);
        barrier.wait();
        for (i, op) in pattern.iter().cycle().take(ops_per_thread).enumerate() {
            // RapidGrow runs to its end: it measures growing the map to its size.
            if mix.prefill > 0.0 && barrier.over(i) {
                done = i;
                break;
            }
            match op {
                Op::Read => {
                    hits += u64::from(h.get(keys[find]));
                    find = (a * find + c) & mask;
                }
                Op::Insert => {
                    h.insert(keys[insert]);
                    insert += 1;
                }
                Op::Remove => {
                    if erase == insert {
                        h.remove(keys[find]);
                        find = (a * find + c) & mask;
                    } else {
                        h.remove(keys[erase]);
                        erase += 1;
                    }
                }
                Op::Update => {
                    hits += u64::from(h.update(keys[find]));
                    find = (a * find + c) & mask;
                }
            }
        }
        black_box(hits);
        done as u64
    });
    drop(map);
    mops
}

// ---------------------------------------------------------------------------------------------
// Sections

/// One map of a section, behind a face that does not depend on its type, so that the maps of
/// a section can take turns (see [`section`]).
trait Peer {
    fn name(&self) -> &'static str;
    fn ordered(&self) -> bool;
    fn reads_row(&self) -> bool;
    /// Builds the map of `n` keys that lookups and scans share.
    fn fill(&mut self, n: usize);
    /// Drops that map.
    fn empty(&mut self);
    fn lookups(&self, n: usize, threads: usize, ops: usize, rep: usize) -> f64;
    fn scans(&self, n: usize, threads: usize, scans: usize, rep: usize) -> f64;
    fn mix(&self, mix: Mix, n: usize, ops: usize, threads: usize, seed: u64) -> f64;
}

struct PeerOf<M>(Option<M>);

impl<M: Map> PeerOf<M> {
    fn map(&self) -> &M {
        self.0.as_ref().expect("filled before lookups and scans")
    }
}

impl<M: Map> Peer for PeerOf<M> {
    fn name(&self) -> &'static str {
        M::NAME
    }
    fn ordered(&self) -> bool {
        M::ORDERED
    }
    fn reads_row(&self) -> bool {
        M::READS_ROW
    }
    fn fill(&mut self, n: usize) {
        let map = M::with_capacity(n);
        prefill_range(&map, n, 2);
        self.0 = Some(map);
    }
    fn empty(&mut self) {
        self.0 = None;
    }
    fn lookups(&self, n: usize, threads: usize, ops: usize, rep: usize) -> f64 {
        lookups(self.map(), n, threads, ops, rep)
    }
    fn scans(&self, n: usize, threads: usize, scans_per_thread: usize, rep: usize) -> f64 {
        scans(self.map(), n, threads, scans_per_thread, rep)
    }
    fn mix(&self, mix: Mix, n: usize, ops: usize, threads: usize, seed: u64) -> f64 {
        mix_run::<M>(mix, n, ops, threads, seed)
    }
}

fn peer<M: Map + 'static>() -> Box<dyn Peer> {
    Box::new(PeerOf::<M>(None))
}

/// Every cell (workload, size, threads) of every map of a section, each cell's repetitions
/// taken in turn across the maps (rets, peer, peer, ..., rets, peer, ...) rather than one
/// map's cells after another's: on the benchmark's host two threads run in one of two modes
/// about 3x apart, each lasting seconds to minutes (BENCHMARKS.md, *Two-thread figures on this
/// host come in two modes*), and a map measured wholly in one against a peer wholly in the
/// other would skew their ratio by as much. Turns spread each map's repetitions over the same
/// stretch of time; the medians do the rest.
fn section(cfg: &Config, peers: &mut [Box<dyn Peer>]) {
    for &n in &cfg.sizes {
        // Lookups and scans share one prefilled map per size and map.
        for p in peers.iter_mut() {
            p.fill(n);
        }
        for &threads in &cfg.threads {
            let ops = cfg.ops_per_thread;
            cell(peers, cfg.reps, "lookup", n, threads, |p, rep| {
                Some(p.lookups(n, threads, ops, rep))
            });
            let scans = cfg.scans_per_thread;
            cell(peers, cfg.reps, "scan100", n, threads, |p, rep| {
                p.ordered().then(|| p.scans(n, threads, scans, rep))
            });
        }
        for p in peers.iter_mut() {
            p.empty();
        }
        for mix in MIXES {
            for &threads in &cfg.threads {
                // RapidGrow grows an empty map to about `n` keys; the others run a fixed number
                // of operations on a map kept near 0.75 n keys. Short runs get more repetitions.
                let (ops, reps) = if mix.prefill == 0.0 {
                    let ops = n * 5 / 4;
                    (ops, (cfg.mix_ops / ops).clamp(cfg.reps, 15))
                } else {
                    (cfg.mix_ops, cfg.reps)
                };
                cell(peers, reps, mix.name, n, threads, |p, rep| {
                    // A reads-only row skips the write-heavy mixes.
                    (!(p.reads_row() && mix.read < 50))
                        .then(|| p.mix(mix, n, ops, threads, rep as u64 + 11))
                });
            }
        }
    }
}

/// One cell of every map that `measure` measures (it returns `None` for a map the workload is
/// not run on): `reps` rounds, each map once a round, then each map's median.
fn cell(
    peers: &[Box<dyn Peer>],
    reps: usize,
    workload: &str,
    n: usize,
    threads: usize,
    measure: impl Fn(&dyn Peer, usize) -> Option<f64>,
) {
    // RETS_BENCH_WORKLOADS=Exchange,lookup: only those cells (a quicker look at a few).
    if let Ok(only) = std::env::var("RETS_BENCH_WORKLOADS") {
        if !only.split(',').any(|w| w == workload) {
            return;
        }
    }
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); peers.len()];
    for rep in 0..reps {
        for (p, v) in peers.iter().zip(&mut values) {
            v.extend(measure(p.as_ref(), rep));
        }
    }
    for (p, v) in peers.iter().zip(values) {
        if !v.is_empty() {
            // Each repetition's figure too: the report pairs a map's with its peers' of the
            // same repetition (taken moments apart), whose ratio a change of this host's speed
            // between repetitions does not skew.
            for (rep, value) in v.iter().enumerate() {
                println!(
                    "P\tmaps\t{workload}\t{}\t{n}\t{threads}\t{rep}\t{value:.4}",
                    p.name()
                );
            }
            emit("maps", workload, p.name(), n, threads, median(v));
        }
    }
}

/// rets on the operations of the ETS benchmark, with ETS's objects `{K, 0, {"v", K}}`:
/// insert into an empty table, random lookups, update_counter.
fn ets_section(cfg: &Config) {
    for ordered in [false, true] {
        let name = if ordered { "ordered_set" } else { "set" };
        for &n in &cfg.sizes {
            let owner = Owner::new();
            for &threads in &cfg.threads {
                // insert: fresh tables; small sizes repeat the fill until about `ops_per_thread`
                // inserts have been timed.
                let rounds = (cfg.ops_per_thread / n).max(1);
                let v = median(
                    (0..cfg.reps)
                        .map(|_| {
                            let (mut ops, mut time) = (0u64, Duration::ZERO);
                            for _ in 0..rounds {
                                let table = rets_table(&owner, ordered);
                                let (o, t) = timed_raw(threads, |t, barrier| {
                                    let mut buf = Vec::with_capacity(32);
                                    barrier.wait();
                                    let mut count = 0;
                                    for k in scattered(n, t, threads) {
                                        encode_ets_object(&mut buf, k);
                                        table.insert(Msgpack(&buf)).unwrap();
                                        count += 1;
                                    }
                                    count
                                });
                                ops += o;
                                time += t;
                                table.delete_table().unwrap();
                            }
                            ops as f64 / time.as_secs_f64() / 1e6
                        })
                        .collect(),
                );
                emit("ets", "insert", name, n, threads, v);
            }
            // Lookups read objects as inserted; update_counter runs on a table of its own whose
            // objects are counters already (each updated once, untimed): a key's first
            // update_counter stores its object as changeable (a rebuild, about as costly as an
            // insert) and later ones change it in place, so on one shared table the first cell
            // to run (one thread) paid the rebuilds and the next did not, and the lookups after
            // it read changeable objects (copied out under their version, not borrowed).
            let table = rets_table(&owner, ordered);
            let counters = rets_table(&owner, ordered);
            let mut buf = Vec::new();
            for k in scattered(n, 0, 1) {
                encode_ets_object(&mut buf, k);
                table.insert(Msgpack(&buf)).unwrap();
                counters.insert(Msgpack(&buf)).unwrap();
                counters.update_counter(k, 0).unwrap();
            }
            for &threads in &cfg.threads {
                let ops = cfg.ops_per_thread;
                let v = median(
                    (0..cfg.reps)
                        .map(|rep| {
                            timed(threads, |t, barrier| {
                                let mut rng = Rng::new((rep * 64 + t) as u64 + 3);
                                let (mut sum, mut done) = (0usize, 0);
                                barrier.wait();
                                while done < ops && !barrier.over(done) {
                                    sum += table
                                        .lookup_with(rng.below(n), |objects| {
                                            objects.map(|o| o.as_msgpack().len()).sum::<usize>()
                                        })
                                        .unwrap();
                                    done += 1;
                                }
                                assert!(sum >= done);
                                done as u64
                            })
                        })
                        .collect(),
                );
                emit("ets", "lookup", name, n, threads, v);
                let v = median(
                    (0..cfg.reps)
                        .map(|rep| {
                            timed(threads, |t, barrier| {
                                let mut rng = Rng::new((rep * 64 + t) as u64 + 5);
                                let mut done = 0;
                                barrier.wait();
                                while done < ops && !barrier.over(done) {
                                    counters.update_counter(rng.below(n), 1).unwrap();
                                    done += 1;
                                }
                                done as u64
                            })
                        })
                        .collect(),
                );
                emit("ets", "update_counter", name, n, threads, v);
            }
        }
    }
}

/// `[K, 0, ["v", K]]`, ETS's `{K, 0, {v, K}}`.
fn encode_ets_object(buf: &mut Vec<u8>, key: u64) {
    buf.clear();
    rmp::encode::write_array_len(buf, 3).unwrap();
    rmp::encode::write_uint(buf, key).unwrap();
    rmp::encode::write_uint(buf, 0).unwrap();
    rmp::encode::write_array_len(buf, 2).unwrap();
    rmp::encode::write_str(buf, "v").unwrap();
    rmp::encode::write_uint(buf, key).unwrap();
}

/// Resident memory of this process, in bytes.
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Memory per object for objects `[<<16-byte key>>, <<64-byte value>>]`: what `info().memory`
/// reports, and the growth of the process's resident memory while filling (meaningful only
/// as the first thing a process does, which is how `ci/bench` runs it).
fn memory_section(cfg: &Config, ordered: bool) {
    let n = cfg.memory_objects;
    {
        let name = if ordered { "ordered_set" } else { "set" };
        let owner = Owner::new();
        let before = rss();
        let table = rets_table(&owner, ordered);
        let mut buf = Vec::with_capacity(96);
        let value = [0x5a_u8; 64];
        for i in 0..n as u64 {
            let mut key = [0u8; 16];
            key[..8].copy_from_slice(&(i * stride(n)).to_be_bytes());
            key[8..].copy_from_slice(&i.to_le_bytes());
            buf.clear();
            rmp::encode::write_array_len(&mut buf, 2).unwrap();
            rmp::encode::write_bin(&mut buf, &key).unwrap();
            rmp::encode::write_bin(&mut buf, &value).unwrap();
            table.insert(Msgpack(&buf)).unwrap();
        }
        let info = table.info().unwrap();
        assert_eq!(info.size, n);
        emit("memory", "info", name, n, 1, info.memory as f64 / n as f64);
        emit(
            "memory",
            "rss",
            name,
            n,
            1,
            rss().saturating_sub(before) as f64 / n as f64,
        );
        table.delete_table().unwrap();
    }
}

fn main() {
    let cfg = Config::from_args();
    BUDGET
        .set(Duration::from_millis(if cfg.quick { 50 } else { 500 }))
        .unwrap();
    // `cargo bench` passes `--bench`; other words select sections: memory (or memory-set,
    // memory-ordered_set), ets, hash, ordered. No word: all of them. RETS_BENCH_WORKLOADS
    // narrows the maps sections to some workloads (see `cell`).
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let want = |s: &str| only.is_empty() || only.iter().any(|o| o == s);
    let start = Instant::now();
    eprintln!(
        "maps bench ({}): sizes {:?}, threads {:?}, {} repetitions",
        if cfg.quick { "quick" } else { "full" },
        cfg.sizes,
        cfg.threads,
        cfg.reps
    );
    if want("memory") || want("memory-set") {
        memory_section(&cfg, false);
    }
    if want("memory") || want("memory-ordered_set") {
        memory_section(&cfg, true);
    }
    if want("ets") {
        ets_section(&cfg);
    }
    if want("hash") {
        section(
            &cfg,
            &mut [
                peer::<Rets<false, true>>(),
                peer::<Rets<false, false>>(),
                peer::<Dash>(),
                peer::<Papaya>(),
                peer::<SccMap>(),
                peer::<SccIndex>(),
            ],
        );
    }
    if want("ordered") {
        section(
            &cfg,
            &mut [
                peer::<Rets<true, true>>(),
                peer::<Rets<true, false>>(),
                peer::<Skip>(),
                peer::<Tree>(),
            ],
        );
    }
    eprintln!("maps bench done in {:.0?}", start.elapsed());
}
