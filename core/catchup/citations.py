"""Links back to what a summary read: the model cites the messages it was given as `[3]` (or `[3, 5]`), and each
citation becomes a link to that message as the answer streams. The links are kept with the person's message (its
`extra["sources"]`), so later answers in the conversation link the same way, and go when it is erased."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from core.router.client import Finished, TextDelta

CITATION = re.compile(r"\[(\d{1,4}(?:\s*,\s*\d{1,4})*)\](?!\()")
_OPEN_TAIL = re.compile(r"\[[\d,\s]*\]?$")  # a citation that may go on in the next piece of text


def sources_of(history) -> dict[str, str]:
    """Every source link the conversation's messages keep: {number: link}."""
    found: dict[str, str] = {}
    for message in history:
        found.update(message.extra.get("sources") or {})
    return found


def link_citations(text: str, sources: dict[str, str]) -> str:
    def linked(match: re.Match[str]) -> str:
        numbers = [n.strip() for n in match.group(1).split(",")]
        if not all(n in sources for n in numbers):
            return match.group(0)
        return ", ".join(f"[({n})]({sources[n]})" for n in numbers)

    return CITATION.sub(linked, text)


async def with_links(events: AsyncIterator, sources: dict[str, str]) -> AsyncIterator:
    """The answer's events with its citations linked; a citation split across two pieces is held until whole."""
    held = ""
    async for event in events:
        if isinstance(event, TextDelta):
            text = held + event.text
            tail = _OPEN_TAIL.search(text[-16:])
            cut = len(text) - len(tail.group(0)) if tail else len(text)
            held = text[cut:]
            if cut:
                yield TextDelta(link_citations(text[:cut], sources))
            continue
        if isinstance(event, Finished) and held:
            yield TextDelta(link_citations(held, sources))
            held = ""
        yield event
    if held:
        yield TextDelta(link_citations(held, sources))
