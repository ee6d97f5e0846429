"""Deleting a thread's history (shortcut, button, `@bot delete`, `/delete`) and all of a user's data."""

from __future__ import annotations

import pytest

from core.keys import ConversationKey
from tests.fakes.fake_router import text_script
from tests.support.slack import ADMIN, ALICE, BOB, CHANNEL, DM

WHO = {"owner": ALICE, "admin": ADMIN, "other": BOB}


async def _owned_thread(bot, channel: str = CHANNEL) -> tuple[str, ConversationKey]:
    bot.router.queue(text_script("An answer to delete."))
    post = await bot.fake.user_posts("remember this", channel=channel, user=ALICE)
    await bot.settle()
    key = ConversationKey("slack", bot.fake.team_id, channel, post.ts)
    assert await bot.core.chat.conversations.for_key(key) is not None
    return post.ts, key


async def _check(bot, key: ConversationKey, who: str, replies: list[str]) -> None:
    conversation = await bot.core.chat.conversations.for_key(key)
    if who == "other":
        assert conversation is not None, "a non-owner must not delete"
        assert any("Only the conversation's owner or an admin" in r for r in replies), replies
    else:
        assert conversation is None
        assert any(r.startswith("Deleted") for r in replies), replies


@pytest.mark.parametrize("who", ["owner", "admin", "other"])
async def test_delete_by_message_shortcut(bot, who):
    ts, key = await _owned_thread(bot)
    await bot.interact(
        bot.fake.build_message_action(channel=CHANNEL, message_ts=ts, callback_id="delete_conversation", user=WHO[who])
    )
    await _check(bot, key, who, bot.responses())


@pytest.mark.parametrize("who", ["owner", "admin", "other"])
async def test_delete_by_button(bot, who):
    ts, key = await _owned_thread(bot)
    answer = bot.answers(CHANNEL, ts)[0]
    value = next(
        e["value"]
        for b in answer.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "hfchat_delete"
    )
    await bot.interact(
        bot.fake.build_block_actions(
            action_id="hfchat_delete", value=value, channel=CHANNEL, message_ts=answer.ts, user=WHO[who]
        )
    )
    await _check(bot, key, who, bot.responses())


@pytest.mark.parametrize("who", ["owner", "admin", "other"])
async def test_delete_by_mention_text(bot, who):
    ts, key = await _owned_thread(bot)
    await bot.fake.user_posts("delete", channel=CHANNEL, thread_ts=ts, user=WHO[who])
    await bot.settle()
    await _check(bot, key, who, bot.ephemeral_texts())
    assert len(bot.router.requests) == 1  # "delete" was a command, not a prompt


@pytest.mark.parametrize("who", ["owner", "admin", "other"])
async def test_delete_by_slash_command_with_thread_link(bot, who):
    ts, key = await _owned_thread(bot)
    link = f"https://{bot.fake.team_domain}.slack.com/archives/{CHANNEL}/p{ts.replace('.', '')}"
    await bot.command("/delete", f"<{link}>", user=WHO[who], channel=CHANNEL)
    await _check(bot, key, who, bot.responses())


async def test_slash_delete_in_dm_erases_the_current_dm_conversation(bot):
    _first, first_key = await _owned_thread(bot, DM)
    _second, second_key = await _owned_thread(bot, DM)
    await bot.command("/delete", "", user=ALICE, channel=DM)
    assert await bot.core.chat.conversations.for_key(second_key) is None
    assert await bot.core.chat.conversations.for_key(first_key) is not None
    assert bot.responses()[-1].startswith("Deleted")


async def test_delete_all_my_data_after_confirmation(bot):
    await _owned_thread(bot)
    await _owned_thread(bot, DM)
    bot.router.queue(text_script("Bob's answer."))
    bob_post = await bot.fake.user_posts("bob asks", channel=CHANNEL, user=BOB)
    await bot.settle()

    await bot.command("/delete", "all", user=ALICE)
    confirm = bot.fake.response_url_posts[-1]["body"]
    buttons = [e["action_id"] for b in confirm["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["hfchat_delete_all_confirm", "hfchat_delete_all_cancel"]
    assert len(await bot.core.store.list_conversations("slack", ALICE)) == 2  # nothing yet

    await bot.interact(bot.fake.build_block_actions(action_id="hfchat_delete_all_confirm", value="all", user=ALICE))
    assert await bot.core.store.list_conversations("slack", ALICE) == []
    assert "2 conversations" in bot.responses()[-1]
    bob_key = ConversationKey("slack", bot.fake.team_id, CHANNEL, bob_post.ts)
    assert await bot.core.chat.conversations.for_key(bob_key) is not None


async def test_slash_delete_by_number_from_the_conversations_list(bot):
    _older, older_key = await _owned_thread(bot)
    _newer, newer_key = await _owned_thread(bot)
    await bot.command("/delete", "1", user=BOB, channel=CHANNEL)  # Bob's list has nothing: number 1 is not Alice's
    assert "There is no conversation number 1" in bot.responses()[-1]
    await bot.command("/delete", "1", user=ALICE, channel=CHANNEL)  # newest first, as /conversations lists them
    assert bot.responses()[-1].startswith("Deleted")
    assert await bot.core.chat.conversations.for_key(newer_key) is None
    assert await bot.core.chat.conversations.for_key(older_key) is not None
