//! Tables: ETS's semantics over the storage layer.
//!
//! A [`Table`] is a handle: the table itself plus the owner the handle acts for. Every call
//! checks, in this order, that the table still exists, that the owner the handle acts for is
//! open, and that the table's access mode lets that owner do the operation. Handles are cheap to
//! clone and are `Send + Sync`.

mod cache;
mod file;
mod info;
mod load;
mod options;
mod pin;
mod select;
mod traverse;
mod update;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::cache::flight::Flights;
use crate::cache::{CacheState, InsertOptions};
use crate::error::{Error, Result};
use crate::object::{self, Key, Object, ObjectCow, Objects, ToKey, ToObject};
use crate::owner::{self, Owner, OwnerId, OwnerInner, WeakOwner};
use crate::storage::{Direction, InPlace, Storage, Txn};
use crate::sync::{AtomicBool, AtomicU64, Ordering};
use crate::term::{limits, Term};

pub use info::Info;
pub use load::{Claim, IntoLoaded, LoadTicket, Loaded, WaitTicket};
pub use options::{Access, TableOptions, TableType};
pub use pin::{OwnedPin, Pinned};
pub use select::Continuation;
pub use traverse::{Iter, DEFAULT_CHUNK_KEYS};
pub use update::CounterOp;

/// What may change about a table over its life; swapped whole (under the lifecycle lock).
#[derive(Clone)]
pub(crate) struct Meta {
    pub(crate) name: String,
    pub(crate) named: bool,
    pub(crate) owner: WeakOwner,
    pub(crate) heir: Option<(WeakOwner, Term)>,
}

/// The table itself, shared by every handle, its owner and the registry.
pub(crate) struct TableInner {
    pub(crate) id: u64,
    pub(crate) table_type: TableType,
    pub(crate) keypos: usize,
    pub(crate) access: Access,
    pub(crate) read_concurrency: bool,
    pub(crate) write_concurrency: bool,
    /// The owner's id, read on every access check.
    pub(crate) owner: AtomicU64,
    pub(crate) deleted: AtomicBool,
    pub(crate) meta: ArcSwap<Meta>,
    pub(crate) storage: Storage,
    /// Read-through loads in flight (`Table::get_or_load`, `Table::claim_load`).
    pub(crate) flights: Flights<Object>,
    /// The cache layer's state (stats, bounds), for tables with cache options.
    pub(crate) cache: Option<Box<CacheState>>,
}

impl TableInner {
    pub(crate) fn new(
        owner: &Arc<OwnerInner>,
        name: &str,
        options: TableOptions,
    ) -> Result<TableInner> {
        // An id counter, not part of any protocol (std's atomic: loom's cannot be a static).
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let keypos = options.keypos.unwrap_or(1);
        if keypos == 0 {
            return Err(Error::BadArgument("keypos must be at least 1".into()));
        }
        cache::check(&options.cache)?;
        let heir = options
            .heir
            .filter(|(heir, _)| heir.id != owner.id)
            .map(|(heir, gift)| (Arc::downgrade(&heir), gift));
        Ok(TableInner {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            table_type: options.table_type,
            keypos,
            access: options.access,
            read_concurrency: options.read_concurrency,
            write_concurrency: options.write_concurrency,
            owner: AtomicU64::new(owner.id.0),
            deleted: AtomicBool::new(false),
            meta: ArcSwap::from_pointee(Meta {
                name: name.into(),
                named: options.named,
                owner: Arc::downgrade(owner),
                heir,
            }),
            storage: cache::storage(options.table_type, &options.cache)?,
            cache: None,
            flights: Flights::new(),
        }
        .with_cache(&options.cache))
    }

    #[inline]
    pub(crate) fn check_alive(&self) -> Result<()> {
        if self.deleted.load(Ordering::Acquire) {
            return Err(self.no_table());
        }
        Ok(())
    }

    /// Bytes held by the table: its storage and this struct.
    pub(crate) fn memory_bytes(&self) -> usize {
        std::mem::size_of::<TableInner>() + self.storage.memory()
    }

    #[cold]
    #[inline(never)]
    fn no_table(&self) -> Error {
        Error::NoTable {
            name: self.meta.load().name.clone(),
        }
    }
}

/// The element at `pos` of `objects` (ETS `lookup_element`): the first object's on a set, an
/// array of every object's otherwise; `None` if there are no objects.
fn element_of(objects: Objects<'_>, pos: usize, set: bool) -> Result<Option<Term>> {
    if objects.len() == 0 {
        return Ok(None);
    }
    let mut elements = objects.map(|o| {
        o.element(pos).ok_or_else(|| Error::BadPosition {
            pos,
            arity: o.arity(),
        })
    });
    if set {
        elements.next().transpose()
    } else {
        Ok(Some(Term::Array(elements.collect::<Result<_>>()?)))
    }
}

/// Runs `f` on `txn`, and if it fails, drops whatever it staged: a failed write changes
/// nothing.
#[inline]
fn all_or_nothing<R>(txn: &mut Txn<'_>, f: impl FnOnce(&mut Txn<'_>) -> Result<R>) -> Result<R> {
    let result = f(txn);
    if result.is_err() {
        txn.discard();
    }
    result
}

