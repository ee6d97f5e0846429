"""A streamed answer's edits go past discord.py's HTTP client (bots.discord.edits) and keep what it did for them:
the global budget (a retry pays again, a global 429 holds the budget back), the per-channel bucket, 429s raised
to the engine, 5xx retried, mentions off, the text exact."""

from __future__ import annotations

import asyncio
import contextlib

import discord
import pytest

from bots.discord.budget import GLOBAL_BUCKET, budget_trace
from bots.discord.edits import Budget, EditPath, edit_path
from bots.discord.sink import DiscordSink
from core.streaming import RateLimited, ReplyView
from core.streaming.throttle import Clock, Priority, Throttle
from tests.fakes.discord import FakeDiscord, running_client

EDIT = "/channels/{channel_id}/messages/{message_id}"


class CountingThrottle:
    """Only what Budget uses of a Throttle, recording what it was asked."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.taken: list[Priority] = []
        self.limited: list[float] = []

    async def take(self, bucket, priority: Priority) -> None:
        self.taken.append(priority)

    def budget_limited(self, bucket, seconds: float) -> None:
        self.limited.append(seconds)


def _client() -> discord.Client:
    trace = budget_trace(Throttle(1.0, bucket_rate=None), GLOBAL_BUCKET)
    return discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05, http_trace=trace)


def _view() -> ReplyView:
    return ReplyView(reply_id=None, phase="streaming", status="streaming", is_last=True, index=0)


async def _posted(fake: FakeDiscord, client: discord.Client) -> discord.Message:
    channel = client.get_channel(int(fake.default_channel["id"]))
    return await channel.send("first")


@contextlib.asynccontextmanager
async def _counted(fake: FakeDiscord):
    """A message posted, and an edit path for it on a budget that records what it is asked."""
    client = _client()
    async with running_client(fake, client):
        message = await _posted(fake, client)
        throttle = CountingThrottle()
        yield EditPath(client.http, Budget(throttle, GLOBAL_BUCKET, None)), message, throttle


async def test_edits_take_the_lean_path_with_mentions_off_and_the_text_exact(monkeypatch):
    async with FakeDiscord() as fake:
        client = _client()
        async with running_client(fake, client):
            message = await _posted(fake, client)
            assert edit_path(client.http) is not None

            async def refused(*args, **kwargs):  # discord.py's own path must not be used for the edit
                raise AssertionError("edited through discord.py's HTTP client")

            monkeypatch.setattr(client.http, "request", refused)
            sink = DiscordSink(message.channel)
            text = "@everyone see <@123> and <@&456> — naïve ✓ " + "x" * 1900
            await sink.edit(message, text, _view())
            [edit] = [r for r in fake.requests_for("PATCH", EDIT)]
            assert edit.status == 200 and edit.json["allowed_mentions"] == {"parse": []}
            assert [m.content for m in fake.channel_messages(fake.default_channel["id"])][-1] == text
        fake.assert_clean()


async def test_a_client_without_the_budget_trace_keeps_discord_py_s_path():
    async with FakeDiscord() as fake:
        client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)
        async with running_client(fake, client):
            message = await _posted(fake, client)
            assert edit_path(client.http) is None
            await DiscordSink(message.channel).edit(message, "second", _view())
            assert fake.channel_messages(fake.default_channel["id"])[-1].content == "second"


@pytest.mark.parametrize("is_global", [False, True])
async def test_a_429_raises_rate_limited_and_a_global_one_holds_the_budget(is_global):
    async with FakeDiscord() as fake, _counted(fake) as (path, message, throttle):
        fake.inject_429("PATCH", EDIT, retry_after=0.4, is_global=is_global)
        with pytest.raises(RateLimited) as raised:
            await path.edit(message.channel.id, message.id, {"content": "late"})
        assert raised.value.retry_after == pytest.approx(0.4) and raised.value.scope_global == is_global
        assert throttle.limited == ([pytest.approx(0.4)] if is_global else [])
        assert throttle.taken == []  # the first request was paid by the engine; it was not retried
        assert len(fake.requests_for("PATCH", EDIT)) == 1


async def test_a_5xx_is_retried_and_the_retry_pays_the_budget_again():
    async with FakeDiscord() as fake, _counted(fake) as (path, message, throttle):
        fake.inject_error("PATCH", EDIT, status=502)
        await path.edit(message.channel.id, message.id, {"content": "after a 502"})
        assert [r.status for r in fake.requests_for("PATCH", EDIT)] == [502, 200]
        assert throttle.taken == [Priority.UPDATE]
        assert fake.channel_messages(fake.default_channel["id"])[-1].content == "after a 502"


async def test_an_exhausted_channel_bucket_is_waited_out_not_hit():
    async with FakeDiscord(rate_limits={("PATCH", EDIT): (2, 0.5)}) as fake:
        client = _client()
        async with running_client(fake, client):
            message = await _posted(fake, client)
            path = edit_path(client.http)
            await asyncio.gather(*(path.edit(message.channel.id, message.id, {"content": f"v{i}"}) for i in range(5)))
            assert len(fake.requests_for("PATCH", EDIT)) == 5
            assert fake.rate_limit_hits == 0
