"""`hfchat run` runs on uvloop by default (where it is installed), on asyncio's own loop with EVENT_LOOP=asyncio,
and its start-up log says which."""

from __future__ import annotations

import asyncio
import re
import sys

import pytest

from core.ops import eventloop
from tests.fakes.slack import FakeSlack
from tests.support.processes import BotProcess, bot_env
from tests.support.slack import CHANNEL
from tests.support.waits import wait_until

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uvloop is not installed on Windows")


def _loop_line(log: str) -> str:
    found = re.findall(r"event loop: (.+)", log)
    assert len(found) == 1, log
    return found[0]


async def test_a_started_bot_runs_on_uvloop_and_answers(tmp_path, fake_router):
    async with FakeSlack() as fake:
        env = bot_env(fake, fake_router, f"sqlite:///{tmp_path}/bot.db")
        env.pop("EVENT_LOOP", None)  # the default
        bot = await BotProcess("uvloop", env, tmp_path).start()
        try:
            event = fake.build_event_callback(fake.build_app_mention("hello", channel=CHANNEL))
            assert (await fake.http_send(bot.url, event)).status == 200
            await wait_until(lambda: fake.bot_messages(CHANNEL, event["event"]["ts"]), what="the answer")
        finally:
            await bot.stop()
        assert bot.process is not None and bot.process.returncode == 0
        assert _loop_line(bot.log_text()).startswith("uvloop ")


async def test_event_loop_asyncio_runs_the_default_loop(tmp_path, fake_router):
    async with FakeSlack() as fake:
        env = bot_env(fake, fake_router, f"sqlite:///{tmp_path}/bot.db", EVENT_LOOP="asyncio")
        bot = await BotProcess("asyncio", env, tmp_path).start()
        await bot.stop()
        assert _loop_line(bot.log_text()) == "asyncio (_UnixSelectorEventLoop)"


def test_run_picks_the_loop_the_setting_names():
    async def which() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert eventloop.run(which(), "auto").startswith("uvloop")
    assert eventloop.run(which(), "asyncio") == "asyncio.unix_events"
