"""Per-lane pacing with a shared budget: how often one channel may be edited, and how many
requests a whole workspace or bot may make.

Every lane keeps its own clock, so a busy thread never slows a quiet one (unlike one bot-wide timer).
A rate-limit answer from the platform pushes the lane back by `retry_after` and widens its interval;
successful requests shrink it back toward the platform's base cadence.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Hashable
from dataclasses import dataclass


class Clock:
    """Real time. Tests pass a fake with the same two methods."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass(slots=True)
class _Lane:
    interval: float
    next_at: float = 0.0
    waiters: int = 0


class _Bucket:
    """A token bucket shared by many lanes; waiters are served in arrival order."""

    def __init__(self, rate: float, burst: int, clock: Clock):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens = float(burst)
        self.updated = clock.now()
        self.lock = asyncio.Lock()
        self.blocked_until = 0.0

    async def take(self) -> None:
        async with self.lock:
            while True:
                now = self.clock.now()
                self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                wait = max(self.blocked_until - now, 0.0)
                if not wait and self.tokens >= 1:
                    self.tokens -= 1
                    return
                await self.clock.sleep(max(wait, (1 - self.tokens) / self.rate))


class Throttle:
    def __init__(
        self,
        interval: float,
        *,
        bucket_rate: float | None = None,
        bucket_burst: int = 1,
        clock: Clock | None = None,
        max_slowdown: float = 4.0,
    ):
        self.base_interval = interval
        self.bucket_rate = bucket_rate
        self.bucket_burst = max(1, bucket_burst)
        self.clock = clock or Clock()
        self.max_slowdown = max_slowdown
        self._lanes: dict[Hashable, _Lane] = {}
        self._buckets: dict[Hashable, _Bucket] = {}
        self.rate_limited = 0  # how many 429s the platform answered, for metrics and benchmarks

    def _lane(self, key: Hashable) -> _Lane:
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane(self.base_interval)
        return lane

    def _bucket(self, key: Hashable | None) -> _Bucket | None:
        if key is None or self.bucket_rate is None:
            return None
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.bucket_rate, self.bucket_burst, self.clock)
        return bucket

    def ready_in(self, lane_key: Hashable) -> float:
        return max(0.0, self._lane(lane_key).next_at - self.clock.now())

    async def acquire(self, lane_key: Hashable, bucket_key: Hashable | None = None) -> None:
        """Wait for this lane's turn, then for the shared budget."""
        lane = self._lane(lane_key)
        lane.waiters += 1
        try:
            while (wait := lane.next_at - self.clock.now()) > 0:
                await self.clock.sleep(wait)
            # reserve the slot before waiting on the bucket so two senders in one lane never collide
            lane.next_at = self.clock.now() + lane.interval
            bucket = self._bucket(bucket_key)
            if bucket is not None:
                await bucket.take()
                lane.next_at = max(lane.next_at, self.clock.now() + lane.interval)
        finally:
            lane.waiters -= 1
            if lane.waiters == 0 and lane.next_at < self.clock.now() - 300:
                self._lanes.pop(lane_key, None)

    def succeeded(self, lane_key: Hashable) -> None:
        lane = self._lane(lane_key)
        lane.interval = max(self.base_interval, lane.interval * 0.9)

    def rate_limited_for(
        self, lane_key: Hashable, retry_after: float, bucket_key: Hashable | None = None, scope_global: bool = False
    ) -> None:
        """The platform said 429: wait `retry_after` and slow this lane (or the whole bucket) down."""
        self.rate_limited += 1
        now = self.clock.now()
        lane = self._lane(lane_key)
        lane.interval = min(self.base_interval * self.max_slowdown, max(lane.interval, self.base_interval) * 1.5)
        lane.next_at = max(lane.next_at, now + max(retry_after, 0.0))
        bucket = self._bucket(bucket_key)
        if bucket is not None and scope_global:
            bucket.blocked_until = max(bucket.blocked_until, now + retry_after)
