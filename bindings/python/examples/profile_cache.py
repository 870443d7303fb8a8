"""The lesson's exercise in Python: a read-optimised profile cache in front of sqlite3.

- The cache is a named, protected set owned by a rets.Owner (the lesson's "supervised
  process"): the owner writes, any thread reads it by name with rets.whereis().
- get_profile / put_profile / delete_profile; a miss reads the database and writes back.
- TTL by stored insertion time: objects are (user_id, name, plan, inserted_at); an entry older
  than the TTL counts as a miss and is refreshed.
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
from typing import Callable, Optional, Tuple

import rets

TTL_SECONDS = 60.0
Profile = Tuple[int, str, str]  # (user_id, name, plan)


class ProfileDatabase:
    """The source of truth: a sqlite3 file. One connection per thread (sqlite3's rule)."""

    def __init__(self, path: str, users: int, latency_s: float) -> None:
        self.path = path
        self.latency_s = latency_s
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

    def fetch(self, user_id: int) -> Optional[Profile]:
        if self.latency_s:
            time.sleep(self.latency_s)
        row = self._db().execute(
            "SELECT id, name, plan FROM profiles WHERE id = ?", (user_id,)
        ).fetchone()
        return None if row is None else (row[0], row[1], row[2])


class ProfileCache:
    """Profiles cached in a protected rets table: this object (the owner) writes, everyone
    reads. Closing the cache closes the owner, which deletes its tables."""

    def __init__(self, db: ProfileDatabase, name: str = "profiles") -> None:
        self.db = db
        self.owner = rets.Owner()
        self.table = self.owner.new_table(name, named=True, access="protected",
                                          read_concurrency=True)
        self.requests = self.owner.new_table(name + "_requests", named=True, access="public",
                                             write_concurrency=True)
        self.hits = self.misses = self.expired = 0

    def get_profile(self, user_id: int) -> Optional[Profile]:
        self.requests.update_counter("get_profile", 1, default=("get_profile", 0))
        found = self.table.get(user_id)
        if found is not None:
            uid, name, plan, inserted_at = found
            if time.monotonic() - inserted_at < TTL_SECONDS:
                self.hits += 1
                return (uid, name, plan)
            self.expired += 1
        self.misses += 1
        profile = self.db.fetch(user_id)
        if profile is not None:
            self.put_profile(profile)
        return profile

    def put_profile(self, profile: Profile) -> None:
        self.table.insert((*profile, time.monotonic()))

    def delete_profile(self, user_id: int) -> None:
        self.table.delete_key(user_id)

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
        print(f"hits {cache.hits}, misses {cache.misses}, expired {cache.expired}")

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

        cache.delete_profile(ids[0])
        assert cache.table.get(ids[0]) is None
        cache.close()
        assert rets.whereis("profiles") is None  # the owner closed: its tables are gone


if __name__ == "__main__":
    main()
