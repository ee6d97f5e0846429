"""Budgets shared through Redis (core.streaming.shared_budget), against the Redis server on 127.0.0.1:6379.

Two `RedisBudgets` in one test stand for two processes of one bot: each has its own Throttle, as each process has.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time

import pytest

from core.streaming import shared_budget
from core.streaming.shared_budget import RedisBudgets
from core.streaming.throttle import Priority, Throttle
from tests.support.redis import REDIS_URL, RedisProxy, fresh_namespace

BUCKET = ("discord", "bot")


@contextlib.asynccontextmanager
async def processes(count: int, *, url: str = REDIS_URL, live: int | None = None, rate: float = 10.0, **kw):
    """`count` processes' throttles on one shared budget: (throttles, sharings)."""
    async with fresh_namespace() as namespace:

        async def live_workers(stale_before: float) -> int:
            return count if live is None else live

        sharings = [
            RedisBudgets(url, worker_id=f"w{i}", live_workers=live_workers, namespace=namespace) for i in range(count)
        ]
        throttles = [
            Throttle(1.0, bucket_rate=rate, bucket_burst=1, name="discord-global", sharing=s, **kw) for s in sharings
        ]
        try:
            yield throttles, sharings
        finally:
            for sharing in sharings:
                await sharing.close()


async def test_processes_share_one_budget_at_its_rate():
    async with processes(2) as (throttles, _):
        granted: list[float] = []

        async def take(throttle):
            await throttle.take(BUCKET)
            granted.append(time.monotonic())

        await asyncio.gather(*(take(throttles[i % 2]) for i in range(20)))
        granted.sort()
        # 10 a second for both together, evenly: not 10 a second each
        assert granted[-1] - granted[0] >= 19 / 10 - 0.05
        gaps = [b - a for a, b in itertools.pairwise(granted)]
        assert min(gaps) > 0.1 * 0.5  # never two at once


async def test_every_process_counts_the_answers_of_all():
    async with processes(2) as (throttles, _):
        for _ in range(3):
            throttles[0].join(BUCKET)
        for _ in range(2):
            throttles[1].join(BUCKET)
        deadline = time.monotonic() + 3
        while any(t.streams(BUCKET) != 5 for t in throttles):
            assert time.monotonic() < deadline, [t.streams(BUCKET) for t in throttles]
            await asyncio.sleep(0.05)
        # so each one's fair share is that of 5 answers on the budget, wherever they stream
        await throttles[0].acquire("thread-a", BUCKET)
        assert throttles[0].fair_delay("thread-a") == pytest.approx(5 * 30 / (1 + 10 * 30), abs=0.02)


async def test_a_class_waiting_in_one_process_goes_before_lower_classes_of_another():
    async with processes(2, rate=5.0) as (throttles, _):
        first, second = throttles
        await first.take(BUCKET)  # the budget is spent for the next 0.2 s
        order: list[str] = []

        async def take(throttle, name, priority):
            await throttle.take(BUCKET, priority)
            order.append(name)

        background = asyncio.create_task(take(second, "rename", Priority.BACKGROUND))
        await asyncio.sleep(0.02)
        urgent = [asyncio.create_task(take(first, f"final {i}", Priority.URGENT)) for i in range(3)]
        await asyncio.gather(background, *urgent)
        assert order[-1] == "rename", order


async def test_a_global_429_in_one_process_holds_the_others():
    async with processes(2, rate=100.0) as (throttles, _):
        await throttles[1].take(BUCKET)  # the budget exists in Redis
        throttles[0].budget_limited(BUCKET, 0.6)
        await asyncio.sleep(0.05)  # the block is written in the background
        start = time.monotonic()
        await throttles[1].take(BUCKET, Priority.URGENT)
        assert time.monotonic() - start >= 0.45


async def test_redis_gone_mid_run_each_process_paces_on_its_share_then_shares_again(monkeypatch, caplog):
    monkeypatch.setattr(shared_budget, "RETRY_SECONDS", 0.3)
    caplog.set_level(logging.WARNING, logger="core.streaming.shared_budget")
    async with RedisProxy() as proxy, processes(1, url=proxy.url, live=3, rate=20.0) as ([throttle], [sharing]):
        start = time.monotonic()
        for _ in range(5):
            await throttle.take(BUCKET)
        assert time.monotonic() - start < 4 / 20 + 0.15  # shared: the whole budget's pace
        await proxy.cut()
        for _ in range(2):  # the first notices, then the share is known
            await throttle.take(BUCKET)
        assert sharing.alone and sharing.share == 3
        start = time.monotonic()
        for _ in range(4):
            await throttle.take(BUCKET)
        # alone: a third of 20 a second, as 3 processes are alive
        assert time.monotonic() - start >= 3 / (20 / 3) - 0.05
        said = [r.getMessage() for r in caplog.records]
        assert len([m for m in said if "Redis is unreachable" in m]) == 1
        assert "1/3" in said[0] and "3 processes alive" in said[0]
        await proxy.restore()
        deadline = time.monotonic() + 5
        while sharing.alone:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        assert any("Redis answers again" in r.getMessage() for r in caplog.records)
        start = time.monotonic()
        for _ in range(5):
            await throttle.take(BUCKET)
        assert time.monotonic() - start < 4 / 20 + 0.3


async def test_redis_out_of_reach_from_the_start_is_the_same_fallback(caplog):
    caplog.set_level(logging.WARNING, logger="core.streaming.shared_budget")
    proxy = RedisProxy()
    await proxy.restore()
    await proxy.cut()  # a port nothing listens on
    async with processes(1, url=proxy.url, live=2, rate=20.0) as ([throttle], [sharing]):
        for _ in range(3):
            await throttle.take(BUCKET)
        assert sharing.alone and sharing.share == 2
        assert sum("Redis is unreachable" in r.getMessage() for r in caplog.records) == 1
