"""Slash commands for settings, assistants and usage: thin calls into the core, answers only the caller sees."""

from __future__ import annotations

import shlex
from typing import Any

import discord
from discord import app_commands

from core.commands.registry import command
from core.errors import InvalidSetting, NotAllowed
from core.records import Scope
from core.settings.assistants import describe, parse_fields
from core.settings.options import OPTIONS
from core.usage.accounting import format_usage

MAX_REPLY = 1900  # Discord's limit is 2000 characters
SCOPES = {"me": Scope.USER, "conversation": Scope.CONVERSATION, "channel": Scope.CHANNEL, "server": Scope.WORKSPACE}
ACTIONS = ("list", "show", "create", "edit", "use", "delete", "channel")


def _clip(text: str) -> str:
    return text if len(text) <= MAX_REPLY else text[: MAX_REPLY - 1] + "…"


async def cmd_settings(bot: Any, interaction: discord.Interaction, name: str | None, value: str | None, scope: str):
    actor = bot.interaction_actor(interaction)
    key = await bot.interaction_key(interaction)
    if not name:
        rows = await bot.chat.describe_settings(key, actor.user_id)
        lines = [f"`{n}` = {f'`{v[:80]}`' if v else '—'}{f' ({w})' if w else ''}" for n, v, w in rows]
        await bot.respond(interaction, _clip("**Settings here**\n" + "\n".join(lines)))
        return
    if value is None:
        raise InvalidSetting(f"Give a value for `{name}` (or `default` to clear it).")
    target = SCOPES[scope]
    if target in (Scope.CHANNEL, Scope.WORKSPACE) and interaction.guild_id is None:
        raise NotAllowed("Channel and server settings can only be set in a server.")
    if target is Scope.CONVERSATION and not key.thread:
        raise InvalidSetting("Use `conversation` inside one of my threads.")
    if name == "model":
        stored = await bot.chat.set_model(actor, key, target, None if value.lower() == "default" else value)
    else:
        stored = await bot.chat.set_option(actor, key, target, name, value)
    where = {Scope.USER: "your default", Scope.CONVERSATION: "this conversation"}.get(target, f"this {scope}")
    await bot.respond(interaction, f"`{name}` is now `{stored}` for {where}." if stored else f"`{name}` cleared.")


async def cmd_assistant(bot: Any, interaction: discord.Interaction, action: str, name: str | None, fields: str | None):
    actor = bot.interaction_actor(interaction)
    key = await bot.interaction_key(interaction)
    service = bot.chat.assistants
    if action == "list":
        assistants = await service.list(actor, key)
        lines = [f"{i}. **{a.name}** ({'shared' if a.shared else 'personal'})" for i, a in enumerate(assistants, 1)]
        await bot.respond(interaction, _clip("\n".join(lines) or "No assistants yet: `/assistant create`."))
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
        assistant = await service.use(actor, key, None if name.lower() == "none" else name)
        text = f"Your new conversations start with **{assistant.name}**." if assistant else "No assistant by default."
        if assistant and assistant.starters:
            text += "\nTry: " + " · ".join(assistant.starters)
    elif action == "delete":
        text = f"Deleted **{(await service.delete(actor, key, name)).name}**."
    else:  # channel
        assistant = await service.set_channel_default(actor, key, None if name.lower() == "none" else name)
        text = f"New conversations here start with **{assistant.name}**." if assistant else "No channel assistant."
    await bot.respond(interaction, _clip(text))


async def cmd_usage(bot: Any, interaction: discord.Interaction, scope: str, days: int):
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
    await bot.respond(interaction, _clip(text))


def register_feature_commands(tree: app_commands.CommandTree) -> None:
    @tree.command(name="settings", description=command("settings").summary)
    @app_commands.describe(**command("settings").described())
    @app_commands.choices(
        name=[app_commands.Choice(name=n, value=n) for n in ("model", *OPTIONS)],
        scope=[app_commands.Choice(name=s, value=s) for s in SCOPES],
    )
    async def settings(
        interaction: discord.Interaction[Any],
        name: app_commands.Choice[str] | None = None,
        value: app_commands.Range[str, 1, 6000] | None = None,
        scope: app_commands.Choice[str] | None = None,
    ) -> None:
        bot = interaction.client
        await cmd_settings(
            bot,
            interaction,
            name.value if name else None,
            value,
            scope.value if scope else "me",
        )

    @tree.command(name="assistant", description=command("assistant").summary)
    @app_commands.describe(**command("assistant").described())
    @app_commands.choices(action=[app_commands.Choice(name=a, value=a) for a in ACTIONS])
    async def assistant(
        interaction: discord.Interaction[Any],
        action: app_commands.Choice[str],
        name: app_commands.Range[str, 1, 60] | None = None,
        fields: app_commands.Range[str, 1, 6000] | None = None,
    ) -> None:
        bot = interaction.client
        await cmd_assistant(bot, interaction, action.value, name, fields)

    @tree.command(name="usage", description=command("usage").summary)
    @app_commands.describe(**command("usage").described())
    @app_commands.choices(
        scope=[app_commands.Choice(name="me", value="me"), app_commands.Choice(name="server", value="server")]
    )
    async def usage(
        interaction: discord.Interaction[Any],
        scope: app_commands.Choice[str] | None = None,
        days: app_commands.Range[int, 1, 365] = 30,
    ) -> None:
        bot = interaction.client
        await cmd_usage(bot, interaction, scope.value if scope else "me", days)
