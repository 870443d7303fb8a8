//! Operations on the objects of a table: insert, lookup, delete, counters, elements.
//!
//! Keys and objects cross the boundary as MessagePack bytes from any conforming encoder (or the
//! rets_builder); results are written into a `rets_buf` as MessagePack.

use rets_core::{CounterOp, Msgpack, Object, Term};

use crate::boundary::{arg_bytes, arg_mut, arg_opt_bytes, arg_ref, arg_slice, boundary};
use crate::boundary::{Failure, Out, Outcome};
use crate::buffer::rets_buf;
use crate::owner::write_term;
use crate::status::rets_status;
use crate::table::{arg_opt_term, rets_table};
use crate::term_builder::write_array_header;
use crate::term_reader::{self, Head};

/// Writes `objects` (canonical encodings) into `buf` as one MessagePack array.
pub(crate) fn write_objects<'a>(
    buf: &mut rets_buf,
    objects: impl ExactSizeIterator<Item = &'a [u8]>,
) {
    let out = buf.begin();
    write_array_header(objects.len(), out);
    for object in objects {
        out.extend_from_slice(object);
    }
    buf.finish();
}

pub(crate) fn write_owned_objects(buf: &mut rets_buf, objects: &[Object]) {
    write_objects(buf, objects.iter().map(Object::as_msgpack));
}

/// The objects of a MessagePack array argument holding a list of objects, as slices of it.
///
/// Only the list's structure is read here; each object is validated (and canonicalised) on its
/// own by the insert, so the limits apply to each object as to rets_table_insert(), not to the
/// list as a whole: a list of many objects may exceed the 64 MiB a single object may not.
pub(crate) fn object_list(bytes: &[u8]) -> Outcome<Vec<&[u8]>> {
    let (head, mut at) = term_reader::head(bytes, 0)?;
    let Head::Array(n) = head else {
        return Err(Failure::new(
            rets_status::NotAnArray,
            "bad object list: `objects` must be a MessagePack array of objects",
        ));
    };
    // `head` checked the count against the bytes that follow, so this capacity is bounded.
    let mut objects = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let end = term_reader::skip(bytes, at)?;
        objects.push(&bytes[at..end]);
        at = end;
    }
    if at != bytes.len() {
        return Err(Failure::new(
            rets_status::Malformed,
            format!(
                "malformed MessagePack: {} bytes after the object list",
                bytes.len() - at
            ),
        ));
    }
    Ok(objects)
}

/// Inserts one object (ETS `insert/2`): a MessagePack array whose element at the table's keypos
/// is its key. On a set it replaces the object with the same key; on a bag an identical object
/// is not added twice; a duplicate_bag keeps copies. Needs write access.
///
/// Ownership: `object` is borrowed for the call (the table keeps its own copy, in canonical
/// form).
///
/// Thread-safety: any thread; atomic and isolated.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`; `RETS_STATUS_NO_TABLE`; `RETS_STATUS_OWNER_CLOSED`;
/// `RETS_STATUS_ACCESS_DENIED`; `RETS_STATUS_MALFORMED`; `RETS_STATUS_UNSUPPORTED_TERM`;
/// `RETS_STATUS_LIMIT_EXCEEDED`; `RETS_STATUS_NOT_AN_ARRAY`; `RETS_STATUS_OBJECT_TOO_SHORT`.
/// On failure the table is unchanged.
#[no_mangle]
pub extern "C" fn rets_table_insert(
    table: *const rets_table,
    object: *const u8,
    object_len: usize,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let object = arg_bytes(object, object_len, "object")?;
        Ok(table.table.insert(Msgpack(object))?)
    })
}

/// Inserts a list of objects (`objects`: one MessagePack array of objects) atomically and in
/// isolation: a reader sees all of them or none. On a set, the last of several objects with one
/// key wins. If any object is invalid, nothing is inserted. Each object is checked against the
/// limits on its own, as by rets_table_insert() (64 MiB, nesting depth): the list itself has no
/// size limit.
///
/// Ownership, thread-safety, errors: as rets_table_insert(); `RETS_STATUS_NOT_AN_ARRAY` also
/// if `objects` is not an array.
#[no_mangle]
pub extern "C" fn rets_table_insert_many(
    table: *const rets_table,
    objects: *const u8,
    objects_len: usize,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let objects = object_list(arg_bytes(objects, objects_len, "objects")?)?;
        Ok(table
            .table
            .insert_many(objects.iter().map(|o| Msgpack(o)))?)
    })
}

