"""Compare: the same prompt answered by several models side by side, each in its own message.

A comparison is a one-off: it does not join the conversation's history (the next message there is
answered as if the comparison never happened) and is not stored as a conversation. Its tokens are
recorded as usage, so workspace limits and `/usage` see them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.errors import InvalidSetting
from core.streaming import ReplySink, ReplyState, ReplyView

MIN_MODELS, MAX_MODELS = 2, 4


@dataclass(slots=True)
class Compared:
    model: str
    state: ReplyState


SinkFactory = Callable[[str], ReplySink]


def check_models(models: list[str]) -> list[str]:
    """The distinct names, in order; 2 to 4 of them."""
    unique: list[str] = []
    for name in models:
        name = (name or "").strip()
        if name and name.lower() not in (u.lower() for u in unique):
            unique.append(name)
    if not MIN_MODELS <= len(unique) <= MAX_MODELS:
        raise InvalidSetting(f"Compare takes {MIN_MODELS} to {MAX_MODELS} different models; got {len(unique)}.")
    return unique


def header(model: str) -> str:
    return f"**{model}**\n"


class HeaderSink:
    """Wraps a sink so the first message of an answer starts with the model's name."""

    def __init__(self, sink: ReplySink, model: str):
        self._sink = sink
        self._header = header(model)
        self.limits = dataclasses.replace(sink.limits, max_chars=sink.limits.max_chars - len(self._header))
        self.lane = sink.lane
        self.bucket = sink.bucket
        fallback = getattr(sink, "fallback_limits", None)
        if fallback is not None:
            self.fallback_limits = dataclasses.replace(fallback, max_chars=fallback.max_chars - len(self._header))

    def _text(self, text: str, view: ReplyView) -> str:
        return self._header + text if view.index == 0 else text

    async def post(self, text: str, view: ReplyView) -> Any:
        return await self._sink.post(self._text(text, view), view)

    async def edit(self, ref: Any, text: str, view: ReplyView) -> None:
        await self._sink.edit(ref, self._text(text, view), view)

    async def upload(self, filename: str, content: str, view: ReplyView) -> None:
        await self._sink.upload(filename, content, view)

    def ref_id(self, ref: Any) -> str:
        return self._sink.ref_id(ref)

    async def stream_start(self, text: str, view: ReplyView) -> Any:
        return await self._sink.stream_start(self._text(text, view), view)

    async def stream_append(self, ref: Any, delta: str, view: ReplyView) -> None:
        await self._sink.stream_append(ref, delta, view)

    async def stream_stop(self, ref: Any, delta: str, view: ReplyView) -> None:
        await self._sink.stream_stop(ref, delta, view)
