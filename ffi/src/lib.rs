//! The C ABI of rets. Filled in by the C ABI work; for now it only exposes the version.

/// The library version as a NUL-terminated string, e.g. `"0.1.0"`.
#[no_mangle]
pub extern "C" fn rets_version() -> *const std::ffi::c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
