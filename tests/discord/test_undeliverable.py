"""Discord refuses the channel for good (403/404 on POST messages): the answer is not retried, the user is told
in the /chat command's own response where there is one, and the answer is stored UNDELIVERED. Real discord.py
against the loopback fake Discord."""

from __future__ import annotations

import asyncio
import time

from bots.discord.app import build_bot
from core.records import MessageStatus
from core.streaming import PlatformLimits
from tests.fakes.discord import FLAG_EPHEMERAL, FakeDiscord, running_client
from tests.fakes.fake_router import text_script

CREATE = "/channels/{channel_id}/messages"
LIMITS = PlatformLimits(max_chars=2000, edit_interval=0.2, bucket_rate=200.0, bucket_burst=50)


def make_bot(core):
    return build_bot(core, limits=LIMITS, print_invite=False, guild_ready_timeout=0.05)


async def answers(core, owner: str) -> list:
    conversations = await core.store.list_conversations("discord", owner)
    found = []
    for conversation in conversations:
        found += [m for m in await core.store.recent_messages(conversation.id, 10) if m.role == "assistant"]
    return found


async def settled(core, owner: str, within: float = 10.0) -> list:
    """The owner's stored answers once every reply in the process has ended."""
    deadline = time.monotonic() + within
    while not (found := await answers(core, owner)) or any(m.status == MessageStatus.STREAMING for m in found):
        assert time.monotonic() < deadline, "the answer never ended"
        await asyncio.sleep(0.05)
    await asyncio.wait_for(core.chat.replies.wait_idle(), within)
    return found


async def test_chat_in_a_dm_closed_to_the_bot_is_told_in_the_commands_response(discord_core, fake_router):
    async with FakeDiscord() as fake:
        alice = fake.default_user
        dm = fake.add_dm_channel(alice)
        fake.close_dms(alice)
        fake_router.queue(text_script("An answer nobody will see here.", pieces=10, delay=0.05))
        async with running_client(fake, make_bot(discord_core)):
            interaction = await fake.slash_command(dm["id"], alice, "chat", {"prompt": "hello there"})
            [answer] = await settled(discord_core, alice["id"])
            await asyncio.sleep(1.5)  # a retry would have come by now
        posts = fake.requests_for("POST", f"/channels/{dm['id']}/messages")
        assert [r.status for r in posts] == [403]  # one attempt: 50007 is not worth another
        assert answer.status == MessageStatus.UNDELIVERED
        [notice_id] = interaction.followup_message_ids
        notice = fake.message(dm["id"], notice_id)
        assert "couldn't deliver the answer" in notice.content and "direct messages" in notice.content
        assert notice.data["flags"] & FLAG_EPHEMERAL
        fake.assert_clean()


async def test_a_dm_answer_the_channel_refuses_with_404_is_tried_once_and_stored_undelivered(discord_core, fake_router):
    async with FakeDiscord() as fake:
        alice = fake.default_user
        dm = fake.add_dm_channel(alice)
        route = f"/channels/{dm['id']}/messages"
        fake.inject_error("POST", route, status=404, count=1000, body={"message": "Unknown Channel", "code": 10003})
        fake_router.queue(text_script("Lost in the void.", pieces=10, delay=0.05))
        async with running_client(fake, make_bot(discord_core)):
            started = time.monotonic()
            await fake.message_create(dm["id"], alice, "are you there?")
            [answer] = await settled(discord_core, alice["id"])
            assert time.monotonic() - started < 5
            await asyncio.sleep(1.5)
        assert [r.status for r in fake.requests_for("POST", route)] == [404]
        assert answer.status == MessageStatus.UNDELIVERED
        assert not fake.requests_for("POST", "/webhooks/{webhook_id}/{webhook_token}")  # no command to answer in
