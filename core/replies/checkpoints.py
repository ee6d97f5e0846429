"""The partial text of an answer saved while it streams, so an answer cut by a crash keeps what it had written."""

from __future__ import annotations

import asyncio
import logging
import time

from core.ops import metrics
from core.records import StoredMessage
from core.store.base import Store
from core.streaming import ReplyStream

log = logging.getLogger(__name__)

CHECKPOINT_SECONDS = 2.0  # how often the partial text of a streaming answer is saved (only when it grew)


class AnswerCheckpoints:
    """Saves the partial text of an answer while it streams, so a process killed mid-answer leaves it
    stored (the restart marks it interrupted, with that text). Driven by the stream's reader: at most one
    write every `every` seconds, in a task of its own so reading never waits on the database. A write per
    token would make answers the database's busiest load.

    Also saved at once when the answer's first message is posted (with that message's id), and with the
    id of its newest message when it runs over several (`extra["last_message"]`).
    """

    def __init__(
        self,
        store: Store,
        reply_id: int,
        stream: ReplyStream,
        platform: str,
        every: float,
        before: StoredMessage | None,
    ):
        self.store = store
        self.reply_id = reply_id
        self.stream = stream
        self.platform = platform
        self.every = every
        self.before = before  # the answer a Continue extends
        self._saved = (-1, "")  # (state version, last message id) already stored
        self._due = time.monotonic() + every
        self._lock = asyncio.Lock()
        self._writer: asyncio.Task | None = None
        self._done = False
        stream.on_progress = self._progress

    def _progress(self) -> None:
        if self._done or time.monotonic() < self._due or (self._writer is not None and not self._writer.done()):
            return
        self._due = time.monotonic() + self.every
        self._writer = asyncio.create_task(self.save(), name=f"checkpoint-{self.reply_id}")

    async def finish(self) -> None:
        """No more checkpoints; one under way completes first, so the final update always comes last."""
        self._done = True
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)

    async def save(self, **fields) -> None:
        """Write the text so far (and `fields`) if anything changed since the last write; never raises."""
        async with self._lock:
            if self._done and not fields:
                return
            state = self.stream.state
            saving = (state.version, self.stream.last_ref_id())
            if saving == self._saved and not fields:
                return
            last = saving[1]
            before = self.before
            fields["content"] = (before.content if before else "") + state.answer
            fields["reasoning"] = (before.reasoning if before else "") + state.reasoning
            # the stored platform id is the answer's first message; a Continue writes into new ones
            if last and last != self._saved[1] and (last != self.stream.first_ref_id() or before is not None):
                fields["extra"] = {**(before.extra if before else {}), "last_message": last}
            try:
                await self.store.update_message(self.reply_id, **fields)
            except Exception as exc:  # the next checkpoint (or the final update) tries again
                log.warning("checkpoint of reply %s failed: %s", self.reply_id, type(exc).__name__)
                return
            self._saved = saving
            metrics.CHECKPOINTS.labels(self.platform).inc()
