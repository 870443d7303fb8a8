"""The cache layer (rets_table_new_cache and its options, per-object lifetimes, statistics,
rets_manual_clock): durations are seconds in Python, nanoseconds in the C ABI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ._errors import ArgumentError, fail
from ._rets_cffi import ffi, lib

ON_FULL = {"evict": lib.RETS_ON_FULL_EVICT, "reject": lib.RETS_ON_FULL_REJECT}


def seconds_to_ns(what: str, seconds: Optional[float]) -> int:
    """0 (none) for None; else a positive duration in whole nanoseconds (at least 1)."""
    if seconds is None:
        return 0
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
        raise ArgumentError(f"{what} must be a number of seconds > 0 or None, not {seconds!r:.80}")
    ns = int(seconds * 1e9)
    if ns >= 2**64:
        raise ArgumentError(f"{what} is too long: {seconds!r:.80} seconds")
    return max(ns, 1)


class ManualClock:
    """A clock that moves only when told (rets_manual_clock): give it to new_table(clock=) to
    test lifetimes without waiting."""

    __slots__ = ("_ptr",)

    def __init__(self) -> None:
        out = ffi.new("rets_manual_clock **")
        status = lib.rets_manual_clock_new(out)
        if status:
            fail(status)
        self._ptr = ffi.gc(out[0], lib.rets_manual_clock_free)

    def advance(self, seconds: float) -> None:
        status = lib.rets_manual_clock_advance(self._ptr, seconds_to_ns("seconds", seconds))
        if status:
            fail(status)


@dataclass(frozen=True)
class CacheStats:
    """rets_table_cache_stats(): the table's cache counters (load_seconds: total load time)."""

    hits: int
    misses: int
    loads: int
    load_failures: int
    load_seconds: float
    evictions: int
    expirations: int
    rejected_writes: int


def cache_options(
    ttl: Optional[float], time_to_idle: Optional[float], max_size: int, max_memory: int,
    on_full: str, record_stats: bool, clock: Optional[ManualClock],
) -> Any:
    """The rets_cache_options for these arguments, or None when none asks for a cache."""
    from ._table import size_arg

    if on_full not in ON_FULL:
        raise ArgumentError(f"on_full must be one of {sorted(ON_FULL)}, not {on_full!r:.80}")
    if not isinstance(record_stats, bool):
        raise ArgumentError(f"record_stats must be a bool, not {record_stats!r:.80}")
    if clock is not None and not isinstance(clock, ManualClock):
        raise ArgumentError(f"clock must be a rets.ManualClock, not {type(clock).__name__}")
    if (ttl, time_to_idle, max_size, max_memory, on_full, record_stats, clock) == (
            None, None, 0, 0, "evict", False, None):
        return None
    c = ffi.new("rets_cache_options *")
    c.ttl_ns = seconds_to_ns("ttl", ttl)
    c.time_to_idle_ns = seconds_to_ns("time_to_idle", time_to_idle)
    c.max_size = size_arg("max_size", max_size)
    c.max_memory = size_arg("max_memory", max_memory)
    c.on_full = ON_FULL[on_full]
    c.record_stats = record_stats
    c.clock = clock._ptr if clock is not None else ffi.NULL
    return c


def stats_of(c: Any) -> CacheStats:
    return CacheStats(
        hits=int(c.hits), misses=int(c.misses), loads=int(c.loads),
        load_failures=int(c.load_failures), load_seconds=int(c.load_ns) / 1e9,
        evictions=int(c.evictions), expirations=int(c.expirations),
        rejected_writes=int(c.rejected_writes),
    )
