//! The C ABI of rets (`librets`): a thin translation of `rets-core` to C.
//!
//! The header `include/rets.h` is generated from this crate by cbindgen (config:
//! `ffi/cbindgen.toml`; `ffi/tests/header.rs` fails when it is stale). The documentation of every
//! exported function is in its doc comment, which cbindgen copies into the header; the general
//! rules (errors, ownership, thread-safety, what is undefined) are in `docs/C-API.md` and at the
//! top of the header.
//!
//! Modules, one job each:
//! - `boundary`: the panic boundary and the checked reading of pointer arguments (the crate's
//!   pointer dereferences live there);
//! - `status`: `rets_status` and the per-thread error message;
//! - `buffer`: `rets_buf`, the reusable result buffer;
//! - `owner`, `table`, `ops`, `traverse`: owners, tables and their operations;
//! - `pin`: pinned readers (one reclamation guard held over many lookups);
//! - `cache`: cache tables (lifetimes, bounds, stats) and the manual clock;
//! - `flight`: read-through with single-flight (claim/fill tickets, get_or_load);
//! - `select`: match specifications and the select/match family;
//! - `file`: tab2file, file2tab, tabfile_info;
//! - `term_builder`, `term_reader`: MessagePack for C programs without a MessagePack library.

// The exported functions take raw pointers from C and are safe Rust functions in signature, as
// in rustls-ffi: their contract (valid pointers, lengths and lifetimes) is stated in rets.h, and
// every dereference goes through the checked helpers of `boundary`.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod boundary;
mod buffer;
mod cache;
mod file;
mod flight;
mod ops;
mod owner;
mod pin;
mod select;
mod status;
mod table;
mod term_builder;
mod term_reader;
mod traverse;

pub use buffer::*;
pub use cache::*;
pub use file::*;
pub use flight::*;
pub use ops::*;
pub use owner::*;
pub use pin::*;
pub use select::*;
pub use status::*;
pub use table::*;
pub use term_builder::*;
pub use term_reader::*;
pub use traverse::*;

/// The major version of the rets C ABI this header declares. Programs built against one major
/// version run with any library of the same major version (the SONAME is `librets.so.<major>`).
pub const RETS_VERSION_MAJOR: u32 = 0;
/// The minor version of this header.
pub const RETS_VERSION_MINOR: u32 = 1;
/// The patch version of this header.
pub const RETS_VERSION_PATCH: u32 = 0;

/// The version of the library as a static NUL-terminated string, e.g. `"0.1.0"`; compare it with
/// the header's `RETS_VERSION` to detect a program running with another library than the one it
/// was built against.
///
/// Ownership: static; do not free. Thread-safety: any thread. Never fails; never returns NULL.
#[no_mangle]
pub extern "C" fn rets_version() -> *const std::ffi::c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The handles documented as usable by many threads at once are `Send + Sync`; the others are
/// at least `Send` (they may move between threads).
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    const fn send<T: Send>() {}
    send_sync::<rets_owner>();
    send_sync::<rets_table>();
    send_sync::<rets_pin>();
    send_sync::<rets_ticket>();
    send::<rets_buf>();
    send_sync::<rets_manual_clock>();
    send::<rets_builder>();
    send_sync::<rets_matchspec>();
    send::<rets_select_cont>();
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_constants_match_the_crate_version() {
        assert_eq!(
            RETS_VERSION_MAJOR.to_string(),
            env!("CARGO_PKG_VERSION_MAJOR")
        );
        assert_eq!(
            RETS_VERSION_MINOR.to_string(),
            env!("CARGO_PKG_VERSION_MINOR")
        );
        assert_eq!(
            RETS_VERSION_PATCH.to_string(),
            env!("CARGO_PKG_VERSION_PATCH")
        );
        // SAFETY: rets_version returns a static NUL-terminated string.
        let v = unsafe { std::ffi::CStr::from_ptr(rets_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
