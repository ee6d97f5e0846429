"""Per-lane pacing with a shared budget: how often one channel may be edited, and how many
requests a whole workspace or bot may make.

Every lane keeps its own clock, so a busy thread never slows a quiet one (unlike one bot-wide timer).
A rate-limit answer from the platform pushes the lane back by `retry_after` and widens its interval;
successful requests shrink it back toward the platform's base cadence.

When many answers share a budget, each one's updates are spaced by its fair share of it (the answers
streaming on the budget, over what the budget gives in `HORIZON` seconds): the budget is spent evenly
instead of by whoever asked first, a burst lasts beyond the first second, and an answer's first message
and its final text (urgent: they skip the fair spacing and the queue) always find room.
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


HORIZON = 30.0  # seconds: about how long an answer streams; a budget's burst is spread over this much


@dataclass(slots=True)
class _Lane:
    interval: float
    next_at: float = 0.0  # when the lane's cadence allows the next request (a burst may go before it)
    blocked_until: float = 0.0  # a 429's retry_after: nothing goes before it
    fair_at: float = 0.0  # when this lane's fair share of the shared budget allows its next ordinary update
    waiters: int = 0


class _Bucket:
    """A token bucket shared by many lanes; waiters are served in arrival order, except urgent ones (an answer's
    first message or final text), which take the next token ahead of the queue."""

    def __init__(self, rate: float, burst: int, clock: Clock):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens = float(burst)
        self.updated = clock.now()
        self.lock = asyncio.Lock()  # the queue of ordinary requests
        self.urgent_lock = asyncio.Lock()  # the queue of urgent ones, served first
        self.urgent_waiting = 0
        self.blocked_until = 0.0
        self.streams = 0  # answers streaming on this budget now (Throttle.join / leave)

    def fair_interval(self) -> float:
        """Seconds between one answer's ordinary updates when the budget is shared evenly."""
        budget = self.burst + self.rate * HORIZON
        return self.streams * HORIZON / budget

    def _try(self) -> float:
        """Take a token if one is there (0.0), else the seconds until one may be."""
        now = self.clock.now()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        wait = max(self.blocked_until - now, 0.0)
        if not wait and self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return max(wait, (1 - self.tokens) / self.rate, 1e-6)

    async def take(self, urgent: bool = False) -> None:
        if urgent:
            self.urgent_waiting += 1
            try:
                async with self.urgent_lock:
                    while wait := self._try():
                        await self.clock.sleep(wait)
            finally:
                self.urgent_waiting -= 1
            return
        async with self.lock:
            # the head of the ordinary queue lets every urgent request go first
            while wait := (1 / self.rate if self.urgent_waiting else self._try()):
                await self.clock.sleep(wait)


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
        self._acquired = 0

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

    def join(self, bucket_key: Hashable | None) -> None:
        """An answer starts streaming on `bucket_key`'s budget (every answer's fair share shrinks)."""
        bucket = self._bucket(bucket_key)
        if bucket is not None:
            bucket.streams += 1

    def leave(self, bucket_key: Hashable | None) -> None:
        bucket = self._bucket(bucket_key)
        if bucket is not None:
            bucket.streams = max(0, bucket.streams - 1)

    def share_from_now(self, lane_key: Hashable, bucket_key: Hashable | None) -> None:
        """The lane's next ordinary update waits its fair share of `bucket_key`'s budget from now (after a request
        that did not draw on the budget itself, such as a new Slack message)."""
        bucket = self._bucket(bucket_key)
        if bucket is not None:
            self._lane(lane_key).fair_at = self.clock.now() + bucket.fair_interval()

    def fair_delay(self, lane_key: Hashable) -> float:
        """Seconds until this lane's fair share of its shared budget allows an ordinary update."""
        return max(0.0, self._lane(lane_key).fair_at - self.clock.now())

    def ready_in(self, lane_key: Hashable) -> float:
        lane = self._lane(lane_key)
        return max(0.0, lane.next_at - self.clock.now(), lane.blocked_until - self.clock.now())

    async def acquire(
        self, lane_key: Hashable, bucket_key: Hashable | None = None, *, burst: int = 1, urgent: bool = False
    ) -> None:
        """Wait for this lane's turn, then for the shared budget. `burst` lets that many requests go back to back
        before the lane's cadence applies (the lane is then a token bucket of that size: GCRA). `urgent` goes ahead
        of the shared budget's queue (an answer's first message or final text). The caller waits `fair_delay`
        before an ordinary update (it knows when the update turns urgent)."""
        lane = self._lane(lane_key)
        lane.waiters += 1
        slack = (max(1, burst) - 1) * lane.interval
        try:
            while (wait := max(lane.next_at - slack, lane.blocked_until) - self.clock.now()) > 0:
                await self.clock.sleep(wait)
            # reserve the slot before waiting on the bucket so two senders in one lane never collide
            reserved_from = lane.next_at
            lane.next_at = max(lane.next_at, self.clock.now()) + lane.interval
            bucket = self._bucket(bucket_key)
            if bucket is not None:
                try:
                    await bucket.take(urgent)
                except asyncio.CancelledError:  # nothing was sent: the slot is free again
                    lane.next_at = reserved_from
                    raise
                now = self.clock.now()
                if not slack:  # the lane's interval counts from when the request really goes
                    lane.next_at = max(lane.next_at, now + lane.interval)
                lane.fair_at = now + bucket.fair_interval()
        finally:
            lane.waiters -= 1
            self._acquired += 1
            if self._acquired % 1024 == 0:
                self._forget_idle_lanes()

    def _forget_idle_lanes(self, idle: float = 300.0) -> None:
        """Lanes (one per channel or thread) come and go; one quiet for `idle` seconds holds nothing worth keeping."""
        before = self.clock.now() - idle
        quiet = [
            k for k, lane in self._lanes.items() if not lane.waiters and max(lane.next_at, lane.blocked_until) < before
        ]
        for key in quiet:
            del self._lanes[key]

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
        lane.blocked_until = max(lane.blocked_until, now + max(retry_after, 0.0))
        bucket = self._bucket(bucket_key)
        if bucket is not None and scope_global:
            bucket.blocked_until = max(bucket.blocked_until, now + retry_after)
