//! The lesson's profile cache, over a real embedded database.
//!
//! SQLite (compiled in by rusqlite's `bundled` feature) holds 100,000 user profiles in a
//! temporary directory. A rets table, owned by an owner of its own (the lesson's supervised
//! process), caches them: `get_profile` reads through the cache with single-flight (a miss
//! queries SQLite once, however many threads ask, and writes the profile back), `put_profile`
//! and `delete_profile` write SQLite and invalidate the cached copy. The cache has a TTL and a
//! memory bound (`max_memory`), so it expires and evicts as it runs. Several threads then run a
//! skewed (Zipf) workload, and the program prints what it measured and what each figure means.
//!
//! Run: `cargo run --release -p rets-core --example profile_cache`

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use rets_core::{tuple, Error, Object, Owner, Table, TableOptions};

/// How long a cached profile lives: longer than the cold and warm phases (about a second each
/// here), so that the warm phase reads what the cold one cached; the run then waits it out to
/// show profiles expiring and being loaded again.
const TTL: Duration = Duration::from_secs(5);
/// How many of the most-read profiles the expiry step reads again after the TTL.
const EXPIRY_READS: usize = 100;
/// The memory bound of the cache: about a third of what all profiles would take.
const MAX_MEMORY: usize = 8 << 20;
use rusqlite::{params, Connection, OptionalExtension};

const USERS: i64 = 100_000;
const THREADS: usize = 4;
const OPS_PER_THREAD: usize = 100_000;
/// The Zipf exponent: about 1 for web traffic (a few users are most of the requests).
const ZIPF_S: f64 = 1.0;
const STAMPEDE_THREADS: usize = 32;

/// One user's profile, as SQLite stores it and as the cache holds it: the object
/// `{id, name, email, plan, bio}`.
#[derive(Debug, Clone, PartialEq)]
struct Profile {
    id: i64,
    name: String,
    email: String,
    plan: String,
    bio: String,
}

impl Profile {
    fn generated(id: i64) -> Profile {
        const PLANS: [&str; 3] = ["free", "pro", "team"];
        Profile {
            id,
            name: format!("User {id}"),
            email: format!("user{id}@example.com"),
            plan: PLANS[(id % 3) as usize].into(),
            bio: format!("Profile of user {id}. ").repeat(6),
        }
    }

    fn from_object(object: &Object) -> Profile {
        let text = |pos| {
            let term = object.element(pos).expect("a profile has five elements");
            term.as_str().expect("a text element").to_owned()
        };
        Profile {
            id: object.element(1).and_then(|t| t.as_i64()).expect("an id"),
            name: text(2),
            email: text(3),
            plan: text(4),
            bio: text(5),
        }
    }
}

/// The database: its file, and a count of the profile queries it answered.
struct Database {
    path: PathBuf,
    queries: AtomicU64,
}

impl Database {
    fn create(dir: &Path) -> rusqlite::Result<Database> {
        let path = dir.join("profiles.db");
        let mut conn = Connection::open(&path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE profiles (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
                                    email TEXT NOT NULL, plan TEXT NOT NULL, bio TEXT NOT NULL);",
        )?;
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare("INSERT INTO profiles VALUES (?1, ?2, ?3, ?4, ?5)")?;
            for id in 0..USERS {
                let p = Profile::generated(id);
                insert.execute(params![p.id, p.name, p.email, p.plan, p.bio])?;
            }
        }
        tx.commit()?;
        Ok(Database {
            path,
            queries: AtomicU64::new(0),
        })
    }

    /// A connection for one thread (SQLite connections are not shared between threads).
    fn connect(&self) -> rusqlite::Result<Source<'_>> {
        let conn = Connection::open(&self.path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Ok(Source { db: self, conn })
    }

    /// The profile with a count of the users on the same plan: a query that scans the table
    /// (milliseconds, like a report page's query, or a database across a network).
    fn fetch_slow(&self, src: &Source, id: i64) -> rusqlite::Result<Option<Profile>> {
        self.queries.fetch_add(1, Ordering::Relaxed);
        src.conn
            .prepare_cached(
                "SELECT id, name, email, plan, bio || ' ' || (SELECT count(*) FROM profiles q \
                 WHERE q.plan = p.plan AND q.bio LIKE '%user%') FROM profiles p WHERE id = ?1",
            )?
            .query_row([id], |row| {
                Ok(Profile {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    email: row.get(2)?,
                    plan: row.get(3)?,
                    bio: row.get(4)?,
                })
            })
            .optional()
    }

    fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }
}

