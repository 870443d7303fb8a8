//! Property tests of the term module: canonical form, decoding and order on random terms.

use std::cmp::Ordering;

use proptest::prelude::*;

use super::{canonicalize, codec, compare, compare_map_keys, decode, encode, Term, TermError};

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

const TWO53: i64 = 1 << 53;

fn arb_int() -> impl Strategy<Value = Term> {
    prop_oneof![
        (-3i64..=3).prop_map(Term::Int),
        any::<i64>().prop_map(Term::Int),
        prop::sample::select(vec![
            i64::MIN,
            i64::MIN + 1,
            i64::MAX,
            -TWO53 - 1,
            -TWO53,
            TWO53,
            TWO53 + 1,
            TWO53 + 2,
            -33,
            -32,
            127,
            128,
            255,
            256,
            65535,
            65536,
            i64::from(i32::MIN),
            i64::from(u32::MAX),
        ])
        .prop_map(Term::Int),
        prop::sample::select(vec![1u64 << 63, (1 << 63) + 1, u64::MAX - 1, u64::MAX])
            .prop_map(Term::UInt),
        ((1u64 << 63)..=u64::MAX).prop_map(Term::UInt),
    ]
}

fn arb_float() -> impl Strategy<Value = Term> {
    prop_oneof![
        (-3i32..=3).prop_map(|i| Term::Float(f64::from(i))),
        any::<f64>()
            .prop_filter("not NaN", |f| !f.is_nan())
            .prop_map(Term::Float),
        prop::sample::select(vec![
            -0.0,
            0.0,
            0.5,
            -0.5,
            1.5,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            9007199254740992.0,
            9007199254740994.0,
            -9007199254740992.0,
            9223372036854775808.0,
            -9223372036854775808.0,
            18446744073709551616.0,
        ])
        .prop_map(Term::Float),
    ]
}

fn arb_leaf() -> impl Strategy<Value = Term> {
    prop_oneof![
        3 => arb_int(),
        3 => arb_float(),
        1 => Just(Term::Nil),
        1 => any::<bool>().prop_map(Term::Bool),
        2 => "[a-z]{0,3}|[a-z]{15,17}|é".prop_map(|s| Term::atom(&s)),
        2 => "[ab]{0,2}".prop_map(Term::Str),
        1 => ".{0,40}".prop_map(Term::Str),
        2 => prop::collection::vec(0u8..3, 0..3).prop_map(Term::Bin),
        1 => prop::collection::vec(any::<u8>(), 250..260).prop_map(Term::Bin),
    ]
}

/// Keeps the first of every set of exactly equal keys, so the map encodes.
fn dedup_keys(pairs: Vec<(Term, Term)>) -> Term {
    let mut seen: Vec<Vec<u8>> = Vec::new();
    let mut out = Vec::new();
    for (k, v) in pairs {
        let kb = k.to_msgpack().expect("generated keys encode");
        if !seen.contains(&kb) {
            seen.push(kb);
            out.push((k, v));
        }
    }
    Term::Map(out)
}

pub(super) fn arb_term() -> impl Strategy<Value = Term> {
    arb_leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Term::Array),
            prop::collection::vec((inner.clone(), inner), 0..5).prop_map(dedup_keys),
        ]
    })
}

/// Terms drawn from a small space, so that ties and equal-but-not-identical pairs are common.
pub(super) fn arb_small_term() -> impl Strategy<Value = Term> {
    let leaf = prop_oneof![
        (-2i64..=2).prop_map(Term::Int),
        prop::sample::select(vec![-1.0, -0.0, 0.0, 0.5, 1.0, 2.0, f64::INFINITY])
            .prop_map(Term::Float),
        Just(Term::Nil),
        any::<bool>().prop_map(Term::Bool),
        prop::sample::select(vec!["a", "ok", "o", "nil", "true"]).prop_map(Term::atom),
        "[ab]{0,1}".prop_map(Term::Str),
        prop::collection::vec(0u8..2, 0..2).prop_map(Term::Bin),
    ];
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Term::Array),
            prop::collection::vec((inner.clone(), inner), 0..3).prop_map(dedup_keys),
        ]
    })
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn enc(t: &Term) -> Vec<u8> {
    t.to_msgpack().expect("generated terms encode")
}

