"""What a budget learned of its answers' length outlives the process (core.streaming.stored_lengths): a second core on
the same database starts from it, in the workspace it was learned in and, for a workspace it never streamed in, from
the install's most recent lengths; only a new database starts from the guess. Writing it never holds up or breaks an
answer."""

from __future__ import annotations

import logging

import pytest

from core.app import build_core
from core.keys import Actor, ConversationKey
from core.streaming import PlatformLimits
from core.streaming.lengths import PRIOR
from tests.fakes.fake_router import text_script
from tests.support.settings import make_settings
from tests.support.sinks import RecordingSink

LEARNING = PlatformLimits(
    max_chars=2000,
    edit_interval=0.01,
    native_append=True,
    posts_use_bucket=False,
    bucket_rate=50,
    bucket_burst=50,
    learn_answer_lengths=True,
    budget="test-appends",
)
ANSWER = "one two three four five six seven eight"


async def _answer(core, fake_router, workspace: str, thread: str) -> RecordingSink:
    fake_router.queue(text_script(ANSWER, pieces=8, delay=0.05))
    sink = RecordingSink(LEARNING, lane=thread, bucket=workspace)
    key = ConversationKey("console", "", "local", thread)
    submitted = await core.chat.submit(key, Actor("console", "u1", "u1"), "hello", sink)
    await submitted.reply
    return sink


async def _typical(core, workspace: str) -> float:
    throttle = core.chat.throttles.for_limits(LEARNING)
    await throttle.ready(workspace)
    lengths = throttle._bucket(workspace).lengths
    assert lengths is not None
    return lengths.typical


async def test_a_restarted_process_starts_from_what_the_one_before_learned(tmp_path, fake_router, backend_settings):
    settings = make_settings(tmp_path, fake_router.url, **backend_settings)
    first = await build_core(settings)
    try:
        assert await _typical(first, "T1") == PRIOR  # a new install: the guess
        for thread in ("t1", "t2"):
            await _answer(first, fake_router, "T1", thread)
        learned = await _typical(first, "T1")
        assert 0.2 < learned < PRIOR / 2
    finally:
        await first.close(grace=5)  # the lengths pending are written before the database closes
    second = await build_core(settings)
    try:
        assert await _typical(second, "T1") == pytest.approx(learned)  # its workspace: what was learned there
        assert await _typical(second, "T2") == pytest.approx(learned)  # never seen here: the install's most recent
        sink = await _answer(second, fake_router, "T1", "t3")  # and it goes on learning from there
        assert sink.messages and ANSWER in sink.messages.values()
        assert len(second.chat.throttles.for_limits(LEARNING)._bucket("T1").lengths._recent) == 3
    finally:
        await second.close(grace=5)


async def test_a_length_that_cannot_be_stored_is_lost_not_the_answer(core, fake_router, caplog):
    async def broken(rows, keep):
        raise RuntimeError(f"disk full {rows}")

    core.store.record_answer_lengths = broken
    with caplog.at_level(logging.WARNING):
        sink = await _answer(core, fake_router, "T1", "t1")
        await core.chat.throttles.close()  # the write is tried now
    assert ANSWER in sink.messages.values()
    [warning] = [r for r in caplog.records if "answer lengths" in r.getMessage()]
    assert "RuntimeError" in warning.getMessage() and "T1" not in warning.getMessage()
    assert await _typical(core, "T1") < PRIOR  # this process keeps what it learned
