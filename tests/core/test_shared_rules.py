"""Rules that are the same on every platform, held by the core and called by each adapter: which buttons an answer
carries, closing an interrupted answer, whether a message is meant for the bot, a DM's current conversation, the
conversation a command acts on, exports by format, settings by name and the scope `/model` writes."""

from __future__ import annotations

import json

import pytest

from core.conversations.routing import IncomingMessage, Route
from core.errors import NotAllowed, NotFound, UnknownModel
from core.keys import Actor, ConversationKey
from core.records import MessageStatus, Scope, StoredMessage
from core.replies.actions import ReplyAction, reply_actions
from core.replies.interrupted import INTERRUPTED_NOTICE, notice_room, with_notice
from core.settings.scopes import check_place_here, model_scope
from core.streaming import ReplyView

LLAMA = "meta-llama/Llama-3.3-70B-Instruct"
QWEN = "Qwen/Qwen3-32B"
ALICE = Actor("test", "alice", "Alice", "W1")
BOB = Actor("test", "bob", "Bob", "W1")
ADMIN = Actor("test", "root", "Root", "W1", is_admin=True)
THREAD = ConversationKey("test", "W1", "C1", "T1")
CHANNEL = ConversationKey("test", "W1", "C1", "")
DM = ConversationKey("test", "", "D1", "dm-1")


def view(phase="done", status=MessageStatus.COMPLETE, *, is_last=True, reasoning=False, reply_id=7) -> ReplyView:
    return ReplyView(reply_id, phase, status, is_last, 0, LLAMA, has_reasoning=reasoning, conversation_id=3)


# the buttons under an answer
def test_an_answer_streaming_carries_stop_only_and_only_on_its_last_message():
    assert reply_actions(view("streaming", MessageStatus.STREAMING)) == [ReplyAction.STOP]
    assert reply_actions(view("streaming", MessageStatus.STREAMING, is_last=False)) == []
    assert reply_actions(view(is_last=False, status=MessageStatus.TRUNCATED)) == []


def test_a_finished_answer_offers_regenerate_continue_when_cut_and_its_reasoning():
    votes_and_delete = [ReplyAction.FEEDBACK_UP, ReplyAction.FEEDBACK_DOWN, ReplyAction.DELETE]  # where drawn (Slack)
    assert reply_actions(view()) == [ReplyAction.REGENERATE, *votes_and_delete]
    for cut in (MessageStatus.TRUNCATED, MessageStatus.STOPPED, MessageStatus.INTERRUPTED):
        assert reply_actions(view(status=cut)) == [ReplyAction.REGENERATE, ReplyAction.CONTINUE, *votes_and_delete]
    assert reply_actions(view(status=MessageStatus.ERROR)) == [ReplyAction.REGENERATE, *votes_and_delete]
    assert reply_actions(view(reasoning=True)) == [ReplyAction.REGENERATE, ReplyAction.REASONING, *votes_and_delete]
    # no stored answer: nothing to look the reasoning up by, or to vote on
    assert reply_actions(view(reasoning=True, reply_id=None)) == [ReplyAction.REGENERATE]


# interrupted answers
def test_the_interrupted_notice_goes_under_the_saved_text():
    assert with_notice("Part one") == f"Part one\n\n{INTERRUPTED_NOTICE}"
    assert with_notice("  \n") == INTERRUPTED_NOTICE  # nothing was saved: the notice alone
    assert notice_room(2000) == 2000 - len(INTERRUPTED_NOTICE) - 2


async def test_an_interrupted_answer_is_closed_by_its_own_platform_only(core):
    conversation = await core.store.create_conversation(THREAD, "alice", "t")
    reply = StoredMessage(
        role="assistant", content="saved so far", reasoning="hmm", status=MessageStatus.INTERRUPTED, model=LLAMA
    )
    reply.platform_message_id, reply.conversation_id = "100", conversation.id
    reply.id = await core.store.add_message(conversation.id, reply)
    answer = await core.chat.interrupted_answer(reply, "test")
    assert answer is not None and answer.conversation.id == conversation.id
    assert answer.view == ReplyView(
        reply.id, "done", MessageStatus.INTERRUPTED, True, 0, LLAMA, has_reasoning=True, conversation_id=conversation.id
    )
    assert answer.last_message == "100" and answer.saved_text(2000) == "saved so far"
    assert answer.saved_text(len(INTERRUPTED_NOTICE) + 5) is None  # does not fit with the notice: keep what is shown
    assert await core.chat.interrupted_answer(reply, "slack") is None
    reply.conversation_id = conversation.id + 1000
    assert await core.chat.interrupted_answer(reply, "test") is None  # its conversation is gone


