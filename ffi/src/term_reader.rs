//! `rets_reader`: reads MessagePack values (results of lookups, keys, gifts) so that a C program
//! needs no MessagePack library. It allocates nothing: the reader is a cursor on the caller's
//! stack and every string or binary it returns points into the bytes being read.

use std::ffi::c_char;

use crate::boundary::{arg_bytes, arg_mut, arg_ref, boundary, Failure, Out, Outcome};
use crate::status::rets_status;

/// A cursor over MessagePack bytes. Initialise it with rets_reader_init(); then each
/// rets_reader_ call reads the next value (or, for arrays and maps, its header: the items
/// follow, a map's as key, value, key, value...). A call that fails does not move the cursor.
///
/// The fields are the reader's state: read them if useful, never change them. The reader
/// borrows the bytes: they must stay valid and unchanged while it is used, and every pointer it
/// returns points into them.
///
/// Thread-safety: a reader must not be used by two threads at once; it may move between them.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct rets_reader {
    /// The bytes being read.
    pub data: *const u8,
    /// Their length.
    pub len: usize,
    /// The offset of the next value.
    pub pos: usize,
}

/// The type of a MessagePack value (see rets_reader_type()).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum rets_type {
    /// nil.
    Nil = 0,
    /// true or false.
    Bool = 1,
    /// An integer (read it with rets_reader_int() or rets_reader_uint()).
    Int = 2,
    /// A float (float 32 or 64).
    Float = 3,
    /// A str (UTF-8 text).
    Str = 4,
    /// A bin (bytes).
    Bin = 5,
    /// An array (a tuple).
    Array = 6,
    /// A map.
    Map = 7,
    /// An extension type other than the atom (rets does not store them; a reader can only
    /// skip them).
    Ext = 8,
    /// An atom (MessagePack ext type 97); read it with rets_reader_atom(). The atoms `true`,
    /// `false` and `nil` are stored as MessagePack true, false and nil, and typed as such.
    Atom = 9,
}

/// One value's head: what it is and where its payload ends.
#[derive(Clone, Copy)]
pub(crate) enum Head {
    Nil,
    Bool(bool),
    UInt(u64),
    Int(i64),
    Float(f64),
    /// A str or bin payload at `[start, end)`.
    Str(usize, usize),
    Bin(usize, usize),
    Array(u64),
    Map(u64),
    Ext,
    /// An atom's name at `[start, end)`.
    Atom(usize, usize),
}

impl Head {
    fn kind(self) -> rets_type {
        match self {
            Head::Nil => rets_type::Nil,
            Head::Bool(_) => rets_type::Bool,
            Head::UInt(_) | Head::Int(_) => rets_type::Int,
            Head::Float(_) => rets_type::Float,
            Head::Str(..) => rets_type::Str,
            Head::Bin(..) => rets_type::Bin,
            Head::Array(_) => rets_type::Array,
            Head::Map(_) => rets_type::Map,
            Head::Ext => rets_type::Ext,
            Head::Atom(..) => rets_type::Atom,
        }
    }
}

fn truncated(at: usize) -> Failure {
    Failure::new(
        rets_status::Malformed,
        format!("malformed MessagePack: input ends inside a value at byte {at}"),
    )
}

/// `n` bytes at `at`, or a truncation failure.
fn take(buf: &[u8], at: usize, n: usize) -> Outcome<&[u8]> {
    at.checked_add(n)
        .and_then(|end| buf.get(at..end))
        .ok_or_else(|| truncated(at))
}

