"""The buttons under an answer, decided once in core/replies/actions.py for every front end: which ones an answer
has, what pressing each does (with who may), and how an answer a dead process left unfinished is closed."""

from __future__ import annotations

import dataclasses

import pytest

from core.errors import NotAllowed
from core.keys import Actor, ConversationKey
from core.records import MessageStatus, Scope, StoredMessage
from core.replies import actions
from core.replies.actions import reply_actions
from core.streaming import PlatformLimits, ReplyView
from tests.fakes.fake_router import text_script
from tests.support.sinks import RecordingSink

KEY = ConversationKey("test", "W1", "C1", "T1")
ALICE = Actor("test", "alice", "Alice", "W1")
BOB = Actor("test", "bob", "Bob", "W1")


def view(phase: str, status: str = MessageStatus.COMPLETE, *, reasoning: bool = False, reply_id: int | None = 7):
    return ReplyView(reply_id, phase, status, True, 0, "m", has_reasoning=reasoning)


def test_which_buttons_an_answer_has():
    assert reply_actions(view("streaming", MessageStatus.STREAMING)) == [actions.STOP]
    done = [actions.REGENERATE, actions.FEEDBACK_UP, actions.FEEDBACK_DOWN, actions.DELETE]
    assert reply_actions(view("done")) == done
    assert reply_actions(view("done", MessageStatus.TRUNCATED, reasoning=True)) == [
        actions.REGENERATE,
        actions.CONTINUE,
        actions.REASONING,
        actions.FEEDBACK_UP,
        actions.FEEDBACK_DOWN,
        actions.DELETE,
    ]
    for cut in (MessageStatus.STOPPED, MessageStatus.INTERRUPTED):
        assert actions.CONTINUE in reply_actions(view("done", cut))
    assert reply_actions(view("done", reply_id=None)) == [actions.REGENERATE]  # nothing stored to vote on


async def _answered(core, fake_router):
    fake_router.queue(text_script("An answer."))
    submitted = await core.chat.submit(KEY, ALICE, "A question", RecordingSink(PlatformLimits(2000, 0.01)))
    await submitted.reply
    return submitted.conversation, await core.chat.conversations.last_reply_id(KEY)


async def test_pressing_the_buttons(core, fake_router):
    conversation, reply_id = await _answered(core, fake_router)
    press = core.chat.actions.press
    sinks = []

    def sink_for(key):
        assert key == KEY
        sinks.append(RecordingSink(PlatformLimits(2000, 0.01)))
        return sinks[-1]

    stopped = await press(actions.STOP, conversation, ALICE, sink_for)
    assert not stopped.done  # nothing was being written
    await press(actions.FEEDBACK_UP, conversation, BOB, sink_for, reply_id=reply_id)
    stored = await core.store.get_setting(
        "test", "W1", Scope.CONVERSATION, str(conversation.id), f"feedback:{reply_id}:bob"
    )
    assert stored == "up"
    fake_router.queue(text_script("Another answer."))
    regenerated = await press(actions.REGENERATE, conversation, ALICE, sink_for)
    await regenerated.submitted.reply
    assert sinks and sinks[-1].texts() == ["Another answer."]
    with pytest.raises(NotAllowed):
        await press(actions.DELETE, conversation, BOB, sink_for)  # not Bob's, and Bob is no admin
    await press(actions.DELETE, conversation, ALICE, sink_for)
    assert await core.chat.conversations.for_key(KEY) is None


async def test_interrupted_answers_of_one_platform_with_their_view(core, fake_router):
    conversation, reply_id = await _answered(core, fake_router)
    reply = StoredMessage(
        id=reply_id,
        role="assistant",
        content="Half an ans",
        reasoning="I thought",
        model="m",
        status=MessageStatus.INTERRUPTED,
        conversation_id=conversation.id,
        platform_message_id="C1/1.2",
    )
    elsewhere = dataclasses.replace(reply, conversation_id=999_999)
    assert await core.chat.actions.interrupted("slack", [reply]) == []  # another platform's answer
    (found,) = await core.chat.actions.interrupted("test", [reply, elsewhere])
    assert found.conversation.id == conversation.id and found.reply is reply
    assert (found.view.phase, found.view.status, found.view.is_last) == ("done", MessageStatus.INTERRUPTED, True)
    assert reply_actions(found.view)[:3] == [actions.REGENERATE, actions.CONTINUE, actions.REASONING]
