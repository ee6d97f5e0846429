"""/settings, /mentions, /limits and /about: what people and a server's admins set, and what the bot says about
itself. Each setting's rule (its values, where it may be set, who may set it) is the core's; answers only the caller
sees."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bots.discord.commands.slash import clip, slash
from core.errors import InvalidSetting, NotAllowed
from core.records import Scope
from core.settings.options import OPTIONS
from core.settings.scopes import check_place_here
from core.usage.limits import NAMES as LIMIT_NAMES

SCOPES = {"me": Scope.USER, "conversation": Scope.CONVERSATION, "channel": Scope.CHANNEL, "server": Scope.WORKSPACE}
MENTION_MODES = {
    "thread": "I'll open a thread for each mention",
    "inline": "I'll answer mentions right here, as replies",
    "off": "I'll ignore mentions here (slash commands still work)",
}


async def settings(interaction: discord.Interaction[Any], name: str | None, value: str | None, scope: str) -> None:
    bot = interaction.client
    actor = bot.interaction_actor(interaction)
    key = await bot.interaction_key(interaction)
    if not name:
        rows = await bot.chat.preferences.describe(key, actor.user_id)
        lines = [f"`{n}` = {f'`{v[:80]}`' if v else '—'}{f' ({w})' if w else ''}" for n, v, w in rows]
        await bot.respond(interaction, clip("**Settings here**\n" + "\n".join(lines)))
        return
    if value is None:
        raise InvalidSetting(f"Give a value for `{name}` (or `default` to clear it).")
    target = SCOPES[scope]
    check_place_here(key, target, "settings", workspace="server")
    if target is Scope.CONVERSATION and not key.thread:
        raise InvalidSetting("Use `conversation` inside one of my threads.")
    stored = await bot.chat.preferences.change(actor, key, target, name, value)
    where = {Scope.USER: "your default", Scope.CONVERSATION: "this conversation"}.get(target, f"this {scope}")
    await bot.respond(interaction, f"`{name}` is now `{stored}` for {where}." if stored else f"`{name}` cleared.")


async def mentions(interaction: discord.Interaction[Any], mode: str) -> None:
    """How mentions are answered in this channel: the channel policy, admin-checked by the core."""
    bot = interaction.client
    actor = bot.interaction_actor(interaction)
    channel = interaction.channel
    channel_id = channel.parent_id if isinstance(channel, discord.Thread) else interaction.channel_id
    await bot.chat.policy.set_mention_mode(actor, str(interaction.guild_id or ""), str(channel_id), mode)
    await bot.respond(interaction, f"{MENTION_MODES[mode]} in <#{channel_id}>.")


async def limits(interaction: discord.Interaction[Any], name: str | None, value: str | None) -> None:
    bot = interaction.client
    actor = bot.interaction_actor(interaction)
    key = await bot.interaction_key(interaction)
    if interaction.guild_id is None:
        raise NotAllowed("Limits are a server setting.")
    if name is None:
        current = await bot.chat.limits.get(key.platform, key.workspace)
        await bot.respond(interaction, "**Limits in this server**\n" + current.describe())
        return
    updated = await bot.chat.limits.set(actor, key, name, value)
    await bot.respond(interaction, "Updated. **Limits in this server**\n" + updated.describe())


async def about(interaction: discord.Interaction[Any]) -> None:
    bot = interaction.client
    actor = bot.interaction_actor(interaction)
    await bot.respond(interaction, await bot.chat.about(await bot.interaction_key(interaction), actor.user_id))


def register(tree: app_commands.CommandTree) -> None:
    @slash(tree, "settings")
    @app_commands.choices(
        name=[app_commands.Choice(name=n, value=n) for n in ("model", *OPTIONS)],
        scope=[app_commands.Choice(name=s, value=s) for s in SCOPES],
    )
    async def settings_command(
        interaction: discord.Interaction[Any],
        name: app_commands.Choice[str] | None = None,
        value: app_commands.Range[str, 1, 6000] | None = None,
        scope: app_commands.Choice[str] | None = None,
    ) -> None:
        await settings(interaction, name.value if name else None, value, scope.value if scope else "me")

    @slash(tree, "mentions")  # admins only: the registry says so
    @app_commands.choices(
        mode=[
            app_commands.Choice(name="open a thread", value="thread"),
            app_commands.Choice(name="reply inline", value="inline"),
            app_commands.Choice(name="off", value="off"),
        ]
    )
    @app_commands.guild_only()
    async def mentions_command(interaction: discord.Interaction[Any], mode: app_commands.Choice[str]) -> None:
        await mentions(interaction, mode.value)

    @slash(tree, "limits")
    @app_commands.choices(limit=[app_commands.Choice(name=n.replace("_", " "), value=n) for n in LIMIT_NAMES])
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)  # members never see it here (on Slack they may read them)
    async def limits_command(
        interaction: discord.Interaction[Any],
        limit: app_commands.Choice[str] | None = None,
        value: app_commands.Range[str, 0, 2000] | None = None,
    ) -> None:
        await limits(interaction, limit.value if limit else None, value)

    @slash(tree, "about")
    async def about_command(interaction: discord.Interaction[Any]) -> None:
        await about(interaction)
