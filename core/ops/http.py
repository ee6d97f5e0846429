"""GET /healthz and GET /metrics, served by a small aiohttp app on METRICS_HOST:METRICS_PORT.

The health check is given (core.app builds it from the database): this layer knows nothing above it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from core.ops.metrics import render

log = logging.getLogger(__name__)

HEALTH_SECONDS = 2.0

# returns what /healthz reports when healthy (e.g. the worker's id); raises when not
HealthCheck = Callable[[], Awaitable[dict]]


def metrics_app(health: HealthCheck) -> web.Application:
    async def healthz(request: web.Request) -> web.Response:
        try:
            details = await asyncio.wait_for(health(), HEALTH_SECONDS)
        except Exception as exc:
            return web.json_response({"status": "unhealthy", "reason": type(exc).__name__}, status=503)
        return web.json_response({"status": "ok", **details})

    async def metrics(request: web.Request) -> web.Response:
        response = web.Response(body=render())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


async def serve(health: HealthCheck, host: str, port: int) -> web.AppRunner:
    """Start /healthz and /metrics; `runner.addresses[0][1]` is the port (useful with port 0)."""
    runner = web.AppRunner(metrics_app(health), handle_signals=False, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("metrics: serving /healthz and /metrics on port %d", runner.addresses[0][1])
    return runner
