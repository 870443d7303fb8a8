//! Storage: where a table's objects live. This is an internal boundary: the semantics layer
//! ([`crate::table`]) sees only [`Storage`] and [`Txn`], so storage can be replaced without
//! touching semantics. Hash tables (set, bag, duplicate_bag) and ordered_sets have separate
//! implementations behind the same operations:
//!
//! - `read(key, f)`: `f` sees the objects under `key` (none if absent);
//! - `write(keys, f)`: `f` reads and changes the objects under `keys` through a [`Txn`],
//!   atomically and in isolation;
//! - `clear`, `size`, `memory`;
//! - `step(from, direction, f)`: the key after (before) `from` in traversal order — the table's
//!   fixed internal order for a hash table, term order for an ordered_set — which is what makes
//!   first/next traversal safe under concurrent writers (no key twice, never a failure);
//! - `for_each(direction, f)`: every object, in traversal order, not a snapshot;
//! - `pin()`, `pin_owned()`: a [`ReadPin`], one reclamation guard held over many reads.
//! - `chunk(start, direction, max_keys, visit)`: the keys from `start` on in traversal order,
//!   up to `max_keys` of them, read under one guard with one descent (one probe sequence), so a
//!   range costs one search per chunk rather than one per key.

mod hash;
mod ordered;
mod pool;
pub(crate) mod reclaim;
pub(crate) mod seqlock;

use self::reclaim::{Guard, OwnedGuard, Protect};
use self::seqlock::Scratch;
use std::ops::ControlFlow;

use crate::cache::Expiry;
use crate::object::{Key, LookupKey, Object, ObjectRef, Objects};

/// Where a chunk starts, in its direction: at the first key, after a key, or at a key (the
/// key itself if present, else the one after). The key need not be in the table.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Start<'a> {
    First,
    After(&'a [u8]),
    At(&'a [u8]),
}

/// How a chunk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Chunk {
    /// Keys visited (each with all its objects).
    pub(crate) keys: usize,
    /// The walk reached the end of the table: no key after the last one visited (as of the
    /// chunk's read).
    pub(crate) exhausted: bool,
}

/// Which way a traversal goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Forward,
    Backward,
}

/// The objects of one table. (A table has one, inline in its `TableInner`: the size of the hash
/// variant, mostly its reclamation collector, costs nothing and saves an indirection per call.)
#[allow(clippy::large_enum_variant)]
pub(crate) enum Storage {
    Hash(hash::HashStorage),
    Ordered(ordered::OrderedStorage),
}

/// Where an eviction hand stands (see [`Storage::evict`]).
pub(crate) enum Hand {
    Hash(hash::Hand),
    Ordered(ordered::Hand),
}

/// The most uses an object's header counts: the eviction hand passes an object this many times
/// before evicting it, unless it is read again. 4 (quick_cache counts 2; 3 and 2 lost 0.001 to
/// 0.005 on the Zipf traces here, docs/CACHE.md).
pub(crate) const MAX_USES: u32 = 4;

/// The hand's look at an object's use count: counts one use down and says whether there was
/// one (then the object stays).
pub(crate) fn count_down(uses: &std::sync::atomic::AtomicU32) -> bool {
    let n = uses.load(std::sync::atomic::Ordering::Relaxed);
    if n != 0 {
        uses.store(n - 1, std::sync::atomic::Ordering::Relaxed);
    }
    n != 0
}

pub(crate) use crate::cache::policy::Name;

/// What [`Storage::evict_if_unused`] did with a key leaving probation.
pub(crate) enum Probation {
    /// Not in the table (deleted or evicted since).
    Absent,
    /// Used since written: kept (its use bit cleared).
    Used,
    /// Removed as expired: this many objects.
    Expired(usize),
    /// Evicted: this many objects.
    Evicted(usize),
}

/// What a writer that changes an object in place ([`Storage::change_in_place`]) decided,
/// having read it.
pub(crate) enum InPlace<R> {
    /// Write the edits, then return this.
    Write(R),
    /// Return this, with nothing changed.
    Done(R),
    /// Not in place: nothing changed, and the caller takes the transaction's way.
    GiveUp,
}

