"""The streaming engine against a recording sink: cadence, splitting, faults, stop, native streams."""

import asyncio
import time

from core.errors import RouterError
from core.records import MessageStatus
from core.router.client import Finished, StreamStarted, TextDelta
from core.streaming import NOTICE_STOPPED, PlatformLimits, RateLimited, ReplyStream
from core.streaming.splitting import open_fence_at_end
from core.streaming.throttle import Throttle
from tests.support.sinks import RecordingSink
from tests.support.streaming import tokens


def stream_for(sink, interval=None):
    return ReplyStream(sink, Throttle(sink.limits.edit_interval if interval is None else interval), reply_id=1)


async def test_first_text_goes_out_at_once_and_final_is_whole():
    sink = RecordingSink(PlatformLimits(max_chars=2000, edit_interval=0.2))
    start = time.monotonic()
    words = [f"w{i} " for i in range(20)]
    state = await stream_for(sink).run(tokens(words, delay=0.05))
    first_post = next(c for c in sink.calls if c.kind == "post")
    assert first_post.at - start < 0.2  # the first token came after 0.05 s
    assert sink.texts() == ["".join(words)]
    assert state.status == MessageStatus.COMPLETE
    assert sink.calls[-1].view.phase == "done" and sink.calls[-1].view.is_last


async def test_renders_latest_snapshot_not_backlog():
    # 400 tokens arrive much faster than the 0.1 s edit cadence allows
    sink = RecordingSink(PlatformLimits(max_chars=100_000, edit_interval=0.1))
    pieces = [f"t{i} " for i in range(400)]
    await stream_for(sink).run(tokens(pieces, delay=0.002))
    assert sink.full_text() == "".join(pieces)
    edits = sink.count("edit") + sink.count("post")
    assert edits < 40, edits  # ~0.8-1.5 s of streaming at 10 edits/s, never one edit per token
    gaps = [b.at - a.at for a, b in zip(sink.calls, sink.calls[1:], strict=False)]
    assert min(gaps) >= 0.09


async def test_long_answer_splits_at_boundaries_with_fences_and_file():
    limits = PlatformLimits(max_chars=300, edit_interval=0.0, file_after_messages=3)
    sink = RecordingSink(limits)
    code = "\n".join(f"    line_{i} = {i}" for i in range(60))
    answer = "Intro.\n\n" + "Prose sentence here. " * 20 + "\n\n```python\n" + code + "\n```\n\nDone."
    pieces = [answer[i : i + 7] for i in range(0, len(answer), 7)]
    state = await stream_for(sink).run(tokens(pieces))
    texts = sink.texts()
    assert len(texts) > 3
    assert all(len(t) <= 300 for t in texts)
    assert all(open_fence_at_end(t) is None for t in texts)
    body = "\n".join(texts)
    for i in range(60):
        assert f"line_{i} = {i}" in body
    assert texts[-1].endswith("Done.")
    upload = [c for c in sink.calls if c.kind == "upload"]
    assert upload and upload[0].text == state.answer == answer
    # only the last message carries the controls
    finals = {c.ref: c.view for c in sink.calls if c.kind in ("post", "edit")}
    assert [v.is_last for _, v in sorted(finals.items())][-1] is True
    assert not any(v.is_last for _, v in sorted(finals.items())[:-1])


async def test_rate_limit_slows_lane_and_final_text_still_arrives():
    sink = RecordingSink(PlatformLimits(max_chars=2000, edit_interval=0.05))
    sink.fail_next = [None]  # placeholder replaced below
    sink.fail_next = []
    stream = stream_for(sink)

    async def script():
        yield StreamStarted("m", "")
        for i in range(30):
            await asyncio.sleep(0.01)
            if i == 5:
                sink.fail_next += [RateLimited(0.3), RateLimited(0.3)]
            yield TextDelta(f"{i} ")
        yield Finished("stop")

    await stream.run(script())
    assert sink.texts() == ["".join(f"{i} " for i in range(30))]
    assert stream.stats.rate_limited == 2
    assert stream.throttle.rate_limited == 2


async def test_final_text_retried_through_rate_limits_and_errors():
    sink = RecordingSink(PlatformLimits(max_chars=2000, edit_interval=0.01))
    stream = stream_for(sink)

    async def script():
        yield TextDelta("hello")
        await asyncio.sleep(0.05)
        sink.fail_next += [RateLimited(0.05), ConnectionError("5xx"), RateLimited(0.05)]
        yield TextDelta(" world")

    await stream.run(script())
    assert sink.texts() == ["hello world"]


async def test_stop_keeps_what_was_streamed():
    sink = RecordingSink(PlatformLimits(max_chars=2000, edit_interval=0.01))
    stream = stream_for(sink)
    task = asyncio.create_task(stream.run(tokens([f"{i} " for i in range(100)], delay=0.02)))
    await asyncio.sleep(0.25)
    stream.stop()
    state = await task
    assert state.status == MessageStatus.STOPPED
    text = sink.texts()[-1]
    assert text.startswith("0 1 2 ") and text.endswith(NOTICE_STOPPED)
    assert "99" not in text


async def test_error_midway_keeps_partial_and_explains():
    sink = RecordingSink()
    error = RouterError("stream_cut", "The connection to the model was cut mid-answer.")
    state = await stream_for(sink).run(tokens(["Part one. ", "Part two."], error=error))
    assert state.status == MessageStatus.ERROR
    assert sink.texts()[-1].startswith("Part one. Part two.")
    assert "cut mid-answer" in sink.texts()[-1] and "kept" in sink.texts()[-1]


