"""Bad input over Slack's real wire formats, refused cleanly: links to another workspace, signed but malformed
interactive payloads and slash commands, and refusals that echo what someone typed."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

import pytest

from bots.slack.http import serve_http
from core.keys import ConversationKey
from tests.fakes.fake_router import text_script
from tests.fakes.slack import FakeSlack, post_signed
from tests.support.slack import ALICE, CHANNEL, running_bot


async def _thread(bot) -> tuple[str, ConversationKey]:
    bot.router.queue(text_script("An answer."))
    post = await bot.fake.user_posts("a question", channel=CHANNEL, user=ALICE)
    await bot.settle()
    key = ConversationKey("slack", bot.fake.team_id, CHANNEL, post.ts)
    assert await bot.core.chat.conversations.for_key(key) is not None
    return post.ts, key


@pytest.mark.parametrize("host", ["other.slack.com", "evil.example.com", "fake-workspace.slack.com.evil.example"])
async def test_a_link_to_another_workspace_is_refused(bot, host):
    ts, key = await _thread(bot)
    link = f"https://{host}/archives/{CHANNEL}/p{ts.replace('.', '')}"
    await bot.command("/delete", f"<{link}>", user=ALICE, channel=CHANNEL)
    assert "another Slack workspace" in bot.responses()[-1]
    assert await bot.core.chat.conversations.for_key(key) is not None  # the same ids here were not touched
    await bot.command("/export", f"<{link}>", user=ALICE, channel=CHANNEL)
    assert "another Slack workspace" in bot.responses()[-1]
    # a request that does not say its team_domain: the workspace's own (auth.test's url) is what counts
    payload = bot.fake.build_slash_command("/delete", f"<{link}>", user=ALICE, channel=CHANNEL)
    del payload["team_domain"]
    await bot.fake.wait_ack(await bot.fake.socket_send_command(payload))
    await bot.settle()
    assert "another Slack workspace" in bot.responses()[-1]
    own = f"https://{bot.fake.team_domain}.slack.com/archives/{CHANNEL}/p{ts.replace('.', '')}"
    await bot.command("/delete", f"<{own}>", user=ALICE, channel=CHANNEL)
    assert bot.responses()[-1].startswith("Deleted")


async def test_signed_but_malformed_requests_get_400_and_one_log_line(core_factory, fake_router, caplog):
    async with FakeSlack() as fake, running_bot(core_factory, fake_router, fake, socket=False) as bot:
        runner = await serve_http(bot.adapter, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
        form = "application/x-www-form-urlencoded"
        action = fake.build_block_actions(action_id="hfchat_regenerate", value="1")
        no_actions = {**action, "actions": []}
        command = fake.build_slash_command("/model", "", channel=CHANNEL)
        bodies = [
            urlencode({"payload": json.dumps(action)[:40]}),  # truncated JSON
            urlencode({"payload": "[]"}),
            urlencode({"payload": json.dumps(no_actions)}),
            urlencode({"payload": json.dumps({**action, "actions": [{"value": "1"}]})}),  # an action without its id
            urlencode({k: v for k, v in command.items() if k != "team_id"}),
            urlencode({k: v for k, v in command.items() if k != "user_id"}),
            urlencode({k: v for k, v in command.items() if k != "channel_id"}),
        ]
        try:
            with caplog.at_level(logging.INFO):
                statuses = [
                    (await post_signed(url, fake.signing_secret, raw=b.encode(), content_type=form)).status
                    for b in bodies
                ]
            await bot.settle()
        finally:
            await runner.cleanup()
        assert statuses == [400] * len(bodies)
        assert not [r for r in caplog.records if r.exc_info], "no tracebacks"
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        refused = [r for r in caplog.records if "malformed" in r.getMessage()]
        assert len(refused) == len(bodies)


async def test_refusals_escape_direction_and_invisible_controls(bot):
    typed = "gpt\u202e4-evil\u2066x\u200b"
    await bot.command("/model", typed, user=ALICE, channel=CHANNEL)
    shown = bot.responses()[-1]
    assert "not a model the router serves" in shown
    for control in ("\u202e", "\u2066", "\u200b"):
        assert control not in shown
    assert "U+202E" in shown and "U+2066" in shown and "U+200B" in shown
