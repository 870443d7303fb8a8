//! Differential testing: one table against the [`Model`], every result compared after every
//! operation (values exactly, errors by kind), plus invariants the model cannot state alone
//! (traversal visits each key once, size and memory agree).

use std::mem::discriminant;

use arbitrary::{Result, Unstructured};
use rets_core::{
    CounterOp, Error, Key, Msgpack, Object, Owner, Table, TableOptions, TableType, Term,
};

use crate::gen;
use crate::model::{Enc, MObject, Model};

/// One operation of a sequence.
#[derive(Debug)]
pub enum Op {
    /// With `true`, the object is given as its MessagePack encoding (`Msgpack`, as the C ABI
    /// and the bindings give it: a set's writes use such input from where it is), else as a
    /// `Term`; likewise for `InsertNew` and `DeleteObject`.
    Insert(Term, bool),
    InsertMany(Vec<Term>),
    InsertNew(Term, bool),
    InsertNewMany(Vec<Term>),
    Lookup(Term),
    Member(Term),
    LookupElement(Term, usize),
    LookupElementOr(Term, usize, Term),
    Take(Term),
    Delete(Term),
    DeleteObject(Term, bool),
    DeleteAllObjects,
    UpdateCounter(Term, i64),
    UpdateCounters(Term, Vec<CounterOp>),
    UpdateCountersOr(Term, Vec<CounterOp>, Term),
    UpdateElement(Term, Vec<(usize, Term)>),
    UpdateElementOr(Term, Vec<(usize, Term)>, Term),
    First,
    Last,
    Next(Term),
    Prev(Term),
    FirstLookup,
    LastLookup,
    NextLookup(Term),
    PrevLookup(Term),
    Walk {
        backward: bool,
    },
    Tab2List,
    Fold {
        backward: bool,
    },
    /// Every object by the chunked iterator, `chunk` keys per storage read.
    Chunks {
        backward: bool,
        chunk: usize,
    },
    Info,
    /// A write through another owner's handle: denied on this protected table.
    ForeignWrite(Term),
    /// A read through another owner's handle: allowed.
    ForeignLookup(Term),
}

impl Op {
    /// Whether the operation may change the table (size and memory are checked after those).
    fn writes(&self) -> bool {
        matches!(
            self,
            Op::Insert(..)
                | Op::InsertMany(_)
                | Op::InsertNew(..)
                | Op::InsertNewMany(_)
                | Op::Take(_)
                | Op::Delete(_)
                | Op::DeleteObject(..)
                | Op::DeleteAllObjects
                | Op::UpdateCounter(..)
                | Op::UpdateCounters(..)
                | Op::UpdateCountersOr(..)
                | Op::UpdateElement(..)
                | Op::UpdateElementOr(..)
                | Op::ForeignWrite(_)
        )
    }
}

fn op(u: &mut Unstructured<'_>, keypos: usize) -> Result<Op> {
    use gen::{counter_ops, elements, incr, key, object, objects, position};
    Ok(match u.int_in_range(0..=31)? {
        0 => Op::Insert(object(u, keypos)?, u.arbitrary()?),
        1 => Op::InsertMany(objects(u, keypos)?),
        2 => Op::InsertNew(object(u, keypos)?, u.arbitrary()?),
        3 => Op::InsertNewMany(objects(u, keypos)?),
        4 => Op::Lookup(key(u)?),
        5 => Op::Member(key(u)?),
        6 => Op::LookupElement(key(u)?, position(u)?),
        7 => Op::LookupElementOr(key(u)?, position(u)?, gen::element(u)?),
        8 => Op::Take(key(u)?),
        9 => Op::Delete(key(u)?),
        10 => Op::DeleteObject(object(u, keypos)?, u.arbitrary()?),
        11 => Op::DeleteAllObjects,
        12 => Op::UpdateCounter(key(u)?, incr(u)?),
        13 => Op::UpdateCounters(key(u)?, counter_ops(u)?),
        14 => Op::UpdateCountersOr(key(u)?, counter_ops(u)?, object(u, keypos)?),
        15 => Op::UpdateElement(key(u)?, elements(u)?),
        16 => Op::UpdateElementOr(key(u)?, elements(u)?, object(u, keypos)?),
        17 => Op::First,
        18 => Op::Last,
        19 => Op::Next(key(u)?),
        20 => Op::Prev(key(u)?),
        21 => Op::FirstLookup,
        22 => Op::LastLookup,
        23 => Op::NextLookup(key(u)?),
        24 => Op::PrevLookup(key(u)?),
        25 => Op::Walk {
            backward: u.arbitrary()?,
        },
        26 => Op::Tab2List,
        27 => Op::Fold {
            backward: u.arbitrary()?,
        },
        28 => Op::Info,
        29 => Op::ForeignWrite(object(u, keypos)?),
        30 => Op::ForeignLookup(key(u)?),
        _ => Op::Chunks {
            backward: u.arbitrary()?,
            chunk: u.int_in_range(1..=5)?,
        },
    })
}

