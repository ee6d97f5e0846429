"""The streaming engine: one place that turns a token stream into platform messages.

A reader task consumes the router stream into a `ReplyState`; a renderer task sends the latest
snapshot to the platform whenever its lane allows. The renderer never replays a backlog: if ten
tokens arrived while it waited, one edit shows all of them. Long answers continue in new messages
(split by `core.streaming.splitting`), a 429 slows the lane instead of failing, and the final text is always
delivered.

Here: the reader and an answer's lifecycle (run, stop, expiry, abandon). The renderer (sealing, native-stream
rotation, the last message allowed) is `core.streaming.render`, sending one message and what its failures mean
`core.streaming.delivery`, the answer's state and notices `core.streaming.state`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from core.errors import RouterError
from core.records import MessageStatus
from core.router.events import (
    Finished,
    ReasoningDelta,
    StreamEvent,
    StreamStarted,
    TextDelta,
    ToolActivity,
)
from core.streaming.delivery import Delivery
from core.streaming.render import Rendering
from core.streaming.sink import PlatformLimits, ReplySink, Undeliverable
from core.streaming.state import (
    NOTICE_EMPTY,
    NOTICE_EXPIRED,
    NOTICE_STOPPED,
    NOTICE_TRUNCATED,
    RenderStats,
    ReplyState,
)
from core.streaming.throttle import Throttle

log = logging.getLogger(__name__)


class ReplyStream(Rendering, Delivery):
    """Streams one answer to one sink. `run()` returns the final state; `stop()` may come any time."""

    def __init__(
        self,
        sink: ReplySink,
        throttle: Throttle,
        *,
        reply_id: int | None = None,
        model: str = "",
        notes: list[str] | None = None,
        final_retries: int = 30,
        conversation_id: int | None = None,
        fallback: tuple[Throttle, PlatformLimits] | None = None,
    ):
        self.sink = sink
        self.conversation_id = conversation_id
        self.fallback = fallback  # the edit path's throttle and limits, used after a native stream is refused
        self.notes = notes or []
        self.limits = sink.limits
        self.throttle = throttle
        self.reply_id = reply_id
        self.state = ReplyState(model=model)
        self.stats = RenderStats()
        self.final_retries = final_retries
        self._changed = asyncio.Event()
        self._finished = asyncio.Event()  # the reader is done: what is left to send is the final text
        self._reader: asyncio.Task | None = None
        self._renderer: asyncio.Task | None = None
        self._stop_requested = False
        self._abandoned = False  # abandon(): the platform is given up on, whatever its requests are doing
        self._rendered = False  # the final text went out whole
        self._refused: Undeliverable | None = None  # the platform refused the answer for good
        self._expired = False  # stopped because the sink's `expires_at` came
        self._overflowed = False  # the answer did not fit in limits.max_messages: the file carries it whole
        # rendering position: messages already sealed, where the current one starts in the answer
        self._refs: list[Any] = []
        self._sent: list[str] = []
        self._pos = 0
        self._carry = ""
        self._open = False  # the last posted message is still being written
        self._opened_at = 0.0  # when the native stream being written started (it expires: limits.stream_max_age)
        self._tasks_shown = 0  # the state's tasks_version the platform has been sent
        self._native = self.limits.native_append
        self._sharing: Throttle | None = None  # the edit path's throttle, once a native stream fell back to it
        self._recording: asyncio.Task | None = None  # on_first_message, under way
        # called with the platform id of the answer's first message as soon as it is posted (the core
        # stores it at once, so an answer cut by a crash can still be found and marked on the platform)
        self.on_first_message: Callable[[str], Awaitable[None]] | None = None

    # the reader
    async def _read(self, events: AsyncIterator[StreamEvent]) -> None:
        state = self.state
        announced = False  # a model started answering (StreamStarted)
        try:
            async for event in events:
                if isinstance(event, TextDelta):
                    if state.first_token_at is None:
                        state.first_token_at = time.monotonic()
                    if state.reasoning_started_at is not None and state.reasoning_ended_at is None:
                        state.reasoning_ended_at = time.monotonic()
                    state.answer += event.text
                elif isinstance(event, ReasoningDelta):
                    if state.reasoning_started_at is None:
                        state.reasoning_started_at = time.monotonic()
                    if state.first_token_at is None:
                        state.first_token_at = time.monotonic()
                    state.reasoning += event.text
                elif isinstance(event, StreamStarted):
                    state.model, state.provider = event.model, event.provider
                    announced = True
                elif isinstance(event, ToolActivity):
                    state.activity = event.text
                    for task in event.tasks:
                        state.tasks[task.id] = task
                    if event.tasks:
                        state.tasks_version += 1
                elif isinstance(event, Finished):
                    state.finish_reason = event.reason
                    state.prompt_tokens, state.completion_tokens = event.prompt_tokens, event.completion_tokens
                state.version += 1
                self._changed.set()
            if state.finish_reason == "length":
                state.status, state.notice = MessageStatus.TRUNCATED, NOTICE_TRUNCATED
            else:
                state.status = MessageStatus.COMPLETE
                if not state.answer.strip():
                    state.notice = NOTICE_EMPTY
        except asyncio.CancelledError:
            state.status = MessageStatus.STOPPED
            state.notice = NOTICE_EXPIRED if self._expired else NOTICE_STOPPED
        except RouterError as exc:
            state.error = exc
            state.status = MessageStatus.ERROR
            if not announced:  # no model produced anything: the footer credits none
                state.model = ""
            kept = " The part already written is kept above." if state.answer else ""
            state.notice = f"⚠️ {exc}{kept}"
        finally:
            state.ended_at = time.monotonic()
            if state.reasoning_started_at is not None and state.reasoning_ended_at is None:
                state.reasoning_ended_at = state.ended_at
            state.done = True
            state.version += 1
            self._changed.set()
            self._finished.set()

    def stop(self) -> None:
        """Stop the answer where it is; what was streamed stays."""
        self._stop_requested = True
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()

    def _expire(self) -> None:
        """The sink's time is up (Discord: the interaction token's 15 minutes): stop now, so the final text still
        goes out while the sink can write it; Continue picks the answer up later, with a fresh token."""
        if not self.state.done:
            self._expired = True
            self.stop()

    def abandon(self) -> None:
        """Give up on the platform now, whatever its requests are doing (a request in flight, a retry waiting out
        its backoff or Retry-After): generation stops, the renderer is cancelled, and `run` returns at once. The
        answer ends INTERRUPTED unless its final text had already gone out. For shutdown's deadline."""
        self._abandoned = True
        self.stop()
        if self._renderer is not None and not self._renderer.done():
            self._renderer.cancel()

    async def run(self, events: AsyncIterator[StreamEvent]) -> ReplyState:
        # a budget's first answer in this process knows what was learned before it (core.streaming.lengths)
        await self.throttle.ready(self.sink.bucket)
        self._reader = asyncio.create_task(self._read(events), name=f"reply-reader-{self.reply_id}")
        if self._stop_requested:  # stopped before it began: cancelled once inside _read, whose finally ends it
            asyncio.get_running_loop().call_soon(self._reader.cancel)
        self.throttle.join(self.sink.bucket)  # this answer shares its budget with the others on it
        sharing = self.throttle
        began = sharing.clock.now()
        self._renderer = asyncio.create_task(self._deliver_answer(), name=f"reply-renderer-{self.reply_id}")
        if self._abandoned:
            self._renderer.cancel()
        expires_at = getattr(self.sink, "expires_at", None)  # optional sink member
        expiry = None
        if expires_at is not None:
            expiry = asyncio.get_running_loop().call_later(max(0.0, expires_at - time.monotonic()), self._expire)
        try:
            await self._renderer
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not self._abandoned or (current is not None and current.cancelling()):
                raise  # cancelled from outside, not abandoned
        finally:
            if expiry is not None:
                expiry.cancel()
            if not self._renderer.done():
                self._renderer.cancel()
                await asyncio.gather(self._renderer, return_exceptions=True)
            (self._sharing or sharing).leave(self.sink.bucket)
            if self._sharing is None and self._rendered:  # how long it streamed on the budget, to the end
                sharing.lasted(self.sink.bucket, sharing.clock.now() - began)
            if self._recording is not None:
                await asyncio.gather(self._recording, return_exceptions=True)
            if not self._reader.done():
                self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._refused is not None:
            self.state.status, self.state.notice = MessageStatus.UNDELIVERED, ""
        elif self._abandoned and not self._rendered:
            self.state.status = MessageStatus.INTERRUPTED
        return self.state

    async def _deliver_answer(self) -> None:
        try:
            await self._render_loop()
            self._rendered = True
        except Undeliverable as exc:
            # nobody will see more of it here: stop generating, and say so where the sink can
            self._refused = exc
            log.warning("reply %s not delivered: %s", self.reply_id, exc)
            self.stop()
            tell = getattr(self.sink, "undeliverable", None)  # optional sink method
            if tell is not None:
                try:
                    await tell(exc)
                except Exception as failed:
                    log.warning("could not say reply %s was not delivered: %s", self.reply_id, type(failed).__name__)
