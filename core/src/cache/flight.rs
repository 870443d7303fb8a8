//! Single-flight loads: at most one load of a key runs at a time, and every caller that asks for
//! the key meanwhile waits for that load's result instead of loading again.
//!
//! A table keeps one [`Flights`]: a map, sharded by key hash, from a key's canonical bytes to the
//! [`Flight`] loading it. [`Flights::claim`] gives the caller one of three answers: the value is
//! cached ([`Claimed::Hit`]); you are the loader ([`Claimed::Load`], whose [`Loading`] must be
//! finished); or another caller is loading it ([`Claimed::Wait`], a [`Waiting`] to wait on or
//! poll). The protocol's invariants, checked by the loom models below:
//!
//! - *one loader*: a finished load stores its value in the table before it leaves the map, and
//!   [`Flights::claim`] looks in the table under the shard lock, so a caller never starts a
//!   second load of a key whose load is in flight or has just been stored;
//! - *every waiter woken*: the result is set under the flight's lock and then every waiter is
//!   notified; a waiter checks the result under that lock before it sleeps;
//! - *errors reach everyone, nothing is cached*: a failed (or abandoned) load gives its error to
//!   every waiter, stores nothing and leaves the map, so the next claim loads again.
//!
//! The module is generic over the value (an `Object` in tables, a number in the models) and does
//! not know tables: the caller passes the table lookup (`cached`) and the store (`store`).
//! Every lock comes from `crate::sync`, so loom sees all of them.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::sync::{Condvar, Mutex};

/// Shards of the in-flight map: claims of different keys rarely share a lock.
const SHARDS: usize = if cfg!(rets_loom) { 2 } else { 16 };

type Shard<V> = Mutex<HashMap<Box<[u8]>, Arc<Flight<V>>, foldhash::fast::FixedState>>;

/// The loads in flight of one table.
pub(crate) struct Flights<V> {
    shards: Arc<[Shard<V>]>,
}

/// One load: its state, and the condition its waiters sleep on.
struct Flight<V> {
    state: Mutex<State<V>>,
    done: Condvar,
}

enum State<V> {
    /// The loader is running. `superseded`: the key was written or invalidated meanwhile, so the
    /// result goes to the waiters but is not stored (it may predate that write).
    Loading {
        superseded: bool,
    },
    Done(Result<V>),
}

/// The answer to a claim.
pub(crate) enum Claimed<V> {
    /// The value is cached.
    Hit(V),
    /// The caller is the loader and must finish the load (dropping it fails the load).
    Load(Loading<V>),
    /// Another caller is loading the key.
    Wait(Waiting<V>),
}

/// The right and the duty to finish one load. Dropped unfinished (a loader that panicked, a C
/// ticket freed unfilled), it fails the load so that no waiter waits forever.
pub(crate) struct Loading<V> {
    shards: Arc<[Shard<V>]>,
    key: Box<[u8]>,
    flight: Arc<Flight<V>>,
    finished: bool,
}

/// A wait on another caller's load.
pub(crate) struct Waiting<V> {
    flight: Arc<Flight<V>>,
}

impl<V> Clone for Waiting<V> {
    fn clone(&self) -> Waiting<V> {
        Waiting {
            flight: self.flight.clone(),
        }
    }
}

fn shard_of(key: &[u8]) -> usize {
    // Fixed seed: the shard choice only spreads contention; nothing depends on its quality.
    foldhash::fast::FixedState::with_seed(0x5eed).hash_one(key) as usize % SHARDS
}