/// A write transaction over a fixed set of keys (see [`Storage::write`]).
pub(crate) enum Txn<'a> {
    Hash(hash::Txn<'a>),
    Ordered(ordered::Txn<'a, 'static>),
}

macro_rules! dispatch {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            Storage::Hash($s) => $e,
            Storage::Ordered($s) => $e,
        }
    };
}

impl Storage {
    /// Storage for a hash table (set, bag, duplicate_bag).
    pub(crate) fn hash() -> Storage {
        Storage::Hash(hash::new())
    }

    /// Storage for an ordered_set.
    pub(crate) fn ordered() -> Storage {
        Storage::Ordered(ordered::new())
    }

    /// Gives the storage the cache layer's lifetimes (every read filters expired objects
    /// through them) and, if `track_use`, makes readers mark what they use for eviction.
    pub(crate) fn with_cache(self, expiry: Expiry, track_use: bool) -> Storage {
        match self {
            Storage::Hash(s) => Storage::Hash(s.with_cache(expiry, track_use)),
            Storage::Ordered(s) => Storage::Ordered(s.with_cache(expiry, track_use)),
        }
    }

    /// The storage's lifetimes.
    pub(crate) fn expiry(&self) -> &Expiry {
        dispatch!(self, s => s.expiry())
    }

    /// Objects removed so far because they had expired.
    pub(crate) fn expired_count(&self) -> u64 {
        dispatch!(self, s => s.expired_count())
    }

    /// Removes every expired object; returns how many.
    pub(crate) fn purge_expired(&self) -> usize {
        dispatch!(self, s => s.purge_expired())
    }

    /// Evicts objects by the storage's policy (see `crate::cache::policy`) while `full()`;
    /// returns `(evicted, expired)` object counts.
    pub(crate) fn evict(&self, hand: &mut Hand, full: impl FnMut() -> bool) -> (usize, usize) {
        match (self, hand) {
            (Storage::Hash(s), Hand::Hash(h)) => s.evict(h, full),
            (Storage::Ordered(s), Hand::Ordered(h)) => s.evict(h, full),
            _ => unreachable!("a hand is made for its storage"),
        }
    }

    /// The name probation keeps for `key` (see [`Name`]).
    pub(crate) fn probation_name(&self, key: &[u8]) -> Name {
        match self {
            Storage::Hash(s) => Name::Hash(s.hash_of(key)),
            Storage::Ordered(_) => Name::Key(key.into()),
        }
    }

    /// Evicts the object named `name` (see [`Storage::probation_name`]) unless a reader used it
    /// since it was written or last looked at (then clears its use count).
    pub(crate) fn evict_if_unused(&self, name: &Name) -> Probation {
        match (self, name) {
            (Storage::Hash(s), Name::Hash(hash)) => s.evict_if_unused(*hash),
            (Storage::Ordered(s), Name::Key(key)) => s.evict_if_unused(key),
            _ => unreachable!("a name is made by its storage"),
        }
    }

    /// A new eviction hand for this storage.
    pub(crate) fn new_hand(&self) -> Hand {
        match self {
            Storage::Hash(_) => Hand::Hash(Default::default()),
            Storage::Ordered(_) => Hand::Ordered(Default::default()),
        }
    }