/// One thread's connection to the database.
struct Source<'a> {
    db: &'a Database,
    conn: Connection,
}

impl Source<'_> {
    fn fetch(&self, id: i64) -> rusqlite::Result<Option<Profile>> {
        self.db.queries.fetch_add(1, Ordering::Relaxed);
        self.conn
            .prepare_cached("SELECT id, name, email, plan, bio FROM profiles WHERE id = ?1")?
            .query_row([id], |row| {
                Ok(Profile {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    email: row.get(2)?,
                    plan: row.get(3)?,
                    bio: row.get(4)?,
                })
            })
            .optional()
    }

    fn store(&self, p: &Profile) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached("INSERT OR REPLACE INTO profiles VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute(params![p.id, p.name, p.email, p.plan, p.bio])?;
        Ok(())
    }

    fn delete(&self, id: i64) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached("DELETE FROM profiles WHERE id = ?1")?
            .execute([id])?;
        Ok(())
    }
}

/// The cache: a table owned by its own owner.
struct ProfileCache {
    _owner: Owner,
    table: Table,
}

impl ProfileCache {
    fn new() -> Result<ProfileCache, Error> {
        let owner = Owner::new();
        let table = owner.new_table(
            "profiles",
            TableOptions::new()
                .set()
                .protected()
                .ttl(TTL)
                .max_memory(MAX_MEMORY),
        )?;
        Ok(ProfileCache {
            _owner: owner,
            table,
        })
    }

    /// The profile of `id`: from the cache, or (on a miss) from SQLite, written back to the
    /// cache. `None` for a user that does not exist (not cached: asking again queries again).
    fn get_profile(&self, src: &Source, id: i64) -> Result<Option<Profile>, Error> {
        self.get_profile_from(id, |id| src.fetch(id))
    }

