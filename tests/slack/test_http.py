"""HTTP mode: Bolt's aiohttp app with signing-secret verification, retries de-duplicated."""

from __future__ import annotations

import time

from bots.slack.http import serve_http
from tests.fakes.fake_router import text_script
from tests.fakes.slack import FakeSlack, post_signed
from tests.support.slack import CHANNEL, running_bot, visible


async def test_http_mode_verifies_signatures_and_dedupes_retries(core_factory, fake_router):
    async with FakeSlack() as fake:
        async with running_bot(core_factory, fake_router, fake, socket=False) as bot:
            runner = await serve_http(bot.adapter, "127.0.0.1", 0)
            url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
            try:
                event = fake.build_event_callback(fake.build_app_mention("hello over http", channel=CHANNEL))
                bad = await post_signed(url, "not-the-secret", json_body=event)
                stale = await post_signed(url, fake.signing_secret, json_body=event, timestamp=int(time.time()) - 600)
                assert (bad.status, stale.status) == (401, 401)
                await bot.settle()
                assert fake.calls() == [] and fake_router.requests == []

                fake_router.queue(text_script("Hello back."))
                first = await fake.http_send(url, event)
                retry = await fake.http_send(url, event, retry_num=1, retry_reason="http_timeout")
                assert (first.status, retry.status) == (200, 200)
                await bot.settle()
                ts = event["event"]["ts"]
                assert [visible(m) for m in bot.answers(CHANNEL, ts)] == ["Hello back."]
                assert len(fake_router.requests) == 1

                command = await fake.http_send(url, fake.build_slash_command("/model", ""), kind="command")
                assert command.status == 200
                await bot.settle()
                assert "Current model" in bot.responses()[-1]
            finally:
                await runner.cleanup()


async def test_run_slack_names_the_missing_variable(core_factory, fake_router):
    import pytest

    from bots.slack.app import run_slack
    from core.config import ConfigError

    core = await core_factory(fake_router.url)
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
        await run_slack(core)
    core = await core_factory(fake_router.url, slack_bot_token="xoxb-1")
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        await run_slack(core)
    core = await core_factory(fake_router.url, slack_bot_token="xoxb-1", slack_mode="http")
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        await run_slack(core)