async def test_an_answer_over_several_messages_is_closed_on_its_last_one(core):
    conversation = await core.store.create_conversation(THREAD, "alice", "t")
    reply = StoredMessage(role="assistant", content="short", status=MessageStatus.INTERRUPTED)
    reply.platform_message_id, reply.extra, reply.conversation_id = "100", {"last_message": "101"}, conversation.id
    reply.id = await core.store.add_message(conversation.id, reply)
    answer = await core.chat.interrupted_answer(reply, "test")
    assert answer.last_message == "101"
    assert answer.saved_text(2000) is None  # the saved text is the whole answer, not what its last message shows


# whether a message is meant for the bot, without the database
@pytest.mark.parametrize(
    "fields, meant",
    [
        ({}, False),
        ({"is_dm": True}, True),
        ({"mentioned": True}, True),
        ({"replied_to": "55"}, True),
        ({"thread": "T1", "in_bot_thread": True}, True),
        ({"thread": "T1"}, False),
        ({"is_dm": True, "from_bot": True}, False),
    ],
)
def test_a_message_is_meant_for_the_bot_when_it_is_addressed_to_it(fields, meant):
    assert IncomingMessage("test", "W1", "C1", "M1", **fields).meant_for_bot is meant


# a DM's current conversation
async def test_a_route_that_makes_a_dm_conversation_current_is_followed(core):
    first = await core.chat.dms.key("test", "", "D1")
    assert first == ConversationKey("test", "", "D1", await core.chat.dms.current("test", "", "D1"))
    assert await core.chat.dms.key("test", "", "D1") == first  # the same until /new
    newer = await core.chat.dms.key("test", "", "D1", new=True)
    assert newer != first
    await core.chat.routing.follow(Route(first))  # not asked to: nothing changes
    assert await core.chat.dms.key("test", "", "D1") == newer
    await core.chat.routing.follow(Route(first, make_current=True))
    assert await core.chat.dms.key("test", "", "D1") == first


# the conversation a command acts on
async def test_the_conversation_here_is_a_threads_never_a_channels(core):
    in_thread = await core.store.create_conversation(THREAD, "alice", "t")
    await core.store.create_conversation(CHANNEL, "alice", "top")
    assert (await core.chat.conversations.here(THREAD)).id == in_thread.id
    assert await core.chat.conversations.here(CHANNEL) is None
    assert await core.chat.conversations.here(ConversationKey("test", "W1", "C1", "T9")) is None


async def test_a_conversation_by_its_number_in_the_list_newest_first(core):
    older = await core.store.create_conversation(THREAD, "alice", "older")
    await core.store.create_conversation(ConversationKey("test", "W2", "C1", "T2"), "alice", "newer")
    listed = await core.chat.conversations.list(ALICE, 50)
    numbered = core.chat.conversations.numbered
    assert [(await numbered(ALICE, n, listed=50)).id for n in (1, 2)] == [c.id for c in listed]
    assert (await numbered(ALICE, 1, listed=50, workspace="W1")).id == older.id  # numbered as that list shows them
    assert await numbered(ALICE, 3, listed=50) is None
    assert await numbered(ALICE, 0, listed=50) is None
    assert await numbered(ALICE, 2, listed=1) is None  # past what the list shows
    assert await numbered(BOB, 1, listed=50) is None  # only one's own


