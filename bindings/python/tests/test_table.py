"""Every Table operation, on every table type, against what ETS does."""

from __future__ import annotations

from typing import Any

import pytest

import rets


def test_insert_lookup_get_member(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name)
    assert t.lookup("u1") == []
    assert t.get("u1") is None
    assert t.get("u1", "dflt") == "dflt"
    t.insert(("u1", {"name": "Alice", "tier": "pro"}, 3))
    assert t.lookup("u1") == [("u1", {"name": "Alice", "tier": "pro"}, 3)]
    assert t.get("u1") == ("u1", {"name": "Alice", "tier": "pro"}, 3)
    assert t["u1"] == [("u1", {"name": "Alice", "tier": "pro"}, 3)]
    with pytest.raises(KeyError):
        t["nope"]
    assert t.member("u1") and "u1" in t
    assert not t.member("u2") and "u2" not in t
    t.insert(("u1", "replaced"))
    assert t.lookup("u1") == [("u1", "replaced")]
    assert len(t) == 1


def test_insert_many_and_insert_new(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name)
    t.insert_many([(i, i * i) for i in range(100)])
    assert len(t) == 100 and t.lookup(7) == [(7, 49)]
    t.insert_many(((i, -i) for i in range(100, 103)))  # any iterable
    assert t.get(101) == (101, -101)
    assert t.insert_new(("new", 1)) is True
    assert t.insert_new(("new", 2)) is False
    assert t.lookup("new") == [("new", 1)]
    assert t.insert_new_many([("a", 1), ("new", 3)]) is False
    assert "a" not in t
    assert t.insert_new_many([("a", 1), ("b", 2)]) is True
    assert t.get("b") == ("b", 2)


def test_delete_key_object_all_and_take(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name, type="bag")
    t.insert_many([("k", 1), ("k", 2), ("j", 1)])
    assert t.lookup("k") == [("k", 1), ("k", 2)]
    t.delete_object(("k", 1))
    assert t.lookup("k") == [("k", 2)]
    assert t.take("k") == [("k", 2)]
    assert t.lookup("k") == [] and t.take("k") == []
    t.delete_key("j")
    assert len(t) == 0
    t.insert(("x", 1))
    del t["x"]
    assert "x" not in t
    t.insert_many([("x", 1), ("y", 2)])
    t.delete_all_objects()
    assert t.tab2list() == []


@pytest.mark.parametrize("kind", ["set", "ordered_set", "bag", "duplicate_bag"])
def test_table_types(owner: rets.Owner, name: str, kind: str) -> None:
    t = owner.new_table(name, type=kind)
    t.insert_many([(2, "b"), (1, "a"), (1, "a"), (1, 1.0)])
    expected = {
        "set": [(1, 1.0)],
        "ordered_set": [(1, 1.0)],
        "bag": [(1, "a"), (1, 1.0)],
        "duplicate_bag": [(1, "a"), (1, "a"), (1, 1.0)],
    }[kind]
    assert t.lookup(1) == expected
    assert t.info().type == kind
    if kind == "ordered_set":
        assert t.tab2list() == [(1, 1.0), (2, "b")]
        assert t.lookup(1.0) == [(1, 1.0)]  # ordered_set: 1 == 1.0 as keys
    if kind == "set":
        assert t.lookup(1.0) == []  # set: keys match exactly


def test_lookup_element(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name)
    t.insert(("k", "a", "b"))
    assert t.lookup_element("k", 1) == "k"
    assert t.lookup_element("k", 3) == "b"
    assert t.lookup_element("absent", 2, default=None) is None
    assert t.lookup_element("absent", 2, "dflt") == "dflt"
    with pytest.raises(rets.KeyNotFoundError) as e:
        t.lookup_element("absent", 2)
    assert e.value.status_name == "RETS_STATUS_KEY_NOT_FOUND"
    assert isinstance(e.value, KeyError)
    with pytest.raises(rets.OperationError, match="position"):
        t.lookup_element("k", 9)
    bag = owner.new_table(name + "b", type="bag")
    bag.insert_many([("k", 1), ("k", 2)])
    assert bag.lookup_element("k", 2) == (1, 2)


