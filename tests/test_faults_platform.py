"""Platform faults with the real adapters: gateway drops and reconnects, Socket Mode drops, redelivered
envelopes, and 5xx from the platform's REST API in the middle of a streamed answer. Each time the final
text arrives whole and nothing the user sent is lost."""

from __future__ import annotations

import asyncio

import pytest

from bots.discord.app import build_bot
from core.keys import ConversationKey
from core.streaming import PlatformLimits
from tests.fakes.discord import FakeDiscord, running_client
from tests.fakes.fake_router import text_script
from tests.fakes.slack import FakeSlack
from tests.support.slack import CHANNEL, running_bot, visible, wait_for

EDIT = "/channels/{channel_id}/messages/{message_id}"
FAST = PlatformLimits(max_chars=2000, edit_interval=0.05, bucket_rate=200.0, bucket_burst=50)
ANSWER = "The answer grows piece by piece, and every piece must arrive in the end. " * 4


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


# ---------------------------------------------------------------- Discord


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
            await core.chat.wait_idle()
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
            await core.chat.wait_idle()
        assert any(r.status == status for r in fake.requests_for("PATCH", EDIT))
        fake.assert_clean()


# ---------------------------------------------------------------- Slack (Socket Mode)


async def test_slack_socket_drop_reconnects_and_later_events_are_answered(core_factory, fake_router):
    async with FakeSlack() as fake:
        async with running_bot(core_factory, fake_router, fake) as bot:
            fake_router.queue(text_script("Before the drop."))
            first = await fake.user_posts("before", channel=CHANNEL)
            await bot.settle()
            opened = len(fake.calls("apps.connections.open"))
            await fake.socket_drop()
            await fake.wait_socket_connected(min_total=2, timeout=10)
            assert len(fake.calls("apps.connections.open")) > opened  # a new ticket, as Slack requires
            fake_router.queue(text_script("After the drop."))
            second = await fake.user_posts("after", channel=CHANNEL)
            await bot.settle()
            assert bot.answer_text(CHANNEL, first.ts) == "Before the drop."
            assert bot.answer_text(CHANNEL, second.ts) == "After the drop."


async def test_slack_socket_drop_mid_stream_still_finishes_the_answer(core_factory, fake_router):
    async with FakeSlack() as fake:
        async with running_bot(core_factory, fake_router, fake) as bot:
            fake_router.queue(text_script(ANSWER, pieces=12, delay=0.05))
            post = await fake.user_posts("long one", channel=CHANNEL)
            await wait_for(lambda: bool(fake.bot_messages(CHANNEL, post.ts)), what="the stream to start")
            await fake.socket_drop()
            await bot.settle()
            assert bot.answer_text(CHANNEL, post.ts) == ANSWER
            await fake.wait_socket_connected(min_total=2, timeout=10)


async def test_slack_redelivered_envelope_is_answered_once(core_factory, fake_router):
    async with FakeSlack() as fake:
        async with running_bot(core_factory, fake_router, fake) as bot:
            fake_router.queue(text_script("Only once."))
            fake_router.queue(text_script("Twice?!"))
            event = fake.build_app_mention("answer me once", channel=CHANNEL)
            payload = fake.build_event_callback(event)
            await fake.wait_ack(await fake.socket_send_event(payload))
            await fake.wait_ack(await fake.socket_send_event(payload, retry_attempt=1, retry_reason="timeout"))
            await bot.settle()
            assert [visible(m) for m in bot.answers(CHANNEL, event["ts"])] == ["Only once."]
            assert len(fake_router.requests) == 1


@pytest.mark.parametrize(("method", "native"), [("chat.appendStream", True), ("chat.update", False)])
async def test_slack_5xx_mid_stream_still_delivers_the_final_text(core_factory, fake_router, method, native):
    async with FakeSlack() as fake:
        async with running_bot(core_factory, fake_router, fake, native_streaming=native) as bot:
            fake.inject(method, "internal_error", status=500, times=2)
            fake_router.queue(text_script(ANSWER, pieces=12, delay=0.05))
            post = await fake.user_posts("go", channel=CHANNEL)
            await bot.settle()
            assert bot.answer_text(CHANNEL, post.ts) == ANSWER
            assert any(not c.ok for c in fake.calls(method))


async def test_slack_5xx_on_the_first_post_still_delivers_the_final_text(core_factory, fake_router):
    async with FakeSlack() as fake:
        async with running_bot(core_factory, fake_router, fake, native_streaming=False) as bot:
            fake.inject("chat.postMessage", "internal_error", status=503, times=1)
            fake_router.queue(text_script(ANSWER, pieces=12, delay=0.05))
            post = await fake.user_posts("go", channel=CHANNEL)
            await bot.settle()
            assert bot.answer_text(CHANNEL, post.ts) == ANSWER
            assert any(not c.ok for c in fake.calls("chat.postMessage"))


async def test_slack_5xx_on_the_final_stop_stream_still_delivers(core_factory, fake_router):
    async with FakeSlack() as fake:
        async with running_bot(core_factory, fake_router, fake) as bot:
            fake.inject("chat.stopStream", "internal_error", status=500, times=1)
            fake_router.queue(text_script(ANSWER, pieces=6, delay=0.02))
            post = await fake.user_posts("go", channel=CHANNEL)
            await bot.settle()
            await asyncio.sleep(0)
            assert bot.answer_text(CHANNEL, post.ts) == ANSWER
