"""The partial text of an answer saved while it streams, so an answer cut by a crash keeps what it had written."""

from __future__ import annotations

import asyncio
import logging

from core.ops import metrics
from core.records import StoredMessage
from core.store.base import Store
from core.streaming import ReplyStream

log = logging.getLogger(__name__)

CHECKPOINT_SECONDS = 2.0  # how often the partial text of a streaming answer is saved (only when it grew)


class CheckpointWriter:
    """The checkpoints of every answer this process streams, written together: every `every` seconds one store
    transaction saves the partial text of each answer that grew since its last save. A thousand answers
    streaming at once make one commit per tick, not five hundred a second (each one a trip to the database's
    thread or server and a commit of its own).

    Runs only while some answer streams; an answer's own saves (`AnswerCheckpoints.save`) never overlap a
    tick's write of that answer, and its final update comes after both (`AnswerCheckpoints.finish`).
    """

    def __init__(self, store: Store, every: float = CHECKPOINT_SECONDS):
        self.store = store
        self.every = every
        self._answers: dict[AnswerCheckpoints, None] = {}  # streaming now, oldest first
        self._ticker: asyncio.Task | None = None
        self._writing: set[AnswerCheckpoints] = set()  # in the tick's write under way
        self._written: asyncio.Future | None = None  # done when that write ends

    def add(self, answer: AnswerCheckpoints) -> None:
        self._answers[answer] = None
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.create_task(self._tick(), name="answer-checkpoints")

    def remove(self, answer: AnswerCheckpoints) -> None:
        self._answers.pop(answer, None)
        if not self._answers and not self._writing and self._ticker is not None:
            self._ticker.cancel()  # asleep: nothing left to save
            self._ticker = None

    async def settled(self, answer: AnswerCheckpoints) -> None:
        """Returns once no write under way holds `answer`."""
        while answer in self._writing and self._written is not None:
            await asyncio.shield(self._written)

    async def _tick(self) -> None:
        while self._answers:
            await asyncio.sleep(self.every)
            await self.write_due()

    async def write_due(self) -> None:
        """One transaction with the text so far of every answer that changed since it was last saved."""
        batch = [(answer, change) for answer in list(self._answers) if (change := answer.change()) is not None]
        if not batch:
            return
        written = asyncio.get_running_loop().create_future()
        self._writing, self._written = {answer for answer, _ in batch}, written
        try:
            await self.store.update_messages([(answer.reply_id, fields) for answer, (_, fields) in batch])
        except Exception as exc:  # the next tick (or each answer's final update) tries again
            log.warning("checkpoints of %d replies failed: %s", len(batch), type(exc).__name__)
        else:
            for answer, (saving, _) in batch:
                answer.saved(saving)
        finally:
            self._writing, self._written = set(), None
            written.set_result(None)


class AnswerCheckpoints:
    """Saves the partial text of an answer while it streams, so a process killed mid-answer leaves it
    stored (the restart marks it interrupted, with that text). The process's CheckpointWriter saves it with
    every other answer streaming, at most once a tick (CHECKPOINT_SECONDS) and only when it changed, in a task
    of its own so reading never waits on the database. A write per token would make answers the database's
    busiest load; a write per answer per tick, each its own transaction, would still make a thousand answers so.

    Also saved at once when the answer's first message is posted (with that message's id), and with the
    id of its newest message when it runs over several (`extra["last_message"]`).
    """

    def __init__(
        self,
        writer: CheckpointWriter,
        reply_id: int,
        stream: ReplyStream,
        platform: str,
        before: StoredMessage | None,
    ):
        self.writer = writer
        self.store = writer.store
        self.reply_id = reply_id
        self.stream = stream
        self.platform = platform
        self.before = before  # the answer a Continue extends
        self._saved = (-1, "")  # (state version, last message id) already stored
        self._lock = asyncio.Lock()
        self._done = False
        writer.add(self)

    async def finish(self) -> None:
        """No more checkpoints; one under way completes first, so the final update always comes last."""
        self._done = True
        self.writer.remove(self)
        await self.writer.settled(self)

    def change(self) -> tuple[tuple[int, str], dict] | None:
        """What a tick writes for this answer: (what it saves, the fields), or None if nothing changed (or a
        save of its own is under way, which writes the newest text anyway)."""
        if self._done or self._lock.locked():
            return None
        saving = (self.stream.state.version, self.stream.last_ref_id())
        if saving == self._saved:
            return None
        return saving, self._fields(saving, {})

    def saved(self, saving: tuple[int, str]) -> None:
        self._saved = saving
        metrics.CHECKPOINTS.labels(self.platform).inc()

    def _fields(self, saving: tuple[int, str], fields: dict) -> dict:
        state, before, last = self.stream.state, self.before, saving[1]
        fields["content"] = (before.content if before else "") + state.answer
        fields["reasoning"] = (before.reasoning if before else "") + state.reasoning
        # the stored platform id is the answer's first message; a Continue writes into new ones
        if last and last != self._saved[1] and (last != self.stream.first_ref_id() or before is not None):
            fields["extra"] = {**(before.extra if before else {}), "last_message": last}
        return fields

    async def save(self, **fields) -> None:
        """Write the text so far (and `fields`) if anything changed since the last write; never raises."""
        async with self._lock:
            await self.writer.settled(self)  # a tick's write of this answer ends first: this one is newer
            if self._done and not fields:
                return
            saving = (self.stream.state.version, self.stream.last_ref_id())
            if saving == self._saved and not fields:
                return
            fields = self._fields(saving, fields)
            try:
                await self.store.update_message(self.reply_id, **fields)
            except Exception as exc:  # the next checkpoint (or the final update) tries again
                log.warning("checkpoint of reply %s failed: %s", self.reply_id, type(exc).__name__)
                return
            self.saved(saving)
