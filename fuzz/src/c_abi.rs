//! C ABI call sequences: owners and table handles are created, shared, freed, closed and
//! deleted at random, and every table call gets NULL or valid pointers, well-formed or garbage
//! MessagePack, and handles that act for the owner, another owner or nobody.
//!
//! Checked on every call: the status is the one the handle's state dictates (NULL argument
//! first, then deleted table, closed owner, access denied); no call ever reports a panic or an
//! internal error; a failed call leaves its outputs untouched and sets a non-empty message.
//! Under AddressSanitizer every input also checks that nothing is leaked or used after free.
//!
//! Handles are only ever used while valid (a freed handle or a closed owner handle is dropped
//! from the pool): using a freed pointer is undefined behaviour by the C API's contract, not an
//! error it can report.

use std::ffi::{CStr, CString};
use std::ptr::{null, null_mut};

use arbitrary::{Result, Unstructured};
use rets::*;
use rets_core::term::encode;

use crate::gen;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Acts {
    Owner(usize),
    Nobody,
}

struct TableState {
    owner: usize,
    access: u32,
    deleted: bool,
    name: Option<String>,
}

struct Handle {
    ptr: *mut rets_table,
    table: usize,
    acts: Acts,
}

struct World {
    owners: Vec<Option<*mut rets_owner>>,
    closed: Vec<bool>,
    tables: Vec<TableState>,
    handles: Vec<Handle>,
    buf: *mut rets_buf,
    /// A second output buffer (rets_table_next_chunk's last key).
    buf2: *mut rets_buf,
    names: usize,
}

const ACCESS_PUBLIC: u32 = 1;
const ACCESS_PRIVATE: u32 = 2;

fn ok(status: rets_status, what: &str) {
    assert_eq!(status, rets_status::Ok, "{what}");
}

/// The bytes of a key or object argument: valid MessagePack most of the time.
fn bytes(u: &mut Unstructured<'_>, object: bool) -> Result<(Vec<u8>, bool)> {
    if u.ratio(1, 6)? {
        let len = u.int_in_range(0..=6)?;
        return Ok((u.bytes(len)?.to_vec(), false));
    }
    let term = if object {
        gen::object(u, 1)?
    } else {
        gen::key(u)?
    };
    let mut out = Vec::new();
    encode(&term, &mut out).expect("generated terms encode");
    Ok((out, true))
}

/// A pointer argument: usually valid, sometimes NULL (with its length kept, so a NULL with a
/// non-zero length must be refused).
fn maybe_null(u: &mut Unstructured<'_>, data: &[u8]) -> Result<*const u8> {
    Ok(if u.ratio(1, 16)? {
        null()
    } else {
        data.as_ptr()
    })
}

fn buf_snapshot(buf: *const rets_buf) -> Vec<u8> {
    let (data, len) = (rets_buf_data(buf), rets_buf_len(buf));
    if len == 0 {
        return Vec::new();
    }
    // SAFETY: rets_buf_data points to rets_buf_len readable bytes of a live buffer, and nothing
    // writes the buffer while the slice is read.
    unsafe { std::slice::from_raw_parts(data, len) }.to_vec()
}

