//! `rets_builder`: builds one MessagePack value (a key, an object, a list of objects) so that a
//! C program needs no MessagePack library. It writes the canonical form rets stores (shortest
//! encodings), so keys it builds are used in place by lookups.

use std::borrow::Cow;
use std::ffi::c_char;

use rets_core::term::{atom, limits, to_canonical};

use crate::boundary::{arg_bytes, arg_mut, boundary, from_handle, into_handle, release};
use crate::boundary::{Failure, Out, Outcome};
use crate::status::rets_status;

/// Builds one MessagePack value from scalars and container headers. After the value is
/// complete, rets_builder_finish() gives its bytes; rets_builder_reset() starts another one in
/// the same memory (no allocation once the builder has grown).
///
/// A container is written as its header (rets_builder_array(), rets_builder_map()) followed by
/// its items (for a map: key, value, key, value...). The builder counts items: adding to a
/// complete value, finishing an incomplete one, or nesting deeper than the depth limit fails,
/// and a failed call adds nothing.
///
/// Thread-safety: a builder may move between threads but must not be used by two at once.
#[allow(non_camel_case_types)]
pub struct rets_builder {
    bytes: Vec<u8>,
    /// Items still expected by each open container, outermost first.
    pending: Vec<u64>,
    complete: bool,
}

/// Appends the canonical header of an array of `len` elements.
pub(crate) fn write_array_header(len: usize, out: &mut Vec<u8>) {
    write_len(len as u64, 0x90, 15, None, 0xdc, 0xdd, out);
}

