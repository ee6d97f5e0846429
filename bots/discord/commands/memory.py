"""/memory: a command group (`/memory list`, `on`, `off`, `clear`), every answer only for the person who used it; the
list has a delete button per fact and Delete all (bots.discord.memory). The words, the rules and whose memory it is
are the core's (core.memory); the subcommands and their descriptions are the registry's."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bots.discord.memory import place, show_listing
from core.commands.registry import DISCORD, command


def register(tree: app_commands.CommandTree) -> None:
    entry = command("memory")
    summaries = {sub.name: sub.help for sub in entry.subcommands}
    group = app_commands.Group(name=entry.name_on(DISCORD), description=entry.summary)

    @group.command(name="list", description=summaries["list"])
    async def listing(interaction: discord.Interaction[Any]) -> None:
        await show_listing(interaction)

    async def words(interaction: discord.Interaction[Any], text: str) -> None:
        bot = interaction.client
        await bot.respond(
            interaction, await bot.chat.memory.command(bot.interaction_actor(interaction), place(interaction), text)
        )

    @group.command(name="on", description=summaries["on"])
    async def on(interaction: discord.Interaction[Any]) -> None:
        await words(interaction, "on")

    @group.command(name="off", description=summaries["off"])
    async def off(interaction: discord.Interaction[Any]) -> None:
        await words(interaction, "off")

    @group.command(name="clear", description=summaries["clear"])
    async def clear(interaction: discord.Interaction[Any]) -> None:
        await words(interaction, "clear")

    tree.add_command(group)
