"""/healthz and /metrics: counters updated by the core and the Slack and Discord adapters, served over HTTP."""

from __future__ import annotations

import asyncio

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from core.app import serve_metrics
from tests.fakes.fake_router import text_script
from tests.fakes.slack import FakeSlack
from tests.support.processes import BotProcess, bot_env, free_port, wait_until
from tests.support.slack import CHANNEL, running_bot


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_count_events_answers_tokens_and_429s(core_factory, fake_router):
    async with FakeSlack() as fake, running_bot(core_factory, fake_router, fake) as bot:
        runner = await serve_metrics(bot.core, "127.0.0.1", 0)
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            status, before_text = await _get(base + "/metrics")
            assert status == 200
            before = _samples(before_text)

            fake.inject("chat.appendStream", "ratelimited", times=1, status=429, retry_after=0)
            fake_router.queue(text_script("A long enough answer to need a few appends.", pieces=6, delay=0.06))
            post = await fake.user_posts("count me", channel=CHANNEL)
            await fake.wait_ack(post.envelope_ids[0])
            await bot.settle()
            assert bot.answers(CHANNEL, post.ts)

            status, text = await _get(base + "/metrics")
            after = _samples(text)
        finally:
            await runner.cleanup()

    def grew(name: str, **labels) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert grew("hfchat_events_total", platform="slack", kind="app_mention") == 1
    assert grew("hfchat_answers_total", platform="slack", status="complete") == 1
    assert grew("hfchat_tokens_total", platform="slack", kind="prompt") == 11
    assert grew("hfchat_tokens_total", platform="slack", kind="completion") == 7
    assert grew("hfchat_time_to_first_token_seconds_count", platform="slack") == 1
    assert grew("hfchat_platform_calls_total", platform="slack", call="append") >= 1
    assert grew("hfchat_platform_rate_limited_total", platform="slack") == 1
    assert _value(after, "hfchat_active_streams", platform="slack") == 0
    assert "count me" not in text  # labels never carry what people wrote


async def test_healthz_reports_the_database(core_factory, fake_router):
    core = await core_factory(fake_router.url)
    runner = await serve_metrics(core, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        status, body = await _get(base + "/healthz")
        assert status == 200 and '"ok"' in body and core.worker_id in body
        await core.store.close()  # the database is gone
        status, body = await _get(base + "/healthz")
        assert status == 503 and "unhealthy" in body
    finally:
        await runner.cleanup()
        await core.store.open()  # let the fixture close it as usual


async def test_hfchat_run_serves_metrics_when_asked(tmp_path, fake_router):
    async with FakeSlack() as fake:
        port = free_port()
        env = bot_env(
            fake, fake_router, f"sqlite:///{tmp_path}/bot.db", METRICS_PORT=str(port), METRICS_HOST="127.0.0.1"
        )
        bot = await BotProcess("metrics", env, tmp_path).start()
        try:
            event = fake.build_event_callback(fake.build_app_mention("hello", channel=CHANNEL))
            assert (await fake.http_send(bot.url, event)).status == 200
            await wait_until(lambda: fake.bot_messages(CHANNEL, event["event"]["ts"]), what="the answer")
            status, body = await _get(f"http://127.0.0.1:{port}/healthz")
            assert status == 200 and '"ok"' in body

            async def answered():
                samples = _samples((await _get(f"http://127.0.0.1:{port}/metrics"))[1])
                return _value(samples, "hfchat_answers_total", platform="slack", status="complete") == 1

            await wait_until(answered, what="the answer to be counted")
        finally:
            await bot.stop()


async def test_discord_counts_events_answers_edits_and_429s(core_factory, fake_router):
    from bots.discord.app import build_bot
    from core.keys import ConversationKey
    from core.streaming import PlatformLimits
    from tests.fakes.discord import FakeDiscord, running_client

    core = await core_factory(fake_router.url)
    limits = PlatformLimits(max_chars=2000, edit_interval=0.1)
    async with FakeDiscord() as fake:
        thread = fake.add_thread(fake.default_channel, "a conversation")
        key = ConversationKey("discord", fake.default_guild["id"], fake.default_channel["id"], thread["id"])
        await core.store.create_conversation(key, fake.default_user["id"], "a conversation")
        runner = await serve_metrics(core, "127.0.0.1", 0)
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            bot = build_bot(core, limits=limits, print_invite=False, guild_ready_timeout=0.05)
            async with running_client(fake, bot):
                before = _samples((await _get(base + "/metrics"))[1])
                answer = "Edited into place, a few words at a time."
                fake_router.queue(text_script(answer, pieces=8, delay=0.08))
                fake.inject_429("PATCH", "/channels/{channel_id}/messages/{message_id}", retry_after=0.2)
                sent = await fake.message_create(thread["id"], fake.default_user, "count me on discord")
                await fake.dispatch("MESSAGE_CREATE", sent)  # the same message again (a gateway replay)
                await fake.wait_until(
                    lambda: any(m.content == answer for m in fake.channel_messages(thread["id"])), within=10
                )
                await asyncio.wait_for(core.chat.wait_idle(), 5)  # the answer is counted when it ends
                text = (await _get(base + "/metrics"))[1]
                after = _samples(text)
        finally:
            await runner.cleanup()

    def grew(name: str, **labels) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert grew("hfchat_events_total", platform="discord", kind="message") == 2  # the message, and its replay
    assert grew("hfchat_duplicate_events_total", platform="discord") == 1
    assert grew("hfchat_answers_total", platform="discord", status="complete") == 1
    assert grew("hfchat_platform_calls_total", platform="discord", call="post") == 1
    assert grew("hfchat_platform_calls_total", platform="discord", call="edit") >= 2
    assert grew("hfchat_platform_rate_limited_total", platform="discord") == 1
    assert grew("hfchat_tokens_total", platform="discord", kind="completion") == 7
    assert grew("hfchat_answer_checkpoints_total", platform="discord") >= 1  # the save at the first post
    assert "count me" not in text
