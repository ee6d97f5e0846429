"""Other bots' messages: ignored unless ALLOW_BOTS says otherwise, and never answered forever."""

from __future__ import annotations

import pytest

from core.conversations.routing import BOT_TURNS, BOT_WINDOW, IncomingMessage


def message(n: int, **fields) -> IncomingMessage:
    return IncomingMessage("test", "W1", "C1", f"M{n}", **fields)


@pytest.fixture
def routing(core):
    return core.chat.routing


async def test_by_default_bots_are_ignored_even_when_they_mention_the_bot(routing):
    assert routing.allow_bots == "none"
    route = await routing.route(message(1, from_bot=True, mentioned=True))
    assert not route.answer


async def test_mentions_answers_a_bot_only_when_it_mentions_the_bot(routing):
    routing.allow_bots = "mentions"
    assert not (await routing.route(message(1, from_bot=True))).answer
    assert (await routing.route(message(2, from_bot=True, mentioned=True))).answer


async def test_all_answers_a_bot_like_a_person(routing):
    routing.allow_bots = "all"
    assert not (await routing.route(message(1, from_bot=True))).answer  # like a person: unaddressed, ignored
    assert (await routing.route(message(2, from_bot=True, is_dm=True))).answer


async def test_bots_get_a_few_answers_per_channel_until_a_person_writes(routing):
    now = [1000.0]
    routing.clock = lambda: now[0]
    routing.allow_bots = "mentions"
    answered = [(await routing.route(message(n, from_bot=True, mentioned=True))).answer for n in range(10)]
    assert answered == [True] * BOT_TURNS + [False] * (10 - BOT_TURNS)
    other_channel = IncomingMessage("test", "W1", "C2", "X", from_bot=True, mentioned=True)
    assert (await routing.route(other_channel)).answer  # counted per channel
    await routing.route(message(20, mentioned=False))  # a person writes in C1 (not even to the bot)
    assert (await routing.route(message(21, from_bot=True, mentioned=True))).answer
    for n in range(22, 30):
        await routing.route(message(n, from_bot=True, mentioned=True))
    assert not (await routing.route(message(30, from_bot=True, mentioned=True))).answer
    now[0] += BOT_WINDOW + 1  # quiet for a while: they may talk again
    assert (await routing.route(message(31, from_bot=True, mentioned=True))).answer


async def test_allow_bots_is_a_setting(core_factory, fake_router):
    core = await core_factory(fake_router.url, allow_bots="mentions")
    assert core.chat.routing.allow_bots == "mentions"