    /// Calls `f` with the objects stored under `key` (none if the key is absent).
    #[inline]
    pub(crate) fn read<R>(&self, key: LookupKey<'_>, f: impl FnOnce(Objects<'_>) -> R) -> R {
        let guard = dispatch!(self, s => s.collector().enter());
        let mut scratch = Scratch::new();
        // SAFETY: `guard` was entered on this storage's collector, and outlives `f`'s borrow.
        f(unsafe { self.objects_in(&guard, key, &mut scratch) })
    }

    /// The objects under `key`, borrowed for as long as `guard` (or copied into `scratch`, if
    /// they change in place). (Reads call their `f` once, here, so that the compiler inlines
    /// it: called from each storage's branch, it did not.)
    ///
    /// # Safety
    /// `guard` was entered on this storage's collector.
    #[inline]
    unsafe fn objects_in<'g>(
        &'g self,
        guard: &'g impl Protect,
        key: LookupKey<'_>,
        scratch: &'g mut Scratch,
    ) -> Objects<'g> {
        // SAFETY: forwarded contract.
        unsafe {
            match self {
                Storage::Hash(s) => s.objects_in(guard, key, scratch),
                Storage::Ordered(s) => s.objects_in(guard, key.bytes(), scratch),
            }
        }
    }

    /// A reader's hold on the storage for many reads from this thread: one guard entered
    /// once, so a read through it skips entering and leaving one (see [`ReadPin`]).
    pub(crate) fn pin(&self) -> ReadPin<'_, Guard<'_>> {
        let guard = dispatch!(self, s => s.collector().enter());
        ReadPin {
            storage: self,
            guard,
        }
    }

    /// [`Storage::pin`] with a guard that may move between threads.
    pub(crate) fn pin_owned(&self) -> ReadPin<'_, OwnedGuard<'_>> {
        let guard = dispatch!(self, s => s.collector().enter_owned());
        ReadPin {
            storage: self,
            guard,
        }
    }

    /// The deadline of the live object(s) under `key` (0: never), `None` if there are none.
    pub(crate) fn deadline_of(&self, key: &[u8]) -> Option<u64> {
        dispatch!(self, s => s.deadline_of(key))
    }

    /// Changes the object under `key` in place, without a transaction, where the storage keeps
    /// it changeable (an object stored by an update, on a set or an ordered_set: see
    /// `HashStorage::change_in_place`, `OrderedStorage::change_in_place`). `plan` reads the
    /// object (its result goes to `state`) and decides; on [`InPlace::Write`], `edit` is called
    /// with `state` and a function that applies `(offset, bytes)` edits to the object, which
    /// readers see all at once. `None`: the key is absent, its object is not changeable here,
    /// or `plan` gave up; nothing changed.
    #[inline]
    pub(crate) fn change_in_place<S, R>(
        &self,
        key: &[u8],
        state: &mut S,
        plan: impl FnOnce(&mut S, ObjectRef<'_>) -> InPlace<R>,
        edit: impl FnOnce(&S, &mut dyn FnMut(&[(usize, &[u8])])),
    ) -> Option<R> {
        match self {
            Storage::Hash(s) => s.change_in_place(key, state, plan, edit),
            Storage::Ordered(s) => s.change_in_place(key, state, plan, edit),
        }
    }

    /// Runs `f` on the objects under `keys`, atomically and in isolation; `f` may only touch
    /// the keys it named.
    pub(crate) fn write<R>(&self, keys: &[&[u8]], f: impl FnOnce(&mut Txn<'_>) -> R) -> R {
        match self {
            Storage::Hash(s) => {
                let mut txn = Txn::Hash(s.begin(keys));
                let result = f(&mut txn);
                if let Txn::Hash(txn) = txn {
                    txn.commit();
                }
                result
            }
            Storage::Ordered(s) => s.write(keys, |t| f(&mut Txn::Ordered(t))),
        }
    }

    /// [`Storage::write`] for one key, by a writer that never removes it (it may add it,
    /// replace its objects or leave them). An ordered_set then lets such writers of different
    /// keys run in parallel, unless the write splits a leaf; hash storage runs them as any write
    /// (writers of different shards already do).
    pub(crate) fn write_in_place<R>(&self, key: &[u8], f: impl FnOnce(&mut Txn<'_>) -> R) -> R {
        match self {
            Storage::Hash(_) => self.write(&[key], f),
            Storage::Ordered(s) => s.write_in_place(key, |t| f(&mut Txn::Ordered(t))),
        }
    }

    /// A [`Storage::write_in_place`] that replaces `key`'s objects with `object` (whose key is
    /// `key`), borrowed until it is published, with the deadline `expires_at` (as
    /// [`Txn::set_expires_at`]), if `check` passes: it runs once the writer holds the key's
    /// lock, before anything is staged, and its error is returned with nothing changed. With
    /// `only_if_absent` (insert_new), a key found present is left as it is. Returns whether it
    /// stored `object`. Hash storage builds the key's new node straight from `object`'s bytes;
    /// an ordered_set copies them into an [`Object`] first.
    pub(crate) fn replace_in_place<'k, E>(
        &'k self,
        key: &'k [u8],
        object: ObjectRef<'k>,
        expires_at: u64,
        only_if_absent: bool,
        check: impl FnOnce() -> Result<(), E>,
    ) -> Result<bool, E> {
        match self {
            Storage::Hash(s) => hash_one(s, key, check, |txn| {
                if only_if_absent && txn.get(key).len() > 0 {
                    return false;
                }
                txn.replace_view(key, object, expires_at);
                true
            }),
            Storage::Ordered(s) => s.write_in_place(key, |mut t| {
                check()?;
                if only_if_absent && t.get(key).len() > 0 {
                    return Ok(false);
                }
                t.replace_view(key, object, expires_at);
                Ok(true)
            }),
        }
    }

    /// A [`Storage::write_one`] that removes `key`'s objects, if `check` passes: it runs once
    /// the writer holds the key's lock, and its error is returned with nothing changed.
    pub(crate) fn remove_one<E>(
        &self,
        key: &[u8],
        check: impl FnOnce() -> Result<(), E>,
    ) -> Result<(), E> {
        match self {
            Storage::Hash(s) => hash_one(s, key, check, |txn| txn.remove(key)),
            Storage::Ordered(s) => s.write_one(key, true, |t| {
                check()?;
                Txn::Ordered(t).remove(key);
                Ok(())
            }),
        }
    }

    /// [`Storage::write`] for one key, by a writer that may also remove it. On an ordered_set
    /// such writers of different leaves run in parallel unless the write could reshape the
    /// tree (see `OrderedStorage::write_one`).
    pub(crate) fn write_one<R>(&self, key: &[u8], f: impl FnOnce(&mut Txn<'_>) -> R) -> R {
        match self {
            Storage::Hash(_) => self.write(&[key], f),
            Storage::Ordered(s) => s.write_one(key, true, |t| f(&mut Txn::Ordered(t))),
        }
    }

    /// Removes every object, atomically and in isolation.
    pub(crate) fn clear(&self) {
        dispatch!(self, s => s.clear())
    }

    /// The number of objects.
    pub(crate) fn size(&self) -> usize {
        dispatch!(self, s => s.size())
    }

    /// Bytes held by the objects and the storage around them.
    pub(crate) fn memory(&self) -> usize {
        dispatch!(self, s => s.memory())
    }

    /// The key after `from` in traversal order (the first key if `from` is `None`), going in
    /// `direction`, and `f` applied to its objects. `from` need not be in the table.
    pub(crate) fn step<R>(
        &self,
        from: Option<&[u8]>,
        direction: Direction,
        f: impl FnOnce(Objects<'_>) -> R,
    ) -> Option<(Key, R)> {
        match self {
            // Hash tables traverse forward only: `Table::direction` never asks them backward.
            Storage::Hash(s) => s.step(from, f),
            Storage::Ordered(s) => s.step(from, direction, f),
        }
    }

    /// Calls `visit(key, objects)` on each key from `start` on in traversal order (`direction`:
    /// forward only on a hash table), until it has visited `max_keys` keys, `visit` breaks, or
    /// the table ends. The whole chunk is read under one guard: one descent on an ordered_set
    /// (then leaf by leaf), one probe sequence per shard on a hash table. Expired objects are
    /// never visited.
    ///
    /// A chunk has the traversal guarantee of `step` (it is `max_keys` steps taken at once): no
    /// key twice, and every key present throughout after `start` visited, in order. On an
    /// ordered_set it also reads one tree (root): a multi-key write is in it whole or not at all,
    /// while one-key writes meanwhile may be seen in the leaves it has not reached yet.
    pub(crate) fn chunk(
        &self,
        start: Start<'_>,
        direction: Direction,
        max_keys: usize,
        visit: impl FnMut(&[u8], Objects<'_>) -> ControlFlow<()>,
    ) -> Chunk {
        match self {
            Storage::Hash(s) => {
                debug_assert_eq!(direction, Direction::Forward, "hash tables go forward only");
                s.chunk(start, max_keys, visit)
            }
            Storage::Ordered(s) => s.chunk(start, direction, max_keys, visit),
        }
    }

    /// Calls `f` on every object in traversal order; not a snapshot.
    pub(crate) fn for_each(&self, direction: Direction, f: impl FnMut(ObjectRef<'_>)) {
        match self {
            Storage::Hash(s) => {
                debug_assert_eq!(direction, Direction::Forward, "hash tables go forward only");
                s.for_each(f)
            }
            Storage::Ordered(s) => s.for_each(direction, f),
        }
    }
}

/// A one-key write on its own hash transaction (not moved into and out of a [`Txn`]): `check`
/// once the key's shard mutex is held, then `stage`, then the commit. On `check`'s error the
/// transaction is dropped uncommitted: nothing is published.
#[inline]
fn hash_one<'k, E, R>(
    storage: &'k hash::HashStorage,
    key: &'k [u8],
    check: impl FnOnce() -> Result<(), E>,
    stage: impl FnOnce(&mut hash::Txn<'k>) -> R,
) -> Result<R, E> {
    let mut txn = storage.begin(&[key]);
    check()?;
    let result = stage(&mut txn);
    // (A transaction that staged nothing publishes nothing.)
    txn.commit();
    Ok(result)
}

/// A storage and a guard entered on its collector, held together (so that reads through the
/// guard are reads of the storage it protects). While it lives, nothing a read through it
/// loaded is freed, and neither is anything retired meanwhile: a long hold keeps memory (see
/// [`ReadPin::refresh`]).
pub(crate) struct ReadPin<'s, G> {
    storage: &'s Storage,
    guard: G,
}

impl<G: Protect> ReadPin<'_, G> {
    /// [`Storage::read`] through the held guard.
    #[inline]
    pub(crate) fn read<R>(&self, key: LookupKey<'_>, f: impl FnOnce(Objects<'_>) -> R) -> R {
        let mut scratch = Scratch::new();
        // SAFETY: `guard` was entered on this storage's collector (`Storage::pin`,
        // `Storage::pin_owned` make the pair; its fields are private).
        f(unsafe { self.storage.objects_in(&self.guard, key, &mut scratch) })
    }
}

impl ReadPin<'_, Guard<'_>> {
    /// Lets what was retired so far be freed (as dropping the pin and taking a new one).
    pub(crate) fn refresh(&mut self) {
        self.guard.refresh();
    }
}

#[cfg(not(rets_loom))]
impl ReadPin<'_, OwnedGuard<'_>> {
    /// As for the thread-bound pin.
    pub(crate) fn refresh(&mut self) {
        self.guard.refresh();
    }
}

impl Txn<'_> {
    /// The objects stored under `key`.
    pub(crate) fn get(&mut self, key: &[u8]) -> Objects<'_> {
        match self {
            Txn::Hash(t) => t.get(key),
            Txn::Ordered(t) => t.get(key),
        }
    }

    /// Calls `f` with the objects under `key` (empty if none) to change them in place; an empty
    /// vector afterwards removes the key. New objects must have a key equal to `key`.
    pub(crate) fn update<R>(&mut self, key: &[u8], f: impl FnOnce(&mut Vec<Object>) -> R) -> R {
        match self {
            Txn::Hash(t) => t.update(key, f),
            Txn::Ordered(t) => t.update(key, f),
        }
    }

    /// Removes the objects under `key` (if any) without reading them first.
    pub(crate) fn remove(&mut self, key: &[u8]) {
        match self {
            Txn::Hash(t) => t.remove(key),
            Txn::Ordered(t) => t.remove(key),
        }
    }

    /// Drops every change staged so far: the transaction then publishes nothing. A write that
    /// fails after staging part of its changes calls it, so that a failed write changes nothing.
    pub(crate) fn discard(&mut self) {
        match self {
            Txn::Hash(t) => t.discard(),
            Txn::Ordered(t) => t.discard(),
        }
    }

    /// Sets the deadline (0: never) the objects under `key` get if the transaction changes them;
    /// without it, changed objects keep their old deadline.
    pub(crate) fn set_expires_at(&mut self, key: &[u8], at: u64) {
        match self {
            Txn::Hash(t) => t.set_expires_at(key, at),
            Txn::Ordered(t) => t.set_expires_at(key, at),
        }
    }

    /// Replaces the objects under `key` with `object` without reading them first. Its key must
    /// be equal to `key`.
    pub(crate) fn replace(&mut self, key: &[u8], object: Object) {
        match self {
            Txn::Hash(t) => t.replace(key, object),
            Txn::Ordered(t) => t.replace(key, object),
        }
    }

    /// [`Txn::replace`] with an object stored by an update (update_counter, update_element),
    /// which later updates that keep its elements' widths may change in place
    /// ([`Txn::overwrite`], [`Storage::change_in_place`]) where the storage can.
    pub(crate) fn replace_changeable(&mut self, key: &[u8], object: Object) {
        match self {
            Txn::Hash(t) => t.replace_changeable(key, object),
            Txn::Ordered(t) => t.replace_changeable(key, object),
        }
    }

    /// Changes bytes of the object under `key` in place, if the storage keeps it changeable
    /// (an object stored by [`Txn::replace_changeable`], unchanged by this transaction, on a set
    /// or an ordered_set): each `(offset, bytes)` of `edits` overwrites the object's bytes from
    /// `offset`, outside its key. Readers see all of the edits or none. Returns whether it did;
    /// if not, nothing changed and the caller replaces the object instead.
    pub(crate) fn overwrite(&mut self, key: &[u8], edits: &[(usize, &[u8])]) -> bool {
        match self {
            Txn::Hash(t) => t.overwrite(key, edits),
            Txn::Ordered(t) => t.overwrite(key, edits),
        }
    }
}

