"""Bad input: every argument of the wrong type or out of range gets a clear rets.Error (a
TypeError or ValueError too) and changes nothing."""

from __future__ import annotations

from typing import Any, Callable

import pytest

import rets


class Custom:
    pass


def untyped(value: object) -> Any:
    """A wrongly typed argument, on purpose (mypy would refuse it otherwise)."""
    return value


# (a value, the type of the part of it that has no term)
UNENCODABLE: list[tuple[Any, str]] = [
    (object(), "object"), ({1, 2}, "set"), (Custom(), "Custom"), (1j, "complex"),
    ((1, object()), "object"), ({"k": Custom()}, "Custom"), ([frozenset()], "frozenset"),
]


@pytest.mark.parametrize("value,type_name", UNENCODABLE, ids=[t for _, t in UNENCODABLE])
def test_unencodable_values_name_their_type(
    owner: rets.Owner, name: str, value: Any, type_name: str
) -> None:
    t = owner.new_table(name)
    t.insert(("k", 1))
    calls: list[Callable[[], object]] = [
        lambda: t.insert(("k", value)),
        lambda: t.insert((value, 1)),
        lambda: t.lookup(value),
        lambda: t.get(value),
        lambda: t.member(value),
        lambda: t.take(value),
        lambda: t.delete_key(value),
        lambda: t.lookup_element("k", 2, default=value),
        lambda: t.update_element("k", (2, value)),
        lambda: t.next(value),
        lambda: t.give_away(owner, gift=value),
        lambda: t.set_heir(None, value),
        lambda: owner.new_table(name + "x", heir_data=value),
    ]
    for call in calls:
        with pytest.raises(rets.EncodeError) as e:
            call()
        assert isinstance(e.value, TypeError)
        assert f"'{type_name}'" in str(e.value), str(e.value)
    assert t.tab2list() == [("k", 1)]


@pytest.mark.parametrize("big", [2**64, -(2**63) - 1, 10**30])
def test_ints_beyond_64_bits(owner: rets.Owner, name: str, big: int) -> None:
    t = owner.new_table(name)
    with pytest.raises(rets.EncodeError, match="64-bit"):
        t.insert(("k", big))
    with pytest.raises(rets.EncodeError, match="64-bit"):
        t.lookup(big)
    with pytest.raises(rets.ArgumentError, match="int64"):
        t.update_counter("k", big)
    assert len(t) == 0


def test_deep_nesting(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name)

    def nest(depth: int) -> Any:
        value: Any = ()
        for _ in range(depth):
            value = (value,)
        return value

    t.insert(("ok", nest(100)))
    assert t.get("ok") == ("ok", nest(100))
    with pytest.raises(rets.TermError) as e:  # the engine's limit: depth 128
        t.insert(("deep", nest(200)))
    assert e.value.status_name == "RETS_STATUS_LIMIT_EXCEEDED"
    with pytest.raises(rets.EncodeError):  # refused by the encoder before reaching the engine
        t.insert(("deeper", nest(100_000)))
    recursive: list[Any] = []
    recursive.append(recursive)
    with pytest.raises(rets.EncodeError):
        t.insert(("cycle", recursive))
    assert [o[0] for o in t] == ["ok"]


def test_engine_refusals(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name)
    with pytest.raises(rets.TermError) as e:
        t.insert(("nan", float("nan")))
    assert e.value.status_name == "RETS_STATUS_UNSUPPORTED_TERM"
    with pytest.raises(rets.TermError) as e:
        t.insert(())
    assert e.value.status_name == "RETS_STATUS_OBJECT_TOO_SHORT"
    with pytest.raises(rets.TermError) as e:
        t.lookup("k" * 70_000)
    assert e.value.status_name == "RETS_STATUS_LIMIT_EXCEEDED"
    with pytest.raises(rets.TermError):  # atomic: one bad object and nothing is inserted
        t.insert_many([("a", 1), ("b", float("nan"))])
    assert len(t) == 0


