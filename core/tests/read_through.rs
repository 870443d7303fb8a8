//! Read-through with single-flight: `Table::get_or_load` and the claim/fill protocol.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};
use std::thread;
use std::time::Duration;

use rets_core::{tuple, Claim, Error, Key, Owner, Table, TableOptions, Term};

fn cache(owner: &Owner) -> Table {
    owner
        .new_table("cache", TableOptions::new().set().public())
        .unwrap()
}

fn name_of(object: &rets_core::Object) -> String {
    object.element(2).unwrap().as_str().unwrap().to_owned()
}

#[test]
fn a_miss_loads_stores_and_a_hit_does_not_load() {
    let owner = Owner::new();
    let t = cache(&owner);
    let loads = AtomicUsize::new(0);
    let load = |key: &Key| {
        loads.fetch_add(1, Ordering::Relaxed);
        Ok::<_, String>(Term::Array(vec![key.to_term(), "Alice".into()]))
    };
    assert_eq!(name_of(&t.get_or_load("u1", load).unwrap()), "Alice");
    assert_eq!(name_of(&t.get_or_load("u1", load).unwrap()), "Alice");
    assert_eq!(loads.load(Ordering::Relaxed), 1);
    assert_eq!(t.lookup("u1").unwrap().len(), 1);
}

#[test]
fn a_loader_error_caches_nothing_and_the_next_call_loads_again() {
    let owner = Owner::new();
    let t = cache(&owner);
    let err = t
        .get_or_load("u1", |_| Err::<Term, _>("database is down"))
        .unwrap_err();
    assert_eq!(
        err,
        Error::LoadFailed {
            message: "database is down".into()
        }
    );
    assert_eq!(err.to_string(), "load failed: database is down");
    assert!(t.lookup("u1").unwrap().is_empty());
    let ok = t.get_or_load("u1", |_| Ok::<_, String>(tuple!("u1", "Bob")));
    assert_eq!(name_of(&ok.unwrap()), "Bob");
}

#[test]
fn an_object_with_another_key_fails_the_load() {
    let owner = Owner::new();
    let t = cache(&owner);
    let err = t
        .get_or_load("u1", |_| Ok::<_, String>(tuple!("u2", "Eve")))
        .unwrap_err();
    assert!(
        matches!(&err, Error::BadArgument(m) if m.contains("not the key being loaded")),
        "{err}"
    );
    assert!(t.tab2list().unwrap().is_empty());
}

#[test]
fn an_abandoned_claim_fails_its_waiters_and_the_key_loads_again() {
    let owner = Owner::new();
    let t = cache(&owner);
    let Claim::Load(first) = t.claim_load("k").unwrap() else {
        panic!("not a load")
    };
    let Claim::Wait(waiter) = t.claim_load("k").unwrap() else {
        panic!("not a wait")
    };
    drop(first);
    let err = waiter.wait().unwrap_err();
    assert_eq!(
        err.to_string(),
        "load failed: the loader ended without a result"
    );
    assert!(matches!(t.claim_load("k").unwrap(), Claim::Load(_)));
}

#[test]
fn a_panic_reaches_a_concurrent_waiter_with_its_message() {
    let owner = Owner::new();
    let t = cache(&owner);
    let entered = Barrier::new(2);
    let release = Barrier::new(2);
    thread::scope(|s| {
        let loader = s.spawn(|| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                t.get_or_load("k", |_| -> Result<Term, String> {
                    entered.wait();
                    release.wait();
                    panic!("boom")
                })
            }))
        });
        entered.wait();
        let Claim::Wait(waiter) = t.claim_load("k").unwrap() else {
            panic!("not a wait")
        };
        release.wait();
        let err = waiter.wait().unwrap_err();
        assert_eq!(err.to_string(), "load failed: the loader panicked: boom");
        assert!(loader.join().unwrap().is_err());
    });
    assert!(t.lookup("k").unwrap().is_empty());
}

#[test]
fn a_waiter_times_out_and_the_load_goes_on() {
    let owner = Owner::new();
    let t = cache(&owner);
    let Claim::Load(loading) = t.claim_load("k").unwrap() else {
        panic!()
    };
    let err = t
        .get_or_load_timeout("k", Duration::from_millis(30), |_| {
            Err::<Term, _>("a waiter never loads")
        })
        .unwrap_err();
    assert_eq!(err, Error::LoadTimeout { waited_ms: 30 });
    let Claim::Wait(waiter) = t.claim_load("k").unwrap() else {
        panic!()
    };
    assert!(waiter.poll().is_none());
    loading.fill(tuple!("k", "v")).unwrap();
    assert_eq!(name_of(&waiter.poll().unwrap().unwrap()), "v");
    assert!(matches!(t.claim_load("k").unwrap(), Claim::Cached(_)));
}

