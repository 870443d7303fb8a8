"""Read-through with single-flight: get_or_load (threads) and get_or_load_async (asyncio)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

import rets


def test_get_or_load_hit_and_miss(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name)
    t.insert(("cached", 1))
    calls: list[Any] = []

    def loader(key: Any) -> tuple[Any, ...]:
        calls.append(key)
        return (key, "loaded", [1, 2])

    assert t.get_or_load("cached", loader) == ("cached", 1)
    assert calls == []
    assert t.get_or_load(("k", 1), loader) == (("k", 1), "loaded", (1, 2))
    assert calls == [("k", 1)]  # the loader gets the key as a term
    assert t.lookup(("k", 1)) == [(("k", 1), "loaded", (1, 2))]  # stored
    assert t.get_or_load(("k", 1), loader) == (("k", 1), "loaded", (1, 2))
    assert len(calls) == 1


def test_get_or_load_errors(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name)

    def boom(key: Any) -> tuple[Any, ...]:
        raise ValueError("database down")

    with pytest.raises(ValueError, match="database down"):
        t.get_or_load("k", boom)
    assert "k" not in t  # nothing cached; the next call loads again
    assert t.get_or_load("k", lambda k: (k, 2)) == ("k", 2)
    with pytest.raises(rets.ArgumentError):
        t.get_or_load("other", lambda k: ("not the key", 1))
    with pytest.raises(rets.ArgumentError):
        t.get_or_load("other", lambda k: [k, 1])  # type: ignore[arg-type, return-value]
    with pytest.raises(rets.ArgumentError):
        t.get_or_load("other", "not callable")  # type: ignore[arg-type]
    with pytest.raises(rets.ArgumentError):
        t.get_or_load("other", lambda k: (k, 1), timeout=-1)
    with pytest.raises(rets.EncodeError):
        t.get_or_load(object(), lambda k: (k, 1))
    assert "other" not in t
    bag = owner.new_table(name + "b", type="bag")
    with pytest.raises(rets.OperationError):
        bag.get_or_load("k", lambda k: (k, 1))
    owner.new_table(name + "n", named=True)
    anon = rets.whereis(name + "n")
    assert anon is not None
    with pytest.raises(rets.AccessDeniedError):  # a miss needs write access (it stores)
        anon.get_or_load("k", lambda k: (k, 1))


def test_single_flight_across_threads(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name, access="public")
    calls = []
    barrier = threading.Barrier(8)
    results: list[Any] = []

    def slow_loader(key: Any) -> tuple[Any, ...]:
        calls.append(key)
        time.sleep(0.2)
        return (key, "from the database")

    def work() -> None:
        barrier.wait()
        results.append(t.get_or_load("hot", slow_loader))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=30)
    assert calls == ["hot"]  # one load for eight callers
    assert results == [("hot", "from the database")] * 8


def test_waiters_get_the_failure_and_time_out(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name, access="public")
    started = threading.Event()
    errors: list[BaseException] = []

    def failing(key: Any) -> tuple[Any, ...]:
        started.set()
        time.sleep(0.3)
        raise RuntimeError("source unavailable")

    def loader_thread() -> None:
        try:
            t.get_or_load("k", failing)
        except BaseException as e:
            errors.append(e)

    th = threading.Thread(target=loader_thread)
    th.start()
    started.wait(10)
    with pytest.raises(rets.LoadTimeoutError):
        t.get_or_load("k", lambda k: (k, "never"), timeout=0.01)
    with pytest.raises(rets.LoadFailedError, match="source unavailable"):
        t.get_or_load("k", lambda k: (k, "never"))
    th.join(timeout=10)
    assert len(errors) == 1 and isinstance(errors[0], RuntimeError)


def test_async_single_flight_does_not_block_the_loop(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name, access="public")
    calls = []

    async def loader(key: Any) -> tuple[Any, ...]:
        calls.append(key)
        await asyncio.sleep(0.1)
        return (key, "async")

    async def main() -> tuple[list[Any], int]:
        ticks = 0
        done = False

        async def ticker() -> None:
            nonlocal ticks
            while not done:
                ticks += 1
                await asyncio.sleep(0.001)

        tick = asyncio.create_task(ticker())
        results = await asyncio.gather(*(t.get_or_load_async("k", loader) for _ in range(20)))
        done = True
        await tick
        return list(results), ticks

    results, ticks = asyncio.run(main())
    assert calls == ["k"] and results == [("k", "async")] * 20
    assert ticks > 20  # the loop ran while the load was in flight
    assert asyncio.run(t.get_or_load_async("k", loader)) == ("k", "async")  # a hit
    assert calls == ["k"]


def test_async_waits_for_a_thread_and_threads_for_a_task(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name, access="public")
    started = threading.Event()

    def slow(key: Any) -> tuple[Any, ...]:
        started.set()
        time.sleep(0.2)
        return (key, "thread")

    th = threading.Thread(target=lambda: t.get_or_load("a", slow))
    th.start()
    started.wait(10)

    async def never(key: Any) -> tuple[Any, ...]:
        raise AssertionError("a second load of a key in flight")

    assert asyncio.run(t.get_or_load_async("a", never)) == ("a", "thread")
    th.join(10)

    async def task_loads() -> None:
        async def slow_async(key: Any) -> tuple[Any, ...]:
            await asyncio.sleep(0.2)
            return (key, "task")

        got: list[Any] = []
        waiter = threading.Thread(target=lambda: got.append(t.get_or_load("b", lambda k: (k, "x"))))
        loading = asyncio.create_task(t.get_or_load_async("b", slow_async))
        await asyncio.sleep(0.05)
        waiter.start()
        assert await loading == ("b", "task")
        await asyncio.to_thread(waiter.join, 10)
        assert got == [("b", "task")]

    asyncio.run(task_loads())


def test_async_cancel_and_failures(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name, access="public")

    async def main() -> None:
        async def hangs(key: Any) -> tuple[Any, ...]:
            await asyncio.sleep(30)
            return (key, 0)

        async def fails(key: Any) -> tuple[Any, ...]:
            raise KeyError("upstream")

        loading = asyncio.create_task(t.get_or_load_async("c", hangs))
        await asyncio.sleep(0.01)
        waiting = asyncio.create_task(t.get_or_load_async("c", hangs))
        await asyncio.sleep(0.01)
        with pytest.raises(rets.LoadTimeoutError):
            await t.get_or_load_async("c", hangs, timeout=0.02)
        loading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loading
        with pytest.raises(rets.LoadFailedError, match="CancelledError"):
            await waiting
        with pytest.raises(KeyError):
            await t.get_or_load_async("c", fails)

        async def ok(key: Any) -> tuple[Any, ...]:
            return (key, "finally")

        assert await t.get_or_load_async("c", ok) == ("c", "finally")

        async def wrong_key(key: Any) -> tuple[Any, ...]:
            return ("other", 1)

        with pytest.raises(rets.ArgumentError):
            await t.get_or_load_async("d", wrong_key)
        assert "d" not in t
        assert await t.get_or_load_async("d", ok) == ("d", "finally")

    asyncio.run(main())


def test_claim_load_protocol(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name, access="public")
    t.insert(("hit", 1))
    assert t.claim_load("hit") == (("hit", 1), None)
    cached, loading = t.claim_load("k")
    assert cached is None and loading is not None and loading.loading
    _, waiting = t.claim_load("k")
    assert waiting is not None and not waiting.loading
    assert waiting.poll() is None and waiting.wait(timeout=0.01) is None
    with pytest.raises(rets.ArgumentError):
        loading.fill(("other key", 1))  # refused: the load stays open
    with pytest.raises(rets.ArgumentError):
        waiting.fill(("k", 1))  # a wait ticket cannot fill
    with pytest.raises(rets.ArgumentError):
        loading.wait(0)  # waiting for one's own load would never end
    loading.fill(("k", "loaded"))
    assert waiting.poll() == ("k", "loaded") and waiting.wait() == ("k", "loaded")
    loading.close()
    waiting.close()
    with pytest.raises(rets.ArgumentError, match="closed"):
        waiting.poll()
    assert t.get("k") == ("k", "loaded")
    _, failing = t.claim_load("f")
    assert failing is not None
    with failing, t.claim_load("f")[1] as waiter:  # type: ignore[union-attr]
        failing.fail("no such user")
        with pytest.raises(rets.LoadFailedError, match="no such user"):
            waiter.wait()
    _, abandoned = t.claim_load("g")
    assert abandoned is not None
    _, waiter2 = t.claim_load("g")
    assert waiter2 is not None
    abandoned.close()  # closing an unfinished load fails it
    with pytest.raises(rets.LoadFailedError):
        waiter2.wait(1)
    waiter2.close()


def test_invalidate_detaches_a_load_in_flight(owner: rets.Owner, name: str) -> None:
    t = owner.new_table(name, access="public")
    t.insert(("gone", 1))
    t.invalidate("gone")
    assert "gone" not in t
    _, ticket = t.claim_load("k")
    assert ticket is not None and ticket.loading
    t.invalidate("k")  # the data source changed while "k" was being loaded
    _, waiter = t.claim_load("k")
    assert waiter is not None and waiter.loading  # a new load: the old one is detached
    ticket.fill(("k", "old data"))
    assert "k" not in t  # the detached load's result is not cached
    waiter.fill(("k", "new data"), ttl=60)
    assert t.get("k") == ("k", "new data")
    ticket.close()
    waiter.close()
    with pytest.raises(rets.ArgumentError):
        t.claim_load("x")[1].fill(("x", 1), ttl=-1)  # type: ignore[union-attr]
    with pytest.raises(rets.EncodeError):
        t.invalidate(object())


def test_refresh_ahead(owner: rets.Owner, name: str) -> None:
    clock = rets.ManualClock()
    t = owner.new_table(name, access="public", ttl=60, clock=clock)
    t.insert(("k", "v1"))
    assert t.claim_load("k", refresh_after=30) == (("k", "v1"), None)  # young: cached
    clock.advance(40)
    cached, ticket = t.claim_load("k", refresh_after=30)
    assert cached == ("k", "v1") and ticket is not None and ticket.loading
    assert t.claim_load("k", refresh_after=30) == (("k", "v1"), None)  # one refresher only
    ticket.fill(("k", "v2"))
    ticket.close()
    assert t.get("k") == ("k", "v2")
    plain = owner.new_table(name + "p")
    with pytest.raises(rets.ArgumentError):
        plain.claim_load("k", refresh_after=1)  # the table has no ttl
    with pytest.raises(rets.ArgumentError):
        t.claim_load("k", refresh_after=-1)

    calls: list[Any] = []

    async def reload(key: Any) -> tuple[Any, ...]:
        calls.append(key)
        return (key, "v3")

    async def main() -> Any:
        clock.advance(40)
        first = await t.get_or_load_async("k", reload, refresh_after=30)
        for _ in range(100):  # the refresh runs in the background
            if calls and t.get("k") == ("k", "v3"):
                break
            await asyncio.sleep(0.01)
        return first

    assert asyncio.run(main()) == ("k", "v2")  # answered at once with the cached object
    assert calls == ["k"] and t.get("k") == ("k", "v3")
