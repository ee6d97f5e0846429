"""/schedule: scheduled prompts in a channel (the words, who may, the claims: core.schedules); each run opens a
thread from a message saying whose prompt it is, and answers there (bots.discord.scheduled)."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bots.discord import PLATFORM
from bots.discord.commands.slash import clip, slash
from core.errors import NotAllowed
from core.keys import ConversationKey


def register(tree: app_commands.CommandTree) -> None:
    @slash(tree, "schedule")
    async def schedule(interaction: discord.Interaction[Any], what: app_commands.Range[str, 1, 1000]) -> None:
        bot = interaction.client
        channel = interaction.channel
        if isinstance(channel, discord.Thread):
            channel = channel.parent  # a schedule belongs to the channel; its runs are threads of their own
        guild = str(interaction.guild_id) if interaction.guild_id else ""
        key = ConversationKey(PLATFORM, guild, str(getattr(channel, "id", interaction.channel_id)), "")
        words = what.strip().split()
        creating = bool(words) and words[0].lower() not in ("list", "delete", "remove", "cancel", "allow", "help")
        perms = interaction.app_permissions
        if creating and guild and not (perms.send_messages and perms.create_public_threads):
            raise NotAllowed("I can't post and open threads in this channel, so I couldn't run a schedule here.")
        reply = await bot.chat.schedules.command(bot.interaction_actor(interaction), key, what)
        await bot.respond(interaction, clip(reply))
