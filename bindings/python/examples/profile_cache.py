"""The lesson's exercise in Python: a read-optimised profile cache in front of sqlite3.

- The cache is a named, protected set owned by a rets.Owner (the lesson's "supervised
  process"): the owner writes, any thread reads it by name with rets.whereis().
- The table is a cache (ttl, max_size): get_profile reads through with get_or_load, so a miss
  is one query however many threads miss the key at once (single-flight); put_profile and
  delete_profile write the database and invalidate the cached copy.
- Request counters in a public table (update_counter with a default object), written from
  several threads at once.
- Lookup latency (p50, p99) from the database alone, then through the cache, cold and warm.
  sqlite3 runs in this process, so a query costs microseconds; a database server costs a
  network round trip, which --db-latency-us adds to every query (default 200, as the C
  example; 0 measures the local file alone).

Run: python examples/profile_cache.py [--users N] [--lookups N] [--db-latency-us N]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import tempfile
import threading
import time
from typing import Any, Callable, Optional, Tuple

import rets

TTL_SECONDS = 60.0
Profile = Tuple[int, str, str]  # (user_id, name, plan)


class ProfileDatabase:
    """The source of truth: a sqlite3 file. One connection per thread (sqlite3's rule)."""

    def __init__(self, path: str, users: int, latency_s: float) -> None:
        self.path = path
        self.latency_s = latency_s
        self.queries = 0  # fetches (a bare counter: approximate under threads, exact alone)
        self._local = threading.local()
        db = self._db()
        db.execute("CREATE TABLE IF NOT EXISTS profiles (id INTEGER PRIMARY KEY, name, plan)")
        db.executemany(
            "INSERT OR REPLACE INTO profiles VALUES (?, ?, ?)",
            ((i, f"user-{i}", random.choice(["free", "pro", "team"])) for i in range(users)),
        )
        db.commit()

    def _db(self) -> sqlite3.Connection:
        if not hasattr(self._local, "db"):
            self._local.db = sqlite3.connect(self.path)
        db: sqlite3.Connection = self._local.db
        return db

    def store(self, profile: Profile) -> None:
        db = self._db()
        db.execute("INSERT OR REPLACE INTO profiles VALUES (?, ?, ?)", profile)
        db.commit()

    def delete(self, user_id: int) -> None:
        db = self._db()
        db.execute("DELETE FROM profiles WHERE id = ?", (user_id,))
        db.commit()

    def fetch(self, user_id: int) -> Optional[Profile]:
        self.queries += 1
        if self.latency_s:
            time.sleep(self.latency_s)
        row = self._db().execute(
            "SELECT id, name, plan FROM profiles WHERE id = ?", (user_id,)
        ).fetchone()
        return None if row is None else (row[0], row[1], row[2])


class ProfileCache:
    """Profiles cached in a protected rets table with a TTL and a size bound: this object (the
    owner) writes, everyone reads. A miss reads through with get_or_load: one query per key
    however many threads miss it at once (single-flight). Closing the cache closes the owner,
    which deletes its tables."""

    def __init__(self, db: ProfileDatabase, name: str = "profiles", max_size: int = 100_000) -> None:
        self.db = db
        self.owner = rets.Owner()
        self.table = self.owner.new_table(name, named=True, access="protected",
                                          read_concurrency=True, ttl=TTL_SECONDS,
                                          max_size=max_size)
        self.requests = self.owner.new_table(name + "_requests", named=True, access="public",
                                             write_concurrency=True)

    def _load(self, user_id: int) -> Tuple[Any, ...]:
        profile = self.db.fetch(user_id)  # the engine counts the load and its time
        if profile is None:
            raise KeyError(user_id)
        return profile

    def get_profile(self, user_id: int) -> Optional[Profile]:
        self.requests.update_counter("get_profile", 1, default=("get_profile", 0))
        try:
            uid, name, plan = self.table.get_or_load(user_id, self._load)
        except KeyError:
            return None  # no such user (nothing cached)
        return (uid, name, plan)

    def put_profile(self, profile: Profile) -> None:
        self.db.store(profile)
        self.table.invalidate(profile[0])  # a load in flight cannot cache the old row

    def delete_profile(self, user_id: int) -> None:
        self.db.delete(user_id)
        self.table.invalidate(user_id)

    def close(self) -> None:
        self.owner.close()


def percentiles(samples: list[float]) -> str:
    samples.sort()
    p50 = samples[len(samples) // 2] * 1e6
    p99 = samples[min(len(samples) - 1, len(samples) * 99 // 100)] * 1e6
    return f"p50 {p50:7.1f} us   p99 {p99:7.1f} us"


def measure(label: str, lookup: Callable[[int], object], ids: list[int]) -> None:
    samples = []
    for user_id in ids:
        start = time.perf_counter()
        lookup(user_id)
        samples.append(time.perf_counter() - start)
    print(f"{label:28s} {percentiles(samples)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--db-latency-us", type=float, default=200.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = ProfileDatabase(os.path.join(tmp, "profiles.db"), args.users,
                             args.db_latency_us / 1e6)
        cache = ProfileCache(db)
        ids = [random.randrange(args.users) for _ in range(args.lookups)]

        measure(f"sqlite3 (+{args.db_latency_us:g} us)", db.fetch, ids)
        measure("through the cache (cold)", cache.get_profile, ids)
        measure("through the cache (warm)", cache.get_profile, ids)
        stats = cache.table.cache_stats()
        print(f"hits {stats.hits}, misses {stats.misses}, loads {stats.loads} "
              f"({stats.load_seconds:.2f} s), expirations {stats.expirations}, "
              f"evictions {stats.evictions}")

        # Many threads missing one key at once: one query (single-flight).
        queries_before = db.queries
        cold = args.users + 1
        db.store((cold, "new user", "free"))
        barrier = threading.Barrier(16)

        def ask(_: int) -> None:
            barrier.wait()
            assert cache.get_profile(cold) == (cold, "new user", "free")

        askers = [threading.Thread(target=ask, args=(i,)) for i in range(16)]
        for t in askers:
            t.start()
        for t in askers:
            t.join()
        print("queries for one key asked by 16 threads at once:", db.queries - queries_before)

        # Other threads read the protected table by name and count their requests in the
        # public one; writes to the protected table are the owner's alone.
        def reader(seed: int) -> None:
            profiles = rets.whereis("profiles")
            counters = rets.whereis("profiles_requests")
            assert profiles is not None and counters is not None
            rng = random.Random(seed)
            for _ in range(1000):
                profiles.get(rng.randrange(args.users))
                counters.update_counter("reader", 1, default=("reader", 0))
            try:
                profiles.insert((0, "mallory", "free", 0.0))
            except rets.AccessDeniedError as e:
                assert "protected" in e.message

        threads = [threading.Thread(target=reader, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print("requests:", sorted(cache.requests.tab2list()))

        cache.put_profile((ids[0], "renamed", "pro"))
        assert cache.get_profile(ids[0]) == (ids[0], "renamed", "pro")
        cache.delete_profile(ids[0])
        assert cache.table.get(ids[0]) is None and cache.get_profile(ids[0]) is None
        cache.close()
        assert rets.whereis("profiles") is None  # the owner closed: its tables are gone


if __name__ == "__main__":
    main()
