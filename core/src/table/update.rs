//! update_counter and update_element: building the updated object, or failing with nothing
//! changed.

use std::cell::Cell;

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

/// How many counter ops (or update_element elements) are worked out on the stack; longer
/// lists use the heap.
const INLINE_OPS: usize = 4;

/// One counter op worked out: its position, new value and that value's encoding, and where
/// the element it replaces is in the object (start, length).
#[derive(Clone, Copy, Default)]
pub(super) struct Counted {
    pos: usize,
    pub(super) value: i64,
    encoded: [u8; 9],
    len: usize,
    at: usize,
    old_len: usize,
}

impl Counted {
    /// `op` worked out against `current`: applied to the integer at its position, or to
    /// `earlier`, the value an earlier op of the same update left there. A lone op (the common
    /// `update_counter(key, incr)`) is worked out alone, without [`Counters`]' room for a list.
    // Inlined: out of line, the lone op's in-place path paid a call and a returned copy of
    // the result (18 instructions an update).
    #[inline(always)]
    pub(super) fn work_out(
        current: ObjectRef<'_>,
        op: &CounterOp,
        keypos: usize,
        earlier: Option<i64>,
    ) -> Result<Counted> {
        check_position(op.pos, keypos, current.arity())?;
        let element = current
            .element_at(op.pos, keypos)
            .expect("position checked");
        let value = match earlier {
            Some(v) => i128::from(v),
            None => match term::read_int(element) {
                Some(v) => v,
                None => return Err(Error::NotAnInteger { pos: op.pos }),
            },
        };
        let value = op.apply(value)?;
        let mut encoded = [0u8; 9];
        let len = term::write_int_to(i128::from(value), &mut encoded);
        Ok(Counted {
            pos: op.pos,
            value,
            encoded,
            len,
            at: element.as_ptr() as usize - current.as_msgpack().as_ptr() as usize,
            old_len: element.len(),
        })
    }

    /// Whether the new value encodes to as many bytes as the element it replaces.
    pub(super) fn keeps_width(&self) -> bool {
        self.len == self.old_len
    }

    /// The in-place edit that makes the update: `(offset in the object, bytes)`.
    pub(super) fn edit(&self) -> (usize, &[u8]) {
        (self.at, &self.encoded[..self.len])
    }
}

/// The counter ops of one update, worked out against the object (on the stack for a few).
pub(super) struct Counters {
    inline: [Counted; INLINE_OPS],
    heap: Vec<Counted>,
    n: usize,
}

impl Counters {
    /// Room for the results of `n` ops, to work them out into (the caller keeps it in its
    /// frame: returned by value, its 256 bytes were copied three times an update).
    pub(super) fn with_room(n: usize) -> Counters {
        Counters {
            inline: [Counted::default(); INLINE_OPS],
            heap: if n > INLINE_OPS {
                vec![Counted::default(); n]
            } else {
                Vec::new()
            },
            n,
        }
    }

    /// Works out `ops` (as many as [`Counters::with_room`] made room for) in order against
    /// `current`, or fails with nothing changed.
    pub(super) fn work_out(
        &mut self,
        current: ObjectRef<'_>,
        ops: &[CounterOp],
        keypos: usize,
    ) -> Result<()> {
        assert_eq!(ops.len(), self.n, "room for as many ops");
        let results = self.all_mut();
        for (i, op) in ops.iter().enumerate() {
            // A later op on the same position sees the earlier op's result.
            let earlier = results[..i].iter().rev().find(|r| r.pos == op.pos);
            results[i] = Counted::work_out(current, op, keypos, earlier.map(|r| r.value))?;
        }
        Ok(())
    }

    fn all(&self) -> &[Counted] {
        if self.n > INLINE_OPS {
            &self.heap
        } else {
            &self.inline[..self.n]
        }
    }

    fn all_mut(&mut self) -> &mut [Counted] {
        if self.n > INLINE_OPS {
            &mut self.heap
        } else {
            &mut self.inline[..self.n]
        }
    }

    /// Each op's new value, to `values` (as long as the ops).
    pub(super) fn values(&self, values: &mut [i64]) {
        for (value, r) in values.iter_mut().zip(self.all()) {
            *value = r.value;
        }
    }

    /// Whether every new value encodes to as many bytes as the element it replaces (the update
    /// can then be made in place).
    pub(super) fn keep_widths(&self) -> bool {
        self.all().iter().all(|r| r.len == r.old_len)
    }

    /// If every new value encodes to as many bytes as the element it replaces, calls `f` with
    /// the in-place edits that make the update, `(offset in the object, bytes)` in op order (a
    /// later op on the same position overwrites an earlier one), and returns its result.
    pub(super) fn with_edits<R>(&self, f: impl FnOnce(&[(usize, &[u8])]) -> R) -> Option<R> {
        if !self.keep_widths() {
            return None;
        }
        Some(self.with_pairs(|r| r.at, f))
    }

    /// `current` (the object the ops were worked out against) with the new values.
    pub(super) fn apply(&self, current: ObjectRef<'_>, keypos: usize) -> Result<Object> {
        self.with_pairs(
            |r| r.pos,
            |replacements| current.with_elements(replacements, keypos),
        )
    }

    /// Calls `f` with `(place(op), new encoding)` for every op, in op order.
    fn with_pairs<R>(
        &self,
        place: impl Fn(&Counted) -> usize,
        f: impl FnOnce(&[(usize, &[u8])]) -> R,
    ) -> R {
        with_pairs(self.all(), |r| (place(r), &r.encoded[..r.len]), f)
    }
}

