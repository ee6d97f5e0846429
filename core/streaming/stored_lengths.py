"""Answer lengths kept in the store (core.streaming.lengths.LengthsMemory), so a restart, a deploy or another replica
starts from what the bot learned rather than from the guess.

Privacy: a row is a budget's name, a workspace id, a duration and when it ended; no person, conversation or text, so
nothing here is erased with a person's data, and nothing logged names more than the budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from core.store.base import Store
from core.streaming.lengths import KEEP

log = logging.getLogger(__name__)

BATCH_SECONDS = 1.0  # lengths that end within this long of each other go in one write (a burst ends together)
CLOSE_WITHIN = 2.0  # seconds a shutdown waits for the last write


class StoredLengths:
    def __init__(self, store: Store, keep: int = KEEP):
        self.store = store
        self.keep = keep
        self._pending: list[tuple[str, str, float]] = []
        self._writer: asyncio.Task | None = None
        self._now = asyncio.Event()  # set: write what is pending without waiting for more

    async def recall(self, budget: str, bucket: str) -> list[float]:
        """The workspace's most recent lengths; for a workspace never seen, the install's most recent."""
        try:
            found = await self.store.answer_lengths(budget, bucket, self.keep)
            if not found:
                found = await self.store.answer_lengths(budget, None, self.keep)
        except Exception as exc:  # the answer goes on from the guess
            log.warning("answer lengths of %s not read (%s): starting from the guess", budget, type(exc).__name__)
            return []
        return found

    def remember(self, budget: str, bucket: str, seconds: float) -> None:
        self._pending.append((budget, bucket, seconds))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write(), name="answer-lengths")

    async def _write(self) -> None:
        while self._pending:
            if not self._now.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._now.wait(), BATCH_SECONDS)
            rows, self._pending = self._pending, []
            try:
                await self.store.record_answer_lengths(rows, self.keep)
            except Exception as exc:  # those lengths are lost to the next process; this one keeps them
                log.warning("%d answer lengths not stored (%s)", len(rows), type(exc).__name__)

    async def close(self) -> None:
        """Write what is pending now (within CLOSE_WITHIN seconds), before the store closes."""
        self._now.set()
        writer = self._writer
        if writer is None or writer.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(writer), CLOSE_WITHIN)
        except TimeoutError:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
