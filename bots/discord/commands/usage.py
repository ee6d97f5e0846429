"""/usage: tokens and cost per model and per day, yours or (admins, checked by the core) the whole server's, with
each member's share under the name the server shows."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bots.discord.commands.slash import clip, slash
from core.usage.accounting import format_usage


async def usage(interaction: discord.Interaction[Any], scope: str, days: int) -> None:
    bot = interaction.client
    actor = bot.interaction_actor(interaction)
    if scope == "server":
        summary = await bot.chat.usage.for_workspace(actor, await bot.interaction_key(interaction), days)
        names = {}
        if interaction.guild is not None:
            for line in summary.by_user:
                member = interaction.guild.get_member(int(line.label)) if line.label.isdigit() else None
                if member is not None:
                    names[line.label] = member.display_name
        text = format_usage(summary, people=True, user_names=names)
    else:
        text = format_usage(await bot.chat.usage.for_user(actor, days))
    await bot.respond(interaction, clip(text))


def register(tree: app_commands.CommandTree) -> None:
    @slash(tree, "usage")
    @app_commands.choices(
        scope=[app_commands.Choice(name="me", value="me"), app_commands.Choice(name="server", value="server")]
    )
    async def usage_command(
        interaction: discord.Interaction[Any],
        scope: app_commands.Choice[str] | None = None,
        days: app_commands.Range[int, 1, 365] = 30,
    ) -> None:
        await usage(interaction, scope.value if scope else "me", days)