/// Calls `f` with `pair(item)` for every item, in order: on the stack for a few items.
fn with_pairs<'a, T, R>(
    items: &'a [T],
    pair: impl Fn(&'a T) -> (usize, &'a [u8]),
    f: impl FnOnce(&[(usize, &'a [u8])]) -> R,
) -> R {
    if items.len() > INLINE_OPS {
        let pairs: Vec<(usize, &[u8])> = items.iter().map(pair).collect();
        return f(&pairs);
    }
    let mut pairs: [(usize, &[u8]); INLINE_OPS] = [(0, &[]); INLINE_OPS];
    for (p, item) in pairs.iter_mut().zip(items) {
        *p = pair(item);
    }
    f(&pairs[..items.len()])
}

/// The new elements of an update_element call, encoded into one buffer: each element's position,
/// its bytes' span in `bytes`, and (once [`EncodedElements::place`] found it) where the element
/// it replaces starts in the object. One allocation for a few elements, where a vector of
/// vectors took one for the list and one for each element.
pub(super) struct EncodedElements {
    bytes: Vec<u8>,
    inline: [Span; INLINE_OPS],
    more: Vec<Span>,
    count: usize,
}

/// One new element: its position, its bytes' span in [`EncodedElements::bytes`], and the offset
/// in the object of the element it replaces (set by [`EncodedElements::place`]).
#[derive(Clone, Copy, Default)]
struct Span {
    pos: usize,
    start: usize,
    end: usize,
    at: usize,
}

impl EncodedElements {
    fn spans(&self) -> &[Span] {
        if self.count <= INLINE_OPS {
            &self.inline[..self.count]
        } else {
            &self.more
        }
    }

    fn spans_mut(&mut self) -> &mut [Span] {
        if self.count <= INLINE_OPS {
            &mut self.inline[..self.count]
        } else {
            &mut self.more
        }
    }

    /// Checks the positions against `current` and finds where each new element goes in it:
    /// `Ok(true)` if every new element encodes to as many bytes as the one it replaces, so that
    /// [`EncodedElements::with_edits`] makes the update in place; `Ok(false)` if not.
    pub(super) fn place(&mut self, current: ObjectRef<'_>, keypos: usize) -> Result<bool> {
        let arity = current.arity();
        let base = current.as_msgpack().as_ptr() as usize;
        let mut same_widths = true;
        for span in self.spans_mut() {
            check_position(span.pos, keypos, arity)?;
            let element = current
                .element_at(span.pos, keypos)
                .expect("position checked");
            same_widths &= element.len() == span.end - span.start;
            span.at = element.as_ptr() as usize - base;
        }
        Ok(same_widths)
    }

    /// Calls `f` with the in-place edits that make the update, `(offset in the object, bytes)`
    /// in the call's order (a later element for the same position overwrites an earlier one,
    /// as ETS's last one wins). Only after [`EncodedElements::place`] returned `Ok(true)`.
    pub(super) fn with_edits<R>(&self, f: impl FnOnce(&[(usize, &[u8])]) -> R) -> R {
        with_pairs(
            self.spans(),
            |span| (span.at, &self.bytes[span.start..span.end]),
            f,
        )
    }
}

thread_local! {
    /// The buffer of this thread's last [`EncodedElements`], taken by the next: an update then
    /// allocates nothing to encode its elements (a growing vector's allocation and free were
    /// about 150 instructions of an update made in place).
    static SPARE_BYTES: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

impl Drop for EncodedElements {
    fn drop(&mut self) {
        // Not a large update's buffer, kept for the life of the thread.
        if self.bytes.capacity() <= 1 << 12 {
            let mut bytes = std::mem::take(&mut self.bytes);
            bytes.clear();
            // (Fails only while the thread's locals are being destroyed: then it is freed.)
            let _ = SPARE_BYTES.try_with(|spare| spare.set(bytes));
        }
    }
}

/// Encodes the new elements of an update_element call, rejecting the key position and 0.
pub(super) fn encode_elements(
    elements: &[(usize, Term)],
    keypos: usize,
) -> Result<EncodedElements> {
    let mut encoded = EncodedElements {
        bytes: SPARE_BYTES.try_with(Cell::take).unwrap_or_default(),
        inline: [Span::default(); INLINE_OPS],
        more: Vec::new(),
        count: elements.len(),
    };
    for (i, (pos, value)) in elements.iter().enumerate() {
        if *pos == keypos {
            return Err(Error::KeyPosition { pos: *pos });
        }
        if *pos == 0 {
            return Err(Error::BadPosition { pos: 0, arity: 0 });
        }
        let start = encoded.bytes.len();
        term::encode(value, &mut encoded.bytes)?;
        let span = Span {
            pos: *pos,
            start,
            end: encoded.bytes.len(),
            at: 0,
        };
        if encoded.count <= INLINE_OPS {
            encoded.inline[i] = span;
        } else {
            encoded.more.push(span);
        }
    }
    Ok(encoded)
}

/// The object with the encoded elements in place.
pub(super) fn apply_elements(
    current: ObjectRef<'_>,
    encoded: &EncodedElements,
    keypos: usize,
) -> Result<Object> {
    let arity = current.arity();
    let spans = encoded.spans();
    for span in spans {
        check_position(span.pos, keypos, arity)?;
    }
    with_pairs(
        spans,
        |span| (span.pos, &encoded.bytes[span.start..span.end]),
        |replacements| current.with_elements(replacements, keypos),
    )
}
