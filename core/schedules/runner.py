"""Running schedules: each process looks for due runs every SCHEDULE_CHECK_SECONDS, and a run is claimed in the
database before it happens (its next run moved on where it still was the one seen), so with any number of processes
each run happens exactly once. Runs missed while no process ran are made up once, at the next start, not once per
missed time.

What a run looks like (a new thread in the channel, the answer streamed in it) is the platform's: each front end
serves its platform with a `ScheduleTarget`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from core.records import Schedule
from core.schedules.spec import When
from core.store.base import Store

log = logging.getLogger(__name__)


class ScheduleTarget(Protocol):
    def handles(self, schedule: Schedule) -> bool:
        """Whether this process can run it (Discord: its server is on one of this process's shards)."""
        ...

    async def run(self, schedule: Schedule) -> None:
        """Open a new thread in the schedule's channel and answer its prompt there, as its owner."""
        ...


class ScheduleRunner:
    def __init__(self, store: Store, check_seconds: float = 20.0):
        self.store = store
        self.check_seconds = check_seconds
        self._targets: dict[str, list[ScheduleTarget]] = {}
        self._running: set[asyncio.Task] = set()
        self.stopped = False  # shutting down: no run is claimed any more

    def serve(self, platform: str, target: ScheduleTarget) -> None:
        self._targets.setdefault(platform, []).append(target)

    def _target(self, schedule: Schedule) -> ScheduleTarget | None:
        return next((t for t in self._targets.get(schedule.platform, ()) if t.handles(schedule)), None)

    async def tick(self, now: float | None = None) -> list[Schedule]:
        """Claim and start every due run this process can serve; returns the schedules it claimed."""
        if not self._targets or self.stopped:
            return []
        now = time.time() if now is None else now
        claimed = []
        for schedule in await self.store.due_schedules(now, sorted(self._targets)):
            target = self._target(schedule)
            if target is None:
                continue
            when = When(schedule.cron, schedule.zone, schedule.described)
            following = when.next_after(max(now, schedule.next_run))
            if not await self.store.claim_schedule_run(schedule.id, schedule.next_run, following, now):
                continue  # another process took this run
            log.info("schedule %s: run %d claimed", schedule.id, schedule.runs + 1)
            claimed.append(schedule)
            task = asyncio.create_task(self._run(target, schedule), name=f"schedule-{schedule.id}")
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        return claimed

    @staticmethod
    async def _run(target: ScheduleTarget, schedule: Schedule) -> None:
        try:
            await target.run(schedule)
        except Exception as exc:
            log.warning("schedule %s: the run failed: %s", schedule.id, type(exc).__name__)

    async def loop(self) -> None:
        while True:
            # on the clock's multiples of check_seconds: every process looks at the same moments, so a run due
            # starts as soon in each, and the claim alone decides which one runs it
            await asyncio.sleep(self.check_seconds - time.time() % self.check_seconds)
            try:
                await self.tick()
            except Exception as exc:
                log.warning("looking for scheduled prompts failed: %s", type(exc).__name__)

    async def wait_idle(self) -> None:
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)

    async def close(self) -> None:
        """Claim nothing more; give up on runs still opening their thread (their answers are the scheduler's)."""
        self.stopped = True
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*list(self._running), return_exceptions=True)
