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

    fn wrong_type(&self, op: &'static str) -> MResult<()> {
        if self.is_set() {
            Ok(())
        } else {
            Err(Error::WrongTableType {
                op,
                table_type: self.table_type,
            })
        }
    }

    /// The object an update starts from: the stored one, or the default with its key replaced.
    fn current_or_default(
        &self,
        key: &Enc,
        default: Option<&MObject>,
    ) -> Option<(Vec<Term>, bool)> {
        if let Some(i) = self.find(key) {
            return Some((self.entries[i].objects[0].elements().to_vec(), false));
        }
        let mut elements = default?.elements().to_vec();
        elements[self.keypos - 1] = key.term.clone();
        Some((elements, true))
    }

    fn check_position(&self, pos: usize, arity: usize) -> MResult<()> {
        if pos == self.keypos {
            return Err(Error::KeyPosition { pos });
        }
        if pos == 0 || pos > arity {
            return Err(Error::BadPosition { pos, arity });
        }
        Ok(())
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

    /// update_counter in all its forms: `ops` applied in order, each seeing the earlier results.
    pub fn update_counters(
        &mut self,
        key: &Enc,
        ops: &[CounterOp],
        default: Option<&Term>,
    ) -> MResult<Vec<i64>> {
        let default = default.map(|d| self.object(d)).transpose()?;
        self.wrong_type("update_counter")?;
        let (mut elements, _) = self
            .current_or_default(key, default.as_ref())
            .ok_or(Error::KeyNotFound)?;
        let mut values = Vec::new();
        for op in ops {
            self.check_position(op.pos, elements.len())?;
            let value: i128 = match elements[op.pos - 1] {
                Term::Int(i) => i.into(),
                Term::UInt(u) => u.into(),
                _ => return Err(Error::NotAnInteger { pos: op.pos }),
            };
            let incr = i128::from(op.incr);
            let mut result = value + incr;
            if let Some((threshold, set_value)) = op.threshold {
                let threshold = i128::from(threshold);
                if (incr >= 0 && result > threshold) || (incr < 0 && result < threshold) {
                    result = set_value.into();
                }
            }
            let result = i64::try_from(result).map_err(|_| Error::Overflow)?;
            elements[op.pos - 1] = Term::Int(result);
            values.push(result);
        }
        self.store_update(key, elements);
        Ok(values)
    }

    /// update_element, with `default` for update_element/4.
    pub fn update_element(
        &mut self,
        key: &Enc,
        updates: &[(usize, Term)],
        default: Option<&Term>,
    ) -> MResult<bool> {
        let default = default.map(|d| self.object(d)).transpose()?;
        self.wrong_type("update_element")?;
        for (pos, _) in updates {
            if *pos == self.keypos {
                return Err(Error::KeyPosition { pos: *pos });
            }
            if *pos == 0 {
                return Err(Error::BadPosition { pos: 0, arity: 0 });
            }
        }
        let Some((mut elements, _)) = self.current_or_default(key, default.as_ref()) else {
            return Ok(false);
        };
        for (pos, _) in updates {
            self.check_position(*pos, elements.len())?;
        }
        for (pos, value) in updates {
            elements[pos - 1] = value.clone();
        }
        self.store_update(key, elements);
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
