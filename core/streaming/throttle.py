"""Per-lane pacing with a shared budget: how often one channel may be edited, and how many
requests a whole workspace or bot may make.

Every lane keeps its own clock, so a busy thread never slows a quiet one (unlike one bot-wide timer).
A rate-limit answer from the platform pushes the lane back by `retry_after` and widens its interval;
successful requests shrink it back toward the platform's base cadence.

When many answers share a budget, each one's updates are spaced by its fair share of it (the answers
streaming on the budget, over what the budget gives in `HORIZON` seconds): the budget is spent evenly
instead of by whoever asked first, a burst lasts beyond the first second, and an answer's first message
and its final text (urgent: they skip the fair spacing and the queue) always find room.

Everything else the bot asks of the platform can draw on the same budget (`Throttle.take`), in its class
(`Priority`): opening a place for a new answer (a Discord thread) goes after first and final texts but before
the answers already streaming get their next update, so a person who just asked sees the answer begin within
what the budget allows, and the answers streaming slow down meanwhile (the new one shares the budget from the
moment its place opens); what can wait (a rename, a reaction) waits for what nobody else wants.
A budget counts in this process (`LocalPacer`) or, through `BudgetSharing`, with every process of the bot
(core.streaming.shared_budget: Redis).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

from core.streaming.lengths import AnswerLengths, LengthsMemory, even_interval

log = logging.getLogger(__name__)


class Clock:
    """Real time. Tests pass a fake with the same two methods."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


HORIZON = 30.0  # seconds: about how long an answer streams; a budget's burst is spread over this much
# a start counts as an answer streaming from the moment it goes until the answer joins (its model has been asked
# meanwhile), or this many seconds if it never does: the answers streaming make room for it at once
START_RESERVED = 10.0
# a budget's first use in a process waits this long at most for the answer lengths learned before (a store read);
# past it the answer goes on from what the budget knows, and the lengths join when they come
RECALL_WAIT = 0.5


class Priority(IntEnum):
    """Who goes first when a budget's requests wait: the lower, the sooner (FIFO within a class)."""

    URGENT = 0  # an answer's first text and its final text; a message a person is waiting for
    START = 1  # opening a place for a new answer (its first text needs it): before the answers streaming
    UPDATE = 2  # a streaming answer's next update (after its fair share), and whatever is not classed
    BACKGROUND = 3  # what can wait: a rename, typing, reactions, command sync


class Pacer(Protocol):
    """One budget's count of requests: `rate` a second with bursts of `burst` (GCRA, a token bucket)."""

    async def try_take(self, priority: Priority) -> float:
        """Take one request now (0.0), or the seconds until asking again may succeed."""
        ...

    def block(self, seconds: float) -> None:
        """The platform said 429 for the whole budget: nothing goes for `seconds`."""
        ...


class StreamCount(Protocol):
    """How many answers stream on a budget: in this process, or in every process of the bot."""

    def add(self, delta: int) -> None: ...

    def total(self) -> int: ...


class BudgetSharing(Protocol):
    """Makes the pacer and the stream count of a budget (`name`: which limit, `key`: whose budget), and the shared
    side of a lane (a channel's cadence, when other processes may write there too; None: the lane is this
    process's alone)."""

    def pacer(self, name: str, key: Hashable, rate: float, burst: int, clock: Clock) -> Pacer: ...

    def streams(self, name: str, key: Hashable) -> StreamCount: ...

    def lane(self, name: str, key: Hashable, interval: float, burst: int, clock: Clock) -> Pacer | None: ...