/// `o` encoded as MessagePack if `as_bytes` (and it encodes: a NaN does not, and then goes as a
/// `Term`, whose error is the same).
fn encoded(o: &Term, as_bytes: bool) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    (as_bytes && rets_core::term::encode(o, &mut bytes).is_ok()).then_some(bytes)
}

/// Decodes a sequence: keypos (1 to 3), then up to 64 operations.
pub fn sequence(data: &[u8]) -> Result<(usize, Vec<Op>)> {
    let mut u = Unstructured::new(data);
    let keypos = u.int_in_range(1..=3)?;
    let mut ops = Vec::new();
    while !u.is_empty() && ops.len() < 64 {
        ops.push(op(&mut u, keypos)?);
    }
    Ok((keypos, ops))
}

fn same<T: PartialEq + std::fmt::Debug, U: std::fmt::Debug>(
    what: &Op,
    got: &Result<T, Error>,
    want: &Result<U, Error>,
    eq: impl Fn(&T, &U) -> bool,
) {
    let ok = match (got, want) {
        (Ok(g), Ok(w)) => eq(g, w),
        (Err(g), Err(w)) => discriminant(g) == discriminant(w),
        _ => false,
    };
    assert!(ok, "{what:?}: rets gave {got:?}, the model {want:?}");
}

fn bytes(t: &Term) -> Vec<u8> {
    crate::model::encoded(t)
}

fn same_objects(got: &[Object], want: &[MObject]) -> bool {
    got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .all(|(g, w)| g.as_msgpack() == w.object.bytes)
}

fn same_object_refs(got: &[Object], want: &[&MObject]) -> bool {
    got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .all(|(g, w)| g.as_msgpack() == w.object.bytes)
}

/// The key rets returned must be a key of the model (hash tables: order is rets's own).
fn present(model: &Model, key: &Key) -> bool {
    model
        .entries
        .iter()
        .any(|e| e.key.bytes == key.as_msgpack())
}

/// Groups objects by key, in order of first appearance, asserting that each key's objects are
/// contiguous (as tab2list and folds return them).
fn groups(objects: &[Object]) -> Vec<(Vec<u8>, Vec<Vec<u8>>)> {
    let mut out: Vec<(Vec<u8>, Vec<Vec<u8>>)> = Vec::new();
    for o in objects {
        let key = o.key_msgpack().to_vec();
        match out.last_mut() {
            Some((k, objs)) if *k == key => objs.push(o.as_msgpack().to_vec()),
            _ => {
                assert!(
                    out.iter().all(|(k, _)| *k != key),
                    "objects of one key are not contiguous: {objects:?}"
                );
                out.push((key, vec![o.as_msgpack().to_vec()]));
            }
        }
    }
    out
}

/// Whether a whole-table listing matches the model: exactly in order on an ordered_set; per
/// key (objects in insertion order) on a hash table, whose key order is its own.
fn same_listing(model: &Model, got: &[Object]) -> bool {
    if model.table_type == TableType::OrderedSet {
        return same_object_refs(got, &model.all_objects());
    }
    let mut got = groups(got);
    let mut want: Vec<(Vec<u8>, Vec<Vec<u8>>)> = model
        .entries
        .iter()
        .map(|e| {
            (
                e.key.bytes.clone(),
                e.objects.iter().map(|o| o.object.bytes.clone()).collect(),
            )
        })
        .collect();
    got.sort_unstable();
    want.sort_unstable();
    got == want
}

