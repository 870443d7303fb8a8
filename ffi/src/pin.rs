//! Pinned readers: `rets_pin_*`, a thin translation of `rets_core::OwnedPin` (`Table::pin_owned`).

use rets_core::{Msgpack, OwnedPin};

use crate::boundary::{arg_bytes, arg_mut, arg_ref, boundary, from_handle};
use crate::boundary::{into_handle, release, Out};
use crate::buffer::rets_buf;
use crate::ops::write_objects;
use crate::owner::write_term;
use crate::status::rets_status;
use crate::table::{arg_opt_term, rets_table};

/// A pinned reader of one table (see rets_pin_new()): lookups through it skip the per-call
/// reclamation guard of rets_table_lookup() and repeat only the cheap part of its checks.
///
/// Thread-safety: a pin may be used by any number of threads at once for lookups, and freed on
/// any thread, except that rets_pin_refresh() and rets_pin_free() need it to be used by no other
/// thread during the call (and no call may use it after rets_pin_free()).
#[allow(non_camel_case_types)]
pub struct rets_pin {
    pin: OwnedPin,
}

/// Takes a pinned reader of `table` and stores it in `*out`: the read access is checked now,
/// and one reclamation guard is entered for every lookup made through the pin
/// (rets_pin_lookup(), rets_pin_member(), rets_pin_lookup_element()), which makes each cheaper
/// than the same call on the table and lets consecutive lookups overlap their cache misses.
///
/// What a pin holds up: memory. While it lives, no object retired from the table (replaced,
/// deleted, or freed by deleting the table) is freed, whichever thread retired it, so a pin
/// kept for long over a table being written holds every object replaced meanwhile. Keep a pin
/// for a bounded stretch of lookups (a batch, a request), or call rets_pin_refresh() now and
/// then.
///
/// What it does not hold up: the table's life. Every lookup through the pin checks, as a
/// lookup through `table` does, that the table exists, that the owner the handle acts for is
/// open and, on a private table, that it still owns the table: once rets_table_delete() (or
/// the rets_owner_close() that deletes the table) has returned, every lookup through the pin
/// fails with `RETS_STATUS_NO_TABLE`; a lookup that runs during the deletion returns the
/// objects it found or `RETS_STATUS_NO_TABLE`. The pin never reads freed memory.
///
/// Ownership: `table` is borrowed for the call; the pin keeps its own reference to the table
/// and the handle's owner, so `table` may be freed before the pin. The caller owns the pin and
/// frees it with rets_pin_free().
///
/// Thread-safety: any thread.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`; `RETS_STATUS_NO_TABLE`; `RETS_STATUS_OWNER_CLOSED`;
/// `RETS_STATUS_ACCESS_DENIED` (a private table, read through a handle that does not act for
/// its owner). On failure `*out` is not written.
#[no_mangle]
pub extern "C" fn rets_pin_new(table: *const rets_table, out: *mut *mut rets_pin) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let out = Out::new(out, "out")?;
        let pin = table.table.pin_owned()?;
        out.write(into_handle(rets_pin { pin }));
        Ok(())
    })
}

/// rets_table_lookup() through a pin: writes into `out` the objects with `key` as one
/// MessagePack array (empty if the key is absent).
///
/// Ownership: `key` is borrowed for the call (it may point into `out`). The result belongs to
/// `out`.
///
/// Thread-safety: any thread, concurrently with any other lookup through the pin and any
/// operation on the table; `out` must not be used by another thread during the call.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`; `RETS_STATUS_NO_TABLE`; `RETS_STATUS_OWNER_CLOSED`;
/// `RETS_STATUS_ACCESS_DENIED` (a private table given away since the pin was taken);
/// `RETS_STATUS_MALFORMED`; `RETS_STATUS_UNSUPPORTED_TERM`; `RETS_STATUS_LIMIT_EXCEEDED` (key).
#[no_mangle]
pub extern "C" fn rets_pin_lookup(
    pin: *const rets_pin,
    key: *const u8,
    key_len: usize,
    out: *mut rets_buf,
) -> rets_status {
    boundary(|| {
        let pin = arg_ref(pin, "pin")?;
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
        pin.pin.lookup_with(Msgpack(key), |objects| {
            write_objects(out, objects.map(|o| o.as_msgpack()));
        })?;
        Ok(())
    })
}

/// rets_table_member() through a pin: stores in `*found` whether an object with `key` exists.
///
/// Ownership, thread-safety, errors: as rets_pin_lookup().
#[no_mangle]
pub extern "C" fn rets_pin_member(
    pin: *const rets_pin,
    key: *const u8,
    key_len: usize,
    found: *mut bool,
) -> rets_status {
    boundary(|| {
        let pin = arg_ref(pin, "pin")?;
        let key = arg_bytes(key, key_len, "key")?;
        let out = Out::new(found, "found")?;
        out.write(pin.pin.member(Msgpack(key))?);
        Ok(())
    })
}

/// rets_table_lookup_element() through a pin: writes into `out` the element at position `pos`
/// (1-based) of the object with `key` (an array of that element of every object on a bag);
/// if the key is absent, `default_value` (one MessagePack value) if it is not NULL, else
/// `RETS_STATUS_KEY_NOT_FOUND`.
///
/// Ownership: `key` and `default_value` are borrowed for the call (they may point into `out`).
///
/// Thread-safety: as rets_pin_lookup().
///
/// Errors: those of rets_pin_lookup(); `RETS_STATUS_KEY_NOT_FOUND`; `RETS_STATUS_BAD_POSITION`
/// (`pos` is 0 or outside an object); the term errors also for `default_value`.
#[no_mangle]
pub extern "C" fn rets_pin_lookup_element(
    pin: *const rets_pin,
    key: *const u8,
    key_len: usize,
    pos: usize,
    default_value: *const u8,
    default_value_len: usize,
    out: *mut rets_buf,
) -> rets_status {
    boundary(|| {
        let pin = arg_ref(pin, "pin")?;
        let key = arg_bytes(key, key_len, "key")?;
        let default = arg_opt_term(default_value, default_value_len, "default_value")?;
        let out = arg_mut(out, "out")?;
        let element = match default {
            None => pin.pin.lookup_element(Msgpack(key), pos)?,
            Some(default) => pin.pin.lookup_element_or(Msgpack(key), pos, default)?,
        };
        write_term(out, &element);
        Ok(())
    })
}

/// Lets what was retired from the table since the pin was taken (or last refreshed) be freed,
/// as freeing the pin and taking a new one would, without repeating the access check: for a
/// pin kept over a long stretch of lookups while others write.
///
/// Thread-safety: any thread, but no other thread may use the pin during the call.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`.
#[no_mangle]
pub extern "C" fn rets_pin_refresh(pin: *mut rets_pin) -> rets_status {
    boundary(|| {
        arg_mut(pin, "pin")?.pin.refresh();
        Ok(())
    })
}

/// Frees a pin: what it held up may be freed from now on. The table is not affected. NULL is
/// ignored.
///
/// Thread-safety: any thread (not only the one that took the pin).
///
/// Undefined behaviour: freeing a pin twice, using it afterwards, or freeing it while another
/// thread uses it.
#[no_mangle]
pub extern "C" fn rets_pin_free(pin: *mut rets_pin) {
    release(|| drop(from_handle(pin)));
}
