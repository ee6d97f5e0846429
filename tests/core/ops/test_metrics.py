"""/healthz and /metrics served over HTTP by the core: health follows the database. What the adapters count is in
tests/slack and tests/discord (test_metrics.py), a real `hfchat run` serving them in tests/e2e/test_metrics.py."""

from __future__ import annotations

from core.app import serve_metrics
from tests.support.metrics import http_get


async def test_healthz_reports_the_database(core_factory, fake_router):
    core = await core_factory(fake_router.url)
    runner = await serve_metrics(core, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        status, body = await http_get(base + "/healthz")
        assert status == 200 and '"ok"' in body and core.worker_id in body
        await core.store.close()  # the database is gone
        status, body = await http_get(base + "/healthz")
        assert status == 503 and "unhealthy" in body
    finally:
        await runner.cleanup()
        await core.store.open()  # let the fixture close it as usual
