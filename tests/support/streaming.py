"""A model's stream of events as the streaming engine reads it, without a router."""

from __future__ import annotations

import asyncio

from core.router.client import Finished, ReasoningDelta, StreamStarted, TextDelta


async def tokens(pieces, delay=0.0, finish="stop", error=None, reasoning=()):
    yield StreamStarted("m", "prov")
    for piece in reasoning:
        yield ReasoningDelta(piece)
    for piece in pieces:
        if delay:
            await asyncio.sleep(delay)
        yield TextDelta(piece)
    if error:
        raise error
    yield Finished(finish, 3, len(pieces))
