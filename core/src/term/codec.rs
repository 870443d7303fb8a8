//! MessagePack decoding, validation and canonical encoding. See the module docs of
//! [`crate::term`] for the canonical form and [`super::limits`] for the limits.
//!
//! Everything here is a small hand-written scanner: validation is one iterative pass with an
//! explicit stack bounded by [`MAX_DEPTH`] (no recursion, so no stack overflow on hostile input,
//! and no allocation: lengths claimed by headers are checked against the remaining input first).
//! When that pass finds the input already canonical, canonicalisation is a copy. Otherwise a
//! second pass, recursive but only over input the first pass has proven at most `MAX_DEPTH`
//! deep, rewrites it.

use std::cmp::Ordering;

use super::limits::{MAX_DEPTH, MAX_OBJECT_BYTES};
use super::order::compare_map_keys;
use super::{Term, TermError};

// ---------------------------------------------------------------------------------------------
// Markers
// ---------------------------------------------------------------------------------------------

const NIL: u8 = 0xc0;
const NEVER_USED: u8 = 0xc1;
const FALSE: u8 = 0xc2;
const TRUE: u8 = 0xc3;
const BIN8: u8 = 0xc4;
const BIN16: u8 = 0xc5;
const BIN32: u8 = 0xc6;
const EXT8: u8 = 0xc7;
const EXT32: u8 = 0xc9;
const FLOAT32: u8 = 0xca;
const FLOAT64: u8 = 0xcb;
const UINT8: u8 = 0xcc;
const UINT16: u8 = 0xcd;
const UINT32: u8 = 0xce;
const UINT64: u8 = 0xcf;
const INT8: u8 = 0xd0;
const INT16: u8 = 0xd1;
const INT32: u8 = 0xd2;
const INT64: u8 = 0xd3;
const FIXEXT1: u8 = 0xd4;
const FIXEXT16: u8 = 0xd8;
const STR8: u8 = 0xd9;
const STR16: u8 = 0xda;
const STR32: u8 = 0xdb;
const ARRAY16: u8 = 0xdc;
const ARRAY32: u8 = 0xdd;
const MAP16: u8 = 0xde;
const MAP32: u8 = 0xdf;
const FIXMAP: u8 = 0x80;
const FIXARRAY: u8 = 0x90;
const FIXSTR: u8 = 0xa0;

// ---------------------------------------------------------------------------------------------
// Headers
// ---------------------------------------------------------------------------------------------

/// One MessagePack header, as read by [`read_head`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Head {
    Nil,
    False,
    True,
    /// An integer in the unsigned family (positive fixint, uint 8/16/32/64).
    UInt(u64),
    /// An integer in the signed family (negative fixint, int 8/16/32/64).
    Int(i64),
    F32(f32),
    F64(f64),
    /// A str header; `len` payload bytes follow.
    Str(usize),
    /// A bin header; `len` payload bytes follow.
    Bin(usize),
    /// An array header with this many elements.
    Array(usize),
    /// A map header with this many entries.
    Map(usize),
    /// An ext or fixext marker (its fields are not read).
    Ext,
    /// The never-used marker 0xc1.
    Never,
}

