"""Polling until a condition holds, for tests that watch something happen."""

from __future__ import annotations

import asyncio
import time


async def wait_for(predicate, within: float = 5.0, what: str = "condition"):
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def wait_until(predicate, within: float = 15.0, what: str = "condition", every: float = 0.05):
    """Poll a (sync or async) predicate until it is truthy; returns its value."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(every)
