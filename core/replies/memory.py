"""Memory in an answer: the proposal tool for a person who turned memory on, shown by each front end its own way.

A front end shows a proposal ("Remember this?" with Keep / Don't) through its sink's optional `propose(proposal)`, or
a renderer registered for its platform (`show_with`) when its sinks are not its own to change; with neither, or a sink
whose `propose` is None (it has no room for one), the tool is not offered. The answer goes on without waiting: the
person decides later (core.memory.MemoryService.decide).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from core.keys import Actor, ConversationKey
from core.memory import MemoryService, Proposal
from core.streaming import ReplySink
from core.tools.base import Tool
from core.tools.remember import remember_tool

log = logging.getLogger(__name__)

Renderer = Callable[[ReplySink, Proposal], Awaitable[None]]
_NOT_SAID = object()


class MemoryProposals:
    def __init__(self, memory: MemoryService):
        self.memory = memory
        self._renderers: dict[str, Renderer] = {}

    def show_with(self, platform: str, renderer: Renderer) -> None:
        """How `platform` shows a proposal when its sinks have no `propose` of their own."""
        self._renderers[platform] = renderer

    def tool_for(self, key: ConversationKey, actor: Actor, sink: ReplySink) -> Tool | None:
        """The proposal tool for one answer for `actor`, or None where the front end cannot show a proposal (the
        caller offers it only while memory is on for them)."""
        show = getattr(sink, "propose", _NOT_SAID)  # optional sink member; None: this sink cannot show one
        if show is None:
            return None
        if show is _NOT_SAID:
            renderer = self._renderers.get(key.platform)
            if renderer is None:
                return None
            show = lambda proposal: renderer(sink, proposal)  # noqa: E731

        async def suggest(fact: str) -> None:
            proposal = self.memory.propose(actor, key, fact)
            await show(proposal)

        return remember_tool(suggest)
