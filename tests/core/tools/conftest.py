"""Fixtures of the tool tests: a loopback web (tests/support/web.py) and a core searching it."""

from __future__ import annotations

import pytest

from core.records import Scope
from tests.support.chat import ALICE, KEY
from tests.support.web import serving


@pytest.fixture
async def fake_web():
    async with serving() as site_web:
        yield site_web


@pytest.fixture
async def searching_core(core_factory, fake_router, fake_web):
    core = await core_factory(
        fake_router.url,
        web_search_provider="searxng",
        searxng_url=fake_web.base,
        web_fetch_allow_networks="127.0.0.1/32",
        web_fetch_timeout=1.0,
    )
    await core.chat.preferences.set_option(ALICE, KEY, Scope.USER, "web_search", "on")
    return core
