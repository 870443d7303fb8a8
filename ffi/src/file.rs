//! Saving tables to files and loading them back: rets_table_tab2file(), rets_file2tab(),
//! rets_tabfile_info(). The file format is in docs/FILE-FORMAT.md.

use std::ffi::c_char;

use rets_core::persist::{self, LoadOptions};
use rets_core::{Access, TableType};

use crate::boundary::{arg_mut, arg_ref, arg_str, boundary, into_handle, Out};
use crate::buffer::rets_buf;
use crate::owner::rets_owner;
use crate::status::rets_status;
use crate::table::{rets_access, rets_table, rets_table_type};

/// What a table file records (ETS `tabfile_info/1`), filled by rets_tabfile_info().
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct rets_fileinfo {
    /// The format version of the file.
    pub version: u32,
    /// The table type.
    pub table_type: rets_table_type,
    /// The access mode.
    pub access: rets_access,
    /// The 1-based key position.
    pub keypos: usize,
    /// Whether the name was registered.
    pub named: bool,
    /// As given at creation.
    pub read_concurrency: bool,
    /// As given at creation.
    pub write_concurrency: bool,
    /// The number of objects in the file (from its trailer).
    pub object_count: u64,
}

/// Saves the table to the file at `path` (a NUL-terminated UTF-8 path; ETS `tab2file/2`).
/// Needs read access. The table is streamed with first/next's guarantee while other threads
/// write; the file is written crash-safe (a temporary file in the same directory, synced,
/// renamed over `path`, then the directory synced): a process killed at any moment leaves the
/// previous file at `path` intact.
///
/// Thread-safety: any thread.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`, `RETS_STATUS_INVALID_ARGUMENT` (path not UTF-8 or not a
/// file path), `RETS_STATUS_NO_TABLE`, `RETS_STATUS_OWNER_CLOSED`, `RETS_STATUS_ACCESS_DENIED`,
/// `RETS_STATUS_IO` (the system refused; the message has its reason).
#[no_mangle]
pub extern "C" fn rets_table_tab2file(
    table: *const rets_table,
    path: *const c_char,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let path = arg_str(path, "path")?;
        Ok(table.table.tab2file(path)?)
    })
}

/// Recreates the table saved in the file at `path` (ETS `file2tab/2`), owned by `owner`, with
/// the saved type, access, keypos, name and options, and stores a handle to it in `*out`. Every
/// checksum, every object and the object count are checked; with `verify` also that every
/// object is in canonical form and that the table ends with exactly the file's object count
/// (ETS `{verify, true}`). On any failure no table is left.
///
/// Ownership: the caller owns `*out` (free it with rets_table_free()); the table belongs to
/// `owner`. Thread-safety: any thread.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`, `RETS_STATUS_INVALID_ARGUMENT`,
/// `RETS_STATUS_OWNER_CLOSED`, `RETS_STATUS_NAME_TAKEN` (a named table of that name exists),
/// `RETS_STATUS_BAD_FILE` (not a rets table file, a future version, truncated, damaged: the
/// message says which), `RETS_STATUS_IO`.
#[no_mangle]
pub extern "C" fn rets_file2tab(
    owner: *const rets_owner,
    path: *const c_char,
    verify: bool,
    out: *mut *mut rets_table,
) -> rets_status {
    boundary(|| {
        let owner = arg_ref(owner, "owner")?;
        let path = arg_str(path, "path")?;
        let out = Out::new(out, "out")?;
        let table = persist::file2tab(&owner.owner, path, LoadOptions { verify })?;
        out.write(into_handle(rets_table { table }));
        Ok(())
    })
}

/// Reads the header and the trailer of the table file at `path` (ETS `tabfile_info/1`) into
/// `*out`, and the table's name into `name_out` (UTF-8, NUL-terminated in the buffer). The
/// objects are not read (rets_file2tab() checks them).
///
/// Thread-safety: any thread; `name_out` must not be used by another thread during the call.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`, `RETS_STATUS_INVALID_ARGUMENT`, `RETS_STATUS_BAD_FILE`,
/// `RETS_STATUS_IO`.
#[no_mangle]
pub extern "C" fn rets_tabfile_info(
    path: *const c_char,
    out: *mut rets_fileinfo,
    name_out: *mut rets_buf,
) -> rets_status {
    boundary(|| {
        let path = arg_str(path, "path")?;
        let out = Out::new(out, "out")?;
        let name_out = arg_mut(name_out, "name_out")?;
        let info = persist::tabfile_info(path)?;
        let h = &info.header;
        name_out.set(h.name.as_bytes());
        out.write(rets_fileinfo {
            version: info.version,
            table_type: match h.table_type {
                TableType::Set => rets_table_type::Set,
                TableType::OrderedSet => rets_table_type::OrderedSet,
                TableType::Bag => rets_table_type::Bag,
                TableType::DuplicateBag => rets_table_type::DuplicateBag,
            },
            access: match h.access {
                Access::Protected => rets_access::Protected,
                Access::Public => rets_access::Public,
                Access::Private => rets_access::Private,
            },
            keypos: h.keypos,
            named: h.named,
            read_concurrency: h.read_concurrency,
            write_concurrency: h.write_concurrency,
            object_count: info.object_count,
        });
        Ok(())
    })
}