#[test]
fn invalidate_detaches_a_load_that_read_old_data() {
    let owner = Owner::new();
    let t = cache(&owner);
    let Claim::Load(stale) = t.claim_load("k").unwrap() else {
        panic!()
    };
    let waiter = stale.wait_ticket();
    // The source changes while the load runs; the writer invalidates.
    t.invalidate("k").unwrap();
    let fresh = t.get_or_load("k", |_| Ok::<_, String>(tuple!("k", "new")));
    assert_eq!(name_of(&fresh.unwrap()), "new");
    // The stale load finishes: its waiters get its value, the table keeps the fresh one.
    assert_eq!(name_of(&stale.fill(tuple!("k", "old")).unwrap()), "old");
    assert_eq!(name_of(&waiter.wait().unwrap()), "old");
    assert_eq!(name_of(&t.lookup("k").unwrap()[0]), "new");
}

#[test]
fn loading_needs_write_access_and_a_set() {
    let owner = Owner::new();
    let t = owner
        .new_table("protected_cache", TableOptions::new().set())
        .unwrap();
    t.insert(tuple!("hit", 1)).unwrap();
    let stranger = Owner::new();
    let theirs = t.with_caller(&stranger);
    // A stranger reads a cached object but may not load (it could not store the result).
    assert!(theirs
        .get_or_load("hit", |_| Err::<Term, _>("not called"))
        .is_ok());
    let err = theirs
        .get_or_load("miss", |_| Ok::<_, String>(tuple!("miss", 1)))
        .unwrap_err();
    assert!(matches!(err, Error::Access { .. }), "{err}");
    let bag = owner.new_table("bag", TableOptions::new().bag()).unwrap();
    let err = bag
        .get_or_load("k", |_| Ok::<_, String>(tuple!("k", 1)))
        .unwrap_err();
    assert!(matches!(err, Error::WrongTableType { .. }), "{err}");
}

#[test]
fn a_load_into_a_deleted_table_fails_its_waiters() {
    let owner = Owner::new();
    let t = cache(&owner);
    let Claim::Load(loading) = t.claim_load("k").unwrap() else {
        panic!()
    };
    let waiter = loading.wait_ticket();
    t.delete_table().unwrap();
    assert!(matches!(
        loading.fill(tuple!("k", 1)),
        Err(Error::NoTable { .. })
    ));
    assert!(matches!(waiter.wait(), Err(Error::NoTable { .. })));
}

/// The stampede: many threads ask for one missing key at once, again and again; each round
/// the source is queried exactly once and every thread gets that one result.
#[test]
fn stress_many_threads_on_one_hot_missing_key_load_it_once() {
    const THREADS: usize = 32;
    const ROUNDS: usize = 200;
    let owner = Owner::new();
    let t = cache(&owner);
    let queries = AtomicUsize::new(0);
    let barrier = Barrier::new(THREADS);
    let seen = Mutex::new(Vec::new());
    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for round in 0..ROUNDS {
                    barrier.wait();
                    let key = format!("hot-{round}");
                    let object = t
                        .get_or_load(key.as_str(), |k| {
                            let n = queries.fetch_add(1, Ordering::Relaxed);
                            thread::sleep(Duration::from_micros(200));
                            Ok::<_, String>(Term::Array(vec![k.to_term(), (n as i64).into()]))
                        })
                        .unwrap();
                    seen.lock().unwrap().push((round, object));
                }
            });
        }
    });
    assert_eq!(
        queries.load(Ordering::Relaxed),
        ROUNDS,
        "one query per round"
    );
    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.len(), THREADS * ROUNDS);
    for round in 0..ROUNDS {
        let mut values = seen.iter().filter(|(r, _)| *r == round).map(|(_, o)| o);
        let first = values.next().unwrap();
        assert!(values.all(|o| o == first), "round {round}: two results");
    }
}

