"""The console's ReplySink: an answer grows in place on the screen, as Markdown."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bots.console.screen import Block, Screen
from core.memory import Proposal
from core.replies.clarify import Question
from core.streaming import PlatformLimits, ReplyView


def footer(view: ReplyView) -> str:
    parts = [view.model]
    if view.provider:
        parts.append(f"via {view.provider}")
    if view.reasoning_seconds:
        parts.append(f"thought for {view.reasoning_seconds:.0f} s")
    return " · ".join(p for p in parts if p)


class ConsoleSink:
    # 12 frames a second: smooth to the eye, and a long answer's Markdown is not re-rendered needlessly
    limits = PlatformLimits(max_chars=1_000_000, edit_interval=1 / 12, file_after_messages=0)
    bucket = None

    def __init__(
        self,
        screen: Screen,
        ask: Callable[[Question], Awaitable[None]] | None = None,
        propose: Callable[[Proposal], Awaitable[None]] | None = None,
    ):
        self.screen = screen
        self.lane = ("console", id(screen))
        self._block: Block | None = None
        self.final_text = ""
        if ask is not None:  # the core asks clarifying questions through a sink's `ask`, where it has one
            self.ask = ask
        if propose is not None:  # and shows memory suggestions through its `propose` (core.replies.memory)
            self.propose = propose

    async def post(self, text: str, view: ReplyView) -> Any:
        self._block = self.screen.block()
        await self.edit(None, text, view)
        return id(self._block)

    async def edit(self, ref: Any, text: str, view: ReplyView) -> None:
        if self._block is None:
            return
        if view.phase != "done":
            self._block.update(text)
            return
        self.final_text = text
        self._block.finish(text, footer(view) if view.is_last else "")
        self._block = None

    async def upload(self, filename: str, content: str, view: ReplyView) -> None:
        return None

    def ref_id(self, ref: Any) -> str:
        return ""
