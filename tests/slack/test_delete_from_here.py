"""The "Delete from here" message shortcut (callback id delete_from_here) against the fake Slack."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from core.keys import ConversationKey
from tests.fakes.fake_router import text_script
from tests.support.slack import ADMIN, ALICE, BOB, CHANNEL, visible

WHO = {"owner": ALICE, "admin": ADMIN, "other": BOB}


async def thread_of_three(bot) -> tuple[str, list[str]]:
    """Alice's thread: q1 a1 q2 a2 q3 a3; returns the thread ts and the ts of her three questions."""
    bot.router.queue(text_script("First answer."))
    root = await bot.fake.user_posts("first question", channel=CHANNEL, user=ALICE)
    await bot.settle()
    questions = [root.ts]
    for n, word in ((2, "Second"), (3, "Third")):
        bot.router.queue(text_script(f"{word} answer."))
        post = await bot.fake.user_posts(f"question {n}", channel=CHANNEL, user=ALICE, thread_ts=root.ts, mention=False)
        await bot.settle()
        questions.append(post.ts)
    return root.ts, questions


async def stored(bot, thread: str) -> list[str]:
    conversation = await bot.core.chat.conversations.for_key(
        ConversationKey("slack", bot.fake.team_id, CHANNEL, thread)
    )
    return [m.content for m in await bot.core.store.recent_messages(conversation.id, 100)] if conversation else []


async def shortcut(bot, ts: str, user: str) -> str:
    await bot.interact(
        bot.fake.build_message_action(channel=CHANNEL, message_ts=ts, callback_id="delete_from_here", user=user)
    )
    return bot.responses()[-1]


@pytest.mark.parametrize("who", ["owner", "admin"])
async def test_delete_from_a_question(bot, who):
    thread, questions = await thread_of_three(bot)
    assert [visible(m) for m in bot.answers(CHANNEL, thread)] == ["First answer.", "Second answer.", "Third answer."]
    reply = await shortcut(bot, questions[1], WHO[who])
    assert reply == "Deleted 4 stored messages from there on and 2 of my replies."
    assert await stored(bot, thread) == ["first question", "First answer."]
    assert [visible(m) for m in bot.answers(CHANNEL, thread)] == ["First answer."]

    bot.router.queue(text_script("Fresh."))
    await bot.fake.user_posts("question 4", channel=CHANNEL, user=ALICE, thread_ts=thread, mention=False)
    await bot.settle()
    sent = [m["content"] for m in bot.router.requests[-1]["messages"] if m["role"] != "system"]
    assert sent == ["first question", "First answer.", "question 4"]


async def test_delete_from_an_answer(bot):
    thread, _ = await thread_of_three(bot)
    second_answer = bot.answers(CHANNEL, thread)[1]
    reply = await shortcut(bot, second_answer.ts, ALICE)
    assert reply == "Deleted 3 stored messages from there on and 2 of my replies."
    assert await stored(bot, thread) == ["first question", "First answer.", "question 2"]


async def test_someone_else_is_refused(bot):
    thread, questions = await thread_of_three(bot)
    reply = await shortcut(bot, questions[1], BOB)
    assert "Only the conversation's owner or an admin" in reply
    assert len(await stored(bot, thread)) == 6 and len(bot.answers(CHANNEL, thread)) == 3


async def test_a_message_outside_any_conversation(bot):
    post = await bot.fake.user_posts("no bot here", channel=CHANNEL, user=ALICE, mention=False)
    await bot.settle()
    reply = await shortcut(bot, post.ts, ALICE)
    assert "not part of a conversation I keep" in reply


def test_the_shortcut_is_in_the_manifest():
    manifest = yaml.safe_load((Path(__file__).parents[2] / "config" / "slack-manifest.yaml").read_text())
    shortcuts = {s["callback_id"]: s for s in manifest["features"]["shortcuts"]}
    assert shortcuts["delete_from_here"]["type"] == "message"
    assert shortcuts["delete_from_here"]["name"] == "Delete from here"


async def test_a_later_part_of_a_long_answer_stands_for_the_whole_answer(bot):
    paragraphs = [f"Paragraph {n}. " + "words " * 300 for n in range(8)]  # ~14,500 characters: two messages
    bot.router.queue(text_script("\n\n".join(paragraphs), pieces=8))
    root = await bot.fake.user_posts("a long one", channel=CHANNEL, user=ALICE)
    await bot.settle()
    parts = bot.answers(CHANNEL, root.ts)
    assert len(parts) == 2
    reply = await shortcut(bot, parts[1].ts, ALICE)
    assert reply == "Deleted 1 stored message from there on and 2 of my replies."
    assert await stored(bot, root.ts) == ["a long one"] and bot.answers(CHANNEL, root.ts) == []
