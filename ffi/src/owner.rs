//! `rets_owner`: owners, names and transfers.

use std::ffi::c_char;
use std::time::Duration;

use rets_core::{Owner, Term, TransferReason};

use crate::boundary::{arg_mut, arg_ref, arg_str, boundary, from_handle, into_handle, release};
use crate::boundary::{Failure, OptOut, Out};
use crate::buffer::rets_buf;
use crate::status::rets_status;
use crate::table::rets_table;

/// An owner of tables: what an Erlang process is to ETS. Every table has exactly one owner;
/// closing the owner (rets_owner_close()) deletes each of its tables or hands it to its heir.
///
/// Thread-safety: an owner handle may be used by any number of threads at once, except
/// rets_owner_close(), which frees it: no other call may use the handle during or after it.
#[allow(non_camel_case_types)]
pub struct rets_owner {
    pub(crate) owner: Owner,
}

/// Why a table arrived at an owner (see rets_owner_recv_transfer()).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum rets_transfer_reason {
    /// The previous owner closed and this owner was the table's heir.
    Inherited = 1,
    /// The previous owner called rets_table_give_away().
    GivenAway = 2,
}

/// Creates a new owner, owning nothing yet, and stores it in `*out`.
///
/// Ownership: the caller owns the handle and must end it with rets_owner_close().
///
/// Thread-safety: any thread.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT` (`out` is NULL).
#[no_mangle]
pub extern "C" fn rets_owner_new(out: *mut *mut rets_owner) -> rets_status {
    boundary(|| {
        let out = Out::new(out, "out")?;
        out.write(into_handle(rets_owner {
            owner: Owner::new(),
        }));
        Ok(())
    })
}

/// Closes the owner and frees its handle. Each table it owns goes to its heir, if the table has
/// one that is still open (the heir then receives a transfer: see rets_owner_recv_transfer()),
/// and is deleted otherwise. Transfers it had not taken are dropped (their tables were its own,
/// so they went to their heirs or were deleted too). NULL is ignored.
///
/// Table handles acting for this owner stay valid as handles (free them with
/// rets_table_free()), but every operation through them then fails: with
/// `RETS_STATUS_NO_TABLE` if the table was deleted (by this close or otherwise), since a call
/// checks that the table exists before anything else, and with `RETS_STATUS_OWNER_CLOSED`
/// otherwise (a table that went to its heir, or one this owner never owned).
///
/// Thread-safety: no other call may use `owner` during or after this call. Other threads may
/// keep using tables of this owner through their own handles while it closes. What a call
/// racing the close may return, besides the result it would have had before the close:
/// - through a handle acting for this owner: `RETS_STATUS_OWNER_CLOSED`, or
///   `RETS_STATUS_NO_TABLE` for a table the close deletes;
/// - through a handle acting for another owner or nobody: `RETS_STATUS_NO_TABLE` for a table
///   the close deletes, never `RETS_STATUS_OWNER_CLOSED`; a table that goes to the heir is
///   never deleted, and the heir's own handles gain the owner's access (before the transfer
///   they get `RETS_STATUS_ACCESS_DENIED` where a stranger would).
///
/// A call that succeeds saw the table whole; none sees part of a close. (Modelled with loom in
/// core/src/owner/loom_tests.rs.)
///
/// Undefined behaviour: closing an owner twice, or using its handle afterwards.
#[no_mangle]
pub extern "C" fn rets_owner_close(owner: *mut rets_owner) {
    release(|| {
        if let Some(owner) = from_handle(owner) {
            owner.owner.close();
        }
    });
}

/// Stores the owner's id in `*out`: a number unique for the life of the process and never 0
/// (0 means "nobody" in rets_info). It is what rets_table_info() reports as `owner` and `heir`
/// and rets_owner_recv_transfer() as `from`.
///
/// Thread-safety: any thread.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`.
#[no_mangle]
pub extern "C" fn rets_owner_id(owner: *const rets_owner, out: *mut u64) -> rets_status {
    boundary(|| {
        let owner = arg_ref(owner, "owner")?;
        let out = Out::new(out, "out")?;
        out.write(owner.owner.id().0);
        Ok(())
    })
}

