//! Match specifications and the select family: `rets_matchspec` (compiled once, run many
//! times, on any table), select/select_reverse/select_count/select_delete/select_replace,
//! match/match_object/match_delete, and chunked selects resumed through a
//! `rets_select_cont`.
//!
//! Specs and patterns cross the boundary as MessagePack bytes (the term form of ETS, with atoms
//! as ext type 97: see rets_builder_atom()); results are written into a `rets_buf` as one
//! MessagePack array.

use rets_core::query::MatchSpec;
use rets_core::{Continuation, Object, Term};

use crate::boundary::{arg_bytes, arg_mut, arg_ref, boundary, from_handle, into_handle, release};
use crate::boundary::{Failure, Out, Outcome};
use crate::buffer::rets_buf;
use crate::ops::write_owned_objects;
use crate::status::rets_status;
use crate::table::rets_table;
use crate::term_builder::write_array_header;

/// A compiled match specification. Compile it once with rets_matchspec_compile() and run it on
/// any table, any number of times, from any thread.
///
/// Thread-safety: immutable; may be used by many threads at once.
#[allow(non_camel_case_types)]
pub struct rets_matchspec {
    spec: MatchSpec,
}

/// The rest of a chunked select, match or match_object (ETS's continuation). Each
/// rets_select_cont_next() writes the next chunk and moves the continuation on.
///
/// Thread-safety: may move between threads; must not be used by two threads at once.
#[allow(non_camel_case_types)]
pub struct rets_select_cont {
    state: ContState,
}

enum ContState {
    Terms(Continuation<Term>),
    Objects(Continuation<Object>),
    Done,
}

/// Writes results into `out` as one MessagePack array.
fn write_terms(out: &mut rets_buf, results: &[Term]) -> Outcome {
    let mut bytes = Vec::new();
    write_array_header(results.len(), &mut bytes);
    for r in results {
        rets_core::term::encode(r, &mut bytes).map_err(rets_core::Error::from)?;
    }
    out.set(&bytes);
    Ok(())
}

fn end_of_table() -> Failure {
    Failure::new(rets_status::EndOfTable, "end of table")
}

fn check_limit(limit: usize) -> Outcome {
    if limit == 0 {
        return Err(Failure::invalid("the limit must be at least 1"));
    }
    Ok(())
}

/// Compiles the match specification encoded at `spec` (`len` bytes of MessagePack: an array of
/// clauses `[Head, [Guard...], [Body...]]`, as ETS's `[{Head, [Guard], [Body]}]`, with `'_'`,
/// `'$1'`, `'$_'`, `'$$'` and function names as atoms) and stores it in `*out`. The language
/// and its limits are in docs/QUERIES.md.
///
/// Ownership: `spec` is borrowed for the call; the caller owns `*out` and frees it with
/// rets_matchspec_free(). Thread-safety: any thread.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`; `RETS_STATUS_MALFORMED`, `RETS_STATUS_UNSUPPORTED_TERM`,
/// `RETS_STATUS_LIMIT_EXCEEDED` (the bytes); `RETS_STATUS_BAD_MATCH_SPEC` (not a valid spec:
/// the message names the clause and what is wrong).
#[no_mangle]
pub extern "C" fn rets_matchspec_compile(
    spec: *const u8,
    len: usize,
    out: *mut *mut rets_matchspec,
) -> rets_status {
    boundary(|| {
        let bytes = arg_bytes(spec, len, "spec")?;
        let out = Out::new(out, "out")?;
        let spec = MatchSpec::from_msgpack(bytes)?;
        out.write(into_handle(rets_matchspec { spec }));
        Ok(())
    })
}

/// Frees a compiled match specification. NULL is ignored.
///
/// Undefined behaviour: freeing it twice, or while another thread uses it.
#[no_mangle]
pub extern "C" fn rets_matchspec_free(spec: *mut rets_matchspec) {
    release(|| drop(from_handle(spec)));
}