    /// [`ProfileCache::get_profile`] with the query to run on a miss.
    fn get_profile_from(
        &self,
        id: i64,
        fetch: impl FnOnce(i64) -> rusqlite::Result<Option<Profile>>,
    ) -> Result<Option<Profile>, Error> {
        let loaded = self.table.get_or_load(id, |_| match fetch(id) {
            Ok(Some(p)) => Ok(tuple!(p.id, p.name, p.email, p.plan, p.bio)),
            Ok(None) => Err(format!("no user {id}")),
            Err(e) => Err(format!("SQLite: {e}")),
        });
        match loaded {
            Ok(object) => Ok(Some(Profile::from_object(&object))),
            Err(Error::LoadFailed { message }) if message.starts_with("no user") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes `p` to SQLite, then invalidates the cached copy (a load that read the old row
    /// while this ran does not cache it).
    fn put_profile(&self, src: &Source, p: &Profile) -> Result<(), Box<dyn std::error::Error>> {
        src.store(p)?;
        self.table.invalidate(p.id)?;
        Ok(())
    }

    fn delete_profile(&self, src: &Source, id: i64) -> Result<(), Box<dyn std::error::Error>> {
        src.delete(id)?;
        self.table.invalidate(id)?;
        Ok(())
    }
}

/// Zipf-distributed user ids: rank r (1-based) has weight 1/r^s; ranks map to ids through a
/// fixed shuffle, so the hot users are spread over the id space.
struct Zipf {
    cumulative: Vec<f64>,
    ids: Vec<i64>,
}

impl Zipf {
    fn new(n: i64, s: f64) -> Zipf {
        let mut total = 0.0;
        let cumulative = (1..=n)
            .map(|r| {
                total += 1.0 / (r as f64).powf(s);
                total
            })
            .collect::<Vec<_>>();
        let cumulative = cumulative.iter().map(|c| c / total).collect();
        let mut ids: Vec<i64> = (0..n).collect();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for i in (1..ids.len()).rev() {
            ids.swap(i, (rng.next() % (i as u64 + 1)) as usize);
        }
        Zipf { cumulative, ids }
    }

    fn sample(&self, rng: &mut Rng) -> i64 {
        let u = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
        let rank = self.cumulative.partition_point(|&c| c < u);
        self.ids[rank.min(self.ids.len() - 1)]
    }
}

/// xorshift64*: a fast, reproducible generator for the workload.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Latencies of one phase, in nanoseconds, from every thread.
struct Latencies(Vec<u64>);

impl Latencies {
    fn percentile(&self, p: f64) -> Duration {
        let i = ((self.0.len() as f64 * p) as usize).min(self.0.len() - 1);
        Duration::from_nanos(self.0[i])
    }

    fn line(&self, label: &str) -> String {
        format!(
            "  {label:<22} p50 {:>9.2?}   p99 {:>9.2?}   p99.9 {:>9.2?}",
            self.percentile(0.50),
            self.percentile(0.99),
            self.percentile(0.999)
        )
    }
}

/// Runs `op` on `THREADS` threads, each with its own SQLite connection and `OPS_PER_THREAD`
/// Zipf-distributed ids, and returns every operation's latency.
fn run_phase(db: &Database, zipf: &Zipf, seed: u64, op: impl Fn(&Source, i64) + Sync) -> Latencies {
    let mut all = thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let op = &op;
                s.spawn(move || {
                    let src = db.connect().expect("connect to SQLite");
                    let mut rng = Rng(seed ^ ((t as u64 + 1) * 0x1234_5678_9abc_def1));
                    let mut lat = Vec::with_capacity(OPS_PER_THREAD);
                    for _ in 0..OPS_PER_THREAD {
                        let id = zipf.sample(&mut rng);
                        let start = Instant::now();
                        op(&src, id);
                        lat.push(start.elapsed().as_nanos() as u64);
                    }
                    lat
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a worker panicked"))
            .collect::<Vec<_>>()
    });
    all.sort_unstable();
    Latencies(all)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let dir = std::env::temp_dir().join(format!("rets-profile-cache-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = demo(&dir, started);
    std::fs::remove_dir_all(&dir)?;
    result
}

fn demo(dir: &Path, started: Instant) -> Result<(), Box<dyn std::error::Error>> {
    let mut report = String::new();
    let db = Database::create(dir)?;
    let zipf = Zipf::new(USERS, ZIPF_S);
    writeln!(
        report,
        "rets profile cache: {USERS} profiles in SQLite ({}), {THREADS} threads x {OPS_PER_THREAD} \
         reads, Zipf s = {ZIPF_S}",
        db.path.display()
    )?;

    // 1. SQLite alone: every read is a query.
    let alone = run_phase(&db, &zipf, 1, |src, id| {
        src.fetch(id)
            .expect("query")
            .expect("every generated user exists");
    });

    // 2. Through the cache, cold then warm.
    let cache = ProfileCache::new()?;
    let get = |src: &Source, id| {
        cache
            .get_profile(src, id)
            .expect("get_profile")
            .expect("user exists");
    };
    let before = db.queries();
    let cold = run_phase(&db, &zipf, 2, get);
    let cold_queries = db.queries() - before;
    let before = db.queries();
    let warm = run_phase(&db, &zipf, 3, get);
    let warm_queries = db.queries() - before;
    let reads = (THREADS * OPS_PER_THREAD) as f64;

    writeln!(
        report,
        "\nRead latency (each read returns a whole profile):"
    )?;
    writeln!(report, "{}", alone.line("SQLite alone"))?;
    writeln!(report, "{}", cold.line("cache, cold"))?;
    writeln!(report, "{}", warm.line("cache, warm"))?;
    writeln!(
        report,
        "  SQLite alone: a query per read (SQLite's own page cache is warm: no disk I/O).\n  \
         cold: the cache starts empty, so the first read of each user queries SQLite; warm: the\n  \
         same workload again. p99.9 is the slowest read in a thousand."
    )?;
    writeln!(report, "\nHit ratio (reads answered without a query):")?;
    writeln!(
        report,
        "  cold {:>5.1}%  ({cold_queries} queries)    warm {:>5.1}%  ({warm_queries} queries)",
        100.0 * (1.0 - cold_queries as f64 / reads),
        100.0 * (1.0 - warm_queries as f64 / reads),
    )?;

    // 3. The stampede: 32 threads ask at once for a profile nobody has read, whose query is
    // slow (a scan: milliseconds).
    let src = db.connect()?;
    let never_read = |from: i64| {
        (from..USERS)
            .find(|&id| !cache.table.member(id).unwrap_or(true))
            .expect("some user was never read")
    };
    let (cold_id, naive_id) = (never_read(0), never_read(never_read(0) + 1));
    let slow_start = Instant::now();
    db.fetch_slow(&src, never_read(naive_id + 1))?;
    let slow_query = slow_start.elapsed();
    let barrier = Barrier::new(STAMPEDE_THREADS);
    let before = db.queries();
    thread::scope(|s| {
        for _ in 0..STAMPEDE_THREADS {
            s.spawn(|| {
                let src = db.connect().expect("connect");
                barrier.wait();
                let p = cache.get_profile_from(cold_id, |id| db.fetch_slow(&src, id));
                assert_eq!(p.expect("get_profile").expect("exists").id, cold_id);
            });
        }
    });
    let stampede_queries = db.queries() - before;
    // The same stampede on a cache written by hand: look up, and on a miss query and insert.
    let before = db.queries();
    thread::scope(|s| {
        for _ in 0..STAMPEDE_THREADS {
            s.spawn(|| {
                let src = db.connect().expect("connect");
                barrier.wait();
                if cache.table.lookup(naive_id).expect("lookup").is_empty() {
                    let p = db
                        .fetch_slow(&src, naive_id)
                        .expect("query")
                        .expect("exists");
                    cache
                        .table
                        .insert(tuple!(p.id, p.name, p.email, p.plan, p.bio))
                        .expect("insert");
                }
            });
        }
    });
    let naive_queries = db.queries() - before;
    writeln!(
        report,
        "\nStampede: {STAMPEDE_THREADS} threads ask at once for one profile not in the cache, \
         whose query takes {slow_query:.1?}:\n  \
         {stampede_queries:>2} SQLite quer{} with get_or_load (single-flight: one thread \
         queries, the others wait for its result)\n  {naive_queries:>2} with a hand-written \
         cache (lookup; on a miss, query and insert)",
        if stampede_queries == 1 { "y" } else { "ies" }
    )?;

    // 4. Writes: put and delete go to SQLite and invalidate the cached copy.
    let mut stale = 0;
    for id in 0..1000 {
        cache.get_profile(&src, id)?;
        let mut p = Profile::generated(id);
        p.plan = "enterprise".into();
        cache.put_profile(&src, &p)?;
        if cache.get_profile(&src, id)? != Some(p) {
            stale += 1;
        }
    }
    for id in 1000..1100 {
        cache.get_profile(&src, id)?;
        cache.delete_profile(&src, id)?;
        if cache.get_profile(&src, id)?.is_some() {
            stale += 1;
        }
    }
    writeln!(
        report,
        "\nWrites: 1000 put_profile and 100 delete_profile, each read back through the cache: \
         {stale} stale read(s)."
    )?;

    // 5. Expiry: the most-read profiles, all cached now, are read again once the TTL has
    // passed; each has expired and is loaded again.
    let hot: Vec<i64> = zipf
        .ids
        .iter()
        .copied()
        .filter(|&id| cache.table.member(id).unwrap_or(false))
        .take(EXPIRY_READS)
        .collect();
    thread::sleep(TTL);
    let before = db.queries();
    for &id in &hot {
        cache.get_profile(&src, id)?;
    }
    let expired_queries = db.queries() - before;
    writeln!(
        report,
        "\nExpiry: the {} most-read profiles in the cache, read again after waiting out the TTL \
         ({TTL:?}):\n  {expired_queries} SQLite queries: each profile had expired and was loaded again \
         (the cache returns\n  nothing older than its TTL).",
        hot.len()
    )?;

    let stats = cache.table.cache_stats()?;
    let info = cache.table.info()?;
    writeln!(
        report,
        "\nThe cache (TTL {TTL:?}, max_memory {} MiB), over the whole run:\n  \
         {} hits, {} misses; {} loads from SQLite ({} failed: users that do not exist), \
         {:.1?} per load on average\n  \
         {} expirations: profiles older than the TTL, dropped (and loaded again when asked for)\n  \
         {} evictions: profiles dropped to stay within max_memory (the eviction policy keeps \
         the ones read often)\n  now {} profiles in {:.1} MiB",
        MAX_MEMORY >> 20,
        stats.hits,
        stats.misses,
        stats.loads + stats.load_failures,
        stats.load_failures,
        Duration::from_nanos(stats.load_nanos / (stats.loads + stats.load_failures).max(1)),
        stats.expirations,
        stats.evictions,
        info.size,
        info.memory as f64 / (1 << 20) as f64
    )?;
    writeln!(report, "Ran in {:.1?}.", started.elapsed())?;
    print!("{report}");
    Ok(())
}
