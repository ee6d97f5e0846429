"""Slack's HTTP mode listens where SLACK_HOST says (default all interfaces, since Slack must reach it)."""

from __future__ import annotations

import asyncio
import contextlib

from bots.slack.app import run_slack
from tests.support.net import ANY, LOOPBACK, free_port, until_listening


async def test_slack_http_mode_listens_on_slack_host(core_factory, fake_router):
    for host, expected in (("127.0.0.1", {LOOPBACK}), (None, {ANY})):
        port = free_port()
        options = dict(slack_bot_token="xoxb-1", slack_mode="http", slack_signing_secret="s", slack_port=port)
        core = await core_factory(fake_router.url, **options, **({"slack_host": host} if host else {}))
        task = asyncio.create_task(run_slack(core))
        try:
            assert await until_listening(port) == expected
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
