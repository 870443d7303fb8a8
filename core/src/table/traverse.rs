//! Chunked traversal: the next `n` keys (with their objects) after a key, read in one pass of
//! the storage, and the iterators built on it ([`Table::iter`], [`Table::range`]).
//!
//! A chunk is read under one reclamation guard with one descent of the ordered_set's tree (then
//! leaf by leaf) or one probe sequence per shard of a hash table, where `next` pays a full
//! search per key. Between chunks no guard is held: an iterator copies each chunk out (into one
//! reused buffer), so the caller's code never runs inside the storage.
//!
//! # Guarantees under concurrent writers
//!
//! As for first/next (ETS's `safe_fixtable`, without fixing): each chunk starts strictly after
//! the last key of the previous one in traversal order, which is term order on an ordered_set
//! and the fixed order `(hash, key bytes)` of a hash table (the hash is seeded once per table,
//! and a key's place does not depend on the array it sits in, so rebuilds and resizes move
//! nothing). Hence a traversal never fails because of writers, never returns a key twice, and
//! returns every key present for the whole traversal exactly once, in order. A key inserted or
//! deleted meanwhile may or may not be seen (a key deleted and inserted again at most once); an
//! object is seen as it was when its chunk was read. Within one chunk an ordered_set is read
//! from one tree: a multi-key write is seen whole or not at all, while a one-key write made
//! meanwhile (a replaced object, or a key added to or removed from a leaf) may be seen in the
//! part of the chunk not read yet; a hash table's chunk reads each key as a lookup would. Expired objects (the cache layer) are never returned.

use std::iter::FusedIterator;
use std::ops::{Bound, ControlFlow, RangeBounds};

use super::{Need, Table, TableType};
use crate::error::{Error, Result};
use crate::object::{Key, Object, ObjectRef, Objects, ToKey};
use crate::storage::{Direction, Start};
use crate::term;

/// Keys per chunk of an iterator, unless set with [`Iter::chunk_size`].
pub const DEFAULT_CHUNK_KEYS: usize = 64;

/// An iterator's chunk ends after the key that takes its buffer past this many bytes (so large
/// objects do not make chunks large; a chunk holds at least one key).
const CHUNK_BYTES: usize = 256 * 1024;

/// Bytes per object the first chunk's buffer is sized for.
const TYPICAL_OBJECT_BYTES: usize = 48;

/// Where the next chunk starts.
#[derive(Debug)]
enum Next {
    /// The first chunk: from this bound on.
    Start(Bound<Key>),
    /// After this key (the last one read).
    After(Vec<u8>),
    Done,
}

/// One object in the chunk buffer: its bytes and its key's place in them.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    key: (u32, u32),
}

/// The objects of a table in traversal order (term order on an ordered_set), fetched in chunks
/// of whole keys: see [`Table::iter`] and [`Table::range`], and the module's guarantees under
/// concurrent writers.
///
/// Each item is a `Result`: reading a chunk fails if the table is deleted, its owner closes or
/// access is lost meanwhile (then the iterator ends). [`Iter::next_ref`] borrows each object
/// from the iterator's buffer instead of copying it out.
#[derive(Debug)]
pub struct Iter<'t> {
    table: &'t Table,
    direction: Direction,
    next: Next,
    /// The far end of a range (term order).
    end: Bound<Key>,
    chunk_keys: usize,
    /// The current chunk: the objects' bytes one after another, and where each one is.
    bytes: Vec<u8>,
    spans: Vec<Span>,
    /// The next span to hand out.
    at: usize,
}

impl<'t> Iter<'t> {
    fn new(table: &'t Table, direction: Direction, start: Bound<Key>, end: Bound<Key>) -> Self {
        Iter {
            table,
            direction,
            next: Next::Start(start),
            end,
            chunk_keys: DEFAULT_CHUNK_KEYS,
            bytes: Vec::new(),
            spans: Vec::new(),
            at: 0,
        }
    }

    /// Sets how many keys each chunk reads (at least 1; default [`DEFAULT_CHUNK_KEYS`]). A
    /// larger chunk costs fewer descents over a long range and copies more when only a few
    /// objects are used.
    pub fn chunk_size(mut self, keys: usize) -> Self {
        self.chunk_keys = keys.max(1);
        self
    }

