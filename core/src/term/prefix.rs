//! Order prefixes: a 64-bit summary of a term that is monotone with term order.
//!
//! `order_prefix(a) < order_prefix(b)` implies `compare(a, b) == Less`; equal prefixes say
//! nothing (compare the terms). Ordered storage keeps the prefixes of its keys inline in its
//! nodes, so that a search compares machine words and touches a key's bytes only on a tie.
//!
//! Layout: the kind's rank in the top 3 bits (numbers < atoms < arrays < maps < str < bin),
//! then 61 bits that depend on the kind:
//! - numbers: the value as an `f64` (integers rounded to nearest, which is monotone; `-0.0` as
//!   `0.0`), in the usual order-preserving bit pattern, cut to 61 bits;
//! - atoms, str and bin: the first 7 bytes of the name or payload, big-endian, zero-padded
//!   (`false`, `nil` and `true` by their names);
//! - arrays: the size (capped at 255) and, below a capped size, the first element's prefix;
//! - anything else: the rank alone.

use super::codec::{read_head, Head};

const RANK_SHIFT: u32 = 61;

/// The order prefix of a canonical, validated term (see the module documentation). On input
/// that is not a valid term the result is 0 (callers only pass stored, validated keys).
pub(crate) fn order_prefix(term: &[u8]) -> u64 {
    prefix_at(term, 0, 0).unwrap_or(0)
}

fn prefix_at(buf: &[u8], pos: usize, depth: usize) -> Option<u64> {
    let (head, hlen) = read_head(buf, pos)?;
    let rank = |r: u64| r << RANK_SHIFT;
    Some(match head {
        Head::UInt(v) => rank(0) | number_bits(v as f64),
        Head::Int(v) => rank(0) | number_bits(v as f64),
        Head::F32(v) => rank(0) | number_bits(f64::from(v)),
        Head::F64(v) => rank(0) | number_bits(v),
        Head::False => rank(1) | name_bits(b"false"),
        Head::Nil => rank(1) | name_bits(b"nil"),
        Head::True => rank(1) | name_bits(b"true"),
        Head::Ext {
            ty: super::atom::ATOM_EXT,
            len,
        } => {
            let start = pos + hlen;
            rank(1) | name_bits(buf.get(start..start.checked_add(len)?)?)
        }
        Head::Array(n) => {
            const CAP: usize = 255;
            let size = (n.min(CAP) as u64) << (RANK_SHIFT - 8);
            let first = if n == 0 || n >= CAP || depth >= 8 {
                0
            } else {
                // The first element's prefix, cut to the 53 bits left (monotone).
                prefix_at(buf, pos + hlen, depth + 1)? >> 11
            };
            rank(2) | size | first
        }
        Head::Map(_) => rank(3),
        Head::Str(len) | Head::Bin(len) => {
            let start = pos + hlen;
            let payload = buf.get(start..start.checked_add(len)?)?;
            let r = if matches!(head, Head::Str(_)) { 4 } else { 5 };
            rank(r) | name_bits(payload)
        }
        Head::Ext { .. } | Head::Never => return None,
    })
}

/// The first 7 bytes of `payload` as 56 bits (bits 0..56; the top 8 bits are zero, below the
/// rank), zero-padded.
fn name_bits(payload: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    let take = payload.len().min(7);
    word[1..=take].copy_from_slice(&payload[..take]);
    u64::from_be_bytes(word)
}

/// A number as 61 order-preserving bits.
fn number_bits(v: f64) -> u64 {
    let v = if v == 0.0 { 0.0 } else { v };
    let bits = v.to_bits();
    let ordered = if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    };
    ordered >> 3
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use proptest::prelude::*;

    use super::*;
    use crate::term::{compare, encode, Term};

    fn enc(t: &Term) -> Vec<u8> {
        let mut out = Vec::new();
        encode(t, &mut out).unwrap();
        out
    }

    fn check(a: &Term, b: &Term) {
        let (ea, eb) = (enc(a), enc(b));
        let (pa, pb) = (order_prefix(&ea), order_prefix(&eb));
        match compare(&ea, &eb) {
            Ordering::Less => assert!(pa <= pb, "{a} < {b} but prefixes {pa:#x} > {pb:#x}"),
            Ordering::Greater => assert!(pa >= pb, "{a} > {b} but prefixes {pa:#x} < {pb:#x}"),
            Ordering::Equal => assert_eq!(pa, pb, "{a} == {b} but prefixes differ"),
        }
    }

    #[test]
    fn prefixes_follow_term_order_on_edge_values() {
        let values = vec![
            Term::Int(i64::MIN),
            Term::Int(-1i64 << 53),
            Term::Float(-1.5),
            Term::Int(-1),
            Term::Float(-0.0),
            Term::Int(0),
            Term::Float(0.0),
            Term::Float(0.5),
            Term::Int(1),
            Term::Float(1.0),
            Term::Int((1i64 << 53) + 1),
            Term::UInt(u64::MAX),
            Term::Float(1e300),
            Term::atom(""),
            Term::atom("a"),
            Term::Bool(false),
            Term::atom("falsf"),
            Term::Nil,
            Term::atom("ok"),
            Term::Bool(true),
            Term::atom("zzzzzzzzz"),
            Term::Array(vec![]),
            Term::Array(vec![Term::Int(1)]),
            Term::Array(vec![Term::Float(1.0), Term::Nil]),
            Term::Array(vec![Term::Str("a".into()), Term::Nil]),
            Term::Str(String::new()),
            Term::Str("a".into()),
            Term::Str("a\0".into()),
            Term::Str("abcdefg".into()),
            Term::Str("abcdefgh".into()),
            Term::Str("b".into()),
            Term::Bin(vec![]),
            Term::Bin(vec![0]),
            Term::Bin(vec![255; 9]),
        ];
        for a in &values {
            for b in &values {
                check(a, b);
            }
        }
    }

    proptest! {
        #[test]
        fn prefixes_follow_term_order(a in crate::term::proptests::arb_term(), b in crate::term::proptests::arb_term()) {
            check(&a, &b);
        }

        #[test]
        fn prefixes_follow_term_order_on_close_terms(a in crate::term::proptests::arb_small_term(), b in crate::term::proptests::arb_small_term()) {
            check(&a, &b);
        }
    }
}
