//! A reference model of ETS's semantics, as simple as possible: a `Vec` of entries searched
//! linearly, objects kept as terms with their canonical bytes.
//!
//! It follows the ETS documentation and the choices rets documents in docs/ARCHITECTURE.md:
//! exact key match (canonical bytes) on set, bag and duplicate_bag, compare-equal (term order) on
//! ordered_set; a set keeps the last of equal keys; a bag keeps one copy of identical objects in
//! insertion order; update_counter/update_element only on set types; errors leave the table
//! unchanged. The model uses rets's canonical encoder and term order as its primitives (they are
//! checked on their own by the property tests and the `term_decode` target); everything above
//! them is written here independently.

use std::cmp::Ordering;

use rets_core::term::{compare, encode};
use rets_core::{CounterOp, Error, TableType, Term};

/// The canonical encoding of a generated term, in one allocation for the small terms the
/// generators make (an empty vector would grow several times, and allocations dominate an
/// execution under AddressSanitizer).
pub fn encoded(term: &Term) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(48);
    encode(term, &mut bytes).expect("generated terms are encodable");
    bytes
}

/// A term with its canonical encoding.
#[derive(Debug, Clone)]
pub struct Enc {
    pub term: Term,
    pub bytes: Vec<u8>,
}

impl Enc {
    /// Encodes a generated term (the generator only makes encodable terms).
    pub fn new(term: Term) -> Enc {
        let bytes = encoded(&term);
        Enc { term, bytes }
    }
}

/// An object the model accepted: its encoding and its key.
#[derive(Debug, Clone)]
pub struct MObject {
    pub object: Enc,
    pub key: Enc,
}

impl MObject {
    fn elements(&self) -> &[Term] {
        self.object.term.as_array().expect("objects are arrays")
    }
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub key: Enc,
    pub objects: Vec<MObject>,
}

/// The reference table.
#[derive(Debug, Clone)]
pub struct Model {
    pub table_type: TableType,
    pub keypos: usize,
    /// Sorted by term order of the key on an ordered_set; insertion order otherwise.
    pub entries: Vec<Entry>,
}

/// Which error a model operation predicts. Errors are compared by kind (the variant), since
/// their messages carry details such as type names that a model need not reproduce.
pub type MResult<T> = Result<T, Error>;

fn kind_name(t: &Term) -> &'static str {
    match t {
        Term::Int(_) | Term::UInt(_) => "an integer",
        Term::Float(_) => "a float",
        Term::Str(_) => "a str",
        Term::Bin(_) => "a bin",
        Term::Array(_) => "an array",
        Term::Map(_) => "a map",
        Term::Nil => "nil",
        Term::Bool(_) => "a boolean",
        Term::Atom(_) => "an atom",
    }
}

impl Model {
    pub fn new(table_type: TableType, keypos: usize) -> Model {
        Model {
            table_type,
            keypos,
            entries: Vec::new(),
        }
    }

    fn is_set(&self) -> bool {
        matches!(self.table_type, TableType::Set | TableType::OrderedSet)
    }

    fn ordered(&self) -> bool {
        self.table_type == TableType::OrderedSet
    }

    /// Validates an object as ETS does: an array with at least keypos elements.
    pub fn object(&self, term: &Term) -> MResult<MObject> {
        let Term::Array(elements) = term else {
            return Err(Error::NotAnArray {
                got: kind_name(term),
            });
        };
        let Some(key) = elements.get(self.keypos - 1) else {
            return Err(Error::ObjectTooShort {
                arity: elements.len(),
                keypos: self.keypos,
            });
        };
        Ok(MObject {
            object: Enc::new(term.clone()),
            key: Enc::new(key.clone()),
        })
    }

    fn key_eq(&self, a: &Enc, b: &Enc) -> bool {
        if self.ordered() {
            compare(&a.bytes, &b.bytes) == Ordering::Equal
        } else {
            a.bytes == b.bytes
        }
    }

    /// The index of the entry with `key`.
    pub fn find(&self, key: &Enc) -> Option<usize> {
        self.entries.iter().position(|e| self.key_eq(&e.key, key))
    }

    pub fn size(&self) -> usize {
        self.entries.iter().map(|e| e.objects.len()).sum()
    }

    /// Stores one accepted object by the table type's rule.
    fn put(&mut self, object: MObject) {
        match self.find(&object.key) {
            Some(i) => {
                let entry = &mut self.entries[i];
                match self.table_type {
                    TableType::Set | TableType::OrderedSet => {
                        // The stored key is the new object's (1 may become 1.0 on an ordered_set).
                        entry.key = object.key.clone();
                        entry.objects = vec![object];
                    }
                    TableType::Bag => {
                        if !entry
                            .objects
                            .iter()
                            .any(|o| o.object.bytes == object.object.bytes)
                        {
                            entry.objects.push(object);
                        }
                    }
                    TableType::DuplicateBag => entry.objects.push(object),
                }
            }
            None => self.add_entry(Entry {
                key: object.key.clone(),
                objects: vec![object],
            }),
        }
    }

