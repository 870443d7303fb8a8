//! Pinned reads: one reclamation guard, and the access decision, held over many lookups.
//!
//! Every plain read ([`Table::lookup_with`] and the rest) enters the storage's reclamation guard
//! and leaves it again; leaving is a full barrier (an `xchg`), so back-to-back lookups cannot
//! overlap their cache misses, and the two cost about a sixth of a small lookup's
//! instructions. A pin ([`Table::pin`], [`Table::pin_owned`]) enters the guard once, as papaya's
//! `pin` does, and its reads go straight to the probe.
//!
//! What a pin holds up: **reclamation**. Nothing retired while it lives (a replaced or deleted
//! object, a rebuilt slot array, the whole contents of a deleted table) is freed before it is
//! dropped or [refreshed](Pinned::refresh), whichever thread retired it: a pin held for long
//! over a table being written keeps every replaced object in memory. Pins are for a bounded
//! scope (a batch of reads, a request); a long-lived one should be refreshed now and then.
//!
//! What a pin does not hold up: **the table's life**. Each read through a pin checks, as a
//! plain read does, that the table is not deleted, that the handle's owner is not closed and,
//! on a private table, that the handle's owner still owns it (the read access itself was
//! checked when the pin was taken; on a public or protected table it cannot be lost). So
//! once `delete_table`, or the close of the owner that deletes the table, has returned, every
//! read through a pin fails with [`Error::NoTable`], exactly as through a handle; a read that
//! runs concurrently with the deletion returns the objects it found or `NoTable`, never an
//! empty table that never existed (the flag is checked again after the read, see
//! [`Table::still_alive`]). The deleted table's objects stay allocated until the pin drops,
//! so a read racing the deletion never reads freed memory.

use std::sync::Arc;

use super::{Need, Table, TableInner};
use crate::error::{Error, Result};
use crate::object::{Object, Objects, ToKey};
use crate::owner::{OwnerId, OwnerInner};
use crate::storage::reclaim::{Guard, OwnedGuard, Protect};
use crate::storage::ReadPin;
use crate::sync::Ordering;
use crate::table::Access;
use crate::term::Term;

/// Reads of one table through one held guard, and the checks each read repeats.
struct Reads<'t, G> {
    inner: &'t TableInner,
    /// The owner the handle acts for: its close ends the pin's reads as it ends the handle's.
    caller: Option<&'t OwnerInner>,
    /// On a private table, the caller's id: reads need the caller to still own the table
    /// (0, [`OwnerId::NOBODY`], on other tables: read access cannot be lost there).
    owner_must_be: u64,
    storage: ReadPin<'t, G>,
}

impl<'t, G: Protect> Reads<'t, G> {
    fn new(
        inner: &'t TableInner,
        caller: Option<&'t OwnerInner>,
        storage: ReadPin<'t, G>,
    ) -> Reads<'t, G> {
        let owner_must_be = match (inner.access, caller) {
            (Access::Private, Some(c)) => c.id.0,
            _ => OwnerId::NOBODY.0,
        };
        Reads {
            inner,
            caller,
            owner_must_be,
            storage,
        }
    }

    /// What [`Table::check`] decides for a read, minus what cannot change after the pin was
    /// taken: three loads of lines every read touches anyway, the errors out of line.
    #[inline]
    fn check(&self, op: &'static str) -> Result<()> {
        self.inner.check_alive()?;
        if let Some(c) = self.caller {
            if c.is_closed() {
                return Err(Error::OwnerClosed { owner: c.id.0 });
            }
        }
        if self.owner_must_be != OwnerId::NOBODY.0
            && self.inner.owner.load(Ordering::Acquire) != self.owner_must_be
        {
            return Err(self.access_lost(op));
        }
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn access_lost(&self, op: &'static str) -> Error {
        Error::Access {
            op,
            access: self.inner.access,
            name: self.inner.meta.load().name.clone(),
            need: "read",
        }
    }

    #[inline]
    fn lookup_with<R>(&self, key: impl ToKey, f: impl FnOnce(Objects<'_>) -> R) -> Result<R> {
        self.check("lookup")?;
        // Two read paths: a table without the cache layer reads without the hit count's branch
        // inside the read (8 instructions a lookup).
        let result = match self.inner.cache.as_deref() {
            None => key.with_lookup_key(|key| self.storage.read(key, f))?,
            Some(cache) => key.with_lookup_key(|key| {
                self.storage.read(key, |objects| {
                    cache.count_read(objects.len() > 0);
                    f(objects)
                })
            })?,
        };
        // As `Table::still_alive`: a read that saw the deletion's clear sees its flag.
        self.inner.check_alive()?;
        Ok(result)
    }

    fn lookup_element(&self, key: impl ToKey, pos: usize) -> Result<Option<Term>> {
        if pos == 0 {
            return Err(Error::BadPosition { pos, arity: 0 });
        }
        let set = self.inner.table_type.is_set();
        self.lookup_with(key, |objects| super::element_of(objects, pos, set))?
    }
}

/// The read methods, the same on both kinds of pin.
macro_rules! pinned_reads {
    () => {
        /// The objects with `key`, as [`Table::lookup`].
        pub fn lookup(&self, key: impl ToKey) -> Result<Vec<Object>> {
            self.reads.lookup_with(key, |objects| objects.to_vec())
        }

        /// Calls `f` with the objects with `key` without copying them, as
        /// [`Table::lookup_with`] (`f` should be short and must not call back into this
        /// table).
        #[inline]
        pub fn lookup_with<R>(
            &self,
            key: impl ToKey,
            f: impl FnOnce(Objects<'_>) -> R,
        ) -> Result<R> {
            self.reads.lookup_with(key, f)
        }

        /// Whether an object with `key` exists, as [`Table::member`].
        pub fn member(&self, key: impl ToKey) -> Result<bool> {
            self.reads.lookup_with(key, |objects| objects.len() > 0)
        }

        /// The element at `pos` of the object with `key`, as [`Table::lookup_element`].
        pub fn lookup_element(&self, key: impl ToKey, pos: usize) -> Result<Term> {
            self.reads
                .lookup_element(key, pos)?
                .ok_or(Error::KeyNotFound)
        }

        /// As [`Table::lookup_element_or`]: `default` if the key is absent.
        pub fn lookup_element_or(
            &self,
            key: impl ToKey,
            pos: usize,
            default: impl Into<Term>,
        ) -> Result<Term> {
            Ok(self
                .reads
                .lookup_element(key, pos)?
                .unwrap_or_else(|| default.into()))
        }

        /// Lets what was retired since the pin was taken (or last refreshed) be freed, as
        /// dropping the pin and taking a new one would, without repeating its checks: for a
        /// pin kept over a long stretch of reads while others write. (A [`Pinned`] shares its
        /// thread's guard of the table: while the thread holds another one, another pin of the
        /// table or a read in progress, this does nothing, so that theirs stay valid.)
        pub fn refresh(&mut self) {
            self.reads.storage.refresh();
        }
    };
}

/// A pinned reader of one table on this thread (see [`Table::pin`] and the module
/// documentation: what a pin holds up, and what it does not).
pub struct Pinned<'t> {
    reads: Reads<'t, Guard<'t>>,
}

impl Pinned<'_> {
    pinned_reads!();
}