/// What one key of a bag may hold: objects, and their bytes with record headers (a hash node
/// counts both in 32 bits). Lowered in unit tests, which cannot fill 4 GiB.
#[cfg(not(test))]
const KEY_LIMITS: (usize, usize) = (limits::MAX_KEY_OBJECTS, limits::MAX_KEY_OBJECT_BYTES);
#[cfg(test)]
const KEY_LIMITS: (usize, usize) = (100, 4_000);

/// Whether `objects`, the objects under one key of a bag, have room for `new`.
#[inline]
fn key_has_room(objects: &[Object], new: &Object) -> Result<()> {
    let (max_objects, max_bytes) = KEY_LIMITS;
    let count = objects.len() + 1;
    // Below this count no objects reach the byte limit (each is at most MAX_OBJECT_BYTES and
    // its header): a common bag key pays one comparison.
    let always_fit = max_bytes / (limits::MAX_OBJECT_BYTES + object::PACKED_HEADER);
    if count <= always_fit.min(max_objects) {
        return Ok(());
    }
    let bytes = object::packed_len(objects) + object::packed_len(std::slice::from_ref(new));
    if count > max_objects || bytes > max_bytes {
        return Err(Error::KeyFull {
            objects: count,
            bytes,
            max_objects,
            max_bytes,
        });
    }
    Ok(())
}

/// What an operation needs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    Read,
    Write,
}

/// A handle to a table, acting for one owner (or for nobody).
#[derive(Clone)]
pub struct Table {
    inner: Arc<TableInner>,
    caller: Option<Arc<OwnerInner>>,
}

impl fmt::Debug for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Table")
            .field("id", &self.inner.id)
            .field("name", &self.inner.meta.load().name)
            .field("type", &self.inner.table_type)
            .field("caller", &self.caller.as_ref().map(|c| c.id))
            .finish()
    }
}

impl Table {
    pub(crate) fn new(inner: Arc<TableInner>, caller: Option<Arc<OwnerInner>>) -> Table {
        Table { inner, caller }
    }

    /// The table itself (for the lifecycle layer's loom models).
    #[cfg(all(test, rets_loom))]
    pub(crate) fn inner(&self) -> &Arc<TableInner> {
        &self.inner
    }

    /// A handle to the same table acting for `owner`.
    pub fn with_caller(&self, owner: &Owner) -> Table {
        Table::new(self.inner.clone(), Some(owner.inner().clone()))
    }

    /// The owner this handle acts for ([`OwnerId::NOBODY`] for none).
    pub fn caller(&self) -> OwnerId {
        self.caller.as_ref().map_or(OwnerId::NOBODY, |c| c.id)
    }

    /// Whether two handles refer to the same table.
    pub fn same_table(&self, other: &Table) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The table's type (fixed at creation; available even after deletion).
    pub fn table_type(&self) -> TableType {
        self.inner.table_type
    }

    /// The table's keypos (fixed at creation).
    pub fn keypos(&self) -> usize {
        self.inner.keypos
    }

    /// The checks every operation starts with: two atomic loads on the fast path (the table's
    /// deleted flag; the caller's closed flag or the owner id), the errors out of line.
    #[inline]
    fn check(&self, op: &'static str, need: Need) -> Result<()> {
        let table = &*self.inner;
        table.check_alive()?;
        let caller = match &self.caller {
            Some(c) if c.is_closed() => return Err(Error::OwnerClosed { owner: c.id.0 }),
            Some(c) => c.id.0,
            None => OwnerId::NOBODY.0,
        };
        let allowed = match (table.access, need) {
            (Access::Public, _) | (Access::Protected, Need::Read) => true,
            _ => caller != OwnerId::NOBODY.0 && table.owner.load(Ordering::Acquire) == caller,
        };
        if allowed {
            return Ok(());
        }
        Err(self.access_error(op, need))
    }

    #[cold]
    #[inline(never)]
    fn access_error(&self, op: &'static str, need: Need) -> Error {
        let table = &*self.inner;
        Error::Access {
            op,
            access: table.access,
            name: table.meta.load().name.clone(),
            need: match need {
                Need::Read => "read",
                Need::Write => "write",
            },
        }
    }

    fn only_sets(&self, op: &'static str) -> Result<()> {
        if self.inner.table_type.is_set() {
            Ok(())
        } else {
            Err(Error::WrongTableType {
                op,
                table_type: self.inner.table_type,
            })
        }
    }