class LocalPacer:
    """GCRA in this process: `tat` is when the budget would be empty again at its rate."""

    def __init__(self, rate: float, burst: int, clock: Clock):
        self.rate, self.burst, self.clock = rate, max(1, burst), clock
        self.tat = clock.now()
        self.blocked_until = 0.0

    def set_rate(self, rate: float) -> None:
        self.rate = rate

    def available(self) -> float:
        """Requests the budget could take at once now (GCRA: how far `tat` is from the full burst)."""
        return max(0.0, self.burst - max(0.0, self.tat - self.clock.now()) * self.rate)

    async def try_take(self, priority: Priority = Priority.UPDATE) -> float:
        now = self.clock.now()
        if self.blocked_until > now:
            return self.blocked_until - now
        interval = 1 / self.rate
        tat = max(self.tat, now)
        allowed_at = tat - (self.burst - 1) * interval
        if allowed_at > now + 1e-9:
            return max(allowed_at - now, 1e-6)
        self.tat = tat + interval
        return 0.0

    def block(self, seconds: float) -> None:
        self.blocked_until = max(self.blocked_until, self.clock.now() + seconds)


class LocalStreams:
    def __init__(self) -> None:
        self.count = 0

    def add(self, delta: int) -> None:
        self.count = max(0, self.count + delta)

    def total(self) -> int:
        return self.count


class LocalBudgets:
    """Budgets counted in this process alone: right for one process, the default."""

    def pacer(self, name: str, key: Hashable, rate: float, burst: int, clock: Clock) -> Pacer:
        return LocalPacer(rate, burst, clock)

    def streams(self, name: str, key: Hashable) -> StreamCount:
        return LocalStreams()

    def lane(self, name: str, key: Hashable, interval: float, burst: int, clock: Clock) -> Pacer | None:
        return None


@dataclass(slots=True)
class _Lane:
    interval: float
    next_at: float = 0.0  # when the lane's cadence allows the next request (a burst may go before it)
    blocked_until: float = 0.0  # a 429's retry_after: nothing goes before it
    fair_at: float = 0.0  # when this lane's fair share of the shared budget allows its next ordinary update
    waiters: int = 0


class _Waiter:
    __slots__ = ("priority", "turn")

    def __init__(self, priority: Priority):
        self.priority = priority
        self.turn = asyncio.Event()  # set when this waiter is at the head of the queue


