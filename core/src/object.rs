//! Objects and keys: validated, canonical encodings ready for a table.
//!
//! An [`Object`] is a canonical MessagePack array whose element at the table's `keypos` is its key.
//! It is built once, when it enters a table, from anything that implements [`ToObject`]: a
//! [`Term`], a Rust tuple, or bytes already encoded by any MessagePack encoder ([`Msgpack`]).
//! Keys given to lookups implement [`ToKey`]; a [`Key`] holds a canonical key for reuse.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use crate::error::{Error, Result};
use crate::term::{self, limits, ArrayElements, Term};

/// Bytes already encoded as MessagePack by any conforming encoder. They are validated and put in
/// canonical form once; a canonical input is copied, never re-encoded.
#[derive(Debug, Clone, Copy)]
pub struct Msgpack<'a>(pub &'a [u8]);

/// One stored object: a canonical MessagePack array and the place of its key.
#[derive(Clone, PartialEq, Eq)]
pub struct Object {
    bytes: Box<[u8]>,
    key: Range<u32>,
}

impl Object {
    /// Builds an object from canonical bytes, locating the key at `keypos` (1-based).
    fn from_canonical(bytes: Vec<u8>, keypos: usize) -> Result<Object> {
        let (start, end) = ObjectRef::locate(&bytes, keypos)?.key;
        Ok(Object {
            bytes: bytes.into_boxed_slice(),
            key: start..end,
        })
    }

    /// A borrowed view of this object.
    pub fn view(&self) -> ObjectRef<'_> {
        ObjectRef {
            bytes: &self.bytes,
            key: (self.key.start, self.key.end),
        }
    }

    /// The canonical MessagePack encoding of the whole object.
    pub fn as_msgpack(&self) -> &[u8] {
        &self.bytes
    }

    /// The canonical encoding of the key.
    pub fn key_msgpack(&self) -> &[u8] {
        self.view().key_msgpack()
    }

    /// The number of elements.
    pub fn arity(&self) -> usize {
        self.view().arity()
    }

    /// The encoded elements, in order.
    pub fn elements(&self) -> ArrayElements<'_> {
        self.view().elements()
    }

    /// The encoded element at `pos` (1-based), if there is one.
    pub fn element_msgpack(&self, pos: usize) -> Option<&[u8]> {
        self.view().element_msgpack(pos)
    }

    /// The element at `pos` (1-based), decoded.
    pub fn element(&self, pos: usize) -> Option<Term> {
        self.view().element(pos)
    }

    /// The key, decoded.
    pub fn key(&self) -> Term {
        self.view().key()
    }

    /// The whole object, decoded (a [`Term::Array`]).
    pub fn to_term(&self) -> Term {
        self.view().to_term()
    }

    /// This object with its key replaced by `key` (canonical bytes). Used for default objects,
    /// whose key is replaced by the key being updated, as in ETS.
    pub(crate) fn with_key(&self, key: &[u8], keypos: usize) -> Result<Object> {
        let elements = self.elements();
        let old_key = elements
            .clone()
            .nth(keypos.wrapping_sub(1))
            .map_or(0, <[u8]>::len);
        let mut out = Vec::with_capacity((self.bytes.len() + key.len()).saturating_sub(old_key));
        term::write_array_header(elements.len(), &mut out);
        for (i, element) in elements.enumerate() {
            out.extend_from_slice(if i + 1 == keypos { key } else { element });
        }
        Object::from_canonical(out, keypos)
    }
}

impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_term(), f)
    }
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_term(), f)
    }
}

/// A borrowed object, as storage hands it out: valid while the storage keeps it alive (inside a
/// `lookup_with` callback). [`ObjectRef::to_object`] copies it out.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ObjectRef<'a> {
    bytes: &'a [u8],
    key: (u32, u32),
}

impl<'a> ObjectRef<'a> {
    /// A view of canonical object bytes whose key is at `key` (byte offsets), as storage keeps
    /// them.
    pub(crate) fn from_parts(bytes: &'a [u8], key: (u32, u32)) -> ObjectRef<'a> {
        ObjectRef { bytes, key }
    }

    /// A view of canonical bytes as an object whose key is at `keypos` (1-based), checked as
    /// [`Object`]'s are: an array within the size limit, with an element at `keypos` that is a
    /// key within its own.
    fn locate(bytes: &'a [u8], keypos: usize) -> Result<ObjectRef<'a>> {
        if bytes.len() > limits::MAX_OBJECT_BYTES {
            return Err(term::TermError::TooLarge {
                what: "object",
                size: bytes.len(),
                limit: limits::MAX_OBJECT_BYTES,
            }
            .into());
        }
        let Some(elements) = ArrayElements::new(bytes) else {
            return Err(Error::NotAnArray {
                got: type_name(bytes),
            });
        };
        let arity = elements.len();
        let Some(key) = elements.clone().nth(keypos.wrapping_sub(1)) else {
            return Err(Error::ObjectTooShort { arity, keypos });
        };
        check_key_size(key)?;
        let start = key.as_ptr() as usize - bytes.as_ptr() as usize;
        Ok(ObjectRef {
            bytes,
            key: (start as u32, (start + key.len()) as u32),
        })
    }

    /// The byte offsets of the key in [`ObjectRef::as_msgpack`].
    pub(crate) fn key_range(&self) -> (u32, u32) {
        self.key
    }

    /// The canonical MessagePack encoding of the whole object.
    pub fn as_msgpack(&self) -> &'a [u8] {
        self.bytes
    }

    /// The canonical encoding of the key.
    pub fn key_msgpack(&self) -> &'a [u8] {
        &self.bytes[self.key.0 as usize..self.key.1 as usize]
    }