def test_update_counter_forms(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name)
    t.insert(("c", 0, 10, 100))
    assert t.update_counter("c", 5) == 5
    assert t.update_counter("c", (3, -1)) == 9
    assert t.update_counter("c", (4, 10, 105, 0)) == 0  # above the threshold: set to 0
    assert t.update_counter("c", [(2, 1), (3, 1), 2]) == [6, 10, 8]
    assert t.lookup("c") == [("c", 8, 10, 0)]
    with pytest.raises(rets.KeyNotFoundError):
        t.update_counter("absent", 1)
    assert t.update_counter("d", 2, default=("ignored", 40)) == 42
    assert t.update_counter("e", [(2, 1), 1], default=("x", 0)) == [1, 2]
    t.insert(("s", "text"))
    with pytest.raises(rets.OperationError) as e:
        t.update_counter("s", 1)
    assert e.value.status_name == "RETS_STATUS_NOT_AN_INTEGER"
    with pytest.raises(rets.OperationError, match="[Kk]ey"):
        t.update_counter("c", (1, 1))
    t.insert(("max", 2**63 - 1))
    with pytest.raises(rets.OperationError) as e:
        t.update_counter("max", 1)
    assert e.value.status_name == "RETS_STATUS_OVERFLOW"
    assert t.lookup("max") == [("max", 2**63 - 1)]
    bag = owner.new_table(name + "b", type="bag")
    bag.insert(("c", 1))
    with pytest.raises(rets.OperationError) as e:
        bag.update_counter("c", 1)
    assert e.value.status_name == "RETS_STATUS_WRONG_TABLE_TYPE"


def test_update_element(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name)
    t.insert(("k", 1, 2))
    assert t.update_element("k", (2, "one")) is True
    assert t.update_element("k", [(2, "uno"), (3, ("nested", [1]))]) is True
    assert t.lookup("k") == [("k", "uno", ("nested", (1,)))]
    assert t.update_element("absent", (2, 0)) is False
    assert t.update_element("absent", (2, 0), default=("x", 9, 9)) is True
    assert t.lookup("absent") == [("absent", 0, 9)]
    with pytest.raises(rets.OperationError):
        t.update_element("k", (1, "new key"))
    with pytest.raises(rets.OperationError):
        t.update_element("k", (9, 0))


def test_traversal(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name, type="ordered_set")
    assert t.first() is rets.END_OF_TABLE and t.last() is rets.END_OF_TABLE
    assert t.first_lookup() is rets.END_OF_TABLE
    t.insert_many([(k, str(k)) for k in (3, 1, 2)])
    assert t.first() == 1 and t.last() == 3
    assert t.next(1) == 2 and t.next(3) is rets.END_OF_TABLE
    assert t.prev(3) == 2 and t.prev(1) is rets.END_OF_TABLE
    assert t.next(1.5) == 2  # a key not in the table
    assert t.first_lookup() == (1, [(1, "1")])
    assert t.next_lookup(1) == (2, [(2, "2")])
    assert t.last_lookup() == (3, [(3, "3")])
    assert t.prev_lookup(3) == (2, [(2, "2")])
    assert t.next_lookup(3) is rets.END_OF_TABLE
    assert t.prev_lookup(1) is rets.END_OF_TABLE
    assert list(t) == [(1, "1"), (2, "2"), (3, "3")]
    assert repr(rets.END_OF_TABLE) == "rets.END_OF_TABLE"


def test_iteration_visits_each_object_once(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name, type="bag")
    t.insert_many([(i % 50, i) for i in range(500)])
    seen = list(t)
    assert sorted(seen) == sorted((i % 50, i) for i in range(500))
    assert sorted(t.tab2list()) == sorted(seen)


def test_iteration_while_writing(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name)
    t.insert_many([(i, i) for i in range(1000)])
    seen = set()
    for key, value in t:
        assert key == value
        assert key not in seen
        seen.add(key)
        if key % 2 == 0:
            t.delete_key(key + 1)
        t.insert((key + 10_000, key + 10_000))
    assert len(seen) >= 500


def test_fold(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name, type="ordered_set")
    t.insert_many([(i, i * 10) for i in range(1, 6)])
    assert t.foldl(lambda obj, acc: acc + [obj[0]], []) == [1, 2, 3, 4, 5]
    assert t.foldr(lambda obj, acc: acc + [obj[0]], []) == [5, 4, 3, 2, 1]
    assert t.foldl(lambda obj, acc: acc + obj[1], 0) == 150

    def writes(obj: Any, acc: int) -> int:  # the callback may call rets, even on this table
        if obj[0] > 0:
            t.insert((-obj[0], 0))  # before every visited key: not visited by this fold
        return acc + 1

    assert t.foldl(writes, 0) == 5
    assert len(t) == 10

    def fails(obj: Any, acc: int) -> int:
        raise ValueError("stop here")

    with pytest.raises(ValueError, match="stop here"):
        t.foldl(fails, 0)
    assert owner.new_table(name + "e").foldl(lambda o, a: a + 1, 0) == 0


