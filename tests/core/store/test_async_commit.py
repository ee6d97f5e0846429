"""DATABASE_ASYNC_COMMIT: on PostgreSQL an event's claim and a person's message commit without waiting for the disk,
for those transactions only; everything else they promise (one claim per event, the message stored once, the
history cache kept in step) holds as with durable commits."""

from __future__ import annotations

import uuid

import pytest

from core.keys import ConversationKey
from core.records import StoredMessage
from core.startup import open_configured_store
from tests.support.settings import make_settings
from tests.support.stores import PG_URL, PostgresStore, fresh_schema

pytestmark = pytest.mark.postgres


async def test_claims_and_messages_commit_asynchronously_in_their_own_transaction_only():
    async with fresh_schema() as schema:
        # one connection: what a statement set would still be set for the next one
        store = PostgresStore(PG_URL, schema=schema, async_commit=True, min_size=1, max_size=1)
        await store.open()
        try:
            assert await store.claim_event("slack", "Ev1")
            assert not await store.claim_event("slack", "Ev1")  # a redelivery
            token = uuid.uuid4().hex  # a retried claim whose first try committed still knows its own row
            assert await store._claim("slack", "Ev2", token)
            assert await store._claim("slack", "Ev2", token)
            assert not await store._claim("slack", "Ev2", uuid.uuid4().hex)

            conversation = await store.create_conversation(ConversationKey("slack", "T", "C", "1"), "u1")
            before = await store.conversation_version(conversation.id)
            asked = await store.add_message(conversation.id, StoredMessage(role="user", content="question"))
            answered = await store.add_message(conversation.id, StoredMessage(role="assistant", content="answer"))
            assert await store.conversation_version(conversation.id) == before + 2  # the triggers ran
            assert [(m.id, m.content) for m in await store.recent_messages(conversation.id, 10)] == [
                (asked, "question"),
                (answered, "answer"),
            ]
            assert await store.pool.fetchval("SHOW synchronous_commit") == "on"  # SET LOCAL: nothing stays set
        finally:
            await store.close()


async def test_the_setting_reaches_the_store(tmp_path):
    async with fresh_schema() as schema:
        for value in (True, False):
            settings = make_settings(
                tmp_path, "http://127.0.0.1:9/v1", database_url=PG_URL, database_schema=schema,
                database_async_commit=value,
            )  # fmt: skip
            store = await open_configured_store(settings)
            try:
                assert store.async_commit is value
            finally:
                await store.close()