#[inline]
fn be<const N: usize>(buf: &[u8], at: usize) -> Option<[u8; N]> {
    buf.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// Reads the header at `buf[pos..]`: the head and the header's size in bytes (marker and length
/// or value fields, not a str/bin payload). `None` if the header itself is cut short.
#[inline]
pub(super) fn read_head(buf: &[u8], pos: usize) -> Option<(Head, usize)> {
    let m = *buf.get(pos)?;
    let p = pos + 1;
    Some(match m {
        0x00..=0x7f => (Head::UInt(u64::from(m)), 1),
        0x80..=0x8f => (Head::Map(usize::from(m & 0x0f)), 1),
        0x90..=0x9f => (Head::Array(usize::from(m & 0x0f)), 1),
        0xa0..=0xbf => (Head::Str(usize::from(m & 0x1f)), 1),
        NIL => (Head::Nil, 1),
        NEVER_USED => (Head::Never, 1),
        FALSE => (Head::False, 1),
        TRUE => (Head::True, 1),
        BIN8 => (Head::Bin(usize::from(be::<1>(buf, p)?[0])), 2),
        BIN16 => (Head::Bin(usize::from(u16::from_be_bytes(be(buf, p)?))), 3),
        BIN32 => (Head::Bin(u32_len(u32::from_be_bytes(be(buf, p)?))), 5),
        EXT8..=EXT32 | FIXEXT1..=FIXEXT16 => (Head::Ext, 1),
        FLOAT32 => (Head::F32(f32::from_be_bytes(be(buf, p)?)), 5),
        FLOAT64 => (Head::F64(f64::from_be_bytes(be(buf, p)?)), 9),
        UINT8 => (Head::UInt(u64::from(be::<1>(buf, p)?[0])), 2),
        UINT16 => (Head::UInt(u64::from(u16::from_be_bytes(be(buf, p)?))), 3),
        UINT32 => (Head::UInt(u64::from(u32::from_be_bytes(be(buf, p)?))), 5),
        UINT64 => (Head::UInt(u64::from_be_bytes(be(buf, p)?)), 9),
        INT8 => (Head::Int(i64::from(i8::from_be_bytes(be(buf, p)?))), 2),
        INT16 => (Head::Int(i64::from(i16::from_be_bytes(be(buf, p)?))), 3),
        INT32 => (Head::Int(i64::from(i32::from_be_bytes(be(buf, p)?))), 5),
        INT64 => (Head::Int(i64::from_be_bytes(be(buf, p)?)), 9),
        STR8 => (Head::Str(usize::from(be::<1>(buf, p)?[0])), 2),
        STR16 => (Head::Str(usize::from(u16::from_be_bytes(be(buf, p)?))), 3),
        STR32 => (Head::Str(u32_len(u32::from_be_bytes(be(buf, p)?))), 5),
        ARRAY16 => (Head::Array(usize::from(u16::from_be_bytes(be(buf, p)?))), 3),
        ARRAY32 => (Head::Array(u32_len(u32::from_be_bytes(be(buf, p)?))), 5),
        MAP16 => (Head::Map(usize::from(u16::from_be_bytes(be(buf, p)?))), 3),
        MAP32 => (Head::Map(u32_len(u32::from_be_bytes(be(buf, p)?))), 5),
        0xe0..=0xff => (Head::Int(i64::from(m as i8)), 1),
    })
}

/// A 32-bit length as `usize` (saturating on 16-bit targets, where it can never fit anyway).
#[inline]
fn u32_len(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// The end of the value starting at `buf[pos..]`, without validating it beyond what is needed to
/// find its end (iterative: never recurses). `None` if it is cut short or holds ext/0xc1.
pub(super) fn skip_value(buf: &[u8], mut pos: usize) -> Option<usize> {
    let mut pending: usize = 1;
    while pending > 0 {
        let (head, hlen) = read_head(buf, pos)?;
        pos += hlen;
        pending -= 1;
        match head {
            Head::Str(len) | Head::Bin(len) => {
                pos = pos.checked_add(len)?;
                if pos > buf.len() {
                    return None;
                }
            }
            Head::Array(n) => pending = pending.checked_add(n)?,
            Head::Map(n) => pending = pending.checked_add(n.checked_mul(2)?)?,
            Head::Ext | Head::Never => return None,
            _ => {}
        }
    }
    Some(pos)
}

// ---------------------------------------------------------------------------------------------
// Canonical writers
// ---------------------------------------------------------------------------------------------

/// Size of the canonical encoding of a non-negative integer.
#[inline]
fn uint_len(v: u64) -> usize {
    match v {
        0..=0x7f => 1,
        0x80..=0xff => 2,
        0x100..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

/// Size of the canonical encoding of an integer.
#[inline]
fn int_len(v: i64) -> usize {
    if v >= 0 {
        uint_len(v as u64)
    } else if v >= -32 {
        1
    } else if v >= i64::from(i8::MIN) {
        2
    } else if v >= i64::from(i16::MIN) {
        3
    } else if v >= i64::from(i32::MIN) {
        5
    } else {
        9
    }
}

/// Size of the canonical header of a str of `len` bytes.
#[inline]
fn str_header_len(len: usize) -> usize {
    match len {
        0..=31 => 1,
        32..=0xff => 2,
        0x100..=0xffff => 3,
        _ => 5,
    }
}

/// Size of the canonical header of a bin of `len` bytes.
#[inline]
fn bin_header_len(len: usize) -> usize {
    match len {
        0..=0xff => 2,
        0x100..=0xffff => 3,
        _ => 5,
    }
}

/// Size of the canonical header of an array or map of `n` elements or entries.
#[inline]
fn container_header_len(n: usize) -> usize {
    match n {
        0..=15 => 1,
        16..=0xffff => 3,
        _ => 5,
    }
}

fn write_uint(v: u64, out: &mut Vec<u8>) {
    if v <= 0x7f {
        out.push(v as u8);
    } else if v <= 0xff {
        out.extend_from_slice(&[UINT8, v as u8]);
    } else if v <= 0xffff {
        out.push(UINT16);
        out.extend_from_slice(&(v as u16).to_be_bytes());
    } else if v <= 0xffff_ffff {
        out.push(UINT32);
        out.extend_from_slice(&(v as u32).to_be_bytes());
    } else {
        out.push(UINT64);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

fn write_i64(v: i64, out: &mut Vec<u8>) {
    if v >= 0 {
        write_uint(v as u64, out);
    } else if v >= -32 {
        out.push(v as u8);
    } else if v >= i64::from(i8::MIN) {
        out.extend_from_slice(&[INT8, v as u8]);
    } else if v >= i64::from(i16::MIN) {
        out.push(INT16);
        out.extend_from_slice(&(v as i16).to_be_bytes());
    } else if v >= i64::from(i32::MIN) {
        out.push(INT32);
        out.extend_from_slice(&(v as i32).to_be_bytes());
    } else {
        out.push(INT64);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

fn write_f64(v: f64, out: &mut Vec<u8>) {
    out.push(FLOAT64);
    out.extend_from_slice(&v.to_be_bytes());
}

/// Writes a length header: `fix` (the fix-form marker, or `None` if the kind has none) holds
/// lengths up to `fix_max`; then the 8-bit form (if `m8` is given), 16-bit and 32-bit forms.
/// `len` must be at most `u32::MAX`.
#[inline]
fn write_len_header(
    len: usize,
    fix: Option<(u8, usize)>,
    m8: Option<u8>,
    m16: u8,
    m32: u8,
    out: &mut Vec<u8>,
) {
    match fix {
        Some((marker, max)) if len <= max => out.push(marker | len as u8),
        _ => match m8 {
            Some(m) if len <= 0xff => out.extend_from_slice(&[m, len as u8]),
            _ if len <= 0xffff => {
                out.push(m16);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                debug_assert!(len <= u32::MAX as usize);
                out.push(m32);
                out.extend_from_slice(&(len as u32).to_be_bytes());
            }
        },
    }
}

fn write_str_header(len: usize, out: &mut Vec<u8>) {
    write_len_header(len, Some((FIXSTR, 31)), Some(STR8), STR16, STR32, out);
}

fn write_bin_header(len: usize, out: &mut Vec<u8>) {
    write_len_header(len, None, Some(BIN8), BIN16, BIN32, out);
}

fn write_map_header(len: usize, out: &mut Vec<u8>) {
    write_len_header(len, Some((FIXMAP, 15)), None, MAP16, MAP32, out);
}

// ---------------------------------------------------------------------------------------------
// Map entry sorting (shared by `encode` and the rewriting pass of `canonicalize`)
// ---------------------------------------------------------------------------------------------

/// One map entry already written in canonical form into the output buffer.
struct Entry {
    key_start: usize,
    key_end: usize,
    end: usize,
    /// Where the entry came from, for the error offset of a duplicate.
    origin: usize,
}

/// Sorts the entries of one map, written back to back in `out`, into map-key order, in place.
/// On a duplicate key returns the larger `origin` of the two duplicates.
fn sort_entries(out: &mut [u8], entries: &mut [Entry]) -> Result<(), usize> {
    let (Some(first), Some(last)) = (entries.first(), entries.last()) else {
        return Ok(());
    };
    let region = first.key_start..last.end;
    let buf: &[u8] = out;
    let key = |e: &Entry| &buf[e.key_start..e.key_end];
    let mut sorted = true;
    for w in entries.windows(2) {
        match compare_map_keys(key(&w[0]), key(&w[1])) {
            Ordering::Less => {}
            Ordering::Equal => return Err(w[0].origin.max(w[1].origin)),
            Ordering::Greater => {
                sorted = false;
                break;
            }
        }
    }
    if sorted {
        return Ok(());
    }
    entries.sort_unstable_by(|a, b| compare_map_keys(key(a), key(b)));
    for w in entries.windows(2) {
        if compare_map_keys(key(&w[0]), key(&w[1])) == Ordering::Equal {
            return Err(w[0].origin.max(w[1].origin));
        }
    }
    let mut tmp = Vec::with_capacity(region.len());
    for e in entries.iter() {
        tmp.extend_from_slice(&buf[e.key_start..e.end]);
    }
    out[region].copy_from_slice(&tmp);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// encode
// ---------------------------------------------------------------------------------------------

/// Encodes `term` canonically, appending to `out`. On error `out` is left as it was.
/// Errors: NaN, depth over `MAX_DEPTH`, duplicate map key.
///
/// Error offsets are relative to where the encoding starts in `out`: for NaN the float's
/// position, for a duplicate key the position of the map's header. A str, bin, array or map too
/// long for MessagePack (over `u32::MAX` bytes or elements) is `TooLarge`. The size limit
/// [`super::limits::MAX_OBJECT_BYTES`] is *not* applied here (it applies to stored objects).
pub fn encode(term: &Term, out: &mut Vec<u8>) -> Result<(), TermError> {
    let base = out.len();
    let result = encode_at(term, out, 0, base);
    if result.is_err() {
        out.truncate(base);
    }
    result
}

fn check_len(what: &'static str, len: usize) -> Result<(), TermError> {
    if len > u32::MAX as usize {
        return Err(TermError::TooLarge {
            what,
            size: len,
            limit: u32::MAX as usize,
        });
    }
    Ok(())
}

/// `depth` is the number of containers around `term`.
fn encode_at(term: &Term, out: &mut Vec<u8>, depth: usize, base: usize) -> Result<(), TermError> {
    match term {
        Term::Nil => out.push(NIL),
        Term::Bool(false) => out.push(FALSE),
        Term::Bool(true) => out.push(TRUE),
        Term::Int(v) => write_i64(*v, out),
        Term::UInt(v) => write_uint(*v, out),
        Term::Float(v) => {
            if v.is_nan() {
                return Err(TermError::NaN {
                    offset: out.len() - base,
                });
            }
            write_f64(*v, out);
        }
        Term::Str(s) => {
            check_len("str", s.len())?;
            write_str_header(s.len(), out);
            out.extend_from_slice(s.as_bytes());
        }
        Term::Bin(b) => {
            check_len("bin", b.len())?;
            write_bin_header(b.len(), out);
            out.extend_from_slice(b);
        }
        Term::Array(items) => {
            if depth >= MAX_DEPTH {
                return Err(TermError::TooDeep { limit: MAX_DEPTH });
            }
            check_len("array", items.len())?;
            write_array_header(items.len(), out);
            for item in items {
                encode_at(item, out, depth + 1, base)?;
            }
        }
        Term::Map(pairs) => {
            if depth >= MAX_DEPTH {
                return Err(TermError::TooDeep { limit: MAX_DEPTH });
            }
            check_len("map", pairs.len())?;
            let map_offset = out.len() - base;
            write_map_header(pairs.len(), out);
            let mut entries = Vec::with_capacity(pairs.len());
            for (k, v) in pairs {
                let key_start = out.len();
                encode_at(k, out, depth + 1, base)?;
                let key_end = out.len();
                encode_at(v, out, depth + 1, base)?;
                entries.push(Entry {
                    key_start,
                    key_end,
                    end: out.len(),
                    origin: map_offset,
                });
            }
            sort_entries(out, &mut entries)
                .map_err(|offset| TermError::DuplicateMapKey { offset })?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Validation scan
// ---------------------------------------------------------------------------------------------

/// An open container during the scan.
#[derive(Clone, Copy)]
struct Frame {
    /// Items still to read (a map has two per entry).
    remaining: usize,
    is_map: bool,
    /// Start of the key being read (maps only).
    key_start: usize,
    /// The previous key of this map, while everything scanned so far is canonical.
    prev_key: Option<(usize, usize)>,
}

const EMPTY_FRAME: Frame = Frame {
    remaining: 0,
    is_map: false,
    key_start: 0,
    prev_key: None,
};

/// What the scan found about a valid input.
struct ScanInfo {
    /// The input is already in canonical form, byte for byte.
    canonical: bool,
    /// Size of the canonical encoding.
    size: usize,
}

/// Validates `input` as exactly one term, without recursion or allocation. Every error except
/// duplicate map keys that are only equal after canonicalisation is found here.
fn scan(input: &[u8]) -> Result<ScanInfo, TermError> {
    let mut stack = [EMPTY_FRAME; MAX_DEPTH];
    let mut depth = 0usize;
    let mut pos = 0usize;
    let mut canonical = true;
    let mut size = 0usize;
    'values: loop {
        if depth > 0 {
            let f = &mut stack[depth - 1];
            if f.is_map && f.remaining % 2 == 0 {
                f.key_start = pos;
            }
        }
        let start = pos;
        let (head, hlen) = read_head(input, pos).ok_or(TermError::Truncated { offset: start })?;
        pos += hlen;
        let avail = input.len() - pos;
        match head {
            Head::Nil | Head::False | Head::True => size += 1,
            Head::Never => {
                return Err(TermError::InvalidMarker {
                    byte: NEVER_USED,
                    offset: start,
                })
            }
            Head::Ext => return Err(TermError::ExtUnsupported { offset: start }),
            Head::UInt(v) => {
                let c = uint_len(v);
                canonical &= c == hlen;
                size += c;
            }
            Head::Int(v) => {
                let c = int_len(v);
                canonical &= v < 0 && c == hlen;
                size += c;
            }
            Head::F32(v) => {
                if v.is_nan() {
                    return Err(TermError::NaN { offset: start });
                }
                canonical = false;
                size += 9;
            }
            Head::F64(v) => {
                if v.is_nan() {
                    return Err(TermError::NaN { offset: start });
                }
                size += 9;
            }
            Head::Str(len) => {
                if len > avail {
                    return Err(TermError::Truncated { offset: start });
                }
                if std::str::from_utf8(&input[pos..pos + len]).is_err() {
                    return Err(TermError::InvalidUtf8 { offset: start });
                }
                let c = str_header_len(len);
                canonical &= c == hlen;
                size += c + len;
                pos += len;
            }
            Head::Bin(len) => {
                if len > avail {
                    return Err(TermError::Truncated { offset: start });
                }
                let c = bin_header_len(len);
                canonical &= c == hlen;
                size += c + len;
                pos += len;
            }
            Head::Array(n) | Head::Map(n) => {
                let is_map = matches!(head, Head::Map(_));
                // Every item takes at least one byte: check the claim before going on.
                let items = if is_map { n.checked_mul(2) } else { Some(n) };
                match items {
                    Some(items) if items <= avail => {
                        if depth == MAX_DEPTH {
                            return Err(TermError::TooDeep { limit: MAX_DEPTH });
                        }
                        let c = container_header_len(n);
                        canonical &= c == hlen;
                        size += c;
                        if items > 0 {
                            stack[depth] = Frame {
                                remaining: items,
                                is_map,
                                key_start: 0,
                                prev_key: None,
                            };
                            depth += 1;
                            continue 'values;
                        }
                    }
                    _ => return Err(TermError::Truncated { offset: start }),
                }
            }
        }
        // A value is complete: close every container it completes.
        loop {
            if depth == 0 {
                break 'values;
            }
            let f = &mut stack[depth - 1];
            f.remaining -= 1;
            if f.is_map && f.remaining % 2 == 1 && canonical {
                // A key just ended, and everything so far is canonical, so keys compare.
                let key = (f.key_start, pos);
                if let Some((ps, pe)) = f.prev_key {
                    match compare_map_keys(&input[ps..pe], &input[key.0..key.1]) {
                        Ordering::Less => {}
                        Ordering::Equal => {
                            return Err(TermError::DuplicateMapKey { offset: key.0 })
                        }
                        Ordering::Greater => canonical = false,
                    }
                }
                f.prev_key = Some(key);
            }
            if f.remaining > 0 {
                continue 'values;
            }
            depth -= 1;
        }
    }
    if pos != input.len() {
        return Err(TermError::TrailingBytes {
            offset: pos,
            extra: input.len() - pos,
        });
    }
    if size > MAX_OBJECT_BYTES {
        return Err(TermError::TooLarge {
            what: "term",
            size,
            limit: MAX_OBJECT_BYTES,
        });
    }
    Ok(ScanInfo { canonical, size })
}

/// Rewrites the value at `input[pos..]` (already validated by [`scan`], so at most `MAX_DEPTH`
/// deep) canonically into `out`; returns the end of the value in `input`. The only error left to
/// find is a duplicate map key.
fn rewrite(input: &[u8], pos: usize, out: &mut Vec<u8>) -> Result<usize, TermError> {
    let (head, hlen) = read_head(input, pos).ok_or(TermError::Truncated { offset: pos })?;
    let mut p = pos + hlen;
    match head {
        Head::Nil => out.push(NIL),
        Head::False => out.push(FALSE),
        Head::True => out.push(TRUE),
        Head::UInt(v) => write_uint(v, out),
        Head::Int(v) => write_i64(v, out),
        Head::F32(v) => write_f64(f64::from(v), out),
        Head::F64(v) => write_f64(v, out),
        Head::Str(len) => {
            write_str_header(len, out);
            out.extend_from_slice(&input[p..p + len]);
            p += len;
        }
        Head::Bin(len) => {
            write_bin_header(len, out);
            out.extend_from_slice(&input[p..p + len]);
            p += len;
        }
        Head::Array(n) => {
            write_array_header(n, out);
            for _ in 0..n {
                p = rewrite(input, p, out)?;
            }
        }
        Head::Map(n) => {
            write_map_header(n, out);
            let mut entries = Vec::with_capacity(n);
            for _ in 0..n {
                let origin = p;
                let key_start = out.len();
                p = rewrite(input, p, out)?;
                let key_end = out.len();
                p = rewrite(input, p, out)?;
                entries.push(Entry {
                    key_start,
                    key_end,
                    end: out.len(),
                    origin,
                });
            }
            sort_entries(out, &mut entries)
                .map_err(|offset| TermError::DuplicateMapKey { offset })?;
        }
        Head::Ext => return Err(TermError::ExtUnsupported { offset: pos }),
        Head::Never => {
            return Err(TermError::InvalidMarker {
                byte: NEVER_USED,
                offset: pos,
            })
        }
    }
    Ok(p)
}

/// Validates that `input` is exactly one MessagePack value and appends its canonical encoding to
/// `out`. On error `out` is left as it was. Errors: every [`TermError`] variant that applies;
/// total encoded size over `MAX_OBJECT_BYTES` is `TooLarge { what: "term", .. }`.
///
/// Error offsets are byte offsets into `input`. For an input already in canonical form this is
/// one validating pass and a copy.
pub fn canonicalize(input: &[u8], out: &mut Vec<u8>) -> Result<(), TermError> {
    let info = scan(input)?;
    if info.canonical {
        out.extend_from_slice(input);
        return Ok(());
    }
    let base = out.len();
    out.reserve(info.size);
    match rewrite(input, 0, out) {
        Ok(_) => {
            debug_assert_eq!(out.len() - base, info.size);
            Ok(())
        }
        Err(e) => {
            out.truncate(base);
            Err(e)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// decode
// ---------------------------------------------------------------------------------------------

/// Decodes exactly one MessagePack value (any conforming encoding, not only canonical).
///
/// Validation is the same as [`canonicalize`]'s (including the size limit and duplicate keys
/// after canonicalisation). Integers in `i64` range decode to [`Term::Int`], larger ones to
/// [`Term::UInt`]; float 32 widens to [`Term::Float`]; map entries come out in map-key order.
pub fn decode(input: &[u8]) -> Result<Term, TermError> {
    let info = scan(input)?;
    let canonical;
    let bytes = if info.canonical {
        input
    } else {
        let mut buf = Vec::with_capacity(info.size);
        rewrite(input, 0, &mut buf)?;
        canonical = buf;
        &canonical[..]
    };
    let mut pos = 0;
    build(bytes, &mut pos).ok_or(TermError::Truncated { offset: pos })
}

/// Builds the term at `buf[*pos..]` (validated, so at most `MAX_DEPTH` deep).
fn build(buf: &[u8], pos: &mut usize) -> Option<Term> {
    let (head, hlen) = read_head(buf, *pos)?;
    *pos += hlen;
    Some(match head {
        Head::Nil => Term::Nil,
        Head::False => Term::Bool(false),
        Head::True => Term::Bool(true),
        Head::UInt(v) => match i64::try_from(v) {
            Ok(i) => Term::Int(i),
            Err(_) => Term::UInt(v),
        },
        Head::Int(v) => Term::Int(v),
        Head::F32(v) => Term::Float(f64::from(v)),
        Head::F64(v) => Term::Float(v),
        Head::Str(len) => {
            let bytes = buf.get(*pos..*pos + len)?;
            *pos += len;
            Term::Str(String::from_utf8(bytes.to_vec()).ok()?)
        }
        Head::Bin(len) => {
            let bytes = buf.get(*pos..*pos + len)?;
            *pos += len;
            Term::Bin(bytes.to_vec())
        }
        Head::Array(n) => {
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(build(buf, pos)?);
            }
            Term::Array(items)
        }
        Head::Map(n) => {
            let mut pairs = Vec::with_capacity(n);
            for _ in 0..n {
                let k = build(buf, pos)?;
                let v = build(buf, pos)?;
                pairs.push((k, v));
            }
            Term::Map(pairs)
        }
        Head::Ext | Head::Never => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// Helpers for the table layer
// ---------------------------------------------------------------------------------------------

/// Iterator over the encoded elements of a canonical array (see [`ArrayElements::new`]).
#[derive(Clone)]
pub struct ArrayElements<'a> {
    rest: &'a [u8],
    remaining: usize,
}

impl<'a> ArrayElements<'a> {
    /// Iterates the elements of `canonical`, which must be a canonical, validated array
    /// (returns `None` if it is not an array). Each item is the element's encoded bytes.
    ///
    /// On input that is not valid after all, iteration stops early (it never panics).
    pub fn new(canonical: &'a [u8]) -> Option<ArrayElements<'a>> {
        match read_head(canonical, 0)? {
            (Head::Array(n), hlen) => Some(ArrayElements {
                rest: &canonical[hlen..],
                remaining: n,
            }),
            _ => None,
        }
    }

    /// Number of elements not yet returned.
    pub fn len(&self) -> usize {
        self.remaining
    }

    /// Whether every element has been returned.
    pub fn is_empty(&self) -> bool {
        self.remaining == 0
    }
}

impl<'a> Iterator for ArrayElements<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.remaining == 0 {
            return None;
        }
        match skip_value(self.rest, 0) {
            Some(end) => {
                let (item, rest) = self.rest.split_at(end);
                self.rest = rest;
                self.remaining -= 1;
                Some(item)
            }
            None => {
                self.remaining = 0;
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining))
    }
}

impl std::iter::FusedIterator for ArrayElements<'_> {}

/// The integer in a canonical encoded term, if it is an integer (i64 or u64 range, as i128).
/// `canonical` must be exactly one encoded value (e.g. an item of [`ArrayElements`]); any
/// integer encoding is accepted.
pub(crate) fn read_int(canonical: &[u8]) -> Option<i128> {
    match read_head(canonical, 0)? {
        (Head::UInt(v), len) if len == canonical.len() => Some(i128::from(v)),
        (Head::Int(v), len) if len == canonical.len() => Some(i128::from(v)),
        _ => None,
    }
}

/// Appends the canonical encoding of an integer. `v` must be in `i64::MIN..=u64::MAX`.
///
/// # Panics
/// If `v` is outside that range (a caller bug: range-check results first).
pub(crate) fn write_int(v: i128, out: &mut Vec<u8>) {
    if v >= 0 {
        write_uint(u64::try_from(v).expect("write_int: integer above u64::MAX"), out);
    } else {
        write_i64(i64::try_from(v).expect("write_int: integer below i64::MIN"), out);
    }
}

/// Appends the canonical header of an array of `len` elements. `len` must be at most
/// `u32::MAX`.
pub(crate) fn write_array_header(len: usize, out: &mut Vec<u8>) {
    write_len_header(len, Some((FIXARRAY, 15)), None, ARRAY16, ARRAY32, out);
}
