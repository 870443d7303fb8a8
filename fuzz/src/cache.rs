//! Differential fuzzing of a cache table (lifetimes, idle lifetimes, a manual clock,
//! `max_size`, evict or reject) against a model that knows the bound and the lifetimes but not the eviction
//! policy's choices. After every operation it checks: no expired object is ever returned or
//! counted; whatever is returned is the last object written under its key; the table never
//! holds more than `max_size` objects; in reject mode, a write is refused exactly when the live
//! objects fill the bound (and then nothing changes); an evicted key stays gone until written.

use std::collections::BTreeMap;
use std::time::Duration;

use arbitrary::{Result, Unstructured};
use rets_core::{
    Error, InsertOptions, ManualClock, OnFull, Owner, Table, TableOptions, TableType, Term,
};

/// What the model knows of a key: its last written value, the end of its lifetime and its idle
/// deadline (in whole seconds of the manual clock; `None`: never). It expires at the earlier.
struct Entry {
    value: i64,
    deadline: Option<u64>,
    idle: Option<u64>,
}

struct Model {
    now: u64,
    max_size: usize,
    reject: bool,
    ttl: Option<u64>,
    /// The idle lifetime: a write or a lookup restarts it (whole seconds are far above the
    /// 1/16 of it by which the table may leave a deadline short).
    tti: Option<u64>,
    /// Keys that may be in the table (with evict, some may have been evicted).
    entries: BTreeMap<i64, Entry>,
}

impl Model {
    fn live(&self, e: &Entry) -> bool {
        e.deadline.is_none_or(|d| self.now < d) && e.idle.is_none_or(|d| self.now < d)
    }

    fn live_count(&self) -> usize {
        self.entries.values().filter(|e| self.live(e)).count()
    }
}

fn object(k: i64, v: i64) -> Term {
    Term::Array(vec![Term::from(k), Term::from(v)])
}

fn value_of(t: &Term) -> (i64, i64) {
    let Term::Array(items) = t else {
        panic!("an object is an array")
    };
    let int = |t: &Term| match t {
        Term::Int(i) => *i,
        Term::UInt(u) => i64::try_from(*u).expect("small"),
        other => panic!("not an integer: {other:?}"),
    };
    (int(&items[0]), int(&items[1]))
}

/// Runs one fuzz input.
pub fn run(data: &[u8]) {
    let _ = run_inner(&mut Unstructured::new(data));
}

fn run_inner(u: &mut Unstructured<'_>) -> Result<()> {
    let table_type = if u.arbitrary::<bool>()? {
        TableType::OrderedSet
    } else {
        TableType::Set
    };
    let max_size = u.int_in_range(1..=12usize)?;
    let reject = u.arbitrary::<bool>()?;
    let ttl = match u.int_in_range(0..=4u64)? {
        0 => None,
        s => Some(s),
    };
    let tti = match u.int_in_range(0..=4u64)? {
        0 => None,
        s => Some(s),
    };
    let clock = ManualClock::new();
    let mut options = TableOptions::new()
        .table_type(table_type)
        .max_size(max_size)
        .on_full(if reject {
            OnFull::Reject
        } else {
            OnFull::Evict
        })
        .clock(clock.clone());
    if let Some(s) = ttl {
        options = options.ttl(Duration::from_secs(s));
    }
    if let Some(s) = tti {
        options = options.time_to_idle(Duration::from_secs(s));
    }
    let owner = Owner::new();
    let table = owner.new_table("cache", options).expect("valid options");
    let mut model = Model {
        now: 0,
        max_size,
        reject,
        ttl,
        tti,
        entries: BTreeMap::new(),
    };
    let mut step = 0i64;
    while !u.is_empty() {
        step += 1;
        match u.int_in_range(0..=6u8)? {
            0 | 1 => {
                let k = u.int_in_range(0..=20i64)?;
                let life = match u.int_in_range(0..=5u64)? {
                    0 => None,
                    s => Some(s),
                };
                insert(&table, &mut model, k, step, life);
            }
            2 | 3 => {
                let k = u.int_in_range(0..=20i64)?;
                lookup(&table, &mut model, k);
            }
            4 => {
                let k = u.int_in_range(0..=20i64)?;
                table.delete(k).expect("delete");
                model.entries.remove(&k);
            }
            5 => {
                let s = u.int_in_range(0..=3u64)?;
                clock.advance(Duration::from_secs(s));
                model.now += s;
            }
            _ => {
                if u.arbitrary::<bool>()? {
                    table.purge_expired().expect("purge");
                }
                whole(&table, &mut model);
            }
        }
        let size = table.size().expect("size");
        assert!(size <= model.max_size, "size {size} above max_size");
        assert!(
            size <= model.live_count(),
            "size {size} above what may be live"
        );
    }
    whole(&table, &mut model);
    Ok(())
}

fn insert(table: &Table, model: &mut Model, k: i64, v: i64, life: Option<u64>) {
    let options = InsertOptions {
        ttl: life.map(Duration::from_secs),
    };
    let result = table.insert_with(object(k, v), options);
    let present = model.entries.get(&k).is_some_and(|e| model.live(e));
    if model.reject {
        let full = !present && model.live_count() >= model.max_size;
        match result {
            Err(Error::TableFull { .. }) => assert!(full, "refused while not full"),
            Ok(()) => assert!(!full, "accepted past max_size"),
            Err(e) => panic!("insert failed: {e}"),
        }
        if full {
            return;
        }
    } else {
        result.expect("an evicting table accepts every small write");
    }
    let life = life.or(model.ttl);
    let deadline = life.map(|s| model.now + s);
    let idle = model.tti.map(|s| model.now + s);
    model.entries.insert(
        k,
        Entry {
            value: v,
            deadline,
            idle,
        },
    );
}

fn lookup(table: &Table, model: &mut Model, k: i64) {
    let found = table.lookup(k).expect("lookup");
    assert!(found.len() <= 1);
    match (found.first(), model.entries.get(&k)) {
        (None, Some(e)) => {
            // Absent: expired, or (evict mode only) evicted.
            assert!(
                !model.live(e) || !model.reject,
                "a live key vanished from a rejecting table"
            );
            model.entries.remove(&k);
        }
        (None, None) => {}
        (Some(o), e) => {
            let (key, value) = value_of(&o.to_term());
            assert_eq!(key, k);
            let e = e.expect("returned a key never written (or deleted)");
            assert!(model.live(e), "returned an expired object");
            assert_eq!(
                value, e.value,
                "returned an object that was not the last written"
            );
            // The read restarts the idle lifetime.
            let idle = model.tti.map(|s| model.now + s);
            if let Some(e) = model.entries.get_mut(&k) {
                e.idle = idle;
            }
        }
    }
}

fn whole(table: &Table, model: &mut Model) {
    let listed = table.tab2list().expect("tab2list");
    let mut keys = Vec::new();
    for o in &listed {
        let (k, v) = value_of(&o.to_term());
        let e = model.entries.get(&k).expect("listed a key never written");
        assert!(model.live(e), "listed an expired object");
        assert_eq!(v, e.value);
        keys.push(k);
    }
    let folded = table.foldl(0usize, |n, _| n + 1).expect("foldl");
    assert_eq!(folded, listed.len());
    if model.reject {
        // Nothing is evicted: exactly the live keys.
        let live: Vec<i64> = model
            .entries
            .iter()
            .filter(|(_, e)| model.live(e))
            .map(|(k, _)| *k)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, live, "a rejecting table lost or kept a key");
    }
}
