"""The Slack sink under the core's streaming engine: native streams, fallbacks, 429s, safe text, buttons."""

from __future__ import annotations

import pytest

from core.keys import ConversationKey
from core.records import MessageStatus
from tests.fakes.fake_router import text_script
from tests.fakes.slack import FakeSlack
from tests.support.slack import CHANNEL, DM, running_bot, visible
from tests.support.waits import wait_for

LONG = " ".join(f"word{i}" for i in range(120)) + " The end."


def _value(message, action_id: str) -> str:
    return next(
        e["value"]
        for b in message.blocks or []
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    )


async def test_channel_without_native_streaming_falls_back_to_updates(core_factory, fake_router):
    async with FakeSlack(echo_events=True, streaming_unsupported_types={"channel"}) as fake:
        async with running_bot(core_factory, fake_router, fake) as bot:
            fake_router.queue(text_script(LONG, pieces=10, delay=0.03))
            post = await fake.user_posts("write a lot", channel=CHANNEL)
            await bot.settle()
            [answer] = bot.answers(CHANNEL, post.ts)
            assert visible(answer) == LONG
            assert [c.response.get("error") for c in fake.calls("chat.startStream")] == ["channel_type_not_supported"]
            assert fake.calls("chat.postMessage") and fake.calls("chat.update")
            # the channel is remembered: the next answer goes straight to the edit path
            fake_router.queue(text_script("Short one."))
            await fake.user_posts("more", channel=CHANNEL, thread_ts=post.ts, mention=False)
            await bot.settle()
            assert visible(bot.answers(CHANNEL, post.ts)[-1]) == "Short one."
            assert len(fake.calls("chat.startStream")) == 1


async def test_stream_expiring_midway_finishes_with_chat_update(core_factory, fake_router):
    async with FakeSlack(echo_events=True, stream_ttl=0.3) as fake:
        async with running_bot(core_factory, fake_router, fake) as bot:
            fake_router.queue(text_script(LONG, pieces=12, delay=0.08))
            post = await fake.user_posts("write a lot", channel=CHANNEL)
            await bot.settle()
            [answer] = bot.answers(CHANNEL, post.ts)
            assert answer.stream.state == "expired"
            errors = [c.response.get("error") for c in fake.calls() if c.method.startswith("chat.")]
            assert "message_not_in_streaming_state" in errors
            assert fake.calls("chat.update")
            assert visible(answer) == LONG
            assert _value(answer, "hfchat_regenerate")  # the controls came with the update


async def test_429_on_chat_update_slows_the_stream_and_the_answer_still_arrives(core_factory, fake_router):
    async with FakeSlack(echo_events=True) as fake:
        async with running_bot(core_factory, fake_router, fake, native_streaming=False) as bot:
            fake.inject("chat.update", "ratelimited", times=2, retry_after=1)
            fake_router.queue(text_script(LONG, pieces=20, delay=0.05))
            post = await fake.user_posts("write a lot", channel=CHANNEL)
            await bot.settle(15)
            [answer] = bot.answers(CHANNEL, post.ts)
            assert visible(answer) == LONG
            updates = fake.calls("chat.update")
            assert [c.status for c in updates[:2]] == [429, 429]
            assert fake.rate_limited["chat.update"] == 2
            # the lane waited out Retry-After before the next successful update
            first_ok = next(c for c in updates if c.status == 200)
            assert first_ok.at - updates[0].at >= 0.9


@pytest.mark.parametrize("native", [True, False])
async def test_model_output_never_pings(core_factory, fake_router, native):
    nasty = "Hi <!channel> and <!here|here>, @everyone and @here, ping <@U0USER0002> and <!subteam^S0123|devs>. a<b"
    async with FakeSlack(echo_events=True) as fake:
        async with running_bot(core_factory, fake_router, fake, native_streaming=native) as bot:
            fake_router.queue(text_script(nasty, pieces=40, delay=0.01))  # 2-3 characters per chunk
            post = await fake.user_posts("be loud", channel=CHANNEL)
            await bot.settle()
            [answer] = bot.answers(CHANNEL, post.ts)
            sent = [
                str(c.params.get(field) or "")
                for c in fake.calls()
                for field in ("markdown_text", "text", "blocks")
                if c.method.startswith("chat.")
            ]
            shown = visible(answer)
            for text in [*sent, shown]:
                assert "<!" not in text and "<@" not in text
            assert "@everyone" not in shown and "@here" not in shown
            assert shown.replace("&lt;", "<").replace("\u2060", "") == nasty