    /// The number of elements.
    pub fn arity(&self) -> usize {
        self.elements().len()
    }

    /// The encoded elements, in order.
    pub fn elements(&self) -> ArrayElements<'a> {
        ArrayElements::new(self.bytes).expect("an object is always an array")
    }

    /// The encoded element at `pos` (1-based), if there is one.
    pub fn element_msgpack(&self, pos: usize) -> Option<&'a [u8]> {
        self.elements().nth(pos.checked_sub(1)?)
    }

    /// [`ObjectRef::element_msgpack`] for an object whose key is at `keypos`: an element after
    /// the key is found from the key's end, without walking the elements before it (the
    /// counter after the key, the usual case, in one step).
    #[inline]
    pub(crate) fn element_at(&self, pos: usize, keypos: usize) -> Option<&'a [u8]> {
        if pos <= keypos {
            return self.element_msgpack(pos);
        }
        // The object's bytes are its array, so past the last element `rest` is empty and a
        // position beyond the arity finds nothing.
        let mut rest = &self.bytes[self.key.1 as usize..];
        for _ in keypos + 1..pos {
            rest = &rest[term::value_end(rest)?..];
        }
        Some(&rest[..term::value_end(rest)?])
    }

    /// The element at `pos` (1-based), decoded.
    pub fn element(&self, pos: usize) -> Option<Term> {
        self.element_msgpack(pos).map(decode_canonical)
    }

    /// Builds a copy of this object with some elements replaced. `replacements` are
    /// `(position, canonical bytes)` with positions in `1..=arity`; a later entry for the same
    /// position wins. The key is never among them (callers check), so the key is unchanged and
    /// only moves by the change in length of the elements before it. Fails only if the result
    /// would exceed the object size limit.
    pub(crate) fn with_elements(
        &self,
        replacements: &[(usize, &[u8])],
        keypos: usize,
    ) -> Result<Object> {
        debug_assert!(replacements.iter().all(|(p, _)| *p != keypos));
        // The byte spans of the replaced elements, in position order, found in one pass over
        // the elements up to the last replaced one (on the stack for a few replacements).
        const INLINE: usize = 4;
        let mut inline: [(usize, usize, &[u8]); INLINE] = [(0, 0, &[]); INLINE];
        let mut heap = Vec::new();
        let mut spans = 0;
        let last = replacements.iter().map(|(p, _)| *p).max().unwrap_or(0);
        let base = self.bytes.as_ptr() as usize;
        for (i, element) in self.elements().enumerate().take(last) {
            let Some((_, new)) = replacements.iter().rev().find(|(p, _)| *p == i + 1) else {
                continue;
            };
            let start = element.as_ptr() as usize - base;
            let span = (start, start + element.len(), *new);
            if replacements.len() <= INLINE {
                inline[spans] = span;
            } else {
                heap.push(span);
            }
            spans += 1;
        }
        let spans = if replacements.len() <= INLINE {
            &inline[..spans]
        } else {
            &heap[..]
        };
        // The exact size first, so that the bytes are allocated once and never shrunk.
        let len = spans.iter().fold(self.bytes.len(), |len, (s, e, new)| {
            len - (e - s) + new.len()
        });
        if len > limits::MAX_OBJECT_BYTES {
            return Err(term::TermError::TooLarge {
                what: "object",
                size: len,
                limit: limits::MAX_OBJECT_BYTES,
            }
            .into());
        }
        let mut out = Vec::with_capacity(len);
        let mut at = 0;
        let mut key_shift = 0isize;
        for &(start, end, new) in spans {
            out.extend_from_slice(&self.bytes[at..start]);
            out.extend_from_slice(new);
            at = end;
            if end <= self.key.0 as usize {
                key_shift += new.len() as isize - (end - start) as isize;
            }
        }
        out.extend_from_slice(&self.bytes[at..]);
        debug_assert_eq!(out.len(), len);
        let key =
            (self.key.0 as isize + key_shift) as u32..(self.key.1 as isize + key_shift) as u32;
        let object = Object {
            bytes: out.into_boxed_slice(),
            key,
        };
        debug_assert_eq!(
            Some(object.key_msgpack()),
            object.element_msgpack(keypos),
            "the key moved with the elements before it"
        );
        Ok(object)
    }

    /// The key, decoded.
    pub fn key(&self) -> Term {
        decode_canonical(self.key_msgpack())
    }

    /// The whole object, decoded (a [`Term::Array`]).
    pub fn to_term(&self) -> Term {
        decode_canonical(self.bytes)
    }

    /// An owned copy.
    pub fn to_object(&self) -> Object {
        Object {
            bytes: self.bytes.into(),
            key: self.key.0..self.key.1,
        }
    }
}

