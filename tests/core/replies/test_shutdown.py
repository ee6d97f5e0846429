"""Shutdown (chat.replies) keeps its grace whatever the platform's requests are doing: answers finish, or are stopped
near the end (their final text still sent), or are given up at the deadline and stored INTERRUPTED."""

from __future__ import annotations

import asyncio
import time

import pytest

from core.errors import ShuttingDown
from core.keys import Actor, ConversationKey
from core.records import MessageStatus
from core.streaming import PlatformLimits
from tests.fakes.fake_router import text_script
from tests.support.sinks import RecordingSink

KEY = ConversationKey("test", "W1", "C1", "T1")
ALICE = Actor("test", "alice", "Alice", "W1")
LIMITS = PlatformLimits(max_chars=2000, edit_interval=0.05)


class HangingSink(RecordingSink):
    """The platform takes every request and never answers."""

    async def post(self, text, view):
        await asyncio.Event().wait()


async def stored_answer(core, conversation_id: int):
    return [m for m in await core.store.recent_messages(conversation_id, 5) if m.role == "assistant"][-1]


async def test_a_send_that_never_returns_is_given_up_at_the_deadline(core, fake_router):
    fake_router.queue(text_script("words " * 40, pieces=40, delay=0.05))
    submitted = await core.chat.submit(KEY, ALICE, "hello", HangingSink(LIMITS))
    await asyncio.sleep(0.5)
    started = time.monotonic()
    await core.chat.replies.shutdown(grace=1.0)
    assert time.monotonic() - started < 1.5
    answer = await stored_answer(core, submitted.conversation.id)
    assert answer.status == MessageStatus.INTERRUPTED and answer.content  # the text so far is kept


async def test_answers_still_streaming_near_the_end_are_stopped_with_their_final_text(core, fake_router):
    fake_router.queue(text_script("words " * 100, pieces=100, delay=0.05))
    sink = RecordingSink(LIMITS)
    submitted = await core.chat.submit(KEY, ALICE, "hello", sink)
    await asyncio.sleep(0.3)
    await core.chat.replies.shutdown(grace=1.0)
    answer = await stored_answer(core, submitted.conversation.id)
    assert answer.status == MessageStatus.STOPPED
    assert sink.texts()[-1].endswith("*Stopped.*") and sink.calls[-1].view.phase == "done"


async def test_new_messages_are_refused_once_shutdown_began(core, fake_router):
    await core.chat.replies.shutdown(grace=0.1)
    with pytest.raises(ShuttingDown):
        await core.chat.submit(KEY, ALICE, "too late", RecordingSink(LIMITS))
    await core.chat.replies.shutdown(grace=0.1)  # again (another front end, Core.close): the same, finished shutdown