fn write_len(
    len: u64,
    fix: u8,
    fix_max: u64,
    eight: Option<u8>,
    sixteen: u8,
    thirty_two: u8,
    out: &mut Vec<u8>,
) {
    if len <= fix_max {
        out.push(fix | len as u8);
    } else if let (Some(marker), true) = (eight, len <= u64::from(u8::MAX)) {
        out.extend_from_slice(&[marker, len as u8]);
    } else if len <= u64::from(u16::MAX) {
        out.push(sixteen);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(thirty_two);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

fn write_uint(v: u64, out: &mut Vec<u8>) {
    if v <= 0x7f {
        out.push(v as u8);
    } else if v <= u64::from(u8::MAX) {
        out.extend_from_slice(&[0xcc, v as u8]);
    } else if v <= u64::from(u16::MAX) {
        out.push(0xcd);
        out.extend_from_slice(&(v as u16).to_be_bytes());
    } else if v <= u64::from(u32::MAX) {
        out.push(0xce);
        out.extend_from_slice(&(v as u32).to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

fn write_int(v: i64, out: &mut Vec<u8>) {
    if v >= 0 {
        write_uint(v as u64, out);
    } else if v >= -32 {
        out.push(v as u8);
    } else if v >= i64::from(i8::MIN) {
        out.extend_from_slice(&[0xd0, v as i8 as u8]);
    } else if v >= i64::from(i16::MIN) {
        out.push(0xd1);
        out.extend_from_slice(&(v as i16).to_be_bytes());
    } else if v >= i64::from(i32::MIN) {
        out.push(0xd2);
        out.extend_from_slice(&(v as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

fn too_long(what: &str, len: usize) -> Failure {
    Failure::new(
        rets_status::LimitExceeded,
        format!("{what} of length {len} is over MessagePack's limit of 2^32 - 1"),
    )
}

impl rets_builder {
    /// `bytes`, copied if they lie in this builder's own memory (which writing would change).
    fn detach<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        let start = self.bytes.as_ptr() as usize;
        let end = start + self.bytes.capacity();
        let at = bytes.as_ptr() as usize;
        match !bytes.is_empty() && at >= start && at < end {
            true => Cow::Owned(bytes.to_vec()),
            false => Cow::Borrowed(bytes),
        }
    }

    fn begin_value(&self) -> Outcome {
        if self.complete {
            return Err(Failure::invalid(
                "the builder already holds a complete value: call rets_builder_reset() to start \
                 another",
            ));
        }
        Ok(())
    }

    /// One item is complete: count it in the open containers, closing those it fills.
    fn end_value(&mut self) {
        loop {
            match self.pending.last_mut() {
                None => {
                    self.complete = true;
                    return;
                }
                Some(left) => {
                    *left -= 1;
                    if *left > 0 {
                        return;
                    }
                    self.pending.pop();
                }
            }
        }
    }

    fn scalar(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> Outcome {
        self.begin_value()?;
        write(&mut self.bytes);
        self.end_value();
        Ok(())
    }

    fn container(&mut self, items: u64, write: impl FnOnce(&mut Vec<u8>)) -> Outcome {
        self.begin_value()?;
        if self.pending.len() + 1 > limits::MAX_DEPTH {
            return Err(Failure::new(
                rets_status::LimitExceeded,
                format!(
                    "term too deep: nesting exceeds the limit of {} levels",
                    limits::MAX_DEPTH
                ),
            ));
        }
        write(&mut self.bytes);
        match items {
            0 => self.end_value(),
            n => self.pending.push(n),
        }
        Ok(())
    }
}

fn with_builder(
    b: *mut rets_builder,
    body: impl FnOnce(&mut rets_builder) -> Outcome,
) -> rets_status {
    boundary(|| body(arg_mut(b, "b")?))
}

/// Creates an empty builder and stores it in `*out`.
///
/// Ownership: the caller owns the builder and frees it with rets_builder_free().
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`.
#[no_mangle]
pub extern "C" fn rets_builder_new(out: *mut *mut rets_builder) -> rets_status {
    boundary(|| {
        let out = Out::new(out, "out")?;
        out.write(into_handle(rets_builder {
            bytes: Vec::with_capacity(64),
            pending: Vec::new(),
            complete: false,
        }));
        Ok(())
    })
}

/// Frees a builder. NULL is ignored. Pointers from rets_builder_finish() become invalid.
///
/// Undefined behaviour: freeing a builder twice, or using it afterwards.
#[no_mangle]
pub extern "C" fn rets_builder_free(b: *mut rets_builder) {
    release(|| drop(from_handle(b)));
}

/// Empties the builder to build another value, keeping its memory. Bytes from
/// rets_builder_finish() stay valid until the next value is added (see there).
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`.
#[no_mangle]
pub extern "C" fn rets_builder_reset(b: *mut rets_builder) -> rets_status {
    with_builder(b, |b| {
        b.bytes.clear();
        b.pending.clear();
        b.complete = false;
        Ok(())
    })
}

/// Stores in `*data` and `*len` the bytes of the complete value built so far.
///
/// Ownership: the bytes belong to the builder. They stay valid, unchanged, until the next call
/// that adds to the builder (after a rets_builder_reset(); that call may take them as its
/// input: they are copied first) or rets_builder_free().
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`; `RETS_STATUS_INVALID_ARGUMENT` (the value is empty or
/// incomplete: a container still expects items).
#[no_mangle]
pub extern "C" fn rets_builder_finish(
    b: *mut rets_builder,
    data: *mut *const u8,
    len: *mut usize,
) -> rets_status {
    with_builder(b, |b| {
        let (data, len) = (Out::new(data, "data")?, Out::new(len, "len")?);
        if !b.complete {
            let left: u64 = b.pending.iter().sum();
            return Err(Failure::invalid(match b.bytes.is_empty() {
                true => "the builder is empty".to_string(),
                false => {
                    format!("the value is incomplete: its containers expect {left} more item(s)")
                }
            }));
        }
        data.write(b.bytes.as_ptr());
        len.write(b.bytes.len());
        Ok(())
    })
}

/// Adds nil. Errors (for every rets_builder_ value function): `RETS_STATUS_NULL_ARGUMENT`;
/// `RETS_STATUS_INVALID_ARGUMENT` (the value is already complete).
#[no_mangle]
pub extern "C" fn rets_builder_nil(b: *mut rets_builder) -> rets_status {
    with_builder(b, |b| b.scalar(|out| out.push(0xc0)))
}

/// Adds true or false.
#[no_mangle]
pub extern "C" fn rets_builder_bool(b: *mut rets_builder, value: bool) -> rets_status {
    with_builder(b, |b| {
        b.scalar(|out| out.push(if value { 0xc3 } else { 0xc2 }))
    })
}

/// Adds a signed integer.
#[no_mangle]
pub extern "C" fn rets_builder_int(b: *mut rets_builder, value: i64) -> rets_status {
    with_builder(b, |b| b.scalar(|out| write_int(value, out)))
}

/// Adds an unsigned integer (the same term as rets_builder_int() for values up to INT64_MAX).
#[no_mangle]
pub extern "C" fn rets_builder_uint(b: *mut rets_builder, value: u64) -> rets_status {
    with_builder(b, |b| b.scalar(|out| write_uint(value, out)))
}

/// Adds a float (float 64). Errors also: `RETS_STATUS_UNSUPPORTED_TERM` (NaN).
#[no_mangle]
pub extern "C" fn rets_builder_double(b: *mut rets_builder, value: f64) -> rets_status {
    with_builder(b, |b| {
        if value.is_nan() {
            return Err(Failure::new(
                rets_status::UnsupportedTerm,
                "unsupported term: NaN is not a valid float term",
            ));
        }
        b.scalar(|out| {
            out.push(0xcb);
            out.extend_from_slice(&value.to_be_bytes());
        })
    })
}

/// Adds a str of `len` bytes of UTF-8 text at `s` (not necessarily NUL-terminated; NULL only
/// with `len` 0; it may point into this builder's own bytes), copied. Errors also:
/// `RETS_STATUS_INVALID_ARGUMENT` (not UTF-8),
/// `RETS_STATUS_LIMIT_EXCEEDED` (4 GiB or more).
#[no_mangle]
pub extern "C" fn rets_builder_str(
    b: *mut rets_builder,
    s: *const c_char,
    len: usize,
) -> rets_status {
    with_builder(b, |b| {
        let bytes = b.detach(arg_bytes(s.cast(), len, "s")?);
        if std::str::from_utf8(&bytes).is_err() {
            return Err(Failure::invalid("the argument `s` is not valid UTF-8"));
        }
        if len > u32::MAX as usize {
            return Err(too_long("a str", len));
        }
        b.scalar(|out| {
            write_len(len as u64, 0xa0, 31, Some(0xd9), 0xda, 0xdb, out);
            out.extend_from_slice(&bytes);
        })
    })
}

/// Adds the atom whose name is the `len` bytes of UTF-8 at `name` (not necessarily
/// NUL-terminated; NULL only with `len` 0), as the atom ext type (type 97, see the
/// term model in docs/ARCHITECTURE.md). The names "true", "false" and "nil" add the MessagePack
/// true, false and nil, which are those atoms. Errors also: `RETS_STATUS_INVALID_ARGUMENT` (not
/// UTF-8), `RETS_STATUS_LIMIT_EXCEEDED` (over 255 bytes).
#[no_mangle]
pub extern "C" fn rets_builder_atom(
    b: *mut rets_builder,
    name: *const c_char,
    len: usize,
) -> rets_status {
    with_builder(b, |b| {
        let bytes = b.detach(arg_bytes(name.cast(), len, "name")?);
        let Ok(text) = std::str::from_utf8(&bytes) else {
            return Err(Failure::invalid("the argument `name` is not valid UTF-8"));
        };
        if len > atom::MAX_ATOM_BYTES {
            return Err(Failure::new(
                rets_status::LimitExceeded,
                format!(
                    "atom too long: {len} bytes, over the limit of {}",
                    atom::MAX_ATOM_BYTES
                ),
            ));
        }
        b.scalar(|out| {
            atom::encode_atom(text, out).expect("the length was checked");
        })
    })
}

/// Adds a bin of `len` bytes at `data` (NULL only with `len` 0; it may point into this
/// builder's own bytes), copied. Errors also:
/// `RETS_STATUS_LIMIT_EXCEEDED` (4 GiB or more).
#[no_mangle]
pub extern "C" fn rets_builder_bin(
    b: *mut rets_builder,
    data: *const u8,
    len: usize,
) -> rets_status {
    with_builder(b, |b| {
        let bytes = b.detach(arg_bytes(data, len, "data")?);
        if len > u32::MAX as usize {
            return Err(too_long("a bin", len));
        }
        b.scalar(|out| {
            match len {
                0..=0xff => out.extend_from_slice(&[0xc4, len as u8]),
                0x100..=0xffff => {
                    out.push(0xc5);
                    out.extend_from_slice(&(len as u16).to_be_bytes());
                }
                _ => {
                    out.push(0xc6);
                    out.extend_from_slice(&(len as u32).to_be_bytes());
                }
            }
            out.extend_from_slice(&bytes);
        })
    })
}

/// Adds the header of an array (a tuple) of `count` elements; add the elements next. Errors
/// also: `RETS_STATUS_LIMIT_EXCEEDED` (nesting deeper than 128 levels).
#[no_mangle]
pub extern "C" fn rets_builder_array(b: *mut rets_builder, count: u32) -> rets_status {
    with_builder(b, |b| {
        b.container(u64::from(count), |out| {
            write_array_header(count as usize, out)
        })
    })
}

/// Adds the header of a map of `count` entries; add key, value, key, value... next. Errors
/// also: `RETS_STATUS_LIMIT_EXCEEDED` (nesting deeper than 128 levels).
#[no_mangle]
pub extern "C" fn rets_builder_map(b: *mut rets_builder, count: u32) -> rets_status {
    with_builder(b, |b| {
        b.container(2 * u64::from(count), |out| {
            write_len(u64::from(count), 0x80, 15, None, 0xde, 0xdf, out)
        })
    })
}

/// Adds one complete MessagePack value given as bytes (from any encoder, or from a reader's
/// rets_reader_raw(), or this builder's own bytes from rets_builder_finish()), validated and
/// put in canonical form. Errors also:
/// `RETS_STATUS_MALFORMED`, `RETS_STATUS_UNSUPPORTED_TERM`, `RETS_STATUS_LIMIT_EXCEEDED`.
#[no_mangle]
pub extern "C" fn rets_builder_raw(
    b: *mut rets_builder,
    data: *const u8,
    len: usize,
) -> rets_status {
    with_builder(b, |b| {
        let bytes = b.detach(arg_bytes(data, len, "data")?);
        b.begin_value()?;
        let canonical = to_canonical(&bytes).map_err(rets_core::Error::from)?;
        b.scalar(|out| out.extend_from_slice(&canonical))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rets_core::Term;

    fn build(f: impl FnOnce(*mut rets_builder)) -> Vec<u8> {
        let mut b = std::ptr::null_mut();
        assert_eq!(rets_builder_new(&mut b), rets_status::Ok);
        f(b);
        let (mut data, mut len) = (std::ptr::null(), 0);
        assert_eq!(rets_builder_finish(b, &mut data, &mut len), rets_status::Ok);
        // SAFETY: finish returned the builder's bytes, valid until the builder changes.
        let bytes = unsafe { std::slice::from_raw_parts(data, len) }.to_vec();
        rets_builder_free(b);
        bytes
    }

    #[test]
    fn integers_are_canonical_at_every_boundary() {
        let values: [i64; 14] = [
            0,
            1,
            127,
            128,
            255,
            256,
            65535,
            65536,
            -1,
            -32,
            -33,
            -128,
            -129,
            i64::MIN,
        ];
        for v in values
            .into_iter()
            .chain([u32::MAX as i64, u32::MAX as i64 + 1, i64::MAX])
        {
            let bytes = build(|b| assert_eq!(rets_builder_int(b, v), rets_status::Ok));
            assert_eq!(bytes, Term::Int(v).to_msgpack().unwrap(), "{v}");
        }
        for v in [0u64, 200, 70000, 1 << 40, u64::MAX] {
            let bytes = build(|b| assert_eq!(rets_builder_uint(b, v), rets_status::Ok));
            let expected = match i64::try_from(v) {
                Ok(i) => Term::Int(i),
                Err(_) => Term::UInt(v),
            };
            assert_eq!(bytes, expected.to_msgpack().unwrap(), "{v}");
        }
    }

    #[test]
    fn nested_values_match_the_engine_encoding() {
        let long = "x".repeat(300);
        let bytes = build(|b| {
            assert_eq!(rets_builder_array(b, 5), rets_status::Ok);
            assert_eq!(
                rets_builder_str(b, long.as_ptr().cast(), long.len()),
                rets_status::Ok
            );
            assert_eq!(rets_builder_double(b, 1.5), rets_status::Ok);
            assert_eq!(rets_builder_map(b, 1), rets_status::Ok);
            assert_eq!(rets_builder_bool(b, true), rets_status::Ok);
            assert_eq!(rets_builder_nil(b), rets_status::Ok);
            assert_eq!(rets_builder_bin(b, [1u8, 2].as_ptr(), 2), rets_status::Ok);
            assert_eq!(rets_builder_array(b, 0), rets_status::Ok);
        });
        let expected = Term::Array(vec![
            Term::from(long.as_str()),
            Term::Float(1.5),
            Term::Map(vec![(Term::Bool(true), Term::Nil)]),
            Term::bin(vec![1, 2]),
            Term::Array(vec![]),
        ]);
        assert_eq!(bytes, expected.to_msgpack().unwrap());
    }

    #[test]
    fn misuse_is_refused_and_adds_nothing() {
        let mut b = std::ptr::null_mut();
        assert_eq!(rets_builder_new(&mut b), rets_status::Ok);
        let (mut data, mut len) = (std::ptr::null(), 0usize);
        assert_eq!(
            rets_builder_finish(b, &mut data, &mut len),
            rets_status::InvalidArgument
        );
        assert_eq!(rets_builder_array(b, 2), rets_status::Ok);
        assert_eq!(rets_builder_int(b, 1), rets_status::Ok);
        assert_eq!(
            rets_builder_finish(b, &mut data, &mut len),
            rets_status::InvalidArgument
        );
        assert_eq!(
            rets_builder_double(b, f64::NAN),
            rets_status::UnsupportedTerm
        );
        assert_eq!(
            rets_builder_str(b, [0xffu8].as_ptr().cast(), 1),
            rets_status::InvalidArgument
        );
        assert_eq!(
            rets_builder_raw(b, [0x92u8].as_ptr(), 1),
            rets_status::Malformed
        );
        assert_eq!(rets_builder_int(b, 2), rets_status::Ok);
        assert_eq!(rets_builder_int(b, 3), rets_status::InvalidArgument);
        assert_eq!(rets_builder_finish(b, &mut data, &mut len), rets_status::Ok);
        assert_eq!(len, 3);
        assert_eq!(rets_builder_reset(b), rets_status::Ok);
        for _ in 0..limits::MAX_DEPTH {
            assert_eq!(rets_builder_array(b, 1), rets_status::Ok);
        }
        assert_eq!(rets_builder_array(b, 1), rets_status::LimitExceeded);
        rets_builder_free(b);
    }
}
