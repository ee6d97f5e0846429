"""The engine's delivery rules against recording sinks: a message is finished by one request at a time, retried
only after it failed and not before its Retry-After; a native start refused for rate goes the edit path; a
refusal for good (`Undeliverable`) or a platform failing for minutes ends the answer UNDELIVERED; `abandon`
ends a send stuck in flight or in backoff at once."""

from __future__ import annotations

import asyncio
import time

from core.records import MessageStatus
from core.streaming import PlatformLimits, RateLimited, ReplyStream, Undeliverable
from core.streaming.throttle import Throttle
from tests.support.sinks import RecordingSink
from tests.support.streaming import tokens

NATIVE = PlatformLimits(max_chars=2000, edit_interval=0.05, native_append=True, posts_use_bucket=False)
EDITS = PlatformLimits(max_chars=2000, edit_interval=0.05)


class AttemptsSink(RecordingSink):
    """Records every attempt of a stop (when it went out, when it was answered); `refuse_stops` are raised first."""

    def __init__(self, limits: PlatformLimits, refuse_stops: list[BaseException] | None = None):
        super().__init__(limits, lane="thread")
        self.post_lane = "channel"  # new messages are paced apart from the thread (as on Slack)
        self.refuse_stops = refuse_stops or []
        self.stop_attempts: list[tuple[float, float, bool]] = []  # (sent, answered, ok)
        self.told: list[Undeliverable] = []

    async def stream_stop(self, ref: int, delta: str, view) -> None:
        sent = time.monotonic()
        await asyncio.sleep(0.02)  # the platform takes a moment
        try:
            if self.refuse_stops:
                raise self.refuse_stops.pop(0)
            await super().stream_stop(ref, delta, view)
        except BaseException:
            self.stop_attempts.append((sent, time.monotonic(), False))
            raise
        self.stop_attempts.append((sent, time.monotonic(), True))

    async def undeliverable(self, exc: Undeliverable) -> None:
        self.told.append(exc)


def native_stream(sink: RecordingSink, **kw) -> ReplyStream:
    fallback = (Throttle(EDITS.edit_interval), EDITS)
    return ReplyStream(sink, Throttle(sink.limits.edit_interval), reply_id=1, fallback=fallback, **kw)


async def test_a_stop_refused_with_429_is_sent_again_only_after_its_retry_after():
    # the whole answer is there before the first render: the stream is started and stopped in one go
    sink = AttemptsSink(NATIVE, refuse_stops=[RateLimited(0.4), RateLimited(0.3)])
    state = await native_stream(sink).run(tokens(["All at once."]))
    assert state.status == MessageStatus.COMPLETE
    assert sink.count("start") == 1 and sink.count("stop") == 1 and sink.texts() == ["All at once."]
    (_, first_answered, _), (second_sent, second_answered, _), (third_sent, _, ok) = sink.stop_attempts
    assert ok and len(sink.stop_attempts) == 3
    assert second_sent - first_answered >= 0.4 - 0.01  # the Retry-After of the refused stop, not the lane's pace
    assert third_sent - second_answered >= 0.3 - 0.01


async def test_a_native_start_refused_for_rate_goes_out_with_posts_and_edits_at_once():
    sink = AttemptsSink(NATIVE)
    sink.fail_next = [RateLimited(30.0)]  # the workspace's budget for new streams is spent for half a minute
    started = time.monotonic()
    words = [f"w{i} " for i in range(10)]
    state = await native_stream(sink).run(tokens(words, delay=0.02))
    assert time.monotonic() - started < 5
    assert state.status == MessageStatus.COMPLETE
    assert sink.count("start") == 0 and sink.count("post") == 1 and sink.texts() == ["".join(words)]


async def test_an_undeliverable_answer_is_not_retried_stops_generating_and_the_sink_tells_the_user():
    sink = AttemptsSink(EDITS)
    sink.fail_next = [Undeliverable("HTTP 404 (10003)", code=10003)]
    produced: list[str] = []

    async def slow_model():
        async for event in tokens([f"w{i} " for i in range(100)], delay=0.02):
            produced.append("x")
            yield event

    state = await ReplyStream(sink, Throttle(0.05), reply_id=1).run(slow_model())
    assert state.status == MessageStatus.UNDELIVERED
    assert sink.calls == [] and sink.fail_next == []  # one attempt, nothing after it
    assert len(produced) < 50  # generation stopped: nobody would read the rest
    assert [exc.code for exc in sink.told] == [10003]


async def test_a_final_text_the_platform_keeps_failing_ends_undelivered_instead_of_forever():
    sink = AttemptsSink(EDITS)
    sink.fail_next = [RuntimeError("HTTP 503")] * 50
    state = await asyncio.wait_for(ReplyStream(sink, Throttle(0.01), final_retries=4).run(tokens(["hi"])), 10)
    assert state.status == MessageStatus.UNDELIVERED
    assert len(sink.fail_next) == 50 - 4 and len(sink.told) == 1


async def test_abandon_ends_a_send_stuck_in_flight_or_in_retry_after_at_once():
    class Stuck(AttemptsSink):
        async def post(self, text, view):
            await asyncio.Event().wait()  # a request that never comes back

    for sink in (Stuck(EDITS), AttemptsSink(NATIVE, refuse_stops=[RateLimited(60.0)])):
        stream = native_stream(sink)
        run = asyncio.create_task(stream.run(tokens([f"w{i} " for i in range(5)])))
        await asyncio.sleep(0.5)
        assert not run.done()
        abandoned = time.monotonic()
        stream.abandon()
        state = await asyncio.wait_for(run, 1)
        assert time.monotonic() - abandoned < 0.5
        assert state.status == MessageStatus.INTERRUPTED and state.answer  # the text so far is kept for the store


async def test_abandon_after_the_final_text_went_out_changes_nothing():
    sink = AttemptsSink(EDITS)
    stream = ReplyStream(sink, Throttle(0.01))
    state = await stream.run(tokens(["done"]))
    stream.abandon()
    assert state.status == MessageStatus.COMPLETE and sink.texts() == ["done"]


async def test_an_undelivered_answer_is_stored_so_and_left_out_of_the_next_ones_context(core, fake_router):
    from core.keys import Actor, ConversationKey
    from tests.fakes.fake_router import text_script

    key, alice = ConversationKey("test", "W1", "C1", "T1"), Actor("test", "alice", "Alice", "W1")
    refusing = AttemptsSink(EDITS)
    refusing.fail_next = [Undeliverable("HTTP 403 (50007)", code=50007)]
    fake_router.queue(text_script("An answer nobody saw."))
    submitted = await core.chat.submit(key, alice, "first question", refusing)
    outcome = await submitted.reply
    assert outcome.state.status == MessageStatus.UNDELIVERED and refusing.told
    [_question, answer] = await core.store.recent_messages(submitted.conversation.id, 5)
    assert (answer.role, answer.status) == ("assistant", "undelivered")

    fake_router.queue(text_script("Second answer."))
    again = await core.chat.submit(key, alice, "second question", RecordingSink(EDITS))
    await again.reply
    sent = [(m["role"], m["content"]) for m in fake_router.requests[-1]["messages"] if m["role"] != "system"]
    assert sent == [("user", "first question\n\nsecond question")]  # not the answer the user never saw
