//! Read-through: [`Table::get_or_load`] and the claim/fill protocol it is built on
//! ([`Table::claim_load`]), over the table's single-flight map (`cache::flight`).

use std::fmt;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::cache::flight::{Claimed, Loading, Waiting};
use crate::cache::InsertOptions;
use crate::error::{Error, Result};
use crate::object::{Key, LookupKey, Object, ToKey, ToObject};

use super::{Need, Table};

/// What a loader returns: an object to cache, and how long it lives.
#[derive(Debug, Clone)]
pub struct Loaded<O> {
    object: O,
    ttl: Option<Duration>,
}

impl<O: ToObject> Loaded<O> {
    /// The object to cache, with the table's lifetime (its `ttl`, if it has one).
    pub fn new(object: O) -> Loaded<O> {
        Loaded { object, ttl: None }
    }

    /// The object lives `ttl` from when it is stored, instead of the table's lifetime (what a
    /// data source says of its data: an HTTP max-age, a token's expiry).
    pub fn ttl(mut self, ttl: Duration) -> Loaded<O> {
        self.ttl = Some(ttl);
        self
    }
}

/// Anything a loader may return: an object ([`ToObject`]) or a [`Loaded`].
pub trait IntoLoaded {
    /// The object's type.
    type Object: ToObject;
    /// The object, with how to cache it.
    fn into_loaded(self) -> Loaded<Self::Object>;
}

impl<T: ToObject> IntoLoaded for T {
    type Object = T;
    fn into_loaded(self) -> Loaded<T> {
        Loaded::new(self)
    }
}

impl<O: ToObject> IntoLoaded for Loaded<O> {
    type Object = O;
    fn into_loaded(self) -> Loaded<O> {
        self
    }
}

/// The answer of [`Table::claim_load`].
#[derive(Debug)]
pub enum Claim {
    /// The object is in the table.
    Cached(Object),
    /// The caller loads the key: it must [`LoadTicket::fill`] or [`LoadTicket::fail`] the ticket
    /// (dropping it unfinished fails the load for every waiter).
    Load(LoadTicket),
    /// Another caller is loading the key: wait for its result with the ticket.
    Wait(WaitTicket),
    /// ([`Table::claim_load_refreshing`]) The object is cached but past the refresh age, and
    /// the caller refreshes it: use the object now, reload it, and fill or fail the ticket
    /// (failing keeps the cached object until it expires).
    Refresh(Object, LoadTicket),
}

/// The duty to load one key and finish its load, given to exactly one caller at a time.
pub struct LoadTicket {
    table: Table,
    key: Key,
    /// `None` once finished.
    loading: Option<Loading<Object>>,
    /// When the load was claimed: its duration goes to the table's stats.
    started: Instant,
}

impl fmt::Debug for LoadTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadTicket")
            .field("key", &self.key)
            .finish()
    }
}

/// A wait on another caller's load. Cheap to clone; it stays valid (and gets the load's result)
/// even if the table is deleted meanwhile.
#[derive(Clone)]
pub struct WaitTicket(Waiting<Object>);

impl fmt::Debug for WaitTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WaitTicket")
    }
}

impl LoadTicket {
    /// The key to load.
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// Validates `object` as this load's result without finishing the load: it must be a valid
    /// object whose key is the key being loaded. On error the ticket is still open.
    pub fn check(&self, object: impl ToObject) -> Result<Object> {
        let object = self.table.object(object)?;
        if object.key_msgpack() != self.key.as_msgpack() {
            return Err(Error::BadArgument(format!(
                "the loaded object's key {} is not the key being loaded, {}",
                object.key(),
                self.key
            )));
        }
        Ok(object)
    }

    /// Finishes the load with `loaded`: stores it in the table and gives it to every waiter.
    /// An invalid object, or a failed store (the table deleted, for one), fails the load for
    /// everyone with that error, and nothing is cached.
    pub fn fill(mut self, loaded: impl IntoLoaded) -> Result<Object> {
        let loaded = loaded.into_loaded();
        let result = self.check(loaded.object);
        let options = InsertOptions { ttl: loaded.ttl };
        let table = &self.table;
        let result = self
            .loading
            .take()
            .expect("an unfinished load")
            .finish(result, |object| table.insert_with(object.clone(), options));
        self.record(result.is_ok());
        result
    }

    /// Fails the load: every waiter gets [`Error::LoadFailed`] with `message`; nothing is
    /// cached, and the next caller loads again. Returns that error.
    pub fn fail(mut self, message: impl Into<String>) -> Error {
        let error = Error::LoadFailed {
            message: message.into(),
        };
        self.loading
            .take()
            .expect("an unfinished load")
            .finish(Err(error.clone()), |_| Ok(()))
            .expect_err("a failed load stays failed");
        self.record(false);
        error
    }

    /// A wait on this load, to hand to code that did not claim it.
    pub fn wait_ticket(&self) -> WaitTicket {
        WaitTicket(self.loading.as_ref().expect("an unfinished load").waiting())
    }

