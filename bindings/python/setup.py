# The extensions: rets._rets_cffi is described by build_ffi.py (cffi's setuptools integration,
# librets linked in); rets._fastpath (fastpath.c) is the hot lookup through the CPython API.
# The rest of the metadata is in pyproject.toml.
import os
from pathlib import Path

from setuptools import Extension, setup

# The repository (as in build_ffi.py): two levels up, or RETS_SOURCE_DIR.
ROOT = Path(os.environ.get("RETS_SOURCE_DIR") or Path(__file__).resolve().parent.parent.parent)

setup(
    cffi_modules=["build_ffi.py:ffibuilder"],
    ext_modules=[
        Extension(
            "rets._fastpath",
            ["fastpath.c"],
            include_dirs=[str(ROOT / "include")],
            depends=[str(ROOT / "include" / "rets.h")],
        )
    ],
)
