"""The metrics server listens where its settings say: METRICS_HOST for /healthz and /metrics (default this host
only). Slack's HTTP mode: tests/slack/test_listen_addresses.py."""

from __future__ import annotations

from core.app import serve_metrics
from tests.support.net import LOOPBACK, free_port, until_listening


async def test_metrics_listen_on_this_host_only_unless_told(core_factory, fake_router):
    core = await core_factory(fake_router.url)
    assert core.settings.metrics_host == "127.0.0.1"
    port = free_port()
    runner = await serve_metrics(core, core.settings.metrics_host, port)
    try:
        assert await until_listening(port) == {LOOPBACK}
    finally:
        await runner.cleanup()