    /// Runs a write transaction over `keys`, failing if the table was deleted meanwhile. A
    /// write whose `f` fails changes nothing, whatever it staged before failing.
    fn write<R>(&self, keys: &[&[u8]], f: impl FnOnce(&mut Txn<'_>) -> Result<R>) -> Result<R> {
        self.inner.storage.write(keys, |txn| {
            // Checked under the shard locks: deletion sets the flag, then clears every shard.
            self.inner.check_alive()?;
            all_or_nothing(txn, f)
        })
    }

    /// [`Table::write`] for one key (see [`Storage::write_one`]).
    fn write_one<R>(&self, key: &[u8], f: impl FnOnce(&mut Txn<'_>) -> Result<R>) -> Result<R> {
        self.inner.storage.write_one(key, |txn| {
            // As in `write`: deletion takes every writer out before it clears the table.
            self.inner.check_alive()?;
            all_or_nothing(txn, f)
        })
    }

    /// [`Table::write`] for one key by a writer that never removes it (see
    /// [`Storage::write_in_place`]).
    fn write_in_place<R>(
        &self,
        key: &[u8],
        f: impl FnOnce(&mut Txn<'_>) -> Result<R>,
    ) -> Result<R> {
        self.inner.storage.write_in_place(key, |txn| {
            // As in `write`: deletion takes every writer out before it clears the table.
            self.inner.check_alive()?;
            all_or_nothing(txn, f)
        })
    }

    fn object(&self, object: impl ToObject) -> Result<Object> {
        object.to_object(self.inner.keypos)
    }

    /// Stores `object` in `slot` (the objects under its key) by the table type's rule; on a
    /// bag, fails with [`Error::KeyFull`] (`slot` unchanged) if the key cannot hold one more.
    fn put(&self, slot: &mut Vec<Object>, object: Object) -> Result<()> {
        match self.inner.table_type {
            TableType::Set | TableType::OrderedSet => {
                slot.clear();
                slot.push(object);
            }
            TableType::Bag => {
                if !slot.contains(&object) {
                    key_has_room(slot, &object)?;
                    slot.push(object);
                }
            }
            TableType::DuplicateBag => {
                key_has_room(slot, &object)?;
                slot.push(object);
            }
        }
        Ok(())
    }

    // ---- insert ----

    /// Inserts one object (ETS `insert/2`). On a set it replaces the object with the same key
    /// (exact match; compare-equal on an ordered_set); on a bag an identical object is not
    /// added twice; a duplicate_bag keeps copies.
    pub fn insert(&self, object: impl ToObject) -> Result<()> {
        self.insert_with(object, InsertOptions::default())
    }

    /// [`Table::insert`] with per-object options (a lifetime: [`InsertOptions::ttl`]).
    pub fn insert_with(&self, object: impl ToObject, options: InsertOptions) -> Result<()> {
        self.check("insert", Need::Write)?;
        let object = object.to_object_cow(self.inner.keypos)?;
        let at = self.deadline(options.ttl);
        let _room = self.make_room(&[object.view()])?;
        let object = match object {
            // Input that already is an object's encoding (canonical MessagePack, as most
            // encoders write an array of integers, strings and binaries) goes to a set's storage
            // from where it is: no `Object` built and dropped.
            ObjectCow::Borrowed(object) if self.inner.table_type.is_set() => {
                let key = object.key_msgpack();
                // Checked under the key's lock, as in `write`.
                let check = || self.inner.check_alive();
                return (self.inner.storage)
                    .replace_in_place(key, object, at, false, check)
                    .map(|_| ());
            }
            object => object.into_object(),
        };
        // The object moves into the transaction, so the key is copied first: onto the stack
        // when it is short, as keys mostly are.
        let mut short = [0u8; 64];
        let long;
        let key = object.key_msgpack();
        let key: &[u8] = if key.len() <= short.len() {
            short[..key.len()].copy_from_slice(key);
            &short[..key.len()]
        } else {
            long = key.to_vec();
            &long
        };
        if self.inner.table_type.is_set() {
            // Nothing to read: the object replaces whatever is there.
            return self.write_in_place(key, |txn| {
                txn.replace(key, object);
                txn.set_expires_at(key, at);
                Ok(())
            });
        }
        self.write(&[key], |txn| {
            txn.update(key, |slot| self.put(slot, object))?;
            txn.set_expires_at(key, at);
            Ok(())
        })
    }

    /// Inserts a list of objects atomically and in isolation: a reader sees all or none of
    /// them. Objects are stored in list order (so on a set the last of equal keys wins). If any
    /// object is invalid, nothing is inserted.
    pub fn insert_many<I>(&self, objects: I) -> Result<()>
    where
        I: IntoIterator,
        I::Item: ToObject,
    {
        self.insert_many_with(objects, InsertOptions::default())
    }

    /// [`Table::insert_many`] with per-object options (one lifetime for every object).
    pub fn insert_many_with<I>(&self, objects: I, options: InsertOptions) -> Result<()>
    where
        I: IntoIterator,
        I::Item: ToObject,
    {
        self.check("insert", Need::Write)?;
        let objects = objects
            .into_iter()
            .map(|o| self.object(o))
            .collect::<Result<Vec<_>>>()?;
        let keys: Vec<&[u8]> = objects.iter().map(Object::key_msgpack).collect();
        let at = self.deadline(options.ttl);
        let _room = self.make_room(&objects.iter().map(Object::view).collect::<Vec<_>>())?;
        self.write(&keys, |txn| {
            for object in &objects {
                txn.update(object.key_msgpack(), |slot| self.put(slot, object.clone()))?;
                txn.set_expires_at(object.key_msgpack(), at);
            }
            Ok(())
        })
    }

    /// Inserts `object` only if its key is absent (ETS `insert_new/2`); returns whether it did.
    pub fn insert_new(&self, object: impl ToObject) -> Result<bool> {
        self.insert_new_many([object])
    }

    /// [`Table::insert_new`] with per-object options.
    pub fn insert_new_with(&self, object: impl ToObject, options: InsertOptions) -> Result<bool> {
        self.insert_new_many_with([object], options)
    }

    /// Inserts every object only if none of their keys is present, atomically; returns whether
    /// it inserted them.
    pub fn insert_new_many<I>(&self, objects: I) -> Result<bool>
    where
        I: IntoIterator,
        I::Item: ToObject,
    {
        self.insert_new_many_with(objects, InsertOptions::default())
    }

    /// [`Table::insert_new_many`] with per-object options (one lifetime for every object).
    pub fn insert_new_many_with<I>(&self, objects: I, options: InsertOptions) -> Result<bool>
    where
        I: IntoIterator,
        I::Item: ToObject,
    {
        self.check("insert_new", Need::Write)?;
        let mut rest = objects.into_iter();
        let objects = match (rest.next(), rest.next()) {
            (Some(object), None) => match object.to_object_cow(self.inner.keypos)? {
                // One object whose input already is its encoding, on a set or an ordered_set:
                // stored from where it is, as `insert_with` does, and nothing built when its
                // key is present.
                ObjectCow::Borrowed(object) if self.inner.table_type.is_set() => {
                    let at = self.deadline(options.ttl);
                    let _room = self.make_room(&[object])?;
                    let key = object.key_msgpack();
                    let check = || self.inner.check_alive();
                    return (self.inner.storage).replace_in_place(key, object, at, true, check);
                }
                object => vec![object.into_object()],
            },
            (first, second) => first
                .into_iter()
                .chain(second)
                .chain(rest)
                .map(|o| self.object(o))
                .collect::<Result<Vec<_>>>()?,
        };
        let keys: Vec<&[u8]> = objects.iter().map(Object::key_msgpack).collect();
        let at = self.deadline(options.ttl);
        let _room = self.make_room(&objects.iter().map(Object::view).collect::<Vec<_>>())?;
        let apply = |txn: &mut Txn<'_>| {
            if keys.iter().any(|k| txn.get(k).len() > 0) {
                return Ok(false);
            }
            for object in &objects {
                txn.update(object.key_msgpack(), |slot| self.put(slot, object.clone()))?;
                txn.set_expires_at(object.key_msgpack(), at);
            }
            Ok(true)
        };
        match keys[..] {
            // One key: it is only ever added, so writers of other keys need not wait.
            [key] => self.write_in_place(key, apply),
            _ => self.write(&keys, apply),
        }
    }

    // ---- reads ----

    /// The objects with `key` (ETS `lookup/2`): none or one for a set, in insertion order for a
    /// bag. On an ordered_set the stored key may differ from `key` while comparing equal to it.
    pub fn lookup(&self, key: impl ToKey) -> Result<Vec<Object>> {
        self.lookup_with(key, |objects| objects.to_vec())
    }

    /// Calls `f` with the objects with `key`, without copying them. This is the fast path: `f`
    /// runs while storage keeps the objects alive, so it should be short and must not call
    /// back into this table.
    pub fn lookup_with<R>(&self, key: impl ToKey, f: impl FnOnce(Objects<'_>) -> R) -> Result<R> {
        self.check("lookup", Need::Read)?;
        // Two read paths, as the pin's: a table without the cache layer reads without the hit
        // count's branch inside the read (7 instructions a lookup).
        let result = match self.inner.cache.as_deref() {
            None => key.with_lookup_key(|key| self.inner.storage.read(key, f))?,
            Some(cache) => key.with_lookup_key(|key| {
                self.inner.storage.read(key, |objects| {
                    cache.count_read(objects.len() > 0);
                    f(objects)
                })
            })?,
        };
        self.still_alive(result)
    }

    /// A read's result, unless the table was deleted while it ran: deletion sets the flag and
    /// then clears the storage, so a read that passed the first check may find the storage
    /// already cleared: an empty table that never existed. Seeing the clear means seeing the
    /// flag (it was stored before the clear published its empty storage), so checking again
    /// after the read turns that into `NoTable` (found by the lifecycle loom models).
    #[inline]
    fn still_alive<R>(&self, result: R) -> Result<R> {
        self.inner.check_alive()?;
        Ok(result)
    }

    /// Whether an object with `key` exists (ETS `member/2`).
    pub fn member(&self, key: impl ToKey) -> Result<bool> {
        self.lookup_with(key, |objects| objects.len() > 0)
    }

    /// The element at `pos` of the object with `key` (ETS `lookup_element/3`). On a bag, an
    /// array of that element of every object. Fails with [`Error::KeyNotFound`] if the key is
    /// absent and [`Error::BadPosition`] if an object is shorter than `pos`.
    pub fn lookup_element(&self, key: impl ToKey, pos: usize) -> Result<Term> {
        self.lookup_element_inner(key, pos)?
            .ok_or(Error::KeyNotFound)
    }

    /// Like [`Table::lookup_element`], but returns `default` if the key is absent
    /// (ETS `lookup_element/4`).
    pub fn lookup_element_or(
        &self,
        key: impl ToKey,
        pos: usize,
        default: impl Into<Term>,
    ) -> Result<Term> {
        Ok(self
            .lookup_element_inner(key, pos)?
            .unwrap_or_else(|| default.into()))
    }

    fn lookup_element_inner(&self, key: impl ToKey, pos: usize) -> Result<Option<Term>> {
        if pos == 0 {
            return Err(Error::BadPosition { pos, arity: 0 });
        }
        let set = self.inner.table_type.is_set();
        self.lookup_with(key, |objects| element_of(objects, pos, set))?
    }

    // ---- deletes ----

    /// Removes and returns every object with `key` (ETS `take/2`).
    pub fn take(&self, key: impl ToKey) -> Result<Vec<Object>> {
        self.check("take", Need::Write)?;
        key.with_key(|key| self.write_one(key, |txn| Ok(txn.update(key, std::mem::take))))?
    }

    /// Removes every object with `key` (ETS `delete/2`). Deleting an absent key is not an error.
    pub fn delete(&self, key: impl ToKey) -> Result<()> {
        self.check("delete", Need::Write)?;
        // Checked under the key's lock, as in `write`.
        key.with_key(|key| {
            self.inner
                .storage
                .remove_one(key, || self.inner.check_alive())
        })?
    }

    /// Removes this exact object (ETS `delete_object/2`); on a duplicate_bag every copy of it.
    pub fn delete_object(&self, object: impl ToObject) -> Result<()> {
        self.check("delete_object", Need::Write)?;
        if self.inner.table_type.is_set() {
            // One object a key: compared where it is, and removed only if it is the one given
            // (no copy of the key's objects, and nothing published when it is not).
            let object = object.to_object_cow(self.inner.keypos)?;
            let object = object.view();
            let key = object.key_msgpack();
            return self.write_one(key, |txn| {
                let stored = txn.get(key).next();
                if stored.is_some_and(|o| o.as_msgpack() == object.as_msgpack()) {
                    txn.remove(key);
                }
                Ok(())
            });
        }
        let object = self.object(object)?;
        let key = object.key_msgpack();
        self.write_one(key, |txn| {
            txn.update(key, |slot| slot.retain(|o| *o != object));
            Ok(())
        })
    }

    /// Removes every object, atomically and in isolation (ETS `delete_all_objects/1`).
    pub fn delete_all_objects(&self) -> Result<()> {
        self.check("delete_all_objects", Need::Write)?;
        self.inner.storage.clear();
        Ok(())
    }

    // ---- updates ----

    /// Adds `incr` to the integer after the key (position keypos + 1) and returns the new value
    /// (ETS `update_counter(T, K, Incr)`).
    pub fn update_counter(&self, key: impl ToKey, incr: i64) -> Result<i64> {
        self.check("update_counter", Need::Write)?;
        self.only_sets("update_counter")?;
        let op = CounterOp::new(self.inner.keypos + 1, incr);
        // The path of `update_counters_inner` for a lone op, without the list's: a closure this
        // small is inlined at every caller (the C ABI's included), which that one's is not.
        key.with_key(|key| match self.change_counter_in_place(key, &op) {
            Some(value) => value,
            None => {
                let mut value = [0];
                let mut counters = update::Counters::with_room(1);
                self.update_counters_in_txn(key, &[op], None, &mut counters, &mut value)?;
                Ok(value[0])
            }
        })?
    }

    /// Applies `ops` in order to the object with `key`, atomically, and returns each new value
    /// (ETS `update_counter/3` with a list). Fails, changing nothing, if the key is absent, a
    /// position is the key or outside the object, an element is not an integer, a result does not
    /// fit an `i64`, or the table is a bag.
    pub fn update_counters(&self, key: impl ToKey, ops: &[CounterOp]) -> Result<Vec<i64>> {
        let mut values = vec![0; ops.len()];
        self.update_counters_inner(key, ops, None, &mut values)?;
        Ok(values)
    }

    /// Like [`Table::update_counters`], but if the key is absent first inserts `default` with its
    /// key replaced by `key` (ETS `update_counter/4`).
    pub fn update_counters_or(
        &self,
        key: impl ToKey,
        ops: &[CounterOp],
        default: impl ToObject,
    ) -> Result<Vec<i64>> {
        self.update_counters_or_with(key, ops, default, InsertOptions::default())
    }

    /// [`Table::update_counters_or`] with options: a lifetime for the default object if it is
    /// inserted (and, if given, a new lifetime for an existing object).
    pub fn update_counters_or_with(
        &self,
        key: impl ToKey,
        ops: &[CounterOp],
        default: impl ToObject,
        options: InsertOptions,
    ) -> Result<Vec<i64>> {
        let default = self.object(default)?;
        let mut values = vec![0; ops.len()];
        self.update_counters_inner(key, ops, Some((default, options)), &mut values)?;
        Ok(values)
    }

    /// The counter update behind the public forms; each op's new value goes to `values`.
    fn update_counters_inner(
        &self,
        key: impl ToKey,
        ops: &[CounterOp],
        default: Option<(Object, InsertOptions)>,
        values: &mut [i64],
    ) -> Result<()> {
        self.check("update_counter", Need::Write)?;
        self.only_sets("update_counter")?;
        let keypos = self.inner.keypos;
        key.with_key(|key| {
            // A counter whose object the storage keeps changeable (stored by an earlier update,
            // on a set or an ordered_set) changes in place without a transaction when no width
            // changes and no new lifetime is given; otherwise, or if the key is absent, the
            // transaction below does the update.
            let in_place = default.as_ref().is_none_or(|(_, o)| o.ttl.is_none());
            if let ([op], true) = (ops, in_place) {
                if let Some(value) = self.change_counter_in_place(key, op) {
                    values[0] = value?;
                    return Ok(());
                }
            }
            let mut counters = update::Counters::with_room(ops.len());
            if in_place && ops.len() > 1 {
                let done = self.inner.storage.change_in_place(
                    key,
                    &mut counters,
                    |counters, current| {
                        // As `write`'s check under the shard locks: a counter changed after the
                        // table's deletion began would be lost with it.
                        if let Err(e) = self.inner.check_alive() {
                            return InPlace::Done(Err(e));
                        }
                        match counters.work_out(current, ops, keypos) {
                            Err(e) => InPlace::Done(Err(e)),
                            Ok(()) if counters.keep_widths() => InPlace::Write(Ok(())),
                            Ok(()) => InPlace::GiveUp,
                        }
                    },
                    |counters, write| {
                        counters.with_edits(write);
                    },
                );
                if let Some(result) = done {
                    result?;
                    counters.values(values);
                    return Ok(());
                }
            }
            self.update_counters_in_txn(key, ops, default, &mut counters, values)
        })?
    }

    /// [`Table::update_counters_inner`]'s in-place path for a lone op: its new value, or `None`
    /// if the transaction must do the update.
    fn change_counter_in_place(&self, key: &[u8], op: &CounterOp) -> Option<Result<i64>> {
        let keypos = self.inner.keypos;
        let mut counted = None;
        let done = self.inner.storage.change_in_place(
            key,
            &mut counted,
            |counted, current| {
                // As in update_counters_inner.
                if let Err(e) = self.inner.check_alive() {
                    return InPlace::Done(Err(e));
                }
                match update::Counted::work_out(current, op, keypos, None) {
                    Err(e) => InPlace::Done(Err(e)),
                    Ok(c) if c.keeps_width() => {
                        *counted = Some(c);
                        InPlace::Write(Ok(()))
                    }
                    Ok(_) => InPlace::GiveUp,
                }
            },
            |counted, write| {
                if let Some(c) = counted {
                    write(&[c.edit()]);
                }
            },
        )?;
        Some(done.map(|()| counted.expect("an Ok comes from a write").value))
    }

    /// [`Table::update_counters_inner`]'s transaction: a counter that cannot change in place
    /// (absent, not yet stored as a counter, changing width, or given a lifetime). A function of
    /// its own, so that the in-place path's code is not shaped by this one's.
    fn update_counters_in_txn(
        &self,
        key: &[u8],
        ops: &[CounterOp],
        default: Option<(Object, InsertOptions)>,
        counters: &mut update::Counters,
        values: &mut [i64],
    ) -> Result<()> {
        let keypos = self.inner.keypos;
        // Holds the room of a bounded table until the write is done.
        let with = self.with_default(default, key)?;
        let (default, options, at) = (&with.default, &with.options, with.at);
        self.write_in_place(key, |txn| {
            let inserted = {
                let stored = txn.get(key).next();
                let inserted = stored.is_none();
                let current = stored.or(default.as_ref().map(Object::view));
                // (Not `ok_or`: an `Error` built eagerly costs its drop on every update.)
                let Some(current) = current else {
                    return Err(Error::KeyNotFound);
                };
                counters.work_out(current, ops, keypos)?;
                inserted
            };
            // Counters that keep their width change in place where the storage keeps the
            // object changeable (a set's object stored by an earlier counter update);
            // otherwise the object is rebuilt, and stored as changeable from then on.
            let in_place = !inserted
                && options.ttl.is_none()
                && counters.with_edits(|edits| txn.overwrite(key, edits)) == Some(true);
            if !in_place {
                let updated = {
                    let stored = txn.get(key).next();
                    let current = stored.or(default.as_ref().map(Object::view));
                    counters.apply(current.expect("found above"), keypos)?
                };
                txn.replace_changeable(key, updated);
                if inserted || options.ttl.is_some() {
                    txn.set_expires_at(key, at);
                }
            }
            counters.values(values);
            Ok(())
        })
    }

    /// Replaces elements of the object with `key` (ETS `update_element/3`): `(position, value)`
    /// pairs, applied atomically, the last one winning for a repeated position. Returns `false`
    /// if the key is absent. Fails on a bag, on the key position, or outside the object.
    pub fn update_element(&self, key: impl ToKey, elements: &[(usize, Term)]) -> Result<bool> {
        self.update_element_inner(key, elements, None)
    }

    /// Like [`Table::update_element`], but if the key is absent first inserts `default` with its
    /// key replaced by `key` (ETS `update_element/4`); returns `true`.
    pub fn update_element_or(
        &self,
        key: impl ToKey,
        elements: &[(usize, Term)],
        default: impl ToObject,
    ) -> Result<bool> {
        self.update_element_or_with(key, elements, default, InsertOptions::default())
    }

    /// [`Table::update_element_or`] with options: a lifetime for the default object if it is
    /// inserted (and, if given, a new lifetime for an existing object).
    pub fn update_element_or_with(
        &self,
        key: impl ToKey,
        elements: &[(usize, Term)],
        default: impl ToObject,
        options: InsertOptions,
    ) -> Result<bool> {
        let default = self.object(default)?;
        self.update_element_inner(key, elements, Some((default, options)))
    }

    fn update_element_inner(
        &self,
        key: impl ToKey,
        elements: &[(usize, Term)],
        default: Option<(Object, InsertOptions)>,
    ) -> Result<bool> {
        self.check("update_element", Need::Write)?;
        self.only_sets("update_element")?;
        let keypos = self.inner.keypos;
        let mut encoded = update::encode_elements(elements, keypos)?;
        key.with_key(|key| {
            // As update_counter: an object the storage keeps changeable (stored by an earlier
            // update) changes in place without a transaction when every new element keeps its
            // old one's width and no new lifetime is given.
            if default.as_ref().is_none_or(|(_, o)| o.ttl.is_none()) {
                if let Some(done) = self.change_elements_in_place(key, &mut encoded) {
                    return done.map(|()| true);
                }
            }
            // Holds the room of a bounded table until the write is done.
            let with = self.with_default(default, key)?;
            let (default, options, at) = (&with.default, &with.options, with.at);
            self.write_in_place(key, |txn| {
                let (updated, inserted) = {
                    let stored = txn.get(key).next();
                    let inserted = stored.is_none();
                    let current = stored.or(default.as_ref().map(Object::view));
                    let Some(current) = current else {
                        return Ok(false);
                    };
                    (update::apply_elements(current, &encoded, keypos)?, inserted)
                };
                // Stored as changeable: its next update that keeps the widths is made in place
                // (an object updated once is likely to be updated again).
                txn.replace_changeable(key, updated);
                if inserted || options.ttl.is_some() {
                    txn.set_expires_at(key, at);
                }
                Ok(true)
            })
        })?
    }

    /// [`Table::update_element_inner`]'s in-place path: `None` if the transaction must do the
    /// update.
    fn change_elements_in_place(
        &self,
        key: &[u8],
        encoded: &mut update::EncodedElements,
    ) -> Option<Result<()>> {
        let keypos = self.inner.keypos;
        self.inner.storage.change_in_place(
            key,
            encoded,
            |encoded, current| {
                // As in update_counters_inner.
                if let Err(e) = self.inner.check_alive() {
                    return InPlace::Done(Err(e));
                }
                match encoded.place(current, keypos) {
                    Err(e) => InPlace::Done(Err(e)),
                    Ok(true) => InPlace::Write(Ok(())),
                    Ok(false) => InPlace::GiveUp,
                }
            },
            |encoded, write| encoded.with_edits(write),
        )
    }

    // ---- traversal ----

    fn direction(&self, backward: bool) -> Direction {
        // As in ETS, last/prev on an unordered table are first/next.
        if backward && self.inner.table_type == TableType::OrderedSet {
            Direction::Backward
        } else {
            Direction::Forward
        }
    }

    fn step<K: ToKey, R>(
        &self,
        from: Option<K>,
        backward: bool,
        f: impl FnOnce(Objects<'_>) -> R,
    ) -> Result<Option<(Key, R)>> {
        self.check("traverse", Need::Read)?;
        let (storage, direction) = (&self.inner.storage, self.direction(backward));
        let result = match from {
            None => storage.step(None, direction, f),
            Some(key) => key.with_key(|key| storage.step(Some(key), direction, f))?,
        };
        self.still_alive(result)
    }

    /// The first key in traversal order (ETS `first/1`): term order on an ordered_set, the
    /// table's internal order otherwise. `None` for an empty table (`'$end_of_table'`).
    ///
    /// Traversal is always safe, as if the table were fixed with `safe_fixtable`: `next` of a
    /// key that has been deleted meanwhile still returns the key after it, and a traversal
    /// never returns a key twice, whatever other threads insert and delete.
    pub fn first(&self) -> Result<Option<Key>> {
        Ok(self.step(None::<Key>, false, |_| ())?.map(|(k, ())| k))
    }

    /// The key after `key` in traversal order (ETS `next/2`); `key` need not be in the table.
    pub fn next(&self, key: impl ToKey) -> Result<Option<Key>> {
        Ok(self.step(Some(key), false, |_| ())?.map(|(k, ())| k))
    }

    /// The last key in term order on an ordered_set; on other types the same as [`Table::first`].
    pub fn last(&self) -> Result<Option<Key>> {
        Ok(self.step(None::<Key>, true, |_| ())?.map(|(k, ())| k))
    }

    /// The key before `key` on an ordered_set; on other types the same as [`Table::next`].
    pub fn prev(&self, key: impl ToKey) -> Result<Option<Key>> {
        Ok(self.step(Some(key), true, |_| ())?.map(|(k, ())| k))
    }

    /// [`Table::first`] with the objects of that key (ETS `first_lookup/1`).
    pub fn first_lookup(&self) -> Result<Option<(Key, Vec<Object>)>> {
        self.step(None::<Key>, false, |o: Objects<'_>| o.to_vec())
    }

    /// [`Table::next`] with the objects of that key (ETS `next_lookup/2`).
    pub fn next_lookup(&self, key: impl ToKey) -> Result<Option<(Key, Vec<Object>)>> {
        self.step(Some(key), false, |o: Objects<'_>| o.to_vec())
    }

    /// [`Table::last`] with the objects of that key (ETS `last_lookup/1`).
    pub fn last_lookup(&self) -> Result<Option<(Key, Vec<Object>)>> {
        self.step(None::<Key>, true, |o: Objects<'_>| o.to_vec())
    }

    /// [`Table::prev`] with the objects of that key (ETS `prev_lookup/2`).
    pub fn prev_lookup(&self, key: impl ToKey) -> Result<Option<(Key, Vec<Object>)>> {
        self.step(Some(key), true, |o: Objects<'_>| o.to_vec())
    }

    /// Every object, in traversal order (ETS `tab2list/1`). Not a snapshot: objects written
    /// during the call may or may not appear.
    pub fn tab2list(&self) -> Result<Vec<Object>> {
        self.check("tab2list", Need::Read)?;
        let mut all = Vec::with_capacity(self.inner.storage.size());
        self.inner
            .storage
            .for_each(Direction::Forward, |o| all.push(o.to_object()));
        self.still_alive(all)
    }

    /// Folds over every object in traversal order (ETS `foldl/3`). `f` runs with no lock held,
    /// so it may read and write this table; keys are visited as by first/next.
    pub fn foldl<A>(&self, init: A, f: impl FnMut(A, &Object) -> A) -> Result<A> {
        self.fold(init, false, f)
    }

    /// Folds in reverse traversal order (ETS `foldr/3`; the same order as foldl except on an
    /// ordered_set).
    pub fn foldr<A>(&self, init: A, f: impl FnMut(A, &Object) -> A) -> Result<A> {
        self.fold(init, true, f)
    }

    fn fold<A>(&self, init: A, backward: bool, mut f: impl FnMut(A, &Object) -> A) -> Result<A> {
        // In chunks (see `traverse`): no guard is held while `f` runs.
        let mut acc = init;
        let objects = if backward {
            self.iter_rev()
        } else {
            self.iter()
        };
        for object in objects {
            acc = f(acc, &object?);
        }
        Ok(acc)
    }

    // ---- the table as a whole ----

    /// Facts about the table (ETS `info/1`). Anyone may ask, whatever the access mode.
    pub fn info(&self) -> Result<Info> {
        let table = &*self.inner;
        table.check_alive()?;
        let meta = table.meta.load();
        Ok(Info {
            id: table.id,
            name: meta.name.clone(),
            named: meta.named,
            table_type: table.table_type,
            keypos: table.keypos,
            access: table.access,
            owner: OwnerId(table.owner.load(Ordering::Acquire)),
            heir: meta
                .heir
                .as_ref()
                .and_then(|(h, _)| h.upgrade())
                .filter(|h| !h.is_closed())
                .map(|h| h.id),
            size: table.live_size(),
            memory: table.memory_bytes(),
            read_concurrency: table.read_concurrency,
            write_concurrency: table.write_concurrency,
        })
    }

    /// The number of objects (ETS `info(T, size)`): [`Info::size`] without the rest of
    /// [`Table::info`].
    pub fn size(&self) -> Result<usize> {
        let table = &*self.inner;
        table.check_alive()?;
        Ok(table.live_size())
    }

    /// Bytes held by the table (ETS `info(T, memory)`, in bytes rather than words):
    /// [`Info::memory`] without the rest of [`Table::info`].
    pub fn memory(&self) -> Result<usize> {
        let table = &*self.inner;
        table.check_alive()?;
        Ok(table.memory_bytes())
    }

    /// The table's current name.
    pub fn name(&self) -> Result<String> {
        self.inner.check_alive()?;
        Ok(self.inner.meta.load().name.clone())
    }

    /// Deletes the table (ETS `delete/1`); needs write access. Every handle to it then fails
    /// with [`Error::NoTable`], and its name is free again.
    pub fn delete_table(&self) -> Result<()> {
        self.check("delete", Need::Write)?;
        owner::delete_table(&self.inner)
    }

    /// Renames the table (ETS `rename/2`); needs write access. A named table is registered under
    /// the new name and no longer found under the old one.
    pub fn rename(&self, new_name: &str) -> Result<()> {
        self.check("rename", Need::Write)?;
        owner::rename(&self.inner, new_name)
    }

    /// Gives the table to `to` with `gift` (ETS `give_away/3`); only the owner may. `to` finds a
    /// [`crate::Transfer`] in its inbox. The heir is unchanged.
    pub fn give_away(&self, to: &Owner, gift: impl Into<Term>) -> Result<()> {
        owner::give_away(&self.inner, self.caller.as_ref(), to.inner(), gift.into())
    }

    /// Sets the heir (ETS `setopts(T, {heir, Pid, Data})`), or clears it with `None`; only the
    /// owner may. An heir equal to the owner means no heir.
    pub fn set_heir(&self, heir: Option<(&Owner, Term)>) -> Result<()> {
        let caller = self.caller.as_ref();
        let heir = heir
            .map(|(h, gift)| (h.inner(), gift))
            .filter(|(h, _)| caller.is_none_or(|c| c.id != h.id));
        owner::set_heir(&self.inner, caller, heir)
    }
}
