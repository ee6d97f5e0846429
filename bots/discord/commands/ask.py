"""/ask: one question, one answer, wherever the person is (the app installed to their account works in any DM, group
DM or server). Only they see the answer unless `private` is off; a Share button posts it for everyone there. The
answer goes through the command's own interaction (core.streaming's engine through an InteractionSink), so it needs
no channel the bot can see, and it continues the person's current conversation in that place: the next /ask (or
/chat where the bot is not present) there follows on, as do Regenerate and Continue."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bots.discord.commands.chat import answer_here, quoted_prompt, thread_title
from bots.discord.commands.slash import anywhere, slash
from core.prompts import clean_prompt


async def start_ask(interaction: discord.Interaction[Any], prompt: str, private: bool) -> None:
    bot = interaction.client
    text = clean_prompt(prompt)
    actor = bot.interaction_actor(interaction)
    key = await bot.place_key(interaction)
    await bot.chat.intake.check(key, actor, text)  # a refusal comes before anything is shown
    shown = quoted_prompt(interaction.user.display_name, text)
    await answer_here(interaction, key, actor, text, private=private, shown=shown, title=thread_title(text))


def register(tree: app_commands.CommandTree) -> None:
    @slash(tree, "ask")
    @anywhere
    async def ask(
        interaction: discord.Interaction[Any],
        prompt: app_commands.Range[str, 1, 6000],
        private: bool = True,
    ) -> None:
        await start_ask(interaction, prompt, private)
