"""When the workspace's chat.startStream budget (Tier 2) is spent, a new answer takes whichever path shows its text
sooner: it waits for a start that comes before the channel could take a post (chat.postMessage, about 1/s per
channel), and otherwise is posted and edited at once; either way without drawing a 429. Against the fake Slack
over the wire, with its real tiers."""

from __future__ import annotations

import time

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bots.slack.sink import SlackSink
from bots.slack.tiers import EDIT_LIMITS, NATIVE_LIMITS
from core.streaming import ReplyView, StreamUnavailable
from core.streaming.sink import PlatformLimits
from core.streaming.throttle import Throttle
from tests.fakes.slack import DEFAULT_RATE_LIMITS, FakeSlack, RateLimit

CHANNEL = "C0START001"
VIEW = ReplyView(reply_id=1, phase="streaming", status="streaming", is_last=True, index=0)


def test_the_fake_limits_agent_sessions_at_tier_3():
    assert DEFAULT_RATE_LIMITS["agents.sessions.setStatus"] == RateLimit.per_minute(50)  # t3 in the reference
    assert DEFAULT_RATE_LIMITS["agents.sessions.rename"] == RateLimit.per_minute(50)


def _budgets(start_every: float) -> tuple[Throttle, Throttle]:
    """A start budget of one start every `start_every` seconds, already spent."""
    limits = PlatformLimits(edit_interval=0.0, bucket_rate=1 / start_every, bucket_burst=1, budget="test-start")
    start = Throttle(0.0, bucket_rate=limits.bucket_rate, bucket_burst=1, name=limits.budget)
    stop = Throttle(0.0, bucket_rate=10.0, bucket_burst=10, name="test-stop")
    return start, stop


def _sink(fake: FakeSlack, budgets: tuple[Throttle, Throttle], posts: Throttle) -> SlackSink:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    return SlackSink(
        client,
        team=fake.team_id,
        channel=CHANNEL,
        thread_ts="1700000000.000100",
        user=fake.default_user_id,
        limits=NATIVE_LIMITS,
        stream_budgets=budgets,
        post_throttle=posts,
    )


async def _spend(throttle: Throttle, team: str) -> None:
    assert await throttle.try_take_now(team)  # the one start of the burst: the budget is spent now


@pytest.mark.parametrize("start_every", [0.6, 2.0])
async def test_a_start_that_comes_before_the_channel_takes_a_post_is_waited_for(start_every):
    async with FakeSlack(rate_limits={"chat.startStream": RateLimit(per_second=1 / start_every, burst=1)}) as fake:
        fake.add_channel(CHANNEL, "channel")
        budgets = _budgets(start_every * 1.1)  # a little under the tier, as the sink's own budgets are
        posts = Throttle(EDIT_LIMITS.edit_interval)
        # the channel has just been told to wait (a 429 on chat.postMessage): a post could go in 3 s at the earliest
        posts.rate_limited_for((fake.team_id, CHANNEL), 3.0)
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        await client.chat_startStream(
            channel=CHANNEL,
            thread_ts="1700000000.000100",
            markdown_text="another answer",
            recipient_team_id=fake.team_id,
            recipient_user_id=fake.default_user_id,
        )
        await _spend(budgets[0], fake.team_id)  # that start came out of the budget
        sink = _sink(fake, budgets, posts)
        began = time.monotonic()
        ref = await sink.stream_start("Hello", VIEW)
        waited = time.monotonic() - began
    assert start_every - 0.2 <= waited < 3.0  # it waited for the start, not for the channel's post
    assert fake.stream(ref.channel, ref.ts).state == "streaming"
    assert not fake.rate_limited["chat.startStream"] and not fake.calls("chat.postMessage")


async def test_a_start_later_than_a_post_is_not_waited_for_and_never_asked():
    async with FakeSlack() as fake:  # the real tier: 20 starts a minute
        fake.add_channel(CHANNEL, "channel")
        budgets = _budgets(60 / 19)
        await _spend(budgets[0], fake.team_id)
        sink = _sink(fake, budgets, Throttle(EDIT_LIMITS.edit_interval))
        began = time.monotonic()
        with pytest.raises(StreamUnavailable) as refused:
            await sink.stream_start("Hello", VIEW)
        assert time.monotonic() - began < 0.5  # the channel takes a post now: no waiting for a start in 3 s
        assert refused.value.ref is None
    assert not fake.calls("chat.startStream")  # no 429 drawn to find out


async def test_a_session_status_never_draws_a_429_when_its_budget_is_spent():
    async with FakeSlack(rate_limits={"agents.sessions.setStatus": RateLimit(per_second=1 / 60, burst=1)}) as fake:
        fake.add_channel(CHANNEL, "channel")
        budget = Throttle(0.0, bucket_rate=1 / 60, bucket_burst=1, name="test-status")
        sink = _sink(fake, _budgets(1.0), Throttle(EDIT_LIMITS.edit_interval))
        sink.session_budget = budget
        await sink.working()  # the one status the budget has: sent
        await sink.working()  # spent: skipped rather than refused with a 429
    calls = fake.calls("agents.sessions.setStatus")
    assert len(calls) == 1 and calls[0].status == 200 and not fake.rate_limited["agents.sessions.setStatus"]
