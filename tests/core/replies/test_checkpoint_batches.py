"""The partial text of every answer streaming at once is saved in one transaction per tick, not one per answer:
a thousand answers streaming would otherwise commit five hundred times a second (issue 18)."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator

import pytest

from core.keys import Actor, ConversationKey
from core.records import MessageStatus, StoredMessage
from core.store.base import Store
from core.store.sqlite import SQLiteStore
from tests.fakes.fake_router import text_script
from tests.support.sinks import RecordingSink
from tests.support.stores import open_store
from tests.support.waits import wait_until

# an UPDATE that saves an answer's text and nothing else: a checkpoint (a final update also sets its status;
# the save at the first post also sets the posted message's id)
CHECKPOINT = re.compile(r"^UPDATE messages SET content=(?!.*\b(status|platform_message_id)=)", re.S)


class Transactions:
    """What a SQLite connection commits, from its trace: each transaction's statements (a statement outside
    BEGIN ... COMMIT is a transaction of its own)."""

    def __init__(self) -> None:
        self.committed: list[list[str]] = []
        self._open: list[str] | None = None
        self._lock = threading.Lock()

    def __call__(self, sql: str) -> None:  # called on the connection's thread
        with self._lock:
            word = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
            if word == "BEGIN":
                self._open = []
            elif word == "COMMIT":
                self.committed.append(self._open or [])
                self._open = None
            elif word == "ROLLBACK":
                self._open = None
            elif self._open is not None:
                if not self._open or self._open[-1] != sql:  # a statement firing triggers is traced again for each
                    self._open.append(sql)
            elif word in ("INSERT", "UPDATE", "DELETE") and (not self.committed or self.committed[-1] != [sql]):
                self.committed.append([sql])

    def checkpoints(self) -> list[int]:
        """For each transaction that saved checkpoints: how many."""
        with self._lock:
            counts = [sum(1 for sql in t if CHECKPOINT.match(sql)) for t in self.committed]
        return [c for c in counts if c]


async def test_answers_streaming_together_save_their_text_in_one_transaction_per_tick(core_factory, fake_router):
    core = await core_factory(fake_router.url)
    core.chat.pipeline.checkpoint_seconds = 0.5
    assert isinstance(core.store, SQLiteStore)
    trace = Transactions()
    await core.store.db.set_trace_callback(trace)
    answers = 12
    answer = "".join(f"word{i} " for i in range(100))
    for _ in range(answers):
        fake_router.queue(text_script(answer, pieces=100, delay=0.025))  # 100 tokens over about 2.5 s
    submitted = [
        await core.chat.submit(
            ConversationKey("console", "", "local", f"batch{i}"), Actor("console", f"u{i}", f"u{i}"), "talk",
            RecordingSink(),
        )
        for i in range(answers)
    ]  # fmt: skip
    started = asyncio.get_running_loop().time()
    states = [(await s.reply).state for s in submitted]
    streamed_for = asyncio.get_running_loop().time() - started
    await core.store.db.set_trace_callback(None)
    assert [s.status for s in states] == [MessageStatus.COMPLETE] * answers
    batches = trace.checkpoints()
    # every answer was saved while it streamed, several times ...
    assert sum(batches) >= 2 * answers, batches
    # ... in about one transaction per tick for all of them, not one per answer per tick (before: ~60 here)
    assert len(batches) <= streamed_for / 0.5 + 2, batches
    assert max(batches) >= answers // 2, batches


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request, tmp_path) -> AsyncIterator[Store]:
    async with open_store(request.param, tmp_path) as s:
        yield s


async def _streaming_replies(store: Store, count: int) -> list[int]:
    ids = []
    for i in range(count):
        conversation = await store.create_conversation(ConversationKey("discord", "g", "c", f"t{i}"), "u1")
        await store.add_message(conversation.id, StoredMessage(role="user", content="hi"))
        reply = StoredMessage(role="assistant", content="", status=MessageStatus.STREAMING)
        ids.append(await store.add_message(conversation.id, reply))
    return ids


async def _transactions_of(store: Store, ids: list[int]) -> int:
    """How many transactions last wrote these rows (PostgreSQL: their distinct xmin)."""
    pool = store.pool  # type: ignore[attr-defined]
    return await pool.fetchval("SELECT count(DISTINCT xmin::text) FROM messages WHERE id = ANY($1::bigint[])", ids)


async def test_update_messages_writes_them_all_in_one_transaction(store):
    ids = await _streaming_replies(store, 5)
    conversations = [(await store.get_message(i)).conversation_id for i in ids]
    for c in conversations:  # the history cache holds each conversation: it must follow the batch
        assert [m.content for m in await store.recent_messages(c, 10)] == ["hi", ""]
    trace = Transactions()
    if isinstance(store, SQLiteStore):
        await store.db.set_trace_callback(trace)
    gone = 10**9  # a reply deleted meanwhile: skipped, the others written
    updates = [(i, {"content": f"part {n}", "reasoning": ""}) for n, i in enumerate(ids)]
    updates[-1][1]["extra"] = {"last_message": "m2"}  # another set of fields in the same batch
    await store.update_messages([*updates[:2], (gone, {"content": "x", "reasoning": ""}), *updates[2:]])
    if isinstance(store, SQLiteStore):
        await store.db.set_trace_callback(None)
        assert trace.checkpoints() == [6]  # the missing row's UPDATE matched nothing
    else:
        assert await _transactions_of(store, ids) == 1
    for n, (i, c) in enumerate(zip(ids, conversations, strict=True)):
        recent = await store.recent_messages(c, 10)
        assert [m.content for m in recent] == ["hi", f"part {n}"]
        assert (await store.get_message(i)).content == f"part {n}"
    assert (await store.get_message(ids[-1])).extra == {"last_message": "m2"}
    assert (await store.get_message(ids[0])).extra == {}
    with pytest.raises(ValueError):
        await store.update_messages([(ids[0], {"nonsense": 1})])
    await store.update_messages([])


async def test_a_tick_saves_only_answers_that_changed_and_skips_finished_ones(store, fake_router):
    from core.replies.checkpoints import AnswerCheckpoints, CheckpointWriter

    class Stream:  # what AnswerCheckpoints reads of a ReplyStream
        def __init__(self) -> None:
            self.state = type("State", (), {"version": 0, "answer": "", "reasoning": ""})()
            self.on_first_message = None

        def last_ref_id(self) -> str:
            return ""

        def first_ref_id(self) -> str:
            return ""

    ids = await _streaming_replies(store, 3)
    writer = CheckpointWriter(store, every=3600)  # ticks by hand here
    streams = [Stream() for _ in ids]
    answers = [AnswerCheckpoints(writer, i, s, "discord", None) for i, s in zip(ids, streams, strict=True)]
    for n, s in enumerate(streams):
        s.state.version, s.state.answer = 1, f"text {n}"
    await writer.write_due()
    assert [(await store.get_message(i)).content for i in ids] == ["text 0", "text 1", "text 2"]
    if not isinstance(store, SQLiteStore):
        assert await _transactions_of(store, ids) == 1
    streams[1].state.version, streams[1].state.answer = 2, "text 1 more"
    streams[2].state.version, streams[2].state.answer = 2, "text 2 more"
    await answers[2].finish()
    await store.update_message(ids[2], content="final", status=MessageStatus.COMPLETE.value)
    await writer.write_due()  # only the answer that changed and still streams
    assert [(await store.get_message(i)).content for i in ids] == ["text 0", "text 1 more", "final"]
    for a in answers[:2]:
        await a.finish()
    await wait_until(lambda: writer._ticker is None, what="the ticker to stop with no answer streaming")
