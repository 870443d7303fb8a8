//! MessagePack decoding, validation and canonical encoding. See the module docs of
//! [`crate::term`] for the canonical form and [`super::limits`] for the limits.
//!
//! Everything here is a small hand-written scanner: validation is one iterative pass with an
//! explicit stack bounded by [`MAX_DEPTH`] (no recursion, so no stack overflow on hostile input;
//! no allocation below 16 levels of nesting, and never any sized by a length a header claims:
//! claimed lengths are checked against the remaining input first).
//! When that pass finds the input already canonical, canonicalisation is a copy. Otherwise a
//! second pass, recursive but only over input the first pass has proven at most `MAX_DEPTH`
//! deep, rewrites it.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::atom::{self, ATOM_EXT};
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
const EXT16: u8 = 0xc8;
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
    /// An ext or fixext header of this ext type; `len` payload bytes follow. Only
    /// [`ATOM_EXT`] is a term; every other type is rejected.
    Ext {
        ty: i8,
        len: usize,
    },
    /// The never-used marker 0xc1.
    Never,
}

#[inline]
fn be<const N: usize>(buf: &[u8], at: usize) -> Option<[u8; N]> {
    buf.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// Reads the header at `buf[pos..]`: the head and the header's size in bytes (marker and length
/// or value fields, not a str/bin payload). `None` if the header itself is cut short.
#[inline(always)]
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
        EXT8 => {
            let [len, ty] = be::<2>(buf, p)?;
            (
                Head::Ext {
                    ty: ty as i8,
                    len: usize::from(len),
                },
                3,
            )
        }
        EXT16 => {
            let [l0, l1, ty] = be::<3>(buf, p)?;
            let len = usize::from(u16::from_be_bytes([l0, l1]));
            (Head::Ext { ty: ty as i8, len }, 4)
        }
        EXT32 => {
            let [l0, l1, l2, l3, ty] = be::<5>(buf, p)?;
            let len = u32_len(u32::from_be_bytes([l0, l1, l2, l3]));
            (Head::Ext { ty: ty as i8, len }, 6)
        }
        FIXEXT1..=FIXEXT16 => {
            let ty = be::<1>(buf, p)?[0] as i8;
            (
                Head::Ext {
                    ty,
                    len: 1 << (m - FIXEXT1),
                },
                2,
            )
        }
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
#[inline]
pub(super) fn skip_value(buf: &[u8], pos: usize) -> Option<usize> {
    // Scalars of a fixed size and short strings (most elements and keys) without the general
    // loop, which costs such an element about 60 instructions.
    let size = match *buf.get(pos)? {
        0x00..=0x7f | 0xe0..=0xff | NIL | FALSE | TRUE => 1,
        m @ 0xa0..=0xbf => 1 + usize::from(m & 0x1f),
        0xcc | 0xd0 => 2,
        0xcd | 0xd1 => 3,
        0xca | 0xce | 0xd2 => 5,
        0xcb | 0xcf | 0xd3 => 9,
        _ => return skip_values(buf, pos),
    };
    let end = pos + size;
    (end <= buf.len()).then_some(end)
}

/// [`skip_value`]'s general case: containers, and everything else it does not settle itself.
fn skip_values(buf: &[u8], mut pos: usize) -> Option<usize> {
    let mut pending: usize = 1;
    while pending > 0 {
        let (head, hlen) = read_head(buf, pos)?;
        pos += hlen;
        pending -= 1;
        match head {
            Head::Str(len) | Head::Bin(len) | Head::Ext { ty: ATOM_EXT, len } => {
                pos = pos.checked_add(len)?;
                if pos > buf.len() {
                    return None;
                }
            }
            Head::Array(n) => pending = pending.checked_add(n)?,
            Head::Map(n) => pending = pending.checked_add(n.checked_mul(2)?)?,
            Head::Ext { .. } | Head::Never => return None,
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
        Term::Atom(name) => {
            atom::check_name(name.len())?;
            atom::write(name.as_bytes(), out);
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
    /// Start of the key being read (maps only).
    key_start: usize,
    /// The previous key of this map (`start..end`), kept while everything scanned so far is
    /// canonical; `end == 0` when there is none (a key never ends at offset 0).
    prev_key: (usize, usize),
    is_map: bool,
}

/// Open containers kept inline by the scan; deeper ones go to a `Vec`, so that the common case
/// neither allocates nor initialises a `MAX_DEPTH`-sized array.
const INLINE_FRAMES: usize = 8;

/// The scan's stack of open containers.
struct Stack {
    inline: [Frame; INLINE_FRAMES],
    spill: Vec<Frame>,
    len: usize,
}

impl Stack {
    fn new() -> Stack {
        let empty = Frame {
            remaining: 0,
            key_start: 0,
            prev_key: (0, 0),
            is_map: false,
        };
        Stack {
            inline: [empty; INLINE_FRAMES],
            spill: Vec::new(),
            len: 0,
        }
    }

    #[inline]
    fn push(&mut self, frame: Frame) {
        if self.len < INLINE_FRAMES {
            self.inline[self.len] = frame;
        } else {
            self.spill.push(frame);
        }
        self.len += 1;
    }

    #[inline]
    fn top(&mut self) -> Option<&mut Frame> {
        match self.len {
            0 => None,
            n if n <= INLINE_FRAMES => Some(&mut self.inline[n - 1]),
            _ => self.spill.last_mut(),
        }
    }

    #[inline]
    fn pop(&mut self) {
        if self.len > INLINE_FRAMES {
            self.spill.pop();
        }
        self.len -= 1;
    }
}

/// Whether `bytes` are UTF-8. Short ASCII strings (most keys and atoms) are settled by a byte
/// loop: `str::from_utf8`'s own setup costs about 36 instructions for a one-byte string.
#[inline]
fn is_utf8(bytes: &[u8]) -> bool {
    (bytes.len() <= 16 && bytes.iter().all(|&b| b < 0x80)) || std::str::from_utf8(bytes).is_ok()
}

/// What the scan found about a valid input.
struct ScanInfo {
    /// The input is already in canonical form, byte for byte.
    canonical: bool,
    /// Size of the canonical encoding.
    size: usize,
}

/// Arrays the plain scan keeps open before it hands over to the general one.
const PLAIN_DEPTH: usize = 8;

/// Validates `input` as exactly one term, without recursion. Every error except duplicate map
/// keys that are only equal after canonicalisation is found here.
///
/// Most objects are arrays of integers, strings and binaries, already canonical: a plain loop
/// settles those, keeping only a count per open array, and hands over to the general scan at
/// the first value it does not settle (a map, an atom, a float in 32 bits, a non-canonical
/// encoding, an error), with the arrays it has open and everything before that value canonical.
/// For such an object the general scan's frames, size sums and map checks cost about three
/// times the plain loop.
fn scan(input: &[u8]) -> Result<ScanInfo, TermError> {
    let mut open = [0u32; PLAIN_DEPTH];
    let mut depth = 0;
    let mut pos = 0;
    'values: loop {
        let start = pos;
        let Some((head, hlen)) = read_head(input, pos) else {
            return scan_general(input, start, &open[..depth]);
        };
        pos += hlen;
        let settled = match head {
            Head::Nil | Head::False | Head::True => true,
            Head::UInt(v) => uint_len(v) == hlen,
            Head::Int(v) => v < 0 && int_len(v) == hlen,
            Head::F64(v) => !v.is_nan(),
            Head::Str(len) => match input.get(pos..pos.wrapping_add(len)) {
                Some(bytes) if str_header_len(len) == hlen && is_utf8(bytes) => {
                    pos += len;
                    true
                }
                _ => false,
            },
            Head::Bin(len) if pos.checked_add(len).is_some_and(|end| end <= input.len()) => {
                pos += len;
                bin_header_len(len) == hlen
            }
            // Each item takes at least a byte: a longer claim is the general scan's error.
            Head::Array(n)
                if n > 0
                    && depth < PLAIN_DEPTH
                    && n <= input.len() - pos
                    && container_header_len(n) == hlen =>
            {
                open[depth] = n as u32;
                depth += 1;
                continue 'values;
            }
            Head::Array(0) => hlen == 1,
            _ => false,
        };
        if !settled {
            return scan_general(input, start, &open[..depth]);
        }
        // A value is complete: close every array it completes.
        loop {
            let Some(last) = depth.checked_sub(1) else {
                if pos != input.len() || pos > MAX_OBJECT_BYTES {
                    // The general scan's errors, from the start.
                    return scan_general(input, 0, &[]);
                }
                return Ok(ScanInfo {
                    canonical: true,
                    size: pos,
                });
            };
            open[last] -= 1;
            if open[last] > 0 {
                continue 'values;
            }
            depth = last;
        }
    }
}

/// [`scan`] in general, from the value at `start`, inside the arrays `open` (items still to
/// read in each, outermost first), everything before `start` canonical.
fn scan_general(input: &[u8], start: usize, open: &[u32]) -> Result<ScanInfo, TermError> {
    let mut stack = Stack::new();
    for &remaining in open {
        stack.push(Frame {
            remaining: remaining as usize,
            key_start: 0,
            prev_key: (0, 0),
            is_map: false,
        });
    }
    let mut pos = start;
    let mut canonical = true;
    let mut size = start;
    'values: loop {
        if let Some(f) = stack.top() {
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
            Head::Ext { ty: ATOM_EXT, len } => {
                if len > avail {
                    return Err(TermError::Truncated { offset: start });
                }
                atom::check_name(len)?;
                let name = &input[pos..pos + len];
                if !is_utf8(name) {
                    return Err(TermError::InvalidUtf8 { offset: start });
                }
                if atom::special_marker(name).is_some() {
                    canonical = false;
                    size += 1;
                } else {
                    let c = atom::header_len(len);
                    canonical &= c == hlen;
                    size += c + len;
                }
                pos += len;
            }
            Head::Ext { .. } => return Err(TermError::ExtUnsupported { offset: start }),
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
                if !is_utf8(&input[pos..pos + len]) {
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
                        if stack.len == MAX_DEPTH {
                            return Err(TermError::TooDeep { limit: MAX_DEPTH });
                        }
                        let c = container_header_len(n);
                        canonical &= c == hlen;
                        size += c;
                        if items > 0 {
                            stack.push(Frame {
                                remaining: items,
                                key_start: 0,
                                prev_key: (0, 0),
                                is_map,
                            });
                            continue 'values;
                        }
                    }
                    _ => return Err(TermError::Truncated { offset: start }),
                }
            }
        }
        // A value is complete: close every container it completes.
        loop {
            let Some(f) = stack.top() else {
                break 'values;
            };
            f.remaining -= 1;
            if f.is_map && f.remaining % 2 == 1 && canonical {
                // A key just ended, and everything so far is canonical, so keys compare.
                let key = (f.key_start, pos);
                let (ps, pe) = f.prev_key;
                if pe != 0 {
                    match compare_map_keys(&input[ps..pe], &input[key.0..key.1]) {
                        Ordering::Less => {}
                        Ordering::Equal => {
                            return Err(TermError::DuplicateMapKey { offset: key.0 })
                        }
                        Ordering::Greater => canonical = false,
                    }
                }
                f.prev_key = key;
            }
            if f.remaining > 0 {
                continue 'values;
            }
            stack.pop();
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

/// [`scan`] and the general scan alone on the same input, for the property test that they agree:
/// `(canonical, size)` or the error, from each.
#[cfg(test)]
#[allow(clippy::type_complexity)]
pub(super) fn scan_both(
    input: &[u8],
) -> (
    Result<(bool, usize), TermError>,
    Result<(bool, usize), TermError>,
) {
    let info = |r: Result<ScanInfo, TermError>| r.map(|i| (i.canonical, i.size));
    (info(scan(input)), info(scan_general(input, 0, &[])))
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
        Head::Ext { ty: ATOM_EXT, len } => {
            atom::write(&input[p..p + len], out);
            p += len;
        }
        Head::Ext { .. } => return Err(TermError::ExtUnsupported { offset: pos }),
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

/// Validates that `input` is exactly one MessagePack value and returns its canonical encoding:
/// `input` itself, borrowed, when it is already canonical (no allocation), or a canonical copy.
/// Errors are those of [`canonicalize`].
pub fn to_canonical(input: &[u8]) -> Result<Cow<'_, [u8]>, TermError> {
    let info = scan(input)?;
    if info.canonical {
        return Ok(Cow::Borrowed(input));
    }
    let mut out = Vec::with_capacity(info.size);
    rewrite(input, 0, &mut out)?;
    Ok(Cow::Owned(out))
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

/// Decodes a canonical, validated term (a stored object or key) without validating it again.
/// `None` if it is not one after all (never a panic).
pub(crate) fn decode_canonical(canonical: &[u8]) -> Option<Term> {
    let mut pos = 0;
    let term = build_checked(canonical, &mut pos, 0)?;
    (pos == canonical.len()).then_some(term)
}

/// [`build`] with a depth check, for input that was validated elsewhere.
fn build_checked(buf: &[u8], pos: &mut usize, depth: usize) -> Option<Term> {
    if depth > MAX_DEPTH {
        return None;
    }
    let (head, hlen) = read_head(buf, *pos)?;
    match head {
        Head::Array(n) => {
            *pos += hlen;
            let mut items = Vec::with_capacity(n.min(buf.len()));
            for _ in 0..n {
                items.push(build_checked(buf, pos, depth + 1)?);
            }
            Some(Term::Array(items))
        }
        Head::Map(n) => {
            *pos += hlen;
            let mut pairs = Vec::with_capacity(n.min(buf.len()));
            for _ in 0..n {
                let k = build_checked(buf, pos, depth + 1)?;
                let v = build_checked(buf, pos, depth + 1)?;
                pairs.push((k, v));
            }
            Some(Term::Map(pairs))
        }
        _ => build(buf, pos),
    }
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
            let bytes = buf.get(*pos..pos.checked_add(len)?)?;
            *pos += len;
            Term::Str(String::from_utf8(bytes.to_vec()).ok()?)
        }
        Head::Bin(len) => {
            let bytes = buf.get(*pos..pos.checked_add(len)?)?;
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
        Head::Ext { ty: ATOM_EXT, len } => {
            let bytes = buf.get(*pos..pos.checked_add(len)?)?;
            *pos += len;
            Term::atom(std::str::from_utf8(bytes).ok()?)
        }
        Head::Ext { .. } | Head::Never => return None,
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
    #[inline]
    pub fn new(canonical: &'a [u8]) -> Option<ArrayElements<'a>> {
        // A tuple of up to 15 elements, the usual object, read without the general header.
        if let Some(&m @ 0x90..=0x9f) = canonical.first() {
            return Some(ArrayElements {
                rest: &canonical[1..],
                remaining: usize::from(m & 0x0f),
            });
        }
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

/// Appends the canonical encoding of an integer. `v` must be in `i64::MIN..=u64::MAX`. (The
/// tests' reference for [`write_int_to`], which the library uses.)
///
/// # Panics
/// If `v` is outside that range (a caller bug: range-check results first).
#[cfg(test)]
pub(crate) fn write_int(v: i128, out: &mut Vec<u8>) {
    if v >= 0 {
        write_uint(
            u64::try_from(v).expect("write_int: integer above u64::MAX"),
            out,
        );
    } else {
        write_i64(
            i64::try_from(v).expect("write_int: integer below i64::MIN"),
            out,
        );
    }
}

/// Writes the canonical encoding of `v` (within `i64::MIN..=u64::MAX`) into `out` without
/// allocating, and returns its length: the same bytes as [`write_int`].
pub(crate) fn write_int_to(v: i128, out: &mut [u8; 9]) -> usize {
    if v >= 0 {
        write_u64_to(
            u64::try_from(v).expect("write_int_to: integer above u64::MAX"),
            out,
        )
    } else {
        write_i64_to(
            i64::try_from(v).expect("write_int_to: integer below i64::MIN"),
            out,
        )
    }
}

fn put_be(out: &mut [u8; 9], marker: u8, be: &[u8]) -> usize {
    out[0] = marker;
    out[1..=be.len()].copy_from_slice(be);
    1 + be.len()
}

/// [`write_int_to`] for a `u64`, in 64-bit arithmetic (integer keys take this path on every
/// lookup).
#[inline]
pub(crate) fn write_u64_to(v: u64, out: &mut [u8; 9]) -> usize {
    if v <= 0x7f {
        out[0] = v as u8;
        1
    } else if v <= 0xff {
        put_be(out, UINT8, &[v as u8])
    } else if v <= 0xffff {
        put_be(out, UINT16, &(v as u16).to_be_bytes())
    } else if v <= 0xffff_ffff {
        put_be(out, UINT32, &(v as u32).to_be_bytes())
    } else {
        put_be(out, UINT64, &v.to_be_bytes())
    }
}

/// [`write_int_to`] for an `i64`, in 64-bit arithmetic.
#[inline]
pub(crate) fn write_i64_to(v: i64, out: &mut [u8; 9]) -> usize {
    if v >= 0 {
        write_u64_to(v as u64, out)
    } else if v >= -32 {
        out[0] = v as u8;
        1
    } else if v >= i64::from(i8::MIN) {
        put_be(out, INT8, &[v as u8])
    } else if v >= i64::from(i16::MIN) {
        put_be(out, INT16, &(v as i16).to_be_bytes())
    } else if v >= i64::from(i32::MIN) {
        put_be(out, INT32, &(v as i32).to_be_bytes())
    } else {
        put_be(out, INT64, &v.to_be_bytes())
    }
}

/// The canonical encoding of `v` as one little-endian integer (its first byte lowest, zero
/// above its last) and its length in bytes, if it is at most 8 bytes long (`v` below 2^32):
/// the bytes [`write_u64_to`] writes, built in a register. Integer keys take this path on
/// every lookup, and hash storage hashes and compares short keys in this form.
#[inline]
pub(crate) fn u64_word(v: u64) -> Option<(u64, usize)> {
    if v <= 0x7f {
        Some((v, 1))
    } else if v <= 0xff {
        Some((u64::from(UINT8) | v << 8, 2))
    } else if v <= 0xffff {
        Some((
            u64::from(UINT16) | u64::from((v as u16).swap_bytes()) << 8,
            3,
        ))
    } else if v <= 0xffff_ffff {
        Some((
            u64::from(UINT32) | u64::from((v as u32).swap_bytes()) << 8,
            5,
        ))
    } else {
        None
    }
}

/// [`u64_word`] for an `i64` (the bytes [`write_i64_to`] writes; `v` within the `i32` range).
#[inline]
pub(crate) fn i64_word(v: i64) -> Option<(u64, usize)> {
    if v >= 0 {
        u64_word(v as u64)
    } else if v >= -32 {
        Some((u64::from(v as u8), 1))
    } else if v >= i64::from(i8::MIN) {
        Some((u64::from(INT8) | u64::from(v as u8) << 8, 2))
    } else if v >= i64::from(i16::MIN) {
        Some((
            u64::from(INT16) | u64::from((v as u16).swap_bytes()) << 8,
            3,
        ))
    } else if v >= i64::from(i32::MIN) {
        Some((
            u64::from(INT32) | u64::from((v as u32).swap_bytes()) << 8,
            5,
        ))
    } else {
        None
    }
}

/// Writes the canonical header of a str of `len` bytes into `out` and returns its length.
pub(crate) fn write_str_header_to(len: usize, out: &mut [u8; 5]) -> usize {
    if len <= 31 {
        out[0] = FIXSTR | len as u8;
        1
    } else if len <= 0xff {
        out[..2].copy_from_slice(&[STR8, len as u8]);
        2
    } else if len <= 0xffff {
        out[0] = STR16;
        out[1..3].copy_from_slice(&(len as u16).to_be_bytes());
        3
    } else {
        out[0] = STR32;
        out[1..5].copy_from_slice(&(len as u32).to_be_bytes());
        5
    }
}

/// Appends the canonical header of an array of `len` elements. `len` must be at most
/// `u32::MAX`.
pub(crate) fn write_array_header(len: usize, out: &mut Vec<u8>) {
    write_len_header(len, Some((FIXARRAY, 15)), None, ARRAY16, ARRAY32, out);
}

/// Every integer next to a power of two (either sign) in the encodable range, and its ends: the
/// values where an integer's encoding changes length, for the encoding tests here and of keys.
#[cfg(test)]
pub(crate) fn boundary_ints() -> impl Iterator<Item = i128> {
    let mut values: Vec<i128> = vec![i128::from(i64::MIN), i128::from(u64::MAX)];
    for shift in 0..64 {
        let p = 1i128 << shift;
        values.extend([p - 1, p, p + 1, -p - 1, -p, -p + 1]);
    }
    values
        .into_iter()
        .filter(|v| (i128::from(i64::MIN)..=i128::from(u64::MAX)).contains(v))
}

#[cfg(test)]
mod tests {
    use super::super::limits::{MAX_DEPTH, MAX_OBJECT_BYTES};
    use super::*;

    #[test]
    fn write_int_to_matches_write_int() {
        for v in boundary_ints() {
            let mut expected = Vec::new();
            write_int(v, &mut expected);
            let mut buf = [0u8; 9];
            let len = write_int_to(v, &mut buf);
            assert_eq!(&buf[..len], &expected[..], "{v}");
        }
    }

    #[test]
    fn int_words_are_the_written_bytes() {
        for v in boundary_ints() {
            let mut buf = [0u8; 9];
            let len = write_int_to(v, &mut buf);
            let expected = (len <= 8).then(|| {
                let mut word = [0u8; 8];
                word[..len].copy_from_slice(&buf[..len]);
                (u64::from_le_bytes(word), len)
            });
            if let Ok(u) = u64::try_from(v) {
                assert_eq!(u64_word(u), expected, "{v}");
            }
            if let Ok(i) = i64::try_from(v) {
                assert_eq!(i64_word(i), expected, "{v}");
            }
        }
    }

    #[test]
    fn write_str_header_to_matches_encode() {
        for len in [0, 1, 31, 32, 255, 256, 65535, 65536] {
            let s = "x".repeat(len);
            let full = enc(&Term::Str(s));
            let mut buf = [0u8; 5];
            let n = write_str_header_to(len, &mut buf);
            assert_eq!(&buf[..n], &full[..full.len() - len], "{len}");
        }
    }

    fn enc(t: &Term) -> Vec<u8> {
        let mut out = Vec::new();
        encode(t, &mut out).unwrap();
        out
    }

    fn canon(input: &[u8]) -> Result<Vec<u8>, TermError> {
        let mut out = Vec::new();
        canonicalize(input, &mut out).map(|()| out)
    }

    /// Wraps `inner` in `levels` one-element arrays.
    fn nest(levels: usize, inner: &[u8]) -> Vec<u8> {
        let mut v = vec![0x91; levels];
        v.extend_from_slice(inner);
        v
    }

    fn int_cases() -> Vec<(i128, Vec<u8>)> {
        vec![
            (0, vec![0x00]),
            (1, vec![0x01]),
            (127, vec![0x7f]),
            (128, vec![0xcc, 0x80]),
            (255, vec![0xcc, 0xff]),
            (256, vec![0xcd, 0x01, 0x00]),
            (65535, vec![0xcd, 0xff, 0xff]),
            (65536, vec![0xce, 0x00, 0x01, 0x00, 0x00]),
            (0xffff_ffff, vec![0xce, 0xff, 0xff, 0xff, 0xff]),
            (0x1_0000_0000, vec![0xcf, 0, 0, 0, 1, 0, 0, 0, 0]),
            (
                i64::MAX as i128,
                vec![0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ),
            (i64::MAX as i128 + 1, vec![0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            (
                u64::MAX as i128,
                vec![0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ),
            (-1, vec![0xff]),
            (-32, vec![0xe0]),
            (-33, vec![0xd0, 0xdf]),
            (-128, vec![0xd0, 0x80]),
            (-129, vec![0xd1, 0xff, 0x7f]),
            (-32768, vec![0xd1, 0x80, 0x00]),
            (-32769, vec![0xd2, 0xff, 0xff, 0x7f, 0xff]),
            (i32::MIN as i128, vec![0xd2, 0x80, 0, 0, 0]),
            (
                i32::MIN as i128 - 1,
                vec![0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff],
            ),
            (i64::MIN as i128, vec![0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]),
        ]
    }

    #[test]
    fn integers_use_the_shortest_encoding_of_their_family() {
        for (v, bytes) in int_cases() {
            let term = match i64::try_from(v) {
                Ok(i) => Term::Int(i),
                Err(_) => Term::UInt(v as u64),
            };
            assert_eq!(enc(&term), bytes, "encode {v}");
            let mut out = Vec::new();
            write_int(v, &mut out);
            assert_eq!(out, bytes, "write_int {v}");
            assert_eq!(read_int(&bytes), Some(v), "read_int {v}");
            assert_eq!(decode(&bytes).unwrap(), term, "decode {v}");
            assert_eq!(canon(&bytes).unwrap(), bytes, "canonical {v}");
        }
        // A UInt that fits an i64 is the same integer as the Int.
        assert_eq!(enc(&Term::UInt(5)), vec![0x05]);
        assert_eq!(enc(&Term::UInt(300)), enc(&Term::Int(300)));
        assert_eq!(
            decode(&[0xcf, 0, 0, 0, 0, 0, 0, 0, 5]).unwrap(),
            Term::Int(5)
        );
    }

    #[test]
    fn read_int_rejects_non_integers_and_extra_bytes() {
        assert_eq!(read_int(&[0xc0]), None);
        assert_eq!(read_int(&enc(&Term::Float(1.0))), None);
        assert_eq!(read_int(&[0x01, 0x02]), None);
        assert_eq!(read_int(&[0xcd, 0x01]), None);
        assert_eq!(read_int(&[]), None);
        // Any integer encoding is read.
        assert_eq!(read_int(&[0xd3, 0, 0, 0, 0, 0, 0, 0, 7]), Some(7));
    }

    #[test]
    fn floats_are_always_float64() {
        assert_eq!(
            enc(&Term::Float(1.5)),
            [&[0xcb][..], &1.5f64.to_be_bytes()].concat()
        );
        assert_eq!(
            enc(&Term::from(0.25f32)),
            [&[0xcb][..], &0.25f64.to_be_bytes()].concat()
        );
        // -0.0 keeps its sign; infinities are valid.
        let neg_zero = enc(&Term::Float(-0.0));
        assert_eq!(neg_zero, [&[0xcb][..], &(-0.0f64).to_be_bytes()].concat());
        assert_ne!(neg_zero, enc(&Term::Float(0.0)));
        for f in [
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            let bytes = enc(&Term::Float(f));
            assert_eq!(decode(&bytes).unwrap(), Term::Float(f));
        }
    }

    #[test]
    fn str_bin_array_map_headers_are_shortest() {
        let s = |n: usize| Term::Str("x".repeat(n));
        assert_eq!(enc(&s(0)), vec![0xa0]);
        assert_eq!(enc(&s(31))[0], 0xbf);
        assert_eq!(enc(&s(32))[..2], [0xd9, 32]);
        assert_eq!(enc(&s(255))[..2], [0xd9, 0xff]);
        assert_eq!(enc(&s(256))[..3], [0xda, 0x01, 0x00]);
        assert_eq!(enc(&s(65536))[..5], [0xdb, 0x00, 0x01, 0x00, 0x00]);

        let b = |n: usize| Term::bin(vec![7u8; n]);
        assert_eq!(enc(&b(0)), vec![0xc4, 0x00]);
        assert_eq!(enc(&b(255))[..2], [0xc4, 0xff]);
        assert_eq!(enc(&b(256))[..3], [0xc5, 0x01, 0x00]);
        assert_eq!(enc(&b(65536))[..5], [0xc6, 0x00, 0x01, 0x00, 0x00]);

        let a = |n: usize| Term::Array(vec![Term::Nil; n]);
        assert_eq!(enc(&a(0)), vec![0x90]);
        assert_eq!(enc(&a(15))[0], 0x9f);
        assert_eq!(enc(&a(16))[..3], [0xdc, 0x00, 0x10]);
        assert_eq!(enc(&a(65536))[..5], [0xdd, 0x00, 0x01, 0x00, 0x00]);
        let mut hdr = Vec::new();
        write_array_header(16, &mut hdr);
        assert_eq!(hdr, [0xdc, 0x00, 0x10]);

        let m = |n: usize| Term::Map((0..n as i64).map(|i| (Term::Int(i), Term::Nil)).collect());
        assert_eq!(enc(&m(0)), vec![0x80]);
        assert_eq!(enc(&m(15))[0], 0x8f);
        assert_eq!(enc(&m(16))[..3], [0xde, 0x00, 0x10]);
        assert_eq!(enc(&m(65536))[..5], [0xdf, 0x00, 0x01, 0x00, 0x00]);
        for t in [s(300), b(300), a(300), m(300)] {
            assert_eq!(canon(&enc(&t)).unwrap(), enc(&t));
        }
    }

    #[test]
    fn encode_sorts_map_entries_in_map_key_order() {
        let t = Term::map([
            (Term::from("b"), 1),
            (Term::from(1.0), 2),
            (Term::from("a"), 3),
            (Term::from(1), 4),
            (Term::Nil, 5),
            (Term::from(-7), 6),
        ]);
        // -7 < 1 < 1.0 < nil < "a" < "b"
        let mut expected = vec![0x86, 0xf9, 0x06, 0x01, 0x04, 0xcb];
        expected.extend_from_slice(&1.0f64.to_be_bytes());
        expected.extend_from_slice(&[0x02, 0xc0, 0x05, 0xa1, b'a', 0x03, 0xa1, b'b', 0x01]);
        assert_eq!(enc(&t), expected);
        // Nested maps are sorted too, before the outer map compares them as keys.
        let inner1 = Term::map([(2, 0), (1, 0)]);
        let inner2 = Term::map([(1, 0), (3, 0)]);
        let outer = Term::map([(inner2.clone(), 1), (inner1.clone(), 2)]);
        let got = decode(&enc(&outer)).unwrap();
        assert_eq!(
            got,
            Term::Map(vec![
                (Term::map([(1, 0), (2, 0)]), Term::Int(2)),
                (Term::map([(1, 0), (3, 0)]), Term::Int(1)),
            ])
        );
    }

    #[test]
    fn encode_errors_leave_out_unchanged() {
        let prefix = vec![1, 2, 3];
        let cases: Vec<(Term, TermError)> = vec![
            (Term::Float(f64::NAN), TermError::NaN { offset: 0 }),
            (
                Term::Array(vec![Term::Int(1), Term::Float(f64::NAN)]),
                TermError::NaN { offset: 2 },
            ),
            (
                Term::map([(Term::Int(5), 1), (Term::UInt(5), 2)]),
                TermError::DuplicateMapKey { offset: 0 },
            ),
            (
                Term::Array(vec![Term::Nil, Term::map([("k", 1), ("k", 2)])]),
                TermError::DuplicateMapKey { offset: 2 },
            ),
            (
                nested_term(MAX_DEPTH + 1),
                TermError::TooDeep { limit: MAX_DEPTH },
            ),
        ];
        for (t, err) in cases {
            let mut out = prefix.clone();
            assert_eq!(encode(&t, &mut out), Err(err.clone()), "{t:?}");
            assert_eq!(out, prefix);
            assert_eq!(t.to_msgpack(), Err(err));
        }
        // 1 and 1.0 are different map keys.
        let ok = Term::map([(Term::Int(1), 1), (Term::Float(1.0), 2)]);
        assert!(encode(&ok, &mut Vec::new()).is_ok());
    }

    /// `levels` nested containers, alternating arrays and maps, around nil.
    fn nested_term(levels: usize) -> Term {
        let mut t = Term::Nil;
        for i in 0..levels {
            t = if i % 2 == 0 {
                Term::Array(vec![t])
            } else {
                Term::Map(vec![(Term::Int(0), t)])
            };
        }
        t
    }

    #[test]
    fn depth_limit_is_exact() {
        // Exactly MAX_DEPTH levels is fine, for encode, canonicalize and decode.
        let ok = nested_term(MAX_DEPTH);
        let bytes = enc(&ok);
        assert_eq!(canon(&bytes).unwrap(), bytes);
        assert_eq!(decode(&bytes).unwrap(), ok);
        let arrays = nest(MAX_DEPTH, &[0xc0]);
        assert_eq!(canon(&arrays).unwrap(), arrays);
        // An empty container still counts as a level.
        let empty_inside = nest(MAX_DEPTH - 1, &[0x90]);
        assert_eq!(canon(&empty_inside).unwrap(), empty_inside);
        let too_deep = TermError::TooDeep { limit: MAX_DEPTH };
        assert_eq!(canon(&nest(MAX_DEPTH, &[0x90])), Err(too_deep.clone()));
        assert_eq!(canon(&nest(MAX_DEPTH + 1, &[0xc0])), Err(too_deep.clone()));
        assert_eq!(decode(&nest(MAX_DEPTH + 1, &[0xc0])), Err(too_deep.clone()));
        // Maps count as levels too (0x81 0x00 = a one-entry map with key 0).
        let mut maps = [0x81, 0x00].repeat(MAX_DEPTH);
        maps.push(0xc0);
        assert_eq!(canon(&maps).unwrap(), maps);
        let mut maps = [0x81, 0x00].repeat(MAX_DEPTH + 1);
        maps.push(0xc0);
        assert_eq!(canon(&maps), Err(too_deep.clone()));
        // A too-deep container used as a map key.
        let mut key_deep = vec![0x81];
        key_deep.extend(nest(MAX_DEPTH, &[0xc0]));
        key_deep.push(0xc0);
        assert_eq!(canon(&key_deep), Err(too_deep.clone()));
        // Maps deep down (past the scan's inline frames) are checked and sorted the same way.
        assert_eq!(
            canon(&nest(40, &[0x82, 0x02, 0xc0, 0x01, 0xc0])).unwrap(),
            nest(40, &[0x82, 0x01, 0xc0, 0x02, 0xc0])
        );
        assert_eq!(
            canon(&nest(40, &[0x82, 0x01, 0xc0, 0x01, 0xc0])),
            Err(TermError::DuplicateMapKey { offset: 43 })
        );
        let mut prefix = vec![9];
        assert_eq!(
            canonicalize(&nest(MAX_DEPTH + 1, &[0xc0]), &mut prefix),
            Err(too_deep)
        );
        assert_eq!(prefix, vec![9]);
    }

    #[test]
    fn a_megabyte_of_nested_array_headers_fails_without_overflowing_the_stack() {
        // Run on a small stack to show nothing recurses with the input's depth.
        std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(|| {
                let input = vec![0x91u8; 1 << 20];
                let too_deep = TermError::TooDeep { limit: MAX_DEPTH };
                assert_eq!(canon(&input), Err(too_deep.clone()));
                assert_eq!(decode(&input), Err(too_deep));
                // compare tolerates it as well (falling back to byte order).
                assert_eq!(
                    crate::term::compare(&input, &input),
                    std::cmp::Ordering::Equal
                );
                assert_eq!(ArrayElements::new(&input).unwrap().count(), 0);
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn to_canonical_borrows_canonical_input_and_rewrites_the_rest() {
        let canonical = enc(&Term::Array(vec![Term::Int(1), Term::from("a")]));
        assert!(matches!(to_canonical(&canonical), Ok(Cow::Borrowed(b)) if b == &canonical[..]));
        // 1 as a uint 16 is not canonical: it is rewritten as a positive fixint.
        match to_canonical(&[0x91, 0xcd, 0x00, 0x01]) {
            Ok(Cow::Owned(b)) => assert_eq!(b, vec![0x91, 0x01]),
            other => panic!("expected a rewritten copy, got {other:?}"),
        }
        assert!(matches!(
            to_canonical(&[0x92, 0x01]),
            Err(TermError::Truncated { .. })
        ));
    }

    #[test]
    fn non_canonical_inputs_are_canonicalized() {
        let f64_bytes = |f: f64| [&[0xcb][..], &f.to_be_bytes()].concat();
        let cases: Vec<(Vec<u8>, Vec<u8>)> = vec![
            // Integers in a wider or the wrong family.
            (vec![0xd0, 0x05], vec![0x05]),
            (vec![0xcc, 0x05], vec![0x05]),
            (vec![0xcd, 0x00, 0xc8], vec![0xcc, 0xc8]),
            (vec![0xce, 0x00, 0x00, 0x01, 0x00], vec![0xcd, 0x01, 0x00]),
            (vec![0xcf, 0, 0, 0, 0, 0, 1, 0, 0], vec![0xce, 0, 1, 0, 0]),
            (vec![0xd1, 0x00, 0xc8], vec![0xcc, 0xc8]),
            (
                vec![0xd3, 0, 0, 0, 1, 0, 0, 0, 0],
                vec![0xcf, 0, 0, 0, 1, 0, 0, 0, 0],
            ),
            (vec![0xd0, 0xff], vec![0xff]),
            (vec![0xd1, 0xff, 0x80], vec![0xd0, 0x80]),
            (
                vec![0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xe0],
                vec![0xe0],
            ),
            (vec![0xd0, 0x00], vec![0x00]),
            // float 32 widened exactly.
            (
                [&[0xca][..], &1.5f32.to_be_bytes()].concat(),
                f64_bytes(1.5),
            ),
            (
                [&[0xca][..], &0.1f32.to_be_bytes()].concat(),
                f64_bytes(f64::from(0.1f32)),
            ),
            (
                [&[0xca][..], &f32::INFINITY.to_be_bytes()].concat(),
                f64_bytes(f64::INFINITY),
            ),
            (
                [&[0xca][..], &(-0.0f32).to_be_bytes()].concat(),
                f64_bytes(-0.0),
            ),
            // Long headers for short payloads.
            (vec![0xd9, 0x01, b'a'], vec![0xa1, b'a']),
            (vec![0xda, 0x00, 0x01, b'a'], vec![0xa1, b'a']),
            (vec![0xdb, 0, 0, 0, 0], vec![0xa0]),
            (vec![0xc5, 0x00, 0x01, 0x07], vec![0xc4, 0x01, 0x07]),
            (vec![0xc6, 0, 0, 0, 0], vec![0xc4, 0x00]),
            (vec![0xdc, 0x00, 0x01, 0xc0], vec![0x91, 0xc0]),
            (vec![0xdd, 0, 0, 0, 0], vec![0x90]),
            (vec![0xde, 0x00, 0x01, 0x01, 0x02], vec![0x81, 0x01, 0x02]),
            (vec![0xdf, 0, 0, 0, 0], vec![0x80]),
            // Map entries out of order.
            (
                vec![0x82, 0x02, 0xc2, 0x01, 0xc3],
                vec![0x82, 0x01, 0xc3, 0x02, 0xc2],
            ),
            (
                vec![0x82, 0xa1, b'b', 0x01, 0xa1, b'a', 0x02],
                vec![0x82, 0xa1, b'a', 0x02, 0xa1, b'b', 0x01],
            ),
            // Keys 1.0 and 1: valid, 1 first.
            (
                [&[0x82][..], &f64_bytes(1.0), &[0xc0, 0x01, 0xc3]].concat(),
                [&[0x82, 0x01, 0xc3][..], &f64_bytes(1.0), &[0xc0]].concat(),
            ),
            // A key that is only out of order once canonical (uint8 3 vs fixint 2).
            (
                vec![0x82, 0xcc, 0x03, 0xc0, 0x02, 0xc0],
                vec![0x82, 0x02, 0xc0, 0x03, 0xc0],
            ),
            // Nested: an array holding a non-canonical map holding a float 32.
            (
                [
                    &[0x92, 0x82, 0x02][..],
                    &[0xca],
                    &2.0f32.to_be_bytes(),
                    &[0x01, 0xd0, 0x01, 0xc0],
                ]
                .concat(),
                [
                    &[0x92, 0x82, 0x01, 0x01, 0x02][..],
                    &f64_bytes(2.0),
                    &[0xc0],
                ]
                .concat(),
            ),
        ];
        for (input, expected) in cases {
            let got = canon(&input).unwrap_or_else(|e| panic!("{input:02x?}: {e}"));
            assert_eq!(got, expected, "input {input:02x?}");
            assert_eq!(canon(&got).unwrap(), got, "idempotent for {input:02x?}");
            assert_eq!(decode(&input).unwrap(), decode(&expected).unwrap());
            // Appends after what is there.
            let mut out = vec![0xee];
            canonicalize(&input, &mut out).unwrap();
            assert_eq!(out[0], 0xee);
            assert_eq!(&out[1..], &expected[..]);
        }
    }

    #[test]
    fn canonical_input_is_copied_verbatim() {
        let t = Term::map([
            (Term::from("name"), Term::from("rets")),
            (Term::from(1), tuple_term()),
        ]);
        let bytes = enc(&t);
        assert_eq!(canon(&bytes).unwrap(), bytes);
        assert!(scan(&bytes).unwrap().canonical);
        assert_eq!(scan(&bytes).unwrap().size, bytes.len());
    }

    fn tuple_term() -> Term {
        Term::Array(vec![
            Term::Int(-5),
            Term::UInt(u64::MAX),
            Term::Float(2.5),
            Term::from("héllo"),
            Term::bin(vec![0, 1, 2]),
            Term::Nil,
            Term::Bool(true),
            Term::Bool(false),
            Term::map([(Term::from("x"), Term::Array(vec![]))]),
            Term::Array(vec![Term::Array(vec![Term::Int(1)])]),
        ])
    }

    #[test]
    fn decode_builds_terms() {
        let t = tuple_term();
        assert_eq!(decode(&enc(&t)).unwrap(), t);
        assert_eq!(Term::from_msgpack(&t.to_msgpack().unwrap()).unwrap(), t);
        // Non-canonical input: float 32, wide ints, unsorted map.
        let input = [
            &[0x93, 0xca][..],
            &0.5f32.to_be_bytes(),
            &[0xd1, 0x00, 0x10],
            &[0x82, 0xa1, b'b', 0xc3, 0xa1, b'a', 0xc2],
        ]
        .concat();
        assert_eq!(
            decode(&input).unwrap(),
            Term::Array(vec![
                Term::Float(0.5),
                Term::Int(16),
                Term::Map(vec![
                    (Term::from("a"), Term::Bool(false)),
                    (Term::from("b"), Term::Bool(true)),
                ]),
            ])
        );
        assert_eq!(
            decode(&[0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0]).unwrap(),
            Term::UInt(1 << 63)
        );
    }

    #[test]
    fn every_prefix_of_a_valid_term_is_truncated() {
        let canonical = enc(&tuple_term());
        // A non-canonical encoding, too (float 32, unsorted map, wide headers).
        let other = [
            &[0xdc, 0x00, 0x03, 0xca][..],
            &1.5f32.to_be_bytes(),
            &[
                0xde, 0x00, 0x02, 0xd9, 0x01, b'z', 0x01, 0xda, 0x00, 0x02, 0xc3, 0xa9,
            ],
            &[0x02, 0xc6, 0, 0, 0, 2, 1, 2],
        ]
        .concat();
        assert!(canon(&other).is_ok());
        for full in [canonical, other] {
            for cut in 0..full.len() {
                match canon(&full[..cut]) {
                    Err(TermError::Truncated { offset }) => assert!(offset <= cut),
                    r => panic!("prefix {cut} of {full:02x?}: {r:?}"),
                }
                assert!(matches!(
                    decode(&full[..cut]),
                    Err(TermError::Truncated { .. })
                ));
            }
        }
        assert_eq!(canon(&[]), Err(TermError::Truncated { offset: 0 }));
    }

    #[test]
    fn huge_claimed_lengths_fail_fast() {
        let cases: Vec<(Vec<u8>, usize)> = vec![
            (vec![0xdd, 0xff, 0xff, 0xff, 0xff], 0),
            (vec![0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0], 0),
            (vec![0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0], 0),
            (vec![0xdb, 0xff, 0xff, 0xff, 0xff, b'a'], 0),
            (vec![0xc6, 0xff, 0xff, 0xff, 0xff, 0x00], 0),
            (vec![0xdc, 0xff, 0xff, 0xc0], 0),
            // A map of 2 entries needs at least 4 bytes.
            (vec![0x82, 0x01, 0x02, 0x03], 0),
            // Nested: the inner claim is checked against what is left.
            (vec![0x92, 0xc0, 0xdd, 0x00, 0x01, 0x00, 0x00, 0xc0], 2),
        ];
        for (input, offset) in cases {
            assert_eq!(
                canon(&input),
                Err(TermError::Truncated { offset }),
                "{input:02x?}"
            );
            assert_eq!(decode(&input), Err(TermError::Truncated { offset }));
            if let Some(items) = ArrayElements::new(&input) {
                assert!(items.count() <= 1);
            }
        }
    }

    #[test]
    fn invalid_markers_ext_nan_and_utf8_are_rejected() {
        let cases: Vec<(Vec<u8>, TermError)> = vec![
            (
                vec![0xc1],
                TermError::InvalidMarker {
                    byte: 0xc1,
                    offset: 0,
                },
            ),
            (
                vec![0x92, 0x01, 0xc1],
                TermError::InvalidMarker {
                    byte: 0xc1,
                    offset: 2,
                },
            ),
            (
                vec![0xc7, 0x01, 0x05, 0x00],
                TermError::ExtUnsupported { offset: 0 },
            ),
            (
                vec![0xc8, 0x00, 0x01, 0x05, 0x00],
                TermError::ExtUnsupported { offset: 0 },
            ),
            (
                vec![0xc9, 0, 0, 0, 1, 0x05, 0x00],
                TermError::ExtUnsupported { offset: 0 },
            ),
            (
                vec![0x91, 0xd4, 0x01, 0x00],
                TermError::ExtUnsupported { offset: 1 },
            ),
            (
                vec![0xd5, 0x01, 0, 0],
                TermError::ExtUnsupported { offset: 0 },
            ),
            (
                vec![0xd6, 0x01, 0, 0, 0, 0],
                TermError::ExtUnsupported { offset: 0 },
            ),
            (
                vec![0xd7, 0xff, 0, 0, 0, 0, 0, 0, 0, 0],
                TermError::ExtUnsupported { offset: 0 },
            ),
            (
                [&[0xd8, 0x01][..], &[0; 16]].concat(),
                TermError::ExtUnsupported { offset: 0 },
            ),
            (
                [&[0xcb][..], &f64::NAN.to_be_bytes()].concat(),
                TermError::NaN { offset: 0 },
            ),
            (
                [
                    &[0x81, 0x01, 0xcb][..],
                    &0x7ff0_0000_0000_0001u64.to_be_bytes(),
                ]
                .concat(),
                TermError::NaN { offset: 2 },
            ),
            (
                [&[0xcb][..], &0xfff8_0000_0000_0000u64.to_be_bytes()].concat(),
                TermError::NaN { offset: 0 },
            ),
            (
                [&[0xca][..], &f32::NAN.to_be_bytes()].concat(),
                TermError::NaN { offset: 0 },
            ),
            (
                [&[0x91, 0xca][..], &0xff80_0001u32.to_be_bytes()].concat(),
                TermError::NaN { offset: 1 },
            ),
            (vec![0xa2, 0xff, 0xfe], TermError::InvalidUtf8 { offset: 0 }),
            // Overlong encoding of '/', a lone surrogate, a cut multi-byte character.
            (
                vec![0x91, 0xa2, 0xc0, 0xaf],
                TermError::InvalidUtf8 { offset: 1 },
            ),
            (
                vec![0xa3, 0xed, 0xa0, 0x80],
                TermError::InvalidUtf8 { offset: 0 },
            ),
            (vec![0xd9, 0x01, 0xc3], TermError::InvalidUtf8 { offset: 0 }),
            // A str key of a map.
            (
                vec![0x81, 0xa1, 0x80, 0xc0],
                TermError::InvalidUtf8 { offset: 1 },
            ),
        ];
        for (input, err) in cases {
            let mut out = vec![1, 2];
            assert_eq!(
                canonicalize(&input, &mut out),
                Err(err.clone()),
                "{input:02x?}"
            );
            assert_eq!(out, vec![1, 2]);
            assert_eq!(decode(&input), Err(err), "decode {input:02x?}");
        }
        // Invalid UTF-8 is fine in a bin.
        assert!(canon(&[0xc4, 0x02, 0xff, 0xfe]).is_ok());
    }

    #[test]
    fn duplicate_map_keys_are_rejected() {
        let f = |x: f64| [&[0xcb][..], &x.to_be_bytes()].concat();
        let cases: Vec<(Vec<u8>, usize)> = vec![
            // Canonical, sorted, duplicate: found by the scan at the second key.
            (vec![0x82, 0x01, 0x01, 0x01, 0x02], 3),
            // Unsorted with a duplicate.
            (vec![0x83, 0x02, 0xc0, 0x01, 0xc0, 0x02, 0xc0], 5),
            // Equal only after canonicalisation: uint8 5 and fixint 5.
            (vec![0x82, 0xcc, 0x05, 0xc0, 0x05, 0xc0], 4),
            (vec![0x82, 0x05, 0xc0, 0xd0, 0x05, 0xc0], 3),
            // float 32 and float 64 of the same value.
            (
                [
                    &[0x82][..],
                    &f(0.5),
                    &[0xc0, 0xca],
                    &0.5f32.to_be_bytes(),
                    &[0xc0],
                ]
                .concat(),
                11,
            ),
            // str8 and fixstr of the same text.
            (vec![0x82, 0xd9, 0x01, b'k', 0x01, 0xa1, b'k', 0x02], 5),
            // Duplicate array keys, and maps as keys equal once sorted.
            (vec![0x82, 0x91, 0x01, 0x01, 0x91, 0x01, 0x02], 4),
            (
                vec![
                    0x82, 0x82, 0x01, 0xc0, 0x02, 0xc0, 0x01, 0x82, 0x02, 0xc0, 0x01, 0xc0, 0x02,
                ],
                7,
            ),
            // Nested inside an array.
            (
                vec![0x92, 0xc0, 0x82, 0xa1, b'a', 0x01, 0xa1, b'a', 0x02],
                6,
            ),
        ];
        for (input, offset) in cases {
            let mut out = vec![7];
            assert_eq!(
                canonicalize(&input, &mut out),
                Err(TermError::DuplicateMapKey { offset }),
                "{input:02x?}"
            );
            assert_eq!(out, vec![7]);
            assert_eq!(decode(&input), Err(TermError::DuplicateMapKey { offset }));
        }
        // Keys equal in value but not exactly are distinct: 1 and 1.0, 0.0 and -0.0.
        for input in [
            [&[0x82, 0x01, 0xc0][..], &f(1.0), &[0xc0]].concat(),
            [&[0x82][..], &f(0.0), &[0xc0], &f(-0.0), &[0xc0]].concat(),
        ] {
            let out = canon(&input).unwrap();
            assert_eq!(decode(&out).unwrap().as_map().unwrap().len(), 2);
        }
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        assert_eq!(
            canon(&[0x01, 0x02]),
            Err(TermError::TrailingBytes {
                offset: 1,
                extra: 1
            })
        );
        assert_eq!(
            canon(&[0x91, 0xc0, 0xc0, 0xc0]),
            Err(TermError::TrailingBytes {
                offset: 2,
                extra: 2
            })
        );
        assert_eq!(
            decode(&[0x90, 0x00]),
            Err(TermError::TrailingBytes {
                offset: 1,
                extra: 1
            })
        );
    }

    #[test]
    fn size_limit_applies_to_the_canonical_size() {
        // A bin whose canonical encoding is exactly the limit is fine; one byte more is not.
        let header = |n: usize| {
            let mut v = vec![0xc6];
            v.extend_from_slice(&(n as u32).to_be_bytes());
            v
        };
        let mut input = header(MAX_OBJECT_BYTES - 5);
        input.resize(MAX_OBJECT_BYTES, 0);
        let mut out = Vec::new();
        canonicalize(&input, &mut out).unwrap();
        assert_eq!(out.len(), MAX_OBJECT_BYTES);
        drop(out);
        let mut input = header(MAX_OBJECT_BYTES - 4);
        input.resize(MAX_OBJECT_BYTES + 1, 0);
        let mut out = vec![3];
        assert_eq!(
            canonicalize(&input, &mut out),
            Err(TermError::TooLarge {
                what: "term",
                size: MAX_OBJECT_BYTES + 1,
                limit: MAX_OBJECT_BYTES
            })
        );
        assert_eq!(out, vec![3]);
        // Widening float 32 to float 64 can push a term over the limit.
        let n = (MAX_OBJECT_BYTES - 5) / 9 + 1;
        let mut input = vec![0xdd];
        input.extend_from_slice(&(n as u32).to_be_bytes());
        for _ in 0..n {
            input.extend_from_slice(&[0xca, 0x3f, 0x80, 0x00, 0x00]);
        }
        assert!(input.len() < MAX_OBJECT_BYTES);
        assert_eq!(
            canon(&input),
            Err(TermError::TooLarge {
                what: "term",
                size: 5 + 9 * n,
                limit: MAX_OBJECT_BYTES
            })
        );
    }

    #[test]
    fn array_elements_iterates_encoded_elements() {
        let t = Term::Array(vec![
            Term::Int(1),
            Term::from("ab"),
            Term::Array(vec![Term::Int(2), Term::map([(3, 4)])]),
            Term::bin(vec![9; 300]),
            Term::Float(0.5),
        ]);
        let bytes = enc(&t);
        let mut it = ArrayElements::new(&bytes).unwrap();
        assert_eq!(it.len(), 5);
        assert!(!it.is_empty());
        let items: Vec<&[u8]> = it.by_ref().collect();
        assert!(it.is_empty());
        assert_eq!(it.next(), None);
        assert_eq!(items.len(), 5);
        for (item, expected) in items.iter().zip(t.as_array().unwrap()) {
            assert_eq!(*item, &enc(expected)[..]);
        }
        assert_eq!(read_int(items[0]), Some(1));
        assert_eq!(ArrayElements::new(&[0x90]).unwrap().count(), 0);
        let long = enc(&Term::Array(vec![Term::Nil; 70000]));
        assert_eq!(ArrayElements::new(&long).unwrap().len(), 70000);
        assert_eq!(ArrayElements::new(&long).unwrap().count(), 70000);
        assert!(ArrayElements::new(&[0x80]).is_none());
        assert!(ArrayElements::new(&[0x01]).is_none());
        assert!(ArrayElements::new(&[]).is_none());
        // Malformed input: stops, never panics.
        assert_eq!(ArrayElements::new(&[0x93, 0x01, 0xd9]).unwrap().count(), 1);
    }

    #[test]
    fn interoperates_with_rmp_serde() {
        let bytes =
            rmp_serde::to_vec(&(1u8, "a", 2.5f32, vec![1i64, -200, 1 << 40], true, ())).unwrap();
        assert_eq!(
            decode(&bytes).unwrap(),
            Term::Array(vec![
                Term::Int(1),
                Term::from("a"),
                Term::Float(2.5),
                Term::Array(vec![Term::Int(1), Term::Int(-200), Term::Int(1 << 40)]),
                Term::Bool(true),
                Term::Nil,
            ])
        );
        let canonical = canon(&bytes).unwrap();
        let value: (u8, String, f32, Vec<i64>, bool, ()) =
            rmp_serde::from_slice(&canonical).unwrap();
        assert_eq!(
            value,
            (1, "a".to_owned(), 2.5, vec![1, -200, 1 << 40], true, ())
        );
        let mut m = std::collections::HashMap::new();
        for k in ["z", "y", "x", "w"] {
            m.insert(k.to_owned(), k.len());
        }
        let canonical = canon(&rmp_serde::to_vec(&m).unwrap()).unwrap();
        assert_eq!(
            decode(&canonical).unwrap(),
            Term::map([("w", 1), ("x", 1), ("y", 1), ("z", 1)])
        );
    }
}