/// Finds the named table `name` (a NUL-terminated UTF-8 string) and stores in `*out` a new
/// handle to it that acts for `owner`: it has the owner's access rights if `owner` owns the
/// table, and a stranger's otherwise.
///
/// Ownership: `name` is borrowed for the call. The caller owns the new handle and frees it with
/// rets_table_free(). As in ETS, the handle keeps referring to the table it found: if that table
/// is deleted and another takes its name, the handle fails with `RETS_STATUS_NO_TABLE`.
///
/// Thread-safety: any thread; lock-free.
///
/// Returns `RETS_STATUS_NOT_FOUND` if no table is registered under `name`.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`, `RETS_STATUS_INVALID_ARGUMENT` (`name` is not UTF-8).
#[no_mangle]
pub extern "C" fn rets_owner_whereis(
    owner: *const rets_owner,
    name: *const c_char,
    out: *mut *mut rets_table,
) -> rets_status {
    boundary(|| {
        let owner = arg_ref(owner, "owner")?;
        let name = arg_str(name, "name")?;
        let out = Out::new(out, "out")?;
        let table = owner.owner.whereis(name).ok_or_else(|| not_found(name))?;
        out.write(into_handle(rets_table { table }));
        Ok(())
    })
}

/// Finds the named table `name` and stores in `*out` a new handle to it that acts for nobody:
/// it may read public and protected tables and write public ones.
///
/// Ownership, thread-safety and statuses: as for rets_owner_whereis().
#[no_mangle]
pub extern "C" fn rets_whereis(name: *const c_char, out: *mut *mut rets_table) -> rets_status {
    boundary(|| {
        let name = arg_str(name, "name")?;
        let out = Out::new(out, "out")?;
        let table = rets_core::whereis(name).ok_or_else(|| not_found(name))?;
        out.write(into_handle(rets_table { table }));
        Ok(())
    })
}

fn not_found(name: &str) -> Failure {
    Failure::new(
        rets_status::NotFound,
        format!("no table is registered under the name {name:?}"),
    )
}

/// Takes the next table transferred to `owner` (ETS's `'ETS-TRANSFER'` message), waiting up to
/// `timeout_ms` milliseconds for one to arrive (0: do not wait). Tables arrive when their owner
/// closes and `owner` is their heir, or when their owner gives them away to `owner`.
///
/// On success stores in `*table_out` a new handle to the table acting for `owner` (which now
/// owns it); and, for each of the optional outputs that is not NULL: the id of the previous
/// owner in `*from_out`, the reason in `*reason_out`, and the gift (the heir data or the
/// give_away gift, one MessagePack value) in `gift_out`.
///
/// Ownership: the caller owns the new table handle and frees it with rets_table_free().
///
/// Thread-safety: any thread; several threads may wait on one owner, and each transfer goes
/// to exactly one of them. `gift_out` must not be used by another thread during the call.
///
/// Returns `RETS_STATUS_TIMEOUT` if no transfer arrived in time.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT` (`owner` or `table_out`).
#[no_mangle]
pub extern "C" fn rets_owner_recv_transfer(
    owner: *const rets_owner,
    timeout_ms: u32,
    table_out: *mut *mut rets_table,
    from_out: *mut u64,
    reason_out: *mut rets_transfer_reason,
    gift_out: *mut rets_buf,
) -> rets_status {
    boundary(|| {
        let owner = arg_ref(owner, "owner")?;
        let table_out = Out::new(table_out, "table_out")?;
        let (from_out, reason_out) = (OptOut::new(from_out), OptOut::new(reason_out));
        let gift_out = if gift_out.is_null() {
            None
        } else {
            Some(arg_mut(gift_out, "gift_out")?)
        };
        let transfer = if timeout_ms == 0 {
            owner.owner.try_recv_transfer()
        } else {
            owner
                .owner
                .recv_transfer(Duration::from_millis(timeout_ms.into()))
        };
        let Some(transfer) = transfer else {
            return Err(Failure::new(
                rets_status::Timeout,
                format!("no table transfer arrived within {timeout_ms} ms"),
            ));
        };
        if let Some(gift_out) = gift_out {
            write_term(gift_out, &transfer.gift);
        }
        from_out.write(transfer.from.0);
        reason_out.write(match transfer.reason {
            TransferReason::Inherited => rets_transfer_reason::Inherited,
            TransferReason::GivenAway => rets_transfer_reason::GivenAway,
        });
        table_out.write(into_handle(rets_table {
            table: transfer.table,
        }));
        Ok(())
    })
}

/// Writes a term that came out of the engine (always encodable) into a buffer.
pub(crate) fn write_term(buf: &mut rets_buf, term: &Term) {
    let out = buf.begin();
    rets_core::term::encode(term, out).expect("a term from the engine is valid");
    buf.finish();
}