impl fmt::Debug for ObjectRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_term(), f)
    }
}

impl PartialEq<Object> for ObjectRef<'_> {
    fn eq(&self, other: &Object) -> bool {
        self.bytes == other.as_msgpack()
    }
}

/// The objects stored under one key, borrowed from storage (see [`crate::Table::lookup_with`]):
/// none or one for a set, in insertion order for a bag.
#[derive(Clone)]
pub struct Objects<'a> {
    inner: ObjectsInner<'a>,
}

#[derive(Clone)]
enum ObjectsInner<'a> {
    Slice(std::slice::Iter<'a, Object>),
    /// Objects packed by [`pack`]: `count` records left in `area`.
    Packed {
        area: &'a [u8],
        count: usize,
    },
    /// At most one object in storage's own layout (ordered storage, and a hash node's lone
    /// object).
    One(Option<ObjectRef<'a>>),
}

/// Bytes of the record header [`pack`] writes before each object: length, key start, key end.
pub(crate) const PACKED_HEADER: usize = 12;

/// Bytes [`pack`] needs for `objects`.
pub(crate) fn packed_len(objects: &[Object]) -> usize {
    objects.iter().map(|o| PACKED_HEADER + o.bytes.len()).sum()
}

/// Writes `objects` into `out` (exactly [`packed_len`] bytes) as records that
/// [`Objects::packed`] reads back: storage keeps a key's objects in one allocation this way.
pub(crate) fn pack(objects: &[Object], out: &mut [u8]) {
    let mut at = 0;
    for o in objects {
        let len = o.bytes.len();
        out[at..at + 4].copy_from_slice(&(len as u32).to_le_bytes());
        out[at + 4..at + 8].copy_from_slice(&o.key.start.to_le_bytes());
        out[at + 8..at + 12].copy_from_slice(&o.key.end.to_le_bytes());
        out[at + PACKED_HEADER..at + PACKED_HEADER + len].copy_from_slice(&o.bytes);
        at += PACKED_HEADER + len;
    }
    debug_assert_eq!(at, out.len());
}

/// The key of the first object [`pack`] wrote into `area` (which holds at least one).
#[inline]
pub(crate) fn packed_first_key(area: &[u8]) -> &[u8] {
    let start = PACKED_HEADER + read_u32(area, 4) as usize;
    let end = PACKED_HEADER + read_u32(area, 8) as usize;
    &area[start..end]
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"))
}

impl<'a> Objects<'a> {
    pub(crate) fn from_slice(objects: &'a [Object]) -> Objects<'a> {
        Objects {
            inner: ObjectsInner::Slice(objects.iter()),
        }
    }

    /// The `count` objects [`pack`] wrote into `area`.
    pub(crate) fn packed(area: &'a [u8], count: usize) -> Objects<'a> {
        Objects {
            inner: ObjectsInner::Packed { area, count },
        }
    }

    /// One object or none.
    pub(crate) fn from_option(object: Option<ObjectRef<'a>>) -> Objects<'a> {
        Objects {
            inner: ObjectsInner::One(object),
        }
    }

    /// Owned copies of the remaining objects.
    pub fn to_vec(&self) -> Vec<Object> {
        self.clone().map(|o| o.to_object()).collect()
    }
}

impl<'a> Iterator for Objects<'a> {
    type Item = ObjectRef<'a>;
    #[inline]
    fn next(&mut self) -> Option<ObjectRef<'a>> {
        match &mut self.inner {
            ObjectsInner::Slice(iter) => iter.next().map(Object::view),
            ObjectsInner::Packed { area, count } => {
                if *count == 0 {
                    return None;
                }
                let len = read_u32(area, 0) as usize;
                let key = (read_u32(area, 4), read_u32(area, 8));
                let (record, rest) = area.split_at(PACKED_HEADER + len);
                *area = rest;
                *count -= 1;
                Some(ObjectRef {
                    bytes: &record[PACKED_HEADER..],
                    key,
                })
            }
            ObjectsInner::One(one) => one.take(),
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.inner {
            ObjectsInner::Slice(iter) => iter.size_hint(),
            ObjectsInner::Packed { count, .. } => (*count, Some(*count)),
            ObjectsInner::One(one) => {
                let n = usize::from(one.is_some());
                (n, Some(n))
            }
        }
    }
}

impl ExactSizeIterator for Objects<'_> {}

impl fmt::Debug for Objects<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}

/// Decodes bytes that are known to be canonical (they were validated when stored).
fn decode_canonical(bytes: &[u8]) -> Term {
    term::decode(bytes).expect("stored terms are valid")
}

fn check_key_size(key: &[u8]) -> Result<()> {
    if key.len() > limits::MAX_KEY_BYTES {
        return Err(term::TermError::TooLarge {
            what: "key",
            size: key.len(),
            limit: limits::MAX_KEY_BYTES,
        }
        .into());
    }
    Ok(())
}

/// A name for the type of a canonical term, for error messages.
fn type_name(bytes: &[u8]) -> &'static str {
    match bytes.first() {
        None => "nothing",
        Some(0x00..=0x7f | 0xcc..=0xd3 | 0xe0..=0xff) => "an integer",
        Some(0x80..=0x8f | 0xde | 0xdf) => "a map",
        Some(0x90..=0x9f | 0xdc | 0xdd) => "an array",
        Some(0xa0..=0xbf | 0xd9..=0xdb) => "a str",
        Some(0xc0) => "nil",
        Some(0xc2 | 0xc3) => "a boolean",
        Some(0xc4..=0xc6) => "a bin",
        Some(0xca | 0xcb) => "a float",
        Some(_) => "an unsupported value",
    }
}

/// Anything that can become an object of a table: a [`Term`] (an array), a Rust tuple,
/// an [`Object`], or encoded [`Msgpack`].
pub trait ToObject {
    /// Validates and encodes `self` as an object whose key is at `keypos` (1-based).
    fn to_object(&self, keypos: usize) -> Result<Object>;

    /// [`ToObject::to_object`], or a view of `self` where it already is an object's canonical
    /// encoding with its key at `keypos`: a set's insert copies such bytes straight into
    /// storage, without building an [`Object`] first (an allocation and a copy). The default
    /// builds.
    fn to_object_cow(&self, keypos: usize) -> Result<ObjectCow<'_>> {
        self.to_object(keypos).map(ObjectCow::Owned)
    }
}

/// An object to store, as [`ToObject::to_object_cow`] gives it: borrowed from the caller's
/// bytes, or built.
pub enum ObjectCow<'a> {
    /// The caller's bytes, already canonical.
    Borrowed(ObjectRef<'a>),
    /// Built (encoded, or rewritten canonically).
    Owned(Object),
}

impl ObjectCow<'_> {
    /// A view of the object.
    pub fn view(&self) -> ObjectRef<'_> {
        match self {
            ObjectCow::Borrowed(view) => *view,
            ObjectCow::Owned(object) => object.view(),
        }
    }

    /// The object, built (copied) if it was borrowed.
    pub fn into_object(self) -> Object {
        match self {
            ObjectCow::Borrowed(view) => view.to_object(),
            ObjectCow::Owned(object) => object,
        }
    }
}