/// The same stampede with failing loads: every thread of a round gets an error, nothing is
/// cached, and a failed round's key loads again in the next call.
#[test]
fn stress_a_failing_load_reaches_every_caller() {
    const THREADS: usize = 16;
    let owner = Owner::new();
    let t = cache(&owner);
    let queries = AtomicUsize::new(0);
    let barrier = Barrier::new(THREADS);
    let errors = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                barrier.wait();
                let r = t.get_or_load("hot", |_| {
                    queries.fetch_add(1, Ordering::Relaxed);
                    thread::sleep(Duration::from_millis(5));
                    Err::<Term, _>("timeout talking to the database")
                });
                if matches!(r, Err(Error::LoadFailed { .. })) {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    assert_eq!(errors.load(Ordering::Relaxed), THREADS);
    // Callers arriving after a failure load again; during one 5 ms load all others wait, so
    // there are far fewer queries than callers.
    let q = queries.load(Ordering::Relaxed);
    assert!(
        (1..THREADS).contains(&q),
        "{q} queries for {THREADS} callers"
    );
    assert!(t.lookup("hot").unwrap().is_empty());
}

#[test]
fn a_loaded_object_lives_the_tables_ttl_or_the_loaders_own() {
    use rets_core::{Loaded, ManualClock};
    let owner = Owner::new();
    let clock = ManualClock::new();
    let t = owner
        .new_table(
            "ttl_cache",
            TableOptions::new()
                .set()
                .ttl(Duration::from_secs(10))
                .clock(clock.clone()),
        )
        .unwrap();
    let loads = AtomicUsize::new(0);
    let load = |key: &Key| {
        loads.fetch_add(1, Ordering::Relaxed);
        Ok::<_, String>(Term::Array(vec![key.to_term(), "v".into()]))
    };
    let short = |key: &Key| {
        loads.fetch_add(1, Ordering::Relaxed);
        Ok::<_, String>(
            Loaded::new(Term::Array(vec![key.to_term(), "v".into()])).ttl(Duration::from_secs(2)),
        )
    };
    t.get_or_load("table_ttl", load).unwrap();
    t.get_or_load("own_ttl", short).unwrap();
    clock.advance(Duration::from_secs(3));
    // The loader's own 2 s have passed: loads again; the table's 10 s have not.
    t.get_or_load("table_ttl", load).unwrap();
    t.get_or_load("own_ttl", short).unwrap();
    assert_eq!(loads.load(Ordering::Relaxed), 3);
    clock.advance(Duration::from_secs(8));
    t.get_or_load("table_ttl", load).unwrap();
    assert_eq!(loads.load(Ordering::Relaxed), 4);
}

#[test]
fn loads_hits_misses_and_failures_are_counted() {
    let owner = Owner::new();
    let t = owner
        .new_table("stats_cache", TableOptions::new().set().record_stats())
        .unwrap();
    t.get_or_load("a", |_| Ok::<_, String>(tuple!("a", 1)))
        .unwrap();
    t.get_or_load("a", |_| Ok::<_, String>(tuple!("a", 1)))
        .unwrap();
    t.get_or_load("b", |_| Err::<Term, _>("down")).unwrap_err();
    let Claim::Load(abandoned) = t.claim_load("c").unwrap() else {
        panic!()
    };
    drop(abandoned);
    let stats = t.cache_stats().unwrap();
    assert_eq!((stats.hits, stats.misses), (1, 3));
    assert_eq!((stats.loads, stats.load_failures), (1, 2));
    assert!(stats.load_nanos > 0);
}

mod refresh_ahead {
    use super::*;
    use rets_core::ManualClock;

    fn table(owner: &Owner, clock: &ManualClock) -> Table {
        owner
            .new_table(
                "refreshing",
                TableOptions::new()
                    .set()
                    .public()
                    .ttl(Duration::from_secs(10))
                    .clock(clock.clone()),
            )
            .unwrap()
    }

    const AFTER: Duration = Duration::from_secs(6);

    fn version(o: &rets_core::Object) -> i64 {
        o.element(2).unwrap().as_i64().unwrap()
    }

    #[test]
    fn an_object_past_the_age_is_reloaded_by_one_caller_and_never_misses() {
        let owner = Owner::new();
        let clock = ManualClock::new();
        let t = table(&owner, &clock);
        let loads = AtomicUsize::new(0);
        let load = |k: &Key| {
            let n = loads.fetch_add(1, Ordering::Relaxed) as i64 + 1;
            Ok::<_, String>(Term::Array(vec![k.to_term(), n.into()]))
        };
        assert_eq!(
            version(&t.get_or_load_refreshing("k", AFTER, load).unwrap()),
            1
        );
        clock.advance(Duration::from_secs(5));
        assert_eq!(
            version(&t.get_or_load_refreshing("k", AFTER, load).unwrap()),
            1
        );
        assert_eq!(
            loads.load(Ordering::Relaxed),
            1,
            "younger than the age: no reload"
        );
        clock.advance(Duration::from_secs(2));
        assert_eq!(
            version(&t.get_or_load_refreshing("k", AFTER, load).unwrap()),
            2
        );
        assert_eq!(
            version(&t.get_or_load_refreshing("k", AFTER, load).unwrap()),
            2
        );
        assert_eq!(loads.load(Ordering::Relaxed), 2, "one reload");
        // The refreshed object has a new lifetime: 9 s later (16 s after the first load) it is
        // still cached, and refreshed again.
        clock.advance(Duration::from_secs(9));
        assert_eq!(
            version(&t.get_or_load_refreshing("k", AFTER, load).unwrap()),
            3
        );
    }

    #[test]
    fn while_one_caller_refreshes_the_others_get_the_cached_object_at_once() {
        let owner = Owner::new();
        let clock = ManualClock::new();
        let t = table(&owner, &clock);
        t.insert(tuple!("k", 1)).unwrap();
        clock.advance(Duration::from_secs(7));
        let second = std::sync::atomic::AtomicBool::new(false);
        let refreshed = t
            .get_or_load_refreshing("k", AFTER, |_| {
                // Another caller, during the refresh: the old object, without loading.
                let other = thread::scope(|s| {
                    s.spawn(|| {
                        t.get_or_load_refreshing("k", AFTER, |_| {
                            second.store(true, Ordering::Relaxed);
                            Err::<Term, _>("a second refresh must not run")
                        })
                    })
                    .join()
                    .unwrap()
                });
                assert_eq!(version(&other.unwrap()), 1);
                Ok::<_, String>(tuple!("k", 2))
            })
            .unwrap();
        assert_eq!(version(&refreshed), 2);
        assert!(!second.load(Ordering::Relaxed), "two refreshes ran at once");
        assert_eq!(version(&t.lookup("k").unwrap()[0]), 2);
    }

    #[test]
    fn a_failed_refresh_keeps_the_old_object_until_its_ttl() {
        let owner = Owner::new();
        let clock = ManualClock::new();
        let t = table(&owner, &clock);
        t.insert(tuple!("k", 1)).unwrap();
        clock.advance(Duration::from_secs(7));
        let got = t.get_or_load_refreshing("k", AFTER, |_| Err::<Term, _>("database down"));
        assert_eq!(version(&got.unwrap()), 1, "the old object, not the error");
        assert_eq!(version(&t.lookup("k").unwrap()[0]), 1);
        // Still failing at 9 s: the old object again; at 10 s it has expired: a miss, and the
        // loader's error reaches the caller.
        clock.advance(Duration::from_secs(2));
        let got = t.get_or_load_refreshing("k", AFTER, |_| Err::<Term, _>("database down"));
        assert_eq!(version(&got.unwrap()), 1);
        clock.advance(Duration::from_secs(1));
        let err = t
            .get_or_load_refreshing("k", AFTER, |_| Err::<Term, _>("database down"))
            .unwrap_err();
        assert_eq!(err.to_string(), "load failed: database down");
    }

    #[test]
    fn a_claimed_refresh_answers_at_once_and_others_see_the_cached_object() {
        let owner = Owner::new();
        let clock = ManualClock::new();
        let t = table(&owner, &clock);
        t.insert(tuple!("k", 1)).unwrap();
        assert!(matches!(
            t.claim_load_refreshing("k", AFTER).unwrap(),
            Claim::Cached(_)
        ));
        clock.advance(Duration::from_secs(7));
        let Claim::Refresh(cached, ticket) = t.claim_load_refreshing("k", AFTER).unwrap() else {
            panic!("not a refresh")
        };
        assert_eq!(version(&cached), 1);
        let Claim::Cached(other) = t.claim_load_refreshing("k", AFTER).unwrap() else {
            panic!("a second refresh was claimed")
        };
        assert_eq!(version(&other), 1);
        ticket.fill(tuple!("k", 2)).unwrap();
        let Claim::Cached(fresh) = t.claim_load_refreshing("k", AFTER).unwrap() else {
            panic!("the fresh object is young")
        };
        assert_eq!(version(&fresh), 2);
    }

    #[test]
    fn refresh_ahead_needs_a_table_ttl() {
        let owner = Owner::new();
        let t = cache(&owner);
        let err = t
            .get_or_load_refreshing("k", AFTER, |_| Ok::<_, String>(tuple!("k", 1)))
            .unwrap_err();
        assert!(matches!(err, Error::BadArgument(_)), "{err}");
    }
}