/// Inserts `object` only if no object has its key (ETS `insert_new/2`); stores in `*inserted`
/// whether it did.
///
/// Ownership, thread-safety, errors: as rets_table_insert().
#[no_mangle]
pub extern "C" fn rets_table_insert_new(
    table: *const rets_table,
    object: *const u8,
    object_len: usize,
    inserted: *mut bool,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let object = arg_bytes(object, object_len, "object")?;
        let out = Out::new(inserted, "inserted")?;
        out.write(table.table.insert_new(Msgpack(object))?);
        Ok(())
    })
}

/// Inserts every object of the list `objects` only if none of their keys is present,
/// atomically; stores in `*inserted` whether it did.
///
/// Ownership, thread-safety, errors: as rets_table_insert_many().
#[no_mangle]
pub extern "C" fn rets_table_insert_new_many(
    table: *const rets_table,
    objects: *const u8,
    objects_len: usize,
    inserted: *mut bool,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let objects = object_list(arg_bytes(objects, objects_len, "objects")?)?;
        let out = Out::new(inserted, "inserted")?;
        out.write(
            table
                .table
                .insert_new_many(objects.iter().map(|o| Msgpack(o)))?,
        );
        Ok(())
    })
}

/// Writes into `out` the objects with `key` (ETS `lookup/2`) as one MessagePack array: empty if
/// the key is absent, at most one object on a set, in insertion order on a bag. On an
/// ordered_set the stored key may differ from `key` while comparing equal to it. Needs read
/// access.
///
/// This is the fast path: with a warm `out` and a key in canonical form (as rets_builder writes
/// keys, and as keys are in rets's results) it makes no allocation at all; a key in another
/// encoding is canonicalised into a temporary first.
///
/// Ownership: `key` is borrowed for the call (it may point into `out`, e.g. a key read from a
/// previous result). The result belongs to `out` (see rets_buf_data()).
///
/// Thread-safety: any thread, concurrently with any other operation on the table; `out` must
/// not be used by another thread during the call.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`; `RETS_STATUS_NO_TABLE`; `RETS_STATUS_OWNER_CLOSED`;
/// `RETS_STATUS_ACCESS_DENIED`; `RETS_STATUS_MALFORMED`; `RETS_STATUS_UNSUPPORTED_TERM`;
/// `RETS_STATUS_LIMIT_EXCEEDED` (key).
#[no_mangle]
pub extern "C" fn rets_table_lookup(
    table: *const rets_table,
    key: *const u8,
    key_len: usize,
    out: *mut rets_buf,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let key = arg_bytes(key, key_len, "key")?;
        let out = arg_mut(out, "out")?;
        // The result is written while the key is in use: a key inside `out` is copied first.
        let copy;
        let key = match out.contains(key) {
            true => {
                copy = key.to_vec();
                &copy[..]
            }
            false => key,
        };
        table.table.lookup_with(Msgpack(key), |objects| {
            write_objects(out, objects.map(|o| o.as_msgpack()));
        })?;
        Ok(())
    })
}

/// Stores in `*found` whether an object with `key` exists (ETS `member/2`).
///
/// Ownership, thread-safety, errors: as rets_table_lookup().
#[no_mangle]
pub extern "C" fn rets_table_member(
    table: *const rets_table,
    key: *const u8,
    key_len: usize,
    found: *mut bool,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let key = arg_bytes(key, key_len, "key")?;
        let out = Out::new(found, "found")?;
        out.write(table.table.member(Msgpack(key))?);
        Ok(())
    })
}

/// Writes into `out` the element at position `pos` (1-based) of the object with `key` (ETS
/// `lookup_element`): one MessagePack value on a set, an array of that element of every object
/// on a bag. If the key is absent: `default_value` (one MessagePack value) if it is not NULL
/// (ETS `lookup_element/4`), else `RETS_STATUS_KEY_NOT_FOUND`.
///
/// Ownership: `key` and `default_value` are borrowed for the call (they may point into `out`).
///
/// Thread-safety: as rets_table_lookup().
///
/// Errors: those of rets_table_lookup(); `RETS_STATUS_KEY_NOT_FOUND`;
/// `RETS_STATUS_BAD_POSITION` (`pos` is 0 or outside an object); the term errors also for
/// `default_value`.
#[no_mangle]
pub extern "C" fn rets_table_lookup_element(
    table: *const rets_table,
    key: *const u8,
    key_len: usize,
    pos: usize,
    default_value: *const u8,
    default_value_len: usize,
    out: *mut rets_buf,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let key = arg_bytes(key, key_len, "key")?;
        let default = arg_opt_term(default_value, default_value_len, "default_value")?;
        let out = arg_mut(out, "out")?;
        let element = match default {
            None => table.table.lookup_element(Msgpack(key), pos)?,
            Some(default) => table.table.lookup_element_or(Msgpack(key), pos, default)?,
        };
        write_term(out, &element);
        Ok(())
    })
}