impl ToObject for Term {
    fn to_object(&self, keypos: usize) -> Result<Object> {
        // Encoded into a reused per-thread buffer, then copied into an allocation of the exact
        // size: one allocation instead of a growing vector's several.
        thread_local! {
            static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let encode = |bytes: &mut Vec<u8>| -> Result<Object> {
            bytes.clear();
            term::encode(self, bytes)?;
            let mut exact = Vec::with_capacity(bytes.len());
            exact.extend_from_slice(bytes);
            Object::from_canonical(exact, keypos)
        };
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut bytes) => {
                let result = encode(&mut bytes);
                if bytes.capacity() > 1 << 16 {
                    // Do not keep a large object's buffer for the life of the thread.
                    *bytes = Vec::new();
                }
                result
            }
            Err(_) => encode(&mut Vec::new()),
        })
    }
}

impl ToObject for Msgpack<'_> {
    fn to_object(&self, keypos: usize) -> Result<Object> {
        let mut bytes = Vec::with_capacity(self.0.len());
        term::canonicalize(self.0, &mut bytes)?;
        Object::from_canonical(bytes, keypos)
    }

    /// The bytes themselves when they are canonical, as most encoders' output of an array of
    /// integers, strings and binaries is; else a canonical copy (one validating pass either way).
    fn to_object_cow(&self, keypos: usize) -> Result<ObjectCow<'_>> {
        match term::to_canonical(self.0)? {
            Cow::Borrowed(bytes) => ObjectRef::locate(bytes, keypos).map(ObjectCow::Borrowed),
            Cow::Owned(bytes) => Object::from_canonical(bytes, keypos).map(ObjectCow::Owned),
        }
    }
}

impl ToObject for Object {
    fn to_object(&self, keypos: usize) -> Result<Object> {
        if self
            .element_msgpack(keypos)
            .is_some_and(|k| k == self.key_msgpack())
        {
            Ok(self.clone())
        } else {
            Object::from_canonical(self.bytes.to_vec(), keypos)
        }
    }

    fn to_object_cow(&self, keypos: usize) -> Result<ObjectCow<'_>> {
        ObjectRef::locate(&self.bytes, keypos).map(ObjectCow::Borrowed)
    }
}

