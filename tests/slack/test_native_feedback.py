"""Slack's native feedback buttons (a context_actions block with feedback_buttons) under a finished answer: each
vote is stored with the answer and the voter (a second vote by the same person replaces theirs), and erased with
the conversation."""

from __future__ import annotations

from core.keys import ConversationKey
from core.records import Scope
from tests.fakes.fake_router import text_script
from tests.support.slack import ALICE, BOB, CHANNEL, visible


def feedback(message) -> dict:
    [element] = [e for b in message.blocks or [] if b["type"] == "context_actions" for e in b["elements"]]
    return element


async def vote(bot, message, side: str, user: str) -> None:
    element = feedback(message)
    await bot.interact(
        bot.fake.build_block_actions(
            action_id=element["action_id"],
            action_type="feedback_buttons",
            value=element[f"{side}_button"]["value"],
            block_id="hfchat_feedback",
            channel=CHANNEL,
            message_ts=message.ts,
            user=user,
        )
    )


async def stored_votes(bot, conversation, reply_id: int) -> dict[str, str | None]:
    key = conversation.key
    return {
        user: await bot.core.store.get_setting(
            key.platform, key.workspace, Scope.CONVERSATION, str(conversation.id), f"feedback:{reply_id}:{user}"
        )
        for user in (ALICE, BOB)
    }


async def test_native_feedback_votes_are_stored_per_voter_and_erased_with_the_conversation(bot):
    bot.router.queue(text_script("A fine answer.", pieces=3, delay=0.05))
    post = await bot.fake.user_posts("q", channel=CHANNEL, user=ALICE)
    await bot.settle()
    [answer] = bot.answers(CHANNEL, post.ts)
    assert visible(answer) == "A fine answer."
    element = feedback(answer)
    assert element["positive_button"]["text"]["text"] == "👍" and element["negative_button"]["text"]["text"] == "👎"
    # no 👍 / 👎 among the ordinary buttons any more
    assert not [
        e for b in answer.blocks if b["type"] == "actions" for e in b["elements"] if "feedback" in e["action_id"]
    ]

    key = ConversationKey("slack", bot.fake.team_id, CHANNEL, post.ts)
    conversation = await bot.core.chat.conversations.for_key(key)
    reply_id = int(feedback(answer)["positive_button"]["value"].removeprefix("up:"))
    await vote(bot, answer, "positive", ALICE)
    await vote(bot, answer, "negative", BOB)
    assert await stored_votes(bot, conversation, reply_id) == {ALICE: "up", BOB: "down"}
    await vote(bot, answer, "negative", ALICE)  # changed their mind
    assert await stored_votes(bot, conversation, reply_id) == {ALICE: "down", BOB: "down"}
    assert not bot.fake.ephemerals and not bot.responses()  # Slack shows the pressed button itself

    # erased with the conversation
    await bot.fake.user_posts("<@U0BOT00001> delete", channel=CHANNEL, thread_ts=post.ts, user=ALICE)
    await bot.settle()
    assert await bot.core.chat.conversations.for_key(key) is None
    assert await stored_votes(bot, conversation, reply_id) == {ALICE: None, BOB: None}


async def test_the_streaming_answer_has_no_feedback_yet(bot):
    bot.router.queue(text_script("Short.", pieces=2, delay=0.05))
    post = await bot.fake.user_posts("q", channel=CHANNEL, user=ALICE, mention=True)
    await bot.settle()
    [answer] = bot.answers(CHANNEL, post.ts)
    stop_call = bot.fake.calls("chat.stopStream")[-1]
    assert any(b["type"] == "context_actions" for b in stop_call.params["blocks"])
    starts = bot.fake.calls("chat.startStream")
    assert all("context_actions" not in str(c.params) for c in starts)
    assert feedback(answer)["positive_button"]["value"].startswith("up:")


async def test_the_fake_refuses_feedback_buttons_outside_context_actions(bot):
    from slack_sdk.errors import SlackApiError

    element = {"type": "feedback_buttons", "action_id": "x", "positive_button": {}, "negative_button": {}}
    try:
        await bot.adapter.client.chat_postMessage(
            channel=CHANNEL, text="x", blocks=[{"type": "actions", "elements": [element]}]
        )
    except SlackApiError as exc:
        assert exc.response["error"] == "invalid_blocks"
    else:
        raise AssertionError("the fake took feedback_buttons in an actions block")