/// The term with integers in one representation and map entries in map-key order.
fn normalize(t: &Term) -> Term {
    match t {
        Term::UInt(u) => match i64::try_from(*u) {
            Ok(i) => Term::Int(i),
            Err(_) => Term::UInt(*u),
        },
        Term::Array(items) => Term::Array(items.iter().map(normalize).collect()),
        Term::Map(pairs) => {
            let mut pairs: Vec<(Term, Term)> = pairs
                .iter()
                .map(|(k, v)| (normalize(k), normalize(v)))
                .collect();
            pairs.sort_by(|a, b| compare_map_keys(&enc(&a.0), &enc(&b.0)));
            Term::Map(pairs)
        }
        other => other.clone(),
    }
}

/// A deterministic stream of choices for [`noisy_encode`].
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn pick<T: Copy>(&mut self, options: &[T]) -> T {
        options[(self.next() % options.len() as u64) as usize]
    }
}

fn put_len(marker: u8, width: usize, len: usize, out: &mut Vec<u8>) {
    out.push(marker);
    out.extend_from_slice(&(len as u64).to_be_bytes()[8 - width..]);
}

/// Some valid, usually non-canonical MessagePack encoding of `t`: any integer width and family
/// that holds the value, float 32 when exact, any header width, map entries shuffled.
fn noisy_encode(t: &Term, rng: &mut Rng, out: &mut Vec<u8>) {
    match t {
        Term::Nil | Term::Bool(_) | Term::Atom(_) => {
            let name = t.as_atom().expect("an atom");
            let special = !matches!(t, Term::Atom(_));
            let len = name.len();
            // (marker, length width); special names also as their one-byte marker.
            let mut forms = vec![(0xc9u8, 4usize), (0xc8, 2), (0xc7, 1)];
            if matches!(len, 1 | 2 | 4 | 8 | 16) {
                forms.push((0xd4 + len.trailing_zeros() as u8, 0));
            }
            if special {
                forms.extend([(0, 9), (0, 9), (0, 9)]);
            }
            match rng.pick(&forms) {
                (_, 9) => out.push(match t {
                    Term::Nil => 0xc0,
                    Term::Bool(true) => 0xc3,
                    _ => 0xc2,
                }),
                (m, w) => {
                    put_len(m, w, len, out);
                    out.push(super::atom::ATOM_EXT as u8);
                    out.extend_from_slice(name.as_bytes());
                }
            }
        }
        Term::Int(_) | Term::UInt(_) => {
            let v: i128 = match t {
                Term::Int(i) => i128::from(*i),
                Term::UInt(u) => i128::from(*u),
                _ => unreachable!(),
            };
            // (marker, width, min, max)
            let forms: [(u8, usize, i128, i128); 10] = [
                (0xcc, 1, 0, 0xff),
                (0xcd, 2, 0, 0xffff),
                (0xce, 4, 0, 0xffff_ffff),
                (0xcf, 8, 0, i128::from(u64::MAX)),
                (0xd0, 1, -128, 127),
                (0xd1, 2, -32768, 32767),
                (0xd2, 4, i128::from(i32::MIN), i128::from(i32::MAX)),
                (0xd3, 8, i128::from(i64::MIN), i128::from(i64::MAX)),
                (0x00, 0, 0, 127),
                (0xe0, 0, -32, -1),
            ];
            let fitting: Vec<_> = forms.iter().filter(|f| f.2 <= v && v <= f.3).collect();
            let &&(marker, width, _, _) = &fitting[(rng.next() % fitting.len() as u64) as usize];
            if width == 0 {
                out.push(v as u8);
            } else {
                out.push(marker);
                out.extend_from_slice(&(v as u64).to_be_bytes()[8 - width..]);
            }
        }
        Term::Float(f) => {
            let narrow = *f as f32;
            if f64::from(narrow).to_bits() == f.to_bits() && rng.pick(&[true, false]) {
                out.push(0xca);
                out.extend_from_slice(&narrow.to_be_bytes());
            } else {
                out.push(0xcb);
                out.extend_from_slice(&f.to_be_bytes());
            }
        }
        Term::Str(s) => {
            let len = s.len();
            let mut forms = vec![(0xdbu8, 4usize)];
            if len <= 0xffff {
                forms.push((0xda, 2));
            }
            if len <= 0xff {
                forms.push((0xd9, 1));
            }
            if len <= 31 {
                forms.push((0xa0 | len as u8, 0));
            }
            let (m, w) = rng.pick(&forms);
            put_len(m, w, len, out);
            out.extend_from_slice(s.as_bytes());
        }
        Term::Bin(b) => {
            let len = b.len();
            let mut forms = vec![(0xc6u8, 4usize)];
            if len <= 0xffff {
                forms.push((0xc5, 2));
            }
            if len <= 0xff {
                forms.push((0xc4, 1));
            }
            let (m, w) = rng.pick(&forms);
            put_len(m, w, len, out);
            out.extend_from_slice(b);
        }
        Term::Array(items) => {
            let len = items.len();
            let mut forms = vec![(0xddu8, 4usize), (0xdc, 2)];
            if len <= 15 {
                forms.push((0x90 | len as u8, 0));
            }
            let (m, w) = rng.pick(&forms);
            put_len(m, w, len, out);
            for item in items {
                noisy_encode(item, rng, out);
            }
        }
        Term::Map(pairs) => {
            let len = pairs.len();
            let mut forms = vec![(0xdfu8, 4usize), (0xde, 2)];
            if len <= 15 {
                forms.push((0x80 | len as u8, 0));
            }
            let (m, w) = rng.pick(&forms);
            put_len(m, w, len, out);
            let mut order: Vec<usize> = (0..len).collect();
            for i in (1..len).rev() {
                order.swap(i, (rng.next() % (i as u64 + 1)) as usize);
            }
            for i in order {
                noisy_encode(&pairs[i].0, rng, out);
                noisy_encode(&pairs[i].1, rng, out);
            }
        }
    }
}

