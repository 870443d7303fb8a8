//! ETS's match and select family: [`Table::select`] and its variants, with chunked selects
//! resumed by a [`Continuation`].
//!
//! Every operation walks the table with the same traversal and reads as first/next and lookup
//! (`Storage::chunk`, `Storage::read`, `Storage::for_each`), so a select gives the traversal
//! guarantee of first/next (never fails because of concurrent writers, never visits a key twice)
//! and sees exactly what those reads see. Which keys are walked is the spec's plan
//! ([`crate::query`]): the bound keys only, the range of a partially bound key on an
//! ordered_set, or the whole table.
//!
//! select_delete and select_replace read a batch of matching objects, then change each one in
//! its own write: an object is deleted (replaced) only if it is still there unchanged, so each
//! object's change is atomic, as ETS's are, and the whole call is not.

use std::marker::PhantomData;
use std::ops::ControlFlow;

use super::{Need, Table, TableType};
use crate::error::{Error, Result};
use crate::object::{Key, LookupKey, Object, ObjectRef, Objects, ToObject};
use crate::query::{MatchSpec, Outcome, Plan};
use crate::storage::{Direction, Start};
use crate::term::{self, Term};

/// Objects changed per batch by select_delete and select_replace (bounds their memory).
const WRITE_BATCH: usize = 1024;

/// Keys a walk reads per storage chunk (one descent each), at most: the spec runs on each key
/// inside the chunk's read, so this also bounds how long one read lasts.
const WALK_CHUNK: usize = 128;

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::term::Term {}
    impl Sealed for crate::object::Object {}
}

/// What a select collects per matching object: a [`Term`] (the body's result) or, for
/// match_object, the [`Object`] itself.
pub trait Hit: sealed::Sealed + Sized {
    #[doc(hidden)]
    fn hit(spec: &MatchSpec, object: ObjectRef<'_>, term: &Term) -> Option<Self>;
}

impl Hit for Term {
    fn hit(spec: &MatchSpec, _: ObjectRef<'_>, term: &Term) -> Option<Term> {
        match spec.run(term) {
            Outcome::Matched(result) => Some(result),
            Outcome::NoMatch => None,
        }
    }
}

impl Hit for Object {
    fn hit(spec: &MatchSpec, object: ObjectRef<'_>, term: &Term) -> Option<Object> {
        spec.accepts(term).then(|| object.to_object())
    }
}

/// Where a walk is.
#[derive(Debug, Clone)]
enum Cursor {
    /// A range walk that has not read its lower bound yet.
    RangeStart,
    /// After `after` (the start if `None`); `skip` objects of `after` were already visited
    /// when a chunk ended inside that key.
    Walk {
        after: Option<Key>,
        skip: usize,
    },
    /// At `keys[next]` of a [`Plan::Keys`], `skip` objects in.
    Keys {
        next: usize,
        skip: usize,
    },
    Done,
}

/// The rest of a chunked select (ETS's continuation, for `select/1`). It holds the table and
/// the compiled spec, and where the walk stopped: resuming it gives the next chunk with
/// first/next's guarantee, whatever was written meanwhile. It fails with
/// [`Error::NoTable`] once the table is deleted.
#[derive(Debug, Clone)]
pub struct Continuation<T = Term> {
    table: Table,
    spec: MatchSpec,
    plan: Plan,
    cursor: Cursor,
    direction: Direction,
    limit: usize,
    _hit: PhantomData<fn() -> T>,
}

impl<T: Hit> Continuation<T> {
    /// The next chunk (ETS `select/1`, `match/1`, `match_object/1`): up to the limit given
    /// when the select started (fewer only at the end) and the continuation after it, or
    /// `None` when nothing is left (`'$end_of_table'`).
    pub fn next(mut self) -> Result<Option<(Vec<T>, Continuation<T>)>> {
        Ok(self.next_chunk()?.map(|found| (found, self)))
    }

    /// [`Continuation::next`] in place: the next chunk, this continuation moved past it;
    /// `None` at the end. On an error (the table deleted, access) the continuation is
    /// unchanged.
    pub fn next_chunk(&mut self) -> Result<Option<Vec<T>>> {
        let table = self.table.clone();
        table.chunk(self)
    }

