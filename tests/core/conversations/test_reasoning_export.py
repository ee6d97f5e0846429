"""Reasoning on request, and exports as JSON besides Markdown."""

from __future__ import annotations

import json

import pytest

from core.errors import NotAllowed, NotFound
from core.keys import Actor, ConversationKey
from core.replies.attachments import Attachment
from tests.fakes.fake_router import chunk, text_script
from tests.support.sinks import RecordingSink

KEY = ConversationKey("test", "W1", "C1", "why")
DM = ConversationKey("test", "", "D1", "dm-1")
ALICE = Actor("test", "alice", "Alice", "W1")
BOB = Actor("test", "bob", "Bob", "W1")
STRANGER = Actor("test", "eve", "Eve", "W9")

THINKING = [chunk(reasoning="The user greets. "), chunk(reasoning="Answer kindly."), *text_script("Hello!")]


async def ask(core, text, key=KEY, actor=ALICE, **kw):
    submitted = await core.chat.submit(key, actor, text, RecordingSink(), **kw)
    outcome = await submitted.reply
    return submitted, outcome


async def test_reasoning_is_shown_on_request(core, fake_router):
    fake_router.queue(THINKING)
    _, outcome = await ask(core, "Hi")
    assert await core.chat.conversations.reasoning(outcome.reply_id, ALICE) == "The user greets. Answer kindly."
    assert (
        await core.chat.conversations.reasoning(outcome.reply_id, BOB) == "The user greets. Answer kindly."
    )  # same workspace
    assert await core.chat.conversations.last_reply_id(KEY) == outcome.reply_id
    with pytest.raises(NotAllowed):
        await core.chat.conversations.reasoning(outcome.reply_id, STRANGER)
    with pytest.raises(NotFound):
        await core.chat.conversations.reasoning(999_999, ALICE)


async def test_answers_without_reasoning_and_dm_privacy(core, fake_router):
    fake_router.queue(text_script("Plain."))
    _, plain = await ask(core, "Hi")
    with pytest.raises(NotFound, match="no reasoning"):
        await core.chat.conversations.reasoning(plain.reply_id, ALICE)
    fake_router.queue(THINKING)
    _, private = await ask(core, "Hi", key=DM, actor=Actor("test", "alice", "Alice"))
    with pytest.raises(NotAllowed):
        await core.chat.conversations.reasoning(private.reply_id, Actor("test", "bob", "Bob"))


async def test_export_json_has_messages_reasoning_and_attachment_names(core, fake_router):
    fake_router.queue(THINKING)
    submitted, _ = await ask(core, "Read this", attachments=[Attachment("a.txt", "text/plain", b"some notes")])
    data = json.loads(await core.chat.conversations.export_json(submitted.conversation.id, ALICE))
    assert data["title"] == "Read this" and data["platform"] == "test"
    user, answer = data["messages"]
    assert user == {
        "role": "user",
        "author": "Alice",
        "content": "Read this",
        "status": "complete",
        "created_at": user["created_at"],
        "attachments": [{"name": "a.txt", "type": "text"}],
    }
    assert answer["content"] == "Hello!" and answer["reasoning"] == "The user greets. Answer kindly."
    assert answer["model"] == "meta-llama/Llama-3.3-70B-Instruct" and answer["completion_tokens"] == 7
    with pytest.raises(NotAllowed):
        await core.chat.conversations.export_json(submitted.conversation.id, BOB)
    markdown = await core.chat.conversations.export_markdown(submitted.conversation.id, ALICE)
    assert markdown.startswith("# Read this")
