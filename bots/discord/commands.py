"""The slash command definitions. Each one hands over to a method of the bot (bots.discord.app)."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bots.discord.extras import register_extra_commands
from bots.discord.features import register_feature_commands


def register_commands(tree: app_commands.CommandTree) -> None:
    register_feature_commands(tree)  # /settings, /assistant, /usage
    register_extra_commands(tree)  # /compare, /limits

    async def models(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
        return await interaction.client.model_choices(interaction, current)

    async def conversations(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
        return await interaction.client.conversation_choices(interaction, current)

    @tree.command(name="chat", description="Ask a model; the conversation goes on in a new thread")
    @app_commands.describe(
        prompt="What to ask",
        model="Model for this conversation (default: yours, the channel's or the server's)",
        private="Open a private thread only you (and people you add) can see",
    )
    @app_commands.autocomplete(model=models)
    async def chat(
        interaction: discord.Interaction[Any],
        prompt: app_commands.Range[str, 1, 6000],
        model: app_commands.Range[str, 1, 200] | None = None,
        private: bool = False,
    ) -> None:
        bot = interaction.client
        await bot.run_command(interaction, bot.cmd_chat, prompt, model, private)

    @tree.command(name="model", description="Show or choose the model (in a thread: that conversation's)")
    @app_commands.describe(
        name="Model name; leave empty to see the current one",
        scope="Admins: set the default for this channel or the whole server",
    )
    @app_commands.choices(
        scope=[
            app_commands.Choice(name="this channel", value="channel"),
            app_commands.Choice(name="this server", value="server"),
        ]
    )
    @app_commands.autocomplete(name=models)
    async def model(
        interaction: discord.Interaction[Any],
        name: app_commands.Range[str, 1, 200] | None = None,
        scope: app_commands.Choice[str] | None = None,
    ) -> None:
        bot = interaction.client
        await bot.run_command(interaction, bot.cmd_model, name, scope.value if scope else None)

    @tree.command(name="delete", description="Delete this conversation, one of yours, or everything you stored")
    @app_commands.describe(
        conversation="One of your conversations (default: the one in this thread)",
        everything="Erase every conversation and setting you stored (asks first)",
    )
    @app_commands.rename(everything="all")
    @app_commands.autocomplete(conversation=conversations)
    async def delete(
        interaction: discord.Interaction[Any], conversation: str | None = None, everything: bool = False
    ) -> None:
        bot = interaction.client
        await bot.run_command(interaction, bot.cmd_delete, conversation, everything)

    @tree.command(name="conversations", description="Your conversations, with links")
    async def list_conversations(interaction: discord.Interaction[Any]) -> None:
        bot = interaction.client
        await bot.run_command(interaction, bot.cmd_conversations)

    @tree.command(name="export", description="Download a conversation as a Markdown or JSON file")
    @app_commands.describe(
        conversation="One of your conversations (default: the one in this thread)", format="markdown or json"
    )
    @app_commands.choices(
        format=[app_commands.Choice(name="Markdown", value="md"), app_commands.Choice(name="JSON", value="json")]
    )
    @app_commands.autocomplete(conversation=conversations)
    async def export(
        interaction: discord.Interaction[Any],
        conversation: str | None = None,
        format: app_commands.Choice[str] | None = None,
    ) -> None:
        bot = interaction.client
        await bot.run_command(interaction, bot.cmd_export, conversation, format.value if format else "md")

    @tree.command(name="new", description="In DMs: start a new conversation")
    async def new(interaction: discord.Interaction[Any]) -> None:
        bot = interaction.client
        await bot.run_command(interaction, bot.cmd_new)

    @tree.command(name="mentions", description="Admins: how I answer @mentions in this channel")
    @app_commands.describe(mode="thread: open a thread · inline: reply in the channel · off: ignore mentions")
    @app_commands.choices(
        mode=[
            app_commands.Choice(name="open a thread", value="thread"),
            app_commands.Choice(name="reply inline", value="inline"),
            app_commands.Choice(name="off", value="off"),
        ]
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def mentions(interaction: discord.Interaction[Any], mode: app_commands.Choice[str]) -> None:
        bot = interaction.client
        await bot.run_command(interaction, bot.cmd_mentions, mode.value)
