"""Budgets shared by every process of the bot through Redis (`REDIS_URL`): Discord's 50 requests/s belong to the
bot across all its shards and processes, Slack's tiers to the workspace across all replicas.

Each take is one atomic Lua script (GCRA on Redis's own clock, so the processes need not agree on the time):
the budget keeps when it would next be empty (`tat`), a 429 for the whole budget blocks it for everyone, and a
class that waits in one process holds the lower classes of the others back (an answer's final text in one
process goes before another process's rename). Each process also publishes how many answers it streams on each
budget, so every answer's fair share counts the answers of the whole bot.

If Redis cannot be reached (at start or mid-run), each process paces alone on its share of every budget: the
budget divided by the processes alive in the database's workers table, and says so in one log line; when Redis
answers again, sharing resumes (one line too).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Hashable

from core.streaming.throttle import Clock, LocalPacer, Priority

log = logging.getLogger(__name__)

# KEYS: 1 tat (µs), 2 blocked until (µs), 3 classes waiting (hash: class -> until, µs)
# ARGV: 1 interval (µs), 2 tolerance (µs: (burst - 1) * interval), 3 this request's class
# Returns 0 when the request may go now, else the µs to wait before asking again.
GCRA_TAKE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local class = tonumber(ARGV[3])
local wait = 0
local blocked = tonumber(redis.call('GET', KEYS[2]) or '0')
if blocked > now then wait = blocked - now end
if wait == 0 then
  for c = 0, class - 1 do
    if tonumber(redis.call('HGET', KEYS[3], tostring(c)) or '0') > now then
      wait = interval
      break
    end
  end
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if wait == 0 then
  local at = tat - tolerance
  if at <= now then
    local nxt = tat + interval
    redis.call('SET', KEYS[1], string.format('%d', math.floor(nxt)), 'PX', math.floor((nxt - now) / 1000) + 1000)
    return 0
  end
  wait = at - now
end
local mark = now + wait + 2 * interval
if mark > tonumber(redis.call('HGET', KEYS[3], tostring(class)) or '0') then
  redis.call('HSET', KEYS[3], tostring(class), string.format('%d', math.floor(mark)))
  redis.call('PEXPIRE', KEYS[3], 60000)
end
return math.floor(wait)
"""

