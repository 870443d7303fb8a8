"""Many Python threads sharing tables with no Python-level lock; the GIL released in calls."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

import rets

THREADS = 8


def run_threads(n: int, target: Callable[[int], None]) -> None:
    errors: list[BaseException] = []

    def guarded(i: int) -> None:
        try:
            target(i)
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive(), "a thread is stuck"
    if errors:
        raise errors[0]


def test_mixed_reads_inserts_and_counters(owner: rets.Owner, name: str) -> None:
    table = owner.new_table(name, access="public")
    table.insert(("hits", 0, 0))
    rounds = 2000

    def work(i: int) -> None:
        for r in range(rounds):
            # Every object is written whole: its two values are always equal (no torn object).
            table.insert(((i, r % 50), r, r))
            assert table.update_counter("hits", [(2, 1), (3, 2)])[1] > 0
            for obj in table.lookup((((i + 1) % THREADS), r % 50)):
                assert obj[1] == obj[2], obj
            got = table.get("hits")
            assert got is not None and got[2] == 2 * got[1]  # both counters move at once

    run_threads(THREADS, work)
    assert table.lookup("hits") == [("hits", THREADS * rounds, 2 * THREADS * rounds)]
    assert len(table) == 1 + THREADS * 50
    for i in range(THREADS):
        for k in range(50):
            (obj,) = table.lookup((i, k))
            assert obj[1] == obj[2] and obj[1] % 50 == k


def test_insert_new_has_one_winner_per_key(owner: rets.Owner, name: str) -> None:
    table = owner.new_table(name, access="public")
    wins = [0] * THREADS

    def work(i: int) -> None:
        for k in range(1000):
            if table.insert_new((k, i)):
                wins[i] += 1

    run_threads(THREADS, work)
    assert sum(wins) == 1000 and len(table) == 1000


def test_table_made_in_one_thread_used_in_others(name: str) -> None:
    made: dict[str, Any] = {}

    def make(_: int) -> None:
        owner = rets.Owner()
        made["owner"] = owner
        made["table"] = owner.new_table(name, named=True)  # protected

    run_threads(1, make)
    table: rets.Table = made["table"]

    def use(i: int) -> None:
        table.insert((i, "written through the owner's handle, from another thread"))
        anon = rets.whereis(name)
        assert anon is not None and anon.member(i)
        try:
            anon.insert((i, "denied"))
            raise AssertionError("a handle acting for nobody wrote a protected table")
        except rets.AccessDeniedError:
            pass

    run_threads(THREADS, use)
    assert len(table) == THREADS
    made["owner"].close()


def test_owner_closed_while_threads_use_its_table(name: str) -> None:
    owner = rets.Owner()
    table = owner.new_table(name, access="public", named=True)
    started = threading.Barrier(THREADS + 1)
    outcomes: list[str] = []

    def work(i: int) -> None:
        started.wait()
        n = 0
        while True:
            try:
                table.insert((i, n))
                table.lookup(i)
                table.update_counter(i, 1)
                n += 1
            except (rets.NoTableError, rets.OwnerClosedError) as e:
                assert e.message
                outcomes.append(type(e).__name__)
                return

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    started.wait()
    time.sleep(0.05)
    owner.close()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive()
    assert len(outcomes) == THREADS  # every thread got a clear exception, none crashed
    assert rets.whereis(name) is None


def test_gil_released_while_the_engine_waits() -> None:
    """recv_transfer blocks inside the engine: other Python threads must run meanwhile."""
    with rets.Owner() as waiter_owner, rets.Owner() as giver:
        received: list[rets.Transfer | None] = []
        waiter = threading.Thread(
            target=lambda: received.append(waiter_owner.recv_transfer(timeout=30))
        )
        waiter.start()
        time.sleep(0.1)
        # If the waiting call held the GIL, this thread could not run until it returned.
        spins = 0
        deadline = time.monotonic() + 0.2
        while time.monotonic() < deadline:
            spins += 1
        assert waiter.is_alive() and not received
        assert spins > 1000
        t = giver.new_table("gift")
        t.give_away(waiter_owner, gift="here")
        waiter.join(timeout=10)
        assert received and received[0] is not None and received[0].gift == "here"


def test_each_transfer_goes_to_one_waiter() -> None:
    with rets.Owner() as receiver, rets.Owner() as giver:
        got: list[int] = []
        lock = threading.Lock()

        def wait(_: int) -> None:
            transfer = receiver.recv_transfer(timeout=10)
            assert transfer is not None
            with lock:
                got.append(transfer.gift)

        threads = [threading.Thread(target=wait, args=(i,)) for i in range(4)]
        for th in threads:
            th.start()
        for i in range(4):
            giver.new_table(f"g{i}").give_away(receiver, gift=i)
        for th in threads:
            th.join(timeout=30)
        assert sorted(got) == [0, 1, 2, 3]


def test_close_while_another_thread_waits_on_the_owner() -> None:
    owner = rets.Owner()
    result: list[Any] = []

    def wait() -> None:
        try:
            result.append(owner.recv_transfer(timeout=None))  # no limit
        except rets.OwnerClosedError as e:
            result.append(e)

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.1)
    start = time.monotonic()
    owner.close()  # returns at once; the waiting call ends at its next slice
    assert owner.closed
    waiter.join(timeout=10)
    assert not waiter.is_alive() and time.monotonic() - start < 5
    assert len(result) == 1 and isinstance(result[0], rets.OwnerClosedError)
    try:
        owner.recv_transfer(0)
        raise AssertionError("a closed owner was used")
    except rets.OwnerClosedError:
        pass


def test_threads_with_their_own_owners_and_named_tables(name: str) -> None:
    def work(i: int) -> None:
        with rets.Owner() as mine:
            t = mine.new_table(f"{name}-{i}", named=True)
            for k in range(200):
                t.insert((k, i))
            for j in range(THREADS):  # others' tables, found by name, may have gone already
                other = rets.whereis(f"{name}-{j}")
                if other is not None:
                    try:
                        other.tab2list()
                    except rets.NoTableError:
                        pass
            assert t.foldl(lambda obj, acc: acc + obj[1], 0) == 200 * i

    run_threads(THREADS, work)


def test_threads_making_tables_on_one_owner(owner: rets.Owner, name: str) -> None:
    def work(i: int) -> None:
        for j in range(100):
            t = owner.new_table(f"{name}-{i}-{j}")
            t.insert((j, i))
            if j % 2:
                t.delete()

    run_threads(THREADS, work)
    assert 400 <= len(owner._watched) <= 800  # gone tables were let go, the others kept


def test_lookups_from_many_threads_get_their_own_results(owner: rets.Owner, name: str) -> None:
    """get/lookup share one pool of result buffers (fastpath.c): no thread sees another's."""
    table = owner.new_table(name, access="public")
    table.insert_many([(i, "x" * (i % 97), i) for i in range(2000)])

    def work(i: int) -> None:
        for r in range(3000):
            k = (r * 7 + i) % 2000
            assert table.get(k) == (k, "x" * (k % 97), k)
            assert table.lookup(k + 5000) == []

    run_threads(THREADS, work)


def test_fastpath_checks_its_arguments() -> None:
    from rets import _fastpath

    bad_calls: list[tuple[Any, ...]] = [(), (0,), (0, "not bytes"), ("x", b"\x01")]
    lookup: Any = _fastpath.lookup
    for bad in bad_calls:
        try:
            lookup(*bad)
        except TypeError:
            continue
        raise AssertionError(f"accepted {bad!r}")
    assert _fastpath.lookup(0, b"\xa1k") == 10  # a NULL table: RETS_STATUS_NULL_ARGUMENT