impl<T: ToObject + ?Sized> ToObject for &T {
    fn to_object(&self, keypos: usize) -> Result<Object> {
        (**self).to_object(keypos)
    }

    fn to_object_cow(&self, keypos: usize) -> Result<ObjectCow<'_>> {
        (**self).to_object_cow(keypos)
    }
}

macro_rules! tuple_to_object {
    ($($name:ident)+) => {
        impl<$($name: Into<Term> + Clone),+> ToObject for ($($name,)+) {
            fn to_object(&self, keypos: usize) -> Result<Object> {
                Term::from(self.clone()).to_object(keypos)
            }
        }
    };
}
tuple_to_object!(A);
tuple_to_object!(A B);
tuple_to_object!(A B C);
tuple_to_object!(A B C D);
tuple_to_object!(A B C D E);
tuple_to_object!(A B C D E F);
tuple_to_object!(A B C D E F G);
tuple_to_object!(A B C D E F G H);

/// A canonical key, encoded once and reusable for many calls. A key of up to 22 bytes encoded
/// (every integer, short strings and atoms, small tuples) is held in the `Key` itself, without
/// an allocation: traversals return one per step.
#[derive(Clone)]
pub struct Key(KeyBytes);

#[derive(Clone)]
enum KeyBytes {
    Inline { len: u8, bytes: [u8; INLINE_KEY] },
    Heap(Box<[u8]>),
}

/// The longest encoding a [`Key`] holds without an allocation: as much as fits beside the
/// length and the variant's tag in 24 bytes, a boxed slice's 16 and one word.
const INLINE_KEY: usize = 22;

const _: () = assert!(std::mem::size_of::<Key>() == 24);

impl Key {
    /// Encodes `term` as a key.
    pub fn new(term: impl Into<Term>) -> Result<Key> {
        let mut bytes = Vec::new();
        term::encode(&term.into(), &mut bytes)?;
        check_key_size(&bytes)?;
        Ok(Key::from_canonical(&bytes))
    }

    /// Validates MessagePack from any encoder and keeps its canonical form.
    pub fn from_msgpack(bytes: &[u8]) -> Result<Key> {
        let mut out = Vec::with_capacity(bytes.len());
        term::canonicalize(bytes, &mut out)?;
        check_key_size(&out)?;
        Ok(Key::from_canonical(&out))
    }

    /// The canonical encoding.
    #[inline]
    pub fn as_msgpack(&self) -> &[u8] {
        match &self.0 {
            KeyBytes::Inline { len, bytes } => &bytes[..usize::from(*len)],
            KeyBytes::Heap(bytes) => bytes,
        }
    }

    /// The key, decoded.
    pub fn to_term(&self) -> Term {
        decode_canonical(self.as_msgpack())
    }

    #[inline]
    pub(crate) fn from_canonical(bytes: &[u8]) -> Key {
        if bytes.len() <= INLINE_KEY {
            let mut inline = [0; INLINE_KEY];
            inline[..bytes.len()].copy_from_slice(bytes);
            Key(KeyBytes::Inline {
                len: bytes.len() as u8,
                bytes: inline,
            })
        } else {
            Key(KeyBytes::Heap(bytes.into()))
        }
    }
}

// By the encoding, however it is held (as when keys were always boxed slices).
impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.as_msgpack() == other.as_msgpack()
    }
}

impl Eq for Key {}

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_msgpack().hash(state);
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_term(), f)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_term(), f)
    }
}

/// Anything usable as a key: a [`Key`], a [`Term`], [`Msgpack`], integers and strings.
pub trait ToKey {
    /// Calls `f` with the canonical encoding of the key.
    fn with_key<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Result<R>;

    /// [`ToKey::with_key`] for a lookup, which also wants a short key as one integer (see
    /// [`LookupKey`]). Integers build both forms at once; other keys need not implement it.
    #[doc(hidden)]
    #[inline]
    fn with_lookup_key<R>(&self, f: impl FnOnce(LookupKey<'_>) -> R) -> Result<R> {
        self.with_key(|bytes| f(LookupKey::new(bytes)))
    }
}

/// A key as a lookup hands it to storage: its canonical bytes and, for a key of at most 8
/// bytes (an integer below 2^32, a short string), the same bytes as one integer, or for a key
/// of 9 to 16 bytes (a 64-bit integer, a string of up to 15 bytes) as two, which hash storage
/// hashes and compares keys by (one or two comparisons instead of a loop over the bytes).
/// Integer keys are encoded straight into that form (`ToKey::with_lookup_key`).
#[derive(Clone, Copy)]
pub struct LookupKey<'a> {
    bytes: &'a [u8],
    /// `short_word(bytes)` if `bytes` has at most 8 bytes; its first 8 bytes (little-endian)
    /// if 9 to 16; else 0.
    word: u64,
    /// At most 8 bytes: the bits of `word` that `bytes` fills (its low `8 * len` bits); 9 to 16
    /// bytes: the last 8 bytes (little-endian); else 0.
    mask: u64,
}

