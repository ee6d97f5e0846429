"""Platform faults with the real Slack adapter: Socket Mode drops, redelivered envelopes, and 5xx from the Web
API in the middle of a streamed answer. Each time the final text arrives whole and nothing the user sent is lost."""

from __future__ import annotations

import asyncio

import pytest

from tests.fakes.fake_router import text_script
from tests.fakes.slack import FakeSlack
from tests.support.slack import CHANNEL, running_bot, visible
from tests.support.waits import wait_for

ANSWER = "The answer grows piece by piece, and every piece must arrive in the end. " * 4


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