impl std::fmt::Debug for Pinned<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pinned")
            .field("table", &self.reads.inner.id)
            .finish()
    }
}

/// A pinned reader that owns a handle to its table and may move between threads, or be shared
/// by them (see [`Table::pin_owned`]).
pub struct OwnedPin {
    /// Declared first, so dropped first: it borrows from `_table`.
    reads: Reads<'static, OwnedGuard<'static>>,
    /// Keeps the table and the caller alive for `reads`.
    _table: Table,
}

impl OwnedPin {
    pinned_reads!();
}

impl std::fmt::Debug for OwnedPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnedPin")
            .field("table", &self.reads.inner.id)
            .finish()
    }
}

/// A reference to what `arc` holds, for as long as the caller keeps `arc` alive.
///
/// # Safety
/// The caller keeps a clone of `arc` alive for as long as it uses the reference, and never
/// hands the reference out with a lifetime longer than its own borrow of that clone.
unsafe fn held<T>(arc: &Arc<T>) -> &'static T {
    // SAFETY: an `Arc`'s value does not move while any clone of it lives, which the caller
    // guarantees for every use of the reference.
    unsafe { &*Arc::as_ptr(arc) }
}

impl Table {
    /// Takes a pinned reader of this table for this thread: the read access is checked once,
    /// and the storage's reclamation guard entered once for every read through it, which makes
    /// each a few dozen instructions cheaper than a plain read and lets consecutive reads
    /// overlap their cache misses. Reads through the pin see the table's deletion and the
    /// close of the handle's owner as plain reads do. While the pin lives, nothing retired
    /// from the table (replaced or deleted objects) is freed: keep it for a bounded stretch of
    /// reads, or [`Pinned::refresh`] it (see the [`pin`](self) module documentation).
    ///
    /// ```
    /// use rets_core::{tuple, Owner, TableOptions};
    ///
    /// let owner = Owner::new();
    /// let t = owner.new_table("t", TableOptions::new().set())?;
    /// t.insert_many((0..100).map(|i| tuple!(i, i * 2)))?;
    /// let pin = t.pin()?;
    /// let total: i64 = (0..100)
    ///     .map(|i| pin.lookup_element(i, 2).map(|v| v.as_i64().unwrap()))
    ///     .sum::<rets_core::Result<i64>>()?;
    /// assert_eq!(total, 9900);
    /// # Ok::<(), rets_core::Error>(())
    /// ```
    pub fn pin(&self) -> Result<Pinned<'_>> {
        self.check("lookup", Need::Read)?;
        let inner = &*self.inner;
        Ok(Pinned {
            reads: Reads::new(inner, self.caller.as_deref(), inner.storage.pin()),
        })
    }

    /// [`Table::pin`] for a pin that holds its own handle to the table and is not tied to a
    /// thread (`Send + Sync`: it may be shared, and dropped on any thread). Taking and dropping
    /// it costs more than [`Table::pin`] (a reservation of its own in the collector); reads
    /// through it cost the same. The C ABI's `rets_pin` is one.
    pub fn pin_owned(&self) -> Result<OwnedPin> {
        self.check("lookup", Need::Read)?;
        let table = self.clone();
        // SAFETY: `table`, a clone of both `Arc`s, is stored in the returned pin beside
        // `reads` and dropped after it (field order); `reads` is private and its borrows are
        // handed out only for the duration of a method call on the pin.
        let (inner, caller) =
            unsafe { (held(&table.inner), table.caller.as_ref().map(|c| held(c))) };
        Ok(OwnedPin {
            reads: Reads::new(inner, caller, inner.storage.pin_owned()),
            _table: table,
        })
    }
}

#[cfg(all(test, rets_loom))]
mod loom_tests;
