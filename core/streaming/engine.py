"""The streaming engine: one place that turns a token stream into platform messages.

A reader task consumes the router stream into a `ReplyState`; a renderer task sends the latest
snapshot to the platform whenever its lane allows. The renderer never replays a backlog: if ten
tokens arrived while it waited, one edit shows all of them. Long answers continue in new messages
(split by `core.streaming.splitting`), a 429 slows the lane instead of failing, and the final text is always
delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from core.errors import RouterError
from core.records import MessageStatus
from core.router.client import (
    Finished,
    ReasoningDelta,
    StreamEvent,
    StreamStarted,
    TextDelta,
    ToolActivity,
    ToolProgress,
)
from core.streaming.sink import (
    MessageGone,
    PlatformLimits,
    RateLimited,
    ReplySink,
    ReplyView,
    StoppedByUser,
    StreamUnavailable,
    Undeliverable,
)
from core.streaming.splitting import open_fence_at_end, rotation_cut, split_first
from core.streaming.throttle import Throttle

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ReplyState:
    answer: str = ""
    reasoning: str = ""
    status: str = MessageStatus.STREAMING
    notice: str = ""  # shown under the answer: an error, "stopped", "cut at the length limit"
    activity: str = ""  # what tools are doing right now, shown only while streaming
    tasks: dict[str, ToolProgress] = field(default_factory=dict)  # every tool call so far, by id, newest state
    tasks_version: int = 0
    done: bool = False
    model: str = ""
    provider: str = ""
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    started_at: float = field(default_factory=time.monotonic)
    first_token_at: float | None = None
    reasoning_started_at: float | None = None
    reasoning_ended_at: float | None = None
    ended_at: float | None = None
    error: RouterError | None = None
    version: int = 0

    @property
    def reasoning_seconds(self) -> float | None:
        if self.reasoning_started_at is None:
            return None
        end = self.reasoning_ended_at or self.ended_at or time.monotonic()
        return round(end - self.reasoning_started_at, 1)

    @property
    def first_token_ms(self) -> float | None:
        return None if self.first_token_at is None else round((self.first_token_at - self.started_at) * 1000, 1)

    @property
    def total_ms(self) -> float | None:
        return None if self.ended_at is None else round((self.ended_at - self.started_at) * 1000, 1)


NOTICE_STOPPED = "⏹️ *Stopped.*"
NOTICE_TRUNCATED = "✂️ *The answer reached the length limit. Continue picks it up where it stopped.*"
NOTICE_EMPTY = "*The model returned an empty answer.*"
NOTICE_EXPIRED = "⏱️ *Stopped: this reply reached the time the platform allows it. Continue picks it up.*"
NOTICE_IN_FILE = "📄 *The rest of the answer is in the file below.*"
THINKING = "💭 *Thinking…*"


@dataclass(slots=True)
class RenderStats:
    posts: int = 0
    edits: int = 0
    appends: int = 0
    rate_limited: int = 0
    failures: int = 0
    messages: int = 0


class ReplyStream:
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
        # called (synchronously, so it must not block) after each event the reader takes in: the core
        # saves the partial answer from there every few seconds
        self.on_progress: Callable[[], None] | None = None

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
                if self.on_progress is not None:
                    self.on_progress()
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
        self._reader = asyncio.create_task(self._read(events), name=f"reply-reader-{self.reply_id}")
        if self._stop_requested:  # stopped before it began: cancelled once inside _read, whose finally ends it
            asyncio.get_running_loop().call_soon(self._reader.cancel)
        self.throttle.join(self.sink.bucket)  # this answer shares its budget with the others on it
        sharing = self.throttle
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

    # the renderer
    async def _render_loop(self) -> None:
        rendered_version = -1
        while True:
            await self._changed.wait()
            if self.state.version == rendered_version:
                self._changed.clear()
                continue
            final = self.state.done
            idle = not (self.state.answer or self.state.reasoning or self.state.activity or self._tasks_unsent())
            if not final and idle:
                self._changed.clear()
                continue
            # wait for the lane first, then render whatever is newest at that moment
            await self._acquire()
            self._changed.clear()
            final = self.state.done
            version = self.state.version
            delivered = await self._render(final)
            if delivered:
                rendered_version = version
            else:
                self._changed.set()  # try again with the newest snapshot
            if final and delivered:
                break

    def _view(self, index: int, phase: str, is_last: bool) -> ReplyView:
        return ReplyView(
            reply_id=self.reply_id,
            phase=phase,
            status=self.state.status,
            is_last=is_last,
            index=index,
            model=self.state.model,
            provider=self.state.provider,
            reasoning_seconds=self.state.reasoning_seconds,
            has_reasoning=bool(self.state.reasoning),
            conversation_id=self.conversation_id,
            tasks=tuple(self.state.tasks.values()),
        )

    def _tail(self, final: bool) -> str:
        """What follows the answer in the last message: typing indicator or final notice."""
        state = self.state
        if final:
            extra = "\n\n".join(n for n in (state.notice, *self.notes) if n)
            return ("\n\n" + extra if state.answer else extra) if extra else ""
        if self._native:
            return ""  # a native stream cannot take text back, so no indicator to remove later
        if state.activity:
            return ("\n\n" if state.answer else "") + state.activity + self.limits.typing_indicator
        if not state.answer and state.reasoning:
            return THINKING
        return self.limits.typing_indicator

    def _lane_for_next(self) -> Hashable:
        """The lane the next request is paced on: a new message goes on the sink's post lane if it has one."""
        if not self._open:
            return getattr(self.sink, "post_lane", None) or self.sink.lane
        return self.sink.lane

    async def _acquire(self) -> None:
        if self._open and not self.state.done and (delay := self.throttle.fair_delay(self.sink.lane)):
            # this answer's fair share of the shared budget; its end (the final text is urgent) cuts the wait
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._finished.wait(), delay)
        burst = self.limits.post_burst if not self._open else 1
        # an answer's first message and its final text go ahead of other answers' updates in the shared budget:
        # the one shows that an answer is coming, the other completes it (and nothing more is owed to it)
        if not self._refs or self.state.done:
            await self.throttle.acquire(self._lane_for_next(), self._bucket_for_next(), burst=burst, urgent=True)
            return
        # an update waiting in the queue turns into the final text if the answer ends meanwhile
        ordinary = asyncio.ensure_future(
            self.throttle.acquire(self._lane_for_next(), self._bucket_for_next(), burst=burst)
        )
        finished = asyncio.ensure_future(self._finished.wait())
        try:
            await asyncio.wait((ordinary, finished), return_when=asyncio.FIRST_COMPLETED)
        finally:
            finished.cancel()
            if not ordinary.done():
                ordinary.cancel()
            await asyncio.gather(ordinary, finished, return_exceptions=True)
        if ordinary.cancelled():
            await self.throttle.acquire(self._lane_for_next(), self._bucket_for_next(), burst=burst, urgent=True)
        else:
            ordinary.result()

    def _bucket_for_next(self):
        """The shared budget the next request draws on: none for a fresh post where posts have their own, nor
        for the call that ends a native stream where that call has its own (Slack: chat.stopStream)."""
        if not self._open and not self.limits.posts_use_bucket:
            return None
        if self._native and self._open and self.state.done and not self.limits.stops_use_bucket:
            return None
        return self.sink.bucket

    @property
    def _index(self) -> int:
        """The message being written now."""
        return len(self._refs) - 1 if self._open else len(self._refs)

    async def _render(self, final: bool) -> bool:
        """Bring the platform up to the current snapshot. False means try again."""
        limit = self.limits.max_chars
        tail = self._tail(final)
        body = self._carry + self.state.answer[self._pos :]
        while len(body) + len(tail) > limit:  # seal full messages first
            if self._at_last_message():
                break  # no more messages allowed: this one shows what fits, the file the rest
            room = limit if len(body) > limit else max(limit - len(tail), limit // 2)
            # text a native stream already shows cannot move to the next message
            min_cut = len(self._sent[-1]) if self._native and self._open else 0
            head, cut, reopen = split_first(body, room, min_cut=min_cut)
            if cut <= len(self._carry):
                break
            if not await self._deliver(self._index, head, seal=True, last=False):
                return False
            self._pos += cut - len(self._carry)
            self._carry = reopen
            body = self._carry + self.state.answer[self._pos :]
        if not final and self._rotation_due() is not None:
            rotated = await self._rotate(body)
            if rotated is None:
                return False
            body = rotated
        text = body + tail
        if len(text) > limit:  # only on the last message allowed (limits.max_messages)
            self._overflowed = True
            text = self._clipped(body, tail, final)
        if not text.strip() and not self._tasks_unsent():
            return True  # nothing to show yet (only whitespace so far)
        if not await self._deliver(self._index, text, seal=final, last=True):
            return False
        if final:
            await self._maybe_upload()
        return True

    def _tasks_unsent(self) -> bool:
        """Tool progress a native stream shows (as its own chunks) has changed since it was last sent."""
        return self._native and self.state.tasks_version != self._tasks_shown

    def _rotation_due(self) -> bool | None:
        """None: the native stream being written is not yet old enough to end early; else whether it must end now,
        wherever its text is (True), or at its next paragraph break (False)."""
        limits = self.limits
        if not (self._native and self._open and limits.stream_rotate_after) or self._at_last_message():
            return None
        age = self.throttle.clock.now() - self._opened_at
        if age < limits.stream_rotate_after:
            return None
        return age >= (limits.stream_max_age or limits.stream_rotate_after)

    async def _rotate(self, body: str) -> str | None:
        """End the native stream before it expires, at a paragraph break (closing a code fence open there), so
        the answer goes on in a new message. The body left for the new message; None: try again."""
        shown = len(self._sent[-1])
        split = rotation_cut(body, shown, force=bool(self._rotation_due()))
        if split is None or (split[1] <= len(self._carry) and not self._rotation_due()):
            return body  # no paragraph break past what the stream shows: wait for one (or for the deadline)
        head, cut, reopen = split
        if not await self._deliver(self._index, head, seal=True, last=False):
            return None
        self._pos += max(0, cut - len(self._carry))
        self._carry = reopen if cut >= len(self._carry) else self._carry[cut:]
        return self._carry + self.state.answer[self._pos :]

    def _at_last_message(self) -> bool:
        cap = self.limits.max_messages
        return bool(cap) and self._index >= cap - 1

    def _clipped(self, body: str, tail: str, final: bool) -> str:
        """The last message allowed, when the answer goes on past it: its beginning (code fences closed), a line
        saying the file has the rest (once the answer is done), and the tail."""
        marker = "\n\n" + NOTICE_IN_FILE if final else " …"
        room = max(0, self.limits.max_chars - len(tail) - len(marker) - 8)  # 8: a code fence closed by the preview
        return fence_safe_preview(body, room).rstrip() + marker + tail

    async def _deliver(self, index: int, text: str, *, seal: bool, last: bool) -> bool:
        """Post or update message `index`; `seal` means this is that message's last version.

        A sealing request (the one that finishes a message: Slack's chat.stopStream, a final edit) is one at a
        time for its message: the next attempt is sent only once the previous one has failed, and never before
        the Retry-After of its 429, whatever lane the message is paced on. `Undeliverable` is final: no retry."""
        final_answer = self.state.done and seal and last
        view = self._view(index, "done" if seal else "streaming", is_last=last)
        attempts = self.final_retries if seal else 1
        retry_at = 0.0  # a 429's Retry-After: the message's next attempt waits for it
        tasks_version = self.state.tasks_version  # what `view` shows of the tool calls
        for attempt in range(attempts):
            lane = self._lane_for_next()  # before sending: a post opens the message
            try:
                await self._send(index, text, view, seal)
                self.throttle.succeeded(lane)
                self._tasks_shown = tasks_version
                return True
            except RateLimited as exc:
                self.stats.rate_limited += 1
                # the lane of the request refused: once a new message is up (a stream started and stopped in one
                # go whose stop was refused), its retries are paced on the message's lane, no longer the post lane
                refused = self._lane_for_next()
                self.throttle.rate_limited_for(refused, exc.retry_after, self.sink.bucket, exc.scope_global)
                if self._native and index >= len(self._refs) and self.fallback is not None:
                    # the budget for new native streams is spent (Slack: ~20 starts a minute per workspace):
                    # this answer goes out by posts and edits now instead of queueing for a start
                    log.info("native stream refused for rate; answering with edits")
                    self._use_edit_path()
                    continue
                retry_at = self.throttle.clock.now() + exc.retry_after
            except Undeliverable:
                raise
            except StoppedByUser:
                # the person stopped it on the platform (Slack's native Stop): no more text goes in; the stream is
                # closed with what was written, marked stopped
                log.info("reply %s stopped on the platform", self.reply_id)
                self.stop()
                if not seal:
                    return False
            except StreamUnavailable as exc:
                log.info("native stream unavailable (%s); finishing with edits", exc)
                self._use_edit_path()
                if exc.ref is not None:
                    if index < len(self._refs):
                        self._refs[index] = exc.ref
                    else:
                        self._refs.append(exc.ref)
                        self._sent.append("")
                        self._open = True
                continue  # retry at once through the edit path
            except MessageGone:
                # someone deleted the message being written: go on in a fresh one
                if index < len(self._refs):
                    del self._refs[index:], self._sent[index:]
                    self._open = False
                index = self._index
            except Exception as exc:  # a platform 5xx or network error: skip a tick, retry a seal
                self.stats.failures += 1
                log.warning("platform request failed: %s", type(exc).__name__)
                if not seal:
                    return False
                await asyncio.sleep(min(0.25 * 2**attempt, 5.0))
            if attempt + 1 < attempts:
                if (wait := retry_at - self.throttle.clock.now()) > 0:
                    await self.throttle.clock.sleep(wait)
                await self._acquire()
        if seal:
            # the platform kept failing for minutes: the answer ends here, not delivered, rather than hold its
            # conversation (and a shutdown) forever
            log.error("gave up delivering reply %s (final=%s)", self.reply_id, final_answer)
            raise Undeliverable(f"gave up after {attempts} attempts")
        return False

    def _use_edit_path(self) -> None:
        """Finish with posts and edits: a native stream was refused, or its budget is spent."""
        self._native = False
        if self.fallback is not None:
            # edits count against the edit path's own budget (e.g. Slack's chat.update tier)
            self.throttle.leave(self.sink.bucket)
            self.throttle, self.limits = self.fallback
            self.throttle.join(self.sink.bucket)
            self._sharing = self.throttle
            self.fallback = None

    async def _send(self, index: int, text: str, view: ReplyView, seal: bool) -> None:
        sink = self.sink
        if index >= len(self._refs):
            if self._native:
                ref = await sink.stream_start(text, view)
                self._opened_at = self.throttle.clock.now()
                self._refs.append(ref)
                self._sent.append(text)
                self._open = True
                self.stats.appends += 1
            else:
                ref = await sink.post(text, view)
                self._refs.append(ref)
                self._sent.append(text)
                self._open = not seal
                self.stats.posts += 1
            # the next update waits its fair share from here, even if a new message spent no shared budget
            self.throttle.share_from_now(self.sink.lane, self.sink.bucket)
            self.stats.messages += 1
            if len(self._refs) == 1:
                await self._first_posted()
            if self._native and seal:  # started and finished at once; if the stop fails, it alone is retried
                await sink.stream_stop(ref, "", view)
                self._open = False
            return
        previous = self._sent[index]
        if self._native and self._open:
            delta = text[len(previous) :] if text.startswith(previous) else ""
            if seal:
                await sink.stream_stop(self._refs[index], delta, view)
            elif delta or self._tasks_unsent():
                await sink.stream_append(self._refs[index], delta, view)
            self.stats.appends += 1
        elif text != previous or seal:
            await sink.edit(self._refs[index], text, view)
            self.stats.edits += 1
        self._sent[index] = text
        if seal:
            self._open = False

    async def _first_posted(self) -> None:
        """Record where the answer went, beside the stream: a slow database must not hold up the next update
        (`run` waits for it before returning, so the final save still comes last)."""
        if self.on_first_message is None:
            return
        self._recording = asyncio.create_task(self._record_first(), name=f"reply-posted-{self.reply_id}")

    async def _record_first(self) -> None:
        assert self.on_first_message is not None
        try:
            await self.on_first_message(self.first_ref_id())
        except Exception as exc:  # never a reason to post the message again
            log.warning("could not record where the answer was posted: %s", type(exc).__name__)

    def first_ref_id(self) -> str:
        """The platform id of the first message of the answer ("" if nothing was posted)."""
        return self._ref_id(0)

    def last_ref_id(self) -> str:
        """The platform id of the answer's newest message, the one that carries its controls ("" if none).
        The core saves it with its checkpoints, so a restart can mark a cut answer where it stopped."""
        return self._ref_id(-1)

    def _ref_id(self, index: int) -> str:
        if not self._refs:
            return ""
        ref_id = getattr(self.sink, "ref_id", None)
        return ref_id(self._refs[index]) if ref_id else str(self._refs[index])

    async def _maybe_upload(self) -> None:
        every = self.limits.file_after_messages
        if not self.state.answer or not (self._overflowed or (every and len(self._refs) > every)):
            return
        try:
            await self.sink.upload("answer.md", self.state.answer, self._view(len(self._refs), "done", False))
        except Exception as exc:
            log.warning("could not upload the full answer: %s", type(exc).__name__)


def fence_safe_preview(text: str, limit: int) -> str:
    """A short preview that never leaves a code fence open (for titles, lists, notifications)."""
    preview = text[:limit]
    fence = open_fence_at_end(preview)
    return preview + ("\n" + fence.closing if fence else "")
