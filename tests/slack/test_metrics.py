"""/metrics counts what the Slack adapter does: events, answers, tokens, platform calls and 429s."""

from __future__ import annotations

from core.app import serve_metrics
from tests.fakes.fake_router import text_script
from tests.fakes.slack import FakeSlack
from tests.support.metrics import http_get, metric_samples, sample_value
from tests.support.slack import CHANNEL, running_bot


async def test_metrics_count_events_answers_tokens_and_429s(core_factory, fake_router):
    async with FakeSlack() as fake, running_bot(core_factory, fake_router, fake) as bot:
        runner = await serve_metrics(bot.core, "127.0.0.1", 0)
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            status, before_text = await http_get(base + "/metrics")
            assert status == 200
            before = metric_samples(before_text)

            fake.inject("chat.appendStream", "ratelimited", times=1, status=429, retry_after=0)
            fake_router.queue(text_script("A long enough answer to need a few appends.", pieces=6, delay=0.06))
            post = await fake.user_posts("count me", channel=CHANNEL)
            await fake.wait_ack(post.envelope_ids[0])
            await bot.settle()
            assert bot.answers(CHANNEL, post.ts)

            status, text = await http_get(base + "/metrics")
            after = metric_samples(text)
        finally:
            await runner.cleanup()

    def grew(name: str, **labels) -> float:
        return sample_value(after, name, **labels) - sample_value(before, name, **labels)

    assert grew("hfchat_events_total", platform="slack", kind="app_mention") == 1
    assert grew("hfchat_answers_total", platform="slack", status="complete") == 1
    assert grew("hfchat_tokens_total", platform="slack", kind="prompt") == 11
    assert grew("hfchat_tokens_total", platform="slack", kind="completion") == 7
    assert grew("hfchat_time_to_first_token_seconds_count", platform="slack") == 1
    assert grew("hfchat_platform_calls_total", platform="slack", call="append") >= 1
    assert grew("hfchat_platform_rate_limited_total", platform="slack") == 1
    assert sample_value(after, "hfchat_active_streams", platform="slack") == 0
    assert "count me" not in text  # labels never carry what people wrote
