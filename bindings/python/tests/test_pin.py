"""Table.pin(): a pinned reader (rets_pin_*) answers as the Table does, as a context manager,
from several threads, and ends its reads when the table is deleted or the pin closed."""

from __future__ import annotations

import threading

import pytest

import rets


@pytest.mark.parametrize("kind", ["set", "ordered_set", "bag", "duplicate_bag"])
def test_pinned_reads_answer_as_the_table(owner: rets.Owner, name: str, kind: str) -> None:
    t = owner.new_table(name, type=kind)
    for i in range(50):
        t.insert((i, i * 2, "x"))
        if kind.endswith("bag") and i % 3 == 0:
            t.insert((i, i * 2 + 1, "y"))
    t.insert(("str", {"a": [1, 2]}))
    with t.pin() as p:
        assert isinstance(p, rets.Pin) and not p.closed
        for k in [*range(-2, 52), "str", "absent", (1, 2)]:
            assert p.lookup(k) == t.lookup(k)
            assert p.get(k) == t.get(k)
            assert p.get(k, "dflt") == t.get(k, "dflt")
            assert p.member(k) == t.member(k) == (k in p)
            if t.member(k):
                assert p.lookup_element(k, 2) == t.lookup_element(k, 2)
            assert p.lookup_element(k, 1, None) == t.lookup_element(k, 1, None)
        with pytest.raises(rets.KeyNotFoundError):
            p.lookup_element("absent", 2)
        with pytest.raises(rets.OperationError):
            p.lookup_element(1, 9)
        with pytest.raises(rets.ArgumentError):
            p.lookup_element(1, -1)
        with pytest.raises(rets.EncodeError):
            p.lookup(object())
    assert p.closed


def test_a_pin_sees_writes_and_refreshes(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name)
    with t.pin() as p:
        assert p.get("k") is None
        t.insert(("k", 1))
        assert p.get("k") == ("k", 1)
        for v in range(1000):
            t.insert(("k", v))
        p.refresh()
        assert p.lookup_element("k", 2) == 999


def test_a_closed_pin_refuses_reads(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name)
    t.insert((1, 1))
    p = t.pin()
    assert p.member(1)
    p.close()
    p.close()  # harmless
    for read in (p.lookup, p.get, p.member, lambda k: p.lookup_element(k, 2)):
        with pytest.raises(rets.ArgumentError, match="closed"):
            read(1)
    with pytest.raises(rets.ArgumentError):
        p.refresh()
    assert t.get(1) == (1, 1)  # the table is not affected


def test_deleting_the_table_ends_a_pins_reads(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name)
    t.insert((1, 1))
    with t.pin() as p:
        assert p.member(1)
        t.delete()
        with pytest.raises(rets.NoTableError):
            p.lookup(1)
        with pytest.raises(rets.NoTableError):
            p.member(1)
    with pytest.raises(rets.NoTableError):
        t.pin()


def test_access_is_checked_when_pinning(name: str) -> None:
    with rets.Owner() as a, rets.Owner() as b:
        t = a.new_table(name, access="private")
        t.insert((1, 1))
        with pytest.raises(rets.AccessDeniedError):
            t.with_owner(b).pin()
        with t.pin() as p:
            assert p.member(1)


def test_threads_read_through_one_pin_while_a_writer_rewrites(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name, access="public")
    keys = 300
    t.insert_many([(k, 0, k) for k in range(keys)])
    errors: list[BaseException] = []

    def read(p: rets.Pin) -> None:
        try:
            for _ in range(5):
                for k in range(keys):
                    obj = p.get(k)
                    assert obj is not None and obj[2] == k + obj[1], obj
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    with t.pin() as p:
        readers = [threading.Thread(target=read, args=(p,)) for _ in range(2)]
        for r in readers:
            r.start()
        for v in range(1, 6):
            for k in range(keys):
                t.insert((k, v, k + v))
        for r in readers:
            r.join()
    assert errors == []


def test_closing_while_another_thread_reads_is_safe(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name, access="public")
    t.insert_many([(k, k) for k in range(100)])
    p = t.pin()
    outcomes: list[str] = []

    def read() -> None:
        try:
            while True:
                for k in range(100):
                    assert p.get(k) == (k, k)
        except rets.ArgumentError:
            outcomes.append("closed")

    reader = threading.Thread(target=read)
    reader.start()
    p.close()
    reader.join()
    assert outcomes == ["closed"]


def test_refresh_while_other_threads_read_is_safe(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name, access="public")
    t.insert_many([(k, k) for k in range(100)])
    stop = threading.Event()
    errors: list[BaseException] = []

    def read(p: rets.Pin) -> None:
        try:
            while not stop.is_set():
                for k in range(100):
                    assert p.get(k) == (k, k)
        except BaseException as e:
            errors.append(e)

    with t.pin() as p:
        reader = threading.Thread(target=read, args=(p,))
        reader.start()
        for _ in range(200):
            p.refresh()
        stop.set()
        reader.join()
        t.delete()
        with pytest.raises(rets.NoTableError):
            p.refresh()
    assert errors == []
