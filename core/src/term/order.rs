//! Erlang's term order over canonical encodings.
//!
//! Both functions walk the two encodings in parallel and never build a [`super::Term`] or
//! allocate. Their inputs must be canonical, validated terms (the output of
//! [`super::canonicalize`] or [`super::encode`]). On input that is not (cut short, ext, 0xc1,
//! NaN, nested deeper than [`super::limits::MAX_DEPTH`]) they never panic or overflow the
//! stack: the result is then the plain byte order of the two inputs.

use std::cmp::Ordering;

use super::codec::{read_head, skip_value, Head};
use super::limits::MAX_DEPTH;

/// Compares two canonical, validated terms in term order (see [`crate::term`]). Numbers compare
/// by value across int and float, so `compare(1, 1.0) == Equal` (Erlang's `==`). Integers and
/// floats compare exactly (no rounding of large integers).
///
/// Map keys are compared in map-key order (exactly, as Erlang does), map values and everything
/// else by value: `#{1 => a}` and `#{1.0 => a}` differ, `#{a => 1}` and `#{a => 1.0}` are equal.
pub fn compare(a: &[u8], b: &[u8]) -> Ordering {
    compare_top(a, b, false)
}

/// Map-key order: [`compare`], except that an integer sorts before a float of equal value (so it
/// is a total order consistent with exact equality: `Equal` only for identical canonical bytes).
/// This is the order of keys inside a canonical map.
///
/// The same rule applies at every level (`[1]` sorts before `[1.0]`), and `-0.0` sorts before
/// `0.0` (so `0 < -0.0 < 0.0`): for floats this is [`f64::total_cmp`].
pub fn compare_map_keys(a: &[u8], b: &[u8]) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    compare_top(a, b, true)
}

fn compare_top(a: &[u8], b: &[u8], exact: bool) -> Ordering {
    let (mut pa, mut pb) = (0, 0);
    match compare_at(a, &mut pa, b, &mut pb, exact, 0) {
        Some(Ordering::Equal) if pa != a.len() || pb != b.len() => a.cmp(b),
        Some(ord) => ord,
        None => a.cmp(b),
    }
}

/// A value's class and, for scalars, its content.
#[derive(Clone, Copy)]
enum Class<'a> {
    Int(i128),
    Float(f64),
    False,
    Nil,
    True,
    Array(usize),
    Map(usize),
    Str(&'a [u8]),
    Bin(&'a [u8]),
}

impl Class<'_> {
    /// Position in the order of kinds: numbers < false < nil < true < arrays < maps < str < bin.
    fn rank(&self) -> u8 {
        match self {
            Class::Int(_) | Class::Float(_) => 0,
            Class::False => 1,
            Class::Nil => 2,
            Class::True => 3,
            Class::Array(_) => 4,
            Class::Map(_) => 5,
            Class::Str(_) => 6,
            Class::Bin(_) => 7,
        }
    }
}

/// Reads one header (and a str/bin payload), advancing `pos` past it.
#[inline]
fn read_class<'a>(buf: &'a [u8], pos: &mut usize) -> Option<Class<'a>> {
    let (head, hlen) = read_head(buf, *pos)?;
    *pos += hlen;
    Some(match head {
        Head::UInt(v) => Class::Int(i128::from(v)),
        Head::Int(v) => Class::Int(i128::from(v)),
        Head::F64(v) => Class::Float(v),
        Head::F32(v) => Class::Float(f64::from(v)),
        Head::Nil => Class::Nil,
        Head::False => Class::False,
        Head::True => Class::True,
        Head::Array(n) => Class::Array(n),
        Head::Map(n) => Class::Map(n),
        Head::Str(len) | Head::Bin(len) => {
            let bytes = buf.get(*pos..pos.checked_add(len)?)?;
            *pos += len;
            if matches!(head, Head::Str(_)) {
                Class::Str(bytes)
            } else {
                Class::Bin(bytes)
            }
        }
        Head::Ext | Head::Never => return None,
    })
}

/// 2^64 and -2^63 as floats (both exact): the bounds of the integers a term can hold.
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;
const NEG_TWO_POW_63: f64 = -9_223_372_036_854_775_808.0;

/// Compares an integer (in `i64::MIN..=u64::MAX`) with a float exactly. `None` for NaN.
#[inline]
fn cmp_int_float(i: i128, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    if f >= TWO_POW_64 {
        return Some(Ordering::Less);
    }
    if f < NEG_TWO_POW_63 {
        return Some(Ordering::Greater);
    }
    // |t| < 2^64 and t is integral, so it converts to i128 exactly; f - t is exact too.
    let t = f.trunc();
    Some(match i.cmp(&(t as i128)) {
        Ordering::Equal => {
            let frac = f - t;
            if frac > 0.0 {
                Ordering::Less
            } else if frac < 0.0 {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        }
        ord => ord,
    })
}

/// Compares the values at `a[*pa..]` and `b[*pb..]`. When the result is `Equal`, both positions
/// end past their values; otherwise they are left anywhere. `None` for malformed input.
/// `depth` counts the containers around the values.
fn compare_at(
    a: &[u8],
    pa: &mut usize,
    b: &[u8],
    pb: &mut usize,
    exact: bool,
    depth: usize,
) -> Option<Ordering> {
    let ca = read_class(a, pa)?;
    let cb = read_class(b, pb)?;
    let ord = match (ca, cb) {
        (Class::Int(x), Class::Int(y)) => x.cmp(&y),
        (Class::Float(x), Class::Float(y)) => {
            if x.is_nan() || y.is_nan() {
                return None;
            }
            if exact {
                x.total_cmp(&y)
            } else {
                x.partial_cmp(&y)?
            }
        }
        (Class::Int(x), Class::Float(y)) => match cmp_int_float(x, y)? {
            Ordering::Equal if exact => Ordering::Less,
            ord => ord,
        },
        (Class::Float(x), Class::Int(y)) => match cmp_int_float(y, x)?.reverse() {
            Ordering::Equal if exact => Ordering::Greater,
            ord => ord,
        },
        (Class::Str(x), Class::Str(y)) | (Class::Bin(x), Class::Bin(y)) => x.cmp(y),
        (Class::Array(n), Class::Array(m)) => {
            if n != m {
                return Some(n.cmp(&m));
            }
            if depth >= MAX_DEPTH {
                return None;
            }
            for _ in 0..n {
                match compare_at(a, pa, b, pb, exact, depth + 1)? {
                    Ordering::Equal => {}
                    ord => return Some(ord),
                }
            }
            Ordering::Equal
        }
        (Class::Map(n), Class::Map(m)) => {
            if n != m {
                return Some(n.cmp(&m));
            }
            if depth >= MAX_DEPTH {
                return None;
            }
            let (start_a, start_b) = (*pa, *pb);
            // Keys first, in order, compared exactly.
            for _ in 0..n {
                match compare_at(a, pa, b, pb, true, depth + 1)? {
                    Ordering::Equal => {}
                    ord => return Some(ord),
                }
                *pa = skip_value(a, *pa)?;
                *pb = skip_value(b, *pb)?;
            }
            // Then the values, in key order.
            (*pa, *pb) = (start_a, start_b);
            for _ in 0..n {
                *pa = skip_value(a, *pa)?;
                *pb = skip_value(b, *pb)?;
                match compare_at(a, pa, b, pb, exact, depth + 1)? {
                    Ordering::Equal => {}
                    ord => return Some(ord),
                }
            }
            Ordering::Equal
        }
        (x, y) => x.rank().cmp(&y.rank()),
    };
    Some(ord)
}
