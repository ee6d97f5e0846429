"""The HTTP servers listen where their settings say: SLACK_HOST for Slack's HTTP mode (default all interfaces,
since Slack must reach it) and METRICS_HOST for /healthz and /metrics (default this host only)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from bots.slack.app import run_slack
from core.app import serve_metrics
from tests.support.processes import free_port


def listening(port: int) -> set[str]:
    """The local addresses (hex, as /proc/net/tcp{,6} writes them) with a socket listening on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


LOOPBACK = "0100007F"  # 127.0.0.1 in /proc/net/tcp's byte order
ANY = "00000000"


async def _until_listening(port: int) -> set[str]:
    for _ in range(200):
        if addresses := listening(port):
            return addresses
        await asyncio.sleep(0.02)
    raise AssertionError(f"nothing listens on {port}")


async def test_slack_http_mode_listens_on_slack_host(core_factory, fake_router):
    for host, expected in (("127.0.0.1", {LOOPBACK}), (None, {ANY})):
        port = free_port()
        options = dict(slack_bot_token="xoxb-1", slack_mode="http", slack_signing_secret="s", slack_port=port)
        core = await core_factory(fake_router.url, **options, **({"slack_host": host} if host else {}))
        task = asyncio.create_task(run_slack(core))
        try:
            assert await _until_listening(port) == expected
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_metrics_listen_on_this_host_only_unless_told(core_factory, fake_router):
    core = await core_factory(fake_router.url)
    assert core.settings.metrics_host == "127.0.0.1"
    port = free_port()
    runner = await serve_metrics(core, core.settings.metrics_host, port)
    try:
        assert await _until_listening(port) == {LOOPBACK}
    finally:
        await runner.cleanup()
