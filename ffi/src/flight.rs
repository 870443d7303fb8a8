//! Read-through with single-flight: the non-blocking claim/fill protocol (`rets_table_claim_load`,
//! `rets_ticket_*`) and the blocking `rets_table_get_or_load` built on it.
//!
//! A `rets_ticket` is either a load the caller claimed (it must fill or fail it) or a wait on
//! another caller's load. Event loops (asyncio, Node) claim without blocking, run their
//! asynchronous loader, and fill the ticket when it resolves; their waiters poll, or wait on a
//! worker thread.

use std::ffi::c_void;
use std::sync::Mutex;
use std::time::Duration;

use rets_core::{Claim, Error, LoadTicket, Loaded, Msgpack, Object, WaitTicket};

use crate::boundary::{arg_bytes, arg_mut, arg_ref, arg_str, boundary, from_handle};
use crate::boundary::{into_handle, release, Failure, Out, Outcome};
use crate::buffer::rets_buf;
use crate::status::rets_status;
use crate::table::rets_table;

/// What rets_table_claim_load() found.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum rets_claim {
    /// The object is cached: it was written into `out`; no ticket.
    Cached = 0,
    /// The caller is the loader of the key: load it, then rets_ticket_fill() or
    /// rets_ticket_fail() the ticket, and free it.
    Load = 1,
    /// Another caller is loading the key: rets_ticket_wait() or rets_ticket_poll() the ticket
    /// for its result, and free it.
    Wait = 2,
    /// (rets_table_claim_load_refreshing()) The object is cached (written into `out`) but past
    /// the refresh age, and the caller refreshes it: use the object now, reload it, then
    /// rets_ticket_fill() or rets_ticket_fail() the ticket (failing keeps the cached object
    /// until it expires), and free it.
    Refresh = 3,
}

/// A ticket of the single-flight protocol: a load the caller claimed, or a wait on another
/// caller's load (see rets_table_claim_load()). It stays valid even if the table is deleted.
///
/// Thread-safety: a ticket may be used by any number of threads at once (fill, fail, wait and
/// poll from several threads are safe), except rets_ticket_free(), after which no call may use
/// it.
#[allow(non_camel_case_types)]
pub struct rets_ticket {
    /// The claimed load, until it is filled or failed (`None` afterwards); `None` from the
    /// start for a wait.
    load: Mutex<Option<LoadTicket>>,
    /// The load's result, for rets_ticket_wait() / rets_ticket_poll().
    wait: WaitTicket,
}

/// The signature of a loader for rets_table_get_or_load(): it loads the object with `key`
/// (`key_len` bytes, canonical MessagePack) and then calls rets_ticket_fill() or
/// rets_ticket_fail() on `ticket` (which belongs to rets: do not free it; it is valid until the
/// loader returns). `user_data` is the pointer given to rets_table_get_or_load().
#[allow(non_camel_case_types)]
pub type rets_loader = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        key: *const u8,
        key_len: usize,
        ticket: *mut rets_ticket,
    ),
>;

fn ticket_for_load(load: LoadTicket) -> rets_ticket {
    rets_ticket {
        wait: load.wait_ticket(),
        load: Mutex::new(Some(load)),
    }
}

fn write_object(out: &mut rets_buf, object: &Object) {
    out.set(object.as_msgpack());
}

/// Timeouts in milliseconds: negative means none.
fn timeout_of(timeout_ms: i64) -> Option<Duration> {
    u64::try_from(timeout_ms).ok().map(Duration::from_millis)
}

impl rets_ticket {
    /// Takes the claimed load out of the ticket (it is finished by the caller).
    fn take_load(&self, op: &str) -> Outcome<LoadTicket> {
        let mut load = self.load.lock().unwrap_or_else(|e| e.into_inner());
        load.take().ok_or_else(|| {
            Failure::invalid(format!(
                "{op}: this ticket is not an open load (it is a wait, or it was already filled or failed)"
            ))
        })
    }

