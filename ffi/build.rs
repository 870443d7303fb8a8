//! Gives the shared library its SONAME, carrying the ABI's major version (`librets.so.0`), so
//! that a program linked against it refuses a library of another major version.

fn main() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("set by cargo");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,librets.so.{major}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