async def test_reasoning_shows_thinking_then_never_mixes_into_answer():
    sink = RecordingSink()
    state = await stream_for(sink).run(tokens(["Answer."], delay=0.05, reasoning=["deep ", "thoughts"]))
    assert sink.texts() == ["Answer."]
    assert "thinking" in sink.calls[0].text.lower()
    assert state.reasoning == "deep thoughts"
    assert sink.calls[-1].view.has_reasoning


async def test_truncated_answer_offers_continue():
    sink = RecordingSink()
    state = await stream_for(sink).run(tokens(["cut"], finish="length"))
    assert state.status == MessageStatus.TRUNCATED
    assert "Continue" in sink.texts()[-1]


async def test_native_append_streams_deltas():
    sink = RecordingSink(PlatformLimits(max_chars=5000, edit_interval=0.02, native_append=True))
    pieces = [f"word{i} " for i in range(50)]
    await stream_for(sink).run(tokens(pieces, delay=0.005))
    assert sink.texts() == ["".join(pieces)]
    assert sink.count("start") == 1 and sink.count("stop") == 1 and sink.count("edit") == 0
    assert sink.count("post") == 0


async def test_native_stream_expiring_midway_falls_back_to_edits():
    sink = RecordingSink(PlatformLimits(max_chars=5000, edit_interval=0.02, native_append=True))
    sink.native_fail_after = 2
    pieces = [f"word{i} " for i in range(50)]
    await stream_for(sink).run(tokens(pieces, delay=0.005))
    assert sink.texts() == ["".join(pieces)]
    assert sink.count("edit") >= 1


async def test_native_split_never_takes_back_streamed_text():
    sink = RecordingSink(PlatformLimits(max_chars=200, edit_interval=0.0, native_append=True))
    answer = "".join(f"Sentence number {i}.\n\n" for i in range(40))
    await stream_for(sink).run(tokens([answer[i : i + 5] for i in range(0, len(answer), 5)]))
    assert all(len(t) <= 200 for t in sink.texts())
    assert "".join(sink.texts()).replace("\n", "") == answer.replace("\n", "")


async def test_message_deleted_midway_continues_in_new_message():
    sink = RecordingSink(PlatformLimits(max_chars=2000, edit_interval=0.02))

    async def script():
        yield TextDelta("first ")
        await asyncio.sleep(0.1)
        sink.messages.clear()  # somebody deleted the bot's message
        yield TextDelta("second")

    await stream_for(sink).run(script())
    assert sink.texts() == ["first second"]


async def test_lanes_do_not_slow_each_other():
    limits = PlatformLimits(max_chars=100_000, edit_interval=0.2)
    throttle = Throttle(0.2)
    sinks = [RecordingSink(limits, lane=f"channel-{i}") for i in range(5)]
    pieces = [f"{i} " for i in range(60)]
    await asyncio.gather(*(ReplyStream(s, throttle).run(tokens(pieces, delay=0.02)) for s in sinks))
    counts = [s.count("post") + s.count("edit") for s in sinks]
    # ~1.2 s of streaming at 5 edits/s each: every lane gets its own cadence
    assert min(counts) >= 5, counts
    for sink in sinks:
        assert sink.texts() == ["".join(pieces)]
        gaps = [b.at - a.at for a, b in zip(sink.calls, sink.calls[1:], strict=False)]
        assert min(gaps) >= 0.19


async def test_posts_skip_the_shared_budget_when_the_platform_limits_them_per_channel():
    # a budget of 1 request / 2 s for the whole workspace, shared by 5 channels
    limits = PlatformLimits(max_chars=1000, edit_interval=0.0, bucket_rate=0.5, bucket_burst=1, posts_use_bucket=False)
    throttle = Throttle(0.0, bucket_rate=0.5, bucket_burst=1)
    sinks = [RecordingSink(limits, lane=f"c{i}", bucket="workspace") for i in range(5)]
    start = time.monotonic()
    tasks = [asyncio.create_task(ReplyStream(s, throttle).run(tokens(["a", "b"], delay=0.05))) for s in sinks]
    await asyncio.sleep(0.3)
    # every channel shows its first text at once; only the edits wait on the workspace budget
    assert all(s.count("post") == 1 for s in sinks)
    assert all(s.calls[0].at - start < 0.3 for s in sinks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_answers_sharing_a_budget_take_fair_turns_and_finish_at_once():
    # 4 answers share a budget of 8 at once + 1 a second. Each answer's updates wait its fair share of it, so the
    # first updates do not spend the burst in a blink and every final text finds a request when its answer
    # ends; spent eagerly, the burst is gone in 0.2 s and the finals trickle out at one a second.
    limits = PlatformLimits(max_chars=10_000, edit_interval=0.1, bucket_rate=1.0, bucket_burst=8)
    throttle = Throttle(0.1, bucket_rate=1.0, bucket_burst=8)
    sinks = [RecordingSink(limits, lane=f"t{i}", bucket="ws") for i in range(4)]
    words = [f"w{i} " for i in range(30)]
    start = time.monotonic()
    await asyncio.gather(*(ReplyStream(s, throttle).run(tokens(words, delay=0.05)) for s in sinks))
    assert all(s.texts() == ["".join(words)] for s in sinks)
    finals = [s.calls[-1].at - start for s in sinks]
    assert max(finals) < 2.5, finals  # the answers end at ~1.5 s
