"""What Bolt writes to the operator's log at start-up. Found by running `hfchat run` against the fake Slack: every
start logged Bolt's "As you gave `client` as well, `token` will be unused." (Bolt reads SLACK_BOT_TOKEN from the
environment itself, and the adapter always hands it a client), a warning that says nothing wrong."""

from __future__ import annotations

import logging

from slack_sdk.web.async_client import AsyncWebClient

from bots.slack.app import build_adapter


async def test_starting_with_the_token_in_the_environment_logs_no_warning_but_bolts_others_still_pass(
    core_factory, fake_router, monkeypatch, caplog
):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    core = await core_factory(fake_router.url)
    with caplog.at_level(logging.WARNING, logger="slack_bolt"):
        build_adapter(core, client=AsyncWebClient(token="xoxb-from-the-environment"), signing_secret="s")
        logging.getLogger("slack_bolt").warning("another warning of Bolt's")
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("slack_bolt")]
    assert messages == ["another warning of Bolt's"]
