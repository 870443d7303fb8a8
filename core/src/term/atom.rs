//! Atoms: Erlang's named constants, as one MessagePack extension type.
//!
//! # Encoding
//! An atom is an ext value of type [`ATOM_EXT`] (97, ASCII `a`) whose payload is the atom's name
//! in UTF-8, at most [`MAX_ATOM_BYTES`] bytes (Erlang allows 255 characters; rets counts
//! bytes). Every other ext type is rejected.
//!
//! The MessagePack values `false`, `nil` and `true` *are* the atoms `false`, `nil` and `true`:
//! an ext atom with one of these three names is the same term, and its canonical form is the
//! one-byte MessagePack marker (0xc2, 0xc0, 0xc3). Every other atom's canonical form uses the
//! shortest ext header: fixext 1/2/4/8/16 when the name is exactly that long, else ext 8.
//!
//! # Order
//! Atoms sort after numbers and before tuples (arrays), and among themselves by the bytes of
//! their names, as Erlang does. Because `false`, `nil` and `true` are atoms with those names,
//! they take their alphabetical places among the other atoms: `'' < abc < false < foo < nil <
//! ok < true < undefined`. Before atoms existed in the term model these three were the only
//! atoms and already sorted `false < nil < true` between numbers and arrays, so the order of
//! every term that existed before is unchanged.

use super::TermError;

/// The MessagePack ext type of an atom.
pub const ATOM_EXT: i8 = 97;

/// The longest atom name, in bytes of UTF-8.
pub const MAX_ATOM_BYTES: usize = 255;

const FIXEXT1: u8 = 0xd4;
const EXT8: u8 = 0xc7;

/// The one-byte MessagePack marker that *is* the atom `name`, for `false`, `nil` and `true`.
pub(crate) fn special_marker(name: &[u8]) -> Option<u8> {
    match name {
        b"false" => Some(0xc2),
        b"nil" => Some(0xc0),
        b"true" => Some(0xc3),
        _ => None,
    }
}

/// Size of the canonical ext header for an atom name of `len` bytes (not one of the three
/// special names).
pub(crate) fn header_len(len: usize) -> usize {
    match len {
        1 | 2 | 4 | 8 | 16 => 2,
        _ => 3,
    }
}

/// Checks an atom name's length.
pub(crate) fn check_name(len: usize) -> Result<(), TermError> {
    if len > MAX_ATOM_BYTES {
        return Err(TermError::TooLarge {
            what: "atom",
            size: len,
            limit: MAX_ATOM_BYTES,
        });
    }
    Ok(())
}

/// Appends the canonical encoding of the atom `name` to `out`. Fails (appending nothing) when the
/// name is longer than [`MAX_ATOM_BYTES`].
pub fn encode_atom(name: &str, out: &mut Vec<u8>) -> Result<(), TermError> {
    check_name(name.len())?;
    write(name.as_bytes(), out);
    Ok(())
}

