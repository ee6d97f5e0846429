"""What a front end tells the core about a channel or thread someone asks to be caught up on: whether that person may
read it (the platform's own answer, for them, not for the bot), how much history the platform lets the bot read, and
the messages themselves."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class HistoryMessage:
    author: str
    text: str
    link: str  # where the message is on the platform: the summary links back to it
    sent_at: float  # epoch seconds
    files: tuple[str, ...] = ()
    replies: int = 0  # replies in its thread (not read: a thread is summarized on its own)


@dataclass(frozen=True, slots=True)
class HistoryLimits:
    """How much history the platform lets the bot read for one catch-up."""

    per_request: int  # messages one read returns at most
    requests: int = 1  # reads one catch-up makes at most
    per_minute: int | None = None  # reads a minute the platform allows, per workspace (None: no such limit)
    explained: str = ""  # the limit in words, said in the answer when it cut the reading short


@dataclass(frozen=True, slots=True)
class ReadAccess:
    """Whether the person asking may read the place, as the platform says (their permissions, their membership)."""

    allowed: bool
    why_not: str = ""


@dataclass(slots=True)
class HistoryPage:
    messages: list[HistoryMessage] = field(default_factory=list)  # oldest first
    more: bool = False  # the window holds older messages than these: the limits left them unread


class HistoryRateLimited(Exception):
    """The platform answered 429 to a history read."""

    def __init__(self, retry_after: float):
        super().__init__(f"rate limited for {retry_after:.0f}s")
        self.retry_after = retry_after


class HistorySource(Protocol):
    platform: str
    workspace: str
    channel: str  # the channel (a thread's parent)
    place: str  # how people name it: "#general", "the thread “Release plan”"
    thread: bool  # a thread rather than a channel
    limits: HistoryLimits

    async def access(self) -> ReadAccess:
        """May the person who asked read it? Their access, never the bot's."""
        ...

    async def read(self, since: float, limit: int) -> HistoryPage:
        """The newest `limit` messages after `since` (epoch seconds), oldest first, within `limits`."""
        ...
