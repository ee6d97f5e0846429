"""A thread whose conversation was erased starts fresh: Slack still shows what it held, and the bot never adopts
it again (not after a restart either), whichever way it was erased. Adopting someone else's thread sends the
bot's own earlier messages there as its answers, not as a user's lines."""

from __future__ import annotations

import contextlib

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from core.app import purge_expired
from core.keys import ConversationKey
from tests.fakes.fake_router import text_script
from tests.fakes.slack import FakeSlack
from tests.support.slack import ADMIN, ALICE, BOB, CHANNEL, running_bot, visible
from tests.support.stores import sqlite_files_holding

CANARY = "CANARY-erased-thread-7c1f"
WAYS = ["mention", "slash_command", "shortcut", "button", "delete_all", "retention"]


def _sent(router) -> list[tuple[str, str]]:
    """The last router request's turns, without the system prompt."""
    return [(m["role"], m["content"]) for m in router.requests[-1]["messages"] if m["role"] != "system"]


async def _erase(bot, way: str, thread_ts: str) -> None:
    fake = bot.fake
    if way == "mention":
        await fake.user_posts("delete", channel=CHANNEL, thread_ts=thread_ts, user=ALICE)
        await bot.settle()
    elif way == "slash_command":
        link = f"https://{fake.team_domain}.slack.com/archives/{CHANNEL}/p{thread_ts.replace('.', '')}"
        await bot.command("/delete", f"<{link}>", user=ALICE, channel=CHANNEL)
    elif way == "shortcut":
        await bot.interact(
            fake.build_message_action(
                channel=CHANNEL, message_ts=thread_ts, callback_id="delete_conversation", user=ALICE
            )
        )
    elif way == "button":
        answer = bot.answers(CHANNEL, thread_ts)[0]
        value = next(
            e["value"]
            for b in answer.blocks
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == "hfchat_delete"
        )
        await bot.interact(
            fake.build_block_actions(
                action_id="hfchat_delete", value=value, channel=CHANNEL, message_ts=answer.ts, user=ALICE
            )
        )
    elif way == "delete_all":
        await bot.command("/delete", "all", user=ALICE)
        await bot.interact(fake.build_block_actions(action_id="hfchat_delete_all_confirm", value="all", user=ALICE))
    elif way == "retention":
        assert await purge_expired(bot.core.store, days=1, now=10**10) == 1
    key = ConversationKey("slack", fake.team_id, CHANNEL, thread_ts)
    assert await bot.core.chat.conversations.for_key(key) is None, "the conversation should be erased"


@contextlib.asynccontextmanager
async def _slack():
    async with FakeSlack(echo_events=True) as fake:
        fake.add_user(BOB, "bob")
        fake.add_user(ADMIN, "boss", is_admin=True)
        yield fake


async def _converse(bot) -> str:
    """A thread with a question and an answer that both carry the canary; returns the thread's ts."""
    bot.router.queue(text_script(f"The code word {CANARY} is noted."))
    post = await bot.fake.user_posts(f"please remember {CANARY}", channel=CHANNEL, user=ALICE)
    await bot.settle()
    assert CANARY in visible(bot.answers(CHANNEL, post.ts)[0])
    return post.ts


@pytest.mark.parametrize("way", WAYS)
async def test_after_an_erasure_the_next_mention_starts_fresh(core_factory, fake_router, tmp_path, way):
    async with _slack() as fake, running_bot(core_factory, fake_router, fake) as bot:
        thread_ts = await _converse(bot)
        await _erase(bot, way, thread_ts)
        assert sqlite_files_holding(tmp_path, CANARY) == []

        bot.router.queue(text_script("Fresh start."))
        await fake.user_posts("what did I ask you to remember?", channel=CHANNEL, thread_ts=thread_ts, user=ALICE)
        await bot.settle()

        assert _sent(bot.router) == [("user", "what did I ask you to remember?")]
        assert visible(bot.answers(CHANNEL, thread_ts)[-1]) == "Fresh start."
        assert sqlite_files_holding(tmp_path, CANARY) == []


@pytest.mark.parametrize("way", ["mention", "retention"])
async def test_an_erased_thread_stays_fresh_after_a_restart(core_factory, fake_router, tmp_path, way):
    async with _slack() as fake:
        async with running_bot(core_factory, fake_router, fake) as bot:
            thread_ts = await _converse(bot)
            await _erase(bot, way, thread_ts)
        await bot.core.close()
        assert sqlite_files_holding(tmp_path, CANARY) == []

        async with running_bot(core_factory, fake_router, fake) as bot:
            bot.router.queue(text_script("Fresh after the restart."))
            await fake.user_posts("and now?", channel=CHANNEL, thread_ts=thread_ts, user=ALICE)
            await bot.settle()
            assert _sent(bot.router) == [("user", "and now?")]
            assert sqlite_files_holding(tmp_path, CANARY) == []


async def test_what_the_thread_gets_after_the_erasure_is_adopted(core_factory, fake_router, tmp_path):
    async with _slack() as fake, running_bot(core_factory, fake_router, fake) as bot:
        thread_ts = await _converse(bot)
        await _erase(bot, "slash_command", thread_ts)
        fake.add_user_message("Let's pick a new word: lantern.", channel=CHANNEL, thread_ts=thread_ts, user=BOB)
        bot.router.queue(text_script("Lantern it is."))
        await fake.user_posts("ok?", channel=CHANNEL, thread_ts=thread_ts, user=ALICE)
        await bot.settle()
        assert _sent(bot.router) == [("user", "bob: Let's pick a new word: lantern.\n\nalice: ok?")]


async def test_the_bots_own_messages_in_an_adopted_thread_are_its_answers(bot):
    root = bot.fake.add_user_message("Which database should we use?", channel=CHANNEL, user=BOB)
    # the bot spoke in this thread without keeping a conversation there (e.g. a /compare answer)
    as_bot = AsyncWebClient(token=bot.fake.bot_token, base_url=bot.fake.api_url)
    await as_bot.chat_postMessage(channel=CHANNEL, thread_ts=root.ts, text="PostgreSQL, for several processes.")
    bot.router.queue(text_script("SQLite for one."))
    await bot.fake.user_posts("and for one process?", channel=CHANNEL, thread_ts=root.ts, user=ALICE)
    await bot.settle()
    assert _sent(bot.router) == [
        ("user", "bob: Which database should we use?"),
        ("assistant", "PostgreSQL, for several processes."),
        ("user", "alice: and for one process?"),
    ]
