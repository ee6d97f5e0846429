"""A clock for the throttle's tests (core.streaming.throttle.Clock's two methods): time moves only when something
sleeps, or when a test moves it (`t`)."""

from __future__ import annotations

import asyncio


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += max(seconds, 0)
        await asyncio.sleep(0)