/// Removes every object with `key` and writes them into `out` as one MessagePack array (ETS
/// `take/2`; empty if the key was absent). Needs write access.
///
/// Ownership: as rets_table_lookup().
///
/// Thread-safety: any thread; atomic and isolated.
///
/// Errors: as rets_table_lookup().
#[no_mangle]
pub extern "C" fn rets_table_take(
    table: *const rets_table,
    key: *const u8,
    key_len: usize,
    out: *mut rets_buf,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let key = arg_bytes(key, key_len, "key")?;
        let out = arg_mut(out, "out")?;
        let objects = table.table.take(Msgpack(key))?;
        write_owned_objects(out, &objects);
        Ok(())
    })
}

/// Removes every object with `key` (ETS `delete/2`). Deleting an absent key is not an error.
/// Needs write access.
///
/// Ownership: `key` is borrowed for the call. Thread-safety: any thread; atomic.
///
/// Errors: as rets_table_lookup().
#[no_mangle]
pub extern "C" fn rets_table_delete_key(
    table: *const rets_table,
    key: *const u8,
    key_len: usize,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let key = arg_bytes(key, key_len, "key")?;
        Ok(table.table.delete(Msgpack(key))?)
    })
}

/// Removes this exact object (ETS `delete_object/2`); on a duplicate_bag every copy of it.
/// Needs write access.
///
/// Ownership, thread-safety, errors: as rets_table_insert().
#[no_mangle]
pub extern "C" fn rets_table_delete_object(
    table: *const rets_table,
    object: *const u8,
    object_len: usize,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let object = arg_bytes(object, object_len, "object")?;
        Ok(table.table.delete_object(Msgpack(object))?)
    })
}

/// Removes every object, atomically and in isolation (ETS `delete_all_objects/1`). Needs write
/// access.
///
/// Thread-safety: any thread.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`, `RETS_STATUS_NO_TABLE`, `RETS_STATUS_OWNER_CLOSED`,
/// `RETS_STATUS_ACCESS_DENIED`.
#[no_mangle]
pub extern "C" fn rets_table_delete_all_objects(table: *const rets_table) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        Ok(table.table.delete_all_objects()?)
    })
}

/// Adds `incr` to the integer just after the key (position keypos + 1) of the object with `key`
/// and stores the new value in `*value` (ETS `update_counter(T, K, Incr)`). Needs write access;
/// sets and ordered_sets only.
///
/// Ownership: `key` is borrowed for the call. Thread-safety: any thread; atomic.
///
/// Errors: those of rets_table_lookup(); `RETS_STATUS_KEY_NOT_FOUND`;
/// `RETS_STATUS_WRONG_TABLE_TYPE` (a bag); `RETS_STATUS_BAD_POSITION` (the object has no
/// element after the key); `RETS_STATUS_NOT_AN_INTEGER`; `RETS_STATUS_OVERFLOW` (the result
/// does not fit an int64_t; nothing changes).
#[no_mangle]
pub extern "C" fn rets_table_update_counter(
    table: *const rets_table,
    key: *const u8,
    key_len: usize,
    incr: i64,
    value: *mut i64,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let key = arg_bytes(key, key_len, "key")?;
        let out = Out::new(value, "value")?;
        out.write(table.table.update_counter(Msgpack(key), incr)?);
        Ok(())
    })
}

/// One counter update: ETS's `{pos, incr}`, or `{pos, incr, threshold, set_value}` when
/// `has_threshold` is true (if `incr >= 0` and the result is above `threshold`, or `incr < 0`
/// and it is below, the counter becomes `set_value`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct rets_counter_op {
    /// The 1-based position of the counter (not the key's).
    pub pos: usize,
    /// What to add (may be negative).
    pub incr: i64,
    /// Whether `threshold` and `set_value` apply.
    pub has_threshold: bool,
    /// See above.
    pub threshold: i64,
    /// See above.
    pub set_value: i64,
}

