"""/account: connect a Hugging Face account through a modal (the token is typed into Discord's private form, never
into a channel), see who is connected, disconnect; admins choose who pays in the server. The words are the core's
(core.commands.account)."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bots.discord.commands.slash import anywhere, clip, slash
from core.commands.account import ACTIONS, TOKEN_HINT
from core.errors import UserFacingError


class ConnectAccount(discord.ui.Modal, title="Connect your Hugging Face account"):
    token: discord.ui.TextInput = discord.ui.TextInput(
        label="Hugging Face token",
        style=discord.TextStyle.short,
        min_length=8,
        max_length=512,
        placeholder="hf_…",
    )

    def __init__(self) -> None:
        super().__init__(custom_id="hfchat:account:connect")
        self.add_item(discord.ui.TextDisplay(TOKEN_HINT))

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        bot = interaction.client
        await interaction.response.defer(ephemeral=True, thinking=True)  # the Hub's answer may take seconds
        try:
            text = (await bot.chat.accounts.connect(bot.interaction_actor(interaction), self.token.value)).text
        except UserFacingError as refused:  # a refused token: told here, only to them, with the way back
            text = str(refused)
        await bot.respond(interaction, clip(text))


def register(tree: app_commands.CommandTree) -> None:
    @slash(tree, "account")
    @anywhere
    @app_commands.choices(action=[app_commands.Choice(name=a, value=a) for a in ACTIONS])
    async def account_command(
        interaction: discord.Interaction[Any], action: app_commands.Choice[str] | None = None, value: str | None = None
    ) -> None:
        bot = interaction.client
        chosen = action.value if action else "status"
        if chosen == "connect" and bot.chat.accounts.enabled:
            await interaction.response.send_modal(ConnectAccount())
            return
        text = f"{chosen} {value or ''}"
        await bot.respond(
            interaction,
            clip(
                await bot.chat.account(bot.interaction_actor(interaction), await bot.interaction_key(interaction), text)
            ),
        )