    fn add_entry(&mut self, entry: Entry) {
        let at = if self.ordered() {
            self.entries
                .iter()
                .position(|e| compare(&e.key.bytes, &entry.key.bytes) == Ordering::Greater)
                .unwrap_or(self.entries.len())
        } else {
            self.entries.len()
        };
        self.entries.insert(at, entry);
    }

    fn validate_all(&self, objects: &[Term]) -> MResult<Vec<MObject>> {
        objects.iter().map(|o| self.object(o)).collect()
    }

    pub fn insert(&mut self, objects: &[Term]) -> MResult<()> {
        for object in self.validate_all(objects)? {
            self.put(object);
        }
        Ok(())
    }

    pub fn insert_new(&mut self, objects: &[Term]) -> MResult<bool> {
        let objects = self.validate_all(objects)?;
        if objects.iter().any(|o| self.find(&o.key).is_some()) {
            return Ok(false);
        }
        for object in objects {
            self.put(object);
        }
        Ok(true)
    }

    pub fn lookup(&self, key: &Enc) -> &[MObject] {
        self.find(key)
            .map_or(&[][..], |i| &self.entries[i].objects[..])
    }

    /// lookup_element, with `default` for lookup_element/4.
    pub fn lookup_element(&self, key: &Enc, pos: usize, default: Option<&Term>) -> MResult<Term> {
        if pos == 0 {
            return Err(Error::BadPosition { pos, arity: 0 });
        }
        let objects = self.lookup(key);
        if objects.is_empty() {
            return default.cloned().ok_or(Error::KeyNotFound);
        }
        let mut found = Vec::new();
        for o in objects {
            let elements = o.elements();
            match elements.get(pos - 1) {
                Some(e) => found.push(e.clone()),
                None => {
                    return Err(Error::BadPosition {
                        pos,
                        arity: elements.len(),
                    })
                }
            }
        }
        Ok(if self.is_set() {
            found.swap_remove(0)
        } else {
            Term::Array(found)
        })
    }

    pub fn take(&mut self, key: &Enc) -> Vec<MObject> {
        match self.find(key) {
            Some(i) => self.entries.remove(i).objects,
            None => Vec::new(),
        }
    }

    pub fn delete_object(&mut self, object: &Term) -> MResult<()> {
        let object = self.object(object)?;
        if let Some(i) = self.find(&object.key) {
            let entry = &mut self.entries[i];
            entry
                .objects
                .retain(|o| o.object.bytes != object.object.bytes);
            if entry.objects.is_empty() {
                self.entries.remove(i);
            }
        }
        Ok(())
    }

    pub fn delete_all_objects(&mut self) {
        self.entries.clear();
    }

    /// Stores the updated object under `key` (a new entry if the default was used).
    fn store_update(&mut self, key: &Enc, elements: Vec<Term>) {
        let object = Enc::new(Term::Array(elements));
        match self.find(key) {
            Some(i) => {
                let entry = &mut self.entries[i];
                let key = entry.key.clone();
                entry.objects = vec![MObject { object, key }];
            }
            None => self.add_entry(Entry {
                key: key.clone(),
                objects: vec![MObject {
                    object,
                    key: key.clone(),
                }],
            }),
        }
    }

