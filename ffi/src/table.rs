//! `rets_table`: table handles, creation with every option, info, names, heirs, give_away,
//! rename and delete. The operations on objects are in `ops.rs` and `traverse.rs`.

use std::ffi::c_char;

use rets_core::{Access, Table, TableOptions, TableType, Term};

use crate::boundary::{arg_mut, arg_opt_bytes, arg_ref, arg_str, boundary, from_handle};
use crate::boundary::{into_handle, release, Failure, Out, Outcome};
use crate::buffer::rets_buf;
use crate::owner::rets_owner;
use crate::status::rets_status;

/// A handle to a table, acting for one owner (the table's own, another, or nobody). Access is
/// checked on every call against the owner the handle acts for, not the calling thread.
///
/// Several handles may refer to one table. Freeing a handle (rets_table_free()) never affects
/// the table; deleting the table (rets_table_delete()) or closing its owner makes every handle
/// to it fail with `RETS_STATUS_NO_TABLE`, but the handles stay valid until freed.
///
/// Thread-safety: a table handle may be used by any number of threads at once (every operation
/// is atomic and isolated), except rets_table_free(), after which no call may use it.
#[allow(non_camel_case_types)]
pub struct rets_table {
    pub(crate) table: Table,
}

impl rets_table {
    /// A handle wrapping `table`, for Rust code that measures or tests the C ABI against the
    /// Rust API on the very same table (ffi/benches/abi_overhead.rs). Not part of the C API.
    #[doc(hidden)]
    pub fn from_table(table: Table) -> Box<rets_table> {
        Box::new(rets_table { table })
    }
}

/// The four ETS table types.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum rets_table_type {
    /// One object per key; keys match exactly (`1` and `1.0` are different keys). The default.
    Set = 0,
    /// One object per key, in term order; keys that compare equal are one key.
    OrderedSet = 1,
    /// Many objects per key; an identical object is not stored twice.
    Bag = 2,
    /// Many objects per key; identical copies are kept.
    DuplicateBag = 3,
}

/// Who may read and write a table.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum rets_access {
    /// The owner writes; everyone reads. The default.
    Protected = 0,
    /// Everyone reads and writes.
    Public = 1,
    /// Only the owner reads or writes.
    Private = 2,
}

/// The options of a new table. A zero-initialised struct (`rets_table_options opts = {0};`)
/// is ETS's default: a protected, unnamed set with its key at position 1 and no heir.
///
/// Ownership: rets_table_new() only reads the struct (and the heir data it points to) during
/// the call.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct rets_table_options {
    /// A `rets_table_type` value.
    pub table_type: u32,
    /// A `rets_access` value.
    pub access: u32,
    /// The 1-based position of the key in every object; 0 means 1.
    pub keypos: usize,
    /// Register the name so that rets_whereis() finds the table (ETS `named_table`).
    pub named: bool,
    /// Accepted for ETS parity and reported by rets_table_info(); tunes nothing today.
    pub read_concurrency: bool,
    /// Accepted for ETS parity and reported by rets_table_info(); tunes nothing today.
    pub write_concurrency: bool,
    /// The owner that inherits the table when its owner closes, or NULL for none. An heir
    /// equal to the owner means none.
    pub heir: *const rets_owner,
    /// The heir's gift: one MessagePack value, or NULL for nil.
    pub heir_data: *const u8,
    /// The length of `heir_data` in bytes.
    pub heir_data_len: usize,
}

/// Facts about a table (ETS `info/1`), filled by rets_table_info().
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct rets_info {
    /// A process-unique table id.
    pub id: u64,
    /// The table type.
    pub table_type: rets_table_type,
    /// The access mode.
    pub access: rets_access,
    /// The 1-based key position.
    pub keypos: usize,
    /// Whether the name is registered.
    pub named: bool,
    /// The id of the current owner (see rets_owner_id()).
    pub owner: u64,
    /// The id of the heir, or 0 if there is none (or it has closed).
    pub heir: u64,
    /// The number of objects.
    pub size: usize,
    /// Bytes held by the table: its objects, their index, the table itself.
    pub memory: usize,
    /// As given at creation.
    pub read_concurrency: bool,
    /// As given at creation.
    pub write_concurrency: bool,
}

/// Decodes an optional MessagePack term argument (absent: nil).
pub(crate) fn arg_term(ptr: *const u8, len: usize, name: &'static str) -> Outcome<Term> {
    Ok(arg_opt_term(ptr, len, name)?.unwrap_or(Term::Nil))
}

/// An optional term argument: NULL (with length 0) is `None`, else one MessagePack value.
pub(crate) fn arg_opt_term(
    ptr: *const u8,
    len: usize,
    name: &'static str,
) -> Outcome<Option<Term>> {
    match arg_opt_bytes(ptr, len, name)? {
        None => Ok(None),
        Some(bytes) => Ok(Some(
            Term::from_msgpack(bytes).map_err(rets_core::Error::from)?,
        )),
    }
}

