"""Persistent reply buttons: the custom id names the action and the conversation, so a click works
after a restart without any view kept in memory."""

from __future__ import annotations

import re
from typing import Any

import discord

from bots.discord.sink import CUSTOM_ID_TEMPLATE, custom_id

_LOOK = {
    "stop": ("Stop", discord.ButtonStyle.danger, "⏹️"),
    "regen": ("Regenerate", discord.ButtonStyle.secondary, "🔄"),
    "cont": ("Continue", discord.ButtonStyle.primary, "▶️"),
    "think": ("Show reasoning", discord.ButtonStyle.secondary, "💭"),
}


class ReplyButton(discord.ui.DynamicItem[discord.ui.Button], template=CUSTOM_ID_TEMPLATE):
    def __init__(self, action: str, conversation_id: int):
        label, style, emoji = _LOOK[action]
        super().__init__(
            discord.ui.Button(label=label, style=style, emoji=emoji, custom_id=custom_id(action, conversation_id))
        )
        self.action = action
        self.conversation_id = conversation_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> ReplyButton:
        return cls(match["action"], int(match["conversation"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.client.on_reply_button(interaction, self.action, self.conversation_id)
