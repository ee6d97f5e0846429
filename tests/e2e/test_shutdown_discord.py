"""SIGTERM to a real Discord `hfchat run` process keeps SHUTDOWN_GRACE_SECONDS, whatever its sends are doing.

An answer whose posts keep failing retryably (a long Retry-After, or 500s that discord.py retries inside the
call) is given up at the deadline and stored INTERRUPTED with its text; an answer that can finish within the
grace does, on Discord: the bot's HTTP session stays open until the answers in flight are done.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.fakes.discord import FakeDiscord
from tests.support.processes import DiscordBotProcess, discord_bot_env
from tests.support.router import EchoRouter
from tests.support.waits import wait_until

GRACE = 3.0
MARGIN = 3.0  # the process's own exit: closing the gateway, the database, the router client


def rows(path: Path) -> list[tuple]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
        return db.execute("SELECT role, status, content FROM messages ORDER BY id").fetchall()


@pytest.mark.parametrize("failure", ["long retry-after", "server errors"])
async def test_sigterm_gives_up_a_send_stuck_in_retries_at_the_deadline(tmp_path: Path, failure: str):
    db_path = tmp_path / "bot.db"
    async with FakeDiscord() as fake, EchoRouter(pieces=30, delay=0.1) as router:
        env = discord_bot_env(fake, router, f"sqlite:///{db_path}", SHUTDOWN_GRACE_SECONDS=str(GRACE))
        bot = await DiscordBotProcess("bot", env, tmp_path).start(within=40)
        try:
            dm = fake.add_dm_channel(fake.default_user)
            route = f"/channels/{dm['id']}/messages"
            if failure == "long retry-after":
                fake.inject_429("POST", route, count=1000, retry_after=60.0)
            else:  # discord.py sleeps and retries a 500 itself, inside the one call
                fake.inject_error("POST", route, status=500, count=1000)
            await fake.message_create(dm["id"], fake.default_user, "a question that cannot be answered")
            await wait_until(lambda: fake.requests_for("POST", route), within=20, what="the first post attempt")
            await asyncio.sleep(1.0)  # the answer is streaming; its posts keep failing
            signalled = time.monotonic()
            bot.send_signal(signal.SIGTERM)
            assert await bot.wait(GRACE + MARGIN + 10) == 0
            took = time.monotonic() - signalled
        finally:
            await bot.stop()
    assert took < GRACE + MARGIN, took
    [(_, user_status, _), (role, status, content)] = rows(db_path)
    assert (user_status, role, status) == ("complete", "assistant", "interrupted")
    assert content and EchoRouter.answer_for("a question that cannot be answered").startswith(content)
    log = bot.log_text()
    assert "Traceback" not in log and "a question that cannot be answered" not in log


async def test_sigterm_lets_a_discord_answer_finish_on_discord(tmp_path: Path):
    db_path = tmp_path / "bot.db"
    async with FakeDiscord() as fake, EchoRouter(pieces=10, delay=0.1) as router:
        env = discord_bot_env(fake, router, f"sqlite:///{db_path}", SHUTDOWN_GRACE_SECONDS="10")
        bot = await DiscordBotProcess("bot", env, tmp_path).start(within=40)
        try:
            dm = fake.add_dm_channel(fake.default_user)
            await fake.message_create(dm["id"], fake.default_user, "a graceful question")
            await wait_until(lambda: fake.channel_messages(dm["id"])[1:], within=20, what="the answer to start")
            bot.send_signal(signal.SIGTERM)
            assert await bot.wait(20) == 0
        finally:
            await bot.stop()
        answer = EchoRouter.answer_for("a graceful question")
        assert fake.channel_messages(dm["id"])[-1].content == answer  # delivered whole before the bot let go
    assert rows(db_path)[-1] == ("assistant", "complete", answer)
