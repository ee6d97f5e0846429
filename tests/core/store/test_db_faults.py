"""The database locked, restarted or briefly unreachable: retried, and nothing lost or stored twice.

Faults are real: another connection holds SQLite's write lock (`BEGIN IMMEDIATE`) or PostgreSQL's lock on
the messages table (the bot's connections run with a short `lock_timeout`, as an operator may set), and
the bot's PostgreSQL backends are ended with `pg_terminate_backend`, as a server restart or a failover
does (tests/support/stores.py). Store tests run on both backends, like test_store.py; what Slack and Discord
answer meanwhile is in tests/slack and tests/discord (test_db_faults.py).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from core.errors import StoreUnavailable
from core.keys import Actor, ConversationKey
from core.ops import metrics
from core.records import MessageStatus, StoredMessage
from core.store.base import MESSAGE_FIELDS, Store, encode_field
from tests.fakes.fake_router import text_script
from tests.support.sinks import RecordingSink
from tests.support.stores import (
    FAST_RETRY,
    PostgresStore,
    messages_locked,
    open_store,
    pg_url_with_lock_timeout,
    terminate_backends,
)
from tests.support.waits import wait_until


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request, tmp_path) -> AsyncIterator[Store]:
    async with open_store(request.param, tmp_path, pg_url_with_lock_timeout) as s:
        yield s


def _counter(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(f"hfchat_{name}_total", labels) or 0.0


# the store


async def test_a_write_waits_out_a_lock_held_by_another_connection(store):
    conversation = await store.create_conversation(ConversationKey("slack", "T", "C", "1"), "u1")
    retries = _counter("store_retries", backend=store.backend)

    async def hold() -> None:
        async with messages_locked(store):
            held.set()
            await asyncio.sleep(1.0)

    held = asyncio.Event()
    holder = asyncio.create_task(hold())
    await held.wait()
    started = time.monotonic()
    message_id = await store.add_message(conversation.id, StoredMessage(role="user", content="stored anyway"))
    waited = time.monotonic() - started
    await holder

    assert waited >= 0.8  # it really met the lock, and outlasted it
    assert _counter("store_retries", backend=store.backend) > retries  # by retrying, not by one long wait
    assert [(m.id, m.content) for m in await store.recent_messages(conversation.id, 10)] == [
        (message_id, "stored anyway")
    ]


async def test_a_lock_held_past_every_retry_raises_and_stores_nothing(store):
    store.retry_policy = FAST_RETRY
    conversation = await store.create_conversation(ConversationKey("slack", "T", "C", "1"), "u1")
    given_up = _counter("store_unavailable", backend=store.backend)
    async with messages_locked(store):
        with pytest.raises(StoreUnavailable):
            await store.add_message(conversation.id, StoredMessage(role="user", content="never half-stored"))
    assert _counter("store_unavailable", backend=store.backend) == given_up + 1
    assert await store.count_messages(conversation.id) == 0
    await store.add_message(conversation.id, StoredMessage(role="user", content="later"))  # back to normal
    assert [m.content for m in await store.recent_messages(conversation.id, 10)] == ["later"]


async def test_a_released_claim_can_be_claimed_again_and_a_retried_claim_knows_its_own_row(store):
    assert await store.claim_event("slack", "Ev1")
    assert not await store.claim_event("slack", "Ev1")  # a redelivery
    await store.release_event("slack", "Ev1")
    assert await store.claim_event("slack", "Ev1")  # handled again, once
    assert not await store.claim_event("slack", "Ev1")
    await store.release_event("slack", "never-claimed")  # nothing to give back: fine

    # a claim whose first try committed but whose answer was lost tries again with the same token:
    # it must still win, and nobody else may
    token = uuid.uuid4().hex
    assert await store._claim("slack", "Ev2", token)
    assert await store._claim("slack", "Ev2", token)
    assert not await store._claim("slack", "Ev2", uuid.uuid4().hex)


@pytest.mark.postgres
async def test_pg_terminated_connections_are_replaced_and_an_insert_retried_adds_one_row(pg_app_schema):
    schema, app_name = pg_app_schema
    store = PostgresStore(pg_url_with_lock_timeout(app_name), schema=schema)
    await store.open()
    try:
        await store.register_worker("w1")
        conversation = await store.create_conversation(ConversationKey("slack", "T", "C", "1"), "u1")

        # what a backend ended in the middle of a statement raises is recognised as transient
        query = asyncio.create_task(store.pool.fetchval("SELECT pg_sleep(5)"))
        await asyncio.sleep(0.3)
        assert await terminate_backends(app_name) >= 2  # the pool connection running it, the worker lock
        with pytest.raises(Exception) as cut:
            await query
        assert store.is_transient(cut.value), repr(cut.value)

        first = await store.add_message(conversation.id, StoredMessage(role="user", content="after the restart"))
        await store.heartbeat("w1")  # takes the worker lock again on a new connection
        # the same insert twice, as a retry after a lost acknowledgement runs it: still one row
        message_id = await store._next_id("messages")
        once = StoredMessage(role="user", content="once", created_at=1.0)
        values = [encode_field(name, getattr(once, name)) for name in MESSAGE_FIELDS]
        await store._insert_message(message_id, conversation.id, 1.0, values)
        await store._insert_message(message_id, conversation.id, 1.0, values)
        assert [(m.id, m.content) for m in await store.recent_messages(conversation.id, 10)] == [
            (first, "after the restart"),
            (message_id, "once"),
        ]
        async with store.conversation_lock(conversation.id):  # its connection ended while held ...
            assert await terminate_backends(app_name) >= 1
        async with store.conversation_lock(conversation.id):  # ... is no error, and nobody holds it after
            pass
    finally:
        await store.close()


# the chat service


async def test_a_message_sent_while_the_database_is_locked_is_stored_and_answered(
    core_factory, fake_router, backend_settings
):
    core = await core_factory(fake_router.url, **backend_settings)
    fake_router.queue(text_script("Stored and answered."))
    held = asyncio.Event()

    async def hold() -> None:
        async with messages_locked(core.store):
            held.set()
            await asyncio.sleep(1.0)

    holder = asyncio.create_task(hold())
    await held.wait()
    key = ConversationKey("console", "", "local", "locked")
    submitted = await core.chat.submit(key, Actor("console", "u1", "u1"), "are you there?", RecordingSink())
    outcome = await submitted.reply
    await holder
    messages = await core.store.recent_messages(submitted.conversation.id, 10)
    assert [(m.role, m.content, m.status) for m in messages] == [
        ("user", "are you there?", MessageStatus.COMPLETE),
        ("assistant", "Stored and answered.", MessageStatus.COMPLETE),
    ]
    assert outcome.state.status == MessageStatus.COMPLETE


@pytest.mark.postgres
async def test_pg_connections_terminated_mid_conversation_the_next_message_is_answered(
    core_factory, fake_router, pg_app_schema
):
    schema, app_name = pg_app_schema
    core = await core_factory(fake_router.url, database_url=pg_url_with_lock_timeout(app_name), database_schema=schema)
    key = ConversationKey("console", "", "local", "restarted")
    actor = Actor("console", "u1", "u1")
    fake_router.queue(text_script("The first answer, streamed slowly.", pieces=8, delay=0.1))
    fake_router.queue(text_script("The second answer."))

    sink = RecordingSink()
    first = await core.chat.submit(key, actor, "first", sink)
    await wait_until(lambda: sink.calls, what="the first answer to start")
    assert await terminate_backends(app_name) >= 3  # mid-answer: queries, the conversation lock, the worker's
    assert (await first.reply).state.status == MessageStatus.COMPLETE

    assert await terminate_backends(app_name) >= 1  # and again between two messages
    second = await core.chat.submit(key, actor, "second", RecordingSink())
    assert (await second.reply).state.status == MessageStatus.COMPLETE

    messages = await core.store.recent_messages(first.conversation.id, 10)
    assert [(m.role, m.content, m.status) for m in messages] == [
        ("user", "first", MessageStatus.COMPLETE),
        ("assistant", "The first answer, streamed slowly.", MessageStatus.COMPLETE),
        ("user", "second", MessageStatus.COMPLETE),
        ("assistant", "The second answer.", MessageStatus.COMPLETE),
    ]


async def test_partial_answers_are_saved_every_few_seconds_not_per_token(core_factory, fake_router):
    core = await core_factory(fake_router.url)
    core.chat.pipeline.checkpoint_seconds = 0.5
    answer = "".join(f"word{i} " for i in range(120))
    fake_router.queue(text_script(answer, pieces=120, delay=0.025))  # 120 tokens over about 3 s
    platform = "console"
    before = _counter("answer_checkpoints", platform=platform)
    submitted = await core.chat.submit(
        ConversationKey(platform, "", "local", "ckpt"), Actor(platform, "u1", "u1"), "talk", RecordingSink()
    )

    async def partial():
        replies = [m for m in await core.store.recent_messages(submitted.conversation.id, 5) if m.role == "assistant"]
        reply = replies[0] if replies else None
        return reply if reply and reply.status == MessageStatus.STREAMING and len(reply.content) > 100 else None

    saved = await wait_until(partial, within=5, what="a checkpoint with part of the answer")
    assert answer.startswith(saved.content) and len(saved.content) < len(answer)
    started = time.monotonic()
    await submitted.reply
    streamed_for = time.monotonic() - started + 0.5
    writes = _counter("answer_checkpoints", platform=platform) - before
    # one at the first post, then one per 0.5 s at most: a handful, against 120 tokens
    assert 2 <= writes <= 2 + (3.0 / 0.5) + 1, writes
    assert streamed_for > 1.0
    final = (await core.store.recent_messages(submitted.conversation.id, 5))[-1]
    assert (final.content, final.status) == (answer, MessageStatus.COMPLETE)
