"""Every function of include/rets.h has a Python counterpart (like ci/c-tests checks that
test_api.c calls every function). The deliberate exceptions are listed here and in the docs."""

from __future__ import annotations

import re
from pathlib import Path

import rets

BINDING = Path(__file__).resolve().parent.parent
HEADER = BINDING.parent.parent / "include" / "rets.h"

# Replaced by the MessagePack codec (msgpack): Python values become terms without them; and
# rets_pin_refresh, unsafe while other threads read through the pin: Pin.refresh() takes a new
# pin instead (README.md, "Not wrapped, on purpose").
NOT_WRAPPED = re.compile(r"rets_(builder|reader)_\w+|rets_pin_refresh")


def header_functions() -> set[str]:
    text = HEADER.read_text()
    return set(re.findall(r"^(?:enum rets_status|void|const \w+ \*|size_t) (rets_\w+)\(", text, re.M))


def test_every_c_function_is_wrapped() -> None:
    functions = header_functions()
    assert len(functions) > 60, "the header parser found too few functions"
    sources = "".join(p.read_text() for p in (BINDING / "src" / "rets").glob("*.py"))
    sources += (BINDING / "glue.h").read_text()
    missing = sorted(
        f for f in functions if not NOT_WRAPPED.fullmatch(f) and not re.search(rf"\b{f}\b", sources)
    )
    assert missing == [], f"C functions with no Python counterpart: {missing}"


def test_the_extension_has_every_header_function() -> None:
    from rets._rets_cffi import lib

    assert sorted(f for f in header_functions() if not hasattr(lib, f)) == []
    assert rets.engine_version().count(".") == 2


def test_every_failure_status_has_an_exception_family() -> None:
    from rets._errors import _FAMILY_OF_STATUS

    statuses = set(re.findall(r"^\s+(RETS_STATUS_\w+) = \d+,", HEADER.read_text(), re.M))
    ordinary = {"RETS_STATUS_OK", "RETS_STATUS_END_OF_TABLE", "RETS_STATUS_NOT_FOUND",
                "RETS_STATUS_TIMEOUT", "RETS_STATUS_WRONG_TYPE"}  # WRONG_TYPE: readers only
    assert len(statuses) > 20
    assert sorted(statuses - ordinary - set(_FAMILY_OF_STATUS)) == []


def test_the_library_names_every_status_of_the_header() -> None:
    from rets._rets_cffi import ffi, lib

    statuses = re.findall(r"^\s+(RETS_STATUS_\w+) = (\d+),", HEADER.read_text(), re.M)
    assert len(statuses) > 20
    named = {name: ffi.string(lib.rets_status_name(int(code))).decode() for name, code in statuses}
    assert {name: got for name, got in named.items() if got != name} == {}