impl<'a> LookupKey<'a> {
    /// The lookup form of canonical key bytes.
    #[inline]
    pub(crate) fn new(bytes: &'a [u8]) -> LookupKey<'a> {
        let n = bytes.len();
        if n <= 8 {
            LookupKey::short(bytes, short_word(bytes))
        } else if n <= 16 {
            // Two overlapping words: the first and the last eight bytes.
            let first = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
            let last = u64::from_le_bytes(bytes[n - 8..].try_into().expect("8 bytes"));
            LookupKey {
                bytes,
                word: first,
                mask: last,
            }
        } else {
            LookupKey {
                bytes,
                word: 0,
                mask: 0,
            }
        }
    }

    /// A key of at most 8 `bytes` whose `short_word` is `word` (already known).
    #[inline]
    fn short(bytes: &'a [u8], word: u64) -> LookupKey<'a> {
        debug_assert!(bytes.len() <= 8 && word == short_word(bytes));
        /// The mask of each length: one load, where computing it takes four instructions
        /// (a lookup by an integer key would pay them every time).
        const MASKS: [u64; 9] = {
            let mut masks = [0; 9];
            let mut len = 1;
            while len <= 8 {
                masks[len] = u64::MAX >> (64 - 8 * len);
                len += 1;
            }
            masks
        };
        LookupKey {
            bytes,
            word,
            mask: MASKS[bytes.len()],
        }
    }

    /// A key of 9 to 16 `bytes` whose [`LookupKey::pair`] is `(first, last)` (already known).
    #[inline]
    fn pair_of(bytes: &'a [u8], first: u64, last: u64) -> LookupKey<'a> {
        debug_assert!(LookupKey::new(bytes).pair() == Some((first, last)));
        LookupKey {
            bytes,
            word: first,
            mask: last,
        }
    }

    /// The canonical bytes.
    #[inline]
    pub(crate) fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// `(short_word(bytes), mask)` for a key of at most 8 bytes, where the mask covers its
    /// `8 * len` low bits: a word `w` read from the start of the same bytes followed by anything
    /// has `w & mask == short_word`.
    #[inline]
    pub(crate) fn word(&self) -> Option<(u64, u64)> {
        (self.bytes.len() <= 8).then_some((self.word, self.mask))
    }

    /// `(first, last)` for a key of 9 to 16 bytes: its first and its last eight bytes as
    /// little-endian integers (overlapping unless it has 16). Two keys of the same length in
    /// that range are equal exactly when both words are.
    #[inline]
    pub(crate) fn pair(&self) -> Option<(u64, u64)> {
        (9..=16)
            .contains(&self.bytes.len())
            .then_some((self.word, self.mask))
    }
}

/// The bytes of a key of at most 8 bytes as one integer, little-endian (the first byte lowest)
/// and zero-padded, read with at most two loads of 4 or 1-2 bytes instead of a variable-length
/// copy (which compiles to a `memcpy` call).
#[inline]
pub(crate) fn short_word(key: &[u8]) -> u64 {
    let n = key.len();
    debug_assert!(n <= 8);
    if n >= 4 {
        // Two overlapping 4-byte words: the first and the last four bytes.
        let lo = u32::from_le_bytes([key[0], key[1], key[2], key[3]]) as u64;
        let hi = u32::from_le_bytes([key[n - 4], key[n - 3], key[n - 2], key[n - 1]]) as u64;
        lo | hi << ((n - 4) * 8)
    } else if n > 0 {
        // One, two or three bytes: the first, the middle and the last (they may coincide).
        key[0] as u64 | (key[n / 2] as u64) << ((n / 2) * 8) | (key[n - 1] as u64) << ((n - 1) * 8)
    } else {
        0
    }
}

impl ToKey for Key {
    fn with_key<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
        Ok(f(self.as_msgpack()))
    }
}

impl ToKey for Term {
    fn with_key<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
        let mut bytes = Vec::new();
        term::encode(self, &mut bytes)?;
        check_key_size(&bytes)?;
        Ok(f(&bytes))
    }
}

impl ToKey for Msgpack<'_> {
    /// A key that is already canonical is used in place, without a copy.
    fn with_key<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
        let bytes = term::to_canonical(self.0)?;
        check_key_size(&bytes)?;
        Ok(f(&bytes))
    }
}

impl<T: ToKey + ?Sized> ToKey for &T {
    fn with_key<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
        (**self).with_key(f)
    }

    #[inline]
    fn with_lookup_key<R>(&self, f: impl FnOnce(LookupKey<'_>) -> R) -> Result<R> {
        (**self).with_lookup_key(f)
    }
}

