"""Fixtures of the tool tests: a loopback web (tests/support/web.py) and a core searching it."""

from __future__ import annotations

import pytest
from aiohttp import web

from core.records import Scope
from tests.support.chat import ALICE, KEY
from tests.support.web import Web


@pytest.fixture
async def fake_web():
    site_web = Web()
    app = web.Application()
    app.router.add_get("/search", site_web.searxng)
    app.router.add_post("/search", site_web.tavily)
    app.router.add_get("/web/search", site_web.brave)
    app.router.add_get("/paris", site_web.paris)
    app.router.add_get("/slow", site_web.slow)
    app.router.add_get("/huge", site_web.huge)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    site_web.base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    yield site_web
    site_web.release.set()
    await runner.cleanup()


@pytest.fixture
async def searching_core(core_factory, fake_router, fake_web):
    core = await core_factory(
        fake_router.url,
        web_search_provider="searxng",
        searxng_url=fake_web.base,
        web_fetch_allow_networks="127.0.0.1/32",
        web_fetch_timeout=1.0,
    )
    await core.chat.set_option(ALICE, KEY, Scope.USER, "web_search", "on")
    return core