pub(crate) fn options(opts: &rets_table_options) -> Outcome<TableOptions> {
    let table_type = match opts.table_type {
        0 => TableType::Set,
        1 => TableType::OrderedSet,
        2 => TableType::Bag,
        3 => TableType::DuplicateBag,
        other => return Err(Failure::invalid(format!("unknown table type {other}"))),
    };
    let access = match opts.access {
        0 => Access::Protected,
        1 => Access::Public,
        2 => Access::Private,
        other => return Err(Failure::invalid(format!("unknown access mode {other}"))),
    };
    let mut options = TableOptions::new()
        .table_type(table_type)
        .access(access)
        .keypos(opts.keypos.max(1))
        .read_concurrency(opts.read_concurrency)
        .write_concurrency(opts.write_concurrency);
    if opts.named {
        options = options.named();
    }
    if !opts.heir.is_null() {
        let heir = arg_ref(opts.heir, "options->heir")?;
        let gift = arg_term(opts.heir_data, opts.heir_data_len, "options->heir_data")?;
        options = options.heir(&heir.owner, gift);
    }
    Ok(options)
}

/// Creates a table owned by `owner` and stores a handle to it, acting for `owner`, in `*out`.
/// `name` (NUL-terminated UTF-8) is the table's name; with `options->named` it is also
/// registered for rets_whereis(). `options` may be NULL for ETS's defaults.
///
/// Ownership: `name` and `options` are borrowed for the call. The caller owns the new handle
/// and frees it with rets_table_free(); the table itself lives until it is deleted or its
/// owner closes without an heir.
///
/// Thread-safety: any thread.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`; `RETS_STATUS_INVALID_ARGUMENT` (name not UTF-8, unknown
/// type or access); `RETS_STATUS_NAME_TAKEN` (named, and a named table has the name);
/// `RETS_STATUS_MALFORMED`, `RETS_STATUS_UNSUPPORTED_TERM`, `RETS_STATUS_LIMIT_EXCEEDED`
/// (bad heir data).
#[no_mangle]
pub extern "C" fn rets_table_new(
    owner: *const rets_owner,
    name: *const c_char,
    options: *const rets_table_options,
    out: *mut *mut rets_table,
) -> rets_status {
    boundary(|| {
        let owner = arg_ref(owner, "owner")?;
        let name = arg_str(name, "name")?;
        let options = match options.is_null() {
            true => TableOptions::new(),
            false => self::options(arg_ref(options, "options")?)?,
        };
        let out = Out::new(out, "out")?;
        let table = owner.owner.new_table(name, options)?;
        out.write(into_handle(rets_table { table }));
        Ok(())
    })
}

/// Frees a table handle. The table itself is not affected (see rets_table_delete()). NULL is
/// ignored.
///
/// Undefined behaviour: freeing a handle twice, using it afterwards, or freeing it while
/// another thread uses it.
#[no_mangle]
pub extern "C" fn rets_table_free(table: *mut rets_table) {
    release(|| drop(from_handle(table)));
}

/// Stores in `*out` a new handle to the same table as `table`, acting for `owner`.
///
/// Ownership: the caller owns the new handle and frees it with rets_table_free().
///
/// Thread-safety: any thread.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`.
#[no_mangle]
pub extern "C" fn rets_table_with_owner(
    table: *const rets_table,
    owner: *const rets_owner,
    out: *mut *mut rets_table,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let owner = arg_ref(owner, "owner")?;
        let out = Out::new(out, "out")?;
        out.write(into_handle(rets_table {
            table: table.table.with_caller(&owner.owner),
        }));
        Ok(())
    })
}

/// Fills `*out` with facts about the table (ETS `info/1`). Anyone may ask, whatever the access
/// mode. The name is given by rets_table_name().
///
/// Thread-safety: any thread; the facts are each current, not a snapshot of one moment.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`, `RETS_STATUS_NO_TABLE`.
#[no_mangle]
pub extern "C" fn rets_table_info(table: *const rets_table, out: *mut rets_info) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let out = Out::new(out, "out")?;
        let info = table.table.info()?;
        out.write(rets_info {
            id: info.id,
            table_type: match info.table_type {
                TableType::Set => rets_table_type::Set,
                TableType::OrderedSet => rets_table_type::OrderedSet,
                TableType::Bag => rets_table_type::Bag,
                TableType::DuplicateBag => rets_table_type::DuplicateBag,
            },
            access: match info.access {
                Access::Protected => rets_access::Protected,
                Access::Public => rets_access::Public,
                Access::Private => rets_access::Private,
            },
            keypos: info.keypos,
            named: info.named,
            owner: info.owner.0,
            heir: info.heir.map_or(0, |h| h.0),
            size: info.size,
            memory: info.memory,
            read_concurrency: info.read_concurrency,
            write_concurrency: info.write_concurrency,
        });
        Ok(())
    })
}