#[cfg(all(test, not(rets_loom)))]
mod tests {
    use super::*;
    use crate::object::ToObject;
    use crate::term::Term;

    /// `[5, value]`, whose value is its third byte (both are positive fixints).
    fn counter(value: i64) -> Object {
        Term::Array(vec![Term::Int(5), Term::Int(value)])
            .to_object(1)
            .unwrap()
    }

    const KEY: &[u8] = &[5];

    fn value(storage: &Storage) -> Vec<u8> {
        storage.read(LookupKey::new(KEY), |mut objects| {
            objects.next().unwrap().as_msgpack().to_vec()
        })
    }

    /// Whether an in-place edit of the value to 7 is taken, after `store` wrote the object
    /// (and, if `same_txn`, in the same transaction).
    fn overwrites(storage: &Storage, store: fn(&mut Txn<'_>, Object), same_txn: bool) -> bool {
        let edit: &[(usize, &[u8])] = &[(2, &[7])];
        let done = storage.write_in_place(KEY, |txn| {
            store(txn, counter(1));
            same_txn && txn.overwrite(KEY, edit)
        });
        let done =
            done || (!same_txn && storage.write_in_place(KEY, |txn| txn.overwrite(KEY, edit)));
        let expected = if done { counter(7) } else { counter(1) };
        assert_eq!(value(storage), expected.as_msgpack());
        done
    }

    /// A counter stored by `replace_changeable` is changed in place by a later transaction, and
    /// by nothing else: not a plain object, not within the transaction that stored it, not on
    /// a table that counts uses; on a set and on an ordered_set alike.
    #[test]
    fn only_a_stored_counter_changes_in_place() {
        let counter_store = |txn: &mut Txn<'_>, o| txn.replace_changeable(KEY, o);
        let plain_store = |txn: &mut Txn<'_>, o| txn.replace(KEY, o);
        for storage in [Storage::hash, Storage::ordered] {
            assert!(overwrites(&storage(), counter_store, false));
            assert!(!overwrites(&storage(), plain_store, false));
            assert!(!overwrites(&storage(), counter_store, true));
            let counting = storage().with_cache(Expiry::default(), true);
            assert!(!overwrites(&counting, counter_store, false));
        }
    }
}
