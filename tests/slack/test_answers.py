"""Answering: mentions in channels, follow-ups in owned threads, adopted threads, DMs, assistant threads."""

from __future__ import annotations

import functools

import pytest

from core.keys import ConversationKey
from tests.fakes.fake_router import text_script
from tests.fakes.slack import FakeSlack
from tests.support.slack import ALICE, CHANNEL, DM, running_bot, visible
from tests.support.waits import wait_for

ANSWER = "Paris is the capital of France. It sits on the Seine."


async def test_mention_answers_in_thread_with_native_stream(bot):
    bot.router.queue(text_script(ANSWER, pieces=6, delay=0.05))
    post = await bot.fake.user_posts("What is the capital of France?", channel=CHANNEL, also_message_event=True)
    await bot.settle()

    answers = bot.answers(CHANNEL, post.ts)
    assert len(answers) == 1
    answer = answers[0]
    assert answer.final_text == ANSWER
    assert answer.stream is not None and answer.stream.state == "stopped"
    assert answer.stream.recipient_user_id == bot.fake.default_user_id
    assert bot.fake.calls("chat.startStream") and bot.fake.calls("chat.stopStream")
    assert not bot.fake.calls("chat.update")
    # the finished answer carries its controls
    actions = [e["action_id"] for b in answer.blocks if b["type"] == "actions" for e in b["elements"]]
    assert {"hfchat_regenerate", "hfchat_delete"} <= set(actions)
    # and Slack's own feedback buttons
    [feedback] = [e for b in answer.blocks if b["type"] == "context_actions" for e in b["elements"]]
    assert feedback["type"] == "feedback_buttons" and feedback["action_id"] == "hfchat_feedback"
    # the prompt went to the router without the mention
    assert bot.router.requests[-1]["messages"][-1]["content"] == "What is the capital of France?"
    conversation = await bot.core.chat.conversations.for_key(
        ConversationKey("slack", bot.fake.team_id, CHANNEL, post.ts)
    )
    assert conversation is not None and conversation.owner_id == bot.fake.default_user_id


async def test_follow_up_in_owned_thread_needs_no_mention(bot):
    bot.router.queue(text_script("First answer."))
    post = await bot.fake.user_posts("first question", channel=CHANNEL)
    await bot.settle()
    bot.router.queue(text_script("Second answer."))
    await bot.fake.user_posts("and then?", channel=CHANNEL, thread_ts=post.ts, mention=False)
    await bot.settle()
    assert [visible(m) for m in bot.answers(CHANNEL, post.ts)] == ["First answer.", "Second answer."]
    assert [m["content"] for m in bot.router.requests[-1]["messages"] if m["role"] != "system"] == [
        "first question",
        "First answer.",
        "and then?",
    ]

    # a plain message outside the bot's threads is not answered
    other = await bot.fake.user_posts("just chatting", channel=CHANNEL, mention=False)
    await bot.settle()
    assert bot.answers(CHANNEL, other.ts) == []


async def test_thread_replies_can_be_turned_off_per_channel(bot):
    bot.router.queue(text_script("First answer."))
    post = await bot.fake.user_posts("first question", channel=CHANNEL)
    await bot.settle()
    await bot.command("/hfchat", "replies off", user="U0ADMIN001")
    await bot.fake.user_posts("and then?", channel=CHANNEL, thread_ts=post.ts, mention=False)
    await bot.settle()
    assert len(bot.answers(CHANNEL, post.ts)) == 1
    # a mention still works
    bot.router.queue(text_script("Mentioned answer."))
    await bot.fake.user_posts("and now?", channel=CHANNEL, thread_ts=post.ts)
    await bot.settle()
    assert visible(bot.answers(CHANNEL, post.ts)[-1]) == "Mentioned answer."


async def test_mention_in_someone_elses_thread_adopts_its_history(bot):
    root = bot.fake.add_user_message("We need a name for the new service.", channel=CHANNEL, user="U0USER0002")
    bot.fake.add_user_message("Something short, please.", channel=CHANNEL, thread_ts=root.ts)
    bot.router.queue(text_script("How about Beacon?"))
    post = await bot.fake.user_posts("any ideas?", channel=CHANNEL, thread_ts=root.ts)
    await bot.settle()
    assert len(bot.fake.calls("conversations.replies")) == 1
    sent = [m["content"] for m in bot.router.requests[-1]["messages"] if m["role"] != "system"]
    # the core merges consecutive user turns and names their authors
    assert sent == ["bob: We need a name for the new service.\n\nalice: Something short, please.\n\nalice: any ideas?"]
    assert visible(bot.answers(CHANNEL, root.ts)[-1]) == "How about Beacon?"
    assert post.ts != root.ts


