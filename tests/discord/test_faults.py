"""Platform faults with the real Discord adapter: gateway drops and reconnects, and 5xx from the REST API in the
middle of a streamed answer. Each time the final text arrives whole and nothing the user sent is lost."""

from __future__ import annotations

import pytest

from bots.discord.app import build_bot
from core.keys import ConversationKey
from core.streaming import PlatformLimits
from tests.fakes.discord import FakeDiscord, running_client
from tests.fakes.fake_router import text_script

pytestmark = pytest.mark.usefixtures("no_proxy")

EDIT = "/channels/{channel_id}/messages/{message_id}"
FAST = PlatformLimits(max_chars=2000, edit_interval=0.05, bucket_rate=200.0, bucket_burst=50)
ANSWER = "The answer grows piece by piece, and every piece must arrive in the end. " * 4


async def _thread(fake: FakeDiscord, core) -> dict:
    thread = fake.add_thread(fake.default_channel, "faults")
    key = ConversationKey("discord", fake.default_guild["id"], fake.default_channel["id"], thread["id"])
    await core.store.create_conversation(key, fake.default_user["id"], "faults")
    return thread


def _bot_texts(fake: FakeDiscord, channel_id: str) -> list[str]:
    return [m.content for m in fake.channel_messages(channel_id) if m.author_id == fake.bot_user["id"]]


@pytest.mark.parametrize("fault", ["drop", "reconnect"])
async def test_discord_gateway_fault_mid_stream_resumes_and_loses_nothing(core_factory, fake_router, fault):
    core = await core_factory(fake_router.url)
    fake_router.queue(text_script(ANSWER, pieces=12, delay=0.05))
    fake_router.queue(text_script("Second answer, after the reconnect."))
    async with FakeDiscord() as fake:
        thread = await _thread(fake, core)
        bot = build_bot(core, limits=FAST, print_invite=False, guild_ready_timeout=0.05)
        async with running_client(fake, bot):
            await fake.message_create(thread["id"], fake.default_user, "first question")
            await fake.wait_until(lambda: bool(_bot_texts(fake, thread["id"])))  # streaming has begun
            if fault == "reconnect":
                await fake.send_reconnect()
            else:
                await fake.drop_connections(abrupt=fault == "abrupt")
            # a message sent while the bot is away is buffered by the gateway and replayed on RESUME
            await fake.message_create(thread["id"], fake.default_user, "second question")
            await fake.wait_until(lambda: fake.resume_count >= 1, within=10)
            await fake.wait_until(
                lambda: _bot_texts(fake, thread["id"]) == [ANSWER, "Second answer, after the reconnect."], within=10
            )
            await core.chat.replies.wait_idle()
        assert fake.identify_count == 1  # resumed, not re-identified
        fake.assert_clean()
    conversation = await core.store.get_conversation(
        ConversationKey("discord", fake.default_guild["id"], fake.default_channel["id"], thread["id"])
    )
    stored = await core.store.recent_messages(conversation.id, 10)
    assert [(m.role, m.content) for m in stored] == [
        ("user", "first question"),
        ("assistant", ANSWER),
        ("user", "second question"),
        ("assistant", "Second answer, after the reconnect."),
    ]
    assert all(m.status == "complete" for m in stored if m.role == "assistant")


@pytest.mark.parametrize("status", [500, 503])
async def test_discord_5xx_on_edit_mid_stream_still_delivers_the_final_text(core_factory, fake_router, status):
    core = await core_factory(fake_router.url)
    fake_router.queue(text_script(ANSWER, pieces=12, delay=0.05))
    async with FakeDiscord() as fake:
        thread = await _thread(fake, core)
        bot = build_bot(core, limits=FAST, print_invite=False, guild_ready_timeout=0.05)
        async with running_client(fake, bot):
            fake.inject_error("PATCH", EDIT, status=status, count=2)
            await fake.message_create(thread["id"], fake.default_user, "go")
            await fake.wait_until(lambda: _bot_texts(fake, thread["id"]) == [ANSWER], within=15)
            await core.chat.replies.wait_idle()
        assert any(r.status == status for r in fake.requests_for("PATCH", EDIT))
        fake.assert_clean()
