"""The router request goes out while the answer's reply row is written (core.replies.pipeline `requested`): the
database and the router no longer wait for each other, and a failure of either leaves a consistent state."""

from __future__ import annotations

import asyncio

import pytest

from core.errors import StoreUnavailable
from core.keys import Actor, ConversationKey
from core.records import MessageStatus, StoredMessage
from tests.fakes.fake_router import Status, text_script
from tests.support.sinks import RecordingSink
from tests.support.waits import wait_until

ACTOR = Actor("console", "u1", "Ann")


def _gate_reply_rows(store, gate: asyncio.Event | None = None, fail: bool = False) -> list[str]:
    """Make the store's insert of an answer's row wait for `gate`, or fail as a database down through every retry."""
    add_message = store.add_message
    seen: list[str] = []

    async def gated(conversation_id: int, message: StoredMessage) -> int:
        if message.role == "assistant":
            seen.append("reply row")
            if gate is not None:
                await gate.wait()
            if fail:
                raise StoreUnavailable("add_message", ConnectionError("down"))
        return await add_message(conversation_id, message)

    store.add_message = gated
    return seen


async def _stored(core, conversation_id: int) -> list[tuple[str, str, MessageStatus]]:
    return [(m.role, m.content, m.status) for m in await core.store.recent_messages(conversation_id, 10)]


async def test_the_router_request_goes_out_before_the_reply_row_is_written(core, fake_router):
    gate = asyncio.Event()
    _gate_reply_rows(core.store, gate)
    fake_router.queue(text_script("An answer."))
    key = ConversationKey("console", "", "local", "early")
    submitted = await core.chat.submit(key, ACTOR, "hello", RecordingSink())
    # the row's insert is held: the request is under way all the same
    await wait_until(lambda: fake_router.requests, what="the router request while the reply row is being written")
    gate.set()
    outcome = await submitted.reply
    assert outcome.state.status == MessageStatus.COMPLETE
    assert await _stored(core, submitted.conversation.id) == [
        ("user", "hello", MessageStatus.COMPLETE),
        ("assistant", "An answer.", MessageStatus.COMPLETE),
    ]


async def test_a_router_failure_meanwhile_is_stored_on_the_reply_row_once_it_exists(core, fake_router):
    gate = asyncio.Event()
    _gate_reply_rows(core.store, gate)
    fake_router.queue([Status(400, {"error": {"message": "bad request"}})])
    key = ConversationKey("console", "", "local", "router-fails")
    sink = RecordingSink()
    submitted = await core.chat.submit(key, ACTOR, "hello", sink)
    await wait_until(lambda: fake_router.requests, what="the router request")
    await asyncio.sleep(0.1)  # the refusal has come back while the row is still being written
    gate.set()
    outcome = await submitted.reply
    assert outcome.state.status == MessageStatus.ERROR
    stored = await _stored(core, submitted.conversation.id)
    assert [(role, status) for role, _, status in stored] == [
        ("user", MessageStatus.COMPLETE),
        ("assistant", MessageStatus.ERROR),
    ]
    assert sink.calls  # the failure is shown in place, as before


@pytest.mark.parametrize(
    "backend_settings", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_a_reply_row_that_cannot_be_written_calls_the_request_off_and_stores_no_half_answer(
    core_factory, fake_router, backend_settings
):
    core = await core_factory(fake_router.url, **backend_settings)
    gate = asyncio.Event()
    seen = _gate_reply_rows(core.store, gate, fail=True)
    fake_router.queue(text_script("Never shown.", pieces=4, delay=0.5))
    key = ConversationKey("console", "", "local", "store-fails")
    sink = RecordingSink()
    submitted = await core.chat.submit(key, ACTOR, "hello", sink)
    await wait_until(lambda: fake_router.streams, what="the router's answer to start")
    gate.set()
    with pytest.raises(StoreUnavailable):
        await submitted.reply
    assert seen == ["reply row"]
    await wait_until(lambda: fake_router.streams[0].closed, what="the request to be called off")
    assert sink.calls == []  # nothing shown of an answer that could not be stored
    assert await _stored(core, submitted.conversation.id) == [("user", "hello", MessageStatus.COMPLETE)]
    assert not core.chat.replies.is_streaming(submitted.conversation.id)

    # the conversation is free again: the next message is answered whole
    core.store.add_message = type(core.store).add_message.__get__(core.store)
    fake_router.queue(text_script("Answered."))
    again = await core.chat.submit(key, ACTOR, "again", RecordingSink())
    assert (await again.reply).state.status == MessageStatus.COMPLETE
    assert await _stored(core, submitted.conversation.id) == [
        ("user", "hello", MessageStatus.COMPLETE),
        ("user", "again", MessageStatus.COMPLETE),
        ("assistant", "Answered.", MessageStatus.COMPLETE),
    ]


class SlowToShowWorking(RecordingSink):
    """A sink whose `working` status call takes a while (Slack's assistant status, over a slow connection)."""

    def __init__(self) -> None:
        super().__init__()
        self.showing = asyncio.Event()
        self.shown = asyncio.Event()

    async def working(self) -> None:
        self.showing.set()
        await self.shown.wait()


async def test_a_stop_before_the_stream_reads_the_request_calls_the_request_off(core, fake_router):
    fake_router.queue(text_script("A long answer nobody reads.", pieces=10, delay=0.2))
    key = ConversationKey("console", "", "local", "stopped-early")
    sink = SlowToShowWorking()
    submitted = await core.chat.submit(key, ACTOR, "hello", sink)
    await asyncio.wait_for(sink.showing.wait(), 15)  # the request is under way, the stream has not begun reading it
    assert await core.chat.replies.stop(submitted.conversation.id, ACTOR)
    sink.shown.set()
    outcome = await asyncio.wait_for(submitted.reply, 15)
    assert outcome.state.status == MessageStatus.STOPPED
    await wait_until(lambda: fake_router.streams and fake_router.streams[0].closed, what="the request to be called off")
    assert fake_router.streams[0].finished is None  # not streamed to its end into a connection nobody reads
    stored = await _stored(core, submitted.conversation.id)
    assert [(role, status) for role, _, status in stored] == [
        ("user", MessageStatus.COMPLETE),
        ("assistant", MessageStatus.STOPPED),
    ]
