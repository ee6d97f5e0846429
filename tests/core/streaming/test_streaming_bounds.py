"""The engine within a sink's bounds: a cap on messages per answer (the rest comes as a file) and a time after which
the sink can no longer write (the answer is stopped in time for its final text)."""

from __future__ import annotations

import time

from core.records import MessageStatus
from core.streaming import NOTICE_EXPIRED, NOTICE_IN_FILE, PlatformLimits, ReplyStream
from core.streaming.splitting import open_fence_at_end
from core.streaming.throttle import Throttle
from tests.support.sinks import RecordingSink
from tests.support.streaming import tokens


def stream_for(sink):
    return ReplyStream(sink, Throttle(sink.limits.edit_interval), reply_id=1)


async def test_past_max_messages_the_last_one_stops_growing_and_the_file_has_it_all():
    sink = RecordingSink(PlatformLimits(max_chars=200, edit_interval=0.0, max_messages=3, file_after_messages=0))
    answer = "".join(f"Paragraph {i} says something long enough to need room.\n\n" for i in range(30))
    state = await stream_for(sink).run(tokens([answer[i : i + 9] for i in range(0, len(answer), 9)]))
    texts = sink.texts()
    assert len(texts) == 3  # never a fourth message
    assert all(len(t) <= 200 for t in texts)
    assert texts[-1].endswith(NOTICE_IN_FILE)
    [upload] = [c for c in sink.calls if c.kind == "upload"]
    assert upload.text == state.answer == answer
    assert state.status == MessageStatus.COMPLETE


async def test_an_answer_that_fits_gets_no_file_and_no_marker():
    sink = RecordingSink(PlatformLimits(max_chars=200, edit_interval=0.0, max_messages=3, file_after_messages=0))
    answer = "A short paragraph.\n\n" * 15  # 300 characters: two messages
    await stream_for(sink).run(tokens([answer[i : i + 5] for i in range(0, len(answer), 5)]))
    assert len(sink.texts()) == 2
    assert sink.count("upload") == 0
    assert NOTICE_IN_FILE not in sink.full_text()


async def test_the_last_message_closes_a_code_fence_it_cuts():
    sink = RecordingSink(PlatformLimits(max_chars=150, edit_interval=0.0, max_messages=1, file_after_messages=0))
    answer = "Look:\n\n```python\n" + "\n".join(f"x_{i} = {i}" for i in range(80)) + "\n```\n"
    await stream_for(sink).run(tokens([answer[i : i + 11] for i in range(0, len(answer), 11)]))
    [text] = sink.texts()
    assert len(text) <= 150
    assert open_fence_at_end(text) is None and text.endswith(NOTICE_IN_FILE)
    assert sink.count("upload") == 1


class ExpiringSink(RecordingSink):
    def __init__(self, seconds: float):
        super().__init__(PlatformLimits(max_chars=2000, edit_interval=0.01))
        self.expires_at = time.monotonic() + seconds


async def test_an_answer_is_stopped_when_the_sink_expires_and_its_final_text_still_goes_out():
    sink = ExpiringSink(0.3)
    state = await stream_for(sink).run(tokens([f"w{i} " for i in range(100)], delay=0.02))  # 2 s of tokens
    assert state.status == MessageStatus.STOPPED  # continuable
    assert NOTICE_EXPIRED in sink.texts()[-1]
    assert sink.calls[-1].view.phase == "done"
    assert sink.calls[-1].at < sink.expires_at + 0.2


async def test_an_answer_that_ends_in_time_is_not_marked_expired():
    sink = ExpiringSink(5)
    state = await stream_for(sink).run(tokens(["all ", "done"], delay=0.01))
    assert state.status == MessageStatus.COMPLETE and NOTICE_EXPIRED not in sink.full_text()
