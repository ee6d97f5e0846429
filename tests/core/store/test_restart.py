"""What a restart relies on: the store finds the replies of dead processes only (on both backends), and a reply's
first message id is stored while it streams. Real processes killed and restarted: tests/e2e/test_restart.py.
"""

from __future__ import annotations

import time

import pytest

from core.keys import ConversationKey
from core.records import MessageStatus, StoredMessage
from tests.fakes.fake_router import text_script
from tests.support.sinks import RecordingSink
from tests.support.stores import PG_URL, same_place
from tests.support.waits import wait_until


def _reply(worker_id: str) -> StoredMessage:
    return StoredMessage(role="assistant", content="", status=MessageStatus.STREAMING, worker_id=worker_id)


async def test_orphans_are_the_replies_of_dead_workers_only(store):
    other = same_place(store)
    await other.open()
    try:
        await store.register_worker("me", "host", 1)
        await other.register_worker("neighbour", "host", 2)
        conversation = await store.create_conversation(ConversationKey("slack", "T", "C", "1"), "u")
        mine = await store.add_message(conversation.id, _reply("me"))
        theirs = await store.add_message(conversation.id, _reply("neighbour"))
        legacy = await store.add_message(conversation.id, _reply(""))
        ghost = await store.add_message(conversation.id, _reply("a-process-that-never-registered"))

        found = await store.interrupt_orphans(time.time() - 60, keep="me")
        assert [m.id for m in found] == [legacy, ghost]
        assert all(m.status == MessageStatus.INTERRUPTED for m in found)
        assert (await store.get_message(theirs)).status == MessageStatus.STREAMING
        assert (await store.get_message(mine)).status == MessageStatus.STREAMING

        # the neighbour goes silent: stale heartbeats count as dead on every backend
        await other.heartbeat("neighbour")
        assert await store.interrupt_orphans(time.time() - 60, keep="me") == []
        found = await store.interrupt_orphans(time.time() + 1, keep="me")
        assert [m.id for m in found] == [theirs]

        # a clean exit interrupts what is left of one's own, and nothing else
        assert await store.retire_worker("me") == 1
        assert (await store.get_message(mine)).status == MessageStatus.INTERRUPTED
    finally:
        await other.close()


@pytest.mark.postgres
async def test_pg_a_dead_workers_lock_is_free_at_once(pg_schema):
    from core.store.postgres import PostgresStore

    first, second = PostgresStore(PG_URL, schema=pg_schema), PostgresStore(PG_URL, schema=pg_schema)
    await first.open()
    await second.open()
    try:
        await first.register_worker("first")
        await second.register_worker("second")
        conversation = await first.create_conversation(ConversationKey("slack", "T", "C", "1"), "u")
        reply = await second.add_message(conversation.id, _reply("second"))
        assert await first.interrupt_orphans(time.time() - 60, keep="first") == []
        await second.close()  # the session ends, as when the process dies: its heartbeat is still fresh
        found = await first.interrupt_orphans(time.time() - 60, keep="first")
        assert [m.id for m in found] == [reply]
    finally:
        await first.close()
        await second.close()


async def test_the_first_message_id_is_stored_while_streaming(core, fake_router):
    fake_router.queue(text_script("one two three four five six", pieces=6, delay=0.15))
    key = ConversationKey("console", "", "local", "t1")
    from core.keys import Actor

    sink = RecordingSink()
    submitted = await core.chat.submit(key, Actor("console", "u1", "u1"), "hello", sink)

    async def streaming_reply():
        messages = await core.store.recent_messages(submitted.conversation.id, 5)
        return [m for m in messages if m.role == "assistant" and m.platform_message_id]

    found = await wait_until(streaming_reply, within=5, what="the reply's message id")
    assert found[0].status == MessageStatus.STREAMING
    assert (found[0].platform_message_id, found[0].worker_id) == ("m1", core.worker_id)
    await submitted.reply
    final = (await core.store.recent_messages(submitted.conversation.id, 5))[-1]
    assert (final.status, final.platform_message_id) == (MessageStatus.COMPLETE, "m1")


async def test_live_workers_are_those_heard_from_recently(store):
    # what the budgets shared through Redis divide by when Redis is out of reach
    other = same_place(store)
    await other.open()
    try:
        assert await store.live_workers(time.time() - 60) == 0
        await store.register_worker("me", "host", 1)
        await other.register_worker("neighbour", "host", 2)
        assert await store.live_workers(time.time() - 60) == 2
        assert await store.live_workers(time.time() + 1) == 0  # nobody since then
        await store.retire_worker("me")
        assert await other.live_workers(time.time() - 60) == 1
    finally:
        await other.close()