macro_rules! int_key {
    ($write:ident, $word:ident as $wide:ty: $($t:ty)+) => {$(
        impl ToKey for $t {
            #[inline]
            fn with_key<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
                // Encoded on the stack in 64-bit arithmetic (not through i128: a lookup by an
                // integer key pays this on every call).
                let mut buf = [0u8; 9];
                let len = term::$write(*self as $wide, &mut buf);
                Ok(f(&buf[..len]))
            }

            #[inline]
            fn with_lookup_key<R>(&self, f: impl FnOnce(LookupKey<'_>) -> R) -> Result<R> {
                // The encoding built as one integer (every value of 32 bits or less), its
                // bytes that integer stored once; no byte-by-byte write and read back.
                let mut buf = [0u8; 9];
                let key = match term::$word(*self as $wide) {
                    Some((word, len)) => {
                        buf[..8].copy_from_slice(&word.to_le_bytes());
                        LookupKey::short(&buf[..len], word)
                    }
                    None => {
                        // 9 bytes: a tag and the value's eight, big-endian. The two words are
                        // built in registers too: read back from the buffer just written (each
                        // load spanning two of its stores), a lookup took twice as long.
                        let len = term::$write(*self as $wide, &mut buf);
                        debug_assert_eq!(len, 9);
                        let last = (*self as $wide as u64).swap_bytes();
                        let first = u64::from(buf[0]) | last << 8;
                        LookupKey::pair_of(&buf, first, last)
                    }
                };
                // One call of `f`, so that the compiler can inline it: called from two arms,
                // it was kept out of line with the caller's whole read (a pinned lookup of
                // `examples/lookup_instructions` 232 instructions, 213 with one call).
                Ok(f(key))
            }
        }
    )+};
}
int_key!(write_i64_to, i64_word as i64: i8 i16 i32 i64 isize);
int_key!(write_u64_to, u64_word as u64: u8 u16 u32 u64 usize);

impl ToKey for str {
    fn with_key<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
        /// Short strings are encoded on the stack.
        const INLINE: usize = 64;
        let mut header = [0u8; 5];
        let header_len = term::write_str_header_to(self.len(), &mut header);
        let len = header_len + self.len();
        if len <= INLINE {
            let mut buf = [0u8; INLINE];
            buf[..header_len].copy_from_slice(&header[..header_len]);
            buf[header_len..len].copy_from_slice(self.as_bytes());
            return Ok(f(&buf[..len]));
        }
        let mut bytes = Vec::with_capacity(len);
        bytes.extend_from_slice(&header[..header_len]);
        bytes.extend_from_slice(self.as_bytes());
        check_key_size(&bytes)?;
        Ok(f(&bytes))
    }
}

impl ToKey for String {
    fn with_key<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
        self.as_str().with_key(f)
    }
}

macro_rules! term_key {
    ($($t:ty)+) => {$(
        impl ToKey for $t {
            fn with_key<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
                Term::from(*self).with_key(f)
            }
        }
    )+};
}
term_key!(f32 f64 bool);

/// Any `serde::Serialize` value as an object or a key, encoded by `rmp-serde` (structs and tuples
/// become arrays, so a tuple or tuple struct is an object). Needs the `serde` feature.
#[cfg(feature = "serde")]
#[derive(Debug, Clone, Copy)]
pub struct Serde<'a, T: ?Sized>(pub &'a T);

#[cfg(feature = "serde")]
impl<T: serde::Serialize + ?Sized> Serde<'_, T> {
    fn encode(&self) -> Result<Vec<u8>> {
        rmp_serde::to_vec(self.0)
            .map_err(|e| Error::BadArgument(format!("cannot serialize the value: {e}")))
    }
}

#[cfg(feature = "serde")]
impl<T: serde::Serialize + ?Sized> ToObject for Serde<'_, T> {
    fn to_object(&self, keypos: usize) -> Result<Object> {
        Msgpack(&self.encode()?).to_object(keypos)
    }
}

#[cfg(feature = "serde")]
impl<T: serde::Serialize + ?Sized> ToKey for Serde<'_, T> {
    fn with_key<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
        Msgpack(&self.encode()?).with_key(f)
    }
}

#[cfg(test)]
mod tests {
    use super::{short_word, Key, LookupKey, Term, ToKey, ToObject};

    #[test]
    fn short_word_is_the_zero_padded_little_endian_value() {
        let bytes = [0x11u8, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];
        for n in 0..=8 {
            let mut padded = [0u8; 8];
            padded[..n].copy_from_slice(&bytes[..n]);
            assert_eq!(
                short_word(&bytes[..n]),
                u64::from_le_bytes(padded),
                "length {n}"
            );
        }
    }

