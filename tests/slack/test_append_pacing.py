"""How native answers share the workspace's Tier 4 chat.appendStream budget (bots.slack.tiers.NATIVE_LIMITS through
the core's throttle, as the pipeline builds it): starts are limited by chat.startStream's Tier 2 budget of the
workspace, not paced per channel like posts; an answer alone is appended to as often as the floor between two
appends allows, not held to half a second; a burst of answers spreads the budget on hand evenly over their expected
length, keeping nothing for final texts that go with chat.stopStream. And under the real tiers of the fake Slack,
a burst of answers in one channel all start natively and draw no 429 at all."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from bots.slack.tiers import EDIT_LIMITS, NATIVE_LIMITS
from core.replies.pipeline import Throttles
from core.streaming.lengths import PRIOR
from tests.fakes.slack import FakeSlack
from tests.support.clock import FakeClock
from tests.support.router import EchoRouter
from tests.support.slack import running_bot, visible


def _native_throttle():
    throttle = Throttles().for_limits(NATIVE_LIMITS)
    throttle.clock = FakeClock()  # before any lane or budget exists: they take the throttle's clock
    return throttle


async def test_answers_starting_together_in_one_channel_all_start_at_once():
    throttle = _native_throttle()
    start = throttle.clock.now()
    for _ in range(12):  # each start is a new message on the channel's post lane
        await throttle.acquire(("T", "C"), None, burst=NATIVE_LIMITS.post_burst, urgent=True)
    assert throttle.clock.now() == start


async def test_an_answer_alone_is_appended_to_at_the_floor_not_every_half_second():
    throttle = _native_throttle()
    throttle.join("T")
    assert throttle._bucket("T").fair_interval() < NATIVE_LIMITS.edit_interval  # its share would allow more
    times = []
    for _ in range(5):
        await throttle.acquire(("T", "C", "1.0"), "T")
        times.append(throttle.clock.now())
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps == pytest.approx([NATIVE_LIMITS.edit_interval] * 4) and NATIVE_LIMITS.edit_interval < 0.5


def test_a_burst_shares_the_budget_over_its_expected_length_keeping_nothing_for_final_texts():
    throttle = _native_throttle()
    for _ in range(10):
        throttle.join("T")
    rate, burst = NATIVE_LIMITS.bucket_rate, NATIVE_LIMITS.bucket_burst
    assert throttle._bucket("T").fair_interval() == pytest.approx(10 * PRIOR / (burst + rate * PRIOR))
    throttle.lasted("T", 6.0)  # the answers here turn out to last about 6 s
    assert throttle._bucket("T").fair_interval() == pytest.approx(10 * 6.0 / (burst + rate * 6.0))


async def test_a_burst_in_one_channel_all_starts_natively_with_no_429_under_the_real_tiers(core_factory):
    async with FakeSlack(echo_events=True) as fake, EchoRouter(pieces=30, delay=0.05) as router:
        fake.add_channel("C0PACE0001", "channel")
        async with running_bot(core_factory, router, fake, native_limits=NATIVE_LIMITS, edit_limits=EDIT_LIMITS) as bot:
            posts = await asyncio.gather(*(fake.user_posts(f"question {i}", channel="C0PACE0001") for i in range(12)))
            await bot.settle(within=60)
    assert not any(fake.rate_limited.values())  # no 429 of any method
    for i, post in enumerate(posts):
        [answer] = bot.answers("C0PACE0001", post.ts)
        assert answer.stream is not None and answer.stream.state == "stopped"  # native, finished
        assert visible(answer) == EchoRouter.answer_for(f"question {i}")


async def test_a_restarted_bot_paces_its_workspace_by_what_the_bot_before_learned_there(core_factory):
    # the workspace's Tier 4 budget starts from the answer lengths stored by the bot before (same database), not 10 s
    async with FakeSlack(echo_events=True) as fake, EchoRouter(pieces=10, delay=0.05) as router:
        fake.add_channel("C0PACE0002", "channel")
        limits = {"native_limits": NATIVE_LIMITS, "edit_limits": EDIT_LIMITS}
        async with running_bot(core_factory, router, fake, **limits) as first:
            await asyncio.gather(*(fake.user_posts(f"question {i}", channel="C0PACE0002") for i in range(3)))
            await first.settle(within=30)
            learned = first.core.chat.throttles.for_limits(NATIVE_LIMITS)._bucket(fake.team_id).lengths.typical
            assert 0.2 < learned < PRIOR / 2
            await first.core.chat.throttles.close()  # as a shutdown does: the lengths pending are stored
        async with running_bot(core_factory, router, fake, **limits) as second:
            throttle = second.core.chat.throttles.for_limits(NATIVE_LIMITS)
            await throttle.ready(fake.team_id)  # what an answer's first use of the budget waits for
            assert throttle._bucket(fake.team_id).lengths.typical == pytest.approx(learned)