    /// Counts the load in the table's stats (loads, failures, load time).
    fn record(&self, ok: bool) {
        if let Some(cache) = &self.table.inner.cache {
            cache.stats.record_load(self.started.elapsed(), ok);
        }
    }
}

impl Drop for LoadTicket {
    /// An abandoned load (dropped unfinished) fails for its waiters (see `Loading`) and counts
    /// as a failed load.
    fn drop(&mut self) {
        if self.loading.take().is_some() {
            self.record(false);
        }
    }
}

impl WaitTicket {
    /// Waits until the load finishes: its object, or its error.
    pub fn wait(&self) -> Result<Object> {
        self.0.wait(None)
    }

    /// Waits at most `timeout`: [`Error::LoadTimeout`] if the load is still running then (the
    /// load itself goes on; wait again or poll).
    pub fn wait_timeout(&self, timeout: Duration) -> Result<Object> {
        self.0.wait(Some(timeout))
    }

    /// The load's result if it has finished, without blocking.
    pub fn poll(&self) -> Option<Result<Object>> {
        self.0.poll()
    }
}

impl Table {
    /// Claims the read-through load of `key` without blocking (on a set or ordered_set): the
    /// cached object, the duty to load it ([`Claim::Load`]), or a ticket to wait for another
    /// caller's load of it ([`Claim::Wait`]). At most one caller holds a load of a key at a time.
    ///
    /// Needs read access; becoming the loader needs write access (the result is stored).
    /// Keys are compared by their canonical encoding: on an ordered_set, `1` and `1.0` load
    /// separately.
    pub fn claim_load(&self, key: impl ToKey) -> Result<Claim> {
        self.check("get_or_load", Need::Read)?;
        self.only_sets("get_or_load")?;
        key.with_key(|key| {
            let found = self.cached(key)?;
            if let Some(cache) = &self.inner.cache {
                cache.count_read(found.is_some());
            }
            if let Some(object) = found {
                return Ok(Claim::Cached(object));
            }
            let claimed = self.inner.flights.claim(
                key,
                || self.cached(key),
                || self.check("get_or_load", Need::Write),
            )?;
            Ok(match claimed {
                Claimed::Hit(object) => Claim::Cached(object),
                Claimed::Wait(waiting) => Claim::Wait(WaitTicket(waiting)),
                Claimed::Load(loading) => Claim::Load(LoadTicket {
                    table: self.clone(),
                    key: Key::from_canonical(key),
                    loading: Some(loading),
                    started: Instant::now(),
                }),
            })
        })?
    }

    /// The object with `key`, loaded by `loader` on a miss (read-through, on a set or
    /// ordered_set). On a miss exactly one caller runs its loader for the key; concurrent
    /// callers of the same key wait for that load instead of loading again. The loaded object
    /// (its key must be `key`) is inserted and returned to all of them. A loader error (its
    /// `Display`) or panic reaches every waiter as [`Error::LoadFailed`] and nothing is cached:
    /// the next call loads again. A panic continues in the loader's own thread.
    ///
    /// Write back and invalidation: after changing the data source, call
    /// [`Table::invalidate`], so that a load that read the old data does not cache it.
    pub fn get_or_load<L, E>(
        &self,
        key: impl ToKey,
        loader: impl FnOnce(&Key) -> std::result::Result<L, E>,
    ) -> Result<Object>
    where
        L: IntoLoaded,
        E: fmt::Display,
    {
        self.get_or_load_inner(key, None, loader)
    }

    /// [`Table::get_or_load`], waiting at most `timeout` for another caller's load
    /// ([`Error::LoadTimeout`] then; that load goes on).
    pub fn get_or_load_timeout<L, E>(
        &self,
        key: impl ToKey,
        timeout: Duration,
        loader: impl FnOnce(&Key) -> std::result::Result<L, E>,
    ) -> Result<Object>
    where
        L: IntoLoaded,
        E: fmt::Display,
    {
        self.get_or_load_inner(key, Some(timeout), loader)
    }

    fn get_or_load_inner<L, E>(
        &self,
        key: impl ToKey,
        timeout: Option<Duration>,
        loader: impl FnOnce(&Key) -> std::result::Result<L, E>,
    ) -> Result<Object>
    where
        L: IntoLoaded,
        E: fmt::Display,
    {
        settle(self.claim_load(key)?, timeout, loader)
    }