    /// The next object, borrowed from the iterator's buffer (valid until the next call): the
    /// same sequence as [`Iterator::next`], without a copy per object.
    #[allow(clippy::should_implement_trait)]
    pub fn next_ref(&mut self) -> Option<Result<ObjectRef<'_>>> {
        if self.at == self.spans.len() {
            if let Err(e) = self.fetch() {
                return Some(Err(e));
            }
            if self.spans.is_empty() {
                return None;
            }
        }
        let span = self.spans[self.at];
        self.at += 1;
        Some(Ok(ObjectRef::from_parts(
            &self.bytes[span.start..span.end],
            span.key,
        )))
    }

    /// Reads the next chunk into the buffer (empty at the end). On an error the iterator ends.
    fn fetch(&mut self) -> Result<()> {
        self.bytes.clear();
        self.spans.clear();
        self.at = 0;
        let result = self.read_chunk();
        if result.is_err() {
            self.next = Next::Done;
        }
        result
    }

    fn read_chunk(&mut self) -> Result<()> {
        let start = match &self.next {
            Next::Done => return Ok(()),
            Next::Start(Bound::Unbounded) => Start::First,
            Next::Start(Bound::Included(k)) => Start::At(k.as_msgpack()),
            Next::Start(Bound::Excluded(k)) => Start::After(k.as_msgpack()),
            Next::After(k) => Start::After(k),
        };
        let table = self.table;
        table.check("traverse", Need::Read)?;
        if self.spans.capacity() == 0 {
            // Room for a typical chunk at once (the buffers are reused by later chunks).
            let keys = self.chunk_keys.min(1024);
            self.spans.reserve(keys);
            self.bytes.reserve(keys * TYPICAL_OBJECT_BYTES);
        }
        let (bytes, spans, end, direction) =
            (&mut self.bytes, &mut self.spans, &self.end, self.direction);
        let (mut beyond, bounded) = (false, !matches!(end, Bound::Unbounded));
        let chunk = table
            .inner
            .storage
            .chunk(start, direction, self.chunk_keys, |key, objects| {
                if bounded && past(end, key, direction) {
                    beyond = true;
                    return ControlFlow::Break(());
                }
                for o in objects {
                    let at = bytes.len();
                    bytes.extend_from_slice(o.as_msgpack());
                    spans.push(Span {
                        start: at,
                        end: bytes.len(),
                        key: o.key_range(),
                    });
                }
                if bytes.len() >= CHUNK_BYTES {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            });
        table.still_alive(())?;
        self.next = match self.spans.last() {
            Some(last) if !beyond && !chunk.exhausted => {
                let key =
                    &self.bytes[last.start..last.end][last.key.0 as usize..last.key.1 as usize];
                let mut after = match std::mem::replace(&mut self.next, Next::Done) {
                    Next::After(reused) => reused,
                    _ => Vec::new(),
                };
                after.clear();
                after.extend_from_slice(key);
                Next::After(after)
            }
            _ => Next::Done,
        };
        Ok(())
    }
}

/// Whether `key` is beyond the range's far end `end`, going in `direction`.
fn past(end: &Bound<Key>, key: &[u8], direction: Direction) -> bool {
    use std::cmp::Ordering::{Greater, Less};
    let (end, inclusive) = match end {
        Bound::Unbounded => return false,
        Bound::Included(e) => (e.as_msgpack(), true),
        Bound::Excluded(e) => (e.as_msgpack(), false),
    };
    let beyond = if direction == Direction::Forward {
        Greater
    } else {
        Less
    };
    match term::compare(key, end) {
        o if o == beyond => true,
        std::cmp::Ordering::Equal => !inclusive,
        _ => false,
    }
}

impl Iterator for Iter<'_> {
    type Item = Result<Object>;

    fn next(&mut self) -> Option<Result<Object>> {
        self.next_ref().map(|r| r.map(|o| o.to_object()))
    }
}

impl FusedIterator for Iter<'_> {}

/// A key bound as an owned canonical key.
fn owned_bound<K: ToKey>(bound: Bound<&K>) -> Result<Bound<Key>> {
    Ok(match bound {
        Bound::Unbounded => Bound::Unbounded,
        Bound::Included(k) => Bound::Included(k.with_key(Key::from_canonical)?),
        Bound::Excluded(k) => Bound::Excluded(k.with_key(Key::from_canonical)?),
    })
}