async def test_stop_button_while_streaming_then_continue(core_factory, fake_router):
    async with FakeSlack(echo_events=True) as fake:
        async with running_bot(core_factory, fake_router, fake, native_streaming=False) as bot:
            fake_router.queue(text_script(LONG, pieces=40, delay=0.1))
            post = await fake.user_posts("write a lot", channel=CHANNEL)
            await wait_for(lambda: bot.answers(CHANNEL, post.ts), what="the answer to start")
            streaming = bot.answers(CHANNEL, post.ts)[0]
            stop = fake.build_block_actions(
                action_id="hfchat_stop",
                value=_value(streaming, "hfchat_stop"),
                channel=CHANNEL,
                message_ts=streaming.ts,
            )
            await bot.interact(stop)
            answer = bot.answers(CHANNEL, post.ts)[0]
            assert "Stopped" in visible(answer) and len(visible(answer)) < len(LONG)

            fake_router.queue(text_script(" and the rest."))
            cont = fake.build_block_actions(
                action_id="hfchat_continue",
                value=_value(answer, "hfchat_continue"),
                channel=CHANNEL,
                message_ts=answer.ts,
            )
            await bot.interact(cont)
            assert visible(bot.answers(CHANNEL, post.ts)[-1]) == " and the rest."


async def test_mention_stop_ends_a_native_stream(bot):
    bot.router.queue(text_script(LONG, pieces=40, delay=0.1))
    post = await bot.fake.user_posts("write a lot", channel=DM)
    await wait_for(lambda: bot.answers(DM, post.ts), what="the answer to start")
    await bot.fake.user_posts("<@U0BOT00001> stop", channel=DM, thread_ts=post.ts)
    await bot.settle()
    [answer] = bot.answers(DM, post.ts)
    assert answer.stream.state == "stopped" and "Stopped" in answer.final_text


async def test_regenerate_and_feedback_buttons(bot):
    bot.router.queue(text_script("First try."))
    post = await bot.fake.user_posts("q", channel=CHANNEL)
    await bot.settle()
    [answer] = bot.answers(CHANNEL, post.ts)
    bot.router.queue(text_script("Second try."))
    value = _value(answer, "hfchat_regenerate")
    await bot.interact(
        bot.fake.build_block_actions(action_id="hfchat_regenerate", value=value, channel=CHANNEL, message_ts=answer.ts)
    )
    latest = bot.answers(CHANNEL, post.ts)[-1]
    assert visible(latest) == "Second try."
    assert [m["content"] for m in bot.router.requests[-1]["messages"] if m["role"] != "system"] == ["q"]

    # a message posted before the native feedback buttons still takes a vote from its old button
    await bot.interact(
        bot.fake.build_block_actions(
            action_id="hfchat_feedback_up",
            value=_value(latest, "hfchat_regenerate"),
            channel=CHANNEL,
            message_ts=latest.ts,
        )
    )
    assert bot.responses()[-1] == "Thanks for the feedback."


@pytest.mark.parametrize(("native", "method"), [(True, "chat.startStream"), (False, "chat.postMessage")])
async def test_a_channel_the_bot_may_not_write_in_is_tried_once_and_the_answer_stored_undelivered(
    core_factory, fake_router, native, method
):
    async with FakeSlack(echo_events=True) as fake:
        async with running_bot(core_factory, fake_router, fake, native_streaming=native) as bot:
            fake.inject(method, "not_in_channel", times=100)
            fake_router.queue(text_script(LONG, pieces=10, delay=0.05))
            post = await fake.user_posts("write a lot", channel=CHANNEL)
            await bot.settle()
            conversation = await bot.core.store.get_conversation(
                ConversationKey("slack", fake.team_id, CHANNEL, post.ts)
            )
            [_question, answer] = await bot.core.store.recent_messages(conversation.id, 5)
    assert answer.status == MessageStatus.UNDELIVERED
    chat_calls = [c.method for c in fake.calls() if c.method.startswith("chat.")]
    assert chat_calls == [method]  # one attempt, no fallback that would fail the same way