async def test_dm_message_is_answered_in_its_thread(bot):
    bot.router.queue(text_script("Hello in private."))
    post = await bot.fake.user_posts("hi there", channel=DM)
    await bot.settle()
    answers = bot.answers(DM, post.ts)
    assert [m.final_text for m in answers] == ["Hello in private."]
    # native stream in a DM needs no recipient, and works
    assert answers[0].stream.state == "stopped"
    # a reply in that thread continues the same conversation
    bot.router.queue(text_script("Still here."))
    await bot.fake.user_posts("still there?", channel=DM, thread_ts=post.ts)
    await bot.settle()
    assert [m.final_text for m in bot.answers(DM, post.ts)] == ["Hello in private.", "Still here."]
    assert len(bot.router.requests[-1]["messages"]) >= 3


async def test_assistant_thread_status_prompts_and_title(bot):
    started = bot.fake.build_assistant_thread_started(context_channel_id=CHANNEL)
    dm, thread_ts = started["assistant_thread"]["channel_id"], started["assistant_thread"]["thread_ts"]
    await bot.send(started)
    await bot.settle()
    thread = bot.fake.assistant_threads[(dm, thread_ts)]
    assert thread["prompts"] and len(thread["prompts"]) == 3

    bot.router.queue(text_script("Transformers use attention.", delay=0.02))
    await bot.fake.user_posts("Explain transformers", channel=dm, thread_ts=thread_ts)
    await bot.settle()
    statuses = [h["status"] for h in thread["status_history"]]
    assert statuses[0] == "is thinking…" and statuses[-1] == ""  # cleared by the answer
    assert thread["title"] == "Explain transformers"
    assert [visible(m) for m in bot.answers(dm, thread_ts)] == ["Transformers use attention."]


async def test_another_apps_bot_is_never_answered_and_costs_no_claim(bot):
    other = {"user": "U0OTHERBOT", "bot_id": "B0OTHER001"}
    mention = {**bot.fake.build_app_mention("hello from a bot", channel=CHANNEL), **other}
    await bot.send(mention)
    direct = bot.fake.build_message("hello again", channel=DM, **other)
    await bot.send(direct)
    await bot.settle()
    assert bot.router.requests == [] and bot.answers(CHANNEL, mention["ts"]) == []
    # the core's router turned them away before anything was written: their claims are still free
    for event in (mention, direct):
        assert await bot.core.store.claim_event("slack", f"msg:{event['channel']}/{event['ts']}")


async def test_a_channel_message_not_for_the_bot_writes_nothing(bot):
    post = await bot.fake.user_posts("lunch at noon?", channel=CHANNEL, user=ALICE, mention=False)
    await bot.settle()
    assert bot.router.requests == [] and bot.answers(CHANNEL, post.ts) == []
    assert await bot.core.store.claim_event("slack", f"msg:{CHANNEL}/{post.ts}")  # routed away before any claim


async def test_retried_event_is_answered_once(bot):
    bot.router.queue(text_script("Only once."))
    event = bot.fake.build_event_callback(bot.fake.build_app_mention("say it once", channel=CHANNEL))
    await bot.send(event)
    await bot.send(event, retry_attempt=1, retry_reason="timeout")  # same event_id, acked too
    await bot.settle()
    ts = event["event"]["ts"]
    assert [visible(m) for m in bot.answers(CHANNEL, ts)] == ["Only once."]
    assert len(bot.router.requests) == 1


async def test_own_echoes_are_ignored_and_user_edits_reach_the_core(bot):
    bot.router.queue(text_script("An answer."))
    post = await bot.fake.user_posts("a question", channel=DM)
    await bot.settle()
    # the fake echoed our stream's message and its message_changed: nothing answered them
    await wait_for(lambda: len(bot.fake.acks) == len(bot.fake.envelopes), what="every envelope acked")
    assert len(bot.router.requests) == 1
    assert len(bot.answers(DM, post.ts)) == 1

    await bot.send(bot.fake.build_message_changed(DM, post.ts, "an edited question"))
    await bot.settle()
    stored = await bot.core.store.find_by_platform_message("slack", f"{DM}/{post.ts}")
    assert stored.content == "an edited question"
    await bot.send(bot.fake.build_message_deleted(DM, post.ts))
    await bot.settle()
    assert await bot.core.store.find_by_platform_message("slack", f"{DM}/{post.ts}") is None
    assert len(bot.router.requests) == 1


@pytest.mark.parametrize(("allow", "answered"), [("none", 0), ("mentions", 1)])
async def test_another_apps_bot_is_answered_only_as_allow_bots_says(core_factory, fake_router, allow, answered):
    core_factory_with = functools.partial(_with_settings, core_factory, allow_bots=allow)
    async with FakeSlack() as fake, running_bot(core_factory_with, fake_router, fake) as bot:
        fake_router.queue(text_script("Hello, bot."))
        other = {"user": "U0OTHERBOT", "bot_id": "B0OTHER001"}
        mention = {**fake.build_app_mention("hello from a bot", channel=CHANNEL), **other}
        await bot.send(mention)
        await bot.settle()
        assert len(bot.router.requests) == answered
        assert [visible(m) for m in bot.answers(CHANNEL, mention["ts"])] == ["Hello, bot."] * answered


async def _with_settings(core_factory, url, **settings):
    return await core_factory(url, **settings)
