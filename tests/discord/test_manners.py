"""Manners: other bots are ignored unless ALLOW_BOTS says otherwise, and two bots that mention each other cannot talk
forever; a thread is renamed once, and a rename refused with a 429 is never retried."""

from __future__ import annotations

import asyncio

import pytest

from core.conversations.routing import BOT_TURNS
from tests.fakes.discord import FakeDiscord, running_client
from tests.fakes.fake_router import text_script
from tests.support.discord import make_bot, open_threads


async def talk_with_another_bot(fake: FakeDiscord, rounds: int = 10) -> int:
    """Another bot mentions ours at the top of #general, then answers every answer of ours in its thread with a
    mention (the worst kind of bot); returns how many answers ours wrote."""
    other = fake.add_user("EchoBot", bot=True)
    fake.add_member(fake.default_guild, other)
    mine = fake.bot_user["id"]
    channel = fake.default_channel["id"]
    first = await fake.message_create(channel, other, f"<@{mine}> hello, fellow bot")
    answered = 0
    for _ in range(rounds):
        try:
            await fake.wait_until(lambda seen=answered: ours(fake) > seen, within=2.0)
        except TimeoutError:
            break
        answered = ours(fake)
        await asyncio.sleep(0.1)  # let the answer finish
        thread = next((t for t in fake.threads(channel) if t["id"] == first["id"]), None)
        where = thread["id"] if thread else channel
        await fake.message_create(where, other, f"<@{mine}> and what do you think?")
    return ours(fake)


def ours(fake: FakeDiscord) -> int:
    mine = fake.bot_user["id"]
    return sum(
        1
        for channel in list(fake.channels)
        for m in fake.channel_messages(channel)
        if m.author_id == mine and not m.content.endswith("▌")
    )


@pytest.mark.parametrize(("allow", "expected"), [("none", 0), ("mentions", BOT_TURNS)])
async def test_two_bots_mentioning_each_other_do_not_loop(core_factory, fake_router, allow, expected):
    core = await core_factory(fake_router.url, allow_bots=allow, auto_titles=False)
    for _ in range(20):
        fake_router.queue(text_script("Hello, other bot!"))
    async with FakeDiscord() as fake:
        async with running_client(fake, make_bot(core)):
            answers = await talk_with_another_bot(fake)
            await core.chat.replies.wait_idle()
        assert answers == expected
        fake.assert_clean()


async def test_a_thread_is_renamed_once_and_a_refused_rename_is_not_retried(core_factory, fake_router):
    core = await core_factory(fake_router.url, auto_titles=True)
    fake_router.queue(text_script("Paris."))
    fake_router.queue(text_script("Capital of France"))
    fake_router.queue(text_script("About two million."))
    async with FakeDiscord() as fake:
        [thread] = await open_threads(fake, core, 1)
        rename = ("PATCH", "/channels/{channel_id}")
        async with running_client(fake, make_bot(core)):
            fake.inject_429(*rename, retry_after=1.0)  # discord.py alone would wait a second and try again
            await fake.message_create(thread["id"], fake.default_user, "Capital of France?")
            await fake.wait_until(lambda: bool(fake.requests_for(*rename)))
            await core.chat.replies.wait_idle()
            await asyncio.sleep(1.5)
            await fake.message_create(thread["id"], fake.default_user, "Population?")
            await fake.wait_until(lambda: any("two million" in m.content for m in fake.channel_messages(thread["id"])))
            await core.chat.replies.wait_idle()
        renames = [r for r in fake.requests_for(*rename) if r.params["channel_id"] == thread["id"]]
        assert len(renames) == 1 and renames[0].status == 429
        fake.assert_clean()
