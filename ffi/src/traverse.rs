//! Traversal: first/next/last/prev, their _lookup forms, chunks of keys or objects, tab2list
//! and folds.

use std::ffi::c_void;
use std::ops::Bound;

use rets_core::{Key, Msgpack, Object};

use crate::boundary::{arg_bytes, arg_mut, arg_opt_bytes, arg_ref, boundary, Failure, Outcome};
use crate::buffer::rets_buf;
use crate::ops::write_owned_objects;
use crate::status::rets_status;
use crate::table::rets_table;
use crate::term_builder::write_array_header;

fn end_of_table() -> Failure {
    Failure::new(rets_status::EndOfTable, "end of table")
}

/// The result of a step: the key, or the end of the table.
fn step_key(result: rets_core::Result<Option<Key>>, key_out: &mut rets_buf) -> Outcome {
    let key = result?.ok_or_else(end_of_table)?;
    key_out.set(key.as_msgpack());
    Ok(())
}

type Step = rets_core::Result<Option<(Key, Vec<Object>)>>;

fn step_lookup(result: Step, key_out: &mut rets_buf, objects_out: &mut rets_buf) -> Outcome {
    let (key, objects) = result?.ok_or_else(end_of_table)?;
    key_out.set(key.as_msgpack());
    write_owned_objects(objects_out, &objects);
    Ok(())
}

/// Writes into `key_out` the first key in traversal order (ETS `first/1`): term order on an
/// ordered_set, the table's fixed internal order otherwise.
///
/// Traversal is always safe, as if the table were fixed with ETS's `safe_fixtable`: a
/// first/next traversal never fails because of concurrent writers and never returns a key
/// twice (it is not a snapshot: keys inserted meanwhile may or may not appear). A loop:
///
/// ```c
/// for (s = rets_table_first(t, k); s == RETS_STATUS_OK;
///      s = rets_table_next(t, rets_buf_data(k), rets_buf_len(k), k)) { ... }
/// if (s != RETS_STATUS_END_OF_TABLE) { error }
/// ```
///
/// Returns `RETS_STATUS_END_OF_TABLE` if the table is empty.
///
/// Thread-safety: any thread; `key_out` must not be used by another thread during the call.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`, `RETS_STATUS_NO_TABLE`, `RETS_STATUS_OWNER_CLOSED`,
/// `RETS_STATUS_ACCESS_DENIED`.
#[no_mangle]
pub extern "C" fn rets_table_first(
    table: *const rets_table,
    key_out: *mut rets_buf,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let key_out = arg_mut(key_out, "key_out")?;
        step_key(table.table.first(), key_out)
    })
}

/// Writes into `key_out` the key after `key` in traversal order (ETS `next/2`). `key` need not
/// be in the table (it may have been deleted meanwhile): the key after where it would be is
/// returned. `key` may point into `key_out` (as in the loop shown at rets_table_first()).
///
/// Returns `RETS_STATUS_END_OF_TABLE` after the last key.
///
/// Thread-safety: as rets_table_first().
///
/// Errors: those of rets_table_first(); `RETS_STATUS_MALFORMED`,
/// `RETS_STATUS_UNSUPPORTED_TERM`, `RETS_STATUS_LIMIT_EXCEEDED` (key).
#[no_mangle]
pub extern "C" fn rets_table_next(
    table: *const rets_table,
    key: *const u8,
    key_len: usize,
    key_out: *mut rets_buf,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let key = arg_bytes(key, key_len, "key")?;
        let key_out = arg_mut(key_out, "key_out")?;
        step_key(table.table.next(Msgpack(key)), key_out)
    })
}

/// Writes into `key_out` the last key in term order on an ordered_set (ETS `last/1`); on the
/// other types the same as rets_table_first().
///
/// Statuses: as rets_table_first().
#[no_mangle]
pub extern "C" fn rets_table_last(table: *const rets_table, key_out: *mut rets_buf) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let key_out = arg_mut(key_out, "key_out")?;
        step_key(table.table.last(), key_out)
    })
}

