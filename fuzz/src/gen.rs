//! Bounded terms drawn from fuzzer input. Sizes are small on purpose: few distinct keys make
//! collisions (and so the interesting paths) frequent, and small terms keep executions fast.

use arbitrary::{Result, Unstructured};
use rets_core::{CounterOp, Term};

/// Integers that sit on encoding and overflow boundaries.
const EDGE_INTS: &[i64] = &[
    i64::MAX,
    i64::MIN,
    i64::MAX - 1,
    i64::MIN + 1,
    127,
    128,
    255,
    256,
    -32,
    -33,
    65_536,
    -2_147_483_649,
];

/// Floats, several compare-equal to small integers (1 == 1.0 on an ordered_set).
const FLOATS: &[f64] = &[
    0.0,
    -0.0,
    1.0,
    -1.0,
    2.0,
    0.5,
    1e300,
    -1e-300,
    f64::INFINITY,
    f64::NEG_INFINITY,
];

const STRS: &[&str] = &["", "a", "b", "ab", "é"];

/// A term nested at most `depth` more levels.
pub fn term(u: &mut Unstructured<'_>, depth: u32) -> Result<Term> {
    let max = if depth == 0 { 9 } else { 11 };
    Ok(match u.int_in_range(0..=max)? {
        0..=2 => Term::Int(u.int_in_range(-2..=4)?),
        3 => Term::Int(*u.choose(EDGE_INTS)?),
        4 => Term::Int(u.arbitrary()?),
        5 => Term::UInt(u.int_in_range(i64::MAX as u64 + 1..=u64::MAX)?),
        6 => Term::Float(*u.choose(FLOATS)?),
        7 => Term::Str((*u.choose(STRS)?).to_owned()),
        8 => {
            let len = u.int_in_range(0..=2)?;
            Term::Bin(
                (0..len)
                    .map(|_| u.int_in_range(0..=2))
                    .collect::<Result<_>>()?,
            )
        }
        9 => u
            .choose(&[Term::Nil, Term::Bool(false), Term::Bool(true)])?
            .clone(),
        10 => {
            let len = u.int_in_range(0..=3)?;
            Term::Array(
                (0..len)
                    .map(|_| term(u, depth - 1))
                    .collect::<Result<_>>()?,
            )
        }
        _ => {
            // Distinct keys by construction (1 and 1.0 are distinct map keys, as in Erlang).
            let pool = [
                Term::Int(0),
                Term::Int(1),
                Term::Float(1.0),
                Term::Str("a".into()),
            ];
            let mut pairs = Vec::new();
            for k in pool {
                if u.ratio(1, 3)? {
                    pairs.push((k, term(u, depth - 1)?));
                }
            }
            Term::Map(pairs)
        }
    })
}

/// A key: mostly small integers, so that keys collide; sometimes compare-equal floats or other
/// terms.
pub fn key(u: &mut Unstructured<'_>) -> Result<Term> {
    Ok(match u.int_in_range(0..=9)? {
        0..=5 => Term::Int(u.int_in_range(0..=5)?),
        6 => Term::Float(*u.choose(&[0.0, 1.0, 2.0, 2.5, -0.0])?),
        7 => Term::Bin(vec![u.int_in_range(0..=1)?]),
        8 => Term::Array(vec![Term::Int(u.int_in_range(0..=1)?)]),
        _ => term(u, 1)?,
    })
}

/// An element next to the key: mostly integers, so that counters apply.
pub fn element(u: &mut Unstructured<'_>) -> Result<Term> {
    Ok(if u.ratio(2, 3)? {
        Term::Int(u.int_in_range(-3..=3)?)
    } else {
        term(u, 2)?
    })
}

/// An object for a table with `keypos`: usually an array holding a key at keypos; sometimes too
/// short, sometimes not an array at all.
pub fn object(u: &mut Unstructured<'_>, keypos: usize) -> Result<Term> {
    if u.ratio(1, 40)? {
        return term(u, 1);
    }
    let arity = if u.ratio(1, 20)? {
        u.int_in_range(0..=keypos)?
    } else {
        u.int_in_range(keypos..=keypos + 2)?
    };
    let mut elements = Vec::with_capacity(arity);
    for pos in 1..=arity {
        elements.push(if pos == keypos { key(u)? } else { element(u)? });
    }
    Ok(Term::Array(elements))
}

/// A list of 0 to 4 objects.
pub fn objects(u: &mut Unstructured<'_>, keypos: usize) -> Result<Vec<Term>> {
    let len = u.int_in_range(0..=4)?;
    (0..len).map(|_| object(u, keypos)).collect()
}

/// A 1-based position, sometimes 0 or past the end.
pub fn position(u: &mut Unstructured<'_>) -> Result<usize> {
    u.int_in_range(0..=5)
}

/// An increment: small, or one that overflows.
pub fn incr(u: &mut Unstructured<'_>) -> Result<i64> {
    Ok(if u.ratio(7, 8)? {
        u.int_in_range(-3..=3)?
    } else {
        *u.choose(EDGE_INTS)?
    })
}

/// 0 to 3 counter ops, some with a threshold.
pub fn counter_ops(u: &mut Unstructured<'_>) -> Result<Vec<CounterOp>> {
    let len = u.int_in_range(0..=3)?;
    (0..len)
        .map(|_| {
            let (pos, incr) = (position(u)?, incr(u)?);
            Ok(if u.arbitrary()? {
                CounterOp::with_threshold(
                    pos,
                    incr,
                    u.int_in_range(-5..=5)?,
                    u.int_in_range(-5..=5)?,
                )
            } else {
                CounterOp::new(pos, incr)
            })
        })
        .collect()
}

/// 0 to 3 `(position, value)` pairs.
pub fn elements(u: &mut Unstructured<'_>) -> Result<Vec<(usize, Term)>> {
    let len = u.int_in_range(0..=3)?;
    (0..len).map(|_| Ok((position(u)?, element(u)?))).collect()
}