fn last_message() -> String {
    // SAFETY: rets_last_error_message never returns NULL and points to a NUL-terminated string
    // that lives until the next failing call on this thread.
    unsafe { CStr::from_ptr(rets_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

/// What the handle's state dictates, if anything: the status every call through it must give.
fn state_error(w: &World, h: &Handle, write: bool) -> Option<rets_status> {
    let table = &w.tables[h.table];
    if table.deleted {
        return Some(rets_status::NoTable);
    }
    if let Acts::Owner(o) = h.acts {
        if w.closed[o] {
            return Some(rets_status::OwnerClosed);
        }
    }
    let is_owner = h.acts == Acts::Owner(table.owner);
    let allowed =
        is_owner || table.access == ACCESS_PUBLIC || (table.access != ACCESS_PRIVATE && !write);
    (!allowed).then_some(rets_status::AccessDenied)
}

fn run_ops(u: &mut Unstructured<'_>, w: &mut World) -> Result<()> {
    let mut steps = 0;
    while !u.is_empty() && steps < 48 {
        steps += 1;
        match u.int_in_range(0..=9)? {
            0 => {
                // A new owner (at most four per input; an owner's index is its identity).
                if w.owners.len() < 4 {
                    let mut out = null_mut();
                    ok(rets_owner_new(&mut out), "owner_new");
                    w.owners.push(Some(out));
                    w.closed.push(false);
                }
            }
            1 => {
                // Close an owner: its tables are deleted (no heirs here), its handles go stale.
                let slot = u
                    .choose_index(w.owners.len().max(1))?
                    .min(w.owners.len().saturating_sub(1));
                if w.owners.is_empty() {
                    continue;
                }
                if let Some(o) = w.owners[slot].take() {
                    rets_owner_close(o);
                    w.closed[slot] = true;
                    for t in w.tables.iter_mut().filter(|t| t.owner == slot) {
                        t.deleted = true;
                    }
                }
            }
            2 => {
                // A new table, sometimes named (sometimes with a name in use).
                let slot = u
                    .choose_index(w.owners.len().max(1))?
                    .min(w.owners.len().saturating_sub(1));
                if w.owners.is_empty() {
                    continue;
                }
                let Some(owner) = w.owners[slot] else {
                    continue;
                };
                let access = u.int_in_range(0..=3)?;
                let options = rets_table_options {
                    table_type: u.int_in_range(0..=4)?,
                    access,
                    keypos: u.int_in_range(0..=2)?,
                    named: u.arbitrary::<bool>()?,
                    read_concurrency: false,
                    write_concurrency: false,
                    heir: null(),
                    heir_data: null(),
                    heir_data_len: 0,
                };
                let name = if options.named && u.ratio(1, 4)? {
                    w.tables
                        .iter()
                        .rev()
                        .find_map(|t| t.name.clone().filter(|_| !t.deleted))
                        .unwrap_or_else(|| "fuzz-c-0".into())
                } else {
                    w.names += 1;
                    format!("fuzz-c-{}", w.names)
                };
                let taken = options.named
                    && w.tables
                        .iter()
                        .any(|t| !t.deleted && t.name.as_deref() == Some(&name));
                let cname = CString::new(name.clone()).unwrap();
                let mut out = null_mut();
                let status = rets_table_new(owner, cname.as_ptr(), &options, &mut out);
                // keypos 0 means 1; an unknown type or access mode is refused.
                if options.table_type > 3 || options.access > 2 {
                    assert_eq!(status, rets_status::InvalidArgument, "bad options");
                    assert!(out.is_null(), "an output written on failure");
                } else if taken {
                    assert_eq!(status, rets_status::NameTaken);
                    assert!(out.is_null(), "an output written on failure");
                } else {
                    ok(status, "table_new");
                    w.tables.push(TableState {
                        owner: slot,
                        access,
                        deleted: false,
                        name: options.named.then_some(name),
                    });
                    w.handles.push(Handle {
                        ptr: out,
                        table: w.tables.len() - 1,
                        acts: Acts::Owner(slot),
                    });
                }
            }
            3 => {
                // Another handle to a table: acting for an owner, or found by name for nobody.
                if w.handles.is_empty() {
                    continue;
                }
                let h = u.choose_index(w.handles.len())?;
                let slot = u
                    .choose_index(w.owners.len().max(1))?
                    .min(w.owners.len().saturating_sub(1));
                if w.owners.is_empty() {
                    continue;
                }
                let mut out = null_mut();
                if let (Some(owner), false) = (w.owners[slot], u.ratio(1, 3)?) {
                    ok(
                        rets_table_with_owner(w.handles[h].ptr, owner, &mut out),
                        "with_owner",
                    );
                    w.handles.push(Handle {
                        ptr: out,
                        table: w.handles[h].table,
                        acts: Acts::Owner(slot),
                    });
                } else if let Some(name) = w.tables[w.handles[h].table].name.clone() {
                    let cname = CString::new(name).unwrap();
                    let status = rets_whereis(cname.as_ptr(), &mut out);
                    // The name may now belong to a newer table: find which.
                    let live = w
                        .tables
                        .iter()
                        .position(|t| !t.deleted && t.name.as_deref() == cname.to_str().ok());
                    match live {
                        Some(table) => {
                            ok(status, "whereis");
                            w.handles.push(Handle {
                                ptr: out,
                                table,
                                acts: Acts::Nobody,
                            });
                        }
                        None => {
                            assert_eq!(status, rets_status::NotFound, "whereis of a free name");
                            assert!(out.is_null(), "an output written on failure");
                        }
                    }
                }
            }
            4 => {
                // Free a handle (the table is unaffected).
                if !w.handles.is_empty() {
                    let h = w.handles.swap_remove(u.choose_index(w.handles.len())?);
                    rets_table_free(h.ptr);
                }
            }
            5 => {
                // Delete a table through a handle.
                if w.handles.is_empty() {
                    continue;
                }
                let h = &w.handles[u.choose_index(w.handles.len())?];
                let status = rets_table_delete(h.ptr);
                match state_error(w, h, true) {
                    Some(want) => assert_eq!(status, want, "table_delete"),
                    None => {
                        ok(status, "table_delete");
                        w.tables[h.table].deleted = true;
                    }
                }
            }
            _ => call(u, w)?,
        }
    }
    Ok(())
}

/// One table operation through a random handle (or NULL), checked against the handle's state.
fn call(u: &mut Unstructured<'_>, w: &mut World) -> Result<()> {
    let h = if w.handles.is_empty() || u.ratio(1, 20)? {
        None
    } else {
        Some(u.choose_index(w.handles.len())?)
    };
    let table = h.map_or(null(), |h| w.handles[h].ptr.cast_const());
    let (arg, arg_valid) = bytes(u, true)?;
    let (key, key_valid) = bytes(u, false)?;
    let arg_ptr = maybe_null(u, &arg)?;
    let key_ptr = maybe_null(u, &key)?;
    let null_out = u.ratio(1, 16)?;
    let buf = if null_out { null_mut() } else { w.buf };
    let buf2 = if null_out { null_mut() } else { w.buf2 };
    let before = buf_snapshot(w.buf);
    let before2 = buf_snapshot(w.buf2);
    // A chunk: 1 to 4 keys, any valid flags (keys or objects, reverse, inclusive).
    let (chunk_n, chunk_flags) = (u.int_in_range(1..=4)?, u.int_in_range(0..=7)?);
    let (mut flag, mut value) = (true, 0x5a5a_i64);
    let flag_out: *mut bool = if null_out { null_mut() } else { &mut flag };
    let value_out: *mut i64 = if null_out { null_mut() } else { &mut value };
    let ops = [rets_counter_op {
        pos: u.int_in_range(0..=3)?,
        incr: gen::incr(u)?,
        has_threshold: u.arbitrary::<bool>()?,
        threshold: 1,
        set_value: 0,
    }];
    let elements = [rets_element {
        pos: u.int_in_range(0..=3)?,
        value: key_ptr,
        value_len: key.len(),
    }];
    // The object argument doubles as the default object (NULL: no default).
    let use_default = u.arbitrary::<bool>()?;
    let default: (*const u8, usize) = if use_default {
        (arg_ptr, arg.len())
    } else {
        (null(), 0)
    };

    let op = u.int_in_range(0..=16)?;
    let (write, uses_arg, uses_key, outputs) = match op {
        0..=3 => (true, true, false, op == 1),
        4 | 5 => (false, false, true, true),
        6 => (false, use_default, true, true),
        7 | 8 => (true, false, true, op == 7),
        9 => (true, true, false, false),
        10 => (true, false, false, false),
        11 => (true, false, true, true),
        12 | 13 => (true, use_default, true, true),
        14 => (false, false, false, true),
        _ => (false, false, true, true),
    };
    let status = match op {
        0 => rets_table_insert(table, arg_ptr, arg.len()),
        1 => rets_table_insert_new(table, arg_ptr, arg.len(), flag_out),
        2 => {
            // A list of one object.
            let mut list = vec![0x91];
            list.extend_from_slice(&arg);
            let p = if arg_ptr.is_null() {
                null()
            } else {
                list.as_ptr()
            };
            rets_table_insert_many(table, p, if p.is_null() { arg.len() } else { list.len() })
        }
        3 => rets_table_delete_object(table, arg_ptr, arg.len()),
        4 => rets_table_lookup(table, key_ptr, key.len(), buf),
        5 => rets_table_member(table, key_ptr, key.len(), flag_out),
        6 => rets_table_lookup_element(table, key_ptr, key.len(), 2, default.0, default.1, buf),
        7 => rets_table_take(table, key_ptr, key.len(), buf),
        8 => rets_table_delete_key(table, key_ptr, key.len()),
        9 => rets_table_insert(table, arg_ptr, arg.len()),
        10 => rets_table_delete_all_objects(table),
        11 => rets_table_update_counter(table, key_ptr, key.len(), ops[0].incr, value_out),
        12 => rets_table_update_counters(
            table,
            key_ptr,
            key.len(),
            ops.as_ptr(),
            1,
            default.0,
            default.1,
            value_out,
        ),
        13 => rets_table_update_element(
            table,
            key_ptr,
            key.len(),
            elements.as_ptr(),
            1,
            default.0,
            default.1,
            flag_out,
        ),
        14 => rets_table_first(table, buf),
        15 => rets_table_next(table, key_ptr, key.len(), buf),
        _ => rets_table_next_chunk(table, key_ptr, key.len(), chunk_n, chunk_flags, buf, buf2),
    };

    assert!(
        !matches!(status, rets_status::Panic | rets_status::Internal),
        "op {op}: {status:?}: {}",
        last_message()
    );
    if status != rets_status::Ok {
        assert!(
            !last_message().is_empty(),
            "op {op}: a failure without a message"
        );
        assert_eq!(
            buf_snapshot(w.buf),
            before,
            "op {op}: the buffer was written on failure"
        );
        assert_eq!(
            buf_snapshot(w.buf2),
            before2,
            "op {op}: the second buffer was written on failure"
        );
        assert!(
            flag && value == 0x5a5a,
            "op {op}: an output was written on failure"
        );
    }

    // What must have happened, in the order the C API checks: NULL arguments, then the
    // handle's state, then the arguments' content.
    let null_arg = table.is_null()
        || (uses_arg && arg_ptr.is_null() && !arg.is_empty())
        || (uses_key && key_ptr.is_null() && !key.is_empty())
        || (op == 13 && key_ptr.is_null() && !key.is_empty())
        || (outputs && null_out);
    if null_arg {
        // Arguments are checked in order: a malformed one before the NULL may be reported.
        assert!(
            status == rets_status::NullArgument
                || (status != rets_status::Ok && !(arg_valid && key_valid)),
            "op {op}: {status:?} for a NULL argument"
        );
        return Ok(());
    }
    assert_ne!(
        status,
        rets_status::NullArgument,
        "op {op}: {}",
        last_message()
    );
    let h = &w.handles[h.expect("a handle")];
    // The table checks its state before it reads keys and objects, except a default (decoded
    // and validated up front), update_element's values and insert_many's list (both decoded by
    // the C layer).
    let state_first = match op {
        2 => arg_valid,
        6 | 12 => !use_default,
        13 => !use_default && key_valid,
        _ => true,
    };
    match state_error(w, h, write) {
        Some(want) if state_first => assert_eq!(status, want, "op {op}: {}", last_message()),
        // Invalid content may be reported first (a default object is validated up front).
        Some(want) => assert!(
            status == want || !matches!(status, rets_status::Ok | rets_status::EndOfTable),
            "op {op}: {status:?}, expected {want:?}"
        ),
        None => assert!(
            !matches!(
                status,
                rets_status::NoTable | rets_status::OwnerClosed | rets_status::AccessDenied
            ),
            "op {op}: {status:?} on a live, accessible table: {}",
            last_message()
        ),
    }
    Ok(())
}

/// Runs one call sequence, then frees everything.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let (mut buf, mut buf2) = (null_mut(), null_mut());
    ok(rets_buf_new(&mut buf), "buf_new");
    ok(rets_buf_new(&mut buf2), "buf_new");
    let mut w = World {
        owners: Vec::new(),
        closed: Vec::new(),
        tables: Vec::new(),
        handles: Vec::new(),
        buf,
        buf2,
        names: 0,
    };
    let mut owner = null_mut();
    ok(rets_owner_new(&mut owner), "owner_new");
    w.owners.push(Some(owner));
    w.closed.push(false);
    let _ = run_ops(&mut u, &mut w);
    for h in w.handles.drain(..) {
        rets_table_free(h.ptr);
    }
    for o in w.owners.iter_mut().filter_map(Option::take) {
        rets_owner_close(o);
    }
    rets_buf_free(w.buf);
    rets_buf_free(w.buf2);
    // Every table was deleted with its owner: no name stays registered.
    for t in &w.tables {
        if let Some(name) = &t.name {
            let cname = CString::new(name.as_str()).unwrap();
            let mut out = null_mut();
            assert_eq!(
                rets_whereis(cname.as_ptr(), &mut out),
                rets_status::NotFound
            );
        }
    }
}
