"""A Stop that reaches a process other than the one writing the answer stops it within a second (the stop bus,
core.replies.stopbus): two cores on one PostgreSQL schema, through LISTEN/NOTIFY, or through Redis pub/sub when
REDIS_URL is set. Who may stop is checked where the Stop arrives, and again where the answer is written. The test
with two real processes is tests/e2e/test_stop_across_processes.py."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from core.errors import NotAllowed
from core.keys import Actor, ConversationKey
from core.records import MessageStatus
from core.replies.stopbus import RedisStopBus, StoreStopBus
from core.streaming import PlatformLimits
from tests.fakes.fake_router import text_script
from tests.support.redis import REDIS_URL, fresh_namespace
from tests.support.sinks import RecordingSink
from tests.support.stores import PG_URL, fresh_schema
from tests.support.waits import wait_for

pytestmark = pytest.mark.postgres

KEY = ConversationKey("test", "W1", "C1", "T1")
ALICE = Actor("test", "alice", "Alice", "W1")
MALLORY = Actor("test", "mallory", "Mallory", "W1")
LIMITS = PlatformLimits(max_chars=2000, edit_interval=0.05)


@contextlib.asynccontextmanager
async def two_cores(core_factory, router_url: str, via: str):
    async with fresh_schema() as schema, contextlib.AsyncExitStack() as stack:
        extra = {}
        if via == "redis":
            namespace = await stack.enter_async_context(fresh_namespace())
            extra = {"redis_url": REDIS_URL, "redis_namespace": namespace}
        cores = [
            await core_factory(router_url, database_url=PG_URL, database_schema=schema, worker_id=f"w{i}", **extra)
            for i in range(2)
        ]
        yield cores


@pytest.mark.parametrize("via", ["postgres", "redis"])
async def test_a_stop_sent_to_another_process_stops_the_answer_within_a_second(core_factory, fake_router, via):
    async with two_cores(core_factory, fake_router.url, via) as (writer, other):
        expected = RedisStopBus if via == "redis" else StoreStopBus
        assert isinstance(writer.chat.replies.bus, expected) and isinstance(other.chat.replies.bus, expected)
        fake_router.queue(text_script("words " * 200, pieces=200, delay=0.05))
        sink = RecordingSink(LIMITS)
        submitted = await writer.chat.submit(KEY, ALICE, "write a lot", sink)
        await wait_for(
            lambda: writer.chat.replies.is_streaming(submitted.conversation.id) and sink.calls, what="streaming"
        )
        conversation_id = submitted.conversation.id
        assert not other.chat.replies.is_streaming(conversation_id)

        # someone who may not stop it is told so where they pressed, and nothing is sent
        with pytest.raises(NotAllowed):
            await other.chat.replies.stop(conversation_id, MALLORY)
        await asyncio.sleep(0.3)
        assert writer.chat.replies.is_streaming(conversation_id)

        pressed = time.monotonic()
        assert await other.chat.replies.stop(conversation_id, ALICE) is True
        outcome = await asyncio.wait_for(submitted.reply, 5)
        assert time.monotonic() - pressed < 1.0
        log = fake_router.streams[-1]
        assert log.finished is None and log.closed is not None and log.closed - pressed < 1.0
        assert outcome.state.status == MessageStatus.STOPPED
        assert sink.texts()[-1].endswith("*Stopped.*")
        stored = (await other.store.recent_messages(conversation_id, 1))[-1]
        assert stored.status == MessageStatus.STOPPED

        # nothing is being written any more: the next Stop says so, and sends nothing
        assert await other.chat.replies.stop(conversation_id, ALICE) is False