def test_info_name_rename(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(
        name, type="ordered_set", access="public", keypos=2, named=True,
        read_concurrency=True, write_concurrency=True,
    )
    info = t.info()
    assert (info.name, info.type, info.access, info.keypos) == (name, "ordered_set", "public", 2)
    assert info.named and info.read_concurrency and info.write_concurrency
    assert info.owner == owner.id and info.heir is None and info.size == 0
    t.insert(("v", "key"))
    assert t.info().size == 1 and t.info().memory > 0
    assert t.lookup("key") == [("v", "key")]
    t.rename(name + "-renamed")
    assert t.name == name + "-renamed"
    assert rets.whereis(name) is None
    found = rets.whereis(name + "-renamed")
    assert found is not None and found.lookup("key") == [("v", "key")]
    assert repr(t) == f"<rets.Table {name + '-renamed'!r}>"


def test_terms_round_trip(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name)
    values: list[Any] = [
        None, True, False, 0, -1, 2**63 - 1, -(2**63), 2**64 - 1, 1.5, -0.0, "", "héllo",
        b"\x00\xff", (), (1, (2, (3,))), {"a": 1, 2: "b", (1, 2): [3]}, [1, [2]],
    ]
    for i, v in enumerate(values):
        t.insert((i, v))
    got = {obj[0]: obj[1] for obj in t}
    assert got[5] == 2**63 - 1 and got[7] == 2**64 - 1 and got[6] == -(2**63)
    assert got[11] == "héllo" and got[12] == b"\x00\xff" and got[0] is None
    assert got[14] == (1, (2, (3,)))
    assert got[15] == {"a": 1, 2: "b", (1, 2): (3,)}  # arrays come back as tuples
    assert got[16] == (1, (2,))  # a list is an array: it comes back as a tuple
    t.insert(((1, "tuple key"), "v"))
    assert t.lookup((1, "tuple key")) == [((1, "tuple key"), "v")]
    assert t.lookup([1, "tuple key"]) == [((1, "tuple key"), "v")]  # the same term
    key = t.first()
    assert t.lookup(key)  # whatever comes back is usable as a key


def test_whereis_and_owner_whereis(owner: rets.Owner, name: str) -> None:
    assert rets.whereis(name) is None and owner.whereis(name) is None
    t = owner.new_table(name, named=True)
    t.insert(("k", 1))
    anon = rets.whereis(name)
    assert anon is not None and anon.owner is None and anon.get("k") == ("k", 1)
    with pytest.raises(rets.AccessDeniedError):
        anon.insert(("k", 2))  # nobody may write a protected table
    mine = owner.whereis(name)
    assert mine is not None and mine.owner is owner
    mine.insert(("k", 3))
    assert t.get("k") == ("k", 3)
    unnamed = owner.new_table(name + "u")
    assert rets.whereis(name + "u") is None and unnamed.info().named is False


def test_table_context_manager_deletes(owner: rets.Owner, name: str) -> None:
    with owner.new_table(name, named=True) as t:
        t.insert(("k", 1))
        assert rets.whereis(name) is not None
    assert rets.whereis(name) is None
    with pytest.raises(rets.NoTableError):
        t.lookup("k")
    with pytest.raises(rets.NoTableError):
        t.name
    assert repr(t) == "<rets.Table (deleted)>"


def test_delete_table(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name, named=True)
    other = rets.whereis(name)
    assert other is not None
    t.delete()
    for handle in (t, other):
        with pytest.raises(rets.NoTableError) as e:
            handle.insert(("k", 1))
        assert e.value.status_name == "RETS_STATUS_NO_TABLE" and e.value.message
    with pytest.raises(rets.NoTableError):
        t.delete()
    assert owner.new_table(name, named=True).info().name == name  # the name is free again


def test_keypos(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name, keypos=2)
    t.insert(("value", "key", 0))
    assert t.lookup("key") == [("value", "key", 0)]
    assert t.update_counter("key", 1) == 1  # the element after the key
    assert t.update_counter("key", [1]) == [2]
    with pytest.raises(rets.TermError) as e:
        t.insert(("short",))
    assert e.value.status_name == "RETS_STATUS_OBJECT_TOO_SHORT"


def test_with_owner(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name, access="private")
    t.insert(("k", 1))
    with rets.Owner() as other:
        foreign = t.with_owner(other)
        assert foreign.owner is other
        with pytest.raises(rets.AccessDeniedError):
            foreign.lookup("k")
        assert t.with_owner(owner).lookup("k") == [("k", 1)]


def test_engine_version() -> None:
    assert rets.engine_version() == rets.__version__
