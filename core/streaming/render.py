"""The engine's renderer: whenever the answer's lane allows, bring the platform up to the newest snapshot. Full
messages are sealed at paragraph boundaries (`core.streaming.splitting`), a native stream is ended before it expires
and the answer goes on in a new message (rotation), and the last message allowed shows what fits while a file
carries the rest. Mixed into `ReplyStream` (core/streaming/engine.py), which holds the state used here; sending
each message is `core/streaming/delivery.py`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Hashable

from core.streaming.sink import ReplyView
from core.streaming.splitting import open_fence_at_end, rotation_cut, split_first
from core.streaming.state import NOTICE_IN_FILE, THINKING


class Rendering:
    """Mixed into `ReplyStream`."""

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


def fence_safe_preview(text: str, limit: int) -> str:
    """A short preview that never leaves a code fence open (for titles, lists, notifications)."""
    preview = text[:limit]
    fence = open_fence_at_end(preview)
    return preview + ("\n" + fence.closing if fence else "")
