"""Real `hfchat run` processes for tests: Slack in HTTP mode against a FakeSlack, or Discord against a
FakeDiscord, with a fake router and a database.

Each process logs to a file (read it with `log_text()`); signals are sent by pid, to that process only.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp

from tests.fakes.discord import FakeDiscord
from tests.fakes.fake_router import FakeRouter
from tests.fakes.slack import FakeSlack
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
DEFAULT_MODEL = "meta-llama/Llama-3.3-70B-Instruct"


class BotProcess:
    """`python -m bots.cli run` with Slack in HTTP mode on its own port."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path):
        self.name = name
        self.port = free_port()
        self.env = {**env, "SLACK_PORT": str(self.port)}
        self.log_path = log_dir / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None
        self.url = f"http://127.0.0.1:{self.port}/slack/events"

    async def start(self, within: float = 20.0) -> BotProcess:
        with open(self.log_path, "ab") as log:  # noqa: ASYNC230 (a local file, opened once per start)
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bots.cli", "run", cwd=ROOT, env=self.env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + within
        async with aiohttp.ClientSession() as session:
            while True:
                if self.process.returncode is not None:
                    raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_text()}")
                if await self.ready(session):
                    return self
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.name} did not start:\n{self.log_text()}")
                await asyncio.sleep(0.1)

    async def ready(self, session: aiohttp.ClientSession) -> bool:
        try:
            async with session.get(self.url) as response:
                return response.status in (404, 405)  # Bolt's route is POST-only: the server is up
        except aiohttp.ClientError:
            return False

    def log_text(self) -> str:
        return self.log_path.read_text("utf-8", "replace") if self.log_path.exists() else ""

    def send_signal(self, sig: int) -> None:
        if self.process is not None and self.process.returncode is None:
            os.kill(self.process.pid, sig)

    async def wait(self, within: float = 20.0) -> int:
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), within)

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.send_signal(signal.SIGTERM)
        try:
            await self.wait(15)
        except TimeoutError:
            self.send_signal(signal.SIGKILL)
            await self.wait(5)


class DiscordBotProcess(BotProcess):
    """`python -m bots.cli run` with Discord pointed at a FakeDiscord (env from `discord_bot_env`)."""

    async def ready(self, session: aiohttp.ClientSession) -> bool:
        return "discord: ready in" in self.log_text()  # discord.py's on_ready: every shard has its guilds


def _common_env(router: FakeRouter, database_url: str) -> dict[str, str]:
    prefixes = ("SLACK_", "HF_", "DISCORD_")
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES and not k.startswith(prefixes)}
    env.update(
        HF_TOKEN="hf_test_token",
        HF_ROUTER_URL=router.url,
        LOCAL_MODE="off",
        DEFAULT_MODEL=DEFAULT_MODEL,
        DATABASE_URL=database_url,
        LOG_LEVEL="INFO",
        REQUEST_TIMEOUT="5",
        IDLE_TIMEOUT="10",
        PYTHONUNBUFFERED="1",
        AUTO_TITLES="false",  # a title request would take a scripted answer meant for the next message
    )
    return env


def discord_bot_env(fake: FakeDiscord, router: FakeRouter, database_url: str, **extra: str) -> dict[str, str]:
    env = _common_env(router, database_url)
    env.update(DISCORD_TOKEN=fake.token, DISCORD_API_URL=fake.api_base, DISCORD_GATEWAY_URL=fake.gateway_url)
    env.update(extra)
    return env


def bot_env(fake: FakeSlack, router: FakeRouter, database_url: str, **extra: str) -> dict[str, str]:
    env = _common_env(router, database_url)
    env.update(
        SLACK_MODE="http",
        SLACK_BOT_TOKEN=fake.bot_token,
        SLACK_SIGNING_SECRET=fake.signing_secret,
        SLACK_API_URL=fake.api_url,
    )
    env.update(extra)
    return env


@contextlib.asynccontextmanager
async def bot_processes(env: dict[str, str], log_dir: Path, count: int):
    bots = [BotProcess(f"bot{i}", env, log_dir) for i in range(count)]
    try:
        await asyncio.gather(*(bot.start() for bot in bots))
        yield bots
    finally:
        await asyncio.gather(*(bot.stop() for bot in bots), return_exceptions=True)
