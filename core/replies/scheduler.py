"""One reply at a time per conversation: a message that arrives while an answer streams is answered next (with
any others that came meanwhile); Stop, Regenerate and Continue act on that slot; shutdown lets answers finish,
then stops them with their text kept. Across processes the store's conversation lock serialises the slot, and a
Stop that reaches a process other than the one writing the answer goes to it on the stop bus (core.replies.stopbus).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from core.conversations.access import check_may_stop
from core.errors import NotAllowed, UserFacingError
from core.keys import Actor
from core.records import Conversation, MessageStatus, StoredMessage
from core.replies.pipeline import ReplyOutcome, ReplyPipeline
from core.replies.stopbus import StopBus, StopNote
from core.replies.titles import Titler
from core.store.base import Store
from core.streaming import ReplySink, ReplyStream

log = logging.getLogger(__name__)

CONTINUABLE = (MessageStatus.TRUNCATED, MessageStatus.STOPPED, MessageStatus.INTERRUPTED)
STOP_WINDOW = 3.0  # the last seconds of the shutdown grace (at most half of it): stopped answers send their end


@dataclass(slots=True)
class Submitted:
    conversation: Conversation
    message_id: int
    queued: bool  # a reply is already streaming; this message is answered next, with any others
    reply: asyncio.Task | None = None  # resolves to the last ReplyOutcome of this lane run


@dataclass
class _Lane:
    """One conversation's reply slot in this process."""

    busy: bool = False
    pending: int = 0
    pending_sink: ReplySink | None = None
    pending_actor: Actor | None = None
    current: ReplyStream | None = None
    current_requester: str = ""
    task: asyncio.Task | None = None
    waiters: list[asyncio.Future] = field(default_factory=list)