/// Steps from `from` on a hash table: rets's order is its own, so check what can be checked.
fn check_hash_step(model: &Model, op: &Op, from: Option<&Enc>, got: &Option<Key>) {
    match got {
        None => assert!(
            from.is_some() || model.entries.is_empty(),
            "{op:?}: end of table on a non-empty table"
        ),
        Some(k) => {
            assert!(present(model, k), "{op:?}: {k:?} is not in the table");
            if let Some(from) = from {
                assert_ne!(
                    k.as_msgpack(),
                    from.bytes,
                    "{op:?}: next returned its argument"
                );
            }
        }
    }
}

/// Runs a sequence from fuzzer bytes on a fresh table of `table_type`.
pub fn run(table_type: TableType, data: &[u8]) {
    let Ok((keypos, ops)) = sequence(data) else {
        return;
    };
    let owner = Owner::new();
    let other = Owner::new();
    let table = owner
        .new_table(
            "fuzz",
            TableOptions::new()
                .table_type(table_type)
                .keypos(keypos)
                .protected(),
        )
        .expect("a new table");
    let foreign = table.with_caller(&other);
    let empty_memory = table.memory().unwrap();
    assert_eq!(empty_memory, table.info().unwrap().memory);
    let mut model = Model::new(table_type, keypos);
    for op in &ops {
        apply(&table, &foreign, &mut model, op);
        if !op.writes() {
            continue;
        }
        assert_eq!(table.size().unwrap(), model.size(), "size after {op:?}");
        if model.entries.is_empty() {
            assert_eq!(
                table.memory().unwrap(),
                empty_memory,
                "memory of an empty table after {op:?}"
            );
        }
    }
    table.delete_table().unwrap();
    assert!(matches!(table.lookup(1), Err(Error::NoTable { .. })));
    assert!(matches!(
        table.insert((1, 2, 3)),
        Err(Error::NoTable { .. })
    ));
    owner.close();
    assert!(matches!(foreign.lookup(1), Err(Error::NoTable { .. })));
}

/// Runs one match arm of [`apply`] as a function of its own. Under AddressSanitizer every call
/// of a function takes a fake stack frame as large as all its locals (to catch a use after
/// return), and `apply` with every arm inlined took 32 KB, set up and poisoned on each of up
/// to 64 calls per input; each arm alone takes what it uses.
#[inline(never)]
fn arm<R>(f: impl FnOnce() -> R) -> R {
    f()
}

