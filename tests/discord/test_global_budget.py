"""Discord's global limit (50 requests/s per bot) over everything the bot does: the streamed answers and every
other request discord.py sends (threads opened, renames, a command's messages) share one budget, each in its class.

The fake Discord counts the global limit in a sliding second (the default) or in fixed one-second windows; both
are tried. The limits here are scaled down (10 a second instead of 50) to keep the tests short.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

import discord
import pytest

from bots.discord.app import build_bot
from bots.discord.budget import GLOBAL_BUCKET, budget_trace, request_priority
from core.streaming import PlatformLimits
from core.streaming.throttle import Priority, Throttle
from tests.fakes.discord import FakeDiscord, running_client
from tests.fakes.fake_router import profile_script

WINDOWS = ("sliding", "fixed")
GLOBAL = (10, 1.0)  # the fake's global limit, scaled down from 50 a second
SCALED_RATE_LIMITS = {  # 5 creates and 5 edits per 1 s per channel (Discord: per 5 s)
    ("POST", "/channels/{channel_id}/messages"): (5, 1.0),
    ("PATCH", "/channels/{channel_id}/messages/{message_id}"): (5, 1.0),
}


def global_429s(fake: FakeDiscord) -> int:
    return sum(1 for r in fake.rate_limited_requests if isinstance(r.response, dict) and r.response.get("global"))


def test_every_request_has_its_class_and_interactions_and_webhooks_none():
    assert request_priority("POST", "/interactions/1/tok/callback") is None
    assert request_priority("POST", "/webhooks/1/tok") is None
    assert request_priority("PATCH", "/webhooks/1/tok/messages/@original") is None
    assert request_priority("POST", "/channels/1/messages/2/threads") == Priority.START
    assert request_priority("POST", "/channels/1/threads") == Priority.START
    assert request_priority("PATCH", "/channels/1") == Priority.BACKGROUND  # a rename
    assert request_priority("POST", "/channels/1/typing") == Priority.BACKGROUND
    assert request_priority("PUT", "/channels/1/messages/2/reactions/%F0%9F%91%8D/@me") == Priority.BACKGROUND
    assert request_priority("PUT", "/applications/1/commands") == Priority.BACKGROUND
    assert request_priority("POST", "/channels/1/messages") == Priority.URGENT
    assert request_priority("PATCH", "/channels/1/messages/2") == Priority.UPDATE
    assert request_priority("GET", "/channels/1/messages/2") == Priority.UPDATE


async def _send_many(fake: FakeDiscord, client: discord.Client, count: int) -> list:
    """Send `count` messages at once; what each send returned or raised (discord.py gives up after 5 global 429s)."""
    channels = [fake.add_text_channel(fake.default_guild, f"room-{i}") for i in range(count)]
    async with running_client(fake, client):
        await fake.wait_until(lambda: all(client.get_channel(int(c["id"])) for c in channels))
        sends = [client.get_channel(int(c["id"])).send(f"notice {i}") for i, c in enumerate(channels)]
        return await asyncio.wait_for(asyncio.gather(*sends, return_exceptions=True), 30)


@pytest.mark.parametrize("window", WINDOWS)
async def test_discord_py_requests_wait_for_the_global_budget(window):
    # 25 messages in 25 channels at once (each channel's own limit allows them): the global limit does not
    async with FakeDiscord(global_rate_limit=GLOBAL, global_window=window) as fake:
        throttle = Throttle(1.0, bucket_rate=9.0, bucket_burst=1)
        trace = budget_trace(throttle, GLOBAL_BUCKET)
        client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05, http_trace=trace)
        results = await _send_many(fake, client, 25)
        assert not [r for r in results if isinstance(r, BaseException)]
        assert global_429s(fake) == 0
        sent = [r for r in fake.requests_for("POST", "/channels/{channel_id}/messages") if r.status == 200]
        assert len(sent) == 25
        span = sent[-1].time - sent[0].time
        assert span >= 24 / 9 - 0.1  # paced at the budget's rate, not in a burst


async def test_without_the_budget_discord_py_meets_the_global_limit():
    # the same requests with nothing holding them: the fake answers global 429s (so the test above can fail);
    # some sends may fail outright after discord.py's retries, which is not what this test is about
    async with FakeDiscord(global_rate_limit=GLOBAL) as fake:
        client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)
        # discord.py retries a 429 five times, then raises: some sends may end so, which is the point
        with contextlib.suppress(discord.HTTPException):
            await _send_many(fake, client, 25)
        assert global_429s(fake) > 0


def _answers(count: int):
    """The router's script: answer i for `[q i]` (2 s of text), a title for a title request."""
    words = [f"w{j}" for j in range(40)]

    def script_for(body: dict):
        messages = body.get("messages") or []
        text = json.dumps(messages)
        for i in range(count):
            if f"[q {i}]" in text:
                if (
                    messages
                    and messages[0].get("role") == "system"
                    and "You name conversations" in str(messages[0].get("content"))
                ):
                    return profile_script([f"Title {i}"], ttft=0.01, tokens_per_second=100, jitter=0)
                tokens = [f"Answer{i}"] + [" " + w for w in words]
                return profile_script(tokens, ttft=0.05, tokens_per_second=20, jitter=0)
        return None

    return script_for


