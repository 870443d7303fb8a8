"""The cache layer: lifetimes, bounds, statistics, with a manual clock."""

from __future__ import annotations

import pytest

import rets


def test_ttl_with_a_manual_clock(owner: rets.Owner, name: str) -> None:
    clock = rets.ManualClock()
    t = owner.new_table(name, ttl=10, clock=clock)
    t.insert(("a", 1))
    t.insert(("b", 2), ttl=60)  # its own lifetime
    clock.advance(9)
    assert t.get("a") == ("a", 1)
    clock.advance(2)
    assert t.get("a") is None and "a" not in t and len(t) == 1  # expired: never returned
    assert t.get("b") == ("b", 2)
    assert t.insert_new(("a", 3), ttl=1) is True  # an expired key counts as absent
    clock.advance(2)
    assert t.lookup("a") == []
    t.insert_many([("c", 1), ("d", 2)], ttl=5)
    clock.advance(100)
    assert t.tab2list() == []
    assert t.purge_expired() >= 0
    stats = t.cache_stats()
    assert stats.expirations >= 1 and stats.hits >= 2 and stats.misses >= 2


def test_lifetimes_of_update_defaults_and_insert_new_many(owner: rets.Owner, name: str) -> None:
    clock = rets.ManualClock()
    t = owner.new_table(name, clock=clock)
    assert t.update_counter("hits", 1, ("hits", 0), ttl=2) == 1  # the default gets 2 s
    assert t.update_counter("hits", [(2, 1)], ("hits", 0)) == [2]  # keeps its deadline
    clock.advance(1.5)
    assert t.update_counter("hits", 1, ("hits", 0), ttl=1) == 3  # a new lifetime from now
    clock.advance(0.9)
    assert t.get("hits") == ("hits", 3)
    clock.advance(0.2)
    assert t.get("hits") is None
    assert t.update_element("s", (2, "on"), ("s", "off"), ttl=3) is True
    clock.advance(2.9)
    assert t.get("s") == ("s", "on")
    clock.advance(0.2)
    assert "s" not in t
    assert t.insert_new_many([("x", 1), ("y", 2)], ttl=1) is True
    assert t.insert_new_many([("y", 3), ("z", 3)], ttl=1) is False and "z" not in t
    clock.advance(1)
    assert t.insert_new_many([("y", 3), ("z", 3)]) is True  # "y" expired: absent
    assert sorted(t.tab2list()) == [("y", 3), ("z", 3)]
    with pytest.raises(rets.ArgumentError):
        t.update_counter("n", 1, ttl=1)  # a lifetime is for the default object
    with pytest.raises(rets.ArgumentError):
        t.update_element("n", (2, 1), ttl=1)
    with pytest.raises(rets.ArgumentError):
        t.insert_new_many([("w", 1)], ttl=-1)
    assert "n" not in t and "w" not in t


def test_time_to_idle(owner: rets.Owner, name: str) -> None:
    clock = rets.ManualClock()
    t = owner.new_table(name, time_to_idle=10, clock=clock)
    t.insert(("k", 1))
    for _ in range(5):
        clock.advance(8)
        assert t.get("k") == ("k", 1)  # each read keeps it alive
    clock.advance(11)
    assert t.get("k") is None


def test_ttl_and_time_to_idle_together(owner: rets.Owner, name: str) -> None:
    clock = rets.ManualClock()
    t = owner.new_table(name, ttl=25, time_to_idle=10, clock=clock)
    t.insert(("read", 1))
    t.insert(("unread", 1))
    t.insert(("own", 1), ttl=100)  # its own lifetime, longer than the table's
    for i in range(4):  # 6, 12, 18, 24 s: each read restarts the idle time
        clock.advance(6)
        assert t.get("read") == ("read", 1) and "own" in t
        if i >= 1:  # never read: gone once idle for 10 s (not read before: a read restarts it)
            assert "unread" not in t
    clock.advance(1)  # 25 s: the table's ttl ends it, read or not
    assert t.get("read") is None and "own" in t
    clock.advance(10)  # 35 s: idle for 10 s
    assert "own" not in t


def test_bounds_and_stats(owner: rets.Owner, name: str) -> None:
    evicting = owner.new_table(name, max_size=100)
    for i in range(500):
        evicting.insert((i, i))
    assert len(evicting) <= 100 and evicting.cache_stats().evictions >= 400
    with pytest.raises(rets.TableFullError):  # one atomic batch larger than the bound
        evicting.insert_many([(i, i) for i in range(500)])
    rejecting = owner.new_table(name + "r", max_size=10, on_full="reject")
    rejecting.insert_many([(i, i) for i in range(10)])
    with pytest.raises(rets.TableFullError) as e:
        rejecting.insert(("one more", 0))
    assert e.value.message and len(rejecting) == 10
    assert rejecting.cache_stats().rejected_writes >= 1
    stats_only = owner.new_table(name + "s", record_stats=True)
    stats_only.insert(("k", 1))
    stats_only.get("k")
    stats_only.get("missing")
    stats_only.record_load(0.25)
    stats_only.record_load(0.5, ok=False)
    s = stats_only.cache_stats()
    assert (s.hits, s.misses, s.loads, s.load_failures) == (1, 1, 1, 1)
    assert abs(s.load_seconds - 0.75) < 1e-6
    stats_only.reset_cache_stats()
    assert stats_only.cache_stats() == rets.CacheStats(0, 0, 0, 0, 0.0, 0, 0, 0)
    plain = owner.new_table(name + "p")
    assert plain.cache_stats().hits == 0


def test_cache_options_checked(owner: rets.Owner, name: str) -> None:
    bad: list[dict[str, object]] = [
        {"ttl": 0}, {"ttl": -1}, {"ttl": "1"}, {"time_to_idle": -5}, {"max_size": -1},
        {"max_memory": 1.5}, {"on_full": "drop"}, {"record_stats": 1}, {"clock": object()},
    ]
    for kwargs in bad:
        with pytest.raises(rets.ArgumentError):
            owner.new_table(name, **kwargs)  # type: ignore[arg-type]
    t = owner.new_table(name, ttl=1)
    with pytest.raises(rets.ArgumentError):
        t.insert(("k", 1), ttl=-1)
    with pytest.raises(rets.ArgumentError):
        t.record_load(-1)
    with pytest.raises(rets.ArgumentError):
        rets.ManualClock().advance(0)
