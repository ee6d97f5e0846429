"""Many native answers in one workspace under Slack's real tiers: chat.startStream and chat.stopStream are Tier 2
(about 20 a minute per workspace, 429 + Retry-After past that), so a burst of answers cannot all start natively:
those past the start budget are posted and edited instead, without asking for a start first. However many,
each message is finished exactly once: at most one chat.stopStream in flight for it, and a stop is sent again
only after the previous one failed, and not before its Retry-After."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict

from bots.slack.tiers import EDIT_LIMITS, NATIVE_LIMITS
from tests.fakes.slack import DEFAULT_RATE_LIMITS, FakeSlack, RateLimit
from tests.support.router import EchoRouter
from tests.support.slack import running_bot, visible
from tests.support.waits import wait_for

ANSWERS = 30


def test_the_fake_applies_the_tiers_of_the_api_reference():
    assert DEFAULT_RATE_LIMITS["chat.startStream"] == RateLimit.per_minute(20)  # t2 in the reference
    assert DEFAULT_RATE_LIMITS["chat.stopStream"] == RateLimit.per_minute(20)  # t2
    assert DEFAULT_RATE_LIMITS["chat.appendStream"] == RateLimit.per_minute(100)  # t4
    assert DEFAULT_RATE_LIMITS["chat.update"] == RateLimit.per_minute(50)  # t3


async def test_thirty_answers_at_once_each_finished_exactly_once(core_factory):
    # Slack takes a moment to answer a stop: a second stop sent meanwhile would overlap the first
    async with FakeSlack(echo_events=True, stop_latency=0.2) as fake, EchoRouter(pieces=10, delay=0.1) as router:
        channels = [f"C0TIER{i:04d}" for i in range(ANSWERS)]
        for channel in channels:
            fake.add_channel(channel, "channel")
        fake.inject("chat.stopStream", "ratelimited", times=5, retry_after=1)  # besides the tier's own 429s
        async with running_bot(core_factory, router, fake, native_limits=NATIVE_LIMITS, edit_limits=EDIT_LIMITS) as bot:
            posts = await asyncio.gather(
                *(fake.user_posts(f"question {i}", channel=channel) for i, channel in enumerate(channels))
            )

            def all_finished() -> bool:  # settle alone can return before a loaded machine delivered every event
                return all(
                    any(b.get("block_id", "").startswith("hfchat_done_") for m in bot.answers(c, p.ts)
                        for b in m.blocks or [])
                    for c, p in zip(channels, posts, strict=True)
                )  # fmt: skip

            await wait_for(all_finished, within=120, what="every answer finished")
            await bot.settle(within=120)

    # more answers at once than the tier lets start natively: the rest never asked (no 429 for a start)
    assert not fake.rate_limited["chat.startStream"]
    stops: dict[tuple[str, str], list] = defaultdict(list)
    for call in fake.calls("chat.stopStream"):
        stops[(call.params["channel"], call.params["ts"])].append(call)
    native = 0
    for i, (channel, post) in enumerate(zip(channels, posts, strict=True)):
        [answer] = bot.answers(channel, post.ts)
        assert visible(answer) == EchoRouter.answer_for(f"question {i}")
        assert any(b.get("block_id", "").startswith("hfchat_done_") for b in answer.blocks or [])  # finished
        if answer.stream is None:
            continue  # no native start left in the tier: it went out with chat.postMessage and chat.update
        native += 1
        assert answer.stream.state == "stopped"
        calls = stops[(channel, answer.ts)]
        assert [c.ok for c in calls].count(True) == 1 and calls[-1].ok  # finished once, nothing sent after that
        for failed, retry in itertools.pairwise(calls):
            assert failed.answered_at is not None and failed.answered_at <= retry.at  # one at a time
            if failed.status == 429:
                assert retry.at - failed.answered_at >= float(failed.headers["Retry-After"]) - 0.05
    assert 15 <= native < ANSWERS and fake.rate_limited["chat.stopStream"] >= 5
    assert not fake.overlapping_stops