@contextlib.asynccontextmanager
async def _mentioned_at_once(core_factory, fake_router, window: str, count: int, within: float):
    """`count` mentions at once in one channel, the bot at 8 requests a second and its lanes at 0.2 s; yields the fake
    and {thread id: the answer's text} once every answer shows whole in its thread and every thread has its title."""
    fake_router.script_for = _answers(count)
    core = await core_factory(fake_router.url, auto_titles=True)
    limits = PlatformLimits(max_chars=2000, edit_interval=0.2, bucket_rate=8.0, budget="discord-global")
    async with FakeDiscord(global_rate_limit=GLOBAL, global_window=window, rate_limits=SCALED_RATE_LIMITS) as fake:
        bot_id, channel = fake.bot_user["id"], fake.default_channel["id"]
        bot = build_bot(core, limits=limits, print_invite=False, guild_ready_timeout=0.05)
        async with running_client(fake, bot):
            asks = [fake.message_create(channel, fake.default_user, f"<@{bot_id}> [q {i}] go") for i in range(count)]
            mentions = await asyncio.gather(*asks)
            expected = {m["id"]: f"Answer{i}" + "".join(f" w{j}" for j in range(40)) for i, m in enumerate(mentions)}

            def done() -> bool:
                for thread, text in expected.items():
                    shown = [m.content for m in fake.channel_messages(thread) if m.author_id == bot_id]
                    if shown != [text] or not fake.channels[thread]["name"].startswith("Title"):
                        return False
                return True

            await fake.wait_until(lambda: all(t in fake.channels for t in expected) and done(), within=within)
        yield fake, expected


@pytest.mark.parametrize("window", WINDOWS)
async def test_threads_answers_and_renames_share_the_budget_without_a_global_429(core_factory, fake_router, window):
    # 6 mentions at once: 6 threads, 6 answers streamed at the lanes' cadence, 6 renames, in 10 requests a second
    async with _mentioned_at_once(core_factory, fake_router, window, 6, within=40) as (fake, expected):
        assert global_429s(fake) == 0
        for i, thread in enumerate(expected):
            renames = [r for r in fake.requests_for("PATCH", f"/channels/{thread}") if "name" in (r.json or {})]
            assert len(renames) == 1 and fake.channels[thread]["name"] == f"Title {i}"
        # the budget held: no second (sliding) saw more than the limit, however the windows are counted
        counted = fake.global_counted
        assert all(sum(1 for t in counted if a <= t < a + 1.0) <= GLOBAL[0] for a in counted)
        fake.assert_clean()


async def test_with_the_global_limit_lifted_nothing_spaces_the_requests():
    # a budget without a rate (the global limit lifted, as the capacity bench does): the trace lets 60 requests go
    # at once, none re-spaced to Discord's 46 a second on the wire; with a rate they are spaced (so this can fail)
    import types

    import yarl

    class FakeClock:  # time moves only when something sleeps
        t = 1000.0

        def now(self) -> float:
            return self.t

        async def sleep(self, seconds: float) -> None:
            self.t += max(seconds, 0)

    params = types.SimpleNamespace(method="PATCH", url=yarl.URL(discord.http.Route.BASE + "/channels/1/messages/2"))
    for rate, least in ((None, 0.0), (44.0, 59 / 46.2)):
        clock = FakeClock()
        throttle = Throttle(1.0, bucket_rate=rate, bucket_burst=1, clock=clock)
        trace = budget_trace(throttle)
        start = clock.now()
        for _ in range(60):
            await trace.on_request_start[-1](None, None, params)
        took = clock.now() - start
        assert (took == 0.0) if rate is None else (took >= least - 1e-6), (rate, took)


def record_budget(monkeypatch) -> list[tuple[str, object, Priority]]:
    """Every request taken from a budget, in order: ("queued", ticket, class) when it asks, ("granted", ...) when it
    may go (a request given up while it waits has no grant)."""
    from core.streaming import throttle as throttle_module

    log: list[tuple[str, object, Priority]] = []
    take = throttle_module._Bucket.take

    async def recorded(self, priority: Priority = Priority.UPDATE) -> None:
        ticket = object()
        log.append(("queued", ticket, priority))
        await take(self, priority)
        log.append(("granted", ticket, priority))

    monkeypatch.setattr(throttle_module._Bucket, "take", recorded)
    return log


@pytest.mark.parametrize("window", WINDOWS)
async def test_at_many_answers_at_once_no_update_goes_while_a_new_answer_waits_to_begin(
    core_factory, fake_router, monkeypatch, window
):
    # 12 mentions at once under 8 requests a second: 12 threads and 12 first texts are 3 s of the budget, and the
    # early answers want their updates meanwhile. While a thread or a first text waits for the budget, no update of
    # an answer already streaming goes (they slow down); the final texts stay exact and nothing draws a global 429
    count = 12
    log = record_budget(monkeypatch)
    async with _mentioned_at_once(core_factory, fake_router, window, count, within=60) as (fake, _):
        assert global_429s(fake) == 0
        fake.assert_clean()
    queued_at = {ticket: n for n, (event, ticket, _) in enumerate(log) if event == "queued"}
    starts = [(queued_at[t], n) for n, (e, t, p) in enumerate(log) if e == "granted" and p <= Priority.START]
    updates = [n for n, (e, _, p) in enumerate(log) if e == "granted" and p == Priority.UPDATE]
    assert sum(1 for e, _, p in log if e == "granted" and p == Priority.START) == count
    overtaken = [(q, g) for q, g in starts if any(q < u < g for u in updates)]
    assert not overtaken, f"{len(overtaken)} threads or first texts waited while updates went"
    # the rule was tested: updates did ask while new answers waited to begin
    waiting_updates = [n for n, (e, _, p) in enumerate(log) if e == "queued" and p == Priority.UPDATE]
    assert any(q < u < g for q, g in starts for u in waiting_updates)
