"""Owners: the lesson's scenario, heirs, give_away, closing, and owners closed by the GC."""

from __future__ import annotations

import gc
import time
import warnings

import pytest

import rets


def test_lesson_scenario(name: str) -> None:
    """An owner makes a protected named table; another owner reads it but may not write it;
    when the owner closes, the heir receives the table with the gift."""
    with rets.Owner() as heir:
        cache_owner = rets.Owner()
        users = cache_owner.new_table(name, named=True, heir=heir, heir_data={"why": "failover"})
        users.insert(("u1", {"name": "Alice"}))
        assert users.info().heir == heir.id

        with rets.Owner() as reader:
            seen = reader.whereis(name)
            assert seen is not None and seen.get("u1") == ("u1", {"name": "Alice"})
            with pytest.raises(rets.AccessDeniedError) as denied:
                seen.insert(("u2", {"name": "Mallory"}))
            assert denied.value.status_name == "RETS_STATUS_ACCESS_DENIED"
            assert "protected" in denied.value.message
            assert isinstance(denied.value, rets.Error) and isinstance(denied.value, PermissionError)

        assert heir.recv_transfer(timeout=0) is None  # nothing yet
        cache_owner.close()
        assert cache_owner.closed
        with pytest.raises(rets.OwnerClosedError):
            users.insert(("u3", {}))  # the old handle acts for the closed owner
        transfer = heir.recv_transfer(timeout=5)
        assert transfer is not None
        assert transfer.reason == "inherited" and transfer.gift == {"why": "failover"}
        assert transfer.from_owner == users.info().owner or transfer.from_owner > 0
        inherited = transfer.table
        assert inherited.owner is heir and inherited.info().owner == heir.id
        assert inherited.get("u1") == ("u1", {"name": "Alice"})
        inherited.insert(("u2", {"name": "Bob"}))  # the heir now writes it
        assert len(inherited) == 2
        assert heir.recv_transfer(timeout=0) is None
        started = time.monotonic()
        assert heir.recv_transfer(timeout=0.25) is None  # waits its timeout, in slices
        assert time.monotonic() - started >= 0.25


def test_give_away_and_set_heir(name: str) -> None:
    with rets.Owner() as a, rets.Owner() as b:
        t = a.new_table(name)
        t.insert(("k", 1))
        with pytest.raises(rets.NotOwnerError):
            t.with_owner(b).give_away(a)
        t.give_away(b, gift=("gift", 1))
        transfer = b.recv_transfer(timeout=1)
        assert transfer is not None
        assert transfer.reason == "given_away" and transfer.gift == ("gift", 1)
        assert transfer.from_owner == a.id and transfer.table.info().owner == b.id
        with pytest.raises(rets.AccessDeniedError):
            t.insert(("k", 2))  # a no longer owns it
        mine = transfer.table
        mine.set_heir(a, "back")
        assert mine.info().heir == a.id
        mine.set_heir(None)
        assert mine.info().heir is None
        with pytest.raises(rets.NotOwnerError):
            t.set_heir(a)


def test_close_deletes_tables_without_heir(name: str) -> None:
    owner = rets.Owner()
    t = owner.new_table(name, named=True)
    owner.close()
    owner.close()  # twice is fine
    assert rets.whereis(name) is None
    with pytest.raises(rets.NoTableError):  # the table went with its owner
        t.lookup("k")
    for call in (lambda: owner.new_table(name + "x"), lambda: owner.whereis(name),
                 lambda: owner.recv_transfer(0)):
        with pytest.raises(rets.OwnerClosedError):
            call()
    with rets.Owner() as other, pytest.raises(rets.OwnerClosedError):
        other.new_table(name + "y", heir=owner)
    assert "closed" in repr(owner)


def test_owner_context_manager(name: str) -> None:
    with rets.Owner() as owner:
        owner.new_table(name, named=True)
        assert rets.whereis(name) is not None
    assert owner.closed and rets.whereis(name) is None