/// Writes into `out` the results of `spec` on every object (ETS `select/2`), as one MessagePack
/// array: for each object, the body of the first clause that matches it. On an ordered_set in
/// key order. A fully bound key is one lookup; a partially bound key on an ordered_set reads
/// only its range. Needs read access.
///
/// Thread-safety: any thread; traverses as rets_table_first()/next() do (never fails because of
/// concurrent writers, not a snapshot); `out` must not be used by another thread.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`, `RETS_STATUS_NO_TABLE`, `RETS_STATUS_OWNER_CLOSED`,
/// `RETS_STATUS_ACCESS_DENIED`, `RETS_STATUS_LIMIT_EXCEEDED` (a result nested too deep).
#[no_mangle]
pub extern "C" fn rets_table_select(
    table: *const rets_table,
    spec: *const rets_matchspec,
    out: *mut rets_buf,
) -> rets_status {
    boundary(|| {
        let (table, spec) = (arg_ref(table, "table")?, arg_ref(spec, "spec")?);
        let out = arg_mut(out, "out")?;
        write_terms(out, &table.table.select(&spec.spec)?)
    })
}

/// rets_table_select() in reverse order on an ordered_set; the same as rets_table_select() on
/// other types (ETS `select_reverse/2`).
///
/// Thread-safety and errors: as rets_table_select().
#[no_mangle]
pub extern "C" fn rets_table_select_reverse(
    table: *const rets_table,
    spec: *const rets_matchspec,
    out: *mut rets_buf,
) -> rets_status {
    boundary(|| {
        let (table, spec) = (arg_ref(table, "table")?, arg_ref(spec, "spec")?);
        let out = arg_mut(out, "out")?;
        write_terms(out, &table.table.select_reverse(&spec.spec)?)
    })
}

/// Stores in `*count` the number of objects for which `spec` gives `true` (ETS
/// `select_count/2`).
///
/// Thread-safety and errors: as rets_table_select().
#[no_mangle]
pub extern "C" fn rets_table_select_count(
    table: *const rets_table,
    spec: *const rets_matchspec,
    count: *mut usize,
) -> rets_status {
    boundary(|| {
        let (table, spec) = (arg_ref(table, "table")?, arg_ref(spec, "spec")?);
        let count = Out::new(count, "count")?;
        count.write(table.table.select_count(&spec.spec)?);
        Ok(())
    })
}

/// Deletes every object for which `spec` gives `true` and stores how many in `*deleted` (ETS
/// `select_delete/2`). Each deletion is atomic (an object changed meanwhile is left); the call
/// as a whole is not. Needs write access.
///
/// Thread-safety and errors: as rets_table_select().
#[no_mangle]
pub extern "C" fn rets_table_select_delete(
    table: *const rets_table,
    spec: *const rets_matchspec,
    deleted: *mut usize,
) -> rets_status {
    boundary(|| {
        let (table, spec) = (arg_ref(table, "table")?, arg_ref(spec, "spec")?);
        let deleted = Out::new(deleted, "deleted")?;
        deleted.write(table.table.select_delete(&spec.spec)?);
        Ok(())
    })
}

/// Replaces every matching object with the result of `spec` on it and stores how many in
/// `*replaced` (ETS `select_replace/2`). Each replacement is atomic: the object is replaced only
/// if it is still there unchanged (a compare-and-swap). Not on a bag (as ETS). Every
/// clause must keep the key: its body is `'$_'`, or a tuple construction `{{...}}` with the
/// head's key, unchanged, at the key position; otherwise nothing changes and the status is
/// `RETS_STATUS_BAD_MATCH_SPEC`. Needs write access.
///
/// Errors: as rets_table_select(); `RETS_STATUS_WRONG_TABLE_TYPE` (a bag),
/// `RETS_STATUS_BAD_MATCH_SPEC`; the errors of an object (a result that is not a valid object).
#[no_mangle]
pub extern "C" fn rets_table_select_replace(
    table: *const rets_table,
    spec: *const rets_matchspec,
    replaced: *mut usize,
) -> rets_status {
    boundary(|| {
        let (table, spec) = (arg_ref(table, "table")?, arg_ref(spec, "spec")?);
        let replaced = Out::new(replaced, "replaced")?;
        replaced.write(table.table.select_replace(&spec.spec)?);
        Ok(())
    })
}

