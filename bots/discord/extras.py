"""Discord side of files, /compare, /limits and "Show reasoning" (the use cases live in core)."""

from __future__ import annotations

import io
import logging
from typing import Any

import discord
from discord import app_commands

from bots.discord.sink import NO_MENTIONS, DiscordSink
from core.attachments import Attachment, AttachmentLimits
from core.errors import NotAllowed
from core.limits import NAMES as LIMIT_NAMES

log = logging.getLogger(__name__)

REASONING_INLINE_CHARS = 1900  # longer reasoning comes as a file


async def download_attachments(message: discord.Message, limits: AttachmentLimits | None = None) -> list[Attachment]:
    """Fetch a message's files now: Discord's attachment URLs expire. Too large ones are not fetched."""
    limits = limits or AttachmentLimits()
    files: list[Attachment] = []
    for item in message.attachments[: limits.max_files + 1]:
        if item.size > limits.max_file_bytes:
            files.append(Attachment(item.filename, item.content_type or "", b"", size=item.size))
            continue
        try:
            data = await item.read()
        except (discord.HTTPException, discord.NotFound) as exc:
            log.warning("attachment download failed: %s", type(exc).__name__)
            data = b""
        files.append(Attachment(item.filename, item.content_type or "", data))
    return files


async def show_reasoning(bot: Any, interaction: discord.Interaction, reply_id: int) -> None:
    actor = bot.interaction_actor(interaction)
    reasoning = await bot.chat.reasoning(reply_id, actor)
    if len(reasoning) <= REASONING_INLINE_CHARS:
        await bot.respond(interaction, f"💭 **Reasoning**\n>>> {reasoning}")
        return
    file = discord.File(io.BytesIO(reasoning.encode("utf-8")), filename=f"reasoning-{reply_id}.md")
    await bot.respond(interaction, "💭 The reasoning, as a file:", file=file)


async def cmd_compare(bot: Any, interaction: discord.Interaction, prompt: str, models: list[str]) -> None:
    actor = bot.interaction_actor(interaction)
    key = await bot.interaction_key(interaction)
    channel = interaction.channel
    await interaction.response.send_message(
        f"⚖️ Comparing {', '.join(f'`{m}`' for m in models)}", allowed_mentions=NO_MENTIONS
    )
    await bot.chat.compare(key, actor, prompt, models, lambda model: DiscordSink(channel, limits=bot.limits))


async def cmd_limits(bot: Any, interaction: discord.Interaction, name: str | None, value: str | None) -> None:
    actor = bot.interaction_actor(interaction)
    key = await bot.interaction_key(interaction)
    if interaction.guild_id is None:
        raise NotAllowed("Limits are a server setting.")
    if name is None:
        limits = await bot.chat.limits.get(key.platform, key.workspace)
        await bot.respond(interaction, "**Limits in this server**\n" + limits.describe())
        return
    limits = await bot.chat.limits.set(actor, key, name, value)
    await bot.respond(interaction, "Updated. **Limits in this server**\n" + limits.describe())


def register_extra_commands(tree: app_commands.CommandTree) -> None:
    async def models(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
        return await interaction.client.model_choices(interaction, current)

    @tree.command(name="compare", description="Ask two to three models the same thing, side by side")
    @app_commands.describe(prompt="What to ask", model_a="First model", model_b="Second model", model_c="Third model")
    @app_commands.autocomplete(model_a=models, model_b=models, model_c=models)
    async def compare(
        interaction: discord.Interaction[Any],
        prompt: app_commands.Range[str, 1, 6000],
        model_a: app_commands.Range[str, 1, 200],
        model_b: app_commands.Range[str, 1, 200],
        model_c: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        bot = interaction.client
        names = [m for m in (model_a, model_b, model_c) if m]
        await bot.run_command(interaction, lambda i: cmd_compare(bot, i, prompt, names))

    @tree.command(name="limits", description="Admins: per-person limits and allowed models in this server")
    @app_commands.describe(limit="Which limit (empty: show them)", value="New value; 0 or none removes it")
    @app_commands.choices(limit=[app_commands.Choice(name=n.replace("_", " "), value=n) for n in LIMIT_NAMES])
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def limits(
        interaction: discord.Interaction[Any],
        limit: app_commands.Choice[str] | None = None,
        value: app_commands.Range[str, 0, 2000] | None = None,
    ) -> None:
        bot = interaction.client
        await bot.run_command(interaction, lambda i: cmd_limits(bot, i, limit.value if limit else None, value))