/// Appends the canonical encoding of the atom `name` (at most [`MAX_ATOM_BYTES`] bytes; the
/// caller checked).
pub(crate) fn write(name: &[u8], out: &mut Vec<u8>) {
    if let Some(m) = special_marker(name) {
        out.push(m);
        return;
    }
    let ty = ATOM_EXT as u8;
    match name.len() {
        n @ (1 | 2 | 4 | 8 | 16) => {
            out.extend_from_slice(&[FIXEXT1 + n.trailing_zeros() as u8, ty]);
        }
        n => out.extend_from_slice(&[EXT8, n as u8, ty]),
    }
    out.extend_from_slice(name);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::term::{compare, decode, encode, to_canonical, Term};
    use std::cmp::Ordering;

    fn enc(t: &Term) -> Vec<u8> {
        let mut out = Vec::new();
        encode(t, &mut out).unwrap();
        out
    }

    #[test]
    fn canonical_headers_are_the_shortest() {
        assert_eq!(enc(&Term::atom("a")), vec![0xd4, 97, b'a']);
        assert_eq!(enc(&Term::atom("ok")), vec![0xd5, 97, b'o', b'k']);
        assert_eq!(enc(&Term::atom("abc")), vec![0xc7, 3, 97, b'a', b'b', b'c']);
        assert_eq!(enc(&Term::atom("abcd"))[..2], [0xd6, 97]);
        assert_eq!(enc(&Term::atom("abcdefgh"))[..2], [0xd7, 97]);
        assert_eq!(enc(&Term::atom(&"x".repeat(16)))[..2], [0xd8, 97]);
        assert_eq!(enc(&Term::atom("")), vec![0xc7, 0, 97]);
        assert_eq!(enc(&Term::Atom("true".into())), vec![0xc3]);
        assert_eq!(enc(&Term::Atom("nil".into())), vec![0xc0]);
        assert_eq!(enc(&Term::Atom("false".into())), vec![0xc2]);
    }

    #[test]
    fn non_canonical_atoms_are_rewritten() {
        // ext 8 for a 2-byte name, ext 16 and ext 32 headers, and the special names.
        let cases: Vec<(Vec<u8>, Vec<u8>)> = vec![
            (vec![0xc7, 2, 97, b'o', b'k'], vec![0xd5, 97, b'o', b'k']),
            (
                vec![0xc8, 0, 3, 97, b'a', b'b', b'c'],
                vec![0xc7, 3, 97, b'a', b'b', b'c'],
            ),
            (vec![0xc9, 0, 0, 0, 1, 97, b'z'], vec![0xd4, 97, b'z']),
            (vec![0xc7, 4, 97, b't', b'r', b'u', b'e'], vec![0xc3]),
            (vec![0xc7, 3, 97, b'n', b'i', b'l'], vec![0xc0]),
            (
                vec![0x91, 0xc7, 5, 97, b'f', b'a', b'l', b's', b'e'],
                vec![0x91, 0xc2],
            ),
        ];
        for (input, canonical) in cases {
            assert_eq!(
                to_canonical(&input).unwrap().as_ref(),
                &canonical[..],
                "{input:x?}"
            );
        }
        assert_eq!(decode(&[0xd5, 97, b'o', b'k']).unwrap(), Term::atom("ok"));
        assert_eq!(
            decode(&[0xc7, 4, 97, b't', b'r', b'u', b'e']).unwrap(),
            Term::Bool(true)
        );
    }

    #[test]
    fn bad_atoms_are_clear_errors() {
        assert_eq!(
            to_canonical(&[0xd5, 97, 0xff, 0xfe]).unwrap_err(),
            TermError::InvalidUtf8 { offset: 0 }
        );
        let mut long = vec![0xc8, 1, 0, 97];
        long.extend(std::iter::repeat_n(b'a', 256));
        assert!(matches!(
            to_canonical(&long).unwrap_err(),
            TermError::TooLarge {
                what: "atom",
                size: 256,
                limit: 255
            }
        ));
        assert_eq!(
            to_canonical(&[0xc7, 5, 97, b'a']).unwrap_err(),
            TermError::Truncated { offset: 0 }
        );
        assert_eq!(
            to_canonical(&[0xd4, 98, b'a']).unwrap_err(),
            TermError::ExtUnsupported { offset: 0 }
        );
        assert!(Term::atom(&"a".repeat(256)).to_msgpack().is_err());
    }

    #[test]
    fn atoms_sort_between_numbers_and_tuples_by_name() {
        let order = [
            Term::Float(1e300),
            Term::atom(""),
            Term::atom("abc"),
            Term::Bool(false),
            Term::atom("foo"),
            Term::Nil,
            Term::atom("ok"),
            Term::Bool(true),
            Term::atom("undefined"),
            Term::atom("é"),
            Term::Array(vec![]),
        ];
        for (i, a) in order.iter().enumerate() {
            for (j, b) in order.iter().enumerate() {
                assert_eq!(compare(&enc(a), &enc(b)), i.cmp(&j), "{a} vs {b}");
            }
        }
        assert_eq!(
            compare(&enc(&Term::atom("true")), &enc(&Term::Bool(true))),
            Ordering::Equal
        );
    }
}
