//! update_counter and update_element: building the updated object, or failing with nothing
//! changed.

use crate::error::{Error, Result};
use crate::object::{Object, ObjectRef};
use crate::term::{self, Term};

/// One counter update (ETS `{Pos, Incr}` or `{Pos, Incr, Threshold, SetValue}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterOp {
    /// The 1-based position of the counter.
    pub pos: usize,
    /// What to add (may be negative).
    pub incr: i64,
    /// `(threshold, set_value)`: if `incr >= 0` and the result is above `threshold`, or
    /// `incr < 0` and the result is below it, the counter becomes `set_value` instead.
    pub threshold: Option<(i64, i64)>,
}

impl CounterOp {
    /// `{pos, incr}`.
    pub fn new(pos: usize, incr: i64) -> CounterOp {
        CounterOp {
            pos,
            incr,
            threshold: None,
        }
    }

    /// `{pos, incr, threshold, set_value}`.
    pub fn with_threshold(pos: usize, incr: i64, threshold: i64, set_value: i64) -> CounterOp {
        CounterOp {
            pos,
            incr,
            threshold: Some((threshold, set_value)),
        }
    }

    fn apply(&self, value: i128) -> Result<i64> {
        let incr = i128::from(self.incr);
        let mut result = value + incr;
        if let Some((threshold, set_value)) = self.threshold {
            let threshold = i128::from(threshold);
            if (incr >= 0 && result > threshold) || (incr < 0 && result < threshold) {
                result = i128::from(set_value);
            }
        }
        i64::try_from(result).map_err(|_| Error::Overflow)
    }
}

fn check_position(pos: usize, keypos: usize, arity: usize) -> Result<()> {
    if pos == keypos {
        return Err(Error::KeyPosition { pos });
    }
    if pos == 0 || pos > arity {
        return Err(Error::BadPosition { pos, arity });
    }
    Ok(())
}

/// How many counter ops are worked out on the stack; longer lists use the heap.
const INLINE_OPS: usize = 4;

/// The object after applying `ops` in order; the value each op produced goes to `values`
/// (as long as `ops`).
pub(super) fn apply_counters(
    current: ObjectRef<'_>,
    ops: &[CounterOp],
    keypos: usize,
    values: &mut [i64],
) -> Result<Object> {
    let arity = current.arity();
    // (position, new value, its encoding and length) per op.
    let mut inline = [(0usize, 0i64, [0u8; 9], 0usize); INLINE_OPS];
    let mut heap;
    let results = if ops.len() <= INLINE_OPS {
        &mut inline[..ops.len()]
    } else {
        heap = vec![(0usize, 0i64, [0u8; 9], 0usize); ops.len()];
        &mut heap[..]
    };
    for (i, op) in ops.iter().enumerate() {
        check_position(op.pos, keypos, arity)?;
        // A later op on the same position sees the earlier op's result.
        let value = match results[..i].iter().rev().find(|r| r.0 == op.pos) {
            Some(r) => i128::from(r.1),
            None => {
                let element = current.element_msgpack(op.pos).expect("position checked");
                term::read_int(element).ok_or(Error::NotAnInteger { pos: op.pos })?
            }
        };
        let value = op.apply(value)?;
        let mut encoded = [0u8; 9];
        let len = term::write_int_to(i128::from(value), &mut encoded);
        results[i] = (op.pos, value, encoded, len);
    }
    let mut inline_replacements: [(usize, &[u8]); INLINE_OPS] = [(0, &[]); INLINE_OPS];
    let mut heap_replacements;
    let replacements = if ops.len() <= INLINE_OPS {
        &mut inline_replacements[..ops.len()]
    } else {
        heap_replacements = vec![(0usize, &[][..]); ops.len()];
        &mut heap_replacements[..]
    };
    for (r, out) in results.iter().zip(replacements.iter_mut()) {
        *out = (r.0, &r.2[..r.3]);
    }
    let updated = current.with_elements(replacements, keypos)?;
    for (value, r) in values.iter_mut().zip(results.iter()) {
        *value = r.1;
    }
    Ok(updated)
}

/// Encodes the new elements of an update_element call, rejecting the key position and 0.
pub(super) fn encode_elements(
    elements: &[(usize, Term)],
    keypos: usize,
) -> Result<Vec<(usize, Vec<u8>)>> {
    elements
        .iter()
        .map(|(pos, value)| {
            if *pos == keypos {
                return Err(Error::KeyPosition { pos: *pos });
            }
            if *pos == 0 {
                return Err(Error::BadPosition { pos: 0, arity: 0 });
            }
            let mut bytes = Vec::new();
            term::encode(value, &mut bytes)?;
            Ok((*pos, bytes))
        })
        .collect()
}

/// The object with the encoded elements in place.
pub(super) fn apply_elements(
    current: ObjectRef<'_>,
    encoded: &[(usize, Vec<u8>)],
    keypos: usize,
) -> Result<Object> {
    let arity = current.arity();
    for (pos, _) in encoded {
        check_position(*pos, keypos, arity)?;
    }
    let replacements: Vec<(usize, &[u8])> =
        encoded.iter().map(|(p, b)| (*p, b.as_slice())).collect();
    current.with_elements(&replacements, keypos)
}
