"""`hfchat` from the outside: flags in either place, --version, help for every subcommand, and one
line (no traceback) for what a person can fix: a database, Discord or Slack that cannot be reached."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiohttp import web

from bots.cli import build_parser
from bots.slack.startup import check_slack
from core.config import Settings
from core.startup import StartupFailure
from tests.fakes.fake_router import Cut, Status, chunk

ROOT = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once the socket is closed


def env(tmp_path: Path, **extra: str) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "DISCORD_", "SLACK_", "LOCAL_"))}
    base.update(DATABASE_URL=f"sqlite:///{tmp_path}/cli.db", HF_TOKEN="hf_test", LOCAL_MODE="off")
    base.update(extra)
    return base


def run_cli(args: list[str], environment: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bots.cli", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


async def run_cli_async(args: list[str], environment: dict) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bots.cli", *args, env=environment, cwd=ROOT,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("argv", [["console", "--local"], ["--local", "console"]])
def test_local_works_before_or_after_the_subcommand(argv):
    args = build_parser().parse_args(argv)
    assert args.command == "console" and args.local is True
    assert build_parser().parse_args(["console"]).local is False


def test_version_and_help_for_every_subcommand(tmp_path):
    result = run_cli(["--version"], env(tmp_path))
    assert result.returncode == 0 and result.stdout.startswith("hfchat ")
    for command in ("run", "console", "migrate", "copy-db"):
        result = run_cli([command, "--help"], env(tmp_path))
        assert result.returncode == 0, command
        usage, _, description = result.stdout.partition("\n\n")
        assert usage.startswith(f"usage: hfchat {command}") and len(description.split()) > 5, command


def one_line(stderr: str) -> str:
    notice = "No chat platform configured"  # `hfchat run` says first that it opens the terminal chat
    lines = [line for line in stderr.strip().splitlines() if line.strip() and not line.startswith(notice)]
    assert len(lines) == 1, stderr[-3000:]
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.parametrize("command", ["console", "migrate", "run"])
def test_unreachable_postgres_is_one_line_naming_host_port_and_the_setting(tmp_path, command):
    port = closed_port()
    url = f"postgresql://hfchat:s3cret-pw@127.0.0.1:{port}/hfchat"
    result = run_cli([command], env(tmp_path, DATABASE_URL=url))
    line = one_line(result.stderr)
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in line and "DATABASE_URL" in line and "PostgreSQL" in line
    assert "s3cret-pw" not in result.stderr + result.stdout


def test_unreachable_discord_is_one_line(tmp_path):
    api = f"http://127.0.0.1:{closed_port()}/api/v10"
    result = run_cli(["run"], env(tmp_path, DISCORD_TOKEN="bogus.token.value", DISCORD_API_URL=api, LOG_LEVEL="ERROR"))
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert "cannot reach Discord" in line and api in line and "bogus" not in result.stderr


async def test_a_token_discord_refuses_is_one_line(tmp_path):
    async def unauthorized(request: web.Request) -> web.Response:
        return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", unauthorized)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        environment = env(
            tmp_path, DISCORD_TOKEN="bogus.token.value", DISCORD_API_URL=f"http://127.0.0.1:{port}/api/v10",
            LOG_LEVEL="ERROR",
        )  # fmt: skip
        code, _, stderr = await run_cli_async(["run"], environment)
    finally:
        await runner.cleanup()
    assert code == 1  # a supervisor must see the failure: it used to print its line and exit 0
    line = one_line(stderr)
    assert "DISCORD_TOKEN" in line and "bogus" not in stderr


async def test_slack_out_of_reach_is_a_few_tries_each_one_line_then_a_stop():
    api = f"http://127.0.0.1:{closed_port()}/api/"
    settings = Settings(_env_file=None, slack_bot_token="xoxb-test", slack_api_url=api)
    said: list[str] = []
    started = time.monotonic()
    with pytest.raises(StartupFailure) as failure:
        await check_slack(settings, attempts=3, backoff=0.05, say=said.append)
    assert time.monotonic() - started < 5
    assert len(said) == 2 and all("cannot reach" in line and "\n" not in line for line in said)
    assert "attempt 1 of 3" in said[0]
    assert "after 3 attempts" in str(failure.value) and "SLACK_API_URL" in str(failure.value)


def test_slack_out_of_reach_ends_the_process_with_three_lines(tmp_path):
    api = f"http://127.0.0.1:{closed_port()}/api/"
    environment = env(tmp_path, SLACK_BOT_TOKEN="xoxb-test", SLACK_APP_TOKEN="xapp-test", SLACK_API_URL=api)
    result = run_cli(["run"], environment, timeout=60)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert len(lines) == 3 and lines[-1].startswith("hfchat: cannot reach Slack"), result.stderr[-2000:]


async def test_the_terminal_chat_logs_to_a_file_and_never_onto_the_screen(tmp_path, fake_router):
    environment = env(tmp_path, HF_ROUTER_URL=fake_router.url, LOG_LEVEL="INFO", DATA_DIR=str(tmp_path / "data"))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bots.cli", "run", env=environment, cwd=ROOT,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(b"hello there\n/quit\n"), 60)
    assert process.returncode == 0, err.decode()[-2000:]
    assert "Hello from the fake router." in out.decode()
    screen = out.decode() + err.decode()
    assert " INFO " not in screen and " WARNING " not in screen, screen[-2000:]
    log = (tmp_path / "data" / "logs" / "hfchat.log").read_text()
    assert " INFO core.replies.pipeline: reply " in log and "hello there" not in log


async def test_a_failed_stream_in_the_terminal_chat_logs_to_the_file_only(tmp_path, fake_router):
    # the provider cuts the stream mid-answer and every stand-in fails too: the log has WARNINGs, the screen none
    fake_router.queue([chunk(""), chunk("partial ans"), Cut()])
    fake_router.default_script = [Status(503, {"error": {"message": "overloaded"}})]
    environment = env(tmp_path, HF_ROUTER_URL=fake_router.url, LOG_LEVEL="INFO", DATA_DIR=str(tmp_path / "data"))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bots.cli", "run", env=environment, cwd=ROOT,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(b"tell me something\n/quit\n"), 90)
    screen = out.decode() + err.decode()
    assert process.returncode == 0, screen[-2000:]
    assert "partial ans" in screen  # what was written is kept, with a notice
    assert " WARNING " not in screen and " ERROR " not in screen and "Traceback" not in screen, screen[-2000:]
    log = (tmp_path / "data" / "logs" / "hfchat.log").read_text()
    assert " WARNING " in log and "tell me something" not in log and "partial ans" not in log
