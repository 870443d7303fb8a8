//! The committed include/rets.h must be exactly what cbindgen generates from this crate with
//! ffi/cbindgen.toml. Regenerate it with `ci/gen-header` (or `RETS_BLESS=1 cargo test -p rets-ffi
//! --test header`).

use std::path::Path;

fn generate() -> String {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("ffi/cbindgen.toml is valid");
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut out);
    String::from_utf8(out).expect("the header is UTF-8")
}

#[test]
fn header_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../include/rets.h");
    let generated = generate();
    if std::env::var_os("RETS_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write include/rets.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| "the end".to_string(), |n| format!("line {}", n + 1));
        panic!(
            "include/rets.h is stale (first difference at {line}): regenerate it with \
             `ci/gen-header` (or `RETS_BLESS=1 cargo test -p rets-ffi --test header`) and commit it"
        );
    }
}

#[test]
fn header_version_matches_the_crate() {
    let header = generate();
    let version = concat!("#define RETS_VERSION \"", env!("CARGO_PKG_VERSION"), "\"");
    assert!(
        header.contains(version),
        "update RETS_VERSION in ffi/cbindgen.toml"
    );
}
