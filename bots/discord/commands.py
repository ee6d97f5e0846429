"""The slash command definitions. Each one hands over to a method of the bot (bots.discord.app)."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bots.discord.extras import register_extra_commands
from bots.discord.features import register_feature_commands
from core.commands.registry import command


def register_commands(tree: app_commands.CommandTree) -> None:
    register_feature_commands(tree)  # /settings, /assistant, /usage
    register_extra_commands(tree)  # /compare, /limits

    async def models(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
        return await interaction.client.model_choices(interaction, current)

    async def conversations(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
        return await interaction.client.conversation_choices(interaction, current)

    @tree.command(name="chat", description=command("chat").summary)
    @app_commands.describe(**command("chat").described())
    @app_commands.autocomplete(model=models)
    async def chat(
        interaction: discord.Interaction[Any],
        prompt: app_commands.Range[str, 1, 6000],
        model: app_commands.Range[str, 1, 200] | None = None,
        private: bool = False,
    ) -> None:
        bot = interaction.client
        await bot.cmd_chat(interaction, prompt, model, private)

    @tree.command(name="model", description=command("model").summary)
    @app_commands.describe(**command("model").described())
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
        await bot.cmd_model(interaction, name, scope.value if scope else None)

    @tree.command(name="delete", description=command("delete").summary)
    @app_commands.describe(**{"everything" if k == "all" else k: v for k, v in command("delete").described().items()})
    @app_commands.rename(everything="all")
    @app_commands.autocomplete(conversation=conversations)
    async def delete(
        interaction: discord.Interaction[Any], conversation: str | None = None, everything: bool = False
    ) -> None:
        bot = interaction.client
        await bot.cmd_delete(interaction, conversation, everything)

    @tree.command(name="conversations", description=command("conversations").summary)
    async def list_conversations(interaction: discord.Interaction[Any]) -> None:
        bot = interaction.client
        await bot.cmd_conversations(interaction)

    @tree.command(name="export", description=command("export").summary)
    @app_commands.describe(**command("export").described())
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
        await bot.cmd_export(interaction, conversation, format.value if format else "md")

    @tree.command(name="new", description=command("new").summary)
    async def new(interaction: discord.Interaction[Any]) -> None:
        bot = interaction.client
        await bot.cmd_new(interaction)

    @tree.command(name="mentions", description=command("mentions").summary)
    @app_commands.describe(**command("mentions").described())
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
        await bot.cmd_mentions(interaction, mode.value)

    @tree.command(name="about", description=command("about").summary)
    async def about(interaction: discord.Interaction[Any]) -> None:
        bot = interaction.client
        await bot.cmd_about(interaction)