def test_wrong_object_shapes(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name)
    with pytest.raises(rets.ArgumentError, match="insert_many"):
        t.insert([("a", 1)])  # type: ignore[arg-type]
    for bad in ("text", 5, None, {"a": 1}):
        with pytest.raises(rets.ArgumentError, match="tuple"):
            t.insert(bad)  # type: ignore[arg-type]
        with pytest.raises(rets.ArgumentError):
            t.delete_object(bad)  # type: ignore[arg-type]
        with pytest.raises(rets.ArgumentError):
            t.insert_new(bad)  # type: ignore[arg-type]
    for bad in untyped((("a", 1), "ab", [1, 2], [("a", 1), 3])):
        with pytest.raises(rets.ArgumentError):
            t.insert_many(bad)
        with pytest.raises(rets.ArgumentError):
            t.insert_new_many(bad)
    with pytest.raises(TypeError):
        t.insert_many(5)  # type: ignore[arg-type]
    assert len(t) == 0


def test_wrong_argument_types(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name)
    t.insert(("k", 1, 2))
    bad_calls: list[Callable[[], object]] = [
        lambda: owner.new_table(untyped(5)),
        lambda: owner.new_table("nul\0name"),
        lambda: owner.new_table(name + "a", type="hash"),
        lambda: owner.new_table(name + "a", access="open"),
        lambda: owner.new_table(name + "a", keypos=0),
        lambda: owner.new_table(name + "a", keypos=-1),
        lambda: owner.new_table(name + "a", keypos=untyped("2")),
        lambda: owner.new_table(name + "a", named=untyped("yes")),
        lambda: owner.new_table(name + "a", read_concurrency=untyped(1)),
        lambda: owner.new_table(name + "a", heir=untyped("someone")),
        lambda: owner.new_table("\udc80 not utf-8"),
        lambda: owner.whereis(untyped(None)),
        lambda: rets.whereis(untyped(b"bytes")),
        lambda: owner.recv_transfer(-1),
        lambda: owner.recv_transfer(untyped("1")),
        lambda: t.lookup_element("k", untyped("2")),
        lambda: t.lookup_element("k", -1),
        lambda: t.lookup_element("k", 0),
        lambda: t.update_counter("k", untyped("1")),
        lambda: t.update_counter("k", untyped((2,))),
        lambda: t.update_counter("k", untyped((2, 1.5))),
        lambda: t.update_counter("k", untyped([(2, 1), "x"])),
        lambda: t.update_counter("k", 1, default=untyped("not a tuple")),
        lambda: t.update_element("k", untyped((2,))),
        lambda: t.update_element("k", untyped([(2, 0), "x"])),
        lambda: t.update_element("k", untyped(("2", 0))),
        lambda: t.update_element("k", (2, 0), default=untyped([1])),
        lambda: t.rename(untyped(3)),
        lambda: t.rename("a\0b"),
        lambda: t.give_away(untyped("someone")),
        lambda: t.set_heir(untyped(42)),
        lambda: t.with_owner(untyped(None)),
        lambda: t.foldl(untyped(None), 0),
    ]
    for call in bad_calls:
        with pytest.raises(rets.Error) as e:
            call()
        assert isinstance(e.value, (TypeError, ValueError)), e.value
        assert e.value.message
    assert t.tab2list() == [("k", 1, 2)]


def test_error_attributes(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name)
    t.delete()
    with pytest.raises(rets.Error) as e:
        t.insert(("k", 1))
    err = e.value
    assert type(err) is rets.NoTableError
    assert err.status == 20 and err.status_name == "RETS_STATUS_NO_TABLE"
    assert name in err.message and str(err) == err.message
    with pytest.raises(rets.ArgumentError) as a:
        owner.new_table("a\0b")
    assert a.value.status is None and a.value.status_name is None  # found before the engine