/// Stores a started chunked select: its first chunk into `out`, the continuation into
/// `*cont_out`.
fn start<T>(
    first: rets_core::Result<Option<(Vec<T>, Continuation<T>)>>,
    out: &mut rets_buf,
    cont_out: Out<*mut rets_select_cont>,
    write: impl FnOnce(&mut rets_buf, &[T]) -> Outcome,
    wrap: impl FnOnce(Continuation<T>) -> ContState,
) -> Outcome {
    let (results, cont) = first?.ok_or_else(end_of_table)?;
    write(out, &results)?;
    cont_out.write(into_handle(rets_select_cont { state: wrap(cont) }));
    Ok(())
}

/// The first chunk of rets_table_select(): up to `limit` (at least 1) results into `out`, and a
/// continuation for the rest into `*cont_out` (ETS `select/3`). A chunk has `limit` results,
/// fewer only at the end. Returns `RETS_STATUS_END_OF_TABLE` (and no continuation) if there is
/// no result at all.
///
/// Ownership: the caller owns `*cont_out` and frees it with rets_select_cont_free().
///
/// Errors: as rets_table_select(); `RETS_STATUS_INVALID_ARGUMENT` (limit 0).
#[no_mangle]
pub extern "C" fn rets_table_select_limit(
    table: *const rets_table,
    spec: *const rets_matchspec,
    limit: usize,
    out: *mut rets_buf,
    cont_out: *mut *mut rets_select_cont,
) -> rets_status {
    boundary(|| {
        let (table, spec) = (arg_ref(table, "table")?, arg_ref(spec, "spec")?);
        let (out, cont_out) = (arg_mut(out, "out")?, Out::new(cont_out, "cont_out")?);
        check_limit(limit)?;
        let first = table.table.select_limit(&spec.spec, limit);
        start(first, out, cont_out, write_terms, ContState::Terms)
    })
}

/// rets_table_select_limit() in reverse order on an ordered_set (ETS `select_reverse/3`).
///
/// Ownership and errors: as rets_table_select_limit().
#[no_mangle]
pub extern "C" fn rets_table_select_reverse_limit(
    table: *const rets_table,
    spec: *const rets_matchspec,
    limit: usize,
    out: *mut rets_buf,
    cont_out: *mut *mut rets_select_cont,
) -> rets_status {
    boundary(|| {
        let (table, spec) = (arg_ref(table, "table")?, arg_ref(spec, "spec")?);
        let (out, cont_out) = (arg_mut(out, "out")?, Out::new(cont_out, "cont_out")?);
        check_limit(limit)?;
        let first = table.table.select_reverse_limit(&spec.spec, limit);
        start(first, out, cont_out, write_terms, ContState::Terms)
    })
}

/// Writes the next chunk of a chunked select, match or match_object into `out` and moves `cont`
/// past it (ETS `select/1`, `match/1`, `match_object/1`). Returns `RETS_STATUS_END_OF_TABLE`
/// when nothing is left (then again on every later call; free the continuation). The walk
/// resumes with first/next's guarantee: no key twice, whatever was written meanwhile. On
/// failure `cont` is unchanged.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`; `RETS_STATUS_NO_TABLE` (the table was deleted),
/// `RETS_STATUS_OWNER_CLOSED`, `RETS_STATUS_ACCESS_DENIED`; `RETS_STATUS_LIMIT_EXCEEDED`.
#[no_mangle]
pub extern "C" fn rets_select_cont_next(
    cont: *mut rets_select_cont,
    out: *mut rets_buf,
) -> rets_status {
    boundary(|| {
        let cont = arg_mut(cont, "cont")?;
        let out = arg_mut(out, "out")?;
        let next = match &cont.state {
            ContState::Done => return Err(end_of_table()),
            ContState::Terms(c) => match c.clone().next()? {
                None => ContState::Done,
                Some((results, c)) => {
                    write_terms(out, &results)?;
                    ContState::Terms(c)
                }
            },
            ContState::Objects(c) => match c.clone().next()? {
                None => ContState::Done,
                Some((objects, c)) => {
                    write_owned_objects(out, &objects);
                    ContState::Objects(c)
                }
            },
        };
        let done = matches!(next, ContState::Done);
        cont.state = next;
        if done {
            return Err(end_of_table());
        }
        Ok(())
    })
}

