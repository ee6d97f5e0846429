"""A real `hfchat run` serves /healthz and /metrics when METRICS_PORT is set."""

from __future__ import annotations

from tests.fakes.slack import FakeSlack
from tests.support.metrics import http_get, metric_samples, sample_value
from tests.support.net import free_port
from tests.support.processes import BotProcess, bot_env
from tests.support.slack import CHANNEL
from tests.support.waits import wait_until


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
            status, body = await http_get(f"http://127.0.0.1:{port}/healthz")
            assert status == 200 and '"ok"' in body

            async def answered():
                samples = metric_samples((await http_get(f"http://127.0.0.1:{port}/metrics"))[1])
                return sample_value(samples, "hfchat_answers_total", platform="slack", status="complete") == 1

            await wait_until(answered, what="the answer to be counted")
        finally:
            await bot.stop()