class _Bucket:
    """A budget shared by many lanes. Its waiters queue by `Priority`, first come first served within a class;
    the head of the queue asks the pacer, so whoever waits in a higher class goes before the rest."""

    def __init__(
        self,
        rate: float,
        burst: int,
        clock: Clock,
        pacer: Pacer,
        streams: StreamCount,
        horizon_min: float = 0.0,
        lengths: AnswerLengths | None = None,
        finals_on_budget: bool = True,
    ):
        self.rate, self.burst, self.clock = rate, burst, clock
        # set: the fair share spreads what is on hand over the time the answers are expected to stream still, by the
        # lengths of those that ended (core.streaming.lengths); `finals_on_budget`: one request is kept for each
        # answer's final text (False where the final text is another method's, e.g. Slack's chat.stopStream)
        self.lengths = lengths
        self.finals_on_budget = finals_on_budget
        # > 0: the fair share spreads what the budget has on hand over as long as the answers have streamed so far
        # (at least this many seconds, at most HORIZON) instead of its whole burst over HORIZON
        self.horizon_min = horizon_min
        self.busy_since = clock.now()  # when answers last began to stream on an idle budget
        self.pacer = pacer
        self.stream_count = streams  # answers streaming on this budget now (Throttle.join / leave)
        self._queues: tuple[deque[_Waiter], ...] = tuple(deque() for _ in Priority)
        self._reserved: deque[float] = deque()  # starts granted whose answers have not joined yet: until when
        self.recalling: asyncio.Task | None = None  # loading the lengths learned before this process (once)

    def join(self) -> None:
        """An answer streams: it takes the place its start reserved, if one is waiting for it."""
        self._expire_reservations()
        if self._reserved:
            self._reserved.popleft()
        else:
            if self.streams == 0:
                self.busy_since = self.clock.now()
            self.stream_count.add(1)

    def leave(self) -> None:
        self.stream_count.add(-1)

    def _expire_reservations(self) -> None:
        now = self.clock.now()
        while self._reserved and self._reserved[0] <= now:
            self._reserved.popleft()
            self.stream_count.add(-1)

    @property
    def streams(self) -> int:
        return self.stream_count.total()

    def fair_interval(self) -> float:
        """Seconds between one answer's ordinary updates when the budget is shared evenly.

        By default the burst and what the budget refills in HORIZON seconds, spread over HORIZON. With `horizon_min`,
        online: answers that have streamed for t seconds are taken to stream about as long again, so what the budget
        has on hand now (not its whole burst: what was spent is gone), less one request kept for each answer's final
        text, is spread over t, between `horizon_min` and HORIZON. A burst of answers after a quiet spell is then
        updated as often as the budget allows at first, and slows as it ages and drains the budget, never spending
        what their final texts need."""
        if self.lengths is not None:
            return self._learned_interval()
        if self.horizon_min <= 0:
            return self.streams * HORIZON / (self.burst + self.rate * HORIZON)
        horizon = min(HORIZON, max(self.horizon_min, self.clock.now() - self.busy_since))
        available = getattr(self.pacer, "available", None)  # a shared pacer may not say: its burst, then
        tokens = available() if available is not None else float(self.burst)
        spare = max(0.0, tokens - self.streams)  # one request kept for each answer's final text
        return self.streams * horizon / (spare + self.rate * horizon)

    def _learned_interval(self) -> float:
        available = getattr(self.pacer, "available", None)  # a shared pacer may not say: its burst, then
        on_hand = available() if available is not None else float(self.burst)
        if self.finals_on_budget:
            on_hand -= self.streams
        assert self.lengths is not None
        remaining = self.lengths.remaining(self.clock.now() - self.busy_since)
        return even_interval(self.streams, on_hand, self.rate, remaining)

    def waiting(self, priority: Priority) -> int:
        return len(self._queues[priority])

    def _head(self) -> _Waiter | None:
        for queue in self._queues:
            if queue:
                return queue[0]
        return None

    async def take(self, priority: Priority = Priority.UPDATE) -> None:
        waiter = _Waiter(priority)
        self._queues[priority].append(waiter)
        head = self._head()
        if head is waiter:
            waiter.turn.set()
        try:
            while True:
                await waiter.turn.wait()
                if self._head() is not waiter:  # someone of a higher class came meanwhile
                    waiter.turn.clear()
                    continue
                wait = await self.pacer.try_take(priority)
                if not wait:
                    if priority == Priority.START:  # the new answer shares the budget from now on
                        self._expire_reservations()
                        self._reserved.append(self.clock.now() + START_RESERVED)
                        self.stream_count.add(1)
                    return
                await self.clock.sleep(wait)
        finally:
            self._queues[priority].remove(waiter)
            head = self._head()
            if head is not None:
                head.turn.set()