/// Writes into `key_out` the key before `key` on an ordered_set (ETS `prev/2`); on the other
/// types the same as rets_table_next().
///
/// Statuses: as rets_table_next().
#[no_mangle]
pub extern "C" fn rets_table_prev(
    table: *const rets_table,
    key: *const u8,
    key_len: usize,
    key_out: *mut rets_buf,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let key = arg_bytes(key, key_len, "key")?;
        let key_out = arg_mut(key_out, "key_out")?;
        step_key(table.table.prev(Msgpack(key)), key_out)
    })
}

/// rets_table_first() that also writes the objects of that key into `objects_out`, as one
/// MessagePack array (ETS `first_lookup/1`). `key_out` and `objects_out` must be two different
/// buffers.
///
/// Statuses: as rets_table_first(); `RETS_STATUS_INVALID_ARGUMENT` if the buffers are the same.
#[no_mangle]
pub extern "C" fn rets_table_first_lookup(
    table: *const rets_table,
    key_out: *mut rets_buf,
    objects_out: *mut rets_buf,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let (key_out, objects_out) = two_buffers(key_out, objects_out)?;
        step_lookup(table.table.first_lookup(), key_out, objects_out)
    })
}

/// rets_table_next() that also writes the objects of that key into `objects_out` (ETS
/// `next_lookup/2`). `key` may point into either buffer.
///
/// Statuses: as rets_table_next(); `RETS_STATUS_INVALID_ARGUMENT` if the buffers are the same.
#[no_mangle]
pub extern "C" fn rets_table_next_lookup(
    table: *const rets_table,
    key: *const u8,
    key_len: usize,
    key_out: *mut rets_buf,
    objects_out: *mut rets_buf,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let key = arg_bytes(key, key_len, "key")?;
        let (key_out, objects_out) = two_buffers(key_out, objects_out)?;
        step_lookup(table.table.next_lookup(Msgpack(key)), key_out, objects_out)
    })
}

/// rets_table_last() that also writes the objects of that key into `objects_out` (ETS
/// `last_lookup/1`).
///
/// Statuses: as rets_table_first_lookup().
#[no_mangle]
pub extern "C" fn rets_table_last_lookup(
    table: *const rets_table,
    key_out: *mut rets_buf,
    objects_out: *mut rets_buf,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let (key_out, objects_out) = two_buffers(key_out, objects_out)?;
        step_lookup(table.table.last_lookup(), key_out, objects_out)
    })
}

/// rets_table_prev() that also writes the objects of that key into `objects_out` (ETS
/// `prev_lookup/2`).
///
/// Statuses: as rets_table_next_lookup().
#[no_mangle]
pub extern "C" fn rets_table_prev_lookup(
    table: *const rets_table,
    key: *const u8,
    key_len: usize,
    key_out: *mut rets_buf,
    objects_out: *mut rets_buf,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let key = arg_bytes(key, key_len, "key")?;
        let (key_out, objects_out) = two_buffers(key_out, objects_out)?;
        step_lookup(table.table.prev_lookup(Msgpack(key)), key_out, objects_out)
    })
}

fn two_buffers<'a>(
    a: *mut rets_buf,
    b: *mut rets_buf,
) -> Outcome<(&'a mut rets_buf, &'a mut rets_buf)> {
    if !a.is_null() && a == b {
        return Err(Failure::invalid(
            "`key_out` and `objects_out` must be different buffers",
        ));
    }
    Ok((arg_mut(a, "key_out")?, arg_mut(b, "objects_out")?))
}

/// Writes every object into `out` as one MessagePack array, in traversal order (ETS
/// `tab2list/1`). Not a snapshot: objects written during the call may or may not appear.
///
/// Thread-safety: any thread; `out` must not be used by another thread during the call.
///
/// Errors: as rets_table_first().
#[no_mangle]
pub extern "C" fn rets_table_tab2list(table: *const rets_table, out: *mut rets_buf) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let out = arg_mut(out, "out")?;
        let objects = table.table.tab2list()?;
        write_owned_objects(out, &objects);
        Ok(())
    })
}

