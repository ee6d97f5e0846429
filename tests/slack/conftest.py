"""Fixtures of the Slack tests: a bot on a fake Slack (tests/support/slack.py), and no proxy in the way."""

from __future__ import annotations

import pytest

from tests.fakes.slack import FakeSlack
from tests.support.slack import ADMIN, BOB, running_bot


@pytest.fixture(autouse=True)
def _no_proxy(no_proxy):
    """Every Slack test talks to its loopback fake without a proxy in the way (tests/conftest.py: no_proxy)."""


@pytest.fixture
async def bot(core_factory, fake_router):
    async with FakeSlack(echo_events=True) as fake:
        fake.add_user(BOB, "bob")
        fake.add_user(ADMIN, "boss", is_admin=True)
        async with running_bot(core_factory, fake_router, fake) as harness:
            yield harness
