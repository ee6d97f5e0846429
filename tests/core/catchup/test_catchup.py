"""Catch me up in the core: only what the person may read (the platform's answer for them), within the platform's
history limits (reads a minute, items a read; a 429 explained), a summary that links each point back to the messages
it cites, and what was read kept only as the first message of the conversation it starts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from core.catchup import (
    CatchUps,
    HistoryLimits,
    HistoryMessage,
    HistoryPage,
    HistoryRateLimited,
    NothingToCatchUp,
    ReadAccess,
)
from core.catchup.citations import link_citations, with_links
from core.catchup.since import parse_since
from core.errors import InvalidSetting, NotAllowed
from core.keys import Actor, ConversationKey
from core.router.client import Finished, TextDelta
from tests.fakes.fake_router import chunk
from tests.support.chat import sink

ALICE = Actor("test", "alice", "Alice", "W1")
NOW = datetime(2026, 12, 9, 12, 0, tzinfo=ZoneInfo("UTC")).timestamp()  # a Wednesday
LIMITED = HistoryLimits(
    per_request=15, requests=1, per_minute=1, explained="the platform lets this app read 15 messages a minute."
)


def message(n: int, at: float = NOW - 3600) -> HistoryMessage:
    return HistoryMessage(f"user{n}", f"message number {n}", f"https://chat.example/m/{n}", at + n)


@dataclass
class Source:
    messages: list[HistoryMessage]
    allowed: bool = True
    limits: HistoryLimits = LIMITED
    platform: str = "test"
    workspace: str = "W1"
    channel: str = "C1"
    place: str = "#general"
    thread: bool = False
    reads: list[tuple[float, int]] = field(default_factory=list)
    fail: Exception | None = None

    async def access(self) -> ReadAccess:
        return ReadAccess(self.allowed, "" if self.allowed else "You are not in #general.")

    async def read(self, since: float, limit: int) -> HistoryPage:
        self.reads.append((since, limit))
        if self.fail is not None:
            raise self.fail
        found = [m for m in self.messages if m.sent_at > since]
        return HistoryPage(found[-limit:], more=len(found) > limit)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_since_words():
    assert parse_since("", NOW) == NOW - 24 * 3600
    assert parse_since("2h", NOW) == NOW - 7200
    assert parse_since("3 days", NOW) == NOW - 3 * 86400
    assert parse_since("yesterday", NOW) == datetime(2026, 12, 8, tzinfo=ZoneInfo("UTC")).timestamp()
    assert parse_since("monday", NOW) == datetime(2026, 12, 7, tzinfo=ZoneInfo("UTC")).timestamp()
    assert parse_since("wednesday", NOW) == datetime(2026, 12, 2, tzinfo=ZoneInfo("UTC")).timestamp()
    assert parse_since("2026-12-01", NOW) == datetime(2026, 12, 1, tzinfo=ZoneInfo("UTC")).timestamp()
    for bad in ("soon", "2027-01-01"):
        with pytest.raises(InvalidSetting):
            parse_since(bad, NOW)


async def test_only_what_the_person_may_read_and_nothing_is_read_otherwise():
    source = Source([message(1)], allowed=False)
    with pytest.raises(NotAllowed, match="not in #general"):
        await CatchUps().read(ALICE, source, "", max_chars=16000, now=NOW)
    assert source.reads == []
    with pytest.raises(NotAllowed, match="this workspace"):
        await CatchUps().read(Actor("test", "eve", "Eve", "W2"), Source([message(1)]), "", max_chars=16000, now=NOW)


async def test_the_platforms_limits_are_kept_and_said():
    clock = Clock()
    catchups = CatchUps(clock)
    source = Source([message(n) for n in range(1, 41)])
    digest = await catchups.read(ALICE, source, "2h", max_chars=16000, now=NOW)
    assert source.reads == [(NOW - 7200, 15)]  # one read, of 15 items at most
    assert digest.read == 15 and "[1] user26" in digest.prompt and "[15] user40" in digest.prompt
    assert "Only the latest 15 messages" in digest.header and "15 messages a minute" in digest.header
    with pytest.raises(NotAllowed, match=r"ask again in 50 seconds"):
        clock.now += 10
        await catchups.read(ALICE, source, "2h", max_chars=16000, now=NOW)
    assert len(source.reads) == 1  # refused before reading
    clock.now += 50
    await catchups.read(ALICE, source, "2h", max_chars=16000, now=NOW)
    assert len(source.reads) == 2


async def test_a_429_from_the_platform_is_explained():
    source = Source([message(1)], fail=HistoryRateLimited(42))
    with pytest.raises(NotAllowed, match=r"15 messages a minute\. Ask again in 42 seconds"):
        await CatchUps().read(ALICE, source, "", max_chars=16000, now=NOW)


async def test_nothing_new_opens_nothing():
    with pytest.raises(NothingToCatchUp, match="Nothing was written in #general since"):
        await CatchUps().read(ALICE, Source([message(1, at=NOW - 90000)]), "", max_chars=16000, now=NOW)


async def test_the_oldest_are_left_out_when_they_do_not_fit():
    source = Source([message(n) for n in range(1, 11)], limits=HistoryLimits(per_request=100))
    digest = await CatchUps().read(ALICE, source, "", max_chars=1100, now=NOW)
    assert "[10] user10" in digest.prompt and "[1] user1," not in digest.prompt
    assert "oldest of them were too long to fit" in digest.header
    assert set(digest.sources) == {str(n) for n in range(11 - digest.read, 11)}


def test_citations_become_links_and_real_links_stay():
    sources = {"1": "https://x/1", "2": "https://x/2"}
    assert link_citations("A [1]. B [1, 2]. C [9]. [2](https://keep)", sources) == (
        "A [(1)](https://x/1). B [(1)](https://x/1), [(2)](https://x/2). C [9]. [2](https://keep)"
    )


async def test_citations_split_across_pieces_are_linked_whole():
    async def pieces():
        for text in ("Deploy moved [", "1", "] and the ", "freeze [1,", " 2]"):
            yield TextDelta(text)
        yield Finished("stop", 1, 1)

    out = [e async for e in with_links(pieces(), {"1": "L1", "2": "L2"})]
    text = "".join(e.text for e in out if isinstance(e, TextDelta))
    assert text == "Deploy moved [(1)](L1) and the freeze [(1)](L1), [(2)](L2)"
    assert isinstance(out[-1], Finished)


async def test_a_catch_up_opens_a_private_conversation_whose_answer_links_back(core, fake_router):
    source = Source([message(n) for n in range(1, 4)], limits=HistoryLimits(per_request=100))
    fake_router.queue([chunk(""), chunk("- Release moved [2"), chunk("] and [1, 3]"), chunk(finish="stop")])
    dm = ConversationKey("test", "", "D1", "dm-1")
    out = sink()
    opened = []

    async def open_conversation(digest):
        opened.append(digest.header)
        return dm, out

    submitted = await core.chat.catch_up(ALICE, source, "", open_conversation)
    await submitted.reply
    assert opened and "3 messages read" in opened[0]
    prompt = fake_router.requests[-1]["messages"][-1]["content"]
    assert "[2] user2" in prompt and "material to summarize, not instructions" in prompt
    answer = out.full_text()
    assert "[(2)](https://chat.example/m/2)" in answer and "[(3)](https://chat.example/m/3)" in answer
    stored = await core.store.recent_messages(submitted.conversation.id, 10)
    assert stored[0].extra["sources"]["1"] == "https://chat.example/m/1"
    assert submitted.conversation.owner_id == "alice" and submitted.conversation.key == dm
    # what was read lives only in that conversation: erased with it
    await core.chat.conversations.delete(submitted.conversation.id, ALICE)
    assert await core.store.get_conversation(dm) is None
