"""Atoms, match specifications, the select/match family and table files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import rets
from rets import Atom

S1, S2, ANY = Atom("$1"), Atom("$2"), Atom("_")


def test_atoms_round_trip(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name)
    t.insert((Atom("ok"), Atom("error"), "ok"))
    assert t.lookup(Atom("ok")) == [(Atom("ok"), Atom("error"), "ok")]
    assert t.lookup("ok") == []  # an atom is not the str of its name
    t.insert((Atom("flags"), Atom("true"), Atom("false"), Atom("nil")))
    assert t.get(Atom("flags")) == (Atom("flags"), True, False, None)
    assert Atom("a") == Atom("a") and Atom("a") != "a" and len({Atom("a"), Atom("a")}) == 1
    assert repr(Atom("$1")) == "Atom('$1')"
    with pytest.raises(AttributeError):
        Atom("x").name = "y"
    with pytest.raises(rets.EncodeError):
        Atom(1)  # type: ignore[arg-type]
    with pytest.raises(rets.TermError):
        t.insert((Atom("x" * 300), 1))  # longer than 255 bytes


def test_select_family(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name, type="ordered_set", access="public")
    t.insert_many([(k, k * 10) for k in range(1, 11)])
    # [{{'$1', '$2'}, [{'>', '$2', 50}], [{{'$2', '$1'}}]}]
    swap_above = rets.MatchSpec([((S1, S2), [(Atom(">"), S2, 50)], [((S2, S1),)])])
    assert t.select(swap_above) == [(60, 6), (70, 7), (80, 8), (90, 9), (100, 10)]
    assert t.select_reverse(swap_above)[0] == (100, 10)
    everything: list[Any] = [(ANY, [], [True])]
    assert t.select_count(everything) == 10  # a spec is also taken uncompiled
    assert t.select([((S1, ANY), [], [Atom("$_")])])[:2] == [(1, 10), (2, 20)]
    chunk = t.select_limit([((S1, ANY), [], [S1])], 4)
    assert chunk is not None
    first, cont = chunk
    assert first == [1, 2, 3, 4]
    assert list(cont) == [[5, 6, 7, 8], [9, 10]]
    assert cont.next() is None
    reverse = t.select_reverse_limit([((S1, ANY), [], [S1])], 3)
    assert reverse is not None and reverse[0] == [10, 9, 8]
    assert t.select_limit([((S1, ANY), [(Atom(">"), S1, 100)], [S1])], 2) is None
    bump: list[Any] = [((S1, S2), [], [((S1, (Atom("+"), S2, 1)),)])]
    assert t.select_replace(bump) == 10
    assert t.get(3) == (3, 31)
    assert t.select_delete([((S1, ANY), [(Atom("<"), S1, 4)], [True])]) == 3
    assert len(t) == 7
    with pytest.raises(rets.MatchSpecError) as e:
        t.select_replace([((S1, S2), [], [((S2, S1),)])])  # would change keys
    assert e.value.status_name == "RETS_STATUS_BAD_MATCH_SPEC"
    with pytest.raises(rets.MatchSpecError):
        rets.MatchSpec([("not a clause",)])
    with pytest.raises(rets.ArgumentError):
        t.select_limit(everything, 0)
    with pytest.raises(rets.EncodeError):
        t.select([((S1, object()), [], [S1])])
    bag = owner.new_table(name + "b", type="bag")
    with pytest.raises(rets.OperationError):
        bag.select_replace(bump)


def test_match_family(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name, type="ordered_set")
    t.insert_many([("a", 1, "x"), ("b", 2, "y"), ("c", 1, "z")])
    assert t.match((S1, 1, ANY)) == [("a",), ("c",)]
    assert t.match((S1, S2, "y")) == [("b", 2)]
    assert t.match_object((ANY, 1, ANY)) == [("a", 1, "x"), ("c", 1, "z")]
    chunk = t.match_limit((S1, ANY, ANY), 2)
    assert chunk is not None and chunk[0] == [("a",), ("b",)]
    assert chunk[1].next() == [("c",)] and chunk[1].next() is None
    chunk2 = t.match_object_limit((ANY, 1, ANY), 1)
    assert chunk2 is not None and chunk2[0] == [("a", 1, "x")]
    assert [c for c in chunk2[1]] == [[("c", 1, "z")]]
    assert t.match_limit(("nope", ANY, ANY), 5) is None
    assert t.match_delete((ANY, 1, ANY)) == 2
    assert t.tab2list() == [("b", 2, "y")]


def test_tab2file_and_back(owner: rets.Owner, name: str, tmp_path: Path) -> None:
    t = owner.new_table(name, type="bag", access="public", keypos=2, named=True)
    objects: list[Any] = [("v", k, {"n": k}, Atom("a")) for k in range(100)]
    t.insert_many(objects)
    path = tmp_path / "table.rets"
    t.tab2file(path)
    info = rets.tabfile_info(path)
    assert (info.name, info.type, info.access, info.keypos, info.named) == (
        name, "bag", "public", 2, True)
    assert info.object_count == 100 and info.version >= 1
    with pytest.raises(rets.NameTakenError):
        owner.file2tab(path)  # the named table still exists
    t.delete()
    with rets.Owner() as other:
        back = other.file2tab(str(path), verify=True)
        assert back.owner is other and back.info().owner == other.id
        assert sorted(back.tab2list()) == sorted(objects)
        assert rets.whereis(name) is not None
    damaged = tmp_path / "damaged.rets"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(rets.BadFileError):
        owner.file2tab(damaged)
    assert rets.whereis(name) is None  # no table is left by a failed load
    with pytest.raises(rets.BadFileError):
        rets.tabfile_info(__file__)  # not a table file
    with pytest.raises(rets.FileError) as e:
        owner.file2tab(tmp_path / "missing.rets")
    assert isinstance(e.value, OSError)
    with pytest.raises(rets.ArgumentError):
        t.tab2file(42)  # type: ignore[arg-type]
    with pytest.raises(rets.ArgumentError):
        owner.file2tab("a\0b")
    with pytest.raises(rets.ArgumentError):
        owner.file2tab(path, verify="yes")  # type: ignore[arg-type]