    fn is_open_load(&self) -> bool {
        self.load
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    fn refuse_own_load(&self, op: &str) -> Outcome {
        if self.is_open_load() {
            return Err(Failure::invalid(format!(
                "{op}: this ticket is a load you claimed, which only you can finish: fill or fail it"
            )));
        }
        Ok(())
    }
}

/// Claims the read-through load of `key` without blocking, on a set or ordered_set. Stores in
/// `*claim` one of three answers:
/// - `RETS_CLAIM_CACHED`: the object is in the table; it is written into `out` (the object
///   itself, a MessagePack array) and `*ticket` is set to NULL;
/// - `RETS_CLAIM_LOAD`: nobody is loading the key and the caller now does: `*ticket` is a new
///   load ticket; load the object, then call rets_ticket_fill() (or rets_ticket_fail()) and
///   rets_ticket_free(). Until then, every other claim of the key gets `RETS_CLAIM_WAIT`;
/// - `RETS_CLAIM_WAIT`: another caller is loading the key: `*ticket` is a new wait ticket;
///   get the result with rets_ticket_wait() or rets_ticket_poll(), then rets_ticket_free().
///
/// `out` is written only for `RETS_CLAIM_CACHED`. At most one caller holds the load of a key at
/// a time, so a key missing for many callers at once is loaded once (no stampede). Keys are
/// compared by their canonical encoding (on an ordered_set, `1` and `1.0` load separately).
/// Needs read access; becoming the loader needs write access (the result is stored).
///
/// Ownership: `key` is borrowed for the call. The caller owns a returned ticket and frees it
/// with rets_ticket_free().
///
/// Thread-safety: any thread; never blocks on another caller's load.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`; `RETS_STATUS_NO_TABLE`; `RETS_STATUS_OWNER_CLOSED`;
/// `RETS_STATUS_ACCESS_DENIED` (no read access, or a miss without write access);
/// `RETS_STATUS_WRONG_TABLE_TYPE` (a bag); `RETS_STATUS_MALFORMED`;
/// `RETS_STATUS_UNSUPPORTED_TERM`; `RETS_STATUS_LIMIT_EXCEEDED` (key).
#[no_mangle]
pub extern "C" fn rets_table_claim_load(
    table: *const rets_table,
    key: *const u8,
    key_len: usize,
    out: *mut rets_buf,
    claim: *mut rets_claim,
    ticket: *mut *mut rets_ticket,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let key = arg_bytes(key, key_len, "key")?;
        let out = arg_mut(out, "out")?;
        let claim_out = Out::new(claim, "claim")?;
        let ticket_out = Out::new(ticket, "ticket")?;
        write_claim(
            table.table.claim_load(Msgpack(key))?,
            out,
            claim_out,
            ticket_out,
        );
        Ok(())
    })
}

/// Writes a claim's outputs.
fn write_claim(
    claim: Claim,
    out: &mut rets_buf,
    claim_out: Out<rets_claim>,
    ticket_out: Out<*mut rets_ticket>,
) {
    match claim {
        Claim::Cached(object) => {
            write_object(out, &object);
            claim_out.write(rets_claim::Cached);
            ticket_out.write(std::ptr::null_mut());
        }
        Claim::Load(load) => {
            claim_out.write(rets_claim::Load);
            ticket_out.write(into_handle(ticket_for_load(load)));
        }
        Claim::Wait(wait) => {
            claim_out.write(rets_claim::Wait);
            ticket_out.write(into_handle(rets_ticket {
                load: Mutex::new(None),
                wait,
            }));
        }
        Claim::Refresh(object, load) => {
            write_object(out, &object);
            claim_out.write(rets_claim::Refresh);
            ticket_out.write(into_handle(ticket_for_load(load)));
        }
    }
}

/// rets_table_claim_load() with refresh-ahead, on a table with a `ttl`: a cached object older
/// than `refresh_after_ns` nanoseconds gives `RETS_CLAIM_REFRESH` (the object in `out`, and a
/// load ticket for its refresh) to exactly one caller, and `RETS_CLAIM_CACHED` to everyone else
/// while that refresh runs, so a key read often never misses when it expires; an event loop
/// answers with the cached object and fills the ticket when its asynchronous reload settles. An
/// object's age is the table's ttl minus what is left of its lifetime. A caller without write
/// access never gets a refresh.
///
/// Ownership, thread-safety: as rets_table_claim_load().
///
/// Errors: as rets_table_claim_load(); `RETS_STATUS_INVALID_ARGUMENT` if the table has no ttl.
#[no_mangle]
pub extern "C" fn rets_table_claim_load_refreshing(
    table: *const rets_table,
    key: *const u8,
    key_len: usize,
    refresh_after_ns: u64,
    out: *mut rets_buf,
    claim: *mut rets_claim,
    ticket: *mut *mut rets_ticket,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let key = arg_bytes(key, key_len, "key")?;
        let out = arg_mut(out, "out")?;
        let claim_out = Out::new(claim, "claim")?;
        let ticket_out = Out::new(ticket, "ticket")?;
        let refresh_after = Duration::from_nanos(refresh_after_ns);
        let claimed = table
            .table
            .claim_load_refreshing(Msgpack(key), refresh_after)?;
        write_claim(claimed, out, claim_out, ticket_out);
        Ok(())
    })
}