/// Frees a continuation. NULL is ignored.
///
/// Undefined behaviour: freeing it twice, or while another thread uses it.
#[no_mangle]
pub extern "C" fn rets_select_cont_free(cont: *mut rets_select_cont) {
    release(|| drop(from_handle(cont)));
}

/// Writes into `out`, as one MessagePack array, the bindings of `pattern`'s variables for every
/// object that matches it, each an array in variable order (ETS `match/2`). `pattern` is
/// MessagePack: a tuple pattern with `'_'` and `'$N'` atoms.
///
/// Errors: as rets_table_select(); `RETS_STATUS_MALFORMED`, `RETS_STATUS_UNSUPPORTED_TERM`,
/// `RETS_STATUS_BAD_MATCH_SPEC` (the pattern).
#[no_mangle]
pub extern "C" fn rets_table_match(
    table: *const rets_table,
    pattern: *const u8,
    pattern_len: usize,
    out: *mut rets_buf,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let pattern = pattern_term(pattern, pattern_len)?;
        let out = arg_mut(out, "out")?;
        write_terms(out, &table.table.match_pattern(&pattern)?)
    })
}

/// Writes into `out`, as one MessagePack array, every object that matches `pattern` (ETS
/// `match_object/2`).
///
/// Errors: as rets_table_match().
#[no_mangle]
pub extern "C" fn rets_table_match_object(
    table: *const rets_table,
    pattern: *const u8,
    pattern_len: usize,
    out: *mut rets_buf,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let pattern = pattern_term(pattern, pattern_len)?;
        let out = arg_mut(out, "out")?;
        write_owned_objects(out, &table.table.match_object(&pattern)?);
        Ok(())
    })
}

/// The first chunk of rets_table_match() and a continuation (ETS `match/3`).
///
/// Ownership and errors: as rets_table_select_limit() and rets_table_match().
#[no_mangle]
pub extern "C" fn rets_table_match_limit(
    table: *const rets_table,
    pattern: *const u8,
    pattern_len: usize,
    limit: usize,
    out: *mut rets_buf,
    cont_out: *mut *mut rets_select_cont,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let pattern = pattern_term(pattern, pattern_len)?;
        let (out, cont_out) = (arg_mut(out, "out")?, Out::new(cont_out, "cont_out")?);
        check_limit(limit)?;
        let first = table.table.match_pattern_limit(&pattern, limit);
        start(first, out, cont_out, write_terms, ContState::Terms)
    })
}

/// The first chunk of rets_table_match_object() and a continuation (ETS `match_object/3`).
///
/// Ownership and errors: as rets_table_select_limit() and rets_table_match().
#[no_mangle]
pub extern "C" fn rets_table_match_object_limit(
    table: *const rets_table,
    pattern: *const u8,
    pattern_len: usize,
    limit: usize,
    out: *mut rets_buf,
    cont_out: *mut *mut rets_select_cont,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let pattern = pattern_term(pattern, pattern_len)?;
        let (out, cont_out) = (arg_mut(out, "out")?, Out::new(cont_out, "cont_out")?);
        check_limit(limit)?;
        let first = table.table.match_object_limit(&pattern, limit);
        let write = |out: &mut rets_buf, objects: &[Object]| {
            write_owned_objects(out, objects);
            Ok(())
        };
        start(first, out, cont_out, write, ContState::Objects)
    })
}

/// Deletes every object that matches `pattern` and stores how many in `*deleted` (ETS
/// `match_delete/2`). Needs write access.
///
/// Errors: as rets_table_match().
#[no_mangle]
pub extern "C" fn rets_table_match_delete(
    table: *const rets_table,
    pattern: *const u8,
    pattern_len: usize,
    deleted: *mut usize,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let pattern = pattern_term(pattern, pattern_len)?;
        let deleted = Out::new(deleted, "deleted")?;
        deleted.write(table.table.match_delete(&pattern)?);
        Ok(())
    })
}

fn pattern_term(pattern: *const u8, len: usize) -> Outcome<Term> {
    let bytes = arg_bytes(pattern, len, "pattern")?;
    Ok(Term::from_msgpack(bytes).map_err(rets_core::Error::from)?)
}
