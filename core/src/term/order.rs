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
    // Identical canonical bytes are one term (there is no NaN): the common case of a search
    // that finds its key, settled by a short memcmp instead of a walk of both encodings.
    if a == b {
        return Ordering::Equal;
    }
    compare_top(a, b, false)
}

/// Map-key order, Erlang's: [`compare`], except that every integer sorts before every float
/// ("in maps key order integers types are considered less than floats types"), so it is a total
/// order consistent with exact equality (`Equal` only for identical canonical bytes). This is the
/// order of keys inside a canonical map.
///
/// The same rule applies at every level (`[2]` sorts before `[1.0]`), so on arrays and maps this
/// is not a refinement of [`compare`]. `-0.0` sorts before `0.0`: for floats this is
/// [`f64::total_cmp`].
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
    /// An atom by name; `false`, `nil` and `true` are atoms with those names.
    Atom(&'a [u8]),
    Array(usize),
    Map(usize),
    Str(&'a [u8]),
    Bin(&'a [u8]),
}

impl Class<'_> {
    /// Position in the order of kinds: numbers < atoms < arrays < maps < str < bin.
    fn rank(&self) -> u8 {
        match self {
            Class::Int(_) | Class::Float(_) => 0,
            Class::Atom(_) => 1,
            Class::Array(_) => 2,
            Class::Map(_) => 3,
            Class::Str(_) => 4,
            Class::Bin(_) => 5,
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
        Head::Nil => Class::Atom(b"nil"),
        Head::False => Class::Atom(b"false"),
        Head::True => Class::Atom(b"true"),
        Head::Ext {
            ty: super::atom::ATOM_EXT,
            len,
        } => {
            let bytes = buf.get(*pos..pos.checked_add(len)?)?;
            *pos += len;
            Class::Atom(bytes)
        }
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
        Head::Ext { .. } | Head::Never => return None,
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
        // In map-key order every integer sorts before every float (Erlang's rule).
        (Class::Int(_), Class::Float(y)) if exact => {
            if y.is_nan() {
                return None;
            }
            Ordering::Less
        }
        (Class::Float(x), Class::Int(_)) if exact => {
            if x.is_nan() {
                return None;
            }
            Ordering::Greater
        }
        (Class::Int(x), Class::Float(y)) => cmp_int_float(x, y)?,
        (Class::Float(x), Class::Int(y)) => cmp_int_float(y, x)?.reverse(),
        (Class::Str(x), Class::Str(y))
        | (Class::Bin(x), Class::Bin(y))
        | (Class::Atom(x), Class::Atom(y)) => x.cmp(y),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::term::Term;

    fn enc(t: &Term) -> Vec<u8> {
        t.to_msgpack().unwrap()
    }

    /// Groups of terms in ascending term order; the terms within a group compare equal.
    fn ordered_groups() -> Vec<Vec<Term>> {
        let two53 = 1i64 << 53;
        let two63 = 1u64 << 63;
        let i = Term::Int;
        let f = Term::Float;
        let s = |x: &str| Term::from(x);
        let a = Term::Array;
        vec![
            vec![f(f64::NEG_INFINITY)],
            vec![f(f64::MIN)],
            vec![f(-1.8446744073709552e19)],
            vec![i(i64::MIN), f(-9223372036854775808.0)],
            vec![i(i64::MIN + 1)],
            vec![i(-two53 - 1)],
            vec![i(-two53), f(-9007199254740992.0)],
            vec![f(-1.5)],
            vec![i(-1), f(-1.0)],
            vec![f(-0.5)],
            vec![f(-f64::MIN_POSITIVE)],
            vec![i(0), f(0.0), f(-0.0)],
            vec![f(f64::MIN_POSITIVE)],
            vec![f(0.5)],
            vec![i(1), f(1.0), Term::UInt(1)],
            vec![f(1.5)],
            vec![i(2), f(2.0)],
            vec![i(two53 - 1)],
            vec![i(two53), f(9007199254740992.0)],
            vec![i(two53 + 1)],
            vec![i(two53 + 2), f(9007199254740994.0)],
            vec![i(i64::MAX - 1)],
            vec![i(i64::MAX)],
            vec![Term::UInt(two63), f(9223372036854775808.0)],
            vec![Term::UInt(two63 + 1)],
            vec![Term::UInt(u64::MAX - 1)],
            vec![Term::UInt(u64::MAX)],
            vec![f(18446744073709551616.0)],
            vec![f(f64::MAX)],
            vec![f(f64::INFINITY)],
            vec![Term::Bool(false)],
            vec![Term::Nil],
            vec![Term::Bool(true)],
            // Arrays: size first, then element by element.
            vec![a(vec![])],
            vec![a(vec![f(f64::NEG_INFINITY)])],
            vec![a(vec![i(0)]), a(vec![f(0.0)]), a(vec![f(-0.0)])],
            vec![a(vec![Term::UInt(u64::MAX)])],
            vec![a(vec![Term::Nil])],
            vec![a(vec![a(vec![])])],
            vec![a(vec![Term::map([(1, 1)])])],
            vec![a(vec![s("")])],
            vec![a(vec![Term::bin(vec![])])],
            vec![a(vec![i(9), i(9)])],
            vec![a(vec![Term::Nil, i(0)])],
            vec![a(vec![Term::Nil, Term::Nil])],
            vec![a(vec![i(0), i(0), i(0)])],
            // Maps: size first, then keys (exactly, in map-key order), then values.
            vec![Term::map(Vec::<(Term, Term)>::new())],
            vec![Term::map([(i(1), s("z"))])],
            // Map keys compare in map-key order: every integer before every float.
            vec![Term::map([(i(2), s("a"))])],
            vec![Term::map([(f(1.0), s("a"))])],
            vec![Term::map([(s("a"), i(1))]), Term::map([(s("a"), f(1.0))])],
            vec![Term::map([(s("a"), i(2))])],
            vec![Term::map([(s("a"), a(vec![]))])],
            vec![Term::map([(s("b"), i(0))])],
            vec![Term::map([(Term::bin(vec![]), i(0))])],
            vec![Term::map([(i(1), i(9)), (i(2), i(0))])],
            vec![Term::map([(i(1), i(0)), (i(3), i(0))])],
            vec![Term::map([(i(1), i(0)), (f(3.0), i(0))])],
            vec![Term::map([(i(1), i(0)), (s("x"), i(0))])],
            vec![Term::map([(i(1), i(1)), (s("x"), i(0))])],
            // str (by bytes), then bin (by bytes).
            vec![s("")],
            vec![s("\0")],
            vec![s("A")],
            vec![s("a")],
            vec![s("aa")],
            vec![s("ab")],
            vec![s("b")],
            vec![s(&"z".repeat(300))],
            vec![s("é")],
            vec![Term::bin(vec![])],
            vec![Term::bin(vec![0])],
            vec![Term::bin(vec![0, 0])],
            vec![Term::bin(b"a".to_vec())],
            vec![Term::bin(vec![255])],
        ]
    }

    #[test]
    fn compare_follows_term_order_for_every_pair() {
        let groups: Vec<Vec<Vec<u8>>> = ordered_groups()
            .iter()
            .map(|g| g.iter().map(enc).collect())
            .collect();
        for (gi, ga) in groups.iter().enumerate() {
            for (gj, gb) in groups.iter().enumerate() {
                let expected = gi.cmp(&gj);
                for a in ga {
                    for b in gb {
                        assert_eq!(
                            compare(a, b),
                            expected,
                            "compare({:?}, {:?})",
                            crate::term::decode(a).unwrap(),
                            crate::term::decode(b).unwrap()
                        );
                        // Map-key order refines term order (but for an int/float pair, where
                        // every int comes first), and is Equal only for identical bytes.
                        let mk = compare_map_keys(a, b);
                        let number = |x: &[u8]| {
                            matches!(
                                crate::term::decode(x).unwrap(),
                                Term::Int(_) | Term::UInt(_) | Term::Float(_)
                            )
                        };
                        if number(a)
                            && number(b)
                            && a[0] != b[0]
                            && (a[0] == 0xcb) != (b[0] == 0xcb)
                        {
                            let a_is_int = a[0] != 0xcb;
                            assert_eq!(
                                mk,
                                if a_is_int {
                                    Ordering::Less
                                } else {
                                    Ordering::Greater
                                },
                                "{:?} vs {:?}",
                                crate::term::decode(a),
                                crate::term::decode(b)
                            );
                        } else if expected != Ordering::Equal {
                            // Containers may hold int/float pairs: only their consistency holds.
                            let container = |x: &[u8]| matches!(x[0], 0x80..=0x9f | 0xdc..=0xdf);
                            if !container(a) && !container(b) {
                                assert_eq!(mk, expected);
                            }
                            assert_eq!(mk, compare_map_keys(b, a).reverse());
                        } else {
                            assert_eq!(mk == Ordering::Equal, a == b);
                            assert_eq!(mk, compare_map_keys(b, a).reverse());
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn integers_and_floats_compare_exactly() {
        let c = |a: Term, b: Term| compare(&enc(&a), &enc(&b));
        // 2^53 + 1 is not a float; as a float it would round to 2^53.
        assert_eq!(
            c(Term::Int(9007199254740993), Term::Float(9007199254740992.0)),
            Ordering::Greater
        );
        assert_eq!(
            c(Term::Float(9007199254740992.0), Term::Int(9007199254740993)),
            Ordering::Less
        );
        assert_eq!(
            c(Term::Int(9007199254740993), Term::Float(9007199254740994.0)),
            Ordering::Less
        );
        // u64::MAX is below 2^64 = 1.8446744073709552e19 (its nearest float).
        assert_eq!(
            c(Term::UInt(u64::MAX), Term::Float(1.8446744073709552e19)),
            Ordering::Less
        );
        assert_eq!(
            c(Term::Int(i64::MAX), Term::Float(9223372036854775808.0)),
            Ordering::Less
        );
        assert_eq!(
            c(Term::Int(i64::MIN), Term::Float(-9223372036854775808.0)),
            Ordering::Equal
        );
        assert_eq!(
            c(Term::Int(i64::MIN), Term::Float(-9223372036854777856.0)),
            Ordering::Greater
        );
        // Fractions on both sides of zero.
        assert_eq!(c(Term::Int(0), Term::Float(-0.25)), Ordering::Greater);
        assert_eq!(c(Term::Int(-1), Term::Float(-0.75)), Ordering::Less);
        assert_eq!(
            c(Term::Int(3), Term::Float(2.9999999999999996)),
            Ordering::Greater
        );
        assert_eq!(c(Term::Int(1), Term::Float(1.0)), Ordering::Equal);
        assert_eq!(c(Term::Float(-0.0), Term::Float(0.0)), Ordering::Equal);
        for inf in [f64::INFINITY, f64::NEG_INFINITY] {
            for v in [Term::Int(i64::MIN), Term::Int(0), Term::UInt(u64::MAX)] {
                let expected = if inf > 0.0 {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
                assert_eq!(c(Term::Float(inf), v.clone()), expected);
                assert_eq!(c(v, Term::Float(inf)), expected.reverse());
            }
        }
    }

    #[test]
    fn map_key_order_puts_an_integer_before_an_equal_float() {
        let k = |a: Term, b: Term| compare_map_keys(&enc(&a), &enc(&b));
        assert_eq!(k(Term::Int(1), Term::Float(1.0)), Ordering::Less);
        assert_eq!(k(Term::Float(1.0), Term::Int(1)), Ordering::Greater);
        assert_eq!(k(Term::Float(0.5), Term::Int(1)), Ordering::Greater);
        assert_eq!(k(Term::Int(i64::MAX), Term::Float(-1e300)), Ordering::Less);
        assert_eq!(k(Term::Int(0), Term::Float(-0.0)), Ordering::Less);
        assert_eq!(k(Term::Float(-0.0), Term::Float(0.0)), Ordering::Less);
        assert_eq!(k(Term::Float(0.0), Term::Float(-0.0)), Ordering::Greater);
        assert_eq!(
            k(Term::UInt(1 << 63), Term::Float(9223372036854775808.0)),
            Ordering::Less
        );
        // At every level.
        let one = Term::Array(vec![Term::Int(1)]);
        let one_f = Term::Array(vec![Term::Float(1.0)]);
        assert_eq!(k(one.clone(), one_f.clone()), Ordering::Less);
        assert_eq!(compare(&enc(&one), &enc(&one_f)), Ordering::Equal);
        let m = Term::map([("a", 1)]);
        let m_f = Term::map([("a", 1.0)]);
        assert_eq!(k(m.clone(), m_f.clone()), Ordering::Less);
        assert_eq!(compare(&enc(&m), &enc(&m_f)), Ordering::Equal);
        assert_eq!(k(m.clone(), m), Ordering::Equal);
    }

    #[test]
    fn non_canonical_but_valid_numbers_compare_by_value() {
        // float 32 and wide integers still compare by value.
        let f32_one = [&[0xca][..], &1.0f32.to_be_bytes()].concat();
        assert_eq!(compare(&f32_one, &[0x01]), Ordering::Equal);
        assert_eq!(compare(&[0xd0, 0x05], &[0x05]), Ordering::Equal);
        assert_eq!(
            compare(&[0xcd, 0x01, 0x00], &[0xcc, 0xff]),
            Ordering::Greater
        );
    }

    #[test]
    fn malformed_input_never_panics() {
        let samples: Vec<Vec<u8>> = vec![
            vec![],
            vec![0xc1],
            vec![0xd4, 0, 0],
            vec![0x92, 0x01],
            vec![0xdb, 0xff, 0xff, 0xff, 0xff],
            vec![0x82, 0x01],
            vec![0x81, 0x01, 0x02, 0x03],
            [&[0xcb][..], &f64::NAN.to_be_bytes()].concat(),
            vec![0x91; 1000],
            [&vec![0x81, 0x01][..]; 200].concat(),
        ];
        for a in &samples {
            for b in &samples {
                let ord = compare(a, b);
                assert_eq!(ord, compare(b, a).reverse());
                assert_eq!(compare_map_keys(a, b) == Ordering::Equal, a == b);
            }
            assert_eq!(compare(a, &[0x01]), compare(&[0x01], a).reverse());
        }
    }
}
