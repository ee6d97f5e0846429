"""Tokens and secrets never reach a log record (DEBUG included), a message shown in chat or an export, with the
Discord and the Slack front ends on one core."""

from __future__ import annotations

import logging

import pytest

from bots.discord.app import build_bot
from core.streaming import PlatformLimits
from tests.fakes.discord import FakeDiscord, running_client
from tests.fakes.fake_router import Status, text_script
from tests.fakes.slack import FakeSlack
from tests.support.secrets import CANARIES, assert_no_canary
from tests.support.slack import CHANNEL, running_bot, visible

pytestmark = pytest.mark.usefixtures("no_proxy")

FAST = PlatformLimits(max_chars=2000, edit_interval=0.05, bucket_rate=200.0, bucket_burst=50)


async def test_secrets_never_reach_logs_chat_or_exports(core_factory, fake_router, debug_logs):
    core = await core_factory(
        fake_router.url,
        hf_token=CANARIES["hf"],
        discord_token=CANARIES["discord"],
        slack_bot_token=CANARIES["slack_bot"],
        slack_app_token=CANARIES["slack_app"],
        slack_signing_secret=CANARIES["signing"],
        slack_client_secret=CANARIES["client"],
        log_level="DEBUG",
    )
    shown: list[str] = []
    # Discord: a conversation, a router failure shown in chat, and an export
    async with FakeDiscord(token=CANARIES["discord"]) as fake:
        thread = fake.add_thread(fake.default_channel, "t")
        bot = build_bot(core, limits=FAST, print_invite=False, guild_ready_timeout=0.05)
        async with running_client(fake, bot):
            fake_router.queue(text_script("A fine answer."))
            await fake.message_create(thread["id"], fake.default_user, f"<@{fake.bot_user['id']}> hello")
            fake_router.queue([Status(401, {"error": {"message": "Invalid credentials in Authorization header"}})])
            await fake.wait_until(
                lambda: any(m.content == "A fine answer." for m in fake.channel_messages(thread["id"]))
            )
            await core.chat.replies.wait_idle()
            await fake.message_create(thread["id"], fake.default_user, "again")
            await fake.wait_until(lambda: len(fake.channel_messages(thread["id"])) >= 4, within=10)
            await core.chat.replies.wait_idle()
            export = await fake.slash_command(thread["id"], fake.default_user, "export")
            await fake.wait_until(lambda: export.acknowledged)
            await fake.wait_until(lambda: any(cb.files for cb in export.callbacks))
            shown += [f.data.decode("utf-8", "replace") for cb in export.callbacks for f in cb.files]
            shown += [m.content for m in fake.channel_messages(thread["id"])]
            shown += [str(r.json) for r in fake.requests if r.json is not None]
    # Slack: Socket Mode with the canary tokens
    async with FakeSlack(bot_token=CANARIES["slack_bot"], app_token=CANARIES["slack_app"]) as slack:
        async with running_bot(core_factory, fake_router, slack) as harness:
            fake_router.queue(text_script("Slack answer."))
            post = await slack.user_posts("hello", channel=CHANNEL)
            fake_router.queue([Status(500, {"error": {"message": "upstream exploded"}})])
            await harness.settle()
            await slack.user_posts("again", channel=CHANNEL, thread_ts=post.ts)
            await harness.settle()
            shown += [visible(m) for m in slack.bot_messages()] + harness.ephemeral_texts() + harness.responses()
    assert any("Slack answer." in s for s in shown) and any("A fine answer." in s for s in shown)
    assert_no_canary(shown, "chat or export")
    assert_no_canary(debug_logs.texts(), "logs")
    assert any(r.levelno == logging.DEBUG for r in debug_logs.records)
    assert_no_canary([repr(core.settings), str(core.settings.model_dump())], "settings repr")
