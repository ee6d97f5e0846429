"""The database locked, restarted or briefly unreachable: retried, and nothing lost or stored twice.

Faults are real: another connection holds SQLite's write lock (`BEGIN IMMEDIATE`) or PostgreSQL's lock on
the messages table (the bot's connections run with a short `lock_timeout`, as an operator may set), and
the bot's PostgreSQL backends are ended with `pg_terminate_backend`, as a server restart or a failover
does. Store tests run on both backends, like tests/test_store.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator

import aiosqlite
import pytest

from core.chat import NOT_SAVED
from core.errors import StoreUnavailable
from core.keys import Actor, ConversationKey
from core.ops import metrics
from core.records import MessageStatus, StoredMessage
from core.store.base import MESSAGE_FIELDS, Store, encode_field
from core.store.retry import RetryPolicy
from core.store.sqlite import SQLiteStore
from tests.fakes.discord_server import FakeDiscord, running_client
from tests.fakes.fake_router import text_script
from tests.fakes.slack_server import FakeSlack
from tests.processes import wait_until
from tests.slack.conftest import CHANNEL, running_bot, visible
from tests.support import RecordingSink
from tests.test_store import PG_URL, _fresh_schema, open_store

try:
    import asyncpg

    from core.store.postgres import PostgresStore
except ImportError:  # asyncpg is an optional extra; the PostgreSQL cases then skip in _fresh_schema
    asyncpg = None
    PostgresStore = None

FAST = RetryPolicy(attempts=3, first_delay=0.05, max_delay=0.1)  # gives up after about 0.5 s of faults
LOCK_TIMEOUT = "100ms"  # the bot's PostgreSQL statements wait this long for a table lock, then fail


def _pg_url(app_name: str) -> str:
    return f"{PG_URL}?lock_timeout={LOCK_TIMEOUT}&application_name={app_name}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request, tmp_path) -> AsyncIterator[Store]:
    async with open_store(request.param, tmp_path, _pg_url) as s:
        yield s


@contextlib.asynccontextmanager
async def messages_locked(store: Store) -> AsyncIterator[None]:
    """Another connection keeps the bot from writing messages until the block ends (reads still work).

    SQLite: it holds the database's write lock. PostgreSQL: it holds an EXCLUSIVE lock on `messages`, so
    other tables (event claims, conversations) stay writable and the fault lands on the message itself.
    """
    if isinstance(store, SQLiteStore):
        db = await aiosqlite.connect(store.path, isolation_level=None)
        try:
            await db.execute("BEGIN IMMEDIATE")
            try:
                yield
            finally:
                await db.execute("COMMIT")
        finally:
            await db.close()
        return
    conn = await asyncpg.connect(PG_URL, server_settings={"search_path": f'"{store.schema}"'})
    try:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute("LOCK TABLE messages IN EXCLUSIVE MODE")
        try:
            yield
        finally:
            await transaction.commit()
    finally:
        await conn.close()


async def terminate_backends(app_name: str) -> int:
    """End every PostgreSQL session of the bot (by its application_name), as a server restart does."""
    conn = await asyncpg.connect(PG_URL)
    try:
        return await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", app_name
        )
    finally:
        await conn.close()


def _counter(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(f"hfchat_{name}_total", labels) or 0.0


async def _rows(store: Store, sql: str) -> list[tuple]:
    if isinstance(store, SQLiteStore):
        async with store.db.execute(sql) as cur:
            return [tuple(row) for row in await cur.fetchall()]
    return [tuple(row) for row in await store.pool.fetch(sql)]


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
    store.retry_policy = FAST
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
    store = PostgresStore(_pg_url(app_name), schema=schema)
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


@pytest.fixture
async def pg_app_schema() -> AsyncIterator[tuple[str, str]]:
    async with _fresh_schema() as schema:
        yield schema, schema  # the schema's unique name doubles as the application_name


# the chat service


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def backend_settings(request) -> AsyncIterator[dict]:
    """Settings overrides for a core on each backend (SQLite: the default temp file)."""
    if request.param == "sqlite":
        yield {}
        return
    async with _fresh_schema() as schema:
        yield {"database_url": _pg_url(schema), "database_schema": schema}


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
    core = await core_factory(fake_router.url, database_url=_pg_url(app_name), database_schema=schema)
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
    core.chat.checkpoint_seconds = 0.5
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


# Slack: HTTP mode acknowledges only what is stored


async def test_slack_http_200_comes_once_the_message_is_stored_and_the_answer_streams_after(core_factory, fake_router):
    from bots.slack.http import serve_http

    async with FakeSlack() as fake:
        async with running_bot(core_factory, fake_router, fake, socket=False, store_before_ack=True) as bot:
            runner = await serve_http(bot.adapter, "127.0.0.1", 0)
            url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
            try:
                fake_router.queue(text_script("A slow answer, long after the 200.", pieces=10, delay=0.15))
                event = fake.build_event_callback(fake.build_app_mention("store me first", channel=CHANNEL))
                response = await fake.http_send(url, event)
                assert response.status == 200
                rows = await _rows(bot.core.store, "SELECT role, content, status FROM messages ORDER BY id")
                assert rows[0] == ("user", "store me first", "complete")  # stored before the 200
                assert rows[1:] == [("assistant", "", "streaming")] or rows[1:] == []  # the answer comes after
                await bot.settle()
                assert [visible(m) for m in bot.answers(CHANNEL, event["event"]["ts"])] == [
                    "A slow answer, long after the 200."
                ]
            finally:
                await runner.cleanup()


async def test_slack_http_database_unavailable_errors_and_the_redelivery_is_answered_once(
    core_factory, fake_router, backend_settings
):
    from bots.slack.http import serve_http

    async def factory(url: str):
        return await core_factory(url, **backend_settings)

    async with FakeSlack() as fake:
        async with running_bot(factory, fake_router, fake, socket=False, store_before_ack=True) as bot:
            store = bot.core.store
            store.retry_policy = FAST
            runner = await serve_http(bot.adapter, "127.0.0.1", 0)
            url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
            try:
                event = fake.build_event_callback(fake.build_app_mention("please keep this", channel=CHANNEL))
                async with messages_locked(store):
                    failed = await fake.http_send(url, event)
                assert failed.status >= 500  # not acknowledged: Slack delivers it again
                # SQLite refused the claim itself; PostgreSQL took the claim, failed on the message and gave
                # the claims back. Either way nothing of the message is stored.
                assert await _rows(store, "SELECT role FROM messages") == []
                assert await _rows(store, "SELECT event_id FROM processed_events") == []
                assert await _rows(store, "SELECT title FROM conversations WHERE title <> ''") == []
                assert fake_router.requests == []

                fake_router.queue(text_script("Kept and answered."))
                retried = await fake.http_send(url, event, retry_num=1, retry_reason="http_error")
                again = await fake.http_send(url, event, retry_num=2, retry_reason="http_timeout")
                assert (retried.status, again.status) == (200, 200)
                await bot.settle()
                assert [visible(m) for m in bot.answers(CHANNEL, event["event"]["ts"])] == ["Kept and answered."]
                assert len(fake_router.requests) == 1
                rows = await _rows(store, "SELECT role, content FROM messages ORDER BY id")
                assert rows == [("user", "please keep this"), ("assistant", "Kept and answered.")]
            finally:
                await runner.cleanup()


# Socket Mode and Discord cannot un-acknowledge: the person is asked to send it again


@pytest.mark.postgres
async def test_slack_socket_mode_asks_to_send_again_and_stores_nothing(core_factory, fake_router, pg_app_schema):
    schema, app_name = pg_app_schema

    async def factory(url: str):
        return await core_factory(url, database_url=_pg_url(app_name), database_schema=schema)

    async with FakeSlack() as fake:
        async with running_bot(factory, fake_router, fake) as bot:
            store = bot.core.store
            store.retry_policy = FAST
            mention = fake.build_app_mention("a message the database refuses", channel=CHANNEL)
            async with messages_locked(store):
                await bot.send(mention)
                await bot.settle()
            assert NOT_SAVED in bot.ephemeral_texts()
            assert await _rows(store, "SELECT role FROM messages") == []
            assert await _rows(store, "SELECT event_id FROM processed_events") == []  # claims given back
            assert await _rows(store, "SELECT title FROM conversations WHERE title <> ''") == []
            assert fake_router.requests == [] and bot.answers(CHANNEL, mention["ts"]) == []


@pytest.mark.postgres
async def test_discord_asks_to_send_again_and_stores_nothing(core_factory, fake_router, pg_app_schema):
    from bots.discord.app import build_bot

    schema, app_name = pg_app_schema
    core = await core_factory(fake_router.url, database_url=_pg_url(app_name), database_schema=schema)
    core.store.retry_policy = FAST
    async with FakeDiscord() as fake:
        bot = build_bot(core, print_invite=False, guild_ready_timeout=0.05)
        async with running_client(fake, bot):
            channel = fake.default_channel["id"]
            async with messages_locked(core.store):
                sent = await fake.message_create(channel, fake.default_user, f"<@{fake.bot_user['id']}> hello?")
                await fake.wait_until(lambda: any(NOT_SAVED in m.content for m in _everywhere(fake)), within=10)
        [told] = [m for m in _everywhere(fake) if NOT_SAVED in m.content]
        assert told.data["message_reference"]["message_id"] == sent["id"]  # a reply to the message
        fake.assert_clean()
    assert await _rows(core.store, "SELECT role FROM messages") == []
    assert await _rows(core.store, "SELECT event_id FROM processed_events") == []
    assert await _rows(core.store, "SELECT title FROM conversations WHERE title <> ''") == []
    assert fake_router.requests == []


def _everywhere(fake: FakeDiscord) -> list:
    return [m for channel_id in fake.channels for m in fake.channel_messages(channel_id)]