class Throttle:
    def __init__(
        self,
        interval: float,
        *,
        bucket_rate: float | None = None,
        bucket_burst: int = 1,
        clock: Clock | None = None,
        max_slowdown: float = 4.0,
        name: str = "",
        sharing: BudgetSharing | None = None,
        horizon_min: float = 0.0,
        learn_lengths: bool = False,
        finals_on_budget: bool = True,
        lengths_memory: LengthsMemory | None = None,
    ):
        """`name` says which limit the budgets are (the same in every process: `sharing` keys them by it).
        `lengths_memory`: with `learn_lengths`, where the lengths learned outlive the process (core.streaming.lengths):
        a budget loads them at its first use here (`ready`), and each answer that ends is written there."""
        self.base_interval = interval
        self.bucket_rate = bucket_rate
        self.bucket_burst = max(1, bucket_burst)
        self.clock = clock or Clock()
        self.max_slowdown = max_slowdown
        self.name = name or f"{bucket_rate}/{self.bucket_burst}"
        self.sharing: BudgetSharing = sharing or LocalBudgets()
        self.horizon_min = horizon_min  # see _Bucket.fair_interval
        self.learn_lengths = learn_lengths  # see _Bucket.fair_interval and core.streaming.lengths
        self.finals_on_budget = finals_on_budget
        self.lengths_memory = lengths_memory
        self._lanes: dict[Hashable, _Lane] = {}
        self._buckets: dict[Hashable, _Bucket] = {}
        self._shared_lanes: dict[tuple[Hashable, int], Pacer | None] = {}
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
            rate, burst = self.bucket_rate, self.bucket_burst
            pacer = self.sharing.pacer(self.name, key, rate, burst, self.clock)
            streams = self.sharing.streams(self.name, key)
            lengths = AnswerLengths() if self.learn_lengths else None
            bucket = self._buckets[key] = _Bucket(
                rate,
                burst,
                self.clock,
                pacer,
                streams,
                self.horizon_min,
                lengths,
                self.finals_on_budget,
            )
            if lengths is not None and self.lengths_memory is not None and isinstance(key, str):
                bucket.recalling = self._recall(key, lengths)
        return bucket

    def _recall(self, key: str, lengths: AnswerLengths) -> asyncio.Task | None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # made outside the event loop (a test's look at a budget): nothing to load with
            return None
        memory = self.lengths_memory
        assert memory is not None

        async def recall() -> None:
            try:
                found = await memory.recall(self.name, key)
            except Exception as exc:  # (a memory should say so itself) the budget goes on with what it learns here
                log.warning("answer lengths of %s not recalled: %s", self.name, type(exc).__name__)
                return
            lengths.recalled(found)

        return loop.create_task(recall(), name="answer-lengths-recall")

    async def ready(self, bucket_key: Hashable | None) -> None:
        """The budget knows what was learned before this process (only its first use waits: RECALL_WAIT at most)."""
        bucket = self._bucket(bucket_key)
        if bucket is None or bucket.recalling is None or bucket.recalling.done():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(bucket.recalling), RECALL_WAIT)

    def join(self, bucket_key: Hashable | None) -> None:
        """An answer starts streaming on `bucket_key`'s budget (every answer's fair share shrinks)."""
        bucket = self._bucket(bucket_key)
        if bucket is not None:
            bucket.join()

    def leave(self, bucket_key: Hashable | None) -> None:
        bucket = self._bucket(bucket_key)
        if bucket is not None:
            bucket.leave()

    def lasted(self, bucket_key: Hashable | None, seconds: float) -> None:
        """An answer that streamed on `bucket_key`'s budget to its end took `seconds` (learned with `learn_lengths`)."""
        bucket = self._bucket(bucket_key)
        if bucket is not None and bucket.lengths is not None:
            bucket.lengths.lasted(seconds)
            if self.lengths_memory is not None and isinstance(bucket_key, str):
                self.lengths_memory.remember(self.name, bucket_key, seconds)

    def streams(self, bucket_key: Hashable | None) -> int:
        """Answers streaming on `bucket_key`'s budget (in every process, when the budget is shared)."""
        bucket = self._bucket(bucket_key)
        return bucket.streams if bucket is not None else 0

    def share_from_now(self, lane_key: Hashable, bucket_key: Hashable | None) -> None:
        """The lane's next ordinary update waits its fair share of `bucket_key`'s budget from now (after a request
        that did not draw on the budget itself, such as a new Slack message)."""
        bucket = self._bucket(bucket_key)
        if bucket is not None:
            self._lane(lane_key).fair_at = self.clock.now() + bucket.fair_interval()

    def fair_delay(self, lane_key: Hashable) -> float:
        """Seconds until this lane's fair share of its shared budget allows an ordinary update."""
        return max(0.0, self._lane(lane_key).fair_at - self.clock.now())

    def ready_in(self, lane_key: Hashable, burst: int = 1) -> float:
        """Seconds until this lane lets a request go (`burst`: as `acquire`'s)."""
        lane = self._lane(lane_key)
        slack = (max(1, burst) - 1) * lane.interval
        return max(0.0, lane.next_at - slack - self.clock.now(), lane.blocked_until - self.clock.now())

    async def take(self, bucket_key: Hashable | None, priority: Priority = Priority.UPDATE) -> None:
        """One request of `priority` on `bucket_key`'s budget that no lane paces (a request the engine does not
        make: a thread opened, a rename, a command's message)."""
        bucket = self._bucket(bucket_key)
        if bucket is not None:
            await bucket.take(priority)

    async def try_take_now(self, bucket_key: Hashable | None, priority: Priority = Priority.URGENT) -> bool:
        """One request of `bucket_key`'s budget if it has one right now, without queueing: False when it is spent
        (the caller takes another way, e.g. a Slack answer that cannot start a native stream posts instead)."""
        bucket = self._bucket(bucket_key)
        return bucket is None or not await bucket.pacer.try_take(priority)

    async def take_within(
        self, bucket_key: Hashable | None, seconds: float, priority: Priority = Priority.URGENT
    ) -> bool:
        """One request of `bucket_key`'s budget if it has one within `seconds` (waiting for it, without queueing
        behind anyone): False at once when the budget will not have one by then (the caller takes another way)."""
        bucket = self._bucket(bucket_key)
        if bucket is None:
            return True
        deadline = self.clock.now() + max(0.0, seconds)
        while wait := await bucket.pacer.try_take(priority):
            if self.clock.now() + wait > deadline + 1e-9:
                return False
            await self.clock.sleep(wait)
        return True

    async def acquire(
        self,
        lane_key: Hashable,
        bucket_key: Hashable | None = None,
        *,
        burst: int = 1,
        urgent: bool = False,
        priority: Priority | None = None,
    ) -> None:
        """Wait for this lane's turn, then for the shared budget. `burst` lets that many requests go back to back
        before the lane's cadence applies (the lane is then a token bucket of that size: GCRA). `urgent` goes ahead
        of the shared budget's queue (an answer's first message or final text); `priority` says so in full. The
        caller waits `fair_delay` before an ordinary update (it knows when the update turns urgent)."""
        if priority is None:
            priority = Priority.URGENT if urgent else Priority.UPDATE
        lane = self._lane(lane_key)
        lane.waiters += 1
        slack = (max(1, burst) - 1) * lane.interval
        try:
            while (wait := max(lane.next_at - slack, lane.blocked_until) - self.clock.now()) > 0:
                await self.clock.sleep(wait)
            # reserve the slot before waiting on the bucket so two senders in one lane never collide
            reserved_from = lane.next_at
            lane.next_at = max(lane.next_at, self.clock.now()) + lane.interval
            shared = self._shared_lane(lane_key, burst)
            if shared is not None:  # the channel's cadence counts the other processes' requests there too
                try:
                    while wait := await shared.try_take(priority):
                        await self.clock.sleep(wait)
                except asyncio.CancelledError:
                    lane.next_at = reserved_from
                    raise
            bucket = self._bucket(bucket_key)
            if bucket is not None:
                try:
                    await bucket.take(priority)
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

    def _shared_lane(self, lane_key: Hashable, burst: int) -> Pacer | None:
        key = (lane_key, max(1, burst))
        if key not in self._shared_lanes:
            if self.base_interval <= 0:
                self._shared_lanes[key] = None
            else:
                made = self.sharing.lane(self.name, lane_key, self.base_interval, max(1, burst), self.clock)
                self._shared_lanes[key] = made
        return self._shared_lanes[key]

    def _forget_idle_lanes(self, idle: float = 300.0) -> None:
        """Lanes (one per channel or thread) come and go; one quiet for `idle` seconds holds nothing worth keeping."""
        before = self.clock.now() - idle
        quiet = [
            k for k, lane in self._lanes.items() if not lane.waiters and max(lane.next_at, lane.blocked_until) < before
        ]
        for key in quiet:
            del self._lanes[key]
        gone = set(quiet)
        for key in [k for k in self._shared_lanes if k[0] in gone]:
            del self._shared_lanes[key]

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
        if scope_global:
            self.budget_limited(bucket_key, retry_after)

    def budget_limited(self, bucket_key: Hashable | None, retry_after: float) -> None:
        """The platform said 429 for the whole budget (Discord's global limit): nothing on it goes before
        `retry_after` (in every process, when the budget is shared)."""
        bucket = self._bucket(bucket_key)
        if bucket is not None:
            bucket.pacer.block(max(retry_after, 0.0))
