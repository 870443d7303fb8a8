"""Builds the extension `rets._rets_cffi` (cffi, API mode) over include/rets.h.

The C declarations given to cffi are read from the repository's include/rets.h itself, so the
binding cannot drift from the header: a function added to the C ABI is callable as
`lib.rets_...` after a rebuild, and wrapping it is one thin Python method.

librets is built from this repository with `cargo build --release -p rets-ffi` into the
workspace's target directory (the same build ci/install-c makes) and its static library is
linked into the extension, so a wheel carries the whole engine and needs no cargo to install.
RETS_SOURCE_DIR may point at the repository when this directory is used out of its tree.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent


# The declarations of glue.h (helpers for the hot path; see there) for cdef.
GLUE_CDEF = """
typedef struct pyrets_bytes { const char *data; size_t len; } pyrets_bytes;
pyrets_bytes pyrets_buf_bytes(const rets_buf *buf);
"""

# What the Rust standard library inside librets.a needs from the system when linked statically
# (`rustc --print native-static-libs`; the same list as ci/install-c's Libs.private).
RUST_NATIVE_LIBS = ["pthread", "dl", "m", "rt", "util", "gcc_s"]


def repository() -> Path:
    override = os.environ.get("RETS_SOURCE_DIR")
    root = Path(override).resolve() if override else HERE.parent.parent
    if not (root / "include" / "rets.h").is_file() or not (root / "ffi" / "Cargo.toml").is_file():
        sys.exit(
            f"rets: {root} is not the rets repository (no include/rets.h and ffi/Cargo.toml); "
            "build from a checkout of the repository or set RETS_SOURCE_DIR"
        )
    return root


def header_to_cdef(header: str) -> str:
    """The C declarations of rets.h in the form cffi's cdef parser takes.

    Drops comments, preprocessor lines and the C++-only `extern "C"` block markers; keeps the
    integer #defines (cffi exposes them as lib.RETS_VERSION_MAJOR and so on).
    """
    text = re.sub(r"/\*.*?\*/", "", header, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    lines: list[str] = []
    skipping_cplusplus = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#ifdef __cplusplus"):
            skipping_cplusplus = True
            continue
        if skipping_cplusplus:
            if stripped.startswith("#endif"):
                skipping_cplusplus = False
            continue
        if re.fullmatch(r"#define\s+\w+\s+-?\d+", stripped):
            lines.append(stripped)
        elif not stripped.startswith("#"):
            lines.append(line)
    return "\n".join(lines)


def python_callbacks(cdef: str) -> str:
    """One cffi `extern "Python"` function per callback type of the header: for
    `typedef R (*rets_x)(A...)`, `extern "Python" R py_rets_x(A...)`, which the package defines
    with @ffi.def_extern() and passes wherever the C ABI takes a rets_x."""
    found = re.findall(r"typedef\s+([\w\s\*]+?)\s*\(\s*\*\s*(rets_\w+)\s*\)\s*\(([^)]*)\)\s*;", cdef)
    return "".join(f'extern "Python" {ret} py_{name}({args});\n' for ret, name, args in found)


def build_librets(root: Path) -> Path:
    cargo = os.environ.get("CARGO", "cargo")
    try:
        subprocess.run(
            [cargo, "build", "--release", "-p", "rets-ffi"],
            cwd=root,
            check=True,
        )
        metadata = subprocess.run(
            [cargo, "metadata", "--no-deps", "--format-version", "1"],
            cwd=root,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except FileNotFoundError:
        sys.exit("rets: building from source needs cargo (the Rust toolchain) on the PATH")
    static = Path(json.loads(metadata)["target_directory"]) / "release" / "librets.a"
    if not static.is_file():
        sys.exit(f"rets: cargo did not produce {static}")
    return static


ROOT = repository()
ffibuilder = FFI()
CDEF = header_to_cdef((ROOT / "include" / "rets.h").read_text())
ffibuilder.cdef(CDEF + python_callbacks(CDEF) + GLUE_CDEF)
ffibuilder.set_source(
    "rets._rets_cffi",
    '#include "glue.h"\n',
    include_dirs=[str(ROOT / "include"), str(HERE)],
    depends=[str(ROOT / "include" / "rets.h"), str(HERE / "glue.h")],
    extra_objects=[str(build_librets(ROOT))],
    libraries=RUST_NATIVE_LIBS,
    # librets's symbols stay private to the extension: another module linking its own copy of
    # librets (or any Rust staticlib) cannot clash with this one.
    extra_link_args=["-Wl,--exclude-libs,ALL", "-Wl,--gc-sections", "-Wl,--strip-debug"],
)

if __name__ == "__main__":
    ffibuilder.compile(tmpdir=str(HERE / "build" / "cffi"), verbose=True)
