"""Whether and where a message is answered (core.conversations.routing), one rule per test, with no platform:
DMs with and without threads, mentions at the top of a channel under each channel policy, threads the bot holds
and someone else's, replies to inline answers; and who may change a channel's policy."""

from __future__ import annotations

import pytest

from core.conversations.routing import IncomingMessage
from core.errors import NotAllowed
from core.keys import Actor, ConversationKey
from core.records import StoredMessage

ADMIN = Actor("test", "A1", workspace="W1", is_admin=True)
MEMBER = Actor("test", "U1", workspace="W1")


def message(message_id: str = "M1", **fields) -> IncomingMessage:
    return IncomingMessage("test", "W1", "C1", message_id, **fields)


@pytest.fixture
def chat(core):
    return core.chat


async def test_a_mention_at_the_top_of_a_channel_opens_a_thread_named_by_the_message(chat):
    route = await chat.routing.route(message("M1", mentioned=True))
    assert route.answer and route.open_thread and route.starts_here and not route.inline
    assert route.key == ConversationKey("test", "W1", "C1", "M1")


async def test_an_unaddressed_message_at_the_top_of_a_channel_is_ignored(chat):
    assert not (await chat.routing.route(message("M1"))).answer


async def test_the_channel_policy_answers_mentions_inline_or_not_at_all(chat):
    await chat.policy.set_mention_mode(ADMIN, "W1", "C1", "inline")
    route = await chat.routing.route(message("M1", mentioned=True))
    assert route.inline and not route.open_thread and route.key.thread == "msg-M1"
    await chat.policy.set_mention_mode(ADMIN, "W1", "C1", "off")
    assert not (await chat.routing.route(message("M2", mentioned=True))).answer
    assert (
        await chat.routing.route(IncomingMessage("test", "W1", "C2", "M3", mentioned=True))
    ).open_thread  # per channel


async def test_where_no_thread_can_be_opened_a_mention_is_answered_inline(chat):
    route = await chat.routing.route(message("M1", mentioned=True, can_open_thread=False))
    assert route.inline and route.key.thread == "msg-M1"


async def test_a_reply_to_an_inline_answer_continues_its_conversation(chat, core):
    key = ConversationKey("test", "W1", "C1", "msg-M1")
    conversation = await core.store.create_conversation(key, "U1")
    await core.store.add_message(
        conversation.id, StoredMessage(role="assistant", content="an answer", platform_message_id="R1")
    )
    route = await chat.routing.route(message("M2", replied_to="R1"))
    assert route.key == key and route.inline and not route.starts_here
    elsewhere = await chat.routing.route(IncomingMessage("test", "W1", "C9", "M3", replied_to="R1"))
    assert elsewhere.key != key and elsewhere.open_thread  # another channel never continues it: a fresh one there


async def test_in_a_thread_the_bot_holds_follow_ups_need_no_mention_unless_the_channel_turned_that_off(chat, core):
    key = ConversationKey("test", "W1", "C1", "T1")
    await core.store.create_conversation(key, "U1")
    assert (await chat.routing.route(message("M2", thread="T1"))).key == key
    await chat.policy.set_follow_ups(ADMIN, "W1", "C1", on=False)
    assert not (await chat.routing.route(message("M3", thread="T1"))).answer
    mentioned = await chat.routing.route(message("M4", thread="T1", mentioned=True))
    assert mentioned.key == key and not mentioned.adopt


async def test_in_someone_elses_thread_only_a_mention_is_answered_and_the_thread_is_adopted(chat):
    assert not (await chat.routing.route(message("M2", thread="T7"))).answer
    route = await chat.routing.route(message("M3", thread="T7", mentioned=True))
    assert route.key == ConversationKey("test", "W1", "C1", "T7") and route.adopt


async def test_in_a_dm_every_message_is_answered_in_the_current_conversation(chat):
    first = await chat.routing.route(IncomingMessage("test", "", "D1", "M1", is_dm=True))
    again = await chat.routing.route(IncomingMessage("test", "", "D1", "M2", is_dm=True))
    assert first.answer and first.key == again.key and not first.make_current
    fresh = await chat.dms.current("test", "", "D1", new=True)  # /new
    after_new = await chat.routing.route(IncomingMessage("test", "", "D1", "M3", is_dm=True))
    assert after_new.key.thread == fresh != first.key.thread


async def test_in_a_dm_with_threads_each_thread_is_a_conversation(chat):
    top = await chat.routing.route(IncomingMessage("test", "W1", "D1", "M1", is_dm=True, dm_threads=True))
    reply = await chat.routing.route(
        IncomingMessage("test", "W1", "D1", "M2", thread="M1", is_dm=True, dm_threads=True)
    )
    assert top.key == reply.key == ConversationKey("test", "W1", "D1", "M1") and top.make_current


async def test_replying_to_an_older_dm_answer_brings_its_conversation_back(chat, core):
    old = await chat.routing.route(IncomingMessage("test", "", "D1", "M1", is_dm=True))
    conversation = await core.store.create_conversation(old.key, "U1")
    await core.store.add_message(
        conversation.id, StoredMessage(role="assistant", content="old answer", platform_message_id="R1")
    )
    await chat.dms.current("test", "", "D1", new=True)
    route = await chat.routing.route(IncomingMessage("test", "", "D1", "M2", is_dm=True, replied_to="R1"))
    assert route.key == old.key and route.make_current


@pytest.mark.parametrize("change", ["mentions", "follow-ups"])
async def test_only_an_admin_of_that_workspace_changes_a_channels_policy(chat, change):
    async def apply(actor, workspace):
        if change == "mentions":
            await chat.policy.set_mention_mode(actor, workspace, "C1", "off")
        else:
            await chat.policy.set_follow_ups(actor, workspace, "C1", on=False)

    with pytest.raises(NotAllowed, match="Only an admin"):
        await apply(MEMBER, "W1")
    with pytest.raises(NotAllowed, match="Only an admin"):
        await apply(Actor("test", "A2", workspace="W2", is_admin=True), "W1")  # an admin of another workspace
    with pytest.raises(NotAllowed, match="channel setting"):
        await apply(ADMIN, "")  # a DM has no channel policy
    assert await chat.policy.mention_mode("test", "W1", "C1") == "thread"
    assert await chat.policy.follow_ups("test", "W1", "C1")
    await apply(ADMIN, "W1")
    if change == "mentions":
        assert await chat.policy.mention_mode("test", "W1", "C1") == "off"
    else:
        assert not await chat.policy.follow_ups("test", "W1", "C1")