/// A fold callback: called with `ctx` and one object (MessagePack, `object_len` bytes, valid
/// only during the call). Return true to go on, false to stop the fold.
#[allow(non_camel_case_types)]
pub type rets_fold_fn =
    Option<extern "C" fn(ctx: *mut c_void, object: *const u8, object_len: usize) -> bool>;

fn fold(table: *const rets_table, backward: bool, f: rets_fold_fn, ctx: *mut c_void) -> Outcome {
    let table = &arg_ref(table, "table")?.table;
    let Some(f) = f else {
        return Err(Failure::new(
            rets_status::NullArgument,
            "the argument `f` is NULL",
        ));
    };
    // The engine's iterator: chunks of objects copied out of the table, so no lock or guard is
    // held while `f` runs (`f` may call into rets, even this table); stops when `f` asks to.
    let mut objects = if backward {
        table.iter_rev()
    } else {
        table.iter()
    };
    while let Some(object) = objects.next_ref() {
        let bytes = object?.as_msgpack();
        if !f(ctx, bytes.as_ptr(), bytes.len()) {
            return Ok(());
        }
    }
    Ok(())
}

/// Calls `f(ctx, object, object_len)` on every object in traversal order (ETS `foldl/3`; the
/// accumulator lives in `ctx`) until `f` returns false. `f` runs with no lock held and may call
/// rets, even on this table; objects written meanwhile may or may not be visited, and no key is
/// visited twice.
///
/// Ownership: `ctx` is passed through untouched. Each object is valid only during its call.
///
/// Thread-safety: any thread; `f` runs on the calling thread. `f` must not unwind (a C++
/// exception, longjmp) through rets: that is undefined behaviour.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT` (`table` or `f`), `RETS_STATUS_NO_TABLE`,
/// `RETS_STATUS_OWNER_CLOSED`, `RETS_STATUS_ACCESS_DENIED` (also if the table is deleted or
/// access is lost during the fold: the objects visited so far stay visited).
#[no_mangle]
pub extern "C" fn rets_table_foldl(
    table: *const rets_table,
    f: rets_fold_fn,
    ctx: *mut c_void,
) -> rets_status {
    boundary(|| fold(table, false, f, ctx))
}

/// As rets_table_foldl(), in reverse traversal order (ETS `foldr/3`; the same order as foldl
/// except on an ordered_set).
#[no_mangle]
pub extern "C" fn rets_table_foldr(
    table: *const rets_table,
    f: rets_fold_fn,
    ctx: *mut c_void,
) -> rets_status {
    boundary(|| fold(table, true, f, ctx))
}

/// Flags of rets_table_next_chunk(), or'ed together (0: keys, forward, strictly after `key`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum rets_chunk_flag {
    /// Write the objects of each key (all of them, in order, on a bag) instead of the keys.
    Objects = 1,
    /// Go backward (descending term order) on an ordered_set; on other types the flag is
    /// ignored, as rets_table_prev() is rets_table_next() there.
    Reverse = 2,
    /// Start at `key` itself if it is in the table (else at the key after it), instead of
    /// strictly after it.
    Inclusive = 4,
}

const CHUNK_FLAGS: u32 = rets_chunk_flag::Objects as u32
    | rets_chunk_flag::Reverse as u32
    | rets_chunk_flag::Inclusive as u32;