/// An independent reference for term order (or map-key order with `exact`), on `Term`s.
fn ref_cmp(a: &Term, b: &Term, exact: bool) -> Ordering {
    fn rank(t: &Term) -> u8 {
        match t {
            Term::Int(_) | Term::UInt(_) | Term::Float(_) => 0,
            Term::Bool(_) | Term::Nil | Term::Atom(_) => 1,
            Term::Array(_) => 2,
            Term::Map(_) => 3,
            Term::Str(_) => 4,
            Term::Bin(_) => 5,
        }
    }
    fn int(t: &Term) -> Option<i128> {
        match t {
            Term::Int(i) => Some(i128::from(*i)),
            Term::UInt(u) => Some(i128::from(*u)),
            _ => None,
        }
    }
    /// Integer against float, by floor and exact integral comparison.
    fn int_vs_float(i: i128, f: f64) -> Ordering {
        if f.is_infinite() || f.abs() > 1e30 {
            return if f > 0.0 {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        if f.fract() != 0.0 {
            // |f| < 2^52 here, so floor is exact.
            return if i <= f.floor() as i128 {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        i.cmp(&(f as i128))
    }
    fn sorted(pairs: &[(Term, Term)]) -> Vec<&(Term, Term)> {
        let mut v: Vec<&(Term, Term)> = pairs.iter().collect();
        v.sort_by(|x, y| ref_cmp(&x.0, &y.0, true));
        v
    }
    let (ra, rb) = (rank(a), rank(b));
    if ra != rb {
        return ra.cmp(&rb);
    }
    match (a, b) {
        _ if ra == 0 => match (int(a), int(b), a, b) {
            (Some(x), Some(y), _, _) => x.cmp(&y),
            (None, None, Term::Float(x), Term::Float(y)) => {
                if exact {
                    // -0.0 before 0.0, otherwise by value.
                    x.partial_cmp(y)
                        .unwrap()
                        .then(y.is_sign_positive().cmp(&x.is_sign_positive()).reverse())
                } else {
                    x.partial_cmp(y).unwrap()
                }
            }
            // Map-key order: every integer before every float.
            (Some(_), None, _, Term::Float(_)) if exact => Ordering::Less,
            (None, Some(_), Term::Float(_), _) if exact => Ordering::Greater,
            (Some(x), None, _, Term::Float(y)) => int_vs_float(x, *y),
            (None, Some(y), Term::Float(x), _) => int_vs_float(y, *x).reverse(),
            _ => unreachable!(),
        },
        (Term::Array(x), Term::Array(y)) => x.len().cmp(&y.len()).then_with(|| {
            x.iter()
                .zip(y)
                .map(|(p, q)| ref_cmp(p, q, exact))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        }),
        (Term::Map(x), Term::Map(y)) => x.len().cmp(&y.len()).then_with(|| {
            let (sx, sy) = (sorted(x), sorted(y));
            sx.iter()
                .zip(&sy)
                .map(|(p, q)| ref_cmp(&p.0, &q.0, true))
                .chain(sx.iter().zip(&sy).map(|(p, q)| ref_cmp(&p.1, &q.1, exact)))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        }),
        (Term::Str(x), Term::Str(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Term::Bin(x), Term::Bin(y)) => x.cmp(y),
        _ if ra == 1 => {
            let (x, y) = (a.as_atom().unwrap(), b.as_atom().unwrap());
            x.as_bytes().cmp(y.as_bytes())
        }
        _ => unreachable!(),
    }
}

fn has_map(t: &Term) -> bool {
    match t {
        Term::Map(_) => true,
        Term::Array(items) => items.iter().any(has_map),
        _ => false,
    }
}

fn canon(input: &[u8]) -> Result<Vec<u8>, TermError> {
    let mut out = Vec::new();
    canonicalize(input, &mut out).map(|()| out)
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

proptest! {
    // 512 cases by default; PROPTEST_CASES overrides.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512)
    ))]

    #[test]
    fn encoding_is_canonical_and_round_trips(t in arb_term()) {
        let bytes = enc(&t);
        prop_assert_eq!(canon(&bytes)?, bytes.clone());
        let back = decode(&bytes)?;
        prop_assert_eq!(normalize(&back), normalize(&t));
        prop_assert_eq!(enc(&back), bytes.clone());
        // The decoded term's maps are already in map-key order.
        prop_assert_eq!(&back, &normalize(&back));
    }

    #[test]
    fn any_encoding_canonicalizes_to_the_canonical_one(t in arb_term(), seed in any::<u64>()) {
        let mut noisy = Vec::new();
        noisy_encode(&t, &mut Rng(seed | 1), &mut noisy);
        let expected = enc(&t);
        let got = canon(&noisy)?;
        prop_assert_eq!(&got, &expected);
        prop_assert_eq!(canon(&got)?, expected);
        prop_assert_eq!(normalize(&decode(&noisy)?), normalize(&t));
        // Term order does not depend on integer, float or header widths (compare needs maps
        // sorted, as they are in canonical form).
        if !has_map(&t) {
            prop_assert_eq!(compare(&noisy, &got), Ordering::Equal);
        }
    }

    #[test]
    fn compare_matches_the_reference(a in arb_term(), b in arb_term()) {
        let (ea, eb) = (enc(&a), enc(&b));
        prop_assert_eq!(compare(&ea, &eb), ref_cmp(&a, &b, false));
        prop_assert_eq!(compare_map_keys(&ea, &eb), ref_cmp(&a, &b, true));
    }

    #[test]
    fn orders_are_consistent_on_small_terms(
        a in arb_small_term(), b in arb_small_term(), c in arb_small_term()
    ) {
        let (ea, eb, ec) = (enc(&a), enc(&b), enc(&c));
        for cmp in [compare as fn(&[u8], &[u8]) -> Ordering, compare_map_keys] {
            // Antisymmetric.
            prop_assert_eq!(cmp(&ea, &eb), cmp(&eb, &ea).reverse());
            prop_assert_eq!(cmp(&ea, &ea), Ordering::Equal);
            // Transitive, on every ordering of the triple.
            let all = [&ea, &eb, &ec];
            for x in all {
                for y in all {
                    for z in all {
                        let (xy, yz, xz) = (cmp(x, y), cmp(y, z), cmp(x, z));
                        if xy != Ordering::Greater && yz != Ordering::Greater {
                            prop_assert_ne!(xz, Ordering::Greater);
                            if xy == Ordering::Less || yz == Ordering::Less {
                                prop_assert_eq!(xz, Ordering::Less);
                            }
                        }
                    }
                }
            }
        }
        // Map-key order is exact equality, and refines term order on scalars other than an
        // int/float pair (every int sorts before every float there). Not on containers: the
        // rule applies at every level, as in Erlang.
        prop_assert_eq!(compare_map_keys(&ea, &eb) == Ordering::Equal, ea == eb);
        let c_ab = compare(&ea, &eb);
        let scalar = |t: &Term| !matches!(t, Term::Array(_) | Term::Map(_));
        let int = |t: &Term| matches!(t, Term::Int(_) | Term::UInt(_));
        let mixed_numbers = (int(&a) && matches!(b, Term::Float(_))) || (int(&b) && matches!(a, Term::Float(_)));
        if c_ab != Ordering::Equal && scalar(&a) && scalar(&b) && !mixed_numbers {
            prop_assert_eq!(compare_map_keys(&ea, &eb), c_ab);
        }
        prop_assert_eq!(compare(&ea, &eb), ref_cmp(&a, &b, false));
    }

    #[test]
    fn mutated_encodings_never_panic(t in arb_term(), at in any::<usize>(), byte in any::<u8>()) {
        let mut bytes = enc(&t);
        let i = at % bytes.len();
        bytes[i] = byte;
        let mut out = vec![0xaa];
        match canonicalize(&bytes, &mut out) {
            Ok(()) => {
                let c = out[1..].to_vec();
                prop_assert_eq!(canon(&c)?, c.clone());
                prop_assert_eq!(enc(&decode(&bytes)?), c.clone());
                prop_assert_eq!(compare(&c, &c), Ordering::Equal);
            }
            Err(e) => {
                prop_assert_eq!(out, vec![0xaa]);
                prop_assert_eq!(decode(&bytes), Err(e));
            }
        }
        let _ = compare(&bytes, &enc(&t));
        let _ = compare_map_keys(&bytes, &enc(&t));
    }

    /// The scan's plain loop (arrays, integers, strings, binaries) settles what it can and
    /// hands the rest to the general scan: together they find what the general scan alone
    /// finds, on canonical, non-canonical, mutated, cut and random input.
    #[test]
    fn the_plain_scan_agrees_with_the_general_one(
        t in arb_term(),
        seed in any::<u64>(),
        at in any::<usize>(),
        byte in any::<u8>(),
        random in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let canonical = enc(&t);
        let mut noisy = Vec::new();
        noisy_encode(&t, &mut Rng(seed | 1), &mut noisy);
        let mut mutated = canonical.clone();
        let i = at % mutated.len();
        mutated[i] = byte;
        let cut = &canonical[..at % (canonical.len() + 1)];
        let mut trailing = canonical.clone();
        trailing.push(byte);
        for input in [&canonical[..], &noisy, &mutated, cut, &trailing, &random] {
            let (plain, general) = codec::scan_both(input);
            prop_assert_eq!(plain, general, "input {:02x?}", input);
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(c) = canon(&bytes) {
            prop_assert_eq!(canon(&c)?, c.clone());
        }
        let _ = decode(&bytes);
        prop_assert_eq!(compare(&bytes, &bytes), Ordering::Equal);
    }
}

#[test]
fn encode_error_truncates_even_deep_in_a_large_term() {
    let mut big = vec![Term::from("x"); 1000];
    big.push(Term::Float(f64::NAN));
    let mut out = vec![1];
    assert!(matches!(
        encode(&Term::Array(big), &mut out),
        Err(TermError::NaN { .. })
    ));
    assert_eq!(out, vec![1]);
}

/// The plain scan's hand-over points that random terms rarely reach: arrays nested deeper than
/// it keeps open, and deeper than any term may be; a value it does not settle below them.
#[test]
fn the_plain_scan_hands_over_deep_nesting_and_what_it_does_not_settle() {
    let nested = |depth: usize, innermost: &[u8]| {
        let mut bytes = vec![0x91; depth];
        bytes.extend_from_slice(innermost);
        bytes
    };
    let cases = [
        nested(3, &[0x05]),
        nested(12, &[0x05]),
        nested(12, &[0xcc, 0x05]), // a small uint in 8 bits: not canonical
        nested(12, &[0x81, 0x01, 0x02]), // a map
        nested(12, &[0xa1]),       // a string cut short
        nested(12, &[0xdc, 0x00, 0x01, 0x05]), // a one-item array in a 16-bit header
        nested(200, &[0x05]),      // deeper than a term may be
        nested(5, &[0x9f, 0x01]),  // claims more items than there are bytes
        nested(5, &[0xca, 0x3f, 0x80, 0x00, 0x00]), // a float in 32 bits
    ];
    for input in cases {
        let (plain, general) = codec::scan_both(&input);
        assert_eq!(plain, general, "input {input:02x?}");
    }
    assert_eq!(codec::scan_both(&nested(12, &[0x05])).0, Ok((true, 13)));
    assert_eq!(
        codec::scan_both(&nested(12, &[0xcc, 0x05])).0,
        Ok((false, 13))
    );
    assert!(matches!(
        codec::scan_both(&nested(200, &[0x05])).0,
        Err(TermError::TooDeep { .. })
    ));
}