/// Writes the table's current name (UTF-8, NUL-terminated in the buffer) into `out`.
///
/// Thread-safety: any thread; `out` must not be used by another thread during the call.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`, `RETS_STATUS_NO_TABLE`.
#[no_mangle]
pub extern "C" fn rets_table_name(table: *const rets_table, out: *mut rets_buf) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let out = arg_mut(out, "out")?;
        let name = table.table.name()?;
        out.set(name.as_bytes());
        Ok(())
    })
}

/// Renames the table (ETS `rename/2`) to `new_name` (NUL-terminated UTF-8). A named table is
/// registered under the new name and no longer found under the old one. Needs write access.
///
/// Thread-safety: any thread.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`, `RETS_STATUS_INVALID_ARGUMENT` (not UTF-8),
/// `RETS_STATUS_NO_TABLE`, `RETS_STATUS_OWNER_CLOSED`, `RETS_STATUS_ACCESS_DENIED`,
/// `RETS_STATUS_NAME_TAKEN`.
#[no_mangle]
pub extern "C" fn rets_table_rename(
    table: *const rets_table,
    new_name: *const c_char,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let new_name = arg_str(new_name, "new_name")?;
        Ok(table.table.rename(new_name)?)
    })
}

/// Deletes the table (ETS `delete/1`): its objects are freed, its name is released, and every
/// handle to it then fails with `RETS_STATUS_NO_TABLE`. Needs write access. The handle `table`
/// itself stays valid: free it with rets_table_free().
///
/// Thread-safety: any thread. Calls running concurrently on other threads either complete
/// before the deletion (and see the table whole) or fail with `RETS_STATUS_NO_TABLE`.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`, `RETS_STATUS_NO_TABLE` (already deleted),
/// `RETS_STATUS_OWNER_CLOSED`, `RETS_STATUS_ACCESS_DENIED`.
#[no_mangle]
pub extern "C" fn rets_table_delete(table: *const rets_table) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        Ok(table.table.delete_table()?)
    })
}

/// Gives the table to the owner `to` (ETS `give_away/3`), with `gift` (one MessagePack value;
/// NULL for nil). Only the table's owner may: `table` must act for it. `to` then finds the
/// table with rets_owner_recv_transfer(). The heir is unchanged.
///
/// Ownership: `gift` is borrowed for the call (rets keeps a copy).
///
/// Thread-safety: any thread.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT` (`table`, `to`, or `gift` NULL with a nonzero length);
/// `RETS_STATUS_NO_TABLE`; `RETS_STATUS_OWNER_CLOSED`; `RETS_STATUS_NOT_OWNER`;
/// `RETS_STATUS_INVALID_ARGUMENT` (`to` is closed or already owns the table);
/// `RETS_STATUS_MALFORMED`, `RETS_STATUS_UNSUPPORTED_TERM`, `RETS_STATUS_LIMIT_EXCEEDED` (`gift`).
#[no_mangle]
pub extern "C" fn rets_table_give_away(
    table: *const rets_table,
    to: *const rets_owner,
    gift: *const u8,
    gift_len: usize,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let to = arg_ref(to, "to")?;
        let gift = arg_term(gift, gift_len, "gift")?;
        Ok(table.table.give_away(&to.owner, gift)?)
    })
}

/// Sets the table's heir (ETS `setopts(T, {heir, Pid, Data})`) to `heir` with `heir_data` (one
/// MessagePack value; NULL for nil), or clears it if `heir` is NULL. Only the table's owner
/// may. An heir equal to the owner means no heir.
///
/// Ownership: `heir_data` is borrowed for the call (rets keeps a copy). The table does not keep
/// the heir's handle: the heir may close at any time, and then it is simply not an heir.
///
/// Thread-safety: any thread.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT` (`table`, or `heir_data` NULL with a nonzero length);
/// `RETS_STATUS_NO_TABLE`; `RETS_STATUS_OWNER_CLOSED`; `RETS_STATUS_NOT_OWNER`;
/// `RETS_STATUS_MALFORMED`, `RETS_STATUS_UNSUPPORTED_TERM`, `RETS_STATUS_LIMIT_EXCEEDED`.
#[no_mangle]
pub extern "C" fn rets_table_set_heir(
    table: *const rets_table,
    heir: *const rets_owner,
    heir_data: *const u8,
    heir_data_len: usize,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let gift = arg_term(heir_data, heir_data_len, "heir_data")?;
        let heir = match heir.is_null() {
            true => None,
            false => Some((&arg_ref(heir, "heir")?.owner, gift)),
        };
        Ok(table.table.set_heir(heir)?)
    })
}