fn apply(table: &Table, foreign: &Table, model: &mut Model, op: &Op) {
    let ordered = model.table_type == TableType::OrderedSet;
    let enc = |t: &Term| Enc::new(t.clone());
    match op {
        Op::Insert(o, as_bytes) => arm(|| {
            let got = match encoded(o, *as_bytes) {
                Some(bytes) => table.insert(Msgpack(&bytes)),
                None => table.insert(o),
            };
            same(op, &got, &model.insert(std::slice::from_ref(o)), |_, _| {
                true
            })
        }),
        Op::InsertMany(os) => {
            arm(|| same(op, &table.insert_many(os), &model.insert(os), |_, _| true))
        }
        Op::InsertNew(o, as_bytes) => arm(|| {
            let got = match encoded(o, *as_bytes) {
                Some(bytes) => table.insert_new(Msgpack(&bytes)),
                None => table.insert_new(o),
            };
            same(
                op,
                &got,
                &model.insert_new(std::slice::from_ref(o)),
                PartialEq::eq,
            )
        }),
        Op::InsertNewMany(os) => arm(|| {
            same(
                op,
                &table.insert_new_many(os),
                &model.insert_new(os),
                PartialEq::eq,
            )
        }),
        Op::Lookup(k) => arm(|| {
            same(op, &table.lookup(k), &Ok(model.lookup(&enc(k))), |g, w| {
                same_objects(g, w)
            })
        }),
        Op::Member(k) => arm(|| {
            same(
                op,
                &table.member(k),
                &Ok(model.find(&enc(k)).is_some()),
                PartialEq::eq,
            )
        }),
        Op::LookupElement(k, pos) => arm(|| {
            same(
                op,
                &table.lookup_element(k, *pos),
                &model.lookup_element(&enc(k), *pos, None),
                |g, w| bytes(g) == bytes(w),
            )
        }),
        Op::LookupElementOr(k, pos, d) => arm(|| {
            same(
                op,
                &table.lookup_element_or(k, *pos, d.clone()),
                &model.lookup_element(&enc(k), *pos, Some(d)),
                |g, w| bytes(g) == bytes(w),
            )
        }),
        Op::Take(k) => arm(|| {
            same(op, &table.take(k), &Ok(model.take(&enc(k))), |g, w| {
                same_objects(g, w)
            })
        }),
        Op::Delete(k) => arm(|| {
            model.take(&enc(k));
            same(op, &table.delete(k), &Ok(()), |_, _: &()| true);
        }),
        Op::DeleteObject(o, as_bytes) => arm(|| {
            let got = match encoded(o, *as_bytes) {
                Some(bytes) => table.delete_object(Msgpack(&bytes)),
                None => table.delete_object(o),
            };
            same(op, &got, &model.delete_object(o), |_, _| true)
        }),
        Op::DeleteAllObjects => arm(|| {
            model.delete_all_objects();
            same(op, &table.delete_all_objects(), &Ok(()), |_, _: &()| true);
        }),
        Op::UpdateCounter(k, incr) => arm(|| {
            let want = model
                .update_counters(&enc(k), &[CounterOp::new(model.keypos + 1, *incr)], None)
                .map(|v| v[0]);
            same(op, &table.update_counter(k, *incr), &want, PartialEq::eq);
        }),
        Op::UpdateCounters(k, ops) => arm(|| {
            same(
                op,
                &table.update_counters(k, ops),
                &model.update_counters(&enc(k), ops, None),
                PartialEq::eq,
            )
        }),
        Op::UpdateCountersOr(k, ops, d) => arm(|| {
            same(
                op,
                &table.update_counters_or(k, ops, d),
                &model.update_counters(&enc(k), ops, Some(d)),
                PartialEq::eq,
            )
        }),
        Op::UpdateElement(k, els) => arm(|| {
            same(
                op,
                &table.update_element(k, els),
                &model.update_element(&enc(k), els, None),
                PartialEq::eq,
            )
        }),
        Op::UpdateElementOr(k, els, d) => arm(|| {
            same(
                op,
                &table.update_element_or(k, els, d),
                &model.update_element(&enc(k), els, Some(d)),
                PartialEq::eq,
            )
        }),
        Op::First | Op::Last | Op::Next(_) | Op::Prev(_) => arm(|| {
            let (from, backward) = match op {
                Op::First => (None, false),
                Op::Last => (None, true),
                Op::Next(k) => (Some(enc(k)), false),
                _ => (
                    match op {
                        Op::Prev(k) => Some(enc(k)),
                        _ => None,
                    },
                    true,
                ),
            };
            let got = match (&from, backward) {
                (None, false) => table.first(),
                (None, true) => table.last(),
                (Some(k), false) => table.next(&k.term),
                (Some(k), true) => table.prev(&k.term),
            }
            .expect("traversal never fails");
            if ordered {
                let want = model.step_ordered(from.as_ref(), backward);
                assert_eq!(
                    got.as_ref().map(|k| k.as_msgpack().to_vec()),
                    want.map(|e| e.key.bytes.clone()),
                    "{op:?}"
                );
            } else {
                check_hash_step(model, op, from.as_ref(), &got);
                // last/prev are first/next on a hash table.
                let forward = match &from {
                    None => table.first(),
                    Some(k) => table.next(&k.term),
                };
                assert_eq!(
                    got,
                    forward.unwrap(),
                    "{op:?}: backward differs from forward"
                );
            }
        }),
        Op::FirstLookup | Op::LastLookup | Op::NextLookup(_) | Op::PrevLookup(_) => arm(|| {
            let got = match op {
                Op::FirstLookup => table.first_lookup(),
                Op::LastLookup => table.last_lookup(),
                Op::NextLookup(k) => table.next_lookup(k),
                Op::PrevLookup(k) => table.prev_lookup(k),
                _ => unreachable!(),
            }
            .expect("traversal never fails");
            if let Some((key, objects)) = &got {
                let want = model.lookup(&Enc::new(key.to_term()));
                assert!(
                    same_objects(objects, want),
                    "{op:?}: {objects:?} vs {want:?}"
                );
            }
            let key_only = match op {
                Op::FirstLookup => table.first(),
                Op::LastLookup => table.last(),
                Op::NextLookup(k) => table.next(k),
                Op::PrevLookup(k) => table.prev(k),
                _ => unreachable!(),
            };
            assert_eq!(
                got.map(|(k, _)| k),
                key_only.unwrap(),
                "{op:?}: differs from the key-only step"
            );
        }),
        Op::Walk { backward } => arm(|| {
            let mut keys: Vec<Key> = Vec::new();
            let mut at = if *backward {
                table.last()
            } else {
                table.first()
            }
            .unwrap();
            while let Some(k) = at {
                assert!(
                    keys.len() <= model.entries.len(),
                    "{op:?}: walk does not end: {keys:?}"
                );
                at = if *backward {
                    table.prev(&k)
                } else {
                    table.next(&k)
                }
                .unwrap();
                keys.push(k);
            }
            let mut got: Vec<Vec<u8>> = keys.iter().map(|k| k.as_msgpack().to_vec()).collect();
            let mut want: Vec<Vec<u8>> =
                model.entries.iter().map(|e| e.key.bytes.clone()).collect();
            if ordered && *backward {
                want.reverse();
            }
            if !ordered {
                got.sort_unstable();
                want.sort_unstable();
            }
            assert_eq!(got, want, "{op:?}");
        }),
        Op::Tab2List => arm(|| {
            let got = table.tab2list().unwrap();
            assert!(same_listing(model, &got), "{op:?}: {got:?} vs {model:?}");
        }),
        Op::Fold { backward } => arm(|| {
            let collect = |mut acc: Vec<Object>, o: &Object| {
                acc.push(o.clone());
                acc
            };
            let got = if *backward {
                table.foldr(Vec::new(), collect)
            } else {
                table.foldl(Vec::new(), collect)
            }
            .unwrap();
            // Against the model (not against tab2list, which could be wrong the same way):
            // foldr on an ordered_set visits in reverse term order, so reverse it back first.
            let mut in_order = got;
            if *backward && ordered {
                in_order.reverse();
            }
            assert!(
                same_listing(model, &in_order),
                "{op:?}: {in_order:?} vs {model:?}"
            );
        }),
        Op::Chunks { backward, chunk } => arm(|| {
            let objects = if *backward {
                table.iter_rev()
            } else {
                table.iter()
            };
            let got: Vec<Object> = objects.chunk_size(*chunk).map(Result::unwrap).collect();
            // As for folds: checked against the model, in term order on an ordered_set.
            let mut in_order = got;
            if *backward && ordered {
                in_order.reverse();
            }
            assert!(
                same_listing(model, &in_order),
                "{op:?}: {in_order:?} vs {model:?}"
            );
        }),
        Op::Info => arm(|| {
            let info = table.info().unwrap();
            assert_eq!(info.table_type, model.table_type);
            assert_eq!(info.keypos, model.keypos);
            // Sizes against the model; memory (which the model cannot know) against itself.
            assert_eq!(info.size, model.size(), "{op:?}: info size");
            assert_eq!(table.size().unwrap(), model.size(), "{op:?}: size");
            assert_eq!(info.memory, table.memory().unwrap());
        }),
        Op::ForeignWrite(o) => arm(|| {
            assert!(
                matches!(foreign.insert(o), Err(Error::Access { .. })),
                "{op:?}: a foreign write was not denied"
            );
            assert!(matches!(
                foreign.delete_all_objects(),
                Err(Error::Access { .. })
            ));
        }),
        Op::ForeignLookup(k) => arm(|| {
            same(
                op,
                &foreign.lookup(k),
                &Ok(model.lookup(&enc(k))),
                |g, w| same_objects(g, w),
            )
        }),
    }
}
