"""Iteration of a table in chunks (rets_table_next_chunk): `for obj in table`, items() and
keys() from a start key, reverse, every chunk size, bad arguments, writes during iteration, and
a deleted table."""

from __future__ import annotations

from typing import Any

import pytest

import rets

TYPES = ["set", "ordered_set", "bag", "duplicate_bag"]


def stepped(t: rets.Table) -> list[Any]:
    """The objects by first_lookup/next_lookup: the order chunks must give."""
    out: list[Any] = []
    step = t.first_lookup()
    while step is not rets.END_OF_TABLE:
        key, objects = step
        out.extend(objects)
        step = t.next_lookup(key)
    return out


@pytest.mark.parametrize("type_", TYPES)
def test_iteration_matches_first_next_for_every_chunk_size(
    owner: rets.Owner, name: str, type_: str
) -> None:
    t = owner.new_table(name, type=type_)
    assert list(t) == [] and list(t.keys()) == []
    t.insert_many([(i * 7 % 101, i) for i in range(300)])
    want = stepped(t)
    assert list(t) == want
    for chunk in (1, 2, 3, 64, 99, 100, 101, 10_000):
        assert list(t.items(chunk=chunk)) == want, chunk
        keys = list(t.keys(chunk=chunk))
        assert len(keys) == len(set(keys)) == 101
        assert keys == list(dict.fromkeys(o[0] for o in want))


def test_start_after_and_reverse_on_an_ordered_set(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name, type="ordered_set")
    t.insert_many([(i * 10, str(i)) for i in range(20)])
    assert [o[0] for o in t.items(50)][:3] == [50, 60, 70]
    assert [o[0] for o in t.items(50, after=True)][:2] == [60, 70]
    assert list(t.keys(55, chunk=2)) == [60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, 170, 180, 190]
    assert list(t.keys(reverse=True))[:3] == [190, 180, 170]
    assert list(t.keys(50, reverse=True, chunk=1)) == [50, 40, 30, 20, 10, 0]
    assert list(t.keys(55, reverse=True)) == [50, 40, 30, 20, 10, 0]
    assert list(t.keys(50, after=True, reverse=True)) == [40, 30, 20, 10, 0]
    assert list(t.keys(1000)) == []
    assert list(t.keys(50.0, chunk=3))[:2] == [50, 60]  # compare-equal on an ordered_set
    # None is a key like any other (the default start is a sentinel, not None).
    t.insert((None, "nil"))
    assert None in list(t.keys())
    assert list(t.keys(None))[0] is None


def test_a_hash_table_from_a_key(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name)
    t.insert_many([(i, i) for i in range(50)])
    order = list(t.keys())
    at = order.index(17)
    assert list(t.keys(17)) == order[at:]
    assert list(t.keys(17, after=True)) == order[at + 1 :]
    assert list(t.keys(17, reverse=True)) == order[at:]  # reverse is forward on a hash table


def test_bad_arguments_are_refused_before_iteration(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name)
    t.insert((1, 1))
    for bad in (0, -1, 1.5, "3", True):
        with pytest.raises(rets.ArgumentError):
            t.items(chunk=bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        t.keys(object())  # not a term
    assert list(t) == [(1, 1)]


def test_the_loop_may_write_the_table(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name, type="ordered_set")
    t.insert_many([(i, 0) for i in range(200)])
    seen = []
    for obj in t.items(chunk=16):
        seen.append(obj[0])
        if obj[0] < 50:
            t.delete_key(obj[0] + 100)  # far ahead: gone before its chunk is read
        t.insert((1000 + obj[0] % 2, 1))
    assert len(seen) == len(set(seen))
    assert set(seen) == set(range(100)) | set(range(150, 200)) | {1000, 1001}


def test_breaking_out_and_a_deleted_table(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name, type="ordered_set")
    t.insert_many([(i, i) for i in range(100)])
    for obj in t:
        if obj[0] == 5:
            break
    it = t.items(chunk=10)
    assert [next(it) for _ in range(10)][-1] == (9, 9)
    t.delete()
    with pytest.raises(rets.NoTableError):
        next(it)
    with pytest.raises(rets.NoTableError):
        list(t)