fn be(buf: &[u8], at: usize, n: usize) -> Outcome<u64> {
    Ok(take(buf, at, n)?
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// Checks a container header's claim of `items` items against the bytes left after it (`from`):
/// every item takes at least one byte, as the decoder checks too. Without this an array32
/// header claiming 4,294,967,295 elements in a few bytes would be reported as such.
fn claimed(buf: &[u8], at: usize, from: usize, items: u64) -> Outcome {
    let left = buf.len().saturating_sub(from);
    if items > left as u64 {
        return Err(Failure::new(
            rets_status::Malformed,
            format!(
                "malformed MessagePack: the container at byte {at} claims {items} items \
                 but only {left} bytes follow"
            ),
        ));
    }
    Ok(())
}

/// Reads the head of the value at `at`: the head and the offset just after the whole value
/// (for arrays and maps: just after the header).
pub(crate) fn head(buf: &[u8], at: usize) -> Outcome<(Head, usize)> {
    let Some(&marker) = buf.get(at) else {
        return Err(Failure::new(
            rets_status::Malformed,
            format!("malformed MessagePack: no value at byte {at} (end of input)"),
        ));
    };
    let p = at + 1;
    let payload = |len: u64, after: usize| -> Outcome<(usize, usize)> {
        let len = usize::try_from(len).map_err(|_| truncated(after))?;
        take(buf, after, len)?;
        Ok((after, after + len))
    };
    let ext = |len: u64, after: usize| -> Outcome<(Head, usize)> {
        let (start, end) = payload(len + 1, after)?;
        match buf[start] as i8 {
            rets_core::term::atom::ATOM_EXT => Ok((Head::Atom(start + 1, end), end)),
            _ => Ok((Head::Ext, end)),
        }
    };
    Ok(match marker {
        0x00..=0x7f => (Head::UInt(u64::from(marker)), p),
        0x80..=0x8f => (Head::Map(u64::from(marker & 0x0f)), p),
        0x90..=0x9f => (Head::Array(u64::from(marker & 0x0f)), p),
        0xa0..=0xbf => {
            let (s, e) = payload(u64::from(marker & 0x1f), p)?;
            (Head::Str(s, e), e)
        }
        0xc0 => (Head::Nil, p),
        0xc1 => {
            return Err(Failure::new(
                rets_status::Malformed,
                format!("malformed MessagePack: invalid marker byte 0xc1 at byte {at}"),
            ))
        }
        0xc2 => (Head::Bool(false), p),
        0xc3 => (Head::Bool(true), p),
        0xc4..=0xc6 => {
            let n = 1 << (marker - 0xc4);
            let (s, e) = payload(be(buf, p, n)?, p + n)?;
            (Head::Bin(s, e), e)
        }
        0xc7..=0xc9 => {
            let n = 1 << (marker - 0xc7);
            ext(be(buf, p, n)?, p + n)?
        }
        0xca => {
            let bits = be(buf, p, 4)? as u32;
            (Head::Float(f64::from(f32::from_bits(bits))), p + 4)
        }
        0xcb => (Head::Float(f64::from_bits(be(buf, p, 8)?)), p + 8),
        0xcc..=0xcf => {
            let n = 1 << (marker - 0xcc);
            (Head::UInt(be(buf, p, n)?), p + n)
        }
        0xd0..=0xd3 => {
            let n = 1 << (marker - 0xd0);
            let raw = be(buf, p, n)?;
            // Sign-extend the n-byte big-endian value.
            let shift = 64 - 8 * n as u32;
            let v = ((raw << shift) as i64) >> shift;
            (Head::Int(v), p + n)
        }
        0xd4..=0xd8 => ext(1 << (marker - 0xd4), p)?,
        0xd9..=0xdb => {
            let n = 1 << (marker - 0xd9);
            let (s, e) = payload(be(buf, p, n)?, p + n)?;
            (Head::Str(s, e), e)
        }
        0xdc | 0xdd => {
            let n = if marker == 0xdc { 2 } else { 4 };
            let count = be(buf, p, n)?;
            claimed(buf, at, p + n, count)?;
            (Head::Array(count), p + n)
        }
        0xde | 0xdf => {
            let n = if marker == 0xde { 2 } else { 4 };
            let count = be(buf, p, n)?;
            claimed(buf, at, p + n, count.saturating_mul(2))?;
            (Head::Map(count), p + n)
        }
        0xe0..=0xff => (Head::Int(i64::from(marker as i8)), p),
    })
}

/// The offset just after the whole value at `at` (containers included), without recursion.
pub(crate) fn skip(buf: &[u8], mut at: usize) -> Outcome<usize> {
    let mut left: u64 = 1;
    while left > 0 {
        let (h, next) = head(buf, at)?;
        left -= 1;
        left = match h {
            Head::Array(n) => left.saturating_add(n),
            Head::Map(n) => left.saturating_add(n.saturating_mul(2)),
            _ => left,
        };
        at = next;
    }
    Ok(at)
}

/// Runs `body` on the reader's bytes and position; moves the cursor only on success.
fn read<T>(
    r: *mut rets_reader,
    out: Out<T>,
    body: impl FnOnce(&[u8], usize) -> Outcome<(T, usize)>,
) -> Outcome {
    let r = arg_mut(r, "r")?;
    let buf = arg_bytes(r.data, r.len, "r->data")?;
    if r.pos > buf.len() {
        return Err(Failure::invalid("the reader's position is past its end"));
    }
    let (value, next) = body(buf, r.pos)?;
    r.pos = next;
    out.write(value);
    Ok(())
}

fn wrong_type(want: &str, got: Head) -> Failure {
    Failure::new(
        rets_status::WrongType,
        format!("the next value is {:?}, not {want}", got.kind()),
    )
}

/// Starts reading `len` bytes at `data` (NULL only with `len` 0).
///
/// Ownership: the reader borrows `data` (nothing is copied): it must stay valid and unchanged
/// while the reader is used.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`.
#[no_mangle]
pub extern "C" fn rets_reader_init(
    r: *mut rets_reader,
    data: *const u8,
    len: usize,
) -> rets_status {
    boundary(|| {
        let r = arg_mut(r, "r")?;
        arg_bytes(data, len, "data")?;
        *r = rets_reader { data, len, pos: 0 };
        Ok(())
    })
}

/// The number of bytes not yet read (0 if `r` is NULL or its position is past its end).
#[no_mangle]
pub extern "C" fn rets_reader_remaining(r: *const rets_reader) -> usize {
    arg_ref(r, "r").map_or(0, |r| r.len.saturating_sub(r.pos))
}

/// Stores the type of the next value in `*out`, without moving the cursor.
///
/// Errors (for every rets_reader_ function below): `RETS_STATUS_NULL_ARGUMENT`;
/// `RETS_STATUS_MALFORMED` (no value left, or a truncated or invalid one);
/// `RETS_STATUS_INVALID_ARGUMENT` (the reader's fields were changed).
#[no_mangle]
pub extern "C" fn rets_reader_type(r: *mut rets_reader, out: *mut rets_type) -> rets_status {
    boundary(|| {
        let out = Out::new(out, "out")?;
        read(r, out, |buf, at| Ok((head(buf, at)?.0.kind(), at)))
    })
}

/// Reads nil. Errors also: `RETS_STATUS_WRONG_TYPE`.
#[no_mangle]
pub extern "C" fn rets_reader_nil(r: *mut rets_reader) -> rets_status {
    boundary(|| {
        let mut unit = ();
        let out = Out::new(&mut unit, "unit")?;
        read(r, out, |buf, at| match head(buf, at)? {
            (Head::Nil, next) => Ok(((), next)),
            (h, _) => Err(wrong_type("nil", h)),
        })
    })
}

/// Reads true or false into `*out`. Errors also: `RETS_STATUS_WRONG_TYPE`.
#[no_mangle]
pub extern "C" fn rets_reader_bool(r: *mut rets_reader, out: *mut bool) -> rets_status {
    boundary(|| {
        let out = Out::new(out, "out")?;
        read(r, out, |buf, at| match head(buf, at)? {
            (Head::Bool(v), next) => Ok((v, next)),
            (h, _) => Err(wrong_type("a boolean", h)),
        })
    })
}

/// Reads an integer into `*out`. Errors also: `RETS_STATUS_WRONG_TYPE` (not an integer),
/// `RETS_STATUS_OVERFLOW` (above INT64_MAX: use rets_reader_uint()).
#[no_mangle]
pub extern "C" fn rets_reader_int(r: *mut rets_reader, out: *mut i64) -> rets_status {
    boundary(|| {
        let out = Out::new(out, "out")?;
        read(r, out, |buf, at| match head(buf, at)? {
            (Head::Int(v), next) => Ok((v, next)),
            (Head::UInt(v), next) => match i64::try_from(v) {
                Ok(v) => Ok((v, next)),
                Err(_) => Err(Failure::new(
                    rets_status::Overflow,
                    format!("the integer {v} does not fit an int64_t"),
                )),
            },
            (h, _) => Err(wrong_type("an integer", h)),
        })
    })
}

/// Reads a non-negative integer into `*out`. Errors also: `RETS_STATUS_WRONG_TYPE` (not an
/// integer), `RETS_STATUS_OVERFLOW` (negative).
#[no_mangle]
pub extern "C" fn rets_reader_uint(r: *mut rets_reader, out: *mut u64) -> rets_status {
    boundary(|| {
        let out = Out::new(out, "out")?;
        read(r, out, |buf, at| match head(buf, at)? {
            (Head::UInt(v), next) => Ok((v, next)),
            (Head::Int(v), next) => match u64::try_from(v) {
                Ok(v) => Ok((v, next)),
                Err(_) => Err(Failure::new(
                    rets_status::Overflow,
                    format!("the integer {v} is negative: it does not fit a uint64_t"),
                )),
            },
            (h, _) => Err(wrong_type("an integer", h)),
        })
    })
}

/// Reads a float (float 32 or 64) into `*out`. Integers are not converted. Errors also:
/// `RETS_STATUS_WRONG_TYPE`.
#[no_mangle]
pub extern "C" fn rets_reader_double(r: *mut rets_reader, out: *mut f64) -> rets_status {
    boundary(|| {
        let out = Out::new(out, "out")?;
        read(r, out, |buf, at| match head(buf, at)? {
            (Head::Float(v), next) => Ok((v, next)),
            (h, _) => Err(wrong_type("a float", h)),
        })
    })
}

/// Reads a str: stores a pointer to its UTF-8 bytes in `*s` and their number in `*len`. The
/// text is NOT NUL-terminated (print it with `"%.*s", (int)len, s`); it points into the bytes
/// being read. Errors also: `RETS_STATUS_WRONG_TYPE`; `RETS_STATUS_MALFORMED` (not UTF-8).
#[no_mangle]
pub extern "C" fn rets_reader_str(
    r: *mut rets_reader,
    s: *mut *const c_char,
    len: *mut usize,
) -> rets_status {
    boundary(|| {
        let (s, len) = (Out::new(s, "s")?, Out::new(len, "len")?);
        let mut span = (std::ptr::null(), 0usize);
        read(r, Out::new(&mut span, "span")?, |buf, at| {
            match head(buf, at)? {
                (Head::Str(start, end), next) => {
                    let text = &buf[start..end];
                    if std::str::from_utf8(text).is_err() {
                        return Err(Failure::new(
                            rets_status::Malformed,
                            format!("malformed MessagePack: str is not valid UTF-8 at byte {at}"),
                        ));
                    }
                    Ok(((text.as_ptr().cast::<c_char>(), text.len()), next))
                }
                (h, _) => Err(wrong_type("a str", h)),
            }
        })?;
        s.write(span.0);
        len.write(span.1);
        Ok(())
    })
}

/// Reads an atom: stores a pointer to its name's UTF-8 bytes in `*name` and their number in
/// `*len` (NOT NUL-terminated, pointing into the bytes being read). MessagePack true, false and
/// nil read as the atoms "true", "false" and "nil" (static text). Errors also:
/// `RETS_STATUS_WRONG_TYPE`; `RETS_STATUS_MALFORMED` (a name that is not UTF-8).
#[no_mangle]
pub extern "C" fn rets_reader_atom(
    r: *mut rets_reader,
    name: *mut *const c_char,
    len: *mut usize,
) -> rets_status {
    boundary(|| {
        let (name, len) = (Out::new(name, "name")?, Out::new(len, "len")?);
        let mut span = (std::ptr::null(), 0usize);
        read(r, Out::new(&mut span, "span")?, |buf, at| {
            let (h, next) = head(buf, at)?;
            let text: &[u8] = match h {
                Head::Atom(start, end) => &buf[start..end],
                Head::Bool(true) => b"true",
                Head::Bool(false) => b"false",
                Head::Nil => b"nil",
                h => return Err(wrong_type("an atom", h)),
            };
            if std::str::from_utf8(text).is_err() {
                return Err(Failure::new(
                    rets_status::Malformed,
                    format!("malformed MessagePack: atom name is not valid UTF-8 at byte {at}"),
                ));
            }
            Ok(((text.as_ptr().cast::<c_char>(), text.len()), next))
        })?;
        name.write(span.0);
        len.write(span.1);
        Ok(())
    })
}

/// Reads a bin: stores a pointer to its bytes in `*data` and their number in `*len` (pointing
/// into the bytes being read). Errors also: `RETS_STATUS_WRONG_TYPE`.
#[no_mangle]
pub extern "C" fn rets_reader_bin(
    r: *mut rets_reader,
    data: *mut *const u8,
    len: *mut usize,
) -> rets_status {
    boundary(|| {
        let (data, len) = (Out::new(data, "data")?, Out::new(len, "len")?);
        let mut span = (std::ptr::null(), 0usize);
        read(r, Out::new(&mut span, "span")?, |buf, at| {
            match head(buf, at)? {
                (Head::Bin(start, end), next) => {
                    Ok(((buf[start..end].as_ptr(), end - start), next))
                }
                (h, _) => Err(wrong_type("a bin", h)),
            }
        })?;
        data.write(span.0);
        len.write(span.1);
        Ok(())
    })
}

/// Reads an array header and stores its number of elements in `*count`; the elements are the
/// next values. Errors also: `RETS_STATUS_WRONG_TYPE`.
#[no_mangle]
pub extern "C" fn rets_reader_array(r: *mut rets_reader, count: *mut usize) -> rets_status {
    boundary(|| {
        let out = Out::new(count, "count")?;
        read(r, out, |buf, at| match head(buf, at)? {
            (Head::Array(n), next) => Ok((n as usize, next)),
            (h, _) => Err(wrong_type("an array", h)),
        })
    })
}

/// Reads a map header and stores its number of entries in `*count`; the entries follow as key,
/// value, key, value... Errors also: `RETS_STATUS_WRONG_TYPE`.
#[no_mangle]
pub extern "C" fn rets_reader_map(r: *mut rets_reader, count: *mut usize) -> rets_status {
    boundary(|| {
        let out = Out::new(count, "count")?;
        read(r, out, |buf, at| match head(buf, at)? {
            (Head::Map(n), next) => Ok((n as usize, next)),
            (h, _) => Err(wrong_type("a map", h)),
        })
    })
}

/// Skips the next value, containers included.
#[no_mangle]
pub extern "C" fn rets_reader_skip(r: *mut rets_reader) -> rets_status {
    boundary(|| {
        let mut unit = ();
        read(r, Out::new(&mut unit, "unit")?, |buf, at| {
            Ok(((), skip(buf, at)?))
        })
    })
}

/// Reads the next whole value as bytes: stores a pointer to its MessagePack encoding (pointing
/// into the bytes being read) in `*data` and its length in `*len`. Use it to pass a key or
/// object from a result to another call, or to rets_builder_raw().
#[no_mangle]
pub extern "C" fn rets_reader_raw(
    r: *mut rets_reader,
    data: *mut *const u8,
    len: *mut usize,
) -> rets_status {
    boundary(|| {
        let (data, len) = (Out::new(data, "data")?, Out::new(len, "len")?);
        let mut span = (std::ptr::null(), 0usize);
        read(r, Out::new(&mut span, "span")?, |buf, at| {
            let end = skip(buf, at)?;
            Ok(((buf[at..end].as_ptr(), end - at), end))
        })?;
        data.write(span.0);
        len.write(span.1);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rets_core::Term;

    fn reader(bytes: &[u8]) -> rets_reader {
        rets_reader {
            data: bytes.as_ptr(),
            len: bytes.len(),
            pos: 0,
        }
    }

    #[test]
    fn reads_what_the_engine_encodes() {
        let term = Term::Array(vec![
            Term::Int(-200),
            Term::UInt(u64::MAX),
            Term::from("héllo"),
            Term::bin(vec![9; 300]),
            Term::Float(-2.5),
            Term::map([("k", Term::Nil)]),
            Term::Bool(false),
        ]);
        let bytes = term.to_msgpack().unwrap();
        let mut r = reader(&bytes);
        let mut n = 0;
        assert_eq!(rets_reader_array(&mut r, &mut n), rets_status::Ok);
        assert_eq!(n, 7);
        let mut i = 0i64;
        assert_eq!(rets_reader_int(&mut r, &mut i), rets_status::Ok);
        assert_eq!(i, -200);
        let mut ty = rets_type::Nil;
        assert_eq!(rets_reader_type(&mut r, &mut ty), rets_status::Ok);
        assert_eq!(ty, rets_type::Int);
        assert_eq!(rets_reader_int(&mut r, &mut i), rets_status::Overflow);
        let mut u = 0u64;
        assert_eq!(rets_reader_uint(&mut r, &mut u), rets_status::Ok);
        assert_eq!(u, u64::MAX);
        let (mut s, mut len) = (std::ptr::null(), 0);
        assert_eq!(rets_reader_str(&mut r, &mut s, &mut len), rets_status::Ok);
        // SAFETY: the reader returned a span of `bytes`.
        let text = unsafe { std::slice::from_raw_parts(s.cast::<u8>(), len) };
        assert_eq!(text, "héllo".as_bytes());
        let (mut d, mut dlen) = (std::ptr::null(), 0);
        assert_eq!(
            rets_reader_str(&mut r, &mut s, &mut len),
            rets_status::WrongType
        );
        assert_eq!(rets_reader_bin(&mut r, &mut d, &mut dlen), rets_status::Ok);
        assert_eq!(dlen, 300);
        let mut f = 0.0;
        assert_eq!(rets_reader_double(&mut r, &mut f), rets_status::Ok);
        assert_eq!(f, -2.5);
        assert_eq!(rets_reader_raw(&mut r, &mut d, &mut dlen), rets_status::Ok);
        // SAFETY: as above.
        let raw = unsafe { std::slice::from_raw_parts(d, dlen) };
        assert_eq!(
            Term::from_msgpack(raw).unwrap(),
            Term::map([("k", Term::Nil)])
        );
        let mut b = true;
        assert_eq!(rets_reader_bool(&mut r, &mut b), rets_status::Ok);
        assert!(!b);
        assert_eq!(rets_reader_remaining(&r), 0);
        assert_eq!(rets_reader_nil(&mut r), rets_status::Malformed);
    }

    #[test]
    fn non_canonical_encodings_and_truncation() {
        // int 16 holding -1, float 32, str 8 with 2 bytes, array 16 of 1 element, uint 64 of 5.
        let bytes = [
            0xd1, 0xff, 0xff, 0xca, 0x3f, 0xc0, 0, 0, 0xd9, 2, b'o', b'k', 0xdc, 0, 1, 0xcf, 0, 0,
            0, 0, 0, 0, 0, 5,
        ];
        let mut r = reader(&bytes);
        let mut i = 0i64;
        assert_eq!(rets_reader_int(&mut r, &mut i), rets_status::Ok);
        assert_eq!(i, -1);
        let mut f = 0.0;
        assert_eq!(rets_reader_double(&mut r, &mut f), rets_status::Ok);
        assert_eq!(f, 1.5);
        assert_eq!(rets_reader_skip(&mut r), rets_status::Ok);
        assert_eq!(rets_reader_skip(&mut r), rets_status::Ok);
        assert_eq!(rets_reader_remaining(&r), 0);
        // A truncated array: the cursor does not move.
        let cut = [0x93, 1, 2];
        let mut r = reader(&cut);
        assert_eq!(rets_reader_skip(&mut r), rets_status::Malformed);
        assert_eq!(r.pos, 0);
        let huge = [0xdd, 0xff, 0xff, 0xff, 0xff];
        let mut r = reader(&huge);
        assert_eq!(rets_reader_skip(&mut r), rets_status::Malformed);
        let bad = [0xc1];
        let mut r = reader(&bad);
        assert_eq!(rets_reader_skip(&mut r), rets_status::Malformed);
    }
}
