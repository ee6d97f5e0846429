"""A budget's fair share by the learned length of the answers (core.streaming.lengths): the burst on hand is spread
evenly over the time the answers streaming are expected to have left, and only answers that streamed on the budget
to their end teach it."""

from __future__ import annotations

import pytest

from core.streaming import PlatformLimits, RateLimited, ReplyStream
from core.streaming.lengths import MIN_REMAINING, PRIOR, AnswerLengths, even_interval
from core.streaming.throttle import Throttle
from tests.support.clock import FakeClock
from tests.support.sinks import RecordingSink
from tests.support.streaming import tokens


def test_the_typical_length_is_the_mean_of_the_answers_that_ended_and_the_prior_before_any():
    lengths = AnswerLengths()
    assert lengths.typical == PRIOR
    for seconds in (6.0, 8.0, 7.0):
        lengths.lasted(seconds)
    assert lengths.typical == pytest.approx(7.0)


def test_the_time_left_counts_down_to_the_typical_length_then_grows_with_the_age_past_it():
    lengths = AnswerLengths(prior=9.0)
    assert lengths.remaining(0.0) == pytest.approx(9.0)
    assert lengths.remaining(3.0) == pytest.approx(6.0)
    assert lengths.remaining(6.0) == pytest.approx(3.0)
    assert lengths.remaining(7.5) == pytest.approx(1.5)  # the two guesses meet at five sixths of the typical length
    assert lengths.remaining(8.5) == pytest.approx(8.5 / 2 - 9 / 4)  # past it: grows with the age
    assert lengths.remaining(18.0) == pytest.approx(18 / 2 - 9 / 4)
    assert lengths.remaining(0.5) >= MIN_REMAINING and AnswerLengths(prior=0.2).remaining(0.1) == MIN_REMAINING
    assert lengths.remaining(1_000.0) == pytest.approx(30.0)  # never spread over more than the usual horizon


def test_even_interval_spreads_what_is_on_hand_and_the_refill_over_the_time_left():
    assert even_interval(10, 92, 1.6, 6.0) == pytest.approx(10 * 6 / (92 + 1.6 * 6))
    assert even_interval(10, -3, 1.6, 6.0) == pytest.approx(10 / 1.6)  # spent: the refill alone


async def test_a_burst_of_answers_is_paced_evenly_over_the_learned_length_not_faster_as_the_budget_drains():
    clock = FakeClock()
    throttle = Throttle(0.1, bucket_rate=1.6, bucket_burst=92, clock=clock, learn_lengths=True, finals_on_budget=False)
    throttle.lasted("T", 6.0)  # answers here last about 6 s
    for _ in range(10):
        throttle.join("T")
    bucket = throttle._bucket("T")
    first = bucket.fair_interval()
    assert first == pytest.approx(10 * 6 / (92 + 1.6 * 6))  # nothing kept for finals: they are another method's
    # 3 s on, every answer updated at that pace: the interval holds (spreading over the age instead would slow it)
    spent = round(3 / first * 10)
    for _ in range(spent):
        assert not await bucket.pacer.try_take()
    clock.t += 3
    assert bucket.fair_interval() == pytest.approx(first, rel=0.1)


def test_finals_drawn_on_the_budget_keep_a_request_each():
    clock = FakeClock()
    throttle = Throttle(0.1, bucket_rate=1.6, bucket_burst=92, clock=clock, learn_lengths=True)
    for _ in range(10):
        throttle.join("T")
    assert throttle._bucket("T").fair_interval() == pytest.approx(10 * PRIOR / (92 - 10 + 1.6 * PRIOR))


NATIVE = PlatformLimits(max_chars=2000, edit_interval=0.01, native_append=True, posts_use_bucket=False, bucket_rate=50)
EDITS = PlatformLimits(max_chars=2000, edit_interval=0.01)


def _learning() -> Throttle:
    return Throttle(0.01, bucket_rate=50.0, bucket_burst=50, learn_lengths=True, finals_on_budget=False)


async def test_an_answer_streamed_natively_to_its_end_teaches_its_length():
    throttle = _learning()
    sink = RecordingSink(NATIVE, lane="thread", bucket="T")
    stream = ReplyStream(sink, throttle, reply_id=1, fallback=(Throttle(0.01), EDITS))
    await stream.run(tokens([f"w{i} " for i in range(5)], delay=0.05))
    lengths = throttle._bucket("T").lengths
    assert lengths is not None and len(lengths._recent) == 1
    assert 0.2 <= lengths.typical < PRIOR


async def test_an_answer_that_left_for_the_edit_path_teaches_nothing():
    throttle = _learning()
    sink = RecordingSink(NATIVE, lane="thread", bucket="T")
    sink.fail_next = [RateLimited(30.0)]  # no native start left: posted and edited instead, at once
    stream = ReplyStream(sink, throttle, reply_id=1, fallback=(Throttle(0.01), EDITS))
    await stream.run(tokens(["a ", "b "], delay=0.01))
    assert sink.count("post") == 1
    lengths = throttle._bucket("T").lengths
    assert lengths is not None and not lengths._recent and lengths.typical == PRIOR