async def test_a_command_acts_on_the_conversation_named_by_link_number_or_id_else_the_one_here(core):
    here = await core.store.create_conversation(THREAD, "alice", "here")
    other = await core.store.create_conversation(ConversationKey("test", "W1", "C2", "T2"), "alice", "other")
    chosen = core.chat.conversations.named_or_here
    assert (await chosen(ALICE, THREAD)).id == here.id
    assert await chosen(ALICE, CHANNEL) is None
    assert (await chosen(ALICE, CHANNEL, str(other.id))).id == other.id  # a picker's value: the id
    assert (await chosen(ALICE, CHANNEL, "2", listed_in="W1")).id == here.id  # a number: the list, newest first
    assert (await chosen(ALICE, CHANNEL, linked=other.key)).id == other.id
    with pytest.raises(NotAllowed):
        await chosen(ALICE, CHANNEL, linked=ConversationKey("test", "W9", "C2", "T2"))  # another workspace's thread
    with pytest.raises(NotFound):
        await chosen(ALICE, CHANNEL, linked=ConversationKey("test", "W1", "C2", "T404"))
    with pytest.raises(NotFound):
        await chosen(Actor("test", "eve", "Eve", "W9"), CHANNEL, str(other.id))  # another workspace, not hers


async def test_an_export_comes_in_the_format_asked(core, fake_router):
    from tests.fakes.fake_router import text_script
    from tests.support.sinks import RecordingSink

    fake_router.queue(text_script("Hello there."))
    submitted = await core.chat.submit(THREAD, ALICE, "Hi", RecordingSink())
    await submitted.reply
    conversation_id = submitted.conversation.id
    as_json = json.loads(await core.chat.conversations.export(conversation_id, ALICE, "json"))
    assert [m["content"] for m in as_json["messages"]] == ["Hi", "Hello there."]
    assert await core.chat.conversations.export(
        conversation_id, ALICE
    ) == await core.chat.conversations.export_markdown(conversation_id, ALICE)
    with pytest.raises(NotAllowed):
        await core.chat.conversations.export(conversation_id, BOB, "json")


# settings by name, and the scope /model writes
async def test_a_setting_by_name_goes_through_its_own_rule(core):
    change = core.chat.preferences.change
    assert await change(ALICE, THREAD, Scope.USER, "model", "qwen/qwen3-32b") == QWEN  # checked against the list
    with pytest.raises(UnknownModel):
        await change(ALICE, THREAD, Scope.USER, "model", "nope/never")
    for clear in ("default", "Reset", None):
        await change(ALICE, THREAD, Scope.USER, "model", QWEN)
        assert await change(ALICE, THREAD, Scope.USER, "model", clear) is None
        assert (await core.chat.preferences.model_choice(THREAD, "alice")).model == LLAMA
    assert await change(ALICE, THREAD, Scope.USER, "temperature", "0.4") == "0.4"
    assert await change(ALICE, THREAD, Scope.USER, "temperature", "default") is None


def test_model_writes_the_place_named_else_the_conversation_here_else_your_default():
    assert model_scope(ALICE, THREAD, None, in_conversation=True) is Scope.CONVERSATION
    assert model_scope(ALICE, THREAD, None, in_conversation=False) is Scope.USER
    assert model_scope(ADMIN, CHANNEL, Scope.CHANNEL, in_conversation=False) is Scope.CHANNEL
    assert model_scope(ADMIN, THREAD, Scope.WORKSPACE, in_conversation=True) is Scope.WORKSPACE
    with pytest.raises(NotAllowed, match="Only members with Manage Server can set the server default model"):
        model_scope(ALICE, CHANNEL, Scope.WORKSPACE, in_conversation=False, workspace="server",
                    admins="members with Manage Server")  # fmt: skip
    with pytest.raises(NotAllowed, match="Only an admin can set the channel default model"):
        model_scope(ALICE, CHANNEL, Scope.CHANNEL, in_conversation=False)
    with pytest.raises(NotAllowed, match="Channel and server defaults can only be set in a server"):
        model_scope(ADMIN, DM, Scope.CHANNEL, in_conversation=True, workspace="server")
    check_place_here(DM, Scope.USER)  # one's own settings: anywhere
    with pytest.raises(NotAllowed, match="Channel and workspace settings can only be set in a workspace"):
        check_place_here(DM, Scope.WORKSPACE)
