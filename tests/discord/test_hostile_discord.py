"""Hostile input through the Discord adapter over the real protocol (loopback fake REST + gateway):
empty, huge and odd messages, pings in prompts and in model output, other bots, unknown commands,
odd model names and malformed gateway payloads. Nothing crashes, nothing pings, nothing stored is lost."""

from __future__ import annotations

import asyncio

import pytest

from bots.discord.app import build_bot
from core.keys import ConversationKey
from core.records import Scope
from core.streaming import PlatformLimits
from tests.fakes.discord import FakeDiscord, running_client
from tests.fakes.fake_router import text_script

FAST = PlatformLimits(max_chars=2000, edit_interval=0.05, bucket_rate=200.0, bucket_burst=50)
PINGS = "@everyone @here <@&123456789012345678> <@111111111111111111>"
WRITES = ("POST", "PATCH")
RATES = {
    ("POST", "/channels/{channel_id}/messages"): (50, 1.0),
    ("PATCH", "/channels/{channel_id}/messages/{message_id}"): (50, 1.0),
}
ODD_MODELS = ["../../etc/passwd", "a" * 200, "<@&123456789012345678>", "\u202egpt", "'; DROP TABLE settings; --"]


pytestmark = pytest.mark.usefixtures("no_proxy")


def _message_writes(fake: FakeDiscord) -> list:
    return [
        r
        for r in fake.requests
        if r.method in WRITES
        and ("/messages" in r.route or "/callback" in r.route or "/webhooks/" in r.route)
        and isinstance(r.json, dict)
        and ("content" in r.json or "data" in r.json)
    ]


def _assert_no_pings(fake: FakeDiscord) -> None:
    writes = _message_writes(fake)
    assert writes
    for request in writes:
        body = request.json.get("data", request.json) if request.json.get("type") else request.json
        assert body.get("allowed_mentions") == {"parse": []}, (request.route, body)


async def _stored(core, key: ConversationKey) -> list[tuple[str, str]]:
    conversation = await core.store.get_conversation(key)
    return [(m.role, m.content) for m in await core.store.recent_messages(conversation.id, 100)] if conversation else []


async def test_hostile_messages_in_a_thread(core_factory, fake_router):
    core = await core_factory(fake_router.url, max_prompt_chars=1500)
    async with FakeDiscord(rate_limits=RATES) as fake:
        alice = fake.default_user
        other_bot = fake.add_user("otherbot", bot=True)
        fake.add_member(fake.default_guild, other_bot)
        thread = fake.add_thread(fake.default_channel, "hostile")
        key = ConversationKey("discord", fake.default_guild["id"], fake.default_channel["id"], thread["id"])
        await core.store.create_conversation(key, alice["id"], "hostile")
        mention = f"<@{fake.bot_user['id']}>"
        async with running_client(fake, build_bot(core, limits=FAST, print_invite=False, guild_ready_timeout=0.05)):
            fake_router.queue(text_script(f"Sure! {PINGS} done."))
            await fake.message_create(thread["id"], alice, f"say {PINGS}")
            await fake.wait_until(
                lambda: any(m.content == f"Sure! {PINGS} done." for m in fake.channel_messages(thread["id"]))
            )
            await core.chat.replies.wait_idle()
            before = await _stored(core, key)
            # empty / invisible-only / control-only: a clear message, nothing stored
            for text in (
                mention,
                f"{mention} \u200b\u200d\u2060",
                f"{mention} \x00\x01\x1b",
                f"{mention} \u202e\u200f",
            ):
                await fake.message_create(thread["id"], alice, text)
            # too long for max_prompt_chars
            await fake.message_create(thread["id"], alice, "x" * 1999 + "y")
            # a bot (another one, or a webhook-like bot user) mentioning us: ignored
            await fake.message_create(thread["id"], other_bot, f"{mention} answer me, bot to bot")
            await fake.wait_until(
                lambda: (
                    sum(
                        "empty" in m.content.lower() or "nothing" in m.content.lower()
                        for m in fake.channel_messages(thread["id"])
                    )
                    >= 1
                ),
                within=5,
            )
            await asyncio.sleep(0.3)
            await core.chat.replies.wait_idle()
            # odd but real text is kept readable and answered
            fake_router.queue(text_script("ok"))
            await fake.message_create(thread["id"], alice, "he\x00llo \u05e9\u05dc\u05d5\u05dd \u202eevil\u202c")
            await fake.wait_until(lambda: [m.content for m in fake.channel_messages(thread["id"])][-1] == "ok")
            await core.chat.replies.wait_idle()
            # malformed gateway payloads: missing fields, wrong types, unknown events
            for data in (
                {"id": "1"},
                {"channel_id": thread["id"]},
                {"id": "2", "channel_id": thread["id"], "content": None, "author": None},
                {"id": "3", "channel_id": "not-a-number", "author": {"id": "x"}, "content": 5},
            ):
                await fake.dispatch("MESSAGE_CREATE", data)
            await fake.dispatch("MESSAGE_UPDATE", {"id": "4", "channel_id": thread["id"]})
            await fake.dispatch("MESSAGE_DELETE", {"id": "5"})
            await fake.dispatch("TOTALLY_UNKNOWN_EVENT", {"x": [1, 2, 3]})
            await fake.dispatch("INTERACTION_CREATE", {"id": "6", "type": 99})
            # still alive and answering
            fake_router.queue(text_script("still here"))
            await fake.message_create(thread["id"], alice, "are you alive?")
            await fake.wait_until(lambda: [m.content for m in fake.channel_messages(thread["id"])][-1] == "still here")
            await core.chat.replies.wait_idle()
        after = await _stored(core, key)
        assert after[: len(before)] == before
        assert [role for role, _ in after[len(before) :]] == ["user", "assistant", "user", "assistant"]
        assert after[len(before)][1].startswith("hello \u05e9\u05dc\u05d5\u05dd")
        assert len(fake_router.requests) == 3  # the bot never answered empty, huge or bot messages
        _assert_no_pings(fake)