def test_owner_collected_with_tables_warns(name: str) -> None:
    owner = rets.Owner()
    owner.new_table(name, named=True)  # the Table handle is dropped at once
    with pytest.warns(ResourceWarning, match=name):
        del owner
        gc.collect()
    assert rets.whereis(name) is None  # the owner was closed: its table went with it


def test_owner_collected_without_tables_is_quiet(name: str) -> None:
    owner = rets.Owner()
    owner.new_table(name).delete()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        del owner
        gc.collect()


def test_table_keeps_its_owner_alive(name: str) -> None:
    t = rets.Owner().new_table(name)  # no reference to the owner but the table's
    gc.collect()
    t.insert(("k", 1))
    assert t.lookup("k") == [("k", 1)]
    owner = t.owner
    assert owner is not None
    owner.close()


def test_many_owners_and_tables_are_freed(name: str) -> None:
    for i in range(300):
        with rets.Owner() as o:
            for j in range(3):
                o.new_table(f"{name}-{i}-{j}").insert((j, j))
    with rets.Owner() as o:  # a long-lived owner making and deleting many tables
        for i in range(300):
            o.new_table(f"{name}-{i}").delete()
        assert len(o._watched) < 300


def test_name_taken(owner: rets.Owner, name: str) -> None:
    owner.new_table(name, named=True)
    with pytest.raises(rets.NameTakenError) as e:
        owner.new_table(name, named=True)
    assert name in e.value.message
    owner.new_table(name)  # an unnamed table may share the name
    with pytest.raises(rets.NameTakenError):
        owner.new_table(name + "2", named=True).rename(name)


def test_heir_that_is_the_owner_means_none(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name, heir=owner)
    assert t.info().heir is None


def test_closed_owner_as_an_argument(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name)
    closed = rets.Owner()
    closed.close()
    for call in (lambda: t.give_away(closed), lambda: t.set_heir(closed),
                 lambda: t.with_owner(closed)):
        with pytest.raises(rets.OwnerClosedError):
            call()
    assert t.info().owner == owner.id and t.info().heir is None


def test_access_modes_by_handle(owner: rets.Owner, name: str) -> None:
    public = owner.new_table(name + "pub", access="public", named=True)
    private = owner.new_table(name + "priv", access="private", named=True)
    anon_public = rets.whereis(name + "pub")
    anon_private = rets.whereis(name + "priv")
    assert anon_public is not None and anon_private is not None
    anon_public.insert(("k", "anyone writes a public table"))
    assert public.get("k") == ("k", "anyone writes a public table")
    with pytest.raises(rets.AccessDeniedError):
        anon_private.lookup("k")
    with pytest.raises(rets.AccessDeniedError):
        anon_private.member("k")
    with pytest.raises(rets.AccessDeniedError):
        list(anon_private)
    protected = owner.new_table(name + "prot", named=True)
    anon_protected = rets.whereis(name + "prot")
    assert anon_protected is not None
    with pytest.raises(rets.AccessDeniedError):
        anon_protected.rename(name + "x")  # renaming and deleting need write access
    with pytest.raises(rets.AccessDeniedError):
        anon_protected.delete()
    anon_public.rename(name + "pub2")  # which a public table gives everyone
    assert public.name == name + "pub2"
    protected.delete()
    with pytest.raises(rets.NotOwnerError):
        anon_public.give_away(owner)
    private.insert(("k", 1))
    assert private.lookup("k") == [("k", 1)]


def test_signal_handlers_run_during_a_long_wait(owner: rets.Owner) -> None:
    import signal

    class Interrupted(Exception):
        pass

    def handler(signum: int, frame: object) -> None:
        raise Interrupted()

    old = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        started = time.monotonic()
        with pytest.raises(Interrupted):
            owner.recv_transfer(timeout=None)  # as Ctrl-C would interrupt it
        assert time.monotonic() - started < 5
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert owner.recv_transfer(timeout=0) is None  # the owner is still usable