class ReplyScheduler:
    def __init__(self, store: Store, pipeline: ReplyPipeline, titler: Titler):
        self.store = store
        self.pipeline = pipeline
        self.titler = titler
        self._lanes: dict[int, _Lane] = {}
        self._shutdown: asyncio.Future | None = None
        self._winding_down = 0  # shutdown: 1 = answers are being stopped, 2 = given up on (abandoned)
        self.bus = StopBus()  # reaches the bot's other processes (core.app sets it up)
        self._heard: set[asyncio.Task] = set()  # stops passed on by other processes, being done

    @property
    def shutting_down(self) -> bool:
        return self._shutdown is not None

    def answer(self, conversation: Conversation, message_id: int, sink: ReplySink, actor: Actor) -> Submitted:
        """Answer the conversation's newest messages now, or right after the reply in progress."""
        lane = self._lanes.setdefault(conversation.id, _Lane())
        if lane.busy:
            lane.pending += 1
            lane.pending_sink, lane.pending_actor = sink, actor
            return Submitted(conversation, message_id, queued=True, reply=lane.task)
        return Submitted(conversation, message_id, queued=False, reply=self._start(conversation, lane, sink, actor))

    def _start(
        self,
        conversation: Conversation,
        lane: _Lane,
        sink: ReplySink,
        actor: Actor,
        continue_from: StoredMessage | None = None,
    ) -> asyncio.Task:
        lane.busy = True
        lane.task = asyncio.create_task(
            self._drive(conversation, lane, sink, actor, continue_from), name=f"reply-{conversation.id}"
        )
        return lane.task

    async def _drive(
        self,
        conversation: Conversation,
        lane: _Lane,
        sink: ReplySink,
        actor: Actor,
        continue_from: StoredMessage | None = None,
    ) -> ReplyOutcome | None:
        outcome = None

        def streaming(stream: ReplyStream, requester: str) -> None:
            lane.current, lane.current_requester = stream, requester
            if self._winding_down == 1:  # shutdown is stopping answers: this one too
                stream.stop()
            elif self._winding_down:
                stream.abandon()

        try:
            while True:
                async with self.store.conversation_lock(conversation.id):
                    # one read for both: whether another process answered meanwhile, and what the answer reads
                    history, reads = None, None
                    if continue_from is None:
                        history, reads = await self.pipeline.read(conversation, actor)
                        if history and history[-1].role == "assistant":
                            # another process sharing the database answered our queued messages while we waited
                            # for the conversation lock
                            history = None
                    if continue_from is not None or history is not None:
                        outcome = await self.pipeline.answer(
                            conversation,
                            sink,
                            actor,
                            continue_from,
                            lambda s, who=actor.user_id: streaming(s, who),
                            history=history,
                            reads=reads,
                        )
                        if continue_from is None and not self.shutting_down:  # no new work while shutting down
                            self.titler.after_answer(
                                conversation, sink, outcome.reply_id, outcome.state.answer, outcome.credentials
                            )
                continue_from = None
                if not lane.pending or lane.pending_sink is None:
                    return outcome
                sink, actor = lane.pending_sink, lane.pending_actor or actor
                lane.pending, lane.pending_sink, lane.pending_actor = 0, None, None
        except Exception:
            log.exception("reply failed in conversation %s", conversation.id)
            raise
        finally:
            lane.busy = False
            lane.current = None
            if self._lanes.get(conversation.id) is lane:
                del self._lanes[conversation.id]

    def _free_lane(self, conversation_id: int, busy_message: str) -> _Lane:
        lane = self._lanes.setdefault(conversation_id, _Lane())
        if lane.busy:
            raise NotAllowed(busy_message)
        return lane

    async def regenerate(
        self, conversation: Conversation, last: StoredMessage, actor: Actor, sink: ReplySink
    ) -> Submitted:
        """Answer the last question again, replacing `last` (its last answer). Access is the caller's to check."""
        lane = self._free_lane(conversation.id, "An answer is still being written here. Stop it first.")
        await self.store.delete_messages_from(conversation.id, last.id)
        return Submitted(conversation, last.id, queued=False, reply=self._start(conversation, lane, sink, actor))

    async def continue_reply(
        self, conversation: Conversation, last: StoredMessage, actor: Actor, sink: ReplySink
    ) -> Submitted:
        """Resume `last`, an answer cut short; the stored answer grows in place. Access is the caller's to check."""
        lane = self._free_lane(conversation.id, "An answer is still being written here.")
        if last.status not in CONTINUABLE:
            raise NotAllowed("The last answer is complete; there is nothing to continue.")
        reply = self._start(conversation, lane, sink, actor, continue_from=last)
        return Submitted(conversation, last.id, queued=False, reply=reply)

    def is_streaming(self, conversation_id: int) -> bool:
        lane = self._lanes.get(conversation_id)
        return bool(lane and lane.current)

    async def stop(self, conversation_id: int, actor: Actor) -> bool:
        """Stop the reply streaming in a conversation (and drop the queued follow-up: its messages stay
        stored); True if there was one. The asker, the owner or an admin of its workspace only."""
        lane = self._lanes.get(conversation_id)
        if lane is None or lane.current is None:
            return await self._stop_elsewhere(conversation_id, actor)
        check_may_stop(await self.store.get_conversation_by_id(conversation_id), actor, lane.current_requester)
        self._halt(lane)
        return True

    async def _stop_elsewhere(self, conversation_id: int, actor: Actor) -> bool:
        """The answer being written here is another process's (its STREAMING row says which): check who may stop
        it and tell that process on the stop bus, which checks again and stops it. False when none is."""
        if not self.bus.reaches_others:
            return False
        newest = await self.store.recent_messages(conversation_id, 2)
        reply = newest[-1] if newest else None
        if reply is None or reply.role != "assistant" or reply.status != MessageStatus.STREAMING:
            return False
        if not reply.worker_id or reply.worker_id == self.pipeline.worker_id:
            return False  # ours, and not being written any more (or no longer known)
        asker = next((m.author_id for m in reversed(newest) if m.role == "user"), "")
        check_may_stop(await self.store.get_conversation_by_id(conversation_id), actor, asker)
        await self.bus.publish(StopNote(conversation_id, actor, self.pipeline.worker_id))
        return True

    def stop_heard(self, note: StopNote) -> None:
        """A Stop another process passed on (the stop bus): the answer is stopped here if it is written here."""
        if note.sender == self.pipeline.worker_id:
            return
        lane = self._lanes.get(note.conversation_id)
        if lane is not None and lane.current is not None:
            task = asyncio.create_task(self._stop_heard(note), name=f"stop-{note.conversation_id}")
            self._heard.add(task)
            task.add_done_callback(self._heard.discard)

    async def _stop_heard(self, note: StopNote) -> None:
        try:
            stopped = await self.stop(note.conversation_id, note.actor)
            log.info("stop from another process in conversation %s: %s", note.conversation_id, stopped)
        except UserFacingError:  # checked there too; not theirs to stop after all
            log.info("stop from another process refused in conversation %s", note.conversation_id)
        except Exception as exc:
            log.warning("stop from another process failed: %s", type(exc).__name__)

    async def stop_and_wait(self, conversation_id: int) -> None:
        """Stop the answer being written (and the queued follow-up), and wait until it has stopped: before what
        it belongs to is erased."""
        lane = self._lanes.get(conversation_id)
        if lane is not None and lane.current is not None:
            self._halt(lane)
            if lane.task is not None:
                await asyncio.gather(lane.task, return_exceptions=True)

    @staticmethod
    def _halt(lane: _Lane) -> None:
        lane.pending = 0
        if lane.current is not None:
            lane.current.stop()

    async def wait_idle(self) -> None:
        """Wait until no reply (or title) is being written in this process."""
        while tasks := [lane.task for lane in self._lanes.values() if lane.task is not None and not lane.task.done()]:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.titler.wait()

    async def shutdown(self, grace: float = 10.0) -> None:
        """Refuse new messages and let replies in flight finish; near the end of `grace` stop them (their final
        text still goes out), and at its end give up on whatever is still sending, whatever its requests are
        doing: those answers are stored INTERRUPTED with their text. Every caller (each front end, Core.close)
        waits for the same shutdown."""
        if self._shutdown is None:
            self._shutdown = asyncio.ensure_future(self._shut_down(grace))
        await asyncio.shield(self._shutdown)

    async def _shut_down(self, grace: float) -> None:
        deadline = asyncio.get_running_loop().time() + grace
        await self._idle_until(deadline - min(grace / 2, STOP_WINDOW))
        self._winding_down = 1
        for lane in list(self._lanes.values()):
            self._halt(lane)
        await self._idle_until(deadline)
        self._winding_down = 2
        for lane in list(self._lanes.values()):
            if lane.current is not None:
                lane.current.abandon()
        self.titler.cancel()  # a rename can wait minutes on Discord's limit
        await self.wait_idle()

    async def _idle_until(self, when: float) -> None:
        with contextlib.suppress(TimeoutError):
            # shielded: on timeout wait_for cancels what it awaits, and that must not be the replies
            await asyncio.wait_for(asyncio.shield(self.wait_idle()), max(0.0, when - asyncio.get_running_loop().time()))