impl Table {
    /// Every object in traversal order (term order on an ordered_set, the table's fixed
    /// internal order otherwise), read in chunks of whole keys: one storage search per chunk,
    /// no guard or lock held between items. Safe under concurrent writers, as first/next are:
    /// no key twice, every key present throughout seen once (see the module documentation of
    /// `traverse`).
    ///
    /// ```
    /// # use rets_core::{Owner, TableOptions};
    /// let owner = Owner::new();
    /// let t = owner.new_table("t", TableOptions::new().ordered_set())?;
    /// t.insert_many((1..=3i64).map(|i| (i, i * 10)))?;
    /// let values: Vec<i64> = t
    ///     .iter()
    ///     .map(|o| Ok(o?.element(2).unwrap().as_i64().unwrap()))
    ///     .collect::<rets_core::Result<_>>()?;
    /// assert_eq!(values, [10, 20, 30]);
    /// # Ok::<(), rets_core::Error>(())
    /// ```
    pub fn iter(&self) -> Iter<'_> {
        Iter::new(self, Direction::Forward, Bound::Unbounded, Bound::Unbounded)
    }

    /// The objects of an ordered_set whose keys are in `range` (term order, so `1` and `1.0`
    /// are the same bound), in key order, read in chunks as [`Table::iter`] does. Fails with
    /// [`Error::WrongTableType`] on other table types, whose order is not term order.
    ///
    /// ```
    /// # use rets_core::{Owner, TableOptions};
    /// let owner = Owner::new();
    /// let t = owner.new_table("t", TableOptions::new().ordered_set())?;
    /// t.insert_many((0..100i64).map(|i| (i, i)))?;
    /// let keys: Vec<i64> = t.range(10i64..13)?.map(|o| Ok(o?.key().as_i64().unwrap()))
    ///     .collect::<rets_core::Result<_>>()?;
    /// assert_eq!(keys, [10, 11, 12]);
    /// # Ok::<(), rets_core::Error>(())
    /// ```
    pub fn range<K: ToKey>(&self, range: impl RangeBounds<K>) -> Result<Iter<'_>> {
        if self.inner.table_type != TableType::OrderedSet {
            return Err(Error::WrongTableType {
                op: "range",
                table_type: self.inner.table_type,
            });
        }
        let start = owned_bound(range.start_bound())?;
        let end = owned_bound(range.end_bound())?;
        Ok(Iter::new(self, Direction::Forward, start, end))
    }

    /// Calls `f(key, objects)` for each of the next `n` keys (at least 1) in traversal order
    /// from `start` (`Unbounded`: the first key; `Excluded(k)`: the key after `k`, as `next`;
    /// `Included(k)`: `k` itself if present, else the key after), backward on an ordered_set if
    /// `backward` (on other types, as with last/prev, forward). `k` need not be in the table.
    /// Returns how many keys it visited: fewer than `n` means the table ended, 0 that no key
    /// was left.
    ///
    /// The chunk is read in one pass of the storage: `f` runs inside it, so it should be short
    /// and must not call into this table (copy what it needs). The traversal guarantees are
    /// those of first/next (see [`Table::iter`]).
    pub fn chunk_with<K: ToKey>(
        &self,
        start: Bound<K>,
        n: usize,
        backward: bool,
        mut f: impl FnMut(&[u8], Objects<'_>),
    ) -> Result<usize> {
        self.check("traverse", Need::Read)?;
        if n == 0 {
            return Err(Error::BadArgument(
                "a chunk must ask for at least 1 key".into(),
            ));
        }
        let direction = self.direction(backward);
        let storage = &self.inner.storage;
        let mut read = |start: Start<'_>| {
            storage
                .chunk(start, direction, n, |key, objects| {
                    f(key, objects);
                    ControlFlow::Continue(())
                })
                .keys
        };
        let keys = match &start {
            Bound::Unbounded => read(Start::First),
            Bound::Included(k) => k.with_key(|k| read(Start::At(k)))?,
            Bound::Excluded(k) => k.with_key(|k| read(Start::After(k)))?,
        };
        self.still_alive(keys)
    }

    /// [`Table::iter`] in reverse traversal order: descending term order on an ordered_set;
    /// on other types the same as [`Table::iter`] (as last/prev are first/next there).
    pub fn iter_rev(&self) -> Iter<'_> {
        Iter::new(
            self,
            self.direction(true),
            Bound::Unbounded,
            Bound::Unbounded,
        )
    }
}
