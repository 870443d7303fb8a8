//! The term model: MessagePack values with Erlang's equality and order.
//!
//! A *term* is one MessagePack value: integer, float, str, bin, array, map, true, false, nil or
//! an atom (one ext type, see [`atom`]; `false`, `nil` and `true` are atoms too). Every other
//! extension type is rejected.
//!
//! # Canonical form
//! Every term stored in a table is kept in one canonical encoding, so that two terms equal in the
//! data model are equal byte for byte (that is what makes exact-match keys hashable):
//! - integers use the shortest encoding; non-negative values always use the unsigned family
//!   (positive fixint, uint 8/16/32/64) and negative values the signed family (negative fixint,
//!   int 8/16/32/64);
//! - floats are always float 64 (a float 32 input is widened exactly); NaN is rejected;
//! - str, bin, array and map headers use the shortest form;
//! - atoms use the shortest ext header, and the atoms `false`, `nil`, `true` are the one-byte
//!   MessagePack markers (see [`atom`]);
//! - map entries are sorted by key in *map-key order* (term order, except that every integer
//!   sorts before every float, as Erlang orders map keys); two exactly equal keys in one map are an error.
//!
//! # Order and equality
//! [`compare`] is Erlang's term order on the shared subset: numbers < atoms (by name, so
//! `false < foo < nil < ok < true`) < tuples (arrays) < maps < binaries (str < bin). Numbers compare by value, so `1` and `1.0`
//! compare equal (Erlang's `==`). Arrays compare by size, then element by element. Maps compare by
//! size, then keys in map-key order, then values in key order. str and bin are both binaries: every
//! str sorts before every bin, and within each kind bytes compare lexicographically.
//! Exact equality (Erlang's `=:=`) is equality of canonical bytes.
//!
//! # Limits
//! See [`limits`]: nesting depth and encoded size are bounded, and exceeding a limit is an error.

pub mod atom;
mod codec;
mod convert;
pub mod limits;
mod order;
mod prefix;
#[cfg(test)]
mod proptests;
mod value;

pub use codec::{canonicalize, decode, encode, to_canonical, ArrayElements};
pub use convert::TermTypeError;
pub use order::{compare, compare_map_keys};
pub use value::Term;

#[cfg(test)]
pub(crate) use codec::boundary_ints;
pub(crate) use codec::{
    decode_canonical, i64_word, read_int, u64_word, write_array_header, write_i64_to, write_int_to,
    write_str_header_to, write_u64_to,
};
pub(crate) use prefix::order_prefix;

/// Why a term was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TermError {
    /// The input ended in the middle of a value.
    #[error("malformed MessagePack: input ends inside a value at byte {offset}")]
    Truncated { offset: usize },
    /// Bytes follow the value.
    #[error("malformed MessagePack: {extra} unexpected byte(s) after the value at byte {offset}")]
    TrailingBytes { offset: usize, extra: usize },
    /// 0xc1 (never used) at the given offset.
    #[error("malformed MessagePack: invalid marker byte 0x{byte:02x} at byte {offset}")]
    InvalidMarker { byte: u8, offset: usize },
    /// An ext or fixext value of a type other than the atom type.
    #[error("unsupported term: the only MessagePack extension type is 97 (atom) (byte {offset})")]
    ExtUnsupported { offset: usize },
    /// A float that is NaN (it has no place in term order).
    #[error("unsupported term: NaN is not a valid float term (byte {offset})")]
    NaN { offset: usize },
    /// A str whose bytes are not UTF-8.
    #[error("malformed MessagePack: str is not valid UTF-8 at byte {offset}")]
    InvalidUtf8 { offset: usize },
    /// A map with two exactly equal keys.
    #[error("invalid term: map has a duplicate key (byte {offset})")]
    DuplicateMapKey { offset: usize },
    /// Nested deeper than [`limits::MAX_DEPTH`].
    #[error("term too deep: nesting exceeds the limit of {limit} levels")]
    TooDeep { limit: usize },
    /// Larger than a size limit (encoded bytes).
    #[error("term too large: {what} is {size} bytes, over the limit of {limit}")]
    TooLarge {
        what: &'static str,
        size: usize,
        limit: usize,
    },
}

/// The end of the MessagePack value at the start of `buf` (not validated beyond finding its
/// end), or `None` if it is cut short or holds a reserved ext type or 0xc1.
pub(crate) fn value_end(buf: &[u8]) -> Option<usize> {
    codec::skip_value(buf, 0)
}
