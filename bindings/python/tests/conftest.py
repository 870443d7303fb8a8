from __future__ import annotations

import itertools
from typing import Iterator

import pytest

import rets

_names = itertools.count()


@pytest.fixture
def owner() -> Iterator[rets.Owner]:
    with rets.Owner() as o:
        yield o


@pytest.fixture
def name() -> str:
    """A table name no other test uses (named tables share one registry per process)."""
    return f"t{next(_names)}"
