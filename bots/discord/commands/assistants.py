"""/assistant: create, list, show, edit, use and delete assistants, and a channel's default one (admins). The
assistants' rules are the core's (core.settings.assistants); answers only the caller sees."""

from __future__ import annotations

import shlex
from typing import Any

import discord
from discord import app_commands

from bots.discord.commands.slash import clip, slash
from core.errors import InvalidSetting
from core.settings.assistants import describe, parse_fields

ACTIONS = ("list", "show", "create", "edit", "use", "delete", "channel")


async def assistant(interaction: discord.Interaction[Any], action: str, name: str | None, fields: str | None) -> None:
    bot = interaction.client
    actor = bot.interaction_actor(interaction)
    key = await bot.interaction_key(interaction)
    service = bot.chat.assistants
    if action == "list":
        assistants = await service.list(actor, key)
        lines = [f"{i}. **{a.name}** ({'shared' if a.shared else 'personal'})" for i, a in enumerate(assistants, 1)]
        await bot.respond(interaction, clip("\n".join(lines) or "No assistants yet: `/assistant create`."))
        return
    if not name:
        raise InvalidSetting(f"Give the assistant's name to {action}.")
    try:
        values = parse_fields(shlex.split(fields or ""))
    except ValueError as exc:
        raise InvalidSetting(f"Could not read the fields: {exc}.") from None
    if action == "create":
        text = "Created:\n" + describe(await service.create(actor, key, name, **values))
    elif action == "edit":
        text = "Updated:\n" + describe(await service.edit(actor, key, name, **values))
    elif action == "show":
        text = describe(await service.find(actor, key, name))
    elif action == "use":
        chosen = await service.use(actor, key, None if name.lower() == "none" else name)
        text = f"Your new conversations start with **{chosen.name}**." if chosen else "No assistant by default."
        if chosen and chosen.starters:
            text += "\nTry: " + " · ".join(chosen.starters)
    elif action == "delete":
        text = f"Deleted **{(await service.delete(actor, key, name)).name}**."
    else:  # channel
        chosen = await service.set_channel_default(actor, key, None if name.lower() == "none" else name)
        text = f"New conversations here start with **{chosen.name}**." if chosen else "No channel assistant."
    await bot.respond(interaction, clip(text))


def register(tree: app_commands.CommandTree) -> None:
    @slash(tree, "assistant")
    @app_commands.choices(action=[app_commands.Choice(name=a, value=a) for a in ACTIONS])
    async def assistant_command(
        interaction: discord.Interaction[Any],
        action: app_commands.Choice[str],
        name: app_commands.Range[str, 1, 60] | None = None,
        fields: app_commands.Range[str, 1, 6000] | None = None,
    ) -> None:
        await assistant(interaction, action.value, name, fields)
