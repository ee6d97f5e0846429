"""Slack's agent sessions over the wire (tests/fakes/slack/agents.py): the native Stop (the event, and
`stopped_by_user` from chat.appendStream) stops generating within a second, the router request closed, the stream
closed with what was written and the answer marked stopped with Continue / Regenerate."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import yaml

from core.keys import ConversationKey
from core.records import MessageStatus
from tests.fakes.fake_router import Raw, Sleep, chunk, text_script
from tests.fakes.slack import FakeSlack
from tests.support.slack import ALICE, CHANNEL, DM, running_bot, visible
from tests.support.waits import wait_for

ROOT = Path(__file__).resolve().parents[2]
LONG = " ".join(f"word{i}" for i in range(200)) + " The end."


def manifest_events() -> set[str]:
    manifest = yaml.safe_load((ROOT / "config" / "slack-manifest.yaml").read_text())
    return set(manifest["settings"]["event_subscriptions"]["bot_events"])


def action_ids(message) -> list[str]:
    return [e["action_id"] for b in message.blocks or [] if b["type"] == "actions" for e in b["elements"]]


def pausing_script(text: str, pause: float = 5.0) -> list:
    """The model writes a little, then thinks for `pause` seconds (keep-alive comments, as providers send),
    then writes the rest: during the pause nothing is appended, so only the stop event can stop it."""
    head, tail = text[:300], text[300:]
    steps: list = [chunk("")] + [chunk(head[i : i + 50]) for i in range(0, len(head), 50)]
    for _ in range(int(pause / 0.1)):
        steps += [Sleep(0.1), Raw(b": keep-alive\n\n")]
    return [*steps, chunk(tail), chunk(finish="stop")]


async def _streaming_answer(bot, fake, router, script=None):
    """A long answer streaming natively in a channel thread, a few appends in."""
    router.queue(script or text_script(LONG, pieces=60, delay=0.1))
    post = await fake.user_posts("write a lot", channel=CHANNEL, user=ALICE)
    await wait_for(lambda: bot.answers(CHANNEL, post.ts), what="the answer to start")
    [answer] = bot.answers(CHANNEL, post.ts)
    if script is None:
        await wait_for(lambda: answer.stream.appends >= 1, what="an append")
    return post, answer


async def _stored_reply(bot, thread_ts: str):
    conversation = await bot.core.chat.conversations.for_key(
        ConversationKey("slack", bot.fake.team_id, CHANNEL, thread_ts)
    )
    return (await bot.core.store.recent_messages(conversation.id, 5))[-1]


def _assert_stopped_within_a_second(bot, fake, answer, pressed_at: float) -> None:
    log = bot.router.streams[-1]
    assert log.finished is None, "the model went on to the end"
    assert log.closed is not None and log.closed - pressed_at < 1.0, "the router request was not closed in 1 s"
    assert answer.stream.state == "stopped"  # closed by chat.stopStream, not left to expire
    shown = visible(answer)
    assert "Stopped" in shown and len(shown) < len(LONG)
    assert {"hfchat_continue", "hfchat_regenerate"} <= set(action_ids(answer))
    # nothing went into the stream after the stop but its close
    refused = [c for c in fake.calls("chat.appendStream") if c.error == "stopped_by_user"]
    assert all(not c.ok for c in fake.calls("chat.appendStream") if c.at > pressed_at + 0.05 and c not in refused)


async def test_native_stop_event_stops_generating_and_marks_the_answer_stopped(core_factory, fake_router):
    async with FakeSlack(echo_events=True, subscribed_events=manifest_events()) as fake:
        async with running_bot(core_factory, fake_router, fake) as bot:
            post, answer = await _streaming_answer(bot, fake, fake_router, pausing_script(LONG))
            await wait_for(lambda: len(answer.stream.text) >= 280, what="the first part")
            await asyncio.sleep(0.3)  # the model is thinking: no append is under way
            pressed_at = time.monotonic()
            await bot.fake.wait_ack(await fake.user_stops(CHANNEL, post.ts, user=ALICE))
            await bot.settle()
            _assert_stopped_within_a_second(bot, fake, answer, pressed_at)
            stored = await _stored_reply(bot, post.ts)
            assert stored.status == MessageStatus.STOPPED
            # what the person sees is what was stored (the stream closed with what was written)
            assert visible(answer).startswith(stored.content)
            assert fake.warnings == []  # the manifest subscribes to agent_session_stopped
            # the session left `processing` in the call that closed the stream
            assert fake.session(CHANNEL, post.ts).statuses[-1][1:] == ("active", "chat.stopStream")

            # Continue picks it up, as after the Stop button
            fake_router.queue(text_script(" and the rest."))
            value = next(
                e["value"]
                for b in answer.blocks
                if b["type"] == "actions"
                for e in b["elements"]
                if e["action_id"] == "hfchat_continue"
            )
            await bot.interact(
                fake.build_block_actions(
                    action_id="hfchat_continue", value=value, channel=CHANNEL, message_ts=answer.ts, user=ALICE
                )
            )
            assert visible(bot.answers(CHANNEL, post.ts)[-1]) == " and the rest."


async def test_stopped_by_user_from_append_stops_like_the_event(core_factory, fake_router):
    """Slack stopped the stream but its event is late (or lost): the refused append alone stops the answer."""
    async with FakeSlack(echo_events=True, subscribed_events=manifest_events()) as fake:
        async with running_bot(core_factory, fake_router, fake) as bot:
            post, answer = await _streaming_answer(bot, fake, fake_router)
            pressed_at = time.monotonic()
            assert await fake.user_stops(CHANNEL, post.ts, user=ALICE, deliver=False) is None
            await bot.settle()
            assert [c.error for c in fake.calls("chat.appendStream") if not c.ok] == ["stopped_by_user"]
            _assert_stopped_within_a_second(bot, fake, answer, pressed_at)
            assert (await _stored_reply(bot, post.ts)).status == MessageStatus.STOPPED


async def test_someone_else_cannot_stop_an_answer_natively(core_factory, fake_router):
    async with FakeSlack(echo_events=True, subscribed_events=manifest_events()) as fake:
        fake.add_user("U0USER0002", "bob")
        async with running_bot(core_factory, fake_router, fake) as bot:
            fake_router.queue(text_script("A short answer, to the end.", pieces=6, delay=0.15))
            post = await fake.user_posts("write", channel=CHANNEL, user=ALICE)
            await wait_for(lambda: bot.answers(CHANNEL, post.ts), what="the answer to start")
            event = fake.build_agent_session_stopped(CHANNEL, post.ts, [], user="U0USER0002")
            await bot.send(event)
            await bot.settle()
            assert bot.router.streams[-1].finished is not None
            assert (await _stored_reply(bot, post.ts)).status == MessageStatus.COMPLETE
            assert any("Only the person who asked" in e["text"] for e in fake.ephemerals)


async def test_fake_warns_like_slack_when_the_stop_subscription_is_missing(core_factory, fake_router):
    """An app that streams without subscribing to agent_session_stopped gets Slack's warning, and its users'
    Stop does nothing: the answer runs to its end."""
    async with FakeSlack(echo_events=True, subscribed_events=manifest_events() - {"agent_session_stopped"}) as fake:
        async with running_bot(core_factory, fake_router, fake) as bot:
            fake_router.queue(text_script("Short.", pieces=3, delay=0.05))
            post = await fake.user_posts("hi", channel=CHANNEL, user=ALICE)
            await bot.settle()
            assert ("chat.startStream", "missing_agent_session_stopped_event_subscription") in fake.warnings
            assert await fake.user_stops(CHANNEL, post.ts) is None  # no event is sent


async def test_session_is_processing_while_working_and_active_in_the_closing_call(core_factory, fake_router):
    async with FakeSlack(echo_events=True, subscribed_events=manifest_events()) as fake:
        async with running_bot(core_factory, fake_router, fake) as bot:
            fake_router.queue(text_script("Working on it, and done.", pieces=5, delay=0.1))
            post = await fake.user_posts("work", channel=CHANNEL, user=ALICE)
            await wait_for(lambda: bot.answers(CHANNEL, post.ts), what="the answer to start")
            assert fake.session(CHANNEL, post.ts).status == "processing"
            await bot.settle()
            session = fake.session(CHANNEL, post.ts)
            assert [(status, how) for _, status, how in session.statuses] == [
                ("processing", "agents.sessions.setStatus"),
                ("active", "chat.stopStream"),
            ]
            # processing was set before the model was asked, and the end cost no call of its own
            [working] = fake.calls("agents.sessions.setStatus")
            assert working.params["status"] == "processing" and working.at < fake.calls("chat.startStream")[0].at
            assert fake.calls("chat.stopStream")[-1].params["session_status"] == "active"


async def test_on_the_edit_path_the_session_goes_active_after_the_final_edit(core_factory, fake_router):
    async with FakeSlack(echo_events=True, subscribed_events=manifest_events()) as fake:
        async with running_bot(core_factory, fake_router, fake, native_streaming=False) as bot:
            fake_router.queue(text_script("Edited into place.", pieces=4, delay=0.05))
            post = await fake.user_posts("work", channel=CHANNEL, user=ALICE)
            await bot.settle()
            statuses = [c.params["status"] for c in fake.calls("agents.sessions.setStatus")]
            assert statuses == ["processing", "active"]
            assert fake.session(CHANNEL, post.ts).status == "active"
            final_edit = [c for c in fake.calls("chat.update")][-1]
            assert final_edit.at <= fake.calls("agents.sessions.setStatus")[-1].at


async def test_a_stop_with_nothing_being_written_still_leaves_processing(core_factory, fake_router):
    async with FakeSlack(echo_events=True, subscribed_events=manifest_events()) as fake:
        async with running_bot(core_factory, fake_router, fake) as bot:
            fake_router.queue(text_script("Done already."))
            post = await fake.user_posts("work", channel=CHANNEL, user=ALICE)
            await bot.settle()
            await bot.send(fake.build_agent_session_stopped(CHANNEL, post.ts, [], user=ALICE))
            await bot.settle()
            assert fake.calls("agents.sessions.setStatus")[-1].params["status"] == "active"


async def test_session_titles_from_the_auto_titler_and_the_users_title_is_kept(core_factory, fake_router):
    async def titled(url: str):
        return await core_factory(url, auto_titles=True)

    async with FakeSlack(echo_events=True, subscribed_events=manifest_events()) as fake:
        async with running_bot(titled, fake_router, fake) as bot:
            fake_router.queue(text_script("Attention is all you need."))
            fake_router.queue(text_script("Attention Explained"))  # the title request
            post = await fake.user_posts("Explain transformers", channel=CHANNEL, user=ALICE)
            await bot.settle()
            await bot.core.chat.replies.wait_idle()
            await wait_for(lambda: fake.calls("agents.sessions.rename"), what="the session title")
            assert [c.params["title"] for c in fake.calls("agents.sessions.rename")] == ["Attention Explained"]
            assert fake.session(CHANNEL, post.ts).title == "Attention Explained"

            # a second thread: the person renames its session while the first answer streams
            fake_router.queue(text_script("Paris is the capital of France.", pieces=6, delay=0.1))
            fake_router.queue(text_script("Capital Of France"))
            second = await fake.user_posts("Capital of France?", channel=CHANNEL, user=ALICE)
            await wait_for(lambda: bot.answers(CHANNEL, second.ts), what="the second answer")
            await bot.send(fake.build_agent_session_title_changed(CHANNEL, second.ts, "My  geography notes"))
            await bot.settle()
            await bot.core.chat.replies.wait_idle()
            key = ConversationKey("slack", fake.team_id, CHANNEL, second.ts)
            assert (await bot.core.chat.conversations.for_key(key)).title == "My geography notes"
            assert fake.session(CHANNEL, second.ts).title == "My  geography notes"
            assert len(fake.calls("agents.sessions.rename")) == 1  # the auto-title did not replace theirs

            # renamed after the auto-title: theirs replaces it
            await bot.send(fake.build_agent_session_title_changed(CHANNEL, post.ts, "Transformers 101"))
            await bot.settle()
            key = ConversationKey("slack", fake.team_id, CHANNEL, post.ts)
            assert (await bot.core.chat.conversations.for_key(key)).title == "Transformers 101"


async def test_agent_view_dm_answered_in_its_thread_with_status_title_and_stop(core_factory, fake_router):
    """The agent messaging experience: no assistant_thread_started, the person writes in the app's Messages tab
    (a top-level DM message), and the answer streams in that message's thread, a session with its status and
    title; a second thread is a conversation of its own, and the native Stop works there too."""

    async def titled(url: str):
        return await core_factory(url, auto_titles=True)

    async with FakeSlack(echo_events=True, subscribed_events=manifest_events()) as fake:
        async with running_bot(titled, fake_router, fake) as bot:
            fake_router.queue(text_script("Transformers use attention.", pieces=4, delay=0.05))
            fake_router.queue(text_script("Attention Explained"))
            post = await fake.user_posts("Explain transformers", channel=DM, user=ALICE)
            await bot.settle()
            await bot.core.chat.replies.wait_idle()
            [answer] = bot.answers(DM, post.ts)
            assert answer.thread_ts == post.ts and answer.stream.state == "stopped"
            assert visible(answer) == "Transformers use attention."
            session = fake.session(DM, post.ts)
            assert [s for _, s, _ in session.statuses] == ["processing", "active"]
            await wait_for(lambda: session.title == "Attention Explained", what="the session's title")

            fake_router.queue(pausing_script(LONG))
            post2 = await fake.user_posts("Write a lot", channel=DM, user=ALICE)
            await wait_for(lambda: bot.answers(DM, post2.ts), what="the second answer")
            [streaming] = bot.answers(DM, post2.ts)
            await wait_for(lambda: len(streaming.stream.text) >= 280, what="the first part")
            await fake.wait_ack(await fake.user_stops(DM, post2.ts, user=ALICE))
            await bot.settle()
            assert "Stopped" in visible(streaming) and fake.session(DM, post2.ts).status == "active"
            asked = [str(r["messages"]) for r in bot.router.requests if "Write a lot" in str(r["messages"])]
            assert asked and not any("Explain transformers" in a for a in asked)  # a conversation of its own


def test_the_manifest_subscribes_to_the_session_events():
    assert {"agent_session_stopped", "agent_session_title_changed"} <= manifest_events()