BLOCK = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local until_ = now + tonumber(ARGV[1])
if until_ > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], string.format('%d', math.floor(until_)), 'PX', math.floor(tonumber(ARGV[1]) / 1000) + 1000)
end
return 0
"""

REDIS_TIMEOUT = 0.5  # seconds a Redis call may take before the process paces alone
RETRY_SECONDS = 5.0  # how often Redis is tried again once out of reach
STREAMS_REFRESH = 0.1  # seconds between reading the other processes' stream counts
STREAMS_STALE = 15.0  # a process that has not said how many answers it streams for this long counts for none
WORKERS_STALE = 60.0  # seconds without a heartbeat after which a process no longer counts as alive


def _key_text(key: Hashable) -> str:
    return ":".join(str(part) for part in key) if isinstance(key, tuple) else str(key)


class RedisBudgets:
    """`BudgetSharing` through one Redis server; `live_workers(stale_before)` counts the processes alive (the
    store's workers table) for when Redis is out of reach."""

    def __init__(
        self,
        url: str,
        *,
        worker_id: str,
        live_workers: Callable[[float], Awaitable[int]] | None = None,
        namespace: str = "hfchat",
        timeout: float = REDIS_TIMEOUT,
    ):
        import redis.asyncio as redis  # only with REDIS_URL: one process needs no Redis client

        self.redis = redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self.errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError, asyncio.TimeoutError)
        self.take_script = self.redis.register_script(GCRA_TAKE)
        self.block_script = self.redis.register_script(BLOCK)
        self.worker_id = worker_id
        self.namespace = namespace
        self.live_workers = live_workers
        self.alone = False  # Redis is out of reach: every budget is paced here, on this process's share
        self.counting = False  # ... and the live processes are being counted: nothing goes meanwhile
        self.share = 1  # the processes alive when Redis was last out of reach
        self._probing: asyncio.Task | None = None
        self._streams: list[RedisStreams] = []
        self._tasks: set[asyncio.Task] = set()

    def key(self, name: str, key: Hashable, part: str) -> str:
        return f"{self.namespace}:budget:{name}:{_key_text(key)}:{part}"

    def pacer(self, name: str, key: Hashable, rate: float, burst: int, clock: Clock) -> RedisPacer:
        return RedisPacer(self, name, key, rate, burst, clock)

    def lane(self, name: str, key: Hashable, interval: float, burst: int, clock: Clock) -> RedisPacer:
        """A channel's cadence (`interval`, bursts of `burst`) counted with every process writing there."""
        return RedisPacer(self, f"{name}:lane", key, 1 / interval, burst, clock)

    def streams(self, name: str, key: Hashable) -> RedisStreams:
        streams = RedisStreams(self, name, key)
        self._streams.append(streams)
        return streams

    # out of reach and back
    def failed(self, exc: BaseException) -> None:
        """A Redis call failed: from now on this process paces alone, on its share, until Redis answers again."""
        if self.alone:
            return
        self.alone = self.counting = True
        self._spawn(self._go_alone(type(exc).__name__))

    async def _go_alone(self, why: str) -> None:
        try:
            self.share = await self._count_workers()
        finally:
            self.counting = False
        log.warning(
            "budgets: Redis is unreachable (%s); each budget is now paced in this process at 1/%d of it "
            "(%d processes alive), until Redis answers again",
            why,
            self.share,
            self.share,
        )
        if self._probing is None or self._probing.done():
            self._probing = asyncio.create_task(self._probe(), name="redis-budgets-probe")

    async def _count_workers(self) -> int:
        if self.live_workers is None:
            return max(1, self.share)
        try:
            return max(1, await self.live_workers(time.time() - WORKERS_STALE))
        except Exception as exc:  # the database is out of reach too: keep the last count
            log.warning("budgets: could not count the live processes: %s", type(exc).__name__)
            return max(1, self.share)

    async def _probe(self) -> None:
        while self.alone:
            await asyncio.sleep(RETRY_SECONDS)
            try:
                await self.redis.ping()
            except self.errors:
                self.share = await self._count_workers()
                continue
            self.alone = False
            log.warning("budgets: Redis answers again; every budget is shared by the bot's processes again")

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for streams in self._streams:
            await streams.close()
        tasks = [*self._tasks, *([self._probing] if self._probing else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.redis.aclose()


class RedisPacer:
    """One budget's GCRA in Redis; the same budget in this process alone (at its share) while Redis is away."""

    def __init__(self, sharing: RedisBudgets, name: str, key: Hashable, rate: float, burst: int, clock: Clock):
        self.sharing = sharing
        self.rate, self.burst = rate, max(1, burst)
        self.keys = [sharing.key(name, key, part) for part in ("tat", "blocked", "waiting")]
        self.interval_us = round(1_000_000 / rate)
        self.tolerance_us = (self.burst - 1) * self.interval_us
        self.alone = LocalPacer(rate, self.burst, clock)

    async def try_take(self, priority: Priority = Priority.UPDATE) -> float:
        sharing = self.sharing
        if sharing.counting:
            return 0.05
        if sharing.alone:
            self.alone.set_rate(self.rate / sharing.share)
            return await self.alone.try_take(priority)
        try:
            wait = await sharing.take_script(
                keys=self.keys, args=[self.interval_us, self.tolerance_us, int(priority)], client=sharing.redis
            )
        except sharing.errors as exc:
            sharing.failed(exc)
            return 0.05  # ask again, alone this time, once the live processes are counted
        return int(wait) / 1_000_000

    def block(self, seconds: float) -> None:
        self.alone.block(seconds)
        if not self.sharing.alone:
            self.sharing._spawn(self._block(seconds))

    async def _block(self, seconds: float) -> None:
        try:
            await self.sharing.block_script(keys=self.keys[1:2], args=[round(seconds * 1_000_000)])
        except self.sharing.errors as exc:
            self.sharing.failed(exc)


class RedisStreams:
    """How many answers stream on one budget in the whole bot: this process's count, published in a Redis hash
    (field: the process) with when it was said, and the others' read back every `STREAMS_REFRESH` seconds."""

    def __init__(self, sharing: RedisBudgets, name: str, key: Hashable):
        self.sharing = sharing
        self.hash = sharing.key(name, key, "streams")
        self.mine = 0
        self.others = 0
        self._task: asyncio.Task | None = None
        self._changed = asyncio.Event()

    def add(self, delta: int) -> None:
        self.mine = max(0, self.mine + delta)
        self._changed.set()
        self._sync()

    def total(self) -> int:
        self._sync()
        if self.sharing.alone:  # the others are not heard: assume they stream as many as this process
            return self.mine * self.sharing.share
        return self.mine + self.others

    def _sync(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._keep_in_sync(), name="redis-budget-streams")

    async def _keep_in_sync(self) -> None:
        busy_at = time.monotonic()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), STREAMS_REFRESH)
            self._changed.clear()
            if self.sharing.alone:
                continue
            try:
                now = time.time()
                worker = self.sharing.worker_id
                async with self.sharing.redis.pipeline(transaction=False) as pipe:
                    pipe.hset(self.hash, worker, f"{self.mine}:{now:.3f}")
                    pipe.expire(self.hash, int(STREAMS_STALE * 4))
                    pipe.hgetall(self.hash)
                    *_, fields = await pipe.execute()
                others = 0
                for field, value in fields.items():
                    count, _, at = value.decode().partition(":")
                    if field.decode() != worker and now - float(at or 0) < STREAMS_STALE:
                        others += int(count)
                self.others = others
            except self.sharing.errors as exc:
                self.sharing.failed(exc)
            except ValueError:  # a field this code did not write
                pass
            if self.mine or self.others:
                busy_at = time.monotonic()
            elif time.monotonic() - busy_at > STREAMS_STALE:
                return  # nothing streams anywhere: no need to keep asking (add() and total() start again)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.sharing.redis.hdel(self.hash, self.sharing.worker_id), 1.0)