/// Applies `ops` (an array of `ops_len` updates) in order to the object with `key`, atomically,
/// and stores each new value in `values[i]` (ETS `update_counter/3` with a list). If the key is
/// absent: with `default_object` not NULL (one object, MessagePack), first inserts it with its
/// key replaced by `key` (ETS `update_counter/4`); else `RETS_STATUS_KEY_NOT_FOUND`.
///
/// Ownership: `key`, `ops` and `default_object` are borrowed for the call; `values` must have room for
/// `ops_len` int64_t (it may be NULL only if `ops_len` is 0).
///
/// Thread-safety: any thread; atomic and isolated.
///
/// Errors: as rets_table_update_counter(), plus `RETS_STATUS_KEY_POSITION` (a position is the
/// key's), and the object errors of rets_table_insert() for `default_object`. On failure nothing
/// changes and `values` is not written.
#[no_mangle]
pub extern "C" fn rets_table_update_counters(
    table: *const rets_table,
    key: *const u8,
    key_len: usize,
    ops: *const rets_counter_op,
    ops_len: usize,
    default_object: *const u8,
    default_object_len: usize,
    values: *mut i64,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let key = arg_bytes(key, key_len, "key")?;
        let ops = arg_slice(ops, ops_len, "ops")?;
        let default = arg_opt_bytes(default_object, default_object_len, "default_object")?;
        if values.is_null() && ops_len > 0 {
            return Err(Failure::new(
                rets_status::NullArgument,
                "the argument `values` is NULL",
            ));
        }
        let ops = counter_ops(ops);
        let results = match default {
            None => table.table.update_counters(Msgpack(key), &ops)?,
            Some(default) => {
                table
                    .table
                    .update_counters_or(Msgpack(key), &ops, Msgpack(default))?
            }
        };
        for (i, result) in results.into_iter().enumerate() {
            Out::new(values.wrapping_add(i), "values")?.write(result);
        }
        Ok(())
    })
}

/// One element update for rets_table_update_element(): the 1-based position and the new value
/// (one MessagePack value of `value_len` bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct rets_element {
    /// The 1-based position (not the key's).
    pub pos: usize,
    /// The new value: one MessagePack value.
    pub value: *const u8,
    /// Its length in bytes.
    pub value_len: usize,
}

/// Replaces elements of the object with `key` (ETS `update_element`): `elements` is an array of
/// `elements_len` (position, value) pairs, applied atomically, the last winning for a repeated
/// position. Stores in `*updated` whether an object was updated: false if the key is absent and
/// `default_object` is NULL; with `default_object` (one object), an absent key first gets it
/// with its key replaced by `key` (ETS `update_element/4`). Needs write access; sets and ordered_sets
/// only.
///
/// Ownership: everything is borrowed for the call.
///
/// Thread-safety: any thread; atomic and isolated.
///
/// Errors: those of rets_table_lookup(); `RETS_STATUS_WRONG_TABLE_TYPE`;
/// `RETS_STATUS_KEY_POSITION`; `RETS_STATUS_BAD_POSITION`; the term errors for the values and
/// the object errors for `default_object`. On failure nothing changes.
#[no_mangle]
pub extern "C" fn rets_table_update_element(
    table: *const rets_table,
    key: *const u8,
    key_len: usize,
    elements: *const rets_element,
    elements_len: usize,
    default_object: *const u8,
    default_object_len: usize,
    updated: *mut bool,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let key = arg_bytes(key, key_len, "key")?;
        let elements = element_list(elements, elements_len)?;
        let default = arg_opt_bytes(default_object, default_object_len, "default_object")?;
        let out = Out::new(updated, "updated")?;
        let result = match default {
            None => table.table.update_element(Msgpack(key), &elements)?,
            Some(default) => {
                table
                    .table
                    .update_element_or(Msgpack(key), &elements, Msgpack(default))?
            }
        };
        out.write(result);
        Ok(())
    })
}

/// The core's counter operations for `ops`.
pub(crate) fn counter_ops(ops: &[rets_counter_op]) -> Vec<CounterOp> {
    ops.iter()
        .map(|op| match op.has_threshold {
            true => CounterOp::with_threshold(op.pos, op.incr, op.threshold, op.set_value),
            false => CounterOp::new(op.pos, op.incr),
        })
        .collect()
}

/// The (position, value) pairs of `elements`.
pub(crate) fn element_list(
    elements: *const rets_element,
    elements_len: usize,
) -> Outcome<Vec<(usize, Term)>> {
    arg_slice(elements, elements_len, "elements")?
        .iter()
        .map(|e| Ok((e.pos, arg_term_required(e.value, e.value_len)?)))
        .collect()
}

fn arg_term_required(ptr: *const u8, len: usize) -> Outcome<Term> {
    let bytes = arg_bytes(ptr, len, "elements[i].value")?;
    Ok(Term::from_msgpack(bytes).map_err(rets_core::Error::from)?)
}