impl<V: Clone> Flights<V> {
    pub(crate) fn new() -> Flights<V> {
        Flights {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(HashMap::with_hasher(Default::default())))
                .collect(),
        }
    }

    /// Claims the load of `key`. `cached` looks the key up in the table; it runs under the
    /// shard lock, after the in-flight check, so a load that finishes concurrently is seen
    /// either in flight or stored. `may_load` is asked only when the caller would become the
    /// loader (to refuse a caller that could not store the result).
    pub(crate) fn claim(
        &self,
        key: &[u8],
        cached: impl FnOnce() -> Result<Option<V>>,
        may_load: impl FnOnce() -> Result<()>,
    ) -> Result<Claimed<V>> {
        let mut map = self.shards[shard_of(key)].lock();
        if let Some(flight) = map.get(key) {
            return Ok(Claimed::Wait(Waiting {
                flight: flight.clone(),
            }));
        }
        if let Some(value) = cached()? {
            return Ok(Claimed::Hit(value));
        }
        may_load()?;
        let flight = Arc::new(Flight {
            state: Mutex::new(State::Loading { superseded: false }),
            done: Condvar::new(),
        });
        map.insert(key.into(), flight.clone());
        Ok(Claimed::Load(Loading {
            shards: self.shards.clone(),
            key: key.into(),
            flight,
            finished: false,
        }))
    }

    /// Claims a refresh of `key`, whose value is cached: the load, unless one is in flight (then
    /// the caller keeps the cached value and does not wait). Callers that miss the key while
    /// the refresh runs (it expired meanwhile) wait for it like for any load.
    pub(crate) fn claim_refresh(&self, key: &[u8]) -> Option<Loading<V>> {
        let mut map = self.shards[shard_of(key)].lock();
        if map.contains_key(key) {
            return None;
        }
        let flight = Arc::new(Flight {
            state: Mutex::new(State::Loading { superseded: false }),
            done: Condvar::new(),
        });
        map.insert(key.into(), flight.clone());
        Some(Loading {
            shards: self.shards.clone(),
            key: key.into(),
            flight,
            finished: false,
        })
    }

    /// Detaches the load of `key` in flight, if any, before the key is written or removed: its
    /// result still goes to its waiters but is not stored, and the next claim starts a new load
    /// (which sees the write). A store already under way finishes before this returns, so the
    /// caller's write or removal comes after it.
    pub(crate) fn supersede(&self, key: &[u8]) {
        let flight = self.shards[shard_of(key)].lock().remove(key);
        if let Some(flight) = flight {
            if let State::Loading { superseded } = &mut *flight.state.lock() {
                *superseded = true;
            }
        }
    }

    /// The number of loads in flight (for tests).
    #[cfg(all(test, not(rets_loom)))]
    pub(crate) fn in_flight(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }
}

impl<V: Clone> Loading<V> {
    /// Ends the load with `result` and returns it, as every waiter gets it. A value is first
    /// stored by `store` (unless the load was superseded); if that fails, its error is the
    /// result.
    pub(crate) fn finish(
        mut self,
        result: Result<V>,
        store: impl FnOnce(&V) -> Result<()>,
    ) -> Result<V> {
        self.finished = true;
        let result = {
            let mut state = self.flight.state.lock();
            let superseded = matches!(*state, State::Loading { superseded: true });
            let result = match result {
                Ok(value) if !superseded => store(&value).map(|()| value),
                other => other,
            };
            *state = State::Done(result.clone());
            result
        };
        self.flight.done.notify_all();
        self.leave_map();
        result
    }

    /// A wait on this same load (for a loader that hands the waiting to someone else).
    pub(crate) fn waiting(&self) -> Waiting<V> {
        Waiting {
            flight: self.flight.clone(),
        }
    }

    /// Removes this flight from the map, unless it was superseded and replaced meanwhile.
    fn leave_map(&self) {
        let mut map = self.shards[shard_of(&self.key)].lock();
        if map
            .get(&self.key)
            .is_some_and(|f| Arc::ptr_eq(f, &self.flight))
        {
            map.remove(&self.key);
        }
    }
}

impl<V> Drop for Loading<V> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        *self.flight.state.lock() = State::Done(Err(Error::LoadFailed {
            message: "the loader ended without a result".into(),
        }));
        self.flight.done.notify_all();
        let mut map = self.shards[shard_of(&self.key)].lock();
        if map
            .get(&self.key)
            .is_some_and(|f| Arc::ptr_eq(f, &self.flight))
        {
            map.remove(&self.key);
        }
    }
}