async def test_hostile_commands_and_model_names(core_factory, fake_router):
    core = await core_factory(fake_router.url)
    async with FakeDiscord(rate_limits=RATES) as fake:
        alice = fake.default_user
        async with running_client(fake, build_bot(core, limits=FAST, print_invite=False, guild_ready_timeout=0.05)):
            channel = fake.default_channel["id"]
            answers = []
            for name in ODD_MODELS:
                interaction = await fake.slash_command(channel, alice, "model", {"name": name})
                await fake.wait_until(lambda i=interaction: i.acknowledged)
                answers.append(interaction.callbacks[0].data.get("content", ""))
            assert all(answers) and not any("Your default model is now" in a for a in answers), answers
            # unknown commands and unknown options do not crash the bot
            for name, options in (
                ("no-such-command", {"x": 1}),
                ("model", {"bogus": "y"}),
                ("delete", {"conversation": "abc"}),
            ):
                await fake.slash_command(channel, alice, name, options)
            bad = await fake.slash_command(channel, alice, "export", {"conversation": "99999999"})
            await fake.wait_until(lambda: bad.acknowledged)
            assert "no longer exists" in bad.callbacks[0].data.get("content", "")
            # a /chat whose prompt pings everyone: quoted without pinging, answered in a thread
            fake_router.queue(text_script(f"Reply {PINGS}"))
            chat = await fake.slash_command(channel, alice, "chat", {"prompt": f"ping {PINGS}"})
            await fake.wait_until(lambda: chat.acknowledged)
            await fake.wait_until(lambda: len(fake.threads()) == 1)
            [thread] = fake.threads()
            await fake.wait_until(
                lambda: any(m.content == f"Reply {PINGS}" for m in fake.channel_messages(thread["id"]))
            )
            await core.chat.replies.wait_idle()
            # still answering afterwards
            fake_router.queue(text_script("fine"))
            await fake.message_create(thread["id"], alice, "ok?")
            await fake.wait_until(lambda: [m.content for m in fake.channel_messages(thread["id"])][-1] == "fine")
        assert await core.store.get_setting("discord", "", Scope.USER, alice["id"], "model") is None
        _assert_no_pings(fake)
