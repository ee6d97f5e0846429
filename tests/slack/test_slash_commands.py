"""Slack's slash commands are the registry's (core/commands/registry.py): each one it gives Slack has a listener
that answers the person who typed it, and `/hfchat help` lists them all from it."""

from __future__ import annotations

from core.commands.registry import SLACK, commands_on
from tests.support.slack import ALICE, CHANNEL

SLASH = [c for c in commands_on(SLACK) if " " not in c.name_on(SLACK)]


async def test_every_registry_command_is_acked_and_answered(bot):
    for command in SLASH:
        name = f"/{command.name_on(SLACK)}"
        before = len(bot.fake.response_url_posts)
        await bot.command(name, "", user=ALICE, channel=CHANNEL)  # waits for its Socket Mode ack
        assert len(bot.fake.response_url_posts) > before, f"{name} was not answered"


async def test_help_lists_every_registry_command_with_its_summary(bot):
    await bot.command("/hfchat", "help", user=ALICE, channel=CHANNEL)
    text = bot.responses()[-1]
    for command in SLASH:
        assert f"/{command.name_on(SLACK)}" in text and command.summary in text, command.name