    /// update_counter in all its forms, written from the ETS documentation of
    /// `ets:update_counter/3,4` rather than from rets's code:
    ///
    /// - "The function fails with reason badarg if: the table type is not set or ordered_set;
    ///   no object with the correct key exists and no default object was supplied; the object
    ///   has the wrong arity; the default object arity is smaller than <keypos>; any field from
    ///   the default object that is updated is not an integer; the element to update is not an
    ///   integer; the element to update is also the key". rets reports each cause as its own
    ///   error kind, checked in this order: the default object, the table type, the key, then
    ///   each operation in list order (the key position, the arity, the integer, the overflow).
    /// - "If a default object Default is specified, it is used as the object to be updated if
    ///   the key is missing from the table. The value in place of the key is ignored and
    ///   replaced by the proper key value."
    /// - "The operations are carried out in the order specified in the list. If the same
    ///   counter position occurs more than once in the list, the corresponding counter is thus
    ///   updated many times, each time based on the previous result."
    /// - Threshold: "If Incr is not negative (>= 0) and the result would be greater than (>)
    ///   Threshold, the counter is set to SetValue. If Incr is negative (< 0) and the result
    ///   would be less than (<) Threshold, the counter is set to SetValue."
    /// - rets's documented limit: counters are 64-bit; a result outside i64 is `Overflow`.
    pub fn update_counters(
        &mut self,
        key: &Enc,
        ops: &[CounterOp],
        default: Option<&Term>,
    ) -> MResult<Vec<i64>> {
        let default = match default {
            Some(d) => Some(self.object(d)?),
            None => None,
        };
        if !self.is_set() {
            return Err(Error::WrongTableType {
                op: "update_counter",
                table_type: self.table_type,
            });
        }
        // The tuple being updated, as a list of terms; every op reads and writes it in turn.
        let mut tuple: Vec<Term> = match (self.find(key), &default) {
            (Some(i), _) => self.entries[i].objects[0].elements().to_vec(),
            (None, Some(d)) => {
                let mut t = d.elements().to_vec();
                t[self.keypos - 1] = key.term.clone();
                t
            }
            (None, None) => return Err(Error::KeyNotFound),
        };
        let mut results = Vec::with_capacity(ops.len());
        for op in ops {
            if op.pos == self.keypos {
                return Err(Error::KeyPosition { pos: op.pos });
            }
            let Some(slot) = op.pos.checked_sub(1).and_then(|i| tuple.get_mut(i)) else {
                return Err(Error::BadPosition {
                    pos: op.pos,
                    arity: tuple.len(),
                });
            };
            let counter: i128 = match *slot {
                Term::Int(v) => i128::from(v),
                Term::UInt(v) => i128::from(v),
                _ => return Err(Error::NotAnInteger { pos: op.pos }),
            };
            let sum = counter + i128::from(op.incr);
            let new = match op.threshold {
                Some((threshold, set_value)) => {
                    let crossed = if op.incr < 0 {
                        sum < i128::from(threshold)
                    } else {
                        sum > i128::from(threshold)
                    };
                    if crossed {
                        i128::from(set_value)
                    } else {
                        sum
                    }
                }
                None => sum,
            };
            if new < i128::from(i64::MIN) || new > i128::from(i64::MAX) {
                return Err(Error::Overflow);
            }
            *slot = Term::Int(new as i64);
            results.push(new as i64);
        }
        self.store_update(key, tuple);
        Ok(results)
    }

    /// update_element, written from the ETS documentation of `ets:update_element/3,4`:
    ///
    /// - "This function provides an efficient way to update one or more elements within an
    ///   object... The list of {Pos, Value} pairs... the last one is used if several pairs have
    ///   the same position" (each pair is applied in order, so the last wins).
    /// - "Returns true if an object with key Key is found, otherwise false" (without a default;
    ///   with one, the default, its key replaced, is updated and stored: true).
    /// - "The function fails with reason badarg if: the table type is not set or ordered_set;
    ///   Pos < 1; Pos > object arity; the default object arity is smaller than <keypos>; the
    ///   element to update is also the key." rets checks the default object, the table type,
    ///   then the positions that need no object (the key, 0: even when the key is absent),
    ///   then the object's arity.
    pub fn update_element(
        &mut self,
        key: &Enc,
        updates: &[(usize, Term)],
        default: Option<&Term>,
    ) -> MResult<bool> {
        let default = match default {
            Some(d) => Some(self.object(d)?),
            None => None,
        };
        if !self.is_set() {
            return Err(Error::WrongTableType {
                op: "update_element",
                table_type: self.table_type,
            });
        }
        if let Some((pos, _)) = updates.iter().find(|(p, _)| *p == self.keypos || *p == 0) {
            return Err(if *pos == self.keypos {
                Error::KeyPosition { pos: *pos }
            } else {
                Error::BadPosition { pos: 0, arity: 0 }
            });
        }
        let mut tuple: Vec<Term> = match (self.find(key), &default) {
            (Some(i), _) => self.entries[i].objects[0].elements().to_vec(),
            (None, Some(d)) => {
                let mut t = d.elements().to_vec();
                t[self.keypos - 1] = key.term.clone();
                t
            }
            (None, None) => return Ok(false),
        };
        let arity = tuple.len();
        if let Some((pos, _)) = updates.iter().find(|(p, _)| *p > arity) {
            return Err(Error::BadPosition { pos: *pos, arity });
        }
        for (pos, value) in updates {
            tuple[pos - 1] = value.clone();
        }
        self.store_update(key, tuple);
        Ok(true)
    }

    /// ordered_set only: the entry after (`backward`: before) `key`, which need not be present.
    pub fn step_ordered(&self, key: Option<&Enc>, backward: bool) -> Option<&Entry> {
        match (key, backward) {
            (None, false) => self.entries.first(),
            (None, true) => self.entries.last(),
            (Some(k), false) => self
                .entries
                .iter()
                .find(|e| compare(&e.key.bytes, &k.bytes) == Ordering::Greater),
            (Some(k), true) => self
                .entries
                .iter()
                .rev()
                .find(|e| compare(&e.key.bytes, &k.bytes) == Ordering::Less),
        }
    }

    /// Every object in order: term order of keys on an ordered_set; insertion order of keys
    /// otherwise (rets's hash order differs; callers compare those per key).
    pub fn all_objects(&self) -> Vec<&MObject> {
        self.entries.iter().flat_map(|e| e.objects.iter()).collect()
    }
}
