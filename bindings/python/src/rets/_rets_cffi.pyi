# The extension built by build_ffi.py: `lib` has every function and constant of include/rets.h
# (and of glue.h), `ffi` is cffi's. Their types are C's, checked by cffi at each call.
from typing import Any

ffi: Any
lib: Any