    /// An element found from the key's end is the one found by walking from the start, for
    /// every key position and every position (those beyond the arity find nothing), with
    /// elements of different widths before and after the key.
    #[test]
    fn elements_after_the_key_are_those_of_a_walk() {
        let elements = [
            Term::from(1),
            Term::from("a longer string"),
            Term::Array(vec![Term::from(2), Term::from(300)]),
            Term::from(70_000),
            Term::from(-5),
            Term::Bin(vec![9; 40]),
        ];
        for arity in 1..=elements.len() {
            let tuple = Term::Array(elements[..arity].to_vec());
            for keypos in 1..=arity {
                let object = tuple.to_object(keypos).unwrap();
                let view = object.view();
                for pos in 0..=arity + 2 {
                    assert_eq!(
                        view.element_at(pos, keypos),
                        view.element_msgpack(pos),
                        "arity {arity}, keypos {keypos}, pos {pos}"
                    );
                }
            }
        }
    }

    /// Keys held inline (up to 22 bytes encoded) and boxed compare, hash and read back by
    /// their encoding alone, on both sides of the limit.
    #[test]
    fn keys_inline_and_boxed_are_their_encoding() {
        use std::hash::BuildHasher;
        let hasher = std::collections::hash_map::RandomState::new();
        for n in 0..40 {
            // A string of `n` bytes: its encoding is one or two bytes longer.
            let s = "k".repeat(n);
            let key = Key::new(Term::from(s.as_str())).unwrap();
            let mut bytes = Vec::new();
            crate::term::encode(&Term::from(s.as_str()), &mut bytes).unwrap();
            assert_eq!(key.as_msgpack(), &bytes[..], "{n}");
            assert_eq!(key.to_term(), Term::from(s.as_str()));
            assert_eq!(key, Key::from_msgpack(&bytes).unwrap());
            assert_eq!(key.clone(), key);
            assert_eq!(hasher.hash_one(&key), hasher.hash_one(&bytes[..]), "{n}");
            assert_ne!(
                key,
                Key::new(Term::from("k".repeat(n + 1).as_str())).unwrap()
            );
            assert_eq!(key.with_key(<[u8]>::to_vec).unwrap(), bytes);
        }
    }

    /// A key's lookup form, as bytes, `LookupKey::word` and `LookupKey::pair`.
    type Form = (Vec<u8>, Option<(u64, u64)>, Option<(u64, u64)>);

    /// The lookup form of a key as `with_lookup_key` builds it, and as `LookupKey::new` builds
    /// it from the bytes `with_key` writes.
    fn both<K: ToKey + ?Sized>(k: &K) -> (Form, Form) {
        let fast = k
            .with_lookup_key(|l| (l.bytes().to_vec(), l.word(), l.pair()))
            .unwrap();
        let slow = k
            .with_key(|b| {
                let l = LookupKey::new(b);
                (l.bytes().to_vec(), l.word(), l.pair())
            })
            .unwrap();
        (fast, slow)
    }

    #[test]
    fn integer_lookup_keys_match_their_bytes() {
        for v in crate::term::boundary_ints() {
            if let Ok(u) = u64::try_from(v) {
                let (fast, slow) = both(&u);
                assert_eq!(fast, slow, "{v}");
                if let Ok(u) = u32::try_from(u) {
                    assert_eq!(both(&u).0, fast, "{v} as u32");
                    // Through the blanket impl for references.
                    assert_eq!(both(&&u).0, fast, "{v} as &u32");
                }
            }
            if let Ok(i) = i64::try_from(v) {
                let (fast, slow) = both(&i);
                assert_eq!(fast, slow, "{v}");
                if let Ok(i) = i16::try_from(i) {
                    assert_eq!(both(&i).0, fast, "{v} as i16");
                }
            }
        }
        assert_eq!(both("abc").0, both("abc").1);
    }

    #[test]
    fn lookup_key_masks_cover_the_key() {
        for n in 0..=9usize {
            let bytes = vec![0xffu8; n];
            let word = LookupKey::new(&bytes).word();
            match n {
                0 => assert_eq!(word, Some((0, 0))),
                1..=8 => assert_eq!(
                    word,
                    Some((u64::MAX >> (64 - 8 * n), u64::MAX >> (64 - 8 * n)))
                ),
                _ => assert_eq!(word, None),
            }
        }
    }

    #[test]
    fn a_key_of_9_to_16_bytes_is_its_first_and_last_eight() {
        for n in 0..=17usize {
            let bytes: Vec<u8> = (1..=n as u8).collect();
            let key = LookupKey::new(&bytes);
            if (9..=16).contains(&n) {
                let first = u64::from_le_bytes(bytes[..8].try_into().unwrap());
                let last = u64::from_le_bytes(bytes[n - 8..].try_into().unwrap());
                assert_eq!(key.pair(), Some((first, last)), "length {n}");
                assert_eq!(key.word(), None, "length {n}");
            } else {
                assert_eq!(key.pair(), None, "length {n}");
            }
        }
        // 64-bit integers' keys (9 bytes), whose words the integer fast path builds in
        // registers: the same as read from their bytes.
        for (fast, slow) in [
            both(&(u64::MAX - 5)),
            both(&(1u64 << 40)),
            both(&(i64::MIN + 3)),
        ] {
            assert!(fast.2.is_some(), "{fast:?}");
            assert_eq!(fast, slow);
        }
    }
}