/// Finishes a claimed load with `object` (a MessagePack array whose key is the key claimed): it
/// is stored in the table and given to every caller waiting for the load. It lives `ttl_ns`
/// nanoseconds from now, or, with `ttl_ns` 0, the table's lifetime (its `ttl`; forever on a
/// table without one).
///
/// If `object` is not a valid object for the table, or its key is not the key claimed, the call
/// fails and the ticket stays open (fill it again, or fail it). If storing fails (the table was
/// deleted or the owner closed meanwhile), the load fails with that status for every waiter and
/// nothing is cached.
///
/// Ownership: `object` is borrowed for the call. The ticket stays the caller's to free.
///
/// Thread-safety: any thread.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`; `RETS_STATUS_INVALID_ARGUMENT` (the ticket is not an
/// open load: a wait ticket, or one already filled or failed; or the key differs);
/// `RETS_STATUS_MALFORMED`; `RETS_STATUS_UNSUPPORTED_TERM`; `RETS_STATUS_LIMIT_EXCEEDED`;
/// `RETS_STATUS_NOT_AN_ARRAY`; `RETS_STATUS_OBJECT_TOO_SHORT`; after a valid object, the status
/// of a failed store (`RETS_STATUS_NO_TABLE`, `RETS_STATUS_OWNER_CLOSED`,
/// `RETS_STATUS_ACCESS_DENIED`).
#[no_mangle]
pub extern "C" fn rets_ticket_fill(
    ticket: *mut rets_ticket,
    object: *const u8,
    object_len: usize,
    ttl_ns: u64,
) -> rets_status {
    boundary(|| {
        let ticket = arg_ref(ticket.cast_const(), "ticket")?;
        let object = arg_bytes(object, object_len, "object")?;
        let load = ticket.take_load("rets_ticket_fill")?;
        // A bad object is the caller's to correct: the load stays open.
        let object = match load.check(Msgpack(object)) {
            Ok(object) => object,
            Err(error) => {
                *ticket.load.lock().unwrap_or_else(|e| e.into_inner()) = Some(load);
                return Err(error.into());
            }
        };
        let loaded = match ttl_ns {
            0 => Loaded::new(object),
            ns => Loaded::new(object).ttl(Duration::from_nanos(ns)),
        };
        load.fill(loaded)?;
        Ok(())
    })
}

/// Fails a claimed load: every caller waiting for it gets `RETS_STATUS_LOAD_FAILED` with
/// `message` (a NUL-terminated UTF-8 string) as rets_last_error_message(); nothing is cached,
/// and the next claim of the key loads again.
///
/// Ownership: `message` is borrowed for the call (rets copies it). The ticket stays the
/// caller's to free.
///
/// Thread-safety: any thread.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`; `RETS_STATUS_INVALID_ARGUMENT` (the ticket is not an
/// open load, or `message` is not UTF-8: the load stays open then).
#[no_mangle]
pub extern "C" fn rets_ticket_fail(
    ticket: *mut rets_ticket,
    message: *const std::ffi::c_char,
) -> rets_status {
    boundary(|| {
        let ticket = arg_ref(ticket.cast_const(), "ticket")?;
        let message = arg_str(message, "message")?;
        ticket.take_load("rets_ticket_fail")?.fail(message);
        Ok(())
    })
}

/// Waits for the load behind `ticket` to finish, at most `timeout_ms` milliseconds (negative:
/// no limit), and writes its object into `out` (a MessagePack array).
///
/// Returns `RETS_STATUS_TIMEOUT` (an ordinary outcome; `out` is not written) if the load is
/// still running at the timeout: it goes on, and the ticket can be waited on or polled again.
/// A failed load gives every waiter the loader's status: `RETS_STATUS_LOAD_FAILED` (with the
/// loader's message), or the status of a failed store.
///
/// Ownership: the result belongs to `out`.
///
/// Thread-safety: any thread; blocks the calling thread (an event loop should poll, or wait on
/// a worker thread). `out` must not be used by another thread during the call.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`; `RETS_STATUS_INVALID_ARGUMENT` (a load ticket not yet
/// filled or failed: waiting for one's own load would never end); `RETS_STATUS_LOAD_FAILED`;
/// `RETS_STATUS_NO_TABLE`, `RETS_STATUS_OWNER_CLOSED`, `RETS_STATUS_ACCESS_DENIED` (the load's
/// store failed).
#[no_mangle]
pub extern "C" fn rets_ticket_wait(
    ticket: *const rets_ticket,
    timeout_ms: i64,
    out: *mut rets_buf,
) -> rets_status {
    boundary(|| {
        let ticket = arg_ref(ticket, "ticket")?;
        let out = arg_mut(out, "out")?;
        ticket.refuse_own_load("rets_ticket_wait")?;
        let result = match timeout_of(timeout_ms) {
            None => ticket.wait.wait(),
            Some(timeout) => ticket.wait.wait_timeout(timeout),
        };
        write_object(out, &result?);
        Ok(())
    })
}

