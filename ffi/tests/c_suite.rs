//! The C suite (`ffi/tests/c/test_*.c`) built against the library that cargo built for this
//! very test run, and run. This makes the C tests visible to `cargo test`, and so to
//! cargo-mutants, which judges each mutant of `ffi/src` by whether `cargo test` fails in a
//! scratch copy with its own target directory (docs/TESTING.md, "Mutation testing").
//!
//! The C tests are `#[ignore]`d in a plain `cargo test`: ci/c-tests already runs them, more
//! thoroughly (the installed library through pkg-config, AddressSanitizer + UBSan, valgrind, the
//! C++ test), and running them twice would only lengthen ci/test. Run them here with
//! `cargo test -p rets-ffi --test c_suite -- --include-ignored` (cargo-mutants passes that).
//!
//! Each C test is compiled as ci/c-tests compiles it (`gcc -std=c99 -Wall -Wextra -Werror`, no
//! sanitizers) and linked statically with `librets.a`, which cargo writes next to this test's
//! executable (`target/<profile>/deps/`) because the library's crate types include `staticlib`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The C tests this file runs, one `#[test]` each; `every_c_test_is_run` keeps it complete.
const C_TESTS: &[&str] = &[
    "test_access",
    "test_api",
    "test_cache",
    "test_chunk",
    "test_file",
    "test_flight",
    "test_pin",
    "test_select",
    "test_threads",
];

/// What `librets.a` needs from the system when linked statically (as ci/install-c's rets.pc
/// `Libs.private` states, from `rustc --print native-static-libs`).
const STATIC_LIBS: &[&str] = &[
    "-lgcc_s",
    "-lutil",
    "-lrt",
    "-lpthread",
    "-lm",
    "-ldl",
    "-lc",
];

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn c_dir() -> PathBuf {
    manifest_dir().join("tests/c")
}

/// The directory holding this test's executable: `target/<profile>/deps`, where cargo also
/// writes the `staticlib` it built from this tree for this run.
fn deps_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.parent()
        .expect("the test executable is in a directory")
        .to_path_buf()
}

fn static_library() -> PathBuf {
    let deps = deps_dir();
    let candidates = [
        deps.join("librets.a"),
        deps.parent()
            .map_or_else(PathBuf::new, |p| p.join("librets.a")),
    ];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "librets.a not found in {} or its parent: the rets-ffi crate types must include \
                 staticlib",
                deps.display()
            )
        })
}

fn describe(what: &str, out: &Output) -> String {
    format!(
        "{what}: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Compiles `ffi/tests/c/<name>.c` against librets.a and runs it; panics with the compiler's
/// or the test's output if either fails.
fn build_and_run(name: &str) {
    let source = c_dir().join(format!("{name}.c"));
    let out_dir = deps_dir().join("c_suite");
    std::fs::create_dir_all(&out_dir).expect("create the C suite's output directory");
    let exe = out_dir.join(name);
    let include = manifest_dir().join("../include");

    let compile = Command::new("gcc")
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror"])
        .arg("-I")
        .arg(&include)
        .arg("-I")
        .arg(c_dir())
        .arg(&source)
        .arg(static_library())
        .args(STATIC_LIBS)
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap_or_else(|e| panic!("cannot run gcc (needed for the C suite): {e}"));
    assert!(
        compile.status.success(),
        "{}",
        describe(&format!("gcc {}", source.display()), &compile)
    );

    let run = Command::new(&exe)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()));
    assert!(run.status.success(), "{}", describe(name, &run));
}

#[test]
fn every_c_test_is_run() {
    let mut found: Vec<String> = std::fs::read_dir(c_dir())
        .expect("ffi/tests/c is readable")
        .map(|e| e.expect("a directory entry").file_name())
        .filter_map(|n| n.to_str().map(str::to_owned))
        .filter_map(|n| {
            n.strip_prefix("test_")
                .and_then(|rest| rest.strip_suffix(".c"))
                .map(|stem| format!("test_{stem}"))
        })
        .collect();
    found.sort();
    assert_eq!(
        found, C_TESTS,
        "ffi/tests/c's test_*.c files and this file's C_TESTS (one #[test] each) must match"
    );
}

macro_rules! c_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            #[ignore = "ci/c-tests runs the C suite (with sanitizers and valgrind); run here with \
                        --include-ignored, as the mutation runs do (docs/TESTING.md)"]
            fn $name() {
                build_and_run(stringify!($name));
            }
        )*

        #[test]
        fn c_tests_list_matches_the_test_functions() {
            assert_eq!(C_TESTS, [$(stringify!($name)),*]);
        }
    };
}

c_tests!(
    test_access,
    test_api,
    test_cache,
    test_chunk,
    test_file,
    test_flight,
    test_pin,
    test_select,
    test_threads
);