    /// Whether the walk has ended (the next call gives `None`).
    pub fn is_done(&self) -> bool {
        matches!(self.cursor, Cursor::Done)
    }
}

/// Visits up to `budget` hits among `objects`, skipping the first `skip`. Returns the hits and,
/// if it stopped before the last object, how many objects of this key are done.
fn take_objects(
    objects: Objects<'_>,
    skip: usize,
    budget: usize,
    whole_key: bool,
    visit: &mut dyn FnMut(ObjectRef<'_>) -> bool,
) -> (usize, Option<usize>) {
    let total = objects.len();
    let mut hits = 0;
    for (i, object) in objects.enumerate().skip(skip) {
        if visit(object) {
            hits += 1;
            if hits >= budget && !whole_key && i + 1 < total {
                return (hits, Some(i + 1));
            }
        }
    }
    (hits, None)
}

/// Decodes a stored object (canonical by construction).
fn decoded(object: ObjectRef<'_>) -> Term {
    term::decode_canonical(object.as_msgpack()).expect("stored objects are canonical terms")
}

/// `object` decoded for `spec`'s clauses, or `None` if its encoding already shows that no head
/// can match (`MatchSpec::may_match`): a selective walk decodes only the objects that may.
fn candidate(spec: &MatchSpec, object: ObjectRef<'_>) -> Option<Term> {
    spec.may_match(object.as_msgpack()).then(|| decoded(object))
}

impl Table {
    fn plan_for(&self, spec: &MatchSpec, reverse: bool) -> (Plan, Cursor, Direction) {
        let ordered = self.inner.table_type == TableType::OrderedSet;
        let direction = self.direction(reverse);
        let plan = spec.plan(self.inner.keypos, ordered);
        match plan {
            Plan::Keys(mut keys) => {
                if direction == Direction::Backward {
                    keys.reverse();
                }
                (
                    Plan::Keys(keys),
                    Cursor::Keys { next: 0, skip: 0 },
                    direction,
                )
            }
            Plan::Range { .. } if direction == Direction::Backward => {
                // Walking a range backward needs its last key: collect the range's keys
                // forward (the range only, not the table) and visit them in reverse.
                let mut keys = Vec::new();
                let mut cursor = Cursor::RangeStart;
                let mut last: Option<Key> = None;
                self.walk(
                    &plan,
                    &mut cursor,
                    Direction::Forward,
                    usize::MAX,
                    true,
                    &mut |o| {
                        if last
                            .as_ref()
                            .is_none_or(|k| k.as_msgpack() != o.key_msgpack())
                        {
                            let key = Key::from_canonical(o.key_msgpack());
                            keys.push(key.clone());
                            last = Some(key);
                        }
                        false
                    },
                );
                keys.reverse();
                (
                    Plan::Keys(keys),
                    Cursor::Keys { next: 0, skip: 0 },
                    direction,
                )
            }
            Plan::Range { .. } => (plan, Cursor::RangeStart, direction),
            Plan::Scan => (
                plan,
                Cursor::Walk {
                    after: None,
                    skip: 0,
                },
                direction,
            ),
        }
    }

    /// Walks the plan's candidates from `cursor`, calling `visit` on each object, until `limit`
    /// visits returned true (then `cursor` is where to resume) or the candidates end (then
    /// `cursor` is `Done`). With `whole_keys`, a key's objects are all visited even past the
    /// limit, so that the cursor never stops inside a key. Returns the hits.
    fn walk(
        &self,
        plan: &Plan,
        cursor: &mut Cursor,
        direction: Direction,
        limit: usize,
        whole_keys: bool,
        visit: &mut dyn FnMut(ObjectRef<'_>) -> bool,
    ) -> usize {
        let storage = &self.inner.storage;
        let mut hits = 0;
        // A whole scan in one call: the storage's own iteration, under one guard.
        if limit == usize::MAX && matches!(plan, Plan::Scan) {
            if let Cursor::Walk { after: None, .. } = cursor {
                storage.for_each(direction, |o| {
                    if visit(o) {
                        hits += 1;
                    }
                });
                *cursor = Cursor::Done;
                return hits;
            }
        }
        while hits < limit {
            let budget = limit - hits;
            match cursor {
                Cursor::Done => break,
                Cursor::RangeStart => {
                    let Plan::Range { lower, .. } = plan else {
                        unreachable!("RangeStart only starts a range plan")
                    };
                    let (h, resume) = storage.read(LookupKey::new(lower.as_msgpack()), |objects| {
                        take_objects(objects, 0, budget, whole_keys, visit)
                    });
                    hits += h;
                    *cursor = Cursor::Walk {
                        after: Some(lower.clone()),
                        skip: resume.unwrap_or(0),
                    };
                }
                Cursor::Keys { next, skip } => {
                    let Plan::Keys(keys) = plan else {
                        unreachable!("a Keys cursor walks a Keys plan")
                    };
                    let Some(key) = keys.get(*next) else {
                        *cursor = Cursor::Done;
                        break;
                    };
                    let (h, resume) = storage.read(LookupKey::new(key.as_msgpack()), |objects| {
                        take_objects(objects, *skip, budget, whole_keys, visit)
                    });
                    hits += h;
                    match resume {
                        Some(s) => *skip = s,
                        None => {
                            *next += 1;
                            *skip = 0;
                        }
                    }
                }
                Cursor::Walk {
                    after: Some(key),
                    skip,
                } if *skip > 0 => {
                    // The rest of a key a chunk ended in.
                    let (h, resume) = storage.read(LookupKey::new(key.as_msgpack()), |objects| {
                        take_objects(objects, *skip, budget, whole_keys, visit)
                    });
                    hits += h;
                    *skip = resume.unwrap_or(0);
                }
                Cursor::Walk { after, skip } => {
                    // The next keys in one chunk of the storage (one descent or probe
                    // sequence), stopping at the budget, inside a key, or past the range.
                    let start = after
                        .as_ref()
                        .map_or(Start::First, |k| Start::After(k.as_msgpack()));
                    let (mut got, mut resume, mut beyond) = (0, None, false);
                    let mut last_key: Option<Vec<u8>> = None;
                    let chunk = storage.chunk(start, direction, WALK_CHUNK, |key, objects| {
                        if !plan.in_range(key) {
                            beyond = true;
                            return ControlFlow::Break(());
                        }
                        let (h, r) = take_objects(objects, 0, budget - got, whole_keys, visit);
                        got += h;
                        let last = last_key.get_or_insert_with(Vec::new);
                        last.clear();
                        last.extend_from_slice(key);
                        resume = r;
                        if resume.is_some() || got >= budget {
                            ControlFlow::Break(())
                        } else {
                            ControlFlow::Continue(())
                        }
                    });
                    hits += got;
                    match last_key {
                        // (A chunk that stopped inside a key did not reach the end.)
                        Some(key) if !beyond && !chunk.exhausted => {
                            *after = Some(Key::from_canonical(&key));
                            *skip = resume.unwrap_or(0);
                        }
                        _ => *cursor = Cursor::Done,
                    }
                }
            }
        }
        hits
    }

    /// Runs a select-like walk to the end, collecting hits.
    fn collect<T: Hit>(&self, op: &'static str, spec: &MatchSpec, reverse: bool) -> Result<Vec<T>> {
        self.check(op, Need::Read)?;
        let (plan, mut cursor, direction) = self.plan_for(spec, reverse);
        let mut found = Vec::new();
        self.walk(
            &plan,
            &mut cursor,
            direction,
            usize::MAX,
            false,
            &mut |o| match candidate(spec, o).and_then(|t| T::hit(spec, o, &t)) {
                Some(hit) => {
                    found.push(hit);
                    true
                }
                None => false,
            },
        );
        Ok(found)
    }

    /// Starts a chunked walk.
    fn start<T: Hit>(
        &self,
        op: &'static str,
        spec: &MatchSpec,
        limit: usize,
        reverse: bool,
    ) -> Result<Option<(Vec<T>, Continuation<T>)>> {
        self.check(op, Need::Read)?;
        if limit == 0 {
            return Err(Error::BadArgument(format!(
                "{op}: the limit must be at least 1"
            )));
        }
        let (plan, cursor, direction) = self.plan_for(spec, reverse);
        Continuation {
            table: self.clone(),
            spec: spec.clone(),
            plan,
            cursor,
            direction,
            limit,
            _hit: PhantomData,
        }
        .next()
    }

    /// One chunk of a continuation; `None` when it found nothing before the end.
    fn chunk<T: Hit>(&self, c: &mut Continuation<T>) -> Result<Option<Vec<T>>> {
        self.check("select", Need::Read)?;
        if matches!(c.cursor, Cursor::Done) {
            return Ok(None);
        }
        let mut found = Vec::with_capacity(c.limit.min(1024));
        let spec = &c.spec;
        self.walk(
            &c.plan,
            &mut c.cursor,
            c.direction,
            c.limit,
            false,
            &mut |o| match candidate(spec, o).and_then(|t| T::hit(spec, o, &t)) {
                Some(hit) => {
                    found.push(hit);
                    true
                }
                None => false,
            },
        );
        Ok((!found.is_empty()).then_some(found))
    }

    // ---- select ----

    /// The results of `spec` on every object (ETS `select/2`): for each object, the body of
    /// the first clause that matches it. On an ordered_set in key order.
    pub fn select(&self, spec: &MatchSpec) -> Result<Vec<Term>> {
        self.collect("select", spec, false)
    }

    /// [`Table::select`] in reverse order on an ordered_set; the same as select on other types
    /// (ETS `select_reverse/2`).
    pub fn select_reverse(&self, spec: &MatchSpec) -> Result<Vec<Term>> {
        self.collect("select_reverse", spec, true)
    }

    /// The first `limit` results (at least 1) and a continuation for the rest (ETS
    /// `select/3`), or `None` if there is no result at all (`'$end_of_table'`).
    pub fn select_limit(
        &self,
        spec: &MatchSpec,
        limit: usize,
    ) -> Result<Option<(Vec<Term>, Continuation)>> {
        self.start("select", spec, limit, false)
    }

    /// [`Table::select_limit`] in reverse order (ETS `select_reverse/3`).
    pub fn select_reverse_limit(
        &self,
        spec: &MatchSpec,
        limit: usize,
    ) -> Result<Option<(Vec<Term>, Continuation)>> {
        self.start("select_reverse", spec, limit, true)
    }

    /// The number of objects for which `spec` gives `true` (ETS `select_count/2`).
    pub fn select_count(&self, spec: &MatchSpec) -> Result<usize> {
        self.check("select_count", Need::Read)?;
        let (plan, mut cursor, direction) = self.plan_for(spec, false);
        Ok(
            self.walk(&plan, &mut cursor, direction, usize::MAX, false, &mut |o| {
                candidate(spec, o)
                    .is_some_and(|t| matches!(spec.run(&t), Outcome::Matched(Term::Bool(true))))
            }),
        )
    }

    /// Deletes every object for which `spec` gives `true` and returns how many (ETS
    /// `select_delete/2`). Each deletion is atomic; an object changed meanwhile is left.
    pub fn select_delete(&self, spec: &MatchSpec) -> Result<usize> {
        self.check("select_delete", Need::Write)?;
        self.delete_where(spec, |spec, term| {
            matches!(spec.run(term), Outcome::Matched(Term::Bool(true)))
        })
    }

    fn delete_where(
        &self,
        spec: &MatchSpec,
        selected: impl Fn(&MatchSpec, &Term) -> bool,
    ) -> Result<usize> {
        let (plan, mut cursor, direction) = self.plan_for(spec, false);
        let mut deleted = 0;
        while !matches!(cursor, Cursor::Done) {
            let mut batch: Vec<Object> = Vec::new();
            self.walk(&plan, &mut cursor, direction, WRITE_BATCH, true, &mut |o| {
                let hit = candidate(spec, o).is_some_and(|t| selected(spec, &t));
                if hit {
                    batch.push(o.to_object());
                }
                hit
            });
            for object in batch {
                let key = object.key_msgpack();
                self.write(&[key], |txn| {
                    txn.update(key, |slot| {
                        let before = slot.len();
                        slot.retain(|o| *o != object);
                        deleted += before - slot.len();
                    });
                    Ok(())
                })?;
            }
        }
        Ok(deleted)
    }

    /// Replaces every object with the result of `spec` on it and returns how many (ETS
    /// `select_replace/2`). Not on a bag (as ETS); on a set, an ordered_set and a
    /// duplicate_bag. The spec must keep the key: each clause's body is `'$_'` or a tuple
    /// construction that puts the head's key, unchanged, at the key position; otherwise the spec
    /// is rejected ([`Error::BadMatchSpec`]) before anything changes. Each key's replacements
    /// are atomic (a compare-and-swap: an object is replaced only if it is still there
    /// unchanged).
    pub fn select_replace(&self, spec: &MatchSpec) -> Result<usize> {
        self.check("select_replace", Need::Write)?;
        if self.inner.table_type == TableType::Bag {
            return Err(Error::WrongTableType {
                op: "select_replace",
                table_type: self.inner.table_type,
            });
        }
        let keypos = self.inner.keypos;
        spec.check_keeps_key(keypos)?;
        let (plan, mut cursor, direction) = self.plan_for(spec, false);
        let mut replaced = 0;
        while !matches!(cursor, Cursor::Done) {
            let mut batch: Vec<(Object, Object)> = Vec::new();
            let mut failure = None;
            self.walk(&plan, &mut cursor, direction, WRITE_BATCH, true, &mut |o| {
                let Some(Outcome::Matched(new)) = candidate(spec, o).map(|t| spec.run(&t)) else {
                    return false;
                };
                match new.to_object(keypos) {
                    Ok(new) if new.key_msgpack() == o.key_msgpack() => {
                        batch.push((o.to_object(), new));
                        true
                    }
                    // A key changed by a body the check could not see through: left unchanged.
                    Ok(_) => false,
                    Err(e) => {
                        failure.get_or_insert(e);
                        false
                    }
                }
            });
            // The batch holds whole keys, each key's objects together and in order.
            for group in batch.chunk_by(|a, b| a.0.key_msgpack() == b.0.key_msgpack()) {
                replaced += self.replace_in_key(group)?;
            }
            if let Some(e) = failure {
                return Err(e);
            }
        }
        Ok(replaced)
    }

    /// Replaces, in one write of their key, each `old` object still present with its `new` one
    /// (each stored object at most once, so that copies in a duplicate_bag pair up in order).
    fn replace_in_key(&self, pairs: &[(Object, Object)]) -> Result<usize> {
        let key = pairs[0].0.key_msgpack();
        self.write_in_place(key, |txn| {
            Ok(txn.update(key, |slot| {
                let mut done = vec![false; slot.len()];
                let mut count = 0;
                for (old, new) in pairs {
                    let found = (0..slot.len()).find(|&i| !done[i] && slot[i] == *old);
                    if let Some(i) = found {
                        slot[i] = new.clone();
                        done[i] = true;
                        count += 1;
                    }
                }
                count
            }))
        })
    }

    // ---- match ----

    /// The bindings of `pattern`'s variables for every object that matches it, each an array
    /// in variable order (ETS `match/2`, whose results are lists).
    pub fn match_pattern(&self, pattern: &Term) -> Result<Vec<Term>> {
        self.collect("match", &MatchSpec::from_pattern(pattern)?, false)
    }

    /// [`Table::match_pattern`] in chunks (ETS `match/3`).
    pub fn match_pattern_limit(
        &self,
        pattern: &Term,
        limit: usize,
    ) -> Result<Option<(Vec<Term>, Continuation)>> {
        self.start("match", &MatchSpec::from_pattern(pattern)?, limit, false)
    }

    /// Every object that matches `pattern` (ETS `match_object/2`).
    pub fn match_object(&self, pattern: &Term) -> Result<Vec<Object>> {
        self.collect(
            "match_object",
            &MatchSpec::from_object_pattern(pattern)?,
            false,
        )
    }

    /// [`Table::match_object`] in chunks (ETS `match_object/3`).
    pub fn match_object_limit(
        &self,
        pattern: &Term,
        limit: usize,
    ) -> Result<Option<(Vec<Object>, Continuation<Object>)>> {
        let spec = MatchSpec::from_object_pattern(pattern)?;
        self.start("match_object", &spec, limit, false)
    }

    /// Deletes every object that matches `pattern` and returns how many (ETS
    /// `match_delete/2`, which returns `true`).
    pub fn match_delete(&self, pattern: &Term) -> Result<usize> {
        self.check("match_delete", Need::Write)?;
        self.delete_where(&MatchSpec::from_object_pattern(pattern)?, |spec, term| {
            spec.accepts(term)
        })
    }
}

/// A whole-table walk in batches of owned objects, for callers that do slow work between
/// batches (tab2file writes them out): no storage guard is held between two batches, and the
/// walk has first/next's guarantee.
pub(super) struct Batches<'t> {
    table: &'t Table,
    cursor: Cursor,
}

impl<'t> Batches<'t> {
    pub(super) fn new(table: &'t Table) -> Batches<'t> {
        Batches {
            table,
            cursor: Cursor::Walk {
                after: None,
                skip: 0,
            },
        }
    }

    /// The next batch: about `size` objects (whole keys), empty at the end.
    pub(super) fn next_batch(&mut self, size: usize) -> Vec<Object> {
        let mut batch = Vec::new();
        self.table.walk(
            &Plan::Scan,
            &mut self.cursor,
            Direction::Forward,
            size,
            true,
            &mut |o| {
                batch.push(o.to_object());
                true
            },
        );
        batch
    }
}