/// Polls the load behind `ticket` without blocking: stores in `*ready` whether it has
/// finished; if it finished with an object, writes the object into `out`. A load that failed
/// gives its status, as rets_ticket_wait() does.
///
/// Ownership: the result belongs to `out` (written only when `*ready` is true).
///
/// Thread-safety: any thread; never blocks on the load.
///
/// Errors: as rets_ticket_wait(), without `RETS_STATUS_TIMEOUT`.
#[no_mangle]
pub extern "C" fn rets_ticket_poll(
    ticket: *const rets_ticket,
    out: *mut rets_buf,
    ready: *mut bool,
) -> rets_status {
    boundary(|| {
        let ticket = arg_ref(ticket, "ticket")?;
        let out = arg_mut(out, "out")?;
        let ready = Out::new(ready, "ready")?;
        ticket.refuse_own_load("rets_ticket_poll")?;
        match ticket.wait.poll() {
            None => ready.write(false),
            Some(result) => {
                write_object(out, &result?);
                ready.write(true);
            }
        }
        Ok(())
    })
}

/// Frees a ticket. A load ticket that was neither filled nor failed fails its load (every
/// waiter gets `RETS_STATUS_LOAD_FAILED`), so that no waiter waits forever. NULL is ignored.
///
/// Undefined behaviour: freeing a ticket twice, using it afterwards, or freeing it while
/// another thread uses it.
#[no_mangle]
pub extern "C" fn rets_ticket_free(ticket: *mut rets_ticket) {
    release(|| drop(from_handle(ticket)));
}

/// The object with `key`, loaded by `loader` on a miss (read-through with single-flight, on a
/// set or ordered_set), written into `out` (a MessagePack array).
///
/// On a hit the object is copied into `out`. On a miss exactly one caller runs its loader for
/// the key (with `user_data`, the key's canonical bytes and a ticket); the loader calls
/// rets_ticket_fill() with the object (its key must be `key`) or rets_ticket_fail(). Callers
/// that miss the key meanwhile wait (at most `timeout_ms` milliseconds; negative: no limit) and
/// get the same object or the same failure. The object is stored in the table. A loader that
/// returns without filling or failing its ticket fails the load. This is
/// rets_table_claim_load() + rets_ticket_fill()/rets_ticket_wait() in one blocking call.
///
/// Ownership: `key` is borrowed for the call; `user_data` is passed through untouched; the
/// result belongs to `out`.
///
/// Thread-safety: any thread; blocks while loading or waiting. The loader runs on the calling
/// thread and must not unwind (no C++ exception or longjmp through rets).
///
/// Errors: as rets_table_claim_load(); `RETS_STATUS_TIMEOUT` (waiting for another caller's
/// load took longer than `timeout_ms`; `out` is not written); `RETS_STATUS_LOAD_FAILED` (the
/// loader failed: its message); the statuses of rets_ticket_fill() when the loader's object
/// is invalid (the load then fails for every waiter with that status).
#[no_mangle]
pub extern "C" fn rets_table_get_or_load(
    table: *const rets_table,
    key: *const u8,
    key_len: usize,
    loader: rets_loader,
    user_data: *mut c_void,
    timeout_ms: i64,
    out: *mut rets_buf,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let key = arg_bytes(key, key_len, "key")?;
        let out = arg_mut(out, "out")?;
        let Some(loader) = loader else {
            return Err(Failure::new(
                rets_status::NullArgument,
                "the argument `loader` is NULL",
            ));
        };
        let object = match table.table.claim_load(Msgpack(key))? {
            Claim::Cached(object) | Claim::Refresh(object, _) => object,
            Claim::Wait(wait) => match timeout_of(timeout_ms) {
                None => wait.wait()?,
                Some(timeout) => wait.wait_timeout(timeout)?,
            },
            Claim::Load(load) => {
                let key = load.key().as_msgpack().to_vec();
                let mut ticket = ticket_for_load(load);
                // SAFETY: by the caller's contract `loader` is a valid function of this
                // signature; it gets the key's bytes and the ticket, both alive for the call,
                // and may not unwind (stated in rets.h).
                unsafe { loader(user_data, key.as_ptr(), key.len(), &mut ticket) };
                if let Ok(load) = ticket.take_load("rets_table_get_or_load") {
                    load.fail("the loader returned without filling or failing its ticket");
                }
                ticket.wait.poll().unwrap_or_else(|| {
                    Err(Error::LoadFailed {
                        message: "the load did not finish".into(),
                    })
                })?
            }
        };
        write_object(out, &object);
        Ok(())
    })
}