impl<V: Clone> Waiting<V> {
    /// Waits for the load's result, at most `timeout` if given ([`Error::LoadTimeout`] then).
    pub(crate) fn wait(&self, timeout: Option<Duration>) -> Result<V> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut state = self.flight.state.lock();
        loop {
            if let State::Done(result) = &*state {
                return result.clone();
            }
            match deadline {
                None => state = self.flight.done.wait(state),
                Some(deadline) => {
                    let (next, timed_out) = self.flight.done.wait_until(state, deadline);
                    state = next;
                    if timed_out && matches!(*state, State::Loading { .. }) {
                        let waited = timeout.unwrap_or_default();
                        return Err(Error::LoadTimeout {
                            waited_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
                        });
                    }
                }
            }
        }
    }

    /// The load's result if it has finished, without blocking.
    pub(crate) fn poll(&self) -> Option<Result<V>> {
        match &*self.flight.state.lock() {
            State::Done(result) => Some(result.clone()),
            State::Loading { .. } => None,
        }
    }
}

#[cfg(all(test, not(rets_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Barrier;

    /// A stand-in for a table: one slot per key.
    #[derive(Default)]
    struct Store(std::sync::Mutex<HashMap<Vec<u8>, u32>>);

    impl Store {
        fn get(&self, key: &[u8]) -> Result<Option<u32>> {
            Ok(self.0.lock().unwrap().get(key).copied())
        }
        fn put(&self, key: &[u8], v: u32) -> Result<()> {
            self.0.lock().unwrap().insert(key.to_vec(), v);
            Ok(())
        }
    }

    fn claim(flights: &Flights<u32>, store: &Store, key: &[u8]) -> Claimed<u32> {
        flights.claim(key, || store.get(key), || Ok(())).unwrap()
    }

    #[test]
    fn a_load_is_claimed_once_and_stored() {
        let (flights, store) = (Flights::new(), Store::default());
        let Claimed::Load(loading) = claim(&flights, &store, b"k") else {
            panic!("not a load")
        };
        let Claimed::Wait(waiting) = claim(&flights, &store, b"k") else {
            panic!("not a wait")
        };
        assert!(waiting.poll().is_none());
        assert!(matches!(
            claim(&flights, &store, b"other"),
            Claimed::Load(_)
        ));
        assert_eq!(loading.finish(Ok(7), |v| store.put(b"k", *v)), Ok(7));
        assert_eq!(waiting.poll(), Some(Ok(7)));
        assert_eq!(waiting.wait(None), Ok(7));
        assert!(matches!(claim(&flights, &store, b"k"), Claimed::Hit(7)));
        assert_eq!(flights.in_flight(), 0);
    }

    #[test]
    fn a_failure_reaches_the_waiter_caches_nothing_and_the_next_claim_loads() {
        let (flights, store) = (Flights::new(), Store::default());
        let Claimed::Load(loading) = claim(&flights, &store, b"k") else {
            panic!()
        };
        let Claimed::Wait(waiting) = claim(&flights, &store, b"k") else {
            panic!()
        };
        let err = Error::LoadFailed {
            message: "db down".into(),
        };
        assert_eq!(
            loading.finish(Err(err.clone()), |_| panic!("stored a failure")),
            Err(err.clone())
        );
        assert_eq!(waiting.wait(None), Err(err));
        assert_eq!(store.get(b"k"), Ok(None));
        assert!(matches!(claim(&flights, &store, b"k"), Claimed::Load(_)));
    }

    #[test]
    fn an_abandoned_load_fails_its_waiters() {
        let (flights, store) = (Flights::new(), Store::default());
        let Claimed::Load(loading) = claim(&flights, &store, b"k") else {
            panic!()
        };
        let Claimed::Wait(waiting) = claim(&flights, &store, b"k") else {
            panic!()
        };
        drop(loading);
        let Some(Err(Error::LoadFailed { message })) = waiting.poll() else {
            panic!()
        };
        assert!(message.contains("without a result"), "{message}");
        assert_eq!(flights.in_flight(), 0);
    }

    #[test]
    fn a_superseded_load_gives_its_result_but_stores_nothing() {
        let (flights, store) = (Flights::new(), Store::default());
        let Claimed::Load(old) = claim(&flights, &store, b"k") else {
            panic!()
        };
        let Claimed::Wait(waiting) = claim(&flights, &store, b"k") else {
            panic!()
        };
        flights.supersede(b"k");
        // A new claim loads again, and its result is the one stored.
        let Claimed::Load(new) = claim(&flights, &store, b"k") else {
            panic!()
        };
        assert_eq!(new.finish(Ok(2), |v| store.put(b"k", *v)), Ok(2));
        assert_eq!(old.finish(Ok(1), |v| store.put(b"k", *v)), Ok(1));
        assert_eq!(waiting.wait(None), Ok(1));
        assert_eq!(store.get(b"k"), Ok(Some(2)));
        assert_eq!(flights.in_flight(), 0);
    }

    #[test]
    fn a_wait_times_out_while_the_load_runs() {
        let (flights, store) = (Flights::new(), Store::default());
        let Claimed::Load(_loading) = claim(&flights, &store, b"k") else {
            panic!()
        };
        let Claimed::Wait(waiting) = claim(&flights, &store, b"k") else {
            panic!()
        };
        let err = waiting.wait(Some(Duration::from_millis(20))).unwrap_err();
        assert_eq!(err, Error::LoadTimeout { waited_ms: 20 });
    }

    #[test]
    fn many_threads_on_one_missing_key_load_it_once() {
        const THREADS: usize = 16;
        for round in 0..50u32 {
            let (flights, store) = (Flights::new(), Store::default());
            let loads = AtomicUsize::new(0);
            let barrier = Barrier::new(THREADS);
            let results: Vec<u32> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..THREADS)
                    .map(|_| {
                        s.spawn(|| {
                            barrier.wait();
                            match claim(&flights, &store, b"hot") {
                                Claimed::Hit(v) => v,
                                Claimed::Wait(w) => w.wait(None).unwrap(),
                                Claimed::Load(l) => {
                                    loads.fetch_add(1, Ordering::Relaxed);
                                    std::thread::yield_now();
                                    l.finish(Ok(round), |v| store.put(b"hot", *v)).unwrap()
                                }
                            }
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            assert_eq!(loads.load(Ordering::Relaxed), 1, "round {round}");
            assert!(results.iter().all(|&v| v == round));
        }
    }
}

/// loom models of the protocol (run by `ci/loom`). Each thread claims the key and, if it is the
/// loader, finishes the load; the model checks, in every interleaving loom explores, that there
/// is exactly one load, that every caller gets its result (a waiter left asleep is a deadlock,
/// which loom reports), and that an error reaches everyone and stores nothing.
///
/// Each of these deliberate bugs makes a model fail (tried by hand, one at a time):
/// - `finish` leaves the map before it stores: a second load (`one_load...`);
/// - `claim` skips the look in the table under the shard lock: a second load (`one_load...`);
/// - `finish` does not notify: loom reports the sleeping waiters' deadlock (both models);
/// - a failed load stays in the map: the next caller gets the old error instead of loading
///   (`an_error...`);
/// - `claim_refresh` ignores a refresh in flight: two refreshes overlap (`refreshes...`).
#[cfg(all(test, rets_loom))]
mod loom_tests {
    use super::*;
    use crate::sync::AtomicUsize;
    use crate::sync::Ordering;
    use loom::thread;

    /// The stand-in table: one value, behind a lock of its own (as storage's shard locks).
    struct Store(Mutex<Option<u32>>);

    struct World {
        flights: Flights<u32>,
        store: Store,
        loads: AtomicUsize,
    }

    /// One caller of get_or_load: the value it got.
    fn get_or_load(world: &World, outcome: Result<u32>) -> Result<u32> {
        let claimed = world
            .flights
            .claim(b"k", || Ok(*world.store.0.lock()), || Ok(()))
            .unwrap();
        match claimed {
            Claimed::Hit(v) => Ok(v),
            Claimed::Wait(waiting) => waiting.wait(None),
            Claimed::Load(loading) => {
                world.loads.fetch_add(1, Ordering::Relaxed);
                loading.finish(outcome, |v| {
                    *world.store.0.lock() = Some(*v);
                    Ok(())
                })
            }
        }
    }

    fn world() -> Arc<World> {
        Arc::new(World {
            flights: Flights::new(),
            store: Store(Mutex::new(None)),
            loads: AtomicUsize::new(0),
        })
    }

    #[test]
    fn loom_single_flight_one_load_every_waiter_gets_the_value() {
        loom::model(|| {
            let w = world();
            let others: Vec<_> = (0..2)
                .map(|_| {
                    let w = w.clone();
                    thread::spawn(move || get_or_load(&w, Ok(42)))
                })
                .collect();
            assert_eq!(get_or_load(&w, Ok(42)), Ok(42));
            for t in others {
                assert_eq!(t.join().unwrap(), Ok(42));
            }
            assert_eq!(w.loads.load(Ordering::Relaxed), 1, "more than one load");
            assert_eq!(*w.store.0.lock(), Some(42));
        });
    }

    /// Refresh-ahead: two callers see a cached value due for refresh while a third reads. At
    /// most one refresh runs at a time, the reader gets the old or the refreshed value (never a
    /// load of its own), and the store ends with a refreshed value.
    #[test]
    fn loom_single_flight_refreshes_never_overlap() {
        loom::model(|| {
            let w = world();
            *w.store.0.lock() = Some(1);
            let running = Arc::new(AtomicUsize::new(0));
            let refreshers: Vec<_> = (0..2)
                .map(|_| {
                    let (w, running) = (w.clone(), running.clone());
                    thread::spawn(move || {
                        if let Some(loading) = w.flights.claim_refresh(b"k") {
                            assert_eq!(running.fetch_add(1, Ordering::SeqCst), 0, "overlap");
                            w.loads.fetch_add(1, Ordering::Relaxed);
                            running.fetch_sub(1, Ordering::SeqCst);
                            let stored = loading.finish(Ok(2), |v| {
                                *w.store.0.lock() = Some(*v);
                                Ok(())
                            });
                            assert_eq!(stored, Ok(2));
                        }
                    })
                })
                .collect();
            let got = get_or_load(
                &w,
                Err(Error::LoadFailed {
                    message: "x".into(),
                }),
            );
            assert!(matches!(got, Ok(1) | Ok(2)), "{got:?}");
            for t in refreshers {
                t.join().unwrap();
            }
            assert!((1..=2).contains(&w.loads.load(Ordering::Relaxed)));
            assert_eq!(*w.store.0.lock(), Some(2));
        });
    }

    #[test]
    fn loom_single_flight_an_error_reaches_every_waiter_and_is_not_cached() {
        loom::model(|| {
            let w = world();
            let failed = || {
                Err(Error::LoadFailed {
                    message: "down".into(),
                })
            };
            let other = {
                let w = w.clone();
                thread::spawn(move || get_or_load(&w, failed()))
            };
            let mine = get_or_load(&w, failed());
            let theirs = other.join().unwrap();
            // Each caller either shared a failed load or ran its own (after the first failed):
            // an error always, a value never, nothing stored.
            assert!(mine.is_err() && theirs.is_err());
            let loads = w.loads.load(Ordering::Relaxed);
            assert!((1..=2).contains(&loads));
            assert_eq!(*w.store.0.lock(), None);
            // The next caller loads again.
            assert_eq!(get_or_load(&w, Ok(7)), Ok(7));
            assert_eq!(w.loads.load(Ordering::Relaxed), loads + 1);
        });
    }
}
