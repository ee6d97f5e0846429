"""An in-memory reply sink that records every platform call: core tests without a platform."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from core.streaming import MessageGone, PlatformLimits, RateLimited, ReplyView, StreamUnavailable


@dataclass
class Call:
    kind: str  # post | edit | upload | start | append | stop
    ref: int
    text: str
    view: ReplyView | None
    at: float = field(default_factory=time.monotonic)


class RecordingSink:
    """Behaves like a platform: message ids, edits, optional 429s and native streaming."""

    def __init__(
        self, limits: PlatformLimits | None = None, lane: Any = "lane", bucket: Any = None, delay: float = 0.0
    ):
        self.limits = limits or PlatformLimits(max_chars=2000, edit_interval=0.01)
        self.lane = lane
        self.bucket = bucket
        self.delay = delay
        self.calls: list[Call] = []
        self.messages: dict[int, str] = {}
        self.fail_next: list[BaseException] = []  # raised by the next calls, in order
        self.native_fail_after: int | None = None  # appends before the stream "expires"
        self._next = 1
        self._streaming: set[int] = set()

    async def _maybe_fail(self) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_next:
            raise self.fail_next.pop(0)

    async def post(self, text: str, view: ReplyView) -> int:
        await self._maybe_fail()
        ref = self._next
        self._next += 1
        self.messages[ref] = text
        self.calls.append(Call("post", ref, text, view))
        return ref

    async def edit(self, ref: int, text: str, view: ReplyView) -> None:
        await self._maybe_fail()
        if ref not in self.messages:
            raise MessageGone()
        self.messages[ref] = text
        self._streaming.discard(ref)
        self.calls.append(Call("edit", ref, text, view))

    async def upload(self, filename: str, content: str, view: ReplyView) -> None:
        self.calls.append(Call("upload", 0, content, view))

    def ref_id(self, ref: int) -> str:
        return f"m{ref}"

    async def stream_start(self, text: str, view: ReplyView) -> int:
        await self._maybe_fail()
        ref = self._next
        self._next += 1
        self.messages[ref] = text
        self._streaming.add(ref)
        self.calls.append(Call("start", ref, text, view))
        return ref

    async def stream_append(self, ref: int, delta: str, view: ReplyView) -> None:
        await self._maybe_fail()
        appends = sum(1 for c in self.calls if c.kind == "append" and c.ref == ref)
        if self.native_fail_after is not None and appends >= self.native_fail_after:
            self._streaming.discard(ref)
            raise StreamUnavailable("message_not_in_streaming_state", ref=ref)
        self.messages[ref] += delta
        self.calls.append(Call("append", ref, delta, view))

    async def stream_stop(self, ref: int, delta: str, view: ReplyView) -> None:
        await self._maybe_fail()
        if ref not in self._streaming:
            raise StreamUnavailable("message_not_in_streaming_state", ref=ref)
        self.messages[ref] += delta
        self._streaming.discard(ref)
        self.calls.append(Call("stop", ref, delta, view))

    # helpers for assertions
    def texts(self) -> list[str]:
        return [self.messages[ref] for ref in sorted(self.messages)]

    def full_text(self) -> str:
        return "\n".join(self.texts())

    def count(self, kind: str) -> int:
        return sum(1 for call in self.calls if call.kind == kind)


def rate_limited(seconds: float) -> RateLimited:
    return RateLimited(seconds)