/// Removes the objects with `key` (as rets_table_delete_key()) and detaches any read-through
/// load of `key` in flight: its result still goes to its waiters but is not cached, and the next
/// claim loads again. Call it after changing the data source a cache reads through, so that a
/// load that read the old data cannot cache it after the change. Needs write access.
///
/// Ownership, thread-safety: as rets_table_delete_key().
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`; `RETS_STATUS_NO_TABLE`; `RETS_STATUS_OWNER_CLOSED`;
/// `RETS_STATUS_ACCESS_DENIED`; `RETS_STATUS_MALFORMED`; `RETS_STATUS_UNSUPPORTED_TERM`;
/// `RETS_STATUS_LIMIT_EXCEEDED` (key).
#[no_mangle]
pub extern "C" fn rets_table_invalidate(
    table: *const rets_table,
    key: *const u8,
    key_len: usize,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let key = arg_bytes(key, key_len, "key")?;
        Ok(table.table.invalidate(Msgpack(key))?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rets_core::{Owner, TableOptions, Term};

    fn buf() -> Box<rets_buf> {
        let mut out = std::ptr::null_mut();
        assert_eq!(crate::buffer::rets_buf_new(&mut out), rets_status::Ok);
        from_handle(out).unwrap()
    }

    #[test]
    fn a_refresh_claim_gives_the_cached_object_and_one_ticket() {
        use rets_core::{tuple, ManualClock, ToObject};
        let owner = Owner::new();
        let clock = ManualClock::new();
        let table = rets_table {
            table: owner
                .new_table(
                    "r",
                    TableOptions::new()
                        .public()
                        .ttl(Duration::from_secs(10))
                        .clock(clock.clone()),
                )
                .unwrap(),
        };
        table.table.insert(tuple!("k", 1)).unwrap();
        clock.advance(Duration::from_secs(7));
        let mut key = Vec::new();
        rets_core::term::encode(&Term::from("k"), &mut key).unwrap();
        let mut out = buf();
        let claim_at = |out: &mut rets_buf| {
            let (mut claim, mut ticket) = (rets_claim::Load, std::ptr::null_mut());
            let status = rets_table_claim_load_refreshing(
                &table,
                key.as_ptr(),
                key.len(),
                6_000_000_000,
                out,
                &mut claim,
                &mut ticket,
            );
            assert_eq!(status, rets_status::Ok);
            (claim, ticket)
        };
        let (claim, ticket) = claim_at(&mut out);
        assert_eq!(claim, rets_claim::Refresh);
        let old = tuple!("k", 1).to_object(1).unwrap();
        assert_eq!(out.data(), old.as_msgpack());
        // Meanwhile another caller gets the cached object and no ticket.
        let (claim, other) = claim_at(&mut out);
        assert_eq!((claim, other.is_null()), (rets_claim::Cached, true));
        let fresh = tuple!("k", 2).to_object(1).unwrap();
        let bytes = fresh.as_msgpack();
        assert_eq!(
            rets_ticket_fill(ticket, bytes.as_ptr(), bytes.len(), 0),
            rets_status::Ok
        );
        rets_ticket_free(ticket);
        let (claim, _) = claim_at(&mut out);
        assert_eq!(claim, rets_claim::Cached);
        assert_eq!(out.data(), bytes);
    }

    #[test]
    fn a_loader_that_neither_fills_nor_fails_fails_the_load() {
        let owner = Owner::new();
        let table = rets_table {
            table: owner.new_table("t", TableOptions::new().public()).unwrap(),
        };
        unsafe extern "C" fn idle(_: *mut c_void, _: *const u8, _: usize, _: *mut rets_ticket) {}
        let key = Term::from("k");
        let mut key_bytes = Vec::new();
        rets_core::term::encode(&key, &mut key_bytes).unwrap();
        let mut out = buf();
        let status = rets_table_get_or_load(
            &table,
            key_bytes.as_ptr(),
            key_bytes.len(),
            Some(idle),
            std::ptr::null_mut(),
            -1,
            &mut *out,
        );
        assert_eq!(status, rets_status::LoadFailed);
        assert!(table.table.lookup("k").unwrap().is_empty());
    }
}