    /// [`Table::get_or_load`] with refresh-ahead, on a table with a `ttl`: a cached object
    /// older than `refresh_after` is still returned at once to every caller but one, and that
    /// one caller (the first to see it) reloads it with `loader`, stores the fresh object and
    /// returns it, so a key read often never misses when it expires. The refresh is
    /// single-flight: while it runs, other callers get the cached object without loading or
    /// waiting (and, if it expires meanwhile, wait for the refresh like for any load). A failed
    /// refresh keeps the old object until it expires and returns it; the next read past
    /// `refresh_after` tries again.
    ///
    /// An object's age is the table's `ttl` minus what is left of its lifetime, so for objects
    /// stored with a lifetime of their own it is measured as if they had the table's.
    /// Refreshing needs write access; a caller without it gets the cached object.
    pub fn get_or_load_refreshing<L, E>(
        &self,
        key: impl ToKey,
        refresh_after: Duration,
        loader: impl FnOnce(&Key) -> std::result::Result<L, E>,
    ) -> Result<Object>
    where
        L: IntoLoaded,
        E: fmt::Display,
    {
        settle(
            self.claim_load_refreshing(key, refresh_after)?,
            None,
            loader,
        )
    }

    /// [`Table::claim_load`] with refresh-ahead (see [`Table::get_or_load_refreshing`]): a
    /// cached object past `refresh_after` is [`Claim::Refresh`] for the one caller that
    /// refreshes it, and [`Claim::Cached`] for everyone else meanwhile. Never blocks, so an
    /// event loop answers with the cached object and refreshes in the background.
    pub fn claim_load_refreshing(&self, key: impl ToKey, refresh_after: Duration) -> Result<Claim> {
        self.check("get_or_load", Need::Read)?;
        self.only_sets("get_or_load")?;
        let expiry = self.inner.storage.expiry();
        let ttl = expiry.ttl_nanos();
        if ttl == 0 {
            return Err(Error::BadArgument(
                "refresh-ahead needs a table with a ttl (an object's age is measured against it)"
                    .into(),
            ));
        }
        let key = key.with_key(Key::from_canonical)?;
        let bytes = key.as_msgpack();
        let Some(cached) = self.cached(bytes)? else {
            return self.claim_load(&key);
        };
        if let Some(cache) = &self.inner.cache {
            cache.count_read(true);
        }
        let refresh_after = u64::try_from(refresh_after.as_nanos()).unwrap_or(u64::MAX);
        let due = match self.inner.storage.deadline_of(bytes) {
            Some(at) if at != 0 => {
                expiry.now().saturating_sub(at.saturating_sub(ttl)) >= refresh_after
            }
            _ => false,
        };
        if !due || self.check("get_or_load", Need::Write).is_err() {
            return Ok(Claim::Cached(cached));
        }
        Ok(match self.inner.flights.claim_refresh(bytes) {
            None => Claim::Cached(cached),
            Some(loading) => Claim::Refresh(
                cached,
                LoadTicket {
                    table: self.clone(),
                    key: key.clone(),
                    loading: Some(loading),
                    started: Instant::now(),
                },
            ),
        })
    }

    /// Removes `key` (as [`Table::delete`]) and detaches any load of it in flight, whose result
    /// then goes to its waiters but is not cached: call it after changing the data source, so
    /// that a load that read the old data cannot cache it after the change.
    pub fn invalidate(&self, key: impl ToKey) -> Result<()> {
        self.check("invalidate", Need::Write)?;
        key.with_key(|key| {
            self.inner.flights.supersede(key);
            self.write_one(key, |txn| {
                txn.remove(key);
                Ok(())
            })
        })?
    }

    /// The object with `key` on a set, copied out.
    fn cached(&self, key: &[u8]) -> Result<Option<Object>> {
        Ok(self.inner.storage.read(LookupKey::new(key), |mut objects| {
            objects.next().map(|o| o.to_object())
        }))
    }
}

/// Turns a claim into the object: cached, waited for (at most `timeout`), loaded, or refreshed
/// (a failed refresh gives the cached object).
fn settle<L, E>(
    claim: Claim,
    timeout: Option<Duration>,
    loader: impl FnOnce(&Key) -> std::result::Result<L, E>,
) -> Result<Object>
where
    L: IntoLoaded,
    E: fmt::Display,
{
    match claim {
        Claim::Cached(object) => Ok(object),
        Claim::Wait(ticket) => ticket.0.wait(timeout),
        Claim::Load(ticket) => run_loader(ticket, loader),
        Claim::Refresh(cached, ticket) => Ok(run_loader(ticket, loader).unwrap_or(cached)),
    }
}

/// Runs `loader` for the load `ticket` holds and finishes it with the result: filled with the
/// loaded object, or failed with the loader's error (its `Display`) or panic, which then goes on
/// in this thread.
fn run_loader<L, E>(
    ticket: LoadTicket,
    loader: impl FnOnce(&Key) -> std::result::Result<L, E>,
) -> Result<Object>
where
    L: IntoLoaded,
    E: fmt::Display,
{
    match catch_unwind(AssertUnwindSafe(|| loader(ticket.key()))) {
        Ok(Ok(loaded)) => ticket.fill(loaded),
        Ok(Err(error)) => Err(ticket.fail(error.to_string())),
        Err(panic) => {
            let text = panic
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("(no message)");
            ticket.fail(format!("the loader panicked: {text}"));
            resume_unwind(panic)
        }
    }
}
