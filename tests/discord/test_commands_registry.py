"""Discord's app commands and their options are the registry's (core/commands/registry.py), no more, no less."""

from __future__ import annotations

from bots.discord.app import build_bot
from core.commands.registry import DISCORD, commands_on


async def test_discord_app_commands_are_the_registry(core):
    from discord import app_commands

    bot = build_bot(core, print_invite=False)
    tree = {
        c.name: c for c in bot.tree.get_commands() if isinstance(c, app_commands.Command | app_commands.Group)
    }  # not the context menus
    assert set(tree) == {c.name_on(DISCORD) for c in commands_on(DISCORD)}
    for command in commands_on(DISCORD):
        rendered = tree[command.name_on(DISCORD)]
        assert rendered.description == command.summary, command.name
        if isinstance(rendered, app_commands.Group):  # a command group: its subcommands are the registry's
            assert {c.name: c.description for c in rendered.commands} == {s.name: s.help for s in command.subcommands}
            continue
        assert not command.subcommands, command.name
        described = {p.display_name: p.description for p in rendered.parameters}
        assert described == command.described(), command.name


async def test_discord_message_commands_are_the_registry(core):
    import discord

    from core.commands.registry import ON_A_MESSAGE

    bot = build_bot(core, print_invite=False)
    menus = {c.name for c in bot.tree.get_commands(type=discord.AppCommandType.message)}
    assert menus == {c.name_on(DISCORD) for c in commands_on(DISCORD, ON_A_MESSAGE)}
    assert {"Ask HuggingChat", "Summarize thread", "Explain code", "Translate"} <= menus
