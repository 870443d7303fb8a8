# The extension is described by build_ffi.py (cffi's setuptools integration); the rest of the
# metadata is in pyproject.toml.
from setuptools import setup

setup(cffi_modules=["build_ffi.py:ffibuilder"])