/// Writes into `out` the next `n` keys after `key` in traversal order, or with
/// `RETS_CHUNK_FLAG_OBJECTS` their objects, as one MessagePack array, and the last of those
/// keys into `last_key_out`: `n` steps of rets_table_next() (or rets_table_next_lookup()) in one
/// call, read with one search of the table rather than one per key. `key` NULL (with `key_len`
/// 0) starts at the first key (the last one with `RETS_CHUNK_FLAG_REVERSE`). `key` need not be
/// in the table. `flags` is 0 or an or of `rets_chunk_flag` values.
///
/// A chunk holds whole keys: with `RETS_CHUNK_FLAG_OBJECTS` on a bag, `n` keys may give more
/// than `n` objects. Fewer than `n` keys means the end of the table was reached. A loop:
///
/// ```c
/// const uint8_t *at = NULL; size_t at_len = 0;
/// while ((s = rets_table_next_chunk(t, at, at_len, 100, RETS_CHUNK_FLAG_OBJECTS, objs, last))
///        == RETS_STATUS_OK) {
///     ... read the array in objs ...
///     at = rets_buf_data(last); at_len = rets_buf_len(last);
/// }
/// if (s != RETS_STATUS_END_OF_TABLE) { error }
/// ```
///
/// Traversal is safe as with rets_table_first(): a traversal by chunks never fails because of
/// concurrent writers, never returns a key twice, and returns every key present throughout it
/// exactly once; keys written meanwhile may or may not appear. On an ordered_set a multi-key
/// write is in one chunk whole or not at all.
///
/// Returns `RETS_STATUS_END_OF_TABLE` if no key is left after `key`.
///
/// Ownership: `key` may point into `last_key_out` (as in the loop) or `out`.
///
/// Thread-safety: any thread; `out` and `last_key_out` must not be used by another thread
/// during the call.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`, `RETS_STATUS_NO_TABLE`, `RETS_STATUS_OWNER_CLOSED`,
/// `RETS_STATUS_ACCESS_DENIED`; `RETS_STATUS_INVALID_ARGUMENT` if `n` is 0, `flags` has an
/// unknown bit, or `out` and `last_key_out` are the same buffer; `RETS_STATUS_MALFORMED`,
/// `RETS_STATUS_UNSUPPORTED_TERM`, `RETS_STATUS_LIMIT_EXCEEDED` (key).
#[no_mangle]
pub extern "C" fn rets_table_next_chunk(
    table: *const rets_table,
    key: *const u8,
    key_len: usize,
    n: usize,
    flags: u32,
    out: *mut rets_buf,
    last_key_out: *mut rets_buf,
) -> rets_status {
    boundary(|| {
        let table = &arg_ref(table, "table")?.table;
        let key = arg_opt_bytes(key, key_len, "key")?;
        if !out.is_null() && out == last_key_out {
            return Err(Failure::invalid(
                "`out` and `last_key_out` must be different buffers",
            ));
        }
        let out = arg_mut(out, "out")?;
        let last_key_out = arg_mut(last_key_out, "last_key_out")?;
        if flags & !CHUNK_FLAGS != 0 {
            return Err(Failure::invalid(format!(
                "unknown flags 0x{:x} (rets_chunk_flag values only)",
                flags & !CHUNK_FLAGS
            )));
        }
        let has = |flag: rets_chunk_flag| flags & flag as u32 != 0;
        let start = match key {
            None => Bound::Unbounded,
            Some(k) if has(rets_chunk_flag::Inclusive) => Bound::Included(Msgpack(k)),
            Some(k) => Bound::Excluded(Msgpack(k)),
        };
        // Written into local buffers first: `key` may point into an output, and outputs are
        // written only on success.
        let (mut items, mut count, mut last) = (Vec::new(), 0, Vec::new());
        let objects = has(rets_chunk_flag::Objects);
        let keys = table.chunk_with(start, n, has(rets_chunk_flag::Reverse), |k, found| {
            if objects {
                for o in found {
                    items.extend_from_slice(o.as_msgpack());
                    count += 1;
                }
            } else {
                items.extend_from_slice(k);
                count += 1;
            }
            last.clear();
            last.extend_from_slice(k);
        })?;
        if keys == 0 {
            return Err(end_of_table());
        }
        let buf = out.begin();
        write_array_header(count, buf);
        buf.extend_from_slice(&items);
        out.finish();
        last_key_out.set(&last);
        Ok(())
    })
}
